// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: limit: show and set the caps.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define OPT_MAX		1004
#define OPT_MAX_USER	1005

static int print_limits(struct numabuf_nl *nl, const char *what)
{
	struct numabuf_limits lim;
	struct json j;
	int err;

	err = numabuf_nl_limit_get(nl, &lim);
	if (err)
		return nl_fail(nl, what, err, err == -EPERM ?
			       "reading the caps needs CAP_NET_ADMIN; anyone "
			       "may read them in /sys/module/numabuf/"
			       "parameters/max_bytes and max_user_bytes" : NULL);
	begin_output(&j, 0);
	begin_object(&j);
	put_limits(&j, &lim);
	end_object(&j);
	return end_output(&j, 0);
}

/* limit set [--max SIZE] [--max-user SIZE] */
static int limit_set(int nargs, char **args, const char *max_arg,
		     const char *user_arg)
{
	uint64_t max_bytes, max_user_bytes;
	struct numabuf_nl *nl;
	int err, ret;

	if (nargs)
		return usage_error("limit set: unexpected argument '%s'",
				   args[0]);
	if (!max_arg && !user_arg)
		return usage_error("limit set: expected --max SIZE, "
				   "--max-user SIZE or both");
	err = max_arg ? parse_size_arg("limit set", max_arg, 1, &max_bytes) : 0;
	if (!err && user_arg)
		err = parse_size_arg("limit set", user_arg, 1, &max_user_bytes);
	if (err)
		return err;

	ret = nl_open("limit set", &nl);
	if (ret)
		return ret;
	err = numabuf_nl_limit_set(nl, max_arg ? &max_bytes : NULL,
				   user_arg ? &max_user_bytes : NULL);
	if (err)
		ret = nl_fail(nl, "limit set", err, err == -EPERM ?
			      "needs CAP_SYS_ADMIN and CAP_NET_ADMIN: run it "
			      "as root" : NULL);
	else
		ret = print_limits(nl, "limit set");
	numabuf_nl_close(nl);
	return ret;
}

int do_limit(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "max",	required_argument,	NULL, OPT_MAX },
		{ "max-user",	required_argument,	NULL, OPT_MAX_USER },
		{ NULL,		0,			NULL, 0 },
	};
	const char *max_arg = NULL, *user_arg = NULL;
	struct numabuf_nl *nl;
	int c, nargs, ret;
	char **args;

	optind = 0;	/* glibc: start over on this argv */
	while ((c = ctl_getopt(argc, argv, "limit", "", long_opts)) != -1) {
		switch (c) {
		case OPT_MAX:
			max_arg = optarg;
			break;
		case OPT_MAX_USER:
			user_arg = optarg;
			break;
		default:
			return opt_exit;
		}
	}
	args = argv + optind;
	nargs = argc - optind;

	if (nargs && matches(args[0], "set"))
		return limit_set(nargs - 1, args + 1, max_arg, user_arg);
	if (max_arg || user_arg)
		return usage_error("limit: --max and --max-user are options "
				   "of limit set");
	if (nargs && !matches(args[0], "show") && !matches(args[0], "list"))
		return usage_error("limit: unknown command '%s'", args[0]);
	if (nargs > 1)
		return usage_error("limit: unexpected argument '%s'", args[1]);

	ret = nl_open("limit", &nl);
	if (ret)
		return ret;
	ret = print_limits(nl, "limit");
	numabuf_nl_close(nl);
	return ret;
}
