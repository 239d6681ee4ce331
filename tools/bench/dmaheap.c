// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: dma-heap, a dma-buf of the system heap
 * (DMA_HEAP_IOCTL_ALLOC) mapped; the heap has no choice of node.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "bench.h"

#define DMA_HEAP_PATH	"/dev/dma_heap/system"

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

const struct method method_heap = {
	.name = "dma-heap",
	.what = "dma-buf system heap: DMA_HEAP_IOCTL_ALLOC + mmap + touch + munmap + close (no node choice)",
	.setup = heap_setup,
	.get = heap_get,
	.put = heap_put,
	.teardown = heap_teardown,
};
