//! Evaluation tool for the clean-up stage: `cleanup_stems IN_DIR OUT_DIR [--verbose]`.
//!
//! Decodes every audio file in IN_DIR, runs `analyse_and_plan` and `apply` on each, writes each
//! to OUT_DIR under the same base name as 32-bit float WAV, and prints each plan's reasons
//! (`--verbose`: also the measurements, the time taken and the hiss diagnostics). Files named
//! `mix.*` are skipped. `--plan-only` decides without rendering or writing.
//!
//! `cargo run --release -p mixdown-core --example cleanup_stems -- IN OUT`

use mixdown_core::io::decode::decode_file;
use mixdown_core::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
use mixdown_core::mix::cleanup::{
    analyse_and_plan, apply, hiss_diagnostics, hum_diagnostics, hum_score,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

const AUDIO_EXT: [&str; 8] = ["wav", "flac", "aif", "aiff", "mp3", "ogg", "m4a", "wave"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    let plan_only = args.iter().any(|a| a == "--plan-only");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if pos.len() != 2 {
        eprintln!("usage: cleanup_stems IN_DIR OUT_DIR [--verbose] [--plan-only]");
        std::process::exit(2);
    }
    let (inp, out) = (Path::new(pos[0]), Path::new(pos[1]));
    if let Err(e) = run(inp, out, verbose, plan_only) {
        eprintln!("cleanup_stems: {e}");
        std::process::exit(1);
    }
}

fn run(inp: &Path, out: &Path, verbose: bool, plan_only: bool) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(inp)
        .map_err(|e| format!("{}: {e}", inp.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXT.contains(&e.to_ascii_lowercase().as_str()))
                && p.file_stem().and_then(|s| s.to_str()) != Some("mix")
        })
        .collect();
    files.sort();
    if !plan_only {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Float32,
        dither: false,
        dither_seed: 0,
    };
    for path in files {
        let (mut buf, _) = decode_file(&path).map_err(|e| e.to_string())?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("stem");
        let diag = verbose.then(|| hiss_diagnostics(&buf));
        let hdiag = verbose.then(|| hum_diagnostics(&buf));
        let t0 = Instant::now();
        let plan = analyse_and_plan(&buf);
        let t_plan = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        if !plan_only {
            apply(&mut buf, &plan);
        }
        let t_apply = t1.elapsed().as_secs_f64();
        println!("{name}: {}", plan.why.join("; "));
        if verbose {
            println!(
                "    analyse {:.3} s, apply {:.3} s ({:.1} s of audio)",
                t_plan,
                t_apply,
                buf.duration_s()
            );
            println!(
                "    measured: {}",
                serde_json::to_string(&plan.measured).unwrap_or_default()
            );
            if let Some((stats, hiss)) = &diag {
                println!("    hiss search on the input: {hiss:?}");
                let bands: Vec<String> = (0..stats.band_hz.len())
                    .map(|b| {
                        format!(
                            "{:.0}:{:.1}/{:.1}/{:.1}",
                            stats.band_hz[b],
                            stats.floor_dbfs[b],
                            stats.spread_db[b],
                            stats.noise_spread_db[b]
                        )
                    })
                    .collect();
                println!("    bands: {}", bands.join(" "));
            }
            for c in hdiag.iter().flat_map(|h| &h.candidates) {
                let peaks: Vec<String> = c
                    .peaks
                    .iter()
                    .map(|p| {
                        format!(
                            "{}:{:.0}dBFS/p{:.1}/d{:.1}",
                            p.harmonic, p.level_dbfs, p.prominence_db, p.dominance_db
                        )
                    })
                    .collect();
                println!(
                    "    hum {:.0} ({:.4} Hz) score {:.1}: {}",
                    c.mains_hz,
                    c.fundamental_hz,
                    hum_score(c),
                    peaks.join(" ")
                );
            }
        }
        if !plan_only {
            let dst = out.join(format!("{name}.wav"));
            write_file(&dst, &buf, &spec).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
