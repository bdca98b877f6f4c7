//! The diagnosis as text for a terminal: the verdict first, then each warning and problem with
//! its figure, where it is, what it means and what to do; information in one line each; how
//! the platforms play it; what is lost on each playback system.

use super::analyze::{Diagnosis, InputKind};
use super::{Finding, Severity, TimeRange};
use std::fmt::Write;

/// Width the text is wrapped to.
const WIDTH: usize = 92;
/// Time ranges listed per finding at most.
const MAX_TIMES: usize = 4;

/// `m:ss.s`.
pub fn clock(s: f64) -> String {
    let s = s.max(0.0);
    let m = (s / 60.0).floor();
    format!("{}:{:04.1}", m as u64, s - 60.0 * m)
}

fn range_text(r: &TimeRange) -> String {
    if r.end_s - r.start_s < 0.05 {
        clock(r.start_s)
    } else {
        format!("{}-{}", clock(r.start_s), clock(r.end_s))
    }
}

/// The times of a finding, the first few and how many more.
pub fn times_text(times: &[TimeRange]) -> String {
    let mut s: Vec<String> = times.iter().take(MAX_TIMES).map(range_text).collect();
    if times.len() > MAX_TIMES {
        s.push(format!("and {} more", times.len() - MAX_TIMES));
    }
    s.join(", ")
}

fn hz_text(f: f64) -> String {
    if f >= 1000.0 {
        format!("{:.1} kHz", f / 1000.0)
    } else {
        format!("{f:.0} Hz")
    }
}

/// `text` wrapped at [`WIDTH`], the first line after `first`, the others indented by `indent`.
fn wrap(first: &str, indent: usize, text: &str) -> String {
    let mut out = String::from(first);
    let mut col = first.chars().count();
    let mut line_start = true;
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if !line_start && col + 1 + w > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
        line_start = false;
    }
    out.push('\n');
    out
}

fn value(v: f64, unit: &str) -> String {
    let num = if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    match unit {
        "" => num,
        "%" => format!("{num} %"),
        u => format!("{num} {u}"),
    }
}

fn finding_text(f: &Finding, out: &mut String) {
    let label = match f.severity {
        Severity::Problem => "PROBLEM",
        Severity::Warning => "WARNING",
        Severity::Info => "info",
    };
    let pad = 9;
    out.push_str(&wrap(&format!("{label:<pad$}"), pad, &f.title));
    let ind = " ".repeat(pad);
    let _ = writeln!(
        out,
        "{ind}measured {}, threshold {}   [{}]",
        value(f.measured, &f.unit),
        value(f.threshold, &f.unit),
        f.rule
    );
    if !f.times.is_empty() {
        out.push_str(&wrap(
            &format!("{ind}where: "),
            pad + 7,
            &times_text(&f.times),
        ));
    }
    if !f.tracks.is_empty() {
        out.push_str(&wrap(
            &format!("{ind}tracks: "),
            pad + 8,
            &f.tracks.join(", "),
        ));
    }
    if !f.bands_hz.is_empty() {
        let b: Vec<String> = f.bands_hz.iter().map(|&h| hz_text(h)).collect();
        out.push_str(&wrap(&format!("{ind}bands: "), pad + 7, &b.join(", ")));
    }
    if !f.meaning.is_empty() {
        out.push_str(&wrap(&format!("{ind}What it means: "), pad, &f.meaning));
    }
    if !f.fix.is_empty() {
        out.push_str(&wrap(&format!("{ind}What to do: "), pad, &f.fix));
    }
}

/// Capitalised, with a full stop.
fn sentence(s: &str) -> String {
    let mut c = s.trim().chars();
    let mut out = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn opt(v: Option<f64>, unit: &str) -> Option<String> {
    v.map(|x| format!("{x:.1} {unit}"))
}

impl Diagnosis {
    /// The diagnosis as text. `detail`: information findings get their full explanation too.
    pub fn text(&self, detail: bool) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let what = match self.kind {
            InputKind::File => "",
            InputKind::Stems => " (the stems summed as they are)",
        };
        let _ = writeln!(out, "mixdown analyze: {}{what}", self.input);
        let ch = match s.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        let mut facts = vec![
            clock(s.duration_s),
            format!("{:.1} kHz {ch}", f64::from(s.sample_rate) / 1000.0),
        ];
        facts.extend(opt(s.integrated_lufs, "LUFS"));
        facts.extend(s.true_peak_dbtp.map(|t| format!("true peak {t:+.1} dBTP")));
        facts.extend(opt(s.plr_db, "dB").map(|v| format!("PLR {v}")));
        facts.extend(opt(s.loudness_range_lu, "LU").map(|v| format!("LRA {v}")));
        facts.extend(s.correlation.map(|c| format!("correlation {c:+.2}")));
        out.push_str(&wrap("", 0, &facts.join(" · ")));
        let why = self.judged.why.clone();
        let mut first = why.chars();
        let why = first
            .next()
            .map(|c| c.to_uppercase().collect::<String>() + first.as_str())
            .unwrap_or_default();
        out.push_str(&wrap("", 0, &format!("{why}.")));
        if let Some(st) = &self.stems {
            let _ = writeln!(
                out,
                "\n{:<24} {:<16} {:>9} {:>11}  note",
                "track", "role", "LUFS", "vs. usual"
            );
            for t in &st.tracks {
                let num = |v: Option<f64>, signed: bool| match v {
                    Some(x) if signed => format!("{x:+.1}"),
                    Some(x) => format!("{x:.1}"),
                    None => "-".to_string(),
                };
                let note = if !t.in_mix {
                    "left out (silent or a duplicate)"
                } else if t.noise_only {
                    "noise only"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "{:<24} {:<16} {:>9} {:>11}  {note}",
                    t.name,
                    t.role,
                    num(t.loudness_lufs, false),
                    num(t.vs_prior_lu, true)
                );
            }
            out.push_str(&wrap(
                "",
                0,
                "(vs. usual: the track's level against the others, compared with where its role \
                 usually sits in finished mixes, LU; + louder)",
            ));
        }
        out.push('\n');
        out.push_str(&wrap("", 0, &self.verdict));
        let serious: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning || detail)
            .collect();
        for f in &serious {
            out.push('\n');
            finding_text(f, &mut out);
        }
        let info: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info && !detail)
            .collect();
        if !info.is_empty() {
            out.push_str("\nWorth knowing:\n");
            for f in info {
                out.push_str(&wrap(
                    "  · ",
                    4,
                    &format!("{} [{}]", f.title.trim_end_matches('.'), f.rule),
                ));
            }
        }
        let platforms_said = self.findings.iter().any(|f| f.rule == "loudness.platforms");
        if !self.platforms.is_empty() && !platforms_said {
            let parts: Vec<String> = self
                .platforms
                .iter()
                .map(|p| {
                    let mut t = if p.gain_db < -0.05 {
                        format!("{} turns it down {:.1} dB", p.platform, -p.gain_db)
                    } else if p.gain_db > 0.05 {
                        format!("{} turns it up {:.1} dB", p.platform, p.gain_db)
                    } else {
                        format!("{} plays it as it is", p.platform)
                    };
                    if p.quieter_by_db > 0.05 {
                        let _ = write!(
                            t,
                            " (still {:.1} dB under its {:.0} LUFS)",
                            p.quieter_by_db, p.target_lufs
                        );
                    }
                    t
                })
                .collect();
            out.push('\n');
            out.push_str(&wrap("On each platform: ", 2, &(parts.join("; ") + ".")));
        }
        if !self.translation.is_empty() {
            out.push_str("\nHow it plays elsewhere:\n");
            for t in &self.translation {
                let lu = t
                    .loudness_change_lu
                    .map(|l| format!("{:+.1} LU", if l.abs() < 0.05 { 0.0 } else { l }))
                    .unwrap_or_default();
                out.push_str(&wrap(
                    &format!("  {} ({lu}): ", t.playback),
                    6,
                    &t.description,
                ));
                if t.lost.is_empty() {
                    out.push_str("    - nothing important is lost\n");
                }
                for l in &t.lost {
                    out.push_str(&wrap("    - ", 6, &sentence(l)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_times_read_like_a_timeline() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(83.25), "1:23.2");
        assert_eq!(clock(600.0), "10:00.0");
        let r: Vec<TimeRange> = (0..6)
            .map(|i| TimeRange::new(i as f64, i as f64 + 0.5))
            .collect();
        assert_eq!(
            times_text(&r),
            "0:00.0-0:00.5, 0:01.0-0:01.5, 0:02.0-0:02.5, 0:03.0-0:03.5, and 2 more"
        );
        assert_eq!(times_text(&[TimeRange::new(12.0, 12.01)]), "0:12.0");
    }

    #[test]
    fn wrapping_keeps_words_and_indents() {
        let t = wrap("ab: ", 4, &"word ".repeat(40));
        for line in t.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        assert!(t.lines().skip(1).all(|l| l.starts_with("    word")));
        assert_eq!(t.matches("word").count(), 40);
    }
}
