//! Delivery targets: where the master is going, and the loudness and true-peak ceiling that
//! destination expects.

use serde::{Deserialize, Serialize};

/// A delivery target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Preset name ("streaming", "cd", ...) or "custom".
    pub name: String,
    /// Integrated loudness to reach, LUFS (ITU-R BS.1770).
    pub lufs: f64,
    /// Ceiling for the true peak, dBTP.
    pub true_peak_dbtp: f64,
}

/// The presets, with a line of explanation each (shown by `--help` and in reports).
pub const PRESETS: &[(&str, f64, f64, &str)] = &[
    (
        "streaming",
        -14.0,
        -1.0,
        "Spotify, Tidal, Amazon: -14 LUFS, -1 dBTP",
    ),
    (
        "apple",
        -16.0,
        -1.0,
        "Apple Music (Sound Check): -16 LUFS, -1 dBTP",
    ),
    ("youtube", -14.0, -1.0, "YouTube: -14 LUFS, -1 dBTP"),
    (
        "cd",
        -9.0,
        -0.3,
        "CD / loud club master: -9 LUFS, -0.3 dBTP",
    ),
    (
        "broadcast",
        -23.0,
        -1.0,
        "EBU R128 broadcast: -23 LUFS, -1 dBTP",
    ),
    (
        "podcast",
        -16.0,
        -1.0,
        "Podcasts (Apple spec): -16 LUFS, -1 dBTP",
    ),
];

impl Target {
    /// A preset by name (case-insensitive).
    pub fn preset(name: &str) -> Option<Target> {
        let lower = name.to_ascii_lowercase();
        PRESETS.iter().find(|p| p.0 == lower).map(|p| Target {
            name: p.0.to_string(),
            lufs: p.1,
            true_peak_dbtp: p.2,
        })
    }

    /// Names of all presets, for messages.
    pub fn preset_names() -> Vec<&'static str> {
        PRESETS.iter().map(|p| p.0).collect()
    }

    /// Resolve a preset name plus optional overrides into a checked target.
    pub fn resolve(
        preset: Option<&str>,
        lufs: Option<f64>,
        true_peak: Option<f64>,
    ) -> Result<Target, String> {
        let mut t = match preset {
            Some(p) => Target::preset(p).ok_or_else(|| {
                format!(
                    "unknown target '{p}'; choose one of: {}, or give --lufs and --true-peak",
                    Target::preset_names().join(", ")
                )
            })?,
            None => Target::preset("streaming").expect("streaming preset exists"),
        };
        if lufs.is_some() || true_peak.is_some() {
            if preset.is_none() {
                t.name = "custom".into();
            } else {
                t.name = format!("{} (custom)", t.name);
            }
        }
        if let Some(l) = lufs {
            if !l.is_finite() || !(-40.0..=-5.0).contains(&l) {
                return Err(format!(
                    "--lufs {l} is out of range; give a loudness between -40 and -5 LUFS"
                ));
            }
            t.lufs = l;
        }
        if let Some(tp) = true_peak {
            if !tp.is_finite() || !(-10.0..=0.0).contains(&tp) {
                return Err(format!(
                    "--true-peak {tp} is out of range; give a ceiling between -10 and 0 dBTP"
                ));
            }
            t.true_peak_dbtp = tp;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_overrides() {
        let s = Target::resolve(Some("Streaming"), None, None).unwrap();
        assert_eq!((s.lufs, s.true_peak_dbtp), (-14.0, -1.0));
        let b = Target::resolve(Some("broadcast"), None, None).unwrap();
        assert_eq!((b.lufs, b.true_peak_dbtp), (-23.0, -1.0));
        let c = Target::resolve(None, Some(-16.0), Some(-1.5)).unwrap();
        assert_eq!(
            (c.name.as_str(), c.lufs, c.true_peak_dbtp),
            ("custom", -16.0, -1.5)
        );
        assert!(Target::resolve(Some("vinyl"), None, None)
            .unwrap_err()
            .contains("streaming"));
        assert!(Target::resolve(None, Some(3.0), None).is_err());
        assert!(Target::resolve(None, None, Some(1.0)).is_err());
        assert!(Target::resolve(None, Some(f64::NAN), None).is_err());
    }
}
