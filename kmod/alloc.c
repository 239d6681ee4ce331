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
 *   with EBUSY and the next window is tried.  Only ZONE_NORMAL, then
 *   ZONE_DMA32, are used (never ZONE_DMA, which devices with small DMA
 *   masks need, nor ZONE_MOVABLE, which must stay free of pinned pages for
 *   memory offlining and long-term pins), only while the zone stays above
 *   its high watermark plus its lowmem reserve, and at most
 *   range_max_tries windows are handed to alloc_contig_range() per
 *   request.  Who may take ranges, and how often: range.c.
 *
 * NUMABUF_F_DMA32 keeps the whole buffer below 4 GiB: the page allocator is
 * asked for GFP_DMA32 memory (a node without a DMA32 zone has none), ranges
 * come from ZONE_DMA32 only, and a pool serves such a buffer only when all
 * its memory lies below 4 GiB (pool.c).  Whatever the source, the last
 * byte is checked once more before the buffer is handed out.
 *
 * Buffers of 2 MiB or more start on a 2 MiB boundary and buffers of 1 GiB
 * or more on a 1 GiB boundary, so that they can be mapped with huge pages.
 * A buddy block is aligned to its own size, which covers the first rule.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/memory_hotplug.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/moduleparam.h>
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
 * Returns 0 or the first pfn that rules the window out (or where the
 * check stopped for a fatal signal).
 *
 * Beyond what alloc_contig_pages() checks, a page in use that is on no
 * LRU list (slab, page tables, kernel and driver allocations, numabuf's
 * own buffers) cannot be migrated: such a window would only fail, so it
 * is ruled out here without spending one of the request's tries.  The
 * flags are read without locks; alloc_contig_range() has the last word.
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
		    PageHuge(page) || (page_count(page) && !PageLRU(page)))
			return pfn;
		if ((pfn & 4095) == 4095) {
			/* The caller sees the signal before the next window. */
			if (fatal_signal_pending(current))
				return pfn;
			cond_resched();
		}
	}
	return 0;
}

/*
 * Windows handed to alloc_contig_range() per request, at most: each one
 * drains every CPU's page lists and may migrate other processes' pages,
 * so a request on a fragmented node fails after this many (ENOMEM).
 */
static unsigned int range_max_tries = 8;
module_param(range_max_tries, uint, 0644);
MODULE_PARM_DESC(range_max_tries, "Windows one range allocation may hand to alloc_contig_range() before it fails with ENOMEM (default 8, at least 1)");

/*
 * Would taking @nr_pages leave @zone below its high watermark plus its
 * lowmem reserve?  The reserve is the largest of the zone's
 * lowmem_reserve[], what the kernel keeps back from allocations that
 * could have used the highest zone.
 */
static bool numabuf_zone_has_room(struct zone *zone, unsigned long nr_pages)
{
	unsigned long free = zone_page_state(zone, NR_FREE_PAGES);
	unsigned long keep = high_wmark_pages(zone);
	long reserve = 0;
	int i;

	for (i = 0; i < MAX_NR_ZONES; i++)
		reserve = max(reserve, zone->lowmem_reserve[i]);
	keep += reserve;
	return free >= keep && free - keep >= nr_pages;
}

/* The zones ranges come from, in the order they are tried. */
static const enum zone_type numabuf_range_zones[] = {
	ZONE_NORMAL,
#ifdef CONFIG_ZONE_DMA32
	ZONE_DMA32,
#endif
};

/* The zones of a NUMABUF_F_DMA32 range: none without ZONE_DMA32. */
static const enum zone_type numabuf_range_zones_dma32[] = {
#ifdef CONFIG_ZONE_DMA32
	ZONE_DMA32,
#endif
};

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

/* Where a range request stands: windows it may still try. */
struct numabuf_range_scan {
	unsigned int tries;
};

/*
 * One pass over one zone of the node.  Returns the first page, NULL when
 * no window could be taken (@rs->tries spent, or the zone has no window
 * left, or too little free memory), or ERR_PTR(-EINTR).
 */
static struct page *numabuf_range_zone_scan(struct zone *zone,
					    unsigned long nr_pages,
					    unsigned long align, int node,
					    struct numabuf_range_scan *rs)
{
	/*
	 * The flags alloc_contig_range() accepts on every kernel: reclaim
	 * may run to make room for the pages it migrates, failure is quiet.
	 */
	const gfp_t gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	unsigned long pfn, end, bad;
	int ret;

	end = zone_end_pfn(zone);
	pfn = ALIGN(zone->zone_start_pfn, align);
	while (pfn + nr_pages <= end && rs->tries) {
		if (fatal_signal_pending(current))
			return ERR_PTR(-EINTR);
		cond_resched();

		if (!numabuf_zone_has_room(zone, nr_pages))
			return NULL;
		bad = numabuf_range_check(zone, node, pfn, nr_pages);
		if (bad) {
			pfn = ALIGN(bad + 1, align);
			continue;
		}
		rs->tries--;
		ret = alloc_contig_range(pfn, pfn + nr_pages, MIGRATE_MOVABLE,
					 gfp);
		if (!ret)
			return pfn_to_page(pfn);
		if (ret == -EINTR)
			return ERR_PTR(ret);
		/* EBUSY: something unmovable; try further on. */
		pfn += ALIGN(nr_pages, align);
	}
	return NULL;
}

/**
 * numabuf_range_alloc - take a zeroed, aligned range of a node's memory
 * @nr_pages:	pages wanted
 * @align:	alignment of the first pfn, a power of two
 * @node:	node to take them from
 * @dma32:	from ZONE_DMA32 only (NUMABUF_F_DMA32)
 *
 * ZONE_NORMAL is scanned first, then ZONE_DMA32; a window refused with
 * EBUSY (something unmovable, or only busy for a moment) is followed by
 * the next.  The work is bounded: at most range_max_tries windows go to
 * alloc_contig_range(), the rest of the scan only reads page flags, and
 * every step ends early when the caller is killed.  The node's lock is
 * taken killably and held for the scan only.
 *
 * Return: the first of @nr_pages contiguous order-0 pages, or an ERR_PTR:
 * -ENOMEM when no window of the node could be taken within the bound or
 * without going below a zone's watermarks, -EINTR when the caller was
 * killed.
 */
struct page *numabuf_range_alloc(unsigned long nr_pages, unsigned long align,
				 int node, bool dma32)
{
	struct numabuf_range_scan rs = {
		.tries = max(READ_ONCE(range_max_tries), 1U),
	};
	const enum zone_type *zones = numabuf_range_zones;
	unsigned int i, nr_zones = ARRAY_SIZE(numabuf_range_zones);
	pg_data_t *pgdat = NODE_DATA(node);
	struct page *page = NULL;
	struct zone *zone;

	if (dma32) {
		zones = numabuf_range_zones_dma32;
		nr_zones = ARRAY_SIZE(numabuf_range_zones_dma32);
	}

	if (nr_pages > node_present_pages(node))
		return ERR_PTR(-ENOMEM);

	if (mutex_lock_killable(&numabuf_range_locks[node]))
		return ERR_PTR(-EINTR);
	for (i = 0; i < nr_zones && !page; i++) {
		zone = &pgdat->node_zones[zones[i]];
		if (!populated_zone(zone))
			continue;
		page = numabuf_range_zone_scan(zone, nr_pages, align, node,
					       &rs);
		if (IS_ERR(page))
			break;
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

/*
 * The general allocator: a buddy block or a range, strictly on @node.
 * @range: whether a range may be taken; 0 until numabuf_range_permit()
 * was asked (once per request), then 1 or its errno.
 */
static int numabuf_general_alloc(struct numabuf_buf *buf, int node,
				 u32 flags, int *range)
{
	const bool dma32 = flags & NUMABUF_F_DMA32;
	/*
	 * Not movable: these pages are pinned for their whole life.
	 * ACCOUNT: charged to the caller's memory cgroup.
	 * NOWARN: failure is an ordinary ENOMEM.
	 */
	gfp_t gfp = GFP_USER | __GFP_ACCOUNT | __GFP_NOWARN | __GFP_THISNODE;
	struct page *page;

	if (buf->nr_pages <= MAX_ORDER_NR_PAGES) {
		/*
		 * Up to PAGE_ALLOC_COSTLY_ORDER, RETRY_MAYFAIL: reclaim and
		 * compact hard, but fail rather than call the OOM killer.
		 * A larger block gets NORETRY, one light round of compaction
		 * and reclaim, so that a caller filling a node cannot make
		 * the kernel compact it again and again, migrating other
		 * processes' pages (with RETRY_MAYFAIL one of them waited
		 * minutes on a migration entry: docs/threat-model.md).
		 * Larger buffers come from the range path, bounded by
		 * range_max_tries.
		 */
		if (buf->nr_pages > (1UL << PAGE_ALLOC_COSTLY_ORDER))
			gfp |= __GFP_NORETRY;
		else
			gfp |= __GFP_RETRY_MAYFAIL;
		page = numabuf_pages_alloc(buf->nr_pages, node,
					   dma32 ? gfp | __GFP_DMA32 : gfp);
		if (!page)
			return -ENOMEM;
		buf->source = NUMABUF_SOURCE_PAGES;
	} else {
		if (!*range)
			*range = numabuf_range_permit() ?: 1;
		if (*range < 0)
			return *range;
		page = numabuf_range_alloc(buf->nr_pages,
					   numabuf_align_pages(buf->nr_pages),
					   node, dma32);
		if (IS_ERR(page))
			return PTR_ERR(page);
		buf->source = NUMABUF_SOURCE_RANGE;
	}
	buf->page = page;
	return 0;
}

/* Every source @flags allows, on one node. */
static int numabuf_node_alloc(struct numabuf_buf *buf, int node, u32 flags,
			      int *range)
{
	int ret = -ENOMEM;

	if (!node_state(node, N_MEMORY))
		return -ENOMEM;

	if (!(flags & NUMABUF_F_NO_POOL)) {
		ret = numabuf_pool_alloc(buf, node, flags);
		if (!ret || ret == -EINTR || (flags & NUMABUF_F_POOL))
			goto check;
	}
	ret = numabuf_general_alloc(buf, node, flags, range);
	numabuf_stats_alloc(node, buf->nr_pages <= MAX_ORDER_NR_PAGES ?
			    NUMABUF_SOURCE_PAGES : NUMABUF_SOURCE_RANGE, ret);
check:
	/* The last word on NUMABUF_F_DMA32, whatever the source did. */
	if (!ret && (flags & NUMABUF_F_DMA32) &&
	    !numabuf_below_4g(buf->page, buf->nr_pages)) {
		numabuf_mem_unalloc(buf);
		ret = -ENOMEM;
	}
	return ret;
}

/**
 * numabuf_mem_unalloc - give back the memory of a buffer never handed out
 * @buf:	buffer whose memory numabuf_mem_alloc() just gave, untouched
 *		since (still zero) and never mapped
 */
void numabuf_mem_unalloc(struct numabuf_buf *buf)
{
	if (buf->source == NUMABUF_SOURCE_POOL)
		numabuf_pool_unalloc(buf);
	else
		numabuf_pages_free(buf->page, buf->nr_pages);
	buf->page = NULL;
	buf->source = 0;
	buf->pool_region = NULL;
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
 * A request that needs a range (above 4 MiB, its pool full or not used)
 * and may not take one fails with the reason, EPERM or EAGAIN, rather
 * than ENOMEM, unless another node's pool served it.
 *
 * NUMABUF_F_DMA32: only memory below 4 GiB; a node that has none fails
 * with -ENOMEM like a full one.
 *
 * Return: 0, -ENOMEM, -EPERM or -EAGAIN (see range.c), -EDQUOT over the
 * user's pool quota with NUMABUF_F_POOL, or -EINTR when the caller was
 * killed.
 */
int numabuf_mem_alloc(struct numabuf_buf *buf, int node, u32 flags)
{
	nodemask_t tried = NODE_MASK_NONE;
	int ret, n, best, range = 0;

	/*
	 * -EDQUOT (the pool quota, with NUMABUF_F_POOL) covers every node:
	 * no other node can do better.
	 */
	ret = numabuf_node_alloc(buf, node, flags, &range);
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
			return range < 0 ? range : -ENOMEM;
		node_set(best, tried);
		ret = numabuf_node_alloc(buf, best, flags, &range);
		if (!ret)
			break;
		if (ret == -EINTR || ret == -EDQUOT)
			return ret;
	}
done:
	buf->node = page_to_nid(buf->page);
	return 0;
}
