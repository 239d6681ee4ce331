#!/bin/bash
# The Debian packages on a clean system: build them from this tree, install
# them on a fresh minimal Debian 12 image, boot it, purge them.  See
# tests/pkg/README.md for what each step proves and how.
#
#   1. build: dpkg-buildpackage -us -uc -b in a copy of the tree (tracked and
#      untracked-but-not-ignored files, so no build products ride along) in
#      build/pkg/src; the four .debs must come out.
#   2. image: mmdebstrap a minbase Debian 12 with systemd, udev, dkms and the
#      headers of the host's 6.1 and 6.12 kernels (cached as
#      build/pkg/base-KEY.tar; a second run only unpacks it) into
#      build/pkg/root, and list its files.
#   3. install (chroot): apt-get install of the four .debs; DKMS must have
#      built and installed numabuf.ko for both kernels, with the package's
#      version and each kernel's vermagic; group numabuf exists.
#   4. boot: write /etc/numabuf.conf (a pool with a low watermark on each
#      node, both caps) and boot the image with systemd in a 2-node guest
#      (tests/qemu/guest-run --rootfs) on each kernel of NB_PKG_BOOT, where
#      tests/pkg/guest-check.sh checks the service, module, group, device
#      node, caps, pools and the CLI.
#   5. purge (chroot): apt-get purge of the four, autoremove --purge; no
#      numabuf file, DKMS entry or module is left, and the image's file list
#      is the one of step 2 (bookkeeping excluded, see README).
# Prints PASS/FAIL lines, the time of each step, and "N passed, N failed";
# exits 1 if anything failed.
#
#   tests/pkg/install-test.sh
# Environment: NB_PKG_KERNELS (kernel lines DKMS must build for, default
# "6.1 6.12"), NB_PKG_BOOT (lines the image is booted on, default "6.12"),
# NB_PKG_MIRROR (default http://deb.debian.org/debian), NB_PKG_SECURITY
# (default http://deb.debian.org/debian-security).  Needs root, mmdebstrap
# and the build dependencies in debian/control (scripts/install-deps.sh).
# Logs: build/pkg/*.log.
set -euo pipefail
# Braced so bash parses the whole script before running any of it.
{

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
work=$top/build/pkg
root=$work/root
packages=(numabuf-dkms libnumabuf0 libnumabuf-dev numabuf-tools)
read -r -a kernel_lines <<<"${NB_PKG_KERNELS:-6.1 6.12}"
read -r -a boot_lines <<<"${NB_PKG_BOOT:-6.12}"
mirror=${NB_PKG_MIRROR:-http://deb.debian.org/debian}
security=${NB_PKG_SECURITY:-http://deb.debian.org/debian-security}
# What /etc/numabuf.conf asks for in the guest, in bytes.
pool=$((256 << 20)) low=$((64 << 20)) max=$((1 << 30)) max_user=$((2 << 20))

passed=0
failed=0
times=()
pass() {
	echo "PASS $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}
die() {
	echo "install-test: $*" >&2
	fail "install-test could not go on: $*"
	summary
	exit 1
}
step_start=$SECONDS
step() {
	printf '\n========== pkg: %s ==========\n' "$*"
	step_start=$SECONDS
}
step_done() {
	times+=("$(printf '%-44s %4d s' "$1" $((SECONDS - step_start)))")
}
summary() {
	echo
	if ((${#times[@]})); then
		echo "times:"
		printf '  %s\n' "${times[@]}"
	fi
	echo "$passed passed, $failed failed"
}

# Chroot mounts: only while a step runs apt in the image, never while it
# is booted (9p would export them) or listed.
mounts=()
chroot_up() {
	mount -t proc proc "$root/proc"
	mounts+=("$root/proc")
	mount --bind /dev "$root/dev"
	mounts+=("$root/dev")
	# A tmpfs on /run as on a booted system; the .debs are put there.
	mount -t tmpfs -o mode=755 tmpfs "$root/run"
	mounts+=("$root/run")
}
chroot_down() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" || umount -l "${mounts[i]}"
	done
	mounts=()
}
in_root() {
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
trap chroot_down EXIT

# The image's files: path, type, mode, owner, group, and a checksum of
# every regular file under /etc (where a package's leftovers would be
# edits: a group, a conffile).  Left out, with why:
#   /var/log          logs of apt, dpkg and the boot: history, kept by
#                     design after a purge
#   /var/cache/apt, /var/lib/apt
#                     apt's download cache, package lists and
#                     auto-installed marks
#   /var/lib/dpkg     dpkg's database (status, available, *-old backups)
#   /var/cache/debconf
#                     debconf's database (its *-old backups)
#   /var/cache/ldconfig
#                     ldconfig's auxiliary cache
#   /var/lib/systemd/random-seed, /var/lib/systemd/timers,
#   /var/lib/systemd/catalog
#                     state systemd writes while the image runs, whatever
#                     is installed
#   /etc/machine-id   written at the first boot
#   /etc/{passwd,group,shadow,gshadow,subuid,subgid}-
#                     the shadow tools' backups of the previous version
#   /tmp, /var/tmp    scratch
manifest() {
	(
		cd "$root"
		find . -xdev \( -path ./var/log -o -path ./var/cache/apt -o -path ./var/lib/apt \
			-o -path ./var/lib/dpkg -o -path ./var/cache/debconf -o -path ./var/cache/ldconfig \
			-o -path ./var/lib/systemd/random-seed -o -path ./var/lib/systemd/timers \
			-o -path ./var/lib/systemd/catalog -o -path ./etc/machine-id \
			-o -path ./etc/passwd- -o -path ./etc/group- -o -path ./etc/shadow- \
			-o -path ./etc/gshadow- -o -path ./etc/subuid- -o -path ./etc/subgid- \
			-o -path './tmp/*' -o -path './var/tmp/*' \) -prune \
			-o -printf '%p %y %m %u %g\n' | LC_ALL=C sort
		find ./etc -xdev -type f ! -name machine-id ! -name '*-' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum
	)
}

[[ $(id -u) == 0 ]] || die "needs root (chroot, mounts, mmdebstrap): run it as root"
for c in mmdebstrap dpkg-buildpackage dpkg-checkbuilddeps dpkg-parsechangelog chroot modinfo; do
	command -v "$c" >/dev/null || die "no $c: run scripts/install-deps.sh"
done
kvers=()
for l in "${kernel_lines[@]}"; do
	k=$(tests/qemu/guest-run --resolve "$l" 2>/dev/null) ||
		die "no installed $l kernel: scripts/install-deps.sh installs the 6.1 and 6.12 lines"
	kvers+=("$k")
done
mkdir -p "$work"
# A previous run interrupted with the chroot mounted: unmount before
# removing anything.
while read -r m; do
	umount -l "$m"
done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)

# ---------------------------------------------------------------- build
step "build the packages"
src=$work/src/numabuf
rm -rf "$work/src"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi
		done | cpio -0 -pdm --quiet "$src"
else
	tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
[[ -f $src/debian/control ]] || die "no debian/control in $top"
(cd "$src" && dpkg-checkbuilddeps) ||
	die "build dependencies missing (above): run scripts/install-deps.sh"
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b"
else
	tail -n 30 "$work/build.log"
	die "dpkg-buildpackage failed (log: ${work#"$top"/}/build.log)"
fi
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version#*:}
upstream=${upstream%-*}
debs=()
for p in "${packages[@]}"; do
	d=$(compgen -G "$work/src/${p}_${version#*:}_*.deb") || d=
	if [[ -n $d && $d != *$'\n'* ]]; then
		pass "package $p $version built"
		debs+=("$d")
	else
		fail "package $p $version built: no single ${p}_${version#*:}_*.deb in ${work#"$top"/}/src"
	fi
done
((${#debs[@]} == ${#packages[@]})) || die "not every package was built"
step_done "build (dpkg-buildpackage)"

# ---------------------------------------------------------------- image
step "a clean Debian 12 image"
# Each kernel with its image, as on a system that runs it: its modules (udev
# loads them at boot) and depmod's indexes exist before numabuf comes.
base_pkgs=(systemd-sysv udev dkms)
for k in "${kvers[@]}"; do
	base_pkgs+=("linux-image-$k" "linux-headers-$k")
done
sources=("deb $mirror bookworm main" "deb $mirror bookworm-updates main"
	"deb $security bookworm-security main")
key=$({
	dpkg-query -W -f='${Version}\n' mmdebstrap
	printf '%s\n' "${base_pkgs[@]}" "${sources[@]}" force-unsafe-io
} | sha256sum | cut -c1-16)
base=$work/base-$key.tar
if [[ ! -f $base ]]; then
	# The package lists stay (apt in the chroot resolves the packages'
	# dependencies from them).  INITRD=No: the kernel images'
	# initramfs would take a minute each to build and is never used
	# (guest-run boots with its own).  dpkg without an
	# fsync after each of the headers' 60,000 files (force-unsafe-io, in
	# the image's /etc/dpkg/dpkg.cfg.d/99mmdebstrap, so the test's own
	# apt runs get it too): a throwaway image needs no crash safety.
	if INITRD=No mmdebstrap --variant=minbase --format=tar --skip=cleanup/apt/lists \
		--dpkgopt=force-unsafe-io \
		--include="$(
			IFS=,
			echo "${base_pkgs[*]}"
		)" bookworm "$base.tmp" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1; then
		find "$work" -maxdepth 1 -name 'base-*.tar' -delete
		mv "$base.tmp" "$base"
	else
		tail -n 30 "$work/mmdebstrap.log"
		rm -f "$base.tmp"
		die "mmdebstrap failed (log: ${work#"$top"/}/mmdebstrap.log): is $mirror reachable, and are the headers of ${kvers[*]} still in the archive (apt-cache policy linux-headers-${kvers[0]})?"
	fi
fi
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" --numeric-owner -xpf "$base"
pass "image unpacked (${base_pkgs[*]})"
# The host's name servers, for apt in the chroot.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
manifest >"$work/before.list"
step_done "image (mmdebstrap or cache, unpack)"

# ---------------------------------------------------------------- install
step "install the packages (chroot)"
chroot_up
mkdir "$root/run/debs"
cp "${debs[@]}" "$root/run/debs/"
# The lists of a cached image may be older than the archive.
in_root apt-get update -q >"$work/install.log" 2>&1 || true
if in_root apt-get install -y -q --no-install-recommends \
	"${debs[@]/#"$work/src"//run/debs}" >>"$work/install.log" 2>&1; then
	pass "apt-get install of the four packages"
else
	tail -n 40 "$work/install.log"
	fail "apt-get install of the four packages (log: ${work#"$top"/}/install.log)"
fi
grep -E 'Building for|Building initial module|Done\.|Error|error:' "$work/install.log" || true
for p in "${packages[@]}"; do
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	st=$(in_root dpkg-query -W -f='${Status} ${Version}' "$p" 2>&1) || true
	if [[ $st == "install ok installed $version" ]]; then
		pass "$p $version is installed"
	else
		fail "$p $version is installed: dpkg says '$st'"
	fi
done
for k in "${kvers[@]}"; do
	ko=$(compgen -G "$root/lib/modules/$k/updates/dkms/numabuf.ko*") || ko=
	if [[ -z $ko || $ko == *$'\n'* ]]; then
		fail "DKMS installed numabuf.ko for $k: no single /lib/modules/$k/updates/dkms/numabuf.ko*"
		continue
	fi
	v=$(modinfo -F version "$ko" 2>&1) || true
	vermagic=$(modinfo -F vermagic "$ko" 2>&1) || true
	if [[ $v == "$upstream" && ${vermagic%% *} == "$k" ]]; then
		pass "DKMS built and installed numabuf.ko $v for $k (${ko#"$root"})"
	else
		fail "DKMS built numabuf.ko for $k with version $upstream: version '$v', vermagic '$vermagic'"
	fi
done
if grep -q '^numabuf:' "$root/etc/group"; then
	pass "group numabuf exists after install"
else
	fail "group numabuf exists after install"
fi
chroot_down
step_done "install (apt, DKMS for ${#kvers[@]} kernels)"

# ---------------------------------------------------------------- boot
cat >"$root/etc/numabuf.conf" <<EOF
# Written by tests/pkg/install-test.sh for the boot test.
pool 0 $((pool >> 20))M low $((low >> 20))M
pool 1 $((pool >> 20))M low $((low >> 20))M
limit max $((max >> 20))M
limit max-user $((max_user >> 20))M
EOF
for l in "${boot_lines[@]}"; do
	step "boot the image on $l (systemd, 2 nodes)"
	blog=$work/boot-$l.log
	rm -f "$blog"
	rc=0
	tests/qemu/guest-run --rootfs "$root" --node-mem 3G --timeout 900 --tcg-single --log "$blog" "$l" -- \
		tests/pkg/guest-check.sh "$upstream" "$pool" "$low" "$max" "$max_user" || rc=$?
	s=$(grep -sE '^[0-9]+ passed, [0-9]+ failed$' "$blog" | tail -n 1) || true
	if [[ -n $s ]]; then
		read -r p _ f _ <<<"$s"
		passed=$((passed + p))
		failed=$((failed + f))
	else
		fail "boot on $l: no summary line from guest-check.sh (log: ${blog#"$top"/})"
	fi
	case $rc in
	0) ;;
	122) fail "boot on $l: the guest kernel log has problems (log: ${blog#"$top"/})" ;;
	123 | 124 | 125) fail "boot on $l: guest-run exited $rc (crash, timeout or its own error; log: ${blog#"$top"/})" ;;
	*) ((f > 0)) || fail "boot on $l: guest-check.sh exited $rc but counted no failure" ;;
	esac
	step_done "boot on $l (guest-run, systemd, checks)"
done

# ---------------------------------------------------------------- purge
step "purge the packages (chroot)"
chroot_up
if in_root apt-get purge -y -q "${packages[@]}" >"$work/purge.log" 2>&1 &&
	in_root apt-get autoremove --purge -y -q >>"$work/purge.log" 2>&1; then
	pass "apt-get purge of the four packages, then autoremove --purge"
else
	tail -n 40 "$work/purge.log"
	fail "apt-get purge (log: ${work#"$top"/}/purge.log)"
fi
ds=$(in_root dkms status 2>&1) || true
if [[ $ds != *numabuf* ]]; then
	pass "dkms status knows no numabuf"
else
	fail "dkms status knows no numabuf: $ds"
fi
chroot_down
left=$(cd "$root" && find . -xdev -iname '*numabuf*' ! -path './var/log/*' ! -path './var/cache/apt/*' \
	! -path './var/lib/dpkg/*' ! -path './var/lib/apt/*' | head -n 20)
if [[ -z $left ]]; then
	pass "no file named numabuf is left"
else
	fail "no file named numabuf is left: $(echo "$left" | paste -sd' ')"
fi
for d in var/lib/dkms/numabuf usr/src/numabuf-"$upstream"; do
	if [[ ! -e $root/$d ]]; then pass "/$d is gone"; else fail "/$d is gone"; fi
done
ko=$(compgen -G "$root/lib/modules/*/updates/dkms/numabuf.ko*") || ko=
if [[ -z $ko ]]; then pass "no numabuf.ko under /lib/modules"; else fail "no numabuf.ko under /lib/modules: $ko"; fi
# The group stays on purge: debian/numabuf-tools.README.Debian (files may
# still carry its gid).  Everything else must be as before the install:
# the file lists compared with the group's lines taken out of the after
# list (so the checksums of /etc/group and /etc/gshadow are compared
# without it).
if grep -q '^numabuf:' "$root/etc/group"; then
	pass "group numabuf is kept on purge (as README.Debian says)"
else
	fail "group numabuf is kept on purge (as README.Debian says): it is gone"
fi
manifest_without_group() {
	local f
	for f in group gshadow; do
		cp -p "$root/etc/$f" "$work/$f.saved"
		sed -i '/^numabuf:/d' "$root/etc/$f"
	done
	manifest
	for f in group gshadow; do
		cp -p "$work/$f.saved" "$root/etc/$f"
	done
}
manifest_without_group >"$work/after.list"
if diff -u "$work/before.list" "$work/after.list" >"$work/purge.diff"; then
	pass "the image's files after purge are those before install"
else
	head -n 40 "$work/purge.diff"
	fail "the image's files after purge are those before install (diff: ${work#"$top"/}/purge.diff)"
fi
step_done "purge (apt, compare)"

summary
((failed == 0))
exit
}
