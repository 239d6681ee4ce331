#!/bin/bash
# make demo: build the module for one kernel (default: the newest 6.12),
# boot it in a two-node QEMU guest, load it and allocate a 4 MiB buffer on
# each node with numabufctl, which checks every page's node with
# move_pages(2) and the buffer's contiguity with /proc/self/pagemap.
#
#   tests/demo.sh [KERNEL-LINE]        e.g. tests/demo.sh 6.1
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

if [[ ${1:-} == --in-guest ]]; then
	ko=$2
	insmod "$ko"
	echo "# numabufctl nodes"
	tools/numabufctl nodes
	for node in $(tools/numabufctl -j nodes | python3 -c \
		'import json, sys; print(" ".join(str(n["id"]) for n in json.load(sys.stdin)))'); do
		echo
		echo "# numabufctl alloc --size 4M --node $node --verify"
		tools/numabufctl alloc --size 4M --node "$node" --verify
	done
	echo
	echo "# /sys/kernel/debug/numabuf/stats after the buffers are freed"
	cat /sys/kernel/debug/numabuf/stats
	rmmod numabuf
	exit 0
fi

line=${1:-6.12}
kver=$(tests/qemu/guest-run --resolve "$line")
make --no-print-directory module KVER="$kver"
make --no-print-directory -C tools
echo "== booting $kver in a two-node guest"
exec tests/qemu/guest-run "$kver" -- tests/demo.sh --in-guest "build/$kver/numabuf.ko"
