// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane through libnumabuf (lib/netlink.c, libmnl): node
 * statistics against sysfs, complete dumps of 10,000 buffers while others
 * come and go, the kernel's explanations with the attribute named, what an
 * unprivileged user may see and do, events in order, the pool's low
 * watermark and the caps taking effect.  Buffers are made with the raw
 * ioctls; t_nlwire.c checks the wire format with libnl-3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <numabuf.h>

#include "harness.h"
#include "nbutil.h"

#define MIB	(1024ULL * 1024)

static struct numabuf_nl *nl_open_ok(void)
{
	struct numabuf_nl *nl;
	int ret = numabuf_nl_open(&nl);

	NB_CHECK(!ret, "numabuf_nl_open: %s", strerror(-ret));
	return nl;
}

struct node_list {
	struct numabuf_nodestat st[NB_MAX_NODES];
	int n;
};

static int collect_node(const struct numabuf_nodestat *st, void *arg)
{
	struct node_list *l = arg;

	NB_CHECK(l->n < NB_MAX_NODES, "too many nodes");
	l->st[l->n++] = *st;
	return 0;
}

NB_TEST(nl_nodes_match_sysfs,
	"node-get dump lists exactly the nodes sysfs says have memory, in order, and mem-total/mem-free agree with each node's meminfo; node-get do gives the same node")
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_nodestat one;
	struct node_list l = { .n = 0 };
	int nodes[NB_MAX_NODES], n, i, ret;
	unsigned long long total, free;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	ret = numabuf_nl_nodes(nl, collect_node, &l);
	NB_CHECK(!ret, "numabuf_nl_nodes: %s (%s)", strerror(-ret),
		 numabuf_nl_errmsg(nl));
	NB_CHECK(l.n == n, "%d nodes listed, sysfs has %d with memory", l.n, n);
	for (i = 0; i < n; i++) {
		NB_CHECK(l.st[i].node == nodes[i], "entry %d is node %d, not %d",
			 i, l.st[i].node, nodes[i]);
		total = nb_node_meminfo(nodes[i], "MemTotal");
		free = nb_node_meminfo(nodes[i], "MemFree");
		NB_CHECK(l.st[i].mem_total == total,
			 "node %d: mem-total %llu, meminfo %llu", nodes[i],
			 (unsigned long long)l.st[i].mem_total, total);
		NB_CHECK(l.st[i].mem_free <= l.st[i].mem_total &&
			 l.st[i].mem_free + 64 * MIB > free &&
			 free + 64 * MIB > l.st[i].mem_free,
			 "node %d: mem-free %llu, meminfo %llu", nodes[i],
			 (unsigned long long)l.st[i].mem_free, free);
		ret = numabuf_nl_node_get(nl, nodes[i], &one);
		NB_CHECK(!ret && one.node == nodes[i] &&
			 one.mem_total == l.st[i].mem_total,
			 "node-get %d: %s", nodes[i], strerror(-ret));
	}
	numabuf_nl_close(nl);
}

NB_TEST(nl_node_counters,
	"a 64 MiB and two small buffers on a node: node-get's buffers, bytes and allocations by source grow by exactly them, and the node's free memory (zoneinfo: free pages and per-CPU lists) falls by at least 60 MiB")
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_nodestat a, b;
	int nodes[NB_MAX_NODES], node, fd = nb_open();
	unsigned long long free0, free1;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	node = nodes[0];
	NB_CHECK(!numabuf_nl_node_get(nl, node, &a), "node-get");
	free0 = nb_free_kb(node) * 1024ULL;
	nb_alloc_ok(fd, 8192, node, NUMABUF_F_NO_POOL);
	nb_alloc_ok(fd, 2 * MIB, node, NUMABUF_F_NO_POOL);
	nb_alloc_ok(fd, 64 * MIB, node, NUMABUF_F_NO_POOL);
	free1 = nb_free_kb(node) * 1024ULL;
	NB_CHECK(!numabuf_nl_node_get(nl, node, &b), "node-get");
	NB_CHECK(b.buffers == a.buffers + 3, "buffers %llu -> %llu",
		 (unsigned long long)a.buffers, (unsigned long long)b.buffers);
	NB_CHECK(b.bytes == a.bytes + 8192 + 66 * MIB, "bytes %llu -> %llu",
		 (unsigned long long)a.bytes, (unsigned long long)b.bytes);
	NB_CHECK(b.allocs[NUMABUF_SOURCE_PAGES - 1] ==
		 a.allocs[NUMABUF_SOURCE_PAGES - 1] + 2 &&
		 b.allocs[NUMABUF_SOURCE_RANGE - 1] ==
		 a.allocs[NUMABUF_SOURCE_RANGE - 1] + 1,
		 "allocations by source did not grow by 2 pages, 1 range");
	NB_CHECK(free0 > free1 && free0 - free1 >= 60 * MIB,
		 "free memory of node %d fell by %lld KiB only", node,
		 (long long)(free0 - free1) / 1024);
	close(fd);
	numabuf_nl_close(nl);
}

/* ---- dumps --------------------------------------------------------------- */

#define DUMP_BUFS	10000

struct dump_seen {
	uint8_t *seen;		/* by id */
	uint32_t max_id;
	unsigned int mine, dups, others;
	pid_t pid;
};

static int count_buf(const struct numabuf_bufstat *st, void *arg)
{
	struct dump_seen *d = arg;

	if (st->pid != (uint32_t)d->pid) {
		d->others++;
		return 0;
	}
	NB_CHECK(st->id && st->id <= d->max_id, "id %u out of range", st->id);
	NB_CHECK(st->size == NB_PAGE, "buffer %u: size %llu", st->id,
		 (unsigned long long)st->size);
	if (d->seen[st->id]++)
		d->dups++;
	else
		d->mine++;
	return 0;
}

/* Another process allocating and freeing all the time, until killed. */
static pid_t churn(int node)
{
	pid_t pid = fork();
	uint32_t h[64] = { 0 };
	struct numabuf_alloc a;
	unsigned int i;
	int fd;

	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid)
		return pid;
	fd = nb_open();
	for (i = 0;; i = (i + 1) % 64) {
		if (h[i])
			nb_free(fd, h[i]);
		h[i] = nb_alloc(fd, NB_PAGE << (i % 4), node, 0, &a) ? 0 :
		       a.handle;
	}
}

NB_TEST_TIMEOUT(nl_dump_10000,
		"10,000 buffers of one process are each listed exactly once by buf-get (filtered by pid and unfiltered), five times over, while another process allocates and frees buffers all along",
		600)
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_buf_filter f = { 0 };
	struct dump_seen d = { .pid = getpid() };
	int nodes[NB_MAX_NODES], fd = nb_open(), round, ret, status;
	struct numabuf_alloc a;
	pid_t other;
	int i;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	for (i = 0; i < DUMP_BUFS; i++) {
		ret = nb_alloc(fd, NB_PAGE, nodes[0], 0, &a);
		NB_CHECK(!ret, "buffer %d: %s", i, strerror(-ret));
	}
	/* Ids are below 2^32; the churn's and ours stay far below this. */
	d.max_id = 1U << 26;
	d.seen = calloc(d.max_id + 1, 1);
	NB_CHECK(d.seen, "calloc");
	other = churn(nodes[0]);

	for (round = 0; round < 5; round++) {
		memset(d.seen, 0, d.max_id + 1);
		d.mine = d.dups = d.others = 0;
		f.pid = round % 2 ? 0 : (uint32_t)getpid();
		f.match = f.pid ? NUMABUF_MATCH_PID : 0;
		ret = numabuf_nl_bufs(nl, &f, count_buf, &d);
		NB_CHECK(!ret, "round %d: numabuf_nl_bufs: %s (%s)", round,
			 strerror(-ret), numabuf_nl_errmsg(nl));
		NB_CHECK(d.mine == DUMP_BUFS && !d.dups,
			 "round %d (%s): %u of ours listed, %u twice", round,
			 f.pid ? "by pid" : "all", d.mine, d.dups);
		NB_CHECK(!f.pid || !d.others,
			 "filtered by pid, %u other buffers listed", d.others);
		nb_note("round %d (%s): %u ours, %u of the churning process",
			round, f.pid ? "by pid" : "all", d.mine, d.others);
	}
	kill(other, SIGKILL);
	waitpid(other, &status, 0);
	free(d.seen);
	close(fd);
	numabuf_nl_close(nl);
}

/* ---- errors -------------------------------------------------------------- */

NB_TEST(nl_errmsg_names_attribute,
	"refusals carry the kernel's message naming the attribute by its spec name (id out of range, no such node, in a do; pid out of range, in a dump), or saying nothing was given; errno matches; a good call clears the message")
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_buf_filter f = { 0 };
	struct numabuf_nodestat st;
	const char *m;
	int ret;

	ret = numabuf_nl_node_get(nl, 100000, &st);
	m = numabuf_nl_errmsg(nl);
	NB_CHECK(ret == -EINVAL && !strcmp(m, "id: out of range"),
		 "node 100000: %s, '%s'", strerror(-ret), m);

	/* A node id no node has (the guest's are 0 and 1). */
	ret = numabuf_nl_node_get(nl, 7, &st);
	m = numabuf_nl_errmsg(nl);
	NB_CHECK(ret == -ENODEV && !strcmp(m, "id: no such node with memory"),
		 "node 7: %s, '%s'", strerror(-ret), m);

	ret = numabuf_nl_pool_set(nl, 0, NULL, NULL);
	m = numabuf_nl_errmsg(nl);
	NB_CHECK(ret == -EINVAL && strstr(m, "nothing to set"),
		 "empty pool-set: %s, '%s'", strerror(-ret), m);

	ret = numabuf_nl_limit_set(nl, NULL, NULL);
	m = numabuf_nl_errmsg(nl);
	NB_CHECK(ret == -EINVAL && strstr(m, "nothing to set"),
		 "empty limit-set: %s, '%s'", strerror(-ret), m);

	f.match = NUMABUF_MATCH_PID;
	f.pid = 1U << 30;
	ret = numabuf_nl_bufs(nl, &f, count_buf, NULL);
	m = numabuf_nl_errmsg(nl);
	NB_CHECK(ret == -EINVAL && !strcmp(m, "pid: out of range"),
		 "pid 2^30: %s, '%s'", strerror(-ret), m);

	/* A good call clears the message. */
	ret = numabuf_nl_node_get(nl, 0, &st);
	NB_CHECK(!ret && !numabuf_nl_errmsg(nl)[0], "node 0: %s, '%s'",
		 strerror(-ret), numabuf_nl_errmsg(nl));
	numabuf_nl_close(nl);
}

/* ---- who may do what ----------------------------------------------------- */

struct own_list {
	unsigned int n, with_phys, not_mine;
	uint64_t size;
	uint32_t id;
};

static int list_own(const struct numabuf_bufstat *st, void *arg)
{
	struct own_list *o = arg;

	o->n++;
	if (st->phys)
		o->with_phys++;
	if (st->uid != NB_NOBODY)
		o->not_mine++;
	o->size = st->size;
	o->id = st->id;
	return 0;
}

static int find_id(const struct numabuf_bufstat *st, void *arg)
{
	struct numabuf_bufstat *want = arg;

	if (st->id == want->id)
		*want = *st;
	return 0;
}

NB_TEST(nl_unprivileged,
	"as nobody: nodes can be read; limit-get, pool-set, limit-set and joining events give EPERM; buf-get lists only nobody's own buffer (root's are hidden) and never a physical address, which root does see")
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_bufstat st = { 0 };
	struct own_list o = { 0 };
	int fd = nb_open(), p[2], status, ret;
	uint64_t v = 0;
	pid_t pid;

	nb_alloc_ok(fd, 3 * NB_PAGE, 0, 0);	/* root's, hidden */
	NB_SYS(pipe(p));
	pid = fork();
	NB_CHECK(pid >= 0, "fork");
	if (!pid) {
		struct numabuf_nl *unl;
		struct numabuf_limits lim;
		struct numabuf_nodestat ns;

		close(p[0]);
		nb_drop_privileges();
		nb_alloc_ok(fd, 5 * NB_PAGE, 0, 0);	/* nobody's own */
		unl = nl_open_ok();
		NB_CHECK(!numabuf_nl_node_get(unl, 0, &ns), "node-get");
		ret = numabuf_nl_limit_get(unl, &lim);
		NB_CHECK(ret == -EPERM, "limit-get: %s", strerror(-ret));
		ret = numabuf_nl_pool_set(unl, 0, &v, NULL);
		NB_CHECK(ret == -EPERM, "pool-set: %s", strerror(-ret));
		ret = numabuf_nl_limit_set(unl, &v, NULL);
		NB_CHECK(ret == -EPERM, "limit-set: %s", strerror(-ret));
		ret = numabuf_nl_bufs(unl, NULL, list_own, &o);
		NB_CHECK(!ret, "buf-get: %s", strerror(-ret));
		NB_CHECK(o.n == 1 && !o.not_mine && !o.with_phys &&
			 o.size == 5 * NB_PAGE,
			 "nobody sees %u buffers, %u not its own, %u with phys",
			 o.n, o.not_mine, o.with_phys);
		ret = numabuf_nl_subscribe(unl);
		NB_CHECK(ret == -EPERM, "subscribe: %s", strerror(-ret));
		NB_CHECK(write(p[1], &o.id, sizeof(o.id)) == sizeof(o.id),
			 "write");
		/* Keep the buffer until root has looked at it. */
		pause();
		_exit(0);
	}
	close(p[1]);
	NB_CHECK(read(p[0], &st.id, sizeof(st.id)) == sizeof(st.id),
		 "the child failed");
	ret = numabuf_nl_bufs(nl, NULL, find_id, &st);
	NB_CHECK(!ret && st.size == 5 * NB_PAGE && st.uid == NB_NOBODY &&
		 st.phys && st.pid == (uint32_t)pid,
		 "root's view of nobody's buffer %u: size %llu uid %u pid %u phys %#llx",
		 st.id, (unsigned long long)st.size, st.uid, st.pid,
		 (unsigned long long)st.phys);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd);
	numabuf_nl_close(nl);
}

/* ---- events -------------------------------------------------------------- */

#define MAX_EVENTS	32

struct ev_log {
	struct numabuf_event ev[MAX_EVENTS];
	int n;
};

static int log_event(const struct numabuf_event *ev, void *arg)
{
	struct ev_log *l = arg;

	if (l->n < MAX_EVENTS)
		l->ev[l->n] = *ev;
	l->n++;
	return 0;
}

/* Read events until @want have come or 5 s pass with none. */
static void wait_events(struct numabuf_nl *ev, struct ev_log *l, int want)
{
	struct pollfd pfd = { .fd = numabuf_nl_fd(ev), .events = POLLIN };
	int ret;

	while (l->n < want) {
		ret = poll(&pfd, 1, 5000 * nb_slow());
		NB_CHECK(ret > 0, "%d of %d events came", l->n, want);
		ret = numabuf_nl_events(ev, 1, log_event, l);
		NB_CHECK(ret >= 0 || ret == -EAGAIN, "numabuf_nl_events: %s",
			 strerror(-ret));
	}
}

static const char *ev_name(uint32_t t)
{
	switch (t) {
	case NUMABUF_EVENT_BUF_CREATED: return "created";
	case NUMABUF_EVENT_BUF_FREED: return "freed";
	case NUMABUF_EVENT_ALLOC_FAILED: return "alloc-failed";
	case NUMABUF_EVENT_POOL_LOW: return "pool-low";
	}
	return "?";
}

static void expect_event(const struct ev_log *l, int i, uint32_t type,
			 uint32_t id, uint64_t size, int node)
{
	const struct numabuf_event *e = &l->ev[i];

	NB_CHECK(e->type == type && (!id || e->buf.id == id) &&
		 e->buf.size == size && e->buf.node == node,
		 "event %d: %s id %u size %llu node %d; expected %s %u %llu %d",
		 i, ev_name(e->type), e->buf.id,
		 (unsigned long long)e->buf.size, e->buf.node, ev_name(type),
		 id, (unsigned long long)size, node);
}

NB_TEST(nl_events_in_order,
	"subscribed to events: alloc A, alloc B on the other node, free A, a strict allocation larger than the node, close (frees B) give created A, created B, freed A, alloc-failed (ENOMEM, size and node asked), freed B, in that order, with pid, uid and comm")
{
	struct numabuf_nl *ev = nl_open_ok(), *nl = nl_open_ok();
	int nodes[NB_MAX_NODES], n, fd = nb_open(), ret;
	struct numabuf_nodestat st;
	struct numabuf_alloc a;
	struct ev_log l = { .n = 0 };
	uint64_t huge;
	char comm[32] = "";
	FILE *f;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	ret = numabuf_nl_subscribe(ev);
	NB_CHECK(!ret, "subscribe: %s", strerror(-ret));
	NB_CHECK(!numabuf_nl_node_get(nl, nodes[0], &st), "node-get");
	huge = (st.mem_total * 2 + NB_PAGE - 1) & ~(NB_PAGE - 1);

	a = nb_alloc_ok(fd, 64 * 1024, nodes[0], 0);
	nb_alloc_ok(fd, 6 * MIB, nodes[n - 1], NUMABUF_F_NO_POOL);
	NB_CHECK(!nb_free(fd, a.handle), "free A");
	ret = nb_alloc(fd, huge, nodes[0], 0, NULL);
	NB_CHECK(ret == -ENOMEM, "allocating %llu: %s",
		 (unsigned long long)huge, strerror(-ret));
	close(fd);

	wait_events(ev, &l, 5);
	expect_event(&l, 0, NUMABUF_EVENT_BUF_CREATED, 0, 64 * 1024, nodes[0]);
	expect_event(&l, 1, NUMABUF_EVENT_BUF_CREATED, 0, 6 * MIB,
		     nodes[n - 1]);
	expect_event(&l, 2, NUMABUF_EVENT_BUF_FREED, l.ev[0].buf.id,
		     64 * 1024, nodes[0]);
	expect_event(&l, 3, NUMABUF_EVENT_ALLOC_FAILED, 0, huge, nodes[0]);
	expect_event(&l, 4, NUMABUF_EVENT_BUF_FREED, l.ev[1].buf.id, 6 * MIB,
		     nodes[n - 1]);
	NB_CHECK(l.ev[0].buf.id && l.ev[0].buf.id != l.ev[1].buf.id,
		 "ids %u and %u", l.ev[0].buf.id, l.ev[1].buf.id);
	NB_CHECK(l.ev[3].buf.error == ENOMEM, "alloc-failed error %u",
		 l.ev[3].buf.error);

	f = fopen("/proc/self/comm", "r");
	NB_CHECK(f && fgets(comm, sizeof(comm), f), "comm");
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	NB_CHECK(l.ev[0].buf.pid == (uint32_t)getpid() && l.ev[0].buf.uid == 0 &&
		 !strcmp(l.ev[0].buf.comm, comm) &&
		 l.ev[3].buf.pid == (uint32_t)getpid() &&
		 !strcmp(l.ev[3].buf.comm, comm),
		 "created: pid %u uid %u comm '%s'; failed: pid %u comm '%s'",
		 l.ev[0].buf.pid, l.ev[0].buf.uid, l.ev[0].buf.comm,
		 l.ev[3].buf.pid, l.ev[3].buf.comm);
	/* Nothing more. */
	ret = numabuf_nl_events(ev, 1, log_event, &l);
	NB_CHECK(ret == -EAGAIN && l.n == 5, "%d events, expected 5", l.n);
	numabuf_nl_close(ev);
	numabuf_nl_close(nl);
}

NB_TEST(nl_released_listed,
	"a 64 KiB buffer whose pages a pipe holds (vmsplice) after munmap and FREE: buf-get still lists it, flagged released with map-count 0, node-get still counts it, and no buf-freed event comes; once the pipe is read and closed the buf-freed event comes, buf-get no longer lists it and node-get's counters drop")
{
	struct numabuf_nl *ev = nl_open_ok(), *nl = nl_open_ok();
	struct numabuf_nodestat n0, n1;
	struct numabuf_bufstat st;
	struct numabuf_alloc a;
	struct ev_log l = { .n = 0 };
	int fd = nb_open(), pfd[2], ret;
	char *p, sink[4096];
	ssize_t got, left;

	NB_CHECK(!numabuf_nl_subscribe(ev), "subscribe");
	a = nb_alloc_ok(fd, 64 * 1024, NUMABUF_NODE_LOCAL, 0);
	NB_CHECK(!numabuf_nl_node_get(nl, a.node, &n0), "node-get");
	p = nb_map(fd, a.offset, 64 * 1024);
	memset(p, 0x3c, 64 * 1024);
	pfd[0] = nb_pipe_hold(p, 64 * 1024, &pfd[1]);
	NB_SYS(munmap(p, 64 * 1024));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	wait_events(ev, &l, 1);
	expect_event(&l, 0, NUMABUF_EVENT_BUF_CREATED, 0, 64 * 1024, a.node);

	memset(&st, 0, sizeof(st));
	st.id = l.ev[0].buf.id;
	ret = numabuf_nl_bufs(nl, NULL, find_id, &st);
	NB_CHECK(!ret, "buf-get: %s", strerror(-ret));
	NB_CHECK(st.size == 64 * 1024 && st.released && !st.map_count,
		 "buf-get after FREE with the pages in a pipe: size %llu released %u map-count %u",
		 (unsigned long long)st.size, st.released, st.map_count);
	NB_CHECK(!numabuf_nl_node_get(nl, a.node, &n1), "node-get");
	NB_CHECK(n1.buffers == n0.buffers && n1.bytes == n0.bytes,
		 "node-get: %llu buffers %llu bytes, expected %llu and %llu",
		 (unsigned long long)n1.buffers, (unsigned long long)n1.bytes,
		 (unsigned long long)n0.buffers, (unsigned long long)n0.bytes);
	usleep(500000);
	ret = numabuf_nl_events(ev, 1, log_event, &l);
	NB_CHECK(ret == -EAGAIN && l.n == 1, "%d events while the pipe holds the pages",
		 l.n);

	for (left = 64 * 1024; left > 0; left -= got) {
		got = read(pfd[0], sink, sizeof(sink));
		NB_CHECK(got > 0, "read from the pipe: %s",
			 got ? strerror(errno) : "EOF");
		NB_CHECK(sink[0] == 0x3c, "the pipe holds other bytes");
	}
	close(pfd[0]);
	close(pfd[1]);
	wait_events(ev, &l, 2);
	expect_event(&l, 1, NUMABUF_EVENT_BUF_FREED, st.id, 64 * 1024, a.node);
	memset(&st, 0, sizeof(st));
	st.id = l.ev[0].buf.id;
	NB_CHECK(!numabuf_nl_bufs(nl, NULL, find_id, &st), "buf-get");
	NB_CHECK(!st.size, "buf-get still lists the buffer after buf-freed");
	NB_CHECK(!numabuf_nl_node_get(nl, a.node, &n1), "node-get");
	NB_CHECK(n1.buffers == n0.buffers - 1 && n1.bytes == n0.bytes - 64 * 1024,
		 "node-get after buf-freed: %llu buffers %llu bytes",
		 (unsigned long long)n1.buffers, (unsigned long long)n1.bytes);
	close(fd);
	numabuf_nl_close(ev);
	numabuf_nl_close(nl);
}

static void pool_get(int fd, int node, struct numabuf_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->node = node;
	NB_SYS(ioctl(fd, NUMABUF_IOC_POOL_GET, p));
}

NB_TEST(nl_pool_low_event,
	"pool-set of 8 MiB with a 6 MiB low watermark (seen by POOL_GET and node-get): taking 4 MiB sends pool-low once, a further 2 MiB sends nothing, and after the memory is back above the mark taking 4 MiB sends it again")
{
	struct numabuf_nl *ev = nl_open_ok(), *nl = nl_open_ok();
	uint64_t target = 8 * MIB, low = 6 * MIB, zero = 0, old;
	struct numabuf_alloc a, b;
	struct ev_log l = { .n = 0 };
	struct numabuf_nodestat st;
	struct numabuf_pool p;
	int fd = nb_open(), node, ret, i;

	node = nb_mem_nodes((int[NB_MAX_NODES]){ 0 }, NB_MAX_NODES) > 1 ? 1 : 0;
	pool_get(fd, node, &p);
	old = p.target;
	if (old)
		nb_skip("node %d already has a pool (%llu bytes)", node,
			(unsigned long long)old);
	ret = numabuf_nl_pool_set(nl, node, &target, &low);
	NB_CHECK(!ret, "pool-set: %s (%s)", strerror(-ret),
		 numabuf_nl_errmsg(nl));
	pool_get(fd, node, &p);
	NB_CHECK(p.target == target && p.free_bytes == target,
		 "POOL_GET: target %llu free %llu",
		 (unsigned long long)p.target,
		 (unsigned long long)p.free_bytes);
	NB_CHECK(!numabuf_nl_node_get(nl, node, &st) && st.pool_low == low &&
		 st.pool_target == target, "node-get: low %llu target %llu",
		 (unsigned long long)st.pool_low,
		 (unsigned long long)st.pool_target);
	NB_CHECK(!numabuf_nl_subscribe(ev), "subscribe");

	/* The pool falls low while the buffer is made: before "created". */
	a = nb_alloc_ok(fd, 4 * MIB, node, NUMABUF_F_POOL);
	wait_events(ev, &l, 2);
	NB_CHECK(l.ev[0].type == NUMABUF_EVENT_POOL_LOW &&
		 l.ev[0].node.node == node && l.ev[0].node.pool_low == low &&
		 l.ev[0].node.pool_free == 4 * MIB &&
		 l.ev[0].node.pool_size == target &&
		 l.ev[1].type == NUMABUF_EVENT_BUF_CREATED,
		 "first events: %s node %d free %llu low %llu, then %s",
		 ev_name(l.ev[0].type), l.ev[0].node.node,
		 (unsigned long long)l.ev[0].node.pool_free,
		 (unsigned long long)l.ev[0].node.pool_low,
		 ev_name(l.ev[1].type));
	b = nb_alloc_ok(fd, 2 * MIB, node, NUMABUF_F_POOL);
	wait_events(ev, &l, 3);
	NB_CHECK(l.ev[2].type == NUMABUF_EVENT_BUF_CREATED,
		 "after the second allocation: %s", ev_name(l.ev[2].type));
	NB_CHECK(!nb_free(fd, a.handle) && !nb_free(fd, b.handle), "free");
	wait_events(ev, &l, 5);
	/* The pool zeroes freed memory in the background. */
	for (i = 0; i < 100; i++) {
		pool_get(fd, node, &p);
		if (p.largest_free >= 4 * MIB)
			break;
		usleep(50000);
	}
	a = nb_alloc_ok(fd, 4 * MIB, node, NUMABUF_F_POOL);
	wait_events(ev, &l, 7);
	NB_CHECK(l.ev[5].type == NUMABUF_EVENT_POOL_LOW &&
		 l.ev[6].type == NUMABUF_EVENT_BUF_CREATED,
		 "after refilling: %s, %s", ev_name(l.ev[5].type),
		 ev_name(l.ev[6].type));
	close(fd);

	NB_CHECK(!numabuf_nl_pool_set(nl, node, &old, &zero), "restore");
	numabuf_nl_close(ev);
	numabuf_nl_close(nl);
}

/* ---- caps ---------------------------------------------------------------- */

NB_TEST(nl_limit_takes_effect,
	"limit-set max-bytes to 8 MiB above what is held: the module parameter shows it, limit-get shows it and what is held, 16 MiB more gives EDQUOT and 4 MiB works; then restored")
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_limits lim, now;
	int fd = nb_open(), ret;
	uint64_t cap;

	NB_CHECK(!numabuf_nl_limit_get(nl, &lim), "limit-get");
	NB_CHECK(nb_param("max_bytes") == lim.max_bytes &&
		 nb_param("max_user_bytes") == lim.max_user_bytes,
		 "limit-get differs from the module parameters");
	nb_alloc_ok(fd, 2 * MIB, 0, 0);
	cap = lim.total_bytes + 2 * MIB + 8 * MIB;
	NB_CHECK(!numabuf_nl_limit_set(nl, &cap, NULL), "limit-set");
	NB_CHECK(nb_param("max_bytes") == cap, "max_bytes is %llu",
		 nb_param("max_bytes"));
	NB_CHECK(!numabuf_nl_limit_get(nl, &now) && now.max_bytes == cap &&
		 now.total_bytes == lim.total_bytes + 2 * MIB,
		 "limit-get: max %llu total %llu", (unsigned long long)now.max_bytes,
		 (unsigned long long)now.total_bytes);
	ret = nb_alloc(fd, 16 * MIB, 0, 0, NULL);
	NB_CHECK(ret == -EDQUOT, "16 MiB over the cap: %s", strerror(-ret));
	nb_alloc_ok(fd, 4 * MIB, 0, 0);
	NB_CHECK(!numabuf_nl_limit_set(nl, &lim.max_bytes, &lim.max_user_bytes),
		 "restore");
	NB_CHECK(nb_param("max_bytes") == lim.max_bytes, "not restored");
	close(fd);
	numabuf_nl_close(nl);
}

/* ---- issue 11: who may lift the caps -------------------------------------- */

/*
 * Become nobody with exactly the capabilities in @caps (a mask of CAP_*
 * bits below 32), effective, permitted and inheritable.
 */
static void become_nobody_with(uint32_t caps)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	NB_SYS(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	nb_drop_privileges();
	d[0].effective = d[0].permitted = d[0].inheritable = caps;
	NB_SYS(syscall(SYS_capset, &h, d));
	NB_CHECK(nb_proc_status("CapEff", 16) == caps &&
		 nb_proc_status("CapPrm", 16) == caps,
		 "CapEff %#llx CapPrm %#llx, expected %#x",
		 nb_proc_status("CapEff", 16), nb_proc_status("CapPrm", 16),
		 caps);
}

NB_TEST(nl_limit_set_needs_sys_admin,
	"nobody with only CAP_NET_ADMIN: limit-set (either cap) and pool-set give EPERM with \"setting a limit/pool needs CAP_SYS_ADMIN\" and change no module parameter, limit-get works; with CAP_SYS_ADMIN as well, limit-set works")
{
	unsigned long long max0 = nb_param("max_bytes");
	unsigned long long umax0 = nb_param("max_user_bytes");
	unsigned long long max, umax;
	int status;
	pid_t pid;

	pid = NB_SYS(fork());
	if (!pid) {
		uint64_t more = max0 + 4 * MIB, umore = umax0 + 4 * MIB;
		uint64_t zero = 0;
		struct numabuf_limits lim;
		struct numabuf_nl *nl;
		const char *m;
		int ret;

		become_nobody_with(1U << CAP_NET_ADMIN);
		nl = nl_open_ok();
		ret = numabuf_nl_limit_set(nl, &more, NULL);
		m = numabuf_nl_errmsg(nl);
		NB_CHECK(ret == -EPERM &&
			 !strcmp(m, "setting a limit needs CAP_SYS_ADMIN"),
			 "limit-set max-bytes: %s, '%s'", strerror(-ret), m);
		ret = numabuf_nl_limit_set(nl, NULL, &umore);
		m = numabuf_nl_errmsg(nl);
		NB_CHECK(ret == -EPERM &&
			 !strcmp(m, "setting a limit needs CAP_SYS_ADMIN"),
			 "limit-set max-user-bytes: %s, '%s'", strerror(-ret),
			 m);
		ret = numabuf_nl_pool_set(nl, 0, NULL, &zero);
		m = numabuf_nl_errmsg(nl);
		NB_CHECK(ret == -EPERM &&
			 !strcmp(m, "setting a pool needs CAP_SYS_ADMIN"),
			 "pool-set: %s, '%s'", strerror(-ret), m);
		ret = numabuf_nl_limit_get(nl, &lim);
		NB_CHECK(!ret && lim.max_bytes == max0 &&
			 lim.max_user_bytes == umax0,
			 "limit-get with CAP_NET_ADMIN: %s", strerror(-ret));
		numabuf_nl_close(nl);
		_exit(0);
	}
	NB_SYS(waitpid(pid, &status, 0));
	max = nb_param("max_bytes");
	umax = nb_param("max_user_bytes");
	/* Put them back before anything else: later tests need them. */
	if (max != max0)
		nb_param_set("max_bytes", max0);
	if (umax != umax0)
		nb_param_set("max_user_bytes", umax0);
	NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		 "nobody with CAP_NET_ADMIN (see above; caps %llu %llu, were %llu %llu, put back)",
		 max, umax, max0, umax0);
	NB_CHECK(max == max0 && umax == umax0,
		 "the caps changed: %llu %llu, were %llu %llu", max, umax, max0,
		 umax0);

	/* The same user with CAP_SYS_ADMIN too: set them to what they are. */
	pid = NB_SYS(fork());
	if (!pid) {
		uint64_t same = max0, usame = umax0;
		struct numabuf_nl *nl;
		int ret;

		become_nobody_with(1U << CAP_NET_ADMIN | 1U << CAP_SYS_ADMIN);
		nl = nl_open_ok();
		ret = numabuf_nl_limit_set(nl, &same, &usame);
		NB_CHECK(!ret, "limit-set with CAP_SYS_ADMIN: %s ('%s')",
			 strerror(-ret), numabuf_nl_errmsg(nl));
		numabuf_nl_close(nl);
		_exit(0);
	}
	NB_WAIT_OK(pid);
}

/* ---- issue 11: alloc-failed events are rate-limited per user -------------- */

#define STORM_FAILS	30000
#define STORM_GID	4711
/* What docs/netlink/README.md promises: 10 a second per user, and a flush. */
#define STORM_PER_SEC	10

struct storm {
	pid_t pid;
	unsigned int events, others;
	unsigned long long suppressed;
	unsigned int bad;
	char why[160];
};

static int storm_event(const struct numabuf_event *ev, void *arg)
{
	struct storm *s = arg;

	if (ev->type != NUMABUF_EVENT_ALLOC_FAILED ||
	    ev->buf.uid != NB_NOBODY) {
		s->others++;
		return 0;
	}
	if (ev->buf.pid != (uint32_t)s->pid || ev->buf.error != ENOMEM ||
	    ev->buf.size != 16 * MIB) {
		if (!s->bad++)
			snprintf(s->why, sizeof(s->why),
				 "pid %u error %u size %llu suppressed %u",
				 ev->buf.pid, ev->buf.error,
				 (unsigned long long)ev->buf.size,
				 ev->buf.suppressed);
	}
	s->events++;
	s->suppressed += ev->buf.suppressed;
	return 0;
}

/*
 * The storm: as nobody in group STORM_GID, with memlock 8 MiB, open the
 * device by its group permission and make @n 16 MiB ALLOCs (ENOMEM each).
 * Tells @ready once the device is open.
 */
static void storm_child(int ready, unsigned int n)
{
	struct rlimit rl = { 8 * MIB, 8 * MIB };
	gid_t g = STORM_GID;
	unsigned int i;
	int fd, ret;

	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	NB_SYS(setgroups(1, &g));
	NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
	NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
	NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
	fd = open("/dev/numabuf", O_RDWR | O_CLOEXEC);
	NB_CHECK(fd >= 0, "open as a member of group %d: %s", STORM_GID,
		 strerror(errno));
	NB_CHECK(write(ready, "x", 1) == 1, "write");
	for (i = 0; i < n; i++) {
		ret = nb_alloc(fd, 16 * MIB, NUMABUF_NODE_LOCAL, 0, NULL);
		NB_CHECK(ret == -ENOMEM, "ALLOC %u of 16 MiB at memlock 8 MiB: %s",
			 i, strerror(-ret));
	}
	_exit(0);
}

NB_TEST_TIMEOUT(nl_alloc_failed_storm,
		"as nobody in the device's group (mode 0660) with memlock 8 MiB, 30,000 failing ALLOCs (ENOMEM) while root listens: no ENOBUFS, at most 10 alloc-failed events a second plus one flush a second, each with nobody's pid, ENOMEM and the size asked; events plus their suppressed counts are exactly 30,000 once flushed",
		900)
{
	struct numabuf_nl *ev = nl_open_ok();
	struct pollfd pfd = { .fd = numabuf_nl_fd(ev), .events = POLLIN };
	struct storm s = { 0 };
	unsigned long long bound;
	int p[2], ret, status, enobufs = 0;
	double t0, t1 = 0, last;
	struct stat st0;
	char c;

	NB_SYS(stat("/dev/numabuf", &st0));
	ret = numabuf_nl_subscribe(ev);
	NB_CHECK(!ret, "subscribe: %s", strerror(-ret));
	/* What the udev rule does for a group (and only for the open). */
	NB_SYS(chown("/dev/numabuf", -1, STORM_GID));
	NB_SYS(chmod("/dev/numabuf", 0660));
	NB_SYS(pipe(p));
	t0 = nb_now();
	s.pid = NB_SYS(fork());
	if (!s.pid) {
		close(p[0]);
		storm_child(p[1], STORM_FAILS);
	}
	close(p[1]);
	ret = read(p[0], &c, 1);
	NB_SYS(chown("/dev/numabuf", -1, st0.st_gid));
	NB_SYS(chmod("/dev/numabuf", st0.st_mode & 07777));
	close(p[0]);
	NB_CHECK(ret == 1, "the storm never opened the device");

	/* Read all along; after the storm, until the counts add up. */
	last = nb_now();
	for (;;) {
		if (!t1 && waitpid(s.pid, &status, WNOHANG) == s.pid) {
			t1 = nb_now();
			NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
				 "the storm failed (status %#x)", status);
		}
		if (t1 && s.events + s.suppressed >= STORM_FAILS)
			break;
		if (t1 && nb_now() - last > 5.0 * nb_slow())
			NB_FAIL("%u events + %llu suppressed after the storm, expected %u",
				s.events, s.suppressed, STORM_FAILS);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ret = numabuf_nl_events(ev, 1, storm_event, &s);
		if (ret == -ENOBUFS)
			enobufs++;
		else
			NB_CHECK(ret >= 0 || ret == -EAGAIN,
				 "numabuf_nl_events: %s", strerror(-ret));
		if (ret > 0)
			last = nb_now();
	}
	/* Anything more would be counted twice. */
	usleep(1500000);
	while ((ret = numabuf_nl_events(ev, 1, storm_event, &s)) > 0)
		;
	nb_note("%u failures in %.2f s: %u alloc-failed events, %llu suppressed, %u other events",
		STORM_FAILS, t1 - t0, s.events, s.suppressed, s.others);
	NB_CHECK(!enobufs, "the listener's socket overflowed %d times", enobufs);
	NB_CHECK(!s.bad, "%u events not nobody's failure: %s", s.bad, s.why);
	NB_CHECK(s.events + s.suppressed == STORM_FAILS,
		 "%u events + %llu suppressed, expected %u", s.events,
		 s.suppressed, STORM_FAILS);
	/* Windows of a second each, plus one flush a second. */
	bound = (unsigned long long)(STORM_PER_SEC + 1) *
		((unsigned long long)(t1 - t0) + 3);
	NB_CHECK(s.events <= bound,
		 "%u alloc-failed events in %.2f s, more than %llu", s.events,
		 t1 - t0, bound);
	numabuf_nl_close(ev);
}

/* ---- issue 11: buf-get does bounded work under the lock -------------------- */

#define WALK_BUFS	20000
#define WALK_DUMPS	50

/* nobody's buffers in a dump: how many, the lowest and highest id. */
struct walk_own {
	unsigned int n, not_mine, with_phys;
	uint32_t lo, hi;
};

static int walk_own(const struct numabuf_bufstat *st, void *arg)
{
	struct walk_own *o = arg;

	if (!o->n++)
		o->lo = st->id;
	o->hi = st->id;
	if (st->uid != NB_NOBODY || st->size != NB_PAGE)
		o->not_mine++;
	if (st->phys)
		o->with_phys++;
	return 0;
}

/*
 * nobody makes a buffer (told on @out), waits for root's 20,000 (@in),
 * makes another: the lowest and the highest id.  Then its dumps must
 * list exactly those two every time.
 */
static void walk_dumper(int fd, int in, int out)
{
	struct numabuf_alloc a, b;
	struct walk_own o, first = { 0 };
	struct numabuf_nl *nl;
	unsigned int i;
	int ret;
	char c = 'a';

	nb_drop_privileges();
	a = nb_alloc_ok(fd, NB_PAGE, 0, 0);
	NB_CHECK(write(out, &c, 1) == 1 && read(in, &c, 1) == 1, "pipe");
	b = nb_alloc_ok(fd, NB_PAGE, 0, 0);
	nl = nl_open_ok();
	for (i = 0; i < WALK_DUMPS; i++) {
		memset(&o, 0, sizeof(o));
		ret = numabuf_nl_bufs(nl, NULL, walk_own, &o);
		NB_CHECK(!ret, "dump %u as nobody: %s (%s)", i, strerror(-ret),
			 numabuf_nl_errmsg(nl));
		NB_CHECK(o.n == 2 && !o.not_mine && !o.with_phys,
			 "dump %u as nobody: %u buffers, %u not its own 4 KiB ones, %u with phys",
			 i, o.n, o.not_mine, o.with_phys);
		if (!i)
			first = o;
		NB_CHECK(o.lo == first.lo && o.hi == first.hi &&
			 o.hi - o.lo >= WALK_BUFS,
			 "dump %u as nobody: ids %u and %u (first dump: %u and %u)",
			 i, o.lo, o.hi, first.lo, first.hi);
	}
	NB_CHECK(!nb_free(fd, a.handle) && !nb_free(fd, b.handle), "FREE");
	numabuf_nl_close(nl);
	NB_CHECK(write(out, &i, sizeof(i)) == sizeof(i), "write");
	_exit(0);
}

/* ALLOC + FREE of 4 KiB: the worst and the mean time, in ms. */
struct walk_lat {
	unsigned int n;
	double max, sum;
};

static void walk_cycle(int fd, int node, struct walk_lat *l)
{
	struct numabuf_alloc a;
	double t = nb_now();

	a = nb_alloc_ok(fd, NB_PAGE, node, 0);
	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	t = (nb_now() - t) * 1000;
	l->n++;
	l->sum += t;
	if (t > l->max)
		l->max = t;
}

NB_TEST_TIMEOUT(nl_dump_20000_bounded,
		"20,000 buffers of root between two of nobody's (the lowest and the highest id): nobody, who may see only its own, loops 50 dumps and gets exactly those two each time, without phys, while root ALLOCs and FREEs 4 KiB (the latency is noted, not judged); root's dumps (by pid and unfiltered) list each of its 20,000 exactly once",
		900)
{
	struct numabuf_nl *nl = nl_open_ok();
	struct numabuf_buf_filter f = { 0 };
	struct dump_seen d = { .pid = getpid() };
	struct walk_lat idle = { 0 }, busy = { 0 };
	int nodes[NB_MAX_NODES], fd = nb_open(), fd2 = nb_open(), p[2], q[2];
	unsigned int dumps = 0;
	char c = 'r';
	struct numabuf_alloc a;
	int i, ret, round;
	double t;
	pid_t pid;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	NB_SYS(pipe(p));
	NB_SYS(pipe(q));
	pid = NB_SYS(fork());
	if (!pid) {
		close(p[0]);
		close(q[1]);
		walk_dumper(fd, q[0], p[1]);
	}
	close(p[1]);
	close(q[0]);
	NB_CHECK(read(p[0], &c, 1) == 1, "nobody's first buffer failed");
	t = nb_now();
	for (i = 0; i < WALK_BUFS; i++) {
		ret = nb_alloc(fd, NB_PAGE, nodes[0], 0, &a);
		NB_CHECK(!ret, "buffer %d: %s", i, strerror(-ret));
	}
	nb_note("%d buffers made in %.1f s", WALK_BUFS, nb_now() - t);
	for (i = 0; i < 200; i++)
		walk_cycle(fd2, nodes[0], &idle);
	NB_CHECK(write(q[1], &c, 1) == 1, "write");
	close(q[1]);
	t = nb_now();
	while (waitpid(pid, NULL, WNOHANG) != pid) {
		walk_cycle(fd2, nodes[0], &busy);
		NB_CHECK(nb_now() - t < 600.0 * nb_slow(),
			 "nobody's dumps still running after 600 s");
	}
	ret = read(p[0], &dumps, sizeof(dumps));
	close(p[0]);
	NB_CHECK(ret == sizeof(dumps) && dumps == WALK_DUMPS,
		 "nobody's dumps failed (see above)");
	nb_note("%u dumps of %d buffers by nobody in %.2f s; ALLOC+FREE of 4 KiB: max %.2f ms, mean %.3f ms over %u during them; max %.2f ms, mean %.3f ms over %u before",
		dumps, WALK_BUFS + 1, nb_now() - t, busy.max,
		busy.n ? busy.sum / busy.n : 0.0, busy.n, idle.max,
		idle.sum / idle.n, idle.n);

	d.max_id = 1U << 26;
	d.seen = calloc(d.max_id + 1, 1);
	NB_CHECK(d.seen, "calloc");
	for (round = 0; round < 2; round++) {
		memset(d.seen, 0, d.max_id + 1);
		d.mine = d.dups = d.others = 0;
		f.pid = round ? 0 : (uint32_t)getpid();
		f.match = f.pid ? NUMABUF_MATCH_PID : 0;
		ret = numabuf_nl_bufs(nl, &f, count_buf, &d);
		NB_CHECK(!ret, "root's dump: %s (%s)", strerror(-ret),
			 numabuf_nl_errmsg(nl));
		NB_CHECK(d.mine == WALK_BUFS && !d.dups,
			 "root's dump (%s): %u of %d listed, %u twice",
			 f.pid ? "by pid" : "all", d.mine, WALK_BUFS, d.dups);
	}
	free(d.seen);
	close(fd2);
	close(fd);
	numabuf_nl_close(nl);
}
