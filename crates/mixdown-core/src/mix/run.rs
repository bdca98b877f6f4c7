//! `mixdown mix` and `mixdown render`: the whole job, from a folder of stems (or a Session)
//! to a mix, a master, the stems, the Session and a report.

use super::cleanup::{self, CleanupPlan};
use super::decide::{self, Placement};
use super::features::{self, TrackFeatures};
use super::masking::{self, MaskingReport};
use super::organise::{self, Organisation};
use super::render::{
    apply_bus_trims, bus_trims, bus_untrimmed, finish_mix, render_parts, returns_sum, Placed,
    TrackResult,
};
use super::roles::{self, RoleGuess};
use super::session::{self, Buses, DelayBus, Header, MixBus, ReverbBus, Sends, Session, Track};
use super::types::{Presence, Role};
use crate::analysis::{analyse, analyse_with, Analysis, Known};
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
use crate::master::{self, MasterChain, MasterOptions, RenderOutcome};
use crate::report::FileInfo;
use mixdown_dsp::loudness::{self, Loudness};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Track loudness the lead is set to before the mix bus trim, LUFS.
const LEAD_LEVEL_LUFS: f64 = -20.0;
/// Peak level of the mix before mastering, dBFS: headroom for the master.
pub const MIX_PEAK_DBFS: f64 = -6.0;
/// The effect returns stay at least this far under the dry mix, LU.
pub const RETURNS_BELOW_DRY_LU: f64 = 14.0;
/// Mono below this on the mix bus, Hz.
pub const MIX_MONO_BELOW_HZ: f64 = 120.0;

/// What the user asked for.
#[derive(Clone, Debug)]
pub struct MixJob {
    pub stems: PathBuf,
    pub output: PathBuf,
    /// Mastering options; `None` for `--no-master`.
    pub master: Option<MasterOptions>,
    pub session: Option<PathBuf>,
    pub stems_out: Option<PathBuf>,
    /// `name=role` overrides.
    pub roles: Vec<(String, Role)>,
    /// `name=presence` overrides.
    pub presences: Vec<(String, Presence)>,
    pub bit_depth: Option<u32>,
    /// Diagnose the finished mix (as `mixdown analyze` would, with the playback simulations)
    /// into the report.
    pub diagnose: bool,
}

/// One track in the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    pub name: String,
    pub role: String,
    pub presence: String,
    /// How the role was found: name, content or user.
    pub role_source: String,
    /// How sure the role is, 0-1.
    pub role_confidence: f64,
    pub loudness_in_lufs: Option<f64>,
    pub fader_db: f64,
    pub pan: f64,
    pub result: TrackResult,
    pub why: Vec<String>,
}

/// Stereo image of the finished mix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// L/R correlation below 150 Hz.
    pub low_end_correlation: Option<f64>,
    /// Loudness lost when the mix is folded to mono, LU.
    pub mono_loss_lu: Option<f64>,
    /// Side energy share (0 = mono).
    pub width: f64,
    /// Left minus right level, dB.
    pub balance_db: Option<f64>,
}

/// How restrained the effects and EQ are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Restraint {
    /// Loudness of the reverb and delay returns together under the dry mix, LU.
    pub returns_below_dry_lu: Option<f64>,
    /// Largest boost or cut of any track's EQ bands at any frequency, dB.
    pub max_eq_move_db: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MixReport {
    pub mixdown_version: String,
    pub organisation: Organisation,
    pub tracks: Vec<TrackReport>,
    /// Masking among the stems as they arrived (summed as they are) and in the mix.
    pub masking_input: MaskingReport,
    pub masking_mix: MaskingReport,
    pub image: Image,
    pub restraint: Restraint,
    pub mix_analysis: Analysis,
    pub output: FileInfo,
    /// The master's chain and outcome, when mastered.
    pub master_chain: Option<MasterChain>,
    pub master: Option<RenderOutcome>,
    pub output_analysis: Analysis,
    pub notes: Vec<String>,
    /// `mixdown analyze`'s findings on the output (judged as a master when mastered, else as
    /// a mix), when asked for (`--report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<crate::diagnose::Diagnosis>,
}

fn lufs(buf: &AudioBuffer) -> Option<f64> {
    let v: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    Loudness::measure(&v, buf.sample_rate).integrated_lufs
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The relative path from the session's folder to a file, or the absolute path.
fn relative_to(file: &Path, dir: &Path) -> String {
    let abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let a: Vec<_> = abs.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return abs.display().to_string();
    }
    let mut p = PathBuf::new();
    for _ in common..b.len() {
        p.push("..");
    }
    for c in &a[common..] {
        p.push(c);
    }
    p.display().to_string()
}

/// What `decide_session` decided, with what the later steps need.
struct Decided {
    session: Session,
    feats: Vec<TrackFeatures>,
    guesses: Vec<RoleGuess>,
    /// Each track's balance target (LU against the lead's scale) and its reason.
    targets: Vec<(f64, String)>,
}

/// Decide everything but the faders (set as the tracks render): from the stems to a Session.
#[allow(clippy::too_many_arguments)]
fn decide_session(
    org: &Organisation,
    files: &[PathBuf],
    audio: &[AudioBuffer],
    job: &MixJob,
    session_dir: &Path,
    progress: &(dyn Fn(&str, f64) + Sync),
) -> Result<Decided> {
    let active = org.active();
    let sr = org.sample_rate;
    // 1. per track: clean-up plan, measurements, role from name and content
    let done = std::sync::atomic::AtomicUsize::new(0);
    let analysed: Vec<(CleanupPlan, TrackFeatures, roles::ContentFeatures)> = active
        .par_iter()
        .map(|&i| {
            let plan = cleanup::analyse_and_plan(&audio[i]);
            // measure the track as the strip will see it (a copy only when cleaned)
            let needs_cleaning = plan.dc.is_some()
                || plan.hum.is_some()
                || plan.denoise.is_some()
                || plan.gate.is_some();
            let cleaned_copy = needs_cleaning.then(|| {
                let mut c = audio[i].clone();
                cleanup::apply(&mut c, &plan);
                c
            });
            let cleaned = cleaned_copy.as_ref().unwrap_or(&audio[i]);
            // in parallel too: smaller jobs keep both cores busy to the last track
            let (f, c) = rayon::join(
                || features::measure(cleaned),
                || roles::content_features(cleaned),
            );
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress("analyse tracks", k as f64 / active.len() as f64);
            (plan, f, c)
        })
        .collect();
    let names: Vec<String> = active.iter().map(|&i| org.stems[i].name.clone()).collect();
    crate::timing::mark("mix: tracks analysed");
    let mut guesses: Vec<RoleGuess> = names
        .iter()
        .zip(&analysed)
        .map(|(n, (_, _, c))| roles::classify(n, c))
        .collect();
    let content: Vec<roles::ContentFeatures> = analysed.iter().map(|a| a.2.clone()).collect();
    // a stem named on the command line: by its name or its file name
    let find = |flag: &str, name: &str| -> Result<usize> {
        names
            .iter()
            .zip(&active)
            .position(|(n, &a)| {
                n.eq_ignore_ascii_case(name) || org.stems[a].file.eq_ignore_ascii_case(name)
            })
            .ok_or_else(|| {
                Error::usage(format!(
                    "--{flag} {name}=...: no stem named '{name}' (stems: {})",
                    names.join(", ")
                ))
            })
    };
    for (name, role) in &job.roles {
        let i = find("role", name)?;
        guesses[i].role = *role;
        guesses[i].source = roles::GuessSource::User;
        guesses[i].confidence = 1.0;
        guesses[i].why = format!("set by --role {name}={}", role.name());
    }
    roles::assign_presence(&mut guesses, &content);
    for (name, p) in &job.presences {
        let i = find("presence", name)?;
        guesses[i].presence = *p;
        guesses[i].presence_why = format!("set by --presence {name}={}", p.name());
    }
    let roles_v: Vec<Role> = guesses.iter().map(|g| g.role).collect();
    let pres: Vec<Presence> = guesses.iter().map(|g| g.presence).collect();
    progress("decide", 0.2);
    // 2. strips and balance targets
    let with_bass = roles_v.contains(&Role::Bass);
    let mut strips = Vec::new();
    let mut why: Vec<Vec<String>> = Vec::new();
    for (k, (_, f, _)) in analysed.iter().enumerate() {
        let (s, w) = decide::decide_strip(roles_v[k], f, with_bass);
        let mut all = vec![guesses[k].why.clone()];
        all.extend(analysed[k].0.why.iter().cloned());
        all.extend(w);
        strips.push(s);
        why.push(all);
    }
    let conf: Vec<f64> = guesses.iter().map(|g| g.confidence).collect();
    let targets = decide::balance_targets(&roles_v, &pres, &conf);
    // planned post-fader gain (from the raw loudness; refined after the strips below)
    let planned_gain: Vec<f64> = analysed
        .iter()
        .zip(&targets)
        .map(|((_, f, _), (t, _))| {
            LEAD_LEVEL_LUFS + t - f.loudness_lufs.unwrap_or(LEAD_LEVEL_LUFS + t)
        })
        .collect();
    // 3. cuts that make room for more important tracks
    let prio: Vec<i32> = roles_v
        .iter()
        .zip(&pres)
        .map(|(&r, &p)| decide::priority(r, p))
        .collect();
    let shaped: Vec<_> = analysed
        .iter()
        .zip(&strips)
        .zip(&planned_gain)
        .map(|(((_, f, _), s), &g)| {
            let gains: Vec<f32> = masking::band_centres()
                .iter()
                .map(|&c| 10f64.powf((s.response_db(c, sr as f64) + g) / 10.0) as f32)
                .collect();
            let mono = if f.band_frames.channels == 2 {
                vec![0.5f32]
            } else {
                vec![1.0f32]
            };
            let bf = &f.band_frames;
            // fold stereo tracks to one channel
            let folded = if bf.channels == 2 {
                let mut e = vec![0.0f32; bf.frames * bf.bands];
                for t in 0..bf.frames {
                    for b in 0..bf.bands {
                        e[t * bf.bands + b] = bf.at(0, t, b) + bf.at(1, t, b);
                    }
                }
                masking::BandFrames {
                    channels: 1,
                    bands: bf.bands,
                    frames: bf.frames,
                    energy: e,
                }
            } else {
                bf.clone()
            };
            folded.shaped(&gains, &mono)
        })
        .collect();
    let cuts = decide::unmasking_cuts(&names, &prio, &shaped);
    crate::timing::mark("mix: unmasking cuts");
    drop(shaped);
    for (k, c) in cuts.into_iter().enumerate() {
        for (kind, w) in c {
            strips[k].eq.push(kind);
            why[k].push(w);
        }
        decide::bound_eq(&mut strips[k].eq, sr as f64);
    }
    // 4. de-essers for vocals
    let deessers: Vec<_> = roles_v
        .iter()
        .map(|r| {
            matches!(r, Role::LeadVocal | Role::BackingVocal)
                .then(mixdown_dsp::deesser::DeEsserParams::default)
        })
        .collect();
    // 6. pans and sends
    let level: Vec<f64> = targets.iter().map(|t| t.0).collect();
    let chans: Vec<usize> = analysed.iter().map(|a| a.1.channels).collect();
    let pans: Vec<(Placement, String)> =
        decide::decide_pans(&names, &roles_v, &pres, &chans, &level);
    let mut tracks = Vec::new();
    for (k, &i) in active.iter().enumerate() {
        let (rv, dl, sw) = decide::decide_sends(roles_v[k], pres[k]);
        why[k].push(pans[k].1.clone());
        why[k].push(sw);
        tracks.push(Track {
            name: names[k].clone(),
            file: relative_to(&files[i], session_dir),
            role: roles_v[k],
            presence: pres[k],
            mute: false,
            cleanup: analysed[k].0.clone(),
            strip: strips[k].clone(),
            deesser: deessers[k].clone(),
            fader_db: 0.0,
            pan: pans[k].0.pan,
            width: pans[k].0.width,
            sends: Sends {
                reverb_db: rv,
                delay_db: dl,
            },
            why: why[k].clone(),
        });
    }
    let session = Session {
        mixdown: Header {
            format: session::FORMAT_VERSION,
            written_by: format!("mixdown {}", env!("CARGO_PKG_VERSION")),
            note: "Every decision of the automatic mix. Edit any value and run `mixdown render` on this file.".into(),
        },
        sample_rate: sr,
        frames: org.frames,
        buses: Buses {
            reverb: ReverbBus {
                enabled: true,
                return_db: 0.0,
                params: mixdown_dsp::reverb::ReverbParams::default(),
            },
            delay: DelayBus {
                enabled: true,
                return_db: 0.0,
                params: mixdown_dsp::delay::DelayParams::default(),
            },
        },
        mix_bus: MixBus {
            trim_db: 0.0,
            balance_db: 0.0,
            mono_below_hz: Some(MIX_MONO_BELOW_HZ),
        },
        master: None,
        tracks,
    };
    let feats: Vec<TrackFeatures> = analysed.into_iter().map(|a| a.1).collect();
    Ok(Decided {
        session,
        feats,
        guesses,
        targets,
    })
}

/// The mix bus, finished once, with the measurements the report needs.
struct FinishedBus {
    mix: AudioBuffer,
    /// The mix's analysis (its loudness and true peak taken from the figures below).
    analysis: Analysis,
    image_mono_lufs: Option<f64>,
    restraint_returns_below_dry_lu: Option<f64>,
}

/// Choose the return levels and the mix bus trim and balance from the rendered parts, and
/// finish the mix bus exactly as `render` does ([`finish_mix`]), measuring each signal once.
fn finish_and_measure(session: &mut Session, parts: &super::render::MixParts) -> FinishedBus {
    let sr = parts.sample_rate;
    let meas = |x: &[Vec<f32>; 2]| {
        let v: Vec<&[f32]> = x.iter().map(|c| c.as_slice()).collect();
        Loudness::measure(&v, sr).integrated_lufs
    };
    let (dry_sub, (rev, del)) = rayon::join(
        || loudness::stereo_subblocks(&parts.dry[0], &parts.dry[1], sr),
        || {
            rayon::join(
                || parts.reverb.as_ref().and_then(meas),
                || parts.delay.as_ref().and_then(meas),
            )
        },
    );
    let dry = loudness::integrated(&dry_sub.summed([1.0, 1.0]));
    // reverb 16 LU and delay 20 LU under the dry mix: together about 14.5 LU under it
    if let (Some(d), Some(w)) = (dry, rev) {
        session.buses.reverb.return_db = r2((d - 16.0 - w).clamp(-60.0, 12.0));
    }
    if let (Some(d), Some(w)) = (dry, del) {
        session.buses.delay.return_db = r2((d - 20.0 - w).clamp(-60.0, 12.0));
    }
    let returns = returns_sum(session, parts);
    let (ret_sub, mut m) = rayon::join(
        || loudness::stereo_subblocks(&returns[0], &returns[1], sr),
        || bus_untrimmed(session, parts, &returns),
    );
    drop(returns);
    // image balance: what is left of a left/right lean after the pans, evened out
    let power = |x: &[f32]| x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>();
    let tp_of = |x: &[f32]| crate::analysis::true_peak_of(x, sr);
    let ((pl, tpl), (pr, tpr)) = rayon::join(
        || (power(&m[0]), tp_of(&m[0])),
        || (power(&m[1]), tp_of(&m[1])),
    );
    session.mix_bus.balance_db = 0.0;
    if pl > 0.0 && pr > 0.0 {
        let lean = 10.0 * (pl / pr).log10();
        if lean.abs() > 0.25 {
            session.mix_bus.balance_db = r2(lean.clamp(-6.0, 6.0));
        }
    }
    // headroom: the mix's true peak at MIX_PEAK_DBFS (the balance raises one side by at most
    // half of it)
    let tp = tpl.max(tpr);
    session.mix_bus.trim_db = if tp > 0.0 {
        r2(MIX_PEAK_DBFS - 20.0 * (tp as f64).log10() - session.mix_bus.balance_db.abs() / 2.0)
    } else {
        0.0
    };
    apply_bus_trims(session, &mut m);
    let trims = bus_trims(session);
    let sq = trims.map(|t| (t as f64) * (t as f64));
    let [ml, mr] = m;
    let mix = AudioBuffer::from_channels(sr, vec![ml, mr]);
    // the finished mix: each channel's and the mono fold-down's loudness in one pass; the
    // true-peak detector is linear, so the trimmed peaks are the measured ones scaled
    let known = Known {
        // filled in below, from the pass that runs alongside the rest of the analysis
        loudness_subblocks: Vec::new(),
        true_peak: (tpl * trims[0]).max(tpr * trims[1]),
        skip_spectrum: false,
    };
    let (mix_sub, mut analysis) = rayon::join(
        || loudness::stereo_subblocks(&mix.channels[0], &mix.channels[1], sr),
        || analyse_with(&mix, Some(known)),
    );
    analysis.set_loudness_subblocks(mix_sub.summed([1.0, 1.0]));
    let returns_below_dry = match (
        loudness::integrated(&dry_sub.summed(sq)),
        loudness::integrated(&ret_sub.summed(sq)),
    ) {
        (Some(d), Some(r)) => Some(d - r),
        _ => None,
    };
    FinishedBus {
        mix,
        analysis,
        image_mono_lufs: loudness::integrated(&mix_sub.mono),
        restraint_returns_below_dry_lu: returns_below_dry,
    }
}

fn image_of(an: &Analysis, mono_lufs: Option<f64>) -> Image {
    // a mono signal on both speakers: +3 dB against one channel
    let mono_stereo = mono_lufs.map(|l| l + 3.0103);
    Image {
        low_end_correlation: an.low_end.as_ref().and_then(|s| s.correlation),
        mono_loss_lu: match (an.loudness.integrated_lufs, mono_stereo) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        },
        width: an.stereo.as_ref().map_or(0.0, |s| s.width),
        balance_db: an.stereo.as_ref().and_then(|s| s.balance_db),
    }
}

fn restraint_of(session: &Session, returns_below_dry_lu: Option<f64>) -> Restraint {
    let probe: Vec<f64> = (0..200)
        .map(|i| 20.0 * 1000f64.powf(i as f64 / 199.0))
        .collect();
    let max_eq = session
        .tracks
        .iter()
        .map(|t| {
            probe
                .iter()
                .map(|&f| {
                    t.strip
                        .eq
                        .iter()
                        .map(|k| k.response_db(f, session.sample_rate as f64))
                        .sum::<f64>()
                        .abs()
                })
                .fold(0.0f64, f64::max)
        })
        .fold(0.0f64, f64::max);
    Restraint {
        returns_below_dry_lu,
        max_eq_move_db: max_eq,
    }
}

fn write_float_wav(path: &Path, buf: &AudioBuffer) -> Result<()> {
    write_file(
        path,
        buf,
        &EncodeSpec {
            format: FileFormat::Wav,
            sample_format: SampleFormat::Float32,
            dither: false,
            dither_seed: 0,
        },
    )
    .map(|_| ())
}

fn output_spec(path: &Path, bit_depth: Option<u32>) -> Result<EncodeSpec> {
    let format = FileFormat::from_path(path)?;
    let sample_format = match bit_depth {
        Some(b) => SampleFormat::from_bit_depth(b)?,
        None => SampleFormat::Int24,
    };
    if format == FileFormat::Flac && sample_format == SampleFormat::Float32 {
        return Err(Error::file(
            path,
            "FLAC cannot store 32-bit float; use --bit-depth 16 or 24, or write a .wav",
        ));
    }
    Ok(EncodeSpec {
        format,
        sample_format,
        dither: sample_format != SampleFormat::Float32,
        dither_seed: crate::master::run::DITHER_SEED,
    })
}

/// Master (or not) the finished mix, following `chain` when given, deciding it otherwise.
/// `analysis`: the mix's, when already measured.
fn master_mix(
    mix: AudioBuffer,
    analysis: Option<&Analysis>,
    chain: Option<MasterChain>,
    opts: Option<&MasterOptions>,
    bits: Option<u32>,
    progress: &(dyn Fn(&str, f64) + Sync),
) -> Result<(AudioBuffer, Option<MasterChain>, Option<RenderOutcome>)> {
    let measured;
    let chain = match (chain, opts) {
        (Some(c), _) => Some(c),
        (None, Some(o)) => {
            let an = match analysis {
                Some(a) => a,
                None => {
                    measured = analyse(&mix);
                    &measured
                }
            };
            let mut o = o.clone();
            o.output_bits = bits.filter(|&b| b < 32).or(Some(24));
            Some(master::decide(&mix, an, &o))
        }
        (None, None) => None,
    };
    match chain {
        Some(c) => {
            let refs = match analysis {
                Some(a) => a.loudness_subblocks.clone(),
                None => crate::analysis::subblock_powers(
                    &mix.channels
                        .iter()
                        .map(|x| x.as_slice())
                        .collect::<Vec<_>>(),
                    mix.sample_rate,
                ),
            };
            let (out, outcome) = master::render(mix, &c, &refs, &|s, f| progress(s, f))?;
            Ok((out, Some(c), Some(outcome)))
        }
        None => Ok((mix, None, None)),
    }
}

/// The organisation as a table a musician reads: each track, its role, presence and why.
pub fn organisation_text(session: &Session, guesses: &[RoleGuess], org: &Organisation) -> String {
    let mut s = format!(
        "{} tracks at {} Hz, {:.1} s:\n",
        session.tracks.len(),
        session.sample_rate,
        session.frames as f64 / session.sample_rate.max(1) as f64
    );
    for (t, g) in session.tracks.iter().zip(guesses) {
        s += &format!(
            "  {:<24} {:<16} {:<11} {}\n",
            t.name,
            t.role.name(),
            t.presence.name(),
            g.why
        );
    }
    for n in &org.notes {
        s += &format!("  note: {n}\n");
    }
    s
}

/// Run `mixdown mix`. `announce` receives the organisation (tracks, roles, presence) as soon as
/// it is decided, before the long work.
pub fn run_mix(
    job: &MixJob,
    progress: &(dyn Fn(&str, f64) + Sync),
    announce: &(dyn Fn(&str) + Sync),
) -> Result<(MixReport, Session)> {
    let spec = output_spec(&job.output, job.bit_depth)?;
    crate::master::run::check_output_path(&job.output, &[])?;
    if let Some(s) = &job.session {
        crate::master::run::check_output_path(s, &[])?;
    }
    if let Some(d) = &job.stems_out {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::file(d, format!("cannot create the stems folder: {e}")))?;
    }
    crate::timing::mark("mix: start");
    progress("load stems", 0.0);
    let (files, skipped) = organise::scan_folder(&job.stems)?;
    let (audio, org) = organise::load_files(&job.stems, &files, skipped, &|k, n| {
        progress("load stems", k as f64 / n as f64)
    })?;
    crate::timing::mark("mix: loaded");
    for f in &files {
        for out in [Some(&job.output), job.session.as_ref()]
            .into_iter()
            .flatten()
        {
            crate::master::run::check_output_path(out, &[f.as_path()])?;
        }
    }
    let session_dir = job
        .session
        .as_ref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let Decided {
        mut session,
        feats,
        guesses,
        targets,
    } = decide_session(&org, &files, &audio, job, &session_dir, progress)?;
    announce(&organisation_text(&session, &guesses, &org));
    // the input as it arrived: masking of the plain sum
    let names: Vec<String> = session.tracks.iter().map(|t| t.name.clone()).collect();
    let input_frames: Vec<_> = feats
        .iter()
        .map(|f| {
            let bf = &f.band_frames;
            let flat = vec![1.0f32; bf.bands];
            if bf.channels == 1 {
                bf.shaped(&flat, &[0.5, 0.5])
            } else {
                bf.clone()
            }
        })
        .collect();
    let masking_input = masking::measure(&names, &input_frames);
    crate::timing::mark("mix: input masking");
    drop(input_frames);
    // render the tracks and buses
    let active = org.active();
    let track_audio: Vec<AudioBuffer> = {
        let mut audio = audio;
        active
            .iter()
            .map(|&i| std::mem::replace(&mut audio[i], AudioBuffer::silent(1, 1, 0)))
            .collect()
    };
    let stems_dir = job.stems_out.clone();
    let mix_frames = std::sync::Mutex::new(vec![None; session.tracks.len()]);
    let write_errors = std::sync::Mutex::new(Vec::<Error>::new());
    let mono_track: Vec<bool> = feats.iter().map(|f| f.channels == 1).collect();
    let stem_is_measured_here = |i: usize| !mono_track[i];
    let sink = |i: usize, stem: &Placed| {
        if let Some(d) = &stems_dir {
            let p = d.join(format!("{}.wav", session.tracks[i].name));
            if let Err(e) = write_float_wav(&p, &stem.stereo()) {
                write_errors.lock().expect("lock").push(e);
            }
        }
        // mono tracks were measured before the pan (below); stereo ones are measured here
        if stem_is_measured_here(i) {
            let bf = masking::band_frames(&stem.stereo());
            mix_frames.lock().expect("lock")[i] = Some(bf);
        }
    };
    // each fader sets its track, after clean-up and strip, to the balance target
    let fader = |k: usize, pre: &AudioBuffer| -> Option<f64> {
        let f = match lufs(pre) {
            Some(l) => r2((LEAD_LEVEL_LUFS + targets[k].0 - l).clamp(-60.0, 24.0)),
            None => 0.0,
        };
        if mono_track[k] && pre.num_channels() == 1 {
            // a mono track's stem is the track times its fader and pan gains: its band
            // energies are the track's, scaled (half the work of measuring the stereo stem)
            let g = 10f64.powf(f / 10.0);
            let (gl, gr) = decide::pan_gains(session.tracks[k].pan);
            let bf = masking::band_frames(pre);
            let flat = vec![1.0f32; bf.bands];
            let shaped = bf.shaped(&flat, &[(g * gl * gl) as f32, (g * gr * gr) as f32]);
            mix_frames.lock().expect("lock")[k] = Some(shaped);
        }
        Some(f)
    };
    let parts = render_parts(&session, track_audio, &fader, &sink, &|k, n| {
        progress("mix tracks", k as f64 / n as f64)
    });
    if let Some(e) = write_errors.into_inner().expect("lock").into_iter().next() {
        return Err(e);
    }
    for (k, t) in session.tracks.iter_mut().enumerate() {
        t.fader_db = parts.faders[k];
        t.why
            .push(format!("{}; fader {:+.1} dB", targets[k].1, t.fader_db));
    }
    crate::timing::mark("mix: tracks rendered");
    let results = parts.tracks.clone();
    let mix_frames: Vec<_> = mix_frames
        .into_inner()
        .expect("lock")
        .into_iter()
        .map(|f| f.unwrap_or_default())
        .collect();
    let (masking_mix, bus) = rayon::join(
        || masking::measure(&names, &mix_frames),
        || finish_and_measure(&mut session, &parts),
    );
    drop(mix_frames);
    drop(parts);
    crate::timing::mark("mix: finished and analysed");
    let FinishedBus {
        mix,
        analysis: mix_analysis,
        image_mono_lufs,
        restraint_returns_below_dry_lu,
    } = bus;
    let image = image_of(&mix_analysis, image_mono_lufs);
    let restraint = restraint_of(&session, restraint_returns_below_dry_lu);
    progress("master", 0.0);
    let (final_audio, chain, mut outcome) = master_mix(
        mix,
        Some(&mix_analysis),
        None,
        job.master.as_ref(),
        job.bit_depth,
        progress,
    )?;
    crate::timing::mark("mix: mastered");
    session.master = chain.clone();
    progress("write", 0.0);
    // the output's analysis (its loudness and true peak known from the master) while writing
    let known = outcome.as_mut().map(|o| Known {
        loudness_subblocks: std::mem::take(&mut o.output_subblocks),
        true_peak: 10f64.powf(o.loudness.output_true_peak_dbtp / 20.0) as f32,
        skip_spectrum: false,
    });
    let (written, output_analysis) = rayon::join(
        || write_file(&job.output, &final_audio, &spec),
        || match known {
            Some(k) => analyse_with(&final_audio, Some(k)),
            None => mix_analysis.clone(),
        },
    );
    written?;
    crate::timing::mark("mix: written");
    let diagnosis = job.diagnose.then(|| {
        progress("diagnose", 0.0);
        let judge = if chain.is_some() {
            crate::diagnose::JudgeAs::Master
        } else {
            crate::diagnose::JudgeAs::Mix
        };
        let opts = crate::diagnose::Options {
            judge: Some(judge),
            translate: true,
        };
        let d = crate::diagnose::analyze::diagnose_analysed(
            &final_audio,
            output_analysis.clone(),
            &job.output.display().to_string(),
            crate::diagnose::analyze::InputKind::File,
            &opts,
            &[],
        );
        progress("diagnose", 1.0);
        d
    });
    if let Some(p) = &job.session {
        let text = session.to_toml()?;
        crate::io::encode::write_text(p, &text, "the session")?;
    }
    let mut notes = org.notes.clone();
    if let Some(r) = restraint.returns_below_dry_lu {
        if r < 12.0 {
            notes.push(format!(
                "the effect returns are only {r:.1} LU under the dry mix"
            ));
        }
    }
    let tracks: Vec<TrackReport> = session
        .tracks
        .iter()
        .zip(&guesses)
        .zip(&feats)
        .zip(results)
        .map(|(((t, g), f), r)| TrackReport {
            name: t.name.clone(),
            role: t.role.name().into(),
            presence: t.presence.name().into(),
            role_source: format!("{:?}", g.source).to_lowercase(),
            role_confidence: r2(g.confidence),
            loudness_in_lufs: f.loudness_lufs,
            fader_db: t.fader_db,
            pan: t.pan,
            result: r,
            why: t.why.clone(),
        })
        .collect();
    let report = MixReport {
        mixdown_version: env!("CARGO_PKG_VERSION").into(),
        organisation: org,
        tracks,
        masking_input,
        masking_mix,
        image,
        restraint,
        mix_analysis,
        output: FileInfo {
            path: job.output.display().to_string(),
            format: FileFormat::from_path(&job.output)?.name().into(),
            sample_format: format!("{}-bit", spec.sample_format.bits()),
            sample_rate: final_audio.sample_rate,
            channels: 2,
            frames: final_audio.frames(),
            lossy: false,
        },
        master_chain: chain,
        master: outcome,
        output_analysis,
        notes,
        diagnosis,
    };
    Ok((report, session))
}

/// Run `mixdown render`: play a session back.
pub fn run_render(
    session_path: &Path,
    output: &Path,
    stems_out: Option<&Path>,
    bit_depth: Option<u32>,
    progress: &(dyn Fn(&str, f64) + Sync),
) -> Result<Session> {
    let session = Session::load(session_path)?;
    let spec = output_spec(output, bit_depth)?;
    crate::master::run::check_output_path(output, &[session_path])?;
    let dir = session_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let paths: Vec<PathBuf> = session
        .tracks
        .iter()
        .map(|t| {
            let p = PathBuf::from(&t.file);
            if p.is_absolute() {
                p
            } else {
                dir.join(p)
            }
        })
        .collect();
    for p in &paths {
        crate::master::run::check_output_path(output, &[p.as_path()])?;
    }
    if let Some(d) = stems_out {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::file(d, format!("cannot create the stems folder: {e}")))?;
    }
    progress("load stems", 0.0);
    let audio: Vec<AudioBuffer> = paths
        .par_iter()
        .map(|p| organise::load_track(p, session.sample_rate, session.frames))
        .collect::<Result<_>>()?;
    let write_errors = std::sync::Mutex::new(Vec::<Error>::new());
    let sink = |i: usize, stem: &Placed| {
        if let Some(d) = stems_out {
            let p = d.join(format!("{}.wav", session.tracks[i].name));
            if let Err(e) = write_float_wav(&p, &stem.stereo()) {
                write_errors.lock().expect("lock").push(e);
            }
        }
    };
    let parts = render_parts(&session, audio, &|_, _| None, &sink, &|k, n| {
        progress("mix tracks", k as f64 / n as f64)
    });
    if let Some(e) = write_errors.into_inner().expect("lock").into_iter().next() {
        return Err(e);
    }
    let mix = finish_mix(&session, &parts);
    drop(parts);
    let (final_audio, _, _) =
        master_mix(mix, None, session.master.clone(), None, bit_depth, progress)?;
    write_file(output, &final_audio, &spec)?;
    Ok(session)
}
