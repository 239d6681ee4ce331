#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host smoke test of tools/numabuf-bench (the benchmark itself runs in a
# guest: make bench).  Builds it from a scratch copy of the tree with
# -Werror, then checks --help and usage errors, and runs it for two small
# sizes where there is no /dev/numabuf: the numabuf methods must be
# reported unavailable with the reason, malloc-mlock must be measured, and
# the CSV and JSON must hold one row per method and size.
#
# Exit status: 0 pass, 77 skip (no compiler or make), 1 fail.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-cc}
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; fails=$((fails + 1)); }

for tool in "$CC" make; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP bench-smoke: $tool not found"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck source=tests/host/userspace.bash
. "$top/tests/host/userspace.bash"
nb_copy_userspace "$top" "$tmp/src" || exit 1
if ! make -s -C "$tmp/src/tools" WERROR=1 CC="$CC" numabuf-bench >"$tmp/build.log" 2>&1; then
	fail bench_build "$(head -5 "$tmp/build.log")"
	exit 1
fi
pass bench_build
bench=$tmp/src/tools/numabuf-bench

if "$bench" --help >"$tmp/help" 2>&1 && grep -q -- '--sizes' "$tmp/help" &&
	grep -q 'numabuf-pool' "$tmp/help"; then
	pass bench_help
else
	fail bench_help "$(head -3 "$tmp/help")"
fi

st=0
"$bench" --sizes 4K,bogus >/dev/null 2>&1 || st=$?
if [ "$st" = 2 ]; then pass bench_usage_error; else fail bench_usage_error "exit $st, want 2"; fi

# No device: numabuf's four methods unavailable, the others what the host
# gives.  node 0 is online on any Linux machine.
st=0
NUMABUF_DEVICE=$tmp/no-such-device "$bench" --node 0 --sizes 4K,64K \
	--iterations 2 --no-pin --csv "$tmp/out.csv" --json "$tmp/out.json" \
	>"$tmp/out.txt" 2>"$tmp/err.txt" || st=$?
if [ "$st" != 0 ]; then
	fail bench_run "exit $st: $(tail -3 "$tmp/err.txt")"
else
	pass bench_run
	rows=$(($(wc -l <"$tmp/out.csv") - 1))
	methods=$("$bench" --list-methods | wc -l)
	if [ "$rows" = $((methods * 2)) ]; then
		pass bench_csv_rows
	else
		fail bench_csv_rows "$rows rows for $methods methods x 2 sizes"
	fi
	bad=$(awk -F, '$1 ~ /^(numabuf|numabuf-pool|ioctl-pool|ioctl-general)$/ &&
		!($4 == "unavailable" && /ENOENT/)' "$tmp/out.csv")
	if [ -z "$bad" ]; then
		pass bench_no_device_unavailable
	else
		fail bench_no_device_unavailable "$bad"
	fi
	ok=$(awk -F, '$1 == "malloc-mlock" && $4 == "ok" && $6 > 0' "$tmp/out.csv" | wc -l)
	if [ "$ok" = 2 ]; then
		pass bench_malloc_measured
	else
		fail bench_malloc_measured "$(grep malloc-mlock "$tmp/out.csv")"
	fi
	if grep -q '^| malloc-mlock  *| 4KiB' "$tmp/out.txt" &&
		grep -q '^| numabuf  *| 64KiB .*unavailable' "$tmp/out.txt"; then
		pass bench_table
	else
		fail bench_table "$(head -30 "$tmp/out.txt")"
	fi
	if command -v python3 >/dev/null 2>&1; then
		if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["results"]) == int(sys.argv[2])' \
			"$tmp/out.json" "$rows" 2>"$tmp/json.err"; then
			pass bench_json
		else
			fail bench_json "$(tail -2 "$tmp/json.err")"
		fi
	fi
fi

[ "$fails" = 0 ] || { echo "bench-smoke: $fails check(s) failed"; exit 1; }
exit 0
