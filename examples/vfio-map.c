// SPDX-License-Identifier: MIT
/*
 * vfio-map: give a numabuf buffer to a device driven from user space
 * through VFIO, as DPDK and SPDK do.
 *
 *   vfio-map [--size SIZE] [--iova ADDR] [--edu-test] [--seed N] BDF
 *
 * BDF (0000:81:00.0) must already be bound to vfio-pci, e.g.
 *   echo vfio-pci > /sys/bus/pci/devices/BDF/driver_override
 *   echo BDF > /sys/bus/pci/drivers_probe
 * vfio-map opens the device's IOMMU group and a type1v2 container,
 * allocates a buffer on the device's NUMA node (numabuf_alloc_near()),
 * maps it for the device at an I/O virtual address of our choosing
 * (VFIO_IOMMU_MAP_DMA) and prints that address: what the device is given.
 *
 * --edu-test drives QEMU's "edu" device: through its BAR0 registers
 * (VFIO_DEVICE_GET_REGION_INFO, mmap of the device fd), its DMA engine
 * copies the first 16 KiB of the buffer into edu's own memory and back
 * into the second half of the buffer, 2 KiB at a time, and the bytes are
 * checked.  The source bytes are (seed + 13 * i) mod 256.
 *
 * Build: cc vfio-map.c $(pkg-config --cflags --libs numabuf)
 * Needs read-write access to /dev/vfio/GROUP and enough RLIMIT_MEMLOCK:
 * VFIO charges the mapping against it even though numabuf already did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <numabuf.h>

/* edu (QEMU docs/specs/edu.txt): BAR0 registers and its DMA buffer. */
#define EDU_ID		0x00	/* 0xRRrr00ed */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98	/* bit 0 start/busy, bit 1 device -> RAM */
#define EDU_BUF		0x40000	/* device address of its 4 KiB buffer */
#define EDU_CHUNK	2048	/* QEMU 7.2 aborts on a full 4096 */
#define EDU_COPY	(16 << 10)

/*
 * On any error: say why and exit.  The kernel undoes the rest when the
 * process ends (DMA mappings with the container, the buffer with the
 * numabuf file); a long-running program would unwind instead.
 */
#define die(...) do { fprintf(stderr, "vfio-map: " __VA_ARGS__); \
		      fputc('\n', stderr); exit(1); } while (0)

static volatile uint64_t *bar0;

/* One edu DMA, then wait for the busy bit to clear (a second at most). */
static void edu_dma(uint64_t src, uint64_t dst, int to_ram)
{
	struct timespec ts = { 0, 100000 };
	int i;

	bar0[EDU_DMA_SRC / 8] = src;
	bar0[EDU_DMA_DST / 8] = dst;
	bar0[EDU_DMA_COUNT / 8] = EDU_CHUNK;
	bar0[EDU_DMA_CMD / 8] = 1 | (to_ram ? 2 : 0);
	for (i = 0; bar0[EDU_DMA_CMD / 8] & 1; i++) {
		if (i == 10000)
			die("edu DMA %#" PRIx64 " -> %#" PRIx64 " did not finish", src, dst);
		nanosleep(&ts, NULL);
	}
}

static int edu_test(int dev, uint8_t *buf, uint64_t iova, size_t size,
		    unsigned int seed)
{
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_region_info bar = { .argsz = sizeof(bar),
					.index = VFIO_PCI_BAR0_REGION_INDEX };
	uint64_t off, half = size / 2;
	uint16_t cmd;
	void *map;
	size_t i;

	if (size < 2 * EDU_COPY)
		die("--edu-test needs --size of at least %d", 2 * EDU_COPY);
	/* Where config space and BAR0 sit in the device fd, and if BAR0 maps. */
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg) ||
	    ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &bar))
		die("VFIO_DEVICE_GET_REGION_INFO: %s", strerror(errno));
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP))
		die("BAR0 cannot be mapped");
	map = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   (off_t)bar.offset);
	if (map == MAP_FAILED)
		die("mmap of BAR0: %s", strerror(errno));
	bar0 = map;
	/* The device may only master the bus once we say so. */
	if (pread(dev, &cmd, 2, (off_t)(cfg.offset + PCI_COMMAND)) != 2)
		die("reading PCI_COMMAND: %s", strerror(errno));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(dev, &cmd, 2, (off_t)(cfg.offset + PCI_COMMAND)) != 2)
		die("writing PCI_COMMAND: %s", strerror(errno));
	if ((((uint32_t *)map)[EDU_ID / 4] & 0xff) != 0xed)
		die("not an edu device (id %#x)", ((uint32_t *)map)[EDU_ID / 4]);

	for (i = 0; i < size; i++)
		buf[i] = i < EDU_COPY ? (uint8_t)(seed + 13 * i) : 0;
	/* Buffer -> edu -> second half of the buffer, by I/O virtual address. */
	for (off = 0; off < EDU_COPY; off += EDU_CHUNK) {
		edu_dma(iova + off, EDU_BUF, 0);
		edu_dma(EDU_BUF, iova + half + off, 1);
	}
	for (i = 0; i < EDU_COPY; i++)
		if (buf[half + i] != buf[i])
			die("edu test: byte %zu came back as %#x, not %#x",
			    i, buf[half + i], buf[i]);
	printf("edu: %d bytes RAM -> device -> RAM through IOVA %#" PRIx64
	       " intact (seed %u)\n", EDU_COPY, iova, seed);
	munmap(map, bar.size);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "iova", required_argument, NULL, 'i' },
		{ "edu-test", no_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map dmap = { .argsz = sizeof(dmap) };
	struct vfio_iommu_type1_dma_unmap dunmap = { .argsz = sizeof(dunmap) };
	char path[256], link[256], *group;
	int c, err, container, grp, dev = -1, edu = 0;
	uint64_t iova = 0x10000000, phys;
	unsigned int seed = 0x5a;
	size_t size = 2 << 20;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	const char *bdf;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "s:i:eS:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'i': iova = strtoull(optarg, NULL, 0); break;
		case 'e': edu = 1; break;
		case 'S': seed = (unsigned int)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: vfio-map [--size BYTES] [--iova ADDR] [--edu-test] [--seed N] BDF\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (optind != argc - 1)
		die("which device? give its PCI address, e.g. 0000:81:00.0");
	bdf = argv[optind];

	/* 1. The device's driver must be vfio-pci; its group is a number. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	if (n <= 0 || strcmp(strrchr(link, '/') + 1, "vfio-pci"))
		die("%s is not bound to vfio-pci (driver: %s); bind it first:\n"
		    "  echo vfio-pci > /sys/bus/pci/devices/%s/driver_override\n"
		    "  echo %s > /sys/bus/pci/drivers_probe", bdf,
		    n > 0 ? strrchr(link, '/') + 1 : "none", bdf, bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		die("%s has no IOMMU group (is the IOMMU on? intel_iommu=on)", bdf);
	link[n] = 0;
	group = strrchr(link, '/') + 1;

	/* 2. A container, the group in it, and the type1v2 IOMMU model. */
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0 || ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		die("/dev/vfio/vfio: no type1v2 container (%s)", strerror(errno));
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	grp = open(path, O_RDWR | O_CLOEXEC);
	if (grp < 0)
		die("open %s: %s", path, strerror(errno));
	if (ioctl(grp, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %s is not viable: bind all its devices to vfio-pci", group);
	if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("attaching group %s: %s%s", group, strerror(errno),
		    errno == EPERM ? " (no interrupt remapping? see vfio_iommu_type1's allow_unsafe_interrupts)" : "");

	/* 3. A buffer on the device's node (sysfs numa_node), strictly. */
	err = numabuf_open(&ctx);
	if (err)
		die("open %s: %s", NUMABUF_DEVICE_PATH, strerror(-err));
	err = numabuf_alloc_near(ctx, size, bdf, 0, &buf);
	if (err < 0)
		die("numabuf_alloc_near %s: %s", bdf, strerror(-err));
	printf("buffer: %zu bytes on node %d%s\n", numabuf_size(buf),
	       numabuf_node(buf), err == NUMABUF_NEAR_NO_NODE ?
	       " (the device has no node: ours)" : " (the device's node)");

	/* 4. Map it for the device: VFIO pins the pages again and programs
	 *    the IOMMU so that the device's IOVA reaches them.
	 */
	dmap.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	dmap.vaddr = (uintptr_t)numabuf_addr(buf);
	dmap.iova = iova;
	dmap.size = numabuf_size(buf);
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &dmap))
		die("VFIO_IOMMU_MAP_DMA: %s%s", strerror(errno), errno == ENOMEM ?
		    " (RLIMIT_MEMLOCK: VFIO counts the buffer again)" : "");
	numabuf_phys(buf, &phys);
	/* The device is given the IOVA, never the physical address. */
	if (phys)
		printf("mapped at IOVA %#" PRIx64 " (physical address %#" PRIx64 ")\n",
		       iova, phys);
	else
		printf("mapped at IOVA %#" PRIx64 " (physical address hidden)\n", iova);

	/* 5. Drive the device: needs its fd from the group. */
	if (edu) {
		dev = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, bdf);
		if (dev < 0)
			die("VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
		edu_test(dev, numabuf_addr(buf), iova, numabuf_size(buf), seed);
		close(dev);
	}

	/* 6. Unmap before the memory goes; then close everything. */
	dunmap.iova = iova;
	dunmap.size = numabuf_size(buf);
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &dunmap))
		die("VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
	numabuf_free(buf);
	numabuf_close(ctx);
	close(grp);
	close(container);
	printf("unmapped; done\n");
	return 0;
}
