/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnumabuf internals shared by the library's files.
 */
#ifndef NUMABUF_INTERNAL_H
#define NUMABUF_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "numabuf.h"

#define NB_EXPORT	__attribute__((visibility("default")))

/**
 * struct numabuf_ctx - one open file of the device
 * @fd:		the file
 * @lock:	protects @bufs
 * @bufs:	buffers of this context, most recent first
 */
struct numabuf_ctx {
	int fd;
	pthread_mutex_t lock;
	struct numabuf *bufs;
};

/**
 * struct numabuf - one mapped buffer
 * @ctx:	context the buffer belongs to
 * @prev, @next: links in @ctx->bufs, under @ctx->lock
 * @addr:	start of the mapping
 * @size:	bytes mapped, the whole buffer
 * @node:	node of the memory
 * @handle:	handle in @ctx->fd
 * @owner:	process that allocated the handle; only it releases it
 *
 * Everything but the links is set before the buffer is published and never
 * changes, so the accessors need no lock.
 */
struct numabuf {
	struct numabuf_ctx *ctx;
	struct numabuf *prev;
	struct numabuf *next;
	void *addr;
	size_t size;
	int node;
	uint32_t handle;
	pid_t owner;
};

/*
 * device.c: the ioctl and mmap side; each returns 0 (or an fd) or -errno.
 * Hidden from libnumabuf.so; in libnumabuf.a they are global, so they keep
 * to the library's numabuf_ prefix.
 */
int numabuf_dev_open(const char *path);
int numabuf_dev_alloc(int fd, size_t size, int node, unsigned int flags,
		      struct numabuf *buf);
int numabuf_dev_release(int fd, struct numabuf *buf, int release_handle);
int numabuf_dev_info(int fd, uint32_t handle, struct numabuf_bufinfo *info);
int numabuf_dev_export(int fd, uint32_t handle, unsigned int flags);
int numabuf_dev_pool(int fd, int node, const uint64_t *bytes,
		     struct numabuf_poolinfo *info);
int numabuf_dev_attach(int fd, uint32_t handle, const char *device,
		       int attach, uint64_t *dma_addr);
int numabuf_dev_sync(int fd, uint32_t handle, uint64_t offset, uint64_t len,
		     unsigned int flags);

/*
 * netlink.c: the two versions of numabuf_nl_bufs() in libnumabuf.so
 * (.symver): numabuf_nl_bufs@@NUMABUF_0.5, the default, with the filter
 * of numabuf.h, and numabuf_nl_bufs@NUMABUF_0.3 with the filter programs
 * linked against NUMABUF_0.3 and NUMABUF_0.4 pass (struct
 * numabuf_buf_filter before @match was added, below).
 */
struct numabuf_buf_filter_v03 {
	int32_t node;		/* -1: any */
	uint32_t pid;		/* 0: any */
	int64_t uid;		/* -1: any */
};

int numabuf_nl_bufs_v05(struct numabuf_nl *nl,
			const struct numabuf_buf_filter *filter,
			int (*cb)(const struct numabuf_bufstat *st, void *arg),
			void *arg);
int numabuf_nl_bufs_v03(struct numabuf_nl *nl,
			const struct numabuf_buf_filter_v03 *filter,
			int (*cb)(const struct numabuf_bufstat *st, void *arg),
			void *arg);

#endif /* NUMABUF_INTERNAL_H */
