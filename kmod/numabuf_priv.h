/* SPDX-License-Identifier: GPL-2.0 */
/*
 * numabuf internals shared by the module's files.
 */
#ifndef NUMABUF_PRIV_H
#define NUMABUF_PRIV_H

#include <linux/bits.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

struct numabuf_region;

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

/*
 * Largest buffer: the mmap offset space of one handle.  What a node can
 * give is the real limit.
 */
#define NUMABUF_MAX_BYTES	BIT_ULL(NUMABUF_OFFSET_SHIFT)

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
 * @source:	NUMABUF_SOURCE_* the memory came from
 * @pool_region: with NUMABUF_SOURCE_POOL, the pool region of the memory
 * @pool_link:	on the pool's list of memory to zero, after the release
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
	u32 source;
	struct numabuf_region *pool_region;
	struct list_head pool_link;
};

/**
 * struct numabuf_pool_stat - a node's pool as numabuf_pool_get() reads it
 * @target:	bytes the pool should hold
 * @bytes:	bytes it holds, free or in buffers
 * @free:	bytes free, including memory still being zeroed
 * @largest:	largest block free now
 */
struct numabuf_pool_stat {
	u64 target;
	u64 bytes;
	u64 free;
	u64 largest;
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

/* alloc.c */
int numabuf_alloc_init(void);
void numabuf_alloc_exit(void);
struct page *numabuf_pages_alloc(unsigned long nr_pages, int node, gfp_t gfp);
void numabuf_pages_free(struct page *page, unsigned long nr_pages);
struct page *numabuf_range_alloc(unsigned long nr_pages, unsigned long align,
				 int node);
int numabuf_mem_alloc(struct numabuf_buf *buf, int node, u32 flags);
bool numabuf_mem_free(struct numabuf_buf *buf);

/* pool.c */
int numabuf_pool_init(void);
void numabuf_pool_exit(void);
int numabuf_pool_alloc(struct numabuf_buf *buf, int node, bool only);
void numabuf_pool_free(struct numabuf_buf *buf);
int numabuf_pool_resize(int node, u64 bytes);
void numabuf_pool_get(int node, struct numabuf_pool_stat *st);

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
void numabuf_stats_alloc(int node, u32 source, int ret);
void numabuf_stats_init(void);
void numabuf_stats_exit(void);

/* dev.c */
struct numabuf_buf *numabuf_file_get(struct numabuf_file *nf,
				     unsigned long handle);
int numabuf_dev_register(void);
void numabuf_dev_unregister(void);

#endif /* NUMABUF_PRIV_H */
