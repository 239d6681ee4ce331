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
		return nl_fail(nl, what, err, NULL);
	begin_output(&j, 0);
	begin_object(&j);
	put_limits(&j, &lim);
	end_object(&j);
	return end_output(&j, 0);
}

static int do_limit_set(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "max",	required_argument,	NULL, OPT_MAX },
		{ "max-user",	required_argument,	NULL, OPT_MAX_USER },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *max_arg = NULL, *user_arg = NULL;
	uint64_t max_bytes, max_user_bytes;
	struct numabuf_nl *nl;
	int c, opt, err, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jph", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_MAX:
			max_arg = optarg;
			break;
		case OPT_MAX_USER:
			user_arg = optarg;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind < argc)
		return usage_error("limit set: unexpected argument '%s'",
				   argv[optind]);
	if (!max_arg && !user_arg)
		return usage_error("limit set: expected --max SIZE, "
				   "--max-user SIZE or both");
	err = max_arg ? parse_size_arg("limit set", max_arg, 1, &max_bytes) : 0;
	if (!err && user_arg)
		err = parse_size_arg("limit set", user_arg, 1, &max_user_bytes);
	if (err)
		return err;

	if (nl_open("limit set", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_limit_set(nl, max_arg ? &max_bytes : NULL,
				   user_arg ? &max_user_bytes : NULL);
	if (err)
		ret = nl_fail(nl, "limit set", err, err == -EPERM ?
			      "needs CAP_SYS_ADMIN and CAP_NET_ADMIN" : NULL);
	else
		ret = print_limits(nl, "limit set");
	numabuf_nl_close(nl);
	return ret;
}

int do_limit(int argc, char **argv)
{
	struct numabuf_nl *nl;
	int ret;

	if (argc > 1 && matches(argv[1], "set"))
		return do_limit_set(argc - 1, argv + 1);
	if (argc > 1 && !matches(argv[1], "show") && !matches(argv[1], "list"))
		return usage_error("limit: unknown command '%s'", argv[1]);
	if (argc > 2)
		return usage_error("limit: unexpected argument '%s'", argv[2]);

	if (nl_open("limit", &nl))
		return EXIT_FAILURE;
	ret = print_limits(nl, "limit");
	numabuf_nl_close(nl);
	return ret;
}
