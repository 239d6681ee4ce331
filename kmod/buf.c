// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf buffer objects: where their memory comes from and how it goes.
 *
 * Buffers up to the buddy allocator's largest block are one high-order
 * allocation on the node, split into order-0 pages so that each page can be
 * mapped and pinned on its own; the pages past the rounded length are given
 * back at once.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

static struct page *numabuf_pages_alloc(unsigned long nr_pages, int node,
					bool strict)
{
	unsigned int order = get_order((size_t)nr_pages << PAGE_SHIFT);
	/*
	 * Not movable: these pages are pinned for their whole life.
	 * ACCOUNT: charged to the caller's memory cgroup.
	 * RETRY_MAYFAIL: reclaim and compact hard, but fail rather than call
	 * the OOM killer.  NOWARN: failure is an ordinary ENOMEM.
	 */
	gfp_t gfp = GFP_USER | __GFP_ACCOUNT | __GFP_ZERO | __GFP_RETRY_MAYFAIL |
		    __GFP_NOWARN;
	struct page *page;
	unsigned long i;

	if (strict)
		gfp |= __GFP_THISNODE;

	page = alloc_pages_node(node, gfp, order);
	if (!page)
		return NULL;

	split_page(page, order);
	for (i = nr_pages; i < (1UL << order); i++)
		__free_page(nth_page(page, i));

	return page;
}

static void numabuf_pages_free(struct page *page, unsigned long nr_pages)
{
	unsigned long i;

	/*
	 * Drops the allocation's reference only: a page still pinned by
	 * get_user_pages (O_DIRECT, RDMA, ...) goes when its pin is dropped.
	 */
	for (i = 0; i < nr_pages; i++)
		__free_page(nth_page(page, i));
}

/**
 * numabuf_buf_create - allocate a zeroed, contiguous buffer
 * @bytes:	length, a multiple of PAGE_SIZE, at most NUMABUF_BUDDY_MAX_BYTES
 * @node:	a valid online node
 * @flags:	NUMABUF_F_*
 * @bufp:	the new buffer, holding one reference
 *
 * The memory is charged (numabuf_charge()) before it is allocated.
 *
 * Return: 0, -EDQUOT or -ENOMEM when a limit is reached, or -ENOMEM when
 * the node (or with NUMABUF_F_PREFERRED, the system) has no free block
 * that large.
 */
int numabuf_buf_create(u64 bytes, int node, u32 flags,
		       struct numabuf_buf **bufp)
{
	bool strict = !(flags & NUMABUF_F_PREFERRED);
	struct numabuf_buf *buf;
	int ret;

	if (strict && !node_state(node, N_MEMORY))
		return -ENOMEM;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	ret = numabuf_charge(&buf->charge, bytes);
	if (ret)
		goto err_free;

	buf->nr_pages = bytes >> PAGE_SHIFT;
	buf->page = numabuf_pages_alloc(buf->nr_pages, node, strict);
	if (!buf->page) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

	kref_init(&buf->ref);
	buf->node = page_to_nid(buf->page);
	buf->flags = flags;
	atomic_set(&buf->map_count, 0);
	numabuf_stats_add(buf->node, bytes);

	*bufp = buf;
	return 0;

err_uncharge:
	numabuf_uncharge(&buf->charge);
err_free:
	kfree(buf);
	return ret;
}

void numabuf_buf_get(struct numabuf_buf *buf)
{
	kref_get(&buf->ref);
}

static void numabuf_buf_release(struct kref *ref)
{
	struct numabuf_buf *buf = container_of(ref, struct numabuf_buf, ref);

	numabuf_stats_sub(buf->node, numabuf_buf_bytes(buf));
	numabuf_pages_free(buf->page, buf->nr_pages);
	numabuf_uncharge(&buf->charge);
	kfree(buf);
}

void numabuf_buf_put(struct numabuf_buf *buf)
{
	kref_put(&buf->ref, numabuf_buf_release);
}
