//! Tests of the clean-up DSP blocks against their specifications, on generated signals: the
//! hum remover and analyser, the noise measurement and profile, the denoiser, the gate and the
//! DC blocker.

use mixdown_dsp::cleanup::dc::{DcBlocker, DcParams};
use mixdown_dsp::cleanup::denoise::{DenoiseParams, Denoiser};
use mixdown_dsp::cleanup::gate::{Gate, GateParams};
use mixdown_dsp::cleanup::hum::{self, HumAnalyser, HumParams, HumRemover};
use mixdown_dsp::cleanup::noise::{self, NoiseProfile};
use mixdown_dsp::rng::Rng;
use std::f64::consts::PI;

/// Notes with a 10 ms attack and an exponential decay, one after the other with short gaps:
/// (frequency, amplitude) from `notes` in turn, 0.25-0.6 s each.
fn notes(n: usize, sr: f64, notes: &[(f64, f64)], gap: f64, seed: u64) -> Vec<f64> {
    let mut out = vec![0.0; n];
    let mut rng = Rng::new(seed);
    let mut t0 = 0usize;
    let mut i = 0;
    while t0 < n {
        let (f, a) = notes[i % notes.len()];
        let len = ((0.25 + 0.35 * rng.uniform()) * sr) as usize;
        for j in 0..len.min(n - t0) {
            let t = j as f64 / sr;
            let env = (t / 0.01).min(1.0) * (-t / 0.25).exp();
            out[t0 + j] += a * env * (2.0 * PI * f * t).sin();
        }
        t0 += len + ((gap + gap * rng.uniform()) * sr) as usize;
        i += 1;
    }
    out
}

fn sine(n: usize, sr: f64, f: f64, amp: f64, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| amp * (2.0 * PI * f * i as f64 / sr + phase).sin())
        .collect()
}

/// Hum: harmonics 1-6 of `f0` at amplitudes 1, .6, .45, .3, .2, .12 times `amp`.
fn hum(n: usize, sr: f64, f0: f64, amp: f64) -> Vec<f64> {
    let amps = [1.0, 0.6, 0.45, 0.3, 0.2, 0.12];
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            amps.iter()
                .enumerate()
                .map(|(k, a)| amp * a * (2.0 * PI * (k + 1) as f64 * f0 * t + k as f64).sin())
                .sum()
        })
        .collect()
}

fn noise(n: usize, rms: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rms * rng.gaussian()).collect()
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Amplitude of the sinusoid at `f` in `x` (coherent over all of it).
fn amplitude(x: &[f64], sr: f64, f: f64) -> f64 {
    let w = 2.0 * PI * f / sr;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        re += v * (w * i as f64).cos();
        im += v * (w * i as f64).sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

fn power_db(x: &[f64]) -> f64 {
    10.0 * (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64)
        .max(1e-30)
        .log10()
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-30).log10()
}

// ---------------------------------------------------------------------------------------------
// hum remover

/// Power of harmonics 1-6 of `f0` in `hum` over that in `left` (what is left of it), dB.
fn reduction_db(hum: &[f64], left: &[f64], sr: f64, f0: f64) -> f64 {
    let (mut a, mut b) = (0.0, 0.0);
    for k in 1..=6 {
        a += amplitude(hum, sr, k as f64 * f0).powi(2);
        b += amplitude(left, sr, k as f64 * f0).powi(2);
    }
    10.0 * (a / b.max(1e-300)).log10()
}

#[test]
fn hum_remover_takes_the_hum_from_under_a_bass_line() {
    // a bass line with notes 1 Hz below and 1.5 Hz above the hum, 30 dB louder than it, with
    // rests of 0.2-0.4 s, and a melody above; the remover must learn the hum in the rests
    for (f0, sr) in [(50.0, 44100.0), (60.0, 48000.0), (49.8, 44100.0)] {
        let n = (8.0 * sr) as usize;
        let h = hum(n, sr, f0, 0.01);
        let bass_notes = [
            (f0 - 1.0, 0.3),
            (55.0, 0.3),
            (f0 + 1.5, 0.25),
            (73.4, 0.3),
            (65.4, 0.3),
        ];
        let bass = notes(n, sr, &bass_notes, 0.2, 1);
        let melody_notes = [(440.0, 0.15), (523.3, 0.15), (659.3, 0.12), (392.0, 0.15)];
        let music = add(&bass, &notes(n, sr, &melody_notes, 0.05, 2));
        let x = to_f32(&add(&music, &h));
        for width in [0.48, 0.06] {
            let params = HumParams {
                fundamental_hz: f0,
                harmonics: 6,
                width_hz: width,
            };
            let mut r = HumRemover::new(&params, sr as u32);
            assert_eq!(r.harmonics(), 6);
            let mut y = x.clone();
            r.process(&mut y);
            let left: Vec<f64> = y
                .iter()
                .zip(&music)
                .map(|(&o, &m)| f64::from(o) - m)
                .collect();
            let red = reduction_db(&h, &left, sr, f0);
            assert!(red >= 25.0, "{f0} Hz, width {width}: hum down {red:.1} dB");
        }
        // deterministic
        let params = HumParams {
            fundamental_hz: f0,
            harmonics: 6,
            width_hz: 0.48,
        };
        let mut a = x.clone();
        let mut b = x.clone();
        HumRemover::new(&params, sr as u32).process(&mut a);
        HumRemover::new(&params, sr as u32).process(&mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn hum_remover_leaves_a_steady_tone_one_hertz_away_alone() {
    let sr = 44100.0;
    let n = (8.0 * sr) as usize;
    let tone = sine(n, sr, 49.0, 0.3, 0.3);
    let x = to_f32(&add(&tone, &hum(n, sr, 50.0, 0.01)));
    for width in [0.48, 0.06] {
        let params = HumParams {
            fundamental_hz: 50.0,
            harmonics: 6,
            width_hz: width,
        };
        let mut y = x.clone();
        HumRemover::new(&params, 44100).process(&mut y);
        let yf: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
        let a = amplitude(&yf, sr, 49.0);
        assert!(
            db(a / 0.3).abs() < 0.05,
            "tone changed by {:.3} dB",
            db(a / 0.3)
        );
        // and what changed is (close to) the hum: the tone leaks into the estimate only near
        // the ends, where the smoothing sees one side
        let changed: Vec<f64> = yf.iter().zip(&tone).map(|(a, b)| a - b).collect();
        let mid = n / 4..3 * n / 4;
        let h = hum(n, sr, 50.0, 0.01);
        let red = reduction_db(&h[mid.clone()], &changed[mid], sr, 50.0);
        assert!(red >= 25.0, "width {width}: hum down {red:.1} dB mid-track");
    }
}

#[test]
fn hum_remover_leaves_digital_silence_silent_and_handles_short_input() {
    let sr = 44100.0;
    let n = (4.0 * sr) as usize;
    let mut x = to_f32(&hum(n, sr, 50.0, 0.01));
    // two seconds of digital silence in the middle
    x[n / 4..3 * n / 4].iter_mut().for_each(|v| *v = 0.0);
    let params = HumParams {
        fundamental_hz: 50.0,
        harmonics: 6,
        width_hz: 0.48,
    };
    let mut r = HumRemover::new(&params, 44100);
    r.process(&mut x);
    let mid = &x[n / 4 + 2000..3 * n / 4 - 2000];
    assert!(mid.iter().all(|&v| v == 0.0), "hum written into silence");
    for len in [0usize, 1, 10, 881, 882, 883, 2000] {
        let mut y = vec![0.1f32; len];
        r.process(&mut y);
        assert!(y.iter().all(|v| v.is_finite()));
    }
    // harmonics at or above 0.45 × the rate are skipped
    let p = HumParams {
        fundamental_hz: 1000.0,
        harmonics: 40,
        width_hz: 0.48,
    };
    assert_eq!(p.active_harmonics(8000), 3);
    assert_eq!(HumRemover::new(&p, 8000).harmonics(), 3);
}

// ---------------------------------------------------------------------------------------------
// hum analysis

#[test]
fn analyser_finds_hum_in_noise_at_the_right_frequency() {
    for (f0, mains, sr) in [
        (50.0, 50.0, 44100u32),
        (60.03, 60.0, 48000),
        (49.8, 50.0, 32000),
    ] {
        let fs = f64::from(sr);
        let n = (10.0 * fs) as usize;
        let x = to_f32(&add(&hum(n, fs, f0, 0.003), &noise(n, 0.03, 7)));
        let an = HumAnalyser::new(&[&x], sr);
        let c = an.candidate(mains);
        assert!(
            (c.fundamental_hz - f0).abs() < 0.02,
            "fundamental {} for {f0}",
            c.fundamental_hz
        );
        assert_eq!(c.peaks.len(), 6);
        for p in &c.peaks[..3] {
            assert!(
                p.prominence_db > 15.0 && p.dominance_db > 5.0,
                "{f0} Hz harmonic {}: {:?}",
                p.harmonic,
                p
            );
        }
        // the level of the fundamental: amplitude 0.003 → -53.5 dBFS mean square
        let l = c.peaks[0].level_dbfs;
        assert!((l + 53.5).abs() < 1.0, "level {l}");
        // refined, with the wander of a steady hum
        let full = an.harmonics(mains, c.fundamental_hz, 10);
        assert!(
            (full.fundamental_hz - f0).abs() < 0.005,
            "{}",
            full.fundamental_hz
        );
        assert_eq!(full.peaks.len(), 10);
        assert!(
            full.wander.is_some_and(|w| w < 0.1),
            "wander {:?}",
            full.wander
        );
    }
}

#[test]
fn analyser_sees_no_hum_in_noise_or_in_tones_off_the_mains_harmonics() {
    let sr = 44100u32;
    let fs = f64::from(sr);
    let n = (10.0 * fs) as usize;
    // white noise, and steady tones at 55 and 110 Hz (A1, A2) with noise
    let a = to_f32(&noise(n, 0.05, 8));
    let b = to_f32(&add(
        &add(&sine(n, fs, 55.0, 0.2, 0.0), &sine(n, fs, 110.0, 0.1, 0.0)),
        &noise(n, 0.01, 9),
    ));
    // noise: no line stands out
    let scan = hum::scan(&[&a], sr);
    for c in &scan.candidates {
        let strong = c
            .peaks
            .iter()
            .filter(|p| p.prominence_db > 12.0 && p.dominance_db > 3.0)
            .count();
        assert!(strong <= 1, "noise, {} Hz: {:?}", c.mains_hz, c.peaks);
    }
    // two steady tones an octave apart beat in the weighting and leave faint lines at the
    // harmonics: far below the tones (-14 dBFS), where the engine ignores them
    let scan = hum::scan(&[&b], sr);
    for c in &scan.candidates {
        for p in c.peaks.iter().filter(|p| p.prominence_db > 12.0) {
            assert!(p.level_dbfs < -60.0, "tones, {} Hz: {:?}", c.mains_hz, p);
        }
    }
}

#[test]
fn analyser_handles_short_silent_and_odd_rate_input() {
    for (sr, n) in [
        (8000u32, 0usize),
        (8000, 100),
        (8000, 8000),
        (192000, 192000),
        (44100, 30),
    ] {
        let x = to_f32(&hum(n, f64::from(sr), 50.0, 0.01));
        let scan = hum::scan(&[&x, &x], sr);
        assert_eq!(scan.candidates.len(), 2);
        let silent = vec![0.0f32; n];
        let scan = hum::scan(&[&silent], sr);
        for c in &scan.candidates {
            assert!(c.peaks.iter().all(|p| p.prominence_db.is_finite()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// noise measurement and profile

#[test]
fn white_noise_measures_at_its_level_in_every_band() {
    let sr = 44100u32;
    let fs = f64::from(sr);
    let n = (10.0 * fs) as usize;
    let rms = 10f64.powf(-50.0 / 20.0);
    let x = to_f32(&noise(n, rms, 11));
    let stats = noise::measure(&[&x], sr, 400);
    assert!(stats.frames >= 40, "{} frames", stats.frames);
    let nyq = fs / 2.0;
    for b in 0..stats.band_hz.len() {
        let (lo, hi) = noise::band_edges(b, sr);
        let expected = -50.0 + 10.0 * ((hi - lo) / nyq).log10();
        assert!(
            (stats.floor_dbfs[b] - expected).abs() < 1.5,
            "band {:.0} Hz: floor {:.1}, expected {:.1}",
            stats.band_hz[b],
            stats.floor_dbfs[b],
            expected
        );
        // steady like noise
        assert!(stats.spread_db[b] <= stats.noise_spread_db[b] + 1.5);
    }
    // the profile of those floors totals the noise level, and gives every FFT bin its share
    let profile = NoiseProfile {
        band_dbfs: stats.floor_dbfs.clone(),
    };
    let total = profile.total_dbfs().unwrap();
    assert!((total + 50.0).abs() < 1.0, "total {total}");
    assert!((profile.scaled(-6.0).total_dbfs().unwrap() - total + 6.0).abs() < 1e-9);
    let size = 2048;
    let w: Vec<f64> = (0..size)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / size as f64).cos())
        .collect();
    let wp: f64 = w.iter().map(|v| v * v).sum();
    let bins = profile.bin_power(sr, size, wp);
    // Parseval: Σ E|X_k|² over the one-sided spectrum ≈ σ² Σw² · size / 2
    let sum: f64 = bins.iter().sum();
    let expected = rms * rms * wp * size as f64 / 2.0;
    assert!((10.0 * (sum / expected).log10()).abs() < 1.0);
}

#[test]
fn a_tone_does_not_lift_the_noise_floor_of_other_bands() {
    let sr = 48000u32;
    let fs = f64::from(sr);
    let n = (8.0 * fs) as usize;
    let x = to_f32(&add(&noise(n, 1e-3, 12), &sine(n, fs, 1000.0, 0.5, 0.0)));
    let stats = noise::measure(&[&x], sr, 300);
    for b in 0..stats.band_hz.len() {
        let (lo, hi) = noise::band_edges(b, sr);
        if hi < 700.0 || lo > 1500.0 {
            let expected = -60.0 + 10.0 * ((hi - lo) / (fs / 2.0)).log10();
            assert!(
                (stats.floor_dbfs[b] - expected).abs() < 2.0,
                "band {:.0}: {:.1} vs {:.1}",
                stats.band_hz[b],
                stats.floor_dbfs[b],
                expected
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// denoiser

fn white_profile(db_total: f64, sr: u32) -> NoiseProfile {
    let nb = noise::band_count(sr);
    let nyq = f64::from(sr) / 2.0;
    NoiseProfile {
        band_dbfs: (0..nb)
            .map(|b| {
                let (lo, hi) = noise::band_edges(b, sr);
                db_total + 10.0 * ((hi - lo) / nyq).log10()
            })
            .collect(),
    }
}

fn denoise(x: &[Vec<f32>], params: &DenoiseParams, sr: u32) -> Vec<Vec<f32>> {
    let mut out = x.to_vec();
    let mut views: Vec<&mut [f32]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
    Denoiser::new(params, sr, x.len()).process_buffer(&mut views);
    out
}

#[test]
fn denoiser_cuts_noise_alone_by_its_floor_and_passes_a_loud_tone() {
    let sr = 44100u32;
    let fs = f64::from(sr);
    let n = (4.0 * fs) as usize;
    let rms = 10f64.powf(-55.0 / 20.0);
    let params = DenoiseParams {
        profile: white_profile(-55.0, sr),
        floor_db: -25.0,
        threshold_db: 4.0,
        release_db_per_s: 200.0,
    };
    // noise alone, two channels
    let nz = [to_f32(&noise(n, rms, 13)), to_f32(&noise(n, rms, 14))];
    let out = denoise(&nz, &params, sr);
    for (c, ch) in out.iter().enumerate() {
        let y: Vec<f64> = ch[n / 4..].iter().map(|&v| f64::from(v)).collect();
        let cut = -55.0 - power_db(&y);
        assert!(
            cut > 20.0 && cut < 30.0,
            "channel {c}: noise cut by {cut:.1} dB"
        );
    }
    // a tone 40 dB above the noise: its level holds, aligned with the input
    let tone = sine(n, fs, 1000.0, 0.1, 0.0);
    let x = vec![to_f32(&add(&tone, &noise(n, rms, 15)))];
    let out = denoise(&x, &params, sr);
    let y: Vec<f64> = out[0].iter().map(|&v| f64::from(v)).collect();
    let a = amplitude(&y[n / 4..], fs, 1000.0);
    assert!(
        db(a / 0.1).abs() < 0.1,
        "tone changed by {:.2} dB",
        db(a / 0.1)
    );
    let aligned: f64 = y[n / 4..]
        .iter()
        .zip(&tone[n / 4..])
        .map(|(a, b)| a * b)
        .sum::<f64>()
        / tone[n / 4..].iter().map(|b| b * b).sum::<f64>();
    assert!(
        (aligned - 1.0).abs() < 0.01,
        "correlation with the input {aligned}"
    );
}

#[test]
fn denoiser_without_noise_or_cut_is_the_identity() {
    let sr = 44100u32;
    let n = 30000;
    let x = vec![to_f32(&noise(n, 0.1, 16))];
    for params in [
        DenoiseParams {
            profile: NoiseProfile { band_dbfs: vec![] },
            floor_db: -25.0,
            threshold_db: 4.0,
            release_db_per_s: 200.0,
        },
        DenoiseParams {
            profile: white_profile(-60.0, sr),
            floor_db: 0.0,
            threshold_db: 4.0,
            release_db_per_s: 200.0,
        },
    ] {
        assert_eq!(denoise(&x, &params, sr), x);
    }
    // and with a profile far below the signal every bin is open: the input comes back to float
    // rounding
    let params = DenoiseParams {
        profile: white_profile(-150.0, sr),
        floor_db: -25.0,
        threshold_db: 4.0,
        release_db_per_s: 200.0,
    };
    let out = denoise(&x, &params, sr);
    let err = out[0]
        .iter()
        .zip(&x[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 1e-5, "error {err}");
}

// ---------------------------------------------------------------------------------------------
// gate

fn gate_params() -> GateParams {
    GateParams {
        threshold_dbfs: -50.0,
        range_db: -40.0,
        ratio: 4.0,
        attack_ms: 2.0,
        hold_ms: 60.0,
        release_ms: 150.0,
    }
}

#[test]
fn gate_closes_in_pauses_and_passes_phrases_untouched() {
    let sr = 44100u32;
    let fs = f64::from(sr);
    let n = (3.0 * fs) as usize;
    // 1 s of a loud tone, 1 s of quiet noise (-70 dBFS), 1 s of the tone again
    let mut x = noise(n, 10f64.powf(-70.0 / 20.0), 17);
    let tone = sine(n, fs, 440.0, 0.3, 0.0);
    for i in (0..n / 3).chain(2 * n / 3..n) {
        x[i] += tone[i];
    }
    let input = vec![to_f32(&x), to_f32(&x)];
    let mut out = input.clone();
    let mut views: Vec<&mut [f32]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
    Gate::new(&gate_params(), sr, 2).process_buffer(&mut views);
    // the middle of the pause is down by the range
    let pause_in = power_db(&x[n / 3 + 10000..2 * n / 3 - 1000]);
    let pause_out: Vec<f64> = out[0][n / 3 + 10000..2 * n / 3 - 1000]
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let cut = pause_in - power_db(&pause_out);
    assert!((cut - 40.0).abs() < 1.0, "pause cut by {cut:.1} dB");
    // the phrases pass bit for bit once the gate is open (from its attack on)
    let from = (0.01 * fs) as usize;
    let first_diff =
        |c: usize, r: std::ops::Range<usize>| r.clone().find(|&i| out[c][i] != input[c][i]);
    assert_eq!(first_diff(1, from..n / 3), None);
    // look-ahead: the second phrase is fully open within a couple of milliseconds of its start
    // (the gain ramps over the attack time, which the look-ahead gives it), and its first
    // 100 samples lose less than 1 dB
    let start = 2 * n / 3;
    assert_eq!(first_diff(0, start + 100..start + 4410), None);
    let head_in = power_db(&x[start..start + 100]);
    let head_out: Vec<f64> = out[0][start..start + 100]
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    assert!(head_in - power_db(&head_out) < 1.0);
}

#[test]
fn gate_whole_buffer_equals_streaming_with_its_latency() {
    let sr = 48000u32;
    let fs = f64::from(sr);
    let n = (2.0 * fs) as usize + 123;
    let mut x = noise(n, 0.003, 18);
    let tone = sine(n, fs, 300.0, 0.2, 0.0);
    for i in n / 3..n / 2 {
        x[i] += tone[i];
    }
    for nch in [1usize, 2, 3] {
        let input: Vec<Vec<f32>> = (0..nch)
            .map(|c| {
                to_f32(&x)
                    .iter()
                    .map(|v| v * (1.0 - 0.1 * c as f32))
                    .collect()
            })
            .collect();
        let mut whole = input.clone();
        let mut views: Vec<&mut [f32]> = whole.iter_mut().map(|c| c.as_mut_slice()).collect();
        let mut g = Gate::new(&gate_params(), sr, nch);
        let la = g.latency();
        g.process_buffer(&mut views);
        // stream in odd-sized blocks, followed by `la` zeros to flush
        let mut streamed: Vec<Vec<f32>> = input
            .iter()
            .map(|c| {
                c.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0.0, la))
                    .collect()
            })
            .collect();
        let mut g = Gate::new(&gate_params(), sr, nch);
        let mut pos = 0;
        let total = n + la;
        while pos < total {
            let len = 777.min(total - pos);
            let mut views: Vec<&mut [f32]> = streamed
                .iter_mut()
                .map(|c| &mut c[pos..pos + len])
                .collect();
            g.process_block(&mut views);
            pos += len;
        }
        for c in 0..nch {
            assert_eq!(&streamed[c][la..], &whole[c][..], "channel {c} of {nch}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DC

#[test]
fn dc_blocker_removes_an_offset_without_a_thump() {
    let sr = 44100u32;
    let fs = f64::from(sr);
    let n = (3.0 * fs) as usize;
    let x: Vec<f64> = sine(n, fs, 220.0, 0.2, 0.0)
        .iter()
        .map(|v| v + 0.3)
        .collect();
    let mut ch = [to_f32(&x)];
    let mut views: Vec<&mut [f32]> = ch.iter_mut().map(|c| c.as_mut_slice()).collect();
    DcBlocker::new(&DcParams { highpass_hz: 10.0 }, sr, 1).process_buffer(&mut views);
    let y: Vec<f64> = ch[0].iter().map(|&v| f64::from(v)).collect();
    let mean = y[n / 2..].iter().sum::<f64>() / (n - n / 2) as f64;
    assert!(mean.abs() < 1e-3, "mean {mean}");
    // no start-up step of the size of the offset: the first samples stay near the signal's
    // own swing (0.2), far from 0.2 + 0.3
    assert!(y[..2000].iter().all(|v| v.abs() < 0.35));
}
