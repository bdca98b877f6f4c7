//! Diagnose: the analysis plus named checks for the common mixing and mastering mistakes, each
//! finding with a measured value, the threshold it crossed, where it is, what it means and what
//! to do (see [`finding::Finding`]). Measurement only: nothing here changes audio.
//!
//! [`analyze`] runs every check on an input and makes the [`Diagnosis`] that `mixdown analyze`
//! prints and writes as JSON.

pub mod analyze;
pub mod file;
pub mod finding;
pub mod noise;
pub mod reverb;
pub mod stems;
pub mod text;
pub mod translate;

pub use analyze::{diagnose_file, diagnose_folder, Diagnosis, Options};
pub use file::JudgeAs;
pub use finding::{Finding, Severity, TimeRange};
