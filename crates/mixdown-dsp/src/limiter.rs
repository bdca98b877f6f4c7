//! Look-ahead true-peak limiter.
//!
//! The limiter works on a whole signal (mastering is offline), in three steps:
//!
//! 1. **Detect**: the linked true-peak envelope of the input (4x interpolated, see
//!    [`crate::oversample`]): `env[n]` is the largest value the reconstructed waveform reaches
//!    in `[n, n+1)` on any channel.
//! 2. **Plan** the gain ([`GainPlanner`]): the gain each sample needs, `r[n] = min(1, c / (G·env[n]))`,
//!    is spread by a sliding minimum over `[n - hold, n + lookahead]` (the gain is down before a
//!    peak arrives and stays down for the hold time, so a bass wave's successive peaks do not
//!    make the gain ripple inside one cycle, which is what distorts), recovers with an
//!    exponential release, and is smoothed by two cascaded moving averages whose total length
//!    equals the look-ahead. Every value inside the smoothing window is already at or below
//!    the gain the peak needs, so the smoothed gain is too: the ceiling holds by construction,
//!    with no clipping stage.
//! 3. **Verify**: the output is measured again with the same 4x meter. A gain that changes
//!    under a peak can still add a tiny overshoot; if any is found the ceiling is lowered by
//!    it and the plan is redone.

use crate::oversample::{Scratch, TruePeakDetector};

/// Parameters of the limiter (serialisable: they appear in sessions and reports).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LimiterParams {
    /// Ceiling for the 4x-oversampled true peak, dBTP.
    pub ceiling_dbtp: f64,
    /// How far ahead the gain starts to fall before a peak (attack), ms.
    pub lookahead_ms: f64,
    /// How long the gain stays down after a peak before it recovers, ms.
    pub hold_ms: f64,
    /// Time constant of the recovery, ms (the gain deficit falls to 37% in this time).
    pub release_ms: f64,
}

impl Default for LimiterParams {
    fn default() -> Self {
        LimiterParams {
            ceiling_dbtp: -1.0,
            lookahead_ms: 2.0,
            hold_ms: 20.0,
            release_ms: 150.0,
        }
    }
}

pub use crate::compressor::GainReductionStats;

/// Gain-reduction statistics of a linear gain curve (values in (0, 1]).
pub fn gain_reduction_stats(gain: &[f32]) -> GainReductionStats {
    {
        if gain.is_empty() {
            return GainReductionStats::default();
        }
        let thresh = 10f32.powf(-0.1 / 20.0);
        let mut min_g = 1.0f32;
        let mut sum_db = 0.0f64;
        let mut sum_active = 0.0f64;
        let mut n_active = 0usize;
        // log10 only where gain is reduced: most samples of a gentle master are at unity.
        for &g in gain {
            if g < 1.0 {
                let db = -20.0 * (g.max(1e-9) as f64).log10();
                sum_db += db;
                if g < thresh {
                    sum_active += db;
                    n_active += 1;
                }
                min_g = min_g.min(g);
            }
        }
        GainReductionStats {
            max_db: -20.0 * (min_g.max(1e-9) as f64).log10(),
            mean_db: sum_db / gain.len() as f64,
            mean_active_db: if n_active > 0 {
                sum_active / n_active as f64
            } else {
                0.0
            },
            active_fraction: n_active as f64 / gain.len() as f64,
        }
    }
}

/// Plans gain curves from a peak envelope. Holds its work buffers so repeated planning
/// (the loudness solver tries several input gains) allocates nothing.
#[derive(Clone, Debug)]
pub struct GainPlanner {
    lookahead: usize,
    hold: usize,
    release_coeff: f32,
    deque_idx: Vec<usize>,
    deque_val: Vec<f32>,
    ring: Vec<f32>,
}

impl GainPlanner {
    pub fn new(params: &LimiterParams, sample_rate: f64) -> Self {
        // even look-ahead so it splits into two equal moving averages
        let mut lookahead =
            ((params.lookahead_ms.max(0.05) * 1e-3 * sample_rate).round() as usize).max(2);
        lookahead += lookahead % 2;
        let hold = (params.hold_ms.max(0.0) * 1e-3 * sample_rate).round() as usize;
        let release_samples = (params.release_ms.max(1.0) * 1e-3 * sample_rate).max(1.0);
        let cap = lookahead + hold + 2;
        GainPlanner {
            lookahead,
            hold,
            release_coeff: (-1.0 / release_samples).exp() as f32,
            deque_idx: vec![0; cap],
            deque_val: vec![0.0; cap],
            ring: vec![0.0; lookahead / 2 + 1],
        }
    }

    pub fn lookahead_samples(&self) -> usize {
        self.lookahead
    }

    /// Fill `gain` with the gain curve that keeps `pre_gain * env` under `ceiling` (linear).
    pub fn plan(&mut self, env: &[f32], pre_gain: f32, ceiling: f32, gain: &mut [f32]) {
        assert_eq!(env.len(), gain.len());
        self.plan_impl(
            |i| {
                let p = pre_gain * env[i];
                if p > ceiling {
                    ceiling / p
                } else {
                    1.0
                }
            },
            gain,
        );
    }

    /// Like [`GainPlanner::plan`], with a slowly varying gain `contour[i / chunk]` applied
    /// before the limiter as well (the signal the limiter sees is `pre_gain · contour · x`).
    pub fn plan_with_contour(
        &mut self,
        env: &[f32],
        pre_gain: f32,
        contour: &[f32],
        chunk: usize,
        ceiling: f32,
        gain: &mut [f32],
    ) {
        assert_eq!(env.len(), gain.len());
        assert!(contour.len() * chunk >= env.len(), "contour too short");
        self.plan_impl(
            |i| {
                let p = pre_gain * contour[i / chunk] * env[i];
                if p > ceiling {
                    ceiling / p
                } else {
                    1.0
                }
            },
            gain,
        );
    }

    fn plan_impl(&mut self, need: impl Fn(usize) -> f32, gain: &mut [f32]) {
        let n = gain.len();
        if n == 0 {
            return;
        }
        let la = self.lookahead;
        let hold = self.hold;
        let cap = self.deque_idx.len();
        // 1. sliding minimum of the required gain over [i - hold, i + la]
        //    (monotonic deque in a ring; values are copied so `gain` can be written in place).
        let (mut head, mut len) = (0usize, 0usize);
        let mut next_in = 0usize; // next index of env to enter the window
        for (i, g) in gain.iter_mut().enumerate() {
            let hi = (i + la).min(n - 1);
            while next_in <= hi {
                let v = need(next_in);
                while len > 0 && self.deque_val[(head + len - 1) % cap] >= v {
                    len -= 1;
                }
                let slot = (head + len) % cap;
                self.deque_idx[slot] = next_in;
                self.deque_val[slot] = v;
                len += 1;
                next_in += 1;
            }
            while len > 0 && self.deque_idx[head] + hold < i {
                head = (head + 1) % cap;
                len -= 1;
            }
            *g = self.deque_val[head];
        }
        // 2. release: the deficit (1 - g) decays exponentially, never above the target
        let k = self.release_coeff;
        let mut e = 1.0f32;
        for g in gain.iter_mut() {
            let rel = 1.0 - (1.0 - e) * k;
            e = if *g < rel { *g } else { rel };
            *g = e;
        }
        // 3. two backward moving averages of length la/2 + 1 (total support la + 1)
        for _ in 0..2 {
            let w = la / 2 + 1;
            // before the first sample the gain is taken as the first sample's gain: it already
            // covers every peak in the first look-ahead window
            let first = gain[0];
            self.ring[..w].iter_mut().for_each(|r| *r = first);
            let mut sum = w as f64 * first as f64;
            let mut pos = 0usize;
            for g in gain.iter_mut() {
                sum += *g as f64 - self.ring[pos] as f64;
                self.ring[pos] = *g;
                pos = if pos + 1 == w { 0 } else { pos + 1 };
                *g = (sum / w as f64) as f32;
            }
        }
    }
}

/// Result of [`limit`].
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LimitResult {
    pub stats: GainReductionStats,
    /// True peak of the output, dBTP (4x meter).
    pub true_peak_dbtp: f64,
    /// The internal ceiling finally used (at or below the requested one), dBTP.
    pub ceiling_used_dbtp: f64,
    /// Planning passes needed (1 unless an overshoot had to be corrected).
    pub passes: u32,
}

fn db_to_lin(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

fn lin_to_db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// The linked true-peak envelope of `channels`, reusing `env`'s allocation.
pub fn peak_envelope(channels: &[&[f32]], env: &mut Vec<f32>) {
    let n = channels.first().map_or(0, |c| c.len());
    env.clear();
    env.resize(n, 0.0);
    let interp = TruePeakDetector::new();
    let mut scratch = Scratch::default();
    for ch in channels {
        interp.peak_envelope_max(ch, env, &mut scratch);
    }
}

/// Apply `pre_gain` and the planned `gain` to `input`, writing `output`.
pub fn apply_gain_curve(input: &[&[f32]], output: &mut [&mut [f32]], pre_gain: f32, gain: &[f32]) {
    for (src, dst) in input.iter().zip(output.iter_mut()) {
        for ((o, &x), &g) in dst.iter_mut().zip(src.iter()).zip(gain) {
            *o = x * g * pre_gain;
        }
    }
}

/// Limit `channels` in place after multiplying them by `pre_gain_db`: the 4x-oversampled true
/// peak of the result is at or below `params.ceiling_dbtp`. `margin_db` is kept below the
/// ceiling on our own meter as a guard against other meters' rounding.
pub fn limit(
    channels: &mut [Vec<f32>],
    pre_gain_db: f64,
    params: &LimiterParams,
    sample_rate: f64,
    margin_db: f64,
) -> LimitResult {
    let n = channels.first().map_or(0, |c| c.len());
    let mut env = Vec::new();
    {
        let views: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
        peak_envelope(&views, &mut env);
    }
    let mut gain = vec![1.0f32; n];
    let mut planner = GainPlanner::new(params, sample_rate);
    let pre = db_to_lin(pre_gain_db);
    let target_db = params.ceiling_dbtp - margin_db.max(0.0);
    let mut ceiling_db = target_db;
    let mut out: Vec<Vec<f32>> = channels.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut out_env = Vec::new();
    let mut passes = 0;
    let mut tp_db;
    loop {
        passes += 1;
        planner.plan(&env, pre, db_to_lin(ceiling_db), &mut gain);
        {
            let input: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
            let mut output: Vec<&mut [f32]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
            apply_gain_curve(&input, &mut output, pre, &gain);
        }
        let views: Vec<&[f32]> = out.iter().map(|c| c.as_slice()).collect();
        peak_envelope(&views, &mut out_env);
        let tp = out_env.iter().fold(0.0f32, |m, &v| m.max(v));
        tp_db = lin_to_db(tp as f64);
        if tp_db <= target_db + 1e-4 || passes >= 8 {
            break;
        }
        ceiling_db -= (tp_db - target_db) + 0.005;
    }
    for (c, o) in channels.iter_mut().zip(out) {
        *c = o;
    }
    LimitResult {
        stats: gain_reduction_stats(&gain),
        true_peak_dbtp: tp_db,
        ceiling_used_dbtp: ceiling_db,
        passes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_gain_never_exceeds_what_each_sample_needs() {
        let mut r = crate::rng::Rng::new(11);
        let env: Vec<f32> = (0..20_000)
            .map(|i| {
                let burst = if (i / 1000) % 3 == 0 { 2.5 } else { 0.3 };
                (r.uniform() as f32) * burst
            })
            .collect();
        let p = LimiterParams::default();
        let mut planner = GainPlanner::new(&p, 48_000.0);
        let mut gain = vec![0.0; env.len()];
        planner.plan(&env, 1.0, 0.9, &mut gain);
        for (i, (&e, &g)) in env.iter().zip(&gain).enumerate() {
            assert!(e * g <= 0.9 * (1.0 + 1e-6), "sample {i}: {e} * {g}");
            assert!(g > 0.0 && g <= 1.0);
        }
    }

    #[test]
    fn quiet_signal_is_untouched() {
        let x: Vec<f32> = (0..4800).map(|i| 0.1 * (i as f32 * 0.05).sin()).collect();
        let mut ch = vec![x.clone()];
        let res = limit(&mut ch, 0.0, &LimiterParams::default(), 48_000.0, 0.0);
        assert_eq!(res.stats.max_db, 0.0);
        assert_eq!(ch[0], x);
    }
}
