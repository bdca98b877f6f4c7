//! Look-ahead true-peak limiter.
//!
//! The limiter works on a whole signal (mastering is offline), in three steps:
//!
//! 1. **Detect**: the linked true-peak envelope of the input (4x interpolated, see
//!    [`crate::oversample`]), reduced to its maximum over short chunks (about 0.36 ms; see
//!    [`crate::loudness::chunk_len`]).
//! 2. **Plan** the gain per chunk ([`GainPlanner`]): the gain each chunk needs,
//!    `r = min(1, c / (G·peak))`, is spread by a sliding minimum over `[hold before, look-ahead
//!    after]` (the gain is down before a peak arrives and stays down for the hold time, so a
//!    bass wave's successive peaks do not make the gain ripple inside one cycle, which is what
//!    distorts), recovers with an exponential release, and is smoothed by two cascaded moving
//!    averages whose total length equals the look-ahead. Every value inside the smoothing
//!    window is already at or below the gain the peak needs, so the smoothed gain is too. The
//!    per-sample gain is a straight line between chunk centres; the sliding minimum reaches one
//!    chunk further on each side so that those lines stay under every peak as well. The
//!    ceiling holds by construction, with no clipping stage.
//! 3. **Verify**: the output is measured again with the 4x meter. A gain that changes under a
//!    peak can still add a tiny overshoot; if any is found the ceiling is lowered by it and the
//!    plan is redone.

use crate::loudness::chunk_len;
use crate::oversample::{Scratch, TruePeakDetector};

/// Parameters of the limiter (serialisable: they appear in sessions and reports).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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

/// Gain-reduction statistics of a linear gain curve (values in (0, 1]); one value per chunk
/// or per sample, each weighted equally.
pub fn gain_reduction_stats(gain: &[f32]) -> GainReductionStats {
    if gain.is_empty() {
        return GainReductionStats::default();
    }
    let thresh = 10f32.powf(-0.1 / 20.0);
    let mut min_g = 1.0f32;
    let mut sum_db = 0.0f64;
    let mut sum_active = 0.0f64;
    let mut n_active = 0usize;
    // log10 only where gain is reduced: most of a gentle master is at unity
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

/// Plans per-chunk gain curves from per-chunk peaks. Holds its work buffers so repeated
/// planning (the loudness solver tries several input gains) allocates nothing.
#[derive(Clone, Debug)]
pub struct GainPlanner {
    chunk: usize,
    /// look-ahead, chunks (even, >= 2)
    lookahead: usize,
    /// hold, chunks
    hold: usize,
    release_coeff: f32,
    deque_idx: Vec<usize>,
    deque_val: Vec<f32>,
    ring: Vec<f32>,
}

impl GainPlanner {
    pub fn new(params: &LimiterParams, sample_rate: f64, chunk: usize) -> Self {
        let chunk = chunk.max(1);
        let per_chunk = |ms: f64| ms.max(0.0) * 1e-3 * sample_rate / chunk as f64;
        let mut lookahead = (per_chunk(params.lookahead_ms).round() as usize).max(2);
        lookahead += lookahead % 2;
        let hold = per_chunk(params.hold_ms).round() as usize;
        let release_chunks = per_chunk(params.release_ms.max(1.0)).max(1e-3);
        // the window reaches one chunk further each side (see the module documentation); a
        // power of two, so the ring wraps with a mask rather than a division
        let cap = (lookahead + hold + 4).next_power_of_two();
        GainPlanner {
            chunk,
            lookahead,
            hold,
            release_coeff: (-1.0 / release_chunks).exp() as f32,
            deque_idx: vec![0; cap],
            deque_val: vec![0.0; cap],
            ring: vec![0.0; lookahead / 2 + 1],
        }
    }

    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Fill `gain[c]` for every chunk so that `level(c) · gain · peaks[c] <= ceiling`, also
    /// for the straight lines between neighbouring chunk centres.
    pub fn plan(
        &mut self,
        peaks: &[f32],
        level: impl Fn(usize) -> f32,
        ceiling: f32,
        gain: &mut [f32],
    ) {
        assert_eq!(peaks.len(), gain.len());
        let n = gain.len();
        if n == 0 {
            return;
        }
        let need = |i: usize| -> f32 {
            let p = level(i) * peaks[i];
            if p > ceiling {
                ceiling / p
            } else {
                1.0
            }
        };
        let ahead = self.lookahead + 1;
        let behind = self.hold + 1;
        let mask = self.deque_idx.len() - 1;
        // 1. sliding minimum over [i - behind, i + ahead] (monotonic deque in a ring; values are
        //    copied, so `gain` can be written in place)
        let (mut head, mut len) = (0usize, 0usize);
        let mut next_in = 0usize;
        for (i, g) in gain.iter_mut().enumerate() {
            let hi = (i + ahead).min(n - 1);
            while next_in <= hi {
                let v = need(next_in);
                while len > 0 && self.deque_val[(head + len - 1) & mask] >= v {
                    len -= 1;
                }
                let slot = (head + len) & mask;
                self.deque_idx[slot] = next_in;
                self.deque_val[slot] = v;
                len += 1;
                next_in += 1;
            }
            while len > 0 && self.deque_idx[head] + behind < i {
                head = (head + 1) & mask;
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
        let w = self.lookahead / 2 + 1;
        for _ in 0..2 {
            // before the first chunk the gain is taken as the first chunk's gain: it already
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

/// `dst[i] = src[i] · f(i)` where `f` runs in straight lines between chunk centres through
/// the per-chunk `factors` (flat before the first centre and after the last).
pub fn apply_chunk_factors(src: &[f32], dst: &mut [f32], factors: &[f32], chunk: usize) {
    assert_eq!(src.len(), dst.len());
    let chunk = chunk.max(1);
    for ((d, s), r) in
        dst.chunks_mut(chunk)
            .zip(src.chunks(chunk))
            .zip(ramps(factors, chunk, src.len()))
    {
        for (j, (o, &x)) in d.iter_mut().zip(s).enumerate() {
            *o = x * r.at(j);
        }
    }
}

/// [`apply_chunk_factors`] in place: `buf[i] *= f(i)`.
pub fn scale_by_chunk_factors(buf: &mut [f32], factors: &[f32], chunk: usize) {
    map_chunk_gains(buf, factors, chunk, |x, g| x * g);
}

/// Undo [`scale_by_chunk_factors`]: `buf[i] /= f(i)` (exact up to the rounding of the last
/// bit; the factors must be positive).
pub fn unscale_by_chunk_factors(buf: &mut [f32], factors: &[f32], chunk: usize) {
    map_chunk_gains(buf, factors, chunk, |x, g| x / g);
}

/// `buf[i] = op(buf[i], f(i))` with `f` of [`apply_chunk_factors`].
#[inline(always)]
fn map_chunk_gains(buf: &mut [f32], factors: &[f32], chunk: usize, op: impl Fn(f32, f32) -> f32) {
    let chunk = chunk.max(1);
    let n = buf.len();
    for (d, r) in buf.chunks_mut(chunk).zip(ramps(factors, chunk, n)) {
        for (j, o) in d.iter_mut().enumerate() {
            *o = op(*o, r.at(j));
        }
    }
}

/// The gain inside one chunk: from halfway between the previous chunk's factor and this
/// one's, through this one's at the centre, to halfway to the next one's.
struct Ramp {
    f: f32,
    prev: f32,
    next: f32,
    half: f32,
    chunk: f32,
}

impl Ramp {
    #[inline(always)]
    fn at(&self, j: usize) -> f32 {
        let pos = j as f32 + 0.5; // sample position inside the chunk; centre = half
        if pos < self.half {
            let t = (self.half - pos) / self.chunk;
            self.f + (self.prev - self.f) * t
        } else {
            let t = (pos - self.half) / self.chunk;
            self.f + (self.next - self.f) * t
        }
    }
}

fn ramps(factors: &[f32], chunk: usize, len: usize) -> impl Iterator<Item = Ramp> + '_ {
    let nc = factors.len();
    assert!(nc * chunk >= len, "factors do not cover the signal");
    (0..nc).map(move |c| Ramp {
        f: factors[c],
        prev: factors[c.saturating_sub(1)],
        next: factors[(c + 1).min(nc - 1)],
        half: chunk as f32 / 2.0,
        chunk: chunk as f32,
    })
}

fn db_to_lin(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

fn lin_to_db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
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

/// Limit `channels` in place after multiplying them by `pre_gain_db`: the 4x-oversampled true
/// peak of the result is at or below `params.ceiling_dbtp - margin_db`.
pub fn limit(
    channels: &mut [Vec<f32>],
    pre_gain_db: f64,
    params: &LimiterParams,
    sample_rate: f64,
    margin_db: f64,
) -> LimitResult {
    let chunk = chunk_len(sample_rate.round() as u32);
    let pre = db_to_lin(pre_gain_db);
    let target_db = params.ceiling_dbtp - margin_db.max(0.0);
    // linked per-chunk peaks, exact wherever the gained signal can come within 6 dB of the ceiling
    let det = TruePeakDetector::new(sample_rate.round() as u32);
    let mut scratch = Scratch::default();
    let threshold = db_to_lin(target_db - 6.0) / pre;
    let mut peaks: Vec<f32> = Vec::new();
    for (i, ch) in channels.iter().enumerate() {
        let mut p = Vec::new();
        det.chunk_peaks_pruned(ch, chunk, threshold, &mut p, &mut scratch);
        if i == 0 {
            peaks = p;
        } else {
            peaks.iter_mut().zip(&p).for_each(|(a, b)| *a = a.max(*b));
        }
    }
    let mut gain = vec![1.0f32; peaks.len()];
    let mut factors = vec![1.0f32; peaks.len()];
    let mut planner = GainPlanner::new(params, sample_rate, chunk);
    let mut ceiling_db = target_db;
    let mut out: Vec<Vec<f32>> = channels.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut passes = 0;
    let mut tp_db;
    loop {
        passes += 1;
        planner.plan(&peaks, |_| pre, db_to_lin(ceiling_db), &mut gain);
        for (f, g) in factors.iter_mut().zip(&gain) {
            *f = g * pre;
        }
        for (src, dst) in channels.iter().zip(out.iter_mut()) {
            apply_chunk_factors(src, dst, &factors, chunk);
        }
        let tp = out
            .iter()
            .fold(0.0f32, |m, c| m.max(det.true_peak(c, &mut scratch)));
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
    fn scaling_in_place_matches_and_undoes() {
        let src: Vec<f32> = (0..1_003)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let factors = [1.0, 0.5, 0.8, 0.25, 1.0, 0.9, 0.7, 0.6, 0.5, 0.4, 1.0];
        let mut a = vec![0.0; src.len()];
        apply_chunk_factors(&src, &mut a, &factors, 100);
        let mut b = src.clone();
        scale_by_chunk_factors(&mut b, &factors, 100);
        assert_eq!(a, b);
        // a gain that moves: not a copy
        assert!(a.iter().zip(&src).any(|(x, y)| x != y));
        unscale_by_chunk_factors(&mut b, &factors, 100);
        for (x, y) in b.iter().zip(&src) {
            assert!((x - y).abs() <= y.abs() * 2.0 * f32::EPSILON, "{x} {y}");
        }
    }

    #[test]
    fn planned_gain_covers_every_chunk_and_its_neighbours() {
        let mut r = crate::rng::Rng::new(11);
        let peaks: Vec<f32> = (0..5_000)
            .map(|i| {
                let burst = if (i / 300) % 3 == 0 { 2.5 } else { 0.3 };
                (r.uniform() as f32) * burst
            })
            .collect();
        let p = LimiterParams::default();
        let mut planner = GainPlanner::new(&p, 48_000.0, 16);
        let mut gain = vec![0.0; peaks.len()];
        planner.plan(&peaks, |_| 1.0, 0.9, &mut gain);
        for (i, &p) in peaks.iter().enumerate() {
            // the chunk's own gain and its neighbours' (the lines between centres use them)
            let near = &gain[i.saturating_sub(1)..(i + 2).min(peaks.len())];
            for g in near {
                assert!(p * g <= 0.9 * (1.0 + 1e-6), "chunk {i}: {p} * {g}");
            }
            assert!(gain[i] > 0.0 && gain[i] <= 1.0);
        }
    }

    #[test]
    fn chunk_factors_are_lines_between_centres() {
        let src = vec![1.0f32; 12];
        let mut dst = vec![0.0f32; 12];
        apply_chunk_factors(&src, &mut dst, &[1.0, 0.5, 0.5], 4);
        // first chunk: flat before its centre, then toward 0.5
        assert_eq!(dst[0], 1.0);
        assert_eq!(dst[1], 1.0);
        assert!((dst[2] - 0.9375).abs() < 1e-6);
        assert!((dst[5] - 0.5625).abs() < 1e-6);
        assert_eq!(dst[11], 0.5);
        assert!(dst.windows(2).all(|w| w[1] <= w[0]));
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
