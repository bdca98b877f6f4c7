//! Limiter torture suite: signals built to break a true-peak limiter. For each, the output's
//! 4x-oversampled true peak must stay at or below the ceiling, measured by our meter and by the
//! ebur128 crate's independent true-peak meter (a different interpolation filter). No safety
//! margin is given to the limiter here: the ceiling must hold exactly.

use mixdown_dsp::limiter::{limit, LimiterParams};
use mixdown_dsp::oversample::true_peak;
use mixdown_dsp::rng::Rng;
use std::f64::consts::PI;

/// Safety margin below the ceiling: none, the construction alone must hold it.
const MARGIN_DB: f64 = 0.0;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn ebur128_true_peak_db(channels: &[Vec<f32>], sr: u32) -> f64 {
    let mut m = ebur128::EbuR128::new(channels.len() as u32, sr, ebur128::Mode::TRUE_PEAK).unwrap();
    let views: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
    m.add_frames_planar_f32(&views).unwrap();
    let tp = (0..channels.len() as u32)
        .map(|c| m.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    db(tp)
}

/// Limit `chans` (after `pre_gain_db`) to `ceiling` and check both meters.
fn check(name: &str, mut chans: Vec<Vec<f32>>, sr: u32, pre_gain_db: f64, ceiling: f64) {
    let p = LimiterParams {
        ceiling_dbtp: ceiling,
        ..LimiterParams::default()
    };
    let res = limit(&mut chans, pre_gain_db, &p, sr as f64, MARGIN_DB);
    let views: Vec<&[f32]> = chans.iter().map(|c| c.as_slice()).collect();
    let ours = db(true_peak(&views, sr) as f64);
    let theirs = ebur128_true_peak_db(&chans, sr);
    assert!(
        chans.iter().all(|c| c.iter().all(|s| s.is_finite())),
        "{name}: non-finite output"
    );
    assert!(
        ours <= ceiling + 1e-3,
        "{name}: 4x true peak {ours:.3} dBTP over ceiling {ceiling}"
    );
    assert!(
        theirs <= ceiling + 1e-3,
        "{name}: ebur128 true peak {theirs:.3} dBTP over ceiling {ceiling} (ours {ours:.3})"
    );
    assert!(
        res.stats.max_db > 0.5,
        "{name}: the test signal should need limiting"
    );
    eprintln!(
        "{name}: out TP {ours:.3} (ebur128 {theirs:.3}) ceiling {ceiling}, max GR {:.1} dB, passes {}",
        res.stats.max_db, res.passes
    );
}

fn sine(f: f64, sr: u32, secs: f64, amp: f64, phase: f64) -> Vec<f32> {
    (0..(secs * sr as f64) as usize)
        .map(|n| (amp * (2.0 * PI * f * n as f64 / sr as f64 + phase).sin()) as f32)
        .collect()
}

#[test]
fn full_scale_square_waves() {
    for &(f, sr) in &[
        (100.0, 44_100u32),
        (997.0, 44_100),
        (5_000.0, 48_000),
        (11_025.0, 44_100),
    ] {
        let n = 2 * sr as usize;
        let period = sr as f64 / f;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                if (i as f64 % period) < period / 2.0 {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        for &ceil in &[-1.0, -0.3, -3.0] {
            check(
                &format!("square {f} Hz @ {sr}, ceiling {ceil}"),
                vec![x.clone(), x.clone()],
                sr,
                0.0,
                ceil,
            );
        }
    }
}

#[test]
fn fs_over_4_sine_at_45_degrees() {
    // Sample peak -3 dB below the true peak: the classic inter-sample over.
    for &sr in &[44_100u32, 48_000, 96_000] {
        let x = sine(sr as f64 / 4.0, sr, 2.0, 1.0, PI / 4.0);
        check(
            &format!("fs/4 at 45 deg @ {sr}"),
            vec![x.clone(), x],
            sr,
            0.0,
            -1.0,
        );
    }
    let x = sine(44_100.0 / 4.0, 44_100, 2.0, 1.0, PI / 4.0);
    check(
        "fs/4 at 45 deg +6 dB",
        vec![x.clone(), x],
        44_100,
        6.0,
        -1.0,
    );
}

#[test]
fn low_frequency_sine_bursts() {
    let sr = 44_100u32;
    for &f in &[30.0, 40.0, 45.0, 60.0] {
        let n = 3 * sr as usize;
        let mut x = vec![0.0f32; n];
        // 300 ms bursts every 600 ms with 5 ms fades, 9 dB over the ceiling
        for (i, v) in x.iter_mut().enumerate() {
            let t = i as f64 / sr as f64;
            let local = t % 0.6;
            if local < 0.3 {
                let fade = (local / 0.005).min(1.0).min((0.3 - local) / 0.005);
                *v = (fade * 2.5 * (2.0 * PI * f * t).sin()) as f32;
            }
        }
        check(&format!("{f} Hz bursts"), vec![x.clone(), x], sr, 0.0, -1.0);
    }
}

#[test]
fn drum_like_transients() {
    let sr = 48_000u32;
    let n = 3 * sr as usize;
    let mut rng = Rng::new(5);
    let mut x = vec![0.0f32; n];
    // kick: pitch sweep 150 -> 50 Hz, 1 ms attack; snare: noise burst; every 250 ms, 12 dB hot
    for hit in 0..12 {
        let start = hit * sr as usize / 4;
        let mut phase = 0.0f64;
        for k in 0..(sr as usize / 5) {
            let t = k as f64 / sr as f64;
            let f = 50.0 + 100.0 * (-t * 30.0).exp();
            phase += 2.0 * PI * f / sr as f64;
            let env = (t / 0.001).min(1.0) * (-t * 12.0).exp();
            let mut v = 4.0 * env * phase.sin();
            if hit % 2 == 1 {
                v += 3.0 * (-t * 40.0).exp() * rng.bipolar();
            }
            if start + k < n {
                x[start + k] += v as f32;
            }
        }
    }
    let right: Vec<f32> = x.iter().map(|v| v * 0.8).collect();
    check("drum transients", vec![x, right], sr, 0.0, -1.0);
}

#[test]
fn white_noise_6_db_over_the_ceiling() {
    let sr = 44_100u32;
    let mut rng = Rng::new(9);
    let ceiling = -1.0;
    // uniform white noise whose sample peak sits 6 dB over the ceiling
    let amp = 10f64.powf((ceiling + 6.0) / 20.0);
    let l: Vec<f32> = (0..2 * sr as usize)
        .map(|_| (amp * rng.bipolar()) as f32)
        .collect();
    let r: Vec<f32> = (0..2 * sr as usize)
        .map(|_| (amp * rng.bipolar()) as f32)
        .collect();
    check("white noise +6 dB", vec![l, r], sr, 0.0, ceiling);
    let g: Vec<f32> = (0..2 * sr as usize)
        .map(|_| (0.5 * rng.gaussian()) as f32)
        .collect();
    check(
        "gaussian noise, +6 dB pre-gain",
        vec![g.clone(), g],
        sr,
        6.0,
        ceiling,
    );
}

/// No distortion on bass: a steady 40 Hz sine pushed 6 dB into the limiter keeps a clean
/// spectrum (the hold bridges the half-cycles, so the gain does not ripple inside a cycle).
#[test]
fn steady_bass_is_not_distorted() {
    let sr = 44_100u32;
    for &f in &[30.0f64, 40.0, 55.0] {
        let x = sine(f, sr, 3.0, 1.0, 0.0);
        let mut ch = vec![x];
        let p = LimiterParams::default();
        limit(&mut ch, 6.0, &p, sr as f64, MARGIN_DB);
        // analyse one second after settling: DFT at f and its harmonics
        let seg = &ch[0][sr as usize..2 * sr as usize];
        let amp_at = |fr: f64| {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (n, &v) in seg.iter().enumerate() {
                let w = 2.0 * PI * fr * n as f64 / sr as f64;
                re += v as f64 * w.cos();
                im += v as f64 * w.sin();
            }
            2.0 * (re * re + im * im).sqrt() / seg.len() as f64
        };
        let fund = amp_at(f);
        let harmonics: f64 = (2..8)
            .map(|h| amp_at(f * h as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let thd_db = db(harmonics / fund);
        assert!(thd_db < -60.0, "{f} Hz: THD {thd_db:.1} dB");
        assert!(
            (db(fund) - (-1.0 - MARGIN_DB)).abs() < 0.1,
            "{f} Hz settles at the ceiling, got {:.2}",
            db(fund)
        );
    }
}

/// Low sample rates: the detector looks between the 4x points too (a 192 kHz meter would).
#[test]
fn low_sample_rates_hold_the_ceiling_on_a_dense_meter() {
    use mixdown_dsp::oversample::{Design, Interpolator, Scratch};
    for &sr in &[8_000u32, 16_000, 22_050] {
        let mut rng = Rng::new(sr as u64);
        let x: Vec<f32> = (0..2 * sr as usize)
            .map(|_| (0.7 * rng.gaussian()) as f32)
            .collect();
        let mut ch = vec![x];
        let p = LimiterParams::default();
        limit(&mut ch, 0.0, &p, sr as f64, MARGIN_DB);
        // an independent dense reading: 32 phases
        let dense = Interpolator::new(Design::Dense { factor: 32 });
        let mut env = vec![0.0f32; ch[0].len()];
        dense.peak_envelope_max(&ch[0], &mut env, &mut Scratch::default());
        let tp = db(env.iter().fold(0.0f32, |m, &v| m.max(v)) as f64);
        // full-band noise is the worst case for any finite set of phases: the limiter works to
        // a 192 kHz view, a 32-phase view may find a few hundredths of a dB more
        assert!(tp <= -1.0 + 0.05, "{sr} Hz: dense true peak {tp:.3} dBTP");
    }
}
