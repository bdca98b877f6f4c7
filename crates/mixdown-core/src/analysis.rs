//! Analysis: pure measurement of a buffer, no decisions. Every later stage (decide, verify,
//! diagnose) reads these figures.

use crate::audio::AudioBuffer;
use mixdown_dsp::loudness::{self, Loudness};
use mixdown_dsp::meters::{self, amp_db, Levels, Stereo};
use mixdown_dsp::oversample::{Scratch, TruePeakDetector};
use mixdown_dsp::spectrum::{self, BandSpectrum};
use serde::{Deserialize, Serialize};

/// Every measurement of one signal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub sample_rate: u32,
    pub channels: usize,
    pub duration_s: f64,
    /// Integrated, momentary max, short-term max (LUFS) and loudness range (LU).
    pub loudness: Loudness,
    /// 4x-oversampled true peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Peak-to-loudness ratio: true peak minus integrated loudness, dB.
    pub plr_db: Option<f64>,
    /// RMS, sample peak, crest factor, DC offset, clipped samples.
    pub levels: Levels,
    /// Stereo image (two-channel input only).
    pub stereo: Option<Stereo>,
    /// Stereo image below 150 Hz (from the spectrum frames), where the low end should be mono.
    pub low_end: Option<Stereo>,
    /// Long-term 1/3-octave spectrum of the playing parts.
    pub spectrum: BandSpectrum,
    /// K-weighted power of each 100 ms sub-block (for decisions; not reported).
    #[serde(skip)]
    pub loudness_subblocks: Vec<f64>,
}

/// Frames analysed at most for the long-term spectrum.
const SPECTRUM_FRAMES: usize = 600;

impl Analysis {
    /// Replace the loudness figures with those of these K-weighted sub-block powers (measured
    /// elsewhere, e.g. alongside other work); the PLR follows.
    pub fn set_loudness_subblocks(&mut self, sub: Vec<f64>) {
        self.loudness = Loudness::from_subblocks(&sub);
        self.plr_db = match (self.true_peak_dbtp, self.loudness.integrated_lufs) {
            (Some(t), Some(i)) => Some(t - i),
            _ => None,
        };
        self.loudness_subblocks = sub;
    }
}

/// The `p` quantile (0..1) of `v`, the nearest element of its sorted copy; `None` if empty.
pub fn percentile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[((p * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)])
}

/// True peak of a buffer (linear) with the detector the limiter uses.
pub fn true_peak_linear(buf: &AudioBuffer) -> f32 {
    use rayon::prelude::*;
    // channels in parallel; the maximum of their peaks is the same in any order
    buf.channels
        .par_iter()
        .map(|ch| true_peak_of(ch, buf.sample_rate))
        .collect::<Vec<f32>>()
        .into_iter()
        .fold(0.0f32, f32::max)
}

/// True peak of one channel (linear), as [`true_peak_linear`] measures each.
pub fn true_peak_of(channel: &[f32], sample_rate: u32) -> f32 {
    TruePeakDetector::new(sample_rate).true_peak(channel, &mut Scratch::default())
}

/// K-weighted 100 ms sub-block powers, channels measured in parallel and summed (BS.1770
/// weights mono, left and right by 1).
pub fn subblock_powers(views: &[&[f32]], sample_rate: u32) -> Vec<f64> {
    use rayon::prelude::*;
    let per: Vec<Vec<f64>> = views
        .par_iter()
        .map(|c| loudness::subblock_powers(&[c], sample_rate))
        .collect();
    let mut sum = per.first().cloned().unwrap_or_default();
    for p in per.iter().skip(1) {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += v;
        }
    }
    sum
}

/// Frequency below which the low end is judged.
pub const LOW_END_HZ: f64 = 150.0;

pub fn analyse(buf: &AudioBuffer) -> Analysis {
    analyse_with(buf, None)
}

/// Figures already measured elsewhere (the mastering solver measures its output), so that the
/// analysis does not measure them again.
#[derive(Clone, Debug)]
pub struct Known {
    /// K-weighted 100 ms sub-block powers.
    pub loudness_subblocks: Vec<f64>,
    /// True peak, linear, on the same detector.
    pub true_peak: f32,
    /// Leave the long-term spectrum (and the low end's stereo image, read from its frames)
    /// out: nobody will read them (a master without a report).
    pub skip_spectrum: bool,
}

/// [`analyse`], reusing figures that are already known.
pub fn analyse_with(buf: &AudioBuffer, known: Option<Known>) -> Analysis {
    match known {
        Some(k) => analyse_inner(
            buf,
            Some(k.loudness_subblocks),
            Some(k.true_peak),
            k.skip_spectrum,
        ),
        None => analyse_inner(buf, None, None, false),
    }
}

/// [`analyse`] without the long-term spectrum and the low end's image (the caller measures
/// the spectrum its own way).
pub fn analyse_without_spectrum(buf: &AudioBuffer) -> Analysis {
    analyse_inner(buf, None, None, true)
}

fn analyse_inner(
    buf: &AudioBuffer,
    known_sub: Option<Vec<f64>>,
    known_tp: Option<f32>,
    skip_spectrum: bool,
) -> Analysis {
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    let sr = buf.sample_rate;
    let ((sub, tp), (levels, (stereo, (spectrum, low)))) = rayon::join(
        || {
            rayon::join(
                || known_sub.unwrap_or_else(|| subblock_powers(&views, sr)),
                || known_tp.unwrap_or_else(|| true_peak_linear(buf)),
            )
        },
        || {
            rayon::join(
                || meters::levels(&views),
                || {
                    rayon::join(
                        || (views.len() == 2).then(|| meters::stereo(views[0], views[1])),
                        || {
                            if skip_spectrum {
                                return (BandSpectrum::default(), None);
                            }
                            spectrum::third_octave_and_low_stereo(
                                &views,
                                sr,
                                SPECTRUM_FRAMES,
                                LOW_END_HZ,
                            )
                        },
                    )
                },
            )
        },
    );
    let low_end = low.map(|[ll, rr, lr]| meters::stereo_from_sums(ll, rr, lr));
    let loud = Loudness::from_subblocks(&sub);
    let tp_db = amp_db(tp as f64);
    Analysis {
        sample_rate: sr,
        channels: buf.num_channels(),
        duration_s: buf.duration_s(),
        plr_db: match (tp_db, loud.integrated_lufs) {
            (Some(t), Some(i)) => Some(t - i),
            _ => None,
        },
        loudness: loud,
        true_peak_dbtp: tp_db,
        levels,
        stereo,
        low_end,
        spectrum,
        loudness_subblocks: sub,
    }
}
