#!/usr/bin/env python3
"""Per-song table of what `mixdown mix` reports about its own mixes (acceptance 3-5 of the mix
issue): masking among the tracks as they arrived and in the mix, the image of the mix before
mastering, and the restraint of effects and EQ.

  mixreport.py OUT_ROOT        (OUT_ROOT/<song>/report.json, e.g. a mixeval work folder's out/)
"""
import json
import os
import sys

root = sys.argv[1]
print(f"{'song':32s} {'mask in%':>8s} {'mask mix%':>9s} {'lowcorr':>7s} {'mono LU':>7s} {'width':>6s} {'bal dB':>6s} {'ret LU':>6s} {'EQ dB':>5s}")
bad = []
for s in sorted(os.listdir(root)):
    p = os.path.join(root, s, "report.json")
    if not os.path.exists(p):
        continue
    r = json.load(open(p))
    mi, mm = r["masking_input"]["index_pct"], r["masking_mix"]["index_pct"]
    im, rs = r["image"], r["restraint"]
    non_bass = sum(1 for t in r["tracks"] if t["role"] not in ("bass", "kick"))
    row = (mi, mm, im["low_end_correlation"], im["mono_loss_lu"], im["width"], im["balance_db"],
           rs["returns_below_dry_lu"], rs["max_eq_move_db"])
    print(f"{s:32s} {mi:8.1f} {mm:9.1f} {row[2]:7.3f} {row[3]:7.2f} {row[4]:6.3f} {row[5]:+6.2f} {row[6]:6.1f} {row[7]:5.1f}")
    if not mm < mi:
        bad.append(f"{s}: masking not lower")
    if row[2] < 0.9:
        bad.append(f"{s}: low-end correlation {row[2]:.3f}")
    if row[3] > 3:
        bad.append(f"{s}: mono loss {row[3]:.2f} LU")
    if non_bass >= 3 and not row[4] > 0:
        bad.append(f"{s}: mono mix")
    if abs(row[5]) > 1:
        bad.append(f"{s}: balance {row[5]:+.2f} dB")
    if row[6] < 12:
        bad.append(f"{s}: returns only {row[6]:.1f} LU under the dry mix")
    if row[7] > 9:
        bad.append(f"{s}: EQ move {row[7]:.1f} dB")
print("all within bounds" if not bad else "OUT OF BOUNDS: " + "; ".join(bad))
