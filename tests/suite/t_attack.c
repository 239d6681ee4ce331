// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks by an ordinary member of the device's group (issue 11): uid
 * nobody, no capabilities, RLIMIT_MEMLOCK 8 MiB, /dev/numabuf opened to
 * its group as the udev rule does.  Each test runs one attack and holds
 * the module to one limit, checked by what can be seen without asking the
 * module what it did: an ALLOC that must fail, VmPin, POOL_GET's sizes
 * after the fact, the bytes of a buffer, how long another user's call
 * takes (a bound the issue sets, scaled by NB_SLOW), waitpid after
 * SIGKILL.
 *
 * The pages a pipe holds after vmsplice(2) are get_user_pages references,
 * as O_DIRECT in flight and RDMA or io_uring pins are: they outlive the
 * buffer's handle and mappings.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbutil.h"

/* A group id for "numabuf" that the host's /etc/group does not use. */
#define NB_GID		4242
/* Debian's default RLIMIT_MEMLOCK, what a group member has. */
#define NB_MEMLOCK	(8 * NB_MIB)
#define NB_N(a)		(sizeof(a) / sizeof((a)[0]))

/* ---- the device opened to the group, and a member of it ---- */

#define NB_PIPE_MAX	"/proc/sys/fs/pipe-max-size"
static char nb_pipe_max[32];

static void nb_dev_restore(void)
{
	int fd;

	if (chown(NB_DEV, 0, 0) || chmod(NB_DEV, 0600)) {
		/* the harness's later tests see the mode and fail loudly */
	}
	fd = open(NB_PIPE_MAX, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && nb_pipe_max[0] &&
	    write(fd, nb_pipe_max, strlen(nb_pipe_max)) < 0) {
		/* nothing better to do on the way out */
	}
	if (fd >= 0)
		close(fd);
}

/*
 * As the udev rule does; undone at exit, whatever the verdict.  Pipes of
 * up to 16 MiB for everyone, so that one pipe holds a whole buffer (an
 * attacker would use many pipes of the default 1 MiB; the pages held are
 * the same).
 */
static void nb_dev_open_to_group(void)
{
	int fd = open(NB_PIPE_MAX, O_RDWR | O_CLOEXEC);
	ssize_t n;

	NB_CHECK(fd >= 0, "open %s: %s", NB_PIPE_MAX, strerror(errno));
	n = read(fd, nb_pipe_max, sizeof(nb_pipe_max) - 1);
	NB_CHECK(n > 0, "read %s", NB_PIPE_MAX);
	nb_pipe_max[n] = 0;
	NB_CHECK(pwrite(fd, "16777216", 8, 0) == 8, "write %s: %s", NB_PIPE_MAX,
		 strerror(errno));
	close(fd);
	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
	atexit(nb_dev_restore);
}

/*
 * The member's process cannot read debugfs: at each stage it hands the
 * check of the module's counters to root, the test's first process.
 */
struct nb_stage {
	int up[2], down[2];
};

static void nb_stage_init(struct nb_stage *st)
{
	NB_SYS(pipe2(st->up, O_CLOEXEC));
	NB_SYS(pipe2(st->down, O_CLOEXEC));
}

/* In the member: stage @n reached; wait for root's check. */
static void nb_stage(struct nb_stage *st, char n)
{
	char c;

	NB_CHECK(write(st->up[1], &n, 1) == 1, "stage write");
	NB_CHECK(read(st->down[0], &c, 1) == 1, "root gave up at stage %d", n);
}

/* In root: the next stage of the member, or 0 when it is gone. */
static char nb_stage_wait(struct nb_stage *st)
{
	char c;

	/* The member's ends, so that its exit reads as EOF here. */
	if (st->up[1] >= 0) {
		close(st->up[1]);
		close(st->down[0]);
		st->up[1] = -1;
		st->down[0] = -1;
	}
	return read(st->up[0], &c, 1) == 1 ? c : 0;
}

static void nb_stage_go(struct nb_stage *st)
{
	NB_CHECK(write(st->down[1], "g", 1) == 1, "stage go");
}

/* Become @uid in group NB_GID with memlock NB_MEMLOCK; open the device. */
static int nb_member_uid(uid_t uid)
{
	struct rlimit rl = { NB_MEMLOCK, NB_MEMLOCK };
	gid_t g = NB_GID;
	int fd;

	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	NB_SYS(setgroups(1, &g));
	NB_SYS(setresgid(uid, uid, uid));
	NB_SYS(setresuid(uid, uid, uid));
	NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
	fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
	NB_CHECK(fd >= 0, "a group member cannot open %s: %s", NB_DEV,
		 strerror(errno));
	return fd;
}

static int nb_member(void)
{
	return nb_member_uid(NB_NOBODY);
}

/* ---- pools ---- */

static struct numabuf_pool nb_pool_io(int fd, unsigned long req, int node,
				      uint64_t target)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = target };

	NB_CHECK(!ioctl(fd, req, &p), "POOL_%s node %d: %s",
		 req == NUMABUF_IOC_POOL_SET ? "SET" : "GET", node,
		 strerror(errno));
	return p;
}

#define nb_pool_get(fd, node) nb_pool_io(fd, NUMABUF_IOC_POOL_GET, node, 0)
#define nb_pool_set(fd, node, t) nb_pool_io(fd, NUMABUF_IOC_POOL_SET, node, t)

/*
 * Wait (up to 20 s, scaled) for the pool to be as @want (POOL_GET just
 * after it was set): all of it held, all free, the same largest block
 * (unless @want's is UINT64_MAX).
 */
static struct numabuf_pool nb_pool_settled_at(const char *file, int line,
					      int fd, int node,
					      const struct numabuf_pool *want)
{
	double end = nb_now() + 20.0 * nb_slow();
	struct numabuf_pool p;

	do {
		p = nb_pool_get(fd, node);
		if (p.target == want->target &&
		    p.pool_bytes == want->pool_bytes &&
		    p.free_bytes == want->pool_bytes &&
		    (want->largest_free == UINT64_MAX ||
		     p.largest_free == want->largest_free))
			return p;
		usleep(20000);
	} while (nb_now() < end);
	nb_fail_at(file, line,
		   "node %d's pool: target %llu, holds %llu, free %llu, largest %llu; expected target %llu, holding %llu, all free, largest %llu",
		   node, (unsigned long long)p.target,
		   (unsigned long long)p.pool_bytes,
		   (unsigned long long)p.free_bytes,
		   (unsigned long long)p.largest_free,
		   (unsigned long long)want->target,
		   (unsigned long long)want->pool_bytes,
		   (unsigned long long)want->largest_free);
}

#define NB_POOL_SETTLED(fd, node, want) \
	nb_pool_settled_at(NB_FILE, __LINE__, fd, node, want)

static int nb_last_node(void)
{
	int nodes[NB_MAX_NODES], n = nb_mem_nodes(nodes, NB_MAX_NODES);

	return nodes[n - 1];
}

/* ---- where the pool's worker runs: the workqueue tracepoint ---- */

#define NB_TRACE	"/sys/kernel/debug/tracing"
#define NB_WQ_EVENT	NB_TRACE "/events/workqueue/workqueue_execute_start/enable"

static int nb_trace_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

/* Start recording work items as they run; false without tracefs events. */
static bool nb_wq_trace_start(void)
{
	if (access(NB_WQ_EVENT, W_OK))
		return false;
	return !nb_trace_write(NB_TRACE "/trace", "") &&
	       !nb_trace_write(NB_WQ_EVENT, "1") &&
	       !nb_trace_write(NB_TRACE "/tracing_on", "1");
}

/*
 * Stop recording; count the runs of the pool's worker and those on a CPU
 * of another node than @node.
 */
static void nb_wq_trace_stop(int node, int *runs, int *elsewhere)
{
	char line[512];
	unsigned int cpu;
	FILE *f;

	*runs = *elsewhere = 0;
	nb_trace_write(NB_WQ_EVENT, "0");
	f = fopen(NB_TRACE "/trace", "re");
	NB_CHECK(f, "open %s/trace: %s", NB_TRACE, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *c;

		if (line[0] == '#' || !strstr(line, "numabuf_pool_zero_work"))
			continue;
		/* "  kworker/u4:1-42  [001] ....  12.345: workqueue_execute_start: ..." */
		c = strchr(line, '[');
		NB_CHECK(c && sscanf(c, "[%u]", &cpu) == 1, "trace line: %s", line);
		(*runs)++;
		if (nb_cpu_node((int)cpu) != node)
			(*elsewhere)++;
	}
	fclose(f);
	nb_trace_write(NB_TRACE "/trace", "");
}

/* ---- holding pages ---- */

/* ALLOC, map, fill with @seed; the mapping in *@pp. */
static struct numabuf_alloc nb_alloc_map(int fd, uint64_t len, int node,
					 uint32_t flags, uint32_t seed,
					 char **pp)
{
	struct numabuf_alloc a = nb_alloc_ok(fd, len, node, flags);

	*pp = nb_map(fd, a.offset, len);
	nb_fill(*pp, len, seed);
	return a;
}

/* Memlock is used up: an ALLOC of @len must fail with ENOMEM. */
static void nb_expect_memlock_full(int fd, uint64_t len, uint32_t flags,
				   int node, const char *why)
{
	int ret = nb_alloc(fd, len, node, flags, NULL);

	NB_CHECK(ret == -ENOMEM,
		 "%s: an ALLOC of %llu KiB at memlock 8 MiB gave %s, expected ENOMEM",
		 why, (unsigned long long)(len / NB_KIB),
		 ret ? nb_errname(-ret) : "success");
}

/* In root: wait for the member's stage @n, then check the counters. */
static void nb_stage_check_at(const char *file, int line, struct nb_stage *st,
			      pid_t pid, char n, struct nb_stats s0,
			      long long buffers, long long bytes)
{
	if (nb_stage_wait(st) != n) {
		nb_wait_ok_at(file, line, pid);
		nb_fail_at(file, line, "the member ended before stage %d", n);
	}
	nb_stats_expect_at(file, line, s0, buffers, bytes);
	nb_stage_go(st);
}

#define NB_STAGE_CHECK(st, pid, n, s0, buffers, bytes) \
	nb_stage_check_at(NB_FILE, __LINE__, st, pid, n, s0, buffers, bytes)

/*
 * In the member: held pages keep the charge until the pipe goes; then all
 * of it is back.  Stage 1: freed, pages in pipes; stage 2: pipes closed.
 */
static void nb_held_attack(struct nb_stage *st, int node, uint32_t flags,
			   uint64_t len, unsigned int nbufs)
{
	int fd, rfd[4], wfd[4];
	struct numabuf_alloc a[4];
	char *p[4], *chk;
	unsigned int i;
	double t0, t1;
	size_t bad;

	fd = nb_member();
	for (i = 0; i < nbufs; i++)
		a[i] = nb_alloc_map(fd, len, node, flags, 700 + i, &p[i]);
	NB_CHECK(nb_proc_status("VmPin", 10) == NB_MEMLOCK / NB_KIB,
		 "VmPin %llu kB with 8 MiB of buffers",
		 nb_proc_status("VmPin", 10));
	for (i = 0; i < nbufs; i++) {
		rfd[i] = nb_pipe_hold(p[i], len, &wfd[i]);
		NB_SYS(munmap(p[i], len));
		NB_CHECK(!nb_free(fd, a[i].handle), "FREE failed");
	}
	/* The handles and mappings are gone; the pipes still hold every page. */
	nb_stage(st, 1);
	NB_CHECK(nb_proc_status("VmPin", 10) == NB_MEMLOCK / NB_KIB,
		 "VmPin %llu kB after FREE with the pages in pipes, expected %llu",
		 nb_proc_status("VmPin", 10), NB_MEMLOCK / NB_KIB);
	nb_expect_memlock_full(fd, len, flags, node,
			       "the pages of 8 MiB still in pipes");
	nb_expect_memlock_full(fd, NB_PAGE, 0, node,
			       "the pages of 8 MiB still in pipes");

	/* What the pipes hold is the data written, never anyone else's. */
	chk = malloc(len);
	NB_CHECK(chk, "out of memory");
	for (i = 0; i < nbufs; i++) {
		size_t k;
		ssize_t got;

		for (k = 0; k < len; k += (size_t)got) {
			got = read(rfd[i], chk + k, len - k);
			NB_CHECK(got > 0, "read from the pipe: %s",
				 got ? strerror(errno) : "EOF");
		}
		bad = nb_verify(chk, len, 700 + i);
		NB_CHECK(bad == (size_t)-1, "byte %zu in the pipe changed", bad);
		close(rfd[i]);
		close(wfd[i]);
	}
	free(chk);

	/* Every page is back: within 2 s the charge and the counters are 0. */
	t0 = nb_now();
	while (nb_proc_status("VmPin", 10) && nb_now() - t0 < 2.0 * nb_slow())
		usleep(10000);
	t1 = nb_now() - t0;
	NB_CHECK(nb_proc_status("VmPin", 10) == 0,
		 "VmPin %llu kB %.1f s after the pipes closed",
		 nb_proc_status("VmPin", 10), t1);
	nb_note("charge gone %.2f s after the pipes closed", t1);
	nb_stage(st, 2);
	/* And the user may pin 8 MiB again. */
	for (i = 0; i < nbufs; i++)
		a[i] = nb_alloc_ok(fd, len, node, flags);
	for (i = 0; i < nbufs; i++)
		NB_CHECK(!nb_free(fd, a[i].handle), "FREE failed");
	close(fd);
}

NB_TEST(held_pages_stay_charged,
	"as a group member at memlock 8 MiB: two 4 MiB buffers (page allocator) filled, all their pages vmspliced into pipes, munmap, FREE: VmPin and the module's counters still show 8 MiB, another 8 MiB (and even 4 KiB) ALLOC fails with ENOMEM, the pipes read back the data written; once the pipes close VmPin is 0 within 2 s, the counters drop and 8 MiB can be pinned again")
{
	struct nb_stats s0 = nb_stats_read();
	struct nb_stage st;
	pid_t pid;

	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		nb_held_attack(&st, nb_last_node(), 0, 4 * NB_MIB, 2);
		_exit(0);
	}
	NB_STAGE_CHECK(&st, pid, 1, s0, 2, (long long)(8 * NB_MIB));
	NB_STAGE_CHECK(&st, pid, 2, s0, 0, 0);
	NB_WAIT_OK(pid);
	nb_dev_restore();
}

NB_TEST(held_pool_pages_stay_charged,
	"as a group member at memlock 8 MiB: an 8 MiB F_POOL buffer from a 32 MiB pool, all of it vmspliced into a pipe, munmap, FREE: VmPin and the counters still show 8 MiB, another 8 MiB ALLOC fails (ENOMEM), the pool's free bytes leave it out and its size stays; once the pipe closes the charge is 0 within 2 s and the whole pool is free again, zeroed by the pool's worker on a CPU of the pool's node (workqueue_execute_start tracepoint)")
{
	const uint64_t pool = 32 * NB_MIB;
	int node = nb_last_node(), fd = nb_open();
	struct nb_stats s0 = nb_stats_read();
	struct numabuf_pool p0, p;
	int runs, elsewhere;
	struct nb_stage st;
	bool tracing;
	pid_t pid;

	p0 = nb_pool_set(fd, node, pool);
	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		nb_held_attack(&st, node, NUMABUF_F_POOL, NB_MEMLOCK, 1);
		_exit(0);
	}
	tracing = nb_wq_trace_start();
	NB_STAGE_CHECK(&st, pid, 1, s0, 1, (long long)NB_MEMLOCK);
	p = nb_pool_get(fd, node);
	NB_CHECK(p.pool_bytes == pool && p.free_bytes == pool - NB_MEMLOCK,
		 "with 8 MiB held the pool holds %llu, free %llu; expected %llu, free %llu",
		 (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes, (unsigned long long)pool,
		 (unsigned long long)(pool - NB_MEMLOCK));
	NB_STAGE_CHECK(&st, pid, 2, s0, 0, 0);
	NB_WAIT_OK(pid);
	nb_dev_restore();
	NB_POOL_SETTLED(fd, node, &p0);
	if (tracing) {
		nb_wq_trace_stop(node, &runs, &elsewhere);
		NB_CHECK(runs > 0, "the pool's worker never ran for the held buffer");
		/*
		 * Kernels with workqueue affinity scopes (6.6 on) start an
		 * unbound work on the node queue_work_node() names but do not
		 * keep it there unless the scope is strict: only note it.
		 */
		if (access("/sys/module/workqueue/parameters/default_affinity_scope", F_OK))
			NB_CHECK(!elsewhere, "%d of %d runs of the pool's worker on a CPU of another node than %d",
				 elsewhere, runs, node);
		nb_note("the pool's worker ran %d times, %d of them off node %d",
			runs, elsewhere, node);
	} else {
		nb_note("no workqueue tracepoint in this kernel: where the worker ran is not checked");
	}
	nb_pool_set(fd, node, 0);
	close(fd);
}

NB_TEST(held_pages_bound_fragmentation,
	"as a group member at memlock 8 MiB: 64 rounds of ALLOC 2 MiB, map, one page of it vmspliced into a pipe, munmap, FREE: the 2 MiB of every held buffer stays charged, so at most 4 are held at once (the counters say 4, the 5th ALLOC fails with ENOMEM): one user cannot spoil more 2 MiB blocks than memlock allows")
{
	struct nb_stats s0 = nb_stats_read();
	int node = nb_last_node();
	struct nb_stage st;
	pid_t pid;

	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		int fd = nb_member(), rfd[64], wfd[64], held = 0, fails = 0, i, ret;
		struct numabuf_alloc a;
		char *p;

		for (i = 0; i < 64; i++) {
			ret = nb_alloc(fd, 2 * NB_MIB, node, 0, &a);
			if (ret) {
				NB_CHECK(ret == -ENOMEM,
					 "a 2 MiB ALLOC over memlock: %s, expected ENOMEM",
					 nb_errname(-ret));
				fails++;
				continue;
			}
			p = nb_map(fd, a.offset, 2 * NB_MIB);
			rfd[held] = nb_pipe_hold(p + NB_MIB, NB_PAGE, &wfd[held]);
			held++;
			NB_SYS(munmap(p, 2 * NB_MIB));
			NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		}
		NB_CHECK(held == 4 && fails == 60,
			 "%d buffers held by one page each, %d ALLOCs refused; expected 4 and 60",
			 held, fails);
		nb_stage(&st, 1);
		for (i = 0; i < held; i++) {
			close(rfd[i]);
			close(wfd[i]);
		}
		nb_stage(&st, 2);
		close(fd);
		_exit(0);
	}
	NB_STAGE_CHECK(&st, pid, 1, s0, 4, (long long)(8 * NB_MIB));
	NB_STAGE_CHECK(&st, pid, 2, s0, 0, 0);
	NB_WAIT_OK(pid);
	nb_dev_restore();
}

NB_TEST_TIMEOUT(pool_not_drained_by_held_pages,
	"a 64 MiB pool; a group member cycles 8 MiB F_POOL buffers over twice the pool's size (16 rounds that get one), each with one page held by a pipe at FREE and the pipe closed after: the pool keeps all of its memory (pool_bytes and target 64 MiB, all free and in one block at the end) and a victim's 4 KiB F_POOL ALLOC succeeds",
	300)
{
	const uint64_t pool = 64 * NB_MIB, len = 8 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), ret;
	struct numabuf_pool p0;
	struct numabuf_alloc v;
	pid_t pid;

	p0 = nb_pool_set(fd, node, pool);
	nb_dev_open_to_group();
	pid = NB_SYS(fork());
	if (!pid) {
		int mfd = nb_member(), rounds = 0, tries = 0, rfd, wfd;
		struct numabuf_alloc a;
		char *q;

		while (rounds < (int)(2 * pool / len)) {
			NB_CHECK(++tries < 20000, "only %d rounds got a buffer", rounds);
			/* ENOMEM while the last round's buffer is not yet back. */
			if (nb_alloc(mfd, len, node, NUMABUF_F_POOL, &a)) {
				usleep(5000);
				continue;
			}
			q = nb_map(mfd, a.offset, len);
			rfd = nb_pipe_hold(q + len / 2, NB_PAGE, &wfd);
			NB_SYS(munmap(q, len));
			NB_CHECK(!nb_free(mfd, a.handle), "FREE failed");
			close(rfd);
			close(wfd);
			rounds++;
		}
		close(mfd);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	nb_dev_restore();
	NB_POOL_SETTLED(fd, node, &p0);
	ret = nb_alloc(fd, NB_PAGE, node, NUMABUF_F_POOL, &v);
	NB_CHECK(!ret, "the victim's 4 KiB F_POOL ALLOC: %s", nb_errname(-ret));
	NB_CHECK(!nb_free(fd, v.handle), "FREE failed");
	nb_pool_set(fd, node, 0);
	close(fd);
}

/* ---- a churning user against a victim and the admin ---- */

static double nb_timed_alloc(int fd, int node, uint32_t flags)
{
	struct numabuf_alloc a;
	double t0 = nb_now(), t;
	int ret = nb_alloc(fd, NB_PAGE, node, flags, &a);

	t = nb_now() - t0;
	NB_CHECK(!ret, "the victim's 4 KiB ALLOC failed: %s", nb_errname(-ret));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	return t;
}

NB_TEST_TIMEOUT(churn_does_not_stall_others,
	"a group member ALLOCs, touches and FREEs 8 MiB F_POOL buffers of a 64 MiB pool in a loop for 10 s: meanwhile another process's 4 KiB F_POOL ALLOCs each complete within 2 s (x NB_SLOW), and so does the admin's POOL_SET shrinking the pool by 4 MiB: no call waits on zeroing that another user can prolong",
	120)
{
	const uint64_t pool = 64 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), i;
	double worst = 0, worst_set = 0, t, t0, end;
	struct numabuf_pool p0;
	pid_t pid;

	p0 = nb_pool_set(fd, node, pool);
	nb_dev_open_to_group();
	pid = NB_SYS(fork());
	if (!pid) {
		int mfd = nb_member();
		struct numabuf_alloc a;
		char *q;

		for (;;) {
			if (nb_alloc(mfd, 8 * NB_MIB, node, NUMABUF_F_POOL, &a))
				continue;
			q = nb_map(mfd, a.offset, 8 * NB_MIB);
			memset(q, 0x77, 8 * NB_MIB);
			NB_SYS(munmap(q, 8 * NB_MIB));
			nb_free(mfd, a.handle);
		}
	}
	usleep(200000);
	end = nb_now() + 10;
	for (i = 0; nb_now() < end; i++) {
		t = nb_timed_alloc(fd, node, NUMABUF_F_POOL);
		if (t > worst)
			worst = t;
		if (i % 20 == 19) {
			/*
			 * Shrinking is what waited for the zeroing of every
			 * freed buffer; growing back takes what the page
			 * allocator takes, which no pool user controls.
			 */
			t0 = nb_now();
			nb_pool_set(fd, node, pool - 4 * NB_MIB);
			t = nb_now() - t0;
			if (t > worst_set)
				worst_set = t;
			nb_pool_set(fd, node, pool);
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	nb_dev_restore();
	nb_note("%d victim ALLOCs: slowest %.3f s; slowest POOL_SET shrink %.3f s",
		i, worst, worst_set);
	NB_CHECK(worst < 2.0 * nb_slow(), "a victim's 4 KiB ALLOC took %.2f s", worst);
	NB_CHECK(worst_set < 2.0 * nb_slow(), "the admin's POOL_SET took %.2f s",
		 worst_set);
	/* Shrinking and growing again changed its regions: any largest. */
	p0.largest_free = UINT64_MAX;
	NB_POOL_SETTLED(fd, node, &p0);
	nb_pool_set(fd, node, 0);
	close(fd);
}

NB_TEST_TIMEOUT(kill_ends_free_of_large_pool_buffer,
	"a process FREEs a touched pool buffer (the largest block of a 512 MiB pool) (the freer zeroes it) and is SIGKILLed 20 ms into the FREE: it is gone within 1 s (x NB_SLOW) of the signal; the zeroing its kill cut short is finished by the node's worker, and the whole pool comes back free, and zero when taken again",
	300)
{
	const uint64_t pool = 512 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), pfd[2];
	struct numabuf_alloc a;
	struct numabuf_pool p0;
	uint64_t len;
	size_t bad;
	double t0, t;
	char *q, c;
	pid_t pid;

	p0 = nb_pool_set(fd, node, pool);
	/* The pool's regions are as large as the node gave: its largest. */
	len = p0.largest_free;
	NB_SYS(pipe2(pfd, O_CLOEXEC));
	pid = NB_SYS(fork());
	if (!pid) {
		int cfd = nb_open();

		a = nb_alloc_ok(cfd, len, node, NUMABUF_F_POOL);
		q = nb_map(cfd, a.offset, len);
		memset(q, 0xa5, len);
		NB_SYS(munmap(q, len));
		NB_CHECK(write(pfd[1], "r", 1) == 1, "write");
		nb_free(cfd, a.handle);
		_exit(0);
	}
	close(pfd[1]);
	NB_CHECK(read(pfd[0], &c, 1) == 1, "the child never got its buffer");
	close(pfd[0]);
	usleep(20000);
	t0 = nb_now();
	kill(pid, SIGKILL);
	NB_SYS(waitpid(pid, NULL, 0));
	t = nb_now() - t0;
	nb_note("gone %.3f s after SIGKILL", t);
	NB_CHECK(t < 1.0 * nb_slow(), "the killed FREE took %.2f s to end", t);
	NB_POOL_SETTLED(fd, node, &p0);
	a = nb_alloc_ok(fd, len, node, NUMABUF_F_POOL);
	q = nb_map(fd, a.offset, len);
	bad = nb_find_nonzero(q, len);
	NB_CHECK(bad == (size_t)-1, "byte %zu of the pool is not zero after the kill",
		 bad);
	NB_SYS(munmap(q, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	nb_pool_set(fd, node, 0);
	close(fd);
}

/* ---- pool fragmentation and the per-user pool quota ---- */

NB_TEST_TIMEOUT(pool_fragmentation_resisted,
	"a 512 MiB pool; a group member repeats 256 times: ALLOC 2 MiB - 4 KiB from the pool (its last page goes back), ALLOC 4 KiB from the pool, FREE the first (1 MiB of 4 KiB buffers held at the end): the pool's largest free block is still at least half of what it was, all but the held 1 MiB is free, and another user's 2 MiB F_POOL ALLOC succeeds",
	300)
{
	const uint64_t pool = 512 * NB_MIB;
	int node = nb_last_node(), fd = nb_open(), ret;
	struct numabuf_pool p0, p;
	struct numabuf_alloc v;
	struct nb_stage st;
	pid_t pid;

	p0 = nb_pool_set(fd, node, pool);
	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		int mfd = nb_member(), i;
		struct numabuf_alloc big, small;

		for (i = 0; i < 256; i++) {
			big = nb_alloc_ok(mfd, 2 * NB_MIB - NB_PAGE, node,
					  NUMABUF_F_POOL);
			small = nb_alloc_ok(mfd, NB_PAGE, node, NUMABUF_F_POOL);
			(void)small;
			NB_CHECK(!nb_free(mfd, big.handle), "FREE failed");
		}
		nb_stage(&st, 1);
		close(mfd);
		_exit(0);
	}
	if (nb_stage_wait(&st) != 1) {
		NB_WAIT_OK(pid);
		NB_FAIL("the member ended early");
	}
	p = nb_pool_get(fd, node);
	nb_note("after the loop: free %llu KiB, largest %llu KiB (before: %llu KiB)",
		(unsigned long long)(p.free_bytes / NB_KIB),
		(unsigned long long)(p.largest_free / NB_KIB),
		(unsigned long long)(p0.largest_free / NB_KIB));
	NB_CHECK(p.free_bytes == pool - NB_MIB,
		 "free %llu with 1 MiB held, expected %llu",
		 (unsigned long long)p.free_bytes,
		 (unsigned long long)(pool - NB_MIB));
	NB_CHECK(p.largest_free >= p0.largest_free / 2,
		 "the largest free block fell from %llu to %llu KiB",
		 (unsigned long long)(p0.largest_free / NB_KIB),
		 (unsigned long long)(p.largest_free / NB_KIB));
	ret = nb_alloc(fd, 2 * NB_MIB, node, NUMABUF_F_POOL, &v);
	NB_CHECK(!ret, "another user's 2 MiB F_POOL ALLOC: %s", nb_errname(-ret));
	NB_CHECK(!nb_free(fd, v.handle), "FREE failed");
	nb_stage_go(&st);
	NB_WAIT_OK(pid);
	nb_dev_restore();
	NB_POOL_SETTLED(fd, node, &p0);
	nb_pool_set(fd, node, 0);
	close(fd);
}

static void nb_pool_quota_reset(void)
{
	nb_param_write("max_user_pool_bytes", 0);
}

NB_TEST(pool_quota_per_user,
	"max_user_pool_bytes=4M (a 64 MiB pool): a group member's 4 MiB F_POOL ALLOC succeeds, a 4 KiB F_POOL one then fails with EDQUOT while a plain 4 KiB ALLOC comes from the page allocator (INFO source PAGES); meanwhile another member (uid 65533) gets 4 MiB of the pool; after FREE the first one's 4 KiB F_POOL ALLOC succeeds")
{
	const uint64_t pool = 64 * NB_MIB;
	int node = nb_last_node(), fd = nb_open();
	struct nb_stage st;
	pid_t pid, other;

	nb_pool_set(fd, node, pool);
	nb_param_set("max_user_pool_bytes", 4 * NB_MIB);
	atexit(nb_pool_quota_reset);
	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		int mfd = nb_member(), ret;
		struct numabuf_alloc a, b;
		struct numabuf_info inf;

		a = nb_alloc_ok(mfd, 4 * NB_MIB, node, NUMABUF_F_POOL);
		ret = nb_alloc(mfd, NB_PAGE, node, NUMABUF_F_POOL, NULL);
		NB_CHECK(ret == -EDQUOT, "4 KiB F_POOL over the pool quota: %s, expected EDQUOT",
			 ret ? nb_errname(-ret) : "success");
		b = nb_alloc_ok(mfd, NB_PAGE, node, 0);
		NB_CHECK(!nb_info(mfd, b.handle, &inf), "INFO failed");
		NB_CHECK(inf.source == NUMABUF_SOURCE_PAGES,
			 "a plain ALLOC over the pool quota came from source %u, expected PAGES",
			 inf.source);
		NB_CHECK(!nb_free(mfd, b.handle), "FREE failed");
		nb_stage(&st, 1);
		NB_CHECK(!nb_free(mfd, a.handle), "FREE failed");
		b = nb_alloc_ok(mfd, NB_PAGE, node, NUMABUF_F_POOL);
		NB_CHECK(!nb_free(mfd, b.handle), "FREE failed");
		close(mfd);
		_exit(0);
	}
	if (nb_stage_wait(&st) != 1) {
		NB_WAIT_OK(pid);
		NB_FAIL("the member ended early");
	}
	other = NB_SYS(fork());
	if (!other) {
		int ofd = nb_member_uid(NB_NOBODY - 1);
		struct numabuf_alloc o = nb_alloc_ok(ofd, 4 * NB_MIB, node,
						     NUMABUF_F_POOL);

		NB_CHECK(!nb_free(ofd, o.handle), "FREE failed");
		_exit(0);
	}
	NB_WAIT_OK(other);
	nb_stage_go(&st);
	NB_WAIT_OK(pid);
	nb_dev_restore();
	nb_pool_quota_reset();
	nb_pool_set(fd, node, 0);
	close(fd);
}

/* ---- O_DIRECT in flight ---- */

#define NB_DELAY_NAME	"nbdelay"

static void nb_delay_remove(void)
{
	if (system("dmsetup remove --noudevsync " NB_DELAY_NAME " >/dev/null 2>&1")) {
		/* not there, or still busy: the next run's create says so */
	}
}

/*
 * A device-mapper "delay" target over the scratch disk whose reads take
 * @ms: an O_DIRECT read from it keeps its pages in flight that long.
 * Returns /dev/dm-N opened O_RDONLY | O_DIRECT, or skips.
 */
static int nb_delay_open(unsigned int ms)
{
	const char *disk = getenv("NB_SCRATCH_DISK") ? getenv("NB_SCRATCH_DISK") : "/dev/vda";
	char cmd[256], path[64];
	unsigned long long size = 0;
	unsigned int minor;
	struct stat st;
	FILE *f;
	int fd;

	if (stat(disk, &st) || !S_ISBLK(st.st_mode))
		nb_skip("no scratch block device %s", disk);
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	NB_CHECK(fd >= 0 && !ioctl(fd, BLKGETSIZE64, &size), "size of %s", disk);
	close(fd);
	/* What device-mapper says of the kernel's IMA setup on its first table. */
	nb_kmsg_expect("device-mapper: core: CONFIG_IMA_DISABLE_HTABLE is disabled. Duplicate IMA measurements will not be recorded in the IMA log.");
	if (system("modprobe dm-delay >/dev/null 2>&1"))
		nb_skip("no dm-delay module in this kernel (an O_DIRECT read cannot be kept in flight)");
	nb_delay_remove();
	snprintf(cmd, sizeof(cmd),
		 "dmsetup create --noudevsync " NB_DELAY_NAME " --table '0 %llu delay %s 0 %u' >/dev/null 2>&1",
		 size / 512, disk, ms);
	if (system(cmd))
		nb_skip("dmsetup cannot create a delay target (no dmsetup or device-mapper)");
	atexit(nb_delay_remove);
	f = popen("dmsetup info -c --noheadings -o minor " NB_DELAY_NAME, "r");
	NB_CHECK(f && fscanf(f, "%u", &minor) == 1, "dmsetup info");
	pclose(f);
	snprintf(path, sizeof(path), "/dev/dm-%u", minor);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	NB_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	return fd;
}

struct nb_dio {
	int fd;
	void *p;
	size_t len;
	off_t off;
	ssize_t got;
	int err;
	int done;
};

static void *nb_dio_read(void *arg)
{
	struct nb_dio *d = arg;

	d->got = pread(d->fd, d->p, d->len, d->off);
	d->err = d->got < 0 ? errno : 0;
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

NB_TEST_TIMEOUT(held_by_odirect_in_flight,
	"as a group member at memlock 8 MiB: two 4 MiB buffers each the target of an O_DIRECT read from a device-mapper delay target (3 s per read; still running when they are munmapped), munmap and FREE while the reads are in flight: the buffers stay counted and charged (VmPin 8 MiB, a 4 KiB ALLOC fails with ENOMEM); once the reads complete the charge is 0 within 2 s and the counters drop",
	120)
{
	struct nb_stats s0 = nb_stats_read();
	int dfd = nb_delay_open(3000 * nb_slow());
	struct nb_stage st;
	pid_t pid;

	nb_dev_open_to_group();
	nb_stage_init(&st);
	pid = NB_SYS(fork());
	if (!pid) {
		int fd = nb_member(), i;
		struct numabuf_alloc a[2];
		struct nb_dio d[2];
		pthread_t t[2];
		double t0;

		for (i = 0; i < 2; i++) {
			a[i] = nb_alloc_map(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0,
					    800 + i, (char **)&d[i].p);
			d[i].fd = dfd;
			d[i].len = 4 * NB_MIB;
			d[i].off = i * 4 * NB_MIB;
			NB_CHECK(!pthread_create(&t[i], NULL, nb_dio_read, &d[i]),
				 "pthread_create");
		}
		/*
		 * Both reads are submitted well within this wait and take
		 * 3 s: they are in flight.  Had one not got its pages yet,
		 * the munmap below would make it fail with EFAULT, which the
		 * test checks.
		 */
		usleep(500000 * nb_slow());
		for (i = 0; i < 2; i++)
			NB_CHECK(!__atomic_load_n(&d[i].done, __ATOMIC_ACQUIRE),
				 "O_DIRECT read %d through the 3 s delay target returned already (%zd)",
				 i, d[i].got);
		for (i = 0; i < 2; i++) {
			NB_SYS(munmap(d[i].p, 4 * NB_MIB));
			NB_CHECK(!nb_free(fd, a[i].handle), "FREE failed");
		}
		NB_CHECK(nb_proc_status("VmPin", 10) == NB_MEMLOCK / NB_KIB,
			 "VmPin %llu kB with the reads in flight",
			 nb_proc_status("VmPin", 10));
		nb_expect_memlock_full(fd, NB_PAGE, 0, NUMABUF_NODE_LOCAL,
				       "8 MiB of pages under O_DIRECT");
		nb_stage(&st, 1);
		for (i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			NB_CHECK(d[i].got == (ssize_t)(4 * NB_MIB),
				 "O_DIRECT read %d: %zd (%s)", i, d[i].got,
				 strerror(d[i].err));
		}
		t0 = nb_now();
		while (nb_proc_status("VmPin", 10) && nb_now() - t0 < 2.0 * nb_slow())
			usleep(10000);
		NB_CHECK(nb_proc_status("VmPin", 10) == 0,
			 "VmPin %llu kB after the reads completed",
			 nb_proc_status("VmPin", 10));
		nb_stage(&st, 2);
		close(fd);
		_exit(0);
	}
	NB_STAGE_CHECK(&st, pid, 1, s0, 2, (long long)(8 * NB_MIB));
	NB_STAGE_CHECK(&st, pid, 2, s0, 0, 0);
	NB_WAIT_OK(pid);
	close(dfd);
	nb_dev_restore();
}
