#!/usr/bin/env bash
# Speed of `mixdown analyze` (issue 4 acceptance 5: a 3-minute stereo song under 1 s, a
# 16-stem folder of 3 minutes under 10 s on this machine).
#
#   bash bench/analyze_speed.sh [REPS]        (default 5)
#
# The song is the 3-minute 24-bit stereo WAV of bench/speed.sh (four corpus masters in a row);
# the folder is the 16 stems of bench/mix_speed.sh (real corpus stems repeated to 3 minutes,
# 16-bit FLAC). Times, REPS runs each, median wall time and peak RSS of:
#   mixdown analyze song.wav               (every file check)
#   mixdown analyze song.wav --translate   (and the five playback simulations)
#   mixdown analyze stems16/               (stem checks + file checks on their sum)
#   mixdown analyze stems16/ --translate
set -euo pipefail
REPS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
C=$SHARED/corpus
WORK=${WORK:-/tmp/mixdown-analyzespeed}
mkdir -p "$WORK"
(cd "$ROOT" && cargo build --release -q -p mixdown-cli)
BIN=$ROOT/target/release/mixdown
SONG=$WORK/song3min.wav
[ -f "$SONG" ] || sox "$C/masters/jazz_kevin_macleod_vibe_ace.flac" "$C/masters/acoustic_karissa_hobbs_lets_go_fishin.flac" \
  "$C/masters/electronic_frozen_bubble_intro.flac" "$C/masters/orchestral_brahms_hungarian_dance_5.flac" -b 24 "$SONG"
STEMS=$WORK/stems16
mkdir -p "$STEMS"
if [ "$(ls "$STEMS" | wc -l)" -ne 16 ]; then
  for f in "$C"/multitrack/openmsx_keep_on_rolling/*.flac "$C/multitrack/openmsx_be_sharp/percussion.flac" \
    "$C/multitrack/openmsx_be_sharp/steel_guitar.flac"; do
    b=$(basename "$f" .flac)
    [ "$b" = mix ] && continue
    sox "$f" "$STEMS/$b.flac" repeat 5 trim 0 180
  done
fi
run() { # name, then the arguments
  local name=$1; shift
  rm -f "$WORK"/t_*.txt
  for r in $(seq 1 "$REPS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/t_$r.txt" "$BIN" analyze "$@" -q
  done
  cat "$WORK"/t_*.txt | sort -n | awk -v name="$name" '
    { t[NR] = $1; m[NR] = $2; all = all sprintf("%s%.2f", NR > 1 ? ", " : "", $1) }
    END { mid = int((NR + 1) / 2); printf "%-38s median %5.2f s  peak RSS %4.0f MiB  (%s)\n", name, t[mid], m[mid] / 1024, all }'
}
echo "mixdown analyze, $REPS runs each, this machine ($(nproc) cores)"
run "3-min stereo song" "$SONG"
run "3-min stereo song --translate" "$SONG" --translate
run "16 stems x 3 min" "$STEMS"
run "16 stems x 3 min --translate" "$STEMS" --translate
