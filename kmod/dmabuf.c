// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf export: how kernel drivers use a numabuf buffer.
 *
 * NUMABUF_IOC_EXPORT wraps a whole buffer in a dma-buf.  The dma-buf holds
 * a reference on the buffer, so the memory lives for as long as the
 * dma-buf does, whatever happens to the handle, the open file or the
 * process that exported it; the dma-buf core holds the module
 * (exp_info.owner) for as long.
 *
 * An importer's attachment gets its own scatterlist of the buffer's
 * contiguous memory: one entry, unless the importer's device takes shorter
 * segments (its max_segment_size, 64 KiB when the driver set none) or has
 * a segment boundary inside the buffer; then as many entries as those
 * limits need.  Mapping it for the device never lets the DMA API bounce
 * the buffer through swiotlb: a device that cannot reach the memory gets
 * -ERANGE.  mmap() of the dma-buf inserts the buffer's own pages at once,
 * as mmap() of /dev/numabuf does.
 *
 * Locking: the buffer's dmabuf_lock guards its list of dma-bufs, their
 * attachment lists and each attachment's mapped state.  The dma-buf core
 * calls map_dma_buf and unmap_dma_buf with the dma-buf's reservation lock
 * held (dma_buf_map_attachment_unlocked() takes it, on both kernels), so
 * the order is reservation lock, then dmabuf_lock; the CPU access hooks
 * and numabuf_dmabuf_sync() take dmabuf_lock alone.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

/*
 * Most segments in one importer's table: 64 GiB in the 64 KiB segments of
 * a device whose driver set no segment size, 32 MiB of scatterlist.
 */
#define NUMABUF_DMABUF_MAX_SEGS	BIT(20)

/**
 * struct numabuf_dmabuf - one dma-buf of a buffer
 * @buf:	the buffer, referenced until the dma-buf is released
 * @link:	in the buffer's @dmabufs list
 * @attachments: struct numabuf_dmabuf_attach of each importer
 * @rdonly:	exported with NUMABUF_EXPORT_RDONLY: no writable mmap()
 */
struct numabuf_dmabuf {
	struct numabuf_buf *buf;
	struct list_head link;
	struct list_head attachments;
	bool rdonly;
};

/**
 * struct numabuf_dmabuf_attach - one importer's attachment
 * @dev:	the importer's device
 * @sgt:	the buffer's memory, in segments the device accepts
 * @link:	in the dma-buf's @attachments list
 * @dir:	direction of the mapping, while @mapped
 * @mapped:	@sgt is mapped for @dev
 */
struct numabuf_dmabuf_attach {
	struct device *dev;
	struct sg_table sgt;
	struct list_head link;
	enum dma_data_direction dir;
	bool mapped;
};

void numabuf_dmabuf_buf_init(struct numabuf_buf *buf)
{
	mutex_init(&buf->dmabuf_lock);
	INIT_LIST_HEAD(&buf->dmabufs);
	atomic_set(&buf->exports, 0);
}

/*
 * Length of the segment at physical address @pos of the @left bytes that
 * remain: as long as the device's segment size and boundary allow.
 */
static u64 numabuf_dmabuf_seg_len(phys_addr_t pos, u64 left, u64 max_seg,
				  u64 boundary)
{
	u64 len = min(left, max_seg);
	u64 to_boundary = (~(u64)pos & boundary) + 1;

	/* Zero when the boundary mask covers all of u64: no boundary. */
	if (to_boundary)
		len = min(len, to_boundary);
	return len;
}

static int numabuf_dmabuf_sg_build(struct sg_table *sgt, struct device *dev,
				   const struct numabuf_buf *buf)
{
	u64 max_seg = dma_get_max_seg_size(dev) & PAGE_MASK;
	u64 boundary = dma_get_seg_boundary(dev);
	phys_addr_t pos = page_to_phys(buf->page);
	u64 left = numabuf_buf_bytes(buf), len;
	struct scatterlist *sg;
	unsigned int nents = 0;
	phys_addr_t p;
	u64 l;
	int ret;

	/* A page-sized segment at least; boundaries are page aligned. */
	max_seg = max_t(u64, max_seg, PAGE_SIZE);
	if (boundary < PAGE_SIZE - 1)
		return -EINVAL;

	for (p = pos, l = left; l; p += len, l -= len) {
		len = numabuf_dmabuf_seg_len(p, l, max_seg, boundary);
		if (++nents > NUMABUF_DMABUF_MAX_SEGS)
			return -E2BIG;
	}
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(sgt, sg, nents) {
		len = numabuf_dmabuf_seg_len(pos, left, max_seg, boundary);
		sg_set_page(sg, pfn_to_page(PHYS_PFN(pos)), len, 0);
		pos += len;
		left -= len;
	}
	return 0;
}

static int numabuf_dmabuf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;
	struct numabuf_buf *buf = nd->buf;
	struct numabuf_dmabuf_attach *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = numabuf_dmabuf_sg_build(&a->sgt, attach->dev, buf);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attach->dev;
	attach->priv = a;

	mutex_lock(&buf->dmabuf_lock);
	list_add_tail(&a->link, &nd->attachments);
	mutex_unlock(&buf->dmabuf_lock);
	return 0;
}

static void numabuf_dmabuf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;
	struct numabuf_buf *buf = nd->buf;
	struct numabuf_dmabuf_attach *a = attach->priv;

	mutex_lock(&buf->dmabuf_lock);
	list_del(&a->link);
	/* An importer that detaches while mapped leaves no mapping behind. */
	if (a->mapped) {
		dma_unmap_sgtable(a->dev, &a->sgt, a->dir, 0);
		atomic_dec(&buf->dma_maps);
	}
	mutex_unlock(&buf->dmabuf_lock);
	sg_free_table(&a->sgt);
	kfree(a);
}

static struct sg_table *numabuf_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct numabuf_dmabuf *nd = attach->dmabuf->priv;
	struct numabuf_dmabuf_attach *a = attach->priv;
	struct numabuf_buf *buf = nd->buf;
	int ret;

	if (!valid_dma_direction(dir))
		return ERR_PTR(-EINVAL);
	if (!numabuf_dma_reachable(a->dev, buf))
		return ERR_PTR(-ERANGE);

	mutex_lock(&buf->dmabuf_lock);
	if (a->mapped) {
		/* One mapping per attachment: its table is the attachment's. */
		ret = -EBUSY;
	} else {
		ret = dma_map_sgtable(a->dev, &a->sgt, dir,
				      numabuf_dma_map_attrs(buf));
		if (!ret) {
			a->dir = dir;
			a->mapped = true;
			atomic_inc(&buf->dma_maps);
		}
	}
	mutex_unlock(&buf->dmabuf_lock);
	return ret ? ERR_PTR(ret) : &a->sgt;
}

static void numabuf_dmabuf_unmap(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct numabuf_dmabuf *nd = attach->dmabuf->priv;
	struct numabuf_dmabuf_attach *a = attach->priv;
	struct numabuf_buf *buf = nd->buf;

	mutex_lock(&buf->dmabuf_lock);
	if (a->mapped && sgt == &a->sgt) {
		dma_unmap_sgtable(a->dev, &a->sgt, a->dir, 0);
		atomic_dec(&buf->dma_maps);
		a->mapped = false;
	}
	mutex_unlock(&buf->dmabuf_lock);
}

static void numabuf_dmabuf_release(struct dma_buf *dmabuf)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;
	struct numabuf_buf *buf = nd->buf;

	mutex_lock(&buf->dmabuf_lock);
	list_del(&nd->link);
	mutex_unlock(&buf->dmabuf_lock);
	atomic_dec(&buf->exports);
	kfree(nd);
	numabuf_buf_put(buf);
}

/*
 * Sync the bytes [@offset, @offset + @len) of the buffer in one mapped
 * attachment, segment by segment, with the direction of the mapping (the
 * DMA API wants the direction the memory was mapped with).
 */
static void numabuf_dmabuf_sync_one(struct numabuf_dmabuf_attach *a,
				    u64 offset, u64 len, bool for_cpu)
{
	struct scatterlist *sg;
	u64 pos = 0, end = offset + len;
	u64 seg_len, from, to;
	unsigned int i;

	for_each_sgtable_dma_sg(&a->sgt, sg, i) {
		seg_len = sg_dma_len(sg);
		from = max(offset, pos);
		to = min(end, pos + seg_len);
		if (from < to) {
			if (for_cpu)
				dma_sync_single_range_for_cpu(a->dev,
							      sg_dma_address(sg),
							      from - pos,
							      to - from, a->dir);
			else
				dma_sync_single_range_for_device(a->dev,
								 sg_dma_address(sg),
								 from - pos,
								 to - from,
								 a->dir);
		}
		pos += seg_len;
		if (pos >= end)
			break;
	}
}

/**
 * numabuf_dmabuf_sync - make a range coherent for every importer mapping
 * @buf:	the buffer
 * @offset:	first byte; the range must lie in the buffer
 * @len:	bytes, at least 1
 * @dir:	what the CPU does: DMA_TO_DEVICE it wrote (or will write),
 *		DMA_FROM_DEVICE it reads, DMA_BIDIRECTIONAL both
 * @for_cpu:	true before the CPU touches the memory (after the devices
 *		wrote), false before the devices do (after the CPU wrote)
 *
 * Every mapped attachment of every dma-buf of @buf is synced, each with
 * the direction it was mapped with, as the DMA API requires: @dir tells
 * what the CPU does, the mapping what the device does, and a sync in the
 * mapping's direction covers both.  A no-op on cache-coherent machines.
 */
void numabuf_dmabuf_sync(struct numabuf_buf *buf, u64 offset, u64 len,
			 enum dma_data_direction dir, bool for_cpu)
{
	struct numabuf_dmabuf_attach *a;
	struct numabuf_dmabuf *nd;

	if (!len || offset >= numabuf_buf_bytes(buf) ||
	    len > numabuf_buf_bytes(buf) - offset || !valid_dma_direction(dir))
		return;

	mutex_lock(&buf->dmabuf_lock);
	list_for_each_entry(nd, &buf->dmabufs, link)
		list_for_each_entry(a, &nd->attachments, link)
			if (a->mapped)
				numabuf_dmabuf_sync_one(a, offset, len,
							for_cpu);
	mutex_unlock(&buf->dmabuf_lock);
}

/* DMA_BUF_IOCTL_SYNC and kernel CPU access: the whole buffer. */
static int numabuf_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;

	numabuf_dmabuf_sync(nd->buf, 0, numabuf_buf_bytes(nd->buf), dir, true);
	return 0;
}

static int numabuf_dmabuf_end_cpu(struct dma_buf *dmabuf,
				  enum dma_data_direction dir)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;

	numabuf_dmabuf_sync(nd->buf, 0, numabuf_buf_bytes(nd->buf), dir,
			    false);
	return 0;
}

/*
 * A mapping of the dma-buf counts among the buffer's mappings (map_count);
 * the dma-buf's file, which the VMA holds, keeps the buffer alive.
 */
static void numabuf_dmabuf_vm_open(struct vm_area_struct *vma)
{
	struct numabuf_buf *buf = vma->vm_private_data;

	atomic_inc(&buf->map_count);
}

static void numabuf_dmabuf_vm_close(struct vm_area_struct *vma)
{
	struct numabuf_buf *buf = vma->vm_private_data;

	atomic_dec(&buf->map_count);
}

/* Only refills what something zapped (madvise(MADV_DONTNEED)). */
static vm_fault_t numabuf_dmabuf_vm_fault(struct vm_fault *vmf)
{
	struct numabuf_buf *buf = vmf->vma->vm_private_data;

	if (vmf->pgoff >= buf->nr_pages)
		return VM_FAULT_SIGBUS;
	vmf->page = nth_page(buf->page, vmf->pgoff);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct numabuf_dmabuf_vm_ops = {
	.open = numabuf_dmabuf_vm_open,
	.close = numabuf_dmabuf_vm_close,
	.fault = numabuf_dmabuf_vm_fault,
};

/* The core has checked that the range lies in the dma-buf. */
static int numabuf_dmabuf_mmap(struct dma_buf *dmabuf,
			       struct vm_area_struct *vma)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;
	struct numabuf_buf *buf = nd->buf;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (nd->rdonly) {
		/* The file is O_RDONLY, so the core refused this already. */
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	if (vma->vm_pgoff >= buf->nr_pages ||
	    vma_pages(vma) > buf->nr_pages - vma->vm_pgoff)
		return -EINVAL;

	vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_page_prot = numabuf_buf_pgprot(buf, vma->vm_page_prot);

	/* On failure the core unmaps whatever was inserted. */
	ret = numabuf_insert_pages(vma, buf, vma->vm_pgoff);
	if (ret)
		return ret;
	vma->vm_private_data = buf;
	vma->vm_ops = &numabuf_dmabuf_vm_ops;
	atomic_inc(&buf->map_count);
	return 0;
}

/*
 * The kernel's linear mapping of the memory (which the cache-mode flags
 * keep of the buffer's type): 64-bit kernels map all memory there.
 */
static int numabuf_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct numabuf_dmabuf *nd = dmabuf->priv;

	if (IS_ENABLED(CONFIG_HIGHMEM))
		return -EOPNOTSUPP;
	iosys_map_set_vaddr(map, page_address(nd->buf->page));
	return 0;
}

static const struct dma_buf_ops numabuf_dmabuf_ops = {
	.attach = numabuf_dmabuf_attach,
	.detach = numabuf_dmabuf_detach,
	.map_dma_buf = numabuf_dmabuf_map,
	.unmap_dma_buf = numabuf_dmabuf_unmap,
	.release = numabuf_dmabuf_release,
	.begin_cpu_access = numabuf_dmabuf_begin_cpu,
	.end_cpu_access = numabuf_dmabuf_end_cpu,
	.mmap = numabuf_dmabuf_mmap,
	.vmap = numabuf_dmabuf_vmap,
};

/**
 * numabuf_dmabuf_export - a dma-buf of a whole buffer
 * @buf:	the buffer; the dma-buf takes its own reference
 * @rdonly:	the dma-buf's file is O_RDONLY: its mmap() cannot write
 *
 * Return: the dma-buf, holding one file reference, or an ERR_PTR.
 */
struct dma_buf *numabuf_dmabuf_export(struct numabuf_buf *buf, bool rdonly)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct numabuf_dmabuf *nd;
	struct dma_buf *dmabuf;

	nd = kzalloc(sizeof(*nd), GFP_KERNEL);
	if (!nd)
		return ERR_PTR(-ENOMEM);
	nd->buf = buf;
	nd->rdonly = rdonly;
	INIT_LIST_HEAD(&nd->attachments);

	exp_info.owner = THIS_MODULE;
	exp_info.ops = &numabuf_dmabuf_ops;
	exp_info.size = numabuf_buf_bytes(buf);
	exp_info.flags = rdonly ? O_RDONLY : O_RDWR;
	exp_info.priv = nd;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		kfree(nd);
		return dmabuf;
	}

	/* Released by numabuf_dmabuf_release(). */
	numabuf_buf_get(buf);
	atomic_inc(&buf->exports);
	mutex_lock(&buf->dmabuf_lock);
	list_add_tail(&nd->link, &buf->dmabufs);
	mutex_unlock(&buf->dmabuf_lock);
	return dmabuf;
}
