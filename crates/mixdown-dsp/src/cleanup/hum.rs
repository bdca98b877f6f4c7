//! Mains hum: measurement and removal.
//!
//! # Removal: tracked-harmonic subtraction (a zero-phase comb of very narrow notches)
//!
//! Hum is a sum of sinusoids at exact multiples of the mains frequency whose amplitudes and
//! phases hardly change. For each harmonic `k` the remover
//! 1. demodulates the signal by `e^{-j·2π·k·f0·n/fs}` and averages it over blocks of one mains
//!    period (a box filter whose nulls sit on the other harmonics and on the mirror image),
//!    giving the harmonic's complex amplitude once per period;
//! 2. smooths that sequence with a zero-phase low-pass of about `1 / width_hz` seconds (three
//!    cascaded moving averages whose windows keep their length at the ends of the track), which
//!    keeps the steady hum and averages away the music, whose phase relative to the harmonic
//!    keeps turning. The average is weighted: each period counts in inverse proportion to the
//!    power near the harmonic that the current estimate leaves there, as in a
//!    maximum-likelihood estimate of a sinusoid in noise of changing level (reweighted twice,
//!    from two starts, keeping the likelier; see `irls`). The hum is learned where it is
//!    exposed (pauses, quiet notes) rather than under loud bass notes, so that little of the
//!    music goes into the estimate and is subtracted with it;
//! 3. rebuilds the harmonic from the smoothed amplitude (linearly interpolated to every sample)
//!    and subtracts it. Periods of digital silence get no hum.
//!
//! Seen as a filter this is a notch of about `width_hz` at every harmonic with an exact zero at
//! its centre, flat a few widths away, zero phase (no phase distortion of the bass under the
//! hum) and without the start-up transient of a recursive notch: the hum is removed from the
//! first sample. A biquad notch narrow enough to leave a bass note 1 Hz away alone (Q ≈ 100 at
//! 50 Hz) needs about a second to settle, during which the hum passes. The price of the
//! subtraction is that it works on whole channels (it is non-causal), which is how the mixer
//! processes stems anyway.
//!
//! # Measurement
//!
//! [`HumAnalyser`] (and [`scan`]) measure the harmonics of 50 and 60 Hz on a time-weighted
//! spectrum of the whole track (a few hundredths of a hertz per bin); see [`HumAnalyser`].
//! For a hum found, [`HumAnalyser::harmonics`] refines the fundamental (to thousandths of a
//! hertz, so that the high harmonics sit in their notches), measures the higher harmonics and
//! tells how steady the hum is ([`HumCandidate::wander`]), which sets the notch width.
//!
//! # Limits
//!
//! A hum buried under music that never pauses (a bass line with no rests, 10 dB or more above
//! the hum all the time) is found but removed less well (10-25 dB), and so is one under steady
//! lines at the very same frequencies (synthesised music ticking at 50 Hz has them). Near the
//! ends of a track the smoothing sees one side only, and a note next to a harmonic leaks a
//! little into the estimate there. The remover follows a mains frequency that wanders slowly
//! (the wide notches); a fast wander of more than about 0.05 Hz is not followed.

use super::pow_to_db;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Parameters of the hum remover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumParams {
    /// Mains frequency as measured, Hz (e.g. 49.97).
    pub fundamental_hz: f64,
    /// Harmonics removed: 1 (the fundamental) up to this one. Harmonics at or above 0.45 × the
    /// sample rate are skipped.
    pub harmonics: u32,
    /// Full width of each notch at -3 dB, Hz. Narrower leaves more of the music near the hum
    /// frequencies but follows a drifting mains frequency less well.
    pub width_hz: f64,
}

impl HumParams {
    /// The harmonics that are actually processed at `sample_rate`.
    pub fn active_harmonics(&self, sample_rate: u32) -> u32 {
        if !(self.fundamental_hz.is_finite() && self.fundamental_hz > 0.0) {
            return 0;
        }
        let top = (0.45 * f64::from(sample_rate) / self.fundamental_hz).ceil() as u32;
        self.harmonics
            .min(top.saturating_sub(1))
            .min(MAX_HARMONICS as u32)
    }
}

/// Most harmonics the remover handles (1 kHz of 50 Hz hum).
pub const MAX_HARMONICS: usize = 40;

/// Removes the hum described by [`HumParams`] from whole channels.
///
/// Scratch space grows with the longest channel processed and is reused between calls.
#[derive(Clone, Debug)]
pub struct HumRemover {
    sample_rate: u32,
    /// Angular frequency of each harmonic, rad/sample.
    omega: Vec<f64>,
    /// Block length (one mains period, rounded), samples.
    block: usize,
    /// Length of each of the three moving averages, blocks (odd).
    smooth_len: usize,
    /// `harmonics × blocks` complex amplitudes.
    amp: Vec<Complex<f64>>,
    /// cos(ω_k·i) and sin(ω_k·i) for i < `stride`, harmonic-major.
    cos_tab: Vec<f64>,
    sin_tab: Vec<f64>,
    /// 0, 1, 2, ... (`stride` values).
    ramp: Vec<f64>,
    /// Table length (a block and a little more).
    stride: usize,
    /// Scratch of `stride` samples.
    buf: Vec<f64>,
    /// Whether each block is digital silence.
    silent: Vec<bool>,
    scratch: SmoothScratch,
}

/// Scratch space of [`weighted_smooth`].
#[derive(Clone, Debug, Default)]
struct SmoothScratch {
    tmp: Vec<Complex<f64>>,
    power: Vec<Complex<f64>>,
    num: Vec<Complex<f64>>,
    den: Vec<Complex<f64>>,
    est: Vec<Complex<f64>>,
    weight: Vec<f64>,
    sorted: Vec<f64>,
}

impl HumRemover {
    pub fn new(params: &HumParams, sample_rate: u32) -> Self {
        assert!(sample_rate > 0, "sample rate must be positive");
        let k_max = params.active_harmonics(sample_rate) as usize;
        let f0 = params.fundamental_hz;
        let fs = f64::from(sample_rate);
        let omega: Vec<f64> = (1..=k_max).map(|k| 2.0 * PI * k as f64 * f0 / fs).collect();
        let block = if k_max > 0 {
            ((fs / f0).round() as usize).max(1)
        } else {
            1
        };
        let block_rate = fs / block as f64;
        // Three cascaded moving averages of duration T each: notch -3 dB full width 0.956 / T.
        let width = if params.width_hz.is_finite() && params.width_hz > 0.0 {
            params.width_hz
        } else {
            0.5
        };
        let t = 0.956 / width;
        let mut smooth_len = ((t * block_rate).round() as usize).max(1);
        if smooth_len % 2 == 0 {
            smooth_len += 1;
        }
        let stride = block + 2;
        let mut cos_tab = Vec::with_capacity(omega.len() * stride);
        let mut sin_tab = Vec::with_capacity(omega.len() * stride);
        for &w in &omega {
            for i in 0..stride {
                let p = phasor(w, i);
                cos_tab.push(p.re);
                sin_tab.push(p.im);
            }
        }
        HumRemover {
            sample_rate,
            omega,
            block,
            smooth_len,
            amp: Vec::new(),
            cos_tab,
            sin_tab,
            ramp: (0..stride).map(|i| i as f64).collect(),
            stride,
            buf: vec![0.0; stride],
            silent: Vec::new(),
            scratch: SmoothScratch::default(),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of harmonics processed.
    pub fn harmonics(&self) -> usize {
        self.omega.len()
    }

    /// Removes the hum from one whole channel, in place. Zero phase, no latency.
    pub fn process(&mut self, x: &mut [f32]) {
        let h = self.omega.len();
        if h == 0 || x.is_empty() {
            return;
        }
        let m = self.block;
        let blocks = x.len().div_ceil(m);
        self.amp.clear();
        self.amp.resize(h * blocks, Complex::new(0.0, 0.0));
        self.demodulate(x, blocks);
        self.silent.clear();
        self.silent
            .extend(x.chunks(m).map(|c| c.iter().all(|&v| v == 0.0)));
        for k in 0..h {
            let row = &mut self.amp[k * blocks..(k + 1) * blocks];
            weighted_smooth(row, self.smooth_len, &self.silent, &mut self.scratch);
        }
        self.subtract(x, blocks);
    }

    /// Per block and harmonic: (2 / block length) · Σ x[n] e^{-jωn}, as e^{-jω·start} times a
    /// dot product of the block with the tables (vectorises; no phasor recursion).
    fn demodulate(&mut self, x: &[f32], blocks: usize) {
        let h = self.omega.len();
        let m = self.block;
        let stride = self.stride;
        for b in 0..blocks {
            let start = b * m;
            let end = (start + m).min(x.len());
            let len = end - start;
            for (d, &v) in self.buf[..len].iter_mut().zip(&x[start..end]) {
                *d = f64::from(v);
            }
            let xb = &self.buf[..len];
            let norm = 2.0 / len as f64;
            for k in 0..h {
                let tc = &self.cos_tab[k * stride..k * stride + len];
                let ts = &self.sin_tab[k * stride..k * stride + len];
                let (c, s) = dot2(xb, tc, ts);
                self.amp[k * blocks + b] =
                    phasor(-self.omega[k], start) * Complex::new(c, -s) * norm;
            }
        }
    }

    /// Rebuild every harmonic from its smoothed amplitude and subtract it. Between block
    /// centres the amplitude moves linearly: Re((A + D·i)·e^{jω(n0+i)}) is rebuilt from the
    /// tables with four multiply-adds per sample and harmonic.
    fn subtract(&mut self, x: &mut [f32], blocks: usize) {
        let h = self.omega.len();
        let m = self.block;
        let stride = self.stride;
        let half = (m as f64 - 1.0) / 2.0;
        // Segments between block centres: [c_b, c_{b+1}), plus the two ends (held).
        let centre = |b: usize| b as f64 * m as f64 + half;
        let mut n = 0usize;
        let len = x.len();
        let mut seg = 0usize; // amplitudes interpolate from block seg-1 to seg
        while n < len {
            // end of this segment (exclusive) and the interpolation endpoints
            let (end, b0, b1) = if seg == 0 {
                ((centre(0).floor() as usize + 1).min(len), 0, 0)
            } else if seg >= blocks {
                (len, blocks - 1, blocks - 1)
            } else {
                ((centre(seg).floor() as usize + 1).min(len), seg - 1, seg)
            };
            let mut start = n;
            while start < end {
                // at most one table length at a time (the held ends can be longer)
                let stop = end.min(start + stride);
                let seg_len = stop - start;
                let c0 = centre(b0);
                let hum = &mut self.buf[..seg_len];
                hum.iter_mut().for_each(|v| *v = 0.0);
                for k in 0..h {
                    let z0 = self.amp[k * blocks + b0];
                    let z1 = self.amp[k * blocks + b1];
                    let (a0, da) = if b1 > b0 {
                        let step = (z1 - z0) / m as f64;
                        (z0 + step * (start as f64 - c0), step)
                    } else {
                        (z0, Complex::new(0.0, 0.0))
                    };
                    let p = phasor(self.omega[k], start);
                    let (u, v) = (a0 * p, da * p);
                    let tc = &self.cos_tab[k * stride..k * stride + seg_len];
                    let ts = &self.sin_tab[k * stride..k * stride + seg_len];
                    let ramp = &self.ramp[..seg_len];
                    for (((o, &cv), &sv), &i) in hum.iter_mut().zip(tc).zip(ts).zip(ramp) {
                        *o += u.re * cv - u.im * sv + i * (v.re * cv - v.im * sv);
                    }
                }
                for (v, &hv) in x[start..stop].iter_mut().zip(hum.iter()) {
                    *v = (f64::from(*v) - hv) as f32;
                }
                start = stop;
            }
            n = end.max(n);
            seg += 1;
        }
    }
}

/// (Σ x·a, Σ x·b) with eight independent partial sums (the additions need not wait on each
/// other, and vectorise).
fn dot2(x: &[f64], a: &[f64], b: &[f64]) -> (f64, f64) {
    let n = x.len().min(a.len()).min(b.len());
    let mut sa = [0.0f64; 8];
    let mut sb = [0.0f64; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let o = c * 8;
        let (xs, as_, bs) = (&x[o..o + 8], &a[o..o + 8], &b[o..o + 8]);
        for i in 0..8 {
            sa[i] += xs[i] * as_[i];
            sb[i] += xs[i] * bs[i];
        }
    }
    let mut ra: f64 = sa.iter().sum();
    let mut rb: f64 = sb.iter().sum();
    for i in chunks * 8..n {
        ra += x[i] * a[i];
        rb += x[i] * b[i];
    }
    (ra, rb)
}

/// e^{j·w·n}, with the angle reduced exactly enough for n up to hours of audio.
fn phasor(w: f64, n: usize) -> Complex<f64> {
    let a = (w * n as f64).rem_euclid(2.0 * PI);
    Complex::new(a.cos(), a.sin())
}

/// Smooths one harmonic's per-period amplitudes (three cascaded moving averages of `len`
/// periods), weighting each period by the inverse of the power near the harmonic at that time,
/// as a maximum-likelihood estimate of a slowly varying sinusoid in noise of changing level
/// does: the hum's amplitude is learned mostly where little else sounds near it (where the
/// music is loud, from the quieter periods around), so that less of the music goes into the
/// estimate and is subtracted with it. The first estimate is a plain average; then, twice, the
/// weights come from the power of what the current estimate leaves, so that the periods where
/// the hum is all there is count most. (Weights from the power of the signal itself would
/// favour the moments where a note near the harmonic happens to cancel the hum, and pull the
/// estimate towards nothing.) Digital silence gets no hum.
fn weighted_smooth(row: &mut [Complex<f64>], len: usize, silent: &[bool], s: &mut SmoothScratch) {
    if irls(row, len, silent, s) {
        row.copy_from_slice(&s.est);
    } else {
        row.iter_mut().for_each(|v| *v = Complex::new(0.0, 0.0));
    }
}

/// The reweighted estimate of [`weighted_smooth`]: leaves it in `s.est` and the final weights
/// in `s.weight`. `false` if every period is silent.
fn irls(row: &[Complex<f64>], len: usize, silent: &[bool], s: &mut SmoothScratch) -> bool {
    if silent.iter().all(|&z| z) {
        return false;
    }
    // Two starts: a plain average (every period that is not silent counts the same), and
    // weights inverse to the power of the signal itself. The second learns the hum from the
    // pauses at once, but favours the moments where a steady note near the harmonic happens
    // to cancel the hum; the first does not, but takes more of the music along. Each is
    // reweighted on what it leaves, and the one that leaves less where little else sounds
    // (the smaller sum of log residual power: the likelier under noise of changing level)
    // is kept.
    s.weight.clear();
    s.weight
        .extend(silent.iter().map(|&z| if z { 0.0 } else { 1.0 }));
    let (weight, est) = (&s.weight, &mut s.est);
    smooth_fixed(row, weight, len, &mut s.num, &mut s.den, &mut s.tmp, est);
    for _ in 0..REMOVER_ITERATIONS {
        reweight(row, len, silent, s);
    }
    let cost_plain = residual_cost(row, silent, s);
    let plain = std::mem::take(&mut s.est);
    // second start: weights from the signal's own power
    s.est.clear();
    s.est.resize(row.len(), Complex::new(0.0, 0.0));
    for _ in 0..=REMOVER_ITERATIONS {
        reweight(row, len, silent, s);
    }
    let cost_power = residual_cost(row, silent, s);
    if cost_plain <= cost_power {
        s.est = plain;
    }
    for (e, &z) in s.est.iter_mut().zip(silent) {
        if z {
            *e = Complex::new(0.0, 0.0);
        }
    }
    true
}

/// Local power near the harmonic (±12 Hz, over 0.2 s) of what the estimate in `s.est` leaves,
/// into `s.power`; returns its median over the periods that are not silent.
fn residual_power(row: &[Complex<f64>], silent: &[bool], s: &mut SmoothScratch) -> f64 {
    s.power.clear();
    s.power.extend(row.iter().zip(&s.est).map(|(&b, &e)| b - e));
    moving_average_even(&mut s.power, REMOVER_BAND_BLOCKS, &mut s.tmp);
    for v in s.power.iter_mut() {
        *v = Complex::new(v.norm_sqr(), 0.0);
    }
    moving_average(&mut s.power, REMOVER_SMOOTH_BLOCKS, &mut s.tmp);
    s.sorted.clear();
    s.sorted.extend(
        s.power
            .iter()
            .zip(silent)
            .filter(|(_, &z)| !z)
            .map(|(p, _)| p.re),
    );
    if s.sorted.is_empty() {
        return 0.0;
    }
    let mid = s.sorted.len() / 2;
    *s.sorted
        .select_nth_unstable_by(mid, |a, b| a.total_cmp(b))
        .1
}

/// One reweighting: weights inverse to the residual power of the current estimate (capped),
/// then the new estimate.
fn reweight(row: &[Complex<f64>], len: usize, silent: &[bool], s: &mut SmoothScratch) {
    let median = residual_power(row, silent, s);
    let floor = (median / REMOVER_WEIGHT_MAX_RATIO).max(1e-30);
    s.weight.clear();
    s.weight.extend(
        s.power
            .iter()
            .zip(silent)
            .map(|(p, &z)| if z { 0.0 } else { floor / p.re.max(floor) }),
    );
    let (weight, est) = (&s.weight, &mut s.est);
    smooth_fixed(row, weight, len, &mut s.num, &mut s.den, &mut s.tmp, est);
}

/// Σ ln(residual power) over the periods that are not silent (floored far below anything
/// audible).
fn residual_cost(row: &[Complex<f64>], silent: &[bool], s: &mut SmoothScratch) -> f64 {
    residual_power(row, silent, s);
    s.power
        .iter()
        .zip(silent)
        .filter(|(_, &z)| !z)
        .map(|(p, _)| p.re.max(1e-20).ln())
        .sum()
}

/// `est` = MA³(weight · row) / MA³(weight), three cascaded moving averages of `len`; zero where
/// no weight reaches.
fn smooth_fixed(
    row: &[Complex<f64>],
    weight: &[f64],
    len: usize,
    num: &mut Vec<Complex<f64>>,
    den: &mut Vec<Complex<f64>>,
    tmp: &mut Vec<Complex<f64>>,
    est: &mut Vec<Complex<f64>>,
) {
    num.clear();
    den.clear();
    for (&v, &w) in row.iter().zip(weight) {
        num.push(v * w);
        den.push(Complex::new(w, 0.0));
    }
    for _ in 0..3 {
        moving_average_shifted(num, len, tmp);
        moving_average_shifted(den, len, tmp);
    }
    est.clear();
    est.extend(num.iter().zip(den.iter()).map(|(&a, d)| {
        if d.re > 0.0 {
            a / d.re
        } else {
            Complex::new(0.0, 0.0)
        }
    }));
}

/// How far the reweighted estimate of a steady sinusoid at 0 Hz in `row` over each quarter of
/// it strays from the estimate over the whole, relative to the latter: the largest such
/// difference that the noise (what the estimate leaves) does not explain, 0 if all are
/// explained.
fn quarter_deviation(row: &[Complex<f64>]) -> Option<f64> {
    let n = row.len();
    if n < 8 {
        return None;
    }
    let silent: Vec<bool> = row.iter().map(|v| v.norm_sqr() == 0.0).collect();
    let mut s = SmoothScratch::default();
    if !irls(row, 2 * n + 1, &silent, &mut s) {
        return None;
    }
    // weighted mean and its variance (weights inverse to the local power of the rest)
    let estimate = |range: std::ops::Range<usize>| -> Option<(Complex<f64>, f64)> {
        let mut num = Complex::new(0.0, 0.0);
        let mut den = 0.0f64;
        let mut var = 0.0f64;
        for i in range {
            let w = s.weight[i];
            num += row[i] * w;
            den += w;
            var += w * w * s.power[i].re;
        }
        (den > 0.0).then(|| (num / den, var / (den * den)))
    };
    let (whole, whole_var) = estimate(0..n)?;
    if whole.norm().is_nan() || whole.norm() <= 0.0 {
        return None;
    }
    let mut worst = 0.0f64;
    for q in 0..4 {
        if let Some((a, var)) = estimate(q * n / 4..(q + 1) * n / 4) {
            let d = (a - whole).norm_sqr();
            if d > WANDER_SIGNIFICANCE * (var + whole_var) {
                worst = worst.max(d.sqrt() / whole.norm());
            }
        }
    }
    Some(worst)
}

/// A quarter's estimate strays significantly when its squared difference from the whole is this
/// many times the variance the noise gives it.
const WANDER_SIGNIFICANCE: f64 = 16.0;

/// The remover's weights follow the power within about ±12 Hz of the harmonic ...
const REMOVER_BAND_BLOCKS: usize = 4;
/// ... over about 0.2 s (odd, in mains periods): fine enough to use the short gaps between
/// notes, where the hum is all there is.
const REMOVER_SMOOTH_BLOCKS: usize = 11;
/// Reweighting passes of the remover's estimate.
const REMOVER_ITERATIONS: usize = 2;
/// The remover's weights are capped at this many times the weight of a period at the median
/// level of what the estimate leaves.
const REMOVER_WEIGHT_MAX_RATIO: f64 = 1e4;

/// `tmp` = the running sums of `row`, starting with 0 (`row.len() + 1` values).
fn prefix_sums(row: &[Complex<f64>], tmp: &mut Vec<Complex<f64>>) {
    tmp.clear();
    tmp.reserve(row.len() + 1);
    tmp.push(Complex::new(0.0, 0.0));
    let mut s = Complex::new(0.0, 0.0);
    for &v in row {
        s += v;
        tmp.push(s);
    }
}

/// Moving average of odd length `len`, centred, except near the ends where the window keeps its
/// length and stops at the end instead of shrinking (a steady value stays exactly steady up to
/// the edges, and a component that turns relative to the harmonic, a note next to it, is
/// averaged away there as well as anywhere). The whole row if it is shorter than `len`.
fn moving_average_shifted(row: &mut [Complex<f64>], len: usize, tmp: &mut Vec<Complex<f64>>) {
    let n = row.len();
    if len <= 1 || n <= 1 {
        return;
    }
    let len = len.min(n);
    prefix_sums(row, tmp);
    let r = len / 2;
    let inv = 1.0 / len as f64;
    for (i, v) in row.iter_mut().enumerate() {
        let lo = i.saturating_sub(r).min(n - len);
        *v = (tmp[lo + len] - tmp[lo]) * inv;
    }
}

/// Centred moving average of odd length `len`, averaging only the samples that exist near the
/// ends (so a steady value stays exactly steady up to the edges).
fn moving_average(row: &mut [Complex<f64>], len: usize, tmp: &mut Vec<Complex<f64>>) {
    let n = row.len();
    if len <= 1 || n <= 1 {
        return;
    }
    let r = len / 2;
    prefix_sums(row, tmp);
    for (i, v) in row.iter_mut().enumerate() {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(n);
        *v = (tmp[hi] - tmp[lo]) / (hi - lo) as f64;
    }
}

// -------------------------------------------------------------------------------------------
// measurement

/// One harmonic as measured by [`HumAnalyser`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumPeak {
    /// 1 = fundamental.
    pub harmonic: u32,
    /// Frequency at which it was measured (harmonic × fundamental), Hz.
    pub freq_hz: f64,
    /// Level of the steady sinusoid at that frequency (its time-weighted coherent amplitude),
    /// dBFS mean-square (a full-scale sine is -3.01 dBFS).
    pub level_dbfs: f64,
    /// Power of that sinusoid over the mean power the rest of the neighbourhood (1-4 Hz away)
    /// puts into one analysis bin, dB: the line's signal-to-background ratio.
    pub prominence_db: f64,
    /// Power of the sinusoid over the second strongest other line 0.3-4 Hz away, dB (after the
    /// sinusoid itself, with the sidebands the time weighting gives it, is subtracted): a hum
    /// line stands alone, while a pattern repeated at a steady tempo makes a comb of similar
    /// lines.
    pub dominance_db: f64,
}

/// The harmonics of one mains frequency (50 or 60 Hz).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumCandidate {
    /// Nominal mains frequency, 50 or 60 Hz.
    pub mains_hz: f64,
    /// Precise fundamental the harmonics were measured at.
    pub fundamental_hz: f64,
    /// Harmonics 1, 2, ... in order.
    pub peaks: Vec<HumPeak>,
    /// How much the hum's amplitude and phase change over the track (measured by
    /// [`HumAnalyser::harmonics`] only): the largest difference, relative to the hum, between
    /// its estimate over a quarter of the track and over the whole, taken over the clearly
    /// present harmonics. About 0 for a hum that holds steady; large for one whose frequency
    /// wanders (and for one too buried in the music to tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wander: Option<f64>,
}

/// Result of [`scan`]: the 50 Hz and 60 Hz candidates, harmonics 1 to [`SCAN_HARMONICS`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumScan {
    pub candidates: Vec<HumCandidate>,
    /// Frequency resolution of the analysis (bin spacing at the fundamental), Hz.
    pub bin_hz: f64,
}

/// Harmonics measured by [`scan`].
pub const SCAN_HARMONICS: u32 = 6;
/// The decimated rate of the analysis is at least this, Hz.
const SCAN_RATE: f64 = 2400.0;
/// Longest decimated signal analysed (about 7 minutes at 2.4 kHz); longer tracks are analysed
/// on their middle part.
const SCAN_MAX_LEN: usize = 1 << 20;
/// Mains frequency tolerance: ±1 %.
const MAINS_TOLERANCE: f64 = 0.01;
/// Harmonics above this (or above 0.38 × the decimated rate) are not measured.
pub const SCAN_MAX_HZ: f64 = 1000.0;
/// Neighbourhood of a line: from this far ...
const HOOD_NEAR_HZ: f64 = 1.0;
/// ... to this far, Hz.
const HOOD_FAR_HZ: f64 = 4.0;
/// Rival lines are looked for from this far away, Hz.
const RIVAL_NEAR_HZ: f64 = 0.3;
/// Time resolution of the weighting, in mains periods (about 0.2 s: fine enough to use the
/// short gaps between notes). The weights follow the beats of steady tones near a harmonic,
/// which gives them faint lines of their own (two notes an octave apart make one at the
/// harmonic, some 50 dB below them): the engine ignores hum far below the track's quiet
/// passages.
const WEIGHT_SMOOTH_BLOCKS: usize = 10;
/// The band of the weighting: the baseband is averaged over this many periods first (±12 Hz).
const WEIGHT_BAND_BLOCKS: usize = 4;
/// Harmonics at least this prominent tell how steady the hum is, dB.
const WANDER_MIN_PROMINENCE_DB: f64 = 15.0;
/// Weights are capped at this many times the weight of a block at the median level.
const WEIGHT_MAX_RATIO: f64 = 1000.0;

/// Decimation factor of the analysis for a sample rate.
fn scan_decimation(sample_rate: u32) -> usize {
    ((f64::from(sample_rate) / SCAN_RATE).floor() as usize).max(1)
}

/// Power response of the analysis' decimation window at `f` Hz.
fn decimation_power(f: f64, d: usize, sample_rate: u32) -> f64 {
    if d <= 1 {
        return 1.0;
    }
    let x = PI * f / f64::from(sample_rate);
    let s = if x.abs() < 1e-12 {
        1.0
    } else {
        (d as f64 * x).sin() / (d as f64 * x.sin())
    };
    s.powi(4)
}

/// |Σ_{i<len} e^{-j2π f i / rate}| / len: the amplitude response of a box average.
fn box_response(f: f64, len: usize, rate: f64) -> f64 {
    let x = PI * f / rate;
    if x.sin().abs() < 1e-12 {
        return 1.0;
    }
    ((len as f64 * x).sin() / (len as f64 * x.sin())).abs()
}

/// Power spectrum (all `n` bins) of a complex sequence zero-padded to `n`, from two real FFTs.
fn complex_power(z: &[Complex<f64>], n: usize, planner: &mut RealFftPlanner<f64>) -> Vec<f64> {
    let fft = planner.plan_fft_forward(n);
    let mut re = fft.make_input_vec();
    let mut im = fft.make_input_vec();
    for (i, v) in z.iter().enumerate().take(n) {
        re[i] = v.re;
        im[i] = v.im;
    }
    let mut fr = fft.make_output_vec();
    let mut fi = fft.make_output_vec();
    fft.process(&mut re, &mut fr).expect("fft sizes match");
    fft.process(&mut im, &mut fi).expect("fft sizes match");
    let mut p = vec![0.0f64; n];
    let half = n / 2;
    for i in 0..=half {
        // Z[i] = R[i] + j·I[i]
        let (a, b) = (fr[i], fi[i]);
        p[i] = (a.re - b.im).powi(2) + (a.im + b.re).powi(2);
        if i > 0 && i < half {
            // Z[n-i] = conj(R[i]) + j·conj(I[i])
            p[n - i] = (a.re + b.im).powi(2) + (b.re - a.im).powi(2);
        }
    }
    p
}

/// Σ z[m] e^{-j2π f m / rate}, the exact transform of `z` at `f`.
fn dtft(z: &[Complex<f64>], f: f64, rate: f64) -> Complex<f64> {
    let w = -2.0 * PI * f / rate;
    let rot = Complex::new(w.cos(), w.sin());
    let mut acc = Complex::new(0.0, 0.0);
    for (c, chunk) in z.chunks(1024).enumerate() {
        let mut ph = phasor(w, c * 1024);
        for &v in chunk {
            acc += v * ph;
            ph *= rot;
        }
    }
    acc
}

/// Measured properties of one line in a [`Band`].
#[derive(Clone, Copy, Debug)]
struct Line {
    /// Coherent complex amplitude (baseband units: half the amplitude of the real sinusoid).
    amp: Complex<f64>,
    prominence_db: f64,
    dominance_db: f64,
}

/// One harmonic's neighbourhood, demodulated to baseband and time-weighted.
///
/// The decimated track is multiplied by `e^{-j2π·centre·n/rate}` and averaged over blocks of one
/// mains period (so the other harmonics fall on the nulls of the average), then over two blocks
/// (a triangular low-pass against aliasing), giving a complex signal at the mains rate that
/// holds the track within about ±25 Hz of the harmonic. Each block is then weighted by the
/// inverse of the local power within ±12 Hz of the harmonic (smoothed over 0.2 s): the
/// passages where little else sounds near the harmonic count most, as they do in a maximum
/// likelihood estimate of a steady sinusoid in noise whose level changes. Hum, which is there
/// all the time, gets the benefit; a note, which is there only while it sounds, does not.
struct Band {
    /// Block rate, Hz.
    rate: f64,
    /// Demodulation frequency, Hz.
    centre_hz: f64,
    /// Baseband signal, one value per mains period.
    base: Vec<Complex<f64>>,
    /// Weighted baseband signal (baseband · weight · Hann).
    z: Vec<Complex<f64>>,
    /// Weight · Hann of each block.
    g: Vec<f64>,
    sum_g: f64,
    /// Power spectrum of `z`, `nfft` bins.
    power: Vec<f64>,
    nfft: usize,
    /// Amplitude response of the block averages at the centre (for the level).
    gain: f64,
}

impl Band {
    fn new(
        y: &[f32],
        rate: f64,
        block: usize,
        harmonic: u32,
        planner: &mut RealFftPlanner<f64>,
    ) -> Option<Band> {
        let blocks = y.len() / block;
        if blocks < 16 {
            return None;
        }
        let k = harmonic as usize;
        // one period of the demodulating phasor per block: exact, and the same for every block
        let table: Vec<(f64, f64)> = (0..block)
            .map(|i| {
                let a = -2.0 * PI * ((k * i) % block) as f64 / block as f64;
                (a.cos(), a.sin())
            })
            .collect();
        let inv = 1.0 / block as f64;
        let raw: Vec<Complex<f64>> = y
            .chunks_exact(block)
            .map(|blk| {
                let mut re = 0.0f64;
                let mut im = 0.0f64;
                for (&v, &(c, s)) in blk.iter().zip(&table) {
                    let v = f64::from(v);
                    re += v * c;
                    im += v * s;
                }
                Complex::new(re * inv, im * inv)
            })
            .collect();
        let b: Vec<Complex<f64>> = raw.windows(2).map(|w| (w[0] + w[1]) * 0.5).collect();
        let m = b.len();
        // weights
        let mut tmp = Vec::new();
        let mut narrow = b.clone();
        moving_average_even(&mut narrow, WEIGHT_BAND_BLOCKS, &mut tmp);
        let mut p: Vec<Complex<f64>> = narrow
            .iter()
            .map(|v| Complex::new(v.norm_sqr(), 0.0))
            .collect();
        moving_average(&mut p, WEIGHT_SMOOTH_BLOCKS | 1, &mut tmp);
        let mut nonzero: Vec<f64> = p
            .iter()
            .zip(&b)
            .filter(|(_, v)| v.norm_sqr() > 0.0)
            .map(|(q, _)| q.re)
            .collect();
        if nonzero.is_empty() {
            return None;
        }
        let mid = nonzero.len() / 2;
        let median = *nonzero.select_nth_unstable_by(mid, |x, y| x.total_cmp(y)).1;
        let floor = (median / WEIGHT_MAX_RATIO).max(1e-300);
        let g: Vec<f64> = p
            .iter()
            .zip(&b)
            .enumerate()
            .map(|(i, (q, v))| {
                let hann = 0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / m as f64).cos();
                if v.norm_sqr() > 0.0 {
                    hann * floor / q.re.max(floor)
                } else {
                    0.0
                }
            })
            .collect();
        let sum_g: f64 = g.iter().sum();
        if sum_g.is_nan() || sum_g <= 0.0 {
            return None;
        }
        let z: Vec<Complex<f64>> = b.iter().zip(&g).map(|(v, &w)| v * w).collect();
        let nfft = 2 * m.next_power_of_two();
        let power = complex_power(&z, nfft, planner);
        let block_rate = rate / block as f64;
        let centre_hz = harmonic as f64 * block_rate;
        Some(Band {
            rate: block_rate,
            centre_hz,
            base: b,
            z,
            g,
            sum_g,
            power,
            nfft,
            gain: 1.0,
        })
    }

    fn bin_hz(&self) -> f64 {
        self.rate / self.nfft as f64
    }

    fn bin(&self, offset_hz: f64) -> isize {
        (offset_hz / self.bin_hz()).round() as isize
    }

    fn at(&self, spec: &[f64], bin: isize) -> f64 {
        spec[bin.rem_euclid(self.nfft as isize) as usize]
    }

    /// Offset (Hz from the centre) of the strongest bin between `lo` and `hi` Hz.
    fn strongest(&self, lo: f64, hi: f64) -> f64 {
        let (a, b) = (self.bin(lo), self.bin(hi));
        let mut best = (a, f64::NEG_INFINITY);
        for i in a..=b {
            let v = self.at(&self.power, i);
            if v > best.1 {
                best = (i, v);
            }
        }
        best.0 as f64 * self.bin_hz()
    }

    /// The bins `near`..`far` Hz either side of `offset`.
    fn ring(&self, spec: &[f64], offset: f64, near: f64, far: f64) -> [Vec<f64>; 2] {
        let c = self.bin(offset);
        let lo = (near / self.bin_hz()).ceil() as isize;
        let hi = (far / self.bin_hz()).ceil() as isize;
        [
            (c - hi..=c - lo).map(|i| self.at(spec, i)).collect(),
            (c + lo..=c + hi).map(|i| self.at(spec, i)).collect(),
        ]
    }

    /// Mean power per bin of the neighbourhood (from its median, robust to a few lines).
    fn hood(&self, spec: &[f64], offset: f64) -> f64 {
        let [mut l, r] = self.ring(spec, offset, HOOD_NEAR_HZ, HOOD_FAR_HZ);
        l.extend(r);
        if l.is_empty() {
            return 1e-300;
        }
        let mid = l.len() / 2;
        let med = *l.select_nth_unstable_by(mid, |x, y| x.total_cmp(y)).1;
        (med / std::f64::consts::LN_2).max(1e-300)
    }

    /// Quick prominence of a line at `offset` against the plain spectrum.
    fn quick_prominence(&self, offset: f64) -> f64 {
        let a = dtft(&self.z, offset, self.rate);
        a.norm_sqr() / self.hood(&self.power, offset)
    }

    /// Full measurement of the line at `offset`: the steady sinusoid there is estimated and
    /// subtracted (with the sidebands its weighting gives it), and what remains around it is
    /// its background.
    fn line(&self, offset: f64, planner: &mut RealFftPlanner<f64>) -> Line {
        let a = dtft(&self.z, offset, self.rate);
        let amp = a / self.sum_g;
        let w = 2.0 * PI * offset / self.rate;
        let residual: Vec<Complex<f64>> = self
            .z
            .iter()
            .zip(&self.g)
            .enumerate()
            .map(|(m, (&v, &g))| v - amp * g * phasor(w, m))
            .collect();
        let rp = complex_power(&residual, self.nfft, planner);
        let line = a.norm_sqr();
        let prominence_db = pow_to_db(line / self.hood(&rp, offset));
        // the second strongest local maximum 0.3-4 Hz away
        let c = self.bin(offset);
        let lo = (RIVAL_NEAR_HZ / self.bin_hz()).ceil() as isize;
        let hi = (HOOD_FAR_HZ / self.bin_hz()).ceil() as isize;
        let mut peaks: Vec<f64> = Vec::new();
        for range in [(c - hi)..=(c - lo), (c + lo)..=(c + hi)] {
            for i in range {
                let v = self.at(&rp, i);
                if v >= self.at(&rp, i - 1) && v > self.at(&rp, i + 1) {
                    peaks.push(v);
                }
            }
        }
        peaks.sort_by(|x, y| y.total_cmp(x));
        let rival = peaks.get(1).copied().unwrap_or(1e-300).max(1e-300);
        Line {
            amp: amp / self.gain.max(1e-9),
            prominence_db,
            dominance_db: pow_to_db(line / rival),
        }
    }
}

/// Centred moving average of even length `len` (the centre sits half a block late).
fn moving_average_even(row: &mut [Complex<f64>], len: usize, tmp: &mut Vec<Complex<f64>>) {
    let n = row.len();
    if len <= 1 || n <= 1 {
        return;
    }
    tmp.clear();
    tmp.push(Complex::new(0.0, 0.0));
    let mut s = Complex::new(0.0, 0.0);
    for &v in row.iter() {
        s += v;
        tmp.push(s);
    }
    let r = len / 2;
    for (i, v) in row.iter_mut().enumerate() {
        let lo = i.saturating_sub(r);
        let hi = (i + len - r).min(n);
        *v = (tmp[hi] - tmp[lo]) / (hi - lo) as f64;
    }
}

/// Hum measurement on a track: decimates it once, then measures the harmonics of 50 and 60 Hz.
///
/// # Method
///
/// The channel mean is decimated to about 2.4 kHz (triangular window). Each harmonic's
/// neighbourhood is demodulated to baseband and time-weighted (see `Band`), and its spectrum
/// taken over the whole track (a few hundredths of a Hz per bin). A steady hum concentrates
/// all its energy at one frequency, while music, which changes, spreads; the weighting lets
/// the quiet passages, where hum is most exposed, count most. For each candidate fundamental
/// (the strongest line within ±1 % of each of the first harmonics, divided by its order) every
/// harmonic is measured exactly at its multiple of that fundamental: its prominence over the
/// neighbourhood and its dominance over other lines nearby. Music rarely puts lines at exact
/// multiples of one frequency within ±1 % of 50 or 60 Hz, and a line that is there only while
/// a note plays loses its weight.
pub struct HumAnalyser {
    y: Vec<f32>,
    rate: f64,
    d: usize,
    sample_rate: u32,
}

impl HumAnalyser {
    pub fn new(channels: &[&[f32]], sample_rate: u32) -> Self {
        let sample_rate = sample_rate.max(1);
        let d = scan_decimation(sample_rate);
        let rate = f64::from(sample_rate) / d as f64;
        let mut y = crate::decimate::decimate_mean(channels, d);
        if y.len() > SCAN_MAX_LEN {
            let start = (y.len() - SCAN_MAX_LEN) / 2;
            y.drain(..start);
            y.truncate(SCAN_MAX_LEN);
        }
        HumAnalyser {
            y,
            rate,
            d,
            sample_rate,
        }
    }

    fn block(&self, mains: f64) -> usize {
        ((self.rate / mains).round() as usize).max(1)
    }

    /// Highest harmonic of `f0` that is measured.
    pub fn max_harmonic(&self, f0: f64) -> u32 {
        let top = SCAN_MAX_HZ.min(0.38 * self.rate);
        ((top / f0.max(1.0)).floor() as u32).min(MAX_HARMONICS as u32)
    }

    fn band(&self, mains: f64, k: u32, planner: &mut RealFftPlanner<f64>) -> Option<Band> {
        let block = self.block(mains);
        let mut band = Band::new(&self.y, self.rate, block, k, planner)?;
        // amplitude response at the centre: two box averages of one period (the first at the
        // decimated rate, the second at the block rate is exact at the centre) and decimation
        band.gain = box_response(0.0, block, self.rate)
            * decimation_power(band.centre_hz, self.d, self.sample_rate).sqrt();
        Some(band)
    }

    fn peak_of(&self, band: &Band, k: u32, f0: f64, planner: &mut RealFftPlanner<f64>) -> HumPeak {
        let f = k as f64 * f0;
        let line = band.line(f - band.centre_hz, planner);
        HumPeak {
            harmonic: k,
            freq_hz: f,
            // baseband amplitude is half the real amplitude: mean square = 2 |amp|²
            level_dbfs: pow_to_db(2.0 * line.amp.norm_sqr()),
            prominence_db: line.prominence_db,
            dominance_db: line.dominance_db,
        }
    }

    /// Harmonics 1 to [`SCAN_HARMONICS`] of the best candidate fundamental near `mains`.
    pub fn candidate(&self, mains: f64) -> HumCandidate {
        let mut planner = RealFftPlanner::<f64>::new();
        let kmax = SCAN_HARMONICS.min(self.max_harmonic(mains * (1.0 + MAINS_TOLERANCE)));
        let bands: Vec<(u32, Band)> = (1..=kmax)
            .filter_map(|k| self.band(mains, k, &mut planner).map(|b| (k, b)))
            .collect();
        let empty = HumCandidate {
            mains_hz: mains,
            fundamental_hz: mains,
            peaks: Vec::new(),
            wander: None,
        };
        if bands.is_empty() {
            return empty;
        }
        // candidate fundamentals: the strongest line within the tolerance at each harmonic
        let mut f0s: Vec<f64> = bands
            .iter()
            .map(|(k, b)| {
                let kf = *k as f64;
                let lo = kf * mains * (1.0 - MAINS_TOLERANCE) - b.centre_hz;
                let hi = kf * mains * (1.0 + MAINS_TOLERANCE) - b.centre_hz;
                (b.centre_hz + b.strongest(lo, hi)) / kf
            })
            .collect();
        f0s.push(mains);
        let score = |f0: f64| -> f64 {
            bands
                .iter()
                .map(|(k, b)| {
                    let p = pow_to_db(b.quick_prominence(*k as f64 * f0 - b.centre_hz));
                    p.clamp(0.0, 40.0)
                })
                .sum()
        };
        let mut best = (mains, f64::NEG_INFINITY);
        for &f0 in &f0s {
            let s = score(f0);
            if s > best.1 {
                best = (f0, s);
            }
        }
        let f0 = best.0;
        HumCandidate {
            mains_hz: mains,
            fundamental_hz: f0,
            peaks: bands
                .iter()
                .map(|(k, b)| self.peak_of(b, *k, f0, &mut planner))
                .collect(),
            wander: None,
        }
    }

    /// Refines the fundamental of a detected hum (so that the high harmonics sit exactly in
    /// the remover's notches) and measures harmonics 1 to `up_to`.
    pub fn harmonics(&self, mains: f64, f0: f64, up_to: u32) -> HumCandidate {
        let mut planner = RealFftPlanner::<f64>::new();
        let kmax = up_to.min(self.max_harmonic(f0));
        let bands: Vec<(u32, Band)> = (1..=kmax)
            .filter_map(|k| self.band(mains, k, &mut planner).map(|b| (k, b)))
            .collect();
        // the fundamental that maximises the coherent power of the prominent harmonics, each
        // weighted by its signal-to-background ratio; golden-section search around the guess
        let hoods: Vec<f64> = bands
            .iter()
            .map(|(k, b)| b.hood(&b.power, *k as f64 * f0 - b.centre_hz))
            .collect();
        let objective = |f: f64| -> f64 {
            bands
                .iter()
                .zip(&hoods)
                .map(|((k, b), h)| {
                    let a = dtft(&b.z, *k as f64 * f - b.centre_hz, b.rate).norm_sqr() / h;
                    if a > 10.0 {
                        a
                    } else {
                        0.0
                    }
                })
                .sum()
        };
        let span = bands.first().map_or(0.0, |(_, b)| 2.0 * b.bin_hz());
        let (mut lo, mut hi) = (f0 - span, f0 + span);
        let phi = 0.5 * (5f64.sqrt() - 1.0);
        let mut x1 = hi - phi * (hi - lo);
        let mut x2 = lo + phi * (hi - lo);
        let (mut f1, mut f2) = (objective(x1), objective(x2));
        for _ in 0..30 {
            if f1 >= f2 {
                hi = x2;
                x2 = x1;
                f2 = f1;
                x1 = hi - phi * (hi - lo);
                f1 = objective(x1);
            } else {
                lo = x1;
                x1 = x2;
                f1 = f2;
                x2 = lo + phi * (hi - lo);
                f2 = objective(x2);
            }
        }
        let refined = 0.5 * (lo + hi);
        let f0 = if objective(refined) >= objective(f0) {
            refined
        } else {
            f0
        };
        let peaks: Vec<HumPeak> = bands
            .iter()
            .map(|(k, b)| self.peak_of(b, *k, f0, &mut planner))
            .collect();
        // wander: quarter-track estimates of the clearly present harmonics against the whole
        let mut wanders: Vec<f64> = Vec::new();
        for ((k, b), p) in bands.iter().zip(&peaks) {
            if p.prominence_db < WANDER_MIN_PROMINENCE_DB || p.dominance_db < 3.0 {
                continue;
            }
            let w = -2.0 * PI * (*k as f64 * f0 - b.centre_hz) / b.rate;
            let row: Vec<Complex<f64>> = b
                .base
                .iter()
                .enumerate()
                .map(|(m, &v)| v * phasor(w, m))
                .collect();
            wanders.extend(quarter_deviation(&row));
        }
        // the median harmonic: a drifting mains frequency moves them all
        wanders.sort_by(|a, b| a.total_cmp(b));
        let wander = wanders.get(wanders.len() / 2).copied();
        HumCandidate {
            mains_hz: mains,
            fundamental_hz: f0,
            peaks,
            wander,
        }
    }

    /// Bin spacing of the analysis at the fundamental, Hz.
    pub fn bin_hz(&self) -> f64 {
        let blocks = self.y.len() / self.block(50.0);
        if blocks < 2 {
            return 0.0;
        }
        (self.rate / self.block(50.0) as f64) / (2 * (blocks - 1).next_power_of_two()) as f64
    }
}

/// Measures harmonics 1 to [`SCAN_HARMONICS`] of 50 and 60 Hz hum in a track (channels are
/// averaged first). See [`HumAnalyser`].
pub fn scan(channels: &[&[f32]], sample_rate: u32) -> HumScan {
    let an = HumAnalyser::new(channels, sample_rate);
    HumScan {
        candidates: vec![an.candidate(50.0), an.candidate(60.0)],
        bin_hz: an.bin_hz(),
    }
}
