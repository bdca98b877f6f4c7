//! Feed-forward, stereo-linked compressor for bus "glue" and per-track use.
//!
//! Signal flow per sample frame:
//!
//! 1. **Sidechain filter** (optional): each channel's detector input goes through a 2nd-order
//!    Butterworth high-pass at `sidechain_hpf_hz`, so bass does not pump the mix. The audio
//!    path is not filtered.
//! 2. **Level detector**, per channel, then **linked by the maximum** over channels: a signal
//!    present in only one channel is measured at the same level as the same signal in all of
//!    them (mean-power linking would read a one-sided signal 3 dB low on a stereo bus), and the
//!    one resulting gain is applied to every channel, so the stereo image does not shift.
//!    * [`Detector::Peak`]: the instantaneous magnitude |x| (sample peak, not inter-sample
//!      true peak); the threshold is a peak level.
//!    * [`Detector::Rms`]: the true RMS over a sliding rectangular window of `window_ms`; the
//!      threshold is an RMS level (a full-scale sine reads −3.01 dBFS).
//! 3. **Gain computer** in the log domain (Giannoulis, Massberg & Reiss, JAES 2012), with
//!    threshold T, ratio R and knee width W (dB), the gain reduction for input level x is
//!    * 0 for 2(x − T) ≤ −W,
//!    * (1 − 1/R)·(x − T + W/2)² / (2W) inside the knee |x − T| < W/2,
//!    * (1 − 1/R)·(x − T) above it.
//!
//!    The knee is centred on the threshold and the curve and its slope are continuous;
//!    W = 0 is a hard knee. [`Compressor::static_curve_db`] is x − GR + makeup.
//! 4. **Ballistics**: the gain reduction (GR) in dB is smoothed with branching one-poles,
//!    coefficient exp(−1/(τ·fs)): the attack τ while the GR increases, the release τ while it
//!    decreases. Two states:
//!    * the *release envelope* h of the demanded GR g (the gain computer's output): h = g when
//!      g ≥ h, otherwise h decays towards g with the release τ;
//!    * the *applied GR* y: while g > y it rises towards h with the attack τ; otherwise
//!      y = min(y, h), i.e. it falls exactly as fast as the release envelope.
//!
//!    On a level step both reduce to a plain one-pole, so the time constants are exact. The
//!    release envelope is what makes a steady tone come out on the static curve: a single
//!    branching one-pole fed the raw g spends most of each cycle of a sine in release
//!    (g dips to 0 at every zero crossing) and settles well short of the curve — 0.6 dB for a
//!    sine at 5 ms / 100 ms, 1.4 dB at 30 ms / 150 ms — whereas here the GR only drops by what
//!    the envelope loses between peaks (≈ 0.01 dB at 1 kHz, 0.07 dB at 200 Hz, 0.25 dB at
//!    50 Hz with a 100 ms release) and barely ripples within a cycle. Transients still pass:
//!    while g is high the GR rises with the attack τ exactly as a one-pole would, so a 5 ms
//!    burst under a 30 ms attack gets the same ≈ 15 % of its GR as from a one-pole. The price:
//!    after such a burst the partial GR is held until the release envelope has decayed to it
//!    (up to τ·ln(demanded / reached)) instead of releasing at once.
//!
//!    **Attack / release time = τ**: after a step in the demanded GR, the GR completes
//!    1 − 1/e ≈ 63.2 % of the change in `attack_ms` (or `release_ms`), and 90 % in 2.303·τ.
//!    With the peak detector and a constant-magnitude input this holds exactly; with the RMS
//!    detector the window adds its own rise time.
//! 5. **Auto release** (`auto_release = true`): a slow state follows the applied GR with a
//!    charge time constant of [`AUTO_RELEASE_CHARGE_MS`] and a release of
//!    [`AUTO_RELEASE_SLOW_FACTOR`] × `release_ms`; the GR used is the larger of the two.
//!    After a short transient the slow state has barely charged and the release is
//!    `release_ms`; after sustained gain reduction (≳ 1 s) the release stretches towards
//!    5 × `release_ms`, so dense passages do not pump.
//! 6. Gain 10^((makeup − GR)/20) is applied to every channel. With GR = 0 and makeup 0 the
//!    gain is exactly 1.0 and the audio passes bit-exactly.
//! 7. **Control rate.** Steps 3-6 run once per `K` samples on the step's loudest detector
//!    reading, and the gain moves in a straight line across the step, with
//!    `K = floor(min(attack, release) · fs / 200)` clamped to 1..16 (see
//!    [`Compressor::control_interval`]): per-sample for fast settings, and for a 30 ms glue
//!    attack at 44.1 kHz once per 6 samples, less than 1% of the time constant. A step sees
//!    its own samples, so the gain can start to move up to `K − 1` samples (at most 0.36 ms)
//!    before a level change. Steps restart at each `process` call.
//!
//! Parameter sanitising: ratio < 1 (or NaN) is treated as 1 (no compression), negative or NaN
//! times as 0 (instant), negative knee as 0, a non-finite threshold as "never compress", and a
//! sidechain high-pass at or below 0 Hz (or non-finite) as absent. RMS windows shorter than one
//! sample use one sample.
//!
//! Processing allocates nothing; all buffers are sized in [`Compressor::new`].

use crate::biquad::{Biquad, Coeffs, FilterChain, FilterKind, BUTTERWORTH_Q};

/// Charge time constant of the slow state used by `auto_release`.
pub const AUTO_RELEASE_CHARGE_MS: f64 = 300.0;
/// Release of the slow state used by `auto_release`, as a multiple of `release_ms`.
pub const AUTO_RELEASE_SLOW_FACTOR: f64 = 5.0;
/// Gain reduction above this counts as "active" in [`GainReductionStats`].
pub const ACTIVE_GR_DB: f64 = 0.1;
/// Levels of exact silence are reported as this.
const SILENCE_DB: f64 = -240.0;
/// 10·log10(2): decibels of power per doubling.
const DB_PER_OCTAVE_POWER: f64 = 3.010_299_956_639_812;
/// Gain reduction below this is flushed to 0 (ends the exponential tail; avoids subnormals).
const GR_FLOOR_DB: f64 = 1e-9;

/// Level detector of the sidechain. Serialised as `{ type = "peak" }` or
/// `{ type = "rms", window_ms = 10.0 }` (unknown keys are rejected in the `rms` form; serde
/// ignores extra keys next to the unit variant `peak`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Detector {
    Peak,
    Rms { window_ms: f64 },
}

/// Compressor settings (plain data for session files and reports). Every field must be given
/// except `sidechain_hpf_hz`, whose absence means "off" (TOML has no null, so a default of
/// `Some(..)` would make "off" impossible to write). Unknown fields are errors.
/// [`Default`] is a gentle bus glue setting.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressorParams {
    /// dBFS (peak or RMS, according to `detector`).
    pub threshold_db: f64,
    /// R:1 above the threshold; `f64::INFINITY` is a limiter curve.
    pub ratio: f64,
    /// Total knee width in dB, centred on the threshold; 0 = hard knee.
    pub knee_db: f64,
    /// Time constant τ (63 % of a gain-reduction increase).
    pub attack_ms: f64,
    /// Time constant τ (63 % of a gain-reduction decrease).
    pub release_ms: f64,
    pub makeup_db: f64,
    pub detector: Detector,
    /// Program-dependent release (see the module documentation).
    pub auto_release: bool,
    /// 2nd-order Butterworth high-pass on the detector input; `None` = off.
    pub sidechain_hpf_hz: Option<f64>,
}

impl Default for CompressorParams {
    fn default() -> Self {
        CompressorParams {
            threshold_db: -18.0,
            ratio: 2.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 150.0,
            makeup_db: 0.0,
            detector: Detector::Rms { window_ms: 10.0 },
            auto_release: true,
            sidechain_hpf_hz: Some(80.0),
        }
    }
}

/// Gain reduction (positive dB = attenuation) over everything processed since construction or
/// the last reset, one value per sample frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GainReductionStats {
    /// Largest gain reduction.
    pub max_db: f64,
    /// Mean over all frames.
    pub mean_db: f64,
    /// Mean over the frames where the gain reduction exceeded [`ACTIVE_GR_DB`] (0 if none).
    pub mean_active_db: f64,
    /// Fraction of frames where the gain reduction exceeded [`ACTIVE_GR_DB`].
    pub active_fraction: f64,
}

/// One-pole coefficient for time constant `ms`: exp(−1/(τ·fs)), 0 for τ = 0.
fn coeff(ms: f64, sample_rate: f64) -> f64 {
    let ms = if ms.is_nan() { 0.0 } else { ms.max(0.0) };
    if ms == 0.0 {
        0.0
    } else {
        (-1000.0 / (ms * sample_rate)).exp()
    }
}

/// Gain reduction (≥ 0 dB) of the static curve at input level `x_db`.
fn static_gain_reduction(p: &CompressorParams, x_db: f64) -> f64 {
    let ratio = if p.ratio.is_nan() {
        1.0
    } else {
        p.ratio.max(1.0)
    };
    let slope = 1.0 - 1.0 / ratio;
    if slope == 0.0 || !p.threshold_db.is_finite() {
        return 0.0;
    }
    let knee = if p.knee_db.is_nan() {
        0.0
    } else {
        p.knee_db.max(0.0)
    };
    let over = x_db - p.threshold_db;
    if 2.0 * over <= -knee {
        0.0
    } else if 2.0 * over < knee {
        let k = over + 0.5 * knee;
        slope * k * k / (2.0 * knee)
    } else {
        slope * over
    }
}

#[derive(Clone, Debug)]
pub struct Compressor {
    params: CompressorParams,
    sample_rate: f64,
    channels: usize,
    /// Detector level (mean square for RMS, magnitude for peak) at or below which the static
    /// curve asks for no reduction: the logarithm is skipped there.
    quiet_below: f64,
    attack: f64,
    release: f64,
    slow_attack: f64,
    slow_release: f64,
    makeup_db: f64,
    /// Samples per control step: the gain computer runs once per step (on the step's loudest
    /// detector reading) and the gain moves in a straight line across the step.
    control: usize,
    /// Linear gain applied at the end of the last step.
    gain_prev: f64,
    /// attack, release, slow attack, slow release coefficients for one control step.
    step_coeffs: [f64; 4],
    /// One sidechain high-pass per channel (empty when off).
    sidechain: Vec<Biquad>,
    /// RMS window length in samples (0 for the peak detector).
    window: usize,
    /// Squared detector input, `channels × window`, channel-major ring buffers.
    ring: Vec<f64>,
    sums: Vec<f64>,
    pos: usize,
    /// Release envelope of the demanded GR.
    gr_held: f64,
    /// Applied GR before auto release.
    gr_fast: f64,
    /// Slow auto-release state.
    gr_slow: f64,
    gr: f64,
    frames: u64,
    active_frames: u64,
    sum_db: f64,
    active_sum_db: f64,
    max_db: f64,
}

impl Compressor {
    /// Panics if `sample_rate` is not finite and positive.
    pub fn new(params: CompressorParams, sample_rate: f64, channels: usize) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive, got {sample_rate}"
        );
        let sidechain = match params.sidechain_hpf_hz {
            Some(f) if f.is_finite() && f > 0.0 => {
                let c = Coeffs::design(
                    &FilterKind::HighPass {
                        freq_hz: f,
                        q: BUTTERWORTH_Q,
                    },
                    sample_rate,
                );
                vec![Biquad::new(c); channels]
            }
            _ => Vec::new(),
        };
        let window = match params.detector {
            Detector::Peak => 0,
            Detector::Rms { window_ms } => {
                let w = if window_ms.is_finite() {
                    (window_ms * 1e-3 * sample_rate).round()
                } else {
                    1.0
                };
                w.max(1.0) as usize
            }
        };
        // below the knee's lower edge the static curve is flat at zero reduction
        let quiet_below = {
            let knee = if params.knee_db.is_nan() {
                0.0
            } else {
                params.knee_db.max(0.0)
            };
            let edge_db = params.threshold_db - 0.5 * knee;
            if !edge_db.is_finite() {
                0.0
            } else if window == 0 {
                10f64.powf(edge_db / 20.0)
            } else {
                10f64.powf(edge_db / 10.0)
            }
        };
        // One gain computation per `control` samples: at most 1/50 of the shortest time
        // constant (the gain is interpolated across the step, so the ballistics lag by half a
        // step: 1% of the time constant), at most 16 samples.
        let control = {
            let tau = params.attack_ms.min(params.release_ms);
            if tau.is_finite() && tau > 0.0 {
                ((tau * 1e-3 * sample_rate / 50.0).floor() as usize).clamp(1, 16)
            } else {
                1
            }
        };
        let makeup_lin = if params.makeup_db.is_finite() {
            (params.makeup_db * (std::f64::consts::LN_10 / 20.0)).exp()
        } else {
            1.0
        };
        let step = |ms: f64| coeff(ms, sample_rate).powi(control as i32);
        let step_coeffs = [
            step(params.attack_ms),
            step(params.release_ms),
            step(AUTO_RELEASE_CHARGE_MS),
            step(params.release_ms * AUTO_RELEASE_SLOW_FACTOR),
        ];
        Compressor {
            step_coeffs,
            control,
            gain_prev: makeup_lin,
            quiet_below,
            attack: coeff(params.attack_ms, sample_rate),
            release: coeff(params.release_ms, sample_rate),
            slow_attack: coeff(AUTO_RELEASE_CHARGE_MS, sample_rate),
            slow_release: coeff(params.release_ms * AUTO_RELEASE_SLOW_FACTOR, sample_rate),
            makeup_db: if params.makeup_db.is_finite() {
                params.makeup_db
            } else {
                0.0
            },
            params,
            sample_rate,
            channels,
            sidechain,
            window,
            ring: vec![0.0; window * channels],
            sums: vec![0.0; channels],
            pos: 0,
            gr_held: 0.0,
            gr_fast: 0.0,
            gr_slow: 0.0,
            gr: 0.0,
            frames: 0,
            active_frames: 0,
            sum_db: 0.0,
            active_sum_db: 0.0,
            max_db: 0.0,
        }
    }

    /// Samples per control step of the gain computer (1 for fast time constants; up to 16
    /// when the shortest time constant is 50 or more times longer).
    pub fn control_interval(&self) -> usize {
        self.control
    }

    pub fn params(&self) -> &CompressorParams {
        &self.params
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Output level (dB) of the static curve, makeup gain included, for a steady input level
    /// `input_level_db` (measured the way `params.detector` measures).
    pub fn static_curve_db(params: &CompressorParams, input_level_db: f64) -> f64 {
        let makeup = if params.makeup_db.is_finite() {
            params.makeup_db
        } else {
            0.0
        };
        input_level_db - static_gain_reduction(params, input_level_db) + makeup
    }

    /// Current gain reduction in dB (positive = attenuation, makeup not included).
    pub fn gain_reduction_db(&self) -> f64 {
        self.gr
    }

    pub fn stats(&self) -> GainReductionStats {
        let mean = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
        GainReductionStats {
            max_db: self.max_db,
            mean_db: mean(self.sum_db, self.frames),
            mean_active_db: mean(self.active_sum_db, self.active_frames),
            active_fraction: mean(self.active_frames as f64, self.frames),
        }
    }

    /// Forgets the statistics but keeps the processing state.
    pub fn reset_stats(&mut self) {
        self.frames = 0;
        self.active_frames = 0;
        self.sum_db = 0.0;
        self.active_sum_db = 0.0;
        self.max_db = 0.0;
    }

    /// Returns to the state after construction (silence history, no statistics).
    pub fn reset(&mut self) {
        self.sidechain.iter_mut().for_each(Biquad::reset);
        self.ring.iter_mut().for_each(|x| *x = 0.0);
        self.sums.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
        self.gain_prev = if self.makeup_db != 0.0 {
            (self.makeup_db * (std::f64::consts::LN_10 / 20.0)).exp()
        } else {
            1.0
        };
        self.gr_held = 0.0;
        self.gr_fast = 0.0;
        self.gr_slow = 0.0;
        self.gr = 0.0;
        self.reset_stats();
    }

    /// Compresses planar channels in place. Panics unless exactly `channels()` slices of equal
    /// length are given.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.process_impl(channels, None);
    }

    /// Same as [`Compressor::process`] for owned planar buffers.
    pub fn process_channels(&mut self, channels: &mut [Vec<f32>]) {
        self.process_impl(channels, None);
    }

    /// A whole mono signal from a fresh compressor: the sidechain high-pass runs first over
    /// all of it (two halves side by side, see [`FilterChain::process_mono_whole`]), so the
    /// detector loop no longer waits on the filter's recursion. The same result as
    /// [`Compressor::process`] up to the `f32` rounding of the filtered sidechain. Falls back to
    /// `process` for a compressor that has already run or has no sidechain filter.
    pub fn process_mono_whole(&mut self, x: &mut [f32]) {
        assert_eq!(
            self.channels, 1,
            "process_mono_whole takes a one-channel compressor"
        );
        let Some(mut chain) = self.sidechain_filter().filter(|_| self.frames == 0) else {
            return self.process(&mut [x]);
        };
        let mut side = x.to_vec();
        chain.process_mono_whole(&mut side);
        // the filter has been applied: the detector reads `side` as it is
        let filters = std::mem::take(&mut self.sidechain);
        self.process_impl(&mut [x], Some(&[&side[..]]));
        self.sidechain = filters;
    }

    /// The sidechain high-pass as a filter chain over all channels (`None` when off), for a
    /// caller that filters the detector signal itself, e.g. on another thread, and then calls
    /// [`Compressor::process_prefiltered`]. Starts from silence, like a new compressor.
    pub fn sidechain_filter(&self) -> Option<FilterChain> {
        match self.params.sidechain_hpf_hz {
            Some(f) if f.is_finite() && f > 0.0 && !self.sidechain.is_empty() => {
                Some(FilterChain::new(
                    &[FilterKind::HighPass {
                        freq_hz: f,
                        q: BUTTERWORTH_Q,
                    }],
                    self.sample_rate,
                    self.channels,
                ))
            }
            _ => None,
        }
    }

    /// [`Compressor::process`] with the detector reading `detector` (one slice per channel,
    /// the block's audio through [`Compressor::sidechain_filter`], which the caller runs over
    /// the whole signal in order) instead of filtering the audio itself. The same result up to
    /// the `f32` rounding of the filtered sidechain. Without a sidechain filter, `detector` is
    /// the audio itself.
    pub fn process_prefiltered(&mut self, channels: &mut [&mut [f32]], detector: &[&[f32]]) {
        assert_eq!(
            detector.len(),
            self.channels,
            "detector channel count mismatch"
        );
        let filters = std::mem::take(&mut self.sidechain);
        self.process_impl(channels, Some(detector));
        self.sidechain = filters;
    }

    /// `detector`: the sidechain signals, already filtered, instead of the audio.
    fn process_impl<B: AsMut<[f32]> + AsRef<[f32]>>(
        &mut self,
        bufs: &mut [B],
        detector: Option<&[&[f32]]>,
    ) {
        assert_eq!(bufs.len(), self.channels, "channel count mismatch");
        let len = bufs.first_mut().map_or(0, |b| b.as_mut().len());
        assert!(
            bufs.iter_mut().all(|b| b.as_mut().len() == len),
            "all channels must have the same length"
        );
        let k = self.control;
        let mut i = 0;
        while i < len {
            let l = k.min(len - i);
            let mut level = match detector {
                Some(d) => self.detect_step(d, i, l),
                None => self.detect_step(bufs, i, l),
            };
            if self.window > 0 {
                level = level.max(0.0) / self.window as f64;
            }
            // the sidechain filters skip the per-sample denormal check; flush once per step
            self.sidechain.iter_mut().for_each(Biquad::flush);
            let level_db = self.level_db(level);
            let gr = self.smooth(static_gain_reduction(&self.params, level_db), l);
            for _ in 0..l {
                self.account(gr);
            }
            let gain_db = self.makeup_db - gr;
            let g = if gain_db == 0.0 {
                1.0
            } else {
                (gain_db * (std::f64::consts::LN_10 / 20.0)).exp()
            };
            let from = self.gain_prev;
            if g != 1.0 || from != 1.0 {
                let step = (g - from) / l as f64;
                for b in bufs.iter_mut() {
                    for (j, x) in b.as_mut()[i..i + l].iter_mut().enumerate() {
                        let gj = if j + 1 == l {
                            g
                        } else {
                            from + step * (j + 1) as f64
                        };
                        *x = (f64::from(*x) * gj) as f32;
                    }
                }
            }
            self.gain_prev = g;
            i += l;
        }
    }

    /// Largest linked detector reading over frames `i..i + l`: the window's sum of squares
    /// (RMS detector; the caller divides by the window length) or the magnitude (peak
    /// detector). Channel by channel: the maximum over frames and channels is the same in any
    /// order, and each channel's loop stays tight.
    fn detect_step<B: AsRef<[f32]>>(&mut self, bufs: &[B], i: usize, l: usize) -> f64 {
        let w = self.window;
        let mut level = 0.0f64;
        let mut end_pos = self.pos;
        for (c, b) in bufs.iter().enumerate() {
            let data = &b.as_ref()[i..i + l];
            // a local copy of the filter keeps its state in registers through the loop
            let mut sc = self.sidechain.get(c).cloned();
            let mut filt = |v: f32| {
                let x = f64::from(v);
                match sc.as_mut() {
                    Some(f) => f.tick(x),
                    None => x,
                }
            };
            if w == 0 {
                for &v in data {
                    level = level.max(filt(v).abs());
                }
                if let (Some(dst), Some(src)) = (self.sidechain.get_mut(c), sc) {
                    *dst = src;
                }
                continue;
            }
            let ring = &mut self.ring[c * w..(c + 1) * w];
            let mut pos = self.pos;
            let mut sum = self.sums[c];
            for &v in data {
                let x = filt(v);
                let sq = x * x;
                sum += sq - ring[pos];
                ring[pos] = sq;
                pos += 1;
                if pos == w {
                    // Once per window, recompute the running sum exactly so rounding cannot
                    // drift (amortised O(1) per sample).
                    pos = 0;
                    sum = ring.iter().sum();
                }
                level = level.max(sum);
            }
            self.sums[c] = sum;
            end_pos = pos;
            if let (Some(dst), Some(src)) = (self.sidechain.get_mut(c), sc) {
                *dst = src;
            }
        }
        self.pos = end_pos;
        level
    }

    /// Detector level in dB (mean square or magnitude, as the detector gives it).
    #[inline]
    fn level_db(&self, level: f64) -> f64 {
        if level <= self.quiet_below {
            // no reduction asked for: any level under the knee gives the same result
            SILENCE_DB
        } else if self.window > 0 {
            // single precision logarithm: 1e-6 dB error, twice as fast
            f64::from((level as f32).log2()) * DB_PER_OCTAVE_POWER
        } else if level > 0.0 {
            2.0 * f64::from((level as f32).log2()) * DB_PER_OCTAVE_POWER
        } else {
            SILENCE_DB
        }
    }

    /// Attack/release smoothing of the target gain reduction; returns the GR to apply.
    #[inline]
    fn smooth(&mut self, target: f64, steps: usize) -> f64 {
        // coefficients for a step of `steps` samples
        let [attack, release, slow_attack, slow_release] = if steps == self.control {
            self.step_coeffs
        } else {
            let p = |c: f64| c.powi(steps as i32);
            [
                p(self.attack),
                p(self.release),
                p(self.slow_attack),
                p(self.slow_release),
            ]
        };
        let floor = |v: f64| if v < GR_FLOOR_DB { 0.0 } else { v };
        // Release envelope of the demanded GR: catches increases instantly, decays with the
        // release time constant.
        self.gr_held = floor(if target >= self.gr_held {
            target
        } else {
            release * self.gr_held + (1.0 - release) * target
        });
        // Applied GR: attack (towards the envelope) only while the demand exceeds it; otherwise
        // it never falls faster than the release envelope.
        self.gr_fast = if target > self.gr_fast {
            floor(attack * self.gr_fast + (1.0 - attack) * self.gr_held)
        } else {
            self.gr_fast.min(self.gr_held)
        };
        self.gr = if self.params.auto_release {
            let a = if self.gr_fast > self.gr_slow {
                slow_attack
            } else {
                slow_release
            };
            self.gr_slow = floor(a * self.gr_slow + (1.0 - a) * self.gr_fast);
            self.gr_fast.max(self.gr_slow)
        } else {
            self.gr_fast
        };
        self.gr
    }

    #[inline]
    fn account(&mut self, gr: f64) {
        self.frames += 1;
        self.sum_db += gr;
        self.max_db = self.max_db.max(gr);
        if gr > ACTIVE_GR_DB {
            self.active_frames += 1;
            self.active_sum_db += gr;
        }
    }
}
