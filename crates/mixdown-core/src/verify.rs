//! Verification with a second, independent meter: the ebur128 crate (a port of libebur128
//! that passes the EBU Tech 3341/3342 conformance set). mixdown's own meters drive the
//! decisions; this one checks them.

use crate::audio::AudioBuffer;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossCheck {
    pub meter: String,
    pub integrated_lufs: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
}

fn finite_db(x: f64) -> Option<f64> {
    (x.is_finite() && x > 0.0).then(|| 20.0 * x.log10())
}

/// Measure `buf` with the ebur128 crate. Loudness and peaks run on separate threads.
pub fn ebur128_check(buf: &AudioBuffer) -> CrossCheck {
    use ebur128::{EbuR128, Mode};
    let ch = buf.num_channels() as u32;
    let sr = buf.sample_rate;
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    let (loud, peaks) = rayon::join(
        || {
            let mut m = EbuR128::new(ch, sr, Mode::I | Mode::LRA).ok()?;
            m.add_frames_planar_f32(&views).ok()?;
            let i = m.loudness_global().ok().filter(|v| v.is_finite());
            let lra = m.loudness_range().ok().filter(|v| v.is_finite());
            Some((i, lra))
        },
        || {
            let mut m = EbuR128::new(ch, sr, Mode::TRUE_PEAK | Mode::SAMPLE_PEAK).ok()?;
            m.add_frames_planar_f32(&views).ok()?;
            let tp = (0..ch)
                .filter_map(|c| m.true_peak(c).ok())
                .fold(0.0f64, f64::max);
            let sp = (0..ch)
                .filter_map(|c| m.sample_peak(c).ok())
                .fold(0.0f64, f64::max);
            Some((finite_db(tp), finite_db(sp)))
        },
    );
    let (i, lra) = loud.unwrap_or((None, None));
    let (tp, sp) = peaks.unwrap_or((None, None));
    CrossCheck {
        meter: "ebur128 crate 0.1.11 (libebur128 port)".into(),
        integrated_lufs: i,
        loudness_range_lu: lra,
        true_peak_dbtp: tp,
        sample_peak_dbfs: sp,
    }
}
