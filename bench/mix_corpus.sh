#!/usr/bin/env bash
# Acceptance runs for `mixdown mix` on the shared corpus (issue: the automatic mixing engineer).
#
#   bash bench/mix_corpus.sh [balance|clean|all]     (default all)
#
# balance: ../shared/bench/mixeval.py with --perturb 1, 2 and 3: every song's stems get random
#          gains, mixdown mixes them (--stems-out), and the balance of the processed stems is
#          compared with the song's own (mean error, LU; lower is better; baselines printed).
# clean:   ../shared/bench/cleaneval.py on four songs, hum (50 and 60 Hz) on two stems (one a
#          bass) and hiss on two: hum reduction_dB, hiss quiet_floor_dB, music_change_dB; then
#          three harder cases (hiss on cymbals, hum under a bass that never pauses).
set -euo pipefail
WHAT=${1:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
PY=$(bash "$SHARED/bench/setup.sh")
# BIN=path runs a given build (e.g. a copy, while the tree changes); otherwise build here
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p mixdown-cli)
  BIN=$ROOT/target/release/mixdown
fi
WORK=${WORK:-$(mktemp -d /tmp/mixdown-mixbench.XXXXXX)}

if [ "$WHAT" = balance ] || [ "$WHAT" = all ]; then
  for seed in 1 2 3; do
    echo "== balance, --perturb $seed"
    "$PY" "$SHARED/bench/mixeval.py" --corpus "$SHARED/corpus" --perturb "$seed" --work "$WORK/bal$seed" \
      --run "$BIN mix {stems} --stems-out {out} -o {out}/mix.wav --report {out}/report.json -q" \
      | "$PY" "$HERE/mixtable.py"
    "$PY" "$HERE/mixreport.py" "$WORK/bal$seed/out"
  done
fi

if [ "$WHAT" = clean ] || [ "$WHAT" = all ]; then
  C=$SHARED/corpus/multitrack
  for hz in 50 60; do
    for spec in "openmsx_be_sharp|finger_bass bright_piano_1|drums_toms drums_hihat" \
                "openmsx_keep_on_rolling|pick_bass trombone|acoustic_grand_piano_1 drums_toms" \
                "openmsx_midnight_snow_run|pick_bass celesta|electric_piano_1 ocarina" \
                "openmsx_busy_schedule|acoustic_bass alto_sax|honkytonk_piano drums_snare" \
                "openmsx_busy_schedule|pick_bass alto_sax|drums_hihat tremolo_strings" \
                "openmsx_be_sharp|finger_bass steel_guitar|drums_cymbals bright_piano_1" \
                "openmsx_midnight_snow_run|acoustic_bass ocarina|drums_hihat electric_piano_1"; do
      IFS='|' read -r song hum hiss <<< "$spec"
      echo "== clean-up, $song, hum ${hz} Hz on: $hum; hiss on: $hiss"
      "$PY" "$SHARED/bench/cleaneval.py" "$C/$song" --hum-hz "$hz" --hum $hum --hiss $hiss --work "$WORK/clean_${song}_$hz" \
        --run "$BIN mix {stems} --stems-out {out} -o {out}/mix.wav --no-master -q"
    done
  done
fi
echo "work files in $WORK"
