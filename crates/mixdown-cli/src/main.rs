//! The `mixdown` command: a thin shell over mixdown-core. Parses arguments, shows progress,
//! prints summaries and one-line errors. All the work happens in the library.

mod analyze;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mixdown_core::master::{self, MasterJob, MasterOptions};
use mixdown_core::report::MasterReport;
use mixdown_core::targets::{Target, PRESETS};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  mixdown demo                                    synthesise a song, master it, show the result
  mixdown master song.wav -o song-master.wav      master for streaming (-14 LUFS, -1 dBTP)
  mixdown master song.flac -o out.flac --target apple --report report.json
  mixdown master song.wav -o out.wav --lufs -16 --true-peak -1.5
  mixdown analyze song.wav                        a second opinion: the mistakes, measured

Every master is measured after it is made, by mixdown's meters and by an independent one
(the ebur128 crate); the summary says plainly if a target could not be reached.";

#[derive(Parser, Debug)]
#[command(
    name = "mixdown",
    version,
    about = "Automatic mixing and mastering, with every decision shown.",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Master a finished mix for a destination (streaming, CD, broadcast, podcast...).
    #[command(after_help = master_help())]
    Master(MasterArgs),
    /// Mix a folder of stems into a balanced, clean, mastered song, and write a Session file
    /// with every decision.
    #[command(after_help = MIX_HELP)]
    Mix(MixArgs),
    /// Play back a Session file (after editing it): the same mix, bit for bit, with your changes.
    Render(RenderArgs),
    /// A second opinion: find the common mixing and mastering mistakes in a song (or a folder
    /// of stems), measure them, and say what they mean and how to fix them.
    #[command(after_help = analyze::ANALYZE_HELP)]
    Analyze(analyze::AnalyzeArgs),
    /// No files needed: synthesise a short song, write its stems and mix, master it, and
    /// show the before/after figures.
    Demo(DemoArgs),
}

const MIX_HELP: &str = "\
What the mix does, in order, for every track (all of it written into the Session):
  organise   one sample rate and length; silent, duplicated, clipped tracks reported
  roles      kick, snare, bass, lead vocal... from the file name, else from the sound
  clean-up   hum, hiss, noise between phrases, DC offset; only where measured
  strip      high-pass by role, resonance cuts, cuts that make room for more important
             tracks, compression from the crest factor, de-essing for vocals
  balance    faders from balance priors by role and presence (the lead on top)
  image      kick, snare, bass and leads centred; similar tracks mirrored; low end mono
  effects    reverb and delay on shared buses, returns well under the dry mix
  master     the mastering chain of `mixdown master` (or --no-master)

Examples:
  mixdown mix stems/ -o song.wav
  mixdown mix stems/ -o song.wav --session song.toml --stems-out processed/ --report report.json
  mixdown render song.toml -o song-v2.wav         (after editing song.toml)
  mixdown mix stems/ --role lead_vox=vox_take3.wav --presence guitar_solo=lead -o song.wav";

#[derive(Args, Debug)]
struct MixArgs {
    /// The folder holding the song's stems (WAV, FLAC, AIFF, MP3, Ogg, M4A).
    stems: PathBuf,
    /// Where to write the mix (.wav or .flac).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Write the Session (every decision, editable) here, as TOML.
    #[arg(long, value_name = "FILE")]
    session: Option<PathBuf>,
    /// Write each processed track here (after its strip, fader and pan; no effects), 32-bit float.
    #[arg(long = "stems-out", value_name = "DIR")]
    stems_out: Option<PathBuf>,
    /// Write a JSON report of every measurement and decision here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The mix alone, without mastering (peaks around -6 dBFS).
    #[arg(long = "no-master")]
    no_master: bool,
    /// Set a track's role: NAME=ROLE (kick, snare, hats, toms, cymbals, percussion, bass, lead_vocal,
    /// backing_vocal, guitar, keys, organ, pad, strings, brass, lead_instrument, fx, other). Repeatable.
    #[arg(long = "role", value_name = "NAME=ROLE")]
    roles: Vec<String>,
    /// Set a track's presence: NAME=lead|normal|background (NAME: the file or its name without
    /// the extension). Repeatable.
    #[arg(long = "presence", value_name = "NAME=PRESENCE")]
    presences: Vec<String>,
    #[command(flatten)]
    chain: ChainArgs,
    /// Output bit depth: 16, 24 (default) or 32 (float, WAV only).
    #[arg(long = "bit-depth", value_name = "BITS")]
    bit_depth: Option<u32>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RenderArgs {
    /// The Session file written by `mixdown mix --session`.
    session: PathBuf,
    /// Where to write the mix (.wav or .flac).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Write each processed track here, 32-bit float.
    #[arg(long = "stems-out", value_name = "DIR")]
    stems_out: Option<PathBuf>,
    /// Output bit depth: 16, 24 (default) or 32.
    #[arg(long = "bit-depth", value_name = "BITS")]
    bit_depth: Option<u32>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn master_help() -> String {
    let mut s = String::from("Targets:\n");
    for (name, _, _, what) in PRESETS {
        s += &format!("  {name:<10} {what}\n");
    }
    s += "\nThe chain, in order (each stage can be switched off):\n\
  1. tonal EQ toward a target curve (gentle, bounded; --amount)\n\
  2. glue compression, backed off if it would flatten the song\n\
  3. stereo: mono bass below a crossover when the low end is wide; optional width\n\
  4. true-peak limiter (4x oversampled detection, look-ahead, no clipping)\n\
  5. loudness: gain found by measuring after the limiter until the target is met\n\
  6. TPDF dither to the output bit depth\n\
\nWith --reference (or --match-file), stage 1 becomes a reference match: a linear-phase\n\
mid/side EQ that moves the song's long-term spectrum (measured where it is loud) onto the\n\
reference's, and its width band by band, bounded (+12/-20 dB) and never boosting what the\n\
song does not have; glue and limiting follow the reference's density, and the loudness\n\
target is the reference's unless --target/--lufs is given. --match sets how far each part\n\
goes. Examples:\n\
  mixdown master song.wav --reference ref.flac -o out.wav\n\
  mixdown master song.wav -r a.wav -r b.wav --save-match album.toml -o out.wav\n\
  mixdown master next.wav --match-file album.toml --match tone=0.7,dynamics=0.5 -o next-master.wav\n\
  mixdown master song.wav -r ref.wav --preview ab/ -o out.wav\n";
    s
}

#[derive(Args, Debug, Clone)]
struct ChainArgs {
    /// Delivery target: streaming, apple, youtube, cd, broadcast, podcast.
    #[arg(long, short = 't', value_name = "NAME")]
    target: Option<String>,
    /// Integrated loudness to reach, LUFS (overrides the target's).
    #[arg(long, value_name = "LUFS", allow_hyphen_values = true)]
    lufs: Option<f64>,
    /// True-peak ceiling, dBTP (overrides the target's).
    #[arg(long = "true-peak", value_name = "DBTP", allow_hyphen_values = true)]
    true_peak: Option<f64>,
    /// How far the tonal EQ moves toward the target curve, 0 to 1.
    #[arg(long, default_value_t = 0.5, value_name = "0..1")]
    amount: f64,
    /// Most loudness the limiter may take away before mixdown stops pushing, LU.
    #[arg(long = "max-limiting", default_value_t = master::decide::DEFAULT_MAX_LIMITING_LU, value_name = "LU")]
    max_limiting: f64,
    /// Make the bass mono below this frequency (default: only when the low end is wide, at 120 Hz).
    #[arg(long = "mono-bass", value_name = "HZ")]
    mono_bass: Option<f64>,
    /// Stereo width above the bass crossover (1 = unchanged, 0 = mono, 1.2 = wider).
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    width: f64,
    /// Switch off the tonal EQ.
    #[arg(long = "no-eq")]
    no_eq: bool,
    /// Switch off the glue compressor.
    #[arg(long = "no-glue")]
    no_glue: bool,
    /// Switch off the stereo stage (mono bass, width).
    #[arg(long = "no-stereo")]
    no_stereo: bool,
    /// Switch off the limiter (the ceiling is then kept by lowering the gain).
    #[arg(long = "no-limiter")]
    no_limiter: bool,
    /// Switch off the loudness stage (no gain change; the limiter still keeps the ceiling).
    #[arg(long = "no-loudness")]
    no_loudness: bool,
}

#[derive(Args, Debug)]
struct MasterArgs {
    /// The mix to master (WAV, FLAC, AIFF, MP3, Ogg Vorbis, M4A/AAC; mono or stereo).
    input: PathBuf,
    /// Where to write the master (.wav or .flac). Never the input.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
    /// Output bit depth: 16, 24, or 32 (32-bit float, WAV only). Default: 24, or 16 for a 16-bit WAV source.
    #[arg(long = "bit-depth", value_name = "BITS")]
    bit_depth: Option<u32>,
    /// Output sample rate (default: the input's), converted with a high-quality resampler.
    #[arg(long = "sample-rate", value_name = "HZ")]
    sample_rate: Option<u32>,
    /// Write a JSON report of every measurement and every choice here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Match this record: its tone (mid and side), width, dynamics and loudness. Give it more
    /// than once to match the average of several. Its loudness is the target unless --target
    /// or --lufs is given; the true-peak ceiling stays (-1 dBTP by default).
    #[arg(long = "reference", short = 'r', value_name = "FILE")]
    reference: Vec<PathBuf>,
    /// How far to match each part, 0 (leave the song as it is) to 1 (all the way), e.g.
    /// tone=0.7,width=1,dynamics=0.5,loudness=1. Parts not named stay at 1.
    #[arg(long = "match", value_name = "PARTS")]
    match_amounts: Option<String>,
    /// Save the reference's measured profile (tone, width, dynamics, loudness) as a TOML match
    /// file, to master a whole album toward it with --match-file.
    #[arg(long = "save-match", value_name = "FILE")]
    save_match: Option<PathBuf>,
    /// Match a saved match file instead of a reference recording.
    #[arg(long = "match-file", value_name = "FILE")]
    match_file: Option<PathBuf>,
    /// Write the loudest 30 s of the original and of the master here, at the same loudness,
    /// for an honest A/B (NAME.original.wav, NAME.master.wav).
    #[arg(long, value_name = "DIR")]
    preview: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// The reference part of a master job, checked.
fn reference_job(a: &MasterArgs) -> Result<Option<master::run::ReferenceJob>, String> {
    let any = !a.reference.is_empty() || a.match_file.is_some();
    if !any {
        for (given, flag) in [
            (a.match_amounts.is_some(), "--match"),
            (a.save_match.is_some(), "--save-match"),
        ] {
            if given {
                return Err(format!(
                    "{flag} needs a reference: add --reference FILE (or --match-file FILE)"
                ));
            }
        }
        return Ok(None);
    }
    if a.match_file.is_some() && !a.reference.is_empty() {
        return Err(
            "give either --reference or --match-file, not both (a match file is a measured reference)"
                .into(),
        );
    }
    if a.match_file.is_some() && a.save_match.is_some() {
        return Err(
            "--save-match saves a measured reference; with --match-file it is already saved".into(),
        );
    }
    let amounts = match &a.match_amounts {
        Some(s) => master::reference::MatchAmounts::parse(s)?,
        None => Default::default(),
    };
    Ok(Some(master::run::ReferenceJob {
        references: a.reference.clone(),
        match_file: a.match_file.clone(),
        save_match: a.save_match.clone(),
        amounts,
        target_given: a.chain.target.is_some() || a.chain.lufs.is_some(),
    }))
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Folder for the demo's files (stems, rough mix, master, report).
    #[arg(long, short, default_value = "mixdown-demo", value_name = "DIR")]
    out: PathBuf,
    /// Length of the song, seconds (20 to 40).
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    #[command(flatten)]
    chain: ChainArgs,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn options(c: &ChainArgs) -> Result<MasterOptions, String> {
    let target = Target::resolve(c.target.as_deref(), c.lufs, c.true_peak)?;
    if !(0.0..=1.0).contains(&c.amount) {
        return Err(format!(
            "--amount {} is out of range; give 0 to 1",
            c.amount
        ));
    }
    if !(0.0..=20.0).contains(&c.max_limiting) {
        return Err(format!(
            "--max-limiting {} is out of range; give 0 to 20 LU",
            c.max_limiting
        ));
    }
    if !(0.0..=2.0).contains(&c.width) {
        return Err(format!("--width {} is out of range; give 0 to 2", c.width));
    }
    if let Some(f) = c.mono_bass {
        if !(20.0..=500.0).contains(&f) {
            return Err(format!(
                "--mono-bass {f} is out of range; give 20 to 500 Hz"
            ));
        }
    }
    let mut o = MasterOptions::new(target);
    o.eq_amount = c.amount;
    o.max_limiting_lu = c.max_limiting;
    o.mono_bass_hz = c.mono_bass;
    o.width = c.width;
    o.eq = !c.no_eq;
    o.glue = !c.no_glue;
    o.stereo = !c.no_stereo;
    o.limiter = !c.no_limiter;
    o.loudness = !c.no_loudness;
    Ok(o)
}

/// A progress bar on stderr, hidden when quiet or not a terminal.
pub(crate) fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(1000);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:<22} [{bar:30}] {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// Stages and their share of the bar.
fn stage_span(stage: &str) -> (f64, f64) {
    match stage {
        "decode" => (0.0, 0.15),
        "match" => (0.4, 0.45),
        "resample" => (0.15, 0.2),
        "analyse" => (0.2, 0.3),
        "decide" => (0.3, 0.45),
        "eq and glue" => (0.45, 0.6),
        "stereo" => (0.6, 0.62),
        "diagnose" => (0.3, 0.45),
        "limiter and loudness" => (0.62, 0.8),
        "verify" => (0.8, 0.9),
        "encode" => (0.9, 1.0),
        _ => (0.0, 1.0),
    }
}

fn write_report(path: &Path, report: &MasterReport, inputs: &[&Path]) -> Result<(), String> {
    master::run::check_output_path(path, inputs).map_err(|e| e.to_string())?;
    let json =
        serde_json::to_string_pretty(report).map_err(|e| format!("{}: {e}", path.display()))?;
    mixdown_core::io::encode::write_text(path, &(json + "\n"), "the report")
        .map_err(|e| e.to_string())
}

fn cmd_master(a: MasterArgs) -> Result<(), String> {
    let opts = options(&a.chain)?;
    if let Some(r) = &a.report {
        master::run::check_output_path(r, &[&a.input]).map_err(|e| e.to_string())?;
        if r == &a.output {
            return Err(format!(
                "{}: the report and the master cannot be the same file",
                r.display()
            ));
        }
    }
    let job = MasterJob {
        input: a.input.clone(),
        output: a.output.clone(),
        options: opts,
        sample_rate: a.sample_rate,
        bit_depth: a.bit_depth,
        diagnose: a.report.is_some(),
        reference: reference_job(&a)?,
        preview: a.preview.clone(),
    };
    let pb = progress_bar(a.quiet);
    mixdown_core::timing::mark("start");
    let report = master::run(&job, &|stage, frac| {
        let (lo, hi) = stage_span(stage);
        pb.set_message(stage.to_string());
        pb.set_position(((lo + (hi - lo) * frac) * 1000.0) as u64);
        if frac == 0.0 || frac == 1.0 {
            mixdown_core::timing::mark(&format!("{stage} {frac:.2}"));
        }
    })
    .map_err(|e| e.to_string());
    pb.finish_and_clear();
    let report = report?;
    if let Some(r) = &a.report {
        write_report(r, &report, &[&a.input])?;
    }
    if !a.quiet {
        println!(
            "mixdown master: {} -> {}\n",
            a.input.display(),
            a.output.display()
        );
        print!("{}", report.summary());
        if let Some(p) = &report.preview {
            println!(
                "Preview (A/B at {:.1} LUFS, {:.0} s from {}): {}  {}",
                p.lufs,
                p.duration_s,
                master::run::clock(p.start_s),
                p.original,
                p.master
            );
        }
        if let Some(m) = &a.save_match {
            println!("Match file: {}", m.display());
        }
        if let Some(r) = &a.report {
            println!("Report: {}", r.display());
        }
    }
    Ok(())
}

/// Parse `NAME=VALUE` pairs.
fn pairs<T>(
    list: &[String],
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    choices: &str,
) -> Result<Vec<(String, T)>, String> {
    list.iter()
        .map(|s| {
            let (n, v) = s
                .split_once('=')
                .ok_or_else(|| format!("--{what} {s}: write NAME={}", what.to_uppercase()))?;
            // either order: NAME=ROLE or ROLE=NAME (`--role lead_vox=vox_take3.wav`)
            match (parse(v), parse(n)) {
                (Some(x), _) => Ok((n.trim().to_string(), x)),
                (None, Some(x)) => Ok((v.trim().to_string(), x)),
                (None, None) => Err(format!(
                    "--{what} {s}: unknown {what} '{v}'; choose one of: {choices}"
                )),
            }
        })
        .collect()
}

fn stage_bar(quiet: bool) -> ProgressBar {
    progress_bar(quiet)
}

fn cmd_mix(a: MixArgs) -> Result<(), String> {
    use mixdown_core::mix::{run, Presence, Role};
    let roles = pairs(
        &a.roles,
        "role",
        Role::parse,
        &Role::ALL
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    let presences = pairs(
        &a.presences,
        "presence",
        Presence::parse,
        "lead, normal, background",
    )?;
    let master = if a.no_master {
        None
    } else {
        Some(options(&a.chain)?)
    };
    if let Some(r) = &a.report {
        master::run::check_output_path(r, &[]).map_err(|e| e.to_string())?;
    }
    let job = run::MixJob {
        stems: a.stems.clone(),
        output: a.output.clone(),
        master,
        session: a.session.clone(),
        stems_out: a.stems_out.clone(),
        roles,
        presences,
        bit_depth: a.bit_depth,
        diagnose: a.report.is_some(),
    };
    let report = mix_and_report(&job, a.report.as_deref(), a.quiet)?;
    if !a.quiet {
        print!("{}", mix_summary(&report, &job));
    }
    Ok(())
}

/// Run a mix job with a progress bar; write the JSON report when asked.
fn mix_and_report(
    job: &mixdown_core::mix::run::MixJob,
    report_path: Option<&std::path::Path>,
    quiet: bool,
) -> Result<mixdown_core::mix::run::MixReport, String> {
    use mixdown_core::mix::run;
    let pb = stage_bar(quiet);
    let result = run::run_mix(
        job,
        &|stage, frac| {
            pb.set_message(stage.to_string());
            pb.set_position((frac.clamp(0.0, 1.0) * 1000.0) as u64);
        },
        &|text: &str| {
            if !quiet {
                pb.suspend(|| print!("{text}"));
            }
        },
    )
    .map_err(|e| e.to_string());
    pb.finish_and_clear();
    let (report, _session) = result?;
    if let Some(r) = report_path {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        mixdown_core::io::encode::write_text(r, &(json + "\n"), "the report")
            .map_err(|e| e.to_string())?;
    }
    Ok(report)
}

fn mix_summary(
    r: &mixdown_core::mix::run::MixReport,
    a: &mixdown_core::mix::run::MixJob,
) -> String {
    let o = &r.organisation;
    let mut s = format!(
        "\nmixdown mix: {} ({} stems, {} Hz, {:.1} s) -> {}\n\n",
        a.stems.display(),
        o.stems.len(),
        o.sample_rate,
        o.frames as f64 / o.sample_rate.max(1) as f64,
        a.output.display()
    );
    s += &format!(
        "{:<24} {:<16} {:<11} {:<8} {:>7} {:>6}\n",
        "track", "role", "presence", "from", "fader", "pan"
    );
    for t in &r.tracks {
        let pan = if t.pan.abs() < 0.005 {
            "C".to_string()
        } else {
            format!(
                "{}{:.0}",
                if t.pan < 0.0 { "L" } else { "R" },
                t.pan.abs() * 100.0
            )
        };
        s += &format!(
            "{:<24} {:<16} {:<11} {:<8} {:>+7.1} {:>6}\n",
            truncate(&t.name, 24),
            t.role,
            t.presence,
            t.role_source,
            t.fader_db,
            pan
        );
    }
    s += "\n";
    s += &format!(
        "Masking: the tracks are {:.1}% covered by each other as they arrived, {:.1}% in the mix\n",
        r.masking_input.index_pct, r.masking_mix.index_pct
    );
    if let Some(p) = r.masking_mix.worst_pairs.first() {
        s += &format!(
            "  most contested pair: {} and {} ({:.1}%)\n",
            p.a, p.b, p.index_pct
        );
    }
    let im = &r.image;
    s += &format!(
        "Image: low end correlation {}, mono fold-down {}, width {:.0}%, balance {}\n",
        im.low_end_correlation
            .map_or("n/a".into(), |v| format!("{v:.2}")),
        im.mono_loss_lu.map_or("n/a".into(), |v| if v < 0.05 {
            "loses nothing".to_string()
        } else {
            format!("loses {v:.1} LU")
        }),
        im.width * 100.0,
        im.balance_db
            .map_or("n/a".into(), |v| format!("{v:+.1} dB"))
    );
    s += &format!(
        "Effects: reverb and delay returns {} under the dry mix; largest EQ move {:.1} dB\n",
        r.restraint
            .returns_below_dry_lu
            .map_or("n/a".into(), |v| format!("{v:.1} LU")),
        r.restraint.max_eq_move_db
    );
    let out = &r.output_analysis;
    match &r.master {
        Some(m) => {
            s += &format!(
                "Master: {} at {:.1} LUFS, true peak {:.1} dBTP{}\n",
                r.master_chain
                    .as_ref()
                    .map_or("".into(), |c| c.target.name.clone()),
                out.loudness.integrated_lufs.unwrap_or(f64::NAN),
                out.true_peak_dbtp.unwrap_or(f64::NAN),
                m.loudness
                    .shortfall
                    .as_ref()
                    .map_or(String::new(), |w| format!(" (target not reached: {w})"))
            );
        }
        None => {
            s += &format!(
                "Mix (not mastered): {:.1} LUFS, true peak {:.1} dBTP\n",
                out.loudness.integrated_lufs.unwrap_or(f64::NAN),
                out.true_peak_dbtp.unwrap_or(f64::NAN)
            );
        }
    }
    // (the organisation's notes were shown before the work started)
    for n in r.notes.iter().filter(|n| !r.organisation.notes.contains(n)) {
        s += &format!("Note: {n}\n");
    }
    if let Some(d) = &r.diagnosis {
        s += &format!(
            "Diagnosis of the result: {} Every finding is in the report.\n",
            d.verdict
        );
    }
    if let Some(p) = &a.session {
        s += &format!(
            "Session: {} (edit it and run `mixdown render {} -o ...`)\n",
            p.display(),
            p.display()
        );
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        t + "~"
    }
}

fn cmd_render(a: RenderArgs) -> Result<(), String> {
    let pb = stage_bar(a.quiet);
    let result = mixdown_core::mix::run::run_render(
        &a.session,
        &a.output,
        a.stems_out.as_deref(),
        a.bit_depth,
        &|stage, frac| {
            pb.set_message(stage.to_string());
            pb.set_position((frac.clamp(0.0, 1.0) * 1000.0) as u64);
        },
    )
    .map_err(|e| e.to_string());
    pb.finish_and_clear();
    let session = result?;
    if !a.quiet {
        println!(
            "mixdown render: {} ({} tracks) -> {}",
            a.session.display(),
            session.tracks.len(),
            a.output.display()
        );
    }
    Ok(())
}

fn cmd_demo(a: DemoArgs) -> Result<(), String> {
    use mixdown_core::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
    let opts = options(&a.chain)?;
    if !(20.0..=40.0).contains(&a.seconds) {
        return Err(format!(
            "--seconds {} is out of range; give 20 to 40",
            a.seconds
        ));
    }
    let stems_dir = a.out.join("stems");
    std::fs::create_dir_all(&stems_dir).map_err(|e| {
        format!(
            "{}: cannot create the demo folder: {e}",
            stems_dir.display()
        )
    })?;
    let song = mixdown_core::demo::synth_song(44_100, a.seconds, 1);
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Int24,
        dither: true,
        dither_seed: master::run::DITHER_SEED,
    };
    for stem in &song.stems {
        let p = stems_dir.join(format!("{}.wav", stem.name));
        write_file(&p, &stem.buffer, &spec).map_err(|e| e.to_string())?;
    }
    let rough_path = a.out.join("rough-mix.wav");
    write_file(&rough_path, &song.rough_mix(), &spec).map_err(|e| e.to_string())?;
    if !a.quiet {
        println!(
            "mixdown demo: synthesised a {:.0} s song at {:.0} BPM ({} stems) in {}",
            a.seconds,
            song.tempo_bpm,
            song.stems.len(),
            stems_dir.display()
        );
        println!(
            "A rough mix for comparison (stems at home-studio levels, unmastered): {}",
            rough_path.display()
        );
    }
    let job = mixdown_core::mix::run::MixJob {
        stems: stems_dir.clone(),
        output: a.out.join("mix.wav"),
        master: Some(opts),
        session: Some(a.out.join("session.toml")),
        stems_out: Some(a.out.join("processed")),
        roles: Vec::new(),
        presences: Vec::new(),
        bit_depth: Some(24),
        diagnose: true,
    };
    let report_path = a.out.join("report.json");
    let report = mix_and_report(&job, Some(&report_path), a.quiet)?;
    if !a.quiet {
        print!("{}", mix_summary(&report, &job));
        println!(
            "Mixed and mastered: {}\nProcessed stems: {}\nReport: {}",
            job.output.display(),
            a.out.join("processed").display(),
            report_path.display()
        );
    }
    Ok(())
}

/// glibc hands every buffer of more than a few MB (a track is tens of MB) straight back to the
/// kernel when it is freed, and the next one is faulted in again page by page, with a TLB flush
/// on every core each time. Keeping buffers up to 32 MB in the heap and growing it 256 MB at a
/// time takes that churn out (about 7% of a 16-track mix), for a larger resident peak.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    // No panic reaches a user as a backtrace: say what happened in one line.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        // MIXDOWN_DEBUG=1 adds where it happened, for the report.
        let at = match (std::env::var_os("MIXDOWN_DEBUG"), info.location()) {
            (Some(_), Some(l)) => format!(" at {}:{}", l.file(), l.line()),
            _ => String::new(),
        };
        eprintln!("error: mixdown hit an internal error ({msg}{at}); no input was changed. Please report this.");
    }));
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Master(a) => cmd_master(a).map(|()| 0),
        Command::Mix(a) => cmd_mix(a).map(|()| 0),
        Command::Render(a) => cmd_render(a).map(|()| 0),
        Command::Demo(a) => cmd_demo(a).map(|()| 0),
        Command::Analyze(a) => {
            analyze::cmd_analyze(a).map(|failed| if failed { analyze::FAIL_ON_STATUS } else { 0 })
        }
    });
    match result {
        Ok(Ok(status)) => ExitCode::from(status),
        Ok(Err(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(70),
    }
}
