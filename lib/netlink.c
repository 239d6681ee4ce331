// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnumabuf's control plane: the "numabuf" generic netlink family
 * (docs/netlink/numabuf.yaml), spoken through libmnl.
 *
 * One handle is one socket.  Requests are sent one at a time and their
 * replies read to the end (ACK, or NLMSG_DONE for dumps) before the call
 * returns.  Errors come back as NLMSG_ERROR (or a negative NLMSG_DONE) with
 * the kernel's extended ACK, which is kept as the handle's error message.
 * numabuf's messages name the attribute ("id: no such node with memory");
 * the core's ("Unknown attribute type") get the name of the attribute the
 * ACK points at appended, from the request, which is kept until the next
 * one so that the offset can be resolved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "internal.h"

#define NB_NL_RXBUF	32768	/* the largest skb a netlink dump uses */
#define NB_NL_TXBUF	1024	/* every request fits */

struct nb_set;

struct numabuf_nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t group;
	uint32_t portid;
	uint32_t seq;
	const struct nb_set *req_set;	/* attribute set of the request */
	char errmsg[320];
	struct numabuf_attachinfo attach[NUMABUF_ATTACH_MAX];
	char req[NB_NL_TXBUF];
	char rx[NB_NL_RXBUF];
};

/* ---- attribute names and types, as the spec gives them ------------------- */

struct nb_attr {
	const char *name;
	enum mnl_attr_data_type type;
};

static const struct nb_attr nb_node_attrs[NUMABUF_A_NODE_MAX + 1] = {
	[NUMABUF_A_NODE_ID] = { "id", MNL_TYPE_U32 },
	[NUMABUF_A_NODE_PAD] = { "pad", MNL_TYPE_UNSPEC },
	[NUMABUF_A_NODE_MEM_TOTAL] = { "mem-total", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_MEM_FREE] = { "mem-free", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_POOL_TARGET] = { "pool-target", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_POOL_SIZE] = { "pool-size", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_POOL_FREE] = { "pool-free", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_POOL_LARGEST] = { "pool-largest", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_POOL_LOW] = { "pool-low", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_BUFFERS] = { "buffers", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_BYTES] = { "bytes", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_ALLOCS_PAGES] = { "allocs-pages", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_ALLOCS_RANGE] = { "allocs-range", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_ALLOCS_POOL] = { "allocs-pool", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_FAILS_PAGES] = { "fails-pages", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_FAILS_RANGE] = { "fails-range", MNL_TYPE_U64 },
	[NUMABUF_A_NODE_FAILS_POOL] = { "fails-pool", MNL_TYPE_U64 },
};

static const struct nb_attr nb_buf_attrs[NUMABUF_A_BUF_MAX + 1] = {
	[NUMABUF_A_BUF_ID] = { "id", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_PAD] = { "pad", MNL_TYPE_UNSPEC },
	[NUMABUF_A_BUF_SIZE] = { "size", MNL_TYPE_U64 },
	[NUMABUF_A_BUF_NODE] = { "node", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_FLAGS] = { "flags", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_SOURCE] = { "source", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_PID] = { "pid", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_UID] = { "uid", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_COMM] = { "comm", MNL_TYPE_NUL_STRING },
	[NUMABUF_A_BUF_MAP_COUNT] = { "map-count", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_CREATED] = { "created", MNL_TYPE_U64 },
	[NUMABUF_A_BUF_PHYS] = { "phys", MNL_TYPE_U64 },
	[NUMABUF_A_BUF_ERROR] = { "error", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_RELEASED] = { "released", MNL_TYPE_FLAG },
	[NUMABUF_A_BUF_SUPPRESSED] = { "suppressed", MNL_TYPE_U32 },
	[NUMABUF_A_BUF_ATTACH] = { "attach", MNL_TYPE_NESTED },
	[NUMABUF_A_BUF_EXPORTS] = { "exports", MNL_TYPE_U32 },
};

static const struct nb_attr nb_attach_attrs[NUMABUF_A_ATTACH_MAX + 1] = {
	[NUMABUF_A_ATTACH_DEVICE] = { "device", MNL_TYPE_NUL_STRING },
	[NUMABUF_A_ATTACH_PAD] = { "pad", MNL_TYPE_UNSPEC },
	[NUMABUF_A_ATTACH_DMA_ADDR] = { "dma-addr", MNL_TYPE_U64 },
	[NUMABUF_A_ATTACH_REASON] = { "reason", MNL_TYPE_U32 },
};

static const struct nb_attr nb_pool_attrs[NUMABUF_A_POOL_MAX + 1] = {
	[NUMABUF_A_POOL_NODE] = { "node", MNL_TYPE_U32 },
	[NUMABUF_A_POOL_PAD] = { "pad", MNL_TYPE_UNSPEC },
	[NUMABUF_A_POOL_TARGET] = { "target", MNL_TYPE_U64 },
	[NUMABUF_A_POOL_LOW] = { "low", MNL_TYPE_U64 },
};

static const struct nb_attr nb_limit_attrs[NUMABUF_A_LIMIT_MAX + 1] = {
	[NUMABUF_A_LIMIT_MAX_BYTES] = { "max-bytes", MNL_TYPE_U64 },
	[NUMABUF_A_LIMIT_MAX_USER_BYTES] = { "max-user-bytes", MNL_TYPE_U64 },
	[NUMABUF_A_LIMIT_TOTAL_BYTES] = { "total-bytes", MNL_TYPE_U64 },
	[NUMABUF_A_LIMIT_PAD] = { "pad", MNL_TYPE_UNSPEC },
};

struct nb_set {
	const struct nb_attr *attrs;
	unsigned int max;
};

#define NB_SET(a)	{ a, sizeof(a) / sizeof((a)[0]) - 1 }

static const struct nb_set nb_node_set = NB_SET(nb_node_attrs);
static const struct nb_set nb_buf_set = NB_SET(nb_buf_attrs);
static const struct nb_set nb_attach_set = NB_SET(nb_attach_attrs);
static const struct nb_set nb_pool_set = NB_SET(nb_pool_attrs);
static const struct nb_set nb_limit_set = NB_SET(nb_limit_attrs);

/*
 * Index a message's attributes into @tb (max + 1 entries).  Attributes
 * newer than this library are skipped; a known one of the wrong size
 * makes the message malformed (-EPROTO).
 */
struct nb_parse {
	const struct nb_set *set;
	const struct nlattr **tb;
	int bad;
};

static int nb_parse_attr(const struct nlattr *attr, void *data)
{
	struct nb_parse *p = data;
	unsigned int type = mnl_attr_get_type(attr);
	const struct nb_attr *a;

	if (type > p->set->max)
		return MNL_CB_OK;
	a = &p->set->attrs[type];
	if (a->type != MNL_TYPE_UNSPEC && mnl_attr_validate(attr, a->type) < 0) {
		p->bad = 1;
		return MNL_CB_ERROR;
	}
	p->tb[type] = attr;
	return MNL_CB_OK;
}

static int nb_parse(const struct nlmsghdr *nlh, const struct nb_set *set,
		    const struct nlattr **tb)
{
	struct nb_parse p = { set, tb, 0 };

	memset(tb, 0, (set->max + 1) * sizeof(*tb));
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), nb_parse_attr,
			   &p) < 0 || p.bad)
		return -EPROTO;
	return 0;
}

static uint64_t nb_u64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t nb_u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

/* ---- requests and their replies ------------------------------------------ */

/**
 * struct nb_req - one request in flight
 * @nl:		the handle
 * @msg:	called for each reply message of the family; returns 0, or
 *		a value (a negative errno, or what the user's callback
 *		returned) after which the rest of the replies is only read,
 *		and which nb_run() then returns
 * @arg:	for @msg
 * @ret:	that value
 */
struct nb_req {
	struct numabuf_nl *nl;
	int (*msg)(const struct nlmsghdr *nlh, struct nb_req *req);
	void *arg;
	int ret;
};

static struct nlmsghdr *nb_msg_start(struct numabuf_nl *nl, uint8_t cmd,
				     uint16_t flags, const struct nb_set *set)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->req);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = NUMABUF_FAMILY_VERSION;
	nl->req_set = set;
	return nlh;
}

/* The spec name of attribute @type of @set, or NULL. */
static const char *nb_attr_name(const struct nb_set *set, int64_t type)
{
	if (!set || type < 0 || type > set->max || !set->attrs[type].name)
		return NULL;
	return set->attrs[type].name;
}

/* The type of the top-level attribute at byte @off of the request. */
static int nb_req_attr_at(const struct numabuf_nl *nl, uint32_t off)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->req;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if ((const char *)attr - nl->req == (long)off)
			return mnl_attr_get_type(attr);
	return -1;
}

struct nb_ext_ack {
	const char *msg;
	int64_t offs;
	int64_t miss;
};

static int nb_ext_ack_attr(const struct nlattr *attr, void *data)
{
	struct nb_ext_ack *ea = data;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			ea->msg = mnl_attr_get_str(attr);
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ea->offs = mnl_attr_get_u32(attr);
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ea->miss = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/*
 * Keep the kernel's explanation of an error: its message, and the
 * attribute it points at (or says is missing) by name.  @off is where the
 * extended ACK's attributes start in @nlh's payload.
 */
static void nb_take_ext_ack(struct nb_req *req, const struct nlmsghdr *nlh,
			    size_t off)
{
	struct numabuf_nl *nl = req->nl;
	const struct nb_set *set = nl->req_set;
	struct nb_ext_ack ea = { NULL, -1, -1 };
	const char *name = NULL;
	char num[32];
	int type;

	nl->errmsg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    off > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, off, nb_ext_ack_attr, &ea);

	if (ea.miss >= 0) {
		name = nb_attr_name(set, ea.miss);
		if (!name) {
			snprintf(num, sizeof(num), "%lld", (long long)ea.miss);
			name = num;
		}
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "missing attribute '%s'%s%s", name,
			 ea.msg ? ": " : "", ea.msg ? ea.msg : "");
		return;
	}
	if (ea.offs >= 0) {
		type = nb_req_attr_at(nl, ea.offs);
		if (type >= 0) {
			name = nb_attr_name(set, type);
			if (!name) {
				snprintf(num, sizeof(num), "type %d", type);
				name = num;
			}
		}
	}
	/* numabuf's own messages start with the name: "id: ...". */
	if (ea.msg && name && (strncmp(ea.msg, name, strlen(name)) ||
			       ea.msg[strlen(name)] != ':'))
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "%s (attribute '%s')", ea.msg, name);
	else if (ea.msg)
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%s", ea.msg);
	else if (name)
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "attribute '%s' refused", name);
}

static int nb_cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	struct nb_req *req = data;
	size_t off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!err->error)
		return MNL_CB_STOP;
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nb_take_ext_ack(req, nlh, off);
	errno = -err->error;
	return MNL_CB_ERROR;
}

static int nb_cb_done(const struct nlmsghdr *nlh, void *data)
{
	struct nb_req *req = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err >= 0)
		return MNL_CB_STOP;
	nb_take_ext_ack(req, nlh, sizeof(int));
	errno = -err;
	return MNL_CB_ERROR;
}

static int nb_cb_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int nb_cb_data(const struct nlmsghdr *nlh, void *data)
{
	struct nb_req *req = data;
	int ret;

	/*
	 * After the caller's callback stopped, the rest is read and dropped,
	 * up to the ACK or NLMSG_DONE, so that the socket stays in step.
	 */
	if (req->ret)
		return MNL_CB_OK;
	ret = req->msg(nlh, req);
	if (ret)
		req->ret = ret;
	return MNL_CB_OK;
}

static mnl_cb_t nb_ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = nb_cb_noop,
	[NLMSG_ERROR] = nb_cb_error,
	[NLMSG_DONE] = nb_cb_done,
	[NLMSG_OVERRUN] = nb_cb_noop,
};

/*
 * Send the request built in nl->req and read its replies to the end.
 * Returns 0, a negative errno, or the first nonzero value @msg returned.
 */
static int nb_run(struct numabuf_nl *nl,
		  int (*msg)(const struct nlmsghdr *, struct nb_req *),
		  void *arg)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->req;
	struct nb_req req = { nl, msg, arg, 0 };
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run2(nl->rx, n, nlh->nlmsg_seq, nl->portid,
				  nb_cb_data, &req, nb_ctl_cbs,
				  NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR)
			return -errno;
		if (ret == MNL_CB_STOP)
			return req.ret;
	}
}

/* ---- the handle ---------------------------------------------------------- */

struct nb_family {
	uint16_t id;
	uint32_t version;
	uint32_t group;
};

static int nb_ctrl_group(const struct nlattr *nest, struct nb_family *f)
{
	const struct nlattr *attr, *name = NULL, *id = NULL;

	mnl_attr_for_each_nested(attr, nest) {
		if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			name = attr;
		if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GRP_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			id = attr;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), NUMABUF_MCGRP_EVENTS))
		f->group = mnl_attr_get_u32(id);
	return 0;
}

static int nb_ctrl_msg(const struct nlmsghdr *nlh, struct nb_req *req)
{
	struct nb_family *f = req->arg;
	const struct nlattr *attr, *grp;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
				return -EPROTO;
			f->id = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
				return -EPROTO;
			f->version = mnl_attr_get_u32(attr);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(grp, attr)
				nb_ctrl_group(grp, f);
			break;
		}
	}
	return 0;
}

NB_EXPORT int numabuf_nl_open(struct numabuf_nl **nlp)
{
	struct nb_family f = { 0, 0, 0 };
	struct numabuf_nl *nl;
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	int one = 1, ret;

	*nlp = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!nl->sock) {
		ret = -errno;
		free(nl);
		return ret;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Explanations of errors; kernels without it just send none. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	/* Only the header of the request comes back with an error. */
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = mnl_nlmsg_put_header(nl->req);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NUMABUF_FAMILY_NAME);
	ret = nb_run(nl, nb_ctrl_msg, &f);
	if (ret)
		goto err;
	if (!f.id) {
		ret = -EPROTO;
		goto err;
	}
	if (f.version < NUMABUF_FAMILY_VERSION) {
		ret = -EPROTO;
		goto err;
	}
	nl->family = f.id;
	nl->group = f.group;
	*nlp = nl;
	return 0;

err:
	mnl_socket_close(nl->sock);
	free(nl);
	return ret;
}

NB_EXPORT void numabuf_nl_close(struct numabuf_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

NB_EXPORT int numabuf_nl_fd(const struct numabuf_nl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

NB_EXPORT const char *numabuf_nl_errmsg(const struct numabuf_nl *nl)
{
	return nl->errmsg;
}

/* ---- node-get ------------------------------------------------------------ */

static int nb_node_parse(const struct nlmsghdr *nlh,
			 struct numabuf_nodestat *st)
{
	const struct nlattr *tb[NUMABUF_A_NODE_MAX + 1];
	int i;

	if (nb_parse(nlh, &nb_node_set, tb) || !tb[NUMABUF_A_NODE_ID])
		return -EPROTO;
	memset(st, 0, sizeof(*st));
	st->node = (int32_t)nb_u32(tb[NUMABUF_A_NODE_ID]);
	st->mem_total = nb_u64(tb[NUMABUF_A_NODE_MEM_TOTAL]);
	st->mem_free = nb_u64(tb[NUMABUF_A_NODE_MEM_FREE]);
	st->pool_target = nb_u64(tb[NUMABUF_A_NODE_POOL_TARGET]);
	st->pool_size = nb_u64(tb[NUMABUF_A_NODE_POOL_SIZE]);
	st->pool_free = nb_u64(tb[NUMABUF_A_NODE_POOL_FREE]);
	st->pool_largest = nb_u64(tb[NUMABUF_A_NODE_POOL_LARGEST]);
	st->pool_low = nb_u64(tb[NUMABUF_A_NODE_POOL_LOW]);
	st->buffers = nb_u64(tb[NUMABUF_A_NODE_BUFFERS]);
	st->bytes = nb_u64(tb[NUMABUF_A_NODE_BYTES]);
	for (i = 0; i < 3; i++) {
		st->allocs[i] = nb_u64(tb[NUMABUF_A_NODE_ALLOCS_PAGES + i]);
		st->fails[i] = nb_u64(tb[NUMABUF_A_NODE_FAILS_PAGES + i]);
	}
	return 0;
}

static int nb_node_one(const struct nlmsghdr *nlh, struct nb_req *req)
{
	return nb_node_parse(nlh, req->arg);
}

NB_EXPORT int numabuf_nl_node_get(struct numabuf_nl *nl, int node,
				  struct numabuf_nodestat *st)
{
	struct nlmsghdr *nlh;

	if (node < 0)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->node = -1;
	nlh = nb_msg_start(nl, NUMABUF_CMD_NODE_GET, NLM_F_ACK, &nb_node_set);
	mnl_attr_put_u32(nlh, NUMABUF_A_NODE_ID, (uint32_t)node);
	return nb_run(nl, nb_node_one, st);
}

struct nb_user_cb {
	int (*node)(const struct numabuf_nodestat *st, void *arg);
	int (*buf)(const struct numabuf_bufstat *st, void *arg);
	void *arg;
};

static int nb_node_each(const struct nlmsghdr *nlh, struct nb_req *req)
{
	struct nb_user_cb *u = req->arg;
	struct numabuf_nodestat st;
	int ret;

	ret = nb_node_parse(nlh, &st);
	if (ret)
		return ret;
	return u->node(&st, u->arg);
}

NB_EXPORT int numabuf_nl_nodes(struct numabuf_nl *nl,
			       int (*cb)(const struct numabuf_nodestat *st,
					 void *arg),
			       void *arg)
{
	struct nb_user_cb u = { .node = cb, .arg = arg };

	nb_msg_start(nl, NUMABUF_CMD_NODE_GET, NLM_F_DUMP, &nb_node_set);
	return nb_run(nl, nb_node_each, &u);
}

/* ---- buf-get ------------------------------------------------------------- */

/* One NUMABUF_A_BUF_ATTACH nest into *@ai. */
static int nb_attach_parse(const struct nlattr *nest,
			   struct numabuf_attachinfo *ai)
{
	const struct nlattr *tb[NUMABUF_A_ATTACH_MAX + 1];
	struct nb_parse p = { &nb_attach_set, tb, 0 };

	memset(tb, 0, sizeof(tb));
	if (mnl_attr_parse_nested(nest, nb_parse_attr, &p) < 0 || p.bad)
		return -EPROTO;
	memset(ai, 0, sizeof(*ai));
	if (tb[NUMABUF_A_ATTACH_DEVICE])
		snprintf(ai->device, sizeof(ai->device), "%s",
			 mnl_attr_get_str(tb[NUMABUF_A_ATTACH_DEVICE]));
	ai->dma_addr = nb_u64(tb[NUMABUF_A_ATTACH_DMA_ADDR]);
	ai->reason = nb_u32(tb[NUMABUF_A_ATTACH_REASON]);
	return 0;
}

/*
 * A buffer's attributes into *@st; its attachments (NUMABUF_A_BUF_ATTACH,
 * one nest each, repeated) into @attach, NUMABUF_ATTACH_MAX entries,
 * which st->attach then points at.
 */
static int nb_buf_parse(const struct nlmsghdr *nlh, struct numabuf_bufstat *st,
			struct numabuf_attachinfo *attach)
{
	const struct nlattr *tb[NUMABUF_A_BUF_MAX + 1];
	const struct nlattr *attr;

	if (nb_parse(nlh, &nb_buf_set, tb))
		return -EPROTO;
	memset(st, 0, sizeof(*st));
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) != NUMABUF_A_BUF_ATTACH)
			continue;
		if (st->nr_attach == NUMABUF_ATTACH_MAX ||
		    nb_attach_parse(attr, &attach[st->nr_attach]))
			return -EPROTO;
		st->nr_attach++;
	}
	if (st->nr_attach)
		st->attach = attach;
	st->id = nb_u32(tb[NUMABUF_A_BUF_ID]);
	st->node = (int32_t)nb_u32(tb[NUMABUF_A_BUF_NODE]);
	st->size = nb_u64(tb[NUMABUF_A_BUF_SIZE]);
	st->flags = nb_u32(tb[NUMABUF_A_BUF_FLAGS]);
	st->source = nb_u32(tb[NUMABUF_A_BUF_SOURCE]);
	st->pid = nb_u32(tb[NUMABUF_A_BUF_PID]);
	st->uid = nb_u32(tb[NUMABUF_A_BUF_UID]);
	st->map_count = nb_u32(tb[NUMABUF_A_BUF_MAP_COUNT]);
	st->error = nb_u32(tb[NUMABUF_A_BUF_ERROR]);
	st->suppressed = nb_u32(tb[NUMABUF_A_BUF_SUPPRESSED]);
	st->exports = nb_u32(tb[NUMABUF_A_BUF_EXPORTS]);
	st->created_ns = nb_u64(tb[NUMABUF_A_BUF_CREATED]);
	st->phys = nb_u64(tb[NUMABUF_A_BUF_PHYS]);
	st->released = !!tb[NUMABUF_A_BUF_RELEASED];
	if (tb[NUMABUF_A_BUF_COMM])
		snprintf(st->comm, sizeof(st->comm), "%s",
			 mnl_attr_get_str(tb[NUMABUF_A_BUF_COMM]));
	return 0;
}

static int nb_buf_each(const struct nlmsghdr *nlh, struct nb_req *req)
{
	struct nb_user_cb *u = req->arg;
	struct numabuf_bufstat st;
	int ret;

	ret = nb_buf_parse(nlh, &st, req->nl->attach);
	if (ret)
		return ret;
	return u->buf(&st, u->arg);
}

/* Refuse @filter: -EINVAL, with @why as the handle's message. */
static int nb_filter_bad(struct numabuf_nl *nl, const char *why)
{
	snprintf(nl->errmsg, sizeof(nl->errmsg), "filter: %s", why);
	return -EINVAL;
}

/*
 * numabuf_nl_bufs() of NUMABUF_0.5 and later: the fields @filter->match
 * selects, the others ignored, so that a zero filter matches everything.
 */
NB_EXPORT int numabuf_nl_bufs_v05(struct numabuf_nl *nl,
				  const struct numabuf_buf_filter *filter,
				  int (*cb)(const struct numabuf_bufstat *st,
					    void *arg),
				  void *arg)
{
	struct nb_user_cb u = { .buf = cb, .arg = arg };
	struct numabuf_buf_filter none = { 0 };
	const struct numabuf_buf_filter *f = filter ? filter : &none;
	struct nlmsghdr *nlh;

	nl->errmsg[0] = '\0';
	if (f->match & ~NUMABUF_MATCH_ALL)
		return nb_filter_bad(nl, "unknown bits in match");
	if (f->reserved)
		return nb_filter_bad(nl, "reserved is not zero");
	if ((f->match & NUMABUF_MATCH_NODE) && f->node < 0)
		return nb_filter_bad(nl, "node is negative");
	if ((f->match & NUMABUF_MATCH_UID) &&
	    (f->uid < 0 || f->uid > UINT32_MAX))
		return nb_filter_bad(nl, "uid out of range");

	nlh = nb_msg_start(nl, NUMABUF_CMD_BUF_GET, NLM_F_DUMP, &nb_buf_set);
	if (f->match & NUMABUF_MATCH_NODE)
		mnl_attr_put_u32(nlh, NUMABUF_A_BUF_NODE, (uint32_t)f->node);
	if (f->match & NUMABUF_MATCH_PID)
		mnl_attr_put_u32(nlh, NUMABUF_A_BUF_PID, f->pid);
	if (f->match & NUMABUF_MATCH_UID)
		mnl_attr_put_u32(nlh, NUMABUF_A_BUF_UID, (uint32_t)f->uid);
	return nb_run(nl, nb_buf_each, &u);
}
__asm__(".symver numabuf_nl_bufs_v05, numabuf_nl_bufs@@NUMABUF_0.5");

/*
 * numabuf_nl_bufs() of NUMABUF_0.3 and NUMABUF_0.4, for the programs
 * linked against them: the earlier filter, whose fields are compared
 * unless they hold their "any" value (node -1, pid 0, uid -1), so that a
 * zero filter means node 0 and uid 0.  Its errors are what they were.
 */
NB_EXPORT int numabuf_nl_bufs_v03(struct numabuf_nl *nl,
				  const struct numabuf_buf_filter_v03 *filter,
				  int (*cb)(const struct numabuf_bufstat *st,
					    void *arg),
				  void *arg)
{
	struct numabuf_buf_filter f = { 0 };

	if (filter) {
		if (filter->uid < -1 || filter->uid > UINT32_MAX ||
		    filter->node < -1)
			return -EINVAL;
		if (filter->node >= 0) {
			f.match |= NUMABUF_MATCH_NODE;
			f.node = filter->node;
		}
		if (filter->pid) {
			f.match |= NUMABUF_MATCH_PID;
			f.pid = filter->pid;
		}
		if (filter->uid >= 0) {
			f.match |= NUMABUF_MATCH_UID;
			f.uid = filter->uid;
		}
	}
	return numabuf_nl_bufs_v05(nl, &f, cb, arg);
}
__asm__(".symver numabuf_nl_bufs_v03, numabuf_nl_bufs@NUMABUF_0.3");

/* ---- pool-set, limit-get, limit-set -------------------------------------- */

NB_EXPORT int numabuf_nl_pool_set(struct numabuf_nl *nl, int node,
				  const uint64_t *target, const uint64_t *low)
{
	struct nlmsghdr *nlh;

	if (node < 0)
		return -EINVAL;
	nlh = nb_msg_start(nl, NUMABUF_CMD_POOL_SET, NLM_F_ACK, &nb_pool_set);
	mnl_attr_put_u32(nlh, NUMABUF_A_POOL_NODE, (uint32_t)node);
	if (target)
		mnl_attr_put_u64(nlh, NUMABUF_A_POOL_TARGET, *target);
	if (low)
		mnl_attr_put_u64(nlh, NUMABUF_A_POOL_LOW, *low);
	return nb_run(nl, NULL, NULL);
}

static int nb_limit_msg(const struct nlmsghdr *nlh, struct nb_req *req)
{
	const struct nlattr *tb[NUMABUF_A_LIMIT_MAX + 1];
	struct numabuf_limits *lim = req->arg;

	if (nb_parse(nlh, &nb_limit_set, tb))
		return -EPROTO;
	lim->max_bytes = nb_u64(tb[NUMABUF_A_LIMIT_MAX_BYTES]);
	lim->max_user_bytes = nb_u64(tb[NUMABUF_A_LIMIT_MAX_USER_BYTES]);
	lim->total_bytes = nb_u64(tb[NUMABUF_A_LIMIT_TOTAL_BYTES]);
	return 0;
}

NB_EXPORT int numabuf_nl_limit_get(struct numabuf_nl *nl,
				   struct numabuf_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	nb_msg_start(nl, NUMABUF_CMD_LIMIT_GET, NLM_F_ACK, &nb_limit_set);
	return nb_run(nl, nb_limit_msg, lim);
}

NB_EXPORT int numabuf_nl_limit_set(struct numabuf_nl *nl,
				   const uint64_t *max_bytes,
				   const uint64_t *max_user_bytes)
{
	struct nlmsghdr *nlh;

	nlh = nb_msg_start(nl, NUMABUF_CMD_LIMIT_SET, NLM_F_ACK,
			   &nb_limit_set);
	if (max_bytes)
		mnl_attr_put_u64(nlh, NUMABUF_A_LIMIT_MAX_BYTES, *max_bytes);
	if (max_user_bytes)
		mnl_attr_put_u64(nlh, NUMABUF_A_LIMIT_MAX_USER_BYTES,
				 *max_user_bytes);
	return nb_run(nl, NULL, NULL);
}

/* ---- events -------------------------------------------------------------- */

NB_EXPORT int numabuf_nl_subscribe(struct numabuf_nl *nl)
{
	nl->errmsg[0] = '\0';
	if (!nl->group)
		return -EPROTO;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP,
				  &nl->group, sizeof(nl->group)) < 0)
		return -errno;
	return 0;
}

/* One event message into @ev; -EPROTO when malformed, 1 when not ours. */
static int nb_event_parse(struct numabuf_nl *nl,
			  const struct nlmsghdr *nlh, struct numabuf_event *ev)
{
	const struct genlmsghdr *genl;

	if (nlh->nlmsg_type != nl->family)
		return 1;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl))
		return -EPROTO;
	genl = mnl_nlmsg_get_payload(nlh);
	memset(ev, 0, sizeof(*ev));
	ev->type = genl->cmd;
	ev->node.node = -1;
	switch (genl->cmd) {
	case NUMABUF_CMD_BUF_CREATED_NTF:
	case NUMABUF_CMD_BUF_FREED_NTF:
	case NUMABUF_CMD_ALLOC_FAILED_NTF:
	case NUMABUF_CMD_BUF_ATTACHED_NTF:
	case NUMABUF_CMD_BUF_DETACHED_NTF:
		return nb_buf_parse(nlh, &ev->buf, nl->attach);
	case NUMABUF_CMD_POOL_LOW_NTF:
		return nb_node_parse(nlh, &ev->node);
	default:
		return 1;	/* an event newer than this library */
	}
}

NB_EXPORT int numabuf_nl_events(struct numabuf_nl *nl, int nonblock,
				int (*cb)(const struct numabuf_event *ev,
					  void *arg),
				void *arg)
{
	const struct nlmsghdr *nlh;
	struct numabuf_event ev;
	int count = 0, len, ret;
	ssize_t n;

	nl->errmsg[0] = '\0';
	do {
		n = recv(mnl_socket_get_fd(nl->sock), nl->rx, sizeof(nl->rx),
			 nonblock ? MSG_DONTWAIT : 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	len = (int)n;
	for (nlh = (const struct nlmsghdr *)nl->rx; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		ret = nb_event_parse(nl, nlh, &ev);
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		count++;
		ret = cb(&ev, arg);
		if (ret < 0)
			return ret;
		if (ret)
			break;
	}
	return count;
}
