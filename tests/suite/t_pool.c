// SPDX-License-Identifier: GPL-2.0
/*
 * Per-node pools (issue 4): NUMABUF_IOC_POOL_GET / _POOL_SET reserve
 * memory on a node ahead of time; NUMABUF_F_POOL buffers come only from
 * it, NUMABUF_F_NO_POOL buffers never, plain ones from it when it has a
 * block large enough.  A freed pool buffer is zeroed before it is handed
 * out again, and one whose pages someone still holds stays set aside
 * (charged and counted) until they come back.
 *
 * What the module says (POOL_GET, INFO's source, debugfs numabuf/nodes) is
 * checked against what can be seen without it: /proc/self/pagemap for the
 * frames, move_pages(2) for the node of every page, /proc/zoneinfo for
 * the node's free memory, the bytes themselves for zeroes and leftovers,
 * a pipe (vmsplice) and io_uring for pinned pages.
 *
 * Every test first sets every pool to 0 (a failed test may have left one)
 * and leaves them all at 0 with every buffer freed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_GIB		(1024ULL * NB_MIB)
/* Pool sizes are rounded up to the page allocator's largest block. */
#define NB_POOL_UNIT	(4 * NB_MIB)
#define NB_NODES_PATH	"/sys/kernel/debug/numabuf/nodes"
#define NB_ANY		UINT64_MAX
#define NB_N(a)		(sizeof(a) / sizeof((a)[0]))
/*
 * How far a node's free memory may stray on its own between two readings
 * (page tables, slab, the test's own arrays), in KiB.
 */
#define NB_NODE_SLACK_KB	(8 * 1024LL)

/* ---- the pool ioctls ---- */

static int nb_pool_get(int fd, int node, struct numabuf_pool *out)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node };

	if (ioctl(fd, NUMABUF_IOC_POOL_GET, &p))
		return -errno;
	if (out)
		*out = p;
	return 0;
}

static int nb_pool_set(int fd, int node, uint64_t target,
		       struct numabuf_pool *out)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = target };

	if (ioctl(fd, NUMABUF_IOC_POOL_SET, &p))
		return -errno;
	if (out)
		*out = p;
	return 0;
}

static struct numabuf_pool nb_pool_get_ok(int fd, int node)
{
	struct numabuf_pool p;
	int ret = nb_pool_get(fd, node, &p);

	NB_CHECK(!ret, "POOL_GET node %d: %s", node, nb_errname(-ret));
	NB_CHECK(p.node == node, "POOL_GET node %d answered node %d", node, p.node);
	NB_CHECK(p.free_bytes <= p.pool_bytes && p.largest_free <= p.free_bytes,
		 "POOL_GET node %d: pool %llu, free %llu, largest free %llu do not add up",
		 node, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes,
		 (unsigned long long)p.largest_free);
	return p;
}

static struct numabuf_pool nb_pool_set_ok(int fd, int node, uint64_t target)
{
	struct numabuf_pool p;
	int ret = nb_pool_set(fd, node, target, &p);

	NB_CHECK(!ret, "POOL_SET node %d target %llu MiB: %s", node,
		 (unsigned long long)(target / NB_MIB), nb_errname(-ret));
	NB_CHECK(p.node == node, "POOL_SET node %d answered node %d", node, p.node);
	return p;
}

/*
 * Poll POOL_GET until the pool holds @bytes with @free free and a largest
 * free block of @largest (NB_ANY: any); fail after a timeout.  A worker
 * zeroes freed pool memory: free_bytes counts it at once, but largest_free
 * (the free lists) and pool_bytes (what is given back) move only once the
 * worker is done with it, so this is how a test waits for the worker.
 */
static struct numabuf_pool nb_pool_wait_at(const char *file, int line, int fd,
					   int node, uint64_t bytes,
					   uint64_t free, uint64_t largest)
{
	double end = nb_now() + 120.0 * nb_slow();
	struct numabuf_pool p;

	for (;;) {
		p = nb_pool_get_ok(fd, node);
		if ((bytes == NB_ANY || p.pool_bytes == bytes) &&
		    (free == NB_ANY || p.free_bytes == free) &&
		    (largest == NB_ANY || p.largest_free == largest))
			return p;
		if (nb_now() > end)
			break;
		usleep(10000);
	}
	nb_fail_at(file, line,
		   "node %d's pool never reached pool %lld free %lld largest %lld (-1: any) in %u s: pool %llu free %llu largest %llu target %llu",
		   node, (long long)bytes, (long long)free, (long long)largest,
		   120 * nb_slow(), (unsigned long long)p.pool_bytes,
		   (unsigned long long)p.free_bytes,
		   (unsigned long long)p.largest_free,
		   (unsigned long long)p.target);
}
#define NB_POOL_WAIT(fd, node, bytes, free, largest) \
	nb_pool_wait_at(NB_FILE, __LINE__, fd, node, bytes, free, largest)

/* Every pool to 0 and empty; fails if one does not get there. */
static void nb_pools_zero_at(const char *file, int line, int fd)
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES), i, ret;

	for (i = 0; i < n; i++) {
		ret = nb_pool_set(fd, nodes[i], 0, NULL);
		/* ENOMEM: an online node without memory has no pool. */
		if (ret && ret != -ENOMEM)
			nb_fail_at(file, line, "POOL_SET node %d target 0: %s",
				   nodes[i], nb_errname(-ret));
		if (!ret)
			nb_pool_wait_at(file, line, fd, nodes[i], 0, 0, 0);
	}
}
#define NB_POOLS_ZERO(fd) nb_pools_zero_at(NB_FILE, __LINE__, fd)

/* One node's line of debugfs numabuf/nodes. */
struct nb_node_line {
	unsigned long long target, bytes, free, largest;
	unsigned long long alloc[3], fail[3];	/* pages, range, pool */
};

static struct nb_node_line nb_node_line(int node)
{
	struct nb_node_line l;
	char line[512];
	FILE *f = fopen(NB_NODES_PATH, "re");
	int n, found = 0;

	NB_CHECK(f, "%s: %s", NB_NODES_PATH, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &n, &l.target, &l.bytes, &l.free, &l.largest,
			   &l.alloc[0], &l.alloc[1], &l.alloc[2], &l.fail[0],
			   &l.fail[1], &l.fail[2]) == 11 && n == node) {
			found = 1;
			break;
		}
	}
	fclose(f);
	NB_CHECK(found, "no line for node %d in %s", node, NB_NODES_PATH);
	return l;
}

/* ---- nodes and their free memory ---- */

static int nb_last_node(void)
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);

	NB_CHECK(n >= 2, "%d online node(s): the suite needs a guest with at least 2",
		 n);
	return nodes[n - 1];
}

static int nb_first_node(void)
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);

	NB_CHECK(n >= 1, "no online node");
	return nodes[0];
}

/* The smallest node id that is not online (the guest: 2). */
static int nb_offline_node(void)
{
	int node = 0;

	while (nb_node_online(node))
		node++;
	return node;
}

/* MemTotal of a node in KiB, from sysfs. */
static long long nb_node_total_kb(int node)
{
	char path[96], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	f = fopen(path, "r");
	NB_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %*d MemTotal: %lld kB", &kb) == 1)
			break;
	fclose(f);
	NB_CHECK(kb > 0, "no MemTotal in %s", path);
	return kb;
}

/* Free memory of @node in KiB (buddy + per-CPU lists), caches dropped. */
static long long nb_node_free(int node)
{
	long long kb;

	nb_drop_caches();
	kb = nb_free_kb(node);
	NB_CHECK(kb >= 0, "cannot read node %d's free memory from /proc/zoneinfo", node);
	return kb;
}

/*
 * The node's free memory is @before_kb less @bytes, within the slack.
 * Free memory can lag (per-CPU lists, kcompactd's isolated pages): poll a
 * few seconds before calling it wrong.
 */
static void nb_expect_node_free_at(const char *file, int line, const char *what,
				   int node, long long before_kb, uint64_t bytes)
{
	long long want = before_kb - (long long)(bytes / NB_KIB), now = 0;
	int i;

	for (i = 0; i < 40; i++) {
		now = nb_node_free(node);
		if (now >= want - NB_NODE_SLACK_KB && now <= want + NB_NODE_SLACK_KB)
			return;
		usleep(100000);
	}
	nb_fail_at(file, line,
		   "%s: node %d has %lld KiB free, expected %lld KiB (%lld before, less %llu MiB) within %lld KiB",
		   what, node, now, want, before_kb,
		   (unsigned long long)(bytes / NB_MIB), NB_NODE_SLACK_KB);
}
#define NB_EXPECT_NODE_FREE(what, node, before_kb, bytes) \
	nb_expect_node_free_at(NB_FILE, __LINE__, what, node, before_kb, bytes)

/* ---- buffers ---- */

struct nb_pbuf {
	struct numabuf_alloc a;
	uint64_t len;
	char *p;
	uint64_t first;		/* first frame, from pagemap */
	uint32_t source;	/* INFO's word */
};

static const char *nb_source_name(uint32_t source)
{
	switch (source) {
	case NUMABUF_SOURCE_PAGES:
		return "PAGES";
	case NUMABUF_SOURCE_RANGE:
		return "RANGE";
	case NUMABUF_SOURCE_POOL:
		return "POOL";
	}
	return "unknown";
}

/*
 * The frames behind [p, p + len): one run, from pagemap.  Returns the
 * first frame.
 */
static uint64_t nb_frames(const char *what, void *p, uint64_t len)
{
	size_t n = len / NB_PAGE, i;
	uint64_t *pfn = malloc(n * sizeof(*pfn)), first;

	NB_CHECK(pfn, "out of memory");
	nb_pfns(p, n, pfn);
	first = pfn[0];
	NB_CHECK(first, "%s: pagemap gives no frame for the first page (not root?)", what);
	for (i = 1; i < n; i++)
		NB_CHECK(pfn[i] == first + i,
			 "%s: not contiguous: page %zu is frame %#llx, page 0 is %#llx",
			 what, i, (unsigned long long)pfn[i],
			 (unsigned long long)first);
	free(pfn);
	return first;
}

/*
 * ALLOC @len on @node with @flags, map it and check it: length and node
 * in the answer, INFO's source @source (0: any but the answer is kept),
 * contiguous frames (pagemap) from a 2 MiB / 1 GiB boundary for 2 MiB /
 * 1 GiB and more, INFO phys the first frame, every page on the node
 * (move_pages), every byte zero.
 */
static void nb_pbuf_alloc(int fd, int node, uint64_t len, uint32_t flags,
			  uint32_t source, struct nb_pbuf *b)
{
	uint64_t align = len >= NB_GIB ? NB_GIB : len >= 2 * NB_MIB ? 2 * NB_MIB : NB_PAGE;
	struct numabuf_info inf;
	char what[96];
	size_t nz;

	snprintf(what, sizeof(what), "%llu KiB buffer (flags %#x) on node %d",
		 (unsigned long long)(len / NB_KIB), flags, node);
	memset(b, 0, sizeof(*b));
	b->len = len;
	b->a = nb_alloc_ok(fd, len, node, flags);
	NB_CHECK(b->a.length == len && b->a.node == node,
		 "%s: ALLOC answered length %llu node %d", what,
		 (unsigned long long)b->a.length, b->a.node);
	NB_CHECK(!nb_info(fd, b->a.handle, &inf), "%s: INFO failed", what);
	b->source = inf.source;
	NB_CHECK(!source || inf.source == source, "%s: INFO source %u (%s), expected %u (%s)",
		 what, inf.source, nb_source_name(inf.source), source,
		 nb_source_name(source));
	NB_CHECK(inf.flags == flags && inf.length == len && inf.node == node,
		 "%s: INFO says flags %#x length %llu node %d", what, inf.flags,
		 (unsigned long long)inf.length, inf.node);
	b->p = nb_map(fd, b->a.offset, len);
	b->first = nb_frames(what, b->p, len);
	NB_CHECK((b->first * NB_PAGE) % align == 0,
		 "%s starts at %#llx, not on a %llu KiB boundary", what,
		 (unsigned long long)(b->first * NB_PAGE),
		 (unsigned long long)(align / NB_KIB));
	NB_CHECK(inf.phys == b->first * NB_PAGE, "%s: INFO phys %#llx, pagemap says %#llx",
		 what, (unsigned long long)inf.phys,
		 (unsigned long long)(b->first * NB_PAGE));
	NB_EXPECT_NODE(b->p, len, node);
	nz = nb_find_nonzero(b->p, len);
	NB_CHECK(nz == (size_t)-1, "%s: byte %zu of the fresh buffer is %#x, not zero",
		 what, nz, (unsigned char)b->p[nz]);
}

static void nb_pbuf_free(int fd, struct nb_pbuf *b)
{
	if (b->p)
		NB_SYS(munmap(b->p, b->len));
	NB_CHECK(!nb_free(fd, b->a.handle), "FREE of handle %u failed", b->a.handle);
	b->p = NULL;
}

/* Fail if any two of the @n buffers share a frame. */
static void nb_expect_disjoint(const struct nb_pbuf *b, int n)
{
	int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			NB_CHECK(b[i].first + b[i].len / NB_PAGE <= b[j].first ||
				 b[j].first + b[j].len / NB_PAGE <= b[i].first,
				 "buffers of %llu and %llu KiB overlap: frames %#llx and %#llx",
				 (unsigned long long)(b[i].len / NB_KIB),
				 (unsigned long long)(b[j].len / NB_KIB),
				 (unsigned long long)b[i].first,
				 (unsigned long long)b[j].first);
}

/* ---- the tests ---- */

/* Big enough for a one-page struct plus a guard. */
static _Alignas(4096) unsigned char nb_arg[2 * 4096];

static struct numabuf_pool *nb_arg_pool(uint32_t size, int node, uint64_t target)
{
	struct numabuf_pool *p = (void *)nb_arg;

	memset(nb_arg, 0, sizeof(nb_arg));
	p->size = size;
	p->node = node;
	p->target = target;
	return p;
}

/* One raw POOL_GET or POOL_SET of nb_arg; 0 or the errno. */
static int nb_arg_call(int fd, bool set)
{
	return ioctl(fd, set ? NUMABUF_IOC_POOL_SET : NUMABUF_IOC_POOL_GET,
		     nb_arg) ? errno : 0;
}

/*
 * MAX_NUMNODES from the running kernel's config (/boot/config-RELEASE, or
 * /proc/config.gz through zcat), 0 if it is not to be found.
 */
static int nb_max_numnodes(void)
{
	char val[32];

	/* MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT; 0 when unknown. */
	if (nb_kconfig("CONFIG_NODES_SHIFT", val, sizeof(val)) != 1)
		return 0;
	return atoi(val) >= 0 && atoi(val) < 16 ? 1 << atoi(val) : 0;
}

/* Become nobody with no capabilities at all, or fail the test. */
static void nb_drop_all(void)
{
	nb_drop_privileges();
	NB_CHECK(nb_proc_status("CapEff", 16) == 0, "CapEff is not 0 after the uid change");
}

/* The pool of @node holds @bytes, all free, as POOL_GET and debugfs say. */
static void nb_expect_pool_at(const char *file, int line, int fd, int node,
			      uint64_t target, uint64_t bytes)
{
	struct numabuf_pool p = nb_pool_get_ok(fd, node);
	struct nb_node_line l = nb_node_line(node);

	if (p.target != target || p.pool_bytes != bytes || p.free_bytes != bytes)
		nb_fail_at(file, line,
			   "node %d: POOL_GET says target %llu pool %llu free %llu, expected target %llu, %llu all free",
			   node, (unsigned long long)p.target,
			   (unsigned long long)p.pool_bytes,
			   (unsigned long long)p.free_bytes,
			   (unsigned long long)target, (unsigned long long)bytes);
	if (l.target != target || l.bytes != bytes || l.free != bytes ||
	    l.largest != p.largest_free)
		nb_fail_at(file, line,
			   "node %d: debugfs says target %llu pool %llu free %llu largest %llu, POOL_GET target %llu pool %llu free %llu largest %llu",
			   node, l.target, l.bytes, l.free, l.largest,
			   (unsigned long long)p.target,
			   (unsigned long long)p.pool_bytes,
			   (unsigned long long)p.free_bytes,
			   (unsigned long long)p.largest_free);
}
#define NB_EXPECT_POOL(fd, node, target, bytes) \
	nb_expect_pool_at(NB_FILE, __LINE__, fd, node, target, bytes)

NB_TEST_TIMEOUT(pool_ioctl_input,
	"POOL_GET/SET: size < 80 or > 4096 EINVAL, nonzero tail E2BIG, zero tail accepted; flags, reserved0, reserved[] EINVAL; GET with a target EINVAL; node < -1 or >= MAX_NUMNODES EINVAL, offline ENODEV; node -1 is the caller's; nobody may GET, SET is EPERM and changes nothing; targets round up to 4 MiB (answer, POOL_GET, debugfs, node free memory agree); beyond RAM ENOMEM",
	600)
{
	static const uint32_t bad_sizes[] = { 0, 4, 8, 72, 79, 4097, 8192, UINT32_MAX };
	static const uint32_t tails[] = { 88, 4096 };
	static const struct { uint64_t in, out; } rounding[] = {
		{ 1, 4 * NB_MIB }, { 4095, 4 * NB_MIB }, { NB_PAGE, 4 * NB_MIB },
		{ 4 * NB_MIB - 1, 4 * NB_MIB }, { 4 * NB_MIB, 4 * NB_MIB },
		{ 4 * NB_MIB + 1, 8 * NB_MIB }, { 5 * NB_MIB, 8 * NB_MIB },
		{ 12 * NB_MIB, 12 * NB_MIB }, { 13 * NB_MIB + 4097, 16 * NB_MIB },
	};
	int fd = nb_open(), node = nb_last_node(), off = nb_offline_node();
	int maxn = nb_max_numnodes(), local, err, set, i;
	int bad_nodes[] = { -2, -100, INT_MIN, 100000, INT_MAX, maxn };
	unsigned long long total = (unsigned long long)nb_meminfo_kb("MemTotal") * NB_KIB;
	uint64_t beyond[] = { UINT64_MAX, 1ULL << 40, total + 4 * NB_MIB };
	struct numabuf_pool *a, p;
	long long free0;
	cpu_set_t cpus;
	pid_t pid;
	size_t k;

	NB_CHECK(sizeof(struct numabuf_pool) == NUMABUF_POOL_SIZE_VER0,
		 "struct numabuf_pool is %zu bytes, NUMABUF_POOL_SIZE_VER0 %d",
		 sizeof(struct numabuf_pool), NUMABUF_POOL_SIZE_VER0);
	NB_POOLS_ZERO(fd);
	if (!maxn)
		nb_note("MAX_NUMNODES unknown (no kernel config): node 100000 stands for it");

	/* Malformed calls: a SET among them would reserve 4 MiB. */
	for (set = 0; set < 2; set++) {
		const char *name = set ? "POOL_SET" : "POOL_GET";
		uint64_t target = set ? 4 * NB_MIB : 0;

		for (k = 0; k < NB_N(bad_sizes); k++) {
			nb_arg_pool(bad_sizes[k], node, target);
			err = nb_arg_call(fd, set);
			NB_CHECK(err == EINVAL, "%s with size %u: expected EINVAL, got %s",
				 name, bad_sizes[k], nb_errname(err));
		}
		for (k = 0; k < NB_N(tails); k++) {
			uint32_t at[2] = { sizeof(*a), tails[k] - 1 };

			for (i = 0; i < 2; i++) {
				nb_arg_pool(tails[k], node, target);
				nb_arg[at[i]] = 0x80;
				err = nb_arg_call(fd, set);
				NB_CHECK(err == E2BIG,
					 "%s with size %u and byte %u set: expected E2BIG, got %s",
					 name, tails[k], at[i], nb_errname(err));
			}
		}
		a = nb_arg_pool(sizeof(*a), node, target);
		a->flags = 1;
		err = nb_arg_call(fd, set);
		NB_CHECK(err == EINVAL, "%s with flags 1: expected EINVAL, got %s", name,
			 nb_errname(err));
		a = nb_arg_pool(sizeof(*a), node, target);
		a->flags = 0x80000000U;
		err = nb_arg_call(fd, set);
		NB_CHECK(err == EINVAL, "%s with flags 0x80000000: expected EINVAL, got %s",
			 name, nb_errname(err));
		a = nb_arg_pool(sizeof(*a), node, target);
		a->reserved0 = 1;
		err = nb_arg_call(fd, set);
		NB_CHECK(err == EINVAL, "%s with reserved0 1: expected EINVAL, got %s", name,
			 nb_errname(err));
		for (i = 0; i < 4; i++) {
			a = nb_arg_pool(sizeof(*a), node, target);
			a->reserved[i] = 1ULL << (i * 16);
			err = nb_arg_call(fd, set);
			NB_CHECK(err == EINVAL, "%s with reserved[%d] set: expected EINVAL, got %s",
				 name, i, nb_errname(err));
		}
		for (k = 0; k < NB_N(bad_nodes); k++) {
			if (!bad_nodes[k])
				continue;
			nb_arg_pool(sizeof(*a), bad_nodes[k], target);
			err = nb_arg_call(fd, set);
			NB_CHECK(err == EINVAL, "%s node %d: expected EINVAL, got %s", name,
				 bad_nodes[k], nb_errname(err));
		}
		nb_arg_pool(sizeof(*a), off, target);
		err = nb_arg_call(fd, set);
		NB_CHECK(err == ENODEV, "%s on offline node %d: expected ENODEV, got %s", name,
			 off, nb_errname(err));
	}
	nb_arg_pool(sizeof(*a), node, 4 * NB_MIB);
	err = nb_arg_call(fd, false);
	NB_CHECK(err == EINVAL, "POOL_GET with target 4 MiB: expected EINVAL, got %s",
		 nb_errname(err));
	NB_EXPECT_POOL(fd, node, 0, 0);

	/* A zero tail is accepted, as by the other ioctls. */
	for (k = 0; k < NB_N(tails); k++) {
		a = nb_arg_pool(tails[k], node, 0);
		err = nb_arg_call(fd, false);
		NB_CHECK(!err && a->node == node && a->pool_bytes == 0,
			 "POOL_GET with size %u and a zero tail: %s, node %d", tails[k],
			 nb_errname(err), a->node);
		a = nb_arg_pool(tails[k], node, 4 * NB_MIB);
		err = nb_arg_call(fd, true);
		NB_CHECK(!err && a->target == 4 * NB_MIB && a->pool_bytes == 4 * NB_MIB,
			 "POOL_SET with size %u and a zero tail: %s, target %llu pool %llu",
			 tails[k], nb_errname(err), (unsigned long long)a->target,
			 (unsigned long long)a->pool_bytes);
		p = nb_pool_set_ok(fd, node, 0);
		NB_CHECK(p.pool_bytes == 0, "POOL_SET 0 left %llu bytes",
			 (unsigned long long)p.pool_bytes);
	}

	/* NUMABUF_NODE_LOCAL: the node of the CPU making the call. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	NB_SYS(sched_setaffinity(0, sizeof(cpus), &cpus));
	local = nb_cpu_node(0);
	p = nb_pool_get_ok(fd, local);
	err = -nb_pool_get(fd, NUMABUF_NODE_LOCAL, &p);
	NB_CHECK(!err && p.node == local, "POOL_GET node -1 on CPU 0: %s, node %d, expected %d",
		 nb_errname(err), p.node, local);
	err = -nb_pool_set(fd, NUMABUF_NODE_LOCAL, 4 * NB_MIB, &p);
	NB_CHECK(!err && p.node == local && p.target == 4 * NB_MIB,
		 "POOL_SET node -1 on CPU 0: %s, node %d target %llu, expected node %d",
		 nb_errname(err), p.node, (unsigned long long)p.target, local);
	NB_EXPECT_POOL(fd, local, 4 * NB_MIB, 4 * NB_MIB);
	nb_pool_set_ok(fd, local, 0);
	CPU_ZERO(&cpus);
	for (i = 0; i < CPU_SETSIZE && i < (int)sysconf(_SC_NPROCESSORS_CONF); i++)
		CPU_SET(i, &cpus);
	NB_SYS(sched_setaffinity(0, sizeof(cpus), &cpus));

	/* Anyone may read a pool; only CAP_SYS_ADMIN may set one. */
	nb_pool_set_ok(fd, node, 8 * NB_MIB);
	pid = NB_SYS(fork());
	if (!pid) {
		nb_drop_all();
		p = nb_pool_get_ok(fd, node);
		NB_CHECK(p.target == 8 * NB_MIB && p.pool_bytes == 8 * NB_MIB,
			 "nobody: POOL_GET says target %llu pool %llu, expected 8 MiB",
			 (unsigned long long)p.target, (unsigned long long)p.pool_bytes);
		err = -nb_pool_get(fd, NUMABUF_NODE_LOCAL, NULL);
		NB_CHECK(!err, "nobody: POOL_GET node -1: %s", nb_errname(err));
		err = -nb_pool_set(fd, node, 0, NULL);
		NB_CHECK(err == EPERM, "nobody: POOL_SET target 0: expected EPERM, got %s",
			 nb_errname(err));
		err = -nb_pool_set(fd, node, 16 * NB_MIB, NULL);
		NB_CHECK(err == EPERM, "nobody: POOL_SET 16 MiB: expected EPERM, got %s",
			 nb_errname(err));
		err = -nb_pool_set(fd, NUMABUF_NODE_LOCAL, 8 * NB_MIB, NULL);
		NB_CHECK(err == EPERM, "nobody: POOL_SET node -1: expected EPERM, got %s",
			 nb_errname(err));
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_EXPECT_POOL(fd, node, 8 * NB_MIB, 8 * NB_MIB);
	p = nb_pool_set_ok(fd, node, 0);
	NB_CHECK(p.target == 0 && p.pool_bytes == 0, "POOL_SET 0: target %llu pool %llu",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes);

	/* Rounding up to 4 MiB, in the answer and in the node's memory. */
	free0 = nb_node_free(node);
	for (k = 0; k < NB_N(rounding); k++) {
		p = nb_pool_set_ok(fd, node, rounding[k].in);
		NB_CHECK(p.target == rounding[k].out && p.pool_bytes == rounding[k].out &&
			 p.free_bytes == rounding[k].out,
			 "POOL_SET %llu bytes answered target %llu pool %llu free %llu, expected %llu",
			 (unsigned long long)rounding[k].in, (unsigned long long)p.target,
			 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes,
			 (unsigned long long)rounding[k].out);
		NB_EXPECT_POOL(fd, node, rounding[k].out, rounding[k].out);
		NB_EXPECT_NODE_FREE("pool of a rounded target", node, free0, rounding[k].out);
		p = nb_pool_set_ok(fd, node, 0);
		NB_CHECK(p.pool_bytes == 0, "POOL_SET 0 after %llu bytes left %llu",
			 (unsigned long long)rounding[k].in,
			 (unsigned long long)p.pool_bytes);
	}
	NB_EXPECT_NODE_FREE("every pool back to 0", node, free0, 0);

	/* More than the machine has: ENOMEM, nothing reserved. */
	for (k = 0; k < NB_N(beyond); k++) {
		err = -nb_pool_set(fd, node, beyond[k], NULL);
		NB_CHECK(err == ENOMEM, "POOL_SET %#llx bytes (MemTotal %llu): expected ENOMEM, got %s",
			 (unsigned long long)beyond[k], total, nb_errname(err));
		NB_EXPECT_POOL(fd, node, 0, 0);
	}
	NB_POOLS_ZERO(fd);
	close(fd);
}


NB_TEST_TIMEOUT(pool_grow_all_or_nothing,
	"POOL_SET of a node's whole memory (less than the machine's): ENOMEM, the pool and the node's free memory as before, no OOM kill; a 256 MiB pool works after it",
	900)
{
	int node = nb_last_node(), fd = nb_open(), err;
	uint64_t whole = ((uint64_t)nb_node_total_kb(node) * NB_KIB + NB_POOL_UNIT - 1) &
			 ~(NB_POOL_UNIT - 1);
	long long kills = nb_vmstat("oom_kill"), free0;
	struct numabuf_pool p;
	double t;

	NB_POOLS_ZERO(fd);
	nb_pool_set_ok(fd, node, 64 * NB_MIB);
	free0 = nb_node_free(node);
	t = nb_now();
	err = -nb_pool_set(fd, node, whole, &p);
	t = nb_now() - t;
	NB_CHECK(err == ENOMEM, "POOL_SET of node %d's %llu MiB: expected ENOMEM, got %s",
		 node, (unsigned long long)(whole / NB_MIB), nb_errname(err));
	nb_note("node %d: POOL_SET %llu MiB failed in %.1f s", node,
		(unsigned long long)(whole / NB_MIB), t);
	NB_EXPECT_POOL(fd, node, 64 * NB_MIB, 64 * NB_MIB);
	NB_EXPECT_NODE_FREE("after a POOL_SET that failed", node, free0, 0);
	NB_CHECK(nb_vmstat("oom_kill") == kills, "the OOM killer ran (%lld kills)",
		 nb_vmstat("oom_kill") - kills);

	p = nb_pool_set_ok(fd, node, 256 * NB_MIB);
	NB_CHECK(p.pool_bytes == 256 * NB_MIB, "POOL_SET 256 MiB: pool %llu",
		 (unsigned long long)p.pool_bytes);
	NB_EXPECT_NODE_FREE("a 256 MiB pool", node, free0, 192 * NB_MIB);
	NB_POOLS_ZERO(fd);
	close(fd);
}

/* 1 GiB pools need nodes of 3 GiB or more (the suite's guest has 4). */
static bool nb_room_for(int node, uint64_t len)
{
	return (uint64_t)nb_node_total_kb(node) * NB_KIB >= len * 3;
}

NB_TEST_TIMEOUT(pool_sizes,
	"512 MiB pool: F_POOL buffers of 4, 64 KiB, 2, 4, 8, 64, 256 MiB held together are source POOL, contiguous (pagemap), from a 2 MiB boundary at 2 MiB and up, inside the pool's region, disjoint, on the node (move_pages), zero, and take no free memory from the node; 1 GiB pool: largest_free 1 GiB, a 1 GiB F_POOL buffer 1 GiB-aligned and contiguous",
	1200)
{
	static const uint64_t sizes[] = { 4 * NB_KIB, 64 * NB_KIB, 2 * NB_MIB, 4 * NB_MIB,
					  8 * NB_MIB, 64 * NB_MIB, 256 * NB_MIB };
	const int nsizes = NB_N(sizes);
	const uint64_t pool = 512 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), i;
	struct nb_pbuf b[NB_N(sizes)], big;
	uint64_t used = 0, region = 0;
	long long free0, free1;
	struct numabuf_pool p;

	NB_POOLS_ZERO(fd);
	free0 = nb_node_free(node);
	p = nb_pool_set_ok(fd, node, pool);
	NB_CHECK(p.target == pool && p.pool_bytes == pool && p.free_bytes == pool,
		 "POOL_SET 512 MiB: target %llu pool %llu free %llu",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes);
	NB_EXPECT_NODE_FREE("a 512 MiB pool", node, free0, pool);
	free1 = nb_node_free(node);
	if (p.largest_free == pool)
		region = pool / NB_PAGE;	/* one naturally aligned region */
	else
		nb_note("node %d: the 512 MiB pool is in pieces (largest free block %llu MiB)",
			node, (unsigned long long)(p.largest_free / NB_MIB));

	for (i = 0; i < nsizes; i++) {
		nb_pbuf_alloc(fd, node, sizes[i], NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b[i]);
		used += sizes[i];
		if (region)
			NB_CHECK(b[i].first / region == b[0].first / region,
				 "%llu KiB buffer at frame %#llx and 4 KiB buffer at %#llx are not in one 512 MiB region",
				 (unsigned long long)(sizes[i] / NB_KIB),
				 (unsigned long long)b[i].first,
				 (unsigned long long)b[0].first);
		nb_fill(b[i].p, sizes[i], 7000 + i);
	}
	nb_expect_disjoint(b, nsizes);
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.pool_bytes == pool && p.free_bytes == pool - used,
		 "with %llu KiB in buffers POOL_GET says pool %llu free %llu",
		 (unsigned long long)(used / NB_KIB), (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes);
	/* The buffers came out of the reserve, not out of the node's free memory. */
	NB_EXPECT_NODE_FREE("pool buffers held", node, free1, 0);
	for (i = 0; i < nsizes; i++) {
		size_t bad = nb_verify(b[i].p, sizes[i], 7000 + i);

		NB_CHECK(bad == (size_t)-1, "%llu KiB buffer: byte %zu changed under it",
			 (unsigned long long)(sizes[i] / NB_KIB), bad);
		nb_pbuf_free(fd, &b[i]);
	}
	/* free_bytes counts memory still being zeroed; largest_free does not. */
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.pool_bytes == pool && p.free_bytes == pool,
		 "after FREE of everything POOL_GET says pool %llu free %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes);
	if (region)
		NB_POOL_WAIT(fd, node, pool, pool, pool);
	p = nb_pool_set_ok(fd, node, 0);
	NB_CHECK(p.target == 0 && p.pool_bytes == 0 && p.free_bytes == 0,
		 "POOL_SET 0 with nothing in use: target %llu pool %llu free %llu",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes);
	NB_EXPECT_NODE_FREE("the 512 MiB pool gone", node, free0, 0);

	if (!nb_room_for(node, NB_GIB))
		nb_skip("the 512 MiB part passed; node %d has %lld MiB, a 1 GiB pool needs a guest with larger nodes (guest-run --node-mem 4G)",
			node, nb_node_total_kb(node) / 1024);
	p = nb_pool_set_ok(fd, node, NB_GIB);
	NB_CHECK(p.pool_bytes == NB_GIB && p.largest_free == NB_GIB,
		 "POOL_SET 1 GiB: pool %llu largest free %llu, expected one 1 GiB block",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.largest_free);
	NB_EXPECT_NODE_FREE("a 1 GiB pool", node, free0, NB_GIB);
	nb_pbuf_alloc(fd, node, NB_GIB, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &big);
	nb_note("node %d: 1 GiB pool buffer at %#llx", node,
		(unsigned long long)(big.first * NB_PAGE));
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.free_bytes == 0 && p.largest_free == 0,
		 "1 GiB pool with its 1 GiB buffer out: free %llu largest %llu",
		 (unsigned long long)p.free_bytes, (unsigned long long)p.largest_free);
	nb_pbuf_free(fd, &big);
	NB_POOLS_ZERO(fd);
	NB_EXPECT_NODE_FREE("the 1 GiB pool gone", node, free0, 0);
	close(fd);
}

NB_TEST_TIMEOUT(pool_exhaustion_fallback,
	"16 MiB pool: F_NO_POOL never from it (PAGES, RANGE) though it has room, no flags from it (POOL); four 4 MiB F_POOL buffers (one reusing a just-freed dirtied block) are zero and disjoint, the fifth ENOMEM, without flags the fifth is PAGES on the node; POOL_GET and debugfs counters agree; after FREE the pool is whole again",
	600)
{
	const uint64_t pool = 16 * NB_MIB, len = 4 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), i, ret;
	struct nb_pbuf b[4], other, first;
	struct nb_node_line l0, l1;
	struct numabuf_pool p;
	long long free0;
	uint64_t whole;

	NB_POOLS_ZERO(fd);
	free0 = nb_node_free(node);
	l0 = nb_node_line(node);
	p = nb_pool_set_ok(fd, node, pool);
	whole = p.largest_free;
	NB_CHECK(p.pool_bytes == pool && whole >= len,
		 "POOL_SET 16 MiB: pool %llu largest free %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)whole);

	/* F_NO_POOL leaves the pool alone even when it has room. */
	nb_pbuf_alloc(fd, node, len, NUMABUF_F_NO_POOL, NUMABUF_SOURCE_PAGES, &other);
	nb_pbuf_free(fd, &other);
	nb_pbuf_alloc(fd, node, 2 * len, NUMABUF_F_NO_POOL, NUMABUF_SOURCE_RANGE, &other);
	nb_pbuf_free(fd, &other);
	NB_EXPECT_POOL(fd, node, pool, pool);

	/* Without flags the pool serves when it can; dirty that block. */
	nb_pbuf_alloc(fd, node, len, 0, NUMABUF_SOURCE_POOL, &first);
	memset(first.p, 0xa5, len);
	nb_pbuf_free(fd, &first);

	/*
	 * The whole pool in four: one of them is the block just dirtied (an
	 * ALLOC that finds only memory still being zeroed waits for it).
	 */
	for (i = 0; i < 4; i++)
		nb_pbuf_alloc(fd, node, len, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b[i]);
	nb_expect_disjoint(b, 4);
	for (i = 0; i < 4 && b[i].first != first.first; i++)
		;
	NB_CHECK(i < 4, "none of the four 4 MiB pool buffers reuses the dirtied block %#llx",
		 (unsigned long long)first.first);
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.pool_bytes == pool && p.free_bytes == 0 && p.largest_free == 0,
		 "pool handed out whole: POOL_GET says pool %llu free %llu largest %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes,
		 (unsigned long long)p.largest_free);

	ret = nb_alloc(fd, len, node, NUMABUF_F_POOL, NULL);
	NB_CHECK(ret == -ENOMEM, "fifth 4 MiB F_POOL ALLOC: expected ENOMEM, got %s",
		 ret ? nb_errname(-ret) : "success");
	ret = nb_alloc(fd, NB_PAGE, node, NUMABUF_F_POOL, NULL);
	NB_CHECK(ret == -ENOMEM, "4 KiB F_POOL ALLOC from a spent pool: expected ENOMEM, got %s",
		 ret ? nb_errname(-ret) : "success");
	nb_pbuf_alloc(fd, node, len, 0, NUMABUF_SOURCE_PAGES, &other);
	NB_EXPECT_NODE_FREE("a spent pool and a 4 MiB buffer from the page allocator", node,
			    free0, pool + len);

	/* The module's counters tell the same story. */
	l1 = nb_node_line(node);
	NB_CHECK(l1.alloc[2] - l0.alloc[2] == 5 && l1.fail[2] - l0.fail[2] == 3 &&
		 l1.alloc[0] - l0.alloc[0] == 2 && l1.alloc[1] - l0.alloc[1] == 1,
		 "debugfs counters moved by alloc pool %llu (5), fail pool %llu (3), alloc pages %llu (2), alloc range %llu (1)",
		 l1.alloc[2] - l0.alloc[2], l1.fail[2] - l0.fail[2],
		 l1.alloc[0] - l0.alloc[0], l1.alloc[1] - l0.alloc[1]);
	NB_CHECK(l1.bytes == pool && l1.free == 0 && l1.target == pool,
		 "debugfs pool %llu free %llu target %llu", l1.bytes, l1.free, l1.target);

	nb_pbuf_free(fd, &other);
	for (i = 0; i < 4; i++)
		nb_pbuf_free(fd, &b[i]);
	/* free_bytes is back at once (it counts memory being zeroed) ... */
	NB_POOL_WAIT(fd, node, pool, pool, NB_ANY);
	/* ... and the free lists whole once the worker has zeroed it all. */
	NB_POOL_WAIT(fd, node, pool, pool, whole);
	NB_EXPECT_POOL(fd, node, pool, pool);
	NB_POOLS_ZERO(fd);
	NB_EXPECT_NODE_FREE("the pool gone", node, free0, 0);
	close(fd);
}

static int nb_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every frame of the @n buffers, sorted, in @out (pool / page entries). */
static size_t nb_all_frames(const struct nb_pbuf *b, int n, uint64_t *out)
{
	size_t k = 0, j;
	int i;

	for (i = 0; i < n; i++)
		for (j = 0; j < b[i].len / NB_PAGE; j++)
			out[k++] = b[i].first + j;
	qsort(out, k, sizeof(*out), nb_cmp_u64);
	return k;
}

NB_TEST_TIMEOUT(pool_no_data_leak,
	"32 MiB pool taken whole as 16 MiB, 8 MiB ... 4 KiB, 4 KiB F_POOL buffers, each filled with a pattern; freed, and at once taken whole again as eight 4 MiB buffers: the same frames (pagemap), every byte zero",
	600)
{
	const uint64_t pool = 32 * NB_MIB, np = pool / NB_PAGE;
	int node = nb_first_node(), fd = nb_open(), n = 0, i;
	struct nb_pbuf b[16], c[8];
	uint64_t *before = malloc(np * sizeof(*before));
	uint64_t *after = malloc(np * sizeof(*after));
	uint64_t len, sum = 0;
	struct numabuf_pool p;

	NB_CHECK(before && after, "out of memory");
	NB_POOLS_ZERO(fd);
	nb_pool_set_ok(fd, node, pool);
	for (len = 16 * NB_MIB; len >= NB_PAGE; len /= 2) {
		nb_pbuf_alloc(fd, node, len, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b[n]);
		nb_fill(b[n].p, len, 900 + n);
		sum += len;
		n++;
	}
	nb_pbuf_alloc(fd, node, NB_PAGE, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b[n]);
	nb_fill(b[n].p, NB_PAGE, 900 + n);
	sum += NB_PAGE;
	n++;
	NB_CHECK(sum == pool, "the buffers add up to %llu, not the pool's %llu",
		 (unsigned long long)sum, (unsigned long long)pool);
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.free_bytes == 0, "the whole pool in buffers, but POOL_GET says %llu free",
		 (unsigned long long)p.free_bytes);
	nb_expect_disjoint(b, n);
	NB_CHECK(nb_all_frames(b, n, before) == np, "frame count");
	for (i = 0; i < n; i++) {
		size_t bad = nb_verify(b[i].p, b[i].len, 900 + i);

		NB_CHECK(bad == (size_t)-1, "buffer %d: byte %zu lost its pattern", i, bad);
		nb_pbuf_free(fd, &b[i]);
	}

	/* No waiting: an ALLOC that finds only dirty memory waits for it. */
	for (i = 0; i < 8; i++)
		nb_pbuf_alloc(fd, node, 4 * NB_MIB, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &c[i]);
	NB_CHECK(nb_all_frames(c, 8, after) == np, "frame count");
	for (i = 0; i < (int)np; i++)
		NB_CHECK(before[i] == after[i],
			 "frame %#llx of the first round and %#llx of the second differ (entry %d): not the same pool memory",
			 (unsigned long long)before[i], (unsigned long long)after[i], i);
	for (i = 0; i < 8; i++)
		nb_pbuf_free(fd, &c[i]);
	NB_POOLS_ZERO(fd);
	free(before);
	free(after);
	close(fd);
}

NB_TEST_TIMEOUT(pool_shrink_live,
	"64 MiB pool with live 16 and 8 MiB buffers: POOL_SET 32 MiB gives back 32 MiB, POOL_SET 0 all but the 24 MiB in use (F_POOL then ENOMEM), the buffers stay mapped with their frames and bytes; as each is freed the pool shrinks by it to 0 and the node's free memory comes back",
	600)
{
	const uint64_t pool = 64 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), ret;
	struct nb_pbuf big, small;
	struct numabuf_pool p;
	struct numabuf_info inf;
	long long free0;
	uint64_t first;
	size_t bad;

	NB_POOLS_ZERO(fd);
	free0 = nb_node_free(node);
	nb_pool_set_ok(fd, node, pool);
	NB_EXPECT_NODE_FREE("a 64 MiB pool", node, free0, pool);
	nb_pbuf_alloc(fd, node, 16 * NB_MIB, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &big);
	nb_pbuf_alloc(fd, node, 8 * NB_MIB, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &small);
	nb_fill(big.p, big.len, 51);
	nb_fill(small.p, small.len, 52);

	p = nb_pool_set_ok(fd, node, 32 * NB_MIB);
	NB_CHECK(p.target == 32 * NB_MIB && p.pool_bytes == 32 * NB_MIB &&
		 p.free_bytes == 8 * NB_MIB,
		 "POOL_SET 32 MiB with 24 MiB in use: target %llu pool %llu free %llu, expected 32, 32, 8 MiB",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes);
	NB_EXPECT_NODE_FREE("pool shrunk to 32 MiB", node, free0, 32 * NB_MIB);

	p = nb_pool_set_ok(fd, node, 0);
	NB_CHECK(p.target == 0 && p.pool_bytes == 24 * NB_MIB && p.free_bytes == 0 &&
		 p.largest_free == 0,
		 "POOL_SET 0 with 24 MiB in use: target %llu pool %llu free %llu largest %llu, expected 0, 24 MiB, 0, 0",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes, (unsigned long long)p.largest_free);
	NB_EXPECT_NODE_FREE("pool shrunk to what is in use", node, free0, 24 * NB_MIB);
	ret = nb_alloc(fd, NB_PAGE, node, NUMABUF_F_POOL, NULL);
	NB_CHECK(ret == -ENOMEM, "4 KiB F_POOL from a pool with nothing free: expected ENOMEM, got %s",
		 ret ? nb_errname(-ret) : "success");

	/* The live buffers: same frames, same bytes, still writable. */
	first = nb_frames("16 MiB buffer after the shrink", big.p, big.len);
	NB_CHECK(first == big.first, "16 MiB buffer moved from frame %#llx to %#llx",
		 (unsigned long long)big.first, (unsigned long long)first);
	first = nb_frames("8 MiB buffer after the shrink", small.p, small.len);
	NB_CHECK(first == small.first, "8 MiB buffer moved from frame %#llx to %#llx",
		 (unsigned long long)small.first, (unsigned long long)first);
	NB_EXPECT_NODE(big.p, big.len, node);
	bad = nb_verify(big.p, big.len, 51);
	NB_CHECK(bad == (size_t)-1, "16 MiB buffer: byte %zu changed by the shrink", bad);
	bad = nb_verify(small.p, small.len, 52);
	NB_CHECK(bad == (size_t)-1, "8 MiB buffer: byte %zu changed by the shrink", bad);
	NB_CHECK(!nb_info(fd, big.a.handle, &inf) && inf.source == NUMABUF_SOURCE_POOL,
		 "INFO of the live buffer: source %u", inf.source);
	nb_fill(big.p, big.len, 53);

	nb_pbuf_free(fd, &small);
	NB_POOL_WAIT(fd, node, 16 * NB_MIB, 0, 0);
	NB_EXPECT_NODE_FREE("pool down to the 16 MiB buffer", node, free0, 16 * NB_MIB);
	bad = nb_verify(big.p, big.len, 53);
	NB_CHECK(bad == (size_t)-1, "16 MiB buffer: byte %zu changed when its neighbour went",
		 bad);
	nb_pbuf_free(fd, &big);
	NB_POOL_WAIT(fd, node, 0, 0, 0);
	NB_EXPECT_POOL(fd, node, 0, 0);
	NB_EXPECT_NODE_FREE("pool empty", node, free0, 0);
	close(fd);
}

NB_TEST_TIMEOUT(pool_grow_while_draining,
	"POOL_SET 0 with a live 32 MiB buffer (the pool stays at 32 MiB), FREE it and at once POOL_SET 256 MiB while the worker zeroes it: POOL_SET returns with the pool at its 256 MiB target (growing reserves at once; the worker may give back only what is above the target)",
	600)
{
	const uint64_t target = 256 * NB_MIB;
	int node = nb_last_node(), fd = nb_open();
	struct numabuf_pool set, p;
	struct nb_pbuf b;
	long long free0;

	NB_POOLS_ZERO(fd);
	free0 = nb_node_free(node);
	nb_pool_set_ok(fd, node, 64 * NB_MIB);
	nb_pbuf_alloc(fd, node, 32 * NB_MIB, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b);
	memset(b.p, 0x5a, b.len);
	p = nb_pool_set_ok(fd, node, 0);
	NB_CHECK(p.pool_bytes == 32 * NB_MIB && p.free_bytes == 0,
		 "POOL_SET 0 with 32 MiB in use: pool %llu free %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes);

	/* The worker now zeroes 32 MiB, then gives it back (target 0) ... */
	nb_pbuf_free(fd, &b);
	/*
	 * ... while this grows the pool to 256 MiB.  Once POOL_SET has set
	 * the new target nothing may take the pool below it, so its answer
	 * is the verdict.
	 */
	set = nb_pool_set_ok(fd, node, target);
	NB_CHECK(set.target == target && set.pool_bytes == target,
		 "POOL_SET %llu MiB, issued while the worker zeroed a freed 32 MiB buffer above the old target (0), returned target %llu KiB with the pool at %llu KiB (free %llu KiB): below its target, nothing in use or pinned",
		 (unsigned long long)(target / NB_MIB),
		 (unsigned long long)(set.target / NB_KIB),
		 (unsigned long long)(set.pool_bytes / NB_KIB),
		 (unsigned long long)(set.free_bytes / NB_KIB));
	p = nb_pool_get_ok(fd, node);
	NB_CHECK(p.pool_bytes == target, "after POOL_SET %llu MiB the pool holds %llu KiB",
		 (unsigned long long)(target / NB_MIB),
		 (unsigned long long)(p.pool_bytes / NB_KIB));
	NB_EXPECT_NODE_FREE("a 256 MiB pool", node, free0, target);
	NB_POOLS_ZERO(fd);
	close(fd);
}

static bool nb_frame_in(uint64_t frame, const struct nb_pbuf *b)
{
	return frame >= b->first && frame < b->first + b->len / NB_PAGE;
}

NB_TEST_TIMEOUT(pool_pinned_not_reused,
	"16 MiB pool in four 4 MiB F_POOL buffers; one's pages held by a pipe (vmsplice: get_user_pages references, on every kernel), one pinned as an io_uring fixed buffer (FOLL_LONGTERM; kernels >= 6.5, io_uring before refuses device mappings); all freed: the held buffers stay the pool's (pool_bytes and target stay, free_bytes leaves them out) and stay counted (debugfs stats), the rest of the pool taken again never hands out a held frame (pagemap), the held bytes are intact (read from the pipe, written out by io_uring); once the holders let go the counters drop and the whole pool is free, and taken again it is zero and includes the held frames",
	600)
{
	const uint64_t pool = 16 * NB_MIB, len = 4 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), rfd, wfd, mfd, uring = 0, i, j, n, ret;
	struct nb_stats s0 = nb_stats_read();
	struct nb_pbuf b[4], c[4];
	struct numabuf_pool p;
	struct nb_ring r;
	void *pinned = NULL;
	uint64_t held, k;
	bool seen[2] = { false, false };
	ssize_t got;
	char *chk;
	size_t bad;

	NB_POOLS_ZERO(fd);
	nb_pool_set_ok(fd, node, pool);
	for (i = 0; i < 4; i++) {
		nb_pbuf_alloc(fd, node, len, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &b[i]);
		nb_fill(b[i].p, len, 300 + i);
	}

	rfd = nb_pipe_hold(b[0].p, len, &wfd);
	ret = nb_ring_setup(&r);
	if (ret) {
		nb_note("io_uring unavailable (%s): only the pipe holds pages",
			nb_errname(-ret));
	} else {
		struct iovec iov = { b[1].p, len };

		if (!syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
			/* Its address names the fixed buffer after munmap too. */
			pinned = b[1].p;
			uring = 1;
		} else {
			NB_CHECK(errno == EOPNOTSUPP && nb_uring_refuses_devices(),
				 "IORING_REGISTER_BUFFERS of a pool buffer: %s",
				 nb_errname(errno));
			nb_note("io_uring of this kernel refuses fixed buffers in device mappings (EOPNOTSUPP, before 6.5): only the pipe holds pages");
			nb_ring_close(&r);
		}
	}
	held = len * (1 + uring);

	for (i = 0; i < 4; i++)
		nb_pbuf_free(fd, &b[i]);
	/* Held buffers stay the pool's, in use, and stay counted. */
	p = NB_POOL_WAIT(fd, node, pool, pool - held, NB_ANY);
	NB_CHECK(p.target == pool, "target %llu with held pages",
		 (unsigned long long)p.target);
	NB_STATS_EXPECT(s0, 1 + uring, (long long)held);

	/* The rest of the pool taken again: not one held frame. */
	n = (int)((pool - held) / len);
	for (i = 0; i < n; i++) {
		nb_pbuf_alloc(fd, node, len, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &c[i]);
		for (k = 0; k < len / NB_PAGE; k++)
			for (j = 0; j < 1 + uring; j++)
				NB_CHECK(!nb_frame_in(c[i].first + k, &b[j]),
					 "frame %#llx, held by %s, handed out again in a new pool buffer",
					 (unsigned long long)(c[i].first + k),
					 j ? "io_uring" : "a pipe");
		memset(c[i].p, 0xdd, len);
	}
	ret = nb_alloc(fd, NB_PAGE, node, NUMABUF_F_POOL, NULL);
	NB_CHECK(ret == -ENOMEM, "F_POOL ALLOC beyond what is not held: expected ENOMEM, got %s",
		 ret ? nb_errname(-ret) : "success");
	for (i = 0; i < n; i++)
		nb_pbuf_free(fd, &c[i]);

	/* What was held is intact. */
	chk = malloc(len);
	NB_CHECK(chk, "out of memory");
	for (k = 0; k < len; k += (uint64_t)got) {
		got = read(rfd, chk + k, len - k);
		NB_CHECK(got > 0, "read from the pipe: %s", got ? strerror(errno) : "EOF");
	}
	bad = nb_verify(chk, len, 300);
	NB_CHECK(bad == (size_t)-1, "byte %zu of the pages in the pipe changed after FREE", bad);
	if (uring) {
		mfd = memfd_create("nb-pool-pin", MFD_CLOEXEC);
		NB_CHECK(mfd >= 0, "memfd_create: %s", strerror(errno));
		ret = nb_ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, mfd, pinned,
				       (unsigned int)len, 0);
		NB_CHECK(ret == (int)len, "WRITE_FIXED from the pinned buffer: %d (%s)", ret,
			 ret < 0 ? nb_errname(-ret) : "short");
		NB_CHECK(pread(mfd, chk, len, 0) == (ssize_t)len, "pread: %s", strerror(errno));
		bad = nb_verify(chk, len, 301);
		NB_CHECK(bad == (size_t)-1,
			 "byte %zu of the io_uring-pinned pages changed after FREE", bad);
		close(mfd);
		NB_SYS(syscall(__NR_io_uring_register, r.fd, IORING_UNREGISTER_BUFFERS, NULL, 0));
		nb_ring_close(&r);
	}
	free(chk);
	close(rfd);
	close(wfd);

	/* The holders are gone: the buffers go, the whole pool is free. */
	NB_STATS_EXPECT(s0, 0, 0);
	NB_POOL_WAIT(fd, node, pool, pool, pool);
	for (i = 0; i < 4; i++) {
		nb_pbuf_alloc(fd, node, len, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, &c[i]);
		bad = nb_find_nonzero(c[i].p, len);
		NB_CHECK(bad == (size_t)-1, "byte %zu of a pool buffer is not zero", bad);
		for (j = 0; j < 1 + uring; j++)
			if (nb_frame_in(c[i].first, &b[j]))
				seen[j] = true;
	}
	for (j = 0; j < 1 + uring; j++)
		NB_CHECK(seen[j], "the frames once held by %s never came back to the pool",
			 j ? "io_uring" : "a pipe");
	for (i = 0; i < 4; i++)
		nb_pbuf_free(fd, &c[i]);
	NB_POOLS_ZERO(fd);
	close(fd);
}

/* ---- many threads against a resizing pool ---- */

struct nb_racer {
	int fd;
	int node;
	int id;
	int *stop;
	uint64_t seed;
	unsigned long allocs, pool_ok, other_ok, enomem, frees;
};

#define NB_RACE_LIVE	6

static void *nb_race_worker(void *arg)
{
	static const uint64_t lens[] = { 4 * NB_KIB, 12 * NB_KIB, 64 * NB_KIB, NB_MIB,
					 4 * NB_MIB, 6 * NB_MIB, 8 * NB_MIB };
	struct nb_racer *w = arg;
	struct nb_rng r = { w->seed };
	struct { struct numabuf_alloc a; uint64_t len; char *p; } live[NB_RACE_LIVE];
	struct numabuf_info inf;
	int nlive = 0, i, ret;

	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		if (nlive == NB_RACE_LIVE || (nlive && nb_rnd_below(&r, 3) == 0)) {
			i = (int)nb_rnd_below(&r, nlive);
			NB_CHECK(live[i].p[live[i].len - 1] == (char)(w->id + 1),
				 "thread %d: the tag of a live buffer changed", w->id);
			NB_SYS(munmap(live[i].p, live[i].len));
			ret = nb_free(w->fd, live[i].a.handle);
			NB_CHECK(!ret, "thread %d: FREE: %s", w->id, nb_errname(-ret));
			live[i] = live[--nlive];
			w->frees++;
			continue;
		}
		{
			uint64_t len = lens[nb_rnd_below(&r, NB_N(lens))];
			uint32_t flags = nb_rnd_below(&r, 3) ? NUMABUF_F_POOL : 0;
			struct numabuf_alloc a;
			uint64_t pfn[2];
			char *p;

			w->allocs++;
			ret = nb_alloc(w->fd, len, w->node, flags, &a);
			if (ret == -ENOMEM) {
				NB_CHECK(flags == NUMABUF_F_POOL,
					 "thread %d: ALLOC of %llu KiB without flags: ENOMEM",
					 w->id, (unsigned long long)(len / NB_KIB));
				w->enomem++;
				continue;
			}
			NB_CHECK(!ret, "thread %d: ALLOC of %llu KiB flags %#x: %s (only ENOMEM may happen)",
				 w->id, (unsigned long long)(len / NB_KIB), flags,
				 nb_errname(-ret));
			ret = nb_info(w->fd, a.handle, &inf);
			NB_CHECK(!ret && inf.node == w->node,
				 "thread %d: INFO: %s, node %d", w->id, nb_errname(-ret),
				 inf.node);
			NB_CHECK(flags != NUMABUF_F_POOL || inf.source == NUMABUF_SOURCE_POOL,
				 "thread %d: F_POOL buffer from source %u", w->id, inf.source);
			if (inf.source == NUMABUF_SOURCE_POOL)
				w->pool_ok++;
			else
				w->other_ok++;
			p = nb_map(w->fd, a.offset, len);
			nb_pfns(p, 1, &pfn[0]);
			nb_pfns(p + len - NB_PAGE, 1, &pfn[1]);
			NB_CHECK(pfn[1] - pfn[0] == len / NB_PAGE - 1,
				 "thread %d: %llu KiB buffer from frame %#llx to %#llx: not contiguous",
				 w->id, (unsigned long long)(len / NB_KIB),
				 (unsigned long long)pfn[0], (unsigned long long)pfn[1]);
			NB_CHECK(nb_find_nonzero(p, NB_PAGE) == (size_t)-1 &&
				 nb_find_nonzero(p + len - NB_PAGE, NB_PAGE) == (size_t)-1,
				 "thread %d: fresh %llu KiB buffer (source %u) not zero",
				 w->id, (unsigned long long)(len / NB_KIB), inf.source);
			memset(p, w->id + 1, NB_PAGE);
			p[len - 1] = (char)(w->id + 1);
			live[nlive].a = a;
			live[nlive].len = len;
			live[nlive].p = p;
			nlive++;
		}
	}
	for (i = 0; i < nlive; i++) {
		NB_SYS(munmap(live[i].p, live[i].len));
		NB_CHECK(!nb_free(w->fd, live[i].a.handle), "thread %d: FREE failed", w->id);
		w->frees++;
	}
	return NULL;
}

NB_TEST_TIMEOUT(pool_concurrent_resize,
	"3 threads ALLOC (F_POOL or no flags, 4 KiB - 8 MiB), check (source, contiguity, zeroes, tags) and FREE on one node while a 4th sets its pool to 0-64 MiB at random: only ENOMEM (F_POOL) fails, no POOL_SET answer below its target, POOL_GET sane throughout; at the end debugfs alloc_pool counts the POOL buffers, POOL_SET 0 empties the pool, 64 MiB works again",
	900)
{
	static const uint64_t targets[] = { 0, 4 * NB_MIB, 16 * NB_MIB, 32 * NB_MIB,
					    64 * NB_MIB };
	const double secs = (double)nb_env_ull("NB_POOL_RACE_SECS", 20);
	int node = nb_last_node(), fd = nb_open(), i, ret;
	struct nb_rng r = { nb_seed("NB_POOL_RACE_SEED") };
	struct nb_racer w[3];
	pthread_t t[3];
	int stop = 0;
	unsigned long sets = 0, set_enomem = 0, pool_ok = 0, allocs = 0, enomem = 0, below = 0;
	char first_below[512] = "";
	struct numabuf_pool p, prev = { 0 };
	struct nb_node_line l0, l1;
	double end;

	NB_POOLS_ZERO(fd);
	l0 = nb_node_line(node);
	prev = nb_pool_set_ok(fd, node, 32 * NB_MIB);
	for (i = 0; i < 3; i++) {
		w[i] = (struct nb_racer){ .fd = i ? nb_open() : fd, .node = node, .id = i,
					  .stop = &stop, .seed = nb_rnd(&r) };
		NB_CHECK(!pthread_create(&t[i], NULL, nb_race_worker, &w[i]),
			 "pthread_create failed");
	}
	end = nb_now() + secs;
	while (nb_now() < end) {
		uint64_t target = targets[nb_rnd_below(&r, NB_N(targets))];

		ret = nb_pool_set(fd, node, target, &p);
		sets++;
		if (ret == -ENOMEM) {
			set_enomem++;
		} else {
			NB_CHECK(!ret, "POOL_SET %llu MiB: %s (only ENOMEM may happen)",
				 (unsigned long long)(target / NB_MIB), nb_errname(-ret));
			NB_CHECK(p.target == target, "POOL_SET %llu MiB answered target %llu",
				 (unsigned long long)(target / NB_MIB),
				 (unsigned long long)p.target);
			/* Kept for the end, so the rest of the run is checked too. */
			if (p.pool_bytes < p.target && !below++)
				snprintf(first_below, sizeof(first_below),
					 "POOL_SET %llu MiB returned with the pool at %llu KiB (free %llu KiB): below its target, nothing pinned (POOL_SET %lu; before it target %llu KiB pool %llu KiB free %llu KiB)",
					 (unsigned long long)(target / NB_MIB),
					 (unsigned long long)(p.pool_bytes / NB_KIB),
					 (unsigned long long)(p.free_bytes / NB_KIB), sets,
					 (unsigned long long)(prev.target / NB_KIB),
					 (unsigned long long)(prev.pool_bytes / NB_KIB),
					 (unsigned long long)(prev.free_bytes / NB_KIB));
		}
		prev = nb_pool_get_ok(fd, node);
		usleep((useconds_t)nb_rnd_below(&r, 20000));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		allocs += w[i].allocs;
		pool_ok += w[i].pool_ok;
		enomem += w[i].enomem;
		if (i)
			close(w[i].fd);
	}
	nb_note("%.0f s: %lu ALLOCs (%lu from the pool, %lu ENOMEM), %lu POOL_SETs (%lu ENOMEM)",
		secs, allocs, pool_ok, enomem, sets, set_enomem);
	NB_CHECK(pool_ok > 0 && enomem > 0 && sets > 10,
		 "the race did not happen: %lu pool buffers, %lu ENOMEM, %lu POOL_SETs",
		 pool_ok, enomem, sets);

	/* Every buffer is freed: the module counted each pool buffer. */
	l1 = nb_node_line(node);
	NB_CHECK(l1.alloc[2] - l0.alloc[2] == pool_ok,
		 "debugfs alloc_pool moved by %llu, %lu buffers came from the pool",
		 l1.alloc[2] - l0.alloc[2], pool_ok);
	NB_CHECK(l1.fail[2] - l0.fail[2] <= allocs - pool_ok,
		 "debugfs fail_pool moved by %llu, more than the %lu ALLOCs that did not get pool memory",
		 l1.fail[2] - l0.fail[2], allocs - pool_ok);
	p = nb_pool_get_ok(fd, node);
	if (p.pool_bytes < p.target && !below++)
		snprintf(first_below, sizeof(first_below),
			 "at the end the pool holds %llu KiB, target %llu KiB",
			 (unsigned long long)(p.pool_bytes / NB_KIB),
			 (unsigned long long)(p.target / NB_KIB));
	/* POOL_SET 0 waits for the worker: nothing may be left in the pool. */
	p = nb_pool_set_ok(fd, node, 0);
	NB_CHECK(p.pool_bytes == 0 && p.free_bytes == 0,
		 "POOL_SET 0 after the race with every buffer freed: pool %llu free %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes);
	NB_EXPECT_POOL(fd, node, 0, 0);
	/* And the pool still works. */
	p = nb_pool_set_ok(fd, node, 64 * NB_MIB);
	NB_CHECK(p.pool_bytes == 64 * NB_MIB && p.free_bytes == 64 * NB_MIB,
		 "POOL_SET 64 MiB after the race: pool %llu free %llu",
		 (unsigned long long)p.pool_bytes, (unsigned long long)p.free_bytes);
	NB_POOLS_ZERO(fd);
	close(fd);
	/* Thousands of mmaps leave per-CPU partial slabs behind: shrink them. */
	nb_drop_caches();
	nb_shrink_slabs();
	NB_CHECK(!below, "%lu of %lu POOL_SETs left the pool below its target; the first: %s",
		 below, sets - set_enomem, first_below);
}
