//! Checks that only a folder of stems (a multitrack) allows: the balance between the tracks,
//! which tracks collide in frequency, panning, effects on single tracks, and how the folder
//! was put together.
//!
//! [`check_stems`] takes the folder as [`crate::mix::organise::load_folder`] gives it (every
//! stem on one timeline, one rate, one length; mono stems stay mono) and returns a
//! [`StemsDiagnosis`]: the findings, a summary of every track, and the masking report.
//! [`sum_stems`] is the plain sum of the folder, for the file checks on the mix.
//!
//! The stems are taken as they would play: *post-fader* exports whose levels are the mix's
//! balance. Raw, peak-normalised recordings carry no balance, and the balance rules then
//! describe the recording levels.
//!
//! # How each figure is measured
//!
//! Every track is measured once ([`crate::mix::features::measure`]: loudness BS.1770 gated,
//! peak, crest, 1/3-octave band-frames; [`crate::mix::roles::content_features`]: activity,
//! pitch, onsets, flatness, level each second; [`super::reverb::estimate`]) and given a role
//! and a presence the way the mixer does ([`crate::mix::roles::classify`],
//! [`crate::mix::roles::assign_presence`]). Silent stems and duplicates take part in no
//! measure between tracks (they are reported on their own).
//!
//! **Placement.** A mono stem plays in the centre with a constant-power (-3 dB) pan law: each
//! side gets `x / √2`, so that it is as loud placed as BS.1770 measures the mono file, and
//! loudness compares fairly between mono and stereo stems. A stereo stem plays as it is;
//! channels after the second are left out. This is [`sum_stems`], and every measure between
//! tracks (masking, the image) uses the same placement.
//!
//! **Level against the priors.** Each track's role and presence give a prior loudness
//! ([`crate::mix::decide::balance_targets`]: [`crate::mix::priors`], fitted to real songs'
//! balance, pulled towards the song's middle when the role is only a guess). Its *offset* is its
//! loudness minus that prior. What the priors say nothing about is the song's overall level, so
//! a track is judged against the others: `vs_prior_lu` = its offset minus the median offset of
//! the other tracks (the median, so that one wrong track does not move the reference). 0 means
//! the track sits where the priors put it relative to the rest; +8 means 8 LU louder than that.
//!
//! # Rules and thresholds
//!
//! * `stems.balance.lead_buried`: a lead track (presence lead: the lead vocal, a track named
//!   lead/solo, else the most melodic part) at [`LEAD_BURIED_WARNING_LU`] or more under its
//!   prior place (warning), [`LEAD_BURIED_PROBLEM_LU`] (problem). At least two tracks.
//! * `stems.balance.too_loud`: a track [`TOO_LOUD_WARNING_LU`] / [`TOO_LOUD_PROBLEM_LU`] over.
//! * `stems.balance.buried`: a track that does not lead, [`BURIED_WARNING_LU`] /
//!   [`BURIED_PROBLEM_LU`] under. These two need at least three tracks (with two, which one is
//!   wrong cannot be told).
//!
//!   Why these numbers: the priors reproduce the balance of real songs with a mean error of
//!   about 2.5 LU (so a spread of about 3 LU), and a role guessed wrongly costs a few LU more.
//!   The lead matters most and is judged first: 6 LU is twice the spread, 10 LU is past anything
//!   the balanced corpus songs show. Other tracks get more room (a quiet shaker or a pushed
//!   guitar is a choice; the balanced corpus has tracks up to 8.3 LU over and 8.7 under): 9 /
//!   13 LU over (three and four times the spread), 10 / 15 LU under. A track whose role was
//!   only guessed from the sound (a placement weight under 1) gets a warning at most. When
//!   every other track is of role other (a backing track, a submix, content the roles do not
//!   cover: their prior is not fitted and a submix holds many parts), the reference is loose
//!   and every threshold is [`LOOSE_REFERENCE_LU`] higher.
//! * `stems.masking`: from [`crate::mix::masking::measure`] on the placed band-frames, a pair
//!   whose shared energy (Σ min(E_a, E_b) over channels, bands and 100 ms frames, as a share of
//!   the whole folder's energy) reaches [`MASKING_INFO_PCT`] (info) or [`MASKING_WARNING_PCT`]
//!   (warning), when both tracks are substantial: each holds at least
//!   [`MASKING_MIN_TRACK_SHARE`] of the folder's energy and the shared energy is at least
//!   [`MASKING_MIN_OVERLAP`] of the smaller track's. A warning also needs the pair to matter: it
//!   involves a lead track, or it is the bass against the kick, and neither track is of role
//!   other (a backing track or a submix covers everything by nature). Never a problem: some
//!   masking is what makes a mix blend.
//! * `stems.pan.low_end_off_centre`: a stereo stem whose role is bass or kick, with its energy
//!   under 250 Hz leaning to one side by [`LOW_END_WARNING_DB`] (warning) or
//!   [`LOW_END_PROBLEM_DB`] (problem): L/R energy ratio, dB.
//! * `stems.pan.all_centred`: every stem in the mix is a stereo file and every one is centred
//!   and stereo-identical (width under [`CENTRED_MAX_WIDTH`], L/R within
//!   [`CENTRED_MAX_BALANCE_DB`]): info from [`ALL_CENTRED_INFO_TRACKS`] tracks, warning from
//!   [`ALL_CENTRED_WARNING_TRACKS`]. Mono stems are never counted: a mono file carries no pan,
//!   its place is decided in the mix, so a folder of mono stems is not a centred mix.
//! * `stems.pan.lopsided`: the placed tracks' energy summed per channel, L/R in dB: over the
//!   whole spectrum, warning from [`LOPSIDED_WARNING_DB`], problem from
//!   [`LOPSIDED_PROBLEM_DB`] (as `stereo.imbalance` on a file); under 250 Hz, warning from
//!   [`LOPSIDED_LOW_WARNING_DB`], problem from [`LOPSIDED_LOW_PROBLEM_DB`]. The finding names
//!   the tracks that pull that way most.
//! * `stems.effects.reverb`: a track whose reverb estimate is a wash
//!   ([`super::reverb::wash_reading`]: sharp sounds ring on for [`super::reverb::WASH_DECAY_S`]
//!   s or more with a large tail, or every sound decays like a cathedral and the gaps agree;
//!   filled gaps count only for parts that stop by nature: drums, percussion, voices, not for
//!   pads, strings or guitars that may hold by themselves): warning. Tracks whose role is fx (a reverb return is meant to be wet) or cymbals (a crash
//!   or a ride rings for seconds by itself, which the estimate cannot tell from reverb) are
//!   skipped; pads are info (held notes read as reverb).
//! * `stems.effects.over_compressed`: a track's crest factor (peak over the RMS of its playing
//!   parts, [`crate::mix::features::TrackFeatures::crest_db`]) under its role's floor
//!   ([`crest_floor_db`]): warning under the floor, problem [`CREST_PROBLEM_MARGIN_DB`] dB
//!   under it. The floors: drums and cymbals 8 dB (uncompressed hits measure 14-24 dB on the
//!   corpus, compressed ones 10-14; a fast limiter driven 40 dB into a snare leaves about
//!   6.5, since the tails between hits still count), bass 4.5, vocals 7, other pitched parts
//!   5 (a held synth bass measures 6.6 dry, a synth lead 8.5). Held parts (pads, organ,
//!   strings) and unknown ones are not judged.
//! * `stems.organisation.*`:
//!   - `unnamed`: names that say nothing (`Audio 1`, `Track 03`, `untitled`, `New Recording`,
//!     `bounce 2`, `channel1`): every word generic or a number, and no instrument word. Info.
//!   - `duplicate`: a stem identical to an earlier one. Warning (played as the folder is, the
//!     part is doubled: 6 dB too loud).
//!   - `sample_rate`: a stem at another rate than the session's. Warning (a player that does not
//!     convert plays it at the wrong speed and pitch).
//!   - `length`: a file more than [`LENGTH_INFO_S`] s shorter than the longest. Info.
//!   - `offset`: the whole file is shifted against the others. Two signs: (1) its sound starts
//!     and ends the same amount (within [`OFFSET_AGREE_S`] s) later or earlier than every other
//!     stem's; (2) the other files all have one length (within [`OFFSET_SAME_LENGTH_S`] s) and
//!     this one is `d` longer or shorter (up to [`OFFSET_MAX_LAG_S`] s; when longer, its first
//!     sound comes after `d`: exported from an earlier start point), and its attacks line up
//!     with the other stems' better moved by `d` than as they are (onset curves: the rise of
//!     the level in 10 ms blocks; normalised correlation with the others' summed curves at
//!     least [`OFFSET_CORR_MARGIN`] higher at lag `d` than at 0), or the other stems' last
//!     sounds lie within [`OFFSET_COMMON_END_S`] s of each other and this one's last sound
//!     comes `d` (within [`OFFSET_AGREE_S`] s) after them, or (longer) its first sound comes
//!     `d` (within [`OFFSET_AGREE_S`] s) after the other stems' first sound: it starts with
//!     exactly its extra length of silence, where a part that merely enters late would have to
//!     enter exactly as much later as its file is longer. Attack timing alone is not
//!     trusted: music repeats every beat, so a part moved by a beat lines up as well as in
//!     place, and a laid-back player lines up late. Warning from [`OFFSET_WARNING_S`] s,
//!     problem from [`OFFSET_PROBLEM_S`] s.
//!   - `late_start`: a stem whose first sound comes [`LATE_INFO_S`] s or more after the first
//!     sound of the folder, without evidence of an offset: info only (parts enter later all the
//!     time).
//!   - `silent` (digital silence) and `near_silent` (peak under -60 dBFS): warning.
//!   - `noise_only`: a track that never plays music: steady all through (its level each second
//!     within [`NOISE_MAX_STEADY_DB`] dB RMS of its mean, playing at least
//!     [`NOISE_MIN_ACTIVITY`] of the time), no attacks (under [`NOISE_MAX_ONSET_HZ`] a
//!     second), and either noise (clear pitch in under [`NOISE_MAX_TONAL`] of its frames, and
//!     a spectral flatness of [`NOISE_MIN_FLATNESS`] or the mixer's hiss finder,
//!     [`crate::mix::cleanup::hiss_diagnostics`], finding a noise floor within
//!     [`NOISE_HISS_WITHIN_DB`] dB of the track's level) or mains hum
//!     ([`super::noise::measure`] finds hum within [`NOISE_HUM_WITHIN_DB`] dB of the track's
//!     level). Warning; info for an fx track (rain, room tone may be meant).
//!   - `clipped`: runs of three or more samples at full scale in the file (organise's count):
//!     warning from one, problem from ten, as `clipping` on a file.

use super::finding::{grade_above, ranges_from_instants, round3, Finding, Severity, TimeRange};
use super::reverb::{self, ReverbEstimate};
use crate::mix::decide::balance_targets;
use crate::mix::features::{self, TrackFeatures};
use crate::mix::masking::{self, BandFrames, MaskingReport};
use crate::mix::organise::Organisation;
use crate::mix::priors::confidence_weight;
use crate::mix::roles::{self, ContentFeatures, GuessSource, RoleGuess};
use crate::mix::{Presence, Role};
use crate::AudioBuffer;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Lead this far under its prior place: warning, LU.
pub const LEAD_BURIED_WARNING_LU: f64 = 6.0;
/// ... problem, LU.
pub const LEAD_BURIED_PROBLEM_LU: f64 = 10.0;
/// A track this far over its prior place: warning, LU.
pub const TOO_LOUD_WARNING_LU: f64 = 9.0;
/// ... problem, LU.
pub const TOO_LOUD_PROBLEM_LU: f64 = 13.0;
/// A track (not leading) this far under its prior place: warning, LU.
pub const BURIED_WARNING_LU: f64 = 10.0;
/// ... problem, LU.
pub const BURIED_PROBLEM_LU: f64 = 15.0;

/// Added to the balance thresholds when every other track is of role other, LU.
pub const LOOSE_REFERENCE_LU: f64 = 4.0;

/// A masking pair's shared energy, % of the folder's energy: info.
pub const MASKING_INFO_PCT: f64 = 6.0;
/// ... warning.
pub const MASKING_WARNING_PCT: f64 = 12.0;
/// Each track of a masking pair holds at least this share of the folder's energy.
pub const MASKING_MIN_TRACK_SHARE: f64 = 0.05;
/// The shared energy is at least this share of the smaller track's energy.
pub const MASKING_MIN_OVERLAP: f64 = 0.4;

/// Bass or kick leaning under 250 Hz: warning, dB.
pub const LOW_END_WARNING_DB: f64 = 3.0;
/// ... problem, dB.
pub const LOW_END_PROBLEM_DB: f64 = 6.0;
/// A stem is centred and stereo-identical under this width (side / total energy).
pub const CENTRED_MAX_WIDTH: f64 = 0.01;
/// ... and within this L/R balance, dB.
pub const CENTRED_MAX_BALANCE_DB: f64 = 1.0;
/// All stems centred: info from this many stereo stems.
pub const ALL_CENTRED_INFO_TRACKS: usize = 4;
/// ... warning from this many.
pub const ALL_CENTRED_WARNING_TRACKS: usize = 8;
/// The folder's image leans: warning, dB.
pub const LOPSIDED_WARNING_DB: f64 = 2.0;
/// ... problem, dB.
pub const LOPSIDED_PROBLEM_DB: f64 = 4.0;
/// The low end (under 250 Hz) leans: warning, dB.
pub const LOPSIDED_LOW_WARNING_DB: f64 = 3.0;
/// ... problem, dB.
pub const LOPSIDED_LOW_PROBLEM_DB: f64 = 6.0;
/// Top of the low band, Hz.
const LOW_BAND_HZ: f64 = 250.0;

/// Crest factor this far under the role's floor: problem, dB.
pub const CREST_PROBLEM_MARGIN_DB: f64 = 2.0;

/// A file this much shorter than the longest is reported, s.
pub const LENGTH_INFO_S: f64 = 0.5;
/// A stem whose first sound comes this long after the folder's first sound, s (info).
pub const LATE_INFO_S: f64 = 1.0;
/// A whole-file offset: warning from this, s.
pub const OFFSET_WARNING_S: f64 = 0.05;
/// ... problem from this, s.
pub const OFFSET_PROBLEM_S: f64 = 0.15;
/// The start and the end of a shifted stem move by the same amount within this, s.
pub const OFFSET_AGREE_S: f64 = 0.03;
/// Stems that end together: their last sounds within this, s.
pub const OFFSET_COMMON_END_S: f64 = 0.1;
/// Files of one length: within this, s.
pub const OFFSET_SAME_LENGTH_S: f64 = 0.02;
/// A shift told by the length needs the attacks to match this much better (normalised
/// correlation) moved than as they are.
pub const OFFSET_CORR_MARGIN: f64 = 0.05;
/// Largest shift told by the length, s.
pub const OFFSET_MAX_LAG_S: f64 = 4.0;
/// Blocks of the onset curves, s.
const ONSET_BLOCK_S: f64 = 0.01;
/// First and last sound: this far under the stem's loud level (95th percentile block), dB.
const EDGE_BELOW_DB: f64 = 45.0;

/// A noise-only track: level each second within this of its mean (RMS), dB ...
pub const NOISE_MAX_STEADY_DB: f64 = 1.5;
/// ... playing at least this share of the time ...
pub const NOISE_MIN_ACTIVITY: f64 = 0.9;
/// ... attacks per second under this ...
pub const NOISE_MAX_ONSET_HZ: f64 = 0.1;
/// ... and clear pitch in under this share of its frames (or hum).
pub const NOISE_MAX_TONAL: f64 = 0.1;
/// An unpitched steady track is noise when its spectral flatness reaches this (white noise
/// about 0.5) ...
pub const NOISE_MIN_FLATNESS: f64 = 0.4;
/// ... or the mixer's hiss finder finds a noise floor within this of its level, dB.
pub const NOISE_HISS_WITHIN_DB: f64 = 6.0;
/// Hum within this of the track's level makes a hum-only track, dB.
pub const NOISE_HUM_WITHIN_DB: f64 = 10.0;

/// The whole diagnosis of a folder of stems.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StemsDiagnosis {
    /// Sorted: severity (worst first), then rule, then first track.
    pub findings: Vec<Finding>,
    /// One per stem, in folder order.
    pub tracks: Vec<StemSummary>,
    /// Masking between the tracks of the mix (silent stems and duplicates left out), as they
    /// play (placed as in [`sum_stems`]).
    pub masking: MaskingReport,
}

/// What was measured on one stem.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StemSummary {
    pub name: String,
    /// [`Role::name`] (`kick`, `lead_vocal`...).
    pub role: String,
    /// `lead`, `normal`, `background`.
    pub presence: String,
    /// How the role was found: `name`, `content`, `user`.
    pub role_source: String,
    /// Why this role, in words.
    pub role_why: String,
    pub role_confidence: f64,
    pub channels: usize,
    /// Takes part in the measures between tracks (not silent, not a duplicate).
    pub in_mix: bool,
    /// Integrated loudness (BS.1770, gated), LUFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_lufs: Option<f64>,
    /// Loudness minus the median loudness of the other tracks, LU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_others_lu: Option<f64>,
    /// Where the role's prior puts it, LU against a lead instrument (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_lu: Option<f64>,
    /// Level against the prior, relative to the other tracks (see the module documentation),
    /// LU: positive louder than the priors expect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_prior_lu: Option<f64>,
    /// Left minus right energy, dB (stereo stems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_db: Option<f64>,
    /// Side energy over total, 0..1 (stereo stems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_dbfs: Option<f64>,
    /// Peak over the RMS of the playing parts, dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crest_db: Option<f64>,
    /// Reverb decay estimate (RT60-like), s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverb_decay_s: Option<f64>,
    /// How long sharp sounds ring on, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverb_transient_decay_s: Option<f64>,
    /// First and last sound (45 dB under the track's loud level), s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sound_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sound_s: Option<f64>,
    /// Share of the track covered by the others (the masking report's per-track figure), %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered_pct: Option<f64>,
    /// Plays steady noise (or hum) only.
    #[serde(default)]
    pub noise_only: bool,
}

/// What tells that a whole file is shifted, when its start and end do not both show it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ShiftEvidence {
    /// Its attacks line up with the others' better moved (correlation `r` against `r0`).
    Attacks { r: f64, r0: f64 },
    /// The others end together and it ends that much later.
    CommonEnd,
    /// It starts that much after the others' first sound, and is that much longer.
    LeadingSilence,
}

/// Everything measured on one stem of the mix.
struct Measured {
    feats: TrackFeatures,
    content: ContentFeatures,
    reverb: ReverbEstimate,
    /// Onset strength per [`ONSET_BLOCK_S`] block.
    onsets: Vec<f32>,
    first_s: Option<f64>,
    last_s: Option<f64>,
    balance_db: Option<f64>,
    width: Option<f64>,
    /// Placed band-frames (two channels).
    placed: BandFrames,
    noise_only: bool,
}

/// The plain sum of the folder as it plays, stereo: every stem (duplicates too: they play),
/// mono stems in the centre at -3 dB a side (constant power, see the module documentation),
/// stereo stems as they are, channels after the second left out; samples that are not numbers
/// count as silence. As long as the longest stem, at the session's rate.
pub fn sum_stems(org: &Organisation, audio: &[AudioBuffer]) -> AudioBuffer {
    let frames = audio.iter().map(|b| b.frames()).max().unwrap_or(0);
    let rate = if org.sample_rate > 0 {
        org.sample_rate
    } else {
        audio.first().map_or(44_100, |b| b.sample_rate)
    };
    let mut l = vec![0.0f32; frames];
    let mut r = vec![0.0f32; frames];
    let g = std::f32::consts::FRAC_1_SQRT_2;
    let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
    for b in audio {
        match b.channels.len() {
            0 => {}
            1 => {
                for ((a, c), &v) in l.iter_mut().zip(r.iter_mut()).zip(&b.channels[0]) {
                    let v = clean(v) * g;
                    *a += v;
                    *c += v;
                }
            }
            _ => {
                for (a, &v) in l.iter_mut().zip(&b.channels[0]) {
                    *a += clean(v);
                }
                for (c, &v) in r.iter_mut().zip(&b.channels[1]) {
                    *c += clean(v);
                }
            }
        }
    }
    AudioBuffer::from_channels(rate, vec![l, r])
}

/// Diagnose a folder of stems (see the module documentation). `audio[i]` belongs to
/// `org.stems[i]`.
pub fn check_stems(org: &Organisation, audio: &[AudioBuffer]) -> StemsDiagnosis {
    let n = org.stems.len().min(audio.len());
    let active: Vec<usize> = org.active().into_iter().filter(|&i| i < n).collect();
    // samples that are not numbers are read as silence (load_folder refuses such files)
    let audio: Vec<Cow<AudioBuffer>> = audio[..n]
        .iter()
        .map(|b| {
            if b.channels.iter().flatten().all(|v| v.is_finite()) {
                Cow::Borrowed(b)
            } else {
                let mut c = b.clone();
                for v in c.channels.iter_mut().flatten() {
                    if !v.is_finite() {
                        *v = 0.0;
                    }
                }
                Cow::Owned(c)
            }
        })
        .collect();
    let measured: Vec<Measured> = active
        .par_iter()
        .map(|&i| measure_stem(&audio[i]))
        .collect();
    let names: Vec<String> = active.iter().map(|&i| org.stems[i].name.clone()).collect();
    let mut guesses: Vec<RoleGuess> = names
        .iter()
        .zip(&measured)
        .map(|(name, m)| roles::classify(name, &m.content))
        .collect();
    let content: Vec<ContentFeatures> = measured.iter().map(|m| m.content.clone()).collect();
    roles::assign_presence(&mut guesses, &content);
    let ctx = Ctx::new(org, active, names, measured, guesses);
    let mut findings = Vec::new();
    ctx.balance(&mut findings);
    let masking = ctx.masking(&mut findings);
    ctx.pans(&mut findings);
    ctx.effects(&mut findings);
    ctx.organisation(&audio, &mut findings);
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.tracks.first().cmp(&b.tracks.first()))
    });
    let tracks = ctx.summaries(&masking);
    StemsDiagnosis {
        findings,
        tracks,
        masking,
    }
}

// ------------------------------------------------------------------------------------------
// per-stem measurement

fn measure_stem(b: &AudioBuffer) -> Measured {
    let ((feats, content), (reverb, (onsets, first_s, last_s))) = rayon::join(
        || rayon::join(|| features::measure(b), || roles::content_features(b)),
        || rayon::join(|| reverb::estimate(b), || onset_curve(b)),
    );
    let (balance_db, width) = if b.channels.len() >= 2 {
        let st = mixdown_dsp::meters::stereo(&b.channels[0], &b.channels[1]);
        (st.balance_db, Some(st.width))
    } else {
        (None, None)
    };
    let placed = place(&feats.band_frames);
    let mut m = Measured {
        feats,
        content,
        reverb,
        onsets,
        first_s,
        last_s,
        balance_db,
        width,
        placed,
        noise_only: false,
    };
    m.noise_only = is_noise_only(b, &m.content);
    m
}

/// Band-frames as the stem plays: a mono stem at -3 dB on both sides, two channels kept.
fn place(bf: &BandFrames) -> BandFrames {
    let flat = vec![1.0f32; bf.bands];
    if bf.channels == 1 {
        bf.shaped(&flat, &[0.5, 0.5])
    } else {
        bf.shaped(&flat, &[1.0, 1.0])
    }
}

/// Onset strength per block (the rise of the log level, half-wave rectified, floored
/// [`EDGE_BELOW_DB`] under the loud level), and the first and last block within
/// [`EDGE_BELOW_DB`] of the loud level (s).
fn onset_curve(b: &AudioBuffer) -> (Vec<f32>, Option<f64>, Option<f64>) {
    let sr = b.sample_rate as f64;
    let block = ((sr * ONSET_BLOCK_S).round() as usize).max(1);
    let n = b.frames() / block;
    if n == 0 || b.channels.is_empty() {
        return (Vec::new(), None, None);
    }
    let p: Vec<f64> = (0..n)
        .map(|k| {
            b.channels
                .iter()
                .map(|c| {
                    c[k * block..(k + 1) * block]
                        .iter()
                        .map(|&v| (v as f64) * (v as f64))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / (block * b.channels.len()) as f64
        })
        .collect();
    let mut sorted: Vec<f64> = p.iter().copied().filter(|&v| v > 0.0).collect();
    if sorted.is_empty() {
        return (vec![0.0; n], None, None);
    }
    sorted.sort_by(f64::total_cmp);
    let loud = sorted[((sorted.len() - 1) as f64 * 0.95).round() as usize];
    let floor = loud * 10f64.powf(-EDGE_BELOW_DB / 10.0);
    let db: Vec<f64> = p
        .iter()
        .map(|&v| 10.0 * (v.max(floor) / loud).log10())
        .collect();
    let mut on = vec![0.0f32; n];
    for k in 1..n {
        on[k] = (db[k] - db[k - 1]).max(0.0) as f32;
    }
    let first = p.iter().position(|&v| v > floor);
    let last = p.iter().rposition(|&v| v > floor);
    let t = |k: usize| k as f64 * ONSET_BLOCK_S;
    (on, first.map(t), last.map(|k| t(k + 1)))
}

/// Steady, attack-free, unpitched (or hum) all through: see `noise_only` in the module
/// documentation.
fn is_noise_only(b: &AudioBuffer, c: &ContentFeatures) -> bool {
    if c.silent || c.activity < NOISE_MIN_ACTIVITY || c.onset_rate_hz > NOISE_MAX_ONSET_HZ {
        return false;
    }
    let top = c.level_curve_db.iter().copied().fold(-120.0f32, f32::max) as f64;
    let playing: Vec<f64> = c
        .level_curve_db
        .iter()
        .map(|&v| v as f64)
        .filter(|&v| v > top - 30.0 && v > -110.0)
        .collect();
    if playing.len() < 3 {
        return false;
    }
    let mean = playing.iter().sum::<f64>() / playing.len() as f64;
    let sd =
        (playing.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / playing.len() as f64).sqrt();
    if sd > NOISE_MAX_STEADY_DB {
        return false;
    }
    let level = c.level_db.unwrap_or(-120.0);
    if c.tonal_share < NOISE_MAX_TONAL {
        // unpitched and steady: broadband noise (the mixer's hiss finder sees a noise floor at
        // the track's own level), or nearly white
        if c.flatness >= NOISE_MIN_FLATNESS {
            return true;
        }
        let (_, hiss) = crate::mix::cleanup::hiss_diagnostics(b);
        return hiss.is_ok_and(|(floor, _)| floor >= level - NOISE_HISS_WITHIN_DB);
    }
    // a steady pitched track: hum, or a held note?
    super::noise::measure(b)
        .hum
        .is_some_and(|h| h.level_dbfs >= level - NOISE_HUM_WITHIN_DB)
}

// ------------------------------------------------------------------------------------------
// the folder

struct Ctx<'a> {
    org: &'a Organisation,
    /// Stem indices of the tracks in the mix (`m[k]` belongs to `org.stems[active[k]]`).
    active: Vec<usize>,
    names: Vec<String>,
    m: Vec<Measured>,
    guesses: Vec<RoleGuess>,
    /// Balance: (vs_prior_lu, prior, weight) per active track (None: not judged).
    balance: Vec<Option<(f64, f64, f64)>>,
    /// Loudness against the median of the others, LU.
    vs_others: Vec<Option<f64>>,
    duration_s: f64,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len();
    Some(if k % 2 == 1 {
        v[k / 2]
    } else {
        0.5 * (v[k / 2 - 1] + v[k / 2])
    })
}

fn db10(x: f64) -> f64 {
    10.0 * x.max(1e-30).log10()
}

fn side(db: f64) -> &'static str {
    if db > 0.0 {
        "left"
    } else {
        "right"
    }
}

impl<'a> Ctx<'a> {
    fn new(
        org: &'a Organisation,
        active: Vec<usize>,
        names: Vec<String>,
        m: Vec<Measured>,
        guesses: Vec<RoleGuess>,
    ) -> Self {
        let k = active.len();
        // the tracks judged for balance: measurable, not nearly silent, not noise
        let judged: Vec<usize> = (0..k)
            .filter(|&j| {
                m[j].feats.loudness_lufs.is_some_and(f64::is_finite)
                    && !org.stems[active[j]].near_silent
                    && !m[j].noise_only
            })
            .collect();
        let roles: Vec<Role> = judged.iter().map(|&j| guesses[j].role).collect();
        let pres: Vec<Presence> = judged.iter().map(|&j| guesses[j].presence).collect();
        let conf: Vec<f64> = judged.iter().map(|&j| guesses[j].confidence).collect();
        let targets = balance_targets(&roles, &pres, &conf);
        let loud: Vec<f64> = judged
            .iter()
            .map(|&j| m[j].feats.loudness_lufs.unwrap_or(0.0))
            .collect();
        let offsets: Vec<f64> = loud.iter().zip(&targets).map(|(l, t)| l - t.0).collect();
        let mut balance = vec![None; k];
        let mut vs_others = vec![None; k];
        for (q, &j) in judged.iter().enumerate() {
            let mut others: Vec<f64> = (0..judged.len())
                .filter(|&r| r != q)
                .map(|r| offsets[r])
                .collect();
            let mut others_loud: Vec<f64> = (0..judged.len())
                .filter(|&r| r != q)
                .map(|r| loud[r])
                .collect();
            if let (Some(mo), Some(ml)) = (median(&mut others), median(&mut others_loud)) {
                let w = if guesses[j].source == GuessSource::Content {
                    confidence_weight(guesses[j].confidence)
                } else {
                    1.0
                };
                balance[j] = Some((offsets[q] - mo, targets[q].0, w));
                vs_others[j] = Some(loud[q] - ml);
            }
        }
        let duration_s = if org.sample_rate > 0 {
            org.frames as f64 / org.sample_rate as f64
        } else {
            0.0
        };
        Ctx {
            org,
            active,
            names,
            m,
            guesses,
            balance,
            vs_others,
            duration_s,
        }
    }

    fn judged_count(&self) -> usize {
        self.balance.iter().filter(|b| b.is_some()).count()
    }

    /// The stretches where track `k` plays (per-second levels within 30 dB of its loudest).
    fn playing(&self, k: usize) -> Vec<TimeRange> {
        let c = &self.m[k].content.level_curve_db;
        let top = c.iter().copied().fold(-120.0f32, f32::max);
        let secs: Vec<f64> = c
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > top - 30.0 && v > -110.0)
            .map(|(s, _)| s as f64 + 0.5)
            .collect();
        ranges_from_instants(&secs, 1.5, 0.5, self.duration_s, 10)
    }

    fn role(&self, k: usize) -> Role {
        self.guesses[k].role
    }

    fn role_words(&self, k: usize) -> String {
        self.role(k).name().replace('_', " ")
    }

    // ---------------------------------------------------------------------------------------
    // balance

    fn balance(&self, out: &mut Vec<Finding>) {
        let count = self.judged_count();
        for k in 0..self.active.len() {
            let Some((d, prior, w)) = self.balance[k] else {
                continue;
            };
            let lead = self.guesses[k].presence == Presence::Lead;
            let guessed = w < 1.0;
            let cap = |s: Severity| {
                if guessed {
                    s.min(Severity::Warning)
                } else {
                    s
                }
            };
            let guess_note = if guessed {
                format!(
                    " (its role, {}, was guessed from the sound: if that is wrong, so is this)",
                    self.role_words(k)
                )
            } else {
                String::new()
            };
            let name = &self.names[k];
            let playing = self.playing(k);
            let loose = (0..self.active.len())
                .filter(|&j| j != k && self.balance[j].is_some())
                .all(|j| self.role(j) == Role::Other);
            let x = if loose { LOOSE_REFERENCE_LU } else { 0.0 };
            if lead && count >= 2 {
                if let Some((sev, thr)) =
                    grade_above(-d, LEAD_BURIED_WARNING_LU + x, LEAD_BURIED_PROBLEM_LU + x)
                {
                    out.push(
                        Finding::new(
                            "stems.balance.lead_buried",
                            cap(sev),
                            format!("The lead ({name}) is buried: {:.1} LU under where it belongs", -d),
                            -d,
                            thr,
                            "LU",
                        )
                        .tracks(vec![name.clone()])
                        .times(playing.clone())
                        .meaning(format!(
                            "{name} carries the song ({}), but against the other tracks it sits \
                             {:.1} LU lower than real mixes put a {}{guess_note}. The listener \
                             strains to follow the melody or the words; the accompaniment takes \
                             the front.",
                            self.guesses[k].presence_why,
                            -d,
                            self.role_words(k)
                        ))
                        .fix(format!(
                            "Raise {name} by about {:.0} dB (or lower the rest), then check that it \
                             stays on top in the loud sections; if it still hides, cut the \
                             accompaniment where the lead speaks (2-4 kHz) instead of raising \
                             it further.",
                            (-d - 1.0).max(1.0)
                        )),
                    );
                }
            }
            if count >= 3 {
                if let Some((sev, thr)) =
                    grade_above(d, TOO_LOUD_WARNING_LU + x, TOO_LOUD_PROBLEM_LU + x)
                {
                    out.push(
                        Finding::new(
                            "stems.balance.too_loud",
                            cap(sev),
                            format!("{name} is too loud: {d:.1} LU over where it belongs"),
                            d,
                            thr,
                            "LU",
                        )
                        .tracks(vec![name.clone()])
                        .times(playing.clone())
                        .meaning(format!(
                            "Against the other tracks, {name} ({}) sits {d:.1} LU louder than \
                             real mixes put it (the priors place a {} at {prior:+.1} LU against \
                             a lead instrument){guess_note}. It covers the rest and takes \
                             attention it should not have.",
                            self.role_words(k),
                            self.role_words(k)
                        ))
                        .fix(format!(
                            "Lower {name} by about {:.0} dB and listen again with the whole mix.",
                            (d - 1.0).max(1.0)
                        )),
                    );
                }
                if !lead {
                    if let Some((sev, thr)) =
                        grade_above(-d, BURIED_WARNING_LU + x, BURIED_PROBLEM_LU + x)
                    {
                        out.push(
                            Finding::new(
                                "stems.balance.buried",
                                cap(sev),
                                format!("{name} is buried: {:.1} LU under where it belongs", -d),
                                -d,
                                thr,
                                "LU",
                            )
                            .tracks(vec![name.clone()])
                            .times(playing)
                            .meaning(format!(
                                "Against the other tracks, {name} ({}) sits {:.1} LU quieter than \
                                 real mixes put it{guess_note}: it is hardly heard, as if its \
                                 fader had been forgotten.",
                                self.role_words(k),
                                -d
                            ))
                            .fix(format!(
                                "Raise {name} by about {:.0} dB, or leave it out if it is not \
                                 meant to be heard.",
                                (-d - 2.0).max(1.0)
                            )),
                        );
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // masking

    fn masking(&self, out: &mut Vec<Finding>) -> MaskingReport {
        let k = self.active.len();
        if k == 0 {
            return masking::measure(&[], &[]);
        }
        let frames = self.m.iter().map(|m| m.placed.frames).min().unwrap_or(0);
        let trimmed: Vec<Cow<BandFrames>> = self
            .m
            .iter()
            .map(|m| {
                if m.placed.frames == frames {
                    Cow::Borrowed(&m.placed)
                } else {
                    Cow::Owned(trim(&m.placed, frames))
                }
            })
            .collect();
        let frames_v: Vec<BandFrames> = trimmed.iter().map(|c| c.as_ref().clone()).collect();
        let report = masking::measure(&self.names, &frames_v);
        let own: Vec<f64> = frames_v
            .iter()
            .map(|b| b.energy.iter().map(|&e| e as f64).sum())
            .collect();
        let total: f64 = own.iter().sum();
        if total <= 0.0 {
            return report;
        }
        for p in &report.worst_pairs {
            let (Some(a), Some(b)) = (
                self.names.iter().position(|x| *x == p.a),
                self.names.iter().position(|x| *x == p.b),
            ) else {
                continue;
            };
            let shared = p.index_pct / 100.0 * total;
            let smaller = own[a].min(own[b]);
            let overlap = if smaller > 0.0 { shared / smaller } else { 0.0 };
            let substantial = own[a] / total >= MASKING_MIN_TRACK_SHARE
                && own[b] / total >= MASKING_MIN_TRACK_SHARE
                && overlap >= MASKING_MIN_OVERLAP;
            if !substantial {
                continue;
            }
            let lead = |x: usize| self.guesses[x].presence == Presence::Lead;
            let low_pair = matches!(
                (self.role(a), self.role(b)),
                (Role::Bass, Role::Kick) | (Role::Kick, Role::Bass)
            );
            let known = self.role(a) != Role::Other && self.role(b) != Role::Other;
            let matters = known && (lead(a) || lead(b) || low_pair);
            let Some((mut sev, mut thr)) =
                grade_above(p.index_pct, MASKING_INFO_PCT, MASKING_WARNING_PCT).map(|(s, t)| {
                    if s == Severity::Problem {
                        (Severity::Warning, t)
                    } else {
                        (Severity::Info, t)
                    }
                })
            else {
                continue;
            };
            if sev == Severity::Warning && !matters {
                sev = Severity::Info;
                thr = MASKING_INFO_PCT;
            }
            let bands: Vec<String> = p
                .worst_bands_hz
                .iter()
                .map(|&f| crate::mix::decide::hz(f))
                .collect();
            let (qa, qb) = (&p.a, &p.b);
            out.push(
                Finding::new(
                    "stems.masking",
                    sev,
                    format!(
                        "{qa} and {qb} collide around {}: {:.1} % of the mix's energy is shared",
                        bands.join(", "),
                        p.index_pct
                    ),
                    p.index_pct,
                    thr,
                    "%",
                )
                .tracks(vec![qa.clone(), qb.clone()])
                .bands(p.worst_bands_hz.clone())
                .meaning(format!(
                    "{qa} ({}) and {qb} ({}) play in the same frequencies at the same time at \
                     comparable levels ({:.0} % of the quieter one's energy is contested): each \
                     hides the other there, and together they turn into one blurred sound{}.",
                    self.role_words(a),
                    self.role_words(b),
                    100.0 * overlap,
                    if low_pair {
                        " (kick and bass fighting for the low end: a boomy, undefined bottom)"
                    } else if matters {
                        " (the lead loses its clarity)"
                    } else {
                        ""
                    }
                ))
                .fix(format!(
                    "Give each its own space around {}: cut the less important one there with \
                     a broad EQ dip of a few dB (or sidechain it to the other), pan them apart, \
                     or move one part to another octave.",
                    bands.join(", ")
                )),
            );
        }
        report
    }

    // ---------------------------------------------------------------------------------------
    // pans

    fn pans(&self, out: &mut Vec<Finding>) {
        let centres = masking::band_centres();
        let low: Vec<usize> = (0..centres.len())
            .filter(|&b| centres[b] <= LOW_BAND_HZ)
            .collect();
        // energy per channel per band of each placed track
        let per: Vec<[Vec<f64>; 2]> = self
            .m
            .iter()
            .map(|m| {
                let bf = &m.placed;
                let mut e = [vec![0.0f64; bf.bands], vec![0.0f64; bf.bands]];
                for (c, ec) in e.iter_mut().enumerate().take(bf.channels.min(2)) {
                    for t in 0..bf.frames {
                        for (b, v) in ec.iter_mut().enumerate() {
                            *v += bf.at(c, t, b) as f64;
                        }
                    }
                }
                e
            })
            .collect();
        let sum_of = |e: &[f64], bands: &[usize]| bands.iter().map(|&b| e[b]).sum::<f64>();
        let all: Vec<usize> = (0..centres.len()).collect();
        // low end off centre
        for (k, e) in per.iter().enumerate() {
            let ch = self.org.stems[self.active[k]].channels;
            if ch < 2 || !matches!(self.role(k), Role::Bass | Role::Kick) {
                continue;
            }
            let (l, r) = (sum_of(&e[0], &low), sum_of(&e[1], &low));
            let total = sum_of(&e[0], &all) + sum_of(&e[1], &all);
            if l <= 0.0 || r <= 0.0 || (l + r) < 0.2 * total {
                continue;
            }
            let bal = db10(l / r);
            if let Some((sev, thr)) = grade_above(bal.abs(), LOW_END_WARNING_DB, LOW_END_PROBLEM_DB)
            {
                let name = &self.names[k];
                out.push(
                    Finding::new(
                        "stems.pan.low_end_off_centre",
                        sev,
                        format!(
                            "{name} ({}) leans {:.1} dB to the {} below 250 Hz",
                            self.role_words(k),
                            bal.abs(),
                            side(bal)
                        ),
                        bal,
                        thr * bal.signum(),
                        "dB",
                    )
                    .tracks(vec![name.clone()])
                    .bands(vec![40.0, LOW_BAND_HZ])
                    .meaning(format!(
                        "The {} carries the weight of the song and belongs in the middle: off \
                         centre, the low end pulls to one side, one speaker works harder than \
                         the other, and on a system with one subwoofer or in mono the balance \
                         changes.",
                        self.role_words(k)
                    ))
                    .fix(format!(
                        "Pan {name} to the centre (or make it mono below about 150 Hz)."
                    )),
                );
            }
        }
        // all centred
        let stereo_files = self.active.iter().all(|&i| self.org.stems[i].channels == 2);
        let centred = |k: usize| {
            self.m[k].width.is_some_and(|w| w < CENTRED_MAX_WIDTH)
                && self.m[k]
                    .balance_db
                    .is_none_or(|b| b.abs() < CENTRED_MAX_BALANCE_DB)
        };
        let nk = self.active.len();
        if stereo_files && nk >= ALL_CENTRED_INFO_TRACKS && (0..nk).all(centred) {
            let (sev, thr) = if nk >= ALL_CENTRED_WARNING_TRACKS {
                (Severity::Warning, ALL_CENTRED_WARNING_TRACKS)
            } else {
                (Severity::Info, ALL_CENTRED_INFO_TRACKS)
            };
            out.push(
                Finding::new(
                    "stems.pan.all_centred",
                    sev,
                    format!("All {nk} stems sit dead centre, each the same on both channels"),
                    nk as f64,
                    thr as f64,
                    "tracks",
                )
                .tracks(self.names.clone())
                .meaning(
                    "Every stem is a stereo file whose two channels are identical: nothing is \
                     panned and nothing is wide, so the mix is mono and all the parts are \
                     stacked in the middle, where they cover each other.",
                )
                .fix(
                    "Keep the kick, bass, snare and lead in the centre and pan the supporting \
                     parts (guitars, keys, percussion, backing vocals) to the sides, pairs \
                     opposite each other. If the stems were exported before the pan, this is \
                     expected: check the pans in the session.",
                ),
            );
        }
        // lopsided
        let mut tot = [vec![0.0f64; centres.len()], vec![0.0f64; centres.len()]];
        for e in &per {
            for c in 0..2 {
                for (t, v) in tot[c].iter_mut().zip(&e[c]) {
                    *t += v;
                }
            }
        }
        let lean = |bands: &[usize]| {
            let (l, r) = (sum_of(&tot[0], bands), sum_of(&tot[1], bands));
            (l > 0.0 && r > 0.0).then(|| db10(l / r))
        };
        let low_total = sum_of(&tot[0], &low) + sum_of(&tot[1], &low);
        let all_total = sum_of(&tot[0], &all) + sum_of(&tot[1], &all);
        let broad = lean(&all)
            .and_then(|b| {
                grade_above(b.abs(), LOPSIDED_WARNING_DB, LOPSIDED_PROBLEM_DB).map(|g| (b, g, &all))
            })
            .map(|(b, (s, t), bands)| (b, s, t, bands.clone(), "the whole mix"));
        let lows = lean(&low)
            .filter(|_| low_total >= 0.05 * all_total)
            .and_then(|b| {
                grade_above(b.abs(), LOPSIDED_LOW_WARNING_DB, LOPSIDED_LOW_PROBLEM_DB)
                    .map(|g| (b, g))
            })
            .map(|(b, (s, t))| (b, s, t, low.clone(), "the low end (under 250 Hz)"));
        let pick = match (broad, lows) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
        if let Some((b, sev, thr, bands, what)) = pick {
            // the tracks that pull that way: each one's L-R energy, largest first
            let mut pulls: Vec<(usize, f64)> = per
                .iter()
                .enumerate()
                .map(|(k, e)| {
                    (
                        k,
                        (sum_of(&e[0], &bands) - sum_of(&e[1], &bands)) * b.signum(),
                    )
                })
                .filter(|&(_, p)| p > 0.0)
                .collect();
            pulls.sort_by(|x, y| y.1.total_cmp(&x.1));
            let pull_total: f64 = pulls.iter().map(|p| p.1).sum();
            let mut names = Vec::new();
            let mut acc = 0.0;
            for &(k, p) in &pulls {
                if names.len() >= 3 || acc >= 0.6 * pull_total {
                    break;
                }
                names.push(self.names[k].clone());
                acc += p;
            }
            let lo = centres[bands[0]] * 2f64.powf(-1.0 / 6.0);
            let hi = centres[*bands.last().unwrap_or(&0)] * 2f64.powf(1.0 / 6.0);
            out.push(
                Finding::new(
                    "stems.pan.lopsided",
                    sev,
                    format!(
                        "The image leans to the {}: {what} is {:.1} dB louder on that side",
                        side(b),
                        b.abs()
                    ),
                    b,
                    thr * b.signum(),
                    "dB",
                )
                .tracks(names.clone())
                .bands(vec![lo.round(), hi.round()])
                .meaning(format!(
                    "Summed as the stems play, {what} is {:.1} dB louder on the {} than on the \
                     other side; on headphones it pulls the listener over. {} pull{} that way \
                     most.",
                    b.abs(),
                    side(b),
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" }
                ))
                .fix(
                    "Pan those tracks closer to the centre, or balance them with parts of similar \
                     weight on the other side; keep bass and kick in the middle.",
                ),
            );
        }
    }

    // ---------------------------------------------------------------------------------------
    // effects

    fn effects(&self, out: &mut Vec<Finding>) {
        for k in 0..self.active.len() {
            let name = &self.names[k];
            let role = self.role(k);
            let e = &self.m[k].reverb;
            // a part that stops by nature (drums, voices) shows a wash in its filled gaps too;
            // one that may hold (pads, strings, guitars) only in its decays
            let stops = matches!(
                role,
                Role::Kick
                    | Role::Snare
                    | Role::Hats
                    | Role::Toms
                    | Role::Percussion
                    | Role::LeadVocal
                    | Role::BackingVocal
            );
            let reading = reverb::wash_reading(e)
                .filter(|r| stops || r.kind != reverb::WashKind::FilledGaps)
                .filter(|_| !matches!(role, Role::Fx | Role::Cymbals));
            if let Some(r) = reading {
                let sev = if role == Role::Pad {
                    Severity::Info
                } else {
                    Severity::Warning
                };
                out.push(
                    Finding::new(
                        "stems.effects.reverb",
                        sev,
                        format!("{name} is drenched in reverb: {}", r.words),
                        r.measured,
                        r.threshold,
                        r.unit,
                    )
                    .tracks(vec![name.clone()])
                    .times(r.times)
                    .bands(r.bands_hz)
                    .meaning(format!(
                        "On {name} every attack is followed by a long tail ({:.0} % of its energy \
                         comes after the first 80 ms): the part sounds far away and smears into \
                         the other tracks; and reverb printed into a stem cannot be taken out in \
                         the mix.",
                        100.0 * e.tail_share.unwrap_or(0.0)
                    ))
                    .fix(format!(
                        "Export {name} dry (or with a shorter, quieter reverb) and add the room \
                         on a shared reverb bus in the mix, where it can be shortened, filtered \
                         and ducked."
                    )),
                );
            }
            let Some(crest) = self.m[k].feats.crest_db else {
                continue;
            };
            let Some(floor) = crest_floor_db(role) else {
                continue;
            };
            if self.org.stems[self.active[k]].near_silent || self.m[k].noise_only {
                continue;
            }
            if crest < floor {
                let (sev, thr) = if crest < floor - CREST_PROBLEM_MARGIN_DB {
                    (Severity::Problem, floor - CREST_PROBLEM_MARGIN_DB)
                } else {
                    (Severity::Warning, floor)
                };
                out.push(
                    Finding::new(
                        "stems.effects.over_compressed",
                        sev,
                        format!(
                            "{name} is squashed: its peaks stand only {crest:.1} dB over its level"
                        ),
                        crest,
                        thr,
                        "dB",
                    )
                    .tracks(vec![name.clone()])
                    .times(self.playing(k))
                    .meaning(format!(
                        "A {} normally has peaks well above its average level (at least about \
                         {floor:.0} dB even when compressed hard); {name} has only {crest:.1} dB: \
                         it was compressed or limited until its attacks flattened. It sounds \
                         loud but lifeless, without punch, and this cannot be undone in the mix.",
                        self.role_words(k)
                    ))
                    .fix(format!(
                        "Export {name} without the limiter or the heavy compression on it (or \
                         ease it: slower attack, lower ratio, less gain into it), and compress in \
                         the mix where it can be judged against the other tracks."
                    )),
                );
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // organisation

    fn organisation(&self, audio: &[Cow<AudioBuffer>], out: &mut Vec<Finding>) {
        let org = self.org;
        let n = audio.len();
        let stems = &org.stems[..n];
        // unnamed
        let unnamed: Vec<String> = stems
            .iter()
            .filter(|s| is_unnamed(&s.name))
            .map(|s| s.name.clone())
            .collect();
        if !unnamed.is_empty() {
            out.push(
                Finding::new(
                    "stems.organisation.unnamed",
                    Severity::Info,
                    format!(
                        "{} track name{} say{} nothing about the part: {}",
                        unnamed.len(),
                        if unnamed.len() == 1 { "" } else { "s" },
                        if unnamed.len() == 1 { "s" } else { "" },
                        unnamed.join(", ")
                    ),
                    unnamed.len() as f64,
                    1.0,
                    "tracks",
                )
                .tracks(unnamed)
                .meaning(
                    "Names like 'Audio 1' or 'Track 03' do not say what is on the track: whoever \
                     mixes has to listen to each to find out, and mixdown had to guess their roles \
                     from the sound.",
                )
                .fix("Name each stem after its part (kick, bass, lead vocal, rhythm guitar L...)."),
            );
        }
        // duplicates, silent, near silent, sample rates, clipped
        for (i, s) in stems.iter().enumerate() {
            if let Some(orig) = &s.duplicate_of {
                out.push(
                    Finding::new(
                        "stems.organisation.duplicate",
                        Severity::Warning,
                        format!("{} is the same audio as {orig}", s.name),
                        1.0,
                        1.0,
                        "tracks",
                    )
                    .tracks(vec![s.name.clone(), orig.clone()])
                    .meaning(format!(
                        "{} and {orig} hold identical audio: the file was exported or copied \
                         twice. Played together the part is doubled (6 dB too loud), and the part \
                         that should have been in the second file is missing.",
                        s.name
                    ))
                    .fix(format!(
                        "Delete {} or replace it with the part it was meant to hold (mixdown \
                         leaves it out).",
                        s.name
                    )),
                );
            }
            if s.silent {
                out.push(
                    Finding::new(
                        "stems.organisation.silent",
                        Severity::Warning,
                        format!("{} is digital silence", s.name),
                        0.0,
                        0.0,
                        "non-zero samples",
                    )
                    .tracks(vec![s.name.clone()])
                    .meaning(
                        "The file holds no sound at all: the track was muted, its region was \
                         outside the export range, or the wrong output was bounced.",
                    )
                    .fix("Re-export the track with its sound, or remove the file."),
                );
            } else if s.near_silent {
                let p = s.peak_dbfs.unwrap_or(-120.0);
                out.push(
                    Finding::new(
                        "stems.organisation.near_silent",
                        Severity::Warning,
                        format!("{} is nearly silent: its peak is {p:.0} dBFS", s.name),
                        p,
                        -60.0,
                        "dBFS",
                    )
                    .tracks(vec![s.name.clone()])
                    .meaning(
                        "The track peaks under -60 dBFS: all it holds is bleed, noise or a faded \
                         out part; either the wrong file or a forgotten fader.",
                    )
                    .fix("Check that it is the right file and re-export it at its real level."),
                );
            }
            if s.clipped_runs > 0 {
                let (sev, thr) = grade_above(s.clipped_runs as f64, 1.0, 10.0)
                    .unwrap_or((Severity::Warning, 1.0));
                let times = clip_times(&audio[i]);
                out.push(
                    Finding::new(
                        "stems.organisation.clipped",
                        sev,
                        format!(
                            "{} is clipped: {} run(s) of samples at full scale",
                            s.name, s.clipped_runs
                        ),
                        s.clipped_runs as f64,
                        thr,
                        "runs",
                    )
                    .tracks(vec![s.name.clone()])
                    .times(ranges_from_instants(&times, 1.0, 0.05, self.duration_s, 20))
                    .meaning(
                        "The recording (or the export) hit the top of the scale and was cut \
                         flat: a hard, crackling distortion on the loudest moments, which no \
                         fader can remove.",
                    )
                    .fix(
                        "Re-export with the track's level (or the export's normalising) lower; \
                         if the recording itself clipped, re-record or use a declipper.",
                    ),
                );
            }
        }
        self.sample_rates(stems, out);
        // lengths
        let longest = stems.iter().map(|s| s.duration_s).fold(0.0f64, f64::max);
        let short: Vec<&crate::mix::organise::StemInfo> = stems
            .iter()
            .filter(|s| !s.silent && longest - s.duration_s > LENGTH_INFO_S)
            .collect();
        if !short.is_empty() {
            let worst = short
                .iter()
                .map(|s| longest - s.duration_s)
                .fold(0.0f64, f64::max);
            out.push(
                Finding::new(
                    "stems.organisation.length",
                    Severity::Info,
                    format!(
                        "{} stem(s) shorter than the longest ({longest:.1} s), by up to {worst:.1} s",
                        short.len()
                    ),
                    worst,
                    LENGTH_INFO_S,
                    "s",
                )
                .tracks(short.iter().map(|s| s.name.clone()).collect())
                .meaning(
                    "The files do not all have the same length. Harmless when they all start at \
                     the same point (the short ones just end earlier); if they were exported \
                     from different start points, they are out of time with each other.",
                )
                .fix(
                    "Export every stem over the same range, from the start of the song to the \
                     end of the longest tail.",
                ),
            );
        }
        self.offsets(out);
        // noise only
        for k in 0..self.active.len() {
            if !self.m[k].noise_only {
                continue;
            }
            let name = &self.names[k];
            let fx = self.role(k) == Role::Fx;
            let level = self.m[k].content.level_db.unwrap_or(-120.0);
            out.push(
                Finding::new(
                    "stems.organisation.noise_only",
                    if fx {
                        Severity::Info
                    } else {
                        Severity::Warning
                    },
                    format!("{name} holds only steady noise or hum, no music"),
                    level,
                    -120.0,
                    "dBFS",
                )
                .tracks(vec![name.clone()])
                .meaning(format!(
                    "All through the song {name} stays at one level ({level:.0} dBFS) with no \
                     attack and no note: a noise floor, a hum or a room tone, as if the part was \
                     never played (or recorded from the wrong input). In the mix it only adds \
                     noise."
                ))
                .fix(format!(
                    "Check the file; if it is really empty of music, leave {name} out (or \
                     re-export the right track)."
                )),
            );
        }
    }

    /// Stems at another rate than the rest: those off the most common rate, or every stem when
    /// two rates are equally common (which one is wrong cannot be told).
    fn sample_rates(&self, stems: &[crate::mix::organise::StemInfo], out: &mut Vec<Finding>) {
        let rates: Vec<u32> = stems
            .iter()
            .map(|s| s.source_rate)
            .filter(|&r| r > 0)
            .collect();
        let count = |r: u32| rates.iter().filter(|&&x| x == r).count();
        let top = rates.iter().map(|&r| count(r)).max().unwrap_or(0);
        let common: Vec<u32> = {
            let mut c: Vec<u32> = rates.iter().copied().filter(|&r| count(r) == top).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        if common.is_empty() {
            return;
        }
        let odd: Vec<&crate::mix::organise::StemInfo> = stems
            .iter()
            .filter(|s| s.source_rate > 0 && (common.len() > 1 || s.source_rate != common[0]))
            .collect();
        if odd.is_empty() {
            return;
        }
        let list: Vec<String> = odd
            .iter()
            .map(|s| format!("{} at {} Hz", s.name, s.source_rate))
            .collect();
        let most = if common.len() == 1 {
            format!("the other stems at {} Hz", common[0])
        } else {
            "no rate is more common than another".to_string()
        };
        out.push(
            Finding::new(
                "stems.organisation.sample_rate",
                Severity::Warning,
                format!(
                    "Stems at different sample rates: {}; {most}",
                    list.join(", ")
                ),
                odd[0].source_rate as f64,
                self.org.sample_rate as f64,
                "Hz",
            )
            .tracks(odd.iter().map(|s| s.name.clone()).collect())
            .meaning(
                "The stems were not exported with the same settings: a player or DAW that does \
                 not convert plays a stem at the wrong rate at the wrong speed and pitch (about \
                 9 % off between 44.1 and 48 kHz). mixdown converts them to the session's rate.",
            )
            .fix("Export every stem from the same session at the same sample rate."),
        );
    }

    /// Whole-file offsets and late entrances.
    fn offsets(&self, out: &mut Vec<Finding>) {
        let k = self.active.len();
        if k < 2 {
            return;
        }
        let firsts: Vec<Option<f64>> = self.m.iter().map(|m| m.first_s).collect();
        let lasts: Vec<Option<f64>> = self.m.iter().map(|m| m.last_s).collect();
        let mut late: Vec<(usize, f64)> = Vec::new();
        let folder_first = firsts
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        for i in 0..k {
            let (Some(fi), Some(li)) = (firsts[i], lasts[i]) else {
                continue;
            };
            let others = |v: &[Option<f64>], pick: fn(f64, f64) -> f64, init: f64| {
                (0..k)
                    .filter(|&j| j != i)
                    .filter_map(|j| v[j])
                    .fold(init, pick)
            };
            let of = others(&firsts, f64::min, f64::INFINITY);
            let ol = others(&lasts, f64::max, f64::NEG_INFINITY);
            let mut shift: Option<f64> = None;
            let mut how = String::new();
            if of.is_finite() && ol.is_finite() {
                let (ds, de) = (fi - of, li - ol);
                if ds.abs() >= OFFSET_WARNING_S
                    && ds.signum() == de.signum()
                    && (ds - de).abs() <= OFFSET_AGREE_S
                {
                    shift = Some(0.5 * (ds + de));
                    how = format!(
                        "its sound starts {:.2} s and ends {:.2} s {} than every other stem's",
                        ds.abs(),
                        de.abs(),
                        if ds > 0.0 { "later" } else { "earlier" }
                    );
                }
            }
            if shift.is_none() {
                if let Some((d, evidence)) = self.length_shift(i, fi, of) {
                    shift = Some(d);
                    let (longer, earlier) = if d > 0.0 {
                        ("longer", "earlier")
                    } else {
                        ("shorter", "later")
                    };
                    let a = d.abs();
                    how = match evidence {
                        ShiftEvidence::Attacks { r, r0 } => format!(
                            "the file is {a:.2} s {longer} than the others and its attacks line \
                             up with theirs when moved {a:.2} s {earlier} (correlation {r:.2}, \
                             against {r0:.2} as it is)"
                        ),
                        ShiftEvidence::CommonEnd => format!(
                            "the file is {a:.2} s {longer} than the others, and while they all \
                             end together it ends {a:.2} s after them"
                        ),
                        ShiftEvidence::LeadingSilence => format!(
                            "the file is {a:.2} s longer than the others (which all have one \
                             length) and its sound starts {a:.2} s after theirs: it begins with \
                             exactly its extra length of silence"
                        ),
                    };
                }
            }
            let name = &self.names[i];
            if let Some(d) = shift {
                let (sev, thr) = grade_above(d.abs(), OFFSET_WARNING_S, OFFSET_PROBLEM_S)
                    .unwrap_or((Severity::Warning, OFFSET_WARNING_S));
                out.push(
                    Finding::new(
                        "stems.organisation.offset",
                        sev,
                        format!(
                            "{name} is out of time: the whole file is shifted {:.2} s {}",
                            d.abs(),
                            if d > 0.0 { "late" } else { "early" }
                        ),
                        d,
                        thr * d.signum(),
                        "s",
                    )
                    .tracks(vec![name.clone()])
                    .times(vec![TimeRange::new(fi, fi + 1.0)])
                    .meaning(format!(
                        "{name} does not line up with the other stems: {how}. It was exported \
                         from another start point (or moved by accident), so it plays out of \
                         time with the song: flams, a rhythm that drags, chords against the \
                         wrong bass notes."
                    ))
                    .fix(format!(
                        "Re-export {name} from the same start point as the others, or move it \
                         {:.3} s {} in the session.",
                        d.abs(),
                        if d > 0.0 { "earlier" } else { "later" }
                    )),
                );
            } else if fi - folder_first >= LATE_INFO_S {
                late.push((i, fi));
            }
        }
        if !late.is_empty() {
            let worst = late
                .iter()
                .map(|&(_, t)| t - folder_first)
                .fold(0.0f64, f64::max);
            let list: Vec<String> = late
                .iter()
                .map(|&(i, t)| format!("{} at {t:.1} s", self.names[i]))
                .collect();
            out.push(
                Finding::new(
                    "stems.organisation.late_start",
                    Severity::Info,
                    format!(
                        "{} stem(s) enter after the song has started: {}",
                        late.len(),
                        list.join(", ")
                    ),
                    worst,
                    LATE_INFO_S,
                    "s",
                )
                .tracks(late.iter().map(|&(i, _)| self.names[i].clone()).collect())
                .times(
                    late.iter()
                        .map(|&(_, t)| TimeRange::new(t, t + 0.5))
                        .collect(),
                )
                .meaning(
                    "These parts start later than the first sound of the folder. Parts that \
                     enter later are normal (nothing says these files are shifted: their \
                     attacks line up with the others); listed so that a missing intro is \
                     noticed.",
                )
                .fix("Nothing, if the parts are meant to come in there."),
            );
        }
    }

    /// A shift told by the file's length: stem `i` is `d` s longer (or shorter) than the others,
    /// which all have one length; when longer, its first sound comes after `d` s; and its
    /// attacks match the other stems' better moved by `d` than as they are, or the others end
    /// together and this one ends `d` later, or (longer) its sound starts `d` after the other
    /// stems' first sound: the silence it starts with is its extra length (`others_first`: the
    /// other stems' earliest first sound, s). Returns `d` (s, positive: late) and what tells it.
    fn length_shift(
        &self,
        i: usize,
        first_s: f64,
        others_first: f64,
    ) -> Option<(f64, ShiftEvidence)> {
        let len = |k: usize| self.org.stems[self.active[k]].duration_s;
        let others: Vec<f64> = (0..self.active.len())
            .filter(|&k| k != i)
            .map(len)
            .collect();
        let lo = others.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if others.is_empty() || hi - lo > OFFSET_SAME_LENGTH_S {
            return None;
        }
        let d = len(i) - 0.5 * (lo + hi);
        if d.abs() < OFFSET_WARNING_S || d.abs() > OFFSET_MAX_LAG_S {
            return None;
        }
        if d > 0.0 && first_s < d - ONSET_BLOCK_S {
            return None;
        }
        let lag = (d / ONSET_BLOCK_S).round() as isize;
        if let (Some(r), Some(r0)) = (self.onset_corr(i, lag), self.onset_corr(i, 0)) {
            if r >= r0 + OFFSET_CORR_MARGIN {
                return Some((d, ShiftEvidence::Attacks { r, r0 }));
            }
        }
        // longer by `d` and silent for `d` more than the rest of the song: the export started
        // `d` earlier (a part that merely enters late would have to enter exactly as much
        // later as its file is longer)
        if d > 0.0
            && others_first.is_finite()
            && (first_s - others_first - d).abs() <= OFFSET_AGREE_S
        {
            return Some((d, ShiftEvidence::LeadingSilence));
        }
        // the other stems all end together (a common fade or cut) and this one ends `d` later
        let lasts: Vec<f64> = (0..self.active.len())
            .filter(|&k| k != i)
            .filter_map(|k| self.m[k].last_s)
            .collect();
        let (l0, l1) = (
            lasts.iter().copied().fold(f64::INFINITY, f64::min),
            lasts.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let li = self.m[i].last_s?;
        (lasts.len() >= 2
            && l1 - l0 <= OFFSET_COMMON_END_S
            && (li - l1 - d).abs() <= OFFSET_AGREE_S)
            .then_some((d, ShiftEvidence::CommonEnd))
    }

    /// Normalised correlation of stem `i`'s onset curve with the other stems' (each on its own
    /// scale, summed), the others moved `lag` blocks later.
    fn onset_corr(&self, i: usize, lag: isize) -> Option<f64> {
        let n = self.m.iter().map(|m| m.onsets.len()).min()?;
        if n < 100 {
            return None;
        }
        let mut rest = vec![0.0f64; n];
        for (j, m) in self.m.iter().enumerate() {
            let s: f64 = m.onsets[..n].iter().map(|&v| (v as f64).powi(2)).sum();
            if j == i || s <= 0.0 {
                continue;
            }
            let g = 1.0 / s.sqrt();
            for (r, &v) in rest.iter_mut().zip(&m.onsets[..n]) {
                *r += v as f64 * g;
            }
        }
        let center = |v: &mut [f64]| {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            v.iter_mut().for_each(|x| *x -= mean);
        };
        let mut x: Vec<f64> = self.m[i].onsets[..n].iter().map(|&v| v as f64).collect();
        center(&mut x);
        center(&mut rest);
        let sx: f64 = x.iter().map(|v| v * v).sum();
        let sy: f64 = rest.iter().map(|v| v * v).sum();
        if sx <= 0.0 || sy <= 0.0 {
            return None;
        }
        let mut s = 0.0;
        for (t, &xv) in x.iter().enumerate() {
            let u = t as isize - lag;
            if u >= 0 && (u as usize) < n {
                s += xv * rest[u as usize];
            }
        }
        Some(s / (sx * sy).sqrt())
    }

    // ---------------------------------------------------------------------------------------
    // summaries

    fn summaries(&self, masking: &MaskingReport) -> Vec<StemSummary> {
        let n = self.org.stems.len();
        (0..n)
            .map(|i| {
                let s = &self.org.stems[i];
                let mut sum = StemSummary {
                    name: s.name.clone(),
                    channels: s.channels,
                    peak_dbfs: s.peak_dbfs.map(round3),
                    ..Default::default()
                };
                let Some(k) = self.active.iter().position(|&a| a == i) else {
                    sum.role = String::new();
                    sum.presence = Presence::Background.name().into();
                    sum.role_why = if s.silent {
                        "silent".into()
                    } else {
                        format!(
                            "duplicate of {}",
                            s.duplicate_of.clone().unwrap_or_default()
                        )
                    };
                    return sum;
                };
                let g = &self.guesses[k];
                let m = &self.m[k];
                sum.role = g.role.name().into();
                sum.presence = g.presence.name().into();
                sum.role_source = match g.source {
                    GuessSource::Name => "name",
                    GuessSource::Content => "content",
                    GuessSource::User => "user",
                }
                .into();
                sum.role_why = g.why.clone();
                sum.role_confidence = round3(g.confidence);
                sum.in_mix = true;
                sum.loudness_lufs = m.feats.loudness_lufs.map(round3);
                sum.vs_others_lu = self.vs_others[k].map(round3);
                if let Some((d, prior, _)) = self.balance[k] {
                    sum.prior_lu = Some(round3(prior));
                    sum.vs_prior_lu = Some(round3(d));
                }
                sum.balance_db = m.balance_db.map(round3);
                sum.width = m.width.map(round3);
                sum.crest_db = m.feats.crest_db.map(round3);
                sum.reverb_decay_s = m.reverb.decay_s.map(round3);
                sum.reverb_transient_decay_s = m.reverb.transient_decay_s.map(round3);
                sum.first_sound_s = m.first_s.map(round3);
                sum.last_sound_s = m.last_s.map(round3);
                sum.covered_pct = masking.per_track_pct.get(k).copied();
                sum.noise_only = m.noise_only;
                sum
            })
            .collect()
    }
}

/// The first `frames` frames of band-frames.
fn trim(bf: &BandFrames, frames: usize) -> BandFrames {
    let mut energy = Vec::with_capacity(bf.channels * frames * bf.bands);
    for c in 0..bf.channels {
        let start = c * bf.frames * bf.bands;
        energy.extend_from_slice(&bf.energy[start..start + frames * bf.bands]);
    }
    BandFrames {
        channels: bf.channels,
        bands: bf.bands,
        frames,
        energy,
    }
}

/// Crest-factor floor of a role, dB: under it the track has been squashed (see
/// `over_compressed` in the module documentation). `None`: roles whose sound is held (pads,
/// organ, strings) and say nothing by their crest.
pub fn crest_floor_db(role: Role) -> Option<f64> {
    match role {
        Role::Kick | Role::Snare | Role::Toms | Role::Percussion => Some(8.0),
        Role::Hats | Role::Cymbals => Some(8.0),
        Role::Bass => Some(4.5),
        Role::LeadVocal | Role::BackingVocal => Some(7.0),
        Role::Guitar | Role::Keys | Role::LeadInstrument | Role::Brass => Some(5.0),
        Role::Pad | Role::Organ | Role::Strings | Role::Fx | Role::Other => None,
    }
}

/// Start times (s) of runs of three or more samples at full scale (as organise counts them).
fn clip_times(b: &AudioBuffer) -> Vec<f64> {
    let sr = b.sample_rate.max(1) as f64;
    let mut t = Vec::new();
    for c in &b.channels {
        let mut len = 0;
        for (i, &v) in c.iter().enumerate() {
            if v.abs() >= 0.999 {
                len += 1;
                if len == 3 {
                    t.push((i + 1 - 3) as f64 / sr);
                }
            } else {
                len = 0;
            }
        }
    }
    t.sort_by(f64::total_cmp);
    t
}

/// Words that say nothing about a part.
const GENERIC_WORDS: &[&str] = &[
    "audio",
    "track",
    "trk",
    "tr",
    "untitled",
    "unnamed",
    "new",
    "recording",
    "rec",
    "record",
    "bounce",
    "bounced",
    "channel",
    "chan",
    "ch",
    "stem",
    "take",
    "tk",
    "mono",
    "stereo",
    "st",
    "input",
    "in",
    "bus",
    "aux",
    "export",
    "exported",
    "file",
    "sample",
    "clip",
    "region",
    "copy",
    "output",
    "out",
    "midi",
    "inst",
    "instrument",
    "layer",
    "part",
    "print",
    "printed",
    "render",
    "rendered",
    "sound",
    "idea",
    "sketch",
    "glued",
    "consolidated",
    "dup",
    "duplicate",
    "final",
    "version",
    "edit",
    "l",
    "r",
    "left",
    "right",
    "a",
    "b",
    "no",
    "nr",
    "num",
    "of",
];

/// A name that says nothing: every word generic or a number, and no instrument word.
pub fn is_unnamed(name: &str) -> bool {
    if roles::role_from_name(name).is_some() {
        return false;
    }
    // words: runs of letters, runs of digits
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    for ch in name.chars() {
        let is_alpha = ch.is_alphabetic();
        let is_digit = ch.is_ascii_digit();
        if (!(is_alpha || is_digit) || cur_digit != is_digit) && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        if is_alpha || is_digit {
            cur.extend(ch.to_lowercase());
            cur_digit = is_digit;
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .all(|w| w.chars().all(|c| c.is_ascii_digit()) || GENERIC_WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::super::noise::testsong::reverberate;
    use super::*;
    use crate::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
    use crate::mix::organise::load_folder;
    use crate::mix::priors::target_offset_lu;
    use mixdown_dsp::rng::Rng;
    use std::f64::consts::PI;

    const SR: u32 = 44_100;
    const H: f32 = std::f32::consts::FRAC_1_SQRT_2;
    type Stems = Vec<(String, AudioBuffer)>;

    /// A clean multitrack (kick, snare, hats, bass, chords, a lead with a melody; 10 s, the
    /// demo song), each stem set near where the priors put it, a little off as real mixes are.
    fn clean() -> Stems {
        let song = crate::demo::synth_song(SR, 10.0, 3);
        let plan = [
            ("kick", Role::Kick, Presence::Normal, 1.5),
            ("snare", Role::Snare, Presence::Normal, -1.0),
            ("hats", Role::Hats, Presence::Normal, 2.0),
            ("bass", Role::Bass, Presence::Normal, -1.5),
            ("chords", Role::Pad, Presence::Background, 1.0),
            ("lead", Role::LeadInstrument, Presence::Lead, -0.5),
        ];
        plan.iter()
            .map(|&(name, role, presence, dev)| {
                let mut b = song
                    .stems
                    .iter()
                    .find(|s| s.name == name)
                    .expect("stem")
                    .buffer
                    .clone();
                let l = features::measure(&b).loudness_lufs.expect("loudness");
                let target = -20.0 + target_offset_lu(role, presence, 1) + dev;
                b.apply_gain(10f64.powf((target - l) / 20.0) as f32);
                (name.to_string(), b)
            })
            .collect()
    }

    /// The stems written as a folder of float WAVs and loaded back as `mixdown analyze` would.
    fn loaded(stems: &Stems) -> (Vec<AudioBuffer>, Organisation) {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = EncodeSpec {
            format: FileFormat::Wav,
            sample_format: SampleFormat::Float32,
            dither: false,
            dither_seed: 0,
        };
        for (name, b) in stems {
            write_file(&dir.path().join(format!("{name}.wav")), b, &spec).expect("write");
        }
        load_folder(dir.path(), &|_, _| {}).expect("load")
    }

    fn check(stems: &Stems) -> StemsDiagnosis {
        let (audio, org) = loaded(stems);
        check_stems(&org, &audio)
    }

    fn find<'a>(d: &'a StemsDiagnosis, rule: &str, track: &str) -> Option<&'a Finding> {
        d.findings
            .iter()
            .find(|f| f.rule == rule && f.tracks.iter().any(|t| t == track))
    }

    fn assert_no_rule(d: &StemsDiagnosis, rule: &str) {
        assert!(
            d.findings.iter().all(|f| f.rule != rule),
            "{rule}: {:#?}",
            d.findings
        );
    }

    fn above_info(d: &StemsDiagnosis) -> Vec<&Finding> {
        d.findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect()
    }

    fn gain(stems: &mut Stems, name: &str, db: f64) {
        let s = stems.iter_mut().find(|s| s.0 == name).expect("stem");
        s.1.apply_gain(10f64.powf(db / 20.0) as f32);
    }

    fn stem<'a>(stems: &'a mut Stems, name: &str) -> &'a mut AudioBuffer {
        &mut stems.iter_mut().find(|s| s.0 == name).expect("stem").1
    }

    /// A stereo copy of a mono buffer with left and right gains.
    fn stereo(b: &AudioBuffer, l: f32, r: f32) -> AudioBuffer {
        let x = &b.channels[0];
        AudioBuffer::from_channels(
            b.sample_rate,
            vec![
                x.iter().map(|v| v * l).collect(),
                x.iter().map(|v| v * r).collect(),
            ],
        )
    }

    #[test]
    fn a_clean_multitrack_has_no_finding_above_info() {
        let d = check(&clean());
        for t in &d.tracks {
            eprintln!(
                "{} {} {} {:?} vs_prior {:?} crest {:?} rt {:?}/{:?} cov {:?}",
                t.name,
                t.role,
                t.presence,
                t.loudness_lufs,
                t.vs_prior_lu,
                t.crest_db,
                t.reverb_decay_s,
                t.reverb_transient_decay_s,
                t.covered_pct
            );
        }
        assert!(above_info(&d).is_empty(), "{:#?}", d.findings);
        assert_eq!(d.tracks.len(), 6);
        assert!(d.tracks.iter().all(|t| t.in_mix && t.vs_prior_lu.is_some()));
        let lead = d.tracks.iter().find(|t| t.name == "lead").unwrap();
        assert_eq!(lead.presence, "lead", "{lead:?}");
        // the same stems as stereo files, panned a little: still nothing above info
        let mut s = clean();
        for (k, (name, b)) in s.iter_mut().enumerate() {
            if b.num_channels() == 1 && name != "kick" && name != "bass" && name != "lead" {
                let p = if k % 2 == 0 { 0.8 } else { 0.6 };
                *b = stereo(b, p, 1.4 - p);
            }
        }
        let d = check(&s);
        assert!(above_info(&d).is_empty(), "{:#?}", d.findings);
        // deterministic
        assert_eq!(check(&clean()), check(&clean()));
    }

    #[test]
    fn a_buried_lead_is_found_at_two_strengths() {
        for (db, sev) in [(-8.0, Severity::Warning), (-14.0, Severity::Problem)] {
            let mut s = clean();
            gain(&mut s, "lead", db);
            let d = check(&s);
            let f = find(&d, "stems.balance.lead_buried", "lead")
                .unwrap_or_else(|| panic!("{db}: {:#?}", d.findings));
            assert_eq!(f.severity, sev, "{f:#?}");
            assert!((f.measured + db).abs() < 3.0, "{f:#?}");
            assert_eq!(f.unit, "LU");
            assert!(!f.times.is_empty());
        }
    }

    #[test]
    fn a_track_too_loud_or_buried_is_found_at_two_strengths() {
        // the snare sits 2.5 LU under its prior place in the clean song
        for (db, sev) in [(12.0, Severity::Warning), (18.0, Severity::Problem)] {
            let mut s = clean();
            gain(&mut s, "snare", db);
            let d = check(&s);
            let f = find(&d, "stems.balance.too_loud", "snare")
                .unwrap_or_else(|| panic!("{db}: {:#?}", d.findings));
            assert_eq!(f.severity, sev, "{f:#?}");
            assert!((f.measured - db).abs() < 4.0, "{f:#?}");
            assert!(find(&d, "stems.balance.lead_buried", "lead").is_none());
        }
        // the bass sits 3 LU under its prior place in the clean song
        for (db, sev) in [(-10.0, Severity::Warning), (-17.0, Severity::Problem)] {
            let mut s = clean();
            gain(&mut s, "bass", db);
            let d = check(&s);
            let f = find(&d, "stems.balance.buried", "bass")
                .unwrap_or_else(|| panic!("{db}: {:#?}", d.findings));
            assert_eq!(f.severity, sev, "{f:#?}");
        }
    }

    #[test]
    fn colliding_tracks_are_found_at_two_strengths() {
        // a second part doubling the lead a few milliseconds late (not a duplicate)
        let mut found = Vec::new();
        for db in [0.0, -4.0] {
            let mut s = clean();
            let lead = stem(&mut s, "lead").clone();
            let delay = (0.012 * SR as f64) as usize;
            let mut x = vec![0.0f32; delay];
            x.extend_from_slice(&lead.channels[0][..lead.frames() - delay]);
            let mut g = AudioBuffer::from_channels(SR, vec![x]);
            g.apply_gain(10f64.powf(db / 20.0) as f32);
            s.push(("guitar".into(), g));
            let d = check(&s);
            let f = d
                .findings
                .iter()
                .find(|f| {
                    f.rule == "stems.masking"
                        && f.tracks.contains(&"lead".to_string())
                        && f.tracks.contains(&"guitar".to_string())
                })
                .unwrap_or_else(|| panic!("{db}: {:#?} {:#?}", d.findings, d.masking));
            assert!(!f.bands_hz.is_empty());
            found.push((f.severity, f.measured));
        }
        assert_eq!(found[0].0, Severity::Warning, "{found:?}");
        assert!(found[0].1 > found[1].1, "{found:?}");
    }

    #[test]
    fn low_end_off_centre_is_found_at_two_strengths() {
        // a stereo bass file: L/R balance of 4.4 dB and 9.5 dB
        for (l, r, sev) in [
            (1.2f32, 0.72f32, Severity::Warning),
            (1.3, 0.43, Severity::Problem),
        ] {
            let mut s = clean();
            let b = stereo(stem(&mut s, "bass"), l, r);
            *stem(&mut s, "bass") = b;
            let d = check(&s);
            let f = find(&d, "stems.pan.low_end_off_centre", "bass")
                .unwrap_or_else(|| panic!("{l}: {:#?}", d.findings));
            assert_eq!(f.severity, sev, "{f:#?}");
            assert!(f.measured > 0.0, "leans left: {f:#?}");
        }
        // a mono bass carries no pan
        assert_no_rule(&check(&clean()), "stems.pan.low_end_off_centre");
    }

    #[test]
    fn all_centred_stereo_stems_are_found_and_mono_stems_are_not() {
        let to_stereo = |s: Stems| -> Stems {
            s.into_iter()
                .map(|(n, b)| {
                    let b = if b.num_channels() == 1 {
                        stereo(&b, H, H)
                    } else {
                        let m: Vec<f32> = b.channels[0]
                            .iter()
                            .zip(&b.channels[1])
                            .map(|(a, c)| 0.5 * (a + c))
                            .collect();
                        AudioBuffer::from_channels(SR, vec![m.clone(), m])
                    };
                    (n, b)
                })
                .collect()
        };
        let six = to_stereo(clean());
        let d = check(&six);
        let f = d
            .findings
            .iter()
            .find(|f| f.rule == "stems.pan.all_centred")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.tracks.len(), 6);
        // twelve: a second song's stems too
        let mut twelve = six.clone();
        let other = crate::demo::synth_song(SR, 10.0, 11);
        for st in other.stems {
            let mut b = st.buffer;
            b.apply_gain(0.3);
            twelve.push((format!("{} 2", st.name), b));
        }
        let twelve = to_stereo(twelve);
        let d = check(&twelve);
        let f = d
            .findings
            .iter()
            .find(|f| f.rule == "stems.pan.all_centred")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Warning);
        // mono stems: the pan is decided in the mix
        let mono: Stems = six
            .iter()
            .map(|(n, b)| {
                (
                    n.clone(),
                    AudioBuffer::from_channels(SR, vec![b.channels[0].clone()]),
                )
            })
            .collect();
        assert_no_rule(&check(&mono), "stems.pan.all_centred");
    }

    #[test]
    fn a_lopsided_image_is_found_at_two_strengths() {
        for (right_db, sev) in [(-3.0, Severity::Warning), (-7.0, Severity::Problem)] {
            let mut s = clean();
            let g = 10f64.powf(right_db / 20.0) as f32;
            for (_, b) in s.iter_mut() {
                *b = if b.num_channels() == 1 {
                    stereo(b, H, H * g)
                } else {
                    let mut c = b.clone();
                    c.channels[1].iter_mut().for_each(|v| *v *= g);
                    c
                };
            }
            let d = check(&s);
            let f = d
                .findings
                .iter()
                .find(|f| f.rule == "stems.pan.lopsided")
                .unwrap_or_else(|| panic!("{right_db}: {:#?}", d.findings));
            assert_eq!(f.severity, sev, "{f:#?}");
            assert!(f.measured > 0.0 && !f.tracks.is_empty(), "{f:#?}");
        }
    }

    #[test]
    fn a_stem_drenched_in_reverb_is_found_at_two_strengths() {
        for t60 in [3.0, 6.0] {
            let mut s = clean();
            let b = reverberate(stem(&mut s, "snare"), t60, 0.0);
            *stem(&mut s, "snare") = b;
            let d = check(&s);
            let f = find(&d, "stems.effects.reverb", "snare")
                .unwrap_or_else(|| panic!("{t60}: {:#?} {:#?}", d.findings, d.tracks));
            assert_eq!(f.severity, Severity::Warning, "{f:#?}");
            assert!(f.measured >= reverb::WASH_DECAY_S, "{f:#?}");
        }
    }

    /// A hard limiter with makeup to full scale: the gain follows the peak at once and
    /// recovers with time constant `release_s`, holding the peak at `1/drive` of the input's.
    fn squash(b: &AudioBuffer, drive_db: f64, release_s: f64) -> AudioBuffer {
        let peak = b.sample_peak().max(1e-9) as f64;
        let thr = peak * 10f64.powf(-drive_db / 20.0);
        let a = (-1.0 / (release_s * b.sample_rate as f64)).exp();
        let channels = b
            .channels
            .iter()
            .map(|x| {
                let mut env = 0.0f64;
                x.iter()
                    .map(|&v| {
                        let m = (v as f64).abs();
                        env = if m > env { m } else { a * env + (1.0 - a) * m };
                        let g = if env > thr { thr / env } else { 1.0 };
                        (v as f64 * g * 0.5 / thr) as f32
                    })
                    .collect()
            })
            .collect();
        AudioBuffer::from_channels(b.sample_rate, channels)
    }

    #[test]
    fn a_squashed_drum_track_is_found_at_two_strengths() {
        // limited 40 dB with a 2 ms release (crest about 6.6 dB); then also clipped 6 dB
        for (clip_db, sev) in [(0.0, Severity::Warning), (6.0, Severity::Problem)] {
            let mut s = clean();
            let before = features::measure(stem(&mut s, "snare")).crest_db.unwrap();
            let mut b = squash(stem(&mut s, "snare"), 40.0, 0.002);
            let top = b.sample_peak() * 10f64.powf(-clip_db / 20.0) as f32;
            for c in &mut b.channels {
                c.iter_mut().for_each(|v| *v = v.clamp(-top, top));
            }
            // back to its loudness, so only the crest changed
            let (l0, l1) = (
                features::measure(stem(&mut s, "snare"))
                    .loudness_lufs
                    .unwrap(),
                features::measure(&b).loudness_lufs.unwrap(),
            );
            b.apply_gain(10f64.powf((l0 - l1) / 20.0) as f32);
            *stem(&mut s, "snare") = b;
            let d = check(&s);
            let f = find(&d, "stems.effects.over_compressed", "snare")
                .unwrap_or_else(|| panic!("{clip_db} (crest before {before:.1}): {:#?}", d.tracks));
            assert_eq!(f.severity, sev, "{f:#?}");
            assert!(f.measured < before - 5.0, "{f:#?}");
        }
    }

    #[test]
    fn unnamed_tracks_are_named_in_the_finding() {
        for n in [
            "Audio 1",
            "Track 03",
            "untitled",
            "New Recording",
            "Audio_05",
            "bounce 2",
        ] {
            assert!(is_unnamed(n), "{n}");
        }
        for n in [
            "Kick In",
            "lead vox",
            "Audio 1 bass",
            "gtr_overdub",
            "chords",
            "backing",
        ] {
            assert!(!is_unnamed(n), "{n}");
        }
        let mut s = clean();
        s[1].0 = "Audio 2".into();
        s[4].0 = "Track 05".into();
        let d = check(&s);
        let f = d
            .findings
            .iter()
            .find(|f| f.rule == "stems.organisation.unnamed")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            f.tracks,
            vec!["Audio 2".to_string(), "Track 05".to_string()]
        );
        assert_no_rule(&check(&clean()), "stems.organisation.unnamed");
    }

    #[test]
    fn duplicates_silent_and_near_silent_stems_are_found() {
        let mut s = clean();
        let bass = stem(&mut s, "bass").clone();
        s.push(("bass copy".into(), bass));
        let d = check(&s);
        let f = find(&d, "stems.organisation.duplicate", "bass copy")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.tracks.contains(&"bass".to_string()));
        // the copy is not counted twice in the balance
        assert!(find(&d, "stems.balance.too_loud", "bass").is_none());
        // silent, and nearly silent (two strengths of a missing part)
        let mut s = clean();
        stem(&mut s, "chords")
            .channels
            .iter_mut()
            .for_each(|c| c.iter_mut().for_each(|v| *v = 0.0));
        let peak = stem(&mut s, "hats").sample_peak();
        gain(&mut s, "hats", -70.0 - 20.0 * (peak as f64).log10());
        let d = check(&s);
        let f = find(&d, "stems.organisation.silent", "chords")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Warning);
        let f = find(&d, "stems.organisation.near_silent", "hats")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Warning);
        assert!((f.measured + 70.0).abs() < 1.0, "{f:#?}");
        // nearly silent tracks are not judged as buried
        assert!(
            find(&d, "stems.balance.buried", "hats").is_none(),
            "{:#?}",
            d.findings
        );
        let t = d.tracks.iter().find(|t| t.name == "chords").unwrap();
        assert!(!t.in_mix);
    }

    #[test]
    fn other_sample_rates_and_lengths_are_found() {
        for rate in [48_000, 22_050] {
            let mut s = clean();
            let b = crate::io::resample::resample(stem(&mut s, "hats"), rate).unwrap();
            *stem(&mut s, "hats") = b;
            let d = check(&s);
            let f = find(&d, "stems.organisation.sample_rate", "hats")
                .unwrap_or_else(|| panic!("{rate}: {:#?}", d.findings));
            assert_eq!(f.severity, Severity::Warning);
            assert_eq!(f.tracks, vec!["hats".to_string()]);
            assert_eq!(f.measured, rate as f64);
        }
        // a stem cut 2 s short: its length (info), no offset
        let mut s = clean();
        for c in &mut stem(&mut s, "chords").channels {
            c.truncate(c.len() - 2 * SR as usize);
        }
        let d = check(&s);
        let f = find(&d, "stems.organisation.length", "chords")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Info);
        assert!((f.measured - 2.0).abs() < 0.01);
        assert!(above_info(&d).is_empty(), "{:#?}", d.findings);
    }

    #[test]
    fn a_shifted_stem_is_found_at_two_strengths_and_a_late_entrance_is_not() {
        for (shift, sev) in [(0.1, Severity::Warning), (0.5, Severity::Problem)] {
            for name in ["snare", "lead"] {
                let mut s = clean();
                let pad = (shift * SR as f64) as usize;
                for c in &mut stem(&mut s, name).channels {
                    let mut v = vec![0.0f32; pad];
                    v.extend_from_slice(c);
                    *c = v;
                }
                let d = check(&s);
                let f = find(&d, "stems.organisation.offset", name)
                    .unwrap_or_else(|| panic!("{shift} {name}: {:#?}", d.findings));
                assert_eq!(f.severity, sev, "{f:#?}");
                assert!((f.measured - shift).abs() < 0.02, "{f:#?}");
                assert_eq!(
                    d.findings
                        .iter()
                        .filter(|f| f.rule == "stems.organisation.offset")
                        .count(),
                    1,
                    "{:#?}",
                    d.findings
                );
            }
        }
        // the lead entering 5 s in (silence before, same file length): info only
        let mut s = clean();
        for c in &mut stem(&mut s, "lead").channels {
            c[..5 * SR as usize].iter_mut().for_each(|v| *v = 0.0);
        }
        let d = check(&s);
        assert_no_rule(&d, "stems.organisation.offset");
        let f = find(&d, "stems.organisation.late_start", "lead")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Info);
        assert!(f.times.iter().any(|r| r.contains(5.0, 0.2)), "{f:#?}");
    }

    #[test]
    fn a_shifted_stem_is_told_by_its_leading_silence_when_nothing_else_tells() {
        // the chords stop 3 s before the end and the lead 2 s before the others: no common
        // end and no shifted end to see; the chords file starts with 0.5 s of silence and is
        // 0.5 s longer than the others, which all have one length
        let prepare = |s: &mut Stems| {
            let n = SR as usize;
            for c in &mut stem(s, "chords").channels {
                let len = c.len();
                c[len - 3 * n..].iter_mut().for_each(|v| *v = 0.0);
            }
            for c in &mut stem(s, "lead").channels {
                let len = c.len();
                c[len - 2 * n..].iter_mut().for_each(|v| *v = 0.0);
            }
        };
        let pad = SR as usize / 2;
        let mut s = clean();
        prepare(&mut s);
        for c in &mut stem(&mut s, "chords").channels {
            let mut v = vec![0.0f32; pad];
            v.extend_from_slice(c);
            *c = v;
        }
        let d = check(&s);
        let f = find(&d, "stems.organisation.offset", "chords")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Problem, "{f:#?}");
        assert!((f.measured - 0.5).abs() < 0.02, "{f:#?}");
        assert!(f.meaning.contains("extra length of silence"), "{f:#?}");
        // a file 0.5 s longer at its end (a tail exported) whose part enters 2 s in: no offset
        let mut s = clean();
        prepare(&mut s);
        for c in &mut stem(&mut s, "chords").channels {
            c[..2 * SR as usize].iter_mut().for_each(|v| *v = 0.0);
            c.extend(std::iter::repeat_n(0.0f32, pad));
        }
        assert_no_rule(&check(&s), "stems.organisation.offset");
    }

    #[test]
    fn noise_only_tracks_are_found_at_two_levels() {
        let n = 10 * SR as usize;
        for level in [-60.0, -40.0] {
            let mut rng = Rng::new(4);
            let a = 10f64.powf(level / 20.0);
            let hiss: Vec<f32> = (0..n).map(|_| (a * rng.gaussian()) as f32).collect();
            let hum: Vec<f32> = (0..n)
                .map(|i| {
                    let t = i as f64 / SR as f64;
                    (a * (0.8 * (2.0 * PI * 50.0 * t).sin()
                        + 0.4 * (2.0 * PI * 150.0 * t).sin()
                        + 0.2 * (2.0 * PI * 250.0 * t).sin()
                        + 0.1 * (2.0 * PI * 350.0 * t).sin())) as f32
                })
                .collect();
            let mut s = clean();
            s.push((
                "gtr overdub".into(),
                AudioBuffer::from_channels(SR, vec![hiss]),
            ));
            s.push(("keys 2".into(), AudioBuffer::from_channels(SR, vec![hum])));
            let d = check(&s);
            for name in ["gtr overdub", "keys 2"] {
                let f = find(&d, "stems.organisation.noise_only", name)
                    .unwrap_or_else(|| panic!("{level} {name}: {:#?}", d.tracks));
                assert_eq!(f.severity, Severity::Warning);
                // and not judged as a buried part
                assert!(find(&d, "stems.balance.buried", name).is_none());
            }
            assert!(d
                .findings
                .iter()
                .filter(|f| f.rule == "stems.organisation.noise_only")
                .all(|f| f.tracks.len() == 1 && f.tracks[0] != "chords"));
        }
    }

    #[test]
    fn clipped_stems_are_found_at_two_strengths() {
        // three short runs at full scale, at 2, 4 and 6 s
        let mut s = clean();
        for t in [2.0, 4.0, 6.0] {
            let i = (t * SR as f64) as usize;
            stem(&mut s, "snare").channels[0][i..i + 5]
                .iter_mut()
                .for_each(|v| *v = 1.0);
        }
        let d = check(&s);
        let f = find(&d, "stems.organisation.clipped", "snare")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Warning, "{f:#?}");
        assert_eq!(f.measured, 3.0);
        for t in [2.0, 4.0, 6.0] {
            assert!(f.times.iter().any(|r| r.contains(t, 0.01)), "{f:#?}");
        }
        // driven 12 dB into full scale: every hit clipped
        let mut s = clean();
        let b = stem(&mut s, "snare");
        let g = 4.0 / b.sample_peak();
        for c in &mut b.channels {
            c.iter_mut().for_each(|v| *v = (*v * g).clamp(-1.0, 1.0));
        }
        let d = check(&s);
        let f = find(&d, "stems.organisation.clipped", "snare")
            .unwrap_or_else(|| panic!("{:#?}", d.findings));
        assert_eq!(f.severity, Severity::Problem, "{f:#?}");
    }

    #[test]
    fn the_sum_places_mono_stems_at_minus_3_db_a_side() {
        let (audio, org) = loaded(&clean());
        let sum = sum_stems(&org, &audio);
        assert_eq!(sum.num_channels(), 2);
        assert_eq!(sum.frames(), org.frames);
        let k = org.stems.iter().position(|x| x.name == "kick").unwrap();
        let one = sum_stems(&org, &audio[k..k + 1]);
        let x = audio[k].channels[0][1000];
        assert!((one.channels[0][1000] - x * std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
        assert_eq!(one.channels[0], one.channels[1]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        // no stems
        let d = check_stems(&Organisation::default(), &[]);
        assert!(d.findings.is_empty() && d.tracks.is_empty());
        assert_eq!(sum_stems(&Organisation::default(), &[]).frames(), 0);
        // one stem
        let one: Stems = clean().into_iter().take(1).collect();
        let d = check(&one);
        assert_eq!(d.tracks.len(), 1);
        // all silent, NaN samples, empty buffers, a short folder (given directly: load_folder
        // refuses them)
        let (audio, org) = loaded(&clean());
        let mut silent_org = org.clone();
        silent_org.stems.iter_mut().for_each(|s| s.silent = true);
        let silent: Vec<AudioBuffer> = audio
            .iter()
            .map(|b| AudioBuffer::silent(SR, b.num_channels(), b.frames()))
            .collect();
        let d = check_stems(&silent_org, &silent);
        assert!(d
            .findings
            .iter()
            .all(|f| f.rule == "stems.organisation.silent"));
        let mut nan = audio.clone();
        nan[0].channels[0][100] = f32::NAN;
        nan[3].channels[0]
            .iter_mut()
            .for_each(|v| *v = f32::INFINITY);
        let d = check_stems(&org, &nan);
        assert_eq!(d.tracks.len(), 6);
        assert!(sum_stems(&org, &nan).channels[0]
            .iter()
            .all(|v| v.is_finite()));
        let empty: Vec<AudioBuffer> = audio
            .iter()
            .map(|_| AudioBuffer::silent(SR, 1, 0))
            .collect();
        let _ = check_stems(&org, &empty);
        let short: Vec<AudioBuffer> = audio
            .iter()
            .map(|b| {
                AudioBuffer::from_channels(
                    SR,
                    b.channels.iter().map(|c| c[..300].to_vec()).collect(),
                )
            })
            .collect();
        let _ = check_stems(&org, &short);
        // fewer buffers than stems
        let _ = check_stems(&org, &audio[..2]);
    }
}
