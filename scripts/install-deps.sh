#!/bin/sh
# Install everything numabuf needs to build, lint and test on Debian 12.
# Resolves the kernels through Debian's meta-packages, so no ABI number is
# hard-coded here: the 6.1 and 6.12 lines (images and headers), 6.12 -rt
# (image and headers: the suite runs on it) and the headers of 6.1 -rt and
# the -cloud flavours of both (make lint builds against them).
#
#   scripts/install-deps.sh [--debug-kernel]
#
# --debug-kernel installs only what tests/qemu/debug-kernel/build.sh needs
# (.ci/run starts that build while the rest installs).
set -eu

PKGS="build-essential pkg-config kmod cpio busybox-static qemu-system-x86
linux-image-amd64 linux-headers-amd64
linux-image-6.12-amd64 linux-headers-6.12-amd64
linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
linux-headers-rt-amd64 linux-headers-cloud-amd64 linux-headers-6.12-cloud-amd64
libmnl-dev libnl-3-dev libnl-genl-3-dev libnuma-dev numactl dkms sparse dmsetup
linux-source-6.1
mmdebstrap
bc bison flex libelf-dev libssl-dev dwarves python3 python3-yaml xz-utils gnuplot-nox
gcc-multilib
groff-base man-db
rdma-core ibverbs-providers libibverbs-dev ibverbs-utils iproute2
dpkg-dev debhelper dh-dkms lintian git pkgconf systemd udev adduser
libdpdk-dev"

if [ "${1-}" = --debug-kernel ]; then
	PKGS="build-essential linux-source-6.1 bc bison flex libelf-dev libssl-dev
python3 xz-utils kmod cpio"
elif [ $# -gt 0 ]; then
	echo "install-deps: unknown argument '$1' (--debug-kernel or none)" >&2
	exit 2
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
