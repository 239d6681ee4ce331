// SPDX-License-Identifier: GPL-2.0
/*
 * Memory cgroups (cgroup v2).  Neither 6.1 nor 6.12 exports a way for a
 * module to charge a memory cgroup for ranges and pool memory, so a task
 * outside the root memory cgroup is refused them (EPERM) unless the
 * administrator sets the module parameter cgroup_uncharged; buffers up to
 * 4 MiB come from the page allocator and are charged (__GFP_ACCOUNT), so
 * a cgroup's memory.max stops them.  Witnesses: the cgroup's own
 * memory.current, and INFO's source.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_CG_ROOT	"/sys/fs/cgroup"
#define NB_CG		NB_CG_ROOT "/numabuf-test"
#define NB_CG_MAX	(32 * NB_MIB)

static int nb_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = errno;
	close(fd);
	return ret;
}

static long long nb_cg_current(void)
{
	char line[64];
	long long v = -1;
	FILE *f = fopen(NB_CG "/memory.current", "re");

	NB_CHECK(f, "%s/memory.current: %s", NB_CG, strerror(errno));
	if (fgets(line, sizeof(line), f))
		v = atoll(line);
	fclose(f);
	NB_CHECK(v >= 0, "cannot read %s/memory.current", NB_CG);
	return v;
}

/* cgroup v2 with the memory controller, and a child group, or SKIP. */
static void nb_cg_setup(void)
{
	char line[256] = "";
	FILE *f;
	int ret;

	if (access(NB_CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("none", NB_CG_ROOT, "cgroup2", 0, NULL))
		nb_skip("cannot mount cgroup2 on %s: %s", NB_CG_ROOT,
			strerror(errno));
	f = fopen(NB_CG_ROOT "/cgroup.controllers", "re");
	if (!f || !fgets(line, sizeof(line), f) || !strstr(line, "memory"))
		nb_skip("no memory controller in %s/cgroup.controllers",
			NB_CG_ROOT);
	fclose(f);
	ret = nb_write_file(NB_CG_ROOT "/cgroup.subtree_control", "+memory");
	NB_CHECK(!ret, "+memory in %s/cgroup.subtree_control: %s", NB_CG_ROOT,
		 strerror(ret));
	rmdir(NB_CG);
	NB_CHECK(!mkdir(NB_CG, 0755) || errno == EEXIST, "mkdir %s: %s",
		 NB_CG, strerror(errno));
	snprintf(line, sizeof(line), "%llu", NB_CG_MAX);
	ret = nb_write_file(NB_CG "/memory.max", line);
	NB_CHECK(!ret, "%s/memory.max: %s", NB_CG, strerror(ret));
}

static void nb_cg_teardown(void)
{
	int i;

	/* The group empties when its last task is reaped. */
	for (i = 0; i < 200 && rmdir(NB_CG) && errno == EBUSY; i++)
		usleep(10000);
}

/* Fork a child that joins the test group and runs @fn there. */
static void nb_in_cgroup(void (*fn)(void))
{
	pid_t pid = fork();
	int ret;

	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		ret = nb_write_file(NB_CG "/cgroup.procs", "0");
		NB_CHECK(!ret, "joining %s: %s", NB_CG, strerror(ret));
		fn();
		_exit(0);
	}
	NB_WAIT_OK(pid);
}

static int nb_pool_ioc(int fd, unsigned long cmd, int node, uint64_t target,
		       struct numabuf_pool *out)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = target };

	if (ioctl(fd, cmd, &p))
		return -errno;
	*out = p;
	return 0;
}

static int nb_cg_node = -1;

static void nb_cg_refused(void)
{
	static const struct {
		uint64_t len;
		uint32_t flags;
	} c[] = {
		{ 8 * NB_MIB, NUMABUF_F_NO_POOL },	/* a range */
		{ 16 * NB_MIB, NUMABUF_F_NO_POOL },
		{ 8 * NB_MIB, NUMABUF_F_POOL },
		{ 8 * NB_MIB, 0 },
		{ 64 * NB_KIB, NUMABUF_F_POOL },
	};
	int fd = nb_open(), ret, n = 0;
	uint32_t handles[16];
	struct numabuf_alloc a;
	struct numabuf_info inf;
	long long c0, c1;
	size_t k;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		ret = nb_alloc(fd, c[k].len, nb_cg_node, c[k].flags, &a);
		NB_CHECK(ret == -EPERM,
			 "ALLOC of %llu KiB, flags %#x, in a child memory cgroup: %s, expected EPERM",
			 (unsigned long long)(c[k].len / NB_KIB), c[k].flags,
			 nb_errname(-ret));
	}

	/* 1 MiB by default: the page allocator, not the pool, charged. */
	c0 = nb_cg_current();
	a = nb_alloc_ok(fd, NB_MIB, nb_cg_node, 0);
	c1 = nb_cg_current();
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.source == NUMABUF_SOURCE_PAGES,
		 "1 MiB in a child memory cgroup came from source %u, expected the page allocator (%u)",
		 inf.source, NUMABUF_SOURCE_PAGES);
	NB_CHECK(c1 - c0 >= (long long)NB_MIB,
		 "memory.current rose by %lld bytes for a 1 MiB buffer",
		 c1 - c0);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	/* 4 MiB buffers until memory.max stops them. */
	c0 = nb_cg_current();
	while (n < 16) {
		ret = nb_alloc(fd, 4 * NB_MIB, nb_cg_node, NUMABUF_F_NO_POOL,
			       &a);
		if (ret)
			break;
		handles[n++] = a.handle;
	}
	c1 = nb_cg_current();
	nb_note("memory.max 32 MiB: %d buffers of 4 MiB, then %s; memory.current %lld -> %lld KiB",
		n, nb_errname(-ret), c0 / 1024, c1 / 1024);
	NB_CHECK(ret == -ENOMEM, "the 4 MiB ALLOC past memory.max: %s, expected ENOMEM",
		 nb_errname(-ret));
	NB_CHECK(n >= 1 && n <= 8, "%d buffers of 4 MiB in a 32 MiB cgroup", n);
	NB_CHECK(c1 - c0 >= (long long)n * 4 * (long long)NB_MIB &&
		 c1 <= (long long)NB_CG_MAX,
		 "memory.current %lld -> %lld with %d buffers of 4 MiB",
		 c0, c1, n);
	while (n)
		NB_CHECK(!nb_free(fd, handles[--n]), "FREE failed");
	close(fd);
}

static void nb_cg_allowed(void)
{
	static const uint32_t flags[] = { NUMABUF_F_NO_POOL, NUMABUF_F_POOL };
	static const uint32_t source[] = { NUMABUF_SOURCE_RANGE,
					   NUMABUF_SOURCE_POOL };
	int fd = nb_open();
	struct numabuf_alloc a;
	struct numabuf_info inf;
	long long c0, c1;
	size_t k;

	for (k = 0; k < 2; k++) {
		c0 = nb_cg_current();
		a = nb_alloc_ok(fd, 8 * NB_MIB, nb_cg_node, flags[k]);
		c1 = nb_cg_current();
		NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
		NB_CHECK(inf.source == source[k],
			 "8 MiB with flags %#x came from source %u, expected %u",
			 flags[k], inf.source, source[k]);
		nb_note("cgroup_uncharged=1: 8 MiB from source %u, memory.current %lld -> %lld KiB (not charged)",
			inf.source, c0 / 1024, c1 / 1024);
		NB_CHECK(c1 - c0 < (long long)(8 * NB_MIB),
			 "memory.current rose by %lld: was it charged after all?",
			 c1 - c0);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	}
	close(fd);
}

static int nb_bool_param(const char *name)
{
	char path[128], c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/numabuf/parameters/%s", name);
	f = fopen(path, "re");
	NB_CHECK(f && fread(&c, 1, 1, f) == 1, "cannot read %s", path);
	fclose(f);
	return c == 'Y' || c == '1';
}

NB_TEST_TIMEOUT(memcg_range_pool,
	"in a memory.max=32M child cgroup (cgroup v2): ranges (8 and 16 MiB) and pool buffers (8 MiB, 64 KiB) are refused with EPERM by default; 1 MiB comes from the page allocator (not the pool) and raises memory.current; 4 MiB buffers stop at memory.max with ENOMEM; with cgroup_uncharged=1 8 MiB ranges and pool buffers are given, not charged",
	300)
{
	struct numabuf_pool p;
	uint64_t saved_target;
	int fd = nb_open(), saved_param, ret;

	nb_cg_node = nb_cpu_node(0) < 0 ? 0 : nb_cpu_node(0);
	saved_param = nb_bool_param("cgroup_uncharged");
	/* A pool with room for 8 MiB on the node, whatever else is there. */
	ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_GET, nb_cg_node, 0, &p);
	NB_CHECK(!ret, "POOL_GET: %s", nb_errname(-ret));
	saved_target = p.target;
	if (p.largest_free < 8 * NB_MIB) {
		ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_SET, nb_cg_node,
				  p.target + 16 * NB_MIB, &p);
		NB_CHECK(!ret, "POOL_SET node %d +16 MiB: %s", nb_cg_node,
			 nb_errname(-ret));
	}
	nb_cg_setup();

	nb_param_set("cgroup_uncharged", 0);
	nb_in_cgroup(nb_cg_refused);
	nb_param_set("cgroup_uncharged", 1);
	nb_in_cgroup(nb_cg_allowed);

	nb_param_set("cgroup_uncharged", saved_param);
	nb_cg_teardown();
	if (p.target != saved_target) {
		ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_SET, nb_cg_node,
				  saved_target, &p);
		NB_CHECK(!ret, "POOL_SET back: %s", nb_errname(-ret));
	}
	close(fd);
}
