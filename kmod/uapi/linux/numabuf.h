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
 */
#define NUMABUF_F_PREFERRED	0x00000001U
#define NUMABUF_F_ALL		(NUMABUF_F_PREFERRED)

/**
 * struct numabuf_alloc - argument of NUMABUF_IOC_ALLOC
 * @size:	in: sizeof(struct numabuf_alloc)
 * @flags:	in: NUMABUF_F_*
 * @length:	in: bytes wanted; out: bytes allocated (rounded up to pages)
 * @node:	in: node id or NUMABUF_NODE_LOCAL; out: node of the memory
 * @handle:	out: handle of the buffer in this open file (never 0)
 * @offset:	out: mmap() offset that maps the buffer
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
 * @reserved0:	must be zero
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
	__u32 reserved0;
	__u64 offset;
	__u64 phys;
	__u64 reserved[4];
};

#define NUMABUF_INFO_SIZE_VER0	80

#define NUMABUF_IOC_MAGIC	'N'
#define NUMABUF_IOC_ALLOC	_IOWR(NUMABUF_IOC_MAGIC, 0x01, struct numabuf_alloc)
#define NUMABUF_IOC_FREE	_IOW(NUMABUF_IOC_MAGIC, 0x02, struct numabuf_free)
#define NUMABUF_IOC_INFO	_IOWR(NUMABUF_IOC_MAGIC, 0x03, struct numabuf_info)

#endif /* _UAPI_LINUX_NUMABUF_H */
