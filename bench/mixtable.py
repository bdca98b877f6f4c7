#!/usr/bin/env python3
"""Formats mixeval.py's JSON lines as a per-song table (reads stdin)."""
import json
import sys

for line in sys.stdin:
    if line.startswith("{"):
        r = json.loads(line)
        mix = r.get("mix", float("nan"))
        print(f"{r['song']:32s} stems {r['stems']:2d}  hot {r['hot']:5.2f}  equal {r['equal']:5.2f}  mix {mix:5.2f}")
    else:
        print(line.rstrip())
