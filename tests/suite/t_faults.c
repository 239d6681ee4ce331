// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: the kernel's allocations (failslab, fail_page_alloc)
 * and user copies (fail_usercopy) fail under numabuf's calls, and every
 * failure must come out as a clean errno with nothing leaked: ENOMEM for a
 * failed allocation, EFAULT for a failed copy and nothing else, never an
 * Oops, KASAN, lockdep or WARN report, and the module's counters, the
 * mappings (INFO map_count against /proc/self/maps), VmPin and free memory
 * where they belong afterwards.
 *
 * Only kernels built with CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB
 * and CONFIG_FAIL_PAGE_ALLOC have /sys/kernel/debug/failslab and
 * /sys/kernel/debug/fail_page_alloc (the sanitizer lane's debug kernel);
 * elsewhere the tests SKIP.
 *
 * Two ways of injecting:
 *  - faults_each_point: for each call (open, ALLOC of several sizes, mmap,
 *    a splitting munmap, a moving mremap, fork of a process with numabuf
 *    mappings, INFO, FREE), /proc/thread-self/fail-nth fails its 1st,
 *    2nd, 3rd ... fault point in turn until the call gets through all of
 *    them: every point is hit once, deterministically.  Which facility
 *    failed is read from the 'times' counters, so ENOMEM is expected for
 *    an allocation and EFAULT for a copy, exactly.
 *  - faults_random: worker processes run a mixed workload (ALLOC of all
 *    sizes, mmap, munmap, mremap, FREE, INFO, close and reopen, fork) with
 *    failslab and fail_page_alloc failing allocations at random, restricted
 *    to those processes (task-filter, /proc/thread-self/make-it-fail) and
 *    to their numabuf calls.
 *
 * What is not injected, and why: page allocations below fail_page_alloc's
 * min-order, which is set above the smallest order of every slab cache.
 * A slab whose last-resort page allocation fails prints "SLUB: Unable to
 * allocate memory" (a warning), and a user page fault that fails prints
 * "VM_FAULT_OOM leaked out"; neither would be numabuf's doing.  For the
 * same reason injection is armed only inside numabuf's calls, never around
 * fork (a child inherits make-it-fail) or plain memory accesses, and
 * fork's own failure paths are covered by the fail-nth walk instead (a
 * child does not inherit fail-nth).  Buffers below min-order still meet
 * injected failures in their slab allocations.
 *
 * Environment: NB_FAULTS_OPS (operations per worker in faults_random,
 * default 3000), NB_FAULTS_SEED.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define P		4096UL
#define DBG		"/sys/kernel/debug/"

/* ---- the fault attributes ---- */

enum { FA_SLAB, FA_PAGE, FA_COPY, FA_N };

static const char *const fa_dir[FA_N] = {
	DBG "failslab", DBG "fail_page_alloc", DBG "fail_usercopy",
};
static const char *const fa_name[FA_N] = { "failslab", "fail_page_alloc", "fail_usercopy" };

static const char *const fa_knobs[] = {
	"probability", "interval", "times", "space", "verbose", "task-filter",
	"ignore-gfp-wait", "cache-filter", "ignore-gfp-highmem", "min-order",
};
#define FA_NKNOBS (sizeof(fa_knobs) / sizeof(fa_knobs[0]))

static bool fa_have[FA_N];
static char fa_saved[FA_N][FA_NKNOBS][64];
static int fa_min_order;

static int fa_read(int a, const char *knob, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fa_dir[a], knob);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static void fa_write(int a, const char *knob, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fa_dir[a], knob);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		NB_FAIL("write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

static long long fa_times(int a)
{
	char buf[64];

	if (!fa_have[a] || fa_read(a, "times", buf, sizeof(buf)))
		return 0;
	return atoll(buf);
}

/* Skip unless failslab and fail_page_alloc are there; save every knob. */
static void fa_setup(void)
{
	size_t k;
	int a;

	for (a = 0; a < FA_N; a++)
		fa_have[a] = access(fa_dir[a], F_OK) == 0;
	if (!fa_have[FA_SLAB] || !fa_have[FA_PAGE])
		nb_skip("no %s%s%s in this kernel: fault injection needs CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC (the sanitizer lane's debug kernel has them; Debian's do not)",
			!fa_have[FA_SLAB] ? fa_dir[FA_SLAB] : "",
			!fa_have[FA_SLAB] && !fa_have[FA_PAGE] ? " or " : "",
			!fa_have[FA_PAGE] ? fa_dir[FA_PAGE] : "");
	for (a = 0; a < FA_N; a++)
		for (k = 0; k < FA_NKNOBS && fa_have[a]; k++)
			if (fa_read(a, fa_knobs[k], fa_saved[a][k], sizeof(fa_saved[a][k])))
				fa_saved[a][k][0] = 0;
}

static void fa_restore(void)
{
	size_t k;
	int a;

	for (a = 0; a < FA_N; a++) {
		if (!fa_have[a])
			continue;
		/* probability first, so nothing fires half-restored */
		if (fa_saved[a][0][0])
			fa_write(a, "probability", fa_saved[a][0]);
		for (k = 1; k < FA_NKNOBS; k++)
			if (fa_saved[a][k][0])
				fa_write(a, fa_knobs[k], fa_saved[a][k]);
	}
}

/*
 * The smallest order fail_page_alloc may fail: above the smallest slab
 * order of every cache (from /sys/kernel/slab/<cache>/slab_size), so that
 * no slab's last-resort page allocation fails, and at least 1.  Caches of
 * objects too big for SLUB's usual orders (0-3: 9p's 500 KB message
 * buffers) are left out: numabuf's calls never allocate from them.
 */
static int fa_pick_min_order(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *de;
	int max = 0;

	if (!d)
		return 4;	/* above SLUB's usual orders */
	while ((de = readdir(d))) {
		char path[512], buf[64];
		long size;
		int order = 0, fd;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/slab_size", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		size = atol(buf);
		while ((P << order) < (unsigned long)size)
			order++;
		if (order <= 3 && order > max)
			max = order;
	}
	closedir(d);
	return max + 1;
}

/* Common settings: nothing fires by probability, each failure counted. */
static void fa_configure(int slab_pct, int page_pct, bool task_filter)
{
	char v[32];
	int a;

	fa_min_order = fa_pick_min_order();
	for (a = 0; a < FA_N; a++) {
		if (!fa_have[a])
			continue;
		fa_write(a, "probability", "0");
		fa_write(a, "interval", "1");
		fa_write(a, "space", "0");
		fa_write(a, "verbose", "0");
		fa_write(a, "times", "100000000");
		fa_write(a, "task-filter", task_filter ? "Y" : "N");
	}
	fa_write(FA_SLAB, "ignore-gfp-wait", "N");
	fa_write(FA_SLAB, "cache-filter", "N");
	fa_write(FA_PAGE, "ignore-gfp-wait", "N");
	fa_write(FA_PAGE, "ignore-gfp-highmem", "Y");
	snprintf(v, sizeof(v), "%d", fa_min_order);
	fa_write(FA_PAGE, "min-order", v);
	snprintf(v, sizeof(v), "%d", slab_pct);
	fa_write(FA_SLAB, "probability", v);
	snprintf(v, sizeof(v), "%d", page_pct);
	fa_write(FA_PAGE, "probability", v);
}

/* ---- checks shared by both tests ---- */

static long long fa_vmpin_kb(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * VMAs of this process that map [offset, offset + len) of the file
 * (pgoff << PAGE_SHIFT in /proc/self/maps), within [lo, hi) if hi.
 */
static int fa_count_vmas(uint64_t offset, uint64_t len, uintptr_t lo, uintptr_t hi)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	NB_CHECK(f, "open /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;

		if (!strstr(line, NB_DEV))
			continue;
		if (sscanf(line, "%llx-%llx %*s %llx", &start, &end, &off) != 3)
			continue;
		if (off < offset || off >= offset + len)
			continue;
		if (hi && (start < lo || end > hi))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

static uint32_t fa_map_count(int fd, uint32_t handle)
{
	struct numabuf_info inf;
	int ret = nb_info(fd, handle, &inf);

	NB_CHECK(!ret, "INFO of handle %u: %s", handle, nb_errname(-ret));
	return inf.map_count;
}

/* Every page of [p, p + n pages) present, on the buffer's frames from @pfn0. */
static void fa_check_present(const char *what, void *p, size_t n, uint64_t pfn0)
{
	uint64_t *pfn = calloc(n, sizeof(*pfn));
	size_t i;

	NB_CHECK(pfn, "out of memory");
	nb_pfns(p, n, pfn);
	for (i = 0; i < n; i++)
		if (pfn[i] != pfn0 + i)
			NB_FAIL("%s: page %zu of %zu maps frame %#llx, expected %#llx",
				what, i, n, (unsigned long long)pfn[i],
				(unsigned long long)(pfn0 + i));
	free(pfn);
}

/* ---- faults_each_point: fail-nth ---- */

struct fn_result {
	int points;		/* fault points the call went through */
	int failed[FA_N];	/* injected failures that made it fail */
	int tolerated;		/* injected failures it survived */
};

static int fn_fd = -1;

#define FN_MAX_POINTS	5000

static void fn_arm(unsigned int n, long long times[FA_N])
{
	char buf[16];
	int a, len = snprintf(buf, sizeof(buf), "%u", n);

	for (a = 0; a < FA_N; a++)
		times[a] = fa_times(a);
	if (pwrite(fn_fd, buf, len, 0) != len)
		NB_FAIL("write /proc/thread-self/fail-nth: %s", strerror(errno));
}

/*
 * After the call: was the armed failure injected in it, and by which
 * facility (-1: not injected).  Disarms fail-nth.
 */
static int fn_disarm(const long long times[FA_N])
{
	char buf[16];
	ssize_t n = pread(fn_fd, buf, sizeof(buf) - 1, 0);
	bool injected;
	int a, which = -1;

	/*
	 * The read's own copy to user space is a fault point: if it failed
	 * (EFAULT), one point was left after the call, so none fired in it.
	 */
	injected = n > 0 && (buf[n] = 0, atoi(buf) == 0);
	while (pwrite(fn_fd, "0", 1, 0) != 1)
		if (errno != EFAULT)
			NB_FAIL("write /proc/thread-self/fail-nth: %s", strerror(errno));
	if (!injected)
		return -1;
	for (a = 0; a < FA_N; a++)
		if (fa_have[a] && fa_times(a) != times[a])
			which = a;
	/* another facility (fail_futex, ...): treat as a copy, never here */
	return which < 0 ? FA_N : which;
}

/*
 * Check one result against the facility that failed: an allocation ->
 * ENOMEM (or success, when the kernel copes: kmemleak, KASAN and memcg
 * bookkeeping allocations may fail quietly); a copy -> EFAULT, never
 * success.  ENOMEM for fork may be EAGAIN.
 */
static void fn_judge(const char *what, unsigned int n, int which, long ret, int err,
		     struct fn_result *r, bool is_fork)
{
	r->points++;
	if (n + 1 >= FN_MAX_POINTS)
		NB_FAIL("%s: more than %d fault points", what, FN_MAX_POINTS);
	if (which < 0) {
		if (ret < 0)
			NB_FAIL("%s with fault point %u armed but not reached: %s, nothing was injected",
				what, n, nb_errname(err));
		return;
	}
	if (which == FA_COPY || which == FA_N) {
		if (ret >= 0)
			NB_FAIL("%s: fault point %u, a failed user copy (%s), went unnoticed: the call succeeded",
				what, n, which == FA_N ? "other" : fa_name[which]);
		if (err != EFAULT)
			NB_FAIL("%s: fault point %u, a failed user copy, gave %s, expected EFAULT",
				what, n, nb_errname(err));
		r->failed[FA_COPY]++;
		return;
	}
	if (ret >= 0) {
		r->tolerated++;
		return;
	}
	if (err != ENOMEM && !(is_fork && err == EAGAIN))
		NB_FAIL("%s: fault point %u, a failed allocation (%s), gave %s, expected ENOMEM",
			what, n, fa_name[which], nb_errname(err));
	r->failed[which]++;
}

static void fn_note(const char *what, const struct fn_result *r)
{
	nb_note("%-28s %3d fault points: %d ENOMEM by failslab, %d by fail_page_alloc, %d EFAULT by fail_usercopy, %d survived",
		what, r->points, r->failed[FA_SLAB], r->failed[FA_PAGE],
		r->failed[FA_COPY], r->tolerated);
}


/* open(/dev/numabuf) */
static void fn_walk_open(void)
{
	struct nb_stats s0 = nb_stats_read();
	struct fn_result r = { 0 };
	long long t[FA_N];
	unsigned int n;

	for (n = 1; n < FN_MAX_POINTS; n++) {
		int fd, err, which;

		fn_arm(n, t);
		fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
		err = errno;
		which = fn_disarm(t);
		fn_judge("open", n, which, fd, err, &r, false);
		if (fd >= 0) {
			struct numabuf_alloc a = nb_alloc_ok(fd, P, NUMABUF_NODE_LOCAL, 0);

			NB_CHECK(!nb_free(fd, a.handle), "FREE");
			close(fd);
		}
		NB_STATS_EXPECT(s0, 0, 0);
		if (which < 0)
			break;
	}
	fn_note("open", &r);
}

/* ALLOC of @len: on failure nothing charged, nothing held. */
static void fn_walk_alloc(uint64_t len, uint32_t flags)
{
	struct nb_stats s0 = nb_stats_read();
	long long pin0 = fa_vmpin_kb(), t[FA_N];
	struct fn_result r = { 0 };
	char what[64];
	int fd = nb_open();
	unsigned int n;

	snprintf(what, sizeof(what), "ALLOC %llu KiB%s", (unsigned long long)len / 1024,
		 flags ? " PREFERRED" : "");
	for (n = 1; n < FN_MAX_POINTS; n++) {
		struct numabuf_alloc a = {
			.size = sizeof(a), .length = len, .node = NUMABUF_NODE_LOCAL,
			.flags = flags,
		};
		int which, err;
		long ret;

		fn_arm(n, t);
		ret = ioctl(fd, NUMABUF_IOC_ALLOC, &a);
		err = errno;
		which = fn_disarm(t);
		fn_judge(what, n, which, ret, err, &r, false);
		if (ret == 0) {
			struct numabuf_info inf;
			char *p;

			NB_STATS_EXPECT(s0, 1, (long long)len);
			NB_CHECK(fa_vmpin_kb() == pin0 + (long long)(len / 1024),
				 "%s: VmPin %lld KiB with one buffer, %lld KiB before",
				 what, fa_vmpin_kb(), pin0);
			NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.length == len,
				 "%s: INFO of the new buffer", what);
			p = nb_map(fd, a.offset, len);
			NB_CHECK(nb_find_nonzero(p, len) == (size_t)-1,
				 "%s: a buffer made under fault injection is not zeroed", what);
			munmap(p, len);
			NB_CHECK(!nb_free(fd, a.handle), "FREE");
		}
		NB_STATS_EXPECT(s0, 0, 0);
		NB_CHECK(fa_vmpin_kb() == pin0,
			 "%s: fault point %u: VmPin %lld KiB after, %lld KiB before: a charge leaked",
			 what, n, fa_vmpin_kb(), pin0);
		if (which < 0)
			break;
	}
	close(fd);
	fn_note(what, &r);
}

/*
 * mmap of a whole 4 MiB buffer (page tables for 1024 entries), munmap of
 * its middle (a split), mremap of part of it elsewhere (a split and a
 * copy), fork with it mapped; after each, INFO's map_count is what
 * /proc/self/maps shows and what is mapped is the buffer's, present.
 */
enum { MM_MMAP, MM_MUNMAP, MM_MREMAP, MM_FORK };

static void fn_walk_mm(int kind)
{
	static const char *const names[] = { "mmap 4 MiB", "munmap a middle (split)",
					     "mremap a middle away", "fork with 2 mappings" };
	const size_t len = 4 * NB_MIB, np = len / P;
	struct nb_stats s0 = nb_stats_read();
	struct fn_result r = { 0 };
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_info inf;
	uint64_t pfn0;
	long long t[FA_N];
	unsigned int n;

	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO");
	pfn0 = inf.phys / P;
	for (n = 1; n < FN_MAX_POINTS; n++) {
		char *p = NULL, *dst = NULL, *q = NULL;
		int which, err = 0, vmas;
		long ret = 0;

		/* Set up, not armed. */
		if (kind != MM_MMAP)
			p = nb_map(fd, a.offset, len);
		if (kind == MM_MREMAP) {
			dst = mmap(NULL, 64 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			NB_CHECK(dst != MAP_FAILED, "mmap: %s", strerror(errno));
		}
		if (kind == MM_FORK)
			NB_SYS(munmap(p + 512 * P, 16 * P));	/* two VMAs */

		fn_arm(n, t);
		switch (kind) {
		case MM_MMAP:
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				 (off_t)a.offset);
			ret = p == MAP_FAILED ? -1 : 0;
			break;
		case MM_MUNMAP:
			ret = munmap(p + 256 * P, 64 * P);
			break;
		case MM_MREMAP:
			q = mremap(p + 256 * P, 64 * P, 64 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
			ret = q == MAP_FAILED ? -1 : 0;
			break;
		case MM_FORK:
			ret = fork();
			if (ret == 0)
				_exit(0);
			break;
		}
		err = errno;
		which = fn_disarm(t);
		fn_judge(names[kind], n, which, ret, err, &r, kind == MM_FORK);
		if (kind == MM_FORK && ret > 0)
			NB_WAIT_OK((pid_t)ret);

		/* What is mapped now: the kernel's count, the maps file, the frames. */
		vmas = fa_count_vmas(a.offset, len, 0, 0);
		NB_CHECK(fa_map_count(fd, a.handle) == (uint32_t)vmas,
			 "%s, fault point %u (%s): INFO map_count %u, /proc/self/maps shows %d mappings",
			 names[kind], n, ret < 0 ? nb_errname(err) : "success",
			 fa_map_count(fd, a.handle), vmas);
		if (kind == MM_MMAP && ret == 0)
			fa_check_present(names[kind], p, np, pfn0);
		if (kind == MM_MUNMAP || kind == MM_MREMAP) {
			/* the part that stayed (or all, if the call failed) */
			fa_check_present(names[kind], p, 256, pfn0);
			fa_check_present(names[kind], p + 320 * P, np - 320, pfn0 + 320);
			if (ret < 0)
				fa_check_present(names[kind], p + 256 * P, 64, pfn0 + 256);
			else if (kind == MM_MREMAP)
				fa_check_present(names[kind], q, 64, pfn0 + 256);
		}
		/* Tear down, not armed. */
		if (p && p != MAP_FAILED)
			NB_SYS(munmap(p, len));
		if (dst)
			munmap(dst, 64 * P);
		NB_CHECK(fa_map_count(fd, a.handle) == 0, "%s: still mapped after munmap",
			 names[kind]);
		NB_STATS_EXPECT(s0, 1, (long long)len);
		if (which < 0)
			break;
	}
	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	close(fd);
	NB_STATS_EXPECT(s0, 0, 0);
	fn_note(names[kind], &r);
}

/* INFO and FREE: copies only. A FREE that failed freed nothing. */
static void fn_walk_info_free(bool is_free)
{
	struct nb_stats s0 = nb_stats_read();
	struct fn_result r = { 0 };
	int fd = nb_open();
	unsigned int n;
	long long t[FA_N];

	for (n = 1; n < FN_MAX_POINTS; n++) {
		struct numabuf_alloc a = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		struct numabuf_free f = { .size = sizeof(f), .handle = a.handle };
		struct numabuf_info i = { .size = sizeof(i), .handle = a.handle };
		int which, err;
		long ret;

		fn_arm(n, t);
		ret = ioctl(fd, is_free ? NUMABUF_IOC_FREE : NUMABUF_IOC_INFO,
			    is_free ? (void *)&f : (void *)&i);
		err = errno;
		which = fn_disarm(t);
		fn_judge(is_free ? "FREE" : "INFO", n, which, ret, err, &r, false);
		if (!is_free && ret == 0)
			NB_CHECK(i.length == 64 * NB_KIB && i.offset == a.offset,
				 "INFO answered length %llu offset %#llx",
				 (unsigned long long)i.length, (unsigned long long)i.offset);
		if (is_free && ret == 0) {
			NB_CHECK(nb_info(fd, a.handle, NULL) == -ENOENT,
				 "FREE succeeded but the handle lives on");
		} else {
			NB_CHECK(!nb_info(fd, a.handle, NULL),
				 "a failed %s took the handle away", is_free ? "FREE" : "INFO");
			NB_CHECK(!nb_free(fd, a.handle), "FREE");
		}
		NB_STATS_EXPECT(s0, 0, 0);
		if (which < 0)
			break;
	}
	close(fd);
	fn_note(is_free ? "FREE" : "INFO", &r);
}

NB_TEST_TIMEOUT(faults_each_point,
	"each fault point of open, ALLOC (4 KiB to 4 MiB), mmap, a splitting munmap, a moving mremap, fork with mappings, INFO and FREE failed in turn (fail-nth): ENOMEM for a failed allocation, EFAULT for a failed copy, map_count and VmPin right, nothing held",
	1800)
{
	static const uint64_t lens[] = { P, 64 * NB_KIB, 512 * NB_KIB, 4 * NB_MIB };
	long long before[FA_N], after[FA_N];
	int a, status;
	size_t i;
	pid_t pid;

	fa_setup();
	if (access("/proc/thread-self/fail-nth", W_OK))
		nb_skip("no /proc/thread-self/fail-nth: %s", strerror(errno));
	/* probability 0 everywhere: only fail-nth injects, in one thread */
	fa_configure(0, 0, true);
	nb_note("fail_page_alloc min-order %d (above every slab's smallest order)%s",
		fa_min_order, fa_have[FA_COPY] ? "" : "; no fail_usercopy in this kernel");
	for (a = 0; a < FA_N; a++)
		before[a] = fa_times(a);

	/* The walks in a child, so the knobs are restored whatever happens. */
	pid = fork();
	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		NB_CHECK(fn_fd >= 0, "open fail-nth: %s", strerror(errno));
		fn_walk_open();
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			fn_walk_alloc(lens[i], 0);
		fn_walk_alloc(4 * NB_MIB, NUMABUF_F_PREFERRED);
		fn_walk_mm(MM_MMAP);
		fn_walk_mm(MM_MUNMAP);
		fn_walk_mm(MM_MREMAP);
		fn_walk_mm(MM_FORK);
		fn_walk_info_free(false);
		fn_walk_info_free(true);
		_exit(0);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	for (a = 0; a < FA_N; a++)
		after[a] = fa_times(a);
	fa_restore();
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		NB_FAIL("the walks failed (status %#x)", status);
	nb_note("injected: %lld by failslab, %lld by fail_page_alloc, %lld by fail_usercopy",
		before[FA_SLAB] - after[FA_SLAB], before[FA_PAGE] - after[FA_PAGE],
		before[FA_COPY] - after[FA_COPY]);
	NB_CHECK(before[FA_SLAB] > after[FA_SLAB] && before[FA_PAGE] > after[FA_PAGE],
		 "failslab and fail_page_alloc must both have injected failures (%lld, %lld)",
		 before[FA_SLAB] - after[FA_SLAB], before[FA_PAGE] - after[FA_PAGE]);
}

/* ---- faults_random: a mixed workload under random failures ---- */

#define FR_WORKERS	4
#define FR_BUFS		12
#define FR_MAPS		24

struct fr_stats {
	atomic_ullong ops;
	atomic_ullong calls[8], enomem[8];
	atomic_ullong forks, checks, left_behind;
};

static struct fr_stats *fr;
static int fr_mif = -1;		/* /proc/thread-self/make-it-fail */

enum { C_OPEN, C_ALLOC, C_MMAP, C_MUNMAP, C_MREMAP, C_FREE, C_INFO, C_N };
static const char *const fr_call[] = { "open", "ALLOC", "mmap", "munmap", "mremap",
				       "FREE", "INFO" };

static void fr_inject(bool on)
{
	if (pwrite(fr_mif, on ? "1" : "0", 1, 0) != 1)
		NB_FAIL("write make-it-fail: %s", strerror(errno));
}

struct fr_buf {
	uint32_t handle;	/* 0: slot free */
	uint64_t len, offset, pfn0;
};

struct fr_map {
	char *addr;
	size_t npages, first;
	int bi;			/* -1: free slot */
	bool empty;		/* its page table entries went elsewhere */
};

struct fr_worker {
	struct nb_rng r;
	int fd;
	struct fr_buf bufs[FR_BUFS];
	struct fr_map maps[FR_MAPS];
};

/* Count a result: success, or ENOMEM where @enomem_ok; else fail. */
static void fr_result(int call, long ret, int err, bool enomem_ok)
{
	atomic_fetch_add(&fr->calls[call], 1);
	if (ret >= 0)
		return;
	if (err == ENOMEM && enomem_ok) {
		atomic_fetch_add(&fr->enomem[call], 1);
		return;
	}
	if (call == C_ALLOC && err == EDQUOT)
		return;
	NB_FAIL("%s under random allocation failures: %s (only ENOMEM may come of them)",
		fr_call[call], nb_errname(err));
}

static int fr_map_slot(struct fr_worker *w)
{
	int i;

	for (i = 0; i < FR_MAPS; i++)
		if (w->maps[i].bi < 0)
			return i;
	return -1;
}

/* Mappings and counts agree, mapped pages present and the buffer's own. */
static void fr_check(struct fr_worker *w)
{
	int i, k;

	for (i = 0; i < FR_BUFS; i++) {
		struct fr_buf *b = &w->bufs[i];
		int vmas = 0;

		if (!b->handle)
			continue;
		for (k = 0; k < FR_MAPS; k++) {
			struct fr_map *m = &w->maps[k];

			if (m->bi != i)
				continue;
			vmas += fa_count_vmas(b->offset, b->len, (uintptr_t)m->addr,
					      (uintptr_t)m->addr + m->npages * P);
			if (!m->empty)
				fa_check_present("a mapping made under fault injection",
						 m->addr, m->npages, b->pfn0 + m->first);
		}
		NB_CHECK(fa_map_count(w->fd, b->handle) == (uint32_t)vmas,
			 "after calls that failed: INFO map_count %u, /proc/self/maps shows %d mappings",
			 fa_map_count(w->fd, b->handle), vmas);
	}
	atomic_fetch_add(&fr->checks, 1);
}

static void fr_forget_file(struct fr_worker *w)
{
	int i;

	for (i = 0; i < FR_MAPS; i++)
		if (w->maps[i].bi >= 0)
			w->maps[i].bi = FR_BUFS;	/* an old file's: not checked */
	memset(w->bufs, 0, sizeof(w->bufs));
}

static void fr_step(struct fr_worker *w, bool child)
{
	unsigned int op = nb_rnd_below(&w->r, 100);
	int bi = nb_rnd_below(&w->r, FR_BUFS), mi = nb_rnd_below(&w->r, FR_MAPS);
	struct fr_buf *b = &w->bufs[bi];
	struct fr_map *m = &w->maps[mi];
	long ret;
	int err;

	atomic_fetch_add(&fr->ops, 1);
	if (op < 30 && !b->handle) {
		/* sizes of every order, most big enough for fail_page_alloc */
		struct numabuf_alloc a = {
			.size = sizeof(a), .node = NUMABUF_NODE_LOCAL,
			.length = P << nb_rnd_below(&w->r, 11),
			.flags = nb_rnd_below(&w->r, 3) ? 0 : NUMABUF_F_PREFERRED,
		};

		fr_inject(true);
		ret = ioctl(w->fd, NUMABUF_IOC_ALLOC, &a);
		err = errno;
		fr_inject(false);
		fr_result(C_ALLOC, ret, err, true);
		if (!ret) {
			struct numabuf_info inf;

			NB_CHECK(!nb_info(w->fd, a.handle, &inf), "INFO of a new buffer");
			b->handle = a.handle;
			b->len = a.length;
			b->offset = a.offset;
			b->pfn0 = inf.phys / P;
		}
	} else if (op < 48 && b->handle && fr_map_slot(w) >= 0) {
		size_t np = b->len / P, first = nb_rnd_below(&w->r, np);
		size_t n = 1 + nb_rnd_below(&w->r, np - first);
		char *p;

		fr_inject(true);
		p = mmap(NULL, n * P, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd,
			 (off_t)(b->offset + first * P));
		err = errno;
		fr_inject(false);
		fr_result(C_MMAP, p == MAP_FAILED ? -1 : 0, err, true);
		if (p != MAP_FAILED) {
			m = &w->maps[fr_map_slot(w)];
			m->addr = p;
			m->npages = n;
			m->first = first;
			m->bi = bi;
			m->empty = false;
			if (bi < FR_BUFS)
				fa_check_present("a fresh mapping", p, n, b->pfn0 + first);
		}
	} else if (op < 60 && m->bi >= 0) {
		/* all of it, or a middle (a split, which may fail) */
		size_t a0 = 0, a1 = m->npages;

		if (m->npages > 2 && nb_rnd_below(&w->r, 2)) {
			a0 = 1 + nb_rnd_below(&w->r, m->npages - 2);
			a1 = a0 + 1;
		}
		fr_inject(true);
		ret = munmap(m->addr + a0 * P, (a1 - a0) * P);
		err = errno;
		fr_inject(false);
		fr_result(C_MUNMAP, ret, err, true);
		if (!ret && a0 == 0) {
			m->bi = -1;
		} else if (!ret) {
			/* keep the left part here, the right part in a new slot */
			int ni = fr_map_slot(w);

			if (ni < 0) {
				munmap(m->addr, m->npages * P);
				m->bi = -1;
			} else {
				w->maps[ni] = *m;
				w->maps[ni].addr = m->addr + a1 * P;
				w->maps[ni].first = m->first + a1;
				w->maps[ni].npages = m->npages - a1;
				m->npages = a0;
			}
		}
	} else if (op < 66 && m->bi >= 0 && m->npages >= 2 && !m->empty) {
		/*
		 * Move all of it elsewhere.  A munmap that failed half way may
		 * have left it split: mremap does not cross VMAs (EFAULT).  A
		 * move whose unmap of the old range fails with ENOMEM succeeds
		 * and leaves the old VMA in place, empty.
		 */
		uintptr_t lo = (uintptr_t)m->addr, hi = lo + m->npages * P;
		int vmas = fa_count_vmas(0, UINT64_MAX, lo, hi);
		char *dst = mmap(NULL, m->npages * P, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *q;

		NB_CHECK(dst != MAP_FAILED, "mmap: %s", strerror(errno));
		fr_inject(true);
		q = mremap(m->addr, m->npages * P, m->npages * P,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		err = errno;
		fr_inject(false);
		if (q == MAP_FAILED && err == EFAULT && vmas > 1)
			err = ENOMEM;	/* counted with the failures it comes of */
		fr_result(C_MREMAP, q == MAP_FAILED ? -1 : 0, err, true);
		if (q != MAP_FAILED) {
			int left = fa_count_vmas(0, UINT64_MAX, lo, hi), ni;

			m->addr = q;
			if (left && (ni = fr_map_slot(w)) >= 0) {
				w->maps[ni] = *m;
				w->maps[ni].addr = (char *)lo;
				w->maps[ni].empty = true;
				atomic_fetch_add(&fr->left_behind, 1);
			} else if (left) {
				munmap((char *)lo, hi - lo);
			}
		} else {
			munmap(dst, m->npages * P);
		}
	} else if (op < 78 && b->handle) {
		struct numabuf_free f = { .size = sizeof(f), .handle = b->handle };

		fr_inject(true);
		ret = ioctl(w->fd, NUMABUF_IOC_FREE, &f);
		err = errno;
		fr_inject(false);
		fr_result(C_FREE, ret, err, false);
		/* its mappings live on, but are no longer counted by INFO */
		for (mi = 0; mi < FR_MAPS; mi++)
			if (w->maps[mi].bi == bi)
				w->maps[mi].bi = FR_BUFS;
		b->handle = 0;
	} else if (op < 86 && b->handle) {
		struct numabuf_info i = { .size = sizeof(i), .handle = b->handle };

		fr_inject(true);
		ret = ioctl(w->fd, NUMABUF_IOC_INFO, &i);
		err = errno;
		fr_inject(false);
		fr_result(C_INFO, ret, err, false);
		NB_CHECK(i.length == b->len && i.offset == b->offset, "INFO answered wrong");
	} else if (op < 90) {
		int fd;

		fr_inject(true);
		fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
		err = errno;
		fr_inject(false);
		fr_result(C_OPEN, fd, err, true);
		if (fd >= 0) {
			close(w->fd);
			w->fd = fd;
			fr_forget_file(w);
		}
	} else if (op < 92 && !child) {
		/* Not armed: a child inherits make-it-fail. */
		pid_t pid = fork();

		NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			int i;

			fr_mif = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
			NB_CHECK(fr_mif >= 0, "open make-it-fail: %s", strerror(errno));
			/*
			 * Its own file: the parent's handles are the parent's
			 * to free (the inherited mappings are the child's).
			 */
			w->fd = nb_open();
			fr_forget_file(w);
			w->r.s ^= 0x5bd1e995;
			for (i = 0; i < 30; i++)
				fr_step(w, true);
			_exit(0);
		}
		NB_WAIT_OK(pid);
		atomic_fetch_add(&fr->forks, 1);
	} else if (op < 97) {
		/* touch what is mapped */
		for (mi = 0; mi < FR_MAPS; mi++)
			if (w->maps[mi].bi >= 0)
				memset(w->maps[mi].addr, 0x5a, w->maps[mi].npages * P);
	} else if (!child) {
		fr_check(w);
	}
}

NB_TEST_TIMEOUT(faults_random,
	"4 processes running ALLOC (4 KiB to 4 MiB) / mmap / munmap / mremap / FREE / INFO / reopen / fork with failslab and fail_page_alloc failing their numabuf calls' allocations at random (task-filter, make-it-fail): only ENOMEM, mappings and counts consistent, nothing held after",
	1800)
{
	unsigned long long ops = nb_env_ull("NB_FAULTS_OPS", 3000);
	uint64_t seed = nb_seed("NB_FAULTS_SEED");
	long long before[FA_N], after[FA_N];
	struct nb_stats s0 = nb_stats_read();
	pid_t pid[FR_WORKERS];
	int i, a, failed = 0;
	char line[512];
	size_t o;

	fa_setup();
	fr = mmap(NULL, sizeof(*fr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(fr != MAP_FAILED, "mmap: %s", strerror(errno));
	fa_configure(10, 25, true);
	nb_note("failslab 10%%, fail_page_alloc 25%% (orders >= %d), only in the workers' numabuf calls; %llu operations per worker",
		fa_min_order, ops);
	for (a = 0; a < FA_N; a++)
		before[a] = fa_times(a);

	for (i = 0; i < FR_WORKERS; i++) {
		pid[i] = fork();
		NB_CHECK(pid[i] >= 0, "fork: %s", strerror(errno));
		if (pid[i] == 0) {
			struct fr_worker w;
			unsigned long long k;

			memset(&w, 0, sizeof(w));
			w.r.s = seed + i;
			for (k = 0; k < FR_MAPS; k++)
				w.maps[k].bi = -1;
			w.fd = nb_open();
			fr_mif = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
			NB_CHECK(fr_mif >= 0, "open make-it-fail: %s", strerror(errno));
			for (k = 0; k < ops; k++)
				fr_step(&w, false);
			fr_check(&w);
			_exit(0);
		}
	}
	for (i = 0; i < FR_WORKERS; i++) {
		int status;

		NB_CHECK(waitpid(pid[i], &status, 0) == pid[i], "waitpid: %s", strerror(errno));
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	for (a = 0; a < FA_N; a++)
		after[a] = fa_times(a);
	fa_restore();
	if (failed)
		NB_FAIL("a worker failed (seed %#llx)", (unsigned long long)seed);

	o = snprintf(line, sizeof(line), "calls (ENOMEM):");
	for (i = 0; i < C_N; i++)
		o += snprintf(line + o, sizeof(line) - o, " %s %llu (%llu)", fr_call[i],
			      (unsigned long long)fr->calls[i],
			      (unsigned long long)fr->enomem[i]);
	nb_note("%s; %llu forks, %llu consistency checks, %llu empty VMAs left behind by a move",
		line, (unsigned long long)fr->forks, (unsigned long long)fr->checks,
		(unsigned long long)fr->left_behind);
	nb_note("injected: %lld by failslab, %lld by fail_page_alloc",
		before[FA_SLAB] - after[FA_SLAB], before[FA_PAGE] - after[FA_PAGE]);
	NB_CHECK(before[FA_SLAB] > after[FA_SLAB] && before[FA_PAGE] > after[FA_PAGE],
		 "nothing injected: failslab %lld, fail_page_alloc %lld",
		 before[FA_SLAB] - after[FA_SLAB], before[FA_PAGE] - after[FA_PAGE]);
	NB_CHECK(fr->enomem[C_ALLOC] && fr->enomem[C_MMAP],
		 "no ALLOC or no mmap failed: the injection missed numabuf's calls");
	NB_STATS_EXPECT(s0, 0, 0);
}
