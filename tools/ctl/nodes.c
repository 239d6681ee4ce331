// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: nodes: online nodes, from node-get and sysfs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CPULIST_MAX	65536

static int print_node(struct json *j, int node,
		      const struct numabuf_nodestat *st)
{
	char path[128];
	static char cpus[CPULIST_MAX];
	uint64_t mem_total = 0, mem_free = 0;
	int err;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/cpulist", node);
	err = read_text(path, cpus, sizeof(cpus));
	if (err) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, path,
			strerror(-err));
		return err;
	}
	if (st) {
		mem_total = st->mem_total;
		mem_free = st->mem_free;
	} else {
		err = read_node_meminfo(node, &mem_total, &mem_free);
		if (err) {
			fprintf(stderr, "%s: cannot read " SYSFS_NODE
				"/node%d/meminfo: %s\n", prog, node,
				strerror(-err));
			return err;
		}
	}

	begin_object(j);
	put_node_id(j, node);
	put_size(j, "mem-total", mem_total);
	put_size(j, "mem-free", mem_free);
	put_str(j, "cpus", cpus);
	if (st) {
		put_u64(j, "buffers", st->buffers);
		put_size(j, "bytes", st->bytes);
		put_break();
		put_pool(j, st);
		put_break();
		put_counts(j, st->allocs, st->fails);
	}
	end_object(j);
	return 0;
}

int do_nodes(int argc, char **argv)
{
	uint64_t online[LIST_WORDS(MAX_NODES)], want[LIST_WORDS(MAX_NODES)];
	struct vec table = VEC_INIT(struct numabuf_nodestat);
	const struct numabuf_nodestat *st;
	const char *nodes_arg = "all";
	struct numabuf_nl *nl = NULL;
	int node, err, ret = EXIT_FAILURE, nargs;
	char **args, online_text[256];
	struct json j;

	ret = ctl_no_options(argc, argv, "nodes", &args, &nargs);
	if (ret >= 0)
		return ret;
	ret = EXIT_FAILURE;
	if (nargs && (matches(args[0], "show") || matches(args[0], "list"))) {
		nargs--;
		args++;
	}
	if (nargs > 1)
		return usage_error("nodes: unexpected argument '%s'", args[1]);
	if (nargs) {
		if (!is_nodes_word(args[0]))
			return usage_error("nodes: unknown command '%s'",
					   args[0]);
		nodes_arg = args[0];
	}
	err = parse_nodes_arg("nodes", nodes_arg, want);
	if (err)
		return err;

	if (read_online(online))
		return EXIT_FAILURE;

	/* Without the module, what sysfs knows: better than nothing. */
	err = numabuf_nl_open(&nl);
	if (err == -ENOENT) {
		fprintf(stderr, "%s: nodes: the numabuf module is not loaded: "
			"memory and CPUs only (load it with 'modprobe "
			"numabuf')\n", prog);
	} else if (err) {
		return nl_open_error("nodes", err);
	} else {
		ret = node_vec_read(nl, "nodes", &table);
		if (ret)
			goto out;
		ret = EXIT_FAILURE;
	}

	for (size_t i = 0; i < table.n; i++) {
		st = vec_at(&table, i);
		if (st->node >= 0 && st->node < MAX_NODES)
			list_set(online, (unsigned int)st->node);
	}
	if (list_format(online, MAX_NODES, online_text,
			sizeof(online_text)) < 0)
		snprintf(online_text, sizeof(online_text), "see %s",
			 SYSFS_NODE "/online");
	if (strcmp(nodes_arg, "all")) {
		for (node = 0; node < MAX_NODES; node++) {
			if (list_test(want, (unsigned int)node) &&
			    !list_test(online, (unsigned int)node)) {
				fprintf(stderr, "%s: nodes: node %d is not "
					"online (online: %s)\n", prog, node,
					online_text);
				goto out;
			}
		}
	}

	begin_output(&j, 1);
	for (node = 0; node < MAX_NODES; node++) {
		if (!list_test(online, (unsigned int)node) ||
		    !list_test(want, (unsigned int)node))
			continue;
		if (print_node(&j, node, node_vec_find(&table, node)))
			goto out;
	}
	ret = end_output(&j, 1);
out:
	vec_free(&table);
	numabuf_nl_close(nl);
	return ret;
}
