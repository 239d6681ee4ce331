/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels numabuf builds against lives here,
 * as a shim keyed on a feature macro named after what it tests.  The rest
 * of the module is written against the newest interface.
 */
#ifndef NUMABUF_COMPAT_H
#define NUMABUF_COMPAT_H

#include <linux/mm.h>
#include <linux/module.h>
#include <net/genetlink.h>

/*
 * The NUMABUF_HAVE_* macros come from the probes in Kbuild, which look at
 * the headers of the kernel being built against.
 */

/* vm_flags became read-only behind vm_flags_set()/_clear() in 6.3. */
#ifndef NUMABUF_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * NUMABUF_F_HUGE_MAP maps with PMD entries of VM_PFNMAP, which the core
 * handles (special bit, fork, get_user_pages refusing them) since the
 * huge pfnmap support of 6.12, keyed on this symbol; 6.1 never calls
 * ->huge_fault for such a VMA, so the flag is refused there.  The address
 * of such a buffer comes 2 MiB aligned from numabuf_get_unmapped_area().
 */
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
#define NUMABUF_HAVE_HUGE_MAP
/* mmap.c */
unsigned long numabuf_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags);
#else
#define numabuf_get_unmapped_area	NULL
#endif

static inline bool numabuf_huge_map_supported(void)
{
#ifdef NUMABUF_HAVE_HUGE_MAP
	return true;
#else
	return false;
#endif
}

/*
 * NUMABUF_F_WC and NUMABUF_F_UC change the memory type of the kernel's
 * linear mapping of a buffer (cache.c): set_memory_wc(), set_memory_uc()
 * and set_memory_wb(), exported on x86 only.  Elsewhere the flags are
 * refused with EOPNOTSUPP.
 */
#ifdef CONFIG_X86
#include <asm/set_memory.h>
#define NUMABUF_HAVE_SET_MEMORY_WC

static inline int numabuf_set_memory_wc(unsigned long addr, int numpages)
{
	return set_memory_wc(addr, numpages);
}

static inline int numabuf_set_memory_uc(unsigned long addr, int numpages)
{
	return set_memory_uc(addr, numpages);
}

static inline int numabuf_set_memory_wb(unsigned long addr, int numpages)
{
	return set_memory_wb(addr, numpages);
}
#else
static inline int numabuf_set_memory_wc(unsigned long addr, int numpages)
{
	return -EOPNOTSUPP;
}

static inline int numabuf_set_memory_uc(unsigned long addr, int numpages)
{
	return -EOPNOTSUPP;
}

static inline int numabuf_set_memory_wb(unsigned long addr, int numpages)
{
	return -EOPNOTSUPP;
}
#endif

static inline bool numabuf_cache_modes_supported(void)
{
#ifdef NUMABUF_HAVE_SET_MEMORY_WC
	return true;
#else
	return false;
#endif
}

/*
 * A dump's parsed request attributes: in struct genl_info since 6.7
 * (genl_info_dump()), in struct genl_dumpit_info itself before.
 */
static inline struct nlattr **numabuf_dump_attrs(struct netlink_callback *cb)
{
#ifdef NUMABUF_HAVE_GENL_INFO_DUMP
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * MODULE_IMPORT_NS() takes the namespace as a bare token up to 6.12 and
 * as a string from 6.13 on.  dma_buf_export() and the rest of the dma-buf
 * API are in the DMA_BUF namespace on both kernels.
 */
#ifdef NUMABUF_HAVE_IMPORT_NS_TOKEN
#define NUMABUF_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#else
#define NUMABUF_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#endif

#endif /* NUMABUF_COMPAT_H */
