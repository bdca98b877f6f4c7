//! TPDF dither and quantisation from `f32` to an integer word length.
//!
//! Reducing word length (e.g. the engine's `f32` to a 16-bit file) by plain rounding turns the
//! rounding error into distortion that follows the signal: quiet fades and reverb tails become
//! gritty harmonics, and anything below half an LSB vanishes. Adding triangular (TPDF) noise of
//! ±1 LSB peak before rounding makes the error a signal-independent white noise of constant power
//! (1/4 LSB² in total: 1/6 from the dither, 1/12 from the rounding), so low-level detail survives
//! as signal-plus-hiss instead of being chopped off.
//!
//! [`TpdfDither`] is allocation-free and deterministic: its noise comes from
//! [`crate::rng::Rng`], so the same seed gives bit-identical output on every run and machine.

use crate::rng::Rng;

/// A quantiser from `f32` (full scale ±1.0) to a signed integer of `bits` bits, with optional
/// TPDF dither. Keep one per channel so each channel gets independent noise.
#[derive(Clone, Debug)]
pub struct TpdfDither {
    rng: Rng,
    dither: bool,
    /// 2^(bits-1): the value of full scale in LSBs.
    scale: f64,
    min: i32,
    max: i32,
    clipped: usize,
}

/// 2^-32, to turn a 32-bit random integer into a uniform value in [0, 1).
const U32_TO_UNIT: f64 = 1.0 / 4_294_967_296.0;

impl TpdfDither {
    /// A dithering quantiser to `bits` bits (2..=32), noise seeded by `seed`.
    pub fn new(bits: u32, seed: u64) -> Self {
        assert!(
            (2..=32).contains(&bits),
            "word length must be 2 to 32 bits, got {bits}"
        );
        let scale = (1u64 << (bits - 1)) as f64;
        TpdfDither {
            rng: Rng::new(seed),
            dither: true,
            scale,
            min: (-scale) as i32,
            max: (scale - 1.0) as i32,
            clipped: 0,
        }
    }

    /// A quantiser to `bits` bits that only rounds (no dither). For when the caller asks for it
    /// explicitly, or the source is already at this word length.
    pub fn undithered(bits: u32) -> Self {
        let mut q = Self::new(bits, 0);
        q.dither = false;
        q
    }

    /// Whether this quantiser adds dither noise.
    pub fn is_dithered(&self) -> bool {
        self.dither
    }

    /// One TPDF noise value in LSBs: the difference of two independent uniform values in [0, 1),
    /// i.e. triangular on (-1, 1), mean 0, variance 1/6.
    #[inline]
    pub fn noise(&mut self) -> f64 {
        // One 64-bit draw gives both 32-bit uniforms (xoshiro256** has good low bits).
        tpdf(self.rng.next_u64())
    }

    /// Quantise one sample. Values are scaled so ±1.0 is full scale, dithered (if enabled),
    /// rounded to the nearest integer and clamped to the integer range. NaN becomes 0.
    ///
    /// A sample counts as clipped when the input itself is beyond full scale (|x| > 1.0); a value
    /// pushed one LSB past the top code by the dither, or exactly +1.0 (which has no code in
    /// two's complement), is clamped silently.
    #[inline]
    pub fn quantize(&mut self, x: f32) -> i32 {
        let x = x as f64;
        self.clipped += usize::from(x.abs() > 1.0);
        let mut v = x * self.scale;
        if self.dither {
            v += self.noise();
        }
        round_clamp(v, self.min, self.max)
    }

    /// [`TpdfDither::quantize`] of every sample of `src` into `out` (the same codes, in one
    /// tight loop: the generator's state stays in registers).
    pub fn quantize_slice(&mut self, src: &[f32], out: &mut [i32]) {
        assert_eq!(src.len(), out.len(), "quantize_slice: lengths differ");
        let (scale, min, max) = (self.scale, self.min, self.max);
        let mut clipped = 0usize;
        if self.dither {
            let mut rng = self.rng.clone();
            for (o, &x) in out.iter_mut().zip(src) {
                let x = f64::from(x);
                clipped += usize::from(x.abs() > 1.0);
                *o = round_clamp(x * scale + tpdf(rng.next_u64()), min, max);
            }
            self.rng = rng;
        } else {
            for (o, &x) in out.iter_mut().zip(src) {
                let x = f64::from(x);
                clipped += usize::from(x.abs() > 1.0);
                *o = round_clamp(x * scale, min, max);
            }
        }
        self.clipped += clipped;
    }

    /// Number of samples so far whose input was beyond full scale.
    pub fn clipped(&self) -> usize {
        self.clipped
    }

    /// Largest code of this word length (2^(bits-1) - 1).
    pub fn max_code(&self) -> i32 {
        self.max
    }
}

/// TPDF noise in LSBs from one 64-bit draw: the difference of its two 32-bit halves as
/// uniform values in [0, 1) (xoshiro256** has good low bits). The halves go through `u32`,
/// whose conversion to `f64` is one instruction (a `u64`'s is several).
#[inline]
fn tpdf(r: u64) -> f64 {
    let a = f64::from((r >> 32) as u32) * U32_TO_UNIT;
    let b = f64::from(r as u32) * U32_TO_UNIT;
    a - b
}

/// Round half away from zero, as f64::round does, but inline (round() is a library call on
/// baseline x86-64), and clamp to `min..=max`; NaN becomes 0.
#[inline]
fn round_clamp(v: f64, min: i32, max: i32) -> i32 {
    // Held to one past the codes first (the last clamp brings it back), so the conversion
    // below is always in range and needs none of `as`'s saturation checks.
    let v = if v.is_nan() {
        0.0
    } else {
        v.clamp(f64::from(min) - 1.0, f64::from(max) + 1.0)
    };
    // SAFETY: `v` is finite and within `i32` range plus one, far inside `i64`.
    let t: i64 = unsafe { v.to_int_unchecked() };
    let frac = v - t as f64;
    // branch-free: with dither the fraction is random, and a branch would mispredict half of
    // the time
    let r = t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5);
    r.clamp(i64::from(min), i64::from(max)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        (m, var)
    }

    #[test]
    fn dither_noise_is_triangular_with_theoretical_moments() {
        let mut d = TpdfDither::new(16, 1);
        let n = 400_000;
        let noise: Vec<f64> = (0..n).map(|_| d.noise()).collect();
        let (m, var) = mean_var(&noise);
        // Difference of two U[0,1): mean 0, variance 2 * 1/12 = 1/6 LSB².
        assert!(m.abs() < 0.005, "mean {m}");
        assert!((var - 1.0 / 6.0).abs() < 0.003, "variance {var}");
        assert!(noise.iter().all(|x| x.abs() < 1.0));
        // Triangular density: P(|x| < 0.5) = 1 - 0.5^2 = 0.75 (uniform on (-1,1) would give 0.5).
        let inner = noise.iter().filter(|x| x.abs() < 0.5).count() as f64 / n as f64;
        assert!((inner - 0.75).abs() < 0.005, "P(|x|<0.5) = {inner}");
        // Histogram of 10 bins over (-1, 1) follows 1 - |x|.
        let mut hist = [0usize; 10];
        for x in &noise {
            hist[(((x + 1.0) / 0.2) as usize).min(9)] += 1;
        }
        for (i, &h) in hist.iter().enumerate() {
            let lo = -1.0 + 0.2 * i as f64;
            let hi = lo + 0.2;
            // Integral of (1 - |x|) over [lo, hi].
            let cdf = |x: f64| {
                if x < 0.0 {
                    0.5 * (1.0 + x) * (1.0 + x)
                } else {
                    1.0 - 0.5 * (1.0 - x) * (1.0 - x)
                }
            };
            let expect = (cdf(hi) - cdf(lo)) * n as f64;
            assert!(
                (h as f64 - expect).abs() < 0.03 * expect + 200.0,
                "bin {i}: {h} vs {expect}"
            );
        }
    }

    #[test]
    fn total_error_is_quarter_lsb_squared_and_independent_of_signal() {
        // Quantisation error with TPDF: dither (1/6) + rounding (1/12) = 1/4 LSB², for any input.
        for &offset in &[0.0, 0.25, 0.5] {
            let mut d = TpdfDither::new(16, 3);
            let lsb = 1.0 / 32768.0;
            let x = (offset * lsb) as f32;
            let err: Vec<f64> = (0..200_000)
                .map(|_| d.quantize(x) as f64 - x as f64 / lsb)
                .collect();
            let (m, var) = mean_var(&err);
            assert!(m.abs() < 0.01, "offset {offset}: mean error {m} LSB");
            let power = var + m * m;
            assert!((power - 0.25).abs() < 0.01, "offset {offset}: {power}");
        }
    }

    fn sine_correlation(q: &[i32], f: f64, fs: f64) -> (f64, f64) {
        // Project onto sin and cos at f: amplitude estimate.
        let (mut s, mut c) = (0.0, 0.0);
        for (n, &v) in q.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * f * n as f64 / fs;
            s += v as f64 * ph.sin();
            c += v as f64 * ph.cos();
        }
        let n = q.len() as f64;
        (2.0 * s / n, 2.0 * c / n)
    }

    #[test]
    fn very_quiet_sine_survives_with_dither_and_vanishes_without() {
        let fs = 48_000.0;
        let f = 1_000.0;
        let amp = 10f64.powf(-100.0 / 20.0); // -100 dBFS: 0.33 LSB at 16 bit
        let amp_lsb = amp * 32768.0;
        let n = 480_000;
        let sig: Vec<f32> = (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * f * i as f64 / fs).sin()) as f32)
            .collect();

        let mut d = TpdfDither::new(16, 11);
        let dith: Vec<i32> = sig.iter().map(|&x| d.quantize(x)).collect();
        let (s, c) = sine_correlation(&dith, f, fs);
        // TPDF dither makes the quantiser linear on average: the sine comes out at its level.
        // The projection's noise std is sqrt(0.25 * 2 / n) ≈ 0.001 LSB.
        assert!((s - amp_lsb).abs() < 0.02, "in-phase {s} vs {amp_lsb}");
        assert!(c.abs() < 0.02, "quadrature {c}");

        let mut p = TpdfDither::undithered(16);
        let plain: Vec<i32> = sig.iter().map(|&x| p.quantize(x)).collect();
        // Below half an LSB, rounding erases the signal entirely.
        assert!(plain.iter().all(|&v| v == 0));
    }

    #[test]
    fn undithered_rounds_and_dithered_stays_within_one_lsb() {
        let mut p = TpdfDither::undithered(16);
        assert_eq!(p.quantize(0.5), 16384);
        assert_eq!(p.quantize(-0.5), -16384);
        assert_eq!(p.quantize(1.4 / 32768.0), 1);
        let mut d = TpdfDither::new(24, 5);
        for i in 0..10_000 {
            let x = (i as f32 / 10_000.0) * 0.9 - 0.45;
            let q = d.quantize(x);
            let exact = x as f64 * 8_388_608.0;
            assert!((q as f64 - exact).abs() <= 1.5, "{x}: {q} vs {exact}");
        }
    }

    #[test]
    fn clamps_and_counts_only_real_overs() {
        let mut d = TpdfDither::new(16, 9);
        assert_eq!(d.quantize(1.5), 32767);
        assert_eq!(d.quantize(-1.5), -32768);
        assert_eq!(d.clipped(), 2);
        // Exactly full scale and dither overshoot are clamped but not counted.
        for _ in 0..1000 {
            assert!(d.quantize(1.0) <= 32767);
            assert!(d.quantize(-1.0) >= -32768);
        }
        assert_eq!(d.clipped(), 2);
        assert_eq!(d.quantize(f32::NAN), 0);
        assert_eq!(d.max_code(), 32767);
        let mut d24 = TpdfDither::undithered(24);
        assert_eq!(d24.quantize(2.0), 8_388_607);
        assert_eq!(d24.quantize(f32::INFINITY), 8_388_607);
        assert_eq!(d24.quantize(f32::NEG_INFINITY), -8_388_608);
    }

    #[test]
    fn same_seed_same_bits_different_seed_different_bits() {
        let sig: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
        let run = |seed| {
            let mut d = TpdfDither::new(16, seed);
            sig.iter().map(|&x| d.quantize(x)).collect::<Vec<i32>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn inline_rounding_matches_f64_round() {
        let mut q = TpdfDither::undithered(24);
        let mut r = crate::rng::Rng::new(5);
        for _ in 0..200_000 {
            let x = (r.bipolar() * 1.2) as f32;
            let v = x as f64 * q.scale;
            let want = (v.round() as i64).clamp(q.min as i64, q.max as i64) as i32;
            assert_eq!(q.quantize(x), want, "{x}");
        }
        for &h in &[0.5f64, 1.5, -0.5, -1.5, 2.4999999999999996] {
            let x = (h / q.scale) as f32;
            let v = x as f64 * q.scale;
            assert_eq!(q.quantize(x), v.round() as i32, "{h}");
        }
    }

    #[test]
    fn quantize_slice_gives_the_same_codes_and_counts_as_quantize() {
        let mut r = crate::rng::Rng::new(11);
        let sig: Vec<f32> = (0..20_000).map(|_| (r.bipolar() * 1.1) as f32).collect();
        for bits in [16, 24] {
            for dithered in [true, false] {
                let make = || {
                    if dithered {
                        TpdfDither::new(bits, 9)
                    } else {
                        TpdfDither::undithered(bits)
                    }
                };
                let mut one = make();
                let want: Vec<i32> = sig.iter().map(|&x| one.quantize(x)).collect();
                let mut many = make();
                let mut got = vec![0; sig.len()];
                // in two calls: the noise stream continues across them
                let (a, b) = sig.split_at(7_001);
                let (ga, gb) = got.split_at_mut(7_001);
                many.quantize_slice(a, ga);
                many.quantize_slice(b, gb);
                assert_eq!(got, want, "{bits} bits, dither {dithered}");
                assert!(one.clipped() > 0);
                assert_eq!(many.clipped(), one.clipped());
            }
        }
    }
}
