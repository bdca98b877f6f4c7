//! End-to-end tests of the clean-up stage: `analyse_and_plan` decides, `apply` renders.
//!
//! Every signal is generated here (no corpus files): a melody of harmonic notes with decays and
//! pauses, a bass line, mains hum (the fundamental and harmonics 2-6 at falling levels, as a
//! mains-powered recording picks it up) and white hiss. The hum is measured on what the
//! clean-up changed (output minus the clean signal), coherently at each harmonic, so a remover
//! that took the music with the hum would not pass by accident, and one that left hum would
//! show it.

use mixdown_core::audio::AudioBuffer;
use mixdown_core::mix::cleanup::{
    analyse_and_plan, apply, CleanupPlan, NOTHING_NEEDED, NOT_A_NUMBER,
};
use mixdown_dsp::rng::Rng;
use std::f64::consts::PI;

// ---------------------------------------------------------------------------------------------
// signals

/// Equal-tempered pitch of MIDI note `m` (A4 = 440 Hz).
fn pitch(m: i32) -> f64 {
    440.0 * 2f64.powf((m - 69) as f64 / 12.0)
}

/// A harmonic note: `partials` partials at 1/k amplitude, 5 ms attack, exponential decay.
fn add_note(out: &mut [f64], sr: f64, start: f64, dur: f64, f0: f64, amp: f64, partials: usize) {
    let s0 = (start * sr) as usize;
    let len = (dur * sr) as usize;
    let tau = dur * 0.45;
    for i in 0..len {
        let n = s0 + i;
        if n >= out.len() {
            break;
        }
        let t = i as f64 / sr;
        let env =
            (t / 0.005).min(1.0) * (-t / tau).exp() * ((len - i) as f64 / (0.01 * sr)).min(1.0);
        let mut v = 0.0;
        for k in 1..=partials {
            let f = f0 * k as f64;
            if f < 0.45 * sr {
                v += (2.0 * PI * f * t).sin() / k as f64;
            }
        }
        out[n] += amp * env * v;
    }
}

/// A melody around A3-A5: notes of 0.15-0.6 s with short gaps and, every few notes, a pause of
/// 0.4-0.9 s (digital silence).
fn melody(sr: f64, secs: f64, seed: u64) -> Vec<f64> {
    let mut out = vec![0.0; (sr * secs) as usize];
    let mut rng = Rng::new(seed);
    let scale = [57, 59, 60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81];
    let mut t = 0.1;
    let mut count = 0;
    while t < secs - 0.7 {
        let dur = 0.15 + 0.45 * rng.uniform();
        let m = scale[(rng.uniform() * scale.len() as f64) as usize % scale.len()];
        add_note(&mut out, sr, t, dur, pitch(m), 0.25, 6);
        t += dur + 0.02 + 0.1 * rng.uniform();
        count += 1;
        if count % 5 == 0 {
            t += 0.4 + 0.5 * rng.uniform();
        }
    }
    out
}

/// A bass line between 50 and 100 Hz (A1 to G2), notes of 0.2-0.8 s, legato, with a rest of
/// 0.3-0.7 s every three or four notes when `rests`.
fn bass_line(sr: f64, secs: f64, seed: u64, rests: bool) -> Vec<f64> {
    let mut out = vec![0.0; (sr * secs) as usize];
    let mut rng = Rng::new(seed);
    // A1 55, B1 61.7, C2 65.4, D2 73.4, E2 82.4, F#2 92.5, G2 98 Hz
    let notes = [33, 35, 36, 38, 40, 42, 43];
    let mut t = 0.05;
    let mut count = 0;
    while t < secs - 0.9 {
        let dur = 0.2 + 0.6 * rng.uniform();
        let m = notes[(rng.uniform() * notes.len() as f64) as usize % notes.len()];
        add_note(&mut out, sr, t, dur, pitch(m), 0.35, 4);
        t += dur;
        count += 1;
        if rests && count % 4 == 3 {
            t += 0.3 + 0.4 * rng.uniform();
        }
    }
    out
}

/// Mains hum: fundamental and harmonics 2-6 (amplitudes 1, .6, .45, .3, .2, .12, phases
/// fixed), scaled to `db` dBFS mean square.
fn hum(n: usize, sr: f64, f0: f64, db: f64) -> Vec<f64> {
    let amps = [1.0, 0.6, 0.45, 0.3, 0.2, 0.12];
    let mut out: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            amps.iter()
                .enumerate()
                .map(|(k, a)| a * (2.0 * PI * (k + 1) as f64 * f0 * t + 0.7 * k as f64).sin())
                .sum()
        })
        .collect();
    scale_to(&mut out, db);
    out
}

/// White Gaussian noise at `db` dBFS mean square.
fn hiss(n: usize, db: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<f64> = (0..n).map(|_| rng.gaussian()).collect();
    scale_to(&mut out, db);
    out
}

fn scale_to(x: &mut [f64], db: f64) {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64;
    let g = 10f64.powf(db / 20.0) / ms.sqrt().max(1e-30);
    x.iter_mut().for_each(|v| *v *= g);
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn mono(sr: u32, x: &[f64]) -> AudioBuffer {
    AudioBuffer::from_channels(sr, vec![x.iter().map(|&v| v as f32).collect()])
}

/// Two channels: `x` and a slightly different mix (0.8 · x + 0.2 · `other`).
fn stereo(sr: u32, x: &[f64], other: &[f64]) -> AudioBuffer {
    let l: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let r: Vec<f32> = x
        .iter()
        .zip(other)
        .map(|(&a, &b)| (0.8 * a + 0.2 * b) as f32)
        .collect();
    AudioBuffer::from_channels(sr, vec![l, r])
}

/// Music for the hum tests, like a stem of a small band: phrases of 1.5-3 s of melody over a
/// bass line, each followed by a pause of 0.3-0.7 s where everything rests.
fn music(sr: f64, secs: f64, seed: u64) -> Vec<f64> {
    let mut out = vec![0.0; (sr * secs) as usize];
    let mut rng = Rng::new(seed);
    let mut t = 0.05;
    while t < secs - 1.0 {
        let len = (1.5 + 1.5 * rng.uniform()).min(secs - t);
        let m = add(
            &melody(sr, len, rng.next_u64()),
            &bass_line(sr, len, rng.next_u64(), false),
        );
        let s0 = (t * sr) as usize;
        for (o, v) in out[s0..].iter_mut().zip(&m) {
            *o += v;
        }
        t += len + 0.3 + 0.4 * rng.uniform();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// measurements

/// Mean-square power of the sinusoid at `f` Hz in `x` (coherent over the whole signal).
fn line_power(x: &[f64], sr: f64, f: f64) -> f64 {
    let w = 2.0 * PI * f / sr;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let a = w * i as f64;
        re += v * a.cos();
        im -= v * a.sin();
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / x.len() as f64;
    amp * amp / 2.0
}

/// How much quieter the hum became, dB: the power of harmonics 1-6 of `f0` in what the
/// clean-up left of the hum (`out - clean`) against that in the hum added.
fn hum_reduction_db(clean: &[f64], out: &[f32], added: &[f64], sr: f64, f0: f64) -> f64 {
    let left: Vec<f64> = out
        .iter()
        .zip(clean)
        .map(|(&o, &c)| f64::from(o) - c)
        .collect();
    let (mut before, mut after) = (0.0, 0.0);
    for k in 1..=6 {
        let f = k as f64 * f0;
        before += line_power(added, sr, f);
        after += line_power(&left, sr, f);
    }
    10.0 * (before / after.max(1e-30)).log10()
}

fn rms_db(x: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for v in x {
        s += v * v;
        n += 1;
    }
    10.0 * (s / n.max(1) as f64).max(1e-30).log10()
}

fn cleaned(track: &AudioBuffer) -> (CleanupPlan, AudioBuffer) {
    let plan = analyse_and_plan(track);
    let mut out = track.clone();
    apply(&mut out, &plan);
    (plan, out)
}

// ---------------------------------------------------------------------------------------------
// hum

fn check_hum(f0: f64, sr: u32, secs: f64, seed: u64) {
    let fs = f64::from(sr);
    let x = music(fs, secs, seed);
    let h = hum(x.len(), fs, f0, -40.0);
    let track = mono(sr, &add(&x, &h));
    let (plan, out) = cleaned(&track);
    let p = plan
        .hum
        .as_ref()
        .unwrap_or_else(|| panic!("hum at {f0} Hz not found: {:?}", plan.why));
    assert!(
        (p.fundamental_hz - f0).abs() < 0.01,
        "fundamental {} Hz for hum at {f0} Hz",
        p.fundamental_hz
    );
    assert!(p.harmonics >= 6, "{} harmonics removed", p.harmonics);
    assert!(
        plan.why.iter().any(|w| w.contains("mains hum")),
        "{:?}",
        plan.why
    );
    let red = hum_reduction_db(&x, &out.channels[0], &h, fs, f0);
    assert!(red >= 25.0, "hum at {f0} Hz reduced by only {red:.1} dB");
    // the music is left alone: what changed, other than the hum, is tiny
    let change: Vec<f64> = out.channels[0]
        .iter()
        .zip(&x)
        .zip(&h)
        .map(|((&o, &c), &n)| f64::from(o) - c - n)
        .collect();
    let hum_db = rms_db(h.iter().copied());
    let change_db = rms_db(change.iter().copied());
    // `change` is the hum, less what is left of it, plus the music removed with it
    assert!(
        (change_db - hum_db).abs() < 0.5,
        "change {change_db:.1} dB, hum {hum_db:.1} dB"
    );
    // and all that differs from the clean music is at least 20 dB below the hum
    let left = rms_db(
        out.channels[0]
            .iter()
            .zip(&x)
            .map(|(&o, &c)| f64::from(o) - c),
    );
    assert!(left < hum_db - 20.0, "{left:.1} dBFS left, hum {hum_db:.1}");
}

#[test]
fn hum_at_50_hz_is_found_and_removed() {
    check_hum(50.0, 44100, 10.0, 1);
}

#[test]
fn hum_at_60_hz_is_found_and_removed() {
    check_hum(60.0, 48000, 10.0, 2);
}

#[test]
fn hum_slightly_off_50_hz_is_found_and_removed() {
    check_hum(49.8, 44100, 10.0, 3);
}

#[test]
fn hum_on_a_stereo_track_is_removed_from_both_channels() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = music(fs, 8.0, 4);
    let y = melody(fs, 8.0, 5);
    let h = hum(x.len(), fs, 50.0, -42.0);
    let clean = stereo(sr, &x, &y);
    let mut dirty = clean.clone();
    for ch in &mut dirty.channels {
        for (v, &n) in ch.iter_mut().zip(&h) {
            *v += n as f32;
        }
    }
    let (plan, out) = cleaned(&dirty);
    assert!(plan.hum.is_some(), "{:?}", plan.why);
    for c in 0..2 {
        let xc: Vec<f64> = clean.channels[c].iter().map(|&v| f64::from(v)).collect();
        let red = hum_reduction_db(&xc, &out.channels[c], &h, fs, 50.0);
        assert!(red >= 25.0, "channel {c}: {red:.1} dB");
    }
}

#[test]
fn a_bass_line_between_50_and_100_hz_is_not_hum() {
    for (sr, seed, rests) in [
        (44100u32, 10u64, true),
        (48000, 11, false),
        (44100, 12, false),
    ] {
        let fs = f64::from(sr);
        let x = bass_line(fs, 10.0, seed, rests);
        let track = mono(sr, &x);
        let plan = analyse_and_plan(&track);
        assert!(
            plan.hum.is_none(),
            "bass line taken for hum: {:?}",
            plan.why
        );
        assert_eq!(plan.why, vec![NOTHING_NEEDED.to_string()]);
    }
}

#[test]
fn a_wandering_mains_frequency_gets_wider_notches() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = music(fs, 10.0, 20);
    // the mains frequency swings ±0.1 Hz around 50 Hz over the track
    let amps = [1.0, 0.6, 0.45, 0.3, 0.2, 0.12];
    let mut phase = 0.0;
    let mut h: Vec<f64> = (0..x.len())
        .map(|i| {
            let t = i as f64 / fs;
            phase += 2.0 * PI * (50.0 + 0.1 * (2.0 * PI * t / 10.0).sin()) / fs;
            amps.iter()
                .enumerate()
                .map(|(k, a)| a * ((k + 1) as f64 * phase).sin())
                .sum()
        })
        .collect();
    scale_to(&mut h, -40.0);
    let steady = hum(x.len(), fs, 50.0, -40.0);
    let plan_wander = analyse_and_plan(&mono(sr, &add(&x, &h)));
    let plan_steady = analyse_and_plan(&mono(sr, &add(&x, &steady)));
    let w = plan_wander
        .hum
        .as_ref()
        .expect("wandering hum found")
        .width_hz;
    let s = plan_steady.hum.as_ref().expect("steady hum found").width_hz;
    assert!(w > s, "wandering hum notches {w} Hz, steady {s} Hz");
}

// ---------------------------------------------------------------------------------------------
// hiss

/// Phrases of the melody with silent gaps between them (every fifth note is followed by one).
fn phrases_with_hiss(sr: u32, secs: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let fs = f64::from(sr);
    let x = melody(fs, secs, seed);
    let n = hiss(x.len(), -55.0, seed + 100);
    (x, n)
}

/// Samples of the gaps: 100 ms windows where the clean signal is digital silence.
fn gap_windows(x: &[f64], sr: u32) -> Vec<std::ops::Range<usize>> {
    let w = (sr / 10) as usize;
    (0..x.len() / w)
        .map(|i| i * w..(i + 1) * w)
        .filter(|r| x[r.clone()].iter().all(|&v| v == 0.0))
        .collect()
}

#[test]
fn white_hiss_under_phrases_is_found_and_the_gaps_get_quiet() {
    for (sr, seed) in [(44100u32, 30u64), (48000, 31)] {
        let (x, n) = phrases_with_hiss(sr, 10.0, seed);
        let dirty = add(&x, &n);
        let (plan, out) = cleaned(&mono(sr, &dirty));
        assert!(plan.denoise.is_some(), "hiss not found: {:?}", plan.why);
        assert!(plan.hum.is_none(), "{:?}", plan.why);
        let floor = plan
            .measured
            .noise_floor_dbfs
            .expect("noise floor measured");
        assert!(
            (floor + 55.0).abs() < 2.0,
            "noise floor {floor} dBFS for -55 dBFS hiss"
        );
        let gaps = gap_windows(&x, sr);
        assert!(gaps.len() >= 5, "{} gap windows", gaps.len());
        let before = rms_db(gaps.iter().flat_map(|r| dirty[r.clone()].iter().copied()));
        let after = rms_db(
            gaps.iter()
                .flat_map(|r| out.channels[0][r.clone()].iter().map(|&v| f64::from(v))),
        );
        assert!(
            before - after >= 15.0,
            "gaps {before:.1} -> {after:.1} dBFS at {sr} Hz"
        );
        // the loud notes keep their level
        let w = (sr / 10) as usize;
        let mut worst = 0.0f64;
        for i in 0..x.len() / w {
            let r = i * w..(i + 1) * w;
            let lx = rms_db(x[r.clone()].iter().copied());
            if lx > -30.0 {
                let lo = rms_db(out.channels[0][r].iter().map(|&v| f64::from(v)));
                worst = worst.max((lo - lx).abs());
            }
        }
        assert!(worst < 1.0, "a loud window changed by {worst:.2} dB");
    }
}

#[test]
fn hiss_on_a_stereo_track_is_reduced_in_both_channels() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = melody(fs, 8.0, 40);
    let nl = hiss(x.len(), -55.0, 41);
    let nr = hiss(x.len(), -55.0, 42);
    let track = AudioBuffer::from_channels(
        sr,
        vec![
            add(&x, &nl).iter().map(|&v| v as f32).collect(),
            add(&x, &nr).iter().map(|&v| v as f32).collect(),
        ],
    );
    let (plan, out) = cleaned(&track);
    assert!(plan.denoise.is_some(), "{:?}", plan.why);
    let gaps = gap_windows(&x, sr);
    for (c, n) in [(0usize, &nl), (1, &nr)] {
        let before = rms_db(gaps.iter().flat_map(|r| n[r.clone()].iter().copied()));
        let after = rms_db(
            gaps.iter()
                .flat_map(|r| out.channels[c][r.clone()].iter().map(|&v| f64::from(v))),
        );
        assert!(
            before - after >= 15.0,
            "channel {c}: {before:.1} -> {after:.1}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// clean material is left alone

#[test]
fn a_clean_track_needs_nothing_and_stays_bit_identical() {
    for (sr, secs, seed) in [(44100u32, 10.0, 50u64), (48000, 6.0, 51), (22050, 8.0, 52)] {
        let fs = f64::from(sr);
        let x = music(fs, secs, seed);
        for track in [mono(sr, &x), stereo(sr, &x, &melody(fs, secs, seed + 7))] {
            let plan = analyse_and_plan(&track);
            assert_eq!(plan.why, vec![NOTHING_NEEDED.to_string()], "at {sr} Hz");
            assert!(plan.dc.is_none() && plan.hum.is_none());
            assert!(plan.denoise.is_none() && plan.gate.is_none());
            let mut out = track.clone();
            apply(&mut out, &plan);
            assert_eq!(out, track, "apply changed a clean track");
        }
    }
}

#[test]
fn a_small_dc_offset_is_measured_not_removed_and_a_gross_one_is_removed() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = music(fs, 6.0, 60);
    // 1 % of full scale (-40 dBFS): the channel strip's high-pass takes care of it
    let small: Vec<f64> = x.iter().map(|v| v + 0.01).collect();
    let plan = analyse_and_plan(&mono(sr, &small));
    assert_eq!(plan.why, vec![NOTHING_NEEDED.to_string()]);
    assert!(plan.dc.is_none());
    let d = plan.measured.dc_offset_dbfs.expect("offset measured");
    assert!((d + 40.0).abs() < 0.5, "offset measured at {d} dBFS");
    // 20 % of full scale (-14 dBFS): a recording fault, removed here
    let gross: Vec<f64> = x.iter().map(|v| 0.5 * v + 0.2).collect();
    let (plan, out) = cleaned(&mono(sr, &gross));
    assert!(plan.dc.is_some(), "{:?}", plan.why);
    let tail = &out.channels[0][out.frames() / 2..];
    let mean = tail.iter().map(|&v| f64::from(v)).sum::<f64>() / tail.len() as f64;
    assert!(mean.abs() < 1e-3, "mean {mean} after DC removal");
}

// ---------------------------------------------------------------------------------------------
// determinism, serde, odd input

#[test]
fn analysis_and_rendering_are_deterministic() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = music(fs, 8.0, 70);
    let (_, n) = phrases_with_hiss(sr, 8.0, 71);
    let dirty = add(&add(&x, &hum(x.len(), fs, 50.0, -45.0)), &n);
    let track = mono(sr, &dirty);
    let (p1, o1) = cleaned(&track);
    let (p2, o2) = cleaned(&track);
    assert!(p1.hum.is_some() && p1.denoise.is_some(), "{:?}", p1.why);
    assert_eq!(p1, p2);
    assert_eq!(o1, o2);
}

#[test]
fn plans_round_trip_through_toml_and_json() {
    let sr = 44100;
    let fs = f64::from(sr);
    let x = music(fs, 8.0, 80);
    let (_, n) = phrases_with_hiss(sr, 8.0, 81);
    let dirty = add(&add(&x, &hum(x.len(), fs, 60.0, -45.0)), &n);
    let plan = analyse_and_plan(&mono(sr, &dirty));
    assert!(
        plan.hum.is_some() && plan.denoise.is_some(),
        "{:?}",
        plan.why
    );
    let clean_plan = analyse_and_plan(&mono(sr, &x));
    for p in [&plan, &clean_plan] {
        // TOML needs a table at the top
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Wrap {
            cleanup: CleanupPlan,
        }
        let w = Wrap { cleanup: p.clone() };
        let t = toml::to_string(&w).expect("to toml");
        let back: Wrap = toml::from_str(&t).expect("from toml");
        assert_eq!(back, w, "{t}");
        let j = serde_json::to_string(p).expect("to json");
        let back: CleanupPlan = serde_json::from_str(&j).expect("from json");
        assert_eq!(&back, p);
    }
    // a plan someone wrote by hand: only the reasons
    let minimal: CleanupPlan = serde_json::from_str(r#"{"why":["no clean-up needed"]}"#).unwrap();
    assert_eq!(minimal.why, vec![NOTHING_NEEDED.to_string()]);
    assert!(minimal.hum.is_none() && minimal.denoise.is_none());
}

#[test]
fn odd_input_does_not_panic() {
    let mut cases: Vec<AudioBuffer> = vec![
        AudioBuffer::silent(44100, 1, 0),
        AudioBuffer::silent(44100, 2, 44100 * 3),
        AudioBuffer::silent(8000, 1, 8000),
        AudioBuffer::silent(44100, 0, 0),
    ];
    for (sr, secs) in [
        (8000u32, 1.0f64),
        (8000, 6.0),
        (44100, 1.0),
        (192000, 3.0),
        (22050, 0.05),
    ] {
        let fs = f64::from(sr);
        let x = music(fs, secs.max(1.0), 90);
        let x = &x[..((fs * secs) as usize).min(x.len())];
        let h = hum(x.len(), fs, 50.0, -40.0);
        let n = hiss(x.len(), -55.0, 91);
        let dirty = add(&add(x, &h), &n);
        cases.push(mono(sr, x));
        cases.push(mono(sr, &dirty));
        cases.push(stereo(sr, &dirty, x));
    }
    // a single sample, a full-scale square, a constant
    cases.push(AudioBuffer::from_channels(44100, vec![vec![0.5]]));
    cases.push(AudioBuffer::from_channels(
        44100,
        vec![(0..44100)
            .map(|i| if i % 100 < 50 { 1.0 } else { -1.0 })
            .collect()],
    ));
    cases.push(AudioBuffer::from_channels(44100, vec![vec![0.25; 88200]]));
    for track in &cases {
        let (plan, out) = cleaned(track);
        assert!(!plan.why.is_empty());
        assert_eq!(out.frames(), track.frames());
        assert_eq!(out.num_channels(), track.num_channels());
        assert!(
            out.channels.iter().flatten().all(|v| v.is_finite()),
            "non-finite output at {} Hz",
            track.sample_rate
        );
        if track.channels.iter().flatten().all(|&v| v == 0.0) {
            assert_eq!(plan.why, vec![NOTHING_NEEDED.to_string()]);
            assert_eq!(&out, track);
        }
    }
    // a track with a NaN and an infinity: not analysed, left as it is
    let mut bad = mono(44100, &music(44100.0, 3.0, 93));
    bad.channels[0][1000] = f32::NAN;
    bad.channels[0][2000] = f32::INFINITY;
    let (plan, out) = cleaned(&bad);
    assert_eq!(plan.why, vec![NOT_A_NUMBER.to_string()]);
    assert!(plan.hum.is_none() && plan.denoise.is_none() && plan.dc.is_none());
    assert!(out.channels[0][1000].is_nan());
    assert_eq!(out.channels[0][..1000], bad.channels[0][..1000]);
    // the hum at 8 and 192 kHz is still found
    for sr in [8000u32, 192000] {
        let fs = f64::from(sr);
        let x = music(fs, 6.0, 92);
        let h = hum(x.len(), fs, 60.0, -40.0);
        let plan = analyse_and_plan(&mono(sr, &add(&x, &h)));
        assert!(
            plan.hum.is_some(),
            "no hum found at {sr} Hz: {:?}",
            plan.why
        );
    }
}
