//! Panning: a constant-power pan law for mono sources and a width + pan placement for stereo
//! sources.
//!
//! # Mono sources: constant-power (sine/cosine) law
//!
//! `pan` in [-1, 1] (-1 hard left, 0 centre, +1 hard right) maps to the angle
//! θ = (pan + 1)·π/4 ∈ [0, π/2], and the gains are
//!
//! ```text
//! left = cos θ,   right = sin θ,   left² + right² = 1 at every position.
//! ```
//!
//! At the centre both gains are 1/√2 (−3.01 dB), so the two channels together carry exactly the
//! power of the mono input. ITU-R BS.1770 loudness sums the K-weighted power of the left and
//! right channels with weight 1, so a panned mono source measures the same loudness as the mono
//! input at every position: moving a track in the stereo field never changes its loudness.
//!
//! # Stereo sources: width, then pan
//!
//! [`StereoPlacement`] first scales the side signal, S = (L − R)/2, by `width` (0 = mono,
//! 1 = unchanged, 2 = twice as wide; the mid signal M = (L + R)/2 is untouched), then moves the
//! image with `pan`. Panning a stereo source does not throw half of it away (as a plain balance
//! control would): each input channel is treated as a mono source sitting at its own edge of the
//! image, and panning right moves the *left* channel towards the right with the constant-power
//! law above, while the right channel stays where it is:
//!
//! ```text
//! pan = p ≥ 0:   L' = L·cos(p·π/2),            R' = R + L·sin(p·π/2)
//! pan = p < 0:   L' = L + R·sin(−p·π/2),       R' = R·cos(−p·π/2)
//! ```
//!
//! At p = 0 the source is unchanged; at p = +1 all of it sits in the right channel. The power of
//! each input channel is preserved (cos² + sin² = 1); where the two channels carry the same
//! signal they add in amplitude, which is what happens to any stereo source that is folded
//! towards one side.
//!
//! `pan` is clamped to [-1, 1] and `width` to [0, 2]; NaN counts as 0 (centre) for `pan` and
//! 1 (unchanged) for `width`. With `pan == 0` and `width == 1` processing is the exact identity
//! (the samples are not touched). Nothing here allocates or keeps state.

use std::f64::consts::FRAC_PI_4;

/// Left and right gains of the constant-power pan law for a mono source (see the module
/// documentation). `pan` is clamped to [-1, 1]; NaN is the centre.
pub fn pan_gains(pan: f64) -> (f32, f32) {
    let (l, r) = pan_gains_f64(pan);
    (l as f32, r as f32)
}

/// [`pan_gains`] in double precision.
pub fn pan_gains_f64(pan: f64) -> (f64, f64) {
    let p = if pan.is_nan() {
        0.0
    } else {
        pan.clamp(-1.0, 1.0)
    };
    // Exact end points and centre (cos(π/2) is 6e-17 in floating point, not 0).
    if p == -1.0 {
        return (1.0, 0.0);
    }
    if p == 1.0 {
        return (0.0, 1.0);
    }
    let (s, c) = ((p + 1.0) * FRAC_PI_4).sin_cos();
    (c, s)
}

/// Placement of a track in the stereo field. Serialised as e.g. `{ pan = -0.3, width = 0.8 }`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StereoPlacement {
    /// -1 hard left … 0 centre … +1 hard right.
    pub pan: f64,
    /// Side-signal gain for stereo sources: 0 mono, 1 unchanged, 2 twice as wide. Ignored for
    /// mono sources.
    pub width: f64,
}

impl Default for StereoPlacement {
    fn default() -> Self {
        StereoPlacement {
            pan: 0.0,
            width: 1.0,
        }
    }
}

impl StereoPlacement {
    pub fn new(pan: f64, width: f64) -> Self {
        StereoPlacement { pan, width }
    }

    fn sanitized(&self) -> (f64, f64) {
        let pan = if self.pan.is_nan() {
            0.0
        } else {
            self.pan.clamp(-1.0, 1.0)
        };
        let width = if self.width.is_nan() {
            1.0
        } else {
            self.width.clamp(0.0, 2.0)
        };
        (pan, width)
    }

    /// Constant-power gains for a mono source at this position (`width` plays no part).
    pub fn mono_gains(&self) -> (f32, f32) {
        pan_gains(self.sanitized().0)
    }

    /// Places a mono source: `out_l = input · left gain`, `out_r = input · right gain`.
    /// Panics unless the three slices have the same length.
    pub fn process_mono(&self, input: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        assert!(
            input.len() == out_l.len() && input.len() == out_r.len(),
            "pan buffers must have equal lengths"
        );
        let (gl, gr) = self.mono_gains();
        for ((x, l), r) in input.iter().zip(out_l.iter_mut()).zip(out_r.iter_mut()) {
            *l = x * gl;
            *r = x * gr;
        }
    }

    /// Applies width, then pan, to a planar stereo pair in place. Panics unless both slices
    /// have the same length.
    pub fn process_stereo(&self, left: &mut [f32], right: &mut [f32]) {
        assert_eq!(
            left.len(),
            right.len(),
            "pan buffers must have equal lengths"
        );
        let (pan, width) = self.sanitized();
        if width != 1.0 {
            let w = width as f32;
            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                let m = 0.5 * (*l + *r);
                let s = 0.5 * (*l - *r) * w;
                *l = m + s;
                *r = m - s;
            }
        }
        if pan == 0.0 {
            return;
        }
        // the channel on the far side moves across; the near one stays
        let (keep, cross) = pan_gains_f64(2.0 * pan.abs() - 1.0);
        let (keep, cross) = (keep as f32, cross as f32);
        let (moving, staying) = if pan > 0.0 {
            (left, right)
        } else {
            (right, left)
        };
        for (m, s) in moving.iter_mut().zip(staying.iter_mut()) {
            *s += *m * cross;
            *m *= keep;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_points_and_centre_are_exact() {
        assert_eq!(pan_gains(-1.0), (1.0, 0.0));
        assert_eq!(pan_gains(1.0), (0.0, 1.0));
        assert_eq!(pan_gains(-7.0), (1.0, 0.0));
        assert_eq!(pan_gains(f64::NAN), pan_gains(0.0));
        let (l, r) = pan_gains(0.0);
        assert_eq!(l, r);
        assert!((20.0 * f64::from(l).log10() + 3.0103).abs() < 1e-4);
    }

    #[test]
    fn stereo_pan_moves_the_far_channel_with_the_mono_law() {
        // p = 0.5: the left channel sits at position 2p - 1 = 0, i.e. centre gains
        let mut l = vec![1.0f32; 4];
        let mut r = vec![0.0f32; 4];
        StereoPlacement::new(0.5, 1.0).process_stereo(&mut l, &mut r);
        let (cl, cr) = pan_gains(0.0);
        assert_eq!((l[0], r[0]), (cl, cr));
        // the right channel is untouched when panning right
        let mut l = vec![0.0f32; 4];
        let mut r = vec![0.7f32; 4];
        StereoPlacement::new(0.8, 1.0).process_stereo(&mut l, &mut r);
        assert_eq!((l[0], r[0]), (0.0, 0.7));
    }
}
