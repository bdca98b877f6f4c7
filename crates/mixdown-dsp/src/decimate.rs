//! Decimation for analysis: the channel mean at a lower rate, through a triangular window
//! (cheap and alias-tolerant enough for envelope and band-level measures).

/// Triangular-window decimation by `d` of the channel mean: output m is the mean of the samples
/// around m·d weighted by (d - |i - m·d|) / d². Linear time: the triangle is two boxes, computed
/// from per-block sums.
pub fn decimate_mean(channels: &[&[f32]], d: usize) -> Vec<f32> {
    let n = channels.first().map_or(0, |c| c.len());
    if n == 0 || channels.is_empty() {
        return Vec::new();
    }
    let nch = channels.len() as f64;
    let out_len = (n - 1) / d + 1;
    let blocks = n.div_ceil(d);
    // a[j] = Σ x over block j, b[j] = Σ t·x over block j (t = index within the block)
    let mut a = vec![0.0f64; blocks];
    let mut b = vec![0.0f64; blocks];
    let ramp: Vec<f32> = (0..d).map(|t| t as f32).collect();
    for ch in channels {
        for ((blk, aj), bj) in ch.chunks(d).zip(a.iter_mut()).zip(b.iter_mut()) {
            // within a block (at most a few dozen samples) f32 sums are plenty
            let mut sa = 0.0f32;
            let mut sb = 0.0f32;
            for (&v, &t) in blk.iter().zip(&ramp) {
                sa += v;
                sb += t * v;
            }
            *aj += f64::from(sa);
            *bj += f64::from(sb);
        }
    }
    let df = d as f64;
    let norm = 1.0 / (df * df * nch);
    (0..out_len)
        .map(|m| {
            // rising half from block m-1 (weight t / d²), falling half from block m
            // (weight (d - t) / d²)
            let rise = if m > 0 { b[m - 1] } else { 0.0 };
            let fall = if m < blocks { df * a[m] - b[m] } else { 0.0 };
            ((rise + fall) * norm) as f32
        })
        .collect()
}
