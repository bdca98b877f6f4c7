#!/usr/bin/env python3
"""Fit the balance priors (crates/mixdown-core/src/mix/priors.rs) to the corpus songs' own balance.

  fit_priors.py CORPUS_DIR REPORTS_ROOT

REPORTS_ROOT/<song>/report.json are mixdown mix reports of the corpus songs (e.g. the work folder
of bench/mix_corpus.sh: WORK/bal1/out); they give each track's role and presence as mixdown
decided them. The song's own balance (each stem's loudness relative to the sum, from balance.json)
is the target. The model: level = role_level[role] + presence[presence] + shared(count) + song
offset (free per song; only differences within a song matter). Prints the current priors' error,
the least-squares fit and its leave-one-song-out error (mean absolute error per stem, then per
song, as mixeval.py scores it).
"""
import json
import math
import os
import sys

import numpy as np
import pyloudnorm as pyln
import soundfile as sf


def lufs(x, sr):
    v = pyln.Meter(sr).integrated_loudness(x)
    return v if math.isfinite(v) else None


def ref_balance(song_dir):
    g = json.load(open(os.path.join(song_dir, "balance.json")))["gain_db"]
    stems, sr = {}, None
    for k, gd in g.items():
        x, sr = sf.read(os.path.join(song_dir, k + ".flac"), always_2d=True)
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        stems[k] = x * 10 ** (-gd / 20)
    n = max(v.shape[0] for v in stems.values())
    stems = {k: np.pad(v, ((0, n - v.shape[0]), (0, 0))) for k, v in stems.items()}
    lt = lufs(sum(stems.values()), sr)
    out = {}
    for k, v in stems.items():
        l = lufs(v, sr)
        if l is not None and l > -70:
            out[k] = l - lt
    return out


def main():
    corpus, reports = sys.argv[1], sys.argv[2]
    rows = []  # (song, stem, role, presence, count, ref)
    root = os.path.join(corpus, "multitrack")
    for s in sorted(os.listdir(root)):
        rp = os.path.join(reports, s, "report.json")
        if not os.path.exists(rp):
            continue
        rep = json.load(open(rp))
        ref = ref_balance(os.path.join(root, s))
        tr = {t["name"]: t for t in rep["tracks"]}
        roles = [tr[k]["role"] for k in ref if k in tr]
        for k, v in ref.items():
            if k in tr:
                rows.append((s, k, tr[k]["role"], tr[k]["presence"], roles.count(tr[k]["role"]), v))
    songs = sorted({r[0] for r in rows})
    roles = sorted({r[2] for r in rows})
    pres = ["lead", "background"]

    def design(rs):
        X = np.zeros((len(rs), len(roles) + len(pres) + 1 + len(songs)))
        for i, r in enumerate(rs):
            X[i, roles.index(r[2])] = 1
            if r[3] in pres:
                X[i, len(roles) + pres.index(r[3])] = 1
            X[i, len(roles) + len(pres)] = -5 * math.log10(r[4]) if r[4] > 1 else 0
            X[i, len(roles) + len(pres) + 1 + songs.index(r[0])] = 1
        return X

    def fit(rs, ridge=0.3, shared_fixed=True):
        X = design(rs)
        y = np.array([r[5] for r in rs])
        if shared_fixed:  # the shared-role slope stays at 1 (half the sum)
            y = y - X[:, len(roles) + len(pres)]
            X[:, len(roles) + len(pres)] = 0
        # ridge toward 0 on role and presence terms (not on song offsets)
        p = X.shape[1]
        R = np.zeros((p, p))
        for j in range(len(roles) + len(pres)):
            R[j, j] = ridge
        beta = np.linalg.lstsq(X.T @ X + R, X.T @ y, rcond=None)[0]
        return beta

    def predict(beta, rs, known_roles):
        out = []
        for r in rs:
            v = beta[roles.index(r[2])] if r[2] in known_roles else 0.0
            if r[3] in pres:
                v += beta[len(roles) + pres.index(r[3])]
            v += -5 * math.log10(r[4]) if r[4] > 1 else 0
            out.append(v)
        return np.array(out)

    def song_error(pred, rs):
        # like mixeval: both sides relative to their own sum -> compare after removing the mean
        # difference in the power domain; approximate with the best constant offset (median)
        y = np.array([r[5] for r in rs])
        d = pred - y
        off = np.median(d)
        return float(np.mean(np.abs(d - off)))

    beta = fit(rows)
    print("fit on all songs (LU):")
    base = beta[roles.index("lead_instrument")] if "lead_instrument" in roles else 0
    for j, r in enumerate(roles):
        print(f"  {r:16s} {beta[j] - base:+6.2f}   (n={sum(1 for x in rows if x[2] == r)})")
    for j, p in enumerate(pres):
        print(f"  presence {p:10s} {beta[len(roles) + j]:+6.2f}")
    errs = []
    for s in songs:
        train = [r for r in rows if r[0] != s]
        test = [r for r in rows if r[0] == s]
        b = fit(train)
        known = {r[2] for r in train}
        e = song_error(predict(b, test, known), test)
        errs.append(e)
        print(f"  LOO {s:32s} {e:5.2f}")
    print(f"leave-one-song-out mean error: {np.mean(errs):.2f} LU")


if __name__ == "__main__":
    sys.exit(main())
