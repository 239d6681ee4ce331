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

static int do_pool_set(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "low",	required_argument,	NULL, OPT_LOW },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *low_arg = NULL, *size_arg;
	struct numabuf_nodestat st;
	struct numabuf_nl *nl;
	uint64_t target, low;
	int c, opt, node, err, ret = EXIT_FAILURE;
	struct json j;

	optind = 0;	/* options may follow NODE and SIZE */
	while ((c = getopt_long(argc, argv, "jph", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LOW:
			low_arg = optarg;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind == argc)
		return usage_error("pool set: expected NODE [SIZE] [--low SIZE]");
	if (argc - optind > 2)
		return usage_error("pool set: unexpected argument '%s'",
				   argv[optind + 2]);
	size_arg = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (!size_arg && !low_arg)
		return usage_error("pool set: expected SIZE, --low SIZE or both");
	err = parse_node_arg("pool set", argv[optind], &node);
	if (!err && size_arg)
		err = parse_size_arg("pool set", size_arg, 0, &target);
	if (!err && low_arg)
		err = parse_size_arg("pool set", low_arg, 0, &low);
	if (err)
		return err;

	if (nl_open("pool set", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_pool_set(nl, node, size_arg ? &target : NULL,
				  low_arg ? &low : NULL);
	if (err) {
		nl_fail(nl, "pool set", err, err == -EPERM ?
			"needs CAP_SYS_ADMIN and CAP_NET_ADMIN" : NULL);
		goto out;
	}
	/* What the pool is now, as pool show prints it. */
	err = numabuf_nl_node_get(nl, node, &st);
	if (err) {
		nl_fail(nl, "pool set", err, NULL);
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
	uint64_t want[LIST_WORDS(MAX_NODES)];
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	const struct numabuf_nodestat *st;
	const char *nodes_arg = "all";
	struct numabuf_nl *nl;
	int node, err, ret = EXIT_FAILURE;
	struct json j;
	size_t i;

	if (argc > 1 && matches(argv[1], "set"))
		return do_pool_set(argc - 1, argv + 1);
	if (argc > 1 && (matches(argv[1], "show") || matches(argv[1], "list"))) {
		argc--;
		argv++;
	}
	if (argc > 2)
		return usage_error("pool: unexpected argument '%s'", argv[2]);
	if (argc > 1 && !is_nodes_word(argv[1]) && strcmp(argv[1], "local"))
		return usage_error("pool: unknown command '%s'", argv[1]);
	if (argc > 1)
		nodes_arg = argv[1];
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

	if (nl_open("pool", &nl))
		return EXIT_FAILURE;
	if (node_vec_read(nl, "pool", &nodes))
		goto out;
	/* A node asked for by name must have a pool to show. */
	if (strcmp(nodes_arg, "all")) {
		for (node = 0; node < MAX_NODES; node++) {
			if (list_test(want, (unsigned int)node) &&
			    !node_vec_find(&nodes, node)) {
				fprintf(stderr, "%s: pool: node %d is not "
					"online or has no memory\n", prog,
					node);
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
