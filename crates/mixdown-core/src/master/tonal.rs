//! Tonal balance: compare a song's long-term spectrum with a target curve and fit a gentle,
//! bounded EQ that moves it part of the way there.
//!
//! The target is a broad average of finished records in 1/3-octave band levels (relative to
//! the 250 Hz - 2 kHz average): a little lift in the low end, flat through the mids, falling
//! steadily above 1 kHz. Songs differ from it by many dB for good artistic reasons, so the
//! correction is (1) smoothed over an octave, so only broad tilts and bumps count, (2) scaled
//! by `amount`, (3) bounded (+2 dB boost, -3 dB cut by default), and (4) never a boost where
//! the song has almost nothing (a boost cannot create missing content, only noise), nor below
//! its low end (the lowest band within 15 dB of its loudest): a voice gets no bass boost.

use mixdown_dsp::biquad::FilterKind;
use mixdown_dsp::spectrum::BandSpectrum;
use serde::{Deserialize, Serialize};

/// Target curve points (Hz, dB relative to the 250 Hz - 2 kHz mean); interpolated in log-f.
pub const TARGET_CURVE: &[(f64, f64)] = &[
    (25.0, -14.0),
    (40.0, -6.0),
    (63.0, 1.0),
    (100.0, 3.0),
    (160.0, 3.0),
    (250.0, 2.0),
    (400.0, 1.5),
    (630.0, 0.5),
    (1000.0, -1.0),
    (1600.0, -2.5),
    (2500.0, -4.0),
    (4000.0, -6.5),
    (6300.0, -9.5),
    (10000.0, -13.0),
    (16000.0, -19.0),
    (20000.0, -24.0),
];

/// Target level at `hz`, dB.
pub fn target_db(hz: f64) -> f64 {
    let pts = TARGET_CURVE;
    if hz <= pts[0].0 {
        return pts[0].1;
    }
    for w in pts.windows(2) {
        let ((f0, d0), (f1, d1)) = (w[0], w[1]);
        if hz <= f1 {
            let t = (hz.ln() - f0.ln()) / (f1.ln() - f0.ln());
            return d0 + t * (d1 - d0);
        }
    }
    pts[pts.len() - 1].1
}

/// Limits of the correction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TonalLimits {
    pub max_boost_db: f64,
    pub max_cut_db: f64,
    pub low_hz: f64,
    pub high_hz: f64,
}

impl Default for TonalLimits {
    fn default() -> Self {
        TonalLimits {
            max_boost_db: 2.0,
            max_cut_db: 3.0,
            low_hz: 35.0,
            high_hz: 16_000.0,
        }
    }
}

/// The EQ bands the fit may use: a low shelf, four wide bells, a high shelf (broad tonal
/// moves need no more, and each band costs a filter per sample).
fn band_kinds(gains: &[f64]) -> Vec<FilterKind> {
    let mut v = vec![FilterKind::LowShelf {
        freq_hz: 100.0,
        gain_db: gains[0],
        slope: 1.0,
    }];
    // bells a good octave and a half apart, about 1.4 octaves wide (Q 0.9)
    for (i, f) in BELLS_HZ.iter().enumerate() {
        v.push(FilterKind::Peaking {
            freq_hz: *f,
            gain_db: gains[i + 1],
            q: 0.9,
        });
    }
    v.push(FilterKind::HighShelf {
        freq_hz: 9_000.0,
        gain_db: gains[NBANDS - 1],
        slope: 1.0,
    });
    v
}
const BELLS_HZ: [f64; 4] = [250.0, 700.0, 1_800.0, 4_500.0];
const NBANDS: usize = BELLS_HZ.len() + 2;
/// A band this far below the song's loudest band counts as empty: never boosted.
const EMPTY_BELOW_DB: f64 = 35.0;

/// The outcome of the tonal analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TonalFit {
    /// Band centre frequencies used, Hz.
    pub centres_hz: Vec<f64>,
    /// Song minus target (after level alignment and octave smoothing), dB; None where the
    /// song has no energy.
    pub deviation_db: Vec<Option<f64>>,
    /// The correction asked of the EQ (amount and limits applied), dB.
    pub wanted_db: Vec<f64>,
    /// What the fitted EQ actually does at each centre, dB.
    pub applied_db: Vec<f64>,
    /// The EQ bands (bands of less than 0.1 dB are left out).
    pub bands: Vec<FilterKind>,
}

/// Solve a small symmetric positive-definite system (Gaussian elimination with pivoting).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for i in 0..n {
        let p = (i..n)
            .max_by(|&x, &y| a[x][i].abs().total_cmp(&a[y][i].abs()))
            .unwrap_or(i);
        a.swap(i, p);
        b.swap(i, p);
        let d = a[i][i];
        if d.abs() < 1e-12 {
            continue;
        }
        for r in i + 1..n {
            let f = a[r][i] / d;
            let (top, bottom) = a.split_at_mut(r);
            for (x, y) in bottom[0][i..n].iter_mut().zip(&top[i][i..n]) {
                *x -= f * y;
            }
            b[r] -= f * b[i];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|c| a[i][c] * x[c]).sum();
        x[i] = if a[i][i].abs() < 1e-12 {
            0.0
        } else {
            (b[i] - s) / a[i][i]
        };
    }
    x
}

fn response_at(kinds: &[FilterKind], hz: f64, sr: f64) -> f64 {
    kinds.iter().map(|k| k.response_db(hz, sr)).sum()
}

/// Fit the tonal EQ for a spectrum.
pub fn fit(spec: &BandSpectrum, sample_rate: u32, amount: f64, limits: &TonalLimits) -> TonalFit {
    let sr = sample_rate as f64;
    let amount = amount.clamp(0.0, 1.0);
    let centres = &spec.centres_hz;
    let levels = &spec.level_db;
    let max_level = levels.iter().flatten().fold(f64::MIN, |m, &v| m.max(v));
    // level alignment over the mids
    let mids: Vec<f64> = centres
        .iter()
        .zip(levels)
        .filter(|(c, l)| (250.0..=2000.0).contains(*c) && l.is_some())
        .map(|(c, l)| l.unwrap_or(0.0) - target_db(*c))
        .collect();
    let mut out = TonalFit {
        centres_hz: centres.clone(),
        ..Default::default()
    };
    if mids.is_empty() || amount == 0.0 {
        out.deviation_db = vec![None; centres.len()];
        out.wanted_db = vec![0.0; centres.len()];
        out.applied_db = vec![0.0; centres.len()];
        return out;
    }
    let offset = mids.iter().sum::<f64>() / mids.len() as f64;
    // bands where the song has (almost) nothing take no part: they would drag the smoothed
    // deviation of their neighbours toward a boost
    let raw: Vec<Option<f64>> = centres
        .iter()
        .zip(levels)
        .map(|(c, l)| {
            l.filter(|&l| l >= max_level - EMPTY_BELOW_DB)
                .map(|l| l - target_db(*c) - offset)
        })
        .collect();
    // octave smoothing (the band and one 1/3-octave neighbour either side, weighted 1-2-1)
    let dev: Vec<Option<f64>> = (0..raw.len())
        .map(|i| {
            let mut s = 0.0;
            let mut w = 0.0;
            for (j, wt) in [(i.wrapping_sub(1), 1.0), (i, 2.0), (i + 1, 1.0)] {
                if let Some(Some(v)) = raw.get(j) {
                    s += wt * v;
                    w += wt;
                }
            }
            raw[i].and((w > 0.0).then(|| s / w))
        })
        .collect();
    // The song's low end starts at its lowest band within 15 dB of the loudest: below that a
    // boost would only lift rumble and boom (a voice, a trio without bass).
    let low_end_hz = centres
        .iter()
        .zip(levels)
        .find(|(_, l)| l.is_some_and(|l| l > max_level - 15.0))
        .map(|(c, _)| *c)
        .unwrap_or(0.0);
    // wanted correction
    let wanted: Vec<f64> = centres
        .iter()
        .zip(&dev)
        .zip(levels)
        .map(|((&c, d), l)| {
            let Some(d) = d else { return 0.0 };
            if c < limits.low_hz || c > limits.high_hz || c > 0.45 * sr {
                return 0.0;
            }
            let mut w = -amount * d;
            // no boost where the song has (almost) nothing, nor below its low end
            if l.is_none_or(|l| l < max_level - EMPTY_BELOW_DB)
                || c < low_end_hz / 2f64.powf(1.0 / 3.0)
            {
                w = w.min(0.0);
            }
            w.clamp(-limits.max_cut_db, limits.max_boost_db)
        })
        .collect();
    // least-squares fit of the band gains to the wanted curve (responses are close to linear
    // in the gain for gains this small; a second pass corrects what is not)
    let used: Vec<usize> = (0..centres.len())
        .filter(|&i| centres[i] >= 20.0 && centres[i] <= (0.45 * sr).min(20_000.0))
        .collect();
    let unit: Vec<Vec<f64>> = (0..NBANDS)
        .map(|j| {
            let mut g = vec![0.0; NBANDS];
            g[j] = 1.0;
            let k = band_kinds(&g);
            used.iter()
                .map(|&i| k[j].response_db(centres[i], sr))
                .collect()
        })
        .collect();
    let ridge = 0.05;
    let mut gains = vec![0.0; NBANDS];
    for _pass in 0..3 {
        let current = band_kinds(&gains);
        let resid: Vec<f64> = used
            .iter()
            .map(|&i| wanted[i] - response_at(&current, centres[i], sr))
            .collect();
        let mut a = vec![vec![0.0; NBANDS]; NBANDS];
        let mut b = vec![0.0; NBANDS];
        for r in 0..NBANDS {
            for c in 0..NBANDS {
                a[r][c] = (0..used.len())
                    .map(|k| unit[r][k] * unit[c][k])
                    .sum::<f64>();
            }
            a[r][r] += ridge;
            b[r] = (0..used.len()).map(|k| unit[r][k] * resid[k]).sum::<f64>();
        }
        let delta = solve(a, b);
        for (g, d) in gains.iter_mut().zip(delta) {
            *g = (*g + d).clamp(-limits.max_cut_db, limits.max_boost_db);
        }
    }
    // the sum of overlapping bands must respect the limits too
    let peak_boost = used
        .iter()
        .map(|&i| response_at(&band_kinds(&gains), centres[i], sr))
        .fold(0.0f64, f64::max);
    let peak_cut = used
        .iter()
        .map(|&i| -response_at(&band_kinds(&gains), centres[i], sr))
        .fold(0.0f64, f64::max);
    let scale = (limits.max_boost_db / peak_boost.max(1e-9))
        .min(limits.max_cut_db / peak_cut.max(1e-9))
        .min(1.0);
    gains.iter_mut().for_each(|g| *g *= scale);
    let all = band_kinds(&gains);
    out.applied_db = centres.iter().map(|&c| response_at(&all, c, sr)).collect();
    out.bands = all
        .into_iter()
        .filter(|k| match k {
            FilterKind::Peaking { gain_db, .. }
            | FilterKind::LowShelf { gain_db, .. }
            | FilterKind::HighShelf { gain_db, .. } => gain_db.abs() >= 0.1,
            _ => true,
        })
        .map(round_kind)
        .collect();
    out.deviation_db = dev;
    out.wanted_db = wanted;
    out
}

/// Round a band's gain to 0.01 dB so sessions and reports read cleanly.
fn round_kind(k: FilterKind) -> FilterKind {
    let r = |g: f64| (g * 100.0).round() / 100.0;
    match k {
        FilterKind::Peaking {
            freq_hz,
            gain_db,
            q,
        } => FilterKind::Peaking {
            freq_hz,
            gain_db: r(gain_db),
            q,
        },
        FilterKind::LowShelf {
            freq_hz,
            gain_db,
            slope,
        } => FilterKind::LowShelf {
            freq_hz,
            gain_db: r(gain_db),
            slope,
        },
        FilterKind::HighShelf {
            freq_hz,
            gain_db,
            slope,
        } => FilterKind::HighShelf {
            freq_hz,
            gain_db: r(gain_db),
            slope,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum_from(f: impl Fn(f64) -> Option<f64>) -> BandSpectrum {
        let centres = mixdown_dsp::spectrum::third_octave_centres();
        BandSpectrum {
            level_db: centres.iter().map(|&c| f(c)).collect(),
            centres_hz: centres,
        }
    }

    #[test]
    fn a_song_on_target_gets_no_eq() {
        let s = spectrum_from(|c| Some(target_db(c) - 20.0));
        let fit = fit(&s, 44_100, 1.0, &TonalLimits::default());
        assert!(fit.bands.is_empty(), "{:?}", fit.bands);
        assert!(fit.applied_db.iter().all(|v| v.abs() < 0.1));
    }

    #[test]
    fn a_dull_song_gets_a_bounded_treble_lift_and_amount_scales_it() {
        // 3 dB too little above 4 kHz: full amount is capped at +2 dB, half asks for 1.5 dB
        let s = spectrum_from(|c| Some(target_db(c) - 20.0 - if c > 3000.0 { 3.0 } else { 0.0 }));
        let lim = TonalLimits::default();
        let full = fit(&s, 44_100, 1.0, &lim);
        let half = fit(&s, 44_100, 0.5, &lim);
        let at = |f: &TonalFit, hz: f64| {
            let i = f
                .centres_hz
                .iter()
                .position(|&c| (c - hz).abs() / hz < 0.05)
                .unwrap();
            f.applied_db[i]
        };
        assert!(at(&full, 8000.0) > 1.2, "{}", at(&full, 8000.0));
        // the fitted bands follow the wanted curve closely where it matters
        let err: Vec<f64> = full
            .centres_hz
            .iter()
            .zip(full.applied_db.iter().zip(&full.wanted_db))
            .filter(|(c, _)| (100.0..=12_000.0).contains(*c))
            .map(|(_, (a, w))| (a - w).abs())
            .collect();
        let mean = err.iter().sum::<f64>() / err.len() as f64;
        assert!(mean < 0.4, "mean fit error {mean}");
        assert!(full
            .applied_db
            .iter()
            .all(|&v| v <= lim.max_boost_db + 1e-6 && v >= -lim.max_cut_db - 1e-6));
        assert!(at(&half, 8000.0) < at(&full, 8000.0));
        assert!(at(&half, 8000.0) > 0.5);
        assert!(at(&full, 500.0).abs() < 0.7);
    }

    #[test]
    fn no_boost_where_the_song_has_nothing() {
        // a lossy file: nothing above 16 kHz, and a huge hole at 8-12 kHz
        let s = spectrum_from(|c| {
            if c > 15_000.0 {
                None
            } else if (7000.0..13_000.0).contains(&c) {
                Some(target_db(c) - 80.0)
            } else {
                Some(target_db(c) - 20.0)
            }
        });
        let f = fit(&s, 44_100, 1.0, &TonalLimits::default());
        for (c, w) in f.centres_hz.iter().zip(&f.wanted_db) {
            if (7000.0..13_000.0).contains(c) || *c > 15_000.0 {
                assert!(*w <= 0.0, "boost wanted at {c}: {w}");
            }
        }
        // and the empty bands do not pull their neighbours into a boost
        let i = f
            .centres_hz
            .iter()
            .position(|&c| (c - 6300.0).abs() < 100.0)
            .unwrap();
        assert!(f.wanted_db[i].abs() < 0.5, "6.3 kHz: {}", f.wanted_db[i]);
    }

    #[test]
    fn a_voice_gets_no_bass_boost() {
        // speech-like: strong 150 Hz - 4 kHz, little below 120 Hz (but not empty)
        let s = spectrum_from(|c| {
            Some(if c < 120.0 {
                target_db(c) - 45.0
            } else {
                target_db(c) - 20.0
            })
        });
        let f = fit(&s, 16_000, 1.0, &TonalLimits::default());
        // the low end starts at the 125 Hz band: nothing below its lower neighbour is lifted
        for (c, w) in f.centres_hz.iter().zip(&f.wanted_db) {
            if *c < 95.0 {
                assert!(*w <= 0.0, "boost wanted at {c}: {w}");
            }
        }
    }
}
