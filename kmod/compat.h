/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels numabuf builds against lives here,
 * as a shim keyed on a feature macro named after what it tests.  The rest
 * of the module is written against the newest interface.
 */
#ifndef NUMABUF_COMPAT_H
#define NUMABUF_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

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
 * NUMABUF_F_HUGE_MAP needs ->huge_fault(vmf, order) (6.6) to be called for
 * a VM_PFNMAP mapping of a driver, and thp_get_unmapped_area() to align
 * the address of any file: measured on 6.12; 6.1 never calls ->huge_fault
 * for such a VMA, so the flag is refused there.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define NUMABUF_HAVE_HUGE_MAP	1
#define numabuf_get_unmapped_area	thp_get_unmapped_area
#else
#define numabuf_get_unmapped_area	NULL
#endif

#endif /* NUMABUF_COMPAT_H */
