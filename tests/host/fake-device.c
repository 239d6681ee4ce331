// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fake /dev/numabuf for host tests of libnumabuf: see fake-device.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/numabuf.h>

#include "fake-device.h"

struct fake_device fake = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.next_handle = 1,
};

__attribute__((constructor)) static void fake_init(void)
{
	const char *e = getenv("NUMABUF_FAKE_PHYS");

	fake.phys_pagemap = e && !strcmp(e, "pagemap");
}

/* Physical address of @addr per /proc/self/pagemap, 0 if unknown. */
static uint64_t fake_pagemap_phys(const void *addr)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e),
		  (off_t)((uintptr_t)addr / (uintptr_t)page * sizeof(e))) !=
	    (ssize_t)sizeof(e))
		e = 0;
	close(fd);
	if (!(e >> 63))
		return 0;
	return (e & ((UINT64_C(1) << 55) - 1)) * (uint64_t)page;
}

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
	if (a->flags & ~NUMABUF_F_ALL || !a->length ||
	    a->length > UINT64_MAX - 4095 || node < -1 ||
	    node >= FAKE_MAX_NUMNODES)
		return -EINVAL;
	if (node >= FAKE_NODES)
		return -ENODEV;
	if (a->length > (1ULL << 40))
		return -EINVAL;
	if (a->length > FAKE_MAX_BYTES)	/* more than the fake node has */
		return -ENOMEM;
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

	if (i->size != sizeof(*i) || i->source || i->length || i->phys ||
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
	if (fake.phys_pagemap && fake.h[handle].addr && geteuid() == 0)
		i->phys = fake_pagemap_phys(fake.h[handle].addr);
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
	/* Shared anonymous memory: zeroed and populated, like the module's. */
	addr = __real_mmap64(addr, len, prot, flags | MAP_POPULATE, fd, 0);
	if (addr != MAP_FAILED) {
		pthread_mutex_lock(&fake.lock);
		if (!fake.h[handle].addr)
			fake.h[handle].addr = addr;
		pthread_mutex_unlock(&fake.lock);
	}
	return addr;
}

unsigned int fake_live(void)
{
	unsigned int n;

	pthread_mutex_lock(&fake.lock);
	n = fake.live;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

