//! The `mixdown` command end to end: bad input of every kind gives a one-line error naming
//! the file and a non-zero exit (never a panic, never a changed input); good input gives a
//! master on target; the same command twice gives the same bytes.

use std::path::PathBuf;

mod common;
use common::*;

#[test]
fn masters_a_song_onto_its_target_and_writes_a_report() {
    let d = tmp();
    let inp = d.path().join("song.wav");
    write_wav(&inp, 44_100, &song(44_100, 2, 12.0), false);
    let out = d.path().join("master.wav");
    let rep = d.path().join("report.json");
    let o = mixdown(&[
        "master",
        inp.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--target",
        "streaming",
        "--report",
        rep.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("On target"), "{text}");
    let (i, tp) = loudness_and_peak(&out);
    assert!((i - -14.0).abs() < 0.1, "loudness {i}");
    assert!(tp <= -1.0 + 1e-3, "true peak {tp}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rep).unwrap()).unwrap();
    assert_eq!(report["verdict"]["on_target"], true);
    for key in ["max_db", "mean_db"] {
        assert!(
            report["render"]["loudness"]["limiter_gr"][key].is_number(),
            "limiter {key}"
        );
    }
    assert!(report["before"]["loudness"]["integrated_lufs"].is_number());
    assert!(report["chain"]["limiter"]["params"]["ceiling_dbtp"].is_number());
    // analyze's findings: the input judged as a mix, the master as a master, with translation
    let d = &report["diagnosis"];
    assert_eq!(d["input"]["judged"]["as"], "mix");
    assert_eq!(d["output"]["judged"]["as"], "master");
    assert_eq!(d["output"]["schema"], "mixdown.analyze/1");
    assert!(d["output"]["findings"].is_array());
    assert_eq!(
        d["output"]["translation"].as_array().map(|t| t.len()),
        Some(5)
    );
    assert!(text.contains("Diagnosis of the master"), "{text}");
}

#[test]
fn the_same_command_twice_gives_identical_bytes() {
    let d = tmp();
    let inp = d.path().join("song.wav");
    write_wav(&inp, 48_000, &song(48_000, 2, 8.0), false);
    let mut outputs = Vec::new();
    for (k, ext) in [(1, "wav"), (2, "wav"), (3, "flac"), (4, "flac")] {
        let out = d.path().join(format!("m{k}.{ext}"));
        let rep = d.path().join(format!("r{k}.json"));
        let o = mixdown(&[
            "master",
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--bit-depth",
            "16",
            "--report",
            rep.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push((
            std::fs::read(&out).unwrap(),
            std::fs::read_to_string(&rep).unwrap(),
        ));
    }
    assert!(outputs[0].0 == outputs[1].0, "WAV differs between runs");
    assert!(outputs[2].0 == outputs[3].0, "FLAC differs between runs");
    // reports differ only in the output file name
    assert_eq!(
        outputs[0].1.replace("m1.wav", "X"),
        outputs[1].1.replace("m2.wav", "X")
    );
}

#[test]
fn the_input_is_never_modified_or_overwritten() {
    let d = tmp();
    let inp = d.path().join("song.wav");
    write_wav(&inp, 44_100, &song(44_100, 2, 3.0), false);
    let before = std::fs::read(&inp).unwrap();
    // output path equal to the input, directly and through another spelling of the path
    let alias = d.path().join(".").join("song.wav");
    for out in [inp.clone(), alias] {
        let o = mixdown(&["master", inp.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_clean_error(&o, "song.wav", "output = input");
        assert!(stderr(&o).contains("never overwrites"), "{}", stderr(&o));
    }
    // the report path equal to the input
    let out = d.path().join("m.wav");
    let o = mixdown(&[
        "master",
        inp.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--report",
        inp.to_str().unwrap(),
    ]);
    assert_clean_error(&o, "song.wav", "report = input");
    assert_eq!(std::fs::read(&inp).unwrap(), before, "input changed");
}

#[test]
fn missing_or_unwritable_output_folder() {
    let d = tmp();
    let inp = d.path().join("song.wav");
    write_wav(&inp, 44_100, &song(44_100, 2, 3.0), false);
    let out = d.path().join("no-such-folder").join("m.wav");
    let o = mixdown(&["master", inp.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_clean_error(&o, "m.wav", "missing folder");
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    // a folder that cannot be written: a path under a regular file
    let file = d.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("m.wav");
    let o = mixdown(&["master", inp.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_clean_error(&o, "m.wav", "unwritable folder");
    // no temporary files left behind
    let left: Vec<PathBuf> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("mixdown-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn bad_input_files_give_one_line_errors() {
    let d = tmp();
    let out = d.path().join("m.wav");
    let out = out.to_str().unwrap();
    let run = |name: &str, bytes: &[u8], what: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = mixdown(&["master", p.to_str().unwrap(), "-o", out]);
        assert_clean_error(&o, name, what);
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{what}: input changed");
        stderr(&o)
    };
    run("empty.wav", b"", "empty file");
    run(
        "text.wav",
        b"this is not audio, just a text file named .wav\n",
        "text file",
    );
    // a WAV header that promises data that is not there (truncated to the header)
    let good = d.path().join("good.wav");
    write_wav(&good, 44_100, &song(44_100, 2, 1.0), false);
    let bytes = std::fs::read(&good).unwrap();
    run("header_only.wav", &bytes[..44], "truncated to the header");
    // zero-length audio: a valid WAV with no frames
    let z = d.path().join("zero.wav");
    write_wav(&z, 44_100, &[vec![], vec![]], false);
    let zb = std::fs::read(&z).unwrap();
    let e = run("zero_frames.wav", &zb, "zero-length audio");
    assert!(e.contains("no audio"), "{e}");
    // missing file
    let o = mixdown(&[
        "master",
        d.path().join("nope.wav").to_str().unwrap(),
        "-o",
        out,
    ]);
    assert_clean_error(&o, "nope.wav", "missing file");
}

#[test]
fn a_truncated_wav_is_mastered_from_what_is_there() {
    let d = tmp();
    let good = d.path().join("good.wav");
    write_wav(&good, 44_100, &song(44_100, 2, 6.0), false);
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = d.path().join("m.wav");
    let o = mixdown(&[
        "master",
        cut.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, chans) = read_wav(&out);
    let secs = chans[0].len() as f64 / 44_100.0;
    assert!(
        (secs - 3.0).abs() < 0.1,
        "expected the first half, got {secs} s"
    );
}

#[test]
fn nan_and_infinite_samples_are_refused() {
    let d = tmp();
    let mut chans = song(44_100, 2, 2.0);
    chans[0][30_000] = f32::NAN;
    chans[1][40_000] = f32::INFINITY;
    let p = d.path().join("nan.wav");
    write_wav(&p, 44_100, &chans, true);
    let o = mixdown(&[
        "master",
        p.to_str().unwrap(),
        "-o",
        d.path().join("m.wav").to_str().unwrap(),
    ]);
    assert_clean_error(&o, "nan.wav", "NaN/Inf");
    let e = stderr(&o);
    assert!(
        e.contains("2 invalid samples") && e.contains("0:00.680"),
        "{e}"
    );
}

#[test]
fn digital_silence_is_refused_plainly() {
    let d = tmp();
    let p = d.path().join("silence.wav");
    write_wav(&p, 44_100, &[vec![0.0; 88_200], vec![0.0; 88_200]], false);
    let o = mixdown(&[
        "master",
        p.to_str().unwrap(),
        "-o",
        d.path().join("m.wav").to_str().unwrap(),
    ]);
    assert_clean_error(&o, "silence.wav", "silence");
    assert!(stderr(&o).contains("digital silence"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("inf"), "{}", stderr(&o));
}

#[test]
fn six_channels_are_refused_with_a_reason() {
    let d = tmp();
    let p = d.path().join("surround.wav");
    let chans = song(48_000, 6, 1.0);
    write_wav(&p, 48_000, &chans, false);
    let o = mixdown(&[
        "master",
        p.to_str().unwrap(),
        "-o",
        d.path().join("m.wav").to_str().unwrap(),
    ]);
    assert_clean_error(&o, "surround.wav", "6 channels");
    assert!(stderr(&o).contains("6 channels"), "{}", stderr(&o));
}

#[test]
fn extreme_sample_rates_work() {
    let d = tmp();
    for &sr in &[8_000u32, 192_000] {
        let p = d.path().join(format!("s{sr}.wav"));
        write_wav(&p, sr, &song(sr, 2, 5.0), false);
        let out = d.path().join(format!("m{sr}.wav"));
        let o = mixdown(&[
            "master",
            p.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{sr}: {}", stderr(&o));
        let (osr, _) = read_wav(&out);
        assert_eq!(osr, sr, "sample rate kept");
        let (i, tp) = loudness_and_peak(&out);
        assert!((i - -14.0).abs() < 0.15, "{sr}: loudness {i}");
        assert!(tp <= -1.0 + 0.01, "{sr}: true peak {tp}");
    }
    // and a rate change on request
    let p = d.path().join("s8000.wav");
    let out = d.path().join("up.wav");
    let o = mixdown(&[
        "master",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--sample-rate",
        "48000",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_wav(&out).0, 48_000);
}

#[test]
fn mono_stays_mono_and_custom_targets_are_met() {
    let d = tmp();
    let p = d.path().join("mono.wav");
    write_wav(&p, 44_100, &song(44_100, 1, 8.0), false);
    let out = d.path().join("m.wav");
    let o = mixdown(&[
        "master",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--lufs",
        "-16",
        "--true-peak",
        "-1.5",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, chans) = read_wav(&out);
    assert_eq!(chans.len(), 1);
    let (i, tp) = loudness_and_peak(&out);
    assert!((i - -16.0).abs() < 0.1, "loudness {i}");
    assert!(tp <= -1.5 + 1e-3, "true peak {tp}");
}

#[test]
fn usage_errors_are_explained() {
    let d = tmp();
    let p = d.path().join("song.wav");
    write_wav(&p, 44_100, &song(44_100, 2, 1.0), false);
    let inp = p.to_str().unwrap();
    for (args, needle) in [
        (vec!["--target", "vinyl"], "unknown target"),
        (vec!["--lufs", "3"], "out of range"),
        (vec!["--amount", "2"], "out of range"),
        (vec!["--bit-depth", "12"], "bit depth"),
    ] {
        let out = d.path().join("m.wav");
        let mut a = vec!["master", inp, "-o", out.to_str().unwrap()];
        a.extend(args.iter());
        let o = mixdown(&a);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    let o = mixdown(&[
        "master",
        inp,
        "-o",
        d.path().join("m.mp3").to_str().unwrap(),
    ]);
    assert_clean_error(&o, "m.mp3", "unsupported output format");
}
