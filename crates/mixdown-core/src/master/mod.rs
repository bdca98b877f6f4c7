//! `mixdown master`: the automatic mastering engineer.
//!
//! analyse → decide ([`MasterChain`]) → render → verify → encode, with a [`report`](crate::report) of every
//! measurement and every choice.

pub mod chain;
pub mod decide;
pub mod preview;
pub mod reference;
pub mod refine;
pub mod render;
pub mod run;
pub mod solver;
pub mod tonal;

pub use chain::MasterChain;
pub use decide::{decide, MasterOptions};
pub use render::{render, RenderOutcome};
pub use run::{run, MasterJob};
