// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: the statistics of the timings.  Medians and the 90th
 * percentile (nearest rank) of each method at each size, and the ratios
 * to numabuf's medians at the same size.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "util.h"

/* Room for @n cycles of each timing; 0 or -ENOMEM. */
int samples_alloc(struct samples *s, unsigned int n)
{
	s->total = calloc(5 * (size_t)n, sizeof(*s->total));
	if (!s->total)
		return -ENOMEM;
	s->get = s->total + n;
	s->touch = s->get + n;
	s->put = s->touch + n;
	s->wait = s->put + n;
	return 0;
}

void samples_free(struct samples *s)
{
	free(s->total);
	s->total = NULL;
}

/* The medians of @n cycles (@n > 0) into @r; sorts the samples. */
void samples_summarize(struct samples *s, unsigned int n, bool uses_pool,
		       struct result *r)
{
	r->median = median_u64(s->total, n);
	r->p90 = percentile_u64(s->total, n, 90);
	r->min = s->total[0];
	r->max = s->total[n - 1];
	r->med_get = median_u64(s->get, n);
	r->med_touch = median_u64(s->touch, n);
	r->med_put = median_u64(s->put, n);
	r->med_wait = uses_pool ? median_u64(s->wait, n) : 0;
}

/* Ratios to numabuf's medians at the same size, cycle to cycle, ALLOC to ALLOC. */
void compute_ratios(struct bench *b, struct result (*res)[MAX_SIZES],
		    const bool *sel)
{
	unsigned int mi, si;

	for (mi = 0; mi < M_COUNT; mi++) {
		int gen = methods[mi]->alloc_only ? M_IOCTL_GENERAL : M_GENERAL;
		int pool = methods[mi]->alloc_only ? M_IOCTL_POOL : M_POOL;

		for (si = 0; si < b->nsizes; si++) {
			struct result *r = &res[mi][si];

			r->vs_general = NAN;
			r->vs_pool = NAN;
			if (!sel[mi] || r->status != ST_OK)
				continue;
			if (sel[gen] && res[gen][si].status == ST_OK &&
			    res[gen][si].median)
				r->vs_general = (double)r->median /
						res[gen][si].median;
			if (sel[pool] && res[pool][si].status == ST_OK &&
			    res[pool][si].median)
				r->vs_pool = (double)r->median /
					     res[pool][si].median;
		}
	}
}
