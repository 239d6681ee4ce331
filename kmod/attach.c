// SPDX-License-Identifier: GPL-2.0
/*
 * Attachments: a buffer mapped for a device with the kernel's DMA API.
 *
 * ATTACH maps the whole buffer for a PCI or platform device with one
 * dma_map_page_attrs() (the memory is contiguous: behind an IOMMU that is
 * one run of I/O virtual addresses) and DETACH unmaps it.  The module
 * never lets the DMA API bounce the buffer through swiotlb: a device that
 * no IOMMU translates for must reach the memory itself (ERANGE).
 *
 * An attachment never outlives what it points at.  It ends, unmapped and
 * its device reference dropped, on DETACH, when the buffer is released
 * (numabuf_attach_release() from buf.c, before the memory can go
 * anywhere), when a driver is bound to or unbound from the device (before
 * the new driver probes, before the old one's remove) and when the device
 * is removed (before the IOMMU lets go of it).  The last three come from
 * notifiers on the PCI and platform buses.
 *
 * Locking: numabuf_attach_mutex guards every list here and is taken
 * inside the device lock (ATTACH holds the device lock while it checks
 * the driver and maps; the bus notifiers of bind and unbind run under
 * it).  The control plane reads a buffer's attachments under the buffers'
 * xarray lock, so writers also take the buffer's attach_lock, a spinlock
 * nested inside that one, for the moment they change its list.
 */
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

static DEFINE_MUTEX(numabuf_attach_mutex);
/* Every attachment of every buffer, by its dev_link. */
static LIST_HEAD(numabuf_attachments);

/*
 * Devices between BUS_NOTIFY_DEL_DEVICE and BUS_NOTIFY_REMOVED_DEVICE:
 * still on their bus's list, but going.  A device past
 * BUS_NOTIFY_REMOVED_DEVICE is off the bus's list (numabuf_dev_on_bus()).
 */
struct numabuf_dying {
	struct list_head link;
	struct device *dev;
};

static LIST_HEAD(numabuf_dying);

static int numabuf_match_ptr(struct device *dev, const void *data)
{
	return dev == data;
}

/* Is @dev on its bus and not being removed?  Under numabuf_attach_mutex. */
static bool numabuf_dev_alive(struct device *dev)
{
	struct numabuf_dying *d;
	struct device *found;

	lockdep_assert_held(&numabuf_attach_mutex);
	list_for_each_entry(d, &numabuf_dying, link)
		if (d->dev == dev)
			return false;
	if (!dev->bus || !device_is_registered(dev))
		return false;
	found = bus_find_device(dev->bus, NULL, dev, numabuf_match_ptr);
	if (!found)
		return false;
	put_device(found);
	return true;
}

/*
 * Does an IOMMU translate the device's DMA addresses (a DMA API domain)?
 * Without one (no IOMMU, or an identity domain: iommu.passthrough=1) the
 * DMA API hands the device bus addresses of the memory, or bounces.
 */
static bool numabuf_dev_translated(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && (domain->type & __IOMMU_DOMAIN_DMA_API);
}

/**
 * numabuf_dma_reachable - can @dev reach all of @buf without bouncing?
 * @dev:	a device with a DMA mask
 * @buf:	the buffer
 *
 * Behind a translating IOMMU always; else the buffer's last byte must be
 * within the device's DMA mask and its bus's limit, or the DMA API would
 * bounce it through swiotlb (or fail).  Used by ATTACH and by the
 * dma-buf importers' mappings.
 */
bool numabuf_dma_reachable(struct device *dev, const struct numabuf_buf *buf)
{
	phys_addr_t last = page_to_phys(buf->page) + numabuf_buf_bytes(buf) - 1;

	if (numabuf_dev_translated(dev))
		return true;
	if (!dev->dma_mask)
		return false;
	return phys_to_dma(dev, last) <=
	       min_not_zero(*dev->dma_mask, dev->bus_dma_limit);
}

/* Take @a off every list.  Under numabuf_attach_mutex. */
static void numabuf_attach_unlink(struct numabuf_attachment *a)
{
	struct numabuf_buf *buf = a->buf;

	lockdep_assert_held(&numabuf_attach_mutex);
	spin_lock(&buf->attach_lock);
	list_del(&a->buf_link);
	buf->nr_attach--;
	spin_unlock(&buf->attach_lock);
	list_del(&a->dev_link);
}

/*
 * End an attachment: the device can no longer reach the memory once this
 * returns.  Under numabuf_attach_mutex, so that events keep their order;
 * the device reference is dropped by numabuf_attach_free() after it.
 */
static void numabuf_attach_end(struct numabuf_attachment *a, u32 reason)
{
	numabuf_attach_unlink(a);
	dma_unmap_page_attrs(a->dev, a->dma_addr, numabuf_buf_bytes(a->buf),
			     DMA_BIDIRECTIONAL, 0);
	atomic_dec(&a->buf->dma_maps);
	numabuf_nl_buf_detached(a->buf, a, reason);
}

static void numabuf_attach_free(struct numabuf_attachment *a)
{
	put_device(a->dev);
	kfree(a);
}

/* The buffer's attachment to @dev.  Under numabuf_attach_mutex. */
static struct numabuf_attachment *
numabuf_attach_find(struct numabuf_buf *buf, struct device *dev)
{
	struct numabuf_attachment *a;

	list_for_each_entry(a, &buf->attachments, buf_link)
		if (a->dev == dev)
			return a;
	return NULL;
}

/* A PCI device first, then a platform device, with a reference. */
static struct device *numabuf_dev_find(const char *name)
{
	struct device *dev = NULL;

#ifdef CONFIG_PCI
	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
#endif
	if (!dev)
		dev = bus_find_device_by_name(&platform_bus_type, NULL, name);
	return dev;
}

/*
 * Map the buffer for @dev.  Under the device lock and
 * numabuf_attach_mutex.
 */
static int numabuf_attach_map(struct numabuf_buf *buf, struct device *dev,
			      struct numabuf_attachment *a)
{
	u64 bytes = numabuf_buf_bytes(buf);
	phys_addr_t phys = page_to_phys(buf->page);
	bool translated = numabuf_dev_translated(dev);

	if (!numabuf_dma_reachable(dev, buf))
		return -ERANGE;
	a->dma_addr = dma_map_page_attrs(dev, buf->page, 0, bytes,
					 DMA_BIDIRECTIONAL,
					 numabuf_dma_map_attrs(buf));
	if (dma_mapping_error(dev, a->dma_addr))
		return -ENOMEM;
	if (!translated && a->dma_addr != phys_to_dma(dev, phys)) {
		/* Bounced after all (swiotlb=force, memory encryption). */
		dma_unmap_page_attrs(dev, a->dma_addr, bytes,
				     DMA_BIDIRECTIONAL, 0);
		return -ERANGE;
	}
	atomic_inc(&buf->dma_maps);
	return 0;
}

/**
 * numabuf_attach_add - map a buffer for a device
 * @buf:	the buffer, referenced by the caller
 * @name:	the device's name on the PCI or platform bus
 * @dma_addr:	out: where the device sees the first byte
 *
 * The caller checked the caller's privileges.
 *
 * Return: 0; -ENODEV no such device, or one without a DMA mask or being
 * removed; -EBUSY the device is bound to a VFIO driver (its DMA belongs
 * to user space); -EEXIST already attached to it; -ENOSPC the buffer has
 * NUMABUF_ATTACH_MAX attachments; -ERANGE the device cannot reach the
 * memory without bouncing; -ENOMEM the mapping failed; -EINTR.
 */
int numabuf_attach_add(struct numabuf_buf *buf, const char *name,
		       u64 *dma_addr)
{
	struct numabuf_attachment *a;
	struct device *dev;
	int ret;

	dev = numabuf_dev_find(name);
	if (!dev)
		return -ENODEV;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a) {
		ret = -ENOMEM;
		goto err_put;
	}
	a->dev = dev;
	a->buf = buf;
	strscpy(a->name, dev_name(dev), sizeof(a->name));

	/* No driver can come or go while the buffer is mapped for it. */
	ret = device_lock_interruptible(dev);
	if (ret)
		goto err_free;
	if (dev->driver && !strncmp(dev->driver->name, "vfio", 4)) {
		ret = -EBUSY;
		goto err_unlock;
	}
	/* dma_map_*() would WARN on a device without one. */
	if (!dev->dma_mask || !*dev->dma_mask) {
		ret = -ENODEV;
		goto err_unlock;
	}

	mutex_lock(&numabuf_attach_mutex);
	if (!numabuf_dev_alive(dev)) {
		ret = -ENODEV;
		goto err_mutex;
	}
	if (numabuf_attach_find(buf, dev)) {
		ret = -EEXIST;
		goto err_mutex;
	}
	if (buf->nr_attach >= NUMABUF_ATTACH_MAX) {
		ret = -ENOSPC;
		goto err_mutex;
	}
	ret = numabuf_attach_map(buf, dev, a);
	if (ret)
		goto err_mutex;

	spin_lock(&buf->attach_lock);
	list_add_tail(&a->buf_link, &buf->attachments);
	buf->nr_attach++;
	spin_unlock(&buf->attach_lock);
	list_add_tail(&a->dev_link, &numabuf_attachments);
	*dma_addr = a->dma_addr;
	numabuf_nl_buf_attached(buf, a);
	mutex_unlock(&numabuf_attach_mutex);
	device_unlock(dev);
	return 0;

err_mutex:
	mutex_unlock(&numabuf_attach_mutex);
err_unlock:
	device_unlock(dev);
err_free:
	kfree(a);
err_put:
	put_device(dev);
	return ret;
}

/**
 * numabuf_attach_del - unmap a buffer from a device (DETACH)
 * @buf:	the buffer, referenced by the caller
 * @name:	the device's name, as ATTACH was given it
 *
 * Return: 0, or -ENOENT when the buffer is not attached to a device of
 * that name.
 */
int numabuf_attach_del(struct numabuf_buf *buf, const char *name)
{
	struct numabuf_attachment *a, *found = NULL;

	mutex_lock(&numabuf_attach_mutex);
	list_for_each_entry(a, &buf->attachments, buf_link) {
		if (!strcmp(a->name, name)) {
			found = a;
			numabuf_attach_end(a, NUMABUF_DETACH_REQUEST);
			break;
		}
	}
	mutex_unlock(&numabuf_attach_mutex);
	if (!found)
		return -ENOENT;
	numabuf_attach_free(found);
	return 0;
}

/**
 * numabuf_attach_release - end every attachment of a released buffer
 * @buf:	the buffer, whose last reference is gone
 *
 * Called by numabuf_buf_release() before the memory can be given back.
 */
void numabuf_attach_release(struct numabuf_buf *buf)
{
	struct numabuf_attachment *a, *tmp;
	LIST_HEAD(gone);

	if (!READ_ONCE(buf->nr_attach))
		return;
	mutex_lock(&numabuf_attach_mutex);
	list_for_each_entry_safe(a, tmp, &buf->attachments, buf_link) {
		numabuf_attach_end(a, NUMABUF_DETACH_RELEASE);
		list_add_tail(&a->dev_link, &gone);
	}
	mutex_unlock(&numabuf_attach_mutex);
	list_for_each_entry_safe(a, tmp, &gone, dev_link)
		numabuf_attach_free(a);
}

/**
 * numabuf_attach_sync - make a range coherent for every attached device
 * @buf:	the buffer, referenced by the caller
 * @offset:	first byte, inside the buffer
 * @len:	bytes, at least 1, inside the buffer
 * @dir:	DMA_FROM_DEVICE, DMA_TO_DEVICE or DMA_BIDIRECTIONAL
 * @for_cpu:	for the CPU (after the device wrote) or for the devices
 *
 * Return: 0.
 */
int numabuf_attach_sync(struct numabuf_buf *buf, u64 offset, u64 len,
			enum dma_data_direction dir, bool for_cpu)
{
	struct numabuf_attachment *a;

	mutex_lock(&numabuf_attach_mutex);
	list_for_each_entry(a, &buf->attachments, buf_link) {
		if (for_cpu)
			dma_sync_single_range_for_cpu(a->dev, a->dma_addr,
						      offset, len, dir);
		else
			dma_sync_single_range_for_device(a->dev, a->dma_addr,
							 offset, len, dir);
	}
	mutex_unlock(&numabuf_attach_mutex);
	return 0;
}

/* End every attachment to @dev. */
static void numabuf_attach_dev_gone(struct device *dev, u32 reason)
{
	struct numabuf_attachment *a, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&numabuf_attach_mutex);
	list_for_each_entry_safe(a, tmp, &numabuf_attachments, dev_link) {
		if (a->dev != dev)
			continue;
		numabuf_attach_end(a, reason);
		list_add_tail(&a->dev_link, &gone);
	}
	/*
	 * The bus holds its own reference on @dev until the notifier is
	 * done, so ours may go under the mutex.
	 */
	list_for_each_entry_safe(a, tmp, &gone, dev_link)
		numabuf_attach_free(a);
}

static int numabuf_bus_notify(struct notifier_block *nb,
			      unsigned long action, void *data)
{
	struct device *dev = data;
	struct numabuf_dying *d, *tmp;

	switch (action) {
	case BUS_NOTIFY_BIND_DRIVER:
	case BUS_NOTIFY_UNBIND_DRIVER:
		mutex_lock(&numabuf_attach_mutex);
		numabuf_attach_dev_gone(dev, NUMABUF_DETACH_DRIVER);
		mutex_unlock(&numabuf_attach_mutex);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		/*
		 * Without memory to mark it, an ATTACH that found the device
		 * before it leaves its bus could still map it: then the
		 * device is refused for being off the bus's list only.
		 */
		d = kmalloc(sizeof(*d), GFP_KERNEL);
		mutex_lock(&numabuf_attach_mutex);
		if (d) {
			d->dev = get_device(dev);
			list_add(&d->link, &numabuf_dying);
		}
		numabuf_attach_dev_gone(dev, NUMABUF_DETACH_REMOVE);
		mutex_unlock(&numabuf_attach_mutex);
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		mutex_lock(&numabuf_attach_mutex);
		/* An attachment made after DEL_DEVICE, should one exist. */
		numabuf_attach_dev_gone(dev, NUMABUF_DETACH_REMOVE);
		list_for_each_entry_safe(d, tmp, &numabuf_dying, link) {
			if (d->dev != dev)
				continue;
			list_del(&d->link);
			put_device(d->dev);
			kfree(d);
		}
		mutex_unlock(&numabuf_attach_mutex);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block numabuf_pci_nb = {
	.notifier_call = numabuf_bus_notify,
};

static struct notifier_block numabuf_platform_nb = {
	.notifier_call = numabuf_bus_notify,
};

int numabuf_attach_init(void)
{
	int ret;

#ifdef CONFIG_PCI
	ret = bus_register_notifier(&pci_bus_type, &numabuf_pci_nb);
	if (ret)
		return ret;
#endif
	ret = bus_register_notifier(&platform_bus_type, &numabuf_platform_nb);
	if (ret)
		goto err_pci;
	return 0;

err_pci:
#ifdef CONFIG_PCI
	bus_unregister_notifier(&pci_bus_type, &numabuf_pci_nb);
#endif
	return ret;
}

/*
 * Every buffer is gone (each holds the module), so is every attachment;
 * only devices still between their removal's two notifications are left.
 */
void numabuf_attach_exit(void)
{
	struct numabuf_dying *d, *tmp;

	bus_unregister_notifier(&platform_bus_type, &numabuf_platform_nb);
#ifdef CONFIG_PCI
	bus_unregister_notifier(&pci_bus_type, &numabuf_pci_nb);
#endif
	list_for_each_entry_safe(d, tmp, &numabuf_dying, link) {
		list_del(&d->link);
		put_device(d->dev);
		kfree(d);
	}
}
