//! Clean-up of a raw track, only where it is needed: DC offset, mains hum, steady hiss, noise
//! between phrases.
//!
//! [`analyse_and_plan`] measures the track and decides; the [`CleanupPlan`] it returns is plain
//! serde data (it goes into the Session file, where it can be read and edited) and says in words
//! why each step is there, or "no clean-up needed". [`apply`] renders it, deterministically.
//!
//! # What is measured and how it is decided
//!
//! * **DC offset**: the mean of each channel, always measured. Removed here (10 Hz high-pass)
//!   only when it is gross, above [`DC_MIN_DBFS`]; a smaller one is left to the channel strip's
//!   role high-pass, which removes it anyway.
//! * **Hum**: each of the first six harmonics of 50 and 60 Hz is measured on a spectrum of the
//!   whole track with a few hundredths of a hertz per bin, in which the passages where little
//!   else sounds near the harmonic count most (see [`mixdown_dsp::cleanup::hum::HumAnalyser`]).
//!   Only a sound that is there, unchanged, all the time stands out at that resolution: hum, not
//!   notes, which come and go. Each harmonic that stands [`HUM_DOMINANCE_DB`] above the other
//!   lines near it adds its prominence above [`HUM_PROMINENCE_DB`] (at most
//!   [`HUM_SCORE_CAP_DB`]) to the evidence ([`hum_score`]); hum is removed from
//!   [`HUM_MIN_SCORE`] up, if it is above [`HUM_MIN_DBFS`] and no more than
//!   [`HUM_BELOW_QUIET_DB`] below the track's quiet passages. On the untouched corpus the best
//!   score is about 20 dB (a metal backing track whose riff repeats in step with 50 Hz), hum at
//!   -40 dBFS under a bass line scores 35 or more. The remover gets at least
//!   [`HUM_MIN_HARMONICS`] notches (more if higher harmonics stand out), [`HUM_STEADY_WIDTH_HZ`]
//!   wide for a hum that holds steady over the track, [`HUM_WIDTH_HZ`] for one that wanders
//!   (or when that cannot be told).
//! * **Hiss**: per 1/3-octave band the floor of the band's power over the track and how much the
//!   band moves above that floor (see [`mixdown_dsp::cleanup::noise::measure`]). A band's floor
//!   is the noise where the band rests at least a tenth of the time, and above it where music
//!   always sounds, so the noise spectrum is the lower envelope of the floors: a straight line
//!   of spectral density over log-frequency fitted to them, dropping those above it. It is hiss
//!   when the floors of many bands lie on that line within [`HISS_ON_DB`] (music floors are as
//!   irregular as the music): [`HISS_MIN_ON_BANDS`] with [`HISS_MIN_STEADY_ON`] of them steady
//!   like noise, or [`HISS_MIN_STEADY_ALONE`] steady ones (music that never rests leaves only the
//!   highest bands to the noise), or [`HISS_MIN_ON_ALONE`] at all; when the line is smooth
//!   ([`HISS_MAX_SCATTER_DB`]) and not too steep; when it lies at least [`HISS_BELOW_MUSIC_DB`]
//!   below the music's loud passages and above [`HISS_MIN_DBFS`] (below that it is inaudible;
//!   16-bit quantisation noise sits at -101 dBFS). On the untouched corpus no stem comes close
//!   except a synthesised one whose floor is a renderer's noise at -101 dBFS. The bands that
//!   hold the harmonics of a hum found are left to the line. Digital silence is not noise and
//!   is left out of every measurement.
//! * **Gate**: only with hiss, and only when the track has passages that drop to that noise
//!   floor (pauses between phrases): then, after the denoiser, a gate closes below the noise
//!   floor's level.
//!
//! A clean track gets no step at all (its plan says "no clean-up needed") and [`apply`] leaves it
//! bit for bit as it was.

use crate::analysis::percentile;
use crate::audio::AudioBuffer;
use mixdown_dsp::cleanup::dc::{DcBlocker, DcParams};
use mixdown_dsp::cleanup::denoise::{DenoiseParams, Denoiser};
use mixdown_dsp::cleanup::gate::{Gate, GateParams};
use mixdown_dsp::cleanup::hum::{
    self, HumAnalyser, HumCandidate, HumParams, HumPeak, HumRemover, HumScan,
};
use mixdown_dsp::cleanup::noise::{self, NoiseProfile, NoiseStats};
use serde::{Deserialize, Serialize};

/// What to do to one track, and why. Every step is optional; an empty plan leaves the track
/// untouched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupPlan {
    /// Musician-readable reasons, one per step, or "no clean-up needed".
    pub why: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<DcParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum: Option<HumParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denoise: Option<DenoiseParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateParams>,
    /// The measurements behind the decisions.
    #[serde(default)]
    pub measured: CleanupMeasurements,
}

/// What [`analyse_and_plan`] measured. Levels are mean-square dBFS (a full-scale sine is
/// -3 dBFS); `None` where there was nothing to measure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupMeasurements {
    /// Largest DC offset of a channel, dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_offset_dbfs: Option<f64>,
    /// Level of the loud passages (95th percentile of 100 ms windows), dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loud_dbfs: Option<f64>,
    /// Level of the quiet passages (10th percentile of the 100 ms windows that are not digital
    /// silence), dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_dbfs: Option<f64>,
    /// Share of the track that is digital silence, 0-1.
    #[serde(default)]
    pub silent_share: f64,
    /// Steady noise floor (all bands), dBFS, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor_dbfs: Option<f64>,
    /// Precise mains frequency of the strongest hum candidate, Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum_hz: Option<f64>,
    /// Level of that hum (its harmonics that stand out), dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum_dbfs: Option<f64>,
    /// How far its most prominent harmonic stands above its neighbourhood, dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum_above_neighbours_db: Option<f64>,
    /// Evidence for hum of the strongest candidate (see [`hum_score`]), dB; hum is removed
    /// from [`HUM_MIN_SCORE`] up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum_score_db: Option<f64>,
    /// How much the hum changed over the track (see
    /// [`mixdown_dsp::cleanup::hum::HumCandidate::wander`]); a steady hum gets narrower notches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hum_wander: Option<f64>,
}

/// The reason given when nothing is needed.
pub const NOTHING_NEEDED: &str = "no clean-up needed";
/// The reason given for a track that cannot be analysed.
pub const NOT_A_NUMBER: &str = "no clean-up: the track has samples that are not numbers";

/// A DC offset above this is removed here, dBFS (10 % of full scale: a recording fault). A
/// smaller one is only measured: the channel strip's role high-pass (20 Hz or more) removes it
/// anyway, and a synthesised or sampled stem often sits a little off zero without anything
/// being wrong with it.
pub const DC_MIN_DBFS: f64 = -20.0;
/// High-pass used to remove a DC offset, Hz.
pub const DC_HIGHPASS_HZ: f64 = 10.0;
/// A harmonic adds to the evidence for hum by its prominence above this, dB.
pub const HUM_PROMINENCE_DB: f64 = 12.0;
/// ... if it stands this far above the other lines near it, dB.
pub const HUM_DOMINANCE_DB: f64 = 3.0;
/// ... by at most this much, dB.
pub const HUM_SCORE_CAP_DB: f64 = 25.0;
/// Evidence needed for hum (sum over the first six harmonics), dB.
pub const HUM_MIN_SCORE: f64 = 28.0;
/// Hum quieter than this is left alone, dBFS ...
pub const HUM_MIN_DBFS: f64 = -80.0;
/// ... and so is hum this far below the track's quiet passages (the 10th percentile of its
/// 100 ms windows; where hum is exposed, that is the hum itself), dB: inaudible, and the faint
/// lines that steady tones beating near a harmonic leave in the analysis sit there.
pub const HUM_BELOW_QUIET_DB: f64 = 40.0;
/// Harmonics removed at least (the harmonics of real hum reach well up; a notch where there is
/// none costs nothing audible).
pub const HUM_MIN_HARMONICS: u32 = 6;
/// Notch width of the hum remover, Hz (about 2 s of smoothing): follows a mains frequency that
/// wanders by a few hundredths of a hertz.
pub const HUM_WIDTH_HZ: f64 = 0.48;
/// Notch width for a hum that holds steady over the track, Hz (about 16 s of smoothing): takes
/// less of the music under the hum with it.
pub const HUM_STEADY_WIDTH_HZ: f64 = 0.06;
/// A hum is steady when its estimates over each quarter of the track differ from the whole by at
/// most this much (relative amplitude).
pub const HUM_STEADY_WANDER: f64 = 0.1;
/// A band is steady when its spread is at most this much above that of pure noise, dB.
pub const STEADY_TOLERANCE_DB: f64 = 2.0;
/// A band's floor lies on the noise spectrum within this, dB.
pub const HISS_ON_DB: f64 = 2.0;
/// Hiss needs this many bands on the noise spectrum ...
pub const HISS_MIN_ON_BANDS: usize = 12;
/// ... of which this many steady,
pub const HISS_MIN_STEADY_ON: usize = 2;
/// ... or this many steady bands on it (music that never rests leaves only a few bands, often
/// the highest, to the noise).
pub const HISS_MIN_STEADY_ALONE: usize = 5;
/// ... or this many bands on it, steady or not (a noise under music that never quite rests,
/// such as a hi-hat playing all through: every band's floor is the noise, but none is still).
pub const HISS_MIN_ON_ALONE: usize = 20;
/// Largest scatter of those bands around the noise spectrum, dB RMS.
pub const HISS_MAX_SCATTER_DB: f64 = 1.25;
/// Slope of the noise spectrum's density, dB per octave: from steeper than pink ...
pub const HISS_MIN_SLOPE: f64 = -6.0;
/// ... to rising (white is 0).
pub const HISS_MAX_SLOPE: f64 = 3.0;
/// Hiss quieter than this is left alone, dBFS.
pub const HISS_MIN_DBFS: f64 = -80.0;
/// A floor closer than this to the loud passages is the music, not hiss, dB.
pub const HISS_BELOW_MUSIC_DB: f64 = 20.0;
/// Cut applied where there is only noise, dB.
pub const DENOISE_FLOOR_DB: f64 = -25.0;
/// A bin opens this far above the noise profile, dB.
pub const DENOISE_THRESHOLD_DB: f64 = 4.0;
/// Release of the denoiser, dB/s.
pub const DENOISE_RELEASE_DB_PER_S: f64 = 200.0;
/// The gate is used when at least this share of the (non-silent) track sits within
/// [`GATE_GAP_DB`] of the noise floor.
pub const GATE_MIN_GAP_SHARE: f64 = 0.03;
/// How close to the noise floor a 100 ms window must be to count as a pause, dB.
pub const GATE_GAP_DB: f64 = 3.0;
/// Gate threshold relative to the noise floor, dB.
pub const GATE_OFFSET_DB: f64 = 0.0;

/// Frames used by the noise measurement.
const NOISE_FRAMES: usize = 600;

/// Level statistics of 100 ms windows (channel-mean power; digital silence excluded).
struct WindowLevels {
    /// dBFS of each window that is not digital silence, in time order.
    levels: Vec<f64>,
    silent_share: f64,
    /// Mean of each channel (its DC offset).
    means: Vec<f64>,
    /// Some sample is NaN or infinite.
    non_finite: bool,
}

/// (Σ v, Σ v²) in f64 with eight independent partial sums (vectorises).
fn sum_and_squares(x: &[f32]) -> (f64, f64) {
    let mut s1 = [0.0f64; 8];
    let mut s2 = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let v = f64::from(c[i]);
            s1[i] += v;
            s2[i] += v * v;
        }
    }
    let mut a: f64 = s1.iter().sum();
    let mut b: f64 = s2.iter().sum();
    for &v in chunks.remainder() {
        let v = f64::from(v);
        a += v;
        b += v * v;
    }
    (a, b)
}

fn window_levels(track: &AudioBuffer) -> WindowLevels {
    let n = track.frames();
    let w = ((track.sample_rate as usize) / 10).max(1);
    let nch = track.num_channels().max(1) as f64;
    let mut levels = Vec::with_capacity(n / w + 1);
    let mut sums = vec![0.0f64; track.num_channels()];
    let mut silent = 0usize;
    let mut total = 0usize;
    let mut non_finite = false;
    let mut start = 0;
    while start < n {
        let end = (start + w).min(n);
        let mut p = 0.0f64;
        for (ch, sum) in track.channels.iter().zip(sums.iter_mut()) {
            let (a, b) = sum_and_squares(&ch[start..end]);
            *sum += a;
            p += b;
        }
        total += 1;
        // f64 squares of f32 samples neither overflow nor underflow: p is finite iff every
        // sample is, and p > 0 iff a sample is not zero
        non_finite |= !p.is_finite();
        if p > 0.0 && p.is_finite() {
            levels.push(10.0 * (p / ((end - start) as f64 * nch)).max(1e-30).log10());
        } else {
            silent += 1;
        }
        start = end;
    }
    WindowLevels {
        levels,
        silent_share: if total > 0 {
            silent as f64 / total as f64
        } else {
            1.0
        },
        means: sums.iter().map(|s| s / n.max(1) as f64).collect(),
        non_finite,
    }
}

fn db(p: f64) -> f64 {
    10.0 * p.max(1e-30).log10()
}

fn undb(d: f64) -> f64 {
    10f64.powf(d / 10.0)
}

/// The hum found in a track: parameters, level, prominence.
struct FoundHum {
    params: HumParams,
    level_dbfs: f64,
    prominence_db: f64,
    counted: usize,
    wander: Option<f64>,
}

/// Evidence for hum in a candidate: the prominence above [`HUM_PROMINENCE_DB`] of each of the
/// first harmonics that dominates its neighbourhood, each capped at [`HUM_SCORE_CAP_DB`], summed.
pub fn hum_score(cand: &HumCandidate) -> f64 {
    cand.peaks
        .iter()
        .filter(|p| p.harmonic <= hum::SCAN_HARMONICS && p.dominance_db >= HUM_DOMINANCE_DB)
        .map(|p| (p.prominence_db - HUM_PROMINENCE_DB).clamp(0.0, HUM_SCORE_CAP_DB))
        .sum()
}

/// Whether one measured harmonic of a detected hum is there (and so counts in its level).
fn hum_present(p: &HumPeak) -> bool {
    p.prominence_db >= HUM_PROMINENCE_DB && p.dominance_db >= HUM_DOMINANCE_DB
}

/// The hum scan of a track and the best candidate's score (`None` if no candidate).
fn find_hum(
    track: &AudioBuffer,
    quiet_dbfs: f64,
) -> (Option<FoundHum>, Option<(HumCandidate, f64)>) {
    let views: Vec<&[f32]> = track.channels.iter().map(|c| c.as_slice()).collect();
    let an = HumAnalyser::new(&views, track.sample_rate);
    let scored = |m: f64| {
        let c = an.candidate(m);
        let s = hum_score(&c);
        (c, s)
    };
    let (at50, at60) = rayon::join(|| scored(50.0), || scored(60.0));
    let best = [at50, at60].into_iter().max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((cand, score)) = best.clone() else {
        return (None, None);
    };
    if score < HUM_MIN_SCORE {
        return (None, best);
    }
    let full = an.harmonics(
        cand.mains_hz,
        cand.fundamental_hz,
        hum::MAX_HARMONICS as u32,
    );
    let present: Vec<&HumPeak> = full.peaks.iter().filter(|p| hum_present(p)).collect();
    let level = db(present.iter().map(|p| undb(p.level_dbfs)).sum());
    if level < HUM_MIN_DBFS || level < quiet_dbfs - HUM_BELOW_QUIET_DB {
        return (None, best);
    }
    let highest = present.iter().map(|p| p.harmonic).max().unwrap_or(1);
    let prominence = present
        .iter()
        .map(|p| p.prominence_db)
        .fold(f64::NEG_INFINITY, f64::max);
    let found = FoundHum {
        params: HumParams {
            fundamental_hz: (full.fundamental_hz * 1e5).round() / 1e5,
            harmonics: highest.max(HUM_MIN_HARMONICS),
            width_hz: hum_width(full.wander),
        },
        level_dbfs: level,
        prominence_db: prominence,
        counted: present.len(),
        wander: full.wander,
    };
    (Some(found), best)
}

/// Notch width for a hum of the given wander (see [`HumCandidate::wander`]).
fn hum_width(wander: Option<f64>) -> f64 {
    if wander.is_some_and(|w| w <= HUM_STEADY_WANDER) {
        HUM_STEADY_WIDTH_HZ
    } else {
        HUM_WIDTH_HZ
    }
}

/// The hum scan of a track, for tools that calibrate the thresholds.
pub fn hum_diagnostics(track: &AudioBuffer) -> HumScan {
    let views: Vec<&[f32]> = track.channels.iter().map(|c| c.as_slice()).collect();
    hum::scan(&views, track.sample_rate)
}

/// A steady broadband noise floor found in the band statistics.
struct FoundHiss {
    profile: NoiseProfile,
    total_dbfs: f64,
    /// Bands whose floor lies on the fitted noise spectrum.
    on_bands: usize,
    /// ... of which steady.
    steady_bands: usize,
}

/// Line (intercept, slope) through points by least squares.
fn fit_line(p: &[(f64, f64)]) -> (f64, f64) {
    let n = p.len().max(1) as f64;
    let mx = p.iter().map(|q| q.0).sum::<f64>() / n;
    let my = p.iter().map(|q| q.1).sum::<f64>() / n;
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    let slope = if sxx > 1e-9 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// Fits the hiss profile, or says why there is none (for diagnostics). `exclude` marks bands
/// not to use (those that hold hum harmonics).
///
/// Every band's floor (the low percentile of its power over the track) is either the noise,
/// where the band rests at least a tenth of the time, or above it, where music always sounds.
/// So the noise spectrum is the lower envelope of the floors: a straight line of spectral
/// density over log-frequency is fitted to them, dropping those above it, until it settles. It
/// is hiss when the floors of many bands lie on that line (music floors are as irregular as
/// the music), some of them steady like noise, and the line is smooth and not too steep.
fn find_hiss(stats: &NoiseStats, sample_rate: u32, exclude: &[bool]) -> Result<FoundHiss, String> {
    let nb = stats.band_hz.len();
    if stats.frames < 20 {
        return Err("too few frames".into());
    }
    let width_db = |b: usize| {
        let (lo, hi) = noise::band_edges(b, sample_rate);
        db((hi - lo).max(1e-9))
    };
    let x = |b: usize| (stats.band_hz[b] / 1000.0).log2();
    let valid: Vec<usize> = (0..nb)
        .filter(|&b| {
            stats.bins[b] >= 2
                && stats.floor_dbfs[b] > -200.0
                && !exclude.get(b).copied().unwrap_or(false)
        })
        .collect();
    if valid.len() < HISS_MIN_ON_BANDS {
        return Err(format!("{} bands to measure", valid.len()));
    }
    let steady = |b: usize| stats.spread_db[b] <= stats.noise_spread_db[b] + STEADY_TOLERANCE_DB;
    let dens = |b: usize| stats.floor_dbfs[b] - width_db(b);
    // lower envelope: refit on the bands not above the line, tightening the margin
    let mut kept = valid.clone();
    let mut line = (0.0, 0.0);
    for margin in [8.0, 5.0, HISS_ON_DB, HISS_ON_DB, HISS_ON_DB, HISS_ON_DB] {
        let pts: Vec<(f64, f64)> = kept.iter().map(|&b| (x(b), dens(b))).collect();
        if pts.len() < 2 {
            return Err("no noise spectrum under the music".into());
        }
        line = fit_line(&pts);
        let next: Vec<usize> = valid
            .iter()
            .copied()
            .filter(|&b| dens(b) - (line.0 + line.1 * x(b)) <= margin)
            .collect();
        if next == kept && margin <= HISS_ON_DB {
            break;
        }
        kept = next;
    }
    let (a, slope) = line;
    let resid = |b: usize| dens(b) - (a + slope * x(b));
    let on: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|&b| resid(b).abs() <= HISS_ON_DB)
        .collect();
    let steady_on = on.iter().filter(|&&b| steady(b)).count();
    let scatter =
        (on.iter().map(|&b| resid(b).powi(2)).sum::<f64>() / on.len().max(1) as f64).sqrt();
    let enough = (on.len() >= HISS_MIN_ON_BANDS && steady_on >= HISS_MIN_STEADY_ON)
        || steady_on >= HISS_MIN_STEADY_ALONE
        || on.len() >= HISS_MIN_ON_ALONE;
    if !enough {
        return Err(format!(
            "{} bands on a noise spectrum, {} of them steady",
            on.len(),
            steady_on
        ));
    }
    if scatter > HISS_MAX_SCATTER_DB {
        return Err(format!("scatter {scatter:.1} dB"));
    }
    if !(HISS_MIN_SLOPE..=HISS_MAX_SLOPE).contains(&slope) {
        return Err(format!("slope {slope:.1} dB/oct"));
    }
    let band_dbfs: Vec<f64> = (0..nb)
        .map(|b| {
            let model = a + slope * x(b) + width_db(b);
            let measured = stats.floor_dbfs[b];
            if on.contains(&b) {
                measured
            } else if measured > -200.0 && !exclude.get(b).copied().unwrap_or(false) {
                model.min(measured)
            } else {
                model
            }
        })
        .map(|d| (d * 10.0).round() / 10.0)
        .collect();
    let profile = NoiseProfile { band_dbfs };
    let total_dbfs = profile.total_dbfs().unwrap_or(-300.0);
    Ok(FoundHiss {
        profile,
        total_dbfs,
        on_bands: on.len(),
        steady_bands: steady_on,
    })
}

/// Diagnostics of the hiss search, for tools that calibrate the thresholds.
pub fn hiss_diagnostics(track: &AudioBuffer) -> (NoiseStats, Result<(f64, usize), String>) {
    let views: Vec<&[f32]> = track.channels.iter().map(|c| c.as_slice()).collect();
    let stats = noise::measure(&views, track.sample_rate, NOISE_FRAMES);
    let exclude = vec![false; stats.band_hz.len()];
    let r = find_hiss(&stats, track.sample_rate, &exclude).map(|h| (h.total_dbfs, h.on_bands));
    (stats, r)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Measures a track and decides what clean-up it needs.
pub fn analyse_and_plan(track: &AudioBuffer) -> CleanupPlan {
    let mut plan = CleanupPlan {
        why: Vec::new(),
        dc: None,
        hum: None,
        denoise: None,
        gate: None,
        measured: CleanupMeasurements::default(),
    };
    let sr = track.sample_rate;
    if track.frames() == 0 || sr == 0 || track.num_channels() == 0 {
        plan.why.push(NOTHING_NEEDED.into());
        return plan;
    }
    let wl = window_levels(track);
    if wl.non_finite {
        plan.why.push(NOT_A_NUMBER.into());
        return plan;
    }
    let m = &mut plan.measured;
    m.silent_share = round1(wl.silent_share * 1000.0) / 1000.0;
    m.loud_dbfs = percentile(&wl.levels, 0.95).map(round1);
    m.quiet_dbfs = percentile(&wl.levels, 0.10).map(round1);
    if wl.levels.is_empty() {
        plan.why.push(NOTHING_NEEDED.into());
        return plan;
    }
    let loud = m.loud_dbfs.unwrap_or(-300.0);

    // DC offset
    let dc = wl.means.iter().fold(0.0f64, |acc, &v| acc.max(v.abs()));
    m.dc_offset_dbfs = (dc > 0.0).then(|| round1(20.0 * dc.log10()));
    if let Some(d) = m.dc_offset_dbfs.filter(|&d| d >= DC_MIN_DBFS) {
        plan.dc = Some(DcParams {
            highpass_hz: DC_HIGHPASS_HZ,
        });
        plan.why.push(format!(
            "DC offset of {d:.0} dBFS: removed with a {DC_HIGHPASS_HZ:.0} Hz high-pass"
        ));
    }

    // hum
    let quiet = m.quiet_dbfs.unwrap_or(-300.0);
    let (found, strongest) = find_hum(track, quiet);
    if let Some((c, score)) = &strongest {
        m.hum_hz = Some((c.fundamental_hz * 1e3).round() / 1e3);
        m.hum_score_db = Some(round1(*score));
        m.hum_above_neighbours_db = c
            .peaks
            .iter()
            .map(|p| p.prominence_db)
            .reduce(f64::max)
            .map(round1);
    }
    if let Some(h) = &found {
        m.hum_hz = Some(h.params.fundamental_hz);
        m.hum_dbfs = Some(round1(h.level_dbfs));
        m.hum_above_neighbours_db = Some(round1(h.prominence_db));
        m.hum_wander = h.wander.map(|w| (w * 1000.0).round() / 1000.0);
        plan.why.push(format!(
            "mains hum at {:.2} Hz ({} harmonics stand out, {:.0} dBFS, up to {:.0} dB above \
             their surroundings): removed with {} notches {} Hz wide",
            h.params.fundamental_hz,
            h.counted,
            h.level_dbfs,
            h.prominence_db,
            h.params.harmonics,
            h.params.width_hz
        ));
        plan.hum = Some(h.params.clone());
    }

    // hiss; the bands that hold the harmonics of a hum found are left to the fitted spectrum
    let views: Vec<&[f32]> = track.channels.iter().map(|c| c.as_slice()).collect();
    let stats = noise::measure(&views, sr, NOISE_FRAMES);
    let exclude: Vec<bool> = (0..stats.band_hz.len())
        .map(|b| {
            plan.hum.as_ref().is_some_and(|h| {
                let (lo, hi) = noise::band_edges(b, sr);
                (1..=h.harmonics).any(|k| {
                    let f = k as f64 * h.fundamental_hz;
                    f >= lo * 0.9 && f <= hi * 1.1
                })
            })
        })
        .collect();
    if let Ok(h) = find_hiss(&stats, sr, &exclude) {
        let m = &mut plan.measured;
        let below = loud - h.total_dbfs;
        if h.total_dbfs >= HISS_MIN_DBFS && below >= HISS_BELOW_MUSIC_DB {
            m.noise_floor_dbfs = Some(round1(h.total_dbfs));
            plan.why.push(format!(
                "steady hiss at {:.0} dBFS ({:.0} dB below the loud passages; {} bands sit on its \
                 spectrum, {} of them steady): spectral noise reduction, {:.0} dB where there is \
                 only noise",
                h.total_dbfs, below, h.on_bands, h.steady_bands, DENOISE_FLOOR_DB
            ));
            plan.denoise = Some(DenoiseParams {
                profile: h.profile,
                floor_db: DENOISE_FLOOR_DB,
                threshold_db: DENOISE_THRESHOLD_DB,
                release_db_per_s: DENOISE_RELEASE_DB_PER_S,
            });
            let gaps = wl
                .levels
                .iter()
                .filter(|&&l| l <= h.total_dbfs + GATE_GAP_DB)
                .count() as f64
                / wl.levels.len() as f64;
            if gaps >= GATE_MIN_GAP_SHARE {
                let thr = round1(h.total_dbfs + GATE_OFFSET_DB);
                plan.why.push(format!(
                    "{:.0} % of the track is pauses at the noise floor: gate below {:.0} dBFS",
                    gaps * 100.0,
                    thr
                ));
                plan.gate = Some(GateParams {
                    threshold_dbfs: thr,
                    range_db: -40.0,
                    ratio: 4.0,
                    attack_ms: 2.0,
                    hold_ms: 60.0,
                    release_ms: 150.0,
                });
            }
        }
    } else {
        plan.measured.noise_floor_dbfs = None;
    }
    if plan.why.is_empty() {
        plan.why.push(NOTHING_NEEDED.into());
    }
    plan
}

/// Renders a plan onto a track, in place: DC, hum, hiss, gate, in that order. Deterministic;
/// a plan without steps leaves the track untouched.
pub fn apply(track: &mut AudioBuffer, plan: &CleanupPlan) {
    let sr = track.sample_rate;
    let nch = track.num_channels();
    if track.frames() == 0 || sr == 0 || nch == 0 {
        return;
    }
    if let Some(p) = &plan.dc {
        let mut views: Vec<&mut [f32]> = track
            .channels
            .iter_mut()
            .map(|c| c.as_mut_slice())
            .collect();
        DcBlocker::new(p, sr, nch).process_buffer(&mut views);
    }
    if let Some(p) = &plan.hum {
        let mut r = HumRemover::new(p, sr);
        for ch in &mut track.channels {
            r.process(ch);
        }
    }
    if let Some(p) = &plan.denoise {
        let mut views: Vec<&mut [f32]> = track
            .channels
            .iter_mut()
            .map(|c| c.as_mut_slice())
            .collect();
        Denoiser::new(p, sr, nch).process_buffer(&mut views);
    }
    if let Some(p) = &plan.gate {
        let mut views: Vec<&mut [f32]> = track
            .channels
            .iter_mut()
            .map(|c| c.as_mut_slice())
            .collect();
        Gate::new(p, sr, nch).process_buffer(&mut views);
    }
}
