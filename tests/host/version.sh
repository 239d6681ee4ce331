#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/host/version.sh: one release, defined in the file VERSION, and
# every place that reports or repeats it says the same:
#   - modinfo's "version" of numabuf.ko built from a scratch copy of the
#     tree (against the newest installed kernel headers);
#   - the library's file name (libnumabuf.so.VERSION, soname still
#     libnumabuf.so.0) and numabuf.pc's Version (read by pkg-config);
#   - "numabufctl -V";
#   - dkms.conf's PACKAGE_VERSION, read both as DKMS reads it (sourced by
#     bash) and as dh_dkms does (the literal after PACKAGE_VERSION=);
#   - debian/changelog's upstream version (dpkg-parsechangelog);
#   - the README's DKMS instructions (/usr/src/numabuf-X, numabuf/X).
# A check whose tool is missing (kernel headers, pkg-config,
# dpkg-parsechangelog) is skipped with the reason; the others still run.
#
# Exit status: 0 pass, 77 skip (no compiler or make), 1 fail.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fails=0
pass() { echo "PASS version_$1"; }
fail() {
	echo "FAIL version_$1: $2"
	fails=$((fails + 1))
}
skip() { echo "SKIP version_$1: $2"; }

for t in cc make; do
	command -v "$t" >/dev/null || { echo "SKIP version: $t not found"; exit 77; }
done

[[ -f $top/VERSION ]] || { echo "FAIL version: no file VERSION at the top of the tree"; exit 1; }
v=$(cat "$top/VERSION")
if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && $(wc -l <"$top/VERSION") == 1 ]]; then
	pass file
else
	echo "FAIL version: VERSION must hold one line MAJOR.MINOR.PATCH, has '$v'"
	exit 1
fi
echo "# the release, from VERSION: $v"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src"
tar -C "$top" --exclude=./build --exclude=./.git --exclude=./debian/tmp -cf - . | tar -C "$src" -xf -
make -s -C "$src" clean >/dev/null 2>&1 || true

# ---- the module ---------------------------------------------------------------
kver=$(for d in /lib/modules/*/build; do [[ -d $d ]] && basename "${d%/build}"; done | sort -V | tail -n 1)
if [[ -z $kver ]]; then
	skip modinfo "no kernel headers installed (/lib/modules/*/build)"
elif ! make -C "$src" module KVER="$kver" >"$tmp/module.log" 2>&1; then
	tail -n 20 "$tmp/module.log"
	fail modinfo "the module did not build against $kver (above)"
else
	got=$(modinfo -F version "$src/build/$kver/numabuf.ko")
	if [[ $got == "$v" ]]; then pass modinfo; else fail modinfo "modinfo says '$got'"; fi
fi

# ---- the library and numabufctl -------------------------------------------------
if ! make -C "$src" lib tools >"$tmp/user.log" 2>&1; then
	tail -n 20 "$tmp/user.log"
	fail build "lib and tools did not build (above)"
else
	if [[ -f $src/lib/libnumabuf.so.$v && ! -L $src/lib/libnumabuf.so.$v ]]; then
		pass lib_file
	else
		fail lib_file "no lib/libnumabuf.so.$v: $(cd "$src/lib" && echo libnumabuf.so.*)"
	fi
	soname=$(readelf -d "$src/lib/libnumabuf.so.$v" 2>/dev/null |
		sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
	if [[ $soname == libnumabuf.so.0 ]]; then pass soname; else fail soname "SONAME is '$soname'"; fi
	if command -v pkg-config >/dev/null; then
		got=$(PKG_CONFIG_LIBDIR=$src/lib pkg-config --modversion numabuf 2>&1) || true
		if [[ $got == "$v" ]]; then pass pc; else fail pc "pkg-config --modversion numabuf: '$got'"; fi
	else
		skip pc "pkg-config not found"
	fi
	got=$("$src/tools/numabufctl" -V 2>&1) || true
	if [[ $got == "numabufctl $v" ]]; then pass numabufctl; else fail numabufctl "numabufctl -V: '$got'"; fi
fi

# ---- dkms.conf --------------------------------------------------------------------
# As DKMS reads it: sourced by bash (with the variables DKMS defines unset).
got=$(cd "$tmp" && bash -c '. "$1" >/dev/null 2>&1; echo "$PACKAGE_VERSION"' _ "$top/dkms.conf")
if [[ $got == "$v" ]]; then pass dkms_conf; else fail dkms_conf "DKMS reads PACKAGE_VERSION '$got'"; fi
# As dh_dkms reads it: the text of the PACKAGE_VERSION line.
got=$(sed -n 's/^PACKAGE_VERSION=\(["'"'"']\{0,1\}\)\(.*\)\1$/\2/p' "$top/dkms.conf")
if [[ $got == "$v" ]]; then pass dkms_conf_literal; else fail dkms_conf_literal "PACKAGE_VERSION line holds '$got'"; fi

# ---- debian/changelog ---------------------------------------------------------------
if command -v dpkg-parsechangelog >/dev/null; then
	deb=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
	if [[ ${deb%-*} == "$v" && $deb == *-* ]]; then
		pass debian_changelog
	else
		fail debian_changelog "debian/changelog's version is '$deb', want '$v-REVISION' (dch -v $v-1)"
	fi
else
	skip debian_changelog "dpkg-parsechangelog (dpkg-dev) not found"
fi

# ---- the README's DKMS instructions ----------------------------------------------------
mapfile -t said < <(grep -oE '/usr/src/numabuf-[0-9][0-9.]*[0-9]|dkms (install|add|build|remove) (-m )?numabuf[/ ](-v )?[0-9][0-9.]*[0-9]' "$top/README.md" |
	grep -oE '[0-9]+\.[0-9]+\.[0-9]+$' || true)
if ((${#said[@]} == 0)); then
	fail readme_dkms "README.md names no version in its DKMS instructions (/usr/src/numabuf-X, dkms install numabuf/X)"
else
	bad=$(printf '%s\n' "${said[@]}" | grep -vxF "$v" | sort -u | tr '\n' ' ' || true)
	if [[ -z $bad ]]; then pass readme_dkms; else fail readme_dkms "README.md's DKMS instructions name $bad"; fi
fi

if ((fails)); then
	echo "version: $fails check(s) failed"
	exit 1
fi
echo "PASS version"
