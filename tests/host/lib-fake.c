// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host test of libnumabuf's logic against the fake device of
 * fake-device.c, for hosts that cannot load the module.
 *
 * Built with fake-device.c, lib/libnumabuf.a and
 * -Wl,--wrap=ioctl,--wrap=mmap64; run with NUMABUF_DEVICE=/dev/zero.  What
 * this checks is the library: the ioctl arguments it builds (size field,
 * reserved fields), the handles it frees on every path (free, close,
 * failed mmap, fork), errno passing and concurrent use of one context.  It
 * says nothing about the module.
 *
 * TAP output; exit status 0 when every test passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numabuf.h>

#include "fake-device.h"

static int all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		if (*c++)
			return 0;
	return 1;
}

/* TAP */
static int tests, failures;

__attribute__((format(printf, 2, 3)))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!cond)
		failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

static int is_mapped(void *addr, size_t len)
{
	return !msync(addr, len, MS_ASYNC);
}

static void test_open(void)
{
	struct numabuf_ctx *ctx = (void *)1;
	struct numabuf *buf;
	int ret;

	setenv(NUMABUF_DEVICE_ENV, "/nonexistent/numabuf", 1);
	ret = numabuf_open(&ctx);
	ok(ret == -ENOENT && ctx == (void *)1,
	   "open of a missing device: -ENOENT (%d)", ret);

	ok(numabuf_open(NULL) == -EINVAL, "open(NULL): -EINVAL");

	/* A device that knows none of our ioctls. */
	setenv(NUMABUF_DEVICE_ENV, "/dev/null", 1);
	ret = numabuf_open(&ctx);
	if (ok(!ret, "open /dev/null (%d)", ret)) {
		ret = numabuf_alloc(ctx, 4096, 0, 0, &buf);
		ok(ret == -ENOTTY, "alloc on /dev/null: -ENOTTY (%d)", ret);
		numabuf_close(ctx);
	}
	setenv(NUMABUF_DEVICE_ENV, "/dev/zero", 1);
}

static void test_alloc_free(struct numabuf_ctx *ctx)
{
	struct numabuf_bufinfo info;
	struct numabuf *buf;
	unsigned int frees;
	uint64_t phys = 1;
	unsigned char *p;
	int ret;

	ret = numabuf_alloc(ctx, 5000, 1, 0, &buf);
	if (!ok(!ret, "alloc 5000 bytes on node 1 (%d)", ret))
		return;
	p = numabuf_addr(buf);
	ok(numabuf_size(buf) == 8192, "size rounded to pages: %zu",
	   numabuf_size(buf));
	ok(numabuf_node(buf) == 1, "node 1: %d", numabuf_node(buf));
	ok(numabuf_handle(buf) != 0, "handle %u", numabuf_handle(buf));
	ok(p && is_mapped(p, 8192) && all_zero(p, 8192), "mapped and zero");
	memset(p, 0xa5, 8192);
	ok(p[8191] == 0xa5, "writable");

	ret = numabuf_phys(buf, &phys);
	ok(!ret && phys == 0, "phys unprivileged: 0 (%d, %#llx)", ret,
	   (unsigned long long)phys);
	fake.phys = 0x123456000ULL;
	ret = numabuf_phys(buf, &phys);
	ok(!ret && phys == 0x123456000ULL, "phys privileged (%d, %#llx)", ret,
	   (unsigned long long)phys);
	fake.phys = 0;
	ok(numabuf_phys(buf, NULL) == -EINVAL, "phys(NULL): -EINVAL");

	memset(&info, 0xff, sizeof(info));
	ret = numabuf_info(buf, &info);
	ok(!ret && info.size == 8192 && info.node == 1 && info.flags == 0 &&
	   info.map_count == 1 && info.handle == numabuf_handle(buf) &&
	   info.offset == (uint64_t)numabuf_handle(buf) << FAKE_OFFSET_SHIFT &&
	   all_zero(info.reserved, sizeof(info.reserved)),
	   "info (%d)", ret);

	frees = fake.frees;
	ret = numabuf_free(buf);
	ok(!ret && fake.frees == frees + 1 && !is_mapped(p, 8192),
	   "free unmaps and releases the handle (%d)", ret);
	ok(numabuf_free(NULL) == 0, "free(NULL): 0");

	ret = numabuf_alloc(ctx, 4096, NUMABUF_NODE_LOCAL, NUMABUF_F_PREFERRED,
			    &buf);
	if (ok(!ret, "alloc local, preferred (%d)", ret)) {
		ok(!numabuf_info(buf, &info) &&
		   info.flags == NUMABUF_F_PREFERRED, "flags passed on");
		numabuf_free(buf);
	}
}

static void test_errors(struct numabuf_ctx *ctx)
{
	static const struct {
		const char *what;
		size_t size;
		int node;
		unsigned int flags;
		int err;
	} cases[] = {
		{ "size 0",		0,	   0,  0,	-EINVAL },
		{ "more than the node",	(size_t)1 << 36, 0, 0,	-ENOMEM },
		{ "above 1 TiB",	((size_t)1 << 40) + 1, 0, 0, -EINVAL },
		{ "node 1000",		4096,	   1000, 0,	-ENODEV },
		{ "node 65536",		4096,	   65536, 0,	-EINVAL },
		{ "node -2",		4096,	   -2, 0,	-EINVAL },
		{ "unknown flag",	4096,	   0,  1U << 31, -EINVAL },
		{ "SIZE_MAX",		SIZE_MAX,  0,  0,	-EINVAL },
	};
	struct numabuf *buf = (void *)1;
	unsigned int live = fake_live(), frees;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ret = numabuf_alloc(ctx, cases[i].size, cases[i].node,
				    cases[i].flags, &buf);
		ok(ret == cases[i].err && buf == (void *)1,
		   "%s: %d (%d)", cases[i].what, cases[i].err, ret);
	}
	ok(numabuf_alloc(ctx, 4096, 0, 0, NULL) == -EINVAL,
	   "alloc with NULL result: -EINVAL");
	ok(numabuf_alloc(NULL, 4096, 0, 0, &buf) == -EINVAL,
	   "alloc with NULL context: -EINVAL");

	frees = fake.frees;
	fake.fail_mmap = EAGAIN;
	ret = numabuf_alloc(ctx, 4096, 0, 0, &buf);
	ok(ret == -EAGAIN && buf == (void *)1 && fake.frees == frees + 1,
	   "failed mmap: error returned, handle released (%d)", ret);
	ok(fake_live() == live, "no handle left behind");
}

static void test_close(void)
{
	struct numabuf_ctx *ctx;
	struct numabuf *buf[4];
	void *addr[4];
	int fd, ret, i, mapped = 0;

	ret = numabuf_open(&ctx);
	if (!ok(!ret, "open (%d)", ret))
		return;
	fd = numabuf_fd(ctx);
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "fd %d is O_CLOEXEC",
	   fd);
	for (i = 0; i < 4; i++) {
		ret = numabuf_alloc(ctx, 4096 << i, i % FAKE_NODES, 0, &buf[i]);
		if (ret)
			break;
		addr[i] = numabuf_addr(buf[i]);
	}
	ok(i == 4 && fake_live() == 4, "4 buffers (%d)", ret);
	numabuf_free(buf[1]);
	numabuf_close(ctx);
	for (i = 0; i < 4; i++)
		mapped += is_mapped(addr[i], 4096);
	ok(fake_live() == 0, "close releases every handle (%u left)",
	   fake_live());
	ok(!mapped, "close unmaps every buffer (%d left)", mapped);
	ok(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "close closes the fd");
	numabuf_close(NULL);
	ok(1, "close(NULL) is a no-op");
}

/*
 * A child shares the file with its parent: freeing an inherited buffer
 * must not release the parent's handle, freeing its own must.
 */
static void test_fork(struct numabuf_ctx *ctx)
{
	struct numabuf *parent_buf, *child_buf;
	int status, ret;
	pid_t pid;

	ret = numabuf_alloc(ctx, 4096, 0, 0, &parent_buf);
	if (!ok(!ret, "alloc before fork (%d)", ret))
		return;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		unsigned int frees = fake.frees;

		if (numabuf_free(parent_buf) || fake.frees != frees)
			_exit(1);
		if (numabuf_alloc(ctx, 4096, 0, 0, &child_buf))
			_exit(2);
		if (numabuf_free(child_buf) || fake.frees != frees + 1)
			_exit(3);
		_exit(0);
	}
	status = -1;
	if (pid > 0 && waitpid(pid, &status, 0) != pid)
		status = -1;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "child releases its own handles, not the parent's (status %#x)",
	   status);
	ret = numabuf_free(parent_buf);
	ok(!ret, "parent frees its buffer after the child did (%d)", ret);
}

#define THREADS	4
#define ROUNDS	300

static void *thread_main(void *arg)
{
	struct numabuf_ctx *ctx = arg;
	struct numabuf *buf;
	long bad = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (numabuf_alloc(ctx, 4096, i % FAKE_NODES, 0, &buf)) {
			bad++;
			continue;
		}
		*(volatile int *)numabuf_addr(buf) = i;
		if (i % 100 == 0)
			continue;	/* left for numabuf_close() */
		if (numabuf_free(buf))
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	struct numabuf_ctx *ctx;
	long bad = 0;
	void *ret;
	int i;

	if (!ok(!numabuf_open(&ctx), "open for threads"))
		return;
	pthread_mutex_lock(&fake.lock);
	fake.next_handle = 1;	/* the fake never reuses handles */
	memset(fake.h, 0, sizeof(fake.h));
	pthread_mutex_unlock(&fake.lock);

	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, thread_main, ctx);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], &ret);
		bad += (long)ret;
	}
	ok(bad == 0, "%d threads x %d alloc/free on one context (%ld errors)",
	   THREADS, ROUNDS, bad);
	ok(fake_live() == THREADS * 3, "%u handles held", fake_live());
	numabuf_close(ctx);
	ok(fake_live() == 0, "close after threads releases all (%u left)",
	   fake_live());
}

int main(void)
{
	struct numabuf_ctx *ctx;
	int ret;

	test_open();

	ret = numabuf_open(&ctx);
	if (!ok(!ret, "open the fake device (%d)", ret))
		return 1;
	test_alloc_free(ctx);
	test_errors(ctx);
	test_fork(ctx);
	numabuf_close(ctx);

	test_close();
	test_threads();

	ok(fake.bad_args == 0, "every ioctl and mmap argument was well formed "
	   "(%u were not)", fake.bad_args);

	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
