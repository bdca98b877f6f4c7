//! Linkwitz-Riley 4th-order (LR4) two-band crossover.
//!
//! Each output is a cascade of two identical 2nd-order Butterworth sections (Q = 1/√2):
//! low = LP², high = HP². Both are −6.02 dB at the crossover frequency, fall at 24 dB/octave,
//! are in phase with each other at every frequency, and sum to an all-pass:
//! LP² + HP² = (s² − √2 s + 1) / (s² + √2 s + 1). The bilinear transform preserves that identity
//! exactly because all four sections share the same pre-warped frequency.
//!
//! The crossover frequency is clamped into `[1e-5 · fs, 0.45 · fs]` so both bands are always
//! real filters (otherwise the low-pass edge rule of [`crate::biquad`] would turn the low band
//! into a pass-through and break the all-pass sum).

use crate::biquad::{Biquad, Coeffs, FilterKind, BUTTERWORTH_Q};

/// Highest crossover frequency as a fraction of the sample rate.
pub const MAX_CROSSOVER_RATIO: f64 = 0.45;

#[derive(Clone, Debug)]
pub struct Lr4Crossover {
    freq_hz: f64,
    sample_rate: f64,
    low: [Biquad; 2],
    high: [Biquad; 2],
}

impl Lr4Crossover {
    /// Panics if `sample_rate` is not finite and positive or `freq_hz` is not finite.
    pub fn new(freq_hz: f64, sample_rate: f64) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive, got {sample_rate}"
        );
        assert!(freq_hz.is_finite(), "crossover frequency must be finite");
        let f = freq_hz.clamp(
            crate::biquad::MIN_FREQ_RATIO * sample_rate,
            MAX_CROSSOVER_RATIO * sample_rate,
        );
        let lp = Coeffs::design(
            &FilterKind::LowPass {
                freq_hz: f,
                q: BUTTERWORTH_Q,
            },
            sample_rate,
        );
        let hp = Coeffs::design(
            &FilterKind::HighPass {
                freq_hz: f,
                q: BUTTERWORTH_Q,
            },
            sample_rate,
        );
        Lr4Crossover {
            freq_hz: f,
            sample_rate,
            low: [Biquad::new(lp), Biquad::new(lp)],
            high: [Biquad::new(hp), Biquad::new(hp)],
        }
    }

    /// The crossover frequency actually used (after clamping).
    pub fn freq_hz(&self) -> f64 {
        self.freq_hz
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    pub fn reset(&mut self) {
        self.low.iter_mut().for_each(Biquad::reset);
        self.high.iter_mut().for_each(Biquad::reset);
    }

    /// The high band alone (the low band's sections are not run), in `f64`.
    #[inline]
    pub fn high_only_f64(&mut self, x: f64) -> f64 {
        let h = self.high[0].process_f64(x);
        self.high[1].process_f64(h)
    }

    /// The all-pass that low + high add up to, as one biquad: the same phase as the two bands
    /// together at a quarter of the cost. Use it on a signal that must stay in phase with a
    /// band-split one (e.g. the mid signal when only the side is high-passed).
    /// Mid/side processing of a stereo pair: the mid through `mid_ap` (normally
    /// [`Lr4Crossover::matching_allpass`]), the side through this crossover's high band, times
    /// `width`. Per frame exactly `ap.process_f64(m)` and `high_only_f64(s) * width`, summed
    /// back to left and right (see [`crate::biquad::mid_side_allpass_highpass`]).
    pub fn mid_side_block(
        &mut self,
        mid_ap: &mut Biquad,
        width: f64,
        l: &mut [f32],
        r: &mut [f32],
    ) {
        crate::biquad::mid_side_allpass_highpass(mid_ap, &mut self.high, width, l, r);
    }

    pub fn matching_allpass(&self) -> Biquad {
        let w0 = 2.0 * std::f64::consts::PI * self.freq_hz / self.sample_rate;
        let alpha = w0.sin() / (2.0 * BUTTERWORTH_Q);
        let a0 = 1.0 + alpha;
        Biquad::new(Coeffs {
            b0: (1.0 - alpha) / a0,
            b1: -2.0 * w0.cos() / a0,
            b2: 1.0,
            a1: -2.0 * w0.cos() / a0,
            a2: (1.0 - alpha) / a0,
        })
    }

    /// Splits one sample in full `f64` precision into (low, high).
    #[inline]
    pub fn process_f64(&mut self, x: f64) -> (f64, f64) {
        let l = self.low[0].process_f64(x);
        let l = self.low[1].process_f64(l);
        let h = self.high[0].process_f64(x);
        let h = self.high[1].process_f64(h);
        (l, h)
    }

    /// Splits one sample into (low, high).
    #[inline]
    pub fn process(&mut self, x: f32) -> (f32, f32) {
        let (l, h) = self.process_f64(f64::from(x));
        (l as f32, h as f32)
    }

    /// Splits a block. Panics unless the three slices have the same length.
    pub fn process_block(&mut self, input: &[f32], low: &mut [f32], high: &mut [f32]) {
        assert!(
            input.len() == low.len() && input.len() == high.len(),
            "crossover buffers must have equal lengths"
        );
        for ((x, l), h) in input.iter().zip(low.iter_mut()).zip(high.iter_mut()) {
            (*l, *h) = self.process(*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_side_block_gives_the_per_sample_bits() {
        let mut r = crate::rng::Rng::new(12);
        // noise, then silence long enough for the states to decay past the denormal floor,
        // then noise again
        let n = 40_000;
        let burst = |i: usize| (5_000..30_000).contains(&i);
        let l0: Vec<f32> = (0..n)
            .map(|i| {
                if burst(i) {
                    0.0
                } else {
                    (0.3 * r.gaussian()) as f32
                }
            })
            .collect();
        let r0: Vec<f32> = (0..n)
            .map(|i| {
                if burst(i) {
                    0.0
                } else {
                    (0.2 * r.gaussian()) as f32
                }
            })
            .collect();
        for width in [1.0, 1.3] {
            let mut x = Lr4Crossover::new(120.0, 44_100.0);
            let mut ap = x.matching_allpass();
            let (mut wl, mut wr) = (l0.clone(), r0.clone());
            for (a, b) in wl.iter_mut().zip(wr.iter_mut()) {
                let m = 0.5 * (*a as f64 + *b as f64);
                let s = 0.5 * (*a as f64 - *b as f64);
                let (m2, s2) = (ap.process_f64(m), x.high_only_f64(s) * width);
                *a = (m2 + s2) as f32;
                *b = (m2 - s2) as f32;
            }
            // blocks of every awkward size: one frame, two, odd
            for block in [3_333, 1, 2, 7] {
                let mut y = Lr4Crossover::new(120.0, 44_100.0);
                let mut ap2 = y.matching_allpass();
                let (mut gl, mut gr) = (l0.clone(), r0.clone());
                for (a, b) in gl.chunks_mut(block).zip(gr.chunks_mut(block)) {
                    y.mid_side_block(&mut ap2, width, a, b);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&gl), bits(&wl), "block {block}");
                assert_eq!(bits(&gr), bits(&wr), "block {block}");
            }
        }
    }

    #[test]
    fn matching_allpass_equals_low_plus_high() {
        let mut r = crate::rng::Rng::new(4);
        for &(f, sr) in &[
            (120.0, 44_100.0),
            (80.0, 48_000.0),
            (300.0, 96_000.0),
            (150.0, 8_000.0),
        ] {
            let mut x = Lr4Crossover::new(f, sr);
            let mut ap = x.matching_allpass();
            for _ in 0..20_000 {
                let v = r.bipolar();
                let (l, h) = x.process_f64(v);
                let a = ap.process_f64(v);
                assert!((l + h - a).abs() < 1e-9, "{f} Hz @ {sr}: {} vs {a}", l + h);
            }
        }
    }
}
