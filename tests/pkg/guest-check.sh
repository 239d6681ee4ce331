#!/bin/bash
# The boot half of tests/pkg/install-test.sh: runs as root inside the
# package-installed image, booted with systemd by
# `guest-run --rootfs` after install-test.sh wrote /etc/numabuf.conf (a pool
# on each node with a low watermark, and both caps).  Checks what the
# packages promise after a boot, each through the kernel or the system
# rather than through numabufctl's report of it:
#   - numabuf.service is active (systemd), the module is loaded (sysfs) from
#     the DKMS tree with the package's version;
#   - group numabuf is a system group; /dev/numabuf is root:numabuf with the
#     mode of the installed udev rule;
#   - the caps are the module's parameters (sysfs); a member of group
#     numabuf (an ordinary user made for the test, removed afterwards) gets a
#     buffer under the per-user cap, is refused one past it, and gets that
#     one once the cap is lifted through sysfs (so the cap was the refusal);
#   - each node's pool serves that user a pool-only buffer, and its low
#     watermark is what the module reports over netlink;
#   - each node's pool is memory: free memory on the node (MemFree plus the
#     per-CPU free lists) rises by at least the pool's size when the module
#     is unloaded;
#   - `numabufctl nodes` works for that user.
# Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
#
#   guest-check.sh VERSION POOL LOW MAX MAX_USER   (sizes in bytes)
set -euo pipefail
{

if (($# != 5)); then
	echo "usage: guest-check.sh VERSION POOL LOW MAX MAX_USER (sizes in bytes)" >&2
	exit 2
fi
version=$1 pool=$2 low=$3 max=$4 max_user=$5
user=nbpkgtest
nodes=(0 1)
passed=0
failed=0

pass() {
	echo "PASS $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}
# check NAME CMD...: PASS if CMD succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name: $* -> ${out:-no output}"
	fi
}
# as_user CMD...: run CMD as the test user, with its groups (numabuf among
# them) and Debian's default RLIMIT_MEMLOCK of 8 MiB.
as_user() {
	prlimit --memlock=8388608:8388608 setpriv --reuid="$user" --regid=users --init-groups -- "$@"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if getent passwd "$user" >/dev/null; then
		userdel "$user" || echo "guest-check: userdel $user failed: the image keeps the user"
	fi
}
trap cleanup EXIT

# The boot itself.  This runs as an ordinary service (guest-run.service,
# After=multi-user.target); numabuf.service is part of sysinit.target, so
# it must have finished before this started, without waiting for it.
state="$(systemctl show -p ActiveState --value numabuf.service) $(systemctl show -p Result --value numabuf.service)"
if [[ $state == "active success" ]]; then
	pass "numabuf.service is active after boot"
else
	fail "numabuf.service is active after boot: ActiveState Result = '$state'"
	systemctl status --no-pager numabuf.service || true
	journalctl -b --no-pager -u numabuf.service || true
fi
# Ordered before every ordinary service: it was active (all its steps
# done) before sysinit.target was reached, and that before this service
# started (systemd's own timestamps, microseconds since boot).
done_at=$(systemctl show -p ActiveEnterTimestampMonotonic --value numabuf.service)
sysinit_at=$(systemctl show -p ActiveEnterTimestampMonotonic --value sysinit.target)
self_at=$(systemctl show -p ExecMainStartTimestampMonotonic --value guest-run.service)
echo "# numabuf.service active at $((done_at / 1000)) ms, sysinit.target at $((sysinit_at / 1000)) ms, this service started at $((self_at / 1000)) ms"
if ((done_at > 0 && done_at <= sysinit_at && sysinit_at <= self_at)); then
	pass "numabuf.service is done before sysinit.target, so before ordinary services"
else
	fail "numabuf.service is done before sysinit.target, so before ordinary services: numabuf.service $done_at, sysinit.target $sysinit_at, guest-run.service $self_at (us)"
fi
if [[ $(cat /sys/module/numabuf/initstate 2>/dev/null) == live ]]; then
	pass "module numabuf is loaded"
else
	fail "module numabuf is loaded: no live /sys/module/numabuf"
fi
mod_file=$(modinfo -n numabuf 2>&1) || true
if [[ $mod_file == /lib/modules/$(uname -r)/updates/dkms/numabuf.ko* ]]; then
	pass "modprobe finds numabuf in the DKMS tree ($mod_file)"
else
	fail "modprobe finds numabuf in the DKMS tree: modinfo -n says '$mod_file'"
fi
loaded_version=$(cat /sys/module/numabuf/version 2>/dev/null) || loaded_version=none
if [[ $loaded_version == "$version" ]]; then
	pass "the loaded module's version is the package's ($version)"
else
	fail "the loaded module's version is the package's: $loaded_version, package $version"
fi

# Group and device node.
gid=$(getent group numabuf | cut -d: -f3) || gid=
sys_gid_max=$(awk '$1 == "SYS_GID_MAX" { print $2 }' /etc/login.defs)
if [[ -n $gid ]] && ((gid <= ${sys_gid_max:-999})); then
	pass "numabuf is a system group (gid $gid)"
else
	fail "numabuf is a system group: gid '${gid:-none}' (SYS_GID_MAX ${sys_gid_max:-999})"
fi
rule=$(dpkg -L numabuf-tools | grep -E '/rules\.d/[^/]*numabuf[^/]*\.rules$' | head -n 1) || true
rule_mode=
[[ -n $rule ]] && rule_mode=$(grep -oE 'MODE="[0-7]+"' "$rule" | tr -dc 0-7)
owner=$(stat -c '%U:%G %a' /dev/numabuf 2>&1) || true
# stat prints the mode without the leading 0 the rule may have.
if [[ -n $rule_mode && $owner == "root:numabuf ${rule_mode#0}" ]]; then
	pass "/dev/numabuf is root:numabuf, mode $rule_mode as $rule says"
else
	fail "/dev/numabuf is root:numabuf with the rule's mode: '$owner', rule '${rule:-none}' mode '${rule_mode:-none}'"
fi

# The caps, as the module holds them.
for p in max_bytes:$max max_user_bytes:$max_user; do
	got=$(cat "/sys/module/numabuf/parameters/${p%%:*}" 2>&1) || true
	if [[ $got == "${p#*:}" ]]; then
		pass "cap ${p%%:*} is ${p#*:} (sysfs)"
	else
		fail "cap ${p%%:*} is ${p#*:} (sysfs): '$got'"
	fi
done

# An ordinary user in group numabuf.
if useradd --no-create-home --no-user-group --gid users --groups numabuf \
	--shell /usr/sbin/nologin "$user"; then
	pass "an ordinary user in group numabuf ($user, uid $(id -u "$user"))"
else
	fail "useradd $user failed: the user checks below cannot run as intended"
fi
# Below the per-user cap, past it, and past it with the cap lifted: all
# three under RLIMIT_MEMLOCK and 4 MiB (no range), so only the cap differs.
small=$((max_user / 2))
big=$((max_user + max_user / 2))
if ((big > 4 << 20)); then
	fail "the per-user cap must be below 2.6 MiB for this test (is $max_user)"
fi
check "the user gets $small bytes on node 0 (under the per-user cap)" \
	as_user numabufctl alloc --size "$small" --node 0
if out=$(as_user numabufctl alloc --size "$big" --node 0 2>&1); then
	fail "the user is refused $big bytes (past the per-user cap of $max_user): allocated: $out"
else
	pass "the user is refused $big bytes (past the per-user cap of $max_user): $out"
fi
echo 0 >/sys/module/numabuf/parameters/max_user_bytes
check "the user gets $big bytes once the cap is lifted (so the cap refused it)" \
	as_user numabufctl alloc --size "$big" --node 0
echo "$max_user" >/sys/module/numabuf/parameters/max_user_bytes
for n in "${nodes[@]}"; do
	check "the user gets a pool-only buffer on node $n" \
		as_user numabufctl alloc --size "$small" --node "$n" --pool
done
if out=$(as_user numabufctl nodes 2>&1) && [[ -n $out ]]; then
	pass "numabufctl nodes works for the user"
else
	fail "numabufctl nodes works for the user: $out"
fi
echo "$out"

# Low watermarks, as the module reports them (the only place they show).
json=$(numabufctl -j pool 2>&1) || true
for n in "${nodes[@]}"; do
	obj=$(grep -E "\"id\": *${n}[,}]" <<<"${json//\},/\}$'\n'}") || true
	if grep -qE "\"pool-low\": *${low}[,}]" <<<"$obj"; then
		pass "node $n's pool has low watermark $low (netlink)"
	else
		fail "node $n's pool has low watermark $low (netlink): ${obj:-$json}"
	fi
done

# The pools, through memory.  Free memory of a node: MemFree plus the pages
# on the per-CPU free lists of its zones (which MemFree leaves out).
node_free_kib() {
	local n=$1 memfree pcp
	memfree=$(awk '$3 == "MemFree:" { print $4 }' "/sys/devices/system/node/node$n/meminfo")
	pcp=$(awk -v n="$n" '
		$1 == "Node" { on = ($2 == n ",") }
		on && $1 == "count:" { s += $2 }
		END { print s + 0 }' /proc/zoneinfo)
	echo $((memfree + pcp * 4))
}
sync
echo 3 >/proc/sys/vm/drop_caches
declare -A before
for n in "${nodes[@]}"; do
	before[$n]=$(node_free_kib "$n")
done
if modprobe -r numabuf; then
	pass "the module unloads"
else
	fail "the module unloads (modprobe -r numabuf failed)"
fi
sync
echo 3 >/proc/sys/vm/drop_caches
for n in "${nodes[@]}"; do
	after=$(node_free_kib "$n")
	rise=$((after - before[$n]))
	# 2 MiB of slack for what the rest of the system did meanwhile.
	if ((rise * 1024 >= pool - (2 << 20))); then
		pass "node $n's pool was memory: free memory rose by $rise KiB on unload (pool $((pool / 1024)) KiB)"
	else
		fail "node $n's pool was memory: free memory rose by $rise KiB on unload, less than the pool's $((pool / 1024)) KiB"
	fi
done

echo "$passed passed, $failed failed"
((failed == 0))
exit
}
