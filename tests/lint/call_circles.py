#!/usr/bin/env python3
"""No call circles between source files: fails when a.c calls a function of b.c and b.c calls
one of a.c. Reads the symbols of the built objects (nm), so it sees calls through macros too.

Usage: call_circles.py OBJ...   (exit 1 and one line per circle when there is one)
"""
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) global symbols of one object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def main(objs):
    owner, uses = {}, {}
    for o in objs:
        defined, used = symbols(o)
        uses[o] = used
        for s in defined:
            owner.setdefault(s, o)
    calls = {o: {} for o in objs}  # caller -> callee -> symbols
    for o, used in uses.items():
        for s in used:
            callee = owner.get(s)
            if callee and callee != o:
                calls[o].setdefault(callee, []).append(s)
    circles = []
    for a in objs:
        for b, syms in calls[a].items():
            if a < b and a in calls.get(b, {}):
                circles.append(f"{a} -> {b} ({', '.join(sorted(syms)[:3])}) and back "
                               f"({', '.join(sorted(calls[b][a])[:3])})")
    for c in circles:
        print("call circle:", c)
    return 1 if circles else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
