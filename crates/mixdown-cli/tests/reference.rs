//! `mixdown master --reference`: matching a reference end to end, its amounts, match files,
//! previews, and every kind of unusable reference.

use std::path::{Path, PathBuf};

mod common;
use common::*;

/// The test song made brighter (a first-order high-pass mixed in) and 6 dB louder: a
/// reference that differs in tone and loudness.
fn brighter(chans: &[Vec<f32>]) -> Vec<Vec<f32>> {
    chans
        .iter()
        .map(|c| {
            let mut prev = 0.0f32;
            c.iter()
                .map(|&x| {
                    let hp = x - prev;
                    prev = x;
                    (2.0 * (x + 3.0 * hp)).clamp(-0.99, 0.99)
                })
                .collect()
        })
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Files {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    song: PathBuf,
    reference: PathBuf,
}

fn files(secs: f64) -> Files {
    let d = tmp();
    let dir = d.path().to_path_buf();
    let song = dir.join("song.wav");
    let reference = dir.join("ref.wav");
    let chans = song_of(secs);
    write_wav(&song, 44_100, &chans, false);
    write_wav(&reference, 44_100, &brighter(&chans), false);
    Files {
        _dir: d,
        dir,
        song,
        reference,
    }
}

fn song_of(secs: f64) -> Vec<Vec<f32>> {
    song(44_100, 2, secs)
}

#[test]
fn matches_a_reference_and_reports_what_it_changed() {
    let f = files(12.0);
    let out = f.dir.join("out.wav");
    let rep = f.dir.join("r.json");
    let o = mixdown(&[
        "master",
        s(&f.song),
        "--reference",
        s(&f.reference),
        "-o",
        s(&out),
        "--report",
        s(&rep),
    ]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Match"), "{text}");
    let r = json(&rep);
    let reference_lufs = r["reference"]["integrated_lufs"].as_f64().unwrap();
    let (i, tp) = loudness_and_peak(&out);
    assert!((i - reference_lufs).abs() < 0.2, "{i} vs {reference_lufs}");
    assert!(tp <= -1.0 + 1e-3, "true peak {tp}");
    let m = &r["chain"]["matching"];
    assert_eq!(m["enabled"], true);
    let bands = m["bands"].as_array().unwrap();
    let tone = |hz: f64| {
        bands
            .iter()
            .min_by(|a, b| {
                let d = |x: &serde_json::Value| (x["hz"].as_f64().unwrap() / hz).ln().abs();
                d(a).total_cmp(&d(b))
            })
            .unwrap()["tone_db"]
            .as_f64()
            .unwrap()
    };
    // the reference is brighter: the match lifts the highs against the lows
    assert!(tone(8000.0) - tone(200.0) > 3.0, "{bands:?}");
    assert_eq!(r["chain"]["target"]["name"], "reference");
}

#[test]
fn a_reference_identical_to_the_song_is_a_near_no_op() {
    let f = files(10.0);
    let out = f.dir.join("out.wav");
    let rep = f.dir.join("r.json");
    ok(&mixdown(&[
        "master",
        s(&f.song),
        "--reference",
        s(&f.song),
        "-o",
        s(&out),
        "--report",
        s(&rep),
    ]));
    let r = json(&rep);
    assert_eq!(r["chain"]["matching"]["enabled"], false);
    let before = r["before"]["loudness"]["integrated_lufs"].as_f64().unwrap();
    let (i, _) = loudness_and_peak(&out);
    assert!((i - before).abs() < 0.2, "loudness moved: {before} -> {i}");
}

#[test]
fn a_saved_match_gives_the_same_master_and_amounts_change_it() {
    let f = files(8.0);
    let (a, b, c) = (
        f.dir.join("a.wav"),
        f.dir.join("b.wav"),
        f.dir.join("c.wav"),
    );
    let m = f.dir.join("album.toml");
    ok(&mixdown(&[
        "master",
        s(&f.song),
        "-r",
        s(&f.reference),
        "--save-match",
        s(&m),
        "-o",
        s(&a),
        "-q",
    ]));
    assert!(std::fs::read_to_string(&m)
        .unwrap()
        .contains("mixdown match file"));
    ok(&mixdown(&[
        "master",
        s(&f.song),
        "--match-file",
        s(&m),
        "-o",
        s(&b),
        "-q",
    ]));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    ok(&mixdown(&[
        "master",
        s(&f.song),
        "--match-file",
        s(&m),
        "--match",
        "tone=0,loudness=0",
        "-o",
        s(&c),
        "-q",
    ]));
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    // loudness=0 keeps the song's own loudness
    let song_lufs = {
        let (sr, ch) = read_wav(&f.song);
        let mut e = ebur128::EbuR128::new(2, sr, ebur128::Mode::I).unwrap();
        let v: Vec<&[f32]> = ch.iter().map(|c| c.as_slice()).collect();
        e.add_frames_planar_f32(&v).unwrap();
        e.loudness_global().unwrap()
    };
    let (i, _) = loudness_and_peak(&c);
    assert!((i - song_lufs).abs() < 0.2, "{i} vs {song_lufs}");
}

#[test]
fn several_references_mono_references_and_other_rates_work() {
    let f = files(8.0);
    let mono48 = f.dir.join("mono48.wav");
    let chans = song(48_000, 1, 6.0);
    write_wav(&mono48, 48_000, &brighter(&chans), true);
    let out = f.dir.join("out.wav");
    let rep = f.dir.join("r.json");
    let o = mixdown(&[
        "master",
        s(&f.song),
        "-r",
        s(&f.reference),
        "-r",
        s(&mono48),
        "-o",
        s(&out),
        "--report",
        s(&rep),
    ]);
    ok(&o);
    let r = json(&rep);
    assert_eq!(r["reference"]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(r["output"]["sample_rate"], 44_100);
    // a mono reference alone: the width is left as it is, and said so
    let o = mixdown(&["master", s(&f.song), "-r", s(&mono48), "-o", s(&out)]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("the reference is mono"), "{text}");
}

#[test]
fn preview_writes_an_equal_loudness_ab_of_the_loudest_30_s() {
    let f = files(40.0);
    let out = f.dir.join("out.wav");
    let ab = f.dir.join("ab");
    let o = mixdown(&[
        "master",
        s(&f.song),
        "-r",
        s(&f.reference),
        "-o",
        s(&out),
        "--preview",
        s(&ab),
    ]);
    ok(&o);
    let (orig, master) = (ab.join("song.original.wav"), ab.join("song.master.wav"));
    let (lo, _) = loudness_and_peak(&orig);
    let (lm, _) = loudness_and_peak(&master);
    assert!((lo - lm).abs() < 0.1, "A/B at {lo} and {lm}");
    let (sr, ch) = read_wav(&master);
    assert_eq!(sr, 44_100);
    assert!((ch[0].len() as f64 / sr as f64 - 30.0).abs() < 0.2);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Preview"));
}

#[test]
fn unusable_references_and_flags_are_explained() {
    let f = files(6.0);
    let out = f.dir.join("out.wav");
    let silent = f.dir.join("silent.wav");
    write_wav(
        &silent,
        44_100,
        &[vec![0.0; 44_100 * 5], vec![0.0; 44_100 * 5]],
        false,
    );
    let short = f.dir.join("short.wav");
    write_wav(&short, 44_100, &song(44_100, 2, 0.05), false);
    let missing = f.dir.join("missing.wav");
    for (r, what) in [
        (&silent, "silent reference"),
        (&short, "50 ms reference"),
        (&missing, "missing reference"),
    ] {
        let o = mixdown(&["master", s(&f.song), "-r", s(r), "-o", s(&out)]);
        assert_clean_error(&o, r.file_name().unwrap().to_str().unwrap(), what);
    }
    assert!(!out.exists());
    let m = f.dir.join("m.toml");
    for (args, needle) in [
        (vec!["--match", "tone=0.5"], "needs a reference"),
        (
            vec!["-r", s(&f.reference), "--match", "tone=5"],
            "out of range",
        ),
        (
            vec!["-r", s(&f.reference), "--match", "sparkle=1"],
            "unknown part",
        ),
        (
            vec!["-r", s(&f.reference), "--match-file", s(&m)],
            "either --reference or --match-file",
        ),
        (vec!["--match-file", s(&f.song)], "not a mixdown match file"),
        (
            vec!["-r", s(&f.reference), "--save-match", s(&f.reference)],
            "never overwrites",
        ),
    ] {
        let mut a = vec!["master", s(&f.song), "-o", s(&out)];
        a.extend(args.iter().copied());
        let o = mixdown(&a);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(!e.contains("panicked"), "{e}");
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn every_stage_can_be_switched_off_while_matching() {
    // --no-limiter with a reference once hit an internal error (no per-chunk peaks)
    let f = files(8.0);
    let out = f.dir.join("out.wav");
    for off in [
        &["--no-limiter"][..],
        &["--no-glue", "--no-limiter"],
        &["--no-eq"],
        &["--no-loudness"],
    ] {
        let mut args = vec![
            "master",
            s(&f.song),
            "--reference",
            s(&f.reference),
            "-o",
            s(&out),
            "-q",
        ];
        args.extend_from_slice(off);
        ok(&mixdown(&args));
        let (_, tp) = loudness_and_peak(&out);
        assert!(tp <= -1.0 + 1e-3, "{off:?}: true peak {tp}");
    }
}
