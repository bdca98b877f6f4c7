//! The multitrack checks on real songs: `stems_corpus [CORPUS_DIR]`.
//!
//! For every song of the corpus (default `../shared/corpus/multitrack`, run from the workspace
//! root), the stems are scaled by 10^(-gain_db/20) from its `balance.json` (the composer's
//! balance: the openmsx and mod stems are peak-normalised raw tracks), written as a folder of
//! float WAVs in a temporary directory, loaded with `load_folder` and diagnosed with
//! `check_stems`; every finding is printed with the tracks' summaries. Then mistakes are planted
//! in each balanced song, one at a time (the lead buried by 8 and 14 dB, a track +10 and +16 dB,
//! both from the place the balance rules measure from, the track's role's usual place,
//! the bass duplicated, a stem silent and one at -70 dBFS, a stem at 48 and at 22.05 kHz, a
//! stem shifted 0.1 and 0.5 s, a hiss-only and a hum-only track, a stem clipped +4 and +12 dB,
//! a stem under a T60 3 and 6 s reverb) and the recall is printed: the planted rule
//! found on the planted track at warning or worse. Last, the time of `load_folder` and
//! `check_stems` on a 16-stem, 3-minute folder made of one song's stems.
//!
//! `cargo run --release -p mixdown-core --example stems_corpus`

use mixdown_core::diagnose::reverb::add_decaying_noise_reverb;
use mixdown_core::diagnose::stems::{check_stems, StemsDiagnosis, LOOSE_REFERENCE_LU};
use mixdown_core::diagnose::Severity;
use mixdown_core::dsp::rng::Rng;
use mixdown_core::io::decode::decode_file;
use mixdown_core::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
use mixdown_core::io::resample::resample;
use mixdown_core::mix::organise::load_folder;
use mixdown_core::AudioBuffer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DEFAULT_DIR: &str = "../shared/corpus/multitrack";

type Stems = Vec<(String, AudioBuffer)>;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let mut songs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("balance.json").exists())
        .collect();
    songs.sort();
    let tmp = tempfile::tempdir().expect("temp dir");
    // per plant: (found at warning or worse, planted, severities found)
    let mut recall: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    let mut extra_alarms = 0usize;
    let mut first_song: Option<Stems> = None;
    for song in &songs {
        let name = song.file_name().unwrap().to_string_lossy().to_string();
        let stems = balanced(song);
        if first_song.is_none() || name.contains("keep_on_rolling") {
            first_song = Some(stems.clone());
        }
        let folder = tmp.path().join(&name);
        let (d, ms) = run(&folder, &stems);
        println!(
            "\n== {name}: {} stems  [{ms:.0} ms check_stems]",
            stems.len()
        );
        print_tracks(&d);
        print_findings(&d);
        let base: Vec<(String, String)> = d
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| (f.rule.clone(), f.tracks.join(",")))
            .collect();
        for (plant, rule, track, planted) in plants(&stems, &d) {
            let folder = tmp
                .path()
                .join(format!("{name}_{}", plant.replace(' ', "_")));
            let (pd, _) = run(&folder, &planted);
            let hit = pd.findings.iter().find(|f| {
                f.rule == rule && f.tracks.contains(&track) && f.severity >= Severity::Warning
            });
            let e = recall.entry(plant.clone()).or_default();
            e.1 += 1;
            let new: Vec<String> = pd
                .findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .filter(|f| f.rule != rule)
                .filter(|f| !base.contains(&(f.rule.clone(), f.tracks.join(","))))
                .map(|f| format!("{}:{} {}", f.rule, f.severity.name(), f.tracks.join(",")))
                .collect();
            match hit {
                Some(f) => {
                    e.0 += 1;
                    e.2.push(f.severity.name().to_string());
                    println!(
                        "   plant {plant:<22} {track}: FOUND {} {} ({} {})",
                        f.rule,
                        f.severity.name(),
                        f.measured,
                        f.unit
                    );
                }
                None => {
                    let near: Vec<String> = pd
                        .findings
                        .iter()
                        .filter(|f| f.rule == rule)
                        .map(|f| {
                            format!(
                                "{} {} {}",
                                f.severity.name(),
                                f.tracks.join(","),
                                f.measured
                            )
                        })
                        .collect();
                    let t = pd.tracks.iter().find(|t| t.name == track);
                    println!(
                        "   plant {plant:<22} {track}: MISSED ({rule}: {near:?}; track: vs_prior {:?} crest {:?} reverb {:?}/{:?})",
                        t.and_then(|t| t.vs_prior_lu),
                        t.and_then(|t| t.crest_db),
                        t.and_then(|t| t.reverb_decay_s),
                        t.and_then(|t| t.reverb_transient_decay_s)
                    );
                }
            }
            if !new.is_empty() {
                extra_alarms += new.len();
                println!("      other new findings above info: {new:?}");
            }
            let _ = std::fs::remove_dir_all(&folder);
        }
        let _ = std::fs::remove_dir_all(&folder);
    }
    println!("\n== recall (planted rule on the planted track, warning or worse)");
    let (mut hit, mut all) = (0, 0);
    for (plant, (found, total, sev)) in &recall {
        println!("   {plant:<22} {found}/{total}  {sev:?}");
        hit += found;
        all += total;
    }
    println!("   all: {hit}/{all}; other new findings above info on planted songs: {extra_alarms}");
    if let Some(stems) = first_song {
        timing(tmp.path(), &stems);
    }
}

/// The song's stems at the composer's balance.
fn balanced(song: &Path) -> Stems {
    let text = std::fs::read_to_string(song.join("balance.json")).expect("balance.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let gains = v["gain_db"].as_object().expect("gain_db");
    let mut out = Vec::new();
    for (stem, g) in gains {
        let p = song.join(format!("{stem}.flac"));
        let (mut b, _) = decode_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        b.apply_gain(10f64.powf(-g.as_f64().unwrap_or(0.0) / 20.0) as f32);
        out.push((stem.clone(), b));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn write_folder(folder: &Path, stems: &Stems) {
    let _ = std::fs::remove_dir_all(folder);
    std::fs::create_dir_all(folder).expect("folder");
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Float32,
        dither: false,
        dither_seed: 0,
    };
    for (name, b) in stems {
        write_file(&folder.join(format!("{name}.wav")), b, &spec).expect("write");
    }
}

fn run(folder: &Path, stems: &Stems) -> (StemsDiagnosis, f64) {
    write_folder(folder, stems);
    let (audio, org) = load_folder(folder, &|_, _| {}).expect("load");
    let t = Instant::now();
    let d = check_stems(&org, &audio);
    (d, t.elapsed().as_secs_f64() * 1e3)
}

fn print_tracks(d: &StemsDiagnosis) {
    println!(
        "   {:<24} {:<15} {:<10} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  source",
        "track", "role", "presence", "LUFS", "prior", "vsPri", "crest", "rt60", "trans", "cov%"
    );
    for t in &d.tracks {
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "   {:<24} {:<15} {:<10} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  {} ({:.2})",
            t.name,
            t.role,
            t.presence,
            f(t.loudness_lufs),
            f(t.prior_lu),
            f(t.vs_prior_lu),
            f(t.crest_db),
            f(t.reverb_decay_s),
            f(t.reverb_transient_decay_s),
            f(t.covered_pct),
            t.role_source,
            t.role_confidence
        );
    }
    for p in d.masking.worst_pairs.iter().take(4) {
        println!(
            "   masking {} / {}: {:.1} % at {:?}",
            p.a, p.b, p.index_pct, p.worst_bands_hz
        );
    }
}

fn print_findings(d: &StemsDiagnosis) {
    for f in &d.findings {
        println!(
            "   [{}] {} — {} (measured {} {}, threshold {}) tracks {:?}",
            f.severity.name(),
            f.rule,
            f.title,
            f.measured,
            f.unit,
            f.threshold,
            f.tracks
        );
    }
}

/// The planted mistakes: (plant, rule expected, track expected, stems).
fn plants(stems: &Stems, d: &StemsDiagnosis) -> Vec<(String, String, String, Stems)> {
    let mut out = Vec::new();
    let idx = |name: &str| stems.iter().position(|s| s.0 == name);
    let role_of = |i: usize| {
        d.tracks
            .iter()
            .find(|t| t.name == stems[i].0)
            .map(|t| t.role.clone())
            .unwrap_or_default()
    };
    let lead = d
        .tracks
        .iter()
        .find(|t| t.presence == "lead")
        .and_then(|t| idx(&t.name));
    let n = stems.len();
    let other = (0..n)
        .map(|k| (k + n / 2) % n)
        .find(|&k| Some(k) != lead)
        .unwrap_or(0);
    let gained = |i: usize, db: f64| {
        let mut s = stems.clone();
        s[i].1.apply_gain(10f64.powf(db / 20.0) as f32);
        s
    };
    // Balance plantings are aimed at the place the rule measures from (the track's role's
    // usual place in a mix): the composer's balance is one choice among many, so a lead the
    // composer had 3 LU above its usual place is turned down 8 + 3 dB to be buried 8 dB. Where
    // every other track's role is unknown the rule's reference is loose (thresholds raised by
    // LOOSE_REFERENCE_LU) and the weaker planting is not a clear mistake: n/a.
    let vs_prior = |i: usize| {
        d.tracks
            .iter()
            .find(|t| t.name == stems[i].0)
            .and_then(|t| t.vs_prior_lu)
            .unwrap_or(0.0)
    };
    let loose = |k: usize| (0..n).filter(|&j| j != k).all(|j| role_of(j) == "other");
    if let Some(l) = lead {
        for db in [8.0, 14.0] {
            if db < 8.0 + LOOSE_REFERENCE_LU && loose(l) {
                println!(
                    "   plant lead buried {db:.0} dB   {}: n/a (every other track's role is unknown: the thresholds are {LOOSE_REFERENCE_LU} LU looser)",
                    stems[l].0
                );
                continue;
            }
            out.push((
                format!("lead buried {db:.0} dB"),
                "stems.balance.lead_buried".into(),
                stems[l].0.clone(),
                gained(l, -db - vs_prior(l)),
            ));
        }
    }
    if n >= 3 {
        for db in [10.0, 16.0] {
            if db < 10.0 + LOOSE_REFERENCE_LU && loose(other) {
                println!(
                    "   plant track +{db:.0} dB        {}: n/a (every other track's role is unknown: the thresholds are {LOOSE_REFERENCE_LU} LU looser)",
                    stems[other].0
                );
                continue;
            }
            out.push((
                format!("track +{db:.0} dB"),
                "stems.balance.too_loud".into(),
                stems[other].0.clone(),
                gained(other, db - vs_prior(other)),
            ));
        }
    }
    // duplicate the bass (or the first stem)
    let bass = (0..n).find(|&i| role_of(i) == "bass").unwrap_or(0);
    let mut s = stems.clone();
    let copy = format!("{}_2", stems[bass].0);
    s.push((copy.clone(), stems[bass].1.clone()));
    out.push((
        "bass duplicated".into(),
        "stems.organisation.duplicate".into(),
        copy,
        s,
    ));
    // silent, and nearly silent (peak -70 dBFS): a part that was not recorded, two ways
    let mut s = stems.clone();
    for c in &mut s[other].1.channels {
        c.iter_mut().for_each(|v| *v = 0.0);
    }
    out.push((
        "stem silent".into(),
        "stems.organisation.silent".into(),
        stems[other].0.clone(),
        s,
    ));
    let peak = stems[other].1.sample_peak();
    if peak > 0.0 {
        let s = gained(other, -70.0 - 20.0 * f64::from(peak).log10());
        out.push((
            "stem near silent".into(),
            "stems.organisation.near_silent".into(),
            stems[other].0.clone(),
            s,
        ));
    }
    // at another rate: 48 kHz and 22.05 kHz
    if stems.len() >= 2 {
        for rate in [48_000, 22_050] {
            let mut s = stems.clone();
            s[other].1 = resample(&stems[other].1, rate).expect("resample");
            out.push((
                format!("stem at {:.2} kHz", f64::from(rate) / 1000.0),
                "stems.organisation.sample_rate".into(),
                stems[other].0.clone(),
                s,
            ));
        }
    }
    // offset by 0.1 and 0.5 s (the file starts with that much more)
    for shift in [0.1, 0.5] {
        let mut s = stems.clone();
        let pad = (shift * stems[other].1.sample_rate as f64) as usize;
        for c in &mut s[other].1.channels {
            let mut v = vec![0.0f32; pad];
            v.extend_from_slice(c);
            *c = v;
        }
        out.push((
            format!("stem offset {shift} s"),
            "stems.organisation.offset".into(),
            stems[other].0.clone(),
            s,
        ));
    }
    // a track of hiss only (an overdub where nothing was played), and one of mains hum only
    // (a DI left open: 50 Hz and its harmonics)
    let (sr, frames) = (stems[0].1.sample_rate, stems[0].1.frames());
    let mut rng = Rng::new(5);
    let mut lp = 0.0f64;
    let hiss: Vec<f32> = (0..frames)
        .map(|_| {
            lp += 0.5 * (rng.gaussian() - lp);
            (lp * 10f64.powf(-52.0 / 20.0)) as f32
        })
        .collect();
    let a = 10f64.powf(-40.0 / 20.0);
    let hum: Vec<f32> = (0..frames)
        .map(|i| {
            let t = i as f64 / f64::from(sr);
            (1..=5)
                .map(|h| a / h as f64 * (2.0 * std::f64::consts::PI * 50.0 * h as f64 * t).sin())
                .sum::<f64>() as f32
        })
        .collect();
    for (plant, name, x) in [
        ("noise-only track", "gtr_overdub", hiss),
        ("hum-only track", "di_bass_2", hum),
    ] {
        let mut s = stems.clone();
        s.push((name.into(), AudioBuffer::from_channels(sr, vec![x])));
        out.push((
            plant.into(),
            "stems.organisation.noise_only".into(),
            name.into(),
            s,
        ));
    }
    // clipped: +4 and +12 dB over full scale, hard clipped
    let peak = stems[other].1.sample_peak().max(1e-6);
    for db in [4.0, 12.0] {
        let mut s = stems.clone();
        let g = 10f32.powf(db / 20.0) / peak;
        for c in &mut s[other].1.channels {
            c.iter_mut().for_each(|v| *v = (*v * g).clamp(-1.0, 1.0));
        }
        out.push((
            format!("stem clipped +{db:.0} dB"),
            "stems.organisation.clipped".into(),
            stems[other].0.clone(),
            s,
        ));
    }
    // heavy reverb (T60 3 and 6 s, as loud as the dry part) on a percussive or plucked track
    let pick = ["snare", "keys", "guitar", "percussion"]
        .iter()
        .find_map(|r| (0..n).find(|&i| role_of(i) == *r))
        .or(lead)
        .unwrap_or(other);
    for t60 in [3.0, 6.0] {
        let mut s = stems.clone();
        s[pick].1 = reverberate(&stems[pick].1, t60, 0.0);
        out.push((
            format!("stem reverb T60 {t60:.0} s"),
            "stems.effects.reverb".into(),
            stems[pick].0.clone(),
            s,
        ));
    }
    out
}

/// `b` plus a reverb of decay time `t60` s (decaying noise) whose return has `wet_db` dB the
/// energy of the dry signal; the same length.
fn reverberate(b: &AudioBuffer, t60: f64, wet_db: f64) -> AudioBuffer {
    let mut rng = Rng::new(99);
    add_decaying_noise_reverb(b, t60, wet_db, &mut |_| rng.gaussian(), false)
}

/// Load and check a 16-stem, 3-minute folder made of one song's stems (each looped to 3
/// minutes; two more made from scaled copies), written as 24-bit WAVs.
fn timing(tmp: &Path, stems: &Stems) {
    let target = 180.0;
    let mut long: Stems = stems
        .iter()
        .map(|(n, b)| {
            let frames = (target * b.sample_rate as f64) as usize;
            let ch = b
                .channels
                .iter()
                .map(|c| c.iter().cycle().take(frames).copied().collect())
                .collect();
            (n.clone(), AudioBuffer::from_channels(b.sample_rate, ch))
        })
        .collect();
    let mut k = 0;
    while long.len() < 16 {
        let (n, mut b) = long[k % stems.len()].clone();
        b.apply_gain(0.7);
        long.push((format!("{n}_double"), b));
        k += 1;
    }
    long.truncate(16);
    let folder = tmp.join("timing16");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("folder");
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Int24,
        dither: false,
        dither_seed: 0,
    };
    for (name, b) in &long {
        write_file(&folder.join(format!("{name}.wav")), b, &spec).expect("write");
    }
    drop(long);
    for round in 0..2 {
        let t = Instant::now();
        let (audio, org) = load_folder(&folder, &|_, _| {}).expect("load");
        let t_load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let d = check_stems(&org, &audio);
        let t_check = t.elapsed().as_secs_f64();
        println!(
            "\n== timing (round {round}): 16 stems x {:.0} s: load_folder {t_load:.2} s, check_stems {t_check:.2} s, total {:.2} s ({} findings)",
            org.frames as f64 / org.sample_rate as f64,
            t_load + t_check,
            d.findings.len()
        );
    }
    let _ = std::fs::remove_dir_all(&folder);
}
