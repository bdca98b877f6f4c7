//! The file checks against planted mistakes: `plant_corpus [CORPUS_DIR]`.
//!
//! The bases are the music masters of the corpus (default `../shared/corpus`, run from the
//! workspace root: `CORPUS/masters/*.flac`, speech and anything under 10 s left out) and every
//! `CORPUS/multitrack/*/mix.flac`. Each base is diagnosed as it is, judged as a master and as a
//! mix (the baseline). Then one mistake at a time is planted in it at two clearly different
//! strengths (clipping, a clipped burst in one section, inter-sample overs, heavy limiting, no
//! headroom, too quiet, an EQ boost or cut in each tonal region, polarity, imbalance, width,
//! the low end out of phase, hiss, hum, clicks, DC offset, reverb) and the planted file is
//! diagnosed. A planting is FOUND when its rule is reported at warning or worse and was not
//! already at that severity in the baseline (or the baseline had it and the measured value
//! moved the planted way by a clear amount), and, for the rules with times, the reported
//! ranges cover the planted times (±50 ms; a section: the ranges overlap it).
//!
//! Strengths are chosen clearly past the checks' thresholds from each base's own figures where
//! the base decides it (an EQ boost lands its region's deviation 3 dB past the threshold, a
//! width boost its side level; a hiss planting counts only on a base with quiet passages, a
//! click only where it stands clearly out of the music around it): each planting prints what
//! it aims at. The recall per rule, the misses with their figures, and every new finding above
//! info that a planting did not aim at (side effects, listed, not counted) are printed; the
//! last line is `recall: found/planted`.
//!
//! `cargo run --release -p mixdown-core --example plant_corpus [CORPUS_DIR]`

use mixdown_core::analysis::percentile;
use mixdown_core::analysis::{self, Analysis};
use mixdown_core::diagnose::file::{tone_deviation, FileFacts, NO_BASS_PART_DB, TONE_RULES};
use mixdown_core::diagnose::noise::{
    CLICK_CLEAR_DB, CLICK_TOWER_DB, DC_PROBLEM_PERCENT, DC_WARNING_PERCENT, HISS_BELOW_MUSIC_DB,
    HISS_PROBLEM_DBFS, HISS_WARNING_DBFS, HUM_MASKED_DB, HUM_PROBLEM_DBFS, HUM_WARNING_DBFS,
};
use mixdown_core::diagnose::reverb::{add_decaying_noise_reverb, WASH_DECAY_S, WASH_TAIL_SHARE};
use mixdown_core::diagnose::{
    diagnose_file, Diagnosis, Finding, JudgeAs, Options, Severity, TimeRange,
};
use mixdown_core::dsp::biquad::{FilterChain, FilterKind};
use mixdown_core::dsp::limiter::{limit, LimiterParams};
use mixdown_core::dsp::loudness::Loudness;
use mixdown_core::dsp::rng::Rng;
use mixdown_core::io::decode::decode_file;
use mixdown_core::AudioBuffer;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DEFAULT_DIR: &str = "../shared/corpus";
/// Slack around a planted instant, s.
const SLACK_S: f64 = 0.05;
/// A sample at least this close to full scale is clipped (as `file.rs`).
const FULL_SCALE: f32 = 0.99997;
/// Consecutive full-scale samples that make a clipped run (as `file.rs`).
const CLIP_RUN: usize = 3;
/// The largest EQ gain planted, dB.
const MAX_EQ_DB: f64 = 48.0;
/// The clipping finding lists at most this many ranges (as `file.rs`).
const CLIP_MAX_RANGES: usize = 20;

// The file checks' thresholds (private constants of `diagnose/file.rs`), for choosing and
// stating strengths; the findings carry the thresholds they crossed.
/// PLR below which a master is over-compressed (warning, problem), dB.
const PLR_WARN: f64 = 8.0;
const PLR_PROBLEM: f64 = 6.0;
/// A mix this loud is "mastered loud", LUFS.
const MIX_LOUD_LUFS: f64 = -14.0;
/// Stereo: correlation under 0 (problem -0.3); mono loss from 4.5 LU (problem 8); low-end
/// correlation under 0.5 (problem 0); imbalance from 3 dB (problem 6); side to mid over -3 dB
/// (problem 0).
const MONO_LOSS_WARN: f64 = 4.5;
const LOW_CORR_WARN: f64 = 0.5;
const WIDE_WARN: f64 = -3.0;
const WIDE_PROBLEM: f64 = 0.0;

/// Which way a planting moves the measured value.
#[derive(Clone, Copy, Debug)]
enum Dir {
    Up,
    Down,
    /// Its magnitude up (a signed balance).
    UpAbs,
}

/// Where the planted mistake is, and what the finding's times must show.
#[derive(Clone, Debug)]
enum Times {
    /// The whole song (no time check).
    Whole,
    /// Every instant covered by a range (±[`SLACK_S`]).
    Cover(Vec<f64>),
    /// Clipped runs all over the song: each covered, up to the end of the last range listed
    /// when the list is full ([`CLIP_MAX_RANGES`]); each range holds a run.
    Runs(Vec<f64>),
    /// Clipped runs in one section: each covered, and no range away from the section.
    Section {
        start: f64,
        end: f64,
        runs: Vec<f64>,
    },
    /// Some range overlaps one of these passages.
    Overlap(Vec<(f64, f64)>),
}

/// One rule a planting aims at.
#[derive(Clone, Debug)]
struct Expect {
    rule: &'static str,
    dir: Dir,
    /// A move of the measured value this large counts when the baseline already had the rule
    /// at the planted severity.
    clear_move: f64,
    times: Times,
    /// What the planting aims at, in words and figures.
    aim: String,
    /// `Err(why)`: not a clear planting on this base (not counted).
    eligible: Result<(), String>,
}

impl Expect {
    fn new(rule: &'static str, dir: Dir, clear_move: f64, aim: impl Into<String>) -> Self {
        Expect {
            rule,
            dir,
            clear_move,
            times: Times::Whole,
            aim: aim.into(),
            eligible: Ok(()),
        }
    }

    fn times(mut self, t: Times) -> Self {
        self.times = t;
        self
    }

    fn only_if(mut self, ok: bool, why: impl Into<String>) -> Self {
        if !ok && self.eligible.is_ok() {
            self.eligible = Err(why.into());
        }
        self
    }
}

/// One planted file and what it should be found with, per judgement.
struct Planting {
    label: String,
    buf: AudioBuffer,
    checks: Vec<(JudgeAs, Vec<Expect>)>,
}

/// A base song and its baseline.
struct Base {
    name: String,
    buf: AudioBuffer,
    an: Analysis,
    master: Diagnosis,
    mix: Diagnosis,
    /// Channel-mean power of each ~46 ms frame (as the noise checks frame it), dBFS; `None`
    /// for digital silence.
    frames_db: Vec<Option<f64>>,
    frame: usize,
}

impl Base {
    fn baseline(&self, judge: JudgeAs) -> &Diagnosis {
        match judge {
            JudgeAs::Master => &self.master,
            JudgeAs::Mix => &self.mix,
        }
    }

    fn sr(&self) -> f64 {
        f64::from(self.buf.sample_rate)
    }

    fn dur(&self) -> f64 {
        self.buf.duration_s()
    }
}

/// The result of one expected rule on one planting.
#[derive(Clone, Debug)]
struct Outcome {
    base: String,
    planting: String,
    judge: JudgeAs,
    rule: &'static str,
    aim: String,
    /// None: not counted (why in `detail`).
    found: Option<bool>,
    detail: String,
}

fn main() {
    let t0 = Instant::now();
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let (mut files, skipped) = base_files(&dir);
    // PLANT_ONLY=name: only the bases whose name contains it (a quicker look at one song)
    if let Ok(only) = std::env::var("PLANT_ONLY") {
        files.retain(|(name, _)| name.contains(&only));
    }
    println!(
        "plant_corpus: the file checks against planted mistakes ({})",
        dir.display()
    );
    for s in &skipped {
        println!("   skipped: {s}");
    }
    print_plan();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut side: BTreeMap<String, Vec<Side>> = BTreeMap::new();
    for (name, path) in &files {
        let t = Instant::now();
        let Some(base) = load_base(name, path) else {
            continue;
        };
        println!(
            "\n== {name}: {:.1} s, {:.1} LUFS, true peak {:+.2} dBTP, PLR {:.1} dB, correlation {:+.2}, side/mid {:.1} dB",
            base.dur(),
            base.an.loudness.integrated_lufs.unwrap_or(f64::NAN),
            base.an.true_peak_dbtp.unwrap_or(f64::NAN),
            base.an.plr_db.unwrap_or(f64::NAN),
            base.an
                .stereo
                .as_ref()
                .and_then(|s| s.correlation)
                .unwrap_or(f64::NAN),
            base.an
                .stereo
                .as_ref()
                .and_then(|s| s.side_to_mid_db)
                .unwrap_or(f64::NAN),
        );
        for (j, d) in [("master", &base.master), ("mix", &base.mix)] {
            let above: Vec<String> = d
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(short)
                .collect();
            println!("   baseline as {j}: {above:?}");
        }
        let r = &base.master.reverb;
        println!(
            "   baseline reverb: decay {:?} s, transient decay {:?} s ({} transient), tail share {:?}, {} decays, gaps {:?} dB, attacks {:?} dB, per band {:?}",
            r.decay_s, r.transient_decay_s, r.transient_decays, r.tail_share, r.decays, r.gap_depth_db, r.attack_db,
            r.gap_bands.iter().map(|g| g.depth_db).collect::<Vec<_>>()
        );
        let kinds = plan(&base);
        let results: Vec<(Vec<Outcome>, Vec<Side>)> =
            kinds.par_iter().map(|k| run_planting(&base, k)).collect();
        for (outs, sides) in results {
            for o in &outs {
                let mark = match o.found {
                    Some(true) => "FOUND ",
                    Some(false) => "MISSED",
                    None => "n/a   ",
                };
                println!(
                    "   {mark} {:<28} {:<30} [{}] aim: {}; {}",
                    o.rule,
                    o.planting,
                    o.judge.name(),
                    o.aim,
                    o.detail
                );
            }
            for (r, w) in &sides {
                println!("      side effect: {r}: {w}");
            }
            if !sides.is_empty() {
                side.entry(name.clone()).or_default().extend(sides);
            }
            outcomes.extend(outs);
        }
        println!("   [{:.1} s]", t.elapsed().as_secs_f64());
    }
    summary(&outcomes, &side);
    println!("({:.0} s in all)", t0.elapsed().as_secs_f64());
}

/// The base files (name, path) and what was left out, with why.
fn base_files(dir: &Path) -> (Vec<(String, PathBuf)>, Vec<String>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut masters: Vec<PathBuf> = std::fs::read_dir(dir.join("masters"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    masters.retain(|p| p.extension().is_some_and(|e| e == "flac"));
    masters.sort();
    for p in masters {
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        if stem.starts_with("speech_") {
            skipped.push(format!("masters/{stem}.flac (speech, not music)"));
            continue;
        }
        files.push((stem, p));
    }
    let mut songs: Vec<PathBuf> = std::fs::read_dir(dir.join("multitrack"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    songs.retain(|p| p.join("mix.flac").exists());
    songs.sort();
    for s in songs {
        let name = format!("{}/mix", s.file_name().unwrap().to_string_lossy());
        files.push((name, s.join("mix.flac")));
    }
    // under 10 s: decoded once here to know
    files.retain(|(name, p)| match decode_file(p) {
        Ok((b, _)) if b.duration_s() >= 10.0 => true,
        Ok((b, _)) => {
            skipped.push(format!("{name} ({:.1} s: under 10 s)", b.duration_s()));
            false
        }
        Err(e) => {
            skipped.push(format!("{name} (cannot decode: {e})"));
            false
        }
    });
    (files, skipped)
}

fn load_base(name: &str, path: &Path) -> Option<Base> {
    let (buf, _) = decode_file(path).ok()?;
    let an = analysis::analyse(&buf);
    let diag = |j| {
        diagnose_file(
            &buf,
            name,
            &Options {
                judge: Some(j),
                translate: false,
            },
        )
    };
    let (master, mix) = rayon::join(|| diag(JudgeAs::Master), || diag(JudgeAs::Mix));
    let frame = ((buf.sample_rate as f64 * 0.04).round() as usize)
        .next_power_of_two()
        .max(64);
    let frames_db = frame_levels(&buf, frame);
    Some(Base {
        name: name.to_string(),
        buf,
        an,
        master,
        mix,
        frames_db,
        frame,
    })
}

/// Channel-mean power of each whole frame, dBFS (`None`: more than 10 % exact zeros).
fn frame_levels(buf: &AudioBuffer, frame: usize) -> Vec<Option<f64>> {
    let n = buf.frames() / frame;
    (0..n)
        .map(|i| {
            let (mut p, mut zeros) = (0.0f64, 0usize);
            for c in &buf.channels {
                for &v in &c[i * frame..(i + 1) * frame] {
                    p += f64::from(v) * f64::from(v);
                    zeros += usize::from(v == 0.0);
                }
            }
            let nch = buf.num_channels().max(1);
            if zeros * 10 > frame * nch {
                None
            } else {
                Some(10.0 * (p / (frame * nch) as f64).max(1e-30).log10())
            }
        })
        .collect()
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-30).log10()
}

fn lin(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn short(f: &Finding) -> String {
    format!("{}:{} {}", f.rule, f.severity.name(), f.measured)
}

fn print_plan() {
    println!(
        "\nPlantings (one at a time; strengths chosen clearly past the thresholds of the checks):
   clipping            gain so the peaks go +3 / +8 dB over full scale, hard clip at ±1 (times: every clipped run)
                       and a burst: one 2 s section (from 40 % of the song) driven +6 / +12 dB over full scale, clipped
                       (times: its runs covered, no range away from the section); rule: >= 1 run warning, >= 10 problem
   true_peak.over      song at -6 dBFS peak, a 10 ms tone at fs/4 (phase 22.5 / 45 deg: +0.7 / +3.0 dB between the
                       samples) where the song is quietest, the whole normalised to -0.05 dBFS sample peak
                       (times: the tone); rule: warning over 0 dBTP, problem from +1
   dynamics            the song through mixdown's limiter (1.5 ms look-ahead, 5 ms hold, 40 ms release, -1 dBTP)
                       driven to a PLR of 7 and 5 dB (or 1.5 / 3 dB under the base's own); as a master:
                       over_compressed (PLR < {PLR_WARN} warning, < {PLR_PROBLEM} problem), over_limited (>= 30 % of the
                       blocks at the ceiling, PLR < 9); as a mix: headroom.already_limited (>= 20 %, PLR < 12) and
                       headroom.mastered_loud (> {MIX_LOUD_LUFS} LUFS)
   headroom (as mix)   sample peak normalised to -0.1 dBFS (headroom.none: warning from -1, problem from -0.1 dBFS);
                       limited (ceiling -0.5 dBTP) to -12 LUFS (or 2 LU over the base) with -0.5 dBFS sample peak
                       (headroom.none, headroom.mastered_loud)
   loudness (as master) turned down to -24 / -30 LUFS (or 4 / 10 dB under the base): loudness.too_quiet (a music
                       platform plays it >= 5 dB quieter: warning, >= 10 problem)
   tonal               a broad EQ move over the region (low_end: low shelf 120 Hz; mud, boxy, harsh, sibilant: a
                       plateau of bells (Q 3) on every 1/3-octave band in the region; dull: a high shelf
                       7 kHz cut) of at least +12 / +18 dB (dull: -16 / -24 dB), more where the base needs it so
                       the region's deviation lands 3 dB past the warning / problem threshold (at most {MAX_EQ_DB} dB);
                       peak back to the original; the predicted deviation is printed
   stereo              right channel polarity inverted throughout / in 75 % of every second (10 ms ramps):
                       stereo.phase (correlation < 0 warning, <= -0.3 problem; counted where the prediction,
                       measured on the planted samples, is <= -0.1) and stereo.mono_compatibility (loss >= {MONO_LOSS_WARN} LU;
                       counted where the plain-energy loss of the planted file is >= 6 dB); the quieter channel turned down 5 / 8 dB
                       (stereo.imbalance: 3 / 6 dB); the side boosted at least +8 / +14 dB, more so side/mid lands
                       at -1 / +3 dB (stereo.too_wide: {WIDE_WARN} / {WIDE_PROBLEM} dB); the right channel's low end
                       (< 150 Hz, zero-phase 2nd-order low-pass twice) inverted in 35 % of every second / throughout
                       (stereo.low_end_not_mono: correlation < {LOW_CORR_WARN} warning, <= 0 problem; counted where the
                       planted low bands' correlation is <= 0.4 and 0.3 under the base's)
   noise               white hiss at -55 / -45 dBFS RMS (hiss: {HISS_WARNING_DBFS} warning, {HISS_PROBLEM_DBFS} problem;
                       counted only on bases with quiet passages: runs >= 0.5 s, >= 1 s in all, of frames
                       10 dB under the hiss, and the hiss >= {HISS_BELOW_MUSIC_DB} + 3 dB under the loud frames;
                       times: overlap those passages); 50 and 60 Hz hum, harmonics 1-6, at -50 / -40 dBFS
                       (hum: {HUM_WARNING_DBFS} warning, {HUM_PROBLEM_DBFS} problem; counted where it is not
                       {HUM_MASKED_DB} dB under the quiet frames, with 3 dB to spare); 8 clicks (3-sample spikes
                       of 0.3 / 0.6 peak, both channels) at known times (a click counts where it is >=
                       {CLICK_CLEAR_DB} + 3 dB over the music's RMS within ±20 ms and, just before a note
                       starts, {CLICK_TOWER_DB} + 3 dB over that note; every such time must be listed);
                       DC offset +-1.5 / 4 % of full scale, the base's own sign (dc: {DC_WARNING_PERCENT} / {DC_PROBLEM_PERCENT} %)
   reverb              the song convolved with decaying noise, T60 3 / 6 s, wet energy equal to the dry, peak
                       back to the original (reverb.excessive warning: transient decays >= {WASH_DECAY_S} s, tail
                       share >= {WASH_TAIL_SHARE})
   FOUND: the rule at warning or worse, not at that severity in the baseline (or moved the planted way by a clear
   amount), with the times as above; side effects: new findings above info a planting did not aim at."
    );
}

/// What to plant on a base.
#[derive(Clone, Debug)]
enum Kind {
    Clip(f64),
    Burst(f64),
    Overs(f64),
    Limit(f64),
    HeadroomPeak,
    HeadroomLoud,
    Quiet(f64),
    Tone(usize, bool),
    Polarity(f64),
    Imbalance(f64),
    Wide(bool),
    LowPhase(f64),
    Hiss(f64),
    Hum(f64, f64),
    Clicks(f64),
    Dc(f64),
    Reverb(f64),
}

fn plan(_base: &Base) -> Vec<Kind> {
    let mut k = vec![
        Kind::Clip(3.0),
        Kind::Clip(8.0),
        Kind::Burst(6.0),
        Kind::Burst(12.0),
        Kind::Overs(PI / 8.0),
        Kind::Overs(PI / 4.0),
        Kind::Limit(7.0),
        Kind::Limit(5.0),
        Kind::HeadroomPeak,
        Kind::HeadroomLoud,
        Kind::Quiet(-24.0),
        Kind::Quiet(-30.0),
    ];
    for i in 0..TONE_RULES.len() {
        k.push(Kind::Tone(i, false));
        k.push(Kind::Tone(i, true));
    }
    k.extend([
        Kind::Polarity(1.0),
        Kind::Polarity(0.75),
        Kind::Imbalance(5.0),
        Kind::Imbalance(8.0),
        Kind::Wide(false),
        Kind::Wide(true),
        Kind::LowPhase(0.35),
        Kind::LowPhase(1.0),
        Kind::Hiss(-55.0),
        Kind::Hiss(-45.0),
        Kind::Hum(50.0, -50.0),
        Kind::Hum(50.0, -40.0),
        Kind::Hum(60.0, -50.0),
        Kind::Hum(60.0, -40.0),
        Kind::Clicks(0.3),
        Kind::Clicks(0.6),
        Kind::Dc(1.5),
        Kind::Dc(4.0),
        Kind::Reverb(3.0),
        Kind::Reverb(6.0),
    ]);
    // PLANT_KIND=Reverb: only the plantings whose kind (as Debug prints it) contains it
    if let Ok(only) = std::env::var("PLANT_KIND") {
        k.retain(|kind| format!("{kind:?}").contains(&only));
    }
    k
}

/// Plant, diagnose, evaluate: the outcomes and the side effects.
/// A side effect: ("rule severity", "planting [judge] measured").
type Side = (String, String);

fn run_planting(base: &Base, kind: &Kind) -> (Vec<Outcome>, Vec<Side>) {
    let p = plant(base, kind);
    let mut outs = Vec::new();
    let mut sides = Vec::new();
    for (judge, expects) in &p.checks {
        let counted = expects.iter().any(|e| e.eligible.is_ok());
        if !counted {
            for e in expects {
                outs.push(Outcome {
                    base: base.name.clone(),
                    planting: p.label.clone(),
                    judge: *judge,
                    rule: e.rule,
                    aim: e.aim.clone(),
                    found: None,
                    detail: e.eligible.clone().err().unwrap_or_default(),
                });
            }
            continue;
        }
        let d = diagnose_file(
            &p.buf,
            &p.label,
            &Options {
                judge: Some(*judge),
                translate: false,
            },
        );
        let b = base.baseline(*judge);
        let mut facts: Option<FileFacts> = None;
        for e in expects {
            let (found, detail) = match &e.eligible {
                Err(why) => (None, why.clone()),
                Ok(()) => {
                    let (ok, why) = evaluate(e, b, &d);
                    // PLANT_DETAIL=1: the figures behind every verdict, not only the misses
                    let why = if ok && std::env::var_os("PLANT_DETAIL").is_none() {
                        why
                    } else {
                        let f = facts.get_or_insert_with(|| FileFacts::measure(&p.buf));
                        format!("{why}; {}", explain(e.rule, f, &d))
                    };
                    (Some(ok), why)
                }
            };
            outs.push(Outcome {
                base: base.name.clone(),
                planting: p.label.clone(),
                judge: *judge,
                rule: e.rule,
                aim: e.aim.clone(),
                found,
                detail,
            });
        }
        // side effects: new findings above info the planting did not aim at
        for f in d
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
        {
            // a rule the planting aims at under either judgement is not a side effect
            if p.checks.iter().flat_map(|c| &c.1).any(|e| e.rule == f.rule) {
                continue;
            }
            let before = worst(b, &f.rule).map(|x| x.severity);
            if before.is_some_and(|s| s >= f.severity) {
                continue;
            }
            let extra = if f.rule == "reverb.excessive" {
                let r = &d.reverb;
                format!(
                    " (decay {:?} s, tail share {:?}, {} decays, {} transient)",
                    r.decay_s, r.tail_share, r.decays, r.transient_decays
                )
            } else {
                String::new()
            };
            sides.push((
                format!("{} {}", f.rule, f.severity.name()),
                format!(
                    "{} [{}] {} {}{extra}",
                    p.label,
                    judge.name(),
                    f.measured,
                    f.unit
                ),
            ));
        }
    }
    (outs, sides)
}

fn worst<'a>(d: &'a Diagnosis, rule: &str) -> Option<&'a Finding> {
    d.findings
        .iter()
        .filter(|f| f.rule == rule)
        .max_by_key(|f| f.severity)
}

/// Whether an expected rule was found, and the figures that say so.
fn evaluate(e: &Expect, base: &Diagnosis, d: &Diagnosis) -> (bool, String) {
    let Some(p) = worst(d, e.rule) else {
        return (false, "not reported".into());
    };
    let fig = format!(
        "{} {} {} (threshold {})",
        p.severity.name(),
        p.measured,
        p.unit,
        p.threshold
    );
    if p.severity < Severity::Warning {
        return (false, format!("only {fig}"));
    }
    let mut text = fig.clone();
    if let Some(b) = worst(base, e.rule).filter(|b| b.severity >= p.severity) {
        let moved = match e.dir {
            Dir::Up => p.measured - b.measured,
            Dir::Down => b.measured - p.measured,
            Dir::UpAbs => p.measured.abs() - b.measured.abs(),
        };
        if moved < e.clear_move {
            return (
                false,
                format!(
                    "{fig}, but the baseline already had it ({} {}) and it moved only {moved:.2} (clear: {})",
                    b.severity.name(),
                    b.measured,
                    e.clear_move
                ),
            );
        }
        text = format!(
            "{fig}; baseline {} {}, moved {moved:.2}",
            b.severity.name(),
            b.measured
        );
    }
    let covered = |t: f64| p.times.iter().any(|r| r.contains(t, SLACK_S));
    match &e.times {
        Times::Whole => (true, text),
        Times::Cover(ts) => {
            let missed: Vec<String> = ts
                .iter()
                .filter(|&&t| !covered(t))
                .map(|t| format!("{t:.3}"))
                .collect();
            if missed.is_empty() {
                (true, format!("{text}; all {} time(s) listed", ts.len()))
            } else {
                (
                    false,
                    format!(
                        "{text}; time(s) not listed: {missed:?} (ranges {})",
                        ranges(&p.times)
                    ),
                )
            }
        }
        Times::Runs(runs) => {
            let full = p.times.len() >= CLIP_MAX_RANGES;
            let until = if full {
                p.times.last().map_or(0.0, |r| r.end_s)
            } else {
                f64::INFINITY
            };
            let missed: Vec<f64> = runs
                .iter()
                .copied()
                .filter(|&t| t <= until && !covered(t))
                .collect();
            let empty: Vec<&TimeRange> = p
                .times
                .iter()
                .filter(|r| !runs.iter().any(|&t| r.contains(t, SLACK_S)))
                .collect();
            let note = if full {
                format!(
                    "; {} ranges listed (the finding's cap), checked to {until:.2} s",
                    p.times.len()
                )
            } else {
                String::new()
            };
            if missed.is_empty() && empty.is_empty() {
                (
                    true,
                    format!("{text}; {} clipped runs covered{note}", runs.len()),
                )
            } else {
                (
                    false,
                    format!(
                        "{text}; runs not covered: {:?}; ranges without a run: {}{note}",
                        missed.iter().take(5).collect::<Vec<_>>(),
                        empty.len()
                    ),
                )
            }
        }
        Times::Section { start, end, runs } => {
            let missed: Vec<f64> = runs.iter().copied().filter(|&t| !covered(t)).collect();
            let stray: Vec<&TimeRange> = p
                .times
                .iter()
                .filter(|r| r.end_s < start - SLACK_S || r.start_s > end + SLACK_S)
                .filter(|r| {
                    // the baseline's own clipping there is not stray
                    !worst(base, e.rule).is_some_and(|b| {
                        b.times
                            .iter()
                            .any(|x| x.start_s <= r.end_s && x.end_s >= r.start_s)
                    })
                })
                .collect();
            if missed.is_empty() && stray.is_empty() {
                (
                    true,
                    format!(
                        "{text}; {} runs in {start:.2}-{end:.2} s covered by {}",
                        runs.len(),
                        ranges(&p.times)
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "{text}; section {start:.2}-{end:.2} s: runs not covered {:?}, ranges away from it {}",
                        missed.iter().take(5).collect::<Vec<_>>(),
                        stray.len()
                    ),
                )
            }
        }
        Times::Overlap(passages) => {
            let hit = p.times.iter().any(|r| {
                passages
                    .iter()
                    .any(|&(a, b)| r.start_s <= b && r.end_s >= a)
            });
            if hit {
                (
                    true,
                    format!(
                        "{text}; its passages {} overlap the quiet ones",
                        ranges(&p.times)
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "{text}; its passages {} miss the quiet ones {:?}",
                        ranges(&p.times),
                        passages
                            .iter()
                            .take(4)
                            .map(|(a, b)| format!("{a:.1}-{b:.1}"))
                            .collect::<Vec<_>>()
                    ),
                )
            }
        }
    }
}

fn ranges(t: &[TimeRange]) -> String {
    let mut s: Vec<String> = t
        .iter()
        .take(4)
        .map(|r| format!("{:.2}-{:.2}", r.start_s, r.end_s))
        .collect();
    if t.len() > 4 {
        s.push(format!("... ({} in all)", t.len()));
    }
    format!("[{}]", s.join(", "))
}

/// The measurement behind a rule on the planted file (for a miss).
fn explain(rule: &str, f: &FileFacts, d: &Diagnosis) -> String {
    let a = &f.analysis;
    let st = a.stereo.as_ref();
    let o = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.2}"));
    match rule {
        "clipping" => format!("{} clipped runs measured", f.clip_runs_s.len()),
        "true_peak.over" => format!(
            "true peak {} dBTP, sample peak {} dBFS",
            o(a.true_peak_dbtp),
            o(a.levels.sample_peak_dbfs)
        ),
        "dynamics.over_compressed" | "dynamics.over_limited" | "headroom.already_limited" => {
            format!(
                "PLR {} dB, {:.0} % of blocks at the ceiling, LRA {} LU",
                o(a.plr_db),
                100.0 * f.pinned_share,
                o(a.loudness.loudness_range_lu)
            )
        }
        "headroom.none" => format!("sample peak {} dBFS", o(a.levels.sample_peak_dbfs)),
        "headroom.mastered_loud" => format!("{} LUFS", o(a.loudness.integrated_lufs)),
        "loudness.too_quiet" => format!(
            "{} LUFS, quieter by {:?}",
            o(a.loudness.integrated_lufs),
            d.platforms
                .iter()
                .map(|p| (p.platform.as_str(), p.quieter_by_db))
                .collect::<Vec<_>>()
        ),
        "stereo.phase" => format!("correlation {}", o(st.and_then(|s| s.correlation))),
        "stereo.mono_compatibility" => format!("mono loss {} LU", o(f.mono_loss_lu)),
        "stereo.low_end_not_mono" => format!(
            "low-end correlation {}, low end (40-150 Hz) {} dB against typical",
            o(a.low_end.as_ref().and_then(|l| l.correlation)),
            o(tone_deviation(a, 40.0, 150.0).map(|x| x.0))
        ),
        "stereo.imbalance" => format!("balance {} dB", o(st.and_then(|s| s.balance_db))),
        "stereo.too_wide" => format!("side/mid {} dB", o(st.and_then(|s| s.side_to_mid_db))),
        "noise.hiss" => format!(
            "hiss {:?}; loud {:?} quiet {:?} dBFS",
            d.noise
                .hiss
                .as_ref()
                .map(|h| (h.floor_dbfs, h.slope_db_per_oct, h.exposed_s)),
            d.noise.loud_dbfs,
            d.noise.quiet_dbfs
        ),
        "noise.hum" => format!(
            "hum {:?}; quiet passages {:?} dBFS",
            d.noise.hum.as_ref().map(|h| (
                h.mains_hz,
                h.level_dbfs,
                h.score_db,
                h.harmonics_hz.len()
            )),
            d.noise.quiet_dbfs
        ),
        "noise.clicks" => format!(
            "{} clicks measured: {:?}",
            d.noise.clicks.len(),
            d.noise
                .clicks
                .iter()
                .take(10)
                .map(|c| format!("{:.3}s {:+.0}dB", c.time_s, c.above_signal_db))
                .collect::<Vec<_>>()
        ),
        "noise.dc_offset" => format!("dc {:?} %", d.noise.dc_percent),
        "reverb.excessive" => format!(
            "decay {:?} s, transient decay {:?} s ({} decays), tail share {:?}, {} decays, gaps {:?} dB, attacks {:?} dB, per band {:?}",
            d.reverb.decay_s,
            d.reverb.transient_decay_s,
            d.reverb.transient_decays,
            d.reverb.tail_share,
            d.reverb.decays,
            d.reverb.gap_depth_db,
            d.reverb.attack_db,
            d.reverb.gap_bands.iter().map(|g| g.depth_db).collect::<Vec<_>>()
        ),
        r if r.starts_with("tonal.") => {
            let t = TONE_RULES.iter().find(|t| t.rule == r);
            format!(
                "deviation {} dB",
                o(t.and_then(|t| tone_deviation(a, t.lo, t.hi)).map(|x| x.0))
            )
        }
        _ => String::new(),
    }
}

// -------------------------------------------------------------------------------------------
// the plantings

fn plant(base: &Base, kind: &Kind) -> Planting {
    let sr = base.sr();
    let dur = base.dur();
    let b = &base.buf;
    let peak = f64::from(b.sample_peak()).max(1e-9);
    let lufs0 = base.an.loudness.integrated_lufs.unwrap_or(-70.0);
    let master = JudgeAs::Master;
    match *kind {
        Kind::Clip(over) => {
            let mut buf = b.clone();
            let g = (lin(over) / peak) as f32;
            map(&mut buf, |v| (v * g).clamp(-1.0, 1.0));
            let runs = clip_runs(&buf);
            let e = Expect::new(
                "clipping",
                Dir::Up,
                5.0,
                format!(
                    "peaks +{over:.0} dB over full scale: {} clipped runs",
                    runs.len()
                ),
            )
            .times(Times::Runs(runs));
            Planting {
                label: format!("clip +{over:.0} dB"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Burst(over) => {
            let start = (0.4 * dur).floor();
            let end = start + 2.0;
            let (i0, i1) = ((start * sr) as usize, ((end * sr) as usize).min(b.frames()));
            let sec_peak = b
                .channels
                .iter()
                .flat_map(|c| c[i0..i1].iter())
                .fold(0.0f32, |m, &v| m.max(v.abs()));
            let g = lin(over) / f64::from(sec_peak).max(1e-9);
            let ramp = (0.005 * sr) as usize;
            let mut buf = b.clone();
            for c in &mut buf.channels {
                for (i, v) in c.iter_mut().enumerate().take(i1).skip(i0) {
                    let edge = (i - i0).min(i1 - 1 - i);
                    let w = if edge < ramp {
                        edge as f64 / ramp as f64
                    } else {
                        1.0
                    };
                    let gi = 1.0 + (g - 1.0) * w;
                    *v = ((f64::from(*v) * gi) as f32).clamp(-1.0, 1.0);
                }
            }
            let runs = clip_runs(&buf);
            let e = Expect::new(
                "clipping",
                Dir::Up,
                5.0,
                format!(
                    "{start:.0}-{end:.0} s driven +{over:.0} dB over full scale: {} clipped runs",
                    runs.len()
                ),
            )
            .only_if(!runs.is_empty(), "nothing clipped")
            .times(Times::Section { start, end, runs });
            Planting {
                label: format!("burst +{over:.0} dB"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Overs(phi) => {
            let mut buf = b.clone();
            let g = (lin(-6.0) / peak) as f32;
            buf.apply_gain(g);
            // the quietest 20 ms in the middle 80 %
            let win = (0.02 * sr) as usize;
            let (lo, hi) = ((0.1 * dur * sr) as usize, (0.9 * dur * sr) as usize);
            let mut best = (f32::INFINITY, lo);
            let mut i = lo;
            while i + win < hi {
                let m = buf
                    .channels
                    .iter()
                    .flat_map(|c| c[i..i + win].iter())
                    .fold(0.0f32, |m, &v| m.max(v.abs()));
                if m < best.0 {
                    best = (m, i);
                }
                i += win / 2;
            }
            let (local, at) = best;
            let len = (0.01 * sr) as usize;
            let at = at + (win - len) / 2;
            let ramp = (0.001 * sr) as usize;
            // sample values of the tone reach amp * max(|sin|, |cos|) of its phase
            let samp = phi.sin().abs().max(phi.cos().abs());
            let amp = (0.99 - f64::from(local)) / samp;
            for c in &mut buf.channels {
                for k in 0..len {
                    let edge = k.min(len - 1 - k);
                    let w = if edge < ramp {
                        0.5 - 0.5 * (PI * edge as f64 / ramp as f64).cos()
                    } else {
                        1.0
                    };
                    c[at + k] += (amp * w * (PI / 2.0 * k as f64 + phi).sin()) as f32;
                }
            }
            let sp = f64::from(buf.sample_peak());
            buf.apply_gain((lin(-0.05) / sp) as f32);
            let tp = db(f64::from(analysis::true_peak_linear(&buf)));
            let t = (at + len / 2) as f64 / sr;
            let e = Expect::new(
                "true_peak.over",
                Dir::Up,
                0.5,
                format!(
                    "sample peak -0.05 dBFS, true peak {tp:+.2} dBTP (a 10 ms fs/4 tone at {t:.2} s)"
                ),
            )
            .times(Times::Cover(vec![t]));
            Planting {
                label: format!("overs phase {:.1} deg", phi.to_degrees()),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Limit(plr) => {
            let plr0 = base.an.plr_db.unwrap_or(20.0);
            let target = if plr > 6.0 {
                plr.min(plr0 - 1.5)
            } else {
                plr.min(plr0 - 3.0)
            };
            let (buf, pre, got) = limit_to(b, -1.0, |l, tp| tp - l, target, false);
            let lufs = Loudness::measure(&views(&buf), buf.sample_rate)
                .integrated_lufs
                .unwrap_or(-70.0);
            let m = vec![
                Expect::new(
                    "dynamics.over_compressed",
                    Dir::Down,
                    1.0,
                    format!("PLR {got:.1} dB (limiter +{pre:.1} dB into -1 dBTP)"),
                ),
                Expect::new(
                    "dynamics.over_limited",
                    Dir::Up,
                    10.0,
                    format!("PLR {got:.1} dB, limiter driven +{pre:.1} dB"),
                ),
            ];
            let x = vec![
                Expect::new(
                    "headroom.already_limited",
                    Dir::Up,
                    10.0,
                    format!("PLR {got:.1} dB, limiter driven +{pre:.1} dB"),
                ),
                Expect::new(
                    "headroom.mastered_loud",
                    Dir::Up,
                    1.0,
                    format!("{lufs:.1} LUFS"),
                )
                .only_if(lufs > MIX_LOUD_LUFS + 1.0, format!("only {lufs:.1} LUFS")),
            ];
            Planting {
                label: format!("limited to PLR {target:.1}"),
                buf,
                checks: vec![(master, m), (JudgeAs::Mix, x)],
            }
        }
        Kind::HeadroomPeak => {
            let mut buf = b.clone();
            buf.apply_gain((lin(-0.1) / peak) as f32);
            let e = Expect::new(
                "headroom.none",
                Dir::Up,
                0.3,
                format!("sample peak {:.2} -> -0.1 dBFS", db(peak)),
            )
            .only_if(
                db(peak) <= -0.4,
                format!("the base already peaks at {:.2} dBFS", db(peak)),
            );
            Planting {
                label: "peak -0.1 dBFS".into(),
                buf,
                checks: vec![(JudgeAs::Mix, vec![e])],
            }
        }
        Kind::HeadroomLoud => {
            // the loudness a plain normalisation to -0.5 dBFS gives, and 2 LU over it at least
            let plain = lufs0 + (-0.5 - db(peak));
            let target = (-12.0f64).max(plain + 2.0);
            let (mut buf, pre, got) = limit_to(b, -0.5, |l, _| l, target, true);
            let sp = f64::from(buf.sample_peak());
            buf.apply_gain((lin(-0.5) / sp) as f32);
            let lufs = got + (-0.5 - db(sp));
            let es = vec![
                Expect::new(
                    "headroom.none",
                    Dir::Up,
                    0.3,
                    format!("sample peak {:.2} -> -0.5 dBFS", db(peak)),
                )
                .only_if(
                    db(peak) <= -0.8,
                    format!("the base already peaks at {:.2} dBFS", db(peak)),
                ),
                Expect::new(
                    "headroom.mastered_loud",
                    Dir::Up,
                    1.0,
                    format!("{lufs:.1} LUFS (limiter +{pre:.1} dB)"),
                ),
            ];
            Planting {
                label: format!("loud mix {lufs:.1} LUFS, -0.5 dBFS"),
                buf,
                checks: vec![(JudgeAs::Mix, es)],
            }
        }
        Kind::Quiet(nominal) => {
            let target = if nominal > -27.0 {
                nominal.min(lufs0 - 4.0)
            } else {
                nominal.min(lufs0 - 10.0)
            };
            let mut buf = b.clone();
            buf.apply_gain(lin(target - lufs0) as f32);
            let e = Expect::new(
                "loudness.too_quiet",
                Dir::Up,
                3.0,
                format!("{target:.1} LUFS (base {lufs0:.1})"),
            );
            Planting {
                label: format!("quiet {target:.0} LUFS"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Tone(i, strong) => tone_planting(base, i, strong),
        Kind::Polarity(share) => {
            let mut buf = b.clone();
            let n = buf.frames();
            let sign = polarity_pattern(n, sr, share);
            for (v, s) in buf.channels[1].iter_mut().zip(&sign) {
                *v *= s;
            }
            let c0 = pearson(&b.channels[0], &b.channels[1]);
            // the planted file's own figures (correlation from plain sample sums; the mono loss as BS.1770 loudness)
            let c = pearson(&buf.channels[0], &buf.channels[1]);
            let loss = mono_loss(&buf.channels[0], &buf.channels[1], buf.sample_rate);
            let es = vec![
                Expect::new(
                    "stereo.phase",
                    Dir::Down,
                    0.2,
                    format!("correlation {c0:+.2} -> about {c:+.2}"),
                )
                .only_if(c <= -0.1, format!("predicted correlation only {c:+.2}")),
                Expect::new(
                    "stereo.mono_compatibility",
                    Dir::Up,
                    2.0,
                    format!("mono loss about {loss:.1} LU"),
                )
                .only_if(
                    loss >= MONO_LOSS_WARN + 1.5,
                    format!("predicted mono loss only {loss:.1} LU"),
                ),
            ];
            Planting {
                label: format!("right inverted {:.0} %", share * 100.0),
                buf,
                checks: vec![(master, es)],
            }
        }
        Kind::Imbalance(cut) => {
            let b0 = base
                .an
                .stereo
                .as_ref()
                .and_then(|s| s.balance_db)
                .unwrap_or(0.0);
            // turn down the channel that is already quieter
            let ch = if b0 >= 0.0 { 1 } else { 0 };
            let mut buf = b.clone();
            let g = lin(-cut) as f32;
            buf.channels[ch].iter_mut().for_each(|v| *v *= g);
            let e = Expect::new(
                "stereo.imbalance",
                Dir::UpAbs,
                2.0,
                format!("balance {b0:+.1} -> about {:+.1} dB", b0.abs() + cut),
            );
            Planting {
                label: format!("{} -{cut:.0} dB", if ch == 1 { "right" } else { "left" }),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Wide(strong) => {
            let sm0 = base.an.stereo.as_ref().and_then(|s| s.side_to_mid_db);
            let (nominal, land): (f64, f64) = if strong {
                (14.0, WIDE_PROBLEM + 3.0)
            } else {
                (8.0, WIDE_WARN + 2.0)
            };
            let boost = sm0.map_or(nominal, |s| nominal.max(land - s));
            let mut buf = b.clone();
            let g = lin(boost);
            let (l, r) = buf.channels.split_at_mut(1);
            for (a, c) in l[0].iter_mut().zip(r[0].iter_mut()) {
                let m = 0.5 * (f64::from(*a) + f64::from(*c));
                let s = 0.5 * (f64::from(*a) - f64::from(*c)) * g;
                *a = (m + s) as f32;
                *c = (m - s) as f32;
            }
            let p = f64::from(buf.sample_peak());
            buf.apply_gain((peak / p) as f32);
            let sm = sm0.map_or(f64::NAN, |s| s + boost);
            let e = Expect::new(
                "stereo.too_wide",
                Dir::Up,
                2.0,
                format!(
                    "side +{boost:.1} dB: side/mid {:.1} -> about {sm:+.1} dB",
                    sm0.unwrap_or(f64::NAN)
                ),
            )
            .only_if(
                sm0.is_some_and(|s| s > -40.0) && boost <= 30.0,
                "the base has (almost) no side signal",
            );
            Planting {
                label: format!("side +{boost:.0} dB"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::LowPhase(share) => {
            let mut buf = b.clone();
            let n = buf.frames();
            // zero phase, so that right - low keeps the rest intact
            let low = zero_phase_lowpass(&buf.channels[1], 150.0, sr);
            let sign = polarity_pattern(n, sr, share);
            // right = (right - low) + sign * low: the low band's polarity flipped where sign < 0
            for ((v, l), s) in buf.channels[1].iter_mut().zip(&low).zip(&sign) {
                *v += (s - 1.0) * l;
            }
            // the low bands' correlation before and after (the same zero-phase low-pass)
            let low_l = zero_phase_lowpass(&buf.channels[0], 150.0, sr);
            let low_r0 = zero_phase_lowpass(&b.channels[1], 150.0, sr);
            let low_r = zero_phase_lowpass(&buf.channels[1], 150.0, sr);
            let c0 = pearson(&low_l, &low_r0);
            let c = pearson(&low_l, &low_r);
            let has_low = tone_deviation(&base.an, 40.0, 150.0).is_some_and(|(d, _)| d > -17.0);
            let e = Expect::new(
                "stereo.low_end_not_mono",
                Dir::Down,
                0.3,
                format!("low-end correlation {c0:+.2} -> about {c:+.2}"),
            )
            .only_if(has_low, "the base has little below 150 Hz")
            .only_if(
                c <= LOW_CORR_WARN - 0.1 && c <= c0 - 0.3,
                format!("predicted low-end correlation {c0:+.2} -> {c:+.2}"),
            );
            Planting {
                label: format!("low end inverted {:.0} %", share * 100.0),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Hiss(level) => {
            let quiet = quiet_passages(base, level - 10.0);
            let total: f64 = quiet.iter().map(|(a, b)| b - a).sum();
            let levels: Vec<f64> = base.frames_db.iter().flatten().copied().collect();
            let loud = percentile(&levels, 0.95).unwrap_or(-100.0);
            let mut buf = b.clone();
            let mut rng = Rng::new(1234 + level.abs() as u64);
            let sigma = lin(level);
            for c in &mut buf.channels {
                for v in c.iter_mut() {
                    *v += (rng.gaussian() * sigma) as f32;
                }
            }
            let e = Expect::new(
                "noise.hiss",
                Dir::Up,
                5.0,
                format!(
                    "white noise {level:.0} dBFS RMS; quiet passages {total:.1} s, loud frames {loud:.1} dBFS"
                ),
            )
            .only_if(
                total >= 1.0,
                format!("no quiet passages ({total:.1} s of frames 10 dB under the hiss)"),
            )
            .only_if(
                level <= loud - HISS_BELOW_MUSIC_DB - 3.0,
                format!("the loud frames ({loud:.1} dBFS) are not 23 dB over the hiss"),
            )
            .times(Times::Overlap(quiet));
            Planting {
                label: format!("hiss {level:.0} dBFS"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Hum(mains, level) => {
            let amps = [1.0, 0.6, 0.45, 0.3, 0.2, 0.15];
            let ms: f64 = amps.iter().map(|a| a * a / 2.0).sum();
            let scale = (10f64.powf(level / 10.0) / ms).sqrt();
            let mut buf = b.clone();
            for c in &mut buf.channels {
                for (i, v) in c.iter_mut().enumerate() {
                    let t = i as f64 / sr;
                    let h: f64 = amps
                        .iter()
                        .enumerate()
                        .map(|(k, a)| {
                            a * (2.0 * PI * mains * (k + 1) as f64 * t + 0.3 * k as f64).sin()
                        })
                        .sum();
                    *v += (scale * h) as f32;
                }
            }
            let levels: Vec<f64> = base.frames_db.iter().flatten().copied().collect();
            let quiet = percentile(&levels, 0.10).unwrap_or(-100.0);
            let e = Expect::new(
                "noise.hum",
                Dir::Up,
                5.0,
                format!("{mains:.0} Hz + 5 harmonics at {level:.0} dBFS; quiet frames {quiet:.1} dBFS"),
            )
            .only_if(
                level >= quiet - HUM_MASKED_DB + 3.0,
                format!(
                    "masked by design: {level:.0} dBFS is {:.0} dB under the quiet frames ({quiet:.1} dBFS)",
                    quiet - level
                ),
            );
            Planting {
                label: format!("hum {mains:.0} Hz {level:.0} dBFS"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Clicks(amp) => {
            let mut buf = b.clone();
            let shape = [0.6, 1.0, -0.5];
            let mut times = Vec::new();
            let mut clear = Vec::new();
            // mean power of the base over frames a..z, of the signal or of its first difference
            let power = |a: usize, z: usize, diff: bool| -> f64 {
                let (a, z) = (a.max(1), z.min(b.frames()));
                let mut s = 0.0;
                for c in &b.channels {
                    for k in a..z {
                        let v = if diff { c[k] - c[k - 1] } else { c[k] };
                        s += f64::from(v) * f64::from(v);
                    }
                }
                s / ((z.saturating_sub(a)) * b.num_channels()).max(1) as f64
            };
            let ms = |x: f64| (x * sr / 1000.0) as usize;
            for k in 0..8 {
                let t = 1.5 + (dur - 3.0) * (k as f64 + 0.5) / 8.0 + 0.0137 * k as f64;
                let i = (t * sr) as usize;
                let p = power(i.saturating_sub(ms(20.0)), i + ms(20.0), false);
                let above = db(amp) - 10.0 * p.max(1e-30).log10();
                // a click just before a note is masked by it unless it towers over the note
                // (the level or the treble 1.5-20 ms after at least 6 dB over the 20 ms before)
                let (before, after) = (
                    (i.saturating_sub(ms(20.0)), i.saturating_sub(ms(1.0))),
                    (i + ms(1.5), i + ms(20.0)),
                );
                let next = power(after.0, after.1, false);
                let onset = next > 4.0 * power(before.0, before.1, false)
                    || power(after.0, after.1, true) > 4.0 * power(before.0, before.1, true);
                let over_next = db(amp) - 10.0 * next.max(1e-30).log10();
                let above = if onset {
                    above.min(over_next - (CLICK_TOWER_DB - CLICK_CLEAR_DB))
                } else {
                    above
                };
                let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                for c in &mut buf.channels {
                    for (j, s) in shape.iter().enumerate() {
                        c[i + j] += (sign * amp * s) as f32;
                    }
                }
                let t = (i + 1) as f64 / sr;
                times.push((t, above));
                if above >= CLICK_CLEAR_DB + 3.0 {
                    clear.push(t);
                }
            }
            let e = Expect::new(
                "noise.clicks",
                Dir::Up,
                4.0,
                format!(
                    "8 clicks of {amp} peak, {} clear of the music (dB over it: {:?})",
                    clear.len(),
                    times.iter().map(|x| x.1.round()).collect::<Vec<_>>()
                ),
            )
            .only_if(
                !clear.is_empty(),
                "no click stands clearly out of the music",
            )
            .times(Times::Cover(clear));
            Planting {
                label: format!("clicks {amp}"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Dc(pct) => {
            let own = base
                .master
                .noise
                .dc_percent
                .iter()
                .copied()
                .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            let sign = if own < 0.0 { -1.0 } else { 1.0 };
            let mut buf = b.clone();
            let off = (sign * pct / 100.0) as f32;
            map(&mut buf, |v| v + off);
            let e = Expect::new(
                "noise.dc_offset",
                Dir::Up,
                0.5,
                format!("{:+.1} % added (base {own:+.2} %)", sign * pct),
            );
            Planting {
                label: format!("dc {pct} %"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
        Kind::Reverb(t60) => {
            let mut buf = reverberate(b, t60, 0.0);
            let p = f64::from(buf.sample_peak());
            buf.apply_gain((peak / p) as f32);
            let e = Expect::new(
                "reverb.excessive",
                Dir::Up,
                1.0,
                format!("T60 {t60:.0} s, wet = dry"),
            );
            Planting {
                label: format!("reverb T60 {t60:.0} s"),
                buf,
                checks: vec![(master, vec![e])],
            }
        }
    }
}

/// A 2nd-order Butterworth low-pass run forward and backward (zero phase).
fn zero_phase_lowpass(x: &[f32], hz: f64, sr: f64) -> Vec<f32> {
    let lp = [FilterKind::LowPass {
        freq_hz: hz,
        q: std::f64::consts::FRAC_1_SQRT_2,
    }];
    let mut y = x.to_vec();
    FilterChain::new(&lp, sr, 1).process_mono_whole(&mut y);
    y.reverse();
    FilterChain::new(&lp, sr, 1).process_mono_whole(&mut y);
    y.reverse();
    y
}

/// Pearson correlation of two signals (energy-weighted over the whole song).
fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let (mut aa, mut bb, mut ab) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        aa += x * x;
        bb += y * y;
        ab += x * y;
    }
    ab / (aa * bb).sqrt().max(1e-30)
}

/// Loudness lost in the mono fold-down ((L+R)/2), less the 3.01 dB identical channels lose,
/// LU: BS.1770 loudness of each (K-weighted and gated, as a listener's loudness), so the
/// planting's strength is judged in the terms the finding states it.
fn mono_loss(l: &[f32], r: &[f32], sr: u32) -> f64 {
    let mono: Vec<f32> = l.iter().zip(r).map(|(a, b)| 0.5 * (a + b)).collect();
    let st = Loudness::measure(&[l, r], sr).integrated_lufs;
    let m = Loudness::measure(&[&mono], sr).integrated_lufs;
    match (st, m) {
        (Some(s), Some(m)) => s - m - 3.0103,
        (Some(_), None) => 60.0,
        _ => 0.0,
    }
}

fn map(buf: &mut AudioBuffer, f: impl Fn(f32) -> f32) {
    for c in &mut buf.channels {
        for v in c.iter_mut() {
            *v = f(*v);
        }
    }
}

fn views(buf: &AudioBuffer) -> Vec<&[f32]> {
    buf.channels.iter().map(|c| c.as_slice()).collect()
}

/// Start times of runs of [`CLIP_RUN`] or more samples at full scale (any channel).
fn clip_runs(buf: &AudioBuffer) -> Vec<f64> {
    let sr = f64::from(buf.sample_rate);
    let mut out = Vec::new();
    for c in &buf.channels {
        let mut i = 0;
        while i < c.len() {
            if c[i].abs() >= FULL_SCALE {
                let s = i;
                while i < c.len() && c[i].abs() >= FULL_SCALE {
                    i += 1;
                }
                if i - s >= CLIP_RUN {
                    out.push(s as f64 / sr);
                }
            } else {
                i += 1;
            }
        }
    }
    out.sort_by(|a, b| a.total_cmp(b));
    out
}

/// +1 or -1 per sample: -1 for `share` of every second (its end), 10 ms ramps between.
fn polarity_pattern(n: usize, sr: f64, share: f64) -> Vec<f32> {
    if share >= 1.0 {
        return vec![-1.0; n];
    }
    let period = sr as usize;
    let flip = ((1.0 - share) * sr) as usize;
    let ramp = (0.01 * sr) as usize;
    (0..n)
        .map(|i| {
            let k = i % period;
            // distance into the inverted part (negative: before it), samples
            let s = if k < flip {
                // ramp back up at the start of the second
                if k < ramp && i >= period {
                    -1.0 + 2.0 * k as f64 / ramp as f64
                } else {
                    1.0
                }
            } else if k - flip < ramp {
                1.0 - 2.0 * (k - flip) as f64 / ramp as f64
            } else {
                -1.0
            };
            s as f32
        })
        .collect()
}

/// Passages (s) of the base whose frames lie under `under_db`, in runs of at least 0.5 s.
fn quiet_passages(base: &Base, under_db: f64) -> Vec<(f64, f64)> {
    let fs = base.frame as f64 / base.sr();
    let min = (0.5 / fs).ceil() as usize;
    let mut out = Vec::new();
    let mut run: Option<usize> = None;
    let n = base.frames_db.len();
    for i in 0..=n {
        let q = i < n && base.frames_db[i].is_none_or(|l| l <= under_db);
        match (q, run) {
            (true, None) => run = Some(i),
            (false, Some(s)) => {
                if i - s >= min {
                    out.push((s as f64 * fs, i as f64 * fs));
                }
                run = None;
            }
            _ => {}
        }
    }
    out
}

/// The base through the limiter with the pre-gain that brings `metric(lufs, true peak dBTP)`
/// to `target` (bisection; `rising`: the metric grows with the pre-gain). Returns the limited
/// song, the pre-gain and the metric reached.
fn limit_to(
    b: &AudioBuffer,
    ceiling: f64,
    metric: impl Fn(f64, f64) -> f64,
    target: f64,
    rising: bool,
) -> (AudioBuffer, f64, f64) {
    let params = LimiterParams {
        ceiling_dbtp: ceiling,
        lookahead_ms: 1.5,
        hold_ms: 5.0,
        release_ms: 40.0,
    };
    let sr = b.sample_rate;
    let run = |pre: f64| {
        let mut ch = b.channels.clone();
        let r = limit(&mut ch, pre, &params, f64::from(sr), 0.0);
        let out = AudioBuffer::from_channels(sr, ch);
        let l = Loudness::measure(&views(&out), sr)
            .integrated_lufs
            .unwrap_or(-70.0);
        let m = metric(l, r.true_peak_dbtp);
        (out, m)
    };
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    let mut best = None;
    for _ in 0..9 {
        let mid = 0.5 * (lo + hi);
        let (out, m) = run(mid);
        let past = if rising { m >= target } else { m <= target };
        if past {
            hi = mid;
        } else {
            lo = mid;
        }
        best = Some((out, mid, m));
    }
    // the last one tried sits within 0.1 dB of the crossing
    best.expect("tried")
}

/// EQ for a tonal rule with gain `g` dB: the low end a low shelf at 120 Hz, dullness a high
/// shelf at 7 kHz, a region in the middle a plateau over it (a bell, Q 3, at each
/// analysis band centre `centres` inside it), so that the move stays in the region.
fn tone_eq(rule: &str, g: f64, centres: &[f64]) -> Vec<FilterKind> {
    match rule {
        "tonal.low_end" => vec![FilterKind::LowShelf {
            freq_hz: 120.0,
            gain_db: g,
            slope: 1.0,
        }],
        "tonal.dull" => vec![FilterKind::HighShelf {
            freq_hz: 7000.0,
            gain_db: g,
            slope: 1.0,
        }],
        _ => centres
            .iter()
            .map(|&f| FilterKind::Peaking {
                freq_hz: f,
                gain_db: g,
                q: 3.0,
            })
            .collect(),
    }
}

fn tone_planting(base: &Base, i: usize, strong: bool) -> Planting {
    let r = &TONE_RULES[i];
    let sr = base.sr();
    let a = &base.an;
    let d0 = tone_deviation(a, r.lo, r.hi);
    let bands = d0.as_ref().map(|d| d.1.clone()).unwrap_or_default();
    let d0 = d0.map_or(0.0, |d| d.0);
    let refs: Vec<f64> = a
        .spectrum
        .centres_hz
        .iter()
        .zip(&a.spectrum.level_db)
        .filter(|(f, v)| v.is_some() && (250.0..=4000.0).contains(*f) && (**f < r.lo || **f > r.hi))
        .map(|(f, _)| *f)
        .collect();
    // the chain's response over each 1/3-octave band (power average of 9 points across it),
    // averaged over the bands, dB
    let mean = |fs: &[f64], ks: &[FilterKind]| {
        fs.iter()
            .map(|&f| {
                let p = (-4..=4)
                    .map(|j| {
                        let x = f * 2f64.powf(j as f64 / 24.0);
                        let d: f64 = ks.iter().map(|k| k.response_db(x, sr)).sum();
                        10f64.powf(d / 10.0)
                    })
                    .sum::<f64>()
                    / 9.0;
                10.0 * p.log10()
            })
            .sum::<f64>()
            / fs.len().max(1) as f64
    };
    let predict = |g: f64| {
        let ks = tone_eq(r.rule, g, &bands);
        d0 + mean(&bands, &ks) - mean(&refs, &ks)
    };
    let (nominal, land): (f64, f64) = match (r.excess, strong) {
        (true, false) => (12.0, r.warn + 3.0),
        (true, true) => (18.0, r.problem + 3.0),
        (false, false) => (-16.0, r.warn - 3.0),
        (false, true) => (-24.0, r.problem - 3.0),
    };
    // the gain whose predicted deviation lands at `land` (bisection on |g| up to MAX_EQ_DB)
    let sign = if r.excess { 1.0 } else { -1.0 };
    let past = |g: f64| {
        let p = predict(sign * g);
        if r.excess {
            p >= land
        } else {
            p <= land
        }
    };
    let needed = if past(MAX_EQ_DB) {
        let (mut lo, mut hi) = (0.0, MAX_EQ_DB);
        for _ in 0..30 {
            let m = 0.5 * (lo + hi);
            if past(m) {
                hi = m;
            } else {
                lo = m;
            }
        }
        Some(hi)
    } else {
        None
    };
    let g = sign * needed.unwrap_or(MAX_EQ_DB).max(nominal.abs());
    let kinds = tone_eq(r.rule, g, &bands);
    let mut buf = base.buf.clone();
    FilterChain::new(&kinds, sr, buf.num_channels()).process_channels(&mut buf.channels);
    let p = f64::from(buf.sample_peak());
    buf.apply_gain((f64::from(base.buf.sample_peak()) / p) as f32);
    let no_bass = tone_deviation(a, 40.0, 100.0).is_some_and(|d| d.0 <= NO_BASS_PART_DB);
    let e = Expect::new(
        r.rule,
        if r.excess { Dir::Up } else { Dir::Down },
        3.0,
        format!(
            "{g:+.1} dB ({:.0}-{:.0} Hz): deviation {d0:+.1} -> about {:+.1} dB (thresholds {} / {})",
            r.lo,
            r.hi,
            predict(g),
            r.warn,
            r.problem
        ),
    )
    .only_if(
        needed.is_some(),
        format!("more than {MAX_EQ_DB} dB of EQ would be needed"),
    )
    .only_if(!no_bass, "the base has no bass part (tonal findings are info there)");
    Planting {
        label: format!("{} {g:+.0} dB", r.rule.trim_start_matches("tonal.")),
        buf,
        checks: vec![(JudgeAs::Master, vec![e])],
    }
}

/// `b` plus a reverb of decay time `t60` s (decaying noise, its own for each channel) whose
/// return has `wet_db` dB the energy of the dry signal; the whole convolution (the tail rings
/// out after the song).
fn reverberate(b: &AudioBuffer, t60: f64, wet_db: f64) -> AudioBuffer {
    let mut rngs: Vec<Rng> = (0..b.num_channels())
        .map(|ch| Rng::new(99 + ch as u64))
        .collect();
    add_decaying_noise_reverb(b, t60, wet_db, &mut |ch| rngs[ch].gaussian(), true)
}

// -------------------------------------------------------------------------------------------
// the summary

fn summary(outcomes: &[Outcome], side: &BTreeMap<String, Vec<Side>>) {
    println!("\n================ summary ================");
    println!(
        "{:<28} {:>9} {:>6} {:>8} {:>6}",
        "rule", "plantings", "found", "recall", "n/a"
    );
    let mut rules: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let e = rules.entry(o.rule).or_default();
        match o.found {
            Some(true) => {
                e.0 += 1;
                e.1 += 1;
            }
            Some(false) => e.1 += 1,
            None => e.2 += 1,
        }
    }
    let (mut hit, mut all) = (0, 0);
    for (rule, (found, total, na)) in &rules {
        let pct = if *total > 0 {
            format!("{:.0} %", 100.0 * *found as f64 / *total as f64)
        } else {
            "-".into()
        };
        println!("{rule:<28} {total:>9} {found:>6} {pct:>8} {na:>6}");
        hit += found;
        all += total;
    }
    println!("{:<28} {all:>9} {hit:>6}", "total");
    println!("\nmisses:");
    let misses: Vec<&Outcome> = outcomes.iter().filter(|o| o.found == Some(false)).collect();
    if misses.is_empty() {
        println!("   none");
    }
    for o in misses {
        println!(
            "   {} | {} | {} [{}]: aim {}; {}",
            o.rule,
            o.base,
            o.planting,
            o.judge.name(),
            o.aim,
            o.detail
        );
    }
    println!("\nnot counted (not a clear planting on that base):");
    let mut na: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.found.is_none()) {
        na.entry(format!("{} | {}", o.rule, o.detail))
            .or_default()
            .push(format!("{} ({})", o.base, o.planting));
    }
    for (k, v) in &na {
        println!("   {k}: {}", v.join(", "));
    }
    println!("\nside effects (new findings above info not aimed at; listed, not counted):");
    let mut count = 0;
    for (base, list) in side {
        println!("   {base}:");
        let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (r, w) in list {
            by.entry(r.as_str()).or_default().push(w.as_str());
            count += 1;
        }
        for (r, ws) in by {
            println!("      {r} ({}): {}", ws.len(), ws.join("; "));
        }
    }
    println!("   {count} in all");
    println!("\nrecall: {hit}/{all}");
}
