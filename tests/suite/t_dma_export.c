// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf export (NUMABUF_IOC_EXPORT) on the DMA machine: kernel drivers
 * importing numabuf buffers.
 *
 * Two importers nobody on the module's side controls: nb_importer
 * (tests/modules), a PCI driver bound by driver_override to the edu device
 * at 0000:00:11.0, which maps an imported dma-buf for edu with the DMA API
 * and points edu's DMA engine at the address it got, so the witness of
 * "the device reaches the memory" is edu moving real bytes; and vgem, the
 * kernel's own PRIME importer.  Lifetime is checked with the module's
 * counters (debugfs), buf-get (netlink) and the harness's free-memory
 * check; physical addresses with /proc/self/pagemap.
 *
 * nb_importer.ko is looked for in $NB_TEST_MODULES, else in
 * build/<uname -r>/tests/modules/ beside the suite's binaries
 * (`make test-modules KVER=...` builds it there).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "../modules/nb_importer.h"
#include "numabuf.h"
#include "nbutil.h"

#define EDU_BDF		"0000:00:11.0"
#define EDU_SYSFS	"/sys/bus/pci/devices/" EDU_BDF
#define NB_GID		4242
#define BUF_LEN		(4 * NB_MIB)
#define XFER		NBI_DMA_MAX

/* ---- the DRM ioctls vgem needs (stable uapi, include/uapi/drm/drm.h) ---- */

struct nb_drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct nb_drm_gem_close {
	uint32_t handle;
	uint32_t pad;
};

struct nb_drm_prime_handle {
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
};

#define NB_DRM_IOCTL_VERSION		_IOWR('d', 0x00, struct nb_drm_version)
#define NB_DRM_IOCTL_GEM_CLOSE		_IOW('d', 0x09, struct nb_drm_gem_close)
#define NB_DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR('d', 0x2d, struct nb_drm_prime_handle)
#define NB_DRM_IOCTL_PRIME_FD_TO_HANDLE	_IOWR('d', 0x2e, struct nb_drm_prime_handle)
#define NB_DRM_CLOEXEC			O_CLOEXEC
#define NB_DRM_RDWR			O_RDWR

/* ---- numabuf ---- */

static int nbx_export(int fd, uint32_t handle, uint32_t flags, int *dfd)
{
	struct numabuf_export e = {
		.size = sizeof(e), .handle = handle, .flags = flags,
	};

	if (ioctl(fd, NUMABUF_IOC_EXPORT, &e) < 0)
		return -errno;
	*dfd = e.fd;
	return 0;
}

/*
 * Skip when the kernel has no dma-bufs (CONFIG_DMA_SHARED_BUFFER off):
 * EXPORT then fails with EOPNOTSUPP, and there is no nb_importer.ko.
 */
static void nbx_need_dmabuf(void)
{
	int fd = nb_open(), dfd = -1, ret;
	struct numabuf_alloc a = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);

	ret = nbx_export(fd, a.handle, NUMABUF_EXPORT_CLOEXEC, &dfd);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	if (ret == -EOPNOTSUPP)
		nb_skip("EXPORT: EOPNOTSUPP, a kernel without dma-bufs");
}

static int nbx_export_ok(int fd, uint32_t handle, uint32_t flags)
{
	int dfd = -1, ret = nbx_export(fd, handle, flags, &dfd);

	NB_CHECK(!ret, "EXPORT of handle %u (flags %#x): %s", handle, flags,
		 nb_errname(-ret));
	NB_CHECK(dfd >= 0, "EXPORT gave fd %d", dfd);
	return dfd;
}

static uint64_t nbx_phys(int fd, uint32_t handle)
{
	struct numabuf_info inf;

	NB_CHECK(!nb_info(fd, handle, &inf), "INFO of handle %u", handle);
	NB_CHECK(inf.phys, "INFO gave no physical address (not root?)");
	return inf.phys;
}

static uint32_t nbx_map_count(int fd, uint32_t handle)
{
	struct numabuf_info inf;

	NB_CHECK(!nb_info(fd, handle, &inf), "INFO of handle %u", handle);
	return inf.map_count;
}

/* mmap of a dma-buf fd (MAP_SHARED, @prot), or fail the test. */
static void *nbx_dmabuf_map(int dfd, size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, dfd, 0);

	NB_CHECK(p != MAP_FAILED, "mmap of the dma-buf: %s", strerror(errno));
	return p;
}

/* A field ("size:", "exp_name:") of /proc/self/fdinfo/@fd, or "". */
static void nbx_fdinfo(int fd, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	val[0] = 0;
	f = fopen(path, "re");
	NB_CHECK(f, "open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)))
			continue;
		snprintf(val, len, "%s", line + strlen(key));
		val[strcspn(val, "\n")] = 0;
		memmove(val, val + strspn(val, " \t"), strlen(val) + 1);
		break;
	}
	fclose(f);
}

/* buf-get's answer for the buffer at @phys (CAP_SYS_ADMIN sees phys). */
struct nbx_find {
	uint64_t phys;
	struct numabuf_bufstat st;
	int found;
};

static int nbx_find_cb(const struct numabuf_bufstat *st, void *arg)
{
	struct nbx_find *f = arg;

	if (st->phys == f->phys) {
		f->st = *st;
		f->found++;
	}
	return 0;
}

/* 1 and *@st when buf-get lists the buffer at @phys, 0 when it does not. */
static int nbx_bufget(uint64_t phys, struct numabuf_bufstat *st)
{
	struct nbx_find f = { .phys = phys };
	struct numabuf_nl *nl;
	int ret = numabuf_nl_open(&nl);

	NB_CHECK(!ret, "numabuf_nl_open: %s", strerror(-ret));
	ret = numabuf_nl_bufs(nl, NULL, nbx_find_cb, &f);
	NB_CHECK(!ret, "numabuf_nl_bufs: %s (%s)", strerror(-ret),
		 numabuf_nl_errmsg(nl));
	numabuf_nl_close(nl);
	NB_CHECK(f.found <= 1, "buf-get lists phys %#llx %d times",
		 (unsigned long long)phys, f.found);
	if (f.found && st)
		*st = f.st;
	return f.found;
}

/*
 * `numabufctl list` (text) of the buffer at @phys: the line naming it, in
 * @line.  numabufctl is $NB_CTL, else <top>/tools/numabufctl of the tree
 * the binary sits in.  Returns 0 when no line names it.
 */
static int nbx_ctl_list(uint64_t phys, char *line, size_t len)
{
	const char *env = getenv("NB_CTL");
	char exe[PATH_MAX - 64], cmd[PATH_MAX + 64], want[48];
	int found = 0;
	ssize_t n;
	FILE *f;

	if (env && *env) {
		snprintf(cmd, sizeof(cmd), "%s list 2>&1", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		NB_CHECK(n > 0, "readlink /proc/self/exe");
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(cmd, sizeof(cmd), "%s/../../tools/numabufctl list 2>&1",
			 exe);
	}
	snprintf(want, sizeof(want), " phys %#llx", (unsigned long long)phys);
	f = popen(cmd, "r");
	NB_CHECK(f, "popen %s", cmd);
	while (fgets(line, len, f))
		if (strstr(line, want)) {
			found = 1;
			break;
		}
	while (fgetc(f) != EOF)
		;
	NB_CHECK(pclose(f) == 0, "%s failed", cmd);
	return found;
}

/* ---- nb_importer: load, bind to edu, unbind, unload ---- */

static void nbx_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	NB_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	NB_CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s),
		 "write '%s' to %s: %s", s, path, strerror(errno));
	close(fd);
}

/* The driver bound to edu, "" for none. */
static void nbx_edu_driver(char *name, size_t len)
{
	char link[PATH_MAX];
	ssize_t n = readlink(EDU_SYSFS "/driver", link, sizeof(link) - 1);

	name[0] = 0;
	if (n <= 0)
		return;
	link[n] = 0;
	snprintf(name, len, "%s", strrchr(link, '/') + 1);
}

static void nbx_module_path(char *path, size_t len)
{
	const char *dir = getenv("NB_TEST_MODULES");
	char exe[PATH_MAX - 128], *slash;
	struct utsname u;
	ssize_t n;

	if (dir) {
		snprintf(path, len, "%s/nb_importer.ko", dir);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	/* <top>/build/suite/t_dma_export -> <top>/build */
	slash = strrchr(exe, '/');
	*slash = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	NB_SYS(uname(&u));
	snprintf(path, len, "%s/%s/tests/modules/nb_importer.ko", exe,
		 u.release);
}

/*
 * Load nb_importer (if it is not), bind it to edu through
 * driver_override and open its device.
 */
static int nbi_up(void)
{
	char path[PATH_MAX], drv[64];
	int fd, mfd;

	NB_CHECK(access(EDU_SYSFS, F_OK) == 0,
		 "no edu at %s: not guest-run's --dma machine?", EDU_BDF);
	nbx_module_path(path, sizeof(path));
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	NB_CHECK(mfd >= 0, "open %s: %s (make test-modules KVER=...)", path,
		 strerror(errno));
	if (syscall(SYS_finit_module, mfd, "", 0) && errno != EEXIST)
		NB_FAIL("finit_module %s: %s", path, strerror(errno));
	close(mfd);

	nbx_edu_driver(drv, sizeof(drv));
	if (strcmp(drv, NBI_NAME)) {
		NB_CHECK(!drv[0], "edu %s is bound to %s", EDU_BDF, drv);
		nbx_write_file(EDU_SYSFS "/driver_override", NBI_NAME);
		nbx_write_file("/sys/bus/pci/drivers_probe", EDU_BDF);
		nbx_edu_driver(drv, sizeof(drv));
		NB_CHECK(!strcmp(drv, NBI_NAME),
			 "edu not bound to nb_importer after drivers_probe ('%s')",
			 drv);
	}
	fd = open(NBI_DEV, O_RDWR | O_CLOEXEC);
	NB_CHECK(fd >= 0, "open %s: %s", NBI_DEV, strerror(errno));
	return fd;
}

/* Unbind edu and unload nb_importer; @fd (if >= 0) is closed first. */
static void nbi_down(int fd)
{
	char drv[64];
	int i;

	if (fd >= 0)
		close(fd);
	nbx_edu_driver(drv, sizeof(drv));
	if (!strcmp(drv, NBI_NAME))
		nbx_write_file("/sys/bus/pci/drivers/" NBI_NAME "/unbind",
			       EDU_BDF);
	nbx_write_file(EDU_SYSFS "/driver_override", "\n");
	for (i = 0; i < 50; i++) {
		if (!syscall(SYS_delete_module, NBI_NAME, O_NONBLOCK))
			return;
		if (errno != EAGAIN && errno != EBUSY && errno != EWOULDBLOCK)
			break;
		usleep(100000);
	}
	NB_FAIL("delete_module nb_importer: %s", strerror(errno));
}

static int nbi_import(int nfd, int dfd, struct nbi_import *imp)
{
	memset(imp, 0, sizeof(*imp));
	imp->fd = dfd;
	return ioctl(nfd, NBI_IOC_IMPORT, imp) ? -errno : 0;
}

static struct nbi_import nbi_import_ok(int nfd, int dfd)
{
	struct nbi_import imp;
	int ret = nbi_import(nfd, dfd, &imp);

	NB_CHECK(!ret, "nb_importer IMPORT: %s", nb_errname(-ret));
	return imp;
}

static void nbi_dma_ok(int nfd, uint32_t id, uint32_t dir, uint64_t off,
		       uint64_t len, uint64_t dev_off)
{
	struct nbi_dma d = {
		.id = id, .dir = dir, .offset = off, .len = len,
		.dev_offset = dev_off,
	};

	NB_CHECK(!ioctl(nfd, NBI_IOC_DMA, &d),
		 "edu DMA %s, offset %#llx, %llu bytes: %s",
		 dir == NBI_DMA_TO_DEVICE ? "to device" : "from device",
		 (unsigned long long)off, (unsigned long long)len,
		 strerror(errno));
}

static void nbi_cpu_ok(int nfd, uint32_t id, uint32_t flags)
{
	struct nbi_cpu c = { .id = id, .flags = flags };

	NB_CHECK(!ioctl(nfd, NBI_IOC_CPU, &c), "nb_importer CPU %#x: %s",
		 flags, strerror(errno));
}

static void nbi_release_ok(int nfd, uint32_t id)
{
	NB_CHECK(!ioctl(nfd, NBI_IOC_RELEASE, &id), "nb_importer RELEASE: %s",
		 strerror(errno));
}

/*
 * The mode of the DMA machine: translate (the IOMMU gives edu I/O virtual
 * addresses) or passthrough (bus address = physical address).
 */
static bool nbx_translating(void)
{
	const char *m = getenv("NB_DMA");

	return m && !strcmp(m, "translate");
}

/*
 * Move [off, off + XFER) of the import @src to the same bytes of the
 * import @dst through edu's buffer at @dev_off.
 */
static void nbx_edu_copy(int nfd, uint32_t src, uint32_t dst, uint64_t off,
			 uint64_t dev_off)
{
	nbi_cpu_ok(nfd, src, NBI_CPU_WRITE | NBI_CPU_END);
	nbi_dma_ok(nfd, src, NBI_DMA_TO_DEVICE, off, XFER, dev_off);
	nbi_dma_ok(nfd, dst, NBI_DMA_FROM_DEVICE, off, XFER, dev_off);
	nbi_cpu_ok(nfd, dst, NBI_CPU_READ);
}

/* The start, middle and last page of a buffer, ends included. */
static const uint64_t nbx_offs[] = {
	0, BUF_LEN / 2 + 1000, BUF_LEN - XFER,
};

/* ---- tests ---- */

NB_TEST(export_args,
	"EXPORT: unknown flags and nonzero reserved fields EINVAL, an unknown handle ENOENT, a short size EINVAL; the fd is a dma-buf of the buffer's size (fdinfo: exp_name numabuf, size), close-on-exec exactly with NUMABUF_EXPORT_CLOEXEC, O_RDONLY exactly with _RDONLY; buf-get counts live dma-bufs (exports); the buffer goes when the handle and the last dma-buf go")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), dfd, dfd2;
	struct numabuf_alloc a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	struct numabuf_export e;
	struct numabuf_bufstat st;
	uint64_t phys = nbx_phys(fd, a.handle);
	char val[64];

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.handle = a.handle;
	e.flags = 0x4;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_EXPORT, &e), EINVAL);
	e.flags = 0;
	e.reserved[3] = 1;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_EXPORT, &e), EINVAL);
	e.reserved[3] = 0;
	e.size = NUMABUF_EXPORT_SIZE_VER0 - 8;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_EXPORT, &e), EINVAL);
	e.size = sizeof(e);
	e.handle = a.handle + 1;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_EXPORT, &e), ENOENT);

	NB_CHECK(nbx_bufget(phys, &st) == 1, "buf-get does not list the buffer");
	NB_CHECK(st.exports == 0, "buf-get exports %u before EXPORT",
		 st.exports);

	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	NB_CHECK(fcntl(dfd, F_GETFD) & FD_CLOEXEC, "CLOEXEC export not close-on-exec");
	NB_CHECK((fcntl(dfd, F_GETFL) & O_ACCMODE) == O_RDWR,
		 "dma-buf access mode %#x, expected O_RDWR",
		 fcntl(dfd, F_GETFL) & O_ACCMODE);
	nbx_fdinfo(dfd, "exp_name:", val, sizeof(val));
	NB_CHECK(!strcmp(val, "numabuf"), "fdinfo exp_name '%s'", val);
	nbx_fdinfo(dfd, "size:", val, sizeof(val));
	NB_CHECK(strtoull(val, NULL, 10) == BUF_LEN, "fdinfo size '%s'", val);
	NB_CHECK(lseek(dfd, 0, SEEK_END) == (off_t)BUF_LEN,
		 "lseek(SEEK_END) of the dma-buf: %lld",
		 (long long)lseek(dfd, 0, SEEK_END));

	dfd2 = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_RDONLY);
	NB_CHECK(!(fcntl(dfd2, F_GETFD) & FD_CLOEXEC),
		 "export without CLOEXEC is close-on-exec");
	NB_CHECK((fcntl(dfd2, F_GETFL) & O_ACCMODE) == O_RDONLY,
		 "RDONLY dma-buf access mode %#x",
		 fcntl(dfd2, F_GETFL) & O_ACCMODE);
	NB_CHECK(nbx_bufget(phys, &st) == 1 && st.exports == 2,
		 "buf-get exports %u with two dma-bufs", st.exports);

	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	close(fd);
	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	close(dfd2);
	NB_CHECK(nbx_bufget(phys, &st) == 1 && st.exports == 1,
		 "buf-get exports %u with one dma-buf", st.exports);
	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	close(dfd);
	NB_STATS_EXPECT(s0, 0, 0);
	NB_CHECK(nbx_bufget(phys, NULL) == 0,
		 "buf-get still lists the buffer after its last dma-buf went");
}

NB_TEST(export_lib,
	"libnumabuf: numabuf_export() gives a close-on-exec dma-buf whose mmap() shows the buffer's bytes; numabuf_export_flags() with unknown flags is EINVAL")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	struct numabuf_ctx *ctx;
	struct numabuf *b;
	int dfd = -1, ret;
	void *p;

	NB_CHECK(!numabuf_open(&ctx), "numabuf_open");
	ret = numabuf_alloc(ctx, 64 * NB_KIB, 0, 0, &b);
	NB_CHECK(!ret, "numabuf_alloc: %s", strerror(-ret));
	nb_fill(numabuf_addr(b), 64 * NB_KIB, 31);
	NB_CHECK(numabuf_export_flags(b, 0x80, &dfd) == -EINVAL,
		 "numabuf_export_flags(0x80) did not fail with EINVAL");
	ret = numabuf_export(b, &dfd);
	NB_CHECK(!ret, "numabuf_export: %s", strerror(-ret));
	NB_CHECK(fcntl(dfd, F_GETFD) & FD_CLOEXEC, "not close-on-exec");
	numabuf_close(ctx);
	NB_STATS_EXPECT(s0, 1, 64 * NB_KIB);
	p = nbx_dmabuf_map(dfd, 64 * NB_KIB, PROT_READ);
	NB_CHECK(nb_verify(p, 64 * NB_KIB, 31) == (size_t)-1,
		 "the dma-buf does not show the buffer's bytes");
	munmap(p, 64 * NB_KIB);
	close(dfd);
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST(import_edu,
	"nb_importer imports two exported 4 MiB buffers for edu: one sg entry and one DMA segment covering the whole buffer, an I/O virtual address unlike the physical one with the IOMMU translating and the physical one in passthrough; edu copies buffer A -> device -> buffer B at the start, middle and last page and every byte arrives (checked through the numabuf mapping and through the dma-buf's own mmap), nothing else of B changes; dma_buf_vmap reads the same bytes; releasing the imports and the dma-bufs frees both buffers")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), nfd, dfa, dfb;
	struct numabuf_alloc a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	struct numabuf_alloc b = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	uint8_t *pa = nb_map(fd, a.offset, BUF_LEN);
	uint8_t *pb = nb_map(fd, b.offset, BUF_LEN);
	uint64_t phys_a = nbx_phys(fd, a.handle);
	struct nbi_import ia, ib;
	struct nbi_peek pk;
	uint8_t *db;
	uint64_t want;
	size_t i, off;

	nfd = nbi_up();
	nb_fill(pa, BUF_LEN, 7);
	memset(pb, 0, BUF_LEN);
	dfa = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	dfb = nbx_export_ok(fd, b.handle, NUMABUF_EXPORT_CLOEXEC);
	ia = nbi_import_ok(nfd, dfa);
	ib = nbi_import_ok(nfd, dfb);
	NB_CHECK(ia.size == BUF_LEN, "imported size %llu",
		 (unsigned long long)ia.size);
	NB_CHECK(ia.orig_nents == 1 && ia.nents == 1,
		 "sg table of %u entries, %u DMA segments; expected 1 and 1",
		 ia.orig_nents, ia.nents);
	NB_CHECK(ia.dma_len == BUF_LEN, "DMA segment of %llu bytes",
		 (unsigned long long)ia.dma_len);
	nb_note("buffer A: phys %#llx, edu's DMA address %#llx",
		(unsigned long long)phys_a, (unsigned long long)ia.dma_addr);
	if (nbx_translating())
		NB_CHECK(ia.dma_addr != phys_a,
			 "IOMMU translating, yet the DMA address is the physical one");
	else
		NB_CHECK(ia.dma_addr == phys_a,
			 "passthrough, yet DMA address %#llx != physical %#llx",
			 (unsigned long long)ia.dma_addr,
			 (unsigned long long)phys_a);

	for (i = 0; i < sizeof(nbx_offs) / sizeof(nbx_offs[0]); i++)
		nbx_edu_copy(nfd, ia.id, ib.id, nbx_offs[i], (i % 2) * 1024);

	db = nbx_dmabuf_map(dfb, BUF_LEN, PROT_READ);
	for (off = 0; off < BUF_LEN; off += NB_PAGE) {
		bool moved = false;

		for (i = 0; i < sizeof(nbx_offs) / sizeof(nbx_offs[0]); i++)
			if (off + NB_PAGE > nbx_offs[i] &&
			    off < nbx_offs[i] + XFER)
				moved = true;
		if (!moved)
			NB_CHECK(nb_find_nonzero(pb + off, NB_PAGE) == (size_t)-1,
				 "byte %#zx of B changed, edu wrote nowhere near",
				 off + nb_find_nonzero(pb + off, NB_PAGE));
	}
	for (i = 0; i < sizeof(nbx_offs) / sizeof(nbx_offs[0]); i++) {
		off = nbx_offs[i];
		NB_CHECK(!memcmp(pa + off, pb + off, XFER),
			 "edu's copy at %#zx differs (numabuf mapping of B)", off);
		NB_CHECK(!memcmp(pa + off, db + off, XFER),
			 "edu's copy at %#zx differs (dma-buf mapping of B)", off);
		NB_CHECK(nb_find_nonzero(pb + off, XFER) != (size_t)-1,
			 "B at %#zx is still all zero", off);

		memset(&pk, 0, sizeof(pk));
		pk.id = ib.id;
		pk.offset = off & ~7UL;
		NB_CHECK(!ioctl(nfd, NBI_IOC_PEEK, &pk), "PEEK: %s",
			 strerror(errno));
		memcpy(&want, pb + pk.offset, sizeof(want));
		NB_CHECK(pk.value == want,
			 "dma_buf_vmap reads %#llx at %#llx, the mapping %#llx",
			 (unsigned long long)pk.value,
			 (unsigned long long)pk.offset,
			 (unsigned long long)want);
	}
	munmap(db, BUF_LEN);

	nbi_release_ok(nfd, ia.id);
	nbi_release_ok(nfd, ib.id);
	NB_ERRNO(ioctl(nfd, NBI_IOC_RELEASE, &ia.id), ENOENT);
	munmap(pa, BUF_LEN);
	munmap(pb, BUF_LEN);
	close(fd);
	NB_STATS_EXPECT(s0, 2, 2 * BUF_LEN);
	close(dfa);
	close(dfb);
	NB_STATS_EXPECT(s0, 0, 0);
	nbi_down(nfd);
}

NB_TEST(dmabuf_mmap,
	"mmap() of the dma-buf maps the buffer's own pages (pagemap: the same frames as the numabuf mapping, also at a page offset), writes through either show in the other, it counts in map_count; MAP_PRIVATE is EINVAL and a range past the end EINVAL")
{
	nbx_need_dmabuf();
	const size_t len = 256 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), dfd;
	struct numabuf_alloc a = nb_alloc_ok(fd, len, 0, 0);
	uint8_t *p = nb_map(fd, a.offset, len), *d, *d1;
	uint64_t pf[64], df[64];
	size_t n = len / NB_PAGE, i;

	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	NB_CHECK(nbx_map_count(fd, a.handle) == 1, "map_count before");
	d = nbx_dmabuf_map(dfd, len, PROT_READ | PROT_WRITE);
	NB_CHECK(nbx_map_count(fd, a.handle) == 2,
		 "map_count %u with the dma-buf mapped, expected 2",
		 nbx_map_count(fd, a.handle));
	nb_pfns(p, n, pf);
	nb_pfns(d, n, df);
	for (i = 0; i < n; i++)
		NB_CHECK(pf[i] && pf[i] == df[i],
			 "page %zu: numabuf frame %#llx, dma-buf frame %#llx", i,
			 (unsigned long long)pf[i], (unsigned long long)df[i]);
	nb_fill(p, len, 11);
	NB_CHECK(nb_verify(d, len, 11) == (size_t)-1,
		 "the dma-buf mapping does not show the numabuf mapping's writes");
	nb_fill(d, len, 12);
	NB_CHECK(nb_verify(p, len, 12) == (size_t)-1,
		 "the numabuf mapping does not show the dma-buf mapping's writes");

	d1 = mmap(NULL, NB_PAGE, PROT_READ, MAP_SHARED, dfd, 3 * NB_PAGE);
	NB_CHECK(d1 != MAP_FAILED, "mmap at page 3: %s", strerror(errno));
	nb_pfns(d1, 1, df);
	NB_CHECK(df[0] == pf[3], "page 3 of the dma-buf is frame %#llx, not %#llx",
		 (unsigned long long)df[0], (unsigned long long)pf[3]);
	munmap(d1, NB_PAGE);

	NB_CHECK(mmap(NULL, len, PROT_READ, MAP_PRIVATE, dfd, 0) == MAP_FAILED &&
		 errno == EINVAL, "MAP_PRIVATE of the dma-buf did not fail with EINVAL");
	NB_CHECK(mmap(NULL, 2 * NB_PAGE, PROT_READ, MAP_SHARED, dfd,
		      len - NB_PAGE) == MAP_FAILED && errno == EINVAL,
		 "a mapping past the end did not fail with EINVAL");

	munmap(d, len);
	NB_CHECK(nbx_map_count(fd, a.handle) == 1, "map_count after munmap");
	munmap(p, len);
	close(fd);
	NB_STATS_EXPECT(s0, 1, len);
	close(dfd);
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST(dmabuf_sync,
	"DMA_BUF_IOCTL_SYNC on the dma-buf while nb_importer has it mapped for edu: START and END with READ, WRITE and both succeed; unknown flags and no direction are EINVAL; the importer's begin/end_cpu_access succeed; edu still moves data after the syncs")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), nfd, dfa, dfb;
	struct numabuf_alloc a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	struct numabuf_alloc b = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	uint8_t *pa = nb_map(fd, a.offset, BUF_LEN);
	uint8_t *pb = nb_map(fd, b.offset, BUF_LEN);
	static const uint64_t dirs[] = {
		DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW,
	};
	struct dma_buf_sync s;
	struct nbi_import ia, ib;
	size_t i;

	nfd = nbi_up();
	dfa = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	dfb = nbx_export_ok(fd, b.handle, NUMABUF_EXPORT_CLOEXEC);
	ia = nbi_import_ok(nfd, dfa);
	ib = nbi_import_ok(nfd, dfb);

	for (i = 0; i < 3; i++) {
		s.flags = DMA_BUF_SYNC_START | dirs[i];
		NB_CHECK(!ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s), "SYNC START %#llx: %s",
			 (unsigned long long)s.flags, strerror(errno));
		s.flags = DMA_BUF_SYNC_END | dirs[i];
		NB_CHECK(!ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s), "SYNC END %#llx: %s",
			 (unsigned long long)s.flags, strerror(errno));
	}
	s.flags = DMA_BUF_SYNC_RW | 0x100;
	NB_ERRNO(ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s), EINVAL);
	s.flags = DMA_BUF_SYNC_START;
	NB_ERRNO(ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s), EINVAL);
	nbi_cpu_ok(nfd, ia.id, NBI_CPU_READ | NBI_CPU_WRITE);
	nbi_cpu_ok(nfd, ia.id, NBI_CPU_READ | NBI_CPU_WRITE | NBI_CPU_END);

	/* The CPU writes between START and END, as the uapi says. */
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
	NB_SYS(ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s));
	nb_fill(pa, BUF_LEN, 21);
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	NB_SYS(ioctl(dfa, DMA_BUF_IOCTL_SYNC, &s));
	nbx_edu_copy(nfd, ia.id, ib.id, BUF_LEN / 2, 0);
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	NB_SYS(ioctl(dfb, DMA_BUF_IOCTL_SYNC, &s));
	NB_CHECK(!memcmp(pa + BUF_LEN / 2, pb + BUF_LEN / 2, XFER),
		 "edu's copy after the syncs differs");
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	NB_SYS(ioctl(dfb, DMA_BUF_IOCTL_SYNC, &s));

	munmap(pa, BUF_LEN);
	munmap(pb, BUF_LEN);
	close(fd);
	close(dfa);
	close(dfb);
	/* The importer's file holds the last references. */
	NB_STATS_EXPECT(s0, 2, 2 * BUF_LEN);
	close(nfd);
	NB_STATS_EXPECT(s0, 0, 0);
	nbi_down(-1);
}

static void nbx_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	NB_CHECK(sendmsg(sock, &m, 0) == 1, "sendmsg SCM_RIGHTS: %s",
		 strerror(errno));
}

static int nbx_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, x;
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	NB_CHECK(recvmsg(sock, &m, MSG_CMSG_CLOEXEC) == 1, "recvmsg: %s",
		 strerror(errno));
	c = CMSG_FIRSTHDR(&m);
	NB_CHECK(c && c->cmsg_type == SCM_RIGHTS, "no fd received");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

NB_TEST(scm_rights,
	"a dma-buf fd passed over a unix socket (SCM_RIGHTS) to a process that never opened /dev/numabuf maps the same memory there: it reads the exporter's bytes and its writes show in the exporter's mapping")
{
	nbx_need_dmabuf();
	const size_t len = 1 * NB_MIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), dfd, sv[2];
	struct numabuf_alloc a = nb_alloc_ok(fd, len, 0, 0);
	uint8_t *p = nb_map(fd, a.offset, len);
	pid_t pid;

	nb_fill(p, len, 41);
	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	NB_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	NB_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int got;
		uint8_t *q;
		char x = 0;

		close(sv[0]);
		close(fd);
		close(dfd);
		munmap(p, len);
		got = nbx_recv_fd(sv[1]);
		q = nbx_dmabuf_map(got, len, PROT_READ | PROT_WRITE);
		NB_CHECK(nb_verify(q, len, 41) == (size_t)-1,
			 "the receiver does not see the exporter's bytes");
		nb_fill(q, len, 42);
		munmap(q, len);
		close(got);
		NB_CHECK(write(sv[1], &x, 1) == 1, "write");
		_exit(0);
	}
	close(sv[1]);
	nbx_send_fd(sv[0], dfd);
	NB_WAIT_OK(pid);
	NB_CHECK(nb_verify(p, len, 42) == (size_t)-1,
		 "the receiver's writes do not show in the exporter's mapping");
	close(sv[0]);
	munmap(p, len);
	close(fd);
	close(dfd);
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST(outlives_exporter,
	"a process allocates and exports a buffer, sends the dma-buf to the test, FREEs the handle, closes /dev/numabuf and is killed: the buffer stays counted (module counters; buf-get and numabufctl list, exports 1) with its bytes intact through the dma-buf, edu can still read it through nb_importer, and it is freed (counters and free memory back) when the import and the last fd go")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	struct numabuf_bufstat st;
	struct nbi_import imp;
	int sv[2], dfd, nfd, fd, status;
	uint64_t phys;
	uint8_t *q, *pc;
	char line[512];
	pid_t pid;

	NB_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	NB_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int cfd = nb_open(), cdfd;
		struct numabuf_alloc a = nb_alloc_ok(cfd, BUF_LEN, 0, 0);
		uint8_t *p = nb_map(cfd, a.offset, BUF_LEN);
		uint64_t ph = nbx_phys(cfd, a.handle);

		close(sv[0]);
		nb_fill(p, BUF_LEN, 51);
		cdfd = nbx_export_ok(cfd, a.handle, NUMABUF_EXPORT_CLOEXEC);
		munmap(p, BUF_LEN);
		NB_CHECK(!nb_free(cfd, a.handle), "FREE");
		close(cfd);
		nbx_send_fd(sv[1], cdfd);
		close(cdfd);
		NB_CHECK(write(sv[1], &ph, sizeof(ph)) == sizeof(ph), "write");
		pause();
		_exit(0);
	}
	close(sv[1]);
	dfd = nbx_recv_fd(sv[0]);
	NB_CHECK(read(sv[0], &phys, sizeof(phys)) == sizeof(phys),
		 "the exporter died early");
	NB_SYS(kill(pid, SIGKILL));
	NB_CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status),
		 "the exporter was not killed");
	close(sv[0]);

	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	NB_CHECK(nbx_bufget(phys, &st) == 1,
		 "buf-get does not list the buffer whose exporter is gone");
	NB_CHECK(st.exports == 1 && st.map_count == 0 && st.size == BUF_LEN,
		 "buf-get: exports %u map-count %u size %llu", st.exports,
		 st.map_count, (unsigned long long)st.size);
	NB_CHECK(nbx_ctl_list(phys, line, sizeof(line)),
		 "numabufctl list does not list the buffer");
	NB_CHECK(strstr(line, " exports 1"), "numabufctl list: %s", line);
	q = nbx_dmabuf_map(dfd, BUF_LEN, PROT_READ);
	NB_CHECK(nb_verify(q, BUF_LEN, 51) == (size_t)-1,
		 "the bytes through the dma-buf changed after the exporter died");

	/* edu reads it into a buffer of the test's own. */
	nfd = nbi_up();
	fd = nb_open();
	{
		struct numabuf_alloc c = nb_alloc_ok(fd, BUF_LEN, 0, 0);
		int cdfd = nbx_export_ok(fd, c.handle, NUMABUF_EXPORT_CLOEXEC);
		struct nbi_import ic;

		pc = nb_map(fd, c.offset, BUF_LEN);
		imp = nbi_import_ok(nfd, dfd);
		ic = nbi_import_ok(nfd, cdfd);
		close(cdfd);
		nbx_edu_copy(nfd, imp.id, ic.id, BUF_LEN - XFER, 0);
		NB_CHECK(!memcmp(q + BUF_LEN - XFER, pc + BUF_LEN - XFER, XFER),
			 "edu's copy of the orphaned buffer differs");
		nbi_release_ok(nfd, ic.id);
		munmap(pc, BUF_LEN);
		close(fd);
	}
	munmap(q, BUF_LEN);
	close(dfd);
	/* Only the import holds it now. */
	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	NB_CHECK(nbx_bufget(phys, &st) == 1 && st.exports == 1,
		 "buf-get with only the import left: exports %u", st.exports);
	nbi_release_ok(nfd, imp.id);
	NB_STATS_EXPECT(s0, 0, 0);
	NB_CHECK(nbx_bufget(phys, NULL) == 0, "buf-get still lists it");
	nbi_down(nfd);
}

NB_TEST(importer_unwind,
	"nb_importer unwinds on close and on unbind: imports held by a closed importer file, and by an open one whose edu is unbound, end (the buffers go once their other fds do), and IMPORT after the unbind is ENODEV")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), nfd, nfd2, dfd;
	struct numabuf_alloc a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	struct nbi_import imp;

	nfd = nbi_up();
	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	nbi_import_ok(nfd, dfd);
	nbi_import_ok(nfd, dfd);
	close(dfd);
	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	close(nfd);
	NB_STATS_EXPECT(s0, 0, 0);

	a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	nfd2 = open(NBI_DEV, O_RDWR | O_CLOEXEC);
	NB_CHECK(nfd2 >= 0, "open %s", NBI_DEV);
	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	nbi_import_ok(nfd2, dfd);
	nbx_write_file("/sys/bus/pci/drivers/" NBI_NAME "/unbind", EDU_BDF);
	NB_CHECK(nbi_import(nfd2, dfd, &imp) == -ENODEV,
		 "IMPORT without a device did not fail with ENODEV");
	close(dfd);
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
	nbi_down(nfd2);
}

NB_TEST(no_bounce,
	"the no-bounce rule: with edu's DMA mask cut to 32 bits (nb_importer's MASK ioctl), a buffer on node 1 (above 4 GiB) imports only where the IOMMU translates; in passthrough the map fails with ERANGE instead of going through swiotlb")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), nfd, dfd, ret;
	struct numabuf_alloc a;
	struct nbi_import imp;
	uint32_t bits = 32;
	uint64_t phys;

	if (!nb_node_online(1))
		nb_skip("no node 1");
	a = nb_alloc_ok(fd, 64 * NB_KIB, 1, 0);
	phys = nbx_phys(fd, a.handle);
	NB_CHECK(phys >= (1ULL << 32), "node 1's buffer at %#llx, below 4 GiB",
		 (unsigned long long)phys);
	nfd = nbi_up();
	NB_CHECK(!ioctl(nfd, NBI_IOC_MASK, &bits), "MASK 32: %s",
		 strerror(errno));
	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
	ret = nbi_import(nfd, dfd, &imp);
	if (nbx_translating()) {
		NB_CHECK(!ret, "IMPORT behind a translating IOMMU: %s",
			 nb_errname(-ret));
		NB_CHECK(imp.dma_addr + 64 * NB_KIB - 1 <= 0xffffffffULL,
			 "IOVA %#llx beyond the 32-bit mask",
			 (unsigned long long)imp.dma_addr);
		nbi_release_ok(nfd, imp.id);
	} else {
		NB_CHECK(ret == -ERANGE,
			 "IMPORT of memory above the mask without an IOMMU: %s, expected ERANGE",
			 ret ? nb_errname(-ret) : "success");
	}
	close(dfd);
	bits = 64;
	NB_CHECK(!ioctl(nfd, NBI_IOC_MASK, &bits), "MASK 64: %s",
		 strerror(errno));
	close(fd);
	NB_STATS_EXPECT(s0, 0, 0);
	nbi_down(nfd);
}

/* ---- vgem, an importer nobody here wrote ---- */

/* An open /dev/dri/cardN of vgem, or -1. */
static int nbx_vgem_open(void)
{
	char path[32], name[32];
	struct nb_drm_version v;
	int i, fd;

	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!ioctl(fd, NB_DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

NB_TEST(vgem_import,
	"vgem imports the dma-buf (DRM_IOCTL_PRIME_FD_TO_HANDLE attaches and maps it for vgem's device); with the handle freed, /dev/numabuf, the mapping and the dma-buf fd closed the buffer stays alive (counters, buf-get exports 1) while only vgem holds it; PRIME_HANDLE_TO_FD gives the dma-buf back and its mmap shows the bytes; DRM_IOCTL_GEM_CLOSE ends it (counters and free memory back)")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	struct nb_drm_prime_handle ph;
	struct nb_drm_gem_close gc;
	struct numabuf_bufstat st;
	struct numabuf_alloc a;
	int fd, dfd, vfd, dfd2;
	uint64_t phys;
	uint8_t *p;

	vfd = nbx_vgem_open();
	if (vfd < 0) {
		if (system("modprobe vgem >/dev/null 2>&1") != 0)
			nb_skip("no vgem (modprobe vgem failed; not in this kernel?)");
		usleep(200000);
		vfd = nbx_vgem_open();
	}
	if (vfd < 0)
		nb_skip("vgem loaded but no /dev/dri/cardN answers as vgem");

	fd = nb_open();
	a = nb_alloc_ok(fd, BUF_LEN, 0, 0);
	phys = nbx_phys(fd, a.handle);
	p = nb_map(fd, a.offset, BUF_LEN);
	nb_fill(p, BUF_LEN, 61);
	dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);

	memset(&ph, 0, sizeof(ph));
	ph.fd = dfd;
	NB_CHECK(!ioctl(vfd, NB_DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph),
		 "PRIME_FD_TO_HANDLE: %s", strerror(errno));
	NB_CHECK(ph.handle, "vgem gave handle 0");

	munmap(p, BUF_LEN);
	NB_CHECK(!nb_free(fd, a.handle), "FREE");
	close(fd);
	close(dfd);
	NB_STATS_EXPECT(s0, 1, BUF_LEN);
	NB_CHECK(nbx_bufget(phys, &st) == 1 && st.exports == 1,
		 "buf-get with only vgem holding it: listed %d, exports %u",
		 nbx_bufget(phys, NULL), st.exports);

	ph.fd = -1;
	ph.flags = NB_DRM_CLOEXEC | NB_DRM_RDWR;
	NB_CHECK(!ioctl(vfd, NB_DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph),
		 "PRIME_HANDLE_TO_FD: %s", strerror(errno));
	dfd2 = ph.fd;
	p = nbx_dmabuf_map(dfd2, BUF_LEN, PROT_READ);
	NB_CHECK(nb_verify(p, BUF_LEN, 61) == (size_t)-1,
		 "the dma-buf vgem gave back does not show the bytes");
	munmap(p, BUF_LEN);
	close(dfd2);
	NB_STATS_EXPECT(s0, 1, BUF_LEN);

	memset(&gc, 0, sizeof(gc));
	gc.handle = ph.handle;
	NB_CHECK(!ioctl(vfd, NB_DRM_IOCTL_GEM_CLOSE, &gc), "GEM_CLOSE: %s",
		 strerror(errno));
	NB_STATS_EXPECT(s0, 0, 0);
	NB_CHECK(nbx_bufget(phys, NULL) == 0, "buf-get still lists it");
	close(vfd);
}

/* ---- an unprivileged group member ---- */

NB_TEST(unpriv_export,
	"uid nobody in the device's group (no capabilities) exports its own buffer and maps the dma-buf read-write; a NUMABUF_EXPORT_RDONLY dma-buf maps read-only: PROT_WRITE mmap EACCES, mprotect to PROT_WRITE EACCES, reads show the bytes; everything is freed when it exits")
{
	nbx_need_dmabuf();
	struct nb_stats s0 = nb_stats_read();
	pid_t pid;

	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
	pid = fork();
	NB_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct rlimit rl = { 8 * NB_MIB, 8 * NB_MIB };
		const size_t len = 64 * NB_KIB;
		gid_t g = NB_GID;
		struct numabuf_alloc a;
		int fd, dfd, rfd;
		uint8_t *p, *d, *r;

		NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
		NB_SYS(setgroups(1, &g));
		NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
		fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
		NB_CHECK(fd >= 0, "a group member cannot open %s: %s", NB_DEV,
			 strerror(errno));
		a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
		p = nb_map(fd, a.offset, len);
		nb_fill(p, len, 71);
		dfd = nbx_export_ok(fd, a.handle, NUMABUF_EXPORT_CLOEXEC);
		d = nbx_dmabuf_map(dfd, len, PROT_READ | PROT_WRITE);
		NB_CHECK(nb_verify(d, len, 71) == (size_t)-1, "dma-buf bytes");
		nb_fill(d, len, 72);
		NB_CHECK(nb_verify(p, len, 72) == (size_t)-1, "write through");

		rfd = nbx_export_ok(fd, a.handle,
				    NUMABUF_EXPORT_CLOEXEC | NUMABUF_EXPORT_RDONLY);
		NB_CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
			      0) == MAP_FAILED && errno == EACCES,
			 "PROT_WRITE mmap of a RDONLY dma-buf did not fail with EACCES");
		r = nbx_dmabuf_map(rfd, len, PROT_READ);
		NB_CHECK(nb_verify(r, len, 72) == (size_t)-1, "RDONLY bytes");
		NB_ERRNO(mprotect(r, len, PROT_READ | PROT_WRITE), EACCES);
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_SYS(chmod(NB_DEV, 0600));
	NB_SYS(chown(NB_DEV, 0, 0));
	NB_STATS_EXPECT(s0, 0, 0);
}
