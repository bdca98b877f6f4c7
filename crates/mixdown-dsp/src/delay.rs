//! Stereo delay / echo for the mixer's delay bus: 100 % wet, filtered feedback, optional
//! ping-pong.
//!
//! # Signal flow
//!
//! Two delay lines of `time_ms` each (rounded to the nearest sample, at least one sample). What
//! comes out of a line passes through a loop filter F = high-pass(`low_cut_hz`) followed by
//! low-pass(`high_cut_hz`), both 2nd-order Butterworth (12 dB/octave, −3.01 dB at the corner),
//! and that filtered signal is both the output and, times `feedback`, what is fed back:
//!
//! * normal: left in → line A → F → left out, fed back into A; right likewise through line B;
//! * ping-pong: the input, summed to mono as (L + R)/2, enters line A only; A's output goes to
//!   the left and is fed into line B, whose output goes to the right and is fed back into A. The
//!   echoes alternate left, right, left, … starting on the left.
//!
//! So echo n (n = 1, 2, …) arrives at n·D samples, has been through F n times and has gain
//! `feedback`^(n−1): each repeat is 20·log10(`feedback`) dB quieter than the one before, and
//! additionally darker and thinner by the loop filter's response (|F(f)| in dB per repeat).
//! With both filters off the impulse response is exactly `feedback`^(n−1) at n·D and zero
//! elsewhere; the filters spread each echo over their own impulse response (a delay of a
//! fraction of a millisecond for the usual corner frequencies).
//!
//! Mono input counts as dual mono: identical to a stereo input with the same signal in both
//! channels.
//!
//! # Time
//!
//! `time_ms` is a plain time; for tempo-synced echoes use [`note_ms`] (e.g. a dotted eighth at
//! 120 BPM is `note_ms(120.0, 0.75)` = 375 ms). Times are clamped to [one sample,
//! [`MAX_TIME_MS`]].
//!
//! # Sanitising
//!
//! `feedback` is clamped to [0, [`MAX_FEEDBACK`]] (NaN → 0): the loop gain is at most
//! `feedback` at every frequency because the Butterworth filters never exceed 0 dB, so the loop
//! is always stable and every echo decays. `low_cut_hz` ≤ 0 (or NaN) turns the high-pass off;
//! `high_cut_hz` ≤ 0, NaN, or at or above 0.49·fs turns the low-pass off.
//!
//! Processing allocates nothing (lines are sized in [`Delay::new`]); values below 1e-20 are
//! flushed to zero when written into a line, so a decaying loop never reaches subnormal numbers.

use crate::biquad::{Biquad, Coeffs, FilterKind, BUTTERWORTH_Q};

/// Longest delay time.
pub const MAX_TIME_MS: f64 = 5000.0;
/// Largest feedback gain (each repeat at least 0.18 dB quieter than the one before).
pub const MAX_FEEDBACK: f64 = 0.98;
/// [`Delay::tail_samples`] is when the output has fallen this far below its peak.
pub const TAIL_DB: f64 = 90.0;
/// Written line values below this magnitude become 0 (−400 dBFS, far below audibility).
const FLUSH_BELOW: f64 = 1e-20;

/// Milliseconds of `beats` quarter notes at `bpm` beats per minute: 1.0 a quarter note, 0.5 an
/// eighth, 0.75 a dotted eighth, 1/3 a quarter-note triplet's eighth.
pub fn note_ms(bpm: f64, beats: f64) -> f64 {
    60_000.0 / bpm * beats
}

/// Delay settings. In TOML e.g. `{ time_ms = 375.0, feedback = 0.4, ping_pong = true }`;
/// omitted fields take their [`Default`] values, unknown fields are errors.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DelayParams {
    /// Time between echoes (rounded to whole samples).
    pub time_ms: f64,
    /// Linear gain from one echo to the next (0 = a single echo), at most 0.98.
    pub feedback: f64,
    /// High-pass corner inside the loop (each repeat thinner); ≤ 0 = off.
    pub low_cut_hz: f64,
    /// Low-pass corner inside the loop (each repeat darker); ≤ 0 or ≥ 0.49·fs = off.
    pub high_cut_hz: f64,
    /// Alternate the echoes between left and right.
    pub ping_pong: bool,
}

impl Default for DelayParams {
    fn default() -> Self {
        DelayParams {
            time_ms: 375.0,
            feedback: 0.35,
            low_cut_hz: 150.0,
            high_cut_hz: 6000.0,
            ping_pong: false,
        }
    }
}

/// Group delay (samples) of a biquad at angular frequency `w` (radians per sample):
/// Re(Σ k·c_k z^-k / Σ c_k z^-k) of the numerator minus that of the denominator.
fn group_delay(c: &Coeffs, w: f64) -> f64 {
    let poly = |p: [f64; 3]| {
        let (mut re, mut im, mut kre, mut kim) = (0.0, 0.0, 0.0, 0.0);
        for (k, &ck) in p.iter().enumerate() {
            let (s, co) = (w * k as f64).sin_cos();
            re += ck * co;
            im -= ck * s;
            kre += k as f64 * ck * co;
            kim -= k as f64 * ck * s;
        }
        // Re((kre + j kim) / (re + j im))
        (kre * re + kim * im) / (re * re + im * im).max(1e-300)
    };
    poly([c.b0, c.b1, c.b2]) - poly([1.0, c.a1, c.a2])
}

/// Samples for a biquad's impulse response to decay by `db` (from its pole radius).
fn ring_samples(c: &Coeffs, db: f64) -> f64 {
    // poles of z² + a1 z + a2: radius √a2 when complex, the larger |root| when real
    let disc = c.a1 * c.a1 - 4.0 * c.a2;
    let r = if disc < 0.0 {
        c.a2.sqrt()
    } else {
        (c.a1.abs() + disc.sqrt()) / 2.0
    };
    if r <= 0.0 {
        2.0
    } else if r >= 1.0 {
        f64::INFINITY
    } else {
        db / (-20.0 * r.log10()) + 2.0
    }
}

#[derive(Clone, Debug)]
pub struct Delay {
    params: DelayParams,
    sample_rate: f64,
    delay: usize,
    feedback: f64,
    ping_pong: bool,
    /// Two lines of `delay` samples each, line A then line B.
    lines: Vec<f32>,
    pos: usize,
    /// [line][high-pass, low-pass]
    filters: [[Biquad; 2]; 2],
    tail: usize,
}

impl Delay {
    /// Panics if `sample_rate` is not finite and positive.
    pub fn new(params: DelayParams, sample_rate: f64) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive, got {sample_rate}"
        );
        let time_ms = if params.time_ms.is_finite() {
            params.time_ms.clamp(0.0, MAX_TIME_MS)
        } else {
            DelayParams::default().time_ms
        };
        let delay = ((time_ms * 1e-3 * sample_rate).round() as usize).max(1);
        let feedback = if params.feedback.is_nan() {
            0.0
        } else {
            params.feedback.clamp(0.0, MAX_FEEDBACK)
        };
        let hp = if params.low_cut_hz > 0.0 {
            Coeffs::design(
                &FilterKind::HighPass {
                    freq_hz: params.low_cut_hz,
                    q: BUTTERWORTH_Q,
                },
                sample_rate,
            )
        } else {
            Coeffs::IDENTITY
        };
        let lp = if params.high_cut_hz > 0.0 {
            Coeffs::design(
                &FilterKind::LowPass {
                    freq_hz: params.high_cut_hz,
                    q: BUTTERWORTH_Q,
                },
                sample_rate,
            )
        } else {
            Coeffs::IDENTITY
        };
        let tail = Self::tail_for(delay, feedback, &[hp, lp], sample_rate);
        let pair = [Biquad::new(hp), Biquad::new(lp)];
        Delay {
            ping_pong: params.ping_pong,
            params,
            sample_rate,
            delay,
            feedback,
            lines: vec![0.0; 2 * delay],
            pos: 0,
            filters: [pair.clone(), pair],
            tail,
        }
    }

    /// Upper bound on the time for the output to fall [`TAIL_DB`] below its peak once the input
    /// has stopped: enough repeats for `feedback`^n to reach −90 dB, each one delay plus the
    /// loop filter's largest group delay long, plus the filters' own ringing.
    fn tail_for(delay: usize, feedback: f64, filters: &[Coeffs], sample_rate: f64) -> usize {
        // largest group delay of the loop filter, on a grid of 1/12 octave from 5 Hz
        let mut gd_max = 0.0f64;
        let mut f = 5.0;
        while f < 0.5 * sample_rate {
            let w = 2.0 * std::f64::consts::PI * f / sample_rate;
            let gd: f64 = filters.iter().map(|c| group_delay(c, w)).sum();
            gd_max = gd_max.max(gd);
            f *= 2f64.powf(1.0 / 12.0);
        }
        let ring: f64 = filters.iter().map(|c| ring_samples(c, TAIL_DB)).sum();
        // 6 dB of headroom: a filtered echo can peak above the line content that produced it
        let repeats = if feedback > 0.0 {
            1.0 + ((TAIL_DB + 6.0) / (-20.0 * feedback.log10())).ceil()
        } else {
            1.0
        };
        let total = repeats * (delay as f64 + gd_max.max(0.0)) + 2.0 * ring;
        total.min(1e12).ceil() as usize
    }

    pub fn params(&self) -> &DelayParams {
        &self.params
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The delay time actually used, in samples.
    pub fn delay_samples(&self) -> usize {
        self.delay
    }

    /// The feedback actually used (after clamping).
    pub fn feedback(&self) -> f64 {
        self.feedback
    }

    /// Samples after the last non-silent input until the output stays more than 90 dB below its
    /// peak (a conservative bound; see [`TAIL_DB`]).
    pub fn tail_samples(&self) -> usize {
        self.tail
    }

    /// Silence in the lines and the filters.
    pub fn reset(&mut self) {
        self.lines.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
        for pair in &mut self.filters {
            pair.iter_mut().for_each(Biquad::reset);
        }
    }

    /// Processes one block. `input` holds 1 (mono) or 2 (left, right) channels; all slices
    /// must have the same length. Panics otherwise.
    pub fn process(&mut self, input: &[&[f32]], out_l: &mut [f32], out_r: &mut [f32]) {
        assert!(
            input.len() == 1 || input.len() == 2,
            "delay input must have 1 or 2 channels, got {}",
            input.len()
        );
        let n = out_l.len();
        assert!(
            out_r.len() == n && input.iter().all(|c| c.len() == n),
            "delay buffers must have equal lengths"
        );
        let in_l = input[0];
        let in_r = input[input.len() - 1];
        let d = self.delay;
        let fb = self.feedback;
        let (line_a, line_b) = self.lines.split_at_mut(d);
        let [fa, fbq] = &mut self.filters;
        let mut pos = self.pos;
        let store = |v: f64| if v.abs() < FLUSH_BELOW { 0.0 } else { v as f32 };
        for i in 0..n {
            let ya = fa[0].process_f64(f64::from(line_a[pos]));
            let ya = fa[1].process_f64(ya);
            let yb = fbq[0].process_f64(f64::from(line_b[pos]));
            let yb = fbq[1].process_f64(yb);
            let (xl, xr) = (f64::from(in_l[i]), f64::from(in_r[i]));
            let (wa, wb) = if self.ping_pong {
                (0.5 * (xl + xr) + fb * yb, fb * ya)
            } else {
                (xl + fb * ya, xr + fb * yb)
            };
            line_a[pos] = store(wa);
            line_b[pos] = store(wb);
            out_l[i] = ya as f32;
            out_r[i] = yb as f32;
            pos += 1;
            if pos == d {
                pos = 0;
            }
        }
        self.pos = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_delay_of_a_pure_delay_and_of_a_butterworth() {
        // z^-1 as a biquad: one sample at every frequency
        let c = Coeffs {
            b0: 0.0,
            b1: 1.0,
            b2: 0.0,
            a1: 0.0,
            a2: 0.0,
        };
        for w in [0.1, 1.0, 2.5] {
            assert!((group_delay(&c, w) - 1.0).abs() < 1e-12);
        }
        // against a numerical derivative of the phase of a low-pass
        let lp = Coeffs::design(
            &FilterKind::LowPass {
                freq_hz: 1000.0,
                q: BUTTERWORTH_Q,
            },
            48_000.0,
        );
        for f in [200.0, 900.0, 3000.0] {
            let df = 0.01;
            let (_, p1) = lp.response(f - df, 48_000.0);
            let (_, p2) = lp.response(f + df, 48_000.0);
            let dw = 2.0 * std::f64::consts::PI * 2.0 * df / 48_000.0;
            let numeric = -(p2 - p1) / dw;
            let w = 2.0 * std::f64::consts::PI * f / 48_000.0;
            assert!((group_delay(&lp, w) - numeric).abs() < 1e-3, "{f}");
        }
    }

    #[test]
    fn note_lengths() {
        assert_eq!(note_ms(120.0, 1.0), 500.0);
        assert_eq!(note_ms(120.0, 0.75), 375.0);
    }
}
