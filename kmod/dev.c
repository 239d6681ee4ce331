// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/numabuf: open files, their handle tables and the ioctl interface.
 *
 * Every ioctl argument begins with its own size, so the structs can grow:
 * the ioctl number is matched without its size bits and the argument is
 * read with copy_struct_from_user().
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/topology.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

#define NUMABUF_IOC_SIZE_BITS	(_IOC_SIZEMASK << _IOC_SIZESHIFT)

/* Largest argument struct accepted: a future version may grow to a page. */
#define NUMABUF_ARG_SIZE_MAX	PAGE_SIZE

static bool numabuf_ioc_match(unsigned int cmd, unsigned int ref)
{
	return (cmd & ~NUMABUF_IOC_SIZE_BITS) == (ref & ~NUMABUF_IOC_SIZE_BITS);
}

/*
 * Read an argument struct of the caller's size into @karg.  Returns the
 * caller's size, or a negative errno.
 */
static int numabuf_copy_arg(void *karg, size_t ksize, size_t ver0,
			    const void __user *uarg)
{
	u32 usize;
	int ret;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < ver0 || usize > NUMABUF_ARG_SIZE_MAX)
		return -EINVAL;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	if (ret)
		return ret;
	return usize;
}

static bool numabuf_zeroed(const u64 *v, size_t n)
{
	while (n--)
		if (*v++)
			return false;
	return true;
}

/**
 * numabuf_file_get - look a handle up in an open file
 * @nf:		the open file
 * @handle:	the handle
 *
 * Return: the buffer with a new reference, or NULL.
 */
struct numabuf_buf *numabuf_file_get(struct numabuf_file *nf,
				     unsigned long handle)
{
	struct numabuf_buf *buf;

	xa_lock(&nf->bufs);
	buf = xa_load(&nf->bufs, handle);
	if (buf)
		numabuf_buf_get(buf);
	xa_unlock(&nf->bufs);
	return buf;
}

static int numabuf_check_node(int node, int *nodep)
{
	if (node == NUMABUF_NODE_LOCAL) {
		*nodep = numa_mem_id();
		return 0;
	}
	if (node < 0 || node >= MAX_NUMNODES)
		return -EINVAL;
	if (!node_online(node))
		return -ENODEV;
	*nodep = node;
	return 0;
}

static long numabuf_ioc_alloc(struct numabuf_file *nf, void __user *uarg)
{
	struct numabuf_alloc arg;
	struct numabuf_buf *buf;
	u32 handle, flags;
	bool compat;
	u64 bytes;
	int usize, node, ret;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_ALLOC_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;

	if (arg.flags & ~NUMABUF_F_ALL)
		return -EINVAL;
	if ((arg.flags & NUMABUF_F_POOL) && (arg.flags & NUMABUF_F_NO_POOL))
		return -EINVAL;
	if ((arg.flags & NUMABUF_F_HUGE_MAP) && !numabuf_huge_map_supported())
		return -EOPNOTSUPP;
	if ((arg.flags & NUMABUF_F_WC) && (arg.flags & NUMABUF_F_UC))
		return -EINVAL;
	if ((arg.flags & (NUMABUF_F_WC | NUMABUF_F_UC)) &&
	    !numabuf_cache_modes_supported())
		return -EOPNOTSUPP;
	if (!numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	if (!arg.length || arg.length > U64_MAX - PAGE_SIZE + 1)
		return -EINVAL;
	ret = numabuf_check_node(arg.node, &node);
	if (ret)
		return ret;
	/*
	 * Changing the kernel's own mapping of the memory flushes every
	 * CPU's TLB and splits the kernel's large mappings for good: not
	 * for every user of the device to do at will.
	 */
	if ((arg.flags & (NUMABUF_F_WC | NUMABUF_F_UC)) &&
	    !capable(CAP_SYS_RAWIO) && !capable(CAP_SYS_ADMIN))
		return -EPERM;

	bytes = PAGE_ALIGN(arg.length);
	if (bytes > NUMABUF_MAX_BYTES)
		return -EINVAL;
	compat = in_compat_syscall();
	if (compat && bytes > NUMABUF_COMPAT_MAX_BYTES)
		return -EINVAL;

	/*
	 * Memory the caller's memory cgroup cannot be charged for: above
	 * 4 MiB (a range or a pool block) or from a pool.  A task the
	 * check refuses still gets buffers up to 4 MiB from the page
	 * allocator, charged: its default ALLOCs skip the pool.
	 */
	flags = arg.flags;
	ret = numabuf_cgroup_check(bytes > (MAX_ORDER_NR_PAGES << PAGE_SHIFT) ||
				   (flags & NUMABUF_F_POOL));
	if (ret)
		return ret;
	if (!(flags & NUMABUF_F_NO_POOL) && numabuf_cgroup_check(true))
		flags |= NUMABUF_F_NO_POOL;

	ret = numabuf_buf_create(bytes, node, flags, &buf);
	if (ret)
		return ret;

	/*
	 * Reserve a handle, derive the offset from it, then publish: mmap()
	 * and INFO never see a buffer without its offset.  Handles are
	 * handed out cyclically, so a stale offset fails with ENXIO rather
	 * than mapping the next buffer.  The handle table's entry owns the
	 * creation reference.
	 */
	if (compat)
		ret = xa_alloc_cyclic(&nf->bufs, &handle, NULL,
				      XA_LIMIT(1, NUMABUF_COMPAT_HANDLE_MAX),
				      &nf->next_compat_handle, GFP_KERNEL);
	else
		ret = xa_alloc_cyclic(&nf->bufs, &handle, NULL,
				      XA_LIMIT(1, NUMABUF_HANDLE_MAX),
				      &nf->next_handle, GFP_KERNEL);
	if (ret < 0) {
		numabuf_buf_put(buf);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	buf->offset = (u64)handle << (compat ? NUMABUF_COMPAT_OFFSET_SHIFT :
				      NUMABUF_OFFSET_SHIFT);
	/*
	 * Fill in the answer first: once stored, another thread may FREE the
	 * handle and the buffer with it.
	 */
	arg.length = bytes;
	arg.node = buf->node;
	arg.handle = handle;
	arg.offset = buf->offset;
	ret = xa_err(xa_store(&nf->bufs, handle, buf, GFP_KERNEL));
	if (ret) {
		xa_release(&nf->bufs, handle);
		numabuf_buf_put(buf);
		return ret;
	}

	if (copy_to_user(uarg, &arg, min_t(size_t, usize, sizeof(arg)))) {
		/* Another thread may have freed the handle meanwhile. */
		if (xa_cmpxchg(&nf->bufs, handle, buf, NULL, 0) == buf)
			numabuf_buf_put(buf);
		return -EFAULT;
	}
	return 0;
}

static long numabuf_ioc_free(struct numabuf_file *nf, void __user *uarg)
{
	struct numabuf_free arg;
	struct numabuf_buf *buf;
	int usize;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_FREE_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if (!numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;

	buf = xa_erase(&nf->bufs, arg.handle);
	if (!buf)
		return -ENOENT;
	numabuf_buf_put(buf);
	return 0;
}

static long numabuf_ioc_info(struct numabuf_file *nf, void __user *uarg)
{
	struct numabuf_info arg;
	struct numabuf_buf *buf;
	int usize;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_INFO_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if (arg.source ||
	    !numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;

	buf = numabuf_file_get(nf, arg.handle);
	if (!buf)
		return -ENOENT;

	arg.length = numabuf_buf_bytes(buf);
	arg.node = buf->node;
	arg.flags = buf->flags;
	arg.map_count = atomic_read(&buf->map_count);
	arg.offset = buf->offset;
	arg.phys = capable(CAP_SYS_ADMIN) ? page_to_phys(buf->page) : 0;
	arg.source = buf->source;
	numabuf_buf_put(buf);

	if (copy_to_user(uarg, &arg, min_t(size_t, usize, sizeof(arg))))
		return -EFAULT;
	return 0;
}

static long numabuf_ioc_pool(void __user *uarg, bool set)
{
	struct numabuf_pool_stat st;
	struct numabuf_pool arg;
	int usize, node, ret;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_POOL_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if (arg.flags || arg.reserved0 ||
	    !numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	if (!set && arg.target)
		return -EINVAL;
	ret = numabuf_check_node(arg.node, &node);
	if (ret)
		return ret;

	if (set) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (!node_state(node, N_MEMORY))
			return -ENOMEM;
		ret = numabuf_pool_resize(node, arg.target);
		if (ret)
			return ret;
	}

	numabuf_pool_get(node, &st);
	arg.node = node;
	arg.target = st.target;
	arg.pool_bytes = st.bytes;
	arg.free_bytes = st.free;
	arg.largest_free = st.largest;
	if (copy_to_user(uarg, &arg, min_t(size_t, usize, sizeof(arg))))
		return -EFAULT;
	return 0;
}

/* ---- ATTACH, DETACH, SYNC (attach.c does the work) ---------------------- */

static long numabuf_ioc_attach(struct numabuf_file *nf, void __user *uarg,
			       bool attach)
{
	struct numabuf_attach arg;
	struct numabuf_buf *buf;
	u64 dma_addr;
	int usize, ret;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_ATTACH_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if (arg.flags || arg.reserved0 ||
	    !numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	if (!arg.device[0] ||
	    strnlen(arg.device, sizeof(arg.device)) == sizeof(arg.device))
		return -EINVAL;
	/* A device reading and writing memory is raw I/O. */
	if (!capable(CAP_SYS_RAWIO) && !capable(CAP_SYS_ADMIN))
		return -EPERM;

	buf = numabuf_file_get(nf, arg.handle);
	if (!buf)
		return -ENOENT;
	if (!attach) {
		ret = numabuf_attach_del(buf, arg.device);
		numabuf_buf_put(buf);
		return ret;
	}
	ret = numabuf_attach_add(buf, arg.device, &dma_addr);
	arg.length = numabuf_buf_bytes(buf);
	numabuf_buf_put(buf);
	if (ret)
		return ret;
	/*
	 * The attachment stays if the answer cannot be written, as the
	 * handle of an ALLOC whose answer faults does not: DETACH ends it,
	 * and so does the buffer's end.
	 */
	arg.dma_addr = dma_addr;
	if (copy_to_user(uarg, &arg, min_t(size_t, usize, sizeof(arg))))
		return -EFAULT;
	return 0;
}

static long numabuf_ioc_sync(struct numabuf_file *nf, void __user *uarg)
{
	u32 both = NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_FOR_DEVICE;
	u32 rw = NUMABUF_SYNC_READ | NUMABUF_SYNC_WRITE;
	enum dma_data_direction dir;
	struct numabuf_sync arg;
	struct numabuf_buf *buf;
	int usize, ret;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_SYNC_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if ((arg.flags & ~NUMABUF_SYNC_ALL) || (arg.flags & both) == both ||
	    !(arg.flags & both) || !(arg.flags & rw))
		return -EINVAL;
	if (arg.reserved0 ||
	    !numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	if (!arg.length || arg.offset > U64_MAX - arg.length)
		return -EINVAL;

	if ((arg.flags & rw) == rw)
		dir = DMA_BIDIRECTIONAL;
	else if (arg.flags & NUMABUF_SYNC_READ)
		dir = DMA_FROM_DEVICE;
	else
		dir = DMA_TO_DEVICE;

	buf = numabuf_file_get(nf, arg.handle);
	if (!buf)
		return -ENOENT;
	if (arg.offset + arg.length > numabuf_buf_bytes(buf)) {
		ret = -EINVAL;
	} else {
		/* The attached devices, then the dma-bufs' importers. */
		ret = numabuf_attach_sync(buf, arg.offset, arg.length, dir,
					  arg.flags & NUMABUF_SYNC_FOR_CPU);
		numabuf_dmabuf_sync(buf, arg.offset, arg.length, dir,
				    arg.flags & NUMABUF_SYNC_FOR_CPU);
	}
	numabuf_buf_put(buf);
	return ret;
}

/*
 * NUMABUF_IOC_EXPORT: a dma-buf of the whole buffer.  Any holder of the
 * handle may export it: the dma-buf maps the same memory the handle does.
 * The fd is installed only once the answer is written, so a failed copy
 * leaves no descriptor behind.  EOPNOTSUPP where the kernel was built
 * without dma-bufs (CONFIG_DMA_SHARED_BUFFER).
 */
static long numabuf_ioc_export(struct numabuf_file *nf, void __user *uarg)
{
	struct numabuf_export arg;
	struct numabuf_buf *buf;
	struct dma_buf *dmabuf;
	int usize, fd, ret;

	usize = numabuf_copy_arg(&arg, sizeof(arg), NUMABUF_EXPORT_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	if (arg.flags & ~NUMABUF_EXPORT_ALL)
		return -EINVAL;
	if (!numabuf_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;

	buf = numabuf_file_get(nf, arg.handle);
	if (!buf)
		return -ENOENT;
	fd = get_unused_fd_flags(arg.flags & NUMABUF_EXPORT_CLOEXEC ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto err_put;
	}
	dmabuf = numabuf_dmabuf_export(buf, arg.flags & NUMABUF_EXPORT_RDONLY);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_fd;
	}
	/* The dma-buf holds its own reference now. */
	numabuf_buf_put(buf);

	arg.fd = fd;
	if (copy_to_user(uarg, &arg, min_t(size_t, usize, sizeof(arg)))) {
		put_unused_fd(fd);
		/* dma_buf_put(), which kernels without dma-bufs lack. */
		fput(dmabuf->file);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_fd:
	put_unused_fd(fd);
err_put:
	numabuf_buf_put(buf);
	return ret;
}

static long numabuf_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct numabuf_file *nf = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (numabuf_ioc_match(cmd, NUMABUF_IOC_ALLOC))
		return numabuf_ioc_alloc(nf, uarg);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_FREE))
		return numabuf_ioc_free(nf, uarg);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_INFO))
		return numabuf_ioc_info(nf, uarg);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_POOL_GET))
		return numabuf_ioc_pool(uarg, false);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_POOL_SET))
		return numabuf_ioc_pool(uarg, true);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_ATTACH))
		return numabuf_ioc_attach(nf, uarg, true);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_DETACH))
		return numabuf_ioc_attach(nf, uarg, false);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_SYNC))
		return numabuf_ioc_sync(nf, uarg);
	if (numabuf_ioc_match(cmd, NUMABUF_IOC_EXPORT))
		return numabuf_ioc_export(nf, uarg);
	return -ENOTTY;
}

static int numabuf_open(struct inode *inode, struct file *file)
{
	struct numabuf_file *nf;

	nf = kzalloc(sizeof(*nf), GFP_KERNEL);
	if (!nf)
		return -ENOMEM;
	xa_init_flags(&nf->bufs, XA_FLAGS_ALLOC1);
	file->private_data = nf;
	return 0;
}

static int numabuf_release(struct inode *inode, struct file *file)
{
	struct numabuf_file *nf = file->private_data;
	struct numabuf_buf *buf;
	unsigned long handle;

	/* No ioctl can run now; mappings keep their own references. */
	xa_for_each(&nf->bufs, handle, buf)
		numabuf_buf_put(buf);
	xa_destroy(&nf->bufs);
	kfree(nf);
	return 0;
}

static const struct file_operations numabuf_fops = {
	.owner = THIS_MODULE,
	.open = numabuf_open,
	.release = numabuf_release,
	.unlocked_ioctl = numabuf_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = numabuf_mmap,
	/* 2 MiB aligned addresses for NUMABUF_F_HUGE_MAP's PMD entries. */
	.get_unmapped_area = numabuf_get_unmapped_area,
	.llseek = noop_llseek,
};

static struct miscdevice numabuf_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = NUMABUF_DEVICE_NAME,
	.fops = &numabuf_fops,
};

int numabuf_dev_register(void)
{
	return misc_register(&numabuf_misc);
}

void numabuf_dev_unregister(void)
{
	misc_deregister(&numabuf_misc);
}
