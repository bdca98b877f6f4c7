//! Frequency masking between tracks: where two tracks put comparable energy into the same
//! band at the same time, each hides the other. The measure and the cross-adaptive cuts that
//! reduce it.
//!
//! **Band-frames.** Each track is cut into 100 ms frames; an FFT of each frame gives its energy
//! in 1/3-octave bands from 40 Hz to 16 kHz, per channel.
//!
//! **The measure.** For two tracks i and j, in every channel, band and frame, the energy they
//! share is `min(E_i, E_j)`: large when both are there at similar levels, small when one
//! dominates or is absent. The mix's masking index is the sum over all pairs, channels, bands
//! and frames of the shared energy, divided by the sum of all tracks' energy: the share of the
//! mix's energy that sits in contested cells, in percent. Spreading tracks apart in level,
//! spectrum (EQ) or space (pan: it is measured per channel) lowers it.

use crate::audio::AudioBuffer;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// Band edges: 1/3-octave bands from 40 Hz to 16 kHz (27 bands).
pub fn band_centres() -> Vec<f64> {
    (-14..=12)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .collect()
}

/// Energy per channel, band and 100 ms frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BandFrames {
    pub channels: usize,
    pub bands: usize,
    pub frames: usize,
    /// `energy[(c * frames + t) * bands + b]`
    pub energy: Vec<f32>,
}

impl BandFrames {
    #[inline]
    pub fn at(&self, c: usize, t: usize, b: usize) -> f32 {
        self.energy[(c * self.frames + t) * self.bands + b]
    }

    /// Scale every cell by a gain per band (linear power), e.g. an EQ's response, and per
    /// channel (a pan). `band_gain.len() == bands`, `channel_gain.len() == out_channels`.
    /// A mono track panned to stereo becomes two channels.
    pub fn shaped(&self, band_gain: &[f32], channel_gain: &[f32]) -> BandFrames {
        let out_ch = channel_gain.len();
        let mut energy = vec![0.0f32; out_ch * self.frames * self.bands];
        for (oc, &cg) in channel_gain.iter().enumerate() {
            let src = if self.channels == 1 {
                0
            } else {
                oc.min(self.channels - 1)
            };
            for t in 0..self.frames {
                for b in 0..self.bands {
                    energy[(oc * self.frames + t) * self.bands + b] =
                        self.at(src, t, b) * band_gain[b] * cg;
                }
            }
        }
        BandFrames {
            channels: out_ch,
            bands: self.bands,
            frames: self.frames,
            energy,
        }
    }

    /// Energy per band summed over channels and frames.
    pub fn band_totals(&self) -> Vec<f64> {
        let mut out = vec![0.0f64; self.bands];
        for c in 0..self.channels {
            for t in 0..self.frames {
                for (b, o) in out.iter_mut().enumerate() {
                    *o += self.at(c, t, b) as f64;
                }
            }
        }
        out
    }
}

/// FFT size for 100 ms frames: the frame itself (10 Hz bins; every band holds at least one),
/// rounded up to an even length.
fn fft_size(frame: usize) -> usize {
    (frame + frame % 2).max(512)
}

/// Band-frame energies of a track (per channel).
pub fn band_frames(track: &AudioBuffer) -> BandFrames {
    let sr = track.sample_rate as f64;
    let frame = ((sr / 10.0).round() as usize).max(1);
    let n = track.frames();
    let frames = n / frame;
    let size = fft_size(frame);
    let centres = band_centres();
    let bands = centres.len();
    let bin_hz = sr / size as f64;
    // bin ranges per band
    let ranges: Vec<(usize, usize)> = centres
        .iter()
        .map(|&c| {
            let lo = ((c * 2f64.powf(-1.0 / 6.0)) / bin_hz).ceil() as usize;
            let hi = ((c * 2f64.powf(1.0 / 6.0)) / bin_hz).floor() as usize;
            (
                lo.min(size / 2),
                (hi + 1).clamp(lo.min(size / 2), size / 2 + 1),
            )
        })
        .collect();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let window: Vec<f32> = (0..frame)
        .map(|i| {
            (0.5 - 0.5 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / frame as f64).cos())
                as f32
        })
        .collect();
    // window energy normalisation: a full-scale sine reads 0.5 (mean square) in its band
    let norm = 2.0 / (window.iter().map(|w| (w * w) as f64).sum::<f64>() * size as f64);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let channels = track.num_channels();
    let mut energy = vec![0.0f32; channels * frames * bands];
    for (c, ch) in track.channels.iter().enumerate() {
        for t in 0..frames {
            input.iter_mut().for_each(|v| *v = 0.0);
            for (i, v) in input[..frame].iter_mut().enumerate() {
                *v = ch[t * frame + i] * window[i];
            }
            fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                .expect("fft sizes match");
            for (b, &(lo, hi)) in ranges.iter().enumerate() {
                let mut e = 0.0f64;
                for z in &output[lo..hi] {
                    e += (z.re as f64).powi(2) + (z.im as f64).powi(2);
                }
                energy[(c * frames + t) * bands + b] = (e * norm) as f32;
            }
        }
    }
    BandFrames {
        channels,
        bands,
        frames,
        energy,
    }
}

/// The masking between one pair of tracks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairMasking {
    pub a: String,
    pub b: String,
    /// Energy the two hold at comparable levels (the sum of min(E_a, E_b) over cells) as a
    /// share of the mix's total, percent.
    pub index_pct: f64,
    /// The bands where most of it lies (centre Hz), worst first.
    pub worst_bands_hz: Vec<f64>,
}

/// The mix's masking: the index and the worst pairs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaskingReport {
    /// What the number means.
    pub definition: String,
    /// How covered the tracks are, percent (lower is clearer): see [`DEFINITION`].
    pub index_pct: f64,
    /// Each track's covered share, percent (in the order the tracks were given).
    #[serde(default)]
    pub per_track_pct: Vec<f64>,
    /// The pairs that mask each other most, worst first (at most 10).
    pub worst_pairs: Vec<PairMasking>,
}

pub const DEFINITION: &str = "how much of each track is covered by the others, averaged over the tracks (percent): in every 1/3-octave band, 100 ms frame and channel, a track with energy E under the other tracks' energy R is covered by R/(E+R) (0 when it is alone there, 50 when the rest is as loud, near 100 when it is buried); each track's figure is that share weighted by its own energy";

/// Masking between tracks (all with the same channel count, frames and bands).
pub fn measure(names: &[String], tracks: &[BandFrames]) -> MaskingReport {
    let n = tracks.len();
    let centres = band_centres();
    let total: f64 = tracks
        .iter()
        .map(|t| t.energy.iter().map(|&e| e as f64).sum::<f64>())
        .sum();
    if n < 2 || total <= 0.0 {
        return MaskingReport {
            definition: DEFINITION.into(),
            ..Default::default()
        };
    }
    // the whole mix per cell, then each track against the rest
    let cells = tracks[0].energy.len();
    let mut sum = vec![0.0f64; cells];
    for t in tracks {
        for (s, &e) in sum.iter_mut().zip(&t.energy) {
            *s += e as f64;
        }
    }
    let per_track: Vec<f64> = tracks
        .iter()
        .map(|t| {
            let (mut covered, mut own) = (0.0f64, 0.0f64);
            for (&e, &s) in t.energy.iter().zip(&sum) {
                let e = e as f64;
                if e > 0.0 {
                    let rest = (s - e).max(0.0);
                    covered += e * rest / (e + rest);
                    own += e;
                }
            }
            if own > 0.0 {
                100.0 * covered / own
            } else {
                0.0
            }
        })
        .collect();
    let index = per_track.iter().sum::<f64>() / n as f64;
    let pair_list: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let shared: Vec<Vec<f64>> = {
        use rayon::prelude::*;
        pair_list
            .par_iter()
            .map(|&(i, j)| {
                let (a, b) = (&tracks[i], &tracks[j]);
                let mut per_band = vec![0.0f64; a.bands];
                // cell by cell, each band's sum in frame order
                for (ra, rb) in a
                    .energy
                    .chunks_exact(a.bands.max(1))
                    .zip(b.energy.chunks_exact(a.bands.max(1)))
                {
                    for ((p, &x), &y) in per_band.iter_mut().zip(ra).zip(rb) {
                        *p += x.min(y) as f64;
                    }
                }
                per_band
            })
            .collect()
    };
    let mut pairs = Vec::new();
    for (&(i, j), per_band) in pair_list.iter().zip(shared) {
        let a = &tracks[i];
        let s: f64 = per_band.iter().sum();
        let mut order: Vec<usize> = (0..a.bands).collect();
        order.sort_by(|&p, &q| per_band[q].total_cmp(&per_band[p]));
        pairs.push(PairMasking {
            a: names[i].clone(),
            b: names[j].clone(),
            index_pct: 100.0 * s / total,
            worst_bands_hz: order
                .iter()
                .take(3)
                .filter(|&&k| per_band[k] > 0.0)
                .map(|&k| (centres[k] * 10.0).round() / 10.0)
                .collect(),
        });
    }
    pairs.sort_by(|p, q| q.index_pct.total_cmp(&p.index_pct));
    pairs.truncate(10);
    MaskingReport {
        definition: DEFINITION.into(),
        index_pct: index,
        per_track_pct: per_track
            .iter()
            .map(|v| (v * 10.0).round() / 10.0)
            .collect(),
        worst_pairs: pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(f: f64, sr: u32, secs: f64, amp: f64) -> Vec<f32> {
        (0..(secs * sr as f64) as usize)
            .map(|n| (amp * (2.0 * std::f64::consts::PI * f * n as f64 / sr as f64).sin()) as f32)
            .collect()
    }

    #[test]
    fn band_energy_of_a_sine_lands_in_its_band() {
        let sr = 44_100;
        let x = AudioBuffer::from_channels(sr, vec![tone(1000.0, sr, 2.0, 1.0)]);
        let bf = band_frames(&x);
        assert_eq!(bf.frames, 20);
        let b1k = band_centres()
            .iter()
            .position(|&c| (c - 1000.0).abs() < 1.0)
            .unwrap();
        let e = bf.at(0, 5, b1k);
        assert!((10.0 * (e as f64 / 0.5).log10()).abs() < 1.0, "{e}");
        assert!(bf.at(0, 5, b1k - 4) < e * 1e-3);
    }

    #[test]
    fn masking_falls_when_tracks_separate_in_spectrum_or_space_and_falls_on_the_buried_track() {
        let sr = 44_100;
        let a = AudioBuffer::from_channels(sr, vec![tone(500.0, sr, 2.0, 0.5)]);
        let b = AudioBuffer::from_channels(sr, vec![tone(520.0, sr, 2.0, 0.5)]);
        let c = AudioBuffer::from_channels(sr, vec![tone(4000.0, sr, 2.0, 0.5)]);
        let names = vec!["a".to_string(), "b".to_string()];
        let (fa, fb, fc) = (band_frames(&a), band_frames(&b), band_frames(&c));
        let flat = vec![1.0f32; fa.bands];
        let centre = [0.5f32, 0.5];
        let same = measure(
            &names,
            &[fa.shaped(&flat, &centre), fb.shaped(&flat, &centre)],
        );
        let apart = measure(
            &names,
            &[fa.shaped(&flat, &centre), fc.shaped(&flat, &centre)],
        );
        let quieter = measure(
            &names,
            &[fa.shaped(&flat, &centre), fb.shaped(&flat, &[0.05, 0.05])],
        );
        let panned = measure(
            &names,
            &[fa.shaped(&flat, &[0.9, 0.1]), fb.shaped(&flat, &[0.1, 0.9])],
        );
        assert!((same.index_pct - 50.0).abs() < 5.0, "{}", same.index_pct);
        assert!(apart.index_pct < 1.0, "{}", apart.index_pct);
        // the quieter one is buried, the louder one free: moving one down only moves the
        // masking onto it
        assert!(
            quieter.per_track_pct[1] > 90.0,
            "{:?}",
            quieter.per_track_pct
        );
        assert!(
            quieter.per_track_pct[0] < 10.0,
            "{:?}",
            quieter.per_track_pct
        );
        assert!(
            panned.index_pct < same.index_pct / 2.0,
            "{}",
            panned.index_pct
        );
        assert_eq!(same.worst_pairs[0].worst_bands_hz[0], 500.0);
    }
}
