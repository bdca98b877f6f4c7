//! Balance priors: how loud each kind of track sits in a finished mix, relative to the others.
//!
//! Setting every track to the same loudness scores worse than leaving the stems alone, so the
//! faders follow priors by role, adjusted by presence. The numbers are loudness offsets (LU)
//! between tracks, not absolute levels: only their differences matter.
//!
//! Where they come from. The roles present in the shared corpus (`shared/corpus/multitrack`,
//! songs whose own balance is known from `balance.json`: General-MIDI arrangements with the
//! composers' levels, band recordings, tracker modules) were fitted by least squares with a
//! free offset per song (`bench/fit_priors.py` recomputes them); roles the corpus lacks
//! (vocals, and a few instruments) come from common mixing practice, placed on the same scale
//! relative to the lead. Each value is rounded; the fit's leave-one-song-out error is in the
//! project notes. They are a starting point a user can override in the Session file.

use super::types::{Presence, Role};

/// Loudness of a track of this role relative to the mix's lead, LU (before presence).
pub fn role_level_lu(role: Role) -> f64 {
    match role {
        // corpus fit (lead instrument = 0)
        Role::LeadInstrument => 0.0,
        Role::Bass => -0.5,
        Role::Keys => -1.8,
        Role::Guitar => -1.5,
        Role::Organ => -0.5,
        Role::Pad => -4.0,
        Role::Strings => -5.5,
        Role::Brass => -0.5,
        Role::Toms => -5.5,
        Role::Percussion => -7.5,
        Role::Snare => -8.5,
        Role::Kick => -9.5,
        Role::Cymbals => -10.0,
        Role::Hats => -15.5,
        // common practice on the same scale
        Role::LeadVocal => 1.0,
        Role::BackingVocal => -5.0,
        Role::Fx => -9.0,
        Role::Other => -1.0,
    }
}

/// Presence adjustment, LU.
pub fn presence_offset_lu(p: Presence) -> f64 {
    match p {
        Presence::Lead => 1.5,
        Presence::Normal => 0.0,
        Presence::Background => -2.0,
    }
}

/// When several tracks share a role (two pianos, three backing vocals), each sits a little
/// lower so that together they take the role's place: -10·log10(n)/2 LU each (half the sum).
pub fn shared_role_offset_lu(count: usize) -> f64 {
    if count <= 1 {
        0.0
    } else {
        -5.0 * (count as f64).log10()
    }
}

/// How far a role guess of this confidence (0..1) is trusted when placing the fader: fully
/// from 0.8 (a clear name), not at all at 0.3 or below (a bare guess from the audio).
pub fn confidence_weight(confidence: f64) -> f64 {
    ((confidence - 0.3) / 0.5).clamp(0.0, 1.0)
}

/// Target loudness offset of a track (LU, relative scale).
pub fn target_offset_lu(role: Role, presence: Presence, same_role_count: usize) -> f64 {
    role_level_lu(role) + presence_offset_lu(presence) + shared_role_offset_lu(same_role_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lead_sits_on_top_and_hats_low() {
        let lead = target_offset_lu(Role::LeadVocal, Presence::Lead, 1);
        for r in Role::ALL {
            assert!(target_offset_lu(r, Presence::Normal, 1) <= lead, "{r:?}");
        }
        assert!(role_level_lu(Role::Hats) < role_level_lu(Role::Snare));
        assert!(
            shared_role_offset_lu(2) < 0.0 && shared_role_offset_lu(4) < shared_role_offset_lu(2)
        );
    }
}
