//! Helpers shared by the command-line tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn mixdown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(args)
        .output()
        .expect("run mixdown")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A deterministic "song": a few tones with a loudness swell and some noise, `secs` long.
pub fn song(sr: u32, channels: u16, secs: f64) -> Vec<Vec<f32>> {
    let n = (secs * sr as f64) as usize;
    let mut seed = 0x1234_5678u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..channels)
        .map(|c| {
            (0..n)
                .map(|i| {
                    let t = i as f64 / sr as f64;
                    let swell = 0.5 + 0.4 * (t * 0.7).sin();
                    let tones = (2.0 * std::f64::consts::PI * 110.0 * t).sin() * 0.5
                        + (2.0 * std::f64::consts::PI * (440.0 + 3.0 * c as f64) * t).sin() * 0.3
                        + (2.0 * std::f64::consts::PI * 2500.0 * t).sin() * 0.05;
                    (0.25 * swell * tones + 0.02 * noise()) as f32
                })
                .collect()
        })
        .collect()
}

pub fn write_wav(path: &Path, sr: u32, chans: &[Vec<f32>], float: bool) {
    let spec = hound::WavSpec {
        channels: chans.len() as u16,
        sample_rate: sr,
        bits_per_sample: if float { 32 } else { 24 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..chans.first().map_or(0, |c| c.len()) {
        for c in chans {
            if float {
                w.write_sample(c[i]).unwrap();
            } else {
                w.write_sample((c[i] * 8_388_607.0).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

pub fn read_wav(path: &Path) -> (u32, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let ch = spec.channels as usize;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
    };
    let mut out = vec![Vec::new(); ch];
    for (i, s) in samples.into_iter().enumerate() {
        out[i % ch].push(s);
    }
    (spec.sample_rate, out)
}

/// Independent check of the result: integrated loudness and true peak with the ebur128 crate.
pub fn loudness_and_peak(path: &Path) -> (f64, f64) {
    let (sr, chans) = read_wav(path);
    let mut m = ebur128::EbuR128::new(
        chans.len() as u32,
        sr,
        ebur128::Mode::I | ebur128::Mode::TRUE_PEAK,
    )
    .unwrap();
    let v: Vec<&[f32]> = chans.iter().map(|c| c.as_slice()).collect();
    m.add_frames_planar_f32(&v).unwrap();
    let tp = (0..chans.len() as u32)
        .map(|c| m.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    (m.loudness_global().unwrap(), 20.0 * tp.log10())
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Assert a clean failure: non-zero exit, one line on stderr that names `file`, no panic.
pub fn assert_clean_error(o: &Output, file: &str, what: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "{what}: should fail");
    assert_ne!(o.status.code(), Some(70), "{what}: internal error: {e}");
    assert!(!e.contains("panicked"), "{what}: panic: {e}");
    assert_eq!(
        e.trim_end().lines().count(),
        1,
        "{what}: one line expected, got: {e}"
    );
    assert!(e.contains(file), "{what}: error must name {file}: {e}");
}
