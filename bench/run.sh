#!/bin/bash
# make bench: run tools/numabuf-bench in one QEMU guest and keep the results.
#
# On the host: build the module for the guest's kernel, boot one two-node
# guest (tests/qemu/guest-run, nodes of BENCH_NODE_MEM each), and there:
# load the module, run numabuf-bench on BENCH_NODE (it reserves the 2 MiB
# huge pages it needs on that node and gives them back), and hand the
# results back on a second virtual disk.  Then write under bench/results/:
#   LINE.md    the report: kernel, date, commit, guest, the bench's tables
#   LINE.csv   one row per method and size
#   LINE.json  the same with the run's settings
#   LINE.png   median cycle time against size, log-log, one line per method
# where LINE is the kernel line (6.1, 6.12).  Nothing is written if the run
# fails.
#
#   bench/run.sh [KERNEL-LINE] [-- BENCH-OPTIONS...]
#       e.g. bench/run.sh 6.12 -- --quick
# Environment: BENCH_KERNEL (default 6.1; the argument wins), BENCH_NODE (1),
# BENCH_NODE_MEM (4G), BENCH_TIMEOUT (guest timeout in seconds, 1800),
# BENCH_ARGS (more numabuf-bench options, split at spaces),
# BENCH_OUT (directory for the results, default bench/results),
# BENCH_PREALLOC (1: QEMU preallocates the guest's RAM, the default; 0:
# lazily, as guest-run does elsewhere),
# BENCH_MODULE_REV (a git revision: build the module from that commit's
# sources instead of the work tree's, e.g. to compare two modules with the
# same benchmark; the report names it).
set -euo pipefail
# Braced so bash parses the whole script before running any of it.
{

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# ---- in the guest ------------------------------------------------------------
if [[ ${1:-} == --in-guest ]]; then
	ko=$2 node=$3
	shift 3
	# The disk guest-run's command line added after its scratch disk.
	out_dev=
	for s in /sys/block/vd*/serial; do
		[[ -r $s && $(<"$s") == numabuf-bench ]] || continue
		out_dev=/dev/$(basename "$(dirname "$s")")
	done
	[[ -n $out_dev ]] || { echo "bench: no output disk in the guest" >&2; exit 1; }
	out=/tmp/bench-out
	mkdir -p "$out"
	insmod "$ko"
	echo "bench: node $node of $(cat /sys/devices/system/node/online), $(nproc) CPUs"
	grep -E '^Node [0-9]+ (MemTotal|MemFree)' /sys/devices/system/node/node*/meminfo || true
	rc=0
	tools/numabuf-bench --node "$node" --reserve-hugepages \
		--csv "$out/bench.csv" --json "$out/bench.json" "$@" \
		>"$out/bench.txt" || rc=$?
	cat "$out/bench.txt"
	echo "bench: numabuf-bench exited $rc"
	echo "$rc" >"$out/status"
	# Nothing of the module may be left behind by the run.
	grep -s . /sys/kernel/debug/numabuf/stats >"$out/stats" || true
	rmmod numabuf || echo "bench: rmmod numabuf failed" >&2
	tar -C "$out" -cf - . | dd of="$out_dev" bs=1M conv=fsync status=none
	# The bench's status travels in the tar; the guest run itself worked.
	exit 0
fi

# ---- on the host -------------------------------------------------------------
line=${BENCH_KERNEL:-6.1}
if (($#)) && [[ $1 != -- ]]; then
	line=$1
	shift
fi
if (($#)); then
	[[ $1 == -- ]] || { echo "bench: usage: bench/run.sh [KERNEL-LINE] [-- BENCH-OPTIONS...]" >&2; exit 2; }
	shift
fi
# shellcheck disable=SC2206 # BENCH_ARGS is split at spaces on purpose
bench_args=(${BENCH_ARGS:-} "$@")
node=${BENCH_NODE:-1}
node_mem=${BENCH_NODE_MEM:-4G}
timeout=${BENCH_TIMEOUT:-1800}
outdir=${BENCH_OUT:-$top/bench/results}

command -v gnuplot >/dev/null || { echo "bench: gnuplot not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
kver=$(tests/qemu/guest-run --resolve "$line")
work=$top/build/bench/$kver
mkdir -p "$work"
if [[ -n ${BENCH_MODULE_REV:-} ]]; then
	rev=$(git rev-parse --verify --short "$BENCH_MODULE_REV^{commit}")
	module_from="commit $rev"
	[[ $BENCH_MODULE_REV == "$rev"* ]] || module_from+=" ($BENCH_MODULE_REV)"
	# Under the work tree, which the guest sees at the same path.
	msrc=$work/module-src
	rm -rf "$msrc"
	mkdir -p "$msrc"
	git archive "$rev" | tar -x -C "$msrc"
	make --no-print-directory -C "$msrc" module KVER="$kver"
	ko=${msrc#"$top"/}/build/$kver/numabuf.ko
else
	module_from="the work tree"
	make --no-print-directory module KVER="$kver"
	ko=build/$kver/numabuf.ko
fi
make --no-print-directory -C tools numabuf-bench
rm -rf "$work/out" "$work/out.img"
# Sparse; the guest writes a tar stream to it.
truncate -s 64M "$work/out.img"
log=$work/guest.log

# QEMU backs guest RAM lazily: the first guest page to touch a frame also
# pays a host page fault, which would be charged to whichever method first
# uses fresh memory.  Preallocated, every method finds RAM as real
# hardware has it (at the cost of all of the guest's RAM on the host for
# the run).
prealloc=()
prealloc_note="guest RAM allocated lazily by QEMU (BENCH_PREALLOC=0)"
if [[ ${BENCH_PREALLOC:-1} == 1 ]]; then
	prealloc=(--qemu-arg -mem-prealloc)
	prealloc_note="guest RAM preallocated (-mem-prealloc)"
fi

# Other emulators on the same cores skew the times: say so in the report.
others=$(pgrep -c -x qemu-system-x86) || true
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
echo "== $started: numabuf-bench in a guest running $kver (2 nodes of $node_mem, node $node)"
rc=0
tests/qemu/guest-run --timeout "$timeout" --node-mem "$node_mem" --log "$log" \
	"${prealloc[@]}" \
	--qemu-arg -drive --qemu-arg "file=$work/out.img,format=raw,if=none,id=benchout" \
	--qemu-arg -device --qemu-arg virtio-blk-pci,drive=benchout,serial=numabuf-bench \
	"$kver" -- bench/run.sh --in-guest "$ko" "$node" "${bench_args[@]}" || rc=$?
elapsed=$((SECONDS - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if ((rc != 0)); then
	echo "bench: the guest run failed (guest-run exit $rc); log: $log" >&2
	exit 1
fi
mkdir -p "$work/out"
tar -C "$work/out" -xf "$work/out.img"
for f in bench.txt bench.csv bench.json status; do
	[[ -s $work/out/$f ]] || { echo "bench: the guest left no $f" >&2; exit 1; }
done

mkdir -p "$outdir"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git -C "$top" status --porcelain --untracked-files=no 2>/dev/null | grep -q .; then
	dirty=", with uncommitted changes"
fi
{
	echo "# numabuf benchmark: Debian $kver"
	echo
	echo "Recorded by \`make bench\` (bench/run.sh) on $started, commit $commit$dirty;"
	echo "the module built from $module_from."
	echo "Guest: QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'),"
	echo "TCG software emulation (-cpu max), 2 NUMA nodes of $node_mem, one CPU each,"
	echo "$prealloc_note;"
	echo "host $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)."
	echo "Times are emulated-CPU times: compare methods with each other, not with"
	echo "real hardware.  Whole run, boot included: ${elapsed} s.  Host load average"
	echo "$load_before before, $load_after after; ${others:-0} other QEMU guest(s) running at the start."
	echo "numabuf-bench options: --node $node --reserve-hugepages ${bench_args[*]}"
	# What the kernel zeroes on its own: it weighs on every method.
	if grep -qx 'CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y' "/boot/config-$kver" 2>/dev/null; then
		echo "The kernel zeroes every page it allocates (init_on_alloc=1, Debian's default)."
	fi
	echo
	echo "![median cycle time against size]($line.png)"
	echo
	# The bench's own report, one level down.
	sed 's/^# /## /' "$work/out/bench.txt"
	if [[ -s $work/out/stats ]]; then
		echo
		echo "/sys/kernel/debug/numabuf/stats after the run:"
		echo
		sed 's/^/    /' "$work/out/stats"
	fi
} >"$outdir/$line.md"
cp "$work/out/bench.csv" "$outdir/$line.csv"
cp "$work/out/bench.json" "$outdir/$line.json"
# The methods with a median at some size get a line; the rest a note.
with_data() { awk -F, -v want="$1" 'NR > 1 && $6 != "" && ($1 ~ /^ioctl-/) == want && !seen[$1]++ { printf "%s ", $1 }' "$outdir/$line.csv"; }
missing=$(awk -F, 'NR > 1 { all[$1] = 1 } NR > 1 && $6 != "" { ok[$1] = 1 }
	END { for (m in all) if (!(m in ok)) printf "%s ", m }' "$outdir/$line.csv")
gnuplot -e "csv='$outdir/$line.csv'; png='$outdir/$line.png'" \
	-e "title='numabuf-bench: median cycle time, $kver under QEMU TCG, $started'" \
	-e "cycles='$(with_data 0)'; allocs='$(with_data 1)'; missing='${missing% }'" \
	"$top/bench/plot.gp"
echo "bench: wrote $outdir/$line.{md,csv,json,png} (${elapsed} s in the guest)"
exit "$(<"$work/out/status")"
}
