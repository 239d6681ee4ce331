/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nb_importer: a test driver that imports dma-bufs for QEMU's edu device
 * and lets edu's DMA engine move data through them.  Shared by the module
 * and the guest tests (tests/suite/t_dma_export.c).
 *
 * The driver binds only to a device whose driver_override names it.  Its
 * misc device, /dev/nb_importer, answers with ENODEV while no edu is bound.
 * Imports belong to the open file that made them: closing it releases
 * them, and so does unbinding the device.
 */
#ifndef _NB_IMPORTER_H
#define _NB_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NBI_NAME	"nb_importer"
#define NBI_DEV		"/dev/nb_importer"

/* Bytes edu moves per DMA at most (QEMU 7.2 aborts on 4096). */
#define NBI_DMA_MAX	2048
/* Bytes of edu's own buffer. */
#define NBI_EDU_BUF	4096

/**
 * struct nbi_import - NBI_IOC_IMPORT
 * @fd:		in: a dma-buf
 * @id:		out: the import, for the other ioctls (never 0)
 * @nents:	out: DMA segments of the mapping (sg_table nents)
 * @orig_nents:	out: entries of the exporter's table (orig_nents)
 * @size:	out: bytes in the dma-buf
 * @dma_addr:	out: DMA address of the first segment
 * @dma_len:	out: bytes in the first segment
 */
struct nbi_import {
	__s32 fd;
	__u32 id;
	__u32 nents;
	__u32 orig_nents;
	__u64 size;
	__u64 dma_addr;
	__u64 dma_len;
};

/* NBI_IOC_DMA directions. */
#define NBI_DMA_TO_DEVICE	1	/* the buffer -> edu */
#define NBI_DMA_FROM_DEVICE	2	/* edu -> the buffer */

/**
 * struct nbi_dma - NBI_IOC_DMA: one edu transfer, waited for
 * @id:		the import
 * @dir:	NBI_DMA_TO_DEVICE or NBI_DMA_FROM_DEVICE
 * @offset:	byte offset in the dma-buf (within its first DMA segment)
 * @len:	bytes, 1 to NBI_DMA_MAX
 * @dev_offset:	byte offset in edu's buffer; @dev_offset + @len below
 *		NBI_EDU_BUF (QEMU 7.2 aborts on a transfer that reaches
 *		edu's last byte)
 */
struct nbi_dma {
	__u32 id;
	__u32 dir;
	__u64 offset;
	__u64 len;
	__u64 dev_offset;
};

/* NBI_IOC_CPU: which access. */
#define NBI_CPU_READ	1
#define NBI_CPU_WRITE	2
#define NBI_CPU_END	4	/* end_cpu_access, else begin */

/**
 * struct nbi_cpu - NBI_IOC_CPU: dma_buf_begin_cpu_access / _end_
 * @id:		the import
 * @flags:	NBI_CPU_*: READ and/or WRITE, END or not
 */
struct nbi_cpu {
	__u32 id;
	__u32 flags;
};

/**
 * struct nbi_peek - NBI_IOC_PEEK: read 8 bytes through dma_buf_vmap()
 * @id:		the import
 * @pad:	zero
 * @offset:	byte offset, 8-byte aligned
 * @value:	out: the bytes there
 */
struct nbi_peek {
	__u32 id;
	__u32 pad;
	__u64 offset;
	__u64 value;
};

#define NBI_IOC_MAGIC	'n'
#define NBI_IOC_IMPORT	_IOWR(NBI_IOC_MAGIC, 1, struct nbi_import)
#define NBI_IOC_DMA	_IOW(NBI_IOC_MAGIC, 2, struct nbi_dma)
#define NBI_IOC_CPU	_IOW(NBI_IOC_MAGIC, 3, struct nbi_cpu)
#define NBI_IOC_RELEASE	_IOW(NBI_IOC_MAGIC, 4, __u32)
#define NBI_IOC_PEEK	_IOWR(NBI_IOC_MAGIC, 5, struct nbi_peek)
/* Set edu's DMA mask to this many bits (12 to 64); imports made later see it. */
#define NBI_IOC_MASK	_IOW(NBI_IOC_MAGIC, 6, __u32)

#endif /* _NB_IMPORTER_H */
