// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: pool: show and set the nodes' pools.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define OPT_LOW		1003

/* pool set NODE [SIZE] [--low SIZE]: @args are NODE and SIZE. */
static int pool_set(int nargs, char **args, const char *low_arg)
{
	const char *size_arg;
	struct numabuf_nodestat st;
	struct numabuf_nl *nl;
	uint64_t target, low;
	int node, err, ret;
	struct json j;

	if (!nargs)
		return usage_error("pool set: expected NODE [SIZE] [--low SIZE]");
	if (nargs > 2)
		return usage_error("pool set: unexpected argument '%s'", args[2]);
	size_arg = nargs == 2 ? args[1] : NULL;
	if (!size_arg && !low_arg)
		return usage_error("pool set: expected SIZE, --low SIZE or both");
	err = parse_node_arg("pool set", args[0], &node);
	if (!err && size_arg)
		err = parse_size_arg("pool set", size_arg, 0, &target);
	if (!err && low_arg)
		err = parse_size_arg("pool set", low_arg, 0, &low);
	if (err)
		return err;

	ret = nl_open("pool set", &nl);
	if (ret)
		return ret;
	err = numabuf_nl_pool_set(nl, node, size_arg ? &target : NULL,
				  low_arg ? &low : NULL);
	if (err) {
		ret = nl_fail(nl, "pool set", err, err == -EPERM ?
			      "needs CAP_SYS_ADMIN and CAP_NET_ADMIN: run it "
			      "as root" : NULL);
		goto out;
	}
	/* What the pool is now, as pool show prints it. */
	err = numabuf_nl_node_get(nl, node, &st);
	if (err) {
		ret = nl_fail(nl, "pool set", err, NULL);
		goto out;
	}
	begin_output(&j, 0);
	put_node_pool(&j, &st);
	ret = end_output(&j, 0);
out:
	numabuf_nl_close(nl);
	return ret;
}

int do_pool(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "low",	required_argument,	NULL, OPT_LOW },
		{ NULL,		0,			NULL, 0 },
	};
	uint64_t want[LIST_WORDS(MAX_NODES)];
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	const struct numabuf_nodestat *st;
	const char *nodes_arg = "all", *low_arg = NULL;
	struct numabuf_nl *nl;
	int node, err, ret, c, nargs;
	struct json j;
	char **args;
	size_t i;

	optind = 0;	/* glibc: start over on this argv */
	while ((c = ctl_getopt(argc, argv, "pool", "", long_opts)) != -1) {
		if (c != OPT_LOW)
			return opt_exit;
		low_arg = optarg;
	}
	args = argv + optind;
	nargs = argc - optind;

	if (nargs && matches(args[0], "set"))
		return pool_set(nargs - 1, args + 1, low_arg);
	if (low_arg)
		return usage_error("pool: --low is an option of pool set");
	if (nargs && (matches(args[0], "show") || matches(args[0], "list"))) {
		nargs--;
		args++;
	}
	if (nargs > 1)
		return usage_error("pool: unexpected argument '%s'", args[1]);
	if (nargs && !is_nodes_word(args[0]) && strcmp(args[0], "local"))
		return usage_error("pool: unknown command '%s'", args[0]);
	if (nargs)
		nodes_arg = args[0];
	if (!strcmp(nodes_arg, "local")) {
		err = parse_node_arg("pool", nodes_arg, &node);
		if (err)
			return err;
		memset(want, 0, sizeof(want));
		if (node < MAX_NODES)
			list_set(want, (unsigned int)node);
	} else {
		err = parse_nodes_arg("pool", nodes_arg, want);
		if (err)
			return err;
	}

	ret = nl_open("pool", &nl);
	if (ret)
		return ret;
	ret = node_vec_read(nl, "pool", &nodes);
	if (ret)
		goto out;
	ret = EXIT_FAILURE;
	/* A node asked for by name must have a pool to show. */
	if (strcmp(nodes_arg, "all")) {
		for (node = 0; node < MAX_NODES; node++) {
			if (list_test(want, (unsigned int)node) &&
			    !node_vec_find(&nodes, node)) {
				fprintf(stderr, "%s: pool: node %d is not "
					"online or has no memory (see "
					"numabufctl nodes)\n", prog, node);
				goto out;
			}
		}
	}
	begin_output(&j, 1);
	for (i = 0; i < nodes.n; i++) {
		st = vec_at(&nodes, i);
		if (st->node >= 0 && st->node < MAX_NODES &&
		    list_test(want, (unsigned int)st->node))
			put_node_pool(&j, st);
	}
	ret = end_output(&j, 1);
out:
	vec_free(&nodes);
	numabuf_nl_close(nl);
	return ret;
}
