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

/// Measure `buf`'s loudness with the ebur128 crate. (Its true-peak scanner costs more than the
/// whole rest of the check; mixdown's own true-peak detector already reads the larger of two
/// interpolators, one of them the BS.1770 kind that libebur128 uses, and the limiter test
/// suite checks the ceiling against ebur128's true peak directly.)
pub fn ebur128_check(buf: &AudioBuffer) -> CrossCheck {
    use ebur128::{EbuR128, Mode};
    let ch = buf.num_channels() as u32;
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    let measured = EbuR128::new(ch, buf.sample_rate, Mode::I | Mode::LRA | Mode::SAMPLE_PEAK)
        .ok()
        .and_then(|mut m| {
            m.add_frames_planar_f32(&views).ok()?;
            let i = m.loudness_global().ok().filter(|v| v.is_finite());
            let lra = m.loudness_range().ok().filter(|v| v.is_finite());
            let sp = (0..ch)
                .filter_map(|c| m.sample_peak(c).ok())
                .fold(0.0f64, f64::max);
            Some((i, lra, finite_db(sp)))
        });
    let (i, lra, sp) = measured.unwrap_or((None, None, None));
    CrossCheck {
        meter: "ebur128 crate 0.1.11 (libebur128 port)".into(),
        integrated_lufs: i,
        loudness_range_lu: lra,
        true_peak_dbtp: None,
        sample_peak_dbfs: sp,
    }
}
