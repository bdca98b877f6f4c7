//! Excessive reverb: a wash that blurs transients.
//!
//! # How it is estimated
//!
//! Reverberation shows in how sound dies away: after a note or a hit, the room (or the reverb)
//! keeps it going and lets it fall at a steady rate in dB per second. The decay time (RT60, the
//! time to fall 60 dB) is estimated blind, from the music itself:
//!
//! 1. The channels are averaged and the energy of four octave bands (250-500 Hz, 500 Hz-1 kHz,
//!    1-2 kHz, 2-4 kHz; those under 0.45 × the sample rate) is measured every 10 ms over 23 ms
//!    windows (on the song decimated to about 11 kHz, enough for these bands), then smoothed
//!    over 30 ms.
//! 2. In each band, every local peak (the highest frame within ±50 ms, at least
//!    [`PEAK_ABOVE_FLOOR_DB`] over the band's floor) starts a *decay*: the envelope is followed
//!    until the next sound starts (a rise of [`RERISE_DB`] within 30 ms), for at most 3 s, or
//!    until it is [`FLOOR_MARGIN_DB`] from the floor; the decay ends at its lowest point.
//! 3. The *late* part of each decay, from [`LATE_S`] after the peak (the direct sound and the
//!    early reflections are over), gets a straight line in dB over time: that decay's RT60 is
//!    60 dB over its slope. Only decays with at least [`RELIABLE_S`] of late part are used (a
//!    shorter one is cut off by the next note while the direct sound still dominates it, and its
//!    slope is poorly determined): in practice the decays into pauses, breaks and endings.
//! 4. Music decays both ways: by itself (a plucked or struck note, a note let go, a
//!    diminuendo) and through the room. A room or a reverb can only make decays slower: nothing
//!    in it dies away faster than the reverb does. So the fastest decays bound the reverb, and
//!    the estimate ([`ReverbEstimate::decay_s`]) is the lower quartile of the decay times (a
//!    quartile rather than the minimum, so that one odd decay does not decide).
//! 5. How much it blurs transients: the *transient decays* are those whose peak rose at least
//!    [`TRANSIENT_RISE_DB`] in the 50 ms before it (a hit, a pluck, a consonant, not a swell):
//!    how long sharp sounds ring on. Their median is [`ReverbEstimate::transient_decay_s`].
//! 6. How wet: for each decay, the energy of its first 80 ms (the direct sound) against that of
//!    its tail, extrapolated along the fitted line to silence: [`ReverbEstimate::tail_share`] =
//!    late / (early + late), and the clarity C80 of room acoustics, 10·log10(early / late). The
//!    median over the decays used is reported.
//!
//! 7. How far the song falls into its gaps (for dense music, where decays are too short to
//!    time): in octave bands from 250 Hz to 16 kHz at the full sample rate (23 ms windows,
//!    10 ms hop, 30 ms smoothing), each moment's level is compared with the band's mean over
//!    the previous [`GAP_PAST_S`]; a *fall* is how far under that the band stays for
//!    [`GAP_HOLD_S`], a *rise* how far over. The deepest falls (the [`GAP_QUANTILE`] quantile,
//!    from moments whose previous level is within [`GAP_RANGE_DB`] of the band's loudest and
//!    from which the band later comes back within [`GAP_RETURN_DB`]: the song's final ring-out
//!    is an ending, not a gap) are [`ReverbEstimate::gap_depth_db`], the deepest band's; the
//!    same quantile of the rises is [`ReverbEstimate::attack_db`]. A reverb cannot stop: where
//!    the music stops or a hit ends, the tail holds the level up, so every band's falls stay
//!    shallow while attacks still rise. Bands that hold next to nothing
//!    ([`GAP_EMPTY_BAND_DB`] under the loudest) are left out.
//!
//! # Grading (conservative)
//!
//! `reverb.excessive` is a warning only for a clear wash: at least [`MIN_TRANSIENT_DECAYS`]
//! transient decays whose median is [`WASH_DECAY_S`] or longer, with a tail share of at least
//! [`WASH_TAIL_SHARE`] (the tails carry a good part of the energy); or, on music too dense for
//! sharp sounds to stand out, decays of [`CATHEDRAL_DECAY_S`] or longer (beyond any concert
//! hall) with tails carrying [`CATHEDRAL_TAIL_SHARE`] of the energy (clarity C80 -4.8 dB or
//! less: washed out by the measure of room acoustics), the gaps agreeing (in the bands the
//! decays are timed in, the median band falls at most [`CATHEDRAL_GAP_DB`] where sounds stop:
//! no such tail lets it fall further); or, on dense music, gaps filled: the
//! deepest falls in every band no deeper than [`FILLED_GAP_DB`] while attacks rise at least
//! [`FILLED_ATTACK_DB`] (on the corpus, dry songs read 12.4-74 dB, the same songs under a
//! 3 or 6 s reverb as loud as the dry sound 5-11 dB). A long decay time without
//! that (a big hall, or long notes and pads, which the estimate cannot tell from reverb) is info
//! from [`INFO_DECAY_S`]. Never a problem: reverb is a choice. The times given are the longest
//! slow decays measured (where the reverb is easiest to hear).
//!
//! # Limits
//!
//! A song without pauses gives few usable decays and then no estimate (no finding). Sound that
//! is held or released slowly (pads, organ, a piano with the pedal down, a diminuendo) decays
//! slowly by itself: in a song that has only such decays the estimate reads it as reverb (info
//! at most, unless its sharp sounds ring on too). Gated and ducked reverbs are heard less than
//! they measure.

use super::finding::{round3, Finding, Severity, TimeRange};
use crate::analysis::percentile;
use crate::AudioBuffer;
use mixdown_dsp::decimate::decimate_mean;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Hop of the band envelopes, s.
const HOP_S: f64 = 0.010;
/// A peak stands this far above the band's floor, dB.
pub const PEAK_ABOVE_FLOOR_DB: f64 = 12.0;
/// A decay ends when the envelope rises this much within 30 ms (the next sound), dB.
pub const RERISE_DB: f64 = 3.0;
/// ... or comes this close to the band's floor, dB.
pub const FLOOR_MARGIN_DB: f64 = 6.0;
/// Smallest fall of a decay, dB.
pub const MIN_DROP_DB: f64 = 3.0;
/// Start of the late part of a decay, s after its peak.
pub const LATE_S: f64 = 0.08;
/// A decay is used when its late part lasts at least this long, s.
pub const RELIABLE_S: f64 = 0.25;
/// Longest decay time measured, s.
pub const MAX_DECAY_S: f64 = 20.0;
/// Fewest decays for an estimate.
pub const MIN_DECAYS: usize = 3;
/// A transient decay starts with a rise of at least this within 50 ms, dB.
pub const TRANSIENT_RISE_DB: f64 = 12.0;
/// Fewest transient decays for a wash.
pub const MIN_TRANSIENT_DECAYS: usize = 3;
/// An onset (counted in [`ReverbEstimate::transients`]) rises this much within 30 ms, dB.
pub const ONSET_RISE_DB: f64 = 8.0;
/// A wash: transient decays of at least this, s ...
pub const WASH_DECAY_S: f64 = 2.5;
/// ... and a tail share of at least this.
pub const WASH_TAIL_SHARE: f64 = 0.3;
/// Reverberant enough to mention (info), s.
pub const INFO_DECAY_S: f64 = 1.5;
/// A wash also when the decays take at least this long, s (longer than any concert hall;
/// a cathedral) ...
pub const CATHEDRAL_DECAY_S: f64 = 4.0;
/// ... and the tails carry at least this share of the energy (clarity C80 of -4.8 dB or
/// less; concert halls are designed for about -2 to +4 dB).
pub const CATHEDRAL_TAIL_SHARE: f64 = 0.75;
/// ... and where sounds stop, those bands fall no deeper than this (the median band's deepest
/// falls, [`ReverbEstimate::gap_bands`]), dB: such a tail holds the level up (on the corpus,
/// plantings the cathedral cue finds read at most 15 dB, a dry dense backing track with a few
/// slow decays 24 dB).
pub const CATHEDRAL_GAP_DB: f64 = 20.0;

/// Octave bands of the gap measure, Hz (up to 16 kHz, where hits, chokes and consonants stop;
/// those under 0.45 × the sample rate).
const GAP_BANDS: [(f64, f64); 6] = [
    (250.0, 500.0),
    (500.0, 1000.0),
    (1000.0, 2000.0),
    (2000.0, 4000.0),
    (4000.0, 8000.0),
    (8000.0, 16000.0),
];
/// The level before a moment: the band's mean power over this long, s.
pub const GAP_PAST_S: f64 = 0.4;
/// A fall (or a rise) counts when it holds this long, s (so that the random flutter of a
/// noise-like sound does not count).
pub const GAP_HOLD_S: f64 = 0.03;
/// The deepest moments: this quantile of the falls (and of the rises).
pub const GAP_QUANTILE: f64 = 0.998;
/// Moments whose previous level is within this of the band's loudest are measured, dB.
pub const GAP_RANGE_DB: f64 = 35.0;
/// A fall counts as a gap when the band later comes back to within this of the level before
/// it, dB.
pub const GAP_RETURN_DB: f64 = 3.0;
/// A band whose loud level (90th percentile) is this far under the loudest band's holds next
/// to nothing and is left out of the gap measure, dB.
pub const GAP_EMPTY_BAND_DB: f64 = 45.0;
/// Fewest bands for the gap measure.
pub const GAP_MIN_BANDS: usize = 4;
/// Filled gaps: in every band the deepest falls are no deeper than this, dB ...
pub const FILLED_GAP_DB: f64 = 11.0;
/// ... while attacks still rise at least this (there are sharp sounds to blur), dB.
pub const FILLED_ATTACK_DB: f64 = 6.0;

/// The reverb of a song or a stem, as [`estimate`] measures it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReverbEstimate {
    /// RT60-like decay time, s: the lower quartile of the decays measured (`None`: fewer than
    /// [`MIN_DECAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_s: Option<f64>,
    /// Median decay time after sharp sounds (hits, plucks), s (`None`: fewer than
    /// [`MIN_TRANSIENT_DECAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_decay_s: Option<f64>,
    /// Share of a sound's energy that comes after its first 80 ms, 0-1 (median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_share: Option<f64>,
    /// Clarity C80: energy of the first 80 ms over the tail's, dB (median; low: washed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarity_db: Option<f64>,
    /// Decays used (all bands).
    pub decays: usize,
    /// ... of which after sharp sounds.
    pub transient_decays: usize,
    /// Onsets (transients) in the song.
    pub transients: usize,
    /// The longest slow decays (where the reverb is easiest to hear), up to ten.
    #[serde(default)]
    pub slowest: Vec<TimeRange>,
    /// Centres of the bands whose decays are the slowest ones, Hz.
    #[serde(default)]
    pub slow_bands_hz: Vec<f64>,
    /// How deep the song falls into its gaps, dB: in each octave band 250 Hz-16 kHz, the
    /// deepest falls (the [`GAP_QUANTILE`] quantile) below the previous 0.4 s that hold for
    /// 30 ms; the deepest band's. Small: something (a reverb) fills every gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_depth_db: Option<f64>,
    /// How sharply sounds start, dB: the same quantile of the rises above the previous 0.4 s
    /// (the largest band's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack_db: Option<f64>,
    /// Where the deepest gaps are, in the band where they are deepest (up to ten).
    #[serde(default)]
    pub gap_times: Vec<TimeRange>,
    /// Centre of that band, Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_band_hz: Option<f64>,
    /// The deepest falls of every band measured, dB, with the band's centre, Hz (low to
    /// high): where a reverb is, its band's falls stay shallow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gap_bands: Vec<GapBand>,
}

/// One band's gap reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GapBand {
    /// Centre of the band, Hz.
    pub hz: f64,
    /// Its deepest falls, dB.
    pub depth_db: f64,
}

/// One decay in one band.
#[derive(Clone, Debug)]
struct Decay {
    band: usize,
    start_s: f64,
    end_s: f64,
    rt60: f64,
    tail_share: f64,
    /// How much the envelope rose in the 50 ms before its peak, dB.
    rise_db: f64,
}

/// Finding `reverb.excessive` for one file (or one stem).
pub fn check(buf: &AudioBuffer) -> Vec<Finding> {
    finding(&estimate(buf)).into_iter().collect()
}

/// Whether an estimate is a clear wash (see the module documentation).
pub fn is_wash(e: &ReverbEstimate) -> bool {
    sharp_sounds_ring(e) || cathedral(e) || gaps_filled(e)
}

/// Sounds start sharply but never stop: every gap is filled, the third kind (dense music
/// whose decays are all cut short by the next note).
fn gaps_filled(e: &ReverbEstimate) -> bool {
    e.gap_depth_db.is_some_and(|d| d <= FILLED_GAP_DB)
        && e.attack_db.is_some_and(|a| a >= FILLED_ATTACK_DB)
}

/// Which cue makes an estimate a wash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WashKind {
    /// Hits and notes ring on ([`WASH_DECAY_S`]).
    Ringing,
    /// Every sound decays like a cathedral ([`CATHEDRAL_DECAY_S`]).
    Cathedral,
    /// The gaps are filled ([`FILLED_GAP_DB`]).
    FilledGaps,
}

/// The figure that makes an estimate a wash, and where to hear it.
#[derive(Clone, Debug)]
pub struct WashReading {
    pub kind: WashKind,
    pub measured: f64,
    pub threshold: f64,
    pub unit: &'static str,
    /// The figure in words ("hits and notes ring on for about 3.1 s").
    pub words: String,
    pub times: Vec<TimeRange>,
    pub bands_hz: Vec<f64>,
}

/// The reading of a wash (`None`: not a wash), the decay cues first: a reading of
/// [`WashKind::FilledGaps`] means the decays alone do not make a wash.
pub fn wash_reading(e: &ReverbEstimate) -> Option<WashReading> {
    let decays = |kind, measured: f64, threshold, words: String| WashReading {
        kind,
        measured,
        threshold,
        unit: "s",
        words,
        times: e.slowest.clone(),
        bands_hz: e.slow_bands_hz.clone(),
    };
    if sharp_sounds_ring(e) {
        let d = e.transient_decay_s.unwrap_or(0.0);
        let words = format!("hits and notes ring on for about {d:.1} s");
        Some(decays(WashKind::Ringing, d, WASH_DECAY_S, words))
    } else if cathedral(e) {
        let d = e.decay_s.unwrap_or(0.0);
        let words = format!("every sound takes about {d:.1} s to die away");
        Some(decays(WashKind::Cathedral, d, CATHEDRAL_DECAY_S, words))
    } else if gaps_filled(e) {
        let g = e.gap_depth_db.unwrap_or(0.0);
        Some(WashReading {
            kind: WashKind::FilledGaps,
            measured: g,
            threshold: FILLED_GAP_DB,
            unit: "dB",
            words: format!("its gaps are filled: where it stops, it falls only {g:.1} dB"),
            times: e.gap_times.clone(),
            bands_hz: e.gap_band_hz.into_iter().collect(),
        })
    } else {
        None
    }
}

/// Hits and notes ring on: the first kind of wash.
fn sharp_sounds_ring(e: &ReverbEstimate) -> bool {
    e.transient_decays >= MIN_TRANSIENT_DECAYS
        && e.transient_decay_s.is_some_and(|d| d >= WASH_DECAY_S)
        && e.tail_share.is_some_and(|t| t >= WASH_TAIL_SHARE)
}

/// Everything decays like a cathedral and the tails carry most of the energy: the second kind
/// (on dense music the wash fills the gaps, so few sharp sounds stand out to be timed).
/// The gaps must agree: a tail that long and that loud cannot let the level fall far where
/// sounds stop, so the bands the decays are timed in (250 Hz-4 kHz) must fall at most
/// [`CATHEDRAL_GAP_DB`] (their median); a few slow decays in a track whose gaps are deep are
/// the estimator's instability (or long notes), not a wash.
fn cathedral(e: &ReverbEstimate) -> bool {
    e.decay_s.is_some_and(|d| d >= CATHEDRAL_DECAY_S)
        && e.tail_share.is_some_and(|t| t >= CATHEDRAL_TAIL_SHARE)
        && decay_band_gaps_db(e).is_some_and(|g| g <= CATHEDRAL_GAP_DB)
}

/// The median of the deepest falls in the bands the decays are timed in (`None`: no gap
/// measure).
pub fn decay_band_gaps_db(e: &ReverbEstimate) -> Option<f64> {
    let top = BANDS[BANDS.len() - 1].1;
    let depths: Vec<f64> = e
        .gap_bands
        .iter()
        .filter(|g| g.hz < top)
        .map(|g| g.depth_db)
        .collect();
    percentile(&depths, 0.5)
}

/// The finding for an estimate.
pub fn finding(e: &ReverbEstimate) -> Option<Finding> {
    finding_of(e, wash_reading(e))
}

/// The finding for an estimate and its wash reading.
fn finding_of(e: &ReverbEstimate, reading: Option<WashReading>) -> Option<Finding> {
    let wash = reading.is_some();
    let (sev, measured, thr) = if let Some(r) = reading {
        if r.kind == WashKind::FilledGaps {
            return Some(filled_gaps_finding(e, r));
        }
        (Severity::Warning, r.measured, r.threshold)
    } else {
        let d = e.decay_s.or(e.transient_decay_s)?;
        if d < INFO_DECAY_S {
            return None;
        }
        (Severity::Info, d, INFO_DECAY_S)
    };
    let tail = e.tail_share.unwrap_or(0.0);
    let (title, meaning) = if wash {
        (
            format!(
                "Reverb wash: hits and notes take about {measured:.1} s to die away and {:.0} % \
                 of their energy is tail",
                tail * 100.0
            ),
            "After each hit or note the sound keeps ringing for seconds and the tails carry a \
             large part of the energy, so attacks and words smear into each other and the mix \
             sounds distant and muddy. That can be a style, but it is usually too much reverb \
             (too long, too loud, or on too many tracks)."
                .to_string(),
        )
    } else {
        (
            format!("Reverberant: sounds take about {measured:.1} s to die away"),
            format!(
                "The sound dies away slowly (about {measured:.1} s to fall 60 dB, like a large \
                 hall): a long reverb, a big room, or long-ringing notes and pads, which this \
                 measure cannot tell apart. A matter of taste while hits and words stay clear."
            ),
        )
    };
    Some(
        Finding::new("reverb.excessive", sev, title, measured, thr, "s")
            .times(e.slowest.clone())
            .bands(e.slow_bands_hz.clone())
            .meaning(meaning)
            .fix(
                "Shorten the reverb (a decay under about 1.5-2 s for a busy song), lower its \
                 return, filter its lows and highs, add pre-delay so that attacks come first, \
                 or duck it under the dry signal; use it on fewer tracks. On a finished file \
                 only a de-reverb tool can help.",
            ),
    )
}

/// The finding for a song whose gaps are filled.
fn filled_gaps_finding(e: &ReverbEstimate, r: WashReading) -> Finding {
    let depth = r.measured;
    let attack = e.attack_db.unwrap_or(0.0);
    Finding::new(
        "reverb.excessive",
        Severity::Warning,
        format!(
            "Reverb wash: the gaps are filled; where sounds stop, the level falls at most \
             {depth:.1} dB"
        ),
        depth,
        FILLED_GAP_DB,
        "dB",
    )
    .times(r.times)
    .bands(r.bands_hz)
    .meaning(format!(
        "Sounds start sharply (attacks rise {attack:.0} dB) but never really stop: in every \
         band from 250 Hz up, the deepest drops in the song, where a hit ends or the band \
         stops, fall only {depth:.1} dB under the moment before. Something keeps sounding in \
         every gap, and that is what a long, loud reverb does: hits and words blur and the \
         mix sounds distant. A clear mix, however dense, falls 15 dB or more somewhere (the \
         space between hits, a stop, a choked cymbal). The times are the deepest of those \
         moments: listen to how little the sound falls there."
    ))
    .fix(
        "Shorten the reverb (a decay under about 1.5-2 s for a busy song), lower its return, \
         filter its lows and highs, add pre-delay so that attacks come first, or duck it \
         under the dry signal; use it on fewer tracks. On a finished file only a de-reverb \
         tool can help.",
    )
}

/// The finding for an estimate of a file that is heavily limited or compressed (`squashed`:
/// its dynamics findings say so at warning or worse). A limiter's release holds the level up
/// between hits and stretches the decays as a tail does, so the two cues meant for dense
/// music (filled gaps, cathedral-long decays) cannot blame reverb there: they become
/// information. Sharp sounds that ring on are timed one by one and stay what they are.
pub fn finding_in_context(e: &ReverbEstimate, squashed: bool) -> Option<Finding> {
    let reading = wash_reading(e);
    let kind = reading.as_ref().map(|r| r.kind);
    let mut f = finding_of(e, reading)?;
    if !squashed || !matches!(kind, Some(WashKind::Cathedral | WashKind::FilledGaps)) {
        return Some(f);
    }
    f.severity = Severity::Info;
    f.title = if kind == Some(WashKind::FilledGaps) {
        format!(
            "Gaps filled (by the limiting, or by reverb): where sounds stop, the level falls at \
             most {:.1} dB",
            f.measured
        )
    } else {
        format!(
            "Long decays (by the limiting, or by reverb): sounds take about {:.1} s to die away",
            f.measured
        )
    };
    f.meaning.push_str(
        " This file is also heavily limited or compressed (see the dynamics findings), and a \
         limiter's release holds the level up between hits and after them too, so the cause \
         cannot be told apart here: fix the dynamics first.",
    );
    Some(f)
}

/// Octave bands analysed, Hz.
const BANDS: [(f64, f64); 4] = [
    (250.0, 500.0),
    (500.0, 1000.0),
    (1000.0, 2000.0),
    (2000.0, 4000.0),
];

/// Estimates the reverb of a song or a stem (see the module documentation).
pub fn estimate(buf: &AudioBuffer) -> ReverbEstimate {
    let mut out = ReverbEstimate::default();
    let sr = buf.sample_rate;
    if sr == 0 || buf.frames() == 0 || buf.num_channels() == 0 || buf.non_finite().0 > 0 {
        return out;
    }
    let mono = channel_mean(buf);
    let (gaps, decimated) = rayon::join(
        || gap_measure(&mono, buf.sample_rate),
        || decimated(&mono, buf.sample_rate),
    );
    if let Some(g) = gaps {
        let deepest = g.bands[g.deepest];
        out.gap_depth_db = Some(deepest.depth_db);
        out.gap_band_hz = Some(deepest.hz);
        out.attack_db = Some(round2(g.attack_db));
        out.gap_times = g.times;
        out.gap_bands = g.bands;
    }
    let (rate, mono) = decimated;
    let Some(env) = band_envelopes(&mono, rate, &BANDS) else {
        return out;
    };
    let dt = env.hop as f64 / rate;
    let decays: Vec<Decay> = env
        .bands
        .par_iter()
        .enumerate()
        .flat_map_iter(|(b, e)| band_decays(e, b, dt))
        .collect();
    out.transients = count_onsets(&env.bands, dt);
    out.decays = decays.len();
    if decays.len() < MIN_DECAYS {
        return out;
    }
    let times: Vec<f64> = decays.iter().map(|d| d.rt60).collect();
    let decay = percentile(&times, 0.25).unwrap_or(0.0);
    out.decay_s = Some(round2(decay));
    let sharp: Vec<f64> = decays
        .iter()
        .filter(|d| d.rise_db >= TRANSIENT_RISE_DB)
        .map(|d| d.rt60)
        .collect();
    out.transient_decays = sharp.len();
    if sharp.len() >= MIN_TRANSIENT_DECAYS {
        out.transient_decay_s = percentile(&sharp, 0.5).map(round2);
    }
    let shares: Vec<f64> = decays.iter().map(|d| d.tail_share).collect();
    let share = percentile(&shares, 0.5).unwrap_or(0.0);
    out.tail_share = Some(round3(share));
    out.clarity_db = Some(round2(
        10.0 * ((1.0 - share).max(1e-6) / share.max(1e-6)).log10(),
    ));
    // the longest of the slow decays
    let slow_from = if is_wash(&out) {
        WASH_DECAY_S
    } else {
        decay.max(INFO_DECAY_S)
    };
    let mut slow: Vec<&Decay> = decays.iter().filter(|d| d.rt60 >= slow_from).collect();
    let mut bands: Vec<usize> = slow.iter().map(|d| d.band).collect();
    bands.sort_unstable();
    bands.dedup();
    out.slow_bands_hz = bands
        .iter()
        .map(|&b| (BANDS[b].0 * BANDS[b].1).sqrt().round())
        .collect();
    slow.sort_by(|a, b| {
        (b.end_s - b.start_s)
            .total_cmp(&(a.end_s - a.start_s))
            .then(a.start_s.total_cmp(&b.start_s))
    });
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    for d in slow {
        if let Some(r) = ranges
            .iter_mut()
            .find(|r| d.start_s <= r.1 + 0.1 && d.end_s >= r.0 - 0.1)
        {
            r.0 = r.0.min(d.start_s);
            r.1 = r.1.max(d.end_s);
        } else if ranges.len() < 10 {
            ranges.push((d.start_s, d.end_s));
        }
    }
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.slowest = ranges
        .into_iter()
        .map(|(a, b)| TimeRange::new(a, b))
        .collect();
    out
}

/// `b` plus a synthetic reverb of known decay, for evaluating [`estimate`] (the tests and the
/// corpus evaluations plant it): exponentially decaying noise of decay time `t60` s, starting
/// 10 ms after the sound and 1.1 × `t60` long, whose return has `wet_db` dB the energy of the
/// dry signal. `noise(channel)` draws that channel's next noise sample. With `ring_out` the
/// result runs on for the tail after the song; otherwise it keeps the song's length.
pub fn add_decaying_noise_reverb(
    b: &AudioBuffer,
    t60: f64,
    wet_db: f64,
    noise: &mut dyn FnMut(usize) -> f64,
    ring_out: bool,
) -> AudioBuffer {
    let sr = f64::from(b.sample_rate);
    let n = b.frames();
    let len = (t60 * 1.1 * sr) as usize;
    let size = (n + len).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(size);
    let inv = planner.plan_fft_inverse(size);
    let out_len = if ring_out { n + len } else { n };
    let channels = b
        .channels
        .iter()
        .enumerate()
        .map(|(ch, x)| {
            let mut h = vec![0.0f64; size];
            let pre = (0.01 * sr) as usize;
            for (i, v) in h.iter_mut().enumerate().skip(pre).take(len) {
                *v = noise(ch) * (-6.908 * (i - pre) as f64 / (t60 * sr)).exp();
            }
            let e: f64 = h.iter().map(|v| v * v).sum();
            let g = 10f64.powf(wet_db / 20.0) / e.sqrt();
            let mut xs = vec![0.0f64; size];
            for (d, &s) in xs.iter_mut().zip(x) {
                *d = f64::from(s);
            }
            let mut hx = fwd.make_output_vec();
            let mut xx = fwd.make_output_vec();
            fwd.process(&mut h, &mut hx)
                .expect("FFT sizes match their plan");
            fwd.process(&mut xs, &mut xx)
                .expect("FFT sizes match their plan");
            for (a, b) in xx.iter_mut().zip(&hx) {
                *a *= b;
            }
            let mut y = inv.make_output_vec();
            inv.process(&mut xx, &mut y)
                .expect("FFT sizes match their plan");
            (0..out_len)
                .map(|i| x.get(i).copied().unwrap_or(0.0) + (y[i] * g / size as f64) as f32)
                .collect()
        })
        .collect();
    AudioBuffer::from_channels(b.sample_rate, channels)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The mean of the channels.
fn channel_mean(buf: &AudioBuffer) -> Vec<f32> {
    let nch = buf.num_channels() as f32;
    (0..buf.frames())
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| buf.channels.iter().map(|c| c[i]).sum::<f32>() / nch)
        .collect()
}

/// `x` decimated (triangular anti-alias window) to about 11 kHz or more: (rate, samples).
fn decimated(x: &[f32], sample_rate: u32) -> (f64, Vec<f32>) {
    let sr = f64::from(sample_rate);
    let d = ((sr / 11_025.0).floor() as usize).max(1);
    (sr / d as f64, decimate_mean(&[x], d))
}

/// Band envelopes in dB, one frame per hop.
struct Envelopes {
    hop: usize,
    bands: Vec<Vec<f64>>,
}

fn band_envelopes(x: &[f32], rate: f64, bands: &[(f64, f64)]) -> Option<Envelopes> {
    let size = ((rate * 0.023).round() as usize)
        .next_power_of_two()
        .max(16);
    let hop = ((rate * HOP_S).round() as usize).max(1);
    if x.len() < size + hop {
        return None;
    }
    let frames = (x.len() - size) / hop + 1;
    let bin_hz = rate / size as f64;
    let ranges: Vec<(usize, usize)> = bands
        .iter()
        .filter(|b| b.1 <= 0.45 * rate)
        .map(|b| {
            (
                (b.0 / bin_hz).round() as usize,
                ((b.1 / bin_hz).round() as usize).min(size / 2),
            )
        })
        .collect();
    if ranges.is_empty() {
        return None;
    }
    let window: Vec<f32> = (0..size)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / size as f64).cos()) as f32)
        .collect();
    let wp: f64 = window.iter().map(|&w| f64::from(w * w)).sum();
    let scale = 2.0 / (size as f64 * wp);
    let nb = ranges.len();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let chunk = 512;
    let rows: Vec<Vec<f64>> = (0..frames.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut input = fft.make_input_vec();
            let mut output = fft.make_output_vec();
            let mut scratch = fft.make_scratch_vec();
            let f0 = c * chunk;
            let f1 = (f0 + chunk).min(frames);
            let mut rows = Vec::with_capacity((f1 - f0) * nb);
            for f in f0..f1 {
                let seg = &x[f * hop..f * hop + size];
                for ((d, &v), &w) in input.iter_mut().zip(seg).zip(&window) {
                    *d = v * w;
                }
                fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                    .expect("fft sizes match");
                for &(a, b) in &ranges {
                    let p: f32 = output[a..b].iter().map(|c| c.re * c.re + c.im * c.im).sum();
                    rows.push(10.0 * (f64::from(p) * scale).max(1e-20).log10());
                }
            }
            rows
        })
        .collect();
    let mut bands = vec![Vec::with_capacity(frames); nb];
    for row in rows {
        for (i, v) in row.into_iter().enumerate() {
            bands[i % nb].push(v);
        }
    }
    Some(Envelopes { hop, bands })
}

/// What [`gap_measure`] finds.
struct Gaps {
    /// Every band measured (low to high).
    bands: Vec<GapBand>,
    /// Which of them falls deepest.
    deepest: usize,
    attack_db: f64,
    times: Vec<TimeRange>,
}

/// How deep the song falls into its gaps and how sharply it rises, per octave band at the
/// full sample rate (see [`ReverbEstimate::gap_depth_db`]).
fn gap_measure(mono: &[f32], sample_rate: u32) -> Option<Gaps> {
    let rate = f64::from(sample_rate);
    let bands: Vec<(f64, f64)> = GAP_BANDS
        .iter()
        .copied()
        .filter(|b| b.1 <= 0.45 * rate)
        .collect();
    if bands.len() < GAP_MIN_BANDS {
        return None;
    }
    let env = band_envelopes(mono, rate, &bands)?;
    let dt = env.hop as f64 / rate;
    // a band that holds next to nothing (its loud level far under the loudest band's) is
    // left out: a stray click there is no attack and its floor no gap
    let loud: Vec<f64> = env
        .bands
        .iter()
        .map(|e| percentile(e, 0.9).unwrap_or(f64::NEG_INFINITY))
        .collect();
    let loudest = loud.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let per_band: Vec<Option<(f64, f64, Vec<usize>)>> = env
        .bands
        .par_iter()
        .zip(&loud)
        .map(|(e, &l)| {
            if l < loudest - GAP_EMPTY_BAND_DB {
                Some(None)
            } else {
                band_gaps(e, dt).map(Some)
            }
        })
        .collect::<Option<Vec<_>>>()?;
    // the bands measured, with their readings
    let (bands, per_band): (Vec<_>, Vec<_>) = bands
        .into_iter()
        .zip(per_band)
        .filter_map(|(b, g)| g.map(|g| (b, g)))
        .unzip();
    if per_band.len() < 2 {
        return None;
    }
    let (deepest, (_, _, at)) = per_band
        .iter()
        .enumerate()
        .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))?;
    let attack = per_band
        .iter()
        .map(|g| g.1)
        .fold(f64::NEG_INFINITY, f64::max);
    // the deepest moments as ranges of half a second, merged, up to ten
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    for &t in at {
        let a = t as f64 * dt;
        if let Some(r) = ranges.last_mut().filter(|r| a <= r.1) {
            r.1 = a + 0.5;
        } else if ranges.len() < 10 {
            ranges.push((a, a + 0.5));
        } else {
            break;
        }
    }
    Some(Gaps {
        bands: bands
            .iter()
            .zip(&per_band)
            .map(|(&(lo, hi), g)| GapBand {
                hz: (lo * hi).sqrt().round(),
                depth_db: round2(g.0),
            })
            .collect(),
        deepest,
        attack_db: attack,
        times: ranges
            .into_iter()
            .map(|(a, b)| TimeRange::new(a, b))
            .collect(),
    })
}

/// A band envelope (dB, one value per hop) as power, each frame averaged with its neighbours
/// (30 ms).
fn smoothed_power(raw: &[f64]) -> Vec<f64> {
    let n = raw.len();
    (0..n)
        .map(|t| {
            let lo = t.saturating_sub(1);
            let hi = (t + 2).min(n);
            raw[lo..hi]
                .iter()
                .map(|&v| 10f64.powf(v / 10.0))
                .sum::<f64>()
                / (hi - lo) as f64
        })
        .collect()
}

/// Power in dB (floored at -200 dB).
fn power_db(p: f64) -> f64 {
    10.0 * p.max(1e-20).log10()
}

/// One band's deepest falls and rises (dB, the [`GAP_QUANTILE`] quantile) and the frames of
/// the deepest falls; `None` when too little of the band is loud enough to measure.
fn band_gaps(raw: &[f64], dt: f64) -> Option<(f64, f64, Vec<usize>)> {
    let n = raw.len();
    let past = ((GAP_PAST_S / dt).round() as usize).max(1);
    let hold = ((GAP_HOLD_S / dt).round() as usize).max(1);
    if n < past + hold + 1 {
        return None;
    }
    // power, smoothed over 30 ms as the decays are
    let p = smoothed_power(raw);
    let db: Vec<f64> = p.iter().copied().map(power_db).collect();
    let top = db.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // the loudest the band gets from each frame on: a fall the music never comes back from
    // (the song's end ringing out, a final fade) is an ending, not a gap
    let mut later = vec![f64::NEG_INFINITY; n + 1];
    for t in (0..n).rev() {
        later[t] = later[t + 1].max(db[t]);
    }
    let mut sum: f64 = p[..past].iter().sum();
    let mut falls = Vec::with_capacity(n);
    let mut rises = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    for t in past..=n - hold {
        if t > past {
            sum += p[t - 1] - p[t - 1 - past];
        }
        let before = 10.0 * (sum.max(0.0) / past as f64).max(1e-20).log10();
        if before <= top - GAP_RANGE_DB || later[t + hold] < before - GAP_RETURN_DB {
            continue;
        }
        let w = &db[t..t + hold];
        let hi = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lo = w.iter().copied().fold(f64::INFINITY, f64::min);
        falls.push(before - hi);
        rises.push(lo - before);
        at.push(t);
    }
    if falls.len() < 200 {
        return None;
    }
    let fall = percentile(&falls, GAP_QUANTILE)?;
    let rise = percentile(&rises, GAP_QUANTILE)?;
    let deepest = at
        .iter()
        .zip(&falls)
        .filter(|(_, &f)| f >= fall)
        .map(|(&t, _)| t)
        .collect();
    Some((fall, rise, deepest))
}

/// The decays of one band envelope (dB, one value per `dt` s).
fn band_decays(raw: &[f64], band: usize, dt: f64) -> Vec<Decay> {
    let n = raw.len();
    // a little smoothing (30 ms, in power) steadies the envelope of noise-like tails
    let env: Vec<f64> = smoothed_power(raw).into_iter().map(power_db).collect();
    let top = env.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let live: Vec<f64> = env.iter().copied().filter(|&v| v > -190.0).collect();
    let Some(p10) = percentile(&live, 0.10) else {
        return Vec::new();
    };
    let floor = p10.max(top - 70.0).max(-110.0);
    let reach = ((0.05 / dt).round() as usize).max(1);
    let late = ((LATE_S / dt).round() as usize).max(1);
    let min_fit = ((RELIABLE_S / dt).round() as usize).max(3);
    let max_len = (3.0 / dt).round() as usize;
    let rise = ((0.03 / dt).round() as usize).max(1);
    let mut out = Vec::new();
    let mut t = 0;
    while t < n {
        let v = env[t];
        if v < floor + PEAK_ABOVE_FLOOR_DB || v < top - 50.0 {
            t += 1;
            continue;
        }
        let lo = t.saturating_sub(reach);
        let hi = (t + reach + 1).min(n);
        // the first highest frame of its neighbourhood
        let is_peak = (lo..hi).all(|u| env[u] < v || (env[u] == v && u >= t));
        if !is_peak {
            t += 1;
            continue;
        }
        // follow the decay until the next sound starts (a rise of RERISE_DB within 30 ms, or
        // back up to the peak) or the floor is reached; it ends at its lowest point
        let mut m = v;
        let mut argmin = t;
        let mut u = t + 1;
        while u < n && u - t <= max_len {
            let w = env[u];
            let recent = env[u.saturating_sub(rise)..u]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            if w > recent + RERISE_DB || w > v - 1.0 || w < floor + FLOOR_MARGIN_DB {
                break;
            }
            if w < m {
                m = w;
                argmin = u;
            }
            u += 1;
        }
        let end = argmin;
        if end + 1 >= t + late + min_fit && v - env[end] >= MIN_DROP_DB {
            let pts: Vec<(f64, f64)> = (t + late..=end).map(|k| (k as f64 * dt, env[k])).collect();
            let (a, slope) = fit_line(&pts);
            if slope < 0.0 {
                let rt60 = (60.0 / -slope).min(MAX_DECAY_S);
                let early: f64 = (t..t + late).map(|k| 10f64.powf(env[k] / 10.0)).sum();
                let s = slope.min(-60.0 / MAX_DECAY_S);
                let l8 = a + s * ((t + late) as f64 * dt);
                let r = 10f64.powf(s * dt / 10.0);
                let late_e = 10f64.powf(l8 / 10.0) / (1.0 - r);
                let before = env[t.saturating_sub(5)..=t]
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
                out.push(Decay {
                    band,
                    rise_db: v - before,
                    start_s: t as f64 * dt,
                    end_s: end as f64 * dt,
                    rt60,
                    tail_share: late_e / (early + late_e),
                });
            }
        }
        t = u.max(t + 1);
    }
    out
}

/// Line (intercept, slope) through points by least squares.
fn fit_line(p: &[(f64, f64)]) -> (f64, f64) {
    let n = p.len().max(1) as f64;
    let mx = p.iter().map(|q| q.0).sum::<f64>() / n;
    let my = p.iter().map(|q| q.1).sum::<f64>() / n;
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    let slope = if sxx > 1e-12 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// Onsets of the summed bands: a rise of [`ONSET_RISE_DB`] within 30 ms, one per 100 ms.
fn count_onsets(bands: &[Vec<f64>], dt: f64) -> usize {
    let n = bands.first().map_or(0, |b| b.len());
    let sum: Vec<f64> = (0..n)
        .map(|t| {
            10.0 * bands
                .iter()
                .map(|b| 10f64.powf(b[t] / 10.0))
                .sum::<f64>()
                .max(1e-20)
                .log10()
        })
        .collect();
    let top = sum.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let back = ((0.03 / dt).round() as usize).max(1);
    let gap = ((0.1 / dt).round() as usize).max(1);
    let mut count = 0;
    let mut last: Option<usize> = None;
    for t in back..n {
        if sum[t] < top - 40.0 {
            continue;
        }
        let before = sum[t - back..t]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if sum[t] - before >= ONSET_RISE_DB && last.is_none_or(|l| t - l >= gap) {
            count += 1;
            last = Some(t);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::super::noise::testsong::{reverberate, song, song_with, SR};
    use super::*;

    #[test]
    fn dry_songs_read_short_and_get_no_finding() {
        for (name, b) in [
            ("song", song()),
            ("drum loop", song_with(false, 0.1)),
            ("short notes", song_with(true, 0.08)),
        ] {
            let e = estimate(&b);
            eprintln!("{name}: {e:?}");
            assert!(e.decay_s.is_none_or(|d| d < 1.2), "{name}: {e:?}");
            assert!(!is_wash(&e), "{name}: {e:?}");
            assert!(check(&b).is_empty(), "{name}: {:#?}", check(&b));
        }
    }

    #[test]
    fn a_long_wet_reverb_is_a_wash() {
        for (t60, lo, hi) in [(3.0, 2.0, 4.5), (6.0, 3.5, 9.0)] {
            let b = reverberate(&song(), t60, 0.0);

            let e = estimate(&b);
            eprintln!("{t60}: {e:?}");
            let d = e.transient_decay_s.unwrap_or(0.0);
            assert!(d >= lo && d <= hi, "{t60}: {e:?}");
            assert!(e.decay_s.is_some_and(|d| d >= 0.6 * t60), "{t60}: {e:?}");
            let f = check(&b);
            assert_eq!(f.len(), 1, "{f:#?}");
            assert_eq!(f[0].severity, Severity::Warning, "{f:#?}");
            assert!(!f[0].times.is_empty(), "{f:#?}");
        }
    }

    #[test]
    fn a_cathedral_is_a_wash_even_without_sharp_sounds() {
        let bands = |depth: f64| {
            [354.0, 707.0, 1414.0, 2828.0, 5657.0, 11314.0]
                .iter()
                .map(|&hz| GapBand {
                    hz,
                    depth_db: depth,
                })
                .collect::<Vec<_>>()
        };
        let e = |decay: f64, share: f64, gaps: f64| ReverbEstimate {
            decay_s: Some(decay),
            tail_share: Some(share),
            decays: 8,
            gap_bands: bands(gaps),
            ..Default::default()
        };
        // dense music under a long, wet reverb: nothing sharp stands out to be timed
        let f = finding(&e(6.0, 0.85, 9.0)).expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.threshold, CATHEDRAL_DECAY_S);
        // long but clear (pads, long notes), or wet but a hall's length: information
        for (d, s) in [(5.5, 0.66), (3.0, 0.85)] {
            let f = finding(&e(d, s, 9.0)).expect("a finding");
            assert_eq!(f.severity, Severity::Info, "{d} {s}");
        }
        // the gaps disagree: where sounds stop the level falls 24 dB, which no such tail
        // allows; a few slow decays are then not a cathedral
        let f = finding(&e(6.8, 0.86, 24.0)).expect("a finding");
        assert_eq!(f.severity, Severity::Info);
        // deep gaps above 4 kHz only (a cathedral's highs die sooner) do not disagree
        let mut highs = e(6.0, 0.85, 9.0);
        highs.gap_bands[4].depth_db = 30.0;
        highs.gap_bands[5].depth_db = 40.0;
        assert!(is_wash(&highs));
        // without a gap measure there is nothing to agree: no wash
        let none = ReverbEstimate {
            gap_bands: Vec::new(),
            ..e(6.0, 0.85, 9.0)
        };
        assert!(!is_wash(&none));
    }

    /// Twelve seconds of dense music with no pause: a held chord that changes every half
    /// second (legato), a kick on the beat and a short hi-hat every eighth note; with
    /// `attacks` false only the chord, fading in and out over each bar (a pad).
    fn dense(attacks: bool) -> AudioBuffer {
        use mixdown_dsp::rng::Rng;
        let n = 12 * SR as usize;
        let sr = f64::from(SR);
        let mut rng = Rng::new(3);
        let chords = [
            [220.0, 277.2, 329.6],
            [196.0, 246.9, 293.7],
            [174.6, 220.0, 261.6],
            [196.0, 246.9, 329.6],
        ];
        let x: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64 / sr;
                let c = chords[(t / 0.5) as usize % chords.len()];
                let mut v: f64 = c
                    .iter()
                    .flat_map(|&f| (1..=8).map(move |k| (f, k as f64)))
                    .map(|(f, k)| (2.0 * PI * f * k * t).sin() / k)
                    .sum::<f64>()
                    * 0.05;
                if attacks {
                    let beat = t % 0.5;
                    v += 0.5 * (2.0 * PI * 55.0 * beat).sin() * (-beat / 0.08).exp();
                    let eighth = t % 0.25;
                    v += 0.3 * rng.gaussian() * (-eighth / 0.01).exp();
                } else {
                    v *= 0.6 + 0.4 * (2.0 * PI * t / 2.0).sin();
                }
                v as f32
            })
            .collect();
        AudioBuffer::from_channels(SR, vec![x.clone(), x])
    }

    #[test]
    fn dense_music_under_a_long_reverb_has_its_gaps_filled() {
        let dry = estimate(&dense(true));
        eprintln!("dense dry: {dry:?}");
        assert!(dry.gap_depth_db.is_some_and(|d| d > 20.0), "{dry:?}");
        assert!(!is_wash(&dry), "{dry:?}");
        for t60 in [3.0, 6.0] {
            let b = reverberate(&dense(true), t60, 0.0);
            let e = estimate(&b);
            eprintln!("dense, T60 {t60}: {e:?}");
            assert!(gaps_filled(&e), "{t60}: {e:?}");
            let f = finding(&e).expect("a finding");
            assert_eq!(f.severity, Severity::Warning, "{f:#?}");
            assert!(!f.times.is_empty(), "{f:#?}");
        }
        // a room of a second, well under the dry sound, leaves the gaps deep enough
        let room = estimate(&reverberate(&dense(true), 1.0, -12.0));
        eprintln!("dense, room: {room:?}");
        assert!(!gaps_filled(&room), "{room:?}");
    }

    #[test]
    fn filled_gaps_in_a_squashed_file_are_only_information() {
        let e = estimate(&reverberate(&dense(true), 3.0, 0.0));
        let f = finding(&e).expect("a finding");
        assert_eq!(f.unit, "dB", "{f:#?}");
        assert_eq!(finding_in_context(&e, false), Some(f.clone()));
        let g = finding_in_context(&e, true).expect("a finding");
        assert_eq!(g.severity, Severity::Info);
        assert_eq!(g.measured, f.measured);
        // ringing hits are timed one by one: that wash stays what it is
        let e = estimate(&reverberate(&song(), 3.0, 0.0));
        assert_eq!(wash_reading(&e).map(|r| r.kind), Some(WashKind::Ringing));
        let d = finding(&e).expect("a finding");
        assert_eq!(finding_in_context(&e, true), Some(d));
    }

    #[test]
    fn a_pad_without_attacks_is_not_called_a_wash_for_its_shallow_gaps() {
        let e = estimate(&reverberate(&dense(false), 3.0, 0.0));
        eprintln!("pad: {e:?}");
        assert!(e.gap_depth_db.is_some_and(|d| d <= FILLED_GAP_DB), "{e:?}");
        assert!(!gaps_filled(&e), "{e:?}");
    }

    #[test]
    fn a_final_ring_out_is_an_ending_not_a_gap() {
        // the song's own ending rings out after it: not counted as a deep gap
        let b = dense(true);
        let body = reverberate(&b, 3.0, 0.0);
        let ring = add_decaying_noise_reverb(
            &b,
            3.0,
            0.0,
            &mut {
                let mut r = mixdown_dsp::rng::Rng::new(5);
                move |_| r.gaussian()
            },
            true,
        );
        let e_body = estimate(&body);
        let e_ring = estimate(&ring);
        eprintln!("body {e_body:?}\nring {e_ring:?}");
        assert!(gaps_filled(&e_ring), "{e_ring:?}");
        assert!(
            (e_ring.gap_depth_db.unwrap_or(0.0) - e_body.gap_depth_db.unwrap_or(0.0)).abs() < 3.0,
            "{e_body:?} {e_ring:?}"
        );
    }

    #[test]
    fn a_short_room_is_not_a_wash() {
        let b = reverberate(&song(), 0.8, -6.0);
        let e = estimate(&b);
        eprintln!("room: {e:?}");
        assert!(e.decay_s.is_some_and(|d| d < 1.5), "{e:?}");
        assert!(check(&b).is_empty(), "{:#?}", check(&b));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mono = AudioBuffer::from_channels(SR, vec![song().channels[0].clone()]);
        let mut nan = song();
        nan.channels[1][5] = f32::INFINITY;
        for b in [
            AudioBuffer::silent(SR, 2, 0),
            AudioBuffer::silent(SR, 2, SR as usize),
            AudioBuffer::silent(SR, 0, 0),
            AudioBuffer::from_channels(SR, vec![vec![0.5; 100]]),
            AudioBuffer::from_channels(8000, vec![vec![0.1; 3000]]),
            AudioBuffer::from_channels(0, vec![vec![0.1; 300]]),
            nan,
        ] {
            assert!(check(&b).is_empty());
        }
        let e = estimate(&mono);
        assert!(e.decay_s.is_some_and(|d| d < 1.2), "{e:?}");
        assert!(check(&mono).is_empty());
    }
}
