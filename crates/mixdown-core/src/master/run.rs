//! The whole `mixdown master` job: decode, check, analyse, decide, render, verify, encode,
//! report. The CLI is a thin shell around [`run`].

use super::decide::{decide, MasterOptions, ReferenceMatch};
use super::preview;
use super::reference::{self, MatchAmounts, ReferenceProfile};
use super::refine::{refine_match, REFINE_MAX_S};
use super::render::render;
use crate::analysis::{analyse, analyse_with, analyse_without_spectrum, Analysis, Known};
use crate::audio::AudioBuffer;
use crate::diagnose::{self, analyze::InputKind, Diagnosis, JudgeAs};
use crate::error::{Error, Result};
use crate::io::decode::{decode_file, DecodeInfo};
use crate::io::encode::{default_sample_format, write_file, EncodeSpec, FileFormat, SampleFormat};
use crate::io::resample::resample;
use crate::report::{FileInfo, MasterDiagnosis, MasterReport, Verdict};
use crate::verify::ebur128_check;
use std::path::{Path, PathBuf};

/// Seed of the dither noise: fixed, so the same input always gives the same bits.
pub const DITHER_SEED: u64 = 0x6d69_7864_6f77_6e31;
/// Tolerance of the loudness verdict, LU.
pub const LOUDNESS_TOLERANCE_LU: f64 = 0.2;

/// A mastering job.
#[derive(Clone, Debug)]
pub struct MasterJob {
    pub input: PathBuf,
    pub output: PathBuf,
    pub options: MasterOptions,
    /// Output sample rate (None: the input's).
    pub sample_rate: Option<u32>,
    /// Output bit depth: 16, 24 or 32 (float). None: chosen from the format and the input.
    pub bit_depth: Option<u32>,
    /// Diagnose the input (as a pre-master mix) and the master (as a master, with the
    /// playback simulations) into the report (`mixdown analyze`'s findings).
    pub diagnose: bool,
    /// Match a reference (`--reference`, `--match-file`).
    pub reference: Option<ReferenceJob>,
    /// Write a loudness-matched A/B of the loudest 30 s here (`--preview DIR`).
    pub preview: Option<PathBuf>,
}

/// What to match, from where, and where to save it.
#[derive(Clone, Debug, Default)]
pub struct ReferenceJob {
    /// Reference recordings (averaged when several).
    pub references: Vec<PathBuf>,
    /// A saved match to apply instead (`--match-file`).
    pub match_file: Option<PathBuf>,
    /// Save the (averaged) reference's profile here (`--save-match`).
    pub save_match: Option<PathBuf>,
    pub amounts: MatchAmounts,
    /// The user gave a loudness target (otherwise the reference's loudness is the target).
    pub target_given: bool,
}

/// Measure the references (each decoded and measured on its own thread) or read the match
/// file, and average.
fn reference_profile(rj: &ReferenceJob) -> Result<ReferenceProfile> {
    if let Some(m) = &rj.match_file {
        let text = std::fs::read_to_string(m).map_err(|e| Error::file(m, io_reason(&e)))?;
        return ReferenceProfile::from_toml(m, &text);
    }
    let profiles: Vec<Result<ReferenceProfile>> = std::thread::scope(|s| {
        let handles: Vec<_> = rj
            .references
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let (buf, _) = decode_file(p)?;
                    crate::timing::mark("reference decoded");
                    if buf.num_channels() > 2 {
                        return Err(Error::file(
                            p,
                            format!(
                                "has {} channels; a reference must be mono or stereo",
                                buf.num_channels()
                            ),
                        ));
                    }
                    reference::profile(p, &buf)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::audio("measuring a reference failed")))
            })
            .collect()
    });
    let profiles = profiles.into_iter().collect::<Result<Vec<_>>>()?;
    reference::average(&profiles).ok_or_else(|| Error::usage("no reference given"))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied)".into(),
        std::io::ErrorKind::InvalidData => {
            "is not a mixdown match file (it is not text; a recording goes to --reference)".into()
        }
        _ => format!("cannot be read ({e})"),
    }
}

/// The canonical form of a path that may not exist yet (its folder must).
fn canonical_target(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(parent.canonicalize().ok()?.join(p.file_name()?))
}

/// Refuse an output that would overwrite an input, or that cannot be written.
pub fn check_output_path(output: &Path, inputs: &[&Path]) -> Result<()> {
    let parent = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::file(
            output,
            format!(
                "the folder {} does not exist; create it first",
                parent.display()
            ),
        ));
    }
    if output.is_dir() {
        return Err(Error::file(
            output,
            "is a folder; give a file name such as song-master.wav",
        ));
    }
    let out = canonical_target(output);
    for inp in inputs {
        if let (Some(o), Ok(i)) = (&out, inp.canonicalize()) {
            if *o == i {
                return Err(Error::file(
                    output,
                    "is the input file; mixdown never overwrites an input. Choose another output name",
                ));
            }
        }
    }
    Ok(())
}

/// Refuse audio that cannot be mastered, with the reason.
pub fn check_audio(path: &Path, buf: &AudioBuffer) -> Result<()> {
    if buf.frames() == 0 {
        return Err(Error::file(path, "contains no audio (0 samples)"));
    }
    let (bad, first) = buf.non_finite();
    if bad > 0 {
        let at = first.unwrap_or(0) as f64 / buf.sample_rate.max(1) as f64;
        return Err(Error::file(
            path,
            format!(
                "contains {bad} invalid samples (NaN or infinity), the first at {}; the file is damaged. Re-export it from your editor",
                clock(at)
            ),
        ));
    }
    if buf.is_digital_silence() {
        return Err(Error::file(
            path,
            "is digital silence; there is nothing to master",
        ));
    }
    if buf.duration_s() < 0.4 {
        return Err(Error::file(
            path,
            format!(
                "is only {:.0} ms long; loudness can only be measured on 0.4 s or more",
                buf.duration_s() * 1000.0
            ),
        ));
    }
    Ok(())
}

/// m:ss.mmm
pub fn clock(seconds: f64) -> String {
    let m = (seconds / 60.0).floor();
    format!("{}:{:06.3}", m as u64, seconds - 60.0 * m)
}

fn file_info(path: &Path, info: &DecodeInfo) -> FileInfo {
    FileInfo {
        path: path.display().to_string(),
        format: info.container.clone(),
        sample_format: info.sample_format.clone(),
        sample_rate: info.sample_rate,
        channels: info.channels,
        frames: info.frames,
        lossy: info.lossy,
    }
}

/// Run a mastering job. `progress(stage, fraction)` reports the work as it goes.
pub fn run(job: &MasterJob, progress: &dyn Fn(&str, f64)) -> Result<MasterReport> {
    if job.output.is_dir() {
        return Err(Error::file(
            &job.output,
            "is a folder; give a file name such as song-master.wav",
        ));
    }
    let format = FileFormat::from_path(&job.output)?;
    let sample_format = job
        .bit_depth
        .map(SampleFormat::from_bit_depth)
        .transpose()?;
    if format == FileFormat::Flac && sample_format == Some(SampleFormat::Float32) {
        return Err(Error::file(
            &job.output,
            "FLAC cannot store 32-bit float; use --bit-depth 16 or 24, or write a .wav",
        ));
    }
    let mut inputs: Vec<&Path> = vec![&job.input];
    if let Some(rj) = &job.reference {
        inputs.extend(rj.references.iter().map(|p| p.as_path()));
        inputs.extend(rj.match_file.iter().map(|p| p.as_path()));
    }
    check_output_path(&job.output, &inputs)?;
    if let Some(m) = job.reference.as_ref().and_then(|r| r.save_match.as_ref()) {
        check_output_path(m, &inputs)?;
    }
    if let Some(d) = &job.preview {
        if !d.is_dir() {
            std::fs::create_dir_all(d)
                .map_err(|e| Error::file(d, format!("cannot create the preview folder ({e})")))?;
        }
    }
    if let Some(sr) = job.sample_rate {
        if !(8_000..=192_000).contains(&sr) {
            return Err(Error::usage(format!(
                "--sample-rate {sr} is out of range; use 8000 to 192000 Hz"
            )));
        }
    }
    progress("decode", 0.0);
    // the song and the references decode and measure at once
    let (decoded, profile) = std::thread::scope(|s| {
        let prof = job
            .reference
            .as_ref()
            .map(|rj| s.spawn(move || reference_profile(rj)));
        let decoded = decode_file(&job.input);
        crate::timing::mark("song decoded");
        let profile = prof.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Error::audio("measuring the reference failed")))
        });
        (decoded, profile)
    });
    let (mut buf, info) = decoded?;
    check_audio(&job.input, &buf)?;
    let profile = profile.transpose()?;
    progress("decode", 1.0);
    let mut notes = Vec::new();
    if info.lossy {
        notes.push(format!(
            "the input is {} (lossy); master from the lossless mix if you have it",
            info.container
        ));
    }
    if info.skipped_packets > 0 {
        notes.push(format!(
            "{} damaged packets in the input were skipped",
            info.skipped_packets
        ));
    }
    if let Some(sr) = job.sample_rate {
        if sr != buf.sample_rate {
            progress("resample", 0.0);
            buf = resample(&buf, sr).map_err(|e| e.in_file(&job.input))?;
            progress("resample", 1.0);
        }
    }
    let sample_format = sample_format.unwrap_or_else(|| {
        default_sample_format(
            format,
            info.bits_per_sample,
            info.sample_format.contains("float"),
        )
    });
    let mut options = job.options.clone();
    options.output_bits = match sample_format {
        SampleFormat::Float32 => None,
        other => Some(other.bits()),
    };
    if let (Some(p), Some(rj)) = (&profile, &job.reference) {
        if let Some(m) = &rj.save_match {
            crate::io::encode::write_text(m, &p.to_toml(), "the match file")?;
        }
        if p.sample_peak_dbfs
            .is_some_and(|t| t > options.target.true_peak_dbtp)
        {
            notes.push(format!(
                "the reference peaks at {:+.1} dBFS; the master keeps its {:.1} dBTP true-peak ceiling (use --true-peak to change it)",
                p.sample_peak_dbfs.unwrap_or(0.0),
                options.target.true_peak_dbtp
            ));
        }
        options.reference = Some(ReferenceMatch {
            profile: p.clone(),
            amounts: rj.amounts,
            target_given: rj.target_given,
            song_spectra: None,
        });
    }

    progress("analyse", 0.0);
    let before = match options.reference.as_mut() {
        // matching: the song's mid/side spectra are measured anyway, and give the channel
        // sum's (unless a report wants the usual spectrum and the low end's image)
        Some(rm) => {
            let (mut an, spectra) = rayon::join(
                || {
                    if job.diagnose {
                        analyse(&buf)
                    } else {
                        analyse_without_spectrum(&buf)
                    }
                },
                || reference::mid_side_spectra(&buf),
            );
            if let (Some(s), false) = (&spectra, job.diagnose) {
                an.spectrum = reference::channel_sum_spectrum(s);
            }
            rm.song_spectra = spectra;
            an
        }
        _ => analyse(&buf),
    };
    progress("analyse", 1.0);
    progress("decide", 0.0);
    let mut chain = decide(&buf, &before, &options);
    progress("decide", 1.0);
    let input_diagnosis = job.diagnose.then(|| {
        progress("diagnose", 0.0);
        let d = diagnose_input(&buf, &before, &job.input);
        progress("diagnose", 1.0);
        d
    });
    let sr = buf.sample_rate;
    let excerpt = job
        .preview
        .as_ref()
        .map(|_| preview::loudest_window(&buf, &before.loudness_subblocks));
    let original = excerpt.map(|(a, b)| buf.slice(a, b));
    // A reference match is refined on a test master: glue and limiting toward a dense
    // reference move the tone, which the curve then corrects for.
    if let Some(song) = options
        .reference
        .as_ref()
        .and_then(|rm| rm.song_spectra.as_ref())
        .filter(|_| options.eq && chain.matching.is_some())
    {
        if buf.duration_s() <= REFINE_MAX_S {
            progress("refine the match", 0.0);
            if let Some(m) = refine_match(&buf, &chain, song, &before.loudness_subblocks) {
                chain.matching = Some(m);
            }
            crate::timing::mark("match refined");
            progress("refine the match", 1.0);
        } else if let Some(m) = chain.matching.as_mut() {
            m.notes.push(format!(
                "not refined on a test master (songs over {REFINE_MAX_S:.0} s are not, to keep mastering fast): heavy glue or limiting may leave the tone up to 1-2 dB off the curve in some bands"
            ));
        }
    }
    let (out, mut outcome) = render(buf, &chain, &before.loudness_subblocks, progress)
        .map_err(|e| e.in_file(&job.input))?;
    // Verify and encode at once: the independent meter runs on its own threads while the
    // output's analysis and the encoder run here.
    progress("verify", 0.0);
    let spec = EncodeSpec {
        format,
        sample_format,
        dither: chain.dither.enabled,
        dither_seed: DITHER_SEED,
    };
    let known = Known {
        loudness_subblocks: std::mem::take(&mut outcome.output_subblocks),
        true_peak: 10f64.powf(outcome.loudness.output_true_peak_dbtp / 20.0) as f32,
        skip_spectrum: !job.diagnose,
    };
    let (cross, (after, written)) = std::thread::scope(|s| {
        let cross = s.spawn(|| {
            let c = ebur128_check(&out);
            crate::timing::mark("cross-checked");
            c
        });
        let after = analyse_with(&out, Some(known));
        progress("encode", 0.0);
        let written = write_file(&job.output, &out, &spec);
        crate::timing::mark("written");
        (cross.join(), (after, written))
    });
    let cross = cross.unwrap_or_default();
    let stats = written?;
    progress("encode", 1.0);
    if stats.clipped_samples > 0 {
        notes.push(format!(
            "{} samples clipped while writing (this should not happen; please report it)",
            stats.clipped_samples
        ));
    }

    let preview = match (&job.preview, excerpt, original) {
        (Some(dir), Some((a, b)), Some(orig)) => Some(preview::write(
            dir,
            &job.input,
            &orig,
            &out.slice(a, b),
            a as f64 / sr as f64,
            &inputs,
        )?),
        _ => None,
    };
    let diagnosis = input_diagnosis.map(|input| {
        progress("diagnose", 0.0);
        let output = diagnose_output(&out, &after, &job.output);
        progress("diagnose", 1.0);
        MasterDiagnosis { input, output }
    });
    let verdict = verdict(&before, &after, &cross, &chain, &outcome, notes);
    Ok(MasterReport {
        mixdown_version: env!("CARGO_PKG_VERSION").into(),
        input: file_info(&job.input, &info),
        output: FileInfo {
            path: job.output.display().to_string(),
            format: format.name().into(),
            sample_format: match sample_format {
                SampleFormat::Int16 => "16-bit int".into(),
                SampleFormat::Int24 => "24-bit int".into(),
                SampleFormat::Float32 => "32-bit float".into(),
            },
            sample_rate: sr,
            channels: out.num_channels(),
            frames: out.frames(),
            lossy: false,
        },
        target: Some(chain.target.clone()),
        before,
        after,
        after_cross_check: cross,
        chain: Some(chain),
        render: outcome,
        verdict,
        diagnosis,
        reference: profile,
        preview,
    })
}

/// The input of a master is a mix: judged as one (headroom, already limited...).
fn diagnose_input(buf: &AudioBuffer, an: &Analysis, path: &Path) -> Diagnosis {
    let opts = diagnose::Options {
        judge: Some(JudgeAs::Mix),
        translate: false,
    };
    let name = path.display().to_string();
    diagnose::analyze::diagnose_analysed(buf, an.clone(), &name, InputKind::File, &opts, &[])
}

/// The master judged as a master, with how it plays on other systems.
fn diagnose_output(buf: &AudioBuffer, an: &Analysis, path: &Path) -> Diagnosis {
    let opts = diagnose::Options {
        judge: Some(JudgeAs::Master),
        translate: true,
    };
    let name = path.display().to_string();
    diagnose::analyze::diagnose_analysed(buf, an.clone(), &name, InputKind::File, &opts, &[])
}

fn verdict(
    before: &Analysis,
    after: &Analysis,
    cross: &crate::verify::CrossCheck,
    chain: &super::MasterChain,
    outcome: &super::RenderOutcome,
    mut notes: Vec<String>,
) -> Verdict {
    let t = &chain.target;
    let ceiling = t.true_peak_dbtp;
    let tp_ok = after.true_peak_dbtp.is_some_and(|v| v <= ceiling + 1e-6)
        && cross.true_peak_dbtp.is_none_or(|v| v <= ceiling + 0.005);
    let err = after.loudness.integrated_lufs.map(|l| l - t.lufs);
    let loud_ok = chain.loudness.enabled
        && chain.loudness.gain_db.is_none()
        && err.is_some_and(|e| e.abs() <= LOUDNESS_TOLERANCE_LU)
        && cross
            .integrated_lufs
            .is_some_and(|l| (l - t.lufs).abs() <= LOUDNESS_TOLERANCE_LU);
    let sol = &outcome.loudness;
    if let Some(why) = &sol.shortfall {
        notes.insert(
            0,
            format!(
                "the {} target ({:.1} LUFS) was not reached: {why}. mixdown stopped at {:.1} LUFS, the loudest it can go without crushing the song.{}",
                t.name,
                t.lufs,
                sol.output_lufs,
                if sol.needed_limiting_lu.is_some() {
                    " Raise --max-limiting to push harder, at a cost to punch and clarity."
                } else {
                    ""
                }
            ),
        );
    }
    let kept = match (
        before.loudness.loudness_range_lu,
        after.loudness.loudness_range_lu,
    ) {
        (Some(b), Some(a)) if b > 0.5 => Some(a / b),
        _ => None,
    };
    Verdict {
        on_target: loud_ok && tp_ok,
        loudness_error_lu: err,
        true_peak_ok: tp_ok,
        loudness_range_kept: kept,
        notes,
    }
}
