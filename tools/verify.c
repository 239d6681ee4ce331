// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Independent checks of a buffer's placement and contiguity: the kernel's
 * page tables, not numabuf's own report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "verify.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

/* Pages passed to move_pages() and read from pagemap per call. */
#define VERIFY_BATCH	512

static int verify_nodes(const char *base, size_t pages, long psz, int node,
			struct verify_result *res)
{
	void *addrs[VERIFY_BATCH];
	int status[VERIFY_BATCH];
	size_t done, i, n;

	for (done = 0; done < pages; done += n) {
		n = pages - done < VERIFY_BATCH ? pages - done : VERIFY_BATCH;
		for (i = 0; i < n; i++)
			addrs[i] = (void *)(base + (done + i) * psz);
		/* NULL nodes: report where each page is, move nothing. */
		if (syscall(SYS_move_pages, 0, n, addrs, NULL, status, 0))
			return -errno;
		for (i = 0; i < n; i++) {
			if (status[i] == node) {
				res->on_node++;
			} else if (status[i] < 0) {
				/* -EFAULT, -ENOENT: no page it can place. */
				if (!res->unplaced++)
					res->unplaced_err = status[i];
			} else if (res->other_node < 0) {
				res->other_node = status[i];
			}
		}
	}
	return 0;
}

/*
 * Count the runs of consecutive frames; contiguous means exactly one.  The
 * whole buffer is read, so a buffer made of pieces (huge pages, a
 * scatter-gather heap) reports how many.
 */
static int verify_contiguous(const char *base, size_t pages, long psz,
			     struct verify_result *res)
{
	uint64_t ent[VERIFY_BATCH], prev = 0;
	size_t done, i, n, runs = 0;
	ssize_t want;
	off_t off;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	res->contiguous = 1;
	for (done = 0; done < pages && res->contiguous >= 0; done += n) {
		n = pages - done < VERIFY_BATCH ? pages - done : VERIFY_BATCH;
		off = (off_t)(((uintptr_t)base / psz + done) * sizeof(ent[0]));
		want = (ssize_t)(n * sizeof(ent[0]));
		if (pread(fd, ent, want, off) != want) {
			close(fd);
			return -EIO;
		}
		for (i = 0; i < n; i++) {
			uint64_t pfn = ent[i] & PM_PFN_MASK;

			/*
			 * Without CAP_SYS_ADMIN the kernel hides frames;
			 * VM_PFNMAP mappings it shows as holes.
			 */
			if (!(ent[i] & PM_PRESENT) || !pfn) {
				res->contiguous = -1;
				res->hidden = !!(ent[i] & PM_PRESENT);
				break;
			}
			if (done + i == 0 || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
	}
	close(fd);
	if (res->contiguous >= 0) {
		res->runs = runs;
		res->contiguous = runs == 1;
	}
	return 0;
}

int verify_buffer(const void *addr, size_t len, int node,
		  struct verify_result *res)
{
	long psz = sysconf(_SC_PAGESIZE);
	int err;

	res->pages = len / psz;
	res->on_node = 0;
	res->other_node = -1;
	res->unplaced = 0;
	res->unplaced_err = 0;
	res->contiguous = -1;
	res->hidden = 0;
	res->runs = 0;

	err = verify_nodes(addr, res->pages, psz, node, res);
	if (err)
		return err;
	return verify_contiguous(addr, res->pages, psz, res);
}
