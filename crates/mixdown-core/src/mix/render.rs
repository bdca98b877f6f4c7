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
use serde::{Deserialize, Serialize};

/// What happened to one track.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackResult {
    pub name: String,
    pub compressor_gr: Option<GainReductionStats>,
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

/// A track after its fader and pan: a stereo stem, or a mono track with its two channel gains
/// (made into a stereo stem only when one is asked for).
pub enum Placed {
    Stereo(AudioBuffer),
    Mono { audio: AudioBuffer, gains: [f32; 2] },
}

impl Placed {
    /// The stereo stem.
    pub fn stereo(&self) -> std::borrow::Cow<'_, AudioBuffer> {
        match self {
            Placed::Stereo(b) => std::borrow::Cow::Borrowed(b),
            Placed::Mono { audio, gains } => {
                let x = &audio.channels[0];
                let [l, r] = gains.map(|g| x.iter().map(|v| v * g).collect::<Vec<f32>>());
                std::borrow::Cow::Owned(AudioBuffer::from_channels(audio.sample_rate, vec![l, r]))
            }
        }
    }

    /// Adds frames `range` of channel `c` of the stem, times `send` when given, into `dst` (the
    /// same arithmetic as adding the stereo stem's channel).
    fn add_channel(
        &self,
        c: usize,
        range: std::ops::Range<usize>,
        send: Option<f32>,
        dst: &mut [f32],
    ) {
        match (self, send) {
            (Placed::Stereo(b), None) => {
                for (d, &v) in dst.iter_mut().zip(&b.channels[c][range]) {
                    *d += v;
                }
            }
            (Placed::Stereo(b), Some(g)) => {
                for (d, &v) in dst.iter_mut().zip(&b.channels[c][range]) {
                    *d += v * g;
                }
            }
            (Placed::Mono { audio, gains }, None) => {
                let a = gains[c];
                for (d, &v) in dst.iter_mut().zip(&audio.channels[0][range]) {
                    *d += v * a;
                }
            }
            (Placed::Mono { audio, gains }, Some(g)) => {
                let a = gains[c];
                for (d, &v) in dst.iter_mut().zip(&audio.channels[0][range]) {
                    *d += (v * a) * g;
                }
            }
        }
    }
}

/// A processed track through its fader (`fader_db`), pan and width.
pub fn placed_track(track: &Track, fader_db: f64, mut audio: AudioBuffer) -> Placed {
    let g = if track.mute { 0.0 } else { db(fader_db) };
    let (gl, gr_) = pan_gains(track.pan);
    let sr = audio.sample_rate;
    if audio.channels.len() == 1 {
        return Placed::Mono {
            audio,
            gains: [(gl as f32) * g, (gr_ as f32) * g],
        };
    }
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
    Placed::Stereo(AudioBuffer::from_channels(sr, vec![l, r]))
}

/// A processed track through its fader (`fader_db`), pan and width, to a stereo stem.
pub fn place_track(track: &Track, fader_db: f64, audio: AudioBuffer) -> AudioBuffer {
    match placed_track(track, fader_db, audio) {
        Placed::Stereo(b) => b,
        m => m.stereo().into_owned(),
    }
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
/// `stem_sink(i, &stem)` receives each track after its fader and pan (dry) as it is made, e.g.
/// to write `--stems-out`.
pub fn render_parts(
    session: &Session,
    audio: Vec<AudioBuffer>,
    fader_choice: FaderChoice,
    stem_sink: &(dyn Fn(usize, &Placed) + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
) -> MixParts {
    let n = session.frames;
    let sr = session.sample_rate;
    let mut dry = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut rev_in = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut del_in = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut results = Vec::with_capacity(session.tracks.len());
    let mut faders = Vec::with_capacity(session.tracks.len());
    let total = audio.len();
    // Tracks render in parallel, a few ahead of the one being summed; the sum is taken in
    // track order (bit-identical whatever the thread count) while the next tracks render.
    let window = rayon::current_num_threads().max(1) + 2;
    type Rendered = (Placed, TrackResult, f64);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, std::thread::Result<Rendered>)>();
    let mut slots: Vec<Option<AudioBuffer>> = audio.into_iter().map(Some).collect();
    rayon::in_place_scope(|scope| {
        let mut next = 0;
        let mut ready: std::collections::BTreeMap<usize, std::thread::Result<Rendered>> =
            std::collections::BTreeMap::new();
        for want in 0..total {
            while next < total && next < want + window {
                let a = slots[next].take().expect("each track is rendered once");
                let (i, tx) = (next, tx.clone());
                scope.spawn(move |_| {
                    let job = std::panic::AssertUnwindSafe(|| {
                        let t = &session.tracks[i];
                        let (pre, r) = process_track(t, a);
                        let fader = fader_choice(i, &pre).unwrap_or(t.fader_db);
                        let stem = placed_track(t, fader, pre);
                        stem_sink(i, &stem);
                        (stem, r, fader)
                    });
                    // the receiver lives until every track is summed
                    let _ = tx.send((i, std::panic::catch_unwind(job)));
                });
                next += 1;
            }
            let (stem, r, fader) = loop {
                if let Some(done) = ready.remove(&want) {
                    break done.unwrap_or_else(|p| std::panic::resume_unwind(p));
                }
                let (i, done) = receive(&rx);
                ready.insert(i, done);
            };
            faders.push(fader);
            let t = &session.tracks[want];
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
            // block by block, so the track is read from cache for all six sums
            let mut a = 0;
            while a < n {
                let b = (a + SUM_BLOCK).min(n);
                for c in 0..2 {
                    stem.add_channel(c, a..b, None, &mut dry[c][a..b]);
                    if let Some(g) = rs {
                        stem.add_channel(c, a..b, Some(g), &mut rev_in[c][a..b]);
                    }
                    if let Some(g) = ds {
                        stem.add_channel(c, a..b, Some(g), &mut del_in[c][a..b]);
                    }
                }
                a = b;
            }
            results.push(r);
            progress(want + 1, total);
        }
    });
    // effect buses, 100% wet, each in time segments on parallel threads
    let (reverb, delay) = rayon::join(
        || {
            session.buses.reverb.enabled.then(|| {
                let params = &session.buses.reverb.params;
                render_segmented(&rev_in, sr, &|| Reverb::new(params.clone(), sr as f64))
            })
        },
        || {
            session.buses.delay.enabled.then(|| {
                let params = &session.buses.delay.params;
                render_segmented(&del_in, sr, &|| Delay::new(params.clone(), sr as f64))
            })
        },
    );
    drop(rev_in);
    drop(del_in);
    MixParts {
        sample_rate: sr,
        dry,
        reverb,
        delay,
        tracks: results,
        faders,
    }
}

/// Frames per block when a track is added into the sums.
const SUM_BLOCK: usize = 8192;

/// A linear, time-invariant stereo effect with a bounded decay: what [`render_segmented`]
/// can cut into time segments.
trait SegmentableFx {
    fn process(&mut self, input: &[&[f32]], out_l: &mut [f32], out_r: &mut [f32]);
    /// Samples after the input stops until the output stays more than 90 dB down.
    fn tail_samples(&self) -> usize;
}

impl SegmentableFx for Reverb {
    fn process(&mut self, input: &[&[f32]], out_l: &mut [f32], out_r: &mut [f32]) {
        Reverb::process(self, input, out_l, out_r)
    }
    fn tail_samples(&self) -> usize {
        Reverb::tail_samples(self)
    }
}

impl SegmentableFx for Delay {
    fn process(&mut self, input: &[&[f32]], out_l: &mut [f32], out_r: &mut [f32]) {
        Delay::process(self, input, out_l, out_r)
    }
    fn tail_samples(&self) -> usize {
        Delay::tail_samples(self)
    }
}

/// Length of the time segments an effect bus is rendered in, seconds.
const SEGMENT_S: usize = 20;

/// A linear, time-invariant stereo effect (the reverb, the delay) over a whole signal, in time
/// segments rendered on parallel threads: each segment starts from silence (a new effect from
/// `make`) and runs on past its end until its own decay is more than 90 dB down; the overhangs are
/// added in segment order. The segments depend only on the length and the rate, so the result is
/// the same whatever the thread count; it differs from one pass only by the decays cut off
/// after each segment.
fn render_segmented<P: SegmentableFx>(
    input: &[Vec<f32>; 2],
    sample_rate: u32,
    make: &(dyn Fn() -> P + Sync),
) -> [Vec<f32>; 2] {
    use rayon::prelude::*;
    let n = input[0].len();
    let seg = (SEGMENT_S * sample_rate as usize).max(1);
    let (mut out_l, mut out_r) = (vec![0.0f32; n], vec![0.0f32; n]);
    let overhangs: Vec<[Vec<f32>; 2]> = out_l
        .par_chunks_mut(seg)
        .zip(out_r.par_chunks_mut(seg))
        .enumerate()
        .map(|(k, (l, r))| {
            let start = k * seg;
            let end = start + l.len();
            let mut fx = make();
            fx.process(&[&input[0][start..end], &input[1][start..end]], l, r);
            // the segment's decay over what follows, fed silence
            let over = fx.tail_samples().min(n - end);
            let silence = vec![0.0f32; over];
            let (mut tl, mut tr) = (vec![0.0f32; over], vec![0.0f32; over]);
            fx.process(&[&silence, &silence], &mut tl, &mut tr);
            [tl, tr]
        })
        .collect();
    for (k, [tl, tr]) in overhangs.iter().enumerate() {
        let from = ((k + 1) * seg).min(n);
        for (o, v) in out_l[from..].iter_mut().zip(tl) {
            *o += v;
        }
        for (o, v) in out_r[from..].iter_mut().zip(tr) {
            *o += v;
        }
    }
    [out_l, out_r]
}

/// The next finished track. A rayon worker that waits here keeps running other jobs, so the
/// tracks it waits for cannot starve behind it.
fn receive<T>(rx: &std::sync::mpsc::Receiver<T>) -> T {
    if rayon::current_thread_index().is_none() {
        return rx.recv().expect("a track job always reports back");
    }
    loop {
        match rx.try_recv() {
            Ok(v) => return v,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
            Err(e) => panic!("track job channel closed: {e}"),
        }
    }
}

/// The mix bus output: returns at their levels plus the dry sum, the low end folded to mono,
/// then the bus trim and balance. What `render` plays, and what the mix engine measures.
pub fn finish_mix(session: &Session, parts: &MixParts) -> AudioBuffer {
    let mut m = bus_untrimmed(session, parts, &returns_sum(session, parts));
    apply_bus_trims(session, &mut m);
    let [l, r] = m;
    AudioBuffer::from_channels(parts.sample_rate, vec![l, r])
}

/// The effect returns at their levels, summed (before the mix bus).
pub fn returns_sum(session: &Session, parts: &MixParts) -> [Vec<f32>; 2] {
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
pub fn bus_trims(session: &Session) -> [f32; 2] {
    let b = session.mix_bus.balance_db / 2.0;
    [
        db(session.mix_bus.trim_db - b),
        db(session.mix_bus.trim_db + b),
    ]
}

/// Dry sum plus returns through the mix bus's low-end fold to mono, before its trim and
/// balance.
pub fn bus_untrimmed(
    session: &Session,
    parts: &MixParts,
    returns: &[Vec<f32>; 2],
) -> [Vec<f32>; 2] {
    let mut mix = [0, 1].map(|c| {
        parts.dry[c]
            .iter()
            .zip(&returns[c])
            .map(|(&d, &r)| d + r)
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

/// The mix bus's trim and balance, the bus's last step.
pub fn apply_bus_trims(session: &Session, mix: &mut [Vec<f32>; 2]) {
    let trims = bus_trims(session);
    for (c, ch) in mix.iter_mut().enumerate() {
        if trims[c] != 1.0 {
            ch.iter_mut().for_each(|v| *v *= trims[c]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mixdown_dsp::delay::DelayParams;
    use mixdown_dsp::reverb::ReverbParams;

    /// Bursts of noise over 50 s, so that tails cross the 20 s segment borders.
    fn bursts(sr: u32) -> [Vec<f32>; 2] {
        let n = 50 * sr as usize;
        let mut seed = 1u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut l = vec![0.0f32; n];
        let mut r = vec![0.0f32; n];
        for (i, (a, b)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
            // 0.4 s of noise every 3 s, one of them just before each segment border
            let t = i % (3 * sr as usize);
            let near_border = (i % (20 * sr as usize)) > 20 * sr as usize - sr as usize / 4;
            if t < 2 * sr as usize / 5 || near_border {
                *a = noise();
                *b = noise();
            }
        }
        [l, r]
    }

    fn max_diff(a: &[Vec<f32>; 2], b: &[Vec<f32>; 2]) -> (f32, f32) {
        let peak = a.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = a
            .iter()
            .flatten()
            .zip(b.iter().flatten())
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        (d, peak)
    }

    /// One pass and the segmented render of the same effect: (largest difference, peak).
    fn one_pass_and_segmented<P: SegmentableFx>(
        x: &[Vec<f32>; 2],
        sr: u32,
        make: &(dyn Fn() -> P + Sync),
    ) -> (f32, f32, [Vec<f32>; 2]) {
        let n = x[0].len();
        let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
        make().process(&[&x[0], &x[1]], &mut l, &mut r);
        let seg = render_segmented(x, sr, make);
        let (d, peak) = max_diff(&[l, r], &seg);
        (d, peak, seg)
    }

    #[test]
    fn segmented_effects_match_one_pass_to_90_db() {
        let sr = 16_000;
        let x = bursts(sr);
        let rp = ReverbParams::default();
        let (d, peak, _) = one_pass_and_segmented(&x, sr, &|| Reverb::new(rp.clone(), sr as f64));
        assert!(peak > 0.01, "the reverb made no output");
        assert!(
            d < peak * 10f32.powf(-90.0 / 20.0),
            "reverb {d} vs peak {peak}"
        );
        let dp = DelayParams::default();
        let make = || Delay::new(dp.clone(), sr as f64);
        let (d, peak, seg) = one_pass_and_segmented(&x, sr, &make);
        assert!(peak > 0.01, "the delay made no output");
        assert!(
            d < peak * 10f32.powf(-90.0 / 20.0),
            "delay {d} vs peak {peak}"
        );
        // the same result every time
        let again = render_segmented(&x, sr, &make);
        assert!(seg == again);
    }
}
