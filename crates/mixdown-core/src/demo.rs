//! The song behind `mixdown demo`: a short piece synthesised entirely in code, so the demo needs
//! no files and gives the same audio on every run.
//!
//! The song is in A minor at 112 BPM, one chord a bar (Am–F–C–G, i–VI–III–VII), and has four
//! sections laid out as fractions of its length, rounded to whole bars when it is long enough:
//!
//! | section | share | 30 s at 112 BPM         | instruments                                      |
//! |---------|-------|-------------------------|--------------------------------------------------|
//! | intro   | 1/7   | bars 1–2, 0–4.3 s       | pad (filter opening), soft hats                  |
//! | verse   | 2/7   | bars 3–6, 4.3–12.9 s    | + kick, snare, bass, lead (low register)         |
//! | chorus  | 2/7   | bars 7–10, 12.9–21.4 s  | all, harder: 16th hats, driving bass, high lead  |
//! | outro   | 2/7   | bars 11–14, 21.4–30 s   | kick, hats, held bass, pad, one last phrase;     |
//! |         |       |                         | fades to silence from bar 12                     |
//!
//! so the mix has real dynamics (quiet intro, loud chorus, a fade) for the mastering engine to
//! keep. Each instrument is its own stem at a plausible recording level (peaks about −6 to
//! −3 dBFS); [`DemoSong::rough_mix`] sums them with a deliberately imperfect static balance.
//!
//! Everything pitched comes from band-limited wavetables built additively for the sample rate in
//! use (no partial above 0.45·fs, nor above 18 kHz), so nothing aliases at any rate from 8 kHz
//! to 192 kHz. All randomness (melody, humanisation, noise) comes from [`Rng`] streams seeded
//! from the caller's seed, and nothing depends on threads or hashing order: the same
//! `(sample_rate, seconds, seed)` gives bit-identical buffers on every run. (Across platforms,
//! only the last bits of the standard library's `sin`/`exp`/`tan` could differ.)

use crate::audio::AudioBuffer;
use mixdown_dsp::rng::Rng;
use std::f64::consts::PI;

/// Tempo of the demo song.
pub const DEMO_TEMPO_BPM: f64 = 112.0;
/// Default length of the demo song, in seconds.
pub const DEMO_SECONDS: f64 = 30.0;

/// Rough-mix output peak, dBFS.
const ROUGH_MIX_PEAK_DB: f64 = -6.0;

/// One instrument track of the demo song.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoStem {
    /// File-name-like: "kick", "snare", "hats", "bass", "chords", "lead".
    pub name: String,
    /// What the instrument is: "kick", "snare", "hats", "bass", "pad", "lead".
    pub role: String,
    pub buffer: AudioBuffer,
}

/// A section of the song's structure.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoSection {
    /// "intro", "verse", "chorus" or "outro".
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// The synthesised song: its stems (all the same length and rate) and its structure.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoSong {
    pub sample_rate: u32,
    pub tempo_bpm: f64,
    pub stems: Vec<DemoStem>,
    /// Intro, verse, chorus, outro, in order; a section is absent when the song is too short
    /// to hold it.
    pub sections: Vec<DemoSection>,
}

/// Synthesise the demo song: `seconds` long (`round(seconds·sample_rate)` frames) at
/// `sample_rate`; `seed` picks the melody, the humanisation and the noise.
pub fn synth_song(sample_rate: u32, seconds: f64, seed: u64) -> DemoSong {
    let arr = Arrangement::new(sample_rate, seconds);
    let n = arr.frames;
    let stem = |name: &str, role: &str, channels: Vec<Vec<f32>>| DemoStem {
        name: name.to_string(),
        role: role.to_string(),
        buffer: AudioBuffer::from_channels(sample_rate, channels),
    };
    let sections = arr.sections();
    if n == 0 {
        let empty = |c: usize| vec![Vec::new(); c];
        return DemoSong {
            sample_rate,
            tempo_bpm: DEMO_TEMPO_BPM,
            stems: vec![
                stem("kick", "kick", empty(1)),
                stem("snare", "snare", empty(1)),
                stem("hats", "hats", empty(2)),
                stem("bass", "bass", empty(1)),
                stem("chords", "pad", empty(2)),
                stem("lead", "lead", empty(1)),
            ],
            sections,
        };
    }

    let ctx = Ctx::new(arr);
    let drums = drum_pattern(&ctx.arr, &mut Rng::new(seed ^ 0xD5A1_0000_0000_0001));

    let mut kick = vec![0.0f32; n];
    let mut rng = Rng::new(seed ^ 0xD5A1_0000_0000_0002);
    for h in &drums.kick {
        render_kick(&mut kick, h, &ctx, &mut rng);
    }

    let mut snare = vec![0.0f32; n];
    let mut rng = Rng::new(seed ^ 0xD5A1_0000_0000_0003);
    for h in &drums.snare {
        render_snare(&mut snare, h, &ctx, &mut rng);
    }

    let mut hats = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut rng = Rng::new(seed ^ 0xD5A1_0000_0000_0004);
    for h in &drums.hats {
        render_hat(&mut hats, h, &ctx, &mut rng);
    }

    let mut bass = vec![0.0f32; n];
    let bass_notes = bass_line(&ctx.arr, &mut Rng::new(seed ^ 0xD5A1_0000_0000_0005));
    render_mono(&mut bass, &bass_notes, &BASS_VOICE, &ctx);

    let mut lead = vec![0.0f32; n];
    let lead_notes = melody(&ctx.arr, &mut Rng::new(seed ^ 0xD5A1_0000_0000_0006));
    render_mono(&mut lead, &lead_notes, &LEAD_VOICE, &ctx);

    let mut pad = [vec![0.0f32; n], vec![0.0f32; n]];
    render_pad(&mut pad, &ctx, &mut Rng::new(seed ^ 0xD5A1_0000_0000_0007));

    let [hats_l, hats_r] = hats;
    let [pad_l, pad_r] = pad;
    let mut stems = vec![
        stem("kick", "kick", vec![kick]),
        stem("snare", "snare", vec![snare]),
        stem("hats", "hats", vec![hats_l, hats_r]),
        stem("bass", "bass", vec![bass]),
        stem("chords", "pad", vec![pad_l, pad_r]),
        stem("lead", "lead", vec![lead]),
    ];
    // The outro fades to silence on every stem (a performed fade, so the stems agree with the
    // mix), then each stem is set to its own recording level.
    let fade_start = ctx.arr.sample_at(ctx.arr.fade_start_beat(), 0.0);
    for s in &mut stems {
        for ch in &mut s.buffer.channels {
            apply_fade_out(ch, fade_start);
        }
        let peak_db = match s.name.as_str() {
            "kick" => -3.5,
            "snare" => -4.5,
            "hats" => -6.0,
            "bass" => -4.0,
            "chords" => -5.0,
            _ => -4.5,
        };
        normalise_peak(&mut s.buffer, peak_db);
    }
    DemoSong {
        sample_rate,
        tempo_bpm: DEMO_TEMPO_BPM,
        stems,
        sections,
    }
}

impl DemoSong {
    /// Number of frames of the stems (they all have the same length).
    pub fn frames(&self) -> usize {
        self.stems
            .iter()
            .map(|s| s.buffer.frames())
            .max()
            .unwrap_or(0)
    }

    /// The unmastered "home mix": a stereo sum of the stems with a simple static gain and pan
    /// per stem, scaled so that it peaks at −6 dBFS. The balance is deliberately imperfect
    /// (bass a little hot, hats bright and pushed right, the lead slightly buried) so there
    /// is something for an automatic mix to improve on.
    pub fn rough_mix(&self) -> AudioBuffer {
        let mut out = self.home_mix_sum();
        normalise_peak(&mut out, ROUGH_MIX_PEAK_DB);
        out
    }

    /// The stems summed with the home-mix gains and pans, before the output level is set.
    fn home_mix_sum(&self) -> AudioBuffer {
        let n = self.frames();
        let mut out = AudioBuffer::silent(self.sample_rate, 2, n);
        for stem in &self.stems {
            let (gain_db, pan) = home_mix_setting(&stem.name);
            let g = db_to_gain(gain_db);
            let chans = &stem.buffer.channels;
            let (gl, gr, left, right) = match chans.len() {
                0 => continue,
                1 => {
                    // Constant-power pan law.
                    let theta = (pan + 1.0) * PI / 4.0;
                    (g * theta.cos(), g * theta.sin(), &chans[0], &chans[0])
                }
                _ => {
                    // Balance control for a stereo source.
                    let gl = g * (1.0 - pan).min(1.0);
                    let gr = g * (1.0 + pan).min(1.0);
                    (gl, gr, &chans[0], &chans[1])
                }
            };
            let (gl, gr) = (gl as f32, gr as f32);
            let [out_l, out_r] = &mut out.channels[..] else {
                unreachable!("the mix is stereo")
            };
            for (o, &x) in out_l.iter_mut().zip(left) {
                *o += gl * x;
            }
            for (o, &x) in out_r.iter_mut().zip(right) {
                *o += gr * x;
            }
        }
        out
    }
}

/// Static gain (dB) and pan (−1 left … +1 right) of each stem in the rough mix.
fn home_mix_setting(name: &str) -> (f64, f64) {
    match name {
        "kick" => (-4.0, 0.0),
        "snare" => (-4.0, 0.08),
        "hats" => (-9.0, 0.45),
        "bass" => (-11.0, 0.0),
        "chords" => (-10.0, -0.05),
        "lead" => (-12.5, -0.2),
        _ => (-8.0, 0.0),
    }
}

fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Scale the buffer so that its sample peak is `peak_db` dBFS (a silent buffer is left alone).
fn normalise_peak(buf: &mut AudioBuffer, peak_db: f64) {
    let peak = buf
        .channels
        .iter()
        .map(|c| peak_abs(c))
        .fold(0.0f32, f32::max) as f64;
    if peak > 0.0 && peak.is_finite() {
        buf.apply_gain((db_to_gain(peak_db) / peak) as f32);
    }
}

/// Largest absolute sample (written in lanes so that it vectorises).
fn peak_abs(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, v) in lanes.iter_mut().zip(c) {
            let a = v.abs();
            *m = if a > *m { a } else { *m };
        }
    }
    let m = rest.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    lanes.iter().fold(m, |a, &b| a.max(b))
}

/// Fade from unity at `start` to exactly zero at the last sample (1 − smoothstep).
fn apply_fade_out(ch: &mut [f32], start: usize) {
    let n = ch.len();
    if start >= n {
        return;
    }
    let len = (n - start) as f64;
    for (i, s) in ch[start..].iter_mut().enumerate() {
        let x = (i as f64 + 1.0) / len;
        let g = 1.0 - x * x * (3.0 - 2.0 * x);
        *s *= g as f32;
    }
}

#[inline]
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

// ---------------------------------------------------------------------------------------------
// Structure

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Intro,
    Verse,
    Chorus,
    Outro,
}

/// Where things are in time: sample rate, length, tempo and section boundaries (in beats).
struct Arrangement {
    sr: f64,
    frames: usize,
    beat_s: f64,
    total_beats: f64,
    /// Beats at which the verse, the chorus and the outro start.
    starts: [f64; 3],
}

impl Arrangement {
    fn new(sample_rate: u32, seconds: f64) -> Self {
        let sr = sample_rate as f64;
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        let frames = (seconds * sr).round() as usize;
        let beat_s = 60.0 / DEMO_TEMPO_BPM;
        let total_beats = if sr > 0.0 {
            frames as f64 / sr / beat_s
        } else {
            0.0
        };
        let mut starts = [1.0, 3.0, 5.0].map(|k| total_beats * k / 7.0);
        if total_beats >= 28.0 {
            // Long enough for whole bars in every section.
            for s in &mut starts {
                *s = (*s / 4.0).round() * 4.0;
            }
        }
        Arrangement {
            sr,
            frames,
            beat_s,
            total_beats,
            starts,
        }
    }

    fn part(&self, beat: f64) -> Part {
        if beat < self.starts[0] {
            Part::Intro
        } else if beat < self.starts[1] {
            Part::Verse
        } else if beat < self.starts[2] {
            Part::Chorus
        } else {
            Part::Outro
        }
    }

    fn part_bounds(&self, part: Part) -> (f64, f64) {
        match part {
            Part::Intro => (0.0, self.starts[0]),
            Part::Verse => (self.starts[0], self.starts[1]),
            Part::Chorus => (self.starts[1], self.starts[2]),
            Part::Outro => (self.starts[2], self.total_beats),
        }
    }

    /// Number of bars that start inside the song (the last one may be partial).
    fn bars(&self) -> usize {
        (self.total_beats / 4.0).ceil() as usize
    }

    /// Sample index of a beat, shifted by `jitter_s` seconds (clamped at 0).
    fn sample_at(&self, beat: f64, jitter_s: f64) -> usize {
        ((beat * self.beat_s + jitter_s) * self.sr).round().max(0.0) as usize
    }

    /// The chord (0 Am, 1 F, 2 C, 3 G) at a beat: the progression restarts at every section,
    /// and the song's last bar returns to the tonic.
    fn chord_at(&self, beat: f64) -> usize {
        let (start, _) = self.part_bounds(self.part(beat));
        let last_bar_start = ((self.total_beats - 1e-9) / 4.0).floor() * 4.0;
        if self.total_beats >= 8.0 && beat >= last_bar_start {
            return 0;
        }
        (((beat - start) / 4.0).floor().max(0.0) as usize) % 4
    }

    /// The fade starts a bar into the outro (right at its start if the outro is short).
    fn fade_start_beat(&self) -> f64 {
        let o = self.starts[2];
        if self.total_beats - o > 8.0 {
            o + 4.0
        } else {
            o
        }
    }

    fn sections(&self) -> Vec<DemoSection> {
        let to_s = |b: f64| b * self.beat_s;
        [
            ("intro", Part::Intro),
            ("verse", Part::Verse),
            ("chorus", Part::Chorus),
            ("outro", Part::Outro),
        ]
        .into_iter()
        .filter_map(|(name, p)| {
            let (a, b) = self.part_bounds(p);
            (b > a).then(|| DemoSection {
                name: name.to_string(),
                start_s: to_s(a),
                end_s: to_s(b),
            })
        })
        .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Oscillators and filters

const TBITS: u32 = 11;
const TLEN: usize = 1 << TBITS;
const FRAC_BITS: u32 = 32 - TBITS;
const FRAC_MASK: u32 = (1 << FRAC_BITS) - 1;
const FRAC_SCALE: f32 = 1.0 / (1u32 << FRAC_BITS) as f32;

/// One cycle of a waveform plus a guard sample; a fixed size lets indexing skip bounds checks.
type Table = [f32; TLEN + 1];

/// `TLEN` samples of one cycle, then the first again.
fn to_table(cycle: impl Iterator<Item = f32>) -> Box<Table> {
    let mut t = Box::new([0.0f32; TLEN + 1]);
    for (d, s) in t.iter_mut().zip(cycle.take(TLEN)) {
        *d = s;
    }
    t[TLEN] = t[0];
    t
}

/// Read a one-cycle table (`TLEN + 1` samples, the last repeating the first) at a 32-bit
/// phase, with linear interpolation.
#[inline]
fn lookup(t: &Table, phase: u32) -> f32 {
    let i = (phase >> FRAC_BITS) as usize;
    let frac = (phase & FRAC_MASK) as f32 * FRAC_SCALE;
    let a = t[i];
    let b = t[i + 1];
    a + (b - a) * frac
}

/// 32-bit phase increment for frequency `f` (kept below 0.49·fs).
#[inline]
fn phase_inc(f: f64, sr: f64) -> u32 {
    ((f / sr).clamp(0.0, 0.49) * 4_294_967_296.0) as u32
}

#[derive(Clone, Copy)]
enum Shape {
    Saw,
    Square,
}

/// A band-limited waveform as one table per octave of fundamental frequency: the table used for
/// fundamentals up to `tops[j]` holds only the harmonics that stay below the limit there.
struct Wavetable {
    tops: Vec<f64>,
    tables: Vec<Box<Table>>,
}

impl Wavetable {
    fn new(shape: Shape, sr: f64) -> Self {
        let limit = (0.45 * sr).min(18_000.0);
        let mut tops = Vec::new();
        let mut top = 27.5;
        loop {
            tops.push(top);
            if top >= limit {
                break;
            }
            top *= 2.0;
        }
        let counts: Vec<usize> = tops
            .iter()
            .map(|t| ((limit / t).floor() as usize).clamp(1, TLEN / 2 - 1))
            .collect();
        let sin: Vec<f64> = (0..TLEN)
            .map(|i| (2.0 * PI * i as f64 / TLEN as f64).sin())
            .collect();
        let scale = match shape {
            Shape::Saw => 2.0 / PI,
            Shape::Square => 4.0 / PI,
        };
        // Build from the top band (fewest harmonics) down, adding harmonics as we go.
        let mut acc = vec![0.0f64; TLEN];
        let mut tables = vec![Box::new([0.0f32; TLEN + 1]); tops.len()];
        let mut done = 0usize;
        for j in (0..tops.len()).rev() {
            for k in (done + 1)..=counts[j] {
                let a = match shape {
                    Shape::Saw => 1.0 / k as f64,
                    Shape::Square if k % 2 == 1 => 1.0 / k as f64,
                    Shape::Square => continue,
                };
                for (i, v) in acc.iter_mut().enumerate() {
                    *v += a * sin[(k * i) & (TLEN - 1)];
                }
            }
            done = done.max(counts[j]);
            tables[j] = to_table(acc.iter().map(|&v| (v * scale) as f32));
        }
        Wavetable { tops, tables }
    }

    /// The table to use for fundamental frequency `f`.
    #[inline]
    fn table(&self, f: f64) -> &Table {
        let j = self
            .tops
            .iter()
            .position(|&t| t >= f)
            .unwrap_or(self.tops.len() - 1);
        &self.tables[j]
    }
}

/// Topology-preserving state-variable filter (2-pole), tuned at control rate.
#[derive(Clone, Copy, Default)]
struct Svf {
    ic1: f64,
    ic2: f64,
    a1: f64,
    a2: f64,
    a3: f64,
    k: f64,
}

impl Svf {
    fn new(fc: f64, q: f64, sr: f64) -> Self {
        let mut s = Svf::default();
        s.tune(fc, q, sr);
        s
    }

    fn tune(&mut self, fc: f64, q: f64, sr: f64) {
        // (max then min rather than clamp: never panics, even at absurdly low rates)
        let fc = fc.max(5.0).min(0.45 * sr);
        let g = (PI * fc / sr).tan();
        self.k = 1.0 / q;
        self.a1 = 1.0 / (1.0 + g * (g + self.k));
        self.a2 = g * self.a1;
        self.a3 = g * self.a2;
    }

    /// One sample: (low-pass, band-pass).
    #[inline]
    fn tick(&mut self, x: f64) -> (f64, f64) {
        let v3 = x - self.ic2;
        let v1 = self.a1 * self.ic1 + self.a2 * v3;
        let v2 = self.ic2 + self.a2 * self.ic1 + self.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        (v2, v1)
    }

    #[inline]
    fn low(&mut self, x: f64) -> f64 {
        self.tick(x).0
    }

    #[inline]
    fn high(&mut self, x: f64) -> f64 {
        let (l, b) = self.tick(x);
        x - self.k * b - l
    }
}

/// Shared synthesis context: timing plus the tables built for this sample rate.
struct Ctx {
    arr: Arrangement,
    sr: f64,
    saw: Wavetable,
    square: Wavetable,
    sine: Box<Table>,
}

impl Ctx {
    fn new(arr: Arrangement) -> Self {
        let sr = arr.sr;
        let sine = to_table((0..TLEN).map(|i| (2.0 * PI * i as f64 / TLEN as f64).sin() as f32));
        Ctx {
            arr,
            sr,
            saw: Wavetable::new(Shape::Saw, sr),
            square: Wavetable::new(Shape::Square, sr),
            sine,
        }
    }

    /// Samples in `s` seconds, at least `min`.
    fn samples(&self, s: f64, min: f64) -> f64 {
        (s * self.sr).max(min)
    }
}

fn midi_hz(m: f64) -> f64 {
    440.0 * ((m - 69.0) / 12.0).exp2()
}

// ---------------------------------------------------------------------------------------------
// Drums

/// A drum hit: sample position, velocity (0–1), a decay multiplier (longer, open-ish hats)
/// and a pan (hats only).
#[derive(Clone, Copy, Debug)]
struct Hit {
    pos: usize,
    vel: f64,
    decay: f64,
    pan: f64,
}

struct Drums {
    kick: Vec<Hit>,
    snare: Vec<Hit>,
    hats: Vec<Hit>,
}

fn drum_pattern(arr: &Arrangement, rng: &mut Rng) -> Drums {
    let mut d = Drums {
        kick: Vec::new(),
        snare: Vec::new(),
        hats: Vec::new(),
    };
    let (outro_start, _) = arr.part_bounds(Part::Outro);
    for bar in 0..arr.bars() {
        let bar_beat = bar as f64 * 4.0;
        let part = arr.part(bar_beat);
        let last_bar_of_part = arr.part(bar_beat + 4.0) != part;
        let first_outro_bar = part == Part::Outro && bar_beat < outro_start + 4.0;
        // Per-bar choices.
        let kick_and3 = rng.uniform()
            < match part {
                Part::Verse => 0.5,
                Part::Chorus => 0.35,
                _ => 0.0,
            };
        let kick_and4 = part == Part::Verse && rng.uniform() < 0.2;
        let open_hat = part == Part::Chorus && bar % 2 == 1 && rng.uniform() < 0.6;
        for step in 0..16usize {
            let beat = bar_beat + step as f64 * 0.25;
            if beat >= arr.total_beats {
                break;
            }
            let part = arr.part(beat);
            let ghost = rng.uniform() < 0.3;
            let hat_pan = 0.15 * rng.bipolar();
            let mut hit = |list: &mut Vec<Hit>, vel: f64, jitter_ms: f64, decay: f64, pan: f64| {
                let jitter = rng.bipolar() * jitter_ms * 1e-3;
                let vel = (vel * (1.0 + 0.06 * rng.bipolar())).clamp(0.05, 1.0);
                let pos = arr.sample_at(beat, jitter);
                if pos < arr.frames {
                    list.push(Hit {
                        pos,
                        vel,
                        decay,
                        pan,
                    });
                }
            };
            // Kick.
            let kick_vel = match part {
                Part::Verse if step == 0 || step == 8 => Some(0.85),
                Part::Verse if step == 10 && kick_and3 => Some(0.65),
                Part::Verse if step == 14 && kick_and4 => Some(0.55),
                Part::Chorus if step % 4 == 0 => Some(if step == 0 { 1.0 } else { 0.92 }),
                Part::Chorus if step == 10 && kick_and3 => Some(0.7),
                Part::Outro if step == 0 => Some(0.8),
                Part::Outro if step == 8 && first_outro_bar => Some(0.7),
                _ => None,
            };
            if let Some(v) = kick_vel {
                hit(&mut d.kick, v, 1.0, 1.0, 0.0);
            }
            // Snare: backbeat, ghost notes, fills into the next section.
            let snare_vel = match part {
                Part::Verse if step == 4 || step == 12 => Some(0.72),
                Part::Verse if last_bar_of_part && step == 14 => Some(0.45),
                Part::Verse if last_bar_of_part && step == 15 => Some(0.6),
                Part::Chorus if step == 4 || step == 12 => Some(1.0),
                Part::Chorus if last_bar_of_part && step >= 13 => {
                    Some(0.5 + 0.15 * (step - 13) as f64)
                }
                Part::Chorus if (step == 7 || step == 14) && ghost => Some(0.22),
                _ => None,
            };
            if let Some(v) = snare_vel {
                hit(&mut d.snare, v, 2.5, 1.0, 0.0);
            }
            // Closed hats: 8ths, 16ths in the chorus, accents on the off-beats.
            let hat = match part {
                Part::Intro if step % 2 == 0 => Some(if step % 4 == 2 { 0.55 } else { 0.4 }),
                Part::Verse if step % 2 == 0 => Some(if step % 4 == 2 { 0.75 } else { 0.55 }),
                Part::Chorus => Some(match step % 4 {
                    0 => 0.8,
                    2 => 1.0,
                    _ => 0.45,
                }),
                Part::Outro if step % 2 == 0 => Some(if step % 4 == 2 { 0.65 } else { 0.5 }),
                _ => None,
            };
            if let Some(v) = hat {
                let decay = if open_hat && step == 14 { 3.5 } else { 1.0 };
                hit(&mut d.hats, v, 4.0, decay, hat_pan);
            }
        }
    }
    d
}

/// Two independent uniform noise samples in [−1, 1) from one draw of the generator.
#[inline]
fn noise_pair(rng: &mut Rng) -> (f64, f64) {
    const SCALE: f64 = 1.0 / 2_147_483_648.0;
    let x = rng.next_u64();
    ((x as i32) as f64 * SCALE, ((x >> 32) as i32) as f64 * SCALE)
}

fn render_kick(out: &mut [f32], h: &Hit, ctx: &Ctx, rng: &mut Rng) {
    let sr = ctx.sr;
    let len = ((0.45 * sr) as usize).min(out.len().saturating_sub(h.pos));
    let attack = ctx.samples(0.0008, 2.0);
    let taper = ctx.samples(0.03, 4.0);
    let amp_coef = (-1.0 / (0.17 * sr)).exp();
    let sweep_coef = (-1.0 / (0.035 * sr)).exp();
    let click_coef = (-1.0 / (0.0025 * sr)).exp();
    let click_lp = 1.0 - (-2.0 * PI * 1500.0 / sr).exp();
    let (mut sweep, mut amp, mut click, mut lp) = (1.0f64, 1.0f64, 1.0f64, 0.0f64);
    let mut phase = 0u32;
    let (inv_attack, inv_taper) = (1.0 / attack, 1.0 / taper);
    // Phase increment per Hz (the sweep stays far below Nyquist even at 8 kHz).
    let inc_per_hz = 4_294_967_296.0 / sr;
    for (i, y) in out[h.pos..h.pos + len].iter_mut().enumerate() {
        let f = 47.0 + 120.0 * sweep;
        phase = phase.wrapping_add((f * inc_per_hz) as u32);
        let body = lookup(&ctx.sine, phase) as f64;
        let mut c = 0.0;
        if click > 1e-4 {
            let noise = rng.bipolar();
            lp += click_lp * (noise - lp);
            c = (noise - lp) * click;
        }
        let t = i as f64;
        let env = (t * inv_attack).min(1.0) * ((len as f64 - t) * inv_taper).min(1.0);
        *y += ((body * amp + 0.3 * c) * env * h.vel) as f32;
        sweep *= sweep_coef;
        amp *= amp_coef;
        click *= click_coef;
    }
}

fn render_snare(out: &mut [f32], h: &Hit, ctx: &Ctx, rng: &mut Rng) {
    let sr = ctx.sr;
    let len = ((0.38 * sr) as usize).min(out.len().saturating_sub(h.pos));
    let attack = ctx.samples(0.0007, 2.0);
    let taper = ctx.samples(0.025, 4.0);
    let tone_coef = (-1.0 / (0.055 * sr)).exp();
    let noise_coef = (-1.0 / (0.13 * sr)).exp();
    let drop_coef = (-1.0 / (0.02 * sr)).exp();
    let mut hp = Svf::new(1800.0, 0.7, sr);
    let mut lp = Svf::new(8500.0, 0.7, sr);
    let (mut tone_env, mut noise_env, mut drop) = (1.0f64, 1.0f64, 1.0f64);
    let (mut p1, mut p2) = (0u32, 0u32);
    let (inv_attack, inv_taper) = (1.0 / attack, 1.0 / taper);
    let inc_per_hz = 4_294_967_296.0 / sr;
    for (i, y) in out[h.pos..h.pos + len].iter_mut().enumerate() {
        let bend = (1.0 + 0.12 * drop) * inc_per_hz;
        p1 = p1.wrapping_add((185.0 * bend) as u32);
        p2 = p2.wrapping_add((330.0 * bend) as u32);
        let tone = 0.6 * lookup(&ctx.sine, p1) as f64 + 0.4 * lookup(&ctx.sine, p2) as f64;
        let noise = lp.low(hp.high(rng.bipolar()));
        let t = i as f64;
        let env = (t * inv_attack).min(1.0) * ((len as f64 - t) * inv_taper).min(1.0);
        *y += ((0.55 * tone * tone_env + 1.1 * noise * noise_env) * env * h.vel) as f32;
        tone_env *= tone_coef;
        noise_env *= noise_coef;
        drop *= drop_coef;
    }
}

fn render_hat(out: &mut [Vec<f32>; 2], h: &Hit, ctx: &Ctx, rng: &mut Rng) {
    let sr = ctx.sr;
    let tau = 0.024 * h.decay;
    let len = ((tau * 4.5 * sr) as usize).min(out[0].len().saturating_sub(h.pos));
    let attack = ctx.samples(0.0004, 2.0);
    let taper = ctx.samples(0.01, 4.0);
    let fc = (7500.0f64).min(0.42 * sr);
    let mut hl = Svf::new(fc, 0.8, sr);
    let mut hr = hl;
    let (inv_attack, inv_taper) = (1.0 / attack, 1.0 / taper);
    let coef = (-1.0 / (tau * sr)).exp();
    let theta = (h.pan + 1.0) * PI / 4.0;
    let (gl, gr) = (theta.cos() * 2f64.sqrt(), theta.sin() * 2f64.sqrt());
    let mut amp = 1.0f64;
    let [l, r] = out;
    let range = h.pos..h.pos + len;
    for (i, (yl, yr)) in l[range.clone()].iter_mut().zip(&mut r[range]).enumerate() {
        // Partly decorrelated noise on the two sides.
        let (c, s) = noise_pair(rng);
        let nl = hl.high(c + 0.45 * s);
        let nr = hr.high(c - 0.45 * s);
        let t = i as f64;
        let env = (t * inv_attack).min(1.0) * ((len as f64 - t) * inv_taper).min(1.0) * amp * h.vel;
        *yl += (nl * env * gl) as f32;
        *yr += (nr * env * gr) as f32;
        amp *= coef;
    }
}

// ---------------------------------------------------------------------------------------------
// Monophonic voices: bass and lead

/// A note for a monophonic voice. `legato` notes glide from the previous one without
/// retriggering the envelopes.
#[derive(Clone, Copy, Debug)]
struct MonoNote {
    start: usize,
    end: usize,
    midi: f64,
    vel: f64,
    bright: f64,
    legato: bool,
}

struct VoiceParams {
    saw: f32,
    square: f32,
    sine: f32,
    cutoff_hz: f64,
    key_track: f64,
    env_amount: f64,
    env_tau_s: f64,
    q: f64,
    attack_s: f64,
    decay_s: f64,
    sustain: f64,
    release_s: f64,
    glide_s: f64,
    vibrato_cents: f64,
    vibrato_hz: f64,
    vibrato_delay_s: f64,
}

const BASS_VOICE: VoiceParams = VoiceParams {
    saw: 0.7,
    square: 0.0,
    sine: 0.6,
    cutoff_hz: 300.0,
    key_track: 0.3,
    env_amount: 2.0,
    env_tau_s: 0.09,
    q: 0.8,
    attack_s: 0.004,
    decay_s: 0.25,
    sustain: 0.75,
    release_s: 0.025,
    glide_s: 0.0,
    vibrato_cents: 0.0,
    vibrato_hz: 0.0,
    vibrato_delay_s: 0.0,
};

const LEAD_VOICE: VoiceParams = VoiceParams {
    saw: 0.35,
    square: 0.55,
    sine: 0.0,
    cutoff_hz: 1500.0,
    key_track: 0.5,
    env_amount: 1.5,
    env_tau_s: 0.25,
    q: 1.1,
    attack_s: 0.008,
    decay_s: 0.4,
    sustain: 0.8,
    release_s: 0.06,
    glide_s: 0.045,
    vibrato_cents: 18.0,
    vibrato_hz: 5.5,
    vibrato_delay_s: 0.18,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    Attack,
    Decay,
    Release,
}

/// Render a monophonic synth voice (oscillators → low-pass with envelope → amplitude envelope)
/// playing `notes` (sorted by start) into `out`.
fn render_mono(out: &mut [f32], notes: &[MonoNote], p: &VoiceParams, ctx: &Ctx) {
    const CTRL: usize = 32;
    let sr = ctx.sr;
    let block_s = CTRL as f64 / sr;
    let att_inc = 1.0 / ctx.samples(p.attack_s, 2.0);
    let dec_coef = (-1.0 / (p.decay_s * sr)).exp();
    let rel_coef = (-1.0 / ctx.samples(p.release_s, 2.0)).exp();
    let glide_coef = if p.glide_s > 0.0 {
        (-block_s / p.glide_s).exp()
    } else {
        0.0
    };
    let fenv_coef = (-block_s / p.env_tau_s).exp();
    let vel_coef = (-1.0 / ctx.samples(0.005, 1.0)).exp();

    let mut next = 0usize;
    let mut end = 0usize;
    let mut gate = false;
    let mut stage = Stage::Idle;
    let mut env = 0.0f64;
    let mut fenv = 0.0f64;
    let (mut pitch, mut target) = (60.0f64, 60.0f64);
    let (mut vel, mut vel_target) = (0.0f64, 0.0f64);
    let mut bright = 1.0f64;
    let mut age_s = 0.0f64;
    let mut vib_phase = 0.0f64;
    let (mut phase, mut inc) = (0u32, 0u32);
    let mut filt = Svf::new(p.cutoff_hz, p.q, sr);
    let mut saw_t = ctx.saw.table(100.0);
    let mut sq_t = ctx.square.table(100.0);
    let mut dirty = true;

    for (i, y) in out.iter_mut().enumerate() {
        while next < notes.len() && notes[next].start <= i {
            let nt = notes[next];
            next += 1;
            let sounding = stage != Stage::Idle;
            target = nt.midi;
            vel_target = nt.vel;
            bright = nt.bright;
            if !(nt.legato && gate) {
                // Retrigger from the current level (no jump, no click).
                stage = Stage::Attack;
                fenv = 1.0;
                age_s = 0.0;
                if !sounding {
                    vel = nt.vel;
                    pitch = target;
                    filt = Svf::new(p.cutoff_hz, p.q, sr);
                } else if p.glide_s <= 0.0 {
                    pitch = target;
                }
            }
            end = nt.end;
            gate = true;
            dirty = true;
        }
        if gate && i >= end {
            gate = false;
            stage = Stage::Release;
        }
        if stage == Stage::Idle {
            continue;
        }
        if dirty || i % CTRL == 0 {
            dirty = false;
            pitch = target + (pitch - target) * glide_coef;
            let mut vib = 0.0;
            if p.vibrato_cents > 0.0 {
                let depth = ((age_s - p.vibrato_delay_s) / 0.25).clamp(0.0, 1.0);
                vib = depth * p.vibrato_cents / 100.0 * (2.0 * PI * vib_phase).sin();
                vib_phase = (vib_phase + p.vibrato_hz * block_s).fract();
            }
            age_s += block_s;
            let f = midi_hz(pitch + vib);
            inc = phase_inc(f, sr);
            // Table for the highest pitch this stretch can reach, so that vibrato does not flip
            // between tables (a glide crosses each boundary at most once).
            let f_table = midi_hz(pitch.max(target) + p.vibrato_cents / 100.0);
            saw_t = ctx.saw.table(f_table);
            sq_t = ctx.square.table(f_table);
            let fc =
                p.cutoff_hz * bright * (f / 220.0).powf(p.key_track) * (1.0 + p.env_amount * fenv);
            filt.tune(fc, p.q, sr);
            fenv *= fenv_coef;
        }
        match stage {
            Stage::Attack => {
                env += att_inc;
                if env >= 1.0 {
                    env = 1.0;
                    stage = Stage::Decay;
                }
            }
            Stage::Decay => env = p.sustain + (env - p.sustain) * dec_coef,
            Stage::Release => {
                env *= rel_coef;
                if env < 1e-5 {
                    env = 0.0;
                    stage = Stage::Idle;
                }
            }
            Stage::Idle => {}
        }
        vel = vel_target + (vel - vel_target) * vel_coef;
        phase = phase.wrapping_add(inc);
        let mut x = 0.0f32;
        if p.saw != 0.0 {
            x += p.saw * lookup(saw_t, phase);
        }
        if p.square != 0.0 {
            x += p.square * lookup(sq_t, phase);
        }
        if p.sine != 0.0 {
            x += p.sine * lookup(&ctx.sine, phase);
        }
        *y = (filt.low(x as f64) * env * vel) as f32;
    }
}

/// Bass: the chord roots, with a pattern per section and approach notes into chord changes.
fn bass_line(arr: &Arrangement, rng: &mut Rng) -> Vec<MonoNote> {
    // Roots of Am, F, C, G (A2, F2, C3, G2) and the diatonic note just below each.
    const ROOT: [f64; 4] = [45.0, 41.0, 48.0, 43.0];
    const BELOW: [f64; 4] = [43.0, 40.0, 47.0, 41.0];
    let eighth = 0.5;
    let mut notes = Vec::new();
    for bar in 0..arr.bars() {
        let bar_beat = bar as f64 * 4.0;
        let part = arr.part(bar_beat);
        // (start eighth, length in eighths, interval, velocity)
        let pattern: Vec<(usize, usize, f64, f64)> = match part {
            Part::Intro => Vec::new(),
            Part::Verse => {
                if rng.uniform() < 0.5 {
                    vec![
                        (0, 3, 0.0, 0.9),
                        (3, 1, 0.0, 0.7),
                        (4, 2, 0.0, 0.8),
                        (6, 2, 0.0, 0.75),
                    ]
                } else {
                    vec![
                        (0, 2, 0.0, 0.9),
                        (2, 1, 0.0, 0.65),
                        (3, 3, 0.0, 0.8),
                        (6, 1, 12.0, 0.7),
                        (7, 1, 0.0, 0.7),
                    ]
                }
            }
            Part::Chorus => (0..8)
                .map(|e| {
                    let iv = match e {
                        2 | 6 => 12.0,
                        5 if rng.uniform() < 0.5 => 7.0,
                        _ => 0.0,
                    };
                    let v = if e % 2 == 0 { 1.0 } else { 0.8 };
                    (e, 1, iv, v)
                })
                .collect(),
            Part::Outro => vec![(0, 8, 0.0, 0.8)],
        };
        let approach = matches!(part, Part::Verse | Part::Chorus) && rng.uniform() < 0.45;
        for &(e, len, iv, v) in &pattern {
            let beat = bar_beat + e as f64 * eighth;
            if beat >= arr.total_beats || arr.part(beat) != part {
                continue;
            }
            let chord = arr.chord_at(beat);
            let mut midi = ROOT[chord] + iv;
            let last = e + len == 8;
            if last && approach && len == 1 {
                let next_chord = arr.chord_at(bar_beat + 4.0);
                if next_chord != chord {
                    midi = BELOW[next_chord];
                }
            }
            let gate = if len >= 4 { 0.95 } else { 0.8 };
            let jitter = rng.bipolar() * 0.002;
            let start = arr.sample_at(beat, jitter);
            let stop = arr.sample_at(beat + len as f64 * eighth * gate, jitter);
            if start < arr.frames {
                notes.push(MonoNote {
                    start,
                    end: stop.max(start + 1),
                    midi,
                    vel: v * if part == Part::Chorus { 1.0 } else { 0.85 },
                    bright: if part == Part::Chorus { 1.3 } else { 1.0 },
                    legato: false,
                });
            }
        }
    }
    notes
}

/// A minor scale degrees (semitones above A).
const SCALE: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];
/// Chord tones of Am, F, C, G as scale degrees (mod 7).
const CHORD_TONES: [[i32; 3]; 4] = [[0, 2, 4], [5, 0, 2], [2, 4, 6], [6, 1, 3]];

/// MIDI note of scale degree `d` counted from A3.
fn degree_midi(d: i32) -> f64 {
    (57 + 12 * d.div_euclid(7) + SCALE[d.rem_euclid(7) as usize]) as f64
}

fn nearest_chord_tone(d: i32, chord: usize, rng: &mut Rng) -> i32 {
    let is_tone = |c: i32| CHORD_TONES[chord].contains(&c.rem_euclid(7));
    let mut best = d;
    let mut best_dist = i32::MAX;
    // Random direction for ties.
    let sign = if rng.uniform() < 0.5 { 1 } else { -1 };
    for off in 0..=3 {
        for c in [d + sign * off, d - sign * off] {
            if is_tone(c) && (c - d).abs() < best_dist {
                best = c;
                best_dist = (c - d).abs();
            }
        }
    }
    best
}

fn reflect(d: i32, lo: i32, hi: i32) -> i32 {
    if d < lo {
        (2 * lo - d).min(hi)
    } else if d > hi {
        (2 * hi - d).max(lo)
    } else {
        d
    }
}

/// The lead melody: two-bar phrases (one-bar when a section is short) of scale steps with
/// chord tones on the beats, a rest at the end of each phrase, some notes tied legato.
fn melody(arr: &Arrangement, rng: &mut Rng) -> Vec<MonoNote> {
    let mut notes: Vec<MonoNote> = Vec::new();
    let mut d = 9i32;
    let eighth = 0.5;
    let mut bar = 0usize;
    while bar < arr.bars() {
        let bar_beat = bar as f64 * 4.0;
        let part = arr.part(bar_beat);
        let (p_start, p_end) = arr.part_bounds(part);
        let first_phrase = bar_beat < p_start + 4.0;
        if part == Part::Intro || (part == Part::Outro && !first_phrase) {
            bar += 1;
            continue;
        }
        let bars_left = ((p_end - bar_beat) / 4.0).ceil() as usize;
        let phrase_bars = bars_left.clamp(1, 2);
        let slots = phrase_bars * 8;
        let rest = if phrase_bars == 2 {
            2 + (rng.uniform() < 0.5) as usize
        } else {
            2
        };
        let stop = slots - rest;
        let (lo, hi, lengths, rest_p, legato_p, vel, bright): (
            i32,
            i32,
            &[usize],
            f64,
            f64,
            f64,
            f64,
        ) = match part {
            Part::Chorus => (7, 14, &[1, 1, 2, 2, 2, 3], 0.05, 0.6, 1.0, 1.6),
            Part::Outro => (4, 11, &[2, 2, 3, 4], 0.1, 0.5, 0.75, 0.9),
            _ => (4, 11, &[1, 2, 2, 3, 4], 0.15, 0.45, 0.8, 1.0),
        };
        d = reflect(d, lo, hi);
        let mut pos = (rng.uniform() < 0.3) as usize;
        let mut prev: Option<usize> = None;
        while pos < stop {
            if pos > 0 && rng.uniform() < rest_p {
                pos += 1;
                prev = None;
                continue;
            }
            let mut len = lengths[(rng.uniform() * lengths.len() as f64) as usize];
            if pos + len > stop || stop - (pos + len) == 1 && rng.uniform() < 0.7 {
                len = stop - pos;
            }
            let last = pos + len >= stop;
            let beat = bar_beat + pos as f64 * eighth;
            if beat >= arr.total_beats {
                break;
            }
            let chord = arr.chord_at(beat);
            d = if part == Part::Outro && last {
                7
            } else if pos % 2 == 0 || last {
                let step = (rng.uniform() * 5.0) as i32 - 2;
                reflect(nearest_chord_tone(d + step, chord, rng), lo, hi)
            } else {
                const STEPS: [i32; 6] = [-2, -1, -1, 1, 1, 2];
                reflect(d + STEPS[(rng.uniform() * 6.0) as usize], lo, hi)
            };
            let jitter = rng.bipolar() * 0.004;
            let start = arr.sample_at(beat, jitter);
            if start >= arr.frames {
                break;
            }
            let legato = prev.is_some() && rng.uniform() < legato_p;
            if let Some(pi) = prev {
                let pn = &mut notes[pi];
                pn.end = if legato {
                    start
                } else {
                    pn.start + ((start - pn.start) as f64 * 0.85) as usize
                };
            }
            let accent = if pos % 4 == 0 { 0.1 } else { 0.0 };
            notes.push(MonoNote {
                start,
                end: arr.sample_at(beat + len as f64 * eighth * 0.92, jitter),
                midi: degree_midi(d),
                vel: (vel * (0.9 + accent + 0.05 * rng.bipolar())).min(1.0),
                bright,
                legato,
            });
            prev = Some(notes.len() - 1);
            pos += len;
        }
        bar += phrase_bars;
    }
    notes
}

// ---------------------------------------------------------------------------------------------
// Pad

/// The chords: two detuned band-limited saws per note spread across the stereo field, slow
/// attack and release, through a low-pass whose cutoff follows the sections (opening through
/// the intro, brightest in the chorus, closing in the outro).
fn render_pad(out: &mut [Vec<f32>; 2], ctx: &Ctx, rng: &mut Rng) {
    const VOICING: [[f64; 3]; 4] = [
        [57.0, 60.0, 64.0],
        [57.0, 60.0, 65.0],
        [55.0, 60.0, 64.0],
        [55.0, 59.0, 62.0],
    ];
    let arr = &ctx.arr;
    let sr = ctx.sr;
    for bar in 0..arr.bars() {
        let beat = bar as f64 * 4.0;
        let part = arr.part(beat);
        let chord = arr.chord_at(beat);
        let vel = match part {
            Part::Intro => 0.55,
            Part::Verse => 0.5,
            Part::Chorus => 0.75,
            Part::Outro => 0.65,
        };
        let start = arr.sample_at(beat, 0.0);
        let gate = arr.sample_at((beat + 4.0).min(arr.total_beats), 0.0) - start;
        let top = VOICING[chord][2] + 12.0;
        let extra = (part == Part::Chorus).then_some((top, 0.6));
        let notes = VOICING[chord].map(|m| (m, 1.0)).into_iter().chain(extra);
        render_pad_chord(out, start, gate, notes, vel, ctx, rng);
    }
    // Section-following low-pass, smoothed.
    const CTRL: usize = 32;
    let smooth = (-(CTRL as f64) / (0.3 * sr)).exp();
    let mut fl = Svf::new(500.0, 0.75, sr);
    let mut fr = fl;
    let mut log_fc = 500f64.ln();
    let n = out[0].len();
    let [l, r] = out;
    let mut i = 0;
    while i < n {
        let beat = i as f64 / sr / arr.beat_s;
        let part = arr.part(beat);
        let (a, b) = arr.part_bounds(part);
        let x = ((beat - a) / (b - a).max(1e-9)).clamp(0.0, 1.0);
        let target: f64 = match part {
            Part::Intro => 450.0 * (1400.0f64 / 450.0).powf(x),
            Part::Verse => 1500.0,
            Part::Chorus => 2600.0,
            Part::Outro => 1300.0 * (700.0f64 / 1300.0).powf(x),
        };
        log_fc = target.ln() + (log_fc - target.ln()) * smooth;
        let end = (i + CTRL).min(n);
        fl.tune(log_fc.exp(), 0.75, sr);
        fr.tune(log_fc.exp(), 0.75, sr);
        // Both sides in one loop: two independent dependency chains.
        for (yl, yr) in l[i..end].iter_mut().zip(&mut r[i..end]) {
            *yl = fl.low(*yl as f64) as f32;
            *yr = fr.low(*yr as f64) as f32;
        }
        i = end;
    }
}

/// One chord of the pad: every note is two saws detuned ±7 cents, one left-heavy, one right-heavy;
/// all notes share one envelope (smooth attack, held to `gate`, smooth release after it).
fn render_pad_chord(
    out: &mut [Vec<f32>; 2],
    start: usize,
    gate: usize,
    notes: impl Iterator<Item = (f64, f64)>,
    vel: f64,
    ctx: &Ctx,
    rng: &mut Rng,
) {
    const MAX_OSC: usize = 8;
    const GAINS: [(f32, f32); 2] = [(1.0, 0.3), (0.3, 1.0)];
    let sr = ctx.sr;
    let n = out[0].len();
    let attack = ctx.samples(0.35, 2.0);
    let release = ctx.samples(0.5, 2.0);
    let total = (gate + release as usize).min(n.saturating_sub(start));
    if total == 0 {
        return;
    }
    // (phase, increment, table, left gain, right gain)
    let mut osc: [(u32, u32, &Table, f32, f32); MAX_OSC] = [(0, 0, &ctx.sine, 0.0, 0.0); MAX_OSC];
    let mut count = 0;
    for (midi, level) in notes {
        let f0 = midi_hz(midi);
        let spread = rng.bipolar() * 1.5;
        for (cents, (gl, gr)) in [-7.0 + spread, 7.0 + spread].into_iter().zip(GAINS) {
            if count == MAX_OSC {
                break;
            }
            let f = f0 * (cents / 1200.0).exp2();
            let g = level as f32;
            osc[count] = (
                (rng.uniform() * 4_294_967_296.0) as u32,
                phase_inc(f, sr),
                ctx.saw.table(f),
                g * gl,
                g * gr,
            );
            count += 1;
        }
    }
    let osc = &mut osc[..count];
    let (inv_attack, inv_release) = (1.0 / attack, 1.0 / release);
    let gate_f = gate as f64;
    // Level reached at gate time; the release starts from there.
    let held = smoothstep(gate_f * inv_attack);
    let [l, r] = out;
    // Oscillator by oscillator over short blocks: no long serial chain of additions per sample.
    const BLOCK: usize = 64;
    let (mut bl, mut br) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let mut t0 = 0;
    while t0 < total {
        let m = (total - t0).min(BLOCK);
        bl[..m].fill(0.0);
        br[..m].fill(0.0);
        for (phase, inc, table, gl, gr) in osc.iter_mut() {
            let (inc, gl, gr) = (*inc, *gl, *gr);
            let mut p = *phase;
            for (yl, yr) in bl[..m].iter_mut().zip(&mut br[..m]) {
                p = p.wrapping_add(inc);
                let s = lookup(table, p);
                *yl += gl * s;
                *yr += gr * s;
            }
            *phase = p;
        }
        let range = start + t0..start + t0 + m;
        let dst = l[range.clone()].iter_mut().zip(&mut r[range]);
        for (j, ((yl, yr), (sl, sr_))) in dst.zip(bl.iter().zip(&br)).enumerate() {
            let t = (t0 + j) as f64;
            let env = if t < gate_f {
                smoothstep(t * inv_attack)
            } else {
                held * (1.0 - smoothstep((t - gate_f) * inv_release))
            } * vel;
            let e = env as f32;
            *yl += e * sl;
            *yr += e * sr_;
        }
        t0 += m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(x: f64) -> f64 {
        20.0 * x.max(1e-12).log10()
    }

    fn rms(buf: &AudioBuffer, a: usize, b: usize) -> f64 {
        let mut sum = 0.0f64;
        let mut count = 0usize;
        for ch in &buf.channels {
            for &s in &ch[a..b] {
                sum += (s as f64) * (s as f64);
                count += 1;
            }
        }
        (sum / count.max(1) as f64).sqrt()
    }

    /// Fraction of the spectral energy (Hann-windowed DFT frames of 2048, bins by Goertzel)
    /// below `split_hz`, over frames taken evenly from `[a, b)`.
    fn energy_below(x: &[f32], sr: f64, a: usize, b: usize, split_hz: f64) -> f64 {
        const N: usize = 2048;
        let win: Vec<f64> = (0..N)
            .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / N as f64).cos())
            .collect();
        let frames = 6;
        let (mut low, mut total) = (0.0f64, 0.0f64);
        for f in 0..frames {
            let s = a + (b - a - N) * f / (frames - 1);
            let frame: Vec<f64> = x[s..s + N]
                .iter()
                .zip(&win)
                .map(|(&v, w)| v as f64 * w)
                .collect();
            for k in 1..N / 2 {
                let coeff = 2.0 * (2.0 * PI * k as f64 / N as f64).cos();
                let (mut s1, mut s2) = (0.0f64, 0.0f64);
                for &v in &frame {
                    let s0 = v + coeff * s1 - s2;
                    s2 = s1;
                    s1 = s0;
                }
                let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
                total += p;
                if (k as f64) * sr / (N as f64) < split_hz {
                    low += p;
                }
            }
        }
        low / total.max(1e-30)
    }

    fn section(song: &DemoSong, name: &str) -> (usize, usize) {
        let s = song.sections.iter().find(|s| s.name == name).unwrap();
        let sr = song.sample_rate as f64;
        ((s.start_s * sr) as usize, (s.end_s * sr) as usize)
    }

    fn stem<'a>(song: &'a DemoSong, name: &str) -> &'a AudioBuffer {
        &song.stems.iter().find(|s| s.name == name).unwrap().buffer
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = synth_song(44_100, 12.0, 7);
        let b = synth_song(44_100, 12.0, 7);
        let c = synth_song(44_100, 12.0, 8);
        assert_eq!(a, b);
        for (sa, sc) in a.stems.iter().zip(&c.stems) {
            assert_ne!(sa.buffer, sc.buffer, "stem {} ignores the seed", sa.name);
        }
        assert_eq!(a.rough_mix(), b.rough_mix());
    }

    #[test]
    fn lengths_names_and_channels() {
        for (sr, secs) in [(44_100u32, 30.0), (48_000, 21.37), (22_050, 0.5)] {
            let song = synth_song(sr, secs, 1);
            let n = (secs * sr as f64).round() as usize;
            let names: Vec<&str> = song.stems.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, ["kick", "snare", "hats", "bass", "chords", "lead"]);
            for s in &song.stems {
                assert_eq!(s.buffer.sample_rate, sr);
                assert_eq!(s.buffer.frames(), n, "{} at {sr} Hz", s.name);
                assert!((1..=2).contains(&s.buffer.num_channels()));
            }
            let mix = song.rough_mix();
            assert_eq!((mix.num_channels(), mix.frames()), (2, n));
        }
        let empty = synth_song(44_100, 0.0, 1);
        assert!(empty.stems.iter().all(|s| s.buffer.frames() == 0));
        assert_eq!(empty.rough_mix().frames(), 0);
        assert_eq!(synth_song(44_100, f64::NAN, 1).frames(), 0);
    }

    #[test]
    fn structure_of_the_default_song() {
        let song = synth_song(44_100, DEMO_SECONDS, 1);
        let names: Vec<&str> = song.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["intro", "verse", "chorus", "outro"]);
        let bar = 4.0 * 60.0 / DEMO_TEMPO_BPM;
        let bars: Vec<f64> = song
            .sections
            .iter()
            .map(|s| (s.end_s - s.start_s) / bar)
            .collect();
        for (got, want) in bars.iter().zip([2.0, 4.0, 4.0, 4.0]) {
            assert!((got - want).abs() < 1e-6, "{bars:?}");
        }
    }

    #[test]
    fn stems_at_recording_level_and_mix_has_headroom() {
        let song = synth_song(44_100, DEMO_SECONDS, 3);
        for s in &song.stems {
            assert_eq!(s.buffer.non_finite().0, 0, "{}", s.name);
            let peak = db(s.buffer.sample_peak() as f64);
            assert!(
                (-12.0..=-1.0).contains(&peak),
                "{} peaks at {peak:.1} dBFS",
                s.name
            );
            for ch in &s.buffer.channels {
                assert!(
                    ch[0].abs() < 1e-3 && ch[ch.len() - 1].abs() < 1e-3,
                    "{}",
                    s.name
                );
            }
        }
        let mix = song.rough_mix();
        assert_eq!(mix.non_finite().0, 0);
        let peak = db(mix.sample_peak() as f64);
        assert!(peak < -3.0 && peak > -9.0, "mix peak {peak:.2} dBFS");
    }

    #[test]
    fn rough_mix_loudness_and_dynamics() {
        let song = synth_song(44_100, DEMO_SECONDS, 5);
        let mix = song.rough_mix();
        let mut m =
            ebur128::EbuR128::new(2, 44_100, ebur128::Mode::I | ebur128::Mode::LRA).unwrap();
        m.add_frames_planar_f32(&[&mix.channels[0], &mix.channels[1]])
            .unwrap();
        let lufs = m.loudness_global().unwrap();
        let lra = m.loudness_range().unwrap();
        assert!((-26.0..=-18.0).contains(&lufs), "integrated {lufs:.1} LUFS");
        assert!(lra >= 3.0, "loudness range {lra:.1} LU");
    }

    #[test]
    fn chorus_is_louder_than_intro() {
        for seed in [1, 2] {
            let song = synth_song(44_100, DEMO_SECONDS, seed);
            let mix = song.rough_mix();
            let window = |(a, b): (usize, usize)| {
                let m = (b - a) / 10;
                rms(&mix, a + m, b - m)
            };
            let intro = window(section(&song, "intro"));
            let chorus = window(section(&song, "chorus"));
            let diff = db(chorus) - db(intro);
            assert!(diff >= 3.0, "chorus only {diff:.1} dB above the intro");
        }
    }

    #[test]
    fn bass_is_low_and_hats_are_high() {
        let song = synth_song(44_100, DEMO_SECONDS, 4);
        let (a, b) = section(&song, "chorus");
        let bass = energy_below(&stem(&song, "bass").channels[0], 44_100.0, a, b, 300.0);
        assert!(bass > 0.8, "bass: only {:.0}% below 300 Hz", bass * 100.0);
        let hats = energy_below(&stem(&song, "hats").channels[0], 44_100.0, a, b, 5000.0);
        assert!(hats < 0.2, "hats: {:.0}% below 5 kHz", hats * 100.0);
    }

    #[test]
    fn extreme_sample_rates() {
        for sr in [8_000u32, 96_000, 192_000] {
            let song = synth_song(sr, 20.0, 9);
            for s in &song.stems {
                assert_eq!(s.buffer.non_finite().0, 0, "{} at {sr} Hz", s.name);
                let peak = db(s.buffer.sample_peak() as f64);
                assert!(
                    (-12.0..=-1.0).contains(&peak),
                    "{} at {sr}: {peak:.1}",
                    s.name
                );
            }
            let mix = song.rough_mix();
            assert_eq!(mix.non_finite().0, 0);
            assert!(mix.sample_peak() < 0.71);
        }
    }

    #[test]
    fn tables_are_band_limited() {
        // The table used for a fundamental holds no harmonic above 0.45·fs.
        for sr in [8_000.0, 44_100.0, 192_000.0] {
            let wt = Wavetable::new(Shape::Saw, sr);
            for f in [30.0, 110.0, 440.0, 1000.0, 3000.0] {
                if f >= 0.45 * sr {
                    continue;
                }
                let t = wt.table(f);
                // Highest harmonic present: project onto sines of increasing order.
                let max_h = (1..TLEN / 2)
                    .rev()
                    .find(|&k| {
                        let c: f64 = (0..TLEN)
                            .map(|i| t[i] as f64 * (2.0 * PI * (k * i) as f64 / TLEN as f64).sin())
                            .sum();
                        c.abs() / TLEN as f64 > 1e-5
                    })
                    .unwrap();
                assert!(
                    max_h as f64 * f <= 0.45 * sr + 1e-6,
                    "sr {sr} f {f}: h{max_h}"
                );
            }
        }
    }

    #[test]
    #[ignore = "timing: run alone in an optimised build (e.g. under `perf stat`)"]
    fn synth_ten_default_songs() {
        for seed in 0..10 {
            std::hint::black_box(synth_song(44_100, DEMO_SECONDS, seed));
        }
    }

    #[test]
    #[ignore = "prints measurements; run with --ignored --nocapture"]
    fn print_demo_stats() {
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            std::hint::black_box(synth_song(44_100, DEMO_SECONDS, 1));
            best = best.min(t.elapsed());
        }
        let song = synth_song(44_100, DEMO_SECONDS, 1);
        println!("synth 30 s @ 44.1 kHz: {best:?} (best of 5)");
        for s in &song.sections {
            println!("{:7} {:6.2} – {:6.2} s", s.name, s.start_s, s.end_s);
        }
        for s in &song.stems {
            println!(
                "{:7} peak {:6.2} dBFS",
                s.name,
                db(s.buffer.sample_peak() as f64)
            );
        }
        let mix = song.rough_mix();
        let mut m =
            ebur128::EbuR128::new(2, 44_100, ebur128::Mode::I | ebur128::Mode::LRA).unwrap();
        m.add_frames_planar_f32(&[&mix.channels[0], &mix.channels[1]])
            .unwrap();
        println!(
            "mix peak {:.2} dBFS, {:.1} LUFS, LRA {:.1} LU",
            db(mix.sample_peak() as f64),
            m.loudness_global().unwrap(),
            m.loudness_range().unwrap()
        );
        for st in &song.stems {
            let solo = DemoSong {
                stems: vec![st.clone()],
                ..song.clone()
            };
            let mut x = solo.home_mix_sum();
            x.apply_gain(0.501 / song.home_mix_sum().sample_peak());
            let mut m = ebur128::EbuR128::new(2, 44_100, ebur128::Mode::I).unwrap();
            m.add_frames_planar_f32(&[&x.channels[0], &x.channels[1]])
                .unwrap();
            println!(
                "{:7} alone at mix gain: {:.1} LUFS",
                st.name,
                m.loudness_global().unwrap()
            );
        }
        for name in ["intro", "verse", "chorus", "outro"] {
            let (a, b) = section(&song, name);
            println!("{name:7} rms {:6.1} dBFS", db(rms(&mix, a, b)));
        }
        let (a, b) = section(&song, "chorus");
        println!(
            "chorus: bass {:.1}% below 300 Hz, hats {:.1}% above 5 kHz",
            100.0 * energy_below(&stem(&song, "bass").channels[0], 44_100.0, a, b, 300.0),
            100.0 * (1.0 - energy_below(&stem(&song, "hats").channels[0], 44_100.0, a, b, 5000.0))
        );
        for sr in [8_000u32, 96_000] {
            let song = synth_song(sr, DEMO_SECONDS, 1);
            let peaks: Vec<String> = song
                .stems
                .iter()
                .map(|s| format!("{} {:.1}", s.name, db(s.buffer.sample_peak() as f64)))
                .collect();
            println!(
                "{sr} Hz: {}; mix {:.1}",
                peaks.join(", "),
                db(song.rough_mix().sample_peak() as f64)
            );
        }
        for seed in 1..=8u64 {
            let song = synth_song(44_100, DEMO_SECONDS, seed);
            let mix = song.rough_mix();
            let mut m =
                ebur128::EbuR128::new(2, 44_100, ebur128::Mode::I | ebur128::Mode::LRA).unwrap();
            m.add_frames_planar_f32(&[&mix.channels[0], &mix.channels[1]])
                .unwrap();
            let (a, b) = section(&song, "intro");
            let (c, d) = section(&song, "chorus");
            println!(
                "seed {seed}: {:.1} LUFS, LRA {:.1}, chorus-intro {:.1} dB",
                m.loudness_global().unwrap(),
                m.loudness_range().unwrap(),
                db(rms(&mix, c, d)) - db(rms(&mix, a, b))
            );
        }
    }
}
