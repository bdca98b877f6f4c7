//! Stereo algorithmic reverb for the mixer's reverb bus: mono or stereo in, stereo out, 100 %
//! wet (the mixer sets send and return levels).
//!
//! # Design
//!
//! ```text
//! in L ─ pre-delay ─ 4 allpasses ─┬───────────── × EARLY ──────────────┐
//!                                  └─► 16-line FDN ─► taps c_L ─────────┴─ low cut ─ high cut ─┐
//! in R ─ pre-delay ─ 4 allpasses ─┬─► (same FDN)  ─► taps c_R ─────────┬─ low cut ─ high cut ─┴─ width ─ out
//!                                  └───────────── × EARLY ──────────────┘
//! ```
//!
//! * **Pre-delay**: `pre_delay_ms`, rounded to whole samples. The first output sample of an
//!   impulse is exactly this late.
//! * **Input diffusion**: per channel, four Schroeder allpasses in series (1.6-5.2 ms at
//!   `size` = 0.5, different lengths left and right, gain 0.62) smear a transient into a dense
//!   burst before it enters the network. The diffused input also goes straight to the output
//!   (×[`EARLY_GAIN`]): it is the onset of the reverb, so the tail starts right at the
//!   pre-delay instead of one delay-line length later, and left and right start out different.
//! * **Feedback delay network** (Jot): [`LINES`] = 16 delay lines whose lengths are distinct
//!   primes spread over 0.56-1.55 × a mean of 12 + 48·`size` ms (20-56 ms at the default size),
//!   a 16×16 Hadamard feedback matrix (orthogonal, every line feeds every other with equal
//!   weight ±1/4, computed as a fast Walsh-Hadamard transform), and in each line a gain/shelf
//!   filter that sets the decay: a line of d samples attenuates by −60·d/(RT60·fs) dB per
//!   pass, so every mode of the network decays at the same rate and the RT60 is exactly
//!   `decay_s` wherever the filter is flat.
//! * **Damping**: that per-line filter is the line's gain times an RBJ high shelf
//!   (slope 1, corner `damping_hz`) whose high-frequency gain is what an RT60 of
//!   `damping`·`decay_s` needs. Well below `damping_hz` (in practice the 500 Hz-2 kHz octave
//!   band for the default 5 kHz) the RT60 is `decay_s`; well above it the RT60 is
//!   `damping`·`decay_s`; the shelf moves between the two over about an octave either side of
//!   `damping_hz`. Since the shelf is defined on the analogue prototype, the decay is the same at
//!   every sample rate.
//! * **Output**: two orthogonal ±1 tap patterns (one per side) over the line outputs give two
//!   decorrelated signals (IR correlation |ρ| ≈ 0.0x); a 2nd-order Butterworth high-pass at
//!   `low_cut_hz` (never below [`MIN_LOW_CUT_HZ`], so no DC can pass) and low-pass at
//!   `high_cut_hz` filter the wet signal; finally `width` scales the side signal
//!   ((L − R)/2; 0 mono, 1 as is, 2 twice as wide).
//! * **Inputs**: two channels feed the network through two orthogonal ±1/4 patterns; one
//!   channel is treated as dual mono (the same signal in both inputs).
//!
//! The level is not normalised for the decay: as in a room, a longer decay gives more
//! reverberant energy (about +3 dB per doubling of `decay_s`).
//!
//! # Numerics
//!
//! The network runs in `f32` (it is the bulk of the work and has plenty of precision: gains are
//! per pass, not per sample); the pre-delay and diffusers too; the output filters in `f64`.
//! Values written into a delay line or allpass below 1e-20 (−400 dBFS) are flushed to zero,
//! and the filter states are flushed every [`FLUSH_EVERY`] frames counted from construction
//! (so the result does not depend on how the input is split into blocks): a decaying tail never
//! reaches subnormal numbers. Processing allocates nothing; every buffer is sized in
//! [`Reverb::new`]. The output is a deterministic function of the input.

use crate::biquad::{Coeffs, FilterKind, BUTTERWORTH_Q};

/// Number of delay lines in the feedback network.
pub const LINES: usize = 16;
/// Allpasses per channel in the input diffuser.
const DIFFUSERS: usize = 4;
const DIFFUSER_GAIN: f32 = 0.62;
/// Allpass lengths (ms) at `size` = 0.5, left and right.
const DIFFUSER_MS: [[f64; DIFFUSERS]; 2] = [[5.23, 3.71, 2.69, 1.63], [4.87, 3.97, 2.41, 1.79]];
/// Level of the diffused input in the output.
pub const EARLY_GAIN: f32 = 0.5;
/// Output tap gain per line (on the line output, before the Hadamard matrix).
const TAP_GAIN: f32 = 0.5;
/// The wet high-pass never goes below this.
pub const MIN_LOW_CUT_HZ: f64 = 10.0;
/// [`Reverb::tail_samples`] is when the tail has fallen this far below the output's peak.
pub const TAIL_DB: f64 = 90.0;
/// Extra decay allowed for in [`Reverb::tail_samples`] (the peaks of a noise-like tail sit
/// above its mean level).
const TAIL_MARGIN_DB: f64 = 12.0;
/// Filter states are flushed every this many frames.
pub const FLUSH_EVERY: u64 = 64;
const FLUSH_BELOW: f32 = 1e-20;
const STATE_FLOOR: f32 = 1e-30;

const MIN_DECAY_S: f64 = 0.05;
const MAX_DECAY_S: f64 = 30.0;
const MAX_PRE_DELAY_MS: f64 = 500.0;
const MIN_DAMPING: f64 = 0.05;
/// Per-pass high-frequency attenuation is not made steeper than this (dB).
const MAX_PASS_DB: f64 = 120.0;

/// Line lengths relative to the mean, before rounding to primes: geometric spread from 0.56 to
/// 1.55 with a fixed irregular offset, listed in a scrambled order so that neighbouring lines
/// (which the input and output sign patterns treat alike) have unrelated lengths.
fn line_ratios() -> [f64; LINES] {
    const JITTER: [f64; LINES] = [
        0.13, -0.21, 0.05, 0.27, -0.09, 0.18, -0.26, 0.02, 0.22, -0.14, 0.08, -0.03, 0.24, -0.18,
        0.11, -0.07,
    ];
    const ORDER: [usize; LINES] = [5, 12, 2, 9, 14, 0, 7, 11, 3, 15, 8, 1, 10, 6, 13, 4];
    let (lo, hi) = (0.56f64.ln(), 1.55f64.ln());
    let mut r = [0.0; LINES];
    for (slot, &k) in ORDER.iter().enumerate() {
        let t = (k as f64 + 0.5 + 0.8 * JITTER[k]) / LINES as f64;
        r[slot] = (lo + (hi - lo) * t).exp();
    }
    r
}

/// Input patterns (left, right) and output patterns (left, right): ±1 per line. Each right
/// pattern is the left one times a Walsh function, so the two are orthogonal.
const IN_L: [i8; LINES] = [1, -1, 1, 1, -1, 1, -1, -1, 1, 1, 1, -1, -1, 1, -1, 1];
const OUT_L: [i8; LINES] = [1, 1, -1, 1, -1, -1, 1, 1, 1, -1, 1, -1, -1, -1, 1, -1];
const WALSH_IN: [i8; LINES] = [1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1];
const WALSH_OUT: [i8; LINES] = [1, -1, 1, -1, -1, 1, -1, 1, 1, -1, 1, -1, -1, 1, -1, 1];

/// Reverb settings. In TOML e.g. `{ decay_s = 2.4, pre_delay_ms = 30.0, size = 0.8 }`; omitted
/// fields take their [`Default`] values, unknown fields are errors.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReverbParams {
    /// RT60 (s) below `damping_hz` (the mid frequencies); clamped to [0.05, 30].
    pub decay_s: f64,
    /// Delay before the reverb starts (ms); clamped to [0, 500].
    pub pre_delay_ms: f64,
    /// RT60 above `damping_hz` as a fraction of `decay_s` (1 = no damping); clamped to
    /// [0.05, 1].
    pub damping: f64,
    /// Corner of the damping shelf (Hz).
    pub damping_hz: f64,
    /// Room size 0..1: mean delay-line length 12 + 48·size ms and diffuser lengths
    /// × (0.5 + size). Larger = sparser, slower-building, bigger-sounding.
    pub size: f64,
    /// High-pass on the wet signal (Hz, 12 dB/octave); values below 10 Hz use 10 Hz.
    pub low_cut_hz: f64,
    /// Low-pass on the wet signal (Hz, 12 dB/octave); ≤ 0 or ≥ 0.49·fs = off.
    pub high_cut_hz: f64,
    /// Stereo width of the wet signal: 0 mono, 1 natural, 2 extra wide; clamped to [0, 2].
    pub width: f64,
}

impl Default for ReverbParams {
    fn default() -> Self {
        ReverbParams {
            decay_s: 1.8,
            pre_delay_ms: 20.0,
            damping: 0.5,
            damping_hz: 5000.0,
            size: 0.5,
            low_cut_hz: 120.0,
            high_cut_hz: 9000.0,
            width: 1.0,
        }
    }
}

fn or_default(v: f64, default: f64) -> f64 {
    if v.is_nan() {
        default
    } else {
        v
    }
}

fn is_prime(n: usize) -> bool {
    if n < 2 {
        return false;
    }
    let mut k = 2;
    while k * k <= n {
        if n % k == 0 {
            return false;
        }
        k += 1;
    }
    true
}

/// Smallest prime ≥ `n` not in `used`.
fn prime_at_least(mut n: usize, used: &[usize]) -> usize {
    loop {
        if is_prime(n) && !used.contains(&n) {
            return n;
        }
        n += 1;
    }
}

/// Schroeder allpass (z^-D − g)/(1 − g z^-D) on its own ring buffer.
#[derive(Clone, Debug)]
struct Allpass {
    buf: Vec<f32>,
    pos: usize,
}

impl Allpass {
    fn new(len: usize) -> Self {
        Allpass {
            buf: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    #[inline(always)]
    fn tick(&mut self, x: f32) -> f32 {
        let delayed = self.buf[self.pos];
        let v = x + DIFFUSER_GAIN * delayed;
        self.buf[self.pos] = if v.abs() < FLUSH_BELOW { 0.0 } else { v };
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        delayed - DIFFUSER_GAIN * v
    }

    fn reset(&mut self) {
        self.buf.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
    }
}

/// In-place unnormalised Walsh-Hadamard transform of 16 values.
#[inline(always)]
fn hadamard(x: &mut [f32; LINES]) {
    let mut h = 1;
    while h < LINES {
        let mut i = 0;
        while i < LINES {
            for j in i..i + h {
                let (a, b) = (x[j], x[j + h]);
                x[j] = a + b;
                x[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
}

/// One biquad section on a stereo pair (shared coefficients, transposed direct form II in
/// `f64`): both channels in one pass, so the two recursions run side by side.
#[derive(Clone, Debug)]
struct StereoBiquad {
    c: Coeffs,
    s1: [f64; 2],
    s2: [f64; 2],
}

impl StereoBiquad {
    fn new(c: Coeffs) -> Self {
        StereoBiquad {
            c,
            s1: [0.0; 2],
            s2: [0.0; 2],
        }
    }

    #[inline(always)]
    fn tick(&mut self, x: [f64; 2]) -> [f64; 2] {
        let c = &self.c;
        let mut y = [0.0; 2];
        for ch in 0..2 {
            y[ch] = c.b0 * x[ch] + self.s1[ch];
            self.s1[ch] = c.b1 * x[ch] - c.a1 * y[ch] + self.s2[ch];
            self.s2[ch] = c.b2 * x[ch] - c.a2 * y[ch];
        }
        y
    }

    fn flush(&mut self) {
        for v in self.s1.iter_mut().chain(self.s2.iter_mut()) {
            if v.abs() < 1e-30 {
                *v = 0.0;
            }
        }
    }

    fn reset(&mut self) {
        self.s1 = [0.0; 2];
        self.s2 = [0.0; 2];
    }
}

/// Per-line damping filters: gain × high shelf, with the Hadamard normalisation (1/4) folded
/// in, as a transposed direct form II biquad per line.
#[derive(Clone, Debug)]
struct Damping {
    b0: [f32; LINES],
    b1: [f32; LINES],
    b2: [f32; LINES],
    a1: [f32; LINES],
    a2: [f32; LINES],
    z1: [f32; LINES],
    z2: [f32; LINES],
}

#[derive(Clone, Debug)]
pub struct Reverb {
    params: ReverbParams,
    sample_rate: f64,
    /// Pre-delay rings (length pre-delay + 1), left then right.
    pre: [Vec<f32>; 2],
    pre_pos: usize,
    diffusers: [[Allpass; DIFFUSERS]; 2],
    /// `line_size` (a power of two) frames of `LINES` samples, interleaved: the sixteen writes
    /// of a sample land in one place.
    lines: Vec<f32>,
    line_size: usize,
    pos: usize,
    delays: [usize; LINES],
    damping: Damping,
    in_l: [f32; LINES],
    in_r: [f32; LINES],
    out_l: [f32; LINES],
    out_r: [f32; LINES],
    /// High-pass, low-pass.
    out_filters: [StereoBiquad; 2],
    side_gain: f32,
    frames: u64,
    tail: usize,
    rt_max_s: f64,
}

impl Reverb {
    /// Panics if `sample_rate` is not finite and positive.
    pub fn new(params: ReverbParams, sample_rate: f64) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive, got {sample_rate}"
        );
        let fs = sample_rate;
        let d = ReverbParams::default();
        let decay_s = or_default(params.decay_s, d.decay_s).clamp(MIN_DECAY_S, MAX_DECAY_S);
        let pre_ms = or_default(params.pre_delay_ms, d.pre_delay_ms).clamp(0.0, MAX_PRE_DELAY_MS);
        let damping = or_default(params.damping, d.damping).clamp(MIN_DAMPING, 1.0);
        let damping_hz = or_default(params.damping_hz, d.damping_hz).max(1.0);
        let size = or_default(params.size, d.size).clamp(0.0, 1.0);
        let low_cut = or_default(params.low_cut_hz, d.low_cut_hz).max(MIN_LOW_CUT_HZ);
        let width = or_default(params.width, d.width).clamp(0.0, 2.0);

        let pre_len = (pre_ms * 1e-3 * fs).round() as usize;
        let diff_scale = 0.5 + size;
        let diffusers = DIFFUSER_MS.map(|side| {
            side.map(|ms| Allpass::new(((ms * diff_scale * 1e-3 * fs).round() as usize).max(1)))
        });

        let mean_ms = 12.0 + 48.0 * size;
        let mut delays = [0usize; LINES];
        for (k, r) in line_ratios().iter().enumerate() {
            let target = ((r * mean_ms * 1e-3 * fs).round() as usize).max(2);
            delays[k] = prime_at_least(target, &delays[..k]);
        }
        let max_delay = *delays.iter().max().unwrap_or(&1);
        let line_size = (max_delay + 1).next_power_of_two();

        let mut damp = Damping {
            b0: [0.0; LINES],
            b1: [0.0; LINES],
            b2: [0.0; LINES],
            a1: [0.0; LINES],
            a2: [0.0; LINES],
            z1: [0.0; LINES],
            z2: [0.0; LINES],
        };
        let mut rt_max_s = 0.0f64;
        for (k, &dk) in delays.iter().enumerate() {
            let lo_db = -60.0 * dk as f64 / (decay_s * fs);
            let hi_db = (lo_db / damping).max(-MAX_PASS_DB);
            let shelf = Coeffs::design(
                &FilterKind::HighShelf {
                    freq_hz: damping_hz,
                    gain_db: hi_db - lo_db,
                    slope: 1.0,
                },
                fs,
            );
            let g = 10f64.powf(lo_db / 20.0) * 0.25;
            damp.b0[k] = (shelf.b0 * g) as f32;
            damp.b1[k] = (shelf.b1 * g) as f32;
            damp.b2[k] = (shelf.b2 * g) as f32;
            damp.a1[k] = shelf.a1 as f32;
            damp.a2[k] = shelf.a2 as f32;
            // decay at DC of the filter as realised in f32 (the slowest-decaying frequency)
            let dc = 4.0 * (f64::from(damp.b0[k]) + f64::from(damp.b1[k]) + f64::from(damp.b2[k]))
                / (1.0 + f64::from(damp.a1[k]) + f64::from(damp.a2[k]));
            let pass_db = 20.0 * dc.abs().log10();
            let rt = if pass_db < 0.0 {
                -60.0 * dk as f64 / (pass_db * fs)
            } else {
                f64::INFINITY
            };
            rt_max_s = rt_max_s.max(rt);
        }

        let mut in_l = [0.0f32; LINES];
        let mut in_r = [0.0f32; LINES];
        let mut out_l = [0.0f32; LINES];
        let mut out_r = [0.0f32; LINES];
        for k in 0..LINES {
            in_l[k] = 0.25 * f32::from(IN_L[k]);
            in_r[k] = 0.25 * f32::from(IN_L[k] * WALSH_IN[k]);
            // the line outputs carry the Hadamard's 1/4: undo it in the taps
            out_l[k] = 4.0 * TAP_GAIN * f32::from(OUT_L[k]);
            out_r[k] = 4.0 * TAP_GAIN * f32::from(OUT_L[k] * WALSH_OUT[k]);
        }

        let hp = Coeffs::design(
            &FilterKind::HighPass {
                freq_hz: low_cut,
                q: BUTTERWORTH_Q,
            },
            fs,
        );
        let high_cut = or_default(params.high_cut_hz, d.high_cut_hz);
        let lp = if high_cut > 0.0 {
            Coeffs::design(
                &FilterKind::LowPass {
                    freq_hz: high_cut,
                    q: BUTTERWORTH_Q,
                },
                fs,
            )
        } else {
            Coeffs::IDENTITY
        };

        let diffusion_len = diffusers
            .iter()
            .map(|side| side.iter().map(|a| a.buf.len()).sum::<usize>())
            .max()
            .unwrap_or(0);
        let decay_len = rt_max_s * fs * (TAIL_DB + TAIL_MARGIN_DB) / 60.0;
        // the wet filters ring a little longer (10 Hz high-pass: ~0.25 s to -90 dB)
        let filter_len = 3.0 * fs / low_cut;
        let tail = (pre_len + diffusion_len + max_delay) as f64 + decay_len + filter_len;

        Reverb {
            params,
            sample_rate,
            pre: [vec![0.0; pre_len + 1], vec![0.0; pre_len + 1]],
            pre_pos: 0,
            diffusers,
            lines: vec![0.0; LINES * line_size],
            line_size,
            pos: 0,
            delays,
            damping: damp,
            in_l,
            in_r,
            out_l,
            out_r,
            out_filters: [StereoBiquad::new(hp), StereoBiquad::new(lp)],
            side_gain: width as f32,
            frames: 0,
            tail: tail.min(1e12).ceil() as usize,
            rt_max_s,
        }
    }

    pub fn params(&self) -> &ReverbParams {
        &self.params
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The delay-line lengths in samples (distinct primes).
    pub fn line_lengths(&self) -> [usize; LINES] {
        self.delays
    }

    /// The longest RT60 (s) of the network at any frequency, as realised (this is `decay_s`,
    /// reached at low frequencies, up to the rounding of the filter coefficients).
    pub fn max_rt60_s(&self) -> f64 {
        self.rt_max_s
    }

    /// Samples after the input stops until the output stays at least 90 dB below its peak:
    /// pre-delay + diffusion + the longest line + (90 + 12) dB of decay at the longest RT60 +
    /// the ringing of the wet filters.
    pub fn tail_samples(&self) -> usize {
        self.tail
    }

    /// Silence everywhere, as after construction.
    pub fn reset(&mut self) {
        self.pre.iter_mut().flatten().for_each(|x| *x = 0.0);
        self.pre_pos = 0;
        self.diffusers.iter_mut().flatten().for_each(Allpass::reset);
        self.lines.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
        self.damping.z1 = [0.0; LINES];
        self.damping.z2 = [0.0; LINES];
        self.out_filters.iter_mut().for_each(StereoBiquad::reset);
        self.frames = 0;
    }

    /// Processes one block. `input` holds 1 (mono, treated as dual mono) or 2 (left, right)
    /// channels; all slices must have the same length. Panics otherwise.
    pub fn process(&mut self, input: &[&[f32]], out_l: &mut [f32], out_r: &mut [f32]) {
        assert!(
            input.len() == 1 || input.len() == 2,
            "reverb input must have 1 or 2 channels, got {}",
            input.len()
        );
        let n = out_l.len();
        assert!(
            out_r.len() == n && input.iter().all(|c| c.len() == n),
            "reverb buffers must have equal lengths"
        );
        let in_l = input[0];
        let in_r = input[input.len() - 1];
        let mut i = 0;
        while i < n {
            let to_flush = (FLUSH_EVERY - self.frames % FLUSH_EVERY) as usize;
            let m = to_flush.min(n - i);
            self.run(
                &in_l[i..i + m],
                &in_r[i..i + m],
                &mut out_l[i..i + m],
                &mut out_r[i..i + m],
            );
            self.frames += m as u64;
            if self.frames % FLUSH_EVERY == 0 {
                self.flush_states();
            }
            i += m;
        }
    }

    fn flush_states(&mut self) {
        let z = &mut self.damping;
        for k in 0..LINES {
            if z.z1[k].abs() < STATE_FLOOR {
                z.z1[k] = 0.0;
            }
            if z.z2[k].abs() < STATE_FLOOR {
                z.z2[k] = 0.0;
            }
        }
        self.out_filters.iter_mut().for_each(StereoBiquad::flush);
    }

    fn run(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        let size = self.line_size;
        let mask = size - 1;
        let delays = self.delays;
        let (cin_l, cin_r, cout_l, cout_r) = (self.in_l, self.in_r, self.out_l, self.out_r);
        let Damping {
            b0,
            b1,
            b2,
            a1,
            a2,
            mut z1,
            mut z2,
        } = self.damping.clone();
        let pre_len = self.pre[0].len();
        let [pre_l, pre_r] = &mut self.pre;
        let [diff_l, diff_r] = &mut self.diffusers;
        let out_filters = &mut self.out_filters;
        let lines = &mut self.lines[..];
        let side_gain = self.side_gain;
        let mut pos = self.pos;
        let mut pre_pos = self.pre_pos;

        for j in 0..out_l.len() {
            // pre-delay (ring of pre-delay + 1: write, then read the oldest)
            pre_l[pre_pos] = in_l[j];
            pre_r[pre_pos] = in_r[j];
            let mut rd = pre_pos + 1;
            if rd == pre_len {
                rd = 0;
            }
            let (mut u_l, mut u_r) = (pre_l[rd], pre_r[rd]);
            pre_pos = rd;
            for a in diff_l.iter_mut() {
                u_l = a.tick(u_l);
            }
            for a in diff_r.iter_mut() {
                u_r = a.tick(u_r);
            }

            // read the lines, then damp them: the second loop is plain arithmetic on arrays,
            // which the compiler runs four lines per instruction
            let mut s = [0.0f32; LINES];
            for k in 0..LINES {
                s[k] = lines[((pos.wrapping_sub(delays[k]) & mask) * LINES) + k];
            }
            let mut f = [0.0f32; LINES];
            for k in 0..LINES {
                let y = b0[k] * s[k] + z1[k];
                z1[k] = b1[k] * s[k] - a1[k] * y + z2[k];
                z2[k] = b2[k] * s[k] - a2[k] * y;
                f[k] = y;
            }
            let mut y_l = EARLY_GAIN * u_l;
            let mut y_r = EARLY_GAIN * u_r;
            for k in 0..LINES {
                y_l += cout_l[k] * f[k];
                y_r += cout_r[k] * f[k];
            }
            hadamard(&mut f);
            let w = pos & mask;
            for k in 0..LINES {
                let v = f[k] + cin_l[k] * u_l + cin_r[k] * u_r;
                lines[w * LINES + k] = if v.abs() < FLUSH_BELOW { 0.0 } else { v };
            }
            pos = pos.wrapping_add(1);

            // wet filters, then width
            let lr = out_filters[0].tick([f64::from(y_l), f64::from(y_r)]);
            let [l, r] = out_filters[1].tick(lr);
            let (l, r) = (l as f32, r as f32);
            if side_gain == 1.0 {
                out_l[j] = l;
                out_r[j] = r;
            } else {
                let m = 0.5 * (l + r);
                let s = 0.5 * (l - r) * side_gain;
                out_l[j] = m + s;
                out_r[j] = m - s;
            }
        }
        self.damping.z1 = z1;
        self.damping.z2 = z2;
        self.pos = pos;
        self.pre_pos = pre_pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hadamard_is_orthogonal_up_to_scale() {
        // H·H = 16·I
        let mut x = [0.0f32; LINES];
        for (k, v) in x.iter_mut().enumerate() {
            *v = (k as f32 * 0.37).sin();
        }
        let mut y = x;
        hadamard(&mut y);
        let e_x: f32 = x.iter().map(|v| v * v).sum();
        let e_y: f32 = y.iter().map(|v| v * v).sum();
        assert!((e_y / e_x - 16.0).abs() < 1e-4);
        hadamard(&mut y);
        for k in 0..LINES {
            assert!((y[k] / 16.0 - x[k]).abs() < 1e-6);
        }
    }

    #[test]
    fn patterns_are_orthogonal() {
        let dot = |a: &[i8; LINES], b: &[i8; LINES]| -> i32 {
            a.iter().zip(b).map(|(&x, &y)| i32::from(x * y)).sum()
        };
        let r_in = IN_L.map(|v| v);
        let mut r_in2 = [0i8; LINES];
        let mut r_out2 = [0i8; LINES];
        for k in 0..LINES {
            r_in2[k] = IN_L[k] * WALSH_IN[k];
            r_out2[k] = OUT_L[k] * WALSH_OUT[k];
        }
        assert_eq!(dot(&r_in, &r_in2), 0);
        assert_eq!(dot(&OUT_L, &r_out2), 0);
    }

    #[test]
    fn line_lengths_are_distinct_primes_at_every_rate_and_size() {
        for fs in [8_000.0, 44_100.0, 192_000.0] {
            for size in [0.0, 0.5, 1.0] {
                let r = Reverb::new(
                    ReverbParams {
                        size,
                        ..Default::default()
                    },
                    fs,
                );
                let d = r.line_lengths();
                for (k, &a) in d.iter().enumerate() {
                    assert!(is_prime(a), "{a}");
                    assert!(!d[..k].contains(&a));
                }
            }
        }
    }
}
