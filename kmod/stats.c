// SPDX-License-Identifier: GPL-2.0
/*
 * Per-node counters of the memory numabuf holds, readable in debugfs as
 * numabuf/stats.  The control-plane family reads the same counters.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/nodemask.h>
#include <linux/seq_file.h>

#include "numabuf_priv.h"

struct numabuf_node_stats {
	atomic64_t buffers;
	atomic64_t bytes;
};

static struct numabuf_node_stats numabuf_stats[MAX_NUMNODES];
static struct dentry *numabuf_debugfs_dir;

void numabuf_stats_add(int node, u64 bytes)
{
	atomic64_inc(&numabuf_stats[node].buffers);
	atomic64_add(bytes, &numabuf_stats[node].bytes);
}

void numabuf_stats_sub(int node, u64 bytes)
{
	atomic64_dec(&numabuf_stats[node].buffers);
	atomic64_sub(bytes, &numabuf_stats[node].bytes);
}

static int numabuf_stats_show(struct seq_file *m, void *unused)
{
	s64 buffers, bytes, all_buffers = 0, all_bytes = 0;
	int node;

	seq_puts(m, "# node buffers bytes\n");
	for_each_node(node) {
		buffers = atomic64_read(&numabuf_stats[node].buffers);
		bytes = atomic64_read(&numabuf_stats[node].bytes);
		all_buffers += buffers;
		all_bytes += bytes;
		if (node_state(node, N_MEMORY) || buffers)
			seq_printf(m, "%d %lld %lld\n", node, buffers, bytes);
	}
	seq_printf(m, "all %lld %lld\n", all_buffers, all_bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(numabuf_stats);

void numabuf_stats_init(void)
{
	/* debugfs is optional: the module works without it. */
	numabuf_debugfs_dir = debugfs_create_dir("numabuf", NULL);
	debugfs_create_file("stats", 0400, numabuf_debugfs_dir, NULL,
			    &numabuf_stats_fops);
}

void numabuf_stats_exit(void)
{
	debugfs_remove_recursive(numabuf_debugfs_dir);
}
