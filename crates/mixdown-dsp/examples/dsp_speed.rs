//! Times the per-sample DSP blocks on 3 minutes of stereo noise at 44.1 kHz.
//! `cargo run --release -p mixdown-dsp --example dsp_speed`
use mixdown_dsp::biquad::{FilterChain, FilterKind};
use mixdown_dsp::compressor::{Compressor, CompressorParams, Detector};
use mixdown_dsp::loudness::KMeter;
use mixdown_dsp::rng::Rng;
use std::time::Instant;

fn main() {
    let sr = 44_100u32;
    let n = 180 * sr as usize;
    let mut r = Rng::new(1);
    let mut l: Vec<f32> = (0..n).map(|_| (0.2 * r.gaussian()) as f32).collect();
    let mut rr: Vec<f32> = (0..n).map(|_| (0.2 * r.gaussian()) as f32).collect();
    let p = CompressorParams {
        threshold_db: -20.0,
        ratio: 1.5,
        knee_db: 6.0,
        attack_ms: 30.0,
        release_ms: 250.0,
        makeup_db: 0.0,
        detector: Detector::Rms { window_ms: 30.0 },
        auto_release: true,
        sidechain_hpf_hz: Some(90.0),
    };
    let t = Instant::now();
    let mut c = Compressor::new(p, sr as f64, 2);
    for (a, b) in l.chunks_mut(16384).zip(rr.chunks_mut(16384)) {
        c.process(&mut [a, b]);
    }
    println!("compressor: {:.3} s", t.elapsed().as_secs_f64());
    let bands: Vec<FilterKind> = (0..8)
        .map(|i| FilterKind::Peaking {
            freq_hz: 100.0 * 2f64.powi(i),
            gain_db: 1.0,
            q: 1.0,
        })
        .collect();
    let t = Instant::now();
    let mut f = FilterChain::new(&bands, sr as f64, 1);
    f.process(&mut [&mut l]);
    println!("8-band EQ, one channel: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut f = FilterChain::new(&bands, sr as f64, 2);
    for (a, b) in l.chunks_mut(16384).zip(rr.chunks_mut(16384)) {
        f.process(&mut [a, b]);
    }
    println!("8-band EQ, stereo: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut f = FilterChain::new(&bands, sr as f64, 1);
    f.process_mono_whole(&mut l);
    println!(
        "8-band EQ, mono, whole track: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut rv = mixdown_dsp::reverb::Reverb::new(Default::default(), sr as f64);
    let (mut ol, mut or) = (vec![0.0f32; n], vec![0.0f32; n]);
    rv.process(&[&l, &rr], &mut ol, &mut or);
    println!(
        "reverb, stereo: {:.3} s (check {:e})",
        t.elapsed().as_secs_f64(),
        ol.iter().map(|v| v.abs() as f64).sum::<f64>()
    );
    let t = Instant::now();
    let mut m = KMeter::new(2, sr, true);
    for (a, b) in l.chunks(16384).zip(rr.chunks(16384)) {
        m.push(&[a, b]);
    }
    println!("K meter, stereo: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut m = KMeter::new(1, sr, false);
    m.push(&[&l]);
    println!(
        "K meter, mono, streaming: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let sub = mixdown_dsp::loudness::subblock_powers(&[&l], sr);
    println!(
        "K meter, mono, whole signal: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let sub2 = mixdown_dsp::loudness::subblock_powers(&[&l, &rr], sr);
    println!(
        "K meter, stereo, whole signal: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let (a, b) = (m.finish().0, sub);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| ((x - y) / y).abs())
        .fold(0.0, f64::max);
    println!(
        "  mono lanes vs streaming: {} sub-blocks, worst relative difference {worst:e}",
        a.len()
    );
    assert_eq!(sub2.len(), a.len());
}
