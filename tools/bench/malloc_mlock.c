// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: malloc-mlock, ordinary memory made node-local and
 * resident: posix_memalign + mbind(MPOL_BIND) + mlock.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/mempolicy.h>

#include "bench.h"

/*
 * glibc raises its mmap threshold to the size of each mmapped block freed,
 * so from the second cycle on buffers of up to 32 MiB would come back from
 * the heap already faulted in.  Fixing the threshold at its initial value
 * (128 KiB) keeps every cycle alike: from 128 KiB a buffer is fresh pages
 * from mmap, below it heap memory that may be reused.
 */
static int malloc_setup(struct bench *b, char *why)
{
	(void)b;
	if (!mallopt(M_MMAP_THRESHOLD, 128 * 1024)) {
		set_reason(why, REASON_LEN, "mallopt(M_MMAP_THRESHOLD) failed");
		return -EINVAL;
	}
	return 0;
}

static int malloc_get(struct bench *b, uint64_t size, struct mem *m)
{
	void *p;
	int err;

	err = posix_memalign(&p, b->page_size, size);
	if (err)
		return -err;
	/* Pages already in place (reused heap) are not moved. */
	if (syscall(SYS_mbind, p, size, MPOL_BIND, b->nodemask,
		    MAX_NODES + 1, 0)) {
		err = -errno;
		goto err_free;
	}
	if (mlock(p, size)) {
		err = -errno;
		goto err_free;
	}
	m->addr = p;
	m->len = size;
	return 0;
err_free:
	free(p);
	return err;
}

static void malloc_put(struct bench *b, struct mem *m)
{
	(void)b;
	munlock(m->addr, m->len);
	free(m->addr);
}

const struct method method_malloc = {
	.name = "malloc-mlock",
	.what = "posix_memalign + mbind(MPOL_BIND) + mlock + touch + munlock + free (glibc mmap threshold fixed at 128 KiB: smaller buffers reuse heap pages)",
	.setup = malloc_setup,
	.get = malloc_get,
	.put = malloc_put,
};
