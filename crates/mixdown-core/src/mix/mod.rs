//! `mixdown mix`: the automatic mixing engineer, from a folder of stems to a balanced, clean
//! mix and a Session file that shows (and lets you edit) every decision.

pub mod cleanup;
pub mod decide;
pub mod features;
pub mod masking;
pub mod organise;
pub mod priors;
pub mod render;
pub mod roles;
pub mod run;
pub mod session;
pub mod strip;
pub mod types;

pub use types::{Presence, Role};
