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

/// Measure `buf`'s integrated loudness and sample peak with the ebur128 crate.
///
/// The song is measured in two halves on two threads, and the crate gates the union of their
/// 400 ms blocks (`loudness_global_multiple`): the first half runs 300 ms past the cut, which
/// is on the 100 ms block grid, so each block of a single pass is measured exactly once (the
/// second half's filters start from rest, which moves the result by far less than 0.001 LU).
/// Loudness range is not cross-checked here (it would need a second pass of its own): the test
/// suite checks mixdown's loudness range against this crate's. (Its true-peak scanner costs more
/// than the whole rest of the check; mixdown's own true-peak detector already reads the larger
/// of two interpolators, one of them the BS.1770 kind that libebur128 uses, and the limiter
/// test suite checks the ceiling against ebur128's true peak directly.)
pub fn ebur128_check(buf: &AudioBuffer) -> CrossCheck {
    use ebur128::{EbuR128, Mode};
    let ch = buf.num_channels() as u32;
    let n = buf.frames();
    // libebur128's 100 ms step, in frames
    let step = (buf.sample_rate as usize + 5) / 10;
    let cut = (n / 2) / step.max(1) * step;
    let meter = |a: usize, b: usize| -> Option<EbuR128> {
        let views: Vec<&[f32]> = buf.channels.iter().map(|c| &c[a..b]).collect();
        let mut m = EbuR128::new(ch, buf.sample_rate, Mode::I | Mode::SAMPLE_PEAK).ok()?;
        m.add_frames_planar_f32(&views).ok()?;
        Some(m)
    };
    let parts = if step > 0 && cut >= 20 * step && cut + 3 * step < n {
        let (a, b) = rayon::join(|| meter(0, cut + 3 * step), || meter(cut, n));
        a.zip(b).map(|(a, b)| vec![a, b])
    } else {
        meter(0, n).map(|a| vec![a])
    };
    let (i, sp) = parts
        .map(|parts| {
            let i = EbuR128::loudness_global_multiple(parts.iter())
                .ok()
                .filter(|v| v.is_finite());
            let sp = parts
                .iter()
                .flat_map(|m| (0..ch).filter_map(|c| m.sample_peak(c).ok()))
                .fold(0.0f64, f64::max);
            (i, finite_db(sp))
        })
        .unwrap_or((None, None));
    CrossCheck {
        meter: "ebur128 crate 0.1.11 (libebur128 port)".into(),
        integrated_lufs: i,
        loudness_range_lu: None,
        true_peak_dbtp: None,
        sample_peak_dbfs: sp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minute of a tone whose level steps every few seconds, with a quiet stretch that the
    /// relative gate drops: the two-halves measurement equals one pass over the whole.
    #[test]
    fn two_halves_measure_what_one_pass_does() {
        use ebur128::{EbuR128, Mode};
        for rate in [44_100u32, 48_000, 22_050] {
            let n = rate as usize * 61 + 123;
            let mk = |ph: f64| -> Vec<f32> {
                (0..n)
                    .map(|i| {
                        let t = i as f64 / rate as f64;
                        let level = [0.5, 0.1, 0.8, 0.02, 0.3][(t / 4.7) as usize % 5];
                        (level * (2.0 * std::f64::consts::PI * 97.0 * t + ph).sin()) as f32
                    })
                    .collect()
            };
            let buf = AudioBuffer {
                sample_rate: rate,
                channels: vec![mk(0.0), mk(1.0)],
            };
            let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
            let mut one = EbuR128::new(2, rate, Mode::I).unwrap();
            one.add_frames_planar_f32(&views).unwrap();
            let whole = one.loudness_global().unwrap();
            let c = ebur128_check(&buf);
            let got = c.integrated_lufs.expect("a loudness");
            assert!((got - whole).abs() < 1e-3, "{rate}: {got} vs {whole}");
            let sp = c.sample_peak_dbfs.expect("a peak");
            assert!((sp - 20.0 * 0.8f64.log10()).abs() < 0.01, "{sp}");
        }
    }

    #[test]
    fn short_and_silent_buffers_do_not_panic() {
        for n in [0usize, 10, 4_410, 100_000] {
            let buf = AudioBuffer {
                sample_rate: 44_100,
                channels: vec![vec![0.0; n], vec![0.0; n]],
            };
            let c = ebur128_check(&buf);
            assert_eq!(c.sample_peak_dbfs, None);
        }
    }
}
