//! mixdown-core: the engine behind the `mixdown` command.
//!
//! files ─decode─▶ AudioBuffer ─analyse─▶ Analysis ─decide─▶ MasterChain (plain data)
//!                                                       │
//!        Report ◀─verify/measure◀── encode ◀──── render ◀┘

pub mod analysis;
pub mod audio;
pub mod demo;
pub mod diagnose;
pub mod error;
pub mod io;
pub mod master;
pub mod mix;
pub mod report;
pub mod targets;
pub mod timing;
pub mod verify;

pub use audio::AudioBuffer;
pub use error::{Error, Result};
pub use mixdown_dsp as dsp;
