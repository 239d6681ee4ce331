// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: stats: totals over the nodes, and the caps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int do_stats(int argc, char **argv)
{
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	struct numabuf_nodestat sum;
	const struct numabuf_nodestat *st;
	struct numabuf_limits lim;
	struct numabuf_nl *nl;
	int err, i, have_lim, ret = EXIT_FAILURE;
	struct json j;
	char **args;
	int nargs;
	size_t n;

	ret = ctl_no_options(argc, argv, "stats", &args, &nargs);
	if (ret >= 0)
		return ret;
	if (nargs && !matches(args[0], "show"))
		return usage_error("stats: unknown command '%s'", args[0]);
	if (nargs > 1)
		return usage_error("stats: unexpected argument '%s'", args[1]);

	ret = nl_open("stats", &nl);
	if (ret)
		return ret;
	ret = node_vec_read(nl, "stats", &nodes);
	if (ret)
		goto out;
	ret = EXIT_FAILURE;
	/* The caps are for administrators; the totals for anyone. */
	err = numabuf_nl_limit_get(nl, &lim);
	have_lim = !err;
	if (err == -EPERM) {
		fprintf(stderr, "%s: stats: the limits need CAP_NET_ADMIN; not shown "
			"(anyone may read them in /sys/module/numabuf/parameters/)\n",
			prog);
	} else if (err) {
		ret = nl_fail(nl, "stats", err, NULL);
		goto out;
	}

	memset(&sum, 0, sizeof(sum));
	for (n = 0; n < nodes.n; n++) {
		st = vec_at(&nodes, n);
		sum.buffers += st->buffers;
		sum.bytes += st->bytes;
		sum.pool_target += st->pool_target;
		sum.pool_size += st->pool_size;
		sum.pool_free += st->pool_free;
		for (i = 0; i < 3; i++) {
			sum.allocs[i] += st->allocs[i];
			sum.fails[i] += st->fails[i];
		}
	}

	begin_output(&j, 0);
	begin_object(&j);
	put_u64(&j, "buffers", sum.buffers);
	put_size(&j, "bytes", sum.bytes);
	put_newline();
	put_size(&j, "pool-target", sum.pool_target);
	put_size(&j, "pool-size", sum.pool_size);
	put_size(&j, "pool-free", sum.pool_free);
	put_newline();
	put_counts(&j, sum.allocs, sum.fails);
	if (have_lim) {
		put_newline();
		put_limits(&j, &lim);
	}
	end_object(&j);
	ret = end_output(&j, 0);
out:
	vec_free(&nodes);
	numabuf_nl_close(nl);
	return ret;
}
