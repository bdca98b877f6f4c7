//! The noise floor of a track: measurement per 1/3-octave band and the compact profile the
//! denoiser uses.
//!
//! # Measurement ([`measure`])
//!
//! Up to `max_frames` Hann-windowed frames of at least 93 ms (the next power of two: 8192
//! samples at 44.1 and 48 kHz), spread evenly over the track, are
//! analysed; frames of digital silence (more than 10 % exact zeros) are left out, since
//! silence is not noise. In each 1/3-octave band the frame powers give two statistics:
//! * a low percentile (the 10th), which sits on the noise floor wherever the band is at rest at
//!   least a tenth of the time. It is corrected by the known ratio of the 10th percentile to the
//!   mean for noise, so that for pure noise it reads the noise's mean level;
//! * the spread between the median and that percentile. A steady noise has a small, known
//!   spread (that of a chi-square variable with about one degree of freedom per bin in the
//!   band: 8 dB for one bin, under 1 dB for a hundred); a band where music comes and goes has a
//!   much larger one. The spread expected for pure noise is reported next to the measured one.
//!
//! # Profile ([`NoiseProfile`])
//!
//! The noise power in each 1/3-octave band, in dBFS: a few dozen numbers that can be stored
//! in a session file and edited. [`NoiseProfile::bin_power`] turns it back into the expected
//! power of every FFT bin, interpolating the spectral density linearly in dB over log-frequency
//! between band centres.

use super::{db_to_pow, pow_to_db};
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Centre of the first 1/3-octave band of every profile, Hz (1000 · 2^(-10/3)).
pub const FIRST_BAND_HZ: f64 = 99.212_565_748_012_61;

/// Centre of band `i`, Hz.
pub fn band_centre(i: usize) -> f64 {
    FIRST_BAND_HZ * 2f64.powf(i as f64 / 3.0)
}

/// Lower and upper edge of band `i`, the upper one clipped at Nyquist.
pub fn band_edges(i: usize, sample_rate: u32) -> (f64, f64) {
    let c = band_centre(i);
    let nyq = 0.5 * f64::from(sample_rate);
    (
        c * 2f64.powf(-1.0 / 6.0),
        (c * 2f64.powf(1.0 / 6.0)).min(nyq),
    )
}

/// Number of bands used at `sample_rate`: every band whose lower edge is below 0.9 × Nyquist.
pub fn band_count(sample_rate: u32) -> usize {
    let nyq = 0.5 * f64::from(sample_rate);
    (0..)
        .take_while(|&i| band_centre(i) * 2f64.powf(-1.0 / 6.0) < 0.9 * nyq)
        .count()
}

/// Noise power per 1/3-octave band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseProfile {
    /// Mean-square noise power in each 1/3-octave band, dBFS; band `i` is centred on
    /// 99.2 Hz · 2^(i/3) (100 Hz, 125 Hz, ... 20 kHz). Below the first band the first value's
    /// density holds; the last band reaches up to Nyquist.
    pub band_dbfs: Vec<f64>,
}

impl NoiseProfile {
    /// Total noise power, dBFS (`None` for an empty profile).
    pub fn total_dbfs(&self) -> Option<f64> {
        if self.band_dbfs.is_empty() {
            return None;
        }
        Some(pow_to_db(
            self.band_dbfs.iter().map(|&d| db_to_pow(d)).sum(),
        ))
    }

    /// The same profile shifted by `db`.
    pub fn scaled(&self, db: f64) -> NoiseProfile {
        NoiseProfile {
            band_dbfs: self.band_dbfs.iter().map(|&d| d + db).collect(),
        }
    }

    /// Mean-square power density (per Hz) of the noise at `hz`, by interpolation of the band
    /// densities (dB over log-frequency). `sample_rate` sets the width of the last band.
    pub fn density(&self, hz: f64, sample_rate: u32) -> f64 {
        let n = self.band_dbfs.len();
        if n == 0 {
            return 0.0;
        }
        let dens_db = |i: usize| {
            let (lo, hi) = band_edges(i, sample_rate);
            self.band_dbfs[i] - pow_to_db((hi - lo).max(1e-9))
        };
        let pos = (hz.max(1e-9) / FIRST_BAND_HZ).log2() * 3.0;
        if pos <= 0.0 {
            return db_to_pow(dens_db(0));
        }
        // the last band's centre sits below its (clipped) upper edge: hold from there
        if pos >= (n - 1) as f64 {
            return db_to_pow(dens_db(n - 1));
        }
        let i = pos.floor() as usize;
        let t = pos - i as f64;
        db_to_pow(dens_db(i) * (1.0 - t) + dens_db(i + 1) * t)
    }

    /// Expected |X_k|² of the noise in bins k = 0..=fft_size/2 of an unnormalised FFT of a frame
    /// windowed by a window whose squares sum to `window_power`.
    pub fn bin_power(&self, sample_rate: u32, fft_size: usize, window_power: f64) -> Vec<f64> {
        let fs = f64::from(sample_rate);
        (0..=fft_size / 2)
            .map(|k| {
                let f = k as f64 * fs / fft_size as f64;
                // white noise of mean square σ² has density σ²/(fs/2) and E|X_k|² = σ² Σw²
                self.density(f, sample_rate) * 0.5 * fs * window_power
            })
            .collect()
    }
}

/// Band statistics of a track, from [`measure`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseStats {
    /// Centre of each band, Hz (see [`band_centre`]).
    pub band_hz: Vec<f64>,
    /// FFT bins in each band.
    pub bins: Vec<usize>,
    /// Low percentile of each band's power over the frames, corrected to read the mean of a
    /// steady noise, dBFS.
    pub floor_dbfs: Vec<f64>,
    /// Median minus the low percentile, dB.
    pub spread_db: Vec<f64>,
    /// The spread a steady noise would show in that band, dB.
    pub noise_spread_db: Vec<f64>,
    /// Frames analysed (not digital silence).
    pub frames: usize,
    /// Broadband power of each analysed frame, dBFS, in time order.
    pub frame_dbfs: Vec<f64>,
}

/// Percentile of the band powers used for the floor.
const LOW_PERCENTILE: f64 = 0.10;
/// z-score of [`LOW_PERCENTILE`] of a standard normal.
const Z_LOW: f64 = -1.281_551_565_5;

/// Quantile (as a fraction of the mean) of a chi-square variable with `dof` degrees of
/// freedom, Wilson-Hilferty approximation.
fn chi2_quantile_ratio(dof: f64, z: f64) -> f64 {
    let a = 2.0 / (9.0 * dof);
    (1.0 - a + z * a.sqrt()).max(0.02).powi(3)
}

/// Degrees of freedom of the sum of `bins` adjacent bins of Hann-windowed noise (neighbouring
/// bins are correlated: |ρ| = 2/3 at distance 1, 1/6 at distance 2).
fn band_dof(bins: usize) -> f64 {
    let b = bins as f64;
    if bins == 0 {
        return 2.0;
    }
    let n1 = (b - 1.0).max(0.0);
    let n2 = (b - 2.0).max(0.0);
    let var = b + 2.0 * n1 * (4.0 / 9.0) + 2.0 * n2 * (1.0 / 36.0);
    (2.0 * b * b / var).max(2.0)
}

/// FFT size of the measurement at a sample rate: the power of two at or above 93 ms.
pub fn measure_fft_size(sample_rate: u32) -> usize {
    ((f64::from(sample_rate) * 0.093).round() as usize)
        .next_power_of_two()
        .max(256)
}

/// Measures the band statistics of `channels` (their powers are averaged) on at most
/// `max_frames` frames spread evenly over the track.
pub fn measure(channels: &[&[f32]], sample_rate: u32, max_frames: usize) -> NoiseStats {
    let n = channels.first().map_or(0, |c| c.len());
    let size = measure_fft_size(sample_rate);
    let nb = band_count(sample_rate);
    let fs = f64::from(sample_rate);
    let bin_hz = fs / size as f64;
    let band_of_bin: Vec<Option<usize>> = (0..=size / 2)
        .map(|k| {
            let f = k as f64 * bin_hz;
            (0..nb).find(|&i| {
                let (lo, hi) = band_edges(i, sample_rate);
                f >= lo && (f < hi || (i == nb - 1 && f <= hi))
            })
        })
        .collect();
    let mut bins = vec![0usize; nb];
    for b in band_of_bin.iter().flatten() {
        bins[*b] += 1;
    }
    // the bins of each band are contiguous: (first, count)
    let ranges: Vec<(usize, usize)> = (0..nb)
        .map(|b| {
            let first = band_of_bin.iter().position(|&x| x == Some(b)).unwrap_or(0);
            (first, bins[b])
        })
        .collect();
    let band_hz: Vec<f64> = (0..nb).map(band_centre).collect();
    let noise_spread_db: Vec<f64> = bins
        .iter()
        .map(|&b| {
            let dof = band_dof(b);
            let q50 = chi2_quantile_ratio(dof, 0.0);
            let q10 = chi2_quantile_ratio(dof, Z_LOW);
            pow_to_db(q50 / q10)
        })
        .collect();
    if n < size || channels.is_empty() {
        return NoiseStats {
            band_hz,
            bins,
            floor_dbfs: vec![-300.0; nb],
            spread_db: vec![0.0; nb],
            noise_spread_db,
            frames: 0,
            frame_dbfs: Vec::new(),
        };
    }
    let window: Vec<f32> = (0..size)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / size as f64).cos()) as f32)
        .collect();
    let win_power: f64 = window.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
    let to_ms = 2.0 / (size as f64 * win_power) / channels.len() as f64;
    let total = n / size;
    let count = total.min(max_frames.max(1));
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    // band powers, frame-major
    let mut powers: Vec<f64> = Vec::with_capacity(count * nb);
    let mut frame_dbfs = Vec::with_capacity(count);
    let mut band = vec![0.0f64; nb];
    for f in 0..count {
        let frame = if count == total {
            f
        } else {
            // spread evenly, deterministic
            (f as f64 * (total - 1) as f64 / (count - 1).max(1) as f64).round() as usize
        };
        let start = frame * size;
        let zeros: usize = channels
            .iter()
            .map(|c| c[start..start + size].iter().filter(|&&v| v == 0.0).count())
            .sum();
        if zeros * 10 > size * channels.len() {
            continue;
        }
        band.iter_mut().for_each(|b| *b = 0.0);
        for ch in channels {
            for ((dst, &v), &w) in input.iter_mut().zip(&ch[start..start + size]).zip(&window) {
                *dst = v * w;
            }
            fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                .expect("fft sizes match");
            for (bp, &(first, count)) in band.iter_mut().zip(&ranges) {
                let mut acc = 0.0f32;
                for c in &output[first..first + count] {
                    acc += c.re * c.re + c.im * c.im;
                }
                *bp += f64::from(acc);
            }
        }
        band.iter_mut().for_each(|b| *b *= to_ms);
        frame_dbfs.push(pow_to_db(band.iter().sum()));
        powers.extend_from_slice(&band);
    }
    let frames = frame_dbfs.len();
    let mut floor_dbfs = vec![-300.0; nb];
    let mut spread_db = vec![0.0; nb];
    if frames > 0 {
        let mut col = vec![0.0f64; frames];
        for b in 0..nb {
            for (f, c) in col.iter_mut().enumerate() {
                *c = powers[f * nb + b];
            }
            col.sort_by(|x, y| x.total_cmp(y));
            let at = |p: f64| col[((p * (frames - 1) as f64).round() as usize).min(frames - 1)];
            let p10 = at(LOW_PERCENTILE);
            let p50 = at(0.5);
            let q10 = chi2_quantile_ratio(band_dof(bins[b]), Z_LOW);
            floor_dbfs[b] = pow_to_db(p10) - pow_to_db(q10);
            spread_db[b] = pow_to_db(p50) - pow_to_db(p10);
        }
    }
    NoiseStats {
        band_hz,
        bins,
        floor_dbfs,
        spread_db,
        noise_spread_db,
        frames,
        frame_dbfs,
    }
}
