//! ITU-R BS.1770-4 loudness and EBU Tech 3342 loudness range.
//!
//! The signal is K-weighted (a high shelf of about +4 dB above 1.5 kHz, then a high-pass near
//! 38 Hz; both re-derived for the actual sample rate from their analogue prototypes), squared,
//! summed over channels (weight 1 for mono, left and right) and accumulated in 100 ms
//! sub-blocks. Every measure comes from those sub-block powers:
//!
//! * momentary loudness: 400 ms windows (4 sub-blocks), every 100 ms;
//! * short-term loudness: 3 s windows (30 sub-blocks), every 100 ms;
//! * integrated loudness: 400 ms blocks with 75% overlap, absolute gate -70 LUFS, relative gate
//!   -10 LU below the ungated mean;
//! * loudness range: short-term values, absolute gate -70 LUFS, relative gate -20 LU, then the
//!   spread between the 10th and 95th percentiles.
//!
//! Keeping sub-block powers (not the signal) lets the mastering engine predict the loudness of
//! a gain curve applied to a signal without filtering it again.

/// Biquad coefficients of one K-weighting stage (a0 normalised to 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

/// Loudness of a power (mean square, channel-summed), LUFS.
#[inline]
pub fn power_to_lufs(p: f64) -> f64 {
    -0.691 + 10.0 * p.max(1e-30).log10()
}

#[inline]
pub fn lufs_to_power(l: f64) -> f64 {
    10f64.powf((l + 0.691) / 10.0)
}

/// The two K-weighting stages for a sample rate.
pub fn k_weighting(sample_rate: f64) -> [Coeffs; 2] {
    use std::f64::consts::PI;
    // Stage 1: high shelf (the head's acoustic effect).
    let f0 = 1681.974450955533;
    let g = 3.999843853973347;
    let q = 0.7071752369554196;
    let k = (PI * f0 / sample_rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Coeffs {
        b0: (vh + vb * k / q + k * k) / a0,
        b1: 2.0 * (k * k - vh) / a0,
        b2: (vh - vb * k / q + k * k) / a0,
        a1: 2.0 * (k * k - 1.0) / a0,
        a2: (1.0 - k / q + k * k) / a0,
    };
    // Stage 2: the RLB high-pass.
    let f0 = 38.13547087602444;
    let q = 0.5003270373238773;
    let k = (PI * f0 / sample_rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let hp = Coeffs {
        b0: 1.0,
        b1: -2.0,
        b2: 1.0,
        a1: 2.0 * (k * k - 1.0) / a0,
        a2: (1.0 - k / q + k * k) / a0,
    };
    [shelf, hp]
}

/// Samples in one 100 ms sub-block at this rate.
pub fn subblock_len(sample_rate: u32) -> usize {
    ((sample_rate as usize + 5) / 10).max(1)
}

/// K-weighting filter state for one channel (direct form I shelf, transposed DF II high-pass).
#[derive(Clone, Debug)]
struct KFilter {
    s: Coeffs,
    h: Coeffs,
    x1: f64,
    x2: f64,
    y1: f64,
    y2: f64,
    z1: f64,
    z2: f64,
}

impl KFilter {
    fn new(sample_rate: f64) -> Self {
        let [s, h] = k_weighting(sample_rate);
        KFilter {
            s,
            h,
            x1: 0.0,
            x2: 0.0,
            y1: 0.0,
            y2: 0.0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    /// Zero states that have decayed below the denormal range's doorstep.
    fn flush(&mut self) {
        for v in [
            &mut self.x1,
            &mut self.x2,
            &mut self.y1,
            &mut self.y2,
            &mut self.z1,
            &mut self.z2,
        ] {
            if v.abs() < 1e-30 {
                *v = 0.0;
            }
        }
    }

    /// K-weighted square of the next sample.
    #[inline]
    fn power(&mut self, v: f32) -> f64 {
        let out = self.filter(v);
        out * out
    }

    /// K-weighted value of the next sample.
    #[inline]
    fn filter(&mut self, v: f32) -> f64 {
        let (s, h) = (&self.s, &self.h);
        let v = v as f64;
        let y = s.b0 * v + s.b1 * self.x1 + s.b2 * self.x2 - s.a1 * self.y1 - s.a2 * self.y2;
        self.x2 = self.x1;
        self.x1 = v;
        self.y2 = self.y1;
        self.y1 = y;
        let out = h.b0 * y + self.z1;
        self.z1 = h.b1 * y - h.a1 * out + self.z2;
        self.z2 = h.b2 * y - h.a2 * out;
        out
    }
}

/// A streaming loudness meter: feed blocks of planar audio, read 100 ms sub-block powers.
/// Optionally also keeps the channel-summed K-weighted power of every `chunk` samples, the
/// resolution the mastering solver uses to predict the loudness of a gain curve.
#[derive(Clone, Debug)]
pub struct KMeter {
    filters: Vec<KFilter>,
    sub_len: usize,
    pos: usize,
    acc: f64,
    subblocks: Vec<f64>,
    chunk: usize,
    chunk_pos: usize,
    chunk_acc: f64,
    chunks: Option<Vec<f32>>,
}

/// The chunk length for a sample rate: a divisor of the 100 ms sub-block near 0.36 ms
/// (16 samples at 44.1 kHz), the resolution of the limiter's plan and of loudness prediction.
pub fn chunk_len(sample_rate: u32) -> usize {
    let sub = subblock_len(sample_rate);
    let want = (sample_rate as f64 / 2756.25).max(1.0);
    (1..=64)
        .filter(|d| sub % d == 0)
        .min_by(|&a, &b| ((a as f64 / want).ln().abs()).total_cmp(&(b as f64 / want).ln().abs()))
        .unwrap_or(1)
}

impl KMeter {
    pub fn new(channels: usize, sample_rate: u32, keep_chunks: bool) -> Self {
        KMeter {
            filters: (0..channels)
                .map(|_| KFilter::new(sample_rate as f64))
                .collect(),
            sub_len: subblock_len(sample_rate),
            pos: 0,
            acc: 0.0,
            subblocks: Vec::new(),
            chunk: chunk_len(sample_rate),
            chunk_pos: 0,
            chunk_acc: 0.0,
            chunks: keep_chunks.then(Vec::new),
        }
    }

    pub fn chunk_len(&self) -> usize {
        self.chunk
    }

    /// Feed one block (all channels the same length).
    pub fn push(&mut self, block: &[&[f32]]) {
        let n = block.first().map_or(0, |c| c.len());
        let mut i = 0;
        // run to the next chunk boundary at a time: no per-sample bookkeeping
        while i < n {
            let take = (self.chunk - self.chunk_pos).min(n - i);
            let p = self.power_sum(block, i, i + take);
            self.chunk_acc += p;
            self.chunk_pos += take;
            if self.chunk_pos == self.chunk {
                if let Some(chunks) = self.chunks.as_mut() {
                    chunks.push(self.chunk_acc as f32);
                }
                self.acc += self.chunk_acc;
                self.chunk_acc = 0.0;
                self.chunk_pos = 0;
                self.pos += self.chunk;
                // the chunk length divides the sub-block length
                if self.pos == self.sub_len {
                    self.subblocks.push(self.acc / self.sub_len as f64);
                    self.acc = 0.0;
                    self.pos = 0;
                    self.filters.iter_mut().for_each(KFilter::flush);
                }
            }
            i += take;
        }
    }

    /// Channel-summed K-weighted power of samples `a..b`.
    #[inline]
    fn power_sum(&mut self, block: &[&[f32]], a: usize, b: usize) -> f64 {
        match (self.filters.as_mut_slice(), block) {
            ([f0, f1], [l, r]) => {
                #[cfg(target_arch = "x86_64")]
                {
                    // SAFETY: SSE2 is part of the x86-64 baseline; only slices are read.
                    unsafe { power_sum_pair_sse2(f0, f1, &l[a..b], &r[a..b]) }
                }
                #[cfg(not(target_arch = "x86_64"))]
                {
                    let mut s = 0.0;
                    for (&x, &y) in l[a..b].iter().zip(&r[a..b]) {
                        s += f0.power(x) + f1.power(y);
                    }
                    s
                }
            }
            (filters, block) => {
                let mut s = 0.0;
                for (f, ch) in filters.iter_mut().zip(block) {
                    for &x in &ch[a..b] {
                        s += f.power(x);
                    }
                }
                s
            }
        }
    }

    /// Complete 100 ms sub-block powers so far.
    pub fn subblocks(&self) -> &[f64] {
        &self.subblocks
    }

    /// Finish: (sub-block powers, chunk power sums if kept). Partial blocks are dropped.
    pub fn finish(self) -> (Vec<f64>, Option<Vec<f32>>) {
        (self.subblocks, self.chunks)
    }
}

/// `Σ f0.power(l[i]) + f1.power(r[i])` with left and right side by side in one SSE2 register:
/// the same operations in the same order per lane as [`KFilter::filter`], so the same bits,
/// with half the instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn power_sum_pair_sse2(f0: &mut KFilter, f1: &mut KFilter, l: &[f32], r: &[f32]) -> f64 {
    use std::arch::x86_64::*;
    let two = |a: f64, b: f64| _mm_set_pd(b, a);
    let lo = |v: __m128d| _mm_cvtsd_f64(v);
    let hi = |v: __m128d| _mm_cvtsd_f64(_mm_unpackhi_pd(v, v));
    let (s, h) = (&f0.s, &f0.h);
    let c = |v: f64| _mm_set1_pd(v);
    let (sb0, sb1, sb2, sa1, sa2) = (c(s.b0), c(s.b1), c(s.b2), c(s.a1), c(s.a2));
    let (hb0, hb1, hb2, ha1, ha2) = (c(h.b0), c(h.b1), c(h.b2), c(h.a1), c(h.a2));
    let (mut x1, mut x2) = (two(f0.x1, f1.x1), two(f0.x2, f1.x2));
    let (mut y1, mut y2) = (two(f0.y1, f1.y1), two(f0.y2, f1.y2));
    let (mut z1, mut z2) = (two(f0.z1, f1.z1), two(f0.z2, f1.z2));
    let mut sum = 0.0f64;
    for (&a, &b) in l.iter().zip(r) {
        let v = two(f64::from(a), f64::from(b));
        let y = _mm_sub_pd(
            _mm_sub_pd(
                _mm_add_pd(
                    _mm_add_pd(_mm_mul_pd(sb0, v), _mm_mul_pd(sb1, x1)),
                    _mm_mul_pd(sb2, x2),
                ),
                _mm_mul_pd(sa1, y1),
            ),
            _mm_mul_pd(sa2, y2),
        );
        x2 = x1;
        x1 = v;
        y2 = y1;
        y1 = y;
        let out = _mm_add_pd(_mm_mul_pd(hb0, y), z1);
        z1 = _mm_add_pd(_mm_sub_pd(_mm_mul_pd(hb1, y), _mm_mul_pd(ha1, out)), z2);
        z2 = _mm_sub_pd(_mm_mul_pd(hb2, y), _mm_mul_pd(ha2, out));
        let p = _mm_mul_pd(out, out);
        sum += lo(p) + hi(p);
    }
    (f0.x1, f1.x1, f0.x2, f1.x2) = (lo(x1), hi(x1), lo(x2), hi(x2));
    (f0.y1, f1.y1, f0.y2, f1.y2) = (lo(y1), hi(y1), lo(y2), hi(y2));
    (f0.z1, f1.z1, f0.z2, f1.z2) = (lo(z1), hi(z1), lo(z2), hi(z2));
    sum
}

/// Mean K-weighted power of each 100 ms sub-block (channel-summed). A trailing partial
/// sub-block is dropped (it can never complete a gating block).
pub fn subblock_powers(channels: &[&[f32]], sample_rate: u32) -> Vec<f64> {
    if let Some(sub) = lane_subblocks(channels, sample_rate) {
        return sub;
    }
    let mut m = KMeter::new(channels.len(), sample_rate, false);
    m.push(channels);
    m.finish().0
}

/// Parallel lanes for [`lane_subblocks`].
const LANES: usize = 4;

/// Where each lane reads: channel `lane_ch[l]` from sample `start[l]` on (zeros outside
/// `0..n`).
struct LaneInputs<'a> {
    channels: &'a [&'a [f32]],
    lane_ch: [usize; LANES],
    start: [isize; LANES],
    n: usize,
}

impl LaneInputs<'_> {
    #[inline(always)]
    fn get(&self, l: usize, i: usize) -> f64 {
        let p = self.start[l] + i as isize;
        if p >= 0 && (p as usize) < self.n {
            f64::from(self.channels[self.lane_ch[l]][p as usize])
        } else {
            0.0
        }
    }
}

/// The lanes' sub-block powers after the warm-up (`warm` sub-blocks), each lane the filter of
/// `KFilter::filter` (its sums ordered so that the feedback comes last) and its per-sub-block
/// flush.
#[cfg(target_arch = "x86_64")]
fn run_lanes(
    inputs: &LaneInputs,
    k: [Coeffs; 2],
    iters: usize,
    sub: usize,
    warm: usize,
    longest: usize,
) -> [Vec<f64>; LANES] {
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked above); see `run_lanes_avx` for memory accesses.
        return unsafe { run_lanes_avx(inputs, k, iters, sub, warm, longest) };
    }
    // SAFETY: SSE2 is part of the x86-64 baseline; see `run_lanes_sse2` for memory accesses.
    unsafe { run_lanes_sse2(inputs, k, iters, sub, warm, longest) }
}

/// The four lanes in one AVX register: the same operations as [`run_lanes_sse2`] lane by lane
/// (no fused multiply-add), so the same bits, with half the instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn run_lanes_avx(
    inputs: &LaneInputs,
    k: [Coeffs; 2],
    iters: usize,
    sub: usize,
    warm: usize,
    longest: usize,
) -> [Vec<f64>; LANES] {
    use std::arch::x86_64::*;
    let [s, h] = k;
    let c = |v: f64| _mm256_set1_pd(v);
    let (sb0, sb1, sb2, sa1, sa2) = (c(s.b0), c(s.b1), c(s.b2), c(s.a1), c(s.a2));
    let (hb0, hb1, hb2, ha1, ha2) = (c(h.b0), c(h.b1), c(h.b2), c(h.a1), c(h.a2));
    let z = _mm256_setzero_pd();
    let (mut x1, mut x2, mut y1, mut y2, mut z1, mut z2, mut acc) = (z, z, z, z, z, z, z);
    let mut out: [Vec<f64>; LANES] = std::array::from_fn(|_| Vec::with_capacity(longest));
    let mut spill = [0.0f64; 4];
    let (sign, floor) = (_mm256_set1_pd(-0.0), _mm256_set1_pd(1e-30));
    for i in 0..iters {
        let v = _mm256_set_pd(
            inputs.get(3, i),
            inputs.get(2, i),
            inputs.get(1, i),
            inputs.get(0, i),
        );
        let y = _mm256_sub_pd(
            _mm256_sub_pd(
                _mm256_add_pd(
                    _mm256_add_pd(_mm256_mul_pd(sb0, v), _mm256_mul_pd(sb1, x1)),
                    _mm256_mul_pd(sb2, x2),
                ),
                _mm256_mul_pd(sa2, y2),
            ),
            _mm256_mul_pd(sa1, y1),
        );
        x2 = x1;
        x1 = v;
        y2 = y1;
        y1 = y;
        let o = _mm256_add_pd(_mm256_mul_pd(hb0, y), z1);
        z1 = _mm256_sub_pd(
            _mm256_add_pd(_mm256_mul_pd(hb1, y), z2),
            _mm256_mul_pd(ha1, o),
        );
        z2 = _mm256_sub_pd(_mm256_mul_pd(hb2, y), _mm256_mul_pd(ha2, o));
        acc = _mm256_add_pd(acc, _mm256_mul_pd(o, o));
        if (i + 1) % sub == 0 {
            if (i + 1) / sub > warm {
                // SAFETY: `spill` holds four f64, what an unaligned 256-bit store writes
                unsafe { _mm256_storeu_pd(spill.as_mut_ptr(), acc) };
                for (o, &p) in out.iter_mut().zip(&spill) {
                    o.push(p / sub as f64);
                }
            }
            acc = z;
            for st in [&mut x1, &mut x2, &mut y1, &mut y2, &mut z1, &mut z2] {
                let tiny = _mm256_cmp_pd::<_CMP_LT_OS>(_mm256_andnot_pd(sign, *st), floor);
                *st = _mm256_andnot_pd(tiny, *st);
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn run_lanes_sse2(
    inputs: &LaneInputs,
    k: [Coeffs; 2],
    iters: usize,
    sub: usize,
    warm: usize,
    longest: usize,
) -> [Vec<f64>; LANES] {
    use std::arch::x86_64::*;
    let [s, h] = k;
    let c = |v: f64| _mm_set1_pd(v);
    let (sb0, sb1, sb2, sa1, sa2) = (c(s.b0), c(s.b1), c(s.b2), c(s.a1), c(s.a2));
    let (hb0, hb1, hb2, ha1, ha2) = (c(h.b0), c(h.b1), c(h.b2), c(h.a1), c(h.a2));
    let z = _mm_setzero_pd();
    // two registers per state: lanes 0-1 and 2-3
    let (mut x1, mut x2, mut y1, mut y2, mut z1, mut z2, mut acc) =
        ([z; 2], [z; 2], [z; 2], [z; 2], [z; 2], [z; 2], [z; 2]);
    let mut out: [Vec<f64>; LANES] = std::array::from_fn(|_| Vec::with_capacity(longest));
    let mut spill = [0.0f64; 2];
    for i in 0..iters {
        for r in 0..2 {
            let v = _mm_set_pd(inputs.get(2 * r + 1, i), inputs.get(2 * r, i));
            // the previous output's feedback last: the recursion waits on one multiply and
            // one subtraction per stage
            let y = _mm_sub_pd(
                _mm_sub_pd(
                    _mm_add_pd(
                        _mm_add_pd(_mm_mul_pd(sb0, v), _mm_mul_pd(sb1, x1[r])),
                        _mm_mul_pd(sb2, x2[r]),
                    ),
                    _mm_mul_pd(sa2, y2[r]),
                ),
                _mm_mul_pd(sa1, y1[r]),
            );
            x2[r] = x1[r];
            x1[r] = v;
            y2[r] = y1[r];
            y1[r] = y;
            let o = _mm_add_pd(_mm_mul_pd(hb0, y), z1[r]);
            z1[r] = _mm_sub_pd(_mm_add_pd(_mm_mul_pd(hb1, y), z2[r]), _mm_mul_pd(ha1, o));
            z2[r] = _mm_sub_pd(_mm_mul_pd(hb2, y), _mm_mul_pd(ha2, o));
            acc[r] = _mm_add_pd(acc[r], _mm_mul_pd(o, o));
        }
        if (i + 1) % sub == 0 {
            let kept = (i + 1) / sub > warm;
            for r in 0..2 {
                if kept {
                    // SAFETY: `spill` holds two f64, what an unaligned 128-bit store writes
                    unsafe { _mm_storeu_pd(spill.as_mut_ptr(), acc[r]) };
                    out[2 * r].push(spill[0] / sub as f64);
                    out[2 * r + 1].push(spill[1] / sub as f64);
                }
                acc[r] = z;
                for st in [&mut x1, &mut x2, &mut y1, &mut y2, &mut z1, &mut z2] {
                    // zero states that have decayed below 1e-30 (lane by lane)
                    let tiny =
                        _mm_cmplt_pd(_mm_andnot_pd(_mm_set1_pd(-0.0), st[r]), _mm_set1_pd(1e-30));
                    st[r] = _mm_andnot_pd(tiny, st[r]);
                }
            }
        }
    }
    out
}

/// Portable form of the SSE2 lanes: the same arithmetic, lane by lane.
#[cfg(not(target_arch = "x86_64"))]
fn run_lanes(
    inputs: &LaneInputs,
    k: [Coeffs; 2],
    iters: usize,
    sub: usize,
    warm: usize,
    longest: usize,
) -> [Vec<f64>; LANES] {
    let [s, h] = k;
    let z = [0.0f64; LANES];
    let (mut x1, mut x2, mut y1, mut y2, mut z1, mut z2) = (z, z, z, z, z, z);
    let mut acc = z;
    let mut out: [Vec<f64>; LANES] = std::array::from_fn(|_| Vec::with_capacity(longest));
    for i in 0..iters {
        for l in 0..LANES {
            let v = inputs.get(l, i);
            let y = s.b0 * v + s.b1 * x1[l] + s.b2 * x2[l] - s.a2 * y2[l] - s.a1 * y1[l];
            x2[l] = x1[l];
            x1[l] = v;
            y2[l] = y1[l];
            y1[l] = y;
            let o = h.b0 * y + z1[l];
            z1[l] = h.b1 * y + z2[l] - h.a1 * o;
            z2[l] = h.b2 * y - h.a2 * o;
            acc[l] += o * o;
        }
        if (i + 1) % sub == 0 {
            let kept = (i + 1) / sub > warm;
            for l in 0..LANES {
                if kept {
                    out[l].push(acc[l] / sub as f64);
                }
                acc[l] = 0.0;
                for st in [&mut x1, &mut x2, &mut y1, &mut y2, &mut z1, &mut z2] {
                    if st[l].abs() < 1e-30 {
                        st[l] = 0.0;
                    }
                }
            }
        }
    }
    out
}

/// Warm-up of a lane that starts inside the signal, in sub-blocks: long enough for the
/// K-weighting's slowest pole to forget the zero start state to far below double precision.
fn warmup_subblocks(sample_rate: u32) -> usize {
    let [shelf, hp] = k_weighting(sample_rate as f64);
    let radius = |c: &Coeffs| crate::biquad::pole_radius(c.a1, c.a2).min(1.0 - 1e-12);
    let r = radius(&shelf).max(radius(&hp));
    // a double pole decays like t·r^t: ask for r^t below 1e-40
    let samples = (-40.0 * std::f64::consts::LN_10 / r.ln()).ceil() * 1.25;
    let sub = subblock_len(sample_rate) as f64;
    (samples / sub).ceil() as usize
}

/// The K-weighted sub-block powers of one or two channels computed as four independent
/// lanes (a mono signal in four time segments, a stereo pair in two), whose recursions the
/// CPU runs side by side instead of one after another. A segment that starts inside the
/// signal is preceded by a warm-up over the samples before it, after which its filter state
/// equals the one-pass state to far below double precision. `None` when the signal is too
/// short to be worth splitting, or has more than two channels.
fn lane_subblocks(channels: &[&[f32]], sample_rate: u32) -> Option<Vec<f64>> {
    let ch = channels.len();
    if !(1..=2).contains(&ch) {
        return None;
    }
    let n = channels.iter().map(|c| c.len()).min()?;
    let sub = subblock_len(sample_rate);
    let total = n / sub;
    let segs = LANES / ch;
    let warm = warmup_subblocks(sample_rate);
    // each segment at least twice the warm-up
    if total < segs * 2 * warm.max(1) {
        return None;
    }
    let per = total / segs;
    // segment g: sub-blocks [g*per, (g+1)*per), the last one to the end
    let count = |g: usize| if g + 1 == segs { total - g * per } else { per };
    let longest = count(segs - 1);
    let warm_samples = warm * sub;
    let iters = warm_samples + longest * sub;
    // lane l: channel l / segs, segment l % segs; reads from start[l] (may be negative: zeros)
    let lane_ch: [usize; LANES] = std::array::from_fn(|l| l / segs);
    let start: [isize; LANES] =
        std::array::from_fn(|l| ((l % segs) * per * sub) as isize - warm_samples as isize);
    let inputs = LaneInputs {
        channels,
        lane_ch,
        start,
        n,
    };
    let out = run_lanes(
        &inputs,
        k_weighting(sample_rate as f64),
        iters,
        sub,
        warm,
        longest,
    );
    let mut sum = vec![0.0f64; total];
    for (l, lane) in out.iter().enumerate() {
        let g = l % segs;
        let first = g * per;
        for (d, p) in sum[first..first + count(g)].iter_mut().zip(lane) {
            *d += p;
        }
    }
    Some(sum)
}

/// Sub-block powers of a stereo pair, per channel and of its mono fold-down.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StereoSubblocks {
    pub left: Vec<f64>,
    pub right: Vec<f64>,
    /// Of (L + R) / 2, the signal a mono speaker plays.
    pub mono: Vec<f64>,
}

impl StereoSubblocks {
    /// Channel-summed powers (what [`subblock_powers`] gives for the pair) with each channel
    /// scaled by a gain: `gains` are the channels' gains squared.
    pub fn summed(&self, gains_sq: [f64; 2]) -> Vec<f64> {
        self.left
            .iter()
            .zip(&self.right)
            .map(|(l, r)| gains_sq[0] * l + gains_sq[1] * r)
            .collect()
    }
}

/// K-weighted 100 ms sub-block powers of a stereo pair in one pass: each channel's and the mono
/// fold-down's (the K-weighting is linear, so the mono signal's is the channels' average). A
/// trailing partial sub-block is dropped.
pub fn stereo_subblocks(left: &[f32], right: &[f32], sample_rate: u32) -> StereoSubblocks {
    let sub = subblock_len(sample_rate);
    let n = left.len().min(right.len());
    let mut fl = KFilter::new(sample_rate as f64);
    let mut fr = fl.clone();
    let mut out = StereoSubblocks::default();
    for (l, r) in left[..n]
        .chunks_exact(sub)
        .zip(right[..n].chunks_exact(sub))
    {
        let (mut pl, mut pr, mut pm) = (0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in l.iter().zip(r) {
            let (a, b) = (fl.filter(x), fr.filter(y));
            let m = 0.5 * (a + b);
            pl += a * a;
            pr += b * b;
            pm += m * m;
        }
        out.left.push(pl / sub as f64);
        out.right.push(pr / sub as f64);
        out.mono.push(pm / sub as f64);
        fl.flush();
        fr.flush();
    }
    out
}

/// Sub-block powers of a signal whose chunk `c` is scaled by a gain with square
/// `factor_sq(c)`, from the chunk power sums (`chunks[c]` = K-weighted power summed over the
/// samples of chunk `c`): the loudness a gain curve would give, without filtering again.
pub fn predict_subblocks(
    chunks: &[f32],
    chunk: usize,
    factor_sq: impl Fn(usize) -> f32,
    sample_rate: u32,
    out: &mut Vec<f64>,
) {
    let sub = subblock_len(sample_rate);
    let per_sub = (sub / chunk.max(1)).max(1);
    let count = chunks.len() / per_sub;
    out.clear();
    out.reserve(count);
    for b in 0..count {
        let mut acc = 0.0f64;
        let first = b * per_sub;
        for (c, &p) in chunks[first..first + per_sub].iter().enumerate() {
            acc += (p * factor_sq(first + c)) as f64;
        }
        out.push(acc / sub as f64);
    }
}

/// Window powers (mean of `w` consecutive sub-blocks), one per sub-block hop.
fn windows(sub: &[f64], w: usize) -> impl Iterator<Item = f64> + '_ {
    let count = if sub.len() >= w { sub.len() - w + 1 } else { 0 };
    (0..count).map(move |i| sub[i..i + w].iter().sum::<f64>() / w as f64)
}

/// Integrated (gated) loudness, LUFS. `None` when nothing is above the absolute gate
/// (silence, or shorter than one 400 ms block).
pub fn integrated(sub: &[f64]) -> Option<f64> {
    let abs_gate = lufs_to_power(-70.0);
    let (mut sum, mut cnt) = (0.0, 0usize);
    for p in windows(sub, 4) {
        if p > abs_gate {
            sum += p;
            cnt += 1;
        }
    }
    if cnt == 0 {
        return None;
    }
    let rel_gate = sum / cnt as f64 * 10f64.powf(-1.0);
    let (mut sum2, mut cnt2) = (0.0, 0usize);
    for p in windows(sub, 4) {
        if p > abs_gate && p > rel_gate {
            sum2 += p;
            cnt2 += 1;
        }
    }
    (cnt2 > 0).then(|| power_to_lufs(sum2 / cnt2 as f64))
}

/// Largest momentary (400 ms) loudness, LUFS.
pub fn momentary_max(sub: &[f64]) -> Option<f64> {
    windows(sub, 4)
        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
        .map(power_to_lufs)
}

/// Largest short-term (3 s) loudness, LUFS. Material shorter than 3 s: the whole of it.
pub fn short_term_max(sub: &[f64]) -> Option<f64> {
    if sub.is_empty() {
        return None;
    }
    let w = 30.min(sub.len());
    windows(sub, w)
        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
        .map(power_to_lufs)
}

/// Short-term loudness values (3 s windows every 100 ms), LUFS.
pub fn short_term_series(sub: &[f64]) -> Vec<f64> {
    windows(sub, 30).map(power_to_lufs).collect()
}

/// Loudness range (EBU Tech 3342), LU. `None` when fewer than two short-term values pass
/// the gates (e.g. material shorter than 3 s).
pub fn loudness_range(sub: &[f64]) -> Option<f64> {
    loudness_range_with_hop(sub, 1)
}

/// Loudness range with short-term values taken every `hop` sub-blocks (1 = every 100 ms,
/// as Tech 3342 recommends; 10 = once a second, as libebur128 does).
pub fn loudness_range_with_hop(sub: &[f64], hop: usize) -> Option<f64> {
    let abs_gate = lufs_to_power(-70.0);
    let st: Vec<f64> = windows(sub, 30)
        .step_by(hop.max(1))
        .filter(|&p| p > abs_gate)
        .collect();
    if st.len() < 2 {
        return None;
    }
    let mean = st.iter().sum::<f64>() / st.len() as f64;
    let rel_gate = mean * 10f64.powf(-2.0);
    let mut gated: Vec<f64> = st
        .into_iter()
        .filter(|&p| p > rel_gate)
        .map(power_to_lufs)
        .collect();
    if gated.len() < 2 {
        return None;
    }
    gated.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        let idx = ((gated.len() - 1) as f64 * q).round() as usize;
        gated[idx]
    };
    Some(pct(0.95) - pct(0.10))
}

/// All loudness figures of a signal.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loudness {
    pub integrated_lufs: Option<f64>,
    pub momentary_max_lufs: Option<f64>,
    pub short_term_max_lufs: Option<f64>,
    pub loudness_range_lu: Option<f64>,
}

impl Loudness {
    pub fn from_subblocks(sub: &[f64]) -> Self {
        Loudness {
            integrated_lufs: integrated(sub),
            momentary_max_lufs: momentary_max(sub),
            short_term_max_lufs: short_term_max(sub),
            loudness_range_lu: loudness_range(sub),
        }
    }

    pub fn measure(channels: &[&[f32]], sample_rate: u32) -> Self {
        Self::from_subblocks(&subblock_powers(channels, sample_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, sr: u32, secs: f64, amp: f64) -> Vec<f32> {
        (0..(secs * sr as f64) as usize)
            .map(|n| (amp * (2.0 * std::f64::consts::PI * f * n as f64 / sr as f64).sin()) as f32)
            .collect()
    }

    #[test]
    fn one_khz_sine_at_minus_20_dbfs_peak_reads_about_minus_20_lufs_per_channel_pair() {
        // BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LUFS; stereo adds 3 dB.
        for &sr in &[8_000u32, 44_100, 48_000, 96_000, 192_000] {
            let x = sine(1000.0, sr, 5.0, 0.1);
            let l = Loudness::measure(&[&x, &x], sr).integrated_lufs.unwrap();
            assert!((l - (-20.0)).abs() < 0.05, "sr {sr}: {l}");
        }
    }

    #[test]
    fn silence_has_no_loudness_and_short_input_has_no_range() {
        let z = vec![0.0f32; 48_000];
        let l = Loudness::measure(&[&z], 48_000);
        assert_eq!(l.integrated_lufs, None);
        assert_eq!(l.loudness_range_lu, None);
        let s = sine(1000.0, 48_000, 1.0, 0.5);
        assert!(Loudness::measure(&[&s], 48_000).integrated_lufs.is_some());
        assert_eq!(Loudness::measure(&[&s], 48_000).loudness_range_lu, None);
    }

    #[test]
    fn relative_gate_ignores_a_quiet_passage() {
        // 10 s at -20 then 10 s at -60: the quiet part is > 10 LU down and is gated out.
        let sr = 48_000;
        let mut x = sine(1000.0, sr, 10.0, 0.1);
        x.extend(sine(1000.0, sr, 10.0, 0.001));
        let l = Loudness::measure(&[&x, &x], sr).integrated_lufs.unwrap();
        assert!((l - (-20.0)).abs() < 0.1, "{l}");
    }

    #[test]
    fn streaming_blocks_and_chunk_prediction_agree_with_the_whole() {
        let sr = 44_100;
        let x = sine(440.0, sr, 6.0, 0.3);
        let y = sine(97.0, sr, 6.0, 0.2);
        let whole = subblock_powers(&[&x, &y], sr);
        let mut m = KMeter::new(2, sr, true);
        for (a, b) in x.chunks(1000).zip(y.chunks(1000)) {
            m.push(&[a, b]);
        }
        let chunk = m.chunk_len();
        let (sub, chunks) = m.finish();
        assert_eq!(sub.len(), whole.len());
        for (a, b) in sub.iter().zip(&whole) {
            assert!((a - b).abs() <= 1e-9 * b.abs());
        }
        // a gain of 2 everywhere: prediction = 4 x the measured powers
        let mut pred = Vec::new();
        predict_subblocks(&chunks.unwrap(), chunk, |_| 4.0, sr, &mut pred);
        assert_eq!(pred.len(), whole.len());
        for (p, w) in pred.iter().zip(&whole) {
            assert!((p / (4.0 * w) - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn the_paired_stereo_meter_gives_the_per_sample_bits() {
        let sr = 44_100;
        let x = sine(440.0, sr, 3.0, 0.3);
        let y = sine(61.0, sr, 3.0, 0.5);
        let mut m = KMeter::new(2, sr, true);
        for (a, b) in x.chunks(777).zip(y.chunks(777)) {
            m.push(&[a, b]);
        }
        let (sub, chunks) = m.finish();
        // the same meter, one sample at a time through the scalar filters
        let mut f = [KFilter::new(sr as f64), KFilter::new(sr as f64)];
        let (sub_len, chunk) = (subblock_len(sr), chunk_len(sr));
        let (mut want_sub, mut want_chunks) = (Vec::new(), Vec::new());
        let (mut acc, mut cacc) = (0.0f64, 0.0f64);
        for (i, (&a, &b)) in x.iter().zip(&y).enumerate() {
            cacc += f[0].power(a) + f[1].power(b);
            if (i + 1) % chunk == 0 {
                want_chunks.push(cacc as f32);
                acc += cacc;
                cacc = 0.0;
            }
            if (i + 1) % sub_len == 0 {
                want_sub.push(acc / sub_len as f64);
                acc = 0.0;
                f.iter_mut().for_each(KFilter::flush);
            }
        }
        assert_eq!(sub, want_sub);
        assert_eq!(chunks.unwrap(), want_chunks);
    }

    #[test]
    fn stereo_subblocks_match_the_channel_meters_and_the_mono_fold_down() {
        let sr = 48_000;
        let x = sine(440.0, sr, 4.0, 0.3);
        let y = sine(97.0, sr, 4.0, 0.2);
        let st = stereo_subblocks(&x, &y, sr);
        let mono: Vec<f32> = x.iter().zip(&y).map(|(a, b)| 0.5 * (a + b)).collect();
        for (got, want) in [
            (&st.left, subblock_powers(&[&x], sr)),
            (&st.right, subblock_powers(&[&y], sr)),
            (&st.mono, subblock_powers(&[&mono], sr)),
        ] {
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
            }
        }
        // channel gains: left doubled equals measuring the doubled left
        let x2: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
        let want = subblock_powers(&[&x2, &y], sr);
        for (a, b) in st.summed([4.0, 1.0]).iter().zip(&want) {
            assert!((a - b).abs() <= 1e-6 * b.abs());
        }
    }

    #[test]
    fn lanes_match_the_streaming_meter() {
        // long enough to be split; a loud burst after silence and a low tone that rings the
        // high-pass, so the warm-up has real state to rebuild
        for &sr in &[8_000u32, 44_100, 192_000] {
            let n = 40 * sr as usize + 1234;
            let mut x = sine(50.0, sr, n as f64 / sr as f64, 0.4);
            let y = sine(3000.0, sr, n as f64 / sr as f64, 0.1);
            for v in &mut x[..7 * sr as usize] {
                *v = 0.0;
            }
            for channels in [vec![&x[..]], vec![&x[..], &y[..]]] {
                let lanes = lane_subblocks(&channels, sr).expect("long enough to split");
                let mut m = KMeter::new(channels.len(), sr, false);
                m.push(&channels);
                let want = m.finish().0;
                assert_eq!(lanes.len(), want.len());
                for (k, (a, b)) in lanes.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-10 * b.abs() + 1e-300,
                        "sr {sr}, {} ch, sub-block {k}: {a} vs {b}",
                        channels.len()
                    );
                }
            }
        }
        // short signals are not split
        let s = sine(1000.0, 48_000, 2.0, 0.5);
        assert!(lane_subblocks(&[&s], 48_000).is_none());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_and_sse2_lanes_give_the_same_bits() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        let sr = 44_100;
        let x = sine(61.0, sr, 30.0, 0.4);
        let y = sine(2500.0, sr, 30.0, 0.2);
        let channels: [&[f32]; 2] = [&x, &y];
        let inputs = LaneInputs {
            channels: &channels,
            lane_ch: [0, 0, 1, 1],
            start: [-44_100, 600_000, -44_100, 600_000],
            n: x.len(),
        };
        let k = k_weighting(sr as f64);
        let sub = subblock_len(sr);
        // SAFETY: AVX checked above; SSE2 is baseline
        let (a, b) = unsafe {
            (
                run_lanes_avx(&inputs, k, 20 * sub, sub, 10, 10),
                run_lanes_sse2(&inputs, k, 20 * sub, sub, 10, 10),
            )
        };
        for (p, q) in a.iter().zip(&b) {
            assert_eq!(p.len(), 10);
            assert!(p.iter().zip(q).all(|(u, v)| u.to_bits() == v.to_bits()));
        }
    }
}
