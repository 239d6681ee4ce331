// SPDX-License-Identifier: GPL-2.0
/*
 * Where a buffer's memory comes from.
 *
 * Every buffer is a run of order-0 pages, physically contiguous, each with
 * its own reference count, so that any page can be mapped and pinned on its
 * own.  Three sources give such runs:
 *
 * - a node's pool (pool.c): memory reserved ahead of time;
 * - the page allocator, up to its largest block (4 MiB): one block on the
 *   node, split, the pages past the buffer given back at once;
 * - beyond that, a range of the node's memory chosen here, as the kernel's
 *   own alloc_contig_pages() (not exported) chooses it: an aligned window
 *   inside one zone of the node whose pages are all online, not reserved
 *   and not hugetlb pages.  alloc_contig_range() migrates the movable pages
 *   out of the window and hands it over; where unmovable pages sit it fails
 *   with EBUSY and the next window is tried.
 *
 * Buffers of 2 MiB or more start on a 2 MiB boundary and buffers of 1 GiB
 * or more on a 1 GiB boundary, so that they can be mapped with huge pages.
 * A buddy block is aligned to its own size, which covers the first rule.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/vmstat.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

/**
 * numabuf_pages_alloc - a zeroed block of the page allocator, as pages
 * @nr_pages:	pages wanted, at most MAX_ORDER_NR_PAGES
 * @node:	node to take them from
 * @gfp:	GFP flags; __GFP_ZERO is added
 *
 * Return: the first of @nr_pages contiguous order-0 pages, or NULL.
 */
struct page *numabuf_pages_alloc(unsigned long nr_pages, int node, gfp_t gfp)
{
	unsigned int order = get_order((size_t)nr_pages << PAGE_SHIFT);
	struct page *page;
	unsigned long i;

	page = alloc_pages_node(node, gfp | __GFP_ZERO, order);
	if (!page)
		return NULL;

	split_page(page, order);
	for (i = nr_pages; i < (1UL << order); i++)
		__free_page(nth_page(page, i));
	return page;
}

/**
 * numabuf_pages_free - drop the allocation's reference on each page
 * @page:	first page
 * @nr_pages:	pages in the run
 *
 * A page still pinned by get_user_pages (O_DIRECT, RDMA, ...) goes back to
 * the page allocator when its pin is dropped.
 */
void numabuf_pages_free(struct page *page, unsigned long nr_pages)
{
	unsigned long i;

	might_sleep();
	for (i = 0; i < nr_pages; i++) {
		__free_page(nth_page(page, i));
		if ((i & 1023) == 1023)
			cond_resched();
	}
}

/*
 * Can [pfn, pfn + nr_pages) be handed to alloc_contig_range() for @node?
 * Returns 0 or the first pfn that rules the window out.
 */
static unsigned long numabuf_range_check(struct zone *zone, int node,
					 unsigned long pfn,
					 unsigned long nr_pages)
{
	unsigned long end = pfn + nr_pages;
	struct page *page;

	for (; pfn < end; pfn++) {
		page = pfn_to_online_page(pfn);
		if (!page || page_zone(page) != zone ||
		    page_to_nid(page) != node || PageReserved(page) ||
		    PageHuge(page))
			return pfn;
	}
	return 0;
}

static void numabuf_range_free(unsigned long pfn, unsigned long nr_pages)
{
	numabuf_pages_free(pfn_to_page(pfn), nr_pages);
}

/*
 * Does alloc_contig_range() hand its pages over zeroed?  It passes them
 * through post_alloc_hook() (6.1 and 6.12 alike, __GFP_MOVABLE), which
 * clears them when init_on_alloc is on (Debian's default) unless
 * init_on_free is on too.  Clearing them again would double the cost of a
 * large buffer.
 */
static bool numabuf_range_zeroed(void)
{
	return want_init_on_alloc(GFP_KERNEL) && !want_init_on_free();
}

/**
 * numabuf_clear_pages - zero pages @first to @nr_pages - 1 of a run
 * @page:	first page of the run
 * @first:	first page to zero
 * @nr_pages:	pages in the run
 * @done:	if not NULL, set to the index below which every page is zero
 *
 * The caller pays for the zeroing in its own time.  A task that is killed
 * stops early (its call must end soon), unless it is already exiting: then
 * it is freeing its own memory on the way out.
 *
 * Return: true when every page is zero, false when stopped by a kill.
 */
bool numabuf_clear_pages(struct page *page, unsigned long first,
			 unsigned long nr_pages, unsigned long *done)
{
	unsigned long i;

	for (i = first; i < nr_pages; i++) {
		clear_highpage(nth_page(page, i));
		if ((i & 511) != 511)
			continue;
		if (fatal_signal_pending(current) &&
		    !(current->flags & PF_EXITING)) {
			if (done)
				*done = i + 1;
			return false;
		}
		cond_resched();
	}
	if (done)
		*done = nr_pages;
	return true;
}

/*
 * One range allocation at a time per node: two at once pick the same
 * windows, isolate each other's pageblocks and migrate pages into each
 * other's windows, and both can fail on a node with room for both.
 */
static struct mutex *numabuf_range_locks;

int numabuf_alloc_init(void)
{
	int node;

	numabuf_range_locks = kcalloc(nr_node_ids, sizeof(*numabuf_range_locks),
				      GFP_KERNEL);
	if (!numabuf_range_locks)
		return -ENOMEM;
	for (node = 0; node < nr_node_ids; node++)
		mutex_init(&numabuf_range_locks[node]);
	return 0;
}

void numabuf_alloc_exit(void)
{
	kfree(numabuf_range_locks);
}

/*
 * One pass over the node's zones.  Returns the first page, NULL when no
 * window could be taken (*@busy set if a window was refused with EBUSY
 * rather than ruled out beforehand), or ERR_PTR(-EINTR).
 */
static struct page *numabuf_range_scan(unsigned long nr_pages,
				       unsigned long align, int node,
				       bool *busy)
{
	/*
	 * The flags alloc_contig_range() accepts on every kernel: reclaim
	 * may run to make room for the pages it migrates, failure is quiet.
	 */
	const gfp_t gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	pg_data_t *pgdat = NODE_DATA(node);
	unsigned long pfn, end, bad;
	struct zone *zone;
	int ret;

	for (zone = pgdat->node_zones;
	     zone < pgdat->node_zones + MAX_NR_ZONES; zone++) {
		if (!populated_zone(zone))
			continue;
		end = zone_end_pfn(zone);
		pfn = ALIGN(zone->zone_start_pfn, align);
		while (pfn + nr_pages <= end) {
			if (fatal_signal_pending(current))
				return ERR_PTR(-EINTR);
			cond_resched();

			bad = numabuf_range_check(zone, node, pfn, nr_pages);
			if (bad) {
				pfn = ALIGN(bad + 1, align);
				continue;
			}
			ret = alloc_contig_range(pfn, pfn + nr_pages,
						 MIGRATE_MOVABLE, gfp);
			if (!ret)
				return pfn_to_page(pfn);
			if (ret == -EINTR)
				return ERR_PTR(ret);
			/* EBUSY: something unmovable; try further on. */
			*busy = true;
			pfn += ALIGN(nr_pages, align);
		}
	}
	return NULL;
}

/**
 * numabuf_range_alloc - take a zeroed, aligned range of a node's memory
 * @nr_pages:	pages wanted
 * @align:	alignment of the first pfn, a power of two
 * @node:	node to take them from
 *
 * A window refused with EBUSY may only have been busy for a moment (a
 * page under I/O, pinned briefly): when nothing was found, the node is
 * scanned once more.
 *
 * Return: the first of @nr_pages contiguous order-0 pages, or an ERR_PTR:
 * -ENOMEM when no window of the node could be taken, -EINTR when the
 * caller was killed.
 */
struct page *numabuf_range_alloc(unsigned long nr_pages, unsigned long align,
				 int node)
{
	struct page *page = NULL;
	bool busy = true;
	int pass;

	if (nr_pages > node_present_pages(node))
		return ERR_PTR(-ENOMEM);

	if (mutex_lock_killable(&numabuf_range_locks[node]))
		return ERR_PTR(-EINTR);
	for (pass = 0; pass < 2 && busy && !page; pass++) {
		busy = false;
		page = numabuf_range_scan(nr_pages, align, node, &busy);
	}
	mutex_unlock(&numabuf_range_locks[node]);
	if (IS_ERR(page))
		return page;
	if (!page)
		return ERR_PTR(-ENOMEM);

	if (!numabuf_range_zeroed() &&
	    !numabuf_clear_pages(page, 0, nr_pages, NULL)) {
		numabuf_range_free(page_to_pfn(page), nr_pages);
		return ERR_PTR(-EINTR);
	}
	return page;
}

/* Alignment of a buffer of @nr_pages: see the comment at the top. */
static unsigned long numabuf_align_pages(unsigned long nr_pages)
{
	if (nr_pages >= (SZ_1G >> PAGE_SHIFT))
		return SZ_1G >> PAGE_SHIFT;
	if (nr_pages >= (SZ_2M >> PAGE_SHIFT))
		return SZ_2M >> PAGE_SHIFT;
	return 1;
}

/* The general allocator: a buddy block or a range, strictly on @node. */
static int numabuf_general_alloc(struct numabuf_buf *buf, int node)
{
	/*
	 * Not movable: these pages are pinned for their whole life.
	 * ACCOUNT: charged to the caller's memory cgroup.
	 * RETRY_MAYFAIL: reclaim and compact hard, but fail rather than call
	 * the OOM killer.  NOWARN: failure is an ordinary ENOMEM.
	 */
	const gfp_t gfp = GFP_USER | __GFP_ACCOUNT | __GFP_RETRY_MAYFAIL |
			  __GFP_NOWARN | __GFP_THISNODE;
	struct page *page;

	if (buf->nr_pages <= MAX_ORDER_NR_PAGES) {
		page = numabuf_pages_alloc(buf->nr_pages, node, gfp);
		if (!page)
			return -ENOMEM;
		buf->source = NUMABUF_SOURCE_PAGES;
	} else {
		page = numabuf_range_alloc(buf->nr_pages,
					   numabuf_align_pages(buf->nr_pages),
					   node);
		if (IS_ERR(page))
			return PTR_ERR(page);
		buf->source = NUMABUF_SOURCE_RANGE;
	}
	buf->page = page;
	return 0;
}

/* Every source @flags allows, on one node. */
static int numabuf_node_alloc(struct numabuf_buf *buf, int node, u32 flags)
{
	int ret = -ENOMEM;

	if (!node_state(node, N_MEMORY))
		return -ENOMEM;

	if (!(flags & NUMABUF_F_NO_POOL)) {
		ret = numabuf_pool_alloc(buf, node, flags & NUMABUF_F_POOL);
		if (!ret || ret == -EINTR || (flags & NUMABUF_F_POOL))
			return ret;
	}
	ret = numabuf_general_alloc(buf, node);
	numabuf_stats_alloc(node, buf->nr_pages <= MAX_ORDER_NR_PAGES ?
			    NUMABUF_SOURCE_PAGES : NUMABUF_SOURCE_RANGE, ret);
	return ret;
}

/**
 * numabuf_mem_alloc - give a buffer its memory
 * @buf:	buffer with @nr_pages set; @page, @node, @source and
 *		@pool_region are filled in
 * @node:	node asked for, valid and online
 * @flags:	NUMABUF_F_*
 *
 * Strict placement tries @node only.  With NUMABUF_F_PREFERRED the other
 * nodes with memory follow, nearest first.
 *
 * Return: 0, -ENOMEM, -EDQUOT over the user's pool quota with
 * NUMABUF_F_POOL, or -EINTR when the caller was killed.
 */
int numabuf_mem_alloc(struct numabuf_buf *buf, int node, u32 flags)
{
	nodemask_t tried = NODE_MASK_NONE;
	int ret, n, best;

	/*
	 * -EDQUOT (the pool quota, with NUMABUF_F_POOL) covers every node:
	 * no other node can do better.
	 */
	ret = numabuf_node_alloc(buf, node, flags);
	if (!ret)
		goto done;
	if (ret == -EINTR || ret == -EDQUOT || !(flags & NUMABUF_F_PREFERRED))
		return ret;

	node_set(node, tried);
	for (;;) {
		best = NUMA_NO_NODE;
		for_each_node_state(n, N_MEMORY) {
			if (node_isset(n, tried))
				continue;
			if (best == NUMA_NO_NODE ||
			    node_distance(node, n) < node_distance(node, best))
				best = n;
		}
		if (best == NUMA_NO_NODE)
			return -ENOMEM;
		node_set(best, tried);
		ret = numabuf_node_alloc(buf, best, flags);
		if (!ret)
			break;
		if (ret == -EINTR || ret == -EDQUOT)
			return ret;
	}
done:
	buf->node = page_to_nid(buf->page);
	return 0;
}
