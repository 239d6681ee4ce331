// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and permissions: RLIMIT_MEMLOCK (per user, bypassed by
 * CAP_IPC_LOCK), the memory cgroup, the module's global and per-user caps,
 * the udev rule that opens /dev/numabuf to group "numabuf", and one user's
 * buffers being out of another's reach.  Each limit is checked by what it
 * does (the allocation that crosses it fails, memory comes back after),
 * and the cgroup by its own counters, not the module's.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_NOBODY	65534
#define NB_OTHER_UID	65533
#define NB_CG		"/sys/fs/cgroup"
#define NB_CG_TEST	NB_CG "/numabuf-test"
#define NB_RULE_SRC	"udev/60-numabuf.rules"
#define NB_RULE_DST	"/run/udev/rules.d/60-numabuf.rules"
/* A group id for "numabuf" that the host's /etc/group does not use. */
#define NB_GID		4242

static void nb_become(uid_t uid, const gid_t *groups, size_t ngroups)
{
	NB_SYS(setgroups(ngroups, groups));
	NB_SYS(setresgid(uid, uid, uid));
	NB_SYS(setresuid(uid, uid, uid));
}

static void nb_memlock(rlim_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
}

/* VmPin of this process in KiB. */
static long long nb_vmpin_kb(void)
{
	return (long long)nb_proc_status("VmPin", 10);
}

static void nb_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	NB_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	n = write(fd, val, strlen(val));
	NB_CHECK(n == (ssize_t)strlen(val), "write '%s' to %s: %s", val, path,
		 strerror(errno));
	close(fd);
}

static long long nb_read_ll(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t klen = key ? strlen(key) : 0;
	FILE *f = fopen(path, "re");

	NB_CHECK(f, "open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = strtoll(line, NULL, 10);
			break;
		}
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	NB_CHECK(v >= 0, "no value%s%s in %s", key ? " for " : "",
		 key ? key : "", path);
	return v;
}

NB_TEST(memlock_limit,
	"without CAP_IPC_LOCK, buffers count against RLIMIT_MEMLOCK of the user: the allocation crossing it gets ENOMEM, VmPin shows the charge, another process of the same user is refused too, and the charge goes with the memory")
{
	int fd = nb_open();
	pid_t pid;

	pid = NB_SYS(fork());
	if (pid == 0) {
		struct numabuf_alloc a, b;
		pid_t sib;

		nb_memlock(NB_MIB);
		nb_become(NB_NOBODY, NULL, 0);
		a = nb_alloc_ok(fd, 512 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		b = nb_alloc_ok(fd, 512 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		NB_CHECK(nb_vmpin_kb() == 1024, "VmPin %lld kB, expected 1024",
			 nb_vmpin_kb());
		NB_CHECK(nb_alloc(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0, NULL) == -ENOMEM,
			 "a page past RLIMIT_MEMLOCK was not refused with ENOMEM");

		/* Another process (own mm, VmPin 0) of the same user. */
		sib = NB_SYS(fork());
		if (sib == 0) {
			NB_CHECK(nb_vmpin_kb() == 0, "child VmPin %lld kB", nb_vmpin_kb());
			NB_CHECK(nb_alloc(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0, NULL) == -ENOMEM,
				 "the user's other process got past RLIMIT_MEMLOCK");
			_exit(0);
		}
		NB_WAIT_OK(sib);

		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		NB_CHECK(nb_vmpin_kb() == 512, "VmPin %lld kB after FREE, expected 512",
			 nb_vmpin_kb());
		a = nb_alloc_ok(fd, 512 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		NB_CHECK(!nb_free(fd, a.handle) && !nb_free(fd, b.handle), "FREE failed");
		NB_CHECK(nb_vmpin_kb() == 0, "VmPin %lld kB after all FREEs", nb_vmpin_kb());
		_exit(0);
	}
	NB_WAIT_OK(pid);

	/* Everything was uncharged: the same user gets the full limit again. */
	pid = NB_SYS(fork());
	if (pid == 0) {
		nb_memlock(NB_MIB);
		nb_become(NB_NOBODY, NULL, 0);
		nb_alloc_ok(fd, NB_MIB, NUMABUF_NODE_LOCAL, 0);
		_exit(0);	/* the parent's close frees it */
	}
	NB_WAIT_OK(pid);
	close(fd);
}

NB_TEST(memlock_freed_late,
	"a buffer freed by its last mapping in another process still uncharges the user who allocated it")
{
	int fd = nb_open();
	pid_t pid = NB_SYS(fork());

	if (pid == 0) {
		struct numabuf_alloc a;
		void *p;

		nb_memlock(NB_MIB);
		nb_become(NB_NOBODY, NULL, 0);
		a = nb_alloc_ok(fd, NB_MIB, NUMABUF_NODE_LOCAL, 0);
		p = nb_map(fd, a.offset, NB_MIB);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		if (NB_SYS(fork()) == 0) {
			/* The child's inherited mapping is the last user. */
			usleep(100000);
			_exit(((char *)p)[0]);
		}
		NB_SYS(munmap(p, NB_MIB));
		_exit(0);
	}
	NB_WAIT_OK(pid);
	/* The grandchild exits on its own; wait until the memory is gone. */
	pid = NB_SYS(fork());
	if (pid == 0) {
		int i, ret = -ENOMEM;

		nb_memlock(NB_MIB);
		nb_become(NB_NOBODY, NULL, 0);
		for (i = 0; i < 50 && ret == -ENOMEM; i++) {
			ret = nb_alloc(fd, NB_MIB, NUMABUF_NODE_LOCAL, 0, NULL);
			if (ret == -ENOMEM)
				usleep(100000);
		}
		NB_CHECK(ret == 0, "the user's charge was not dropped: %s",
			 nb_errname(-ret));
		_exit(0);
	}
	NB_WAIT_OK(pid);
	close(fd);
}

NB_TEST(memlock_bypass,
	"CAP_IPC_LOCK bypasses RLIMIT_MEMLOCK: root with a 1 MiB limit allocates 4 MiB")
{
	int fd = nb_open();
	pid_t pid = NB_SYS(fork());

	if (pid == 0) {
		nb_memlock(NB_MIB);
		nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	close(fd);
}

static void nb_cg_cleanup(void)
{
	rmdir(NB_CG_TEST);
}

NB_TEST_TIMEOUT(memcg_limit,
	"buffers are charged to the memory cgroup: with memory.max 24M a member gets ENOMEM (no OOM kill) after at most 24 MiB, memory.current shows the buffers and drops when they go",
	120)
{
	long long base, peak, after, ooms;
	pid_t pid;
	int fd, st;

	/* A mount namespace of our own: the cgroup2 mount goes with us. */
	NB_SYS(unshare(CLONE_NEWNS));
	NB_SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	if (access(NB_CG "/cgroup.controllers", F_OK))
		NB_SYS(mount("cgroup2", NB_CG, "cgroup2", 0, NULL));
	nb_cg_cleanup();
	nb_write_file(NB_CG "/cgroup.subtree_control", "+memory");
	NB_SYS(mkdir(NB_CG_TEST, 0755));
	nb_write_file(NB_CG_TEST "/memory.max", "24M");
	if (!access(NB_CG_TEST "/memory.swap.max", F_OK))
		nb_write_file(NB_CG_TEST "/memory.swap.max", "0");

	fd = nb_open();
	pid = NB_SYS(fork());
	if (pid == 0) {
		char me[32];
		int n = 0, ret;

		snprintf(me, sizeof(me), "%d", getpid());
		nb_write_file(NB_CG_TEST "/cgroup.procs", me);
		base = nb_read_ll(NB_CG_TEST "/memory.current", NULL);
		while ((ret = nb_alloc(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0, NULL)) == 0)
			n++;
		peak = nb_read_ll(NB_CG_TEST "/memory.current", NULL);
		NB_CHECK(ret == -ENOMEM, "the allocation over memory.max failed with %s",
			 nb_errname(-ret));
		NB_CHECK(n >= 2 && n <= 6, "%d buffers of 4 MiB fit in a 24M cgroup", n);
		NB_CHECK(peak - base >= n * 4 * (long long)NB_MIB,
			 "memory.current grew by %lld bytes for %d buffers of 4 MiB",
			 peak - base, n);
		nb_note("%d buffers of 4 MiB in a 24M cgroup; memory.current %lld -> %lld",
			n, base, peak);
		_exit(0);
	}
	NB_SYS(waitpid(pid, &st, 0));
	NB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		 "the cgroup member did not exit cleanly (status %#x)", st);
	ooms = nb_read_ll(NB_CG_TEST "/memory.events", "oom_kill");
	NB_CHECK(ooms == 0, "%lld OOM kills in the cgroup", ooms);

	/* The buffers are the file's: closing it uncharges the cgroup. */
	close(fd);
	after = nb_read_ll(NB_CG_TEST "/memory.current", NULL);
	NB_CHECK(after < 2 * (long long)NB_MIB,
		 "memory.current is %lld bytes after the buffers went", after);
	NB_SYS(rmdir(NB_CG_TEST));
}

NB_TEST(cap_global,
	"module parameter max_bytes caps all buffers together: the allocation crossing it gets EDQUOT, room comes back on FREE, 0 lifts the cap")
{
	int fd = nb_open();
	struct numabuf_alloc a;

	nb_param_set("max_bytes", 8 * NB_MIB);
	a = nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
	nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
	if (nb_alloc(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0, NULL) != -EDQUOT) {
		nb_param_set("max_bytes", 0);
		NB_FAIL("a page over max_bytes was not refused with EDQUOT");
	}
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
	nb_param_set("max_bytes", 0);
	nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
	close(fd);
}

NB_TEST(cap_per_user,
	"module parameter max_user_bytes caps each user: nobody is refused (EDQUOT) past 2 MiB while another user still allocates")
{
	int fd = nb_open();
	pid_t pid;

	nb_param_set("max_user_bytes", 2 * NB_MIB);
	pid = NB_SYS(fork());
	if (pid == 0) {
		struct numabuf_alloc a;
		int ret;

		nb_become(NB_NOBODY, NULL, 0);
		a = nb_alloc_ok(fd, 2 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
		ret = nb_alloc(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0, NULL);
		NB_CHECK(ret == -EDQUOT, "nobody past max_user_bytes: %s, expected EDQUOT",
			 nb_errname(-ret));
		/* Root is another user with its own 2 MiB. */
		if (NB_SYS(fork()) == 0) {
			nb_become(NB_OTHER_UID, NULL, 0);
			nb_alloc_ok(fd, 2 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
			_exit(0);
		}
		NB_CHECK(wait(NULL) > 0, "wait");
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		nb_alloc_ok(fd, NB_MIB, NUMABUF_NODE_LOCAL, 0);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	nb_param_set("max_user_bytes", 0);
	close(fd);
}

NB_TEST(other_users_buffers,
	"a user who opens the device cannot reach another user's buffers: their handles are unknown (ENOENT) and offsets unmappable (ENXIO)")
{
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	pid_t pid;
	int st;

	NB_SYS(chmod(NB_DEV, 0666));
	pid = NB_SYS(fork());
	if (pid == 0) {
		int other;

		nb_become(NB_NOBODY, NULL, 0);
		other = nb_open();
		NB_CHECK(nb_info(other, a.handle, NULL) == -ENOENT, "INFO reached it");
		NB_CHECK(nb_free(other, a.handle) == -ENOENT, "FREE reached it");
		NB_CHECK(mmap(NULL, 64 * NB_KIB, PROT_READ, MAP_SHARED, other,
			      (off_t)a.offset) == MAP_FAILED && errno == ENXIO,
			 "mmap of the other user's offset did not fail with ENXIO");
		_exit(0);
	}
	NB_SYS(waitpid(pid, &st, 0));
	NB_SYS(chmod(NB_DEV, 0600));
	NB_CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "the other user's checks failed");
	NB_CHECK(!nb_info(fd, a.handle, NULL), "the buffer was harmed");
	close(fd);
}

/* Run the shipped udev rule for the device, with "numabuf" = NB_GID. */
static void nb_udev_apply(void)
{
	char cmd[256];
	FILE *in, *out;
	char line[512];

	in = fopen("/etc/group", "re");
	out = fopen("/tmp/numabuf-group", "we");
	NB_CHECK(in && out, "cannot copy /etc/group");
	while (fgets(line, sizeof(line), in))
		fputs(line, out);
	fprintf(out, "numabuf:x:%d:\n", NB_GID);
	fclose(in);
	fclose(out);
	NB_SYS(mount("/tmp/numabuf-group", "/etc/group", NULL, MS_BIND, NULL));

	NB_CHECK(!system("mkdir -p /run/udev/rules.d && cp " NB_RULE_SRC " " NB_RULE_DST),
		 "cannot install the rule");
	snprintf(cmd, sizeof(cmd),
		 "udevadm test --action=add /sys/devices/virtual/misc/numabuf >/tmp/numabuf-udev.log 2>&1");
	NB_CHECK(!system(cmd), "udevadm test failed (see /tmp/numabuf-udev.log)");
	unlink(NB_RULE_DST);
}

NB_TEST(udev_rule,
	"the shipped udev rule makes /dev/numabuf root:numabuf 0660: a member of group numabuf opens it and allocates, other users get EACCES")
{
	struct stat st;
	gid_t g = NB_GID;
	int member, other;
	pid_t pid;

	if (access("/usr/bin/udevadm", X_OK) && access("/bin/udevadm", X_OK))
		nb_skip("udevadm is not installed");
	NB_SYS(unshare(CLONE_NEWNS));
	NB_SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	nb_udev_apply();

	NB_SYS(stat(NB_DEV, &st));
	if (st.st_gid != NB_GID || (st.st_mode & 07777) != 0660) {
		NB_SYS(chown(NB_DEV, 0, 0));
		NB_SYS(chmod(NB_DEV, 0600));
		NB_FAIL("after the rule: gid %u mode %o, expected %d and 0660",
			st.st_gid, st.st_mode & 07777, NB_GID);
	}

	pid = NB_SYS(fork());
	if (pid == 0) {
		int fd;

		nb_become(NB_NOBODY, &g, 1);
		fd = nb_open();
		nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		close(fd);
		_exit(0);
	}
	NB_SYS(waitpid(pid, &member, 0));
	pid = NB_SYS(fork());
	if (pid == 0) {
		nb_become(NB_NOBODY, NULL, 0);
		NB_CHECK(open(NB_DEV, O_RDWR) < 0 && errno == EACCES,
			 "a non-member opened %s", NB_DEV);
		_exit(0);
	}
	NB_SYS(waitpid(pid, &other, 0));
	NB_SYS(chown(NB_DEV, 0, 0));
	NB_SYS(chmod(NB_DEV, 0600));
	NB_CHECK(WIFEXITED(member) && !WEXITSTATUS(member),
		 "a member of group numabuf could not use the device");
	NB_CHECK(WIFEXITED(other) && !WEXITSTATUS(other), "non-member check failed");
}
