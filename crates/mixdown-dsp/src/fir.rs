//! Linear-phase FIR equalisation from a smooth gain curve, run by FFT overlap-add, on a mid
//! and a side path at once (the reference-matching EQ).
//!
//! Design: the wanted magnitude is sampled on the FFT grid of the filter's length, given zero
//! phase, brought to the time domain, centred and Hann-windowed. The result is symmetric, so
//! its phase is exactly linear: every frequency is delayed by half the filter's length, and
//! [`MidSideFir::process`] removes that delay, so the output lines up with the input sample
//! for sample. A smooth curve (1/3-octave points, interpolated in log frequency) needs no more
//! than about a tenth of a second of filter.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Filter length for a sample rate: a power of two of about 93 ms (4096 taps at 44.1/48 kHz).
pub fn taps_for(sample_rate: f64) -> usize {
    let want = (sample_rate * 0.085).max(256.0);
    (want.log2().ceil().exp2() as usize).max(256)
}

/// A linear-phase FIR of `taps` coefficients (even) whose magnitude follows `gain_db(hz)`.
/// The impulse response is centred on sample `taps / 2`.
pub fn design(taps: usize, sample_rate: f64, gain_db: &dyn Fn(f64) -> f64) -> Vec<f32> {
    let taps = taps.max(4) & !1;
    let mut planner = RealFftPlanner::<f64>::new();
    let inv = planner.plan_fft_inverse(taps);
    let mut spec = inv.make_input_vec();
    for (k, c) in spec.iter_mut().enumerate() {
        let hz = k as f64 * sample_rate / taps as f64;
        *c = Complex::new(10f64.powf(gain_db(hz) / 20.0), 0.0);
    }
    let mut circ = inv.make_output_vec();
    inv.process(&mut spec, &mut circ)
        .expect("the FFT's own buffer sizes");
    let half = taps / 2;
    (0..taps)
        .map(|n| {
            let v = circ[(n + taps - half) % taps] / taps as f64;
            // Hann window centred on the middle tap
            let w =
                0.5 + 0.5 * (std::f64::consts::PI * (n as f64 - half as f64) / half as f64).cos();
            (v * w) as f32
        })
        .collect()
}

/// The magnitude response of `h` at `hz`, dB (direct evaluation; for tests and reports).
pub fn response_db(h: &[f32], sample_rate: f64, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / sample_rate;
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, &c) in h.iter().enumerate() {
        re += c as f64 * (w * n as f64).cos();
        im -= c as f64 * (w * n as f64).sin();
    }
    10.0 * (re * re + im * im).max(1e-30).log10()
}

/// One path (mid or side): the filter's spectrum and the running overlap.
struct Path {
    spectrum: Vec<Complex<f32>>,
    buf: Vec<f32>,
    freq: Vec<Complex<f32>>,
    scratch_fwd: Vec<Complex<f32>>,
    scratch_inv: Vec<Complex<f32>>,
    /// Convolution output aligned to the current block's first sample.
    acc: Vec<f32>,
}

impl Path {
    fn new(
        h: &[f32],
        fwd: &Arc<dyn RealToComplex<f32>>,
        inv: &Arc<dyn ComplexToReal<f32>>,
    ) -> Self {
        let n = fwd.len();
        let mut buf = fwd.make_input_vec();
        buf[..h.len()].copy_from_slice(h);
        let mut spectrum = fwd.make_output_vec();
        fwd.process(&mut buf, &mut spectrum)
            .expect("the FFT's own buffer sizes");
        // the inverse transform is unnormalised: fold 1/n into the filter
        for c in spectrum.iter_mut() {
            *c /= n as f32;
        }
        Path {
            spectrum,
            buf,
            freq: fwd.make_output_vec(),
            scratch_fwd: fwd.make_scratch_vec(),
            scratch_inv: inv.make_scratch_vec(),
            acc: vec![0.0; n],
        }
    }

    /// Convolve `self.buf` (one block, zero-padded) and add it to the overlap.
    fn run(&mut self, fwd: &Arc<dyn RealToComplex<f32>>, inv: &Arc<dyn ComplexToReal<f32>>) {
        fwd.process_with_scratch(&mut self.buf, &mut self.freq, &mut self.scratch_fwd)
            .expect("the FFT's own buffer sizes");
        for (x, h) in self.freq.iter_mut().zip(&self.spectrum) {
            *x *= h;
        }
        // a real signal's spectrum: the DC and Nyquist bins must be real for the inverse
        if let Some(f) = self.freq.first_mut() {
            f.im = 0.0;
        }
        if let Some(f) = self.freq.last_mut() {
            f.im = 0.0;
        }
        inv.process_with_scratch(&mut self.freq, &mut self.buf, &mut self.scratch_inv)
            .expect("the FFT's own buffer sizes");
        for (a, &y) in self.acc.iter_mut().zip(&self.buf) {
            *a += y;
        }
    }

    /// Move the overlap on by `hop` samples.
    fn advance(&mut self, hop: usize) {
        let n = self.acc.len();
        self.acc.copy_within(hop..n, 0);
        self.acc[n - hop..].fill(0.0);
    }
}

/// A mid/side linear-phase EQ: the mid (L+R)/2 through one filter, the side (L-R)/2 through
/// another, back to left/right. On one channel only the mid filter runs.
pub struct MidSideFir {
    taps: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    mid: Path,
    side: Path,
    /// First input frame of the next block.
    next_start: usize,
}

impl MidSideFir {
    /// Both filters must have the same even length (from [`design`]).
    pub fn new(mid: &[f32], side: &[f32]) -> Self {
        assert_eq!(mid.len(), side.len(), "mid and side filters of one length");
        let taps = mid.len();
        // FFT of eight filter lengths: seven eighths of each transform is new signal
        let n = 8 * taps;
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        MidSideFir {
            taps,
            mid: Path::new(mid, &fwd, &inv),
            side: Path::new(side, &fwd, &inv),
            fwd,
            inv,
            next_start: 0,
        }
    }

    /// Filter `channels` (one or two, equal length) in place. The filters' delay is removed:
    /// output sample i lines up with input sample i. Memory: a few FFT-sized buffers.
    pub fn process(&mut self, channels: &mut [Vec<f32>]) {
        let n = channels.first().map_or(0, |c| c.len());
        let mut views: Vec<&mut [f32]> = channels.iter_mut().map(|c| c.as_mut_slice()).collect();
        self.run_until(&mut views, 0, n, n);
    }

    /// Stream through a signal of `total` frames in place, far enough that every output
    /// below `until` is final. `tail[c][i]` is frame `offset + i` of channel c: the caller
    /// hands over everything from `offset` on, which must be at or below every frame not yet
    /// final (the filter reads ahead of what it writes, and writes only frames not yet
    /// final). Call with growing `until`; the same frames as [`MidSideFir::process`].
    pub fn run_until(
        &mut self,
        tail: &mut [&mut [f32]],
        offset: usize,
        total: usize,
        until: usize,
    ) {
        let n_fft = self.fwd.len();
        let hop = n_fft - self.taps;
        let delay = self.taps / 2;
        let stereo = tail.len() == 2;
        let (fwd, inv) = (&self.fwd, &self.inv);
        // output i = full convolution at i + delay; after the block at `start` the convolution
        // is complete below start + hop, so outputs below start + hop - delay can be written
        // (the input there has already been read)
        let final_below = |next: usize| next.saturating_sub(delay).min(total);
        while final_below(self.next_start) < until.min(total) && self.next_start < total + delay {
            let start = self.next_start;
            debug_assert!(start.saturating_sub(delay) >= offset || start == 0);
            let end = (start + hop).min(total);
            let len = end.saturating_sub(start);
            let (lo, hi) = (start.min(end) - offset.min(start), end - offset.min(end));
            {
                let (mid, side) = (&mut self.mid, &mut self.side);
                if stereo {
                    let (l, r) = (&tail[0][lo..hi], &tail[1][lo..hi]);
                    for (((m, d), &a), &b) in
                        mid.buf.iter_mut().zip(side.buf.iter_mut()).zip(l).zip(r)
                    {
                        *m = 0.5 * (a + b);
                        *d = 0.5 * (a - b);
                    }
                    side.buf[len..].fill(0.0);
                } else if let Some(c) = tail.first() {
                    mid.buf[..len].copy_from_slice(&c[lo..hi]);
                }
                mid.buf[len..].fill(0.0);
                if stereo {
                    rayon::join(|| mid.run(fwd, inv), || side.run(fwd, inv));
                } else {
                    mid.run(fwd, inv);
                }
            }
            let out_lo = start.saturating_sub(delay);
            let out_hi = (start + hop - delay).min(total);
            let k0 = out_lo + delay - start;
            let count = out_hi.saturating_sub(out_lo);
            let (wlo, whi) = (out_lo - offset, out_lo - offset + count);
            let m = &self.mid.acc[k0..k0 + count];
            if stereo {
                let s = &self.side.acc[k0..k0 + count];
                let (l, r) = tail.split_at_mut(1);
                for (((l, r), &m), &s) in l[0][wlo..whi]
                    .iter_mut()
                    .zip(&mut r[0][wlo..whi])
                    .zip(m)
                    .zip(s)
                {
                    *l = m + s;
                    *r = m - s;
                }
            } else {
                tail[0][wlo..whi].copy_from_slice(m);
            }
            self.mid.advance(hop);
            if stereo {
                self.side.advance(hop);
            }
            self.next_start = start + hop;
        }
    }

    /// The filters' length, samples.
    pub fn taps(&self) -> usize {
        self.taps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(hz: f64) -> f64 {
        // a low shelf +4 dB and a high cut -5 dB, smooth in log frequency
        let lo = 4.0 / (1.0 + (hz / 120.0).powi(2));
        let hi = -5.0 / (1.0 + (6000.0 / hz.max(1.0)).powi(2));
        lo + hi
    }

    #[test]
    fn designed_response_follows_the_curve() {
        let sr = 44_100.0;
        let h = design(taps_for(sr), sr, &curve);
        let mut worst = 0.0f64;
        for k in 0..60 {
            let hz = 40.0 * 2f64.powf(k as f64 / 6.0);
            if hz > 20_000.0 {
                break;
            }
            worst = worst.max((response_db(&h, sr, hz) - curve(hz)).abs());
        }
        assert!(worst < 0.1, "worst deviation {worst:.3} dB");
    }

    /// The slow way: full convolution, delay removed, mid and side separately.
    fn direct(l: &[f32], r: &[f32], hm: &[f32], hs: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let d = hm.len() / 2;
        let n = l.len();
        let conv = |x: &[f64], h: &[f32], i: usize| {
            let mut s = 0.0f64;
            for (k, &c) in h.iter().enumerate() {
                let j = i + d;
                if j >= k && j - k < x.len() {
                    s += c as f64 * x[j - k];
                }
            }
            s
        };
        let m: Vec<f64> = (0..n).map(|i| 0.5 * (l[i] as f64 + r[i] as f64)).collect();
        let s: Vec<f64> = (0..n).map(|i| 0.5 * (l[i] as f64 - r[i] as f64)).collect();
        let mut ol = vec![0.0; n];
        let mut or = vec![0.0; n];
        for i in 0..n {
            let (a, b) = (conv(&m, hm, i), conv(&s, hs, i));
            ol[i] = (a + b) as f32;
            or[i] = (a - b) as f32;
        }
        (ol, or)
    }

    #[test]
    fn overlap_add_equals_direct_convolution_with_the_delay_removed() {
        let sr = 8_000.0;
        let taps = 256;
        let hm = design(taps, sr, &|f| 6.0 / (1.0 + (f / 300.0).powi(2)));
        let hs = design(taps, sr, &|f| -3.0 + 2.0 * (f / 4000.0));
        let mut rng = crate::rng::Rng::new(7);
        // several lengths: shorter than a hop, exactly a hop, odd
        for n in [100usize, 768, 3001] {
            let l: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
            let r: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
            let (el, er) = direct(&l, &r, &hm, &hs);
            let mut ch = vec![l, r];
            MidSideFir::new(&hm, &hs).process(&mut ch);
            let err = ch[0]
                .iter()
                .zip(&el)
                .chain(ch[1].iter().zip(&er))
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-5, "n {n}: worst error {err}");
        }
    }

    #[test]
    fn streaming_in_steps_gives_the_same_frames_as_one_pass() {
        let sr = 8_000.0;
        let taps = 256;
        let hm = design(taps, sr, &|f| 6.0 / (1.0 + (f / 300.0).powi(2)));
        let hs = design(taps, sr, &|f| -3.0 + 2.0 * (f / 4000.0));
        let mut rng = crate::rng::Rng::new(9);
        let n = 20_000;
        let l: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let r: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let mut whole = vec![l.clone(), r.clone()];
        MidSideFir::new(&hm, &hs).process(&mut whole);
        let mut ch = vec![l, r];
        let mut f = MidSideFir::new(&hm, &hs);
        // blocks of 777 frames, each handed over from its first frame on
        let mut a = 0;
        while a < n {
            let b = (a + 777).min(n);
            let (x, y) = ch.split_at_mut(1);
            let mut tail: Vec<&mut [f32]> = vec![&mut x[0][a..], &mut y[0][a..]];
            f.run_until(&mut tail, a, n, b);
            a = b;
        }
        assert_eq!(ch, whole);
    }

    #[test]
    fn a_flat_curve_passes_the_signal_unchanged_and_aligned() {
        let sr = 44_100.0;
        let h = design(taps_for(sr), sr, &|_| 0.0);
        let n = 50_000;
        let l: Vec<f32> = (0..n).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let r: Vec<f32> = (0..n).map(|i| (i as f32 * 0.037).cos() * 0.3).collect();
        let mut ch = vec![l.clone(), r.clone()];
        MidSideFir::new(&h, &h).process(&mut ch);
        // away from the ends (where the window of a flat response rings the least)
        let err = (5000..n - 5000)
            .map(|i| (ch[0][i] - l[i]).abs().max((ch[1][i] - r[i]).abs()))
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "worst error {err}");
        // mono: the mid filter alone
        let mut mono = vec![l.clone()];
        MidSideFir::new(&h, &h).process(&mut mono);
        let err = (5000..n - 5000)
            .map(|i| (mono[0][i] - l[i]).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "mono worst error {err}");
    }

    #[test]
    fn side_gain_changes_width_only() {
        let sr = 44_100.0;
        let taps = taps_for(sr);
        let flat = design(taps, sr, &|_| 0.0);
        let plus6 = design(taps, sr, &|_| 20.0 * 2f64.log10());
        let n = 40_000;
        let l: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let r: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 0.05 + 0.7).sin() * 0.5)
            .collect();
        let mut ch = vec![l.clone(), r.clone()];
        MidSideFir::new(&flat, &plus6).process(&mut ch);
        let err = (5000..n - 5000)
            .map(|i| {
                let (m, s) = (0.5 * (l[i] + r[i]), 0.5 * (l[i] - r[i]));
                let (m2, s2) = (0.5 * (ch[0][i] + ch[1][i]), 0.5 * (ch[0][i] - ch[1][i]));
                (m2 - m).abs().max((s2 - 2.0 * s).abs())
            })
            .fold(0.0f32, f32::max);
        assert!(err < 1e-3, "worst error {err}");
    }
}
