// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf: pinned, physically contiguous, NUMA-local buffers for user space
 * and DMA.
 */
#include <linux/module.h>

#include "compat.h"
#include "numabuf_priv.h"

static int __init numabuf_init(void)
{
	int ret;

	ret = numabuf_buf_init();
	if (ret)
		return ret;
	ret = numabuf_alloc_init();
	if (ret)
		goto err_buf;
	ret = numabuf_pool_init();
	if (ret)
		goto err_alloc;
	numabuf_stats_init();
	/* The family first: the first buffer's event has somewhere to go. */
	ret = numabuf_nl_init();
	if (ret) {
		pr_err("numabuf: cannot register the netlink family: %d\n",
		       ret);
		goto err_stats;
	}
	ret = numabuf_attach_init();
	if (ret) {
		pr_err("numabuf: cannot watch the PCI and platform buses: %d\n",
		       ret);
		goto err_nl;
	}
	ret = numabuf_dev_register();
	if (ret) {
		pr_err("numabuf: cannot register /dev/numabuf: %d\n", ret);
		goto err_attach;
	}
	return 0;

err_attach:
	numabuf_attach_exit();
err_nl:
	numabuf_nl_exit();
err_stats:
	numabuf_stats_exit();
	numabuf_pool_exit();
err_alloc:
	numabuf_alloc_exit();
	numabuf_range_exit();
err_buf:
	numabuf_buf_exit();
	return ret;
}

/*
 * Open files, mappings and released buffers whose pages are still held
 * hold a reference on the module, so this runs only when no buffer is
 * left but those a pool's worker is still zeroing for a killed freer.
 * Netlink requests hold no reference: the family goes before the pools
 * and counters its requests read, and the work before the family, as it
 * announces the buffers it finishes.
 */
static void __exit numabuf_exit(void)
{
	numabuf_dev_unregister();
	numabuf_buf_stop();
	numabuf_attach_exit();
	numabuf_nl_exit();
	numabuf_stats_exit();
	numabuf_pool_exit();
	numabuf_alloc_exit();
	numabuf_range_exit();
	numabuf_buf_exit();
}

module_init(numabuf_init);
module_exit(numabuf_exit);

MODULE_DESCRIPTION("Pinned, physically contiguous, NUMA-local buffers");
MODULE_AUTHOR("The numabuf developers");
MODULE_LICENSE("GPL");
/* NUMABUF_VERSION comes from the file VERSION, through Kbuild. */
MODULE_VERSION(NUMABUF_VERSION);
/* dma_buf_export() and the rest of the dma-buf API (dmabuf.c). */
NUMABUF_IMPORT_NS_DMA_BUF();
