// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: every malformed call fails with its documented errno
 * (docs/interfaces.md), leaks nothing (the harness checks the counters
 * and free memory after each test) and writes nothing to the kernel log
 * (each test here reads /dev/kmsg around its calls: no record above debug
 * level may appear).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nbutil.h"

/* ---- the kernel log must stay quiet ---- */

static int nb_kmsg = -1;

static void nb_log_mark(void)
{
	nb_kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	NB_CHECK(nb_kmsg >= 0, "open /dev/kmsg: %s", strerror(errno));
	lseek(nb_kmsg, 0, SEEK_END);
}

static void nb_log_quiet_at(int line)
{
	char rec[4096];
	ssize_t n;

	for (;;) {
		n = read(nb_kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		if ((atoi(rec) & 7) < 7) {
			char *msg = strchr(rec, ';');

			msg = msg ? msg + 1 : rec;
			msg[strcspn(msg, "\n")] = 0;
			nb_fail_at(NB_FILE, line,
				   "bad input made the kernel log: <%d>%.900s",
				   atoi(rec) & 7, msg);
		}
	}
	close(nb_kmsg);
}
#define NB_LOG_QUIET() nb_log_quiet_at(__LINE__)

/* ---- raw argument buffers, so sizes and tails can be anything ---- */

/* Big enough for a one-page struct plus a guard. */
static _Alignas(4096) unsigned char nb_arg[2 * 4096];

static void *nb_arg_alloc(uint32_t size, uint64_t length, int node,
			  uint32_t flags)
{
	struct numabuf_alloc *a = (void *)nb_arg;

	memset(nb_arg, 0, sizeof(nb_arg));
	a->size = size;
	a->length = length;
	a->node = node;
	a->flags = flags;
	return a;
}

static void *nb_arg_handle(uint32_t size, uint32_t handle)
{
	/* struct numabuf_free and numabuf_info both begin size, handle */
	struct numabuf_free *f = (void *)nb_arg;

	memset(nb_arg, 0, sizeof(nb_arg));
	f->size = size;
	f->handle = handle;
	return f;
}

static int nb_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg);
}

/* The same ioctl with another size encoded in its number. */
static unsigned long nb_resize_cmd(unsigned long cmd, unsigned int size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

/* The smallest node id that is not online (the guest: 2). */
static int nb_offline_node(void)
{
	int node = 0;

	while (nb_node_online(node))
		node++;
	return node;
}

NB_TEST(bad_ioctl_number,
	"unknown ioctl numbers and another magic fail with ENOTTY")
{
	int fd = nb_open();
	/* 0x01-0x09 are numabuf's (ALLOC ... SYNC). */
	static const unsigned int nrs[] = { 0x00, 0x0a, 0x10, 0x7f, 0xff };
	size_t i;

	nb_log_mark();
	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		nb_arg_alloc(sizeof(struct numabuf_alloc), NB_PAGE, NUMABUF_NODE_LOCAL, 0);
		NB_ERRNO(nb_ioctl(fd, _IOWR(NUMABUF_IOC_MAGIC, nrs[i], struct numabuf_alloc), nb_arg),
			 ENOTTY);
	}
	nb_arg_alloc(sizeof(struct numabuf_alloc), NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	NB_ERRNO(nb_ioctl(fd, _IOWR('M', 0x01, struct numabuf_alloc), nb_arg), ENOTTY);
	NB_ERRNO(nb_ioctl(fd, _IOWR('n', 0x01, struct numabuf_alloc), nb_arg), ENOTTY);
	NB_ERRNO(nb_ioctl(fd, _IOW('M', 0x02, struct numabuf_free), nb_arg), ENOTTY);
	NB_ERRNO(nb_ioctl(fd, _IOWR('M', 0x03, struct numabuf_info), nb_arg), ENOTTY);
	/* Common ioctls a file might be probed with. */
	NB_ERRNO(nb_ioctl(fd, TCGETS, nb_arg), ENOTTY);
	NB_ERRNO(nb_ioctl(fd, FIONREAD, nb_arg), ENOTTY);
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(bad_alloc_flags,
	"ALLOC with an unknown flag bit, both POOL and NO_POOL, or both WC and UC, fails with EINVAL")
{
	static const uint32_t bad[] = { 1u << 7, 1u << 8, 1u << 31, ~0u,
					NUMABUF_F_PREFERRED | 1u << 7,
					NUMABUF_F_POOL | NUMABUF_F_NO_POOL,
					NUMABUF_F_WC | NUMABUF_F_UC,
					NUMABUF_F_ALL };
	int fd = nb_open();
	size_t i;

	nb_log_mark();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nb_arg_alloc(sizeof(struct numabuf_alloc), NB_PAGE, NUMABUF_NODE_LOCAL, bad[i]);
		NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_ALLOC, nb_arg), EINVAL);
	}
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(bad_reserved,
	"a nonzero reserved field of ALLOC, FREE or INFO fails with EINVAL (and that FREE frees nothing)")
{
	int fd = nb_open(), i;
	struct numabuf_alloc good = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);

	nb_log_mark();
	for (i = 0; i < 4; i++) {
		struct numabuf_alloc *a = nb_arg_alloc(sizeof(*a), NB_PAGE, NUMABUF_NODE_LOCAL, 0);

		a->reserved[i] = 1ULL << (i * 16);
		NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_ALLOC, a), EINVAL);
	}
	for (i = 0; i < 2; i++) {
		struct numabuf_free *f = nb_arg_handle(sizeof(*f), good.handle);

		f->reserved[i] = 1;
		NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_FREE, f), EINVAL);
	}
	for (i = -1; i < 4; i++) {
		struct numabuf_info *inf = nb_arg_handle(sizeof(*inf), good.handle);

		if (i < 0)
			inf->source = 1;
		else
			inf->reserved[i] = 1ULL << 63;
		NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_INFO, inf), EINVAL);
	}
	NB_CHECK(!nb_info(fd, good.handle, NULL),
		 "a FREE rejected for its reserved field freed the buffer");
	NB_CHECK(!nb_free(fd, good.handle), "FREE failed");
	NB_LOG_QUIET();
	close(fd);
}

struct nb_ioc {
	const char *name;
	unsigned long cmd;
	uint32_t ver0, ksize;
};

static const struct nb_ioc nb_iocs[] = {
	{ "ALLOC", NUMABUF_IOC_ALLOC, NUMABUF_ALLOC_SIZE_VER0, sizeof(struct numabuf_alloc) },
	{ "FREE", NUMABUF_IOC_FREE, NUMABUF_FREE_SIZE_VER0, sizeof(struct numabuf_free) },
	{ "INFO", NUMABUF_IOC_INFO, NUMABUF_INFO_SIZE_VER0, sizeof(struct numabuf_info) },
};

/* Prepare a valid argument of @size bytes for @ioc (FREE/INFO: @handle). */
static void nb_arg_for(const struct nb_ioc *ioc, uint32_t size, uint32_t handle)
{
	if (ioc->cmd == NUMABUF_IOC_ALLOC)
		nb_arg_alloc(size, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	else
		nb_arg_handle(size, handle);
}

NB_TEST(bad_struct_size,
	"struct size below VER0, 0 or above a page: EINVAL; larger with a zero tail: accepted; larger with a nonzero tail: E2BIG")
{
	int fd = nb_open();
	size_t i;

	NB_CHECK(sizeof(struct numabuf_alloc) == NUMABUF_ALLOC_SIZE_VER0 &&
		 sizeof(struct numabuf_free) == NUMABUF_FREE_SIZE_VER0 &&
		 sizeof(struct numabuf_info) == NUMABUF_INFO_SIZE_VER0,
		 "the uapi structs are not their VER0 size");
	nb_log_mark();
	for (i = 0; i < sizeof(nb_iocs) / sizeof(nb_iocs[0]); i++) {
		const struct nb_ioc *ioc = &nb_iocs[i];
		struct numabuf_alloc h = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
		static const uint32_t bigs[] = { 0, 8, 64, 4096 };
		uint32_t small[] = { 0, 4, 8, ioc->ver0 - 8, ioc->ver0 - 1, 4097, 8192, UINT32_MAX };
		size_t k;

		for (k = 0; k < sizeof(small) / sizeof(small[0]); k++) {
			nb_arg_for(ioc, small[k], h.handle);
			errno = 0;
			if (nb_ioctl(fd, ioc->cmd, nb_arg) != -1 || errno != EINVAL)
				NB_FAIL("%s with size %u: expected EINVAL, got %s",
					ioc->name, small[k], nb_errname(errno));
		}
		for (k = 0; k < sizeof(bigs) / sizeof(bigs[0]); k++) {
			uint32_t size = bigs[k] == 4096 ? 4096 : ioc->ksize + bigs[k];
			unsigned long cmds[2] = { ioc->cmd, nb_resize_cmd(ioc->cmd, size) };
			int c;

			for (c = 0; c < 2; c++) {
				/* A nonzero byte just past the struct, then at the end. */
				uint32_t bad[2] = { ioc->ksize, size - 1 };
				int b;

				for (b = 0; b < 2 && size > ioc->ksize; b++) {
					nb_arg_for(ioc, size, h.handle);
					nb_arg[bad[b]] = 0x80;
					errno = 0;
					if (nb_ioctl(fd, cmds[c], nb_arg) != -1 || errno != E2BIG)
						NB_FAIL("%s with size %u and byte %u set: expected E2BIG, got %s",
							ioc->name, size, bad[b], nb_errname(errno));
				}
				/* Zero tail: accepted like the plain struct. */
				nb_arg_for(ioc, size, h.handle);
				if (nb_ioctl(fd, cmds[c], nb_arg))
					NB_FAIL("%s with size %u (zero tail, cmd %#lx): %s",
						ioc->name, size, cmds[c], nb_errname(errno));
				if (ioc->cmd == NUMABUF_IOC_ALLOC) {
					struct numabuf_alloc *a = (void *)nb_arg;

					NB_CHECK(a->handle && a->length == NB_PAGE,
						 "ALLOC with size %u: handle %u length %llu",
						 size, a->handle, (unsigned long long)a->length);
					NB_CHECK(!nb_free(fd, a->handle), "FREE failed");
				} else if (ioc->cmd == NUMABUF_IOC_FREE) {
					h = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
				} else {
					struct numabuf_info *inf = (void *)nb_arg;

					NB_CHECK(inf->length == NB_PAGE && inf->offset == h.offset,
						 "INFO with size %u: length %llu offset %#llx",
						 size, (unsigned long long)inf->length,
						 (unsigned long long)inf->offset);
				}
			}
		}
		NB_CHECK(!nb_free(fd, h.handle), "FREE failed");
	}
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(bad_length,
	"ALLOC length 0, overflowing when page-rounded or above 1 TiB: EINVAL; more than any node has (64 GiB, 1 TiB): ENOMEM, also PREFERRED")
{
	static const uint64_t einval[] = { 0, UINT64_MAX, UINT64_MAX - 1,
					   UINT64_MAX - 4094, (1ULL << 40) + 1,
					   1ULL << 63, UINT64_MAX - 4095 };
	static const uint64_t enomem[] = { 1ULL << 36, 1ULL << 40 };
	int fd = nb_open();
	size_t i;

	nb_log_mark();
	for (i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
		nb_arg_alloc(sizeof(struct numabuf_alloc), einval[i], NUMABUF_NODE_LOCAL, 0);
		errno = 0;
		if (nb_ioctl(fd, NUMABUF_IOC_ALLOC, nb_arg) != -1 || errno != EINVAL)
			NB_FAIL("ALLOC length %#llx: expected EINVAL, got %s",
				(unsigned long long)einval[i], nb_errname(errno));
	}
	for (i = 0; i < sizeof(enomem) / sizeof(enomem[0]); i++) {
		int f;

		for (f = 0; f < 2; f++) {
			nb_arg_alloc(sizeof(struct numabuf_alloc), enomem[i],
				     NUMABUF_NODE_LOCAL, f ? NUMABUF_F_PREFERRED : 0);
			errno = 0;
			if (nb_ioctl(fd, NUMABUF_IOC_ALLOC, nb_arg) != -1 || errno != ENOMEM)
				NB_FAIL("ALLOC length %#llx: expected ENOMEM, got %s",
					(unsigned long long)enomem[i], nb_errname(errno));
		}
	}
	/* The edges that must work, and the rounding up to pages. */
	{
		static const uint64_t in[] = { 1, 4095, 4096, 4097, 4 * NB_MIB - 1, 4 * NB_MIB };
		static const uint64_t out[] = { 4096, 4096, 4096, 8192, 4 * NB_MIB, 4 * NB_MIB };

		for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
			struct numabuf_alloc a = nb_alloc_ok(fd, in[i], NUMABUF_NODE_LOCAL, 0);
			struct numabuf_info inf;

			NB_CHECK(a.length == out[i], "ALLOC length %llu returned length %llu, expected %llu",
				 (unsigned long long)in[i], (unsigned long long)a.length,
				 (unsigned long long)out[i]);
			NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.length == out[i],
				 "INFO length %llu for ALLOC length %llu",
				 (unsigned long long)inf.length, (unsigned long long)in[i]);
			NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		}
	}
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(bad_node,
	"ALLOC node below -1 or >= MAX_NUMNODES: EINVAL; a small node id that is not online: ENODEV (strict and PREFERRED)")
{
	static const int einval[] = { -2, -100, INT_MIN, 100000, INT_MAX };
	int fd = nb_open(), off = nb_offline_node(), f;
	size_t i;

	nb_log_mark();
	for (f = 0; f < 2; f++) {
		uint32_t flags = f ? NUMABUF_F_PREFERRED : 0;

		for (i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
			nb_arg_alloc(sizeof(struct numabuf_alloc), NB_PAGE, einval[i], flags);
			errno = 0;
			if (nb_ioctl(fd, NUMABUF_IOC_ALLOC, nb_arg) != -1 || errno != EINVAL)
				NB_FAIL("ALLOC node %d flags %#x: expected EINVAL, got %s",
					einval[i], flags, nb_errname(errno));
		}
		nb_arg_alloc(sizeof(struct numabuf_alloc), NB_PAGE, off, flags);
		errno = 0;
		if (nb_ioctl(fd, NUMABUF_IOC_ALLOC, nb_arg) != -1 || errno != ENODEV)
			NB_FAIL("ALLOC on offline node %d flags %#x: expected ENODEV, got %s",
				off, flags, nb_errname(errno));
	}
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(bad_handle,
	"FREE and INFO of handle 0, 12345, 2^32-1, a freed handle (double free): ENOENT")
{
	static const uint32_t bad[] = { 0, 12345, UINT32_MAX };
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	size_t i;

	nb_log_mark();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		NB_CHECK(nb_free(fd, bad[i]) == -ENOENT, "FREE of handle %u: not ENOENT", bad[i]);
		NB_CHECK(nb_info(fd, bad[i], NULL) == -ENOENT, "INFO of handle %u: not ENOENT", bad[i]);
	}
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_CHECK(nb_free(fd, a.handle) == -ENOENT, "double FREE: not ENOENT");
	NB_CHECK(nb_info(fd, a.handle, NULL) == -ENOENT, "INFO after FREE: not ENOENT");
	NB_LOG_QUIET();
	close(fd);
}

static void *nb_mmap_raw(int fd, uint64_t off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)off);
}

#define NB_MMAP_ERR(fd, off, len, prot, flags, err)			\
	do {								\
		void *m_ = nb_mmap_raw(fd, off, len, prot, flags);	\
		if (m_ != MAP_FAILED || errno != (err))			\
			NB_FAIL("mmap offset %#llx len %#zx prot %#x flags %#x: expected %s, got %s", \
				(unsigned long long)(off), (size_t)(len), prot, flags, \
				nb_errname(err),			\
				m_ == MAP_FAILED ? nb_errname(errno) : "success"); \
	} while (0)

NB_TEST(bad_mmap,
	"mmap: offset of no buffer (freed, or in a fresh file) ENXIO; range past the end EINVAL; PROT_EXEC EPERM; MAP_PRIVATE EINVAL; mprotect cannot add PROT_EXEC")
{
	const size_t len = 64 * NB_KIB;
	const int rw = PROT_READ | PROT_WRITE;
	int fd = nb_open(), fresh = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_alloc gone = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p;

	NB_CHECK(!nb_free(fd, gone.handle), "FREE failed");
	nb_log_mark();
	NB_MMAP_ERR(fd, gone.offset, len, rw, MAP_SHARED, ENXIO);
	NB_MMAP_ERR(fresh, a.offset, len, rw, MAP_SHARED, ENXIO);
	NB_MMAP_ERR(fresh, 0, NB_PAGE, rw, MAP_SHARED, ENXIO);

	NB_MMAP_ERR(fd, a.offset, len + NB_PAGE, rw, MAP_SHARED, EINVAL);
	NB_MMAP_ERR(fd, a.offset, 2 * len, rw, MAP_SHARED, EINVAL);
	NB_MMAP_ERR(fd, a.offset + len - NB_PAGE, 2 * NB_PAGE, rw, MAP_SHARED, EINVAL);
	NB_MMAP_ERR(fd, a.offset + len, NB_PAGE, rw, MAP_SHARED, EINVAL);
	NB_MMAP_ERR(fd, a.offset + 8 * NB_PAGE, len, rw, MAP_SHARED, EINVAL);

	NB_MMAP_ERR(fd, a.offset, len, rw | PROT_EXEC, MAP_SHARED, EPERM);
	NB_MMAP_ERR(fd, a.offset, len, PROT_READ | PROT_EXEC, MAP_SHARED, EPERM);
	NB_MMAP_ERR(fd, a.offset, len, PROT_EXEC, MAP_SHARED, EPERM);
	NB_MMAP_ERR(fd, a.offset, len, rw, MAP_PRIVATE, EINVAL);
	NB_MMAP_ERR(fd, a.offset, len, PROT_READ, MAP_PRIVATE, EINVAL);
	{
		struct numabuf_info inf;

		NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.map_count == 0,
			 "a failed mmap left map_count %u", inf.map_count);
	}

	/* Read-only and read-write mappings work; EXEC cannot be added. */
	p = nb_mmap_raw(fd, a.offset, len, PROT_READ, MAP_SHARED);
	NB_CHECK(p != MAP_FAILED, "read-only mmap: %s", nb_errname(errno));
	NB_SYS(munmap(p, len));
	p = nb_map(fd, a.offset, len);
	NB_ERRNO(mprotect(p, len, rw | PROT_EXEC), EACCES);
	NB_ERRNO(mprotect(p, NB_PAGE, PROT_READ | PROT_EXEC), EACCES);
	NB_SYS(mprotect(p, len, PROT_READ));
	NB_SYS(mprotect(p, len, rw));
	p[0] = 1;
	NB_SYS(munmap(p, len));
	NB_LOG_QUIET();
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fresh);
	close(fd);
}

NB_TEST(bad_pointer,
	"ioctls with NULL, unmapped, kernel or read-only argument pointers fail with EFAULT and leak nothing")
{
	int fd = nb_open();
	struct numabuf_alloc h = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	struct nb_stats s0 = nb_stats_read();
	void *bad[] = { NULL, (void *)8, (void *)0xffff888000000000ULL,
			(void *)-4096L };
	unsigned char *pg;
	size_t i, k;

	nb_log_mark();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (k = 0; k < sizeof(nb_iocs) / sizeof(nb_iocs[0]); k++) {
			errno = 0;
			if (nb_ioctl(fd, nb_iocs[k].cmd, bad[i]) != -1 || errno != EFAULT)
				NB_FAIL("%s with pointer %p: expected EFAULT, got %s",
					nb_iocs[k].name, bad[i], nb_errname(errno));
		}

	/* Two pages: a valid struct in the first, the second PROT_NONE. */
	pg = mmap(NULL, 2 * NB_PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(pg != MAP_FAILED, "mmap: %s", strerror(errno));
	NB_SYS(mprotect(pg + NB_PAGE, NB_PAGE, PROT_NONE));
	for (k = 0; k < sizeof(nb_iocs) / sizeof(nb_iocs[0]); k++) {
		/* The size field readable, the rest of the struct not. */
		unsigned char *arg = pg + NB_PAGE - 8;

		memset(pg, 0, NB_PAGE);
		nb_arg_for(&nb_iocs[k], nb_iocs[k].ksize, h.handle);
		memcpy(arg, nb_arg, 8);
		errno = 0;
		if (nb_ioctl(fd, nb_iocs[k].cmd, arg) != -1 || errno != EFAULT)
			NB_FAIL("%s with a struct running into a PROT_NONE page: expected EFAULT, got %s",
				nb_iocs[k].name, nb_errname(errno));
	}
	/* Read-only: ALLOC and INFO cannot write their answer back. */
	memset(pg, 0, NB_PAGE);
	nb_arg_alloc(sizeof(struct numabuf_alloc), 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	memcpy(pg, nb_arg, sizeof(struct numabuf_alloc));
	NB_SYS(mprotect(pg, NB_PAGE, PROT_READ));
	NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_ALLOC, pg), EFAULT);
	NB_STATS_EXPECT(s0, 0, 0);	/* the buffer made before the copy-out is gone */
	NB_SYS(mprotect(pg, NB_PAGE, PROT_READ | PROT_WRITE));
	nb_arg_handle(sizeof(struct numabuf_info), h.handle);
	memcpy(pg, nb_arg, sizeof(struct numabuf_info));
	NB_SYS(mprotect(pg, NB_PAGE, PROT_READ));
	NB_ERRNO(nb_ioctl(fd, NUMABUF_IOC_INFO, pg), EFAULT);
	/* FREE only reads its argument: read-only is fine. */
	NB_SYS(mprotect(pg, NB_PAGE, PROT_READ | PROT_WRITE));
	nb_arg_handle(sizeof(struct numabuf_free), h.handle);
	memcpy(pg, nb_arg, sizeof(struct numabuf_free));
	NB_SYS(mprotect(pg, NB_PAGE, PROT_READ));
	NB_SYS(nb_ioctl(fd, NUMABUF_IOC_FREE, pg));
	NB_STATS_EXPECT(s0, -1, -(long long)NB_PAGE);
	munmap(pg, 2 * NB_PAGE);
	NB_LOG_QUIET();
	close(fd);
}

NB_TEST(handle_is_per_file,
	"a handle of one open file is unknown in another (INFO/FREE ENOENT) and its offset maps nothing there (ENXIO)")
{
	int a_fd = nb_open(), b_fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(a_fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_alloc b;
	char *p;

	nb_log_mark();
	NB_CHECK(nb_info(b_fd, a.handle, NULL) == -ENOENT, "INFO in another file: not ENOENT");
	NB_CHECK(nb_free(b_fd, a.handle) == -ENOENT, "FREE in another file: not ENOENT");
	NB_MMAP_ERR(b_fd, a.offset, 64 * NB_KIB, PROT_READ | PROT_WRITE, MAP_SHARED, ENXIO);
	NB_CHECK(!nb_info(a_fd, a.handle, NULL), "the buffer was harmed by the other file");
	/* The other file's own first buffer is its own, whatever its handle. */
	b = nb_alloc_ok(b_fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	p = nb_map(b_fd, b.offset, NB_PAGE);
	p[0] = 1;
	NB_SYS(munmap(p, NB_PAGE));
	p = nb_map(a_fd, a.offset, 64 * NB_KIB);
	NB_CHECK(nb_find_nonzero(p, 64 * NB_KIB) == (size_t)-1,
		 "a write through the other file's buffer landed in this one");
	NB_SYS(munmap(p, 64 * NB_KIB));
	NB_LOG_QUIET();
	close(b_fd);
	NB_CHECK(!nb_free(a_fd, a.handle), "FREE failed");
	close(a_fd);
}

NB_TEST(stale_offset,
	"after FREE and a new ALLOC, the freed buffer's handle and offset name nothing: INFO ENOENT, mmap ENXIO (handles are not reused at once)")
{
	int fd = nb_open();
	struct numabuf_alloc old = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_alloc cur;

	NB_CHECK(!nb_free(fd, old.handle), "FREE failed");
	cur = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	NB_CHECK(cur.handle != old.handle,
		 "handle %u was handed out again at once", old.handle);
	NB_CHECK(cur.offset != old.offset, "offset %#llx was handed out again at once",
		 (unsigned long long)old.offset);
	NB_CHECK(nb_info(fd, old.handle, NULL) == -ENOENT,
		 "INFO of the freed handle: not ENOENT");
	NB_MMAP_ERR(fd, old.offset, 64 * NB_KIB, PROT_READ | PROT_WRITE, MAP_SHARED, ENXIO);
	NB_CHECK(!nb_free(fd, cur.handle), "FREE failed");
	close(fd);
}
