// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-dmabench: what it costs to give a device a buffer, per size.
 *
 *   numabuf-dmabench [-d BDF] [-n NODE] [-s SIZE,...] [-i N] [-t SECONDS]
 *
 * For each size it times, on a PCI device with no driver (default the edu
 * device at 0000:81:00.0 of guest-run's --dma machine):
 *  - ATTACH / DETACH of a numabuf buffer (the module maps it with the DMA
 *    API: one contiguous mapping);
 *  - with the device bound to vfio-pci, VFIO_IOMMU_MAP_DMA / UNMAP_DMA in a
 *    type1v2 container of the same numabuf buffer, and of malloc() memory
 *    on the same node made resident with mlock(), which is what a user of
 *    malloc must do (type1 pins it and maps what it finds contiguous):
 *    once as the system's transparent huge page setting makes it, once
 *    with MADV_NOHUGEPAGE (4 KiB pages, pinned and mapped page by page);
 *    the mlock() is timed on its own.
 * It prints the medians and the ratios malloc / numabuf.  The device is
 * bound to vfio-pci for the VFIO part and left driverless at the end, as
 * it was.  Root only; run it in a test guest, never on a machine whose
 * devices matter.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/numabuf.h>

#include "util.h"

#define IOVA_BASE	0x40000000ULL	/* 1 GiB: aligned for any size here */
#define MPOL_BIND_	2
#define MAX_SIZES	32
#define NB_MAX_NODE_BITS 1024

static const char *bdf = "0000:81:00.0";
static int nb_fd = -1;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void vfio_unbind(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "numabuf-dmabench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	vfio_unbind();
	exit(1);
}

/* ---- sysfs ---- */

static int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* Base name of the device's @link ("driver", "iommu_group"); "" if none. */
static void dev_link(const char *link, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, link);
	buf[0] = 0;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = 0;
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(base) < len)
		memcpy(buf, base, strlen(base) + 1);
}

static int bound;

static void vfio_bind(char *group, size_t len)
{
	char path[PATH_MAX], drv[64];

	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) &&
	    system("modprobe -q vfio_iommu_type1 && modprobe -q vfio-pci"))
		die("cannot load vfio-pci");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (sysfs_write(path, "vfio-pci"))
		die("write %s: %s", path, strerror(errno));
	bound = 1;
	sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	dev_link("driver", drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci"))
		die("%s did not bind to vfio-pci", bdf);
	dev_link("iommu_group", group, len);
	if (!group[0])
		die("%s is in no IOMMU group", bdf);
}

static void vfio_unbind(void)
{
	char path[PATH_MAX], drv[64];

	if (!bound)
		return;
	bound = 0;
	dev_link("driver", drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		sysfs_write("/sys/bus/pci/drivers/vfio-pci/unbind", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	sysfs_write(path, "\n");
}

struct vfio {
	int container, group;
};

static void vfio_open(struct vfio *v, const char *group)
{
	char path[64];

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		die("open %s: %s", path, strerror(errno));
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		die("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU type1v2: %s", strerror(errno));
}

static void vfio_close(struct vfio *v)
{
	close(v->group);
	close(v->container);
}

static double vfio_map(struct vfio *v, void *p, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p, .iova = IOVA_BASE, .size = len,
	};
	double t = mono_now();

	if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m))
		die("VFIO_IOMMU_MAP_DMA of %llu bytes: %s", (unsigned long long)len,
		    strerror(errno));
	return mono_now() - t;
}

static double vfio_unmap(struct vfio *v, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = IOVA_BASE, .size = len,
	};
	double t = mono_now();

	if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u) || u.size != len)
		die("VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
	return mono_now() - t;
}

/* ---- buffers ---- */

struct nbuf {
	uint32_t handle;
	uint64_t len;
	void *p;
};

static void nbuf_alloc(struct nbuf *b, uint64_t len, int node)
{
	struct numabuf_alloc a = { .size = sizeof(a), .length = len, .node = node };

	if (ioctl(nb_fd, NUMABUF_IOC_ALLOC, &a))
		die("ALLOC %llu on node %d: %s", (unsigned long long)len, node,
		    strerror(errno));
	b->handle = a.handle;
	b->len = a.length;
	b->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, nb_fd, (off_t)a.offset);
	if (b->p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
}

static void nbuf_free(struct nbuf *b)
{
	struct numabuf_free f = { .size = sizeof(f), .handle = b->handle };

	munmap(b->p, b->len);
	if (ioctl(nb_fd, NUMABUF_IOC_FREE, &f))
		die("FREE: %s", strerror(errno));
}

/*
 * malloc() memory bound to @node and made resident with mlock().  With
 * @small, MADV_NOHUGEPAGE: 4 KiB pages whatever transparent huge pages
 * are set to, so that type1 pins and maps it page by page.
 */
static void *malloc_locked(uint64_t len, int node, int small, double *mlock_s)
{
	unsigned long mask[(NB_MAX_NODE_BITS + 63) / 64] = { 0 };
	void *p;
	double t;

	if (posix_memalign(&p, 4096, len))
		die("posix_memalign %llu: out of memory", (unsigned long long)len);
	mask[node / 64] = 1UL << (node % 64);
	if (syscall(SYS_mbind, p, len, MPOL_BIND_, mask, NB_MAX_NODE_BITS + 1, 0))
		die("mbind: %s", strerror(errno));
	/* EINVAL: no THP in this kernel (PREEMPT_RT), 4 KiB pages anyway. */
	if (small && madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL)
		die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	t = mono_now();
	if (mlock(p, len))
		die("mlock %llu: %s", (unsigned long long)len, strerror(errno));
	*mlock_s = mono_now() - t;
	return p;
}

/* ---- the measurements ---- */

struct row {
	uint64_t size;
	double attach, detach;		/* < 0: not measured */
	double map_nb, unmap_nb, map_ml, unmap_ml, mlock, map_4k, mlock_4k;
	int n_attach, n_nb, n_ml;	/* iterations done */
};

static int attach_errno;
static uint64_t attach_fail_size;

/* ATTACH + DETACH of one buffer, @n times; medians in @r. */
static void bench_attach(struct row *r, int node, int max, double budget)
{
	double ta[64], td[64], start = mono_now();
	struct nbuf b;
	int i;

	nbuf_alloc(&b, r->size, node);
	for (i = 0; i < max && (i < 3 || mono_now() - start < budget); i++) {
		struct numabuf_attach a = { .size = sizeof(a), .handle = b.handle };
		double t;

		snprintf(a.device, sizeof(a.device), "%s", bdf);
		t = mono_now();
		if (ioctl(nb_fd, NUMABUF_IOC_ATTACH, &a)) {
			if (!attach_errno) {
				attach_errno = errno;
				attach_fail_size = r->size;
			}
			nbuf_free(&b);
			r->attach = r->detach = -1;
			return;
		}
		ta[i] = mono_now() - t;
		t = mono_now();
		if (ioctl(nb_fd, NUMABUF_IOC_DETACH, &a))
			die("DETACH: %s", strerror(errno));
		td[i] = mono_now() - t;
	}
	nbuf_free(&b);
	r->n_attach = i;
	r->attach = median_of(ta, i);
	r->detach = median_of(td, i);
}

/*
 * The numabuf buffer at least 3 times; malloc memory (whose mlock() is
 * what takes long) at least once; each until @max or @budget seconds.
 */
static void bench_vfio(struct vfio *v, struct row *r, int node, int max, double budget)
{
	double mn[64], un[64], mm[64], um[64], ml[64], m4[64], l4[64], start = mono_now();
	struct nbuf b;
	int i;

	nbuf_alloc(&b, r->size, node);
	for (i = 0; i < max && (i < 3 || mono_now() - start < budget); i++) {
		mn[i] = vfio_map(v, b.p, r->size);
		un[i] = vfio_unmap(v, r->size);
	}
	nbuf_free(&b);
	r->n_nb = i;
	r->map_nb = median_of(mn, i);
	r->unmap_nb = median_of(un, i);
	start = mono_now();
	for (i = 0; i < max && (i < 1 || mono_now() - start < budget); i++) {
		void *p = malloc_locked(r->size, node, 0, &ml[i]);

		mm[i] = vfio_map(v, p, r->size);
		um[i] = vfio_unmap(v, r->size);
		munlock(p, r->size);
		free(p);
		p = malloc_locked(r->size, node, 1, &l4[i]);
		m4[i] = vfio_map(v, p, r->size);
		vfio_unmap(v, r->size);
		munlock(p, r->size);
		free(p);
	}
	r->n_ml = i;
	r->map_ml = median_of(mm, i);
	r->unmap_ml = median_of(um, i);
	r->mlock = median_of(ml, i);
	r->map_4k = median_of(m4, i);
	r->mlock_4k = median_of(l4, i);
}

/* A time in the unit that suits it. */
static const char *fmt_t(double s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 1e-3)
		snprintf(buf, len, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: numabuf-dmabench [-d BDF] [-n NODE] [-s SIZE,...] [-i N] [-t SECONDS]\n"
		"  -d BDF      PCI device with no driver (default %s)\n"
		"  -n NODE     node of the memory (default: the device's, else 0)\n"
		"  -s SIZES    comma-separated sizes (default 4K,64K,1M,2M,16M,64M,256M,1G)\n"
		"  -i N        iterations per size and method, at most (default 9, max 64)\n"
		"  -t SECONDS  no new iteration of a size and method after this long (default 10);\n"
		"              at least 3 of ATTACH and of numabuf's MAP_DMA, 1 of malloc's\n",
		bdf);
}

int main(int argc, char **argv)
{
	const char *sizes = "4K,64K,1M,2M,16M,64M,256M,1G";
	struct row rows[MAX_SIZES];
	int nrows = 0, node = -2, iters = 9, opt, i;
	double budget = 10;
	char group[32], drv[64], buf[2][24], path[PATH_MAX];
	struct vfio v;
	char *list, *tok, *save;

	while ((opt = getopt(argc, argv, "d:n:s:i:t:h")) != -1) {
		switch (opt) {
		case 'd': bdf = optarg; break;
		case 'n': node = atoi(optarg); break;
		case 's': sizes = optarg; break;
		case 'i': iters = atoi(optarg); break;
		case 't': budget = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (iters < 1 || iters > 64)
		die("-i: 1 to 64");
	list = strdup(sizes);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t s;

		if (nrows == MAX_SIZES || parse_size(tok, &s) || !s || s % 4096)
			die("bad size '%s' (whole 4 KiB pages, at most %d sizes)", tok, MAX_SIZES);
		memset(&rows[nrows], 0, sizeof(rows[0]));
		rows[nrows++].size = s;
	}
	free(list);
	if (node == -2) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", bdf);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%d", &node) != 1)
			die("no PCI device %s", bdf);
		fclose(f);
		if (node < 0)
			node = 0;
	}
	if (node < 0 || node >= NB_MAX_NODE_BITS)
		die("bad node %d", node);
	dev_link("driver", drv, sizeof(drv));
	if (drv[0])
		die("%s is bound to %s; it must have no driver", bdf, drv);
	nb_fd = open("/dev/numabuf", O_RDWR | O_CLOEXEC);
	if (nb_fd < 0)
		die("open /dev/numabuf: %s", strerror(errno));

	for (i = 0; i < nrows; i++)
		bench_attach(&rows[i], node, iters, budget);

	vfio_bind(group, sizeof(group));
	vfio_open(&v, group);
	for (i = 0; i < nrows; i++)
		bench_vfio(&v, &rows[i], node, iters, budget);
	vfio_close(&v);
	vfio_unbind();

	printf("# %s, node %d, medians; kernel ", bdf, node);
	fflush(stdout);
	if (system("uname -r"))
		printf("\n");
	if (attach_errno == ENOTTY)
		printf("# ATTACH not measured: this module has no NUMABUF_IOC_ATTACH (ENOTTY)\n");
	else if (attach_errno)
		printf("# ATTACH failed first at %llu bytes: %s; such sizes show '-'\n",
		       (unsigned long long)attach_fail_size, strerror(attach_errno));
	printf("# vfio-*: VFIO_IOMMU_MAP_DMA of numabuf, of malloc + mlock (THP as the\n"
	       "# system has it), of malloc + MADV_NOHUGEPAGE + mlock (4 KiB pages);\n"
	       "# mlock: what making malloc memory resident took before its map\n");
	printf("%-6s %8s %9s %9s %11s %11s %11s %10s %10s %8s %8s %9s\n", "size", "n a/nb/ml",
	       "attach", "detach", "vfio-nb", "vfio-thp", "vfio-4k", "mlock-thp",
	       "mlock-4k", "4k/nb", "+lk/nb", "nb/att");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		char sz[SIZE_STRLEN], ratio[24], b[7][24], nit[40];

		format_size(r->size, sz, sizeof(sz));
		if (r->attach > 0)
			snprintf(ratio, sizeof(ratio), "%.1fx", r->map_nb / r->attach);
		else
			snprintf(ratio, sizeof(ratio), "-");
		snprintf(nit, sizeof(nit), "%d/%d/%d", r->n_attach, r->n_nb, r->n_ml);
		printf("%-6s %8s %9s %9s %11s %11s %11s %10s %10s %7.2fx %7.1fx %9s\n", sz,
		       nit, fmt_t(r->attach, b[0], 24), fmt_t(r->detach, b[1], 24),
		       fmt_t(r->map_nb, b[2], 24), fmt_t(r->map_ml, b[3], 24),
		       fmt_t(r->map_4k, b[4], 24), fmt_t(r->mlock, b[5], 24),
		       fmt_t(r->mlock_4k, b[6], 24), r->map_4k / r->map_nb,
		       (r->map_4k + r->mlock_4k) / r->map_nb, ratio);
	}
	printf("# unmap (median, numabuf / malloc THP):");
	for (i = 0; i < nrows; i++) {
		char sz[SIZE_STRLEN];

		format_size(rows[i].size, sz, sizeof(sz));
		printf(" %s %s/%s", sz, fmt_t(rows[i].unmap_nb, buf[0], 24),
		       fmt_t(rows[i].unmap_ml, buf[1], 24));
	}
	printf("\n");
	close(nb_fd);
	return 0;
}
