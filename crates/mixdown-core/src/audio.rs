//! The audio buffer every stage passes around: planar `f32`, one `Vec` per channel.

/// An empty sample buffer with room for `n` samples. Long buffers (a song's channel is tens
/// of megabytes) ask Linux for transparent huge pages: the first touch of the memory then
/// costs one fault per 2 MB instead of one per 4 kB, which for a 3-minute stereo song is
/// tens of milliseconds less. Only a hint: the contents and the result do not change.
pub fn sample_vec(n: usize) -> Vec<f32> {
    let v: Vec<f32> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<f32>();
        if bytes >= 2 * HUGE {
            // the whole huge pages inside the allocation
            let start = (v.as_ptr() as usize).div_ceil(HUGE) * HUGE;
            let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
            if end > start {
                // SAFETY: [start, end) lies inside memory this Vec owns; MADV_HUGEPAGE changes
                // no contents and no access rights, only how later page faults are served.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v
}

/// Planar audio: `channels[c][n]` is sample `n` of channel `c`. All channels have the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioBuffer {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
}

impl AudioBuffer {
    /// A buffer of `channels` channels and `frames` frames of silence.
    pub fn silent(sample_rate: u32, channels: usize, frames: usize) -> Self {
        AudioBuffer {
            sample_rate,
            channels: vec![vec![0.0; frames]; channels],
        }
    }

    pub fn from_channels(sample_rate: u32, channels: Vec<Vec<f32>>) -> Self {
        debug_assert!(channels.windows(2).all(|w| w[0].len() == w[1].len()));
        AudioBuffer {
            sample_rate,
            channels,
        }
    }

    /// A copy of frames `start..end` (clamped to the buffer).
    pub fn slice(&self, start: usize, end: usize) -> AudioBuffer {
        let n = self.frames();
        let (a, b) = (start.min(n), end.min(n).max(start.min(n)));
        AudioBuffer {
            sample_rate: self.sample_rate,
            channels: self.channels.iter().map(|c| c[a..b].to_vec()).collect(),
        }
    }

    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, |c| c.len())
    }

    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames() as f64 / self.sample_rate as f64
        }
    }

    /// Multiply every sample by `g` (linear).
    pub fn apply_gain(&mut self, g: f32) {
        for ch in &mut self.channels {
            for s in ch.iter_mut() {
                *s *= g;
            }
        }
    }

    /// Largest absolute sample value over all channels.
    pub fn sample_peak(&self) -> f32 {
        // For finite floats the order of |x| is the order of its bit pattern as an integer,
        // and an integer maximum runs eight samples per instruction; NaN and infinity (which a
        // float maximum would skip or keep) take the exact path.
        let mut bits = 0u32;
        for c in &self.channels {
            for chunk in c.chunks(4096) {
                let m = chunk
                    .iter()
                    .fold(0u32, |m, &s| m.max(s.to_bits() & 0x7fff_ffff));
                bits = bits.max(m);
            }
        }
        if bits < 0x7f80_0000 {
            return f32::from_bits(bits);
        }
        self.channels
            .iter()
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, &s| m.max(s.abs()))
    }

    /// True when every sample is exactly zero.
    pub fn is_digital_silence(&self) -> bool {
        self.channels.iter().all(|c| c.iter().all(|&s| s == 0.0))
    }

    /// Count of NaN or infinite samples, and the first frame that holds one.
    pub fn non_finite(&self) -> (usize, Option<usize>) {
        // almost always none: a branch-free integer test over everything first
        let any = self.channels.iter().any(|c| {
            c.chunks(4096).any(|chunk| {
                chunk.iter().fold(0u32, |n, &s| {
                    n | u32::from(s.to_bits() & 0x7f80_0000 == 0x7f80_0000)
                }) != 0
            })
        });
        if !any {
            return (0, None);
        }
        let mut count = 0;
        let mut first: Option<usize> = None;
        for ch in &self.channels {
            for (i, s) in ch.iter().enumerate() {
                if !s.is_finite() {
                    count += 1;
                    first = Some(first.map_or(i, |f| f.min(i)));
                }
            }
        }
        (count, first)
    }
}
