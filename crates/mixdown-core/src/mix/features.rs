//! Per-track measurements the mixing decisions read: loudness, peak, crest factor, activity,
//! the level distribution a compressor's detector would see, the long-term spectrum, and the
//! band-frame energies for masking. Computed once per track, in parallel.

use super::masking::{band_frames, BandFrames};
use crate::audio::AudioBuffer;
use mixdown_dsp::loudness::Loudness;
use mixdown_dsp::meters;
use mixdown_dsp::spectrum::{self, BandSpectrum};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackFeatures {
    pub channels: usize,
    /// Integrated loudness (BS.1770, gated: the playing parts), LUFS.
    pub loudness_lufs: Option<f64>,
    pub peak_dbfs: Option<f64>,
    /// Peak over the RMS of the playing parts, dB.
    pub crest_db: Option<f64>,
    /// Share of 25 ms windows within 40 dB of the loudest one.
    pub active_fraction: f64,
    /// Levels of 25 ms RMS windows (louder channel) over the playing parts: 50th, 90th and 99th
    /// percentiles, dBFS. What a compressor's RMS detector sees.
    pub level_p50_dbfs: Option<f64>,
    pub level_p90_dbfs: Option<f64>,
    pub level_p99_dbfs: Option<f64>,
    /// Long-term 1/3-octave spectrum of the playing parts.
    pub spectrum: BandSpectrum,
    /// Side/mid energy (stereo tracks).
    pub width: Option<f64>,
    #[serde(skip)]
    pub band_frames: BandFrames,
}

/// Measure a track.
pub fn measure(track: &AudioBuffer) -> TrackFeatures {
    let (bands, mut f) = rayon::join(|| band_frames(track), || measure_levels(track));
    f.band_frames = bands;
    f
}

/// Everything but the band frames.
fn measure_levels(track: &AudioBuffer) -> TrackFeatures {
    let views: Vec<&[f32]> = track.channels.iter().map(|c| c.as_slice()).collect();
    let sr = track.sample_rate;
    let loud = Loudness::measure(&views, sr);
    let lv = meters::levels(&views);
    // 25 ms windows, louder channel
    let win = ((sr as usize) / 40).max(1);
    let n = track.frames();
    let mut levels: Vec<f64> = (0..n / win)
        .map(|w| {
            views
                .iter()
                .map(|c| {
                    let s: f64 = c[w * win..(w + 1) * win]
                        .iter()
                        .map(|&v| (v as f64) * (v as f64))
                        .sum();
                    s / win as f64
                })
                .fold(0.0f64, f64::max)
        })
        .map(|ms| {
            if ms > 1e-12 {
                10.0 * ms.log10()
            } else {
                -120.0
            }
        })
        .collect();
    let total = levels.len().max(1);
    let top = levels.iter().cloned().fold(-120.0f64, f64::max);
    levels.retain(|&l| l > top - 40.0 && l > -100.0);
    levels.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        (!levels.is_empty()).then(|| levels[((levels.len() - 1) as f64 * q).round() as usize])
    };
    let active_ms: f64 = if levels.is_empty() {
        0.0
    } else {
        levels.iter().map(|l| 10f64.powf(l / 10.0)).sum::<f64>() / levels.len() as f64
    };
    let crest = match (lv.sample_peak_dbfs, active_ms > 0.0) {
        (Some(p), true) => Some(p - 10.0 * active_ms.log10()),
        _ => None,
    };
    TrackFeatures {
        channels: track.num_channels(),
        loudness_lufs: loud.integrated_lufs,
        peak_dbfs: lv.sample_peak_dbfs,
        crest_db: crest,
        active_fraction: levels.len() as f64 / total as f64,
        level_p50_dbfs: pct(0.5),
        level_p90_dbfs: pct(0.9),
        level_p99_dbfs: pct(0.99),
        spectrum: spectrum::third_octave(&views, sr, 300),
        width: (views.len() == 2).then(|| meters::stereo(views[0], views[1]).width),
        band_frames: BandFrames::default(),
    }
}
