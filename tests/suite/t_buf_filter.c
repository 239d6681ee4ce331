// SPDX-License-Identifier: GPL-2.0
/*
 * numabuf_nl_bufs()'s filter (issue 14), through the shared library
 * libnumabuf.so.0 as installed programs use it (linked with an rpath to
 * lib/, not the archive): a zero filter lists every buffer, each
 * NUMABUF_MATCH_* bit filters on its field alone, bad filters are refused
 * with EINVAL; and a program linked against the earlier symbol
 * (numabuf_nl_bufs@NUMABUF_0.3, referenced here with .symver) still gets
 * the earlier meaning, where a zero filter means node 0 and uid 0.
 *
 * Four buffers of known sizes are made with the raw ioctls: root's on the
 * first and the last node with memory, and nobody's (a child that dropped
 * root) on the same two; which of them each filter lists is checked
 * against what the ioctls made, by pid, uid, node and size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numabuf.h>

#include "harness.h"
#include "nbutil.h"

/* The filter before NUMABUF_MATCH_*, as NUMABUF_0.3's numabuf.h had it. */
struct old_filter {
	int32_t node;	/* -1: any */
	uint32_t pid;	/* 0: any */
	int64_t uid;	/* -1: any */
};

int old_nl_bufs(struct numabuf_nl *nl, const struct old_filter *filter,
		int (*cb)(const struct numabuf_bufstat *st, void *arg),
		void *arg);
__asm__(".symver old_nl_bufs, numabuf_nl_bufs@NUMABUF_0.3");

/* The four buffers: bit i of a set is buffer i. */
enum { ROOT_FIRST, ROOT_LAST, NOBODY_FIRST, NOBODY_LAST, NBUFS };

static const uint64_t buf_pages[NBUFS] = { 3, 6, 5, 7 };

struct world {
	pid_t root_pid, nobody_pid;
	int node[NBUFS];
	int fd;
};

struct seen {
	const struct world *w;
	unsigned int mask;	/* which of the four were listed */
	unsigned int dups;
	unsigned int others;	/* buffers of other processes */
	/* Every listed buffer, ours or not, checked against the filter. */
	const struct numabuf_buf_filter *f;
	unsigned int mismatch;
	char why[160];
};

static int buf_index(const struct world *w, const struct numabuf_bufstat *st)
{
	int i;

	for (i = 0; i < NBUFS; i++) {
		pid_t pid = i < NOBODY_FIRST ? w->root_pid : w->nobody_pid;
		uint32_t uid = i < NOBODY_FIRST ? 0 : NB_NOBODY;

		if (st->pid == (uint32_t)pid && st->uid == uid &&
		    st->node == w->node[i] && st->size == buf_pages[i] * NB_PAGE)
			return i;
	}
	return -1;
}

static int collect(const struct numabuf_bufstat *st, void *arg)
{
	struct seen *s = arg;
	const struct numabuf_buf_filter *f = s->f;
	int i = buf_index(s->w, st);

	if (i < 0)
		s->others++;
	else if (s->mask & 1U << i)
		s->dups++;
	else
		s->mask |= 1U << i;
	if (f && (((f->match & NUMABUF_MATCH_NODE) && st->node != f->node) ||
		  ((f->match & NUMABUF_MATCH_PID) && st->pid != f->pid) ||
		  ((f->match & NUMABUF_MATCH_UID) && st->uid != f->uid)) &&
	    !s->mismatch++)
		snprintf(s->why, sizeof(s->why),
			 "buffer %u (node %d pid %u uid %u) does not match",
			 st->id, st->node, st->pid, st->uid);
	return 0;
}

/*
 * Make the four buffers: root's here, nobody's in a child that holds them
 * until killed.  Returns the child's pid.
 */
static pid_t make_world(struct world *w)
{
	int nodes[NB_MAX_NODES], n, p[2], i;
	char c;
	pid_t pid;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	for (i = 0; i < NBUFS; i++)
		w->node[i] = i % 2 ? nodes[n - 1] : nodes[0];
	w->root_pid = getpid();
	w->fd = nb_open();
	nb_alloc_ok(w->fd, buf_pages[ROOT_FIRST] * NB_PAGE, w->node[ROOT_FIRST], 0);
	nb_alloc_ok(w->fd, buf_pages[ROOT_LAST] * NB_PAGE, w->node[ROOT_LAST], 0);
	NB_SYS(pipe(p));
	pid = NB_SYS(fork());
	if (!pid) {
		close(p[0]);
		nb_drop_privileges();
		nb_alloc_ok(w->fd, buf_pages[NOBODY_FIRST] * NB_PAGE,
			    w->node[NOBODY_FIRST], 0);
		nb_alloc_ok(w->fd, buf_pages[NOBODY_LAST] * NB_PAGE,
			    w->node[NOBODY_LAST], 0);
		NB_CHECK(write(p[1], "k", 1) == 1, "write");
		pause();
		_exit(0);
	}
	close(p[1]);
	NB_CHECK(read(p[0], &c, 1) == 1, "the child failed to allocate");
	close(p[0]);
	w->nobody_pid = pid;
	nb_note("nodes %d and %d; root pid %d, nobody pid %d", w->node[0],
		w->node[1], w->root_pid, w->nobody_pid);
	return pid;
}

static void end_world(struct world *w)
{
	int status;

	kill(w->nobody_pid, SIGKILL);
	waitpid(w->nobody_pid, &status, 0);
	close(w->fd);
}

static struct numabuf_nl *nl_open_ok(void)
{
	struct numabuf_nl *nl;
	int ret = numabuf_nl_open(&nl);

	NB_CHECK(!ret, "numabuf_nl_open: %s", strerror(-ret));
	return nl;
}

/* List with @f (the library's filter) and check exactly @want was listed. */
static void expect_new(struct numabuf_nl *nl, const struct world *w,
		       const char *what, const struct numabuf_buf_filter *f,
		       unsigned int want)
{
	struct seen s = { .w = w, .f = f };
	int ret = numabuf_nl_bufs(nl, f, collect, &s);

	NB_CHECK(!ret, "%s: %s (%s)", what, strerror(-ret),
		 numabuf_nl_errmsg(nl));
	NB_CHECK(s.mask == want && !s.dups,
		 "%s: listed set %#x of ours, want %#x (%u twice)", what,
		 s.mask, want, s.dups);
	NB_CHECK(!s.mismatch, "%s: %s", what, s.why);
}

static void expect_old(struct numabuf_nl *nl, const struct world *w,
		       const char *what, const struct old_filter *f,
		       unsigned int want)
{
	struct seen s = { .w = w };
	int ret = old_nl_bufs(nl, f, collect, &s);

	NB_CHECK(!ret, "%s: %s (%s)", what, strerror(-ret),
		 numabuf_nl_errmsg(nl));
	NB_CHECK(s.mask == want && !s.dups,
		 "%s: listed set %#x of ours, want %#x (%u twice)", what,
		 s.mask, want, s.dups);
}

#define ALL	((1U << NBUFS) - 1)
#define BIT(i)	(1U << (i))

/* This binary must use libnumabuf.so, or the .symver test proves nothing. */
static void expect_shared_library(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	NB_CHECK(f, "/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/libnumabuf.so"))
			found = 1;
	fclose(f);
	NB_CHECK(found, "libnumabuf.so is not mapped: built against the archive?");
}

NB_TEST(filter_zero_lists_all,
	"a zero-initialised filter, and a NULL one, list every buffer: root's and nobody's, on the first and the last node; fields whose match bit is clear are ignored whatever they hold")
{
	struct numabuf_buf_filter zero = { 0 };
	struct numabuf_buf_filter junk = { .node = 9999, .pid = 1,
					   .uid = -7 };
	struct numabuf_nl *nl;
	struct world w;

	expect_shared_library();
	make_world(&w);
	nl = nl_open_ok();
	expect_new(nl, &w, "zero filter", &zero, ALL);
	expect_new(nl, &w, "NULL filter", NULL, ALL);
	/* match 0: node, pid and uid are not looked at. */
	expect_new(nl, &w, "match 0 with other fields set", &junk, ALL);
	numabuf_nl_close(nl);
	end_world(&w);
}

NB_TEST(filter_match_bits,
	"each NUMABUF_MATCH_* bit alone lists exactly the buffers whose field matches (node: the last node's two; pid: nobody's process's two; uid: nobody's two, or root's two), every buffer listed matches, and bits combine (node and uid: one buffer)")
{
	struct numabuf_buf_filter f;
	struct numabuf_nl *nl;
	struct world w;
	unsigned int last;

	make_world(&w);
	nl = nl_open_ok();
	/* With one node, the "last" buffers are on the first node too. */
	last = w.node[0] == w.node[1] ? ALL : BIT(ROOT_LAST) | BIT(NOBODY_LAST);

	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_NODE,
					 .node = w.node[ROOT_LAST] };
	expect_new(nl, &w, "node", &f, last);
	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_PID,
					 .pid = (uint32_t)w.nobody_pid };
	expect_new(nl, &w, "pid of nobody's process", &f,
		   BIT(NOBODY_FIRST) | BIT(NOBODY_LAST));
	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_PID,
					 .pid = (uint32_t)w.root_pid };
	expect_new(nl, &w, "pid of root's process", &f,
		   BIT(ROOT_FIRST) | BIT(ROOT_LAST));
	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_UID,
					 .uid = NB_NOBODY };
	expect_new(nl, &w, "uid nobody", &f,
		   BIT(NOBODY_FIRST) | BIT(NOBODY_LAST));
	/* uid 0 is a real filter now, not "any". */
	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_UID, .uid = 0 };
	expect_new(nl, &w, "uid 0", &f, BIT(ROOT_FIRST) | BIT(ROOT_LAST));
	f = (struct numabuf_buf_filter){
		.match = NUMABUF_MATCH_NODE | NUMABUF_MATCH_UID,
		.node = w.node[NOBODY_FIRST], .uid = NB_NOBODY };
	expect_new(nl, &w, "node and uid", &f,
		   w.node[0] == w.node[1] ?
		   BIT(NOBODY_FIRST) | BIT(NOBODY_LAST) : BIT(NOBODY_FIRST));
	f = (struct numabuf_buf_filter){ .match = NUMABUF_MATCH_ALL,
					 .node = w.node[ROOT_FIRST],
					 .pid = (uint32_t)w.nobody_pid,
					 .uid = 0 };
	expect_new(nl, &w, "all three, matching none", &f, 0);
	numabuf_nl_close(nl);
	end_world(&w);
}

NB_TEST(filter_bad_einval,
	"an unknown match bit, a non-zero reserved field, a negative node or a uid outside 0..2^32-1 (with its bit set) give EINVAL from the library, with numabuf_nl_errmsg() naming the field, and list nothing")
{
	static const struct {
		const char *what;
		struct numabuf_buf_filter f;
		const char *msg;
	} bad[] = {
		{ "bit 3", { .match = 1U << 3 }, "filter: unknown bits in match" },
		{ "bit 31", { .match = NUMABUF_MATCH_NODE | 1U << 31 },
		  "filter: unknown bits in match" },
		{ "reserved", { .reserved = 1 }, "filter: reserved is not zero" },
		{ "node -1", { .match = NUMABUF_MATCH_NODE, .node = -1 },
		  "filter: node is negative" },
		{ "uid -1", { .match = NUMABUF_MATCH_UID, .uid = -1 },
		  "filter: uid out of range" },
		{ "uid 2^32", { .match = NUMABUF_MATCH_UID, .uid = 1LL << 32 },
		  "filter: uid out of range" },
	};
	struct numabuf_nl *nl = nl_open_ok();
	struct world w = { 0 };
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = { .w = &w };

		ret = numabuf_nl_bufs(nl, &bad[i].f, collect, &s);
		NB_CHECK(ret == -EINVAL, "%s: %s, want EINVAL", bad[i].what,
			 ret ? strerror(-ret) : "success");
		NB_CHECK(!strcmp(numabuf_nl_errmsg(nl), bad[i].msg),
			 "%s: message '%s', want '%s'", bad[i].what,
			 numabuf_nl_errmsg(nl), bad[i].msg);
		NB_CHECK(!s.others && !s.mask, "%s: %u buffers listed",
			 bad[i].what, s.others);
	}
	/* The handle still works, and the message is gone. */
	ret = numabuf_nl_bufs(nl, NULL, collect, &(struct seen){ .w = &w });
	NB_CHECK(!ret && !numabuf_nl_errmsg(nl)[0], "good call after: %s '%s'",
		 strerror(-ret), numabuf_nl_errmsg(nl));
	numabuf_nl_close(nl);
}

NB_TEST(filter_old_symbol,
	"a caller of numabuf_nl_bufs@NUMABUF_0.3 (the earlier filter, no match bits) keeps the earlier meaning: a zero filter lists only root's buffer on node 0 (if 0 is the first node), -1/0/-1 lists all four, pid alone and node alone filter, and node -2 or uid -2 give EINVAL")
{
	struct old_filter f;
	struct numabuf_nl *nl;
	struct world w;
	unsigned int node0 = 0, last;
	int ret, i;

	expect_shared_library();
	make_world(&w);
	nl = nl_open_ok();
	for (i = 0; i < NBUFS; i++)
		if (w.node[i] == 0 && i < NOBODY_FIRST)
			node0 |= BIT(i);
	last = w.node[0] == w.node[1] ? ALL : BIT(ROOT_LAST) | BIT(NOBODY_LAST);

	f = (struct old_filter){ 0 };
	expect_old(nl, &w, "old zero filter (node 0, uid 0)", &f, node0);
	f = (struct old_filter){ .node = -1, .pid = 0, .uid = -1 };
	expect_old(nl, &w, "old 'any' filter", &f, ALL);
	expect_old(nl, &w, "old NULL filter", NULL, ALL);
	f = (struct old_filter){ .node = -1, .pid = (uint32_t)w.nobody_pid,
				 .uid = -1 };
	expect_old(nl, &w, "old pid filter", &f,
		   BIT(NOBODY_FIRST) | BIT(NOBODY_LAST));
	f = (struct old_filter){ .node = w.node[ROOT_LAST], .uid = -1 };
	expect_old(nl, &w, "old node filter", &f, last);
	f = (struct old_filter){ .node = -1, .uid = NB_NOBODY };
	expect_old(nl, &w, "old uid filter", &f,
		   BIT(NOBODY_FIRST) | BIT(NOBODY_LAST));

	f = (struct old_filter){ .node = -2, .uid = -1 };
	ret = old_nl_bufs(nl, &f, collect, &(struct seen){ .w = &w });
	NB_CHECK(ret == -EINVAL, "old node -2: %s", strerror(-ret));
	f = (struct old_filter){ .node = -1, .uid = -2 };
	ret = old_nl_bufs(nl, &f, collect, &(struct seen){ .w = &w });
	NB_CHECK(ret == -EINVAL, "old uid -2: %s", strerror(-ret));
	numabuf_nl_close(nl);
	end_world(&w);
}
