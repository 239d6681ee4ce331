#!/bin/bash
# make rdmabench: run tools/numabuf-rdmabench in one QEMU guest on
# soft-RoCE and keep its report.
#
# On the host: build the module for the guest's kernel and the bench, boot
# one two-node guest (tests/qemu/guest-run, nodes of RDMA_BENCH_NODE_MEM
# each), and there: load the module, bring up soft-RoCE
# (tests/suite/rxe-up.sh), run numabuf-rdmabench (it raises the node's
# nr_hugepages for its hugetlbfs memory and puts it back).  The report goes
# to bench/results/rdma-LINE.md (LINE: the kernel line, 6.1 or 6.12): how
# the run was made, then the bench's tables (ibv_reg_mr/ibv_dereg_mr time
# per size and RDMA WRITE/READ throughput, numabuf against malloc + mlock
# and 2 MiB hugetlbfs pages, with ratios).  Nothing is written if the run
# fails.
#
#   bench/rdma.sh [KERNEL-LINE] [-- BENCH-OPTIONS...]
#       e.g. bench/rdma.sh 6.12 -- --quick
# Environment: BENCH_KERNEL (default 6.1; the argument wins), BENCH_ARGS
# (more numabuf-rdmabench options, split at spaces),
# RDMA_BENCH_NODE_MEM (4G), RDMA_BENCH_TIMEOUT (guest timeout in seconds,
# 1200), BENCH_OUT (directory for the results, default bench/results).
set -euo pipefail
{

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# ---- in the guest ------------------------------------------------------------
if [[ ${1:-} == --in-guest ]]; then
	ko=$2
	shift 2
	# Only errors on the console: the bench's report must come back whole.
	dmesg -n 1 || true
	insmod "$ko"
	rc=0
	dev=$(tests/suite/rxe-up.sh) || rc=$?
	if ((rc == 77)); then
		echo "rdmabench: no soft-RoCE (rdma_rxe) in this kernel" >&2
		exit 77
	fi
	((rc == 0)) || { echo "rdmabench: rxe-up.sh failed ($rc)" >&2; exit 1; }
	echo "==== rdmabench report begin"
	tools/numabuf-rdmabench -d "$dev" "$@" || rc=$?
	echo "==== rdmabench report end, exit $rc"
	rmmod numabuf || { echo "rdmabench: rmmod numabuf failed" >&2; rc=1; }
	exit "$rc"
fi

# ---- on the host -------------------------------------------------------------
line=${BENCH_KERNEL:-6.1}
if (($#)) && [[ $1 != -- ]]; then
	line=$1
	shift
fi
if (($#)); then
	[[ $1 == -- ]] || { echo "rdmabench: usage: bench/rdma.sh [KERNEL-LINE] [-- BENCH-OPTIONS...]" >&2; exit 2; }
	shift
fi
# shellcheck disable=SC2206 # BENCH_ARGS is split at spaces on purpose
bench_args=(${BENCH_ARGS:-} "$@")
node_mem=${RDMA_BENCH_NODE_MEM:-4G}
timeout=${RDMA_BENCH_TIMEOUT:-1200}
outdir=${BENCH_OUT:-$top/bench/results}

kver=$(tests/qemu/guest-run --resolve "$line")
work=$top/build/bench/rdma-$kver
mkdir -p "$work"
make --no-print-directory module KVER="$kver"
make --no-print-directory -C tools numabuf-rdmabench
log=$work/guest.log
out=$work/console.txt

others=$(pgrep -c -x qemu-system-x86) || true
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
echo "== $started: numabuf-rdmabench in a guest running $kver (2 nodes of $node_mem)"
rc=0
tests/qemu/guest-run --timeout "$timeout" --node-mem "$node_mem" --log "$log" \
	"$kver" -- bench/rdma.sh --in-guest "build/$kver/numabuf.ko" "${bench_args[@]}" \
	| tr -d '\r' | tee "$out" || rc=$?
elapsed=$((SECONDS - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
status=$(sed -n 's/^==== rdmabench report end, exit \([0-9]*\)$/\1/p' "$out")
if [[ $status != 0 ]]; then
	echo "rdmabench: the run failed (guest-run ${rc}, bench exit ${status:-none}); log: $log" >&2
	exit 1
fi

mkdir -p "$outdir"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git -C "$top" status --porcelain --untracked-files=no 2>/dev/null | grep -q .; then
	dirty=", with uncommitted changes"
fi
{
	echo "# numabuf RDMA benchmark: Debian $kver"
	echo
	echo "Recorded by \`make rdmabench\` (bench/rdma.sh) on $started, commit $commit$dirty."
	echo "Guest: QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'),"
	echo "TCG software emulation (-cpu max), 2 NUMA nodes of $node_mem, one CPU each;"
	echo "soft-RoCE (rdma_rxe) on a dummy netdev, two RC queue pairs of the one device"
	echo "connected to each other. Host $(nproc) CPUs; ${others:-0} other QEMU guest(s)"
	echo "running at the start; host load average $load_before before, $load_after after."
	echo "Whole run, boot included: ${elapsed} s."
	echo "Times are emulated-CPU times and rxe is a software device: compare the"
	echo "memory kinds with each other, not with hardware."
	echo "numabuf-rdmabench options: ${bench_args[*]:-(defaults)}"
	echo
	echo '```'
	sed -n '/^==== rdmabench report begin$/,/^==== rdmabench report end/p' "$out" | sed '1d;$d'
	echo '```'
} >"$outdir/rdma-$line.md"
echo "rdmabench: wrote $outdir/rdma-$line.md (${elapsed} s)"
}
