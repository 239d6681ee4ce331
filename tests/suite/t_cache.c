// SPDX-License-Identifier: GPL-2.0
/*
 * NUMABUF_F_WC and NUMABUF_F_UC: write-combining and uncached CPU
 * mappings, with the kernel's linear mapping of the memory of the same
 * type while the buffer holds it and write-back again afterwards.
 *
 * The memory type is read from the page tables themselves by a test
 * module, tests/modules/nb_pte.ko (build/<release>/tests/modules, `make
 * test-modules`; $NB_PTE_KO overrides): Debian's kernels have no
 * PTDUMP_DEBUGFS, and x86/pat_memtype_list lists no RAM (PAT keeps the
 * type of RAM pages in their page flags, memtype.c).  It reports the PWT,
 * PCD and PAT bits of this process's entry for a user address and of the
 * linear mapping's entry for a physical address, and the bits that
 * pgprot_writecombine() and pgprot_noncached() give.  Frames come from
 * /proc/self/pagemap.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_PTE_FILE	"/sys/kernel/debug/nb_pte"

/* The module's answer for one entry. */
struct nb_pte {
	int present;
	char level[4];
	unsigned int bits;
};

/* The bits of each type, from the module: [0] WB, [1] WC, [2] UC. */
static unsigned int nb_type_bits[3];
static const char *const nb_type_name[3] = { "WB", "WC", "UC" };

static const char *nb_pte_ko(char *path, size_t len)
{
	const char *env = getenv("NB_PTE_KO");
	struct utsname u;
	char exe[512];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	NB_SYS(uname(&u));
	/* build/suite/t_cache -> build/<release>/tests/modules/nb_pte.ko */
	snprintf(path, len, "%s/../%s/tests/modules/nb_pte.ko", exe, u.release);
	return path;
}

/* Load nb_pte (if needed) and open its file; learn the bits of each type. */
static int nb_pte_open(void)
{
	char path[768], ans[128];
	const char *ko;
	int fd, kfd;
	ssize_t n;

	if (access(NB_PTE_FILE, F_OK)) {
		ko = nb_pte_ko(path, sizeof(path));
		kfd = open(ko, O_RDONLY | O_CLOEXEC);
		if (kfd < 0)
			nb_skip("no test module %s (make test-modules KVER=$(uname -r)): %s",
				ko, strerror(errno));
		if (syscall(SYS_finit_module, kfd, "", 0) && errno != EEXIST)
			NB_FAIL("load %s: %s", ko, strerror(errno));
		close(kfd);
	}
	fd = NB_SYS(open(NB_PTE_FILE, O_RDWR | O_CLOEXEC));
	NB_SYS(write(fd, "x", 1));
	n = NB_SYS(pread(fd, ans, sizeof(ans) - 1, 0));
	ans[n] = '\0';
	NB_CHECK(sscanf(ans, "wb %x wc %x uc %x", &nb_type_bits[0],
			&nb_type_bits[1], &nb_type_bits[2]) == 3,
		 "nb_pte answered '%s'", ans);
	NB_CHECK(nb_type_bits[1] && nb_type_bits[2],
		 "WC and UC bits %#x and %#x: no cache bits at all",
		 nb_type_bits[1], nb_type_bits[2]);
	if (nb_type_bits[1] == nb_type_bits[2])
		nb_note("PAT is off: WC maps as UC- (bits %#x)", nb_type_bits[1]);
	return fd;
}

static void nb_pte_close(int fd)
{
	close(fd);
	/* Best effort: another test's process may still have it open. */
	syscall(SYS_delete_module, "nb_pte", O_NONBLOCK);
}

static struct nb_pte nb_pte_query(int fd, char kind, uint64_t v)
{
	struct nb_pte e = { 0 };
	char req[48], ans[128];
	ssize_t n;
	int len;

	len = snprintf(req, sizeof(req), "%c %#llx", kind, (unsigned long long)v);
	NB_SYS(write(fd, req, len));
	n = NB_SYS(pread(fd, ans, sizeof(ans) - 1, 0));
	ans[n] = '\0';
	if (sscanf(ans, "present %d level %3s bits %x", &e.present, e.level,
		   &e.bits) < 1)
		NB_FAIL("nb_pte answered '%s' to '%s'", ans, req);
	return e;
}

/* The user entry of @addr and the linear map's of @pfn have type @t. */
static void nb_expect_type_at(int line, int fd, void *addr, uint64_t pfn,
			      int t)
{
	struct nb_pte e;

	if (addr) {
		e = nb_pte_query(fd, 'u', (uintptr_t)addr);
		if (!e.present || e.bits != nb_type_bits[t])
			nb_fail_at(NB_FILE, line,
				   "user entry of %p: present %d bits %#x, expected %s (%#x)",
				   addr, e.present, e.bits, nb_type_name[t],
				   nb_type_bits[t]);
	}
	e = nb_pte_query(fd, 'k', pfn * NB_PAGE);
	if (!e.present || e.bits != nb_type_bits[t])
		nb_fail_at(NB_FILE, line,
			   "linear map of pfn %#llx (%s entry): present %d bits %#x, expected %s (%#x)",
			   (unsigned long long)pfn, e.level, e.present, e.bits,
			   nb_type_name[t], nb_type_bits[t]);
}
#define NB_EXPECT_TYPE(fd, addr, pfn, t) \
	nb_expect_type_at(__LINE__, fd, addr, pfn, t)

static int nb_flag_type(uint32_t flags)
{
	return flags & NUMABUF_F_WC ? 1 : flags & NUMABUF_F_UC ? 2 : 0;
}

/* First, middle and last page of a buffer of @n pages. */
static size_t nb_probe_idx(size_t n, int k)
{
	return k == 0 ? 0 : k == 1 ? n / 2 : n - 1;
}

/*
 * Allocate with @flags, check the type of the user and linear entries of
 * the first, middle and last page, data written through the mapping read
 * back (and through a second mapping), an entry refilled by the fault
 * handler after MADV_DONTNEED; FREE; the linear map write-back again.
 */
static void nb_cache_one(int pte, uint64_t len, int node, uint32_t flags)
{
	int fd = nb_open(), t = nb_flag_type(flags), k;
	size_t n = len / NB_PAGE, i;
	struct numabuf_alloc a;
	struct numabuf_info inf;
	uint64_t pfn[3];
	char *p, *q;

	a = nb_alloc_ok(fd, len, node, flags);
	NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.flags == flags,
		 "INFO flags %#x, expected %#x", inf.flags, flags);
	p = nb_map(fd, a.offset, len);
	NB_EXPECT_NODE(p, len, a.node);
	NB_CHECK(nb_find_nonzero(p, len) == (size_t)-1,
		 "not zero at byte %zu", nb_find_nonzero(p, len));
	for (k = 0; k < 3; k++) {
		i = nb_probe_idx(n, k);
		nb_pfns(p + i * NB_PAGE, 1, &pfn[k]);
		NB_CHECK(pfn[k], "pagemap gives no frame (not root?)");
		NB_EXPECT_TYPE(pte, p + i * NB_PAGE, pfn[k], t);
	}
	nb_fill(p, len, 0xcace + flags);
	NB_CHECK(nb_verify(p, len, 0xcace + flags) == (size_t)-1,
		 "pattern written through the %s mapping not read back at byte %zu",
		 nb_type_name[t], nb_verify(p, len, 0xcace + flags));
	q = nb_map(fd, a.offset, len);
	NB_EXPECT_TYPE(pte, q + (n - 1) * NB_PAGE, pfn[2], t);
	NB_CHECK(nb_verify(q, len, 0xcace + flags) == (size_t)-1,
		 "pattern not seen through a second mapping");
	NB_SYS(munmap(q, len));
	/* The fault handler refills a zapped entry with the same type. */
	NB_SYS(madvise(p, NB_PAGE, MADV_DONTNEED));
	NB_CHECK(nb_verify(p, NB_PAGE, 0xcace + flags) == (size_t)-1,
		 "pattern lost after MADV_DONTNEED");
	NB_EXPECT_TYPE(pte, p, pfn[0], t);
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	for (k = 0; k < 3; k++)
		NB_EXPECT_TYPE(pte, NULL, pfn[k], 0);
	close(fd);
}

NB_TEST(cache_default_wb,
	"a buffer without WC/UC is write-back in the user mapping and the linear map (nb_pte), first, middle and last page")
{
	int pte = nb_pte_open();

	nb_cache_one(pte, 1 * NB_MIB, 0, 0);
	nb_pte_close(pte);
}

NB_TEST(cache_wc,
	"WC buffers (64 KiB and 4 MiB on node 0, 1 MiB on node 1): user and linear-map entries WC (nb_pte), data read back through two mappings and after a refault, linear map WB again after FREE (pagemap frames)")
{
	int pte = nb_pte_open();

	nb_cache_one(pte, 64 * NB_KIB, 0, NUMABUF_F_WC);
	nb_cache_one(pte, 4 * NB_MIB, 0, NUMABUF_F_WC);
	nb_cache_one(pte, 1 * NB_MIB, 1, NUMABUF_F_WC);
	nb_pte_close(pte);
}

NB_TEST(cache_uc,
	"UC buffers (256 KiB on node 0 and node 1): user and linear-map entries UC- as pgprot_noncached() gives, data read back, WB again after FREE")
{
	int pte = nb_pte_open();

	nb_cache_one(pte, 256 * NB_KIB, 0, NUMABUF_F_UC);
	nb_cache_one(pte, 256 * NB_KIB, 1, NUMABUF_F_UC);
	nb_pte_close(pte);
}

NB_TEST_TIMEOUT(cache_range,
	"WC and UC ranges (8 MiB on node 1, 8 MiB on node 0): the same, across the 4 MiB page allocator limit",
	300)
{
	int pte = nb_pte_open();

	nb_cache_one(pte, 8 * NB_MIB, 1, NUMABUF_F_WC | NUMABUF_F_NO_POOL);
	nb_cache_one(pte, 8 * NB_MIB, 0, NUMABUF_F_UC | NUMABUF_F_NO_POOL);
	nb_pte_close(pte);
}

NB_TEST(cache_flags,
	"WC together with UC is refused with EINVAL, before anything is allocated")
{
	int fd = nb_open();
	struct nb_stats base = nb_stats_read();

	NB_CHECK(nb_alloc(fd, NB_PAGE, 0, NUMABUF_F_WC | NUMABUF_F_UC, NULL) ==
		 -EINVAL, "WC|UC not refused with EINVAL");
	NB_CHECK(nb_alloc(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL,
			  NUMABUF_F_WC | NUMABUF_F_UC | NUMABUF_F_PREFERRED,
			  NULL) == -EINVAL, "WC|UC|PREFERRED not refused with EINVAL");
	NB_STATS_EXPECT(base, 0, 0);
	close(fd);
}

/* The udev rule's mode, with a group of the test's own. */
#define NB_GID		4242

static void nb_dev_restore(void)
{
	if (chown(NB_DEV, 0, 0) || chmod(NB_DEV, 0600)) {
		/* later tests see the mode and fail loudly */
	}
}

NB_TEST(cache_needs_rawio,
	"uid nobody in the device's group without capabilities: a WC or UC ALLOC fails with EPERM, nothing is allocated, and a plain ALLOC works")
{
	struct nb_stats base = nb_stats_read();
	int status;
	pid_t pid;

	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
	atexit(nb_dev_restore);
	pid = NB_SYS(fork());
	if (!pid) {
		gid_t g = NB_GID;
		int fd, ret;

		NB_SYS(setgroups(1, &g));
		NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
		fd = NB_SYS(open(NB_DEV, O_RDWR | O_CLOEXEC));
		ret = nb_alloc(fd, NB_PAGE, 0, NUMABUF_F_WC, NULL);
		NB_CHECK(ret == -EPERM, "WC ALLOC as nobody: %s",
			 nb_errname(-ret));
		ret = nb_alloc(fd, NB_PAGE, 0, NUMABUF_F_UC, NULL);
		NB_CHECK(ret == -EPERM, "UC ALLOC as nobody: %s",
			 nb_errname(-ret));
		ret = nb_alloc(fd, NB_PAGE, 0, 0, NULL);
		NB_CHECK(ret == 0, "plain ALLOC as nobody: %s",
			 nb_errname(-ret));
		_exit(0);
	}
	NB_SYS(waitpid(pid, &status, 0));
	nb_dev_restore();
	NB_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "the unprivileged child failed (status %#x)", status);
	NB_STATS_EXPECT(base, 0, 0);
}

static int nb_pool_set(int fd, int node, uint64_t target)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = target };

	return ioctl(fd, NUMABUF_IOC_POOL_SET, &p) ? -errno : 0;
}

NB_TEST_TIMEOUT(cache_pool,
	"a WC buffer from node 0's 4 MiB pool, filled, then freed: the pool's memory comes back write-back (nb_pte) and zeroed (the whole pool taken again)",
	300)
{
	int pte = nb_pte_open(), fd = nb_open(), ret, k;
	struct numabuf_alloc a, b;
	uint64_t pfn[3], first;
	char *p;

	ret = nb_pool_set(fd, 0, 4 * NB_MIB);
	NB_CHECK(!ret, "POOL_SET node 0 4 MiB: %s", nb_errname(-ret));
	a = nb_alloc_ok(fd, 1 * NB_MIB, 0, NUMABUF_F_POOL | NUMABUF_F_WC);
	p = nb_map(fd, a.offset, 1 * NB_MIB);
	for (k = 0; k < 3; k++) {
		nb_pfns(p + nb_probe_idx(256, k) * NB_PAGE, 1, &pfn[k]);
		NB_EXPECT_TYPE(pte, p + nb_probe_idx(256, k) * NB_PAGE, pfn[k], 1);
	}
	nb_fill(p, 1 * NB_MIB, 0x9001);
	NB_SYS(munmap(p, 1 * NB_MIB));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	/* All of the pool: it must include those frames, zeroed, WB. */
	b = nb_alloc_ok(fd, 4 * NB_MIB, 0, NUMABUF_F_POOL);
	p = nb_map(fd, b.offset, 4 * NB_MIB);
	nb_pfns(p, 1, &first);
	NB_CHECK(pfn[0] >= first && pfn[2] < first + 1024,
		 "the WC buffer (pfn %#llx) is not in the pool (pfn %#llx)",
		 (unsigned long long)pfn[0], (unsigned long long)first);
	NB_CHECK(nb_find_nonzero(p, 4 * NB_MIB) == (size_t)-1,
		 "pool memory not zeroed at byte %zu",
		 nb_find_nonzero(p, 4 * NB_MIB));
	for (k = 0; k < 3; k++)
		NB_EXPECT_TYPE(pte, p + (pfn[k] - first) * NB_PAGE, pfn[k], 0);
	NB_SYS(munmap(p, 4 * NB_MIB));
	NB_CHECK(!nb_free(fd, b.handle), "FREE failed");
	ret = nb_pool_set(fd, 0, 0);
	NB_CHECK(!ret, "POOL_SET node 0 0: %s", nb_errname(-ret));
	close(fd);
	nb_pte_close(pte);
}

NB_TEST(cache_held,
	"a WC buffer whose pages a pipe still holds (vmsplice) after FREE and munmap: the linear map stays WC while they are held, WB once the pipe is closed")
{
	int pte = nb_pte_open(), fd = nb_open(), rfd, wfd, i, k;
	struct numabuf_alloc a;
	uint64_t pfn[3];
	struct nb_pte e;
	char *p;

	a = nb_alloc_ok(fd, 64 * NB_KIB, 0, NUMABUF_F_WC);
	p = nb_map(fd, a.offset, 64 * NB_KIB);
	for (k = 0; k < 3; k++)
		nb_pfns(p + nb_probe_idx(16, k) * NB_PAGE, 1, &pfn[k]);
	rfd = nb_pipe_hold(p, 64 * NB_KIB, &wfd);
	NB_SYS(munmap(p, 64 * NB_KIB));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	for (k = 0; k < 3; k++)
		NB_EXPECT_TYPE(pte, NULL, pfn[k], 1);
	close(rfd);
	close(wfd);
	/* The module looks at held buffers every 200 ms. */
	for (i = 0; i < 50 * (int)nb_slow(); i++) {
		e = nb_pte_query(pte, 'k', pfn[2] * NB_PAGE);
		if (e.present && e.bits == 0)
			break;
		usleep(100000);
	}
	for (k = 0; k < 3; k++)
		NB_EXPECT_TYPE(pte, NULL, pfn[k], 0);
	close(fd);
	nb_pte_close(pte);
}

NB_TEST(cache_hugemap,
	"HUGE_MAP with WC (kernels with huge PFN mappings, else EOPNOTSUPP and SKIP): a 4 MiB buffer's 2 MiB user entries are WC, data read back, linear map WB after FREE")
{
	int pte = nb_pte_open(), fd = nb_open(), ret, k;
	struct numabuf_alloc a;
	struct nb_pte e;
	uint64_t pfn;
	char *p;

	ret = nb_alloc(fd, 4 * NB_MIB, 0, NUMABUF_F_HUGE_MAP | NUMABUF_F_WC,
		       &a);
	if (ret == -EOPNOTSUPP) {
		close(fd);
		nb_pte_close(pte);
		nb_skip("HUGE_MAP is not supported by this kernel");
	}
	NB_CHECK(!ret, "HUGE_MAP|WC: %s", nb_errname(-ret));
	p = nb_map(fd, a.offset, 4 * NB_MIB);
	nb_fill(p, 4 * NB_MIB, 0x4e6);
	NB_CHECK(nb_verify(p, 4 * NB_MIB, 0x4e6) == (size_t)-1,
		 "pattern not read back through the huge WC mapping");
	for (k = 0; k < 2; k++) {
		e = nb_pte_query(pte, 'u', (uintptr_t)p + k * 2 * NB_MIB);
		NB_CHECK(e.present && e.bits == nb_type_bits[1],
			 "user entry %d (%s): present %d bits %#x, expected WC %#x",
			 k, e.level, e.present, e.bits, nb_type_bits[1]);
		nb_note("user entry %d of the HUGE_MAP|WC mapping: %s", k,
			e.level);
	}
	/* pagemap has no frames for PFN mappings: INFO's phys (root). */
	{
		struct numabuf_info inf;

		NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.phys,
			 "INFO gives no phys (not root?)");
		pfn = inf.phys / NB_PAGE;
	}
	NB_EXPECT_TYPE(pte, NULL, pfn, 1);
	NB_EXPECT_TYPE(pte, NULL, pfn + 1023, 1);
	NB_SYS(munmap(p, 4 * NB_MIB));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_EXPECT_TYPE(pte, NULL, pfn, 0);
	NB_EXPECT_TYPE(pte, NULL, pfn + 1023, 0);
	close(fd);
	nb_pte_close(pte);
}
