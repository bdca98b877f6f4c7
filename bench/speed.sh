#!/usr/bin/env bash
# Speed and memory of `mixdown master` against its peers, in one run on one machine.
#
#   bash bench/speed.sh [REPS]        (default 3)
#
# Builds mixdown (release), makes a 3-minute 44.1 kHz stereo song and a different 3-minute
# reference from the shared corpus (real music; sox concatenates excerpts), then times:
#   * mixdown master song.wav -o out.wav --target streaming       (REPS runs)
#   * mixdown master song.wav --reference ref.wav -o out.wav      (REPS runs, interleaved)
#   * Matchering 2.0.6 with the 3-minute reference, and ffmpeg loudnorm two-pass to -14 LUFS
#     (../shared/bench/peers.sh, REPS runs each)
# and prints median wall time, median peak RSS, and the ratios. Needs the tools that
# ../shared/bench/setup.sh installs (sox, ffmpeg, GNU time, the Python venv).
set -euo pipefail
REPS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
C=$SHARED/corpus
WORK=${WORK:-$(mktemp -d /tmp/mixdown-speed.XXXXXX)}
mkdir -p "$WORK"
PY=$(bash "$SHARED/bench/setup.sh")
(cd "$ROOT" && cargo build --release -q -p mixdown-cli)
BIN=$ROOT/target/release/mixdown

SONG=$WORK/song3min.wav
REF=$WORK/ref3min.wav
[ -f "$SONG" ] || sox "$C/masters/jazz_kevin_macleod_vibe_ace.flac" "$C/masters/acoustic_karissa_hobbs_lets_go_fishin.flac" \
  "$C/masters/electronic_frozen_bubble_intro.flac" "$C/masters/orchestral_brahms_hungarian_dance_5.flac" -b 24 "$SONG"
[ -f "$REF" ] || sox "$C/masters/metal_muldjord_armygeddon.flac" "$C/masters/synth_openmsx_ttsong_iii.flac" \
  "$C/multitrack/fof_muldjord_chaos_god/mix.flac" "$C/multitrack/fof_sectoid_metal_madness/mix.flac" \
  "$C/multitrack/openmsx_be_sharp/mix.flac" -b 24 "$REF" trim 0 180

for r in $(seq 1 "$REPS"); do
  /usr/bin/time -v -o "$WORK/time_mixdown_$r.txt" "$BIN" master "$SONG" -o "$WORK/mixdown.wav" --target streaming -q
  /usr/bin/time -v -o "$WORK/time_mixdownref_$r.txt" "$BIN" master "$SONG" --reference "$REF" -o "$WORK/mixdown-ref.wav" -q
done
bash "$SHARED/bench/peers.sh" "$SONG" "$REF" "$WORK/peers" "$REPS" > "$WORK/peers.txt"

"$PY" - "$WORK" "$REPS" <<'PYEOF'
import os, re, statistics, sys
work, reps = sys.argv[1], int(sys.argv[2])
def timing(d, name):
    w, m = [], []
    for r in range(1, reps + 1):
        p = f"{d}/time_{name}_{r}.txt"
        if not os.path.exists(p):
            continue
        t = open(p).read()
        if re.search(r"Exit status: (\d+)", t).group(1) != "0":
            continue
        s = 0.0
        for part in re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":"):
            s = s * 60 + float(part)
        w.append(s)
        m.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024)
    return (statistics.median(w), statistics.median(m), w) if w else None
md = timing(work, "mixdown")
mr = timing(work, "mixdownref")
mg = timing(f"{work}/peers", "matchering")
ln = timing(f"{work}/peers", "loudnorm")
print(f"3-minute 44.1 kHz stereo song, {reps} runs each, this machine, one session\n")
print(f"{'tool':34s} {'median wall':>12s} {'peak RSS':>10s}   runs")
for name, t in [("mixdown master --target streaming", md), ("mixdown master --reference (3-min)", mr),
                ("Matchering 2.0.6 (3-min reference)", mg),
                ("ffmpeg loudnorm, two passes", ln)]:
    if t:
        print(f"{name:34s} {t[0]:10.2f} s {t[1]:7.0f} MiB   {', '.join(f'{x:.2f}' for x in t[2])}")
if md and mg:
    print(f"\nmixdown is {mg[0] / md[0]:.1f}x faster than Matchering, using {md[1] / mg[1]:.2f} of its memory")
if mr and mg:
    print(f"mixdown --reference is {mg[0] / mr[0]:.1f}x faster than Matchering, using {mr[1] / mg[1]:.2f} of its memory")
if md and ln:
    print(f"mixdown is {ln[0] / md[0]:.1f}x faster than loudnorm, using {md[1] / ln[1]:.2f} of its memory")
print(f"\nfiles and raw timings in {work}")
PYEOF
