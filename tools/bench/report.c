// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: the report.  On stdout, Markdown: the run's settings,
 * the methods, notes, one table of the cycles, one of the ALLOC ioctl
 * alone, and the targets of issue 4 judged on the medians; with --csv and
 * --json, the same results as one CSV row or JSON object per method and
 * size.  bench/run.sh, bench/results/ and tests/host/bench-smoke.sh read
 * these formats: keep them.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "json.h"
#include "util.h"

static const char *status_name(enum status s)
{
	switch (s) {
	case ST_OK:
		return "ok";
	case ST_UNAVAILABLE:
		return "unavailable";
	case ST_FAILED:
		return "failed";
	default:
		return "skipped";
	}
}

static const char *check_word(enum check c)
{
	switch (c) {
	case CHK_YES:
		return "yes";
	case CHK_NO:
		return "no";
	case CHK_UNKNOWN:
		return "unknown";
	default:
		return "";
	}
}

static void fmt_contig(const struct result *r, char *buf, size_t len)
{
	if (r->contig == CHK_NO)
		snprintf(buf, len, "no, %zu runs", r->vr.runs);
	else if (r->contig == CHK_UNKNOWN && r->vr_err)
		snprintf(buf, len, "? (%s)", errname(r->vr_err));
	else if (r->contig == CHK_UNKNOWN && r->vr.hidden)
		snprintf(buf, len, "? (not root)");
	else if (r->contig == CHK_UNKNOWN)
		snprintf(buf, len, "? (not in pagemap)");
	else if (r->contig == CHK_YES)
		snprintf(buf, len, "yes");
	else
		snprintf(buf, len, "-");
}

static void fmt_node(const struct bench *b, const struct result *r, char *buf,
		     size_t len)
{
	const struct verify_result *vr = &r->vr;

	if (r->on_node == CHK_YES)
		snprintf(buf, len, "yes");
	else if (r->on_node == CHK_NO)
		snprintf(buf, len, "no, %zu/%zu on %d", vr->on_node,
			 vr->pages, b->node);
	else if (r->on_node == CHK_UNKNOWN && r->vr_err)
		snprintf(buf, len, "? (%s)", errname(r->vr_err));
	else if (r->on_node == CHK_UNKNOWN)
		snprintf(buf, len, "? (move_pages %s)",
			 errname(vr->unplaced_err));
	else
		snprintf(buf, len, "-");
}

static void fmt_ratio(double v, char *buf, size_t len)
{
	if (isfinite(v) && v >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (isfinite(v) && v >= 0.1)
		snprintf(buf, len, "%.2f", v);
	else if (isfinite(v))
		snprintf(buf, len, "%.2g", v);	/* 0.0025, not 0.00 */
	else
		snprintf(buf, len, "-");
}

#define NCOLS 11

static void table_row(const char *cells[NCOLS], const int *width)
{
	int c;

	for (c = 0; c < NCOLS; c++)
		printf(c < 2 || c == NCOLS - 1 ? "| %-*s " : "| %*s ",
		       c == NCOLS - 1 ? 0 : width[c], cells[c]);
	printf("|\n");
}

static void print_table(struct bench *b, struct result (*res)[MAX_SIZES],
			const bool *sel, bool alloc_only)
{
	static const char *head[NCOLS] = {
		"method", "size", "cycles", "median", "p90", "faults",
		"contiguous", "on node", "x numabuf", "x pool", "note",
	};
	char cell[NCOLS][REASON_LEN];
	const char *cells[NCOLS];
	int width[NCOLS], pass, c;
	unsigned int mi, si;

	for (c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(head[c]);

	/* Pass 0 measures the columns, pass 1 prints. */
	for (pass = 0; pass < 2; pass++) {
		if (pass) {
			table_row(head, width);
			for (c = 0; c < NCOLS; c++) {
				printf(c < 2 || c == NCOLS - 1 ? "|:" : "|-");
				for (int k = 0; k < (c == NCOLS - 1 ? 3 : width[c]); k++)
					putchar('-');
				printf(c < 2 || c == NCOLS - 1 ? "-" : ":");
			}
			printf("|\n");
		}
		for (mi = 0; mi < M_COUNT; mi++) {
			if (!sel[mi] || methods[mi]->alloc_only != alloc_only)
				continue;
			for (si = 0; si < b->nsizes; si++) {
				const struct result *r = &res[mi][si];
				bool ok = r->status == ST_OK;

				for (c = 0; c < NCOLS; c++) {
					cell[c][0] = '\0';
					cells[c] = cell[c];
				}
				snprintf(cell[0], REASON_LEN, "%s", methods[mi]->name);
				fmt_size(r->size, cell[1], REASON_LEN);
				if (ok) {
					snprintf(cell[2], REASON_LEN, "%u", r->iters);
					fmt_time(r->median, cell[3], REASON_LEN);
					fmt_time(r->p90, cell[4], REASON_LEN);
					if (alloc_only)
						snprintf(cell[5], REASON_LEN, "-");
					else
						snprintf(cell[5], REASON_LEN, "%.0f", r->minflt);
					fmt_ratio(r->vs_general, cell[8], REASON_LEN);
					fmt_ratio(r->vs_pool, cell[9], REASON_LEN);
				} else {
					snprintf(cell[2], REASON_LEN, "-");
					snprintf(cell[3], REASON_LEN, "%s",
						 status_name(r->status));
					for (c = 4; c < 10; c++)
						snprintf(cell[c], REASON_LEN, "-");
				}
				if (ok || r->contig != CHK_NONE) {
					fmt_contig(r, cell[6], REASON_LEN);
					fmt_node(b, r, cell[7], REASON_LEN);
				}
				if (!ok) {
					snprintf(cell[10], REASON_LEN, "%s", r->reason);
				} else {
					char m[SIZE_STRLEN];
					int len = 0;

					if (r->mapped != round_up(r->size, b->page_size)) {
						fmt_size(r->mapped, m, sizeof(m));
						len += snprintf(cell[10], REASON_LEN,
								"%s mapped; ", m);
					}
					if (r->source)
						len += snprintf(cell[10] + len, REASON_LEN - len,
								"source %s; ", r->source);
					if (r->reason[0])
						len += snprintf(cell[10] + len, REASON_LEN - len,
								"%s; ", r->reason);
					if (r->med_wait > 10 * b->timer_ns) {
						char t[32];

						fmt_time(r->med_wait, t, sizeof(t));
						len += snprintf(cell[10] + len, REASON_LEN - len,
								"pool refill wait %s; ", t);
					}
					if (len >= 2)
						cell[10][len - 2] = '\0';
				}
				if (!pass) {
					for (c = 0; c < NCOLS - 1; c++)
						if ((int)strlen(cells[c]) > width[c])
							width[c] = (int)strlen(cells[c]);
				} else {
					table_row(cells, width);
				}
			}
		}
	}
}

static const struct result *find(struct result (*res)[MAX_SIZES],
				 const struct bench *b, const bool *sel,
				 int mi, uint64_t size)
{
	unsigned int si;

	if (!sel[mi])
		return NULL;
	for (si = 0; si < b->nsizes; si++)
		if (b->sizes[si] == size && res[mi][si].status == ST_OK)
			return &res[mi][si];
	return NULL;
}

/* 64 MiB from the pool with method @mi at least 10x faster than hugetlbfs. */
static void target_pool_10x(struct bench *b, struct result (*res)[MAX_SIZES],
			    const bool *sel, int mi)
{
	const struct result *p = find(res, b, sel, mi, 64 * MIB);
	const struct result *h = find(res, b, sel, M_HUGE, 64 * MIB);
	double v;

	if (!sel[mi])
		return;
	printf("- 64MiB from a pool at least 10x faster than hugetlbfs (%s): ",
	       methods[mi]->name);
	if (!p || !h) {
		printf("not measured (%s or hugetlb-2m has no 64MiB result)\n",
		       methods[mi]->name);
		return;
	}
	v = (double)h->median / p->median;
	printf("%.1fx (target >= 10): %s\n", v, v >= 10 ? "met" : "NOT met");
}

/* The general path with method @mi no slower than hugetlbfs, size by size. */
static void target_general(struct bench *b, struct result (*res)[MAX_SIZES],
			   const bool *sel, int mi)
{
	unsigned int si, slower = 0, compared = 0;
	const struct result *g, *h;
	char a[SIZE_STRLEN];

	if (!sel[mi])
		return;
	printf("- general path no slower than hugetlbfs (%s):",
	       methods[mi]->name);
	for (si = 0; si < b->nsizes; si++) {
		g = find(res, b, sel, mi, b->sizes[si]);
		h = find(res, b, sel, M_HUGE, b->sizes[si]);
		if (!g || !h)
			continue;
		compared++;
		if (g->median > h->median) {
			fmt_size(b->sizes[si], a, sizeof(a));
			printf("%s %s (%.2fx)", slower++ ? "," : " slower at",
			       a, (double)g->median / h->median);
		}
	}
	if (!compared)
		printf(" not measured (no size with both results)\n");
	else if (slower)
		printf("; NOT met at %u of %u sizes compared\n", slower,
		       compared);
	else
		printf(" met at all %u sizes compared\n", compared);
}

/* The targets of issue 4, judged on this run's medians. */
static void print_targets(struct bench *b, struct result (*res)[MAX_SIZES],
			  const bool *sel)
{
	const struct result *lo = NULL, *hi = NULL, *p;
	char a[SIZE_STRLEN], z[SIZE_STRLEN];
	unsigned int si;

	printf("\nTargets (issue 4), from the medians above:\n");

	for (si = 0; si < b->nsizes; si++) {
		p = &res[M_IOCTL_POOL][si];
		if (!sel[M_IOCTL_POOL] || p->status != ST_OK)
			continue;
		if (!lo || p->size < lo->size)
			lo = p;
		if (!hi || p->size > hi->size)
			hi = p;
	}
	if (lo && hi && lo != hi) {
		double v = (double)hi->median / lo->median;

		fmt_size(lo->size, a, sizeof(a));
		fmt_size(hi->size, z, sizeof(z));
		printf("- ALLOC from a pool independent of size: %s takes %.2fx "
		       "%s (target < 2): %s\n", z, v, a,
		       v < 2 ? "met" : "NOT met");
	} else {
		printf("- ALLOC from a pool independent of size: not measured "
		       "(ioctl-pool has fewer than two sizes that ran)\n");
	}

	target_pool_10x(b, res, sel, M_POOL);
	target_pool_10x(b, res, sel, M_POOL_HUGE);
	target_general(b, res, sel, M_GENERAL);
	target_general(b, res, sel, M_GENERAL_HUGE);
}

void print_report(struct bench *b, struct result (*res)[MAX_SIZES],
		  const bool *sel, const char *kernel, const char *date)
{
	char t[32], sz[SIZE_STRLEN], clk[64] = "?", thp[128] = "?";
	bool any_alloc = false;
	unsigned int mi;

	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  clk, sizeof(clk));
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp,
		  sizeof(thp));
	fmt_time(b->timer_ns, t, sizeof(t));
	printf("# numabuf-bench %s\n\n", NUMABUF_VERSION);
	printf("kernel %s, %s; node %d; %s; clock %s (%s per reading)\n",
	       kernel, date, b->node,
	       b->cpus[0] ? b->cpus : "not pinned to the node's CPUs", clk, t);
	printf("cycles: %u per size up to 4MiB, fewer above (at least %u); "
	       "one untimed checking cycle first; transparent huge pages: %s\n\n",
	       b->iterations, b->min_iters, thp);

	printf("Methods:\n");
	for (mi = 0; mi < M_COUNT; mi++) {
		if (!sel[mi])
			continue;
		printf("- %s: %s\n", methods[mi]->name, methods[mi]->what);
		any_alloc |= methods[mi]->alloc_only;
	}
	printf("\nNotes:\n");
	printf("- median, p90: one cycle (allocate + map + touch 1 byte per "
	       "4KiB page + free); ioctl-*: the ALLOC ioctl alone; p90 is the "
	       "nearest rank, the slowest cycle when there are fewer than 10\n");
	printf("- faults: minor page faults per cycle (getrusage); "
	       "contiguous: /proc/self/pagemap (root; PFN mappings are not in "
	       "it); on node: move_pages(2) of every page; both checked once "
	       "per method and size\n");
	printf("- x numabuf, x pool: this median / numabuf's (or numabuf-pool's) "
	       "median at the same size\n");
	if (any_alloc)
		printf("- ioctl-*: each timed ALLOC follows a %d ms pause and %d "
		       "untimed one-page general ALLOC + FREE, the same for every "
		       "size: under emulation the first system call after a pause "
		       "(such as a wait for the pool) costs 80-130 us more\n",
		       SETTLE_PAUSE_US / 1000, SETTLE_WARM);
	if (b->general_note[0])
		printf("- numabuf: %s\n", b->general_note);
	if (b->pool_ready) {
		fmt_size(b->pool_during.pool_bytes, sz, sizeof(sz));
		printf("- pool on node %d: target %" PRIu64 " -> %" PRIu64
		       " bytes for the run (holds %s), restored %s\n", b->node,
		       (uint64_t)b->pool_before.target,
		       (uint64_t)b->pool_during.target, sz,
		       !b->pool_set && !b->pool_restore_failed ? "after" :
		       "FAILED");
	} else if (sel[M_POOL] || sel[M_IOCTL_POOL]) {
		printf("- numabuf-pool, ioctl-pool unavailable: %s\n",
		       b->pool_why);
	}
	if (b->huge_note[0])
		printf("- hugetlb-2m: %s\n", b->huge_note);
	for (mi = 0; mi < M_COUNT; mi++) {
		const struct result *r = &res[mi][0];

		if (sel[mi] && r->status == ST_UNAVAILABLE &&
		    !methods[mi]->uses_pool)
			printf("- %s unavailable: %s\n", methods[mi]->name,
			       r->reason);
	}
	printf("\n");
	print_table(b, res, sel, false);
	if (any_alloc) {
		printf("\nALLOC ioctl alone (x numabuf, x pool: ratio to "
		       "ioctl-general, ioctl-pool):\n\n");
		print_table(b, res, sel, true);
	}
	print_targets(b, res, sel);
}

static void write_csv(FILE *f, struct bench *b,
		      struct result (*res)[MAX_SIZES], const bool *sel)
{
	unsigned int mi, si;

	fprintf(f, "method,size_bytes,mapped_bytes,status,iterations,"
		"median_ns,p90_ns,min_ns,max_ns,alloc_map_median_ns,"
		"touch_median_ns,free_median_ns,pool_wait_median_ns,"
		"minflt_per_cycle,contiguous,contig_runs,pages,pages_on_node,"
		"on_node,source,vs_numabuf,vs_pool,reason\n");
	for (mi = 0; mi < M_COUNT; mi++) {
		if (!sel[mi])
			continue;
		for (si = 0; si < b->nsizes; si++) {
			const struct result *r = &res[mi][si];
			bool ok = r->status == ST_OK;
			const char *q;

			fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%s,%u,",
				methods[mi]->name, r->size, r->mapped,
				status_name(r->status), r->iters);
			if (ok)
				fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRIu64 ",%" PRIu64 ",%.1f,",
					r->median, r->p90, r->min, r->max,
					r->med_get, r->med_touch, r->med_put,
					r->med_wait, r->minflt);
			else
				fprintf(f, ",,,,,,,,,");
			fprintf(f, "%s,", check_word(r->contig));
			if (r->vr.runs)
				fprintf(f, "%zu", r->vr.runs);
			fprintf(f, ",");
			if (r->on_node != CHK_NONE)
				fprintf(f, "%zu,%zu", r->vr.pages,
					r->vr.on_node);
			else
				fprintf(f, ",");
			fprintf(f, ",%s,%s,", check_word(r->on_node),
				r->source ? r->source : "");
			if (isfinite(r->vs_general))
				fprintf(f, "%.4f", r->vs_general);
			fprintf(f, ",");
			if (isfinite(r->vs_pool))
				fprintf(f, "%.4f", r->vs_pool);
			/* The reason in quotes, quotes doubled. */
			fprintf(f, ",\"");
			for (q = r->reason; *q; q++)
				fprintf(f, *q == '"' ? "\"\"" : "%c", *q);
			fprintf(f, "\"\n");
		}
	}
}

static void json_check(struct json *j, const char *key, enum check c)
{
	if (c == CHK_YES || c == CHK_NO)
		json_bool(j, key, c == CHK_YES);
	else
		json_null(j, key);
}

static void write_json(FILE *f, struct bench *b,
		       struct result (*res)[MAX_SIZES], const bool *sel,
		       const char *kernel, const char *date)
{
	unsigned int mi, si;
	struct json j;

	json_init(&j, f, 1);
	json_begin_object(&j, NULL);
	json_string(&j, "version", NUMABUF_VERSION);
	json_string(&j, "kernel", kernel);
	json_string(&j, "date", date);
	json_int(&j, "node", b->node);
	json_string(&j, "cpus", b->cpus);
	json_u64(&j, "iterations", b->iterations);
	json_u64(&j, "min_iterations", b->min_iters);
	json_u64(&j, "timer_ns", b->timer_ns);
	json_u64(&j, "general_flags", b->general_flags);
	if (b->pool_ready) {
		json_begin_object(&j, "pool");
		json_u64(&j, "target_before", b->pool_before.target);
		json_u64(&j, "target_during", b->pool_during.target);
		json_u64(&j, "pool_bytes_during", b->pool_during.pool_bytes);
		json_u64(&j, "largest_free_during",
			 b->pool_during.largest_free);
		json_bool(&j, "restored", !b->pool_set &&
			  !b->pool_restore_failed);
		json_end_object(&j);
	}
	json_begin_array(&j, "methods");
	for (mi = 0; mi < M_COUNT; mi++) {
		if (!sel[mi])
			continue;
		json_begin_object(&j, NULL);
		json_string(&j, "name", methods[mi]->name);
		json_string(&j, "what", methods[mi]->what);
		json_bool(&j, "alloc_only", methods[mi]->alloc_only);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_begin_array(&j, "results");
	for (mi = 0; mi < M_COUNT; mi++) {
		if (!sel[mi])
			continue;
		for (si = 0; si < b->nsizes; si++) {
			const struct result *r = &res[mi][si];

			json_begin_object(&j, NULL);
			json_string(&j, "method", methods[mi]->name);
			json_u64(&j, "size", r->size);
			json_string(&j, "status", status_name(r->status));
			if (r->reason[0])
				json_string(&j, "reason", r->reason);
			if (r->status != ST_OK && r->err)
				json_string(&j, "errno", errname(r->err));
			if (r->mapped)
				json_u64(&j, "mapped", r->mapped);
			if (r->status == ST_OK) {
				json_u64(&j, "iterations", r->iters);
				json_u64(&j, "median_ns", r->median);
				json_u64(&j, "p90_ns", r->p90);
				json_u64(&j, "min_ns", r->min);
				json_u64(&j, "max_ns", r->max);
				json_u64(&j, "alloc_map_median_ns", r->med_get);
				json_u64(&j, "touch_median_ns", r->med_touch);
				json_u64(&j, "free_median_ns", r->med_put);
				if (methods[mi]->uses_pool)
					json_u64(&j, "pool_wait_median_ns",
						 r->med_wait);
				json_double(&j, "minflt_per_cycle", r->minflt);
				json_double(&j, "vs_numabuf", r->vs_general);
				json_double(&j, "vs_pool", r->vs_pool);
			}
			if (r->contig != CHK_NONE) {
				json_check(&j, "contiguous", r->contig);
				if (r->vr.runs)
					json_u64(&j, "contig_runs", r->vr.runs);
				json_check(&j, "on_node", r->on_node);
				json_u64(&j, "pages", r->vr.pages);
				json_u64(&j, "pages_on_node", r->vr.on_node);
			}
			if (r->source)
				json_string(&j, "source", r->source);
			json_end_object(&j);
		}
	}
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}

int write_file(const char *path, struct bench *b,
	       struct result (*res)[MAX_SIZES], const bool *sel,
	       const char *kernel, const char *date, bool json)
{
	bool is_stdout = !strcmp(path, "-");
	FILE *f = is_stdout ? stdout : fopen(path, "we");
	int err = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -errno;
	}
	if (json)
		write_json(f, b, res, sel, kernel, date);
	else
		write_csv(f, b, res, sel);
	if (fflush(f) || ferror(f))
		err = -EIO;
	if (!is_stdout && fclose(f))
		err = -EIO;
	if (err)
		fprintf(stderr, "%s: %s: write error\n", prog, path);
	return err;
}
