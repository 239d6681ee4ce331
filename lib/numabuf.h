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
 * time in proportion to the size.  Such a range needs CAP_SYS_ADMIN unless
 * the administrator set the module parameter range_users=1 (-EPERM
 * otherwise: ask for a pool, numabufctl pool set NODE SIZE, and pass
 * NUMABUF_F_POOL), and may be rate limited per user (range_rate: -EAGAIN).
 *
 * Returns 0 and sets *buf, or -errno: -EINVAL (size 0 or above 1 TiB, bad
 * node or flags), -ENODEV (node not online), -ENOMEM (no room on the
 * node, or a memory limit), -EDQUOT (a numabuf cap), -EPERM (above 4 MiB
 * outside a pool without permission, see above), -EAGAIN (range_rate),
 * -EINTR (killed while waiting), or an mmap() error, in which case the
 * allocation has been undone.
 */
int numabuf_alloc(struct numabuf_ctx *ctx, size_t size, int node,
		  unsigned int flags, struct numabuf **buf);

/* ---- why an allocation failed ------------------------------------------ */

/* What refused an allocation: struct numabuf_diag's @cause. */
enum numabuf_cause {
	NUMABUF_CAUSE_UNKNOWN,		/* nothing found to blame */
	NUMABUF_CAUSE_MEMLOCK,		/* RLIMIT_MEMLOCK (ENOMEM) */
	NUMABUF_CAUSE_MEMCG,		/* the memory cgroup's memory.max */
	NUMABUF_CAUSE_CAP_TOTAL,	/* max_bytes, all buffers (EDQUOT) */
	NUMABUF_CAUSE_CAP_USER,		/* max_user_bytes, one user's */
	NUMABUF_CAUSE_CAP_USER_POOL,	/* max_user_pool_bytes */
	NUMABUF_CAUSE_NO_POOL,		/* NUMABUF_F_POOL, the node has none */
	NUMABUF_CAUSE_POOL_SMALL,	/* ... no free block that large */
	NUMABUF_CAUSE_NODE_MEMORY,	/* not that much free on the node */
	NUMABUF_CAUSE_FRAGMENTED,	/* free, but not in one piece */
	NUMABUF_CAUSE_NO_DMA32,		/* too little below 4 GiB there */
	NUMABUF_CAUSE_RANGE_PRIV,	/* > 4 MiB outside a pool (EPERM) */
	NUMABUF_CAUSE_RANGE_RATE,	/* range_rate (EAGAIN) */
	NUMABUF_CAUSE_CGROUP,		/* under a memory cgroup limit */
	NUMABUF_CAUSE_CACHE_PRIV,	/* WC/UC without CAP_SYS_RAWIO */
	NUMABUF_CAUSE_NODE_OFFLINE,	/* ENODEV */
	NUMABUF_CAUSE_TOO_LARGE,	/* EINVAL: 0 or above 1 TiB */
	NUMABUF_CAUSE_UNSUPPORTED,	/* EOPNOTSUPP */
	NUMABUF_CAUSE_INTERRUPTED,	/* EINTR */
};

/**
 * struct numabuf_diag - why numabuf_alloc() failed, and what to do
 * @cause:	enum numabuf_cause
 * @node:	the node the request was for (NUMABUF_NODE_LOCAL resolved)
 * @limit_hit:	1 when a limit someone set refused it (memlock, memory
 *		cgroup, a numabuf cap, range_rate), not a lack of memory or
 *		of privilege
 * @size:	bytes asked for, rounded up to whole pages
 * @limit:	the limit that refused it, in bytes, when it has one
 *		(RLIMIT_MEMLOCK, memory.max, the cap, the pool's largest
 *		free block, the node's free memory); else 0
 * @used:	what counted against @limit (pinned memory of the user's
 *		processes, the cgroup's memory.current, bytes held under
 *		the cap); else 0
 * @reserved:	zero; room for later fields
 * @msg:	one line for people: the cause, with its numbers, then what
 *		to do about it; never empty after a successful call
 */
struct numabuf_diag {
	int32_t  cause;
	int32_t  node;
	int32_t  limit_hit;
	uint32_t reserved0;
	uint64_t size;
	uint64_t limit;
	uint64_t used;
	uint64_t reserved[4];
	char     msg[512];
};

/*
 * After numabuf_alloc() (or numabuf_alloc_near()) failed with @err, find
 * out which limit refused the request of @size bytes on @node with
 * @flags, as passed to it, and fill *d.  It reads what the caller can see
 * (its limits and capabilities, the pinned memory of its user's processes,
 * its memory cgroup, the module's parameters, the pools and the caller's
 * own buffers over netlink, the node's free memory in sysfs and
 * /proc/buddyinfo), so it takes some milliseconds, and what it finds may
 * have changed since the refusal.  Returns 0 (d->cause may be
 * NUMABUF_CAUSE_UNKNOWN), or -EINVAL when @err is not negative or @d is
 * NULL, -ENOMEM.
 */
int numabuf_diagnose(int err, size_t size, int node, unsigned int flags,
		     struct numabuf_diag *d);

/* ---- near a device ------------------------------------------------------ */

/*
 * The NUMA node of @device, a name as sysfs shows it under
 * /sys/bus/BUS/devices/ (a PCI address such as "0000:81:00.0", a platform
 * device's name), from its numa_node attribute: *node is the node, or -1
 * when the device has none (the attribute says -1, or there is none).
 * Returns 0, -EINVAL for a name that is empty, too long
 * (NUMABUF_DEVICE_NAME_MAX with its NUL) or contains '/' or "..",
 * -ENODEV when no bus has such a device, or another -errno from sysfs.
 */
int numabuf_device_node(const char *device, int *node);

/* numabuf_alloc_near() placed the buffer on the caller's node instead. */
#define NUMABUF_NEAR_NO_NODE	1

/*
 * numabuf_alloc() on the node of @device (numabuf_device_node()): strict
 * placement there unless @flags has NUMABUF_F_PREFERRED, as for
 * numabuf_alloc().  A device with no node (-1, common on machines whose
 * firmware gives none) cannot say where it is: the buffer is then
 * allocated on the caller's node (NUMABUF_NODE_LOCAL, with @flags as
 * given) and the call returns NUMABUF_NEAR_NO_NODE, a positive value,
 * with *buf set, to say so.
 *
 * Returns 0 or NUMABUF_NEAR_NO_NODE with *buf set, or -errno: -ENODEV
 * no such device, -EINVAL a bad name (see numabuf_device_node()), and
 * everything numabuf_alloc() returns.  Test for failure with ret < 0.
 */
int numabuf_alloc_near(struct numabuf_ctx *ctx, size_t size,
		       const char *device, unsigned int flags,
		       struct numabuf **buf);

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
 * A dma-buf file descriptor for the whole buffer (NUMABUF_IOC_EXPORT), in
 * *fd, close-on-exec: for a kernel driver that imports dma-bufs, for
 * another process (over a unix socket), or for mmap().  The memory lives
 * for as long as the dma-buf does, even after numabuf_free(),
 * numabuf_close() or the end of the process.  Returns 0 or -errno.
 */
int numabuf_export(struct numabuf *buf, int *fd);
/*
 * The same with NUMABUF_EXPORT_* flags: NUMABUF_EXPORT_RDONLY gives a
 * dma-buf whose mmap() is read-only; without NUMABUF_EXPORT_CLOEXEC the
 * fd survives exec().
 */
int numabuf_export_flags(struct numabuf *buf, unsigned int flags, int *fd);

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

/* ---- devices: the kernel's DMA API -------------------------------------- */

/*
 * Map the whole buffer for @device, a PCI address ("0000:81:00.0") or a
 * platform device's name, with the kernel's DMA API, and set *dma_addr
 * (may be NULL) to where the device sees the first byte: an I/O virtual
 * address behind an IOMMU, else the memory's bus address.  The buffer is
 * one run of numabuf_size() bytes from there.  The attachment ends with
 * numabuf_detach(), when the buffer's last handle and mapping go, when a
 * driver binds to or unbinds from the device, and when the device is
 * removed.  Needs CAP_SYS_RAWIO or CAP_SYS_ADMIN.
 *
 * Returns 0 or -errno: -EPERM (no privilege), -ENODEV (no such device,
 * or one without DMA), -EBUSY (the device belongs to VFIO, user space),
 * -EEXIST (attached already), -ENOSPC (NUMABUF_ATTACH_MAX attachments),
 * -ERANGE (the device cannot reach the memory: its DMA mask ends below
 * it and no IOMMU translates; the module never bounces), -EINVAL.
 */
int numabuf_attach(struct numabuf *buf, const char *device,
		   uint64_t *dma_addr);

/* End the attachment to @device.  -ENOENT: not attached to it. */
int numabuf_detach(struct numabuf *buf, const char *device);

/*
 * Make @len bytes from @offset coherent between the CPU and every device
 * the buffer is attached to.  @flags: NUMABUF_SYNC_FOR_CPU (after the
 * device wrote) or NUMABUF_SYNC_FOR_DEVICE (after the CPU wrote), and
 * NUMABUF_SYNC_READ, NUMABUF_SYNC_WRITE or both.  Nothing to do on a
 * cache-coherent machine (x86), but the arguments are checked (-EINVAL).
 */
int numabuf_sync(struct numabuf *buf, uint64_t offset, uint64_t len,
		 unsigned int flags);

/* ---- control plane: the "numabuf" generic netlink family ---------------- */

/*
 * A netlink socket to the numabuf family (through libmnl), for reading
 * node statistics and the system's buffers, setting pools and limits, and
 * receiving events.  It needs no open device and no buffer.
 *
 * Functions return 0 (or a count) or -errno.  When the kernel explains a
 * refusal (the extended ACK), numabuf_nl_errmsg() gives its message until
 * the next call on the handle, with the attribute it names: "no such node
 * (attribute 'node')".  A handle is for one thread at a time.
 */
struct numabuf_nl;

/*
 * Open a socket and resolve the family.  Returns 0 and sets *nl, or
 * -ENOENT when the module (and so the family) is not loaded, -EPROTO when
 * the kernel's family is older than version 1, or another -errno.
 */
int numabuf_nl_open(struct numabuf_nl **nl);

/* Close the socket and free the handle.  NULL is ignored. */
void numabuf_nl_close(struct numabuf_nl *nl);

/* The socket, e.g. to poll() for events after numabuf_nl_subscribe(). */
int numabuf_nl_fd(const struct numabuf_nl *nl);

/*
 * The kernel's message for the last call that failed, "" when it gave
 * none or the call succeeded.  Valid until the next call on @nl.
 */
const char *numabuf_nl_errmsg(const struct numabuf_nl *nl);

/**
 * struct numabuf_nodestat - one node, as node-get reports it (bytes)
 * @node:	node id
 * @mem_total:	memory the node manages
 * @mem_free:	free memory on the node
 * @pool_target, @pool_size, @pool_free, @pool_largest, @pool_low:
 *		the pool (see struct numabuf_poolinfo) and its low watermark
 * @buffers, @bytes: live buffers on the node and their bytes
 * @allocs, @fails: allocations and failed attempts by source, indexed by
 *		NUMABUF_SOURCE_* - 1 (pages, range, pool)
 * @reserved0, @reserved: zero; room for later fields
 */
struct numabuf_nodestat {
	int32_t  node;
	uint32_t reserved0;
	uint64_t mem_total;
	uint64_t mem_free;
	uint64_t pool_target;
	uint64_t pool_size;
	uint64_t pool_free;
	uint64_t pool_largest;
	uint64_t pool_low;
	uint64_t buffers;
	uint64_t bytes;
	uint64_t allocs[3];
	uint64_t fails[3];
	uint64_t reserved[4];
};

/*
 * One node (numabuf_nl_node_get) or every node with memory
 * (numabuf_nl_nodes, which calls @cb for each in order of id and stops
 * early, returning what @cb returned, when @cb returns nonzero).
 * -ENODEV: no such node or no memory on it.
 */
int numabuf_nl_node_get(struct numabuf_nl *nl, int node,
			struct numabuf_nodestat *st);
int numabuf_nl_nodes(struct numabuf_nl *nl,
		     int (*cb)(const struct numabuf_nodestat *st, void *arg),
		     void *arg);

/**
 * struct numabuf_attachinfo - a buffer's attachment to a device
 * @device:	the device's name (a PCI address or a platform device)
 * @dma_addr:	where the device sees the first byte, 0 unless the reader
 *		has CAP_SYS_ADMIN
 * @reason:	detached events: why it ended, NUMABUF_DETACH_* (REQUEST,
 *		RELEASE, DRIVER, REMOVE); else 0
 * @reserved0, @reserved: zero; room for later fields
 */
struct numabuf_attachinfo {
	char     device[NUMABUF_DEVICE_NAME_MAX];
	uint64_t dma_addr;
	uint32_t reason;
	uint32_t reserved0;
	uint64_t reserved[2];
};

/**
 * struct numabuf_bufstat - one buffer of the system, or an event about one
 * @id:		system-wide id (0 in an alloc-failed event)
 * @node:	node of the memory (asked for, in an alloc-failed event)
 * @size:	bytes (asked for, in an alloc-failed event)
 * @flags:	NUMABUF_F_* given at allocation
 * @source:	NUMABUF_SOURCE_*
 * @pid:	allocating process, in the reader's pid namespace (0: not
 *		visible there)
 * @uid:	user charged for it
 * @map_count:	mappings in all processes
 * @created_ns:	creation time, ns since the epoch
 * @phys:	physical address, 0 unless the reader has CAP_SYS_ADMIN
 * @error:	alloc-failed events: why, a positive errno
 * @comm:	command name of the allocating task
 * @released:	1 when the buffer's handle and mappings are gone but someone
 *		still holds some of its pages: it stays charged and counted
 *		until they come back
 * @suppressed:	alloc-failed events: failures of this user (or of users
 *		sharing its rate-limit slot) not announced since the previous
 *		alloc-failed event; this event stands for 1 + @suppressed
 * @nr_attach:	entries in @attach: the devices the buffer is attached to
 *		(numabuf_attach()); in attached and detached events, 1
 * @exports:	live dma-bufs of the buffer (numabuf_export()); each keeps
 *		it alive
 * @attach:	@nr_attach attachments, NULL when none; valid until the
 *		callback returns
 * @reserved:	zero; room for later fields
 *
 * Fields the message did not carry are zero.
 */
struct numabuf_bufstat {
	uint32_t id;
	int32_t  node;
	uint64_t size;
	uint32_t flags;
	uint32_t source;
	uint32_t pid;
	uint32_t uid;
	uint32_t map_count;
	uint32_t error;
	uint64_t created_ns;
	uint64_t phys;
	char     comm[16];
	uint32_t released;
	uint32_t suppressed;
	uint32_t nr_attach;
	uint32_t exports;
	const struct numabuf_attachinfo *attach;
#if UINTPTR_MAX == 0xffffffffU
	uint32_t attach_pad;	/* 8 bytes, as on 64-bit */
#endif
	uint64_t reserved[1];
};

/* Fields of struct numabuf_buf_filter that a buffer must match. */
#define NUMABUF_MATCH_NODE	(1U << 0)	/* @node */
#define NUMABUF_MATCH_PID	(1U << 1)	/* @pid */
#define NUMABUF_MATCH_UID	(1U << 2)	/* @uid */
#define NUMABUF_MATCH_ALL	(NUMABUF_MATCH_NODE | NUMABUF_MATCH_PID | \
				 NUMABUF_MATCH_UID)

/**
 * struct numabuf_buf_filter - which buffers numabuf_nl_bufs() lists
 * @match:	NUMABUF_MATCH_* bits: the fields below that a buffer must
 *		match (all of them); 0 lists every buffer
 * @node:	with NUMABUF_MATCH_NODE, only buffers on this node (>= 0)
 * @pid:	with NUMABUF_MATCH_PID, only buffers this process allocated
 *		(> 0, in the caller's pid namespace)
 * @reserved:	zero
 * @uid:	with NUMABUF_MATCH_UID, only this user's buffers (0 to
 *		UINT32_MAX - 1, in the caller's user namespace)
 *
 * A field whose bit is clear is ignored, so a zero-initialised filter
 * matches every buffer, and one sets only what one filters on:
 *
 *	struct numabuf_buf_filter f = {
 *		.match = NUMABUF_MATCH_PID, .pid = getpid(),
 *	};
 *
 * Unknown bits in @match, a non-zero @reserved or a selected field out of
 * its range: -EINVAL.  (Programs linked against an earlier libnumabuf
 * call the earlier filter, without @match, through symbol version
 * NUMABUF_0.3, and keep its meaning: node -1, pid 0 and uid -1 for "any".)
 */
struct numabuf_buf_filter {
	uint32_t match;
	int32_t node;
	uint32_t pid;
	uint32_t reserved;
	int64_t uid;
};

/*
 * Every live buffer of the system (matching @filter, which may be NULL,
 * like a zero filter: every buffer), each once, in order of id.  Without
 * CAP_SYS_ADMIN the kernel shows only the caller's own buffers, and no
 * physical addresses.  @cb as for numabuf_nl_nodes().  Returns 0, what
 * @cb returned, or -errno; for a filter the library refuses (-EINVAL),
 * numabuf_nl_errmsg() names the field.
 */
int numabuf_nl_bufs(struct numabuf_nl *nl,
		    const struct numabuf_buf_filter *filter,
		    int (*cb)(const struct numabuf_bufstat *st, void *arg),
		    void *arg);

/*
 * Set @node's pool target (if @target is not NULL) and its low watermark
 * (if @low is not NULL), as NUMABUF_IOC_POOL_SET does.  Needs CAP_NET_ADMIN
 * and CAP_SYS_ADMIN (-EPERM).  -ENOMEM: the node cannot give the memory.
 */
int numabuf_nl_pool_set(struct numabuf_nl *nl, int node,
			const uint64_t *target, const uint64_t *low);

/**
 * struct numabuf_limits - caps on the memory numabuf holds (bytes)
 * @max_bytes:	all buffers together, 0 for no cap
 * @max_user_bytes: the buffers of one user, 0 for no cap
 * @total_bytes: what all buffers hold now (read only)
 * @reserved:	zero; room for later fields
 */
struct numabuf_limits {
	uint64_t max_bytes;
	uint64_t max_user_bytes;
	uint64_t total_bytes;
	uint64_t reserved[5];
};

/* Read the caps.  Needs CAP_NET_ADMIN (-EPERM). */
int numabuf_nl_limit_get(struct numabuf_nl *nl, struct numabuf_limits *lim);

/*
 * Set the caps whose pointer is not NULL.  Needs CAP_NET_ADMIN and
 * CAP_SYS_ADMIN (-EPERM).
 * A cap below what is held refuses new buffers; live ones stay.
 */
int numabuf_nl_limit_set(struct numabuf_nl *nl, const uint64_t *max_bytes,
			 const uint64_t *max_user_bytes);

/* Event types: the family's notification commands. */
enum numabuf_event_type {
	NUMABUF_EVENT_BUF_CREATED = NUMABUF_CMD_BUF_CREATED_NTF,
	NUMABUF_EVENT_BUF_FREED = NUMABUF_CMD_BUF_FREED_NTF,
	NUMABUF_EVENT_ALLOC_FAILED = NUMABUF_CMD_ALLOC_FAILED_NTF,
	NUMABUF_EVENT_POOL_LOW = NUMABUF_CMD_POOL_LOW_NTF,
	NUMABUF_EVENT_BUF_ATTACHED = NUMABUF_CMD_BUF_ATTACHED_NTF,
	NUMABUF_EVENT_BUF_DETACHED = NUMABUF_CMD_BUF_DETACHED_NTF,
};

/**
 * struct numabuf_event - one event
 * @type:	enum numabuf_event_type
 * @buf:	buffer events and alloc-failed: what the event carried;
 *		attached and detached: id and the one attachment (with
 *		its reason, for detached)
 * @node:	pool-low: the node and its pool (node, pool_* fields)
 */
struct numabuf_event {
	uint32_t type;
	struct numabuf_bufstat buf;
	struct numabuf_nodestat node;
};

/*
 * Join the events group.  From then on the handle is for events only:
 * use another for requests.  Needs CAP_SYS_ADMIN (-EPERM).
 */
int numabuf_nl_subscribe(struct numabuf_nl *nl);

/*
 * Wait for the next batch of events (or, with @nonblock, take what is
 * there) and call @cb for each, in the order the kernel sent them.  @cb
 * returns 0 to go on, a positive value to stop after this event (the rest
 * of the batch is dropped), or a negative errno to stop and fail.  Returns
 * the number of events passed to @cb, what @cb returned when negative,
 * -EAGAIN (nonblock, nothing there), or -ENOBUFS when the socket
 * overflowed and events were lost (the handle stays usable).
 */
int numabuf_nl_events(struct numabuf_nl *nl, int nonblock,
		      int (*cb)(const struct numabuf_event *ev, void *arg),
		      void *arg);

#ifdef __cplusplus
}
#endif

#endif /* NUMABUF_H */
