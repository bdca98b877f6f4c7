//! Matching a reference track: "make it sound like this record".
//!
//! A reference (or several, averaged) is reduced to a [`ReferenceProfile`]: its integrated
//! loudness, dynamics (loudness range, peak-to-loudness ratio, crest), and the long-term
//! 1/3-octave spectra of its mid and side, measured where the music is loud (intros, breaks
//! and fades left out) and normalised to the 100 Hz - 5 kHz mean of the mid, so that two
//! songs at different levels compare. The song is measured the same way, and the
//! difference becomes a [`MatchStage`]: a tone curve (each band's total power, the 1/3-octave
//! bands interpolated in log frequency) and a width curve (the side's share of each band,
//! smoothed over an octave), each scaled by its amount and bounded, never boosting what the
//! song does not have. They become mid and side gains, which the renderer plays as a
//! linear-phase mid/side FIR ([`mixdown_dsp::fir`]).
//! Dynamics and loudness matching are choices of the glue, limiter and loudness stages
//! (see `decide`). A profile saves to TOML (`--save-match`) and loads back (`--match-file`),
//! so a whole album can be matched to the same reference.

use crate::analysis::subblock_powers;
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use mixdown_dsp::loudness::Loudness;
use mixdown_dsp::meters;
use mixdown_dsp::spectrum::{mid_side_third_octave_gated_by, BandSpectrum};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Frames of the long-term spectra at most (spread evenly over the song).
const PROFILE_FRAMES: usize = 600;
/// Frames more than this far under the loudest tenth are not "the song playing".
const LOUD_GATE_DB: f64 = 12.0;
/// The spectra are normalised to the mean of the mid over these bands.
pub(super) const NORM_BAND_HZ: (f64, f64) = (100.0, 5_000.0);
/// A band this far under the song's loudest band is empty: never boosted.
pub(super) const EMPTY_BELOW_DB: f64 = 60.0;
/// The side of a band this far under its mid is (all but) mono: its width is left alone.
const MONO_SIDE_DB: f64 = 40.0;
/// Bounds of the tonal match, dB.
pub const MAX_BOOST_DB: f64 = 12.0;
pub const MAX_CUT_DB: f64 = 20.0;
/// Bounds of the width change (side against mid), dB.
pub const MAX_WIDEN_DB: f64 = 9.0;
pub const MAX_NARROW_DB: f64 = 12.0;
/// Schema tag of a saved match file.
pub const MATCH_FILE_VERSION: &str = "mixdown.match/1";

/// How far each part of the match goes, 0 (leave the song as it is) to 1 (all the way).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchAmounts {
    pub tone: f64,
    pub width: f64,
    pub dynamics: f64,
    pub loudness: f64,
}

impl Default for MatchAmounts {
    fn default() -> Self {
        MatchAmounts {
            tone: 1.0,
            width: 1.0,
            dynamics: 1.0,
            loudness: 1.0,
        }
    }
}

impl MatchAmounts {
    /// Parse `tone=0.7,width=1,dynamics=0.5,loudness=1` (any subset; the rest stay at 1).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let mut a = MatchAmounts::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("--match: '{part}' is not NAME=AMOUNT (for example tone=0.7)")
            })?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("--match: '{}' is not a number in '{part}'", v.trim()))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "--match: {part} is out of range; amounts go from 0 (leave as is) to 1 (match fully)"
                ));
            }
            match k.trim().to_ascii_lowercase().as_str() {
                "tone" | "eq" => a.tone = v,
                "width" | "stereo" => a.width = v,
                "dynamics" => a.dynamics = v,
                "loudness" => a.loudness = v,
                other => {
                    return Err(format!(
                        "--match: unknown part '{other}'; the parts are tone, width, dynamics, loudness"
                    ))
                }
            }
        }
        Ok(a)
    }
}

/// One band of a profile: levels relative to the mid's 100 Hz - 5 kHz mean, dB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileBand {
    pub hz: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_db: Option<f64>,
}

/// What a reference sounds like, in the terms the match uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    pub version: String,
    /// Where it came from (file names; several when averaged).
    pub sources: Vec<String>,
    pub integrated_lufs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_range_lu: Option<f64>,
    /// Sample peak minus integrated loudness, dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plr_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crest_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_peak_dbfs: Option<f64>,
    /// True when at least one source is stereo (the side bands mean something).
    pub stereo: bool,
    pub bands: Vec<ProfileBand>,
}

/// Mid and side spectra, normalised: (centres, mid, side).
pub type Spectra = (Vec<f64>, Vec<Option<f64>>, Option<Vec<Option<f64>>>);

/// The long-term mid/side spectra of `buf` where it is loud, normalised to the mid's
/// 100 Hz - 5 kHz mean (None when that range is silent).
pub fn mid_side_spectra(buf: &AudioBuffer) -> Option<Spectra> {
    mid_side_spectra_gated_by(buf, None)
}

/// [`mid_side_spectra`] of `buf` on the moments where `gate` (the same length: what `buf`
/// was made from) is loud.
pub fn mid_side_spectra_gated_by(buf: &AudioBuffer, gate: Option<&AudioBuffer>) -> Option<Spectra> {
    let l = buf.channels.first()?;
    let r = (buf.num_channels() >= 2).then(|| buf.channels[1].as_slice());
    let g = gate.and_then(|g| {
        let gl = g.channels.first()?;
        Some((
            gl.as_slice(),
            (g.num_channels() >= 2).then(|| g.channels[1].as_slice()),
        ))
    });
    let (mid, side): (BandSpectrum, Option<BandSpectrum>) =
        mid_side_third_octave_gated_by(l, r, buf.sample_rate, PROFILE_FRAMES, LOUD_GATE_DB, g);
    let norm: Vec<f64> = mid
        .centres_hz
        .iter()
        .zip(&mid.level_db)
        .filter(|(c, _)| (NORM_BAND_HZ.0..=NORM_BAND_HZ.1).contains(*c))
        .filter_map(|(_, l)| *l)
        .collect();
    if norm.is_empty() {
        return None;
    }
    let off = norm.iter().sum::<f64>() / norm.len() as f64;
    let shift = |v: &[Option<f64>]| v.iter().map(|x| x.map(|x| x - off)).collect::<Vec<_>>();
    Some((
        mid.centres_hz.clone(),
        shift(&mid.level_db),
        side.map(|s| shift(&s.level_db)),
    ))
}

/// The two channels' summed spectrum (what [`crate::analysis::analyse`] reports) from the
/// mid and side spectra: |L|² + |R|² = 2 (|M|² + |S|²). Levels are normalised as the
/// spectra are.
pub fn channel_sum_spectrum(s: &Spectra) -> BandSpectrum {
    let centres = &s.0;
    BandSpectrum {
        centres_hz: centres.clone(),
        level_db: (0..centres.len())
            .map(|i| total_db(s, i).map(|t| t + 3.0103))
            .collect(),
    }
}

/// Why a file cannot be a reference, if it cannot.
fn check_reference(path: &Path, buf: &AudioBuffer) -> Result<()> {
    if buf.frames() == 0 {
        return Err(Error::file(
            path,
            "contains no audio, so it cannot be a reference",
        ));
    }
    let (bad, _) = buf.non_finite();
    if bad > 0 {
        return Err(Error::file(
            path,
            format!(
                "contains {bad} invalid samples (NaN or infinity); the reference file is damaged"
            ),
        ));
    }
    if buf.is_digital_silence() {
        return Err(Error::file(
            path,
            "is digital silence; a reference must be music to match",
        ));
    }
    if buf.duration_s() < 3.0 {
        return Err(Error::file(
            path,
            format!(
                "is only {:.0} ms long; a reference needs at least 3 s of music to measure its tone and loudness",
                buf.duration_s() * 1000.0
            ),
        ));
    }
    Ok(())
}

/// Measure a reference.
pub fn profile(path: &Path, buf: &AudioBuffer) -> Result<ReferenceProfile> {
    check_reference(path, buf)?;
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    // the reference's peak is its sample peak: it only describes the reference's density
    // (the master's own ceiling is always a true peak), and a 4x true-peak pass would cost
    // as much as the rest of the profile
    let (sub, (levels, spectra)) = rayon::join(
        || subblock_powers(&views, buf.sample_rate),
        || rayon::join(|| meters::levels(&views), || mid_side_spectra(buf)),
    );
    let loud = Loudness::from_subblocks(&sub);
    let (Some(lufs), Some((centres, mid, side))) = (loud.integrated_lufs, spectra) else {
        return Err(Error::file(
            path,
            "is too quiet to measure (nothing above the loudness gate); a reference must be music to match",
        ));
    };
    let peak_db = levels.sample_peak_dbfs;
    let stereo = side.is_some();
    let bands = centres
        .iter()
        .enumerate()
        .map(|(i, &hz)| ProfileBand {
            hz,
            mid_db: mid[i],
            side_db: side.as_ref().and_then(|s| s[i]),
        })
        .collect();
    Ok(ReferenceProfile {
        version: MATCH_FILE_VERSION.into(),
        sources: vec![path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())],
        integrated_lufs: lufs,
        loudness_range_lu: loud.loudness_range_lu,
        plr_db: peak_db.map(|t| t - lufs),
        crest_db: levels.crest_db,
        sample_peak_dbfs: peak_db,
        stereo,
        bands,
    })
}

pub(super) fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// Several references averaged into one: loudness, dynamics and each band's level are the
/// means of the references that have them (band levels in dB, each reference already
/// normalised, so a louder reference does not outweigh a quieter one).
pub fn average(profiles: &[ReferenceProfile]) -> Option<ReferenceProfile> {
    let first = profiles.first()?;
    if profiles.len() == 1 {
        return Some(first.clone());
    }
    let widest = profiles.iter().max_by_key(|p| p.bands.len())?;
    let bands = widest
        .bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let at = |f: fn(&ProfileBand) -> Option<f64>| {
                mean(profiles.iter().filter_map(|p| p.bands.get(i).and_then(f)))
            };
            ProfileBand {
                hz: b.hz,
                mid_db: at(|b| b.mid_db),
                side_db: at(|b| b.side_db),
            }
        })
        .collect();
    Some(ReferenceProfile {
        version: MATCH_FILE_VERSION.into(),
        sources: profiles.iter().flat_map(|p| p.sources.clone()).collect(),
        integrated_lufs: mean(profiles.iter().map(|p| p.integrated_lufs))?,
        loudness_range_lu: mean(profiles.iter().filter_map(|p| p.loudness_range_lu)),
        plr_db: mean(profiles.iter().filter_map(|p| p.plr_db)),
        crest_db: mean(profiles.iter().filter_map(|p| p.crest_db)),
        sample_peak_dbfs: mean(profiles.iter().filter_map(|p| p.sample_peak_dbfs)),
        stereo: profiles.iter().any(|p| p.stereo),
        bands,
    })
}

impl ReferenceProfile {
    /// The profile as a match file (TOML, with a header comment).
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# mixdown match file: the tone, width, dynamics and loudness of {}.\n\
             # Apply it to other songs with: mixdown master SONG --match-file THIS_FILE -o OUT\n\
             # Band levels are dB relative to the mid's 100 Hz - 5 kHz mean.\n{body}",
            self.sources.join(" + ")
        )
    }

    /// Read a match file.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self> {
        let p: ReferenceProfile = toml::from_str(text).map_err(|e| {
            Error::file(
                path,
                format!(
                    "is not a mixdown match file ({})",
                    e.message().lines().next().unwrap_or("unreadable")
                ),
            )
        })?;
        if p.version != MATCH_FILE_VERSION {
            return Err(Error::file(
                path,
                format!(
                    "is a match file of version '{}'; this mixdown reads '{MATCH_FILE_VERSION}'",
                    p.version
                ),
            ));
        }
        if p.bands.iter().all(|b| b.mid_db.is_none()) || !p.integrated_lufs.is_finite() {
            return Err(Error::file(path, "is a match file without any band levels"));
        }
        Ok(p)
    }
}

/// One band of the match EQ: what it does to the mid and to the side, dB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchBand {
    pub hz: f64,
    /// Change of the band's total (mid plus side) power: the tone.
    pub tone_db: f64,
    /// Gains of the mid and the side that give that tone and the width change.
    pub mid_db: f64,
    pub side_db: f64,
}

/// The reference match as the chain plays it and the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchStage {
    pub enabled: bool,
    /// The reference(s) matched.
    pub references: Vec<String>,
    pub amounts: MatchAmounts,
    /// The reference's measured loudness, LUFS, and the loudness aimed at.
    pub reference_lufs: f64,
    /// The curves applied (mid: tone; side: tone plus width), per 1/3-octave band.
    pub bands: Vec<MatchBand>,
    /// Mean width change (side against mid, 150 Hz - 10 kHz), dB; + is wider.
    pub width_change_db: f64,
    pub why: String,
    /// What was held back, and why (bounds, empty bands, a mono reference...).
    pub notes: Vec<String>,
}

/// Light smoothing in frequency (each band with its neighbours, 1-2-1) over defined bands.
pub(super) fn smooth(v: &[Option<f64>]) -> Vec<Option<f64>> {
    (0..v.len())
        .map(|i| {
            v[i]?;
            let (mut s, mut w) = (0.0, 0.0);
            for (j, wt) in [(i.wrapping_sub(1), 1.0), (i, 2.0), (i + 1, 1.0)] {
                if let Some(Some(x)) = v.get(j) {
                    s += wt * x;
                    w += wt;
                }
            }
            Some(s / w)
        })
        .collect()
}

/// Fill undefined bands with the nearest defined value (never a boost), so the curve holds
/// its level where there is nothing to compare instead of jumping back to 0 dB.
pub(super) fn fill(v: &[Option<f64>]) -> Vec<f64> {
    (0..v.len())
        .map(|i| {
            if let Some(x) = v[i] {
                return x;
            }
            let near = (1..v.len()).find_map(|d| {
                let a = i.checked_sub(d).and_then(|j| v.get(j).copied().flatten());
                let b = v.get(i + d).copied().flatten();
                a.or(b)
            });
            near.unwrap_or(0.0).min(0.0)
        })
        .collect()
}

/// Band `i`'s total (mid plus side) level in spectra `s`, dB (None where the mid is empty).
pub(super) fn total_db(s: &Spectra, i: usize) -> Option<f64> {
    s.1[i].map(|m| power_sum_db(m, s.2.as_ref().and_then(|sd| sd[i])))
}

/// True when some band of `bands` changes the mid or the side audibly (0.05 dB or more).
pub(super) fn any_gain(bands: &[MatchBand]) -> bool {
    bands
        .iter()
        .any(|b| b.mid_db.abs() >= 0.05 || b.side_db.abs() >= 0.05)
}

/// Power sum of two levels, dB.
pub(super) fn power_sum_db(a: f64, b: Option<f64>) -> f64 {
    match b {
        Some(b) => 10.0 * (10f64.powf(a / 10.0) + 10f64.powf(b / 10.0)).log10(),
        None => a,
    }
}

/// Decide the match EQ: the song's mid/side spectra against the reference's.
///
/// Tone and width are kept apart. The tone is the change of each band's total power
/// (mid plus side: what the band sounds like in stereo and what a spectrum analyser of the
/// two channels shows); the width is the change of the side's share of that power. So
/// `tone = 0` leaves the spectrum as it is whatever the width does, and `width = 0` leaves
/// the image as it is.
pub fn decide_match(
    song: &Spectra,
    reference: &ReferenceProfile,
    amounts: MatchAmounts,
) -> MatchStage {
    let (centres, s_mid, s_side) = song;
    let mut notes = Vec::new();
    let s_total: Vec<Option<f64>> = (0..centres.len()).map(|i| total_db(song, i)).collect();
    let max_song = s_total.iter().flatten().fold(f64::MIN, |m, &v| m.max(v));
    let ref_band = |hz: f64| {
        reference
            .bands
            .iter()
            .find(|b| (b.hz / hz - 1.0).abs() < 0.01)
    };
    let n = centres.len();
    // tone: the reference's total power minus the song's; no boost where the song is empty
    let mut empty_boosts = Vec::new();
    let raw: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let b = ref_band(centres[i])?;
            let r = power_sum_db(b.mid_db?, b.side_db);
            Some(r - s_total[i]?)
        })
        .collect();
    // level-neutral: the loudness stage sets the level, the curve only the balance
    let offset = mean(
        (0..n)
            .filter(|&i| (NORM_BAND_HZ.0..=NORM_BAND_HZ.1).contains(&centres[i]))
            .filter_map(|i| raw[i]),
    )
    .unwrap_or(0.0);
    let raw: Vec<Option<f64>> = raw.iter().map(|d| d.map(|d| d - offset)).collect();
    // no smoothing beyond the 1/3-octave bands themselves (their interpolation in log
    // frequency is the curve): a wider smoothing leaves real differences unmatched
    let tone = raw;
    let tone: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let d = tone[i]?;
            let empty = s_total[i].is_none_or(|s| s < max_song - EMPTY_BELOW_DB);
            if empty && d > 0.0 {
                empty_boosts.push(centres[i]);
                return Some(0.0);
            }
            Some(d)
        })
        .collect();
    // width: the change of the side-to-mid ratio, where both have a side
    let ref_stereo = reference.stereo;
    let song_stereo = s_side.is_some();
    let width_raw: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let s_side = s_side.as_ref()?[i]?;
            let s_mid = s_mid[i]?;
            let b = ref_band(centres[i])?;
            let (r_mid, r_side) = (b.mid_db?, b.side_db?);
            let song_w = s_side - s_mid;
            let want = (r_side - r_mid) - song_w;
            // a (nearly) mono band of the song: widening it would only lift noise
            if (song_w < -MONO_SIDE_DB || s_side < max_song - EMPTY_BELOW_DB) && want > 0.0 {
                return Some(0.0);
            }
            Some(want)
        })
        .collect();
    let width = smooth(&smooth(&width_raw));
    if !ref_stereo && song_stereo {
        notes.push("the reference is mono: the song's width is left as it is".into());
    }
    if !song_stereo {
        notes.push("the song is mono: only its tone and loudness are matched".into());
    }
    if !empty_boosts.is_empty() {
        notes.push(format!(
            "not boosted where the song has almost nothing to boost: {}",
            bands_text(&empty_boosts)
        ));
    }
    // amounts and bounds, then the mid and side gains that give both
    let tone = fill(&tone);
    let width = fill(&width);
    let mut bounded = Vec::new();
    let bands: Vec<MatchBand> = (0..n)
        .map(|i| {
            let want_t = amounts.tone * tone[i];
            let t = want_t.clamp(-MAX_CUT_DB, MAX_BOOST_DB);
            let want_w = if ref_stereo && song_stereo {
                amounts.width * width[i]
            } else {
                0.0
            };
            let w = want_w.clamp(-MAX_NARROW_DB, MAX_WIDEN_DB);
            if (t - want_t).abs() > 0.05 || (w - want_w).abs() > 0.05 {
                bounded.push(centres[i]);
            }
            match_band(centres[i], t, w, side_to_mid(song, i))
        })
        .collect();
    if !bounded.is_empty() {
        notes.push(format!(
            "held to the bounds (tone +{MAX_BOOST_DB:.0}/-{MAX_CUT_DB:.0} dB, width +{MAX_WIDEN_DB:.0}/-{MAX_NARROW_DB:.0} dB): {}",
            bands_text(&bounded)
        ));
    }
    let width_change_db = mean(
        bands
            .iter()
            .filter(|b| (150.0..=10_000.0).contains(&b.hz))
            .map(|b| b.side_db - b.mid_db),
    )
    .unwrap_or(0.0);
    let (lo, hi) = bands.iter().fold((0.0f64, 0.0f64), |(lo, hi), b| {
        (lo.min(b.tone_db), hi.max(b.tone_db))
    });
    let enabled = any_gain(&bands);
    MatchStage {
        enabled,
        references: reference.sources.clone(),
        amounts,
        reference_lufs: round2(reference.integrated_lufs),
        why: if enabled {
            format!(
                "mid/side linear-phase EQ toward {} ({:.0}% of the tone: largest cut {lo:.1} dB, largest boost {hi:.1} dB; {:.0}% of the width: {:+.1} dB side against mid)",
                reference.sources.join(" + "),
                amounts.tone * 100.0,
                amounts.width * 100.0,
                width_change_db
            )
        } else {
            "the song's tone and width already match the reference's (or the amounts are 0)".into()
        },
        bands,
        width_change_db: round2(width_change_db),
        notes,
    }
}

/// The side-to-mid ratio of band `i` of `s`, dB (-inf when a side or mid is missing).
pub(super) fn side_to_mid(s: &Spectra, i: usize) -> f64 {
    match (s.1[i], s.2.as_ref().and_then(|s| s[i])) {
        (Some(m), Some(sd)) => sd - m,
        _ => f64::NEG_INFINITY,
    }
}

/// The mid and side gains that move a band's total power by `t` dB and its side-to-mid
/// ratio from `rho` to `rho + w`: the total moves by t, so the mid moves by t plus what the
/// side's new share takes from it.
pub(super) fn match_band(hz: f64, t: f64, w: f64, rho: f64) -> MatchBand {
    let (mid, side) = if rho.is_finite() && w != 0.0 {
        let share = |r: f64| (1.0 + 10f64.powf(r / 10.0)).log10() * 10.0;
        let mid = t + share(rho) - share(rho + w);
        (mid, mid + w)
    } else {
        (t, t)
    };
    MatchBand {
        hz,
        tone_db: round2(t),
        mid_db: round2(mid),
        side_db: round2(side),
    }
}

impl MatchStage {
    /// One line: the curve at a few landmark frequencies, mid and width.
    pub fn summary(&self) -> String {
        let at = |hz: f64, pick: fn(&MatchBand) -> f64| curve_at(&self.bands, pick, hz);
        let marks = [60.0, 250.0, 1000.0, 4000.0, 12000.0];
        let tone = marks
            .iter()
            .map(|&f| {
                let name = if f >= 1000.0 {
                    format!("{:.0}k", f / 1000.0)
                } else {
                    format!("{f:.0}")
                };
                format!("{name} {:+.1}", at(f, |b| b.tone_db))
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "tone (dB at Hz) {tone}; width {:+.1} dB; toward {} at {:.1} LUFS",
            self.width_change_db,
            self.references.join(" + "),
            self.reference_lufs
        )
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// "40 Hz - 63 Hz, 16 kHz" from a list of band centres (runs of neighbours joined).
fn bands_text(hz: &[f64]) -> String {
    let name = |f: f64| {
        if f >= 1000.0 {
            format!("{:.1} kHz", f / 1000.0).replace(".0 kHz", " kHz")
        } else {
            format!("{f:.0} Hz")
        }
    };
    let mut runs: Vec<(f64, f64)> = Vec::new();
    for &f in hz {
        match runs.last_mut() {
            Some((_, hi)) if (f / *hi) < 1.3 => *hi = f,
            _ => runs.push((f, f)),
        }
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                name(a)
            } else {
                format!("{} - {}", name(a), name(b))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The curve of `bands` at `hz` (`pick` chooses mid or side), interpolated in log frequency,
/// held flat beyond the ends.
pub fn curve_at(bands: &[MatchBand], pick: fn(&MatchBand) -> f64, hz: f64) -> f64 {
    let (Some(first), Some(last)) = (bands.first(), bands.last()) else {
        return 0.0;
    };
    if hz <= first.hz {
        return pick(first);
    }
    if hz >= last.hz {
        return pick(last);
    }
    for w in bands.windows(2) {
        if hz <= w[1].hz {
            let t = (hz.ln() - w[0].hz.ln()) / (w[1].hz.ln() - w[0].hz.ln());
            return pick(&w[0]) + t * (pick(&w[1]) - pick(&w[0]));
        }
    }
    pick(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::decide::{decide, MasterOptions, ReferenceMatch};
    use crate::master::render::render;
    use crate::targets::Target;
    use mixdown_dsp::biquad::{FilterChain, FilterKind};
    use mixdown_dsp::rng::Rng;
    use mixdown_dsp::spectrum::third_octave;

    const SR: u32 = 44_100;

    /// Stereo "music": pinkish noise with a steady beat, partly correlated left and right
    /// (a centred part and a wide part), shaped by `eq`.
    fn music(secs: f64, seed: u64, eq: &[FilterKind]) -> AudioBuffer {
        let n = (secs * SR as f64) as usize;
        let mut rng = Rng::new(seed);
        let (mut p, mut q, mut w) = (0.0f64, 0.0f64, 0.0f64);
        let mut l = Vec::with_capacity(n);
        let mut r = Vec::with_capacity(n);
        for i in 0..n {
            // a leaky integrator of white noise: more low end than high (a musical tilt)
            p = 0.97 * p + 0.1 * rng.gaussian();
            q = 0.5 * q + 0.3 * rng.gaussian();
            w = 0.8 * w + 0.2 * rng.gaussian();
            let beat = if (i % (SR as usize / 2)) < 4000 {
                1.0
            } else {
                0.6
            };
            let mid = beat * (p + q) * 0.2;
            l.push((mid + 0.1 * w) as f32);
            r.push((mid - 0.1 * w) as f32);
        }
        let mut ch = vec![l, r];
        if !eq.is_empty() {
            let mut f = FilterChain::new(eq, SR as f64, 2);
            let (a, b) = ch.split_at_mut(1);
            f.process(&mut [&mut a[0][..], &mut b[0][..]]);
        }
        AudioBuffer::from_channels(SR, ch)
    }

    fn narrow(buf: &mut AudioBuffer, side_gain: f32, gain: f32) {
        let (a, b) = buf.channels.split_at_mut(1);
        for (l, r) in a[0].iter_mut().zip(b[0].iter_mut()) {
            let (m, s) = (0.5 * (*l + *r), 0.5 * (*l - *r) * side_gain);
            *l = (m + s) * gain;
            *r = (m - s) * gain;
        }
    }

    /// measure.py's distance: 1/3-octave levels of L+R, the mean difference removed, the
    /// mean absolute rest, 25 Hz - 16 kHz.
    fn lsd(a: &AudioBuffer, b: &AudioBuffer) -> f64 {
        let spec = |x: &AudioBuffer| {
            let v: Vec<&[f32]> = x.channels.iter().map(|c| c.as_slice()).collect();
            third_octave(&v, x.sample_rate, 100_000)
        };
        let (sa, sb) = (spec(a), spec(b));
        let d: Vec<f64> = sa
            .centres_hz
            .iter()
            .zip(sa.level_db.iter().zip(&sb.level_db))
            .filter(|(c, _)| **c <= 16_500.0)
            .filter_map(|(_, (x, y))| Some((*x)? - (*y)?))
            .collect();
        let m = d.iter().sum::<f64>() / d.len() as f64;
        d.iter().map(|x| (x - m).abs()).sum::<f64>() / d.len() as f64
    }

    fn profile_of(buf: &AudioBuffer) -> ReferenceProfile {
        profile(Path::new("ref.wav"), buf).expect("a usable reference")
    }

    #[test]
    fn amounts_parse_and_bad_parts_are_refused() {
        let a = MatchAmounts::parse("tone=0.7, width=1,dynamics=0.5").unwrap();
        assert_eq!(
            (a.tone, a.width, a.dynamics, a.loudness),
            (0.7, 1.0, 0.5, 1.0)
        );
        for bad in ["tone", "tone=2", "tone=x", "colour=1"] {
            let e = MatchAmounts::parse(bad).unwrap_err();
            assert!(e.starts_with("--match"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_reference_identical_to_the_song_asks_for_nothing() {
        let song = music(8.0, 1, &[]);
        let m = decide_match(
            &mid_side_spectra(&song).unwrap(),
            &profile_of(&song),
            MatchAmounts::default(),
        );
        assert!(!m.enabled, "{m:?}");
        assert!(m.bands.iter().all(|b| b.mid_db == 0.0 && b.side_db == 0.0));
    }

    #[test]
    fn the_match_undoes_shelves_narrowing_and_gain() {
        let original = music(12.0, 2, &[]);
        let mut degraded = music(
            12.0,
            2,
            &[
                FilterKind::LowShelf {
                    freq_hz: 120.0,
                    gain_db: 4.0,
                    slope: 1.0,
                },
                FilterKind::HighShelf {
                    freq_hz: 6000.0,
                    gain_db: -5.0,
                    slope: 1.0,
                },
            ],
        );
        narrow(&mut degraded, 0.5, 10f32.powf(-0.5));
        let before = lsd(&degraded, &original);
        let prof = profile_of(&original);
        let mut opts = MasterOptions::new(Target::preset("streaming").unwrap());
        opts.reference = Some(ReferenceMatch {
            profile: prof.clone(),
            amounts: MatchAmounts::default(),
            target_given: false,
            song_spectra: None,
        });
        let an = crate::analysis::analyse(&degraded);
        let chain = decide(&degraded, &an, &opts);
        let m = chain.matching.clone().expect("a match stage");
        assert!(m.enabled);
        // it asks for the inverse: less bass, more treble, twice the side (+6 dB)
        let at = |hz: f64| curve_at(&m.bands, |b| b.tone_db, hz);
        assert!(at(10_000.0) - at(1000.0) > 3.5, "{:?}", m.bands);
        assert!(at(50.0) - at(1000.0) < -2.5, "{:?}", m.bands);
        assert!(
            (m.width_change_db - 6.0).abs() < 1.0,
            "{}",
            m.width_change_db
        );
        assert_eq!(chain.target.name, "reference");
        assert!((chain.target.lufs - prof.integrated_lufs).abs() < 0.06);
        let (out, outcome) = render(degraded, &chain, &an.loudness_subblocks, &|_, _| {}).unwrap();
        let after = lsd(&out, &original);
        assert!(before > 1.0, "the degradation shows: {before:.2} dB");
        assert!(
            after < 0.15,
            "distance to the original {after:.2} dB (was {before:.2})"
        );
        assert!((outcome.loudness.output_lufs - prof.integrated_lufs).abs() < 0.2);
        assert!(outcome.loudness.output_true_peak_dbtp <= -1.0 + 1e-6);
    }

    /// A song whose loud moments are its bass-heavy ones (a kick on every beat).
    fn kicking(secs: f64, seed: u64) -> AudioBuffer {
        let mut b = music(secs, seed, &[]);
        let beat = SR as usize / 2;
        for c in b.channels.iter_mut() {
            for (i, x) in c.iter_mut().enumerate() {
                let t = (i % beat) as f64 / SR as f64;
                let kick = 0.3 * (-t * 18.0).exp() * (2.0 * std::f64::consts::PI * 55.0 * t).sin();
                *x += kick as f32;
            }
        }
        b
    }

    #[test]
    fn limiting_toward_a_dense_reference_keeps_the_tone_once_refined() {
        // tone=0 toward a reference far denser than the song: heavy limiting, which turns
        // the kicks down and so thins the low end, unless the match corrects for it
        let song = kicking(20.0, 13);
        let mut dense = music(20.0, 14, &[]);
        dense.apply_gain(6.0);
        for c in dense.channels.iter_mut() {
            c.iter_mut().for_each(|x| *x = x.clamp(-0.9, 0.9));
        }
        let mut opts = MasterOptions::new(Target::preset("streaming").unwrap());
        let spectra = mid_side_spectra(&song).unwrap();
        opts.reference = Some(ReferenceMatch {
            profile: profile_of(&dense),
            amounts: MatchAmounts {
                tone: 0.0,
                ..Default::default()
            },
            target_given: false,
            song_spectra: Some(spectra.clone()),
        });
        let an = crate::analysis::analyse(&song);
        let chain = decide(&song, &an, &opts);
        let lufs = an.loudness.integrated_lufs.unwrap();
        let master = |c: &crate::master::MasterChain| {
            let (out, o) = render(song.clone(), c, &an.loudness_subblocks, &|_, _| {}).unwrap();
            assert!(o.loudness.output_true_peak_dbtp <= -1.0 + 1e-6);
            (lsd(&out, &song), o.loudness.output_lufs)
        };
        let (plain, plain_lufs) = master(&chain);
        let refined =
            crate::master::refine::refine_match(&song, &chain, &spectra, &an.loudness_subblocks)
                .expect("the first master is off the aim");
        assert!(refined.notes.iter().any(|n| n.contains("refined")));
        let mut c2 = chain.clone();
        c2.matching = Some(refined);
        let (fixed, fixed_lufs) = master(&c2);
        assert!(
            plain_lufs - lufs > 6.0,
            "a loud reference: {lufs:.1} -> {plain_lufs:.1} ({plain:.2} -> {fixed:.2} dB)"
        );
        assert!(
            (fixed_lufs - plain_lufs).abs() < 1.0,
            "{plain_lufs:.2} vs {fixed_lufs:.2} LUFS"
        );
        assert!(plain > 0.25, "limiting moved the tone by {plain:.2} dB");
        assert!(
            fixed < 0.5 * plain && fixed < 0.2,
            "{plain:.2} -> {fixed:.2} dB"
        );
    }

    #[test]
    fn tone_zero_keeps_every_band_s_power_whatever_the_width_does() {
        let song = music(8.0, 3, &[]);
        let mut wide_bright = music(
            8.0,
            4,
            &[FilterKind::HighShelf {
                freq_hz: 3000.0,
                gain_db: 8.0,
                slope: 1.0,
            }],
        );
        narrow(&mut wide_bright, 2.5, 1.0);
        let spectra = mid_side_spectra(&song).unwrap();
        let amounts = MatchAmounts {
            tone: 0.0,
            ..Default::default()
        };
        let m = decide_match(&spectra, &profile_of(&wide_bright), amounts);
        assert!(m.width_change_db > 3.0, "{}", m.width_change_db);
        let (_, mid, side) = &spectra;
        for (i, b) in m.bands.iter().enumerate() {
            let (Some(md), Some(sd)) = (mid[i], side.as_ref().unwrap()[i]) else {
                continue;
            };
            let p = |db: f64| 10f64.powf(db / 10.0);
            let change = 10.0 * ((p(md + b.mid_db) + p(sd + b.side_db)) / (p(md) + p(sd))).log10();
            assert!(change.abs() < 0.05, "{} Hz: {change:.3} dB", b.hz);
        }
    }

    #[test]
    fn no_boost_where_the_song_has_nothing_and_the_bounds_hold() {
        // the song stops at 3 kHz (steeply); the reference is far brighter than any bound
        let lp = |f| FilterKind::LowPass {
            freq_hz: f,
            q: std::f64::consts::FRAC_1_SQRT_2,
        };
        let song = music(
            8.0,
            5,
            &[lp(3000.0), lp(3000.0), lp(3000.0), lp(3000.0), lp(3000.0)],
        );
        let bright = music(
            8.0,
            6,
            &[FilterKind::HighShelf {
                freq_hz: 2000.0,
                gain_db: 30.0,
                slope: 1.0,
            }],
        );
        let m = decide_match(
            &mid_side_spectra(&song).unwrap(),
            &profile_of(&bright),
            MatchAmounts::default(),
        );
        for b in &m.bands {
            assert!(b.tone_db <= MAX_BOOST_DB + 1e-9, "{b:?}");
            if b.hz >= 12_000.0 {
                assert!(b.tone_db <= 0.0, "boosted an empty band: {b:?}");
            }
        }
        assert!(m.bands.iter().any(|b| b.tone_db == MAX_BOOST_DB));
        assert!(
            m.notes.iter().any(|n| n.contains("almost nothing")),
            "{:?}",
            m.notes
        );
        assert!(
            m.notes.iter().any(|n| n.contains("bounds")),
            "{:?}",
            m.notes
        );
    }

    #[test]
    fn a_mono_reference_leaves_the_width_alone() {
        let song = music(8.0, 7, &[]);
        let r = music(8.0, 8, &[]);
        let mono = AudioBuffer::from_channels(SR, vec![r.channels[0].clone()]);
        let m = decide_match(
            &mid_side_spectra(&song).unwrap(),
            &profile_of(&mono),
            MatchAmounts::default(),
        );
        assert!(
            m.bands.iter().all(|b| b.mid_db == b.side_db),
            "{:?}",
            m.bands
        );
        assert!(m.notes.iter().any(|n| n.contains("mono")), "{:?}", m.notes);
    }

    #[test]
    fn profiles_average_and_survive_a_match_file() {
        let a = profile_of(&music(6.0, 9, &[]));
        let mut quiet = music(6.0, 10, &[]);
        quiet.apply_gain(0.25);
        let b = profile_of(&quiet);
        let avg = average(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(avg.sources.len(), 2);
        assert!((avg.integrated_lufs - 0.5 * (a.integrated_lufs + b.integrated_lufs)).abs() < 1e-9);
        // band levels are normalised, so a quieter reference weighs the same
        let i = avg.bands.iter().position(|x| x.hz > 990.0).unwrap();
        let want = 0.5 * (a.bands[i].mid_db.unwrap() + b.bands[i].mid_db.unwrap());
        assert!((avg.bands[i].mid_db.unwrap() - want).abs() < 1e-9);
        let text = avg.to_toml();
        assert!(text.starts_with("# mixdown match file"));
        let back = ReferenceProfile::from_toml(Path::new("m.toml"), &text).unwrap();
        assert_eq!(back, avg);
        let e = ReferenceProfile::from_toml(Path::new("m.toml"), "version = 3").unwrap_err();
        assert!(e.to_string().contains("m.toml"), "{e}");
    }

    #[test]
    fn silent_short_and_damaged_references_are_refused() {
        let silent = AudioBuffer::silent(SR, 2, SR as usize * 5);
        let short = music(0.05, 11, &[]);
        let mut nan = music(4.0, 12, &[]);
        nan.channels[0][100] = f32::NAN;
        for (buf, what) in [
            (silent, "silence"),
            (short, "50 ms long"),
            (nan, "invalid samples"),
        ] {
            let e = profile(Path::new("ref.wav"), &buf).unwrap_err().to_string();
            assert!(e.contains("ref.wav"), "{e}");
            assert!(e.contains(what) || e.contains("ms long"), "{what}: {e}");
        }
    }
}
