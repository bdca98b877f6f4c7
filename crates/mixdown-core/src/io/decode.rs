//! Decoding audio files (WAV, AIFF, FLAC, MP3, Ogg Vorbis, M4A/AAC, ALAC) into an [`AudioBuffer`].
//!
//! Everything goes through symphonia 0.6. On top of it this module:
//! - checks the file before symphonia sees it (missing, a folder, empty) so the user gets a plain
//!   message instead of a codec error;
//! - accepts mono and stereo at 8 kHz to 192 kHz only, and says so clearly otherwise;
//! - trims the AAC encoder delay ("priming") from M4A files, which symphonia does not do, so an
//!   AAC stem stays sample-aligned with the WAV it was made from (see `mp4_gapless`);
//! - skips corrupt packets (counted in [`DecodeInfo::skipped_packets`]; where the packet length
//!   is known it is replaced by silence, so the audio after it stays in time);
//! - treats a read error at the end of a truncated file as the end of the audio: a WAV cut short
//!   by a crashed recorder or an interrupted copy decodes up to where the data stops, without a
//!   warning (the caller sees the shorter duration). This is the friendlier choice: the audio
//!   that is there is intact;
//! - turns a panic inside a decoder into an error, as a last line of defence against bad input.
//!
//! NaN/Inf samples (possible in float WAVs) are passed through: the caller checks
//! [`AudioBuffer::non_finite`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use symphonia::core::audio::sample::SampleFormat as SymSampleFormat;
use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known as format_ids;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// Lowest sample rate mixdown accepts.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest sample rate mixdown accepts.
pub const MAX_SAMPLE_RATE: u32 = 192_000;

/// What was found in a decoded file, for reports and for choosing output defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeInfo {
    /// Container, as a musician would name it: "WAV", "FLAC", "AIFF", "MP3", "Ogg Vorbis",
    /// "M4A/AAC", "M4A/ALAC", ...
    pub container: String,
    /// Codec: "PCM", "FLAC", "MP3", "Vorbis", "AAC", "ALAC", ...
    pub codec: String,
    /// Bit depth of the stored samples, for PCM and lossless codecs; `None` for lossy codecs.
    pub bits_per_sample: Option<u32>,
    /// "16-bit int", "24-bit int", "32-bit float", "64-bit float", ... or "lossy (compressed)".
    pub sample_format: String,
    /// True for lossy codecs (MP3, AAC, Vorbis, ADPCM, ...).
    pub lossy: bool,
    pub sample_rate: u32,
    pub channels: usize,
    /// Frames in the returned buffer (after any trimming).
    pub frames: usize,
    /// Encoder delay frames removed from the start (MP3 LAME tag, Ogg granule positions, AAC
    /// edit list / iTunSMPB), so the audio lines up with its source.
    pub trimmed_priming_frames: usize,
    /// Corrupt packets that were skipped (each is a short dropout, usually filled with silence).
    pub skipped_packets: usize,
}

/// Decode a whole audio file into planar `f32`.
pub fn decode_file(path: &Path) -> Result<(AudioBuffer, DecodeInfo)> {
    let meta = std::fs::metadata(path).map_err(|e| open_error(path, &e))?;
    if meta.is_dir() {
        return Err(Error::file(path, "is a folder, not an audio file"));
    }
    if meta.len() == 0 {
        return Err(Error::file(path, "file is empty (0 bytes)"));
    }
    let file = File::open(path).map_err(|e| open_error(path, &e))?;

    let file_len = meta.len();
    match catch_unwind(AssertUnwindSafe(|| decode_open_file(path, file, file_len))) {
        Ok(result) => result,
        Err(_) => Err(Error::file(
            path,
            "the decoder failed on this file (it is probably damaged); re-export it and try again",
        )),
    }
}

fn open_error(path: &Path, e: &std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::file(path, "file not found"),
        std::io::ErrorKind::PermissionDenied => {
            Error::file(path, "cannot read this file (permission denied)")
        }
        _ => Error::file(path, format!("cannot open: {e}")),
    }
}

/// Largest packet (in frames) replaced by silence when it cannot be decoded.
const MAX_PACKET_FRAMES: usize = 1 << 16;

const UNRECOGNISED: &str = "not an audio file mixdown can read (unrecognised format)";

fn decode_open_file(path: &Path, file: File, file_len: u64) -> Result<(AudioBuffer, DecodeInfo)> {
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(_) => Error::file(
                path,
                "not an audio file mixdown can read (unrecognised format, or the file is cut short)",
            ),
            // A reader recognised the format but could not make sense of the data.
            SymError::DecodeError(what) => Error::file(
                path,
                format!("the file is damaged or not valid audio ({what})"),
            ),
            _ => Error::file(path, UNRECOGNISED),
        })?;

    let format_id = format.format_info().format;
    let format_long_name = format.format_info().long_name;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| Error::file(path, "contains no audio track"))?;
    let track_id = track.id;
    let priming_by_container = track.delay.unwrap_or(0) as usize;
    let track_frames = track.num_frames;
    // Packet durations are in frames when the time base is 1/sample rate (true for the
    // audio formats we read); then a skipped packet can be replaced by silence of its length.
    let time_base_is_frames = match (track.time_base, track.codec_params.as_ref()) {
        (Some(tb), Some(p)) => p
            .audio()
            .and_then(|a| a.sample_rate)
            .is_some_and(|r| tb.numer.get() == 1 && tb.denom.get() == r),
        _ => false,
    };
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| Error::file(path, "contains no audio track"))?
        .clone();

    let codec_id = params.codec;
    if codec_id == symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO {
        return Err(Error::file(
            path,
            "uses an audio codec mixdown cannot decode",
        ));
    }
    if let Some(rate) = params.sample_rate {
        check_rate(path, rate)?;
    }
    if let Some(ch) = &params.channels {
        check_channels(path, ch.count())?;
    }

    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|_| {
            Error::file(
                path,
                format!(
                    "uses an audio codec mixdown cannot decode ({})",
                    codec_name(codec_id)
                ),
            )
        })?;

    let lossy = is_lossy(codec_id);
    let pcm = PlainPcm::of(&params);
    // Reserve from the frame count when the container gives it (plus a packet of slack), but
    // never more than the file could hold, so a damaged header cannot make us allocate
    // gigabytes. Only very low-bitrate lossy files hold more than 12 frames per byte; for
    // those the Vecs simply grow.
    let reserve = track_frames
        .map(|f| (f as usize).saturating_add(8192))
        .unwrap_or(0)
        .min((file_len as usize).saturating_mul(12).saturating_add(8192));

    let mut out: Vec<Vec<f32>> = Vec::new();
    let mut rate: Option<u32> = params.sample_rate;
    let mut skipped = 0usize;

    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A chained Ogg stream (new track list): keep the first stream only.
            Err(SymError::ResetRequired) => break,
            // Truncated file or damaged container data: keep what decoded so far.
            Err(SymError::IoError(_)) | Err(SymError::DecodeError(_)) => break,
            Err(e) => {
                if out.first().is_some_and(|c| !c.is_empty()) {
                    break;
                }
                return Err(Error::file(path, format!("cannot read this file: {e}")));
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        if let Some(pcm) = pcm {
            // plain PCM: the packet's bytes converted straight into the output
            let n = packet.data.len() / pcm.frame_bytes();
            if n == 0 {
                continue;
            }
            if out.is_empty() {
                check_channels(path, pcm.channels)?;
                check_rate(path, pcm.rate)?;
                rate = Some(pcm.rate);
                out = (0..pcm.channels)
                    .map(|_| crate::audio::sample_vec(reserve))
                    .collect();
            }
            pcm.append(&packet.data[..n * pcm.frame_bytes()], &mut out, n);
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::ResetRequired) => break,
            // A bad packet: skip it (a short dropout) and go on. Corrupt data can also make a
            // decoder report an "unsupported" feature or a limit: the same thing in practice.
            Err(SymError::DecodeError(_))
            | Err(SymError::IoError(_))
            | Err(SymError::Unsupported(_))
            | Err(SymError::LimitError(_)) => {
                skipped += 1;
                // Keep later audio in time: put silence where the packet was.
                let dur = packet.dur.get() as usize;
                if time_base_is_frames && !out.is_empty() && dur <= MAX_PACKET_FRAMES {
                    let len = out[0].len() + dur;
                    for ch in &mut out {
                        ch.resize(len, 0.0);
                    }
                }
                continue;
            }
            Err(e) => return Err(Error::file(path, format!("cannot decode: {e}"))),
        };
        let n = decoded.frames();
        if n == 0 {
            continue;
        }
        let spec_rate = decoded.spec().rate();
        let spec_channels = decoded.num_planes();
        if out.is_empty() {
            check_channels(path, spec_channels)?;
            check_rate(path, spec_rate)?;
            rate = Some(spec_rate);
            out = (0..spec_channels)
                .map(|_| crate::audio::sample_vec(reserve))
                .collect();
        } else if spec_channels != out.len() || Some(spec_rate) != rate {
            return Err(Error::file(
                path,
                "changes its channel count or sample rate part-way through; mixdown cannot read it",
            ));
        }
        append_planar(&decoded, &mut out, n);
    }

    let rate = rate.ok_or_else(|| Error::file(path, "contains no audio"))?;
    if out.is_empty() {
        // No packet decoded. If packets were skipped the data is damaged, otherwise it is empty.
        return Err(if skipped > 0 {
            Error::file(
                path,
                "contains no audio that could be decoded (the file is damaged)",
            )
        } else {
            Error::file(path, "contains no audio")
        });
    }

    // AAC in MP4: symphonia leaves the encoder delay in; trim it as the container says.
    let mut trimmed = priming_by_container;
    if format_id == format_ids::FORMAT_ID_ISOMP4 && codec_id == codec_ids::CODEC_ID_AAC {
        let decoded_frames = out[0].len();
        let g = mp4_gapless(path, rate).unwrap_or_default();
        let delay = g
            .delay
            .unwrap_or_else(|| fallback_aac_delay(g.encoder.as_deref()));
        let delay = delay.min(decoded_frames);
        let keep = g
            .length
            .unwrap_or(decoded_frames - delay)
            .min(decoded_frames - delay);
        for ch in &mut out {
            ch.drain(..delay);
            ch.truncate(keep);
        }
        trimmed += delay;
    }

    let frames = out[0].len();
    if frames == 0 {
        return Err(Error::file(path, "contains no audio"));
    }
    // Give back a large over-reservation (trimmed or shorter than announced), not the slack.
    if out[0].capacity() > frames + frames / 8 + 65_536 {
        for ch in &mut out {
            ch.shrink_to_fit();
        }
    }

    let bits = if lossy {
        None
    } else {
        params.bits_per_sample.or_else(|| float_pcm_bits(codec_id))
    };
    let info = DecodeInfo {
        container: container_name(format_id, codec_id, format_long_name),
        codec: codec_name(codec_id),
        bits_per_sample: bits,
        sample_format: sample_format_name(
            lossy,
            params.sample_format,
            bits,
            is_float_pcm(codec_id),
        ),
        lossy,
        sample_rate: rate,
        channels: out.len(),
        frames,
        trimmed_priming_frames: trimmed,
        skipped_packets: skipped,
    };
    Ok((AudioBuffer::from_channels(rate, out), info))
}

/// Interleaved little-endian PCM that symphonia's PCM decoder would turn into `f32` by one
/// exact scaling per sample (16- or 24-bit integers with no unused low bits) or a copy (32-bit
/// float): converted here straight from the packet, the same values without the decoder's
/// intermediate buffer and per-sample callbacks.
#[derive(Clone, Copy, Debug)]
struct PlainPcm {
    kind: PcmKind,
    channels: usize,
    rate: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PcmKind {
    S16,
    S24,
    F32,
}

impl PlainPcm {
    fn of(params: &symphonia::core::codecs::audio::AudioCodecParameters) -> Option<PlainPcm> {
        let (kind, width) = match params.codec {
            codec_ids::CODEC_ID_PCM_S16LE => (PcmKind::S16, 16),
            codec_ids::CODEC_ID_PCM_S24LE => (PcmKind::S24, 24),
            codec_ids::CODEC_ID_PCM_F32LE => (PcmKind::F32, 32),
            _ => return None,
        };
        // the decoder shifts samples left when fewer bits are coded than decoded: leave those
        // (and anything unusual) to it
        let bits = params.bits_per_sample.unwrap_or(width);
        if bits != width || params.bits_per_coded_sample.is_some_and(|b| b != width) {
            return None;
        }
        let channels = params.channels.as_ref()?.count();
        Some(PlainPcm {
            kind,
            channels,
            rate: params.sample_rate?,
        })
    }

    fn frame_bytes(&self) -> usize {
        self.channels
            * match self.kind {
                PcmKind::S16 => 2,
                PcmKind::S24 => 3,
                PcmKind::F32 => 4,
            }
    }

    /// Append the `n` frames in `data` (exactly `n` frames of bytes) to `out`.
    fn append(&self, data: &[u8], out: &mut [Vec<f32>], n: usize) {
        let ch = out.len();
        let w = self.frame_bytes() / ch.max(1);
        for (c, dst) in out.iter_mut().enumerate() {
            let start = dst.len();
            dst.resize(start + n, 0.0);
            let dst = &mut dst[start..];
            let frames = data.chunks_exact(ch * w).map(|f| &f[c * w..(c + 1) * w]);
            match self.kind {
                // as symphonia: i16 as f32 / 32768, i24 as f32 / 8388608 (both exact)
                PcmKind::S16 => {
                    for (d, b) in dst.iter_mut().zip(frames) {
                        *d = f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0;
                    }
                }
                PcmKind::S24 => {
                    for (d, b) in dst.iter_mut().zip(frames) {
                        let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                        *d = v as f32 / 8_388_608.0;
                    }
                }
                PcmKind::F32 => {
                    for (d, b) in dst.iter_mut().zip(frames) {
                        *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
            }
        }
    }
}

/// Append `n` frames of a decoded packet to the planar output, converting to `f32`.
fn append_planar(decoded: &GenericAudioBufferRef<'_>, out: &mut [Vec<f32>], n: usize) {
    let start = out[0].len();
    for ch in out.iter_mut() {
        ch.resize(start + n, 0.0);
    }
    match out {
        [a] => decoded.copy_to_slice_planar::<f32, _>(&mut [&mut a[start..]]),
        [a, b] => decoded.copy_to_slice_planar::<f32, _>(&mut [&mut a[start..], &mut b[start..]]),
        // Channel count is checked before the first append.
        _ => unreachable!("more than two channels are rejected before decoding"),
    }
}

fn check_rate(path: &Path, rate: u32) -> Result<()> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::file(
            path,
            format!(
                "sample rate {rate} Hz is not supported (mixdown reads 8 kHz to 192 kHz; resample it first)"
            ),
        ))
    }
}

fn check_channels(path: &Path, channels: usize) -> Result<()> {
    match channels {
        1 | 2 => Ok(()),
        0 => Err(Error::file(path, "contains no audio channels")),
        n => Err(Error::file(
            path,
            format!(
                "has {n} channels; mixdown handles mono and stereo files for now (downmix it to stereo first)"
            ),
        )),
    }
}

fn is_lossy(id: AudioCodecId) -> bool {
    use codec_ids::*;
    [
        CODEC_ID_MP1,
        CODEC_ID_MP2,
        CODEC_ID_MP3,
        CODEC_ID_AAC,
        CODEC_ID_VORBIS,
        CODEC_ID_OPUS,
        CODEC_ID_PCM_ALAW,
        CODEC_ID_PCM_MULAW,
        CODEC_ID_ADPCM_G722,
        CODEC_ID_ADPCM_G726,
        CODEC_ID_ADPCM_G726LE,
        CODEC_ID_ADPCM_MS,
        CODEC_ID_ADPCM_IMA_WAV,
        CODEC_ID_ADPCM_IMA_QT,
    ]
    .contains(&id)
}

fn codec_name(id: AudioCodecId) -> String {
    use codec_ids::*;
    let name = match id {
        CODEC_ID_MP1 => "MP1",
        CODEC_ID_MP2 => "MP2",
        CODEC_ID_MP3 => "MP3",
        CODEC_ID_AAC => "AAC",
        CODEC_ID_VORBIS => "Vorbis",
        CODEC_ID_OPUS => "Opus",
        CODEC_ID_FLAC => "FLAC",
        CODEC_ID_ALAC => "ALAC",
        CODEC_ID_WAVPACK => "WavPack",
        CODEC_ID_PCM_ALAW => "A-law",
        CODEC_ID_PCM_MULAW => "mu-law",
        CODEC_ID_ADPCM_G722
        | CODEC_ID_ADPCM_G726
        | CODEC_ID_ADPCM_G726LE
        | CODEC_ID_ADPCM_MS
        | CODEC_ID_ADPCM_IMA_WAV
        | CODEC_ID_ADPCM_IMA_QT => "ADPCM",
        _ => {
            // All the plain PCM ids are in one contiguous range.
            if (CODEC_ID_PCM_S32LE..=CODEC_ID_PCM_F64BE_PLANAR).contains(&id) {
                "PCM"
            } else {
                return format!("codec {id}");
            }
        }
    };
    name.to_string()
}

fn container_name(
    format: symphonia::core::formats::FormatId,
    codec: AudioCodecId,
    long_name: &str,
) -> String {
    use format_ids::*;
    let codec_part = codec_name(codec);
    let name = match format {
        FORMAT_ID_WAVE => "WAV".to_string(),
        FORMAT_ID_AIFF => "AIFF".to_string(),
        FORMAT_ID_FLAC => "FLAC".to_string(),
        FORMAT_ID_MP1 => "MP1".to_string(),
        FORMAT_ID_MP2 => "MP2".to_string(),
        FORMAT_ID_MP3 => "MP3".to_string(),
        FORMAT_ID_ADTS => "AAC (ADTS)".to_string(),
        FORMAT_ID_OGG => format!("Ogg {codec_part}"),
        FORMAT_ID_ISOMP4 => format!("M4A/{codec_part}"),
        FORMAT_ID_CAF => format!("CAF/{codec_part}"),
        _ => long_name.to_string(),
    };
    name
}

/// Word size of a float PCM codec, for containers that do not state it.
fn float_pcm_bits(id: AudioCodecId) -> Option<u32> {
    use codec_ids::*;
    if [
        CODEC_ID_PCM_F32LE,
        CODEC_ID_PCM_F32BE,
        CODEC_ID_PCM_F32LE_PLANAR,
        CODEC_ID_PCM_F32BE_PLANAR,
    ]
    .contains(&id)
    {
        Some(32)
    } else if [
        CODEC_ID_PCM_F64LE,
        CODEC_ID_PCM_F64BE,
        CODEC_ID_PCM_F64LE_PLANAR,
        CODEC_ID_PCM_F64BE_PLANAR,
    ]
    .contains(&id)
    {
        Some(64)
    } else {
        None
    }
}

fn is_float_pcm(id: AudioCodecId) -> bool {
    (codec_ids::CODEC_ID_PCM_F32LE..=codec_ids::CODEC_ID_PCM_F64BE_PLANAR).contains(&id)
}

fn sample_format_name(
    lossy: bool,
    fmt: Option<SymSampleFormat>,
    bits: Option<u32>,
    float_codec: bool,
) -> String {
    if lossy {
        return "lossy (compressed)".to_string();
    }
    let float =
        float_codec || matches!(fmt, Some(SymSampleFormat::F32) | Some(SymSampleFormat::F64));
    let bits = bits.or(match fmt {
        Some(SymSampleFormat::U8) | Some(SymSampleFormat::S8) => Some(8),
        Some(SymSampleFormat::U16) | Some(SymSampleFormat::S16) => Some(16),
        Some(SymSampleFormat::U24) | Some(SymSampleFormat::S24) => Some(24),
        Some(SymSampleFormat::U32) | Some(SymSampleFormat::S32) | Some(SymSampleFormat::F32) => {
            Some(32)
        }
        Some(SymSampleFormat::F64) => Some(64),
        None => None,
    });
    match (bits, float) {
        (Some(b), true) => format!("{b}-bit float"),
        (Some(b), false) => format!("{b}-bit int"),
        (None, true) => "float".to_string(),
        (None, false) => "int".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// AAC gapless information from the MP4 container.

/// Priming of ffmpeg's (and most libav-based tools') AAC encoder, in frames.
const FFMPEG_AAC_DELAY: usize = 1024;
/// Priming of Apple's AAC encoders (iTunes, Logic, afconvert), in frames.
const APPLE_AAC_DELAY: usize = 2112;

/// What an MP4 file says about where its real audio starts and how long it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Mp4Gapless {
    /// Frames to drop at the start (encoder delay), if the file says.
    pub delay: Option<usize>,
    /// Frames of real audio after the delay, if the file says.
    pub length: Option<usize>,
    /// The encoder tag (`©too`), if any.
    pub encoder: Option<String>,
}

/// Encoder delay to assume when the file does not say: Apple's encoders prime with 2112 frames
/// (though they normally write iTunSMPB); ffmpeg and most others with 1024, the AAC-LC minimum.
fn fallback_aac_delay(encoder: Option<&str>) -> usize {
    let apple = ["iTunes", "Apple", "Core Audio", "CoreAudio", "Logic"];
    match encoder {
        Some(e) if apple.iter().any(|a| e.contains(a)) => APPLE_AAC_DELAY,
        _ => FFMPEG_AAC_DELAY,
    }
}

/// Read the gapless information of the first audio track of an MP4/M4A file.
///
/// In order of preference:
/// 1. the edit list (`moov/trak/edts/elst`): `media_time` is the delay; the track length is the
///    media duration minus the delay (exact for ffmpeg, which shortens the last sample's
///    duration), checked against the edit's `segment_duration` (movie timescale, often ms);
/// 2. the iTunes `iTunSMPB` tag (`moov/udta/meta/ilst/----`): hex fields delay, padding and
///    original length;
/// 3. nothing: the caller falls back to the encoder's known delay ([`fallback_aac_delay`]).
///
/// `sample_rate` converts media-timescale values when the media timescale is not the rate.
/// Returns `None` when the file cannot be parsed as MP4 (the caller uses the fallback).
pub(crate) fn mp4_gapless(path: &Path, sample_rate: u32) -> Option<Mp4Gapless> {
    let mut f = File::open(path).ok()?;
    let moov = read_top_level_box(&mut f, b"moov")?;
    Some(parse_moov(&moov, sample_rate))
}

/// Largest `moov` we are prepared to read into memory (a sample table for hours of audio).
const MAX_MOOV: u64 = 64 << 20;

fn read_top_level_box(f: &mut File, want: &[u8; 4]) -> Option<Vec<u8>> {
    let file_len = f.metadata().ok()?.len();
    let mut pos = 0u64;
    while pos + 8 <= file_len {
        f.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 16];
        f.read_exact(&mut hdr[..8]).ok()?;
        let mut size = u32::from_be_bytes(hdr[0..4].try_into().ok()?) as u64;
        let kind: [u8; 4] = hdr[4..8].try_into().ok()?;
        let mut header_len = 8u64;
        if size == 1 {
            f.read_exact(&mut hdr[8..16]).ok()?;
            size = u64::from_be_bytes(hdr[8..16].try_into().ok()?);
            header_len = 16;
        } else if size == 0 {
            size = file_len - pos;
        }
        if size < header_len {
            return None;
        }
        if &kind == want {
            let body = size - header_len;
            if body > MAX_MOOV || pos + size > file_len {
                return None;
            }
            let mut buf = vec![0u8; body as usize];
            f.read_exact(&mut buf).ok()?;
            return Some(buf);
        }
        pos = pos.checked_add(size)?;
    }
    None
}

/// Iterate over the boxes in `data`: yields (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 8 {
            return None;
        }
        let mut size = u32::from_be_bytes(rest[0..4].try_into().ok()?) as usize;
        let kind = &rest[4..8];
        let mut header = 8;
        if size == 1 {
            size = usize::try_from(u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)).ok()?;
            header = 16;
        } else if size == 0 {
            size = rest.len();
        }
        if size < header || size > rest.len() {
            return None;
        }
        let body = &rest[header..size];
        rest = &rest[size..];
        Some((kind, body))
    })
}

fn child<'a>(data: &'a [u8], want: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| *k == want).map(|(_, b)| b)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// (timescale, duration) from an `mvhd` or `mdhd` body.
fn header_timescale_duration(body: &[u8]) -> Option<(u64, u64)> {
    match *body.first()? {
        0 => Some((be_u32(body, 12)? as u64, be_u32(body, 16)? as u64)),
        1 => Some((be_u32(body, 20)? as u64, be_u64(body, 24)?)),
        _ => None,
    }
}

/// First edit that maps media (skipping "empty" edits): (segment_duration, media_time).
fn first_media_edit(elst: &[u8]) -> Option<(u64, i64)> {
    let version = *elst.first()?;
    let count = be_u32(elst, 4)? as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    for i in 0..count.min(1024) {
        let at = 8 + i * entry_len;
        let (dur, time) = if version == 1 {
            (be_u64(elst, at)?, be_u64(elst, at + 8)? as i64)
        } else {
            (
                be_u32(elst, at)? as u64,
                be_u32(elst, at + 4)? as i32 as i64,
            )
        };
        if time >= 0 {
            return Some((dur, time));
        }
    }
    None
}

fn scale(v: u64, from: u64, to: u64) -> Option<usize> {
    if from == 0 {
        return None;
    }
    usize::try_from((v as u128 * to as u128 + from as u128 / 2) / from as u128).ok()
}

fn parse_moov(moov: &[u8], sample_rate: u32) -> Mp4Gapless {
    let mut g = Mp4Gapless::default();
    let rate = sample_rate as u64;
    let movie_ts = child(moov, b"mvhd")
        .and_then(header_timescale_duration)
        .map(|(ts, _)| ts);

    // The first track whose handler is 'soun'.
    let audio_trak = boxes(moov).filter(|(k, _)| k == b"trak").find(|(_, trak)| {
        child(trak, b"mdia")
            .and_then(|m| child(m, b"hdlr"))
            .and_then(|h| h.get(8..12))
            == Some(b"soun")
    });
    if let Some((_, trak)) = audio_trak {
        let media = child(trak, b"mdia")
            .and_then(|m| child(m, b"mdhd"))
            .and_then(header_timescale_duration);
        let edit = child(trak, b"edts")
            .and_then(|e| child(e, b"elst"))
            .and_then(first_media_edit);
        if let (Some((media_ts, media_dur)), Some((seg_dur, media_time))) = (media, edit) {
            let media_time = media_time as u64;
            let delay = scale(media_time, media_ts, rate);
            let from_media = scale(media_dur.saturating_sub(media_time), media_ts, rate);
            let from_segment = movie_ts.and_then(|ts| scale(seg_dur, ts, rate));
            g.delay = delay;
            g.length = match (from_media, from_segment, movie_ts) {
                // The segment duration is rounded to the movie timescale: trust the exact media
                // figure when the two agree within that rounding.
                (Some(m), Some(s), Some(ts)) => {
                    let tolerance = (rate / ts.max(1)) as usize + 1;
                    if m.abs_diff(s) <= tolerance || seg_dur == 0 {
                        Some(m)
                    } else {
                        Some(s.min(m))
                    }
                }
                (Some(m), _, _) => Some(m),
                (None, s, _) => s,
            };
        }
    }

    // iTunes metadata: iTunSMPB and the encoder tag.
    if let Some(ilst) = child(moov, b"udta")
        .and_then(|u| child(u, b"meta"))
        .and_then(|m| {
            // ISO 'meta' is a full box (4 bytes version/flags first); QuickTime's is not.
            if m.get(4..8) == Some(b"hdlr") {
                child(m, b"ilst")
            } else {
                m.get(4..).and_then(|b| child(b, b"ilst"))
            }
        })
    {
        for (kind, item) in boxes(ilst) {
            if kind == b"\xa9too" {
                if let Some(text) = child(item, b"data").and_then(|d| d.get(8..)) {
                    g.encoder = Some(String::from_utf8_lossy(text).into_owned());
                }
            } else if kind == b"----" {
                let name = child(item, b"name").and_then(|n| n.get(4..));
                if name == Some(b"iTunSMPB") && g.delay.is_none() {
                    if let Some(text) = child(item, b"data").and_then(|d| d.get(8..)) {
                        if let Some((d, len)) = parse_itunsmpb(&String::from_utf8_lossy(text)) {
                            g.delay = Some(d);
                            g.length = Some(len);
                        }
                    }
                }
            }
        }
    }
    g
}

/// " 00000000 00000840 000001CA 00000000003F1F76 ..." → (delay, original length).
fn parse_itunsmpb(text: &str) -> Option<(usize, usize)> {
    let mut fields = text.split_whitespace().map(|f| u64::from_str_radix(f, 16));
    let _reserved = fields.next()?.ok()?;
    let delay = fields.next()?.ok()?;
    let _padding = fields.next()?.ok()?;
    let length = fields.next()?.ok()?;
    if length == 0 {
        return None;
    }
    Some((usize::try_from(delay).ok()?, usize::try_from(length).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn mvhd(ts: u32, dur: u32) -> Vec<u8> {
        let mut b = vec![0u8; 100];
        b[12..16].copy_from_slice(&ts.to_be_bytes());
        b[16..20].copy_from_slice(&dur.to_be_bytes());
        mp4_box(b"mvhd", &b)
    }

    fn trak(media_ts: u32, media_dur: u32, seg: u32, media_time: i32) -> Vec<u8> {
        let mut mdhd = vec![0u8; 24];
        mdhd[12..16].copy_from_slice(&media_ts.to_be_bytes());
        mdhd[16..20].copy_from_slice(&media_dur.to_be_bytes());
        let mut hdlr = vec![0u8; 24];
        hdlr[8..12].copy_from_slice(b"soun");
        let mdia = [mp4_box(b"mdhd", &mdhd), mp4_box(b"hdlr", &hdlr)].concat();
        let mut elst = vec![0, 0, 0, 0, 0, 0, 0, 1];
        elst.extend_from_slice(&seg.to_be_bytes());
        elst.extend_from_slice(&media_time.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let edts = mp4_box(b"elst", &elst);
        mp4_box(
            b"trak",
            &[mp4_box(b"edts", &edts), mp4_box(b"mdia", &mdia)].concat(),
        )
    }

    #[test]
    fn edit_list_gives_delay_and_exact_length() {
        // As ffmpeg writes it: 1 s at 44.1 kHz, priming 1024, movie timescale 1000.
        let moov = [mvhd(1000, 1000), trak(44100, 45124, 1000, 1024)].concat();
        let g = parse_moov(&moov, 44100);
        assert_eq!(g.delay, Some(1024));
        assert_eq!(g.length, Some(44100));
    }

    #[test]
    fn edit_segment_wins_when_media_duration_includes_padding() {
        // Apple style: media duration covers whole frames (46 * 1024), segment is the real length.
        let moov = [mvhd(44100, 44100), trak(44100, 47104, 44100, 2112)].concat();
        let g = parse_moov(&moov, 44100);
        assert_eq!(g.delay, Some(2112));
        assert_eq!(g.length, Some(44100));
    }

    #[test]
    fn itunsmpb_is_parsed_and_garbage_is_ignored() {
        assert_eq!(
            parse_itunsmpb(" 00000000 00000840 000001CA 000000000000AC44 00000000"),
            Some((2112, 44100))
        );
        assert_eq!(parse_itunsmpb("hello"), None);
        assert_eq!(parse_itunsmpb(""), None);
        // Truncated or hostile box data must not panic.
        for n in 0..64 {
            let moov = [mvhd(1000, 1000), trak(44100, 45124, 1000, 1024)].concat();
            let _ = parse_moov(&moov[..moov.len().min(n * 7)], 44100);
        }
    }

    #[test]
    fn fallback_delay_by_encoder() {
        assert_eq!(fallback_aac_delay(Some("Lavf59.27.100")), 1024);
        assert_eq!(fallback_aac_delay(None), 1024);
        assert_eq!(fallback_aac_delay(Some("iTunes 12.9.0.164")), 2112);
    }

    #[test]
    fn sample_format_names() {
        assert_eq!(
            sample_format_name(false, Some(SymSampleFormat::S16), Some(16), false),
            "16-bit int"
        );
        assert_eq!(
            sample_format_name(false, None, Some(64), true),
            "64-bit float"
        );
        assert_eq!(
            sample_format_name(true, None, None, false),
            "lossy (compressed)"
        );
    }
}
