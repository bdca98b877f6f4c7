//! `mixdown mix` and `mixdown render` end to end, on synthesised stems: the Session plays back
//! bit for bit, an edit changes only what it names, the mix's image and effects stay within
//! bounds, and odd folders give a clear result or a one-line error.

use std::path::Path;

mod common;
use common::*;

/// Write the demo song's stems (`secs` long) into `dir` as float WAV, named like its tracks.
fn demo_stems(dir: &Path, secs: f64, seed: u64) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let song = mixdown_core::demo::synth_song(44_100, secs, seed);
    let mut names = Vec::new();
    for s in &song.stems {
        write_wav(
            &dir.join(format!("{}.wav", s.name)),
            s.buffer.sample_rate,
            &s.buffer.channels,
            true,
        );
        names.push(s.name.clone());
    }
    names
}

fn sine(sr: u32, secs: f64, hz: f64, amp: f32) -> Vec<f32> {
    let n = (secs * sr as f64) as usize;
    (0..n)
        .map(|i| amp * (2.0 * std::f64::consts::PI * hz * i as f64 / sr as f64).sin() as f32)
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", stderr(o));
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

#[test]
fn a_session_renders_bit_for_bit_and_a_fader_edit_changes_only_its_stem() {
    let d = tmp();
    let stems = d.path().join("stems");
    let names = demo_stems(&stems, 10.0, 3);
    let p = |s: &str| d.path().join(s).display().to_string();
    let o = mixdown(&[
        "mix",
        &stems.display().to_string(),
        "-o",
        &p("mix.wav"),
        "--session",
        &p("song.toml"),
        "--stems-out",
        &p("st1"),
        "--report",
        &p("report.json"),
        "-q",
    ]);
    ok(&o, "mix");
    // mastered onto the streaming target (independent meter)
    let (l, tp) = loudness_and_peak(&d.path().join("mix.wav"));
    assert!((l + 14.0).abs() < 0.3, "loudness {l}");
    assert!(tp <= -0.95, "true peak {tp}");
    // render of the written session: the same bytes, the same stems
    let o = mixdown(&[
        "render",
        &p("song.toml"),
        "-o",
        &p("again.wav"),
        "--stems-out",
        &p("st2"),
        "-q",
    ]);
    ok(&o, "render");
    assert_eq!(
        std::fs::read(d.path().join("mix.wav")).unwrap(),
        std::fs::read(d.path().join("again.wav")).unwrap(),
        "render must reproduce the mix bit for bit"
    );
    for n in &names {
        assert_eq!(
            std::fs::read(d.path().join("st1").join(format!("{n}.wav"))).unwrap(),
            std::fs::read(d.path().join("st2").join(format!("{n}.wav"))).unwrap(),
            "stem {n}"
        );
    }
    // edit one line: the bass fader +2 dB
    let text = std::fs::read_to_string(d.path().join("song.toml")).unwrap();
    let mut in_bass = false;
    let mut edited = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("name = ") {
                in_bass = line == "name = \"bass\"";
            }
            if in_bass && !edited && line.starts_with("fader_db = ") {
                let v: f64 = line["fader_db = ".len()..].parse().unwrap();
                edited = true;
                return format!("fader_db = {}", v + 2.0);
            }
            line.to_string()
        })
        .collect();
    assert!(edited, "the session has a bass fader");
    std::fs::write(d.path().join("song2.toml"), lines.join("\n")).unwrap();
    let o = mixdown(&[
        "render",
        &p("song2.toml"),
        "-o",
        &p("v2.wav"),
        "--stems-out",
        &p("st3"),
        "-q",
    ]);
    ok(&o, "render edited");
    let g = 10f64.powf(2.0 / 20.0);
    for n in &names {
        let (_, a) = read_wav(&d.path().join("st1").join(format!("{n}.wav")));
        let (_, b) = read_wav(&d.path().join("st3").join(format!("{n}.wav")));
        if n == "bass" {
            let (mut num, mut den) = (0.0f64, 0.0f64);
            for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                num += (*x as f64) * (*y as f64);
                den += (*x as f64) * (*x as f64);
                assert!(
                    (*y as f64 - g * *x as f64).abs() <= 1e-6 * (1.0 + x.abs() as f64),
                    "bass sample {x} -> {y}"
                );
            }
            let db = 20.0 * (num / den).log10();
            assert!((db - 2.0).abs() < 1e-4, "bass moved {db} dB");
        } else {
            assert_eq!(a, b, "stem {n} must not change");
        }
    }
    assert_ne!(
        std::fs::read(d.path().join("mix.wav")).unwrap(),
        std::fs::read(d.path().join("v2.wav")).unwrap()
    );
    // the report: image, restraint, masking
    let r = json(&d.path().join("report.json"));
    let im = &r["image"];
    assert!(im["low_end_correlation"].as_f64().unwrap() >= 0.9, "{im}");
    assert!(im["mono_loss_lu"].as_f64().unwrap() <= 3.0, "{im}");
    assert!(im["width"].as_f64().unwrap() > 0.0, "{im}");
    assert!(im["balance_db"].as_f64().unwrap().abs() <= 1.0, "{im}");
    let rs = &r["restraint"];
    assert!(rs["returns_below_dry_lu"].as_f64().unwrap() >= 12.0, "{rs}");
    assert!(rs["max_eq_move_db"].as_f64().unwrap() <= 9.0, "{rs}");
    let mi = r["masking_input"]["index_pct"].as_f64().unwrap();
    let mm = r["masking_mix"]["index_pct"].as_f64().unwrap();
    assert!(mm < mi, "masking {mi} -> {mm}");
}

#[test]
fn an_invalid_session_points_at_the_line() {
    let d = tmp();
    let stems = d.path().join("stems");
    demo_stems(&stems, 4.0, 1);
    let p = |s: &str| d.path().join(s).display().to_string();
    ok(
        &mixdown(&[
            "mix",
            &stems.display().to_string(),
            "-o",
            &p("mix.wav"),
            "--session",
            &p("s.toml"),
            "--no-master",
            "-q",
        ]),
        "mix",
    );
    let text = std::fs::read_to_string(d.path().join("s.toml")).unwrap();
    let line = text.lines().position(|l| l.starts_with("pan = ")).unwrap();
    let bad: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line {
                "pan = \"left\"".into()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(d.path().join("bad.toml"), bad.join("\n")).unwrap();
    let o = mixdown(&["render", &p("bad.toml"), "-o", &p("x.wav")]);
    assert_clean_error(&o, "bad.toml", "a string where a number belongs");
    assert!(
        stderr(&o).contains(&format!("line {}", line + 1)),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("x.wav").exists());
}

#[test]
fn odd_folders_give_a_clear_result_or_a_clear_error() {
    let d = tmp();
    let p = |s: &str| d.path().join(s).display().to_string();
    // an empty folder
    std::fs::create_dir(d.path().join("empty")).unwrap();
    let o = mixdown(&["mix", &p("empty"), "-o", &p("a.wav")]);
    assert_clean_error(&o, "empty", "empty folder");
    // only a text file
    std::fs::create_dir(d.path().join("text")).unwrap();
    std::fs::write(d.path().join("text/notes.txt"), "hello").unwrap();
    let o = mixdown(&["mix", &p("text"), "-o", &p("a.wav")]);
    assert_clean_error(&o, "text", "no audio");
    // one stem, a text file beside it, the song's finished mix beside it
    std::fs::create_dir(d.path().join("one")).unwrap();
    write_wav(
        &d.path().join("one/vox.wav"),
        44_100,
        &song(44_100, 1, 4.0),
        true,
    );
    std::fs::write(d.path().join("one/lyrics.txt"), "la la").unwrap();
    write_wav(
        &d.path().join("one/Mix.wav"),
        44_100,
        &song(44_100, 2, 4.0),
        true,
    );
    let o = mixdown(&[
        "mix",
        &p("one"),
        "-o",
        &p("one.wav"),
        "--report",
        &p("one.json"),
    ]);
    ok(&o, "one stem");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("lyrics.txt"), "{out}");
    assert!(out.contains("Mix.wav"), "{out}");
    let r = json(&d.path().join("one.json"));
    assert_eq!(r["tracks"].as_array().unwrap().len(), 1);
    // 44.1 and 48 kHz stems, a silent stem, a long stem beside short ones
    std::fs::create_dir(d.path().join("mixed")).unwrap();
    write_wav(
        &d.path().join("mixed/bass.wav"),
        44_100,
        &[sine(44_100, 3.0, 55.0, 0.5)],
        true,
    );
    write_wav(
        &d.path().join("mixed/lead.wav"),
        48_000,
        &[sine(48_000, 3.0, 880.0, 0.3)],
        true,
    );
    write_wav(
        &d.path().join("mixed/silent.wav"),
        44_100,
        &[vec![0.0; 44_100 * 3]],
        true,
    );
    write_wav(
        &d.path().join("mixed/pad.wav"),
        44_100,
        &song(44_100, 2, 20.0),
        true,
    );
    let o = mixdown(&[
        "mix",
        &p("mixed"),
        "-o",
        &p("mixed.wav"),
        "--report",
        &p("mixed.json"),
    ]);
    ok(&o, "mixed folder");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("silent.wav"),
        "the silent stem is reported: {out}"
    );
    assert!(
        out.contains("48000") || out.contains("48 kHz"),
        "resampling is reported: {out}"
    );
    let (sr, ch) = read_wav(&d.path().join("mixed.wav"));
    assert_eq!(ch.len(), 2);
    assert!(
        (ch[0].len() as f64 / sr as f64 - 20.0).abs() < 0.05,
        "padded to the longest"
    );
    // 64 stems work; 65 are refused
    std::fs::create_dir(d.path().join("many")).unwrap();
    for i in 0..65 {
        let hz = 110.0 * 2f64.powf(i as f64 / 12.0);
        write_wav(
            &d.path().join(format!("many/t{i:02}.wav")),
            22_050,
            &[sine(22_050, 1.0, hz, 0.2)],
            true,
        );
    }
    let o = mixdown(&["mix", &p("many"), "-o", &p("many.wav")]);
    assert_clean_error(&o, "many", "65 stems");
    std::fs::remove_file(d.path().join("many/t64.wav")).unwrap();
    let o = mixdown(&["mix", &p("many"), "-o", &p("many.wav"), "-q"]);
    ok(&o, "64 stems");
    assert!(d.path().join("many.wav").exists());
}
