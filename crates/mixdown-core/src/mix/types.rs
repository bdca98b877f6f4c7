//! Words shared by every part of the mixing engine: what a track is (its role) and how much
//! it should stand out (its presence).

use serde::{Deserialize, Serialize};

/// What a track is, in the words a mixing engineer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Kick,
    Snare,
    Hats,
    Toms,
    /// Overheads and cymbals.
    Cymbals,
    Percussion,
    Bass,
    LeadVocal,
    BackingVocal,
    Guitar,
    /// Piano and keys (electric piano, harpsichord, celesta, harp, mallets).
    Keys,
    Organ,
    /// Synths and pads.
    Pad,
    Strings,
    /// Brass and woodwind.
    Brass,
    /// A lead instrument carrying the melody (solo guitar, sax, flute, lead synth...).
    LeadInstrument,
    Fx,
    Other,
}

impl Role {
    pub const ALL: [Role; 18] = [
        Role::Kick,
        Role::Snare,
        Role::Hats,
        Role::Toms,
        Role::Cymbals,
        Role::Percussion,
        Role::Bass,
        Role::LeadVocal,
        Role::BackingVocal,
        Role::Guitar,
        Role::Keys,
        Role::Organ,
        Role::Pad,
        Role::Strings,
        Role::Brass,
        Role::LeadInstrument,
        Role::Fx,
        Role::Other,
    ];

    /// The name used in sessions, reports and on the command line (`lead_vocal`, `hats`...).
    pub fn name(self) -> &'static str {
        match self {
            Role::Kick => "kick",
            Role::Snare => "snare",
            Role::Hats => "hats",
            Role::Toms => "toms",
            Role::Cymbals => "cymbals",
            Role::Percussion => "percussion",
            Role::Bass => "bass",
            Role::LeadVocal => "lead_vocal",
            Role::BackingVocal => "backing_vocal",
            Role::Guitar => "guitar",
            Role::Keys => "keys",
            Role::Organ => "organ",
            Role::Pad => "pad",
            Role::Strings => "strings",
            Role::Brass => "brass",
            Role::LeadInstrument => "lead_instrument",
            Role::Fx => "fx",
            Role::Other => "other",
        }
    }

    /// Parse a role name (also accepts a few common synonyms: `vox`, `lead_vox`, `bv`, `keys`,
    /// `piano`, `synth`, `winds`, `lead`, `overheads`).
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let r = match s.as_str() {
            "kick" => Role::Kick,
            "snare" => Role::Snare,
            "hats" | "hihat" | "hi_hat" | "hh" => Role::Hats,
            "toms" | "tom" => Role::Toms,
            "cymbals" | "overheads" | "oh" => Role::Cymbals,
            "percussion" | "perc" => Role::Percussion,
            "bass" => Role::Bass,
            "lead_vocal" | "lead_vox" | "vox" | "vocal" | "lead_vocals" => Role::LeadVocal,
            "backing_vocal" | "backing_vocals" | "bv" | "bvs" | "bvox" => Role::BackingVocal,
            "guitar" | "gtr" => Role::Guitar,
            "keys" | "piano" => Role::Keys,
            "organ" => Role::Organ,
            "pad" | "synth" | "synths" => Role::Pad,
            "strings" => Role::Strings,
            "brass" | "wind" | "winds" | "brass_wind" => Role::Brass,
            "lead_instrument" | "lead" | "solo" => Role::LeadInstrument,
            "fx" | "sfx" => Role::Fx,
            "other" => Role::Other,
            _ => return None,
        };
        Some(r)
    }

    /// Drums and percussion (the rhythm section's hits).
    pub fn is_drum(self) -> bool {
        matches!(
            self,
            Role::Kick | Role::Snare | Role::Hats | Role::Toms | Role::Cymbals | Role::Percussion
        )
    }
}

/// How much a track should stand out in the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Lead,
    Normal,
    Background,
}

impl Presence {
    pub fn name(self) -> &'static str {
        match self {
            Presence::Lead => "lead",
            Presence::Normal => "normal",
            Presence::Background => "background",
        }
    }

    pub fn parse(s: &str) -> Option<Presence> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lead" | "front" | "foreground" => Some(Presence::Lead),
            "normal" | "mid" => Some(Presence::Normal),
            "background" | "back" | "bg" => Some(Presence::Background),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        for p in [Presence::Lead, Presence::Normal, Presence::Background] {
            assert_eq!(Presence::parse(p.name()), Some(p));
        }
        assert_eq!(Role::parse("Lead Vox"), Some(Role::LeadVocal));
        assert_eq!(Role::parse("banjo"), None);
    }
}
