// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: hugetlb-2m, 2 MiB huge pages bound to the node, what DPDK
 * does: set_mempolicy(MPOL_BIND), mmap(MAP_HUGETLB | MAP_POPULATE), and
 * the policy undone.  With --reserve-hugepages the node's huge page count
 * is raised for the run and put back after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/mempolicy.h>

#include "bench.h"

#define HUGE_SIZE	(2 * MIB)
#define HUGE_DIR	"hugepages/hugepages-2048kB"

static int huge_path(const struct bench *b, const char *file, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, SYSFS_NODE "/node%d/" HUGE_DIR "/%s",
			 b->node, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * With --reserve-hugepages, grow the node's count of 2 MiB pages until
 * enough are free for the largest size, and put it back afterwards.
 */
static int huge_setup(struct bench *b, char *why)
{
	char nr_path[256], free_path[256];
	uint64_t largest = 0;
	long need, nr, got;
	unsigned int i;
	int err;

	b->huge_orig = -1;
	err = huge_path(b, "nr_hugepages", nr_path, sizeof(nr_path));
	if (!err)
		err = huge_path(b, "free_hugepages", free_path,
				sizeof(free_path));
	if (!err)
		err = read_long(free_path, &b->huge_free);
	if (err) {
		set_reason(why, REASON_LEN, "no 2 MiB huge pages on node %d "
			   "(%s: %s)", b->node, free_path, strerror(-err));
		return err;
	}
	for (i = 0; i < b->nsizes; i++)
		if (b->sizes[i] > largest)
			largest = b->sizes[i];
	need = (long)(round_up(largest, HUGE_SIZE) / HUGE_SIZE);
	if (!b->reserve_huge || b->huge_free >= need)
		return 0;

	err = read_long(nr_path, &nr);
	if (!err)
		err = write_long(nr_path, nr + need - b->huge_free);
	if (err) {
		set_reason(b->huge_note, REASON_LEN,
			   "could not reserve huge pages (%s: %s)", nr_path,
			   strerror(-err));
		return 0;
	}
	b->huge_orig = nr;
	if (read_long(nr_path, &got))
		got = -1;
	read_long(free_path, &b->huge_free);
	set_reason(b->huge_note, REASON_LEN,
		   "node %d's nr_hugepages raised from %ld to %ld for the run "
		   "(%ld free, %ld wanted), restored after", b->node, nr, got,
		   b->huge_free, need);
	return 0;
}

static void huge_teardown(struct bench *b)
{
	char path[256];
	int err;

	if (b->huge_orig < 0)
		return;
	err = huge_path(b, "nr_hugepages", path, sizeof(path));
	if (!err)
		err = write_long(path, b->huge_orig);
	if (err)
		fprintf(stderr, "%s: cannot restore %s to %ld: %s\n", prog,
			path, b->huge_orig, strerror(-err));
	b->huge_orig = -1;
}

static long set_mempolicy_(int mode, const unsigned long *mask,
			   unsigned long maxnode)
{
	return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

/*
 * Bind, map populated, unbind: the memory policy is the process's, so the
 * bind is undone at once, as DPDK does around each segment.
 */
static int huge_get(struct bench *b, uint64_t size, struct mem *m)
{
	size_t len = round_up(size, HUGE_SIZE);
	void *p;
	int err = 0;

	if (set_mempolicy_(MPOL_BIND, b->nodemask, MAX_NODES + 1))
		return -errno;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		err = -errno;
	set_mempolicy_(MPOL_DEFAULT, NULL, 0);
	if (err)
		return err;
	m->addr = p;
	m->len = len;
	return 0;
}

/* Enough free huge pages on the node for @size? */
static int huge_check_size(struct bench *b, uint64_t size, char *why)
{
	if ((uint64_t)b->huge_free * HUGE_SIZE >= round_up(size, HUGE_SIZE))
		return 0;
	set_reason(why, REASON_LEN,
		   "%ld free 2 MiB pages on node %d, %" PRIu64
		   " needed (--reserve-hugepages)", b->huge_free,
		   b->node, (uint64_t)(round_up(size, HUGE_SIZE) / HUGE_SIZE));
	return -ENOMEM;
}

static void munmap_put(struct bench *b, struct mem *m)
{
	(void)b;
	munmap(m->addr, m->len);
}

const struct method method_hugetlb = {
	.name = "hugetlb-2m",
	.what = "set_mempolicy(MPOL_BIND) + mmap(MAP_HUGETLB | MAP_POPULATE) of 2 MiB pages + touch + munmap",
	.setup = huge_setup,
	.get = huge_get,
	.put = munmap_put,
	.check_size = huge_check_size,
	.teardown = huge_teardown,
};
