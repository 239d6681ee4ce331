// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf_diagnose() on the host, without the module: the causes that need
 * no module (node offline, size out of range, range_rate, bad arguments)
 * and RLIMIT_MEMLOCK, which this test sets itself (after dropping
 * CAP_IPC_LOCK from its effective set when it runs as root), so the
 * numbers in the answer can be checked against what was set.  The causes
 * that need the module (caps, pools, privileges) are tested in the guest
 * (tests/suite/t_ctl.c, ctl_alloc_why).  TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <numabuf.h>

static int n_test, n_fail;

static void ok(int cond, const char *what, const struct numabuf_diag *d)
{
	n_test++;
	if (cond) {
		printf("ok %d - %s\n", n_test, what);
		return;
	}
	n_fail++;
	printf("not ok %d - %s\n", n_test, what);
	if (d)
		printf("# cause %d node %d size %llu limit %llu used %llu: %s\n",
		       d->cause, d->node, (unsigned long long)d->size,
		       (unsigned long long)d->limit,
		       (unsigned long long)d->used, d->msg);
}

/* Drop CAP_IPC_LOCK from the effective set (a no-op when not root). */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c))
		return -errno;
	c[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct numabuf_diag d;
	struct rlimit rl = { 64 << 10, 64 << 10 };

	ok(numabuf_diagnose(0, 4096, 0, 0, &d) == -EINVAL,
	   "err 0 is not a failure: -EINVAL", NULL);
	ok(numabuf_diagnose(-ENOMEM, 4096, 0, 0, NULL) == -EINVAL,
	   "no struct: -EINVAL", NULL);

	ok(!numabuf_diagnose(-ENODEV, 5000, 4000, 0, &d) &&
	   d.cause == NUMABUF_CAUSE_NODE_OFFLINE && d.node == 4000 &&
	   d.size == (uint64_t)(2 * page) && strstr(d.msg, "node 4000 is not online"),
	   "ENODEV: node offline, the size rounded up to pages", &d);
	ok(!numabuf_diagnose(-EINVAL, (size_t)1 << 41, 0, 0, &d) &&
	   d.cause == NUMABUF_CAUSE_TOO_LARGE && strstr(d.msg, "1TiB"),
	   "EINVAL above 1 TiB: too large", &d);
	ok(!numabuf_diagnose(-EAGAIN, 8 << 20, 0, 0, &d) &&
	   d.cause == NUMABUF_CAUSE_RANGE_RATE && d.limit_hit &&
	   strstr(d.msg, "range_rate"),
	   "EAGAIN: range_rate, a limit", &d);
	ok(!numabuf_diagnose(-EOPNOTSUPP, 4096, 0, NUMABUF_F_HUGE_MAP, &d) &&
	   d.cause == NUMABUF_CAUSE_UNSUPPORTED && strstr(d.msg, "NUMABUF_F_HUGE_MAP"),
	   "EOPNOTSUPP with HUGE_MAP: names the flag", &d);
	ok(!numabuf_diagnose(-EPERM, 4096, 0, NUMABUF_F_WC, &d) && d.msg[0],
	   "EPERM: a message, whatever the cause", &d);

	/* RLIMIT_MEMLOCK: 64 KiB, and 1 MiB asked for. */
	if (getuid() == 0 && drop_ipc_lock()) {
		printf("ok %d # SKIP cannot drop CAP_IPC_LOCK\n", ++n_test);
	} else if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		printf("ok %d # SKIP setrlimit: %s\n", ++n_test, strerror(errno));
	} else {
		ok(!numabuf_diagnose(-ENOMEM, 1 << 20, NUMABUF_NODE_LOCAL, 0, &d) &&
		   d.cause == NUMABUF_CAUSE_MEMLOCK && d.limit == 64 << 10 &&
		   d.limit_hit && d.size == 1 << 20 &&
		   strstr(d.msg, "over RLIMIT_MEMLOCK: 1MiB more") &&
		   strstr(d.msg, "the limit of 64KiB") &&
		   strstr(d.msg, "CAP_IPC_LOCK") && !strstr(d.msg, "--preferred"),
		   "ENOMEM over RLIMIT_MEMLOCK: the limit set, the size, the fix", &d);
		ok(!numabuf_diagnose(-ENOMEM, 1 << 20, 0, NUMABUF_F_PREFERRED, &d) &&
		   d.cause == NUMABUF_CAUSE_MEMLOCK && !strstr(d.msg, "--preferred"),
		   "ENOMEM over RLIMIT_MEMLOCK with PREFERRED: the same", &d);
	}

	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
