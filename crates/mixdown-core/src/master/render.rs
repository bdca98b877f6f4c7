//! The signal path: plays a [`MasterChain`] on a buffer. Makes no decisions.

use super::chain::MasterChain;
use super::reference::curve_at;
use super::solver::{self, Solution, SolveParams};
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use mixdown_dsp::biquad::{Biquad, FilterChain};
use mixdown_dsp::compressor::{Compressor, GainReductionStats};
use mixdown_dsp::crossover::Lr4Crossover;
use mixdown_dsp::fir::{self, MidSideFir};
use mixdown_dsp::loudness::KMeter;
use serde::{Deserialize, Serialize};

/// What the render did, for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderOutcome {
    /// Glue compressor gain reduction (None when the stage is off).
    pub glue_gain_reduction: Option<GainReductionStats>,
    /// Gain, limiting and the measured result of the loudness stage.
    pub loudness: Solution,
    /// K-weighted 100 ms sub-block powers of the output (for the output's analysis).
    #[serde(skip)]
    pub output_subblocks: Vec<f64>,
}

/// Frames per processing block for the in-place stages.
const BLOCK: usize = 16_384;

/// Mono bass and width on mid/side, with state carried from block to block. The side is
/// high-passed by the crossover's high band; the mid goes through the all-pass that the
/// crossover's two bands sum to, so mid and side keep the same phase.
struct Stereo {
    side_hp: Option<Lr4Crossover>,
    mid_ap: Option<Biquad>,
    width: f64,
}

impl Stereo {
    fn new(mono_below_hz: Option<f64>, width: f64, sr: f64) -> Self {
        let x = mono_below_hz.map(|f| Lr4Crossover::new(f, sr));
        Stereo {
            mid_ap: x.as_ref().map(|x| x.matching_allpass()),
            side_hp: x,
            width,
        }
    }

    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        let w = self.width;
        if let (Some(ap), Some(hp)) = (self.mid_ap.as_mut(), self.side_hp.as_mut()) {
            // the same arithmetic as the loop below, the all-pass and the first high-pass
            // side by side
            return hp.mid_side_block(ap, w, l, r);
        }
        for (a, b) in l.iter_mut().zip(r.iter_mut()) {
            let m = 0.5 * (*a as f64 + *b as f64);
            let s = 0.5 * (*a as f64 - *b as f64);
            let (m2, s2) = match (self.mid_ap.as_mut(), self.side_hp.as_mut()) {
                (Some(ap), Some(hp)) => (ap.process_f64(m), hp.high_only_f64(s) * w),
                _ => (m, s * w),
            };
            *a = (m2 + s2) as f32;
            *b = (m2 - s2) as f32;
        }
    }
}

/// Render `chain` on `input` (consumed: the in-place stages reuse its memory).
/// `progress(stage, fraction)` is called as the work goes on.
/// `reference_subblocks` are the input's K-weighted 100 ms sub-block powers (from its
/// analysis): the contour the dynamics guard keeps. Pass an empty slice to use the signal's own
/// after EQ and glue.
pub fn render(
    mut input: AudioBuffer,
    chain: &MasterChain,
    reference_subblocks: &[f64],
    progress: &dyn Fn(&str, f64),
) -> Result<(AudioBuffer, RenderOutcome)> {
    let sr = input.sample_rate;
    let ch = input.num_channels();
    let n = input.frames();
    // 0. the reference match: a mid/side linear-phase EQ, in place, delay removed; it streams
    // on the EQ's worker, ahead of each block's EQ
    let mut fir = chain
        .matching
        .as_ref()
        .filter(|m| m.enabled && ch <= 2)
        .map(|m| {
            let taps = fir::taps_for(sr as f64);
            let mid = fir::design(taps, sr as f64, &|hz| curve_at(&m.bands, |b| b.mid_db, hz));
            let side = fir::design(taps, sr as f64, &|hz| curve_at(&m.bands, |b| b.side_db, hz));
            MidSideFir::new(&mid, &side)
        });
    // 1. EQ (one chain for all channels: a stereo pair runs in one vector register), 2. glue,
    // 3. stereo, block by block in place; the loudness meter the solver needs reads each block
    // while it is still in cache.
    let mut eq: Option<FilterChain> = (chain.eq.enabled && !chain.eq.bands.is_empty())
        .then(|| FilterChain::new(&chain.eq.bands, sr as f64, ch));
    let mut glue = chain
        .glue
        .enabled
        .then(|| Compressor::new(chain.glue.params.clone(), sr as f64, ch));
    let mut stereo = (chain.stereo.enabled && ch == 2)
        .then(|| Stereo::new(chain.stereo.mono_below_hz, chain.stereo.width, sr as f64));
    let mut meter = KMeter::new(ch, sr, true);
    // Two workers at once: one runs the EQ of block k+1 and meters block k-1 (already final),
    // the other runs glue and stereo on block k.
    let nblocks = n.div_ceil(BLOCK);
    let span = |k: usize| (k * BLOCK, ((k + 1) * BLOCK).min(n));
    // the glue's sidechain high-pass runs on the EQ worker, one block ahead, into these
    let mut sidechain = glue.as_ref().and_then(|g| g.sidechain_filter());
    let det_len = if sidechain.is_some() { BLOCK } else { 0 };
    let mut det_cur: Vec<Vec<f32>> = vec![vec![0.0; det_len]; ch];
    let mut det_next: Vec<Vec<f32>> = vec![vec![0.0; det_len]; ch];
    let sidechain_block =
        |f: &mut Option<FilterChain>, src: &[&mut [f32]], dst: &mut [Vec<f32>]| {
            if let Some(f) = f.as_mut() {
                let len = src.first().map_or(0, |c| c.len());
                let mut views: Vec<&mut [f32]> = dst
                    .iter_mut()
                    .zip(src)
                    .map(|(d, s)| {
                        d[..len].copy_from_slice(s);
                        &mut d[..len]
                    })
                    .collect();
                f.process(&mut views);
            }
        };
    // the EQ, then the sidechain filter on its result: in one pass where they fit one
    let eq_and_sidechain = |eq: &mut Option<FilterChain>,
                            sc: &mut Option<FilterChain>,
                            block: &mut [&mut [f32]],
                            det: &mut [Vec<f32>]| {
        if let (Some(f), Some(t), [l, r], [dl, dr]) =
            (eq.as_mut(), sc.as_mut(), &mut *block, &mut *det)
        {
            let len = l.len();
            if f.process_pair_tapped(l, r, t, &mut dl[..len], &mut dr[..len]) {
                return;
            }
        }
        if let Some(f) = eq.as_mut() {
            f.process(block);
        }
        sidechain_block(sc, block, det);
    };
    if nblocks > 0 {
        let (a, b) = span(0);
        let mut all: Vec<&mut [f32]> = input.channels.iter_mut().map(|c| &mut c[..]).collect();
        if let Some(f) = fir.as_mut() {
            f.run_until(&mut all, 0, n, b);
        }
        let mut first: Vec<&mut [f32]> = all.into_iter().map(|c| &mut c[a..b]).collect();
        eq_and_sidechain(&mut eq, &mut sidechain, &mut first, &mut det_cur);
    }
    for k in 0..nblocks {
        let (a, b) = span(k);
        let prev_start = if k > 0 { span(k - 1).0 } else { a };
        let next_end = if k + 1 < nblocks { span(k + 1).1 } else { b };
        let mut prev: Vec<&[f32]> = Vec::with_capacity(ch);
        let mut cur: Vec<&mut [f32]> = Vec::with_capacity(ch);
        let mut next: Vec<&mut [f32]> = Vec::with_capacity(ch);
        // `next` is everything after the current block: the match FIR reads ahead of the
        // block it finishes
        for c in input.channels.iter_mut() {
            let (p, rest) = c[prev_start..].split_at_mut(a - prev_start);
            let (x, y) = rest.split_at_mut(b - a);
            prev.push(p);
            cur.push(x);
            next.push(y);
        }
        let (eq, glue, stereo, meter) = (&mut eq, &mut glue, &mut stereo, &mut meter);
        let fir = &mut fir;
        let (sc, det_next_ref, det_cur_ref) = (&mut sidechain, &mut det_next, &det_cur);
        rayon::join(
            || {
                if next_end > b {
                    if let Some(f) = fir.as_mut() {
                        f.run_until(&mut next, b, n, next_end);
                    }
                    // then `next` is only the next block (cut in place: no allocation here)
                    for c in next.iter_mut() {
                        let all = std::mem::take(c);
                        *c = &mut all[..next_end - b];
                    }
                    eq_and_sidechain(eq, sc, &mut next, det_next_ref);
                }
                if !prev[0].is_empty() {
                    meter.push(&prev);
                }
            },
            || {
                if let Some(g) = glue.as_mut() {
                    if det_len > 0 {
                        let det: Vec<&[f32]> = det_cur_ref.iter().map(|d| &d[..b - a]).collect();
                        g.process_prefiltered(&mut cur, &det);
                    } else {
                        g.process(&mut cur);
                    }
                }
                if let (Some(s), [l, r]) = (stereo.as_mut(), cur.as_mut_slice()) {
                    s.process(l, r);
                }
            },
        );
        std::mem::swap(&mut det_cur, &mut det_next);
        progress("eq, glue, stereo", b as f64 / n.max(1) as f64);
    }
    if nblocks > 0 {
        let (a, b) = span(nblocks - 1);
        let last: Vec<&[f32]> = input.channels.iter().map(|c| &c[a..b]).collect();
        meter.push(&last);
    }
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
        reference_subblocks: reference_subblocks.to_vec(),
    };
    let y = std::mem::take(&mut input.channels);
    let (solution, output_subblocks, out) =
        solver::solve(y, sr, meter, &params).ok_or_else(|| {
            Error::audio(
                "has no measurable loudness after processing (silence, or shorter than 0.4 s)",
            )
        })?;
    progress("limiter and loudness", 1.0);
    drop(input);
    Ok((
        AudioBuffer::from_channels(sr, out),
        RenderOutcome {
            glue_gain_reduction: glue.map(|g| g.stats()),
            loudness: solution,
            output_subblocks,
        },
    ))
}
