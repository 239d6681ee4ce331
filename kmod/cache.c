// SPDX-License-Identifier: GPL-2.0
/*
 * Cache modes of a buffer's memory: NUMABUF_F_WC and NUMABUF_F_UC.
 *
 * On x86 one physical page must not be mapped with two memory types at
 * once: a write-back alias lets the CPU pull lines of the page into its
 * caches (speculatively, too) behind the back of a write-combining or
 * uncached mapping, and the architecture calls the result undefined.  The
 * kernel's linear mapping maps all RAM write-back, so a buffer whose CPU
 * mappings are WC or UC has its linear mapping set to the same type for as
 * long as it holds the memory: set_memory_wc() and set_memory_uc() (UC-,
 * as pgprot_noncached() maps it), which also record the type as the PAT
 * memtype of each page (the kernel then applies it to any PFN mapping of
 * the page, the NUMABUF_F_HUGE_MAP one included).  set_memory_wb()
 * restores both before the memory goes back where it came from, so that
 * the page allocator and the pools only ever hold write-back memory.
 *
 * The memory is zero when its type is set: the change flushes the caches
 * for the pages, so the zeroes are in memory, not in a line a later
 * write-back mapping could see stale.
 *
 * Architectures without set_memory_wc() refuse the flags (EOPNOTSUPP,
 * compat.h).
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

/*
 * Pages changed per call: each call flushes the TLBs of every CPU and the
 * caches for its pages; between calls the CPU may go to others.
 */
#define NUMABUF_CACHE_BATCH	4096UL

#define NUMABUF_F_CACHE		(NUMABUF_F_WC | NUMABUF_F_UC)

/**
 * numabuf_buf_pgprot - the protection of a CPU mapping of a buffer
 * @buf:	the buffer
 * @prot:	the protection the mapping would have (vma->vm_page_prot)
 *
 * For the module's own mmap() and for its dma-bufs'.
 *
 * Return: @prot with the cache mode of @buf.
 */
pgprot_t numabuf_buf_pgprot(const struct numabuf_buf *buf, pgprot_t prot)
{
	if (buf->flags & NUMABUF_F_WC)
		return pgprot_writecombine(prot);
	if (buf->flags & NUMABUF_F_UC)
		return pgprot_noncached(prot);
	return prot;
}

/* Linear mapping of pages [0, @nr) of @buf back to write-back. */
static int numabuf_cache_wb(struct numabuf_buf *buf, unsigned long nr)
{
	unsigned long addr = (unsigned long)page_address(buf->page);
	unsigned long done, n;
	int ret;

	for (done = 0; done < nr; done += n) {
		n = min(nr - done, NUMABUF_CACHE_BATCH);
		ret = numabuf_set_memory_wb(addr + done * PAGE_SIZE, n);
		if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

/**
 * numabuf_buf_cache_set - give the linear mapping of a buffer its type
 * @buf:	a buffer with its memory and flags, not yet visible to anyone
 *
 * Nothing to do unless NUMABUF_F_WC or NUMABUF_F_UC is set.
 *
 * Return: 0, or an errno from set_memory_*() (-ENOMEM, -EINVAL, -EBUSY)
 * with every page written back to write-back; -EOPNOTSUPP where the
 * kernel cannot change it.
 */
int numabuf_buf_cache_set(struct numabuf_buf *buf)
{
	unsigned long addr = (unsigned long)page_address(buf->page);
	unsigned long done, n;
	int ret = 0;

	if (!(buf->flags & NUMABUF_F_CACHE))
		return 0;
	for (done = 0; done < buf->nr_pages; done += n) {
		n = min(buf->nr_pages - done, NUMABUF_CACHE_BATCH);
		if (buf->flags & NUMABUF_F_WC)
			ret = numabuf_set_memory_wc(addr + done * PAGE_SIZE, n);
		else
			ret = numabuf_set_memory_uc(addr + done * PAGE_SIZE, n);
		if (ret)
			break;
		cond_resched();
	}
	if (!ret)
		return 0;
	/*
	 * The failed call may have changed part of its batch: restore that
	 * too.  The pages were split when their type was set, so this needs
	 * no memory and does not fail.
	 */
	if (ret != -EOPNOTSUPP)
		numabuf_cache_wb(buf, done + n);
	return ret;
}

/**
 * numabuf_buf_cache_restore - linear mapping of a buffer back to write-back
 * @buf:	a buffer about to give its memory back; every page is back
 *
 * Return: 0, or an errno when the mapping could not be restored: the
 * memory must then not be reused (the caller keeps it out of use).  The
 * mapping of each page was split to 4 KiB entries when its type was set,
 * so restoring it allocates nothing and is not expected to fail.
 */
int numabuf_buf_cache_restore(struct numabuf_buf *buf)
{
	int ret;

	if (!(buf->flags & NUMABUF_F_CACHE))
		return 0;
	ret = numabuf_cache_wb(buf, buf->nr_pages);
	if (ret)
		pr_err("numabuf: cannot make %lu pages from pfn %#lx write-back again (%d); they are kept out of use\n",
		       buf->nr_pages, page_to_pfn(buf->page), ret);
	return ret;
}
