//! Refining a reference match by measuring what the chain does to it.
//!
//! The match EQ is designed on the song as it is, but glue and limiting toward a dense
//! reference move the long-term spectrum: they turn the loud moments down, and the loud
//! moments are the bass-heavy ones, so a heavily limited master comes out thinner in the low
//! end and brighter than the curve meant (up to 1-2 dB per band on dense references). So
//! the song is first mastered as a test with the same chain; its tone, measured on the same
//! moments as the song's, is compared with what the match meant, and the curve is corrected
//! by the difference (a second test when the first correction still misses). The correction
//! also takes up what the curve itself misses (a 1/3-octave curve cannot follow every bass
//! note). A test costs a render of the song, so only songs up to [`REFINE_MAX_S`] are refined.

use super::chain::MasterChain;
use super::reference::{
    any_gain, fill, match_band, mean, mid_side_spectra_gated_by, side_to_mid, smooth, total_db,
    MatchStage, Spectra, EMPTY_BELOW_DB, MAX_BOOST_DB, MAX_CUT_DB, MAX_NARROW_DB, MAX_WIDEN_DB,
    NORM_BAND_HZ,
};
use super::render::render;
use crate::audio::AudioBuffer;

/// Songs up to this long (seconds) are refined: a test master costs a render of the song
/// (about 0.1 s a minute here). Excerpts of longer songs proved too unlike the song to
/// correct it (on a 3-minute song, a 20 s excerpt's correction moved its tone further).
pub const REFINE_MAX_S: f64 = 60.0;

/// A first master further than this from the match's aim in some band (dB) is refined.
pub const REFINE_ABOVE_DB: f64 = 0.5;
/// Test masters at most (each followed by a correction while it is off the aim).
pub const REFINE_ROUNDS: usize = 2;
/// The most a refinement moves a band, dB.
pub const REFINE_MAX_DB: f64 = 4.0;
/// The bands a refinement looks at.
const REFINE_HZ: (f64, f64) = (30.0, 16_000.0);

/// A first render's tone against what the match meant, per band: (tone residual, width
/// residual), dB, + where the master came out short. Glue and limiting toward a dense
/// reference move the long-term spectrum (they turn down the loud moments, and the loud
/// moments are bass-heavy), which the match EQ did not know when it was designed.
fn residuals(
    before: &Spectra,
    stage: &MatchStage,
    out: &Spectra,
) -> Vec<(Option<f64>, Option<f64>)> {
    let n = before.0.len().min(out.0.len()).min(stage.bands.len());
    let raw: Vec<(Option<f64>, Option<f64>)> = (0..n)
        .map(|i| {
            let b = &stage.bands[i];
            let t = match (total_db(before, i), total_db(out, i)) {
                (Some(s), Some(o)) => Some(s + b.tone_db - o),
                _ => None,
            };
            let (rs, ro) = (side_to_mid(before, i), side_to_mid(out, i));
            let w = (rs.is_finite() && ro.is_finite()).then_some(rs + (b.side_db - b.mid_db) - ro);
            (t, w)
        })
        .collect();
    // level-neutral, as the curve is
    let off = mean(
        (0..n)
            .filter(|&i| (NORM_BAND_HZ.0..=NORM_BAND_HZ.1).contains(&before.0[i]))
            .filter_map(|i| raw[i].0),
    )
    .unwrap_or(0.0);
    raw.into_iter()
        .map(|(t, w)| (t.map(|t| t - off), w))
        .collect()
}

/// A refinement of a match once a master of `song` made with `current` is measured
/// (`residuals` against `aim`, the match as designed): the curve that should land where the match meant,
/// and how far off the master was (the largest band residual, dB; width counts half), or None
/// when the master is already within [`REFINE_ABOVE_DB`] of the aim everywhere. The refined
/// curve stays within [`REFINE_MAX_DB`] of the aim and inside the match's bounds, and a band
/// the song does not have is never boosted.
pub fn refine(
    song: &Spectra,
    aim: &MatchStage,
    current: &MatchStage,
    out: &Spectra,
) -> Option<(MatchStage, f64)> {
    let res = residuals(song, aim, out);
    let in_range = |i: usize| (REFINE_HZ.0..=REFINE_HZ.1).contains(&song.0[i]);
    // a band already at a bound in the direction it would move cannot do better: it does
    // not count
    let movable = |r: f64, now: f64, lo: f64, hi: f64| {
        let room = if r > 0.0 { hi - now } else { now - lo };
        r.abs().min(room.max(0.0))
    };
    let worst = (0..res.len().min(current.bands.len()).min(aim.bands.len()))
        .filter(|&i| in_range(i))
        .map(|i| {
            let (b, a) = (&current.bands[i], &aim.bands[i]);
            let t = res[i].0.map_or(0.0, |r| {
                let lo = (a.tone_db - REFINE_MAX_DB).max(-MAX_CUT_DB);
                let hi = (a.tone_db + REFINE_MAX_DB).min(MAX_BOOST_DB);
                movable(r, b.tone_db, lo, hi)
            });
            let w = res[i].1.map_or(0.0, |r| {
                let (now, was) = (b.side_db - b.mid_db, a.side_db - a.mid_db);
                let lo = (was - REFINE_MAX_DB).max(-MAX_NARROW_DB);
                let hi = (was + REFINE_MAX_DB).min(MAX_WIDEN_DB);
                0.5 * movable(r, now, lo, hi)
            });
            t.max(w)
        })
        .fold(0.0f64, f64::max);
    if worst <= REFINE_ABOVE_DB {
        return None;
    }
    let max_song = (0..song.0.len())
        .filter_map(|i| total_db(song, i))
        .fold(f64::MIN, f64::max);
    let t_res: Vec<Option<f64>> = res.iter().map(|r| r.0).collect();
    let w_res: Vec<Option<f64>> = res.iter().map(|r| r.1).collect();
    let (t_res, w_res) = (fill(&t_res), fill(&smooth(&w_res)));
    let mut st = current.clone();
    let n = res.len().min(aim.bands.len());
    for (i, b) in st.bands.iter_mut().enumerate().take(n) {
        let a = &aim.bands[i];
        let empty = total_db(song, i).is_none_or(|s| s < max_song - EMPTY_BELOW_DB);
        let near = |x: f64, to: f64| x.clamp(to - REFINE_MAX_DB, to + REFINE_MAX_DB);
        let mut t = near(b.tone_db + t_res[i], a.tone_db).clamp(-MAX_CUT_DB, MAX_BOOST_DB);
        if empty {
            t = t.min(a.tone_db);
        }
        let rho = side_to_mid(song, i);
        let w0 = b.side_db - b.mid_db;
        let w = if rho.is_finite() && aim.amounts.width > 0.0 {
            near(w0 + w_res[i], a.side_db - a.mid_db).clamp(-MAX_NARROW_DB, MAX_WIDEN_DB)
        } else {
            w0
        };
        *b = match_band(b.hz, t, w, rho);
    }
    st.enabled = any_gain(&st.bands);
    Some((st, worst))
}

/// Master the song with `chain` as a test and correct its match by what came out
/// ([`refine`]), for up to [`REFINE_ROUNDS`] test masters while it is off the aim. `song` is
/// the song's own spectra (what the match was designed on) and `song_subblocks` its
/// K-weighted 100 ms sub-block powers (from its analysis). None: no match, nothing
/// measurable, or the first test master already lands within [`REFINE_ABOVE_DB`] of the aim.
pub fn refine_match(
    buf: &AudioBuffer,
    chain: &MasterChain,
    song: &Spectra,
    song_subblocks: &[f64],
) -> Option<MatchStage> {
    let aim = chain.matching.as_ref()?;
    let mut c = chain.clone();
    let mut first_off = None;
    // the glue and the limiter answer the corrected curve a little (more bass, more
    // limiting of it), so a second test closes most of what the first leaves
    for _ in 0..REFINE_ROUNDS {
        let (out, _) = render(buf.clone(), &c, song_subblocks, &|_, _| {}).ok()?;
        let after = mid_side_spectra_gated_by(&out, Some(buf))?;
        let Some((st, off)) = refine(song, aim, c.matching.as_ref()?, &after) else {
            break;
        };
        first_off.get_or_insert(off);
        c.matching = Some(st);
    }
    let mut st = c.matching.filter(|_| first_off.is_some())?;
    st.notes.push(format!(
        "refined on a test master: it came out up to {:.1} dB from the aim in some band (glue and limiting move the tone), so the curve is corrected by the difference",
        first_off.unwrap_or(0.0)
    ));
    Some(st)
}
