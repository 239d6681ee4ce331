// SPDX-License-Identifier: GPL-2.0
/*
 * Charging the memory numabuf pins, before it is allocated:
 *
 * - RLIMIT_MEMLOCK of the allocating user, in user_struct->locked_vm ("pinned
 *   pages charged to RLIMIT_MEMLOCK"), the counter io_uring and zerocopy
 *   sockets charge too, so one user's pins add up across processes.
 *   CAP_IPC_LOCK bypasses it.  Over the limit: ENOMEM.
 * - the allocating process's pinned_vm, shown as VmPin in /proc/PID/status.
 * - a global cap and a per-user cap in bytes (module parameters max_bytes
 *   and max_user_bytes, 0 for none; root may change them at run time).
 *   Over a cap: EDQUOT.
 * - a per-user cap on pool memory (max_user_pool_bytes), so that one user
 *   cannot take the pools that others share.  Over it: EDQUOT for a
 *   NUMABUF_F_POOL buffer, the general allocator for others.
 *
 * The memory cgroup is charged by the page allocator itself (__GFP_ACCOUNT)
 * for buffers from the page allocator (up to 4 MiB).  Ranges and pool
 * memory cannot be: neither 6.1 nor 6.12 exports a function that charges
 * a memory cgroup for pages the module already holds (their Module.symvers
 * have get_mem_cgroup_from_mm() and mem_cgroup_from_task(), nothing that
 * charges: no obj_cgroup_charge, __memcg_kmem_charge_page or
 * mem_cgroup_charge_skmem).  So a task whose memory cgroup, or one above
 * it, has a memory limit (memory.max or memory.high; v1: limit_in_bytes)
 * gets them only if the administrator sets cgroup_uncharged
 * (numabuf_cgroup_check()); EPERM otherwise.  Cgroups without a limit, such
 * as the services and sessions systemd puts every process in, have nothing
 * the memory could escape.
 *
 * Every charge is dropped when the buffer's memory goes (every page back,
 * buf.c), from whichever process lets go last.
 */
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "numabuf_priv.h"

static unsigned long max_bytes;
module_param(max_bytes, ulong, 0644);
MODULE_PARM_DESC(max_bytes, "Bytes all numabuf buffers together may hold (0: no cap)");

static unsigned long max_user_bytes;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes, "Bytes the buffers of one user may hold (0: no cap)");

static unsigned long max_user_pool_bytes;
module_param(max_user_pool_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_pool_bytes, "Bytes of the pools the buffers of one user may hold, all nodes together (0: no cap)");

static bool cgroup_uncharged;
module_param(cgroup_uncharged, bool, 0644);
MODULE_PARM_DESC(cgroup_uncharged, "Let tasks in a memory cgroup with a limit have ranges and pool buffers, which no memory cgroup is charged for (default: EPERM)");

/* Bytes held per user (by real uid of the allocating task). */
struct numabuf_user {
	struct hlist_node link;
	kuid_t uid;
	u64 bytes;
	u64 pool_bytes;
};

#define NUMABUF_USERS_BITS	6
static DEFINE_HASHTABLE(numabuf_users, NUMABUF_USERS_BITS);
/* Guards numabuf_users, each user's bytes and numabuf_total_bytes. */
static DEFINE_SPINLOCK(numabuf_users_lock);
static u64 numabuf_total_bytes;

static struct numabuf_user *numabuf_user_find(kuid_t uid)
{
	struct numabuf_user *nu;

	hash_for_each_possible(numabuf_users, nu, link, __kuid_val(uid))
		if (uid_eq(nu->uid, uid))
			return nu;
	return NULL;
}

static int numabuf_caps_charge(kuid_t uid, u64 bytes)
{
	unsigned long cap = READ_ONCE(max_bytes);
	unsigned long ucap = READ_ONCE(max_user_bytes);
	struct numabuf_user *nu, *fresh;
	int ret = 0;

	/* Allocated outside the lock, freed if the user already exists. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;

	spin_lock(&numabuf_users_lock);
	nu = numabuf_user_find(uid);
	if (cap && bytes > cap - min_t(u64, cap, numabuf_total_bytes)) {
		ret = -EDQUOT;
		goto out_unlock;
	}
	if (ucap && bytes > ucap - min_t(u64, ucap, nu ? nu->bytes : 0)) {
		ret = -EDQUOT;
		goto out_unlock;
	}
	if (!nu) {
		nu = fresh;
		fresh = NULL;
		nu->uid = uid;
		hash_add(numabuf_users, &nu->link, __kuid_val(uid));
	}
	nu->bytes += bytes;
	numabuf_total_bytes += bytes;
out_unlock:
	spin_unlock(&numabuf_users_lock);
	kfree(fresh);
	return ret;
}

static void numabuf_caps_uncharge(kuid_t uid, u64 bytes)
{
	struct numabuf_user *nu;

	spin_lock(&numabuf_users_lock);
	nu = numabuf_user_find(uid);
	nu->bytes -= bytes;
	numabuf_total_bytes -= bytes;
	if (!nu->bytes)
		hash_del(&nu->link);
	else
		nu = NULL;
	spin_unlock(&numabuf_users_lock);
	kfree(nu);
}

static int numabuf_memlock_charge(struct user_struct *user,
				  unsigned long pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur = atomic_long_read(&user->locked_vm);

	do {
		if (pages > limit || cur > limit - pages)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + pages));
	return 0;
}

/**
 * numabuf_charge - charge @bytes about to be pinned to the calling task
 * @c:		filled in; pass to numabuf_uncharge() when the memory goes
 * @bytes:	a multiple of PAGE_SIZE
 *
 * Return: 0, -EDQUOT over a numabuf cap, -ENOMEM over RLIMIT_MEMLOCK.
 */
int numabuf_charge(struct numabuf_charge *c, u64 bytes)
{
	unsigned long pages = bytes >> PAGE_SHIFT;
	struct user_struct *user = NULL;
	kuid_t uid = current_uid();
	int ret;

	ret = numabuf_caps_charge(uid, bytes);
	if (ret)
		return ret;

	if (!capable(CAP_IPC_LOCK)) {
		user = get_current_user();
		ret = numabuf_memlock_charge(user, pages);
		if (ret) {
			free_uid(user);
			numabuf_caps_uncharge(uid, bytes);
			return ret;
		}
	}

	c->uid = uid;
	c->bytes = bytes;
	c->user = user;
	c->mm = current->mm;
	mmgrab(c->mm);
	atomic64_add(pages, &c->mm->pinned_vm);
	return 0;
}

/**
 * numabuf_pool_charge - charge a buffer's bytes to its user's pool quota
 * @c:		the buffer's charge (numabuf_charge() done)
 *
 * Called before the buffer takes memory from a pool; numabuf_uncharge()
 * drops it, as does numabuf_pool_uncharge() if the pool then has none.
 *
 * Return: 0, or -EDQUOT over max_user_pool_bytes.
 */
int numabuf_pool_charge(struct numabuf_charge *c)
{
	unsigned long cap = READ_ONCE(max_user_pool_bytes);
	struct numabuf_user *nu;
	int ret = 0;

	spin_lock(&numabuf_users_lock);
	nu = numabuf_user_find(c->uid);
	if (cap && c->bytes > cap - min_t(u64, cap, nu->pool_bytes))
		ret = -EDQUOT;
	else
		nu->pool_bytes += c->bytes;
	spin_unlock(&numabuf_users_lock);
	c->pool = !ret;
	return ret;
}

void numabuf_pool_uncharge(struct numabuf_charge *c)
{
	struct numabuf_user *nu;

	if (!c->pool)
		return;
	spin_lock(&numabuf_users_lock);
	nu = numabuf_user_find(c->uid);
	nu->pool_bytes -= c->bytes;
	spin_unlock(&numabuf_users_lock);
	c->pool = false;
}

void numabuf_uncharge(struct numabuf_charge *c)
{
	unsigned long pages = c->bytes >> PAGE_SHIFT;

	numabuf_pool_uncharge(c);
	atomic64_sub(pages, &c->mm->pinned_vm);
	mmdrop(c->mm);
	if (c->user) {
		atomic_long_sub(pages, &c->user->locked_vm);
		free_uid(c->user);
	}
	numabuf_caps_uncharge(c->uid, c->bytes);
}

/**
 * numabuf_cgroup_check - may the calling task have memory no memory cgroup
 *			  is charged for?
 * @range_or_pool: the buffer is (or may be) a range or pool memory; false
 *		is always allowed, as the page allocator charges it
 *
 * A task whose memory cgroup (in the hierarchy of the memory controller,
 * v1 or v2), or any cgroup above it, has a memory limit (memory.max or
 * memory.high below "max") may not, unless the administrator set the
 * cgroup_uncharged parameter: that limit would not cover such memory.
 * Cgroups without a limit (the root, and the slices and services systemd
 * makes by default) are allowed.  Without the memory controller every task
 * is allowed.  A limit set after a buffer was given does not take it back.
 *
 * Return: 0, or -EPERM.
 */
int numabuf_cgroup_check(bool range_or_pool)
{
#ifdef CONFIG_MEMCG
	struct cgroup_subsys_state *css;
	bool limited = false;

	if (!range_or_pool || READ_ONCE(cgroup_uncharged) ||
	    mem_cgroup_disabled())
		return 0;
	rcu_read_lock();
	/* The root's counters are never limited: stop below it. */
	for (css = task_css(current, memory_cgrp_id); css->parent;
	     css = css->parent) {
		struct mem_cgroup *memcg = mem_cgroup_from_css(css);

		if (READ_ONCE(memcg->memory.max) != PAGE_COUNTER_MAX ||
		    READ_ONCE(memcg->memory.high) != PAGE_COUNTER_MAX) {
			limited = true;
			break;
		}
	}
	rcu_read_unlock();
	return limited ? -EPERM : 0;
#else
	return 0;
#endif
}

/**
 * numabuf_limits_get - read the caps and what all buffers hold
 * @lim:	filled in
 */
void numabuf_limits_get(struct numabuf_limits *lim)
{
	lim->max_bytes = READ_ONCE(max_bytes);
	lim->max_user_bytes = READ_ONCE(max_user_bytes);
	spin_lock(&numabuf_users_lock);
	lim->total_bytes = numabuf_total_bytes;
	spin_unlock(&numabuf_users_lock);
}

/*
 * Set the caps, as writing the module parameters does.  A cap lowered
 * below what is held refuses new buffers; live ones stay.
 */
void numabuf_limits_set_max(u64 bytes)
{
	WRITE_ONCE(max_bytes, bytes);
}

void numabuf_limits_set_max_user(u64 bytes)
{
	WRITE_ONCE(max_user_bytes, bytes);
}
