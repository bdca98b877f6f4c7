//! Hiss reduction: a spectral gate on a short-time Fourier transform, driven by a noise profile.
//!
//! # Signal path
//!
//! Frames of about 46 ms (2048 samples at 44.1/48 kHz), Hann window, 75 % overlap; the same
//! Hann window again on synthesis, and the overlap-add divided by 1.5 (the constant sum of the
//! squared windows at this overlap), so a gain of 1 in every bin gives the input back exactly
//! (up to float rounding). All channels share one gain per bin (computed from their mean power),
//! so a stereo image does not wander.
//!
//! # Gain per bin
//!
//! 1. The bin powers are smoothed over frequency (1-2-1) and over time (a one-pole of
//!    [`SMOOTH_MS`]) — this is what keeps random noise peaks from opening single bins, the
//!    "musical noise" of a naive spectral subtraction.
//! 2. That level is compared with the noise profile's expected bin power: up to `threshold_db`
//!    above the noise the bin gets `floor_db`; `OPEN_DB` higher it is fully open (gain exactly 1);
//!    in between the gain in dB rises linearly with the level in dB.
//! 3. The gain opens at once and closes at `release_db_per_s`, so decays are not chopped.
//! 4. The gains are smoothed over frequency (1-2-1) once more.
//!
//! # Latency
//!
//! [`Denoiser::process_block`] streams with a latency of one frame ([`Denoiser::latency`]);
//! [`Denoiser::process_buffer`] processes whole channels and compensates it, so the output is
//! aligned with the input and has the same length. Nothing is allocated after construction.

use super::db_to_pow;
use super::noise::NoiseProfile;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Parameters of the denoiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenoiseParams {
    /// The noise to remove.
    pub profile: NoiseProfile,
    /// Gain of a bin that holds only noise, dB (negative, e.g. -25).
    pub floor_db: f64,
    /// How far above the noise a bin must rise before it starts to open, dB.
    pub threshold_db: f64,
    /// How fast a bin's gain falls once the signal in it has gone, dB per second.
    pub release_db_per_s: f64,
}

/// Time constant of the level smoothing before the gain rule, ms.
pub const SMOOTH_MS: f64 = 15.0;
/// A bin is fully open this far above the threshold, dB.
pub const OPEN_DB: f64 = 9.0;

/// Frame length for a sample rate: about 46 ms, a power of two.
pub fn frame_size(sample_rate: u32) -> usize {
    ((f64::from(sample_rate) * 0.046).round() as usize)
        .next_power_of_two()
        .clamp(256, 16384)
}

/// STFT spectral gate. See the module documentation.
pub struct Denoiser {
    channels: usize,
    size: usize,
    hop: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    /// Inverse of the expected noise power of each bin times the threshold (0 where there is
    /// no noise) ...
    inv_thr: Vec<f64>,
    /// ... and what is added to the level ratio: enough to open a bin without noise, else 0.
    open_bias: Vec<f64>,
    /// floor_db, per-frame release (dB), smoothing coefficient.
    floor_db: f64,
    release_step_db: f64,
    smooth_a: f64,
    /// Level smoothed over time, per bin.
    level: Vec<f64>,
    /// Current gain per bin, dB.
    gain_db: Vec<f64>,
    /// Gain of each bin this frame, linear, before frequency smoothing.
    amp: Vec<f64>,
    /// Gains of this frame (linear, after frequency smoothing).
    gain: Vec<f32>,
    power: Vec<f64>,
    /// Per channel: the last `size` input samples.
    in_frame: Vec<Vec<f32>>,
    /// Per channel: overlap-add accumulator.
    out_acc: Vec<Vec<f32>>,
    /// Per channel: the `hop` samples being emitted.
    out_ready: Vec<Vec<f32>>,
    spectra: Vec<Vec<Complex<f32>>>,
    time_buf: Vec<f32>,
    scratch_fwd: Vec<Complex<f32>>,
    scratch_inv: Vec<Complex<f32>>,
    /// Position within the current hop.
    fill: usize,
    bypass: bool,
}

impl Denoiser {
    pub fn new(params: &DenoiseParams, sample_rate: u32, channels: usize) -> Self {
        assert!(sample_rate > 0, "sample rate must be positive");
        let size = frame_size(sample_rate);
        let hop = size / 4;
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(size);
        let inv = planner.plan_fft_inverse(size);
        let window: Vec<f32> = (0..size)
            .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / size as f64).cos()) as f32)
            .collect();
        let win_power: f64 = window.iter().map(|&w| f64::from(w).powi(2)).sum();
        let thr = db_to_pow(params.threshold_db);
        let noise_thr: Vec<f64> = params
            .profile
            .bin_power(sample_rate, size, win_power)
            .into_iter()
            .map(|p| p * thr)
            .collect();
        // no noise anywhere, or no cut (NaN parameters count as neither)
        let bypass = noise_thr.iter().all(|&p| p.is_nan() || p <= 0.0)
            || params.floor_db.is_nan()
            || params.floor_db >= 0.0;
        let frame_s = hop as f64 / f64::from(sample_rate);
        let bins = size / 2 + 1;
        Denoiser {
            channels,
            size,
            hop,
            scratch_fwd: fwd.make_scratch_vec(),
            scratch_inv: inv.make_scratch_vec(),
            spectra: (0..channels).map(|_| fwd.make_output_vec()).collect(),
            fwd,
            inv,
            window,
            inv_thr: noise_thr
                .iter()
                .map(|&t| if t > 0.0 { 1.0 / t } else { 0.0 })
                .collect(),
            open_bias: noise_thr
                .iter()
                .map(|&t| if t > 0.0 { 0.0 } else { db_to_pow(OPEN_DB) })
                .collect(),
            floor_db: params.floor_db.min(0.0),
            release_step_db: params.release_db_per_s.max(0.0) * frame_s,
            smooth_a: (-frame_s / (SMOOTH_MS * 1e-3)).exp(),
            level: vec![0.0; bins],
            gain_db: vec![params.floor_db.min(0.0); bins],
            amp: vec![1.0; bins],
            gain: vec![1.0; bins],
            power: vec![0.0; bins],
            in_frame: vec![vec![0.0; size]; channels],
            out_acc: vec![vec![0.0; size]; channels],
            out_ready: vec![vec![0.0; hop]; channels],
            time_buf: vec![0.0; size],
            fill: 0,
            bypass,
        }
    }

    /// Delay of [`Denoiser::process_block`], samples.
    pub fn latency(&self) -> usize {
        self.size
    }

    /// Frame length, samples.
    pub fn frame_len(&self) -> usize {
        self.size
    }

    /// Back to the state of a new denoiser.
    pub fn reset(&mut self) {
        for c in 0..self.channels {
            self.in_frame[c].iter_mut().for_each(|v| *v = 0.0);
            self.out_acc[c].iter_mut().for_each(|v| *v = 0.0);
            self.out_ready[c].iter_mut().for_each(|v| *v = 0.0);
        }
        self.level.iter_mut().for_each(|v| *v = 0.0);
        let f = self.floor_db;
        self.gain_db.iter_mut().for_each(|v| *v = f);
        self.fill = 0;
    }

    /// Streams `input` to `output` (same lengths, `channels` of each), delayed by
    /// [`Denoiser::latency`] samples.
    pub fn process_block(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        assert_eq!(input.len(), self.channels, "channel count mismatch");
        assert_eq!(output.len(), self.channels, "channel count mismatch");
        let n = input.first().map_or(0, |c| c.len());
        let mut i = 0;
        while i < n {
            let take = (self.hop - self.fill).min(n - i);
            for c in 0..self.channels {
                let at = self.size - self.hop + self.fill;
                self.in_frame[c][at..at + take].copy_from_slice(&input[c][i..i + take]);
                output[c][i..i + take]
                    .copy_from_slice(&self.out_ready[c][self.fill..self.fill + take]);
            }
            self.fill += take;
            i += take;
            if self.fill == self.hop {
                self.frame();
                self.fill = 0;
            }
        }
    }

    /// Denoises whole channels in place; the output is aligned with the input.
    pub fn process_buffer(&mut self, channels: &mut [&mut [f32]]) {
        assert_eq!(channels.len(), self.channels, "channel count mismatch");
        self.reset();
        let n = channels.first().map_or(0, |c| c.len());
        let lat = self.latency();
        let (size, hop) = (self.size, self.hop);
        let mut pos = 0; // first input sample of this hop
        while pos < n + lat {
            for (c, ch) in channels.iter_mut().enumerate() {
                // what the previous frame produced is input sample pos + j - lat; it is written
                // behind the samples still to be read
                for j in 0..hop {
                    if let Some(dst) = (pos + j).checked_sub(lat) {
                        if dst < n {
                            ch[dst] = self.out_ready[c][j];
                        }
                    }
                }
                let tail = &mut self.in_frame[c][size - hop..];
                for (j, t) in tail.iter_mut().enumerate() {
                    *t = ch.get(pos + j).copied().unwrap_or(0.0);
                }
            }
            self.frame();
            pos += hop;
        }
    }

    /// One STFT frame: analyse `in_frame`, apply the gains, overlap-add, hand out `hop` samples.
    fn frame(&mut self) {
        let size = self.size;
        let hop = self.hop;
        let bins = size / 2 + 1;
        if self.bypass {
            // identity: the output is the input delayed by one frame
            for c in 0..self.channels {
                self.out_ready[c].copy_from_slice(&self.in_frame[c][..hop]);
                self.in_frame[c].copy_within(hop.., 0);
            }
            return;
        }
        self.power.iter_mut().for_each(|p| *p = 0.0);
        for c in 0..self.channels {
            for ((t, &x), &w) in self
                .time_buf
                .iter_mut()
                .zip(&self.in_frame[c])
                .zip(&self.window)
            {
                *t = x * w;
            }
            self.fwd
                .process_with_scratch(
                    &mut self.time_buf,
                    &mut self.spectra[c],
                    &mut self.scratch_fwd,
                )
                .expect("fft sizes match");
            for (p, z) in self.power.iter_mut().zip(&self.spectra[c]) {
                *p += f64::from(z.re).powi(2) + f64::from(z.im).powi(2);
            }
        }
        let inv_ch = 1.0 / self.channels as f64;
        let a = self.smooth_a;
        let span = OPEN_DB;
        let open_ratio = db_to_pow(span);
        let floor = self.floor_db;
        let inv_span = 1.0 / span;
        let floor_amp = db_to_amp(floor);
        let release = self.release_step_db;
        // level: power smoothed 1-2-1 over frequency, then over time (channel mean)
        let (b0, b1) = (0.25 * inv_ch * (1.0 - a), 0.5 * inv_ch * (1.0 - a));
        let pw = &self.power;
        self.level[0] = a * self.level[0] + (b1 + b0) * pw[0] + b0 * pw[1.min(bins - 1)];
        for (lv, w) in self.level[1..bins - 1].iter_mut().zip(pw.windows(3)) {
            *lv = a * *lv + b0 * (w[0] + w[2]) + b1 * w[1];
        }
        if bins > 1 {
            self.level[bins - 1] =
                a * self.level[bins - 1] + b0 * pw[bins - 2] + (b1 + b0) * pw[bins - 1];
        }
        // gain rule: the level over the threshold, from 0 to OPEN_DB, maps linearly onto
        // [floor, 0] dB; the gain opens at once and falls at the release
        for ((((g, amp), &lv), &inv_thr), &bias) in self
            .gain_db
            .iter_mut()
            .zip(self.amp.iter_mut())
            .zip(&self.level)
            .zip(&self.inv_thr)
            .zip(&self.open_bias)
        {
            let ratio = lv * inv_thr + bias;
            let target = if ratio <= 1.0 {
                floor
            } else if ratio >= open_ratio {
                0.0
            } else {
                floor - floor * (fast_pow_to_db(ratio) * inv_span)
            };
            *g = target.max(*g - release);
            *amp = if *g == 0.0 {
                1.0
            } else if *g == floor {
                floor_amp
            } else {
                fast_db_to_amp(*g)
            };
        }
        // gains smoothed 1-2-1 over frequency; a bin at 0 dB whose neighbours are too stays
        // exactly at 1
        let am = &self.amp;
        let smooth = |l: f64, c: f64, r: f64| -> f32 {
            if l == 1.0 && c == 1.0 && r == 1.0 {
                1.0
            } else {
                (0.25 * (l + r) + 0.5 * c) as f32
            }
        };
        self.gain[0] = smooth(am[0], am[0], am[1.min(bins - 1)]);
        for (g, w) in self.gain[1..bins - 1].iter_mut().zip(am.windows(3)) {
            *g = smooth(w[0], w[1], w[2]);
        }
        if bins > 1 {
            self.gain[bins - 1] = smooth(am[bins - 2], am[bins - 1], am[bins - 1]);
        }
        let norm = 1.0 / (1.5 * size as f32);
        for c in 0..self.channels {
            for (z, &g) in self.spectra[c].iter_mut().zip(&self.gain) {
                *z *= g;
            }
            // the inverse transform needs real DC and Nyquist bins
            self.spectra[c][0].im = 0.0;
            self.spectra[c][bins - 1].im = 0.0;
            self.inv
                .process_with_scratch(
                    &mut self.spectra[c],
                    &mut self.time_buf,
                    &mut self.scratch_inv,
                )
                .expect("fft sizes match");
            for ((o, &t), &w) in self.out_acc[c]
                .iter_mut()
                .zip(&self.time_buf)
                .zip(&self.window)
            {
                *o += t * w * norm;
            }
            self.out_ready[c].copy_from_slice(&self.out_acc[c][..hop]);
            self.out_acc[c].copy_within(hop.., 0);
            let tail = size - hop;
            self.out_acc[c][tail..].iter_mut().for_each(|v| *v = 0.0);
            self.in_frame[c].copy_within(hop.., 0);
        }
    }
}

/// 10·log10(x) for x in [1, 16), to about 0.001 dB: a few multiplications instead of a library
/// logarithm (this runs for every bin of every frame).
#[inline]
fn fast_pow_to_db(x: f64) -> f64 {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // mantissa m in [1, 2); log2(m) = 2/ln2 · atanh((m-1)/(m+1))
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = t * (1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 / 9.0))));
    let log2 = exp as f64 + series * (2.0 / std::f64::consts::LN_2);
    log2 * (10.0 * std::f64::consts::LOG10_2)
}

/// 10^(db/20) for db <= 0, to about 1e-7 relative: 2^y split into integer and fraction.
#[inline]
fn fast_db_to_amp(db: f64) -> f64 {
    let y = db * (std::f64::consts::LOG2_10 / 20.0);
    if y < -1000.0 {
        return 0.0;
    }
    // floor without a library call: truncate, then step down for negative fractions
    let t = y as i64;
    let i = if (t as f64) > y { t - 1 } else { t };
    let f = (y - i as f64) * std::f64::consts::LN_2;
    // e^f for f in [0, ln 2)
    let e = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0
                    + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f / 5040.0))))));
    e * f64::from_bits(((i + 1023) as u64) << 52)
}

#[inline]
fn db_to_amp(db: f64) -> f64 {
    if db == 0.0 {
        1.0
    } else {
        10f64.powf(db / 20.0)
    }
}
