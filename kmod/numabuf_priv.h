/* SPDX-License-Identifier: GPL-2.0 */
/*
 * numabuf internals shared by the module's files.
 */
#ifndef NUMABUF_PRIV_H
#define NUMABUF_PRIV_H

#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

/*
 * Each handle owns 1 TiB of the file's mmap offset space: the offset of a
 * buffer is its handle shifted left by NUMABUF_OFFSET_SHIFT, so an mmap()
 * finds its buffer without a search.  Handles stay below 2^20, which keeps
 * every offset below 2^60 and inside a signed off_t.
 */
#define NUMABUF_OFFSET_SHIFT	40
#define NUMABUF_HANDLE_MAX	((1U << 20) - 1)
#define NUMABUF_PGOFF_SHIFT	(NUMABUF_OFFSET_SHIFT - PAGE_SHIFT)
#define NUMABUF_PGOFF_MASK	((1UL << NUMABUF_PGOFF_SHIFT) - 1)

/* Largest block the buddy allocator hands out (4 MiB on x86-64). */
#define NUMABUF_BUDDY_MAX_BYTES	((u64)MAX_ORDER_NR_PAGES << PAGE_SHIFT)

/**
 * struct numabuf_charge - what a buffer's memory is charged to
 * @uid:	user charged against the max_bytes / max_user_bytes caps
 * @bytes:	bytes charged
 * @user:	user charged for RLIMIT_MEMLOCK, NULL with CAP_IPC_LOCK
 * @mm:		process whose pinned_vm (VmPin) is charged
 */
struct numabuf_charge {
	kuid_t uid;
	u64 bytes;
	struct user_struct *user;
	struct mm_struct *mm;
};

/**
 * struct numabuf_buf - one physically contiguous buffer
 * @ref:	held by the handle in its file and by every VMA mapping it
 * @page:	first page; the buffer is @nr_pages pages from here, each an
 *		order-0 page with its own refcount so get_user_pages works
 * @nr_pages:	pages in the buffer
 * @node:	node of the memory
 * @flags:	NUMABUF_F_* given at allocation
 * @offset:	mmap offset (handle << NUMABUF_OFFSET_SHIFT)
 * @map_count:	VMAs mapping the buffer, in any process
 * @charge:	limits the memory is charged to
 */
struct numabuf_buf {
	struct kref ref;
	struct page *page;
	unsigned long nr_pages;
	int node;
	u32 flags;
	u64 offset;
	atomic_t map_count;
	struct numabuf_charge charge;
};

/**
 * struct numabuf_file - one open file of /dev/numabuf
 * @bufs:	handle -> struct numabuf_buf, handles from 1; each entry
 *		holds a reference on its buffer
 * @next_handle: where the cyclic handle allocator looks next, so that a
 *		freed handle (and its mmap offset) is not reused at once
 */
struct numabuf_file {
	struct xarray bufs;
	u32 next_handle;
};

static inline u64 numabuf_buf_bytes(const struct numabuf_buf *buf)
{
	return (u64)buf->nr_pages << PAGE_SHIFT;
}

/* account.c */
int numabuf_charge(struct numabuf_charge *c, u64 bytes);
void numabuf_uncharge(struct numabuf_charge *c);

/* buf.c */
int numabuf_buf_create(u64 bytes, int node, u32 flags,
		       struct numabuf_buf **bufp);
void numabuf_buf_get(struct numabuf_buf *buf);
void numabuf_buf_put(struct numabuf_buf *buf);

/* mmap.c */
int numabuf_mmap(struct file *file, struct vm_area_struct *vma);

/* stats.c */
void numabuf_stats_add(int node, u64 bytes);
void numabuf_stats_sub(int node, u64 bytes);
void numabuf_stats_init(void);
void numabuf_stats_exit(void);

/* dev.c */
struct numabuf_buf *numabuf_file_get(struct numabuf_file *nf,
				     unsigned long handle);
int numabuf_dev_register(void);
void numabuf_dev_unregister(void);

#endif /* NUMABUF_PRIV_H */
