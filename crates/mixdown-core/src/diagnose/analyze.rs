//! A whole diagnosis: every check run on one input, the findings sorted by how much they
//! matter, a one-line verdict, and the figures behind it. This is what `mixdown analyze`
//! prints and what `--json` writes; its schema is documented in `docs/analyze-schema.md` and
//! versioned by [`SCHEMA`].

use super::file::{self, FileFacts, JudgeAs, PlatformPlay};
use super::noise::{self, NoiseMeasurements};
use super::reverb::{self, ReverbEstimate};
use super::stems::{self, StemsDiagnosis};
use super::translate::{self, Translation};
use super::{Finding, Severity};
use crate::analysis::Analysis;
use crate::AudioBuffer;
use serde::{Deserialize, Serialize};

/// Name and version of the JSON schema. A new field may be added within a version; a field or
/// rule id is never renamed or removed without a new version.
pub const SCHEMA: &str = "mixdown.analyze/1";

/// A file is judged as a pre-master mix when it leaves this much true-peak headroom, dBTP ...
pub const MIX_MAX_TRUE_PEAK_DBTP: f64 = -2.0;
/// ... and is no louder than this, LUFS.
pub const MIX_MAX_LUFS: f64 = -16.0;

/// What was analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// One finished file (a mix or a master).
    File,
    /// A folder of stems (their plain sum is judged as the mix).
    Stems,
}

/// How the input was judged, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// `mix` (a pre-master mix: headroom expected) or `master` (a finished master).
    #[serde(rename = "as")]
    pub judge: JudgeAs,
    /// `user` (`--as`) or `auto` (from the levels).
    pub chosen_by: String,
    /// Why, in words.
    pub why: String,
}

/// Findings per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub problem: usize,
    pub warning: usize,
    pub info: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Problem => c.problem += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
            }
        }
        c
    }
}

/// The headline figures of the input.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub duration_s: f64,
    pub sample_rate: u32,
    pub channels: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrated_lufs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_term_max_lufs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_range_lu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_peak_dbtp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_peak_dbfs: Option<f64>,
    /// Peak-to-loudness ratio (true peak minus integrated loudness), dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plr_db: Option<f64>,
    /// Left-right correlation (+1 mono, 0 unrelated, -1 out of phase); stereo only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
    /// Side energy as a share of the total (0 mono, 0.5 unrelated channels); stereo only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
}

impl Summary {
    pub fn of(an: &Analysis) -> Summary {
        let r = |x: Option<f64>| x.filter(|v| v.is_finite()).map(round2);
        Summary {
            duration_s: round2(an.duration_s),
            sample_rate: an.sample_rate,
            channels: an.channels,
            integrated_lufs: r(an.loudness.integrated_lufs),
            short_term_max_lufs: r(an.loudness.short_term_max_lufs),
            loudness_range_lu: r(an.loudness.loudness_range_lu),
            true_peak_dbtp: r(an.true_peak_dbtp),
            sample_peak_dbfs: r(an.levels.sample_peak_dbfs),
            plr_db: r(an.plr_db),
            correlation: an
                .stereo
                .as_ref()
                .and_then(|s| s.correlation)
                .map(|c| (c * 1000.0).round() / 1000.0),
            width: an
                .stereo
                .as_ref()
                .map(|s| (s.width * 1000.0).round() / 1000.0),
        }
    }
}

/// The diagnosis of one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// [`SCHEMA`].
    pub schema: String,
    pub mixdown_version: String,
    /// The path as given.
    pub input: String,
    pub kind: InputKind,
    pub judged: Judgement,
    /// One or two sentences: how it is, and what to fix first.
    pub verdict: String,
    pub counts: Counts,
    pub summary: Summary,
    /// How each streaming platform and broadcast would play it.
    #[serde(default)]
    pub platforms: Vec<PlatformPlay>,
    /// Every finding, the most serious first (problems, warnings, then information; within a
    /// severity in the order of the checks).
    pub findings: Vec<Finding>,
    /// The figures behind the noise findings.
    pub noise: NoiseMeasurements,
    /// The figures behind the reverb finding.
    pub reverb: ReverbEstimate,
    /// Playback simulations (`--translate`); empty when not asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translation: Vec<Translation>,
    /// A folder of stems: what was measured on each track, and their masking (the stem
    /// findings are in `findings` with the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stems: Option<StemsDiagnosis>,
}

impl Diagnosis {
    /// The most serious severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether any finding is at least `sev`.
    pub fn has_at_least(&self, sev: Severity) -> bool {
        self.worst().is_some_and(|w| w >= sev)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Judge a file as a pre-master mix or a finished master from its levels: a mix leaves true-
/// peak headroom (at most [`MIX_MAX_TRUE_PEAK_DBTP`]) and is not loud (at most
/// [`MIX_MAX_LUFS`]); anything else is judged as a master.
pub fn guess_judge(an: &Analysis) -> (JudgeAs, String) {
    let tp = an.true_peak_dbtp.filter(|v| v.is_finite());
    let lufs = an.loudness.integrated_lufs.filter(|v| v.is_finite());
    let fig = match (tp, lufs) {
        (Some(t), Some(l)) => format!("it peaks at {t:.1} dBTP and reads {l:.1} LUFS"),
        (Some(t), None) => format!("it peaks at {t:.1} dBTP"),
        _ => "it is silent".to_string(),
    };
    let is_mix =
        tp.is_none_or(|t| t <= MIX_MAX_TRUE_PEAK_DBTP) && lufs.is_none_or(|l| l <= MIX_MAX_LUFS);
    if is_mix {
        (
            JudgeAs::Mix,
            format!(
                "judged as a pre-master mix: {fig}, leaving headroom for mastering (--as master \
                 judges it as a finished master)"
            ),
        )
    } else {
        (
            JudgeAs::Master,
            format!(
                "judged as a finished master: {fig} (--as mix judges it as a mix for \
                 mastering)"
            ),
        )
    }
}

/// Put the most serious findings first; within a severity the checks' own order is kept.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
}

/// One or two sentences a musician reads first.
pub fn verdict(findings: &[Finding], judge: JudgeAs) -> String {
    let c = Counts::of(findings);
    let what = match judge {
        JudgeAs::Mix => "mix",
        JudgeAs::Master => "master",
    };
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let first = findings
        .iter()
        .find(|f| f.severity >= Severity::Warning)
        .map(|f| format!(" Fix first: {}.", f.title.trim_end_matches('.')));
    match (c.problem, c.warning) {
        (0, 0) => format!(
            "A clean {what}: no mistakes found{}.",
            if c.info > 0 {
                format!(" ({} worth knowing)", plural(c.info, "note"))
            } else {
                String::new()
            }
        ),
        (0, w) => format!(
            "A {what} with {} to check.{}",
            plural(w, "warning"),
            first.unwrap_or_default()
        ),
        (p, 0) => format!(
            "A {what} with {} to fix.{}",
            plural(p, "problem"),
            first.unwrap_or_default()
        ),
        (p, w) => format!(
            "A {what} with {} to fix and {} to check.{}",
            plural(p, "problem"),
            plural(w, "warning"),
            first.unwrap_or_default()
        ),
    }
}

/// The checks of a finished file (clipping, dynamics, headroom or platforms, tonal balance,
/// stereo, noise, reverb), reusing an analysis of it, in the checks' order.
pub fn file_findings(
    buf: &AudioBuffer,
    an: Analysis,
    judge: JudgeAs,
) -> (Vec<Finding>, NoiseMeasurements, ReverbEstimate) {
    let (facts, (noise_m, reverb_e)) = rayon::join(
        || FileFacts::with_analysis(buf, an),
        || rayon::join(|| noise::measure(buf), || reverb::estimate(buf)),
    );
    let mut findings = file::check(&facts, judge);
    findings.extend(noise::findings(&noise_m, buf.duration_s()));
    // heavy limiting or compression holds the level up between hits as a reverb does: filled
    // gaps or cathedral-long decays in such a file cannot be blamed on reverb alone
    let squashed = findings.iter().any(|f| {
        f.severity >= Severity::Warning
            && matches!(
                f.rule.as_str(),
                "dynamics.over_limited" | "dynamics.over_compressed" | "dynamics.flattened"
            )
    });
    findings.extend(reverb::finding_in_context(&reverb_e, squashed));
    (findings, noise_m, reverb_e)
}

/// How the diagnosis is asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Judge as this (None: guess from the levels).
    pub judge: Option<JudgeAs>,
    /// Simulate playback on phone, laptop, earbuds, car and mono.
    pub translate: bool,
}

/// Diagnose one file already decoded. `input` names it in the result.
pub fn diagnose_file(buf: &AudioBuffer, input: &str, opts: &Options) -> Diagnosis {
    let an = crate::analysis::analyse(buf);
    diagnose_analysed(buf, an, input, InputKind::File, opts, &[])
}

/// Diagnose a buffer with its analysis; `stems` (name, track as placed) are passed to the
/// translation, which says which of them suffer on each system.
pub fn diagnose_analysed(
    buf: &AudioBuffer,
    an: Analysis,
    input: &str,
    kind: InputKind,
    opts: &Options,
    stems: &[(String, &AudioBuffer)],
) -> Diagnosis {
    let (judge, chosen_by, why) = match opts.judge {
        Some(j) => (
            j,
            "user",
            format!(
                "judged as {} (--as {})",
                match j {
                    JudgeAs::Mix => "a pre-master mix",
                    JudgeAs::Master => "a finished master",
                },
                j.name()
            ),
        ),
        None => {
            let (j, why) = guess_judge(&an);
            (j, "auto", why)
        }
    };
    let summary = Summary::of(&an);
    let platforms = match (summary.integrated_lufs, summary.true_peak_dbtp) {
        (Some(l), Some(t)) => file::platform_plays(l, t),
        _ => Vec::new(),
    };
    let ((mut findings, noise, reverb), translation) = rayon::join(
        || file_findings(buf, an, judge),
        || {
            if opts.translate {
                translate::translate(buf, stems)
            } else {
                Vec::new()
            }
        },
    );
    sort_findings(&mut findings);
    Diagnosis {
        schema: SCHEMA.to_string(),
        mixdown_version: env!("CARGO_PKG_VERSION").to_string(),
        input: input.to_string(),
        kind,
        judged: Judgement {
            judge,
            chosen_by: chosen_by.to_string(),
            why,
        },
        verdict: verdict(&findings, judge),
        counts: Counts::of(&findings),
        summary,
        platforms,
        findings,
        noise,
        reverb,
        translation,
        stems: None,
    }
}

/// Diagnose a folder of stems: the stem checks (balance by role, masking, panning, effects on
/// each track, organisation) and the file checks on their plain sum as it plays (judged as a
/// pre-master mix unless `opts` says otherwise). `progress(done, total)` while loading.
pub fn diagnose_folder(
    dir: &std::path::Path,
    opts: &Options,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> crate::error::Result<Diagnosis> {
    let (audio, org) = crate::mix::organise::load_folder(dir, progress)?;
    Ok(diagnose_stems(
        &org,
        &audio,
        &dir.display().to_string(),
        opts,
    ))
}

/// [`diagnose_folder`] on stems already loaded.
pub fn diagnose_stems(
    org: &crate::mix::organise::Organisation,
    audio: &[AudioBuffer],
    input: &str,
    opts: &Options,
) -> Diagnosis {
    let sum = stems::sum_stems(org, audio);
    let (st, an) = rayon::join(
        || stems::check_stems(org, audio),
        || crate::analysis::analyse(&sum),
    );
    let user_judged = opts.judge.is_some();
    let opts = Options {
        judge: Some(opts.judge.unwrap_or(JudgeAs::Mix)),
        translate: opts.translate,
    };
    let active: Vec<(String, &AudioBuffer)> = org
        .active()
        .into_iter()
        .filter(|&i| i < audio.len())
        .map(|i| (org.stems[i].name.clone(), &audio[i]))
        .collect();
    let mut d = diagnose_analysed(&sum, an, input, InputKind::Stems, &opts, &active);
    if !user_judged {
        // a folder is a mix unless the user says otherwise
        d.judged.chosen_by = "auto".into();
        d.judged.why = "a folder of stems is judged as a pre-master mix: their plain sum as it \
                        plays (--as master judges the sum as a finished master)"
            .into();
    }
    // the stems say more precisely what the sum's image check says
    let lopsided = st.findings.iter().any(|f| f.rule == "stems.pan.lopsided");
    let mut findings: Vec<Finding> = st.findings.clone();
    findings.extend(
        d.findings
            .drain(..)
            .filter(|f| !(lopsided && f.rule == "stereo.imbalance")),
    );
    sort_findings(&mut findings);
    d.verdict = verdict(&findings, d.judged.judge);
    d.counts = Counts::of(&findings);
    d.findings = findings;
    d.stems = Some(st);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::noise::testsong::song;

    #[test]
    fn a_quiet_mix_is_judged_as_a_mix_and_a_loud_one_as_a_master() {
        let mut quiet = song();
        quiet.apply_gain(0.5);
        let d = diagnose_file(&quiet, "quiet.wav", &Options::default());
        assert_eq!(d.judged.judge, JudgeAs::Mix, "{:?}", d.judged);
        assert_eq!(d.judged.chosen_by, "auto");
        let an = crate::analysis::analyse(&quiet);
        let need = 10f64.powf((-8.0 - an.loudness.integrated_lufs.unwrap()) / 20.0);
        let mut loud = quiet.clone();
        loud.apply_gain(need as f32);
        for c in &mut loud.channels {
            for v in c.iter_mut() {
                *v = v.clamp(-1.0, 1.0);
            }
        }
        let d = diagnose_file(&loud, "loud.wav", &Options::default());
        assert_eq!(d.judged.judge, JudgeAs::Master, "{:?}", d.judged);
        assert!(d.has_at_least(Severity::Problem), "{:#?}", d.findings);
        // the most serious first, and the counts and verdict agree with the list
        assert_eq!(d.findings[0].severity, Severity::Problem);
        assert!(d
            .findings
            .windows(2)
            .all(|w| w[0].severity >= w[1].severity));
        assert_eq!(
            d.counts.problem,
            d.findings
                .iter()
                .filter(|f| f.severity == Severity::Problem)
                .count()
        );
        assert!(d.verdict.contains("problem"), "{}", d.verdict);
        // the user's word wins
        let d = diagnose_file(
            &loud,
            "loud.wav",
            &Options {
                judge: Some(JudgeAs::Mix),
                translate: false,
            },
        );
        assert_eq!(d.judged.judge, JudgeAs::Mix);
        assert_eq!(d.judged.chosen_by, "user");
        assert!(d.findings.iter().any(|f| f.rule.starts_with("headroom")));
    }

    #[test]
    fn the_same_input_gives_the_same_json() {
        let mut b = song();
        b.channels[0][20_000] = 0.9;
        let opts = Options {
            judge: None,
            translate: true,
        };
        let a = serde_json::to_string(&diagnose_file(&b, "x.wav", &opts)).unwrap();
        let b2 = serde_json::to_string(&diagnose_file(&b, "x.wav", &opts)).unwrap();
        assert_eq!(a, b2);
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["translation"].as_array().map(|t| t.len()), Some(5));
        // it reads back
        let d: Diagnosis = serde_json::from_str(&a).unwrap();
        assert_eq!(d.input, "x.wav");
    }

    #[test]
    fn verdicts_read_well() {
        assert!(verdict(&[], JudgeAs::Master).starts_with("A clean master"));
        let f = Finding::new(
            "x",
            Severity::Warning,
            "Hiss in the pauses",
            -55.0,
            -60.0,
            "dBFS",
        );
        let v = verdict(&[f], JudgeAs::Mix);
        assert_eq!(
            v,
            "A mix with 1 warning to check. Fix first: Hiss in the pauses."
        );
    }

    #[test]
    fn silence_and_odd_input_do_not_panic() {
        for b in [
            AudioBuffer::silent(44_100, 2, 44_100),
            AudioBuffer::silent(44_100, 1, 10),
            AudioBuffer::silent(48_000, 2, 0),
        ] {
            let d = diagnose_file(
                &b,
                "s.wav",
                &Options {
                    judge: None,
                    translate: true,
                },
            );
            assert!(!d.has_at_least(Severity::Warning), "{:#?}", d.findings);
        }
    }
}
