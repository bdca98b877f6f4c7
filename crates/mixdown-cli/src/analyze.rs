//! `mixdown analyze`: a second opinion on a mix or master (or a folder of stems).

use clap::Args;
use mixdown_core::diagnose::translate::{simulate, Playback};
use mixdown_core::diagnose::{self, Diagnosis, JudgeAs, Severity};
use mixdown_core::io::decode::decode_file;
use mixdown_core::io::encode::{write_file, write_text, EncodeSpec, FileFormat, SampleFormat};
use mixdown_core::master;
use std::path::{Path, PathBuf};

pub const ANALYZE_HELP: &str = "\
What is checked (each a named rule; `--json` lists them with their figures):
  clipping, true peak       full-scale runs, flat tops, inter-sample overs above 0 dBTP
  dynamics                  low PLR, flattened loudness, limiter pinning, tiny loudness range
  headroom (as a mix)       peaks near 0 dBFS, already limited, mastered loud
  loudness (as a master)    how Spotify, Apple Music, YouTube, broadcast turn it up or down
  tonal balance             low end, mud, boxiness, harshness, sibilance, dullness
  stereo                    phase, mono compatibility, low end not mono, L/R imbalance, width
  noise                     hiss in the quiet passages, mains hum, clicks, DC offset
  reverb                    a wash that blurs the hits (decay times measured on the music)
  a folder of stems         the lead buried or a track far too loud for its role, tracks that
                            mask each other, bass or kick off centre, a lopsided image, heavy
                            reverb or squashed dynamics on a track, unnamed, duplicate, silent,
                            noise-only, clipped or misaligned tracks, other sample rates

Severity: problem (fix it), warning (likely a mistake: check it), info (worth knowing).
A file is judged as a pre-master mix when it peaks at or under -2 dBTP and reads at most
-16 LUFS, else as a finished master; --as decides instead.

Exit status: 0, or 3 when --fail-on finds something at that severity or above; 1 on error.

Examples:
  mixdown analyze song.wav
  mixdown analyze song.wav --as mix
  mixdown analyze song.wav --json > findings.json
  mixdown analyze song.wav --fail-on warning            (in a pipeline)
  mixdown analyze song.wav --translate --translate-out sims/";

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The song to check (WAV, FLAC, AIFF, MP3, Ogg, M4A), or a folder of stems.
    path: PathBuf,
    /// Print the diagnosis as JSON (schema: docs/analyze-schema.md) instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the JSON diagnosis to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Exit with status 3 when a finding is at least this serious: info, warning or problem.
    #[arg(long = "fail-on", value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// Judge as a pre-master `mix` (headroom expected) or a finished `master`; default: guessed
    /// from the levels.
    #[arg(long = "as", value_name = "mix|master")]
    judge: Option<String>,
    /// Simulate playback on a phone, laptop speakers, earbuds, a car and in mono, and say what
    /// is lost on each.
    #[arg(long)]
    translate: bool,
    /// Write each playback simulation to this folder as WAV (implies --translate).
    #[arg(long = "translate-out", value_name = "DIR")]
    translate_out: Option<PathBuf>,
    /// Explain the information findings too, not only warnings and problems.
    #[arg(long, short)]
    verbose: bool,
    /// Print nothing (the exit status and --report still work).
    #[arg(long, short)]
    quiet: bool,
}

/// Exit status when --fail-on finds something.
pub const FAIL_ON_STATUS: u8 = 3;

/// Runs the command; `Ok(true)` when --fail-on was triggered.
pub fn cmd_analyze(a: AnalyzeArgs) -> Result<bool, String> {
    let fail_on = a
        .fail_on
        .as_deref()
        .map(|s| {
            Severity::parse(s)
                .ok_or_else(|| format!("--fail-on {s}: choose info, warning or problem"))
        })
        .transpose()?;
    let judge = a
        .judge
        .as_deref()
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "mix" => Ok(JudgeAs::Mix),
            "master" => Ok(JudgeAs::Master),
            _ => Err(format!("--as {s}: choose mix or master")),
        })
        .transpose()?;
    if let Some(r) = &a.report {
        master::run::check_output_path(r, &[&a.path]).map_err(|e| e.to_string())?;
    }
    let opts = diagnose::Options {
        judge,
        translate: a.translate || a.translate_out.is_some(),
    };
    let input = a.path.display().to_string();
    let d = if a.path.is_dir() {
        let pb = crate::progress_bar(a.quiet);
        pb.set_message("load stems");
        let loaded = mixdown_core::mix::organise::load_folder(&a.path, &|k, n| {
            pb.set_position((k * 1000 / n.max(1)) as u64)
        });
        pb.set_message("analyse");
        let (audio, org) = loaded.map_err(|e| e.to_string())?;
        let d = diagnose::analyze::diagnose_stems(&org, &audio, &input, &opts);
        pb.finish_and_clear();
        if let Some(dir) = &a.translate_out {
            let sum = diagnose::stems::sum_stems(&org, &audio);
            write_simulations(dir, &a.path.join("stems-sum"), &sum)?;
        }
        d
    } else {
        let (buf, _info) = decode_file(&a.path).map_err(|e| e.to_string())?;
        master::run::check_audio(&a.path, &buf).map_err(|e| e.to_string())?;
        let d = diagnose::diagnose_file(&buf, &input, &opts);
        if let Some(dir) = &a.translate_out {
            write_simulations(dir, &a.path, &buf)?;
        }
        d
    };
    emit(&a, &d)?;
    Ok(fail_on.is_some_and(|s| d.has_at_least(s)))
}

fn emit(a: &AnalyzeArgs, d: &Diagnosis) -> Result<(), String> {
    let json = serde_json::to_string_pretty(d).map_err(|e| format!("{}: {e}", a.path.display()))?;
    if let Some(r) = &a.report {
        write_text(r, &(json.clone() + "\n"), "the diagnosis").map_err(|e| e.to_string())?;
    }
    if a.quiet {
        return Ok(());
    }
    if a.json {
        println!("{json}");
    } else {
        print!("{}", d.text(a.verbose));
        if let Some(dir) = &a.translate_out {
            println!("\nSimulations written to {}", dir.display());
        }
        if let Some(r) = &a.report {
            println!("Diagnosis (JSON): {}", r.display());
        }
    }
    Ok(())
}

/// Each playback simulation of `buf` as `DIR/<name>.<system>.wav` (24-bit, dithered).
fn write_simulations(
    dir: &Path,
    input: &Path,
    buf: &mixdown_core::AudioBuffer,
) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
    let name = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "song".into());
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Int24,
        dither: true,
        dither_seed: 0,
    };
    for p in Playback::ALL {
        let out = dir.join(format!("{name}.{}.wav", p.name()));
        master::run::check_output_path(&out, &[input]).map_err(|e| e.to_string())?;
        let sim = simulate(buf, p);
        write_file(&out, &sim, &spec).map_err(|e| e.to_string())?;
    }
    Ok(())
}
