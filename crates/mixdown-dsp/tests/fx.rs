//! Acceptance tests for the effects: reverb, delay, pan, de-esser.
//!
//! Every figure is measured on the audio the effect produces, with methods that do not share
//! code with the effect: the reverb's RT60 by Schroeder backward integration of a band-filtered
//! impulse response, the delay's echo levels against the analytic filter responses, the pan law
//! with two independent BS.1770 meters, the de-esser's gain from the output's amplitude at the
//! band centre. Run with `--nocapture` to see the measured figures.

mod common;
use common::allocations;
use std::f64::consts::PI;

use mixdown_dsp::biquad::{Butterworth, FilterChain, FilterKind, BUTTERWORTH_Q};
use mixdown_dsp::deesser::{DeEsser, DeEsserParams, BAND_Q};
use mixdown_dsp::delay::{note_ms, Delay, DelayParams, MAX_FEEDBACK};
use mixdown_dsp::loudness::Loudness;
use mixdown_dsp::pan::{pan_gains, StereoPlacement};
use mixdown_dsp::reverb::{Reverb, ReverbParams};
use mixdown_dsp::rng::Rng;

// ---------------------------------------------------------------------------------------------
// helpers

const BLOCK: usize = 512;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

fn peak(x: &[f32]) -> f64 {
    x.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()))
}

fn noise(n: usize, seed: u64, amp: f64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| (amp * r.bipolar()) as f32).collect()
}

fn sine(freq: f64, amp: f64, fs: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / fs).sin()) as f32)
        .collect()
}

/// Runs a stereo-out effect's `process` over `input` (1 or 2 channels) in blocks of `block`.
fn run_blocks(
    mut process: impl FnMut(&[&[f32]], &mut [f32], &mut [f32]),
    input: &[&[f32]],
    block: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n = input[0].len();
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    let mut i = 0;
    while i < n {
        let m = block.min(n - i);
        let chans: Vec<&[f32]> = input.iter().map(|c| &c[i..i + m]).collect();
        process(&chans, &mut l[i..i + m], &mut r[i..i + m]);
        i += m;
    }
    (l, r)
}

fn run_reverb(rv: &mut Reverb, input: &[&[f32]], block: usize) -> (Vec<f32>, Vec<f32>) {
    run_blocks(|x, l, r| rv.process(x, l, r), input, block)
}

fn run_delay(d: &mut Delay, input: &[&[f32]], block: usize) -> (Vec<f32>, Vec<f32>) {
    run_blocks(|x, l, r| d.process(x, l, r), input, block)
}

/// Bit-for-bit equality, reporting the first difference instead of printing both slices.
fn assert_identical(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    if let Some(i) = (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
        panic!(
            "{what}: first difference at sample {i}: {} vs {}",
            a[i], b[i]
        );
    }
}

/// Raised-cosine fade-in over `len` samples (a natural onset, without a click).
fn fade_in(x: &mut [f32], len: usize) {
    for (i, v) in x.iter_mut().take(len).enumerate() {
        *v *= (0.5 - 0.5 * (PI * i as f64 / len as f64).cos()) as f32;
    }
}

fn impulse(n: usize, at: usize, amp: f32) -> Vec<f32> {
    let mut x = vec![0.0f32; n];
    x[at] = amp;
    x
}

/// Reverb impulse response (mono unit impulse) of `n` samples.
fn reverb_ir(p: &ReverbParams, fs: f64, n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rv = Reverb::new(p.clone(), fs);
    run_reverb(&mut rv, &[&impulse(n, 0, 1.0)], BLOCK)
}

/// Band-limits `x` with 4th-order Butterworth high- and low-pass filters (zero-padded so the
/// filters' own ringing is included).
fn band(x: &[f32], fs: f64, lo: f64, hi: f64) -> Vec<f32> {
    let mut kinds = Butterworth::highpass(lo, 4).sections();
    kinds.extend(Butterworth::lowpass(hi, 4).sections());
    let mut chain = FilterChain::new(&kinds, fs, 1);
    let mut y = x.to_vec();
    chain.process(&mut [&mut y]);
    y
}

/// RT60 by Schroeder backward integration: the energy decay curve
/// EDC(t) = Σ_{τ ≥ t} h²(τ) in dB, a least-squares line between −5 and −35 dB, −60 / slope.
fn rt60(h: &[f32], fs: f64) -> f64 {
    let mut edc = vec![0.0f64; h.len()];
    let mut acc = 0.0;
    for i in (0..h.len()).rev() {
        acc += f64::from(h[i]) * f64::from(h[i]);
        edc[i] = acc;
    }
    let total = edc[0];
    let (mut sx, mut sy, mut sxx, mut sxy, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &e) in edc.iter().enumerate() {
        let l = 10.0 * (e / total).log10();
        if (-35.0..=-5.0).contains(&l) {
            let t = i as f64 / fs;
            sx += t;
            sy += l;
            sxx += t * t;
            sxy += t * l;
            n += 1.0;
        }
        if l < -35.0 {
            break;
        }
    }
    let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    -60.0 / slope
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

fn ir_len(p: &ReverbParams, fs: f64) -> usize {
    Reverb::new(p.clone(), fs).tail_samples()
}

/// Reverb settings for decay measurements: no damping, no wet filters.
fn flat(decay_s: f64) -> ReverbParams {
    ReverbParams {
        decay_s,
        damping: 1.0,
        low_cut_hz: 0.0,
        high_cut_hz: 0.0,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// reverb

#[test]
fn reverb_rt60_in_the_mid_band_matches_decay() {
    // (sample rate, decay, size, damping)
    let cases = [
        (44_100.0, 0.5, 0.5, 1.0),
        (48_000.0, 2.0, 0.5, 1.0),
        (48_000.0, 2.0, 0.0, 0.5),
        (48_000.0, 2.0, 1.0, 0.5),
        (96_000.0, 10.0, 0.7, 1.0),
        (8_000.0, 1.2, 0.5, 1.0),
        (192_000.0, 1.5, 0.3, 0.4),
        (44_100.0, 4.0, 0.5, 0.5),
    ];
    for &(fs, decay, size, damping) in &cases {
        let p = ReverbParams {
            size,
            damping,
            ..flat(decay)
        };
        let n = ir_len(&p, fs);
        let (l, r) = reverb_ir(&p, fs, n);
        for (name, h) in [("L", &l), ("R", &r)] {
            let t = rt60(&band(h, fs, 500.0, 2000.0), fs);
            let err = t / decay - 1.0;
            eprintln!(
                "reverb RT60 500-2k {fs} Hz size {size} damping {damping} {name}: \
                 {t:.3} s for {decay} s ({:+.1} %)",
                100.0 * err
            );
            assert!(err.abs() < 0.10, "{fs} {decay} {name}: {t}");
        }
    }
}

#[test]
fn reverb_high_frequencies_decay_faster_with_damping() {
    let fs = 48_000.0;
    let decay = 3.0;
    for &(damping, damping_hz) in &[(0.4, 2500.0), (0.25, 2000.0), (1.0, 2500.0)] {
        let p = ReverbParams {
            damping,
            damping_hz,
            ..flat(decay)
        };
        let (l, _) = reverb_ir(&p, fs, ir_len(&p, fs));
        let mid = rt60(&band(&l, fs, 250.0, 1000.0), fs);
        let high = rt60(&band(&l, fs, 5657.0, 11314.0), fs);
        let want = damping * decay;
        eprintln!(
            "reverb damping {damping} from {damping_hz} Hz: RT60 250-1k {mid:.3} s, \
             8k octave {high:.3} s (target {want:.3} s, {:+.1} %)",
            100.0 * (high / want - 1.0)
        );
        assert!((mid / decay - 1.0).abs() < 0.1, "mid {mid}");
        assert!((high / want - 1.0).abs() < 0.15, "high {high} vs {want}");
    }
}

#[test]
fn reverb_onset_is_the_pre_delay() {
    for &fs in &[8_000.0, 44_100.0, 96_000.0] {
        for &pre in &[0.0, 7.3, 20.0, 85.0, 500.0] {
            let p = ReverbParams {
                pre_delay_ms: pre,
                ..Default::default()
            };
            let n = ((pre + 100.0) * 1e-3 * fs) as usize;
            let (l, r) = reverb_ir(&p, fs, n);
            let pk = peak(&l).max(peak(&r));
            let onset = (0..n)
                .find(|&i| f64::from(l[i].abs().max(r[i].abs())) > 0.01 * pk)
                .unwrap();
            let onset_ms = onset as f64 / fs * 1e3;
            eprintln!("reverb pre-delay {pre} ms @ {fs}: onset {onset_ms:.3} ms");
            assert!(
                (onset_ms - pre).abs() <= 1.0,
                "{pre} ms: onset {onset_ms} ms"
            );
        }
    }
}

#[test]
fn reverb_left_and_right_are_decorrelated() {
    let fs = 48_000.0;
    for &(size, decay) in &[(0.5, 1.8), (0.0, 0.6), (1.0, 5.0)] {
        let p = ReverbParams {
            size,
            decay_s: decay,
            ..Default::default()
        };
        let n = ir_len(&p, fs);
        let (l, r) = reverb_ir(&p, fs, n);
        let rho = correlation(&l, &r);
        // also the late part only, and with a stereo (left-only) input
        let late = (0.2 * fs) as usize;
        let rho_late = correlation(&l[late..], &r[late..]);
        let mut rv = Reverb::new(p.clone(), fs);
        let zero = vec![0.0f32; n];
        let (l2, r2) = run_reverb(&mut rv, &[&impulse(n, 0, 1.0), &zero], BLOCK);
        let rho_left = correlation(&l2, &r2);
        eprintln!(
            "reverb size {size} decay {decay}: IR correlation {rho:+.3}, after 200 ms \
             {rho_late:+.3}, left-only input {rho_left:+.3}"
        );
        assert!(rho.abs() < 0.3 && rho_late.abs() < 0.3 && rho_left.abs() < 0.3);
        // and the two sides carry similar energy
        let bal = 10.0 * (energy(&l) / energy(&r)).log10();
        assert!(bal.abs() < 1.5, "balance {bal} dB");
    }
}

#[test]
fn reverb_passes_no_dc() {
    let fs = 44_100.0;
    for low_cut in [0.0, 80.0] {
        let p = ReverbParams {
            decay_s: 6.0,
            damping: 1.0,
            low_cut_hz: low_cut,
            ..Default::default()
        };
        let n = (20.0 * fs) as usize;
        let dc = vec![0.5f32; n];
        let mut rv = Reverb::new(p.clone(), fs);
        let (l, r) = run_reverb(&mut rv, &[&dc], BLOCK);
        let last = (fs as usize)..;
        let tail_l = &l[n - last.start..];
        let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
        let (ml, mr) = (mean(tail_l), mean(&r[n - last.start..]));
        let pk = peak(tail_l);
        eprintln!(
            "reverb low cut {low_cut}: 0.5 DC in, last second mean {ml:.2e} / {mr:.2e}, \
             peak {pk:.2e}"
        );
        assert!(ml.abs() < 1e-4 && mr.abs() < 1e-4 && pk < 1e-3);
        // DC gain of the impulse response
        let (hl, hr) = reverb_ir(&p, fs, ir_len(&p, fs));
        let sum = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>();
        assert!(sum(&hl).abs() < 1e-3 && sum(&hr).abs() < 1e-3);
    }
}

#[test]
fn reverb_is_stable_at_the_longest_decay_with_full_scale_input() {
    let fs = 48_000.0;
    for &(decay, damping, size) in &[(10.0, 1.0, 0.5), (30.0, 1.0, 0.0), (1e9, 1.0, 1.0)] {
        let p = ReverbParams {
            decay_s: decay,
            damping,
            size,
            low_cut_hz: 0.0,
            high_cut_hz: 0.0,
            ..Default::default()
        };
        let n = (20.0 * fs) as usize;
        // full-scale impulses of alternating sign every 0.25 s, then 2 s of full-scale noise
        let mut x = vec![0.0f32; n];
        for (k, i) in (0..n / 2).step_by((0.25 * fs) as usize).enumerate() {
            x[i] = if k % 2 == 0 { 1.0 } else { -1.0 };
        }
        let nz = noise((2.0 * fs) as usize, 3, 1.0);
        x[n / 2..n / 2 + nz.len()].copy_from_slice(&nz);
        let mut rv = Reverb::new(p.clone(), fs);
        let (l, r) = run_reverb(&mut rv, &[&x, &x], BLOCK);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()));
        let pk = peak(&l).max(peak(&r));
        // after the input: the level falls
        let s = (n / 2 + nz.len()) + (0.5 * fs) as usize;
        let e1 = energy(&l[s..s + (fs as usize)]);
        let e2 = energy(&l[n - (fs as usize)..]);
        eprintln!(
            "reverb decay {decay} s (realised {:.2} s) size {size}: peak {pk:.2}, \
             energy 1 s after the input {:.1} dB, at the end {:.1} dB",
            rv.max_rt60_s(),
            10.0 * e1.log10(),
            10.0 * e2.log10()
        );
        assert!(pk < 50.0, "peak {pk}");
        assert!(e2 < e1);
    }
}

#[test]
fn reverb_tail_is_below_minus_90_db_after_tail_samples() {
    for &(fs, decay, damping, size) in &[
        (44_100.0, 1.8, 0.5, 0.5),
        (48_000.0, 0.3, 1.0, 0.0),
        (96_000.0, 6.0, 0.7, 1.0),
        (8_000.0, 2.5, 1.0, 0.5),
    ] {
        let p = ReverbParams {
            decay_s: decay,
            damping,
            size,
            ..Default::default()
        };
        let rv0 = Reverb::new(p.clone(), fs);
        let tail = rv0.tail_samples();
        // a unit impulse, and one second of full-scale noise
        for burst in [1usize, fs as usize] {
            let n = burst + tail + (0.5 * fs) as usize;
            let mut x = noise(burst, 9, 1.0);
            x.resize(n, 0.0);
            let mut rv = Reverb::new(p.clone(), fs);
            let (l, r) = run_reverb(&mut rv, &[&x], BLOCK);
            let pk = peak(&l).max(peak(&r));
            let after = burst + tail;
            let rest = peak(&l[after..]).max(peak(&r[after..]));
            // how much earlier the -90 dB point is actually reached
            let limit = pk * 10f64.powf(-90.0 / 20.0);
            let last_loud = (0..n)
                .rev()
                .find(|&i| f64::from(l[i].abs().max(r[i].abs())) > limit)
                .unwrap_or(0);
            eprintln!(
                "reverb tail {fs} Hz decay {decay}: tail_samples {:.2} s, burst {burst}: \
                 after it {:.1} dB re peak; -90 dB reached {:.2} s after the input",
                tail as f64 / fs,
                db(rest / pk),
                (last_loud as f64 - burst as f64) / fs
            );
            assert!(rest <= limit, "{fs} {decay}: {} dB", db(rest / pk));
        }
    }
}

#[test]
fn reverb_is_deterministic_and_independent_of_block_size() {
    let fs = 44_100.0;
    let p = ReverbParams::default();
    let x = noise((1.5 * fs) as usize, 5, 0.5);
    let y = noise((1.5 * fs) as usize, 6, 0.5);
    let mut a = Reverb::new(p.clone(), fs);
    let ref_out = run_reverb(&mut a, &[&x, &y], BLOCK);
    for block in [1, 7, 64, 333, 4096, 100_000] {
        let mut b = Reverb::new(p.clone(), fs);
        assert_eq!(
            run_reverb(&mut b, &[&x, &y], block),
            ref_out,
            "block {block}"
        );
    }
    // reset returns to the initial state
    a.reset();
    assert_eq!(run_reverb(&mut a, &[&x, &y], BLOCK), ref_out);
    // a mono input is dual mono
    let mut m = Reverb::new(p.clone(), fs);
    let mut s = Reverb::new(p, fs);
    assert_eq!(
        run_reverb(&mut m, &[&x], BLOCK),
        run_reverb(&mut s, &[&x, &x], BLOCK)
    );
}

#[test]
fn reverb_energy_and_wet_filters() {
    // Level figures for the report, and the wet filters acting on the output spectrum.
    let fs = 48_000.0;
    for decay in [0.5, 1.8, 6.0] {
        let p = ReverbParams {
            decay_s: decay,
            ..flat(decay)
        };
        let (l, r) = reverb_ir(&p, fs, ir_len(&p, fs));
        eprintln!(
            "reverb decay {decay} s: IR energy L {:.1} dB, R {:.1} dB",
            10.0 * energy(&l).log10(),
            10.0 * energy(&r).log10()
        );
    }
    // low cut 400 Hz, high cut 3 kHz: band energies against an unfiltered IR
    let base = flat(1.5);
    let cut = ReverbParams {
        low_cut_hz: 400.0,
        high_cut_hz: 3000.0,
        ..base.clone()
    };
    let n = ir_len(&base, fs);
    let (l0, _) = reverb_ir(&base, fs, n);
    let (l1, _) = reverb_ir(&cut, fs, n);
    let hp = FilterKind::HighPass {
        freq_hz: 400.0,
        q: BUTTERWORTH_Q,
    };
    let lp = FilterKind::LowPass {
        freq_hz: 3000.0,
        q: BUTTERWORTH_Q,
    };
    for (lo, hi) in [(1000.0, 1400.0), (70.0, 110.0), (9000.0, 12000.0)] {
        // the filters' power gain averaged over the measuring band's response (the IR's
        // spectrum is flat on average), on a linear frequency grid up to Nyquist
        let (mut num, mut den) = (0.0, 0.0);
        let steps = 20_000;
        for k in 0..steps {
            let f = 10.0 + (0.5 * fs - 10.0) * (k as f64 + 0.5) / steps as f64;
            let w = 10f64.powf(
                (Butterworth::highpass(lo, 4).response_db(f, fs)
                    + Butterworth::lowpass(hi, 4).response_db(f, fs))
                    / 10.0,
            );
            num += w * 10f64.powf((hp.response_db(f, fs) + lp.response_db(f, fs)) / 10.0);
            den += w;
        }
        let want = 10.0 * (num / den).log10();
        let g = 10.0 * (energy(&band(&l1, fs, lo, hi)) / energy(&band(&l0, fs, lo, hi))).log10();
        eprintln!("reverb wet filters {lo}-{hi} Hz: {g:.2} dB (analytic {want:.2} dB)");
        assert!((g - want).abs() < 1.0, "{lo}-{hi}: {g} vs {want}");
    }
}

#[test]
fn reverb_width_scales_the_side() {
    let fs = 44_100.0;
    let n = 30_000;
    let ir = |w: f64| {
        reverb_ir(
            &ReverbParams {
                width: w,
                ..Default::default()
            },
            fs,
            n,
        )
    };
    let (l1, r1) = ir(1.0);
    let (l0, r0) = ir(0.0);
    assert_eq!(l0, r0);
    let (l2, r2) = ir(2.0);
    for i in 0..n {
        let (m1, s1) = (l1[i] + r1[i], l1[i] - r1[i]);
        assert!((l2[i] + r2[i] - m1).abs() < 1e-6);
        assert!((l2[i] - r2[i] - 2.0 * s1).abs() < 1e-5);
        assert!((l0[i] - 0.5 * m1).abs() < 1e-6);
    }
}

#[test]
fn reverb_processing_does_not_allocate() {
    let fs = 48_000.0;
    let mut rv = Reverb::new(ReverbParams::default(), fs);
    let x = noise(BLOCK, 1, 0.5);
    let mut l = vec![0.0f32; BLOCK];
    let mut r = vec![0.0f32; BLOCK];
    let before = allocations();
    for _ in 0..100 {
        rv.process(&[&x, &x], &mut l, &mut r);
        rv.process(&[&x], &mut l, &mut r);
    }
    assert_eq!(allocations(), before);
}

#[test]
fn reverb_params_are_plain_serde_data() {
    let p = ReverbParams::default();
    let toml_text = toml::to_string(&p).unwrap();
    assert_eq!(toml::from_str::<ReverbParams>(&toml_text).unwrap(), p);
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<ReverbParams>(&json).unwrap(), p);
    // omitted fields are defaults, unknown fields are errors
    let q: ReverbParams = toml::from_str("decay_s = 3.5\nsize = 0.9").unwrap();
    assert_eq!(q.decay_s, 3.5);
    assert_eq!(q.pre_delay_ms, p.pre_delay_ms);
    assert!(toml::from_str::<ReverbParams>("decay = 3.5").is_err());
}

/// Speed: 3 minutes of 44.1 kHz stereo through the reverb (run with `--release --ignored`).
#[test]
#[ignore]
fn reverb_speed_three_minutes_of_stereo() {
    let fs = 44_100.0;
    let n = 180 * 44_100;
    let x = noise(n, 1, 0.3);
    let y = noise(n, 2, 0.3);
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    for p in [
        ReverbParams::default(),
        ReverbParams {
            size: 1.0,
            decay_s: 8.0,
            ..Default::default()
        },
    ] {
        // best of three: the machine may be shared
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let mut rv = Reverb::new(p.clone(), fs);
            let t = std::time::Instant::now();
            for ((a, b), (c, d)) in x
                .chunks(BLOCK)
                .zip(y.chunks(BLOCK))
                .zip(l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)))
            {
                rv.process(&[a, b], c, d);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        eprintln!(
            "reverb (decay {} s, size {}): 3 min of 44.1 kHz stereo in {best:.3} s \
             ({:.0}x real time)",
            p.decay_s,
            p.size,
            180.0 / best
        );
        assert!(l.iter().all(|v| v.is_finite()));
    }
    let mut d = Delay::new(DelayParams::default(), fs);
    let t = std::time::Instant::now();
    let (dl, _) = run_delay(&mut d, &[&x, &y], BLOCK);
    eprintln!("delay: 3 min in {:.3} s", t.elapsed().as_secs_f64());
    assert!(dl.iter().all(|v| v.is_finite()));
    let mut de = DeEsser::new(DeEsserParams::default(), fs, 2);
    let (mut a, mut b) = (x.clone(), y.clone());
    let t = std::time::Instant::now();
    for (c, d) in a.chunks_mut(BLOCK).zip(b.chunks_mut(BLOCK)) {
        de.process(&mut [c, d]);
    }
    eprintln!("de-esser: 3 min in {:.3} s", t.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// delay

fn open_delay(time_ms: f64, feedback: f64, ping_pong: bool) -> DelayParams {
    DelayParams {
        time_ms,
        feedback,
        low_cut_hz: 0.0,
        high_cut_hz: 0.0,
        ping_pong,
    }
}

#[test]
fn delay_echoes_are_at_exact_multiples_with_feedback_gains() {
    for &fs in &[8_000.0, 44_100.0, 48_000.0, 192_000.0] {
        for &(ms, fb) in &[(10.0, 0.5), (123.4, 0.8), (0.01, 0.3), (1000.0, 0.0)] {
            let mut d = Delay::new(open_delay(ms, fb, false), fs);
            let dn = d.delay_samples();
            assert_eq!(dn, ((ms * 1e-3 * fs).round() as usize).max(1));
            let n = 8 * dn + 10;
            let (l, r) = run_delay(&mut d, &[&impulse(n, 0, 1.0)], BLOCK);
            assert_eq!(l, r);
            for (i, &v) in l.iter().enumerate() {
                if i > 0 && i % dn == 0 {
                    // the line stores f32, so each pass rounds once
                    let want = fb.powi((i / dn) as i32 - 1);
                    let err = (f64::from(v) - want).abs();
                    assert!(
                        err <= 1e-6 * want,
                        "{fs} Hz {ms} ms: echo at {i}: {v} vs {want}"
                    );
                } else {
                    assert_eq!(v, 0.0, "{fs} Hz {ms} ms: sample {i}");
                }
            }
        }
    }
}

#[test]
fn delay_with_loop_filters_puts_each_echo_right_after_its_time() {
    // the filters spread an echo over their impulse response; its peak stays within 1 ms
    let fs = 48_000.0;
    let p = DelayParams {
        time_ms: 250.0,
        feedback: 0.7,
        low_cut_hz: 120.0,
        high_cut_hz: 5000.0,
        ping_pong: false,
    };
    let mut d = Delay::new(p, fs);
    let dn = d.delay_samples();
    let (l, _) = run_delay(&mut d, &[&impulse(6 * dn, 0, 1.0)], BLOCK);
    for k in 1..6 {
        let w = &l[k * dn - dn / 2..(k * dn + dn / 2)];
        let at = w
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0 as f64
            - (dn / 2) as f64;
        eprintln!("delay echo {k}: peak {at} samples after n·D");
        assert!((0.0..=0.001 * fs).contains(&at), "echo {k} peak at {at}");
    }
}

#[test]
fn delay_repeat_levels_follow_feedback_and_filters() {
    // A 1 kHz tone burst (Hann window, 40 ms): each repeat's energy against the previous one
    // should be 20·log10(feedback) + |HP(1k)| + |LP(1k)| dB.
    let fs = 48_000.0;
    for &(fb, lo, hi) in &[(0.6, 200.0, 4000.0), (0.9, 600.0, 1800.0), (0.3, 0.0, 0.0)] {
        let p = DelayParams {
            time_ms: 100.0,
            feedback: fb,
            low_cut_hz: lo,
            high_cut_hz: hi,
            ping_pong: false,
        };
        let mut d = Delay::new(p, fs);
        let dn = d.delay_samples();
        let len = (0.04 * fs) as usize;
        let mut x: Vec<f32> = (0..len)
            .map(|i| {
                let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / len as f64).cos();
                (w * (2.0 * PI * 1000.0 * i as f64 / fs).sin()) as f32
            })
            .collect();
        x.resize(7 * dn, 0.0);
        let (l, _) = run_delay(&mut d, &[&x], BLOCK);
        let filt = |k: FilterKind| k.response_db(1000.0, fs);
        let mut want = db(fb);
        if lo > 0.0 {
            want += filt(FilterKind::HighPass {
                freq_hz: lo,
                q: BUTTERWORTH_Q,
            });
        }
        if hi > 0.0 {
            want += filt(FilterKind::LowPass {
                freq_hz: hi,
                q: BUTTERWORTH_Q,
            });
        }
        let e = |k: usize| energy(&l[k * dn..(k + 1) * dn]);
        for k in 1..6 {
            let step = 10.0 * (e(k + 1) / e(k)).log10();
            eprintln!(
                "delay fb {fb} ({lo}-{hi} Hz) repeat {k}->{}: {step:.2} dB (want {want:.2})",
                k + 1
            );
            assert!((step - want).abs() < 0.2, "repeat {k}: {step} vs {want}");
        }
    }
}

#[test]
fn delay_ping_pong_alternates_channels() {
    let fs = 44_100.0;
    let p = DelayParams {
        ping_pong: true,
        feedback: 0.5,
        ..open_delay(50.0, 0.5, true)
    };
    let mut d = Delay::new(p, fs);
    let dn = d.delay_samples();
    let n = 9 * dn;
    // stereo input with the impulse on the right only: ping-pong still starts on the left
    let zero = vec![0.0f32; n];
    let (l, r) = run_delay(&mut d, &[&zero, &impulse(n, 0, 1.0)], BLOCK);
    for k in 1..9 {
        let (el, er) = (f64::from(l[k * dn]), f64::from(r[k * dn]));
        let want = 0.5 * 0.5f64.powi(k as i32 - 1);
        let (loud, quiet) = if k % 2 == 1 { (el, er) } else { (er, el) };
        assert!((loud - want).abs() <= 1e-6 * want, "echo {k}: {el} {er}");
        assert_eq!(quiet, 0.0, "echo {k}");
    }
    // nothing between echoes
    let total: f64 = energy(&l) + energy(&r);
    let at: f64 = (1..9)
        .map(|k| f64::from(l[k * dn]).powi(2) + f64::from(r[k * dn]).powi(2))
        .sum();
    assert_eq!(total, at);
    // with filters the echoes still alternate: each channel is silent on the other's turns
    let pf = DelayParams {
        ping_pong: true,
        ..DelayParams::default()
    };
    let mut d = Delay::new(pf, fs);
    let dn = d.delay_samples();
    let (l, r) = run_delay(&mut d, &[&impulse(5 * dn, 0, 1.0)], BLOCK);
    for k in 1..5 {
        let w = k * dn..(k * dn + dn / 2);
        let (el, er) = (energy(&l[w.clone()]), energy(&r[w]));
        let (loud, quiet) = if k % 2 == 1 { (el, er) } else { (er, el) };
        assert!(loud > 0.0 && quiet < 1e-12 * loud, "echo {k}: {el} {er}");
    }
}

#[test]
fn delay_stereo_keeps_sides_apart() {
    let fs = 48_000.0;
    let mut d = Delay::new(DelayParams::default(), fs);
    let n = 4 * d.delay_samples();
    let zero = vec![0.0f32; n];
    let (l, r) = run_delay(&mut d, &[&noise(n, 4, 0.5), &zero], BLOCK);
    assert!(energy(&l) > 0.0);
    assert!(r.iter().all(|&v| v == 0.0));
}

#[test]
fn delay_is_stable_with_feedback_near_one() {
    let fs = 48_000.0;
    for &(fb, lo, hi) in &[
        (0.999, 0.0, 0.0),
        (5.0, 100.0, 8000.0),
        (MAX_FEEDBACK, 0.0, 0.0),
    ] {
        let p = DelayParams {
            time_ms: 20.0,
            feedback: fb,
            low_cut_hz: lo,
            high_cut_hz: hi,
            ping_pong: false,
        };
        let mut d = Delay::new(p, fs);
        assert!(d.feedback() <= MAX_FEEDBACK);
        let n = (30.0 * fs) as usize;
        let mut x = noise((5.0 * fs) as usize, 8, 1.0);
        x.resize(n, 0.0);
        let (l, _) = run_delay(&mut d, &[&x], BLOCK);
        assert!(l.iter().all(|v| v.is_finite()));
        let pk = peak(&l);
        let end = peak(&l[n - (fs as usize)..]);
        eprintln!(
            "delay feedback {fb} -> {}: peak {pk:.2}, last second {:.1} dB re peak",
            d.feedback(),
            db(end / pk)
        );
        assert!(pk <= 1.0 / (1.0 - MAX_FEEDBACK) && end < 1e-3 * pk);
    }
}

#[test]
fn delay_tail_is_below_minus_90_db_after_tail_samples() {
    for &(fs, ms, fb, lo, hi, pp) in &[
        (48_000.0, 375.0, 0.35, 150.0, 6000.0, false),
        (44_100.0, 10.0, 0.9, 20.0, 0.0, false),
        (96_000.0, 120.0, MAX_FEEDBACK, 0.0, 0.0, true),
        (8_000.0, 250.0, 0.0, 300.0, 2000.0, true),
    ] {
        let p = DelayParams {
            time_ms: ms,
            feedback: fb,
            low_cut_hz: lo,
            high_cut_hz: hi,
            ping_pong: pp,
        };
        let tail = Delay::new(p.clone(), fs).tail_samples();
        for burst in [1usize, (0.5 * fs) as usize] {
            let n = burst + tail + (0.2 * fs) as usize;
            let mut x = noise(burst, 2, 1.0);
            x.resize(n, 0.0);
            let mut d = Delay::new(p.clone(), fs);
            let (l, r) = run_delay(&mut d, &[&x], 4096);
            let pk = peak(&l).max(peak(&r));
            let rest = peak(&l[burst + tail..]).max(peak(&r[burst + tail..]));
            eprintln!(
                "delay tail {ms} ms fb {fb}: tail_samples {:.2} s, after it {:.1} dB re peak",
                tail as f64 / fs,
                db(rest.max(1e-30) / pk)
            );
            assert!(rest <= pk * 10f64.powf(-90.0 / 20.0));
        }
    }
}

#[test]
fn delay_is_deterministic_does_not_allocate_and_has_serde_params() {
    let fs = 44_100.0;
    let p = DelayParams {
        ping_pong: true,
        time_ms: note_ms(96.0, 0.75),
        ..Default::default()
    };
    let x = noise(50_000, 3, 0.5);
    let mut a = Delay::new(p.clone(), fs);
    let ra = run_delay(&mut a, &[&x], BLOCK);
    let mut b = Delay::new(p.clone(), fs);
    assert_eq!(run_delay(&mut b, &[&x], 77), ra);
    a.reset();
    assert_eq!(run_delay(&mut a, &[&x], BLOCK), ra);
    let mut l = vec![0.0f32; BLOCK];
    let mut r = vec![0.0f32; BLOCK];
    let before = allocations();
    for c in x.chunks_exact(BLOCK) {
        a.process(&[c, c], &mut l, &mut r);
    }
    assert_eq!(allocations(), before);
    let t = toml::to_string(&p).unwrap();
    assert_eq!(toml::from_str::<DelayParams>(&t).unwrap(), p);
    let q: DelayParams = toml::from_str("time_ms = 500.0").unwrap();
    assert_eq!(q.feedback, DelayParams::default().feedback);
    assert!(toml::from_str::<DelayParams>("time = 500.0").is_err());
}

// ---------------------------------------------------------------------------------------------
// pan

#[test]
fn pan_is_constant_power_everywhere() {
    for k in -1000..=1000 {
        let p = k as f64 / 1000.0;
        let (l, r) = pan_gains(p);
        let (l, r) = (f64::from(l), f64::from(r));
        assert!((l * l + r * r - 1.0).abs() < 1e-6, "{p}: {l} {r}");
        assert!(l >= 0.0 && r >= 0.0);
        // monotonic: moving right never raises the left gain
        let (l2, _) = pan_gains(p + 0.001);
        assert!(f64::from(l2) <= l);
    }
    assert_eq!(pan_gains(-1.0), (1.0, 0.0));
    assert_eq!(pan_gains(1.0), (0.0, 1.0));
    let (l, r) = pan_gains(0.0);
    assert!((db(f64::from(l)) + 3.0103).abs() < 1e-3);
    assert!((db(f64::from(r)) + 3.0103).abs() < 1e-3);
    // mirror symmetry
    for k in 0..=100 {
        let p = k as f64 / 100.0;
        let (a, b) = pan_gains(p);
        let (c, d) = pan_gains(-p);
        assert!((a - d).abs() < 1e-7 && (b - c).abs() < 1e-7);
    }
}

#[test]
fn panned_mono_keeps_its_bs1770_loudness() {
    use ebur128::{EbuR128, Mode};
    for &sr in &[44_100u32, 48_000] {
        let fs = f64::from(sr);
        let n = 5 * sr as usize;
        // noise plus a tone, so the K-weighting matters
        let mut x = noise(n, 11, 0.2);
        for (v, s) in x.iter_mut().zip(sine(220.0, 0.2, fs, n)) {
            *v += s;
        }
        let ours_mono = Loudness::measure(&[&x], sr).integrated_lufs.unwrap();
        let mut m = EbuR128::new(1, sr, Mode::I).unwrap();
        m.add_frames_planar_f32(&[&x]).unwrap();
        let ref_mono = m.loudness_global().unwrap();
        for &p in &[-1.0, -0.6, -0.25, 0.0, 0.1, 0.5, 0.9, 1.0] {
            let mut l = vec![0.0f32; n];
            let mut r = vec![0.0f32; n];
            StereoPlacement::new(p, 1.0).process_mono(&x, &mut l, &mut r);
            let ours = Loudness::measure(&[&l, &r], sr).integrated_lufs.unwrap();
            let mut m = EbuR128::new(2, sr, Mode::I).unwrap();
            m.add_frames_planar_f32(&[&l, &r]).unwrap();
            let reference = m.loudness_global().unwrap();
            // and the plain power sum
            let ratio = (energy(&l) + energy(&r)) / energy(&x);
            eprintln!(
                "pan {p:+.2}: mono {ref_mono:.3} LUFS, stereo {reference:.3} LUFS \
                 (ours {ours:.3}), power ratio {ratio:.7}"
            );
            assert!((reference - ref_mono).abs() < 0.01, "{p}");
            assert!((ours - ours_mono).abs() < 0.01, "{p}");
            assert!((ratio - 1.0).abs() < 1e-5, "{p}: {ratio}");
        }
    }
}

#[test]
fn stereo_placement_width_and_pan() {
    let n = 10_000;
    let l0 = noise(n, 1, 0.5);
    let r0 = noise(n, 2, 0.5);
    // identity: bit-exact
    let (mut l, mut r) = (l0.clone(), r0.clone());
    StereoPlacement::default().process_stereo(&mut l, &mut r);
    assert_eq!((&l, &r), (&l0, &r0));
    // width 0: mono, width 2: side doubled, mid unchanged
    for w in [0.0, 0.5, 2.0] {
        let (mut l, mut r) = (l0.clone(), r0.clone());
        StereoPlacement::new(0.0, w).process_stereo(&mut l, &mut r);
        for i in 0..n {
            let (m0, s0) = (l0[i] + r0[i], l0[i] - r0[i]);
            assert!((l[i] + r[i] - m0).abs() < 1e-6);
            assert!((l[i] - r[i] - w as f32 * s0).abs() < 1e-6);
        }
    }
    // hard right: everything in the right channel, each input channel's power kept
    let (mut l, mut r) = (l0.clone(), vec![0.0f32; n]);
    StereoPlacement::new(1.0, 1.0).process_stereo(&mut l, &mut r);
    assert!(l.iter().all(|&v| v == 0.0));
    assert_eq!(r, l0);
    // partial pan of a left-only source follows the mono law at position 2p - 1
    for p in [0.2, 0.5, 0.8] {
        let (mut l, mut r) = (l0.clone(), vec![0.0f32; n]);
        StereoPlacement::new(p, 1.0).process_stereo(&mut l, &mut r);
        let (gl, gr) = pan_gains(2.0 * p - 1.0);
        for i in 0..n {
            assert!((l[i] - l0[i] * gl).abs() < 1e-7 && (r[i] - l0[i] * gr).abs() < 1e-7);
        }
        assert!(((energy(&l) + energy(&r)) / energy(&l0) - 1.0).abs() < 1e-5);
    }
    // panning left moves the right channel; the left one stays
    let (mut l, mut r) = (vec![0.0f32; n], r0.clone());
    StereoPlacement::new(-0.5, 1.0).process_stereo(&mut l, &mut r);
    let (gl, gr) = pan_gains(0.0);
    assert!((l[5] - r0[5] * gr).abs() < 1e-7 && (r[5] - r0[5] * gl).abs() < 1e-7);
    // serde
    let t = toml::to_string(&StereoPlacement::new(-0.3, 0.8)).unwrap();
    assert_eq!(
        toml::from_str::<StereoPlacement>(&t).unwrap(),
        StereoPlacement::new(-0.3, 0.8)
    );
    assert!(toml::from_str::<StereoPlacement>("balance = 1.0").is_err());
}

// ---------------------------------------------------------------------------------------------
// de-esser

/// Amplitude of the `freq` component of `x` around sample `at`, from a centred window of `w`
/// samples holding whole periods of every tone present (an exact DFT bin there).
fn tone_amp(x: &[f32], freq: f64, fs: f64, at: usize, w: usize) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    let from = at - w / 2;
    for (i, &v) in x.iter().enumerate().skip(from).take(w) {
        let ph = 2.0 * PI * freq * i as f64 / fs;
        re += f64::from(v) * ph.cos();
        im += f64::from(v) * ph.sin();
    }
    2.0 * (re * re + im * im).sqrt() / w as f64
}

fn deess(p: &DeEsserParams, fs: f64, x: &[f32]) -> Vec<f32> {
    let mut d = DeEsser::new(p.clone(), fs, 1);
    let mut y = x.to_vec();
    for c in y.chunks_mut(BLOCK) {
        d.process(&mut [c]);
    }
    y
}

#[test]
fn deesser_reduces_a_sibilant_tone_by_the_expected_amount() {
    // 48 kHz, 6 kHz band: one period is 8 samples; a 375 Hz tone has 128.
    let fs = 48_000.0;
    let n = (0.5 * fs) as usize;
    let at = n - 1000;
    for &max in &[3.0, 6.0, 12.0] {
        let p = DeEsserParams {
            freq_hz: 6000.0,
            threshold_db: -12.0,
            max_reduction_db: max,
            ..Default::default()
        };
        // far over: a pure tone at the band centre (band = full level, 12 dB over)
        let mut x = sine(6000.0, 0.3, fs, n);
        fade_in(&mut x, 480);
        let y = deess(&p, fs, &x);
        let gr = -db(tone_amp(&y, 6000.0, fs, at, 128) / 0.3);
        eprintln!("de-esser 6 kHz tone, max {max} dB: reduced by {gr:.3} dB");
        assert!((gr - max).abs() < 0.5, "{max}: {gr}");
        // a 375 Hz tone at the same level is untouched, bit for bit
        let mut v = sine(375.0, 0.3, fs, n);
        fade_in(&mut v, 480);
        assert_identical(&deess(&p, fs, &v), &v, "375 Hz tone");
    }
    // A tone switched on abruptly starts with a click, which has real energy in the band: the
    // de-esser may dip it slightly, and is bit-exact again once the release has run out.
    let p = DeEsserParams {
        freq_hz: 6000.0,
        ..Default::default()
    };
    let v = sine(375.0, 0.3, fs, 2 * n);
    let mut d = DeEsser::new(p.clone(), fs, 1);
    let mut y = v.clone();
    d.process(&mut [&mut y]);
    let last = (0..v.len()).rev().find(|&i| y[i] != v[i]).unwrap_or(0);
    eprintln!(
        "de-esser, 375 Hz tone switched on abruptly: at most {:.3} dB on the click, \
         bit-exact after {:.0} ms",
        d.max_gain_reduction_db(),
        last as f64 / fs * 1e3
    );
    assert!(d.max_gain_reduction_db() < 0.2);
    // the release takes the reduction from its peak to the 1e-6 dB floor in τ·ln(peak / 1e-6)
    let release_s = 1e-3 * p.release_ms * (d.max_gain_reduction_db() / 1e-6).ln();
    assert!((last as f64) < (0.01 + 1.1 * release_s) * fs, "{last}");
    // partly over: a 375 Hz "vowel" plus a quieter 6 kHz component; the expected reduction
    // follows from the band-pass response and the power sums
    let p = DeEsserParams {
        freq_hz: 6000.0,
        threshold_db: -12.0,
        max_reduction_db: 20.0,
        ..Default::default()
    };
    for &rel_db in &[-9.0, -6.0, -3.0] {
        let (a, b) = (0.3, 0.3 * 10f64.powf(rel_db / 20.0));
        let mut x = sine(375.0, a, fs, n);
        for (v, s) in x.iter_mut().zip(sine(6000.0, b, fs, n)) {
            *v += s;
        }
        let bp = FilterKind::BandPass {
            freq_hz: 6000.0,
            q: BAND_Q,
        };
        let leak = 10f64.powf(bp.response_db(375.0, fs) / 10.0);
        let band = 0.5 * b * b + 0.5 * a * a * leak;
        let full = 0.5 * (a * a + b * b);
        let want = p.static_reduction_db(10.0 * band.log10(), 10.0 * full.log10());
        let y = deess(&p, fs, &x);
        let gr = -db(tone_amp(&y, 6000.0, fs, at, 128) / b);
        let low = db(tone_amp(&y, 375.0, fs, at, 128) / a);
        eprintln!(
            "de-esser 6 kHz at {rel_db} dB re a 375 Hz tone: reduced by {gr:.3} dB \
             (expected {want:.3}); 375 Hz changed by {low:+.3} dB"
        );
        assert!((gr - want).abs() < 0.5, "{rel_db}: {gr} vs {want}");
        assert!(low.abs() < 0.2);
    }
}

#[test]
fn deesser_attack_and_release_times() {
    let fs = 48_000.0;
    for &(attack, release) in &[(1.0, 60.0), (5.0, 150.0), (2.0, 25.0)] {
        let p = DeEsserParams {
            freq_hz: 6000.0,
            threshold_db: -12.0,
            max_reduction_db: 10.0,
            attack_ms: attack,
            release_ms: release,
        };
        // attack: a running 6 kHz tone steps from -80 dBFS (under the absolute floor) to 0.3
        // (far over the threshold). Gain in dB from the one-period (8-sample) amplitude
        // centred on each sample; 63 % of the final reduction after τ.
        let start = 4800;
        let n = start + (0.4 * fs) as usize;
        let mut x = sine(6000.0, 1.0, fs, n);
        for (i, v) in x.iter_mut().enumerate() {
            *v *= if i < start { 1e-4 } else { 0.3 };
        }
        let y = deess(&p, fs, &x);
        let gr_at = |i: usize| -db(tone_amp(&y, 6000.0, fs, i, 8) / 0.3);
        let final_gr = gr_at(n - 100);
        let t63 = (start + 4..n)
            .find(|&i| gr_at(i) >= 0.632 * final_gr)
            .unwrap();
        let tau_a = (t63 - start) as f64 / fs * 1e3;
        // release: the 6 kHz tone goes on, a loud 375 Hz tone enters: the band falls far
        // below the relative threshold
        let step = (0.3 * fs) as usize;
        let n = step + (8.0 * release * 1e-3 * fs) as usize;
        let mut x = sine(6000.0, 0.03, fs, n);
        for (i, v) in x.iter_mut().enumerate().skip(step) {
            *v += (0.9 * (2.0 * PI * 375.0 * i as f64 / fs).sin()) as f32;
        }
        let y = deess(&p, fs, &x);
        let gr_at = |i: usize| -db(tone_amp(&y, 6000.0, fs, i, 128) / 0.03);
        let before = gr_at(step - 100);
        let t37 = (step + 64..n - 64)
            .find(|&i| gr_at(i) <= 0.368 * before)
            .unwrap();
        let tau_r = (t37 - step) as f64 / fs * 1e3;
        eprintln!(
            "de-esser attack {attack} ms: measured {tau_a:.3} ms (final {final_gr:.2} dB); \
             release {release} ms: measured {tau_r:.2} ms (from {before:.2} dB)"
        );
        assert!((final_gr - 10.0).abs() < 0.5);
        // within 15 %, or 0.2 ms for very short attacks: the band-pass needs 2Q/ω0 (74 µs at
        // 6 kHz) to build up, in the band signal the gain acts on and in its detector
        let tol = (0.15 * attack).max(0.2);
        assert!((tau_a - attack).abs() < tol, "attack {tau_a} vs {attack}");
        assert!(
            (tau_r / release - 1.0).abs() < 0.15,
            "release {tau_r} vs {release}"
        );
    }
}

#[test]
fn deesser_is_bit_transparent_below_threshold() {
    let fs = 44_100.0;
    let n = (3.0 * fs) as usize;
    // a "voice" without sibilance: a 150 Hz sawtooth-ish stack of harmonics up to 3 kHz and
    // some low-passed noise; plus quiet hiss below the absolute floor
    let mut x = vec![0.0f32; n];
    for h in 1..=20 {
        for (v, s) in x
            .iter_mut()
            .zip(sine(150.0 * h as f64, 0.3 / h as f64, fs, n))
        {
            *v += s;
        }
    }
    let mut lp = FilterChain::new(&Butterworth::lowpass(2000.0, 4).sections(), fs, 1);
    let mut nz = noise(n, 5, 0.1);
    lp.process(&mut [&mut nz]);
    for (v, (a, b)) in x.iter_mut().zip(nz.iter().zip(noise(n, 6, 1e-4))) {
        *v += a + b;
    }
    fade_in(&mut x, (0.02 * fs) as usize);
    let p = DeEsserParams::default();
    let mut stereo = [x.clone(), x.clone()];
    let mut d = DeEsser::new(p.clone(), fs, 2);
    {
        let [a, b] = &mut stereo;
        for (c, e) in a.chunks_mut(BLOCK).zip(b.chunks_mut(BLOCK)) {
            d.process(&mut [c, e]);
        }
    }
    assert_eq!(d.max_gain_reduction_db(), 0.0);
    assert_identical(&stereo[0], &x, "voice, left");
    assert_identical(&stereo[1], &x, "voice, right");
    // the same voice with an "s" (band noise burst) is reduced, only during the burst + release
    let mut s = x.clone();
    let mut bp = FilterChain::new(
        &[FilterKind::BandPass {
            freq_hz: 7000.0,
            q: 1.0,
        }],
        fs,
        1,
    );
    let mut burst = noise((0.15 * fs) as usize, 7, 0.8);
    bp.process(&mut [&mut burst]);
    let at = (1.0 * fs) as usize;
    for (v, b) in s[at..].iter_mut().zip(&burst) {
        *v += b;
    }
    let y = deess(&p, fs, &s);
    let mut d = DeEsser::new(p, fs, 1);
    let mut probe = s.clone();
    d.process(&mut [&mut probe]);
    assert!(d.max_gain_reduction_db() > 3.0);
    assert_identical(&y[..at], &s[..at], "voice before the s");
    let release_end = at + burst.len() + (1.0 * fs) as usize;
    assert_identical(&y[release_end..], &s[release_end..], "voice after the s");
    assert!(energy(&y[at..at + burst.len()]) < energy(&s[at..at + burst.len()]));
}

#[test]
fn deesser_is_deterministic_does_not_allocate_and_has_serde_params() {
    let fs = 48_000.0;
    let x = noise(40_000, 3, 0.5);
    let p = DeEsserParams::default();
    let mut a = DeEsser::new(p.clone(), fs, 1);
    let mut ya = x.clone();
    a.process(&mut [&mut ya]);
    let yb = deess(&p, fs, &x);
    assert_eq!(ya, yb);
    let mut buf = x[..BLOCK].to_vec();
    let before = allocations();
    for _ in 0..50 {
        a.process(&mut [&mut buf]);
    }
    assert_eq!(allocations(), before);
    let t = toml::to_string(&p).unwrap();
    assert_eq!(toml::from_str::<DeEsserParams>(&t).unwrap(), p);
    assert!(toml::from_str::<DeEsserParams>("ratio = 4.0").is_err());
    let q: DeEsserParams = toml::from_str("freq_hz = 5500.0").unwrap();
    assert_eq!(q.threshold_db, p.threshold_db);
}
