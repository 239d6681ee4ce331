/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * numabuf: pinned, physically contiguous, NUMA-local buffers.
 *
 * This header is the single definition of the numabuf ABI, shared by the
 * kernel module and by libnumabuf.
 *
 * Every ioctl argument starts with a __u32 'size' that the caller sets to
 * sizeof() the struct it was built with.  The kernel accepts any size from
 * the first published version (NUMABUF_*_SIZE_VER0) up to one page: fields
 * it does not know must be zero (else E2BIG), fields the caller does not
 * know are taken as zero.  Reserved fields must be zero (else EINVAL).
 * The ioctl number is matched on direction, type and number, not on its
 * size bits, so the encoded size may grow with the struct.
 */
#ifndef _UAPI_LINUX_NUMABUF_H
#define _UAPI_LINUX_NUMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NUMABUF_DEVICE_NAME	"numabuf"

/* Node argument: the node of the CPU making the call. */
#define NUMABUF_NODE_LOCAL	(-1)

/*
 * Allocation flags.
 * NUMABUF_F_PREFERRED: the node is a preference; the buffer may come from
 * another node, which is reported back.  Without it placement is strict:
 * the buffer is on the node asked for or the call fails with ENOMEM.
 * NUMABUF_F_POOL: only from a pool (see NUMABUF_IOC_POOL_SET).
 * NUMABUF_F_NO_POOL: never from a pool.
 * Without either, a node's pool is used when it has a free block large
 * enough, and the general allocator otherwise.
 * NUMABUF_F_HUGE_MAP: map the buffer with PMD (2 MiB) entries wherever the
 * physical block and the address are both 2 MiB aligned, 4 KiB entries
 * elsewhere, all filled in on first touch.  The mapping is VM_PFNMAP |
 * VM_IO, so get_user_pages() users (O_DIRECT, io_uring fixed buffers, RDMA
 * ibv_reg_mr, process_vm_readv) cannot pin it: meant for users who hand
 * the device the module's DMA addresses.  Kernels before 6.12 refuse the
 * flag with EOPNOTSUPP.  PMD entries are used when transparent huge pages
 * are "always" or "madvise" (the module marks the mapping VM_HUGEPAGE, so
 * no madvise() is needed); with "never" a kernel may map 4 KiB entries
 * instead (mainline 6.12 does; Debian's 6.12.118 was measured to keep
 * the PMD entries).
 */
#define NUMABUF_F_PREFERRED	0x00000001U
#define NUMABUF_F_POOL		0x00000002U
#define NUMABUF_F_NO_POOL	0x00000004U
#define NUMABUF_F_HUGE_MAP	0x00000008U
/*
 * NUMABUF_F_DMA32: the whole buffer lies below 4 GiB, for devices whose
 * DMA mask is 32 bits and that have no IOMMU in front of them.
 * NUMABUF_F_WC, NUMABUF_F_UC: CPU mappings of the buffer (its mmap() and
 * its dma-buf's) are write-combining or uncached, and so is the kernel's
 * own mapping of the memory for as long as the buffer holds it, so that
 * no CPU mapping of another type can exist (x86: set_memory_wc() and
 * set_memory_uc(), restored at free).  At most one of the two; kernels
 * or architectures that cannot refuse them with EOPNOTSUPP.  They need
 * CAP_SYS_RAWIO or CAP_SYS_ADMIN (EPERM).
 */
#define NUMABUF_F_DMA32		0x00000010U
#define NUMABUF_F_WC		0x00000020U
#define NUMABUF_F_UC		0x00000040U
#define NUMABUF_F_ALL		(NUMABUF_F_PREFERRED | NUMABUF_F_POOL | \
				 NUMABUF_F_NO_POOL | NUMABUF_F_HUGE_MAP | \
				 NUMABUF_F_DMA32 | NUMABUF_F_WC | NUMABUF_F_UC)

/*
 * Where a buffer's memory came from (struct numabuf_info's @source).
 * NUMABUF_SOURCE_PAGES: one block of the page allocator (up to 4 MiB).
 * NUMABUF_SOURCE_RANGE: a contiguous range taken from the node's memory,
 * movable pages migrated out of it (above 4 MiB).
 * NUMABUF_SOURCE_POOL: the node's pool.
 */
#define NUMABUF_SOURCE_PAGES	1
#define NUMABUF_SOURCE_RANGE	2
#define NUMABUF_SOURCE_POOL	3

/**
 * struct numabuf_alloc - argument of NUMABUF_IOC_ALLOC
 * @size:	in: sizeof(struct numabuf_alloc)
 * @flags:	in: NUMABUF_F_*
 * @length:	in: bytes wanted; out: bytes allocated (rounded up to pages).
 *		A buffer of 2 MiB or more starts on a 2 MiB physical
 *		boundary, one of 1 GiB or more on a 1 GiB boundary.
 * @node:	in: node id or NUMABUF_NODE_LOCAL; out: node of the memory
 * @handle:	out: handle of the buffer in this open file (never 0)
 * @offset:	out: mmap() offset that maps the buffer: handle << 40, or for
 *		a 32-bit caller on a 64-bit kernel handle << 32 (below
 *		2^44, as mmap2() needs; such buffers are at most 4 GiB)
 * @reserved:	must be zero
 */
struct numabuf_alloc {
	__u32 size;
	__u32 flags;
	__u64 length;
	__s32 node;
	__u32 handle;
	__u64 offset;
	__u64 reserved[4];
};

#define NUMABUF_ALLOC_SIZE_VER0	64

/**
 * struct numabuf_free - argument of NUMABUF_IOC_FREE
 * @size:	in: sizeof(struct numabuf_free)
 * @handle:	in: handle to release; the memory lives on while mapped
 * @reserved:	must be zero
 */
struct numabuf_free {
	__u32 size;
	__u32 handle;
	__u64 reserved[2];
};

#define NUMABUF_FREE_SIZE_VER0	24

/**
 * struct numabuf_info - argument of NUMABUF_IOC_INFO
 * @size:	in: sizeof(struct numabuf_info)
 * @handle:	in: handle to describe
 * @length:	out: bytes in the buffer
 * @node:	out: node of the memory
 * @flags:	out: NUMABUF_F_* given at allocation
 * @map_count:	out: number of mappings (VMAs) of the buffer, all processes
 * @source:	out: NUMABUF_SOURCE_*; must be zero on input
 * @offset:	out: mmap() offset of the buffer
 * @phys:	out: physical address of the first byte; 0 unless the caller
 *		has CAP_SYS_ADMIN
 * @reserved:	must be zero
 */
struct numabuf_info {
	__u32 size;
	__u32 handle;
	__u64 length;
	__s32 node;
	__u32 flags;
	__u32 map_count;
	__u32 source;
	__u64 offset;
	__u64 phys;
	__u64 reserved[4];
};

#define NUMABUF_INFO_SIZE_VER0	80

/**
 * struct numabuf_pool - argument of NUMABUF_IOC_POOL_GET and _POOL_SET
 * @size:	in: sizeof(struct numabuf_pool)
 * @node:	in: node id or NUMABUF_NODE_LOCAL; out: the node
 * @flags:	in: must be zero
 * @reserved0:	must be zero
 * @target:	in (POOL_SET): bytes the pool should hold, rounded up to
 *		pages.  Growing reserves memory on the node at once and
 *		fails with ENOMEM, reserving nothing, when the node cannot
 *		give it.  Shrinking gives free memory back at once and the
 *		rest as its buffers are freed.
 *		out: the pool's target
 * @pool_bytes:	out: bytes the pool holds, free or in buffers
 * @free_bytes:	out: bytes free in the pool (including memory being
 *		zeroed after a free)
 * @largest_free: out: largest buffer the pool can give now
 * @reserved:	must be zero
 */
struct numabuf_pool {
	__u32 size;
	__s32 node;
	__u32 flags;
	__u32 reserved0;
	__u64 target;
	__u64 pool_bytes;
	__u64 free_bytes;
	__u64 largest_free;
	__u64 reserved[4];
};

#define NUMABUF_POOL_SIZE_VER0	80

/* Longest device name ATTACH and DETACH accept, its NUL included. */
#define NUMABUF_DEVICE_NAME_MAX	64

/**
 * struct numabuf_attach - argument of NUMABUF_IOC_ATTACH and _DETACH
 * @size:	in: sizeof(struct numabuf_attach)
 * @handle:	in: the buffer
 * @flags:	in: must be zero
 * @reserved0:	must be zero
 * @device:	in: the device, NUL-terminated: a PCI address
 *		("0000:81:00.0") or the name of a platform device, as sysfs
 *		shows them under /sys/bus/{pci,platform}/devices
 * @dma_addr:	out (ATTACH): the address at which the device reaches the
 *		first byte; the buffer is one run of @length bytes from
 *		there.  Behind an IOMMU an I/O virtual address, else the bus
 *		address of the memory.  Ignored by DETACH.
 * @length:	out (ATTACH): bytes mapped, the whole buffer.  Ignored by
 *		DETACH.
 * @reserved:	must be zero
 *
 * ATTACH maps the buffer for the device with the kernel's DMA API, in both
 * directions; DETACH unmaps it.  It needs CAP_SYS_RAWIO or CAP_SYS_ADMIN
 * (EPERM): it lets the device read and write that memory.  An attachment
 * ends by DETACH, when the buffer's last handle and mapping go, when a
 * driver is bound to or unbound from the device, and when the device is
 * removed; each end is announced on the control plane.  Errors: ENODEV no
 * such device, EBUSY its DMA belongs to user space (bound to vfio-pci),
 * EEXIST already attached to it, ENOSPC the buffer has
 * NUMABUF_ATTACH_MAX attachments, ERANGE the device cannot reach the
 * memory (its DMA mask ends below the buffer and no IOMMU translates for
 * it: the module never lets the DMA API bounce a buffer through swiotlb),
 * ENOENT (DETACH) not attached.
 */
struct numabuf_attach {
	__u32 size;
	__u32 handle;
	__u32 flags;
	__u32 reserved0;
	char device[NUMABUF_DEVICE_NAME_MAX];
	__u64 dma_addr;
	__u64 length;
	__u64 reserved[4];
};

#define NUMABUF_ATTACH_SIZE_VER0	128
/*
 * At most this many devices per buffer: the kernel's DMA API debugging
 * (CONFIG_DMA_API_DEBUG) warns beyond 8 live mappings of one cacheline.
 */
#define NUMABUF_ATTACH_MAX		8

/* Why an attachment ended (NUMABUF_A_ATTACH_REASON). */
#define NUMABUF_DETACH_REQUEST	1	/* DETACH */
#define NUMABUF_DETACH_RELEASE	2	/* the buffer's last user went */
#define NUMABUF_DETACH_DRIVER	3	/* a driver was bound or unbound */
#define NUMABUF_DETACH_REMOVE	4	/* the device was removed */

/* NUMABUF_IOC_EXPORT flags. */
#define NUMABUF_EXPORT_CLOEXEC	0x00000001U	/* the fd is O_CLOEXEC */
#define NUMABUF_EXPORT_RDONLY	0x00000002U	/* mmap() of it is read-only */
#define NUMABUF_EXPORT_ALL	(NUMABUF_EXPORT_CLOEXEC | NUMABUF_EXPORT_RDONLY)

/**
 * struct numabuf_export - argument of NUMABUF_IOC_EXPORT
 * @size:	in: sizeof(struct numabuf_export)
 * @handle:	in: the buffer
 * @flags:	in: NUMABUF_EXPORT_*
 * @fd:		out: a dma-buf file descriptor for the whole buffer.  The
 *		memory lives while the dma-buf does, whatever happens to the
 *		handle, the open file or the process.
 * @reserved:	must be zero
 */
struct numabuf_export {
	__u32 size;
	__u32 handle;
	__u32 flags;
	__s32 fd;
	__u64 reserved[4];
};

#define NUMABUF_EXPORT_SIZE_VER0	48

/*
 * NUMABUF_IOC_SYNC flags: exactly one of FOR_CPU (the CPU is about to read
 * or write: after the device wrote) and FOR_DEVICE (the device is about
 * to: after the CPU wrote), and one or both of READ (the device writes,
 * the CPU reads) and WRITE (the CPU writes, the device reads).
 */
#define NUMABUF_SYNC_FOR_CPU	0x00000001U
#define NUMABUF_SYNC_FOR_DEVICE	0x00000002U
#define NUMABUF_SYNC_READ	0x00000004U
#define NUMABUF_SYNC_WRITE	0x00000008U
#define NUMABUF_SYNC_ALL	(NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_FOR_DEVICE | \
				 NUMABUF_SYNC_READ | NUMABUF_SYNC_WRITE)

/**
 * struct numabuf_sync - argument of NUMABUF_IOC_SYNC
 * @size:	in: sizeof(struct numabuf_sync)
 * @handle:	in: the buffer
 * @flags:	in: NUMABUF_SYNC_*
 * @reserved0:	must be zero
 * @offset:	in: first byte of the range
 * @length:	in: bytes in the range, at least 1; the range must lie in
 *		the buffer (else EINVAL)
 * @reserved:	must be zero
 *
 * Makes the range coherent between the CPU and every device the buffer is
 * attached to (ATTACH, and the importers of its dma-bufs).  On a
 * cache-coherent machine (x86) nothing needs doing, but the arguments are
 * still checked.
 */
struct numabuf_sync {
	__u32 size;
	__u32 handle;
	__u32 flags;
	__u32 reserved0;
	__u64 offset;
	__u64 length;
	__u64 reserved[2];
};

#define NUMABUF_SYNC_SIZE_VER0	48

#define NUMABUF_IOC_MAGIC	'N'
#define NUMABUF_IOC_ALLOC	_IOWR(NUMABUF_IOC_MAGIC, 0x01, struct numabuf_alloc)
#define NUMABUF_IOC_FREE	_IOW(NUMABUF_IOC_MAGIC, 0x02, struct numabuf_free)
#define NUMABUF_IOC_INFO	_IOWR(NUMABUF_IOC_MAGIC, 0x03, struct numabuf_info)
/* Any user may read a pool; setting one needs CAP_SYS_ADMIN (else EPERM). */
#define NUMABUF_IOC_POOL_GET	_IOWR(NUMABUF_IOC_MAGIC, 0x04, struct numabuf_pool)
#define NUMABUF_IOC_POOL_SET	_IOWR(NUMABUF_IOC_MAGIC, 0x05, struct numabuf_pool)
#define NUMABUF_IOC_ATTACH	_IOWR(NUMABUF_IOC_MAGIC, 0x06, struct numabuf_attach)
#define NUMABUF_IOC_DETACH	_IOW(NUMABUF_IOC_MAGIC, 0x07, struct numabuf_attach)
#define NUMABUF_IOC_EXPORT	_IOWR(NUMABUF_IOC_MAGIC, 0x08, struct numabuf_export)
#define NUMABUF_IOC_SYNC	_IOW(NUMABUF_IOC_MAGIC, 0x09, struct numabuf_sync)

/*
 * The generic netlink family "numabuf", version 1, described by
 * docs/netlink/numabuf.yaml, which is the reference for everything below.
 * Every attribute set starts at 1; 64-bit values are u64 attributes padded
 * with the set's pad attribute.
 */
#define NUMABUF_FAMILY_NAME		"numabuf"
#define NUMABUF_FAMILY_VERSION		1
#define NUMABUF_MCGRP_EVENTS		"events"

enum {
	NUMABUF_A_NODE_ID = 1,
	NUMABUF_A_NODE_PAD,
	NUMABUF_A_NODE_MEM_TOTAL,
	NUMABUF_A_NODE_MEM_FREE,
	NUMABUF_A_NODE_POOL_TARGET,
	NUMABUF_A_NODE_POOL_SIZE,
	NUMABUF_A_NODE_POOL_FREE,
	NUMABUF_A_NODE_POOL_LARGEST,
	NUMABUF_A_NODE_POOL_LOW,
	NUMABUF_A_NODE_BUFFERS,
	NUMABUF_A_NODE_BYTES,
	NUMABUF_A_NODE_ALLOCS_PAGES,
	NUMABUF_A_NODE_ALLOCS_RANGE,
	NUMABUF_A_NODE_ALLOCS_POOL,
	NUMABUF_A_NODE_FAILS_PAGES,
	NUMABUF_A_NODE_FAILS_RANGE,
	NUMABUF_A_NODE_FAILS_POOL,

	__NUMABUF_A_NODE_MAX,
	NUMABUF_A_NODE_MAX = (__NUMABUF_A_NODE_MAX - 1)
};

enum {
	NUMABUF_A_BUF_ID = 1,
	NUMABUF_A_BUF_PAD,
	NUMABUF_A_BUF_SIZE,
	NUMABUF_A_BUF_NODE,
	NUMABUF_A_BUF_FLAGS,
	NUMABUF_A_BUF_SOURCE,
	NUMABUF_A_BUF_PID,
	NUMABUF_A_BUF_UID,
	NUMABUF_A_BUF_COMM,
	NUMABUF_A_BUF_MAP_COUNT,
	NUMABUF_A_BUF_CREATED,
	NUMABUF_A_BUF_PHYS,
	NUMABUF_A_BUF_ERROR,
	NUMABUF_A_BUF_RELEASED,
	NUMABUF_A_BUF_SUPPRESSED,
	NUMABUF_A_BUF_ATTACH,
	NUMABUF_A_BUF_EXPORTS,

	__NUMABUF_A_BUF_MAX,
	NUMABUF_A_BUF_MAX = (__NUMABUF_A_BUF_MAX - 1)
};

/* One attachment: nested in NUMABUF_A_BUF_ATTACH, one nest each. */
enum {
	NUMABUF_A_ATTACH_DEVICE = 1,
	NUMABUF_A_ATTACH_PAD,
	NUMABUF_A_ATTACH_DMA_ADDR,
	NUMABUF_A_ATTACH_REASON,

	__NUMABUF_A_ATTACH_MAX,
	NUMABUF_A_ATTACH_MAX = (__NUMABUF_A_ATTACH_MAX - 1)
};

enum {
	NUMABUF_A_POOL_NODE = 1,
	NUMABUF_A_POOL_PAD,
	NUMABUF_A_POOL_TARGET,
	NUMABUF_A_POOL_LOW,

	__NUMABUF_A_POOL_MAX,
	NUMABUF_A_POOL_MAX = (__NUMABUF_A_POOL_MAX - 1)
};

enum {
	NUMABUF_A_LIMIT_MAX_BYTES = 1,
	NUMABUF_A_LIMIT_MAX_USER_BYTES,
	NUMABUF_A_LIMIT_TOTAL_BYTES,
	NUMABUF_A_LIMIT_PAD,

	__NUMABUF_A_LIMIT_MAX,
	NUMABUF_A_LIMIT_MAX = (__NUMABUF_A_LIMIT_MAX - 1)
};

enum {
	NUMABUF_CMD_NODE_GET = 1,
	NUMABUF_CMD_BUF_GET,
	NUMABUF_CMD_POOL_SET,
	NUMABUF_CMD_LIMIT_GET,
	NUMABUF_CMD_LIMIT_SET,
	NUMABUF_CMD_BUF_CREATED_NTF,
	NUMABUF_CMD_BUF_FREED_NTF,
	NUMABUF_CMD_ALLOC_FAILED_NTF,
	NUMABUF_CMD_POOL_LOW_NTF,
	NUMABUF_CMD_BUF_ATTACHED_NTF,
	NUMABUF_CMD_BUF_DETACHED_NTF,

	__NUMABUF_CMD_MAX,
	NUMABUF_CMD_MAX = (__NUMABUF_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_NUMABUF_H */
