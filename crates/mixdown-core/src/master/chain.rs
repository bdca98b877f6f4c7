//! The mastering chain written down: one named, serialisable parameter set per stage, with
//! the reason for each choice. The engine writes it; the renderer plays it; the report shows it.

use crate::targets::Target;
use mixdown_dsp::biquad::FilterKind;
use mixdown_dsp::compressor::CompressorParams;
use mixdown_dsp::limiter::LimiterParams;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterChain {
    pub target: Target,
    /// 1. tonal balance EQ
    pub eq: EqStage,
    /// 2. glue compression
    pub glue: GlueStage,
    /// 3. stereo: mono bass, width
    pub stereo: StereoStage,
    /// 4. true-peak limiter
    pub limiter: LimiterStage,
    /// 5. closed-loop loudness
    pub loudness: LoudnessStage,
    /// 6. dither and quantise
    pub dither: DitherStage,
    /// The reference match (mid/side EQ toward a reference), played before the EQ; only
    /// with `--reference` or `--match-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching: Option<super::reference::MatchStage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EqStage {
    pub enabled: bool,
    /// How far toward the target curve, 0..1.
    pub amount: f64,
    /// The EQ bands, in order.
    pub bands: Vec<FilterKind>,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlueStage {
    pub enabled: bool,
    pub params: CompressorParams,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StereoStage {
    pub enabled: bool,
    /// Side signal removed below this frequency (Linkwitz-Riley 24 dB/octave), Hz.
    pub mono_below_hz: Option<f64>,
    /// Side gain above the crossover (1 = unchanged, 0 = mono, 1.2 = 20% wider).
    pub width: f64,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimiterStage {
    pub enabled: bool,
    pub params: LimiterParams,
    /// Headroom kept below the ceiling on mixdown's own meter, dB.
    pub margin_db: f64,
    /// Most loudness the limiter may take away before mixdown refuses to push harder, LU.
    pub max_limiting_lu: f64,
    /// Dynamics guard: keep the output's loudness range at or above this, LU (None: off).
    pub lra_floor_lu: Option<f64>,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoudnessStage {
    pub enabled: bool,
    /// Fixed gain when the stage is off (or to pin a result), dB; the solver finds it otherwise.
    pub gain_db: Option<f64>,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DitherStage {
    pub enabled: bool,
    /// Output bit depth (None: 32-bit float, no dither needed).
    pub bits: Option<u32>,
    pub why: String,
}
