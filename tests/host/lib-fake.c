// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host test of libnumabuf's logic against a fake device, for hosts that
 * cannot load the module.
 *
 * Linked with lib/libnumabuf.a and -Wl,--wrap=ioctl,--wrap=mmap64, and run
 * with NUMABUF_DEVICE=/dev/zero: ioctls on /dev/zero are answered here the
 * way docs/interfaces.md says the module answers them, and the buffer is
 * mapped as shared anonymous memory.  What this checks is the library: the
 * ioctl arguments it builds (size field, reserved fields), the handles it
 * frees on every path (free, close, failed mmap, fork), errno passing and
 * concurrent use of one context.  It says nothing about the module.
 *
 * TAP output; exit status 0 when every test passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numabuf.h>

/* The fake device: two online nodes, 4 MiB limit, handles from 1. */
#define FAKE_NODES		2
#define FAKE_MAX_NUMNODES	1024
#define FAKE_MAX_BYTES		(4UL << 20)
#define FAKE_HANDLES		4096
#define FAKE_OFFSET_SHIFT	40

static struct {
	pthread_mutex_t lock;
	struct {
		uint64_t length;
		int node;
		unsigned int flags;
		int live;
	} h[FAKE_HANDLES];
	unsigned int next_handle;
	unsigned int live;		/* handles not yet freed */
	unsigned int frees;		/* successful FREE ioctls */
	unsigned int bad_args;		/* arguments the module would refuse */
	uint64_t phys;			/* what INFO reports (0: unprivileged) */
	int fail_mmap;			/* errno for the next mmap, or 0 */
} fake = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.next_handle = 1,
};

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off);

static int is_fake_fd(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(1, 5);	/* /dev/zero */
}

static int all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		if (*c++)
			return 0;
	return 1;
}

static int fake_alloc(struct numabuf_alloc *a)
{
	unsigned int handle;
	int node = a->node;

	if (a->size != sizeof(*a) || !all_zero(a->reserved, sizeof(a->reserved)) ||
	    a->handle || a->offset) {
		fake.bad_args++;
		return -EINVAL;
	}
	if (a->flags & ~NUMABUF_F_ALL || !a->length || node < -1 ||
	    node >= FAKE_MAX_NUMNODES)
		return -EINVAL;
	if (node >= FAKE_NODES)
		return -ENODEV;
	if (a->length > FAKE_MAX_BYTES)
		return -EOPNOTSUPP;
	if (fake.next_handle >= FAKE_HANDLES)
		return -ENOMEM;
	if (node == NUMABUF_NODE_LOCAL)
		node = 0;

	handle = fake.next_handle++;
	fake.h[handle].length = (a->length + 4095) & ~4095ULL;
	fake.h[handle].node = node;
	fake.h[handle].flags = a->flags;
	fake.h[handle].live = 1;
	fake.live++;

	a->length = fake.h[handle].length;
	a->node = node;
	a->handle = handle;
	a->offset = (uint64_t)handle << FAKE_OFFSET_SHIFT;
	return 0;
}

static int fake_free(struct numabuf_free *f)
{
	if (f->size != sizeof(*f) || !all_zero(f->reserved, sizeof(f->reserved))) {
		fake.bad_args++;
		return -EINVAL;
	}
	if (!f->handle || f->handle >= FAKE_HANDLES || !fake.h[f->handle].live)
		return -ENOENT;
	fake.h[f->handle].live = 0;
	fake.live--;
	fake.frees++;
	return 0;
}

static int fake_info(struct numabuf_info *i)
{
	unsigned int handle = i->handle;

	if (i->size != sizeof(*i) || i->reserved0 || i->length || i->phys ||
	    !all_zero(i->reserved, sizeof(i->reserved))) {
		fake.bad_args++;
		return -EINVAL;
	}
	if (!handle || handle >= FAKE_HANDLES || !fake.h[handle].live)
		return -ENOENT;
	i->length = fake.h[handle].length;
	i->node = fake.h[handle].node;
	i->flags = fake.h[handle].flags;
	i->map_count = 1;
	i->offset = (uint64_t)handle << FAKE_OFFSET_SHIFT;
	i->phys = fake.phys;
	return 0;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	void *arg;
	va_list ap;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (!is_fake_fd(fd))
		return __real_ioctl(fd, req, arg);

	pthread_mutex_lock(&fake.lock);
	switch (req) {
	case NUMABUF_IOC_ALLOC:
		ret = fake_alloc(arg);
		break;
	case NUMABUF_IOC_FREE:
		ret = fake_free(arg);
		break;
	case NUMABUF_IOC_INFO:
		ret = fake_info(arg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	pthread_mutex_unlock(&fake.lock);

	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off)
{
	uint64_t handle = (uint64_t)off >> FAKE_OFFSET_SHIFT;
	int err = 0;

	if (!is_fake_fd(fd))
		return __real_mmap64(addr, len, prot, flags, fd, off);

	pthread_mutex_lock(&fake.lock);
	if (fake.fail_mmap) {
		err = fake.fail_mmap;
		fake.fail_mmap = 0;
	} else if (!(flags & MAP_SHARED) || prot != (PROT_READ | PROT_WRITE) ||
		   (off & ((1ULL << FAKE_OFFSET_SHIFT) - 1)) ||
		   !handle || handle >= FAKE_HANDLES || !fake.h[handle].live ||
		   len != fake.h[handle].length) {
		fake.bad_args++;
		err = EINVAL;
	}
	pthread_mutex_unlock(&fake.lock);

	if (err) {
		errno = err;
		return MAP_FAILED;
	}
	/* Shared anonymous memory: zeroed, like the module's. */
	return __real_mmap64(addr, len, prot, flags, fd, 0);
}

static unsigned int fake_live(void)
{
	unsigned int n;

	pthread_mutex_lock(&fake.lock);
	n = fake.live;
	pthread_mutex_unlock(&fake.lock);
	return n;
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
		{ "8 MiB",		8 << 20,   0,  0,	-EOPNOTSUPP },
		{ "node 1000",		4096,	   1000, 0,	-ENODEV },
		{ "node 65536",		4096,	   65536, 0,	-EINVAL },
		{ "node -2",		4096,	   -2, 0,	-EINVAL },
		{ "unknown flag",	4096,	   0,  1U << 31, -EINVAL },
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
