// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "numabuf" on the wire, spoken by a second
 * implementation: libnl-3 and libnl-genl-3 build and parse every message
 * here, so this shares nothing with lib/netlink.c (libmnl) but the numbers
 * of linux/numabuf.h, which tests/host/spec-uapi.sh holds to
 * docs/netlink/numabuf.yaml.
 *
 * Every reply and event is held to the spec's attribute list for it: each
 * attribute there present once, nothing else (pad attributes aside, which
 * must be empty), each of its type's exact length, strings terminated.
 * What the family says is checked against sources that do not go through
 * it where there are some: /sys/devices/system/node, the module
 * parameters in /sys/module/numabuf/parameters, /proc/self/pagemap,
 * /proc/self/comm, getpid(), CLOCK_REALTIME, and the ioctls of
 * /dev/numabuf (raw, as in the rest of the suite).
 *
 * Requests carry NETLINK_EXT_ACK; the errors' TLVs (message, offset of the
 * bad attribute, type of the missing one) are read from the NLMSG_ERROR
 * here, after the echoed request.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "nbutil.h"

#define NLW_N(a)	(sizeof(a) / sizeof((a)[0]))
#define NLW_TB		32	/* attribute types tracked; every set fits */
#define NLW_NSEC	1000000000LL
/* A u64 attribute for printf's %llu. */
#define NLW_U64(m, t)	((unsigned long long)nlw_u64(m, t))

/* ---- what the spec says -------------------------------------------------- */

enum nlw_kind { NLW_NONE, NLW_U32, NLW_U64, NLW_STR, NLW_PAD, NLW_FLAG };

/* One attribute set of docs/netlink/numabuf.yaml. */
struct nlw_set {
	const char *name;
	int max;
	enum nlw_kind kind[NLW_TB];
	const char *attr[NLW_TB];
};

_Static_assert(NUMABUF_A_NODE_MAX < NLW_TB && NUMABUF_A_BUF_MAX < NLW_TB &&
	       NUMABUF_A_POOL_MAX < NLW_TB && NUMABUF_A_LIMIT_MAX < NLW_TB,
	       "NLW_TB too small");

static const struct nlw_set nlw_set_node = {
	.name = "node",
	.max = NUMABUF_A_NODE_MAX,
	.kind = {
		[NUMABUF_A_NODE_ID] = NLW_U32,
		[NUMABUF_A_NODE_PAD] = NLW_PAD,
		[NUMABUF_A_NODE_MEM_TOTAL ... NUMABUF_A_NODE_FAILS_POOL] = NLW_U64,
	},
	.attr = {
		[NUMABUF_A_NODE_ID] = "id",
		[NUMABUF_A_NODE_PAD] = "pad",
		[NUMABUF_A_NODE_MEM_TOTAL] = "mem-total",
		[NUMABUF_A_NODE_MEM_FREE] = "mem-free",
		[NUMABUF_A_NODE_POOL_TARGET] = "pool-target",
		[NUMABUF_A_NODE_POOL_SIZE] = "pool-size",
		[NUMABUF_A_NODE_POOL_FREE] = "pool-free",
		[NUMABUF_A_NODE_POOL_LARGEST] = "pool-largest",
		[NUMABUF_A_NODE_POOL_LOW] = "pool-low",
		[NUMABUF_A_NODE_BUFFERS] = "buffers",
		[NUMABUF_A_NODE_BYTES] = "bytes",
		[NUMABUF_A_NODE_ALLOCS_PAGES] = "allocs-pages",
		[NUMABUF_A_NODE_ALLOCS_RANGE] = "allocs-range",
		[NUMABUF_A_NODE_ALLOCS_POOL] = "allocs-pool",
		[NUMABUF_A_NODE_FAILS_PAGES] = "fails-pages",
		[NUMABUF_A_NODE_FAILS_RANGE] = "fails-range",
		[NUMABUF_A_NODE_FAILS_POOL] = "fails-pool",
	},
};

static const struct nlw_set nlw_set_buf = {
	.name = "buf",
	.max = NUMABUF_A_BUF_MAX,
	.kind = {
		[NUMABUF_A_BUF_ID] = NLW_U32,
		[NUMABUF_A_BUF_PAD] = NLW_PAD,
		[NUMABUF_A_BUF_SIZE] = NLW_U64,
		[NUMABUF_A_BUF_NODE] = NLW_U32,
		[NUMABUF_A_BUF_FLAGS] = NLW_U32,
		[NUMABUF_A_BUF_SOURCE] = NLW_U32,
		[NUMABUF_A_BUF_PID] = NLW_U32,
		[NUMABUF_A_BUF_UID] = NLW_U32,
		[NUMABUF_A_BUF_COMM] = NLW_STR,
		[NUMABUF_A_BUF_MAP_COUNT] = NLW_U32,
		[NUMABUF_A_BUF_CREATED] = NLW_U64,
		[NUMABUF_A_BUF_PHYS] = NLW_U64,
		[NUMABUF_A_BUF_ERROR] = NLW_U32,
		[NUMABUF_A_BUF_RELEASED] = NLW_FLAG,
		[NUMABUF_A_BUF_SUPPRESSED] = NLW_U32,
		[NUMABUF_A_BUF_EXPORTS] = NLW_U32,
	},
	.attr = {
		[NUMABUF_A_BUF_ID] = "id",
		[NUMABUF_A_BUF_PAD] = "pad",
		[NUMABUF_A_BUF_SIZE] = "size",
		[NUMABUF_A_BUF_NODE] = "node",
		[NUMABUF_A_BUF_FLAGS] = "flags",
		[NUMABUF_A_BUF_SOURCE] = "source",
		[NUMABUF_A_BUF_PID] = "pid",
		[NUMABUF_A_BUF_UID] = "uid",
		[NUMABUF_A_BUF_COMM] = "comm",
		[NUMABUF_A_BUF_MAP_COUNT] = "map-count",
		[NUMABUF_A_BUF_CREATED] = "created",
		[NUMABUF_A_BUF_PHYS] = "phys",
		[NUMABUF_A_BUF_ERROR] = "error",
		[NUMABUF_A_BUF_RELEASED] = "released",
		[NUMABUF_A_BUF_SUPPRESSED] = "suppressed",
		[NUMABUF_A_BUF_EXPORTS] = "exports",
	},
};

static const struct nlw_set nlw_set_limit = {
	.name = "limit",
	.max = NUMABUF_A_LIMIT_MAX,
	.kind = {
		[NUMABUF_A_LIMIT_MAX_BYTES] = NLW_U64,
		[NUMABUF_A_LIMIT_MAX_USER_BYTES] = NLW_U64,
		[NUMABUF_A_LIMIT_TOTAL_BYTES] = NLW_U64,
		[NUMABUF_A_LIMIT_PAD] = NLW_PAD,
	},
	.attr = {
		[NUMABUF_A_LIMIT_MAX_BYTES] = "max-bytes",
		[NUMABUF_A_LIMIT_MAX_USER_BYTES] = "max-user-bytes",
		[NUMABUF_A_LIMIT_TOTAL_BYTES] = "total-bytes",
		[NUMABUF_A_LIMIT_PAD] = "pad",
	},
};

/* The spec's attribute lists of each reply and event. */
static const int nlw_node_all[] = {
	NUMABUF_A_NODE_ID, NUMABUF_A_NODE_MEM_TOTAL, NUMABUF_A_NODE_MEM_FREE,
	NUMABUF_A_NODE_POOL_TARGET, NUMABUF_A_NODE_POOL_SIZE,
	NUMABUF_A_NODE_POOL_FREE, NUMABUF_A_NODE_POOL_LARGEST,
	NUMABUF_A_NODE_POOL_LOW, NUMABUF_A_NODE_BUFFERS, NUMABUF_A_NODE_BYTES,
	NUMABUF_A_NODE_ALLOCS_PAGES, NUMABUF_A_NODE_ALLOCS_RANGE,
	NUMABUF_A_NODE_ALLOCS_POOL, NUMABUF_A_NODE_FAILS_PAGES,
	NUMABUF_A_NODE_FAILS_RANGE, NUMABUF_A_NODE_FAILS_POOL,
};

static const int nlw_buf_all[] = {
	NUMABUF_A_BUF_ID, NUMABUF_A_BUF_SIZE, NUMABUF_A_BUF_NODE,
	NUMABUF_A_BUF_FLAGS, NUMABUF_A_BUF_SOURCE, NUMABUF_A_BUF_PID,
	NUMABUF_A_BUF_UID, NUMABUF_A_BUF_COMM, NUMABUF_A_BUF_MAP_COUNT,
	NUMABUF_A_BUF_CREATED, NUMABUF_A_BUF_PHYS, NUMABUF_A_BUF_EXPORTS,
};

/* buf-get to a caller without CAP_SYS_ADMIN: no phys. */
static const int nlw_buf_unpriv[] = {
	NUMABUF_A_BUF_ID, NUMABUF_A_BUF_SIZE, NUMABUF_A_BUF_NODE,
	NUMABUF_A_BUF_FLAGS, NUMABUF_A_BUF_SOURCE, NUMABUF_A_BUF_PID,
	NUMABUF_A_BUF_UID, NUMABUF_A_BUF_COMM, NUMABUF_A_BUF_MAP_COUNT,
	NUMABUF_A_BUF_CREATED, NUMABUF_A_BUF_EXPORTS,
};

static const int nlw_created_ntf[] = {
	NUMABUF_A_BUF_ID, NUMABUF_A_BUF_SIZE, NUMABUF_A_BUF_NODE,
	NUMABUF_A_BUF_FLAGS, NUMABUF_A_BUF_SOURCE, NUMABUF_A_BUF_PID,
	NUMABUF_A_BUF_UID, NUMABUF_A_BUF_COMM, NUMABUF_A_BUF_CREATED,
};

static const int nlw_freed_ntf[] = {
	NUMABUF_A_BUF_ID, NUMABUF_A_BUF_SIZE, NUMABUF_A_BUF_NODE,
};

static const int nlw_failed_ntf[] = {
	NUMABUF_A_BUF_SIZE, NUMABUF_A_BUF_NODE, NUMABUF_A_BUF_FLAGS,
	NUMABUF_A_BUF_PID, NUMABUF_A_BUF_UID, NUMABUF_A_BUF_COMM,
	NUMABUF_A_BUF_ERROR, NUMABUF_A_BUF_SUPPRESSED,
};

static const int nlw_pool_low_ntf[] = {
	NUMABUF_A_NODE_ID, NUMABUF_A_NODE_POOL_TARGET, NUMABUF_A_NODE_POOL_SIZE,
	NUMABUF_A_NODE_POOL_FREE, NUMABUF_A_NODE_POOL_LOW,
};

static const int nlw_limit_all[] = {
	NUMABUF_A_LIMIT_MAX_BYTES, NUMABUF_A_LIMIT_MAX_USER_BYTES,
	NUMABUF_A_LIMIT_TOTAL_BYTES,
};

/* ---- messages ------------------------------------------------------------ */

/* One generic netlink message received, copied out of libnl's buffer. */
struct nlw_msg {
	struct nlmsghdr *nlh;
	uint16_t flags;
	uint8_t cmd;
	uint8_t version;
	struct nlattr *tb[NLW_TB];	/* the first of each type */
	int count[NLW_TB];		/* how many of each type */
	int bad_type;			/* a type 0 or >= NLW_TB seen, or 0 */
	int trailing;			/* bytes after the last attribute */
};

/* Everything one request brought back. */
struct nlw_reply {
	int family;			/* nlmsg_type of the data messages */
	uint32_t seq;			/* of the request (0: events) */
	uint32_t port;			/* ours (0: events) */
	struct nlmsghdr *req;		/* a copy of the request */
	struct nlw_msg *msg;		/* the data messages, in order */
	int n;
	int nalloc;
	int nmulti;			/* data messages with NLM_F_MULTI */
	int badseq;			/* messages of another seq or port */
	int other;			/* messages of another type */
	int after_end;			/* messages after the ACK/DONE/error */
	bool finished;			/* ACK, error or NLMSG_DONE seen */
	bool done;			/* NLMSG_DONE */
	bool acked;			/* NLMSG_ERROR with error 0 */
	int error;			/* its errno (positive), 0 for an ACK */
	/* The extended ACK of the NLMSG_ERROR (or NLMSG_DONE). */
	bool tlvs;
	char ext_msg[256];
	bool has_offs;
	uint32_t offs;
	bool has_miss;
	uint32_t miss_type;
	bool echo_same;			/* the error carries our request */
	struct nlmsghdr *echo;		/* that copy, or NULL (capped) */
};

static void *nlw_dup(const void *p, size_t len)
{
	void *q = malloc(len);

	NB_CHECK(q, "out of memory");
	memcpy(q, p, len);
	return q;
}

static void nlw_reply_free(struct nlw_reply *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		free(r->msg[i].nlh);
	free(r->msg);
	free(r->req);
	free(r->echo);
	memset(r, 0, sizeof(*r));
}

/* The extended ACK TLVs at @tlv, @len bytes. */
static void nlw_parse_tlvs(struct nlw_reply *r, struct nlattr *tlv, int len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int ret;

	ret = nla_parse(tb, NLMSGERR_ATTR_MAX, tlv, len, NULL);
	NB_CHECK(!ret, "extended ACK TLVs do not parse: %s", nl_geterror(ret));
	r->tlvs = true;
	if (tb[NLMSGERR_ATTR_MSG]) {
		NB_CHECK(nla_len(tb[NLMSGERR_ATTR_MSG]) > 0 &&
			 !((char *)nla_data(tb[NLMSGERR_ATTR_MSG]))
				[nla_len(tb[NLMSGERR_ATTR_MSG]) - 1],
			 "NLMSGERR_ATTR_MSG is not a terminated string");
		nla_strlcpy(r->ext_msg, tb[NLMSGERR_ATTR_MSG],
			    sizeof(r->ext_msg));
	}
	if (tb[NLMSGERR_ATTR_OFFS]) {
		NB_CHECK(nla_len(tb[NLMSGERR_ATTR_OFFS]) == 4,
			 "NLMSGERR_ATTR_OFFS of %d bytes",
			 nla_len(tb[NLMSGERR_ATTR_OFFS]));
		r->has_offs = true;
		r->offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	if (tb[NLMSGERR_ATTR_MISS_TYPE]) {
		NB_CHECK(nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) == 4,
			 "NLMSGERR_ATTR_MISS_TYPE of %d bytes",
			 nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]));
		r->has_miss = true;
		r->miss_type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	}
}

/*
 * An NLMSG_ERROR: struct nlmsgerr, whose nlmsghdr is followed by the rest
 * of the request unless NLM_F_CAPPED, then the TLVs if NLM_F_ACK_TLVS.
 */
static void nlw_parse_error(struct nlw_reply *r, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);

	NB_CHECK(nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(*e),
		 "NLMSG_ERROR of %u bytes", nlh->nlmsg_len);
	NB_CHECK(e->error <= 0, "NLMSG_ERROR with error %d", e->error);
	r->error = -e->error;
	r->acked = !e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		NB_CHECK(e->msg.nlmsg_len >= NLMSG_HDRLEN &&
			 NLMSG_HDRLEN + sizeof(e->error) + e->msg.nlmsg_len <=
			 nlh->nlmsg_len,
			 "NLMSG_ERROR: uncapped, but the request (%u bytes) does not fit in %u",
			 e->msg.nlmsg_len, nlh->nlmsg_len);
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		r->echo = nlw_dup(&e->msg, e->msg.nlmsg_len);
		r->echo_same = r->req &&
			       r->req->nlmsg_len == e->msg.nlmsg_len &&
			       !memcmp(r->req, &e->msg, e->msg.nlmsg_len);
	} else {
		r->echo_same = r->req && !memcmp(r->req, &e->msg,
						 sizeof(e->msg));
	}
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		NB_CHECK(NLMSG_HDRLEN + NLMSG_ALIGN(off) <= nlh->nlmsg_len,
			 "NLMSG_ERROR: TLVs past its end");
		nlw_parse_tlvs(r, (struct nlattr *)((char *)nlmsg_data(nlh) +
						    NLMSG_ALIGN(off)),
			       nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(off));
	}
}

/* NLMSG_DONE: an int, the dump's error, then TLVs if NLM_F_ACK_TLVS. */
static void nlw_parse_done(struct nlw_reply *r, struct nlmsghdr *nlh)
{
	int err;

	NB_CHECK(nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int),
		 "NLMSG_DONE of %u bytes", nlh->nlmsg_len);
	memcpy(&err, nlmsg_data(nlh), sizeof(err));
	NB_CHECK(err <= 0, "NLMSG_DONE with error %d", err);
	r->error = -err;
	r->done = true;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		nlw_parse_tlvs(r, (struct nlattr *)((char *)nlmsg_data(nlh) +
						    NLMSG_ALIGN(sizeof(int))),
			       nlh->nlmsg_len - NLMSG_HDRLEN -
			       NLMSG_ALIGN(sizeof(int)));
}

/* Every message, before libnl looks at it: its header and kind. */
static int nlw_cb_in(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlw_reply *r = arg;

	if (nlh->nlmsg_seq != r->seq || nlh->nlmsg_pid != r->port)
		r->badseq++;
	if (r->finished)
		r->after_end++;
	if (nlh->nlmsg_type == NLMSG_ERROR)
		nlw_parse_error(r, nlh);
	else if (nlh->nlmsg_type == NLMSG_DONE)
		nlw_parse_done(r, nlh);
	else if (nlh->nlmsg_type != r->family)
		r->other++;
	return NL_OK;
}

/* Sequence numbers are checked in nlw_cb_in, against the request's. */
static int nlw_cb_seq(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

/* A data message: copied and its attributes indexed. */
static int nlw_cb_valid(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlw_reply *r = arg;
	struct genlmsghdr *g;
	struct nlw_msg *m;
	struct nlattr *a;
	int rem;

	if (nlh->nlmsg_type != r->family)
		return NL_OK;
	NB_CHECK(genlmsg_valid_hdr(nlh, 0),
		 "message of %u bytes without a genetlink header",
		 nlh->nlmsg_len);
	if (r->n == r->nalloc) {
		r->nalloc = r->nalloc ? 2 * r->nalloc : 16;
		r->msg = realloc(r->msg, r->nalloc * sizeof(*r->msg));
		NB_CHECK(r->msg, "out of memory");
	}
	m = &r->msg[r->n++];
	memset(m, 0, sizeof(*m));
	m->nlh = nlw_dup(nlh, nlh->nlmsg_len);
	m->flags = nlh->nlmsg_flags;
	if (m->flags & NLM_F_MULTI)
		r->nmulti++;
	g = genlmsg_hdr(m->nlh);
	m->cmd = g->cmd;
	m->version = g->version;
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0),
			  rem) {
		int t = nla_type(a);

		if (t <= 0 || t >= NLW_TB || (a->nla_type & NLA_F_NESTED)) {
			m->bad_type = t ? t : -1;
			continue;
		}
		if (!m->count[t]++)
			m->tb[t] = a;
	}
	m->trailing = rem;
	return NL_OK;
}

/* ACK, NLMSG_DONE or an error: the answer is complete. */
static int nlw_cb_stop(struct nl_msg *msg, void *arg)
{
	struct nlw_reply *r = arg;

	(void)msg;
	r->finished = true;
	return NL_STOP;
}

static int nlw_cb_err(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlw_reply *r = arg;

	(void)who;
	(void)e;	/* parsed whole in nlw_cb_in */
	r->finished = true;
	return NL_STOP;
}

static struct nl_cb *nlw_cb(struct nlw_reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	NB_CHECK(cb, "nl_cb_alloc failed");
	nl_cb_set(cb, NL_CB_MSG_IN, NL_CB_CUSTOM, nlw_cb_in, r);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, nlw_cb_seq, r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nlw_cb_valid, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, nlw_cb_stop, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, nlw_cb_stop, r);
	nl_cb_err(cb, NL_CB_CUSTOM, nlw_cb_err, r);
	return cb;
}

/* Seconds a reply or an event may take before the test fails. */
static unsigned int nlw_wait_secs(void)
{
	return 10 * nb_slow();
}

static void nlw_set_timeout(struct nl_sock *sk, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	NB_SYS(setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
			  sizeof(tv)));
}

/* A generic netlink socket with extended ACKs and a receive timeout. */
static struct nl_sock *nlw_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1, ret;

	NB_CHECK(sk, "nl_socket_alloc failed");
	ret = genl_connect(sk);
	NB_CHECK(!ret, "genl_connect: %s", nl_geterror(ret));
	/* libnl 3.7 has no nl_socket_set_ext_ack(). */
	NB_SYS(setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
			  &one, sizeof(one)));
	nl_socket_enable_msg_peek(sk);
	nlw_set_timeout(sk, nlw_wait_secs() * 1000L);
	return sk;
}

static int nlw_family(struct nl_sock *sk)
{
	int fam = genl_ctrl_resolve(sk, NUMABUF_FAMILY_NAME);

	NB_CHECK(fam > 0, "genl_ctrl_resolve(\"%s\"): %s", NUMABUF_FAMILY_NAME,
		 nl_geterror(fam));
	return fam;
}

/* A request of the family: the generic netlink header, no attributes. */
static struct nl_msg *nlw_req(int family, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	NB_CHECK(msg, "nlmsg_alloc failed");
	NB_CHECK(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
			     cmd, NUMABUF_FAMILY_VERSION),
		 "genlmsg_put failed");
	return msg;
}

static void nlw_put_u16(struct nl_msg *msg, int type, uint16_t v)
{
	NB_CHECK(!nla_put_u16(msg, type, v), "nla_put_u16 failed");
}

static void nlw_put_u32(struct nl_msg *msg, int type, uint32_t v)
{
	NB_CHECK(!nla_put_u32(msg, type, v), "nla_put_u32 failed");
}

static void nlw_put_u64(struct nl_msg *msg, int type, uint64_t v)
{
	NB_CHECK(!nla_put_u64(msg, type, v), "nla_put_u64 failed");
}

/* Offset of the first attribute @type in the request, from its nlmsghdr. */
static uint32_t nlw_offset(struct nl_msg *msg, int type)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *a = nlmsg_find_attr(nlh, GENL_HDRLEN, type);

	NB_CHECK(a, "no attribute %d in the request", type);
	return (uint32_t)((char *)a - (char *)nlh);
}

/*
 * Send @msg (libnl adds NLM_F_REQUEST and NLM_F_ACK) and read everything
 * it brings back up to the ACK, the error or NLMSG_DONE.  Returns the
 * errno of the answer, 0 for success.  Frees @msg.
 */
static int nlw_xfer_at(const char *file, int line, struct nl_sock *sk,
		       struct nl_msg *msg, struct nlw_reply *r)
{
	struct nl_cb *cb;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = nl_send_auto(sk, msg);
	if (ret < 0)
		nb_fail_at(file, line, "nl_send_auto: %s", nl_geterror(ret));
	r->family = nlmsg_hdr(msg)->nlmsg_type;
	r->seq = nlmsg_hdr(msg)->nlmsg_seq;
	r->port = nl_socket_get_local_port(sk);
	r->req = nlw_dup(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);

	cb = nlw_cb(r);
	while (!r->finished) {
		ret = nl_recvmsgs(sk, cb);
		if (ret == -NLE_AGAIN)
			nb_fail_at(file, line, "no complete answer within %u s",
				   nlw_wait_secs());
		if (ret < 0 && !r->finished)
			nb_fail_at(file, line, "nl_recvmsgs: %s",
				   nl_geterror(ret));
	}
	nl_cb_put(cb);
	if (r->badseq)
		nb_fail_at(file, line,
			   "%d messages of the answer do not carry the request's sequence number %u and our port %u",
			   r->badseq, r->seq, r->port);
	if (r->other)
		nb_fail_at(file, line, "%d messages of an unexpected type",
			   r->other);
	if (r->after_end)
		nb_fail_at(file, line, "%d messages after the end of the answer",
			   r->after_end);
	if (r->error && !r->done && !r->echo_same)
		nb_fail_at(file, line,
			   "the NLMSG_ERROR does not carry the request sent");
	return r->error;
}
#define NLW_XFER(sk, msg, r) nlw_xfer_at(NB_FILE, __LINE__, sk, msg, r)

/*
 * A do request answered with exactly one reply of command @cmd and an
 * ACK; returns the reply (in @r).
 */
static struct nlw_msg *nlw_do_at(const char *file, int line,
				 struct nl_sock *sk, struct nl_msg *msg,
				 uint8_t cmd, struct nlw_reply *r)
{
	int err = nlw_xfer_at(file, line, sk, msg, r);

	if (err)
		nb_fail_at(file, line, "request failed: %s (\"%s\")",
			   nb_errname(err), r->ext_msg);
	if (!r->acked || r->done)
		nb_fail_at(file, line, "a do request ended without its ACK");
	if (r->n != 1)
		nb_fail_at(file, line, "%d replies to a do request, expected 1",
			   r->n);
	if (r->msg[0].cmd != cmd || r->msg[0].version != NUMABUF_FAMILY_VERSION)
		nb_fail_at(file, line,
			   "reply of command %u version %u, expected %u version %u",
			   r->msg[0].cmd, r->msg[0].version, cmd,
			   NUMABUF_FAMILY_VERSION);
	if (r->msg[0].flags & NLM_F_MULTI)
		nb_fail_at(file, line, "the reply to a do request has NLM_F_MULTI");
	return &r->msg[0];
}
#define NLW_DO(sk, msg, cmd, r) nlw_do_at(NB_FILE, __LINE__, sk, msg, cmd, r)

/* A dump: data messages of command @cmd, each NLM_F_MULTI, then DONE. */
static void nlw_dump_at(const char *file, int line, struct nl_sock *sk,
			struct nl_msg *msg, uint8_t cmd, struct nlw_reply *r)
{
	int err = nlw_xfer_at(file, line, sk, msg, r), i;

	if (err)
		nb_fail_at(file, line, "dump failed: %s (\"%s\")",
			   nb_errname(err), r->ext_msg);
	if (!r->done || r->acked)
		nb_fail_at(file, line, "a dump did not end with NLMSG_DONE");
	if (r->nmulti != r->n)
		nb_fail_at(file, line, "%d of %d dump messages without NLM_F_MULTI",
			   r->n - r->nmulti, r->n);
	for (i = 0; i < r->n; i++)
		if (r->msg[i].cmd != cmd ||
		    r->msg[i].version != NUMABUF_FAMILY_VERSION)
			nb_fail_at(file, line,
				   "dump message %d: command %u version %u, expected %u version %u",
				   i, r->msg[i].cmd, r->msg[i].version, cmd,
				   NUMABUF_FAMILY_VERSION);
}
#define NLW_DUMP(sk, msg, cmd, r) \
	nlw_dump_at(NB_FILE, __LINE__, sk, msg, cmd, r)

/*
 * @m has exactly the attributes @want of @set (pad attributes aside, which
 * must be empty), each once and of its type's exact length; libnl's own
 * nla_parse() with the matching policy must take it too.
 */
static void nlw_check_attrs_at(const char *file, int line,
			       const struct nlw_msg *m,
			       const struct nlw_set *set, const int *want,
			       size_t nwant, const char *what)
{
	struct genlmsghdr *g = genlmsg_hdr(m->nlh);
	struct nla_policy pol[NLW_TB];
	struct nlattr *tb[NLW_TB], *a;
	bool wanted[NLW_TB] = { false };
	int t, ret, rem;
	size_t i;

	if (m->bad_type)
		nb_fail_at(file, line, "%s: attribute of type %d (%s set)", what,
			   m->bad_type, set->name);
	if (m->trailing)
		nb_fail_at(file, line, "%s: %d bytes after the last attribute",
			   what, m->trailing);
	for (i = 0; i < nwant; i++)
		wanted[want[i]] = true;

	memset(pol, 0, sizeof(pol));
	for (t = 1; t <= set->max; t++) {
		switch (set->kind[t]) {
		case NLW_U32:
			pol[t].type = NLA_U32;
			pol[t].maxlen = 4;
			break;
		case NLW_U64:
			pol[t].type = NLA_U64;
			pol[t].maxlen = 8;
			break;
		case NLW_STR:
			pol[t].type = NLA_STRING;
			pol[t].maxlen = 64;
			break;
		case NLW_FLAG:
			pol[t].type = NLA_FLAG;
			break;
		default:
			break;
		}
	}
	ret = nla_parse(tb, set->max, genlmsg_attrdata(g, 0),
			genlmsg_attrlen(g, 0), pol);
	if (ret)
		nb_fail_at(file, line, "%s: libnl's nla_parse() refuses it: %s",
			   what, nl_geterror(ret));

	for (t = 1; t < NLW_TB; t++) {
		const char *name = t <= set->max ? set->attr[t] : "?";
		int len;

		if (t > set->max || set->kind[t] == NLW_NONE) {
			if (m->count[t])
				nb_fail_at(file, line,
					   "%s: attribute type %d, not in the %s set",
					   what, t, set->name);
			continue;
		}
		if (set->kind[t] == NLW_PAD) {
			if (!m->count[t])
				continue;
			nla_for_each_attr(a, genlmsg_attrdata(g, 0),
					  genlmsg_attrlen(g, 0), rem)
				if (nla_type(a) == t && nla_len(a))
					nb_fail_at(file, line,
						   "%s: pad attribute of %d bytes",
						   what, nla_len(a));
			continue;
		}
		if (!wanted[t] && m->count[t])
			nb_fail_at(file, line, "%s: unexpected attribute %s",
				   what, name);
		if (!wanted[t])
			continue;
		if (m->count[t] != 1)
			nb_fail_at(file, line, "%s: attribute %s %d times, expected once",
				   what, name, m->count[t]);
		len = nla_len(m->tb[t]);
		switch (set->kind[t]) {
		case NLW_U32:
			if (len != 4)
				nb_fail_at(file, line,
					   "%s: u32 attribute %s of %d bytes",
					   what, name, len);
			break;
		case NLW_U64:
			if (len != 8)
				nb_fail_at(file, line,
					   "%s: u64 attribute %s of %d bytes",
					   what, name, len);
			break;
		case NLW_STR:
			if (len < 1 || strnlen(nla_data(m->tb[t]), len) !=
			    (size_t)len - 1)
				nb_fail_at(file, line,
					   "%s: string attribute %s (%d bytes) is not one terminated string",
					   what, name, len);
			break;
		case NLW_FLAG:
			if (len)
				nb_fail_at(file, line,
					   "%s: flag attribute %s of %d bytes",
					   what, name, len);
			break;
		default:
			break;
		}
	}
}
#define NLW_CHECK_ATTRS(m, set, want, what) \
	nlw_check_attrs_at(NB_FILE, __LINE__, m, set, want, NLW_N(want), what)

/* Values of attributes nlw_check_attrs_at() has vouched for. */
static uint32_t nlw_u32(const struct nlw_msg *m, int type)
{
	NB_CHECK(m->tb[type] && nla_len(m->tb[type]) == 4,
		 "no u32 attribute %d", type);
	return nla_get_u32(m->tb[type]);
}

static uint64_t nlw_u64(const struct nlw_msg *m, int type)
{
	NB_CHECK(m->tb[type] && nla_len(m->tb[type]) == 8,
		 "no u64 attribute %d", type);
	return nla_get_u64(m->tb[type]);
}

static const char *nlw_str(const struct nlw_msg *m, int type)
{
	NB_CHECK(m->tb[type], "no string attribute %d", type);
	return nla_get_string(m->tb[type]);
}

/* The request as the error carried it has attribute @type at @offs. */
static void nlw_expect_offs_at(const char *file, int line,
			       const struct nlw_reply *r, uint32_t offs,
			       int type)
{
	const struct nlattr *a;

	if (!r->has_offs)
		nb_fail_at(file, line,
			   "no NLMSGERR_ATTR_OFFS (expected %u, attribute %d)",
			   offs, type);
	if (r->offs != offs)
		nb_fail_at(file, line,
			   "NLMSGERR_ATTR_OFFS %u, expected %u (attribute %d)",
			   r->offs, offs, type);
	if (!r->echo || r->offs + NLA_HDRLEN > r->echo->nlmsg_len)
		nb_fail_at(file, line, "no echoed request to look at offset %u",
			   r->offs);
	a = (const struct nlattr *)((const char *)r->echo + r->offs);
	if (nla_type(a) != type)
		nb_fail_at(file, line,
			   "the echoed request has attribute %d at offset %u, expected %d",
			   nla_type(a), r->offs, type);
}
#define NLW_EXPECT_OFFS(r, offs, type) \
	nlw_expect_offs_at(NB_FILE, __LINE__, r, offs, type)

/* ---- the system, seen without the family --------------------------------- */

static void nlw_comm(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "re");

	NB_CHECK(f && fgets(buf, (int)len, f), "cannot read /proc/self/comm");
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

static long long nlw_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NLW_NSEC + ts.tv_nsec;
}

static int nlw_pool_get(int fd, int node, struct numabuf_pool *out)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node };

	if (ioctl(fd, NUMABUF_IOC_POOL_GET, &p))
		return -errno;
	*out = p;
	return 0;
}

/* Drop capability @cap from every set of this process. */
static void nlw_drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uint32_t bit = 1U << (cap % 32);

	NB_SYS(syscall(SYS_capget, &h, d));
	d[cap / 32].effective &= ~bit;
	d[cap / 32].permitted &= ~bit;
	d[cap / 32].inheritable &= ~bit;
	NB_SYS(syscall(SYS_capset, &h, d));
	NB_CHECK(!(nb_proc_status("CapEff", 16) & (1ULL << cap)),
		 "capability %d still effective", cap);
}

/*
 * Run @fn in a child process, then @restore here whatever became of it,
 * then fail if the child did (its own reason is the one reported).  For
 * tests that change global settings.
 */
static void nlw_guarded_at(const char *file, int line, void (*fn)(void *),
			   void (*restore)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = NB_SYS(fork());
	if (!pid) {
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		nb_fail_at(file, line, "waitpid: %s", strerror(errno));
	restore(arg);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		nb_fail_at(file, line, "worker failed (wait status %#x)", status);
}
#define NLW_GUARDED(fn, restore, arg) \
	nlw_guarded_at(NB_FILE, __LINE__, fn, restore, arg)

/* Tell the other end of a pipe to go on, or wait to be told. */
static void nlw_signal(int fd)
{
	NB_CHECK(write(fd, "x", 1) == 1, "pipe write: %s", strerror(errno));
}

static void nlw_wait(int fd)
{
	char c;

	NB_CHECK(read(fd, &c, 1) == 1, "pipe read: the other side is gone");
}

/* ---- family -------------------------------------------------------------- */

/* The spec's operations and their flags (GENL_CMD_CAP_*, GENL_ADMIN_PERM). */
static const struct {
	uint8_t cmd;
	const char *name;
	uint32_t flags;
} nlw_ops[] = {
	{ NUMABUF_CMD_NODE_GET, "node-get", GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP },
	{ NUMABUF_CMD_BUF_GET, "buf-get", GENL_CMD_CAP_DUMP },
	{ NUMABUF_CMD_POOL_SET, "pool-set", GENL_CMD_CAP_DO | GENL_ADMIN_PERM },
	{ NUMABUF_CMD_LIMIT_GET, "limit-get", GENL_CMD_CAP_DO | GENL_ADMIN_PERM },
	{ NUMABUF_CMD_LIMIT_SET, "limit-set", GENL_CMD_CAP_DO | GENL_ADMIN_PERM },
};

#define NLW_OP_MASK	(GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | \
			 GENL_ADMIN_PERM | GENL_UNS_ADMIN_PERM)

NB_TEST(family,
	"genl_ctrl_resolve finds \"numabuf\"; CTRL_CMD_GETFAMILY: its id and name, version >= 1, no header, exactly the ops node-get (do+dump), buf-get (dump), pool-set, limit-get and limit-set (do, admin-perm), each with a policy; one multicast group \"events\", the id genl_ctrl_resolve_grp gives")
{
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), grp, rem, rem2, ngrp = 0;
	struct nlattr *tb[CTRL_ATTR_MAX + 1], *op, *g;
	bool seen[NLW_N(nlw_ops)] = { false };
	struct nlw_reply r;
	struct nl_msg *msg;
	struct nlw_msg *m;
	uint32_t version;
	size_t i;

	grp = genl_ctrl_resolve_grp(sk, NUMABUF_FAMILY_NAME,
				    NUMABUF_MCGRP_EVENTS);
	NB_CHECK(grp > 0, "genl_ctrl_resolve_grp(\"%s\", \"%s\"): %s",
		 NUMABUF_FAMILY_NAME, NUMABUF_MCGRP_EVENTS, nl_geterror(grp));

	/* The controller's own request, built by hand. */
	msg = nlmsg_alloc();
	NB_CHECK(msg, "nlmsg_alloc failed");
	NB_CHECK(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0,
			     CTRL_CMD_GETFAMILY, 1), "genlmsg_put failed");
	NB_CHECK(!nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, NUMABUF_FAMILY_NAME),
		 "nla_put_string failed");
	NB_CHECK(!NLW_XFER(sk, msg, &r) && r.acked && r.n == 1,
		 "CTRL_CMD_GETFAMILY: %s, %d replies", nb_errname(r.error), r.n);
	m = &r.msg[0];
	NB_CHECK(m->cmd == CTRL_CMD_NEWFAMILY, "controller reply of command %u",
		 m->cmd);
	NB_CHECK(!nla_parse(tb, CTRL_ATTR_MAX,
			    genlmsg_attrdata(genlmsg_hdr(m->nlh), 0),
			    genlmsg_attrlen(genlmsg_hdr(m->nlh), 0), NULL),
		 "the controller's reply does not parse");

	NB_CHECK(tb[CTRL_ATTR_FAMILY_ID] && nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == fam,
		 "CTRL_ATTR_FAMILY_ID missing or not %d", fam);
	NB_CHECK(tb[CTRL_ATTR_FAMILY_NAME] &&
		 !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), NUMABUF_FAMILY_NAME),
		 "CTRL_ATTR_FAMILY_NAME missing or not \"%s\"", NUMABUF_FAMILY_NAME);
	NB_CHECK(tb[CTRL_ATTR_VERSION], "no CTRL_ATTR_VERSION");
	version = nla_get_u32(tb[CTRL_ATTR_VERSION]);
	NB_CHECK(version >= 1, "family version %u", version);
	NB_CHECK(version == NUMABUF_FAMILY_VERSION,
		 "family version %u, the header says %d", version,
		 NUMABUF_FAMILY_VERSION);
	NB_CHECK(tb[CTRL_ATTR_HDRSIZE] && nla_get_u32(tb[CTRL_ATTR_HDRSIZE]) == 0,
		 "the family has a user header (CTRL_ATTR_HDRSIZE)");

	NB_CHECK(tb[CTRL_ATTR_OPS], "no CTRL_ATTR_OPS");
	nla_for_each_nested(op, tb[CTRL_ATTR_OPS], rem) {
		struct nlattr *otb[CTRL_ATTR_OP_MAX + 1];
		uint32_t id, flags;

		NB_CHECK(!nla_parse_nested(otb, CTRL_ATTR_OP_MAX, op, NULL) &&
			 otb[CTRL_ATTR_OP_ID] && otb[CTRL_ATTR_OP_FLAGS],
			 "an op without id or flags");
		id = nla_get_u32(otb[CTRL_ATTR_OP_ID]);
		flags = nla_get_u32(otb[CTRL_ATTR_OP_FLAGS]);
		for (i = 0; i < NLW_N(nlw_ops); i++)
			if (nlw_ops[i].cmd == id)
				break;
		NB_CHECK(i < NLW_N(nlw_ops), "op %u (flags %#x) is not in the spec",
			 id, flags);
		NB_CHECK(!seen[i], "op %s listed twice", nlw_ops[i].name);
		seen[i] = true;
		NB_CHECK((flags & NLW_OP_MASK) == nlw_ops[i].flags,
			 "op %s: flags %#x, expected %#x (do %#x, dump %#x, admin %#x)",
			 nlw_ops[i].name, flags & NLW_OP_MASK, nlw_ops[i].flags,
			 GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, GENL_ADMIN_PERM);
		NB_CHECK(flags & GENL_CMD_CAP_HASPOL,
			 "op %s has no policy (flags %#x)", nlw_ops[i].name, flags);
	}
	for (i = 0; i < NLW_N(nlw_ops); i++)
		NB_CHECK(seen[i], "op %s (%u) missing", nlw_ops[i].name,
			 nlw_ops[i].cmd);

	NB_CHECK(tb[CTRL_ATTR_MCAST_GROUPS], "no CTRL_ATTR_MCAST_GROUPS");
	nla_for_each_nested(g, tb[CTRL_ATTR_MCAST_GROUPS], rem2) {
		struct nlattr *gtb[CTRL_ATTR_MCAST_GRP_MAX + 1];

		NB_CHECK(!nla_parse_nested(gtb, CTRL_ATTR_MCAST_GRP_MAX, g, NULL) &&
			 gtb[CTRL_ATTR_MCAST_GRP_NAME] && gtb[CTRL_ATTR_MCAST_GRP_ID],
			 "a multicast group without name or id");
		NB_CHECK(!strcmp(nla_get_string(gtb[CTRL_ATTR_MCAST_GRP_NAME]),
				 NUMABUF_MCGRP_EVENTS),
			 "multicast group \"%s\" is not in the spec",
			 nla_get_string(gtb[CTRL_ATTR_MCAST_GRP_NAME]));
		NB_CHECK((int)nla_get_u32(gtb[CTRL_ATTR_MCAST_GRP_ID]) == grp,
			 "group id %u, genl_ctrl_resolve_grp said %d",
			 nla_get_u32(gtb[CTRL_ATTR_MCAST_GRP_ID]), grp);
		ngrp++;
	}
	NB_CHECK(ngrp == 1, "%d multicast groups, expected 1", ngrp);
	nb_note("family id %d, version %u, events group %d", fam, version, grp);
	nlw_reply_free(&r);
	nl_socket_free(sk);
}

/* ---- node-get ------------------------------------------------------------ */

static struct nl_msg *nlw_node_req_flags(int fam, int node, int flags)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_NODE_GET, flags);

	nlw_put_u32(msg, NUMABUF_A_NODE_ID, node);
	return msg;
}

static struct nl_msg *nlw_node_req(int fam, int node)
{
	return nlw_node_req_flags(fam, node, 0);
}

/* The consistency every node message must have, whoever asks. */
static void nlw_node_sane(const struct nlw_msg *m, int node)
{
	uint64_t total = nlw_u64(m, NUMABUF_A_NODE_MEM_TOTAL);
	uint64_t size = nlw_u64(m, NUMABUF_A_NODE_POOL_SIZE);
	uint64_t pfree = nlw_u64(m, NUMABUF_A_NODE_POOL_FREE);

	NB_CHECK(nlw_u32(m, NUMABUF_A_NODE_ID) == (uint32_t)node,
		 "node-get of node %d answered id %u", node,
		 nlw_u32(m, NUMABUF_A_NODE_ID));
	NB_CHECK(nlw_u64(m, NUMABUF_A_NODE_MEM_FREE) <= total,
		 "node %d: mem-free %llu > mem-total %llu", node,
		 NLW_U64(m, NUMABUF_A_NODE_MEM_FREE),
		 (unsigned long long)total);
	NB_CHECK(total % NB_PAGE == 0 &&
		 nlw_u64(m, NUMABUF_A_NODE_MEM_FREE) % NB_PAGE == 0,
		 "node %d: memory sizes not in pages", node);
	NB_CHECK(pfree <= size && nlw_u64(m, NUMABUF_A_NODE_POOL_LARGEST) <= pfree,
		 "node %d: pool size %llu free %llu largest %llu do not add up",
		 node, (unsigned long long)size, (unsigned long long)pfree,
		 NLW_U64(m, NUMABUF_A_NODE_POOL_LARGEST));
	NB_CHECK(nlw_u64(m, NUMABUF_A_NODE_BYTES) <= total,
		 "node %d: more bytes in buffers than the node has", node);
	NB_CHECK(nlw_u64(m, NUMABUF_A_NODE_BUFFERS) <=
		 nlw_u64(m, NUMABUF_A_NODE_BYTES) / NB_PAGE,
		 "node %d: more buffers than pages in them", node);
}

/* Index of node @node in a node-get dump, or fail. */
static const struct nlw_msg *nlw_dump_node(const struct nlw_reply *r, int node)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (nlw_u32(&r->msg[i], NUMABUF_A_NODE_ID) == (uint32_t)node)
			return &r->msg[i];
	NB_FAIL("node %d not in the node-get dump", node);
}

static void nlw_node_dump(struct nl_sock *sk, int fam, struct nlw_reply *r)
{
	int i;

	NLW_DUMP(sk, nlw_req(fam, NUMABUF_CMD_NODE_GET, NLM_F_DUMP),
		 NUMABUF_CMD_NODE_GET, r);
	for (i = 0; i < r->n; i++)
		NLW_CHECK_ATTRS(&r->msg[i], &nlw_set_node, nlw_node_all,
				"node-get dump message");
}

NB_TEST(node_get_do,
	"node-get do for each node of has_memory: one NODE_GET reply then the ACK, exactly the spec's attributes (u32 4 bytes, u64 8), id the node, mem-total within 1% of the node's MemTotal, mem-free <= mem-total and near MemFree, pool as POOL_GET says, buffers adding up to the debugfs total; a 64 KiB buffer adds 1 buffer, 64 KiB and 1 allocs-pages on its node and nothing elsewhere")
{
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), nodes[NB_MAX_NODES], n, i, j, fd = nb_open();
	struct nb_stats st = nb_stats_read();
	long long sum_buffers = 0;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	for (i = 0; i < n; i++) {
		uint64_t total_sys = nb_node_meminfo(nodes[i], "MemTotal");
		uint64_t free_sys = nb_node_meminfo(nodes[i], "MemFree");
		uint64_t total, mfree, diff;
		struct numabuf_pool p;
		struct nlw_reply r;
		struct nlw_msg *m;

		m = NLW_DO(sk, nlw_node_req(fam, nodes[i]), NUMABUF_CMD_NODE_GET,
			   &r);
		NLW_CHECK_ATTRS(m, &nlw_set_node, nlw_node_all, "node-get reply");
		nlw_node_sane(m, nodes[i]);
		total = nlw_u64(m, NUMABUF_A_NODE_MEM_TOTAL);
		mfree = nlw_u64(m, NUMABUF_A_NODE_MEM_FREE);
		diff = total > total_sys ? total - total_sys : total_sys - total;
		NB_CHECK(diff * 100 <= total_sys,
			 "node %d: mem-total %llu, MemTotal in sysfs %llu bytes (more than 1%% apart)",
			 nodes[i], (unsigned long long)total,
			 (unsigned long long)total_sys);
		diff = mfree > free_sys ? mfree - free_sys : free_sys - mfree;
		NB_CHECK(diff * 20 <= total,
			 "node %d: mem-free %llu, MemFree in sysfs %llu bytes (more than 5%% of the node apart)",
			 nodes[i], (unsigned long long)mfree,
			 (unsigned long long)free_sys);
		NB_CHECK(!nlw_pool_get(fd, nodes[i], &p), "POOL_GET node %d failed",
			 nodes[i]);
		NB_CHECK(nlw_u64(m, NUMABUF_A_NODE_POOL_TARGET) == p.target &&
			 nlw_u64(m, NUMABUF_A_NODE_POOL_SIZE) == p.pool_bytes,
			 "node %d: pool target %llu size %llu, POOL_GET says %llu and %llu",
			 nodes[i],
			 NLW_U64(m, NUMABUF_A_NODE_POOL_TARGET),
			 NLW_U64(m, NUMABUF_A_NODE_POOL_SIZE),
			 (unsigned long long)p.target,
			 (unsigned long long)p.pool_bytes);
		sum_buffers += (long long)nlw_u64(m, NUMABUF_A_NODE_BUFFERS);
		nlw_reply_free(&r);
	}
	/* The per-node buffers add up to the module's debugfs total. */
	NB_CHECK(sum_buffers == st.buffers,
		 "node-get buffers add up to %lld, debugfs stats say %lld",
		 sum_buffers, st.buffers);

	/* One buffer on a node moves that node's counters, no other's. */
	for (i = 0; i < n; i++) {
		struct nlw_reply r0, r1;
		struct numabuf_alloc a;

		nlw_node_dump(sk, fam, &r0);
		a = nb_alloc_ok(fd, 64 * NB_KIB, nodes[i], NUMABUF_F_NO_POOL);
		NB_CHECK(a.node == nodes[i], "buffer on node %d, asked %d",
			 a.node, nodes[i]);
		nlw_node_dump(sk, fam, &r1);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		for (j = 0; j < n; j++) {
			const struct nlw_msg *m0 = nlw_dump_node(&r0, nodes[j]);
			const struct nlw_msg *m1 = nlw_dump_node(&r1, nodes[j]);
			uint64_t dn = j == i;
			int t;

			NB_CHECK(nlw_u64(m1, NUMABUF_A_NODE_BUFFERS) ==
				 nlw_u64(m0, NUMABUF_A_NODE_BUFFERS) + dn &&
				 nlw_u64(m1, NUMABUF_A_NODE_BYTES) ==
				 nlw_u64(m0, NUMABUF_A_NODE_BYTES) + dn * 64 * NB_KIB &&
				 nlw_u64(m1, NUMABUF_A_NODE_ALLOCS_PAGES) ==
				 nlw_u64(m0, NUMABUF_A_NODE_ALLOCS_PAGES) + dn,
				 "node %d: buffers %llu -> %llu, bytes %llu -> %llu, allocs-pages %llu -> %llu after a 64 KiB buffer on node %d",
				 nodes[j],
				 NLW_U64(m0, NUMABUF_A_NODE_BUFFERS),
				 NLW_U64(m1, NUMABUF_A_NODE_BUFFERS),
				 NLW_U64(m0, NUMABUF_A_NODE_BYTES),
				 NLW_U64(m1, NUMABUF_A_NODE_BYTES),
				 NLW_U64(m0, NUMABUF_A_NODE_ALLOCS_PAGES),
				 NLW_U64(m1, NUMABUF_A_NODE_ALLOCS_PAGES),
				 nodes[i]);
			for (t = NUMABUF_A_NODE_ALLOCS_RANGE;
			     t <= NUMABUF_A_NODE_FAILS_POOL; t++)
				NB_CHECK(nlw_u64(m1, t) == nlw_u64(m0, t),
					 "node %d: %s moved with a 64 KiB buffer on node %d",
					 nodes[j], nlw_set_node.attr[t], nodes[i]);
		}
		nlw_reply_free(&r0);
		nlw_reply_free(&r1);
	}
	close(fd);
	nl_socket_free(sk);
}

NB_TEST(node_get_dump,
	"node-get dump: one NODE_GET message per node of has_memory, each once and in order, all NLM_F_MULTI with the spec's attributes, then NLMSG_DONE; with an id, that node alone")
{
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), nodes[NB_MAX_NODES], n, i;
	struct nlw_reply r;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	NLW_DUMP(sk, nlw_req(fam, NUMABUF_CMD_NODE_GET, NLM_F_DUMP),
		 NUMABUF_CMD_NODE_GET, &r);
	NB_CHECK(r.n == n, "dump of %d nodes, has_memory lists %d", r.n, n);
	for (i = 0; i < n; i++) {
		NLW_CHECK_ATTRS(&r.msg[i], &nlw_set_node, nlw_node_all,
				"node-get dump message");
		nlw_node_sane(&r.msg[i], nodes[i]);
	}
	nlw_reply_free(&r);

	/* An id in the dump request restricts it to that node. */
	for (i = 0; i < n; i++) {
		NLW_DUMP(sk, nlw_node_req_flags(fam, nodes[i], NLM_F_DUMP),
			 NUMABUF_CMD_NODE_GET, &r);
		NB_CHECK(r.n == 1, "dump with id %d: %d messages", nodes[i],
			 r.n);
		NLW_CHECK_ATTRS(&r.msg[0], &nlw_set_node, nlw_node_all,
				"node-get dump message");
		nlw_node_sane(&r.msg[0], nodes[i]);
		nlw_reply_free(&r);
	}
	nl_socket_free(sk);
}

/* ---- buf-get ------------------------------------------------------------- */

/* buf-get dump with the filters that are >= 0. */
static void nlw_buf_dump_at(const char *file, int line, struct nl_sock *sk,
			    int fam, long long node, long long pid,
			    long long uid, bool admin, struct nlw_reply *r)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_BUF_GET, NLM_F_DUMP);
	uint32_t *ids;
	int i, j;

	if (node >= 0)
		nlw_put_u32(msg, NUMABUF_A_BUF_NODE, node);
	if (pid >= 0)
		nlw_put_u32(msg, NUMABUF_A_BUF_PID, pid);
	if (uid >= 0)
		nlw_put_u32(msg, NUMABUF_A_BUF_UID, uid);
	nlw_dump_at(file, line, sk, msg, NUMABUF_CMD_BUF_GET, r);

	ids = calloc(r->n + 1, sizeof(*ids));
	NB_CHECK(ids, "out of memory");
	for (i = 0; i < r->n; i++) {
		const struct nlw_msg *m = &r->msg[i];

		if (admin)
			nlw_check_attrs_at(file, line, m, &nlw_set_buf,
					   nlw_buf_all, NLW_N(nlw_buf_all),
					   "buf-get message");
		else
			nlw_check_attrs_at(file, line, m, &nlw_set_buf,
					   nlw_buf_unpriv,
					   NLW_N(nlw_buf_unpriv),
					   "buf-get message (unprivileged)");
		ids[i] = nlw_u32(m, NUMABUF_A_BUF_ID);
		if (!ids[i])
			nb_fail_at(file, line, "buffer id 0");
		for (j = 0; j < i; j++)
			if (ids[j] == ids[i])
				nb_fail_at(file, line, "buffer id %u listed twice",
					   ids[i]);
		if ((node >= 0 && nlw_u32(m, NUMABUF_A_BUF_NODE) != node) ||
		    (pid >= 0 && nlw_u32(m, NUMABUF_A_BUF_PID) != pid) ||
		    (uid >= 0 && nlw_u32(m, NUMABUF_A_BUF_UID) != uid))
			nb_fail_at(file, line,
				   "filter node %lld pid %lld uid %lld let through buffer %u of node %u pid %u uid %u",
				   node, pid, uid, ids[i],
				   nlw_u32(m, NUMABUF_A_BUF_NODE),
				   nlw_u32(m, NUMABUF_A_BUF_PID),
				   nlw_u32(m, NUMABUF_A_BUF_UID));
		if (nlw_u64(m, NUMABUF_A_BUF_SIZE) == 0 ||
		    nlw_u64(m, NUMABUF_A_BUF_SIZE) % NB_PAGE)
			nb_fail_at(file, line, "buffer %u of %llu bytes", ids[i],
				   NLW_U64(m, NUMABUF_A_BUF_SIZE));
	}
	free(ids);
}
#define NLW_BUF_DUMP(sk, fam, node, pid, uid, admin, r) \
	nlw_buf_dump_at(NB_FILE, __LINE__, sk, fam, node, pid, uid, admin, r)

/* How many buffers of the dump are @size bytes of process @pid on @node. */
static int nlw_count(const struct nlw_reply *r, pid_t pid, uint64_t size,
		     int node, const struct nlw_msg **found)
{
	int i, k = 0;

	for (i = 0; i < r->n; i++)
		if (nlw_u32(&r->msg[i], NUMABUF_A_BUF_PID) == (uint32_t)pid &&
		    nlw_u64(&r->msg[i], NUMABUF_A_BUF_SIZE) == size &&
		    nlw_u32(&r->msg[i], NUMABUF_A_BUF_NODE) == (uint32_t)node) {
			if (found)
				*found = &r->msg[i];
			k++;
		}
	return k;
}

/* The buffer listed exactly once; returns its message. */
static const struct nlw_msg *nlw_find_at(const char *file, int line,
					 const struct nlw_reply *r, pid_t pid,
					 uint64_t size, int node,
					 const char *what)
{
	const struct nlw_msg *m = NULL;
	int k = nlw_count(r, pid, size, node, &m);

	if (k != 1)
		nb_fail_at(file, line,
			   "%s (pid %d, %llu bytes, node %d) listed %d times, expected once",
			   what, pid, (unsigned long long)size, node, k);
	return m;
}
#define NLW_FIND(r, pid, size, node, what) \
	nlw_find_at(NB_FILE, __LINE__, r, pid, size, node, what)

#define NLW_ABSENT(r, pid, size, node, what)				\
	NB_CHECK(!nlw_count(r, pid, size, node, NULL),			\
		 "%s (pid %d, %llu bytes, node %d) listed, but should not be", \
		 what, (int)(pid), (unsigned long long)(size), node)

struct nlw_testbuf {
	const char *name;
	uint64_t size;
	int node;
	uint32_t flags;
	int maps;
	struct numabuf_alloc a;
	struct numabuf_info info;
	void *map[2];
	uint64_t phys;			/* from pagemap, 0 if not mapped */
};

NB_TEST(buf_get_dump,
	"buf-get dump lists each buffer of this process once (size, node, pid = getpid(), uid = getuid(), comm = /proc/self/comm, map-count = its mmap()s, flags, source as INFO, created within the test's time, phys = pagemap pfn * 4096), ids unique; node, pid and uid filters narrow exactly (a child's buffer as nobody tells them apart); after FREE while mapped it stays until the last munmap")
{
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), nodes[NB_MAX_NODES], n, fd = nb_open();
	int go[2], ready[2], n0, n1;
	struct nlw_testbuf b[3] = {
		{ .name = "A", .size = 64 * NB_KIB, .flags = 0, .maps = 2 },
		{ .name = "B", .size = 2 * NB_MIB, .flags = NUMABUF_F_NO_POOL,
		  .maps = 1 },
		{ .name = "C", .size = 12 * NB_KIB, .flags = 0, .maps = 0 },
	};
	const uint64_t dsize = 16 * NB_KIB;
	long long t0, t1;
	char comm[32];
	pid_t me = getpid(), child;
	struct nlw_reply r;
	size_t i;
	int k;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];
	n1 = nodes[n > 1 ? 1 : 0];
	b[0].node = n0;
	b[1].node = n1;
	b[2].node = n1;
	nlw_comm(comm, sizeof(comm));

	/*
	 * A buffer of another process and user: a child become nobody,
	 * forked before the mappings below, which it would share (map-count
	 * counts the VMAs of every process).
	 */
	NB_SYS(pipe(go));
	NB_SYS(pipe(ready));
	child = NB_SYS(fork());
	if (!child) {
		struct numabuf_alloc d;

		nb_drop_privileges();
		d = nb_alloc_ok(fd, dsize, n0, 0);
		nlw_signal(ready[1]);
		nlw_wait(go[0]);
		NB_CHECK(!nb_free(fd, d.handle), "FREE as nobody failed");
		_exit(0);
	}
	nlw_wait(ready[0]);

	t0 = nlw_realtime_ns();
	for (i = 0; i < NLW_N(b); i++) {
		b[i].a = nb_alloc_ok(fd, b[i].size, b[i].node, b[i].flags);
		NB_CHECK(b[i].a.length == b[i].size && b[i].a.node == b[i].node,
			 "buffer %s: %llu bytes on node %d", b[i].name,
			 (unsigned long long)b[i].a.length, b[i].a.node);
		for (k = 0; k < b[i].maps; k++)
			b[i].map[k] = nb_map(fd, b[i].a.offset, b[i].size);
		if (b[i].maps) {
			uint64_t pfn;

			/* Present in the page table before pagemap is read. */
			(void)*(volatile char *)b[i].map[0];
			nb_pfns(b[i].map[0], 1, &pfn);
			NB_CHECK(pfn, "buffer %s: no pfn in pagemap", b[i].name);
			b[i].phys = pfn * NB_PAGE;
		}
		NB_CHECK(!nb_info(fd, b[i].a.handle, &b[i].info), "INFO failed");
	}
	t1 = nlw_realtime_ns();

	NLW_BUF_DUMP(sk, fam, -1, -1, -1, true, &r);
	for (i = 0; i < NLW_N(b); i++) {
		const struct nlw_msg *m = NLW_FIND(&r, me, b[i].size, b[i].node,
						   b[i].name);
		long long created = (long long)nlw_u64(m, NUMABUF_A_BUF_CREATED);

		NB_CHECK(nlw_u32(m, NUMABUF_A_BUF_UID) == getuid(),
			 "buffer %s: uid %u, getuid() %u", b[i].name,
			 nlw_u32(m, NUMABUF_A_BUF_UID), getuid());
		NB_CHECK(!strcmp(nlw_str(m, NUMABUF_A_BUF_COMM), comm),
			 "buffer %s: comm \"%s\", /proc/self/comm \"%s\"",
			 b[i].name, nlw_str(m, NUMABUF_A_BUF_COMM), comm);
		NB_CHECK(nlw_u32(m, NUMABUF_A_BUF_MAP_COUNT) == (uint32_t)b[i].maps,
			 "buffer %s: map-count %u, mapped %d times", b[i].name,
			 nlw_u32(m, NUMABUF_A_BUF_MAP_COUNT), b[i].maps);
		NB_CHECK(nlw_u32(m, NUMABUF_A_BUF_FLAGS) == b[i].flags,
			 "buffer %s: flags %#x, given %#x", b[i].name,
			 nlw_u32(m, NUMABUF_A_BUF_FLAGS), b[i].flags);
		NB_CHECK(nlw_u32(m, NUMABUF_A_BUF_SOURCE) == b[i].info.source,
			 "buffer %s: source %u, INFO says %u", b[i].name,
			 nlw_u32(m, NUMABUF_A_BUF_SOURCE), b[i].info.source);
		NB_CHECK(created >= t0 - NLW_NSEC && created <= t1 + NLW_NSEC,
			 "buffer %s: created %lld ns, allocated between %lld and %lld",
			 b[i].name, created, t0, t1);
		NB_CHECK(nlw_u64(m, NUMABUF_A_BUF_PHYS) == b[i].info.phys,
			 "buffer %s: phys %#llx, INFO says %#llx", b[i].name,
			 NLW_U64(m, NUMABUF_A_BUF_PHYS),
			 (unsigned long long)b[i].info.phys);
		if (b[i].phys)
			NB_CHECK(nlw_u64(m, NUMABUF_A_BUF_PHYS) == b[i].phys,
				 "buffer %s: phys %#llx, pagemap says %#llx",
				 b[i].name,
				 NLW_U64(m, NUMABUF_A_BUF_PHYS),
				 (unsigned long long)b[i].phys);
	}
	{
		const struct nlw_msg *m = NLW_FIND(&r, child, dsize, n0,
						   "nobody's buffer");

		NB_CHECK(nlw_u32(m, NUMABUF_A_BUF_UID) == NB_NOBODY,
			 "nobody's buffer: uid %u", nlw_u32(m, NUMABUF_A_BUF_UID));
		NB_CHECK(!strcmp(nlw_str(m, NUMABUF_A_BUF_COMM), comm),
			 "nobody's buffer: comm \"%s\"",
			 nlw_str(m, NUMABUF_A_BUF_COMM));
	}
	nlw_reply_free(&r);

	/* Each filter, and two together. */
	NLW_BUF_DUMP(sk, fam, n0, -1, -1, true, &r);
	NLW_FIND(&r, me, b[0].size, n0, "A (node filter)");
	NLW_FIND(&r, child, dsize, n0, "nobody's buffer (node filter)");
	if (n1 != n0) {
		NLW_ABSENT(&r, me, b[1].size, n1, "B (node filter)");
		NLW_ABSENT(&r, me, b[2].size, n1, "C (node filter)");
	}
	nlw_reply_free(&r);

	NLW_BUF_DUMP(sk, fam, -1, me, -1, true, &r);
	NB_CHECK(r.n == (int)NLW_N(b), "pid filter: %d buffers, expected %zu",
		 r.n, NLW_N(b));
	for (i = 0; i < NLW_N(b); i++)
		NLW_FIND(&r, me, b[i].size, b[i].node, b[i].name);
	nlw_reply_free(&r);

	NLW_BUF_DUMP(sk, fam, -1, child, -1, true, &r);
	NB_CHECK(r.n == 1, "pid filter (child): %d buffers, expected 1", r.n);
	NLW_FIND(&r, child, dsize, n0, "nobody's buffer (pid filter)");
	nlw_reply_free(&r);

	NLW_BUF_DUMP(sk, fam, -1, -1, NB_NOBODY, true, &r);
	NLW_FIND(&r, child, dsize, n0, "nobody's buffer (uid filter)");
	for (i = 0; i < NLW_N(b); i++)
		NLW_ABSENT(&r, me, b[i].size, b[i].node, b[i].name);
	nlw_reply_free(&r);

	NLW_BUF_DUMP(sk, fam, -1, -1, 0, true, &r);
	for (i = 0; i < NLW_N(b); i++)
		NLW_FIND(&r, me, b[i].size, b[i].node, b[i].name);
	NLW_ABSENT(&r, child, dsize, n0, "nobody's buffer (uid 0 filter)");
	nlw_reply_free(&r);

	NLW_BUF_DUMP(sk, fam, n1, me, 0, true, &r);
	NB_CHECK(r.n == (n1 == n0 ? 3 : 2),
		 "node %d + pid + uid 0 filter: %d buffers", n1, r.n);
	nlw_reply_free(&r);

	nlw_signal(go[1]);
	NB_WAIT_OK(child);
	NLW_BUF_DUMP(sk, fam, -1, child, -1, true, &r);
	NB_CHECK(r.n == 0, "the child's buffer is still listed after its FREE");
	nlw_reply_free(&r);

	/* FREE while mapped: listed until the last munmap. */
	NB_CHECK(!nb_free(fd, b[0].a.handle), "FREE A failed");
	NLW_BUF_DUMP(sk, fam, -1, me, -1, true, &r);
	NB_CHECK(nlw_u32(NLW_FIND(&r, me, b[0].size, n0, "A after FREE"),
			 NUMABUF_A_BUF_MAP_COUNT) == 2,
		 "A after FREE: map-count not 2");
	nlw_reply_free(&r);
	NB_SYS(munmap(b[0].map[0], b[0].size));
	NLW_BUF_DUMP(sk, fam, -1, me, -1, true, &r);
	NB_CHECK(nlw_u32(NLW_FIND(&r, me, b[0].size, n0, "A after 1 munmap"),
			 NUMABUF_A_BUF_MAP_COUNT) == 1,
		 "A after one munmap: map-count not 1");
	nlw_reply_free(&r);
	NB_SYS(munmap(b[0].map[1], b[0].size));
	NLW_BUF_DUMP(sk, fam, -1, me, -1, true, &r);
	NLW_ABSENT(&r, me, b[0].size, n0, "A after FREE and the last munmap");
	NB_CHECK(r.n == 2, "%d buffers listed, expected B and C", r.n);
	nlw_reply_free(&r);

	NB_CHECK(!nb_free(fd, b[1].a.handle), "FREE B failed");
	NB_SYS(munmap(b[1].map[0], b[1].size));
	NB_CHECK(!nb_free(fd, b[2].a.handle), "FREE C failed");
	NLW_BUF_DUMP(sk, fam, -1, me, -1, true, &r);
	NB_CHECK(r.n == 0, "%d buffers of this process still listed", r.n);
	nlw_reply_free(&r);
	close(fd);
	nl_socket_free(sk);
}

NB_TEST(buf_get_unprivileged,
	"buf-get as nobody lists only nobody's buffers (its own, allocated through an fd root opened; not root's), never phys; root without CAP_SYS_ADMIN sees root's buffers but not nobody's, and no phys either")
{
	int fd = nb_open(), nodes[NB_MAX_NODES], n0, go[2], ready[2];
	const uint64_t rsize = 20 * NB_KIB, nsize = 24 * NB_KIB;
	struct numabuf_alloc ra;
	pid_t me = getpid(), c1, c2;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];
	ra = nb_alloc_ok(fd, rsize, n0, 0);

	NB_SYS(pipe(go));
	NB_SYS(pipe(ready));
	c1 = NB_SYS(fork());
	if (!c1) {
		struct numabuf_alloc na;
		struct nl_sock *sk;
		struct nlw_reply r;
		int fam, i;

		nb_drop_privileges();
		na = nb_alloc_ok(fd, nsize, n0, 0);
		/* Opened by nobody: its credentials are the socket's. */
		sk = nlw_socket();
		fam = nlw_family(sk);
		NLW_BUF_DUMP(sk, fam, -1, -1, -1, false, &r);
		for (i = 0; i < r.n; i++)
			NB_CHECK(nlw_u32(&r.msg[i], NUMABUF_A_BUF_UID) == NB_NOBODY,
				 "nobody sees buffer %u of uid %u",
				 nlw_u32(&r.msg[i], NUMABUF_A_BUF_ID),
				 nlw_u32(&r.msg[i], NUMABUF_A_BUF_UID));
		NLW_FIND(&r, getpid(), nsize, n0, "nobody's own buffer");
		NLW_ABSENT(&r, me, rsize, n0, "root's buffer");
		nlw_reply_free(&r);
		/* Asking for root's buffers by name gives nothing either. */
		NLW_BUF_DUMP(sk, fam, -1, -1, 0, false, &r);
		NB_CHECK(r.n == 0, "nobody filtering on uid 0 sees %d buffers",
			 r.n);
		nlw_reply_free(&r);
		NLW_BUF_DUMP(sk, fam, -1, me, -1, false, &r);
		NB_CHECK(r.n == 0, "nobody filtering on root's pid sees %d buffers",
			 r.n);
		nlw_reply_free(&r);
		nl_socket_free(sk);

		nlw_signal(ready[1]);
		nlw_wait(go[0]);
		NB_CHECK(!nb_free(fd, na.handle), "FREE as nobody failed");
		_exit(0);
	}
	nlw_wait(ready[0]);

	c2 = NB_SYS(fork());
	if (!c2) {
		struct nl_sock *sk;
		struct nlw_reply r;
		int fam, i;

		nlw_drop_cap(CAP_SYS_ADMIN);
		sk = nlw_socket();
		fam = nlw_family(sk);
		NLW_BUF_DUMP(sk, fam, -1, -1, -1, false, &r);
		for (i = 0; i < r.n; i++)
			NB_CHECK(nlw_u32(&r.msg[i], NUMABUF_A_BUF_UID) == 0,
				 "root without CAP_SYS_ADMIN sees buffer %u of uid %u",
				 nlw_u32(&r.msg[i], NUMABUF_A_BUF_ID),
				 nlw_u32(&r.msg[i], NUMABUF_A_BUF_UID));
		NLW_FIND(&r, me, rsize, n0, "root's buffer (no CAP_SYS_ADMIN)");
		NLW_ABSENT(&r, c1, nsize, n0, "nobody's buffer (no CAP_SYS_ADMIN)");
		nlw_reply_free(&r);
		nl_socket_free(sk);
		_exit(0);
	}
	NB_WAIT_OK(c2);
	nlw_signal(go[1]);
	NB_WAIT_OK(c1);
	NB_CHECK(!nb_free(fd, ra.handle), "FREE failed");
	close(fd);
}

/* ---- refusals ------------------------------------------------------------ */

/* The answer was an NLMSG_ERROR with @err; nothing else came. */
#define NLW_EXPECT_ERR(r, got, err)					\
	do {								\
		NB_CHECK((got) == (err) && !(r)->done && !(r)->n,	\
			 "expected %s, got %s with %d messages%s (\"%s\")", \
			 nb_errname(err), nb_errname(got), (r)->n,	\
			 (r)->done ? " and NLMSG_DONE" : "", (r)->ext_msg); \
		NB_CHECK((r)->tlvs || !(r)->ext_msg[0],			\
			 "extended ACK without NLM_F_ACK_TLVS");	\
	} while (0)

/*
 * A dump refused once it has begun: no data message, NLMSG_DONE carrying
 * -@err and the extended ACK message @text.  6.1 puts no offset in an
 * NLMSG_DONE, 6.12 does; if there is one it must be @offs, that of the
 * attribute named (NLMSG_DONE does not echo the request to look at).
 */
static void nlw_expect_dump_err_at(const char *file, int line,
				   const struct nlw_reply *r, int got, int err,
				   const char *text, uint32_t offs, int type)
{
	if (got != err || !r->done || r->n)
		nb_fail_at(file, line,
			   "expected NLMSG_DONE with %s, got %s with %d messages%s (\"%s\")",
			   nb_errname(err), nb_errname(got), r->n,
			   r->done ? " and NLMSG_DONE" : " and no NLMSG_DONE",
			   r->ext_msg);
	if (!r->tlvs || strcmp(r->ext_msg, text))
		nb_fail_at(file, line, "NLMSG_DONE message \"%s\", expected \"%s\"",
			   r->ext_msg, text);
	if (r->has_offs && r->offs != offs)
		nb_fail_at(file, line,
			   "NLMSG_DONE: NLMSGERR_ATTR_OFFS %u, expected %u (attribute %d)",
			   r->offs, offs, type);
}
#define NLW_EXPECT_DUMP_ERR(r, got, err, text, offs, type) \
	nlw_expect_dump_err_at(NB_FILE, __LINE__, r, got, err, text, offs, type)

/* A node id below MAX_NUMNODES that has no memory, or -1. */
static int nlw_node_without_memory(const int *nodes, int n)
{
	char val[16];
	int shift = 6, id, i;

	/* MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT (6 if it cannot be read). */
	if (nb_kconfig("CONFIG_NODES_SHIFT", val, sizeof(val)) == 1)
		shift = atoi(val);
	for (id = 0; id < (1 << shift); id++) {
		for (i = 0; i < n && nodes[i] != id; i++)
			;
		if (i == n)
			return id;
	}
	return -1;
}

NB_TEST(policy_errors,
	"with NETLINK_EXT_ACK: node-get without id -> EINVAL, MISS_TYPE id; unknown attribute 200 -> EINVAL, OFFS at it; id as u16 -> EINVAL, OFFS at it; id 100000 -> EINVAL \"id: out of range\", a node without memory -> ENODEV \"id: no such node with memory\", OFFS at it; pool-set without node -> MISS_TYPE node, nothing to set -> EINVAL, node 100000 -> EINVAL \"node: out of range\"; limit-set with nothing -> EINVAL; limit-get with an attribute -> EINVAL; dumps refused in NLMSG_DONE: buf-get pid 0, uid -1, node 100000, node-get id 100000 -> EINVAL with the attribute named; notification and unknown commands, buf-get as do -> EOPNOTSUPP")
{
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), nodes[NB_MAX_NODES], n, n0, none, err;
	char comm[32], warn[NB_KMSG_EXPECT_LEN];
	struct nlw_reply r;
	struct nl_msg *msg;
	uint32_t offs;

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];
	none = nlw_node_without_memory(nodes, n);
	nlw_comm(comm, sizeof(comm));

	/* node-get without its id: the missing attribute is named. */
	err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_NODE_GET, 0), &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(r.has_miss && r.miss_type == NUMABUF_A_NODE_ID,
		 "node-get without id: MISS_TYPE %s%u, expected %d",
		 r.has_miss ? "" : "absent ", r.miss_type, NUMABUF_A_NODE_ID);
	NB_CHECK(!r.has_offs, "node-get without id: an OFFS (%u)", r.offs);
	nlw_reply_free(&r);

	/* An attribute the family does not have (strict validation). */
	msg = nlw_node_req(fam, n0);
	nlw_put_u32(msg, 200, 1);
	offs = nlw_offset(msg, 200);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NLW_EXPECT_OFFS(&r, offs, 200);
	NB_CHECK(r.ext_msg[0], "unknown attribute: no message");
	nlw_reply_free(&r);

	/*
	 * id as a u16.  The kernel warns about it in its log as well, as it
	 * does for any attribute of the wrong length.
	 */
	snprintf(warn, sizeof(warn),
		 "netlink: '%s': attribute type %d has an invalid length.",
		 comm, NUMABUF_A_NODE_ID);
	nb_kmsg_expect(warn);
	msg = nlw_req(fam, NUMABUF_CMD_NODE_GET, 0);
	nlw_put_u16(msg, NUMABUF_A_NODE_ID, n0);
	offs = nlw_offset(msg, NUMABUF_A_NODE_ID);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NLW_EXPECT_OFFS(&r, offs, NUMABUF_A_NODE_ID);
	nlw_reply_free(&r);

	/* Node ids the module refuses itself, naming the attribute. */
	msg = nlw_node_req(fam, 100000);
	offs = nlw_offset(msg, NUMABUF_A_NODE_ID);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(!strcmp(r.ext_msg, "id: out of range"),
		 "node 100000: message \"%s\"", r.ext_msg);
	NLW_EXPECT_OFFS(&r, offs, NUMABUF_A_NODE_ID);
	nlw_reply_free(&r);

	if (none >= 0) {
		msg = nlw_node_req(fam, none);
		offs = nlw_offset(msg, NUMABUF_A_NODE_ID);
		err = NLW_XFER(sk, msg, &r);
		NLW_EXPECT_ERR(&r, err, ENODEV);
		NB_CHECK(!strcmp(r.ext_msg, "id: no such node with memory"),
			 "node %d (no memory): message \"%s\"", none, r.ext_msg);
		NLW_EXPECT_OFFS(&r, offs, NUMABUF_A_NODE_ID);
		nlw_reply_free(&r);
	} else {
		nb_note("every node id has memory: no ENODEV case");
	}

	/* pool-set: its node is required, and something to set. */
	msg = nlw_req(fam, NUMABUF_CMD_POOL_SET, 0);
	nlw_put_u64(msg, NUMABUF_A_POOL_LOW, 0);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(r.has_miss && r.miss_type == NUMABUF_A_POOL_NODE,
		 "pool-set without node: MISS_TYPE %s%u, expected %d",
		 r.has_miss ? "" : "absent ", r.miss_type, NUMABUF_A_POOL_NODE);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_POOL_SET, 0);
	nlw_put_u32(msg, NUMABUF_A_POOL_NODE, n0);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(!strcmp(r.ext_msg, "nothing to set: give target, low or both"),
		 "pool-set with nothing to set: message \"%s\"", r.ext_msg);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_POOL_SET, 0);
	nlw_put_u32(msg, NUMABUF_A_POOL_NODE, 100000);
	nlw_put_u64(msg, NUMABUF_A_POOL_LOW, 0);
	offs = nlw_offset(msg, NUMABUF_A_POOL_NODE);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(!strcmp(r.ext_msg, "node: out of range"),
		 "pool-set node 100000: message \"%s\"", r.ext_msg);
	NLW_EXPECT_OFFS(&r, offs, NUMABUF_A_POOL_NODE);
	nlw_reply_free(&r);

	/* limit-set with nothing; limit-get with an attribute (it takes none). */
	err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_LIMIT_SET, 0), &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NB_CHECK(strstr(r.ext_msg, "nothing to set"),
		 "limit-set with nothing: message \"%s\"", r.ext_msg);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_LIMIT_GET, 0);
	nlw_put_u64(msg, NUMABUF_A_LIMIT_MAX_BYTES, 0);
	offs = nlw_offset(msg, NUMABUF_A_LIMIT_MAX_BYTES);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_ERR(&r, err, EINVAL);
	NLW_EXPECT_OFFS(&r, offs, NUMABUF_A_LIMIT_MAX_BYTES);
	nlw_reply_free(&r);

	/*
	 * Dump filters: read when the dump begins, so refused in its
	 * NLMSG_DONE, the message naming the attribute.
	 */
	msg = nlw_req(fam, NUMABUF_CMD_BUF_GET, NLM_F_DUMP);
	nlw_put_u32(msg, NUMABUF_A_BUF_PID, 0);
	offs = nlw_offset(msg, NUMABUF_A_BUF_PID);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_DUMP_ERR(&r, err, EINVAL, "pid: out of range", offs,
			    NUMABUF_A_BUF_PID);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_BUF_GET, NLM_F_DUMP);
	nlw_put_u32(msg, NUMABUF_A_BUF_UID, UINT32_MAX);
	offs = nlw_offset(msg, NUMABUF_A_BUF_UID);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_DUMP_ERR(&r, err, EINVAL,
			    "uid: not valid in the caller's user namespace",
			    offs, NUMABUF_A_BUF_UID);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_BUF_GET, NLM_F_DUMP);
	nlw_put_u32(msg, NUMABUF_A_BUF_NODE, 100000);
	offs = nlw_offset(msg, NUMABUF_A_BUF_NODE);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_DUMP_ERR(&r, err, EINVAL, "node: out of range", offs,
			    NUMABUF_A_BUF_NODE);
	nlw_reply_free(&r);

	msg = nlw_req(fam, NUMABUF_CMD_NODE_GET, NLM_F_DUMP);
	nlw_put_u32(msg, NUMABUF_A_NODE_ID, 100000);
	offs = nlw_offset(msg, NUMABUF_A_NODE_ID);
	err = NLW_XFER(sk, msg, &r);
	NLW_EXPECT_DUMP_ERR(&r, err, EINVAL, "id: out of range", offs,
			    NUMABUF_A_NODE_ID);
	nlw_reply_free(&r);

	/* Commands that are not requests. */
	err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_BUF_CREATED_NTF, 0), &r);
	NLW_EXPECT_ERR(&r, err, EOPNOTSUPP);
	nlw_reply_free(&r);
	err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_MAX + 1, 0), &r);
	NLW_EXPECT_ERR(&r, err, EOPNOTSUPP);
	nlw_reply_free(&r);
	err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_BUF_GET, 0), &r);
	NLW_EXPECT_ERR(&r, err, EOPNOTSUPP);
	nlw_reply_free(&r);
	nl_socket_free(sk);
}

/* ---- permissions --------------------------------------------------------- */

/*
 * What any user may do: node-get do and dump; limit-get only with
 * CAP_NET_ADMIN (@net_admin), else EPERM.
 */
static void nlw_reads_work(struct nl_sock *sk, int fam, int node,
			   bool net_admin)
{
	struct nlw_reply r;
	struct nlw_msg *m;
	int err;

	m = NLW_DO(sk, nlw_node_req(fam, node), NUMABUF_CMD_NODE_GET, &r);
	NLW_CHECK_ATTRS(m, &nlw_set_node, nlw_node_all, "node-get reply");
	nlw_reply_free(&r);
	NLW_DUMP(sk, nlw_req(fam, NUMABUF_CMD_NODE_GET, NLM_F_DUMP),
		 NUMABUF_CMD_NODE_GET, &r);
	NB_CHECK(r.n >= 1, "empty node-get dump");
	nlw_reply_free(&r);
	if (!net_admin) {
		err = NLW_XFER(sk, nlw_req(fam, NUMABUF_CMD_LIMIT_GET, 0), &r);
		NLW_EXPECT_ERR(&r, err, EPERM);
		nlw_reply_free(&r);
		return;
	}
	m = NLW_DO(sk, nlw_req(fam, NUMABUF_CMD_LIMIT_GET, 0),
		   NUMABUF_CMD_LIMIT_GET, &r);
	NLW_CHECK_ATTRS(m, &nlw_set_limit, nlw_limit_all, "limit-get reply");
	nlw_reply_free(&r);
}

static int nlw_pool_set_low(struct nl_sock *sk, int fam, int node,
			    uint64_t low, struct nlw_reply *r)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_POOL_SET, 0);

	nlw_put_u32(msg, NUMABUF_A_POOL_NODE, node);
	nlw_put_u64(msg, NUMABUF_A_POOL_LOW, low);
	return NLW_XFER(sk, msg, r);
}

static int nlw_limit_set_max(struct nl_sock *sk, int fam, uint64_t max,
			     struct nlw_reply *r)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_LIMIT_SET, 0);

	nlw_put_u64(msg, NUMABUF_A_LIMIT_MAX_BYTES, max);
	return NLW_XFER(sk, msg, r);
}

/* Joining the events group fails with EPERM. */
static void nlw_join_refused(struct nl_sock *sk, int grp)
{
	int ret;

	errno = 0;
	ret = nl_socket_add_membership(sk, grp);
	NB_CHECK(ret < 0 && errno == EPERM,
		 "joining the events group: %s (errno %s), expected EPERM",
		 ret < 0 ? nl_geterror(ret) : "joined", nb_errname(errno));
}

NB_TEST(permissions,
	"as nobody: pool-set, limit-get and limit-set -> EPERM, joining \"events\" -> EPERM, node-get (do, dump) works; as root without CAP_SYS_ADMIN: pool-set and limit-set -> EPERM with their messages, events -> EPERM, limit-get (CAP_NET_ADMIN) works")
{
	int nodes[NB_MAX_NODES], n0;
	unsigned long long max0 = nb_param("max_bytes");
	pid_t pid;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];

	pid = NB_SYS(fork());
	if (!pid) {
		struct nl_sock *sk;
		struct nlw_reply r;
		int fam, grp, err;

		nb_drop_privileges();
		sk = nlw_socket();
		fam = nlw_family(sk);
		/* Harmless requests, were they let through. */
		err = nlw_pool_set_low(sk, fam, n0, 0, &r);
		NLW_EXPECT_ERR(&r, err, EPERM);
		nlw_reply_free(&r);
		err = nlw_limit_set_max(sk, fam, max0, &r);
		NLW_EXPECT_ERR(&r, err, EPERM);
		nlw_reply_free(&r);
		grp = genl_ctrl_resolve_grp(sk, NUMABUF_FAMILY_NAME,
					    NUMABUF_MCGRP_EVENTS);
		NB_CHECK(grp > 0, "genl_ctrl_resolve_grp as nobody: %s",
			 nl_geterror(grp));
		nlw_join_refused(sk, grp);
		nlw_reads_work(sk, fam, n0, false);
		nl_socket_free(sk);
		_exit(0);
	}
	NB_WAIT_OK(pid);

	pid = NB_SYS(fork());
	if (!pid) {
		struct nl_sock *sk;
		struct nlw_reply r;
		int fam, grp, err;

		nlw_drop_cap(CAP_SYS_ADMIN);
		sk = nlw_socket();
		fam = nlw_family(sk);
		err = nlw_pool_set_low(sk, fam, n0, 0, &r);
		NLW_EXPECT_ERR(&r, err, EPERM);
		NB_CHECK(!strcmp(r.ext_msg, "setting a pool needs CAP_SYS_ADMIN"),
			 "pool-set without CAP_SYS_ADMIN: message \"%s\"",
			 r.ext_msg);
		nlw_reply_free(&r);
		/* CAP_NET_ADMIN is not enough to lift the caps. */
		err = nlw_limit_set_max(sk, fam, max0 + 4096, &r);
		NLW_EXPECT_ERR(&r, err, EPERM);
		NB_CHECK(!strcmp(r.ext_msg, "setting a limit needs CAP_SYS_ADMIN"),
			 "limit-set without CAP_SYS_ADMIN: message \"%s\"",
			 r.ext_msg);
		nlw_reply_free(&r);
		grp = genl_ctrl_resolve_grp(sk, NUMABUF_FAMILY_NAME,
					    NUMABUF_MCGRP_EVENTS);
		NB_CHECK(grp > 0, "genl_ctrl_resolve_grp: %s", nl_geterror(grp));
		nlw_join_refused(sk, grp);
		nlw_reads_work(sk, fam, n0, true);
		nl_socket_free(sk);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_CHECK(nb_param("max_bytes") == max0, "max_bytes changed");
}

/* ---- limits -------------------------------------------------------------- */

struct nlw_limits_ctx {
	unsigned long long max0, umax0;
};

static void nlw_limit_get(struct nl_sock *sk, int fam, uint64_t *max,
			  uint64_t *umax, uint64_t *total)
{
	struct nlw_reply r;
	struct nlw_msg *m;

	m = NLW_DO(sk, nlw_req(fam, NUMABUF_CMD_LIMIT_GET, 0),
		   NUMABUF_CMD_LIMIT_GET, &r);
	NLW_CHECK_ATTRS(m, &nlw_set_limit, nlw_limit_all, "limit-get reply");
	*max = nlw_u64(m, NUMABUF_A_LIMIT_MAX_BYTES);
	*umax = nlw_u64(m, NUMABUF_A_LIMIT_MAX_USER_BYTES);
	*total = nlw_u64(m, NUMABUF_A_LIMIT_TOTAL_BYTES);
	nlw_reply_free(&r);
}

static void nlw_limit_set(struct nl_sock *sk, int fam, long long max,
			  long long umax)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_LIMIT_SET, 0);
	struct nlw_reply r;
	int err;

	if (max >= 0)
		nlw_put_u64(msg, NUMABUF_A_LIMIT_MAX_BYTES, max);
	if (umax >= 0)
		nlw_put_u64(msg, NUMABUF_A_LIMIT_MAX_USER_BYTES, umax);
	err = NLW_XFER(sk, msg, &r);
	NB_CHECK(!err && r.acked && !r.n, "limit-set %lld %lld: %s (\"%s\")",
		 max, umax, nb_errname(err), r.ext_msg);
	nlw_reply_free(&r);
}

static void nlw_limits_work(void *arg)
{
	struct nlw_limits_ctx *c = arg;
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), fd = nb_open(), nodes[NB_MAX_NODES], n0;
	uint64_t max, umax, total, total1, v1, v2;
	struct numabuf_alloc a, b;
	struct nb_stats st;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];

	nlw_limit_get(sk, fam, &max, &umax, &total);
	st = nb_stats_read();
	NB_CHECK(max == c->max0 && umax == c->umax0,
		 "limit-get %llu %llu, the parameters say %llu %llu",
		 (unsigned long long)max, (unsigned long long)umax, c->max0,
		 c->umax0);
	NB_CHECK(total == (uint64_t)st.bytes,
		 "total-bytes %llu, debugfs stats %lld",
		 (unsigned long long)total, st.bytes);

	a = nb_alloc_ok(fd, NB_MIB, n0, 0);
	nlw_limit_get(sk, fam, &max, &umax, &total1);
	NB_CHECK(total1 == total + NB_MIB,
		 "total-bytes %llu -> %llu after a 1 MiB buffer",
		 (unsigned long long)total, (unsigned long long)total1);

	/* Both caps, odd values; read back both ways. */
	v1 = total1 + 2 * NB_MIB + 5 * NB_PAGE;
	v2 = 7 * NB_MIB + 2 * NB_PAGE;
	nlw_limit_set(sk, fam, v1, v2);
	nlw_limit_get(sk, fam, &max, &umax, &total);
	NB_CHECK(max == v1 && umax == v2,
		 "limit-get after limit-set %llu %llu: %llu %llu",
		 (unsigned long long)v1, (unsigned long long)v2,
		 (unsigned long long)max, (unsigned long long)umax);
	NB_CHECK(nb_param("max_bytes") == v1 && nb_param("max_user_bytes") == v2,
		 "parameters after limit-set %llu %llu: %llu %llu",
		 (unsigned long long)v1, (unsigned long long)v2,
		 nb_param("max_bytes"), nb_param("max_user_bytes"));

	/* The cap bites: 4 MiB does not fit under it, 2 MiB does. */
	NB_CHECK(nb_alloc(fd, 4 * NB_MIB, n0, 0, NULL) == -EDQUOT,
		 "4 MiB over the max-bytes cap set by limit-set: not EDQUOT");
	b = nb_alloc_ok(fd, 2 * NB_MIB, n0, 0);
	NB_CHECK(!nb_free(fd, b.handle), "FREE failed");

	/* One cap alone leaves the other. */
	nlw_limit_set(sk, fam, -1, 0);
	NB_CHECK(nb_param("max_bytes") == v1 && nb_param("max_user_bytes") == 0,
		 "limit-set of max-user-bytes alone: parameters %llu %llu",
		 nb_param("max_bytes"), nb_param("max_user_bytes"));

	nlw_limit_set(sk, fam, c->max0, c->umax0);
	NB_CHECK(nb_param("max_bytes") == c->max0 &&
		 nb_param("max_user_bytes") == c->umax0,
		 "parameters not restored by limit-set");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
	nl_socket_free(sk);
}

static void nlw_limits_restore(void *arg)
{
	struct nlw_limits_ctx *c = arg;

	if (nb_param_write("max_bytes", c->max0) ||
	    nb_param_write("max_user_bytes", c->umax0))
		NB_FAIL("cannot restore the limit parameters");
}

NB_TEST(limits,
	"limit-get equals the module parameters and total-bytes the debugfs total (+1 MiB with a 1 MiB buffer); limit-set of both caps reads back through limit-get and /sys/module/numabuf/parameters, the cap refuses a buffer over it (EDQUOT), one cap alone leaves the other; both restored")
{
	struct nlw_limits_ctx c = {
		.max0 = nb_param("max_bytes"),
		.umax0 = nb_param("max_user_bytes"),
	};

	NLW_GUARDED(nlw_limits_work, nlw_limits_restore, &c);
	NB_CHECK(nb_param("max_bytes") == c.max0 &&
		 nb_param("max_user_bytes") == c.umax0,
		 "limits not back");
}

/* ---- events -------------------------------------------------------------- */

struct nlw_events {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	struct nlw_reply q;	/* events received; q.msg[next] is the next */
	int next;
};

/* A socket in the events group, as root. */
static void nlw_events_open(struct nlw_events *ev)
{
	int grp, ret;

	memset(ev, 0, sizeof(*ev));
	ev->sk = nlw_socket();
	ev->family = nlw_family(ev->sk);
	grp = genl_ctrl_resolve_grp(ev->sk, NUMABUF_FAMILY_NAME,
				    NUMABUF_MCGRP_EVENTS);
	NB_CHECK(grp > 0, "genl_ctrl_resolve_grp: %s", nl_geterror(grp));
	ret = nl_socket_add_membership(ev->sk, grp);
	NB_CHECK(!ret, "joining the events group: %s", nl_geterror(ret));
	/* Events come with sequence number 0 and port 0. */
	ev->q.family = ev->family;
	ev->cb = nlw_cb(&ev->q);
}

static void nlw_events_close(struct nlw_events *ev)
{
	nl_cb_put(ev->cb);
	nl_socket_free(ev->sk);
	nlw_reply_free(&ev->q);
}

/* The next event, of command @cmd; fails after nlw_wait_secs(). */
static const struct nlw_msg *nlw_event_at(const char *file, int line,
					  struct nlw_events *ev, uint8_t cmd,
					  const char *what)
{
	const struct nlw_msg *m;

	while (ev->next == ev->q.n) {
		int ret = nl_recvmsgs(ev->sk, ev->cb);

		if (ret == -NLE_AGAIN)
			nb_fail_at(file, line, "%s: no event within %u s", what,
				   nlw_wait_secs());
		if (ret < 0)
			nb_fail_at(file, line, "%s: nl_recvmsgs: %s", what,
				   nl_geterror(ret));
		if (ev->q.badseq || ev->q.other || ev->q.finished)
			nb_fail_at(file, line,
				   "%s: a message on the events socket that is not an event of the family",
				   what);
	}
	m = &ev->q.msg[ev->next++];
	if (m->cmd != cmd || m->version != NUMABUF_FAMILY_VERSION ||
	    m->flags != 0)
		nb_fail_at(file, line,
			   "%s: event of command %u version %u flags %#x, expected command %u version %u flags 0",
			   what, m->cmd, m->version, m->flags, cmd,
			   NUMABUF_FAMILY_VERSION);
	return m;
}
#define NLW_EVENT(ev, cmd, what) nlw_event_at(NB_FILE, __LINE__, ev, cmd, what)

/* No event is waiting, even after a while. */
static void nlw_events_quiet(struct nlw_events *ev)
{
	int ret;

	NB_CHECK(ev->next == ev->q.n, "%d more events", ev->q.n - ev->next);
	nlw_set_timeout(ev->sk, 500);
	ret = nl_recvmsgs(ev->sk, ev->cb);
	NB_CHECK(ret == -NLE_AGAIN && ev->next == ev->q.n,
		 "an unexpected event (command %u)",
		 ev->next < ev->q.n ? ev->q.msg[ev->next].cmd : 0);
	nlw_set_timeout(ev->sk, nlw_wait_secs() * 1000L);
}

/* buf-created-ntf of a buffer this process just allocated. */
static uint32_t nlw_created_at(const char *file, int line,
			       struct nlw_events *ev,
			       const struct numabuf_alloc *a, uint32_t flags,
			       uint32_t source, long long t0, const char *what)
{
	const struct nlw_msg *m = nlw_event_at(file, line, ev,
					       NUMABUF_CMD_BUF_CREATED_NTF,
					       what);
	long long created, t1 = nlw_realtime_ns();
	char comm[32];

	nlw_comm(comm, sizeof(comm));
	nlw_check_attrs_at(file, line, m, &nlw_set_buf, nlw_created_ntf,
			   NLW_N(nlw_created_ntf), what);
	created = (long long)nlw_u64(m, NUMABUF_A_BUF_CREATED);
	if (!nlw_u32(m, NUMABUF_A_BUF_ID) ||
	    nlw_u64(m, NUMABUF_A_BUF_SIZE) != a->length ||
	    nlw_u32(m, NUMABUF_A_BUF_NODE) != (uint32_t)a->node ||
	    nlw_u32(m, NUMABUF_A_BUF_FLAGS) != flags ||
	    nlw_u32(m, NUMABUF_A_BUF_SOURCE) != source ||
	    nlw_u32(m, NUMABUF_A_BUF_PID) != (uint32_t)getpid() ||
	    nlw_u32(m, NUMABUF_A_BUF_UID) != getuid() ||
	    strcmp(nlw_str(m, NUMABUF_A_BUF_COMM), comm) ||
	    created < t0 - NLW_NSEC || created > t1 + NLW_NSEC)
		nb_fail_at(file, line,
			   "%s: id %u size %llu node %u flags %#x source %u pid %u uid %u comm \"%s\" created %lld; expected size %llu node %d flags %#x source %u pid %d uid %u comm \"%s\" created in [%lld, %lld]",
			   what, nlw_u32(m, NUMABUF_A_BUF_ID),
			   NLW_U64(m, NUMABUF_A_BUF_SIZE),
			   nlw_u32(m, NUMABUF_A_BUF_NODE),
			   nlw_u32(m, NUMABUF_A_BUF_FLAGS),
			   nlw_u32(m, NUMABUF_A_BUF_SOURCE),
			   nlw_u32(m, NUMABUF_A_BUF_PID),
			   nlw_u32(m, NUMABUF_A_BUF_UID),
			   nlw_str(m, NUMABUF_A_BUF_COMM), created,
			   (unsigned long long)a->length, a->node, flags, source,
			   getpid(), getuid(), comm, t0, t1);
	return nlw_u32(m, NUMABUF_A_BUF_ID);
}
#define NLW_CREATED(ev, a, flags, source, t0, what) \
	nlw_created_at(NB_FILE, __LINE__, ev, a, flags, source, t0, what)

static void nlw_freed_at(const char *file, int line, struct nlw_events *ev,
			 uint32_t id, const struct numabuf_alloc *a,
			 const char *what)
{
	const struct nlw_msg *m = nlw_event_at(file, line, ev,
					       NUMABUF_CMD_BUF_FREED_NTF,
					       what);

	nlw_check_attrs_at(file, line, m, &nlw_set_buf, nlw_freed_ntf,
			   NLW_N(nlw_freed_ntf), what);
	if (nlw_u32(m, NUMABUF_A_BUF_ID) != id ||
	    nlw_u64(m, NUMABUF_A_BUF_SIZE) != a->length ||
	    nlw_u32(m, NUMABUF_A_BUF_NODE) != (uint32_t)a->node)
		nb_fail_at(file, line,
			   "%s: id %u size %llu node %u, created as id %u size %llu node %d",
			   what, nlw_u32(m, NUMABUF_A_BUF_ID),
			   NLW_U64(m, NUMABUF_A_BUF_SIZE),
			   nlw_u32(m, NUMABUF_A_BUF_NODE), id,
			   (unsigned long long)a->length, a->node);
}
#define NLW_FREED(ev, id, a, what) \
	nlw_freed_at(NB_FILE, __LINE__, ev, id, a, what)

/* The source INFO gives for a buffer. */
static uint32_t nlw_source(int fd, uint32_t handle)
{
	struct numabuf_info inf;

	NB_CHECK(!nb_info(fd, handle, &inf), "INFO failed");
	return inf.source;
}

NB_TEST(events_sequence,
	"subscribed to \"events\" as root: alloc A (node 0), alloc B (node 1), FREE A, an allocation the node cannot give (twice its MemTotal: ENOMEM), FREE B give exactly buf-created A, buf-created B, buf-freed A, alloc-failed, buf-freed B, each with the spec's attributes and the right values, ids as buf-get lists them; then nothing more")
{
	int fd = nb_open(), nodes[NB_MAX_NODES], n, n0, n1;
	struct numabuf_alloc a, b;
	const struct nlw_msg *m;
	struct nlw_events ev;
	struct nlw_reply r;
	uint64_t big;
	uint32_t ida, idb;
	long long t0;
	char comm[32];

	n = nb_mem_nodes(nodes, NB_MAX_NODES);
	n0 = nodes[0];
	n1 = nodes[n > 1 ? 1 : 0];
	nlw_comm(comm, sizeof(comm));
	big = (2 * nb_node_meminfo(n0, "MemTotal") + NB_PAGE - 1) &
	      ~(uint64_t)(NB_PAGE - 1);
	nlw_events_open(&ev);

	t0 = nlw_realtime_ns();
	a = nb_alloc_ok(fd, 64 * NB_KIB, n0, 0);
	b = nb_alloc_ok(fd, 128 * NB_KIB, n1, NUMABUF_F_NO_POOL);
	ida = NLW_CREATED(&ev, &a, 0, nlw_source(fd, a.handle), t0,
			  "buf-created-ntf of A");
	idb = NLW_CREATED(&ev, &b, NUMABUF_F_NO_POOL, nlw_source(fd, b.handle),
			  t0, "buf-created-ntf of B");
	NB_CHECK(ida != idb, "A and B both have id %u", ida);

	/* The ids are the ones buf-get lists. */
	{
		struct nl_sock *sk = nlw_socket();
		int fam = nlw_family(sk);

		NLW_BUF_DUMP(sk, fam, -1, getpid(), -1, true, &r);
		NB_CHECK(nlw_u32(NLW_FIND(&r, getpid(), a.length, n0, "A"),
				 NUMABUF_A_BUF_ID) == ida &&
			 nlw_u32(NLW_FIND(&r, getpid(), b.length, n1, "B"),
				 NUMABUF_A_BUF_ID) == idb,
			 "buf-get ids differ from the events'");
		nlw_reply_free(&r);
		nl_socket_free(sk);
	}

	NB_CHECK(!nb_free(fd, a.handle), "FREE A failed");
	NLW_FREED(&ev, ida, &a, "buf-freed-ntf of A");

	NB_CHECK(nb_alloc(fd, big, n0, 0, NULL) == -ENOMEM,
		 "%llu bytes on node %d did not fail with ENOMEM",
		 (unsigned long long)big, n0);
	m = NLW_EVENT(&ev, NUMABUF_CMD_ALLOC_FAILED_NTF, "alloc-failed-ntf");
	NLW_CHECK_ATTRS(m, &nlw_set_buf, nlw_failed_ntf, "alloc-failed-ntf");
	NB_CHECK(nlw_u64(m, NUMABUF_A_BUF_SIZE) == big &&
		 nlw_u32(m, NUMABUF_A_BUF_NODE) == (uint32_t)n0 &&
		 nlw_u32(m, NUMABUF_A_BUF_FLAGS) == 0 &&
		 nlw_u32(m, NUMABUF_A_BUF_PID) == (uint32_t)getpid() &&
		 nlw_u32(m, NUMABUF_A_BUF_UID) == getuid() &&
		 !strcmp(nlw_str(m, NUMABUF_A_BUF_COMM), comm) &&
		 nlw_u32(m, NUMABUF_A_BUF_ERROR) == ENOMEM &&
		 nlw_u32(m, NUMABUF_A_BUF_SUPPRESSED) == 0,
		 "alloc-failed-ntf: size %llu node %u flags %#x pid %u uid %u comm \"%s\" error %u suppressed %u; expected %llu %d 0 %d %u \"%s\" %d 0",
		 NLW_U64(m, NUMABUF_A_BUF_SIZE),
		 nlw_u32(m, NUMABUF_A_BUF_NODE), nlw_u32(m, NUMABUF_A_BUF_FLAGS),
		 nlw_u32(m, NUMABUF_A_BUF_PID), nlw_u32(m, NUMABUF_A_BUF_UID),
		 nlw_str(m, NUMABUF_A_BUF_COMM), nlw_u32(m, NUMABUF_A_BUF_ERROR),
		 nlw_u32(m, NUMABUF_A_BUF_SUPPRESSED),
		 (unsigned long long)big, n0, getpid(), getuid(), comm, ENOMEM);

	NB_CHECK(!nb_free(fd, b.handle), "FREE B failed");
	NLW_FREED(&ev, idb, &b, "buf-freed-ntf of B");
	nlw_events_quiet(&ev);
	nlw_events_close(&ev);
	close(fd);
}

struct nlw_pool_ctx {
	int node;
	struct numabuf_pool p0;		/* as it was */
	uint64_t low0;
};

/* Wait until the pool holds what it held before the test. */
static void nlw_pool_settle(int fd, const struct nlw_pool_ctx *c)
{
	double end = nb_now() + 60.0 * nb_slow();
	struct numabuf_pool p;

	for (;;) {
		NB_CHECK(!nlw_pool_get(fd, c->node, &p), "POOL_GET failed");
		if (p.target == c->p0.target && p.pool_bytes == c->p0.pool_bytes &&
		    p.free_bytes == c->p0.free_bytes)
			return;
		NB_CHECK(nb_now() < end,
			 "node %d's pool not back: target %llu bytes %llu free %llu, was %llu %llu %llu",
			 c->node, (unsigned long long)p.target,
			 (unsigned long long)p.pool_bytes,
			 (unsigned long long)p.free_bytes,
			 (unsigned long long)c->p0.target,
			 (unsigned long long)c->p0.pool_bytes,
			 (unsigned long long)c->p0.free_bytes);
		usleep(10000);
	}
}

/* pool-set of @node's target and low watermark; returns the errno. */
static int nlw_pool_set(struct nl_sock *sk, int fam, int node,
			uint64_t target, uint64_t low, struct nlw_reply *r)
{
	struct nl_msg *msg = nlw_req(fam, NUMABUF_CMD_POOL_SET, 0);

	nlw_put_u32(msg, NUMABUF_A_POOL_NODE, node);
	nlw_put_u64(msg, NUMABUF_A_POOL_TARGET, target);
	nlw_put_u64(msg, NUMABUF_A_POOL_LOW, low);
	return NLW_XFER(sk, msg, r);
}

static void nlw_pool_low_work(void *arg)
{
	const uint64_t target = 8 * NB_MIB, low = 6 * NB_MIB, size = 4 * NB_MIB;
	struct nlw_pool_ctx *c = arg;
	int fd = nb_open(), fam, err;
	const struct nlw_msg *m;
	struct numabuf_alloc a;
	struct numabuf_pool p;
	struct nlw_events ev;
	struct nlw_reply r;
	struct nl_sock *sk;
	struct nlw_msg *nm;
	uint32_t id;
	long long t0;

	nlw_events_open(&ev);
	sk = nlw_socket();
	fam = nlw_family(sk);

	err = nlw_pool_set(sk, fam, c->node, target, low, &r);
	NB_CHECK(!err && r.acked && !r.n, "pool-set %llu MiB low %llu MiB: %s (\"%s\")",
		 (unsigned long long)(target / NB_MIB),
		 (unsigned long long)(low / NB_MIB), nb_errname(err), r.ext_msg);
	nlw_reply_free(&r);
	NB_CHECK(!nlw_pool_get(fd, c->node, &p), "POOL_GET failed");
	NB_CHECK(p.target == target && p.pool_bytes == target &&
		 p.free_bytes == target,
		 "after pool-set: POOL_GET target %llu pool %llu free %llu, expected %llu",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
		 (unsigned long long)p.free_bytes, (unsigned long long)target);
	nm = NLW_DO(sk, nlw_node_req(fam, c->node), NUMABUF_CMD_NODE_GET, &r);
	NB_CHECK(nlw_u64(nm, NUMABUF_A_NODE_POOL_LOW) == low &&
		 nlw_u64(nm, NUMABUF_A_NODE_POOL_TARGET) == target,
		 "node-get after pool-set: pool-low %llu target %llu",
		 NLW_U64(nm, NUMABUF_A_NODE_POOL_LOW),
		 NLW_U64(nm, NUMABUF_A_NODE_POOL_TARGET));
	nlw_reply_free(&r);

	/* 4 MiB of the 8 leaves 4 free, under the 6 MiB watermark. */
	t0 = nlw_realtime_ns();
	a = nb_alloc_ok(fd, size, c->node, NUMABUF_F_POOL);
	m = NLW_EVENT(&ev, NUMABUF_CMD_POOL_LOW_NTF, "pool-low-ntf");
	NLW_CHECK_ATTRS(m, &nlw_set_node, nlw_pool_low_ntf, "pool-low-ntf");
	NB_CHECK(nlw_u32(m, NUMABUF_A_NODE_ID) == (uint32_t)c->node &&
		 nlw_u64(m, NUMABUF_A_NODE_POOL_TARGET) == target &&
		 nlw_u64(m, NUMABUF_A_NODE_POOL_SIZE) == target &&
		 nlw_u64(m, NUMABUF_A_NODE_POOL_FREE) == target - size &&
		 nlw_u64(m, NUMABUF_A_NODE_POOL_LOW) == low &&
		 nlw_u64(m, NUMABUF_A_NODE_POOL_FREE) <
		 nlw_u64(m, NUMABUF_A_NODE_POOL_LOW),
		 "pool-low-ntf: id %u target %llu size %llu free %llu low %llu; expected %d %llu %llu %llu %llu",
		 nlw_u32(m, NUMABUF_A_NODE_ID),
		 NLW_U64(m, NUMABUF_A_NODE_POOL_TARGET),
		 NLW_U64(m, NUMABUF_A_NODE_POOL_SIZE),
		 NLW_U64(m, NUMABUF_A_NODE_POOL_FREE),
		 NLW_U64(m, NUMABUF_A_NODE_POOL_LOW),
		 c->node, (unsigned long long)target,
		 (unsigned long long)target,
		 (unsigned long long)(target - size), (unsigned long long)low);
	id = NLW_CREATED(&ev, &a, NUMABUF_F_POOL, NUMABUF_SOURCE_POOL, t0,
			 "buf-created-ntf of the pool buffer");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NLW_FREED(&ev, id, &a, "buf-freed-ntf of the pool buffer");

	err = nlw_pool_set(sk, fam, c->node, c->p0.target, c->low0, &r);
	NB_CHECK(!err && r.acked, "pool-set back: %s (\"%s\")", nb_errname(err),
		 r.ext_msg);
	nlw_reply_free(&r);
	nlw_pool_settle(fd, c);
	nlw_events_quiet(&ev);
	nlw_events_close(&ev);
	nl_socket_free(sk);
	close(fd);
}

static void nlw_pool_restore(void *arg)
{
	struct nlw_pool_ctx *c = arg;
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk), fd = nb_open(), err;
	struct nlw_reply r;

	err = nlw_pool_set(sk, fam, c->node, c->p0.target, c->low0, &r);
	NB_CHECK(!err, "restoring node %d's pool: %s", c->node, nb_errname(err));
	nlw_reply_free(&r);
	nlw_pool_settle(fd, c);
	close(fd);
	nl_socket_free(sk);
}

NB_TEST(events_pool_low,
	"pool-set of node 0 (target 8 MiB, low 6 MiB) shows in POOL_GET and node-get; a 4 MiB NUMABUF_F_POOL buffer brings pool-low-ntf (id, target, size, free 4 MiB < low) then its buf-created-ntf (source pool); FREE brings buf-freed-ntf; the pool is restored (target from POOL_GET, low from node-get) and nothing more comes")
{
	struct nlw_pool_ctx c;
	int nodes[NB_MAX_NODES], fd = nb_open();
	struct nl_sock *sk = nlw_socket();
	int fam = nlw_family(sk);
	struct nlw_reply r;
	struct nlw_msg *m;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	memset(&c, 0, sizeof(c));
	c.node = nodes[0];
	NB_CHECK(!nlw_pool_get(fd, c.node, &c.p0), "POOL_GET failed");
	if (c.p0.target || c.p0.pool_bytes)
		nb_skip("node %d already has a pool (%llu bytes)", c.node,
			(unsigned long long)c.p0.pool_bytes);
	m = NLW_DO(sk, nlw_node_req(fam, c.node), NUMABUF_CMD_NODE_GET, &r);
	c.low0 = nlw_u64(m, NUMABUF_A_NODE_POOL_LOW);
	nlw_reply_free(&r);
	nl_socket_free(sk);
	close(fd);

	NLW_GUARDED(nlw_pool_low_work, nlw_pool_restore, &c);
}
