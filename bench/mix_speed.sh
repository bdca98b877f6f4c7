#!/usr/bin/env bash
# Speed and memory of `mixdown mix`: 16 stems of 3 minutes at 44.1 kHz, mixed and mastered.
#
#   bash bench/mix_speed.sh [REPS]        (default 3)
#
# The stems are real corpus stems (openmsx_keep_on_rolling's 14 and two of openmsx_be_sharp),
# each repeated to 3 minutes with sox, 16-bit FLAC like the corpus. Prints the median wall
# time, the median peak RSS and the ratio to real time (3 minutes / wall time).
set -euo pipefail
REPS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
C=$SHARED/corpus/multitrack
WORK=${WORK:-/tmp/mixdown-mixspeed}
STEMS=$WORK/stems16
mkdir -p "$STEMS"
(cd "$ROOT" && cargo build --release -q -p mixdown-cli)
BIN=$ROOT/target/release/mixdown
if [ "$(ls "$STEMS" | wc -l)" -ne 16 ]; then
  for f in "$C"/openmsx_keep_on_rolling/*.flac "$C/openmsx_be_sharp/percussion.flac" "$C/openmsx_be_sharp/steel_guitar.flac"; do
    b=$(basename "$f" .flac)
    [ "$b" = mix ] && continue
    sox "$f" "$STEMS/$b.flac" repeat 5 trim 0 180
  done
fi
for r in $(seq 1 "$REPS"); do
  /usr/bin/time -f "%e %M" -o "$WORK/time_$r.txt" "$BIN" mix "$STEMS" -o "$WORK/mix.wav" -q
done
cat "$WORK"/time_*.txt | sort -n | awk -v reps="$REPS" '
  { t[NR] = $1; m[NR] = $2 }
  END {
    mid = int((NR + 1) / 2)
    printf "mixdown mix, 16 stems x 3 min, 44.1 kHz: median wall %.2f s, peak RSS %.0f MiB, %.1fx real time (%d runs)\n", t[mid], m[mid] / 1024, 180 / t[mid], NR
  }'
