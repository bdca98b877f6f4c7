use mixdown_core::io::decode::decode_file;
use mixdown_core::mix::roles::*;
use std::path::Path;

#[test]
#[ignore]
fn dump_features() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/multitrack");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for p in files {
            if p.extension().is_none_or(|e| e != "flac") {
                continue;
            }
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            if stem == "mix" {
                continue;
            }
            let (buf, _) = decode_file(&p).unwrap();
            let t = std::time::Instant::now();
            let f = content_features(&buf);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            println!(
                "{:<28} {} {:.1}ms",
                format!(
                    "{}/{}",
                    d.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .chars()
                        .take(12)
                        .collect::<String>(),
                    stem
                ),
                fmt(&f),
                ms
            );
        }
    }
    let song = mixdown_core::demo::synth_song(44100, 30.0, 1);
    for s in &song.stems {
        let f = content_features(&s.buffer);
        println!("{:<28} {}", format!("demo/{}", s.name), fmt(&f));
    }
}

fn fmt(f: &ContentFeatures) -> String {
    format!("act {:.2} sub {:.2} low {:.2} mid {:.2} pre {:.2} air {:.2} cen {:5.0} flat {:.3} crest {:4.1} ons {:4.1} dec {:4.0} dsh {:.2} tr {:.2} per {:.2} ton {:.2} f0 {:5.0} [{:4.0}-{:4.0}] dp {:2} mot {:.2} mono {:.2} w {:.2} 1-4k {:.2}",
        f.activity, f.bands.sub, f.bands.low, f.bands.mid, f.bands.presence, f.bands.air, f.centroid_hz, f.flatness, f.crest_db, f.onset_rate_hz, f.decay_ms.unwrap_or(-1.0), f.decay_share, f.transient_share, f.periodicity, f.tonal_share, f.pitch_hz.unwrap_or(0.0), f.pitch_low_hz.unwrap_or(0.0), f.pitch_high_hz.unwrap_or(0.0), f.distinct_pitches, f.pitch_motion, f.monophony, f.width, f.band_1k_4k)
}
