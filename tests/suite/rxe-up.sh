#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rxe-up.sh [up|down]: soft-RoCE for the RDMA tests, inside a test guest
# only (it changes the guest's network).  `up` (the default) loads what
# Debian builds as modules (the debug kernel has them built in), makes an
# interface nbd0 with 192.0.2.1/24 (a documentation range; the guest has
# no network and nothing leaves it) and MTU 9000 and an rxe device nbrxe0
# on it, then prints the device's name.  Idempotent.  `down` removes both.
#
# nbd0 is one end of a veth pair (peer nbd0p) where the kernel has veth,
# else a dummy interface.  A dummy has no link speed, and ib_core's
# ib_get_eth_speed() then warns "nbd0 speed is unknown, defaulting to
# 1000" at every port query (ibv_query_port); veth says 10000 Mb/s.  The
# traffic never reaches either: rxe loops packets to its own address back
# itself.  MTU 9000 gives the rxe port an MTU of 4096 (1024 at 1500), four
# times fewer packets per byte.
# Exit status 0 on success, 77 when the kernel has no rdma_rxe (a skip),
# 1 otherwise with the reason on stderr.
set -u
dev=nbrxe0
net=nbd0

die() { echo "rxe-up: $*" >&2; exit 1; }

case ${1:-up} in
down)
	rdma link delete "$dev" 2>/dev/null
	ip link delete "$net" 2>/dev/null	# a veth's peer goes with it
	exit 0
	;;
up) ;;
*) die "usage: rxe-up.sh [up|down]" ;;
esac

if [[ ! -d /sys/module/rdma_rxe ]]; then
	# The kernel's own request_module() cannot reach the 9p root's
	# modprobe in this guest (PLATFORM.md), so crc32 for rxe's ICRC
	# is loaded by hand; missing modules are fine when built in.
	for m in crc32_generic veth ib_uverbs rdma_rxe; do
		modprobe -q "$m" 2>/dev/null
	done
	# Built in (the debug kernel), rdma_rxe has no /sys/module entry.
	if [[ ! -d /sys/module/rdma_rxe ]] &&
		! gzip -dc /proc/config.gz 2>/dev/null | grep -qx 'CONFIG_RDMA_RXE=y'; then
		echo "rxe-up: no rdma_rxe in this kernel" >&2
		exit 77
	fi
fi
command -v rdma >/dev/null || die "no rdma tool (iproute2)"

if [[ ! -d /sys/class/net/$net ]]; then
	if ! ip link add "$net" type veth peer name "${net}p" 2>/dev/null; then
		modprobe -q dummy 2>/dev/null
		ip link add "$net" type dummy || die "cannot create veth or dummy interface $net"
	fi
	ip link set "$net" mtu 9000 || die "cannot set the MTU of $net"
	ip addr add 192.0.2.1/24 dev "$net" || die "cannot address $net"
fi
if [[ -d /sys/class/net/${net}p ]]; then
	ip link set "${net}p" mtu 9000 || die "cannot set the MTU of ${net}p"
	ip link set "${net}p" up || die "cannot bring ${net}p up"
fi
ip link set "$net" up || die "cannot bring $net up"
if [[ ! -d /sys/class/infiniband/$dev ]]; then
	rdma link add "$dev" type rxe netdev "$net" || die "rdma link add $dev failed"
fi
# The verbs device node appears once ib_uverbs has registered it.
for _ in $(seq 50); do
	ls /sys/class/infiniband/$dev/device/infiniband_verbs/ >/dev/null 2>&1 && break
	compgen -G "/sys/class/infiniband_verbs/uverbs*" >/dev/null && break
	sleep 0.1
done
compgen -G "/dev/infiniband/uverbs*" >/dev/null || die "no /dev/infiniband/uverbs* after adding $dev"
echo "$dev"
