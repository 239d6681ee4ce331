#!/bin/bash
# The whole test suite, as `make check` runs it (after building lib and
# tools):
#   - each host test tests/host/*.sh (one test each: exit 0 pass, 77 skip,
#     anything else fail);
#   - for each kernel line (default 6.1-debug, 6.1, 6.12 and 6.12-rt):
#     build the module against that kernel, boot it in a QEMU guest
#     (tests/qemu/guest-run) and run tests/suite/guest-suite.sh there, which
#     prints PASS/FAIL/SKIP lines and ends with "N passed, N failed[, N
#     skipped]";
#   - the Debian packages (tests/pkg/install-test.sh): built from this
#     tree, installed on a fresh Debian 12 image (DKMS builds the module
#     for 6.1 and 6.12), the image booted with systemd in a guest, the
#     packages purged ("pkg"; NB_CHECK_PKG=0 or --no-pkg leaves it out).
#   - 6.1-debug, the sanitizer lane, first builds the debug kernel
#     (tests/qemu/debug-kernel/build.sh: Debian's 6.1 source with KASAN,
#     lockdep, kmemleak, DEBUG_VM, fault injection; cached in
#     build/debug-kernel) and builds the module against that tree.  The
#     suite runs with NB_SLOW=3 (test timeouts x3); any KASAN, lockdep or
#     kmemleak report fails the lane.
# These jobs run in three tracks side by side, each track's jobs one after
# another: the debug line's build and suite; the other kernel lines'
# suites; the host tests, pkg, then every line's DMA lanes (each once its
# line's module is built).  Every guest runs on one host thread; at most
# two suite guests (5 GiB nodes, 4 GiB for the debug kernel) and one small
# guest (pkg's or a DMA machine) run at once.  The work is CPU-bound, so
# on 2 CPUs the tracks mostly share the time: they are laid out to end
# together.  --jobs 1 runs everything in one track.  Each job's
# output goes to build/check/JOB.out, printed whole when its track ends;
# a line per job says when it starts and ends.
# Ends with one line "N passed, N failed" (totals); exits 1 if anything
# failed.
#
#   tests/check.sh [--jobs 1] [--kernel LINE]... [--no-pkg]
#                                      e.g. --kernel 6.12 --kernel 6.1-debug
# Environment: KERNELS="6.1-debug 6.1 6.12 6.12-rt" (the same as --kernel),
# NB_CHECK_JOBS (the same as --jobs: 1 for one track, default 3),
# GUEST_TIMEOUT (seconds per guest suite run, default 2400; the debug lane
# gets 3 times as long).  Logs: build/check/.
set -euo pipefail
# Braced so bash parses the whole script before running any of it:
# editing the file while a run is in flight cannot derail that run.
{

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

kernels=()
jobs=${NB_CHECK_JOBS:-3}
pkg=${NB_CHECK_PKG:-1}
while (($#)); do
	case $1 in
	--kernel) kernels+=("${2:?--kernel needs a kernel line such as 6.1}"); shift 2 ;;
	--jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
	--no-pkg) pkg=0; shift ;;
	-h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
if ((${#kernels[@]} == 0)); then
	read -r -a kernels <<<"${KERNELS:-6.1-debug 6.1 6.12 6.12-rt}"
fi
guest_timeout=${GUEST_TIMEOUT:-2400}
logdir=$top/build/check
mkdir -p "$logdir"

# Each step records its result as a line "LANE|PASSED|FAILED|SKIPPED|NOTE"
# in a file of its own (kernel lines run in background jobs), summed up at
# the end.
rm -f "$logdir"/results-* "$logdir"/built-* "$logdir"/unbuilt-*
results_file=$logdir/results-00-build

section() {
	printf '\n========== %s ==========\n' "$*"
}

# record LANE PASSED FAILED SKIPPED [NOTE]
record() {
	printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "${5-}" >>"$results_file"
}

# host_tests: every tests/host/*.sh, each recorded as one test.
host_tests() {
	local t rc
	for t in tests/host/*.sh; do
		[[ -e $t ]] || continue
		section "host: $t"
		rc=0
		"$t" || rc=$?
		case $rc in
		0) record "host $t" 1 0 0 ;;
		77) record "host $t" 0 0 1 ;;
		*) record "host $t" 0 1 0 "exit $rc" ;;
		esac
	done
}

# The suite's test binaries are the same for every kernel.
section "build tests/suite"
if make -C tests/suite; then
	record "build tests/suite" 1 0 0
else
	record "build tests/suite" 0 1 0 "make failed"
fi

# guest_lane NAME KVER TIMEOUT NODE_MEM [--dma MODE] [VAR=VALUE...]: one
# guest suite run, recorded as NAME.
guest_lane() {
	local name=$1 kver=$2 timeout=$3 node_mem=$4 dma=() append log rc note summary p f s lane_start
	shift 4
	if [[ ${1-} == --dma ]]; then
		dma=(--dma "$2")
		shift 2
	fi
	section "$name"
	lane_start=$SECONDS
	# The log holds the guest's console (the suite's output) and its
	# kernel log; removed first so a stale one is never parsed.
	log=$logdir/${name// /-}.log
	rm -f "$log"
	rc=0
	# Debian's kernels zero every page they hand out (init_on_alloc=1),
	# which would hide a module that forgets to: 6.1 and the debug lane
	# turn that off.  6.12 keeps Debian's default, the setting under
	# which the module leaves the zeroing of a range to the kernel
	# (alloc.c), so the suite's zero checks cover that path too.
	# The suite takes 1 GiB buffers on each node, after the other tests
	# have left unmovable pages here and there: nodes of 5 GiB give node
	# 0 two 1 GiB windows free of boot-time allocations (one with 4 GiB,
	# and on 6.12 it was no longer clean by the time t_large ran).  The
	# debug lane keeps 4 GiB (KASAN's shadow takes an eighth of RAM and
	# its t_large skips the 1 GiB steps either way).
	append=(--append init_on_alloc=0)
	[[ $kver == 6.12* ]] && append=()
	# Every guest runs its two vCPUs on one QEMU thread (--tcg-single).
	# With a host thread per vCPU (MTTCG) guests died of an int3 at a
	# jump label (__schedule() on 6.12, ttwu_do_activate() on 6.12-rt)
	# just after a test enabled kprobe events: text patched by one vCPU
	# while the other ran it, an emulator fault.  On a 2-CPU machine
	# running two guests and a build, one thread each also wastes less:
	# the -rt fuzzer's 4 threads took 5 minutes with MTTCG, 1 without.
	tests/qemu/guest-run --timeout "$timeout" --log "$log" --tcg-single \
		--node-mem "$node_mem" "${append[@]}" "${dma[@]}" "$kver" -- \
		env "$@" tests/suite/guest-suite.sh "build/$kver/numabuf.ko" || rc=$?

	# The suite's own count, then what guest-run saw around it: a crash,
	# a timeout or a problem in the kernel log is a failure the suite
	# cannot count itself.
	note=
	summary=$(grep -sE '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1) || true
	if [[ -n $summary ]]; then
		read -r p _ f _ s _ <<<"${summary//,/}"
		s=${s:-0}
	else
		p=0 f=1 s=0
		note="no summary line"
	fi
	case $rc in
	0) ;;
	122) note="guest kernel log has problems"; f=$((f + 1)) ;;
	123) note="guest crashed"; [[ -z $summary ]] || f=$((f + 1)) ;;
	124) note="guest timed out after $timeout s"; [[ -z $summary ]] || f=$((f + 1)) ;;
	125) note="guest-run failed"; [[ -z $summary ]] || f=$((f + 1)) ;;
	*) if ((f == 0)); then note="suite exited $rc but counted no failure"; f=1; fi ;;
	esac
	record "$name" "$p" "$f" "$s" "${note:+$note; }$((SECONDS - lane_start)) s; log: ${log#"$top"/}"
}

# kernel_line LINE [PART]: build the module for one kernel line and run its
# lanes.  PART "suite" builds and runs the plain machine's suite only; "dma"
# waits for that build (the marker build/check/built-LINE) and runs the DMA
# lanes only, so that the two can run in different tracks.
kernel_line() {
	local sel=$1 part=${2:-all} kdir timeout suite_env kver node_mem dma_modes mode
	# Per lane: the kernel tree to build against (empty: the installed
	# headers), the guest timeout and what the suite's environment adds.
	kdir=
	timeout=$guest_timeout
	suite_env=()
	case $sel in
	*-debug)
		# The sanitizer lane: its kernel is built here, not installed.
		section "$sel: build the debug kernel"
		if [[ $part == dma ]]; then
			echo "check: built by the $sel job"
		elif ! tests/qemu/debug-kernel/build.sh; then
			record "$sel kernel build" 0 1 0 "tests/qemu/debug-kernel/build.sh failed"
			return
		fi
		kdir=${NB_DEBUG_KERNEL_DIR:-$top/build/debug-kernel}
		# KASAN, lockdep and kmemleak make the emulated guest 5-10
		# times slower: longer test timeouts, a longer guest timeout.
		timeout=$((guest_timeout * 3))
		# KASAN's quarantine keeps freed slab objects (up to 1/32 of
		# RAM, 256 MiB with 4 GiB nodes) from going back to the page
		# allocator.  guest-suite.sh fills it before the first
		# measurement (nb_slabfill), but it still moves by a few MiB
		# as objects come and go.  The Debian lanes keep the tight
		# margins; here the module's counters and kmemleak do the
		# fine-grained leak checking.
		# The fuzzer's 1,000,000 ioctls take 9-10 minutes here, the
		# kill storm's 1,000 processes 2 and t_stress's 4 x 2,000
		# cycles 4: the debug lane runs 100,000 ioctls, 250 processes
		# and 4 x 500 cycles (KASAN and lockdep see every path each
		# reaches; volume adds little there).
		suite_env=(NB_SLOW=3 NB_FREE_MARGIN_KB=8192 NB_UNLOAD_MARGIN_KB=131072
			NB_FUZZ_CALLS=100000 NB_KILLSTORM_PROCS=250 NB_STRESS_CYCLES=500)
		;;
	*)
		# The Debian lanes: 300,000 fuzzer ioctls (1-4 minutes a
		# lane) rather than t_fuzz's default 1,000,000, to keep CI
		# within its hour; the kill storm and t_stress at full count.
		suite_env=(NB_FUZZ_CALLS=300000)
		;;
	esac

	if [[ $part == dma ]]; then
		# The other part records any failure to build.
		section "$sel: wait for the module build"
		while [[ ! -e $logdir/built-$sel && ! -e $logdir/unbuilt-$sel ]]; do
			sleep 5
		done
		[[ -e $logdir/built-$sel ]] || return 0
		kver=$(<"$logdir/built-$sel")
		kernel_lanes
		return
	fi
	# A kernel line that is not installed is a failure, not a skip: CI
	# must test both lines.
	if ! kver=$(tests/qemu/guest-run --resolve "$sel"); then
		section "kernel $sel"
		echo "check: no $sel kernel installed (scripts/install-deps.sh installs both lines)"
		record "kernel $sel" 0 1 0 "not installed"
		return
	fi

	section "$kver: build the module"
	if ! make -C "$top" module KVER="$kver" ${kdir:+KDIR="$kdir"}; then
		record "$kver module build" 0 1 0 "make module failed"
		return
	fi
	# The test modules (tests/modules: nb_importer.ko, which the DMA
	# tests load, and nb_pte.ko, t_cache's) go to build/<kver>/tests/modules/, where the suite
	# looks for them.
	section "$kver: build the test modules"
	if ! make -C "$top" test-modules KVER="$kver" ${kdir:+KDIR="$kdir"}; then
		record "$kver test modules build" 0 1 0 "make test-modules failed"
		return
	fi
	echo "$kver" >"$logdir/built-$sel"
	kernel_lanes
}

# kernel_lanes: kernel_line's lanes (its variables in scope).
kernel_lanes() {
	# The suite on the plain machine, then the device DMA tests
	# (t_dma_*) on guest-run's --dma machine, with the IOMMU translating
	# and in passthrough; the debug and -rt lanes in translation only
	# (passthrough maps nothing the kernel flavour could change, and CI's
	# hour is short).
	node_mem=5G
	[[ $sel == *-debug ]] && node_mem=4G
	dma_modes=(translate passthrough)
	[[ $sel == *-debug || $sel == *-rt ]] && dma_modes=(translate)
	[[ $part == dma ]] ||
		guest_lane "$kver guest suite" "$kver" "$timeout" "$node_mem" "${suite_env[@]}"
	[[ $part == suite ]] && return
	for mode in "${dma_modes[@]}"; do
		guest_lane "$kver dma $mode" "$kver" "$timeout" 4G --dma "$mode" \
			"${suite_env[@]}" NB_DMA="$mode"
	done
}

# pkg_lane: the packages' install, boot and purge test, recorded from its
# summary line (a failure on top if it stopped without counting one).
pkg_lane() {
	local log=$logdir/pkg-install-test.log rc=0 summary p f start=$SECONDS
	section "pkg: tests/pkg/install-test.sh"
	tests/pkg/install-test.sh >"$log" 2>&1 || rc=$?
	cat "$log"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1) || true
	p=0 f=1
	[[ -z $summary ]] || read -r p _ f _ <<<"$summary"
	((rc == 0 || f > 0)) || f=1
	record "pkg install-test" "$p" "$f" 0 "$((SECONDS - start)) s; log: ${log#"$top"/}"
}
# The tracks (see the top): jobs are "host", "pkg" or a kernel line.
tracks=()
if ((jobs <= 1)); then
	t="host ${kernels[*]}"
	((pkg == 0)) || t+=" pkg"
	tracks=("$t")
else
	debug_lines=() other_lines=()
	for sel in "${kernels[@]}"; do
		if [[ $sel == *-debug ]]; then
			debug_lines+=("$sel")
		else
			other_lines+=("$sel")
		fi
	done
	# Every line's DMA lanes (small guests) run in the third track,
	# after the host tests and pkg, each once its line's module is
	# built: the first two tracks then hold only the suites (the
	# debug kernel's build and suite, the longest chain; the other
	# lines' suites), and the three tracks end at about the same time.
	# At most two suite guests (5 GiB nodes, 4 GiB for the debug
	# kernel) run at once.
	t=
	for sel in "${debug_lines[@]}"; do
		t+="${t:+ }$sel:suite"
	done
	[[ -z $t ]] || tracks+=("$t")
	t=
	for sel in "${other_lines[@]}"; do
		t+="${t:+ }$sel:suite"
	done
	[[ -z $t ]] || tracks+=("$t")
	t=host
	((pkg == 0)) || t+=" pkg"
	for sel in "${debug_lines[@]}" "${other_lines[@]}"; do
		t+=" $sel:dma"
	done
	tracks+=("$t")
fi

# run_track N JOB...: the jobs one after another, each recorded in its own
# results file and its output in build/check/JOB.out.
run_track() {
	local n=$1 job i=0 start
	shift
	for job in "$@"; do
		i=$((i + 1))
		results_file=$logdir/$(printf 'results-%d%d-%s' "$n" "$i" "$job")
		start=$SECONDS
		echo "check: $job started at $(date -u +%T); output: build/check/$job.out"
		rc=0
		case $job in
		host) host_tests ;;
		pkg) pkg_lane ;;
		*:suite | *:dma) kernel_line "${job%:*}" "${job##*:}" ;;
		*) kernel_line "$job" ;;
		esac >"$logdir/$job.out" 2>&1 || rc=$?
		# A suite part that stopped before its build was done
		# releases its DMA part.
		[[ $job != *:suite || -e $logdir/built-${job%:*} ]] ||
			touch "$logdir/unbuilt-${job%:*}"
		# A job records each of its lanes; one that returns an error
		# of its own is a failure on top.
		((rc == 0)) || record "$job" 0 1 0 "stopped with status $rc"
		echo "check: $job ended at $(date -u +%T) after $((SECONDS - start)) s"
	done
}

pids=()
for n in "${!tracks[@]}"; do
	read -r -a track_jobs <<<"${tracks[n]}"
	run_track "$((n + 1))" "${track_jobs[@]}" &
	pids+=($!)
done
for n in "${!tracks[@]}"; do
	wait "${pids[n]}" || true
	read -r -a track_jobs <<<"${tracks[n]}"
	for job in "${track_jobs[@]}"; do
		section "$job: output"
		cat "$logdir/$job.out"
	done
done

total_pass=0
total_fail=0
total_skip=0
results=()
while IFS='|' read -r lane p f sk note; do
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + sk))
	results+=("$(printf '%-40s %s passed, %s failed, %s skipped' "$lane" "$p" "$f" "$sk")${note:+ ($note)}")
done < <(cat "$logdir"/results-*)

section "summary"
printf '%s\n' "${results[@]}"
echo "$total_skip skipped"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
exit
}
