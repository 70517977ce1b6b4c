#!/usr/bin/env python3
"""Summarises tests/bench/ab.sh's raw lines: `SIDE ROUND ROW...`, where SIDE is base or new and
ROW is a bench line (`xdpdeny 4 10000 48.0 164.1 121.5 114.0`, `newflow 10000 88.4 ...`). A row's
key is its leading tokens without a decimal point (name, family, rule count); the figures after
it are its columns. For every key and column: the median per side, and the median and range of
the per-round paired differences new - base, the figure to read on a noisy machine."""
import collections
import statistics
import sys


def parse(path):
    rows = collections.defaultdict(lambda: collections.defaultdict(dict))
    for line in open(path):
        f = line.split()
        if len(f) < 4 or f[0] not in ("base", "new"):
            continue
        side, rnd, row = f[0], int(f[1]), f[2:]
        n = next((i for i, tok in enumerate(row) if "." in tok), len(row))
        if n == len(row):
            continue
        key = " ".join(row[:n])
        try:
            rows[key][rnd][side] = [float(x) for x in row[n:]]
        except ValueError:
            continue
    return rows


def main():
    if len(sys.argv) != 2:
        print("usage: ab_summary.py RAW", file=sys.stderr)
        return 2
    rows = parse(sys.argv[1])
    print("%-28s %3s %9s %9s %9s  %s" % ("row", "col", "base", "new", "new-base", "paired range (rounds)"))
    for key in sorted(rows):
        rounds = rows[key]
        ncol = max(len(v) for r in rounds.values() for v in r.values())
        for c in range(ncol):
            base = [r["base"][c] for r in rounds.values() if "base" in r and len(r["base"]) > c]
            new = [r["new"][c] for r in rounds.values() if "new" in r and len(r["new"]) > c]
            diff = [r["new"][c] - r["base"][c] for r in rounds.values()
                    if "base" in r and "new" in r and len(r["base"]) > c and len(r["new"]) > c]
            if not base or not new or not diff:
                continue
            print("%-28s %3d %9.1f %9.1f %+9.1f  %+.1f..%+.1f (%d)" % (
                key, c + 1, statistics.median(base), statistics.median(new),
                statistics.median(diff), min(diff), max(diff), len(diff)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
