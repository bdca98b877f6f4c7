//! Roles on the real multitrack corpus: per stem, the role the name gives, the role the audio
//! alone gives (the stem classified under an uninformative name), and the presence per song
//! (from the name-based roles and from the content-only roles); then the content-only confusion
//! against the name-based roles.
//!
//! `cargo run --release -p mixdown-core --example roles_corpus [corpus dir]`
//! (default: `/work/shared/corpus/multitrack`; every `*/*.flac` but `mix.flac`); `--bench`
//! times `content_features` on 3-minute stems only.

use mixdown_core::io::decode::decode_file;
use mixdown_core::mix::roles::{
    assign_presence, classify, content_features, ContentFeatures, GuessSource,
};
use mixdown_core::mix::Role;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        bench();
        return;
    }
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/work/shared/corpus/multitrack".into()),
    );
    let mut songs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    songs.sort();
    // (name role, content role) per stem, for the confusion
    let mut pairs: Vec<(Role, Role)> = Vec::new();
    let mut total_ms = 0.0;
    let mut total_s = 0.0;
    for song in &songs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(song)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "flac"))
            .filter(|p| p.file_stem().is_some_and(|s| s != "mix"))
            .collect();
        files.sort();
        if files.is_empty() {
            continue;
        }
        let mut stems = Vec::new();
        let mut feats: Vec<ContentFeatures> = Vec::new();
        for p in &files {
            let (buf, _) = match decode_file(p) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{}: {e}", p.display());
                    continue;
                }
            };
            let t = std::time::Instant::now();
            let f = content_features(&buf);
            total_ms += t.elapsed().as_secs_f64() * 1000.0;
            total_s += buf.duration_s();
            stems.push(p.file_stem().unwrap().to_string_lossy().to_string());
            feats.push(f);
        }
        let mut by_name: Vec<_> = stems
            .iter()
            .zip(&feats)
            .map(|(s, f)| classify(s, f))
            .collect();
        let mut by_content: Vec<_> = feats.iter().map(|f| classify("track", f)).collect();
        assign_presence(&mut by_name, &feats);
        assign_presence(&mut by_content, &feats);
        println!("\n== {}", song.file_name().unwrap().to_string_lossy());
        println!(
            "  {:<24} {:<16} {:<11} | {:<16} {:<5} {:<11}",
            "stem", "name role", "presence", "content role", "conf", "presence"
        );
        for i in 0..stems.len() {
            let (n, c) = (&by_name[i], &by_content[i]);
            let mark = if n.source != GuessSource::Name {
                ""
            } else if n.role == c.role {
                "ok"
            } else if audio_can_say(n.role).contains(&c.role) {
                "close"
            } else if n.role.is_drum() && c.role.is_drum() {
                "~drum"
            } else {
                "MISS"
            };
            println!(
                "  {:<24} {:<16} {:<11} | {:<16} {:<5.2} {:<11} {}",
                stems[i],
                format!(
                    "{}{}",
                    n.role.name(),
                    if n.source == GuessSource::Content {
                        "*"
                    } else {
                        ""
                    }
                ),
                n.presence.name(),
                c.role.name(),
                c.confidence,
                c.presence.name(),
                mark
            );
            if std::env::var_os("ROLES_WHY").is_some() {
                println!("      name: {} / {}", n.why, n.presence_why);
                println!("      content: {} / {}", c.why, c.presence_why);
            }
            // a name that says nothing is no truth to score against
            if n.source == GuessSource::Name {
                pairs.push((n.role, c.role));
            }
        }
    }

    // confusion: name role (truth) -> content role
    let mut conf: BTreeMap<Role, BTreeMap<Role, usize>> = BTreeMap::new();
    for &(t, c) in &pairs {
        *conf.entry(t).or_default().entry(c).or_default() += 1;
    }
    println!("\n== content only vs name (truth: the name's role; stems whose name says nothing left out)");
    for (t, row) in &conf {
        let n: usize = row.values().sum();
        let ok = row.get(t).copied().unwrap_or(0);
        let cells: Vec<String> = row
            .iter()
            .map(|(c, k)| format!("{} {k}", c.name()))
            .collect();
        println!("  {:<16} {ok}/{n}   -> {}", t.name(), cells.join(", "));
    }
    let count = |f: &dyn Fn(Role, Role) -> bool| pairs.iter().filter(|&&(t, c)| f(t, c)).count();
    let n = pairs.len();
    let exact = count(&|t, c| t == c);
    println!(
        "  exact: {exact}/{n} ({:.0}%)",
        100.0 * exact as f64 / n as f64
    );
    let close = count(&|t, c| audio_can_say(t).contains(&c));
    println!(
        "  as close as the audio can say: {close}/{n} ({:.0}%)",
        100.0 * close as f64 / n as f64
    );
    let drums = count(&|t, _| t.is_drum());
    let drums_exact = count(&|t, c| t.is_drum() && t == c);
    let drums_fam = count(&|t, c| t.is_drum() && c.is_drum());
    println!("  drums: exact {drums_exact}/{drums}, some drum {drums_fam}/{drums}");
    let bass = count(&|t, _| t == Role::Bass);
    let bass_ok = count(&|t, c| t == Role::Bass && c == Role::Bass);
    println!("  bass: {bass_ok}/{bass}");
    let melodic = |r: Role| !r.is_drum() && !matches!(r, Role::Bass | Role::Fx | Role::Other);
    let mel = count(&|t, _| melodic(t));
    let mel_ok = count(&|t, c| melodic(t) && melodic(c));
    println!("  melodic (any pitched role but bass): {mel_ok}/{mel}");
    let false_drum = count(&|t, c| !t.is_drum() && c.is_drum());
    println!("  non-drums taken for drums: {false_drum}");
    println!(
        "  content_features: {total_ms:.0} ms for {total_s:.0} s of audio ({:.2} ms per minute)",
        total_ms / (total_s / 60.0)
    );
    bench();
}

/// The content answers that are right for a role the audio cannot name: the rules never say
/// brass, strings, organ or vocals (a sax line is a lead instrument, a string section a pad).
fn audio_can_say(truth: Role) -> Vec<Role> {
    match truth {
        Role::Brass | Role::Strings => vec![Role::LeadInstrument, Role::Pad],
        Role::Organ => vec![Role::Pad, Role::Keys],
        Role::LeadVocal => vec![Role::LeadInstrument],
        Role::BackingVocal => vec![Role::Pad, Role::LeadInstrument],
        r => vec![r],
    }
}

/// `content_features` on 3-minute 44.1 kHz stems of the demo song (stereo hats and chords,
/// mono kick and lead): best of 15, ms (the machine may be busy with other work: the best run
/// is the least disturbed).
fn bench() {
    let song = mixdown_core::demo::synth_song(44100, 180.0, 1);
    for s in &song.stems {
        if !matches!(s.name.as_str(), "hats" | "chords" | "kick" | "lead") {
            continue;
        }
        let best = (0..15)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(content_features(std::hint::black_box(&s.buffer)));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "  3 min {} ({} ch): {best:.1} ms",
            s.name,
            s.buffer.num_channels()
        );
    }
}
