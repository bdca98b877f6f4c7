//! Reading and writing audio files.

pub mod decode;
pub mod encode;
pub mod resample;
