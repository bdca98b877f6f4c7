//! A finding: one mistake (or one fact worth knowing), measured, with where it is, what it
//! means and what to do. The JSON schema of `mixdown analyze --json` is built from these types;
//! see `docs/analyze-schema.md`. Field names and rule ids are stable: add, never rename.

use serde::{Deserialize, Serialize};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a mistake (or a matter of taste).
    Info,
    /// Likely a mistake: check it.
    Warning,
    /// A mistake that will be heard (or rejected by a platform): fix it.
    Problem,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "problem" | "error" => Some(Severity::Problem),
            _ => None,
        }
    }
}

/// A stretch of the song, seconds from its start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start_s: f64,
    pub end_s: f64,
}

impl TimeRange {
    pub fn new(start_s: f64, end_s: f64) -> Self {
        TimeRange {
            start_s: round3(start_s),
            end_s: round3(end_s.max(start_s)),
        }
    }

    /// Whether `t` (seconds) lies in this range, with `slack` seconds either side.
    pub fn contains(&self, t: f64, slack: f64) -> bool {
        t >= self.start_s - slack && t <= self.end_s + slack
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id of the check that made it (e.g. `clipping`, `tonal.mud`, `stem.masking`).
    pub rule: String,
    pub severity: Severity,
    /// One line a musician understands ("Clipping: 12 runs of full-scale samples").
    pub title: String,
    /// The measured value that crossed the threshold.
    pub measured: f64,
    /// The threshold it crossed (for this severity).
    pub threshold: f64,
    /// Unit of `measured` and `threshold` ("dB", "LU", "dBFS", "dBTP", "runs", "%", "s").
    pub unit: String,
    /// Where in the song (empty: the whole song).
    #[serde(default)]
    pub times: Vec<TimeRange>,
    /// Which tracks (stem folders), by name.
    #[serde(default)]
    pub tracks: Vec<String>,
    /// Which frequencies, Hz (band centres or a range's ends).
    #[serde(default)]
    pub bands_hz: Vec<f64>,
    /// What it means, in plain words.
    pub meaning: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    /// A finding with no location yet (add with the builder methods).
    pub fn new(
        rule: &str,
        severity: Severity,
        title: impl Into<String>,
        measured: f64,
        threshold: f64,
        unit: &str,
    ) -> Self {
        Finding {
            rule: rule.to_string(),
            severity,
            title: title.into(),
            measured: round3(measured),
            threshold: round3(threshold),
            unit: unit.to_string(),
            times: Vec::new(),
            tracks: Vec::new(),
            bands_hz: Vec::new(),
            meaning: String::new(),
            fix: String::new(),
        }
    }

    pub fn times(mut self, times: Vec<TimeRange>) -> Self {
        self.times = times;
        self
    }

    pub fn tracks(mut self, tracks: Vec<String>) -> Self {
        self.tracks = tracks;
        self
    }

    pub fn bands(mut self, bands_hz: Vec<f64>) -> Self {
        self.bands_hz = bands_hz.into_iter().map(round3).collect();
        self
    }

    pub fn meaning(mut self, text: impl Into<String>) -> Self {
        self.meaning = text.into();
        self
    }

    pub fn fix(mut self, text: impl Into<String>) -> Self {
        self.fix = text.into();
        self
    }
}

/// Severity from a measured value against a warning and a problem threshold, where larger is
/// worse (`None` below the warning threshold). Returns the severity and the threshold crossed.
pub fn grade_above(value: f64, warning: f64, problem: f64) -> Option<(Severity, f64)> {
    if value >= problem {
        Some((Severity::Problem, problem))
    } else if value >= warning {
        Some((Severity::Warning, warning))
    } else {
        None
    }
}

/// [`grade_above`] where smaller is worse.
pub fn grade_below(value: f64, warning: f64, problem: f64) -> Option<(Severity, f64)> {
    if value <= problem {
        Some((Severity::Problem, problem))
    } else if value <= warning {
        Some((Severity::Warning, warning))
    } else {
        None
    }
}

/// Merge instants (seconds, any order) into ranges: instants closer than `gap` s join one
/// range; each range is widened by `pad` s either side (clamped at 0 and `duration`). At most
/// `max` ranges are kept (the first ones in time), so a report stays readable.
pub fn ranges_from_instants(
    instants: &[f64],
    gap: f64,
    pad: f64,
    duration: f64,
    max: usize,
) -> Vec<TimeRange> {
    let mut t: Vec<f64> = instants.iter().copied().filter(|x| x.is_finite()).collect();
    t.sort_by(|a, b| a.total_cmp(b));
    let mut out: Vec<TimeRange> = Vec::new();
    let mut cur: Option<(f64, f64)> = None;
    for x in t {
        cur = match cur {
            Some((a, b)) if x - b <= gap => Some((a, x)),
            Some((a, b)) => {
                out.push(TimeRange::new((a - pad).max(0.0), (b + pad).min(duration)));
                Some((x, x))
            }
            None => Some((x, x)),
        };
    }
    if let Some((a, b)) = cur {
        out.push(TimeRange::new((a - pad).max(0.0), (b + pad).min(duration)));
    }
    out.truncate(max);
    out
}

/// Round to three decimals (stable, readable JSON).
pub fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_merge_into_padded_ranges() {
        let r = ranges_from_instants(&[10.0, 10.2, 3.0, 30.0, 10.5], 1.0, 0.25, 31.0, 10);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], TimeRange::new(2.75, 3.25));
        assert_eq!(r[1], TimeRange::new(9.75, 10.75));
        assert_eq!(r[2], TimeRange::new(29.75, 30.25));
        assert!(r[1].contains(10.1, 0.0) && !r[1].contains(12.0, 0.5));
        assert_eq!(
            ranges_from_instants(&[1.0, 5.0, 9.0], 1.0, 0.0, 10.0, 2).len(),
            2
        );
    }

    #[test]
    fn grades_pick_the_worse_threshold_crossed() {
        assert_eq!(grade_above(5.0, 3.0, 6.0), Some((Severity::Warning, 3.0)));
        assert_eq!(grade_above(7.0, 3.0, 6.0), Some((Severity::Problem, 6.0)));
        assert_eq!(grade_above(1.0, 3.0, 6.0), None);
        assert_eq!(grade_below(5.0, 6.0, 4.0), Some((Severity::Warning, 6.0)));
        assert_eq!(grade_below(3.0, 6.0, 4.0), Some((Severity::Problem, 4.0)));
        assert!(Severity::Problem > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
    }
}
