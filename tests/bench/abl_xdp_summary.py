#!/usr/bin/env python3
"""Summary of tests/bench/abl_xdp.sh's raw lines: per (variant, family, rules), the median over the
rounds of the mean and of the per-packet median ns added to the bare drop, and the median of the
per-round paired differences against variant "none" (rounds start at each "none ... 4" line)."""
import statistics as st
import sys

rounds, cur = [], {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 8 or f[1] != "xdpdeny":
        continue
    key = (f[0], f[2], f[3])
    if f[0] == "none" and f[2] == "4" and key in cur:
        rounds.append(cur)
        cur = {}
    cur[key] = (float(f[6]), float(f[7]))
if cur:
    rounds.append(cur)
keys = sorted({k for r in rounds for k in r}, key=lambda k: (int(k[2]), k[1], k[0] != "none", k[0]))
for k in keys:
    x = [r[k] for r in rounds if k in r]
    line = "%-9s family %s rules %-6s n=%2d added mean %6.1f median %6.1f" % (
        k[0], k[1], k[2], len(x), st.median(a[0] for a in x), st.median(a[1] for a in x))
    base = ("none", k[1], k[2])
    d = [(r[k][0] - r[base][0], r[k][1] - r[base][1]) for r in rounds if k in r and base in r]
    if k[0] != "none" and d:
        line += " | paired vs none: mean %+6.1f median %+6.1f" % (
            st.median(a[0] for a in d), st.median(a[1] for a in d))
    print(line)
