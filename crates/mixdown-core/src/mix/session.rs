//! The Session: the mixing console written down. Every decision the automatic engine made,
//! as plain data a person can read and edit (TOML), and that `mixdown render` plays back bit
//! for bit.

use super::cleanup::CleanupPlan;
use super::strip::Strip;
use super::types::{Presence, Role};
use crate::error::{Error, Result};
use crate::master::MasterChain;
use mixdown_dsp::deesser::DeEsserParams;
use mixdown_dsp::delay::DelayParams;
use mixdown_dsp::reverb::ReverbParams;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the session format written by this build.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub mixdown: Header,
    /// One sample rate for every track, Hz.
    pub sample_rate: u32,
    /// Length of the timeline in frames (shorter tracks are padded with silence).
    pub frames: usize,
    /// Effect buses fed by the tracks' sends.
    pub buses: Buses,
    /// The summed mix before mastering.
    pub mix_bus: MixBus,
    /// The mastering chain; absent for a mix without mastering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<MasterChain>,
    pub tracks: Vec<Track>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Session format version.
    pub format: u32,
    /// The mixdown version that wrote it.
    pub written_by: String,
    /// What this file is, for a reader who finds it.
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub name: String,
    /// The stem's file, relative to the session file's folder (or absolute).
    pub file: String,
    pub role: Role,
    pub presence: Presence,
    #[serde(default)]
    pub mute: bool,
    /// Clean-up applied before the strip (hum, hiss, gate, DC).
    pub cleanup: CleanupPlan,
    pub strip: Strip,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deesser: Option<DeEsserParams>,
    /// Fader, dB.
    pub fader_db: f64,
    /// -1 (left) .. 1 (right); constant-power law.
    pub pan: f64,
    /// Stereo width of a stereo track (1 = as recorded; ignored for mono tracks).
    #[serde(default = "one")]
    pub width: f64,
    pub sends: Sends,
    /// Why each decision was made (for the reader; render ignores it).
    #[serde(default)]
    pub why: Vec<String>,
}

fn one() -> f64 {
    1.0
}

/// Post-fader sends to the effect buses, dB (absent: no send).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sends {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverb_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_db: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buses {
    pub reverb: ReverbBus,
    pub delay: DelayBus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverbBus {
    pub enabled: bool,
    /// Return level into the mix, dB.
    pub return_db: f64,
    pub params: ReverbParams,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayBus {
    pub enabled: bool,
    pub return_db: f64,
    pub params: DelayParams,
}

/// The mix bus: dry tracks plus returns, the side removed below `mono_below_hz`, then the trim
/// and the balance (last, so they scale the whole image).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixBus {
    /// Gain on the summed mix (sets its headroom), dB.
    pub trim_db: f64,
    /// Image balance: the left channel is lowered and the right raised by half of this, dB
    /// (positive moves the image right).
    #[serde(default)]
    pub balance_db: f64,
    /// Side signal removed below this frequency (a tight, mono low end), Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mono_below_hz: Option<f64>,
}

impl Session {
    /// Read a session file. Errors point at the line.
    pub fn load(path: &Path) -> Result<Session> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read the session: {e}")))?;
        Session::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parse session text.
    pub fn parse(text: &str) -> Result<Session> {
        let s: Session = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|sp| text[..sp.start.min(text.len())].lines().count().max(1))
                .unwrap_or(0);
            let msg = e.message().trim().replace('\n', " ");
            if line > 0 {
                Error::usage(format!("line {line}: {msg}"))
            } else {
                Error::usage(msg)
            }
        })?;
        s.validate()?;
        Ok(s)
    }

    /// Check values a hand edit may have broken.
    pub fn validate(&self) -> Result<()> {
        if self.mixdown.format > FORMAT_VERSION {
            return Err(Error::usage(format!(
                "the session was written by a newer mixdown (format {}); this one reads format {FORMAT_VERSION}",
                self.mixdown.format
            )));
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return Err(Error::usage(format!(
                "sample_rate {} is out of range (8000-192000)",
                self.sample_rate
            )));
        }
        if !self.mix_bus.balance_db.is_finite() || self.mix_bus.balance_db.abs() > 12.0 {
            return Err(Error::usage("mix_bus.balance_db must be within +-12 dB"));
        }
        if self.tracks.is_empty() {
            return Err(Error::usage("the session has no tracks"));
        }
        for t in &self.tracks {
            let bad = |what: &str| Error::usage(format!("track '{}': {what}", t.name));
            if !t.fader_db.is_finite() || t.fader_db > 24.0 {
                return Err(bad("fader_db must be a number up to +24 dB"));
            }
            if !(-1.0..=1.0).contains(&t.pan) {
                return Err(bad("pan must be between -1 (left) and 1 (right)"));
            }
            if !(0.0..=2.0).contains(&t.width) {
                return Err(bad("width must be between 0 and 2"));
            }
            if !t.strip.trim_db.is_finite() || t.strip.trim_db.abs() > 48.0 {
                return Err(bad("strip.trim_db must be within +-48 dB"));
            }
            for s in [t.sends.reverb_db, t.sends.delay_db].into_iter().flatten() {
                if !s.is_finite() || s > 12.0 {
                    return Err(bad("sends must be numbers up to +12 dB"));
                }
            }
        }
        let mut names: Vec<&str> = self.tracks.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::usage(format!("two tracks are named '{}'", w[0])));
        }
        Ok(())
    }

    /// The session as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::usage(format!("cannot write the session: {e}")))
    }
}
