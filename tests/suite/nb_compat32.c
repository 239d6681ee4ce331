// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit program (built with -m32, run by t_compat on a 64-bit kernel
 * with IA32 emulation): the ioctls and mmap2() of a compat process.  It
 * allocates 40 buffers, more than the 15 the 64-bit offsets would leave a
 * 32-bit process, maps each at the offset ALLOC gave, writes and reads it
 * back through a second mapping, checks INFO, and that a buffer above
 * 4 GiB is refused with EINVAL.  Prints "ok" or the first failure on
 * stdout; exits 0 only when everything held.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/numabuf.h>

#define NR	40
#define LEN	(64 * 1024)

_Static_assert(sizeof(void *) == 4, "build with -m32");
_Static_assert(sizeof(struct numabuf_alloc) == NUMABUF_ALLOC_SIZE_VER0, "alloc");
_Static_assert(sizeof(struct numabuf_info) == NUMABUF_INFO_SIZE_VER0, "info");
_Static_assert(sizeof(struct numabuf_pool) == NUMABUF_POOL_SIZE_VER0, "pool");

#define FAIL(...) do { printf(__VA_ARGS__); printf("\n"); return 1; } while (0)

int main(void)
{
	struct numabuf_alloc a[NR];
	struct numabuf_info inf;
	struct numabuf_free fr;
	uint32_t *p, *q;
	int fd, i, j;

	fd = open("/dev/numabuf", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		FAIL("open: %s", strerror(errno));
	for (i = 0; i < NR; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].size = sizeof(a[i]);
		a[i].length = LEN;
		a[i].node = NUMABUF_NODE_LOCAL;
		if (ioctl(fd, NUMABUF_IOC_ALLOC, &a[i]))
			FAIL("ALLOC %d: %s", i, strerror(errno));
		if (a[i].length != LEN || !a[i].handle)
			FAIL("ALLOC %d: length %llu handle %u", i,
			     (unsigned long long)a[i].length, a[i].handle);
		if (a[i].offset >> 44)
			FAIL("ALLOC %d: offset %#llx does not fit mmap2()", i,
			     (unsigned long long)a[i].offset);
	}
	for (i = 0; i < NR; i++) {
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)a[i].offset);
		if (p == MAP_FAILED)
			FAIL("mmap of handle %u at %#llx: %s", a[i].handle,
			     (unsigned long long)a[i].offset, strerror(errno));
		for (j = 0; j < LEN / 4; j++) {
			if (p[j])
				FAIL("handle %u: not zero", a[i].handle);
			p[j] = a[i].handle * 100003u + j;
		}
		/* The second page alone, through its own mapping. */
		q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd,
			 (off_t)a[i].offset + 4096);
		if (q == MAP_FAILED)
			FAIL("mmap of page 1 of handle %u: %s", a[i].handle,
			     strerror(errno));
		for (j = 0; j < 1024; j++)
			if (q[j] != a[i].handle * 100003u + 1024 + j)
				FAIL("handle %u: page 1 reads back wrong",
				     a[i].handle);
		munmap(q, 4096);
		munmap(p, LEN);
		memset(&inf, 0, sizeof(inf));
		inf.size = sizeof(inf);
		inf.handle = a[i].handle;
		if (ioctl(fd, NUMABUF_IOC_INFO, &inf))
			FAIL("INFO %u: %s", a[i].handle, strerror(errno));
		if (inf.offset != a[i].offset || inf.length != LEN)
			FAIL("INFO %u: offset %#llx length %llu", a[i].handle,
			     (unsigned long long)inf.offset,
			     (unsigned long long)inf.length);
	}
	/* Past the end of a buffer: EINVAL, as for 64-bit callers. */
	p = mmap(NULL, 2 * LEN, PROT_READ, MAP_SHARED, fd, (off_t)a[0].offset);
	if (p != MAP_FAILED || errno != EINVAL)
		FAIL("mmap past the end: %s, expected EINVAL",
		     p == MAP_FAILED ? strerror(errno) : "mapped");
	/* Above 4 GiB: refused before anything is allocated. */
	memset(&a[0], 0, sizeof(a[0]));
	a[0].size = sizeof(a[0]);
	a[0].length = (4ULL << 30) + 4096;
	a[0].node = NUMABUF_NODE_LOCAL;
	if (!ioctl(fd, NUMABUF_IOC_ALLOC, &a[0]) || errno != EINVAL)
		FAIL("ALLOC of 4 GiB + 4 KiB: %s, expected EINVAL",
		     strerror(errno));
	for (i = 1; i < NR; i++) {
		memset(&fr, 0, sizeof(fr));
		fr.size = sizeof(fr);
		fr.handle = a[i].handle;
		if (ioctl(fd, NUMABUF_IOC_FREE, &fr))
			FAIL("FREE %u: %s", a[i].handle, strerror(errno));
	}
	close(fd);
	printf("ok\n");
	return 0;
}
