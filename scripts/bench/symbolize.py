#!/usr/bin/env python3
"""Symbolises the frames that malloc-count.c prints (`binary(+0xOFFSET)` or `lib(sym+0x..)`) with
addr2line, for the inference-worker binary; other lines pass through. Usage: symbolize.py BINARY < log"""
import re, subprocess, sys, os

binary = sys.argv[1]
frame = re.compile(r"^(?P<obj>[^(\s]+)\((?P<sym>[^)+]*)\+0x(?P<off>[0-9a-f]+)\)\s*\[0x[0-9a-f]+\]$")
lines = [l.rstrip("\n") for l in sys.stdin if l.startswith("[malloc-count]") or frame.match(l.strip())]
offsets = sorted({m.group("off") for l in lines if (m := frame.match(l.strip())) and os.path.basename(m.group("obj")) == os.path.basename(binary) and not m.group("sym")})
names = {}
if offsets:
    out = subprocess.run(["addr2line", "-f", "-e", binary] + ["0x" + o for o in offsets], capture_output=True, text=True).stdout.split("\n")
    for i, o in enumerate(offsets):
        names[o] = out[2 * i] if 2 * i < len(out) else "?"
for l in lines:
    m = frame.match(l.strip())
    if not m:
        print(l)
        continue
    obj = os.path.basename(m.group("obj"))
    sym = m.group("sym") or names.get(m.group("off"), "?")
    print(f"      {obj}: {sym}")
