#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host tests of libnumabuf and numabufctl: everything that needs no
# /dev/numabuf.  Builds lib/ and tools/ from a scratch copy of the tree
# (fresh, with -Werror, never touching the objects in the work tree), then:
#   - runs the util unit tests (tools/test-util),
#   - checks that libnumabuf.so exports exactly the public API, each symbol
#     under the version node it first appeared in (NUMABUF_0.1 to _0.5),
#     numabuf_nl_bufs both under NUMABUF_0.5 (the default, the filter with
#     match bits) and under NUMABUF_0.3 (the earlier filter, for programs
#     linked before), under the soname libnumabuf.so.0, and that programs
#     bind to the version they were built for,
#   - checks numabuf_open() returns -ENOENT through the shared library when
#     NUMABUF_DEVICE names a missing path (tests/host/lib-open.c),
#   - runs numabuf_diagnose() where it needs no module (tests/host/lib-diag.c),
#   - runs the library against a fake device (tests/host/lib-fake.c), and
#     the guest test tests/suite/test_lib.c too,
#   - runs numabufctl's argument handling, its no-device errors, the
#     netlink commands' errors without the module, and its alloc paths
#     against the fake device,
#   - installs into a DESTDIR and builds a program with pkg-config.
#
# Exit status: 0 pass, 77 skip (no compiler or make), 1 fail.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-cc}
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; fails=$((fails + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }

for tool in "$CC" make nm readelf ar objdump; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP lib-unit: $tool not found"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-lib-unit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---- build -----------------------------------------------------------------
mkdir -p "$tmp/src/kmod" && cp -R "$top/lib" "$top/tools" "$top/VERSION" "$tmp/src/" &&
	cp -R "$top/kmod/uapi" "$tmp/src/kmod/" || exit 1
src=$tmp/src
# The copy may hold objects built in the work tree: start clean.
make -s -C "$src/lib" clean >/dev/null && make -s -C "$src/tools" clean >/dev/null

if make -s -C "$src/lib" WERROR=1 CC="$CC" >"$tmp/build.log" 2>&1 &&
	make -s -C "$src/tools" WERROR=1 CC="$CC" >>"$tmp/build.log" 2>&1; then
	pass build
else
	fail build "see below"
	cat "$tmp/build.log"
	exit 1
fi
if [ -s "$tmp/build.log" ] && grep -qi 'warning' "$tmp/build.log"; then
	fail build_warnings "$(grep -i warning "$tmp/build.log" | head -3)"
fi

if command -v clang >/dev/null 2>&1 && [ "$CC" != clang ]; then
	mkdir -p "$tmp/clang" && cp -R "$src/lib" "$src/tools" "$src/VERSION" "$tmp/clang/" &&
		mkdir -p "$tmp/clang/kmod" && cp -R "$src/kmod/uapi" "$tmp/clang/kmod/"
	make -s -C "$tmp/clang/lib" clean >/dev/null
	make -s -C "$tmp/clang/tools" clean >/dev/null
	if make -s -C "$tmp/clang/lib" WERROR=1 CC=clang >"$tmp/clang.log" 2>&1 &&
		make -s -C "$tmp/clang/tools" WERROR=1 CC=clang >>"$tmp/clang.log" 2>&1; then
		pass build_clang
	else
		fail build_clang "$(head -5 "$tmp/clang.log")"
	fi
else
	skip build_clang "clang not found"
fi

# ---- util unit tests ---------------------------------------------------------
if "$src/tools/test-util" >"$tmp/test-util.log" 2>&1; then
	pass "util_unit ($(grep -c '^ok' "$tmp/test-util.log") tests)"
else
	fail util_unit "$(grep '^not ok' "$tmp/test-util.log" | head -5)"
fi

# ---- exported symbols --------------------------------------------------------
# The public API, stated here independently of lib/libnumabuf.map.
api="numabuf_addr
numabuf_alloc
numabuf_alloc_near
numabuf_attach
numabuf_close
numabuf_detach
numabuf_device_node
numabuf_diagnose
numabuf_export
numabuf_export_flags
numabuf_fd
numabuf_free
numabuf_handle
numabuf_info
numabuf_nl_bufs
numabuf_nl_close
numabuf_nl_errmsg
numabuf_nl_events
numabuf_nl_fd
numabuf_nl_limit_get
numabuf_nl_limit_set
numabuf_nl_node_get
numabuf_nl_nodes
numabuf_nl_open
numabuf_nl_pool_set
numabuf_nl_subscribe
numabuf_node
numabuf_open
numabuf_phys
numabuf_pool_get
numabuf_pool_set
numabuf_size
numabuf_sync"
# Symbols added after 0.1, each with its version node.
api_02="numabuf_pool_get
numabuf_pool_set"
api_03=$(echo "$api" | grep '^numabuf_nl_')
api_05="numabuf_diagnose"
api_04="numabuf_alloc_near
numabuf_attach
numabuf_detach
numabuf_device_node
numabuf_export
numabuf_export_flags
numabuf_sync"

# The release, defined in VERSION (tests/host/version.sh checks the rest).
version=$(cat "$top/VERSION")
so=$src/lib/libnumabuf.so.$version
if [ -f "$so" ] && [ -L "$src/lib/libnumabuf.so.0" ] && [ -L "$src/lib/libnumabuf.so" ] &&
	[ "$(readlink "$src/lib/libnumabuf.so.0")" = "libnumabuf.so.$version" ]; then
	pass so_files
else
	fail so_files "libnumabuf.so.$version and its .so.0/.so links missing"
fi

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = libnumabuf.so.0 ]; then
	pass soname
else
	fail soname "got '$soname'"
fi

# Defined dynamic symbols other than the version definition itself.
nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort >"$tmp/syms"
sed 's/@.*//' "$tmp/syms" | sort -u >"$tmp/names"
echo "$api" | sort >"$tmp/api"
if cmp -s "$tmp/names" "$tmp/api"; then
	pass exports_exact
else
	fail exports_exact "$(diff "$tmp/api" "$tmp/names" | grep '^[<>]' | tr '\n' ' ')"
fi
# Each symbol carries the version node it first appeared in; symbols whose
# interface changed carry the new node as the default (@@) and keep the
# old one (@) for programs linked against it.
api_05_changed="numabuf_nl_bufs"
echo "$api" | while read -r f; do
	if echo "$api_05_changed" | grep -qx "$f"; then
		echo "$f@@NUMABUF_0.5"
		echo "$f@NUMABUF_0.3"
	elif echo "$api_05" | grep -qx "$f"; then
		echo "$f@@NUMABUF_0.5"
	elif echo "$api_04" | grep -qx "$f"; then
		echo "$f@@NUMABUF_0.4"
	elif echo "$api_03" | grep -qx "$f"; then
		echo "$f@@NUMABUF_0.3"
	elif echo "$api_02" | grep -qx "$f"; then
		echo "$f@@NUMABUF_0.2"
	else
		echo "$f@@NUMABUF_0.1"
	fi
done | sort >"$tmp/want_versions"
if cmp -s "$tmp/syms" "$tmp/want_versions"; then
	pass exports_versioned
else
	fail exports_versioned "$(diff "$tmp/want_versions" "$tmp/syms" | grep '^[<>]' | tr '\n' ' ')"
fi

# A program built with today's numabuf.h binds numabuf_nl_bufs to
# NUMABUF_0.5; one that names the earlier symbol (as a program linked
# before 0.5 does) binds to NUMABUF_0.3 and runs against this library.
# tests/suite/t_buf_filter.c checks in the guest that each behaves as its
# version promises.
cat >"$tmp/bind.c" <<'EOF'
#include <stdint.h>
#include <numabuf.h>

struct old_filter { int32_t node; uint32_t pid; int64_t uid; };
int old_bufs(struct numabuf_nl *nl, const struct old_filter *f,
	     int (*cb)(const struct numabuf_bufstat *, void *), void *arg);
__asm__(".symver old_bufs, numabuf_nl_bufs@NUMABUF_0.3");

int main(int argc, char **argv)
{
	struct numabuf_buf_filter f = { .match = NUMABUF_MATCH_PID, .pid = 1 };
	struct old_filter o = { -1, 0, -1 };

	(void)argv;
	/* Never called: only the references matter, and the program loads. */
	if (argc > 5)
		return numabuf_nl_bufs(NULL, &f, NULL, NULL) +
		       old_bufs(NULL, &o, NULL, NULL);
	return 0;
}
EOF
if "$CC" -std=c11 -Wall -Wextra -Werror -I"$src/lib" -I"$src/kmod/uapi" \
	-o "$tmp/bind" "$tmp/bind.c" -L"$src/lib" -lnumabuf 2>"$tmp/bind.log"; then
	objdump -T "$tmp/bind" | awk '$NF == "numabuf_nl_bufs" { print $(NF - 1) }' |
		sort >"$tmp/bind.vers"
	if [ "$(tr '\n' ' ' <"$tmp/bind.vers")" = "(NUMABUF_0.3) (NUMABUF_0.5) " ]; then
		pass bind_old_and_new
	else
		fail bind_old_and_new "numabuf_nl_bufs bound to: $(tr '\n' ' ' <"$tmp/bind.vers")"
	fi
	if LD_LIBRARY_PATH=$src/lib LD_BIND_NOW=1 "$tmp/bind" 2>"$tmp/bind.log"; then
		pass bind_loads
	else
		fail bind_loads "$(head -3 "$tmp/bind.log")"
	fi
else
	fail bind_old_and_new "build: $(head -5 "$tmp/bind.log")"
fi

# The archive must not put unprefixed globals into programs' namespace.
bad=$(nm --defined-only -g "$src/lib/libnumabuf.a" 2>/dev/null |
	awk 'NF == 3 { print $3 }' | grep -v '^numabuf_' || true)
if [ -z "$bad" ]; then
	pass archive_namespace
else
	fail archive_namespace "$bad"
fi

# ---- numabuf_open through the shared library ----------------------------------
if "$CC" -std=c11 -Wall -Wextra -Werror -I"$src/lib" -I"$src/kmod/uapi" \
	-o "$tmp/lib-open" "$top/tests/host/lib-open.c" \
	-L"$src/lib" -lnumabuf 2>"$tmp/lib-open.log"; then
	if NUMABUF_DEVICE=$tmp/missing/numabuf LD_LIBRARY_PATH=$src/lib \
		"$tmp/lib-open" 2>>"$tmp/lib-open.log"; then
		pass open_enoent
	else
		fail open_enoent "$(cat "$tmp/lib-open.log")"
	fi
	if LD_LIBRARY_PATH=$src/lib ldd "$tmp/lib-open" 2>/dev/null |
		grep -q "libnumabuf.so.0 => $src/lib/libnumabuf.so.0"; then
		pass linked_by_soname
	else
		fail linked_by_soname "program not linked against libnumabuf.so.0"
	fi
else
	fail open_enoent "build: $(cat "$tmp/lib-open.log")"
fi

# ---- the library against a fake device -----------------------------------------
if "$CC" -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror \
	-O2 -g -I"$src/lib" -I"$src/kmod/uapi" -o "$tmp/lib-fake" \
	"$top/tests/host/lib-fake.c" "$top/tests/host/fake-device.c" \
	"$src/lib/libnumabuf.a" -Wl,--wrap=ioctl,--wrap=mmap64 -pthread \
	2>"$tmp/lib-fake.log"; then
	if NUMABUF_DEVICE=/dev/zero "$tmp/lib-fake" >"$tmp/lib-fake.out" 2>&1; then
		pass "lib_fake_device ($(grep -c '^ok' "$tmp/lib-fake.out") tests)"
	else
		fail lib_fake_device "$(grep -v '^ok' "$tmp/lib-fake.out" | head -5)"
	fi
else
	fail lib_fake_device "build: $(head -5 "$tmp/lib-fake.log")"
fi

# ---- numabuf_diagnose() without the module (tests/host/lib-diag.c) -----------
if "$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/lib" \
	-I"$src/kmod/uapi" -o "$tmp/lib-diag" "$top/tests/host/lib-diag.c" \
	"$src/lib/libnumabuf.a" $(pkg-config --libs libmnl 2>/dev/null || echo -lmnl) \
	-pthread 2>"$tmp/lib-diag.log"; then
	if "$tmp/lib-diag" >"$tmp/lib-diag.out" 2>&1; then
		pass "lib_diagnose ($(grep -c '^ok' "$tmp/lib-diag.out") tests)"
	else
		fail lib_diagnose "$(grep -A1 '^not ok' "$tmp/lib-diag.out" | head -6)"
	fi
else
	fail lib_diagnose "build: $(head -5 "$tmp/lib-diag.log")"
fi

# ---- the guest test, tests/suite/test_lib.c, against the fake device --------
# Checks the test's own code before it meets the module in the guest.  The
# fake does not place memory, so this needs a host with one online node.
# Its memory is not contiguous either: lib_phys_root may fail on that alone.
online=$(cat /sys/devices/system/node/online 2>/dev/null)
if [ ! -f "$top/tests/suite/test_lib.c" ]; then
	skip test_lib_fake "no tests/suite/test_lib.c"
elif [ "$online" != 0 ]; then
	skip test_lib_fake "needs a host whose only online node is 0 (has '$online')"
elif ! "$CC" -std=gnu11 -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror -O2 -g \
	-I"$src/lib" -I"$src/kmod/uapi" -o "$tmp/test_lib" \
	"$top/tests/suite/test_lib.c" "$top/tests/host/fake-device.c" \
	"$src/lib/libnumabuf.a" -Wl,--wrap=ioctl,--wrap=mmap64 -lnuma -pthread \
	2>"$tmp/test_lib.log"; then
	fail test_lib_fake "build: $(head -5 "$tmp/test_lib.log")"
else
	NUMABUF_DEVICE=/dev/zero NUMABUF_FAKE_PHYS=pagemap "$tmp/test_lib" \
		>"$tmp/test_lib.out" 2>&1
	bad=$(grep -v -e '^PASS ' -e '^SKIP ' "$tmp/test_lib.out" |
		grep -v '^FAIL lib_phys_root: not contiguous')
	if [ -z "$bad" ] && grep -q '^PASS lib_alloc_node0_4MiB$' "$tmp/test_lib.out"; then
		pass "test_lib_fake ($(grep -c '^PASS' "$tmp/test_lib.out") passed)"
	else
		fail test_lib_fake "$(echo "$bad" | head -5)"
	fi
fi

# ---- numabufctl --------------------------------------------------------------
ctl=$src/tools/numabufctl

# expect NAME STATUS STDERR-PATTERN -- ARGS...: run numabufctl, check its exit
# status and that stderr matches the pattern ('' for empty stderr).
expect() {
	name=$1 want=$2 pattern=$3
	shift 4
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "ctl_$name" "exit $got, want $want: $(head -2 "$tmp/err")"
	elif [ -z "$pattern" ] && [ -s "$tmp/err" ]; then
		fail "ctl_$name" "unexpected stderr: $(head -2 "$tmp/err")"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/err"; then
		fail "ctl_$name" "stderr lacks '$pattern': $(head -2 "$tmp/err")"
	else
		pass "ctl_$name"
	fi
}

expect version 0 '' -- --version
if ! grep -qx "numabufctl $version" "$tmp/out"; then
	fail ctl_version_text "$(cat "$tmp/out")"
fi
expect help 0 '' -- help
expect help_opt 0 '' -- -h
expect no_args 2 'Usage' --
expect bad_object 2 "unknown object 'frob'" -- frob
expect bad_option 2 "^numabufctl: unknown option '--frob'" -- --frob
expect bad_short_option 2 "^numabufctl: unknown option '-x'" -- -x nodes
expect cmd_bad_option 2 "^numabufctl: alloc: unknown option '--frob'" -- alloc --size 4K --frob
expect cmd_missing_arg 2 "^numabufctl: alloc: option '--size' needs an argument" -- alloc --size
expect cmd_missing_short_arg 2 "^numabufctl: list: option '-n' needs an argument" -- list -n
expect nodes_bad_option 2 "^numabufctl: nodes: unknown option '--frob'" -- nodes --frob
expect pool_low_not_set 2 "pool: --low is an option of pool set" -- pool show --low 1M
expect limit_max_not_set 2 "limit: --max and --max-user are options of limit set" -- limit show --max 1G
expect version_after 0 '' -- nodes --version
expect help_after 0 '' -- pool set -h
expect nodes_bad_cmd 2 "unknown command" -- nodes frob
expect alloc_no_size 2 'size is required' -- alloc
expect alloc_bad_size 2 "invalid size '4XB'" -- alloc --size 4XB
# Sizes: KB, MB, GB are powers of 1024 like K, M, G (test-util checks the
# values); a bad unit is a usage error.
expect alloc_size_mb 2 "invalid size '4MBi'" -- alloc --size 4MBi
expect alloc_neg_size 2 "invalid size '-4K'" -- alloc --size=-4K
expect alloc_frac_size 2 "invalid size '1.1K'" -- alloc --size 1.1K
expect alloc_huge_size 2 'too large' -- alloc --size 99999999999999999999
expect alloc_zero_size 2 'is zero' -- alloc --size 0
expect alloc_bad_node 2 "invalid node 'x'" -- alloc --size 4K --node x
expect alloc_neg_node 2 "invalid node '-1'" -- alloc --size 4K --node -1
expect alloc_extra_arg 2 "unexpected argument" -- alloc --size 4K frob
expect alloc_near_and_node 2 '--node and --near exclude each other' -- alloc --size 4K --near 0000:00:00.0 --node 0
expect alloc_wc_and_uc 2 '--wc and --uc exclude each other' -- alloc --size 4K --wc --uc

NUMABUF_DEVICE=$tmp/missing/numabuf
export NUMABUF_DEVICE
expect alloc_no_device 1 "cannot open $tmp/missing/numabuf: No such file or directory" \
	-- alloc --size 4M --node 1
NUMABUF_DEVICE=/dev/null
expect alloc_not_numabuf 1 'cannot allocate 4MiB on node local: Inappropriate ioctl' \
	-- -j alloc --size 4M
# --near looks the device up in sysfs before asking the module.
expect alloc_near_missing 1 "device 'no-such-device': No such device" \
	-- alloc --size 4K --near no-such-device
expect alloc_near_bad_name 1 "device '../x': Invalid argument" \
	-- alloc --size 4K --near ../x
unset NUMABUF_DEVICE

# The control-plane commands with bad arguments: usage errors (exit 2)
# before anything is opened.
expect nodes_bad_list 2 "invalid node list '0-'" -- nodes 0-
expect nodes_list_range 2 "names a node above" -- nodes 0-99999
expect nodes_extra_arg 2 "unexpected argument '1'" -- nodes show 0 1
expect list_bad_node 2 "invalid node list 'x'" -- list --node x
expect list_empty_node 2 "invalid node list ''" -- list --node ''
expect list_bad_pid 2 "invalid pid '0'" -- list --pid 0
expect list_neg_pid 2 "invalid pid '-5'" -- list --pid=-5
expect list_bad_user 2 "unknown user 'no-such-user-here'" -- list --uid no-such-user-here
expect list_extra_arg 2 "unexpected argument 'x'" -- list x
expect list_bad_option 2 'Try' -- list --frob
expect stats_bad_cmd 2 "unknown command 'x'" -- stats x
expect pool_bad_cmd 2 "unknown command 'frob'" -- pool frob
expect pool_bad_list 2 "invalid node list '1,'" -- pool show 1,
expect pool_set_no_args 2 'expected NODE' -- pool set
expect pool_set_nothing 2 'expected SIZE, --low SIZE or both' -- pool set 0
expect pool_set_bad_node 2 "invalid node 'x'" -- pool set x 1G
expect pool_set_bad_size 2 "invalid size '1X'" -- pool set 0 1X
expect pool_set_bad_low 2 "invalid size '1.1K'" -- pool set 0 --low 1.1K
expect pool_set_huge 2 'too large' -- pool set 0 99999999999999999999
expect pool_set_extra 2 "unexpected argument '2G'" -- pool set 0 1G 2G
expect limit_bad_cmd 2 "unknown command 'frob'" -- limit frob
expect limit_set_nothing 2 'expected --max SIZE' -- limit set
expect limit_set_bad_size 2 "invalid size 'lots'" -- limit set --max lots
expect limit_set_extra 2 "unexpected argument 'x'" -- limit set --max 1G x
expect monitor_bad_count 2 "invalid count '0'" -- monitor --count 0
expect monitor_bad_timeout 2 "invalid timeout '1.5'" -- monitor --timeout 1.5
expect monitor_extra_arg 2 "unexpected argument 'x'" -- monitor x

# Without the module (never loaded on the host) every netlink command fails
# cleanly, saying so, with nothing on stdout; nodes falls back to sysfs.
if [ -d /sys/module/numabuf ]; then
	skip ctl_no_module "the numabuf module is loaded on this host"
else
	nl_gone='the numabuf module is not loaded'
	expect list_no_module 3 "list: $nl_gone" -- list
	expect list_filter_no_module 3 "list: $nl_gone" -- -j list --node 0-3,5 --pid 1 --uid root
	expect stats_no_module 3 "stats: $nl_gone" -- stats
	expect pool_no_module 3 "pool: $nl_gone" -- pool
	expect pool_show_no_module 3 "pool: $nl_gone" -- -j pool show all
	expect pool_set_no_module 3 "pool set: $nl_gone" -- pool set 0 1.5G --low 4M
	expect limit_no_module 3 "limit: $nl_gone" -- limit
	expect limit_set_no_module 3 "limit set: $nl_gone" -- limit set --max none --max-user 1.5G
	expect monitor_no_module 3 "monitor: $nl_gone" -- monitor --count 1 --timeout 1
	expect alloc_no_module 3 "$nl_gone: load it with 'modprobe numabuf'" -- alloc --size 4M
	# Exit status 3: the module is not loaded; global options after the
	# command as before it.
	expect stats_json_after_no_module 3 "stats: $nl_gone" -- stats -j
	expect pool_json_after_no_module 3 "pool: $nl_gone" -- pool show -p 0 -j
	expect limit_json_after_no_module 3 "limit: $nl_gone" -- limit --json
	for f in list stats pool limit monitor; do
		"$ctl" -j "$f" >"$tmp/out" 2>/dev/null
		if [ -s "$tmp/out" ]; then
			fail "ctl_${f}_no_module_stdout" "$(head -c 200 "$tmp/out")"
		else
			pass "ctl_${f}_no_module_stdout"
		fi
	done
fi

if [ -r /sys/devices/system/node/online ] && [ ! -d /sys/module/numabuf ]; then
	nodes_note='nodes: the numabuf module is not loaded: memory and CPUs only'
	expect nodes 0 "$nodes_note" -- nodes
	if grep -Eq '^node [0-9]+ mem-total [0-9.]+[KMGTPE]?i?B mem-free [0-9.]+[KMGTPE]?i?B cpus [-0-9,]+$' "$tmp/out"; then
		pass ctl_nodes_text
	else
		fail ctl_nodes_text "$(head -2 "$tmp/out")"
	fi
	n_text=$(wc -l <"$tmp/out")
	first=$(sed -n 's/^node \([0-9]*\) .*/\1/p' "$tmp/out" | head -1)
	expect nodes_one 0 "$nodes_note" -- nodes "$first"
	if [ "$(wc -l <"$tmp/out")" = 1 ] && grep -q "^node $first " "$tmp/out"; then
		pass ctl_nodes_one_text
	else
		fail ctl_nodes_one_text "$(head -2 "$tmp/out")"
	fi
	expect nodes_offline 1 'node 4095 is not online' -- nodes 4095
	expect nodes_json 0 "$nodes_note" -- -j nodes all
	if command -v python3 >/dev/null 2>&1; then
		if python3 - "$tmp/out" "$n_text" <<'EOF'
import json, sys
nodes = json.load(open(sys.argv[1]))
assert isinstance(nodes, list) and len(nodes) == int(sys.argv[2]), nodes
for n in nodes:
    assert set(n) == {"id", "mem-total", "mem-free", "cpus"}, n
    assert isinstance(n["id"], int) and isinstance(n["cpus"], str), n
    assert isinstance(n["mem-total"], int) and n["mem-total"] >= n["mem-free"] >= 0, n
EOF
		then pass ctl_nodes_json_valid
		else fail ctl_nodes_json_valid "$(head -c 300 "$tmp/out")"
		fi
		expect nodes_json_pretty 0 "$nodes_note" -- -j -p nodes show
		if python3 -m json.tool "$tmp/out" >/dev/null 2>&1; then
			pass ctl_nodes_pretty_valid
		else
			fail ctl_nodes_pretty_valid "$(head -c 300 "$tmp/out")"
		fi
		# -j after the command, as before it.
		expect nodes_json_after 0 "$nodes_note" -- nodes -j
		if python3 -c 'import json, sys; n = json.load(open(sys.argv[1])); assert len(n) == int(sys.argv[2]) and all("mem-total" in x for x in n)' \
			"$tmp/out" "$n_text" 2>/dev/null; then
			pass ctl_nodes_json_after_valid
		else
			fail ctl_nodes_json_after_valid "$(head -c 300 "$tmp/out")"
		fi
	else
		skip ctl_nodes_json_valid "python3 not found"
	fi
else
	skip ctl_nodes "no /sys/devices/system/node/online, or the module is loaded"
fi

# ---- numabufctl alloc against the fake device --------------------------------
# The same objects linked with tests/host/fake-device.c: the success paths.
if "$CC" -o "$tmp/numabufctl-fake" "$src/tools/ctl/"*.o \
	"$src/tools/util.o" "$src/tools/json.o" "$src/tools/verify.o" \
	"$top/tests/host/fake-device.c" \
	-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror \
	-I"$src/lib" -I"$src/kmod/uapi" "$src/lib/libnumabuf.a" \
	$(pkg-config --libs libmnl 2>/dev/null || echo -lmnl) \
	-Wl,--wrap=ioctl,--wrap=mmap64 -pthread 2>"$tmp/ctl-fake.log"; then
	ctl=$tmp/numabufctl-fake
	NUMABUF_DEVICE=/dev/zero
	export NUMABUF_DEVICE

	# out_is NAME TEXT: stdout of the last expect is exactly TEXT.
	out_is() {
		if [ "$(cat "$tmp/out")" = "$2" ]; then
			pass "ctl_$1"
		else
			fail "ctl_$1" "got '$(cat "$tmp/out")', want '$2'"
		fi
	}
	expect fake_alloc 0 '' -- alloc --size 1.5M --node 1
	out_is fake_alloc_text 'size 1.5MiB node 1 phys -'
	expect fake_alloc_json 0 '' -- -j alloc -s 5000
	out_is fake_alloc_json_text '{"size":8192,"node":0}'
	expect fake_alloc_kb 0 '' -- alloc --size 4kB
	out_is fake_alloc_kb_text 'size 4KiB node 0 phys -'
	expect fake_alloc_mb_json_after 0 '' -- alloc -s 1MB -j
	out_is fake_alloc_mb_json_after_text '{"size":1048576,"node":0}'
	NUMABUF_FAKE_PHYS=pagemap
	export NUMABUF_FAKE_PHYS
	expect fake_alloc_phys 0 '' -- alloc -s 4K --preferred
	if [ "$(id -u)" = 0 ]; then
		if grep -Eq '^size 4KiB node 0 phys 0x[0-9a-f]+000$' "$tmp/out"; then
			pass ctl_fake_alloc_phys_text
		else
			fail ctl_fake_alloc_phys_text "$(cat "$tmp/out")"
		fi
	fi
	unset NUMABUF_FAKE_PHYS
	expect fake_alloc_8m 1 'cannot allocate 8MiB on node local: Cannot allocate memory' \
		-- alloc -s 8M
	expect fake_alloc_offline 1 'cannot allocate 4KiB on node 5: No such device' \
		-- alloc -s 4K -n 5

	# --hold: prints, stays until SIGTERM, then frees and exits 0.
	"$ctl" alloc -s 2M --hold >"$tmp/hold.out" 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$tmp/hold.out" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.2
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid"
		st=$?
		if [ "$st" = 0 ] && [ "$(cat "$tmp/hold.out")" = 'size 2MiB node 0 phys -' ]; then
			pass ctl_fake_hold
		else
			fail ctl_fake_hold "exit $st: $(cat "$tmp/hold.out")"
		fi
	else
		wait "$pid"
		fail ctl_fake_hold "exited before SIGTERM ($?): $(cat "$tmp/hold.out")"
	fi
	unset NUMABUF_DEVICE
	ctl=$src/tools/numabufctl
else
	fail ctl_fake "build: $(head -5 "$tmp/ctl-fake.log")"
fi

# ---- install and pkg-config ---------------------------------------------------
dest=$tmp/dest
if make -s -C "$src/lib" install DESTDIR="$dest" PREFIX=/usr \
	>"$tmp/install.log" 2>&1; then
	missing=""
	for f in "lib/libnumabuf.so.$version" lib/libnumabuf.so.0 lib/libnumabuf.so \
		lib/libnumabuf.a include/numabuf.h include/linux/numabuf.h \
		lib/pkgconfig/numabuf.pc; do
		[ -e "$dest/usr/$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ]; then
		pass install_files
	else
		fail install_files "missing:$missing"
	fi
	# Built with the default prefix, installed with PREFIX=/usr.
	if grep -q '^prefix=/usr$' "$dest/usr/lib/pkgconfig/numabuf.pc"; then
		pass install_pc_prefix
	else
		fail install_pc_prefix "$(head -1 "$dest/usr/lib/pkgconfig/numabuf.pc")"
	fi
else
	fail install "$(tail -5 "$tmp/install.log")"
fi

if command -v pkg-config >/dev/null 2>&1 && [ -f "$dest/usr/lib/pkgconfig/numabuf.pc" ]; then
	# Exits 0 when numabuf_open() fails with -ENOENT, as it must here.
	cp "$top/tests/host/pc-user.c" "$tmp/user.c"
	PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
	export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
	ver=$(pkg-config --modversion numabuf)
	if [ "$ver" = "$version" ]; then
		pass pc_version
	else
		fail pc_version "got '$ver'"
	fi
	# shellcheck disable=SC2046
	if "$CC" -std=c99 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags numabuf) \
		-o "$tmp/user" "$tmp/user.c" $(pkg-config --libs numabuf) 2>"$tmp/user.log" &&
		NUMABUF_DEVICE=$tmp/missing LD_LIBRARY_PATH=$dest/usr/lib "$tmp/user"; then
		pass pc_build_shared
	else
		fail pc_build_shared "$(head -5 "$tmp/user.log")"
	fi
	# shellcheck disable=SC2046
	if "$CC" -std=c99 -Wall -Werror $(pkg-config --cflags numabuf) \
		-o "$tmp/user-static" "$tmp/user.c" \
		"$dest/usr/lib/libnumabuf.a" $(pkg-config --static --libs-only-other numabuf) \
		2>"$tmp/user.log"; then
		pass pc_build_static
	else
		fail pc_build_static "$(head -5 "$tmp/user.log")"
	fi
	if command -v c++ >/dev/null 2>&1; then
		# shellcheck disable=SC2046
		if c++ -Wall -Wextra -Werror -x c++ -fsyntax-only \
			$(pkg-config --cflags numabuf) "$tmp/user.c" 2>"$tmp/user.log"; then
			pass header_cxx
		else
			fail header_cxx "$(head -5 "$tmp/user.log")"
		fi
	fi
	unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
else
	skip pc_build "pkg-config not found or install failed"
fi

if [ "$fails" -ne 0 ]; then
	echo "lib-unit: $fails check(s) failed"
	exit 1
fi
echo "lib-unit: all checks passed"
exit 0
