//! Translation: how a mix sounds on the systems people play it on, and what it loses there.
//!
//! Each playback system is a small, explicit model: a fold-down (or not) of the stereo image
//! and a chain of biquads (the RBJ designs of [`mixdown_dsp::biquad`], bilinear transform at
//! the file's own sample rate), normalised to 0 dB at 1 kHz. [`simulate`] renders what the
//! listener hears; [`spec_response_db`] is the model's magnitude response, evaluated
//! analytically from the same coefficients (each section's transfer function at e^{jω}), so the
//! rendered response can be checked against it. [`translate`] renders the song through every
//! system (and passes each stem, if given, through the same models) and reports, in a
//! musician's words, what is lost.
//!
//! # The models
//!
//! | system  | image                          | filters (all normalised to 0 dB at 1 kHz)                                                    |
//! |---------|--------------------------------|----------------------------------------------------------------------------------------------|
//! | phone   | mono: (L+R)/2 in every channel | 4th-order Butterworth high-pass 300 Hz; bell +4 dB at 3 kHz, Q 1.2; 2nd-order Butterworth low-pass 10 kHz |
//! | laptop  | narrowed: side × 0.4           | 4th-order Butterworth high-pass 180 Hz; bell +3 dB at 5 kHz, Q 1.0; 2nd-order Butterworth low-pass 15 kHz |
//! | earbuds | unchanged                      | 2nd-order Butterworth high-pass 40 Hz; bell +2.5 dB at 3.5 kHz, Q 1.5                         |
//! | car     | unchanged                      | 2nd-order Butterworth high-pass 28 Hz; low shelf +6 dB below 80 Hz (S 0.8); bell −2 dB at 1.5 kHz, Q 1.0; high shelf −4 dB above 5 kHz (S 0.7) |
//! | mono    | mono: (L+R)/2 in every channel | none                                                                                         |
//!
//! Where the numbers come from (published measurements of small speakers, rounded):
//! * **Phone**: a micro-speaker (about 1 cm² of cone in a back volume of about 1 cm³) resonates
//!   near 600-1000 Hz and falls at 12 dB/octave below it, and the phone's protection DSP cuts
//!   steeply under about 300 Hz (hence 24 dB/octave there); the upper mids carry most of the
//!   output (a presence bump near 3 kHz); little is left above 10 kHz. One speaker (or two that
//!   are a few centimetres apart): the image is mono.
//! * **Laptop**: two 1-2 cm drivers in thin enclosures play little under 150-200 Hz (24
//!   dB/octave below 180 Hz with the laptop's protection filter), with an upper-mid bump near
//!   5 kHz and a roll-off near 15 kHz. The speakers are 25-35 cm apart at arm's length, about
//!   ±15° instead of the stereo triangle's ±30°, with strong acoustic crosstalk: the side
//!   signal is kept at 0.4 of its level.
//! * **Earbuds**: unsealed buds leak the deep bass (a mild 12 dB/octave roll-off below about
//!   40 Hz) and are tuned with a slight presence peak near the ear-canal resonance.
//! * **Car**: the cabin's pressure-field gain lifts everything under its lowest mode (a low
//!   shelf, +6 dB below about 80 Hz) down to the door woofers' limit (28 Hz); the dash and
//!   door placement leave a slight dip at 1-2 kHz; road and engine noise, absorbent seats and
//!   off-axis tweeters take the top off (a gentle high-shelf cut of 4 dB above about 5 kHz).
//! * **Mono**: left and right summed, as on a Bluetooth or smart speaker, a PA or a phone: no
//!   filtering, only the fold-down (content out of phase between the channels cancels, wide
//!   content loses its sides, hard-panned parts lose half their power).
//!
//! Mono outputs keep the input's channel count (the same signal in every channel), so that
//! BS.1770 loudness before and after compares like with like: a centred part keeps its
//! loudness, a decorrelated part drops 3 dB, an anti-phase part disappears.
//!
//! # What is measured
//!
//! * `loudness_change_lu`: integrated loudness (BS.1770) after minus before.
//! * `band_changes_db`: the level change of six musically named bands (sub, bass, low-mids,
//!   mids, presence, air) from long-term spectra (Hann-windowed FFT frames of about 3 Hz
//!   resolution, the same frames before and after), after loudness matching (the loudness
//!   change is subtracted). Bands where the song has no energy are left out.
//! * "The bass vanishes": the song's (or a stem's) energy below 200 Hz must be a real part of
//!   it, the system must lose at least 10 dB of it, and its harmonics between 200 Hz and 1 kHz
//!   (what lets the ear rebuild a missing fundamental) must be more than 20 dB below it. For a
//!   stem that is its energy in 200 Hz-1 kHz; for the whole mix (where that range is full of
//!   other parts) it is the energy at the harmonics of the strongest low note of each frame
//!   (a comb of ±1 bin teeth at 2f0, 3f0, ... inside 200 Hz-1 kHz).
//! * Track changes (stems): the change of the stem's K-weighted energy through the system minus
//!   the mix's own change. Stems are not rendered: the stem's long-term spectrum, and the part
//!   of it that survives a fold-down (|ΣX_c|²/channels per bin), go through the model's power
//!   response on the same bins (the same coefficients; a test checks the prediction against
//!   the rendering), so a stem costs one analysis instead of five renderings. Reported: a low
//!   part that vanishes, a track 3 dB or more quieter against the rest of the mix (with the
//!   band or the image effect that causes it), and in mono each stem that drops more than
//!   2 dB in the fold-down, with its cause (anti-phase, wide, hard-panned); a stem that drops
//!   no more than the whole mix (within 1 dB, and less than 6 dB) keeps its note in `tracks`
//!   but is not repeated in `lost`, where the mix's own sentence covers it.
//!
//! Limitations: linear, time-invariant models (no phone limiter or bass-enhancement DSP, no
//! room or car-cabin modes, no distortion), one tuning per class of device; the mix-level
//! harmonic comb follows one low note per frame, so two simultaneous low parts (kick and bass)
//! are judged by the stronger, and stems give the more precise answer.

use crate::AudioBuffer;
use mixdown_dsp::biquad::{Butterworth, Coeffs, FilterChain, FilterKind, BUTTERWORTH_Q};
use mixdown_dsp::loudness::{self, Loudness};
use rayon::prelude::*;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// A playback system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Playback {
    Phone,
    Laptop,
    Earbuds,
    Car,
    Mono,
}

/// The rate at which [`spec_response_db`] evaluates the designs (the filters are designed at
/// each file's own rate; see [`spec_response_db_at`]).
pub const SPEC_SAMPLE_RATE: f64 = 48_000.0;
/// Every model passes this frequency at 0 dB.
pub const REFERENCE_HZ: f64 = 1_000.0;
/// Side-signal gain of the laptop model (close speakers, crosstalk).
pub const LAPTOP_SIDE_GAIN: f32 = 0.4;
/// Upper edge of the low end whose loss is judged ("the bass").
pub const BASS_CUTOFF_HZ: f64 = 200.0;
/// Upper edge of the harmonics that carry a bass line on small speakers.
pub const HARMONICS_TOP_HZ: f64 = 1_000.0;

/// The low end counts as lost when it drops at least this much (dB).
const LOW_LOSS_DB: f64 = -10.0;
/// ... and the bass vanishes when its harmonics are this far below it (dB).
const HARMONICS_DB: f64 = -20.0;
/// Share of the mix's energy below 200 Hz for its bass to be judged at all.
const LOW_SHARE_MIX: f64 = 0.1;
/// Share of a stem's energy below 200 Hz for it to be judged as a low part.
const LOW_SHARE_STEM: f64 = 0.5;
/// Mono drops larger than this are reported (dB).
const MONO_DROP_DB: f64 = 2.0;
/// A stem's mono drop is talked about when it drops this much more than the mix (dB) ...
const MONO_STANDS_OUT_DB: f64 = 1.0;
/// ... or this much in all (dB).
const MONO_DEEP_DB: f64 = 6.0;
/// Band changes at least this large are reported (dB).
const BAND_REPORT_DB: f64 = 3.0;
/// Track changes against the mix at least this large are noted (dB).
const TRACK_REPORT_DB: f64 = 3.0;
/// Bands with less than this share of the song's energy are left out of `band_changes_db`.
const BAND_LISTED_SHARE: f64 = 1e-6;
/// ... and less than this share are not talked about.
const BAND_TALKED_SHARE: f64 = 1e-3;
/// Power ratios are floored here (−100 dB): "gone".
const FLOOR_RATIO: f64 = 1e-10;
/// Spectrum frames analysed at most per signal (spread evenly: deterministic, bounded cost).
const MAX_FRAMES: usize = 200;
/// The harmonic comb needs at least this resolution (Hz per bin).
const MAX_COMB_BIN_HZ: f64 = 6.0;

impl Playback {
    pub const ALL: [Playback; 5] = [
        Playback::Phone,
        Playback::Laptop,
        Playback::Earbuds,
        Playback::Car,
        Playback::Mono,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Playback::Phone => "phone",
            Playback::Laptop => "laptop",
            Playback::Earbuds => "earbuds",
            Playback::Car => "car",
            Playback::Mono => "mono",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Playback::Phone => {
                "phone speaker: one small speaker (mono), almost nothing below 300 Hz, \
                 a presence bump near 3 kHz, little above 10 kHz"
            }
            Playback::Laptop => {
                "laptop speakers: little below 180 Hz, a narrow stereo image, \
                 a bump near 5 kHz, little above 15 kHz"
            }
            Playback::Earbuds => {
                "earbuds: the deep bass rolls off below 40 Hz, a slight presence peak near 3.5 kHz"
            }
            Playback::Car => {
                "car: the cabin lifts the low end below 80 Hz, a slight dip at 1-2 kHz, \
                 road noise masks the highs"
            }
            Playback::Mono => {
                "mono: left and right summed, as on a Bluetooth or smart speaker, a PA or a phone"
            }
        }
    }

    /// "on a phone", "in a car", ...
    fn on(self) -> &'static str {
        match self {
            Playback::Phone => "on a phone",
            Playback::Laptop => "on laptop speakers",
            Playback::Earbuds => "on earbuds",
            Playback::Car => "in a car",
            Playback::Mono => "in mono",
        }
    }

    /// Whether the model sums the channels to one.
    pub fn folds_to_mono(self) -> bool {
        matches!(self, Playback::Phone | Playback::Mono)
    }

    /// The model's filter sections, in processing order (before the 1 kHz normalisation).
    pub fn sections(self) -> Vec<FilterKind> {
        match self {
            Playback::Phone => {
                let mut s = Butterworth::highpass(300.0, 4).sections();
                s.push(FilterKind::Peaking {
                    freq_hz: 3_000.0,
                    gain_db: 4.0,
                    q: 1.2,
                });
                s.push(FilterKind::LowPass {
                    freq_hz: 10_000.0,
                    q: BUTTERWORTH_Q,
                });
                s
            }
            Playback::Laptop => {
                let mut s = Butterworth::highpass(180.0, 4).sections();
                s.push(FilterKind::Peaking {
                    freq_hz: 5_000.0,
                    gain_db: 3.0,
                    q: 1.0,
                });
                s.push(FilterKind::LowPass {
                    freq_hz: 15_000.0,
                    q: BUTTERWORTH_Q,
                });
                s
            }
            Playback::Earbuds => vec![
                FilterKind::HighPass {
                    freq_hz: 40.0,
                    q: BUTTERWORTH_Q,
                },
                FilterKind::Peaking {
                    freq_hz: 3_500.0,
                    gain_db: 2.5,
                    q: 1.5,
                },
            ],
            Playback::Car => vec![
                FilterKind::HighPass {
                    freq_hz: 28.0,
                    q: BUTTERWORTH_Q,
                },
                FilterKind::LowShelf {
                    freq_hz: 80.0,
                    gain_db: 6.0,
                    slope: 0.8,
                },
                FilterKind::Peaking {
                    freq_hz: 1_500.0,
                    gain_db: -2.0,
                    q: 1.0,
                },
                FilterKind::HighShelf {
                    freq_hz: 5_000.0,
                    gain_db: -4.0,
                    slope: 0.7,
                },
            ],
            Playback::Mono => Vec::new(),
        }
    }
}

/// Sum of the realised (coefficient) responses of `sections` at `hz`, dB.
fn chain_db(sections: &[FilterKind], hz: f64, sample_rate: f64) -> f64 {
    sections
        .iter()
        .map(|k| Coeffs::design(k, sample_rate).response(hz, sample_rate).0)
        .sum()
}

/// The model's specification: its magnitude response in dB at `hz`, relative to 1 kHz, as
/// designed at [`SPEC_SAMPLE_RATE`] (48 kHz). Describes centred content (L = R); the laptop's
/// narrowing and the mono fold-down do not change it.
pub fn spec_response_db(p: Playback, hz: f64) -> f64 {
    spec_response_db_at(p, hz, SPEC_SAMPLE_RATE)
}

/// [`spec_response_db`] for the filters designed at `sample_rate` (what [`simulate`] applies
/// to a file at that rate). 0 dB for a rate that is not finite and positive.
pub fn spec_response_db_at(p: Playback, hz: f64, sample_rate: f64) -> f64 {
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return 0.0;
    }
    let s = p.sections();
    chain_db(&s, hz, sample_rate) - chain_db(&s, REFERENCE_HZ, sample_rate)
}

/// Renders what a listener hears on `p`. Phone and mono: the channels' average, in every
/// channel; laptop: the side signal narrowed (stereo input only); then the model's filters,
/// normalised to 0 dB at 1 kHz. The output has the input's channel count, length and rate.
/// Deterministic; any input is accepted (a zero sample rate only folds, without filtering).
pub fn simulate(buf: &AudioBuffer, p: Playback) -> AudioBuffer {
    let nch = buf.channels.len();
    let sr = buf.sample_rate;
    if nch == 0 {
        return buf.clone();
    }
    let filter = sr > 0;
    let sections = p.sections();
    let gain = if filter && !sections.is_empty() {
        // within ±60 dB: only a rate too low for the model (1 kHz near or above Nyquist)
        // could ask for more
        let db = chain_db(&sections, REFERENCE_HZ, f64::from(sr)).clamp(-60.0, 60.0);
        if db.is_finite() {
            10f64.powf(-db / 20.0) as f32
        } else {
            1.0
        }
    } else {
        1.0
    };
    if p.folds_to_mono() {
        let n = buf.frames();
        let mut mono = vec![0.0f32; n];
        if nch == 2 {
            for ((m, &l), &r) in mono.iter_mut().zip(&buf.channels[0]).zip(&buf.channels[1]) {
                *m = 0.5 * (l + r);
            }
        } else {
            let w = 1.0 / nch as f32;
            for ch in &buf.channels {
                for (m, &x) in mono.iter_mut().zip(ch) {
                    *m += w * x;
                }
            }
        }
        if filter && !sections.is_empty() {
            let mut chain = FilterChain::new(&sections, f64::from(sr), 1);
            chain.process_mono_whole(&mut mono);
            if gain != 1.0 {
                mono.iter_mut().for_each(|x| *x *= gain);
            }
        }
        let mut channels = Vec::with_capacity(nch);
        for _ in 1..nch {
            channels.push(mono.clone());
        }
        channels.push(mono);
        return AudioBuffer {
            sample_rate: sr,
            channels,
        };
    }
    let mut out = buf.clone();
    if p == Playback::Laptop {
        if let [l, r] = out.channels.as_mut_slice() {
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                let mid = 0.5 * (*a + *b);
                let side = 0.5 * (*a - *b) * LAPTOP_SIDE_GAIN;
                *a = mid + side;
                *b = mid - side;
            }
        }
    }
    if filter && !sections.is_empty() {
        let mut chain = FilterChain::new(&sections, f64::from(sr), nch);
        chain.process_channels(&mut out.channels);
        if gain != 1.0 {
            out.apply_gain(gain);
        }
    }
    out
}

/// The level change of one musically named band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandChange {
    pub band: String,
    pub lo_hz: f64,
    pub hi_hz: f64,
    /// After minus before, loudness-matched (dB; −100 for "gone").
    pub change_db: f64,
}

/// How one stem fares on a system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackLoss {
    pub track: String,
    /// The track's level change on this system minus the whole mix's (dB; K-weighted energy).
    pub change_db: f64,
    /// What happens to it, when something does.
    pub note: Option<String>,
}

/// What the song loses on one system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Translation {
    pub playback: String,
    pub description: String,
    /// Integrated loudness after minus before (BS.1770), LU.
    pub loudness_change_lu: Option<f64>,
    pub band_changes_db: Vec<BandChange>,
    /// Plain sentences: what is lost (or exaggerated) on this system.
    pub lost: Vec<String>,
    /// One entry per stem (empty without stems).
    pub tracks: Vec<TrackLoss>,
}

/// A musically named band and what it carries.
struct Band {
    name: &'static str,
    label: &'static str,
    /// The label takes a plural verb ("the mids drop").
    plural: bool,
    lo: f64,
    hi: f64,
    /// What the listener misses when it drops.
    lose: &'static str,
    /// What goes wrong when it rises.
    gain: &'static str,
}

const BANDS: [Band; 6] = [
    Band {
        name: "sub",
        label: "the sub-bass (20-60 Hz)",
        plural: false,
        lo: 20.0,
        hi: 60.0,
        lose: "the weight of the kick and 808s goes",
        gain: "the sub-bass booms",
    },
    Band {
        name: "bass",
        label: "the bass (60-200 Hz)",
        plural: false,
        lo: 60.0,
        hi: 200.0,
        lose: "the bass and the body of the kick get thin",
        gain: "bass and kick boom and can cover the rest",
    },
    Band {
        name: "low-mids",
        label: "the low-mids (200-500 Hz)",
        plural: true,
        lo: 200.0,
        hi: 500.0,
        lose: "the mix loses its warmth",
        gain: "the mix gets muddy and boxy",
    },
    Band {
        name: "mids",
        label: "the mids (500 Hz-2 kHz)",
        plural: true,
        lo: 500.0,
        hi: 2_000.0,
        lose: "vocals, guitars and keys lose their body",
        gain: "the mix gets honky and pushy",
    },
    Band {
        name: "presence",
        label: "the presence range (2-6 kHz)",
        plural: false,
        lo: 2_000.0,
        hi: 6_000.0,
        lose: "vocals and attacks lose their clarity",
        gain: "vocals, snare and guitars get forward and harsh",
    },
    Band {
        name: "air",
        label: "the air (6-20 kHz)",
        plural: false,
        lo: 6_000.0,
        hi: 20_000.0,
        lose: "cymbals, breath and sparkle get dull",
        gain: "cymbals and esses get bright and sibilant",
    },
];

/// Long-term power spectrum, plus the harmonic comb when asked for.
#[derive(Clone, Debug, Default)]
struct Spectrum {
    bin_hz: f64,
    /// Channel-summed power per bin.
    power: Vec<f64>,
    /// The part of `power` that survives a fold-down to the channels' average (in every
    /// channel): `|Σ X_c|² / channels` per bin.
    fold: Vec<f64>,
    channels: usize,
    comb: Option<Comb>,
}

impl Spectrum {
    /// Power of the bins whose centres lie in `[lo, hi)` (DC excluded).
    fn band(&self, lo: f64, hi: f64) -> f64 {
        if self.bin_hz.is_nan() || self.bin_hz <= 0.0 || self.power.is_empty() {
            return 0.0;
        }
        let k0 = ((lo / self.bin_hz).ceil().max(1.0)) as usize;
        let k1 = ((hi / self.bin_hz).ceil().max(0.0) as usize).min(self.power.len());
        if k0 >= k1 {
            return 0.0;
        }
        self.power[k0..k1].iter().sum()
    }

    fn nyquist(&self) -> f64 {
        self.bin_hz * self.power.len().saturating_sub(1) as f64
    }

    fn total(&self) -> f64 {
        self.band(BANDS[0].lo, f64::INFINITY)
    }

    /// K-weighted power (DC excluded).
    fn weighted(&self, r: &Response) -> f64 {
        self.power
            .iter()
            .zip(&r.k_weight)
            .skip(1)
            .map(|(p, k)| p * k)
            .sum()
    }

    /// The spectrum after playback on `p`: the fold-down or narrowing of the image, then the
    /// model's power response (`r` must have this spectrum's bins).
    fn through(&self, p: Playback, r: &Response) -> Spectrum {
        let g = r.gains(p);
        let side_gain = f64::from(LAPTOP_SIDE_GAIN).powi(2);
        let power: Vec<f64> = match p {
            _ if p.folds_to_mono() => self.fold.iter().zip(g).map(|(f, g)| f * g).collect(),
            Playback::Laptop if self.channels == 2 => self
                .power
                .iter()
                .zip(&self.fold)
                .zip(g)
                .map(|((t, f), g)| (f + side_gain * (t - f).max(0.0)) * g)
                .collect(),
            _ => self.power.iter().zip(g).map(|(t, g)| t * g).collect(),
        };
        Spectrum {
            bin_hz: self.bin_hz,
            fold: Vec::new(),
            channels: self.channels,
            power,
            comb: None,
        }
    }
}

/// Power responses on the bins of one spectrum layout: the K-weighting of BS.1770 and every
/// model (normalised to 1 kHz), from the same coefficients the renderers use.
struct Response {
    bin_hz: f64,
    k_weight: Vec<f64>,
    systems: Vec<Vec<f64>>,
}

impl Response {
    fn new(sample_rate: u32, bin_hz: f64, bins: usize) -> Response {
        let fs = f64::from(sample_rate);
        if !(fs > 0.0 && bin_hz > 0.0) {
            return Response {
                bin_hz,
                k_weight: vec![1.0; bins],
                systems: vec![vec![1.0; bins]; Playback::ALL.len()],
            };
        }
        let freq = |i: usize| i as f64 * bin_hz;
        let power = |coeffs: &[Coeffs], f: f64| -> f64 {
            let db: f64 = coeffs.iter().map(|c| c.response(f, fs).0).sum();
            10f64.powf(db / 10.0)
        };
        let k: Vec<Coeffs> = loudness::k_weighting(fs)
            .iter()
            .map(|c| Coeffs {
                b0: c.b0,
                b1: c.b1,
                b2: c.b2,
                a1: c.a1,
                a2: c.a2,
            })
            .collect();
        let k_weight = (0..bins).map(|i| power(&k, freq(i))).collect();
        let systems = Playback::ALL
            .iter()
            .map(|p| {
                let c: Vec<Coeffs> = p.sections().iter().map(|s| Coeffs::design(s, fs)).collect();
                let reference = power(&c, REFERENCE_HZ).clamp(1e-6, 1e6);
                (0..bins).map(|i| power(&c, freq(i)) / reference).collect()
            })
            .collect();
        Response {
            bin_hz,
            k_weight,
            systems,
        }
    }

    fn for_spectrum(sample_rate: u32, s: &Spectrum) -> Response {
        Response::new(sample_rate, s.bin_hz, s.power.len())
    }

    fn fits(&self, s: &Spectrum) -> bool {
        self.bin_hz == s.bin_hz && self.k_weight.len() == s.power.len()
    }

    fn gains(&self, p: Playback) -> &[f64] {
        let i = Playback::ALL.iter().position(|&q| q == p).unwrap_or(0);
        self.systems.get(i).map_or(&[], |v| v.as_slice())
    }
}

/// Energy below 200 Hz and at the harmonics of each frame's strongest low note.
#[derive(Clone, Debug, Default)]
struct Comb {
    low: f64,
    harmonics: f64,
    loudest_low: f64,
    /// The strongest low note of the frame with the most low energy, Hz.
    f0_hz: f64,
}

impl Comb {
    fn frame(&mut self, p: &[f64], bin_hz: f64) {
        if !(bin_hz > 0.0 && bin_hz <= MAX_COMB_BIN_HZ) || p.len() < 4 {
            return;
        }
        let k_low = (BANDS[0].lo / bin_hz).ceil().max(1.0) as usize;
        let k_search = (30.0 / bin_hz).ceil().max(1.0) as usize;
        let k_hi = ((BASS_CUTOFF_HZ / bin_hz).ceil() as usize).min(p.len() - 1);
        if k_search + 2 >= k_hi || k_low >= k_hi {
            return;
        }
        let low: f64 = p[k_low..k_hi].iter().sum();
        if !(low > 0.0 && low.is_finite()) {
            return;
        }
        let mut kp = k_search;
        for k in k_search..k_hi {
            if p[k] > p[kp] {
                kp = k;
            }
        }
        // parabolic interpolation of the peak on log power
        let lnp = |k: usize| p[k].max(1e-300).ln();
        let (a, b, c) = (lnp(kp - 1), lnp(kp), lnp(kp + 1));
        let den = a - 2.0 * b + c;
        let d = if den < 0.0 {
            (0.5 * (a - c) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let f0 = kp as f64 + d;
        let mut harmonics = 0.0;
        let mut h = 2.0;
        loop {
            let centre = h * f0;
            let hz = centre * bin_hz;
            if hz > HARMONICS_TOP_HZ || centre + 2.0 >= p.len() as f64 {
                break;
            }
            if hz >= BASS_CUTOFF_HZ {
                let k = centre.round() as usize;
                harmonics += p[k - 1] + p[k] + p[k + 1];
            }
            h += 1.0;
        }
        self.low += low;
        self.harmonics += harmonics;
        if low > self.loudest_low {
            self.loudest_low = low;
            self.f0_hz = f0 * bin_hz;
        }
    }

    /// Harmonics relative to the low end, dB.
    fn ratio_db(&self) -> Option<f64> {
        ratio_db(self.low, self.harmonics)
    }
}

/// FFT size: about 3 Hz per bin, a power of two, no longer than the signal needs.
fn fft_size(sample_rate: u32, n: usize) -> usize {
    let want = (f64::from(sample_rate) / 3.0).clamp(1024.0, 262_144.0);
    let full = want.log2().ceil().exp2() as usize;
    full.min(n.next_power_of_two().max(256))
}

/// Long-term spectrum of `channels`: Hann frames, half overlap, at most [`MAX_FRAMES`]
/// frames spread evenly (the same frames for any two signals of one length). `copies`: how
/// many identical channels each given one stands for (a folded rendering is measured once).
fn long_term(channels: &[&[f32]], sample_rate: u32, with_comb: bool, copies: f64) -> Spectrum {
    let n = channels.first().map_or(0, |c| c.len());
    let sr = sample_rate;
    if n == 0 || sr == 0 {
        return Spectrum::default();
    }
    let size = fft_size(sr, n);
    let bin_hz = f64::from(sr) / size as f64;
    let hop = size / 2;
    let total = if n > size { (n - size) / hop + 1 } else { 1 };
    let frames = total.min(MAX_FRAMES);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(size);
    let window: Vec<f64> = (0..size)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / size as f64).cos())
        .collect();
    let win_power: f64 = window.iter().map(|w| w * w).sum();
    let norm = copies / (win_power * frames as f64);
    let fold_norm = norm / channels.len() as f64;
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let bins = output.len();
    let mut frame = vec![0.0f64; bins];
    let mut sum = vec![(0.0f64, 0.0f64); bins];
    let mut acc = vec![0.0f64; bins];
    let mut fold = vec![0.0f64; bins];
    let mut comb = with_comb.then(Comb::default);
    for f in 0..frames {
        let start = if frames == total {
            f * hop
        } else {
            (f as f64 * (n - size) as f64 / (frames - 1) as f64) as usize
        };
        frame.fill(0.0);
        sum.fill((0.0, 0.0));
        for ch in channels {
            let end = (start + size).min(ch.len());
            let seg = ch.get(start..end).unwrap_or(&[]);
            for (i, (v, w)) in input.iter_mut().zip(&window).enumerate() {
                *v = seg.get(i).map_or(0.0, |&x| f64::from(x) * w);
            }
            if fft
                .process_with_scratch(&mut input, &mut output, &mut scratch)
                .is_err()
            {
                continue;
            }
            for ((p, s), c) in frame.iter_mut().zip(sum.iter_mut()).zip(&output) {
                *p += (c.re * c.re + c.im * c.im) * norm;
                s.0 += c.re;
                s.1 += c.im;
            }
        }
        for (((a, fo), p), s) in acc.iter_mut().zip(fold.iter_mut()).zip(&frame).zip(&sum) {
            *a += p;
            *fo += (s.0 * s.0 + s.1 * s.1) * fold_norm;
        }
        if let Some(c) = comb.as_mut() {
            c.frame(&frame, bin_hz);
        }
    }
    Spectrum {
        bin_hz,
        power: acc,
        fold,
        channels: channels.len(),
        comb,
    }
}

/// Views of a buffer's channels and how many copies each stands for: a rendering whose
/// channels are all the same (a fold-down) is measured on one.
fn views_of(buf: &AudioBuffer, identical: bool) -> (Vec<&[f32]>, f64) {
    let all: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    if identical && all.len() > 1 {
        (all[..1].to_vec(), all.len() as f64)
    } else {
        (all, 1.0)
    }
}

/// K-weighted energy (channel-summed; plain energy for signals shorter than 100 ms) and the
/// integrated loudness (BS.1770), from one pass of K-weighted sub-block powers.
fn k_measure(views: &[&[f32]], sample_rate: u32, copies: f64) -> (f64, Option<f64>) {
    let n = views.first().map_or(0, |c| c.len());
    if views.is_empty() || n == 0 || sample_rate == 0 {
        return (0.0, None);
    }
    if n < loudness::subblock_len(sample_rate) {
        let e: f64 = views
            .iter()
            .flat_map(|c| c.iter())
            .map(|&x| f64::from(x) * f64::from(x))
            .sum();
        return (e * copies, None);
    }
    let mut sub = loudness::subblock_powers(views, sample_rate);
    if copies != 1.0 {
        sub.iter_mut().for_each(|p| *p *= copies);
    }
    let lufs = Loudness::from_subblocks(&sub)
        .integrated_lufs
        .filter(|l| l.is_finite());
    (sub.iter().sum(), lufs)
}

/// `after` over `before` in dB, floored at −100 dB; `None` when `before` has no energy.
fn ratio_db(before: f64, after: f64) -> Option<f64> {
    (before > 0.0 && before.is_finite() && after.is_finite())
        .then(|| 10.0 * (after.max(0.0) / before).max(FLOOR_RATIO).log10())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How a stereo signal behaves in the fold-down (L+R)/2.
#[derive(Clone, Copy, Debug)]
struct Fold {
    /// Power of the fold-down (in both channels) over the stereo power, dB.
    drop_db: f64,
    correlation: f64,
    /// Quieter channel's power over the louder one's (0..1).
    balance: f64,
}

impl Fold {
    fn of(buf: &AudioBuffer) -> Option<Fold> {
        let [l, r] = buf.channels.as_slice() else {
            return None;
        };
        let (mut ll, mut rr, mut lr) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in l.iter().zip(r) {
            let (a, b) = (f64::from(a), f64::from(b));
            ll += a * a;
            rr += b * b;
            lr += a * b;
        }
        let total = ll + rr;
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        let drop_db = ratio_db(total, 0.5 * (total + 2.0 * lr))?;
        let correlation = if ll > 0.0 && rr > 0.0 {
            (lr / (ll * rr).sqrt()).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        Some(Fold {
            drop_db,
            correlation,
            balance: ll.min(rr) / ll.max(rr),
        })
    }

    /// Why it drops, in plain words.
    fn cause(&self) -> &'static str {
        if self.correlation <= -0.3 {
            "its left and right channels are out of phase and cancel each other"
        } else if self.balance < 0.1 {
            "it is panned hard to one side, and a fold-down halves a hard-panned part's power"
        } else {
            "it is wide (left and right differ: a stereo widener, chorus, doubled take or \
             stereo reverb), and its sides cancel"
        }
    }
}

/// Everything measured on one signal before playback.
struct Before {
    spectrum: Spectrum,
    fold: Option<Fold>,
}

impl Before {
    fn of(buf: &AudioBuffer, with_comb: bool) -> Before {
        let (views, _) = views_of(buf, false);
        Before {
            spectrum: long_term(&views, buf.sample_rate, with_comb, 1.0),
            fold: Fold::of(buf),
        }
    }

    /// Share of the energy below 200 Hz (0 for silence).
    fn low_share(&self) -> f64 {
        let total = self.spectrum.total();
        if total > 0.0 {
            self.spectrum.band(BANDS[0].lo, BASS_CUTOFF_HZ) / total
        } else {
            0.0
        }
    }

    /// The band with most of the energy.
    fn main_band(&self) -> Option<&'static Band> {
        let mut best: Option<(&'static Band, f64)> = None;
        for b in &BANDS {
            let e = self.spectrum.band(b.lo, b.hi);
            if e > 0.0 && best.is_none_or(|(_, m)| e > m) {
                best = Some((b, e));
            }
        }
        best.map(|(b, _)| b)
    }
}

/// A stem, measured before playback, with the responses on its spectrum's bins when they
/// differ from the mix's.
struct Stem<'a> {
    name: &'a str,
    before: Before,
    response: Option<Response>,
}

/// What [`translate`] shares between the systems.
struct Context<'a> {
    mix: &'a AudioBuffer,
    mix_before: Before,
    mix_energy: f64,
    mix_lufs: Option<f64>,
    mix_response: Response,
    stems: Vec<Stem<'a>>,
}

/// Renders the song through every system in [`Playback::ALL`] and reports what it loses.
/// `stems`: optional (name, track as placed in the mix: same length and rate as the mix, 1 or
/// 2 channels), to say which part suffers. Any input is accepted (silence and very short input
/// report nothing).
///
/// The mix is rendered with [`simulate`] and measured (BS.1770 loudness, long-term spectra).
/// Stems are not rendered: each stem's long-term spectrum (and the part of it that survives a
/// fold-down) is passed through the model's power response on its bins, the same coefficients
/// [`simulate`] applies (the tests check the two agree), so a stem costs one analysis instead
/// of five renderings. Track changes compare K-weighted energies, the stem's against the mix's
/// measured the same way.
pub fn translate(mix: &AudioBuffer, stems: &[(String, &AudioBuffer)]) -> Vec<Translation> {
    let ((mix_before, (mix_energy, mix_lufs)), stems_before) = rayon::join(
        || {
            rayon::join(
                || Before::of(mix, true),
                || {
                    let (views, copies) = views_of(mix, false);
                    k_measure(&views, mix.sample_rate, copies)
                },
            )
        },
        || {
            stems
                .par_iter()
                .map(|(_, b)| Before::of(b, false))
                .collect::<Vec<_>>()
        },
    );
    let mix_response = Response::for_spectrum(mix.sample_rate, &mix_before.spectrum);
    let stems = stems
        .iter()
        .zip(stems_before)
        .map(|((name, buf), before)| {
            let same = mix_response.fits(&before.spectrum) && buf.sample_rate == mix.sample_rate;
            let response =
                (!same).then(|| Response::for_spectrum(buf.sample_rate, &before.spectrum));
            Stem {
                name: name.as_str(),
                before,
                response,
            }
        })
        .collect();
    let cx = Context {
        mix,
        mix_before,
        mix_energy,
        mix_lufs,
        mix_response,
        stems,
    };
    Playback::ALL
        .par_iter()
        .map(|&p| translate_one(&cx, p))
        .collect()
}

fn translate_one(cx: &Context, p: Playback) -> Translation {
    let sim = simulate(cx.mix, p);
    let (views, copies) = views_of(&sim, p.folds_to_mono());
    let (after_spec, (after_energy, after_lufs)) = rayon::join(
        || long_term(&views, sim.sample_rate, false, copies),
        || k_measure(&views, sim.sample_rate, copies),
    );
    drop(views);
    drop(sim);
    let before = &cx.mix_before;
    let loudness_change = match (cx.mix_lufs, after_lufs) {
        (Some(b), Some(a)) => Some(a - b),
        _ => None,
    };
    let energy_change = ratio_db(cx.mix_energy, after_energy);
    let matched_by = loudness_change.or(energy_change).unwrap_or(0.0);
    // the mix's change measured as the stems' are (spectrum through the model)
    let mix_predicted = ratio_db(
        before.spectrum.weighted(&cx.mix_response),
        before
            .spectrum
            .through(p, &cx.mix_response)
            .weighted(&cx.mix_response),
    );
    let on = p.on();
    let mut headline = Vec::new();

    // the whole mix in mono
    if p == Playback::Mono {
        if let Some(drop) = loudness_change.or(energy_change) {
            if drop <= -MONO_DROP_DB {
                let cause = before.fold.map_or("part of it cancels", |f| f.cause());
                headline.push(format!("the mix drops {:.1} dB in mono: {cause}", -drop));
            }
        }
    }

    // the bass line, judged on the whole mix unless a stem carries the low end
    let low_stem = cx
        .stems
        .iter()
        .any(|s| s.before.low_share() >= LOW_SHARE_STEM);
    if p != Playback::Mono && !low_stem && before.low_share() >= LOW_SHARE_MIX {
        let low_loss = ratio_db(
            before.spectrum.band(BANDS[0].lo, BASS_CUTOFF_HZ),
            after_spec.band(BANDS[0].lo, BASS_CUTOFF_HZ),
        );
        if let Some(loss) = low_loss.filter(|&l| l <= LOW_LOSS_DB) {
            let harmonics = before.spectrum.comb.as_ref().and_then(Comb::ratio_db);
            let f0 = before.spectrum.comb.as_ref().map_or(0.0, |c| c.f0_hz);
            match harmonics {
                Some(h) if h <= HARMONICS_DB => headline.push(format!(
                    "the bass line vanishes {on}: everything below 200 Hz drops {:.0} dB and its \
                     strongest note (around {f0:.0} Hz) has {}; saturation or an octave-up layer \
                     would let it read on small speakers",
                    -loss,
                    harmonics_words(h)
                )),
                _ => headline.push(format!(
                    "the low end loses its weight {on} (everything below 200 Hz drops {:.0} dB), \
                     but the bass line still reads through its harmonics",
                    -loss
                )),
            }
        }
    }

    // bands
    let total = before.spectrum.total();
    let nyquist = before.spectrum.nyquist();
    let mut band_changes = Vec::new();
    let mut band_lines = Vec::new();
    // the band of the mix that rises most (absolute, above 1 dB)
    let mut mix_rise: Option<(&'static Band, f64)> = None;
    for b in &BANDS {
        let hi = b.hi.min(nyquist);
        if b.lo >= hi {
            continue;
        }
        let eb = before.spectrum.band(b.lo, hi);
        if !(total > 0.0 && eb > BAND_LISTED_SHARE * total) {
            continue;
        }
        let Some(abs) = ratio_db(eb, after_spec.band(b.lo, hi)) else {
            continue;
        };
        let change = abs - matched_by;
        band_changes.push(BandChange {
            band: b.name.to_string(),
            lo_hz: b.lo,
            hi_hz: hi,
            change_db: round2(change),
        });
        if eb < BAND_TALKED_SHARE * total {
            continue;
        }
        if abs > mix_rise.map_or(1.0, |(_, r)| r) {
            mix_rise = Some((b, abs));
        }
        let pl = b.plural;
        if change <= -20.0 {
            band_lines.push(format!(
                "{} {} gone {on} ({change:.0} dB): {}",
                b.label,
                verb(pl, "is", "are"),
                b.lose
            ));
        } else if change <= -BAND_REPORT_DB {
            band_lines.push(format!(
                "{} {} {:.1} dB {on}: {}",
                b.label,
                verb(pl, "drops", "drop"),
                -change,
                b.lose
            ));
        } else if change >= BAND_REPORT_DB {
            band_lines.push(format!(
                "{} {} {change:.1} dB {on}: {}",
                b.label,
                verb(pl, "rises", "rise"),
                b.gain
            ));
        }
    }

    // stems
    let mut tracks = Vec::with_capacity(cx.stems.len());
    let mut track_lines = Vec::new();
    for stem in &cx.stems {
        let response = stem.response.as_ref().unwrap_or(&cx.mix_response);
        let (t, line) = track_on(p, stem, response, mix_predicted, mix_rise.map(|(b, _)| b));
        tracks.push(t);
        track_lines.extend(line);
    }

    let mut lost = headline;
    lost.extend(track_lines);
    lost.extend(band_lines);
    Translation {
        playback: p.name().to_string(),
        description: p.description().to_string(),
        loudness_change_lu: loudness_change.map(round2),
        band_changes_db: band_changes,
        lost,
        tracks,
    }
}

/// One stem on one system: its entry and, when it suffers, a sentence for `lost`.
fn track_on(
    p: Playback,
    stem: &Stem,
    r: &Response,
    mix_change: Option<f64>,
    mix_rise: Option<&'static Band>,
) -> (TrackLoss, Option<String>) {
    let (name, sb) = (stem.name, &stem.before);
    let after_spec = sb.spectrum.through(p, r);
    let on = p.on();
    let Some(own) = ratio_db(sb.spectrum.weighted(r), after_spec.weighted(r)) else {
        let t = TrackLoss {
            track: name.to_string(),
            change_db: 0.0,
            note: None,
        };
        return (t, None);
    };
    let rel = own - mix_change.unwrap_or(0.0);
    let pl = is_plural(name);
    let mut note = None;
    let mut line = None;
    if p == Playback::Mono {
        if own <= -MONO_DROP_DB {
            let cause = sb.fold.map_or("part of it cancels", |f| f.cause());
            let n = if own <= -40.0 {
                format!("{} in mono: {cause}", verb(pl, "disappears", "disappear"))
            } else {
                format!(
                    "{} {:.1} dB in mono ({rel:+.1} dB against the rest of the mix): {cause}",
                    verb(pl, "drops", "drop"),
                    -own
                )
            };
            // a stem that drops no more than the whole mix keeps its place in the balance:
            // the mix's own sentence covers it
            if rel <= -MONO_STANDS_OUT_DB || own <= -MONO_DEEP_DB {
                line = Some(format!("the {name} {n}"));
            }
            note = Some(n);
        }
    } else {
        let low_before = sb.spectrum.band(BANDS[0].lo, BASS_CUTOFF_HZ);
        let low_loss = ratio_db(low_before, after_spec.band(BANDS[0].lo, BASS_CUTOFF_HZ));
        let harmonics = ratio_db(
            low_before,
            sb.spectrum.band(BASS_CUTOFF_HZ, HARMONICS_TOP_HZ),
        );
        let low_part = sb.low_share() >= LOW_SHARE_STEM;
        let lost_low = low_loss.is_some_and(|l| l <= LOW_LOSS_DB);
        if low_part && lost_low && harmonics.is_some_and(|h| h <= HARMONICS_DB) {
            let n = format!(
                "{} {on}: its low end drops {:.0} dB and it has {}",
                verb(pl, "vanishes", "vanish"),
                -low_loss.unwrap_or(0.0),
                harmonics_words(harmonics.unwrap_or(0.0))
            );
            line = Some(format!("the {name} {n}"));
            note = Some(n);
        } else if rel <= -TRACK_REPORT_DB {
            let reason = drop_reason(p, sb, &after_spec, own, mix_rise);
            let n = format!(
                "{} {:.1} dB quieter against the rest of the mix {on}: {reason}",
                verb(pl, "gets", "get"),
                -rel
            );
            line = Some(format!("the {name} {n}"));
            note = Some(n);
        } else if low_part && lost_low {
            note = Some(format!(
                "{} its low end {on} but {} its harmonics above 200 Hz ({rel:+.1} dB against \
                 the mix)",
                verb(pl, "loses", "lose"),
                verb(pl, "keeps", "keep")
            ));
        } else if rel >= TRACK_REPORT_DB {
            let band = sb.main_band().map_or("", |b| b.label);
            note = Some(format!(
                "{} forward {rel:.1} dB against the rest of the mix {on} (most of its energy is \
                 in {band})",
                verb(pl, "comes", "come")
            ));
        }
    }
    let t = TrackLoss {
        track: name.to_string(),
        change_db: round2(rel),
        note,
    };
    (t, line)
}

/// Why a stem drops against the mix on a filtering system (`own`: its own change, dB;
/// `mix_rise`: the band of the mix that rises most, if one does).
fn drop_reason(
    p: Playback,
    sb: &Before,
    after: &Spectrum,
    own: f64,
    mix_rise: Option<&'static Band>,
) -> String {
    if p.folds_to_mono() {
        if let Some(f) = sb.fold.filter(|f| f.drop_db <= -6.0) {
            return format!("summed to one speaker, {}", f.cause());
        }
    }
    if own > -1.5 {
        return match mix_rise {
            Some(b) => format!(
                "it keeps its level, but {} of the mix rises around it",
                b.label
            ),
            None => "it keeps its level, but the rest of the mix gets louder around it".to_string(),
        };
    }
    if p == Playback::Laptop && sb.fold.is_some_and(|f| f.drop_db <= -1.0) {
        let main_change = sb
            .main_band()
            .and_then(|b| ratio_db(sb.spectrum.band(b.lo, b.hi), after.band(b.lo, b.hi)));
        if main_change.is_none_or(|c| c > -1.5) {
            return "it is wide, and the laptop's close speakers narrow it".to_string();
        }
    }
    let Some(band) = sb.main_band() else {
        return format!("it loses {:.1} dB", -own);
    };
    match ratio_db(
        sb.spectrum.band(band.lo, band.hi),
        after.band(band.lo, band.hi),
    ) {
        Some(c) if c <= -1.5 => format!(
            "most of its energy is in {}, which {} {:.0} dB {}",
            band.label,
            verb(band.plural, "drops", "drop"),
            -c,
            p.on()
        ),
        _ => format!("it loses {:.1} dB", -own),
    }
}

/// The singular or plural form of a verb.
fn verb(plural: bool, one: &'static str, many: &'static str) -> &'static str {
    if plural {
        many
    } else {
        one
    }
}

/// Whether a track name reads as plural ("keys", "drums", "vocals"; not "bass", "chorus").
fn is_plural(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.ends_with('s') && !(n.ends_with("ss") || n.ends_with("us") || n.ends_with("is"))
}

/// What carries a low part above the cut-off, from its harmonics' level below its low end.
fn harmonics_words(h_db: f64) -> String {
    if h_db <= -80.0 {
        "no harmonics between 200 Hz and 1 kHz to carry it".to_string()
    } else {
        format!(
            "almost no harmonics between 200 Hz and 1 kHz to carry it ({:.0} dB below its low end)",
            -h_db
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    const SR: u32 = 48_000;

    fn tone(f: f64, amp: f64, n: usize, sr: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (amp * (2.0 * PI * f * i as f64 / f64::from(sr)).sin()) as f32)
            .collect()
    }

    /// Band-limited sawtooth: harmonics 1/k up to 20 kHz.
    fn saw(f: f64, amp: f64, n: usize, sr: u32) -> Vec<f32> {
        let mut out = vec![0.0f32; n];
        let mut k = 1;
        while (k as f64) * f < 20_000.0 {
            let a = amp / k as f64;
            let w = 2.0 * PI * f * k as f64 / f64::from(sr);
            for (i, o) in out.iter_mut().enumerate() {
                *o += (a * (w * i as f64).sin()) as f32;
            }
            k += 1;
        }
        out
    }

    fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }

    fn centred(x: Vec<f32>) -> AudioBuffer {
        AudioBuffer::from_channels(SR, vec![x.clone(), x])
    }

    /// |Σ h[n] e^{-jωn}| in dB.
    fn dft_db(h: &[f32], f: f64, sr: u32) -> f64 {
        let w = 2.0 * PI * f / f64::from(sr);
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (n, &x) in h.iter().enumerate() {
            let (s, c) = (w * n as f64).sin_cos();
            re += f64::from(x) * c;
            im -= f64::from(x) * s;
        }
        10.0 * (re * re + im * im).max(1e-300).log10()
    }

    fn on(t: &[Translation], p: Playback) -> &Translation {
        t.iter()
            .find(|x| x.playback == p.name())
            .expect("every system is reported")
    }

    #[test]
    fn measured_response_matches_spec() {
        for &sr in &[48_000u32, 44_100] {
            let n = 1 << 16;
            let mut x = vec![0.0f32; n];
            x[0] = 1.0;
            let imp = AudioBuffer::from_channels(sr, vec![x.clone(), x]);
            for p in Playback::ALL {
                let out = simulate(&imp, p);
                assert_eq!(out.channels.len(), 2);
                assert_eq!(
                    out.channels[0], out.channels[1],
                    "{p:?}: L = R in, L = R out"
                );
                let mut checked = 0;
                for i in 0..=48 {
                    let f = 50.0 * (15_000.0f64 / 50.0).powf(i as f64 / 48.0);
                    let spec = if sr == 48_000 {
                        spec_response_db(p, f)
                    } else {
                        spec_response_db_at(p, f, f64::from(sr))
                    };
                    if spec < -30.0 {
                        continue;
                    }
                    let measured = dft_db(&out.channels[0], f, sr);
                    assert!(
                        (measured - spec).abs() < 0.5,
                        "{p:?} at {sr} Hz, {f:.0} Hz: measured {measured:.2} dB, spec {spec:.2} dB"
                    );
                    checked += 1;
                }
                assert!(checked >= 30, "{p:?}: only {checked} points checked");
            }
        }
    }

    #[test]
    fn spec_matches_the_analog_prototypes() {
        // the coefficients' response against the bilinear-warped prototypes (independent formulas)
        for p in Playback::ALL {
            let s = p.sections();
            let proto = |f: f64| -> f64 {
                s.iter()
                    .map(|k| k.response_db(f, SPEC_SAMPLE_RATE))
                    .sum::<f64>()
            };
            for i in 0..=40 {
                let f = 20.0 * (20_000.0f64 / 20.0).powf(i as f64 / 40.0);
                let a = spec_response_db(p, f);
                let b = proto(f) - proto(REFERENCE_HZ);
                assert!((a - b).abs() < 0.01, "{p:?} at {f:.0} Hz: {a} vs {b}");
            }
        }
    }

    #[test]
    fn spec_has_the_designed_shape() {
        use Playback::*;
        for p in Playback::ALL {
            assert!(
                spec_response_db(p, 1_000.0).abs() < 1e-9,
                "{p:?} is 0 dB at 1 kHz"
            );
        }
        assert!(spec_response_db(Phone, 100.0) <= -20.0);
        assert!(spec_response_db(Phone, 200.0) <= -10.0);
        assert!(spec_response_db(Phone, 3_000.0) > 2.0);
        assert!(spec_response_db(Phone, 16_000.0) < -6.0);
        assert!(spec_response_db(Laptop, 80.0) <= -20.0);
        assert!(spec_response_db(Laptop, 400.0).abs() < 1.5);
        assert!(spec_response_db(Laptop, 5_000.0) > 1.5);
        assert!(spec_response_db(Laptop, 19_000.0) < -3.0);
        assert!(spec_response_db(Earbuds, 20.0) < -8.0);
        assert!(spec_response_db(Earbuds, 100.0).abs() < 1.0);
        assert!(spec_response_db(Earbuds, 3_500.0) > 1.5);
        assert!(spec_response_db(Car, 50.0) > 3.0);
        assert!(spec_response_db(Car, 1_500.0) < -0.3);
        assert!(spec_response_db(Car, 12_000.0) < -2.0);
        for i in 0..=40 {
            let f = 20.0 * 1000f64.powf(i as f64 / 40.0);
            assert_eq!(spec_response_db(Mono, f), 0.0);
        }
    }

    #[test]
    fn laptop_narrows_and_mono_folds() {
        let n = 4_800;
        let l = tone(1_000.0, 0.5, n, SR);
        let r: Vec<f32> = l.iter().map(|x| -x).collect();
        let wide = AudioBuffer::from_channels(SR, vec![l, r]);
        let energy = |b: &AudioBuffer| -> f64 {
            b.channels[0][2_400..]
                .iter()
                .map(|&x| f64::from(x).powi(2))
                .sum()
        };
        let laptop = simulate(&wide, Playback::Laptop);
        let g = 10.0 * (energy(&laptop) / energy(&wide)).log10();
        let want = 20.0 * f64::from(LAPTOP_SIDE_GAIN).log10();
        assert!((g - want).abs() < 0.3, "side gain {g} dB, want {want}");
        let mono = simulate(&wide, Playback::Mono);
        assert!(mono.channels.iter().flatten().all(|&x| x == 0.0));
        assert_eq!(
            simulate(&wide, Playback::Car),
            simulate(&wide, Playback::Car)
        );
    }

    fn bass_and_tone(rich: bool) -> AudioBuffer {
        let n = 3 * SR as usize;
        let bass = if rich {
            saw(55.0, 0.3, n, SR)
        } else {
            tone(55.0, 0.3, n, SR)
        };
        centred(add(&bass, &tone(1_000.0, 0.1, n, SR)))
    }

    #[test]
    fn a_sine_bass_vanishes_on_a_phone_a_rich_one_does_not() {
        let t = translate(&bass_and_tone(false), &[]);
        let phone = on(&t, Playback::Phone);
        assert!(
            phone
                .lost
                .iter()
                .any(|s| s.contains("bass") && s.contains("vanishes")),
            "{:#?}",
            phone.lost
        );
        assert!(phone.loudness_change_lu.is_some_and(|l| l < -6.0));
        let sub = phone.band_changes_db.iter().find(|b| b.band == "sub");
        assert!(sub.is_some_and(|b| b.change_db < -20.0), "{phone:#?}");
        // car and earbuds keep it
        for p in [Playback::Car, Playback::Earbuds, Playback::Mono] {
            assert!(
                !on(&t, p).lost.iter().any(|s| s.contains("vanishes")),
                "{p:?}"
            );
        }

        let t = translate(&bass_and_tone(true), &[]);
        let phone = on(&t, Playback::Phone);
        assert!(
            !phone.lost.iter().any(|s| s.contains("vanishes")),
            "{:#?}",
            phone.lost
        );
        assert!(phone.lost.iter().any(|s| s.contains("harmonics")));
    }

    #[test]
    fn a_sine_bass_stem_is_named_when_it_vanishes() {
        let n = 3 * SR as usize;
        for (rich, vanishes) in [(false, true), (true, false)] {
            let bass = centred(if rich {
                saw(55.0, 0.3, n, SR)
            } else {
                tone(55.0, 0.3, n, SR)
            });
            let keys = centred(add(&tone(440.0, 0.1, n, SR), &tone(1_320.0, 0.05, n, SR)));
            let mix = AudioBuffer::from_channels(
                SR,
                (0..2)
                    .map(|c| add(&bass.channels[c], &keys.channels[c]))
                    .collect(),
            );
            let stems = [("bass".to_string(), &bass), ("keys".to_string(), &keys)];
            let t = translate(&mix, &stems);
            let phone = on(&t, Playback::Phone);
            assert_eq!(phone.tracks.len(), 2);
            let said = phone.lost.iter().any(|s| s.contains("the bass vanishes"));
            assert_eq!(said, vanishes, "rich {rich}: {:#?}", phone.lost);
            if vanishes {
                assert!(phone.tracks[0].change_db < -10.0, "{:#?}", phone.tracks);
            } else {
                let note = phone.tracks[0].note.as_deref().unwrap_or("");
                assert!(note.contains("harmonics"), "{:#?}", phone.tracks);
            }
            assert!(phone.tracks[1].note.is_none() || phone.tracks[1].change_db > 0.0);
            assert!(!phone.lost.iter().any(|s| s.contains("keys")));
        }
    }

    #[test]
    fn an_anti_phase_stem_drops_in_mono_a_centred_one_does_not() {
        let n = 2 * SR as usize;
        let pad_l = add(&tone(330.0, 0.2, n, SR), &tone(660.0, 0.1, n, SR));
        let pad_r: Vec<f32> = pad_l.iter().map(|x| -x).collect();
        let pad = AudioBuffer::from_channels(SR, vec![pad_l, pad_r]);
        let vocal = centred(add(&tone(440.0, 0.2, n, SR), &tone(880.0, 0.1, n, SR)));
        let mix = AudioBuffer::from_channels(
            SR,
            (0..2)
                .map(|c| add(&pad.channels[c], &vocal.channels[c]))
                .collect(),
        );
        let stems = [("pad".to_string(), &pad), ("vocal".to_string(), &vocal)];
        let t = translate(&mix, &stems);
        let mono = on(&t, Playback::Mono);
        assert!(mono.lost.iter().any(|s| s.contains("the pad")), "{mono:#?}");
        assert!(!mono.lost.iter().any(|s| s.contains("vocal")), "{mono:#?}");
        assert!(mono.lost.iter().any(|s| s.contains("out of phase")));
        assert!(mono.tracks[0].change_db < -2.0 && mono.tracks[0].note.is_some());
        assert!(mono.tracks[1].note.is_none(), "{:#?}", mono.tracks);
        assert!(mono.loudness_change_lu.is_some_and(|l| l < -2.0));
        // the phone sums to mono too
        let phone = on(&t, Playback::Phone);
        assert!(
            phone.lost.iter().any(|s| s.contains("the pad")),
            "{phone:#?}"
        );

        // without stems the mix itself is reported
        let t = translate(&mix, &[]);
        let mono = on(&t, Playback::Mono);
        assert!(
            mono.lost.iter().any(|s| s.contains("the mix drops")),
            "{mono:#?}"
        );
        assert!(mono.tracks.is_empty());

        // a centred mix loses nothing in mono
        let t = translate(&vocal, &[("vocal".to_string(), &vocal)]);
        let mono = on(&t, Playback::Mono);
        assert!(mono.lost.is_empty(), "{mono:#?}");
        assert!(mono.loudness_change_lu.is_some_and(|l| l.abs() < 0.01));
        assert!(mono
            .band_changes_db
            .iter()
            .all(|b| b.change_db.abs() < 0.01));
        assert!(mono.tracks[0].note.is_none());
    }

    /// Deterministic white noise in [-amp, amp].
    fn noise(n: usize, seed: u32, amp: f32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    #[test]
    fn stem_prediction_matches_rendering() {
        // a partly correlated stereo stem with a bass tone: the spectral prediction used for
        // stems against the rendered, measured result
        let n = 2 * SR as usize;
        let a = noise(n, 1, 0.2);
        let b = noise(n, 2, 0.2);
        let bass = tone(80.0, 0.3, n, SR);
        let l: Vec<f32> = a.iter().zip(&bass).map(|(x, y)| x + y).collect();
        let r: Vec<f32> = (0..n).map(|i| 0.6 * a[i] + 0.4 * b[i] + bass[i]).collect();
        let stem = AudioBuffer::from_channels(SR, vec![l, r]);
        let before = Before::of(&stem, false);
        let resp = Response::for_spectrum(SR, &before.spectrum);
        let (views, _) = views_of(&stem, false);
        let (e0, _) = k_measure(&views, SR, 1.0);
        for p in Playback::ALL {
            let predicted = before.spectrum.through(p, &resp);
            let pk = ratio_db(before.spectrum.weighted(&resp), predicted.weighted(&resp));
            let sim = simulate(&stem, p);
            let (v, c) = views_of(&sim, p.folds_to_mono());
            let (e1, _) = k_measure(&v, SR, c);
            let mk = ratio_db(e0, e1);
            let (Some(pk), Some(mk)) = (pk, mk) else {
                panic!("{p:?}: no level");
            };
            assert!(
                (pk - mk).abs() < 0.2,
                "{p:?}: predicted {pk:.2} dB, rendered {mk:.2} dB"
            );
            let measured = long_term(&v, SR, false, c);
            for band in &BANDS {
                let eb = before.spectrum.band(band.lo, band.hi);
                let pb = ratio_db(eb, predicted.band(band.lo, band.hi));
                let mb = ratio_db(eb, measured.band(band.lo, band.hi));
                if let (Some(pb), Some(mb)) = (pb, mb) {
                    if pb > -30.0 {
                        assert!(
                            (pb - mb).abs() < 0.5,
                            "{p:?} {}: predicted {pb:.2}, rendered {mb:.2}",
                            band.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_uniformly_wide_mix_is_reported_once_in_mono() {
        let n = 5 * SR as usize;
        let stems: Vec<(String, AudioBuffer)> = (0..8)
            .map(|k| {
                let l = noise(n, 10 + k, 0.05);
                let r = noise(n, 20 + k, 0.05);
                (
                    format!("wide{k}"),
                    AudioBuffer::from_channels(SR, vec![l, r]),
                )
            })
            .collect();
        let mut mix = AudioBuffer::silent(SR, 2, n);
        for (_, s) in &stems {
            for (m, x) in mix.channels.iter_mut().zip(&s.channels) {
                m.iter_mut().zip(x).for_each(|(m, x)| *m += x);
            }
        }
        let refs: Vec<(String, &AudioBuffer)> = stems.iter().map(|(n, b)| (n.clone(), b)).collect();
        let t = translate(&mix, &refs);
        // every stem is as wide as the mix: the mix drops 3 dB in mono, no stem stands out
        let mono = on(&t, Playback::Mono);
        assert_eq!(mono.lost.len(), 1, "{:#?}", mono.lost);
        assert!(mono.lost[0].starts_with("the mix drops 3.0 dB in mono: it is wide"));
        assert!(mono
            .tracks
            .iter()
            .all(|x| x.note.is_some() && x.change_db.abs() < 0.5));
    }

    #[test]
    fn degenerate_input_does_not_panic() {
        let mut nan = tone(440.0, 0.5, 4_800, SR);
        nan[100] = f32::NAN;
        let cases = vec![
            AudioBuffer::silent(SR, 2, SR as usize),
            AudioBuffer::silent(SR, 2, 10),
            AudioBuffer::from_channels(SR, vec![tone(100.0, 0.5, 10, SR); 2]),
            AudioBuffer::from_channels(SR, vec![tone(100.0, 0.5, 10, SR)]),
            AudioBuffer::from_channels(SR, vec![saw(55.0, 0.3, SR as usize, SR)]),
            AudioBuffer::silent(SR, 2, 0),
            AudioBuffer::silent(SR, 0, 0),
            AudioBuffer::from_channels(0, vec![tone(100.0, 0.5, 100, SR); 2]),
            AudioBuffer::from_channels(8_000, vec![tone(100.0, 0.5, 8_000, 8_000); 2]),
            AudioBuffer::from_channels(SR, vec![nan.clone(), nan]),
        ];
        for buf in &cases {
            for p in Playback::ALL {
                let out = simulate(buf, p);
                assert_eq!(out.channels.len(), buf.channels.len());
                assert_eq!(out.frames(), buf.frames());
                assert_eq!(out.sample_rate, buf.sample_rate);
            }
            let t = translate(buf, &[("it".to_string(), buf)]);
            assert_eq!(t.len(), Playback::ALL.len());
            if buf.is_digital_silence() {
                assert!(t
                    .iter()
                    .all(|x| x.lost.is_empty() && x.band_changes_db.is_empty()));
            }
        }
        // a mono song: the mono check has nothing to say
        let song = AudioBuffer::from_channels(SR, vec![saw(110.0, 0.3, SR as usize, SR)]);
        let t = translate(&song, &[]);
        assert!(on(&t, Playback::Mono).lost.is_empty());
        assert!(on(&t, Playback::Mono)
            .loudness_change_lu
            .is_some_and(|l| l.abs() < 1e-6));
        let _ = serde_json::to_string(&t).map(|s| assert!(s.contains("\"phone\"")));
    }
}
