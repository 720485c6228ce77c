#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Footprint of the MPS2 image from its linker map: flash (code, constants,
initialised data) and static RAM (data, bss; the stack apart) per part,
against the issue's targets. Prints, and asserts nothing.

  size.py IMAGE.map

Parts: the engine (libxs2s.a), lwIP (liblwip.a), the lwIP port
(port_lwip.o), the board (port/mps2/*.o), wolfSSL (libwolfssl.a),
Mini-XML (libmxml-xs2s.a), newlib and libgcc (the rest). Sizes are the
input sections the linker kept (after --gc-sections)."""
import re
import sys

KIB = 1024
TARGETS = (('flash', 200 * KIB), ('static RAM', 128 * KIB), ('engine text', 40 * KIB))
PARTS = (('engine', r'libxs2s\.a'), ('lwIP', r'liblwip\.a'), ('lwIP port', r'port_lwip\.o'),
         ('board', r'port/mps2/'), ('wolfSSL', r'libwolfssl\.a'), ('Mini-XML', r'libmxml-xs2s\.a'),
         ('newlib, libgcc', r'.'))
OUT_SECTIONS = {'.text': 'text', '.ARM.exidx': 'text', '.data': 'data', '.bss': 'bss', '.stack': 'stack'}


def part_of(path):
    for name, rx in PARTS:
        if re.search(rx, path):
            return name
    return PARTS[-1][0]


def parse(path):
    sizes = {name: {'text': 0, 'data': 0, 'bss': 0, 'stack': 0} for name, _ in PARTS}
    out, pending, in_map = None, None, False
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('Linker script and memory map'):
                in_map = True
                continue
            if not in_map:
                continue
            m = re.match(r'^(\.[\w.]+)\s', line) or re.match(r'^(\.[\w.]+)$', line)
            if m and not line.startswith(' '):
                out = OUT_SECTIONS.get(m.group(1))
                pending = None
                continue
            if out is None:
                continue
            m = re.match(r'^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', line)
            if m:
                sizes[part_of(m.group(4))][out] += int(m.group(3), 16)
                pending = None
                continue
            m = re.match(r'^ (\.\S+|COMMON)$', line)
            if m:
                pending = True
                continue
            m = re.match(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', line)
            if m and pending:
                sizes[part_of(m.group(3))][out] += int(m.group(2), 16)
                pending = None
    return sizes


def main():
    sizes = parse(sys.argv[1])
    with open(sys.argv[1]) as f:
        text = f.read()
    # The output sections' own sizes; the difference to the parts' sum is fill and
    # the strings the linker merged (counted once per object above).
    head = {k: 0 for k in ('text', 'data', 'bss', 'stack')}
    for name, kind in OUT_SECTIONS.items():
        m = re.search(r'^' + re.escape(name) + r'\s+0x[0-9a-f]+\s+0x([0-9a-f]+)', text, re.M)
        head[kind] += int(m.group(1), 16) if m else 0
    stack = head['stack']
    sizes['(merged, fill)'] = {k: head[k] - sum(sizes[n][k] for n, _ in PARTS) for k in head}
    print(f'{"part":<16} {"text+rodata":>12} {"data":>8} {"bss":>9}   (flash = text+data, RAM = data+bss)')
    tot = {'text': 0, 'data': 0, 'bss': 0}
    for name in [n for n, _ in PARTS] + ['(merged, fill)']:
        s = sizes[name]
        print(f'{name:<16} {s["text"]:>12,} {s["data"]:>8,} {s["bss"]:>9,}')
        for k in tot:
            tot[k] += s[k]
    print(f'{"total":<16} {tot["text"]:>12,} {tot["data"]:>8,} {tot["bss"]:>9,}   stack {stack:,} (one, no threads)')
    flash, ram, engine = tot['text'] + tot['data'], tot['data'] + tot['bss'], sizes['engine']['text']
    print()
    for (what, target), value in zip(TARGETS, (flash, ram, engine)):
        verdict = 'met' if value <= target else f'MISSED by {value - target:,} bytes'
        print(f'  {what:<12} {value:>9,} bytes ({value / KIB:.1f} KiB)  target <= {target // KIB} KiB: {verdict}')
    print(f'  {"RAM + stack":<12} {ram + stack:>9,} bytes ({(ram + stack) / KIB:.1f} KiB)')


if __name__ == '__main__':
    main()
