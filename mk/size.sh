#!/bin/sh
# SPDX-License-Identifier: MIT
# Flash and static RAM of a program, as a device would carry it.
#
#   size.sh PROGRAM SIZE STRIP [LABEL]
#
# Writes PROGRAM.stripped (what goes into the image) and prints one line: its
# size and the static RAM, .data + .bss as `size` counts them (every writable
# section that takes memory: .data, .sdata, .got, .data.rel.ro, .tdata; .bss,
# .sbss, .tbss). Heap and stack come on top (xs2sd allocates no heap after
# start).
set -eu

prog=${1:?usage: size.sh PROGRAM SIZE STRIP [LABEL]}
size_tool=${2:?usage: size.sh PROGRAM SIZE STRIP [LABEL]}
strip_tool=${3:?usage: size.sh PROGRAM SIZE STRIP [LABEL]}
label=${4:-$prog}

$strip_tool -o "$prog.stripped" "$prog"
stripped=$(wc -c <"$prog.stripped")
set -- $($size_tool -B "$prog" | sed -n 2p)
text=$1 data=$2 bss=$3
printf '%-28s stripped %8d bytes (%5d KiB)   static RAM %8d bytes (%5d KiB: .data %d + .bss %d)\n' \
	"$label" "$stripped" $(( (stripped + 1023) / 1024 )) $(( data + bss )) $(( (data + bss + 1023) / 1024 )) "$data" "$bss"
