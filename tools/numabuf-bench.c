// SPDX-License-Identifier: GPL-2.0-or-later
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
 * Exit status: 0 the run completed (whatever failed inside it is in the
 * report), 1 error (output files, setup), 2 usage error, 130 interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-heap.h>
#include <linux/mempolicy.h>

#include <numabuf.h>

#include "json.h"
#include "util.h"
#include "verify.h"

#ifndef NUMABUF_VERSION
#define NUMABUF_VERSION "unknown"
#endif

#define EXIT_USAGE	2
#define EXIT_STOPPED	130

#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define TOUCH_STRIDE	4096
#define HUGE_SIZE	(2 * MIB)

#define MAX_SIZES	32
#define MAX_NODES	1024		/* bits in the mempolicy node masks */
#define NODE_WORDS	(MAX_NODES / (8 * sizeof(unsigned long)))
#define REASON_LEN	192

/* Iterations above 4 MiB shrink in proportion to the size. */
#define ITER_FULL_SIZE	(4 * MIB)
#define DEF_ITERATIONS	30
#define DEF_MIN_ITERS	5
#define QUICK_ITERS	5
#define QUICK_MIN_ITERS	2

/* How long a pool may take to have a freed block back (zeroing). */
#define POOL_WAIT_NS	(30ULL * 1000000000ULL)

#define SYSFS_NODE	"/sys/devices/system/node"
#define HUGE_DIR	"hugepages/hugepages-2048kB"
#define DMA_HEAP_PATH	"/dev/dma_heap/system"

/* Long options without a short form. */
enum {
	OPT_CSV = 1000,
	OPT_JSON,
	OPT_MIN_ITERS,
	OPT_RESERVE_HUGE,
	OPT_NO_PIN,
	OPT_LIST,
};

static const char *prog = "numabuf-bench";
static volatile sig_atomic_t stop;

static const uint64_t default_sizes[] = {
	4 * KIB, 64 * KIB, 2 * MIB, 4 * MIB, 64 * MIB, 256 * MIB, 1 * GIB,
};

static const uint64_t quick_sizes[] = { 4 * KIB, 2 * MIB, 64 * MIB };

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

struct method {
	const char *name;
	const char *what;
	bool alloc_only;		/* time ALLOC alone, map nothing */
	bool uses_pool;
	int (*setup)(struct bench *b, char *why);
	int (*get)(struct bench *b, uint64_t size, struct mem *m);
	void (*put)(struct bench *b, struct mem *m);
	void (*teardown)(struct bench *b);
};

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

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *errname(int err)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);

	return name ? name : "E?";
}

__attribute__((format(printf, 3, 4)))
static void set_reason(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int read_long(const char *path, long *val)
{
	char buf[64], *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static int write_long(const char *path, long val)
{
	char buf[32];
	int fd, len, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", val);
	if (write(fd, buf, len) != len)
		err = -errno;
	close(fd);
	return err;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f;
	char *nl;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

static void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	if (format_size(bytes, buf, len) < 0)
		snprintf(buf, len, "?");
}

static void fmt_time(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000)
		snprintf(buf, len, "%.2f us", ns / 1e3);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v.  Median: mean of the middle two for an even count. */
static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted @v. */
static uint64_t percentile(const uint64_t *v, unsigned int n, unsigned int pct)
{
	unsigned int rank = (pct * n + 99) / 100;

	return v[rank ? rank - 1 : 0];
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* One byte written per 4 KiB page: what first use of a buffer costs. */
static void touch(void *addr, size_t len)
{
	volatile unsigned char *p = addr;
	size_t off;

	for (off = 0; off < len; off += TOUCH_STRIDE)
		p[off] = (unsigned char)(off >> 12);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- numabuf ------------------------------------------------------------- */

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

static void pool_teardown(struct bench *b)
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
static uint64_t pool_wait(struct bench *b, uint64_t size)
{
	uint64_t start = now_ns(), want = round_up(size, b->page_size);
	struct numabuf_pool p;

	for (;;) {
		if (pool_ioctl(b, NUMABUF_IOC_POOL_GET, &p, 0) ||
		    p.largest_free >= want)
			break;
		if (now_ns() - start > POOL_WAIT_NS || stop)
			break;
		usleep(100);
	}
	return now_ns() - start;
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

/* ---- hugetlbfs: 2 MiB pages bound to the node, what DPDK does ------------ */

static int huge_path(const struct bench *b, const char *file, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, SYSFS_NODE "/node%d/" HUGE_DIR "/%s",
			 b->node, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * With --reserve-hugepages, grow the node's count of 2 MiB pages until
 * enough are free for the largest size, and put it back afterwards.
 */
static int huge_setup(struct bench *b, char *why)
{
	char nr_path[256], free_path[256];
	uint64_t largest = 0;
	long need, nr, got;
	unsigned int i;
	int err;

	b->huge_orig = -1;
	err = huge_path(b, "nr_hugepages", nr_path, sizeof(nr_path));
	if (!err)
		err = huge_path(b, "free_hugepages", free_path,
				sizeof(free_path));
	if (!err)
		err = read_long(free_path, &b->huge_free);
	if (err) {
		set_reason(why, REASON_LEN, "no 2 MiB huge pages on node %d "
			   "(%s: %s)", b->node, free_path, strerror(-err));
		return err;
	}
	for (i = 0; i < b->nsizes; i++)
		if (b->sizes[i] > largest)
			largest = b->sizes[i];
	need = (long)(round_up(largest, HUGE_SIZE) / HUGE_SIZE);
	if (!b->reserve_huge || b->huge_free >= need)
		return 0;

	err = read_long(nr_path, &nr);
	if (!err)
		err = write_long(nr_path, nr + need - b->huge_free);
	if (err) {
		set_reason(b->huge_note, REASON_LEN,
			   "could not reserve huge pages (%s: %s)", nr_path,
			   strerror(-err));
		return 0;
	}
	b->huge_orig = nr;
	if (read_long(nr_path, &got))
		got = -1;
	read_long(free_path, &b->huge_free);
	set_reason(b->huge_note, REASON_LEN,
		   "node %d's nr_hugepages raised from %ld to %ld for the run "
		   "(%ld free, %ld wanted), restored after", b->node, nr, got,
		   b->huge_free, need);
	return 0;
}

static void huge_teardown(struct bench *b)
{
	char path[256];
	int err;

	if (b->huge_orig < 0)
		return;
	err = huge_path(b, "nr_hugepages", path, sizeof(path));
	if (!err)
		err = write_long(path, b->huge_orig);
	if (err)
		fprintf(stderr, "%s: cannot restore %s to %ld: %s\n", prog,
			path, b->huge_orig, strerror(-err));
	b->huge_orig = -1;
}

static long set_mempolicy_(int mode, const unsigned long *mask,
			   unsigned long maxnode)
{
	return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

/*
 * Bind, map populated, unbind: the memory policy is the process's, so the
 * bind is undone at once, as DPDK does around each segment.
 */
static int huge_get(struct bench *b, uint64_t size, struct mem *m)
{
	size_t len = round_up(size, HUGE_SIZE);
	void *p;
	int err = 0;

	if (set_mempolicy_(MPOL_BIND, b->nodemask, MAX_NODES + 1))
		return -errno;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		err = -errno;
	set_mempolicy_(MPOL_DEFAULT, NULL, 0);
	if (err)
		return err;
	m->addr = p;
	m->len = len;
	return 0;
}

static void munmap_put(struct bench *b, struct mem *m)
{
	(void)b;
	munmap(m->addr, m->len);
}

/* ---- malloc + mbind + mlock ---------------------------------------------- */

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

/* ---- dma-buf system heap -------------------------------------------------- */

static int heap_setup(struct bench *b, char *why)
{
	if (b->heap_fd >= 0)
		return 0;
	b->heap_fd = open(DMA_HEAP_PATH, O_RDONLY | O_CLOEXEC);
	if (b->heap_fd < 0) {
		int err = -errno;

		set_reason(why, REASON_LEN, "%s: %s (%s)%s", DMA_HEAP_PATH,
			   errname(err), strerror(-err), err == -ENOENT ?
			   ": no system heap in this kernel" : "");
		return err;
	}
	return 0;
}

static int heap_get(struct bench *b, uint64_t size, struct mem *m)
{
	struct dma_heap_allocation_data d;
	void *p;
	int err;

	memset(&d, 0, sizeof(d));
	d.len = size;
	d.fd_flags = O_RDWR | O_CLOEXEC;
	if (ioctl(b->heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)d.fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		close((int)d.fd);
		return err;
	}
	m->addr = p;
	m->len = size;
	m->fd = (int)d.fd;
	return 0;
}

static void heap_put(struct bench *b, struct mem *m)
{
	(void)b;
	munmap(m->addr, m->len);
	close(m->fd);
}

static void heap_teardown(struct bench *b)
{
	if (b->heap_fd >= 0)
		close(b->heap_fd);
	b->heap_fd = -1;
}

/* ---- the methods --------------------------------------------------------- */

/* In the order they run: the pool's two first, so it is given back early. */
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

static const struct method methods[M_COUNT] = {
	[M_POOL] = {
		.name = "numabuf-pool",
		.what = "numabuf, NUMABUF_F_POOL: ALLOC + mmap + touch + munmap + FREE",
		.uses_pool = true,
		.setup = pool_setup,
		.get = pool_get,
		.put = nb_put,
	},
	[M_POOL_HUGE] = {
		.name = "numabuf-pool-huge",
		.what = "numabuf, NUMABUF_F_POOL | NUMABUF_F_HUGE_MAP (PMD entries, no get_user_pages): ALLOC + mmap + touch + munmap + FREE",
		.uses_pool = true,
		.setup = pool_setup,
		.get = pool_huge_get,
		.put = nb_put,
	},
	[M_GENERAL_HUGE] = {
		.name = "numabuf-huge",
		.what = "numabuf, NUMABUF_F_NO_POOL | NUMABUF_F_HUGE_MAP (PMD entries, no get_user_pages): ALLOC + mmap + touch + munmap + FREE",
		.setup = general_setup,
		.get = general_huge_get,
		.put = nb_put,
	},
	[M_GENERAL] = {
		.name = "numabuf",
		.what = "numabuf, NUMABUF_F_NO_POOL: ALLOC + mmap + touch + munmap + FREE",
		.setup = general_setup,
		.get = general_get,
		.put = nb_put,
	},
	[M_HUGE] = {
		.name = "hugetlb-2m",
		.what = "set_mempolicy(MPOL_BIND) + mmap(MAP_HUGETLB | MAP_POPULATE) of 2 MiB pages + touch + munmap",
		.setup = huge_setup,
		.get = huge_get,
		.put = munmap_put,
		.teardown = huge_teardown,
	},
	[M_MALLOC] = {
		.name = "malloc-mlock",
		.what = "posix_memalign + mbind(MPOL_BIND) + mlock + touch + munlock + free (glibc mmap threshold fixed at 128 KiB: smaller buffers reuse heap pages)",
		.setup = malloc_setup,
		.get = malloc_get,
		.put = malloc_put,
	},
	[M_HEAP] = {
		.name = "dma-heap",
		.what = "dma-buf system heap: DMA_HEAP_IOCTL_ALLOC + mmap + touch + munmap + close (no node choice)",
		.setup = heap_setup,
		.get = heap_get,
		.put = heap_put,
		.teardown = heap_teardown,
	},
	[M_IOCTL_POOL] = {
		.name = "ioctl-pool",
		.what = "NUMABUF_IOC_ALLOC alone, NUMABUF_F_POOL (FREE not timed)",
		.alloc_only = true,
		.uses_pool = true,
		.setup = pool_setup,
		.get = ioctl_pool_get,
		.put = ioctl_put,
	},
	[M_IOCTL_GENERAL] = {
		.name = "ioctl-general",
		.what = "NUMABUF_IOC_ALLOC alone, NUMABUF_F_NO_POOL (FREE not timed)",
		.alloc_only = true,
		.setup = general_setup,
		.get = ioctl_general_get,
		.put = ioctl_put,
	},
};

/* ---- running ------------------------------------------------------------- */

/*
 * Before each timed ALLOC of the ioctl-* methods: the same history for
 * every size.  Under TCG the first system call after a few milliseconds
 * of anything else (sleeping, spinning in user space, waiting for the
 * pool) costs 80-130 us more, whatever it does (QEMU resizes and flushes
 * its software TLB): measured with 4 KiB ALLOCs after a 200 ms pause.
 * Sizes that must wait for the pool to zero a freed block would pay that
 * and the others not.  So every timed ALLOC follows a pause and then
 * SETTLE_WARM untimed one-page ALLOC + FREE of the general allocator,
 * which leaves the pool alone.
 */
#define SETTLE_PAUSE_US	20000
#define SETTLE_WARM	3

static void settle(struct bench *b, const struct method *m)
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

	if (m->get == pool_get || m->get == general_get ||
	    m->get == pool_huge_get || m->get == general_huge_get)
		r->source = nb_source(b, numabuf_handle(mem->nb));
	else if (m->alloc_only)
		r->source = nb_source(b, mem->handle);
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

static void run_one(struct bench *b, const struct method *m, uint64_t size,
		    struct result *r)
{
	unsigned int i, n = iterations_for(b, size);
	uint64_t *tot, *get, *tch, *put, *wait, t0, t1, t2, t3;
	struct rusage ru0, ru1;
	long faults = 0;
	struct mem mem;
	int err;

	if (m == &methods[M_HUGE] &&
	    (uint64_t)b->huge_free * HUGE_SIZE < round_up(size, HUGE_SIZE)) {
		r->status = ST_FAILED;
		r->err = -ENOMEM;
		set_reason(r->reason, REASON_LEN,
			   "%ld free 2 MiB pages on node %d, %" PRIu64
			   " needed (--reserve-hugepages)", b->huge_free,
			   b->node, (uint64_t)(round_up(size, HUGE_SIZE) / HUGE_SIZE));
		return;
	}

	tot = calloc(5 * (size_t)n, sizeof(*tot));
	if (!tot) {
		fail_result(r, -ENOMEM, 0, n);
		return;
	}
	get = tot + n;
	tch = get + n;
	put = tch + n;
	wait = put + n;

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
			wait[i] = pool_wait(b, size);
		if (m->alloc_only)
			settle(b, m);
		memset(&mem, 0, sizeof(mem));
		getrusage(RUSAGE_SELF, &ru0);
		t0 = now_ns();
		err = m->get(b, size, &mem);
		t1 = now_ns();
		if (err) {
			fail_result(r, err, i + 1, n);
			goto out;
		}
		if (!m->alloc_only)
			touch(mem.addr, mem.len);
		t2 = now_ns();
		m->put(b, &mem);
		t3 = now_ns();
		getrusage(RUSAGE_SELF, &ru1);
		faults += ru1.ru_minflt - ru0.ru_minflt;
		tot[i] = m->alloc_only ? t1 - t0 : t3 - t0;
		get[i] = t1 - t0;
		tch[i] = t2 - t1;
		put[i] = t3 - t2;
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
	r->median = median(tot, i);
	r->p90 = percentile(tot, i, 90);
	r->min = tot[0];
	r->max = tot[i - 1];
	r->med_get = median(get, i);
	r->med_touch = median(tch, i);
	r->med_put = median(put, i);
	r->med_wait = m->uses_pool ? median(wait, i) : 0;
	r->minflt = (double)faults / i;
out:
	free(tot);
}

static void progress(const struct method *m, const struct result *r)
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

/* Ratios to numabuf's medians at the same size, cycle to cycle, ALLOC to ALLOC. */
static void compute_ratios(struct bench *b, struct result (*res)[MAX_SIZES],
			   const bool *sel)
{
	unsigned int mi, si;

	for (mi = 0; mi < M_COUNT; mi++) {
		int gen = methods[mi].alloc_only ? M_IOCTL_GENERAL : M_GENERAL;
		int pool = methods[mi].alloc_only ? M_IOCTL_POOL : M_POOL;

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

/* ---- reporting ----------------------------------------------------------- */

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
			if (!sel[mi] || methods[mi].alloc_only != alloc_only)
				continue;
			for (si = 0; si < b->nsizes; si++) {
				const struct result *r = &res[mi][si];
				bool ok = r->status == ST_OK;

				for (c = 0; c < NCOLS; c++) {
					cell[c][0] = '\0';
					cells[c] = cell[c];
				}
				snprintf(cell[0], REASON_LEN, "%s", methods[mi].name);
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
	       methods[mi].name);
	if (!p || !h) {
		printf("not measured (%s or hugetlb-2m has no 64MiB result)\n",
		       methods[mi].name);
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
	       methods[mi].name);
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

static void print_report(struct bench *b, struct result (*res)[MAX_SIZES],
			 const bool *sel, const char *kernel,
			 const char *date)
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
		printf("- %s: %s\n", methods[mi].name, methods[mi].what);
		any_alloc |= methods[mi].alloc_only;
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
		    !methods[mi].uses_pool)
			printf("- %s unavailable: %s\n", methods[mi].name,
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
				methods[mi].name, r->size, r->mapped,
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
		json_string(&j, "name", methods[mi].name);
		json_string(&j, "what", methods[mi].what);
		json_bool(&j, "alloc_only", methods[mi].alloc_only);
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
			json_string(&j, "method", methods[mi].name);
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
				if (methods[mi].uses_pool)
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

static int write_file(const char *path, struct bench *b,
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

/* ---- setup --------------------------------------------------------------- */

static uint64_t timer_cost(void)
{
	uint64_t d[101], t, prev;
	unsigned int i;

	prev = now_ns();
	for (i = 0; i < 101; i++) {
		t = now_ns();
		d[i] = t - prev;
		prev = t;
	}
	return median(d, 101);
}

/* Run on the node's CPUs: where a process using the buffer would be. */
static void pin_to_node(struct bench *b)
{
	uint64_t map[LIST_WORDS(CPU_SETSIZE)];
	char path[128], list[sizeof(b->cpus) - 32];
	cpu_set_t set;
	unsigned int cpu;
	bool any = false;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/cpulist", b->node);
	memset(map, 0, sizeof(map));
	if (read_line(path, list, sizeof(list)) ||
	    list_parse(list, map, CPU_SETSIZE))
		return;
	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (list_test(map, cpu)) {
			CPU_SET(cpu, &set);
			any = true;
		}
	}
	if (any && !sched_setaffinity(0, sizeof(set), &set))
		snprintf(b->cpus, sizeof(b->cpus), "pinned to CPUs %s", list);
}

static int parse_sizes(struct bench *b, char *arg)
{
	char *tok, *save = NULL;
	uint64_t v;

	b->nsizes = 0;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (b->nsizes == MAX_SIZES || parse_size(tok, &v) || !v ||
		    v > SIZE_MAX / 2)
			return -EINVAL;
		b->sizes[b->nsizes++] = v;
	}
	return b->nsizes ? 0 : -EINVAL;
}

static int parse_methods(bool *sel, char *arg)
{
	char *tok, *save = NULL;
	unsigned int mi;

	memset(sel, 0, M_COUNT * sizeof(*sel));
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (mi = 0; mi < M_COUNT; mi++) {
			if (!strcmp(tok, "all") || !strcmp(tok, methods[mi].name)) {
				sel[mi] = true;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int min, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n < min || n > 100000)
		return -EINVAL;
	*v = (unsigned int)n;
	return 0;
}

static void usage(FILE *f)
{
	unsigned int mi;

	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"\n"
		"Time allocate + map + first touch (1 byte per 4 KiB page) + free\n"
		"of node-local memory with numabuf and its alternatives, and the\n"
		"ALLOC ioctl alone; check each method's memory for contiguity\n"
		"(/proc/self/pagemap, needs root) and its node (move_pages(2)).\n"
		"\n"
		"OPTIONS:\n"
		"  -n, --node NODE         node to allocate on (default 0)\n"
		"  -s, --sizes LIST        comma-separated sizes (default\n"
		"                          4K,64K,2M,4M,64M,256M,1G)\n"
		"  -i, --iterations N      timed cycles per size up to 4 MiB\n"
		"                          (default %u); above, N * 4 MiB / size\n"
		"      --min-iterations N  but never fewer than N (default %u)\n"
		"  -q, --quick             sizes 4K,2M,64M (unless --sizes),\n"
		"                          %u cycles, at least %u\n"
		"  -m, --methods LIST      comma-separated, or all (default):\n",
		prog, DEF_ITERATIONS, DEF_MIN_ITERS, QUICK_ITERS,
		QUICK_MIN_ITERS);
	for (mi = 0; mi < M_COUNT; mi++)
		fprintf(f, "                            %s\n", methods[mi].name);
	fprintf(f,
		"      --reserve-hugepages grow the node's 2 MiB huge page count\n"
		"                          for hugetlb-2m, restore it afterwards\n"
		"      --no-pin            do not run on the node's CPUs\n"
		"      --csv FILE          also write the results as CSV ('-': stdout)\n"
		"      --json FILE         also write them as JSON ('-': stdout)\n"
		"      --list-methods      describe the methods and exit\n"
		"  -V, --version           print the version\n"
		"  -h, --help              this text\n"
		"\n"
		"numabuf-pool raises the node's pool (NUMABUF_IOC_POOL_SET, needs\n"
		"CAP_SYS_ADMIN) to hold the largest size and restores its target at\n"
		"the end.  A method or size that cannot run is reported with the\n"
		"reason.  The device is %s, or $%s when set.\n",
		NUMABUF_DEVICE_PATH, NUMABUF_DEVICE_ENV);
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\nTry '%s --help'.\n", prog, what, arg,
		prog);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "node",		required_argument, NULL, 'n' },
		{ "sizes",		required_argument, NULL, 's' },
		{ "iterations",		required_argument, NULL, 'i' },
		{ "min-iterations",	required_argument, NULL, OPT_MIN_ITERS },
		{ "quick",		no_argument,	   NULL, 'q' },
		{ "methods",		required_argument, NULL, 'm' },
		{ "reserve-hugepages",	no_argument,	   NULL, OPT_RESERVE_HUGE },
		{ "no-pin",		no_argument,	   NULL, OPT_NO_PIN },
		{ "csv",		required_argument, NULL, OPT_CSV },
		{ "json",		required_argument, NULL, OPT_JSON },
		{ "list-methods",	no_argument,	   NULL, OPT_LIST },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct result res[M_COUNT][MAX_SIZES];
	bool sel[M_COUNT], quick = false, sizes_given = false;
	bool iters_given = false, min_given = false;
	char kernel[256], date[64];
	struct sigaction sa;
	struct utsname uts;
	struct bench b;
	unsigned int mi, si;
	time_t t;
	int c, ret = EXIT_SUCCESS;

	memset(&b, 0, sizeof(b));
	b.iterations = DEF_ITERATIONS;
	b.min_iters = DEF_MIN_ITERS;
	b.pin = true;
	b.heap_fd = -1;
	b.huge_orig = -1;
	b.page_size = sysconf(_SC_PAGESIZE);
	memcpy(b.sizes, default_sizes, sizeof(default_sizes));
	b.nsizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	for (mi = 0; mi < M_COUNT; mi++)
		sel[mi] = true;

	while ((c = getopt_long(argc, argv, "n:s:i:qm:Vh", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_node(optarg, &b.node) ||
			    b.node == NUMABUF_NODE_LOCAL ||
			    b.node >= MAX_NODES)
				return usage_error("invalid node", optarg);
			break;
		case 's':
			if (parse_sizes(&b, optarg))
				return usage_error("invalid size list", optarg);
			sizes_given = true;
			break;
		case 'i':
			if (parse_uint(optarg, 1, &b.iterations))
				return usage_error("invalid iteration count",
						   optarg);
			iters_given = true;
			break;
		case OPT_MIN_ITERS:
			if (parse_uint(optarg, 1, &b.min_iters))
				return usage_error("invalid iteration count",
						   optarg);
			min_given = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'm':
			if (parse_methods(sel, optarg))
				return usage_error("invalid method list",
						   optarg);
			break;
		case OPT_RESERVE_HUGE:
			b.reserve_huge = true;
			break;
		case OPT_NO_PIN:
			b.pin = false;
			break;
		case OPT_CSV:
			b.csv_path = optarg;
			break;
		case OPT_JSON:
			b.json_path = optarg;
			break;
		case OPT_LIST:
			for (mi = 0; mi < M_COUNT; mi++)
				printf("%-14s %s\n", methods[mi].name,
				       methods[mi].what);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s %s\n", prog, NUMABUF_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (quick) {
		if (!sizes_given) {
			memcpy(b.sizes, quick_sizes, sizeof(quick_sizes));
			b.nsizes = sizeof(quick_sizes) / sizeof(quick_sizes[0]);
		}
		if (!iters_given)
			b.iterations = QUICK_ITERS;
		if (!min_given)
			b.min_iters = QUICK_MIN_ITERS;
	}
	if (b.min_iters > b.iterations)
		b.min_iters = b.iterations;
	b.nodemask[b.node / (8 * sizeof(unsigned long))] |=
		1UL << (b.node % (8 * sizeof(unsigned long)));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uname(&uts);
	snprintf(kernel, sizeof(kernel), "%s", uts.release);
	t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	if (b.pin)
		pin_to_node(&b);
	b.timer_ns = timer_cost();

	for (mi = 0; mi < M_COUNT; mi++) {
		const struct method *m = &methods[mi];
		char why[REASON_LEN] = "";
		int err = 0;

		for (si = 0; si < b.nsizes; si++) {
			res[mi][si].size = b.sizes[si];
			res[mi][si].vs_general = NAN;
			res[mi][si].vs_pool = NAN;
		}
		if (!sel[mi])
			continue;
		if (stop) {
			for (si = 0; si < b.nsizes; si++) {
				res[mi][si].status = ST_SKIPPED;
				set_reason(res[mi][si].reason, REASON_LEN,
					   "interrupted");
			}
			continue;
		}
		if (m->setup)
			err = m->setup(&b, why);
		for (si = 0; si < b.nsizes; si++) {
			struct result *r = &res[mi][si];

			if (err) {
				r->status = ST_UNAVAILABLE;
				r->err = err;
				snprintf(r->reason, REASON_LEN, "%s", why);
			} else if (stop) {
				r->status = ST_SKIPPED;
				set_reason(r->reason, REASON_LEN, "interrupted");
			} else {
				run_one(&b, m, b.sizes[si], r);
			}
			progress(m, r);
		}
		if (m->teardown)
			m->teardown(&b);
		/* The pool goes back as soon as no later method needs it. */
		if (m->uses_pool) {
			unsigned int later;
			bool needed = false;

			for (later = mi + 1; later < M_COUNT; later++)
				needed |= sel[later] && methods[later].uses_pool;
			if (!needed)
				pool_teardown(&b);
		}
	}
	pool_teardown(&b);
	numabuf_close(b.ctx);

	compute_ratios(&b, res, sel);
	print_report(&b, res, sel, kernel, date);
	fflush(stdout);
	if (b.csv_path && write_file(b.csv_path, &b, res, sel, kernel, date,
				     false))
		ret = EXIT_FAILURE;
	if (b.json_path && write_file(b.json_path, &b, res, sel, kernel, date,
				      true))
		ret = EXIT_FAILURE;
	if (b.pool_restore_failed)
		ret = EXIT_FAILURE;
	return stop ? EXIT_STOPPED : ret;
}
