// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnumabuf: contexts, buffers and their bookkeeping.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

NB_EXPORT int numabuf_open(struct numabuf_ctx **ctxp)
{
	struct numabuf_ctx *ctx;
	const char *path;
	int err;

	if (!ctxp)
		return -EINVAL;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;

	err = -pthread_mutex_init(&ctx->lock, NULL);
	if (err)
		goto err_free;

	path = secure_getenv(NUMABUF_DEVICE_ENV);
	if (!path || !*path)
		path = NUMABUF_DEVICE_PATH;

	ctx->fd = numabuf_dev_open(path);
	if (ctx->fd < 0) {
		err = ctx->fd;
		goto err_mutex;
	}

	*ctxp = ctx;
	return 0;

err_mutex:
	pthread_mutex_destroy(&ctx->lock);
err_free:
	free(ctx);
	return err;
}

NB_EXPORT int numabuf_fd(const struct numabuf_ctx *ctx)
{
	return ctx->fd;
}

static void buf_link(struct numabuf_ctx *ctx, struct numabuf *buf)
{
	pthread_mutex_lock(&ctx->lock);
	buf->prev = NULL;
	buf->next = ctx->bufs;
	if (ctx->bufs)
		ctx->bufs->prev = buf;
	ctx->bufs = buf;
	pthread_mutex_unlock(&ctx->lock);
}

static void buf_unlink(struct numabuf_ctx *ctx, struct numabuf *buf)
{
	pthread_mutex_lock(&ctx->lock);
	if (buf->prev)
		buf->prev->next = buf->next;
	else
		ctx->bufs = buf->next;
	if (buf->next)
		buf->next->prev = buf->prev;
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Unmap @buf and release its handle, unless the handle belongs to the parent
 * of a fork() (see "fork()" in numabuf.h), then free the struct.
 */
static int buf_release(struct numabuf *buf)
{
	int err;

	err = numabuf_dev_release(buf->ctx->fd, buf, buf->owner == getpid());
	free(buf);
	return err;
}

NB_EXPORT int numabuf_alloc(struct numabuf_ctx *ctx, size_t size, int node,
			    unsigned int flags, struct numabuf **bufp)
{
	struct numabuf *buf;
	int err;

	if (!ctx || !bufp)
		return -EINVAL;

	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return -ENOMEM;

	err = numabuf_dev_alloc(ctx->fd, size, node, flags, buf);
	if (err) {
		free(buf);
		return err;
	}
	buf->ctx = ctx;
	buf->owner = getpid();
	buf_link(ctx, buf);

	*bufp = buf;
	return 0;
}

NB_EXPORT int numabuf_free(struct numabuf *buf)
{
	if (!buf)
		return 0;

	buf_unlink(buf->ctx, buf);
	return buf_release(buf);
}

NB_EXPORT void numabuf_close(struct numabuf_ctx *ctx)
{
	struct numabuf *buf, *next;

	if (!ctx)
		return;

	/* No other call may run on @ctx now: the list is ours alone. */
	for (buf = ctx->bufs; buf; buf = next) {
		next = buf->next;
		buf_release(buf);
	}
	close(ctx->fd);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

NB_EXPORT void *numabuf_addr(const struct numabuf *buf)
{
	return buf->addr;
}

NB_EXPORT size_t numabuf_size(const struct numabuf *buf)
{
	return buf->size;
}

NB_EXPORT int numabuf_node(const struct numabuf *buf)
{
	return buf->node;
}

NB_EXPORT uint32_t numabuf_handle(const struct numabuf *buf)
{
	return buf->handle;
}

NB_EXPORT int numabuf_info(const struct numabuf *buf,
			   struct numabuf_bufinfo *info)
{
	if (!buf || !info)
		return -EINVAL;

	return numabuf_dev_info(buf->ctx->fd, buf->handle, info);
}

NB_EXPORT int numabuf_export_flags(struct numabuf *buf, unsigned int flags,
				   int *fd)
{
	int ret;

	if (!buf || !fd || (flags & ~NUMABUF_EXPORT_ALL))
		return -EINVAL;
	ret = numabuf_dev_export(buf->ctx->fd, buf->handle, flags);
	if (ret < 0)
		return ret;
	*fd = ret;
	return 0;
}

NB_EXPORT int numabuf_export(struct numabuf *buf, int *fd)
{
	return numabuf_export_flags(buf, NUMABUF_EXPORT_CLOEXEC, fd);
}

NB_EXPORT int numabuf_phys(const struct numabuf *buf, uint64_t *phys)
{
	struct numabuf_bufinfo info;
	int err;

	if (!phys)
		return -EINVAL;

	err = numabuf_info(buf, &info);
	if (err)
		return err;

	*phys = info.phys;
	return 0;
}

NB_EXPORT int numabuf_attach(struct numabuf *buf, const char *device,
			     uint64_t *dma_addr)
{
	if (!buf)
		return -EINVAL;
	return numabuf_dev_attach(buf->ctx->fd, buf->handle, device, 1,
				  dma_addr);
}

NB_EXPORT int numabuf_detach(struct numabuf *buf, const char *device)
{
	if (!buf)
		return -EINVAL;
	return numabuf_dev_attach(buf->ctx->fd, buf->handle, device, 0, NULL);
}

NB_EXPORT int numabuf_sync(struct numabuf *buf, uint64_t offset,
			   uint64_t len, unsigned int flags)
{
	if (!buf)
		return -EINVAL;
	return numabuf_dev_sync(buf->ctx->fd, buf->handle, offset, len, flags);
}

NB_EXPORT int numabuf_pool_get(struct numabuf_ctx *ctx, int node,
			       struct numabuf_poolinfo *info)
{
	if (!ctx || !info)
		return -EINVAL;
	return numabuf_dev_pool(ctx->fd, node, NULL, info);
}

NB_EXPORT int numabuf_pool_set(struct numabuf_ctx *ctx, int node,
			       uint64_t bytes, struct numabuf_poolinfo *info)
{
	if (!ctx)
		return -EINVAL;
	return numabuf_dev_pool(ctx->fd, node, &bytes, info);
}
