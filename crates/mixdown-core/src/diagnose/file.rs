//! Checks on one finished stereo (or mono) file: clipping and inter-sample overs, over-
//! compression and over-limiting, headroom (judged as a mix), loudness on each platform,
//! tonal balance, and the stereo image. Background noise and reverb live in
//! [`super::noise`] and [`super::reverb`].
//!
//! Every check reads [`FileFacts`], measured once: the analysis of `crate::analysis` plus the
//! few figures only a diagnosis needs (runs of clipped samples, where the true peak goes over,
//! how often the peaks sit pinned at the ceiling, the mono fold-down's loudness).

use super::finding::{grade_above, grade_below, ranges_from_instants, round3};
use super::{Finding, Severity};
use crate::analysis::{self, Analysis};
use crate::AudioBuffer;
use mixdown_dsp::loudness::{self, Loudness};
use mixdown_dsp::oversample::{Scratch, TruePeakDetector};
use serde::{Deserialize, Serialize};

/// How a file is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JudgeAs {
    /// A pre-master mix: headroom expected, no limiting, loudness does not matter yet.
    Mix,
    /// A finished master: delivery loudness and true peak matter.
    Master,
}

impl JudgeAs {
    pub fn name(self) -> &'static str {
        match self {
            JudgeAs::Mix => "mix",
            JudgeAs::Master => "master",
        }
    }
}

/// A sample at least this close to full scale counts as clipped (0.0003 dB: above any
/// 24-bit value a limiter would choose as its ceiling).
const FULL_SCALE: f32 = 0.99997;
/// A true peak counts as over the platforms' -1 dBTP only beyond this (a master limited to
/// exactly -1 dBTP reads -1.00 on one meter and -0.998 on another), dB.
const NEAR_TOLERANCE_DB: f64 = 0.01;
/// Consecutive samples at full scale that make a clipped run.
pub const CLIP_RUN: usize = 3;
/// Consecutive equal samples near the file's own peak that make a flat top (clipping that was
/// turned down afterwards).
pub const FLAT_RUN: usize = 4;

/// Everything the file checks read, measured once.
#[derive(Clone, Debug)]
pub struct FileFacts {
    pub analysis: Analysis,
    /// Start times (s) of runs of [`CLIP_RUN`] or more samples at full scale.
    pub clip_runs_s: Vec<f64>,
    /// Start times (s) of runs of [`FLAT_RUN`] or more identical samples near the peak, below
    /// full scale.
    pub flat_runs_s: Vec<f64>,
    /// Times (s) of the 10 ms chunks whose true peak is above 0 dBTP.
    pub overs_s: Vec<f64>,
    /// Share of the 400 ms blocks with sound whose peak sits within 0.2 dB of the file's peak.
    pub pinned_share: f64,
    /// Stereo loudness minus the mono fold-down's ((L+R)/2) loudness, less the 3.01 LU that
    /// identical channels lose: how much is lost in mono beyond the expected. LU.
    pub mono_loss_lu: Option<f64>,
    /// Short-term loudness (3 s) every 100 ms, LUFS.
    pub short_term: Vec<f64>,
}

impl FileFacts {
    pub fn measure(buf: &AudioBuffer) -> FileFacts {
        let an = analysis::analyse(buf);
        Self::with_analysis(buf, an)
    }

    /// The facts, reusing an analysis already made of this buffer.
    pub fn with_analysis(buf: &AudioBuffer, an: Analysis) -> FileFacts {
        let sr = buf.sample_rate.max(1);
        let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
        let peak = views
            .iter()
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, &v| m.max(v.abs()));
        let ((clip_runs_s, flat_runs_s), (overs_s, mono_loss_lu)) = rayon::join(
            || runs(&views, sr, peak),
            || {
                rayon::join(
                    || overs(&views, sr),
                    || mono_loss(&views, sr, an.loudness.integrated_lufs),
                )
            },
        );
        let pinned_share = pinned(&views, sr, peak);
        let short_term = loudness::short_term_series(&an.loudness_subblocks);
        FileFacts {
            analysis: an,
            clip_runs_s,
            flat_runs_s,
            overs_s,
            pinned_share,
            mono_loss_lu,
            short_term,
        }
    }
}

/// Runs of clipped samples (at full scale) and of flat tops (identical samples near the peak).
fn runs(views: &[&[f32]], sr: u32, peak: f32) -> (Vec<f64>, Vec<f64>) {
    let mut clips = Vec::new();
    let mut flats = Vec::new();
    // flat tops only where the file's peak is well above the noise, and below full scale
    let flat_floor = if (0.25..FULL_SCALE).contains(&peak) {
        peak * 0.98
    } else {
        f32::INFINITY
    };
    for ch in views {
        let mut i = 0;
        let n = ch.len();
        while i < n {
            let a = ch[i].abs();
            if a >= FULL_SCALE {
                let start = i;
                while i < n && ch[i].abs() >= FULL_SCALE {
                    i += 1;
                }
                if i - start >= CLIP_RUN {
                    clips.push(start as f64 / sr as f64);
                }
                continue;
            }
            if a >= flat_floor {
                let start = i;
                let v = ch[i];
                while i < n && ch[i] == v {
                    i += 1;
                }
                if i - start >= FLAT_RUN {
                    flats.push(start as f64 / sr as f64);
                }
                continue;
            }
            i += 1;
        }
    }
    clips.sort_by(|a, b| a.total_cmp(b));
    flats.sort_by(|a, b| a.total_cmp(b));
    (clips, flats)
}

/// Times of 10 ms chunks whose true peak is over 0 dBTP.
fn overs(views: &[&[f32]], sr: u32) -> Vec<f64> {
    let chunk = (sr as usize / 100).max(1);
    let det = TruePeakDetector::new(sr);
    let mut scratch = Scratch::default();
    let mut worst: Vec<f32> = Vec::new();
    for ch in views {
        let mut p = Vec::new();
        // only chunks whose samples come near full scale can go over it
        det.chunk_peaks_pruned(ch, chunk, 0.7, &mut p, &mut scratch);
        if worst.len() < p.len() {
            worst.resize(p.len(), 0.0);
        }
        for (w, v) in worst.iter_mut().zip(&p) {
            *w = w.max(*v);
        }
    }
    worst
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > 1.0)
        .map(|(c, _)| (c * chunk) as f64 / sr as f64)
        .collect()
}

/// See [`FileFacts::mono_loss_lu`].
fn mono_loss(views: &[&[f32]], sr: u32, stereo_lufs: Option<f64>) -> Option<f64> {
    let [l, r] = views else {
        return None;
    };
    let mono: Vec<f32> = l.iter().zip(r.iter()).map(|(a, b)| 0.5 * (a + b)).collect();
    let m = Loudness::measure(&[&mono], sr).integrated_lufs;
    match (stereo_lufs, m) {
        (Some(s), Some(m)) => Some(round3(s - m - 3.0103)),
        // the fold-down cancels to below the gate: everything is lost
        (Some(_), None) => Some(60.0),
        _ => None,
    }
}

/// Share of sounding 400 ms blocks whose sample peak is within 0.2 dB of the file's peak.
fn pinned(views: &[&[f32]], sr: u32, peak: f32) -> f64 {
    if peak <= 0.0 {
        return 0.0;
    }
    let block = (sr as usize * 2 / 5).max(1);
    let near = peak * 10f32.powf(-0.2 / 20.0);
    let quiet = peak * 0.1; // blocks 20 dB under the peak do not count
    let n = views.first().map_or(0, |c| c.len());
    let (mut sounding, mut at) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        let end = (i + block).min(n);
        let p = views
            .iter()
            .map(|c| c[i..end].iter().fold(0.0f32, |m, &v| m.max(v.abs())))
            .fold(0.0f32, f32::max);
        if p >= quiet {
            sounding += 1;
            if p >= near {
                at += 1;
            }
        }
        i = end;
    }
    if sounding == 0 {
        0.0
    } else {
        at as f64 / sounding as f64
    }
}

/// All file checks.
pub fn check(facts: &FileFacts, judge: JudgeAs) -> Vec<Finding> {
    let mut out = Vec::new();
    clipping(facts, &mut out);
    true_peak(facts, judge, &mut out);
    dynamics(facts, judge, &mut out);
    if judge == JudgeAs::Mix {
        headroom(facts, &mut out);
    } else {
        platforms(facts, &mut out);
    }
    tonal(facts, &mut out);
    stereo(facts, &mut out);
    out
}

fn dur(f: &FileFacts) -> f64 {
    f.analysis.duration_s
}

fn clipping(f: &FileFacts, out: &mut Vec<Finding>) {
    let n = f.clip_runs_s.len();
    if n > 0 {
        let (sev, thr) = grade_above(n as f64, 1.0, 10.0).unwrap_or((Severity::Warning, 1.0));
        out.push(
            Finding::new(
                "clipping",
                sev,
                format!("Clipping: {n} run(s) of samples stuck at full scale"),
                n as f64,
                thr,
                "runs",
            )
            .times(ranges_from_instants(&f.clip_runs_s, 1.0, 0.05, dur(f), 20))
            .meaning(
                "The waveform hit the top of the scale and was cut flat: a hard, crackling \
                 distortion on the loudest hits.",
            )
            .fix(
                "Lower the level before the last stage (or the mix bus) so peaks stay under \
                 full scale; if it is in a recording, re-record or use a declipper.",
            ),
        );
    }
    let m = f.flat_runs_s.len();
    if m >= 3 {
        let (sev, thr) = grade_above(m as f64, 3.0, 30.0).unwrap_or((Severity::Warning, 3.0));
        out.push(
            Finding::new(
                "clipping.flat_tops",
                sev,
                format!("Flat-topped peaks: {m} run(s) of identical samples at the peak level"),
                m as f64,
                thr,
                "runs",
            )
            .times(ranges_from_instants(&f.flat_runs_s, 1.0, 0.05, dur(f), 20))
            .meaning(
                "The peaks were clipped (or hard-limited) and the whole file turned down \
                 afterwards: the distortion stays even though nothing reaches full scale now.",
            )
            .fix("Go back to the version before the clipping stage and lower its input."),
        );
    }
}

fn true_peak(f: &FileFacts, judge: JudgeAs, out: &mut Vec<Finding>) {
    let Some(tp) = f.analysis.true_peak_dbtp else {
        return;
    };
    if let Some((sev, thr)) = grade_above(tp, 0.0, 1.0).filter(|_| tp > 0.0) {
        out.push(
            Finding::new(
                "true_peak.over",
                sev,
                format!("Inter-sample overs: the true peak reaches {tp:+.2} dBTP"),
                tp,
                thr,
                "dBTP",
            )
            .times(ranges_from_instants(&f.overs_s, 1.0, 0.05, dur(f), 20))
            .meaning(
                "Between the samples the waveform goes above full scale: a converter or a \
                 lossy encoder (MP3, AAC, Ogg) will clip there.",
            )
            .fix("Use a true-peak limiter with its ceiling at -1 dBTP (mixdown master does)."),
        );
    } else if judge == JudgeAs::Master && tp > -1.0 + NEAR_TOLERANCE_DB {
        out.push(
            Finding::new(
                "true_peak.near",
                Severity::Info,
                format!("True peak {tp:+.2} dBTP, above the -1 dBTP most platforms ask for"),
                tp,
                -1.0,
                "dBTP",
            )
            .meaning(
                "Lossy encoding adds a little to the peaks; with less than 1 dB of room the \
                 encoded file can clip slightly.",
            )
            .fix("For streaming, limit to -1 dBTP."),
        );
    }
}

fn dynamics(f: &FileFacts, judge: JudgeAs, out: &mut Vec<Finding>) {
    let a = &f.analysis;
    let Some(plr) = a.plr_db else {
        return;
    };
    if dur(f) < 10.0 {
        return;
    }
    if let Some((sev, thr)) = grade_below(plr, 8.0, 6.0) {
        out.push(
            Finding::new(
                "dynamics.over_compressed",
                sev,
                format!("Over-compressed: peaks only {plr:.1} dB above the loudness"),
                plr,
                thr,
                "dB",
            )
            .meaning(
                "The peak-to-loudness ratio (PLR) is low: drums lose their punch and the song \
                 sounds flat and tiring. Streaming services turn loud songs down anyway, so the \
                 loudness buys nothing there.",
            )
            .fix(
                "Back off the bus compressor and the limiter: aim for a PLR of 9 dB or more \
                 (about -14 LUFS with peaks at -1 dBTP).",
            ),
        );
    }
    let lra = a.loudness.loudness_range_lu;
    let pinned_pct = 100.0 * f.pinned_share;
    if pinned_pct >= 30.0 && plr < 9.0 {
        let (sev, thr) = grade_above(pinned_pct, 30.0, 60.0).unwrap_or((Severity::Warning, 30.0));
        out.push(
            Finding::new(
                "dynamics.over_limited",
                sev,
                format!(
                    "Over-limited: the peaks sit at the ceiling in {pinned_pct:.0}% of the song"
                ),
                pinned_pct,
                thr,
                "%",
            )
            .meaning(
                "A limiter is holding almost every beat down to the same level: transients are \
                 flattened and the limiter's distortion adds up.",
            )
            .fix("Give the limiter less to do: lower its input gain by 2-4 dB."),
        );
    }
    if let Some(lra) = lra.filter(|&l| l < 2.0) {
        let sev = if judge == JudgeAs::Master && plr < 8.0 {
            Severity::Warning
        } else {
            Severity::Info
        };
        out.push(
            Finding::new(
                "dynamics.small_range",
                sev,
                format!("Very little loudness variation (loudness range {lra:.1} LU)"),
                lra,
                2.0,
                "LU",
            )
            .meaning(
                "Verses and choruses are almost equally loud. Normal for some dance and metal \
                 productions; in most songs it means the contrast was compressed away.",
            )
            .fix("If the song should breathe, ease off the bus compression or ride the sections."),
        );
    }
    // the short-term loudness flat over the song, with a long song
    if dur(f) >= 30.0 && !f.short_term.is_empty() {
        let st: Vec<f64> = f
            .short_term
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v > -70.0)
            .collect();
        if st.len() > 100 {
            let mean = st.iter().sum::<f64>() / st.len() as f64;
            let sd = (st.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / st.len() as f64).sqrt();
            if sd < 0.8 && plr < 9.0 {
                out.push(
                    Finding::new(
                        "dynamics.flattened",
                        Severity::Warning,
                        format!(
                            "Flattened: the short-term loudness varies by only {sd:.1} LU (std.)"
                        ),
                        sd,
                        0.8,
                        "LU",
                    )
                    .meaning(
                        "From the first bar to the last the song stays at one loudness: heavy \
                         compression and limiting have removed its shape.",
                    )
                    .fix("Ease off the bus compressor and the limiter."),
                );
            }
        }
    }
}

fn headroom(f: &FileFacts, out: &mut Vec<Finding>) {
    let a = &f.analysis;
    if let Some(sp) = a.levels.sample_peak_dbfs {
        if let Some((sev, thr)) = grade_above(sp, -1.0, -0.1) {
            out.push(
                Finding::new(
                    "headroom.none",
                    sev,
                    format!("No headroom for mastering: peaks at {sp:+.1} dBFS"),
                    sp,
                    thr,
                    "dBFS",
                )
                .meaning(
                    "A mix for mastering should leave room above its peaks; at full scale any \
                     EQ boost in mastering clips, and the peaks may already be clipped.",
                )
                .fix("Turn the mix bus down so the peaks sit around -6 dBFS (-3 at most)."),
            );
        }
    }
    let pinned_pct = 100.0 * f.pinned_share;
    if pinned_pct >= 20.0 && a.plr_db.is_some_and(|p| p < 12.0) {
        out.push(
            Finding::new(
                "headroom.already_limited",
                Severity::Warning,
                format!(
                    "Already limited: the peaks sit at one ceiling in {pinned_pct:.0}% of the mix"
                ),
                pinned_pct,
                20.0,
                "%",
            )
            .meaning(
                "A limiter (or clipper) on the mix bus: mastering can only add more limiting \
                 on top, not undo it.",
            )
            .fix("Bounce the mix without the bus limiter for mastering."),
        );
    }
    if let Some(i) = a.loudness.integrated_lufs.filter(|&i| i > -14.0) {
        out.push(
            Finding::new(
                "headroom.mastered_loud",
                Severity::Warning,
                format!("Already as loud as a master: {i:.1} LUFS"),
                i,
                -14.0,
                "LUFS",
            )
            .meaning("A mix this loud has been pushed by bus processing; mastering has nothing left to work with.")
            .fix("Send the mix before the loudness processing, peaks around -6 dBFS."),
        );
    }
}

/// A playback platform's loudness normalisation.
struct Platform {
    name: &'static str,
    lufs: f64,
    /// Whether it raises quiet songs (up to the true-peak room it leaves).
    raises: bool,
}

const PLATFORMS: &[Platform] = &[
    Platform {
        name: "Spotify",
        lufs: -14.0,
        raises: true,
    },
    Platform {
        name: "Apple Music",
        lufs: -16.0,
        raises: true,
    },
    Platform {
        name: "YouTube",
        lufs: -14.0,
        raises: false,
    },
    Platform {
        name: "Tidal / Amazon Music",
        lufs: -14.0,
        raises: false,
    },
    Platform {
        name: "Broadcast (EBU R128)",
        lufs: -23.0,
        raises: true,
    },
];

/// How each platform plays the file: its gain, and the shortfall when it cannot raise it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlatformPlay {
    pub platform: String,
    pub target_lufs: f64,
    /// The gain the platform applies, dB (negative: turned down).
    pub gain_db: f64,
    /// How much quieter than the platform's level it plays (it will not raise it, or only up
    /// to its true-peak room), dB.
    pub quieter_by_db: f64,
    /// Spotify's "loud" setting (-11 LUFS) would run its own limiter on this file.
    pub own_limiter: bool,
}

/// How each platform would play a file of this loudness and true peak.
pub fn platform_plays(lufs: f64, tp_dbtp: f64) -> Vec<PlatformPlay> {
    PLATFORMS
        .iter()
        .map(|p| {
            let want = p.lufs - lufs;
            let gain = if want <= 0.0 {
                want
            } else if p.raises {
                // raised only as far as the true peak stays under -1 dBTP
                want.min((-1.0 - tp_dbtp).max(0.0))
            } else {
                0.0
            };
            PlatformPlay {
                platform: p.name.to_string(),
                target_lufs: p.lufs,
                gain_db: round3(gain),
                quieter_by_db: round3((want - gain).max(0.0)),
                own_limiter: p.name == "Spotify" && tp_dbtp + (-11.0 - lufs) > -1.0,
            }
        })
        .collect()
}

/// The EBU R128 broadcast level, LUFS ...
const BROADCAST_LUFS: f64 = -23.0;
/// ... and its tolerance for programmes that are not live, LU.
const BROADCAST_TOLERANCE_LU: f64 = 0.5;

fn platforms(f: &FileFacts, out: &mut Vec<Finding>) {
    let a = &f.analysis;
    let (Some(i), Some(tp)) = (a.loudness.integrated_lufs, a.true_peak_dbtp) else {
        return;
    };
    let plays = platform_plays(i, tp);
    let summary: Vec<String> = plays
        .iter()
        .map(|p| {
            // no "-0.0"
            let g = if p.gain_db.abs() < 0.05 {
                0.0
            } else {
                p.gain_db
            };
            format!("{} {g:+.1} dB", p.platform)
        })
        .collect();
    out.push(
        Finding::new(
            "loudness.platforms",
            Severity::Info,
            format!(
                "At {i:.1} LUFS the platforms play it at: {}",
                summary.join(", ")
            ),
            i,
            -14.0,
            "LUFS",
        )
        .meaning(
            "Streaming services and broadcasters set every song to one loudness: a louder master \
             is only turned down.",
        )
        .fix("Master for the feel you want; about -14 LUFS and -1 dBTP suits streaming."),
    );
    // music platforms that cannot bring it up to their level (not broadcast: a different world)
    let short: Vec<&PlatformPlay> = plays
        .iter()
        .filter(|p| p.target_lufs > -20.0 && p.quieter_by_db >= 3.0)
        .collect();
    if let Some(worst) = short
        .iter()
        .max_by(|a, b| a.quieter_by_db.total_cmp(&b.quieter_by_db))
    {
        let names: Vec<&str> = short.iter().map(|p| p.platform.as_str()).collect();
        let q = worst.quieter_by_db;
        // a dynamic master a few dB under the services' level is a choice; well under, a mistake
        // (unless it is a broadcast master: on the EBU R128 level, with its true-peak ceiling)
        let broadcast =
            (i - BROADCAST_LUFS).abs() <= BROADCAST_TOLERANCE_LU && tp <= -1.0 + NEAR_TOLERANCE_DB;
        let (sev, thr) = if broadcast {
            (Severity::Info, 3.0)
        } else {
            grade_above(q, 5.0, 10.0).unwrap_or((Severity::Info, 3.0))
        };
        let title = if broadcast {
            format!("A broadcast master (EBU R128, -23 LUFS): right for radio and TV, but {} will play it up to {q:.1} dB quieter than other songs", names.join(", "))
        } else {
            format!(
                "Too quiet for streaming: {} will play it up to {q:.1} dB quieter than other songs",
                names.join(", ")
            )
        };
        out.push(
            Finding::new(
                "loudness.too_quiet",
                sev,
                title,
                q,
                thr,
                "dB",
            )
            .meaning("These services do not raise a quiet song (or only as far as its peaks allow), so it sounds weaker next to others in a playlist.")
            .fix("Master it louder: about -14 LUFS with a true-peak limiter at -1 dBTP (`mixdown master --target streaming`)."),
        );
    }
    if plays.iter().any(|p| p.own_limiter) && i < -11.0 {
        out.push(
            Finding::new(
                "loudness.platform_limiter",
                Severity::Info,
                "Spotify's \"loud\" setting would run its own limiter on this master".to_string(),
                tp + (-11.0 - i),
                -1.0,
                "dBTP",
            )
            .meaning("In that setting Spotify raises songs to -11 LUFS and limits what then goes over -1 dBTP.")
            .fix("Nothing needed for most listeners; a louder master avoids it."),
        );
    }
}

/// Target tonal balance: the median long-term 1/3-octave spectrum of the corpus masters
/// (music only), relative to their mean level from 250 Hz to 4 kHz, dB. From
/// `../shared/corpus/masters` (15 songs, many styles), measured with mixdown's analysis.
const TARGET_CURVE: &[(f64, f64)] = &[
    (25.0, -16.3),
    (31.5, -12.8),
    (40.0, -5.6),
    (50.0, -1.7),
    (63.0, 2.7),
    (80.0, 4.0),
    (100.0, 4.8),
    (125.0, 4.8),
    (160.0, 4.9),
    (200.0, 4.1),
    (250.0, 4.4),
    (315.0, 3.4),
    (400.0, 3.9),
    (500.0, 3.2),
    (630.0, 3.0),
    (800.0, 1.3),
    (1000.0, -0.1),
    (1250.0, -0.3),
    (1600.0, -1.8),
    (2000.0, -2.4),
    (2500.0, -2.4),
    (3150.0, -3.3),
    (4000.0, -6.3),
    (5000.0, -8.9),
    (6300.0, -10.9),
    (8000.0, -11.9),
    (10000.0, -14.2),
    (12500.0, -14.7),
    (16000.0, -16.5),
];

fn target_at(hz: f64) -> f64 {
    let (mut best, mut dist) = (0.0, f64::INFINITY);
    for &(f, v) in TARGET_CURVE {
        let d = (f.ln() - hz.ln()).abs();
        if d < dist {
            dist = d;
            best = v;
        }
    }
    best
}

/// A tonal-balance check: a band range, which way is wrong, thresholds (public so that an
/// evaluation can plant EQ mistakes of a known strength against them).
pub struct ToneRule {
    pub rule: &'static str,
    /// The band range, Hz.
    pub lo: f64,
    pub hi: f64,
    /// true: too much is the mistake; false: too little.
    pub excess: bool,
    /// Deviation from the target (see [`tone_deviation`]) for a warning and a problem, dB.
    pub warn: f64,
    pub problem: f64,
    pub title: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

/// The tonal checks, in their order.
pub const TONE_RULES: &[ToneRule] = &[
    ToneRule {
        rule: "tonal.low_end",
        lo: 40.0,
        hi: 100.0,
        excess: true,
        warn: 12.0,
        problem: 18.0,
        title: "Too much low end",
        meaning: "The sub and bass region is far louder than in typical masters: the mix booms on big systems and the limiter spends its work on the bass.",
        fix: "Cut or high-pass the low end of the tracks that do not need it; keep one owner per low band (kick or bass).",
    },
    ToneRule {
        rule: "tonal.mud",
        lo: 180.0,
        hi: 450.0,
        excess: true,
        warn: 10.0,
        problem: 14.0,
        title: "Muddy low mids",
        meaning: "Too much 200-400 Hz: instruments blur into each other and the mix sounds thick and unclear.",
        fix: "A gentle cut (2-4 dB) around 250-350 Hz on guitars, keys and pads.",
    },
    ToneRule {
        rule: "tonal.boxy",
        lo: 450.0,
        hi: 1000.0,
        excess: true,
        warn: 10.0,
        problem: 14.0,
        title: "Boxy mids",
        meaning: "Too much 500 Hz-1 kHz: a hollow, 'cardboard' sound.",
        fix: "A narrow cut around the resonance (find it by sweeping a boost), 2-4 dB.",
    },
    ToneRule {
        rule: "tonal.harsh",
        lo: 1800.0,
        hi: 5000.0,
        excess: true,
        warn: 10.0,
        problem: 14.0,
        title: "Harsh upper mids",
        meaning: "Too much 2-5 kHz, where the ear is most sensitive: loud, tiring, fatiguing.",
        fix: "Cut 2-4 dB around 2.5-4 kHz on the brightest tracks (guitars, cymbals, vocal).",
    },
    ToneRule {
        rule: "tonal.sibilant",
        lo: 5000.0,
        hi: 10000.0,
        excess: true,
        warn: 12.0,
        problem: 16.0,
        title: "Sibilant, splashy highs",
        meaning: "Too much 5-10 kHz: esses spit and cymbals splash.",
        fix: "A de-esser on the vocal; a gentle cut around 6-8 kHz on cymbals.",
    },
    ToneRule {
        rule: "tonal.dull",
        lo: 8000.0,
        hi: 16500.0,
        excess: false,
        warn: -16.0,
        problem: -26.0,
        title: "Dull: little above 8 kHz",
        meaning: "The top octave is far below typical masters: the mix sounds muffled and distant.",
        fix: "A high shelf (+2-4 dB from 8-10 kHz) on the master or on the tracks that should shine; check for an over-eager low-pass.",
    },
];

/// Mean deviation of the spectrum from the target over a band range, the two aligned on the
/// bands from 250 Hz to 4 kHz outside that range (so a boost inside the range does not move
/// the reference); `None` if the range has no band below 0.45 of the sample rate. Returns the
/// deviation, dB, and the centres of the bands averaged, Hz.
pub fn tone_deviation(a: &Analysis, lo: f64, hi: f64) -> Option<(f64, Vec<f64>)> {
    tone_deviation_from(a, lo, hi, false)
}

/// [`tone_deviation`], the song's level taken as the mean (`low_quartile == false`) or the
/// lower quartile of the reference bands' deviations: a boost over a part of them (even a
/// wide one) moves the mean by many dB, the lower quartile, set by the bands it misses, little.
fn tone_deviation_from(
    a: &Analysis,
    lo: f64,
    hi: f64,
    low_quartile: bool,
) -> Option<(f64, Vec<f64>)> {
    let s = &a.spectrum;
    let nyq = a.sample_rate as f64 * 0.45;
    let ref_pts: Vec<f64> = s
        .centres_hz
        .iter()
        .zip(&s.level_db)
        .filter(|(f, _)| (250.0..=4000.0).contains(*f) && (**f < lo || **f > hi))
        .filter_map(|(f, v)| v.map(|v| v - target_at(*f)))
        .collect();
    if ref_pts.len() < 5 {
        return None;
    }
    // the song's level against the target's, from the reference bands outside the range
    let m = if low_quartile {
        let mut v = ref_pts.clone();
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) / 4]
    } else {
        ref_pts.iter().sum::<f64>() / ref_pts.len() as f64
    };
    let mut d = Vec::new();
    let mut centres = Vec::new();
    for (&f, v) in s.centres_hz.iter().zip(&s.level_db) {
        if f < lo || f > hi || f > nyq {
            continue;
        }
        // a band with nothing measurable counts as far below
        let level = v.unwrap_or(m - 80.0);
        d.push(level - m - target_at(f));
        centres.push(f);
    }
    if d.is_empty() {
        return None;
    }
    Some((d.iter().sum::<f64>() / d.len() as f64, centres))
}

/// A song whose 40-100 Hz region lies this far under typical masters has no bass part.
pub const NO_BASS_PART_DB: f64 = -20.0;

/// The low end's deviation from the target, dB, against the lower quartile of the reference
/// bands (so that a big boost of the mids, itself a finding, does not make a song read as
/// having no bass part).
fn r_low_end(a: &Analysis) -> Option<f64> {
    tone_deviation_from(a, 40.0, 100.0, true).map(|d| d.0)
}

fn tonal(f: &FileFacts, out: &mut Vec<Finding>) {
    let a = &f.analysis;
    // too quiet to judge a spectrum
    if a.loudness.integrated_lufs.is_none_or(|i| i < -50.0) {
        return;
    }
    let no_bass_part = r_low_end(a).is_some_and(|d| d <= NO_BASS_PART_DB);
    for r in TONE_RULES {
        let Some((dev, bands)) = tone_deviation(a, r.lo, r.hi) else {
            continue;
        };
        let graded = if r.excess {
            grade_above(dev, r.warn, r.problem)
        } else {
            grade_below(dev, r.warn, r.problem)
        };
        // a recording without a bass part (a solo instrument, a voice) is not a full-band mix:
        // its tonal balance is compared with full-band masters only for information
        let graded = match (graded, no_bass_part) {
            (Some((_, thr)), true) => Some((Severity::Info, thr)),
            (g, _) => g,
        };
        if let Some((sev, thr)) = graded {
            out.push(
                Finding::new(
                    r.rule,
                    sev,
                    format!(
                        "{}: {:+.1} dB against typical masters ({:.0}-{:.0} Hz)",
                        r.title, dev, r.lo, r.hi
                    ),
                    dev,
                    thr,
                    "dB",
                )
                .bands(bands)
                .meaning(r.meaning)
                .fix(r.fix),
            );
        }
    }
}

fn stereo(f: &FileFacts, out: &mut Vec<Finding>) {
    let a = &f.analysis;
    let Some(st) = &a.stereo else {
        return;
    };
    if let Some(c) = st.correlation {
        if let Some((sev, thr)) = grade_below(c, 0.0, -0.3).filter(|_| c < 0.0) {
            out.push(
                Finding::new(
                    "stereo.phase",
                    sev,
                    format!("Out of phase: left and right are negatively correlated ({c:+.2})"),
                    c,
                    thr,
                    "correlation",
                )
                .meaning(
                    "Much of the sound is opposite in the two channels: it feels wide on \
                     headphones but cancels on a mono speaker, a phone or a club system.",
                )
                .fix(
                    "Look for a track with one channel's polarity flipped, a stereo widener or \
                     an out-of-phase double; flip it back or narrow it.",
                ),
            );
        }
    }
    if let Some(loss) = f.mono_loss_lu {
        if let Some((sev, thr)) = grade_above(loss, 4.5, 8.0) {
            out.push(
                Finding::new(
                    "stereo.mono_compatibility",
                    sev,
                    format!("Poor mono compatibility: {loss:.1} LU lost in mono beyond the expected"),
                    loss,
                    thr,
                    "LU",
                )
                .meaning(
                    "Played in mono (phones, many speakers, club systems) parts of the mix \
                     cancel and the balance changes.",
                )
                .fix("Narrow the widest tracks, check polarity, avoid Haas-delay widening on key parts."),
            );
        }
    }
    if let Some(low) = &a.low_end {
        // only where there is real low end: the band under 150 Hz within 20 dB of the mids
        let has_low = tone_deviation(a, 40.0, 150.0).is_some_and(|(d, _)| d > -20.0);
        if let (Some(c), true) = (low.correlation, has_low) {
            if let Some((sev, thr)) = grade_below(c, 0.5, 0.0) {
                out.push(
                    Finding::new(
                        "stereo.low_end_not_mono",
                        sev,
                        format!("Low end not mono: correlation {c:+.2} below 150 Hz"),
                        c,
                        thr,
                        "correlation",
                    )
                    .bands(vec![analysis::LOW_END_HZ])
                    .meaning(
                        "Bass and kick differ between the channels: the low end loses weight in \
                         mono, sounds vague, and cutting a vinyl master is a problem.",
                    )
                    .fix("Make everything below about 120 Hz mono (a mono-maker on the bus, or centre the bass and kick)."),
                );
            }
        }
    }
    if let Some(b) = st.balance_db {
        let graded = grade_above(b.abs(), 3.0, 6.0)
            .or_else(|| (b.abs() >= 1.5).then_some((Severity::Info, 1.5)));
        if let Some((sev, thr)) = graded {
            let side = if b > 0.0 { "left" } else { "right" };
            // where it leans: the low end alone, when that leans more
            let low = a
                .low_end
                .as_ref()
                .and_then(|l| l.balance_db)
                .filter(|l| l.abs() >= b.abs() + 1.0 && l.signum() == b.signum());
            let where_ = low
                .map(|l| {
                    format!(
                        " It is mostly the low end: below {:.0} Hz the {side} side is {:.1} dB \
                         louder (the bass or the kick is panned off centre).",
                        analysis::LOW_END_HZ,
                        l.abs()
                    )
                })
                .unwrap_or_default();
            out.push(
                Finding::new(
                    "stereo.imbalance",
                    sev,
                    format!("Lopsided: the {side} channel is {:.1} dB louder", b.abs()),
                    b,
                    thr,
                    "dB",
                )
                .meaning(format!(
                    "The image leans to one side; on headphones it pulls the listener over.{where_}"
                ))
                .fix(
                    "Check the pans of the loudest tracks and the channel levels of stereo tracks.",
                ),
            );
        }
    }
    if let Some(sm) = st.side_to_mid_db {
        if sm > -3.0 {
            let (sev, thr) = grade_above(sm, -3.0, 0.0).unwrap_or((Severity::Warning, -3.0));
            out.push(
                Finding::new(
                    "stereo.too_wide",
                    sev,
                    format!("Too wide: the side signal is {sm:+.1} dB against the middle"),
                    sm,
                    thr,
                    "dB",
                )
                .meaning(
                    "Nearly as much (or more) sound is in the difference between the channels \
                     as in the middle: the centre is weak and mono playback loses the mix.",
                )
                .fix("Narrow the wideners and the hard-panned doubles; keep the lead, bass and kick in the middle."),
            );
        } else if sm < -30.0 {
            out.push(
                Finding::new(
                    "stereo.mono",
                    Severity::Info,
                    format!("Effectively mono: the side signal is {sm:.0} dB under the middle"),
                    sm,
                    -30.0,
                    "dB",
                )
                .meaning("Both channels carry the same sound. Fine for speech; a music mix usually spreads its instruments.")
                .fix("If it is a music mix, pan the supporting instruments to the sides."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mixdown_dsp::rng::Rng;

    const SR: u32 = 44_100;

    /// A deterministic little song: kick-like hits, a bass, sawtooth chords, noise hats and a
    /// quiet noise bed, with a stereo spread; `secs` long, peaks around -6 dBFS. Its long-term
    /// spectrum is near the typical master's.
    fn song(secs: f64) -> AudioBuffer {
        use std::f64::consts::PI;
        let n = (secs * SR as f64) as usize;
        let mut rng = Rng::new(3);
        let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
        let beat = SR as usize / 2;
        // band-limited sawtooth (harmonics 1/k up to `top` Hz, no aliasing) from a one-period
        // table per note, read with linear interpolation
        const TABLE: usize = 2048;
        let table = |f: f64, top: f64| -> Vec<f64> {
            let harmonics = (top / f).floor().max(1.0) as usize;
            (0..=TABLE)
                .map(|j| {
                    let x = 2.0 * PI * j as f64 / TABLE as f64;
                    (1..=harmonics)
                        .map(|k| (k as f64 * x).sin() / k as f64)
                        .sum()
                })
                .collect()
        };
        let roots = [55.0, 43.65, 49.0, 41.2];
        let chord = [1.0, 1.26, 1.5, 2.0];
        let bass_tables: Vec<Vec<f64>> = roots.iter().map(|&f| table(f, 1500.0)).collect();
        let pad_tables: Vec<Vec<Vec<f64>>> = roots
            .iter()
            .map(|&f| chord.iter().map(|m| table(f * 4.0 * m, 6000.0)).collect())
            .collect();
        let read = |t: &[f64], f: f64, time: f64| {
            let pos = (f * time).fract() * TABLE as f64;
            let j = pos as usize;
            let w = pos - j as f64;
            t[j] * (1.0 - w) + t[j + 1] * w
        };
        let (mut hp_prev, mut bed) = (0.0f64, 0.0f64);
        // one-pole low-passes: the bass under ~700 Hz, the chords under ~2.5 kHz
        let (a_bass, a_pad) = (
            (-2.0 * PI * 700.0 / SR as f64).exp(),
            (-2.0 * PI * 7000.0 / SR as f64).exp(),
        );
        let (mut bass_lp, mut pad_lp, mut kick_phase) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let t = i as f64 / SR as f64;
            let k = i % beat;
            let env = (-(k as f64) / (0.06 * SR as f64)).exp();
            // the kick's phase restarts at each hit (no click), its pitch falls 110 -> 50 Hz
            if k == 0 {
                kick_phase = 0.0;
            }
            kick_phase += 2.0 * PI * (50.0 + 60.0 * env) / SR as f64;
            let kick = 0.2 * env * kick_phase.sin();
            let bar = (t / 2.0) as usize % 4;
            let root = roots[bar];
            bass_lp = a_bass * bass_lp + (1.0 - a_bass) * 0.1 * read(&bass_tables[bar], root, t);
            let bass = bass_lp;
            let raw_pad: f64 = chord
                .iter()
                .zip(&pad_tables[bar])
                .map(|(m, tb)| 0.03 * read(tb, root * 4.0 * m, t))
                .sum();
            pad_lp = a_pad * pad_lp + (1.0 - a_pad) * raw_pad;
            let pad = pad_lp;
            // hats: differentiated noise (bright), short decays on the off-beats
            let w = rng.bipolar();
            let hp = w - hp_prev;
            hp_prev = w;
            let hat_env = (-((i % (beat / 2)) as f64) / (0.03 * SR as f64)).exp();
            let hat = 0.03 * hat_env * hp;
            // a quiet, slightly dark noise bed (room, cymbal wash)
            bed = 0.97 * bed + 0.03 * rng.bipolar();
            let wash = 0.03 * bed + 0.003 * hp;
            let c = kick + bass;
            l[i] = (c + 0.9 * pad + 0.7 * hat + wash) as f32;
            r[i] = (c + 0.7 * pad + 0.9 * hat + 0.8 * wash) as f32;
        }
        AudioBuffer {
            sample_rate: SR,
            channels: vec![l, r],
        }
    }

    #[test]
    #[ignore]
    fn print_song_tone() {
        let f = FileFacts::measure(&song(20.0));
        for r in TONE_RULES {
            println!(
                "{} {:?}",
                r.rule,
                tone_deviation(&f.analysis, r.lo, r.hi).map(|x| x.0)
            );
        }
        println!("{:?} plr {:?}", f.analysis.loudness, f.analysis.plr_db);
    }

    fn gain(buf: &mut AudioBuffer, g: f32) {
        buf.channels
            .iter_mut()
            .for_each(|c| c.iter_mut().for_each(|v| *v *= g));
    }

    fn rules(fs: &[Finding], min: Severity) -> Vec<String> {
        fs.iter()
            .filter(|f| f.severity >= min)
            .map(|f| f.rule.clone())
            .collect()
    }

    fn run(buf: &AudioBuffer, judge: JudgeAs) -> Vec<Finding> {
        check(&FileFacts::measure(buf), judge)
    }

    #[test]
    fn a_clean_song_has_nothing_above_info() {
        let mut s = song(40.0);
        gain(&mut s, 1.0);
        for judge in [JudgeAs::Mix, JudgeAs::Master] {
            let f = run(&s, judge);
            let bad = rules(&f, Severity::Warning);
            // judged as a master, the plain song is quiet for streaming: that alone is allowed
            let bad: Vec<_> = bad
                .into_iter()
                .filter(|r| r != "loudness.too_quiet")
                .collect();
            assert!(bad.is_empty(), "{judge:?}: {bad:?}\n{f:#?}");
        }
    }

    #[test]
    fn clipping_is_found_at_two_strengths_with_its_times() {
        // strong: two seconds driven hard into full scale; mild: four peaks cut flat
        let mut strong = song(20.0);
        for c in strong.channels.iter_mut() {
            for v in &mut c[5 * SR as usize..7 * SR as usize] {
                *v = (*v * 8.0).clamp(-1.0, 1.0);
            }
        }
        let mut mild = song(20.0);
        for k in 0..4 {
            let at = (5.0 + 0.4 * k as f64) * SR as f64;
            for v in &mut mild.channels[0][at as usize..at as usize + 6] {
                *v = 1.0;
            }
        }
        for (s, want) in [(strong, Severity::Problem), (mild, Severity::Warning)] {
            let f = run(&s, JudgeAs::Master);
            let c = f
                .iter()
                .find(|x| x.rule == "clipping")
                .unwrap_or_else(|| panic!("no clipping found ({want:?}): {f:#?}"));
            assert!(
                c.times.iter().all(|t| t.start_s >= 4.9 && t.end_s <= 7.1),
                "{c:?}"
            );
            assert_eq!(c.severity, want, "{c:?}");
        }
    }

    #[test]
    fn flat_tops_turned_down_are_still_clipping() {
        let mut s = song(20.0);
        for c in s.channels.iter_mut() {
            for v in c.iter_mut() {
                *v = (*v * 4.0).clamp(-0.9, 0.9) * 0.5;
            }
        }
        let f = run(&s, JudgeAs::Master);
        assert!(
            rules(&f, Severity::Warning).contains(&"clipping.flat_tops".to_string()),
            "{f:#?}"
        );
    }

    #[test]
    fn inter_sample_overs_are_found_where_they_are() {
        // a sine near Nyquist/4 phase-shifted so samples miss the crest: true peak > sample peak
        let n = 10 * SR as usize;
        let mut s = song(10.0);
        for c in s.channels.iter_mut() {
            for (i, v) in c
                .iter_mut()
                .enumerate()
                .take(n)
                .skip(4 * SR as usize)
                .take(SR as usize / 2)
            {
                let t = i as f64;
                *v = (0.999 * (std::f64::consts::PI / 2.0 * t + std::f64::consts::PI / 4.0).sin()
                    / std::f64::consts::FRAC_1_SQRT_2
                    * 0.75) as f32;
            }
        }
        let f = run(&s, JudgeAs::Master);
        let o = f
            .iter()
            .find(|x| x.rule == "true_peak.over")
            .unwrap_or_else(|| panic!("{f:#?}"));
        assert!(o.measured > 0.0);
        assert!(o.times.iter().any(|t| t.contains(4.2, 0.1)), "{o:?}");
        assert!(
            o.times.iter().all(|t| t.start_s >= 3.9 && t.end_s <= 4.6),
            "{o:?}"
        );
    }

    /// Hard limiting at two strengths: drives the song into a ceiling.
    fn crushed(drive: f32) -> AudioBuffer {
        let mut s = song(40.0);
        for c in s.channels.iter_mut() {
            for v in c.iter_mut() {
                // soft clip then ceiling: peaks pinned, PLR low
                let x = *v * drive;
                *v = (x.tanh() * 0.89).clamp(-0.89, 0.89);
            }
        }
        s
    }

    #[test]
    fn over_compression_is_found_at_two_strengths() {
        for (drive, sev) in [(30.0f32, Severity::Problem), (6.0, Severity::Warning)] {
            let s = crushed(drive);
            let facts = FileFacts::measure(&s);
            let f = check(&facts, JudgeAs::Master);
            let o = f
                .iter()
                .find(|x| x.rule == "dynamics.over_compressed")
                .unwrap_or_else(|| panic!("drive {drive}: PLR {:?} {f:#?}", facts.analysis.plr_db));
            assert!(o.severity >= sev, "drive {drive}: {o:?}");
        }
    }

    #[test]
    fn a_mix_without_headroom_or_already_limited_is_flagged() {
        let mut hot = song(20.0);
        let peak = hot
            .channels
            .iter()
            .flatten()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        gain(&mut hot, 0.97 / peak);
        let f = run(&hot, JudgeAs::Mix);
        assert!(
            rules(&f, Severity::Warning).contains(&"headroom.none".to_string()),
            "{f:#?}"
        );
        let mut ok = song(20.0);
        gain(&mut ok, 0.5 / peak);
        assert!(!rules(&run(&ok, JudgeAs::Mix), Severity::Warning)
            .contains(&"headroom.none".to_string()));
        let lim = crushed(8.0);
        let f = run(&lim, JudgeAs::Mix);
        assert!(
            rules(&f, Severity::Warning).contains(&"headroom.already_limited".to_string()),
            "{f:#?}"
        );
    }

    #[test]
    fn platform_gains_follow_each_service() {
        let p = platform_plays(-8.0, -0.5);
        let spot = p.iter().find(|x| x.platform == "Spotify").expect("spotify");
        assert!((spot.gain_db + 6.0).abs() < 1e-9);
        let quiet = platform_plays(-22.0, -3.0);
        let spot = quiet
            .iter()
            .find(|x| x.platform == "Spotify")
            .expect("spotify");
        // raised only 2 dB (true peak to -1), 6 dB short
        assert!((spot.gain_db - 2.0).abs() < 1e-9 && (spot.quieter_by_db - 6.0).abs() < 1e-9);
        let yt = quiet.iter().find(|x| x.platform == "YouTube").expect("yt");
        assert_eq!(yt.gain_db, 0.0);
        assert!(spot.own_limiter);
        // a quiet master is flagged at two strengths
        for (g, sev) in [(0.1f32, Severity::Problem), (0.35, Severity::Warning)] {
            let mut s = song(20.0);
            gain(&mut s, g);
            let f = run(&s, JudgeAs::Master);
            let q = f
                .iter()
                .find(|x| x.rule == "loudness.too_quiet")
                .unwrap_or_else(|| panic!("{f:#?}"));
            assert!(q.severity >= sev, "{q:?}");
        }
        // a broadcast master (-23 LUFS, peaks under -1 dBTP) is what it should be: information
        let mut s = song(20.0);
        let lufs = FileFacts::measure(&s)
            .analysis
            .loudness
            .integrated_lufs
            .unwrap();
        gain(&mut s, 10f64.powf((-23.0 - lufs) / 20.0) as f32);
        let f = run(&s, JudgeAs::Master);
        let q = f
            .iter()
            .find(|x| x.rule == "loudness.too_quiet")
            .unwrap_or_else(|| panic!("{f:#?}"));
        assert_eq!(q.severity, Severity::Info, "{q:?}");
        assert!(q.title.contains("broadcast"), "{q:?}");
    }

    /// The song through a shelf/peak boost at `hz` of `db`, made with the DSP library.
    fn eq(s: &AudioBuffer, kind: mixdown_dsp::biquad::FilterKind) -> AudioBuffer {
        let mut out = s.clone();
        let mut fc = mixdown_dsp::biquad::FilterChain::new(&[kind], SR as f64, 2);
        let mut views: Vec<&mut [f32]> =
            out.channels.iter_mut().map(|c| c.as_mut_slice()).collect();
        fc.process(&mut views);
        // the fader brought down again to the song's own peak, as anyone would after a boost
        let peak = |b: &AudioBuffer| {
            b.channels
                .iter()
                .flatten()
                .fold(0.0f32, |m, &v| m.max(v.abs()))
        };
        let g = peak(s) / peak(&out).max(1e-9);
        out.apply_gain(g.min(1.0));
        out
    }

    #[test]
    fn a_solo_instrument_is_not_judged_against_full_band_masters() {
        // a trumpet-like line: bright harmonics of 350-700 Hz notes, nothing below 300 Hz
        use std::f64::consts::PI;
        let n = 12 * SR as usize;
        let notes = [466.2, 523.3, 587.3, 698.5, 622.3, 523.3];
        let ch: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64 / SR as f64;
                let k = (t / 0.5) as usize;
                let f0 = notes[k % notes.len()];
                let env = (((t % 0.5) / 0.02).min(1.0)) * (-(t % 0.5) / 0.6).exp();
                let s: f64 = (1..=12)
                    .map(|h| (2.0 * PI * h as f64 * f0 * t).sin() * (0.8f64).powi(h))
                    .sum();
                (0.2 * env * s) as f32
            })
            .collect();
        let b = AudioBuffer {
            sample_rate: SR,
            channels: vec![ch.clone(), ch],
        };
        let facts = FileFacts::measure(&b);
        assert!(r_low_end(&facts.analysis).is_some_and(|d| d <= NO_BASS_PART_DB));
        let f = check(&facts, JudgeAs::Master);
        let tonal: Vec<&Finding> = f.iter().filter(|x| x.rule.starts_with("tonal.")).collect();
        assert!(
            !tonal.is_empty(),
            "it is far from a full-band master: {f:#?}"
        );
        assert!(
            tonal.iter().all(|x| x.severity == Severity::Info),
            "{tonal:#?}"
        );
    }

    #[test]
    fn overused_eq_is_found_at_two_strengths() {
        use mixdown_dsp::biquad::FilterKind;
        let base = song(20.0);
        // strengths per rule: the synthetic song is already 3.5 dB dull in 1.8-5 kHz, so its
        // harshness needs a bigger boost to cross the same line; a shelf from 6 kHz takes the
        // 8-16 kHz region down by a little less than its gain
        type Eq = Box<dyn Fn(f64) -> FilterKind>;
        let cases: Vec<(&str, [f64; 2], Eq)> = vec![
            (
                "tonal.low_end",
                [15.0, 24.0],
                Box::new(|g| FilterKind::LowShelf {
                    freq_hz: 90.0,
                    gain_db: g,
                    slope: 1.0,
                }),
            ),
            (
                "tonal.mud",
                [15.0, 24.0],
                Box::new(|g| FilterKind::Peaking {
                    freq_hz: 280.0,
                    gain_db: g,
                    q: 0.9,
                }),
            ),
            (
                // strong enough that the boosted mids would make the low end read as "no bass
                // part" against a mean reference (the song is then not demoted to info)
                "tonal.boxy",
                [20.0, 28.0],
                Box::new(|g| FilterKind::Peaking {
                    freq_hz: 680.0,
                    gain_db: g,
                    q: 0.9,
                }),
            ),
            (
                "tonal.harsh",
                [23.0, 29.0],
                Box::new(|g| FilterKind::Peaking {
                    freq_hz: 3000.0,
                    gain_db: g,
                    q: 0.6,
                }),
            ),
            (
                "tonal.dull",
                [18.0, 26.0],
                Box::new(|g| FilterKind::HighShelf {
                    freq_hz: 6000.0,
                    gain_db: -g,
                    slope: 1.0,
                }),
            ),
        ];
        for (rule, gains, k) in cases {
            for g in gains {
                let x = eq(&base, k(g));
                let f = run(&x, JudgeAs::Master);
                let r = TONE_RULES.iter().find(|r| r.rule == rule).expect("a rule");
                let dev = tone_deviation(&FileFacts::measure(&x).analysis, r.lo, r.hi);
                assert!(
                    rules(&f, Severity::Warning).contains(&rule.to_string()),
                    "{rule} at {g} dB: deviation {dev:?}; {f:#?}"
                );
            }
        }
    }

    /// The "no bass part" reading (which demotes tonal findings to info) takes the lower
    /// quartile of the reference bands: a huge boost of the mids, itself a finding, barely
    /// moves it, while
    /// it moves a mean-based reading by many dB (which once demoted a +18 dB boxiness).
    #[test]
    fn a_mid_boost_does_not_hide_the_bass_part() {
        use mixdown_dsp::biquad::FilterKind;
        let base = song(20.0);
        let boosted = eq(
            &base,
            FilterKind::Peaking {
                freq_hz: 680.0,
                gain_db: 28.0,
                q: 0.9,
            },
        );
        let (a0, a1) = (
            FileFacts::measure(&base).analysis,
            FileFacts::measure(&boosted).analysis,
        );
        let robust = r_low_end(&a1).unwrap() - r_low_end(&a0).unwrap();
        let mean = tone_deviation(&a1, 40.0, 100.0).unwrap().0
            - tone_deviation(&a0, 40.0, 100.0).unwrap().0;
        // the mean reading falls by about as much as the boost lifts the mids; the lower
        // quartile by a fraction of it
        assert!(mean < -9.0, "mean reading moved only {mean} dB");
        assert!(
            robust > 0.6 * mean,
            "lower quartile {robust} dB vs mean {mean} dB"
        );
    }

    #[test]
    fn stereo_mistakes_are_found() {
        // phase: one channel flipped, at two strengths (full and partial)
        for (mix, sev) in [(1.0f32, Severity::Problem), (0.75, Severity::Warning)] {
            let mut s = song(20.0);
            let l = s.channels[0].clone();
            for (r, l) in s.channels[1].iter_mut().zip(&l) {
                *r = -mix * *l + (1.0 - mix) * *r;
            }
            let f = run(&s, JudgeAs::Master);
            let p = f
                .iter()
                .find(|x| x.rule == "stereo.phase")
                .unwrap_or_else(|| panic!("{mix}: {f:#?}"));
            assert!(p.severity >= sev, "{p:?}");
            assert!(
                rules(&f, Severity::Warning).contains(&"stereo.mono_compatibility".to_string()),
                "{f:#?}"
            );
        }
        // imbalance at two strengths
        for (g, sev) in [(0.5f32, Severity::Problem), (0.7, Severity::Warning)] {
            let mut s = song(20.0);
            s.channels[1].iter_mut().for_each(|v| *v *= g);
            let f = run(&s, JudgeAs::Master);
            let p = f
                .iter()
                .find(|x| x.rule == "stereo.imbalance")
                .unwrap_or_else(|| panic!("{f:#?}"));
            assert!(p.severity >= sev && p.measured > 0.0, "{p:?}");
        }
        // low end not mono: the bass in anti-phase below 150 Hz only
        let mut s = song(20.0);
        let n = s.channels[0].len();
        for i in 0..n {
            let t = i as f64 / SR as f64;
            let b = (0.2 * (2.0 * std::f64::consts::PI * 60.0 * t).sin()) as f32;
            s.channels[0][i] += b;
            s.channels[1][i] -= b;
        }
        let f = run(&s, JudgeAs::Master);
        assert!(
            rules(&f, Severity::Warning).contains(&"stereo.low_end_not_mono".to_string()),
            "{f:#?}"
        );
    }

    #[test]
    fn silence_and_tiny_files_do_not_panic() {
        for n in [0usize, 10, 4410] {
            for ch in [1usize, 2] {
                let b = AudioBuffer {
                    sample_rate: SR,
                    channels: vec![vec![0.0; n]; ch],
                };
                let _ = run(&b, JudgeAs::Master);
                let _ = run(&b, JudgeAs::Mix);
            }
        }
    }
}
