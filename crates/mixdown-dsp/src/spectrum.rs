//! Long-term 1/3-octave spectrum (Welch averaging of Hann-windowed FFT frames).
//!
//! Frames much quieter than the programme (intros, gaps, fades) are left out, so the spectrum
//! describes the song where it is playing, not its silences.

use realfft::RealFftPlanner;

/// ISO 1/3-octave centre frequencies from 25 Hz to 20 kHz (exact base-2 values).
pub fn third_octave_centres() -> Vec<f64> {
    (-16..=13)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .collect()
}

/// A long-term spectrum in 1/3-octave bands.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandSpectrum {
    /// Band centre frequencies, Hz (only bands below 0.45 x the sample rate).
    pub centres_hz: Vec<f64>,
    /// Band power in dB (relative: 0 dB = a full-scale sine's power in one band), channel-summed.
    /// `None` for a band with no energy at all.
    pub level_db: Vec<Option<f64>>,
}

impl BandSpectrum {
    /// Level at the band nearest to `hz`.
    pub fn level_near(&self, hz: f64) -> Option<f64> {
        let i = self
            .centres_hz
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1.ln() - hz.ln())
                    .abs()
                    .total_cmp(&(b.1.ln() - hz.ln()).abs())
            })?
            .0;
        self.level_db[i]
    }
}

/// FFT size for a sample rate: about 5 Hz resolution, at least 2048 points.
pub fn fft_size_for(sample_rate: u32) -> usize {
    let want = (sample_rate as f64 / 5.4).max(2048.0);
    want.log2().ceil().exp2() as usize
}

/// Where the frames of a long-term spectrum of `n` samples sit: an FFT of
/// [`fft_size_for`] the rate (shorter for a short signal), half-overlapped frames, or
/// `max_frames` of them spread evenly (deterministically) when there would be more.
struct FramePlan {
    n: usize,
    size: usize,
    frames: usize,
    all: usize,
}

impl FramePlan {
    fn new(n: usize, sample_rate: u32, max_frames: usize) -> Self {
        let size = fft_size_for(sample_rate).min(n.next_power_of_two().max(256));
        let all = if n > size {
            (n - size) / (size / 2) + 1
        } else {
            1
        };
        FramePlan {
            n,
            size,
            frames: all.min(max_frames.max(1)),
            all,
        }
    }

    /// First sample of frame `f`.
    fn start(&self, f: usize) -> usize {
        if self.frames == self.all {
            f * (self.size / 2)
        } else {
            (f as f64 * (self.n.saturating_sub(self.size)) as f64 / (self.frames - 1).max(1) as f64)
                as usize
        }
    }
}

/// A Hann window of `size` points (periodic) and its power (sum of squares).
fn hann(size: usize) -> (Vec<f32>, f64) {
    let window: Vec<f32> = (0..size)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / size as f64).cos()) as f32)
        .collect();
    let power = window.iter().map(|&w| (w as f64) * (w as f64)).sum();
    (window, power)
}

/// Long-term 1/3-octave spectrum of `channels` (powers summed over channels).
///
/// At most `max_frames` frames are analysed, spread evenly over the signal (deterministic),
/// which bounds the cost on long files.
pub fn third_octave(channels: &[&[f32]], sample_rate: u32, max_frames: usize) -> BandSpectrum {
    third_octave_and_low_stereo(channels, sample_rate, max_frames, 0.0).0
}

/// [`third_octave`], plus (for two channels) the left/right sums of the band below `low_hz`
/// over the same frames: `[Σ|L|², Σ|R|², Σ Re(L·R*)]`, from which correlation, width and balance
/// of the low end follow (see [`crate::meters::stereo_from_sums`]).
pub fn third_octave_and_low_stereo(
    channels: &[&[f32]],
    sample_rate: u32,
    max_frames: usize,
    low_hz: f64,
) -> (BandSpectrum, Option<[f64; 3]>) {
    let n = channels.first().map_or(0, |c| c.len());
    let plan = FramePlan::new(n, sample_rate, max_frames);
    let (size, frames) = (plan.size, plan.frames);
    let centres = centres_for(sample_rate);
    if n == 0 {
        let empty = BandSpectrum {
            level_db: vec![None; centres.len()],
            centres_hz: centres,
        };
        return (empty, None);
    }
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let (window, win_power) = hann(size);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let bins = size / 2 + 1;
    let stereo = channels.len() == 2 && low_hz > 0.0;
    let low_bins = ((low_hz * size as f64 / sample_rate as f64).ceil() as usize).min(bins);
    let mut first = fft.make_output_vec();
    let start_of = |f: usize| plan.start(f);
    // Pass 1: each frame's windowed energy (Parseval: proportional to its spectrum's sum), for
    // the gate: frames more than 20 dB below the mean frame power are left out.
    let frame_power: Vec<f64> = (0..frames)
        .map(|f| {
            let start = start_of(f);
            channels
                .iter()
                .map(|ch| {
                    let end = (start + size).min(ch.len());
                    ch[start.min(end)..end]
                        .iter()
                        .zip(&window)
                        .map(|(&x, &w)| ((x * w) as f64).powi(2))
                        .sum::<f64>()
                })
                .sum()
        })
        .collect();
    let mean = frame_power.iter().sum::<f64>() / frames as f64;
    // Pass 2: the spectra of the frames that pass, accumulated.
    let mut acc = vec![0.0f64; bins];
    let mut scratch = fft.make_scratch_vec();
    let mut used = 0usize;
    let mut low = [0.0f64; 3];
    for (f, &p) in frame_power.iter().enumerate() {
        if !(p > mean * 0.01 && p > 0.0) {
            continue;
        }
        let start = start_of(f);
        for (k, ch) in channels.iter().enumerate() {
            for (i, v) in input.iter_mut().enumerate() {
                *v = ch.get(start + i).copied().unwrap_or(0.0) * window[i];
            }
            fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                .expect("fft sizes match");
            for (s, c) in acc.iter_mut().zip(&output) {
                *s += (c.re as f64).powi(2) + (c.im as f64).powi(2);
            }
            if stereo && k == 0 {
                first.copy_from_slice(&output);
            }
        }
        if stereo {
            for (a, b) in first[..low_bins].iter().zip(&output[..low_bins]) {
                low[0] += (a.re as f64).powi(2) + (a.im as f64).powi(2);
                low[1] += (b.re as f64).powi(2) + (b.im as f64).powi(2);
                low[2] += a.re as f64 * b.re as f64 + a.im as f64 * b.im as f64;
            }
        }
        used += 1;
    }
    let bin_hz = sample_rate as f64 / size as f64;
    // normalise: a full-scale sine (amplitude 1) gives power 1/2 in its band -> 0 dB reference
    let norm = if used > 0 {
        // |X|^2 of a sine amplitude A with window w: (A/2)^2 * (sum w)^2 per side... use energy:
        // Parseval: sum over one-sided bins ~ N * sum(x^2 w^2) / 2 -> mean-square = 2*sum/(N*win_power)
        2.0 / (used as f64 * size as f64 * win_power)
    } else {
        0.0
    };
    let level_db = band_levels(&acc, norm, &centres, bin_hz);
    let low = stereo.then_some(low);
    (
        BandSpectrum {
            centres_hz: centres,
            level_db,
        },
        low,
    )
}

/// The bins of a long-term power spectrum summed into bands, dB (0 dB = a full-scale sine).
/// `norm` turns a bin sum into mean square.
fn band_levels(acc: &[f64], norm: f64, centres: &[f64], bin_hz: f64) -> Vec<Option<f64>> {
    centres
        .iter()
        .map(|&c| {
            let lo = c * 2f64.powf(-1.0 / 6.0);
            let hi = c * 2f64.powf(1.0 / 6.0);
            let first = (lo / bin_hz).floor() as usize;
            let e: f64 = acc
                .iter()
                .enumerate()
                .skip(first)
                .take_while(|(b, _)| (*b as f64 * bin_hz) < hi)
                .filter(|(b, _)| *b as f64 * bin_hz >= lo)
                .map(|(_, a)| a)
                .sum();
            // 0 dB = mean square 0.5 (full-scale sine)
            let ms = e * norm;
            (ms > 1e-20).then(|| 10.0 * (ms / 0.5).log10())
        })
        .collect()
}

/// Bands below 0.45 x the sample rate (their upper edge under Nyquist).
fn centres_for(sample_rate: u32) -> Vec<f64> {
    third_octave_centres()
        .into_iter()
        .filter(|&c| c * 2f64.powf(1.0 / 6.0) < 0.5 * sample_rate as f64)
        .collect()
}

/// Long-term 1/3-octave spectra of the mid (L+R)/2 and the side (L-R)/2 of a song where it
/// is loud: frames more than `gate_db` under the loudest tenth of the frames (intros, breaks,
/// fades) are left out. One channel gives the mid alone. At most `max_frames` frames, spread
/// evenly (deterministic). Levels as in [`third_octave`].
pub fn mid_side_third_octave(
    left: &[f32],
    right: Option<&[f32]>,
    sample_rate: u32,
    max_frames: usize,
    gate_db: f64,
) -> (BandSpectrum, Option<BandSpectrum>) {
    mid_side_third_octave_gated_by(left, right, sample_rate, max_frames, gate_db, None)
}

/// [`mid_side_third_octave`] with the loudness gate decided on another signal of the same
/// length (`gate`: its left and right): the same frames are measured in both, so that a
/// processed signal compared with its source differs by the processing, not by which
/// moments passed the gate (compression lifts quiet moments into it).
pub fn mid_side_third_octave_gated_by(
    left: &[f32],
    right: Option<&[f32]>,
    sample_rate: u32,
    max_frames: usize,
    gate_db: f64,
    gate: Option<(&[f32], Option<&[f32]>)>,
) -> (BandSpectrum, Option<BandSpectrum>) {
    let n = left.len();
    let (gate_l, gate_r) = match gate {
        Some((l, r)) if l.len() == n && r.is_none_or(|r| r.len() == n) => (l, r),
        _ => (left, right),
    };
    let plan = FramePlan::new(n, sample_rate, max_frames);
    let (size, frames) = (plan.size, plan.frames);
    let centres = centres_for(sample_rate);
    let start_of = |f: usize| plan.start(f);
    let (window, win_power) = hann(size);
    let w2: Vec<f32> = window.iter().map(|&w| w * w).collect();
    // one frame's windowed mid and side (zero past the end)
    let load = |start: usize, m: &mut [f32], d: &mut [f32]| {
        let end = (start + size).min(n);
        let len = end.saturating_sub(start);
        let l = &left[start.min(end)..end];
        match right {
            Some(r) => {
                let r = &r[start.min(end)..end];
                for ((((m, d), &l), &r), &w) in
                    m.iter_mut().zip(d.iter_mut()).zip(l).zip(r).zip(&window)
                {
                    *m = 0.5 * (l + r) * w;
                    *d = 0.5 * (l - r) * w;
                }
            }
            None => {
                for ((m, &l), &w) in m.iter_mut().zip(l).zip(&window) {
                    *m = l * w;
                }
                d[..len].fill(0.0);
            }
        }
        m[len..].fill(0.0);
        d[len..].fill(0.0);
    };
    // one frame's windowed energy of mid plus side: (l² + r²) / 2 under the window, in
    // eight f32 lanes (a frame is far too short for f32 sums to drift)
    let energy = |start: usize| -> f64 {
        let end = (start + size).min(n);
        let l = &gate_l[start.min(end)..end];
        let lane = |x: &[f32], w: &[f32]| -> f64 {
            let mut acc = [0.0f32; 8];
            let (xc, wc) = (x.chunks_exact(8), w.chunks_exact(8));
            let (xr, wr) = (xc.remainder(), wc.remainder());
            for (a, b) in xc.zip(wc) {
                for k in 0..8 {
                    acc[k] += a[k] * a[k] * b[k];
                }
            }
            let tail: f32 = xr.iter().zip(wr).map(|(a, b)| a * a * b).sum();
            acc.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
        };
        let e = lane(l, &w2[..l.len()]);
        match gate_r {
            Some(r) => 0.5 * (e + lane(&r[start.min(end)..end], &w2[..l.len()])),
            None => e,
        }
    };
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let bins = size / 2 + 1;
    // Two halves of the frames on two threads, each in order; the halves' sums are added in
    // a fixed order, so the result is the same on every run.
    let run = |frames_range: std::ops::Range<usize>, gate: Option<f64>, power_of: &[f64]| {
        let (mut inm, mut ins) = (fft.make_input_vec(), fft.make_input_vec());
        let mut out = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut acc_m = vec![0.0f64; bins];
        let mut acc_s = vec![0.0f64; bins];
        let mut power = Vec::new();
        let mut used = 0usize;
        for f in frames_range {
            let Some(floor) = gate else {
                power.push(energy(start_of(f)));
                continue;
            };
            let p = power_of[f];
            if !(p > 0.0 && p >= floor) {
                continue;
            }
            load(start_of(f), &mut inm, &mut ins);
            for (x, acc) in [(&mut inm, &mut acc_m), (&mut ins, &mut acc_s)] {
                fft.process_with_scratch(x, &mut out, &mut scratch)
                    .expect("fft sizes match");
                for (a, c) in acc.iter_mut().zip(&out) {
                    *a += (c.re as f64).powi(2) + (c.im as f64).powi(2);
                }
            }
            used += 1;
        }
        (acc_m, acc_s, used, power)
    };
    let half = frames / 2;
    // pass 1, the gate: each frame's windowed energy (mid plus side)
    let (a, b) = rayon::join(|| run(0..half, None, &[]), || run(half..frames, None, &[]));
    let power: Vec<f64> = a.3.into_iter().chain(b.3).collect();
    let mut sorted: Vec<f64> = power.iter().copied().filter(|&p| p > 0.0).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let loud = sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * 0.9).round() as usize)
        .copied()
        .unwrap_or(0.0);
    let floor = loud * 10f64.powf(-gate_db / 10.0);
    // pass 2: the spectra of the frames that pass
    let (a, b) = rayon::join(
        || run(0..half, Some(floor), &power),
        || run(half..frames, Some(floor), &power),
    );
    let used = a.2 + b.2;
    let sum = |x: Vec<f64>, y: Vec<f64>| -> Vec<f64> {
        x.into_iter().zip(y).map(|(p, q)| p + q).collect()
    };
    let acc_m = sum(a.0, b.0);
    let acc_s = sum(a.1, b.1);
    let norm = if used > 0 {
        2.0 / (used as f64 * size as f64 * win_power)
    } else {
        0.0
    };
    let bin_hz = sample_rate as f64 / size as f64;
    let mid = BandSpectrum {
        level_db: band_levels(&acc_m, norm, &centres, bin_hz),
        centres_hz: centres.clone(),
    };
    let side = right.map(|_| BandSpectrum {
        level_db: band_levels(&acc_s, norm, &centres, bin_hz),
        centres_hz: centres,
    });
    (mid, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_reads_zero_db_in_its_band_only() {
        let sr = 48_000;
        let x: Vec<f32> = (0..sr * 4)
            .map(|n| (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / sr as f64).sin() as f32)
            .collect();
        let s = third_octave(&[&x], sr as u32, 400);
        let at = s.level_near(1000.0).unwrap();
        assert!(at.abs() < 0.2, "{at}");
        let off = s.level_near(250.0).unwrap_or(-200.0);
        assert!(off < -60.0, "{off}");
    }

    #[test]
    fn white_noise_rises_3_db_per_octave_in_third_octave_bands() {
        let mut r = crate::rng::Rng::new(2);
        let x: Vec<f32> = (0..44_100 * 10)
            .map(|_| (0.1 * r.gaussian()) as f32)
            .collect();
        let s = third_octave(&[&x], 44_100, 1000);
        let a = s.level_near(500.0).unwrap();
        let b = s.level_near(1000.0).unwrap();
        let c = s.level_near(4000.0).unwrap();
        assert!((b - a - 3.0).abs() < 0.5, "{a} {b}");
        assert!((c - b - 6.0).abs() < 0.5, "{b} {c}");
    }

    #[test]
    fn a_borrowed_gate_measures_the_same_moments() {
        // a loud 200 Hz first half, a quiet 4 kHz second half; "processed" lifts the quiet
        // half by 30 dB (as a compressor would raise a quiet passage into the gate)
        let sr = 44_100u32;
        let n = sr as usize * 8;
        let tone = |i: usize| {
            let t = i as f64 / sr as f64;
            if i < n / 2 {
                0.5 * (2.0 * std::f64::consts::PI * 200.0 * t).sin()
            } else {
                0.005 * (2.0 * std::f64::consts::PI * 4000.0 * t).sin()
            }
        };
        let src: Vec<f32> = (0..n).map(|i| tone(i) as f32).collect();
        let lifted: Vec<f32> = (0..n)
            .map(|i| (tone(i) * if i < n / 2 { 1.0 } else { 31.6 }) as f32)
            .collect();
        let level = |b: &BandSpectrum, hz: f64| b.level_near(hz).unwrap_or(-300.0);
        let (own, _) = mid_side_third_octave(&lifted, None, sr, 600, 12.0);
        let (gated, _) =
            mid_side_third_octave_gated_by(&lifted, None, sr, 600, 12.0, Some((&src, None)));
        // its own gate now lets the lifted half in; the source's gate keeps it out
        let (o, g) = (
            level(&own, 4000.0) - level(&own, 200.0),
            level(&gated, 4000.0) - level(&gated, 200.0),
        );
        assert!(
            o > -15.0 && g < o - 12.0,
            "own gate {o:.1} dB, borrowed {g:.1} dB"
        );
        // a gate of another length is ignored
        let (odd, _) = mid_side_third_octave_gated_by(
            &lifted,
            None,
            sr,
            600,
            12.0,
            Some((&src[..n / 2], None)),
        );
        assert_eq!(odd.level_db, own.level_db);
    }
}
