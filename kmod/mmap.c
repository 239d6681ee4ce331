// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping numabuf buffers into user space.
 *
 * A mapping is made of the buffer's own struct pages, inserted as ordinary
 * 4 KiB entries when mmap() is called, so the first touch takes no fault and
 * get_user_pages() (O_DIRECT, io_uring, RDMA, VFIO) accepts the memory.  The
 * fault handler only refills entries that something zapped afterwards
 * (madvise(MADV_DONTNEED), for one).
 *
 * Each VMA holds a reference on its buffer; fork() duplicates the VMA, so a
 * child shares the memory and keeps it alive until it unmaps it.
 *
 * A NUMABUF_F_HUGE_MAP buffer is mapped as VM_PFNMAP instead, with nothing
 * inserted at mmap() time: the first touch of each 2 MiB stretch whose
 * address and physical block are both 2 MiB aligned inserts one PMD entry,
 * any other touch one 4 KiB entry.  get_user_pages() refuses such a
 * mapping.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pfn_t.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

/* Pages handed to vm_insert_pages() per call: 512 bytes of stack. */
#define NUMABUF_INSERT_BATCH	64

static void numabuf_vm_open(struct vm_area_struct *vma)
{
	struct numabuf_buf *buf = vma->vm_private_data;

	numabuf_buf_get(buf);
	atomic_inc(&buf->map_count);
}

static void numabuf_vm_close(struct vm_area_struct *vma)
{
	struct numabuf_buf *buf = vma->vm_private_data;

	atomic_dec(&buf->map_count);
	numabuf_buf_put(buf);
}

static vm_fault_t numabuf_vm_fault(struct vm_fault *vmf)
{
	struct numabuf_buf *buf = vmf->vma->vm_private_data;
	pgoff_t idx = vmf->pgoff - (buf->offset >> PAGE_SHIFT);

	if (idx >= buf->nr_pages)
		return VM_FAULT_SIGBUS;

	vmf->page = nth_page(buf->page, idx);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct numabuf_vm_ops = {
	.open = numabuf_vm_open,
	.close = numabuf_vm_close,
	.fault = numabuf_vm_fault,
};

#ifdef NUMABUF_HAVE_HUGE_MAP
/* Page index in @buf of user address @addr of @vma. */
static unsigned long numabuf_vma_idx(struct vm_area_struct *vma,
				     struct numabuf_buf *buf,
				     unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT) -
	       (buf->offset >> PAGE_SHIFT);
}

static vm_fault_t numabuf_pfn_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct numabuf_buf *buf = vma->vm_private_data;
	unsigned long idx = numabuf_vma_idx(vma, buf, vmf->address);

	if (idx >= buf->nr_pages)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
			      page_to_pfn(buf->page) + idx);
}

static vm_fault_t numabuf_pfn_huge_fault(struct vm_fault *vmf,
					 unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct numabuf_buf *buf = vma->vm_private_data;
	unsigned long haddr = vmf->address & PMD_MASK;
	unsigned long idx, pfn;

	if (order != PMD_ORDER)
		return VM_FAULT_FALLBACK;
	if (haddr < vma->vm_start || vma->vm_end - haddr < PMD_SIZE)
		return VM_FAULT_FALLBACK;
	idx = numabuf_vma_idx(vma, buf, haddr);
	if (idx >= buf->nr_pages || buf->nr_pages - idx < PTRS_PER_PMD)
		return VM_FAULT_FALLBACK;
	pfn = page_to_pfn(buf->page) + idx;
	if (!IS_ALIGNED(pfn, PTRS_PER_PMD))
		return VM_FAULT_FALLBACK;
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn),
				  vmf->flags & FAULT_FLAG_WRITE);
}

static const struct vm_operations_struct numabuf_pfn_vm_ops = {
	.open = numabuf_vm_open,
	.close = numabuf_vm_close,
	.fault = numabuf_pfn_fault,
	.huge_fault = numabuf_pfn_huge_fault,
};

/*
 * A NUMABUF_F_HUGE_MAP buffer gets an address congruent to its offset
 * modulo 2 MiB, so that its PMD entries line up; any other mapping the
 * address it always got.
 */
unsigned long numabuf_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags)
{
	struct numabuf_file *nf = file->private_data;
	struct numabuf_buf *buf;
	bool huge;

	buf = numabuf_pgoff_buf(nf, pgoff, NULL);
	huge = buf && (buf->flags & NUMABUF_F_HUGE_MAP);
	if (buf)
		numabuf_buf_put(buf);
	if (huge)
		return thp_get_unmapped_area(file, addr, len, pgoff, flags);
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
}
#endif

/**
 * numabuf_pgoff_buf - the buffer an mmap offset names
 * @nf:		the open file
 * @pgoff:	the offset in pages
 * @first:	if not NULL, set to the page of the buffer at @pgoff
 *
 * An offset below 2^40 is a compat task's (handle << 32), any other one
 * handle << 40; the buffer must have been given that very kind of offset.
 *
 * Return: the buffer with a new reference, or NULL.
 */
struct numabuf_buf *numabuf_pgoff_buf(struct numabuf_file *nf,
				      unsigned long pgoff,
				      unsigned long *first)
{
	unsigned int shift = NUMABUF_PGOFF_SHIFT;
	struct numabuf_buf *buf;
	unsigned long base;

	if (!(pgoff >> NUMABUF_PGOFF_SHIFT))
		shift = NUMABUF_COMPAT_OFFSET_SHIFT - PAGE_SHIFT;
	base = pgoff >> shift << shift;
	buf = numabuf_file_get(nf, pgoff >> shift);
	if (!buf)
		return NULL;
	if (buf->offset >> PAGE_SHIFT != base) {
		numabuf_buf_put(buf);
		return NULL;
	}
	if (first)
		*first = pgoff - base;
	return buf;
}

/*
 * Insert the pages of @vma, from page @first of @buf on, a batch at a time
 * (mmap() of /dev/numabuf and of a buffer's dma-bufs).  A buffer of 1 GiB is
 * 262,144 entries: the loop yields the CPU between batches and ends with
 * -EINTR as soon as the caller is killed; the core then unmaps whatever
 * was inserted (mmap_region() zaps a VMA whose ->mmap failed).
 */
int numabuf_insert_pages(struct vm_area_struct *vma, struct numabuf_buf *buf,
			 unsigned long first)
{
	struct page *pages[NUMABUF_INSERT_BATCH];
	unsigned long addr = vma->vm_start;
	unsigned long left = vma_pages(vma);
	unsigned long i, n, num;
	int ret;

	while (left) {
		n = min_t(unsigned long, left, NUMABUF_INSERT_BATCH);
		for (i = 0; i < n; i++)
			pages[i] = nth_page(buf->page, first + i);
		num = n;
		ret = vm_insert_pages(vma, addr, pages, &num);
		if (ret)
			return ret;
		addr += n << PAGE_SHIFT;
		first += n;
		left -= n;
		if (!left)
			break;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

int numabuf_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct numabuf_file *nf = file->private_data;
	unsigned long npages = vma_pages(vma);
	unsigned long first;
	struct numabuf_buf *buf;
	int ret;

	/* Device memory is shared by definition; a private COW copy is not. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;

	buf = numabuf_pgoff_buf(nf, vma->vm_pgoff, &first);
	if (!buf)
		return -ENXIO;

	if (first >= buf->nr_pages || npages > buf->nr_pages - first) {
		ret = -EINVAL;
		goto err_put;
	}

	/* NUMABUF_F_WC / _UC: the type the linear mapping has too. */
	vma->vm_page_prot = numabuf_buf_pgprot(buf, vma->vm_page_prot);

#ifdef NUMABUF_HAVE_HUGE_MAP
	if (buf->flags & NUMABUF_F_HUGE_MAP) {
		/*
		 * VM_HUGEPAGE: mainline 6.12's fault path asks ->huge_fault
		 * only if THP is "always", or "madvise" and the VMA has it
		 * (what madvise(MADV_HUGEPAGE) would set):
		 * __thp_vma_allowable_orders() with TVA_ENFORCE_SYSFS.  With
		 * "never" it maps 4 KiB entries through ->fault.
		 */
		vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND |
			     VM_DONTDUMP | VM_HUGEPAGE);
		vm_flags_clear(vma, VM_MAYEXEC);
		vma->vm_private_data = buf;
		vma->vm_ops = &numabuf_pfn_vm_ops;
		atomic_inc(&buf->map_count);
		return 0;
	}
#endif

	vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);

	/*
	 * On failure the core unmaps whatever was inserted; vm_ops is set
	 * only on success so that no close() can run for a failed mmap.
	 */
	ret = numabuf_insert_pages(vma, buf, first);
	if (ret)
		goto err_put;

	vma->vm_private_data = buf;
	vma->vm_ops = &numabuf_vm_ops;
	/* The lookup's reference becomes the VMA's. */
	atomic_inc(&buf->map_count);
	return 0;

err_put:
	numabuf_buf_put(buf);
	return ret;
}
