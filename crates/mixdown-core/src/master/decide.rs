//! The mastering engineer's judgement: from the analysis, the target and the user's wishes to
//! a [`MasterChain`]. Every choice carries its reason.

use super::chain::*;
use super::reference::{self, MatchAmounts, ReferenceProfile};
use super::tonal::{self, TonalLimits};
use crate::analysis::Analysis;
use crate::audio::AudioBuffer;
use crate::targets::Target;
use mixdown_dsp::biquad::FilterKind;
use mixdown_dsp::compressor::{Compressor, CompressorParams, Detector};
use mixdown_dsp::limiter::LimiterParams;
use mixdown_dsp::loudness;

/// What the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterOptions {
    pub target: Target,
    /// Tonal EQ amount, 0..1.
    pub eq_amount: f64,
    pub eq: bool,
    pub glue: bool,
    pub stereo: bool,
    pub limiter: bool,
    pub loudness: bool,
    /// Crossover for mono bass, Hz (None: decide from the analysis).
    pub mono_bass_hz: Option<f64>,
    /// Stereo width above the crossover (1 = unchanged).
    pub width: f64,
    /// Most loudness the limiter may take away, LU.
    pub max_limiting_lu: f64,
    /// Output bit depth (None for float output).
    pub output_bits: Option<u32>,
    /// Match a reference instead of the target curve (`--reference`, `--match-file`).
    pub reference: Option<ReferenceMatch>,
}

/// A reference to match, how far, and whether the loudness target was given by the user
/// (otherwise the reference's loudness is the target).
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceMatch {
    pub profile: ReferenceProfile,
    pub amounts: MatchAmounts,
    pub target_given: bool,
    /// The song's mid/side spectra, when already measured.
    pub song_spectra: Option<reference::Spectra>,
}

impl MasterOptions {
    pub fn new(target: Target) -> Self {
        MasterOptions {
            target,
            eq_amount: 0.5,
            eq: true,
            glue: true,
            stereo: true,
            limiter: true,
            loudness: true,
            mono_bass_hz: None,
            width: 1.0,
            max_limiting_lu: DEFAULT_MAX_LIMITING_LU,
            output_bits: Some(24),
            reference: None,
        }
    }
}

/// A DC offset above this (linear, about -90 dBFS) is filtered out.
pub const DC_OFFSET_LIMIT: f64 = 3e-5;
/// Default cap on the loudness the limiter may take away.
pub const DEFAULT_MAX_LIMITING_LU: f64 = 4.0;
/// Headroom kept under the ceiling on our own meter (covers meters that read a little higher).
pub const TRUE_PEAK_MARGIN_DB: f64 = 0.05;
/// Default crossover for mono bass.
pub const MONO_BASS_HZ: f64 = 120.0;
/// The whole chain keeps at least this share of the input's loudness range (dynamics guard).
pub const KEEP_LRA: f64 = 0.85;
/// The glue compressor must keep at least this share of the input's loudness range.
pub const GLUE_KEEPS_LRA: f64 = 0.9;

fn decide_eq(an: &Analysis, opts: &MasterOptions) -> EqStage {
    if !opts.eq {
        return EqStage {
            enabled: false,
            amount: opts.eq_amount,
            bands: vec![],
            why: "switched off (--no-eq)".into(),
        };
    }
    let fit = tonal::fit(
        &an.spectrum,
        an.sample_rate,
        opts.eq_amount,
        &TonalLimits::default(),
    );
    // a DC offset is removed by a 10 Hz high-pass, far below anything musical
    let dc = an
        .levels
        .dc_offset
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    if dc > DC_OFFSET_LIMIT {
        let mut bands = vec![FilterKind::HighPass {
            freq_hz: 10.0,
            q: std::f64::consts::FRAC_1_SQRT_2,
        }];
        bands.extend(fit.bands.iter().cloned());
        return EqStage {
            enabled: true,
            amount: opts.eq_amount,
            bands,
            why: format!(
                "a 10 Hz high-pass removes the DC offset ({:.0} dBFS); {}",
                20.0 * dc.log10(),
                if fit.bands.is_empty() {
                    "the tonal balance is already close to the target curve".to_string()
                } else {
                    format!(
                        "the bands move the long-term spectrum {:.0}% of the way toward the target curve",
                        opts.eq_amount * 100.0
                    )
                }
            ),
        };
    }
    if fit.bands.is_empty() {
        return EqStage {
            enabled: false,
            amount: opts.eq_amount,
            bands: vec![],
            why: "the tonal balance is already close to the target curve; no EQ needed".into(),
        };
    }
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in &fit.applied_db {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    EqStage {
        enabled: true,
        amount: opts.eq_amount,
        bands: fit.bands,
        why: format!(
            "moves the long-term spectrum {:.0}% of the way toward the target curve (largest cut {:.1} dB, largest boost {:.1} dB)",
            opts.eq_amount * 100.0,
            lo,
            hi
        ),
    }
}

/// Level of each 100 ms loudness sub-block as the glue's detector sees it: the loudest third
/// (about 33 ms) of the sub-block, RMS, the louder channel (the detector is linked by the
/// maximum), dBFS (None when silent).
fn detector_levels_db(buf: &AudioBuffer) -> Vec<Option<f64>> {
    let len = mixdown_dsp::loudness::subblock_len(buf.sample_rate);
    let third = (len / 3).max(1);
    let n = buf.frames();
    // sub-blocks in parallel, each summed in order as before (the same values)
    use rayon::prelude::*;
    (0..n / len)
        .into_par_iter()
        .with_min_len(64)
        .map(|b| {
            let mut best = 0.0f64;
            for t in 0..3 {
                let start = b * len + t * third;
                let end = (start + third).min(n);
                for c in &buf.channels {
                    let acc: f64 = c[start..end].iter().map(|&v| (v as f64) * (v as f64)).sum();
                    best = best.max(acc / third as f64);
                }
            }
            (best > 1e-10).then(|| 10.0 * best.log10())
        })
        .collect()
}

/// Loudness range after a glue compressor, predicted per 100 ms: the static curve on each
/// sub-block's level, released over the compressor's release time, applied to the
/// sub-block's K-weighted power. Close enough to choose a threshold; the solver's dynamics
/// guard checks the real result.
fn predicted_glue_lra(
    levels: &[Option<f64>],
    sub: &[f64],
    params: &CompressorParams,
) -> Option<f64> {
    let rel = (-100.0 / params.release_ms.max(1.0)).exp();
    let mut gr = 0.0f64;
    let out: Vec<f64> = sub
        .iter()
        .zip(levels)
        .map(|(&p, l)| {
            let target = l.map_or(0.0, |l| {
                Compressor::static_curve_db(params, l) - l - params.makeup_db
            });
            let want = -target;
            gr = if want > gr {
                want
            } else {
                rel * gr + (1.0 - rel) * want
            };
            p * 10f64.powf(-gr / 10.0)
        })
        .collect();
    loudness::loudness_range(&out)
}

fn decide_glue(buf: &AudioBuffer, an: &Analysis, opts: &MasterOptions) -> GlueStage {
    let mut params = CompressorParams {
        threshold_db: 0.0,
        ratio: 1.5,
        knee_db: 6.0,
        attack_ms: 30.0,
        release_ms: 250.0,
        makeup_db: 0.0,
        detector: Detector::Rms { window_ms: 30.0 },
        auto_release: true,
        sidechain_hpf_hz: Some(90.0),
    };
    let off = |params: CompressorParams, why: String| GlueStage {
        enabled: false,
        params,
        why,
    };
    if !opts.glue {
        return off(params, "switched off (--no-glue)".into());
    }
    let Some(lra_in) = an.loudness.loudness_range_lu else {
        return off(
            params,
            "too short to judge its dynamics (under 3 s); left alone".into(),
        );
    };
    let plr = an.plr_db.unwrap_or(0.0);
    if plr < 12.0 {
        return off(
            params,
            format!(
                "already dense (peak-to-loudness ratio {plr:.1} dB); glue would only flatten it"
            ),
        );
    }
    if lra_in < 2.0 {
        return off(
            params,
            format!(
                "already very even (loudness range {lra_in:.1} LU); glue would only flatten it"
            ),
        );
    }
    let levels = detector_levels_db(buf);
    let mut sorted: Vec<f64> = levels.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return off(params, "no programme level to work with".into());
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let loud = sorted[((sorted.len() - 1) as f64 * 0.95).round() as usize];
    if plr > 17.0 {
        params.ratio = 2.0;
    }
    for (attempt, below) in [6.0, 4.0, 2.0].iter().enumerate() {
        params.threshold_db = ((loud - below) * 10.0).round() / 10.0;
        if let Some(lra) = predicted_glue_lra(&levels, &an.loudness_subblocks, &params) {
            if lra >= GLUE_KEEPS_LRA * lra_in {
                return GlueStage {
                    enabled: true,
                    params: params.clone(),
                    why: format!(
                        "{:.1}:1 from {:.1} dBFS ({below:.0} dB under the loudest 5% of the song): holds the peaks together; predicted loudness range {:.1} of {:.1} LU{}",
                        params.ratio,
                        params.threshold_db,
                        lra,
                        lra_in,
                        if attempt > 0 { " (backed off to protect the dynamics)" } else { "" }
                    ),
                };
            }
        }
    }
    off(
        params,
        format!(
            "even gentle glue would shrink the loudness range below {:.0}% of {lra_in:.1} LU; left alone",
            GLUE_KEEPS_LRA * 100.0
        ),
    )
}

fn decide_stereo(an: &Analysis, opts: &MasterOptions) -> StereoStage {
    let width = opts.width;
    let none = |why: String| StereoStage {
        enabled: false,
        mono_below_hz: None,
        width: 1.0,
        why,
    };
    if an.channels < 2 {
        return none("mono file; nothing to do".into());
    }
    if !opts.stereo {
        return none("switched off (--no-stereo)".into());
    }
    let low = an.low_end.as_ref();
    let side_db = low.and_then(|s| s.side_to_mid_db);
    let want_mono_bass = opts.mono_bass_hz.is_some() || side_db.is_some_and(|d| d > -25.0);
    let mono_below_hz = want_mono_bass.then(|| opts.mono_bass_hz.unwrap_or(MONO_BASS_HZ));
    let width_changes = (width - 1.0).abs() > 1e-6;
    if mono_below_hz.is_none() && !width_changes {
        return none(match side_db {
            Some(d) => format!(
                "low end already centred (side {d:.0} dB under mid below 150 Hz); left alone"
            ),
            None => "low end already mono; left alone".into(),
        });
    }
    let mut why = Vec::new();
    if let Some(f) = mono_below_hz {
        why.push(match (opts.mono_bass_hz, side_db) {
            (Some(_), _) => format!("mono below {f:.0} Hz as asked"),
            (None, Some(d)) => format!(
                "mono below {f:.0} Hz: the low end has side energy only {:.0} dB under the mid, which blurs the bass and can cancel in mono",
                -d
            ),
            (None, None) => format!("mono below {f:.0} Hz"),
        });
    }
    if width_changes {
        why.push(format!("width {width:.2}x above the crossover as asked"));
    }
    StereoStage {
        enabled: true,
        mono_below_hz,
        width,
        why: why.join("; "),
    }
}

/// The lowest frequency with real energy: the lowest 1/3-octave band within 15 dB of the
/// loudest band (the bass fundamental region of most music, the voice's low end in speech).
fn lowest_strong_hz(an: &Analysis) -> f64 {
    let max = an
        .spectrum
        .level_db
        .iter()
        .flatten()
        .fold(f64::MIN, |m, &v| m.max(v));
    an.spectrum
        .centres_hz
        .iter()
        .zip(&an.spectrum.level_db)
        .find(|(c, l)| **c >= 20.0 && l.is_some_and(|l| l > max - 15.0))
        .map(|(c, _)| *c)
        .unwrap_or(40.0)
}

fn decide_limiter(an: &Analysis, opts: &MasterOptions) -> LimiterStage {
    // Hold the gain for half a cycle of the lowest strong frequency, so it cannot ripple
    // inside a bass cycle (that ripple is what a limiter's distortion is); release over a few
    // holds, so the limiter lets go as soon as it safely can and costs little loudness.
    let f_low = lowest_strong_hz(an);
    let hold_ms = (550.0 / f_low).clamp(4.0, 20.0).round();
    let release_ms = (4.0 * hold_ms).clamp(20.0, 100.0).round();
    let params = LimiterParams {
        ceiling_dbtp: opts.target.true_peak_dbtp,
        lookahead_ms: 2.0,
        hold_ms,
        release_ms,
    };
    LimiterStage {
        enabled: opts.limiter,
        why: if !opts.limiter {
            "switched off (--no-limiter): the ceiling is kept by lowering the gain instead".into()
        } else {
            format!(
                "true-peak ceiling {:.1} dBTP, 2 ms look-ahead; {hold_ms:.0} ms hold (half a cycle of the lowest strong band, {f_low:.0} Hz, so the gain cannot ripple inside it), {release_ms:.0} ms release",
                params.ceiling_dbtp
            )
        },
        params,
        margin_db: TRUE_PEAK_MARGIN_DB,
        max_limiting_lu: opts.max_limiting_lu,
        lra_floor_lu: an
            .loudness
            .loudness_range_lu
            .filter(|&l| l >= 1.0)
            .map(|l| (KEEP_LRA * l * 100.0).round() / 100.0),
    }
}

/// Decide the whole chain. `buf` is the input (read only: the glue guard renders trials from it).
pub fn decide(buf: &AudioBuffer, an: &Analysis, opts: &MasterOptions) -> MasterChain {
    if let Some(rm) = &opts.reference {
        return decide_matched(buf, an, opts, rm);
    }
    let eq = decide_eq(an, opts);
    let glue = decide_glue(buf, an, opts);
    let stereo = decide_stereo(an, opts);
    let limiter = decide_limiter(an, opts);
    assemble(opts.target.clone(), opts, eq, glue, stereo, limiter, None)
}

/// The loudness and dither stages, and the chain put together.
fn assemble(
    target: Target,
    opts: &MasterOptions,
    eq: EqStage,
    glue: GlueStage,
    stereo: StereoStage,
    limiter: LimiterStage,
    matching: Option<reference::MatchStage>,
) -> MasterChain {
    let loudness = LoudnessStage {
        enabled: opts.loudness,
        gain_db: if opts.loudness { None } else { Some(0.0) },
        why: if opts.loudness {
            format!(
                "gain found by measuring after the limiter until the output reads {:.1} LUFS",
                target.lufs
            )
        } else {
            "switched off (--no-loudness): no gain change".into()
        },
    };
    let dither = match opts.output_bits {
        Some(b) => DitherStage {
            enabled: true,
            bits: Some(b),
            why: format!("TPDF dither to {b} bits: quantisation becomes benign noise, no distortion on fades"),
        },
        None => DitherStage {
            enabled: false,
            bits: None,
            why: "32-bit float output: nothing to dither".into(),
        },
    };
    MasterChain {
        target,
        eq,
        glue,
        stereo,
        limiter,
        loudness,
        dither,
        matching,
    }
}

/// Most limiting the reference match may ask for, LU.
pub const MATCH_MAX_LIMITING_LU: f64 = 12.0;

/// The chain when matching a reference: the match EQ instead of the target curve; glue and
/// limiting as dense as the reference (by the dynamics amount); the reference's loudness
/// (by the loudness amount) unless the user gave a target.
fn decide_matched(
    buf: &AudioBuffer,
    an: &Analysis,
    opts: &MasterOptions,
    rm: &ReferenceMatch,
) -> MasterChain {
    let r = &rm.profile;
    let am = rm.amounts;
    let song_lufs = an.loudness.integrated_lufs.unwrap_or(r.integrated_lufs);
    let target = if rm.target_given {
        opts.target.clone()
    } else {
        let lufs = song_lufs + am.loudness * (r.integrated_lufs - song_lufs);
        Target {
            name: "reference".into(),
            lufs: (lufs * 10.0).round() / 10.0,
            true_peak_dbtp: opts.target.true_peak_dbtp,
        }
    };
    let mut o = opts.clone();
    o.target = target.clone();
    // the match replaces the target curve; a DC offset is still removed
    o.eq_amount = 0.0;
    let mut eq = decide_eq(an, &o);
    if eq.enabled {
        eq.why = format!(
            "a 10 Hz high-pass removes the DC offset ({:.0} dBFS); the tone is the reference match's",
            20.0 * an.levels.dc_offset.iter().fold(0.0f64, |m, v| m.max(v.abs())).log10()
        );
    } else {
        eq.why = "the reference match sets the tone (stage 0)".into();
    }
    let matching = if opts.eq || am.width > 0.0 {
        let mut a = am;
        if !opts.eq {
            a.tone = 0.0;
        }
        let s = match &rm.song_spectra {
            Some(s) => Some(s.clone()),
            None => reference::mid_side_spectra(buf),
        };
        s.map(|s| reference::decide_match(&s, r, a))
    } else {
        None
    };
    // dynamics: glue toward the reference's loudness range, limiting toward its density
    let song_lra = an.loudness.loudness_range_lu;
    let target_lra = match (song_lra, r.loudness_range_lu) {
        (Some(s), Some(rl)) => Some(s - am.dynamics * (s - rl).max(0.0)),
        (s, _) => s,
    };
    let glue = decide_matched_glue(buf, an, &o, target_lra, r);
    let mut stereo = decide_stereo(an, &o);
    if stereo.enabled && opts.mono_bass_hz.is_none() {
        // the reference's own low-end width is matched by the side curve
        stereo = StereoStage {
            enabled: (opts.width - 1.0).abs() > 1e-6,
            mono_below_hz: None,
            width: opts.width,
            why: if (opts.width - 1.0).abs() > 1e-6 {
                format!(
                    "width {:.2}x as asked, on top of the reference match",
                    opts.width
                )
            } else {
                "the reference match sets the width (stage 0)".into()
            },
        };
    }
    let mut limiter = decide_limiter(an, &o);
    let needed = an
        .plr_db
        .map(|plr| plr - (target.true_peak_dbtp - target.lufs))
        .unwrap_or(0.0);
    let allowed = (am.dynamics * (needed + 1.0)).min(MATCH_MAX_LIMITING_LU);
    if allowed > limiter.max_limiting_lu {
        limiter.max_limiting_lu = (allowed * 10.0).round() / 10.0;
        limiter.why += &format!(
            "; up to {:.1} LU of limiting to be as dense as the reference (peak-to-loudness {})",
            limiter.max_limiting_lu,
            r.plr_db.map_or("unknown".into(), |p| format!("{p:.1} dB"))
        );
    }
    limiter.lra_floor_lu = target_lra
        .filter(|&l| l >= 1.0)
        .map(|l| (KEEP_LRA * l * 100.0).round() / 100.0);
    assemble(target, &o, eq, glue, stereo, limiter, matching)
}

/// Glue toward the reference's loudness range: the gentlest setting whose predicted range
/// comes down to `target_lra` (none when the reference is no denser than the song).
fn decide_matched_glue(
    buf: &AudioBuffer,
    an: &Analysis,
    opts: &MasterOptions,
    target_lra: Option<f64>,
    r: &ReferenceProfile,
) -> GlueStage {
    let base = decide_glue(buf, an, &{
        let mut o = opts.clone();
        o.glue = false;
        o
    });
    let off = |why: String| GlueStage {
        enabled: false,
        params: base.params.clone(),
        why,
    };
    if !opts.glue {
        return off("switched off (--no-glue)".into());
    }
    let (Some(song), Some(want), Some(rl)) = (
        an.loudness.loudness_range_lu,
        target_lra,
        r.loudness_range_lu,
    ) else {
        return off("too short to compare its dynamics with the reference's; left alone".into());
    };
    if want > song - 0.5 {
        return off(format!(
            "the reference's loudness range ({rl:.1} LU) is no smaller than the song's ({song:.1} LU); no glue needed"
        ));
    }
    let levels = detector_levels_db(buf);
    let mut sorted: Vec<f64> = levels.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return off("no programme level to work with".into());
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let loud = sorted[((sorted.len() - 1) as f64 * 0.95).round() as usize];
    let mut params = base.params.clone();
    let mut best: Option<(CompressorParams, f64)> = None;
    'search: for ratio in [1.5, 2.0, 3.0, 4.0] {
        for below in [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] {
            params.ratio = ratio;
            params.threshold_db = ((loud - below) * 10.0).round() / 10.0;
            if let Some(lra) = predicted_glue_lra(&levels, &an.loudness_subblocks, &params) {
                best = Some((params.clone(), lra));
                if lra <= want + 0.2 {
                    break 'search;
                }
            }
        }
    }
    match best {
        Some((p, lra)) => GlueStage {
            enabled: true,
            why: format!(
                "{:.1}:1 from {:.1} dBFS: brings the loudness range from {song:.1} toward the reference's {rl:.1} LU (aim {want:.1}, predicted {lra:.1} LU)",
                p.ratio, p.threshold_db
            ),
            params: p,
        },
        None => off("no glue setting could be predicted; left alone".into()),
    }
}
