//! mixdown-core: the engine behind the `mixdown` command.
//!
//! files ─decode─▶ AudioBuffer ─analyse─▶ Analysis ─decide─▶ MasterChain (plain data)
//!                                                       │
//!        Report ◀─verify/measure◀── encode ◀──── render ◀┘

pub mod audio;
pub mod demo;
pub mod error;
pub mod io;

pub use audio::AudioBuffer;
pub use error::{Error, Result};
pub use mixdown_dsp as dsp;
