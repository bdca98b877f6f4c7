//! 4x polyphase interpolation for true-peak detection.
//!
//! Meters disagree on true peak by a few hundredths of a dB on ordinary music and by up to
//! half a dB on material with energy near Nyquist (noise, square waves, a limiter's output),
//! because each uses its own interpolation filter. The detector here reads the larger of two
//! common designs, so a ceiling it holds is held on both kinds of meter:
//!
//! * [`Design::KaiserScipy`]: Kaiser-windowed sinc (beta 5, 10 input samples either side,
//!   cut-off at the input's Nyquist, DC gain normalised), the design of
//!   `scipy.signal.resample_poly(x, 4, 1)` that the independent meter `measure.py` uses;
//! * [`Design::HannShort`]: a 49-tap Hann-windowed sinc at the oversampled rate (6 input
//!   samples either side), the kind of short filter BS.1770 Annex 2 meters (libebur128, the
//!   ebur128 crate) use. It passes more of the band just below Nyquist.
//!
//! The envelope also includes |x[n]| itself, so a true peak is never below the sample peak.

/// Oversampling factor used for true-peak detection.
pub const FACTOR: usize = 4;
/// Largest half-length of the designs, in input samples.
pub const MAX_HALF_LEN: usize = 10;

/// An interpolation filter design.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    KaiserScipy,
    HannShort,
}

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The filter at the oversampled rate, centred, and its half-length in input samples.
fn design_taps(design: Design) -> (Vec<f64>, usize) {
    use std::f64::consts::PI;
    let sinc = |t: f64| {
        if t == 0.0 {
            1.0
        } else {
            (PI * t).sin() / (PI * t)
        }
    };
    match design {
        Design::KaiserScipy => {
            let half = 10;
            let len = 2 * half * FACTOR + 1; // 81
            let centre = (len - 1) as f64 / 2.0;
            let cutoff = 1.0 / FACTOR as f64; // relative to the oversampled Nyquist
            let beta = 5.0;
            let i0b = bessel_i0(beta);
            let mut h: Vec<f64> = (0..len)
                .map(|m| {
                    let t = m as f64 - centre;
                    let r = t / centre;
                    let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
                    cutoff * sinc(cutoff * t) * w
                })
                .collect();
            let sum: f64 = h.iter().sum();
            h.iter_mut().for_each(|v| *v *= FACTOR as f64 / sum);
            (h, half)
        }
        Design::HannShort => {
            let half = 6;
            let len = 2 * half * FACTOR + 1; // 49
            let centre = (len - 1) as f64 / 2.0;
            let h = (0..len)
                .map(|m| {
                    let t = m as f64 - centre;
                    let w = 0.5 * (1.0 - (2.0 * PI * m as f64 / (len - 1) as f64).cos());
                    w * sinc(t / FACTOR as f64)
                })
                .collect();
            (h, half)
        }
    }
}

/// Polyphase coefficients: `phases[p][k]` multiplies `x[n + half_len - k]` to give the
/// interpolated value at time `n + p / FACTOR`, for p = 0..FACTOR-1.
#[derive(Clone, Debug)]
pub struct Interpolator {
    half_len: usize,
    phases: Vec<Vec<f32>>,
}

impl Interpolator {
    pub fn new(design: Design) -> Self {
        let (h, half_len) = design_taps(design);
        let taps = 2 * half_len;
        let phases = (0..FACTOR)
            .map(|p| {
                (0..taps)
                    .map(|k| h.get(p + FACTOR * k).copied().unwrap_or(0.0) as f32)
                    .collect()
            })
            .collect();
        Interpolator { half_len, phases }
    }

    /// The interpolated sample at fractional time `n + p/FACTOR` (p in 0..FACTOR) of `x`,
    /// treating samples outside `x` as zero. Slow reference path, for tests.
    pub fn interpolate_at(&self, x: &[f32], n: usize, p: usize) -> f32 {
        let mut acc = 0.0f64;
        for (k, &c) in self.phases[p].iter().enumerate() {
            let idx = n as isize + self.half_len as isize - k as isize;
            if idx >= 0 && (idx as usize) < x.len() {
                acc += c as f64 * x[idx as usize] as f64;
            }
        }
        acc as f32
    }

    /// For every sample `n` of `x`, `env[n] = max(env[n], |x[n]|, |x(n + p/4)|)` for p = 0..3:
    /// the true-peak envelope on the interval after sample n. Samples outside `x` are zero.
    /// Works in blocks with a caller-provided scratch buffer, so it allocates nothing.
    pub fn peak_envelope_max(&self, x: &[f32], env: &mut [f32], scratch: &mut Scratch) {
        assert_eq!(x.len(), env.len());
        let n = x.len();
        let taps = 2 * self.half_len;
        let block = scratch.acc.len();
        let mut start = 0;
        while start < n {
            let len = block.min(n - start);
            // win[i] = x[start + i - half_len + 1]; output start + i needs
            // x[start + i + half_len - k] = win[i + taps - 1 - k]
            let win = &mut scratch.window[..len + taps];
            for (i, w) in win.iter_mut().enumerate() {
                let idx = start as isize + i as isize - self.half_len as isize + 1;
                *w = if idx >= 0 && (idx as usize) < n {
                    x[idx as usize]
                } else {
                    0.0
                };
            }
            for (e, &v) in env[start..start + len]
                .iter_mut()
                .zip(&x[start..start + len])
            {
                *e = e.max(v.abs());
            }
            for phase in &self.phases {
                let acc = &mut scratch.acc[..len];
                acc.iter_mut().for_each(|a| *a = 0.0);
                for (k, &c) in phase.iter().enumerate() {
                    let off = taps - 1 - k;
                    for (a, &s) in acc.iter_mut().zip(&win[off..off + len]) {
                        *a += c * s;
                    }
                }
                for (e, &a) in env[start..start + len].iter_mut().zip(acc.iter()) {
                    *e = e.max(a.abs());
                }
            }
            start += len;
        }
    }
}

/// The true-peak detector: the larger reading of both designs.
#[derive(Clone, Debug)]
pub struct TruePeakDetector {
    designs: [Interpolator; 2],
}

impl Default for TruePeakDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakDetector {
    pub fn new() -> Self {
        TruePeakDetector {
            designs: [
                Interpolator::new(Design::KaiserScipy),
                Interpolator::new(Design::HannShort),
            ],
        }
    }

    /// `env[n] = max(env[n], true-peak of x on [n, n+1))` by both designs.
    pub fn peak_envelope_max(&self, x: &[f32], env: &mut [f32], scratch: &mut Scratch) {
        for d in &self.designs {
            d.peak_envelope_max(x, env, scratch);
        }
    }
}

/// Work buffers for [`Interpolator::peak_envelope_max`].
#[derive(Clone, Debug)]
pub struct Scratch {
    acc: Vec<f32>,
    window: Vec<f32>,
}

impl Scratch {
    pub fn new(block: usize) -> Self {
        let block = block.max(1);
        Scratch {
            acc: vec![0.0; block],
            window: vec![0.0; block + 2 * MAX_HALF_LEN],
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new(2048)
    }
}

/// True peak (linear) of a set of channels: the largest |value| of the 4x-interpolated signal.
pub fn true_peak(channels: &[&[f32]]) -> f32 {
    let interp = TruePeakDetector::new();
    let mut scratch = Scratch::default();
    let mut best = 0.0f32;
    for ch in channels {
        let mut env = vec![0.0f32; ch.len()];
        interp.peak_envelope_max(ch, &mut env, &mut scratch);
        best = env.iter().fold(best, |m, &v| m.max(v));
    }
    best
}

/// Linked true-peak envelope of several channels: `env[n]` is the largest interpolated |value|
/// of any channel in [n, n+1).
pub fn linked_peak_envelope(channels: &[&[f32]]) -> Vec<f32> {
    let n = channels.first().map_or(0, |c| c.len());
    let interp = TruePeakDetector::new();
    let mut scratch = Scratch::default();
    let mut env = vec![0.0f32; n];
    for ch in channels {
        interp.peak_envelope_max(ch, &mut env, &mut scratch);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_zero_is_identity_and_dc_gain_is_one() {
        let it = Interpolator::new(Design::KaiserScipy);
        // phase 0 is (nearly) a unit impulse at k = half_len
        for k in 0..2 * it.half_len {
            let want = if k == it.half_len { 1.0 } else { 0.0 };
            assert!((it.phases[0][k] - want).abs() < 1e-3, "k={k}");
        }
        for p in 1..FACTOR {
            let s: f32 = it.phases[p].iter().sum();
            assert!((s - 1.0).abs() < 2e-3, "phase {p} dc gain {s}");
        }
    }

    #[test]
    fn fs4_sine_at_45_degrees_reads_its_true_peak() {
        // samples of sin(pi/2 n + pi/4) are +-0.7071 while the continuous peak is 1.0
        let x: Vec<f32> = (0..4000)
            .map(|n| {
                (std::f64::consts::FRAC_PI_2 * n as f64 + std::f64::consts::FRAC_PI_4).sin() as f32
            })
            .collect();
        let sp = x.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        let it = Interpolator::new(Design::KaiserScipy);
        let mut env = vec![0.0; 3800];
        it.peak_envelope_max(&x[100..3900], &mut env, &mut Scratch::default());
        let tp = env.iter().fold(0.0f32, |m, &v| m.max(v));
        assert!((sp - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        // scipy.signal.resample_poly(x, 4, 1) reads 1.01336 on the same signal
        assert!((tp - 1.013357).abs() < 1e-4, "tp {tp}");
    }

    #[test]
    fn block_path_matches_reference_path() {
        let mut r = crate::rng::Rng::new(3);
        let x: Vec<f32> = (0..5000).map(|_| r.bipolar() as f32).collect();
        let it = Interpolator::new(Design::HannShort);
        let mut env = vec![0.0f32; x.len()];
        let mut s = Scratch::new(777);
        it.peak_envelope_max(&x, &mut env, &mut s);
        for n in [0usize, 1, 5, 776, 777, 778, 2500, 4990, 4999] {
            let mut want = x[n].abs();
            for p in 0..FACTOR {
                want = want.max(it.interpolate_at(&x, n, p).abs());
            }
            assert!((env[n] - want).abs() < 1e-5, "n={n} {} {}", env[n], want);
        }
    }
}
