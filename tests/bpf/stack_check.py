#!/usr/bin/env python3
"""The kernel refuses a program whose deepest BPF-to-BPF call chain needs more than 512 bytes of
stack, each frame rounded up: to 16 bytes on recent kernels with a JIT, to 32 on older ones (Linux
6.1, the oldest the docs promise). This machine's kernel may accept a chain that 6.1 refuses, so
this check computes every program's deepest chain from the object itself (llvm-objdump: each
function's frame from its r10 offsets, the calls from the call instructions) with 32-byte
rounding, and fails when one passes 512.

usage: stack_check.py OBJECT.bpf.o..."""
import functools
import re
import subprocess
import sys

LIMIT = 512


def main(obj):
    syms = subprocess.run(["llvm-objdump", "-t", obj], capture_output=True, text=True,
                          check=True).stdout
    text_fn, progs = {}, []
    for line in syms.splitlines():
        m = re.match(r"^([0-9a-f]+) ([lg])\s+F (\S+)\s+[0-9a-f]+ (\S+)$", line)
        if not m:
            continue
        if m.group(3) == ".text":
            text_fn[int(m.group(1), 16) // 8] = m.group(4)
        elif m.group(2) == "g":
            progs.append(m.group(4))
    dump = subprocess.run(["llvm-objdump", "-dr", "--no-show-raw-insn", obj],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    calls, frame, sec, fn = {}, {}, None, None
    for i, line in enumerate(dump):
        m = re.match(r"^Disassembly of section (\S+):", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^[0-9a-f]+ <(\S+)>:", line)
        if m and not m.group(1).startswith("LBB"):
            fn = m.group(1)
            calls.setdefault(fn, set())
            frame.setdefault(fn, 0)
            continue
        if fn is None:
            continue
        m = re.match(r"^\s*(\d+):\s+call (-?\d+)\s*$", line)
        if m:
            idx, imm = int(m.group(1)), int(m.group(2))
            reloc = re.search(r"R_BPF_64_32\s+(\S+)", dump[i + 1] if i + 1 < len(dump) else "")
            if reloc:  # a global function, a kfunc, or a static one through .text's symbol
                calls[fn].add(text_fn.get(imm + 1) if reloc.group(1) == ".text" else reloc.group(1))
            elif sec == ".text":
                calls[fn].add(text_fn.get(idx + imm + 1))
        for off in re.findall(r"r10 - (0x[0-9a-f]+|\d+)", line):
            frame[fn] = max(frame[fn], int(off, 0))

    @functools.lru_cache(None)
    def deepest(f):
        size, path = 0, ()
        for c in calls.get(f, ()):
            if c in frame:
                s, p = deepest(c)
                if s > size:
                    size, path = s, p
        return (max(frame[f], 1) + 31) // 32 * 32 + size, (f,) + path

    bad = 0
    for p in progs:
        size, path = deepest(p)
        chain = " -> ".join(f"{f}({frame[f]})" for f in path)
        print(f"stack: {p}: {size} of {LIMIT} bytes (32-byte frames): {chain}")
        bad |= size > LIMIT
    if bad:
        print("stack_check: FAIL: a call chain passes the kernel's 512 bytes on kernels that round "
              "frames to 32 bytes (Linux 6.1)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(max(main(obj) for obj in sys.argv[1:]))
