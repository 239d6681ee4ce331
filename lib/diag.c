// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * numabuf_diagnose(): which limit refused an allocation, and what to do
 * about it.
 *
 * The kernel answers an ALLOC with one errno for several causes (ENOMEM:
 * RLIMIT_MEMLOCK, the memory cgroup, an empty pool, a full or fragmented
 * node; EDQUOT: three caps; EPERM: three privileges).  After the fact this
 * looks at what user space can see: the process's limits and capabilities
 * (getrlimit, /proc/self/status), the pinned memory of the user's
 * processes (VmPin), the memory cgroup (cgroup v2 memory.max), the
 * module's parameters (/sys/module/numabuf/parameters, readable by all),
 * the nodes' pools and the user's own buffers (the netlink family, which
 * shows both to anyone), and the node's free memory (sysfs node meminfo,
 * /proc/buddyinfo).  It is a diagnosis, not a replay: what it reads may
 * have moved since the refusal.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"

#define MIB		(UINT64_C(1) << 20)
#define GIB		(UINT64_C(1) << 30)
#define TIB		(UINT64_C(1) << 40)
/* Above this a buffer is a range or a pool block (the buddy's largest). */
#define PAGES_MAX	(4 * MIB)
#define POOL_BUF_MAX	GIB
#define NODES_MAX	1024

/* Capabilities by number (linux/capability.h), for CapEff. */
#define CAP_IPC_LOCK	14
#define CAP_SYS_RAWIO	17
#define CAP_SYS_ADMIN	21

#define SYSFS_NODE	"/sys/devices/system/node"
#define PARAMS		"/sys/module/numabuf/parameters/"

/* "4MiB", "1.5GiB": the form numabufctl prints. */
static const char *nb_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const names[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	unsigned int u = 0;
	uint64_t unit, tenths;

	while (u + 1 < sizeof(names) / sizeof(names[0]) &&
	       bytes >> (10 * (u + 1)))
		u++;
	unit = UINT64_C(1) << (10 * u);
	if (u == 0 || !(bytes & (unit - 1))) {
		snprintf(buf, len, "%" PRIu64 "%s", bytes >> (10 * u), names[u]);
		return buf;
	}
	tenths = (bytes >> (10 * u)) * 10 +
		 ((bytes & (unit - 1)) * 10 + unit / 2) / unit;
	if (tenths >= 10240 && u + 1 < sizeof(names) / sizeof(names[0])) {
		u++;
		tenths = 10;
	}
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%s", tenths / 10,
		 tenths % 10, names[u]);
	return buf;
}

/* Three sizes may appear in one message. */
#define S(i, v)	nb_size(sz[i], sizeof(sz[i]), (v))

__attribute__((format(printf, 3, 4)))
static void say(struct numabuf_diag *d, int cause, const char *fmt, ...)
{
	va_list ap;

	d->cause = cause;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Append to the message. */
__attribute__((format(printf, 2, 3)))
static void add(struct numabuf_diag *d, const char *fmt, ...)
{
	size_t n = strlen(d->msg);
	va_list ap;

	if (n >= sizeof(d->msg) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg + n, sizeof(d->msg) - n, fmt, ap);
	va_end(ap);
}

/* A number (or Y/N) from a module parameter; -1 when unreadable. */
static int64_t param(const char *name)
{
	char path[128], text[64];
	unsigned long long v;
	FILE *f;
	int64_t ret = -1;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(text, sizeof(text), f)) {
		if (text[0] == 'Y')
			ret = 1;
		else if (text[0] == 'N')
			ret = 0;
		else if (sscanf(text, "%llu", &v) == 1 && v <= INT64_MAX)
			ret = (int64_t)v;
	}
	fclose(f);
	return ret;
}

/* Whether the calling process has capability @cap in its effective set. */
static int capable(int cap)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

/*
 * Pinned memory of the processes of real uid @uid that we can see (VmPin,
 * kB), in bytes: what numabuf, io_uring and RDMA charged to them, which
 * the kernel checks against RLIMIT_MEMLOCK for the user as a whole.
 */
static uint64_t user_pinned(uid_t uid)
{
	char path[300], line[256];
	unsigned long long kb, total = 0;
	unsigned int ruid;
	struct dirent *de;
	DIR *dir = opendir("/proc");
	int mine;
	FILE *f;

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		mine = 0;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Uid: %u", &ruid) == 1)
				mine = ruid == uid;
			else if (mine && sscanf(line, "VmPin: %llu kB", &kb) == 1)
				total += kb << 10;
		}
		fclose(f);
	}
	closedir(dir);
	return total;
}

/* A node's MemFree from sysfs, in bytes; -1 when unknown. */
static int64_t node_free(int node)
{
	char path[128], line[256], key[64];
	unsigned long long kb;
	int64_t ret = -1;
	int id;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/meminfo", node);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %d %63[^:]: %llu kB", &id, key, &kb) == 3 &&
		    !strcmp(key, "MemFree"))
			ret = (int64_t)(kb << 10);
	fclose(f);
	return ret;
}

/*
 * From /proc/buddyinfo, for @node: the largest free block in bytes and,
 * in *dma32, the free bytes in its zones below 4 GiB (DMA, DMA32), -1
 * when it has none of those zones.
 */
static uint64_t node_largest(int node, int64_t *dma32)
{
	char line[512], zone[32];
	unsigned long long count;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), largest = 0, bytes;
	int id, n, pos, order, low;
	FILE *f = fopen("/proc/buddyinfo", "re");

	*dma32 = -1;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %31s%n", &id, zone, &pos) != 2 ||
		    id != node)
			continue;
		low = !strcmp(zone, "DMA") || !strcmp(zone, "DMA32");
		if (low && *dma32 < 0)
			*dma32 = 0;
		for (order = 0; sscanf(line + pos, "%llu%n", &count, &n) == 1;
		     order++, pos += n) {
			bytes = page << order;
			if (count && bytes > largest && strcmp(zone, "DMA"))
				largest = bytes;
			if (low)
				*dma32 += (int64_t)(count * bytes);
		}
	}
	fclose(f);
	return largest;
}

/*
 * The memory cgroup of the caller: its path, "" for the root one; *v1 set
 * when it is in cgroup v1's memory hierarchy rather than in cgroup v2.
 */
static void memcg_path(char *path, size_t len, int *v1)
{
	char line[PATH_MAX], *p;
	FILE *f = fopen("/proc/self/cgroup", "re");

	path[0] = '\0';
	*v1 = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		p = strchr(line, ':');
		if (!p)
			continue;
		if (!strncmp(p, ":memory:", 8)) {
			*v1 = 1;
			snprintf(path, len, "%s", strcmp(p + 8, "/") ? p + 8 : "");
			break;
		}
		if (!strncmp(line, "0::", 3) && strcmp(line + 3, "/"))
			snprintf(path, len, "%s", line + 3);
	}
	fclose(f);
}

enum memcg_file { MEMCG_USAGE, MEMCG_MAX, MEMCG_HIGH };

/*
 * The usage, the limit or (v2) memory.high of the memory cgroup @cg; -1
 * for no limit, or when unreadable.
 */
static int64_t memcg_value(const char *cg, int v1, enum memcg_file which)
{
	static const char *const v1_name[] = { "memory.usage_in_bytes",
					       "memory.limit_in_bytes", NULL };
	static const char *const v2_name[] = { "memory.current", "memory.max",
					       "memory.high" };
	char path[PATH_MAX + 64], text[64];
	unsigned long long v;
	int64_t ret = -1;
	FILE *f;

	if (v1 && !v1_name[which])
		return -1;
	if (v1)
		snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/%s", cg,
			 v1_name[which]);
	else
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/%s", cg,
			 v2_name[which]);
	f = fopen(path, "re");
	if (!f)
		return -1;
	/* v2 says "max"; v1 a number near 2^63 for no limit. */
	if (fgets(text, sizeof(text), f) && sscanf(text, "%llu", &v) == 1 &&
	    v < (UINT64_C(1) << 62))
		ret = (int64_t)v;
	fclose(f);
	return ret;
}

/*
 * The module refuses ranges and pool buffers to a task whose memory cgroup,
 * or one above it, has a limit (account.c): copy the first such cgroup
 * from @cg up into @at and return 1, else 0.
 */
static int memcg_limited(const char *cg, int v1, char *at, size_t len)
{
	char p[PATH_MAX], *slash;

	snprintf(p, sizeof(p), "%s", cg);
	while (p[0]) {
		if (memcg_value(p, v1, MEMCG_MAX) >= 0 ||
		    memcg_value(p, v1, MEMCG_HIGH) >= 0) {
			snprintf(at, len, "%s", p);
			return 1;
		}
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return 0;
}

/* ---- what the control plane shows any user ---- */

struct facts {
	uid_t uid;
	int have_nl;			/* the rest is known */
	uint64_t total;			/* all buffers, every node */
	uint64_t mine;			/* the caller's user's buffers */
	uint64_t mine_pool;		/* ... from pools */
	int nnodes;
	struct numabuf_nodestat nodes[NODES_MAX];
};

static int facts_node(const struct numabuf_nodestat *st, void *arg)
{
	struct facts *f = arg;

	f->total += st->bytes;
	if (f->nnodes < NODES_MAX)
		f->nodes[f->nnodes++] = *st;
	return 0;
}

static int facts_buf(const struct numabuf_bufstat *st, void *arg)
{
	struct facts *f = arg;

	if (st->uid != f->uid)
		return 0;
	f->mine += st->size;
	if (st->source == NUMABUF_SOURCE_POOL)
		f->mine_pool += st->size;
	return 0;
}

static void facts_read(struct facts *f)
{
	struct numabuf_nl *nl;

	memset(f, 0, sizeof(*f));
	f->uid = getuid();
	if (numabuf_nl_open(&nl))
		return;
	f->have_nl = !numabuf_nl_nodes(nl, facts_node, f) &&
		     !numabuf_nl_bufs(nl, NULL, facts_buf, f);
	numabuf_nl_close(nl);
}

static const struct numabuf_nodestat *facts_find(const struct facts *f,
						 int node)
{
	int i;

	for (i = 0; i < f->nnodes; i++)
		if (f->nodes[i].node == node)
			return &f->nodes[i];
	return NULL;
}

/* ---- the causes, one function per errno ---- */

static void diag_edquot(struct numabuf_diag *d, const struct facts *f,
			unsigned int flags)
{
	int64_t cap = param("max_bytes"), ucap = param("max_user_bytes");
	int64_t pcap = param("max_user_pool_bytes");
	char sz[3][24];
	const char *see = "numabufctl limit show needs CAP_NET_ADMIN; anyone "
			  "may read /sys/module/numabuf/parameters/";

	d->limit_hit = 1;
	if (cap > 0 && f->have_nl &&
	    d->size > (uint64_t)cap - ((uint64_t)cap < f->total ? (uint64_t)cap : f->total)) {
		d->limit = (uint64_t)cap;
		d->used = f->total;
		say(d, NUMABUF_CAUSE_CAP_TOTAL,
		    "over numabuf's cap on all buffers together: %s more on "
		    "top of the %s all users hold would pass max_bytes %s; "
		    "wait for buffers to be freed, or ask the administrator to "
		    "raise it (numabufctl limit set --max SIZE; %smax_bytes)",
		    S(0, d->size), S(1, f->total), S(2, d->limit), see);
		return;
	}
	if (ucap > 0 && (!f->have_nl || d->size > (uint64_t)ucap -
			 ((uint64_t)ucap < f->mine ? (uint64_t)ucap : f->mine))) {
		d->limit = (uint64_t)ucap;
		d->used = f->mine;
		say(d, NUMABUF_CAUSE_CAP_USER,
		    "over numabuf's cap on each user's buffers: %s more on top "
		    "of the %s uid %u holds would pass max_user_bytes %s; free "
		    "some of your buffers (numabufctl list), or ask the "
		    "administrator to raise it (numabufctl limit set "
		    "--max-user SIZE; %smax_user_bytes)",
		    S(0, d->size), S(1, f->mine), (unsigned int)f->uid,
		    S(2, d->limit), see);
		return;
	}
	if (pcap > 0 && (flags & NUMABUF_F_POOL)) {
		d->limit = (uint64_t)pcap;
		d->used = f->mine_pool;
		say(d, NUMABUF_CAUSE_CAP_USER_POOL,
		    "over numabuf's cap on each user's share of the pools: %s "
		    "more on top of the %s of pool memory uid %u holds would "
		    "pass max_user_pool_bytes %s; free some of your pool "
		    "buffers, leave out the pool (NUMABUF_F_POOL, --pool), or "
		    "ask the administrator to raise the module parameter "
		    "max_user_pool_bytes (/sys/module/numabuf/parameters/)",
		    S(0, d->size), S(1, f->mine_pool), (unsigned int)f->uid,
		    S(2, d->limit));
		return;
	}
	if (cap > 0) {
		d->limit = (uint64_t)cap;
		say(d, NUMABUF_CAUSE_CAP_TOTAL,
		    "over numabuf's cap on all buffers together (max_bytes "
		    "%s); ask the administrator to raise it (numabufctl limit "
		    "set --max SIZE; %smax_bytes)", S(0, d->limit), see);
		return;
	}
	d->limit_hit = 0;
	say(d, NUMABUF_CAUSE_UNKNOWN, "over a numabuf cap, but none is set "
	    "now (see /sys/module/numabuf/parameters/): try again");
}

static void diag_eperm(struct numabuf_diag *d, const struct facts *f,
		       unsigned int flags)
{
	const struct numabuf_nodestat *st = facts_find(f, d->node);
	char cg[PATH_MAX], at[PATH_MAX], sz[3][24];
	int v1;

	if ((flags & (NUMABUF_F_WC | NUMABUF_F_UC)) &&
	    !capable(CAP_SYS_RAWIO) && !capable(CAP_SYS_ADMIN)) {
		say(d, NUMABUF_CAUSE_CACHE_PRIV,
		    "write-combining and uncached buffers (NUMABUF_F_WC, "
		    "NUMABUF_F_UC; --wc, --uc) need CAP_SYS_RAWIO or "
		    "CAP_SYS_ADMIN: they change the kernel's own mapping of the "
		    "memory; run as root, or leave them out");
		return;
	}
	memcg_path(cg, sizeof(cg), &v1);
	if (cg[0] && param("cgroup_uncharged") == 0 &&
	    (d->size > PAGES_MAX || (flags & NUMABUF_F_POOL)) &&
	    memcg_limited(cg, v1, at, sizeof(at))) {
		say(d, NUMABUF_CAUSE_CGROUP,
		    "this process is in the memory cgroup %s, and %s has a "
		    "memory limit, which buffers above 4MiB and pool buffers "
		    "would escape (no memory cgroup can be charged for them); "
		    "run it in a cgroup without a limit, ask for at most 4MiB "
		    "without a pool, or ask the administrator to set the "
		    "module parameter cgroup_uncharged=1", cg, at);
		return;
	}
	if (d->size > PAGES_MAX && !capable(CAP_SYS_ADMIN) &&
	    param("range_users") != 1) {
		say(d, NUMABUF_CAUSE_RANGE_PRIV,
		    "buffers above 4 MiB outside a pool need CAP_SYS_ADMIN (or "
		    "the module parameter range_users=1); ask the admin for a "
		    "pool: numabufctl pool set NODE SIZE, then --pool");
		if (st && !st->pool_size)
			add(d, " (node %d has no pool)", d->node);
		else if (st && st->pool_largest < d->size)
			add(d, " (node %d's pool has %s free, at most %s in one "
			    "block)", d->node, S(0, st->pool_free),
			    S(1, st->pool_largest));
		else if (st && (flags & NUMABUF_F_NO_POOL))
			add(d, " (node %d's pool has room: leave out --no-pool)",
			    d->node);
		return;
	}
	say(d, NUMABUF_CAUSE_UNKNOWN, "not permitted, for no reason found "
	    "(capabilities, memory cgroup and module parameters allow it)");
}

/* The pools, for NUMABUF_F_POOL: 1 when they explain the failure. */
static int diag_pool(struct numabuf_diag *d, const struct facts *f,
		     unsigned int flags)
{
	const struct numabuf_nodestat *st = facts_find(f, d->node);
	int i, any_pool = 0;
	char sz[4][24];

	if (!f->have_nl)
		return 0;
	if (d->size > POOL_BUF_MAX) {
		d->limit = POOL_BUF_MAX;
		say(d, NUMABUF_CAUSE_POOL_SMALL, "a pool buffer is at most "
		    "1GiB; leave out the pool (NUMABUF_F_POOL, --pool)");
		return 1;
	}
	if (flags & NUMABUF_F_PREFERRED) {
		for (i = 0; i < f->nnodes; i++) {
			any_pool |= f->nodes[i].pool_size > 0;
			if (f->nodes[i].pool_largest >= d->size)
				return 0;	/* another cause */
		}
		say(d, any_pool ? NUMABUF_CAUSE_POOL_SMALL : NUMABUF_CAUSE_NO_POOL,
		    any_pool ? "no node's pool has a free block of %s (see "
		    "numabufctl pool); free pool buffers, ask the administrator "
		    "for larger pools (numabufctl pool set NODE SIZE, or pool "
		    "lines in /etc/numabuf.conf), or leave out the pool "
		    "(NUMABUF_F_POOL, --pool)" :
		    "no node has a pool (%s asked for); ask the administrator "
		    "for one (numabufctl pool set NODE SIZE, or a pool line in "
		    "/etc/numabuf.conf), or leave out the pool (NUMABUF_F_POOL, "
		    "--pool)", S(0, d->size));
		return 1;
	}
	if (!st)
		return 0;
	if (!st->pool_size) {
		say(d, NUMABUF_CAUSE_NO_POOL,
		    "node %d has no pool; ask the administrator for one "
		    "(numabufctl pool set %d SIZE, or 'pool %d SIZE' in "
		    "/etc/numabuf.conf), or leave out the pool (NUMABUF_F_POOL, "
		    "--pool)", d->node, d->node, d->node);
		return 1;
	}
	if (st->pool_largest < d->size) {
		d->limit = st->pool_largest;
		d->used = st->pool_size - st->pool_free;
		say(d, NUMABUF_CAUSE_POOL_SMALL,
		    "node %d's pool of %s has %s free, at most %s in one block: "
		    "too small for %s; free pool buffers, ask the administrator "
		    "for a larger pool (numabufctl pool set %d SIZE), or leave "
		    "out the pool (NUMABUF_F_POOL, --pool)", d->node,
		    S(0, st->pool_size), S(1, st->pool_free),
		    S(2, st->pool_largest), S(3, d->size), d->node);
		return 1;
	}
	return 0;
}

/* The node's free memory: the last explanation of an ENOMEM. */
static void diag_node(struct numabuf_diag *d, const struct facts *f,
		      unsigned int flags)
{
	int64_t avail = node_free(d->node), dma32, other;
	uint64_t largest = node_largest(d->node, &dma32);
	char sz[3][24];
	int i, alt = -1, n;

	/* Another node that has the memory, for the hint. */
	for (i = 0; i < f->nnodes; i++) {
		n = f->nodes[i].node;
		other = node_free(n);
		if (n != d->node && other >= 0 && (uint64_t)other >= d->size) {
			alt = n;
			break;
		}
	}
	if (flags & NUMABUF_F_DMA32) {
		if (dma32 < 0) {
			say(d, NUMABUF_CAUSE_NO_DMA32,
			    "node %d has no memory below 4GiB (NUMABUF_F_DMA32, "
			    "--dma32; usually only node 0 has some); use that "
			    "node, or leave out --dma32 for a device behind an "
			    "IOMMU or with 64-bit DMA", d->node);
			return;
		}
		if ((uint64_t)dma32 < d->size) {
			d->limit = (uint64_t)dma32;
			say(d, NUMABUF_CAUSE_NO_DMA32,
			    "node %d has only %s free below 4GiB "
			    "(NUMABUF_F_DMA32, --dma32; /proc/buddyinfo): ask "
			    "for less, or leave out --dma32 for a device behind "
			    "an IOMMU or with 64-bit DMA", d->node,
			    S(0, (uint64_t)dma32));
			return;
		}
	}
	if (avail >= 0 && (uint64_t)avail < d->size) {
		d->limit = (uint64_t)avail;
		if (flags & NUMABUF_F_PREFERRED)
			say(d, NUMABUF_CAUSE_NODE_MEMORY,
			    "no node has %s free (node %d has %s, MemFree in "
			    "%s/node%d/meminfo); ask for less, or free memory",
			    S(0, d->size), d->node, S(1, (uint64_t)avail),
			    SYSFS_NODE, d->node);
		else
			say(d, NUMABUF_CAUSE_NODE_MEMORY,
			    "node %d has only %s free (MemFree in "
			    "%s/node%d/meminfo), less than %s; ask for less, "
			    "free memory there, or use another node",
			    d->node, S(0, (uint64_t)avail), SYSFS_NODE, d->node,
			    S(1, d->size));
	} else if (avail < 0) {
		say(d, NUMABUF_CAUSE_UNKNOWN,
		    "no free memory for %s on node %d, whose free memory "
		    "cannot be read (%s/node%d/meminfo)", S(0, d->size),
		    d->node, SYSFS_NODE, d->node);
	} else if (d->size <= PAGES_MAX && largest >= d->size) {
		say(d, NUMABUF_CAUSE_UNKNOWN,
		    "node %d has %s free, with free blocks of %s (the largest "
		    "is %s, /proc/buddyinfo): the memory was short only for a "
		    "moment, or the zones' reserves held it back; try again, "
		    "or use a pool reserved early (numabufctl pool set, "
		    "/etc/numabuf.conf)", d->node, S(0, (uint64_t)avail),
		    S(1, d->size), S(2, largest));
	} else if (d->size <= PAGES_MAX) {
		d->limit = largest;
		say(d, NUMABUF_CAUSE_FRAGMENTED,
		    "node %d has %s free but no free block of %s in one piece "
		    "(the largest is %s, /proc/buddyinfo): its memory is "
		    "fragmented; compact it (echo 1 > "
		    "/proc/sys/vm/compact_memory) and try again, or use a pool "
		    "reserved early (numabufctl pool set, /etc/numabuf.conf)",
		    d->node, S(0, (uint64_t)avail), S(1, d->size),
		    S(2, largest));
	} else {
		say(d, NUMABUF_CAUSE_FRAGMENTED,
		    "node %d has %s free, but no run of %s that the kernel "
		    "could take in one piece (pages that cannot move, or the "
		    "zones' reserves, are in the way; range_max_tries bounds "
		    "the search): use a pool reserved early (numabufctl pool "
		    "set, /etc/numabuf.conf) or a smaller buffer",
		    d->node, S(0, (uint64_t)avail), S(1, d->size));
	}
	if (!(flags & NUMABUF_F_PREFERRED) && alt >= 0)
		add(d, "; node %d has room, and NUMABUF_F_PREFERRED "
		    "(--preferred) allows other nodes", alt);
}

static void diag_enomem(struct numabuf_diag *d, const struct facts *f,
			unsigned int flags)
{
	struct rlimit rl;
	uint64_t pinned;
	int64_t max, cur;
	char cg[PATH_MAX], sz[3][24];
	int v1;

	/* Charged first: RLIMIT_MEMLOCK, unless CAP_IPC_LOCK. */
	if (!capable(CAP_IPC_LOCK) && !getrlimit(RLIMIT_MEMLOCK, &rl) &&
	    rl.rlim_cur != RLIM_INFINITY) {
		pinned = user_pinned(f->uid);
		if (d->size > rl.rlim_cur ||
		    pinned > rl.rlim_cur - d->size) {
			d->limit = rl.rlim_cur;
			d->used = pinned;
			d->limit_hit = 1;
			say(d, NUMABUF_CAUSE_MEMLOCK,
			    "over RLIMIT_MEMLOCK: %s more on top of the %s "
			    "the processes of uid %u hold pinned (VmPin) would "
			    "pass the limit of %s; raise it (ulimit -l, memlock "
			    "in /etc/security/limits.conf, LimitMEMLOCK= of a "
			    "systemd unit), free buffers, or run with "
			    "CAP_IPC_LOCK", S(0, d->size), S(1, pinned),
			    (unsigned int)f->uid, S(2, d->limit));
			return;
		}
	}
	/* The page allocator charges buffers up to 4 MiB to the cgroup. */
	memcg_path(cg, sizeof(cg), &v1);
	if (cg[0] && d->size <= PAGES_MAX && !(flags & NUMABUF_F_POOL)) {
		max = memcg_value(cg, v1, MEMCG_MAX);
		cur = memcg_value(cg, v1, MEMCG_USAGE);
		if (max >= 0 && cur >= 0 && (uint64_t)cur + d->size > (uint64_t)max) {
			d->limit = (uint64_t)max;
			d->used = (uint64_t)cur;
			d->limit_hit = 1;
			say(d, NUMABUF_CAUSE_MEMCG,
			    "over the memory cgroup's limit: %s more on top of "
			    "the %s the cgroup %s uses would pass its limit "
			    "%s (memory.max); raise it, or free memory in the "
			    "cgroup",
			    S(0, d->size), S(1, (uint64_t)cur), cg,
			    S(2, (uint64_t)max));
			return;
		}
	}
	if ((flags & NUMABUF_F_POOL) && diag_pool(d, f, flags))
		return;
	diag_node(d, f, flags);
}

int NB_EXPORT numabuf_diagnose(int err, size_t size, int node,
			       unsigned int flags, struct numabuf_diag *d)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int cpu, here;
	struct facts *f;
	char sz[3][24];
	int64_t rate;

	if (!d || err >= 0)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->size = ((uint64_t)size + page - 1) & ~(page - 1);
	d->node = node;
	if (node == NUMABUF_NODE_LOCAL)
		d->node = getcpu(&cpu, &here) ? -1 : (int)here;

	switch (err) {
	case -ENODEV:
		say(d, NUMABUF_CAUSE_NODE_OFFLINE, "node %d is not online (%s/"
		    "online lists those that are); use one of them", d->node,
		    SYSFS_NODE);
		return 0;
	case -EINVAL:
		if (d->size > TIB || !size)
			say(d, NUMABUF_CAUSE_TOO_LARGE, "a buffer holds 4KiB "
			    "to 1TiB; ask for a size in that range");
		else
			say(d, NUMABUF_CAUSE_UNKNOWN, "the module refused the "
			    "arguments (node %d, flags %#x)", d->node, flags);
		return 0;
	case -EOPNOTSUPP:
		say(d, NUMABUF_CAUSE_UNSUPPORTED,
		    (flags & NUMABUF_F_HUGE_MAP) ?
		    "huge mappings (NUMABUF_F_HUGE_MAP) need a kernel with "
		    "huge PFN mappings (6.12 and later); leave the flag out" :
		    "write-combining and uncached buffers (--wc, --uc) are "
		    "not supported on this architecture (x86 only); leave "
		    "them out");
		return 0;
	case -EINTR:
		say(d, NUMABUF_CAUSE_INTERRUPTED, "interrupted by a signal "
		    "while waiting for memory; try again");
		return 0;
	case -EAGAIN:
		d->limit_hit = 1;
		rate = param("range_rate");
		say(d, NUMABUF_CAUSE_RANGE_RATE,
		    "the module parameter range_rate limits how many buffers "
		    "above 4MiB outside a pool each user may take per second");
		if (rate > 0)
			add(d, " (%lld)", (long long)rate);
		add(d, "; try again in a second, or use a pool "
		    "(NUMABUF_F_POOL, --pool)");
		return 0;
	default:
		break;
	}

	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	facts_read(f);
	switch (err) {
	case -EDQUOT:
		diag_edquot(d, f, flags);
		break;
	case -EPERM:
		diag_eperm(d, f, flags);
		break;
	case -ENOMEM:
		diag_enomem(d, f, flags);
		break;
	default:
		say(d, NUMABUF_CAUSE_UNKNOWN, "%s (%s asked for on node %d)",
		    strerror(-err), S(0, d->size), d->node);
		break;
	}
	free(f);
	return 0;
}
