// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: numabuf's methods.  numabuf-pool and numabuf from the
 * node's pool and from the general allocator (buddy pages up to 4 MiB,
 * ranges above), numabuf-pool-huge and numabuf-huge the same with PMD
 * mappings, each through libnumabuf (ALLOC + mmap ... munmap + FREE);
 * ioctl-pool and ioctl-general time NUMABUF_IOC_ALLOC alone.  The pool is
 * raised for the run and given back after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

/* How long a pool may take to have a freed block back (zeroing). */
#define POOL_WAIT_NS	(30ULL * 1000000000ULL)

static int open_ctx(struct bench *b, char *why)
{
	if (b->ctx)
		return 0;
	if (b->ctx_err)
		goto fail;
	b->ctx_err = numabuf_open(&b->ctx);
	if (!b->ctx_err)
		return 0;
fail:
	set_reason(why, REASON_LEN, "cannot open the device: %s (%s)",
		   errname(b->ctx_err), strerror(-b->ctx_err));
	return b->ctx_err;
}

static int pool_ioctl(struct bench *b, unsigned long req,
		      struct numabuf_pool *p, uint64_t target)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->node = b->node;
	p->target = target;
	return ioctl(numabuf_fd(b->ctx), req, p) < 0 ? -errno : 0;
}

/*
 * Raise the node's pool to hold the largest size (never lower it), once,
 * for both pool methods.  The target before is restored by pool_teardown().
 */
static int pool_setup(struct bench *b, char *why)
{
	uint64_t need = 0, largest = 0;
	struct numabuf_pool p;
	unsigned int i;
	int err;

	if (b->pool_ready)
		return 0;
	if (b->pool_err)
		goto fail;
	err = open_ctx(b, b->pool_why);
	if (err) {
		b->pool_err = err;
		goto fail;
	}
	for (i = 0; i < b->nsizes; i++)
		if (b->sizes[i] > largest)
			largest = b->sizes[i];
	need = round_up(largest, b->page_size);

	err = pool_ioctl(b, NUMABUF_IOC_POOL_GET, &b->pool_before, 0);
	if (err) {
		set_reason(b->pool_why, REASON_LEN,
			   "NUMABUF_IOC_POOL_GET: %s (%s)%s", errname(err),
			   strerror(-err), err == -ENOTTY ?
			   ": the module has no pools" : "");
		b->pool_err = err;
		goto fail;
	}
	if (b->pool_before.target < need) {
		err = pool_ioctl(b, NUMABUF_IOC_POOL_SET, &p, need);
		if (err) {
			char sz[SIZE_STRLEN];

			fmt_size(need, sz, sizeof(sz));
			set_reason(b->pool_why, REASON_LEN,
				   "NUMABUF_IOC_POOL_SET %s on node %d: %s (%s)%s",
				   sz, b->node, errname(err), strerror(-err),
				   err == -EPERM ? ": needs CAP_SYS_ADMIN" : "");
			b->pool_err = err;
			goto fail;
		}
		b->pool_set = true;
	}
	if (pool_ioctl(b, NUMABUF_IOC_POOL_GET, &b->pool_during, 0))
		b->pool_during = b->pool_before;
	b->pool_ready = true;
	return 0;
fail:
	snprintf(why, REASON_LEN, "%s", b->pool_why);
	return b->pool_err;
}

void pool_teardown(struct bench *b)
{
	struct numabuf_pool p;
	int err;

	if (!b->pool_set)
		return;
	err = pool_ioctl(b, NUMABUF_IOC_POOL_SET, &p, b->pool_before.target);
	if (err) {
		fprintf(stderr, "%s: cannot restore node %d's pool target to "
			"%" PRIu64 " bytes: %s\n", prog, b->node,
			(uint64_t)b->pool_before.target, strerror(-err));
		b->pool_restore_failed = true;
	}
	b->pool_set = false;
}

/*
 * A freed pool block may come back only once it is zeroed.  Wait (not
 * timed as part of the cycle, but reported) until the pool can give
 * @size again.
 */
uint64_t pool_wait(struct bench *b, uint64_t size)
{
	uint64_t start = mono_ns(), want = round_up(size, b->page_size);
	struct numabuf_pool p;

	for (;;) {
		if (pool_ioctl(b, NUMABUF_IOC_POOL_GET, &p, 0) ||
		    p.largest_free >= want)
			break;
		if (mono_ns() - start > POOL_WAIT_NS || stop)
			break;
		usleep(100);
	}
	return mono_ns() - start;
}

/*
 * NUMABUF_F_NO_POOL for the general allocator.  A module that predates
 * pools refuses the flag (EINVAL); it has no pools either, so flags 0 is
 * the general allocator there, and the report says so.
 */
static int general_setup(struct bench *b, char *why)
{
	struct numabuf_alloc a;
	struct numabuf_free f;
	int err;

	err = open_ctx(b, why);
	if (err)
		return err;
	b->general_flags = NUMABUF_F_NO_POOL;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = NUMABUF_F_NO_POOL;
	a.length = b->page_size;
	a.node = b->node;
	if (ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_ALLOC, &a) < 0) {
		err = -errno;
		if (err != -EINVAL)
			return 0;	/* the sizes will show it */
		a.flags = 0;
		if (ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_ALLOC, &a) < 0)
			return 0;
		b->general_flags = 0;
		set_reason(b->general_note, REASON_LEN,
			   "the module refuses NUMABUF_F_NO_POOL (EINVAL): it "
			   "predates pools, so flags 0 is its general allocator");
	}
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.handle = a.handle;
	ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_FREE, &f);
	return 0;
}

static int nb_get(struct bench *b, uint64_t size, unsigned int flags,
		  struct mem *m)
{
	int err;

	err = numabuf_alloc(b->ctx, size, b->node, flags, &m->nb);
	if (err)
		return err;
	m->addr = numabuf_addr(m->nb);
	m->len = numabuf_size(m->nb);
	return 0;
}

static int pool_get(struct bench *b, uint64_t size, struct mem *m)
{
	return nb_get(b, size, NUMABUF_F_POOL, m);
}

static int general_get(struct bench *b, uint64_t size, struct mem *m)
{
	return nb_get(b, size, b->general_flags, m);
}

/* NUMABUF_F_HUGE_MAP: PMD entries filled in by the touch (6.12 on). */
static int pool_huge_get(struct bench *b, uint64_t size, struct mem *m)
{
	return nb_get(b, size, NUMABUF_F_POOL | NUMABUF_F_HUGE_MAP, m);
}

static int general_huge_get(struct bench *b, uint64_t size, struct mem *m)
{
	return nb_get(b, size, b->general_flags | NUMABUF_F_HUGE_MAP, m);
}

static void nb_put(struct bench *b, struct mem *m)
{
	(void)b;
	numabuf_free(m->nb);
}

/* NUMABUF_IOC_ALLOC alone: no mapping; FREE releases the memory at once. */
static int ioctl_get(struct bench *b, uint64_t size, unsigned int flags,
		     struct mem *m)
{
	struct numabuf_alloc a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.length = size;
	a.node = b->node;
	if (ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_ALLOC, &a) < 0)
		return -errno;
	m->handle = a.handle;
	m->len = a.length;
	return 0;
}

static int ioctl_pool_get(struct bench *b, uint64_t size, struct mem *m)
{
	return ioctl_get(b, size, NUMABUF_F_POOL, m);
}

static int ioctl_general_get(struct bench *b, uint64_t size, struct mem *m)
{
	return ioctl_get(b, size, b->general_flags, m);
}

static void ioctl_put(struct bench *b, struct mem *m)
{
	struct numabuf_free f;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.handle = m->handle;
	ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_FREE, &f);
}

/* Where the module says a buffer came from (INFO's @source). */
static const char *nb_source(struct bench *b, uint32_t handle)
{
	struct numabuf_info i;

	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	i.handle = handle;
	if (ioctl(numabuf_fd(b->ctx), NUMABUF_IOC_INFO, &i) < 0)
		return NULL;
	return source_name(i.source);
}

static const char *nb_mem_source(struct bench *b, const struct mem *m)
{
	return nb_source(b, numabuf_handle(m->nb));
}

static const char *ioctl_mem_source(struct bench *b, const struct mem *m)
{
	return nb_source(b, m->handle);
}

/*
 * Before each timed ALLOC of the ioctl-* methods: the same history for
 * every size.  Under TCG the first system call after a few milliseconds
 * of anything else (sleeping, spinning in user space, waiting for the
 * pool) costs 80-130 us more, whatever it does (QEMU resizes and flushes
 * its software TLB): measured with 4 KiB ALLOCs after a 200 ms pause.
 * Sizes that must wait for the pool to zero a freed block would pay that
 * and the others not.  So every timed ALLOC follows a pause and then
 * SETTLE_WARM untimed one-page ALLOC + FREE of the general allocator,
 * which leaves the pool alone.  (SETTLE_PAUSE_US, SETTLE_WARM: bench.h.)
 */
static void ioctl_settle(struct bench *b, const struct method *m)
{
	/* A pool method's warm-up must not split the pool's blocks. */
	unsigned int flags = m->uses_pool ? NUMABUF_F_NO_POOL : b->general_flags;
	struct mem w;
	int i;

	usleep(SETTLE_PAUSE_US);
	for (i = 0; i < SETTLE_WARM; i++) {
		memset(&w, 0, sizeof(w));
		if (!ioctl_get(b, b->page_size, flags, &w))
			ioctl_put(b, &w);
	}
}

/* ---- the methods --------------------------------------------------------- */

const struct method method_pool = {
	.name = "numabuf-pool",
	.what = "numabuf, NUMABUF_F_POOL: ALLOC + mmap + touch + munmap + FREE",
	.uses_pool = true,
	.setup = pool_setup,
	.get = pool_get,
	.put = nb_put,
	.source = nb_mem_source,
};

const struct method method_pool_huge = {
	.name = "numabuf-pool-huge",
	.what = "numabuf, NUMABUF_F_POOL | NUMABUF_F_HUGE_MAP (PMD entries, no get_user_pages): ALLOC + mmap + touch + munmap + FREE",
	.uses_pool = true,
	.setup = pool_setup,
	.get = pool_huge_get,
	.put = nb_put,
	.source = nb_mem_source,
};

const struct method method_ioctl_pool = {
	.name = "ioctl-pool",
	.what = "NUMABUF_IOC_ALLOC alone, NUMABUF_F_POOL (FREE not timed)",
	.alloc_only = true,
	.uses_pool = true,
	.setup = pool_setup,
	.get = ioctl_pool_get,
	.put = ioctl_put,
	.source = ioctl_mem_source,
	.settle = ioctl_settle,
};

const struct method method_general = {
	.name = "numabuf",
	.what = "numabuf, NUMABUF_F_NO_POOL: ALLOC + mmap + touch + munmap + FREE",
	.setup = general_setup,
	.get = general_get,
	.put = nb_put,
	.source = nb_mem_source,
};

const struct method method_general_huge = {
	.name = "numabuf-huge",
	.what = "numabuf, NUMABUF_F_NO_POOL | NUMABUF_F_HUGE_MAP (PMD entries, no get_user_pages): ALLOC + mmap + touch + munmap + FREE",
	.setup = general_setup,
	.get = general_huge_get,
	.put = nb_put,
	.source = nb_mem_source,
};

const struct method method_ioctl_general = {
	.name = "ioctl-general",
	.what = "NUMABUF_IOC_ALLOC alone, NUMABUF_F_NO_POOL (FREE not timed)",
	.alloc_only = true,
	.setup = general_setup,
	.get = ioctl_general_get,
	.put = ioctl_put,
	.source = ioctl_mem_source,
	.settle = ioctl_settle,
};
