// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers above 4 MiB: one physically contiguous range of the node, taken
 * by migrating movable memory out of the way.  Every fact is checked
 * without the module's word: contiguity and alignment with
 * /proc/self/pagemap, the node of every page with move_pages(2), zeroes by
 * reading, other processes' memory by its contents.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <numaif.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_GIB	(1024ULL * NB_MIB)

static int nb_last_node(void)
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);

	NB_CHECK(n >= 2, "%d online node(s): the suite needs a guest with at least 2",
		 n);
	return nodes[n - 1];
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

/* 1 GiB buffers need nodes of 3 GiB or more (make check gives 4). */
static void nb_need_room(int node, uint64_t len)
{
	long long kb = nb_node_total_kb(node);

	if ((uint64_t)kb * NB_KIB < len * 3)
		nb_skip("node %d has %lld MiB; %llu MiB buffers need a guest with larger nodes (guest-run --node-mem 4G)",
			node, kb / 1024, (unsigned long long)(len / NB_MIB));
}

static uint64_t nb_align_of(uint64_t len)
{
	if (len >= NB_GIB)
		return NB_GIB;
	if (len >= 2 * NB_MIB)
		return 2 * NB_MIB;
	return NB_PAGE;
}

/*
 * The mapping of a buffer: one run of frames from pagemap, starting on the
 * buffer's alignment.  Returns the first frame.
 */
static uint64_t nb_expect_contig(void *p, uint64_t len, uint64_t align)
{
	size_t n = len / NB_PAGE, i;
	uint64_t *pfn = malloc(n * sizeof(*pfn)), first;

	NB_CHECK(pfn, "out of memory");
	nb_pfns(p, n, pfn);
	first = pfn[0];
	NB_CHECK(first, "pagemap gives no frame for the first page (not root?)");
	for (i = 1; i < n; i++)
		NB_CHECK(pfn[i] == first + i,
			 "%llu MiB buffer not contiguous: page %zu is frame %#llx, page 0 is %#llx",
			 (unsigned long long)(len / NB_MIB), i,
			 (unsigned long long)pfn[i], (unsigned long long)first);
	NB_CHECK((first * NB_PAGE) % align == 0,
		 "%llu MiB buffer starts at %#llx, not on a %llu KiB boundary",
		 (unsigned long long)(len / NB_MIB),
		 (unsigned long long)(first * NB_PAGE),
		 (unsigned long long)(align / NB_KIB));
	free(pfn);
	return first;
}

/* Allocate @len on @node, check everything, free it. */
static void nb_large_one(int fd, uint64_t len, int node)
{
	uint64_t want = (len + NB_PAGE - 1) / NB_PAGE * NB_PAGE, first;
	struct numabuf_alloc a;
	struct numabuf_info inf;
	double t = nb_now();
	size_t nz;
	void *p;
	int ret;

	ret = nb_alloc(fd, len, node, NUMABUF_F_NO_POOL, &a);
	NB_CHECK(!ret, "ALLOC of %llu bytes on node %d: %s",
		 (unsigned long long)len, node, nb_errname(-ret));
	t = nb_now() - t;
	NB_CHECK(a.length == want && a.node == node,
		 "ALLOC of %llu on node %d said length %llu node %d",
		 (unsigned long long)len, node,
		 (unsigned long long)a.length, a.node);
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.source == NUMABUF_SOURCE_RANGE,
		 "INFO source %u for %llu bytes, expected %u (a range)",
		 inf.source, (unsigned long long)want, NUMABUF_SOURCE_RANGE);

	p = nb_map(fd, a.offset, want);
	first = nb_expect_contig(p, want, nb_align_of(want));
	NB_CHECK(inf.phys == first * NB_PAGE,
		 "INFO phys %#llx but pagemap says %#llx",
		 (unsigned long long)inf.phys,
		 (unsigned long long)(first * NB_PAGE));
	NB_EXPECT_NODE(p, want, node);
	nz = nb_find_nonzero(p, want);
	NB_CHECK(nz == (size_t)-1, "byte %zu of a fresh %llu MiB buffer is not zero",
		 nz, (unsigned long long)(want / NB_MIB));
	nb_note("node %d: %llu KiB at %#llx in %.2f s", node,
		(unsigned long long)(want / NB_KIB),
		(unsigned long long)(first * NB_PAGE), t);
	NB_SYS(munmap(p, want));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
}

NB_TEST_TIMEOUT(large_sizes,
	"4 MiB + 4 KiB, 6 MiB + 1, 64 MiB, 256 MiB on every node, 1 GiB on two: rounded to pages, contiguous (pagemap) from a 2 MiB / 1 GiB boundary, every page on the node (move_pages), zeroed",
	1200)
{
	static const uint64_t sizes[] = { 4 * NB_MIB + NB_PAGE, 6 * NB_MIB + 1,
					  64 * NB_MIB, 256 * NB_MIB };
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);
	int fd = nb_open(), i;
	size_t s;

	NB_CHECK(n >= 2, "%d online node(s): the suite needs at least 2", n);
	for (i = 0; i < n; i++)
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			nb_large_one(fd, sizes[s], nodes[i]);
	for (i = 0; i < n && i < 2; i++) {
		nb_need_room(nodes[i], NB_GIB);
		nb_large_one(fd, NB_GIB, nodes[i]);
	}
	close(fd);
}

/*
 * A child bound to @node holding anonymous memory, shmem and page cache
 * with a known pattern; it checks the pattern when told to stop (SIGUSR1)
 * and exits 0 only if every byte is right.  Writes 'r' to @ready once
 * everything is in place.
 */
static pid_t nb_holder(int node, uint64_t anon_len, uint64_t shm_len,
		       int ready)
{
	unsigned long mask = 1UL << node;
	pid_t pid = fork();
	sigset_t set;
	size_t bad;
	char *anon, *shm, buf[65536];
	int sig, mfd, vda;

	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid)
		return pid;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* Everything this process allocates from now on is on @node. */
	NB_SYS(set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8));

	anon = mmap(NULL, anon_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(anon != MAP_FAILED, "mmap anon: %s", strerror(errno));
	nb_fill(anon, anon_len, 0x1a2b);

	mfd = memfd_create("nb-holder", 0);
	NB_CHECK(mfd >= 0, "memfd_create: %s", strerror(errno));
	NB_SYS(ftruncate(mfd, (off_t)shm_len));
	shm = mmap(NULL, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	NB_CHECK(shm != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	nb_fill(shm, shm_len, 0x3c4d);

	/* Page cache of the scratch disk, when there is one. */
	vda = open("/dev/vda", O_RDONLY);
	if (vda >= 0) {
		while (read(vda, buf, sizeof(buf)) > 0)
			;
		close(vda);
	}

	NB_CHECK(write(ready, "r", 1) == 1, "write: %s", strerror(errno));
	while (sigwait(&set, &sig))
		;
	bad = nb_verify(anon, anon_len, 0x1a2b);
	NB_CHECK(bad == (size_t)-1, "anonymous memory changed at byte %zu", bad);
	bad = nb_verify(shm, shm_len, 0x3c4d);
	NB_CHECK(bad == (size_t)-1, "shmem changed at byte %zu", bad);
	_exit(0);
}

NB_TEST_TIMEOUT(large_among_movable,
	"64 MiB, 256 MiB and 1 GiB on each of two nodes while another process holds 1.5 GiB of anonymous memory, shmem and page cache there: ALLOC migrates them, each buffer is contiguous and on the node, the other process's bytes are intact",
	1800)
{
	static const uint64_t sizes[] = { 64 * NB_MIB, 256 * NB_MIB, NB_GIB };
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);
	int fd, pfd[2], i;
	pid_t holder;
	size_t s;
	char c;

	NB_CHECK(n >= 2, "%d online node(s): the suite needs at least 2", n);
	for (i = 0; i < 2; i++) {
		nb_need_room(nodes[i], NB_GIB);
		NB_SYS(pipe(pfd));
		holder = nb_holder(nodes[i], NB_GIB, NB_GIB / 2, pfd[1]);
		NB_CHECK(read(pfd[0], &c, 1) == 1, "the holder died before it was ready");
		nb_note("node %d: free %lld MiB with the holder in place", nodes[i],
			nb_free_kb(nodes[i]) / 1024);

		fd = nb_open();
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			nb_large_one(fd, sizes[s], nodes[i]);
		close(fd);

		NB_SYS(kill(holder, SIGUSR1));
		NB_WAIT_OK(holder);
		close(pfd[0]);
		close(pfd[1]);
	}
}

/* A child bound to @node writes a pattern over @len of memory and exits. */
static void nb_dirty_node(int node, uint64_t len)
{
	unsigned long mask = 1UL << node;
	pid_t pid = fork();
	char *p;

	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		NB_SYS(set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		NB_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
		nb_fill(p, len, 0x5e5e);
		_exit(0);
	}
	NB_WAIT_OK(pid);
}

NB_TEST_TIMEOUT(large_no_data_leak,
	"after another process wrote a pattern over most of a node's free memory and a 256 MiB buffer was filled and freed, new 1 GiB and 256 MiB buffers there read as zeros (the kernel's zeroing with init_on_alloc=1, the module's without)",
	1200)
{
	int node = nb_last_node(), fd;
	long long free_kb;
	uint64_t len, first, want = 256 * NB_MIB;
	struct numabuf_alloc a, b;
	size_t nz;
	char *p;

	nb_need_room(node, NB_GIB);
	nb_drop_caches();
	free_kb = nb_free_kb(node);
	len = ((uint64_t)free_kb * NB_KIB - 384 * NB_MIB) & ~(2 * NB_MIB - 1);
	NB_CHECK(free_kb > 0 && len > NB_GIB, "node %d has only %lld MiB free",
		 node, free_kb / 1024);
	nb_dirty_node(node, len);
	nb_note("node %d: a child wrote a pattern over %llu MiB of its %lld MiB free",
		node, (unsigned long long)(len / NB_MIB), free_kb / 1024);

	fd = nb_open();
	a = nb_alloc_ok(fd, want, node, NUMABUF_F_NO_POOL);
	p = nb_map(fd, a.offset, want);
	first = nb_expect_contig(p, want, 2 * NB_MIB);
	memset(p, 0xa5, want);
	NB_SYS(munmap(p, want));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	b = nb_alloc_ok(fd, want, node, NUMABUF_F_NO_POOL);
	p = nb_map(fd, b.offset, want);
	nb_note("256 MiB freed at %#llx, the next one at %#llx",
		(unsigned long long)(first * NB_PAGE),
		(unsigned long long)(nb_expect_contig(p, want, 2 * NB_MIB) * NB_PAGE));
	nz = nb_find_nonzero(p, want);
	NB_CHECK(nz == (size_t)-1, "byte %zu of the 256 MiB after a freed one is %#x, not zero",
		 nz, nz == (size_t)-1 ? 0 : (unsigned char)p[nz]);
	NB_SYS(munmap(p, want));
	NB_CHECK(!nb_free(fd, b.handle), "FREE failed");

	nb_large_one(fd, NB_GIB, node);
	close(fd);
}

/* Columns of debugfs numabuf/nodes for @node, by name. */
struct nb_node_counts {
	long long alloc_pages, alloc_range, fail_pages, fail_range;
};

static struct nb_node_counts nb_node_counts(int node)
{
	struct nb_node_counts c = { -1, -1, -1, -1 };
	char line[512];
	long long v[11];
	FILE *f = fopen("/sys/kernel/debug/numabuf/nodes", "r");

	NB_CHECK(f, "/sys/kernel/debug/numabuf/nodes: %s", strerror(errno));
	NB_CHECK(fgets(line, sizeof(line), f) &&
		 !strcmp(line, "# node pool_target pool_bytes pool_free pool_largest alloc_pages alloc_range alloc_pool fail_pages fail_range fail_pool\n"),
		 "unexpected header in debugfs numabuf/nodes: %s", line);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7], &v[8], &v[9], &v[10]) != 11 || v[0] != node)
			continue;
		c.alloc_pages = v[5];
		c.alloc_range = v[6];
		c.fail_pages = v[8];
		c.fail_range = v[9];
	}
	fclose(f);
	NB_CHECK(c.alloc_pages >= 0, "no line for node %d in debugfs numabuf/nodes", node);
	return c;
}

NB_TEST(large_counters,
	"debugfs numabuf/nodes counts allocations and failures by source on the node: 2 from the page allocator, 1 range, 1 range too large to find")
{
	int node = nb_last_node(), fd = nb_open(), ret;
	struct nb_node_counts c0, c1;
	struct numabuf_alloc a[3];
	uint64_t too_big = (uint64_t)nb_node_total_kb(node) * NB_KIB;
	int i;

	c0 = nb_node_counts(node);
	a[0] = nb_alloc_ok(fd, NB_PAGE, node, NUMABUF_F_NO_POOL);
	a[1] = nb_alloc_ok(fd, 4 * NB_MIB, node, NUMABUF_F_NO_POOL);
	a[2] = nb_alloc_ok(fd, 8 * NB_MIB, node, NUMABUF_F_NO_POOL);
	ret = nb_alloc(fd, too_big, node, NUMABUF_F_NO_POOL, NULL);
	NB_CHECK(ret == -ENOMEM, "ALLOC of node %d's whole memory: expected ENOMEM, got %s",
		 node, ret ? nb_errname(-ret) : "success");
	c1 = nb_node_counts(node);
	nb_note("node %d: pages %lld -> %lld, range %lld -> %lld, range failures %lld -> %lld",
		node, c0.alloc_pages, c1.alloc_pages, c0.alloc_range, c1.alloc_range,
		c0.fail_range, c1.fail_range);
	NB_CHECK(c1.alloc_pages - c0.alloc_pages == 2,
		 "alloc_pages rose by %lld for 2 buffers of 4 KiB and 4 MiB",
		 c1.alloc_pages - c0.alloc_pages);
	NB_CHECK(c1.alloc_range - c0.alloc_range == 1,
		 "alloc_range rose by %lld for one 8 MiB buffer",
		 c1.alloc_range - c0.alloc_range);
	NB_CHECK(c1.fail_range - c0.fail_range == 1,
		 "fail_range rose by %lld for one ENOMEM", c1.fail_range - c0.fail_range);
	NB_CHECK(c1.fail_pages == c0.fail_pages, "fail_pages rose by %lld",
		 c1.fail_pages - c0.fail_pages);
	for (i = 0; i < 3; i++)
		NB_CHECK(!nb_free(fd, a[i].handle), "FREE failed");
	close(fd);
}


NB_TEST_TIMEOUT(large_enomem,
	"more than a node can give in one range (its whole memory, or all but what a bystander holds): a clean ENOMEM, strict and PREFERRED, no OOM kill, the bystander lives",
	900)
{
	int node = nb_last_node(), fd = nb_open(), pfd[2], ret, f;
	uint64_t len = (uint64_t)nb_node_total_kb(node) * NB_KIB;
	long long kills = nb_vmstat("oom_kill");
	pid_t holder;
	double t;
	char c;

	NB_SYS(pipe(pfd));
	holder = nb_holder(node, 256 * NB_MIB, 64 * NB_MIB, pfd[1]);
	NB_CHECK(read(pfd[0], &c, 1) == 1, "the holder died before it was ready");

	for (f = 0; f < 2; f++) {
		uint32_t flags = f ? NUMABUF_F_PREFERRED : 0;
		double t = nb_now();

		ret = nb_alloc(fd, len, node, flags, NULL);
		nb_note("%llu MiB, flags %#x: %s in %.2f s", (unsigned long long)(len / NB_MIB),
			flags, nb_errname(-ret), nb_now() - t);
		NB_CHECK(ret == -ENOMEM,
			 "ALLOC of node %d's whole memory (%llu MiB), flags %#x: expected ENOMEM, got %s",
			 node, (unsigned long long)(len / NB_MIB), flags,
			 ret ? nb_errname(-ret) : "success");
	}
	/* All but the bystander's share (rounded to a huge page). */
	len = (len - 512 * NB_MIB) & ~(2 * NB_MIB - 1);
	t = nb_now();
	ret = nb_alloc(fd, len, node, 0, NULL);
	nb_note("%llu MiB: %s in %.2f s", (unsigned long long)(len / NB_MIB),
		nb_errname(-ret), nb_now() - t);
	NB_CHECK(ret == -ENOMEM,
		 "ALLOC of %llu MiB on node %d beside a 320 MiB holder: expected ENOMEM, got %s",
		 (unsigned long long)(len / NB_MIB), node,
		 ret ? nb_errname(-ret) : "success");

	NB_CHECK(nb_vmstat("oom_kill") == kills, "the OOM killer ran (%lld kills)",
		 nb_vmstat("oom_kill") - kills);
	NB_SYS(kill(holder, SIGUSR1));
	NB_WAIT_OK(holder);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

NB_TEST_TIMEOUT(large_killed,
	"processes killed (SIGKILL) while ALLOC migrates and zeroes 256 MiB: they die, nothing leaks, the next ALLOC works",
	900)
{
	int node = nb_last_node(), i, fd, st;
	struct nb_rng r = { nb_seed("NB_LARGE_SEED") };

	for (i = 0; i < 6; i++) {
		pid_t pid = fork();

		NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (!pid) {
			int cfd = nb_open();

			for (;;) {
				struct numabuf_alloc a;

				if (!nb_alloc(cfd, 256 * NB_MIB, node, 0, &a))
					nb_free(cfd, a.handle);
			}
		}
		usleep((useconds_t)(nb_rnd_below(&r, 400000) * nb_slow()));
		NB_SYS(kill(pid, SIGKILL));
		NB_SYS(waitpid(pid, &st, 0));
		NB_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			 "child status %#x, expected killed by SIGKILL", st);
	}
	fd = nb_open();
	nb_large_one(fd, 64 * NB_MIB, node);
	close(fd);
}

struct nb_racer {
	int fd;
	int node;
	uint64_t first;
	uint64_t len;
	uint32_t handle;
	void *p;
	int err;
};

static void *nb_race_alloc(void *arg)
{
	struct nb_racer *r = arg;
	struct numabuf_alloc a;

	r->err = nb_alloc(r->fd, r->len, r->node, 0, &a);
	if (r->err)
		return NULL;
	r->handle = a.handle;
	r->p = nb_map(r->fd, a.offset, r->len);
	return r;
}

NB_TEST_TIMEOUT(large_concurrent,
	"two threads take 256 MiB on the same node at once, three times: both succeed and their frames (pagemap) do not overlap",
	900)
{
	int node = nb_last_node(), fd = nb_open(), round, i;
	struct nb_racer r[2];
	pthread_t t[2];

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 2; i++) {
			r[i] = (struct nb_racer){ .fd = fd, .node = node,
						  .len = 256 * NB_MIB };
			NB_CHECK(!pthread_create(&t[i], NULL, nb_race_alloc, &r[i]),
				 "pthread_create failed");
		}
		for (i = 0; i < 2; i++) {
			void *ok;

			pthread_join(t[i], &ok);
			NB_CHECK(ok, "round %d, thread %d: ALLOC of 256 MiB on node %d: %s",
				 round, i, node, nb_errname(-r[i].err));
			r[i].first = nb_expect_contig(r[i].p, r[i].len, 2 * NB_MIB);
			NB_EXPECT_NODE(r[i].p, r[i].len, node);
		}
		NB_CHECK(r[0].first + r[0].len / NB_PAGE <= r[1].first ||
			 r[1].first + r[1].len / NB_PAGE <= r[0].first,
			 "frames %#llx and %#llx of two 256 MiB buffers overlap",
			 (unsigned long long)r[0].first,
			 (unsigned long long)r[1].first);
		for (i = 0; i < 2; i++) {
			NB_SYS(munmap(r[i].p, r[i].len));
			NB_CHECK(!nb_free(fd, r[i].handle), "FREE failed");
		}
	}
	close(fd);
}
