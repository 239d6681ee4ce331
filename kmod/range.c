// SPDX-License-Identifier: GPL-2.0
/*
 * Who may take a range of a node's memory (a buffer above 4 MiB that does
 * not come from a pool), and how often.
 *
 * Taking a range runs alloc_contig_range(): it drains the per-CPU lists of
 * every CPU, isolates pageblocks and migrates other processes' pages
 * (mlocked ones too) out of the window.  That is work done to everyone
 * else on the machine, so by default only CAP_SYS_ADMIN may ask for it;
 * others get EPERM and are pointed to pools.  The module parameter
 * range_users=1 opens ranges to everyone who can open the device, and
 * range_rate then limits how many ranges each user (real uid) may ask for
 * per second: a token bucket of range_rate tokens refilled at range_rate
 * per second; a request without a token gets EAGAIN.  CAP_SYS_ADMIN is
 * never refused and never counted.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "numabuf_priv.h"

static bool range_users;
module_param(range_users, bool, 0644);
MODULE_PARM_DESC(range_users, "Let every user who can open /dev/numabuf take ranges (buffers above 4 MiB outside a pool), not only CAP_SYS_ADMIN (default: N)");

static unsigned int range_rate;
module_param(range_rate, uint, 0644);
MODULE_PARM_DESC(range_rate, "Ranges one user without CAP_SYS_ADMIN may take per second, in bursts of as many (0: no limit)");

/*
 * A user's bucket, kept as the time it is full again ("theoretical
 * arrival time" of the generic cell rate algorithm): a request at @now
 * takes a token when @full - @now leaves room for one more interval
 * within the burst, and moves @full one interval on.  An entry whose
 * @full has passed is a full bucket and is freed, so entries exist only
 * for users who took a range in the last second.
 */
struct numabuf_range_user {
	struct hlist_node link;
	kuid_t uid;
	u64 full;
};

#define NUMABUF_RANGE_USERS_BITS	6
static DEFINE_HASHTABLE(numabuf_range_users, NUMABUF_RANGE_USERS_BITS);
static DEFINE_SPINLOCK(numabuf_range_users_lock);

/* Free every full bucket.  Called with the lock held. */
static void numabuf_range_users_prune(u64 now)
{
	struct numabuf_range_user *ru;
	struct hlist_node *tmp;
	int bkt;

	hash_for_each_safe(numabuf_range_users, bkt, tmp, ru, link) {
		if (ru->full <= now) {
			hash_del(&ru->link);
			kfree(ru);
		}
	}
}

/* Take one of @uid's tokens at @rate per second: 0 or -EAGAIN. */
static int numabuf_range_take_token(kuid_t uid, unsigned int rate)
{
	u64 interval = div_u64(NSEC_PER_SEC, rate);
	u64 burst = interval * rate;
	struct numabuf_range_user *ru, *fresh;
	u64 now, full;
	int ret = 0;

	/* Allocated outside the lock, freed if the user has an entry. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;

	spin_lock(&numabuf_range_users_lock);
	now = ktime_get_ns();
	hash_for_each_possible(numabuf_range_users, ru, link, __kuid_val(uid))
		if (uid_eq(ru->uid, uid))
			break;
	if (!ru) {
		numabuf_range_users_prune(now);
		ru = fresh;
		fresh = NULL;
		ru->uid = uid;
		ru->full = now;
		hash_add(numabuf_range_users, &ru->link, __kuid_val(uid));
	}
	full = max(ru->full, now);
	if (full + interval - now > burst)
		ret = -EAGAIN;
	else
		ru->full = full + interval;
	spin_unlock(&numabuf_range_users_lock);
	kfree(fresh);
	return ret;
}

/**
 * numabuf_range_permit - may the calling task take a range now?
 *
 * Called once per ALLOC that needs a range; a token, once taken, covers
 * every node the request tries.
 *
 * Return: 0, -EPERM without CAP_SYS_ADMIN unless range_users is set,
 * -EAGAIN when the user's range_rate is used up, -ENOMEM.
 */
int numabuf_range_permit(void)
{
	unsigned int rate = READ_ONCE(range_rate);

	if (capable(CAP_SYS_ADMIN))
		return 0;
	if (!READ_ONCE(range_users))
		return -EPERM;
	if (!rate)
		return 0;
	return numabuf_range_take_token(current_uid(), rate);
}

void numabuf_range_exit(void)
{
	struct numabuf_range_user *ru;
	struct hlist_node *tmp;
	int bkt;

	hash_for_each_safe(numabuf_range_users, bkt, tmp, ru, link) {
		hash_del(&ru->link);
		kfree(ru);
	}
}
