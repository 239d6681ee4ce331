/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels numabuf builds against lives here,
 * as a shim keyed on a feature macro named after what it tests.  The rest
 * of the module is written against the newest interface.
 */
#ifndef NUMABUF_COMPAT_H
#define NUMABUF_COMPAT_H

#include <linux/mm.h>

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

#endif /* NUMABUF_COMPAT_H */
