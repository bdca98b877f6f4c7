//! 4x polyphase interpolation for true-peak detection.
//!
//! Meters disagree on true peak by a few hundredths of a dB on ordinary music and by up to
//! half a dB on material with energy near Nyquist (noise, square waves, a limiter's output),
//! because each uses its own interpolation filter. The detector here reads the larger of two
//! common designs, so a ceiling it holds is held on both kinds of meter:
//!
//! * [`Design::KaiserScipy`]: Kaiser-windowed sinc (beta 5, 10 input samples either side,
//!   cut-off at the input's Nyquist, DC gain normalised), the design of
//!   `scipy.signal.resample_poly(x, 4, 1)` that the independent meter `measure.py` uses;
//! * [`Design::HannShort`]: a 49-tap Hann-windowed sinc at the oversampled rate (6 input
//!   samples either side), the kind of short filter BS.1770 Annex 2 meters (libebur128, the
//!   ebur128 crate) use. It passes more of the band just below Nyquist.
//! * below 40 kHz, [`Design::Dense`]: more phases, so the reconstructed waveform is looked at
//!   at 192 kHz or more (4x of 16 kHz is only 64 kHz, and a meter that resamples to 192 kHz,
//!   like ffmpeg's, finds peaks between those points).
//!
//! The envelope also includes `|x[n]|` itself, so a true peak is never below the sample peak.

/// Oversampling factor used for true-peak detection.
pub const FACTOR: usize = 4;
/// Outputs computed together in the interpolation kernel.
const LANES: usize = 8;
/// Largest half-length of the designs, in input samples.
pub const MAX_HALF_LEN: usize = 16;

/// An interpolation filter design.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    KaiserScipy,
    HannShort,
    /// Kaiser-windowed sinc (beta 8, 16 input samples either side) with `factor` phases.
    Dense {
        factor: usize,
    },
}

/// Phases needed to look at the waveform at 192 kHz or more (at least [`FACTOR`]). Used below
/// 40 kHz; at 44.1 kHz and up the two 4x designs already read at least what 192 kHz meters do.
pub fn dense_factor(sample_rate: u32) -> usize {
    (192_000usize.div_ceil(sample_rate.max(1) as usize)).clamp(FACTOR, 32)
}

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The filter at the oversampled rate, centred, its half-length in input samples and its
/// oversampling factor.
fn design_taps(design: Design) -> (Vec<f64>, usize, usize) {
    use std::f64::consts::PI;
    let sinc = |t: f64| {
        if t == 0.0 {
            1.0
        } else {
            (PI * t).sin() / (PI * t)
        }
    };
    match design {
        Design::KaiserScipy => {
            let half = 10;
            let len = 2 * half * FACTOR + 1; // 81
            let centre = (len - 1) as f64 / 2.0;
            let cutoff = 1.0 / FACTOR as f64; // relative to the oversampled Nyquist
            let beta = 5.0;
            let i0b = bessel_i0(beta);
            let mut h: Vec<f64> = (0..len)
                .map(|m| {
                    let t = m as f64 - centre;
                    let r = t / centre;
                    let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
                    cutoff * sinc(cutoff * t) * w
                })
                .collect();
            let sum: f64 = h.iter().sum();
            h.iter_mut().for_each(|v| *v *= FACTOR as f64 / sum);
            (h, half, FACTOR)
        }
        Design::HannShort => {
            let half = 6;
            let len = 2 * half * FACTOR + 1; // 49
            let centre = (len - 1) as f64 / 2.0;
            let h = (0..len)
                .map(|m| {
                    let t = m as f64 - centre;
                    let w = 0.5 * (1.0 - (2.0 * PI * m as f64 / (len - 1) as f64).cos());
                    w * sinc(t / FACTOR as f64)
                })
                .collect();
            (h, half, FACTOR)
        }
        Design::Dense { factor } => {
            let half = 16;
            let len = 2 * half * factor + 1;
            let centre = (len - 1) as f64 / 2.0;
            let cutoff = 1.0 / factor as f64;
            let beta = 8.0;
            let i0b = bessel_i0(beta);
            let mut h: Vec<f64> = (0..len)
                .map(|m| {
                    let t = m as f64 - centre;
                    let r = t / centre;
                    let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
                    cutoff * sinc(cutoff * t) * w
                })
                .collect();
            let sum: f64 = h.iter().sum();
            h.iter_mut().for_each(|v| *v *= factor as f64 / sum);
            (h, half, factor)
        }
    }
}

/// Polyphase coefficients: `phases[p][k]` multiplies `x[n + half_len - k]` to give the
/// interpolated value at time `n + p / FACTOR`, for p = 0..FACTOR-1.
#[derive(Clone, Debug)]
pub struct Interpolator {
    half_len: usize,
    phases: Vec<Vec<f32>>,
    /// Per phase: `Some((k, c))` when tap `k` is its only non-zero tap (a plain scaling).
    single_tap: Vec<Option<(usize, f32)>>,
    /// The phases with more than one non-zero tap, in order.
    full: Vec<usize>,
}

impl Interpolator {
    pub fn new(design: Design) -> Self {
        let (h, half_len, factor) = design_taps(design);
        let taps = 2 * half_len;
        let phases = (0..factor)
            .map(|p| {
                (0..taps)
                    .map(|k| h.get(p + factor * k).copied().unwrap_or(0.0) as f32)
                    .collect()
            })
            .collect::<Vec<Vec<f32>>>();
        let single_tap: Vec<Option<(usize, f32)>> = phases
            .iter()
            .map(|phase| {
                let mut nonzero = phase.iter().enumerate().filter(|(_, c)| **c != 0.0);
                match (nonzero.next(), nonzero.next()) {
                    (Some((k0, &c0)), None) => Some((k0, c0)),
                    _ => None,
                }
            })
            .collect();
        let full = (0..phases.len())
            .filter(|&p| single_tap[p].is_none())
            .collect();
        Interpolator {
            half_len,
            phases,
            single_tap,
            full,
        }
    }

    /// The interpolated sample at fractional time `n + p/FACTOR` (p in 0..FACTOR) of `x`,
    /// treating samples outside `x` as zero. Slow reference path, for tests.
    pub fn interpolate_at(&self, x: &[f32], n: usize, p: usize) -> f32 {
        let mut acc = 0.0f64;
        for (k, &c) in self.phases[p].iter().enumerate() {
            let idx = n as isize + self.half_len as isize - k as isize;
            if idx >= 0 && (idx as usize) < x.len() {
                acc += c as f64 * x[idx as usize] as f64;
            }
        }
        acc as f32
    }

    /// For every sample `n` of `x`, `env[n] = max(env[n], |x[n]|, |x(n + p/4)|)` for p = 0..3:
    /// the true-peak envelope on the interval after sample n. Samples outside `x` are zero.
    /// Works in blocks with a caller-provided scratch buffer, so it allocates nothing.
    pub fn peak_envelope_max(&self, x: &[f32], env: &mut [f32], scratch: &mut Scratch) {
        assert_eq!(x.len(), env.len());
        self.peak_envelope_max_at(x, 0, x.len(), env, scratch);
    }

    /// The envelope of samples `lo..hi` of `x` (reading the neighbours of that range from `x`)
    /// into `env[0..hi-lo]`.
    pub fn peak_envelope_max_at(
        &self,
        x: &[f32],
        lo: usize,
        hi: usize,
        env: &mut [f32],
        scratch: &mut Scratch,
    ) {
        assert!(lo <= hi && hi <= x.len() && env.len() >= hi - lo);
        self.envelope(x, lo, hi, env, scratch);
    }

    fn envelope(&self, x: &[f32], lo: usize, hi: usize, env: &mut [f32], scratch: &mut Scratch) {
        let n = x.len();
        let taps = 2 * self.half_len;
        let block = scratch.acc.len();
        #[cfg(target_arch = "x86_64")]
        let avx = std::arch::is_x86_feature_detected!("avx");
        let mut start = lo;
        while start < hi {
            let len = block.min(hi - start);
            // win[i] = x[start + i - half_len + 1] (zero outside x); output start + i needs
            // x[start + i + half_len - k] = win[i + taps - 1 - k]
            let win = &mut scratch.window[..len + taps];
            let first = start as isize - self.half_len as isize + 1;
            // the part of the window inside x
            let a = (-first).clamp(0, win.len() as isize) as usize;
            let b = (n as isize - first).clamp(a as isize, win.len() as isize) as usize;
            win[..a].fill(0.0);
            if b > a {
                let src = (first + a as isize) as usize;
                win[a..b].copy_from_slice(&x[src..src + (b - a)]);
            }
            win[b..].fill(0.0);
            let out = &mut env[start - lo..start - lo + len];
            for (e, &v) in out.iter_mut().zip(&x[start..start + len]) {
                *e = e.max(v.abs());
            }
            let win = &scratch.window[..len + taps];
            // A phase with a single non-zero tap (phase 0 of a windowed sinc: the sinc is zero
            // at every other integer) is a plain scaling: the same value as the full sum,
            // since the other products are exact zeros, for a quarter of the work.
            for &(k0, c0) in self.single_tap.iter().flatten() {
                let src = &win[taps - 1 - k0..taps - 1 - k0 + len];
                for (e, &v) in out.iter_mut().zip(src) {
                    *e = e.max((c0 * v).abs());
                }
            }
            #[cfg(target_arch = "x86_64")]
            if avx {
                // up to three phases at a time share the window's loads
                for group in self.full.chunks(3) {
                    let ph = |j: usize| self.phases[group[j]].as_slice();
                    // SAFETY: the CPU has AVX (checked above); `win` holds len + taps samples
                    // and every phase `taps` coefficients, what the kernel reads.
                    unsafe {
                        match group.len() {
                            3 => full_phases_avx([ph(0), ph(1), ph(2)], win, out, taps),
                            2 => full_phases_avx([ph(0), ph(1)], win, out, taps),
                            _ => full_phases_avx([ph(0)], win, out, taps),
                        }
                    }
                }
                start += len;
                continue;
            }
            for &p in &self.full {
                full_phase_portable(&self.phases[p], win, out, taps);
            }
            start += len;
        }
    }
}

/// One phase over a block: `out[i] = max(out[i], |sum_k phase[k] * win[i + taps - 1 - k]|)`,
/// the sum in the order of k from 0.0. Eight outputs at a time with the sums in registers
/// (the same order of additions as one output at a time, so the same bits at any width).
fn full_phase_portable(phase: &[f32], win: &[f32], out: &mut [f32], taps: usize) {
    let len = out.len();
    let mut i = 0;
    while i + LANES <= len {
        // the group's window, sliced once: taps + LANES - 1 samples
        let w = &win[i..i + taps + LANES - 1];
        let mut acc = [0.0f32; LANES];
        for (k, &c) in phase.iter().enumerate() {
            let src: &[f32; LANES] = w[taps - 1 - k..taps - 1 - k + LANES]
                .try_into()
                .expect("LANES samples");
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += c * s;
            }
        }
        for (e, a) in out[i..i + LANES].iter_mut().zip(acc) {
            *e = e.max(a.abs());
        }
        i += LANES;
    }
    for (j, e) in out.iter_mut().enumerate().skip(i) {
        let mut a = 0.0f32;
        for (k, &c) in phase.iter().enumerate() {
            a += c * win[j + taps - 1 - k];
        }
        *e = e.max(a.abs());
    }
}

/// [`full_phase_portable`] for `P` phases at once in AVX registers: sixteen outputs of each
/// phase per pass, every window load shared by the phases, the taps' sums independent so the
/// CPU overlaps them. Per output the same operations in the same order (a multiply, then an
/// add, from 0.0; no fused multiply-add), so the same bits. The maximum keeps the envelope
/// when the sum is NaN, as `f32::max` does (the envelope itself is never NaN).
///
/// # Safety
/// The CPU must have AVX; `win` must hold at least `out.len() + taps - 1` samples and every
/// phase at least `taps` coefficients.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn full_phases_avx<const P: usize>(
    ph: [&[f32]; P],
    win: &[f32],
    out: &mut [f32],
    taps: usize,
) {
    use std::arch::x86_64::*;
    let len = out.len();
    assert!(taps >= 1 && win.len() + 1 >= len + taps && ph.iter().all(|p| p.len() >= taps));
    let sign = _mm256_set1_ps(-0.0);
    let wp = win.as_ptr();
    let op = out.as_mut_ptr();
    let mut i = 0;
    while i + 16 <= len {
        let mut a0 = [_mm256_setzero_ps(); P];
        let mut a1 = [_mm256_setzero_ps(); P];
        for k in 0..taps {
            // SAFETY: i + taps - 1 - k + 16 <= len + taps - 1 <= win.len()
            let (w0, w1) = unsafe {
                let src = wp.add(i + taps - 1 - k);
                (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8)))
            };
            for p in 0..P {
                // SAFETY: k < taps <= ph[p].len()
                let c = _mm256_set1_ps(unsafe { *ph[p].get_unchecked(k) });
                a0[p] = _mm256_add_ps(a0[p], _mm256_mul_ps(c, w0));
                a1[p] = _mm256_add_ps(a1[p], _mm256_mul_ps(c, w1));
            }
        }
        // SAFETY: i + 16 <= len = out.len()
        unsafe {
            let mut e0 = _mm256_loadu_ps(op.add(i));
            let mut e1 = _mm256_loadu_ps(op.add(i + 8));
            for p in 0..P {
                e0 = _mm256_max_ps(_mm256_andnot_ps(sign, a0[p]), e0);
                e1 = _mm256_max_ps(_mm256_andnot_ps(sign, a1[p]), e1);
            }
            _mm256_storeu_ps(op.add(i), e0);
            _mm256_storeu_ps(op.add(i + 8), e1);
        }
        i += 16;
    }
    while i + 8 <= len {
        let mut a0 = [_mm256_setzero_ps(); P];
        for k in 0..taps {
            // SAFETY: as above, eight samples
            let w0 = unsafe { _mm256_loadu_ps(wp.add(i + taps - 1 - k)) };
            for p in 0..P {
                // SAFETY: k < taps <= ph[p].len()
                let c = _mm256_set1_ps(unsafe { *ph[p].get_unchecked(k) });
                a0[p] = _mm256_add_ps(a0[p], _mm256_mul_ps(c, w0));
            }
        }
        // SAFETY: i + 8 <= out.len()
        unsafe {
            let mut e0 = _mm256_loadu_ps(op.add(i));
            for a in a0 {
                e0 = _mm256_max_ps(_mm256_andnot_ps(sign, a), e0);
            }
            _mm256_storeu_ps(op.add(i), e0);
        }
        i += 8;
    }
    for j in i..len {
        for p in ph {
            let mut a = 0.0f32;
            for (k, &c) in p[..taps].iter().enumerate() {
                a += c * win[j + taps - 1 - k];
            }
            out[j] = out[j].max(a.abs());
        }
    }
}

/// The true-peak detector: the largest reading of its designs.
#[derive(Clone, Debug)]
pub struct TruePeakDetector {
    designs: Vec<Interpolator>,
    /// Largest sum of |taps| of any phase of either design: no interpolated value can exceed
    /// this times the largest |sample| within the filter's reach.
    bound_gain: f32,
}

/// Samples per block when deciding what can be skipped (at least the filters' reach).
const PRUNE_BLOCK: usize = 16;

impl TruePeakDetector {
    /// The detector for a sample rate: the two 4x designs, and below 48 kHz a denser one.
    pub fn new(sample_rate: u32) -> Self {
        let mut designs = vec![
            Interpolator::new(Design::KaiserScipy),
            Interpolator::new(Design::HannShort),
        ];
        let dense = dense_factor(sample_rate);
        if sample_rate < 40_000 && dense > FACTOR {
            designs.push(Interpolator::new(Design::Dense { factor: dense }));
        }
        let bound_gain = designs
            .iter()
            .flat_map(|d| d.phases.iter())
            .map(|p| p.iter().map(|c| c.abs()).sum::<f32>())
            .fold(1.0f32, f32::max)
            * 1.0001;
        TruePeakDetector {
            designs,
            bound_gain,
        }
    }

    /// `env[n] = max(env[n], true-peak of x on [n, n+1))` by both designs.
    pub fn peak_envelope_max(&self, x: &[f32], env: &mut [f32], scratch: &mut Scratch) {
        for d in &self.designs {
            d.peak_envelope_max(x, env, scratch);
        }
    }

    /// The envelope of samples `lo..hi` of `x` into `env[0..hi-lo]`, by both designs.
    pub fn peak_envelope_max_at(
        &self,
        x: &[f32],
        lo: usize,
        hi: usize,
        env: &mut [f32],
        scratch: &mut Scratch,
    ) {
        for d in &self.designs {
            d.peak_envelope_max_at(x, lo, hi, env, scratch);
        }
    }

    /// The largest true-peak envelope value in each `chunk` samples of `x`, appended to `out`:
    /// exact wherever it can exceed `threshold`, a conservative bound (at most `threshold`)
    /// elsewhere. Needs no full-length envelope.
    pub fn chunk_peaks_pruned(
        &self,
        x: &[f32],
        chunk: usize,
        threshold: f32,
        out: &mut Vec<f32>,
        scratch: &mut Scratch,
    ) {
        let chunk = chunk.max(1);
        let maxima = block_maxima(x);
        let n = x.len();
        let nc = n.div_ceil(chunk);
        let bound_of = |c: usize| {
            let b0 = c * chunk / PRUNE_BLOCK;
            let b1 = (((c + 1) * chunk).min(n) - 1) / PRUNE_BLOCK;
            (b0..=b1)
                .map(|b| self.block_bound(&maxima, b))
                .fold(0.0f32, f32::max)
        };
        let mut env = std::mem::take(&mut scratch.env);
        let mut c = 0;
        while c < nc {
            let bound = bound_of(c);
            if bound <= threshold {
                out.push(bound);
                c += 1;
                continue;
            }
            // a run of chunks that need the exact envelope
            let c0 = c;
            while c < nc && bound_of(c) > threshold {
                c += 1;
            }
            let (s0, s1) = (c0 * chunk, (c * chunk).min(n));
            env.clear();
            env.resize(s1 - s0, 0.0);
            for d in &self.designs {
                d.peak_envelope_max_at(x, s0, s1, &mut env, scratch);
            }
            out.extend(
                env.chunks(chunk)
                    .map(|e| e.iter().fold(0.0f32, |m, &v| m.max(v))),
            );
        }
        scratch.env = env;
    }

    /// The largest true-peak value of `x` (linear). Blocks that cannot beat the current
    /// maximum are skipped, so this costs a fraction of a full interpolation on music.
    pub fn true_peak(&self, x: &[f32], scratch: &mut Scratch) -> f32 {
        let maxima = block_maxima(x);
        // the true peak is at least the sample peak: only blocks that could beat it count
        let mut best = maxima.iter().fold(0.0f32, |m, &v| m.max(v));
        let mut tmp = std::mem::take(&mut scratch.env);
        for b in 0..maxima.len() {
            if self.block_bound(&maxima, b) <= best {
                continue;
            }
            let s0 = b * PRUNE_BLOCK;
            let s1 = ((b + 1) * PRUNE_BLOCK).min(x.len());
            tmp.clear();
            tmp.resize(s1 - s0, 0.0);
            for d in &self.designs {
                d.peak_envelope_max_at(x, s0, s1, &mut tmp, scratch);
            }
            best = tmp.iter().fold(best, |m, &v| m.max(v));
        }
        scratch.env = tmp;
        best
    }

    /// The bound factor: no interpolated value exceeds this times the largest |sample| within
    /// the filters' reach.
    pub fn bound_gain(&self) -> f32 {
        self.bound_gain
    }

    fn block_bound(&self, maxima: &[f32], b: usize) -> f32 {
        // the filter reaches MAX_HALF_LEN <= PRUNE_BLOCK samples: the neighbouring blocks cover it
        let mut m = maxima[b];
        if b > 0 {
            m = m.max(maxima[b - 1]);
        }
        if b + 1 < maxima.len() {
            m = m.max(maxima[b + 1]);
        }
        m * self.bound_gain
    }
}

const _: () = assert!(MAX_HALF_LEN <= PRUNE_BLOCK);

fn block_maxima(x: &[f32]) -> Vec<f32> {
    x.chunks(PRUNE_BLOCK)
        .map(|c| c.iter().fold(0.0f32, |m, &v| m.max(v.abs())))
        .collect()
}

/// Work buffers for [`Interpolator::peak_envelope_max`].
#[derive(Clone, Debug)]
pub struct Scratch {
    acc: Vec<f32>,
    window: Vec<f32>,
    env: Vec<f32>,
}

impl Scratch {
    pub fn new(block: usize) -> Self {
        let block = block.max(1);
        Scratch {
            acc: vec![0.0; block],
            window: vec![0.0; block + 2 * MAX_HALF_LEN],
            env: Vec::new(),
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new(2048)
    }
}

/// True peak (linear) of a set of channels: the largest |value| of the interpolated signal.
pub fn true_peak(channels: &[&[f32]], sample_rate: u32) -> f32 {
    let det = TruePeakDetector::new(sample_rate);
    let mut scratch = Scratch::default();
    channels
        .iter()
        .fold(0.0f32, |m, ch| m.max(det.true_peak(ch, &mut scratch)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_zero_is_identity_and_dc_gain_is_one() {
        let it = Interpolator::new(Design::KaiserScipy);
        // phase 0 is (nearly) a unit impulse at k = half_len
        for k in 0..2 * it.half_len {
            let want = if k == it.half_len { 1.0 } else { 0.0 };
            assert!((it.phases[0][k] - want).abs() < 1e-3, "k={k}");
        }
        for p in 1..FACTOR {
            let s: f32 = it.phases[p].iter().sum();
            assert!((s - 1.0).abs() < 2e-3, "phase {p} dc gain {s}");
        }
    }

    #[test]
    fn fs4_sine_at_45_degrees_reads_its_true_peak() {
        // samples of sin(pi/2 n + pi/4) are +-0.7071 while the continuous peak is 1.0
        let x: Vec<f32> = (0..4000)
            .map(|n| {
                (std::f64::consts::FRAC_PI_2 * n as f64 + std::f64::consts::FRAC_PI_4).sin() as f32
            })
            .collect();
        let sp = x.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        let it = Interpolator::new(Design::KaiserScipy);
        let mut env = vec![0.0; 3800];
        it.peak_envelope_max(&x[100..3900], &mut env, &mut Scratch::default());
        let tp = env.iter().fold(0.0f32, |m, &v| m.max(v));
        assert!((sp - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        // scipy.signal.resample_poly(x, 4, 1) reads 1.01336 on the same signal
        assert!((tp - 1.013357).abs() < 1e-4, "tp {tp}");
    }

    #[test]
    fn block_path_matches_reference_path() {
        let mut r = crate::rng::Rng::new(3);
        let x: Vec<f32> = (0..5000).map(|_| r.bipolar() as f32).collect();
        let it = Interpolator::new(Design::HannShort);
        let mut env = vec![0.0f32; x.len()];
        let mut s = Scratch::new(777);
        it.peak_envelope_max(&x, &mut env, &mut s);
        for n in [0usize, 1, 5, 776, 777, 778, 2500, 4990, 4999] {
            let mut want = x[n].abs();
            for p in 0..FACTOR {
                want = want.max(it.interpolate_at(&x, n, p).abs());
            }
            assert!((env[n] - want).abs() < 1e-5, "n={n} {} {}", env[n], want);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_phases_give_the_portable_bits() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        let mut r = crate::rng::Rng::new(5);
        for design in [
            Design::KaiserScipy,
            Design::HannShort,
            Design::Dense { factor: 12 },
        ] {
            let it = Interpolator::new(design);
            let taps = 2 * it.half_len;
            for len in [1usize, 7, 8, 15, 16, 17, 40, 2048] {
                let win: Vec<f32> = (0..len + taps)
                    .map(|_| (r.gaussian() * 0.3) as f32)
                    .collect();
                let env0: Vec<f32> = (0..len).map(|_| (r.uniform() * 0.5) as f32).collect();
                let mut want = env0.clone();
                for &p in &it.full {
                    full_phase_portable(&it.phases[p], &win, &mut want, taps);
                }
                let mut got = env0.clone();
                for group in it.full.chunks(3) {
                    let ph = |j: usize| it.phases[group[j]].as_slice();
                    // SAFETY: AVX checked above; sizes as the kernel needs
                    unsafe {
                        match group.len() {
                            3 => full_phases_avx([ph(0), ph(1), ph(2)], &win, &mut got, taps),
                            2 => full_phases_avx([ph(0), ph(1)], &win, &mut got, taps),
                            _ => full_phases_avx([ph(0)], &win, &mut got, taps),
                        }
                    }
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{design:?} len {len}");
            }
        }
    }

    #[test]
    fn pruned_true_peak_equals_the_full_envelope_maximum() {
        let mut r = crate::rng::Rng::new(8);
        // music-like: quiet noise with a few loud bursts
        let x: Vec<f32> = (0..50_000)
            .map(|i| {
                let loud = (i / 5000) % 4 == 1;
                (r.gaussian() * if loud { 0.3 } else { 0.01 }) as f32
            })
            .collect();
        let det = TruePeakDetector::new(48_000);
        let mut s = Scratch::default();
        let mut full = vec![0.0f32; x.len()];
        det.peak_envelope_max(&x, &mut full, &mut s);
        let tp_full = full.iter().fold(0.0f32, |m, &v| m.max(v));
        assert_eq!(det.true_peak(&x, &mut s), tp_full);
    }

    #[test]
    fn chunk_peaks_match_the_full_envelope_where_it_matters() {
        let mut r = crate::rng::Rng::new(21);
        let x: Vec<f32> = (0..30_001)
            .map(|i| (r.gaussian() * if (i / 3000) % 3 == 0 { 0.4 } else { 0.02 }) as f32)
            .collect();
        let det = TruePeakDetector::new(44_100);
        let mut s = Scratch::default();
        let mut full = vec![0.0f32; x.len()];
        det.peak_envelope_max(&x, &mut full, &mut s);
        for &chunk in &[15usize, 16, 7] {
            let th = 0.3f32;
            let mut peaks = Vec::new();
            det.chunk_peaks_pruned(&x, chunk, th, &mut peaks, &mut s);
            assert_eq!(peaks.len(), x.len().div_ceil(chunk));
            for (c, &p) in peaks.iter().enumerate() {
                let exact = full[c * chunk..((c + 1) * chunk).min(x.len())]
                    .iter()
                    .fold(0.0f32, |m, &v| m.max(v));
                assert!(p >= exact, "chunk {c}: {p} < {exact}");
                if exact > th || p > th {
                    assert_eq!(p, exact, "chunk {c} must be exact above the threshold");
                }
            }
        }
    }
}
