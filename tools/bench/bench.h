/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * numabuf-bench: what it costs to get node-local, pinned memory ready for
 * DMA, with numabuf and with what people use instead.
 *
 * One cycle is: allocate + map + first touch (one byte written per 4 KiB
 * page) + free.  For each method and size the benchmark runs one checking
 * cycle (not timed: it verifies the node of every page with move_pages(2)
 * and contiguity with /proc/self/pagemap, and warms up), then N timed
 * cycles.  The ioctl-* methods time NUMABUF_IOC_ALLOC alone.
 *
 * A method that cannot run (no device, no pools in the kernel, no huge
 * pages, no dma-buf heap) or a size that fails is reported as such, with
 * the reason: never dropped, never given numbers it did not produce.
 *
 * The files:
 *   main.c          options, the table of methods, the run over them
 *   run.c           one method at one size: the checking and timed cycles
 *   stats.c         medians, percentiles and ratios of the timings
 *   report.c        the report (Markdown tables, targets), CSV and JSON
 *   common.c        errno names, reasons, sysfs files, times and sizes
 *   numabuf.c       numabuf's methods: pool, general, huge maps, the ioctl
 *   hugetlbfs.c     2 MiB huge pages bound to the node
 *   malloc_mlock.c  posix_memalign + mbind + mlock
 *   dmaheap.c       the dma-buf system heap
 * A method is a struct method (below): a memory kind adds a file with its
 * setup, get, put and teardown, and an entry in main.c's table.
 */
#ifndef NUMABUF_BENCH_H
#define NUMABUF_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <numabuf.h>

#include "verify.h"

#ifndef NUMABUF_VERSION
#define NUMABUF_VERSION "unknown"
#endif

#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)

#define MAX_SIZES	32
#define MAX_NODES	1024		/* bits in the mempolicy node masks */
#define NODE_WORDS	(MAX_NODES / (8 * sizeof(unsigned long)))
#define REASON_LEN	192

#define SYSFS_NODE	"/sys/devices/system/node"

/*
 * Before each timed ALLOC of the ioctl-* methods: a pause, then
 * SETTLE_WARM untimed one-page ALLOC + FREE (numabuf.c, ioctl_settle()).
 */
#define SETTLE_PAUSE_US	20000
#define SETTLE_WARM	3

/* Memory one method handed out: a mapping, and what frees it. */
struct mem {
	void *addr;
	size_t len;
	struct numabuf *nb;	/* numabuf-* */
	uint32_t handle;	/* ioctl-* */
	int fd;			/* dma-heap */
};

enum status {
	ST_OK,
	ST_UNAVAILABLE,		/* the method cannot run here at all */
	ST_FAILED,		/* it can, but not at this size */
	ST_SKIPPED,		/* interrupted before it ran */
};

enum check {
	CHK_NONE,		/* not checked (ioctl-* maps nothing) */
	CHK_YES,
	CHK_NO,
	CHK_UNKNOWN,
};

/* What one method did at one size. */
struct result {
	enum status status;
	int err;			/* -errno when failed/unavailable */
	char reason[REASON_LEN];
	uint64_t size;			/* asked for */
	uint64_t mapped;		/* obtained (huge pages round up) */
	unsigned int iters;		/* timed cycles done */
	uint64_t median, p90, min, max;	/* ns: cycle, or ALLOC for ioctl-* */
	uint64_t med_get, med_touch, med_put;
	uint64_t med_wait;		/* pool: waiting for a freed block */
	double minflt;			/* minor faults per cycle */
	enum check contig, on_node;
	struct verify_result vr;
	int vr_err;
	const char *source;		/* numabuf: NUMABUF_SOURCE_* name */
	double vs_general, vs_pool;	/* median / numabuf's at this size */
};

struct bench;

/**
 * struct method - one way of getting memory, as the benchmark runs it
 * @name:	its name in options, tables and files
 * @what:	what one cycle does, for the report
 * @alloc_only:	time the allocation alone and map nothing (ioctl-*)
 * @uses_pool:	takes memory from the node's pool: waits for a freed block
 *		to come back before each cycle, and the pool is given back
 *		after the last such method
 * @setup:	once before its sizes; 0, or -errno with the reason in @why
 *		(REASON_LEN) and the method unavailable.  May be NULL.
 * @check_size:	before a size; 0, or -errno with the reason in @why
 *		(REASON_LEN) and the size failed.  May be NULL.
 * @get:	allocate and map @size bytes into @m; 0 or -errno
 * @put:	free what @get gave
 * @source:	where the module says @m came from, or NULL.  May be NULL.
 * @settle:	before each timed cycle, untimed: give every cycle the same
 *		history (alloc_only methods; numabuf.c says why).  May be NULL.
 * @teardown:	once after its sizes.  May be NULL.
 */
struct method {
	const char *name;
	const char *what;
	bool alloc_only;
	bool uses_pool;
	int (*setup)(struct bench *b, char *why);
	int (*check_size)(struct bench *b, uint64_t size, char *why);
	int (*get)(struct bench *b, uint64_t size, struct mem *m);
	void (*put)(struct bench *b, struct mem *m);
	const char *(*source)(struct bench *b, const struct mem *m);
	void (*settle)(struct bench *b, const struct method *m);
	void (*teardown)(struct bench *b);
};

/* The run's settings and the state the methods share. */
struct bench {
	int node;
	unsigned int iterations, min_iters;
	uint64_t sizes[MAX_SIZES];
	unsigned int nsizes;
	bool reserve_huge, pin;
	const char *csv_path, *json_path;
	char cpus[256];			/* where the run was pinned, or "" */
	long page_size;
	uint64_t timer_ns;		/* cost of one clock reading */

	/* numabuf */
	struct numabuf_ctx *ctx;
	int ctx_err;
	unsigned int general_flags;
	char general_note[REASON_LEN];

	/* the node's pool */
	int pool_err;			/* setup result, 0 when usable */
	char pool_why[REASON_LEN];
	bool pool_set, pool_ready;
	struct numabuf_pool pool_before, pool_during;
	char pool_note[REASON_LEN];
	bool pool_restore_failed;

	/* hugetlb */
	long huge_orig;			/* nr_hugepages before, -1 unchanged */
	long huge_free;			/* free 2 MiB pages on the node */
	char huge_note[REASON_LEN];

	/* dma-buf system heap */
	int heap_fd;

	/* malloc */
	unsigned long nodemask[NODE_WORDS];
};

/* The methods, in the order they run: the pool's first, so it is given back early. */
enum {
	M_POOL,
	M_POOL_HUGE,
	M_IOCTL_POOL,
	M_GENERAL,
	M_GENERAL_HUGE,
	M_IOCTL_GENERAL,
	M_HUGE,
	M_MALLOC,
	M_HEAP,
	M_COUNT
};

/* main.c */
extern const struct method *const methods[M_COUNT];
extern const char *prog;
extern volatile sig_atomic_t stop;	/* SIGINT or SIGTERM came */

/* common.c */
const char *errname(int err);
__attribute__((format(printf, 3, 4)))
void set_reason(char *buf, size_t len, const char *fmt, ...);
int read_long(const char *path, long *val);
int write_long(const char *path, long val);
int read_line(const char *path, char *buf, size_t len);
void fmt_size(uint64_t bytes, char *buf, size_t len);
void fmt_time(uint64_t ns, char *buf, size_t len);

static inline uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* run.c */
void run_one(struct bench *b, const struct method *m, uint64_t size,
	     struct result *r);
void progress(const struct method *m, const struct result *r);

/* stats.c */

/* The timings of one method at one size, ns, one entry per timed cycle. */
struct samples {
	uint64_t *total;	/* the cycle, or the ALLOC alone (alloc_only) */
	uint64_t *get;		/* allocate + map */
	uint64_t *touch;
	uint64_t *put;
	uint64_t *wait;		/* pool: waiting for a freed block */
};

int samples_alloc(struct samples *s, unsigned int n);
void samples_free(struct samples *s);
void samples_summarize(struct samples *s, unsigned int n, bool uses_pool,
		       struct result *r);
void compute_ratios(struct bench *b, struct result (*res)[MAX_SIZES],
		    const bool *sel);

/* report.c */
/* @res: the results, [M_COUNT][MAX_SIZES]; @sel: the methods that ran. */
void print_report(struct bench *b, struct result (*res)[MAX_SIZES],
		  const bool *sel, const char *kernel, const char *date);
int write_file(const char *path, struct bench *b,
	       struct result (*res)[MAX_SIZES], const bool *sel,
	       const char *kernel, const char *date, bool json);

/* numabuf.c */
extern const struct method method_pool, method_pool_huge, method_ioctl_pool;
extern const struct method method_general, method_general_huge;
extern const struct method method_ioctl_general;
uint64_t pool_wait(struct bench *b, uint64_t size);
void pool_teardown(struct bench *b);

/* hugetlbfs.c, malloc_mlock.c, dmaheap.c */
extern const struct method method_hugetlb;
extern const struct method method_malloc;
extern const struct method method_heap;

#endif /* NUMABUF_BENCH_H */
