// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf buffer objects: where their memory comes from and how it goes.
 *
 * A buffer is a run of contiguous pages (alloc.c finds them), a reference
 * count, and what its memory is charged to.
 */
#include <linux/slab.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

/**
 * numabuf_buf_create - allocate a zeroed, contiguous buffer
 * @bytes:	length, a multiple of PAGE_SIZE
 * @node:	a valid online node
 * @flags:	NUMABUF_F_*
 * @bufp:	the new buffer, holding one reference
 *
 * The memory is charged (numabuf_charge()) before it is allocated.
 *
 * Return: 0, -EDQUOT or -ENOMEM when a limit is reached, -ENOMEM when
 * the node (or with NUMABUF_F_PREFERRED, the system) has no free block
 * that large, -EINTR when the caller was killed while waiting for one.
 */
int numabuf_buf_create(u64 bytes, int node, u32 flags,
		       struct numabuf_buf **bufp)
{
	struct numabuf_buf *buf;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	ret = numabuf_charge(&buf->charge, bytes);
	if (ret)
		goto err_free;

	buf->nr_pages = bytes >> PAGE_SHIFT;
	ret = numabuf_mem_alloc(buf, node, flags);
	if (ret)
		goto err_uncharge;

	kref_init(&buf->ref);
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
	numabuf_uncharge(&buf->charge);
	if (numabuf_mem_free(buf))
		kfree(buf);
}

void numabuf_buf_put(struct numabuf_buf *buf)
{
	kref_put(&buf->ref, numabuf_buf_release);
}
