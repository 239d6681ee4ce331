// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf buffer objects: where their memory comes from and how it goes.
 *
 * A buffer is a run of contiguous pages (alloc.c finds them), a reference
 * count, and what its memory is charged to.  Every live buffer is in
 * numabuf_bufs under a system-wide id, for the control plane.
 */
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/xarray.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

/*
 * id -> live buffer.  A buffer leaves before its memory goes, and readers
 * look at buffers only under the xarray's lock, so they need no reference.
 */
static DEFINE_XARRAY_ALLOC1(numabuf_bufs);
static u32 numabuf_next_id;

/**
 * numabuf_buf_create - allocate a zeroed, contiguous buffer
 * @bytes:	length, a multiple of PAGE_SIZE
 * @node:	a valid online node
 * @flags:	NUMABUF_F_*
 * @bufp:	the new buffer, holding one reference
 *
 * The memory is charged (numabuf_charge()) before it is allocated.
 *
 * Every failure is announced on the control plane's events group.
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
	if (!buf) {
		ret = -ENOMEM;
		goto err_event;
	}

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
	buf->pid = get_pid(task_tgid(current));
	get_task_comm(buf->comm, current);
	buf->created = ktime_get_real_ns();

	ret = xa_alloc_cyclic(&numabuf_bufs, &buf->id, buf, XA_LIMIT(1, U32_MAX),
			      &numabuf_next_id, GFP_KERNEL);
	if (ret < 0)
		goto err_mem;
	numabuf_stats_add(buf->node, bytes);
	numabuf_nl_buf_created(buf);

	*bufp = buf;
	return 0;

err_mem:
	put_pid(buf->pid);
	numabuf_uncharge(&buf->charge);
	if (numabuf_mem_free(buf))
		kfree(buf);
	goto err_event;
err_uncharge:
	numabuf_uncharge(&buf->charge);
err_free:
	kfree(buf);
err_event:
	numabuf_nl_alloc_failed(node, bytes, flags, ret);
	return ret;
}

void numabuf_buf_get(struct numabuf_buf *buf)
{
	kref_get(&buf->ref);
}

static void numabuf_buf_release(struct kref *ref)
{
	struct numabuf_buf *buf = container_of(ref, struct numabuf_buf, ref);

	xa_erase(&numabuf_bufs, buf->id);
	numabuf_nl_buf_freed(buf);
	put_pid(buf->pid);
	numabuf_stats_sub(buf->node, numabuf_buf_bytes(buf));
	numabuf_uncharge(&buf->charge);
	if (numabuf_mem_free(buf))
		kfree(buf);
}

void numabuf_buf_put(struct numabuf_buf *buf)
{
	kref_put(&buf->ref, numabuf_buf_release);
}

/* Buffers numabuf_bufs_walk() looks at per hold of the xarray's lock. */
#define NUMABUF_WALK_BATCH	256

/**
 * numabuf_bufs_walk - look at live buffers in the order of their ids
 * @id:		in: first id to look at; out: where to resume
 * @budget:	look at no more than this many buffers
 * @fn:		called under a spinlock for each buffer, may not sleep;
 *		nonzero (but not -EAGAIN) stops the walk
 * @arg:	passed to @fn
 *
 * The lock is held for NUMABUF_WALK_BATCH buffers at most, then dropped
 * (with a chance to reschedule) and the walk goes on after the last id it
 * looked at: allocations and frees wait for one batch at most, however
 * many buffers there are.  A buffer that comes below that id meanwhile is
 * not seen.  May sleep.
 *
 * Return: 0 when every buffer was seen; what @fn returned when nonzero,
 * *@id then the buffer it stopped at; -EAGAIN when @budget buffers were
 * looked at first, *@id then the next id to look at.
 */
int numabuf_bufs_walk(unsigned long *id, unsigned long budget,
		      int (*fn)(const struct numabuf_buf *buf, void *arg),
		      void *arg)
{
	unsigned long index = *id;
	struct numabuf_buf *buf;
	bool done = false;
	unsigned int n;
	int ret = 0;

	for (;;) {
		xa_lock(&numabuf_bufs);
		for (n = 0; n < NUMABUF_WALK_BATCH && budget; n++, budget--) {
			buf = xa_find(&numabuf_bufs, &index, ULONG_MAX,
				      XA_PRESENT);
			if (!buf) {
				done = true;
				break;
			}
			ret = fn(buf, arg);
			if (ret)
				break;
			index++;
		}
		xa_unlock(&numabuf_bufs);
		if (ret || done || !budget)
			break;
		cond_resched();
	}
	*id = index;
	if (ret)
		return ret;
	return done ? 0 : -EAGAIN;
}
