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
    /// Stereo image below 150 Hz (Linkwitz-Riley low-pass), where the low end should be mono.
    pub low_end: Option<Stereo>,
    /// Long-term 1/3-octave spectrum of the playing parts.
    pub spectrum: BandSpectrum,
}

/// Frames analysed at most for the long-term spectrum.
const SPECTRUM_FRAMES: usize = 600;

/// True peak of a buffer (linear) with the detector the limiter uses.
pub fn true_peak_linear(buf: &AudioBuffer) -> f32 {
    let det = TruePeakDetector::new();
    let mut scratch = Scratch::default();
    let mut best = 0.0f32;
    let mut env = Vec::new();
    for ch in &buf.channels {
        env.resize(ch.len(), 0.0);
        env.iter_mut().for_each(|e| *e = 0.0);
        det.peak_envelope_max(ch, &mut env, &mut scratch);
        best = env.iter().fold(best, |m, &v| m.max(v));
    }
    best
}

/// Frequency below which the low end is judged.
pub const LOW_END_HZ: f64 = 150.0;

/// Stereo figures of the band below [`LOW_END_HZ`].
pub fn low_end_stereo(left: &[f32], right: &[f32], sample_rate: u32) -> Stereo {
    use mixdown_dsp::crossover::Lr4Crossover;
    let (mut xl, mut xr) = (
        Lr4Crossover::new(LOW_END_HZ, sample_rate as f64),
        Lr4Crossover::new(LOW_END_HZ, sample_rate as f64),
    );
    // filter in blocks to keep memory small
    let mut lo_l = vec![0.0f32; 8192];
    let mut lo_r = vec![0.0f32; 8192];
    let mut acc = meters::StereoAccumulator::default();
    for (bl, br) in left.chunks(8192).zip(right.chunks(8192)) {
        for (i, (&a, &b)) in bl.iter().zip(br).enumerate() {
            lo_l[i] = xl.process(a).0;
            lo_r[i] = xr.process(b).0;
        }
        acc.push(&lo_l[..bl.len()], &lo_r[..br.len()]);
    }
    acc.finish()
}

pub fn analyse(buf: &AudioBuffer) -> Analysis {
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    let sr = buf.sample_rate;
    let ((loud, (tp, low_end)), (levels, (stereo, spectrum))) = rayon::join(
        || {
            rayon::join(
                || Loudness::from_subblocks(&loudness::subblock_powers(&views, sr)),
                || {
                    (
                        true_peak_linear(buf),
                        (views.len() == 2).then(|| low_end_stereo(views[0], views[1], sr)),
                    )
                },
            )
        },
        || {
            rayon::join(
                || meters::levels(&views),
                || {
                    rayon::join(
                        || (views.len() == 2).then(|| meters::stereo(views[0], views[1])),
                        || spectrum::third_octave(&views, sr, SPECTRUM_FRAMES),
                    )
                },
            )
        },
    );
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
    }
}
