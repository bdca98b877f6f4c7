//! `--preview DIR`: an honest A/B. The loudest 30 s of the original and of the master, the
//! same stretch of the song, both at the same integrated loudness (the louder one turned
//! down, nothing turned up), so that the comparison is of sound, not of level.

use crate::analysis::subblock_powers;
use crate::audio::AudioBuffer;
use crate::error::Result;
use crate::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
use mixdown_dsp::loudness::{self, Loudness};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Length of the preview, seconds.
pub const PREVIEW_S: f64 = 30.0;

/// What was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub original: String,
    pub master: String,
    pub start_s: f64,
    pub duration_s: f64,
    /// The loudness both excerpts play at, LUFS.
    pub lufs: f64,
    /// Gain applied to each excerpt to get there, dB (never positive).
    pub original_gain_db: f64,
    pub master_gain_db: f64,
}

/// Frames `(start, end)` of the loudest 30 s (by the K-weighted 100 ms sub-block powers;
/// the whole song when it is shorter).
pub fn loudest_window(buf: &AudioBuffer, subblocks: &[f64]) -> (usize, usize) {
    let n = buf.frames();
    let len = loudness::subblock_len(buf.sample_rate);
    let win = (PREVIEW_S * 10.0).round() as usize;
    if subblocks.len() <= win || len == 0 {
        return (0, n);
    }
    let mut sum: f64 = subblocks[..win].iter().sum();
    let (mut best, mut at) = (sum, 0usize);
    for i in win..subblocks.len() {
        sum += subblocks[i] - subblocks[i - win];
        if sum > best * (1.0 + 1e-12) {
            best = sum;
            at = i + 1 - win;
        }
    }
    let start = at * len;
    (start, (start + win * len).min(n))
}

fn lufs_of(buf: &AudioBuffer) -> Option<f64> {
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    Loudness::from_subblocks(&subblock_powers(&views, buf.sample_rate)).integrated_lufs
}

/// Write `NAME.original.wav` and `NAME.master.wav` (32-bit float: no clipping, no dither)
/// into `dir`, both at the quieter one's loudness.
pub fn write(
    dir: &Path,
    input: &Path,
    original: &AudioBuffer,
    master: &AudioBuffer,
    start_s: f64,
    inputs: &[&Path],
) -> Result<Preview> {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "song".into());
    let (lo, lm) = (lufs_of(original), lufs_of(master));
    let level = match (lo, lm) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => 0.0,
    };
    let gain = |l: Option<f64>| l.map_or(0.0, |l| level - l);
    let (go, gm) = (gain(lo), gain(lm));
    let spec = EncodeSpec {
        format: FileFormat::Wav,
        sample_format: SampleFormat::Float32,
        dither: false,
        dither_seed: 0,
    };
    let mut paths = Vec::new();
    for (name, buf, g) in [("original", original, go), ("master", master, gm)] {
        let mut b = buf.clone();
        b.apply_gain(10f32.powf(g as f32 / 20.0));
        let path = dir.join(format!("{stem}.{name}.wav"));
        super::run::check_output_path(&path, inputs)?;
        write_file(&path, &b, &spec)?;
        paths.push(path.display().to_string());
    }
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    Ok(Preview {
        master: paths.pop().unwrap_or_default(),
        original: paths.pop().unwrap_or_default(),
        start_s: r2(start_s),
        duration_s: r2(master.duration_s()),
        lufs: r2(level),
        original_gain_db: r2(go),
        master_gain_db: r2(gm),
    })
}
