//! Sample-rate conversion with rubato's synchronous FFT resampler.
//!
//! The ratio between two audio rates is always a fixed rational number, which is exactly what
//! the FFT resampler is for: it is fast and its anti-aliasing filter is steep. The output is
//! time-aligned with the input (the resampler's delay is removed, so an event at time t stays at
//! time t) and has round(frames * to / from) frames.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// Input chunk size hint. With 8 sub-chunks the FFT blocks are ~1k frames: a steep filter
/// (cutoff close to Nyquist) at a modest delay.
const CHUNK: usize = 8192;
const SUB_CHUNKS: usize = 8;

/// Resample `buf` to `to_rate`. Same rate: a clone.
pub fn resample(buf: &AudioBuffer, to_rate: u32) -> Result<AudioBuffer> {
    let from = buf.sample_rate;
    if from == to_rate {
        return Ok(buf.clone());
    }
    if from == 0 || to_rate == 0 {
        return Err(Error::audio(format!(
            "cannot resample from {from} Hz to {to_rate} Hz"
        )));
    }
    let channels = buf.num_channels();
    let frames = buf.frames();
    let out_len = ((frames as u128 * to_rate as u128 + from as u128 / 2) / from as u128) as usize;
    if channels == 0 || frames == 0 {
        return Ok(AudioBuffer::silent(to_rate, channels, 0));
    }

    let mut rs = Fft::<f32>::new_custom(
        from as usize,
        to_rate as usize,
        CHUNK,
        SUB_CHUNKS,
        channels,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| Error::audio(format!("cannot resample {from} Hz to {to_rate} Hz: {e}")))?;

    let input = SequentialSliceOfVecs::new(&buf.channels, channels, frames)
        .map_err(|e| Error::audio(format!("resampler input: {e}")))?;
    let needed = rs.process_all_needed_output_len(frames);
    let mut out_data: Vec<Vec<f32>> = vec![vec![0.0; needed]; channels];
    let produced = {
        let mut output = SequentialSliceOfVecs::new_mut(&mut out_data, channels, needed)
            .map_err(|e| Error::audio(format!("resampler output: {e}")))?;
        let (_, produced) = rs
            .process_all_into_buffer(&input, &mut output, frames, None)
            .map_err(|e| Error::audio(format!("resampling failed: {e}")))?;
        produced
    };
    for ch in &mut out_data {
        ch.truncate(produced.min(out_len));
        // round() can exceed what the resampler reports by a frame: pad with silence.
        ch.resize(out_len, 0.0);
        ch.shrink_to_fit();
    }
    Ok(AudioBuffer::from_channels(to_rate, out_data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_rate_is_a_clone_and_lengths_round() {
        let b = AudioBuffer::from_channels(44_100, vec![vec![0.1, 0.2, 0.3]]);
        assert_eq!(resample(&b, 44_100).unwrap(), b);
        let long = AudioBuffer::silent(44_100, 2, 44_101);
        let r = resample(&long, 48_000).unwrap();
        // 44101 * 48000 / 44100 = 48001.09 -> 48001
        assert_eq!(r.frames(), 48_001);
        assert_eq!(r.num_channels(), 2);
        assert_eq!(r.sample_rate, 48_000);
        let empty = AudioBuffer::silent(44_100, 1, 0);
        assert_eq!(resample(&empty, 48_000).unwrap().frames(), 0);
    }
}
