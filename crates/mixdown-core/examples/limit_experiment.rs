use mixdown_core::analysis::analyse;
use mixdown_core::io::decode::decode_file;
use mixdown_core::master::{decide, render, MasterOptions};
use mixdown_core::targets::Target;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (buf, _) = decode_file(std::path::Path::new(&a[1])).unwrap();
    let t = Target::preset(&a[2]).unwrap();
    let an = analyse(&buf);
    let mut o = MasterOptions::new(t);
    o.glue = a.get(5).map(|s| s != "noglue").unwrap_or(true);
    let mut chain = decide(&buf, &an, &o);
    chain.limiter.params.release_ms = a[3].parse().unwrap();
    chain.limiter.params.hold_ms = a[4].parse().unwrap();
    let (out, oc) = render(buf, &chain, &|_, _| {}).unwrap();
    let an2 = analyse(&out);
    println!(
        "rel {} hold {}: loss {:.2} GRmax {:.1} mean {:.2} LRA {:.2} -> {:.2} ({:.2}) I {:.2}",
        a[3],
        a[4],
        oc.loudness.limiting_loss_lu,
        oc.loudness.limiter_gr.max_db,
        oc.loudness.limiter_gr.mean_db,
        an.loudness.loudness_range_lu.unwrap_or(0.0),
        an2.loudness.loudness_range_lu.unwrap_or(0.0),
        an2.loudness.loudness_range_lu.unwrap_or(0.0)
            / an.loudness.loudness_range_lu.unwrap_or(1.0),
        an2.loudness.integrated_lufs.unwrap()
    );
}
