//! Split-band de-esser for vocals.
//!
//! # Topology
//!
//! 1. **Sibilance band**: each channel goes through a band-pass b = BP(x) centred on `freq_hz`
//!    (RBJ constant 0 dB peak gain, Q = [`BAND_Q`] = 1.4: −3 dB points about half an octave
//!    either side, 4.9-9.9 kHz for 7 kHz).
//! 2. **Detector**: the mean square of the band, P_b, and of the full-band input, P_f, each
//!    smoothed by a one-pole of time constant [`DETECTOR_MS`] and summed over channels (so a
//!    stereo vocal is linked: one gain for all channels). Levels are RMS dB, 10·log10(P) (a sine
//!    of amplitude A reads 20·log10(A) − 3.01 dB).
//! 3. **Gain computer**: sibilance is band energy that is large *relative to the whole voice*,
//!    so the threshold is relative: the band exceeds it by
//!
//!    ```text
//!    over = band_db − max(full_db + threshold_db, ABSOLUTE_FLOOR_DB)
//!    ```
//!
//!    and the demanded reduction is `min(over, max_reduction_db)` when `over > 0`, else 0:
//!    the band is pulled down by as much as it sticks out (an ∞:1 ratio with a hard knee),
//!    never by more than `max_reduction_db`. The detector looks at the input (feed-forward).
//!    Because the band is part of the full-band signal, band_db − full_db is at most about
//!    0 dB (a pure tone at `freq_hz`); a typical vowel reads −20 to −35 dB and an "s" −0 to
//!    −6 dB, hence the default `threshold_db` of −12. [`ABSOLUTE_FLOOR_DB`] keeps quiet breaths
//!    and hiss (band below −60 dB RMS) from being treated as sibilance.
//! 4. **Ballistics**: the reduction (dB) follows the demand with a one-pole of time constant
//!    `attack_ms` while it rises and `release_ms` while it falls (63 % of a step in τ);
//!    reductions below 1e-6 dB (a gain within 1.2e-7 of 1, the resolution of `f32`) are set
//!    to exactly 0.
//! 5. **Split-band gain**: with g = 10^(−reduction/20), the output is x + (g − 1)·b. This is a
//!    peaking filter (s² + g·s/Q + 1)/(s² + s/Q + 1) whose gain is exactly g at `freq_hz` and
//!    tends to 1 away from it: only the sibilance band is turned down; the rest of the voice is
//!    not touched. When the reduction is 0 the samples are not written at all, so a signal
//!    whose sibilance never exceeds the threshold comes out **bit-identical**.
//!
//! # Sanitising
//!
//! A non-finite `threshold_db` never acts; `max_reduction_db` is clamped to [0, 40] (NaN → 0,
//! i.e. off); negative or NaN times count as 0 (instant); `freq_hz` follows the clamping rules
//! of [`crate::biquad`] (into [1e-5·fs, 0.49·fs]; NaN → 7 kHz). At 8 or 11 kHz sample rates the
//! band therefore sits just below Nyquist.
//!
//! Processing allocates nothing; all state is sized in [`DeEsser::new`].

use crate::biquad::{Biquad, Coeffs, FilterKind};

/// Q of the sibilance band-pass.
pub const BAND_Q: f64 = 1.4;
/// Time constant of the band and full-band power detectors.
pub const DETECTOR_MS: f64 = 5.0;
/// The band must exceed this RMS level (dBFS) to count as sibilance at all.
pub const ABSOLUTE_FLOOR_DB: f64 = -60.0;
const GR_FLOOR_DB: f64 = 1e-6;
const POWER_FLOOR: f64 = 1e-30;

/// De-esser settings. In TOML e.g. `{ freq_hz = 6500.0, threshold_db = -10.0 }`; omitted
/// fields take their [`Default`] values, unknown fields are errors.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeEsserParams {
    /// Centre of the sibilance band (detection and reduction).
    pub freq_hz: f64,
    /// Band level relative to the full-band level above which the band is reduced (dB, ≤ 0 in
    /// practice).
    pub threshold_db: f64,
    /// Largest reduction of the band (dB, positive).
    pub max_reduction_db: f64,
    /// Time constant τ of an increase of the reduction.
    pub attack_ms: f64,
    /// Time constant τ of a decrease of the reduction.
    pub release_ms: f64,
}

impl Default for DeEsserParams {
    fn default() -> Self {
        DeEsserParams {
            freq_hz: 7000.0,
            threshold_db: -12.0,
            max_reduction_db: 6.0,
            attack_ms: 1.0,
            release_ms: 60.0,
        }
    }
}

impl DeEsserParams {
    /// Steady-state reduction (dB) for a band RMS level `band_db` and a full-band RMS level
    /// `full_db` (both dBFS, as the detector measures them).
    pub fn static_reduction_db(&self, band_db: f64, full_db: f64) -> f64 {
        let max = sanitize_max(self.max_reduction_db);
        if !self.threshold_db.is_finite() || max == 0.0 {
            return 0.0;
        }
        let over = band_db - (full_db + self.threshold_db).max(ABSOLUTE_FLOOR_DB);
        if over > 0.0 {
            over.min(max)
        } else {
            0.0
        }
    }
}

fn sanitize_max(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 40.0)
    }
}

/// One-pole coefficient for time constant `ms`: exp(−1/(τ·fs)), 0 for τ ≤ 0 or NaN.
fn coeff(ms: f64, sample_rate: f64) -> f64 {
    if ms.is_nan() || ms <= 0.0 {
        0.0
    } else {
        (-1000.0 / (ms * sample_rate)).exp()
    }
}

#[derive(Clone, Debug)]
pub struct DeEsser {
    params: DeEsserParams,
    sample_rate: f64,
    channels: usize,
    /// One band-pass per channel.
    band: Vec<Biquad>,
    /// This frame's band signal per channel.
    scratch: Vec<f64>,
    detector: f64,
    attack: f64,
    release: f64,
    /// 10^(threshold/10): P_b above P_f·this exceeds the relative threshold.
    rel_threshold: f64,
    /// 10^(ABSOLUTE_FLOOR_DB/10).
    abs_floor: f64,
    threshold_db: f64,
    max_db: f64,
    active: bool,
    pb: f64,
    pf: f64,
    gr: f64,
    max_gr: f64,
}

impl DeEsser {
    /// Panics if `sample_rate` is not finite and positive.
    pub fn new(params: DeEsserParams, sample_rate: f64, channels: usize) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive, got {sample_rate}"
        );
        let freq_hz = if params.freq_hz.is_nan() {
            DeEsserParams::default().freq_hz
        } else {
            params.freq_hz
        };
        let c = Coeffs::design(&FilterKind::BandPass { freq_hz, q: BAND_Q }, sample_rate);
        let max_db = sanitize_max(params.max_reduction_db);
        let active = params.threshold_db.is_finite() && max_db > 0.0;
        DeEsser {
            sample_rate,
            channels,
            band: vec![Biquad::new(c); channels],
            scratch: vec![0.0; channels],
            detector: coeff(DETECTOR_MS, sample_rate),
            attack: coeff(params.attack_ms, sample_rate),
            release: coeff(params.release_ms, sample_rate),
            rel_threshold: if active {
                10f64.powf(params.threshold_db / 10.0)
            } else {
                0.0
            },
            abs_floor: 10f64.powf(ABSOLUTE_FLOOR_DB / 10.0),
            threshold_db: params.threshold_db,
            max_db,
            active,
            params,
            pb: 0.0,
            pf: 0.0,
            gr: 0.0,
            max_gr: 0.0,
        }
    }

    pub fn params(&self) -> &DeEsserParams {
        &self.params
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Current reduction of the sibilance band in dB (positive = attenuation).
    pub fn gain_reduction_db(&self) -> f64 {
        self.gr
    }

    /// Largest reduction since construction or the last reset.
    pub fn max_gain_reduction_db(&self) -> f64 {
        self.max_gr
    }

    pub fn reset(&mut self) {
        self.band.iter_mut().for_each(Biquad::reset);
        self.pb = 0.0;
        self.pf = 0.0;
        self.gr = 0.0;
        self.max_gr = 0.0;
    }

    /// De-esses planar channels in place. Panics unless exactly `channels()` slices of equal
    /// length are given.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        assert_eq!(channels.len(), self.channels, "channel count mismatch");
        let n = channels.first().map_or(0, |c| c.len());
        assert!(
            channels.iter().all(|c| c.len() == n),
            "all channels must have the same length"
        );
        let k = 1.0 - self.detector;
        for i in 0..n {
            let (mut sb, mut sf) = (0.0, 0.0);
            for (c, ch) in channels.iter().enumerate() {
                let x = f64::from(ch[i]);
                let b = self.band[c].process_f64(x);
                self.scratch[c] = b;
                sb += b * b;
                sf += x * x;
            }
            self.pb += k * (sb - self.pb);
            self.pf += k * (sf - self.pf);
            if self.pb < POWER_FLOOR {
                self.pb = 0.0;
            }
            if self.pf < POWER_FLOOR {
                self.pf = 0.0;
            }
            let target = self.demand();
            let a = if target > self.gr {
                self.attack
            } else {
                self.release
            };
            self.gr = target + a * (self.gr - target);
            if self.gr < GR_FLOOR_DB {
                self.gr = 0.0;
            }
            if self.gr > 0.0 {
                self.max_gr = self.max_gr.max(self.gr);
                let g = (-self.gr * (std::f64::consts::LN_10 / 20.0)).exp();
                for (c, ch) in channels.iter_mut().enumerate() {
                    ch[i] = (f64::from(ch[i]) + (g - 1.0) * self.scratch[c]) as f32;
                }
            }
        }
    }

    /// Demanded reduction for the current detector state.
    #[inline]
    fn demand(&self) -> f64 {
        if !self.active {
            return 0.0;
        }
        let limit = (self.pf * self.rel_threshold).max(self.abs_floor);
        if self.pb <= limit {
            return 0.0;
        }
        let band_db = 10.0 * self.pb.log10();
        let full_db = 10.0 * self.pf.max(POWER_FLOOR).log10();
        let over = band_db - (full_db + self.threshold_db).max(ABSOLUTE_FLOOR_DB);
        over.clamp(0.0, self.max_db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_curve() {
        let p = DeEsserParams::default();
        // a pure tone at the band centre: band = full
        assert_eq!(p.static_reduction_db(-10.0, -10.0), 6.0);
        // 3 dB over the relative threshold
        assert!((p.static_reduction_db(-23.0, -14.0) - 3.0).abs() < 1e-12);
        // below the relative threshold
        assert_eq!(p.static_reduction_db(-30.0, -10.0), 0.0);
        // below the absolute floor
        assert_eq!(p.static_reduction_db(-65.0, -65.0), 0.0);
        let off = DeEsserParams {
            max_reduction_db: f64::NAN,
            ..p
        };
        assert_eq!(off.static_reduction_db(0.0, 0.0), 0.0);
    }

    #[test]
    fn silence_in_silence_out_without_state_build_up() {
        let mut d = DeEsser::new(DeEsserParams::default(), 48_000.0, 2);
        let mut l = vec![0.0f32; 1000];
        let mut r = vec![0.0f32; 1000];
        d.process(&mut [&mut l, &mut r]);
        assert!(l.iter().chain(&r).all(|&x| x == 0.0));
        assert_eq!(d.gain_reduction_db(), 0.0);
    }
}
