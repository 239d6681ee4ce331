// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane: the generic netlink family "numabuf", described by
 * docs/netlink/numabuf.yaml.
 *
 * The family lives in the initial network namespace only: what it shows
 * and changes (node memory, every buffer, pools, caps) is global.  Nodes
 * and buffers are open to every user, with two limits: a caller without
 * CAP_SYS_ADMIN sees only the buffers charged to its own uid and no
 * physical address.  pool-set, limit-get and limit-set take CAP_NET_ADMIN
 * (GENL_ADMIN_PERM), and pool-set and limit-set CAP_SYS_ADMIN too, as the
 * pool ioctl does.  Events go to the "events" group, which takes
 * CAP_SYS_ADMIN to join; alloc-failed events are rate-limited per user.
 *
 * Operations use struct genl_ops with a policy each (6.1 has no split
 * ops), strict validation everywhere (resv_start_op 0), and report what
 * they refuse in the extended ACK: "ATTR: problem", ATTR the spec's name.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include <linux/numabuf.h>

#include "compat.h"
#include "numabuf_priv.h"

enum {
	NUMABUF_NLGRP_EVENTS,
};

static const struct genl_multicast_group numabuf_nl_mcgrps[] = {
	[NUMABUF_NLGRP_EVENTS] = {
		.name = NUMABUF_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
	},
};

static struct genl_family numabuf_nl_family;

/* ---- policies ------------------------------------------------------------ */

static const struct nla_policy numabuf_node_get_policy[NUMABUF_A_NODE_MAX + 1] = {
	[NUMABUF_A_NODE_ID] = { .type = NLA_U32 },
};

static const struct nla_policy numabuf_buf_dump_policy[NUMABUF_A_BUF_MAX + 1] = {
	[NUMABUF_A_BUF_NODE] = { .type = NLA_U32 },
	[NUMABUF_A_BUF_PID] = { .type = NLA_U32 },
	[NUMABUF_A_BUF_UID] = { .type = NLA_U32 },
};

static const struct nla_policy numabuf_pool_set_policy[NUMABUF_A_POOL_MAX + 1] = {
	[NUMABUF_A_POOL_NODE] = { .type = NLA_U32 },
	[NUMABUF_A_POOL_TARGET] = { .type = NLA_U64 },
	[NUMABUF_A_POOL_LOW] = { .type = NLA_U64 },
};

static const struct nla_policy numabuf_limit_set_policy[NUMABUF_A_LIMIT_MAX + 1] = {
	[NUMABUF_A_LIMIT_MAX_BYTES] = { .type = NLA_U64 },
	[NUMABUF_A_LIMIT_MAX_USER_BYTES] = { .type = NLA_U64 },
};

/* limit-get takes no attribute. */
static const struct nla_policy numabuf_limit_get_policy[NUMABUF_A_LIMIT_MAX + 1] = {
};

/* ---- node-get ------------------------------------------------------------ */

/*
 * A node id attribute of a request: the node, -EINVAL when the id is
 * beyond any node, -ENODEV when there is no such node or it has no memory.
 */
static int numabuf_nl_node(const struct nlattr *attr)
{
	u32 node = nla_get_u32(attr);

	if (node >= MAX_NUMNODES)
		return -EINVAL;
	if (!node_state(node, N_MEMORY))
		return -ENODEV;
	return node;
}

/*
 * Explain numabuf_nl_node()'s refusal of @attr, an "id" (node-get) or a
 * "node" (pool-set) attribute.  The message names it, so that it is the
 * same in every reply, including the NLMSG_DONE of a dump, which carries
 * no attribute offset.
 */
static void numabuf_nl_id_err(struct netlink_ext_ack *extack,
			      const struct nlattr *attr, int err)
{
	if (err == -EINVAL)
		NL_SET_ERR_MSG_ATTR(extack, attr, "id: out of range");
	else
		NL_SET_ERR_MSG_ATTR(extack, attr, "id: no such node with memory");
}

static void numabuf_nl_pool_node_err(struct netlink_ext_ack *extack,
				     const struct nlattr *attr, int err)
{
	if (err == -EINVAL)
		NL_SET_ERR_MSG_ATTR(extack, attr, "node: out of range");
	else
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "node: no such node with memory");
}

static int numabuf_node_fill(struct sk_buff *skb, int node, u32 portid,
			     u32 seq, int flags)
{
	static const int allocs[NUMABUF_NR_SOURCES] = {
		NUMABUF_A_NODE_ALLOCS_PAGES, NUMABUF_A_NODE_ALLOCS_RANGE,
		NUMABUF_A_NODE_ALLOCS_POOL,
	};
	static const int fails[NUMABUF_NR_SOURCES] = {
		NUMABUF_A_NODE_FAILS_PAGES, NUMABUF_A_NODE_FAILS_RANGE,
		NUMABUF_A_NODE_FAILS_POOL,
	};
	const int pad = NUMABUF_A_NODE_PAD;
	unsigned long managed = 0, free = 0;
	struct numabuf_node_counters c;
	struct numabuf_pool_stat ps;
	pg_data_t *pgdat = NODE_DATA(node);
	struct zone *zone;
	void *hdr;
	int i;

	for (zone = pgdat->node_zones;
	     zone < pgdat->node_zones + MAX_NR_ZONES; zone++) {
		managed += zone_managed_pages(zone);
		free += zone_page_state(zone, NR_FREE_PAGES);
	}
	numabuf_pool_get(node, &ps);
	numabuf_stats_node(node, &c);

	hdr = genlmsg_put(skb, portid, seq, &numabuf_nl_family, flags,
			  NUMABUF_CMD_NODE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, NUMABUF_A_NODE_ID, node) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_MEM_TOTAL,
			      (u64)managed << PAGE_SHIFT, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_MEM_FREE,
			      (u64)free << PAGE_SHIFT, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_TARGET, ps.target, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_SIZE, ps.bytes, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_FREE, ps.free, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_LARGEST, ps.largest,
			      pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_LOW, ps.low, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_BUFFERS, c.buffers, pad) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_NODE_BYTES, c.bytes, pad))
		goto cancel;
	for (i = 0; i < NUMABUF_NR_SOURCES; i++)
		if (nla_put_u64_64bit(skb, allocs[i], c.allocs[i], pad) ||
		    nla_put_u64_64bit(skb, fails[i], c.fails[i], pad))
			goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int numabuf_nl_node_get_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct sk_buff *msg;
	int node, ret;

	if (GENL_REQ_ATTR_CHECK(info, NUMABUF_A_NODE_ID))
		return -EINVAL;
	node = numabuf_nl_node(info->attrs[NUMABUF_A_NODE_ID]);
	if (node < 0) {
		numabuf_nl_id_err(info->extack, info->attrs[NUMABUF_A_NODE_ID],
				  node);
		return node;
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = numabuf_node_fill(msg, node, info->snd_portid, info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/**
 * struct numabuf_node_dump_ctx - a node-get dump, in cb->ctx (zeroed)
 * @started:	the request has been read
 * @node:	the next node to report
 * @only:	the node the request named, or NUMA_NO_NODE for all
 *
 * Dumps read their request in the first dumpit call rather than in a
 * start callback: 6.1 gives start no extended ACK to explain a refusal.
 */
struct numabuf_node_dump_ctx {
	bool started;
	int node;
	int only;
};

/*
 * One op has both do and dump (6.1 refuses two ops of one command), so
 * they share a policy: an id in a dump request restricts it to that node.
 */
static int numabuf_node_dump_start(struct netlink_callback *cb,
				   struct numabuf_node_dump_ctx *ctx)
{
	struct nlattr *id = numabuf_dump_attrs(cb)[NUMABUF_A_NODE_ID];
	int node;

	ctx->started = true;
	ctx->only = NUMA_NO_NODE;
	if (id) {
		node = numabuf_nl_node(id);
		if (node < 0) {
			numabuf_nl_id_err(cb->extack, id, node);
			return node;
		}
		ctx->only = node;
	}
	return 0;
}

static int numabuf_nl_node_get_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	struct numabuf_node_dump_ctx *ctx = (void *)cb->ctx;
	int node, ret;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	if (!ctx->started) {
		ret = numabuf_node_dump_start(cb, ctx);
		if (ret)
			return ret;
	}
	for_each_node_state(node, N_MEMORY) {
		if (node < ctx->node ||
		    (ctx->only != NUMA_NO_NODE && node != ctx->only))
			continue;
		if (numabuf_node_fill(skb, node, NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		ctx->node = node + 1;
	}
	/* A full skb ends this part; the next one resumes at ctx->node. */
	return skb->len;
}

/* ---- buf-get ------------------------------------------------------------- */

/**
 * struct numabuf_buf_dump_ctx - a buf-get dump, in cb->ctx (zeroed)
 * @started:	the request has been read (see struct numabuf_node_dump_ctx)
 * @next:	the id to resume at
 * @node:	only buffers on this node, or NUMA_NO_NODE
 * @uid:	only buffers charged to this user (if @by_uid)
 * @pid:	only buffers allocated by this process (if nonzero)
 * @by_uid:	@uid is set
 * @admin:	the caller has CAP_SYS_ADMIN: any user's buffers, with phys
 * @self:	without @admin, only buffers charged to this user, the caller's
 *
 * Who may see what is settled by the request, the dump's first part;
 * pids and uids are given as the reader of each part sees them.
 */
struct numabuf_buf_dump_ctx {
	bool started;
	unsigned long next;
	int node;
	kuid_t uid;
	pid_t pid;
	bool by_uid;
	bool admin;
	kuid_t self;
};

/* Buffers one part of a buf-get dump looks at, unless it has none to send. */
#define NUMABUF_DUMP_LOOK	4096

struct numabuf_buf_fill {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	struct numabuf_buf_dump_ctx *ctx;
	struct pid_namespace *pid_ns;
	struct user_namespace *user_ns;
};

/*
 * What a buf-get reply and a buf-created event say of a buffer, pid and
 * uid as @pid_ns and @user_ns see them.
 */
static int numabuf_buf_put_attrs(struct sk_buff *skb,
				 const struct numabuf_buf *buf,
				 struct pid_namespace *pid_ns,
				 struct user_namespace *user_ns)
{
	const int pad = NUMABUF_A_BUF_PAD;

	if (nla_put_u32(skb, NUMABUF_A_BUF_ID, buf->id) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_BUF_SIZE, numabuf_buf_bytes(buf),
			      pad) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_NODE, buf->node) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_FLAGS, buf->flags) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_SOURCE, buf->source) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_PID, pid_nr_ns(buf->pid, pid_ns)) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_UID,
			from_kuid_munged(user_ns, buf->charge.uid)) ||
	    nla_put_string(skb, NUMABUF_A_BUF_COMM, buf->comm) ||
	    nla_put_u64_64bit(skb, NUMABUF_A_BUF_CREATED, buf->created, pad))
		return -EMSGSIZE;
	return 0;
}

/*
 * One attachment as a NUMABUF_A_BUF_ATTACH nest; the DMA address only
 * for @admin, as the physical address.  @reason: 0, or why it ended.
 */
static int numabuf_attach_put(struct sk_buff *skb,
			      const struct numabuf_attachment *a, bool admin,
			      u32 reason)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, NUMABUF_A_BUF_ATTACH);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(skb, NUMABUF_A_ATTACH_DEVICE, a->name) ||
	    (admin &&
	     nla_put_u64_64bit(skb, NUMABUF_A_ATTACH_DMA_ADDR, a->dma_addr,
			       NUMABUF_A_ATTACH_PAD)) ||
	    (reason && nla_put_u32(skb, NUMABUF_A_ATTACH_REASON, reason))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Every attachment of @buf.  Under the buffers' xarray lock: the list is
 * read under the buffer's attach_lock, which attach.c's writers take
 * (struct numabuf_buf), the one thing a reader may take of a const
 * buffer.
 */
static int numabuf_attachments_put(struct sk_buff *skb,
				   const struct numabuf_buf *buf, bool admin)
{
	spinlock_t *lock = (spinlock_t *)&buf->attach_lock;
	const struct numabuf_attachment *a;
	int ret = 0;

	spin_lock(lock);
	list_for_each_entry(a, &buf->attachments, buf_link) {
		ret = numabuf_attach_put(skb, a, admin, 0);
		if (ret)
			break;
	}
	spin_unlock(lock);
	return ret;
}

static int numabuf_buf_fill_one(const struct numabuf_buf *buf, void *arg)
{
	struct numabuf_buf_fill *f = arg;
	struct numabuf_buf_dump_ctx *ctx = f->ctx;
	struct sk_buff *skb = f->skb;
	void *hdr;

	if (!ctx->admin && !uid_eq(buf->charge.uid, ctx->self))
		return 0;
	if (ctx->node != NUMA_NO_NODE && buf->node != ctx->node)
		return 0;
	if (ctx->by_uid && !uid_eq(buf->charge.uid, ctx->uid))
		return 0;
	if (ctx->pid && pid_nr_ns(buf->pid, f->pid_ns) != ctx->pid)
		return 0;

	hdr = genlmsg_put(skb, NETLINK_CB(f->cb->skb).portid,
			  f->cb->nlh->nlmsg_seq, &numabuf_nl_family,
			  NLM_F_MULTI, NUMABUF_CMD_BUF_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (numabuf_buf_put_attrs(skb, buf, f->pid_ns, f->user_ns) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_MAP_COUNT,
			atomic_read(&buf->map_count)) ||
	    nla_put_u32(skb, NUMABUF_A_BUF_EXPORTS,
			atomic_read(&buf->exports)) ||
	    (ctx->admin &&
	     nla_put_u64_64bit(skb, NUMABUF_A_BUF_PHYS, page_to_phys(buf->page),
			       NUMABUF_A_BUF_PAD)) ||
	    (READ_ONCE(buf->released) &&
	     nla_put_flag(skb, NUMABUF_A_BUF_RELEASED)) ||
	    numabuf_attachments_put(skb, buf, ctx->admin)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int numabuf_buf_dump_start(struct netlink_callback *cb,
				  struct numabuf_buf_dump_ctx *ctx)
{
	struct nlattr **attrs = numabuf_dump_attrs(cb);
	struct nlattr *a;

	ctx->started = true;
	ctx->next = 1;
	ctx->node = NUMA_NO_NODE;
	ctx->admin = netlink_capable(cb->skb, CAP_SYS_ADMIN);
	ctx->self = current_uid();

	a = attrs[NUMABUF_A_BUF_NODE];
	if (a) {
		if (nla_get_u32(a) >= MAX_NUMNODES) {
			NL_SET_ERR_MSG_ATTR(cb->extack, a, "node: out of range");
			return -EINVAL;
		}
		ctx->node = nla_get_u32(a);
	}
	a = attrs[NUMABUF_A_BUF_UID];
	if (a) {
		ctx->uid = make_kuid(current_user_ns(), nla_get_u32(a));
		if (!uid_valid(ctx->uid)) {
			NL_SET_ERR_MSG_ATTR(cb->extack, a,
					    "uid: not valid in the caller's user namespace");
			return -EINVAL;
		}
		ctx->by_uid = true;
	}
	a = attrs[NUMABUF_A_BUF_PID];
	if (a) {
		if (!nla_get_u32(a) || nla_get_u32(a) > PID_MAX_LIMIT) {
			NL_SET_ERR_MSG_ATTR(cb->extack, a, "pid: out of range");
			return -EINVAL;
		}
		ctx->pid = nla_get_u32(a);
	}
	return 0;
}

static int numabuf_nl_buf_get_dumpit(struct sk_buff *skb,
				     struct netlink_callback *cb)
{
	struct numabuf_buf_fill f = {
		.skb = skb,
		.cb = cb,
		.ctx = (void *)cb->ctx,
		.pid_ns = task_active_pid_ns(current),
		.user_ns = current_user_ns(),
	};
	int ret;

	BUILD_BUG_ON(sizeof(*f.ctx) > sizeof(cb->ctx));
	if (!f.ctx->started) {
		ret = numabuf_buf_dump_start(cb, f.ctx);
		if (ret)
			return ret;
	}
	/*
	 * A buffer that did not fit is the first of the next part.  After
	 * NUMABUF_DUMP_LOOK buffers the part ends with what it has; a part
	 * cannot be empty (that would end the dump), so a caller who may see
	 * few buffers walks on, in batches that never hold the lock long.
	 */
	for (;;) {
		ret = numabuf_bufs_walk(&f.ctx->next, NUMABUF_DUMP_LOOK,
					numabuf_buf_fill_one, &f);
		if (!ret) {
			f.ctx->next = ULONG_MAX;
			break;
		}
		if (ret != -EAGAIN || skb->len)
			break;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return skb->len;
}

/* ---- pool-set, limit-get, limit-set -------------------------------------- */

static int numabuf_nl_pool_set_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct nlattr *target = info->attrs[NUMABUF_A_POOL_TARGET];
	struct nlattr *low = info->attrs[NUMABUF_A_POOL_LOW];
	int node, ret;

	/* As NUMABUF_IOC_POOL_SET: pinning memory away is an admin's call. */
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "setting a pool needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, NUMABUF_A_POOL_NODE))
		return -EINVAL;
	if (!target && !low) {
		GENL_SET_ERR_MSG(info, "nothing to set: give target, low or both");
		return -EINVAL;
	}
	node = numabuf_nl_node(info->attrs[NUMABUF_A_POOL_NODE]);
	if (node < 0) {
		numabuf_nl_pool_node_err(info->extack,
					 info->attrs[NUMABUF_A_POOL_NODE], node);
		return node;
	}

	if (target) {
		ret = numabuf_pool_resize(node, nla_get_u64(target));
		if (ret == -ENOMEM)
			NL_SET_ERR_MSG_ATTR(info->extack, target,
					    "target: the node cannot give that much contiguous memory");
		else if (ret)
			NL_SET_ERR_MSG_ATTR(info->extack, target,
					    "target: interrupted while resizing");
		if (ret)
			return ret;
	}
	if (low)
		numabuf_pool_set_low(node, nla_get_u64(low));
	return 0;
}

static int numabuf_nl_limit_get_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	const int pad = NUMABUF_A_LIMIT_PAD;
	struct numabuf_limits lim;
	struct sk_buff *msg;
	void *hdr;

	numabuf_limits_get(&lim);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &numabuf_nl_family, 0,
				NUMABUF_CMD_LIMIT_GET);
	if (!hdr ||
	    nla_put_u64_64bit(msg, NUMABUF_A_LIMIT_MAX_BYTES, lim.max_bytes,
			      pad) ||
	    nla_put_u64_64bit(msg, NUMABUF_A_LIMIT_MAX_USER_BYTES,
			      lim.max_user_bytes, pad) ||
	    nla_put_u64_64bit(msg, NUMABUF_A_LIMIT_TOTAL_BYTES, lim.total_bytes,
			      pad)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int numabuf_nl_limit_set_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct nlattr *max = info->attrs[NUMABUF_A_LIMIT_MAX_BYTES];
	struct nlattr *umax = info->attrs[NUMABUF_A_LIMIT_MAX_USER_BYTES];

	/*
	 * As pool-set: the caps bound what users may pin, so lifting them is
	 * not a network administrator's call.
	 */
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "setting a limit needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (!max && !umax) {
		GENL_SET_ERR_MSG(info,
				 "nothing to set: give max-bytes, max-user-bytes or both");
		return -EINVAL;
	}
	/* The caps are unsigned long module parameters. */
	if (max && nla_get_u64(max) > ULONG_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, max,
				    "max-bytes: out of range");
		return -EINVAL;
	}
	if (umax && nla_get_u64(umax) > ULONG_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, umax,
				    "max-user-bytes: out of range");
		return -EINVAL;
	}
	if (max)
		numabuf_limits_set_max(nla_get_u64(max));
	if (umax)
		numabuf_limits_set_max_user(nla_get_u64(umax));
	return 0;
}

static const struct genl_ops numabuf_nl_ops[] = {
	{
		.cmd = NUMABUF_CMD_NODE_GET,
		.doit = numabuf_nl_node_get_doit,
		.dumpit = numabuf_nl_node_get_dumpit,
		.policy = numabuf_node_get_policy,
		.maxattr = NUMABUF_A_NODE_MAX,
	},
	{
		.cmd = NUMABUF_CMD_BUF_GET,
		.dumpit = numabuf_nl_buf_get_dumpit,
		.policy = numabuf_buf_dump_policy,
		.maxattr = NUMABUF_A_BUF_MAX,
	},
	{
		.cmd = NUMABUF_CMD_POOL_SET,
		.doit = numabuf_nl_pool_set_doit,
		.policy = numabuf_pool_set_policy,
		.maxattr = NUMABUF_A_POOL_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NUMABUF_CMD_LIMIT_GET,
		.doit = numabuf_nl_limit_get_doit,
		.policy = numabuf_limit_get_policy,
		.maxattr = NUMABUF_A_LIMIT_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NUMABUF_CMD_LIMIT_SET,
		.doit = numabuf_nl_limit_set_doit,
		.policy = numabuf_limit_set_policy,
		.maxattr = NUMABUF_A_LIMIT_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family numabuf_nl_family __ro_after_init = {
	.name = NUMABUF_FAMILY_NAME,
	.version = NUMABUF_FAMILY_VERSION,
	.module = THIS_MODULE,
	.ops = numabuf_nl_ops,
	.n_ops = ARRAY_SIZE(numabuf_nl_ops),
	.mcgrps = numabuf_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(numabuf_nl_mcgrps),
	.parallel_ops = true,
};

/* ---- events -------------------------------------------------------------- */

/* A new event message, or NULL when nobody listens or memory is short. */
static struct sk_buff *numabuf_event_new(u8 cmd, void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&numabuf_nl_family, &init_net,
				NUMABUF_NLGRP_EVENTS))
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &numabuf_nl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void numabuf_event_send(struct sk_buff *skb, void *hdr, int err)
{
	if (err) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&numabuf_nl_family, skb, 0, NUMABUF_NLGRP_EVENTS,
			  GFP_KERNEL);
}

/* Pids and uids in events are as the initial namespaces see them. */
void numabuf_nl_buf_created(const struct numabuf_buf *buf)
{
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_BUF_CREATED_NTF, &hdr);
	if (skb)
		numabuf_event_send(skb, hdr,
				   numabuf_buf_put_attrs(skb, buf, &init_pid_ns,
							 &init_user_ns));
}

void numabuf_nl_buf_freed(const struct numabuf_buf *buf)
{
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_BUF_FREED_NTF, &hdr);
	if (skb)
		numabuf_event_send(skb, hdr,
				   nla_put_u32(skb, NUMABUF_A_BUF_ID, buf->id) ||
				   nla_put_u64_64bit(skb, NUMABUF_A_BUF_SIZE,
						     numabuf_buf_bytes(buf),
						     NUMABUF_A_BUF_PAD) ||
				   nla_put_u32(skb, NUMABUF_A_BUF_NODE,
					       buf->node));
}

/*
 * Listeners of the events group have CAP_SYS_ADMIN: they see DMA
 * addresses as buf-get shows them to such readers.
 */
void numabuf_nl_buf_attached(const struct numabuf_buf *buf,
			     const struct numabuf_attachment *a)
{
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_BUF_ATTACHED_NTF, &hdr);
	if (skb)
		numabuf_event_send(skb, hdr,
				   nla_put_u32(skb, NUMABUF_A_BUF_ID, buf->id) ||
				   numabuf_attach_put(skb, a, true, 0));
}

void numabuf_nl_buf_detached(const struct numabuf_buf *buf,
			     const struct numabuf_attachment *a, u32 reason)
{
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_BUF_DETACHED_NTF, &hdr);
	if (skb)
		numabuf_event_send(skb, hdr,
				   nla_put_u32(skb, NUMABUF_A_BUF_ID, buf->id) ||
				   numabuf_attach_put(skb, a, true, reason));
}

/*
 * alloc-failed events are limited per user, so that a user who makes
 * allocations fail in a loop cannot flood the listeners (whose sockets
 * would overflow and lose every other event).  Each user may send
 * NUMABUF_FAIL_BURST of them a second; the failures beyond are counted,
 * and the next alloc-failed event of that user carries the count in
 * "suppressed".  A second after a failure is first held back, a worker
 * sends an event for the last one held back in each slot, carrying the
 * count of the others: a listener learns of every failure, as an event
 * or in a count.
 *
 * Users are tracked in a fixed table of slots hashed by uid, so memory
 * stays bounded however many uids fail; users whose uids hash to one slot
 * share its budget and its count.
 */
#define NUMABUF_FAIL_SLOTS_BITS	7
#define NUMABUF_FAIL_BURST	10

/**
 * struct numabuf_fail - what an alloc-failed event says
 * @bytes:	size asked for
 * @node:	node asked for
 * @flags:	flags asked for
 * @err:	negative errno
 * @pid:	process, in the initial pid namespace
 * @uid:	user
 * @comm:	command name
 */
struct numabuf_fail {
	u64 bytes;
	int node;
	u32 flags;
	int err;
	pid_t pid;
	kuid_t uid;
	char comm[TASK_COMM_LEN];
};

/**
 * struct numabuf_fail_slot - the alloc-failed events of the users of a slot
 * @start:	jiffies when the current one-second window began
 * @sent:	events sent in that window
 * @suppressed:	failures not announced since the slot's last event
 * @last:	the last of them, for the worker to announce
 */
struct numabuf_fail_slot {
	unsigned long start;
	unsigned int sent;
	u32 suppressed;
	struct numabuf_fail last;
};

static struct numabuf_fail_slot numabuf_fail_slots[1 << NUMABUF_FAIL_SLOTS_BITS];
static DEFINE_SPINLOCK(numabuf_fail_lock);

static void numabuf_fail_send(const struct numabuf_fail *f, u32 suppressed)
{
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_ALLOC_FAILED_NTF, &hdr);
	if (!skb)
		return;
	numabuf_event_send(skb, hdr,
			   nla_put_u64_64bit(skb, NUMABUF_A_BUF_SIZE, f->bytes,
					     NUMABUF_A_BUF_PAD) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_NODE, f->node) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_FLAGS, f->flags) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_PID, f->pid) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_UID,
				       from_kuid_munged(&init_user_ns, f->uid)) ||
			   nla_put_string(skb, NUMABUF_A_BUF_COMM, f->comm) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_ERROR, -f->err) ||
			   nla_put_u32(skb, NUMABUF_A_BUF_SUPPRESSED,
				       suppressed));
}

/* Announce the last suppressed failure of every slot that has one. */
static void numabuf_fail_flush(struct work_struct *work)
{
	struct numabuf_fail f;
	u32 n;
	int i;

	for (i = 0; i < ARRAY_SIZE(numabuf_fail_slots); i++) {
		struct numabuf_fail_slot *s = &numabuf_fail_slots[i];

		spin_lock(&numabuf_fail_lock);
		n = s->suppressed;
		if (n) {
			f = s->last;
			s->suppressed = 0;
		}
		spin_unlock(&numabuf_fail_lock);
		if (n)
			numabuf_fail_send(&f, n - 1);
	}
}

static DECLARE_DELAYED_WORK(numabuf_fail_work, numabuf_fail_flush);

/* Pids and uids are as the initial namespaces see them. */
void numabuf_nl_alloc_failed(int node, u64 bytes, u32 flags, int err)
{
	struct numabuf_fail f = {
		.bytes = bytes,
		.node = node,
		.flags = flags,
		.err = err,
		.pid = task_tgid_nr(current),
		.uid = current_uid(),
	};
	unsigned long now = jiffies;
	struct numabuf_fail_slot *s;
	u32 suppressed = 0;
	bool send = false;

	if (!genl_has_listeners(&numabuf_nl_family, &init_net,
				NUMABUF_NLGRP_EVENTS))
		return;
	get_task_comm(f.comm, current);

	s = &numabuf_fail_slots[hash_32(__kuid_val(f.uid),
					NUMABUF_FAIL_SLOTS_BITS)];
	spin_lock(&numabuf_fail_lock);
	if (time_after_eq(now, s->start + HZ)) {
		s->start = now;
		s->sent = 0;
	}
	if (s->sent < NUMABUF_FAIL_BURST) {
		s->sent++;
		suppressed = s->suppressed;
		s->suppressed = 0;
		send = true;
	} else {
		if (s->suppressed < U32_MAX)
			s->suppressed++;
		s->last = f;
	}
	spin_unlock(&numabuf_fail_lock);

	if (send)
		numabuf_fail_send(&f, suppressed);
	else
		schedule_delayed_work(&numabuf_fail_work, HZ);
}

void numabuf_nl_pool_low(int node)
{
	const int pad = NUMABUF_A_NODE_PAD;
	struct numabuf_pool_stat ps;
	struct sk_buff *skb;
	void *hdr;

	skb = numabuf_event_new(NUMABUF_CMD_POOL_LOW_NTF, &hdr);
	if (!skb)
		return;
	numabuf_pool_get(node, &ps);
	numabuf_event_send(skb, hdr,
			   nla_put_u32(skb, NUMABUF_A_NODE_ID, node) ||
			   nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_TARGET,
					     ps.target, pad) ||
			   nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_SIZE,
					     ps.bytes, pad) ||
			   nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_FREE,
					     ps.free, pad) ||
			   nla_put_u64_64bit(skb, NUMABUF_A_NODE_POOL_LOW,
					     ps.low, pad));
}

int __init numabuf_nl_init(void)
{
	return genl_register_family(&numabuf_nl_family);
}

void numabuf_nl_exit(void)
{
	cancel_delayed_work_sync(&numabuf_fail_work);
	numabuf_fail_flush(NULL);
	genl_unregister_family(&numabuf_nl_family);
}
