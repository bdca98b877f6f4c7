//! Background noise checks on a finished song (or a stem): a hiss floor exposed in the quiet
//! passages, mains hum, clicks and pops, DC offset.
//!
//! [`measure`] gives the figures (plain serde data, see [`NoiseMeasurements`]); [`check`] grades
//! them into findings. Levels are mean-square dBFS averaged over the channels (a full-scale sine
//! is -3 dBFS), as in the mixer's clean-up ([`crate::mix::cleanup`]).
//!
//! # How each is measured
//!
//! * **Hiss** (`noise.hiss`): the song is cut into frames of about 46 ms (2048 samples at 44.1
//!   and 48 kHz). A frame is *calm* when it is not digital silence, its level stays within
//!   [`HISS_STEADY_DB`] of its neighbours over ±140 ms, and it lies at least
//!   [`HISS_BELOW_MUSIC_DB`] under the loud passages (the 95th percentile of the frame levels):
//!   a pause, an intro or outro, a break. Runs of calm frames at least [`HISS_MIN_RUN_S`] long
//!   are the quiet passages. A reverb tail or a fade is not calm (it keeps falling: a 2 s decay
//!   falls 30 dB a second), a held note or a pad can be. So the spectrum of each quiet passage
//!   (averaged over its frames and channels) is then tested in half-octave bands from 500 Hz to
//!   11.3 kHz (or 0.45 × the sample rate): it is hiss when [`HISS_MIN_NOISY_SHARE`] of the bands
//!   are noise-like (the spectral flatness inside the band, geometric over arithmetic mean of
//!   the bins, at least [`HISS_MIN_FLATNESS_DB`]; a steady noise averaged over a few frames
//!   reads about -0.3 dB, a note or a chord -6 dB and far lower), the band densities lie on a
//!   line over log-frequency within [`HISS_MAX_SCATTER_DB`] and that line's slope is between
//!   [`HISS_MIN_SLOPE`] and [`HISS_MAX_SLOPE`] dB per octave (from steeper than pink noise to
//!   rising; a tail of music falls much faster towards the treble). The floor is the level of
//!   the quietest passage that is hiss; the passages within [`HISS_EXPOSED_DB`] of it are where
//!   it is exposed, and they are the finding's times. They must add up to [`HISS_MIN_EXPOSED_S`].
//!   Graded on the floor's level: info from [`HISS_INFO_DBFS`], warning from
//!   [`HISS_WARNING_DBFS`] (the ACX audiobook limit for a noise floor; at a normal listening
//!   level it is plainly heard in a pause), problem from [`HISS_PROBLEM_DBFS`].
//! * **Hum** (`noise.hum`): the mixer's hum scanner ([`HumAnalyser`]): the first six harmonics
//!   of 50 and 60 Hz on a spectrum of the whole song with a few hundredths of a hertz per bin,
//!   the quiet passages counting most; the evidence is [`hum_score`] (a steady line at exact
//!   multiples of one frequency: hum, not notes), needed from [`HUM_MIN_SCORE`] as in the
//!   clean-up. The level is the sum of the harmonics that stand out. Graded on that level: info
//!   from [`HUM_INFO_DBFS`], warning from [`HUM_WARNING_DBFS`], problem from
//!   [`HUM_PROBLEM_DBFS`]; but a hum more than [`HUM_MASKED_DB`] under the song's quiet
//!   passages (the 10th percentile of the frame levels) is never exposed and stays info. It runs
//!   through the whole song, so the finding has no time ranges (the whole song).
//! * **Clicks** (`noise.clicks`): each channel is whitened by a 12th-order linear predictor
//!   fitted every 93 ms (4096 samples at 44.1 kHz); what the predictor cannot foresee is left in
//!   the residual. Music leaves a residual that is noise-like at a level that changes slowly;
//!   a click leaves a spike a few samples long. A click is a residual peak that is (1) at least
//!   [`CLICK_MIN_RATIO_DB`] above the local residual level (the median of the 1 ms mean squares
//!   over ±20 ms, the peak's own ±2 ms left out), (2) isolated: no other residual sample within
//!   ±20 ms (outside ±1.5 ms of the peak) reaches [`CLICK_ISOLATION_DB`] under it, which rules
//!   out the pitch pulses of voices and brass, and (3) not the start of a sound: the residual
//!   after it (1.5-20 ms) is at most [`CLICK_ONSET_DB`] louder than before it (drums and plucks
//!   start sounds; a click leaves the music as it was), unless its peak towers
//!   [`CLICK_TOWER_DB`] over the sound that follows (no attack peaks that far above its note)
//!   and it is an impulse, [`CLICK_TOWER_RATIO_DB`] over the local residual;
//!   and (4) at least [`CLICK_MIN_DBFS`]. Before all that, a predictor whose fit a loud
//!   spike would have taught the spike itself is fitted again without it.
//!   Clicks in several channels within 5 ms count once. Warning from one click, problem from
//!   [`CLICK_PROBLEM_COUNT`]; each click is a time range of ±5 ms.
//! * **DC offset** (`noise.dc_offset`): the median of each channel's means over one-second
//!   blocks (music has no steady offset: its mean over a second wanders around zero, a lopsided
//!   bass note or section moves a few blocks, not the median), or the channel's mean on songs
//!   under three seconds. Only on songs of at least a second. Info from [`DC_INFO_PERCENT`] % of full
//!   scale (-60 dBFS: inaudible, but worth removing), warning from [`DC_WARNING_PERCENT`] %
//!   (-40 dBFS: the step clicks where the song starts, stops or is cut), problem from
//!   [`DC_PROBLEM_PERCENT`] % (-30 dBFS); per channel, one finding
//!   naming the channels.
//!
//! Input with samples that are not numbers gets no finding here (other checks report those);
//! silent, empty, very short and mono input is handled (fewer things can be measured).

use super::finding::{grade_above, ranges_from_instants, round3, Finding, Severity, TimeRange};
use crate::analysis::percentile;
use crate::mix::cleanup::{hum_score, HUM_DOMINANCE_DB, HUM_MIN_SCORE, HUM_PROMINENCE_DB};
use crate::AudioBuffer;
use mixdown_dsp::cleanup::hum::HumAnalyser;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

pub use crate::mix::cleanup::{HISS_MAX_SLOPE, HISS_MIN_SLOPE};

/// A frame is calm when its level stays within this over ±140 ms, dB.
pub const HISS_STEADY_DB: f64 = 2.0;
/// ... and it lies this far under the loud passages, dB.
pub const HISS_BELOW_MUSIC_DB: f64 = 20.0;
/// Shortest quiet passage analysed, s.
pub const HISS_MIN_RUN_S: f64 = 0.3;
/// Spectral flatness inside a band for it to count as noise-like, dB.
pub const HISS_MIN_FLATNESS_DB: f64 = -2.5;
/// Share of the bands that must be noise-like.
pub const HISS_MIN_NOISY_SHARE: f64 = 0.75;
/// Largest scatter of the band densities around their line, dB RMS.
pub const HISS_MAX_SCATTER_DB: f64 = 3.0;
/// Passages within this of the floor expose it, dB.
pub const HISS_EXPOSED_DB: f64 = 3.0;
/// The passages that expose the hiss must add up to this, s.
pub const HISS_MIN_EXPOSED_S: f64 = 0.5;
/// A hiss floor from this level is reported (info), dBFS.
pub const HISS_INFO_DBFS: f64 = -75.0;
/// ... a warning from this level, dBFS.
pub const HISS_WARNING_DBFS: f64 = -60.0;
/// ... a problem from this level, dBFS.
pub const HISS_PROBLEM_DBFS: f64 = -50.0;

/// Hum from this level is reported (info), dBFS.
pub const HUM_INFO_DBFS: f64 = -80.0;
/// ... a warning from this level, dBFS.
pub const HUM_WARNING_DBFS: f64 = -65.0;
/// ... a problem from this level, dBFS.
pub const HUM_PROBLEM_DBFS: f64 = -50.0;
/// Hum this far under the quiet passages is masked all through the song: info only, dB. The
/// ear is some 20 dB less sensitive at 50-60 Hz than in the midrange (ISO 226 at moderate
/// levels), so a hum 20 dB under the song's quietest music is not heard over it.
pub const HUM_MASKED_DB: f64 = 20.0;

/// Order of the click detector's linear predictor.
pub const CLICK_ORDER: usize = 12;
/// A click stands this far above the local residual level, dB.
pub const CLICK_MIN_RATIO_DB: f64 = 16.0;
/// No other residual sample within ±20 ms comes within this of the click, dB.
pub const CLICK_ISOLATION_DB: f64 = 9.5;
/// The signal after a click (and its treble) is at most this much louder than before it, dB.
pub const CLICK_ONSET_DB: f64 = 6.0;
/// A spike where a sound starts is still a click if its peak stands this far above the RMS of
/// the sound that follows (1.5-20 ms), dB: an instrument's attack peaks about 5-11 dB over the
/// note it starts (measured on the corpus stems: drums, percussion, vibraphone).
pub const CLICK_TOWER_DB: f64 = 18.0;
/// ... and if it is an impulse: this far above the local residual level, dB (a few samples;
/// a consonant's burst or a drum's attack lasts milliseconds and stands out less).
pub const CLICK_TOWER_RATIO_DB: f64 = 40.0;
/// A click's peak stands at least this far above the RMS of the signal around it (±20 ms), dB.
pub const CLICK_ABOVE_SIGNAL_DB: f64 = 6.0;
/// A click is clear (not masked by the music) this far above the signal around it, dB: a
/// warning from one clear click; clicks that are all less clear are info.
pub const CLICK_CLEAR_DB: f64 = 12.0;
/// Smallest residual peak that counts, dBFS (peak): a click of a few samples quieter than this
/// is too short to be heard at a normal listening level.
pub const CLICK_MIN_DBFS: f64 = -40.0;
/// A problem from this many clear clicks.
pub const CLICK_PROBLEM_COUNT: usize = 5;

/// DC offset worth mentioning (info), % of full scale (-60 dBFS).
pub const DC_INFO_PERCENT: f64 = 0.1;
/// DC offset warning, % of full scale (-40 dBFS: a step that loud clicks audibly where the
/// song starts, stops or is cut).
pub const DC_WARNING_PERCENT: f64 = 1.0;
/// DC offset problem, % of full scale (-30 dBFS).
pub const DC_PROBLEM_PERCENT: f64 = 3.0;
/// DC offset is measured on songs at least this long, s.
pub const DC_MIN_DURATION_S: f64 = 1.0;

/// What [`measure`] found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseMeasurements {
    /// Level of the loud passages (95th percentile of the ~46 ms frames), dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loud_dbfs: Option<f64>,
    /// Level of the quiet passages (10th percentile of the frames that are not digital
    /// silence), dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_dbfs: Option<f64>,
    /// The hiss floor, when one is exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hiss: Option<Hiss>,
    /// The strongest hum candidate, when its evidence reaches [`HUM_MIN_SCORE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum: Option<Hum>,
    /// Clicks, in time order.
    #[serde(default)]
    pub clicks: Vec<Click>,
    /// Mean of each channel, % of full scale (signed); empty when too short to tell.
    #[serde(default)]
    pub dc_percent: Vec<f64>,
}

/// A hiss floor exposed in quiet passages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hiss {
    /// Level of the floor (the quietest passage that is hiss), dBFS.
    pub floor_dbfs: f64,
    /// How far it lies under the loud passages, dB.
    pub below_music_db: f64,
    /// Slope of its spectral density, dB per octave (0 = white, -3 = pink).
    pub slope_db_per_oct: f64,
    /// Share of its half-octave bands that are noise-like, 0-1.
    pub noisy_share: f64,
    /// Where it is exposed.
    pub passages: Vec<TimeRange>,
    /// Their total length, s.
    pub exposed_s: f64,
}

/// Mains hum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hum {
    /// Measured fundamental, Hz.
    pub fundamental_hz: f64,
    /// Nominal mains frequency, 50 or 60 Hz.
    pub mains_hz: f64,
    /// Level of the harmonics that stand out, summed, dBFS.
    pub level_dbfs: f64,
    /// Evidence for hum ([`hum_score`]), dB.
    pub score_db: f64,
    /// Frequencies of the harmonics that stand out, Hz.
    pub harmonics_hz: Vec<f64>,
}

/// One click.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Click {
    /// Time, s from the start.
    pub time_s: f64,
    /// Its peak in the predictor's residual, dBFS.
    pub peak_dbfs: f64,
    /// How far that peak stands above the residual around it, dB.
    pub above_local_db: f64,
    /// How far it stands above the RMS of the signal around it (±20 ms), dB.
    pub above_signal_db: f64,
    /// Channels it is in (0 = left).
    pub channels: Vec<usize>,
}

fn db_pow(p: f64) -> f64 {
    10.0 * p.max(1e-30).log10()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Findings `noise.hiss`, `noise.hum`, `noise.clicks`, `noise.dc_offset` for one file.
pub fn check(buf: &AudioBuffer) -> Vec<Finding> {
    let m = measure(buf);
    findings(&m, buf.duration_s())
}

/// The findings for measurements of a song `duration_s` long.
pub fn findings(m: &NoiseMeasurements, duration_s: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(h) = &m.hiss {
        out.extend(hiss_finding(h));
    }
    if let Some(h) = &m.hum {
        out.extend(hum_finding(h, m.quiet_dbfs));
    }
    if !m.clicks.is_empty() {
        out.push(clicks_finding(&m.clicks, duration_s));
    }
    out.extend(dc_finding(&m.dc_percent));
    out
}

fn hiss_finding(h: &Hiss) -> Option<Finding> {
    let (sev, thr) = grade_above(h.floor_dbfs, HISS_WARNING_DBFS, HISS_PROBLEM_DBFS)
        .or_else(|| (h.floor_dbfs >= HISS_INFO_DBFS).then_some((Severity::Info, HISS_INFO_DBFS)))?;
    let colour = if h.slope_db_per_oct > -1.5 {
        "white-ish"
    } else {
        "pink-ish"
    };
    Some(
        Finding::new(
            "noise.hiss",
            sev,
            format!(
                "Hiss: a steady noise floor at {:.0} dBFS in the quiet passages ({:.0} dB under \
                 the music)",
                h.floor_dbfs, h.below_music_db
            ),
            h.floor_dbfs,
            thr,
            "dBFS",
        )
        .times(h.passages.clone())
        .meaning(format!(
            "Where the music stops ({:.1} s in all) a {colour} broadband hiss is left that stays \
             the same all the time: tape or preamp noise, a noisy instrument channel or a \
             synth's noise floor. It sits under the whole song and is heard in the pauses, \
             fades and breaks listed, more so when the song is turned up.",
            h.exposed_s
        ))
        .fix(
            "Find the track it comes from and clean it there (a gate or expander between \
             phrases, or broadband noise reduction such as `mixdown mix`'s clean-up); on the \
             finished file, gentle spectral noise reduction, or fade the pauses to silence.",
        ),
    )
}

fn hum_finding(h: &Hum, quiet_dbfs: Option<f64>) -> Option<Finding> {
    let graded = grade_above(h.level_dbfs, HUM_WARNING_DBFS, HUM_PROBLEM_DBFS)
        .or_else(|| (h.level_dbfs >= HUM_INFO_DBFS).then_some((Severity::Info, HUM_INFO_DBFS)))?;
    let masked = quiet_dbfs.is_some_and(|q| h.level_dbfs < q - HUM_MASKED_DB);
    let (sev, thr) = if masked {
        (Severity::Info, HUM_INFO_DBFS)
    } else {
        graded
    };
    let under = quiet_dbfs
        .map(|q| {
            if masked {
                format!(
                    " It stays {:.0} dB under the song's quietest passages, so the music covers \
                     it throughout.",
                    q - h.level_dbfs
                )
            } else {
                " It is heard most in the quiet passages, intro and fades.".to_string()
            }
        })
        .unwrap_or_default();
    Some(
        Finding::new(
            "noise.hum",
            sev,
            format!(
                "Mains hum at {:.0} Hz ({} harmonic{} stand{} out, {:.0} dBFS)",
                h.mains_hz,
                h.harmonics_hz.len(),
                if h.harmonics_hz.len() == 1 { "" } else { "s" },
                if h.harmonics_hz.len() == 1 { "s" } else { "" },
                h.level_dbfs
            ),
            h.level_dbfs,
            thr,
            "dBFS",
        )
        .bands(h.harmonics_hz.clone())
        .meaning(format!(
            "A steady low buzz at {:.2} Hz and its multiples runs under the whole song: \
             electrical hum picked up by a cable, a guitar amp or a ground loop while \
             recording.{under}",
            h.fundamental_hz
        ))
        .fix(format!(
            "A hum filter (notches at {:.0} Hz and its harmonics) or `mixdown mix`'s clean-up on \
             the track it is in; better, fix the ground loop or the cable at the source and \
             record again.",
            h.mains_hz
        )),
    )
}

fn clicks_finding(clicks: &[Click], duration_s: f64) -> Finding {
    let n = clicks.len();
    let clear = clicks
        .iter()
        .filter(|c| c.above_signal_db >= CLICK_CLEAR_DB)
        .count();
    let (sev, measured, thr) = if clear >= CLICK_PROBLEM_COUNT {
        (Severity::Problem, clear, CLICK_PROBLEM_COUNT as f64)
    } else if clear >= 1 {
        (Severity::Warning, clear, 1.0)
    } else {
        (Severity::Info, n, 1.0)
    };
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    let title = if sev == Severity::Info {
        format!(
            "{n} possible click{} or pop{}, covered by the music around {}",
            plural(n),
            plural(n),
            if n == 1 { "it" } else { "them" }
        )
    } else {
        let loudest = clicks
            .iter()
            .map(|c| c.above_signal_db)
            .fold(f64::NEG_INFINITY, f64::max);
        format!(
            "{clear} click{} or pop{} (the strongest {:.0} dB above the music around it){}",
            plural(clear),
            plural(clear),
            loudest,
            if n > clear {
                format!(", and {} fainter", n - clear)
            } else {
                String::new()
            }
        )
    };
    let times: Vec<f64> = clicks.iter().map(|c| c.time_s).collect();
    Finding::new("noise.clicks", sev, title, measured as f64, thr, "clicks")
        .times(ranges_from_instants(&times, 0.01, 0.005, duration_s, 200))
        .meaning(
            "Short sharp ticks that are not part of the music: an edit without a crossfade, a \
             digital glitch (a dropped buffer, a bad sample-rate conversion), a plug-in that \
             was switched on or off, vinyl dust, or mouth clicks on a voice. Each is only a few \
             samples long; those that stand out of the music are heard.",
        )
        .fix(
            "Listen at each time listed; fix the edit with a short crossfade, or repair the \
             click with a de-click tool or by redrawing those few samples; if a plug-in or the \
             interface glitched, render again.",
        )
}

fn dc_finding(dc_percent: &[f64]) -> Option<Finding> {
    let worst = dc_percent.iter().fold(0.0f64, |m, &v| m.max(v.abs()));
    let (sev, thr) = grade_above(worst, DC_WARNING_PERCENT, DC_PROBLEM_PERCENT)
        .or_else(|| (worst >= DC_INFO_PERCENT).then_some((Severity::Info, DC_INFO_PERCENT)))?;
    let names: Vec<String> = dc_percent
        .iter()
        .enumerate()
        .filter(|(_, v)| v.abs() >= DC_INFO_PERCENT)
        .map(|(i, v)| format!("{} {:+.2} %", channel_name(i, dc_percent.len()), v))
        .collect();
    Some(
        Finding::new(
            "noise.dc_offset",
            sev,
            if names.len() == 1 {
                format!(
                    "DC offset: the waveform sits off zero ({} of full scale)",
                    names[0]
                )
            } else {
                format!(
                    "DC offset: the waveforms sit off zero ({} of full scale)",
                    names.join(", ")
                )
            },
            worst,
            thr,
            "%",
        )
        .meaning(
            "The waveform is shifted off the centre line: a constant voltage from a faulty \
             converter or preamp, or a plug-in that adds one. It is not heard as such, but it \
             takes headroom, makes clicks where the song starts, stops or is edited, and \
             throws off compressors and limiters.",
        )
        .fix(
            "A DC-removal filter (a high-pass at 5-20 Hz) before any compression or limiting, \
             e.g. `mixdown mix`'s clean-up or the DC filter of your editor.",
        ),
    )
}

fn channel_name(i: usize, n: usize) -> String {
    match (n, i) {
        (1, _) => "mono".into(),
        (2, 0) => "left".into(),
        (2, 1) => "right".into(),
        _ => format!("channel {}", i + 1),
    }
}

/// Measures hiss, hum, clicks and DC offset of a song.
pub fn measure(buf: &AudioBuffer) -> NoiseMeasurements {
    let sr = buf.sample_rate;
    let mut m = NoiseMeasurements::default();
    if sr == 0 || buf.frames() == 0 || buf.num_channels() == 0 || buf.non_finite().0 > 0 {
        return m;
    }
    let (frames, (hum, clicks)) = rayon::join(
        || FrameStats::new(buf),
        || rayon::join(|| measure_hum(buf), || find_clicks(buf)),
    );
    let levels: Vec<f64> = frames.level_db.iter().flatten().copied().collect();
    m.loud_dbfs = percentile(&levels, 0.95).map(round1);
    m.quiet_dbfs = percentile(&levels, 0.10).map(round1);
    m.hiss = find_hiss(buf, &frames, m.loud_dbfs);
    m.hum = hum;
    m.clicks = clicks;
    if buf.duration_s() >= DC_MIN_DURATION_S {
        m.dc_percent = frames.dc_percent();
    }
    m
}

// -------------------------------------------------------------------------------------------
// frames: levels and sums

/// Per-frame levels and per-channel sums of a song.
struct FrameStats {
    /// Frame length, samples.
    size: usize,
    sample_rate: u32,
    /// Channel-mean power of each whole frame, dBFS; `None` for digital silence (more than
    /// 10 % exact zeros).
    level_db: Vec<Option<f64>>,
    /// Per channel: the sum of each whole frame's samples.
    sums: Vec<Vec<f64>>,
    /// Per channel: the sum of all samples.
    totals: Vec<f64>,
    frames: usize,
}

/// Frame length of the hiss analysis: the power of two at or above 40 ms.
fn frame_size(sample_rate: u32) -> usize {
    ((f64::from(sample_rate) * 0.04).round() as usize)
        .next_power_of_two()
        .max(64)
}

impl FrameStats {
    fn new(buf: &AudioBuffer) -> Self {
        let size = frame_size(buf.sample_rate);
        let n = buf.frames();
        let count = n / size;
        let nch = buf.num_channels();
        // per channel: (sum, sum of squares, zeros) of each frame
        let per_ch: Vec<Vec<(f64, f64, usize)>> = buf
            .channels
            .par_iter()
            .map(|c| c.chunks_exact(size).map(frame_sums).collect())
            .collect();
        let level_db = (0..count)
            .map(|f| {
                let (p, z) = per_ch
                    .iter()
                    .fold((0.0, 0), |(p, z), ch| (p + ch[f].1, z + ch[f].2));
                (p > 0.0 && z * 10 <= size * nch).then(|| db_pow(p / (size * nch) as f64))
            })
            .collect();
        let sums: Vec<Vec<f64>> = per_ch
            .iter()
            .map(|ch| ch.iter().map(|s| s.0).collect())
            .collect();
        let totals = buf
            .channels
            .iter()
            .zip(&sums)
            .map(|(c, s)| {
                s.iter().sum::<f64>() + c[count * size..].iter().map(|&v| f64::from(v)).sum::<f64>()
            })
            .collect();
        FrameStats {
            size,
            sample_rate: buf.sample_rate,
            level_db,
            sums,
            totals,
            frames: n,
        }
    }

    fn seconds(&self, frame: usize) -> f64 {
        (frame * self.size) as f64 / f64::from(self.sample_rate)
    }

    /// The steady offset of each channel, % of full scale: the median of its one-second block
    /// means (an offset is in every block; a lopsided passage is not), or its mean when the
    /// song is shorter than three blocks.
    fn dc_percent(&self) -> Vec<f64> {
        let per_block = ((f64::from(self.sample_rate) / self.size as f64).round() as usize).max(1);
        self.sums
            .iter()
            .zip(&self.totals)
            .map(|(s, &total)| {
                let blocks: Vec<f64> = s
                    .chunks_exact(per_block)
                    .map(|c| c.iter().sum::<f64>() / (c.len() * self.size) as f64)
                    .collect();
                let dc = if blocks.len() >= 3 {
                    percentile(&blocks, 0.5).unwrap_or(0.0)
                } else {
                    total / self.frames.max(1) as f64
                };
                (dc * 100.0 * 1e4).round() / 1e4
            })
            .collect()
    }
}

/// (Σ v, Σ v², zeros) of a frame.
fn frame_sums(x: &[f32]) -> (f64, f64, usize) {
    let mut s1 = [0.0f32; 8];
    let mut s2 = [0.0f32; 8];
    let mut z = [0u32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            s1[i] += c[i];
            s2[i] += c[i] * c[i];
            z[i] += u32::from(c[i] == 0.0);
        }
    }
    let mut a: f64 = s1.iter().map(|&v| f64::from(v)).sum();
    let mut b: f64 = s2.iter().map(|&v| f64::from(v)).sum();
    let mut zeros: usize = z.iter().map(|&v| v as usize).sum();
    for &v in chunks.remainder() {
        a += f64::from(v);
        b += f64::from(v) * f64::from(v);
        zeros += usize::from(v == 0.0);
    }
    (a, b, zeros)
}

// -------------------------------------------------------------------------------------------
// hiss

/// Frames either side whose levels a calm frame must stay close to (±140 ms at 46 ms).
const CALM_REACH_S: f64 = 0.14;
/// Most frames analysed per quiet passage (spread evenly).
const HISS_FRAMES_PER_RUN: usize = 24;
/// Most frames analysed over the song.
const HISS_MAX_FRAMES: usize = 480;
/// Lowest band edge of the spectrum test, Hz.
const HISS_LOW_HZ: f64 = 500.0;
/// Highest band edge (lossy sources have nothing far above), Hz.
const HISS_HIGH_HZ: f64 = 11_314.0;

/// A quiet passage: frames `start..end`, level.
struct Run {
    start: usize,
    end: usize,
    level: f64,
}

/// Spectrum test of one quiet passage.
struct SpectrumTest {
    noisy_share: f64,
    slope: f64,
    scatter: f64,
}

impl SpectrumTest {
    fn is_hiss(&self) -> bool {
        self.noisy_share >= HISS_MIN_NOISY_SHARE
            && self.scatter <= HISS_MAX_SCATTER_DB
            && (HISS_MIN_SLOPE..=HISS_MAX_SLOPE).contains(&self.slope)
    }
}

fn find_hiss(buf: &AudioBuffer, fs: &FrameStats, loud: Option<f64>) -> Option<Hiss> {
    let loud = loud?;
    let n = fs.level_db.len();
    let reach =
        ((CALM_REACH_S * f64::from(fs.sample_rate) / fs.size as f64).round() as usize).max(1);
    if n < 2 * reach + 1 {
        return None;
    }
    let calm: Vec<bool> = (0..n)
        .map(|f| {
            let Some(l) = fs.level_db[f] else {
                return false;
            };
            if l > loud - HISS_BELOW_MUSIC_DB || l < HISS_INFO_DBFS - 6.0 {
                return false;
            }
            let lo = f.saturating_sub(reach);
            let hi = (f + reach + 1).min(n);
            let mut mn = l;
            let mut mx = l;
            for g in lo..hi {
                match fs.level_db[g] {
                    Some(v) => {
                        mn = mn.min(v);
                        mx = mx.max(v);
                    }
                    None => return false,
                }
            }
            mx - mn <= HISS_STEADY_DB
        })
        .collect();
    let min_run = (HISS_MIN_RUN_S * f64::from(fs.sample_rate) / fs.size as f64).ceil() as usize;
    let mut runs: Vec<Run> = Vec::new();
    let mut f = 0;
    while f < n {
        if !calm[f] {
            f += 1;
            continue;
        }
        let start = f;
        while f < n && calm[f] {
            f += 1;
        }
        if f - start >= min_run.max(2) {
            let lv: Vec<f64> = (start..f).filter_map(|g| fs.level_db[g]).collect();
            runs.push(Run {
                start,
                end: f,
                level: percentile(&lv, 0.5).unwrap_or(-300.0),
            });
        }
    }
    if runs.is_empty() {
        return None;
    }
    // the quietest passages first, at most HISS_MAX_FRAMES frames in all
    runs.sort_by(|a, b| a.level.total_cmp(&b.level));
    let mut budget = HISS_MAX_FRAMES;
    let mut picked: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let len = r.end - r.start;
        let take = len.min(HISS_FRAMES_PER_RUN).min(budget);
        let frames: Vec<usize> = (0..take)
            .map(|k| r.start + (k * len) / take)
            .collect::<Vec<_>>();
        budget -= take;
        picked.push((i, frames));
    }
    let tests: Vec<(usize, SpectrumTest)> = picked
        .par_iter()
        .map(|(i, frames)| (*i, spectrum_test(buf, fs, frames)))
        .collect();
    let hiss_runs: Vec<(usize, &SpectrumTest)> = tests
        .iter()
        .filter(|(_, t)| t.is_hiss())
        .map(|(i, t)| (*i, t))
        .collect();
    let (first, test) = hiss_runs.first()?;
    let floor = runs[*first].level;
    let exposed: Vec<&Run> = hiss_runs
        .iter()
        .map(|(i, _)| &runs[*i])
        .filter(|r| r.level <= floor + HISS_EXPOSED_DB)
        .collect();
    let exposed_s: f64 = exposed
        .iter()
        .map(|r| fs.seconds(r.end) - fs.seconds(r.start))
        .sum();
    if exposed_s < HISS_MIN_EXPOSED_S {
        return None;
    }
    let mut passages: Vec<TimeRange> = exposed
        .iter()
        .map(|r| TimeRange::new(fs.seconds(r.start), fs.seconds(r.end)))
        .collect();
    passages.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    passages.truncate(50);
    Some(Hiss {
        floor_dbfs: round1(floor),
        below_music_db: round1(loud - floor),
        slope_db_per_oct: round1(test.slope),
        noisy_share: round3(test.noisy_share),
        passages,
        exposed_s: round3(exposed_s),
    })
}

/// The averaged spectrum of some frames of a passage, tested for hiss.
fn spectrum_test(buf: &AudioBuffer, fs: &FrameStats, frames: &[usize]) -> SpectrumTest {
    let size = fs.size;
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(size);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let window: Vec<f32> = (0..size)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / size as f64).cos()) as f32)
        .collect();
    let mut power = vec![0.0f64; size / 2 + 1];
    for &f in frames {
        for ch in &buf.channels {
            let seg = &ch[f * size..(f + 1) * size];
            for ((d, &v), &w) in input.iter_mut().zip(seg).zip(&window) {
                *d = v * w;
            }
            fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                .expect("fft sizes match");
            for (p, c) in power.iter_mut().zip(&output) {
                *p += f64::from(c.re * c.re + c.im * c.im);
            }
        }
    }
    let sr = f64::from(fs.sample_rate);
    let bin_hz = sr / size as f64;
    let top = HISS_HIGH_HZ.min(0.45 * sr);
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut noisy = 0usize;
    let mut lo = HISS_LOW_HZ;
    while lo * 2f64.sqrt() <= top * 1.001 {
        let hi = lo * 2f64.sqrt();
        let a = (lo / bin_hz).ceil() as usize;
        let b = ((hi / bin_hz).ceil() as usize).min(power.len());
        if b > a + 2 {
            let bins = &power[a..b];
            let mean = bins.iter().sum::<f64>() / bins.len() as f64;
            let geo = bins.iter().map(|&p| (p + 1e-30).ln()).sum::<f64>() / bins.len() as f64;
            let flat = 10.0 * (geo - mean.max(1e-30).ln()) / std::f64::consts::LN_10;
            noisy += usize::from(flat >= HISS_MIN_FLATNESS_DB);
            pts.push(((lo * hi).sqrt().log2(), db_pow(mean)));
        }
        lo = hi;
    }
    if pts.len() < 3 {
        return SpectrumTest {
            noisy_share: 0.0,
            slope: f64::NAN,
            scatter: f64::INFINITY,
        };
    }
    let (a, slope) = fit_line(&pts);
    let scatter = (pts
        .iter()
        .map(|&(x, y)| (y - a - slope * x).powi(2))
        .sum::<f64>()
        / pts.len() as f64)
        .sqrt();
    SpectrumTest {
        noisy_share: noisy as f64 / pts.len() as f64,
        slope,
        scatter,
    }
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

// -------------------------------------------------------------------------------------------
// hum

fn measure_hum(buf: &AudioBuffer) -> Option<Hum> {
    // the scanner needs a few seconds to resolve lines a few hundredths of a hertz apart
    if buf.duration_s() < 2.0 {
        return None;
    }
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    let an = HumAnalyser::new(&views, buf.sample_rate);
    let (c50, c60) = rayon::join(|| an.candidate(50.0), || an.candidate(60.0));
    let (s50, s60) = (hum_score(&c50), hum_score(&c60));
    let (cand, score) = if s60 > s50 { (c60, s60) } else { (c50, s50) };
    if score.is_nan() || score < HUM_MIN_SCORE {
        return None;
    }
    let present: Vec<_> = cand
        .peaks
        .iter()
        .filter(|p| p.prominence_db >= HUM_PROMINENCE_DB && p.dominance_db >= HUM_DOMINANCE_DB)
        .collect();
    if present.is_empty() {
        return None;
    }
    let level = db_pow(
        present
            .iter()
            .map(|p| 10f64.powf(p.level_dbfs / 10.0))
            .sum(),
    );
    Some(Hum {
        fundamental_hz: (cand.fundamental_hz * 1000.0).round() / 1000.0,
        mains_hz: cand.mains_hz,
        level_dbfs: round1(level),
        score_db: round1(score),
        harmonics_hz: present
            .iter()
            .map(|p| (p.freq_hz * 100.0).round() / 100.0)
            .collect(),
    })
}

// -------------------------------------------------------------------------------------------
// clicks

/// A click found in one channel: sample index, residual peak, ratio to the local level.
struct RawClick {
    at: usize,
    peak: f64,
    ratio_db: f64,
    above_signal_db: f64,
    channel: usize,
}

fn find_clicks(buf: &AudioBuffer) -> Vec<Click> {
    let sr = buf.sample_rate;
    let mut raw: Vec<RawClick> = buf
        .channels
        .par_iter()
        .enumerate()
        .flat_map_iter(|(ch, x)| channel_clicks(x, sr, ch))
        .collect();
    raw.sort_by_key(|c| c.at);
    let merge = (0.005 * f64::from(sr)).round() as usize;
    let mut out: Vec<(RawClick, Vec<usize>)> = Vec::new();
    for c in raw {
        match out.last_mut() {
            Some((last, chans)) if c.at - last.at <= merge => {
                if !chans.contains(&c.channel) {
                    chans.push(c.channel);
                }
                if c.peak > last.peak {
                    *last = c;
                }
            }
            _ => {
                let ch = c.channel;
                out.push((c, vec![ch]));
            }
        }
    }
    out.into_iter()
        .map(|(c, mut channels)| {
            channels.sort_unstable();
            Click {
                time_s: round3(c.at as f64 / f64::from(sr)),
                peak_dbfs: round1(20.0 * c.peak.max(1e-15).log10()),
                above_local_db: round1(c.ratio_db),
                above_signal_db: round1(c.above_signal_db),
                channels,
            }
        })
        .collect()
}

/// Residual of a block-wise linear predictor of `x` (order [`CLICK_ORDER`], blocks of `block`
/// samples, each fitted on its own Hann-windowed autocorrelation). A loud click inside the fit
/// would teach the predictor the click itself and hide it, so a block whose residual has spikes
/// far above its median ([`SPIKE_RATIO`]) is fitted again with the samples around them left
/// out (a robust second pass; blocks without spikes keep the first fit).
fn lpc_residual(x: &[f32], block: usize) -> Vec<f32> {
    let p = CLICK_ORDER;
    // each block's predictor is fitted on its middle half (Hann window)
    let fit = (block / 2).max(p + 1);
    let window: Vec<f32> = (0..fit)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / fit as f64).cos()) as f32)
        .collect();
    let mut e = x.to_vec();
    e.par_chunks_mut(block).enumerate().for_each_init(
        || (vec![0.0f32; fit], vec![0.0f64; p], Vec::<f32>::new()),
        |(w, a, mags), (bi, out)| {
            let start = bi * block;
            let len = out.len().min(fit);
            let f0 = start + (out.len() - len) / 2;
            for ((d, &v), &h) in w.iter_mut().zip(&x[f0..f0 + len]).zip(&window) {
                *d = v * h;
            }
            if !fit_and_whiten(x, start, out, &w[..len], a) {
                return;
            }
            // spikes in the residual: refit without them
            mags.clear();
            mags.extend(out.iter().map(|v| v.abs()));
            let mid = mags.len() / 2;
            mags.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
            let median = mags[mid];
            let spike = median * SPIKE_RATIO;
            if median.is_nan() || median <= 0.0 || !out.iter().any(|v| v.abs() > spike) {
                return;
            }
            let mut skip_to = 0usize;
            for (i, v) in out.iter().enumerate() {
                if v.abs() > spike {
                    // the fit sees x[n - p ..= n] for each n: leave out the spike's reach
                    let lo = (start + i).saturating_sub(p + 2).max(f0.max(skip_to));
                    let hi = (start + i + p + 3).min(f0 + len);
                    for k in lo..hi {
                        w[k - f0] = 0.0;
                    }
                    skip_to = hi;
                }
            }
            out.copy_from_slice(&x[start..start + out.len()]);
            if !fit_and_whiten(x, start, out, &w[..len], a) {
                out.copy_from_slice(&x[start..start + out.len()]);
            }
        },
    );
    e
}

/// A residual sample this many times the block's median magnitude is a spike that the
/// predictor's fit should not see (34 dB; music's residual peaks stay well under it).
const SPIKE_RATIO: f32 = 50.0;

/// Fit the predictor on the windowed data `w` and subtract its prediction from `out`
/// (`x[start..]`, still holding the signal). False, with `out` untouched, if the fit fails.
fn fit_and_whiten(x: &[f32], start: usize, out: &mut [f32], w: &[f32], a: &mut [f64]) -> bool {
    let p = a.len();
    let len = w.len();
    let r: Vec<f64> = (0..=p)
        .map(|k| {
            if k >= len {
                0.0
            } else {
                dot(&w[..len - k], &w[k..len])
            }
        })
        .collect();
    if !(r[0] > 1e-20 && levinson(&r, a)) {
        return false;
    }
    let end = start + out.len();
    for (j, &aj) in a.iter().enumerate() {
        // e[n] -= a_j x[n-1-j] for n in start..end with n-1-j >= 0
        let aj = aj as f32;
        let n0 = start.max(j + 1);
        if n0 >= end {
            continue;
        }
        let dst = &mut out[n0 - start..];
        let src = &x[n0 - 1 - j..end - 1 - j];
        for (d, &v) in dst.iter_mut().zip(src) {
            *d -= aj * v;
        }
    }
    true
}

/// Σ a·b in f64 from eight f32 partial sums.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f64 = acc.iter().map(|&v| f64::from(v)).sum();
    for (x, y) in ra.iter().zip(rb) {
        s += f64::from(*x) * f64::from(*y);
    }
    s
}

/// Levinson-Durbin: predictor `a` (x̂[n] = Σ a_j x[n-1-j]) from autocorrelation `r`
/// (with a -60 dB white-noise floor). False if the recursion breaks down.
fn levinson(r: &[f64], a: &mut [f64]) -> bool {
    let p = a.len();
    a.iter_mut().for_each(|v| *v = 0.0);
    let mut err = r[0] * (1.0 + 1e-4);
    let mut prev = vec![0.0f64; p];
    for i in 0..p {
        let mut acc = r[i + 1];
        for j in 0..i {
            acc -= a[j] * r[i - j];
        }
        let k = acc / err;
        if !k.is_finite() || k.abs() >= 1.0 {
            return i > 0;
        }
        prev[..i].copy_from_slice(&a[..i]);
        a[i] = k;
        for j in 0..i {
            a[j] = prev[j] - k * prev[i - 1 - j];
        }
        err *= 1.0 - k * k;
        if err <= 0.0 {
            return true;
        }
    }
    true
}

fn channel_clicks(x: &[f32], sample_rate: u32, channel: usize) -> Vec<RawClick> {
    let sr = f64::from(sample_rate);
    let block = ((sr * 0.093).round() as usize).next_power_of_two().max(64);
    if x.len() < 64 {
        return Vec::new();
    }
    let e = lpc_residual(x, block);
    let sub = ((sr / 1000.0).round() as usize).max(4);
    // per 1 ms sub-block: the residual's mean square and largest |e|, the power of the signal
    // and of its first difference
    let stats: Vec<(f64, f32, f64, f64)> = e
        .par_chunks_exact(sub)
        .zip(x.par_chunks_exact(sub))
        .enumerate()
        .with_min_len(1024)
        .map(|(j, (c, xc))| {
            let prev = if j > 0 { x[j * sub - 1] } else { xc[0] };
            let s: f32 = c.iter().map(|&v| v * v).sum();
            let m = c.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
            let sx: f32 = xc.iter().map(|&v| v * v).sum();
            let d0 = xc[0] - prev;
            let sd: f32 = d0 * d0
                + xc.windows(2)
                    .map(|w| (w[1] - w[0]) * (w[1] - w[0]))
                    .sum::<f32>();
            (f64::from(s) / sub as f64, m, f64::from(sx), f64::from(sd))
        })
        .collect();
    let ms: Vec<f64> = stats.iter().map(|v| v.0).collect();
    let pk: Vec<f32> = stats.iter().map(|v| v.1).collect();
    let xp: Vec<f64> = stats.iter().map(|v| v.2).collect();
    let dp: Vec<f64> = stats.iter().map(|v| v.3).collect();
    let nsub = ms.len();
    let reach = 20usize; // sub-blocks (ms) either side
    let min_ratio = 10f64.powf(CLICK_MIN_RATIO_DB / 20.0);
    let min_peak = 10f64.powf(CLICK_MIN_DBFS / 20.0);
    let iso = 10f64.powf(-CLICK_ISOLATION_DB / 20.0);
    let onset = 10f64.powf(CLICK_ONSET_DB / 10.0);
    let above = 10f64.powf(CLICK_ABOVE_SIGNAL_DB / 20.0);
    let tower = 10f64.powf(CLICK_TOWER_DB / 20.0);
    let tower_ratio = 10f64.powf(CLICK_TOWER_RATIO_DB / 20.0);
    let mut out: Vec<RawClick> = Vec::new();
    let mut hood: Vec<f64> = Vec::with_capacity(2 * reach);
    for j in 0..nsub {
        let peak = f64::from(pk[j]);
        if peak < min_peak {
            continue;
        }
        let lo = j.saturating_sub(reach);
        let hi = (j + reach + 1).min(nsub);
        // the neighbourhood leaves out the click's own sub-block and the ones next to it
        let near = |i: usize| i + 1 >= j && i <= j + 1;
        // far above the music itself, not only above what the predictor leaves of it
        let xs: f64 = xp[lo..hi].iter().sum();
        let around = (xs / ((hi - lo) * sub) as f64).sqrt();
        if peak < above * around {
            continue;
        }
        // isolated: nothing else in the residual within ±20 ms comes close
        let others = (lo..hi)
            .filter(|&i| !near(i))
            .fold(0.0f32, |m, i| m.max(pk[i]));
        if f64::from(others) > iso * peak {
            continue;
        }
        // far above the local residual level (the median of the 1 ms mean squares)
        hood.clear();
        hood.extend((lo..hi).filter(|&i| !near(i)).map(|i| ms[i]));
        if hood.is_empty() {
            continue;
        }
        let mid = hood.len() / 2;
        hood.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        let local = hood[mid].max(1e-24).sqrt();
        if peak < min_ratio * local {
            continue;
        }
        // not the start of a sound: neither the signal nor its treble is louder after
        let sum = |v: &[f64], a: usize, b: usize| -> f64 {
            if a < b {
                v[a..b].iter().sum::<f64>() / (b - a) as f64
            } else {
                0.0
            }
        };
        // ... unless it towers over the sound that follows: no attack peaks that far above
        // the note it starts
        let (b0, b1) = (lo, j.saturating_sub(1));
        let (a0, a1) = ((j + 2).min(hi), hi);
        let starts_a_sound = sum(&xp, a0, a1) > onset * sum(&xp, b0, b1).max(1e-18)
            || sum(&dp, a0, a1) > onset * sum(&dp, b0, b1).max(1e-18);
        let after_rms = (sum(&xp, a0, a1) / sub as f64).sqrt();
        if starts_a_sound && (peak < tower * after_rms || peak < tower_ratio * local) {
            continue;
        }
        let at = j * sub
            + e[j * sub..(j + 1) * sub]
                .iter()
                .position(|v| v.abs() == pk[j])
                .unwrap_or(0);
        if out.last().is_some_and(|c| at - c.at <= 2 * sub) {
            continue;
        }
        out.push(RawClick {
            at,
            peak,
            ratio_db: 20.0 * (peak / local).log10(),
            above_signal_db: 20.0 * (peak / around.max(1e-12)).log10(),
            channel,
        });
    }
    out
}

/// A synthetic song for the tests of the diagnose checks.
#[cfg(test)]
pub(crate) mod testsong {
    use crate::AudioBuffer;
    use mixdown_dsp::rng::Rng;
    use std::f64::consts::PI;

    pub const SR: u32 = 44_100;
    /// Music plays in these stretches (s); silence elsewhere (an intro, a break, an outro).
    pub const SECTIONS: [(f64, f64); 2] = [(1.5, 4.5), (6.0, 8.5)];
    pub const DURATION_S: f64 = 10.0;
    /// Eighth notes at 120 bpm.
    pub const STEP_S: f64 = 0.25;

    fn add(buf: &mut [Vec<f32>], at: f64, gains: [f64; 2], sound: &[f64]) {
        let start = (at * f64::from(SR)).round() as usize;
        for (ch, g) in buf.iter_mut().zip(gains) {
            for (i, &v) in sound.iter().enumerate() {
                if let Some(s) = ch.get_mut(start + i) {
                    *s += (g * v) as f32;
                }
            }
        }
    }

    fn attack(i: usize, ms: f64) -> f64 {
        (i as f64 / (ms * 1e-3 * f64::from(SR))).min(1.0)
    }

    fn kick(len_s: f64) -> Vec<f64> {
        let n = (len_s * f64::from(SR)) as usize;
        let mut ph = 0.0;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                let f = 50.0 + 70.0 * (-t / 0.03).exp();
                ph += 2.0 * PI * f / f64::from(SR);
                attack(i, 1.0) * (-t / 0.12).exp() * ph.cos()
            })
            .collect()
    }

    fn snare(rng: &mut Rng, len_s: f64) -> Vec<f64> {
        let n = (len_s * f64::from(SR)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                attack(i, 1.0)
                    * (0.6 * rng.gaussian() * (-t / 0.05).exp()
                        + 0.5 * (2.0 * PI * 190.0 * t).sin() * (-t / 0.04).exp())
            })
            .collect()
    }

    fn hat(rng: &mut Rng, len_s: f64) -> Vec<f64> {
        let n = (len_s * f64::from(SR)) as usize;
        let mut prev = 0.0;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                let w = rng.gaussian();
                let v = w - prev;
                prev = w;
                attack(i, 0.5) * 0.5 * v * (-t / 0.015).exp()
            })
            .collect()
    }

    fn pluck(f0: f64, tau: f64, len_s: f64) -> Vec<f64> {
        let n = (len_s * f64::from(SR)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                let s: f64 = (1..=6)
                    .map(|k| {
                        let kf = k as f64;
                        (2.0 * PI * kf * f0 * t).sin() / kf * (-t * kf.sqrt() / tau).exp()
                    })
                    .sum();
                attack(i, 3.0) * s
            })
            .collect()
    }

    /// The song: kick, snare, hats and plucked notes with short natural decays in two
    /// sections, digital silence around them. Deterministic.
    pub fn song() -> AudioBuffer {
        song_with(true, 0.15)
    }

    /// A dry drum loop only (no notes), or the full song with notes of time constant `tau`.
    pub fn song_with(notes: bool, tau: f64) -> AudioBuffer {
        let n = (DURATION_S * f64::from(SR)) as usize;
        let mut ch = vec![vec![0.0f32; n]; 2];
        let mut rng = Rng::new(7);
        let scale = [196.0, 220.0, 246.9, 293.7, 329.6, 392.0, 440.0, 523.3];
        let k = kick(0.6);
        for &(a, b) in &SECTIONS {
            let steps = ((b - a) / STEP_S).round() as usize;
            for s in 0..steps {
                let t = a + s as f64 * STEP_S;
                if s % 2 == 0 {
                    add(&mut ch, t, [0.35, 0.35], &k);
                } else {
                    let sn = snare(&mut rng, 0.4);
                    add(&mut ch, t, [0.22, 0.2], &sn);
                }
                let h = hat(&mut rng, 0.15);
                add(&mut ch, t + STEP_S / 2.0, [0.05, 0.08], &h);
                if notes && s % 4 != 3 {
                    let f = scale[(rng.uniform() * scale.len() as f64) as usize % scale.len()];
                    let p = pluck(f, tau, (8.0 * tau).min(b - t + 0.8));
                    add(&mut ch, t, [0.12, 0.08], &p);
                }
            }
        }
        AudioBuffer::from_channels(SR, ch)
    }

    /// `b` plus a reverb of decay time `t60` s (exponentially decaying noise, different for
    /// each channel) whose return has `wet_db` dB the energy of the dry signal.
    pub fn reverberate(b: &AudioBuffer, t60: f64, wet_db: f64) -> AudioBuffer {
        let mut rng = Rng::new(99);
        crate::diagnose::reverb::add_decaying_noise_reverb(
            b,
            t60,
            wet_db,
            &mut |_| rng.gaussian(),
            false,
        )
    }

    /// Adds white noise of RMS `dbfs` to every channel (independent per channel).
    pub fn add_noise(buf: &mut AudioBuffer, dbfs: f64, seed: u64) {
        let a = 10f64.powf(dbfs / 20.0);
        let mut rng = Rng::new(seed);
        for ch in &mut buf.channels {
            for v in ch.iter_mut() {
                *v += (a * rng.gaussian()) as f32;
            }
        }
    }

    /// Whether `t` lies in a music section (with `slack` s either side).
    pub fn in_music(t: f64, slack: f64) -> bool {
        SECTIONS
            .iter()
            .any(|&(a, b)| t >= a - slack && t <= b + slack)
    }
}

#[cfg(test)]
mod tests {
    use super::testsong::{add_noise, in_music, song, song_with, SR};
    use super::*;
    use std::f64::consts::PI;

    fn worst(f: &[Finding]) -> Option<Severity> {
        f.iter().map(|x| x.severity).max()
    }

    fn rule<'a>(f: &'a [Finding], r: &str) -> Option<&'a Finding> {
        f.iter().find(|x| x.rule == r)
    }

    fn only_info(f: &[Finding]) -> bool {
        worst(f).is_none_or(|s| s == Severity::Info)
    }

    #[test]
    fn clean_song_and_drum_loop_have_no_finding_above_info() {
        for (name, b) in [
            ("song", song()),
            ("drum loop", song_with(false, 0.1)),
            ("long notes", song_with(true, 0.4)),
        ] {
            let f = check(&b);
            assert!(only_info(&f), "{name}: {f:#?}");
            assert!(rule(&f, "noise.hiss").is_none(), "{name}: {f:#?}");
            assert!(rule(&f, "noise.clicks").is_none(), "{name}: {f:#?}");
        }
        // a dither-level floor is not hiss worth mentioning
        let mut b = song();
        add_noise(&mut b, -96.0, 3);
        let f = check(&b);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn hiss_is_found_in_the_quiet_passages_at_two_levels() {
        for (dbfs, least) in [(-50.0, Severity::Warning), (-62.0, Severity::Info)] {
            let mut b = song();
            add_noise(&mut b, dbfs, 11);
            let f = check(&b);
            let h = rule(&f, "noise.hiss").unwrap_or_else(|| panic!("{dbfs}: {f:#?}"));
            assert!(h.severity >= least, "{dbfs}: {h:#?}");
            assert!((h.measured - dbfs).abs() <= 1.5, "{dbfs}: {h:#?}");
            // the intro, the break and the outro, and nothing in the music
            for t in [0.75, 5.25, 9.25] {
                assert!(
                    h.times.iter().any(|r| r.contains(t, 0.0)),
                    "{dbfs} {t}: {h:#?}"
                );
            }
            for r in &h.times {
                let mid = 0.5 * (r.start_s + r.end_s);
                assert!(!in_music(mid, -0.1), "{dbfs}: {r:?}");
            }
            assert!(rule(&f, "noise.clicks").is_none(), "{dbfs}: {f:#?}");
        }
        // -50 dBFS is a problem, -62 only information
        let mut b = song();
        add_noise(&mut b, -45.0, 12);
        assert_eq!(
            rule(&check(&b), "noise.hiss").map(|h| h.severity),
            Some(Severity::Problem)
        );
    }

    #[test]
    fn a_quiet_held_chord_is_not_hiss() {
        // the breaks filled with a soft sustained chord at -45 dBFS
        let mut b = song();
        for ch in &mut b.channels {
            for (i, v) in ch.iter_mut().enumerate() {
                let t = i as f64 / f64::from(SR);
                if !in_music(t, 0.0) {
                    let s: f64 = [220.0, 277.2, 329.6, 440.0]
                        .iter()
                        .map(|f| (2.0 * PI * f * t).sin())
                        .sum();
                    *v += (0.004 * s) as f32;
                }
            }
        }
        let f = check(&b);
        assert!(rule(&f, "noise.hiss").is_none(), "{f:#?}");
    }

    fn add_hum(b: &mut AudioBuffer, mains: f64, dbfs: f64) {
        // fundamental and harmonics 2-5, total mean square `dbfs`
        let amps = [1.0, 0.6, 0.4, 0.25, 0.15];
        let ms: f64 = amps.iter().map(|a| a * a / 2.0).sum();
        let g = (10f64.powf(dbfs / 10.0) / ms).sqrt();
        for ch in &mut b.channels {
            for (i, v) in ch.iter_mut().enumerate() {
                let t = i as f64 / f64::from(SR);
                let h: f64 = amps
                    .iter()
                    .enumerate()
                    .map(|(k, a)| {
                        a * (2.0 * PI * mains * (k + 1) as f64 * t + 0.3 * k as f64).sin()
                    })
                    .sum();
                *v += (g * h) as f32;
            }
        }
    }

    #[test]
    fn hum_at_50_and_60_hz_is_found_at_two_levels() {
        for (mains, dbfs, least) in [
            (50.0, -40.0, Severity::Problem),
            (60.0, -40.0, Severity::Problem),
            (50.0, -55.0, Severity::Warning),
            (60.0, -55.0, Severity::Warning),
        ] {
            let mut b = song();
            add_hum(&mut b, mains, dbfs);
            let f = check(&b);
            let h = rule(&f, "noise.hum").unwrap_or_else(|| panic!("{mains} {dbfs}: {f:#?}"));
            assert!(h.severity >= least, "{mains} {dbfs}: {h:#?}");
            assert!((h.measured - dbfs).abs() <= 3.0, "{mains} {dbfs}: {h:#?}");
            assert!((h.bands_hz[0] - mains).abs() < 0.5, "{h:#?}");
            assert!(h.bands_hz.len() >= 2, "{h:#?}");
            assert!(rule(&f, "noise.hiss").is_none(), "{mains} {dbfs}: {f:#?}");
        }
    }

    /// Click times: between the hits (where the drums have died down), in the breaks,
    /// irregular.
    const CLICKS: [f64; 20] = [
        0.731, 1.69, 2.19, 2.69, 2.943, 3.437, 3.94, 4.187, 4.95, 5.43, 5.811, 6.187, 6.69, 7.19,
        7.44, 7.94, 8.19, 8.9, 9.37, 9.81,
    ];

    fn add_clicks(b: &mut AudioBuffer, times: &[f64], amp: f32, both: bool) {
        for (k, &t) in times.iter().enumerate() {
            let i = (t * f64::from(SR)).round() as usize;
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            let chans = if both { 0..2 } else { k % 2..k % 2 + 1 };
            for c in chans {
                b.channels[c][i] += sign * amp;
                b.channels[c][i + 1] -= sign * amp * 0.4;
            }
        }
    }

    #[test]
    fn clicks_are_counted_and_placed() {
        for (times, amp, both, least) in [
            (&[2.19, 5.43, 7.692][..], 0.5f32, true, Severity::Warning),
            (&CLICKS[..], 0.3f32, false, Severity::Problem),
        ] {
            let mut b = song();
            add_clicks(&mut b, times, amp, both);
            let m = measure(&b);
            let f = findings(&m, b.duration_s());
            let c = rule(&f, "noise.clicks").unwrap_or_else(|| panic!("{f:#?}"));
            let found: Vec<(f64, f64, f64)> = m
                .clicks
                .iter()
                .map(|k| (k.time_s, k.above_local_db, k.above_signal_db))
                .collect();
            assert_eq!(m.clicks.len(), times.len(), "{found:?}");
            assert!(c.severity >= least, "{c:#?}");
            for &t in times {
                assert!(
                    m.clicks.iter().any(|k| (k.time_s - t).abs() <= 0.02),
                    "{t}: {:#?}",
                    m.clicks
                );
                assert!(c.times.iter().any(|r| r.contains(t, 0.02)), "{t}: {c:#?}");
            }
            assert!(rule(&f, "noise.hiss").is_none(), "{f:#?}");
        }
    }

    /// A click just before a note starts is still a click when it towers over the note (a
    /// spike no attack comes near); the notes' own sharp attacks alone are not clicks.
    #[test]
    fn a_click_on_a_note_onset_is_found_when_it_towers_over_the_note() {
        let sr = f64::from(SR);
        let n = (5.0 * sr) as usize;
        let notes = [0.5, 1.5, 2.5, 3.5, 4.3];
        // plucked notes with a 0.3 ms attack over a faint noise floor
        let notes_only = || {
            let mut rng = mixdown_dsp::rng::Rng::new(5);
            let mut x: Vec<f32> = (0..n).map(|_| (1e-4 * rng.gaussian()) as f32).collect();
            for (k, &t0) in notes.iter().enumerate() {
                let f0 = [220.0, 247.0, 196.0, 262.0, 233.0][k];
                let i0 = (t0 * sr) as usize;
                for (i, v) in x[i0..].iter_mut().enumerate().take((0.6 * sr) as usize) {
                    let t = i as f64 / sr;
                    let a = (t / 0.0003).min(1.0) * (-t / 0.25).exp();
                    let s: f64 = (1..=5)
                        .map(|h| (2.0 * PI * h as f64 * f0 * t).sin() / h as f64)
                        .sum();
                    *v += (0.03 * a * s) as f32;
                }
            }
            AudioBuffer {
                sample_rate: SR,
                channels: vec![x.clone(), x],
            }
        };
        let clean = notes_only();
        assert!(
            measure(&clean).clicks.is_empty(),
            "{:#?}",
            measure(&clean).clicks
        );
        // clicks 1 ms before two of the notes: about 28 dB over the notes they precede
        let times = [1.499, 3.499];
        let mut b = notes_only();
        add_clicks(&mut b, &times, 0.7, true);
        let m = measure(&b);
        assert_eq!(m.clicks.len(), times.len(), "{:#?}", m.clicks);
        for &t in &times {
            assert!(
                m.clicks.iter().any(|k| (k.time_s - t).abs() <= 0.005),
                "{t}: {:#?}",
                m.clicks
            );
        }
        // a spike only as loud as the attacks it sits on is not told apart from them
        let mut b = notes_only();
        add_clicks(&mut b, &times, 0.05, true);
        assert!(measure(&b).clicks.is_empty(), "{:#?}", measure(&b).clicks);
    }

    #[test]
    fn dc_offset_per_channel_at_two_levels() {
        for (dc, both, sev) in [
            (0.015f32, false, Severity::Warning),
            (0.04f32, true, Severity::Problem),
        ] {
            let mut b = song();
            for (c, ch) in b.channels.iter_mut().enumerate() {
                if both || c == 1 {
                    ch.iter_mut().for_each(|v| *v += dc);
                }
            }
            let f = check(&b);
            let d = rule(&f, "noise.dc_offset").unwrap_or_else(|| panic!("{f:#?}"));
            assert_eq!(d.severity, sev, "{d:#?}");
            assert!((d.measured - f64::from(dc) * 100.0).abs() < 0.02, "{d:#?}");
            assert!(d.title.contains("right"), "{d:#?}");
            assert_eq!(d.title.contains("left"), both, "{d:#?}");
            assert!(rule(&f, "noise.clicks").is_none(), "{f:#?}");
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mono = AudioBuffer::from_channels(SR, vec![song().channels[0].clone()]);
        let mut nan = song();
        nan.channels[0][1000] = f32::NAN;
        let cases = [
            AudioBuffer::silent(SR, 2, 0),
            AudioBuffer::silent(SR, 2, 10 * SR as usize),
            AudioBuffer::silent(SR, 0, 0),
            AudioBuffer::from_channels(SR, vec![vec![0.5; 7]]),
            AudioBuffer::from_channels(8000, vec![vec![0.1; 300], vec![-0.1; 300]]),
            AudioBuffer::from_channels(0, vec![vec![0.1; 300]]),
            mono,
            nan,
        ];
        for b in &cases {
            let f = check(b);
            assert!(
                only_info(&f) || f.iter().all(|x| x.rule == "noise.dc_offset"),
                "{f:#?}"
            );
        }
        assert!(check(&AudioBuffer::silent(SR, 2, 10 * SR as usize)).is_empty());
    }
}
