//! Level and stereo meters: RMS, DC offset, crest factor, correlation, width, balance.

/// Decibels of a linear amplitude; `None` for zero (no -inf in reports).
pub fn amp_db(x: f64) -> Option<f64> {
    (x > 0.0 && x.is_finite()).then(|| 20.0 * x.log10())
}

/// Decibels of a power ratio; `None` for zero.
pub fn pow_db(x: f64) -> Option<f64> {
    (x > 0.0 && x.is_finite()).then(|| 10.0 * x.log10())
}

/// Sum of squares and sum of one channel, in f64.
fn sums(x: &[f32]) -> (f64, f64) {
    // four partial sums: faster, and more accurate on long signals
    let mut sq = [0.0f64; 4];
    let mut s = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            let v = c[k] as f64;
            sq[k] += v * v;
            s[k] += v;
        }
    }
    for &v in rem {
        sq[0] += (v as f64) * (v as f64);
        s[0] += v as f64;
    }
    (sq.iter().sum(), s.iter().sum())
}

/// Per-channel and overall level statistics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Levels {
    /// RMS over all samples of all channels, dBFS (full-scale sine = -3.01 dBFS).
    pub rms_dbfs: Option<f64>,
    /// Largest |sample|, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Sample peak over RMS, dB.
    pub crest_db: Option<f64>,
    /// Mean value of each channel (DC offset), as a fraction of full scale.
    pub dc_offset: Vec<f64>,
    /// Samples at or within 0.0003 dB of full scale (|x| >= 0.99997).
    pub clipped_samples: usize,
}

pub fn levels(channels: &[&[f32]]) -> Levels {
    let mut sq_total = 0.0;
    let mut count = 0usize;
    let mut peak = 0.0f32;
    let mut clipped = 0usize;
    let mut dc = Vec::with_capacity(channels.len());
    for ch in channels {
        let (sq, s) = sums(ch);
        sq_total += sq;
        count += ch.len();
        dc.push(if ch.is_empty() {
            0.0
        } else {
            s / ch.len() as f64
        });
        for &v in ch.iter() {
            let a = v.abs();
            if a > peak {
                peak = a;
            }
            if a >= 0.99997 {
                clipped += 1;
            }
        }
    }
    let rms = if count > 0 {
        (sq_total / count as f64).sqrt()
    } else {
        0.0
    };
    let rms_db = amp_db(rms);
    let peak_db = amp_db(peak as f64);
    Levels {
        rms_dbfs: rms_db,
        sample_peak_dbfs: peak_db,
        crest_db: match (peak_db, rms_db) {
            (Some(p), Some(r)) => Some(p - r),
            _ => None,
        },
        dc_offset: dc,
        clipped_samples: clipped,
    }
}

/// Stereo image figures of a two-channel signal.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stereo {
    /// Pearson correlation of left and right (+1 mono, 0 unrelated, -1 out of phase).
    pub correlation: Option<f64>,
    /// Side energy over mid energy, dB (M = (L+R)/2, S = (L-R)/2). -inf (None) for mono.
    pub side_to_mid_db: Option<f64>,
    /// Side energy as a share of the total, 0..1 (0 = mono, 0.5 = unrelated channels).
    pub width: f64,
    /// Left level minus right level, dB (positive: leans left).
    pub balance_db: Option<f64>,
}

pub fn stereo(left: &[f32], right: &[f32]) -> Stereo {
    let mut acc = StereoAccumulator::default();
    acc.push(left, right);
    acc.finish()
}

/// Accumulates the sums behind [`Stereo`] over blocks.
#[derive(Clone, Debug, Default)]
pub struct StereoAccumulator {
    ll: f64,
    rr: f64,
    lr: f64,
}

impl StereoAccumulator {
    pub fn push(&mut self, left: &[f32], right: &[f32]) {
        let (mut ll, mut rr, mut lr) = (0.0f64, 0.0f64, 0.0f64);
        for (&l, &r) in left.iter().zip(right) {
            let (l, r) = (l as f64, r as f64);
            ll += l * l;
            rr += r * r;
            lr += l * r;
        }
        self.ll += ll;
        self.rr += rr;
        self.lr += lr;
    }

    pub fn finish(&self) -> Stereo {
        stereo_from_sums(self.ll, self.rr, self.lr)
    }
}

/// Stereo figures from the sums Σl², Σr², Σlr (of samples, or of spectra over a band).
pub fn stereo_from_sums(ll: f64, rr: f64, lr: f64) -> Stereo {
    // mid/side energies from the same sums
    let mid = (ll + rr + 2.0 * lr) / 4.0;
    let side = ((ll + rr - 2.0 * lr) / 4.0).max(0.0);
    Stereo {
        correlation: (ll > 0.0 && rr > 0.0).then(|| (lr / (ll * rr).sqrt()).clamp(-1.0, 1.0)),
        side_to_mid_db: if mid > 0.0 { pow_db(side / mid) } else { None },
        width: if mid + side > 0.0 {
            side / (mid + side)
        } else {
            0.0
        },
        balance_db: (ll > 0.0 && rr > 0.0).then(|| 10.0 * (ll / rr).log10()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_levels() {
        let x: Vec<f32> = (0..48_000)
            .map(|n| (0.5 * (n as f64 * 0.0731).sin()) as f32)
            .collect();
        let l = levels(&[&x]);
        assert!((l.rms_dbfs.unwrap() - (-6.0206 - 3.0103)).abs() < 0.01);
        assert!((l.crest_db.unwrap() - 3.0103).abs() < 0.01);
        assert!(l.dc_offset[0].abs() < 1e-3);
        assert_eq!(l.clipped_samples, 0);
        let z = vec![0.0f32; 10];
        let lz = levels(&[&z]);
        assert_eq!(lz.rms_dbfs, None);
        assert_eq!(lz.crest_db, None);
    }

    #[test]
    fn stereo_figures() {
        let x: Vec<f32> = (0..10_000).map(|n| (n as f32 * 0.01).sin()).collect();
        let neg: Vec<f32> = x.iter().map(|v| -v).collect();
        let half: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
        let mono = stereo(&x, &x);
        assert!((mono.correlation.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(mono.width, 0.0);
        assert_eq!(mono.side_to_mid_db, None);
        let anti = stereo(&x, &neg);
        assert!((anti.correlation.unwrap() + 1.0).abs() < 1e-9);
        assert!((anti.width - 1.0).abs() < 1e-9);
        let lean = stereo(&x, &half);
        assert!((lean.balance_db.unwrap() - 6.0206).abs() < 1e-3);
    }
}
