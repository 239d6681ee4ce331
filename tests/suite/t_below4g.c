// SPDX-License-Identifier: GPL-2.0
/*
 * NUMABUF_F_DMA32: the whole buffer below 4 GiB, for devices with 32-bit
 * DMA masks.  Checked without the module's word: the frames of the first
 * and last page (and that the buffer is contiguous) from
 * /proc/self/pagemap, the node from move_pages(2), the content read back.
 *
 * The guest's node 0 holds all RAM below 4 GiB (its ZONE_DMA32 and
 * ZONE_DMA); node 1 starts above it and has neither.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_4G_PFN	((4ULL << 30) / NB_PAGE)

/*
 * Check a DMA32 buffer as a device would need it: contiguous frames, the
 * last one below 4 GiB, on @node, zero.  Returns the first frame.
 */
static uint64_t nb_check_below4g(int fd, const struct numabuf_alloc *a,
				 int node)
{
	size_t n = a->length / NB_PAGE, i;
	uint64_t *pfn;
	void *p;

	NB_CHECK(a->node == node, "DMA32 buffer of %llu bytes reported node %d, expected %d",
		 (unsigned long long)a->length, a->node, node);
	pfn = calloc(n, sizeof(*pfn));
	NB_CHECK(pfn, "out of memory");
	p = nb_map(fd, a->offset, a->length);
	nb_pfns(p, n, pfn);
	NB_CHECK(pfn[0], "pagemap gives no frame (not root?)");
	for (i = 1; i < n; i++)
		NB_CHECK(pfn[i] == pfn[0] + i,
			 "page %zu of %zu at pfn %#llx, not contiguous with pfn %#llx",
			 i, n, (unsigned long long)pfn[i],
			 (unsigned long long)pfn[0]);
	NB_CHECK(pfn[n - 1] < NB_4G_PFN,
		 "DMA32 buffer of %llu bytes ends at pfn %#llx, above 4 GiB",
		 (unsigned long long)a->length,
		 (unsigned long long)pfn[n - 1]);
	NB_EXPECT_NODE(p, a->length, node);
	NB_CHECK(nb_find_nonzero(p, a->length) == (size_t)-1,
		 "DMA32 buffer not zeroed at byte %zu",
		 nb_find_nonzero(p, a->length));
	nb_fill(p, a->length, 0xd32);
	NB_CHECK(nb_verify(p, a->length, 0xd32) == (size_t)-1,
		 "pattern not read back");
	NB_SYS(munmap(p, a->length));
	i = pfn[0];
	free(pfn);
	return i;
}

static void nb_below4g_sizes(const uint64_t *sizes, size_t nsizes)
{
	struct numabuf_info inf;
	struct numabuf_alloc a;
	int fd = nb_open();
	size_t s;

	for (s = 0; s < nsizes; s++) {
		a = nb_alloc_ok(fd, sizes[s], 0,
				NUMABUF_F_DMA32 | NUMABUF_F_NO_POOL);
		nb_check_below4g(fd, &a, 0);
		NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
		NB_CHECK(inf.flags == (NUMABUF_F_DMA32 | NUMABUF_F_NO_POOL),
			 "INFO flags %#x", inf.flags);
		NB_CHECK(inf.phys == 0 || inf.phys + inf.length <= (4ULL << 30),
			 "INFO phys %#llx + %llu above 4 GiB",
			 (unsigned long long)inf.phys,
			 (unsigned long long)inf.length);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	}
	close(fd);
}

NB_TEST(below4g_pages,
	"DMA32 buffers of 4 KiB..4 MiB (page allocator) on node 0: contiguous (pagemap), last frame below 4 GiB, on node 0 (move_pages), zeroed")
{
	static const uint64_t sizes[] = {
		4 * NB_KIB, 64 * NB_KIB, 1 * NB_MIB, 2 * NB_MIB, 4 * NB_MIB,
	};

	nb_below4g_sizes(sizes, sizeof(sizes) / sizeof(sizes[0]));
}

NB_TEST_TIMEOUT(below4g_range,
	"DMA32 buffers of 8 MiB and 64 MiB (ranges, from ZONE_DMA32 only) on node 0: contiguous, below 4 GiB, on node 0, zeroed",
	300)
{
	static const uint64_t sizes[] = { 8 * NB_MIB, 64 * NB_MIB };

	nb_below4g_sizes(sizes, sizeof(sizes) / sizeof(sizes[0]));
}

NB_TEST_TIMEOUT(below4g_node1_strict,
	"node 1 has no memory below 4 GiB: strict DMA32 there fails with ENOMEM (4 KiB, 4 MiB, 8 MiB; with and without pools); PREFERRED lands on node 0, below 4 GiB",
	300)
{
	static const uint64_t sizes[] = { 4 * NB_KIB, 4 * NB_MIB, 8 * NB_MIB };
	struct numabuf_alloc a;
	int fd = nb_open(), ret;
	size_t s;

	NB_CHECK(nb_node_online(1), "node 1 is not online");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		ret = nb_alloc(fd, sizes[s], 1, NUMABUF_F_DMA32, &a);
		NB_CHECK(ret == -ENOMEM, "strict DMA32 of %llu bytes on node 1: expected ENOMEM, got %s (node %d)",
			 (unsigned long long)sizes[s],
			 ret ? nb_errname(-ret) : "success", a.node);
		ret = nb_alloc(fd, sizes[s], 1,
			       NUMABUF_F_DMA32 | NUMABUF_F_NO_POOL, &a);
		NB_CHECK(ret == -ENOMEM, "strict DMA32|NO_POOL of %llu bytes on node 1: expected ENOMEM, got %s",
			 (unsigned long long)sizes[s],
			 ret ? nb_errname(-ret) : "success");
		a = nb_alloc_ok(fd, sizes[s], 1,
				NUMABUF_F_DMA32 | NUMABUF_F_PREFERRED);
		nb_check_below4g(fd, &a, 0);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	}
	close(fd);
}

static int nb_pool_set(int fd, int node, uint64_t target)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = target };

	return ioctl(fd, NUMABUF_IOC_POOL_SET, &p) ? -errno : 0;
}

static uint64_t nb_pool_target(int fd, int node)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node };

	NB_SYS(ioctl(fd, NUMABUF_IOC_POOL_GET, &p));
	return p.target;
}

NB_TEST_TIMEOUT(below4g_pool,
	"a pool serves DMA32 only when its memory lies below 4 GiB: node 1's pool (above) gives ENOMEM with POOL|DMA32; node 0's 4 MiB pool gives POOL|DMA32 exactly when pagemap puts it below 4 GiB, and a plain DMA32 buffer is below 4 GiB either way",
	300)
{
	int fd = nb_open(), ret;
	uint64_t t0 = nb_pool_target(fd, 0), t1 = nb_pool_target(fd, 1);
	struct numabuf_alloc a;
	struct numabuf_info inf;
	uint64_t first;
	uint64_t pfn;
	bool low;
	void *p;

	NB_CHECK(t0 == 0 && t1 == 0, "pools already set (%llu, %llu): the test wants them empty",
		 (unsigned long long)t0, (unsigned long long)t1);

	ret = nb_pool_set(fd, 1, 4 * NB_MIB);
	NB_CHECK(!ret, "POOL_SET node 1 4 MiB: %s", nb_errname(-ret));
	ret = nb_alloc(fd, 64 * NB_KIB, 1, NUMABUF_F_DMA32 | NUMABUF_F_POOL,
		       &a);
	NB_CHECK(ret == -ENOMEM, "POOL|DMA32 on node 1: expected ENOMEM, got %s",
		 ret ? nb_errname(-ret) : "success");
	/* The pool itself works. */
	a = nb_alloc_ok(fd, 64 * NB_KIB, 1, NUMABUF_F_POOL);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	ret = nb_pool_set(fd, 1, 0);
	NB_CHECK(!ret, "POOL_SET node 1 0: %s", nb_errname(-ret));

	ret = nb_pool_set(fd, 0, 4 * NB_MIB);
	NB_CHECK(!ret, "POOL_SET node 0 4 MiB: %s", nb_errname(-ret));
	/* Where is the pool?  Take all of it and ask pagemap. */
	a = nb_alloc_ok(fd, 4 * NB_MIB, 0, NUMABUF_F_POOL);
	p = nb_map(fd, a.offset, NB_PAGE);
	nb_pfns(p, 1, &pfn);
	NB_SYS(munmap(p, NB_PAGE));
	NB_CHECK(pfn, "pagemap gives no frame");
	low = pfn + 4 * NB_MIB / NB_PAGE <= NB_4G_PFN;
	nb_note("node 0's pool is at pfn %#llx, %s 4 GiB",
		(unsigned long long)pfn, low ? "below" : "above");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	ret = nb_alloc(fd, 1 * NB_MIB, 0, NUMABUF_F_DMA32 | NUMABUF_F_POOL,
		       &a);
	if (low) {
		NB_CHECK(!ret, "POOL|DMA32 on node 0 with the pool below 4 GiB: %s",
			 nb_errname(-ret));
		first = nb_check_below4g(fd, &a, 0);
		NB_CHECK(first >= pfn && first < pfn + 4 * NB_MIB / NB_PAGE,
			 "POOL|DMA32 buffer at pfn %#llx, outside the pool",
			 (unsigned long long)first);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	} else {
		NB_CHECK(ret == -ENOMEM, "POOL|DMA32 on node 0 with the pool above 4 GiB: expected ENOMEM, got %s",
			 ret ? nb_errname(-ret) : "success");
	}

	/* Without NUMABUF_F_POOL: the pool if it can, the page allocator if not. */
	a = nb_alloc_ok(fd, 1 * NB_MIB, 0, NUMABUF_F_DMA32);
	first = nb_check_below4g(fd, &a, 0);
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.source == (low ? NUMABUF_SOURCE_POOL : NUMABUF_SOURCE_PAGES),
		 "DMA32 buffer from source %u with the pool %s 4 GiB",
		 inf.source, low ? "below" : "above");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	ret = nb_pool_set(fd, 0, 0);
	NB_CHECK(!ret, "POOL_SET node 0 0: %s", nb_errname(-ret));
	close(fd);
}
