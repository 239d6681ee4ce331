# shellcheck shell=bash
# Sourced by the host tests that build numabuf's user space apart from the
# working tree (bench-smoke.sh, ctl-apply.sh, man.sh); not a test itself
# (check.sh runs tests/host/*.sh only).
#
# nb_copy_userspace TOP DEST: copy what lib/ and tools/ build from (their
# sources, VERSION, the uapi header) from the tree TOP into DEST, without
# the tree's build products.
nb_copy_userspace() {
	local top=$1 dest=$2

	mkdir -p "$dest/kmod" &&
		cp -R "$top/lib" "$top/tools" "$top/VERSION" "$dest/" &&
		cp -R "$top/kmod/uapi" "$dest/kmod/" &&
		make -s -C "$dest/lib" clean >/dev/null 2>&1 &&
		make -s -C "$dest/tools" clean >/dev/null 2>&1
}
