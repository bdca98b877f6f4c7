//! The noise and reverb checks on real music: `noise_reverb_corpus [FILES or DIRS...]`.
//!
//! Decodes each file (default: every FLAC in `../shared/corpus/masters`), runs
//! `diagnose::noise::check` and `diagnose::reverb::check`, and prints every finding, the
//! measurements behind them and the time each check took. Then it times both checks on a
//! 3-minute stereo song (the first file repeated) in release.
//!
//! `cargo run --release -p mixdown-core --example noise_reverb_corpus`

use mixdown_core::diagnose::{noise, reverb, Finding};
use mixdown_core::io::decode::decode_file;
use mixdown_core::AudioBuffer;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DEFAULT_DIR: &str = "../shared/corpus/masters";
const AUDIO_EXT: [&str; 8] = ["wav", "flac", "aif", "aiff", "mp3", "ogg", "m4a", "wave"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inputs: Vec<PathBuf> = if args.is_empty() {
        vec![PathBuf::from(DEFAULT_DIR)]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for p in &inputs {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| is_audio(f))
                        .collect();
                    v.sort();
                    files.extend(v);
                }
                Err(e) => eprintln!("{}: {e}", p.display()),
            }
        } else {
            files.push(p.clone());
        }
    }
    let mut first: Option<AudioBuffer> = None;
    for path in &files {
        let buf = match decode_file(path) {
            Ok((b, _)) => b,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("?");
        println!(
            "== {name}: {:.1} s, {} ch, {} Hz",
            buf.duration_s(),
            buf.num_channels(),
            buf.sample_rate
        );
        let t = Instant::now();
        let nm = noise::measure(&buf);
        let t_noise = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let re = reverb::estimate(&buf);
        let t_reverb = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "   noise: loud {:?} quiet {:?} dBFS, hiss {:?}, hum {:?}, clicks {}, dc {:?} %  [{t_noise:.0} ms]",
            nm.loud_dbfs,
            nm.quiet_dbfs,
            nm.hiss.as_ref().map(|h| (h.floor_dbfs, h.slope_db_per_oct, h.exposed_s)),
            nm.hum.as_ref().map(|h| (h.fundamental_hz, h.level_dbfs, h.score_db)),
            nm.clicks.len(),
            nm.dc_percent
        );
        for c in nm.clicks.iter().take(30) {
            println!(
                "      click {:.3} s: peak {:.1} dBFS, {:.1} dB above local, {:.1} dB above signal, ch {:?}",
                c.time_s, c.peak_dbfs, c.above_local_db, c.above_signal_db, c.channels
            );
        }
        println!("   reverb: {}  [{t_reverb:.0} ms]", describe(&re));
        let mut all: Vec<Finding> = noise::findings(&nm, buf.duration_s());
        all.extend(reverb::finding(&re));
        if all.is_empty() {
            println!("   no findings");
        }
        for f in &all {
            print_finding(f);
        }
        if first.is_none() && buf.num_channels() == 2 {
            first = Some(buf);
        }
    }
    if let Some(b) = first {
        time_three_minutes(&b);
    }
}

fn describe(r: &reverb::ReverbEstimate) -> String {
    serde_json::to_string(r).unwrap_or_default()
}

fn print_finding(f: &Finding) {
    let times: Vec<String> = f
        .times
        .iter()
        .take(8)
        .map(|t| format!("{:.2}-{:.2}", t.start_s, t.end_s))
        .collect();
    println!(
        "   [{}] {}: {} (measured {} {}, threshold {}){}{}",
        f.severity.name(),
        f.rule,
        f.title,
        f.measured,
        f.unit,
        f.threshold,
        if times.is_empty() {
            String::new()
        } else {
            format!(
                " at {}{}",
                times.join(", "),
                if f.times.len() > 8 {
                    format!(" (+{} more)", f.times.len() - 8)
                } else {
                    String::new()
                }
            )
        },
        if f.bands_hz.is_empty() {
            String::new()
        } else {
            format!(" bands {:?}", f.bands_hz)
        }
    );
}

/// Both checks on a 3-minute stereo song made by repeating `b`.
fn time_three_minutes(b: &AudioBuffer) {
    let want = b.sample_rate as usize * 180;
    let channels: Vec<Vec<f32>> = b
        .channels
        .iter()
        .map(|c| c.iter().copied().cycle().take(want).collect())
        .collect();
    let song = AudioBuffer::from_channels(b.sample_rate, channels);
    for run in 0..3 {
        let t = Instant::now();
        let n = noise::check(&song);
        let t_noise = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let r = reverb::check(&song);
        let t_reverb = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "3-minute stereo song, run {run}: noise::check {t_noise:.0} ms ({} findings), \
             reverb::check {t_reverb:.0} ms ({} findings)",
            n.len(),
            r.len()
        );
    }
}

fn is_audio(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXT.contains(&e.to_ascii_lowercase().as_str()))
}
