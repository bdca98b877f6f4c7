//! The channel strip: what a track goes through before its fader, in order: trim, high-pass,
//! EQ, compressor. Plain data (it is written into the Session) and its renderer.

use crate::audio::AudioBuffer;
use mixdown_dsp::biquad::{Butterworth, FilterChain, FilterKind};
use mixdown_dsp::compressor::{Compressor, CompressorParams, GainReductionStats};
use serde::{Deserialize, Serialize};

/// A high-pass by role: Butterworth, `order` 2 (12 dB/octave) or 4 (24 dB/octave).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighPass {
    pub freq_hz: f64,
    pub order: u32,
}

/// The channel strip of one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strip {
    /// Gain into the strip (to a working level), dB.
    #[serde(default)]
    pub trim_db: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highpass: Option<HighPass>,
    /// EQ bands in order (corrective cuts and the cuts that make room for other tracks).
    #[serde(default)]
    pub eq: Vec<FilterKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompressorParams>,
}

impl Default for Strip {
    fn default() -> Self {
        Strip {
            trim_db: 0.0,
            highpass: None,
            eq: Vec::new(),
            compressor: None,
        }
    }
}

impl Strip {
    /// All filter sections in processing order (the high-pass, then the EQ).
    pub fn filter_sections(&self) -> Vec<FilterKind> {
        let mut v = Vec::new();
        if let Some(h) = &self.highpass {
            v.extend(Butterworth::highpass(h.freq_hz, h.order).sections());
        }
        v.extend(self.eq.iter().cloned());
        v
    }

    /// The EQ's response (high-pass included) at `hz`, dB.
    pub fn response_db(&self, hz: f64, sample_rate: f64) -> f64 {
        let mut db: f64 = self.eq.iter().map(|k| k.response_db(hz, sample_rate)).sum();
        if let Some(h) = &self.highpass {
            db += Butterworth::highpass(h.freq_hz, h.order).response_db(hz, sample_rate);
        }
        db
    }
}

/// Frames per block when rendering a strip.
const BLOCK: usize = 16_384;

/// Render a strip on a track in place. Returns the compressor's gain reduction, if any.
pub fn render_strip(track: &mut AudioBuffer, strip: &Strip) -> Option<GainReductionStats> {
    let sr = track.sample_rate as f64;
    let ch = track.num_channels();
    if strip.trim_db != 0.0 {
        track.apply_gain(10f64.powf(strip.trim_db / 20.0) as f32);
    }
    let sections = strip.filter_sections();
    let mut filters = (!sections.is_empty()).then(|| FilterChain::new(&sections, sr, ch));
    let mut comp = strip
        .compressor
        .as_ref()
        .map(|p| Compressor::new(p.clone(), sr, ch));
    if filters.is_none() && comp.is_none() {
        return None;
    }
    // a mono track runs whole through the EQ (two halves side by side), then through the
    // compressor (its sidechain filter likewise): stages in series give the same either way
    if let [mono] = track.channels.as_mut_slice() {
        if let Some(mut f) = filters.take() {
            f.process_mono_whole(mono);
        }
        if let Some(c) = comp.as_mut() {
            c.process_mono_whole(mono);
            return Some(c.stats());
        }
        return None;
    }
    let n = track.frames();
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        let mut views: Vec<&mut [f32]> = track
            .channels
            .iter_mut()
            .map(|c| &mut c[start..start + len])
            .collect();
        if let Some(f) = filters.as_mut() {
            f.process(&mut views);
        }
        if let Some(c) = comp.as_mut() {
            c.process(&mut views);
        }
        start += len;
    }
    comp.map(|c| c.stats())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_strip_is_bit_transparent_and_trim_is_exact() {
        let x: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let mut t = AudioBuffer::from_channels(48_000, vec![x.clone()]);
        assert!(render_strip(&mut t, &Strip::default()).is_none());
        assert_eq!(t.channels[0], x);
        let s = Strip {
            trim_db: -6.0,
            ..Strip::default()
        };
        render_strip(&mut t, &s);
        let g = 10f32.powf(-6.0 / 20.0);
        assert!(t.channels[0]
            .iter()
            .zip(&x)
            .all(|(a, b)| (a - b * g).abs() < 1e-7));
    }

    #[test]
    fn response_includes_the_highpass() {
        let s = Strip {
            highpass: Some(HighPass {
                freq_hz: 100.0,
                order: 2,
            }),
            eq: vec![FilterKind::Peaking {
                freq_hz: 1000.0,
                gain_db: -3.0,
                q: 1.0,
            }],
            ..Strip::default()
        };
        assert!((s.response_db(100.0, 48_000.0) - -3.01).abs() < 0.1);
        assert!((s.response_db(1000.0, 48_000.0) - -3.0).abs() < 0.05);
    }
}
