//! Mains hum: measurement and removal.
//!
//! # Removal: tracked-harmonic subtraction (a zero-phase comb of very narrow notches)
//!
//! Hum is a sum of sinusoids at exact multiples of the mains frequency whose amplitudes and
//! phases hardly change. For each harmonic `k` the remover
//! 1. demodulates the signal by `e^{-j·2π·k·f0·n/fs}` and averages it over blocks of one mains
//!    period (a box filter whose nulls sit on the other harmonics and on the mirror image),
//!    giving the harmonic's complex amplitude ten-odd times per second... (one value per period);
//! 2. smooths that sequence with a zero-phase low-pass of about `1 / width_hz` seconds (three
//!    cascaded moving averages, normalised at the ends of the track), which keeps the steady hum
//!    and averages away the music, whose phase relative to the harmonic keeps turning;
//! 3. rebuilds the harmonic from the smoothed amplitude (linearly interpolated to every sample)
//!    and subtracts it.
//!
//! Seen as a filter this is a notch of `width_hz` (-3 dB full width) at every harmonic with an
//! exact zero at its centre, flat (within hundredths of a dB) a few widths away, zero phase
//! (no phase distortion of the bass under the hum) and without the start-up transient of a
//! recursive notch: the hum is removed from the first sample. A biquad notch narrow enough to
//! leave a bass note 1 Hz away alone (Q ≈ 100 at 50 Hz) needs about a second to settle, during
//! which the hum passes; widening it to settle faster cuts into the notes. The price of the
//! subtraction is that it works on whole channels (it is non-causal), which is how the mixer
//! processes stems anyway.
//!
//! # Measurement
//!
//! [`scan`] decimates the track to about 2.4 kHz (triangular anti-alias window), takes one
//! Hann-windowed FFT over its whole length (a few thousandths of a Hz per bin on a 3-minute
//! track) and looks for peaks at the harmonics of 50 and 60 Hz. A steady hum concentrates all
//! its energy in a handful of these bins, so it stands far above its neighbourhood, while music,
//! which changes, spreads; the prominence is therefore itself a test of stationarity. The peak
//! positions (interpolated) give the precise mains frequency.

use super::{db_to_pow, pow_to_db};
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
    tmp: Vec<Complex<f64>>,
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
        HumRemover {
            sample_rate,
            omega,
            block,
            smooth_len,
            amp: Vec::new(),
            tmp: Vec::new(),
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
        for k in 0..h {
            let row = &mut self.amp[k * blocks..(k + 1) * blocks];
            for _ in 0..3 {
                moving_average(row, self.smooth_len, &mut self.tmp);
            }
        }
        self.subtract(x, blocks);
    }

    /// Per block and harmonic: (2 / block length) · Σ x[n] e^{-jωn}.
    fn demodulate(&mut self, x: &[f32], blocks: usize) {
        let h = self.omega.len();
        let m = self.block;
        let mut acc = [Complex::new(0.0f64, 0.0); MAX_HARMONICS];
        let mut ph = [Complex::new(0.0f64, 0.0); MAX_HARMONICS];
        let rot: Vec<Complex<f64>> = self
            .omega
            .iter()
            .map(|&w| Complex::new(w.cos(), -w.sin()))
            .collect();
        for b in 0..blocks {
            let start = b * m;
            let end = (start + m).min(x.len());
            for k in 0..h {
                ph[k] = phasor(-self.omega[k], start);
                acc[k] = Complex::new(0.0, 0.0);
            }
            for &v in &x[start..end] {
                let v = f64::from(v);
                for k in 0..h {
                    acc[k] += ph[k] * v;
                    ph[k] *= rot[k];
                }
            }
            let norm = 2.0 / (end - start) as f64;
            for k in 0..h {
                self.amp[k * blocks + b] = acc[k] * norm;
            }
        }
    }

    /// Rebuild every harmonic from its smoothed amplitude and subtract it.
    fn subtract(&self, x: &mut [f32], blocks: usize) {
        let h = self.omega.len();
        let m = self.block;
        let half = (m as f64 - 1.0) / 2.0;
        let mut ph = [Complex::new(0.0f64, 0.0); MAX_HARMONICS];
        let mut a = [Complex::new(0.0f64, 0.0); MAX_HARMONICS];
        let mut da = [Complex::new(0.0f64, 0.0); MAX_HARMONICS];
        let rot: Vec<Complex<f64>> = self
            .omega
            .iter()
            .map(|&w| Complex::new(w.cos(), w.sin()))
            .collect();
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
            if end > n {
                let c0 = centre(b0);
                let span = if b1 > b0 { m as f64 } else { 1.0 };
                let t0 = if b1 > b0 { (n as f64 - c0) / span } else { 0.0 };
                for k in 0..h {
                    let z0 = self.amp[k * blocks + b0];
                    let z1 = self.amp[k * blocks + b1];
                    let step = if b1 > b0 {
                        (z1 - z0) / span
                    } else {
                        Complex::new(0.0, 0.0)
                    };
                    a[k] = z0 + (z1 - z0) * t0;
                    da[k] = step;
                    ph[k] = phasor(self.omega[k], n);
                }
                for v in &mut x[n..end] {
                    let mut hum = 0.0f64;
                    for k in 0..h {
                        // Re(a · e^{jωn})
                        hum += a[k].re * ph[k].re - a[k].im * ph[k].im;
                        a[k] += da[k];
                        ph[k] *= rot[k];
                    }
                    *v = (f64::from(*v) - hum) as f32;
                }
                n = end;
            }
            seg += 1;
        }
    }
}

/// e^{j·w·n}, with the angle reduced exactly enough for n up to hours of audio.
fn phasor(w: f64, n: usize) -> Complex<f64> {
    let a = (w * n as f64).rem_euclid(2.0 * PI);
    Complex::new(a.cos(), a.sin())
}

/// Centred moving average of odd length `len`, averaging only the samples that exist near the
/// ends (so a steady value stays exactly steady up to the edges).
fn moving_average(row: &mut [Complex<f64>], len: usize, tmp: &mut Vec<Complex<f64>>) {
    let n = row.len();
    if len <= 1 || n <= 1 {
        return;
    }
    let r = len / 2;
    // prefix sums
    tmp.clear();
    tmp.reserve(n + 1);
    tmp.push(Complex::new(0.0, 0.0));
    let mut s = Complex::new(0.0, 0.0);
    for &v in row.iter() {
        s += v;
        tmp.push(s);
    }
    for (i, v) in row.iter_mut().enumerate() {
        let lo = i.saturating_sub(r);
        let hi = (i + r + 1).min(n);
        *v = (tmp[hi] - tmp[lo]) / (hi - lo) as f64;
    }
}

// -------------------------------------------------------------------------------------------
// measurement

/// One harmonic as measured by [`scan`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumPeak {
    /// 1 = fundamental.
    pub harmonic: u32,
    /// Interpolated frequency of the peak, Hz.
    pub freq_hz: f64,
    /// Level of the peak (its energy within ± the search width), dBFS (mean-square, so a
    /// full-scale sine is -3.01 dBFS).
    pub level_dbfs: f64,
    /// Peak energy over the energy the neighbourhood (1-4 Hz away) would put in the same
    /// bins, dB.
    pub prominence_db: f64,
    /// Strongest bin of the peak over the strongest bin 0.3-4 Hz away, dB: a hum line stands
    /// alone, while a pattern repeated at a steady tempo makes a comb of similar lines.
    pub dominance_db: f64,
    /// Level of the harmonic in the quietest third of the track (1 s segments, median) relative
    /// to its level over the whole track, dB: about 0 for hum, which is there all the time, and
    /// very negative for a line that the music makes only while it plays. Measured only for
    /// peaks at least [`STEADY_MIN_PROMINENCE_DB`] prominent.
    pub quiet_db: Option<f64>,
}

/// Peaks less prominent than this are not checked for presence in the quiet passages, dB.
pub const STEADY_MIN_PROMINENCE_DB: f64 = 10.0;

/// The harmonics of one mains frequency (50 or 60 Hz).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumCandidate {
    /// Nominal mains frequency, 50 or 60 Hz.
    pub mains_hz: f64,
    /// Precise fundamental estimated from the prominent harmonics (nominal if none is).
    pub fundamental_hz: f64,
    /// Harmonics 1.. up to about 1 kHz (or what the analysis band allows), in order.
    pub peaks: Vec<HumPeak>,
}

/// Result of [`scan`]: the 50 Hz and 60 Hz candidates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumScan {
    pub candidates: Vec<HumCandidate>,
    /// Frequency resolution of the scan (bin spacing), Hz.
    pub bin_hz: f64,
}

/// Decimated rate of the scan is at least this, Hz.
const SCAN_RATE: f64 = 2400.0;
/// Longest decimated signal analysed (about 7 minutes at 2.4 kHz); longer tracks are analysed
/// on their middle part.
const SCAN_MAX_LEN: usize = 1 << 20;
/// Mains frequency tolerance when looking for the low harmonics: ±1 %.
const MAINS_TOLERANCE: f64 = 0.01;
/// Harmonics above this are not scanned.
const SCAN_MAX_HZ: f64 = 1000.0;
/// Prominence needed to anchor the fundamental estimate, dB.
const ANCHOR_DB: f64 = 12.0;

/// Decimation factor of the scan for a sample rate.
fn scan_decimation(sample_rate: u32) -> usize {
    ((f64::from(sample_rate) / SCAN_RATE).floor() as usize).max(1)
}

/// Triangular-window decimation by `d` of the channel mean: output m is centred on sample m·d.
fn decimate_mean(channels: &[&[f32]], d: usize) -> Vec<f32> {
    let n = channels.first().map_or(0, |c| c.len());
    let nch = channels.len().max(1) as f64;
    let out_len = if n == 0 { 0 } else { (n - 1) / d + 1 };
    // weights (d - |i|) / d² for i in -(d-1)..=(d-1), divided by the channel count
    let w: Vec<f64> = (0..2 * d - 1)
        .map(|j| {
            let i = j as isize - (d as isize - 1);
            (d as f64 - i.unsigned_abs() as f64) / (d as f64 * d as f64 * nch)
        })
        .collect();
    let mut out = vec![0.0f32; out_len];
    for ch in channels {
        for (m, o) in out.iter_mut().enumerate() {
            let centre = m * d;
            let lo = centre.saturating_sub(d - 1);
            let hi = (centre + d).min(n);
            let off = lo + (d - 1) - centre; // index into w of sample `lo`
            let mut s = 0.0f64;
            for (v, wj) in ch[lo..hi].iter().zip(&w[off..]) {
                s += f64::from(*v) * wj;
            }
            *o += s as f32;
        }
    }
    out
}

/// Power response of the scan's decimation window at `f` Hz.
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

/// The fine spectrum of a scan.
struct FineSpectrum {
    power: Vec<f64>,
    bin_hz: f64,
    /// Converts summed bin power to mean-square: 2 / (N_fft · Σw²).
    to_ms: f64,
}

impl FineSpectrum {
    fn bin_of(&self, hz: f64) -> f64 {
        hz / self.bin_hz
    }

    /// Peak near `centre_hz` within `± search_hz`, measured as described in [`HumPeak`].
    fn peak(
        &self,
        centre_hz: f64,
        search_hz: f64,
        lobe_bins: usize,
    ) -> Option<(f64, f64, f64, f64)> {
        let nb = self.power.len();
        let lo = self.bin_of(centre_hz - search_hz).floor().max(1.0) as usize;
        let hi = (self.bin_of(centre_hz + search_hz).ceil() as usize).min(nb.checked_sub(2)?);
        if lo >= hi {
            return None;
        }
        let (p, _) = self.power[lo..=hi]
            .iter()
            .enumerate()
            .fold(
                (lo, -1.0),
                |best, (i, &v)| {
                    if v > best.1 {
                        (lo + i, v)
                    } else {
                        best
                    }
                },
            );
        // parabolic interpolation of the log power
        let (a, b, c) = (
            self.power[p - 1].max(1e-300).ln(),
            self.power[p].max(1e-300).ln(),
            self.power[p + 1].max(1e-300).ln(),
        );
        let den = a - 2.0 * b + c;
        let delta = if den < 0.0 {
            (0.5 * (a - c) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let freq = (p as f64 + delta) * self.bin_hz;
        let w = lobe_bins;
        let e_lo = p.saturating_sub(w);
        let e_hi = (p + w).min(nb - 1);
        let energy: f64 = self.power[e_lo..=e_hi].iter().sum();
        // neighbourhood: 1..4 Hz either side of the peak
        let near = (1.0 / self.bin_hz).ceil() as usize;
        let far = (4.0 / self.bin_hz).ceil() as usize;
        let mut hood: Vec<f64> = Vec::with_capacity(2 * (far - near + 1));
        if p > far {
            hood.extend_from_slice(&self.power[p - far..=p - near]);
        }
        if p + far < nb {
            hood.extend_from_slice(&self.power[p + near..=p + far]);
        }
        if hood.is_empty() {
            return None;
        }
        let mid = hood.len() / 2;
        let (_, med, _) = hood.select_nth_unstable_by(mid, |x, y| x.total_cmp(y));
        // the median of exponentially distributed bin powers is ln 2 of their mean
        let hood_mean = *med / std::f64::consts::LN_2;
        let bins = (e_hi - e_lo + 1) as f64;
        let prominence = pow_to_db(energy / (hood_mean * bins).max(1e-300));
        // strongest line 0.3-4 Hz away
        let close = (0.3 / self.bin_hz).ceil() as usize;
        let mut rival = 0.0f64;
        if p > far {
            rival = self.power[p - far..=p - close]
                .iter()
                .fold(rival, |m, &v| m.max(v));
        }
        if p + far < nb {
            rival = self.power[p + close..=p + far]
                .iter()
                .fold(rival, |m, &v| m.max(v));
        }
        let dominance = pow_to_db(self.power[p] / rival.max(1e-300));
        Some((freq, energy * self.to_ms, prominence, dominance))
    }
}

/// The quietest third of the 1-second segments of the decimated track.
struct QuietSegments {
    starts: Vec<usize>,
    len: usize,
    window: Vec<f64>,
    window_sum: f64,
}

impl QuietSegments {
    fn new(y: &[f32], rate: f64) -> Self {
        let len = (rate.round() as usize).min(y.len()).max(1);
        let count = y.len() / len;
        let mut seg: Vec<(f64, usize)> = (0..count)
            .map(|s| {
                let p: f64 = y[s * len..(s + 1) * len]
                    .iter()
                    .map(|&v| f64::from(v).powi(2))
                    .sum();
                (p, s * len)
            })
            .collect();
        seg.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        seg.truncate(count.div_ceil(3));
        let window: Vec<f64> = (0..len)
            .map(|i| 0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / len as f64).cos())
            .collect();
        let window_sum = window.iter().sum();
        QuietSegments {
            starts: seg.into_iter().map(|s| s.1).collect(),
            len,
            window,
            window_sum,
        }
    }

    /// Median mean-square level of a sinusoid at `hz` over the quiet segments (as the
    /// decimated signal holds it).
    fn level(&self, y: &[f32], rate: f64, hz: f64) -> f64 {
        if self.starts.is_empty() {
            return 0.0;
        }
        let w = 2.0 * PI * hz / rate;
        let rot = Complex::new(w.cos(), -w.sin());
        let mut levels: Vec<f64> = self
            .starts
            .iter()
            .map(|&s| {
                let mut ph = phasor(-w, s);
                let mut acc = Complex::new(0.0, 0.0);
                for (&v, &wn) in y[s..s + self.len].iter().zip(&self.window) {
                    acc += ph * (f64::from(v) * wn);
                    ph *= rot;
                }
                let amp = 2.0 * acc.norm() / self.window_sum;
                0.5 * amp * amp
            })
            .collect();
        let mid = levels.len() / 2;
        *levels.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1
    }
}

/// Measures the harmonics of 50 and 60 Hz hum in a track (channels are averaged first).
pub fn scan(channels: &[&[f32]], sample_rate: u32) -> HumScan {
    let d = scan_decimation(sample_rate);
    let rate = f64::from(sample_rate) / d as f64;
    let mut y = decimate_mean(channels, d);
    if y.len() > SCAN_MAX_LEN {
        let start = (y.len() - SCAN_MAX_LEN) / 2;
        y.drain(..start);
        y.truncate(SCAN_MAX_LEN);
    }
    let len = y.len();
    let empty = |bin_hz: f64| HumScan {
        candidates: [50.0, 60.0]
            .iter()
            .map(|&m| HumCandidate {
                mains_hz: m,
                fundamental_hz: m,
                peaks: Vec::new(),
            })
            .collect(),
        bin_hz,
    };
    if len < 64 {
        return empty(0.0);
    }
    let nfft = len.next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(nfft);
    let mut input = fft.make_input_vec();
    let mut win_power = 0.0f64;
    for (i, (dst, &v)) in input.iter_mut().zip(&y).enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / len as f64).cos();
        win_power += w * w;
        *dst = (f64::from(v) * w) as f32;
    }
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).expect("fft sizes match");
    let power: Vec<f64> = out
        .iter()
        .map(|c| f64::from(c.re).powi(2) + f64::from(c.im).powi(2))
        .collect();
    let spec = FineSpectrum {
        power,
        bin_hz: rate / nfft as f64,
        to_ms: 2.0 / (nfft as f64 * win_power),
    };
    // Hann main lobe: ±2 bins of the unpadded length
    let lobe = (2.0 * nfft as f64 / len as f64).ceil() as usize + 1;
    let top_hz = SCAN_MAX_HZ.min(0.38 * rate);
    let quiet = QuietSegments::new(&y, rate);
    let candidates = [50.0f64, 60.0]
        .iter()
        .map(|&mains| {
            let measure = |centre: f64, search: f64, k: u32| {
                // the lobe widens with the harmonic for a mains frequency that wanders
                let w = lobe.max((0.02 * k as f64 / spec.bin_hz).ceil() as usize);
                spec.peak(centre, search, w).map(|(f, e, prom, dom)| {
                    let resp = decimation_power(f, d, sample_rate).max(1e-6);
                    HumPeak {
                        harmonic: k,
                        freq_hz: f,
                        level_dbfs: pow_to_db(e / resp),
                        prominence_db: prom,
                        dominance_db: dom,
                        quiet_db: None,
                    }
                })
            };
            // 1. the low harmonics, each searched within the mains tolerance
            let low: Vec<HumPeak> = (1..=6u32)
                .filter(|&k| k as f64 * mains * (1.0 + MAINS_TOLERANCE) < top_hz)
                .filter_map(|k| measure(k as f64 * mains, k as f64 * mains * MAINS_TOLERANCE, k))
                .collect();
            // 2. the fundamental from the most prominent one and those agreeing with it
            let f0 = low
                .iter()
                .filter(|p| p.prominence_db >= ANCHOR_DB)
                .max_by(|a, b| a.prominence_db.total_cmp(&b.prominence_db))
                .map(|anchor| {
                    let f_a = anchor.freq_hz / anchor.harmonic as f64;
                    let mut sw = 0.0;
                    let mut sf = 0.0;
                    for p in low.iter().filter(|p| p.prominence_db >= ANCHOR_DB) {
                        let k = p.harmonic as f64;
                        if (p.freq_hz - k * f_a).abs() <= 3.0 * spec.bin_hz * k.max(1.0) {
                            let wgt = k * k * db_to_pow(p.prominence_db.min(40.0));
                            sw += wgt;
                            sf += wgt * p.freq_hz / k;
                        }
                    }
                    sf / sw
                });
            let fundamental_hz = f0.unwrap_or(mains);
            // 3. every harmonic, searched narrowly around k · f0
            let mut peaks: Vec<HumPeak> = (1..)
                .map(|k: u32| (k, k as f64 * fundamental_hz))
                .take_while(|&(_, f)| f < top_hz)
                .filter_map(|(k, f)| {
                    let search = (0.01 * k as f64).max(2.0 * spec.bin_hz);
                    let search = if f0.is_some() {
                        search
                    } else {
                        f * MAINS_TOLERANCE
                    };
                    measure(f, search, k)
                })
                .collect();
            for p in peaks
                .iter_mut()
                .filter(|p| p.prominence_db >= STEADY_MIN_PROMINENCE_DB)
            {
                let quiet = quiet.level(&y, rate, p.freq_hz);
                let whole = db_to_pow(p.level_dbfs) * decimation_power(p.freq_hz, d, sample_rate);
                p.quiet_db = Some(pow_to_db(quiet / whole.max(1e-300)));
            }
            HumCandidate {
                mains_hz: mains,
                fundamental_hz,
                peaks,
            }
        })
        .collect();
    HumScan {
        candidates,
        bin_hz: spec.bin_hz,
    }
}
