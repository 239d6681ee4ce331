/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test harness for the numabuf guest suite.
 *
 * A test is a function declared with NB_TEST(name, "what it checks").  The
 * harness runs each test in a forked child (its own process group), so a
 * crash or a hang is a FAIL of that test and not the end of the run, and
 * prints one line per test:
 *
 *	PASS name
 *	FAIL name: reason (file:line)
 *	SKIP name: reason
 *
 * After every test it also checks, independently of what the test did:
 *  - the module's counters (debugfs numabuf/stats, 'all' line) are back to
 *    where they were before the test;
 *  - free memory (MemFree plus the per-CPU page lists) is back within a
 *    margin;
 *  - the kernel log gained nothing at warning level or worse.
 * Any of these failing makes the test a FAIL.
 *
 * Inside a test, NB_CHECK()/NB_FAIL() end the test (the child) at once;
 * they may be used in processes the test forks, too: the first failure's
 * reason is the one reported.
 */
#ifndef NB_HARNESS_H
#define NB_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

struct nb_test {
	const char *name;
	const char *what;
	void (*fn)(void);
	const char *file;
	int line;
	unsigned int timeout;	/* seconds; 0: the default */
};

void nb_register(const struct nb_test *t);

/* Source file name without the build's directory, for result lines. */
#ifdef __FILE_NAME__
#define NB_FILE __FILE_NAME__
#else
#define NB_FILE __FILE__
#endif

#define NB_TEST_TIMEOUT(tname, twhat, tsecs)				\
	static void tname(void);					\
	static const struct nb_test nb_test_##tname = {			\
		.name = #tname, .what = twhat, .fn = tname,		\
		.file = NB_FILE, .line = __LINE__, .timeout = tsecs,	\
	};								\
	__attribute__((constructor)) static void nb_reg_##tname(void)	\
	{								\
		nb_register(&nb_test_##tname);				\
	}								\
	static void tname(void)

#define NB_TEST(tname, twhat) NB_TEST_TIMEOUT(tname, twhat, 0)

/* End the current test (process) with FAIL / SKIP and a reason. */
__attribute__((noreturn, format(printf, 3, 4)))
void nb_fail_at(const char *file, int line, const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void nb_skip(const char *fmt, ...);

#define NB_FAIL(...) nb_fail_at(NB_FILE, __LINE__, __VA_ARGS__)

#define NB_CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			nb_fail_at(NB_FILE, __LINE__, __VA_ARGS__);	\
	} while (0)

/* A call that must succeed (return >= 0); the reason names errno. */
#define NB_SYS(call)							\
	({								\
		long nb_r_ = (long)(call);				\
		if (nb_r_ < 0)						\
			nb_fail_at(NB_FILE, __LINE__, "%s: %s", #call,	\
				   strerror(errno));			\
		nb_r_;							\
	})

/*
 * A call that must fail with errno @err (return -1).  Evaluates to nothing;
 * the reason names what happened instead.
 */
#define NB_ERRNO(call, err)						\
	do {								\
		long nb_r_;						\
		errno = 0;						\
		nb_r_ = (long)(call);					\
		if (nb_r_ != -1 || errno != (err))			\
			nb_fail_at(NB_FILE, __LINE__,			\
				   "%s: expected %s, got %ld (%s)",	\
				   #call, nb_errname(err), nb_r_,	\
				   nb_r_ == -1 ? nb_errname(errno) : "success"); \
	} while (0)

/*
 * How slow the kernel under test is: NB_SLOW from the environment (1 if
 * unset or not 1..100).  The debug (KASAN, lockdep, kmemleak) lane sets it;
 * the harness multiplies every test's timeout by it, and a test may use it
 * to scale its own waits.
 */
unsigned int nb_slow(void);

/* "EINVAL" for EINVAL, else the number. */
const char *nb_errname(int err);

/* Informational line in the log ("# ..."), not a result. */
__attribute__((format(printf, 1, 2)))
void nb_note(const char *fmt, ...);

/*
 * A kernel log message that the running test provokes on purpose, such as
 * the kernel's own warning about a netlink attribute of the wrong length:
 * records whose text is exactly @msg (no level, no time) are not held
 * against the test.  Call it before provoking the message; up to
 * NB_KMSG_EXPECT_MAX per test, from any of its processes.  Each accepted
 * record is printed as a note, "# expected kernel log: MSG", which
 * guest-suite.sh reads to accept the same line in its whole-run check.
 */
#define NB_KMSG_EXPECT_MAX	4
#define NB_KMSG_EXPECT_LEN	256
void nb_kmsg_expect(const char *msg);

/* The module's total counters ('all' line of debugfs numabuf/stats). */
struct nb_stats {
	long long buffers;
	long long bytes;
};

/* Read the counters; fails the test if they cannot be read. */
struct nb_stats nb_stats_read(void);
/* Counters relative to @base must become @buffers / @bytes (polls ~2 s). */
void nb_stats_expect_at(const char *file, int line, struct nb_stats base,
			long long buffers, long long bytes);
#define NB_STATS_EXPECT(base, nbuf, nbytes)				\
	nb_stats_expect_at(NB_FILE, __LINE__, base, nbuf, nbytes)

/*
 * Free memory in KiB: MemFree from /proc/meminfo plus the pages sitting
 * on the per-CPU free lists (/proc/zoneinfo), which MemFree leaves out but
 * which are free all the same.  @node < 0: the whole system; else one
 * node (from /proc/zoneinfo).  Returns -1 if it cannot be read.
 */
long long nb_free_kb(int node);
/* A field of /proc/meminfo in KiB ("MemFree"), or -1. */
long long nb_meminfo_kb(const char *key);
/* Drop the page cache and slab caches so free memory settles. */
void nb_drop_caches(void);

#define NB_KIB	1024ULL
#define NB_MIB	(1024ULL * 1024)

#endif /* NB_HARNESS_H */
