// SPDX-License-Identifier: GPL-2.0
/*
 * Per-node pools: contiguous memory reserved ahead of time, so that later
 * buffers come fast, cannot fail for fragmentation and migrate nothing.
 *
 * A pool is a set of regions, each a naturally aligned power-of-two run of
 * pages (4 MiB to 1 GiB) taken from the node with alloc_contig_range() or,
 * at 4 MiB, from the page allocator.  Inside the regions a buddy allocator
 * hands out blocks: a free block is listed by its first page (page->lru, the
 * block's order in page->private, as drivers' page pools do with pages they
 * own) and marked in its region's bitmap, which tells free() whether a
 * buddy can be merged.  Nothing is allocated on the way in or out, and the
 * work is bounded by the number of orders, whatever the size.
 *
 * A region owns whole units (4 MiB, the page allocator's largest block)
 * and a unit's region is found in the pool's xarray, indexed by pfn >>
 * NUMABUF_POOL_UNIT_ORDER.  Trimming can give back part of a region; a
 * region created later can lie in those given-back units of an older one,
 * but only in units the older one no longer owns any page of (the page
 * allocator handed out the whole unit).  So the newest region stored for a
 * unit owns every pool page in it.
 *
 * Memory in the free lists is always zero.  A buffer comes back only when
 * every page is back (buf.c sets aside buffers whose pages are still held
 * by a pipe, O_DIRECT or a pin, charged to their owner, for as long as
 * that lasts), so the pool never loses memory to such holders.  Whoever
 * lets the buffer go zeroes it, in their own time, before it returns to
 * the free lists: no allocation ever waits for zeroing that others can
 * prolong.  Only memory whose zeroing a kill cut short, or whose holders
 * let go long after the buffer did, waits on the dirty list for the
 * node's worker; it stays charged to its owner until it is clean.
 *
 * Locking: pool->lock (a spinlock) guards the free lists, the dirty list,
 * the counters and the region list.  pool->resize_lock serializes growing
 * and shrinking, which allocate and free memory outside pool->lock.  The
 * unit xarray has its own lock; entries change only when a region is
 * created (before its pages reach the free lists) or destroyed (after its
 * last page has left the pool).
 */
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

/* Regions and pool sizes come in units of the page allocator's largest block. */
#define NUMABUF_POOL_UNIT_ORDER	ilog2(MAX_ORDER_NR_PAGES)
#define NUMABUF_POOL_UNIT	MAX_ORDER_NR_PAGES
/* Largest region and largest buffer from a pool: 1 GiB. */
#define NUMABUF_POOL_MAX_ORDER	(30 - PAGE_SHIFT)
#define NUMABUF_POOL_ORDERS	(NUMABUF_POOL_MAX_ORDER + 1)
/*
 * Small buffers (below 2 MiB) are kept apart from large ones in chunks of
 * 2 MiB (a unit at most), so that a few small buffers held for long cannot
 * spoil every large block.
 */
#define NUMABUF_POOL_CHUNK_ORDER \
	min_t(unsigned int, 21 - PAGE_SHIFT, NUMABUF_POOL_UNIT_ORDER)
#define NUMABUF_POOL_CHUNK_ORDER_MAX	(21 - PAGE_SHIFT)

/**
 * struct numabuf_region - one contiguous run of a pool's memory
 * @link:	in the pool's region list
 * @pfn:	first page frame, aligned to the region's size
 * @order:	the region is 2^@order pages
 * @nr_owned:	pages of the region still the pool's (free or in buffers)
 * @free_map:	bit set for the first page of each free block
 * @small_map:	bit set for each chunk that small buffers were given from;
 *		cleared when the whole chunk is free again
 */
struct numabuf_region {
	struct list_head link;
	unsigned long pfn;
	unsigned int order;
	unsigned long nr_owned;
	unsigned long *free_map;
	unsigned long *small_map;
};

/**
 * struct numabuf_node_pool - the pool of one node
 * @node:	the node
 * @resize_lock: serializes numabuf_pool_resize()
 * @lock:	guards everything below
 * @target:	pages the pool should hold
 * @nr_pages:	pages the pool holds: free, dirty or in buffers
 * @nr_free:	pages in the free lists (zeroed)
 * @nr_dirty:	pages of freed buffers waiting to be zeroed
 * @low:	low watermark in pages (0: none)
 * @below:	free pages fell below @low and the event was sent; cleared
 *		when they are back at @low
 * @free_area:	free blocks by order, linked through page->lru; below the
 *		chunk order only blocks in chunks of small buffers
 * @tail_area:	free blocks below the chunk order in chunks of large buffers
 *		(what a large buffer left of its last chunk): small buffers
 *		take them only when nothing else is free
 * @regions:	struct numabuf_region list
 * @units:	struct numabuf_region by unit (pfn >> NUMABUF_POOL_UNIT_ORDER)
 * @dirty:	freed buffers (struct numabuf_buf) waiting for the worker
 * @zero_work:	zeroes @dirty and gives back what is above @target; runs
 *		on the pool's node
 */
struct numabuf_node_pool {
	int node;
	struct mutex resize_lock;	/* serializes numabuf_pool_resize() */
	spinlock_t lock;		/* guards everything below */
	unsigned long target;
	unsigned long nr_pages;
	unsigned long nr_free;
	unsigned long nr_dirty;
	unsigned long low;
	bool below;
	struct list_head free_area[NUMABUF_POOL_ORDERS];
	struct list_head tail_area[NUMABUF_POOL_CHUNK_ORDER_MAX];
	struct list_head regions;
	struct xarray units;
	struct list_head dirty;
	struct work_struct zero_work;
};

static struct numabuf_node_pool *numabuf_pools[MAX_NUMNODES];

/* Pools at load time: "0:1G,1:512M". */
static char *pools;
module_param(pools, charp, 0444);
MODULE_PARM_DESC(pools, "Pools reserved at load time, as NODE:SIZE[,NODE:SIZE...] (e.g. 0:1G,1:512M)");

/* The region that owns @pfn, a page of the pool. */
static struct numabuf_region *numabuf_region_find(struct numabuf_node_pool *pool,
						  unsigned long pfn)
{
	lockdep_assert_held(&pool->lock);
	return xa_load(&pool->units, pfn >> NUMABUF_POOL_UNIT_ORDER);
}

/* The chunk of @r that page frame @pfn is in. */
static unsigned long numabuf_chunk(struct numabuf_region *r, unsigned long pfn)
{
	return (pfn - r->pfn) >> NUMABUF_POOL_CHUNK_ORDER;
}

static void numabuf_block_add(struct numabuf_node_pool *pool,
			      struct numabuf_region *r, unsigned long pfn,
			      unsigned int order)
{
	struct page *page = pfn_to_page(pfn);
	struct list_head *list = &pool->free_area[order];

	set_bit(pfn - r->pfn, r->free_map);
	set_page_private(page, order);
	if (order >= NUMABUF_POOL_CHUNK_ORDER)
		/* Whole chunks: free for any buffer again. */
		bitmap_clear(r->small_map, numabuf_chunk(r, pfn),
			     1U << (order - NUMABUF_POOL_CHUNK_ORDER));
	else if (!test_bit(numabuf_chunk(r, pfn), r->small_map))
		list = &pool->tail_area[order];
	list_add(&page->lru, list);
}

static void numabuf_block_del(struct numabuf_region *r, struct page *page)
{
	clear_bit(page_to_pfn(page) - r->pfn, r->free_map);
	set_page_private(page, 0);
	list_del(&page->lru);
}

/* Free one aligned block of 2^@order pages, merging it with its buddies. */
static void numabuf_block_free(struct numabuf_node_pool *pool,
			       struct numabuf_region *r, unsigned long pfn,
			       unsigned int order)
{
	unsigned long buddy;
	struct page *page;

	while (order < r->order) {
		buddy = pfn ^ (1UL << order);
		if (!test_bit(buddy - r->pfn, r->free_map))
			break;
		page = pfn_to_page(buddy);
		if (page_private(page) != order)
			break;
		numabuf_block_del(r, page);
		pfn &= ~(1UL << order);
		order++;
	}
	numabuf_block_add(pool, r, pfn, order);
}

/* Free [@pfn, @pfn + @nr) of region @r as the largest aligned blocks. */
static void numabuf_range_put(struct numabuf_node_pool *pool,
			      struct numabuf_region *r, unsigned long pfn,
			      unsigned long nr)
{
	unsigned int order;

	while (nr) {
		order = min3((unsigned int)__ffs(pfn | (1UL << r->order)),
			     (unsigned int)ilog2(nr), r->order);
		numabuf_block_free(pool, r, pfn, order);
		pfn += 1UL << order;
		nr -= 1UL << order;
	}
}

/* The first free block of @order, in either list; NULL if none. */
static struct page *numabuf_pool_first(struct numabuf_node_pool *pool,
				       unsigned int order, bool tail)
{
	struct list_head *list = tail ? &pool->tail_area[order] :
					&pool->free_area[order];

	return list_first_entry_or_null(list, struct page, lru);
}

/* The largest free block; its order in *@orderp.  NULL if none. */
static struct page *numabuf_pool_top(struct numabuf_node_pool *pool,
				     unsigned int *orderp)
{
	struct page *page;
	int order;

	for (order = NUMABUF_POOL_MAX_ORDER; order >= 0; order--) {
		page = numabuf_pool_first(pool, order, false);
		if (!page && order < NUMABUF_POOL_CHUNK_ORDER)
			page = numabuf_pool_first(pool, order, true);
		if (page) {
			*orderp = order;
			return page;
		}
	}
	return NULL;
}

/*
 * The block a buffer of 2^@order pages comes from; its order in *@op.
 * Small buffers come from chunks already given to small buffers, else
 * from the smallest whole free chunk (which then becomes one of theirs),
 * and only when neither is left from what large buffers left of their
 * last chunk.  Large buffers take whole chunks.  *@claim is set when the
 * block's chunk must become a small buffers' one.
 */
static struct page *numabuf_pool_find(struct numabuf_node_pool *pool,
				      unsigned int order, unsigned int *op,
				      bool *claim)
{
	const unsigned int chunk = NUMABUF_POOL_CHUNK_ORDER;
	struct page *page;
	unsigned int o;

	*claim = false;
	for (o = order; o < chunk; o++) {
		page = numabuf_pool_first(pool, o, false);
		if (page)
			goto found;
	}
	for (o = max(order, chunk); o < NUMABUF_POOL_ORDERS; o++) {
		page = numabuf_pool_first(pool, o, false);
		if (page) {
			*claim = order < chunk;
			goto found;
		}
	}
	for (o = order; o < chunk; o++) {
		page = numabuf_pool_first(pool, o, true);
		if (page) {
			*claim = true;
			goto found;
		}
	}
	return NULL;
found:
	*op = o;
	return page;
}

/*
 * Take @nr_pages from the free lists, or return NULL.  The block is split
 * down to the buffer's order and the pages past the buffer go back.
 */
static struct page *numabuf_pool_take(struct numabuf_node_pool *pool,
				      unsigned long nr_pages,
				      struct numabuf_region **rp)
{
	unsigned int order = order_base_2(nr_pages), o;
	struct numabuf_region *r;
	unsigned long pfn;
	struct page *page;
	bool claim;

	lockdep_assert_held(&pool->lock);
	page = numabuf_pool_find(pool, order, &o, &claim);
	if (!page)
		return NULL;

	pfn = page_to_pfn(page);
	r = numabuf_region_find(pool, pfn);
	numabuf_block_del(r, page);
	/* Before the split: the pieces of this chunk are small ones. */
	if (claim)
		set_bit(numabuf_chunk(r, pfn), r->small_map);
	while (o > order) {
		o--;
		numabuf_block_add(pool, r, pfn + (1UL << o), o);
	}
	if (nr_pages < (1UL << order))
		numabuf_range_put(pool, r, pfn + nr_pages,
				  (1UL << order) - nr_pages);
	pool->nr_free -= nr_pages;
	*rp = r;
	return page;
}

/*
 * Has the pool just fallen below its low watermark?  True once per fall:
 * the caller sends the event, after dropping the lock.
 */
static bool numabuf_pool_fell_low(struct numabuf_node_pool *pool)
{
	bool low;

	lockdep_assert_held(&pool->lock);
	low = pool->nr_free + pool->nr_dirty < pool->low;
	if (!low) {
		pool->below = false;
		return false;
	}
	if (pool->below)
		return false;
	pool->below = true;
	return true;
}

/**
 * numabuf_pool_below_4g - does all of the pool's memory lie below 4 GiB?
 * @pool:	the pool, locked
 *
 * A region is naturally aligned and at most 1 GiB, so it lies wholly on
 * one side of 4 GiB.
 */
static bool numabuf_pool_below_4g(struct numabuf_node_pool *pool)
{
	struct numabuf_region *r;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry(r, &pool->regions, link)
		if (!numabuf_below_4g(pfn_to_page(r->pfn), 1UL << r->order))
			return false;
	return true;
}

/**
 * numabuf_pool_alloc - a buffer's memory from its node's pool
 * @buf:	buffer with @nr_pages set; @page and @pool_region are set
 * @node:	node with memory
 * @flags:	NUMABUF_F_*: with NUMABUF_F_POOL the pool is the only
 *		source; NUMABUF_F_DMA32 is served only by a pool whose
 *		regions all lie below 4 GiB (else -ENOMEM, as if it were
 *		full), which keeps the pool's buddy allocator unaware of
 *		addresses
 *
 * The memory is already zero.  Memory still being zeroed is not waited
 * for.  A failure counts in the node's statistics when the pool has
 * memory or was the only source.
 *
 * Return: 0, -EDQUOT over the user's pool quota, or -ENOMEM when the
 * pool has no free block large enough.
 */
int numabuf_pool_alloc(struct numabuf_buf *buf, int node, u32 flags)
{
	struct numabuf_node_pool *pool = numabuf_pools[node];
	bool only = flags & NUMABUF_F_POOL;
	struct page *page = NULL;
	bool fell = false;
	int ret;

	if (!READ_ONCE(pool->nr_pages)) {
		if (only)
			numabuf_stats_alloc(node, NUMABUF_SOURCE_POOL, -ENOMEM);
		return -ENOMEM;
	}
	if (buf->nr_pages > (1UL << NUMABUF_POOL_MAX_ORDER)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = numabuf_pool_charge(&buf->charge);
	if (ret)
		goto out;
	spin_lock(&pool->lock);
	if (!(flags & NUMABUF_F_DMA32) || numabuf_pool_below_4g(pool))
		page = numabuf_pool_take(pool, buf->nr_pages,
					 &buf->pool_region);
	fell = page && numabuf_pool_fell_low(pool);
	spin_unlock(&pool->lock);
	if (page) {
		buf->page = page;
		buf->source = NUMABUF_SOURCE_POOL;
	} else {
		numabuf_pool_uncharge(&buf->charge);
		ret = -ENOMEM;
	}
	if (fell)
		numabuf_nl_pool_low(node);
out:
	numabuf_stats_alloc(node, NUMABUF_SOURCE_POOL, ret);
	return ret;
}

/**
 * numabuf_pool_set_low - set a node's low watermark
 * @node:	node with memory
 * @bytes:	the watermark, rounded up to pages; 0 for none
 *
 * A pool already below the new watermark is announced at once.
 */
void numabuf_pool_set_low(int node, u64 bytes)
{
	struct numabuf_node_pool *pool = numabuf_pools[node];
	bool fell;

	spin_lock(&pool->lock);
	pool->low = min_t(u64, DIV_ROUND_UP_ULL(bytes, PAGE_SIZE), ULONG_MAX);
	pool->below = false;
	fell = numabuf_pool_fell_low(pool);
	spin_unlock(&pool->lock);
	if (fell)
		numabuf_nl_pool_low(node);
}

static void numabuf_pool_trim(struct numabuf_node_pool *pool);

/*
 * A clean buffer's memory back to the free lists.  Returns whether the
 * pool is above its target (it was shrunk while the buffer lived): the
 * caller then trims it, giving the excess back to the page allocator.
 */
static bool numabuf_pool_put(struct numabuf_node_pool *pool,
			     struct numabuf_buf *buf, bool dirty)
{
	bool above;

	spin_lock(&pool->lock);
	numabuf_range_put(pool, buf->pool_region, page_to_pfn(buf->page),
			  buf->nr_pages);
	if (dirty)
		pool->nr_dirty -= buf->nr_pages;
	pool->nr_free += buf->nr_pages;
	numabuf_pool_fell_low(pool);	/* rearms the event when back up */
	above = pool->nr_pages > pool->target;
	spin_unlock(&pool->lock);
	return above;
}

/* The same, and the buffer goes. */
static void numabuf_pool_put_clean(struct numabuf_node_pool *pool,
				   struct numabuf_buf *buf, bool dirty)
{
	bool above = numabuf_pool_put(pool, buf, dirty);

	numabuf_buf_destroy(buf);
	if (above)
		numabuf_pool_trim(pool);
}

/**
 * numabuf_pool_unalloc - undo numabuf_pool_alloc()
 * @buf:	buffer that numabuf_pool_alloc() just gave memory, which is
 *		still zero and was never mapped; the buffer itself stays
 *
 * For a buffer that fails before it is created (numabuf_mem_unalloc()).
 */
void numabuf_pool_unalloc(struct numabuf_buf *buf)
{
	struct numabuf_node_pool *pool = numabuf_pools[page_to_nid(buf->page)];
	bool above = numabuf_pool_put(pool, buf, false);

	numabuf_pool_uncharge(&buf->charge);
	if (above)
		numabuf_pool_trim(pool);
}

/**
 * numabuf_pool_free - give a pool buffer's memory back
 * @buf:	the buffer, unreachable by now, every page back
 * @here:	the caller is the one who let the buffer go
 *
 * The pool takes the buffer over: the memory returns to the free lists
 * once zeroed and the buffer is destroyed (uncharged).  Whoever let the
 * buffer go zeroes it, in their own time; if a kill cuts that short, or
 * the buffer's last pages came back long after it was let go (!@here),
 * the worker on the pool's node does it.  The buffer stays charged until
 * its memory is clean.
 */
void numabuf_pool_free(struct numabuf_buf *buf, bool here)
{
	struct numabuf_node_pool *pool = numabuf_pools[page_to_nid(buf->page)];

	if (here && numabuf_clear_pages(buf->page, buf->clear_idx,
					buf->nr_pages, &buf->clear_idx)) {
		numabuf_pool_put_clean(pool, buf, false);
		return;
	}
	spin_lock(&pool->lock);
	list_add_tail(&buf->pool_link, &pool->dirty);
	pool->nr_dirty += buf->nr_pages;
	spin_unlock(&pool->lock);
	queue_work_node(pool->node, numabuf_wq, &pool->zero_work);
}

/* Units of @r's range that still name @r no longer do. */
static void numabuf_region_unindex(struct numabuf_node_pool *pool,
				   struct numabuf_region *r)
{
	unsigned long first = r->pfn >> NUMABUF_POOL_UNIT_ORDER;
	unsigned long i, n = 1UL << (r->order - NUMABUF_POOL_UNIT_ORDER);

	for (i = 0; i < n; i++)
		xa_cmpxchg(&pool->units, first + i, r, NULL, GFP_KERNEL);
}

/* Name @r as the region of each unit of its range; they are all free. */
static int numabuf_region_index(struct numabuf_node_pool *pool,
				struct numabuf_region *r)
{
	unsigned long first = r->pfn >> NUMABUF_POOL_UNIT_ORDER;
	unsigned long i, n = 1UL << (r->order - NUMABUF_POOL_UNIT_ORDER);
	int ret;

	for (i = 0; i < n; i++) {
		ret = xa_err(xa_store(&pool->units, first + i, r, GFP_KERNEL));
		if (ret) {
			numabuf_region_unindex(pool, r);
			return ret;
		}
	}
	return 0;
}

static void numabuf_region_free(struct numabuf_region *r)
{
	bitmap_free(r->small_map);
	bitmap_free(r->free_map);
	kfree(r);
}

/* @r owns no page any more. */
static void numabuf_region_destroy(struct numabuf_node_pool *pool,
				   struct numabuf_region *r)
{
	numabuf_region_unindex(pool, r);
	numabuf_region_free(r);
}

/*
 * The region has lost @nr pages to the page allocator; unlink it when it
 * has none left.  Returns the region for the caller to destroy, or NULL.
 */
static struct numabuf_region *numabuf_region_lose(struct numabuf_node_pool *pool,
						  struct numabuf_region *r,
						  unsigned long nr)
{
	lockdep_assert_held(&pool->lock);
	r->nr_owned -= nr;
	pool->nr_pages -= nr;
	if (r->nr_owned)
		return NULL;
	list_del(&r->link);
	return r;
}

/*
 * Give free memory back to the page allocator until the pool is down to
 * its target or has nothing free.  Largest blocks first.
 */
static void numabuf_pool_trim(struct numabuf_node_pool *pool)
{
	struct numabuf_region *r, *gone;
	unsigned long pfn, nr, excess;
	unsigned int order;
	struct page *page;

	for (;;) {
		spin_lock(&pool->lock);
		page = NULL;
		if (pool->nr_pages > pool->target)
			page = numabuf_pool_top(pool, &order);
		if (!page) {
			spin_unlock(&pool->lock);
			return;
		}
		excess = pool->nr_pages - pool->target;
		pfn = page_to_pfn(page);
		r = numabuf_region_find(pool, pfn);
		numabuf_block_del(r, page);
		nr = min(1UL << order, excess);
		if (nr < (1UL << order))
			numabuf_range_put(pool, r, pfn + nr,
					  (1UL << order) - nr);
		pool->nr_free -= nr;
		gone = numabuf_region_lose(pool, r, nr);
		spin_unlock(&pool->lock);

		numabuf_pages_free(page, nr);
		if (gone)
			numabuf_region_destroy(pool, gone);
		cond_resched();
	}
}

static void numabuf_pool_zero_work(struct work_struct *work)
{
	struct numabuf_node_pool *pool = container_of(work, struct numabuf_node_pool,
						 zero_work);
	struct numabuf_buf *buf;

	for (;;) {
		spin_lock(&pool->lock);
		buf = list_first_entry_or_null(&pool->dirty, struct numabuf_buf,
					       pool_link);
		if (buf)
			list_del(&buf->pool_link);
		spin_unlock(&pool->lock);
		if (!buf)
			break;

		/* A worker is never killed: this zeroes the rest. */
		numabuf_clear_pages(buf->page, buf->clear_idx, buf->nr_pages,
				    &buf->clear_idx);
		/* Trims too, should the pool be above its target. */
		numabuf_pool_put_clean(pool, buf, true);
		cond_resched();
	}
}

/*
 * Reserve a region of 2^@order pages (at least a unit) on the pool's node,
 * zeroed, and index it.
 */
static struct numabuf_region *numabuf_region_create(struct numabuf_node_pool *pool,
						    unsigned int order)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_THISNODE | __GFP_RETRY_MAYFAIL |
			  __GFP_NOWARN;
	unsigned long nr = 1UL << order;
	struct numabuf_region *r;
	struct page *page;
	int ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->free_map = bitmap_zalloc(nr, GFP_KERNEL);
	r->small_map = bitmap_zalloc(nr >> NUMABUF_POOL_CHUNK_ORDER, GFP_KERNEL);
	if (!r->free_map || !r->small_map) {
		numabuf_region_free(r);
		return ERR_PTR(-ENOMEM);
	}

	if (nr <= MAX_ORDER_NR_PAGES) {
		page = numabuf_pages_alloc(nr, pool->node, gfp);
		if (!page)
			page = ERR_PTR(-ENOMEM);
	} else {
		page = numabuf_range_alloc(nr, nr, pool->node, false);
	}
	if (IS_ERR(page)) {
		numabuf_region_free(r);
		return ERR_CAST(page);
	}
	r->pfn = page_to_pfn(page);
	r->order = order;
	r->nr_owned = nr;
	ret = numabuf_region_index(pool, r);
	if (ret) {
		numabuf_pages_free(page, nr);
		numabuf_region_free(r);
		return ERR_PTR(ret);
	}
	return r;
}

/*
 * Reserve @nr_pages (a multiple of NUMABUF_POOL_UNIT) as regions as large
 * as the node gives, largest first.  All or nothing.
 */
static int numabuf_pool_grow(struct numabuf_node_pool *pool, unsigned long nr_pages)
{
	struct numabuf_region *r, *tmp;
	unsigned int order, max;
	LIST_HEAD(fresh);
	int ret = 0;

	max = NUMABUF_POOL_MAX_ORDER;
	while (nr_pages) {
		order = min_t(unsigned int, ilog2(nr_pages), max);
		r = numabuf_region_create(pool, order);
		if (IS_ERR(r)) {
			ret = PTR_ERR(r);
			if (ret == -ENOMEM && order > NUMABUF_POOL_UNIT_ORDER) {
				/* No window that large: try halves. */
				max = order - 1;
				ret = 0;
				continue;
			}
			goto undo;
		}
		list_add_tail(&r->link, &fresh);
		nr_pages -= 1UL << order;
	}

	spin_lock(&pool->lock);
	list_for_each_entry_safe(r, tmp, &fresh, link) {
		list_move_tail(&r->link, &pool->regions);
		numabuf_range_put(pool, r, r->pfn, 1UL << r->order);
		pool->nr_pages += 1UL << r->order;
		pool->nr_free += 1UL << r->order;
	}
	spin_unlock(&pool->lock);
	return 0;

undo:
	list_for_each_entry_safe(r, tmp, &fresh, link) {
		numabuf_pages_free(pfn_to_page(r->pfn), 1UL << r->order);
		numabuf_region_destroy(pool, r);
	}
	return ret;
}

/**
 * numabuf_pool_resize - set a node's pool target
 * @node:	node with memory
 * @bytes:	bytes wanted, rounded up to NUMABUF_POOL_UNIT pages
 *
 * Growing reserves the difference at once, all or nothing: on failure
 * the pool keeps its memory and its old target.  Shrinking gives back free
 * memory at once and the rest as buffers are freed.
 *
 * Return: 0, -ENOMEM when the node cannot give the memory, -EINTR when
 * the caller was killed.
 */
int numabuf_pool_resize(int node, u64 bytes)
{
	struct numabuf_node_pool *pool = numabuf_pools[node];
	unsigned long target, old_target, have;
	int ret = 0;

	if (bytes > ((u64)totalram_pages() << PAGE_SHIFT))
		return -ENOMEM;
	target = ALIGN((unsigned long)(bytes >> PAGE_SHIFT) +
		       !!(bytes & ~PAGE_MASK), NUMABUF_POOL_UNIT);

	if (mutex_lock_killable(&pool->resize_lock))
		return -EINTR;
	/*
	 * The target first, so that the worker does not trim what is being
	 * added against the old one.
	 */
	spin_lock(&pool->lock);
	old_target = pool->target;
	pool->target = target;
	spin_unlock(&pool->lock);

	/*
	 * Regions come in whole units: grow until there is enough and let
	 * the trim below give back the rest of the last unit.
	 */
	for (;;) {
		spin_lock(&pool->lock);
		have = pool->nr_pages;
		spin_unlock(&pool->lock);
		if (have >= target)
			break;
		ret = numabuf_pool_grow(pool, ALIGN(target - have,
						    NUMABUF_POOL_UNIT));
		if (ret) {
			spin_lock(&pool->lock);
			pool->target = old_target;
			spin_unlock(&pool->lock);
			break;
		}
	}
	/*
	 * Free memory goes back now; memory still being zeroed goes when
	 * the worker is done with it (it trims too).
	 */
	numabuf_pool_trim(pool);
	mutex_unlock(&pool->resize_lock);
	return ret;
}

/**
 * numabuf_pool_get - read a node's pool
 * @node:	any possible node
 * @st:		filled in
 */
void numabuf_pool_get(int node, struct numabuf_pool_stat *st)
{
	struct numabuf_node_pool *pool = numabuf_pools[node];
	unsigned int order;

	memset(st, 0, sizeof(*st));
	if (!pool)
		return;
	spin_lock(&pool->lock);
	st->target = (u64)pool->target << PAGE_SHIFT;
	st->bytes = (u64)pool->nr_pages << PAGE_SHIFT;
	st->free = (u64)(pool->nr_free + pool->nr_dirty) << PAGE_SHIFT;
	st->low = (u64)pool->low << PAGE_SHIFT;
	if (numabuf_pool_top(pool, &order))
		st->largest = (u64)PAGE_SIZE << order;
	spin_unlock(&pool->lock);
}

/* "0:1G,1:512M" -> pools; every node must have memory. */
static int __init numabuf_pools_parse(char *spec)
{
	char *item, *p, *end, whole[32];
	unsigned long node;
	u64 bytes;
	int ret;

	while ((item = strsep(&spec, ",")) != NULL) {
		if (!*item)
			continue;
		/* For the message: the entry as given (cut if very long). */
		strscpy(whole, item, sizeof(whole));
		p = strchr(item, ':');
		if (!p)
			goto bad;
		*p++ = '\0';
		if (kstrtoul(item, 10, &node) || node >= MAX_NUMNODES ||
		    !node_state(node, N_MEMORY))
			goto bad;
		bytes = memparse(p, &end);
		if (*end || !bytes)
			goto bad;
		ret = numabuf_pool_resize(node, bytes);
		if (ret) {
			pr_err("numabuf: pools: cannot reserve %llu bytes on node %lu: %d\n",
			       bytes, node, ret);
			return ret;
		}
	}
	return 0;
bad:
	pr_err("numabuf: pools: '%s' is not NODE:SIZE with a node that has memory\n",
	       whole);
	return -EINVAL;
}

static void numabuf_pool_destroy(struct numabuf_node_pool *pool)
{
	struct numabuf_region *r, *tmp;

	flush_work(&pool->zero_work);
	pool->target = 0;
	numabuf_pool_trim(pool);
	/* No buffer can be alive when the module goes, so nothing is left. */
	if (pool->nr_pages)
		pr_err("numabuf: node %d: %lu pool pages still in use at unload\n",
		       pool->node, pool->nr_pages);
	list_for_each_entry_safe(r, tmp, &pool->regions, link)
		numabuf_region_destroy(pool, r);
	xa_destroy(&pool->units);
	kfree(pool);
}

void numabuf_pool_exit(void)
{
	int node;

	for_each_node(node) {
		if (numabuf_pools[node])
			numabuf_pool_destroy(numabuf_pools[node]);
		numabuf_pools[node] = NULL;
	}
}

int __init numabuf_pool_init(void)
{
	struct numabuf_node_pool *pool;
	char *spec;
	int node, o, ret = 0;

	for_each_node(node) {
		pool = kzalloc_node(sizeof(*pool), GFP_KERNEL, node);
		if (!pool) {
			ret = -ENOMEM;
			goto err;
		}
		pool->node = node;
		mutex_init(&pool->resize_lock);
		spin_lock_init(&pool->lock);
		for (o = 0; o < NUMABUF_POOL_ORDERS; o++)
			INIT_LIST_HEAD(&pool->free_area[o]);
		for (o = 0; o < NUMABUF_POOL_CHUNK_ORDER_MAX; o++)
			INIT_LIST_HEAD(&pool->tail_area[o]);
		INIT_LIST_HEAD(&pool->regions);
		xa_init(&pool->units);
		INIT_LIST_HEAD(&pool->dirty);
		INIT_WORK(&pool->zero_work, numabuf_pool_zero_work);
		numabuf_pools[node] = pool;
	}

	if (pools && *pools) {
		spec = kstrdup(pools, GFP_KERNEL);
		if (!spec) {
			ret = -ENOMEM;
			goto err;
		}
		ret = numabuf_pools_parse(spec);
		kfree(spec);
		if (ret)
			goto err;
	}
	return 0;
err:
	numabuf_pool_exit();
	return ret;
}
