//! Reports: every measurement before and after, every parameter chosen, and the verdict, as
//! data (JSON) and as a short summary a musician can read.

use crate::analysis::Analysis;
use crate::diagnose::Diagnosis;
use crate::master::{MasterChain, RenderOutcome};
use crate::targets::Target;
use crate::verify::CrossCheck;
use mixdown_dsp::biquad::FilterKind;
use serde::{Deserialize, Serialize};

/// Where a file came from or went to, and in what format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub format: String,
    pub sample_format: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub frames: usize,
    pub lossy: bool,
}

/// Did the master meet its target?
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Integrated loudness within 0.2 LU of the target on both meters, true peak at or under
    /// the ceiling on both.
    pub on_target: bool,
    pub loudness_error_lu: Option<f64>,
    pub true_peak_ok: bool,
    /// Output loudness range as a share of the input's (1 = kept entirely).
    pub loudness_range_kept: Option<f64>,
    /// Plain-language notes: what could not be done and why, warnings about the input.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterReport {
    pub mixdown_version: String,
    pub input: FileInfo,
    pub output: FileInfo,
    pub target: Option<Target>,
    pub before: Analysis,
    pub after: Analysis,
    /// The same output measured by an independent meter.
    pub after_cross_check: CrossCheck,
    pub chain: Option<MasterChain>,
    pub render: RenderOutcome,
    pub verdict: Verdict,
    /// `mixdown analyze`'s findings on the input (judged as a mix) and on the master (judged
    /// as a master, with the playback simulations); present when asked for (`--report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<MasterDiagnosis>,
    /// The reference matched (measured, or read from a match file), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<crate::master::reference::ReferenceProfile>,
    /// The A/B preview written (`--preview`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<crate::master::preview::Preview>,
}

/// The diagnosis of a mastering job's input and output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterDiagnosis {
    pub input: Diagnosis,
    pub output: Diagnosis,
}

fn f1(x: Option<f64>, unit: &str) -> String {
    match x {
        Some(v) => format!("{v:.1} {unit}"),
        None => "n/a".into(),
    }
}

fn band_text(k: &FilterKind) -> String {
    match k {
        FilterKind::Peaking {
            freq_hz, gain_db, ..
        } => format!("bell {} {gain_db:+.1} dB", hz(*freq_hz)),
        FilterKind::LowShelf {
            freq_hz, gain_db, ..
        } => format!("low shelf {} {gain_db:+.1} dB", hz(*freq_hz)),
        FilterKind::HighShelf {
            freq_hz, gain_db, ..
        } => format!("high shelf {} {gain_db:+.1} dB", hz(*freq_hz)),
        FilterKind::HighPass { freq_hz, .. } => format!("high-pass {}", hz(*freq_hz)),
        FilterKind::LowPass { freq_hz, .. } => format!("low-pass {}", hz(*freq_hz)),
        FilterKind::Notch { freq_hz, .. } => format!("notch {}", hz(*freq_hz)),
        other => format!("{other:?}"),
    }
}

fn hz(f: f64) -> String {
    if f >= 1000.0 {
        format!("{:.1} kHz", f / 1000.0)
    } else {
        format!("{f:.0} Hz")
    }
}

impl MasterReport {
    /// The terminal summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let b = &self.before;
        let a = &self.after;
        if let Some(t) = &self.target {
            s += &format!(
                "Target: {} ({:.1} LUFS, true peak {:.1} dBTP)\n\n",
                t.name, t.lufs, t.true_peak_dbtp
            );
        }
        s += &format!("{:<18}{:>14}{:>14}\n", "", "before", "after");
        let row = |name: &str, x: Option<f64>, y: Option<f64>, unit: &str| {
            format!("{name:<18}{:>14}{:>14}\n", f1(x, unit), f1(y, unit))
        };
        s += &row(
            "Loudness",
            b.loudness.integrated_lufs,
            a.loudness.integrated_lufs,
            "LUFS",
        );
        s += &row("True peak", b.true_peak_dbtp, a.true_peak_dbtp, "dBTP");
        s += &row(
            "Loudness range",
            b.loudness.loudness_range_lu,
            a.loudness.loudness_range_lu,
            "LU",
        );
        s += &row("Peak/loudness", b.plr_db, a.plr_db, "dB");
        s += &row("Crest factor", b.levels.crest_db, a.levels.crest_db, "dB");
        if let (Some(x), Some(y)) = (&b.stereo, &a.stereo) {
            s += &format!(
                "{:<18}{:>14}{:>14}\n",
                "Stereo width",
                format!("{:.0}%", x.width * 100.0),
                format!("{:.0}%", y.width * 100.0)
            );
        }
        if let Some(c) = &self.chain {
            s += "\nWhat mixdown did\n";
            let line = |name: &str, on: bool, what: String, why: &str| {
                if on {
                    format!("  {name:<9} {what}\n  {:<9} ({why})\n", "")
                } else {
                    format!("  {name:<9} off: {why}\n")
                }
            };
            if let Some(m) = &c.matching {
                s += &line("Match", m.enabled, m.summary(), &m.why);
                for n in &m.notes {
                    s += &format!("  {:<9} note: {n}\n", "");
                }
            }
            let eq_what =
                c.eq.bands
                    .iter()
                    .map(band_text)
                    .collect::<Vec<_>>()
                    .join(", ");
            s += &line("EQ", c.eq.enabled, eq_what, &c.eq.why);
            let glue_what = match &self.render.glue_gain_reduction {
                Some(g) => format!(
                    "{:.1}:1 from {:.1} dBFS; gain reduction max {:.1} dB, mean {:.2} dB",
                    c.glue.params.ratio, c.glue.params.threshold_db, g.max_db, g.mean_db
                ),
                None => String::new(),
            };
            s += &line("Glue", c.glue.enabled, glue_what, &c.glue.why);
            let st_what = match c.stereo.mono_below_hz {
                Some(f) => format!("mono below {f:.0} Hz, width {:.2}", c.stereo.width),
                None => format!("width {:.2}", c.stereo.width),
            };
            s += &line("Stereo", c.stereo.enabled, st_what, &c.stereo.why);
            let l = &self.render.loudness;
            let lim_what = format!(
                "gain reduction max {:.1} dB, mean {:.2} dB; it took {:.1} LU of loudness",
                l.limiter_gr.max_db, l.limiter_gr.mean_db, l.limiting_loss_lu
            );
            s += &line("Limiter", c.limiter.enabled, lim_what, &c.limiter.why);
            s += &line(
                "Loudness",
                c.loudness.enabled,
                format!(
                    "{:+.2} dB of gain ({} render-and-measure rounds)",
                    l.gain_db, l.rounds
                ),
                &c.loudness.why,
            );
            s += &line(
                "Dither",
                c.dither.enabled,
                c.dither
                    .bits
                    .map(|b| format!("TPDF, {b}-bit"))
                    .unwrap_or_default(),
                &c.dither.why,
            );
        }
        s += "\n";
        let v = &self.verdict;
        let x = &self.after_cross_check;
        if v.on_target {
            s += &format!(
                "On target: {} (the independent ebur128 meter reads {}), true peak {} (4x oversampled).\n",
                f1(a.loudness.integrated_lufs, "LUFS"),
                f1(x.integrated_lufs, "LUFS"),
                f1(a.true_peak_dbtp, "dBTP"),
            );
        } else {
            s += &format!(
                "NOT ON TARGET: reached {} (the independent ebur128 meter reads {}) with true peak {}.\n",
                f1(a.loudness.integrated_lufs, "LUFS"),
                f1(x.integrated_lufs, "LUFS"),
                f1(a.true_peak_dbtp, "dBTP"),
            );
        }
        for n in &v.notes {
            s += &format!("Note: {n}\n");
        }
        if let Some(d) = &self.diagnosis {
            s += &format!(
                "Diagnosis of the input: {}\nDiagnosis of the master: {}\n(every finding is in the report; `mixdown analyze` explains them)\n",
                d.input.verdict, d.output.verdict
            );
        }
        s
    }
}
