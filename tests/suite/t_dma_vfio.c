// SPDX-License-Identifier: GPL-2.0
/*
 * The path user-space driver stacks (DPDK, SPDK) take to a device: the edu
 * device at 0000:81:00.0 (node 1, behind its own pcie-root-port, so in an
 * IOMMU group of its own) bound to vfio-pci, a type1v2 container, numabuf
 * memory mapped into it with VFIO_IOMMU_MAP_DMA (which pins the pages with
 * pin_user_pages(FOLL_LONGTERM)), and edu's DMA engine driven through the
 * BAR0 region of the VFIO device fd.  Runs on guest-run's --dma machine
 * only (NB_DMA=translate or passthrough); a VFIO container always has its
 * own translating domain, so both modes translate here.
 *
 * Facts are checked without the module: the bytes edu moved (RAM ->
 * device -> another buffer, every byte of three pages), the physical
 * addresses (/proc/self/pagemap) against the IOVAs, VmLck and VmPin from
 * /proc/self/status, the kernel's own DMAR fault report for a DMA after
 * UNMAP_DMA, the device's driver link in sysfs.  The harness adds the
 * module's counters and free memory after every test.
 *
 * Each test binds edu to vfio-pci (driver_override + drivers_probe), does
 * its VFIO work in a child process and, once that child is gone (its
 * container closed, every VFIO pin dropped), unbinds edu and clears
 * driver_override, leaving it driverless as the other t_dma_* tests
 * expect: even when the child failed.
 *
 * edu: registers at BAR0 0x80 source, 0x88 destination, 0x90 count, 0x98
 * command (bit 0 start/busy, bit 1 direction, set = device to RAM); its
 * 4 KiB buffer at device address 0x40000.  QEMU 7.2 aborts on a
 * 4096-byte transfer, so transfers are 2048 bytes at most.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbutil.h"

#define EDU_BDF_DEFAULT	"0000:81:00.0"
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_ID		0x00
#define EDU_LIVENESS	0x04
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000ULL
#define EDU_CHUNK	2048

/* IOVAs of the test buffers: far from any RAM address of the guest. */
#define IOVA_SRC	0x40000000ULL
#define IOVA_DST	0x50000000ULL

/* A group id for "numabuf" that the host's /etc/group does not use. */
#define NB_GID		4242
/* Debian's default RLIMIT_MEMLOCK, what an unprivileged user has. */
#define NB_MEMLOCK	(8 * NB_MIB)

static const char *edu_bdf(void)
{
	const char *e = getenv("NB_EDU_BDF");

	return e && *e ? e : EDU_BDF_DEFAULT;
}

static void dev_path(char *buf, size_t len, const char *attr)
{
	snprintf(buf, len, "/sys/bus/pci/devices/%s/%s", edu_bdf(), attr);
}

/* ---- binding edu to vfio-pci and back ---- */

struct vfio_bind {
	char group[32];		/* IOMMU group number */
	char unsafe_old[8];	/* allow_unsafe_interrupts before, "" untouched */
};

#define TYPE1_UNSAFE "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"

/*
 * The kernel's modules (Debian: vfio-pci and vfio_iommu_type1 are modules;
 * the debug kernel has them built in).  The kernel cannot load them
 * itself in this guest (its modprobe is the initramfs's), so load them
 * here; skip when there is no VFIO at all.
 */
static void vfio_modules(void)
{
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) ||
	    access("/sys/module/vfio_iommu_type1", F_OK)) {
		if (system("modprobe -q vfio_iommu_type1 && modprobe -q vfio-pci"))
			nb_note("modprobe vfio_iommu_type1 vfio-pci failed");
	}
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		nb_skip("no vfio-pci driver in this kernel");
	if (access("/sys/module/vfio_iommu_type1", F_OK))
		nb_skip("no vfio_iommu_type1 in this kernel");
	if (access("/dev/vfio/vfio", F_OK))
		nb_skip("no /dev/vfio/vfio (the container interface)");
}

/*
 * Undo vfio_bind(): unbind vfio-pci, clear driver_override, put the
 * parameter back.  Returns 0 or the first error (the device may already
 * be driverless); usable after a failed child.
 */
static int vfio_unbind(struct vfio_bind *b)
{
	char path[PATH_MAX], drv[64];
	int ret = 0, r;

	nb_pci_link(edu_bdf(), "driver", drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci")) {
		r = nb_sysfs_write("/sys/bus/pci/drivers/vfio-pci/unbind", edu_bdf());
		if (r)
			ret = ret ? ret : r;
	}
	dev_path(path, sizeof(path), "driver_override");
	/* A lone newline clears it. */
	r = nb_sysfs_write(path, "\n");
	if (r)
		ret = ret ? ret : r;
	if (b->unsafe_old[0]) {
		r = nb_sysfs_write(TYPE1_UNSAFE, b->unsafe_old);
		if (r)
			ret = ret ? ret : r;
		b->unsafe_old[0] = 0;
	}
	return ret;
}

/*
 * Whether the kernel remaps interrupts: without it type1 refuses a group
 * (EPERM) unless allow_unsafe_interrupts is set.  QEMU's intel-iommu has
 * intremap=on here; look at what the kernel says it did.
 */
static int irq_remapping_on(void)
{
	FILE *p = popen("dmesg 2>/dev/null | grep -c 'Enabled IRQ remapping in'", "r");
	int n = 0;

	if (!p)
		return 0;
	if (fscanf(p, "%d", &n) != 1)
		n = 0;
	pclose(p);
	return n > 0;
}

static void vfio_bind(struct vfio_bind *b)
{
	char path[PATH_MAX], buf[64];
	int ret;

	memset(b, 0, sizeof(*b));
	dev_path(path, sizeof(path), "vendor");
	nb_sysfs_read(path, buf, sizeof(buf));
	if (!buf[0])
		nb_skip("no PCI device %s (not guest-run's --dma machine)", edu_bdf());
	NB_CHECK(strtoul(buf, NULL, 0) == EDU_VENDOR, "%s: vendor %s, not edu's", edu_bdf(), buf);
	dev_path(path, sizeof(path), "device");
	nb_sysfs_read(path, buf, sizeof(buf));
	NB_CHECK(strtoul(buf, NULL, 0) == EDU_DEVICE, "%s: device %s, not edu's", edu_bdf(), buf);
	vfio_modules();

	nb_pci_link(edu_bdf(), "driver", buf, sizeof(buf));
	NB_CHECK(!buf[0], "%s is bound to %s; the t_dma_* tests expect it driverless",
		 edu_bdf(), buf);
	nb_pci_link(edu_bdf(), "iommu_group", b->group, sizeof(b->group));
	NB_CHECK(b->group[0], "%s is in no IOMMU group", edu_bdf());

	if (!irq_remapping_on()) {
		nb_sysfs_read(TYPE1_UNSAFE, buf, sizeof(buf));
		if (buf[0] == 'N') {
			NB_SYS(nb_sysfs_write(TYPE1_UNSAFE, "1"));
			snprintf(b->unsafe_old, sizeof(b->unsafe_old), "N");
			nb_note("no interrupt remapping: vfio_iommu_type1.allow_unsafe_interrupts set for the test");
		}
	}

	dev_path(path, sizeof(path), "driver_override");
	ret = nb_sysfs_write(path, "vfio-pci");
	NB_CHECK(!ret, "write %s: %s", path, strerror(-ret));
	ret = nb_sysfs_write("/sys/bus/pci/drivers_probe", edu_bdf());
	nb_pci_link(edu_bdf(), "driver", buf, sizeof(buf));
	if (strcmp(buf, "vfio-pci")) {
		vfio_unbind(b);
		NB_FAIL("%s not bound to vfio-pci after drivers_probe (%s; driver '%s')",
			edu_bdf(), ret ? strerror(-ret) : "no error", buf);
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", b->group);
	if (access(path, F_OK)) {
		vfio_unbind(b);
		NB_FAIL("no %s after binding %s to vfio-pci", path, edu_bdf());
	}
}

/* ---- a VFIO device ---- */

struct vfio_dev {
	int container, group, device;
	uint64_t cfg_off, bar_off, bar_size;
};

static void vfio_open(struct vfio_dev *v, const char *group)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[64];
	uint16_t cmd;
	int ret;

	v->container = NB_SYS(open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC));
	NB_CHECK(ioctl(v->container, VFIO_GET_API_VERSION) == VFIO_API_VERSION,
		 "VFIO_GET_API_VERSION is not %d", VFIO_API_VERSION);
	NB_CHECK(ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
		 "the container has no VFIO_TYPE1v2_IOMMU");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	NB_CHECK(v->group >= 0, "open %s: %s", path, strerror(errno));
	NB_SYS(ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs));
	NB_CHECK(gs.flags & VFIO_GROUP_FLAGS_VIABLE,
		 "group %s is not viable (a device of it is bound to a host driver)", group);
	NB_SYS(ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container));
	ret = ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	NB_CHECK(!ret, "VFIO_SET_IOMMU type1v2: %s%s", nb_errname(errno),
		 errno == EPERM ? " (no interrupt remapping and allow_unsafe_interrupts unset?)" : "");
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, edu_bdf());
	NB_CHECK(v->device >= 0, "VFIO_GROUP_GET_DEVICE_FD %s: %s", edu_bdf(),
		 strerror(errno));

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	NB_SYS(ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri));
	v->cfg_off = ri.offset;
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	NB_SYS(ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri));
	NB_CHECK((ri.flags & VFIO_REGION_INFO_FLAG_READ) &&
		 (ri.flags & VFIO_REGION_INFO_FLAG_WRITE) && ri.size >= 0x100,
		 "BAR0 region: flags %#x size %llu", ri.flags,
		 (unsigned long long)ri.size);
	v->bar_off = ri.offset;
	v->bar_size = ri.size;

	/* Memory decoding and bus mastering, through the config region. */
	NB_CHECK(pread(v->device, &cmd, 2, (off_t)(v->cfg_off + PCI_COMMAND)) == 2,
		 "read PCI_COMMAND: %s", strerror(errno));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	NB_CHECK(pwrite(v->device, &cmd, 2, (off_t)(v->cfg_off + PCI_COMMAND)) == 2,
		 "write PCI_COMMAND: %s", strerror(errno));
	cmd = 0;
	NB_CHECK(pread(v->device, &cmd, 2, (off_t)(v->cfg_off + PCI_COMMAND)) == 2 &&
		 (cmd & PCI_COMMAND_MASTER), "bus mastering did not stick (command %#x)",
		 cmd);
}

static uint64_t edu_rd(struct vfio_dev *v, unsigned int reg, int size)
{
	uint64_t val = 0;

	NB_CHECK(pread(v->device, &val, size, (off_t)(v->bar_off + reg)) == size,
		 "BAR0 read %#x: %s", reg, strerror(errno));
	return val;
}

static void edu_wr(struct vfio_dev *v, unsigned int reg, uint64_t val, int size)
{
	NB_CHECK(pwrite(v->device, &val, size, (off_t)(v->bar_off + reg)) == size,
		 "BAR0 write %#x: %s", reg, strerror(errno));
}

/* edu answers through the region: its id and its liveness register. */
static void edu_check(struct vfio_dev *v)
{
	uint32_t id = (uint32_t)edu_rd(v, EDU_ID, 4);

	NB_CHECK((id & 0xff) == 0xed, "BAR0 id register %#x is not edu's", id);
	edu_wr(v, EDU_LIVENESS, 0x12345678, 4);
	NB_CHECK((uint32_t)edu_rd(v, EDU_LIVENESS, 4) == (uint32_t)~0x12345678U,
		 "edu's liveness register does not invert");
}

/* One DMA of @count bytes (<= EDU_CHUNK); waits for the busy bit. */
static void edu_dma(struct vfio_dev *v, uint64_t src, uint64_t dst,
		    uint64_t count, int to_ram)
{
	double end = nb_now() + 10.0 * nb_slow();

	NB_CHECK(count && count <= EDU_CHUNK, "edu transfer of %llu bytes",
		 (unsigned long long)count);
	NB_CHECK(!(edu_rd(v, EDU_DMA_CMD, 8) & EDU_CMD_START), "edu is busy");
	edu_wr(v, EDU_DMA_SRC, src, 8);
	edu_wr(v, EDU_DMA_DST, dst, 8);
	edu_wr(v, EDU_DMA_COUNT, count, 8);
	edu_wr(v, EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0), 8);
	while (edu_rd(v, EDU_DMA_CMD, 8) & EDU_CMD_START) {
		NB_CHECK(nb_now() < end, "edu DMA %#llx -> %#llx did not finish in %u s",
			 (unsigned long long)src, (unsigned long long)dst,
			 10 * nb_slow());
		usleep(2000);
	}
}

static int dma_map(struct vfio_dev *v, void *p, uint64_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p,
		.iova = iova,
		.size = len,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

static void dma_unmap(struct vfio_dev *v, uint64_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = len,
	};

	NB_SYS(ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u));
	NB_CHECK(u.size == len, "UNMAP_DMA unmapped %llu bytes of %llu",
		 (unsigned long long)u.size, (unsigned long long)len);
}

/*
 * The page at @off of @src through edu into the same offset of @dst, in
 * EDU_CHUNK pieces.
 */
static void edu_copy_page(struct vfio_dev *v, uint64_t src_iova,
			  uint64_t dst_iova, uint64_t off)
{
	uint64_t c;

	for (c = 0; c < NB_PAGE; c += EDU_CHUNK) {
		edu_dma(v, src_iova + off + c, EDU_BUF, EDU_CHUNK, 0);
		edu_dma(v, EDU_BUF, dst_iova + off + c, EDU_CHUNK, 1);
	}
}

/*
 * vfio-pci resets edu when its device fd is opened and closed.  edu has no
 * FLR or power-management reset, so that is a secondary bus reset of its
 * root port, through pciehp.  Kernels from 6.11 (Debian's 6.12) warn once
 * per boot that the bridge was reset without its config access blocked
 * ("pcieport BRIDGE: unlocked secondary bus reset via:
 * pciehp_reset_slot+OFF/LEN"): a check of the PCI core's own locking
 * that the reset paths vfio-pci uses do not satisfy, nothing numabuf or
 * the test does.  That line, for edu's own root port and nothing else,
 * is expected; its symbol offset is the kernel's, so it is taken from the
 * log once it is there.
 */
static void expect_reset_warning(void)
{
	char path[PATH_MAX], target[PATH_MAX], prefix[128], line[1024];
	char *bridge, *slash;
	ssize_t n;
	FILE *p;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", edu_bdf());
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = 0;
	slash = strrchr(target, '/');
	if (!slash)
		return;
	*slash = 0;
	bridge = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	snprintf(prefix, sizeof(prefix), "pcieport %.32s: unlocked secondary bus reset via: ",
		 bridge);
	p = popen("dmesg 2>/dev/null", "r");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		char *text = line;

		line[strcspn(line, "\n")] = 0;
		if (text[0] == '[' && strchr(text, ']'))
			text = strchr(text, ']') + 1;
		while (*text == ' ')
			text++;
		if (!strncmp(text, prefix, strlen(prefix)) &&
		    strlen(text) < NB_KMSG_EXPECT_LEN)
			nb_kmsg_expect(text);
	}
	pclose(p);
}

/* ---- running the VFIO part in a child ---- */

struct vfio_ctx {
	struct vfio_bind bind;
	int unpriv;		/* the child runs as nobody */
};

static void restore_owner(const char *path, struct stat *st)
{
	if (chown(path, st->st_uid, st->st_gid) || chmod(path, st->st_mode & 07777)) {
		/* reported by the device checks of later tests */
	}
}

/*
 * Bind edu, run @body in a child (as nobody in group NB_GID with
 * RLIMIT_MEMLOCK NB_MEMLOCK when @unpriv, the group node and /dev/numabuf
 * opened to it as an administrator would), then unbind and check edu is
 * driverless again, whatever the child did.  The child's verdict is the
 * test's.
 */
static void vfio_run(void (*body)(struct vfio_dev *v), int unpriv)
{
	struct vfio_ctx c = { .unpriv = unpriv };
	struct stat gst = { 0 }, nst = { 0 };
	char gpath[64], drv[64], ovr[64], path[PATH_MAX];
	int status, ret;
	pid_t pid;

	vfio_bind(&c.bind);
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%s", c.bind.group);
	if (unpriv) {
		NB_SYS(stat(gpath, &gst));
		NB_SYS(stat(NB_DEV, &nst));
		if (chown(gpath, NB_NOBODY, NB_NOBODY) || chown(NB_DEV, 0, NB_GID) ||
		    chmod(NB_DEV, 0660)) {
			ret = errno;
			restore_owner(gpath, &gst);
			restore_owner(NB_DEV, &nst);
			vfio_unbind(&c.bind);
			NB_FAIL("opening %s and %s to nobody: %s", gpath, NB_DEV,
				strerror(ret));
		}
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct vfio_dev v;

		if (unpriv) {
			struct rlimit rl = { NB_MEMLOCK, NB_MEMLOCK };
			gid_t g = NB_GID;

			NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
			NB_SYS(setgroups(1, &g));
			NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
			NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
			NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
		}
		vfio_open(&v, c.bind.group);
		edu_check(&v);
		body(&v);
		close(v.device);
		close(v.group);
		close(v.container);
		fflush(NULL);
		_exit(0);
	}
	ret = pid < 0 ? errno : 0;
	if (pid > 0 && waitpid(pid, &status, 0) != pid)
		ret = errno;
	if (unpriv) {
		restore_owner(gpath, &gst);
		restore_owner(NB_DEV, &nst);
	}
	/* The child and its VFIO files are gone: give edu back. */
	expect_reset_warning();
	{
		int u = vfio_unbind(&c.bind);

		nb_pci_link(edu_bdf(), "driver", drv, sizeof(drv));
		dev_path(path, sizeof(path), "driver_override");
		nb_sysfs_read(path, ovr, sizeof(ovr));
		NB_CHECK(!drv[0] && (!ovr[0] || !strcmp(ovr, "(null)")),
			 "%s not restored: driver '%s', driver_override '%s' (unbind: %s)",
			 edu_bdf(), drv, ovr, u ? strerror(-u) : "ok");
	}
	NB_CHECK(pid > 0 && !ret, "fork/waitpid: %s", strerror(ret));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));	/* FAIL or SKIP, reason set by the child */
	NB_FAIL("the VFIO child was killed by signal %d (%s)", WTERMSIG(status),
		strsignal(WTERMSIG(status)));
}

/* ---- the tests ---- */

static int edu_node(void)
{
	char path[PATH_MAX], buf[16];

	dev_path(path, sizeof(path), "numa_node");
	nb_sysfs_read(path, buf, sizeof(buf));
	return buf[0] ? atoi(buf) : -1;
}

/* A buffer of @len on edu's node (node 1 on the DMA machine), mapped. */
static char *vfio_buf(int fd, uint64_t len, uint32_t flags, struct numabuf_alloc *a)
{
	int node = edu_node();

	NB_CHECK(node >= 0 && nb_node_online(node), "edu's numa_node is %d", node);
	*a = nb_alloc_ok(fd, len, node, flags);
	return nb_map(fd, a->offset, len);
}

/* Offsets of the first, a middle and the last page of @len bytes. */
static void three_pages(uint64_t len, uint64_t off[3])
{
	off[0] = 0;
	off[1] = (len / NB_PAGE / 2) * NB_PAGE;
	off[2] = len - NB_PAGE;
}

/* Is @off one of the three pages? */
static int in_three(uint64_t off, const uint64_t pages[3])
{
	return off == pages[0] || off == pages[1] || off == pages[2];
}

static void body_roundtrip(struct vfio_dev *v)
{
	const uint64_t len = 4 * NB_MIB;
	int fd = nb_open(), node = edu_node();
	struct numabuf_alloc sa, da;
	char *src = vfio_buf(fd, len, 0, &sa);
	char *dst = vfio_buf(fd, len, 0, &da);
	uint64_t pages[3], off, pfn;
	size_t bad;
	int i;

	NB_EXPECT_NODE(src, len, node);
	NB_EXPECT_NODE(dst, len, node);
	nb_fill(src, len, 0x7f10);
	memset(dst, 0x5a, len);
	NB_CHECK(!dma_map(v, src, len, IOVA_SRC), "MAP_DMA of the source: %s",
		 nb_errname(errno));
	NB_CHECK(!dma_map(v, dst, len, IOVA_DST), "MAP_DMA of the destination: %s",
		 nb_errname(errno));
	/* The device is given IOVAs, not the memory's addresses. */
	nb_pfns(src, 1, &pfn);
	NB_CHECK(pfn, "no PFN from pagemap (not root?)");
	NB_CHECK(pfn * NB_PAGE != IOVA_SRC, "the IOVA is the physical address");
	nb_note("node %d source phys %#llx at IOVA %#llx", node,
		(unsigned long long)(pfn * NB_PAGE), IOVA_SRC);

	three_pages(len, pages);
	for (i = 0; i < 3; i++)
		edu_copy_page(v, IOVA_SRC, IOVA_DST, pages[i]);
	for (off = 0; off < len; off += NB_PAGE) {
		if (in_three(off, pages)) {
			for (bad = 0; bad < NB_PAGE; bad++)
				if (dst[off + bad] != src[off + bad])
					break;
			NB_CHECK(bad == NB_PAGE,
				 "byte %#llx of the destination is %#x, the source's is %#x",
				 (unsigned long long)(off + bad),
				 (uint8_t)dst[off + bad], (uint8_t)src[off + bad]);
		} else {
			for (bad = 0; bad < NB_PAGE; bad++)
				if ((uint8_t)dst[off + bad] != 0x5a)
					break;
			NB_CHECK(bad == NB_PAGE,
				 "byte %#llx of the destination, outside the pages copied, changed",
				 (unsigned long long)(off + bad));
		}
	}
	NB_CHECK(nb_verify(src, len, 0x7f10) == (size_t)-1, "the source changed");

	/*
	 * After UNMAP_DMA the device cannot write the buffer any more: a DMA
	 * to the old IOVA is a DMAR fault (which the kernel reports: those
	 * lines are expected) and leaves the memory as it was.
	 */
	dma_unmap(v, len, IOVA_DST);
	memset(dst + pages[1], 0x5a, NB_PAGE);
	nb_kmsg_expect("DMAR: DRHD: handling fault status reg 2");
	{
		char msg[NB_KMSG_EXPECT_LEN];

		snprintf(msg, sizeof(msg),
			 "DMAR: [DMA Write NO_PASID] Request device [%.2s:%.2s.%c] fault addr 0x%llx [fault reason 0x05] PTE Write access is not set",
			 edu_bdf() + 5, edu_bdf() + 8, edu_bdf()[11],
			 IOVA_DST + pages[1]);
		nb_kmsg_expect(msg);
	}
	edu_dma(v, EDU_BUF, IOVA_DST + pages[1], EDU_CHUNK, 1);
	usleep(200000);
	for (bad = 0; bad < NB_PAGE; bad++)
		if ((uint8_t)dst[pages[1] + bad] != 0x5a)
			break;
	NB_CHECK(bad == NB_PAGE,
		 "a DMA to the destination's IOVA after UNMAP_DMA reached the memory (byte %#zx)",
		 bad);
	dma_unmap(v, len, IOVA_SRC);
	NB_SYS(munmap(src, len));
	NB_SYS(munmap(dst, len));
	NB_CHECK(!nb_free(fd, sa.handle) && !nb_free(fd, da.handle), "FREE failed");
	close(fd);
}

NB_TEST(vfio_dma_roundtrip,
	"edu bound to vfio-pci moves data RAM -> device -> RAM between two 4 MiB numabuf buffers on its node, mapped with VFIO_IOMMU_MAP_DMA at IOVAs that are not their physical addresses: every byte of the first, middle and last page arrives, no other byte changes; after UNMAP_DMA a DMA to the old IOVA faults and does not reach the memory")
{
	vfio_run(body_roundtrip, 0);
}

static void body_hugemap(struct vfio_dev *v)
{
	const uint64_t len = 4 * NB_MIB;
	int fd = nb_open(), ret;
	struct numabuf_alloc a;
	char *p;

	ret = nb_alloc(fd, len, edu_node(), NUMABUF_F_HUGE_MAP, &a);
	if (ret == -EOPNOTSUPP)
		nb_skip("this kernel refuses NUMABUF_F_HUGE_MAP (EOPNOTSUPP; before 6.12), so there is no such buffer to map");
	NB_CHECK(!ret, "ALLOC with NUMABUF_F_HUGE_MAP: %s", nb_errname(-ret));
	p = nb_map(fd, a.offset, len);
	nb_fill(p, len, 0x4e);
	/*
	 * The mapping is VM_PFNMAP: pin_user_pages() fails on it, and
	 * type1's fallback for PFN mappings accepts only MMIO and reserved
	 * pages, never RAM that has struct pages.
	 */
	ret = dma_map(v, p, len, IOVA_SRC);
	if (!ret)
		dma_unmap(v, len, IOVA_SRC);
	NB_CHECK(ret == -EFAULT, "MAP_DMA of a NUMABUF_F_HUGE_MAP buffer: %s, expected EFAULT",
		 ret ? nb_errname(-ret) : "success");
	NB_CHECK(nb_proc_status("VmLck", 10) == 0, "VmLck %llu kB after the refused MAP_DMA",
		 nb_proc_status("VmLck", 10));
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(vfio_hugemap_refused,
	"VFIO_IOMMU_MAP_DMA of a NUMABUF_F_HUGE_MAP buffer (a PFN mapping) fails with EFAULT and charges nothing (VmLck stays 0); such buffers are for ATTACH's DMA addresses")
{
	vfio_run(body_hugemap, 0);
}

/* VmLck and VmPin, in kB. */
static void vm_counts(unsigned long long *lck, unsigned long long *pin)
{
	*lck = nb_proc_status("VmLck", 10);
	*pin = nb_proc_status("VmPin", 10);
}

static void body_memlock(struct vfio_dev *v)
{
	const uint64_t len = 64 * NB_MIB;
	const unsigned long long kb = len / 1024;
	unsigned long long l0, p0, l1, p1, l2, p2, l3, p3;
	int fd = nb_open();
	struct numabuf_alloc a;
	char *p;

	vm_counts(&l0, &p0);
	p = vfio_buf(fd, len, 0, &a);
	vm_counts(&l1, &p1);
	NB_CHECK(!dma_map(v, p, len, IOVA_SRC), "MAP_DMA of 64 MiB: %s", nb_errname(errno));
	vm_counts(&l2, &p2);
	dma_unmap(v, len, IOVA_SRC);
	vm_counts(&l3, &p3);
	nb_note("64 MiB buffer: VmPin %llu -> %llu kB at ALLOC; VmLck %llu -> %llu kB at MAP_DMA (VmPin %llu), back to %llu kB at UNMAP_DMA",
		p0, p1, l1, l2, p2, l3);
	NB_CHECK(p1 - p0 == kb, "ALLOC raised VmPin by %llu kB, not %llu", p1 - p0, kb);
	NB_CHECK(l1 == l0, "ALLOC changed VmLck");
	NB_CHECK(l2 - l1 == kb,
		 "MAP_DMA raised VmLck by %llu kB, expected the mapped %llu kB (VFIO's own charge)",
		 l2 - l1, kb);
	NB_CHECK(p2 == p1, "MAP_DMA changed VmPin");
	NB_CHECK(l3 == l1, "VmLck %llu kB after UNMAP_DMA, was %llu", l3, l1);
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
	NB_CHECK(nb_proc_status("VmPin", 10) == p0, "VmPin not back after FREE");
}

NB_TEST(vfio_memlock_double_charge,
	"MAP_DMA of a 64 MiB numabuf buffer raises VmLck by 64 MiB (VFIO's RLIMIT_MEMLOCK charge) although VmPin already counts the buffer (numabuf's); UNMAP_DMA and FREE take both back")
{
	vfio_run(body_memlock, 0);
}

static void body_unpriv(struct vfio_dev *v)
{
	const uint64_t len = 4 * NB_MIB, lock = 5 * NB_MIB;
	int fd = open(NB_DEV, O_RDWR | O_CLOEXEC), ret;
	struct numabuf_alloc sa;
	char *src, *anon;
	uint64_t pages[3];
	int i;

	NB_CHECK(fd >= 0, "nobody in the group cannot open %s: %s", NB_DEV,
		 strerror(errno));
	/* numabuf charges the 4 MiB to the user's RLIMIT_MEMLOCK (8 MiB). */
	src = vfio_buf(fd, len, 0, &sa);
	nb_fill(src, len, 0x51);
	/* 5 MiB mlock()ed: the process's own locked memory (VmLck). */
	anon = mmap(NULL, lock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(anon != MAP_FAILED, "mmap: %s", strerror(errno));
	NB_SYS(mlock(anon, lock));
	/*
	 * VFIO charges the mapping to the process's locked memory against
	 * the same limit: 5 + 4 MiB > 8 MiB, although the buffer is pinned
	 * and charged already.  type1 says so in the kernel log.
	 */
	nb_kmsg_expect("vfio_pin_pages_remote: RLIMIT_MEMLOCK (8388608) exceeded");
	ret = dma_map(v, src, len, IOVA_SRC);
	if (!ret)
		dma_unmap(v, len, IOVA_SRC);
	NB_CHECK(ret == -ENOMEM,
		 "MAP_DMA of 4 MiB with 5 MiB mlock()ed under an 8 MiB RLIMIT_MEMLOCK: %s, expected ENOMEM",
		 ret ? nb_errname(-ret) : "success");
	NB_CHECK(nb_proc_status("VmLck", 10) == lock / 1024, "the refused MAP_DMA left VmLck at %llu kB",
		 nb_proc_status("VmLck", 10));
	NB_SYS(munlock(anon, lock));
	NB_SYS(munmap(anon, lock));
	/* Within the limit the unprivileged user maps and DMAs. */
	NB_CHECK(!dma_map(v, src, len, IOVA_SRC), "MAP_DMA as nobody: %s", nb_errname(errno));
	NB_CHECK(nb_proc_status("VmLck", 10) == len / 1024, "VmLck %llu kB after MAP_DMA",
		 nb_proc_status("VmLck", 10));
	three_pages(len, pages);
	for (i = 0; i < 3; i++) {
		uint64_t c;

		/* In place: to the device and back into the same page, inverted first. */
		for (c = 0; c < NB_PAGE; c += EDU_CHUNK) {
			char ref[EDU_CHUNK];

			memcpy(ref, src + pages[i] + c, EDU_CHUNK);
			edu_dma(v, IOVA_SRC + pages[i] + c, EDU_BUF, EDU_CHUNK, 0);
			memset(src + pages[i] + c, 0, EDU_CHUNK);
			edu_dma(v, EDU_BUF, IOVA_SRC + pages[i] + c, EDU_CHUNK, 1);
			NB_CHECK(!memcmp(ref, src + pages[i] + c, EDU_CHUNK),
				 "page %#llx chunk %#llx did not come back intact",
				 (unsigned long long)pages[i], (unsigned long long)c);
		}
	}
	NB_CHECK(nb_verify(src, len, 0x51) == (size_t)-1, "the buffer changed");
	dma_unmap(v, len, IOVA_SRC);
	NB_CHECK(nb_proc_status("VmLck", 10) == 0, "VmLck not back to 0");
	NB_SYS(munmap(src, len));
	NB_CHECK(!nb_free(fd, sa.handle), "FREE failed");
	close(fd);
}

NB_TEST(vfio_unprivileged_memlock,
	"nobody (group numabuf, RLIMIT_MEMLOCK 8 MiB, the VFIO group node given to it) with a 4 MiB buffer and 5 MiB mlock()ed: MAP_DMA fails with ENOMEM (VFIO charges the limit again); after munlock it maps, edu moves the data, and VmLck goes back to 0")
{
	vfio_run(body_unpriv, 1);
}
