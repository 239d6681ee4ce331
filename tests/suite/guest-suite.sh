#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-suite.sh MODULE.ko: the numabuf guest suite.  Runs inside a test
# guest as root (tests/qemu/guest-run), never on a machine that matters:
# it loads and unloads the module and writes to the scratch disk /dev/vda.
#
#   tests/qemu/guest-run --timeout 1800 --append init_on_alloc=0 6.1 -- \
#       tests/suite/guest-suite.sh build/<kver>/numabuf.ko
#
# (init_on_alloc=0: Debian's kernels zero every page they hand out, which
# would hide a module that does not.)
#
# Loads the module, checks the device and its counters appear, runs every
# test binary of build/suite (make -C tests/suite, on the host, first),
# then the unload tests: the module cannot go while a process holds an fd,
# only a mapping, or only an RDMA memory region (t_rdma, soft-RoCE), goes
# once they exit (device and counters gone, free
# memory back), and loads again; then pools reserved at load (the pools=
# parameter): taken from the right nodes, shown by POOL_GET and debugfs,
# given back at unload, and a bad spec refused with its error in the kernel
# log (the only warnings the run accepts).  Prints one line per test
# (PASS name / FAIL name: reason / SKIP name: reason) and, as its last line,
#   N passed, N failed, N skipped
# Exit status 0 iff nothing failed.
#
# Environment: NB_SUITE_BIN (directory of the test binaries, default
# build/suite), NB_SUITE_ONLY (run only these binaries, space separated:
# "t_placement t_memory"), NB_DMA (translate or passthrough: the guest is
# guest-run's --dma machine of that mode; only the t_dma_* binaries run,
# which need its devices, and no others, and the pools= tests are left to
# the plain machine; unset: every binary but those),
# NB_UNLOAD_MARGIN_KB (free memory the whole run
# may lose, default 8192).
set -u
# Braced so bash parses the whole script before running any of it:
# editing the file while a run is in flight cannot derail that run.
{

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${NB_SUITE_BIN:-$top/build/suite}
stats=/sys/kernel/debug/numabuf/stats
margin_kb=${NB_UNLOAD_MARGIN_KB:-8192}

pass=0
fail=0
skip=0
tmp=

result() { # result PASS|FAIL|SKIP name [reason]
	local verdict=$1 name=$2
	shift 2
	case $verdict in
	PASS) pass=$((pass + 1)); echo "PASS $name" ;;
	FAIL) fail=$((fail + 1)); echo "FAIL $name: $*" ;;
	SKIP) skip=$((skip + 1)); echo "SKIP $name: $*" ;;
	esac
}

summary_and_exit() {
	[[ -n $tmp ]] && rm -rf "$tmp"
	# The last line, parsed by whoever runs the suite.
	echo "$pass passed, $fail failed, $skip skipped"
	((fail == 0))
	exit
}

# Free memory in KiB: MemFree plus pages on the per-CPU lists (which
# MemFree leaves out), after dropping caches; as the harness measures it.
free_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	local memfree pcp
	memfree=$(awk '$1 == "MemFree:" { print $2 }' /proc/meminfo)
	pcp=$(awk '$1 == "count:" { n += $2 } END { print n + 0 }' /proc/zoneinfo)
	echo $((memfree + pcp * $(getconf PAGESIZE) / 1024))
}

# Kernel log lines at warning level or worse, less the notices every
# out-of-tree, unsigned module load prints (taint, not a problem).
# Lines a step expected (a refused pools= spec) are in $accepted_log, each
# exactly as dmesg printed it, and accepted only as such.  Messages a test
# provoked on purpose (nb_kmsg_expect(), which the harness reports as
# "# expected kernel log: MSG") are in $accepted_msgs, without their time,
# and accepted only with exactly that text.
accepted_log=
accepted_msgs=
warn_log() {
	dmesg --level=emerg,alert,crit,err,warn 2>/dev/null |
		grep -v -e 'loading out-of-tree module taints kernel' \
			-e 'module verification failed: signature and/or required key missing' \
			-e 'hrtimer: interrupt took' \
			-e 'clocksource: timekeeping watchdog' \
			-e 'clocksource: Long readout interval' \
			-e 'sched: DL replenish lagged too much' \
			-e 'due to previous error (AE_AML_LOOP_TIMEOUT)' \
			-e "can't derive routing for PCI INT A" \
			-e 'PCI INT A: no GSI' |
		"$here/../qemu/emulator-splats" 2>/dev/null |
		if [[ -s $accepted_log ]]; then grep -vxF -f "$accepted_log"; else cat; fi |
		if [[ -s $accepted_msgs ]]; then
			awk 'NR == FNR { ok[$0] = 1; next }
			     { m = $0; sub(/^\[[^]]*\] /, "", m); if (!(m in ok)) print }' \
				"$accepted_msgs" -
		else
			cat
		fi
}

warn_lines() {
	warn_log | wc -l
}

stats_all() {
	awk '$1 == "all" { print $2, $3 }' "$stats" 2>/dev/null
}

counters_zero() {
	[[ $(stats_all) == "0 0" ]]
}

module_loaded() {
	[[ -d /sys/module/numabuf ]]
}

# Wait up to ~5 s for a condition (a command).
wait_for() {
	local i
	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# Start nb_hold MODE in the background; sets hold_pid once it is ready.
hold_pid=
start_holder() {
	local out=$tmp/hold.$1
	"$bin/nb_hold" "$1" >"$out" 2>&1 &
	hold_pid=$!
	wait_for grep -q ready "$out" && return 0
	echo "# nb_hold $1: $(cat "$out")"
	return 1
}

stop_holder() {
	[[ -n $hold_pid ]] || return 0
	kill -KILL "$hold_pid" 2>/dev/null
	wait "$hold_pid" 2>/dev/null
	hold_pid=
}

# ---- preconditions ----
if (($# != 1)); then
	echo "usage: guest-suite.sh MODULE.ko" >&2
	exit 2
fi
ko=$1
if [[ $(id -u) != 0 ]]; then
	result FAIL suite_setup "must run as root (inside the test guest)"
	summary_and_exit
fi
tmp=$(mktemp -d /tmp/guest-suite.XXXXXX)
accepted_log=$tmp/accepted-log
: >"$accepted_log"
accepted_msgs=$tmp/accepted-msgs
: >"$accepted_msgs"
if [[ ! -f $ko ]]; then
	result FAIL suite_setup "no module file '$ko'"
	summary_and_exit
fi
mapfile -t binaries < <(find "$bin" -maxdepth 1 -type f -perm -u+x \( -name 't_*' -o -name 'test_*' \) ! -name '*.o' 2>/dev/null | sort)
if ((${#binaries[@]} == 0)) || [[ ! -x $bin/nb_hold || ! -x $bin/nb_unload || ! -x $bin/nb_pool || ! -x $bin/nb_slabfill ]]; then
	result FAIL suite_setup "no test binaries in $bin (run 'make -C tests/suite' on the host first)"
	summary_and_exit
fi
if module_loaded; then
	result FAIL suite_setup "numabuf is already loaded; the suite needs a guest without it"
	summary_and_exit
fi
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

echo "# kernel $(uname -r), nodes online $(cat /sys/devices/system/node/online), module $ko"
# With init_on_alloc the kernel zeroes all memory it hands out, which
# hides a module that does not: the zero-fill tests then prove little.
if dmesg | grep -q 'mem auto-init:.*heap alloc:on'; then
	echo "# NOTE: init_on_alloc is on; boot the guest with init_on_alloc=0 for the zero-fill tests to bite"
fi
# A KASAN kernel's quarantine of freed slab objects (1/32 of RAM) fills
# over the first few hundred MiB of frees: fill it before measuring, or
# the tests that free much slab first see free memory fall (nb_slabfill.c).
if gzip -dc /proc/config.gz 2>/dev/null | grep -qx 'CONFIG_KASAN_GENERIC=y'; then
	fill=$(($(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo) / 16))
	before=$(free_kb)
	if out=$("$bin/nb_slabfill" "$fill" 2>&1); then
		echo "# KASAN: $fill MiB of slab frees to fill its quarantine ($out): free memory $before -> $(free_kb) KiB"
	else
		echo "# KASAN: nb_slabfill $fill: $out"
	fi
fi
free0=$(free_kb)
warn0=$(warn_lines)

# ---- load ----
if out=$(insmod "$ko" 2>&1); then
	result PASS module_load
else
	result FAIL module_load "insmod: $out"
	summary_and_exit
fi
if wait_for test -c /dev/numabuf; then
	mode=$(stat -c '%a %U' /dev/numabuf)
	if [[ $mode == "600 root" ]]; then
		result PASS device_node
	else
		result FAIL device_node "/dev/numabuf has mode/owner '$mode', expected '600 root'"
	fi
else
	result FAIL device_node "/dev/numabuf did not appear"
	summary_and_exit
fi
# The counters: a header, one line per online node with memory, the total.
if [[ -r $stats ]]; then
	nodes_online=$(cat /sys/devices/system/node/online)
	bad=$(awk -v online="$nodes_online" '
		BEGIN { n = split(online, parts, ",")
			for (i = 1; i <= n; i++) {
				if (split(parts[i], r, "-") == 2) { for (j = r[1]; j <= r[2]; j++) want[j] = 1 }
				else want[parts[i]] = 1 } }
		NR == 1 { if ($0 != "# node buffers bytes") print "header: " $0; next }
		$1 == "all" { all = 1; if ($2 != 0 || $3 != 0) print "all: " $0; next }
		$1 ~ /^[0-9]+$/ && NF == 3 { if (!($1 in want)) print "node not online: " $0; seen[$1] = 1; if ($2 != 0 || $3 != 0) print "not zero: " $0; next }
		{ print "bad line: " $0 }
		END { if (!all) print "no all line"; for (k in want) if (!(k in seen)) print "node " k " missing" }' "$stats")
	if [[ -z $bad ]]; then
		result PASS debugfs_stats
	else
		result FAIL debugfs_stats "$(echo "$bad" | head -n 3 | tr '\n' ';')"
	fi
else
	result FAIL debugfs_stats "$stats is not readable"
fi

# ---- the test binaries ----
for b in "${binaries[@]}"; do
	name=$(basename "$b")
	if [[ -n ${NB_SUITE_ONLY:-} && " $NB_SUITE_ONLY " != *" $name "* ]]; then
		continue
	fi
	# The device DMA tests run on the DMA machine, and only they.
	dma_test=n dma_lane=n
	[[ $name == t_dma_* ]] && dma_test=y
	[[ -n ${NB_DMA:-} ]] && dma_lane=y
	[[ $dma_test == "$dma_lane" ]] || continue
	echo "# ---- $name"
	bin_start=$SECONDS
	timeout --kill-after=10 3600 "$b" 2>&1 | tee "$tmp/out.$name"
	rc=${PIPESTATUS[0]}
	sed -n 's/^# expected kernel log: //p' "$tmp/out.$name" >>"$accepted_msgs"
	np=$(grep -c '^PASS ' "$tmp/out.$name")
	nf=$(grep -c '^FAIL ' "$tmp/out.$name")
	ns=$(grep -c '^SKIP ' "$tmp/out.$name")
	pass=$((pass + np))
	fail=$((fail + nf))
	skip=$((skip + ns))
	# A binary that failed without saying which test (a crash of the
	# harness itself, a timeout) is one more failure.
	# Wall time per binary: where a lane's minutes go (CI's budget).
	echo "# free memory after $name: $(free_kb) KiB; $name took $((SECONDS - bin_start)) s"
	if ((rc != 0 && nf == 0)); then
		result FAIL "$name" "exited with status $rc without a FAIL line"
	elif ((rc == 0 && np + nf + ns == 0)); then
		result FAIL "$name" "ran no tests"
	fi
done

# ---- unload ----
# Nothing may be held now: every test cleaned up after itself.
if [[ $(stats_all) != "0 0" ]]; then
	result FAIL counters_zero_after_tests "counters are '$(stats_all)' after all tests"
else
	result PASS counters_zero_after_tests
fi

# Unload attempts use nb_unload (delete_module with O_NONBLOCK), which
# reports the errno rmmod hides: EAGAIN (EWOULDBLOCK) or EBUSY while in use.
check_refused() { # name what
	local out
	out=$("$bin/nb_unload" numabuf)
	if [[ $out == ok ]]; then
		result FAIL "$1" "the module unloaded while $2"
		return 1
	elif [[ $out != EAGAIN && $out != EBUSY ]]; then
		result FAIL "$1" "unload while $2 failed with $out, expected EAGAIN/EBUSY"
	elif ! module_loaded || [[ ! -c /dev/numabuf ]]; then
		result FAIL "$1" "unload refused ($out) but the module or /dev/numabuf is gone"
	else
		result PASS "$1"
	fi
	return 0
}

unloaded=0
if start_holder fd; then
	if ! check_refused unload_refused_fd_open "a process holds /dev/numabuf open"; then
		unloaded=1
	fi
	# rmmod itself must say so, too.
	if ((!unloaded)); then
		out=$(rmmod numabuf 2>&1)
		if [[ $? != 0 && $out == *"in use"* ]] && module_loaded; then
			result PASS rmmod_says_in_use
		else
			result FAIL rmmod_says_in_use "rmmod with an fd open: '$out'"
		fi
	fi
	stop_holder
else
	result FAIL unload_refused_fd_open "nb_hold fd did not get ready"
fi
if ((!unloaded)) && start_holder map; then
	if [[ $(stats_all) != "1 65536" ]]; then
		result FAIL unload_refused_mapping_held "counters '$(stats_all)' with one 64 KiB buffer held by a mapping only"
	elif ! check_refused unload_refused_mapping_held "a process holds only a mapping (fd closed)"; then
		unloaded=1
	fi
	stop_holder
elif ((!unloaded)); then
	result FAIL unload_refused_mapping_held "nb_hold map did not get ready"
fi

# An RDMA memory region (soft-RoCE) as the last holder: t_rdma with
# NB_RDMA_HOLD=1 registers a 2 MiB buffer with rxe, then FREEs, unmaps and
# closes it, so only the MR pins its pages.  The module must stay (counted,
# unload refused); once the holder is killed (its MR goes with its verbs
# file) it unloads in unload_after_release below.  The plain machine's
# lanes only, where t_rdma runs; a SKIP where the kernel has no rdma_rxe.
if ((!unloaded)) && [[ -z ${NB_DMA:-} && -x $bin/t_rdma ]]; then
	rxe_out=$("$here/rxe-up.sh" 2>&1)
	rxe_rc=$?
	# rxe on a dummy interface (no veth in the kernel): ib_core warns
	# at each port query that it has no link speed, as t_rdma notes.
	if ! [[ $(cat /sys/class/net/nbd0/speed 2>/dev/null) -gt 0 ]]; then
		echo "nbd0 speed is unknown, defaulting to 1000" >>"$accepted_msgs"
	fi
	if ((rxe_rc == 77)); then
		result SKIP unload_refused_rdma_mr "no soft-RoCE (rdma_rxe) in this kernel"
	elif ((rxe_rc != 0)); then
		result FAIL unload_refused_rdma_mr "rxe-up.sh: $rxe_out"
	else
		NB_RDMA_HOLD=1 "$bin/t_rdma" >"$tmp/hold.rdma" 2>&1 &
		hold_pid=$!
		for ((i = 0; i < 300; i++)); do
			grep -q ready "$tmp/hold.rdma" && break
			kill -0 "$hold_pid" 2>/dev/null || break
			sleep 0.1
		done
		if ! grep -q ready "$tmp/hold.rdma"; then
			result FAIL unload_refused_rdma_mr "the RDMA holder did not get ready: $(head -c 300 "$tmp/hold.rdma")"
		elif [[ $(stats_all) != "1 2097152" ]]; then
			result FAIL unload_refused_rdma_mr "counters '$(stats_all)' with one 2 MiB buffer held by an MR only"
		elif ! check_refused unload_refused_rdma_mr "only an RDMA MR holds a freed buffer (fd closed, unmapped)"; then
			unloaded=1
		fi
		stop_holder
		# The module lets the buffer go at its next scan (200 ms).
		((unloaded)) || wait_for counters_zero ||
			result FAIL unload_refused_rdma_mr "counters '$(stats_all)' 5 s after the RDMA holder was killed"
	fi
fi

if ((!unloaded)); then
	if [[ $(stats_all) != "0 0" ]]; then
		result FAIL unload_after_release "counters '$(stats_all)' after the holders exited"
	fi
	if ! out=$(rmmod numabuf 2>&1); then
		result FAIL unload_after_release "rmmod failed after every holder exited: $out"
		summary_and_exit
	fi
	if ! wait_for test ! -e /dev/numabuf; then
		result FAIL unload_after_release "/dev/numabuf still there after unload"
	elif module_loaded; then
		result FAIL unload_after_release "/sys/module/numabuf still there after unload"
	elif [[ -e /sys/kernel/debug/numabuf ]]; then
		result FAIL unload_after_release "debugfs numabuf/ still there after unload"
	else
		result PASS unload_after_release
	fi
fi

# Free memory can lag (kcompactd holds pages it isolated, RCU frees late):
# allow it ~10 s to come back before calling it a leak.
for ((i = 0; i < 20; i++)); do
	free1=$(free_kb)
	((free1 >= free0 - margin_kb)) && break
	sleep 0.5
done
echo "# free memory: $free0 KiB before load, $free1 KiB after unload"
if ((free1 >= free0 - margin_kb)); then
	result PASS meminfo_after_unload
else
	result FAIL meminfo_after_unload "free memory $((free0 - free1)) KiB below where it was before the module was loaded (margin $margin_kb KiB)"
fi

# Load again: the module's exit left nothing behind that breaks a new load.
# What the loaded module itself takes (code, data, its netlink family) is
# measured on the way, for the pools= check below.
# Free memory moves on its own at times (once 56 MiB between two reads on
# 6.1, where the module takes about 200 KiB): the smallest drop seen in up
# to ~3 s counts.
module_kb_settled() {
	local i d
	module_kb=$((free_r0 - $(free_kb)))
	for ((i = 0; i < 6 && module_kb > 16384; i++)); do
		sleep 0.5
		d=$((free_r0 - $(free_kb)))
		((d < module_kb)) && module_kb=$d
	done
	return 0
}
module_kb=0
free_r0=$(free_kb)
if out=$(insmod "$ko" 2>&1) && wait_for test -c /dev/numabuf &&
	module_kb_settled && start_holder map; then
	stop_holder
	if [[ $("$bin/nb_unload" numabuf) == ok ]] && wait_for test ! -e /dev/numabuf; then
		result PASS reload
	else
		result FAIL reload "second unload failed"
	fi
else
	result FAIL reload "second load or use failed: $out"
	stop_holder
	rmmod numabuf 2>/dev/null
fi

# ---- pools reserved at load: the module parameter pools= ----
# The plain machine's lanes test it; the DMA machine's (NB_DMA) add nothing
# to it, and node-level free memory is noisier there.
if [[ -n ${NB_DMA:-} ]]; then
	echo "# pools= at load: tested by the plain machine's lanes, not here"
else
# Free memory of one node in KiB (buddy + per-CPU lists), caches dropped.
node_free_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk -v node="$1" -v kb="$(($(getconf PAGESIZE) / 1024))" '
		$1 == "Node" { cur = ($2 == node ",") }
		cur && $1 == "pages" && $2 == "free" { n += $3 }
		cur && $1 == "count:" { n += $2 }
		END { print n * kb }' /proc/zoneinfo
}

# Wait up to ~10 s for free memory to be back within the margin of $1 KiB.
free_back() {
	local i
	for ((i = 0; i < 20; i++)); do
		free_now=$(free_kb)
		((free_now >= $1 - margin_kb)) && return 0
		sleep 0.5
	done
	return 1
}

# The first two nodes with memory get pools of 64 and 32 MiB.
mem_nodes=()
IFS=, read -r -a parts <"/sys/devices/system/node/has_memory"
for part in "${parts[@]}"; do
	for ((n = ${part%-*}; n <= ${part#*-}; n++)); do
		mem_nodes+=("$n")
	done
done
pool_nodes=("${mem_nodes[@]:0:2}")
pool_mib=(64 32)
pool_spec=
for i in "${!pool_nodes[@]}"; do
	pool_spec+=${pool_spec:+,}${pool_nodes[i]}:${pool_mib[i]}M
done
pool_slack_kb=8192	# a node's free memory moves this much on its own

declare -A node_free0
for n in "${pool_nodes[@]}"; do
	node_free0[$n]=$(node_free_kb "$n")
done
free_a=$(free_kb)
if module_loaded; then
	result FAIL pools_at_load "numabuf is still loaded after the unload tests"
elif ! out=$(insmod "$ko" pools="$pool_spec" 2>&1); then
	result FAIL pools_at_load "insmod pools=$pool_spec: $out"
elif ! wait_for test -c /dev/numabuf; then
	result FAIL pools_at_load "/dev/numabuf did not appear after insmod pools=$pool_spec"
	rmmod numabuf 2>/dev/null
else
	bad=
	drop_all=0
	# The module's own memory (measured at the reload above: module_kb;
	# several MiB with KASAN's shadow on the debug kernel) may add to
	# any node's drop and to the total: an allowance, not an
	# expectation, so a module_kb read high or low cannot fail a
	# correct reservation.
	module_allow=$((module_kb > 0 ? module_kb : 0))
	for i in "${!pool_nodes[@]}"; do
		n=${pool_nodes[i]}
		bytes=$((pool_mib[i] * 1048576))
		got=$("$bin/nb_pool" "$n")
		want="target $bytes pool_bytes $bytes free_bytes $bytes"
		[[ $got == "$want "* ]] ||
			bad+="POOL_GET node $n: '$got', expected '$want ...'; "
		got=$(awk -v n="$n" '$1 == n { print $2, $3, $4 }' /sys/kernel/debug/numabuf/nodes)
		[[ $got == "$bytes $bytes $bytes" ]] ||
			bad+="debugfs numabuf/nodes node $n: target, pool, free '$got', expected $bytes each; "
		drop=$((node_free0[$n] - $(node_free_kb "$n")))
		drop_all=$((drop_all + pool_mib[i] * 1024))
		((drop >= pool_mib[i] * 1024 - pool_slack_kb &&
			drop <= pool_mib[i] * 1024 + pool_slack_kb + module_allow)) ||
			bad+="node $n's free memory fell by $drop KiB, expected about $((pool_mib[i] * 1024)) KiB (the module's own $module_kb KiB may add to it); "
	done
	# Free memory moves on its own for a while at times (6.12): give
	# it ~10 s to settle.
	for ((try = 0; try < 20; try++)); do
		drop=$((free_a - $(free_kb)))
		((drop >= drop_all - pool_slack_kb &&
			drop <= drop_all + module_allow + pool_slack_kb)) && break
		sleep 0.5
	done
	((drop >= drop_all - pool_slack_kb && drop <= drop_all + module_allow + pool_slack_kb)) ||
		bad+="free memory fell by $drop KiB, expected $drop_all KiB for the pools, plus up to the module's own $module_kb KiB; "
	echo "# pools=$pool_spec: free memory fell by $drop KiB (the module alone took $module_kb KiB)"
	if [[ -n $bad ]]; then
		result FAIL pools_at_load "$bad"
	else
		result PASS pools_at_load
	fi
	if ! out=$(rmmod numabuf 2>&1); then
		result FAIL pools_given_back "rmmod with pools=$pool_spec: $out"
	elif ! free_back "$free_a"; then
		result FAIL pools_given_back "free memory $((free_a - free_now)) KiB below where it was before insmod pools=$pool_spec (margin $margin_kb KiB)"
	else
		result PASS pools_given_back
	fi
fi

# A bad spec: insmod fails with the errno, the module's error names the
# entry, and nothing stays behind.  Its error lines, and only those, are
# accepted in the kernel log.
pools_bad() { # name spec errno-text must-mention
	local name=$1 spec=$2 err=$3 mention=$4 w0 new unexpected out
	w0=$(warn_lines)
	free_a=$(free_kb)
	if out=$(insmod "$ko" pools="$spec" 2>&1); then
		result FAIL "$name" "insmod pools=$spec succeeded"
		rmmod numabuf 2>/dev/null
		return
	fi
	new=$(warn_log | tail -n "+$((w0 + 1))")
	unexpected=$(grep -v 'numabuf: pools: ' <<<"$new")
	grep 'numabuf: pools: ' <<<"$new" >>"$accepted_log"
	if [[ $out != *"$err"* ]]; then
		result FAIL "$name" "insmod pools=$spec: '$out', expected $err"
	elif module_loaded || [[ -e /dev/numabuf ]]; then
		result FAIL "$name" "insmod pools=$spec failed but the module or /dev/numabuf is there"
	elif [[ -n $unexpected ]]; then
		result FAIL "$name" "insmod pools=$spec logged other warnings: $(head -n 3 <<<"$unexpected" | tr '\n' ';')"
	elif ! grep -q 'numabuf: pools: ' <<<"$new"; then
		result FAIL "$name" "insmod pools=$spec failed without a 'numabuf: pools:' error in the kernel log"
	elif ! grep 'numabuf: pools: ' <<<"$new" | grep -qF -- "$mention"; then
		result FAIL "$name" "insmod pools=$spec: the error does not name the bad entry ($mention): $(grep 'numabuf: pools: ' <<<"$new" | head -n 2 | tr '\n' ';')"
	elif ! free_back "$free_a"; then
		result FAIL "$name" "free memory $((free_a - free_now)) KiB below where it was before insmod pools=$spec"
	else
		echo "# pools=$spec: $(grep 'numabuf: pools: ' <<<"$new" | head -n 1)"
		result PASS "$name"
	fi
}
bad_node=$((mem_nodes[-1] + 8))	# no memory there (9 in the 2-node guest)
pools_bad pools_bad_node "$bad_node:1G" "Invalid parameters" "'$bad_node:1G'"
pools_bad pools_bad_size "${mem_nodes[0]}:abc" "Invalid parameters" "'${mem_nodes[0]}:abc'"
# The first entry is reserved before the second fails: it must be undone.
pools_bad pools_bad_second "${mem_nodes[0]}:64M,$bad_node:1G" "Invalid parameters" "'$bad_node:1G'"
pools_bad pools_too_big "${mem_nodes[0]}:100G" "Cannot allocate memory" "on node ${mem_nodes[0]}"
fi

warn1=$(warn_lines)
if ((warn1 > warn0)); then
	result FAIL kernel_log_clean "$((warn1 - warn0)) new warning-or-worse kernel log lines: $(warn_log | tail -n $((warn1 - warn0)) | head -n 3 | tr '\n' ';')"
else
	result PASS kernel_log_clean
fi

summary_and_exit
}
