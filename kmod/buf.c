// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf buffer objects: where their memory comes from and how it goes.
 *
 * A buffer is a run of contiguous pages (alloc.c finds them), a reference
 * count, and what its memory is charged to.  Every buffer is in
 * numabuf_bufs under a system-wide id, for the control plane, until it is
 * destroyed.
 *
 * A buffer's life: created (charged, counted, announced); referenced by
 * its handle and its mappings; released when the last of those goes;
 * destroyed when every page is back (uncharged, uncounted, announced as
 * freed).  Between release and destruction its pages may be held by
 * someone else, for as long as they like: the charges follow the pages,
 * not the handle.
 */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

/*
 * id -> buffer, from creation until it is destroyed.  A buffer leaves
 * before it is freed, and readers look at buffers only under the
 * xarray's lock, so they need no reference.  Its memory may be back in a
 * pool, and in another buffer, a moment before it leaves: readers use
 * the page pointer for its address only, never the memory.
 */
static DEFINE_XARRAY_ALLOC1(numabuf_bufs);
static u32 numabuf_next_id;

/*
 * Released buffers whose pages someone still holds, and the work that
 * looks at them every NUMABUF_HELD_POLL until every page is back.
 */
#define NUMABUF_HELD_POLL	(HZ / 5)
static LIST_HEAD(numabuf_held);
static DEFINE_SPINLOCK(numabuf_held_lock);
static void numabuf_held_scan(struct work_struct *work);
static DECLARE_DELAYED_WORK(numabuf_held_work, numabuf_held_scan);

/* The module's work: the held-page scan and the pools' zeroing. */
struct workqueue_struct *numabuf_wq;

int numabuf_buf_init(void)
{
	numabuf_wq = alloc_workqueue("numabuf", WQ_UNBOUND, 0);
	return numabuf_wq ? 0 : -ENOMEM;
}

/*
 * Every released buffer holds a reference on the module, so none is held
 * when the module goes; a scan may still be returning from its last
 * module_put(): wait for it, first thing at unload.  Then let the pools'
 * workers finish what killed freers left (nothing can queue more work
 * now), while the netlink family is still there for their events.
 */
void numabuf_buf_stop(void)
{
	cancel_delayed_work_sync(&numabuf_held_work);
	flush_workqueue(numabuf_wq);
}

void numabuf_buf_exit(void)
{
	destroy_workqueue(numabuf_wq);
}

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
 * that large, -EINTR when the caller was killed while waiting for one, or
 * what setting the memory type of NUMABUF_F_WC / _UC failed with.
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
	/* Reserved now, so that publishing the buffer below cannot fail. */
	ret = xa_alloc_cyclic(&numabuf_bufs, &buf->id, NULL,
			      XA_LIMIT(1, U32_MAX), &numabuf_next_id, GFP_KERNEL);
	if (ret < 0)
		goto err_free;

	ret = numabuf_charge(&buf->charge, bytes);
	if (ret)
		goto err_id;

	buf->nr_pages = bytes >> PAGE_SHIFT;
	ret = numabuf_mem_alloc(buf, node, flags);
	if (ret)
		goto err_uncharge;
	buf->flags = flags;
	ret = numabuf_buf_cache_set(buf);
	if (ret)
		goto err_unalloc;

	kref_init(&buf->ref);
	atomic_set(&buf->map_count, 0);
	INIT_LIST_HEAD(&buf->held_link);
	INIT_LIST_HEAD(&buf->attachments);
	spin_lock_init(&buf->attach_lock);
	numabuf_dmabuf_buf_init(buf);
	buf->pid = get_pid(task_tgid(current));
	get_task_comm(buf->comm, current);
	buf->created = ktime_get_real_ns();

	/* Replaces the reserved entry in place: no allocation, no failure. */
	xa_store(&numabuf_bufs, buf->id, buf, GFP_KERNEL);
	numabuf_stats_add(buf->node, bytes);
	numabuf_nl_buf_created(buf);

	*bufp = buf;
	return 0;

err_unalloc:
	numabuf_mem_unalloc(buf);
err_uncharge:
	numabuf_uncharge(&buf->charge);
err_id:
	xa_erase(&numabuf_bufs, buf->id);
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

/**
 * numabuf_buf_destroy - the end of a buffer whose memory is back
 * @buf:	the buffer; its memory is back where it came from (clean, for
 *		a pool)
 *
 * Only now are the charges dropped and the counters lowered: until every
 * page is back, the buffer's owner pays for it.
 */
void numabuf_buf_destroy(struct numabuf_buf *buf)
{
	xa_erase(&numabuf_bufs, buf->id);
	numabuf_nl_buf_freed(buf);
	put_pid(buf->pid);
	numabuf_stats_sub(buf->node, numabuf_buf_bytes(buf));
	numabuf_uncharge(&buf->charge);
	kfree(buf);
}

/*
 * Does anyone besides the buffer hold one of its pages?  Pages found back
 * (a reference count of 1, the buffer's own) stay back: once the handle
 * and the mappings are gone only an existing holder can take another
 * reference, and only on a page it holds already.  So each call resumes
 * where the last one stopped.
 */
static bool numabuf_buf_pages_held(struct numabuf_buf *buf)
{
	unsigned long i;

	for (i = buf->scan_idx; i < buf->nr_pages; i++) {
		if (page_ref_count(nth_page(buf->page, i)) != 1) {
			buf->scan_idx = i;
			return true;
		}
		if ((i & 4095) == 4095)
			cond_resched();
	}
	buf->scan_idx = buf->nr_pages;
	return false;
}

/*
 * Every page is back: return the memory where it came from.  @here: the
 * caller let the buffer go (else the held-page scan found it back).
 */
static void numabuf_buf_retire(struct numabuf_buf *buf, bool here)
{
	/*
	 * NUMABUF_F_WC / _UC memory is write-back again before anyone else
	 * can have it, and before a pool zeroes it.  Memory that cannot be
	 * is lost rather than reused with the wrong type (cache.c).
	 */
	if (numabuf_buf_cache_restore(buf)) {
		numabuf_buf_destroy(buf);
		return;
	}
	if (buf->source == NUMABUF_SOURCE_POOL) {
		/* The pool destroys the buffer once its memory is clean. */
		numabuf_pool_free(buf, here);
		return;
	}
	numabuf_pages_free(buf->page, buf->nr_pages);
	numabuf_buf_destroy(buf);
}

static void numabuf_held_scan(struct work_struct *work)
{
	struct numabuf_buf *buf, *tmp;
	LIST_HEAD(scan);
	bool again;

	spin_lock(&numabuf_held_lock);
	list_splice_init(&numabuf_held, &scan);
	spin_unlock(&numabuf_held_lock);

	list_for_each_entry_safe(buf, tmp, &scan, held_link) {
		if (numabuf_buf_pages_held(buf))
			continue;
		list_del_init(&buf->held_link);
		/*
		 * A pool buffer goes to its node's worker for zeroing; unload
		 * flushes that work (numabuf_buf_stop()).
		 */
		numabuf_buf_retire(buf, false);
		/* The buffer's reference. */
		module_put(THIS_MODULE);
	}

	spin_lock(&numabuf_held_lock);
	list_splice(&scan, &numabuf_held);
	again = !list_empty(&numabuf_held);
	spin_unlock(&numabuf_held_lock);
	if (again)
		queue_delayed_work(numabuf_wq, &numabuf_held_work,
				   NUMABUF_HELD_POLL);
}

/*
 * The last handle or mapping is gone.  Pages can outlive the buffer (a
 * pipe filled by vmsplice(), O_DIRECT in flight, any get_user_pages()
 * reference): then the buffer is set aside, still charged and counted,
 * and retired by numabuf_held_scan() once every page is back.  It holds
 * the module meanwhile.
 */
static void numabuf_buf_release(struct kref *ref)
{
	struct numabuf_buf *buf = container_of(ref, struct numabuf_buf, ref);

	/* No device may reach the memory past this point. */
	numabuf_attach_release(buf);
	if (!numabuf_buf_pages_held(buf)) {
		numabuf_buf_retire(buf, true);
		return;
	}
	__module_get(THIS_MODULE);
	WRITE_ONCE(buf->released, true);
	spin_lock(&numabuf_held_lock);
	list_add_tail(&buf->held_link, &numabuf_held);
	spin_unlock(&numabuf_held_lock);
	queue_delayed_work(numabuf_wq, &numabuf_held_work, NUMABUF_HELD_POLL);
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
