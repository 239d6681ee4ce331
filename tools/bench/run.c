// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: one method at one size.  One checking cycle (not timed:
 * the node of every page with move_pages(2), contiguity with
 * /proc/self/pagemap, and the buffer's source; it warms up too), then the
 * timed cycles: allocate + map, touch, free, each timed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "util.h"

/* Iterations above 4 MiB shrink in proportion to the size. */
#define ITER_FULL_SIZE	(4 * MIB)
#define TOUCH_STRIDE	4096

/* One byte written per 4 KiB page: what first use of a buffer costs. */
static void touch(void *addr, size_t len)
{
	volatile unsigned char *p = addr;
	size_t off;

	for (off = 0; off < len; off += TOUCH_STRIDE)
		p[off] = (unsigned char)(off >> 12);
}

static unsigned int iterations_for(const struct bench *b, uint64_t size)
{
	uint64_t n;

	if (size <= ITER_FULL_SIZE)
		return b->iterations;
	n = (uint64_t)b->iterations * ITER_FULL_SIZE / size;
	return n < b->min_iters ? b->min_iters : (unsigned int)n;
}

static void check_mem(struct bench *b, const struct method *m,
		      struct mem *mem, struct result *r)
{
	struct verify_result *vr = &r->vr;

	if (m->source)
		r->source = m->source(b, mem);
	if (m->alloc_only)
		return;

	r->vr_err = verify_buffer(mem->addr, mem->len, b->node, vr);
	if (r->vr_err) {
		r->contig = CHK_UNKNOWN;
		r->on_node = CHK_UNKNOWN;
		return;
	}
	if (vr->on_node == vr->pages)
		r->on_node = CHK_YES;
	else if (vr->other_node >= 0)
		r->on_node = CHK_NO;
	else
		r->on_node = CHK_UNKNOWN;
	r->contig = vr->contiguous < 0 ? CHK_UNKNOWN :
		    vr->contiguous ? CHK_YES : CHK_NO;
}

static void fail_result(struct result *r, int err, unsigned int cycle,
			unsigned int cycles)
{
	r->status = ST_FAILED;
	r->err = err;
	if (cycle)
		set_reason(r->reason, REASON_LEN, "%s (%s) at timed cycle %u of %u",
			   errname(err), strerror(-err), cycle, cycles);
	else
		set_reason(r->reason, REASON_LEN, "%s (%s)", errname(err),
			   strerror(-err));
}

void run_one(struct bench *b, const struct method *m, uint64_t size,
	     struct result *r)
{
	unsigned int i, n = iterations_for(b, size);
	uint64_t t0, t1, t2, t3;
	struct rusage ru0, ru1;
	struct samples s;
	long faults = 0;
	struct mem mem;
	int err;

	if (m->check_size) {
		err = m->check_size(b, size, r->reason);
		if (err) {
			r->status = ST_FAILED;
			r->err = err;
			return;
		}
	}

	if (samples_alloc(&s, n)) {
		fail_result(r, -ENOMEM, 0, n);
		return;
	}

	/* The checking cycle: not timed, warms up. */
	if (m->uses_pool)
		pool_wait(b, size);
	memset(&mem, 0, sizeof(mem));
	err = m->get(b, size, &mem);
	if (err) {
		fail_result(r, err, 0, n);
		goto out;
	}
	r->mapped = mem.len;
	if (!m->alloc_only)
		touch(mem.addr, mem.len);
	check_mem(b, m, &mem, r);
	m->put(b, &mem);

	for (i = 0; i < n && !stop; i++) {
		if (m->uses_pool)
			s.wait[i] = pool_wait(b, size);
		if (m->settle)
			m->settle(b, m);
		memset(&mem, 0, sizeof(mem));
		getrusage(RUSAGE_SELF, &ru0);
		t0 = mono_ns();
		err = m->get(b, size, &mem);
		t1 = mono_ns();
		if (err) {
			fail_result(r, err, i + 1, n);
			goto out;
		}
		if (!m->alloc_only)
			touch(mem.addr, mem.len);
		t2 = mono_ns();
		m->put(b, &mem);
		t3 = mono_ns();
		getrusage(RUSAGE_SELF, &ru1);
		faults += ru1.ru_minflt - ru0.ru_minflt;
		s.total[i] = m->alloc_only ? t1 - t0 : t3 - t0;
		s.get[i] = t1 - t0;
		s.touch[i] = t2 - t1;
		s.put[i] = t3 - t2;
	}
	if (!i) {
		r->status = ST_SKIPPED;
		set_reason(r->reason, REASON_LEN, "interrupted");
		goto out;
	}
	r->status = ST_OK;
	r->iters = i;
	if (i < n)
		set_reason(r->reason, REASON_LEN,
			   "interrupted after %u of %u cycles", i, n);
	samples_summarize(&s, i, m->uses_pool, r);
	r->minflt = (double)faults / i;
out:
	samples_free(&s);
}

void progress(const struct method *m, const struct result *r)
{
	char sz[SIZE_STRLEN], t[32];

	fmt_size(r->size, sz, sizeof(sz));
	if (r->status == ST_OK) {
		fmt_time(r->median, t, sizeof(t));
		fprintf(stderr, "%s: %-13s %7s  %3u cycles, median %s\n", prog,
			m->name, sz, r->iters, t);
	} else {
		fprintf(stderr, "%s: %-13s %7s  %s\n", prog, m->name, sz,
			r->reason);
	}
}
