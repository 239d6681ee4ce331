/* SPDX-License-Identifier: GPL-2.0 */
/*
 * numabuf internals shared by the module's files.
 */
#ifndef NUMABUF_PRIV_H
#define NUMABUF_PRIV_H

#include <linux/bits.h>
#include <linux/dma-direction.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include <linux/numabuf.h>

struct device;
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
 * A 32-bit process passes mmap2() an offset in pages of 32 bits: offsets
 * below 2^44, which would leave it handles 1-15.  A buffer allocated by a
 * compat task (in_compat_syscall()) gets the offset handle << 32 instead,
 * from handles below 2^8: below 2^40, where no offset of the other kind
 * lies, so mmap() tells the two apart by the offset alone and checks that
 * it is the one ALLOC gave.  Such a buffer is at most 4 GiB, all that a
 * 32-bit process can map.
 */
#define NUMABUF_COMPAT_OFFSET_SHIFT	32
#define NUMABUF_COMPAT_HANDLE_MAX \
	((1U << (NUMABUF_OFFSET_SHIFT - NUMABUF_COMPAT_OFFSET_SHIFT)) - 1)
#define NUMABUF_COMPAT_MAX_BYTES	BIT_ULL(NUMABUF_COMPAT_OFFSET_SHIFT)

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
 * @pool:	the bytes count against the user's pool quota too
 */
struct numabuf_charge {
	kuid_t uid;
	u64 bytes;
	struct user_struct *user;
	struct mm_struct *mm;
	bool pool;
};

/**
 * struct numabuf_limits - the caps of account.c and what is held
 * @max_bytes:	bytes all buffers may hold, 0 for no cap
 * @max_user_bytes: bytes one user's buffers may hold, 0 for no cap
 * @total_bytes: bytes all buffers hold now
 */
struct numabuf_limits {
	u64 max_bytes;
	u64 max_user_bytes;
	u64 total_bytes;
};

/**
 * struct numabuf_buf - one physically contiguous buffer
 * @ref:	held by the handle in its file and by every VMA mapping it.
 *		When it drops to zero the buffer is released; it is destroyed
 *		(memory back, charges dropped, counters down) only once no
 *		one else holds any of its pages (see buf.c)
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
 * @held_link:	on the list of released buffers whose pages are still held
 * @scan_idx:	pages before this one are known to be back (refcount 1)
 * @clear_idx:	a pool buffer's pages before this one are zeroed again
 * @released:	the handle and every mapping are gone but pages are still
 *		held (a pipe, O_DIRECT in flight, a pin): still charged and
 *		counted, listed as released by the control plane
 * @id:		system-wide id, in numabuf_bufs (buf.c) while the buffer lives
 * @pid:	thread group of the allocating task
 * @comm:	command name of the allocating task
 * @created:	creation time, ns since the epoch
 * @attachments: struct numabuf_attachment of each device the buffer is
 *		mapped for (attach.c)
 * @attach_lock: taken by attach.c's writers, which hold its mutex, for the
 *		moment they change @attachments, so that readers walking
 *		buffers under the xarray's lock may read it (nested inside)
 * @nr_attach:	entries in @attachments
 * @dma_maps:	live DMA mappings of the memory, attachments and dma-buf
 *		importers' (numabuf_dma_map_attrs())
 * @dmabuf_lock: guards @dmabufs and their importers' attachments (dmabuf.c)
 * @dmabufs:	the buffer's live dma-bufs (NUMABUF_IOC_EXPORT); each holds
 *		a reference on the buffer
 * @exports:	live dma-bufs of the buffer, for the control plane
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
	struct list_head held_link;
	unsigned long scan_idx;
	unsigned long clear_idx;
	bool released;
	u32 id;
	struct pid *pid;
	char comm[TASK_COMM_LEN];
	u64 created;
	struct list_head attachments;
	spinlock_t attach_lock;	/* guards @attachments for readers */
	unsigned int nr_attach;
	atomic_t dma_maps;
	/* dmabuf.c */
	struct mutex dmabuf_lock;
	struct list_head dmabufs;
	atomic_t exports;
};

/**
 * struct numabuf_attachment - a buffer mapped for a device (ATTACH)
 * @buf_link:	on the buffer's list of attachments
 * @dev_link:	on attach.c's list of every attachment
 * @buf:	the buffer; the attachment ends before the buffer does
 * @dev:	the device, referenced
 * @dma_addr:	where the device sees the first byte
 * @name:	the device's name
 */
struct numabuf_attachment {
	struct list_head buf_link;
	struct list_head dev_link;
	struct numabuf_buf *buf;
	struct device *dev;
	u64 dma_addr;
	char name[NUMABUF_DEVICE_NAME_MAX];
};

/**
 * struct numabuf_pool_stat - a node's pool as numabuf_pool_get() reads it
 * @target:	bytes the pool should hold
 * @bytes:	bytes it holds, free or in buffers
 * @free:	bytes free, including memory still being zeroed
 * @largest:	largest block free now
 * @low:	low watermark, 0 for none
 */
struct numabuf_pool_stat {
	u64 target;
	u64 bytes;
	u64 free;
	u64 largest;
	u64 low;
};

/* Sources are numbered from 1 (NUMABUF_SOURCE_*). */
#define NUMABUF_NR_SOURCES	3

/**
 * struct numabuf_node_counters - a node's counters as stats.c keeps them
 * @buffers:	live buffers
 * @bytes:	bytes in live buffers
 * @allocs:	allocations by source (index NUMABUF_SOURCE_* - 1)
 * @fails:	failed attempts by source
 */
struct numabuf_node_counters {
	u64 buffers;
	u64 bytes;
	u64 allocs[NUMABUF_NR_SOURCES];
	u64 fails[NUMABUF_NR_SOURCES];
};

/**
 * struct numabuf_file - one open file of /dev/numabuf
 * @bufs:	handle -> struct numabuf_buf, handles from 1; each entry
 *		holds a reference on its buffer
 * @next_handle: where the cyclic handle allocator looks next, so that a
 *		freed handle (and its mmap offset) is not reused at once
 * @next_compat_handle: the same for compat tasks' buffers, whose handles
 *		are at most NUMABUF_COMPAT_HANDLE_MAX
 */
struct numabuf_file {
	struct xarray bufs;
	u32 next_handle;
	u32 next_compat_handle;
};

static inline u64 numabuf_buf_bytes(const struct numabuf_buf *buf)
{
	return (u64)buf->nr_pages << PAGE_SHIFT;
}

/* Do @nr_pages pages from @page all lie below 4 GiB (NUMABUF_F_DMA32)? */
static inline bool numabuf_below_4g(struct page *page, unsigned long nr_pages)
{
	return (u64)page_to_pfn(page) + nr_pages <= (SZ_4G >> PAGE_SHIFT);
}

/*
 * Attributes for a new DMA mapping of @buf's memory.  The first mapping
 * does the CPU cache maintenance; a mapping of memory that is mapped for
 * another device already skips it (the caches are the CPU's, not the
 * device's: the first one did it, and SYNC does it from then on), which
 * is also what tells the DMA API's debugging that the overlap is meant.
 */
static inline unsigned long numabuf_dma_map_attrs(struct numabuf_buf *buf)
{
	return atomic_read(&buf->dma_maps) ? DMA_ATTR_SKIP_CPU_SYNC : 0;
}

/* account.c */
int numabuf_charge(struct numabuf_charge *c, u64 bytes);
void numabuf_uncharge(struct numabuf_charge *c);
int numabuf_pool_charge(struct numabuf_charge *c);
void numabuf_pool_uncharge(struct numabuf_charge *c);
int numabuf_cgroup_check(bool range_or_pool);
void numabuf_limits_get(struct numabuf_limits *lim);
void numabuf_limits_set_max(u64 bytes);
void numabuf_limits_set_max_user(u64 bytes);

/* alloc.c */
int numabuf_alloc_init(void);
void numabuf_alloc_exit(void);
struct page *numabuf_pages_alloc(unsigned long nr_pages, int node, gfp_t gfp);
void numabuf_pages_free(struct page *page, unsigned long nr_pages);
struct page *numabuf_range_alloc(unsigned long nr_pages, unsigned long align,
				 int node, bool dma32);
int numabuf_mem_alloc(struct numabuf_buf *buf, int node, u32 flags);
void numabuf_mem_unalloc(struct numabuf_buf *buf);
bool numabuf_clear_pages(struct page *page, unsigned long first,
			 unsigned long nr_pages, unsigned long *done);

/* range.c */
int numabuf_range_permit(void);
void numabuf_range_exit(void);

/* pool.c */
int numabuf_pool_init(void);
void numabuf_pool_exit(void);
int numabuf_pool_alloc(struct numabuf_buf *buf, int node, u32 flags);
void numabuf_pool_unalloc(struct numabuf_buf *buf);
void numabuf_pool_free(struct numabuf_buf *buf, bool here);
int numabuf_pool_resize(int node, u64 bytes);
void numabuf_pool_get(int node, struct numabuf_pool_stat *st);
void numabuf_pool_set_low(int node, u64 bytes);

/* buf.c */
extern struct workqueue_struct *numabuf_wq;
int numabuf_buf_init(void);
void numabuf_buf_stop(void);
void numabuf_buf_exit(void);
int numabuf_buf_create(u64 bytes, int node, u32 flags,
		       struct numabuf_buf **bufp);
void numabuf_buf_get(struct numabuf_buf *buf);
void numabuf_buf_put(struct numabuf_buf *buf);
void numabuf_buf_destroy(struct numabuf_buf *buf);
int numabuf_bufs_walk(unsigned long *id, unsigned long budget,
		      int (*fn)(const struct numabuf_buf *buf, void *arg),
		      void *arg);

/* cache.c: NUMABUF_F_WC and NUMABUF_F_UC */
pgprot_t numabuf_buf_pgprot(const struct numabuf_buf *buf, pgprot_t prot);
int numabuf_buf_cache_set(struct numabuf_buf *buf);
int numabuf_buf_cache_restore(struct numabuf_buf *buf);

/* mmap.c */
struct numabuf_buf *numabuf_pgoff_buf(struct numabuf_file *nf,
				      unsigned long pgoff,
				      unsigned long *first);
int numabuf_mmap(struct file *file, struct vm_area_struct *vma);
int numabuf_insert_pages(struct vm_area_struct *vma, struct numabuf_buf *buf,
			 unsigned long first);

/* dmabuf.c, built where the kernel has dma-bufs */
struct dma_buf;
#ifdef CONFIG_DMA_SHARED_BUFFER
void numabuf_dmabuf_buf_init(struct numabuf_buf *buf);
struct dma_buf *numabuf_dmabuf_export(struct numabuf_buf *buf, bool rdonly);
void numabuf_dmabuf_sync(struct numabuf_buf *buf, u64 offset, u64 len,
			 enum dma_data_direction dir, bool for_cpu);
#else
static inline void numabuf_dmabuf_buf_init(struct numabuf_buf *buf)
{
	mutex_init(&buf->dmabuf_lock);
	INIT_LIST_HEAD(&buf->dmabufs);
	atomic_set(&buf->exports, 0);
}

static inline struct dma_buf *numabuf_dmabuf_export(struct numabuf_buf *buf,
						    bool rdonly)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void numabuf_dmabuf_sync(struct numabuf_buf *buf, u64 offset,
				       u64 len, enum dma_data_direction dir,
				       bool for_cpu)
{
}
#endif

/* stats.c */
void numabuf_stats_add(int node, u64 bytes);
void numabuf_stats_sub(int node, u64 bytes);
void numabuf_stats_alloc(int node, u32 source, int ret);
void numabuf_stats_node(int node, struct numabuf_node_counters *c);
void numabuf_stats_init(void);
void numabuf_stats_exit(void);

/* netlink.c */
int numabuf_nl_init(void);
void numabuf_nl_exit(void);
void numabuf_nl_buf_created(const struct numabuf_buf *buf);
void numabuf_nl_buf_freed(const struct numabuf_buf *buf);
void numabuf_nl_alloc_failed(int node, u64 bytes, u32 flags, int err);
void numabuf_nl_pool_low(int node);

/* attach.c */
bool numabuf_dma_reachable(struct device *dev, const struct numabuf_buf *buf);
int numabuf_attach_init(void);
void numabuf_attach_exit(void);
int numabuf_attach_add(struct numabuf_buf *buf, const char *name,
		       u64 *dma_addr);
int numabuf_attach_del(struct numabuf_buf *buf, const char *name);
void numabuf_attach_release(struct numabuf_buf *buf);
int numabuf_attach_sync(struct numabuf_buf *buf, u64 offset, u64 len,
			enum dma_data_direction dir, bool for_cpu);
void numabuf_nl_buf_attached(const struct numabuf_buf *buf,
			     const struct numabuf_attachment *a);
void numabuf_nl_buf_detached(const struct numabuf_buf *buf,
			     const struct numabuf_attachment *a, u32 reason);

/* dev.c */
struct numabuf_buf *numabuf_file_get(struct numabuf_file *nf,
				     unsigned long handle);
int numabuf_dev_register(void);
void numabuf_dev_unregister(void);

#endif /* NUMABUF_PRIV_H */
