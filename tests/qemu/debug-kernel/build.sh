#!/bin/bash
# Build numabuf's debug (sanitizer) kernel: Debian's linux-source-6.1 with
# config.fragment (KASAN, lockdep, kmemleak, DEBUG_VM, fault injection,
# everything the guest needs built in) into build/debug-kernel/, a tree that
# both boots (arch/x86/boot/bzImage) and builds out-of-tree modules
# (`make module KVER=$(cat build/debug-kernel/include/config/kernel.release)
# KDIR=build/debug-kernel`).
#
#   tests/qemu/debug-kernel/build.sh [--force] [--jobs N]
#
# One build at a time (a lock next to the tree): a second caller waits.
# Cached: does nothing when the tree was built from the same fragment,
# source tarball, compiler and recipe (a hash in .numabuf-stamp).  When only
# the fragment changed, the extracted tree is reused and rebuilt
# incrementally.  Prints the tree's path and kernel release on success.
#
# Environment: NB_KERNEL_SOURCE (default /usr/src/linux-source-6.1.tar.xz),
# NB_DEBUG_KERNEL_DIR (default <repo>/build/debug-kernel).
# Exit status: 0 built or up to date; 1 build failed or options dropped.
set -euo pipefail
# Braced so bash parses the whole script before running any of it:
# editing the file while a run is in flight cannot derail that run.
{

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
fragment=$here/config.fragment
tarball=${NB_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
tree=${NB_DEBUG_KERNEL_DIR:-$top/build/debug-kernel}
# Bump when the way the tree is built changes (not for comment edits).
recipe=1

force=0
jobs=$(($(nproc) + 1))
while (($#)); do
	case $1 in
	--force) force=1; shift ;;
	--jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

say() { echo "debug-kernel: $*"; }
die() { echo "debug-kernel: $*" >&2; exit 1; }

# One build of a tree at a time: .ci/run starts one early, and check.sh's
# debug line then waits here for it, finds the tree up to date and builds
# nothing (or builds again if that build failed).
mkdir -p "$(dirname "$tree")"
exec 9>"$tree.lock"
if ! flock -n 9; then
	say "waiting for another build of $tree to finish"
	waited=$SECONDS
	flock 9
	say "waited $((SECONDS - waited)) s"
fi

[[ -f $tarball ]] || die "no kernel source at $tarball (apt-get install linux-source-6.1)"
[[ -f $fragment ]] || die "no $fragment"

# The stamp: what the tree was built from.  The source's identity is the
# tarball's hash (a Debian update changes it); the compiler matters because
# out-of-tree modules must be built with the kernel's compiler.
src_id=$(sha256sum "$tarball" | cut -c1-16)
stamp=$({
	echo "recipe $recipe"
	echo "source $src_id"
	gcc --version | head -n 1
	sha256sum <"$fragment"
} | sha256sum | cut -c1-16)

release() { cat "$tree/include/config/kernel.release"; }

if ((!force)) && [[ -f $tree/.numabuf-stamp && $(<"$tree/.numabuf-stamp") == "$stamp" &&
	-f $tree/arch/x86/boot/bzImage && -f $tree/Module.symvers ]]; then
	say "up to date: $tree ($(release))"
	exit 0
fi

start=$SECONDS
# A tree from another source (or a forced build) starts from scratch; one
# from the same source is reused: Kbuild rebuilds what a changed
# configuration affects.  Only a directory this script made is removed.
if ((force)) || [[ ! -f $tree/.numabuf-source || $(<"$tree/.numabuf-source") != "$src_id" ]]; then
	if [[ -e $tree ]]; then
		[[ -f $tree/.numabuf-source || -z $(ls -A "$tree") ]] ||
			die "$tree exists and was not made by this script; remove it first"
		say "removing the old tree"
		rm -rf "$tree"
	fi
	say "extracting $tarball"
	mkdir -p "$tree"
	tar -xJf "$tarball" -C "$tree" --strip-components=1
	echo "$src_id" >"$tree/.numabuf-source"
	say "extracted in $((SECONDS - start)) s"
fi
rm -f "$tree/.numabuf-stamp"

cd "$tree"
# allnoconfig with the fragment as its preset: every option not in the
# fragment (or implied by it) is off, so the kernel stays small and quick
# to build.  olddefconfig after it changes nothing, but it is the step that
# would drop an option whose dependencies are missing: the check below
# runs on its result.
make -s ARCH=x86_64 KCONFIG_ALLCONFIG="$fragment" allnoconfig
make -s ARCH=x86_64 olddefconfig

# Every option of the fragment must have survived.
dropped=()
while IFS= read -r line; do
	# Trim blanks around the line (a value may contain some).
	line=${line#"${line%%[![:space:]]*}"}
	line=${line%"${line##*[![:space:]]}"}
	[[ -n $line ]] || continue
	opt=${line%%=*}
	val=${line#*=}
	case $val in
	n) ! grep -qE "^$opt=" .config || dropped+=("$line (is $(grep -E "^$opt=" .config))") ;;
	*) grep -qxF "$opt=$val" .config || dropped+=("$line (is $(grep -E "^$opt=|^# $opt is not set" .config || echo absent))") ;;
	esac
done < <(grep -E '^[[:space:]]*CONFIG_' "$fragment")
if ((${#dropped[@]})); then
	echo "debug-kernel: these options of $fragment did not survive make olddefconfig" >&2
	echo "(a dependency is missing or the name is wrong):" >&2
	printf '  %s\n' "${dropped[@]}" >&2
	exit 1
fi
say "configuration checked: every option of the fragment is set"

# One make for everything: bzImage, and `modules`, which with nothing
# modular only runs modpost over vmlinux to write Module.symvers (what an
# out-of-tree module build checks its symbols against).
say "building $(make -s kernelrelease) with -j$jobs"
make -s ARCH=x86_64 -j"$jobs" bzImage modules
[[ -f arch/x86/boot/bzImage && -f Module.symvers ]] ||
	die "the build finished without arch/x86/boot/bzImage or Module.symvers"
# With nothing modular there must be nothing but numabuf to load.
if [[ -s modules.order ]]; then
	echo "debug-kernel: warning: the configuration builds modules; the guest does not load them:" >&2
	cat modules.order >&2
fi
echo "$stamp" >.numabuf-stamp
say "built $tree ($(release)) in $((SECONDS - start)) s"
exit 0
}
