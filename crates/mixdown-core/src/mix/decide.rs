//! The mixing engineer's judgement, track by track and across tracks: high-pass by role,
//! corrective EQ, compression from the crest factor and role, cuts that make room for more
//! important tracks (masking), panning, effect sends and the balance targets for the faders.
//! Pure functions from measurements to decisions; every decision carries its reason.

use super::features::TrackFeatures;
use super::masking::{band_centres, BandFrames};
use super::priors;
use super::strip::{HighPass, Strip};
use super::types::{Presence, Role};
use mixdown_dsp::biquad::FilterKind;
use mixdown_dsp::compressor::{CompressorParams, Detector};

/// Largest boost or cut the EQ bands of one track may add up to at any frequency, dB
/// (the role's high-pass is separate).
pub const MAX_EQ_MOVE_DB: f64 = 8.0;
/// Largest cut for one resonance, dB.
const MAX_RESONANCE_CUT_DB: f64 = 4.0;
/// Largest cut a track takes to make room for others in one band, dB.
const MAX_UNMASK_CUT_DB: f64 = 5.0;

/// High-pass frequency by role (keeps rumble and low spill out of tracks that do not live
/// down there), Hz; `None` for roles that need their lowest octave. With a bass in the song
/// (`with_bass`), the harmonic parts leave their lowest octave to it: the low end stays clear.
pub fn role_highpass(role: Role, with_bass: bool) -> Option<HighPass> {
    if with_bass {
        let f = match role {
            Role::Keys | Role::Organ | Role::Brass => Some(90.0),
            Role::Pad | Role::Guitar => Some(100.0),
            Role::Strings => Some(80.0),
            _ => None,
        };
        if let Some(f) = f {
            return Some(HighPass {
                freq_hz: f,
                order: 2,
            });
        }
    }
    let (f, order) = match role {
        Role::Kick | Role::Bass => (25.0, 2),
        Role::Snare => (70.0, 2),
        Role::Toms => (55.0, 2),
        Role::Hats => (250.0, 2),
        Role::Cymbals => (180.0, 2),
        Role::Percussion => (120.0, 2),
        Role::LeadVocal => (80.0, 2),
        Role::BackingVocal => (120.0, 2),
        Role::Guitar => (80.0, 2),
        Role::Keys => (40.0, 2),
        Role::Organ => (40.0, 2),
        Role::Pad => (60.0, 2),
        Role::Strings => (50.0, 2),
        Role::Brass => (70.0, 2),
        Role::LeadInstrument => (80.0, 2),
        Role::Fx => (80.0, 2),
        Role::Other => (25.0, 2),
    };
    Some(HighPass { freq_hz: f, order })
}

/// Narrow resonances: 1/3-octave bands standing well above their neighbours, 150 Hz - 8 kHz.
fn resonance_cuts(f: &TrackFeatures) -> Vec<(FilterKind, String)> {
    let c = &f.spectrum.centres_hz;
    let l = &f.spectrum.level_db;
    let max = l.iter().flatten().fold(f64::MIN, |m, &v| m.max(v));
    let mut out = Vec::new();
    for i in 2..c.len().saturating_sub(2) {
        if !(150.0..=8000.0).contains(&c[i]) {
            continue;
        }
        let (Some(v), Some(a), Some(b), Some(a2), Some(b2)) =
            (l[i], l[i - 1], l[i + 1], l[i - 2], l[i + 2])
        else {
            continue;
        };
        // the band must matter (within 20 dB of the track's loudest) and be a peak
        if v < max - 20.0 || v < a || v < b {
            continue;
        }
        let around = (a + b + a2 + b2) / 4.0;
        let excess = v - around;
        if excess > 6.0 {
            let cut = (0.5 * (excess - 6.0) + 1.5).min(MAX_RESONANCE_CUT_DB);
            out.push((
                FilterKind::Peaking {
                    freq_hz: round1(c[i]),
                    gain_db: -round2(cut),
                    q: 4.0,
                },
                format!(
                    "resonance at {} ({excess:.0} dB above its neighbours): -{cut:.1} dB",
                    hz(c[i])
                ),
            ));
        }
    }
    out.sort_by(|a, b| gain(&a.0).total_cmp(&gain(&b.0)));
    out.truncate(2);
    out
}

fn gain(k: &FilterKind) -> f64 {
    match k {
        FilterKind::Peaking { gain_db, .. }
        | FilterKind::LowShelf { gain_db, .. }
        | FilterKind::HighShelf { gain_db, .. } => *gain_db,
        _ => 0.0,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn hz(f: f64) -> String {
    if f >= 1000.0 {
        format!("{:.1} kHz", f / 1000.0)
    } else {
        format!("{f:.0} Hz")
    }
}

/// Compression from the role and the crest factor: tracks whose level jumps around get held
/// together; sustained parts and cymbals are left alone.
fn compressor_for(role: Role, f: &TrackFeatures) -> Option<(CompressorParams, String)> {
    let crest = f.crest_db?;
    let p90 = f.level_p90_dbfs?;
    // (ratio, attack ms, release ms, target GR on the loud parts dB, crest above which it engages)
    let (ratio, attack, release, gr, min_crest) = match role {
        Role::LeadVocal | Role::BackingVocal => (3.0, 5.0, 120.0, 5.0, 10.0),
        Role::Bass => (4.0, 15.0, 150.0, 4.0, 10.0),
        Role::Kick => (4.0, 10.0, 80.0, 3.0, 14.0),
        Role::Snare => (4.0, 5.0, 100.0, 3.0, 14.0),
        Role::Toms => (3.0, 10.0, 120.0, 3.0, 16.0),
        Role::Guitar | Role::Keys | Role::LeadInstrument | Role::Brass => {
            (2.5, 15.0, 150.0, 3.0, 13.0)
        }
        Role::Organ | Role::Pad | Role::Strings => (2.0, 30.0, 250.0, 2.0, 16.0),
        Role::Hats | Role::Cymbals | Role::Percussion | Role::Fx | Role::Other => return None,
    };
    if crest < min_crest {
        return None;
    }
    // the loud parts (90th percentile of the detector's level) get about `gr` dB
    let threshold = p90 - gr / (1.0 - 1.0 / ratio);
    Some((
        CompressorParams {
            threshold_db: round1(threshold),
            ratio,
            knee_db: 6.0,
            attack_ms: attack,
            release_ms: release,
            makeup_db: 0.0,
            detector: Detector::Rms { window_ms: 10.0 },
            auto_release: true,
            sidechain_hpf_hz: if matches!(role, Role::Bass | Role::Kick) { None } else { Some(80.0) },
        },
        format!(
            "crest factor {crest:.0} dB: {ratio}:1 from {threshold:.1} dBFS, about {gr:.0} dB on the loud parts"
        ),
    ))
}

/// The strip of one track (before the cross-track cuts).
pub fn decide_strip(role: Role, f: &TrackFeatures, with_bass: bool) -> (Strip, Vec<String>) {
    let mut why = Vec::new();
    let highpass = role_highpass(role, with_bass);
    if let Some(h) = &highpass {
        let lower = role_highpass(role, false).map_or(0.0, |l| l.freq_hz);
        why.push(format!(
            "high-pass at {} for a {}{}",
            hz(h.freq_hz),
            role.name().replace('_', " "),
            if h.freq_hz > lower {
                "; the bass has the lowest octave"
            } else {
                ""
            }
        ));
    }
    let mut eq = Vec::new();
    for (k, w) in resonance_cuts(f) {
        eq.push(k);
        why.push(w);
    }
    let compressor = compressor_for(role, f).map(|(c, w)| {
        why.push(w);
        c
    });
    if compressor.is_none() {
        why.push("no compression: the track's dynamics are part of its sound".into());
    }
    (
        Strip {
            trim_db: 0.0,
            highpass,
            eq,
            compressor,
        },
        why,
    )
}

/// How much a role matters when two tracks compete: higher gives way less.
pub fn priority(role: Role, presence: Presence) -> i32 {
    let base = match role {
        Role::LeadVocal => 100,
        Role::LeadInstrument => 90,
        Role::Kick | Role::Snare => 80,
        Role::Bass => 78,
        Role::BackingVocal => 60,
        Role::Guitar | Role::Keys | Role::Brass => 55,
        Role::Organ | Role::Strings => 50,
        Role::Toms | Role::Percussion => 45,
        Role::Pad => 40,
        Role::Hats | Role::Cymbals => 35,
        Role::Other => 50,
        Role::Fx => 20,
    };
    base + match presence {
        Presence::Lead => 30,
        Presence::Normal => 0,
        Presence::Background => -15,
    }
}

/// Cross-adaptive cuts: where a less important track competes with a more important one in a
/// band (both carry a good share of their energy there, at comparable levels), the less
/// important one is cut there, by at most 4 dB, at most two bands per track.
/// `frames[i]` are the tracks' band-frames as they will sit in the mix (gain applied, mono).
pub fn unmasking_cuts(
    names: &[String],
    priorities: &[i32],
    frames: &[BandFrames],
) -> Vec<Vec<(FilterKind, String)>> {
    let n = frames.len();
    let centres = band_centres();
    let totals: Vec<Vec<f64>> = frames.iter().map(|f| f.band_totals()).collect();
    let mut cuts: Vec<Vec<(f64, usize, String)>> = vec![Vec::new(); n]; // (dB, band, reason)
    for j in 0..n {
        // what j shares with every more important track, band by band
        let mut shared = vec![0.0f64; centres.len()];
        let mut culprit = vec![String::new(); centres.len()];
        let mut culprit_e = vec![0.0f64; centres.len()];
        for i in 0..n {
            if i == j || priorities[i] <= priorities[j] {
                continue;
            }
            let (a, b) = (&frames[i], &frames[j]);
            let mut per_band = vec![0.0f64; a.bands];
            for (k, (&x, &y)) in a.energy.iter().zip(&b.energy).enumerate() {
                per_band[k % a.bands] += x.min(y) as f64;
            }
            let imax = totals[i].iter().cloned().fold(0.0, f64::max);
            for bnd in 0..centres.len() {
                // the band must matter to the more important track
                if totals[i][bnd] < imax * 0.1 {
                    continue;
                }
                shared[bnd] += per_band[bnd];
                if per_band[bnd] > culprit_e[bnd] {
                    culprit_e[bnd] = per_band[bnd];
                    culprit[bnd] = names[i].clone();
                }
            }
        }
        // how much of j's own energy in the band is contested
        // (only in bands that matter to j: within 13 dB of its strongest band)
        let jmax = totals[j].iter().cloned().fold(0.0, f64::max);
        let mut cand: Vec<(f64, usize)> = (0..centres.len())
            .filter(|&b| totals[j][b] > 0.05 * jmax && centres[b] >= 60.0)
            .map(|b| (shared[b].min(totals[j][b]) / totals[j][b], b))
            .filter(|&(r, _)| r > 0.25)
            .collect();
        cand.sort_by(|a, b| b.0.total_cmp(&a.0));
        for &(r, b) in cand.iter().take(3) {
            let cut = (8.0 * r).clamp(1.0, MAX_UNMASK_CUT_DB);
            cuts[j].push((
                round2(cut),
                b,
                format!(
                    "-{cut:.1} dB at {} to make room for {} ({:.0}% of this track's energy there competes with it)",
                    hz(centres[b]),
                    culprit[b],
                    100.0 * r.min(1.0)
                ),
            ));
        }
    }
    cuts.into_iter()
        .map(|v| {
            v.into_iter()
                .map(|(db, b, why)| {
                    (
                        FilterKind::Peaking {
                            freq_hz: round1(centres[b]),
                            gain_db: -db,
                            q: 2.0,
                        },
                        why,
                    )
                })
                .collect()
        })
        .collect()
}

/// Scale a track's EQ bands so that together they never move more than [`MAX_EQ_MOVE_DB`].
pub fn bound_eq(eq: &mut [FilterKind], sample_rate: f64) {
    let probe: Vec<f64> = (0..200)
        .map(|i| 20.0 * 1000f64.powf(i as f64 / 199.0))
        .collect();
    let worst = probe
        .iter()
        .map(|&f| {
            eq.iter()
                .map(|k| k.response_db(f, sample_rate))
                .sum::<f64>()
                .abs()
        })
        .fold(0.0f64, f64::max);
    if worst > MAX_EQ_MOVE_DB {
        let s = MAX_EQ_MOVE_DB / worst;
        for k in eq.iter_mut() {
            if let FilterKind::Peaking { gain_db, .. }
            | FilterKind::LowShelf { gain_db, .. }
            | FilterKind::HighShelf { gain_db, .. } = k
            {
                *gain_db = round2(*gain_db * s);
            }
        }
    }
}

/// Constant-power pan gains (left, right) for `pan` in -1..1.
pub use mixdown_dsp::pan::pan_gains_f64 as pan_gains;
/// Where a track sits left to right, and how wide a stereo track stays.
pub use mixdown_dsp::pan::StereoPlacement as Placement;

/// Which side a name asks for: "Gtr L", "OH_R", "Left".
fn side_from_name(name: &str) -> Option<f64> {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    match words.last().copied() {
        Some("l") | Some("left") | Some("lt") => Some(-1.0),
        Some("r") | Some("right") | Some("rt") => Some(1.0),
        _ => None,
    }
}

/// Pan every track: kick, snare, bass and leads in the middle; named left/right pairs wide;
/// similar tracks spread in mirrored pairs; the whole image balanced left to right.
/// `level_lu[i]` is each track's planned loudness (for the balance).
pub fn decide_pans(
    names: &[String],
    roles: &[Role],
    presences: &[Presence],
    channels: &[usize],
    level_lu: &[f64],
) -> Vec<(Placement, String)> {
    let n = names.len();
    let mut out: Vec<Option<(Placement, String)>> = vec![None; n];
    // spread amount by role family
    let spread = |r: Role| -> f64 {
        match r {
            Role::Guitar => 0.7,
            Role::BackingVocal => 0.6,
            Role::Keys | Role::Organ => 0.5,
            Role::Pad | Role::Strings => 0.6,
            Role::Brass => 0.5,
            Role::Percussion => 0.6,
            Role::Toms => 0.4,
            Role::Hats => 0.4,
            Role::Cymbals => 0.5,
            Role::Fx | Role::Other => 0.4,
            _ => 0.0,
        }
    };
    for i in 0..n {
        let r = roles[i];
        if matches!(r, Role::Kick | Role::Snare | Role::Bass | Role::LeadVocal)
            || presences[i] == Presence::Lead
        {
            out[i] = Some((
                Placement {
                    pan: 0.0,
                    width: 1.0,
                },
                format!("centred: {} holds the middle", role_words(r, presences[i])),
            ));
        } else if channels[i] == 2 {
            out[i] = Some((
                Placement {
                    pan: 0.0,
                    width: 1.0,
                },
                "stereo track: kept as recorded".into(),
            ));
        } else if let Some(side) = side_from_name(&names[i]) {
            out[i] = Some((
                Placement {
                    pan: 0.7 * side,
                    width: 1.0,
                },
                format!(
                    "the name says {}",
                    if side < 0.0 { "left" } else { "right" }
                ),
            ));
        }
    }
    // the rest: by role, alternate sides, mirrored pairs; louder tracks first so the image balances
    let mut rest: Vec<usize> = (0..n).filter(|&i| out[i].is_none()).collect();
    rest.sort_by(|&a, &b| level_lu[b].total_cmp(&level_lu[a]).then(a.cmp(&b)));
    // running balance (linear power left minus right)
    let mut left = 0.0f64;
    let mut right = 0.0f64;
    let add = |pan: f64, lvl: f64, left: &mut f64, right: &mut f64| {
        let (gl, gr) = pan_gains(pan);
        let p = 10f64.powf(lvl / 10.0);
        *left += p * gl * gl;
        *right += p * gr * gr;
    };
    for i in 0..n {
        if let Some((pl, _)) = &out[i] {
            add(pl.pan, level_lu[i], &mut left, &mut right);
        }
    }
    let mut role_count: std::collections::HashMap<Role, usize> = Default::default();
    let mut last_side = 1.0f64;
    for &i in &rest {
        let r = roles[i];
        let k = role_count.entry(r).or_insert(0);
        let s = spread(r).max(0.2);
        // pairs of the same role mirror each other; the first of a pair goes to the lighter side
        let side = if *k % 2 == 0 {
            // sides alternate, so that parts spread over the whole image; a side that is
            // already more than 2 dB heavier does not take the next one
            let imbalance_db = 10.0 * (left.max(1e-12) / right.max(1e-12)).log10();
            let s = if imbalance_db > 2.0 {
                1.0
            } else if imbalance_db < -2.0 {
                -1.0
            } else {
                -last_side
            };
            last_side = s;
            s
        } else {
            // mirror the previous one of this role
            let prev = rest
                .iter()
                .rfind(|&&j| roles[j] == r && out[j].is_some())
                .and_then(|&j| out[j].as_ref().map(|o| o.0.pan))
                .unwrap_or(1.0);
            -prev.signum()
        };
        let pairs_before = (*k / 2) as f64;
        let pan = side * (s + 0.1 * pairs_before).min(0.9);
        *k += 1;
        add(pan, level_lu[i], &mut left, &mut right);
        out[i] = Some((
            Placement {
                pan: round2(pan),
                width: 1.0,
            },
            format!(
                "{} {:.0}% {}",
                role_words(r, presences[i]),
                pan.abs() * 100.0,
                if pan < 0.0 { "left" } else { "right" }
            ),
        ));
    }
    out.into_iter()
        .map(|o| o.expect("every track placed"))
        .collect()
}

fn role_words(r: Role, p: Presence) -> String {
    let w = r.name().replace('_', " ");
    match p {
        Presence::Lead if !matches!(r, Role::LeadVocal | Role::LeadInstrument) => {
            format!("the lead {w}")
        }
        _ => format!("the {w}"),
    }
}

/// Effect sends by role and presence (dB below the track's post-fader level; None = no send).
pub fn decide_sends(role: Role, presence: Presence) -> (Option<f64>, Option<f64>, String) {
    let reverb = match role {
        Role::Kick | Role::Bass => None,
        Role::LeadVocal => Some(-14.0),
        Role::BackingVocal => Some(-12.0),
        Role::Snare => Some(-18.0),
        Role::Toms => Some(-20.0),
        Role::Keys | Role::Organ => Some(-18.0),
        Role::Pad | Role::Strings => Some(-15.0),
        Role::Guitar => Some(-20.0),
        Role::Brass => Some(-17.0),
        Role::LeadInstrument => Some(-16.0),
        Role::Percussion => Some(-20.0),
        Role::Hats | Role::Cymbals => Some(-26.0),
        Role::Fx => Some(-16.0),
        Role::Other => Some(-22.0),
    };
    let delay = match (role, presence) {
        (Role::LeadVocal, _) => Some(-20.0),
        (Role::LeadInstrument, _) | (_, Presence::Lead) => Some(-22.0),
        _ => None,
    };
    let why = match (reverb, delay) {
        (None, None) => "dry: low end stays tight without reverb".to_string(),
        (Some(r), None) => format!("reverb send {r:.0} dB"),
        (Some(r), Some(d)) => format!("reverb send {r:.0} dB, delay send {d:.0} dB"),
        (None, Some(d)) => format!("delay send {d:.0} dB"),
    };
    (reverb, delay, why)
}

/// The planned loudness of each track relative to the others, LU, and why.
pub fn balance_targets(
    roles: &[Role],
    presences: &[Presence],
    confidence: &[f64],
) -> Vec<(f64, String)> {
    let raw: Vec<f64> = roles
        .iter()
        .zip(presences)
        .map(|(&r, &p)| {
            let count = roles.iter().filter(|&&x| x == r).count();
            priors::target_offset_lu(r, p, count)
        })
        .collect();
    // a role guessed with little confidence gets a placement near the song's middle: a wrong
    // guess then costs a little, not a lot
    let mut sorted = raw.clone();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let lead = priors::target_offset_lu(Role::LeadInstrument, Presence::Lead, 1);
    roles
        .iter()
        .zip(presences)
        .enumerate()
        .map(|(i, (&r, &p))| {
            let w = priors::confidence_weight(confidence.get(i).copied().unwrap_or(1.0));
            let t = w * raw[i] + (1.0 - w) * middle;
            let count = roles.iter().filter(|&&x| x == r).count();
            let mut why = format!("{}: sits {:+.1} LU against the lead", role_words(r, p), t - lead);
            if count > 1 {
                why += &format!(" ({count} tracks share the role)");
            }
            if w < 1.0 {
                why += &format!(
                    " (the role is a guess, {:.0}% sure: placed {:.0}% of the way from the song's middle)",
                    100.0 * confidence.get(i).copied().unwrap_or(1.0),
                    100.0 * w
                );
            }
            (t, why)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pans_are_constant_power_and_the_image_balances() {
        for p in [-1.0, -0.5, 0.0, 0.3, 1.0] {
            let (l, r) = pan_gains(p);
            assert!((l * l + r * r - 1.0).abs() < 1e-12);
        }
        let names: Vec<String> = [
            "kick", "bass", "gtr1", "gtr2", "keys", "pad", "Gtr L", "Gtr R",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let roles = [
            Role::Kick,
            Role::Bass,
            Role::Guitar,
            Role::Guitar,
            Role::Keys,
            Role::Pad,
            Role::Guitar,
            Role::Guitar,
        ];
        let pres = [Presence::Normal; 8];
        let ch = [1usize; 8];
        let lv = [-9.0, -0.5, -2.0, -2.0, -1.5, -4.5, -3.0, -3.0];
        let p = decide_pans(&names, &roles, &pres, &ch, &lv);
        assert_eq!(p[0].0.pan, 0.0);
        assert_eq!(p[1].0.pan, 0.0);
        assert!(
            p[2].0.pan * p[3].0.pan < 0.0,
            "guitars mirrored: {} {}",
            p[2].0.pan,
            p[3].0.pan
        );
        assert_eq!(p[6].0.pan, -0.7);
        assert_eq!(p[7].0.pan, 0.7);
        let (mut l, mut r) = (0.0, 0.0);
        for (i, (pl, _)) in p.iter().enumerate() {
            let (gl, gr) = pan_gains(pl.pan);
            l += 10f64.powf(lv[i] / 10.0) * gl * gl;
            r += 10f64.powf(lv[i] / 10.0) * gr * gr;
        }
        // the pans keep the image within 2.5 dB (the mix bus evens out the rest)
        assert!(
            (10.0 * (l / r).log10()).abs() < 2.5,
            "L/R {:.2} dB",
            10.0 * (l / r).log10()
        );
        // both sides hold parts
        assert!(p.iter().filter(|x| x.0.pan < 0.0).count() >= 2);
        assert!(p.iter().filter(|x| x.0.pan > 0.0).count() >= 2);
    }

    #[test]
    fn eq_is_bounded() {
        let mut eq: Vec<FilterKind> = (0..4)
            .map(|_| FilterKind::Peaking {
                freq_hz: 1000.0,
                gain_db: -4.0,
                q: 2.0,
            })
            .collect();
        bound_eq(&mut eq, 48_000.0);
        let at: f64 = eq.iter().map(|k| k.response_db(1000.0, 48_000.0)).sum();
        assert!(at >= -MAX_EQ_MOVE_DB - 0.01, "{at}");
    }
}
