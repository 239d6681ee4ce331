#!/bin/bash
# Kernel-side review every change must pass: checkpatch --strict and sparse
# on the module, and a W=1 build against every installed kernel's headers
# (6.1 and 6.12, each in Debian's amd64, -cloud and -rt flavours).
# checkpatch comes from Debian's linux-source-6.1 tarball.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail=0

src=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
[ -n "$src" ] || { echo "lint: linux-source-6.1 is not installed" >&2; exit 1; }
cp_dir=build/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ] || [ "$src" -nt "$cp_dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$cp_dir"
	tar -xf "$src" -C "$cp_dir" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	touch "$cp_dir/scripts/checkpatch.pl"
fi

echo "== checkpatch --strict"
if ! "$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES -f kmod/*.c kmod/*.h kmod/uapi/linux/numabuf.h \
	tests/modules/*.c tests/modules/*.h; then
	fail=1
fi

kvers=$(ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V)
[ -n "$kvers" ] || { echo "lint: no kernel headers installed" >&2; exit 1; }
# Every flavour of both lines must be there: a lint that silently skips one
# would let a warning on it through.
for line in 6.1 6.12; do
	for flavour in amd64 cloud-amd64 rt-amd64; do
		if ! printf '%s\n' $kvers | grep -qE "^${line//./\\.}[.-].*[0-9]-$flavour\$"; then
			echo "lint: no $line $flavour headers (scripts/install-deps.sh installs them)" >&2
			fail=1
		fi
	done
done
for k in $kvers; do
	echo "== W=1 and sparse against $k"
	log=$(mktemp)
	rm -rf "build/lint-$k"
	if ! make --no-print-directory module KVER="$k" BUILD="$top/build/lint" \
		KBUILD_ARGS="W=1 C=2 CHECK=sparse" >"$log" 2>&1; then
		cat "$log"
		fail=1
	elif grep -E 'warning:|error:' "$log"; then
		fail=1
	fi
	# The test modules (tests/modules), held to the same standard.
	if ! make --no-print-directory test-modules KVER="$k" BUILD="$top/build/lint" \
		KBUILD_ARGS="W=1 C=2 CHECK=sparse" >"$log" 2>&1; then
		cat "$log"
		fail=1
	elif grep -E 'warning:|error:' "$log"; then
		fail=1
	fi
	rm -f "$log"
done

if [ "$fail" -ne 0 ]; then
	echo "lint: FAILED"
	exit 1
fi
echo "lint: clean"
