//! `mixdown analyze` end to end: text and JSON, --fail-on exit status, --as, the playback
//! simulations written to files, and one-line errors.

mod common;
use common::*;

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn a_clipped_song_is_a_problem_and_fail_on_says_so() {
    let d = tmp();
    let inp = d.path().join("hot.wav");
    // the test song pushed about 6 dB into hard clipping (it peaks near -14 dBFS)
    let chans: Vec<Vec<f32>> = song(44_100, 2, 10.0)
        .into_iter()
        .map(|c| c.into_iter().map(|v| (v * 10.0).clamp(-1.0, 1.0)).collect())
        .collect();
    write_wav(&inp, 44_100, &chans, false);
    let p = inp.to_str().unwrap();
    let o = mixdown(&["analyze", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("PROBLEM"), "{text}");
    assert!(text.contains("Clipping"), "{text}");
    assert!(text.contains("What to do"), "{text}");
    let o = mixdown(&["analyze", p, "--fail-on", "warning", "-q"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = mixdown(&["analyze", p, "--json"]);
    let v = json_of(&o);
    assert_eq!(v["schema"], "mixdown.analyze/1");
    assert_eq!(v["judged"]["as"], "master");
    assert_eq!(v["findings"][0]["severity"], "problem");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "clipping" && !f["times"].as_array().unwrap().is_empty()));
    // the same input, the same findings
    let again = mixdown(&["analyze", p, "--json"]);
    assert_eq!(o.stdout, again.stdout);
}

#[test]
fn a_mix_with_headroom_passes_and_as_master_judges_it_as_a_master() {
    let d = tmp();
    let inp = d.path().join("mix.wav");
    // the test song at about -6 dBFS peak: a mix ready for mastering
    let chans: Vec<Vec<f32>> = song(44_100, 2, 10.0)
        .into_iter()
        .map(|c| c.into_iter().map(|v| v * 0.5).collect())
        .collect();
    write_wav(&inp, 44_100, &chans, false);
    let p = inp.to_str().unwrap();
    let o = mixdown(&["analyze", p, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["judged"]["as"], "mix");
    assert_eq!(v["judged"]["chosen_by"], "auto");
    let o = mixdown(&["analyze", p, "--json", "--as", "master"]);
    let v = json_of(&o);
    assert_eq!(v["judged"]["as"], "master");
    assert_eq!(v["judged"]["chosen_by"], "user");
}

#[test]
fn translation_is_reported_and_rendered_to_files() {
    let d = tmp();
    let inp = d.path().join("song.wav");
    write_wav(&inp, 44_100, &song(44_100, 2, 6.0), false);
    let sims = d.path().join("sims");
    let rep = d.path().join("findings.json");
    let o = mixdown(&[
        "analyze",
        inp.to_str().unwrap(),
        "--translate-out",
        sims.to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("How it plays elsewhere"), "{text}");
    for sys in ["phone", "laptop", "earbuds", "car", "mono"] {
        let f = sims.join(format!("song.{sys}.wav"));
        let (sr, ch) = read_wav(&f);
        assert_eq!(sr, 44_100);
        assert_eq!(ch[0].len(), 6 * 44_100, "{sys}");
        assert!(text.contains(sys), "{text}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rep).unwrap()).unwrap();
    assert_eq!(v["translation"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_input_and_bad_flags_are_explained() {
    let d = tmp();
    let missing = d.path().join("nope.wav");
    let o = mixdown(&["analyze", missing.to_str().unwrap()]);
    assert_clean_error(&o, "nope.wav", "not found");
    let inp = d.path().join("song.wav");
    write_wav(&inp, 44_100, &song(44_100, 2, 3.0), false);
    let p = inp.to_str().unwrap();
    let o = mixdown(&["analyze", p, "--fail-on", "sometimes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("choose info, warning or problem"));
    let o = mixdown(&["analyze", p, "--as", "demo"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("choose mix or master"));
    // the report may not overwrite the input
    let o = mixdown(&["analyze", p, "--report", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(inp.exists());
}

#[test]
fn a_folder_of_stems_gets_the_stem_checks_too() {
    let d = tmp();
    let sr = 44_100;
    let n = 8 * sr as usize;
    let tone = |hz: f64, amp: f32| -> Vec<f32> {
        (0..n)
            .map(|i| {
                amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(sr)).sin() as f32
            })
            .collect()
    };
    let drums = song(sr, 1, 8.0).remove(0);
    write_wav(&d.path().join("drums.wav"), sr, &[drums], false);
    write_wav(&d.path().join("bass.wav"), sr, &[tone(55.0, 0.3)], false);
    write_wav(
        &d.path().join("Audio 1.wav"),
        sr,
        &[tone(440.0, 0.1)],
        false,
    );
    // a silent track
    write_wav(&d.path().join("vox.wav"), sr, &[vec![0.0; n]], false);
    let o = mixdown(&["analyze", d.path().to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["kind"], "stems");
    assert_eq!(v["judged"]["as"], "mix");
    assert_eq!(v["stems"]["tracks"].as_array().unwrap().len(), 4);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"stems.organisation.silent"), "{rules:?}");
    assert!(rules.contains(&"stems.organisation.unnamed"), "{rules:?}");
    let o = mixdown(&["analyze", d.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("vs. usual"), "{text}");
}
