//! The signal path: plays a [`MasterChain`] on a buffer. Makes no decisions.

use super::chain::MasterChain;
use super::solver::{self, Solution, SolveParams};
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use mixdown_dsp::biquad::FilterChain;
use mixdown_dsp::compressor::{Compressor, GainReductionStats};
use mixdown_dsp::crossover::Lr4Crossover;
use serde::{Deserialize, Serialize};

/// What the render did, for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderOutcome {
    /// Glue compressor gain reduction (None when the stage is off).
    pub glue_gain_reduction: Option<GainReductionStats>,
    /// Gain, limiting and the measured result of the loudness stage.
    pub loudness: Solution,
}

/// Frames per processing block for the in-place stages.
const BLOCK: usize = 4096;

fn apply_stereo(buf: &mut AudioBuffer, mono_below_hz: Option<f64>, width: f64) {
    if buf.num_channels() != 2 {
        return;
    }
    let sr = buf.sample_rate as f64;
    let mut xm = mono_below_hz.map(|f| Lr4Crossover::new(f, sr));
    let mut xs = mono_below_hz.map(|f| Lr4Crossover::new(f, sr));
    let (l, r) = buf.channels.split_at_mut(1);
    let w = width as f32;
    for (a, b) in l[0].iter_mut().zip(r[0].iter_mut()) {
        let m = 0.5 * (*a + *b);
        let s = 0.5 * (*a - *b);
        let (m2, s2) = match (xm.as_mut(), xs.as_mut()) {
            (Some(xm), Some(xs)) => {
                // both through the same crossover so mid and side keep the same phase
                let (ml, mh) = xm.process(m);
                let (_sl, sh) = xs.process(s);
                (ml + mh, sh * w)
            }
            _ => (m, s * w),
        };
        *a = m2 + s2;
        *b = m2 - s2;
    }
}

/// Render `chain` on `input` (consumed: the in-place stages reuse its memory).
/// `progress(stage, fraction)` is called as the work goes on.
pub fn render(
    mut input: AudioBuffer,
    chain: &MasterChain,
    progress: &dyn Fn(&str, f64),
) -> Result<(AudioBuffer, RenderOutcome)> {
    let sr = input.sample_rate;
    let ch = input.num_channels();
    let n = input.frames();
    // 1. EQ and 2. glue, block by block in place
    let mut eq = (chain.eq.enabled && !chain.eq.bands.is_empty())
        .then(|| FilterChain::new(&chain.eq.bands, sr as f64, ch));
    let mut glue = chain
        .glue
        .enabled
        .then(|| Compressor::new(chain.glue.params.clone(), sr as f64, ch));
    if eq.is_some() || glue.is_some() {
        let mut start = 0;
        while start < n {
            let len = BLOCK.min(n - start);
            let mut views: Vec<&mut [f32]> = input
                .channels
                .iter_mut()
                .map(|c| &mut c[start..start + len])
                .collect();
            if let Some(e) = eq.as_mut() {
                e.process(&mut views);
            }
            if let Some(g) = glue.as_mut() {
                g.process(&mut views);
            }
            start += len;
            if start % (BLOCK * 64) == 0 {
                progress("eq and glue", start as f64 / n as f64);
            }
        }
    }
    progress("eq and glue", 1.0);
    // 3. stereo
    if chain.stereo.enabled {
        apply_stereo(&mut input, chain.stereo.mono_below_hz, chain.stereo.width);
    }
    progress("stereo", 1.0);
    // 4 + 5. limiter and closed-loop loudness
    let params = SolveParams {
        target_lufs: (chain.loudness.enabled && chain.loudness.gain_db.is_none())
            .then_some(chain.target.lufs),
        fixed_gain_db: chain.loudness.gain_db.unwrap_or(0.0),
        ceiling_dbtp: chain.target.true_peak_dbtp,
        margin_db: chain.limiter.margin_db,
        limiter: chain.limiter.enabled.then(|| chain.limiter.params.clone()),
        max_limiting_lu: chain.limiter.max_limiting_lu,
        lra_floor_lu: chain.limiter.lra_floor_lu,
    };
    let mut out = Vec::new();
    let solution = solver::solve(&input.channels, sr, &params, &mut out).ok_or_else(|| {
        Error::audio("has no measurable loudness after processing (silence, or shorter than 0.4 s)")
    })?;
    progress("limiter and loudness", 1.0);
    drop(input);
    Ok((
        AudioBuffer::from_channels(sr, out),
        RenderOutcome {
            glue_gain_reduction: glue.map(|g| g.stats()),
            loudness: solution,
        },
    ))
}
