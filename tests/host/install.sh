#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/host/install.sh: "make install DESTDIR=..." writes nothing outside
# DESTDIR and installs exactly the expected files, and the installed
# numabuf.pc (and the build tree's numabuf-uninstalled.pc) build programs.
#
# A scratch copy of the tree is built first (the module against the newest
# installed kernel headers, lib, tools).  Then, in a private mount
# namespace where every file system is remounted read-only except the
# scratch directory (its own bind mount), "make install DESTDIR=$tmp/dest"
# runs: any write elsewhere (a module in the real /lib/modules, depmod, a
# group) fails it with EROFS.  The staged tree must hold exactly the files
# listed below, for the default directories (PREFIX=/usr/local, udev's and
# systemd's directories as their pkg-config files say, SYSCONFDIR=/etc) and
# the man pages docs/man/ has; the unit must be filled in and pass
# "systemd-analyze verify".
#
# pkg-config: with --define-prefix against the DESTDIR tree, a program is
# compiled, linked against the shared library (and run: numabuf_open()
# fails with -ENOENT for a missing device), and linked statically with
# --static's flags; --cflags must work where no libmnl.pc is visible; the
# build tree's numabuf-uninstalled.pc builds the same program.
#
# Exit status: 0 pass, 77 skip (not root, no unshare, no kernel headers, no
# pkg-config), else fail.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fails=0
pass() { echo "PASS install_$1"; }
fail() {
	echo "FAIL install_$1: $2"
	fails=$((fails + 1))
}
skip_all() {
	echo "SKIP install: $*"
	exit 77
}

[[ $(id -u) == 0 ]] || skip_all "the read-only mount namespace needs root"
for t in unshare mount cc make pkg-config modinfo; do
	command -v "$t" >/dev/null || skip_all "$t not found"
done
kver=$(for d in /lib/modules/*/build; do [[ -d $d ]] && basename "${d%/build}"; done | sort -V | tail -n 1)
[[ -n $kver ]] || skip_all "no kernel headers installed (/lib/modules/*/build)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-install.XXXXXX")
trap '[[ -n ${NB_KEEP-} ]] || rm -rf "$tmp"' EXIT
src=$tmp/src
dest=$tmp/dest
mkdir -p "$src"
tar -C "$top" --exclude=./build --exclude=./.git --exclude=./debian/tmp -cf - . | tar -C "$src" -xf -
make -s -C "$src" clean >/dev/null 2>&1 || true
v=$(cat "$src/VERSION")

echo "# building in $src (module for $kver)"
if ! make -C "$src" module lib tools KVER="$kver" >"$tmp/build.log" 2>&1; then
	tail -n 30 "$tmp/build.log"
	echo "FAIL install: the scratch tree did not build (above)"
	exit 1
fi

# ---- make install DESTDIR=..., with only $tmp writable ---------------------------
cat >"$tmp/ro-install.sh" <<'EOF'
set -eu
tmp=$1 src=$2 kver=$3
mount --make-rprivate /
mount --bind "$tmp" "$tmp"
# Every other mount read-only (the kernel's pseudo file systems aside);
# the ones under $tmp come after it in the table and stay writable.
awk '{ print $2 }' /proc/self/mounts | while read -r m; do
	m=$(printf '%b' "$m")
	case $m in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/* | "$tmp" | "$tmp"/*) continue ;;
	esac
	mount -o remount,bind,ro "$m" 2>/dev/null || true
done
if touch /numabuf-install-probe 2>/dev/null; then
	rm -f /numabuf-install-probe
	echo "could not make / read-only" >&2
	exit 3
fi
# Temporary files (the compiler's, make's) are no install: under $tmp.
mkdir -p "$tmp/t"
TMPDIR=$tmp/t exec make -C "$src" install DESTDIR="$tmp/dest" KVER="$kver"
EOF
if unshare -m bash "$tmp/ro-install.sh" "$tmp" "$src" "$kver" >"$tmp/install.log" 2>&1; then
	pass readonly_outside_destdir
else
	tail -n 30 "$tmp/install.log"
	fail readonly_outside_destdir "make install DESTDIR=... failed with everything outside $tmp read-only (above: what it tried)"
fi

# The expected files, from the documented defaults.
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || true)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
{
	echo "/etc/numabuf.conf"
	echo "${udevdir:-/lib/udev}/rules.d/60-numabuf.rules"
	echo "${unitdir:-/lib/systemd/system}/numabuf.service"
	echo "/usr/local/include/numabuf.h"
	echo "/usr/local/include/linux/numabuf.h"
	echo "/usr/local/lib/libnumabuf.a"
	echo "/usr/local/lib/libnumabuf.so"
	echo "/usr/local/lib/libnumabuf.so.0"
	echo "/usr/local/lib/libnumabuf.so.$v"
	echo "/usr/local/lib/pkgconfig/numabuf.pc"
	echo "/usr/local/sbin/numabufctl"
	echo "/usr/local/share/doc/numabuf/examples/modprobe.conf"
	for m in "$src"/docs/man/*.[0-9]; do
		[[ -e $m ]] || continue
		echo "/usr/local/share/man/man${m##*.}/${m##*/}"
	done
} | sort >"$tmp/want"
# The module: compressed or not, as the kernel's configuration says.
mkdir -p "$dest"
(cd "$dest" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort) >"$tmp/got"
ko=
for c in "" .xz .gz .zst; do
	if grep -qxF "/lib/modules/$kver/extra/numabuf.ko$c" "$tmp/got"; then
		ko=/lib/modules/$kver/extra/numabuf.ko$c
	fi
done
grep -vxF -e "${ko:-/}" "$tmp/got" >"$tmp/got-rest" || true
if [[ -n $ko ]] && diff -u "$tmp/want" "$tmp/got-rest" >"$tmp/list.diff"; then
	pass file_list
else
	fail file_list "module '${ko:-none under /lib/modules/$kver/extra}'; expected (-) against installed (+): $(grep '^[-+]/' "$tmp/list.diff" | tr '\n' ' ')"
fi
if [[ -n $ko ]]; then
	got=$(modinfo -F version "$dest$ko" 2>&1)
	magic=$(modinfo -F vermagic "$dest$ko" 2>&1 | awk '{ print $1 }')
	if [[ $got == "$v" && $magic == "$kver" ]]; then
		pass module
	else
		fail module "modinfo: version '$got' (want $v), vermagic '$magic' (want $kver)"
	fi
fi
if [[ -L $dest/usr/local/lib/libnumabuf.so.0 && $(readlink "$dest/usr/local/lib/libnumabuf.so.0") == "libnumabuf.so.$v" ]]; then
	pass so_link
else
	fail so_link "libnumabuf.so.0 does not link to libnumabuf.so.$v"
fi

unit=$dest${unitdir:-/lib/systemd/system}/numabuf.service
if [[ -f $unit ]]; then
	if grep -q @ "$unit" || ! grep -q '/usr/local/sbin/numabufctl apply /etc/numabuf.conf' "$unit"; then
		fail unit_filled "$(grep -n -e @ -e numabufctl "$unit" | head -3)"
	else
		pass unit_filled
	fi
	if command -v systemd-analyze >/dev/null; then
		mkdir -p "$tmp/unit" && cp "$unit" "$tmp/unit/"
		# --man=no: numabufctl(8) is not installed on this host.
		if (cd "$tmp/unit" && systemd-analyze verify --man=no ./numabuf.service) >"$tmp/verify.log" 2>&1; then
			pass unit_verify
		else
			fail unit_verify "$(head -5 "$tmp/verify.log")"
		fi
	else
		echo "SKIP install_unit_verify: systemd-analyze not found"
	fi
fi
# The shipped configuration changes nothing: no directive is active.
if [[ -f $dest/etc/numabuf.conf ]]; then
	active=$(grep -vE '^[[:space:]]*(#|$)' "$dest/etc/numabuf.conf" || true)
	if [[ -z $active ]]; then pass conf_inactive; else fail conf_inactive "active lines: $active"; fi
fi

# ---- pkg-config -----------------------------------------------------------------
cp "$top/tests/host/pc-user.c" "$tmp/user.c"
pcdir=$dest/usr/local/lib/pkgconfig

# build_and_run NAME LIBPATH PKG-CONFIG-ARGS...: compile and link user.c
# with pkg-config's flags, then run it against a missing device.
build_and_run() {
	local name=$1 libpath=$2 cflags libs
	shift 2
	if ! cflags=$(pkg-config "$@" --cflags numabuf 2>"$tmp/pc.err") ||
		! libs=$(pkg-config "$@" --libs numabuf 2>>"$tmp/pc.err"); then
		fail "$name" "pkg-config $*: $(cat "$tmp/pc.err")"
		return
	fi
	# shellcheck disable=SC2086
	if ! cc -std=c99 -Wall -Wextra -Werror $cflags -o "$tmp/$name" "$tmp/user.c" $libs \
		2>"$tmp/cc.err"; then
		fail "$name" "cc $cflags ... $libs: $(head -3 "$tmp/cc.err")"
	elif ! NUMABUF_DEVICE=$tmp/missing LD_LIBRARY_PATH=$libpath "$tmp/$name"; then
		fail "$name" "the program did not get -ENOENT from numabuf_open()"
	# (grep -q on ldd's output, not on a pipe from it: with pipefail an
	# early match would fail the pipe.)
	elif ! grep -q "libnumabuf.so.0 => $libpath/libnumabuf.so.0" <<<"$(LD_LIBRARY_PATH=$libpath ldd "$tmp/$name")"; then
		fail "$name" "not linked against $libpath/libnumabuf.so.0: $(LD_LIBRARY_PATH=$libpath ldd "$tmp/$name" | grep numabuf)"
	else
		pass "$name"
	fi
}

if [[ -f $pcdir/numabuf.pc ]]; then
	got=$(PKG_CONFIG_LIBDIR=$pcdir pkg-config --define-prefix --cflags --libs numabuf)
	want="-I$dest/usr/local/include -L$dest/usr/local/lib -lnumabuf"
	if [[ ${got%% } == "$want" ]]; then
		pass pc_define_prefix
	else
		fail pc_define_prefix "got '$got', want '$want'"
	fi
	PKG_CONFIG_LIBDIR=$pcdir build_and_run pc_shared "$dest/usr/local/lib" --define-prefix
	# Without any other .pc visible (no libmnl.pc): compiling and shared
	# linking need nothing of libmnl.
	if PKG_CONFIG_LIBDIR=$pcdir pkg-config --define-prefix --cflags --libs numabuf >/dev/null 2>"$tmp/pc.err" &&
		! PKG_CONFIG_LIBDIR=$pcdir pkg-config --exists libmnl; then
		pass pc_without_libmnl
	else
		fail pc_without_libmnl "$(cat "$tmp/pc.err")"
	fi
	# Static: libnumabuf.a with what --static adds (libmnl, pthread).
	libs=$(PKG_CONFIG_LIBDIR=$pcdir pkg-config --define-prefix --static --libs numabuf)
	cflags=$(PKG_CONFIG_LIBDIR=$pcdir pkg-config --define-prefix --cflags numabuf)
	# shellcheck disable=SC2086
	if cc -std=c99 -Wall -Werror $cflags -o "$tmp/user-static" "$tmp/user.c" \
		${libs/-lnumabuf/-l:libnumabuf.a} 2>"$tmp/cc.err" &&
		NUMABUF_DEVICE=$tmp/missing "$tmp/user-static" &&
		! grep -q libnumabuf <<<"$(ldd "$tmp/user-static")"; then
		pass pc_static
	else
		fail pc_static "cc ... ${libs/-lnumabuf/-l:libnumabuf.a}: $(head -3 "$tmp/cc.err")"
	fi
fi

# The build tree, through numabuf-uninstalled.pc.
PKG_CONFIG_PATH=$src/lib PKG_CONFIG_LIBDIR=/nonexistent build_and_run pc_uninstalled "$src/lib"
got=$(PKG_CONFIG_PATH=$src/lib PKG_CONFIG_LIBDIR=/nonexistent pkg-config --cflags numabuf)
if [[ ${got%% } == "-I$src/lib -I$src/kmod/uapi" ]]; then
	pass pc_uninstalled_cflags
else
	fail pc_uninstalled_cflags "got '$got'"
fi

if ((fails)); then
	echo "install: $fails check(s) failed"
	exit 1
fi
echo "PASS install"
