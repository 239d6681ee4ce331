// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: monitor: print the events of the family as they come.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

/* --timeout: poll(2) takes milliseconds in an int. */
#define TIMEOUT_MAX	(INT_MAX / 1000)

struct monitor {
	uint64_t count;		/* stop after this many events; 0: never */
	uint64_t seen;
	int done;
};

static int monitor_event(const struct numabuf_event *ev, void *arg)
{
	struct monitor *mon = arg;
	const char *name, *text;
	unsigned int fields = 0;
	struct json j;

	switch (ev->type) {
	case NUMABUF_EVENT_BUF_CREATED:
		name = "buf-created";
		text = "created";
		/* The time of an event is now: text leaves it out. */
		fields = BUF_CREATED_NTF;
		if (!opts.json)
			fields &= ~BUF_CREATED;
		break;
	case NUMABUF_EVENT_BUF_FREED:
		name = "buf-freed";
		text = "freed";
		fields = BUF_FREED_NTF;
		break;
	case NUMABUF_EVENT_ALLOC_FAILED:
		name = "alloc-failed";
		text = "alloc-failed";
		fields = BUF_FAILED_NTF;
		break;
	case NUMABUF_EVENT_POOL_LOW:
		name = "pool-low";
		text = "pool-low";
		break;
	case NUMABUF_EVENT_BUF_ATTACHED:
		name = "buf-attached";
		text = "attached";
		fields = BUF_ATTACH_NTF;
		break;
	case NUMABUF_EVENT_BUF_DETACHED:
		name = "buf-detached";
		text = "detached";
		fields = BUF_ATTACH_NTF;
		break;
	default:
		return 0;
	}

	begin_output(&j, 0);
	begin_object(&j);
	if (opts.json)
		json_string(&j, "event", name);
	else
		put_word(text);
	if (ev->type == NUMABUF_EVENT_POOL_LOW) {
		put_node_id(&j, ev->node.node);
		put_size(&j, "pool-target", ev->node.pool_target);
		put_size(&j, "pool-size", ev->node.pool_size);
		put_size(&j, "pool-free", ev->node.pool_free);
		put_size(&j, "pool-low", ev->node.pool_low);
	} else {
		put_buf(&j, &ev->buf, fields);
	}
	end_object(&j);
	if (end_output(&j, 0))
		return -EIO;
	if (mon->count && ++mon->seen == mon->count) {
		mon->done = 1;
		return 1;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int do_monitor(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "count",	required_argument,	NULL, 'c' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ NULL,		0,			NULL, 0 },
	};
	struct monitor mon = { 0, 0, 0 };
	uint64_t timeout = 0;
	int64_t deadline = 0, left;
	struct numabuf_nl *nl;
	struct pollfd pfd;
	int c, n, err, ret = EXIT_FAILURE;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "monitor", "c:t:",
				long_opts)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, UINT64_MAX, &mon.count) ||
			    !mon.count)
				return usage_error("monitor: invalid count "
						   "'%s' (a number of events, "
						   "1 or more)", optarg);
			break;
		case 't':
			if (parse_u64(optarg, TIMEOUT_MAX, &timeout) || !timeout)
				return usage_error("monitor: invalid timeout "
						   "'%s' (whole seconds, 1 to "
						   "%d)", optarg, TIMEOUT_MAX);
			break;
		default:
			return opt_exit;
		}
	}
	if (optind < argc)
		return usage_error("monitor: unexpected argument '%s'",
				   argv[optind]);

	ret = nl_open("monitor", &nl);
	if (ret)
		return ret;
	ret = EXIT_FAILURE;
	err = numabuf_nl_subscribe(nl);
	if (err) {
		ret = nl_fail(nl, "monitor", err, err == -EPERM ?
			"needs CAP_SYS_ADMIN" : NULL);
		goto out;
	}
	if (timeout)
		deadline = now_ms() + (int64_t)timeout * 1000;

	pfd.fd = numabuf_nl_fd(nl);
	pfd.events = POLLIN;
	while (!mon.done) {
		left = -1;
		if (timeout) {
			left = deadline - now_ms();
			if (left <= 0)
				break;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: monitor: poll: %s\n", prog,
				strerror(errno));
			goto out;
		}
		if (!n)
			continue;	/* the deadline */
		err = numabuf_nl_events(nl, 1, monitor_event, &mon);
		if (err == -ENOBUFS) {
			fprintf(stderr, "%s: monitor: events were lost (the "
				"socket's buffer overflowed)\n", prog);
		} else if (err < 0 && err != -EAGAIN) {
			ret = nl_fail(nl, "monitor", err, NULL);
			goto out;
		}
	}
	ret = EXIT_SUCCESS;
out:
	numabuf_nl_close(nl);
	return ret;
}
