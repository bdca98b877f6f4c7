//! DC offset removal: a 2nd-order Butterworth high-pass far below the audio band.
//!
//! A high-pass rather than subtracting the mean: a fixed offset and one that comes and goes with
//! the notes (a sample recorded with an offset) are both removed, and digital silence stays
//! silence. To avoid a thump when the track starts on an offset, the filter input is taken
//! relative to the track's first value ([`DcBlocker::process_buffer`]): the high-pass of a
//! constant is zero in steady state, so this only removes the start-up transient.

use crate::biquad::{FilterChain, FilterKind, BUTTERWORTH_Q};
use serde::{Deserialize, Serialize};

/// Parameters of the DC blocker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcParams {
    /// -3 dB frequency of the high-pass, Hz (10-20 Hz: inaudible, removes offset and rumble
    /// below the lowest note).
    pub highpass_hz: f64,
}

impl Default for DcParams {
    fn default() -> Self {
        DcParams { highpass_hz: 10.0 }
    }
}

/// Multi-channel DC blocker.
#[derive(Clone, Debug)]
pub struct DcBlocker {
    chain: FilterChain,
}

impl DcBlocker {
    pub fn new(params: &DcParams, sample_rate: u32, channels: usize) -> Self {
        let kind = FilterKind::HighPass {
            freq_hz: params.highpass_hz,
            q: BUTTERWORTH_Q,
        };
        DcBlocker {
            chain: FilterChain::new(&[kind], f64::from(sample_rate), channels),
        }
    }

    /// Filters whole channels (the start of each is the start of the track). No latency.
    /// Panics unless the number of channels is the one given to [`DcBlocker::new`].
    pub fn process_buffer(&mut self, channels: &mut [&mut [f32]]) {
        assert_eq!(
            channels.len(),
            self.chain.channels(),
            "channel count mismatch"
        );
        self.chain.reset();
        for ch in channels.iter_mut() {
            // The value the track starts on: mean of its first 64 samples.
            let head = &ch[..ch.len().min(64)];
            let start = if head.is_empty() {
                0.0
            } else {
                head.iter().map(|&v| f64::from(v)).sum::<f64>() / head.len() as f64
            };
            let start = start as f32;
            if start != 0.0 {
                ch.iter_mut().for_each(|v| *v -= start);
            }
        }
        self.chain.process(channels);
    }
}
