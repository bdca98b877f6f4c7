#!/usr/bin/env python3
"""Reference matching on the corpus, mixdown against Matchering, measured independently.

    PY=$(bash ../shared/bench/setup.sh)
    $PY bench/reference_corpus.py [--work DIR] [--only undo|cross|amounts]

1. Undo: every master in ../shared/corpus/masters longer than 20 s is degraded with ffmpeg
   (low shelf +4 dB at 120 Hz, high shelf -5 dB at 6 kHz, width halved, -10 dB), then mastered
   with the original as the reference, by mixdown and by Matchering (../shared/bench/peers.sh).
   Each output is measured against the original with ../shared/bench/measure.py --ref:
   1/3-octave spectral distance (lsd_to_ref_dB), loudness difference, 4x true peak.
2. Cross: pairs of different masters (song -> reference), the same columns, distance to the
   reference.
3. Amounts: --match tone=0 (distance to the input) and tone=0.5 (between) on the cross pairs.

Matchering's outputs are cached in WORK (they take a while); mixdown runs every time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
MASTERS = os.path.join(SHARED, "corpus", "masters")
MEASURE = os.path.join(SHARED, "bench", "measure.py")
PEERS = os.path.join(SHARED, "bench", "peers.sh")
DEGRADE = ("lowshelf=f=120:g=4,highshelf=f=6000:g=-5,"
           "pan=stereo|c0=0.75*c0+0.25*c1|c1=0.25*c0+0.75*c1,volume=-10dB")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def duration(path):
    return float(run(["soxi", "-D", path]).strip())


def measure(files, ref):
    out = run([sys.executable, MEASURE, *files, "--ref", ref, "--no-ffmpeg"])
    res = json.loads(out)
    return res if isinstance(res, list) else [res]


def matchering(song, ref, outdir):
    out = os.path.join(outdir, "matchering_24.wav")
    if not os.path.exists(out):
        subprocess.run(["bash", PEERS, song, ref, outdir, "1"], capture_output=True, text=True)
    return out if os.path.exists(out) else None


def mixdown(binary, song, ref, out, extra=()):
    run([binary, "master", song, "--reference", ref, "-o", out, "-q", *extra])
    return out


def row(name, m, ref_lufs=None):
    i = m["pyln"]["I_LUFS"]
    d = "" if ref_lufs is None or i is None else f"{i - ref_lufs:+6.2f}"
    return f"{m['lsd_to_ref_dB']:6.2f} {d:>6} {m['TP_dBTP']:+6.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("WORK", "/tmp/mixdown-refbench"))
    ap.add_argument("--only", choices=["undo", "cross", "amounts"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "mixdown"))
    a = ap.parse_args()
    if a.bin == os.path.join(ROOT, "target", "release", "mixdown"):
        run(["cargo", "build", "--release", "-q", "-p", "mixdown-cli"], cwd=ROOT)
    os.makedirs(a.work, exist_ok=True)
    names = sorted(f[:-5] for f in os.listdir(MASTERS) if f.endswith(".flac")
                   and duration(os.path.join(MASTERS, f)) > 20.0)

    if a.only in (None, "undo"):
        print("1. Undo test (degraded master, the original as reference); distance to the original")
        print(f"{'master':<40} {'mixdown: LSD   dI     TP':>24}   {'Matchering: LSD   dI     TP':>27}   degraded LSD")
        ours, theirs, d_lufs = [], [], []
        for n in names:
            orig = os.path.join(MASTERS, n + ".flac")
            d = os.path.join(a.work, "undo", n)
            os.makedirs(d, exist_ok=True)
            deg = os.path.join(d, "degraded.wav")
            if not os.path.exists(deg):
                run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", orig, "-af", DEGRADE,
                     "-c:a", "pcm_f32le", deg])
            mg = matchering(deg, orig, os.path.join(d, "peers"))
            md = mixdown(a.bin, deg, orig, os.path.join(d, "mixdown.wav"))
            files = [orig, deg, md] + ([mg] if mg else [])
            res = measure(files, orig)
            ol = res[0]["pyln"]["I_LUFS"]
            m_row = row("mixdown", res[2], ol)
            g_row = row("matchering", res[3], ol) if mg else "n/a"
            ours.append(res[2])
            d_lufs.append(abs(res[2]["pyln"]["I_LUFS"] - ol))
            if mg:
                theirs.append(res[3])
            print(f"{n:<40} {m_row:>24}   {g_row:>27}   {res[1]['lsd_to_ref_dB']:6.2f}")
        print(f"{'mean LSD / worst |dI| / worst TP':<40} "
              f"{statistics.mean(r['lsd_to_ref_dB'] for r in ours):6.2f} "
              f"{max(d_lufs):6.2f} "
              f"{max(r['TP_dBTP'] for r in ours):+6.2f}   "
              + (f"{statistics.mean(r['lsd_to_ref_dB'] for r in theirs):6.2f} {'':>6} "
                 f"{max(r['TP_dBTP'] for r in theirs):+6.2f}" if theirs else ""))
        print()

    pairs = [(names[i], names[(i + k) % len(names)]) for k in (1, 3) for i in range(len(names))]
    if a.only in (None, "cross"):
        print("2. Cross-song matching (song -> reference); distance to the reference")
        print(f"{'song -> reference':<58} {'mixdown: LSD   dI     TP':>24}   {'Matchering: LSD   dI     TP':>27}   input LSD")
        ours, theirs = [], []
        for s, r in pairs:
            song, ref = os.path.join(MASTERS, s + ".flac"), os.path.join(MASTERS, r + ".flac")
            d = os.path.join(a.work, "cross", f"{s}__{r}")
            os.makedirs(d, exist_ok=True)
            mg = matchering(song, ref, os.path.join(d, "peers"))
            md = mixdown(a.bin, song, ref, os.path.join(d, "mixdown.wav"))
            res = measure([ref, song, md] + ([mg] if mg else []), ref)
            rl = res[0]["pyln"]["I_LUFS"]
            ours.append(res[2])
            if mg:
                theirs.append(res[3])
            label = f"{s[:27]} -> {r[:27]}"
            print(f"{label:<58} {row('', res[2], rl):>24}   {row('', res[3], rl) if mg else 'n/a':>27}   {res[1]['lsd_to_ref_dB']:6.2f}")
        print(f"{'mean LSD, worst TP':<58} {statistics.mean(r['lsd_to_ref_dB'] for r in ours):6.2f} {'':>6} "
              f"{max(r['TP_dBTP'] for r in ours):+6.2f}   "
              + (f"{statistics.mean(r['lsd_to_ref_dB'] for r in theirs):6.2f} {'':>6} "
                 f"{max(r['TP_dBTP'] for r in theirs):+6.2f}" if theirs else ""))
        print()

    if a.only in (None, "amounts"):
        print("3. Amounts (cross pairs): distance of the output to the INPUT and to the REFERENCE")
        print(f"{'song -> reference':<58} {'tone=0: in':>10} {'tone=0,width=0: in':>19} {'tone=.5: in  ref':>17} {'tone=1: in  ref':>16}")
        for s, r in pairs[:6]:
            song, ref = os.path.join(MASTERS, s + ".flac"), os.path.join(MASTERS, r + ".flac")
            d = os.path.join(a.work, "amounts", f"{s}__{r}")
            os.makedirs(d, exist_ok=True)
            outs = {}
            for tag, m in [("t0", "tone=0"), ("t0w0", "tone=0,width=0"), ("t05", "tone=0.5"), ("t1", "tone=1")]:
                outs[tag] = mixdown(a.bin, song, ref, os.path.join(d, tag + ".wav"), ["--match", m])
            to_in = {k: v["lsd_to_ref_dB"] for k, v in zip(outs, measure(list(outs.values()), song))}
            to_ref = {k: v["lsd_to_ref_dB"] for k, v in zip(outs, measure(list(outs.values()), ref))}
            label = f"{s[:27]} -> {r[:27]}"
            print(f"{label:<58} {to_in['t0']:10.2f} {to_in['t0w0']:19.2f} {to_in['t05']:11.2f} {to_ref['t05']:5.2f} "
                  f"{to_in['t1']:10.2f} {to_ref['t1']:5.2f}")


if __name__ == "__main__":
    main()
