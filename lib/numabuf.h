/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnumabuf: pinned, physically contiguous, NUMA-local buffers from
 * /dev/numabuf.
 *
 * Conventions
 *   Functions that can fail return 0 (or a count) on success and a negative
 *   errno value on failure; errno itself is left alone as far as the C
 *   library allows.  Nothing prints, nothing exits.  strerror(-ret) gives
 *   the message.
 *
 * Objects
 *   struct numabuf_ctx is one open file of the device.  struct numabuf is
 *   one buffer of a context, mapped into the process for as long as it
 *   exists.  Both are opaque.
 *
 * Thread safety
 *   A context may be used from several threads at once: numabuf_alloc()
 *   and numabuf_free() of different buffers may run concurrently (the
 *   context's buffer list is protected by a mutex), and the accessors and
 *   numabuf_phys()/numabuf_info() take no lock at all.  A given buffer
 *   must not be used by one thread while another frees it, and
 *   numabuf_close() must not run concurrently with any other call on the
 *   same context or on its buffers.
 *
 * fork()
 *   A child inherits the context (the file is shared, and so are its
 *   handles) and the mappings.  In the child numabuf_free() and
 *   numabuf_close() unmap the child's copies but do not release handles the
 *   parent allocated: the parent still owns them.  As with any
 *   mutex-protected state, a child of a multithreaded parent should only
 *   use the memory, not the library, unless it knows no other thread was
 *   inside the library at fork() time.
 */
#ifndef NUMABUF_H
#define NUMABUF_H

#include <stddef.h>
#include <stdint.h>

#include <linux/numabuf.h>	/* NUMABUF_NODE_LOCAL, NUMABUF_F_* */

#ifdef __cplusplus
extern "C" {
#endif

/* Device opened by numabuf_open() unless $NUMABUF_DEVICE names another. */
#define NUMABUF_DEVICE_PATH	"/dev/" NUMABUF_DEVICE_NAME
#define NUMABUF_DEVICE_ENV	"NUMABUF_DEVICE"

struct numabuf_ctx;
struct numabuf;

/**
 * struct numabuf_bufinfo - what the kernel knows about a buffer
 * @size:	bytes in the buffer (a whole number of pages)
 * @offset:	mmap() offset of the buffer in the context's file
 * @phys:	physical address of the first byte, 0 without CAP_SYS_ADMIN
 * @node:	node of the memory
 * @flags:	NUMABUF_F_* given at allocation
 * @map_count:	mappings (VMAs) of the buffer in all processes
 * @handle:	handle of the buffer in the context's file
 * @source:	where the memory came from: NUMABUF_SOURCE_PAGES (the page
 *		allocator), _RANGE (a range of the node's memory) or _POOL
 * @reserved0, @reserved: zero; room for later fields
 */
struct numabuf_bufinfo {
	uint64_t size;
	uint64_t offset;
	uint64_t phys;
	int32_t  node;
	uint32_t flags;
	uint32_t map_count;
	uint32_t handle;
	uint32_t source;
	uint32_t reserved0;
	uint64_t reserved[3];
};

/**
 * struct numabuf_poolinfo - a node's pool
 * @target:	bytes the pool should hold (what numabuf_pool_set() set)
 * @size:	bytes the pool holds, free or in buffers
 * @free:	bytes free, including memory being zeroed after a free
 * @largest:	largest buffer the pool can give now
 * @node:	the node
 * @reserved0, @reserved: zero; room for later fields
 */
struct numabuf_poolinfo {
	uint64_t target;
	uint64_t size;
	uint64_t free;
	uint64_t largest;
	int32_t  node;
	uint32_t reserved0;
	uint64_t reserved[3];
};

/*
 * Open the device (O_RDWR | O_CLOEXEC) and make a context.  The path is
 * NUMABUF_DEVICE_PATH, or $NUMABUF_DEVICE when set (ignored in set-user-ID
 * and similar programs).  Returns 0 and sets *ctx, or -errno: -ENOENT when
 * the module is not loaded, -EACCES without permission, -ENOMEM.
 */
int numabuf_open(struct numabuf_ctx **ctx);

/*
 * Unmap and release every buffer of the context still allocated, close the
 * device and free the context.  Pointers to its buffers become invalid.
 * NULL is ignored.
 */
void numabuf_close(struct numabuf_ctx *ctx);

/* The context's file descriptor, e.g. to pass it with SCM_RIGHTS. */
int numabuf_fd(const struct numabuf_ctx *ctx);

/*
 * Allocate @size bytes (rounded up to whole pages) on @node, a node id or
 * NUMABUF_NODE_LOCAL, and map them read-write, shared, at numabuf_addr().
 * The memory is zeroed, pinned and physically contiguous.
 *
 * @flags: 0 for strict placement (the memory is on @node or the call fails
 * with -ENOMEM), or NUMABUF_F_PREFERRED to accept another node;
 * numabuf_node() tells which one was used.  NUMABUF_F_POOL takes the
 * memory only from the node's pool, NUMABUF_F_NO_POOL never; without
 * either the pool is used when it has room.
 *
 * Buffers of 2 MiB or more start on a 2 MiB physical boundary, buffers of
 * 1 GiB or more on a 1 GiB boundary.  Above 4 MiB (and without a pool) the
 * module migrates movable pages out of a range of the node, which takes
 * time in proportion to the size.
 *
 * Returns 0 and sets *buf, or -errno: -EINVAL (size 0 or above 1 TiB, bad
 * node or flags), -ENODEV (node not online), -ENOMEM (no room on the
 * node, or a memory limit), -EDQUOT (a numabuf cap), -EINTR (killed while
 * waiting), or an mmap() error, in which case the allocation has been
 * undone.
 */
int numabuf_alloc(struct numabuf_ctx *ctx, size_t size, int node,
		  unsigned int flags, struct numabuf **buf);

/*
 * Unmap the buffer, release its handle and free @buf.  @buf is invalid
 * afterwards even when the return value is negative (the kernel refused to
 * release the handle, which the library never expects; the memory then goes
 * when the context is closed).  NULL is ignored.
 */
int numabuf_free(struct numabuf *buf);

/* Accessors: constant for the life of the buffer, no system call. */
void    *numabuf_addr(const struct numabuf *buf);
size_t   numabuf_size(const struct numabuf *buf);
int      numabuf_node(const struct numabuf *buf);
uint32_t numabuf_handle(const struct numabuf *buf);

/*
 * Physical address of the first byte of the buffer, for devices that need
 * one.  Asks the kernel (NUMABUF_IOC_INFO), which reveals it only to
 * callers with CAP_SYS_ADMIN: without it the call succeeds with *phys = 0.
 * 0 is therefore "not known", never a valid answer.
 */
int numabuf_phys(const struct numabuf *buf, uint64_t *phys);

/* Fill *info from the kernel (NUMABUF_IOC_INFO).  Returns 0 or -errno. */
int numabuf_info(const struct numabuf *buf, struct numabuf_bufinfo *info);

/*
 * Read the pool of @node (a node id or NUMABUF_NODE_LOCAL) into *info.
 * Any user may.  Returns 0 or -errno (-EINVAL, -ENODEV).
 */
int numabuf_pool_get(struct numabuf_ctx *ctx, int node,
		     struct numabuf_poolinfo *info);

/*
 * Make the pool of @node hold @bytes (rounded up to 4 MiB).  Growing
 * reserves contiguous memory on the node at once, all or nothing (-ENOMEM);
 * shrinking gives free memory back at once and the rest as its buffers are
 * freed.  Needs CAP_SYS_ADMIN (-EPERM).  Fills *info (may be NULL) with
 * the pool afterwards.  Returns 0 or -errno.
 */
int numabuf_pool_set(struct numabuf_ctx *ctx, int node, uint64_t bytes,
		     struct numabuf_poolinfo *info);

#ifdef __cplusplus
}
#endif

#endif /* NUMABUF_H */
