//! Time `write_file` on three minutes of stereo noise, WAV 16/24-bit and FLAC 24-bit.
//!
//!     cargo run --release -p mixdown-core --example write_speed [DIR [NAME-PART]]
use mixdown_core::io::encode::{write_file, EncodeSpec, FileFormat, SampleFormat};
use mixdown_core::AudioBuffer;
use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/tmp".into());
    let frames = 44_100 * 180;
    let mut seed = 1u32;
    let mut ch = || {
        (0..frames)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.5 - 0.25
            })
            .collect::<Vec<f32>>()
    };
    let buf = AudioBuffer {
        sample_rate: 44_100,
        channels: vec![ch(), ch()],
    };
    for (name, format, sf) in [
        ("out16.wav", FileFormat::Wav, SampleFormat::Int16),
        ("out24.wav", FileFormat::Wav, SampleFormat::Int24),
        ("out24.flac", FileFormat::Flac, SampleFormat::Int24),
    ] {
        if let Some(only) = std::env::args().nth(2) {
            if !name.contains(only.as_str()) {
                continue;
            }
        }
        let spec = EncodeSpec {
            format,
            sample_format: sf,
            dither: true,
            dither_seed: 7,
        };
        let path = std::path::Path::new(&dir).join(name);
        for _ in 0..3 {
            let t = Instant::now();
            write_file(&path, &buf, &spec).expect("write");
            println!("{name:12} {:7.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
    }
}
