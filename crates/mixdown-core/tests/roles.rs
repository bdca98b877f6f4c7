//! Track roles and presence: names in many habits, content from synthetic signals (made here,
//! no corpus files), the demo song's stems from their audio alone, presence per song.

use mixdown_core::audio::AudioBuffer;
use mixdown_core::io::decode::decode_file;
use mixdown_core::mix::roles::*;
use mixdown_core::mix::{Presence, Role};
use std::f64::consts::PI;
use std::path::Path;

// ------------------------------------------------------------------------------------------
// Names

/// (name, role, presence hint) in the habits engineers use.
const NAMES: &[(&str, Role, Option<Presence>)] = &[
    // drums
    ("Kick In", Role::Kick, None),
    ("Kick Out", Role::Kick, None),
    ("01_kick.wav", Role::Kick, None),
    ("KickDrum", Role::Kick, None),
    ("BD", Role::Kick, None),
    ("bass drum", Role::Kick, None),
    ("Snare Top", Role::Snare, None),
    ("SN_bottom", Role::Snare, None),
    ("snare-bot.aif", Role::Snare, None),
    ("02 Snare.wav", Role::Snare, None),
    ("HiHat", Role::Hats, None),
    ("hi_hat", Role::Hats, None),
    ("HH", Role::Hats, None),
    ("drums_hihat", Role::Hats, None),
    ("Tom 1", Role::Toms, None),
    ("FloorTom", Role::Toms, None),
    ("Rack Tom 2", Role::Toms, None),
    ("OH L", Role::Cymbals, None),
    ("Overheads.R", Role::Cymbals, None),
    ("Ride", Role::Cymbals, None),
    ("drums_cymbals", Role::Cymbals, None),
    ("Room", Role::Cymbals, Some(Presence::Background)),
    ("Drums", Role::Cymbals, None),
    ("Tamb", Role::Percussion, None),
    ("Shaker", Role::Percussion, None),
    ("Congas", Role::Percussion, None),
    ("percussion", Role::Percussion, None),
    ("Clap", Role::Percussion, None),
    ("Beatbox", Role::Percussion, None),
    // bass
    ("Bass DI", Role::Bass, None),
    ("Bass Amp", Role::Bass, None),
    ("bass_di", Role::Bass, None),
    ("SynthBass", Role::Bass, None),
    ("finger_bass", Role::Bass, None),
    ("Bass Guitar", Role::Bass, None),
    ("Upright Bass", Role::Bass, None),
    // vocals
    ("Lead Vox", Role::LeadVocal, Some(Presence::Lead)),
    ("vox_lead_comp", Role::LeadVocal, Some(Presence::Lead)),
    ("LeadVocal", Role::LeadVocal, Some(Presence::Lead)),
    ("Vocal", Role::LeadVocal, None),
    ("Main Vox", Role::LeadVocal, Some(Presence::Lead)),
    ("Vox Double", Role::LeadVocal, Some(Presence::Background)),
    ("BV 2", Role::BackingVocal, None),
    ("BVs", Role::BackingVocal, None),
    ("Backing Vocals", Role::BackingVocal, None),
    ("Harmony 1", Role::BackingVocal, None),
    ("Choir", Role::BackingVocal, None),
    ("Vox_BV", Role::BackingVocal, None),
    ("Vox Harm 1", Role::BackingVocal, None),
    ("Spoken Word", Role::LeadVocal, None),
    // guitars
    ("Gtr L", Role::Guitar, None),
    ("Acoustic Guitar", Role::Guitar, None),
    ("ElecGtr-2", Role::Guitar, None),
    ("steel_guitar", Role::Guitar, None),
    ("Lead Guitar", Role::LeadInstrument, Some(Presence::Lead)),
    ("Guitar Solo", Role::LeadInstrument, Some(Presence::Lead)),
    ("Gtr Dbl", Role::Guitar, Some(Presence::Background)),
    // keys, organ
    ("Keys", Role::Keys, None),
    ("Rhodes", Role::Keys, None),
    ("Piano L", Role::Keys, None),
    ("Wurli.wav", Role::Keys, None),
    ("honkytonk_piano", Role::Keys, None),
    ("celesta", Role::Keys, None),
    ("Organ", Role::Organ, None),
    ("B3 Leslie", Role::Organ, None),
    ("rock_organ", Role::Organ, None),
    // synths, pads
    ("Pad", Role::Pad, None),
    ("pad_polysynth", Role::Pad, None),
    ("Lead Synth", Role::LeadInstrument, Some(Presence::Lead)),
    // strings, brass and wind
    ("Strings", Role::Strings, None),
    ("tremolo_strings", Role::Strings, None),
    ("Violin 1", Role::Strings, None),
    ("Cello", Role::Strings, None),
    ("Brass", Role::Brass, None),
    ("synth_brass_2", Role::Brass, None),
    ("Trumpet", Role::Brass, None),
    ("alto_sax", Role::Brass, None),
    ("Flute", Role::Brass, None),
    ("ocarina", Role::Brass, None),
    ("Bassoon", Role::Brass, None),
    ("Bass Clarinet", Role::Brass, None),
    ("Sousaphone", Role::Brass, None),
    ("Sax Solo", Role::LeadInstrument, Some(Presence::Lead)),
    // effects, others
    ("Riser", Role::Fx, None),
    ("Vox FX", Role::Fx, Some(Presence::Background)),
    ("Reverse Cymbal", Role::Fx, Some(Presence::Background)),
    ("Click", Role::Other, Some(Presence::Background)),
];

#[test]
fn names_in_many_habits() {
    assert!(NAMES.len() >= 40);
    let f = ContentFeatures::default();
    let mut wrong = Vec::new();
    for &(name, role, hint) in NAMES {
        let g = classify(name, &f);
        let by_name = role_from_name(name).map(|r| r.0);
        if g.role != role || by_name != Some(role) || g.presence_hint != hint {
            wrong.push(format!(
                "{name:?}: got {:?} (name {:?}) hint {:?}, want {role:?} hint {hint:?} ({})",
                g.role, by_name, g.presence_hint, g.why
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn case_separators_and_numbering_do_not_matter() {
    for variants in [
        &[
            "kick",
            "KICK",
            "Kick",
            "kick_01",
            "01-Kick",
            "Kick.1",
            "kick 1.wav",
            "kickIn",
        ][..],
        &[
            "snare top",
            "SnareTop",
            "snare_top",
            "SNARE-TOP",
            "03.Snare.Top",
            "snaretop",
        ],
        &[
            "lead vox",
            "LeadVox",
            "lead_vox",
            "LEAD-VOX",
            "Lead.Vox.2",
            "leadvox",
        ],
        &[
            "bass di",
            "BassDI",
            "bass_DI",
            "BASS-DI",
            "07 Bass DI.wav",
            "bassdi",
        ],
        &["oh l", "OHL", "oh_L", "OH-L", "OH.L", "Ohl"],
        &[
            "acoustic_grand_piano_1",
            "AcousticGrandPiano2",
            "acoustic grand piano",
        ],
    ] {
        let want = role_from_name(variants[0]).expect(variants[0]).0;
        for v in variants {
            assert_eq!(role_from_name(v).map(|r| r.0), Some(want), "{v}");
        }
    }
}

#[test]
fn every_corpus_name_maps_sensibly() {
    use Role::*;
    for (name, want) in [
        ("drums_kick", Kick),
        ("drums_snare", Snare),
        ("drums_hihat", Hats),
        ("drums_toms", Toms),
        ("drums_cymbals", Cymbals),
        ("percussion", Percussion),
        ("finger_bass", Bass),
        ("pick_bass", Bass),
        ("acoustic_bass", Bass),
        ("steel_guitar", Guitar),
        ("distortion_guitar", Guitar),
        ("guitar", Guitar),
        ("bright_piano_1", Keys),
        ("bright_piano_2", Keys),
        ("acoustic_grand_piano_1", Keys),
        ("honkytonk_piano", Keys),
        ("electric_piano_1", Keys),
        ("celesta", Keys),
        ("harp", Keys),
        ("rock_organ", Organ),
        ("pad_polysynth", Pad),
        ("tremolo_strings", Strings),
        ("string_ensemble_1", Strings),
        ("synth_brass_2", Brass),
        ("alto_sax", Brass),
        ("tenor_sax", Brass),
        ("trombone", Brass),
        ("trumpet", Brass),
        ("flute", Brass),
        ("ocarina", Brass),
        ("backing", Other),
    ] {
        assert_eq!(role_from_name(name).map(|r| r.0), Some(want), "{name}");
    }
}

#[test]
fn words_are_matched_whole() {
    // `bassoon` is not a bass, `tomato` not a tom, `snapshot` not a snap, `overhaul` not OH
    assert_eq!(role_from_name("Bassoon").map(|r| r.0), Some(Role::Brass));
    for name in [
        "tomato",
        "snapshot",
        "overhaul",
        "kickstarter notes",
        "hatch",
        "subtitle",
        "padlock",
        "organic",
    ] {
        let r = role_from_name(name);
        assert!(r.is_none(), "{name}: {r:?} (a word inside a word)");
    }
}

#[test]
fn names_that_say_nothing_fall_back_to_content() {
    let kick = features(&kick_track(12.0));
    for name in [
        "Audio 01",
        "track3",
        "channel1",
        "Audio_03.wav",
        "Untitled",
        "Take 5",
        "bounce",
        "ST-04",
        "",
    ] {
        assert!(role_from_name(name).is_none(), "{name:?} says something?");
        let g = classify(name, &kick);
        assert_eq!(g.source, GuessSource::Content, "{name:?}");
        assert_eq!(g.role, Role::Kick, "{name:?}: {}", g.why);
        assert!(g.confidence <= 0.75, "{name:?}: content is never that sure");
        assert!(g.why.starts_with("content:"), "{}", g.why);
    }
}

#[test]
fn a_clear_name_wins_over_content() {
    // a track named Snare that sounds like a kick (a bleed-heavy mic, a mislabelled sample)
    let kick = features(&kick_track(12.0));
    let g = classify("Snare Top", &kick);
    assert_eq!(g.role, Role::Snare);
    assert_eq!(g.source, GuessSource::Name);
    assert!(g.confidence >= 0.7);
    // a name that agrees with the audio gains a little
    let sure = classify("Kick In", &kick);
    assert_eq!(sure.role, Role::Kick);
    assert!(sure.confidence > role_from_name("Kick In").unwrap().1);
    assert!(sure.why.contains("agrees"), "{}", sure.why);
}

#[test]
fn ambiguous_names_let_the_audio_choose() {
    let bass = features(&bass_track(12.0));
    let lead = features(&lead_track(12.0));
    let pad = features(&pad_track(12.0));
    let kick = features(&kick_track(12.0));
    // `Synth`: a pad, a lead, a bass or keys
    assert_eq!(classify("Synth", &bass).role, Role::Bass);
    assert_eq!(classify("Synth 2", &lead).role, Role::LeadInstrument);
    assert_eq!(classify("synth", &pad).role, Role::Pad);
    // `Sub`, `808`: a sub bass or a sub kick
    assert_eq!(classify("Sub", &kick).role, Role::Kick);
    assert_eq!(classify("Sub", &bass).role, Role::Bass);
    assert_eq!(classify("808", &kick).role, Role::Kick);
    // `Lead`: an instrument (or a vocal); asks for the lead either way
    let g = classify("Lead", &lead);
    assert_eq!(g.role, Role::LeadInstrument);
    assert_eq!(g.presence_hint, Some(Presence::Lead));
    // the audio's choice is said
    let g = classify("Synth", &bass);
    assert_eq!(g.source, GuessSource::Content);
    assert!(
        g.why.contains("Synth") && g.why.contains("content"),
        "{}",
        g.why
    );
    // a name naming two instruments at the same rank is less sure
    let (_, conf, _) = role_from_name("Rhodes Organ").unwrap();
    assert!(conf < 0.8, "{conf}");
}

#[test]
fn click_tracks_and_user_roles() {
    let g = classify("Click", &features(&hats_track(8.0)));
    assert!(g.flags.contains(&TrackFlag::ClickTrack));
    assert_eq!(g.role, Role::Other);
    let u = RoleGuess::from_user(Role::Organ);
    assert_eq!(
        (u.role, u.source, u.confidence),
        (Role::Organ, GuessSource::User, 1.0)
    );
}

// ------------------------------------------------------------------------------------------
// Synthetic signals

const SR: u32 = 44100;
const BPM: f64 = 120.0;

/// xorshift64*: reproducible noise.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in -1..1.
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        v as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn frames(seconds: f64) -> usize {
    (seconds * SR as f64) as usize
}

fn mono(x: Vec<f64>) -> AudioBuffer {
    AudioBuffer::from_channels(SR, vec![x.into_iter().map(|v| v as f32).collect()])
}

fn stereo(l: Vec<f64>, r: Vec<f64>) -> AudioBuffer {
    let c = |x: Vec<f64>| x.into_iter().map(|v| v as f32).collect();
    AudioBuffer::from_channels(SR, vec![c(l), c(r)])
}

fn features(b: &AudioBuffer) -> ContentFeatures {
    content_features(b)
}

/// Hit times (s): in every bar, the positions `per_bar` counted in units of `grid` beats.
fn hits(seconds: f64, per_bar: &[f64], grid: f64) -> Vec<f64> {
    let bar = 4.0 * 60.0 / BPM;
    let mut out = Vec::new();
    let mut t0 = 0.0;
    while t0 < seconds {
        for &b in per_bar {
            let t = t0 + b * grid * 60.0 / BPM;
            if t < seconds - 0.5 {
                out.push(t);
            }
        }
        t0 += bar;
    }
    out
}

/// A kick: a sine sweeping 60 → 50 Hz, decaying, on every beat.
fn kick_track(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    for t0 in hits(seconds, &[0.0, 1.0, 2.0, 3.0], 1.0) {
        let s0 = frames(t0);
        let mut phase = 0.0;
        for i in 0..frames(0.45).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            phase += 2.0 * PI * (50.0 + 10.0 * (-t / 0.04).exp()) / SR as f64;
            x[s0 + i] += 0.8 * (-t / 0.12).exp() * phase.sin();
        }
    }
    mono(x)
}

/// A snare: a noise burst (gently low-passed) and a 200 Hz body, on beats 2 and 4.
fn snare_track(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    let mut rng = Rng::new(2);
    for t0 in hits(seconds, &[1.0, 3.0], 1.0) {
        let s0 = frames(t0);
        let mut lp = 0.0;
        for i in 0..frames(0.3).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            lp += 0.5 * (rng.next() - lp);
            let body = (2.0 * PI * 200.0 * t).sin() * (-t / 0.05).exp();
            x[s0 + i] += 0.5 * lp * (-t / 0.07).exp() + 0.5 * body;
        }
    }
    mono(x)
}

/// Hats: short high-passed noise bursts on the eighths, stereo.
fn hats_track(seconds: f64) -> AudioBuffer {
    let n = frames(seconds);
    let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
    let mut rng = Rng::new(3);
    for (k, t0) in hits(seconds, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 0.5)
        .into_iter()
        .enumerate()
    {
        let s0 = frames(t0);
        let accent = if k % 2 == 0 { 0.5 } else { 0.3 };
        let (mut p1, mut p2) = (0.0, 0.0);
        for i in 0..frames(0.12).min(n - s0) {
            let t = i as f64 / SR as f64;
            let env = accent * (-t / 0.025).exp();
            // second difference: a steep high-pass
            let v = rng.next();
            let hp = v - 2.0 * p1 + p2;
            (p2, p1) = (p1, v);
            l[s0 + i] += env * hp * 0.5;
            r[s0 + i] += env * (hp * 0.4 + 0.1 * rng.next());
        }
    }
    stereo(l, r)
}

/// A note: harmonics `1..=harm` with amplitudes `k^-tilt`, attack and release (s).
#[allow(clippy::too_many_arguments)]
fn note(
    x: &mut [f64],
    start: f64,
    len: f64,
    f0: f64,
    amp: f64,
    harm: usize,
    tilt: f64,
    attack: f64,
    release: f64,
) {
    let s0 = frames(start);
    let n = frames(len + release).min(x.len().saturating_sub(s0));
    for i in 0..n {
        let t = i as f64 / SR as f64;
        let env = (t / attack).min(1.0)
            * if t > len {
                (1.0 - (t - len) / release).max(0.0)
            } else {
                1.0
            };
        let mut v = 0.0;
        for k in 1..=harm {
            let f = f0 * k as f64;
            if f < 0.45 * SR as f64 {
                v += (2.0 * PI * f * t).sin() / (k as f64).powf(tilt);
            }
        }
        x[s0 + i] += amp * env * v;
    }
}

/// A bass line: sustained notes between 40 and 120 Hz, two per bar.
fn bass_track(seconds: f64) -> AudioBuffer {
    let notes = [41.2, 55.0, 73.4, 65.4, 98.0, 110.0, 82.4, 61.7];
    let mut x = vec![0.0; frames(seconds)];
    let half_bar = 2.0 * 60.0 / BPM;
    let mut t = 0.0;
    let mut k = 0;
    while t + half_bar < seconds {
        note(
            &mut x,
            t,
            half_bar * 0.9,
            notes[k % notes.len()],
            0.25,
            6,
            1.2,
            0.01,
            0.04,
        );
        t += half_bar;
        k += 1;
    }
    mono(x)
}

/// A pad: four-note chords, two bars each, slow attack, slightly detuned left and right.
fn pad_track(seconds: f64) -> AudioBuffer {
    let chords = [
        [261.6, 329.6, 392.0, 493.9],
        [220.0, 261.6, 329.6, 392.0],
        [174.6, 220.0, 261.6, 329.6],
        [196.0, 246.9, 293.7, 392.0],
    ];
    let n = frames(seconds);
    let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
    let two_bars = 8.0 * 60.0 / BPM;
    let mut t = 0.0;
    let mut k = 0;
    while t < seconds {
        for &f in &chords[k % chords.len()] {
            let len = (two_bars - 0.3).min(seconds - t);
            note(&mut l, t, len, f * 0.998, 0.06, 4, 1.5, 0.8, 0.8);
            note(&mut r, t, len, f * 1.002, 0.06, 4, 1.5, 0.8, 0.8);
        }
        t += two_bars;
        k += 1;
    }
    stereo(l, r)
}

/// A monophonic lead melody: notes of a quarter or an eighth, fundamentals 520-1050 Hz, bright
/// harmonics up to 4 kHz and beyond, moving pitch.
fn lead_track(seconds: f64) -> AudioBuffer {
    let melody = [
        (523.3, 1.0),
        (587.3, 0.5),
        (659.3, 0.5),
        (784.0, 1.0),
        (659.3, 1.0),
        (880.0, 0.5),
        (784.0, 0.5),
        (659.3, 1.0),
        (587.3, 2.0),
        (698.5, 1.0),
        (880.0, 1.0),
        (1046.5, 1.5),
        (987.8, 0.5),
        (784.0, 2.0),
        (0.0, 2.0),
    ];
    let beat = 60.0 / BPM;
    let mut x = vec![0.0; frames(seconds)];
    let mut t = 0.0;
    'outer: loop {
        for &(f, beats) in &melody {
            let len = beats * beat;
            if t + len > seconds {
                break 'outer;
            }
            if f > 0.0 {
                note(&mut x, t, len * 0.92, f, 0.2, 8, 0.8, 0.02, 0.03);
            }
            t += len;
        }
    }
    mono(x)
}

/// Struck chords (a piano-like comping part): three-note chords on beats 1 and 3, decaying.
fn keys_track(seconds: f64) -> AudioBuffer {
    let chords = [
        [261.6, 329.6, 392.0],
        [220.0, 261.6, 329.6],
        [174.6, 220.0, 261.6],
        [196.0, 246.9, 293.7],
    ];
    let mut x = vec![0.0; frames(seconds)];
    for (k, t0) in hits(seconds, &[0.0, 2.0], 1.0).into_iter().enumerate() {
        let s0 = frames(t0);
        for &f in &chords[(k / 2) % chords.len()] {
            let n = frames(0.95).min(x.len() - s0);
            for i in 0..n {
                let t = i as f64 / SR as f64;
                let env = (t / 0.004).min(1.0) * (-t / 0.35).exp();
                let mut v = 0.0;
                for h in 1..=6 {
                    v += (2.0 * PI * f * h as f64 * t).sin() / (h * h) as f64;
                }
                x[s0 + i] += 0.15 * env * v;
            }
        }
    }
    mono(x)
}

/// A kick at any tempo, the pitch falling 88 → 48 Hz, with or without a beater click.
fn kick_at(seconds: f64, bpm: f64, click: bool) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    let beat = 60.0 / bpm;
    let mut t0 = 0.0;
    let mut rng = Rng::new(11);
    while t0 < seconds - 0.5 {
        let s0 = frames(t0);
        let mut phase = 0.0;
        for i in 0..frames(0.45).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            phase += 2.0 * PI * (48.0 + 40.0 * (-t / 0.02).exp()) / SR as f64;
            let c = if click {
                0.3 * rng.next() * (-t / 0.003).exp()
            } else {
                0.0
            };
            x[s0 + i] += 0.8 * (-t / 0.15).exp() * phase.sin() + c;
        }
        t0 += beat;
    }
    mono(x)
}

/// A finger bass: plucked eighth notes 41-73 Hz, each decaying, upper harmonics first.
fn plucked_bass(seconds: f64) -> AudioBuffer {
    let notes = [41.2, 41.2, 55.0, 41.2, 73.4, 65.4, 55.0, 49.0];
    let mut x = vec![0.0; frames(seconds)];
    let eighth = 0.5 * 60.0 / BPM;
    let mut k = 0;
    let mut t0 = 0.0;
    while t0 < seconds - 0.5 {
        let f0 = notes[k % notes.len()];
        let s0 = frames(t0);
        for i in 0..frames(eighth * 0.95).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            let env = (t / 0.003).min(1.0) * (-t / 0.5).exp();
            let mut v = 0.0;
            for h in 1..=8 {
                v += (2.0 * PI * f0 * h as f64 * t).sin() / (h as f64).powf(1.3)
                    * (-t * h as f64 / 0.8).exp();
            }
            x[s0 + i] += 0.3 * env * v;
        }
        t0 += eighth;
        k += 1;
    }
    mono(x)
}

/// A monophonic melody from (Hz, beats) notes (0 Hz = rest), with vibrato; `legato`: no
/// gap or re-attack between notes, the pitch glides.
fn melody_track(
    seconds: f64,
    notes: &[(f64, f64)],
    harm: usize,
    tilt: f64,
    legato: bool,
) -> AudioBuffer {
    let beat = 60.0 / BPM;
    let mut x = vec![0.0; frames(seconds)];
    let mut t = 0.0;
    let mut phase = vec![0.0; harm];
    let mut k = 0;
    let n = x.len();
    let mut i = 0;
    let mut f_prev = notes[0].0;
    while i < n {
        let (f, beats) = notes[k % notes.len()];
        let len = frames(beats * beat);
        for j in 0..len.min(n - i) {
            let tt = j as f64 / SR as f64;
            let ff = if legato {
                f + (f_prev - f) * (-tt / 0.03).exp()
            } else {
                f
            };
            let env = if f <= 0.0 {
                0.0
            } else if legato {
                1.0
            } else {
                (tt / 0.02).min(1.0) * ((len - j) as f64 / (0.03 * SR as f64)).min(1.0)
            };
            let vib = 1.0 + 0.004 * (2.0 * PI * 5.5 * (t + tt)).sin();
            let mut v = 0.0;
            for (h, p) in phase.iter_mut().enumerate() {
                *p += 2.0 * PI * ff * vib * (h + 1) as f64 / SR as f64;
                v += p.sin() / ((h + 1) as f64).powf(tilt);
            }
            x[i + j] = 0.2 * env * v;
        }
        if f > 0.0 {
            f_prev = f;
        }
        i += len;
        t += beats * beat;
        k += 1;
    }
    mono(x)
}

/// A tenor-sax range melody (131-262 Hz).
const TENOR: &[(f64, f64)] = &[
    (146.8, 1.0),
    (164.8, 0.5),
    (174.6, 0.5),
    (196.0, 1.0),
    (220.0, 1.0),
    (196.0, 0.5),
    (174.6, 0.5),
    (164.8, 1.0),
    (130.8, 2.0),
    (0.0, 1.0),
    (261.6, 1.0),
    (246.9, 0.5),
    (220.0, 0.5),
    (196.0, 2.0),
    (0.0, 2.0),
];
/// A legato line around 220-390 Hz (an ocarina, a flute, a held vocal line).
const LEGATO: &[(f64, f64)] = &[
    (293.7, 2.0),
    (329.6, 1.0),
    (392.0, 1.0),
    (349.2, 2.0),
    (329.6, 2.0),
    (293.7, 1.0),
    (261.6, 1.0),
    (293.7, 4.0),
    (220.0, 2.0),
    (246.9, 2.0),
];

/// A cowbell: two inharmonic partials (562, 845 Hz), short decays, a syncopated pattern.
fn cowbell(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    for t0 in hits(seconds, &[0.0, 2.0, 3.0, 5.0, 6.0], 0.5) {
        let s0 = frames(t0);
        for i in 0..frames(0.2).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            let env = (-t / 0.05).exp();
            x[s0 + i] += 0.4
                * env
                * ((2.0 * PI * 562.0 * t).sin()
                    + 0.8 * (2.0 * PI * 845.0 * t).sin()
                    + 0.3 * (2.0 * PI * 1690.0 * t).sin());
        }
    }
    mono(x)
}

/// A tom fill (180 → 82 Hz) at the end of every two bars; little else.
fn toms(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    let two_bars = 8.0 * 60.0 / BPM;
    let mut t0 = two_bars - 1.0;
    let mut rng = Rng::new(5);
    while t0 < seconds - 1.0 {
        for (k, f) in [180.0, 140.0, 110.0, 82.0].iter().enumerate() {
            let s0 = frames(t0 + k as f64 * 0.25);
            for i in 0..frames(0.6).min(x.len() - s0) {
                let t = i as f64 / SR as f64;
                let ff = f * (1.0 + 0.2 * (-t / 0.03).exp());
                x[s0 + i] += 0.7 * (-t / 0.18).exp() * (2.0 * PI * ff * t).sin()
                    + 0.1 * rng.next() * (-t / 0.01).exp();
            }
        }
        t0 += two_bars;
    }
    mono(x)
}

/// A crash cymbal every two bars: bright noise ringing for seconds, stereo.
fn crash(seconds: f64) -> AudioBuffer {
    let n = frames(seconds);
    let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
    let mut rng = Rng::new(8);
    let two_bars = 8.0 * 60.0 / BPM;
    let mut t0 = 0.0;
    while t0 < seconds - 1.0 {
        let s0 = frames(t0);
        let mut p = (0.0, 0.0);
        for i in 0..frames(2.5).min(n - s0) {
            let t = i as f64 / SR as f64;
            let env = 0.5 * (-t / 0.7).exp();
            let v = rng.next();
            let hp = v - p.0;
            p = (v, 0.0);
            l[s0 + i] += env * hp;
            r[s0 + i] += env * (0.7 * hp + 0.3 * rng.next());
        }
        t0 += two_bars;
    }
    stereo(l, r)
}

/// Chugged power chords (root, fifth, octave) through hard clipping, on the eighths.
fn dist_guitar(seconds: f64) -> AudioBuffer {
    let chords = [82.4, 82.4, 110.0, 98.0];
    let mut x = vec![0.0; frames(seconds)];
    let eighth = 0.5 * 60.0 / BPM;
    let mut k = 0;
    let mut t0 = 0.0;
    while t0 < seconds - 0.5 {
        let f0 = chords[(k / 8) % chords.len()];
        let s0 = frames(t0);
        for i in 0..frames(eighth * 0.9).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            let mut v = 0.0;
            for f in [f0, f0 * 1.5, f0 * 2.0] {
                for h in 1..=10 {
                    v += (2.0 * PI * f * h as f64 * t).sin() / h as f64;
                }
            }
            let env = (t / 0.005).min(1.0) * (-t / 0.3).exp();
            x[s0 + i] += 0.3 * (4.0 * env * v).tanh();
        }
        t0 += eighth;
        k += 1;
    }
    mono(x)
}

/// A trombone-range melody (98-175 Hz).
const LOW_LEAD: &[(f64, f64)] = &[
    (116.5, 1.0),
    (130.8, 0.5),
    (146.8, 0.5),
    (155.6, 1.0),
    (174.6, 1.0),
    (146.8, 1.0),
    (130.8, 2.0),
    (0.0, 1.0),
    (98.0, 1.0),
    (110.0, 1.0),
    (130.8, 2.0),
    (0.0, 1.0),
];

/// Congas: pitched 220-330 Hz slaps and tones with a little noise, an eighth-note pattern.
fn congas(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    let pat = [
        (0.0, 330.0, 0.6),
        (1.0, 330.0, 0.3),
        (2.0, 220.0, 0.7),
        (3.0, 330.0, 0.3),
        (4.0, 330.0, 0.5),
        (6.0, 220.0, 0.7),
        (7.0, 250.0, 0.4),
    ];
    let bar = 4.0 * 60.0 / BPM;
    let mut rng = Rng::new(12);
    let mut t0 = 0.0;
    while t0 < seconds - bar {
        for &(pos, f, a) in &pat {
            let s0 = frames(t0 + pos * bar / 8.0);
            for i in 0..frames(0.25).min(x.len() - s0) {
                let t = i as f64 / SR as f64;
                x[s0 + i] += a
                    * ((-t / 0.08).exp()
                        * ((2.0 * PI * f * t).sin() + 0.3 * (2.0 * PI * 2.7 * f * t).sin())
                        + 0.3 * rng.next() * (-t / 0.008).exp());
            }
        }
        t0 += bar;
    }
    mono(x)
}

/// A clave: a bright 2.5 kHz click, the son clave pattern.
fn clave(seconds: f64) -> AudioBuffer {
    let mut x = vec![0.0; frames(seconds)];
    for t0 in hits(seconds, &[0.0, 3.0, 6.0, 10.0, 12.0], 0.25) {
        let s0 = frames(t0);
        for i in 0..frames(0.1).min(x.len() - s0) {
            let t = i as f64 / SR as f64;
            x[s0 + i] += 0.6
                * (-t / 0.025).exp()
                * ((2.0 * PI * 2500.0 * t).sin() + 0.2 * (2.0 * PI * 5100.0 * t).sin());
        }
    }
    mono(x)
}

fn silence(seconds: f64) -> AudioBuffer {
    AudioBuffer::silent(SR, 2, frames(seconds))
}

fn show(f: &ContentFeatures) -> String {
    format!(
        "sub {:.2} low {:.2} mid {:.2} pre {:.2} air {:.2} cen {:.0} flat {:.3} crest {:.1} ons {:.1} dec {:?} dsh {:.2} tr {:.2} per {:.2} ton {:.2} f0 {:?} dp {} mono {:.2} w {:.2} 1-4k {:.2}",
        f.bands.sub, f.bands.low, f.bands.mid, f.bands.presence, f.bands.air, f.centroid_hz,
        f.flatness, f.crest_db, f.onset_rate_hz, f.decay_ms.map(|d| d.round()), f.decay_share,
        f.transient_share, f.periodicity, f.tonal_share, f.pitch_hz.map(|p| p.round()),
        f.distinct_pitches, f.monophony, f.width, f.band_1k_4k
    )
}

fn content_role(b: &AudioBuffer) -> (RoleGuess, ContentFeatures) {
    let f = features(b);
    (classify("Audio 01", &f), f)
}

#[test]
fn content_classifies_synthetic_parts() {
    let cases: Vec<(&str, AudioBuffer, Role)> = vec![
        ("kick", kick_track(16.0), Role::Kick),
        ("snare", snare_track(16.0), Role::Snare),
        ("hats", hats_track(16.0), Role::Hats),
        ("bass", bass_track(16.0), Role::Bass),
        ("pad", pad_track(16.0), Role::Pad),
        ("lead", lead_track(16.0), Role::LeadInstrument),
        ("keys", keys_track(16.0), Role::Keys),
    ];
    let mut wrong = Vec::new();
    for (what, b, want) in &cases {
        let (g, f) = content_role(b);
        assert_eq!(g.source, GuessSource::Content);
        if g.role != *want {
            wrong.push(format!("{what}: {:?} ({}) [{}]", g.role, g.why, show(&f)));
        } else {
            println!("{what}: {:.2} {}", g.confidence, g.why);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // a chord's period is its notes' common sub-harmonic: the reason names no pitch for it
    let (pad, _) = content_role(&cases[4].1);
    assert!(
        pad.why.contains("chords") && !pad.why.contains(" Hz"),
        "{}",
        pad.why
    );
    let (lead, _) = content_role(&cases[5].1);
    assert!(lead.why.contains(" Hz)"), "{}", lead.why);
}

#[test]
fn content_classifies_variations() {
    // other tempos, timbres and registers of the same parts, and parts the rules must not
    // mistake for them
    let cases: Vec<(&str, AudioBuffer, Role)> = vec![
        ("kick at 90 bpm", kick_at(16.0, 90.0, false), Role::Kick),
        (
            "kick at 140 bpm, click",
            kick_at(16.0, 140.0, true),
            Role::Kick,
        ),
        ("plucked bass", plucked_bass(16.0), Role::Bass),
        (
            "tenor lead",
            melody_track(16.0, TENOR, 12, 0.6, false),
            Role::LeadInstrument,
        ),
        (
            "trombone lead",
            melody_track(16.0, LOW_LEAD, 12, 0.6, false),
            Role::LeadInstrument,
        ),
        (
            "legato lead",
            melody_track(16.0, LEGATO, 3, 1.5, true),
            Role::LeadInstrument,
        ),
        ("toms", toms(16.0), Role::Toms),
        ("crash", crash(16.0), Role::Cymbals),
        ("cowbell", cowbell(16.0), Role::Percussion),
        ("congas", congas(16.0), Role::Percussion),
        ("clave", clave(16.0), Role::Percussion),
        ("chugged guitar", dist_guitar(16.0), Role::Guitar),
    ];
    let mut wrong = Vec::new();
    for (what, b, want) in &cases {
        let (g, f) = content_role(b);
        if g.role != *want {
            let mut sc = content_scores(&f);
            sc.sort_by(|a, b| b.1.total_cmp(&a.1));
            wrong.push(format!(
                "{what}: {:?} ({}) [{}] {:?}",
                g.role,
                g.why,
                show(&f),
                &sc[..3]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn silence_is_flagged() {
    let f = features(&silence(5.0));
    assert!(f.silent);
    for name in ["Audio 01", "Kick In"] {
        let g = classify(name, &f);
        assert!(g.flags.contains(&TrackFlag::Silent), "{name}");
    }
    let mut g = vec![classify("Audio 01", &f), classify("Lead Vox", &f)];
    assert_eq!(g[1].role, Role::LeadVocal, "a silent track keeps its name");
    assert_eq!(g[0].role, Role::Other);
    assert!(g[0].why.contains("silent"));
    assert_presence(
        &mut g,
        &[f.clone(), f],
        &[Presence::Background, Presence::Background],
    );
    // empty and near-silent buffers too
    assert!(features(&AudioBuffer::silent(SR, 1, 0)).silent);
    let mut hiss = vec![0.0; frames(3.0)];
    let mut rng = Rng::new(9);
    for v in &mut hiss {
        *v = 1e-7 * rng.next();
    }
    assert!(features(&mono(hiss)).silent);
}

#[test]
fn a_short_or_quiet_part_keeps_its_role() {
    // 6 dB... 40 dB quieter: the rules read shapes, not levels
    for gain in [0.5f32, 0.01] {
        let mut b = kick_track(12.0);
        b.apply_gain(gain);
        assert_eq!(content_role(&b).0.role, Role::Kick, "gain {gain}");
        let mut b = bass_track(12.0);
        b.apply_gain(gain);
        assert_eq!(content_role(&b).0.role, Role::Bass, "gain {gain}");
    }
    // four seconds
    assert_eq!(content_role(&hats_track(4.0)).0.role, Role::Hats);
    assert_eq!(content_role(&kick_track(4.0)).0.role, Role::Kick);
}

// ------------------------------------------------------------------------------------------
// The demo song

#[test]
fn demo_stems_from_content_alone() {
    for seed in [1u64, 7] {
        let song = mixdown_core::demo::synth_song(SR, 30.0, seed);
        let mut wrong = Vec::new();
        let mut guesses = Vec::new();
        let mut feats = Vec::new();
        for s in &song.stems {
            let want = match s.name.as_str() {
                "kick" => Role::Kick,
                "snare" => Role::Snare,
                "hats" => Role::Hats,
                "bass" => Role::Bass,
                "chords" => Role::Pad,
                "lead" => Role::LeadInstrument,
                other => panic!("a new demo stem: {other}"),
            };
            let f = features(&s.buffer);
            let g = classify("track", &f);
            if g.role != want {
                wrong.push(format!(
                    "{}: {:?} ({}) [{}]",
                    s.name,
                    g.role,
                    g.why,
                    show(&f)
                ));
            }
            guesses.push(g);
            feats.push(f);
        }
        assert!(wrong.is_empty(), "seed {seed}:\n{}", wrong.join("\n"));
        assign_presence(&mut guesses, &feats);
        for (s, g) in song.stems.iter().zip(&guesses) {
            let want = match s.name.as_str() {
                "lead" => Presence::Lead,
                "chords" => Presence::Background,
                _ => Presence::Normal,
            };
            assert_eq!(
                g.presence, want,
                "seed {seed}: {} ({})",
                s.name, g.presence_why
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Presence

fn assert_presence(g: &mut [RoleGuess], f: &[ContentFeatures], want: &[Presence]) {
    assign_presence(g, f);
    let got: Vec<Presence> = g.iter().map(|g| g.presence).collect();
    let why: Vec<String> = g
        .iter()
        .map(|g| format!("{:?} {:?}: {}", g.role, g.presence, g.presence_why))
        .collect();
    assert_eq!(got, want, "{why:#?}");
    for g in g.iter() {
        assert!(!g.presence_why.is_empty());
    }
}

/// A small band: kick, snare, hats, bass, pad, struck keys, lead melody (features, 12 s).
fn band() -> Vec<ContentFeatures> {
    [
        kick_track(12.0),
        snare_track(12.0),
        hats_track(12.0),
        bass_track(12.0),
        pad_track(12.0),
        keys_track(12.0),
        lead_track(12.0),
    ]
    .iter()
    .map(features)
    .collect()
}

#[test]
fn a_lead_vocal_leads() {
    use Presence::*;
    let f = band();
    let names = ["Kick", "Snare", "HH", "Bass", "Pad", "Piano", "Lead Vox"];
    let mut g: Vec<RoleGuess> = names.iter().zip(&f).map(|(n, f)| classify(n, f)).collect();
    assert_presence(
        &mut g,
        &f,
        &[Normal, Normal, Normal, Normal, Background, Normal, Lead],
    );
    assert_eq!(g[6].presence_why, "the lead vocal");
    // with a vocal, a melodic instrument does not lead unless its name asks
    let names = ["Kick", "Snare", "HH", "Bass", "Pad", "Vocal", "Sax Solo"];
    let mut g: Vec<RoleGuess> = names.iter().zip(&f).map(|(n, f)| classify(n, f)).collect();
    assert_presence(
        &mut g,
        &f,
        &[Normal, Normal, Normal, Normal, Background, Lead, Lead],
    );
}

#[test]
fn without_a_vocal_the_most_melodic_part_leads() {
    use Presence::*;
    let f = band();
    // by name: the sax plays the melody, the piano comps
    let names = ["Kick", "Snare", "HH", "Bass", "Pad", "Piano", "Sax"];
    let mut g: Vec<RoleGuess> = names.iter().zip(&f).map(|(n, f)| classify(n, f)).collect();
    assert_presence(
        &mut g,
        &f,
        &[Normal, Normal, Normal, Normal, Background, Normal, Lead],
    );
    // swapped names: the part that plays the melody leads, whatever it is called
    let names = ["Kick", "Snare", "HH", "Bass", "Pad", "Sax", "Piano"];
    let mut g: Vec<RoleGuess> = names.iter().zip(&f).map(|(n, f)| classify(n, f)).collect();
    assert_presence(
        &mut g,
        &f,
        &[Normal, Normal, Normal, Normal, Background, Normal, Lead],
    );
    // from content alone
    let mut g: Vec<RoleGuess> = f.iter().map(|f| classify("Audio", f)).collect();
    let roles: Vec<Role> = g.iter().map(|g| g.role).collect();
    assert_eq!(
        roles,
        [
            Role::Kick,
            Role::Snare,
            Role::Hats,
            Role::Bass,
            Role::Pad,
            Role::Keys,
            Role::LeadInstrument
        ]
    );
    assert_presence(
        &mut g,
        &f,
        &[Normal, Normal, Normal, Normal, Background, Normal, Lead],
    );
    // no melodic part at all: nobody leads
    let mut g: Vec<RoleGuess> = f[..4].iter().map(|f| classify("Audio", f)).collect();
    assert_presence(&mut g, &f[..4], &[Normal, Normal, Normal, Normal]);
}

/// A riff on the low strings (mostly low E, 82 Hz) through heavy distortion: bright, low
/// fundamental.
fn riff_track(seconds: f64) -> AudioBuffer {
    const RIFF: &[(f64, f64)] = &[
        (82.4, 0.5),
        (82.4, 0.5),
        (87.3, 0.5),
        (82.4, 0.5),
        (98.0, 0.5),
        (82.4, 0.5),
        (110.0, 1.0),
        (92.5, 1.0),
        (82.4, 0.5),
        (123.5, 0.5),
        (82.4, 1.0),
    ];
    let mut b = melody_track(seconds, RIFF, 12, 0.8, false);
    // clipping, then a crude amp and cabinet: +6 dB/octave (a difference) up to a 5 kHz
    // low-pass, which puts the energy around 1-3 kHz as on a real distorted guitar
    let (mut prev, mut lp) = (0.0f32, 0.0f32);
    let a = 1.0 - (-2.0 * std::f32::consts::PI * 5000.0 / SR as f32).exp();
    for v in &mut b.channels[0] {
        let c = (12.0 * *v).tanh();
        lp += a * ((c - prev) - lp);
        prev = c;
        *v = 0.5 * lp;
    }
    b
}

#[test]
fn a_distorted_riff_leads_a_backing_track() {
    // two-track songs (a game's backing track and the guitar part played over it)
    let f = [features(&pad_track(12.0)), features(&riff_track(12.0))];
    let mut g: Vec<RoleGuess> = ["backing", "guitar"]
        .iter()
        .zip(&f)
        .map(|(n, f)| classify(n, f))
        .collect();
    assert_eq!((g[0].role, g[1].role), (Role::Other, Role::Guitar));
    assert_presence(&mut g, &f, &[Presence::Normal, Presence::Lead]);
}

#[test]
fn doubles_rooms_and_effects_sit_behind() {
    use Presence::*;
    let lead = features(&lead_track(12.0));
    let mut quiet = lead_track(12.0);
    quiet.apply_gain(0.4);
    let quiet = features(&quiet);
    let pad = features(&pad_track(12.0));
    let kick = features(&kick_track(12.0));
    // two "vocal" tracks that move together: the quieter one is a double
    let f = [lead.clone(), quiet.clone(), pad.clone(), kick.clone()];
    let mut g: Vec<RoleGuess> = ["Vocal", "Vocal 2", "Pad", "Kick"]
        .iter()
        .zip(&f)
        .map(|(n, f)| classify(n, f))
        .collect();
    assert_presence(&mut g, &f, &[Lead, Background, Background, Normal]);
    assert!(
        g[1].presence_why.contains("double"),
        "{}",
        g[1].presence_why
    );
    // names that say double, room, fx
    let f = [lead.clone(), quiet, kick.clone(), lead];
    let mut g: Vec<RoleGuess> = ["Lead Vox", "Lead Vox Dbl", "Kick Room", "Vox Verb"]
        .iter()
        .zip(&f)
        .map(|(n, f)| classify(n, f))
        .collect();
    assert_eq!(g[2].role, Role::Kick);
    assert_eq!(g[3].role, Role::Fx);
    assert_presence(&mut g, &f, &[Lead, Background, Background, Background]);
}

#[test]
fn user_roles_are_kept() {
    let f = band();
    let mut g: Vec<RoleGuess> = f.iter().map(|f| classify("Audio", f)).collect();
    g[5] = RoleGuess::from_user(Role::LeadVocal);
    assign_presence(&mut g, &f);
    assert_eq!(g[5].role, Role::LeadVocal);
    assert_eq!(g[5].source, GuessSource::User);
    assert_eq!(g[5].presence, Presence::Lead);
    assert_eq!(
        g[6].presence,
        Presence::Normal,
        "the vocal leads, not the melody"
    );
}

#[test]
fn deterministic() {
    let b = lead_track(10.0);
    let (f1, f2) = (features(&b), features(&b));
    assert_eq!(f1, f2);
    let f = band();
    let run = || {
        let mut g: Vec<RoleGuess> = f.iter().map(|f| classify("Audio", f)).collect();
        assign_presence(&mut g, &f);
        g
    };
    assert_eq!(run(), run());
    // the order of the tracks does not change anyone's presence
    let mut rev: Vec<RoleGuess> = f.iter().rev().map(|f| classify("Audio", f)).collect();
    let rf: Vec<ContentFeatures> = f.iter().rev().cloned().collect();
    assign_presence(&mut rev, &rf);
    rev.reverse();
    assert_eq!(run(), rev);
    // serialisable (the Session file keeps the guesses)
    let j = serde_json::to_string(&run()).unwrap();
    let back: Vec<RoleGuess> = serde_json::from_str(&j).unwrap();
    assert_eq!(back, run());
}

// ------------------------------------------------------------------------------------------
// The corpus (by hand: cargo test --release -p mixdown-core --test roles -- --ignored --nocapture)

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
