// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libnumabuf against the real /dev/numabuf, in the guest.
 *
 * Self-contained: its own main() (the harness's weak one is not used) and
 * its own witnesses, none of which ask the library or the module:
 * move_pages(2) for the node of each page, /proc/self/pagemap for frame
 * numbers, debugfs numabuf/stats for what the module holds.
 *
 * Each check runs in a forked child, so a crash or a hang (60 s) is a FAIL
 * of that check only, and whatever a check leaves behind is gone before
 * the next one.  One line per check:
 *
 *	PASS lib_<name>
 *	FAIL lib_<name>: reason
 *	SKIP lib_<name>: reason
 *
 * Exit status 0 whatever the results.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <numabuf.h>

#define TL_STATS	"/sys/kernel/debug/numabuf/stats"
#define TL_SYSFS_NODE	"/sys/devices/system/node"
#define TL_MAX_NODES	1024
#define TL_TIMEOUT	60
#define TL_UNPRIV_ID	65534	/* nobody / nogroup */
#define TL_MIB		(1024UL * 1024)

/* ---- results ------------------------------------------------------------ */

enum { TL_PASS, TL_FAIL, TL_SKIP };

/* State of the check running in this (child) process; the first reason wins. */
static int tl_verdict;
static char tl_reason[512];

__attribute__((format(printf, 2, 3)))
static void tl_set(int verdict, const char *fmt, ...)
{
	va_list ap;

	if (tl_verdict != TL_PASS)
		return;
	tl_verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(tl_reason, sizeof(tl_reason), fmt, ap);
	va_end(ap);
}

#define FAIL(...)	tl_set(TL_FAIL, __VA_ARGS__)
#define SKIP(...)	tl_set(TL_SKIP, __VA_ARGS__)
/* In a check function: fail and return unless @cond. */
#define CHECK(cond, ...)					\
	do {							\
		if (!(cond)) {					\
			FAIL(__VA_ARGS__);			\
			return;					\
		}						\
	} while (0)

static const char *tl_err(int neg)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%d (%s)", neg,
		 neg < 0 ? strerror(-neg) : neg ? "?" : "success");
	return buf;
}

/* Set when no check can run; every check then SKIPs with this reason. */
static char tl_no_device[256];

/*
 * Run @fn(@arg) in a child and print its line.  The child prints its own
 * result; the parent speaks only when the child did not (crash, timeout).
 */
static void tl_run(const char *name, void (*fn)(const void *arg),
		   const void *arg)
{
	int status;
	pid_t pid;

	if (*tl_no_device && strcmp(name, "lib_open_close") &&
	    strcmp(name, "lib_open_missing")) {
		printf("SKIP %s: %s\n", name, tl_no_device);
		fflush(stdout);
		return;
	}

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("FAIL %s: fork: %s\n", name, strerror(errno));
		return;
	}
	if (pid == 0) {
		alarm(TL_TIMEOUT);
		tl_verdict = TL_PASS;
		fn(arg);
		if (tl_verdict == TL_PASS)
			printf("PASS %s\n", name);
		else
			printf("%s %s: %s\n", tl_verdict == TL_SKIP ? "SKIP" : "FAIL",
			       name, tl_reason);
		fflush(stdout);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			printf("FAIL %s: timed out after %d s\n", name, TL_TIMEOUT);
		else
			printf("FAIL %s: killed by signal %d (%s)\n", name,
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("FAIL %s: exited with status %#x\n", name, status);
	}
	fflush(stdout);
}

/* ---- witnesses ---------------------------------------------------------- */

static size_t tl_page;

/* Parse a sysfs list ("0-3,5") into @ids; returns how many, or -1. */
static int tl_parse_list(const char *s, int *ids, int max)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		long a, b;

		a = strtol(s, &end, 10);
		if (end == s || a < 0)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				return -1;
		}
		for (; a <= b; a++) {
			if (n == max)
				return -1;
			ids[n++] = (int)a;
		}
		s = end;
		if (*s == ',')
			s++;
	}
	return n;
}

/* Nodes in sysfs node list @file ("online", "has_memory"). */
static int tl_nodes(const char *file, int *ids, int max)
{
	char path[128], buf[4096];
	FILE *f;
	int n = -1;

	snprintf(path, sizeof(path), TL_SYSFS_NODE "/%s", file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		n = tl_parse_list(buf, ids, max);
	fclose(f);
	return n;
}

static int tl_node_has_memory(int node)
{
	static int ids[TL_MAX_NODES];
	int i, n = tl_nodes("has_memory", ids, TL_MAX_NODES);

	for (i = 0; i < n; i++)
		if (ids[i] == node)
			return 1;
	return 0;
}

/*
 * Check with move_pages(2) that every page of the buffer is on @node.
 * Returns 0, or fails the check and returns -1.
 */
static int tl_expect_node(void *addr, size_t len, int node)
{
	size_t i, n = len / tl_page;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int ret = 0;

	if (!pages || !status) {
		FAIL("out of memory");
		ret = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		pages[i] = (char *)addr + i * tl_page;
		status[i] = INT_MIN;
	}
	if (move_pages(0, n, pages, NULL, status, 0) < 0) {
		FAIL("move_pages: %s", strerror(errno));
		ret = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (status[i] != node) {
			FAIL("page %zu of %zu is on node %d (move_pages), want %d",
			     i, n, status[i], node);
			ret = -1;
			break;
		}
	}
out:
	free(pages);
	free(status);
	return ret;
}

/*
 * Frame numbers of the pages of [addr, addr + len) from /proc/self/pagemap
 * (0 if not present or not privileged).  Returns 0 or -errno.
 */
static int tl_pfns(void *addr, size_t len, uint64_t *pfn)
{
	size_t i, n = len / tl_page;
	off_t off = (off_t)((uintptr_t)addr / tl_page * sizeof(uint64_t));
	int fd, err = 0;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		uint64_t e;

		if (pread(fd, &e, sizeof(e), off + (off_t)(i * sizeof(e))) !=
		    (ssize_t)sizeof(e)) {
			err = -EIO;
			break;
		}
		pfn[i] = (e >> 63) ? e & ((UINT64_C(1) << 55) - 1) : 0;
	}
	close(fd);
	return err;
}

struct tl_stats {
	long long buffers;
	long long bytes;
};

/* The 'all' line of the module's counters; -errno if unreadable. */
static int tl_stats(struct tl_stats *s)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen(TL_STATS, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "all %lld %lld", &s->buffers, &s->bytes) == 2)
			found = 1;
	fclose(f);
	return found ? 0 : -ENODATA;
}

/* Wait up to 2 s for the counters to reach @want; 0 if they did. */
static int tl_stats_wait(const struct tl_stats *want, struct tl_stats *got)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (tl_stats(got))
			return -1;
		if (got->buffers == want->buffers && got->bytes == want->bytes)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static uint64_t tl_pattern(size_t i, uint64_t seed)
{
	return (i + 1) * UINT64_C(0x9e3779b97f4a7c15) ^ seed;
}

/* ---- checks --------------------------------------------------------------- */

static void check_open_close(const void *arg)
{
	struct numabuf_ctx *ctx = NULL;
	int ret, fd;

	(void)arg;
	ret = numabuf_open(&ctx);
	CHECK(!ret && ctx, "numabuf_open: %s", tl_err(ret));
	fd = numabuf_fd(ctx);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "fd %d not open or not close-on-exec", fd);
	numabuf_close(ctx);
	CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF,
	      "fd %d still open after numabuf_close", fd);
}

static void check_open_missing(const void *arg)
{
	struct numabuf_ctx *ctx = NULL;
	int ret;

	(void)arg;
	setenv(NUMABUF_DEVICE_ENV, "/nonexistent/numabuf", 1);
	ret = numabuf_open(&ctx);
	CHECK(ret == -ENOENT && !ctx, "numabuf_open with %s=/nonexistent: %s",
	      NUMABUF_DEVICE_ENV, tl_err(ret));
}

struct tl_alloc_case {
	int node;
	size_t size;
};

/*
 * Strict allocation on a node: reported size and node, every page on the
 * node by move_pages, zeroed, a pattern reads back, INFO agrees, and the
 * module's counters return to where they were after numabuf_free().
 */
static void check_alloc(const void *arg)
{
	const struct tl_alloc_case *c = arg;
	struct numabuf_bufinfo info;
	struct tl_stats base, now, want;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	uint64_t *w;
	size_t i, n;
	int ret, have_stats;

	if (!tl_node_has_memory(c->node)) {
		SKIP("node %d has no memory", c->node);
		return;
	}
	have_stats = !tl_stats(&base);

	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	ret = numabuf_alloc(ctx, c->size, c->node, 0, &buf);
	CHECK(!ret, "numabuf_alloc(%zu, node %d): %s", c->size, c->node,
	      tl_err(ret));

	CHECK(numabuf_size(buf) == c->size, "size %zu, want %zu",
	      numabuf_size(buf), c->size);
	CHECK(numabuf_node(buf) == c->node, "node %d, want %d (strict)",
	      numabuf_node(buf), c->node);
	CHECK(numabuf_handle(buf) != 0, "handle 0");
	w = numabuf_addr(buf);
	CHECK(w && !((uintptr_t)w % tl_page), "address %p not page aligned",
	      (void *)w);

	if (tl_expect_node(w, c->size, c->node))
		return;

	n = c->size / sizeof(*w);
	for (i = 0; i < n; i++)
		CHECK(!w[i], "byte %zu not zero: %#llx", i * sizeof(*w),
		      (unsigned long long)w[i]);
	for (i = 0; i < n; i++)
		w[i] = tl_pattern(i, c->size);
	for (i = 0; i < n; i++)
		CHECK(w[i] == tl_pattern(i, c->size),
		      "pattern mismatch at byte %zu", i * sizeof(*w));

	ret = numabuf_info(buf, &info);
	CHECK(!ret, "numabuf_info: %s", tl_err(ret));
	CHECK(info.size == c->size && info.node == c->node && info.flags == 0 &&
	      info.map_count == 1 && info.handle == numabuf_handle(buf),
	      "info: size %llu node %d flags %#x map_count %u handle %u",
	      (unsigned long long)info.size, info.node, info.flags,
	      info.map_count, info.handle);

	if (have_stats) {
		want.buffers = base.buffers + 1;
		want.bytes = base.bytes + (long long)c->size;
		CHECK(!tl_stats_wait(&want, &now),
		      "counters %lld buffers %lld bytes, want %lld %lld",
		      now.buffers, now.bytes, want.buffers, want.bytes);
	}

	ret = numabuf_free(buf);
	CHECK(!ret, "numabuf_free: %s", tl_err(ret));
	if (have_stats)
		CHECK(!tl_stats_wait(&base, &now),
		      "after free: %lld buffers %lld bytes, want %lld %lld",
		      now.buffers, now.bytes, base.buffers, base.bytes);
	numabuf_close(ctx);
}

/*
 * NUMABUF_NODE_LOCAL: pinned to each CPU in turn, the buffer comes from
 * that CPU's node (when it has memory) and move_pages agrees.
 */
static void check_node_local(const void *arg)
{
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	cpu_set_t allowed, one;
	int cpu, node, ret, tried = 0;

	(void)arg;
	CHECK(numa_available() >= 0, "libnuma: NUMA not available");
	CHECK(!sched_getaffinity(0, sizeof(allowed), &allowed),
	      "sched_getaffinity: %s", strerror(errno));
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));

	for (cpu = 0; cpu < CPU_SETSIZE && tried < 64; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		CHECK(!sched_setaffinity(0, sizeof(one), &one),
		      "sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
		node = numa_node_of_cpu(cpu);
		CHECK(node >= 0, "numa_node_of_cpu(%d): %s", cpu,
		      strerror(errno));

		ret = numabuf_alloc(ctx, 64 * 1024, NUMABUF_NODE_LOCAL, 0, &buf);
		CHECK(!ret, "cpu %d: numabuf_alloc(local): %s", cpu,
		      tl_err(ret));
		if (tl_node_has_memory(node))
			CHECK(numabuf_node(buf) == node,
			      "cpu %d: node %d, want the cpu's node %d", cpu,
			      numabuf_node(buf), node);
		if (tl_expect_node(numabuf_addr(buf), numabuf_size(buf),
				   numabuf_node(buf)))
			return;
		numabuf_free(buf);
		tried++;
	}
	CHECK(tried, "no CPU to run on");
	numabuf_close(ctx);
}

/* NUMABUF_F_PREFERRED: succeeds, and the node reported is the real one. */
static void check_preferred(const void *arg)
{
	static int nodes[TL_MAX_NODES];
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	int i, n, ret;

	(void)arg;
	n = tl_nodes("online", nodes, TL_MAX_NODES);
	CHECK(n > 0, "cannot read online nodes");
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	for (i = 0; i < n; i++) {
		ret = numabuf_alloc(ctx, 2 * TL_MIB, nodes[i],
				    NUMABUF_F_PREFERRED, &buf);
		CHECK(!ret, "node %d: numabuf_alloc(preferred): %s", nodes[i],
		      tl_err(ret));
		if (tl_expect_node(numabuf_addr(buf), numabuf_size(buf),
				   numabuf_node(buf)))
			return;
		numabuf_free(buf);
	}
	numabuf_close(ctx);
}

/* First online node with memory, or -1. */
static int tl_first_node(void)
{
	static int nodes[TL_MAX_NODES];
	int n = tl_nodes("has_memory", nodes, TL_MAX_NODES);

	return n > 0 ? nodes[0] : -1;
}

/*
 * As root, numabuf_phys is the frame of the first page per pagemap, and
 * the buffer is physically contiguous per pagemap.
 */
static void check_phys_root(const void *arg)
{
	size_t size = 4 * TL_MIB, i, n;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	uint64_t phys = 0, *pfn;
	int ret;

	(void)arg;
	if (geteuid() != 0) {
		SKIP("not root");
		return;
	}
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	ret = numabuf_alloc(ctx, size, tl_first_node(), 0, &buf);
	CHECK(!ret, "numabuf_alloc(4 MiB): %s", tl_err(ret));

	ret = numabuf_phys(buf, &phys);
	CHECK(!ret, "numabuf_phys: %s", tl_err(ret));
	CHECK(phys != 0, "numabuf_phys is 0 as root");
	CHECK(!(phys % tl_page), "phys %#llx not page aligned",
	      (unsigned long long)phys);

	n = size / tl_page;
	pfn = calloc(n, sizeof(*pfn));
	CHECK(pfn, "out of memory");
	ret = tl_pfns(numabuf_addr(buf), size, pfn);
	CHECK(!ret, "/proc/self/pagemap: %s", tl_err(ret));
	CHECK(pfn[0] * tl_page == phys,
	      "numabuf_phys %#llx, pagemap says %#llx",
	      (unsigned long long)phys, (unsigned long long)(pfn[0] * tl_page));
	for (i = 1; i < n; i++)
		CHECK(pfn[i] == pfn[0] + i,
		      "not contiguous: page %zu has pfn %#llx, want %#llx", i,
		      (unsigned long long)pfn[i],
		      (unsigned long long)(pfn[0] + i));
	free(pfn);
	numabuf_close(ctx);
}

/*
 * Without CAP_SYS_ADMIN (a child that drops to nobody), numabuf_phys
 * succeeds with 0 on the same buffer.
 */
static void check_phys_unprivileged(const void *arg)
{
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	uint64_t phys = 1;
	int ret, status;
	pid_t pid;

	(void)arg;
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	ret = numabuf_alloc(ctx, 64 * 1024, tl_first_node(), 0, &buf);
	CHECK(!ret, "numabuf_alloc: %s", tl_err(ret));

	if (geteuid() != 0) {
		ret = numabuf_phys(buf, &phys);
		CHECK(!ret && phys == 0, "numabuf_phys unprivileged: %s, %#llx",
		      tl_err(ret), (unsigned long long)phys);
		numabuf_close(ctx);
		return;
	}

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(TL_UNPRIV_ID, TL_UNPRIV_ID,
						    TL_UNPRIV_ID) ||
		    setresuid(TL_UNPRIV_ID, TL_UNPRIV_ID, TL_UNPRIV_ID))
			_exit(10);
		if (geteuid() != TL_UNPRIV_ID)
			_exit(11);
		ret = numabuf_phys(buf, &phys);
		if (ret)
			_exit(12);
		_exit(phys == 0 ? 0 : 13);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(status), "child died: status %#x", status);
	switch (WEXITSTATUS(status)) {
	case 0:
		break;
	case 10:
	case 11:
		FAIL("child could not drop privileges to %d", TL_UNPRIV_ID);
		return;
	case 12:
		FAIL("numabuf_phys failed without privileges");
		return;
	case 13:
		FAIL("numabuf_phys nonzero without CAP_SYS_ADMIN");
		return;
	default:
		FAIL("child exited with %d", WEXITSTATUS(status));
		return;
	}

	/* And the privileged view is unaffected. */
	ret = numabuf_phys(buf, &phys);
	CHECK(!ret && phys, "numabuf_phys as root after the child: %s, %#llx",
	      tl_err(ret), (unsigned long long)phys);
	numabuf_close(ctx);
}

/* numabuf_close releases buffers still allocated (module counters). */
static void check_close_frees(const void *arg)
{
	static const size_t sizes[] = { 4096, 64 * 1024, 2 * TL_MIB, 4 * TL_MIB };
	struct tl_stats base, now, want;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	int ret, node = tl_first_node();
	size_t i;

	(void)arg;
	ret = tl_stats(&base);
	if (ret) {
		SKIP("%s: %s", TL_STATS, strerror(-ret));
		return;
	}
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	want = base;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ret = numabuf_alloc(ctx, sizes[i], node, 0, &buf);
		CHECK(!ret, "numabuf_alloc(%zu): %s", sizes[i], tl_err(ret));
		want.buffers++;
		want.bytes += (long long)sizes[i];
	}
	CHECK(!tl_stats_wait(&want, &now),
	      "with 4 buffers: %lld buffers %lld bytes, want %lld %lld",
	      now.buffers, now.bytes, want.buffers, want.bytes);
	numabuf_close(ctx);
	CHECK(!tl_stats_wait(&base, &now),
	      "after numabuf_close: %lld buffers %lld bytes, want %lld %lld",
	      now.buffers, now.bytes, base.buffers, base.bytes);
}

/*
 * A fork child frees an inherited buffer: the library must not release the
 * handle, which belongs to the parent and lives in the shared file.
 */
static void check_fork_child_free(const void *arg)
{
	struct numabuf_bufinfo info;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	int ret, status;
	pid_t pid;

	(void)arg;
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	ret = numabuf_alloc(ctx, 4096, tl_first_node(), 0, &buf);
	CHECK(!ret, "numabuf_alloc: %s", tl_err(ret));

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		numabuf_close(ctx);	/* frees the child's view only */
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "child failed: status %#x", status);

	ret = numabuf_info(buf, &info);
	CHECK(!ret, "parent's handle gone after the child closed: %s",
	      tl_err(ret));
	ret = numabuf_free(buf);
	CHECK(!ret, "numabuf_free in the parent: %s", tl_err(ret));
	numabuf_close(ctx);
}

#define TL_THREADS	4
#define TL_ROUNDS	200

static void *tl_thread(void *arg)
{
	struct numabuf_ctx *ctx = arg;
	struct numabuf *buf;
	long errors = 0;
	int i;

	for (i = 0; i < TL_ROUNDS; i++) {
		if (numabuf_alloc(ctx, 4096 << (i % 4), NUMABUF_NODE_LOCAL,
				  NUMABUF_F_PREFERRED, &buf)) {
			errors++;
			continue;
		}
		*(volatile uint64_t *)numabuf_addr(buf) = (uint64_t)i;
		if (i % 50 && numabuf_free(buf))
			errors++;	/* every 50th is left for close */
	}
	return (void *)errors;
}

/* Threads allocate and free on one context; close releases the rest. */
static void check_threads(const void *arg)
{
	pthread_t th[TL_THREADS];
	struct tl_stats base, now;
	struct numabuf_ctx *ctx;
	long errors = 0;
	int i, ret, have_stats;
	void *r;

	(void)arg;
	have_stats = !tl_stats(&base);
	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	for (i = 0; i < TL_THREADS; i++)
		CHECK(!pthread_create(&th[i], NULL, tl_thread, ctx),
		      "pthread_create failed");
	for (i = 0; i < TL_THREADS; i++) {
		pthread_join(th[i], &r);
		errors += (long)r;
	}
	CHECK(!errors, "%ld failed calls in %d threads", errors, TL_THREADS);
	numabuf_close(ctx);
	if (have_stats)
		CHECK(!tl_stats_wait(&base, &now),
		      "after close: %lld buffers %lld bytes, want %lld %lld",
		      now.buffers, now.bytes, base.buffers, base.bytes);
}

struct tl_err_case {
	size_t size;
	int node;
	unsigned int flags;
	int err;	/* expected */
	int alt;	/* also accepted, or 0 */
	const char *why;
};

static void check_error(const void *arg)
{
	const struct tl_err_case *c = arg;
	struct numabuf_ctx *ctx;
	struct numabuf *buf = NULL;
	int ret;

	ret = numabuf_open(&ctx);
	CHECK(!ret, "numabuf_open: %s", tl_err(ret));
	ret = numabuf_alloc(ctx, c->size, c->node, c->flags, &buf);
	CHECK(ret == c->err || (c->alt && ret == c->alt),
	      "size %zu node %d flags %#x: %s, want %d%s", c->size, c->node,
	      c->flags, tl_err(ret), c->err, c->why);
	CHECK(!buf, "buffer returned despite the error");
	numabuf_close(ctx);
}

/* ---- main ------------------------------------------------------------------- */

int main(void)
{
	static const size_t sizes[] = { 4096, 64 * 1024, 2 * TL_MIB, 4 * TL_MIB };
	static const char *const size_names[] = { "4KiB", "64KiB", "2MiB", "4MiB" };
	static const struct tl_err_case errs[] = {
		{ 0,		0,	0,	 -EINVAL, 0, " (size 0)" },
		{ (size_t)1 << 36, 0,	0,	 -ENOMEM, 0, " (more than a node has)" },
		/*
		 * 1000 is EINVAL only if MAX_NUMNODES <= 1000; with
		 * CONFIG_NODES_SHIFT=10 (Debian amd64) it is in range but not
		 * online: ENODEV (docs/interfaces.md).
		 */
		{ 4096,		1000,	0,	 -EINVAL, -ENODEV,
		  " (or -ENODEV if MAX_NUMNODES > 1000)" },
		{ 4096,		1 << 20, 0,	 -EINVAL, 0, " (node >= MAX_NUMNODES)" },
		{ 4096,		-2,	0,	 -EINVAL, 0, " (node below -1)" },
		{ 4096,		0,	1U << 31, -EINVAL, 0, " (unknown flag)" },
		{ SIZE_MAX,	0,	0,	 -EINVAL, 0,
		  " (length overflows when rounded up)" },
	};
	static const char *const err_names[] = {
		"lib_err_size0", "lib_err_64gib", "lib_err_node1000",
		"lib_err_node_huge", "lib_err_node_neg", "lib_err_flags",
		"lib_err_size_overflow",
	};
	static struct tl_alloc_case cases[TL_MAX_NODES * 4];
	static int nodes[TL_MAX_NODES];
	struct numabuf_ctx *ctx;
	char name[64];
	int i, j, n, ret, ncases = 0;

	tl_page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	ret = numabuf_open(&ctx);
	if (ret)
		snprintf(tl_no_device, sizeof(tl_no_device),
			 "cannot open %s: %s", NUMABUF_DEVICE_PATH,
			 strerror(-ret));
	else
		numabuf_close(ctx);

	tl_run("lib_open_close", check_open_close, NULL);
	tl_run("lib_open_missing", check_open_missing, NULL);

	n = tl_nodes("online", nodes, TL_MAX_NODES);
	if (n <= 0) {
		printf("FAIL lib_alloc: cannot read %s/online\n", TL_SYSFS_NODE);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < 4; j++) {
			struct tl_alloc_case *c = &cases[ncases++];

			c->node = nodes[i];
			c->size = sizes[j];
			snprintf(name, sizeof(name), "lib_alloc_node%d_%s",
				 nodes[i], size_names[j]);
			tl_run(name, check_alloc, c);
		}
	}

	tl_run("lib_node_local", check_node_local, NULL);
	tl_run("lib_preferred", check_preferred, NULL);
	tl_run("lib_phys_root", check_phys_root, NULL);
	tl_run("lib_phys_unprivileged", check_phys_unprivileged, NULL);
	tl_run("lib_close_frees", check_close_frees, NULL);
	tl_run("lib_fork_child_free", check_fork_child_free, NULL);
	tl_run("lib_threads", check_threads, NULL);
	for (i = 0; i < (int)(sizeof(errs) / sizeof(errs[0])); i++)
		tl_run(err_names[i], check_error, &errs[i]);

	return 0;
}
