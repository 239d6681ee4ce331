// SPDX-License-Identifier: GPL-2.0
/*
 * NUMABUF_F_HUGE_MAP: buffers mapped with 2 MiB (PMD) entries.  The entry
 * size is proven by the minor-fault count (one per 2 MiB, getrusage), not
 * by what /proc/self/smaps says; whether the kernel can do it at all comes
 * from its configuration (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP), not from the
 * module.  The mapping is VM_PFNMAP: get_user_pages refuses it, which is
 * checked too (process_vm_readv from another process), since that is what
 * the flag costs its users.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_HUGE		(2 * NB_MIB)

/* Does the running kernel's configuration have @opt=y?  -1: unknown. */
static int nb_kconfig_y(const char *opt)
{
	char val[8];
	int ret = nb_kconfig(opt, val, sizeof(val));

	return ret < 0 ? -1 : ret && !strcmp(val, "y");
}

static long nb_minflt(void)
{
	struct rusage ru;

	NB_SYS(getrusage(RUSAGE_SELF, &ru));
	return ru.ru_minflt;
}

/* The kernel can map PFNs with PMD entries, or the test SKIPs. */
static void nb_need_huge_map(int fd)
{
	struct numabuf_alloc a;
	int ret;

	ret = nb_alloc(fd, NB_HUGE, NUMABUF_NODE_LOCAL, NUMABUF_F_HUGE_MAP, &a);
	if (ret == -EOPNOTSUPP)
		nb_skip("this kernel has no huge PFN mappings (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, 6.12 on)");
	NB_CHECK(!ret, "ALLOC with NUMABUF_F_HUGE_MAP: %s", nb_errname(-ret));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
}

NB_TEST(hugemap_supported,
	"NUMABUF_F_HUGE_MAP is accepted exactly when the kernel's configuration has CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, else EOPNOTSUPP; flags come back in INFO")
{
	int fd = nb_open(), cfg = nb_kconfig_y("CONFIG_ARCH_SUPPORTS_PMD_PFNMAP");
	struct numabuf_alloc a;
	struct numabuf_info inf;
	int ret;

	if (cfg < 0)
		nb_skip("cannot read the kernel's configuration");
	ret = nb_alloc(fd, NB_HUGE, NUMABUF_NODE_LOCAL, NUMABUF_F_HUGE_MAP, &a);
	if (!cfg) {
		NB_CHECK(ret == -EOPNOTSUPP,
			 "ALLOC with NUMABUF_F_HUGE_MAP on a kernel without huge PFN mappings: %s, expected EOPNOTSUPP",
			 nb_errname(-ret));
		close(fd);
		return;
	}
	NB_CHECK(!ret, "ALLOC with NUMABUF_F_HUGE_MAP: %s", nb_errname(-ret));
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.flags == NUMABUF_F_HUGE_MAP, "INFO flags %#x, expected %#x",
		 inf.flags, NUMABUF_F_HUGE_MAP);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(hugemap_pmd_entries,
	"64 MiB and 6 MiB + 4 KiB with NUMABUF_F_HUGE_MAP: the address is 2 MiB aligned, reading every 4 KiB page takes one fault per whole 2 MiB and one per 4 KiB page past them, the memory is zero, a pattern written reads back; a private mapping is refused")
{
	static const struct {
		uint64_t len;
		uint32_t flags;
	} c[] = {
		{ 64 * NB_MIB, NUMABUF_F_NO_POOL },
		{ 6 * NB_MIB + NB_PAGE, 0 },
	};
	int fd = nb_open();
	size_t k, i;

	nb_need_huge_map(fd);
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct numabuf_alloc a;
		volatile unsigned char *p;
		unsigned long sum = 0;
		long f0, faults, want;
		void *priv;

		a = nb_alloc_ok(fd, c[k].len, NUMABUF_NODE_LOCAL,
				NUMABUF_F_HUGE_MAP | c[k].flags);
		priv = mmap(NULL, c[k].len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			    fd, (off_t)a.offset);
		NB_CHECK(priv == MAP_FAILED && errno == EINVAL,
			 "a MAP_PRIVATE mapping of a HUGE_MAP buffer: %s, expected EINVAL",
			 priv == MAP_FAILED ? strerror(errno) : "mapped");
		p = nb_map(fd, a.offset, c[k].len);
		NB_CHECK(((uintptr_t)p & (NB_HUGE - 1)) == 0,
			 "HUGE_MAP buffer mapped at %p, not 2 MiB aligned", (void *)p);
		f0 = nb_minflt();
		for (i = 0; i < c[k].len; i += NB_PAGE)
			sum |= p[i];
		faults = nb_minflt() - f0;
		want = c[k].len / NB_HUGE + (c[k].len % NB_HUGE) / NB_PAGE;
		NB_CHECK(faults == want,
			 "reading %llu KiB took %ld faults, expected %ld (one per 2 MiB entry, one per 4 KiB page past them)",
			 (unsigned long long)(c[k].len / NB_KIB), faults, want);
		NB_CHECK(!sum && nb_find_nonzero((void *)p, c[k].len) == (size_t)-1,
			 "a new HUGE_MAP buffer is not zero");
		nb_fill((void *)p, c[k].len, 7 + k);
		NB_CHECK(nb_verify((void *)p, c[k].len, 7 + k) == (size_t)-1,
			 "the pattern does not read back");
		nb_note("%llu KiB: %ld faults", (unsigned long long)(c[k].len / NB_KIB),
			faults);
		NB_SYS(munmap((void *)p, c[k].len));
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	}
	close(fd);
}

NB_TEST(hugemap_fork_split_free,
	"a HUGE_MAP mapping is shared with a fork child both ways; 4 KiB unmapped inside a 2 MiB entry leaves the rest intact; after FREE the mapping keeps the memory (module counters) until munmap; process_vm_readv cannot pin it (EFAULT)")
{
	const uint64_t len = 8 * NB_MIB, hole = NB_HUGE + NB_MIB;
	int fd = nb_open();
	struct numabuf_alloc a;
	unsigned char *p, *copy;
	struct nb_stats s0;
	struct iovec local, remote;
	char buf[64];
	pid_t pid;
	ssize_t n;

	nb_need_huge_map(fd);
	s0 = nb_stats_read();
	a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, NUMABUF_F_HUGE_MAP);
	p = nb_map(fd, a.offset, len);
	nb_fill(p, len, 11);

	/* fork: the child sees the pattern and writes; the parent sees it. */
	pid = fork();
	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (nb_verify(p, len, 11) != (size_t)-1)
			_exit(2);
		memcpy(p + 3 * NB_MIB, "child", 6);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_CHECK(!memcmp(p + 3 * NB_MIB, "child", 6),
		 "the parent does not see the child's write");
	nb_fill(p, len, 11);

	/* Another process pins through get_user_pages: refused. */
	pid = fork();
	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		local.iov_base = buf;
		local.iov_len = sizeof(buf);
		remote.iov_base = p + NB_MIB;
		remote.iov_len = sizeof(buf);
		n = process_vm_readv(getppid(), &local, 1, &remote, 1, 0);
		_exit(n < 0 && errno == EFAULT ? 0 : 3);
	}
	NB_WAIT_OK(pid);

	/* A hole of 4 KiB in the middle of the second 2 MiB entry. */
	copy = malloc(len);
	NB_CHECK(copy, "malloc failed");
	memcpy(copy, p, len);
	NB_SYS(munmap(p + hole, NB_PAGE));
	NB_CHECK(!memcmp(p, copy, hole) &&
		 !memcmp(p + hole + NB_PAGE, copy + hole + NB_PAGE,
			 len - hole - NB_PAGE),
		 "the bytes around a 4 KiB hole in a 2 MiB entry changed");
	free(copy);

	/* FREE while mapped: the memory stays until the last munmap. */
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_STATS_EXPECT(s0, 1, (long long)len);
	NB_CHECK(nb_verify(p, hole, 11) == (size_t)-1,
		 "the pattern changed after FREE, with the buffer still mapped");
	NB_SYS(munmap(p, hole));
	NB_SYS(munmap(p + hole + NB_PAGE, len - hole - NB_PAGE));
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

#define NB_THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* The THP mode in force ("always [madvise] never" -> "madvise"), or "". */
static void nb_thp_mode(char *mode, size_t len)
{
	char line[128], *a, *b;
	FILE *f = fopen(NB_THP_ENABLED, "r");

	mode[0] = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		a = strchr(line, '[');
		b = a ? strchr(a, ']') : NULL;
		if (b && (size_t)(b - a) < len) {
			*b = 0;
			snprintf(mode, len, "%s", a + 1);
		}
	}
	fclose(f);
}

static int nb_thp_set(const char *mode)
{
	FILE *f = fopen(NB_THP_ENABLED, "w");
	int ret;

	if (!f)
		return errno;
	ret = fputs(mode, f) < 0 ? errno : 0;
	if (fclose(f) && !ret)
		ret = errno;
	return ret;
}

/*
 * Minor faults a fresh process takes reading every 4 KiB page of an 8 MiB
 * NUMABUF_F_HUGE_MAP buffer with THP set to @mode; -1 if it failed.  The
 * mode is put back before returning, whatever happened.
 */
static long nb_faults_in_mode(const char *mode, const char *saved)
{
	const uint64_t len = 8 * NB_MIB;
	long faults = -1;
	int pfd[2], ret;
	pid_t pid;

	NB_SYS(pipe(pfd));
	ret = nb_thp_set(mode);
	NB_CHECK(!ret, "writing %s to %s: %s", mode, NB_THP_ENABLED,
		 strerror(ret));
	pid = fork();
	if (pid == 0) {
		int fd = nb_open();
		struct numabuf_alloc a;
		volatile unsigned char *p;
		unsigned long sum = 0;
		long f0, n;
		uint64_t i;

		char now[16];

		close(pfd[0]);
		nb_thp_mode(now, sizeof(now));
		NB_CHECK(!strcmp(now, mode), "%s reads %s after writing %s",
			 NB_THP_ENABLED, now, mode);
		a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, NUMABUF_F_HUGE_MAP);
		p = nb_map(fd, a.offset, len);
		f0 = nb_minflt();
		for (i = 0; i < len; i += NB_PAGE)
			sum |= p[i];
		n = nb_minflt() - f0;
		NB_CHECK(!sum, "a new HUGE_MAP buffer is not zero");
		NB_CHECK(write(pfd[1], &n, sizeof(n)) == sizeof(n), "write");
		NB_SYS(munmap((void *)p, len));
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		_exit(0);
	}
	close(pfd[1]);
	if (pid > 0) {
		if (read(pfd[0], &faults, sizeof(faults)) != sizeof(faults))
			faults = -1;
	}
	close(pfd[0]);
	ret = nb_thp_set(saved);
	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	NB_WAIT_OK(pid);
	NB_CHECK(!ret, "putting %s back in %s: %s", saved, NB_THP_ENABLED,
		 strerror(ret));
	return faults;
}

NB_TEST(hugemap_thp_modes,
	"with transparent_hugepage/enabled at madvise (the default of many distributions), a HUGE_MAP buffer still gets 2 MiB entries without any madvise() of the user: reading 8 MiB takes 4 faults; at never the mapping works with 2 MiB or 4 KiB entries (4 or 2048 faults; which one is reported); the mode is put back")
{
	char saved[16];
	long faults;
	int fd = nb_open();

	nb_need_huge_map(fd);
	close(fd);
	nb_thp_mode(saved, sizeof(saved));
	if (!saved[0])
		nb_skip("cannot read %s", NB_THP_ENABLED);

	faults = nb_faults_in_mode("madvise", saved);
	nb_note("THP madvise: %ld faults for 8 MiB", faults);
	NB_CHECK(faults == 4,
		 "THP at madvise: reading 8 MiB took %ld faults, expected 4 (one per 2 MiB entry)",
		 faults);

	/*
	 * "never": mainline 6.12's __thp_vma_allowable_orders() turns the
	 * PMD fault away, which gives 4 KiB entries; Debian's 6.12.118 was
	 * measured to map 2 MiB entries all the same.  Either is a whole,
	 * working mapping; which one this kernel does is reported.
	 */
	faults = nb_faults_in_mode("never", saved);
	nb_note("THP never: %ld faults for 8 MiB (%s entries)", faults,
		faults == 4 ? "2 MiB" : "4 KiB");
	NB_CHECK(faults == 4 || faults == (long)(8 * NB_MIB / NB_PAGE),
		 "THP at never: reading 8 MiB took %ld faults, expected 4 (2 MiB entries) or %llu (4 KiB entries)",
		 faults, 8 * NB_MIB / NB_PAGE);
}
