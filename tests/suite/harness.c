// SPDX-License-Identifier: GPL-2.0
/*
 * The numabuf guest-suite harness: runs each registered test in a forked
 * child and checks, after each, that nothing leaked.  See harness.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NB_MAX_TESTS		256
#define NB_MSG_MAX		2048
#define NB_STATS_PATH		"/sys/kernel/debug/numabuf/stats"
#define NB_DEFAULT_TIMEOUT	300	/* s; the guest is emulated (TCG) */
/*
 * Free memory may end a test this much below where it started without
 * counting as a leak: slab caches grow and shrink with every fork and
 * VMA, and drop_caches does not empty them.  Big enough to ignore that,
 * small enough that one leaked 4 MiB buffer is caught (smaller leaks
 * show in the module's counters).  NB_FREE_MARGIN_KB overrides it.
 */
#define NB_FREE_MARGIN_KB	3072
#define NB_EXIT_SKIP		77

struct nb_result {
	int failed;		/* set by the first nb_fail_at() */
	char msg[NB_MSG_MAX];
	int nexpect;		/* slots of @expect taken (nb_kmsg_expect()) */
	char expect[NB_KMSG_EXPECT_MAX][NB_KMSG_EXPECT_LEN];
};

static const struct nb_test *nb_tests[NB_MAX_TESTS];
static int nb_ntests;
static struct nb_result *nb_res;	/* shared with the test processes */

void nb_register(const struct nb_test *t)
{
	if (nb_ntests == NB_MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	nb_tests[nb_ntests++] = t;
}

static int nb_cmp_test(const void *a, const void *b)
{
	const struct nb_test *x = *(const struct nb_test *const *)a;
	const struct nb_test *y = *(const struct nb_test *const *)b;
	int r = strcmp(x->file, y->file);

	return r ? r : x->line - y->line;
}

const char *nb_errname(int err)
{
	static __thread char buf[32];
	static const struct { int err; const char *name; } names[] = {
#define E(x) { x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES),
		E(EFAULT), E(EBUSY), E(EEXIST), E(ENODEV), E(EINVAL),
		E(ENOSPC), E(ENOTTY), E(ERANGE), E(ENOSYS), E(EOPNOTSUPP),
		E(EOVERFLOW), E(ETIMEDOUT),
#undef E
	};
	size_t i;

	if (err == 0)
		return "0";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

static void nb_set_msg(const char *fmt, va_list ap, const char *file, int line)
{
	char text[NB_MSG_MAX];
	int n;

	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (file && n >= 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, " (%s:%d)", file, line);
	/* The first failure, in any process of the test, is the one reported. */
	if (nb_res && !__sync_lock_test_and_set(&nb_res->failed, 1))
		memcpy(nb_res->msg, text, sizeof(text));
	else if (!nb_res)
		fprintf(stderr, "%s\n", text);
}

void nb_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nb_set_msg(fmt, ap, file, line);
	va_end(ap);
	fflush(NULL);
	_exit(1);
}

void nb_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nb_set_msg(fmt, ap, NULL, 0);
	va_end(ap);
	fflush(NULL);
	_exit(NB_EXIT_SKIP);
}

void nb_note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ---- independent observations: counters, free memory, kernel log ---- */

void nb_kmsg_expect(const char *msg)
{
	int i;

	NB_CHECK(nb_res, "nb_kmsg_expect() outside a test");
	NB_CHECK(strlen(msg) < NB_KMSG_EXPECT_LEN,
		 "expected kernel log message too long");
	i = __sync_fetch_and_add(&nb_res->nexpect, 1);
	NB_CHECK(i < NB_KMSG_EXPECT_MAX,
		 "more than %d expected kernel log messages", NB_KMSG_EXPECT_MAX);
	memcpy(nb_res->expect[i], msg, strlen(msg) + 1);
}

/* Did the test say it provokes this kernel log message (nb_kmsg_expect)? */
static bool nb_kmsg_expected(const char *msg)
{
	int i, n = nb_res ? nb_res->nexpect : 0;

	for (i = 0; i < n && i < NB_KMSG_EXPECT_MAX; i++)
		if (!strcmp(nb_res->expect[i], msg))
			return true;
	return false;
}

static int nb_stats_try(struct nb_stats *s)
{
	char line[256];
	FILE *f = fopen(NB_STATS_PATH, "re");
	int ok = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "all %lld %lld", &s->buffers, &s->bytes) == 2)
			ok = 1;
	fclose(f);
	return ok ? 0 : -EPROTO;
}

struct nb_stats nb_stats_read(void)
{
	struct nb_stats s;
	int ret = nb_stats_try(&s);

	if (ret)
		NB_FAIL("cannot read %s: %s", NB_STATS_PATH, strerror(-ret));
	return s;
}

static void nb_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void nb_stats_expect_at(const char *file, int line, struct nb_stats base,
			long long buffers, long long bytes)
{
	struct nb_stats s;
	int i;

	/*
	 * A buffer whose pages were still held goes within a scan period
	 * (200 ms) of their return; a slow exit takes a while too.
	 */
	for (i = 0;; i++) {
		s = nb_stats_read();
		if (s.buffers - base.buffers == buffers &&
		    s.bytes - base.bytes == bytes)
			return;
		if (i >= 100 * (int)nb_slow())
			break;
		nb_sleep_ms(20);
	}
	nb_fail_at(file, line,
		   "module counters: expected +%lld buffers +%lld bytes, got %+lld buffers %+lld bytes",
		   buffers, bytes, s.buffers - base.buffers,
		   s.bytes - base.bytes);
}

void nb_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0) {
			/* not root, or no such knob: free memory is noisier */
		}
		close(fd);
	}
}

long long nb_meminfo_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * From /proc/zoneinfo: pages free (buddy) and pages on per-CPU lists, for
 * one node or (node < 0) all.
 */
static int nb_zoneinfo(int node, long long *buddy, long long *pcp)
{
	char line[256];
	int cur = -1;
	FILE *f = fopen("/proc/zoneinfo", "re");

	*buddy = *pcp = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		long long v;
		int n;

		if (sscanf(line, "Node %d, zone", &n) == 1) {
			cur = n;
			continue;
		}
		if (node >= 0 && cur != node)
			continue;
		while (isspace((unsigned char)*p))
			p++;
		if (sscanf(p, "pages free %lld", &v) == 1)
			*buddy += v;
		else if (sscanf(p, "count: %lld", &v) == 1)
			*pcp += v;
	}
	fclose(f);
	return 0;
}

long long nb_free_kb(int node)
{
	long long buddy, pcp, page_kb = sysconf(_SC_PAGESIZE) / 1024;

	if (nb_zoneinfo(node, &buddy, &pcp))
		return -1;
	if (node < 0) {
		long long memfree = nb_meminfo_kb("MemFree");

		return memfree < 0 ? -1 : memfree + pcp * page_kb;
	}
	return (buddy + pcp) * page_kb;
}

/* Kernel log records at warning level or worse since the last call. */
static int nb_kmsg_fd = -1;

/*
 * Warnings that say the emulated machine is slow, not that the kernel or
 * numabuf is wrong: under TCG on a loaded host a timer interrupt can take
 * tens of milliseconds.  guest-suite.sh ignores the same lines.
 */
/*
 * Messages of the emulated machine being slow, not of anything tested:
 * the timer and clocksource complaints, the deadline scheduler's (from
 * 6.12 the fair server of every CPU is a deadline entity, and a vCPU the
 * host starves falls behind its replenishment), and ACPICA giving up on an AML
 * loop after 30 s of real time (the pxb-pcie expander bus's _PRT builds
 * its routing table in a loop that the KASAN kernel under emulation runs
 * for longer than that when a device behind it is first enabled), with
 * the two lines that follow from it.  guest-suite.sh's warn_log drops the
 * same lines.
 */
static bool nb_kmsg_benign(const char *msg)
{
	return strstr(msg, "hrtimer: interrupt took") ||
	       strstr(msg, "clocksource: timekeeping watchdog") ||
	       strstr(msg, "clocksource: Long readout interval") ||
	       strstr(msg, "sched: DL replenish lagged too much") ||
	       strstr(msg, "due to previous error (AE_AML_LOOP_TIMEOUT)") ||
	       strstr(msg, "can't derive routing for PCI INT A") ||
	       strstr(msg, "PCI INT A: no GSI");
}

static void nb_kmsg_mark(void)
{
	if (nb_kmsg_fd < 0)
		nb_kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (nb_kmsg_fd >= 0)
		lseek(nb_kmsg_fd, 0, SEEK_END);
}

/*
 * A warning block only the emulator causes: the WARN_ON_ONCE of a
 * single-step trap in kernel mode (see tests/qemu/emulator-splats, which
 * drops the same blocks from the logs guest-run and guest-suite.sh scan).
 */
static bool nb_kmsg_emulator_warning(const char *msg)
{
	return strstr(msg, "WARNING: ") &&
	       strstr(msg, " at arch/x86/kernel/traps.c:") &&
	       strstr(msg, " exc_debug_kernel");
}

static bool nb_kmsg_bad(char *out, size_t outlen)
{
	char rec[8192], pending[1024] = "";
	bool bad = false, skip = false, waited = false;
	ssize_t n;

	if (nb_kmsg_fd < 0)
		return false;
	for (;;) {
		n = read(nb_kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten; go on */
		if (n <= 0 && pending[0] && !waited) {
			/* The warning line follows its "cut here" at once. */
			nb_sleep_ms(200);
			waited = true;
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = 0;
		if ((atoi(rec) & 7) <= 4 && !bad) {
			char *msg = strchr(rec, ';');

			msg = msg ? msg + 1 : rec;
			msg[strcspn(msg, "\n")] = 0;
			if (skip) {
				if (strstr(msg, "---[ end trace"))
					skip = false;
				continue;
			}
			if (pending[0]) {
				if (nb_kmsg_emulator_warning(msg)) {
					pending[0] = 0;
					skip = true;
					continue;
				}
				/* The line after "cut here" says what it is. */
				snprintf(out, outlen, "kernel log: %.900s", msg);
				bad = true;
				continue;
			}
			if (strstr(msg, "[ cut here ]")) {
				snprintf(pending, sizeof(pending), "%.900s", msg);
				continue;
			}
			if (nb_kmsg_benign(msg))
				continue;
			if (nb_kmsg_expected(msg)) {
				nb_note("expected kernel log: %s", msg);
				continue;
			}
			snprintf(out, outlen, "kernel log: %.900s", msg);
			bad = true;
		}
	}
	if (pending[0] && !bad) {
		snprintf(out, outlen, "kernel log: %.900s", pending);
		bad = true;
	}
	return bad;
}

/* ---- running one test ---- */

/*
 * A test that timed out: before it is killed, print where each of its
 * processes (process group @pgid) is, from its kernel stack, so that a hang
 * in the kernel names its place in the log.
 */
static void nb_dump_stuck(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[300], buf[4096], *rp;
		size_t n;
		FILE *f;
		int pg;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		/* pid (comm) state ppid pgrp ...; comm may hold blanks */
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %*c %*d %d", &pg) != 1 || pg != pgid)
			continue;
		*rp = 0;
		printf("# stuck: pid %s (%s) state %c; kernel stack:\n", de->d_name,
		       strchr(buf, '(') ? strchr(buf, '(') + 1 : "?", rp[2]);
		snprintf(path, sizeof(path), "/proc/%s/stack", de->d_name);
		f = fopen(path, "r");
		while (f && fgets(buf, sizeof(buf), f))
			printf("#   %s", buf);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	fflush(stdout);
}

static void nb_reap_strays(void)
{
	int i, status;

	/*
	 * The harness is a child subreaper: processes a test left behind
	 * were killed with its process group and come back here; anything
	 * that left the group is found by its parent pid.
	 */
	for (i = 0; i < 200; i++) {
		pid_t p = waitpid(-1, &status, WNOHANG);

		if (p < 0 && errno == ECHILD)
			return;
		if (p > 0)
			continue;
		if (i == 50) {
			DIR *d = opendir("/proc");
			struct dirent *de;

			while (d && (de = readdir(d))) {
				char path[300], buf[512], *rp;
				FILE *f;
				int ppid;

				if (!isdigit((unsigned char)de->d_name[0]))
					continue;
				snprintf(path, sizeof(path), "/proc/%s/stat",
					 de->d_name);
				f = fopen(path, "re");
				if (!f)
					continue;
				if (fgets(buf, sizeof(buf), f) &&
				    (rp = strrchr(buf, ')')) &&
				    sscanf(rp + 1, " %*c %d", &ppid) == 1 &&
				    ppid == getpid())
					kill(atoi(de->d_name), SIGKILL);
				fclose(f);
			}
			if (d)
				closedir(d);
		}
		nb_sleep_ms(10);
	}
}

static long long nb_margin_kb(void)
{
	const char *e = getenv("NB_FREE_MARGIN_KB");

	return e ? atoll(e) : NB_FREE_MARGIN_KB;
}

unsigned int nb_slow(void)
{
	const char *e = getenv("NB_SLOW");
	long v = e ? strtol(e, NULL, 10) : 1;

	return v >= 1 && v <= 100 ? (unsigned int)v : 1;
}

/*
 * The lowest free memory this process has read at a test's start or end,
 * or -1.  The system sometimes gives back tens of MiB for a while and takes
 * them again (seen on 6.12: 19 and 40 MiB above the level before and after,
 * over one or two tests, with the level the same at the binary's end); a
 * reading taken then is no baseline.  A test that leaks still ends below
 * every earlier reading, so the lowest of them is the baseline.
 */
static long long nb_free_low = -1;

static void nb_free_seen(long long kb)
{
	if (kb >= 0 && (nb_free_low < 0 || kb < nb_free_low))
		nb_free_low = kb;
}

/* Returns 0 pass, 1 fail, 2 skip; prints the result line. */
static int nb_run_one(const struct nb_test *t, unsigned int def_timeout)
{
	unsigned int timeout = (t->timeout ? t->timeout : def_timeout) * nb_slow();
	struct nb_stats s0 = { 0, 0 }, s1 = { 0, 0 };
	char reason[NB_MSG_MAX + 256] = "";
	long long free0, free1 = 0;
	int status = 0, verdict, i, stats_ok;
	bool timed_out = false;
	struct timespec start, now;
	pid_t pid;

	printf("# %s: %s\n", t->name, t->what);
	memset(nb_res, 0, sizeof(*nb_res));
	nb_drop_caches();
	stats_ok = nb_stats_try(&s0) == 0;
	free0 = nb_free_kb(-1);
	nb_free_seen(free0);
	if (free0 >= 0)
		free0 = nb_free_low;
	nb_kmsg_mark();
	fflush(NULL);

	pid = fork();
	if (pid < 0) {
		printf("FAIL %s: fork: %s\n", t->name, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	setpgid(pid, pid);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout) {
			timed_out = true;
			nb_dump_stuck(pid);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		nb_sleep_ms(5);
	}
	/* Whatever the test left running goes now, before the checks. */
	kill(-pid, SIGKILL);
	nb_reap_strays();

	if (timed_out) {
		snprintf(reason, sizeof(reason), "timed out after %u s%s%s",
			 timeout, nb_res->failed ? "; " : "",
			 nb_res->failed ? nb_res->msg : "");
		verdict = 1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		verdict = 0;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == NB_EXIT_SKIP) {
		snprintf(reason, sizeof(reason), "%s", nb_res->msg);
		verdict = 2;
	} else if (WIFEXITED(status)) {
		snprintf(reason, sizeof(reason), "%s",
			 nb_res->failed ? nb_res->msg : "exited with status");
		if (!nb_res->failed)
			snprintf(reason + strlen(reason),
				 sizeof(reason) - strlen(reason), " %d",
				 WEXITSTATUS(status));
		verdict = 1;
	} else if (WIFSIGNALED(status)) {
		snprintf(reason, sizeof(reason), "killed by signal %d (%s)%s%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 nb_res->failed ? "; " : "",
			 nb_res->failed ? nb_res->msg : "");
		verdict = 1;
	} else {
		snprintf(reason, sizeof(reason), "lost track of the test");
		verdict = 1;
	}

	/* Leak checks, independent of the test's own verdict. */
	if (verdict != 1) {
		int ret = 0;

		for (i = 0; i < 100 * (int)nb_slow(); i++) {
			ret = nb_stats_try(&s1);
			if (!ret && stats_ok && s1.buffers == s0.buffers &&
			    s1.bytes == s0.bytes)
				break;
			nb_sleep_ms(20);
		}
		if (!stats_ok || ret) {
			snprintf(reason, sizeof(reason),
				 "cannot read %s", NB_STATS_PATH);
			verdict = 1;
		} else if (i == 100 * (int)nb_slow()) {
			snprintf(reason, sizeof(reason),
				 "leak: module counters went from %lld buffers %lld bytes to %lld buffers %lld bytes",
				 s0.buffers, s0.bytes, s1.buffers, s1.bytes);
			verdict = 1;
		}
	}
	if (verdict != 1 && free0 >= 0) {
		long long margin = nb_margin_kb();

		/*
		 * Free memory can lag for a while: kcompactd holds the free
		 * pages it has isolated, RCU frees page tables and VMAs late.
		 * Give it up to ~4 s before calling it a leak.
		 */
		for (i = 0; i < 20; i++) {
			nb_drop_caches();
			free1 = nb_free_kb(-1);
			if (free1 >= free0 - margin)
				break;
			nb_sleep_ms(200);
		}
		nb_free_seen(free1);
		if (i == 20) {
			snprintf(reason, sizeof(reason),
				 "leak: free memory %lld KiB below its baseline (%lld -> %lld KiB, margin %lld; the baseline is the lowest reading so far)",
				 free0 - free1, free0, free1, margin);
			verdict = 1;
		} else if (free0 - free1 > 1024) {
			/* Within the margin, but worth seeing if it adds up. */
			printf("# %s: free memory %lld KiB below its start\n",
			       t->name, free0 - free1);
		}
	}
	{
		char klog[1024];

		if (nb_kmsg_bad(klog, sizeof(klog)) && verdict != 1) {
			snprintf(reason, sizeof(reason), "%s", klog);
			verdict = 1;
		}
	}

	if (verdict == 0)
		printf("PASS %s\n", t->name);
	else if (verdict == 2)
		printf("SKIP %s: %s\n", t->name, reason);
	else
		printf("FAIL %s: %s\n", t->name, reason);
	fflush(stdout);
	return verdict;
}

static void nb_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-l] [-t SECONDS] [TEST...]\n"
		"  -l          list the tests and what each checks\n"
		"  -t SECONDS  default timeout of one test (%d)\n"
		"  TEST...     run only these tests\n"
		"environment: NB_SLOW=N multiplies every timeout by N (slow kernels)\n",
		prog, NB_DEFAULT_TIMEOUT);
}

/* Weak, so that a test program with its own main() can still link. */
__attribute__((weak)) int main(int argc, char **argv)
{
	unsigned int timeout = NB_DEFAULT_TIMEOUT;
	int i, j, opt, list = 0, pass = 0, fail = 0, skip = 0;
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	while ((opt = getopt(argc, argv, "lt:h")) != -1) {
		switch (opt) {
		case 'l':
			list = 1;
			break;
		case 't':
			timeout = (unsigned int)atoi(optarg);
			break;
		default:
			nb_usage(prog);
			return opt == 'h' ? 0 : 2;
		}
	}
	qsort(nb_tests, nb_ntests, sizeof(nb_tests[0]), nb_cmp_test);
	if (list) {
		for (i = 0; i < nb_ntests; i++)
			printf("%-28s %s\n", nb_tests[i]->name, nb_tests[i]->what);
		return 0;
	}
	for (j = optind; j < argc; j++) {
		for (i = 0; i < nb_ntests; i++)
			if (!strcmp(argv[j], nb_tests[i]->name))
				break;
		if (i == nb_ntests) {
			fprintf(stderr, "%s: no test named %s\n", prog, argv[j]);
			return 2;
		}
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	nb_res = mmap(NULL, sizeof(*nb_res), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nb_res == MAP_FAILED) {
		perror("mmap");
		return 2;
	}

	printf("# %s: %d tests\n", prog, nb_ntests);
	for (i = 0; i < nb_ntests; i++) {
		int r;

		if (optind < argc) {
			for (j = optind; j < argc; j++)
				if (!strcmp(argv[j], nb_tests[i]->name))
					break;
			if (j == argc)
				continue;
		}
		r = nb_run_one(nb_tests[i], timeout);
		pass += r == 0;
		fail += r == 1;
		skip += r == 2;
	}
	printf("# %s: %d passed, %d failed, %d skipped\n", prog, pass, fail,
	       skip);
	return fail ? 1 : 0;
}
