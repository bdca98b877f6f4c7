//! What each track is (its [`Role`]) and how much it should stand out (its [`Presence`]).
//!
//! The file name is read first, because engineers name their tracks and the name is usually
//! right: [`role_from_name`] understands many naming habits (`Kick In`, `01_kick`, `SN_bottom`,
//! `OH L`, `vox_lead_comp`, `BV 2`, `acoustic_grand_piano_1`...). When the name says nothing
//! (`Audio 03`, `channel1`) or is ambiguous (`Synth`, `Sub`, `Lead`), the audio is described by
//! a few cheap measurements ([`content_features`]) and hand-written rules ([`role_from_content`])
//! pick the role that fits best. [`classify`] combines the two; [`assign_presence`] then looks
//! at the whole song and decides which track leads and which sit in the background.
//!
//! ## Decisions worth knowing
//!
//! * Microphone and position words (`In`, `Out`, `Top`, `Bottom`, `L`, `R`, `DI`, `Amp`,
//!   `Close`, mic models like `SM57`) never decide a role; they only qualify one. `Room` alone
//!   is a drum room mic (role cymbals, presence background); `Kick Room` is a kick.
//! * A name that mentions several instruments takes the most specific one: a drum piece beats
//!   `drums` (`drums_hihat` is hats), wind and brass beat `bass` (`bass clarinet`), `bass` beats
//!   `guitar` and `synth` (`bass guitar`, `synth bass`), a specific instrument beats a generic
//!   family word (`synth_brass_2` is brass, `pad_polysynth` a pad).
//! * `lead`/`solo` turn a melodic instrument into a lead instrument (`lead guitar`,
//!   `guitar solo`, `lead synth`) and a vocal into the lead vocal; `backing`, `harmony`,
//!   `choir`, `BV` make backing vocals, also next to a vocal word (`Vox BV`, `Vox Harm 1`).
//!   A bare `vocal`/`vox` is the lead vocal.
//! * Effect words (`fx`, `verb`, `delay`, `throw`, `reverse`) win over the instrument they
//!   process: `vox fx` is an effects track (role fx, background), because what reaches the mix
//!   is the effect, not a second lead vocal that should be compressed and pushed forward.
//! * `backing` alone is read as a backing track (role other), not as backing vocals.
//! * `Click` (`metronome`, `clk`) is a click track: role other, flagged [`TrackFlag::ClickTrack`]
//!   so the caller can leave it out of the mix.

use super::types::{Presence, Role};
use crate::audio::AudioBuffer;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

// ------------------------------------------------------------------------------------------
// Public types

/// Where a role came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuessSource {
    /// The file name.
    Name,
    /// The audio (the name said nothing, or was ambiguous and the audio settled it).
    Content,
    /// The user said so.
    User,
}

/// Something about a track the caller should act on besides its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackFlag {
    /// A click / metronome track: not meant to be in the mix.
    ClickTrack,
    /// The track holds no sound at all.
    Silent,
}

/// A track's role and presence, with how sure we are and why (in words a musician reads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleGuess {
    pub role: Role,
    pub presence: Presence,
    pub source: GuessSource,
    /// 0..1: about 0.9 for a clear name, 0.3-0.75 for a guess from the audio.
    pub confidence: f64,
    /// Why this role: "name says 'Kick In'", "content: low, percussive, short decays".
    pub why: String,
    /// Why this presence ("the lead vocal", "a pad: sits behind"); set by [`assign_presence`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub presence_why: String,
    /// A presence the name asked for (`lead`/`solo` → lead; `double`, `room`, `amb` →
    /// background); [`assign_presence`] keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_hint: Option<Presence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<TrackFlag>,
}

impl RoleGuess {
    /// A role the user chose (`--role name=bass`): certain, presence decided later.
    pub fn from_user(role: Role) -> RoleGuess {
        RoleGuess {
            role,
            presence: Presence::Normal,
            source: GuessSource::User,
            confidence: 1.0,
            why: format!("set by the user: {}", role.name()),
            presence_why: String::new(),
            presence_hint: None,
            flags: Vec::new(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Names

/// Ranks: when a name mentions several instruments, the highest rank wins.
const R_DRUM: u8 = 90;
const R_PERC: u8 = 85;
const R_SPECIFIC: u8 = 80;
const R_BASS: u8 = 70;
const R_GUITAR: u8 = 60;
const R_FX_SOUND: u8 = 55;
const R_PAD: u8 = 52;
const R_FAMILY: u8 = 50;
const R_VOICE_PART: u8 = 45;
const R_SYNTH: u8 = 40;
const R_WEAK: u8 = 30;

/// An instrument word of the name dictionary.
#[derive(Clone, Copy, Debug)]
struct Inst {
    role: Role,
    rank: u8,
    confidence: f64,
    /// Roles the word could also mean: the audio may pick one of them instead.
    alts: &'static [Role],
    /// Said in the explanation ("a drum room mic").
    note: Option<&'static str>,
    hint: Option<Presence>,
}

/// What one word of a name means.
#[derive(Clone, Copy, Debug)]
enum Word {
    Inst(Inst),
    /// `lead`, `ld`, `solo`.
    Lead,
    /// `main`: lead, for vocals only.
    Main,
    /// `backing`, `back`, `bkg`, `bg`, `gang`.
    Backing,
    /// `double`, `dbl`, `dt`: a double track, background.
    Double,
    /// `amb`, `ambience`: a distant or ambient take, background.
    Ambience,
    /// `fx`, `verb`, `delay`...: an effects track, whatever it processes.
    FxMod,
    /// `click`, `metronome`.
    Click,
    /// A microphone or position word (`in`, `top`, `di`, `l`...): qualifies, never decides.
    Mic,
    /// A descriptive word with no role (`finger`, `acoustic` is not one: see the table).
    Neutral,
}

const fn inst(role: Role, rank: u8, confidence: f64) -> Word {
    Word::Inst(Inst {
        role,
        rank,
        confidence,
        alts: &[],
        note: None,
        hint: None,
    })
}

const fn inst_alt(role: Role, rank: u8, confidence: f64, alts: &'static [Role]) -> Word {
    Word::Inst(Inst {
        role,
        rank,
        confidence,
        alts,
        note: None,
        hint: None,
    })
}

const fn inst_note(
    role: Role,
    rank: u8,
    confidence: f64,
    alts: &'static [Role],
    note: &'static str,
    hint: Option<Presence>,
) -> Word {
    Word::Inst(Inst {
        role,
        rank,
        confidence,
        alts,
        note: Some(note),
        hint,
    })
}

/// The dictionary: one lower-case word (letters, or a known letters+digits token like `b3`).
fn word(w: &str) -> Option<Word> {
    use Role::*;
    let v = match w {
        // --- kick
        "kick" | "kik" | "kck" | "kic" | "kickdrum" | "bassdrum" | "subkick" => {
            inst(Kick, R_DRUM, 0.95)
        }
        "bd" | "kd" => inst(Kick, R_DRUM, 0.9),
        // --- snare
        "snare" | "snr" | "rimshot" | "sidestick" | "xstick" => inst(Snare, R_DRUM, 0.95),
        "rim" => inst(Snare, R_DRUM, 0.8),
        "sn" | "sd" => inst(Snare, R_DRUM, 0.85),
        // --- hats
        "hat" | "hihat" | "hhat" | "hh" => inst(Hats, R_DRUM, 0.95),
        "ohh" => inst(Hats, R_DRUM, 0.85),
        // --- toms
        "tom" | "tomtom" | "floortom" | "racktom" => inst(Toms, R_DRUM, 0.95),
        "ft" => inst(Toms, R_DRUM, 0.75),
        "floor" => inst(Toms, R_WEAK, 0.6),
        "rack" => inst(Toms, R_WEAK, 0.5),
        // --- cymbals / overheads / room
        "cymbal" | "cym" | "cymb" | "ride" | "crash" | "china" | "splash" | "overhead" | "gong" => {
            inst(Cymbals, R_DRUM, 0.95)
        }
        "oh" | "ovh" | "ovhd" => inst(Cymbals, R_DRUM, 0.9),
        "room" | "rooms" => inst_note(
            Cymbals,
            R_WEAK,
            0.65,
            &[],
            "a room mic",
            Some(Presence::Background),
        ),
        "drum" | "drums" | "kit" | "drumkit" | "drumset" | "kits" => inst_note(
            Cymbals,
            R_WEAK,
            0.55,
            &[],
            "the whole kit, treated like the overheads",
            None,
        ),
        // --- percussion
        "shaker" | "shk" | "conga" | "bongo" | "tamb" | "tambourine" | "tamborine" | "tambo"
        | "cowbell" | "clap" | "handclap" | "snap" | "fingersnap" | "cabasa" | "guiro"
        | "triangle" | "woodblock" | "clave" | "djembe" | "cajon" | "tabla" | "timbale"
        | "agogo" | "maraca" | "castanet" | "timpani" | "timp" | "cuica" | "surdo" | "udu"
        | "darbuka" | "taiko" | "guira" | "chimes" | "windchimes" | "vibraslap" | "stomp"
        | "beatbox" => inst(Percussion, R_PERC, 0.9),
        "perc" | "percussion" => inst(Percussion, R_FAMILY, 0.9),
        "loop" | "loops" => inst_alt(
            Percussion,
            R_WEAK,
            0.4,
            &[Cymbals, Hats, Kick, Snare, Pad, Keys, Guitar],
        ),
        // --- bass
        "bass" | "bss" | "bassline" | "fretless" | "contrabass" | "doublebass" | "synthbass"
        | "synbass" | "subbass" => inst(Bass, R_BASS, 0.95),
        "upright" => inst(Bass, R_BASS, 0.7),
        "sub" => inst_note(
            Bass,
            R_WEAK,
            0.6,
            &[Kick],
            "a sub: bass, or a sub kick",
            None,
        ),
        "808" => inst_note(
            Bass,
            R_WEAK,
            0.6,
            &[Kick],
            "an 808: a sub bass, or a kick",
            None,
        ),
        // --- vocals
        "vocal" | "vox" | "voc" | "voice" | "singer" | "rap" | "rapper" | "vocalist" | "spoken"
        | "speech" | "narration" | "narrator" | "dialog" | "dialogue" => {
            inst_alt(LeadVocal, R_SPECIFIC, 0.85, &[BackingVocal])
        }
        "vx" => inst_alt(LeadVocal, R_SPECIFIC, 0.8, &[BackingVocal]),
        "lv" | "leadvox" | "leadvocal" => inst(LeadVocal, R_SPECIFIC, 0.9),
        "bv" | "bvs" | "bgv" | "bgvs" | "bvox" | "bgvox" | "bkv" | "harmony" | "harmonies"
        | "choir" | "adlib" | "backingvocal" | "backingvox" => inst(BackingVocal, R_SPECIFIC, 0.9),
        "harm" | "ooh" | "aah" | "oohs" | "aahs" => inst(BackingVocal, R_SPECIFIC, 0.8),
        // --- guitars
        "guitar" | "gtr" | "guit" | "banjo" | "mandolin" | "mando" | "ukulele" | "uke"
        | "sitar" | "dobro" | "lapsteel" | "pedalsteel" | "egtr" | "agtr" => {
            inst(Guitar, R_GUITAR, 0.95)
        }
        "eg" | "ag" => inst(Guitar, R_GUITAR, 0.85),
        "acoustic" | "electric" | "elec" | "distortion" => inst(Guitar, R_WEAK, 0.5),
        "amp" => inst_note(
            Guitar,
            R_WEAK,
            0.45,
            &[Bass],
            "an amp: probably a guitar",
            None,
        ),
        "di" => inst_note(
            Bass,
            R_WEAK,
            0.4,
            &[Guitar, Keys],
            "a DI: probably a bass",
            None,
        ),
        // --- keys (piano and relatives)
        "piano" | "pno" | "grand" | "rhodes" | "wurli" | "wurlitzer" | "epiano" | "clav"
        | "clavinet" | "harpsichord" | "cembalo" | "celesta" | "celeste" | "harp" | "mallets"
        | "mallet" | "vibes" | "vibraphone" | "marimba" | "xylophone" | "xylo" | "glock"
        | "glockenspiel" | "kalimba" | "musicbox" | "honkytonk" | "toypiano" | "steelpan" => {
            inst(Keys, R_SPECIFIC, 0.95)
        }
        "ep" => inst(Keys, R_SPECIFIC, 0.85),
        "bells" | "bell" => inst(Keys, R_SPECIFIC, 0.75),
        "keys" | "keyboard" | "kbd" | "kybd" => inst_alt(Keys, R_FAMILY, 0.85, &[Pad, Organ]),
        // --- organ
        "organ" | "b3" | "hammond" | "leslie" | "farfisa" | "harmonium" | "accordion"
        | "accordian" => inst(Organ, R_SPECIFIC, 0.95),
        // --- pads and synths
        "pad" | "padsynth" => inst(Pad, R_PAD, 0.9),
        "synth" | "syn" | "polysynth" | "poly" | "juno" | "moog" | "analog" => {
            inst_alt(Pad, R_SYNTH, 0.7, &[LeadInstrument, Bass, Keys])
        }
        "arp" | "arpeggio" | "seq" | "sequence" | "pluck" | "stab" | "drone" | "texture"
        | "atmos" => inst_alt(Pad, R_SYNTH, 0.75, &[Keys, LeadInstrument]),
        "chords" | "chord" => inst_alt(Pad, R_SYNTH, 0.6, &[Keys, Guitar, Organ, Strings]),
        // --- strings
        "violin" | "vln" | "viola" | "vla" | "cello" | "celli" | "fiddle" | "pizz"
        | "pizzicato" => inst(Strings, R_SPECIFIC, 0.95),
        "vn" | "vc" => inst(Strings, R_SPECIFIC, 0.8),
        "quartet" => inst(Strings, R_SPECIFIC, 0.7),
        "strings" | "string" | "stringensemble" => inst(Strings, R_FAMILY, 0.9),
        "str" => inst(Strings, R_FAMILY, 0.75),
        "orchestra" | "orch" => inst(Strings, R_WEAK, 0.6),
        // --- brass and wind
        "horn" | "hrn" | "trumpet" | "tpt" | "trp" | "trombone" | "tbn" | "tbone" | "tuba"
        | "flugelhorn" | "flugel" | "cornet" | "sax" | "saxophone" | "flute" | "piccolo"
        | "clarinet" | "clar" | "oboe" | "bassoon" | "recorder" | "ocarina" | "panflute"
        | "panpipe" | "whistle" | "harmonica" | "bagpipe" | "woodwind" | "shakuhachi"
        | "sousaphone" | "euphonium" => inst(Brass, R_SPECIFIC, 0.95),
        "brass" | "wind" | "winds" => inst(Brass, R_FAMILY, 0.9),
        "alto" | "tenor" | "bari" | "baritone" | "soprano" => {
            inst_alt(Brass, R_VOICE_PART, 0.5, &[BackingVocal, LeadVocal])
        }
        // --- lead instrument
        "melody" | "mel" | "topline" => inst_alt(LeadInstrument, R_VOICE_PART, 0.6, &[LeadVocal]),
        // --- sound effects
        "riser" | "uplifter" | "downlifter" | "sweep" | "whoosh" | "swoosh" | "impact"
        | "noise" | "foley" | "transition" | "vinyl" | "crackle" | "tapestop" | "boom" => {
            inst(Fx, R_FX_SOUND, 0.85)
        }
        // --- modifiers
        "lead" | "ld" | "solo" => Word::Lead,
        "main" => Word::Main,
        "backing" | "back" | "bkg" | "bg" | "bgd" | "background" | "gang" => Word::Backing,
        "double" | "dbl" | "dt" | "doubler" | "doubled" | "dub" => Word::Double,
        "amb" | "ambience" | "ambient" | "distant" => Word::Ambience,
        "fx" | "sfx" | "efx" | "effect" | "verb" | "reverb" | "rvb" | "delay" | "dly" | "echo"
        | "throw" | "reverse" | "reversed" => Word::FxMod,
        "click" | "metronome" | "metro" | "clk" | "clicktrack" => Word::Click,
        "in" | "out" | "inside" | "outside" | "top" | "bot" | "bottom" | "btm" | "under" | "up"
        | "down" | "dn" | "left" | "right" | "l" | "r" | "c" | "centre" | "center" | "side"
        | "front" | "rear" | "direct" | "cab" | "mic" | "close" | "far" | "near" | "mono"
        | "stereo" | "st" | "ms" | "xy" | "ortf" | "sm57" | "sm7" | "sm7b" | "md421" | "d112"
        | "beta52" | "beta91" | "u87" | "u47" | "c414" | "km184" | "e602" | "re20" | "57"
        | "421" | "414" | "ribbon" | "dry" | "wet" | "hi" | "lo" => Word::Mic,
        "open" | "closed" | "clean" | "dirty" | "crunch" | "dist" | "comp" | "take" | "alt"
        | "rhythm" | "rhy" | "finger" | "pick" | "slap" | "bright" | "dark" | "soft" | "hard"
        | "tremolo" | "ensemble" | "steel" | "nylon" | "honky" | "tonk" | "rock" | "jazz"
        | "low" | "high" | "mid" | "line" | "track" | "audio" | "channel" | "wav" | "flac"
        | "aif" | "aiff" | "mp3" | "ogg" | "overdrive" | "fuzz" | "grand2" | "big" | "small"
        | "machine" | "tubular" | "church" | "pipe" | "french" | "english" | "pan" | "box"
        | "music" | "toy" | "white" | "tape" | "stop" | "hand" | "wind2" | "ad" | "lib" => {
            Word::Neutral
        }
        _ => return None,
    };
    Some(v)
}

/// [`word`], also trying the singular of a plural (`snares`, `gtrs`, `congas`, `saxes`).
fn lookup(w: &str) -> Option<Word> {
    if let Some(v) = word(w) {
        return Some(v);
    }
    if w.len() > 3 {
        if let Some(s) = w.strip_suffix('s') {
            if let Some(v) = word(s) {
                return Some(v);
            }
            if let Some(s2) = s.strip_suffix('e') {
                if let Some(v) = word(s2) {
                    return Some(v);
                }
            }
        }
    }
    None
}

/// Two consecutive words that mean something else together.
fn phrase(a: &str, b: &str) -> Option<Word> {
    use Role::*;
    let strip = |s: &str| s.strip_suffix('s').unwrap_or(s).to_string();
    let (a, b) = (strip(a), strip(b));
    let v = match (a.as_str(), b.as_str()) {
        ("bas", "drum") | ("bass", "drum") | ("kick", "drum") | ("sub", "kick") => {
            inst(Kick, R_DRUM, 0.95)
        }
        ("snare", "drum") | ("side", "stick") | ("cros", "stick") | ("cross", "stick") => {
            inst(Snare, R_DRUM, 0.95)
        }
        ("hi", "hat") | ("high", "hat") | ("open", "hat") | ("closed", "hat") => {
            inst(Hats, R_DRUM, 0.95)
        }
        ("floor", "tom") | ("rack", "tom") | ("tom", "tom") => inst(Toms, R_DRUM, 0.95),
        ("double", "bas") | ("double", "bass") | ("upright", "bas") | ("upright", "bass") => {
            inst(Bass, R_BASS, 0.95)
        }
        ("steel", "drum")
        | ("steel", "pan")
        | ("music", "box")
        | ("tubular", "bell")
        | ("upright", "piano")
        | ("toy", "piano") => inst(Keys, R_SPECIFIC, 0.9),
        ("string", "machine") => inst(Pad, R_SPECIFIC, 0.85),
        ("wind", "chime") => inst(Percussion, R_PERC, 0.9),
        ("pan", "flute")
        | ("pan", "pipe")
        | ("tin", "whistle")
        | ("english", "horn")
        | ("french", "horn") => inst(Brass, R_SPECIFIC, 0.95),
        ("ad", "lib") => inst(BackingVocal, R_SPECIFIC, 0.9),
        ("tape", "stop") | ("white", "noise") => inst(Fx, R_FX_SOUND, 0.9),
        ("click", "track") => Word::Click,
        _ => return None,
    };
    Some(v)
}

/// Two-letter words that may be a piece of a run-together word (`kickin`, `bassdi`, `ohl`).
const SHORT_PIECES: [&str; 16] = [
    "in", "di", "fx", "oh", "hh", "bd", "sd", "kd", "bv", "lv", "ld", "dt", "ep", "eg", "ag", "st",
];

/// Splits a run-together word into dictionary words (`kickdrum` → kick drum, `snaretop` → snare
/// top), only if the whole word splits and one piece names an instrument or an effect:
/// `tomato` stays one (unknown) word.
fn segment(w: &str) -> Option<Vec<String>> {
    let b = w.as_bytes();
    let n = b.len();
    if n < 3 || !w.is_ascii() {
        return None;
    }
    // best[i]: fewest pieces covering w[..i], with the split point
    let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0));
    for end in 1..=n {
        for start in 0..end {
            let Some((count, _)) = best[start] else {
                continue;
            };
            let piece = &w[start..end];
            let ok = match piece.len() {
                1 => end == n && (piece == "l" || piece == "r"),
                2 => SHORT_PIECES.contains(&piece),
                _ => lookup(piece).is_some(),
            };
            if ok && best[end].is_none_or(|(c, _)| count + 1 < c) {
                best[end] = Some((count + 1, start));
            }
        }
    }
    let mut pieces = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, start) = best[end]?;
        pieces.push(w[start..end].to_string());
        end = start;
    }
    pieces.reverse();
    let meaningful = pieces.iter().any(|p| {
        matches!(
            lookup(p),
            Some(Word::Inst(_) | Word::FxMod | Word::Click | Word::Lead)
        )
    });
    (pieces.len() >= 2 && meaningful).then_some(pieces)
}

/// Audio file extensions stripped from a name.
const EXTENSIONS: [&str; 12] = [
    ".wav", ".wave", ".flac", ".aif", ".aiff", ".mp3", ".ogg", ".m4a", ".caf", ".w64", ".rf64",
    ".bwf",
];

/// The name without an audio extension, trimmed.
fn display_stem(file_stem: &str) -> &str {
    let t = file_stem.trim();
    let lower = t.to_ascii_lowercase();
    for e in EXTENSIONS {
        if lower.ends_with(e) && t.len() > e.len() {
            return t[..t.len() - e.len()].trim();
        }
    }
    t
}

/// Lower-case words of a name: split at separators, at lower→upper case changes (`KickIn`) and
/// between letters and digits (`Tom1`, `BV2`); numbering dropped unless the number means
/// something (`808`); run-together words split when they split cleanly (`kickdrum`).
fn tokens(file_stem: &str) -> (Vec<String>, bool) {
    let stem = display_stem(file_stem);
    // 1. separators and camel case
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in stem.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                chunks.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            chunks.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    // 2. letters/digits, numbering
    let mut words: Vec<String> = Vec::new();
    for c in chunks {
        if word(&c).is_some() {
            words.push(c);
            continue;
        }
        let mut run = String::new();
        let mut run_digit = false;
        let flush = |run: &mut String, digit: bool, words: &mut Vec<String>| {
            if !run.is_empty() && (!digit || word(run).is_some()) {
                words.push(run.clone());
            }
            run.clear();
        };
        for ch in c.chars() {
            let d = ch.is_ascii_digit();
            if !run.is_empty() && d != run_digit {
                flush(&mut run, run_digit, &mut words);
            }
            run_digit = d;
            run.push(ch);
        }
        flush(&mut run, run_digit, &mut words);
    }
    // 3. run-together words
    let mut out = Vec::new();
    let mut segmented = false;
    for w in words {
        if lookup(&w).is_none() {
            if let Some(p) = segment(&w) {
                out.extend(p);
                segmented = true;
                continue;
            }
        }
        out.push(w);
    }
    (out, segmented)
}

/// What a name says, in full (see [`role_from_name`]).
#[derive(Clone, Debug, PartialEq)]
struct NameReading {
    role: Role,
    confidence: f64,
    /// The word(s) that decided: "kick", "bass drum", "lead + guitar".
    matched: String,
    /// Other roles the name could mean (the audio may pick one of them).
    alts: Vec<Role>,
    hint: Option<Presence>,
    click: bool,
    why: String,
}

fn read_name(file_stem: &str) -> Option<NameReading> {
    let shown = display_stem(file_stem);
    let (toks, segmented) = tokens(file_stem);
    // words and phrases, in order
    let mut items: Vec<(Word, String)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if i + 1 < toks.len() {
            if let Some(w) = phrase(&toks[i], &toks[i + 1]) {
                items.push((w, format!("{} {}", toks[i], toks[i + 1])));
                i += 2;
                continue;
            }
        }
        if let Some(w) = lookup(&toks[i]) {
            items.push((w, toks[i].clone()));
        }
        i += 1;
    }
    let has = |f: fn(&Word) -> bool| items.iter().find(|(w, _)| f(w)).map(|(_, s)| s.clone());
    let lead = has(|w| matches!(w, Word::Lead));
    let main = has(|w| matches!(w, Word::Main));
    let backing = has(|w| matches!(w, Word::Backing));
    let double = has(|w| matches!(w, Word::Double));
    let ambience = has(|w| matches!(w, Word::Ambience));
    let fx = has(|w| matches!(w, Word::FxMod));
    let click = has(|w| matches!(w, Word::Click));
    let mics: Vec<String> = items
        .iter()
        .filter(|(w, _)| matches!(w, Word::Mic))
        .map(|(_, s)| s.clone())
        .collect();
    let insts: Vec<(Inst, String)> = items
        .iter()
        .filter_map(|(w, s)| match w {
            Word::Inst(x) => Some((*x, s.clone())),
            _ => None,
        })
        .collect();
    let says = format!("name says '{shown}'");
    let mut notes: Vec<String> = Vec::new();
    let mut hint = None;

    let Some(top_rank) = insts.iter().map(|(x, _)| x.rank).max() else {
        // No instrument word: modifiers alone.
        let (role, confidence, matched, alts, note, h, is_click) = if let Some(c) = click {
            (
                Role::Other,
                0.9,
                c,
                vec![],
                "a click track",
                Some(Presence::Background),
                true,
            )
        } else if let Some(f) = fx {
            (
                Role::Fx,
                0.85,
                f,
                vec![],
                "an effects track",
                Some(Presence::Background),
                false,
            )
        } else if let Some(l) = lead {
            let note = "a lead part (instrument or vocal?)";
            (
                Role::LeadInstrument,
                0.6,
                l,
                vec![Role::LeadVocal],
                note,
                Some(Presence::Lead),
                false,
            )
        } else if let Some(b) = backing {
            let note = "a backing track (or backing vocals?)";
            (
                Role::Other,
                0.5,
                b,
                vec![Role::BackingVocal],
                note,
                None,
                false,
            )
        } else {
            return None;
        };
        return Some(NameReading {
            role,
            confidence,
            matched,
            alts,
            hint: h,
            click: is_click,
            why: format!("{says}: {note}"),
        });
    };
    // a backing-vocal word qualifies a vocal word ('Vox BV', 'Vox Harm 1'): backing vocals
    let top: Vec<&(Inst, String)> = insts.iter().filter(|(x, _)| x.rank == top_rank).collect();
    let has = |r: Role| top.iter().any(|(x, _)| x.role == r);
    let (best, best_word) = if has(Role::BackingVocal) && has(Role::LeadVocal) {
        top.iter().find(|(x, _)| x.role == Role::BackingVocal)
    } else {
        top.first()
    }
    .map(|&b| b.clone())
    .expect("a word has the top rank");
    let mut role = best.role;
    let mut confidence = best.confidence;
    let mut matched = best_word.clone();
    let mut alts: Vec<Role> = best.alts.to_vec();
    if let Some(n) = best.note {
        notes.push(n.to_string());
    }
    hint = hint.or(best.hint);
    // other instruments of the same rank: a conflict
    let rivals: Vec<&(Inst, String)> = insts
        .iter()
        .filter(|(x, _)| x.rank == top_rank && x.role != role)
        .filter(|(x, _)| !(role == Role::BackingVocal && x.role == Role::LeadVocal))
        .collect();
    if !rivals.is_empty() {
        confidence *= 0.7;
        for (x, w) in rivals {
            if !alts.contains(&x.role) {
                alts.push(x.role);
            }
            notes.push(format!("also says '{w}'"));
        }
    }
    // room mics and ambience anywhere in the name
    if insts
        .iter()
        .any(|(x, _)| x.hint == Some(Presence::Background))
    {
        hint = Some(Presence::Background);
        if best.hint.is_none() {
            notes.push("a room mic".into());
        }
    }
    let melodic = matches!(
        role,
        Role::Guitar
            | Role::Keys
            | Role::Organ
            | Role::Pad
            | Role::Strings
            | Role::Brass
            | Role::LeadInstrument
    );
    if let Some(f) = &fx {
        notes.push(format!("an effects track ('{f}' on the {})", role.name()));
        matched = format!("{matched} + {f}");
        alts = vec![role];
        role = Role::Fx;
        confidence = 0.8;
        hint = Some(Presence::Background);
    } else if role == Role::LeadVocal {
        if let Some(b) = &backing {
            role = Role::BackingVocal;
            matched = format!("{b} + {matched}");
            confidence = confidence.max(0.9);
            alts.clear();
        } else if let Some(l) = lead.as_ref().or(main.as_ref()) {
            matched = format!("{l} + {matched}");
            confidence = confidence.max(0.95);
            hint = Some(Presence::Lead);
            alts.clear();
        }
    } else if melodic {
        if let Some(l) = &lead {
            notes.push(format!("a lead instrument ({})", best_word));
            matched = format!("{l} + {matched}");
            alts = vec![role];
            role = Role::LeadInstrument;
            hint = Some(Presence::Lead);
        }
    }
    if let Some(d) = &double {
        notes.push(format!("'{d}': a double"));
        hint = Some(Presence::Background);
    }
    if let Some(a) = &ambience {
        notes.push(format!("'{a}': an ambient take"));
        hint = Some(Presence::Background);
    }
    if !mics.is_empty() {
        let m: Vec<String> = mics.iter().map(|m| format!("'{m}'")).collect();
        notes.push(format!("{} = mic/position", m.join(", ")));
    }
    if segmented {
        confidence *= 0.95;
    }
    alts.retain(|&a| a != role);
    let why = if notes.is_empty() {
        format!("{says} ({})", role.name())
    } else {
        format!("{says} ({}: {})", role.name(), notes.join("; "))
    };
    Some(NameReading {
        role,
        confidence,
        matched,
        alts,
        hint,
        click: false,
        why,
    })
}

/// The role a file name gives, with a confidence (0..1) and the word(s) that decided it;
/// `None` when the name says nothing about the instrument (`Audio 03`, `channel1`).
///
/// Case-insensitive; numbering, extensions and separators (`_ - . space`) are ignored; words
/// are matched whole (`bassoon` is not `bass`, `tomato` is not `tom`), run-together words are
/// split when they split cleanly (`kickdrum`, `snaretop`), and mic/position words (`In`, `Out`,
/// `Top`, `Bottom`, `L`, `R`, `DI`, `Amp`, `Room`) qualify a role without deciding it.
pub fn role_from_name(file_stem: &str) -> Option<(Role, f64, String)> {
    read_name(file_stem).map(|r| (r.role, r.confidence, r.matched))
}

// ------------------------------------------------------------------------------------------
// Content features

/// Share of the long-term spectrum's energy in five bands (they sum to 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BandShares {
    /// Below 60 Hz.
    pub sub: f64,
    /// 60-250 Hz.
    pub low: f64,
    /// 250 Hz - 2 kHz.
    pub mid: f64,
    /// 2-6 kHz.
    pub presence: f64,
    /// Above 6 kHz.
    pub air: f64,
}

/// What a track sounds like, in a few numbers: computed once per track by
/// [`content_features`], read by [`role_from_content`] and [`assign_presence`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentFeatures {
    pub duration_s: f64,
    pub channels: usize,
    /// No sound at all (digital silence, or nothing above -100 dBFS).
    pub silent: bool,
    /// RMS level while playing, dBFS.
    pub level_db: Option<f64>,
    /// Sample peak, dBFS.
    pub peak_db: Option<f64>,
    /// Share of the track's seconds in which it plays (within 30 dB of its loud parts), 0..1.
    pub activity: f64,
    /// Long-term spectrum of the playing parts, as band shares.
    pub bands: BandShares,
    /// Share of the energy between 1 and 4 kHz (where a lead part speaks), 0..1.
    pub band_1k_4k: f64,
    /// Spectral centroid of the long-term spectrum, Hz.
    pub centroid_hz: f64,
    /// Median spectral flatness of the analysed frames (0 = pure tones, about 0.5 = white
    /// noise).
    pub flatness: f64,
    /// Median, over the playing seconds, of the loudest 5 ms block over the second's mean, dB:
    /// about 1 dB for a held note, 10 dB and more for drum hits.
    pub crest_db: f64,
    /// Attacks per playing second (the envelope jumping 9 dB within 20 ms).
    pub onset_rate_hz: f64,
    /// Median time for a hit to fall 20 dB, ms (only attacks that did fall before the next).
    pub decay_ms: Option<f64>,
    /// Share of attacks that fall 20 dB before the next one (1 for drums, low for legato).
    pub decay_share: f64,
    /// Share of the energy in the first 50 ms after each attack.
    pub transient_share: f64,
    /// Median normalised autocorrelation peak (30 Hz - 1.5 kHz) of the analysed frames:
    /// 1 = perfectly periodic, near 0 = noise.
    pub periodicity: f64,
    /// Share of analysed frames with a clear pitch (periodicity at least 0.6).
    pub tonal_share: f64,
    /// Median fundamental of the pitched frames, Hz.
    pub pitch_hz: Option<f64>,
    /// 10th and 90th percentile of the pitched frames' fundamental, Hz.
    pub pitch_low_hz: Option<f64>,
    pub pitch_high_hz: Option<f64>,
    /// Number of distinct semitones (each held by at least 4% of the pitched frames).
    pub distinct_pitches: usize,
    /// Share of successive pitched frames whose pitch moved by a semitone or more.
    pub pitch_motion: f64,
    /// Median share of a pitched frame's energy (below 5 kHz) on the harmonics of its
    /// fundamental, above chance: near 1 for one note at a time, lower for chords.
    pub monophony: f64,
    /// Stereo width: side energy over total (0 = mono, 0.5 = unrelated channels).
    pub width: f64,
    /// RMS level of each second, dBFS (floor -120).
    pub level_curve_db: Vec<f32>,
}

/// Envelope block, seconds.
const BLOCK_S: f64 = 0.005;
/// Blocks per activity window (1 s).
const WINDOW_BLOCKS: usize = 200;
/// Spectral frames analysed at most.
pub const MAX_FRAMES: usize = 160;
/// A frame with at least this autocorrelation peak has a pitch.
const PITCHED: f64 = 0.6;
/// Floor of every level, dB.
const FLOOR_DB: f64 = -120.0;

fn pow_to_db(p: f64) -> f64 {
    if p > 1e-12 && p.is_finite() {
        (10.0 * p.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// The `q`-quantile (0..1) of `v` (sorted copy, nearest rank); `None` when empty.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let i = ((s.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    Some(s[i])
}

fn median(v: &[f64]) -> Option<f64> {
    quantile(v, 0.5)
}

/// Per-frame results of the spectral pass.
struct FrameStats {
    /// Long-term power spectrum (sum of the frames' power spectra).
    spectrum: Vec<f64>,
    bin_hz: f64,
    flatness: Vec<f64>,
    periodicity: Vec<f64>,
    /// (frame index in time order, f0) of pitched frames.
    pitches: Vec<(usize, f64)>,
    monophony: Vec<f64>,
}

/// Describe a track's sound (see [`ContentFeatures`]). Cheap: one pass over the samples for
/// the envelope and at most [`MAX_FRAMES`] FFT frames for the spectrum and pitch.
pub fn content_features(track: &AudioBuffer) -> ContentFeatures {
    let n = track.frames();
    let chans = track.num_channels();
    let mut f = ContentFeatures {
        duration_s: track.duration_s(),
        channels: chans,
        silent: true,
        ..Default::default()
    };
    if n == 0 || chans == 0 || track.sample_rate == 0 {
        return f;
    }
    let sr = track.sample_rate as f64;
    let blk = ((sr * BLOCK_S).round() as usize).max(1);
    let nb = n.div_ceil(blk);

    // 1. Envelope (channel-averaged mean square per 5 ms block), peak, stereo sums.
    let mut env = vec![0.0f64; nb];
    let mut peak = 0.0f32;
    let (mut ll, mut rr, mut lr) = (0.0f64, 0.0f64, 0.0f64);
    for (b, e) in env.iter_mut().enumerate() {
        let (s, t) = (b * blk, ((b + 1) * blk).min(n));
        let mut acc = 0.0f64;
        if chans >= 2 {
            let (a, c, d, pk) = stereo_sums(&track.channels[0][s..t], &track.channels[1][s..t]);
            ll += a as f64;
            rr += c as f64;
            lr += d as f64;
            acc += (a + c) as f64;
            peak = peak.max(pk);
        }
        for ch in track.channels.iter().skip(if chans >= 2 { 2 } else { 0 }) {
            let (a, pk) = mono_sums(&ch[s..t]);
            acc += a as f64;
            peak = peak.max(pk);
        }
        *e = if acc.is_finite() {
            acc / ((t - s) * chans) as f64
        } else {
            0.0
        };
    }
    if !(peak > 0.0 && peak.is_finite()) {
        return f;
    }
    f.peak_db = Some(20.0 * (peak as f64).log10());
    if chans >= 2 {
        let mid = (ll + rr + 2.0 * lr) / 4.0;
        let side = ((ll + rr - 2.0 * lr) / 4.0).max(0.0);
        f.width = if mid + side > 0.0 {
            side / (mid + side)
        } else {
            0.0
        };
    }
    let env_db: Vec<f64> = env.iter().map(|&p| pow_to_db(p)).collect();

    // 2. Seconds: level curve, activity, crest.
    let nw = nb.div_ceil(WINDOW_BLOCKS);
    let mut win_max = Vec::with_capacity(nw);
    let mut win_mean = Vec::with_capacity(nw);
    for w in 0..nw {
        let r = w * WINDOW_BLOCKS..((w + 1) * WINDOW_BLOCKS).min(nb);
        let mx = env_db[r.clone()].iter().fold(FLOOR_DB, |m, &v| m.max(v));
        let mean = env[r.clone()].iter().sum::<f64>() / r.len() as f64;
        win_max.push(mx);
        win_mean.push(pow_to_db(mean));
    }
    f.level_curve_db = win_mean.iter().map(|&v| v as f32).collect();
    let ref_max = quantile(&win_max, 0.95).unwrap_or(FLOOR_DB);
    if ref_max <= -100.0 {
        return f;
    }
    f.silent = false;
    let playing: Vec<bool> = win_max.iter().map(|&m| m > ref_max - 30.0).collect();
    let n_playing = playing.iter().filter(|&&p| p).count();
    f.activity = n_playing as f64 / nw as f64;
    let (mut e_play, mut b_play) = (0.0f64, 0usize);
    let mut crests = Vec::new();
    for w in 0..nw {
        if playing[w] {
            let r = w * WINDOW_BLOCKS..((w + 1) * WINDOW_BLOCKS).min(nb);
            e_play += env[r.clone()].iter().sum::<f64>();
            b_play += r.len();
            crests.push(win_max[w] - win_mean[w]);
        }
    }
    f.level_db = Some(pow_to_db(e_play / b_play.max(1) as f64));
    f.crest_db = median(&crests).unwrap_or(0.0);

    // 3. Attacks, decays, transient energy, on a 20 ms moving average of the envelope (the
    //    5 ms blocks ripple on low notes).
    let smooth_db: Vec<f64> = (0..nb)
        .map(|b| {
            let r = b.saturating_sub(3)..b + 1;
            let len = r.len() as f64;
            pow_to_db(env[r].iter().sum::<f64>() / len)
        })
        .collect();
    let gate = ref_max - 35.0;
    let mut onsets: Vec<(usize, usize)> = Vec::new();
    let mut b = 6;
    let mut next_ok = 0;
    while b < nb {
        if b >= next_ok && smooth_db[b] > gate {
            let floor = smooth_db[b - 6..b]
                .iter()
                .fold(f64::INFINITY, |m, &v| m.min(v));
            if smooth_db[b] - floor > 9.0 {
                let mut p = b;
                while p + 1 < nb && p < b + 10 && smooth_db[p + 1] > smooth_db[p] {
                    p += 1;
                }
                onsets.push((b.saturating_sub(4), p));
                next_ok = p + 8;
                b = p + 1;
                continue;
            }
        }
        b += 1;
    }
    let playing_s = n_playing as f64 * WINDOW_BLOCKS as f64 * BLOCK_S;
    f.onset_rate_hz = onsets.len() as f64 / playing_s.max(1.0);
    let mut decays = Vec::new();
    let total_e: f64 = env.iter().sum();
    let mut trans_e = 0.0;
    let mut counted_to = 0usize;
    for (i, &(start, p)) in onsets.iter().enumerate() {
        let limit = onsets.get(i + 1).map_or(nb, |o| o.0).min(p + 400).min(nb);
        let target = smooth_db[p] - 20.0;
        if let Some(q) = (p + 1..limit).find(|&q| smooth_db[q] < target) {
            decays.push((q - p) as f64 * BLOCK_S * 1000.0);
        }
        let from = start.max(counted_to);
        let to = (p + 10).min(nb);
        if to > from {
            trans_e += env[from..to].iter().sum::<f64>();
            counted_to = to;
        }
    }
    f.decay_ms = median(&decays);
    f.decay_share = if onsets.is_empty() {
        0.0
    } else {
        decays.len() as f64 / onsets.len() as f64
    };
    f.transient_share = if total_e > 0.0 {
        trans_e / total_e
    } else {
        0.0
    };

    // 4. Spectral frames of the playing parts.
    let size = ((sr * 0.09).log2().round().exp2() as usize).clamp(512, 16384);
    let hop = size / 2;
    let candidates = if n > size { (n - size) / hop + 1 } else { 1 };
    // frame energies from the envelope (prefix sums)
    let mut prefix = Vec::with_capacity(nb + 1);
    prefix.push(0.0f64);
    for &e in &env {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + e);
    }
    let frame_db: Vec<f64> = (0..candidates)
        .map(|k| {
            let (s, t) = (
                k * hop / blk,
                ((k * hop + size) / blk).clamp(k * hop / blk + 1, nb),
            );
            pow_to_db((prefix[t] - prefix[s]) / (t - s) as f64)
        })
        .collect();
    let frame_ref = quantile(&frame_db, 0.95).unwrap_or(FLOOR_DB);
    let loud: Vec<usize> = (0..candidates)
        .filter(|&k| frame_db[k] > frame_ref - 30.0)
        .collect();
    let chosen: Vec<usize> = if loud.len() <= MAX_FRAMES {
        loud
    } else {
        let mut c: Vec<usize> = (0..MAX_FRAMES)
            .map(|i| {
                loud[(i as f64 * (loud.len() - 1) as f64 / (MAX_FRAMES - 1) as f64).round()
                    as usize]
            })
            .collect();
        c.dedup();
        c
    };
    let fs = spectral_frames(track, &chosen, hop, size, sr);

    // long-term spectrum: bands, centroid
    let (mut bands, mut total, mut moment, mut lead_band) = ([0.0f64; 5], 0.0, 0.0, 0.0);
    for (k, &p) in fs.spectrum.iter().enumerate().skip(1) {
        let hz = k as f64 * fs.bin_hz;
        let i = match hz {
            h if h < 60.0 => 0,
            h if h < 250.0 => 1,
            h if h < 2000.0 => 2,
            h if h < 6000.0 => 3,
            _ => 4,
        };
        bands[i] += p;
        total += p;
        moment += p * hz;
        if (1000.0..4000.0).contains(&hz) {
            lead_band += p;
        }
    }
    if total > 0.0 {
        f.bands = BandShares {
            sub: bands[0] / total,
            low: bands[1] / total,
            mid: bands[2] / total,
            presence: bands[3] / total,
            air: bands[4] / total,
        };
        f.centroid_hz = moment / total;
        f.band_1k_4k = lead_band / total;
    }
    f.flatness = median(&fs.flatness).unwrap_or(0.0);
    f.periodicity = median(&fs.periodicity).unwrap_or(0.0);
    f.tonal_share = fs.pitches.len() as f64 / fs.periodicity.len().max(1) as f64;
    f.monophony = median(&fs.monophony).unwrap_or(0.0);
    let hz: Vec<f64> = fs.pitches.iter().map(|p| p.1).collect();
    f.pitch_hz = median(&hz);
    f.pitch_low_hz = quantile(&hz, 0.1);
    f.pitch_high_hz = quantile(&hz, 0.9);
    if !hz.is_empty() {
        let mut counts = std::collections::BTreeMap::<i64, usize>::new();
        for &h in &hz {
            *counts
                .entry((12.0 * (h / 440.0).log2()).round() as i64)
                .or_insert(0) += 1;
        }
        let need = (hz.len() as f64 * 0.04).max(2.0) as usize;
        f.distinct_pitches = counts.values().filter(|&&c| c >= need).count();
    }
    let moves: Vec<bool> = fs
        .pitches
        .windows(2)
        .filter(|w| w[1].0 == w[0].0 + 1)
        .map(|w| (12.0 * (w[1].1 / w[0].1).log2()).abs() >= 0.75)
        .collect();
    f.pitch_motion = if moves.is_empty() {
        0.0
    } else {
        moves.iter().filter(|&&m| m).count() as f64 / moves.len() as f64
    };
    f
}

/// Lanes of the block sums: independent accumulators the compiler turns into SIMD (one serial
/// sum is bound by the adder's latency, several times slower).
const LANES: usize = 8;

/// The larger of two values, as one SIMD `max` (NaN ignored): `f32::max` costs more.
#[inline(always)]
fn max_fast(m: f32, v: f32) -> f32 {
    if v > m {
        v
    } else {
        m
    }
}

/// Sum of squares and peak of a block of samples.
fn mono_sums(x: &[f32]) -> (f32, f32) {
    let (mut sq, mut pk) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let s = c[i] * c[i];
            sq[i] += s;
            pk[i] = max_fast(pk[i], s);
        }
    }
    for &v in rest {
        sq[0] += v * v;
        pk[0] = max_fast(pk[0], v * v);
    }
    (
        sq.iter().sum(),
        pk.iter().fold(0.0f32, |m, &v| max_fast(m, v)).sqrt(),
    )
}

/// Lanes of the stereo sums (four sums of four lanes fill the SSE registers without spills).
const ST_LANES: usize = 4;

/// Sums of `l²`, `r²`, `l·r` and the peak of a stereo block.
fn stereo_sums(l: &[f32], r: &[f32]) -> (f32, f32, f32, f32) {
    let m = l.len().min(r.len());
    let (l, r) = (&l[..m], &r[..m]);
    let (mut a, mut c, mut d, mut pk) = (
        [0.0f32; ST_LANES],
        [0.0f32; ST_LANES],
        [0.0f32; ST_LANES],
        [0.0f32; ST_LANES],
    );
    let (lc, rc) = (l.chunks_exact(ST_LANES), r.chunks_exact(ST_LANES));
    let (lrest, rrest) = (lc.remainder(), rc.remainder());
    for (x, y) in lc.zip(rc) {
        for i in 0..ST_LANES {
            let (xx, yy) = (x[i] * x[i], y[i] * y[i]);
            a[i] += xx;
            c[i] += yy;
            d[i] += x[i] * y[i];
            pk[i] = max_fast(pk[i], max_fast(xx, yy));
        }
    }
    for (&x, &y) in lrest.iter().zip(rrest) {
        a[0] += x * x;
        c[0] += y * y;
        d[0] += x * y;
        pk[0] = max_fast(pk[0], max_fast(x * x, y * y));
    }
    let sum = |v: [f32; ST_LANES]| v.iter().sum::<f32>();
    (
        sum(a),
        sum(c),
        sum(d),
        pk.iter().fold(0.0f32, |m, &v| max_fast(m, v)).sqrt(),
    )
}

/// Spectrum, flatness and pitch of the frames starting at `chosen[i] * hop`.
fn spectral_frames(
    track: &AudioBuffer,
    chosen: &[usize],
    hop: usize,
    size: usize,
    sr: f64,
) -> FrameStats {
    let n = track.frames();
    let chans = track.num_channels();
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(size);
    let inv = planner.plan_fft_inverse(size);
    let bins = size / 2 + 1;
    let bin_hz = sr / size as f64;
    let window: Vec<f32> = (0..size)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / size as f64).cos()) as f32)
        .collect();
    let mut input = fwd.make_input_vec();
    let mut spec = fwd.make_output_vec();
    let mut acf = inv.make_output_vec();
    let mut scratch_f = fwd.make_scratch_vec();
    let mut scratch_i = inv.make_scratch_vec();
    // the window's own autocorrelation, to undo its taper on the lags
    input.copy_from_slice(&window);
    let _ = fwd.process_with_scratch(&mut input, &mut spec, &mut scratch_f);
    let mut pspec: Vec<Complex<f32>> = spec
        .iter()
        .map(|c| Complex::new(c.norm_sqr(), 0.0))
        .collect();
    let _ = inv.process_with_scratch(&mut pspec, &mut acf, &mut scratch_i);
    let w0 = acf[0].max(f32::MIN_POSITIVE);
    // 1 / the window's normalised autocorrelation (floored at 0.05)
    let inv_wacf: Vec<f64> = acf
        .iter()
        .map(|&v| 1.0 / ((v / w0) as f64).max(0.05))
        .collect();
    let mut norm: Vec<f64> = Vec::with_capacity(size);

    let tau_min = ((sr / 1500.0).floor() as usize).max(2);
    let tau_max = ((sr / 35.0).ceil() as usize).min(size / 3);
    let k_acf_max = ((5000.0 / bin_hz) as usize).min(bins);
    let mut out = FrameStats {
        spectrum: vec![0.0; bins],
        bin_hz,
        flatness: Vec::with_capacity(chosen.len()),
        periodicity: Vec::with_capacity(chosen.len()),
        pitches: Vec::new(),
        monophony: Vec::new(),
    };
    let mut power = vec![0.0f64; bins];
    let inv_ch = 1.0 / chans as f32;
    for (fi, &k) in chosen.iter().enumerate() {
        let start = (k * hop).min(n);
        let len = size.min(n - start);
        input.fill(0.0);
        for c in &track.channels {
            for (v, &x) in input[..len].iter_mut().zip(&c[start..start + len]) {
                *v += x;
            }
        }
        for (v, &w) in input.iter_mut().zip(&window) {
            *v *= w * inv_ch;
        }
        if fwd
            .process_with_scratch(&mut input, &mut spec, &mut scratch_f)
            .is_err()
        {
            continue;
        }
        let mut sum = 0.0;
        for ((p, c), acc) in power.iter_mut().zip(&spec).zip(&mut out.spectrum) {
            *p = c.norm_sqr() as f64;
            *acc += *p;
            sum += *p;
        }
        if !(sum > 0.0 && sum.is_finite()) {
            continue;
        }
        // flatness within the band that holds the frame's energy (5% to 95% of it)
        let (mut lo, mut hi, mut run) = (0usize, bins, 0.0);
        for (k, &p) in power.iter().enumerate() {
            run += p;
            if run < 0.05 * sum {
                lo = k;
            }
            if run <= 0.95 * sum {
                hi = k + 1;
            }
        }
        let (lo, hi) = (lo.max(1), (hi + 1).max(lo + 16).min(bins));
        let band = &power[lo..hi];
        let mean = band.iter().sum::<f64>() / band.len() as f64;
        let eps = mean * 1e-9 + 1e-30;
        // one logarithm per eight bins (of their product: at least 1e-240, at most ~1e53)
        let log_mean = band
            .chunks(8)
            .map(|c| c.iter().fold(1.0f64, |acc, &p| acc * (p + eps)).ln())
            .sum::<f64>()
            / band.len() as f64;
        out.flatness.push((log_mean.exp() / (mean + eps)).min(1.0));
        // autocorrelation of the part below 5 kHz
        for (i, (d, c)) in pspec.iter_mut().zip(&spec).enumerate() {
            *d = Complex::new(if i < k_acf_max { c.norm_sqr() } else { 0.0 }, 0.0);
        }
        pspec[0].re = 0.0; // no DC
        if inv
            .process_with_scratch(&mut pspec, &mut acf, &mut scratch_i)
            .is_err()
        {
            continue;
        }
        let r0 = acf[0] as f64;
        if r0 <= 0.0 {
            out.periodicity.push(0.0);
            continue;
        }
        // normalised, the window's taper undone, capped at 1 (long lags are noisy)
        let (t_lo, t_hi) = (tau_min.max(1), tau_max.min(size - 1));
        norm.clear();
        norm.extend((t_lo - 1..=t_hi).map(|t| (acf[t] as f64 / r0 * inv_wacf[t]).min(1.0)));
        let nr = |t: usize| norm[t + 1 - t_lo];
        let mut best_val = f64::NEG_INFINITY;
        let mut peaks: Vec<(usize, f64)> = Vec::new();
        for t in t_lo..t_hi {
            let v = nr(t);
            if v > nr(t - 1) && v >= nr(t + 1) && v > 0.0 {
                peaks.push((t, v));
                best_val = best_val.max(v);
            }
        }
        // the shortest period nearly as good as the best (no sub-octave errors)
        let Some(&(t, v)) = peaks.iter().find(|p| p.1 >= 0.9 * best_val) else {
            out.periodicity.push(0.0);
            continue;
        };
        out.periodicity.push(v);
        if v < 0.4 {
            continue;
        }
        out.monophony
            .push(harmonic_share(&power, bin_hz, k_acf_max));
        if v < PITCHED {
            continue;
        }
        let (a, b, c) = (nr(t - 1), nr(t), nr(t + 1));
        let den = a - 2.0 * b + c;
        let delta = if den.abs() > 1e-12 {
            (0.5 * (a - c) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        out.pitches.push((fi, sr / (t as f64 + delta)));
    }
    out
}

/// Share of a frame's spectral-peak energy (50 Hz - `k_max`) that the harmonics of one note
/// explain, the note being one of the peaks: about 1 for one note at a time, well below for a
/// chord (a common sub-harmonic does not count, as it is not itself sounding).
fn harmonic_share(power: &[f64], bin_hz: f64, k_max: usize) -> f64 {
    let k_lo = ((50.0 / bin_hz) as usize).max(1);
    let k_hi = k_max.min(power.len() - 1);
    let floor = power[k_lo..k_hi].iter().fold(0.0f64, |m, &p| m.max(p)) * 1e-4;
    // (frequency, energy) of the peaks
    let mut peaks: Vec<(f64, f64)> = Vec::new();
    for k in k_lo..k_hi {
        let (a, b, c) = (power[k - 1], power[k], power[k + 1]);
        if b > a && b >= c && b > floor {
            let (la, lb, lc) = ((a + 1e-30).ln(), b.ln(), (c + 1e-30).ln());
            let den = la - 2.0 * lb + lc;
            let d = if den.abs() > 1e-12 {
                (0.5 * (la - lc) / den).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            peaks.push(((k as f64 + d) * bin_hz, a + b + c));
        }
    }
    if peaks.is_empty() {
        return 0.0;
    }
    peaks.sort_by(|x, y| y.1.total_cmp(&x.1));
    peaks.truncate(24);
    let total: f64 = peaks.iter().map(|p| p.1).sum();
    let strongest = peaks[0].1;
    let mut best = 0.0f64;
    for &(f0, e0) in peaks.iter().take(8) {
        if e0 < 0.05 * strongest || f0 < 40.0 {
            continue;
        }
        let explained: f64 = peaks
            .iter()
            .filter(|&&(f, _)| {
                let h = (f / f0).round();
                h >= 1.0 && (f - h * f0).abs() <= (0.03 * h * f0).min(0.25 * f0).max(bin_hz * 0.3)
            })
            .map(|p| p.1)
            .sum();
        best = best.max(explained);
    }
    best / total
}

// ------------------------------------------------------------------------------------------
// Content rules

/// 0 below `a`, 1 above `b` (or the reverse when `a > b`), smooth in between.
fn soft(x: f64, a: f64, b: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// 0..1: the part plays above the bass register: a fundamental above ~100 Hz with a spectrum
/// reaching well above it (a tenor sax, a trombone, a male voice), a fundamental above
/// ~170 Hz whatever the timbre (an ocarina, a flute), or a spectrum centred around 1 kHz and
/// up over a low fundamental (a distorted riff on the low strings). Bass lines, kicks and
/// toms stay below.
fn above_bass(f: &ContentFeatures) -> f64 {
    let pitch = f.pitch_hz.unwrap_or(0.0);
    let voiced = soft(pitch, 80.0, 130.0) * soft(f.centroid_hz, 200.0, 350.0);
    let high = soft(pitch, 140.0, 200.0);
    let bright_riff = soft(pitch, 55.0, 75.0) * soft(f.centroid_hz, 700.0, 1200.0);
    voiced.max(high).max(bright_riff)
}

/// How well the track fits each role the audio can tell apart, 0..1 (unsorted).
///
/// The audio alone cannot tell a sax from a violin or an organ from a string pad, so the rules
/// only ever answer kick, snare, hats, toms, cymbals, percussion, bass, pad, keys, guitar, lead
/// instrument, fx or other.
pub fn content_scores(f: &ContentFeatures) -> Vec<(Role, f64)> {
    if f.silent {
        return vec![(Role::Other, 1.0)];
    }
    let b = &f.bands;
    let low_all = b.sub + b.low;
    let high_all = b.presence + b.air;
    let decay = f.decay_ms.unwrap_or(2000.0);
    // hits: a loud attack over the second's mean, energy in the attacks
    let perc = soft(f.crest_db, 7.0, 11.0) * soft(f.transient_share, 0.3, 0.6);
    // a bright hit with a clear pitch: cowbell, woodblock, clave, agogo, triangle (a snare's
    // pitched part, its body, sits low)
    let bright_pitched = soft(f.tonal_share, 0.5, 0.8) * soft(f.centroid_hz, 1200.0, 2500.0);
    let tonal = soft(f.tonal_share, 0.4, 0.7);
    let noisy = soft(f.flatness, 0.03, 0.1).max(soft(f.periodicity, 0.85, 0.65));
    let poly = soft(f.monophony, 0.9, 0.65);
    let mono = soft(f.monophony, 0.7, 0.9);
    let pitch = f.pitch_hz.unwrap_or(0.0);

    // the same hit on one pitch, again and again, each falling away before the next (a fast
    // kick pattern has less crest than a slow one, but its hits still decay)
    let repeated_hit = soft(f.transient_share, 0.4, 0.7)
        * soft(f.decay_share, 0.6, 0.9)
        * soft(f.distinct_pitches as f64, 5.0, 3.0);
    let kick = perc.max(repeated_hit)
        * soft(b.sub, 0.1, 0.22)
        * soft(low_all, 0.6, 0.85)
        * soft(f.centroid_hz, 350.0, 180.0);
    let snare = perc
        * soft(b.sub, 0.15, 0.05)
        * soft(f.centroid_hz, 350.0, 600.0)
        * soft(f.centroid_hz, 9000.0, 6000.0)
        * noisy
        * soft(decay, 500.0, 250.0)
        * (1.0 - bright_pitched)
        // a snare plays the backbeat (and fills); five hits a second and more, all the
        // time, is hand percussion
        * soft(f.onset_rate_hz, 6.0, 4.0);
    let hats = soft(f.transient_share, 0.4, 0.7)
        * soft(f.crest_db, 5.0, 8.0)
        * soft(b.air, 0.4, 0.6)
        * soft(f.centroid_hz, 6000.0, 9000.0)
        * soft(f.flatness, 0.1, 0.25)
        * soft(decay, 300.0, 150.0);
    let cymbals = soft(high_all, 0.5, 0.75)
        * soft(f.centroid_hz, 2500.0, 4000.0)
        * soft(f.periodicity, 0.7, 0.5)
        * soft(f.tonal_share, 0.5, 0.2)
        * soft(decay, 200.0, 400.0).max(soft(f.decay_share, 0.6, 0.3));
    let toms = soft(f.crest_db, 7.0, 10.0)
        * soft(f.transient_share, 0.2, 0.4)
        * soft(low_all, 0.6, 0.8)
        * soft(b.sub, 0.25, 0.12)
        * soft(f.periodicity, 0.7, 0.9)
        * soft(decay, 150.0, 250.0)
        * (0.6 + 0.4 * soft(f.activity, 0.6, 0.3));
    let dense = soft(f.onset_rate_hz, 3.5, 5.5);
    let percussion = perc * bright_pitched.max(0.55 + 0.3 * dense);
    let drumlike = perc.max(hats).max(cymbals);

    let bass = tonal
        * soft(low_all, 0.6, 0.8)
        * soft(f.centroid_hz, 280.0, 180.0)
        * soft(pitch, 200.0, 140.0)
        * (1.0 - 0.7 * perc.max(repeated_hit));
    // pitched parts above the bass register
    let melodic = tonal * soft(f.centroid_hz, 150.0, 250.0) * (1.0 - drumlike);
    let held = soft(f.transient_share, 0.25, 0.08) * soft(f.onset_rate_hz, 1.5, 0.5);
    // one note at a time, moving: a legato melody, not a pad
    let moving_line = soft(f.monophony, 0.85, 0.95)
        * soft(f.pitch_motion, 0.15, 0.35)
        * soft(f.distinct_pitches as f64, 2.0, 4.0);
    let pad = melodic
        * held
        * (1.0 - 0.6 * moving_line)
        * (0.4 + 0.6 * poly)
        * (0.8 + 0.2 * soft(f.width, 0.05, 0.2))
        * soft(pitch, 600.0, 400.0).max(poly);
    let keys = melodic
        * soft(f.crest_db, 3.5, 6.0)
        * soft(decay, 300.0, 500.0)
        * (0.7 + 0.3 * soft(f.transient_share, 0.05, 0.15));
    let bright_guitar = soft(f.periodicity, 0.35, 0.5)
        * soft(b.presence, 0.2, 0.4).max(soft(f.band_1k_4k, 0.3, 0.5))
        * soft(f.monophony, 0.9, 0.7).max(soft(f.flatness, 0.15, 0.3));
    // chords struck again and again without ringing out (strummed, chugged): most often a
    // guitar (a piano comping part rings: keys)
    let rhythm_chords = 0.6
        * tonal
        * poly
        * soft(f.onset_rate_hz, 1.5, 3.0)
        * soft(f.transient_share, 0.55, 0.4)
        * soft(f.centroid_hz, 150.0, 300.0);
    let guitar = bright_guitar.max(rhythm_chords) * (1.0 - drumlike);
    let lead = melodic
        * mono
        * above_bass(f)
        * soft(f.distinct_pitches as f64, 1.5, 4.0)
        * soft(f.crest_db, 9.0, 6.0)
        * soft(f.onset_rate_hz, 4.0, 2.5);
    let fx = soft(f.flatness, 0.3, 0.45)
        * soft(f.periodicity, 0.45, 0.3)
        * soft(f.transient_share, 0.35, 0.2)
        * soft(f.tonal_share, 0.3, 0.1)
        // hits that ring out (cymbals) are not effects; risers and sweeps do not fall away
        * (1.0 - 0.6 * soft(f.decay_share, 0.5, 0.9));
    vec![
        (Role::Kick, kick),
        (Role::Snare, snare),
        (Role::Hats, hats),
        (Role::Cymbals, cymbals),
        (Role::Toms, toms),
        (Role::Percussion, percussion),
        (Role::Bass, bass),
        (Role::Pad, pad),
        (Role::Keys, keys),
        (Role::Guitar, guitar),
        (Role::LeadInstrument, lead),
        (Role::Fx, fx),
        // nothing fits well: a full mix, a backing track, a sound we do not know
        (Role::Other, 0.15),
    ]
}

/// A few words on what the track sounds like ("low, percussive, short decays").
fn describe(f: &ContentFeatures) -> String {
    if f.silent {
        return "silent".into();
    }
    let mut w: Vec<String> = Vec::new();
    let register = match f.centroid_hz {
        c if c < 200.0 => "low",
        c if c < 600.0 => "low-mid",
        c if c < 2000.0 => "mid",
        c if c < 6000.0 => "bright",
        _ => "very bright",
    };
    w.push(register.into());
    if f.bands.sub >= 0.2 {
        w.push("sub-heavy".into());
    }
    let perc = soft(f.crest_db, 7.0, 11.0) * soft(f.transient_share, 0.3, 0.6);
    if perc >= 0.5 {
        w.push("percussive".into());
        match f.decay_ms {
            Some(d) if d < 250.0 => w.push("short decays".into()),
            Some(_) | None => w.push("long decays".into()),
        }
    } else if f.onset_rate_hz < 0.5 || f.transient_share < 0.08 {
        w.push("sustained".into());
    } else if f.decay_ms.is_some_and(|d| d >= 300.0) && f.crest_db >= 4.0 {
        w.push("struck/plucked notes".into());
    }
    if f.tonal_share >= 0.6 {
        // the period of a chord is its notes' common sub-harmonic: no note to name
        match f.pitch_hz {
            Some(p) if f.monophony >= 0.75 => w.push(format!("pitched (around {p:.0} Hz)")),
            _ => w.push("pitched".into()),
        }
        if f.monophony < 0.75 {
            w.push("chords".into());
        } else if f.monophony >= 0.9 {
            w.push("one note at a time".into());
        }
    } else if f.flatness >= 0.2 || f.periodicity < 0.45 {
        w.push("noisy".into());
    }
    if f.onset_rate_hz >= 3.0 {
        w.push("dense".into());
    }
    if f.activity < 0.3 {
        w.push("plays little".into());
    }
    if f.width >= 0.15 {
        w.push("wide".into());
    }
    w.join(", ")
}

/// The role the audio suggests, with a confidence (at most 0.75: the audio is less sure than a
/// clear name) and a musician-readable reason ("content: low, percussive, short decays").
pub fn role_from_content(f: &ContentFeatures) -> (Role, f64, String) {
    let mut scores = content_scores(f);
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (role, best) = scores[0];
    let second = scores.get(1).map_or(0.0, |s| s.1);
    let margin = if best > 0.0 {
        (best - second) / best
    } else {
        0.0
    };
    let confidence = if f.silent {
        0.9
    } else {
        (0.2 + 0.55 * best * (0.4 + 0.6 * margin)).clamp(0.15, 0.75)
    };
    let mut why = format!("content: {} → {}", describe(f), role.name());
    if !f.silent && margin < 0.25 && second > 0.1 {
        why.push_str(&format!(" (or {})", scores[1].0.name()));
    }
    (role, confidence, why)
}

// ------------------------------------------------------------------------------------------
// Name and content together

/// Roles in the same broad family (a disagreement inside one is not worth a warning).
fn family(r: Role) -> u8 {
    match r {
        Role::Kick | Role::Snare | Role::Hats | Role::Toms | Role::Cymbals | Role::Percussion => 0,
        Role::Bass => 1,
        Role::LeadVocal | Role::BackingVocal => 2,
        Role::Fx | Role::Other => 4,
        _ => 3,
    }
}

/// A track's role: from its name when the name is clear; when the name is ambiguous (`Synth`,
/// `Sub`, `Lead`, `808`, `Amp`), the audio picks among the name's meanings; when the name says
/// nothing, from the audio alone. Presence is left `Normal` (or the name's hint) for
/// [`assign_presence`] to decide.
pub fn classify(file_stem: &str, f: &ContentFeatures) -> RoleGuess {
    let (c_role, c_conf, c_why) = role_from_content(f);
    let mut flags = Vec::new();
    if f.silent {
        flags.push(TrackFlag::Silent);
    }
    let name = read_name(file_stem);
    let (role, source, confidence, why, hint) = match name {
        None => (c_role, GuessSource::Content, c_conf, c_why, None),
        Some(n) => {
            if n.click {
                flags.push(TrackFlag::ClickTrack);
            }
            let ambiguous = !n.alts.is_empty() && n.confidence < 0.75;
            if f.silent {
                let why = format!("{}; the track is silent", n.why);
                (n.role, GuessSource::Name, n.confidence, why, n.hint)
            } else if ambiguous && n.alts.contains(&c_role) {
                let conf = (n.confidence.max(c_conf) + 0.05).min(0.85);
                let why = format!("{}; {}", n.why, c_why);
                (c_role, GuessSource::Content, conf, why, n.hint)
            } else if c_role == n.role {
                let conf = (n.confidence + 0.05 * c_conf).min(0.99);
                let why = format!("{}; content agrees", n.why);
                (n.role, GuessSource::Name, conf, why, n.hint)
            } else if family(c_role) != family(n.role) && c_conf >= 0.45 && !n.click {
                let why = format!("{}; but the audio sounds like {}", n.why, c_role.name());
                (n.role, GuessSource::Name, n.confidence * 0.9, why, n.hint)
            } else {
                (n.role, GuessSource::Name, n.confidence, n.why, n.hint)
            }
        }
    };
    RoleGuess {
        role,
        presence: hint.unwrap_or(Presence::Normal),
        source,
        confidence,
        why,
        presence_why: String::new(),
        presence_hint: hint,
        flags,
    }
}

// ------------------------------------------------------------------------------------------
// Presence

/// How strongly a track carries a melody: pitched, one note at a time, moving, speaking in the
/// 1-4 kHz band, playing most of the song. 0..1.
pub fn melodic_score(f: &ContentFeatures) -> f64 {
    if f.silent {
        return 0.0;
    }
    f.tonal_share
        * (0.4 + 0.6 * soft(f.monophony, 0.6, 0.9))
        * (0.5 + 0.5 * soft(f.distinct_pitches as f64, 2.0, 6.0))
        * (0.3 + f.band_1k_4k).min(1.0)
        * (0.3 + 0.7 * f.activity)
        * above_bass(f)
}

/// Correlation of two tracks' per-second levels over the seconds either plays (for doubles).
fn level_correlation(a: &ContentFeatures, b: &ContentFeatures) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a
        .level_curve_db
        .iter()
        .zip(&b.level_curve_db)
        .map(|(&x, &y)| (x as f64, y as f64))
        .filter(|&(x, y)| x > -90.0 || y > -90.0)
        .collect();
    if pairs.len() < 4 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Song-level presence: the lead vocal leads (the quieter of two lead vocals that move together
/// is a double, in the background); without a lead vocal, the most melodic lead instrument leads
/// (or, without one, the most melodic pitched part: present in 1-4 kHz, active, one note at a
/// time); a name that asks for `lead`/`solo` leads as well. Pads, FX, doubles, room mics,
/// click and silent tracks sit in the background; the rest are normal. User choices are applied
/// afterwards by the caller; guesses whose source is [`GuessSource::User`] keep their role here.
///
/// `features[i]` belongs to `guesses[i]`.
pub fn assign_presence(guesses: &mut [RoleGuess], features: &[ContentFeatures]) {
    let none = ContentFeatures::default();
    let feat = |i: usize| features.get(i).unwrap_or(&none);
    let n = guesses.len();
    let mut presence = vec![Presence::Normal; n];
    let mut why = vec![String::new(); n];
    // background first
    for (i, g) in guesses.iter().enumerate() {
        let reason = if g.flags.contains(&TrackFlag::ClickTrack) {
            Some("a click track: not part of the mix")
        } else if g.flags.contains(&TrackFlag::Silent) {
            Some("silent")
        } else if g.presence_hint == Some(Presence::Background) {
            Some("the name says it is a double, a room or an ambience")
        } else if g.role == Role::Pad {
            Some("a pad: sits behind the other parts")
        } else if g.role == Role::Fx {
            Some("effects: sit behind the other parts")
        } else {
            None
        };
        if let Some(r) = reason {
            presence[i] = Presence::Background;
            why[i] = r.to_string();
        }
    }
    let free = |p: &[Presence], i: usize| p[i] != Presence::Background;
    // lead vocals, minus doubles
    let vocals: Vec<usize> = (0..n)
        .filter(|&i| guesses[i].role == Role::LeadVocal && free(&presence, i))
        .collect();
    for &i in &vocals {
        let louder_twin = vocals.iter().find(|&&j| {
            j != i
                && level_correlation(feat(i), feat(j)).is_some_and(|c| c >= 0.9)
                && feat(j).level_db.unwrap_or(-200.0) >= feat(i).level_db.unwrap_or(-200.0) + 3.0
        });
        if let Some(&j) = louder_twin {
            presence[i] = Presence::Background;
            why[i] = format!("moves with lead vocal #{} and is quieter: a double", j + 1);
        }
    }
    let mut has_lead = false;
    for &i in &vocals {
        if presence[i] != Presence::Background {
            presence[i] = Presence::Lead;
            why[i] = "the lead vocal".into();
            has_lead = true;
        }
    }
    // names that ask for the lead (`Guitar Solo`, `Lead Synth`)
    for i in 0..n {
        if guesses[i].presence_hint == Some(Presence::Lead)
            && free(&presence, i)
            && presence[i] != Presence::Lead
        {
            presence[i] = Presence::Lead;
            why[i] = "the name says lead/solo".into();
            has_lead = true;
        }
    }
    if !has_lead {
        // the most melodic lead instrument, else the most melodic pitched part
        let pick = |pool: &[usize]| {
            pool.iter()
                .map(|&i| (i, melodic_score(feat(i))))
                .filter(|&(_, s)| s > 0.0)
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        let leads: Vec<usize> = (0..n)
            .filter(|&i| guesses[i].role == Role::LeadInstrument && free(&presence, i))
            .collect();
        let melodic: Vec<usize> = (0..n)
            .filter(|&i| {
                free(&presence, i)
                    && matches!(
                        guesses[i].role,
                        Role::Guitar | Role::Keys | Role::Organ | Role::Strings | Role::Brass
                    )
            })
            .collect();
        let chosen = match pick(&leads) {
            Some((i, _)) => Some((i, "the lead instrument (most melodic and present)")),
            None => pick(&melodic)
                .filter(|&(_, s)| s >= 0.05)
                .map(|(i, _)| (i, "no lead vocal: the most melodic, present part")),
        };
        if let Some((i, r)) = chosen {
            presence[i] = Presence::Lead;
            why[i] = r.to_string();
        }
    }
    for (i, g) in guesses.iter_mut().enumerate() {
        g.presence = presence[i];
        g.presence_why = if why[i].is_empty() {
            if g.role == Role::LeadInstrument {
                "another melodic part; something else leads".into()
            } else {
                "normal".into()
            }
        } else {
            std::mem::take(&mut why[i])
        };
    }
}
