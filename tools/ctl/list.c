// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: list: the live buffers of the system (buf-get).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/*
 * A listed buffer: its attachments are the library's only until the
 * callback returns, so each keeps a copy (st.attach points at it only
 * once the list is complete: the vector moves).
 */
struct listed_buf {
	struct numabuf_bufstat st;
	struct numabuf_attachinfo attach[NUMABUF_ATTACH_MAX];
};

static int buf_vec_add(const struct numabuf_bufstat *st, void *arg)
{
	struct listed_buf lb;
	uint32_t n = st->nr_attach;

	memset(&lb, 0, sizeof(lb));
	lb.st = *st;
	if (n > NUMABUF_ATTACH_MAX)
		n = NUMABUF_ATTACH_MAX;
	if (n)
		memcpy(lb.attach, st->attach, n * sizeof(*st->attach));
	lb.st.nr_attach = n;
	lb.st.attach = NULL;
	return vec_push(arg, &lb);
}

int do_list(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "node",	required_argument,	NULL, 'n' },
		{ "pid",	required_argument,	NULL, 'P' },
		{ "uid",	required_argument,	NULL, 'u' },
		{ NULL,		0,			NULL, 0 },
	};
	struct numabuf_buf_filter filter = { 0 };
	uint64_t want[LIST_WORDS(MAX_NODES)], v;
	struct vec bufs = VEC_INIT(struct listed_buf);
	const struct listed_buf *lb;
	struct numabuf_bufstat one;
	const struct numabuf_bufstat *st = &one;
	const char *nodes_arg = NULL;
	struct numabuf_nl *nl;
	struct passwd *pw;
	int c, err, ret = EXIT_FAILURE;
	unsigned int n;
	struct json j;
	size_t i;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "list", "n:P:u:",
				long_opts)) != -1) {
		switch (c) {
		case 'n':
			nodes_arg = optarg;
			break;
		case 'P':
			if (parse_u64(optarg, INT_MAX, &v) || !v)
				return usage_error("list: invalid pid '%s'",
						   optarg);
			filter.pid = (uint32_t)v;
			filter.match |= NUMABUF_MATCH_PID;
			break;
		case 'u':
			filter.match |= NUMABUF_MATCH_UID;
			/* A number is a uid, as for chown(1). */
			if (!parse_u64(optarg, UINT32_MAX - 1, &v)) {
				filter.uid = (int64_t)v;
				break;
			}
			pw = getpwnam(optarg);
			if (!pw)
				return usage_error("list: unknown user '%s'",
						   optarg);
			filter.uid = pw->pw_uid;
			break;
		default:
			return opt_exit;
		}
	}
	if (optind < argc)
		return usage_error("list: unexpected argument '%s'",
				   argv[optind]);
	if (nodes_arg) {
		err = parse_nodes_arg("list", nodes_arg, want);
		if (err)
			return err;
		/* One node: the kernel filters; several: we do. */
		n = list_count(want, MAX_NODES);
		for (i = 0; n == 1 && i < MAX_NODES; i++)
			if (list_test(want, (unsigned int)i)) {
				filter.node = (int32_t)i;
				filter.match |= NUMABUF_MATCH_NODE;
			}
		if (n == MAX_NODES)
			nodes_arg = NULL;
	}

	ret = nl_open("list", &nl);
	if (ret)
		return ret;
	ret = EXIT_FAILURE;
	err = numabuf_nl_bufs(nl, &filter, buf_vec_add, &bufs);
	if (err) {
		ret = nl_fail(nl, "list", err, NULL);
		goto out;
	}
	begin_output(&j, 1);
	for (i = 0; i < bufs.n; i++) {
		lb = vec_at(&bufs, i);
		one = lb->st;
		one.attach = lb->attach;
		if (nodes_arg && (st->node < 0 || st->node >= MAX_NODES ||
				  !list_test(want, (unsigned int)st->node)))
			continue;
		begin_object(&j);
		put_buf(&j, st, BUF_LISTED);
		end_object(&j);
	}
	ret = end_output(&j, 1);
out:
	vec_free(&bufs);
	numabuf_nl_close(nl);
	return ret;
}
