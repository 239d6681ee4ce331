#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# numabufctl apply: reading and checking the boot configuration
# (/etc/numabuf.conf), which needs no module.  Builds numabufctl from a
# scratch copy of the tree, and a second one whose sysfs node directory is
# a made-up tree (node 0 with memory, node 1 online without memory, node
# 2 offline), then checks that:
#   - a file with one error of each kind (unknown directive, node given
#     twice, node offline, node without memory, bad node, bad size, bad
#     cap, unknown limit, wrong field, low above the size, too many
#     fields, a long line, a limit given twice) gets exactly one
#     "FILE:LINE: message" per bad line, naming the line, and exit 2;
#   - a good file (comments, blank lines, trailing comments, tabs, every
#     directive, KB/MB sizes, none) passes --check silently with exit 0;
#   - a missing file is exit 2, an extra argument a usage error;
#   - without --check and without the module: exit 3, nothing applied.
#
# Exit status: 0 pass, 77 skip (no compiler or make), 1 fail.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-cc}
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; fails=$((fails + 1)); }

for tool in "$CC" make; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP ctl-apply: $tool not found"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-ctl-apply.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck source=tests/host/userspace.bash
. "$top/tests/host/userspace.bash"
src=$tmp/src
nb_copy_userspace "$top" "$src"
if ! make -s -C "$src/lib" WERROR=1 CC="$CC" >"$tmp/build.log" 2>&1 ||
	! make -s -C "$src/tools" WERROR=1 CC="$CC" numabufctl >>"$tmp/build.log" 2>&1; then
	fail build "$(tail -5 "$tmp/build.log")"
	exit 1
fi
pass build

# A made-up sysfs node tree: 0-1 online, node 1 without memory.
sys=$tmp/sysfs
mkdir -p "$sys/node0" "$sys/node1"
echo 0-1 >"$sys/online"
echo 0 >"$sys/has_memory"
printf 'Node 0 MemTotal:        4194304 kB\nNode 0 MemFree:         4000000 kB\n' >"$sys/node0/meminfo"
printf 'Node 1 MemTotal:              0 kB\nNode 1 MemFree:               0 kB\n' >"$sys/node1/meminfo"
# shellcheck disable=SC2046
if ! "$CC" -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror \
	-DSYSFS_NODE="\"$sys\"" -DNUMABUF_VERSION='"test"' \
	-I"$src/tools" -I"$src/lib" -I"$src/kmod/uapi" -o "$tmp/numabufctl-sys" \
	"$src"/tools/ctl/*.c "$src/tools/util.c" "$src/tools/json.c" \
	"$src/tools/verify.c" "$src/lib/libnumabuf.a" \
	$(pkg-config --libs libmnl 2>/dev/null || echo -lmnl) -pthread \
	2>"$tmp/build-sys.log"; then
	fail build_fake_sysfs "$(head -5 "$tmp/build-sys.log")"
	exit 1
fi
ctl=$tmp/numabufctl-sys

# run FILE ARGS...: numabufctl apply ARGS, status in $st, output in files.
run() {
	st=0
	"$ctl" apply "$@" >"$tmp/out" 2>"$tmp/err" || st=$?
}

# ---- one error of each kind ------------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 1100))
cat >"$tmp/bad.conf" <<EOF
# every line below line 2 but the good ones is wrong in its own way
pool 0 64M low 8M
pol 0 1G
pool 0 32M
pool 2 1G
pool 1 1G
pool x 1G
pool 0 1X
limit max 1G
limit max-user 2X
limit min 1G
pool 0 64M high 8M
pool 0 8M low 16M
limit max 2G
pool 0 1G low 1M extra fields here and more
$long
limit max-user none
pool 0
EOF
# line: the message expected there
cat >"$tmp/want" <<EOF
3:unknown directive 'pol' (pool or limit)
4:pool: node 0 given twice (first on line 2)
5:pool: node 2 is not online
6:pool: node 1 has no memory
7:pool: invalid node 'x'
8:pool: invalid size '1X'
10:limit max-user: invalid size '2X'
11:limit: expected 'limit max SIZE|none' or 'limit max-user SIZE|none'
12:pool: unknown field 'high' (expected 'low SIZE')
13:pool: low watermark 16M is above the pool's size 8M
14:limit max given twice (first on line 9)
15:pool: too many fields
16:line longer than 1024 characters
18:pool: expected 'pool NODE SIZE [low SIZE]'
EOF
run --check "$tmp/bad.conf"
if [ "$st" = 2 ] && [ ! -s "$tmp/out" ]; then
	pass check_bad_exit_2
else
	fail check_bad_exit_2 "exit $st, stdout '$(head -c 200 "$tmp/out")'"
fi
# Exactly one message per bad line, in order, each naming FILE:LINE.
if [ "$(wc -l <"$tmp/err")" = "$(wc -l <"$tmp/want")" ]; then
	pass check_bad_one_line_each
else
	fail check_bad_one_line_each "$(wc -l <"$tmp/err") messages for $(wc -l <"$tmp/want") bad lines: $(cat "$tmp/err")"
fi
while IFS=: read -r line msg; do
	if grep -qF -- "$tmp/bad.conf:$line: $msg" "$tmp/err"; then
		pass "check_bad_line_$line"
	else
		fail "check_bad_line_$line" "no '$tmp/bad.conf:$line: $msg' in: $(cat "$tmp/err")"
	fi
done <"$tmp/want"
# The same without --check: nothing is applied (no module is asked).
run "$tmp/bad.conf"
if [ "$st" = 2 ] && ! grep -q 'module' "$tmp/err"; then
	pass apply_bad_exit_2
else
	fail apply_bad_exit_2 "exit $st: $(head -3 "$tmp/err")"
fi

# ---- a good file ------------------------------------------------------------------
cat >"$tmp/good.conf" <<'EOF'
# numabuf boot configuration

pool	0   64MB   low 4096KB	# trailing comment
limit max 1.5G
   limit max-user none
# pool 1 1G: node 1 has no memory, but this is a comment
EOF
run --check "$tmp/good.conf"
if [ "$st" = 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
	pass check_good
else
	fail check_good "exit $st: $(cat "$tmp/err")"
fi
run --check -j "$tmp/good.conf"
if [ "$st" = 0 ]; then pass check_good_json_option; else fail check_good_json_option "exit $st"; fi
: >"$tmp/empty.conf"
run --check "$tmp/empty.conf"
if [ "$st" = 0 ]; then pass check_empty; else fail check_empty "exit $st: $(cat "$tmp/err")"; fi

run --check "$tmp/missing.conf"
if [ "$st" = 2 ] && grep -q "apply: cannot read $tmp/missing.conf: No such file" "$tmp/err"; then
	pass check_missing_file
else
	fail check_missing_file "exit $st: $(cat "$tmp/err")"
fi
run --check "$tmp/good.conf" extra
if [ "$st" = 2 ] && grep -q "^numabufctl: apply: unexpected argument 'extra'" "$tmp/err"; then
	pass check_extra_arg
else
	fail check_extra_arg "exit $st: $(cat "$tmp/err")"
fi

# ---- applying without the module ---------------------------------------------------
if [ -d /sys/module/numabuf ]; then
	echo "SKIP apply_no_module: the numabuf module is loaded on this host"
else
	run "$tmp/good.conf"
	if [ "$st" = 3 ] && grep -q 'apply: the numabuf module is not loaded' "$tmp/err" &&
		[ ! -s "$tmp/out" ]; then
		pass apply_no_module
	else
		fail apply_no_module "exit $st: $(cat "$tmp/err")"
	fi
fi

if [ "$fails" -ne 0 ]; then
	echo "ctl-apply: $fails check(s) failed"
	exit 1
fi
echo "ctl-apply: all checks passed"
