//! Gate / downward expander for noise or bleed between phrases.
//!
//! * Detector: the mean power of all channels, smoothed by a one-pole of [`DETECTOR_MS`].
//! * Gain computer: 0 dB at or above `threshold_dbfs`; below it the gain falls by
//!   `ratio - 1` dB per dB (a downward expander of that ratio; a large ratio is a gate), never
//!   below `range_db`.
//! * Ballistics, in dB: the gain rises at `range_db / attack_ms` (so it opens fully within the
//!   attack time), stays put for `hold_ms` after the signal was last at the level the gain is
//!   at, then falls at `range_db / release_ms`. Linear ramps in dB, updated every
//!   [`CONTROL`] samples and interpolated linearly in amplitude in between: no steps, no
//!   clicks.
//! * Look-ahead: the audio is delayed by the attack time relative to the detector, so the gate
//!   is fully open when a transient arrives. [`Gate::process_buffer`] compensates that delay.
//!
//! An open gate passes the audio bit for bit (gain exactly 1). All channels share one gain.

use serde::{Deserialize, Serialize};

/// Parameters of the gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateParams {
    /// Level (mean power of the channels, dBFS) below which the gain goes down.
    pub threshold_dbfs: f64,
    /// Deepest attenuation, dB (negative).
    pub range_db: f64,
    /// Expansion ratio below the threshold (2 = gentle expander, 10 or more = gate).
    pub ratio: f64,
    /// Time to open fully, ms; also the look-ahead.
    pub attack_ms: f64,
    /// Time the gain is held after the signal drops, ms.
    pub hold_ms: f64,
    /// Time to close fully (from 0 dB to `range_db`), ms.
    pub release_ms: f64,
}

/// Time constant of the level detector, ms.
pub const DETECTOR_MS: f64 = 5.0;
/// Gain update interval, samples.
pub const CONTROL: usize = 16;

/// Streaming linked gate with look-ahead.
#[derive(Clone, Debug)]
pub struct Gate {
    channels: usize,
    thr_pow: f64,
    threshold_db: f64,
    range_db: f64,
    slope: f64,
    /// dB per control step
    attack_step: f64,
    release_step: f64,
    hold_steps: usize,
    det_a: f64,
    // state
    det: f64,
    gain_db: f64,
    hold_left: usize,
    /// amplitude at the last control point and its increment per sample
    amp: f32,
    amp_step: f32,
    amp_target: f32,
    ctl: usize,
    /// Per channel look-ahead delay line.
    delay: Vec<Vec<f32>>,
    pos: usize,
}

impl Gate {
    pub fn new(params: &GateParams, sample_rate: u32, channels: usize) -> Self {
        assert!(sample_rate > 0, "sample rate must be positive");
        let fs = f64::from(sample_rate);
        let range_db = params.range_db.min(0.0);
        let ms_to_steps = |ms: f64| (ms.max(0.0) * 1e-3 * fs / CONTROL as f64).max(1.0);
        let lookahead = (params.attack_ms.max(0.0) * 1e-3 * fs).round() as usize;
        Gate {
            channels,
            thr_pow: 10f64.powf(params.threshold_dbfs / 10.0),
            threshold_db: params.threshold_dbfs,
            range_db,
            slope: (params.ratio - 1.0).max(0.0),
            attack_step: -range_db / ms_to_steps(params.attack_ms),
            release_step: -range_db / ms_to_steps(params.release_ms),
            hold_steps: (params.hold_ms.max(0.0) * 1e-3 * fs / CONTROL as f64).round() as usize,
            det_a: (-1.0 / (DETECTOR_MS * 1e-3 * fs)).exp(),
            det: 0.0,
            gain_db: range_db,
            hold_left: 0,
            amp: db_to_amp(range_db),
            amp_step: 0.0,
            amp_target: db_to_amp(range_db),
            ctl: 0,
            delay: vec![vec![0.0; lookahead]; channels],
            pos: 0,
        }
    }

    /// Delay of [`Gate::process_block`] (the look-ahead), samples.
    pub fn latency(&self) -> usize {
        self.delay.first().map_or(0, |d| d.len())
    }

    /// Back to the state of a new gate (closed, empty delay line).
    pub fn reset(&mut self) {
        self.det = 0.0;
        self.gain_db = self.range_db;
        self.hold_left = 0;
        self.amp = db_to_amp(self.range_db);
        self.amp_target = self.amp;
        self.amp_step = 0.0;
        self.ctl = 0;
        self.pos = 0;
        self.delay
            .iter_mut()
            .for_each(|d| d.iter_mut().for_each(|v| *v = 0.0));
    }

    /// Target gain for a detector power, dB.
    fn target_db(&self, power: f64) -> f64 {
        if power >= self.thr_pow {
            return 0.0;
        }
        let level = 10.0 * power.max(1e-30).log10();
        ((level - self.threshold_db) * self.slope).max(self.range_db)
    }

    /// One control step: move the gain and set up the amplitude ramp.
    fn control(&mut self) {
        let target = self.target_db(self.det);
        if target >= self.gain_db {
            self.hold_left = self.hold_steps;
            self.gain_db = (self.gain_db + self.attack_step).min(target);
        } else if self.hold_left > 0 {
            self.hold_left -= 1;
        } else {
            self.gain_db = (self.gain_db - self.release_step).max(target);
        }
        self.amp = self.amp_target;
        self.amp_target = db_to_amp(self.gain_db);
        self.amp_step = (self.amp_target - self.amp) / CONTROL as f32;
    }

    /// Processes one frame of `channels` samples (input in `frame`, replaced by the output).
    #[inline]
    fn tick(&mut self, frame: &mut [f32; 8], nch: usize) {
        let mut p = 0.0f64;
        for &v in &frame[..nch] {
            p += f64::from(v) * f64::from(v);
        }
        p /= nch as f64;
        self.det = self.det_a * self.det + (1.0 - self.det_a) * p;
        if self.ctl == 0 {
            self.control();
        }
        let g = if self.amp_step == 0.0 {
            self.amp_target
        } else {
            self.amp + self.amp_step * (self.ctl + 1) as f32
        };
        self.ctl = (self.ctl + 1) % CONTROL;
        let la = self.latency();
        for (c, v) in frame[..nch].iter_mut().enumerate() {
            let delayed = if la == 0 {
                *v
            } else {
                let d = &mut self.delay[c][self.pos];
                std::mem::replace(d, *v)
            };
            *v = if g == 1.0 { delayed } else { delayed * g };
        }
        if la > 0 {
            self.pos = (self.pos + 1) % la;
        }
    }

    /// Streams `channels` in place, delayed by [`Gate::latency`]. Up to 8 channels.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        let nch = channels.len();
        assert_eq!(nch, self.channels, "channel count mismatch");
        assert!(nch <= 8, "at most 8 channels");
        let n = channels.first().map_or(0, |c| c.len());
        let mut frame = [0.0f32; 8];
        for i in 0..n {
            for (f, ch) in frame.iter_mut().zip(channels.iter()) {
                *f = ch[i];
            }
            self.tick(&mut frame, nch);
            for (f, ch) in frame.iter().zip(channels.iter_mut()) {
                ch[i] = *f;
            }
        }
    }

    /// Gates whole channels in place; the output is aligned with the input (the look-ahead is
    /// compensated). Starts closed, from a reset state. Any number of channels; the same result
    /// as streaming through [`Gate::process_block`], computed a control step at a time.
    pub fn process_buffer(&mut self, channels: &mut [&mut [f32]]) {
        let nch = channels.len();
        assert_eq!(nch, self.channels, "channel count mismatch");
        self.reset();
        let n = channels.first().map_or(0, |c| c.len());
        if nch == 0 || n == 0 {
            return;
        }
        let la = self.latency();
        let total = n + la;
        let mut power = [0.0f64; CONTROL];
        let mut gains = [0.0f32; CONTROL];
        let mut i = 0;
        while i < total {
            let len = CONTROL.min(total - i);
            // channel-mean power of the detector's samples (silence after the end)
            power.iter_mut().for_each(|p| *p = 0.0);
            let avail = n.saturating_sub(i).min(len);
            for ch in channels.iter().filter(|_| avail > 0) {
                for (p, &v) in power.iter_mut().zip(&ch[i..i + avail]) {
                    *p += f64::from(v) * f64::from(v);
                }
            }
            // i is a multiple of CONTROL: the control step falls on the block's first sample
            for (t, (p, g)) in power.iter().zip(gains.iter_mut()).take(len).enumerate() {
                self.det = self.det_a * self.det + (1.0 - self.det_a) * (p / nch as f64);
                if t == 0 {
                    self.control();
                }
                *g = if self.amp_step == 0.0 {
                    self.amp_target
                } else {
                    self.amp + self.amp_step * (t + 1) as f32
                };
            }
            // output sample j = i + t - la is the input there times the gain at detector time
            let skip = la.saturating_sub(i).min(len);
            let first = (i + skip).saturating_sub(la);
            let count = (len - skip).min(n.saturating_sub(first));
            if gains[skip..skip + count].iter().any(|&g| g != 1.0) {
                for ch in channels.iter_mut() {
                    for (v, &g) in ch[first..first + count].iter_mut().zip(&gains[skip..]) {
                        *v *= g;
                    }
                }
            }
            i += len;
        }
        self.ctl = total % CONTROL;
    }
}

#[inline]
fn db_to_amp(db: f64) -> f32 {
    if db >= 0.0 {
        1.0
    } else {
        10f64.powf(db / 20.0) as f32
    }
}
