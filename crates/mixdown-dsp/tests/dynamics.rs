//! Acceptance tests for the compressor.
//!
//! Most timing and curve measurements use a square wave: its magnitude |x| is constant, so a
//! peak detector sees a perfect level step and the gain reduction (GR) can be read from every
//! output sample as 20·log10(|in| / |out|) + makeup, with no waveform ripple.

mod common;
use common::allocations;
use std::f64::consts::PI;

use mixdown_dsp::compressor::{
    Compressor, CompressorParams, Detector, GainReductionStats, ACTIVE_GR_DB,
};
use mixdown_dsp::rng::Rng;

// ---------------------------------------------------------------------------------------------
// helpers

fn params(threshold_db: f64, ratio: f64) -> CompressorParams {
    CompressorParams {
        threshold_db,
        ratio,
        knee_db: 0.0,
        attack_ms: 5.0,
        release_ms: 100.0,
        makeup_db: 0.0,
        detector: Detector::Peak,
        auto_release: false,
        sidechain_hpf_hz: None,
    }
}

fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn amp_to_db(a: f64) -> f64 {
    20.0 * a.log10()
}

fn sine(freq: f64, peak_db: f64, fs: f64, n: usize) -> Vec<f32> {
    let a = db_to_amp(peak_db);
    (0..n)
        .map(|i| (a * (2.0 * PI * freq * i as f64 / fs).sin()) as f32)
        .collect()
}

/// Square wave whose magnitude follows `level_db(i)`; the sign flips every 24 samples.
fn square(n: usize, level_db: impl Fn(usize) -> f64) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let sign = if (i / 24) % 2 == 0 { 1.0 } else { -1.0 };
            (sign * db_to_amp(level_db(i))) as f32
        })
        .collect()
}

fn rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

fn peak_db(x: &[f32]) -> f64 {
    amp_to_db(x.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs())))
}

/// Processes `input` copied to `channels` channels in blocks of 512; returns channel 0 output.
fn run(p: &CompressorParams, fs: f64, channels: usize, input: &[f32]) -> (Vec<f32>, Compressor) {
    let mut comp = Compressor::new(p.clone(), fs, channels);
    let mut bufs = vec![input.to_vec(); channels];
    let len = input.len();
    let mut start = 0;
    while start < len {
        let end = (start + 512).min(len);
        let mut slices: Vec<&mut [f32]> = bufs.iter_mut().map(|b| &mut b[start..end]).collect();
        comp.process(&mut slices);
        start = end;
    }
    for b in &bufs[1..] {
        assert_eq!(b, &bufs[0], "identical channels must stay identical");
    }
    (bufs.swap_remove(0), comp)
}

/// GR per sample read back from the output (valid where |input| is not tiny).
fn gr_trace(input: &[f32], output: &[f32], makeup_db: f64) -> Vec<f64> {
    input
        .iter()
        .zip(output)
        .map(|(&x, &y)| amp_to_db(f64::from(x).abs() / f64::from(y).abs()) + makeup_db)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// static behaviour

#[test]
fn four_to_one_hard_knee_turns_8db_over_into_2db_over() {
    let fs = 48_000.0;
    let n = (1.5 * fs) as usize;
    let tail = (0.5 * fs) as usize;
    let mut worst = 0.0f64;
    // Peak detector: the sine's peak is 8 dB over a peak threshold; the output peak must be
    // 2 dB over. Two frequencies: at the lower one the GR ripples more between peaks.
    for (freq, attack_ms, release_ms) in [
        (1000.0, 5.0, 100.0),
        (200.0, 5.0, 100.0),
        (1000.0, 30.0, 150.0),
    ] {
        let mut p = params(-20.0, 4.0);
        p.attack_ms = attack_ms;
        p.release_ms = release_ms;
        let input = sine(freq, -12.0, fs, n);
        let (out, comp) = run(&p, fs, 2, &input);
        let got = peak_db(&out[n - tail..]);
        worst = worst.max((got + 18.0).abs());
        assert!(
            (got + 18.0).abs() < 0.1,
            "peak, {freq} Hz, {attack_ms}/{release_ms} ms: output peak {got} dBFS"
        );
        assert!((comp.gain_reduction_db() - 6.0).abs() < 0.1);
    }
    // RMS detector: the sine's RMS is 8 dB over an RMS threshold; the output RMS must be 2 dB
    // over. The 20 ms window holds whole periods of both test frequencies.
    for freq in [1000.0, 100.0] {
        let mut p = params(-20.0, 4.0);
        p.detector = Detector::Rms { window_ms: 20.0 };
        let input = sine(freq, -12.0 + 3.0103, fs, n);
        assert!((rms_db(&input) + 12.0).abs() < 1e-3);
        let (out, _) = run(&p, fs, 2, &input);
        let got = rms_db(&out[n - tail..]);
        worst = worst.max((got + 18.0).abs());
        assert!(
            (got + 18.0).abs() < 0.1,
            "rms, {freq} Hz: output RMS {got} dBFS"
        );
    }
    // Other ratios follow the same rule: 8 dB over becomes 8/R dB over.
    for ratio in [2.0, 10.0] {
        let p = params(-20.0, ratio);
        let input = sine(1000.0, -12.0, fs, n);
        let (out, _) = run(&p, fs, 1, &input);
        let got = peak_db(&out[n - tail..]);
        let want = -20.0 + 8.0 / ratio;
        worst = worst.max((got - want).abs());
        assert!(
            (got - want).abs() < 0.1,
            "ratio {ratio}: {got} dBFS, want {want}"
        );
    }
    println!("steady-state level: worst error {worst:.4} dB");
}

/// Independent statement of the quadratic soft knee (Giannoulis et al. 2012, eq. 4).
fn reference_curve(x: f64, t: f64, r: f64, w: f64) -> f64 {
    if 2.0 * (x - t) < -w {
        x
    } else if 2.0 * (x - t).abs() <= w {
        x + (1.0 / r - 1.0) * (x - t + w / 2.0).powi(2) / (2.0 * w)
    } else {
        t + (x - t) / r
    }
}

#[test]
fn soft_knee_static_curve_matches_the_formula_and_the_processed_level() {
    for &(t, r, w, makeup) in &[
        (-20.0, 4.0, 6.0, 0.0),
        (-12.0, 2.0, 12.0, 3.5),
        (-30.0, 10.0, 1.0, -2.0),
    ] {
        let mut p = params(t, r);
        p.knee_db = w;
        p.makeup_db = makeup;
        for i in 0..=600 {
            let x = -60.0 + 0.1 * i as f64;
            let got = Compressor::static_curve_db(&p, x);
            let want = reference_curve(x, t, r, w) + makeup;
            assert!((got - want).abs() < 1e-9, "{p:?} at {x}: {got} vs {want}");
        }
        // Continuous value and slope at both knee edges.
        for edge in [t - w / 2.0, t + w / 2.0] {
            let f = |x: f64| Compressor::static_curve_db(&p, x);
            let h = 1e-6;
            assert!((f(edge - h) - f(edge + h)).abs() < 1e-5);
            let left = (f(edge - h) - f(edge - 2.0 * h)) / h;
            let right = (f(edge + 2.0 * h) - f(edge + h)) / h;
            assert!(
                (left - right).abs() < 1e-3,
                "slope jump at {edge}: {left} vs {right}"
            );
        }
    }
    // Processing: steady levels inside and above the knee come out on the curve.
    let fs = 48_000.0;
    let mut p = params(-20.0, 4.0);
    p.knee_db = 10.0;
    for level in [-24.0, -20.0, -17.0, -10.0] {
        let input = square(24_000, |_| level);
        let (out, _) = run(&p, fs, 2, &input);
        let got = peak_db(&out[20_000..]);
        let want = Compressor::static_curve_db(&p, level);
        assert!((got - want).abs() < 0.01, "level {level}: {got} vs {want}");
    }
    // At the threshold, the knee gives (1 − 1/R)·W/8 of gain reduction.
    let at_threshold = -20.0 - Compressor::static_curve_db(&p, -20.0);
    assert!((at_threshold - 0.75 * 10.0 / 8.0).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------------
// ballistics

/// First index at or after `from` where `pred` holds.
fn first(trace: &[f64], from: usize, pred: impl Fn(f64) -> bool) -> usize {
    from + trace[from..]
        .iter()
        .position(|&v| pred(v))
        .expect("never reached")
}

#[test]
fn attack_and_release_times_match_the_parameters() {
    let mut worst = 0.0f64;
    for &(fs, attack_ms, release_ms) in &[
        (48_000.0, 10.0, 100.0),
        (48_000.0, 1.0, 50.0),
        (44_100.0, 30.0, 300.0),
        (96_000.0, 0.5, 20.0),
    ] {
        let mut p = params(-20.0, 4.0);
        p.attack_ms = attack_ms;
        p.release_ms = release_ms;
        // −30 dBFS (10 dB under) → −0 dBFS (20 dB over, target GR 15 dB) → −30 dBFS.
        let (up, down) = ((0.2 * fs) as usize, (1.4 * fs) as usize);
        let n = (3.0 * fs) as usize;
        let input = square(n, |i| if (up..down).contains(&i) { 0.0 } else { -30.0 });
        let (out, comp) = run(&p, fs, 2, &input);
        // the gain computer runs once per `k` samples and may start up to k - 1 samples early
        let k = comp.control_interval();
        let gr = gr_trace(&input, &out, 0.0);
        assert!(
            gr[..up + 1 - k].iter().all(|&g| g.abs() < 1e-6),
            "GR before the step"
        );
        let full = 15.0;
        assert!(
            (gr[down - 1] - full).abs() < 1e-3,
            "settled GR {}",
            gr[down - 1]
        );
        // The acceptance criterion is 10 %; the one-pole is exact, so the measured time must
        // also be within about one sample of τ·fs (the crossing is seen on the next sample).
        let mut check = |what: &str, samples: usize, expected_ms: f64| {
            let measured_ms = samples as f64 / fs * 1000.0;
            let err = (measured_ms / expected_ms - 1.0).abs();
            worst = worst.max(err);
            assert!(
                err < 0.1,
                "fs {fs}: {what} measured {measured_ms} ms, expected {expected_ms} ms"
            );
            let expected_samples = expected_ms * 1e-3 * fs;
            assert!(
                (samples as f64 - expected_samples).abs() <= 1.5 + k as f64,
                "fs {fs}: {what} took {samples} samples, τ·fs = {expected_samples} (control step {k})"
            );
        };
        // Attack: 63.2 % of the change in τ, 90 % in 2.303 τ.
        let t63 = first(&gr, up, |g| g >= full * (1.0 - (-1.0f64).exp())) - up + 1;
        let t90 = first(&gr, up, |g| g >= full * 0.9) - up + 1;
        check("attack 63%", t63, attack_ms);
        check("attack 90%", t90, attack_ms * 10f64.ln());
        // Release: GR falls by 63.2 % of 15 dB in τ.
        let r63 = first(&gr, down, |g| g <= full * (-1.0f64).exp()) - down + 1;
        let r90 = first(&gr, down, |g| g <= full * 0.1) - down + 1;
        check("release 63%", r63, release_ms);
        check("release 90%", r90, release_ms * 10f64.ln());
    }
    println!(
        "ballistics: worst relative time error {:.3} %",
        worst * 100.0
    );
}

#[test]
fn a_short_burst_gets_only_the_gain_reduction_the_attack_allows() {
    // 5 ms at 20 dB over (demanded GR 15 dB) with a 30 ms attack: the GR must rise like a
    // one-pole, 15·(1 − e^(−5/30)) ≈ 2.3 dB, and must not keep growing after the burst.
    let fs = 48_000.0;
    let mut p = params(-20.0, 4.0);
    p.attack_ms = 30.0;
    p.release_ms = 150.0;
    let up = 4800;
    let len = 240;
    let input = square(48_000, |i| {
        if (up..up + len).contains(&i) {
            0.0
        } else {
            -30.0
        }
    });
    let (out, comp) = run(&p, fs, 2, &input);
    let k = comp.control_interval();
    let gr = gr_trace(&input, &out, 0.0);
    let expected = 15.0 * (1.0 - (-(len as f64) / (0.030 * fs)).exp());
    // the gain computer runs once per k samples: the burst is seen by whole steps, so the GR
    // can be up to one step's worth of attack away from the per-sample one-pole
    let step_db = 15.0 * k as f64 / (0.030 * fs);
    let end = up + len - 1;
    let step_end = (end + k).min(gr.len() - 1);
    let at_end = gr[end];
    let max = gr.iter().cloned().fold(0.0, f64::max);
    println!("5 ms burst: GR {at_end:.3} dB at its end, max {max:.3} dB, one-pole {expected:.3}, step {k}");
    assert!(
        (at_end - expected).abs() < 0.01 + step_db,
        "{at_end} vs {expected}"
    );
    assert!(
        max <= gr[end..=step_end].iter().cloned().fold(0.0, f64::max) + 1e-6,
        "GR grew after the burst's last control step: {max} > {at_end}"
    );
    // ...and it is released eventually.
    assert!(gr[gr.len() - 1] < 0.05 * at_end);
}

#[test]
fn auto_release_is_longer_after_sustained_reduction_than_after_a_transient() {
    let fs = 48_000.0;
    let release_ms = 80.0;
    let release_time = |auto: bool, burst_s: f64| {
        let mut p = params(-20.0, 4.0);
        p.attack_ms = 1.0;
        p.release_ms = release_ms;
        p.auto_release = auto;
        let up = (0.1 * fs) as usize;
        let down = up + (burst_s * fs) as usize;
        let n = down + (2.0 * fs) as usize;
        let input = square(n, |i| if (up..down).contains(&i) { 0.0 } else { -30.0 });
        let (out, _) = run(&p, fs, 2, &input);
        let gr = gr_trace(&input, &out, 0.0);
        let peak = gr[down - 1];
        assert!(peak > 14.0, "burst of {burst_s} s reached only {peak} dB");
        let t = first(&gr, down, |g| g <= peak * (-1.0f64).exp()) - down + 1;
        t as f64 / fs * 1000.0
    };
    let transient = release_time(true, 0.01);
    let sustained = release_time(true, 2.0);
    let fixed_sustained = release_time(false, 2.0);
    println!(
        "release (63 %): auto after 10 ms burst {transient:.1} ms, auto after 2 s \
         {sustained:.1} ms, fixed after 2 s {fixed_sustained:.1} ms (release_ms {release_ms})"
    );
    assert!((transient / release_ms - 1.0).abs() < 0.1);
    assert!(
        sustained > 4.0 * release_ms,
        "sustained release {sustained} ms"
    );
    assert!((fixed_sustained / release_ms - 1.0).abs() < 0.1);
}

// ---------------------------------------------------------------------------------------------
// transparency, linking, makeup, sidechain

fn noise(n: usize, seed: u64, amp: f64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| (amp * rng.bipolar()) as f32).collect()
}

#[test]
fn no_compression_means_bit_exact_output() {
    let fs = 48_000.0;
    let loud = noise(48_000, 5, 0.9);
    // Ratio 1:1 with the signal far over the threshold.
    let mut unity = params(-40.0, 1.0);
    unity.knee_db = 6.0;
    // Threshold above the signal, with every optional stage switched on.
    let mut above = params(0.0, 4.0);
    above.detector = Detector::Rms { window_ms: 5.0 };
    above.auto_release = true;
    above.sidechain_hpf_hz = Some(90.0);
    for p in [unity, above] {
        let (out, comp) = run(&p, fs, 2, &loud);
        assert_eq!(out, loud, "{p:?} changed the audio");
        assert_eq!(comp.stats(), GainReductionStats::default());
    }
}

#[test]
fn stereo_link_applies_the_same_gain_to_both_channels() {
    let fs = 48_000.0;
    let n = 48_000;
    let p = params(-20.0, 4.0);
    let left = sine(1000.0, -12.0, fs, n);
    let right = sine(330.0, -40.0, fs, n);
    let mut comp = Compressor::new(p.clone(), fs, 2);
    let (mut l, mut r) = (left.clone(), right.clone());
    comp.process(&mut [&mut l[..], &mut r[..]]);
    assert!(
        comp.stats().max_db > 5.0,
        "the loud left channel must be compressed"
    );
    let mut worst = 0.0f64;
    for i in 0..n {
        if left[i].abs() > 1e-3 && right[i].abs() > 1e-4 {
            let gl = f64::from(l[i]) / f64::from(left[i]);
            let gr = f64::from(r[i]) / f64::from(right[i]);
            worst = worst.max((gl / gr - 1.0).abs());
        }
    }
    assert!(worst < 1e-6, "gains differ by {worst} (relative)");
    // Max linking: the left-only signal is compressed exactly like the same signal in both.
    let mut both = Compressor::new(p, fs, 2);
    let (mut l2, mut r2) = (left.clone(), left.clone());
    both.process(&mut [&mut l2[..], &mut r2[..]]);
    assert_eq!(l, l2);
    // Swapping the channels gives the mirror result.
    let mut swapped = Compressor::new(params(-20.0, 4.0), fs, 2);
    let (mut l3, mut r3) = (right.clone(), left.clone());
    swapped.process(&mut [&mut l3[..], &mut r3[..]]);
    assert_eq!((l3, r3), (r, l));
}

#[test]
fn makeup_gain_is_applied_exactly() {
    let fs = 48_000.0;
    let input = noise(48_000, 9, 0.25);
    for makeup in [6.0, -3.5, 0.37] {
        // No compression: output = input · 10^(makeup/20).
        let mut p = params(0.0, 4.0);
        p.makeup_db = makeup;
        let (out, _) = run(&p, fs, 1, &input);
        let g = db_to_amp(makeup);
        for (x, y) in input.iter().zip(&out) {
            let want = f64::from(*x) * g;
            assert!(
                (f64::from(*y) - want).abs() <= want.abs() * 1e-7,
                "{y} vs {want}"
            );
        }
        // With compression: makeup only shifts the output, it does not change the GR.
        let mut squash = params(-30.0, 4.0);
        let (plain, _) = run(&squash, fs, 1, &input);
        squash.makeup_db = makeup;
        let (lifted, comp) = run(&squash, fs, 1, &input);
        assert!(comp.stats().mean_db > 3.0);
        for (a, b) in plain.iter().zip(&lifted) {
            let want = f64::from(*a) * g;
            assert!((f64::from(*b) - want).abs() <= want.abs() * 2e-7 + 1e-12);
        }
    }
}

#[test]
fn sidechain_high_pass_keeps_bass_from_pumping() {
    let fs = 48_000.0;
    let n = 48_000;
    let mean_gr = |freq: f64, hpf: Option<f64>| {
        let mut p = params(-20.0, 4.0);
        p.sidechain_hpf_hz = hpf;
        let input = sine(freq, -12.0, fs, n);
        let mut comp = Compressor::new(p, fs, 2);
        let (mut a, mut b) = (input.clone(), input.clone());
        // Skip the first half (the filter's own start-up transient) in the statistics.
        comp.process(&mut [&mut a[..n / 2], &mut b[..n / 2]]);
        comp.reset_stats();
        comp.process(&mut [&mut a[n / 2..], &mut b[n / 2..]]);
        comp.stats().mean_db
    };
    let bass_filtered = mean_gr(40.0, Some(100.0));
    let mid_filtered = mean_gr(1000.0, Some(100.0));
    let bass_unfiltered = mean_gr(40.0, None);
    println!(
        "mean GR, 40 Hz with HPF {bass_filtered:.3} dB, 1 kHz with HPF {mid_filtered:.3} dB, \
         40 Hz without HPF {bass_unfiltered:.3} dB"
    );
    assert!(mid_filtered > 5.0);
    assert!(
        bass_unfiltered > 4.0,
        "control: bass does compress without the filter"
    );
    assert!(
        bass_filtered < 0.1 * mid_filtered,
        "bass still pumps: {bass_filtered} dB"
    );
}

// ---------------------------------------------------------------------------------------------
// statistics, serde, allocation

#[test]
fn gain_reduction_stats_are_correct_on_a_known_signal() {
    let fs = 48_000.0;
    // Instant ballistics: GR equals the static curve sample by sample.
    let mut p = params(-20.0, 4.0);
    p.attack_ms = 0.0;
    p.release_ms = 0.0;
    // 1000 frames under threshold (GR 0), 1000 at 8 dB over (GR 6), 2000 at 2 dB over
    // (GR 1.5), 1000 at 0.1 dB over (GR 0.075 < 0.1 dB: counts in the mean, not as active).
    let level = |i: usize| match i {
        0..1000 => -30.0,
        1000..2000 => -12.0,
        2000..4000 => -18.0,
        _ => -19.9,
    };
    let input = square(5000, level);
    let mut comp = Compressor::new(p, fs, 2);
    let (mut a, mut b) = (input.clone(), input.clone());
    // In uneven blocks: the statistics must accumulate across calls.
    for (s, e) in [(0, 7), (7, 1500), (1500, 4999), (4999, 5000)] {
        comp.process(&mut [&mut a[s..e], &mut b[s..e]]);
    }
    const { assert!(ACTIVE_GR_DB > 0.075 && ACTIVE_GR_DB < 1.5) };
    let s = comp.stats();
    let total = 6.0 * 1000.0 + 1.5 * 2000.0 + 0.075 * 1000.0;
    let expected = GainReductionStats {
        max_db: 6.0,
        mean_db: total / 5000.0,
        mean_active_db: (6.0 * 1000.0 + 1.5 * 2000.0) / 3000.0,
        active_fraction: 0.6,
    };
    for (got, want) in [
        (s.max_db, expected.max_db),
        (s.mean_db, expected.mean_db),
        (s.mean_active_db, expected.mean_active_db),
        (s.active_fraction, expected.active_fraction),
    ] {
        assert!((got - want).abs() < 1e-6, "{s:?} vs {expected:?}");
    }
    assert!((comp.gain_reduction_db() - 0.075).abs() < 1e-6);
    comp.reset_stats();
    assert_eq!(comp.stats(), GainReductionStats::default());
}

#[test]
fn params_round_trip_through_toml_and_json() {
    let mut p = params(-14.5, 3.0);
    p.detector = Detector::Rms { window_ms: 12.5 };
    p.sidechain_hpf_hz = Some(75.0);
    p.auto_release = true;
    for p in [p.clone(), params(-20.0, 4.0)] {
        let text = toml::to_string(&p).unwrap();
        assert_eq!(
            toml::from_str::<CompressorParams>(&text).unwrap(),
            p,
            "{text}"
        );
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<CompressorParams>(&json).unwrap(), p);
    }
    // An omitted sidechain filter means "off"; other omissions and typos are errors.
    let text = toml::to_string(&params(-20.0, 4.0)).unwrap();
    assert!(!text.contains("sidechain_hpf_hz"));
    let text = format!("sidechain_hpf_hz = 70.0\n{text}");
    let parsed: CompressorParams = toml::from_str(&text).unwrap();
    assert_eq!(parsed.sidechain_hpf_hz, Some(70.0));
    assert!(toml::from_str::<CompressorParams>("threshold_db = -10.0").is_err());
    let typo = toml::to_string(&params(-20.0, 4.0))
        .unwrap()
        .replace("threshold_db", "treshold_db");
    assert!(toml::from_str::<CompressorParams>(&typo).is_err());
    let rms = |extra: &str| {
        text.replace(
            "type = \"peak\"",
            &format!("type = \"rms\"\nwindow_ms = 5.0{extra}"),
        )
    };
    let parsed: CompressorParams = toml::from_str(&rms("")).unwrap();
    assert_eq!(parsed.detector, Detector::Rms { window_ms: 5.0 });
    assert!(toml::from_str::<CompressorParams>(&rms("\nwindwo_ms = 3.0")).is_err());
    let stats = GainReductionStats {
        max_db: 4.0,
        mean_db: 1.0,
        mean_active_db: 2.0,
        active_fraction: 0.5,
    };
    let json = serde_json::to_string(&stats).unwrap();
    assert_eq!(
        serde_json::from_str::<GainReductionStats>(&json).unwrap(),
        stats
    );
}

#[test]
fn processing_does_not_allocate() {
    let fs = 48_000.0;
    // Every stage on: RMS window, sidechain filter, auto release.
    let p = CompressorParams {
        detector: Detector::Rms { window_ms: 10.0 },
        sidechain_hpf_hz: Some(80.0),
        auto_release: true,
        ..CompressorParams::default()
    };
    let mut comp = Compressor::new(p, fs, 2);
    let mut l = noise(4096, 1, 0.8);
    let mut r = noise(4096, 2, 0.8);
    let before = allocations();
    for _ in 0..4 {
        comp.process(&mut [&mut l[..], &mut r[..]]);
    }
    let _ = comp.stats();
    let _ = comp.gain_reduction_db();
    assert_eq!(allocations(), before, "Compressor::process allocated");
    assert!(comp.stats().max_db > 0.0);
}

#[test]
fn a_whole_mono_track_compresses_like_the_block_by_block_path() {
    // a bass-heavy signal with loud and quiet passages: the sidechain high-pass and the gain
    // computer both matter
    let fs = 44_100.0;
    let n = 30 * 44_100 + 11;
    let mut rng = Rng::new(3);
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / fs;
            let level = if (i / 40_000) % 3 == 0 { 0.05 } else { 0.5 };
            (level * ((2.0 * PI * 55.0 * t).sin() + 0.3 * rng.gaussian())) as f32
        })
        .collect();
    let p = CompressorParams {
        sidechain_hpf_hz: Some(90.0),
        detector: Detector::Rms { window_ms: 30.0 },
        ..params(-24.0, 3.0)
    };
    let mut blocks = Compressor::new(p.clone(), fs, 1);
    let mut want = x.clone();
    for b in want.chunks_mut(16_384) {
        blocks.process(&mut [b]);
    }
    let mut whole = Compressor::new(p, fs, 1);
    let mut got = x;
    whole.process_mono_whole(&mut got);
    let worst = want
        .iter()
        .zip(&got)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-5, "largest difference {worst}");
    let (a, b) = (blocks.stats(), whole.stats());
    assert!(
        a.max_db > 3.0,
        "the test signal should be compressed: {a:?}"
    );
    assert!((a.max_db - b.max_db).abs() < 1e-3 && (a.mean_db - b.mean_db).abs() < 1e-3);
}
