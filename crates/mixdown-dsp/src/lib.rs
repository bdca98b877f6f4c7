//! mixdown-dsp: pure signal processing, no I/O. Every block is tested against its specification.

pub mod biquad;
pub mod cleanup;
pub mod compressor;
pub mod crossover;
pub mod decimate;
pub mod deesser;
pub mod delay;
pub mod dither;
pub mod fir;
pub mod limiter;
pub mod loudness;
pub mod meters;
pub mod oversample;
pub mod pan;
pub mod reverb;
pub mod rng;
pub mod spectrum;
