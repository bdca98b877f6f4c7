//! Track organisation: find the stems in a folder, load them onto one timeline (one sample
//! rate, one length), and report what a careful engineer would notice before mixing: tracks
//! that are silent or nearly so, duplicated files, clipped recordings, different sample rates
//! and lengths, late starts.

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::io::decode::decode_file;
use crate::io::resample::resample;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File extensions read as audio.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "aif", "aiff", "aifc", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "caf",
];

/// Most stems a session may hold.
pub const MAX_STEMS: usize = 64;

/// What was found about one stem.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StemInfo {
    /// Base name (file name without extension): the track's name everywhere.
    pub name: String,
    pub file: String,
    pub format: String,
    pub channels: usize,
    /// The file's own sample rate (converted to the session rate when different).
    pub source_rate: u32,
    pub duration_s: f64,
    /// Time before the first sound (above -60 dBFS), s.
    pub starts_at_s: f64,
    pub peak_dbfs: Option<f64>,
    /// Runs of three or more samples at full scale.
    pub clipped_runs: usize,
    /// Every sample is zero: the track is left out of the mix.
    pub silent: bool,
    /// Peak under -60 dBFS: mixed, but probably a mistake.
    pub near_silent: bool,
    /// Identical to an earlier stem: left out of the mix.
    pub duplicate_of: Option<String>,
}

/// The folder's stems, as found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub folder: String,
    /// Session sample rate (the most common among the stems; ties go to the higher).
    pub sample_rate: u32,
    /// Session length in frames (the longest stem; shorter ones are padded with silence).
    pub frames: usize,
    pub stems: Vec<StemInfo>,
    /// Files in the folder that are not stems (not audio, or the finished mix), skipped.
    pub skipped_files: Vec<String>,
    /// Plain-language notes for the user.
    pub notes: Vec<String>,
}

impl Organisation {
    /// Indices of the stems that take part in the mix (not silent, not duplicates).
    pub fn active(&self) -> Vec<usize> {
        (0..self.stems.len())
            .filter(|&i| !self.stems[i].silent && self.stems[i].duplicate_of.is_none())
            .collect()
    }
}

fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// The audio files of a folder, sorted by name, and the other files it holds.
pub fn scan_folder(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    if !dir.exists() {
        return Err(Error::file(dir, "folder not found"));
    }
    if !dir.is_dir() {
        return Err(Error::file(
            dir,
            "is not a folder; give the folder that holds the stems",
        ));
    }
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, format!("cannot read the folder: {e}")))?;
    let mut audio = Vec::new();
    let mut other = Vec::new();
    for entry in rd.flatten() {
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || p.is_dir() {
            continue;
        }
        if is_audio(&p) && is_reference_mix(&stem_name(&p)) {
            other.push(format!(
                "{name} (by its name, the song's finished mix, not a stem)"
            ));
        } else if is_audio(&p) {
            audio.push(p);
        } else {
            other.push(name);
        }
    }
    audio.sort();
    other.sort();
    if audio.is_empty() {
        return Err(Error::file(
            dir,
            if other.is_empty() {
                "the folder is empty; put the song's stems (WAV, FLAC, AIFF, MP3...) in it"
                    .to_string()
            } else {
                format!(
                    "no audio files in the folder (found {}); mixdown reads WAV, FLAC, AIFF, MP3, Ogg and M4A stems",
                    other.join(", ")
                )
            },
        ));
    }
    if audio.len() > MAX_STEMS {
        return Err(Error::file(
            dir,
            format!(
                "holds {} stems; mixdown mixes at most {MAX_STEMS}; group some into submixes",
                audio.len()
            ),
        ));
    }
    // two files with the same base name would write the same stem name
    let mut names: Vec<(String, &PathBuf)> = audio.iter().map(|p| (stem_name(p), p)).collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for w in names.windows(2) {
        if w[0].0.eq_ignore_ascii_case(&w[1].0) {
            return Err(Error::file(
                dir,
                format!(
                    "two stems share the name '{}' ({} and {}); rename one",
                    w[0].0,
                    file_name(w[0].1),
                    file_name(w[1].1)
                ),
            ));
        }
    }
    Ok((audio, other))
}

/// A file named like the song's own finished mix (`mix`, `Full Mix`, `master`, `bounce`,
/// `reference`): it sits beside the stems in many exports, and mixing it in would double them.
pub fn is_reference_mix(stem: &str) -> bool {
    let n: String = stem
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    matches!(
        n.as_str(),
        "mix"
            | "fullmix"
            | "finalmix"
            | "stereomix"
            | "mixdown"
            | "master"
            | "premaster"
            | "bounce"
            | "reference"
            | "refmix"
            | "roughmix"
    )
}

/// A track's name: its file name without the extension.
pub fn stem_name(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// A decoded stem before it is put on the session's timeline.
struct Raw {
    buffer: AudioBuffer,
    format: String,
}

fn decode_checked(p: &Path) -> Result<Raw> {
    let (buf, info) = decode_file(p)?;
    let (bad, first) = buf.non_finite();
    if bad > 0 {
        return Err(Error::file(
            p,
            format!(
                "contains {bad} invalid samples (NaN or infinity), the first at {:.3} s; the file is damaged. Re-export it",
                first.unwrap_or(0) as f64 / buf.sample_rate.max(1) as f64
            ),
        ));
    }
    Ok(Raw {
        buffer: buf,
        format: format!("{} {}", info.container, info.sample_format),
    })
}

/// Put a decoded stem on the session timeline: resample to `rate`, pad to `frames`.
pub fn to_timeline(buf: AudioBuffer, rate: u32, frames: usize, path: &Path) -> Result<AudioBuffer> {
    let mut b = if buf.sample_rate != rate {
        resample(&buf, rate).map_err(|e| e.in_file(path))?
    } else {
        buf
    };
    for c in &mut b.channels {
        c.resize(frames, 0.0);
    }
    Ok(b)
}

fn clipped_runs(buf: &AudioBuffer) -> usize {
    // most recordings never reach 0.999: find out with a branch-free pass first
    let near_full = buf.channels.iter().any(|c| {
        c.chunks(4096).any(|chunk| {
            // |v| as an integer bit pattern: ordered like |v| for finite floats
            chunk
                .iter()
                .fold(0u32, |m, &v| m.max(v.to_bits() & 0x7fff_ffff))
                >= 0.999f32.to_bits()
        })
    });
    if !near_full {
        return 0;
    }
    let mut runs = 0;
    for c in &buf.channels {
        let mut len = 0;
        for &v in c {
            if v.abs() >= 0.999 {
                len += 1;
                if len == 3 {
                    runs += 1;
                }
            } else {
                len = 0;
            }
        }
    }
    runs
}

fn first_sound(buf: &AudioBuffer) -> usize {
    let th = 10f32.powf(-60.0 / 20.0);
    buf.channels
        .iter()
        .map(|c| c.iter().position(|&v| v.abs() > th).unwrap_or(c.len()))
        .min()
        .unwrap_or(0)
}

/// A cheap content fingerprint for spotting duplicated files.
fn fingerprint(buf: &AudioBuffer) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in &buf.channels {
        for v in c.iter().step_by(7) {
            h ^= v.to_bits() as u64;
            h = h.wrapping_mul(0x1000_0000_01b3);
        }
    }
    h ^ (buf.frames() as u64).wrapping_mul(31)
}

/// Decode one stem and put it on a session's timeline (what `render` does for each track, the
/// same way the mix did). Longer files are cut to the timeline.
pub fn load_track(path: &Path, rate: u32, frames: usize) -> Result<AudioBuffer> {
    let raw = decode_checked(path)?;
    let mut b = to_timeline(raw.buffer, rate, frames.max(1), path)?;
    for c in &mut b.channels {
        c.truncate(frames);
    }
    Ok(b)
}

/// Load every stem of a folder onto one timeline. `progress(done, total)` after each stem.
pub fn load_folder(
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<AudioBuffer>, Organisation)> {
    let (files, skipped) = scan_folder(dir)?;
    load_files(dir, &files, skipped, progress)
}

/// Load the given stems onto one timeline.
pub fn load_files(
    dir: &Path,
    files: &[PathBuf],
    skipped: Vec<String>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<AudioBuffer>, Organisation)> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let raws: Vec<Result<Raw>> = files
        .par_iter()
        .map(|p| {
            let r = decode_checked(p);
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                files.len(),
            );
            r
        })
        .collect();
    let raws: Vec<Raw> = raws.into_iter().collect::<Result<_>>()?;
    // session rate: the most common, ties to the higher
    let mut rates: Vec<u32> = raws.iter().map(|r| r.buffer.sample_rate).collect();
    rates.sort_unstable();
    let mut best = (0usize, 0u32);
    for &r in &rates {
        let count = rates.iter().filter(|&&x| x == r).count();
        if count > best.0 || (count == best.0 && r > best.1) {
            best = (count, r);
        }
    }
    let rate = best.1;
    let frames = raws
        .iter()
        .map(|r| {
            (r.buffer.frames() as f64 * rate as f64 / r.buffer.sample_rate as f64).round() as usize
        })
        .max()
        .unwrap_or(0);
    // per-stem facts and the timeline, in parallel; duplicates are named in file order below
    let placed: Vec<Result<(StemInfo, u64, AudioBuffer)>> = files
        .par_iter()
        .zip(raws.into_par_iter())
        .map(|(p, raw)| {
            let b = &raw.buffer;
            let peak = b.sample_peak();
            let info = StemInfo {
                name: stem_name(p),
                file: file_name(p),
                format: raw.format.clone(),
                channels: b.num_channels(),
                source_rate: b.sample_rate,
                duration_s: b.duration_s(),
                starts_at_s: first_sound(b) as f64 / b.sample_rate as f64,
                peak_dbfs: (peak > 0.0).then(|| 20.0 * (peak as f64).log10()),
                clipped_runs: clipped_runs(b),
                silent: b.is_digital_silence(),
                near_silent: peak > 0.0 && peak < 1e-3,
                duplicate_of: None,
            };
            let fp = fingerprint(b);
            Ok((info, fp, to_timeline(raw.buffer, rate, frames, p)?))
        })
        .collect();
    let mut notes = Vec::new();
    let mut infos: Vec<StemInfo> = Vec::with_capacity(placed.len());
    let mut prints: Vec<u64> = Vec::new();
    let mut buffers = Vec::with_capacity(placed.len());
    for item in placed {
        let (mut info, fp, buffer) = item?;
        info.duplicate_of = prints
            .iter()
            .position(|&q| q == fp)
            .map(|i| infos[i].name.clone());
        prints.push(fp);
        buffers.push(buffer);
        infos.push(info);
    }
    for s in &infos {
        if s.silent {
            notes.push(format!("{}: digital silence; left out of the mix", s.file));
        } else if s.near_silent {
            notes.push(format!(
                "{}: nearly silent (peak {:.0} dBFS); mixed, but check it is the right file",
                s.file,
                s.peak_dbfs.unwrap_or(-120.0)
            ));
        }
        if let Some(d) = &s.duplicate_of {
            notes.push(format!(
                "{}: the same audio as {d}; left out of the mix (exported twice?)",
                s.file
            ));
        }
        if s.clipped_runs > 0 {
            notes.push(format!(
                "{}: clipped recording ({} places at full scale); mixdown cannot restore what was cut off",
                s.file, s.clipped_runs
            ));
        }
        if s.source_rate != rate {
            notes.push(format!(
                "{}: recorded at {} Hz, converted to the session's {} Hz",
                s.file, s.source_rate, rate
            ));
        }
        if (s.duration_s * rate as f64).round() < frames as f64 - rate as f64 * 0.5 {
            notes.push(format!(
                "{}: {:.1} s long, the session {:.1} s; padded with silence at the end",
                s.file,
                s.duration_s,
                frames as f64 / rate as f64
            ));
        }
        if s.starts_at_s >= 1.0 && !s.silent {
            notes.push(format!(
                "{}: starts after {:.1} s of silence",
                s.file, s.starts_at_s
            ));
        }
    }
    let org = Organisation {
        folder: dir.display().to_string(),
        sample_rate: rate,
        frames,
        stems: infos,
        skipped_files: skipped.clone(),
        notes: {
            let mut n = Vec::new();
            if !skipped.is_empty() {
                n.push(format!("skipped (not stems): {}", skipped.join(", ")));
            }
            n.extend(notes);
            n
        },
    };
    if org.active().is_empty() {
        return Err(Error::file(
            dir,
            "every stem is silent; there is nothing to mix",
        ));
    }
    Ok((buffers, org))
}
