// SPDX-License-Identifier: GPL-2.0
/*
 * Memory cgroups (cgroup v2).  Neither 6.1 nor 6.12 exports a way for a
 * module to charge a memory cgroup for ranges and pool memory, so a task
 * whose memory cgroup, or one above it, has a limit (memory.max or
 * memory.high) is refused them (EPERM) unless the administrator sets the
 * module parameter cgroup_uncharged; cgroups without a limit (systemd's
 * services and sessions) may have them; buffers up to
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
/* memcg_limits_only: a group without limits, and one under a limited one. */
#define NB_CG_FREE	NB_CG_ROOT "/numabuf-free"
#define NB_CG_HIGH	NB_CG_ROOT "/numabuf-high"
#define NB_CG_UNDER	NB_CG_HIGH "/under"

/* The group the test's children join and whose memory.current is read. */
static const char *nb_cg_dir = NB_CG;

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
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", nb_cg_dir);
	f = fopen(path, "re");
	NB_CHECK(f, "%s: %s", path, strerror(errno));
	if (fgets(line, sizeof(line), f))
		v = atoll(line);
	fclose(f);
	NB_CHECK(v >= 0, "cannot read %s", path);
	return v;
}

/* cgroup v2 with the memory controller in the root's children, or SKIP. */
static void nb_cg_controller(void)
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
}

/* A fresh cgroup @dir; with @file (memory.max, memory.high) set to @val. */
static void nb_cg_make(const char *dir, const char *file, const char *val)
{
	char path[256];
	int ret;

	rmdir(dir);
	NB_CHECK(!mkdir(dir, 0755) || errno == EEXIST, "mkdir %s: %s", dir,
		 strerror(errno));
	if (!file)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ret = nb_write_file(path, val);
	NB_CHECK(!ret, "%s %s: %s", path, val, strerror(ret));
}

/* The memory.max=32M child group of memcg_range_pool, or SKIP. */
static void nb_cg_setup(void)
{
	char line[64];

	nb_cg_controller();
	snprintf(line, sizeof(line), "%llu", NB_CG_MAX);
	nb_cg_make(NB_CG, "memory.max", line);
}

static void nb_cg_remove(const char *dir)
{
	int i;

	/* The group empties when its last task is reaped. */
	for (i = 0; i < 200 && rmdir(dir) && errno == EBUSY; i++)
		usleep(10000);
}

static void nb_cg_teardown(void)
{
	nb_cg_remove(NB_CG);
}

/* Fork a child that joins the group nb_cg_dir and runs @fn there. */
static void nb_in_cgroup(void (*fn)(void))
{
	char path[256];
	pid_t pid = fork();
	int ret;

	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", nb_cg_dir);
		ret = nb_write_file(path, "0");
		NB_CHECK(!ret, "joining %s: %s", nb_cg_dir, strerror(ret));
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

/* Ranges and pool buffers: each EPERM in the group nb_cg_dir. */
static void nb_cg_eperm(void)
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
	int fd = nb_open(), ret;
	struct numabuf_alloc a;
	size_t k;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		ret = nb_alloc(fd, c[k].len, nb_cg_node, c[k].flags, &a);
		NB_CHECK(ret == -EPERM,
			 "ALLOC of %llu KiB, flags %#x, in the memory cgroup %s: %s, expected EPERM",
			 (unsigned long long)(c[k].len / NB_KIB), c[k].flags,
			 nb_cg_dir, nb_errname(-ret));
	}
	close(fd);
}

static void nb_cg_refused(void)
{
	int fd = nb_open(), ret, n = 0;
	uint32_t handles[16];
	struct numabuf_alloc a;
	struct numabuf_info inf;
	long long c0, c1;

	nb_cg_eperm();

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
		nb_note("%s: 8 MiB from source %u, memory.current %lld -> %lld KiB (not charged)",
			nb_cg_dir, inf.source, c0 / 1024, c1 / 1024);
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

/* A pool with room for 8 MiB on nb_cg_node; the target to restore. */
static uint64_t nb_cg_pool_room(int fd)
{
	struct numabuf_pool p;
	uint64_t saved;
	int ret;

	ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_GET, nb_cg_node, 0, &p);
	NB_CHECK(!ret, "POOL_GET: %s", nb_errname(-ret));
	saved = p.target;
	if (p.largest_free < 8 * NB_MIB) {
		ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_SET, nb_cg_node,
				  p.target + 16 * NB_MIB, &p);
		NB_CHECK(!ret, "POOL_SET node %d +16 MiB: %s", nb_cg_node,
			 nb_errname(-ret));
	}
	return saved;
}

static void nb_cg_pool_restore(int fd, uint64_t saved)
{
	struct numabuf_pool p;
	int ret;

	ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_GET, nb_cg_node, 0, &p);
	NB_CHECK(!ret, "POOL_GET: %s", nb_errname(-ret));
	if (p.target == saved)
		return;
	ret = nb_pool_ioc(fd, NUMABUF_IOC_POOL_SET, nb_cg_node, saved, &p);
	NB_CHECK(!ret, "POOL_SET back: %s", nb_errname(-ret));
}

NB_TEST_TIMEOUT(memcg_limits_only,
	"with cgroup_uncharged=0, what decides is a limit: in a child cgroup with no limit (memory.max and memory.high at max, as systemd's services and sessions have) 8 MiB ranges and pool buffers are given and not charged (memory.current); in a group with memory.high=64M, and in a group without limits below it, they are EPERM",
	300)
{
	int fd = nb_open(), saved_param;
	uint64_t saved_target;

	nb_cg_node = nb_cpu_node(0) < 0 ? 0 : nb_cpu_node(0);
	saved_param = nb_bool_param("cgroup_uncharged");
	saved_target = nb_cg_pool_room(fd);
	nb_cg_controller();
	nb_param_set("cgroup_uncharged", 0);

	nb_cg_make(NB_CG_FREE, NULL, NULL);
	nb_cg_dir = NB_CG_FREE;
	nb_in_cgroup(nb_cg_allowed);
	nb_cg_remove(NB_CG_FREE);

	nb_cg_make(NB_CG_HIGH, "memory.high", "67108864");
	nb_cg_dir = NB_CG_HIGH;
	nb_in_cgroup(nb_cg_eperm);
	/* Emptied (its child reaped), it may pass the controller on. */
	NB_CHECK(!nb_write_file(NB_CG_HIGH "/cgroup.subtree_control", "+memory"),
		 "+memory in %s/cgroup.subtree_control", NB_CG_HIGH);
	nb_cg_make(NB_CG_UNDER, NULL, NULL);
	nb_cg_dir = NB_CG_UNDER;
	nb_in_cgroup(nb_cg_eperm);
	nb_cg_remove(NB_CG_UNDER);
	nb_cg_remove(NB_CG_HIGH);

	nb_param_set("cgroup_uncharged", saved_param);
	nb_cg_pool_restore(fd, saved_target);
	close(fd);
}

NB_TEST_TIMEOUT(memcg_range_pool,
	"in a memory.max=32M child cgroup (cgroup v2): ranges (8 and 16 MiB) and pool buffers (8 MiB, 64 KiB) are refused with EPERM by default; 1 MiB comes from the page allocator (not the pool) and raises memory.current; 4 MiB buffers stop at memory.max with ENOMEM; with cgroup_uncharged=1 8 MiB ranges and pool buffers are given, not charged",
	300)
{
	uint64_t saved_target;
	int fd = nb_open(), saved_param;

	nb_cg_node = nb_cpu_node(0) < 0 ? 0 : nb_cpu_node(0);
	saved_param = nb_bool_param("cgroup_uncharged");
	saved_target = nb_cg_pool_room(fd);
	nb_cg_dir = NB_CG;
	nb_cg_setup();

	nb_param_set("cgroup_uncharged", 0);
	nb_in_cgroup(nb_cg_refused);
	nb_param_set("cgroup_uncharged", 1);
	nb_in_cgroup(nb_cg_allowed);

	nb_param_set("cgroup_uncharged", saved_param);
	nb_cg_teardown();
	nb_cg_pool_restore(fd, saved_target);
	close(fd);
}
