// SPDX-License-Identifier: GPL-2.0
/*
 * nb_importer: a kernel driver that wants numabuf memory, for the tests.
 *
 * A PCI driver for QEMU's edu device that imports dma-bufs the way any
 * driver does (dma_buf_get, dma_buf_attach, dma_buf_map_attachment) and
 * points edu's DMA engine at the addresses it gets.  It has no ID table:
 * it binds only to a device whose driver_override names it, so it never
 * takes a device by itself.  See nb_importer.h for the ioctls.
 *
 * Locking: nbi_lock guards the bound device and every open file's
 * imports; it is taken before the dma-buf's reservation lock (which the
 * unlocked dma-buf calls take inside).
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iosys-map.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "nb_importer.h"

/* edu's registers (BAR0) and its buffer in its own address space. */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_RUN	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF_ADDR	0x40000

/* A transfer takes edu 100 ms of emulated time; give it plenty. */
#define NBI_DMA_TIMEOUT	(10 * HZ)

/**
 * struct nbi_import_obj - one imported dma-buf
 * @link:	in its file's @imports
 * @id:		what user space calls it
 * @dmabuf:	the dma-buf, referenced
 * @attach:	the attachment to the edu device
 * @sgt:	its mapping
 */
struct nbi_import_obj {
	struct list_head link;
	u32 id;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
};

/**
 * struct nbi_file - one open file of /dev/nb_importer
 * @link:	in nbi_files
 * @imports:	its imports
 * @next_id:	the id of the next import
 */
struct nbi_file {
	struct list_head link;
	struct list_head imports;
	u32 next_id;
};

static DEFINE_MUTEX(nbi_lock);
static struct pci_dev *nbi_pdev;
static void __iomem *nbi_bar;
static LIST_HEAD(nbi_files);

/* Undo an import: unmap, detach, drop the dma-buf.  Under nbi_lock. */
static void nbi_import_free(struct nbi_import_obj *imp)
{
	list_del(&imp->link);
	dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt,
					  DMA_BIDIRECTIONAL);
	dma_buf_detach(imp->dmabuf, imp->attach);
	dma_buf_put(imp->dmabuf);
	kfree(imp);
}

static struct nbi_import_obj *nbi_import_find(struct nbi_file *nf, u32 id)
{
	struct nbi_import_obj *imp;

	list_for_each_entry(imp, &nf->imports, link)
		if (imp->id == id)
			return imp;
	return NULL;
}

static long nbi_ioc_import(struct nbi_file *nf, void __user *uarg)
{
	struct nbi_import_obj *imp;
	struct nbi_import arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!nbi_pdev)
		return -ENODEV;

	imp = kzalloc(sizeof(*imp), GFP_KERNEL);
	if (!imp)
		return -ENOMEM;
	imp->dmabuf = dma_buf_get(arg.fd);
	if (IS_ERR(imp->dmabuf)) {
		ret = PTR_ERR(imp->dmabuf);
		goto err_free;
	}
	imp->attach = dma_buf_attach(imp->dmabuf, &nbi_pdev->dev);
	if (IS_ERR(imp->attach)) {
		ret = PTR_ERR(imp->attach);
		goto err_put;
	}
	imp->sgt = dma_buf_map_attachment_unlocked(imp->attach,
						   DMA_BIDIRECTIONAL);
	if (IS_ERR(imp->sgt)) {
		ret = PTR_ERR(imp->sgt);
		goto err_detach;
	}
	if (!imp->sgt->nents) {
		ret = -EIO;
		goto err_unmap;
	}

	imp->id = ++nf->next_id ? nf->next_id : ++nf->next_id;
	arg.id = imp->id;
	arg.nents = imp->sgt->nents;
	arg.orig_nents = imp->sgt->orig_nents;
	arg.size = imp->dmabuf->size;
	arg.dma_addr = sg_dma_address(imp->sgt->sgl);
	arg.dma_len = sg_dma_len(imp->sgt->sgl);
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto err_unmap;
	}
	list_add_tail(&imp->link, &nf->imports);
	return 0;

err_unmap:
	dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt,
					  DMA_BIDIRECTIONAL);
err_detach:
	dma_buf_detach(imp->dmabuf, imp->attach);
err_put:
	dma_buf_put(imp->dmabuf);
err_free:
	kfree(imp);
	return ret;
}

/* Run one edu transfer and wait for it. */
static long nbi_ioc_dma(struct nbi_file *nf, void __user *uarg)
{
	struct nbi_import_obj *imp;
	unsigned long deadline;
	struct nbi_dma arg;
	dma_addr_t addr;
	u64 cmd;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!nbi_pdev)
		return -ENODEV;
	imp = nbi_import_find(nf, arg.id);
	if (!imp)
		return -ENOENT;
	if (arg.dir != NBI_DMA_TO_DEVICE && arg.dir != NBI_DMA_FROM_DEVICE)
		return -EINVAL;
	/*
	 * QEMU 7.2's range check is off by one: a transfer that reaches
	 * the last byte of edu's buffer aborts the whole emulator.
	 */
	if (!arg.len || arg.len > NBI_DMA_MAX ||
	    arg.dev_offset > NBI_EDU_BUF - 1 - arg.len)
		return -EINVAL;
	/* The transfer stays inside the first DMA segment. */
	if (arg.offset >= sg_dma_len(imp->sgt->sgl) ||
	    arg.len > sg_dma_len(imp->sgt->sgl) - arg.offset)
		return -ERANGE;

	if (readq(nbi_bar + EDU_DMA_CMD) & EDU_CMD_RUN)
		return -EBUSY;
	addr = sg_dma_address(imp->sgt->sgl) + arg.offset;
	if (arg.dir == NBI_DMA_TO_DEVICE) {
		writeq(addr, nbi_bar + EDU_DMA_SRC);
		writeq(EDU_BUF_ADDR + arg.dev_offset, nbi_bar + EDU_DMA_DST);
		cmd = EDU_CMD_RUN;
	} else {
		writeq(EDU_BUF_ADDR + arg.dev_offset, nbi_bar + EDU_DMA_SRC);
		writeq(addr, nbi_bar + EDU_DMA_DST);
		cmd = EDU_CMD_RUN | EDU_CMD_TO_RAM;
	}
	writeq(arg.len, nbi_bar + EDU_DMA_COUNT);
	writeq(cmd, nbi_bar + EDU_DMA_CMD);

	deadline = jiffies + NBI_DMA_TIMEOUT;
	while (readq(nbi_bar + EDU_DMA_CMD) & EDU_CMD_RUN) {
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
	return 0;
}

static long nbi_ioc_cpu(struct nbi_file *nf, void __user *uarg)
{
	enum dma_data_direction dir;
	struct nbi_import_obj *imp;
	struct nbi_cpu arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	imp = nbi_import_find(nf, arg.id);
	if (!imp)
		return -ENOENT;
	switch (arg.flags & ~NBI_CPU_END) {
	case NBI_CPU_READ:
		dir = DMA_FROM_DEVICE;
		break;
	case NBI_CPU_WRITE:
		dir = DMA_TO_DEVICE;
		break;
	case NBI_CPU_READ | NBI_CPU_WRITE:
		dir = DMA_BIDIRECTIONAL;
		break;
	default:
		return -EINVAL;
	}
	if (arg.flags & NBI_CPU_END)
		return dma_buf_end_cpu_access(imp->dmabuf, dir);
	return dma_buf_begin_cpu_access(imp->dmabuf, dir);
}

static long nbi_ioc_peek(struct nbi_file *nf, void __user *uarg)
{
	struct nbi_import_obj *imp;
	struct iosys_map map;
	struct nbi_peek arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	imp = nbi_import_find(nf, arg.id);
	if (!imp)
		return -ENOENT;
	if (arg.pad || !IS_ALIGNED(arg.offset, 8) ||
	    arg.offset >= imp->dmabuf->size)
		return -EINVAL;
#ifdef NBI_HAVE_VMAP_UNLOCKED
	ret = dma_buf_vmap_unlocked(imp->dmabuf, &map);
#else
	ret = dma_buf_vmap(imp->dmabuf, &map);
#endif
	if (ret)
		return ret;
	arg.value = iosys_map_rd(&map, arg.offset, u64);
#ifdef NBI_HAVE_VMAP_UNLOCKED
	dma_buf_vunmap_unlocked(imp->dmabuf, &map);
#else
	dma_buf_vunmap(imp->dmabuf, &map);
#endif
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return 0;
}

static long nbi_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct nbi_file *nf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct nbi_import_obj *imp;
	long ret;
	u32 id;

	mutex_lock(&nbi_lock);
	switch (cmd) {
	case NBI_IOC_IMPORT:
		ret = nbi_ioc_import(nf, uarg);
		break;
	case NBI_IOC_DMA:
		ret = nbi_ioc_dma(nf, uarg);
		break;
	case NBI_IOC_CPU:
		ret = nbi_ioc_cpu(nf, uarg);
		break;
	case NBI_IOC_PEEK:
		ret = nbi_ioc_peek(nf, uarg);
		break;
	case NBI_IOC_MASK:
		ret = -EFAULT;
		if (get_user(id, (u32 __user *)uarg))
			break;
		ret = -ENODEV;
		if (!nbi_pdev)
			break;
		ret = -EINVAL;
		if (id < 12 || id > 64)
			break;
		ret = dma_set_mask_and_coherent(&nbi_pdev->dev,
						DMA_BIT_MASK(id));
		break;
	case NBI_IOC_RELEASE:
		ret = -EFAULT;
		if (get_user(id, (u32 __user *)uarg))
			break;
		imp = nbi_import_find(nf, id);
		ret = -ENOENT;
		if (imp) {
			nbi_import_free(imp);
			ret = 0;
		}
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&nbi_lock);
	return ret;
}

static int nbi_open(struct inode *inode, struct file *file)
{
	struct nbi_file *nf;

	nf = kzalloc(sizeof(*nf), GFP_KERNEL);
	if (!nf)
		return -ENOMEM;
	INIT_LIST_HEAD(&nf->imports);
	mutex_lock(&nbi_lock);
	list_add(&nf->link, &nbi_files);
	mutex_unlock(&nbi_lock);
	file->private_data = nf;
	return 0;
}

static void nbi_file_drain(struct nbi_file *nf)
{
	struct nbi_import_obj *imp, *tmp;

	list_for_each_entry_safe(imp, tmp, &nf->imports, link)
		nbi_import_free(imp);
}

static int nbi_release(struct inode *inode, struct file *file)
{
	struct nbi_file *nf = file->private_data;

	mutex_lock(&nbi_lock);
	nbi_file_drain(nf);
	list_del(&nf->link);
	mutex_unlock(&nbi_lock);
	kfree(nf);
	return 0;
}

static const struct file_operations nbi_fops = {
	.owner = THIS_MODULE,
	.open = nbi_open,
	.release = nbi_release,
	.unlocked_ioctl = nbi_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice nbi_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = NBI_NAME,
	.fops = &nbi_fops,
};

static int nbi_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *bar;
	int ret;

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_request_region(pdev, 0, NBI_NAME);
	if (ret)
		goto err_disable;
	bar = pci_iomap(pdev, 0, 0);
	if (!bar) {
		ret = -ENOMEM;
		goto err_region;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_unmap;
	/*
	 * edu takes any length: a contiguous buffer is one segment.  PCI
	 * devices have DMA parameters, so this cannot fail (and returns
	 * nothing from 6.12 on).
	 */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	pci_set_master(pdev);

	mutex_lock(&nbi_lock);
	if (nbi_pdev) {
		mutex_unlock(&nbi_lock);
		ret = -EBUSY;
		goto err_master;
	}
	nbi_pdev = pdev;
	nbi_bar = bar;
	mutex_unlock(&nbi_lock);
	return 0;

err_master:
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, bar);
err_region:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

/* Unbinding ends every import first: the device keeps no mapping. */
static void nbi_remove(struct pci_dev *pdev)
{
	struct nbi_file *nf;

	mutex_lock(&nbi_lock);
	list_for_each_entry(nf, &nbi_files, link)
		nbi_file_drain(nf);
	pci_clear_master(pdev);
	pci_iounmap(pdev, nbi_bar);
	nbi_bar = NULL;
	nbi_pdev = NULL;
	mutex_unlock(&nbi_lock);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
}

/* No IDs: only driver_override binds it (the PCI core then matches any). */
static struct pci_driver nbi_driver = {
	.name = NBI_NAME,
	.id_table = NULL,
	.probe = nbi_probe,
	.remove = nbi_remove,
};

static int __init nbi_init(void)
{
	int ret;

	ret = misc_register(&nbi_misc);
	if (ret)
		return ret;
	ret = pci_register_driver(&nbi_driver);
	if (ret)
		misc_deregister(&nbi_misc);
	return ret;
}

static void __exit nbi_exit(void)
{
	pci_unregister_driver(&nbi_driver);
	misc_deregister(&nbi_misc);
}

module_init(nbi_init);
module_exit(nbi_exit);

MODULE_DESCRIPTION("numabuf tests: a dma-buf importer driving QEMU's edu");
MODULE_LICENSE("GPL");
#ifdef NBI_HAVE_IMPORT_NS_TOKEN
MODULE_IMPORT_NS(DMA_BUF);
#else
MODULE_IMPORT_NS("DMA_BUF");
#endif
