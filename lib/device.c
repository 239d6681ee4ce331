// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnumabuf: talking to /dev/numabuf (ioctl and mmap).
 *
 * Each ioctl argument is built with its size field set to sizeof() the
 * struct this library was compiled with and every other field zeroed, so
 * reserved fields are zero and a newer kernel sees an older struct.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Offsets reach 2^60 (handle << 40): a 32-bit off_t cannot hold them. */
_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

int numabuf_dev_open(const char *path)
{
	int fd;

	do
		fd = open(path, O_RDWR | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);

	return fd < 0 ? -errno : fd;
}

static int numabuf_dev_free_handle(int fd, uint32_t handle)
{
	struct numabuf_free arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.handle = handle;

	return ioctl(fd, NUMABUF_IOC_FREE, &arg) < 0 ? -errno : 0;
}

int numabuf_dev_alloc(int fd, size_t size, int node, unsigned int flags,
		      struct numabuf *buf)
{
	struct numabuf_alloc arg;
	void *addr;
	int err;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.flags = flags;
	arg.length = size;
	arg.node = node;

	if (ioctl(fd, NUMABUF_IOC_ALLOC, &arg) < 0)
		return -errno;

	/* A kernel that answers this way is not one we understand. */
	if (arg.handle == 0 || arg.length < size) {
		err = -EPROTO;
		goto err_free;
	}
	if (arg.length > SIZE_MAX || arg.offset > INT64_MAX) {
		err = -EOVERFLOW;
		goto err_free;
	}

	addr = mmap(NULL, (size_t)arg.length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, (off_t)arg.offset);
	if (addr == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}

	buf->addr = addr;
	buf->size = (size_t)arg.length;
	buf->node = arg.node;
	buf->handle = arg.handle;
	return 0;

err_free:
	numabuf_dev_free_handle(fd, arg.handle);
	return err;
}

int numabuf_dev_release(int fd, struct numabuf *buf, int release_handle)
{
	int err = 0;

	if (munmap(buf->addr, buf->size) < 0)
		err = -errno;
	if (release_handle) {
		int ret = numabuf_dev_free_handle(fd, buf->handle);

		if (!err)
			err = ret;
	}
	return err;
}

int numabuf_dev_info(int fd, uint32_t handle, struct numabuf_bufinfo *info)
{
	struct numabuf_info arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.handle = handle;

	if (ioctl(fd, NUMABUF_IOC_INFO, &arg) < 0)
		return -errno;

	memset(info, 0, sizeof(*info));
	info->size = arg.length;
	info->offset = arg.offset;
	info->phys = arg.phys;
	info->node = arg.node;
	info->flags = arg.flags;
	info->map_count = arg.map_count;
	info->handle = handle;
	info->source = arg.source;
	return 0;
}

/* EXPORT: the dma-buf's fd, or -errno. */
int numabuf_dev_export(int fd, uint32_t handle, unsigned int flags)
{
	struct numabuf_export arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.handle = handle;
	arg.flags = flags;
	if (ioctl(fd, NUMABUF_IOC_EXPORT, &arg) < 0)
		return -errno;
	return arg.fd;
}

/* POOL_SET when @bytes is given, else POOL_GET; fills *info if not NULL. */
int numabuf_dev_pool(int fd, int node, const uint64_t *bytes,
		     struct numabuf_poolinfo *info)
{
	struct numabuf_pool arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.node = node;
	if (bytes)
		arg.target = *bytes;

	if (ioctl(fd, bytes ? NUMABUF_IOC_POOL_SET : NUMABUF_IOC_POOL_GET,
		  &arg) < 0)
		return -errno;

	if (info) {
		memset(info, 0, sizeof(*info));
		info->target = arg.target;
		info->size = arg.pool_bytes;
		info->free = arg.free_bytes;
		info->largest = arg.largest_free;
		info->node = arg.node;
	}
	return 0;
}

/* ---- ATTACH, DETACH, SYNC ------------------------------------------------ */

int numabuf_dev_attach(int fd, uint32_t handle, const char *device,
		       int attach, uint64_t *dma_addr)
{
	struct numabuf_attach arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.handle = handle;
	if (!device || !device[0] || strlen(device) >= sizeof(arg.device))
		return -EINVAL;
	memcpy(arg.device, device, strlen(device) + 1);

	if (ioctl(fd, attach ? NUMABUF_IOC_ATTACH : NUMABUF_IOC_DETACH,
		  &arg) < 0)
		return -errno;
	if (dma_addr)
		*dma_addr = arg.dma_addr;
	return 0;
}

int numabuf_dev_sync(int fd, uint32_t handle, uint64_t offset, uint64_t len,
		     unsigned int flags)
{
	struct numabuf_sync arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.handle = handle;
	arg.flags = flags;
	arg.offset = offset;
	arg.length = len;
	return ioctl(fd, NUMABUF_IOC_SYNC, &arg) < 0 ? -errno : 0;
}
