#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/host/dkms.sh: the module builds and installs through DKMS for every
# installed plain 6.1 and 6.12 kernel with headers, and uninstalls cleanly.
#
# Copies the working tree (without build/ and .git) to a temporary source
# tree as numabuf-<PACKAGE_VERSION>, then with a temporary DKMS tree:
#   dkms add; per kernel: dkms build, dkms install, the .ko is under
#   /lib/modules/KVER/, modinfo shows vermagic KVER and modprobe resolves
#   numabuf to it; then dkms remove --all and the .ko is gone.
# Installing does write /lib/modules/KVER (the module and depmod's files);
# a trap undoes that on any exit.  Modules are not signed (no MOK key is
# generated under /var/lib/dkms).
#
# Exit status: 0 pass, 77 skip (no dkms, not root, no kernel headers, or a
# numabuf module already installed that this test would overwrite), else
# fail.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

skip() {
	echo "SKIP dkms: $*"
	exit 77
}

fail() {
	echo "FAIL dkms: $*"
	exit 1
}

command -v dkms >/dev/null || skip "dkms is not installed"
[[ $(id -u) == 0 ]] || skip "dkms install needs root"
[[ -f $top/dkms.conf ]] || fail "no dkms.conf at the top of the repository"

# dkms.conf is shell, but it expands DKMS variables; read the two values.
conf_value() {
	sed -n "s/^$1=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}\$/\1/p" "$top/dkms.conf" | head -n 1
}
name=$(conf_value PACKAGE_NAME)
version=$(conf_value PACKAGE_VERSION)
[[ $name == numabuf ]] || fail "dkms.conf: PACKAGE_NAME is '$name', expected numabuf"
[[ -n $version ]] || fail "dkms.conf: no PACKAGE_VERSION"
[[ $(conf_value 'BUILT_MODULE_NAME\[0\]') == numabuf ]] ||
	fail "dkms.conf: BUILT_MODULE_NAME[0] is not numabuf"

# The kernels: every plain 6.1 and 6.12 release with headers installed (the
# -rt and -cloud flavours build the same sources the same way; make lint
# builds against each of them with W=1).
kernels=()
for d in /lib/modules/*/build; do
	k=$(basename "$(dirname "$d")")
	[[ -d $d/ ]] || continue
	case $k in
	*-rt-amd64 | *-cloud-amd64) ;;
	6.1.* | 6.12.*) kernels+=("$k") ;;
	esac
done
((${#kernels[@]})) || skip "no 6.1 or 6.12 kernel headers installed"
for k in "${kernels[@]}"; do
	for f in /lib/modules/"$k"/{updates,extra}/{,dkms/}numabuf.ko*; do
		[[ -e $f ]] && skip "$f is already installed; this test would overwrite it"
	done
done

work=$(mktemp -d /tmp/numabuf-dkms.XXXXXX)
src=$work/src/$name-$version
dkms_opts=(-m "$name" -v "$version" --sourcetree "$work/src" --dkmstree "$work/dkms")
# dkms signs modules with /var/lib/dkms/mok.key, creating one if missing;
# a sign-file that does not exist makes it skip signing instead.
export sign_file=/nonexistent/sign-file

installed=()
cleanup() {
	local st=$? k f
	set +e
	if [[ -d $work/dkms/$name ]]; then
		dkms remove "${dkms_opts[@]}" --all >"$work/remove.log" 2>&1 ||
			cat "$work/remove.log"
	fi
	# Whatever dkms left behind in /lib/modules goes too.
	for k in "${installed[@]}"; do
		for f in /lib/modules/"$k"/{updates,extra}/{,dkms/}numabuf.ko*; do
			[[ -e $f ]] && rm -f "$f" && depmod -a "$k"
		done
	done
	rm -rf "$work"
	exit "$st"
}
trap cleanup EXIT

run() { # run LOG CMD...: quiet unless it fails
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log"
		fail "'$*' failed (above: the end of its output)"
	fi
}

mkdir -p "$src" "$work/dkms"
tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
# A build in the source would be copied and confuse Kbuild; start clean.
find "$src" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \) -delete

run "$work/add.log" dkms add "${dkms_opts[@]}"
for k in "${kernels[@]}"; do
	echo "# dkms build and install for $k"
	run "$work/build-$k.log" dkms build "${dkms_opts[@]}" -k "$k"
	installed+=("$k")
	run "$work/install-$k.log" dkms install "${dkms_opts[@]}" -k "$k"

	ko=$(find "/lib/modules/$k/" -path "/lib/modules/$k/kernel" -prune -o \
		-name 'numabuf.ko*' -print | head -n 1)
	[[ -n $ko ]] || fail "$k: no numabuf.ko under /lib/modules/$k after dkms install"
	echo "# installed $ko"
	vermagic=$(modinfo -F vermagic "$ko" | awk '{ print $1 }')
	[[ $vermagic == "$k" ]] || fail "$k: $ko has vermagic '$vermagic'"
	[[ $(modinfo -F name "$ko") == numabuf ]] || fail "$k: modinfo name is not numabuf"
	resolved=$(modinfo -k "$k" -n numabuf 2>/dev/null) ||
		fail "$k: modprobe's index (depmod) does not know numabuf"
	[[ $resolved == "$ko" ]] || fail "$k: modinfo -k $k -n numabuf gives '$resolved', not '$ko'"
	status=$(dkms status "${dkms_opts[@]}" -k "$k" 2>/dev/null)
	[[ $status == *installed* ]] || fail "$k: dkms status does not say installed: $status"
	echo "PASS dkms_install_$k"
done

run "$work/remove.log" dkms remove "${dkms_opts[@]}" --all
for k in "${kernels[@]}"; do
	for f in /lib/modules/"$k"/{updates,extra}/{,dkms/}numabuf.ko*; do
		[[ -e $f ]] && fail "$k: $f is still there after dkms remove --all"
	done
	if modinfo -k "$k" -n numabuf >/dev/null 2>&1; then
		fail "$k: modprobe's index still knows numabuf after dkms remove"
	fi
	echo "PASS dkms_remove_$k"
done
echo "PASS dkms"
