//! `mixdown mix`: the automatic mixing engineer, from a folder of stems to a balanced, clean
//! mix and a Session file that shows (and lets you edit) every decision.

pub mod cleanup;
pub mod roles;
pub mod types;

pub use types::{Presence, Role};
