//! Times the per-track stages of `mixdown mix` on one 3-minute mono track (a real stem when a
//! path is given, else synthetic): where a track's analysis and render time goes.
//! `cargo run --release -p mixdown-core --example track_stage_speed [stem.flac]`
use mixdown_core::audio::AudioBuffer;
use mixdown_core::mix::{cleanup, features, masking, roles};
use std::time::Instant;

fn main() {
    let buf = match std::env::args().nth(1) {
        Some(p) => {
            mixdown_core::io::decode::decode_file(std::path::Path::new(&p))
                .expect("decode")
                .0
        }
        None => {
            let sr = 44_100u32;
            let n = 180 * sr as usize;
            let mut seed = 7u32;
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                    let t = i as f32 / sr as f32;
                    0.3 * (2.0 * std::f32::consts::PI * 110.0 * t).sin() + 0.05 * noise
                })
                .collect();
            AudioBuffer::from_channels(sr, vec![x])
        }
    };
    // best of five: the machine is shared
    let time = |label: &str, f: &mut dyn FnMut()| {
        let best = (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("{label:<28} {:7.1} ms", best * 1e3);
    };
    time("features::measure", &mut || {
        features::measure(&buf);
    });
    time("  masking::band_frames", &mut || {
        masking::band_frames(&buf);
    });
    let views: Vec<&[f32]> = buf.channels.iter().map(|c| c.as_slice()).collect();
    time("  loudness", &mut || {
        mixdown_dsp::loudness::Loudness::measure(&views, buf.sample_rate);
    });
    time("  meters::levels", &mut || {
        mixdown_dsp::meters::levels(&views);
    });
    time("  spectrum::third_octave", &mut || {
        mixdown_dsp::spectrum::third_octave(&views, buf.sample_rate, 300);
    });
    time("cleanup::analyse_and_plan", &mut || {
        cleanup::analyse_and_plan(&buf);
    });
    time("roles::content_features", &mut || {
        roles::content_features(&buf);
    });
}
