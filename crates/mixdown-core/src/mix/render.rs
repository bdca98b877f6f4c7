//! Plays a Session: every track through its clean-up, strip, de-esser, fader and pan (tracks
//! in parallel, summed in a fixed order so the result is bit-identical run to run), the sends
//! into the reverb and delay buses, the returns, the mix bus. Makes no decisions.

use super::cleanup;
use super::decide::pan_gains;
use super::session::{Session, Track};
use super::strip::render_strip;
use crate::audio::AudioBuffer;
use mixdown_dsp::compressor::GainReductionStats;
use mixdown_dsp::crossover::Lr4Crossover;
use mixdown_dsp::deesser::DeEsser;
use mixdown_dsp::delay::Delay;
use mixdown_dsp::reverb::Reverb;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What happened to one track.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackResult {
    pub name: String,
    pub compressor_gr: Option<GainReductionStats>,
}

/// The rendered mix before mastering.
pub struct MixOutput {
    /// Dry tracks + returns, after the mix bus (stereo).
    pub mix: AudioBuffer,
    /// The dry sum alone (for the restraint check), after the mix bus trim.
    pub dry: AudioBuffer,
    /// The reverb and delay returns together, after the mix bus trim.
    pub returns: AudioBuffer,
    pub tracks: Vec<TrackResult>,
}

fn db(x: f64) -> f32 {
    10f64.powf(x / 20.0) as f32
}

/// One track's processing before its fader: clean-up, strip, de-esser. Deterministic; depends
/// on nothing but the track's own settings.
pub fn process_track(track: &Track, mut audio: AudioBuffer) -> (AudioBuffer, TrackResult) {
    cleanup::apply(&mut audio, &track.cleanup);
    let gr = render_strip(&mut audio, &track.strip);
    if let Some(p) = &track.deesser {
        let mut d = DeEsser::new(p.clone(), audio.sample_rate as f64, audio.num_channels());
        let mut views: Vec<&mut [f32]> = audio
            .channels
            .iter_mut()
            .map(|c| c.as_mut_slice())
            .collect();
        d.process(&mut views);
    }
    (
        audio,
        TrackResult {
            name: track.name.clone(),
            compressor_gr: gr,
        },
    )
}

/// A processed track through its fader (`fader_db`), pan and width, to a stereo stem.
pub fn place_track(track: &Track, fader_db: f64, mut audio: AudioBuffer) -> AudioBuffer {
    let g = if track.mute { 0.0 } else { db(fader_db) };
    let (gl, gr_) = pan_gains(track.pan);
    let sr = audio.sample_rate;
    let stereo = match audio.channels.len() {
        1 => {
            let x = std::mem::take(&mut audio.channels[0]);
            let (a, b) = ((gl as f32) * g, (gr_ as f32) * g);
            let r: Vec<f32> = x.iter().map(|v| v * b).collect();
            let mut l = x;
            l.iter_mut().for_each(|v| *v *= a);
            vec![l, r]
        }
        _ => {
            let mut ch = std::mem::take(&mut audio.channels);
            let (mut l, mut r) = (std::mem::take(&mut ch[0]), std::mem::take(&mut ch[1]));
            // width on mid/side, then balance: a centred stereo track keeps its levels
            let w = track.width as f32;
            let (bl, br) = if track.pan == 0.0 {
                (1.0f32, 1.0f32)
            } else {
                let (a, b) = pan_gains(track.pan);
                (
                    (a * std::f64::consts::SQRT_2) as f32,
                    (b * std::f64::consts::SQRT_2) as f32,
                )
            };
            for (x, y) in l.iter_mut().zip(r.iter_mut()) {
                let m = 0.5 * (*x + *y);
                let s = 0.5 * (*x - *y) * w;
                *x = (m + s) * g * bl;
                *y = (m - s) * g * br;
            }
            vec![l, r]
        }
    };
    AudioBuffer::from_channels(sr, stereo)
}

/// One track from its (timeline) audio to a stereo stem: clean-up, strip, de-esser, fader,
/// pan.
pub fn render_track(track: &Track, audio: AudioBuffer) -> (AudioBuffer, TrackResult) {
    let (pre, r) = process_track(track, audio);
    (place_track(track, track.fader_db, pre), r)
}

/// The tracks summed and the effect buses' outputs, before the return levels and the mix bus.
/// Depends only on the tracks and the buses' parameters, so the engine can choose return levels
/// and headroom from it and then finish exactly as `render` would.
pub struct MixParts {
    pub sample_rate: u32,
    pub dry: [Vec<f32>; 2],
    /// 100% wet outputs (None: bus off).
    pub reverb: Option<[Vec<f32>; 2]>,
    pub delay: Option<[Vec<f32>; 2]>,
    pub tracks: Vec<TrackResult>,
    /// The fader each track was rendered with, dB.
    pub faders: Vec<f64>,
}

/// Chooses a track's fader from its processed, pre-fader audio (`None`: the session's).
pub type FaderChoice<'a> = &'a (dyn Fn(usize, &AudioBuffer) -> Option<f64> + Sync);

/// Render every track and the effect buses (`audio[i]` for `session.tracks[i]`).
/// `stem_sink(i, &stem)` receives each track's stereo stem (post-fader, post-pan, dry) as it is
/// made, e.g. to write `--stems-out`.
pub fn render_parts(
    session: &Session,
    audio: Vec<AudioBuffer>,
    fader_choice: FaderChoice,
    stem_sink: &(dyn Fn(usize, &AudioBuffer) + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
) -> MixParts {
    let n = session.frames;
    let sr = session.sample_rate;
    let mut dry = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut rev_in = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut del_in = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut results = Vec::with_capacity(session.tracks.len());
    let mut faders = Vec::with_capacity(session.tracks.len());
    let threads = rayon::current_num_threads().max(1);
    let mut pending: Vec<(usize, AudioBuffer)> = audio.into_iter().enumerate().collect();
    let total = pending.len();
    let mut done = 0;
    // a few tracks at a time in parallel; each batch is summed in track order
    while !pending.is_empty() {
        let batch: Vec<(usize, AudioBuffer)> =
            pending.drain(..threads.min(pending.len())).collect();
        let rendered: Vec<(usize, AudioBuffer, TrackResult, f64)> = batch
            .into_par_iter()
            .map(|(i, a)| {
                let t = &session.tracks[i];
                let (pre, r) = process_track(t, a);
                let fader = fader_choice(i, &pre).unwrap_or(t.fader_db);
                let stem = place_track(t, fader, pre);
                stem_sink(i, &stem);
                (i, stem, r, fader)
            })
            .collect();
        for (i, stem, r, fader) in rendered {
            faders.push(fader);
            let t = &session.tracks[i];
            let rs = t
                .sends
                .reverb_db
                .filter(|_| session.buses.reverb.enabled)
                .map(db);
            let ds = t
                .sends
                .delay_db
                .filter(|_| session.buses.delay.enabled)
                .map(db);
            for c in 0..2 {
                let s = &stem.channels[c];
                for (d, &v) in dry[c].iter_mut().zip(s) {
                    *d += v;
                }
                if let Some(g) = rs {
                    for (d, &v) in rev_in[c].iter_mut().zip(s) {
                        *d += v * g;
                    }
                }
                if let Some(g) = ds {
                    for (d, &v) in del_in[c].iter_mut().zip(s) {
                        *d += v * g;
                    }
                }
            }
            results.push(r);
            done += 1;
            progress(done, total);
        }
    }
    // effect buses (in parallel), 100% wet
    let (reverb, delay) = rayon::join(
        || {
            session.buses.reverb.enabled.then(|| {
                let mut r = Reverb::new(session.buses.reverb.params.clone(), sr as f64);
                let (mut l, mut rr) = (vec![0.0f32; n], vec![0.0f32; n]);
                r.process(&[&rev_in[0], &rev_in[1]], &mut l, &mut rr);
                [l, rr]
            })
        },
        || {
            session.buses.delay.enabled.then(|| {
                let mut d = Delay::new(session.buses.delay.params.clone(), sr as f64);
                let (mut l, mut rr) = (vec![0.0f32; n], vec![0.0f32; n]);
                d.process(&[&del_in[0], &del_in[1]], &mut l, &mut rr);
                [l, rr]
            })
        },
    );
    MixParts {
        sample_rate: sr,
        dry,
        reverb,
        delay,
        tracks: results,
        faders,
    }
}

/// Returns at their levels plus the dry sum, then the mix bus (trim, mono low end).
pub fn finish_mix(session: &Session, parts: &MixParts) -> MixOutput {
    let sr = parts.sample_rate;
    let mut returns = returns_sum(session, parts);
    let [ml, mr] = bus(session, parts, &returns);
    let trims = bus_trims(session);
    let [dl, dr] = [0, 1].map(|c| parts.dry[c].iter().map(|&d| d * trims[c]).collect());
    for c in 0..2 {
        returns[c].iter_mut().for_each(|r| *r *= trims[c]);
    }
    let [rl, rr] = returns;
    MixOutput {
        mix: AudioBuffer::from_channels(sr, vec![ml, mr]),
        dry: AudioBuffer::from_channels(sr, vec![dl, dr]),
        returns: AudioBuffer::from_channels(sr, vec![rl, rr]),
        tracks: parts.tracks.clone(),
    }
}

/// The mix bus output alone (what [`finish_mix`] gives as `mix`), without the dry and return
/// copies: for decisions that only look at the mix.
pub fn mix_bus_output(session: &Session, parts: &MixParts) -> AudioBuffer {
    let [l, r] = bus(session, parts, &returns_sum(session, parts));
    AudioBuffer::from_channels(parts.sample_rate, vec![l, r])
}

/// The effect returns at their levels, summed (before the mix bus).
fn returns_sum(session: &Session, parts: &MixParts) -> [Vec<f32>; 2] {
    let n = parts.dry[0].len();
    let mut returns = [vec![0.0f32; n], vec![0.0f32; n]];
    for (bus, level) in [
        (&parts.reverb, session.buses.reverb.return_db),
        (&parts.delay, session.buses.delay.return_db),
    ] {
        if let Some(w) = bus {
            let g = db(level);
            for c in 0..2 {
                for (o, &v) in returns[c].iter_mut().zip(&w[c]) {
                    *o += v * g;
                }
            }
        }
    }
    returns
}

/// The mix bus's gain per channel: trim and balance.
fn bus_trims(session: &Session) -> [f32; 2] {
    let b = session.mix_bus.balance_db / 2.0;
    [
        db(session.mix_bus.trim_db - b),
        db(session.mix_bus.trim_db + b),
    ]
}

/// Dry sum plus returns through the mix bus: trim, balance, mono low end.
fn bus(session: &Session, parts: &MixParts, returns: &[Vec<f32>; 2]) -> [Vec<f32>; 2] {
    let trims = bus_trims(session);
    let mut mix = [0, 1].map(|c| {
        parts.dry[c]
            .iter()
            .zip(&returns[c])
            .map(|(&d, &r)| (d + r) * trims[c])
            .collect::<Vec<f32>>()
    });
    if let Some(f) = session.mix_bus.mono_below_hz {
        let hp = Lr4Crossover::new(f, parts.sample_rate as f64);
        let mut ap = hp.matching_allpass();
        let mut hp = hp;
        let (l, r) = mix.split_at_mut(1);
        for (a, b) in l[0].iter_mut().zip(r[0].iter_mut()) {
            let m = 0.5 * (*a as f64 + *b as f64);
            let s = 0.5 * (*a as f64 - *b as f64);
            let (m2, s2) = (ap.process_f64(m), hp.high_only_f64(s));
            *a = (m2 + s2) as f32;
            *b = (m2 - s2) as f32;
        }
    }
    mix
}
