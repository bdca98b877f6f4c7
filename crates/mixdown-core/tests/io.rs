//! Integration tests for decoding, encoding and resampling.
//!
//! Signals are synthesised here; formats none of our crates can write (AIFF, MP3, Ogg Vorbis,
//! M4A/AAC, 64-bit float WAV) come from the small fixtures in `tests/fixtures/`, made by
//! `tests/fixtures/make.sh` from the click track that [`click_track`] re-synthesises.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use mixdown_core::io::decode::{decode_file, DecodeInfo};
use mixdown_core::io::encode::{
    default_sample_format, write_file, EncodeSpec, FileFormat, SampleFormat,
};
use mixdown_core::io::resample::resample;
use mixdown_core::AudioBuffer;

// ------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sine(freq: f64, rate: u32, frames: usize, amp: f64) -> Vec<f32> {
    (0..frames)
        .map(|n| (amp * (2.0 * PI * freq * n as f64 / rate as f64).sin()) as f32)
        .collect()
}

/// Deterministic white noise in [-amp, amp).
fn noise(frames: usize, amp: f64, seed: u64) -> Vec<f32> {
    let mut r = mixdown_core::dsp::rng::Rng::new(seed);
    (0..frames).map(|_| (amp * r.bipolar()) as f32).collect()
}

/// The fixtures' signal (see tests/fixtures/make.sh): 44.1 kHz, 22050 frames,
/// left = 0.25 sin(2π·440·n/44100) + 0.8 at n = 2205, 11025, 17640; right = left / 2.
fn click_track(frames: usize, stereo: bool) -> AudioBuffer {
    let left: Vec<f32> = (0..frames)
        .map(|n| {
            let click = if [2205, 11025, 17640].contains(&n) {
                0.8
            } else {
                0.0
            };
            (0.25 * (2.0 * PI * 440.0 * n as f64 / 44100.0).sin() + click) as f32
        })
        .collect();
    let mut channels = vec![left.clone()];
    if stereo {
        channels.push(left.iter().map(|x| x * 0.5).collect());
    }
    AudioBuffer::from_channels(44100, channels)
}

fn spec(format: FileFormat, sample_format: SampleFormat) -> EncodeSpec {
    EncodeSpec {
        format,
        sample_format,
        dither: true,
        dither_seed: 1234,
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

/// Amplitude of the component at `freq` (projection onto sin and cos over `x`).
fn amplitude_at(x: &[f32], freq: f64, rate: u32) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let ph = 2.0 * PI * freq * n as f64 / rate as f64;
        s += v as f64 * ph.sin();
        c += v as f64 * ph.cos();
    }
    2.0 * (s * s + c * c).sqrt() / x.len() as f64
}

/// Lag (in samples) at which `y` best matches `x`, judged on first differences (which keep the
/// clicks and suppress the 440 Hz tone); positive when `y` is late.
fn best_lag(x: &[f32], y: &[f32], max_lag: i64) -> i64 {
    let dx: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let dy: Vec<f64> = y.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mut best = (f64::MIN, 0);
    for lag in -max_lag..=max_lag {
        let mut acc = 0.0;
        for (i, &a) in dx.iter().enumerate() {
            let j = i as i64 + lag;
            if j >= 0 && (j as usize) < dy.len() {
                acc += a * dy[j as usize];
            }
        }
        if acc > best.0 {
            best = (acc, lag);
        }
    }
    best.1
}

fn assert_file_error<T: std::fmt::Debug>(r: mixdown_core::Result<T>, path: &Path, needle: &str) {
    let e = r.expect_err("expected an error").to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(e.contains(&*name), "error does not name the file: {e}");
    assert!(
        e.to_lowercase().contains(&needle.to_lowercase()),
        "error {e:?} does not say {needle:?}"
    );
    assert!(!e.contains('\n'), "error is not one line: {e:?}");
}

/// A WAV written byte by byte, for layouts hound does not write (WAVE_FORMAT_EXTENSIBLE at
/// 16 bit, odd headers).
fn raw_wav(
    path: &Path,
    format_tag: u16,
    extensible_subformat: Option<u16>,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
) {
    let block_align = channels * bits / 8;
    let mut fmt = Vec::new();
    let tag = if extensible_subformat.is_some() {
        0xFFFE
    } else {
        format_tag
    };
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if let Some(sub) = extensible_subformat {
        fmt.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        fmt.extend_from_slice(&bits.to_le_bytes()); // valid bits
        let mask: u32 = if channels == 2 { 0x3 } else { 0x4 };
        fmt.extend_from_slice(&mask.to_le_bytes());
        fmt.extend_from_slice(&sub.to_le_bytes());
        // Rest of the KSDATAFORMAT_SUBTYPE GUID.
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

fn hound_wav(path: &Path, channels: u16, rate: u32, bits: u16, float: bool, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..frames {
        for c in 0..channels {
            let x =
                0.5 * (2.0 * PI * 440.0 * n as f64 / rate as f64).sin() * (1.0 - 0.1 * c as f64);
            if float {
                w.write_sample(x as f32).unwrap();
            } else {
                let full = (1i64 << (bits - 1)) as f64;
                w.write_sample((x * full).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

// ------------------------------------------------------------------------------------------
// Round trips through our own encoder

fn round_trip(format: FileFormat, sf: SampleFormat, rate: u32, channels: usize) {
    let dir = tempfile::tempdir().unwrap();
    let ext = match format {
        FileFormat::Wav => "wav",
        FileFormat::Flac => "flac",
    };
    let path = dir.path().join(format!("rt.{ext}"));
    let frames = rate as usize / 4;
    let mut chans = vec![sine(997.0, rate, frames, 0.7)];
    if channels == 2 {
        chans.push(noise(frames, 0.5, 7));
    }
    let buf = AudioBuffer::from_channels(rate, chans);
    let stats = write_file(&path, &buf, &spec(format, sf)).unwrap();
    assert_eq!(stats.clipped_samples, 0);
    assert_eq!(stats.dithered, sf != SampleFormat::Float32);

    let (back, info) = decode_file(&path).unwrap();
    assert_eq!(back.sample_rate, rate);
    assert_eq!(back.num_channels(), channels);
    assert_eq!(back.frames(), frames);
    assert_eq!(info.frames, frames);
    assert_eq!(info.channels, channels);
    assert!(!info.lossy);
    assert_eq!(info.trimmed_priming_frames, 0);
    let what = format!("{format:?} {sf:?} {rate} Hz {channels} ch");
    match sf {
        SampleFormat::Float32 => {
            assert_eq!(back, buf, "{what}: float must be exact");
            assert_eq!(info.sample_format, "32-bit float");
        }
        SampleFormat::Int16 | SampleFormat::Int24 => {
            let lsb = 1.0 / (1u64 << (sf.bits() - 1)) as f64;
            for c in 0..channels {
                let d = max_abs_diff(&back.channels[c], &buf.channels[c]);
                assert!(d <= 1.5 * lsb, "{what}: max error {} LSB", d / lsb);
                // The dither is really there: the error is not just rounding (< 0.5 LSB).
                assert!(
                    d > 0.5 * lsb,
                    "{what}: no dither? max error {} LSB",
                    d / lsb
                );
            }
            assert_eq!(info.bits_per_sample, Some(sf.bits()));
            assert_eq!(info.sample_format, format!("{}-bit int", sf.bits()));
        }
    }
    assert_eq!(
        info.container,
        match format {
            FileFormat::Wav => "WAV",
            FileFormat::Flac => "FLAC",
        }
    );
    // Nothing but the output is left in the folder (the temporary file was renamed).
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn wav_round_trips_16_24_float_mono_stereo_8k_to_192k() {
    for sf in [
        SampleFormat::Int16,
        SampleFormat::Int24,
        SampleFormat::Float32,
    ] {
        for rate in [8000, 44100, 192000] {
            for ch in [1, 2] {
                round_trip(FileFormat::Wav, sf, rate, ch);
            }
        }
    }
}

#[test]
fn flac_round_trips_16_24_mono_stereo_8k_to_192k() {
    for sf in [SampleFormat::Int16, SampleFormat::Int24] {
        for rate in [8000, 44100, 192000] {
            for ch in [1, 2] {
                round_trip(FileFormat::Flac, sf, rate, ch);
            }
        }
    }
}

#[test]
fn undithered_16_bit_is_plain_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.wav");
    let buf = AudioBuffer::from_channels(44100, vec![sine(440.0, 44100, 4410, 0.5)]);
    let mut s = spec(FileFormat::Wav, SampleFormat::Int16);
    s.dither = false;
    let stats = write_file(&path, &buf, &s).unwrap();
    assert!(!stats.dithered);
    let (back, _) = decode_file(&path).unwrap();
    let d = max_abs_diff(&back.channels[0], &buf.channels[0]);
    assert!(d <= 0.5 / 32768.0 + 1e-9, "{}", d * 32768.0);
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let buf = AudioBuffer::from_channels(
        48000,
        vec![sine(440.0, 48000, 9600, 0.3), noise(9600, 0.2, 3)],
    );
    for format in [FileFormat::Wav, FileFormat::Flac] {
        let ext = if format == FileFormat::Wav {
            "wav"
        } else {
            "flac"
        };
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        let c = dir.path().join(format!("c.{ext}"));
        write_file(&a, &buf, &spec(format, SampleFormat::Int16)).unwrap();
        write_file(&b, &buf, &spec(format, SampleFormat::Int16)).unwrap();
        let mut other = spec(format, SampleFormat::Int16);
        other.dither_seed = 99;
        write_file(&c, &buf, &other).unwrap();
        let (a, b, c) = (
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            std::fs::read(c).unwrap(),
        );
        assert_eq!(a, b, "{format:?}");
        assert_ne!(a, c, "{format:?}");
    }
}

#[test]
fn overs_are_clamped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let buf = AudioBuffer::from_channels(44100, vec![vec![0.0, 1.5, -2.0, 0.5, 1.0, -1.0]]);
    for (format, sf) in [
        (FileFormat::Wav, SampleFormat::Int16),
        (FileFormat::Wav, SampleFormat::Int24),
        (FileFormat::Flac, SampleFormat::Int24),
    ] {
        let path = dir.path().join(if format == FileFormat::Wav {
            "o.wav"
        } else {
            "o.flac"
        });
        let stats = write_file(&path, &buf, &spec(format, sf)).unwrap();
        assert_eq!(stats.clipped_samples, 2, "{format:?} {sf:?}");
        let (back, _) = decode_file(&path).unwrap();
        let max = 1.0 - 1.0 / (1u64 << (sf.bits() - 1)) as f32;
        assert_eq!(back.channels[0][1], max);
        assert_eq!(back.channels[0][2], -1.0);
    }
    // Float keeps overs as they are and reports none.
    let path = dir.path().join("f.wav");
    let stats = write_file(&path, &buf, &spec(FileFormat::Wav, SampleFormat::Float32)).unwrap();
    assert_eq!(stats.clipped_samples, 0);
    assert_eq!(decode_file(&path).unwrap().0, buf);
}

#[test]
fn flac_float_is_refused_and_bad_destinations_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let buf = AudioBuffer::from_channels(44100, vec![vec![0.0; 100]]);
    let path = dir.path().join("x.flac");
    let r = write_file(&path, &buf, &spec(FileFormat::Flac, SampleFormat::Float32));
    assert_file_error(r, &path, "float");
    assert!(!path.exists());

    let missing = dir.path().join("no_such_folder").join("out.wav");
    let r = write_file(&missing, &buf, &spec(FileFormat::Wav, SampleFormat::Int24));
    assert_file_error(r, missing.parent().unwrap(), "cannot write here");

    // A file where a folder should be.
    let file = dir.path().join("plain_file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = file.join("out.wav");
    let r = write_file(
        &under_file,
        &buf,
        &spec(FileFormat::Wav, SampleFormat::Int24),
    );
    assert!(r.unwrap_err().to_string().contains("cannot write here"));

    // The destination is a folder: error, and no temporary file left behind.
    let folder = dir.path().join("taken.wav");
    std::fs::create_dir(&folder).unwrap();
    let r = write_file(&folder, &buf, &spec(FileFormat::Wav, SampleFormat::Int24));
    assert_file_error(r, &folder, "cannot write here");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("mixdown-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn existing_destination_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    std::fs::write(&path, b"old contents").unwrap();
    let buf = AudioBuffer::from_channels(44100, vec![sine(440.0, 44100, 1000, 0.5)]);
    write_file(&path, &buf, &spec(FileFormat::Wav, SampleFormat::Float32)).unwrap();
    assert_eq!(decode_file(&path).unwrap().0, buf);
}

#[test]
fn default_sample_formats_follow_the_source() {
    assert_eq!(
        default_sample_format(FileFormat::Wav, Some(16), false),
        SampleFormat::Int16
    );
    assert_eq!(
        default_sample_format(FileFormat::Wav, Some(32), true),
        SampleFormat::Int24
    );
    assert_eq!(
        default_sample_format(FileFormat::Flac, Some(16), false),
        SampleFormat::Int24
    );
}

// ------------------------------------------------------------------------------------------
// Decoding formats our encoder does not write

#[test]
fn wav_32_bit_int_and_wave_format_extensible() {
    let dir = tempfile::tempdir().unwrap();
    let p32 = dir.path().join("int32.wav");
    hound_wav(&p32, 2, 48000, 32, false, 4800);
    let (b, info) = decode_file(&p32).unwrap();
    assert_eq!(
        (info.bits_per_sample, info.sample_format.as_str()),
        (Some(32), "32-bit int")
    );
    assert_eq!(b.frames(), 4800);
    let expect = sine(440.0, 48000, 4800, 0.5);
    assert!(max_abs_diff(&b.channels[0], &expect) < 1e-6);

    // WAVE_FORMAT_EXTENSIBLE, 16-bit PCM, stereo, and 32-bit float.
    let frames = 1000;
    let left = sine(1000.0, 44100, frames, 0.5);
    let mut data = Vec::new();
    for &x in &left {
        let v = (x as f64 * 32768.0).round() as i16;
        data.extend_from_slice(&v.to_le_bytes());
        data.extend_from_slice(&(-v).to_le_bytes());
    }
    let pext = dir.path().join("ext16.wav");
    raw_wav(&pext, 1, Some(1), 2, 44100, 16, &data);
    let (b, info) = decode_file(&pext).unwrap();
    assert_eq!(info.sample_format, "16-bit int");
    assert_eq!(b.num_channels(), 2);
    assert!(max_abs_diff(&b.channels[0], &left) <= 0.5 / 32768.0 + 1e-7);
    let neg: Vec<f32> = left.iter().map(|x| -x).collect();
    assert!(max_abs_diff(&b.channels[1], &neg) <= 1.5 / 32768.0);

    let mut fdata = Vec::new();
    for &x in &left {
        fdata.extend_from_slice(&x.to_le_bytes());
    }
    let pextf = dir.path().join("extf32.wav");
    raw_wav(&pextf, 3, Some(3), 1, 44100, 32, &fdata);
    let (b, info) = decode_file(&pextf).unwrap();
    assert_eq!(info.sample_format, "32-bit float");
    assert_eq!(b.channels[0], left);
}

#[test]
fn wav_64_bit_float_fixture() {
    let path = fixture("sine_mono_8k_f64.wav");
    let (b, info) = decode_file(&path).unwrap();
    assert_eq!(info.container, "WAV");
    assert_eq!(info.sample_format, "64-bit float");
    assert_eq!(
        (b.sample_rate, b.num_channels(), b.frames()),
        (8000, 1, 800)
    );
    let expect = sine(440.0, 8000, 800, 0.25);
    assert!(max_abs_diff(&b.channels[0], &expect) < 1e-6);
}

#[test]
fn aiff_fixture() {
    let path = fixture("click_mono_0.1s.aiff");
    let (b, info) = decode_file(&path).unwrap();
    assert_eq!(info.container, "AIFF");
    assert_eq!(info.sample_format, "16-bit int");
    assert_eq!(
        (b.sample_rate, b.num_channels(), b.frames()),
        (44100, 1, 4410)
    );
    let expect = click_track(4410, false);
    // ffmpeg converts to 16 bit without dither: within one LSB.
    assert!(max_abs_diff(&b.channels[0], &expect.channels[0]) <= 1.0 / 32768.0);
}

/// Checks a lossy fixture against the click track: aligned, right length and level.
fn check_lossy(name: &str, stereo: bool, max_len_error: usize) -> DecodeInfo {
    let (b, info) = decode_file(&fixture(name)).unwrap();
    assert!(info.lossy, "{name}");
    assert_eq!(info.bits_per_sample, None);
    assert_eq!(b.sample_rate, 44100);
    assert_eq!(b.num_channels(), if stereo { 2 } else { 1 });
    let reference = click_track(22050, stereo);
    let len_err = b.frames().abs_diff(22050);
    assert!(
        len_err <= max_len_error,
        "{name}: {} frames, expected 22050 ± {max_len_error}",
        b.frames()
    );
    let lag = best_lag(&reference.channels[0], &b.channels[0], 2500);
    assert!(lag.abs() <= 2, "{name}: decoded audio is {lag} samples off");
    // Level of the 440 Hz tone, measured away from the clicks, within 0.5 dB.
    let seg = &b.channels[0][3000..11000];
    let a = amplitude_at(seg, 440.0, 44100);
    let db = 20.0 * (a / 0.25).log10();
    assert!(db.abs() < 0.5, "{name}: 440 Hz at {db:.2} dB");
    if stereo {
        let r = amplitude_at(&b.channels[1][3000..11000], 440.0, 44100);
        assert!(
            (20.0 * (r / a).log10() + 6.02).abs() < 0.5,
            "{name}: right channel"
        );
    }
    assert_eq!(info.skipped_packets, 0);
    info
}

#[test]
fn m4a_aac_priming_is_trimmed_so_it_lines_up_with_the_original() {
    let info = check_lossy("click_stereo_aac.m4a", true, 1024);
    assert_eq!(info.container, "M4A/AAC");
    assert_eq!(info.codec, "AAC");
    assert_eq!(info.sample_format, "lossy (compressed)");
    assert_eq!(info.trimmed_priming_frames, 1024);
}

#[test]
fn m4a_without_edit_list_falls_back_to_the_encoders_known_priming() {
    let info = check_lossy("click_stereo_aac_no_editlist.m4a", true, 1024);
    assert_eq!(info.trimmed_priming_frames, 1024);
}

#[test]
fn mp3_is_gapless_and_aligned() {
    let info = check_lossy("click_stereo.mp3", true, 1152);
    assert_eq!(info.container, "MP3");
    assert!(info.trimmed_priming_frames > 0);
}

#[test]
fn ogg_vorbis_is_aligned() {
    let info = check_lossy("click_mono.ogg", false, 1024);
    assert_eq!(info.container, "Ogg Vorbis");
    assert_eq!(info.codec, "Vorbis");
}

/// A copy of a fixture with 200 bytes in the middle overwritten with junk.
fn damaged_copy(dir: &Path, name: &str) -> PathBuf {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 200].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0x5A;
    }
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}

#[test]
fn corrupt_packets_in_a_lossy_stream_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();

    // AAC: the bad packets are replaced by silence of their length, so the rest stays in time.
    let path = damaged_copy(dir.path(), "click_stereo_aac.m4a");
    let (b, info) = decode_file(&path).unwrap();
    assert!(info.skipped_packets > 0);
    assert_eq!(b.frames(), 22050);
    let reference = click_track(22050, false);
    assert_eq!(
        best_lag(&reference.channels[0][..8000], &b.channels[0][..8000], 50),
        0
    );
    assert_eq!(
        best_lag(&reference.channels[0][16000..], &b.channels[0][16000..], 50),
        0
    );

    // MP3: decodes, with the damaged frames dropped (the demuxer resynchronises past them).
    let path = damaged_copy(dir.path(), "click_stereo.mp3");
    let (b, _) = decode_file(&path).unwrap();
    assert!((15000..=22050).contains(&b.frames()), "{}", b.frames());

    // Ogg: symphonia's reader checks every page when it opens the file; a clear error.
    let path = damaged_copy(dir.path(), "click_mono.ogg");
    match decode_file(&path) {
        Ok((b, _)) => assert!(b.frames() > 10000),
        Err(e) => assert_file_error::<()>(Err(e), &path, "damaged"),
    }
}

// ------------------------------------------------------------------------------------------
// Bad input: an error naming the file, never a panic

#[test]
fn bad_inputs_give_clear_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert_file_error(decode_file(&empty), &empty, "empty");

    let text = d.join("notes.wav");
    std::fs::write(&text, "These are my lyrics, not audio.\n".repeat(50)).unwrap();
    assert_file_error(decode_file(&text), &text, "not an audio file");

    let missing = d.join("missing.wav");
    assert_file_error(decode_file(&missing), &missing, "not found");

    let folder = d.join("folder.wav");
    std::fs::create_dir(&folder).unwrap();
    assert_file_error(decode_file(&folder), &folder, "folder");

    let zero = d.join("zero.wav");
    hound_wav(&zero, 2, 44100, 16, false, 0);
    assert_file_error(decode_file(&zero), &zero, "contains no audio");

    let six = d.join("surround.wav");
    hound_wav(&six, 6, 48000, 24, false, 480);
    assert_file_error(decode_file(&six), &six, "6 channels");

    let low = d.join("low.wav");
    hound_wav(&low, 1, 4000, 16, false, 400);
    assert_file_error(decode_file(&low), &low, "4000 Hz");

    let high = d.join("high.wav");
    hound_wav(&high, 1, 384000, 24, false, 3840);
    assert_file_error(decode_file(&high), &high, "384000 Hz");

    // Only the first bytes of a WAV header: nothing to decode.
    let stub = d.join("stub.wav");
    let full = d.join("full.wav");
    hound_wav(&full, 2, 44100, 16, false, 44100);
    std::fs::write(&stub, &std::fs::read(&full).unwrap()[..20]).unwrap();
    assert_file_error(decode_file(&stub), &stub, "not an audio file");

    // Random bytes with an audio extension.
    let junk = d.join("junk.flac");
    std::fs::write(
        &junk,
        noise(5000, 1.0, 5)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    assert_file_error(decode_file(&junk), &junk, "not an audio file");
}

#[test]
fn truncated_wav_decodes_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.wav");
    hound_wav(&full, 2, 44100, 24, false, 44100);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.wav");
    // Cut in the middle of a frame: header says 1 s, data holds a bit over 0.5 s.
    let keep = 44 + 6 * 22050 + 4;
    std::fs::write(&cut, &bytes[..keep.min(bytes.len())]).unwrap();
    let (b, info) = decode_file(&cut).unwrap();
    assert!(
        (20_000..=22_051).contains(&b.frames()),
        "decoded {} frames",
        b.frames()
    );
    assert_eq!(info.frames, b.frames());
    let (f, _) = decode_file(&full).unwrap();
    let n = b.frames();
    assert_eq!(&b.channels[0][..n], &f.channels[0][..n]);

    // A header claiming ~4 GB of data (as a recorder that crashed before fixing the sizes may
    // leave): decode what is there without trying to allocate for the claim.
    let mut lying = bytes[..keep].to_vec();
    let data_at = lying.windows(4).position(|w| w == b"data").unwrap();
    lying[data_at + 4..data_at + 8].copy_from_slice(&0xFFF0_0000u32.to_le_bytes());
    lying[4..8].copy_from_slice(&0xFFFF_FFF8u32.to_le_bytes());
    let liar = dir.path().join("liar.wav");
    std::fs::write(&liar, &lying).unwrap();
    let (b, _) = decode_file(&liar).unwrap();
    assert_eq!(b.frames(), n);
}

#[test]
fn non_finite_samples_are_passed_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.wav");
    let buf = AudioBuffer::from_channels(44100, vec![vec![0.0, f32::NAN, 0.5, f32::INFINITY]]);
    write_file(&path, &buf, &spec(FileFormat::Wav, SampleFormat::Float32)).unwrap();
    let (b, _) = decode_file(&path).unwrap();
    assert_eq!(b.non_finite(), (2, Some(1)));
}

// ------------------------------------------------------------------------------------------
// Resampling

/// Amplitude spectrum (|X|, normalised so a full-scale sine on a bin reads 1.0) of `x` with a
/// rectangular window: use whole periods so every tone lands on a bin.
fn spectrum(x: &[f32]) -> Vec<f64> {
    let n = x.len();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut input: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).unwrap();
    out.iter().map(|c| 2.0 * c.norm() / n as f64).collect()
}

#[test]
fn resampled_1k_sine_keeps_frequency_and_level() {
    for (from, to) in [
        (44100, 48000),
        (48000, 44100),
        (44100, 88200),
        (96000, 44100),
    ] {
        let x = sine(1000.0, from, from as usize * 2, 0.5);
        let y = resample(&AudioBuffer::from_channels(from, vec![x]), to).unwrap();
        assert_eq!(y.frames(), to as usize * 2);
        // One second from the middle: 1000 whole periods.
        let seg = &y.channels[0][to as usize / 2..to as usize / 2 + to as usize];
        let a = amplitude_at(seg, 1000.0, to);
        let db = 20.0 * (a / 0.5).log10();
        assert!(db.abs() < 0.05, "{from}->{to}: level {db:.4} dB");
        let spec = spectrum(seg);
        let peak = spec
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, 1000, "{from}->{to}: peak at {peak} Hz");
    }
}

#[test]
fn resampling_15k_sine_leaves_no_alias_or_image_above_minus_90_db() {
    for (from, to) in [(44100, 48000), (48000, 44100)] {
        let x = sine(15000.0, from, from as usize * 2, 0.5);
        let y = resample(&AudioBuffer::from_channels(from, vec![x]), to).unwrap();
        let seg = &y.channels[0][to as usize / 2..to as usize / 2 + to as usize];
        let spec = spectrum(seg);
        let tone = spec[15000];
        assert!((20.0 * (tone / 0.5).log10()).abs() < 0.1, "{from}->{to}");
        let worst = spec
            .iter()
            .enumerate()
            .filter(|(f, _)| f.abs_diff(15000) > 2)
            .map(|(f, &a)| (f, a))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        let db = 20.0 * (worst.1 / tone).log10();
        assert!(db < -90.0, "{from}->{to}: {db:.1} dB at {} Hz", worst.0);
    }
}

/// Position of the largest sample, refined by a parabola through it and its neighbours.
fn peak_position(x: &[f32]) -> f64 {
    let (i, _) = x
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap();
    if i == 0 || i + 1 >= x.len() {
        return i as f64;
    }
    let (a, b, c) = (x[i - 1] as f64, x[i] as f64, x[i + 1] as f64);
    let denom = a - 2.0 * b + c;
    if denom.abs() < 1e-12 {
        i as f64
    } else {
        i as f64 + 0.5 * (a - c) / denom
    }
}

#[test]
fn resampling_keeps_clicks_in_place_and_works_from_8k_to_192k() {
    for (from, to) in [
        (44100, 48000),
        (48000, 44100),
        (8000, 192000),
        (192000, 8000),
        (8000, 44100),
        (44100, 8000),
    ] {
        let frames = from as usize; // 1 s
        let click_at = frames * 3 / 10; // 0.3 s
                                        // A band-limited click (a windowed sinc at a quarter of the lower rate's Nyquist) so that
                                        // it survives downsampling as a clean peak.
        let lower = from.min(to) as f64;
        let fc = 0.25 * lower / from as f64; // cycles per input sample
        let half = (8.0 / fc) as i64;
        let mut x = vec![0.0f32; frames];
        for k in -half..=half {
            let t = k as f64;
            let sinc = if k == 0 {
                1.0
            } else {
                (2.0 * PI * fc * t).sin() / (2.0 * PI * fc * t)
            };
            let w = 0.5 + 0.5 * (PI * t / (half as f64 + 1.0)).cos();
            x[(click_at as i64 + k) as usize] = (0.8 * sinc * w) as f32;
        }
        let buf = AudioBuffer::from_channels(from, vec![x.clone(), x]);
        let y = resample(&buf, to).unwrap();
        let expect_len = (frames as f64 * to as f64 / from as f64).round() as usize;
        assert_eq!(y.frames(), expect_len, "{from}->{to}");
        assert_eq!(y.num_channels(), 2);
        let expected = click_at as f64 * to as f64 / from as f64;
        let got = peak_position(&y.channels[0]);
        assert!(
            (got - expected).abs() <= 1.0,
            "{from}->{to}: click at {got:.2}, expected {expected:.2}"
        );
        assert_eq!(y.channels[0], y.channels[1]);
    }
}

// ------------------------------------------------------------------------------------------
// Speed (run with: cargo test -p mixdown-core --release --test io -- --ignored --nocapture)

#[test]
#[ignore]
fn speed_three_minutes_of_stereo() {
    use std::time::Instant;
    let rate = 44100;
    let frames = rate as usize * 180;
    // Music-like: tones plus a little noise (pure loud noise is the worst case for FLAC).
    let mix = |f: f64, seed: u64| -> Vec<f32> {
        let n = noise(frames, 0.05, seed);
        sine(f, rate, frames, 0.3)
            .iter()
            .zip(sine(f * 2.51, rate, frames, 0.1))
            .zip(n)
            .map(|((a, b), c)| a + b + c)
            .collect()
    };
    let buf = AudioBuffer::from_channels(rate, vec![mix(220.0, 1), mix(330.0, 2)]);
    let dir = tempfile::tempdir().unwrap();
    for (format, sf, ext) in [
        (FileFormat::Wav, SampleFormat::Int16, "wav"),
        (FileFormat::Wav, SampleFormat::Int24, "wav"),
        (FileFormat::Wav, SampleFormat::Float32, "wav"),
        (FileFormat::Flac, SampleFormat::Int16, "flac"),
        (FileFormat::Flac, SampleFormat::Int24, "flac"),
    ] {
        let path = dir.path().join(format!("speed.{ext}"));
        let t = Instant::now();
        write_file(&path, &buf, &spec(format, sf)).unwrap();
        let enc = t.elapsed();
        let t = Instant::now();
        let (b, _) = decode_file(&path).unwrap();
        let dec = t.elapsed();
        assert_eq!(b.frames(), frames);
        println!(
            "{format:?} {sf:?}: encode {:.3} s, decode {:.3} s ({} MB)",
            enc.as_secs_f64(),
            dec.as_secs_f64(),
            std::fs::metadata(&path).unwrap().len() / 1_000_000
        );
    }
    let t = Instant::now();
    let r = resample(&buf, 48000).unwrap();
    println!("resample 44.1k->48k: {:.3} s", t.elapsed().as_secs_f64());
    assert_eq!(r.frames(), 48000 * 180);
}
#[test]
fn loud_noise_in_24_bit_flac_is_not_bigger_than_raw() {
    // flacenc alone would code this several times larger than the raw samples (its Rice
    // parameters top out at 14); such blocks must fall back to verbatim.
    let dir = tempfile::tempdir().unwrap();
    let frames = 22050;
    for (amp, ch) in [(0.3, 1), (0.3, 2), (0.9, 2)] {
        let chans = (0..ch).map(|c| noise(frames, amp, c as u64 + 1)).collect();
        let buf = AudioBuffer::from_channels(44100, chans);
        let path = dir.path().join("noise.flac");
        write_file(&path, &buf, &spec(FileFormat::Flac, SampleFormat::Int24)).unwrap();
        let size = std::fs::metadata(&path).unwrap().len() as f64;
        let raw = (frames * ch * 3) as f64;
        assert!(
            size < raw * 1.03 + 1000.0,
            "{amp} {ch}: {size} bytes vs raw {raw}"
        );
        let (back, _) = decode_file(&path).unwrap();
        let lsb = 1.0 / 8_388_608.0;
        for c in 0..ch {
            assert!(max_abs_diff(&back.channels[c], &buf.channels[c]) <= 1.5 * lsb);
        }
    }
}
