#!/usr/bin/env bash
# False alarms of `mixdown analyze` on real music (issue 4 acceptance 2): every corpus master
# and every multitrack song's own mix, as they are and as mixdown masters them (streaming and
# broadcast targets), and every multitrack folder balanced as its composer had it
# (`stems_corpus` does the folders; this script the files). Prints every finding above info.
#
#   bash bench/analyze_corpus.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
C=$SHARED/corpus
WORK=$(mktemp -d /tmp/mixdown-analyzecorpus.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && cargo build --release -q -p mixdown-cli)
BIN=$ROOT/target/release/mixdown
show() { # label, then analyze's arguments
  local label=$1; shift
  "$BIN" analyze "$@" --json > "$WORK/d.json"
  python3 - "$label" "$WORK/d.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
c = d["counts"]
print(f"{label:<58} as {d['judged']['as']:<6} problems {c['problem']} warnings {c['warning']} info {c['info']}")
for f in d["findings"]:
    if f["severity"] != "info":
        print(f"    {f['severity']:<8} {f['rule']:<28} {f['measured']:>9} (threshold {f['threshold']})  {f['title']}")
PY
}
files=("$C"/masters/*.flac "$C"/multitrack/*/mix.flac)
echo "== as they are"
for f in "${files[@]}"; do
  show "${f#"$C"/}" "$f"
done
for t in streaming broadcast; do
  echo "== mixdown master --target $t"
  for f in "${files[@]}"; do
    n=$(echo "${f#"$C"/}" | tr '/' '_')
    "$BIN" master "$f" -o "$WORK/$n.$t.wav" --target "$t" -q
    show "${f#"$C"/} ($t master)" "$WORK/$n.$t.wav" --as master
    rm -f "$WORK/$n.$t.wav"
  done
done
