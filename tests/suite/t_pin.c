// SPDX-License-Identifier: GPL-2.0
/*
 * Long-term pins: io_uring fixed buffers pin the pages with
 * pin_user_pages(FOLL_LONGTERM), the same path RDMA memory registration
 * and VFIO DMA mapping take.  The mapping must accept such a pin, and the
 * pinned pages must stay intact after the module has let the buffer go
 * (FREE + munmap), until the pin is dropped.
 *
 * Raw io_uring system calls; no liburing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nbutil.h"

/*
 * Register @iov as fixed buffer 0.  Where io_uring refuses device
 * mappings (before 6.5) it is no witness: skip.
 */
static void nb_ring_register(struct nb_ring *r, struct iovec *iov)
{
	if (!syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS,
		     iov, 1))
		return;
	if (errno == EOPNOTSUPP && nb_uring_refuses_devices())
		nb_skip("io_uring of this kernel refuses fixed buffers in any file-backed mapping but shmem/hugetlbfs (EOPNOTSUPP; io_uring before 6.5 does)");
	NB_FAIL("IORING_REGISTER_BUFFERS of a numabuf mapping: %s",
		nb_errname(errno));
}

/* A ring, or skip the test when io_uring is not available. */
static void nb_ring_setup_or_skip(struct nb_ring *r)
{
	int ret = nb_ring_setup(r);

	if (ret)
		nb_skip("io_uring_setup: %s (io_uring unavailable)",
			nb_errname(-ret));
}

NB_TEST(gup_longterm_io_uring,
	"io_uring can register a 1 MiB buffer as a fixed buffer (FOLL_LONGTERM pin) and write from it")
{
	const size_t len = 1 * NB_MIB;
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len);
	struct iovec iov = { p, len };
	struct nb_ring r;

	nb_fill(p, len, 41);
	nb_ring_setup_or_skip(&r);
	nb_ring_register(&r, &iov);
	NB_SYS(syscall(__NR_io_uring_register, r.fd, IORING_UNREGISTER_BUFFERS,
		       NULL, 0));
	nb_ring_close(&r);
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(pinned_pages_outlive_free,
	"pages pinned by io_uring keep their data after FREE + munmap + close, and the buffer stays counted (debugfs stats) until the pin goes; then the counters drop and the memory comes back")
{
	const size_t len = 1 * NB_MIB;
	const off_t disk_off = 16 * NB_MIB;
	const char *disk = getenv("NB_SCRATCH_DISK") ? getenv("NB_SCRATCH_DISK") : "/dev/vda";
	struct nb_stats s0 = nb_stats_read();
	int fd, dfd, ret;
	struct numabuf_alloc a;
	struct iovec iov;
	struct nb_ring r;
	uint64_t size = 0;
	struct stat st;
	size_t off;
	char *p, *chk;

	if (stat(disk, &st) || !S_ISBLK(st.st_mode))
		nb_skip("no scratch block device %s (set NB_SCRATCH_DISK)", disk);
	dfd = open(disk, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		nb_skip("cannot open %s with O_DIRECT: %s", disk, strerror(errno));
	NB_SYS(ioctl(dfd, BLKGETSIZE64, &size));
	if (size < (uint64_t)disk_off + len)
		nb_skip("%s has only %llu bytes", disk, (unsigned long long)size);

	fd = nb_open();
	a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	p = nb_map(fd, a.offset, len);
	nb_fill(p, len, 42);
	nb_ring_setup_or_skip(&r);
	iov.iov_base = p;
	iov.iov_len = len;
	nb_ring_register(&r, &iov);

	/*
	 * The handle, the mapping and the file go; the pin still holds the
	 * pages, so the buffer stays counted (and charged) until it goes.
	 */
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
	NB_STATS_EXPECT(s0, 1, (long long)len);
	/* Churn: allocate and dirty a few buffers that could reuse the pages. */
	{
		int f2 = nb_open(), i;

		for (i = 0; i < 8; i++) {
			struct numabuf_alloc b = nb_alloc_ok(f2, len, NUMABUF_NODE_LOCAL, 0);
			char *q = nb_map(f2, b.offset, len);

			memset(q, 0xdd, len);
			NB_SYS(munmap(q, len));
		}
		close(f2);
	}

	/* The io_uring still writes the pattern from the pinned pages. */
	ret = nb_ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, dfd, iov.iov_base,
			       len, disk_off);
	NB_CHECK(ret == (int)len, "WRITE_FIXED from the pinned buffer: %d (%s)",
		 ret, ret < 0 ? nb_errname(-ret) : "short");
	chk = aligned_alloc(NB_PAGE, len);
	NB_CHECK(chk, "out of memory");
	NB_CHECK(pread(dfd, chk, len, disk_off) == (ssize_t)len, "pread: %s",
		 strerror(errno));
	off = nb_verify(chk, len, 42);
	NB_CHECK(off == (size_t)-1,
		 "byte %zu of the pinned pages changed after the module freed the buffer",
		 off);
	free(chk);
	NB_STATS_EXPECT(s0, 1, (long long)len);
	NB_SYS(syscall(__NR_io_uring_register, r.fd, IORING_UNREGISTER_BUFFERS,
		       NULL, 0));
	nb_ring_close(&r);
	close(dfd);
	/* The pin is gone: the buffer goes (the scan runs every 200 ms). */
	NB_STATS_EXPECT(s0, 0, 0);
	/* The harness checks that free memory is back too. */
}
