//! Clean-up of a raw recording: DC offset, mains hum, steady hiss and noise between phrases.
//!
//! Each tool is pure DSP with its parameters as plain serde data; deciding whether a track needs
//! it (and with which parameters) is the engine's job (`mixdown_core::mix::cleanup`). The
//! measurements that decision rests on live here too, as pure functions of the samples:
//!
//! * [`dc`]: a 2nd-order high-pass well below the audio band.
//! * [`hum`]: measurement of mains hum (50/60 Hz and harmonics) on a fine spectrum, and its
//!   removal by subtracting the tracked harmonics (a zero-phase, very narrow notch comb that
//!   leaves the music under the hum alone).
//! * [`noise`]: the noise floor per 1/3-octave band, learned from the track's own quieter frames,
//!   and the compact [`noise::NoiseProfile`] the denoiser uses.
//! * [`denoise`]: STFT spectral gate driven by that profile.
//! * [`gate`]: a broadband downward expander with look-ahead, attack, hold and release.
//!
//! The streaming processors ([`denoise::Denoiser`], [`gate::Gate`], [`dc::DcBlocker`]) allocate
//! in their constructors only; their `process_buffer` methods compensate their latency so the
//! output lines up sample for sample with the input.

pub mod dc;
pub mod denoise;
pub mod gate;
pub mod hum;
pub mod noise;

/// Decibels of a power ratio, floored at -300 dB.
#[inline]
pub(crate) fn pow_to_db(p: f64) -> f64 {
    10.0 * p.max(1e-30).log10()
}

/// Power ratio of decibels.
#[inline]
pub(crate) fn db_to_pow(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}
