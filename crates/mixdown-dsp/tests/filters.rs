//! Acceptance tests for `biquad` and `crossover`.
//!
//! Method: every filter is fed a unit impulse; the impulse response (IR) is either transformed
//! with a real FFT (whole-spectrum comparisons) or evaluated as a DTFT at exact frequencies
//! (spec points that do not fall on FFT bins). The IR is made long enough to have decayed below
//! 1e-9 of its start (at least 65536 samples), so truncation does not bias the spectrum.
//!
//! Reference: `FilterKind::response_db` / `Butterworth::response_db` evaluate the analog
//! prototype at the bilinear-warped frequency; they do not use the digital coefficients, so a
//! mistake in either the coefficient formulas or the prototype makes the comparison fail.
//!
//! Checked range: every FFT bin from 10 Hz to 0.49·fs where the reference is above −40 dB.
//! Below 10 Hz is outside any audio use; above 0.49·fs is the guard band next to Nyquist
//! where frequency parameters are clamped; below −40 dB the exact dB value of a stop band
//! does not matter for mixing (and relative error grows where |H| → 0, e.g. a notch centre).

mod common;
use common::allocations;
use std::f64::consts::PI;

use mixdown_dsp::biquad::{Biquad, Butterworth, Coeffs, FilterChain, FilterKind, BUTTERWORTH_Q};
use mixdown_dsp::crossover::Lr4Crossover;
use mixdown_dsp::rng::Rng;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

const ALL_RATES: [f64; 5] = [8_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0];
const MIN_IR: usize = 1 << 16;
const MAX_IR: usize = 1 << 21;

// ---------------------------------------------------------------------------------------------
// helpers

/// Largest pole radius of one section.
fn pole_radius(c: &Coeffs) -> f64 {
    // Poles: roots of z² + a1 z + a2.
    let disc = c.a1 * c.a1 - 4.0 * c.a2;
    if disc < 0.0 {
        c.a2.sqrt()
    } else {
        let r = disc.sqrt();
        ((-c.a1 + r) / 2.0).abs().max(((-c.a1 - r) / 2.0).abs())
    }
}

/// IR length so that the slowest pole has decayed to 1e-9 (power of two, for the FFT).
fn ir_len(coeffs: &[Coeffs]) -> usize {
    let r = coeffs.iter().map(pole_radius).fold(0.0, f64::max);
    assert!(r < 1.0, "unstable or marginal filter: pole radius {r}");
    let needed = if r <= 0.0 {
        1.0
    } else {
        (1e-9f64).ln() / r.ln()
    };
    // A cascade of n equal poles decays like n^k r^n: allow a margin.
    let n = (needed * 1.5) as usize + 1;
    n.next_power_of_two().clamp(MIN_IR, MAX_IR)
}

fn impulse_response(mut f: impl FnMut(f32) -> f32, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| f64::from(f(if i == 0 { 1.0 } else { 0.0 })))
        .collect()
}

fn spectrum(ir: &[f64]) -> Vec<Complex<f64>> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(ir.len());
    let mut input = ir.to_vec();
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).unwrap();
    out
}

/// DTFT of the IR at an exact frequency. A rotating phasor, re-synchronised with an exact
/// `sin_cos` every 1024 samples so rounding cannot accumulate.
fn dtft(ir: &[f64], freq_hz: f64, fs: f64) -> Complex<f64> {
    let w = 2.0 * PI * freq_hz / fs;
    let step = Complex::new(w.cos(), -w.sin());
    let mut acc = Complex::new(0.0, 0.0);
    for (block, chunk) in ir.chunks(1024).enumerate() {
        let (s, c) = (w * (block * 1024) as f64).sin_cos();
        let mut rot = Complex::new(c, -s);
        for &h in chunk {
            acc += rot * h;
            rot *= step;
        }
    }
    acc
}

fn db(c: Complex<f64>) -> f64 {
    20.0 * c.norm().max(1e-15).log10()
}

fn wrap(p: f64) -> f64 {
    (p + PI).rem_euclid(2.0 * PI) - PI
}

/// What a test case designs.
#[derive(Clone, Debug)]
enum Design {
    One(FilterKind),
    Butter(Butterworth),
}

impl Design {
    fn reference_db(&self, f: f64, fs: f64) -> f64 {
        match self {
            Design::One(k) => k.response_db(f, fs),
            Design::Butter(b) => b.response_db(f, fs),
        }
    }

    fn coeffs(&self, fs: f64) -> Vec<Coeffs> {
        match self {
            Design::One(k) => vec![Coeffs::design(k, fs)],
            Design::Butter(b) => b.sections().iter().map(|k| Coeffs::design(k, fs)).collect(),
        }
    }

    /// Measured IR: single sections through `Biquad::process`, cascades through `FilterChain`.
    fn ir(&self, fs: f64) -> Vec<f64> {
        let n = ir_len(&self.coeffs(fs));
        match self {
            Design::One(k) => {
                let mut bq = Biquad::new(Coeffs::design(k, fs));
                impulse_response(|x| bq.process(x), n)
            }
            Design::Butter(b) => {
                let mut chain = FilterChain::new(&b.sections(), fs, 1);
                let mut buf = vec![0.0f32; n];
                buf[0] = 1.0;
                chain.process(&mut [&mut buf[..]]);
                buf.iter().map(|&x| f64::from(x)).collect()
            }
        }
    }
}

fn peaking(freq_hz: f64, gain_db: f64, q: f64) -> FilterKind {
    FilterKind::Peaking {
        freq_hz,
        gain_db,
        q,
    }
}

fn peaking_designs() -> Vec<Design> {
    [
        (1000.0, 6.0, 0.5),
        (1000.0, 6.0, 1.0),
        (1000.0, 6.0, 4.0),
        (3000.0, 12.0, 10.0),
        (1000.0, -6.0, 0.7),
        (250.0, -6.0, 2.0),
        (2000.0, -12.0, 8.0),
        (50.0, -9.0, 2.0),
    ]
    .iter()
    .map(|&(f, g, q)| Design::One(peaking(f, g, q)))
    .collect()
}

fn shelf_designs() -> Vec<Design> {
    let mut v = Vec::new();
    for &(f, g, s) in &[(200.0, 6.0, 1.0), (120.0, -8.0, 0.5), (40.0, 3.0, 0.8)] {
        v.push(Design::One(FilterKind::LowShelf {
            freq_hz: f,
            gain_db: g,
            slope: s,
        }));
    }
    for &(f, g, s) in &[(3000.0, 4.0, 1.0), (2500.0, -6.0, 0.6)] {
        v.push(Design::One(FilterKind::HighShelf {
            freq_hz: f,
            gain_db: g,
            slope: s,
        }));
    }
    v
}

fn pass_designs() -> Vec<Design> {
    use FilterKind::*;
    let mut v = Vec::new();
    for &(f, q) in &[(20.0, BUTTERWORTH_Q), (80.0, BUTTERWORTH_Q), (200.0, 2.0)] {
        v.push(Design::One(HighPass { freq_hz: f, q }));
    }
    // 12 kHz is above Nyquist at 8 kHz: there it is a pass-through, which is checked too.
    for &(f, q) in &[
        (3000.0, BUTTERWORTH_Q),
        (1000.0, 0.5),
        (12000.0, BUTTERWORTH_Q),
    ] {
        v.push(Design::One(LowPass { freq_hz: f, q }));
    }
    v.push(Design::One(HighPass1 { freq_hz: 30.0 }));
    v.push(Design::One(LowPass1 { freq_hz: 2000.0 }));
    v
}

fn band_designs() -> Vec<Design> {
    use FilterKind::*;
    vec![
        Design::One(BandPass {
            freq_hz: 1000.0,
            q: 2.0,
        }),
        Design::One(BandPass {
            freq_hz: 300.0,
            q: 0.7,
        }),
        Design::One(Notch {
            freq_hz: 1000.0,
            q: 4.0,
        }),
        // Hum removal: a narrow notch at 60 Hz.
        Design::One(Notch {
            freq_hz: 60.0,
            q: 30.0,
        }),
    ]
}

fn butterworth_designs() -> Vec<Design> {
    let mut v = Vec::new();
    for order in [2, 3, 4] {
        v.push(Design::Butter(Butterworth::highpass(40.0, order)));
        v.push(Design::Butter(Butterworth::lowpass(3000.0, order)));
    }
    v
}

fn all_designs() -> Vec<Design> {
    [
        peaking_designs(),
        shelf_designs(),
        pass_designs(),
        band_designs(),
        butterworth_designs(),
    ]
    .concat()
}

// ---------------------------------------------------------------------------------------------
// measured response == analytic response

/// Measured (impulse response → FFT) magnitude within 0.1 dB of the analytic response, and
/// coefficient response (magnitude and phase) equal to both, for every design at every rate.
fn check_measured_against_analytic(family: &str, designs: Vec<Design>) {
    let mut worst_mag = 0.0f64;
    let mut worst_phase = 0.0f64;
    let mut worst_realised = 0.0f64;
    let mut checked_bins = 0usize;
    for design in designs {
        for fs in ALL_RATES {
            let ir = design.ir(fs);
            let n = ir.len();
            let spec = spectrum(&ir);
            let coeffs = design.coeffs(fs);
            let mut case_bins = 0;
            for (k, x) in spec.iter().enumerate() {
                let f = k as f64 * fs / n as f64;
                if !(10.0..=0.49 * fs).contains(&f) {
                    continue;
                }
                let reference = design.reference_db(f, fs);
                if reference < -40.0 {
                    continue;
                }
                case_bins += 1;
                let measured = db(*x);
                let err = (measured - reference).abs();
                worst_mag = worst_mag.max(err);
                assert!(
                    err < 0.1,
                    "{design:?} at fs {fs}: {f} Hz measured {measured} dB, analytic {reference} dB"
                );
                // The coefficient response (used by reports) must agree with both.
                let (realised_db, realised_phase): (f64, f64) = coeffs
                    .iter()
                    .map(|c| c.response(f, fs))
                    .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                let e = (realised_db - reference).abs();
                worst_realised = worst_realised.max(e);
                assert!(
                    e < 1e-6,
                    "{design:?} fs {fs} {f} Hz realised {realised_db} vs {reference}"
                );
                let pe = wrap(x.arg() - realised_phase).abs();
                worst_phase = worst_phase.max(pe);
                assert!(pe < 1e-3, "{design:?} fs {fs} {f} Hz phase error {pe} rad");
            }
            // The range must not be empty (e.g. a filter silently turned into nothing).
            assert!(
                case_bins > 100,
                "{design:?} at {fs}: only {case_bins} bins checked"
            );
            checked_bins += case_bins;
        }
    }
    println!(
        "{family}: checked {checked_bins} bins; worst |measured - analytic| = {worst_mag:.2e} dB, \
         worst |coeff response - analytic| = {worst_realised:.2e} dB, worst phase error = \
         {worst_phase:.2e} rad"
    );
}

#[test]
fn measured_response_matches_analytic_peaking() {
    check_measured_against_analytic("peaking", peaking_designs());
}

#[test]
fn measured_response_matches_analytic_shelves() {
    check_measured_against_analytic("shelves", shelf_designs());
}

#[test]
fn measured_response_matches_analytic_high_and_low_pass() {
    check_measured_against_analytic("high/low-pass", pass_designs());
}

#[test]
fn measured_response_matches_analytic_band_pass_and_notch() {
    check_measured_against_analytic("band-pass/notch", band_designs());
}

#[test]
fn measured_response_matches_analytic_butterworth() {
    check_measured_against_analytic("butterworth", butterworth_designs());
}

/// A deliberately wrong reference must be detected by the comparison above (guards against a
/// comparison that can never fail, e.g. by skipping every bin).
#[test]
fn comparison_detects_a_wrong_design() {
    let fs = 48_000.0;
    let design = Design::One(peaking(1000.0, 6.0, 1.0));
    let wrong = peaking(1000.0, 6.0, 1.1);
    let ir = design.ir(fs);
    let spec = spectrum(&ir);
    let n = ir.len();
    let worst = spec
        .iter()
        .enumerate()
        .map(|(k, x)| {
            let f = k as f64 * fs / n as f64;
            (db(*x) - wrong.response_db(f, fs)).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst > 0.1, "Q 1.0 vs 1.1 only differs by {worst} dB");
}

// ---------------------------------------------------------------------------------------------
// the designs meet their specification

/// Frequencies where `resp(f) == target` on either side of `f0`, by bisection in log frequency.
fn crossings(resp: impl Fn(f64) -> f64, f0: f64, target: f64, fs: f64) -> (f64, f64) {
    let bisect = |mut lo: f64, mut hi: f64| {
        let s_lo = (resp(lo) - target).signum();
        for _ in 0..200 {
            let mid = (lo * hi).sqrt();
            if (resp(mid) - target).signum() == s_lo {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo * hi).sqrt()
    };
    (bisect(1e-3, f0), bisect(f0, 0.5 * fs * (1.0 - 1e-12)))
}

/// Warped normalised frequency Ω of the bilinear transform.
fn warped(f: f64, f0: f64, fs: f64) -> f64 {
    (PI * f / fs).tan() / (PI * f0 / fs).tan()
}

#[test]
fn peaking_has_its_gain_at_the_centre_and_its_q_at_the_half_gain_points() {
    let mut worst_gain = 0.0f64;
    let mut worst_q = 0.0f64;
    let mut worst_edge = 0.0f64;
    for fs in ALL_RATES {
        for &(f0, g, q) in &[
            (1000.0, 6.0, 0.5),
            (1000.0, 6.0, 1.0),
            (1000.0, 9.0, 4.0),
            (2000.0, -12.0, 8.0),
            (100.0, -4.0, 0.7),
            (60.0, 3.0, 2.0),
        ] {
            let kind = peaking(f0, g, q);
            let c = Coeffs::design(&kind, fs);
            let ir = Design::One(kind.clone()).ir(fs);
            // Gain at the centre: analytic, realised and measured.
            let measured = db(dtft(&ir, f0, fs));
            for v in [kind.response_db(f0, fs), c.response(f0, fs).0, measured] {
                worst_gain = worst_gain.max((v - g).abs());
                assert!((v - g).abs() < 1e-3, "{kind:?} fs {fs}: {v} dB at centre");
            }
            // The centre is the extremum.
            for f in [f0 * 0.99, f0 * 1.01] {
                assert!(g.signum() * (g - c.response(f, fs).0) > 0.0);
            }
            // Half-gain points satisfy Ω2 − Ω1 = 1/Q and Ω1·Ω2 = 1.
            let (f1, f2) = crossings(|f| c.response(f, fs).0, f0, g / 2.0, fs);
            let (w1, w2) = (warped(f1, f0, fs), warped(f2, f0, fs));
            let q_measured = 1.0 / (w2 - w1);
            worst_q = worst_q.max((q_measured / q - 1.0).abs());
            assert!(
                (q_measured / q - 1.0).abs() < 1e-6,
                "{kind:?} fs {fs}: Q {q_measured}"
            );
            assert!(
                (w1 * w2 - 1.0).abs() < 1e-6,
                "{kind:?} fs {fs}: Ω1Ω2 = {}",
                w1 * w2
            );
            // The edges found on the coefficients are real: the measured IR agrees there.
            for f in [f1, f2] {
                let e = (db(dtft(&ir, f, fs)) - g / 2.0).abs();
                worst_edge = worst_edge.max(e);
                assert!(e < 1e-3, "{kind:?} fs {fs}: {e} dB off at the edge {f}");
            }
            // Far below Nyquist the bandwidth is the textbook 2·asinh(1/(2Q))/ln 2 octaves.
            if fs == 192_000.0 && f0 <= 1000.0 {
                let bw = (f2 / f1).log2();
                let expected = 2.0 * (1.0 / (2.0 * q)).asinh() / std::f64::consts::LN_2;
                assert!(
                    (bw / expected - 1.0).abs() < 0.01,
                    "BW {bw} vs {expected} oct"
                );
            }
        }
    }
    println!(
        "peaking: worst centre gain error {worst_gain:.2e} dB, worst relative Q error \
         {worst_q:.2e}, worst measured half-gain error {worst_edge:.2e} dB"
    );
}

#[test]
fn shelves_are_at_half_gain_at_the_corner_and_reach_full_gain() {
    let mut worst = 0.0f64;
    for fs in ALL_RATES {
        for &(f0, g, slope) in &[(200.0, 6.0, 1.0), (120.0, -8.0, 0.5), (1500.0, 12.0, 0.3)] {
            for low in [true, false] {
                let kind = if low {
                    FilterKind::LowShelf {
                        freq_hz: f0,
                        gain_db: g,
                        slope,
                    }
                } else {
                    FilterKind::HighShelf {
                        freq_hz: f0,
                        gain_db: g,
                        slope,
                    }
                };
                let ir = Design::One(kind.clone()).ir(fs);
                let at_corner = db(dtft(&ir, f0, fs));
                let at_dc = db(dtft(&ir, 0.0, fs));
                let at_nyquist = db(dtft(&ir, 0.5 * fs, fs));
                let (dc_target, ny_target) = if low { (g, 0.0) } else { (0.0, g) };
                for (v, t) in [
                    (at_corner, g / 2.0),
                    (kind.response_db(f0, fs), g / 2.0),
                    (at_dc, dc_target),
                    (at_nyquist, ny_target),
                ] {
                    worst = worst.max((v - t).abs());
                    assert!((v - t).abs() < 1e-3, "{kind:?} fs {fs}: {v} dB, want {t}");
                }
            }
        }
    }
    println!("shelves: worst error at corner/DC/Nyquist {worst:.2e} dB");
}

#[test]
fn shelf_slope_is_proportional_to_s_and_s_1_is_the_steepest_monotonic_shelf() {
    let fs = 192_000.0;
    let f0 = 300.0;
    let shelf = |g: f64, slope: f64| FilterKind::LowShelf {
        freq_hz: f0,
        gain_db: g,
        slope,
    };
    // dB per octave at the corner, on the realised coefficients.
    let slope_at_corner = |k: &FilterKind| {
        let c = Coeffs::design(k, fs);
        let h = 1e-4;
        (c.response(f0 * 2f64.powf(h), fs).0 - c.response(f0 * 2f64.powf(-h), fs).0) / (2.0 * h)
    };
    for g in [6.0, -12.0] {
        let full = slope_at_corner(&shelf(g, 1.0));
        for s in [0.25, 0.5, 0.75] {
            let ratio = slope_at_corner(&shelf(g, s)) / full;
            assert!(
                (ratio - s).abs() < 2e-3,
                "gain {g} S {s}: slope ratio {ratio}"
            );
        }
        // S = 1: monotonic and never outside [0, gain]; S = 1.5 overshoots both ends.
        // 10 Hz up to (not beyond) Nyquist.
        let grid: Vec<f64> = (0..400)
            .map(|i| 10.0 * 2f64.powf(i as f64 * 0.035))
            .filter(|&f| f < 0.5 * fs)
            .collect();
        let shape = |k: &FilterKind| {
            let c = Coeffs::design(k, fs);
            let r: Vec<f64> = grid.iter().map(|&f| c.response(f, fs).0).collect();
            // Largest step against the shelf direction, and largest excursion outside [0, g].
            let backwards = r
                .windows(2)
                .map(|w| (w[1] - w[0]) * g.signum())
                .fold(f64::MIN, f64::max);
            let (lo, hi) = (g.min(0.0), g.max(0.0));
            let outside = r
                .iter()
                .map(|&v| (lo - v).max(v - hi))
                .fold(f64::MIN, f64::max);
            (backwards, outside)
        };
        let (backwards, outside) = shape(&shelf(g, 1.0));
        assert!(
            backwards < 1e-9 && outside < 1e-9,
            "S = 1: {backwards} {outside}"
        );
        let (backwards, outside) = shape(&shelf(g, 1.5));
        assert!(
            backwards > 1e-4 && outside > 0.1,
            "S = 1.5: {backwards} {outside}"
        );
    }
}

#[test]
fn pass_filters_have_the_designed_gain_at_the_corner_and_the_right_slope() {
    let mut worst = 0.0f64;
    for fs in ALL_RATES {
        // Second-order sections: |H(f0)| = Q.
        for q in [0.5, BUTTERWORTH_Q, 1.0, 3.0] {
            for kind in [
                FilterKind::HighPass { freq_hz: 150.0, q },
                FilterKind::LowPass { freq_hz: 1500.0, q },
            ] {
                let f0 = match kind {
                    FilterKind::HighPass { freq_hz, .. } | FilterKind::LowPass { freq_hz, .. } => {
                        freq_hz
                    }
                    _ => unreachable!(),
                };
                let ir = Design::One(kind.clone()).ir(fs);
                let v = db(dtft(&ir, f0, fs));
                let want = 20.0 * q.log10();
                worst = worst.max((v - want).abs());
                assert!(
                    (v - want).abs() < 1e-3,
                    "{kind:?} fs {fs}: {v} dB at corner"
                );
            }
        }
        // Butterworth of orders 1..=6: −3.0103 dB at the corner.
        for order in 1..=6 {
            for b in [
                Butterworth::highpass(60.0, order),
                Butterworth::lowpass(2500.0, order),
            ] {
                let ir = Design::Butter(b.clone()).ir(fs);
                let v = db(dtft(&ir, b.freq_hz, fs));
                let want = -10.0 * 2f64.log10();
                worst = worst.max((v - want).abs());
                assert!((v - want).abs() < 1e-3, "{b:?} fs {fs}: {v} dB at corner");
                assert!((b.response_db(b.freq_hz, fs) - want).abs() < 1e-9);
            }
        }
    }
    // Slope: 6·n dB/octave. High-pass measured one octave apart well below the corner;
    // low-pass well above it at 192 kHz where the frequency warping is negligible. The levels
    // there go down to −144 dB, below the f32 rounding noise of an IR, so these IRs are
    // computed through `Biquad::process_f64`.
    let fs = 192_000.0;
    let ir_f64 = |b: &Butterworth| {
        let mut sections: Vec<Biquad> = b
            .sections()
            .iter()
            .map(|k| Biquad::new(Coeffs::design(k, fs)))
            .collect();
        (0..MIN_IR)
            .map(|i| {
                let mut v = if i == 0 { 1.0 } else { 0.0 };
                for s in sections.iter_mut() {
                    v = s.process_f64(v);
                }
                v
            })
            .collect::<Vec<f64>>()
    };
    let mut worst_slope = 0.0f64;
    for order in 1..=6u32 {
        let expected = 6.0206 * f64::from(order);
        let hp = Butterworth::highpass(800.0, order);
        let ir = ir_f64(&hp);
        let hp_slope = db(dtft(&ir, 100.0, fs)) - db(dtft(&ir, 50.0, fs));
        let lp = Butterworth::lowpass(200.0, order);
        let ir = ir_f64(&lp);
        let lp_slope = db(dtft(&ir, 1600.0, fs)) - db(dtft(&ir, 3200.0, fs));
        for (b, slope) in [(&hp, hp_slope), (&lp, lp_slope)] {
            worst_slope = worst_slope.max((slope - expected).abs());
            assert!((slope - expected).abs() < 0.1, "{b:?}: {slope} dB/oct");
        }
    }
    // Butterworth sections have the textbook Qs.
    let qs: Vec<f64> = Butterworth::highpass(100.0, 4)
        .sections()
        .iter()
        .map(|k| match k {
            FilterKind::HighPass { q, .. } => *q,
            other => panic!("unexpected section {other:?}"),
        })
        .collect();
    assert_eq!(qs.len(), 2);
    assert!((qs[0] - 0.541_196_1).abs() < 1e-6 && (qs[1] - 1.306_563).abs() < 1e-6);
    println!(
        "pass filters: worst corner gain error {worst:.2e} dB, worst slope error \
         {worst_slope:.3} dB/oct"
    );
}

#[test]
fn band_pass_and_notch_have_their_q_at_the_3db_points() {
    let mut worst = 0.0f64;
    for fs in ALL_RATES {
        for &(f0, q) in &[(1000.0, 2.0), (300.0, 0.7), (60.0, 30.0), (50.0, 10.0)] {
            let bp = FilterKind::BandPass { freq_hz: f0, q };
            let notch = FilterKind::Notch { freq_hz: f0, q };
            let bp_ir = Design::One(bp.clone()).ir(fs);
            let notch_ir = Design::One(notch.clone()).ir(fs);
            let centre_bp = db(dtft(&bp_ir, f0, fs));
            worst = worst.max(centre_bp.abs());
            assert!(
                centre_bp.abs() < 1e-3,
                "{bp:?} fs {fs}: {centre_bp} dB at centre"
            );
            let centre_notch = db(dtft(&notch_ir, f0, fs));
            assert!(
                centre_notch < -80.0,
                "{notch:?} fs {fs}: only {centre_notch} dB"
            );
            let half_power = -10.0 * 2f64.log10();
            for (kind, ir) in [(&bp, &bp_ir), (&notch, &notch_ir)] {
                let c = Coeffs::design(kind, fs);
                let (f1, f2) = crossings(|f| c.response(f, fs).0, f0, half_power, fs);
                let (w1, w2) = (warped(f1, f0, fs), warped(f2, f0, fs));
                let q_measured = 1.0 / (w2 - w1);
                assert!(
                    (q_measured / q - 1.0).abs() < 1e-6,
                    "{kind:?} fs {fs}: Q {q_measured}"
                );
                assert!((w1 * w2 - 1.0).abs() < 1e-6);
                for f in [f1, f2] {
                    let e = (db(dtft(ir, f, fs)) - half_power).abs();
                    worst = worst.max(e);
                    assert!(e < 1e-3, "{kind:?} fs {fs}: {e} dB off at {f} Hz");
                }
            }
        }
    }
    println!("band-pass/notch: worst error {worst:.2e} dB");
}

// ---------------------------------------------------------------------------------------------
// edge cases

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| (0.5 * rng.bipolar()) as f32).collect()
}

#[test]
fn zero_gain_and_meaningless_filters_are_exact_pass_throughs() {
    let fs = 48_000.0;
    let identities = [
        peaking(1000.0, 0.0, 1.0),
        FilterKind::LowShelf {
            freq_hz: 100.0,
            gain_db: 0.0,
            slope: 1.0,
        },
        FilterKind::HighShelf {
            freq_hz: 8000.0,
            gain_db: 0.0,
            slope: 1.0,
        },
        FilterKind::LowPass {
            freq_hz: 24_000.0,
            q: BUTTERWORTH_Q,
        },
        FilterKind::LowPass {
            freq_hz: 30_000.0,
            q: BUTTERWORTH_Q,
        },
        FilterKind::LowPass1 { freq_hz: 23_600.0 },
        FilterKind::HighPass {
            freq_hz: 0.0,
            q: BUTTERWORTH_Q,
        },
        FilterKind::HighPass1 { freq_hz: -5.0 },
        peaking(f64::NAN, 3.0, 1.0),
        peaking(1000.0, f64::INFINITY, 1.0),
        FilterKind::Notch {
            freq_hz: 50.0,
            q: f64::NAN,
        },
    ];
    let input = noise(4096, 1);
    for kind in &identities {
        let c = Coeffs::design(kind, fs);
        assert!(c.is_identity(), "{kind:?} designed as {c:?}");
        assert_eq!(kind.response_db(1234.0, fs), 0.0, "{kind:?}");
        let mut buf = input.clone();
        Biquad::new(c).process_block(&mut buf);
        assert_eq!(buf, input, "{kind:?} is not bit-exact");
    }
    // A chain of pass-throughs is bit-exact too.
    let mut chain = FilterChain::new(&identities, fs, 2);
    let mut bufs = vec![input.clone(), noise(4096, 2)];
    let expected = bufs.clone();
    chain.process_channels(&mut bufs);
    assert_eq!(bufs, expected);
    // A tiny non-zero gain is not an identity (the shortcut is only for exactly 0 dB).
    assert!(!Coeffs::design(&peaking(1000.0, 0.01, 1.0), fs).is_identity());
}

#[test]
fn frequencies_beyond_nyquist_are_clamped_and_stay_stable() {
    let fs = 44_100.0;
    let clamped = 0.49 * fs;
    for (beyond, at_limit) in [
        (peaking(30_000.0, 6.0, 1.0), peaking(clamped, 6.0, 1.0)),
        (
            FilterKind::HighPass {
                freq_hz: 50_000.0,
                q: BUTTERWORTH_Q,
            },
            FilterKind::HighPass {
                freq_hz: clamped,
                q: BUTTERWORTH_Q,
            },
        ),
        (
            FilterKind::HighShelf {
                freq_hz: 22_050.0,
                gain_db: -6.0,
                slope: 1.0,
            },
            FilterKind::HighShelf {
                freq_hz: clamped,
                gain_db: -6.0,
                slope: 1.0,
            },
        ),
    ] {
        let c = Coeffs::design(&beyond, fs);
        assert_eq!(c, Coeffs::design(&at_limit, fs), "{beyond:?}");
        assert!(pole_radius(&c) < 1.0);
        assert_eq!(
            beyond.response_db(1000.0, fs),
            at_limit.response_db(1000.0, fs)
        );
    }
    // Extreme Q and very low frequencies at a high rate still give stable, finite filters.
    for kind in [
        FilterKind::HighPass {
            freq_hz: 1.0,
            q: 0.0,
        },
        FilterKind::Notch {
            freq_hz: 50.0,
            q: 1e9,
        },
        peaking(5.0, 24.0, 100.0),
        FilterKind::LowShelf {
            freq_hz: 20.0,
            gain_db: 18.0,
            slope: 50.0,
        },
    ] {
        let c = Coeffs::design(&kind, 192_000.0);
        assert!(pole_radius(&c) < 1.0, "{kind:?}: {c:?}");
        let mut bq = Biquad::new(c);
        let mut buf = noise(48_000, 3);
        bq.process_block(&mut buf);
        assert!(buf.iter().all(|x| x.is_finite()), "{kind:?}");
    }
}

#[test]
fn silence_flushes_the_state_to_exact_zero() {
    // A 20 Hz high-pass at 192 kHz has a pole radius of about 0.9995: its IR would still be
    // around 1e-40 after one second. The state flush must make it exactly zero.
    let fs = 192_000.0;
    let c = Coeffs::design(
        &FilterKind::HighPass {
            freq_hz: 20.0,
            q: BUTTERWORTH_Q,
        },
        fs,
    );
    let r = pole_radius(&c);
    assert!(
        r.powf(fs) > 1e-300,
        "test premise: decay alone does not reach 0"
    );
    let mut bq = Biquad::new(c);
    bq.process_f64(1.0);
    let mut last = 1.0;
    for _ in 0..fs as usize {
        last = bq.process_f64(0.0);
    }
    assert_eq!(last, 0.0, "state not flushed: {last:e}");
    // And it still works afterwards.
    assert!(bq.process_f64(1.0) > 0.9);
}

#[test]
fn filter_chain_processes_channels_independently_and_sums_responses() {
    let fs = 48_000.0;
    let bands = [
        FilterKind::HighPass {
            freq_hz: 40.0,
            q: BUTTERWORTH_Q,
        },
        peaking(300.0, -3.0, 1.2),
        FilterKind::HighShelf {
            freq_hz: 6000.0,
            gain_db: 2.5,
            slope: 0.8,
        },
    ];
    let a = noise(10_000, 10);
    let b = noise(10_000, 11);
    let mut chain = FilterChain::new(&bands, fs, 2);
    let mut planar = vec![a.clone(), b.clone()];
    chain.process_channels(&mut planar);
    for (input, output) in [(&a, &planar[0]), (&b, &planar[1])] {
        // Reference: the sections one after another, each on its own, in f64.
        let mut sections: Vec<Biquad> = bands
            .iter()
            .map(|k| Biquad::new(Coeffs::design(k, fs)))
            .collect();
        for (x, y) in input.iter().zip(output) {
            let mut v = f64::from(*x);
            for s in sections.iter_mut() {
                v = s.process_f64(v);
            }
            assert_eq!(v as f32, *y);
        }
    }
    // process() on slices gives the same as process_channels() on vectors.
    let mut chain2 = FilterChain::new(&bands, fs, 2);
    let (mut l, mut r) = (a.clone(), b.clone());
    chain2.process(&mut [&mut l[..], &mut r[..]]);
    assert_eq!(l, planar[0]);
    assert_eq!(r, planar[1]);
    // Chain response is the sum of the band responses.
    for f in [20.0, 100.0, 300.0, 1000.0, 6000.0, 15_000.0] {
        let sum: f64 = bands.iter().map(|k| k.response_db(f, fs)).sum();
        assert!((chain.response_db(f) - sum).abs() < 1e-6, "{f} Hz");
    }
    // set_band changes the response; reset makes processing repeatable.
    chain.set_band(1, peaking(300.0, 6.0, 1.2));
    assert!((chain.response_db(300.0) - chain.kinds()[1].response_db(300.0, fs)).abs() < 0.1);
    chain.reset();
    let mut once = vec![a.clone(), b.clone()];
    chain.process_channels(&mut once);
    chain.reset();
    let mut twice = vec![a.clone(), b.clone()];
    chain.process_channels(&mut twice);
    assert_eq!(once, twice);
}

#[test]
fn filter_parameters_round_trip_through_toml_and_json() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct EqSettings {
        bands: Vec<FilterKind>,
        hpf: Butterworth,
    }
    let eq = EqSettings {
        bands: all_designs()
            .into_iter()
            .filter_map(|d| match d {
                Design::One(k) => Some(k),
                Design::Butter(_) => None,
            })
            .collect(),
        hpf: Butterworth::highpass(35.0, 4),
    };
    let toml_text = toml::to_string(&eq).unwrap();
    assert!(toml_text.contains("type = \"peaking\""), "{toml_text}");
    assert!(toml_text.contains("pass = \"high_pass\""), "{toml_text}");
    assert_eq!(toml::from_str::<EqSettings>(&toml_text).unwrap(), eq);
    let json = serde_json::to_string(&eq).unwrap();
    assert_eq!(serde_json::from_str::<EqSettings>(&json).unwrap(), eq);
    // A field of another kind (a typo or a copy-paste) is an error, not silently ignored.
    let stray = "type = \"high_pass\"\nfreq_hz = 80.0\nq = 0.7\ngain_db = 3.0";
    assert!(toml::from_str::<FilterKind>(stray).is_err());
    let ok = "type = \"high_pass\"\nfreq_hz = 80.0\nq = 0.7";
    assert_eq!(
        toml::from_str::<FilterKind>(ok).unwrap(),
        FilterKind::HighPass {
            freq_hz: 80.0,
            q: 0.7
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Linkwitz-Riley crossover

fn crossover_irs(fc: f64, fs: f64) -> (Vec<f64>, Vec<f64>) {
    let mut x = Lr4Crossover::new(fc, fs);
    let n = MIN_IR.max(ir_len(&[Coeffs::design(
        &FilterKind::HighPass {
            freq_hz: fc,
            q: BUTTERWORTH_Q,
        },
        fs,
    )]));
    let mut low = Vec::with_capacity(n);
    let mut high = Vec::with_capacity(n);
    for i in 0..n {
        let (l, h) = x.process(if i == 0 { 1.0 } else { 0.0 });
        low.push(f64::from(l));
        high.push(f64::from(h));
    }
    (low, high)
}

#[test]
fn lr4_bands_are_minus_6db_at_the_crossover_and_in_phase() {
    let mut worst = 0.0f64;
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for fc in [80.0, 250.0, 1000.0, 4000.0] {
            let (low, high) = crossover_irs(fc, fs);
            let want = -20.0 * 2f64.log10();
            for ir in [&low, &high] {
                let v = db(dtft(ir, fc, fs));
                worst = worst.max((v - want).abs());
                assert!((v - want).abs() < 1e-3, "fc {fc} fs {fs}: {v} dB");
            }
            // Low and high are in phase wherever both are audible.
            let (ls, hs) = (spectrum(&low), spectrum(&high));
            let n = low.len();
            for k in 1..n / 2 {
                let f = k as f64 * fs / n as f64;
                if f < 10.0 || db(ls[k]) < -60.0 || db(hs[k]) < -60.0 {
                    continue;
                }
                let dp = wrap(ls[k].arg() - hs[k].arg()).abs();
                assert!(
                    dp < 1e-3,
                    "fc {fc} fs {fs}: phase difference {dp} at {f} Hz"
                );
            }
        }
    }
    println!("LR4: worst error at the crossover {worst:.2e} dB (target -6.0206 dB)");
}

#[test]
fn lr4_sum_is_flat_from_20hz_to_20khz() {
    let mut worst = 0.0f64;
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for fc in [80.0, 250.0, 1000.0, 4000.0] {
            let (low, high) = crossover_irs(fc, fs);
            let sum: Vec<f64> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
            let spec = spectrum(&sum);
            let n = sum.len();
            let mut checked = 0;
            for (k, x) in spec.iter().enumerate() {
                let f = k as f64 * fs / n as f64;
                if !(20.0..=20_000.0).contains(&f) {
                    continue;
                }
                checked += 1;
                let e = db(*x).abs();
                worst = worst.max(e);
                assert!(e < 0.01, "fc {fc} fs {fs}: sum {e} dB off flat at {f} Hz");
            }
            assert!(checked > 1000);
            // It is the expected 2nd-order all-pass: phase −π at the crossover frequency.
            let p = dtft(&sum, fc, fs).arg();
            assert!(PI - p.abs() < 1e-3, "fc {fc} fs {fs}: phase {p} at fc");
        }
    }
    println!("LR4: worst deviation of low+high from 0 dB, 20 Hz-20 kHz: {worst:.2e} dB");
}

#[test]
fn lr4_slopes_are_24db_per_octave() {
    let fs = 192_000.0;
    let fc = 400.0;
    let (low, high) = crossover_irs(fc, fs);
    // Two octaves beyond the corner the asymptote is reached to within 0.1 dB/octave.
    let low_slope = db(dtft(&low, 4.0 * fc, fs)) - db(dtft(&low, 8.0 * fc, fs));
    let high_slope = db(dtft(&high, fc / 4.0, fs)) - db(dtft(&high, fc / 8.0, fs));
    for s in [low_slope, high_slope] {
        assert!((s - 24.08).abs() < 0.1, "slope {s} dB/oct");
    }
    println!("LR4 slopes: low {low_slope:.3} dB/oct, high {high_slope:.3} dB/oct");
}

#[test]
fn processing_does_not_allocate() {
    let fs = 48_000.0;
    let bands = Butterworth::highpass(30.0, 4).sections();
    let mut chain = FilterChain::new(&bands, fs, 2);
    let mut bq = Biquad::new(Coeffs::design(&peaking(1000.0, 3.0, 1.0), fs));
    let mut xo = Lr4Crossover::new(500.0, fs);
    let mut l = noise(4096, 1);
    let mut r = noise(4096, 2);
    let mut vecs = vec![l.clone(), r.clone()];
    let (mut lo, mut hi) = (vec![0.0f32; 4096], vec![0.0f32; 4096]);
    let before = allocations();
    chain.process(&mut [&mut l[..], &mut r[..]]);
    chain.process_channels(&mut vecs);
    bq.process_block(&mut l);
    xo.process_block(&r, &mut lo, &mut hi);
    let _ = chain.response_db(100.0);
    assert_eq!(allocations(), before, "filter processing allocated");
    assert!(hi.iter().any(|&x| x != 0.0));
}

#[test]
fn a_stereo_chain_gives_each_channel_the_bits_of_a_mono_chain() {
    // 16 sections (the most the paired path takes), blocks of odd sizes, states
    // carried across blocks and past the flush interval
    let kinds: Vec<FilterKind> = (0..16)
        .map(|i| match i % 3 {
            0 => peaking(
                60.0 * 1.6f64.powi(i),
                if i % 2 == 0 { 4.0 } else { -6.0 },
                1.2,
            ),
            1 => FilterKind::HighShelf {
                freq_hz: 3000.0 + 100.0 * i as f64,
                gain_db: -2.0,
                slope: 1.0,
            },
            _ => FilterKind::HighPass {
                freq_hz: 20.0 + i as f64,
                q: BUTTERWORTH_Q,
            },
        })
        .collect();
    let fs = 44_100.0;
    let mut rng = Rng::new(9);
    let n = 30_011;
    let l0: Vec<f32> = (0..n).map(|_| (0.3 * rng.gaussian()) as f32).collect();
    let r0: Vec<f32> = (0..n).map(|_| (0.3 * rng.gaussian()) as f32).collect();
    // every chain length: the short ones run with their length a constant
    for m in (1..=9).chain([16]) {
        stereo_equals_mono(&kinds[..m], fs, &l0, &r0);
    }
}

fn stereo_equals_mono(kinds: &[FilterKind], fs: f64, l0: &[f32], r0: &[f32]) {
    let (mut l, mut r) = (l0.to_vec(), r0.to_vec());
    let mut stereo = FilterChain::new(kinds, fs, 2);
    for (a, b) in l.chunks_mut(7_777).zip(r.chunks_mut(7_777)) {
        stereo.process(&mut [a, b]);
    }
    for (input, got) in [(l0.to_vec(), l), (r0.to_vec(), r)] {
        let mut mono = FilterChain::new(kinds, fs, 1);
        let mut want = input;
        for c in want.chunks_mut(7_777) {
            mono.process(&mut [c]);
        }
        let bad = want
            .iter()
            .zip(&got)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        if let Some(i) = bad {
            panic!("first difference at {i}: {} vs {}", want[i], got[i]);
        }
        assert!(got.iter().any(|v| v.abs() > 0.01));
    }
}

#[test]
fn a_whole_mono_signal_in_two_halves_matches_one_pass() {
    // a high-pass near 30 Hz and a narrow cut: the slowest poles the mix uses
    let mut kinds = Butterworth::highpass(30.0, 4).sections();
    kinds.push(peaking(120.0, -8.0, 8.0));
    kinds.push(peaking(3000.0, 3.0, 1.0));
    let fs = 44_100.0;
    let mut rng = Rng::new(5);
    let n = 20 * 44_100 + 17;
    // a loud low burst just before the middle, so the second half's warm-up matters
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let burst = if (n / 2 - 20_000..n / 2 - 5_000).contains(&i) {
                0.8 * (2.0 * PI * 40.0 * i as f64 / fs).sin()
            } else {
                0.0
            };
            (0.1 * rng.gaussian() + burst) as f32
        })
        .collect();
    let mut one = FilterChain::new(&kinds, fs, 1);
    let mut want = x.clone();
    one.process(&mut [&mut want[..]]);
    let mut halves = FilterChain::new(&kinds, fs, 1);
    let mut got = x.clone();
    halves.process_mono_whole(&mut got);
    let peak = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = want
        .iter()
        .zip(&got)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 2.0 * f32::EPSILON * peak,
        "worst {worst} of peak {peak}"
    );
    // the state carries on: the next block agrees too
    let mut more_a: Vec<f32> = (0..5000).map(|_| (0.1 * rng.gaussian()) as f32).collect();
    let mut more_b = more_a.clone();
    one.process(&mut [&mut more_a[..]]);
    halves.process(&mut [&mut more_b[..]]);
    let worst = more_a
        .iter()
        .zip(&more_b)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst <= 2.0 * f32::EPSILON * peak, "after: {worst}");
}

/// The tapped pass gives the bits of the three steps it replaces (filter, copy, filter the
/// copy with the tap), for every chain length it takes, over blocks of awkward sizes and a
/// stretch of silence (the denormal flushes), and declines what it does not take.
#[test]
fn tapped_pair_pass_equals_filtering_then_tapping() {
    let sr = 44_100.0;
    let mut rng = Rng::new(77);
    let n = 30_000;
    let quiet = |i: usize| (9_000..21_000).contains(&i);
    let l0: Vec<f32> = (0..n)
        .map(|i| {
            if quiet(i) {
                0.0
            } else {
                (0.3 * rng.gaussian()) as f32
            }
        })
        .collect();
    let r0: Vec<f32> = (0..n)
        .map(|i| {
            if quiet(i) {
                0.0
            } else {
                (0.2 * rng.gaussian()) as f32
            }
        })
        .collect();
    let bands = [
        FilterKind::HighPass {
            freq_hz: 10.0,
            q: BUTTERWORTH_Q,
        },
        FilterKind::LowShelf {
            freq_hz: 100.0,
            gain_db: -2.0,
            slope: 1.0,
        },
        peaking(250.0, -0.4, 0.9),
        peaking(1800.0, 0.9, 0.9),
        peaking(4500.0, -3.0, 0.9),
        FilterKind::HighShelf {
            freq_hz: 9000.0,
            gain_db: -1.3,
            slope: 1.0,
        },
        peaking(60.0, 2.0, 1.5),
        peaking(12000.0, 1.0, 0.7),
    ];
    let tap_kind = [FilterKind::HighPass {
        freq_hz: 80.0,
        q: BUTTERWORTH_Q,
    }];
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for m in 1..=8 {
        for block in [4_096 + 17, 1, 5_000] {
            let (mut eq1, mut tap1) = (
                FilterChain::new(&bands[..m], sr, 2),
                FilterChain::new(&tap_kind, sr, 2),
            );
            let (mut eq2, mut tap2) = (eq1.clone(), tap1.clone());
            let (mut l1, mut r1, mut l2, mut r2) = (l0.clone(), r0.clone(), l0.clone(), r0.clone());
            let (mut d1l, mut d1r) = (vec![0.0f32; n], vec![0.0f32; n]);
            let (mut d2l, mut d2r) = (vec![0.0f32; n], vec![0.0f32; n]);
            for s in (0..n).step_by(block) {
                let e = (s + block).min(n);
                // three steps
                eq1.process(&mut [&mut l1[s..e], &mut r1[s..e]]);
                d1l[s..e].copy_from_slice(&l1[s..e]);
                d1r[s..e].copy_from_slice(&r1[s..e]);
                tap1.process(&mut [&mut d1l[s..e], &mut d1r[s..e]]);
                // one pass
                let (dl, dr) = (&mut d2l[s..e], &mut d2r[s..e]);
                let took = eq2.process_pair_tapped(&mut l2[s..e], &mut r2[s..e], &mut tap2, dl, dr);
                assert_eq!(took, cfg!(target_arch = "x86_64"));
                if !took {
                    return;
                }
            }
            assert_eq!(bits(&l2), bits(&l1), "{m} sections, block {block}");
            assert_eq!(bits(&r2), bits(&r1), "{m} sections, block {block}");
            assert_eq!(bits(&d2l), bits(&d1l), "{m} sections, block {block}");
            assert_eq!(bits(&d2r), bits(&d1r), "{m} sections, block {block}");
        }
    }
    // what it does not take: nine sections, a two-section tap, a mono chain
    let mut big = FilterChain::new(&[bands.as_slice(), &bands[..1]].concat(), sr, 2);
    let mut tap = FilterChain::new(&tap_kind, sr, 2);
    let (mut l, mut r, mut dl, mut dr) = (l0.clone(), r0.clone(), l0.clone(), r0.clone());
    assert!(!big.process_pair_tapped(&mut l, &mut r, &mut tap, &mut dl, &mut dr));
    assert_eq!(bits(&l), bits(&l0), "declined: untouched");
    let mut eq = FilterChain::new(&bands[..2], sr, 2);
    let mut tap2 = FilterChain::new(&bands[..2], sr, 2);
    assert!(!eq.process_pair_tapped(&mut l, &mut r, &mut tap2, &mut dl, &mut dr));
    let mut mono = FilterChain::new(&bands[..2], sr, 1);
    assert!(!mono.process_pair_tapped(&mut l, &mut r, &mut tap, &mut dl, &mut dr));
}
