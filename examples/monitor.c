// SPDX-License-Identifier: MIT
/*
 * monitor: print numabuf's events as they happen.
 *
 *   monitor [--count N] [--timeout SECONDS]
 *
 * The module announces buffers created and freed, failed allocations,
 * pools falling below their low watermark, and buffers attached to and
 * detached from devices, on the "events" multicast group of its generic
 * netlink family.  libnumabuf joins the group (numabuf_nl_subscribe(),
 * which needs CAP_SYS_ADMIN) and decodes each message into a struct
 * numabuf_event.  One line per event; "listening" first, once subscribed,
 * so a script knows when to start.
 *
 * --count N stops after N events (exit 0); --timeout SECONDS stops after
 * that long (exit 0 without --count, else 2: fewer than N events came).
 *
 * Build: cc monitor.c $(pkg-config --cflags --libs numabuf)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <numabuf.h>

struct state {
	unsigned long count;	/* stop after this many; 0: never */
	unsigned long seen;
};

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case NUMABUF_DETACH_REQUEST: return "request";
	case NUMABUF_DETACH_RELEASE: return "release";
	case NUMABUF_DETACH_DRIVER: return "driver";
	case NUMABUF_DETACH_REMOVE: return "remove";
	}
	return "?";
}

/* Called by numabuf_nl_events() for each event, in the kernel's order. */
static int on_event(const struct numabuf_event *ev, void *arg)
{
	const struct numabuf_bufstat *b = &ev->buf;
	struct state *s = arg;

	switch (ev->type) {
	case NUMABUF_EVENT_BUF_CREATED:
		printf("created id %u size %" PRIu64 " node %d pid %u uid %u comm %s\n",
		       b->id, b->size, b->node, b->pid, b->uid, b->comm);
		break;
	case NUMABUF_EVENT_BUF_FREED:
		printf("freed id %u size %" PRIu64 " node %d\n", b->id, b->size,
		       b->node);
		break;
	case NUMABUF_EVENT_ALLOC_FAILED:
		/* Rate limited per user: one event may stand for several. */
		printf("alloc-failed size %" PRIu64 " node %d pid %u uid %u comm %s error %s suppressed %u\n",
		       b->size, b->node, b->pid, b->uid, b->comm,
		       strerrorname_np((int)b->error) ?: "?", b->suppressed);
		break;
	case NUMABUF_EVENT_POOL_LOW:
		printf("pool-low node %d free %" PRIu64 " low %" PRIu64 " size %" PRIu64 "\n",
		       ev->node.node, ev->node.pool_free, ev->node.pool_low,
		       ev->node.pool_size);
		break;
	case NUMABUF_EVENT_BUF_ATTACHED:
	case NUMABUF_EVENT_BUF_DETACHED:
		/* dma_addr is 0 unless we have CAP_SYS_ADMIN (we do). */
		printf("%s id %u device %s dma %#" PRIx64 "%s%s\n",
		       ev->type == NUMABUF_EVENT_BUF_ATTACHED ? "attached" : "detached",
		       b->id, b->nr_attach ? b->attach[0].device : "?",
		       b->nr_attach ? b->attach[0].dma_addr : 0,
		       ev->type == NUMABUF_EVENT_BUF_DETACHED ? " reason " : "",
		       ev->type == NUMABUF_EVENT_BUF_DETACHED && b->nr_attach ?
		       reason_name(b->attach[0].reason) : "");
		break;
	default:
		/* A newer module's event: say so, do not count it. */
		printf("event %u\n", ev->type);
		return 0;
	}
	/* A positive return stops numabuf_nl_events() after this event. */
	return s->count && ++s->seen == s->count;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct state s = { 0, 0 };
	long long deadline = 0, timeout = 0;
	struct numabuf_nl *nl;
	struct pollfd pfd;
	int c, err, ret = 1;

	while ((c = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			s.count = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout = atoll(optarg);
			break;
		default:
			fprintf(stderr, "usage: monitor [--count N] [--timeout SECONDS]\n");
			return c == 'h' ? 0 : 1;
		}
	}
	/* One line per event, even into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	err = numabuf_nl_open(&nl);
	if (err) {
		fprintf(stderr, "monitor: %s%s\n", strerror(-err),
			err == -ENOENT ? " (is the module loaded? modprobe numabuf)" : "");
		return 1;
	}
	/* From here on this handle is for events only. */
	err = numabuf_nl_subscribe(nl);
	if (err) {
		/* The kernel's own explanation, when it gave one. */
		fprintf(stderr, "monitor: subscribe: %s%s%s%s\n", strerror(-err),
			*numabuf_nl_errmsg(nl) ? ": " : "", numabuf_nl_errmsg(nl),
			err == -EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		goto out;
	}
	printf("listening\n");

	if (timeout > 0)
		deadline = now_ms() + timeout * 1000;
	pfd.fd = numabuf_nl_fd(nl);
	pfd.events = POLLIN;
	while (!s.count || s.seen < s.count) {
		int wait = -1;

		if (deadline) {
			long long left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = (int)left;
		}
		err = poll(&pfd, 1, wait);
		if (err < 0 && errno != EINTR) {
			perror("monitor: poll");
			goto out;
		}
		if (err <= 0)
			continue;
		/* Take what is there without blocking: we poll ourselves. */
		err = numabuf_nl_events(nl, 1, on_event, &s);
		if (err == -ENOBUFS) {
			/* Too slow: the socket overflowed, some events are lost. */
			fprintf(stderr, "monitor: events were lost\n");
		} else if (err < 0 && err != -EAGAIN) {
			fprintf(stderr, "monitor: %s\n", strerror(-err));
			goto out;
		}
	}
	if (s.count && s.seen < s.count) {
		fprintf(stderr, "monitor: timeout after %lu of %lu events\n",
			s.seen, s.count);
		ret = 2;
	} else {
		ret = 0;
	}
out:
	numabuf_nl_close(nl);
	return ret;
}
