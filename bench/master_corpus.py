#!/usr/bin/env python3
"""Acceptance run for `mixdown master` on the shared corpus.

For every file in CORPUS/masters and every CORPUS/multitrack/*/mix.flac, and for each target,
masters the file with mixdown, measures input and output with the independent meter
(../shared/bench/measure.py: pyloudnorm, 4x true peak, ffmpeg ebur128), and prints:
  * per target, the worst loudness error (both meters) and the highest true peak (both meters)
  * the smallest LRA kept (output LRA / input LRA, pyloudnorm)
  * every row that misses, with mixdown's own verdict (from its JSON report)

usage: python3 bench/master_corpus.py [--corpus ../shared/corpus] [--bin target/release/mixdown]
                                      [--targets streaming,apple,broadcast,podcast,cd] [--out DIR]
Run it with the venv python that ../shared/bench/setup.sh prints.
"""
import argparse, glob, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"streaming": (-14, -1), "apple": (-16, -1), "youtube": (-14, -1), "cd": (-9, -0.3),
           "broadcast": (-23, -1), "podcast": (-16, -1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "../../shared/corpus"))
    ap.add_argument("--bin", default=os.path.join(HERE, "../target/release/mixdown"))
    ap.add_argument("--targets", default="streaming,apple,broadcast,podcast,cd")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.corpus, "../bench"))
    import measure  # the independent meter

    files = sorted(glob.glob(os.path.join(a.corpus, "masters/*.flac"))) + \
        sorted(glob.glob(os.path.join(a.corpus, "multitrack/*/mix.flac")))
    out = a.out or tempfile.mkdtemp(prefix="mixdown-corpus-")
    os.makedirs(out, exist_ok=True)
    inputs = {}
    for f in files:
        inputs[f], _ = measure.measure(f, use_ffmpeg=False)
    rows = []
    for t in a.targets.split(","):
        lufs, tp = TARGETS[t]
        for f in files:
            name = f.split("/")[-2] if f.endswith("mix.flac") else os.path.basename(f)[:-5]
            o = os.path.join(out, f"{name}.{t}.wav")
            rep = o[:-4] + ".json"
            p = subprocess.run([a.bin, "master", f, "-o", o, "--target", t, "--report", rep, "--quiet"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                rows.append(dict(t=t, name=name, err=p.stderr.strip()))
                continue
            m, _ = measure.measure(o)
            r = json.load(open(rep))
            i_in = inputs[f]["pyln"]["LRA_LU"]
            lra_o = m["pyln"]["LRA_LU"]
            rows.append(dict(t=t, name=name, I=m["pyln"]["I_LUFS"], Iff=m["ffmpeg"]["I_LUFS"], TP=m["TP_dBTP"],
                             TPff=m["ffmpeg"]["TP_dBTP"], lra_in=i_in, lra_out=lra_o,
                             kept=(lra_o / i_in if i_in and lra_o is not None and i_in > 0 else None),
                             on=r["verdict"]["on_target"], notes=r["verdict"]["notes"],
                             lim=r["render"]["loudness"]["limiter_gr"]["max_db"],
                             loss=r["render"]["loudness"]["limiting_loss_lu"],
                             glue=(r["render"]["glue_gain_reduction"] or {}).get("max_db"),
                             lufs=lufs, tp=tp))
    print(f"{'target':10s} {'file':38s} {'I_pyln':>7s} {'I_ff':>6s} {'TP_4x':>6s} {'TP_ff':>6s} {'LRAin':>6s} {'LRAout':>6s} {'kept':>5s} {'limGR':>5s} {'loss':>5s} {'glue':>5s} ok")
    for r in rows:
        if "err" in r:
            print(f"{r['t']:10s} {r['name']:38s} ERROR {r['err']}")
            continue
        f = lambda v, n=1: "-" if v is None else f"{v:.{n}f}"
        print(f"{r['t']:10s} {r['name']:38s} {f(r['I'],2):>7s} {f(r['Iff']):>6s} {f(r['TP'],2):>6s} {f(r['TPff']):>6s} "
              f"{f(r['lra_in']):>6s} {f(r['lra_out']):>6s} {f(r['kept'],2):>5s} {f(r['lim']):>5s} {f(r['loss']):>5s} {f(r['glue']):>5s} {'y' if r['on'] else 'NO'}")
    print("\nWorst cases per target (independent meters):")
    print(f"{'target':10s} {'max |I err| pyln':>17s} {'max |I err| ff':>15s} {'max TP 4x':>10s} {'max TP ff':>10s} {'min LRA kept':>13s} {'on target':>10s}")
    for t in a.targets.split(","):
        rs = [r for r in rows if r["t"] == t and "err" not in r]
        if not rs:
            continue
        lufs, tp = TARGETS[t]
        e1 = max(abs(r["I"] - lufs) for r in rs)
        e2 = max(abs(r["Iff"] - lufs) for r in rs)
        t1 = max(r["TP"] for r in rs)
        t2 = max(r["TPff"] for r in rs)
        k = min((r["kept"] for r in rs if r["kept"] is not None), default=None)
        on = sum(1 for r in rs if r["on"])
        print(f"{t:10s} {e1:17.2f} {e2:15.1f} {t1:10.2f} {t2:10.1f} {('-' if k is None else f'{k:.2f}'):>13s} {on:>5d}/{len(rs)}")
    misses = [r for r in rows if "err" not in r and not r["on"]]
    if misses:
        print("\nNot on target (mixdown's own words):")
        for r in misses:
            print(f"  {r['t']} {r['name']}: {' | '.join(r['notes'])}")
    print(f"\noutputs in {out}")


if __name__ == "__main__":
    main()
