// SPDX-License-Identifier: GPL-2.0
/*
 * Placement: the memory is on the node asked for, as move_pages(2) sees it,
 * not only as the module reports it.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nbutil.h"

static const uint64_t nb_sizes[] = {
	4 * NB_KIB, 64 * NB_KIB, 1 * NB_MIB, 2 * NB_MIB, 4 * NB_MIB,
};
#define NB_NSIZES (sizeof(nb_sizes) / sizeof(nb_sizes[0]))

static int nb_need_nodes(int *nodes)
{
	int n = nb_online_nodes(nodes, NB_MAX_NODES);

	NB_CHECK(n >= 2, "%d online node(s): the suite needs a guest with at least 2",
		 n);
	return n;
}

/* Allocate, map, check node by move_pages and INFO, release. */
static void nb_place_one(int fd, uint64_t len, int node, uint32_t flags,
			 int expect)
{
	struct numabuf_alloc a = nb_alloc_ok(fd, len, node, flags);
	struct numabuf_info inf;
	void *p;

	NB_CHECK(a.length == len, "ALLOC of %llu returned length %llu",
		 (unsigned long long)len, (unsigned long long)a.length);
	NB_CHECK(a.node == expect, "ALLOC on node %d (flags %#x) reported node %d, expected %d",
		 node, flags, a.node, expect);
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.node == expect && inf.length == len && inf.flags == flags,
		 "INFO node %d length %llu flags %#x, expected %d %llu %#x",
		 inf.node, (unsigned long long)inf.length, inf.flags, expect,
		 (unsigned long long)len, flags);
	p = nb_map(fd, a.offset, len);
	NB_EXPECT_NODE(p, len, expect);
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
}

NB_TEST(placement_strict,
	"strict ALLOC of 4K..4M on every online node: move_pages finds every page on that node")
{
	int nodes[NB_MAX_NODES], n = nb_need_nodes(nodes), fd = nb_open();
	size_t i, s;

	for (i = 0; i < (size_t)n; i++)
		for (s = 0; s < NB_NSIZES; s++)
			nb_place_one(fd, nb_sizes[s], nodes[i], 0, nodes[i]);
	close(fd);
}

NB_TEST(placement_local,
	"NUMABUF_NODE_LOCAL from a thread pinned to each CPU gives that CPU's node (sysfs), per move_pages")
{
	int nodes[NB_MAX_NODES], fd = nb_open();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	int seen_nodes = 0;

	nb_need_nodes(nodes);
	for (cpu = 0; cpu < ncpu; cpu++) {
		int node = nb_cpu_node((int)cpu);
		cpu_set_t set;
		size_t s;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		NB_SYS(sched_setaffinity(0, sizeof(set), &set));
		NB_CHECK(sched_getcpu() == cpu, "pinned to CPU %ld but running on %d",
			 cpu, sched_getcpu());
		for (s = 0; s < NB_NSIZES; s++)
			nb_place_one(fd, nb_sizes[s], NUMABUF_NODE_LOCAL, 0,
				     node);
		seen_nodes |= 1 << (node & 31);
	}
	/* The guest has one CPU per node, so both nodes were exercised. */
	NB_CHECK(__builtin_popcount(seen_nodes) >= 2,
		 "the CPUs cover only one node: local placement not really tested");
	close(fd);
}

NB_TEST(placement_preferred,
	"NUMABUF_F_PREFERRED reports a node, INFO and move_pages agree with it; with room it is the node asked for")
{
	int nodes[NB_MAX_NODES], n = nb_need_nodes(nodes), fd = nb_open();
	int i;
	size_t s;

	for (i = 0; i < n; i++)
		for (s = 0; s < NB_NSIZES; s++)
			nb_place_one(fd, nb_sizes[s], nodes[i],
				     NUMABUF_F_PREFERRED, nodes[i]);
	close(fd);
}

NB_TEST_TIMEOUT(placement_preferred_fallback,
	"with one node out of 4 MiB blocks: strict ALLOC there fails ENOMEM, PREFERRED succeeds elsewhere and says where",
	600)
{
	int nodes[NB_MAX_NODES], n = nb_need_nodes(nodes), fd = nb_open();
	int full = nodes[n - 1];	/* the last node: no DMA zones on it */
	struct numabuf_alloc a;
	uint32_t *handles;
	int count = 0, max = 4096, ret, i;
	void *p;

	handles = calloc(max, sizeof(*handles));
	NB_CHECK(handles, "out of memory");
	/*
	 * Take every 4 MiB block the node has (the allocator compacts and
	 * reclaims first, so this also shows failure is a clean ENOMEM).
	 */
	for (;;) {
		ret = nb_alloc(fd, 4 * NB_MIB, full, 0, &a);
		if (ret)
			break;
		NB_CHECK(a.node == full, "strict ALLOC on node %d got node %d",
			 full, a.node);
		NB_CHECK(count < max, "node %d gave more than %d 4 MiB buffers",
			 full, max);
		handles[count++] = a.handle;
	}
	NB_CHECK(ret == -ENOMEM, "strict ALLOC on a full node: expected ENOMEM, got %s",
		 nb_errname(-ret));
	nb_note("node %d held %d 4 MiB buffers before ENOMEM", full, count);
	NB_CHECK(count > 0, "no 4 MiB buffer at all on node %d", full);

	/*
	 * The node may free a block meanwhile (reclaim, per-CPU lists
	 * drained): PREFERRED is then right to take it there.  Keep such
	 * buffers and ask again; only a node that stays full proves the
	 * fallback.
	 */
	for (i = 0;; i++) {
		a = nb_alloc_ok(fd, 4 * NB_MIB, full, NUMABUF_F_PREFERRED);
		if (a.node != full)
			break;
		NB_CHECK(i < 64 && count < max,
			 "PREFERRED kept finding room on node %d after ENOMEM",
			 full);
		handles[count++] = a.handle;
	}
	if (i)
		nb_note("node %d had room again %d time(s) after ENOMEM", full, i);
	NB_CHECK(nb_node_online(a.node),
		 "PREFERRED node %d with node %d full reported node %d",
		 full, full, a.node);
	p = nb_map(fd, a.offset, 4 * NB_MIB);
	NB_EXPECT_NODE(p, 4 * NB_MIB, a.node);
	NB_SYS(munmap(p, 4 * NB_MIB));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	for (i = 0; i < count; i++)
		NB_CHECK(!nb_free(fd, handles[i]), "FREE of handle %u failed",
			 handles[i]);
	free(handles);
	close(fd);
}
