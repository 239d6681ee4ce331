// SPDX-License-Identifier: GPL-2.0
/*
 * Per-node counters of the memory numabuf holds, readable in debugfs as
 * numabuf/stats (buffers and bytes) and numabuf/nodes (pools, allocations
 * and failures by source).  The control-plane family reads the same
 * counters.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/nodemask.h>
#include <linux/seq_file.h>

#include <linux/numabuf.h>

#include "numabuf_priv.h"

struct numabuf_node_stats {
	atomic64_t buffers;
	atomic64_t bytes;
	atomic64_t allocs[NUMABUF_NR_SOURCES];
	atomic64_t fails[NUMABUF_NR_SOURCES];
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

/**
 * numabuf_stats_alloc - count an attempt to allocate from a source
 * @node:	node tried
 * @source:	NUMABUF_SOURCE_*
 * @ret:	its result, 0 or a negative errno
 */
void numabuf_stats_alloc(int node, u32 source, int ret)
{
	struct numabuf_node_stats *st = &numabuf_stats[node];

	if (ret)
		atomic64_inc(&st->fails[source - 1]);
	else
		atomic64_inc(&st->allocs[source - 1]);
}

/**
 * numabuf_stats_node - read a node's counters
 * @node:	any possible node
 * @c:		filled in
 */
void numabuf_stats_node(int node, struct numabuf_node_counters *c)
{
	struct numabuf_node_stats *st = &numabuf_stats[node];
	int i;

	c->buffers = atomic64_read(&st->buffers);
	c->bytes = atomic64_read(&st->bytes);
	for (i = 0; i < NUMABUF_NR_SOURCES; i++) {
		c->allocs[i] = atomic64_read(&st->allocs[i]);
		c->fails[i] = atomic64_read(&st->fails[i]);
	}
}

static int numabuf_nodes_show(struct seq_file *m, void *unused)
{
	struct numabuf_node_stats *st;
	struct numabuf_pool_stat ps;
	int node, i;

	seq_puts(m, "# node pool_target pool_bytes pool_free pool_largest alloc_pages alloc_range alloc_pool fail_pages fail_range fail_pool\n");
	for_each_node_state(node, N_MEMORY) {
		st = &numabuf_stats[node];
		numabuf_pool_get(node, &ps);
		seq_printf(m, "%d %llu %llu %llu %llu", node, ps.target,
			   ps.bytes, ps.free, ps.largest);
		for (i = 0; i < NUMABUF_NR_SOURCES; i++)
			seq_printf(m, " %lld", atomic64_read(&st->allocs[i]));
		for (i = 0; i < NUMABUF_NR_SOURCES; i++)
			seq_printf(m, " %lld", atomic64_read(&st->fails[i]));
		seq_putc(m, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(numabuf_nodes);

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
	debugfs_create_file("nodes", 0400, numabuf_debugfs_dir, NULL,
			    &numabuf_nodes_fops);
}

void numabuf_stats_exit(void)
{
	debugfs_remove_recursive(numabuf_debugfs_dir);
}
