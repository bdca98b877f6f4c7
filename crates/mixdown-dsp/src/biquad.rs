//! Second-order IIR filters ("biquads") designed with the RBJ Audio EQ Cookbook formulas,
//! first-order sections, Butterworth cascades and a multi-channel filter chain.
//!
//! # Conventions
//!
//! * Audio is `f32`; coefficients and state are `f64` (a 20 Hz high-pass at 192 kHz has its
//!   poles within 1e-3 of z = 1, which `f32` cannot represent well).
//! * Every design is the bilinear transform of an analog prototype, pre-warped so that the
//!   prototype's normalised frequency Ω = 1 lands exactly on `freq_hz`. The digital response at
//!   `f` is therefore the prototype's response at Ω = tan(π f / fs) / tan(π f0 / fs);
//!   [`FilterKind::response_db`] evaluates exactly that, independently of the coefficient
//!   formulas, so the two can be checked against each other.
//! * **Q** (peaking, band-pass, notch, high/low-pass) is the Q of the analog prototype
//!   denominator s² + s/Q + 1. For band-pass and notch the -3 dB points, and for peaking the
//!   half-gain points (where the response in dB is `gain_db / 2`), are at warped frequencies
//!   Ω₁ < 1 < Ω₂ with Ω₂ − Ω₁ = 1/Q and Ω₁·Ω₂ = 1. Far below Nyquist this is the familiar
//!   bandwidth of 2·asinh(1/(2Q))/ln 2 octaves. For high/low-pass, |H(f0)| = Q
//!   (Q = 1/√2 is Butterworth, −3.01 dB at `freq_hz`).
//! * **Shelves** use the RBJ shelf slope `slope` (S): the response is `gain_db / 2` at `freq_hz`,
//!   `gain_db` at DC (low shelf) or Nyquist (high shelf) and 0 dB at the other end; the slope in
//!   dB/octave at `freq_hz` is proportional to S, and S = 1 is the steepest shelf whose
//!   response is still monotonic. S > 1 overshoots.
//!
//! # Edge cases
//!
//! Let `f_max = 0.49 · fs`.
//! * A [`FilterKind::LowPass`] / [`FilterKind::LowPass1`] at or above `f_max` is a pass-through
//!   (the signal is already band-limited below it); a high-pass at or below 0 Hz is a
//!   pass-through.
//! * All other frequencies are clamped into `[1e-5 · fs, f_max]` (a high-pass above `f_max`
//!   removes almost everything; a bell or shelf above it acts at `f_max`).
//! * A peaking or shelving filter with `gain_db == 0` is the exact identity (b0 = 1, all other
//!   coefficients 0), so it passes audio bit-exactly.
//! * Any non-finite parameter makes the filter a pass-through.
//! * `q` is clamped to `[0.01, 1000]`, `slope` to at least 0.01 (and low enough that the
//!   equivalent Q stays ≤ 100).
//! * State values below 1e-30 in magnitude are flushed to zero after every sample, so a filter
//!   fed silence never runs into subnormal arithmetic.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// Magnitudes below this (−300 dB) are reported as −300 dB instead of −∞.
const MIN_MAGNITUDE: f64 = 1e-15;
/// Filter state below this magnitude is flushed to zero (far below any audible level).
const DENORMAL_FLOOR: f64 = 1e-30;
/// Highest usable design frequency, as a fraction of the sample rate.
pub const MAX_FREQ_RATIO: f64 = 0.49;
/// Lowest design frequency, as a fraction of the sample rate.
pub const MIN_FREQ_RATIO: f64 = 1e-5;
const MIN_Q: f64 = 0.01;
const MAX_Q: f64 = 1000.0;
const MIN_SLOPE: f64 = 0.01;

/// One filter section. Serialised with an internal `type` tag, e.g. in TOML
/// `{ type = "peaking", freq_hz = 1000.0, gain_db = -3.0, q = 1.4 }`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FilterKind {
    /// Bell: `gain_db` at `freq_hz`, half of it (in dB) at the band edges defined by `q`.
    Peaking { freq_hz: f64, gain_db: f64, q: f64 },
    /// Low shelf: `gain_db` at DC, `gain_db / 2` at `freq_hz`, 0 dB at Nyquist.
    LowShelf {
        freq_hz: f64,
        gain_db: f64,
        slope: f64,
    },
    /// High shelf: 0 dB at DC, `gain_db / 2` at `freq_hz`, `gain_db` at Nyquist.
    HighShelf {
        freq_hz: f64,
        gain_db: f64,
        slope: f64,
    },
    /// Second-order high-pass (12 dB/octave), |H(freq_hz)| = q.
    HighPass { freq_hz: f64, q: f64 },
    /// Second-order low-pass (12 dB/octave), |H(freq_hz)| = q.
    LowPass { freq_hz: f64, q: f64 },
    /// First-order high-pass (6 dB/octave), −3.01 dB at `freq_hz`.
    HighPass1 { freq_hz: f64 },
    /// First-order low-pass (6 dB/octave), −3.01 dB at `freq_hz`.
    LowPass1 { freq_hz: f64 },
    /// Band-pass with 0 dB gain at `freq_hz`; −3 dB points set by `q`.
    BandPass { freq_hz: f64, q: f64 },
    /// Notch: zero gain at `freq_hz`, −3 dB points set by `q` (hum removal uses q ≈ 30-50).
    Notch { freq_hz: f64, q: f64 },
}

/// A filter after the edge-case rules of the module documentation have been applied.
enum Resolved {
    Identity,
    Peaking { w0: f64, a: f64, q: f64 },
    LowShelf { w0: f64, a: f64, inv_q: f64 },
    HighShelf { w0: f64, a: f64, inv_q: f64 },
    HighPass { w0: f64, q: f64 },
    LowPass { w0: f64, q: f64 },
    HighPass1 { w0: f64 },
    LowPass1 { w0: f64 },
    BandPass { w0: f64, q: f64 },
    Notch { w0: f64, q: f64 },
}

fn clamp_q(q: f64) -> f64 {
    q.clamp(MIN_Q, MAX_Q)
}

/// 1/Q of an RBJ shelf with amplitude `a` (= 10^(gain/40)) and slope `slope`.
fn shelf_inv_q(a: f64, slope: f64) -> f64 {
    let s = slope.max(MIN_SLOPE);
    let arg = (a + 1.0 / a) * (1.0 / s - 1.0) + 2.0;
    // Keep the equivalent Q at or below 100 (arg >= 1e-4) for absurdly large slopes.
    arg.max(1e-4).sqrt()
}

/// How a frequency parameter is turned into a digital angular frequency.
#[derive(Clone, Copy)]
enum FreqRule {
    /// Clamp into [f_min, f_max].
    Clamp,
    /// Low-pass: pass-through at or above f_max.
    LowPass,
    /// High-pass: pass-through at or below 0 Hz.
    HighPass,
}

/// Digital angular frequency for `freq_hz`, or `None` when the filter is a pass-through.
fn resolve_w0(freq_hz: f64, sample_rate: f64, rule: FreqRule) -> Option<f64> {
    if !freq_hz.is_finite() {
        return None;
    }
    let f_max = MAX_FREQ_RATIO * sample_rate;
    let f_min = MIN_FREQ_RATIO * sample_rate;
    match rule {
        FreqRule::LowPass if freq_hz >= f_max => return None,
        FreqRule::HighPass if freq_hz <= 0.0 => return None,
        _ => {}
    }
    Some(2.0 * PI * freq_hz.clamp(f_min, f_max) / sample_rate)
}

fn check_sample_rate(sample_rate: f64) {
    assert!(
        sample_rate.is_finite() && sample_rate > 0.0,
        "sample rate must be finite and positive, got {sample_rate}"
    );
}

impl FilterKind {
    fn resolve(&self, sample_rate: f64) -> Resolved {
        check_sample_rate(sample_rate);
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match *self {
            FilterKind::Peaking {
                freq_hz,
                gain_db,
                q,
            } => {
                if !finite(&[gain_db, q]) || gain_db == 0.0 {
                    return Resolved::Identity;
                }
                match resolve_w0(freq_hz, sample_rate, FreqRule::Clamp) {
                    Some(w0) => Resolved::Peaking {
                        w0,
                        a: 10f64.powf(gain_db / 40.0),
                        q: clamp_q(q),
                    },
                    None => Resolved::Identity,
                }
            }
            FilterKind::LowShelf {
                freq_hz,
                gain_db,
                slope,
            }
            | FilterKind::HighShelf {
                freq_hz,
                gain_db,
                slope,
            } => {
                if !finite(&[gain_db, slope]) || gain_db == 0.0 {
                    return Resolved::Identity;
                }
                let Some(w0) = resolve_w0(freq_hz, sample_rate, FreqRule::Clamp) else {
                    return Resolved::Identity;
                };
                let a = 10f64.powf(gain_db / 40.0);
                let inv_q = shelf_inv_q(a, slope);
                if matches!(self, FilterKind::LowShelf { .. }) {
                    Resolved::LowShelf { w0, a, inv_q }
                } else {
                    Resolved::HighShelf { w0, a, inv_q }
                }
            }
            FilterKind::HighPass { freq_hz, q } => {
                match (
                    q.is_finite(),
                    resolve_w0(freq_hz, sample_rate, FreqRule::HighPass),
                ) {
                    (true, Some(w0)) => Resolved::HighPass { w0, q: clamp_q(q) },
                    _ => Resolved::Identity,
                }
            }
            FilterKind::LowPass { freq_hz, q } => {
                match (
                    q.is_finite(),
                    resolve_w0(freq_hz, sample_rate, FreqRule::LowPass),
                ) {
                    (true, Some(w0)) => Resolved::LowPass { w0, q: clamp_q(q) },
                    _ => Resolved::Identity,
                }
            }
            FilterKind::HighPass1 { freq_hz } => {
                match resolve_w0(freq_hz, sample_rate, FreqRule::HighPass) {
                    Some(w0) => Resolved::HighPass1 { w0 },
                    None => Resolved::Identity,
                }
            }
            FilterKind::LowPass1 { freq_hz } => {
                match resolve_w0(freq_hz, sample_rate, FreqRule::LowPass) {
                    Some(w0) => Resolved::LowPass1 { w0 },
                    None => Resolved::Identity,
                }
            }
            FilterKind::BandPass { freq_hz, q } => {
                match (
                    q.is_finite(),
                    resolve_w0(freq_hz, sample_rate, FreqRule::Clamp),
                ) {
                    (true, Some(w0)) => Resolved::BandPass { w0, q: clamp_q(q) },
                    _ => Resolved::Identity,
                }
            }
            FilterKind::Notch { freq_hz, q } => {
                match (
                    q.is_finite(),
                    resolve_w0(freq_hz, sample_rate, FreqRule::Clamp),
                ) {
                    (true, Some(w0)) => Resolved::Notch { w0, q: clamp_q(q) },
                    _ => Resolved::Identity,
                }
            }
        }
    }

    /// Analytic magnitude response in dB at `freq_hz`: the analog prototype evaluated at the
    /// bilinear-warped frequency (see the module documentation). This does not use the digital
    /// coefficients, so it is an independent check of [`Coeffs::design`]. Returns −300 dB
    /// where the response is exactly zero (notch centre, high-pass at DC) and handles
    /// `freq_hz` at or above Nyquist by evaluating at Nyquist.
    pub fn response_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        let resolved = self.resolve(sample_rate);
        let w0 = match resolved {
            Resolved::Identity => return 0.0,
            Resolved::Peaking { w0, .. }
            | Resolved::LowShelf { w0, .. }
            | Resolved::HighShelf { w0, .. }
            | Resolved::HighPass { w0, .. }
            | Resolved::LowPass { w0, .. }
            | Resolved::HighPass1 { w0 }
            | Resolved::LowPass1 { w0 }
            | Resolved::BandPass { w0, .. }
            | Resolved::Notch { w0, .. } => w0,
        };
        let f = freq_hz.abs().min(0.5 * sample_rate);
        // At Nyquist tan(π/2) is a huge finite number (~1.6e16), which is what "Ω → ∞" needs.
        let omega = (PI * f / sample_rate).tan() / (0.5 * w0).tan();
        // Prototype H(s) = (n0 + n1 s + n2 s²) / (d0 + d1 s + d2 s²).
        let (n, d): ([f64; 3], [f64; 3]) = match resolved {
            Resolved::Identity => unreachable!(),
            Resolved::Peaking { a, q, .. } => ([1.0, a / q, 1.0], [1.0, 1.0 / (a * q), 1.0]),
            Resolved::LowShelf { a, inv_q, .. } => {
                let sa = a.sqrt();
                ([a * a, a * sa * inv_q, a], [1.0, sa * inv_q, a])
            }
            Resolved::HighShelf { a, inv_q, .. } => {
                let sa = a.sqrt();
                ([a, a * sa * inv_q, a * a], [a, sa * inv_q, 1.0])
            }
            Resolved::HighPass { q, .. } => ([0.0, 0.0, 1.0], [1.0, 1.0 / q, 1.0]),
            Resolved::LowPass { q, .. } => ([1.0, 0.0, 0.0], [1.0, 1.0 / q, 1.0]),
            Resolved::HighPass1 { .. } => ([0.0, 1.0, 0.0], [1.0, 1.0, 0.0]),
            Resolved::LowPass1 { .. } => ([1.0, 0.0, 0.0], [1.0, 1.0, 0.0]),
            Resolved::BandPass { q, .. } => ([0.0, 1.0 / q, 0.0], [1.0, 1.0 / q, 1.0]),
            Resolved::Notch { q, .. } => ([1.0, 0.0, 1.0], [1.0, 1.0 / q, 1.0]),
        };
        let eval = |p: &[f64; 3]| {
            let re = p[0] - p[2] * omega * omega;
            let im = p[1] * omega;
            re.hypot(im)
        };
        mag_db(eval(&n) / eval(&d))
    }
}

fn mag_db(mag: f64) -> f64 {
    20.0 * mag.max(MIN_MAGNITUDE).log10()
}

/// Normalised biquad coefficients (a0 = 1):
/// H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

impl Coeffs {
    /// The pass-through filter.
    pub const IDENTITY: Coeffs = Coeffs {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    /// RBJ cookbook design of one section. Panics if `sample_rate` is not finite and positive.
    pub fn design(kind: &FilterKind, sample_rate: f64) -> Coeffs {
        let second_order = |w0: f64, q: f64| {
            let (sw, cw) = w0.sin_cos();
            // 1 − cos w0 computed without cancellation for very low frequencies.
            let one_minus_cw = 2.0 * (0.5 * w0).sin().powi(2);
            (sw / (2.0 * q), cw, one_minus_cw)
        };
        let (b0, b1, b2, a0, a1, a2) = match kind.resolve(sample_rate) {
            Resolved::Identity => return Coeffs::IDENTITY,
            Resolved::Peaking { w0, a, q } => {
                let (alpha, cw, _) = second_order(w0, q);
                (
                    1.0 + alpha * a,
                    -2.0 * cw,
                    1.0 - alpha * a,
                    1.0 + alpha / a,
                    -2.0 * cw,
                    1.0 - alpha / a,
                )
            }
            Resolved::LowShelf { w0, a, inv_q } => {
                let (sw, cw) = w0.sin_cos();
                let k = a.sqrt() * sw * inv_q; // 2·√A·α
                (
                    a * ((a + 1.0) - (a - 1.0) * cw + k),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cw),
                    a * ((a + 1.0) - (a - 1.0) * cw - k),
                    (a + 1.0) + (a - 1.0) * cw + k,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cw),
                    (a + 1.0) + (a - 1.0) * cw - k,
                )
            }
            Resolved::HighShelf { w0, a, inv_q } => {
                let (sw, cw) = w0.sin_cos();
                let k = a.sqrt() * sw * inv_q;
                (
                    a * ((a + 1.0) + (a - 1.0) * cw + k),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cw),
                    a * ((a + 1.0) + (a - 1.0) * cw - k),
                    (a + 1.0) - (a - 1.0) * cw + k,
                    2.0 * ((a - 1.0) - (a + 1.0) * cw),
                    (a + 1.0) - (a - 1.0) * cw - k,
                )
            }
            Resolved::HighPass { w0, q } => {
                let (alpha, cw, omc) = second_order(w0, q);
                let one_plus_cw = 2.0 - omc;
                (
                    0.5 * one_plus_cw,
                    -one_plus_cw,
                    0.5 * one_plus_cw,
                    1.0 + alpha,
                    -2.0 * cw,
                    1.0 - alpha,
                )
            }
            Resolved::LowPass { w0, q } => {
                let (alpha, cw, omc) = second_order(w0, q);
                (
                    0.5 * omc,
                    omc,
                    0.5 * omc,
                    1.0 + alpha,
                    -2.0 * cw,
                    1.0 - alpha,
                )
            }
            Resolved::HighPass1 { w0 } => {
                let k = (0.5 * w0).tan();
                (1.0, -1.0, 0.0, 1.0 + k, k - 1.0, 0.0)
            }
            Resolved::LowPass1 { w0 } => {
                let k = (0.5 * w0).tan();
                (k, k, 0.0, 1.0 + k, k - 1.0, 0.0)
            }
            Resolved::BandPass { w0, q } => {
                let (alpha, cw, _) = second_order(w0, q);
                (alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cw, 1.0 - alpha)
            }
            Resolved::Notch { w0, q } => {
                let (alpha, cw, _) = second_order(w0, q);
                (1.0, -2.0 * cw, 1.0, 1.0 + alpha, -2.0 * cw, 1.0 - alpha)
            }
        };
        Coeffs {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// True for the exact pass-through coefficients.
    pub fn is_identity(&self) -> bool {
        *self == Coeffs::IDENTITY
    }

    /// Magnitude (dB, floored at −300 dB) and phase (radians, in (−π, π]) of these
    /// coefficients at `freq_hz`.
    pub fn response(&self, freq_hz: f64, sample_rate: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq_hz / sample_rate;
        let (s1, c1) = w.sin_cos();
        let (s2, c2) = (2.0 * w).sin_cos();
        // e^{-jw} = c1 - j s1
        let num_re = self.b0 + self.b1 * c1 + self.b2 * c2;
        let num_im = -(self.b1 * s1 + self.b2 * s2);
        let den_re = 1.0 + self.a1 * c1 + self.a2 * c2;
        let den_im = -(self.a1 * s1 + self.a2 * s2);
        let mag = num_re.hypot(num_im) / den_re.hypot(den_im);
        let phase = num_im.atan2(num_re) - den_im.atan2(den_re);
        // Wrap into (−π, π].
        let phase = if phase > PI {
            phase - 2.0 * PI
        } else if phase <= -PI {
            phase + 2.0 * PI
        } else {
            phase
        };
        (mag_db(mag), phase)
    }
}

/// One channel of one biquad section: transposed direct form II with `f64` state.
#[derive(Clone, Debug)]
pub struct Biquad {
    c: Coeffs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    pub fn new(c: Coeffs) -> Self {
        Biquad {
            c,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// Changes the coefficients and keeps the state (for parameter changes while running).
    pub fn set_coeffs(&mut self, c: Coeffs) {
        self.c = c;
    }

    pub fn coeffs(&self) -> Coeffs {
        self.c
    }

    /// Clears the state (as if the filter had only ever seen silence).
    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    /// One sample at full `f64` precision (used when cascading sections).
    #[inline]
    pub fn process_f64(&mut self, x: f64) -> f64 {
        let c = &self.c;
        let y = c.b0 * x + self.s1;
        let s1 = c.b1 * x - c.a1 * y + self.s2;
        let s2 = c.b2 * x - c.a2 * y;
        self.s1 = if s1.abs() < DENORMAL_FLOOR { 0.0 } else { s1 };
        self.s2 = if s2.abs() < DENORMAL_FLOOR { 0.0 } else { s2 };
        y
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        self.process_f64(f64::from(x)) as f32
    }

    pub fn process_block(&mut self, buf: &mut [f32]) {
        for part in buf.chunks_mut(FLUSH_EVERY) {
            for x in part.iter_mut() {
                *x = self.tick(f64::from(*x)) as f32;
            }
            self.flush();
        }
    }

    /// One sample without the denormal check: the recursion stays short. Callers flush the
    /// state at least every [`FLUSH_EVERY`] samples.
    #[inline(always)]
    pub(crate) fn tick(&mut self, x: f64) -> f64 {
        let c = &self.c;
        let y = c.b0 * x + self.s1;
        self.s1 = c.b1 * x - c.a1 * y + self.s2;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    /// Zero a state that has decayed below the denormal floor.
    #[inline]
    pub(crate) fn flush(&mut self) {
        if self.s1.abs() < DENORMAL_FLOOR {
            self.s1 = 0.0;
        }
        if self.s2.abs() < DENORMAL_FLOOR {
            self.s2 = 0.0;
        }
    }
}

/// Mid/side of a stereo pair with the mid through `ap` and the side through `hp[0]` then
/// `hp[1]`, times `width`: for each frame exactly
/// `m = ap.process_f64(0.5 (l + r))`, `s = hp[1].process_f64(hp[0].process_f64(0.5 (l - r))) · width`,
/// `l = (m + s) as f32`, `r = (m - s) as f32`. The all-pass and the first high-pass run side
/// by side in one SSE2 register (part of every x86-64 CPU), the same operations per lane
/// (so the same bits).
pub fn mid_side_allpass_highpass(
    ap: &mut Biquad,
    hp: &mut [Biquad; 2],
    width: f64,
    l: &mut [f32],
    r: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if l.len() >= 2 && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected at run time; the function reads and writes only slices.
            return unsafe { mid_side_avx(ap, hp, width, l, r) };
        }
        // SAFETY: SSE2 is part of the x86-64 baseline; the function reads and writes only slices.
        unsafe { mid_side_sse2(ap, hp, width, l, r) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (a, b) in l.iter_mut().zip(r.iter_mut()) {
        let m = 0.5 * (f64::from(*a) + f64::from(*b));
        let s = 0.5 * (f64::from(*a) - f64::from(*b));
        let m2 = ap.process_f64(m);
        let [h0, h1] = hp;
        let s2 = h1.process_f64(h0.process_f64(s)) * width;
        *a = (m2 + s2) as f32;
        *b = (m2 - s2) as f32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn mid_side_sse2(ap: &mut Biquad, hp: &mut [Biquad; 2], width: f64, l: &mut [f32], r: &mut [f32]) {
    use std::arch::x86_64::*;
    let [h0, h1] = hp;
    let two = |a: f64, b: f64| _mm_set_pd(b, a);
    let lo = |v: __m128d| _mm_cvtsd_f64(v);
    let hi = |v: __m128d| _mm_cvtsd_f64(_mm_unpackhi_pd(v, v));
    let (c, d) = (ap.c, h0.c);
    let (b0, b1, b2) = (two(c.b0, d.b0), two(c.b1, d.b1), two(c.b2, d.b2));
    let (a1, a2) = (two(c.a1, d.a1), two(c.a2, d.a2));
    let (mut s1, mut s2) = (two(ap.s1, h0.s1), two(ap.s2, h0.s2));
    let (sign, floor) = (_mm_set1_pd(-0.0), _mm_set1_pd(DENORMAL_FLOOR));
    // `if x.abs() < DENORMAL_FLOOR { 0.0 } else { x }`, lane by lane (NaN stays)
    let flush = |x: __m128d| _mm_andnot_pd(_mm_cmplt_pd(_mm_andnot_pd(sign, x), floor), x);
    for (a, b) in l.iter_mut().zip(r.iter_mut()) {
        let (x, z) = (f64::from(*a), f64::from(*b));
        let v = two(0.5 * (x + z), 0.5 * (x - z));
        let y = _mm_add_pd(_mm_mul_pd(b0, v), s1);
        let n1 = _mm_add_pd(_mm_sub_pd(_mm_mul_pd(b1, v), _mm_mul_pd(a1, y)), s2);
        let n2 = _mm_sub_pd(_mm_mul_pd(b2, v), _mm_mul_pd(a2, y));
        s1 = flush(n1);
        s2 = flush(n2);
        let m2 = lo(y);
        let sd = h1.process_f64(hi(y)) * width;
        *a = (m2 + sd) as f32;
        *b = (m2 - sd) as f32;
    }
    (ap.s1, h0.s1, ap.s2, h0.s2) = (lo(s1), hi(s1), lo(s2), hi(s2));
}

/// [`mid_side_sse2`] with the side's second high-pass in a third lane, one frame behind: in
/// one AVX register, frame `n`'s all-pass and first high-pass run beside the second high-pass
/// of frame `n - 1`, so each frame waits for one filter instead of two. The same operations
/// per lane (no fused multiply-add), so the same bits. Needs at least two frames.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn mid_side_avx(ap: &mut Biquad, hp: &mut [Biquad; 2], width: f64, l: &mut [f32], r: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = l.len().min(r.len());
    debug_assert!(n >= 2);
    let [h0, h1] = hp;
    // lanes: 0 the mid's all-pass, 1 the side's first high-pass, 2 its second, 3 idle
    let four = |a: f64, b: f64, c: f64| _mm256_set_pd(0.0, c, b, a);
    let (c, d, e) = (ap.c, h0.c, h1.c);
    let (b0, b1, b2) = (
        four(c.b0, d.b0, e.b0),
        four(c.b1, d.b1, e.b1),
        four(c.b2, d.b2, e.b2),
    );
    let (a1, a2) = (four(c.a1, d.a1, e.a1), four(c.a2, d.a2, e.a2));
    let (sign, floor) = (_mm256_set1_pd(-0.0), _mm256_set1_pd(DENORMAL_FLOOR));
    let flush = |x: __m256d| {
        _mm256_andnot_pd(
            _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_andnot_pd(sign, x), floor),
            x,
        )
    };
    // frame 0: the all-pass and the first high-pass (exactly as `process_f64` does them)
    let (x, z) = (f64::from(l[0]), f64::from(r[0]));
    let mut m_prev = ap.process_f64(0.5 * (x + z));
    let mut h_prev = h0.process_f64(0.5 * (x - z));
    let (mut s1, mut s2) = (four(ap.s1, h0.s1, h1.s1), four(ap.s2, h0.s2, h1.s2));
    let mut lanes = [0.0f64; 4];
    for i in 1..n {
        let (x, z) = (f64::from(l[i]), f64::from(r[i]));
        let v = four(0.5 * (x + z), 0.5 * (x - z), h_prev);
        let y = _mm256_add_pd(_mm256_mul_pd(b0, v), s1);
        let n1 = _mm256_add_pd(
            _mm256_sub_pd(_mm256_mul_pd(b1, v), _mm256_mul_pd(a1, y)),
            s2,
        );
        let n2 = _mm256_sub_pd(_mm256_mul_pd(b2, v), _mm256_mul_pd(a2, y));
        s1 = flush(n1);
        s2 = flush(n2);
        // SAFETY: `lanes` holds four f64; an unaligned store.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), y) };
        // frame i - 1 is complete: its mid, and its side through both high-passes
        let sd = lanes[2] * width;
        l[i - 1] = (m_prev + sd) as f32;
        r[i - 1] = (m_prev - sd) as f32;
        m_prev = lanes[0];
        h_prev = lanes[1];
    }
    let mut st = [[0.0f64; 4]; 2];
    // SAFETY: four f64 each; unaligned stores.
    unsafe {
        _mm256_storeu_pd(st[0].as_mut_ptr(), s1);
        _mm256_storeu_pd(st[1].as_mut_ptr(), s2);
    }
    (ap.s1, h0.s1, h1.s1) = (st[0][0], st[0][1], st[0][2]);
    (ap.s2, h0.s2, h1.s2) = (st[1][0], st[1][1], st[1][2]);
    // the last frame's second high-pass
    let sd = h1.process_f64(h_prev) * width;
    l[n - 1] = (m_prev + sd) as f32;
    r[n - 1] = (m_prev - sd) as f32;
}

/// Block processing flushes tiny filter states this often (samples). From 1e-30 a state needs
/// tens of thousands of samples to decay into the subnormal range, so this keeps subnormals
/// away while taking the check out of the per-sample recursion.
const FLUSH_EVERY: usize = 4096;

/// Magnitude of the larger pole of a biquad with denominator 1 + a1·z⁻¹ + a2·z⁻²: how slowly
/// its state is forgotten (below 1 for a stable filter).
pub fn pole_radius(a1: f64, a2: f64) -> f64 {
    let disc = a1 * a1 - 4.0 * a2;
    if disc < 0.0 {
        a2.abs().sqrt()
    } else {
        0.5 * (a1.abs() + disc.sqrt())
    }
}

/// Most sections a stereo chain runs with both channels together (longer chains run one
/// channel at a time: the value between sections stays `f64` either way).
const PAIR_GROUP: usize = 16;

/// A stereo chain of up to [`PAIR_GROUP`] sections over a block, left in lane 0 and right in lane 1 of
/// SSE2 registers (part of every x86-64 CPU): per lane exactly [`Biquad::tick`].
#[cfg(target_arch = "x86_64")]
fn pair_group(a: &mut [Biquad], b: &mut [Biquad], left: &mut [f32], right: &mut [f32]) {
    // Short chains with their length a constant: the states stay in registers (with a
    // run-time length they live in memory, and every sample waits on a store and a reload).
    // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions exist on every CPU
    // this code runs on; the only memory accesses are unaligned 128-bit stores into two-f64
    // arrays.
    unsafe {
        match a.len().min(b.len()).min(PAIR_GROUP) {
            1 => pair_fixed::<1>(a, b, left, right),
            2 => pair_fixed::<2>(a, b, left, right),
            3 => pair_fixed::<3>(a, b, left, right),
            4 => pair_fixed::<4>(a, b, left, right),
            5 => pair_fixed::<5>(a, b, left, right),
            6 => pair_fixed::<6>(a, b, left, right),
            7 => pair_fixed::<7>(a, b, left, right),
            8 => pair_fixed::<8>(a, b, left, right),
            _ => pair_group_sse2(a, b, left, right),
        }
    }
}

/// Up to `M` sections of a stereo chain in SSE2 registers, left in lane 0 and right in lane 1:
/// per lane exactly [`Biquad::tick`]. Loaded from and stored back to the channels' sections.
#[cfg(target_arch = "x86_64")]
struct PairSections<const M: usize> {
    b0: [std::arch::x86_64::__m128d; M],
    b1: [std::arch::x86_64::__m128d; M],
    b2: [std::arch::x86_64::__m128d; M],
    a1: [std::arch::x86_64::__m128d; M],
    a2: [std::arch::x86_64::__m128d; M],
    s1: [std::arch::x86_64::__m128d; M],
    s2: [std::arch::x86_64::__m128d; M],
}

#[cfg(target_arch = "x86_64")]
impl<const M: usize> PairSections<M> {
    /// The first `min(M, a.len())` sections (`a` left, `b` right; the same coefficients).
    #[inline(always)]
    fn load(a: &[Biquad], b: &[Biquad]) -> Self {
        use std::arch::x86_64::*;
        // SAFETY (all intrinsics here): SSE2 is part of the x86-64 baseline.
        let zero = unsafe { _mm_setzero_pd() };
        let mut p = PairSections {
            b0: [zero; M],
            b1: [zero; M],
            b2: [zero; M],
            a1: [zero; M],
            a2: [zero; M],
            s1: [zero; M],
            s2: [zero; M],
        };
        for (k, (x, y)) in a.iter().zip(b).take(M).enumerate() {
            let c = &x.c;
            unsafe {
                p.b0[k] = _mm_set1_pd(c.b0);
                p.b1[k] = _mm_set1_pd(c.b1);
                p.b2[k] = _mm_set1_pd(c.b2);
                p.a1[k] = _mm_set1_pd(c.a1);
                p.a2[k] = _mm_set1_pd(c.a2);
                p.s1[k] = _mm_set_pd(y.s1, x.s1);
                p.s2[k] = _mm_set_pd(y.s2, x.s2);
            }
        }
        p
    }

    /// One frame through the first `n` sections (`n <= M`).
    #[inline(always)]
    fn run(&mut self, mut v: std::arch::x86_64::__m128d, n: usize) -> std::arch::x86_64::__m128d {
        use std::arch::x86_64::*;
        for k in 0..n {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            unsafe {
                let out = _mm_add_pd(_mm_mul_pd(self.b0[k], v), self.s1[k]);
                self.s1[k] = _mm_add_pd(
                    _mm_sub_pd(_mm_mul_pd(self.b1[k], v), _mm_mul_pd(self.a1[k], out)),
                    self.s2[k],
                );
                self.s2[k] = _mm_sub_pd(_mm_mul_pd(self.b2[k], v), _mm_mul_pd(self.a2[k], out));
                v = out;
            }
        }
        v
    }

    /// The states back into the sections they were loaded from.
    #[inline(always)]
    fn store(&self, a: &mut [Biquad], b: &mut [Biquad]) {
        for (k, (x, y)) in a.iter_mut().zip(b.iter_mut()).take(M).enumerate() {
            (x.s1, y.s1) = lanes(self.s1[k]);
            (x.s2, y.s2) = lanes(self.s2[k]);
        }
    }
}

/// The two lanes of an SSE2 register.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn lanes(v: std::arch::x86_64::__m128d) -> (f64, f64) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline.
    unsafe { (_mm_cvtsd_f64(v), _mm_cvtsd_f64(_mm_unpackhi_pd(v, v))) }
}

/// [`pair_group_sse2`] for a chain of exactly `M` sections: the same operations per lane in
/// the same order (so the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn pair_fixed<const M: usize>(
    a: &mut [Biquad],
    b: &mut [Biquad],
    left: &mut [f32],
    right: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (a, b) = (&mut a[..M], &mut b[..M]);
    let mut p = PairSections::<M>::load(a, b);
    for (x, y) in left.iter_mut().zip(right.iter_mut()) {
        let (l, r) = lanes(p.run(_mm_set_pd(f64::from(*y), f64::from(*x)), M));
        *x = l as f32;
        *y = r as f32;
    }
    p.store(a, b);
}

/// The one-section filter that [`pair_fixed_tapped`] runs on the chain's output.
#[cfg(target_arch = "x86_64")]
struct Tap<'a> {
    a: &'a mut Biquad,
    b: &'a mut Biquad,
    left: &'a mut [f32],
    right: &'a mut [f32],
}

/// [`pair_fixed`] plus one more section on its output, written to the tap's buffers instead of
/// in place: per lane the same operations in the same order as [`pair_fixed`] for each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn pair_fixed_tapped<const M: usize>(
    a: &mut [Biquad],
    b: &mut [Biquad],
    left: &mut [f32],
    right: &mut [f32],
    tap: Tap,
) {
    use std::arch::x86_64::*;
    let (a, b) = (&mut a[..M], &mut b[..M]);
    let mut p = PairSections::<M>::load(a, b);
    let (ta, tb) = (std::slice::from_mut(tap.a), std::slice::from_mut(tap.b));
    let mut t = PairSections::<1>::load(ta, tb);
    for (((x, y), tx), ty) in left
        .iter_mut()
        .zip(right.iter_mut())
        .zip(tap.left.iter_mut())
        .zip(tap.right.iter_mut())
    {
        let (l, r) = lanes(p.run(_mm_set_pd(f64::from(*y), f64::from(*x)), M));
        let (xo, yo) = (l as f32, r as f32);
        *x = xo;
        *y = yo;
        // the tap reads the output as stored (f32), as it would from the buffer
        let (tl, tr) = lanes(t.run(_mm_set_pd(f64::from(yo), f64::from(xo)), 1));
        *tx = tl as f32;
        *ty = tr as f32;
    }
    p.store(a, b);
    t.store(ta, tb);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn pair_group_sse2(a: &mut [Biquad], b: &mut [Biquad], left: &mut [f32], right: &mut [f32]) {
    use std::arch::x86_64::*;
    let m = a.len().min(PAIR_GROUP);
    let mut p = PairSections::<PAIR_GROUP>::load(a, b);
    for (x, y) in left.iter_mut().zip(right.iter_mut()) {
        let (l, r) = lanes(p.run(_mm_set_pd(f64::from(*y), f64::from(*x)), m));
        *x = l as f32;
        *y = r as f32;
    }
    p.store(a, b);
}

/// Four mono lanes through the same chain of up to [`PAIR_GROUP`] sections, one lane per f64 of
/// an AVX register: per lane exactly [`Biquad::tick`] (no fused multiply-add).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn quad_group_avx(s: [&mut [Biquad]; 4], x: [&mut [f32]; 4]) {
    use std::arch::x86_64::*;
    let m = s[0].len().min(PAIR_GROUP);
    let zero = _mm256_setzero_pd();
    let mut b0 = [zero; PAIR_GROUP];
    let mut b1 = [zero; PAIR_GROUP];
    let mut b2 = [zero; PAIR_GROUP];
    let mut a1 = [zero; PAIR_GROUP];
    let mut a2 = [zero; PAIR_GROUP];
    let mut s1 = [zero; PAIR_GROUP];
    let mut s2 = [zero; PAIR_GROUP];
    for k in 0..m {
        let c = &s[0][k].c;
        b0[k] = _mm256_set1_pd(c.b0);
        b1[k] = _mm256_set1_pd(c.b1);
        b2[k] = _mm256_set1_pd(c.b2);
        a1[k] = _mm256_set1_pd(c.a1);
        a2[k] = _mm256_set1_pd(c.a2);
        s1[k] = _mm256_set_pd(s[3][k].s1, s[2][k].s1, s[1][k].s1, s[0][k].s1);
        s2[k] = _mm256_set_pd(s[3][k].s2, s[2][k].s2, s[1][k].s2, s[0][k].s2);
    }
    let [x0, x1, x2, x3] = x;
    let mut o = [0.0f64; 4];
    for (((p, q), r), t) in x0
        .iter_mut()
        .zip(x1.iter_mut())
        .zip(x2.iter_mut())
        .zip(x3.iter_mut())
    {
        let mut v = _mm256_set_pd(f64::from(*t), f64::from(*r), f64::from(*q), f64::from(*p));
        for k in 0..m {
            let out = _mm256_add_pd(_mm256_mul_pd(b0[k], v), s1[k]);
            s1[k] = _mm256_add_pd(
                _mm256_sub_pd(_mm256_mul_pd(b1[k], v), _mm256_mul_pd(a1[k], out)),
                s2[k],
            );
            s2[k] = _mm256_sub_pd(_mm256_mul_pd(b2[k], v), _mm256_mul_pd(a2[k], out));
            v = out;
        }
        // SAFETY: `o` holds four f64, what an unaligned 256-bit store writes
        unsafe { _mm256_storeu_pd(o.as_mut_ptr(), v) };
        (*p, *q, *r, *t) = (o[0] as f32, o[1] as f32, o[2] as f32, o[3] as f32);
    }
    let mut q = [0.0f64; 4];
    let [sa, sb, sc, sd] = s;
    for k in 0..m {
        // SAFETY: as above
        unsafe {
            _mm256_storeu_pd(o.as_mut_ptr(), s1[k]);
            _mm256_storeu_pd(q.as_mut_ptr(), s2[k]);
        }
        (sa[k].s1, sb[k].s1, sc[k].s1, sd[k].s1) = (o[0], o[1], o[2], o[3]);
        (sa[k].s2, sb[k].s2, sc[k].s2, sd[k].s2) = (q[0], q[1], q[2], q[3]);
    }
}

/// Portable form of the SSE2 group: the two channels interleaved, the same arithmetic.
#[cfg(not(target_arch = "x86_64"))]
fn pair_group(a: &mut [Biquad], b: &mut [Biquad], left: &mut [f32], right: &mut [f32]) {
    for (x, y) in left.iter_mut().zip(right.iter_mut()) {
        let (mut u, mut v) = (f64::from(*x), f64::from(*y));
        for (sa, sb) in a.iter_mut().zip(b.iter_mut()) {
            u = sa.tick(u);
            v = sb.tick(v);
        }
        *x = u as f32;
        *y = v as f32;
    }
}

/// Pass type of a [`Butterworth`] filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    HighPass,
    LowPass,
}

/// Butterworth high- or low-pass of any order: a cascade of second-order sections with
/// Q_k = 1 / (2 sin((2k − 1)π / (2n))), k = 1..n/2, plus a first-order section when n is odd.
/// Order 2 is Q = 0.7071; order 4 is Q = 0.5412 and 1.3066. The response is
/// −10·log10(1 + Ω^{∓2n}) with Ω the warped frequency, −3.01 dB at `freq_hz` for every order,
/// and the slope is 6·n dB/octave. Order 0 is a pass-through. The frequency edge rules are
/// those of [`FilterKind::HighPass`] / [`FilterKind::LowPass`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Butterworth {
    pub pass: Pass,
    pub freq_hz: f64,
    pub order: u32,
}

impl Butterworth {
    pub fn highpass(freq_hz: f64, order: u32) -> Self {
        Butterworth {
            pass: Pass::HighPass,
            freq_hz,
            order,
        }
    }

    pub fn lowpass(freq_hz: f64, order: u32) -> Self {
        Butterworth {
            pass: Pass::LowPass,
            freq_hz,
            order,
        }
    }

    /// The sections, highest Q last (the low-Q sections attenuate before the resonant ones).
    pub fn sections(&self) -> Vec<FilterKind> {
        let n = self.order;
        let f = self.freq_hz;
        let mut out = Vec::with_capacity(n.div_ceil(2) as usize);
        if n % 2 == 1 {
            out.push(match self.pass {
                Pass::HighPass => FilterKind::HighPass1 { freq_hz: f },
                Pass::LowPass => FilterKind::LowPass1 { freq_hz: f },
            });
        }
        for k in (1..=n / 2).rev() {
            let q = 1.0 / (2.0 * ((2 * k - 1) as f64 * PI / (2 * n) as f64).sin());
            out.push(match self.pass {
                Pass::HighPass => FilterKind::HighPass { freq_hz: f, q },
                Pass::LowPass => FilterKind::LowPass { freq_hz: f, q },
            });
        }
        out
    }

    /// Closed-form Butterworth magnitude in dB (independent of the section design).
    pub fn response_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        check_sample_rate(sample_rate);
        let rule = match self.pass {
            Pass::HighPass => FreqRule::HighPass,
            Pass::LowPass => FreqRule::LowPass,
        };
        let Some(w0) = resolve_w0(self.freq_hz, sample_rate, rule) else {
            return 0.0;
        };
        if self.order == 0 {
            return 0.0;
        }
        let f = freq_hz.abs().min(0.5 * sample_rate);
        let omega = (PI * f / sample_rate).tan() / (0.5 * w0).tan();
        let ratio = match self.pass {
            Pass::LowPass => omega,
            Pass::HighPass => 1.0 / omega,
        };
        // −10·log10(1 + ratio^{2n}), computed in the log domain to avoid overflow.
        let l = 2.0 * f64::from(self.order) * ratio.ln();
        let db = if l > 700.0 {
            -10.0 * l / std::f64::consts::LN_10
        } else {
            -10.0 * l.exp().ln_1p() / std::f64::consts::LN_10
        };
        db.max(-300.0)
    }
}

/// The Q of a second-order Butterworth section (1/√2).
pub const BUTTERWORTH_Q: f64 = FRAC_1_SQRT_2;

/// A cascade of biquad sections (e.g. the bands of an EQ) applied to several channels.
/// All channels share the coefficients and have their own state. Sections run in order,
/// sample by sample in `f64`, so precision is not lost between sections.
#[derive(Clone, Debug)]
pub struct FilterChain {
    sample_rate: f64,
    channels: usize,
    kinds: Vec<FilterKind>,
    coeffs: Vec<Coeffs>,
    /// `channels × sections`, channel-major.
    biquads: Vec<Biquad>,
}

impl FilterChain {
    /// Panics if `sample_rate` is not finite and positive.
    pub fn new(kinds: &[FilterKind], sample_rate: f64, channels: usize) -> Self {
        check_sample_rate(sample_rate);
        let coeffs: Vec<Coeffs> = kinds
            .iter()
            .map(|k| Coeffs::design(k, sample_rate))
            .collect();
        let mut biquads = Vec::with_capacity(channels * kinds.len());
        for _ in 0..channels {
            biquads.extend(coeffs.iter().map(|&c| Biquad::new(c)));
        }
        FilterChain {
            sample_rate,
            channels,
            kinds: kinds.to_vec(),
            coeffs,
            biquads,
        }
    }

    pub fn kinds(&self) -> &[FilterKind] {
        &self.kinds
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Replaces section `index` (keeping its state, so the change does not click more than the
    /// coefficient jump itself). Panics if `index` is out of range.
    pub fn set_band(&mut self, index: usize, kind: FilterKind) {
        let n = self.kinds.len();
        assert!(index < n, "band {index} out of range (chain has {n})");
        let c = Coeffs::design(&kind, self.sample_rate);
        self.kinds[index] = kind;
        self.coeffs[index] = c;
        for ch in 0..self.channels {
            self.biquads[ch * n + index].set_coeffs(c);
        }
    }

    pub fn reset(&mut self) {
        self.biquads.iter_mut().for_each(Biquad::reset);
    }

    fn process_one(&mut self, ch: usize, buf: &mut [f32]) {
        let n = self.kinds.len();
        let sections = &mut self.biquads[ch * n..(ch + 1) * n];
        for part in buf.chunks_mut(FLUSH_EVERY) {
            for x in part.iter_mut() {
                let mut v = f64::from(*x);
                for s in sections.iter_mut() {
                    v = s.tick(v);
                }
                *x = v as f32;
            }
            sections.iter_mut().for_each(Biquad::flush);
        }
    }

    /// Both channels of a stereo chain at once: the two recursions run side by side in one
    /// vector register, the same arithmetic per channel as [`FilterChain::process_one`] (so the
    /// same bits). Sections go in groups of [`PAIR_GROUP`], each group over the whole block.
    fn process_pair(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = self.kinds.len();
        let (a, b) = self.biquads.split_at_mut(n);
        for (pl, pr) in left
            .chunks_mut(FLUSH_EVERY)
            .zip(right.chunks_mut(FLUSH_EVERY))
        {
            for (ga, gb) in a.chunks_mut(PAIR_GROUP).zip(b.chunks_mut(PAIR_GROUP)) {
                pair_group(ga, gb, pl, pr);
            }
            a.iter_mut().chain(b.iter_mut()).for_each(Biquad::flush);
        }
    }

    /// Samples after which every section has forgotten its state to below 1e-20 of it (from
    /// the largest pole radius); `None` when a pole is too close to the unit circle to say.
    fn forget_samples(&self) -> Option<usize> {
        let r = self
            .coeffs
            .iter()
            .map(|c| pole_radius(c.a1, c.a2))
            .fold(0.0f64, f64::max);
        // (NaN coefficients fail this too)
        if r.is_nan() || r >= 1.0 - 1e-9 {
            return None;
        }
        // repeated poles decay like t·r^t: a quarter more
        let t = 1.25 * (-20.0 * std::f64::consts::LN_10 / r.ln()).max(0.0);
        (t < 1e9).then(|| t.ceil() as usize + 1)
    }

    /// Filters a whole mono signal (a one-channel chain) as time segments side by side in one
    /// vector register (four quarters with AVX, else two halves): each segment after the first
    /// starts from silence a warm-up before its start, long enough for every section to forget
    /// that start to below 1e-20, so the output equals one pass to far below `f32` resolution,
    /// two to four times as fast. The chain's state afterwards is the last segment's. Short
    /// signals, or chains that never forget, run in one pass.
    pub fn process_mono_whole(&mut self, x: &mut [f32]) {
        assert_eq!(
            self.channels, 1,
            "process_mono_whole takes a one-channel chain"
        );
        #[cfg(target_arch = "x86_64")]
        let lanes = if std::arch::is_x86_feature_detected!("avx") {
            4
        } else {
            2
        };
        #[cfg(not(target_arch = "x86_64"))]
        let lanes = 2;
        let n = x.len();
        let warm = match self.forget_samples() {
            Some(w) if self.kinds.len() <= PAIR_GROUP && n >= 4 * lanes * w.max(1024) => {
                // n - warm a multiple of the lanes: every lane the same length
                w + (n - w) % lanes
            }
            _ => return self.process_one(0, x),
        };
        // lane j reads x[j·(m - warm) .. j·(m - warm) + m] and keeps all but its warm-up
        // (lane 0, which carries the chain's state, keeps all of it)
        let m = (n - warm) / lanes + warm;
        let step = m - warm;
        let mut rest: Vec<f32> = Vec::with_capacity((lanes - 1) * m);
        for j in 1..lanes {
            rest.extend_from_slice(&x[j * step..j * step + m]);
        }
        let mut states: Vec<Vec<Biquad>> = (1..lanes)
            .map(|_| self.coeffs.iter().map(|&c| Biquad::new(c)).collect())
            .collect();
        let first = &mut self.biquads[..];
        let mut start = 0;
        while start < m {
            let len = FLUSH_EVERY.min(m - start);
            let (r1, r2) = rest.split_at_mut(m);
            match (lanes, states.as_mut_slice()) {
                #[cfg(target_arch = "x86_64")]
                (4, [b, c, d]) => {
                    let (r2, r3) = r2.split_at_mut(m);
                    // SAFETY: AVX is present (checked above)
                    unsafe {
                        quad_group_avx(
                            [first, b, c, d],
                            [
                                &mut x[start..start + len],
                                &mut r1[start..start + len],
                                &mut r2[start..start + len],
                                &mut r3[start..start + len],
                            ],
                        )
                    }
                    b.iter_mut()
                        .chain(c.iter_mut())
                        .chain(d.iter_mut())
                        .for_each(Biquad::flush);
                }
                (_, [b]) => {
                    pair_group(
                        first,
                        b,
                        &mut x[start..start + len],
                        &mut r1[start..start + len],
                    );
                    b.iter_mut().for_each(Biquad::flush);
                }
                _ => unreachable!("two or four lanes"),
            }
            first.iter_mut().for_each(Biquad::flush);
            start += len;
        }
        for j in 1..lanes {
            let lane = &rest[(j - 1) * m..j * m];
            x[j * step + warm..j * step + m].copy_from_slice(&lane[warm..]);
        }
        if let Some(last) = states.last() {
            self.biquads.clone_from_slice(last);
        }
    }

    /// Filters planar channels in place. Panics unless exactly `channels()` slices are given.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.process_planar(channels);
    }

    /// Same as [`FilterChain::process`] for owned planar buffers.
    pub fn process_channels(&mut self, channels: &mut [Vec<f32>]) {
        self.process_planar(channels);
    }

    /// A stereo pair of equal lengths runs both channels together, anything else one channel
    /// at a time.
    fn process_planar<B: AsMut<[f32]>>(&mut self, channels: &mut [B]) {
        assert_eq!(channels.len(), self.channels, "channel count mismatch");
        if let [l, r] = channels {
            let (l, r) = (l.as_mut(), r.as_mut());
            if l.len() == r.len() && self.kinds.len() <= PAIR_GROUP {
                return self.process_pair(l, r);
            }
        }
        for (ch, buf) in channels.iter_mut().enumerate() {
            self.process_one(ch, buf.as_mut());
        }
    }

    /// [`FilterChain::process`] on a stereo pair and, in the same pass, `tap` (a stereo chain
    /// of one section, such as a compressor's sidechain high-pass) on the result, into
    /// `tap_left`/`tap_right`: the same bits as filtering, copying the result and running
    /// `tap` on the copy, in about the time of the filtering alone (the tap's recursion runs
    /// beside the chain's instead of after it). Returns `false`, and does nothing, where it does
    /// not apply (not a pair of equal lengths, more than 8 sections, a longer tap, or not
    /// x86-64): the caller then does the three steps.
    pub fn process_pair_tapped(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        tap: &mut FilterChain,
        tap_left: &mut [f32],
        tap_right: &mut [f32],
    ) -> bool {
        let n = left.len();
        let m = self.kinds.len();
        if !cfg!(target_arch = "x86_64")
            || self.channels != 2
            || tap.channels != 2
            || tap.kinds.len() != 1
            || !(1..=8).contains(&m)
            || right.len() != n
            || tap_left.len() != n
            || tap_right.len() != n
        {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let (a, b) = self.biquads.split_at_mut(m);
            let (ta, tb) = tap.biquads.split_at_mut(1);
            let (ta, tb) = (&mut ta[0], &mut tb[0]);
            for (((pl, pr), tl), tr) in left
                .chunks_mut(FLUSH_EVERY)
                .zip(right.chunks_mut(FLUSH_EVERY))
                .zip(tap_left.chunks_mut(FLUSH_EVERY))
                .zip(tap_right.chunks_mut(FLUSH_EVERY))
            {
                let t = Tap {
                    a: &mut *ta,
                    b: &mut *tb,
                    left: tl,
                    right: tr,
                };
                // SAFETY: SSE2 is part of the x86-64 baseline; only slices and arrays are
                // accessed.
                unsafe {
                    match m {
                        1 => pair_fixed_tapped::<1>(a, b, pl, pr, t),
                        2 => pair_fixed_tapped::<2>(a, b, pl, pr, t),
                        3 => pair_fixed_tapped::<3>(a, b, pl, pr, t),
                        4 => pair_fixed_tapped::<4>(a, b, pl, pr, t),
                        5 => pair_fixed_tapped::<5>(a, b, pl, pr, t),
                        6 => pair_fixed_tapped::<6>(a, b, pl, pr, t),
                        7 => pair_fixed_tapped::<7>(a, b, pl, pr, t),
                        _ => pair_fixed_tapped::<8>(a, b, pl, pr, t),
                    }
                }
                a.iter_mut().chain(b.iter_mut()).for_each(Biquad::flush);
                ta.flush();
                tb.flush();
            }
        }
        true
    }

    /// Magnitude response of the whole chain in dB: the sum of the sections' realised
    /// (coefficient) responses.
    pub fn response_db(&self, freq_hz: f64) -> f64 {
        self.coeffs
            .iter()
            .map(|c| c.response(freq_hz, self.sample_rate).0)
            .sum()
    }
}
