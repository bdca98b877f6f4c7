//! Optional stage timings for benchmarking: set `MIXDOWN_TIMING=1` and each mark prints the
//! seconds since the first mark to stderr. Off by default; costs one check when off.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<&'static Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    START
        .get_or_init(|| std::env::var_os("MIXDOWN_TIMING").map(|_| Instant::now()))
        .as_ref()
}

/// Print `label` with the elapsed time, when timing is on.
pub fn mark(label: &str) {
    if let Some(t) = start() {
        eprintln!("{:8.3} s  {label}", t.elapsed().as_secs_f64());
    }
}
