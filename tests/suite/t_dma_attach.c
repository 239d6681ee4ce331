// SPDX-License-Identifier: GPL-2.0
/*
 * ATTACH, DETACH and SYNC on guest-run's DMA machine (NB_DMA=translate or
 * passthrough): QEMU's edu at 0000:81:00.0 (node 1, no driver, a 32-bit
 * kernel DMA mask) moves real data.  Its DMA engine is driven from user
 * space through sysfs (resource0, enable, config), so what the device
 * reaches is checked by the device itself and the bytes by the CPU, not
 * by asking the module.  Physical addresses come from /proc/self/pagemap.
 * Attachments and their ends are checked on the control plane (buf-get
 * and the events group, through libnumabuf).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <numabuf.h>

#include "harness.h"
#include "nbutil.h"

#define EDU		"0000:81:00.0"
#define EDU0		"0000:00:11.0"
#define EDU_SHORT	"81:00.0"
#define PCI_DEVS	"/sys/bus/pci/devices/"
#define EDU_SYS		PCI_DEVS EDU
#define EDU_NODE	1
#define EDU_BUF		0x40000ULL	/* edu's own buffer, device address */
#define EDU_XFER	2048		/* QEMU 7.2 aborts on 4096 */
#define NB_GID		4242
#define FOUR_G		(1ULL << 32)

static const char *dma_mode(void)
{
	const char *m = getenv("NB_DMA");

	return m ? m : "";
}

/*
 * Does an IOMMU translate edu's DMA?  Read from sysfs (its group's
 * default domain type, "DMA" or "DMA-FQ"), not taken from NB_DMA: a kernel
 * without the IOMMU driver (the debug kernel) runs edu untranslated on
 * the translate machine.
 */
static bool translate(void)
{
	static int known = -1;
	char path[512], link[256], type[32] = "";
	ssize_t n;
	FILE *f;

	if (known >= 0)
		return known;
	known = 0;
	n = readlink(EDU_SYS "/iommu_group", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type",
			 strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(type, sizeof(type), f))
				type[0] = 0;
			fclose(f);
		}
		known = !strncmp(type, "DMA", 3);
	}
	if (known != !strcmp(dma_mode(), "translate"))
		nb_note("NB_DMA=%s but edu's IOMMU domain is '%.*s': testing as %s",
			dma_mode(), (int)strcspn(type, "\n"), type,
			known ? "translated" : "untranslated");
	return known;
}

static void sysfs_write_ok(const char *path, const char *s)
{
	int ret = nb_sysfs_write(path, s);

	NB_CHECK(!ret, "write '%s' to %s: %s", s, path, strerror(-ret));
}

static bool edu_present(const char *bdf)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVS "%s", bdf);
	return access(path, F_OK) == 0;
}

/* ---- edu from user space ---- */

struct edu {
	volatile uint8_t *regs;
	size_t len;
};

static void edu_reg_write(struct edu *e, unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(e->regs + off) = v;
}

/* edu answers 8-byte reads only from 0x80 on. */
static uint64_t edu_reg_read(struct edu *e, unsigned int off)
{
	if (off < 0x80)
		return *(volatile uint32_t *)(e->regs + off);
	return *(volatile uint64_t *)(e->regs + off);
}

/* Memory decoding on, Bus Master on, BAR0 mapped. */
static void edu_open(struct edu *e)
{
	uint16_t cmd;
	struct stat st;
	int fd;

	NB_CHECK(edu_present(EDU), "no %s on this machine", EDU);
	sysfs_write_ok(EDU_SYS "/enable", "1");
	fd = NB_SYS(open(EDU_SYS "/config", O_RDWR | O_CLOEXEC));
	NB_CHECK(pread(fd, &cmd, 2, 4) == 2, "read the command register");
	cmd |= 0x4;
	NB_CHECK(pwrite(fd, &cmd, 2, 4) == 2, "set Bus Master");
	close(fd);
	fd = NB_SYS(open(EDU_SYS "/resource0", O_RDWR | O_SYNC | O_CLOEXEC));
	NB_SYS(fstat(fd, &st));
	e->len = st.st_size;
	e->regs = mmap(NULL, e->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	NB_CHECK(e->regs != MAP_FAILED, "mmap resource0: %s", strerror(errno));
	close(fd);
	/* The identification register: 0xRRrr00edu. */
	NB_CHECK((edu_reg_read(e, 0) & 0xff) == 0xed,
		 "not an edu: id %#llx", (unsigned long long)edu_reg_read(e, 0));
}

static void edu_close(struct edu *e)
{
	uint16_t cmd;
	int fd;

	if (!e->regs)
		return;
	munmap((void *)e->regs, e->len);
	e->regs = NULL;
	fd = open(EDU_SYS "/config", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && pread(fd, &cmd, 2, 4) == 2) {
		cmd &= ~0x4;
		if (pwrite(fd, &cmd, 2, 4) != 2)
			nb_note("cannot clear Bus Master");
	}
	if (fd >= 0)
		close(fd);
	nb_sysfs_write(EDU_SYS "/enable", "0");
}

/*
 * One transfer of @len bytes: RAM at @ram to edu's buffer at @off
 * (to_ram false) or back (to_ram true).  edu finishes after 100 ms of
 * virtual time.
 */
static void edu_dma(struct edu *e, uint64_t ram, uint64_t off, uint64_t len,
		    bool to_ram)
{
	double end = nb_now() + 10.0 * nb_slow();

	NB_CHECK(len <= EDU_XFER && off + len <= 4096, "bad transfer");
	edu_reg_write(e, 0x80, to_ram ? EDU_BUF + off : ram);
	edu_reg_write(e, 0x88, to_ram ? ram : EDU_BUF + off);
	edu_reg_write(e, 0x90, len);
	edu_reg_write(e, 0x98, 1 | (to_ram ? 2 : 0));
	while (edu_reg_read(e, 0x98) & 1) {
		NB_CHECK(nb_now() < end, "edu's DMA did not finish in 10 s");
		usleep(10000);
	}
}

/* ---- the ioctls ---- */

static int nb_attach(int fd, uint32_t handle, const char *dev,
		     struct numabuf_attach *out)
{
	struct numabuf_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.handle = handle;
	snprintf(a.device, sizeof(a.device), "%s", dev);
	if (ioctl(fd, NUMABUF_IOC_ATTACH, &a) < 0)
		return -errno;
	if (out)
		*out = a;
	return 0;
}

static int nb_detach(int fd, uint32_t handle, const char *dev)
{
	struct numabuf_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.handle = handle;
	snprintf(a.device, sizeof(a.device), "%s", dev);
	return ioctl(fd, NUMABUF_IOC_DETACH, &a) < 0 ? -errno : 0;
}

static uint64_t nb_attach_ok(int fd, uint32_t handle, const char *dev,
			     uint64_t len)
{
	struct numabuf_attach a;
	int ret = nb_attach(fd, handle, dev, &a);

	NB_CHECK(!ret, "ATTACH %s: %s", dev, nb_errname(-ret));
	NB_CHECK(a.length == len, "ATTACH length %llu, buffer %llu",
		 (unsigned long long)a.length, (unsigned long long)len);
	NB_CHECK(a.dma_addr, "ATTACH gave DMA address 0");
	return a.dma_addr;
}

static int nb_sync(int fd, uint32_t handle, uint32_t flags, uint64_t off,
		   uint64_t len)
{
	struct numabuf_sync s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.handle = handle;
	s.flags = flags;
	s.offset = off;
	s.length = len;
	return ioctl(fd, NUMABUF_IOC_SYNC, &s) < 0 ? -errno : 0;
}

/* Physical address of the first byte, from pagemap. */
static uint64_t phys_of(void *p)
{
	uint64_t pfn;

	nb_pfns(p, 1, &pfn);
	NB_CHECK(pfn, "pagemap gives no frame (not root?)");
	return pfn * NB_PAGE;
}

/* ---- the control plane ---- */

struct listed {
	bool found;
	uint64_t phys;
	uint32_t id;
	uint32_t n;
	struct numabuf_attachinfo ai[NUMABUF_ATTACH_MAX];
};

static int find_buf(const struct numabuf_bufstat *st, void *arg)
{
	struct listed *l = arg;

	if (st->phys != l->phys)
		return 0;
	l->found = true;
	l->id = st->id;
	l->n = st->nr_attach;
	NB_CHECK(l->n <= NUMABUF_ATTACH_MAX, "%u attachments", l->n);
	NB_CHECK(!l->n || st->attach, "attachments without a list");
	if (l->n)
		memcpy(l->ai, st->attach, l->n * sizeof(*l->ai));
	return 0;
}

/* buf-get's view of the buffer whose first byte is at @phys. */
static struct listed buf_get(uint64_t phys)
{
	struct numabuf_buf_filter f = { 0 };
	struct listed l = { .phys = phys };
	struct numabuf_nl *nl;
	int ret;

	ret = numabuf_nl_open(&nl);
	NB_CHECK(!ret, "numabuf_nl_open: %s", strerror(-ret));
	ret = numabuf_nl_bufs(nl, &f, find_buf, &l);
	NB_CHECK(!ret, "buf-get: %s", strerror(-ret));
	numabuf_nl_close(nl);
	NB_CHECK(l.found, "buf-get does not list the buffer at %#llx",
		 (unsigned long long)phys);
	return l;
}

static struct numabuf_nl *events_open(void)
{
	struct numabuf_nl *nl;
	int ret;

	ret = numabuf_nl_open(&nl);
	NB_CHECK(!ret, "numabuf_nl_open: %s", strerror(-ret));
	ret = numabuf_nl_subscribe(nl);
	NB_CHECK(!ret, "subscribe: %s", strerror(-ret));
	return nl;
}

struct ev_want {
	uint32_t type;
	uint32_t id;		/* 0: any */
	bool seen;
	struct numabuf_attachinfo ai;
	uint32_t got_id;
};

static int ev_match(const struct numabuf_event *ev, void *arg)
{
	struct ev_want *w = arg;

	if (w->seen || ev->type != w->type || (w->id && ev->buf.id != w->id))
		return 0;
	NB_CHECK(ev->buf.nr_attach == 1 && ev->buf.attach,
		 "%s event with %u attachments",
		 w->type == NUMABUF_EVENT_BUF_ATTACHED ? "attached" : "detached",
		 ev->buf.nr_attach);
	w->ai = ev->buf.attach[0];
	w->got_id = ev->buf.id;
	w->seen = true;
	return 0;
}

/* Wait up to 5 s for an attached/detached event of buffer @id. */
static struct numabuf_attachinfo ev_wait(struct numabuf_nl *nl, uint32_t type,
					 uint32_t id, uint32_t *got_id)
{
	struct pollfd pfd = { .fd = numabuf_nl_fd(nl), .events = POLLIN };
	struct ev_want w = { .type = type, .id = id };
	int ret;

	while (!w.seen) {
		ret = poll(&pfd, 1, 5000 * nb_slow());
		NB_CHECK(ret > 0, "no %s event for buffer %u in 5 s",
			 type == NUMABUF_EVENT_BUF_ATTACHED ? "attached" :
			 "detached", id);
		ret = numabuf_nl_events(nl, 1, ev_match, &w);
		NB_CHECK(ret >= 0 || ret == -EAGAIN, "events: %s",
			 strerror(-ret));
	}
	if (got_id)
		*got_id = w.got_id;
	return w.ai;
}

static void expect_detached(struct numabuf_nl *nl, uint32_t id,
			    const char *dev, uint64_t dma, uint32_t reason)
{
	struct numabuf_attachinfo ai;

	ai = ev_wait(nl, NUMABUF_EVENT_BUF_DETACHED, id, NULL);
	NB_CHECK(!strcmp(ai.device, dev) && ai.dma_addr == dma &&
		 ai.reason == reason,
		 "detached event: %s at %#llx reason %u; expected %s at %#llx reason %u",
		 ai.device, (unsigned long long)ai.dma_addr, ai.reason, dev,
		 (unsigned long long)dma, reason);
}

/* ---- buffers ---- */

struct buf {
	int fd;
	uint32_t handle;
	uint64_t len;
	uint8_t *p;
	uint64_t phys;
};

static struct buf buf_new(int fd, uint64_t len, int node, uint32_t flags)
{
	struct numabuf_alloc a = nb_alloc_ok(fd, len, node, flags);
	struct buf b = {
		.fd = fd, .handle = a.handle, .len = a.length,
	};

	b.p = nb_map(fd, a.offset, b.len);
	b.phys = phys_of(b.p);
	return b;
}

static void buf_del(struct buf *b)
{
	NB_SYS(munmap(b->p, b->len));
	NB_CHECK(!nb_free(b->fd, b->handle), "FREE");
}

/* A buffer entirely below 4 GiB, with NUMABUF_F_DMA32; false if none. */
static bool buf_low(int fd, uint64_t len, struct buf *b)
{
	struct numabuf_alloc a;
	int ret = nb_alloc(fd, len, 0, NUMABUF_F_DMA32, &a);

	if (ret)
		return false;
	b->fd = fd;
	b->handle = a.handle;
	b->len = a.length;
	b->p = nb_map(fd, a.offset, b->len);
	b->phys = phys_of(b->p);
	if (b->phys + b->len <= FOUR_G)
		return true;
	buf_del(b);
	return false;
}

/*
 * RAM -> edu -> RAM at the first, a middle and the last page: 2048 bytes
 * of @src at each place to edu, back into @dst at the same offset.  Every
 * byte of @dst is checked: the pattern where edu wrote, zero elsewhere.
 */
static void round_trips(struct edu *e, struct buf *src, uint64_t sdma,
			struct buf *dst, uint64_t ddma)
{
	uint64_t offs[3] = {
		0, (src->len / 2 / NB_PAGE) * NB_PAGE + 1024,
		src->len - EDU_XFER,
	};
	size_t bad;
	int i;

	nb_fill(src->p, src->len, 0x5eed + (uint32_t)src->len);
	memset(dst->p, 0, dst->len);
	for (i = 0; i < 3; i++) {
		NB_CHECK(!nb_sync(src->fd, src->handle,
				  NUMABUF_SYNC_FOR_DEVICE | NUMABUF_SYNC_WRITE,
				  offs[i], EDU_XFER), "SYNC for the device");
		edu_dma(e, sdma + offs[i], 0, EDU_XFER, false);
		edu_dma(e, ddma + offs[i], 0, EDU_XFER, true);
		NB_CHECK(!nb_sync(dst->fd, dst->handle,
				  NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ,
				  offs[i], EDU_XFER), "SYNC for the CPU");
		bad = memcmp(dst->p + offs[i], src->p + offs[i], EDU_XFER);
		NB_CHECK(!bad, "%llu bytes at offset %#llx of a %llu-byte buffer did not arrive intact",
			 (unsigned long long)EDU_XFER,
			 (unsigned long long)offs[i],
			 (unsigned long long)src->len);
		memset(dst->p + offs[i], 0, EDU_XFER);
	}
	bad = nb_find_nonzero(dst->p, dst->len);
	NB_CHECK(bad == (size_t)-1, "edu wrote outside its ranges: byte %#zx",
		 bad);
}

/* ---- tests ---- */

NB_TEST_TIMEOUT(dma_round_trip,
	"buffers of 4 KiB, 2 MiB and 64 MiB on edu's node attached to edu: 2048 bytes go RAM -> edu -> another buffer at the first, a middle and the last page, every byte of the target checked; translate: the DMA address is not the physical one (pagemap); passthrough: buffers above 4 GiB (all of node 1) are refused with ERANGE for the 32-bit edu, and one below 4 GiB (NUMABUF_F_DMA32 on node 0) gets its own physical address and round-trips",
	300)
{
	static const uint64_t sizes[] = { 4096, 2 * NB_MIB, 64 * NB_MIB };
	struct edu e = { 0 };
	struct buf a, b;
	uint64_t da, db;
	int fd = nb_open(), ret;
	size_t i;

	/*
	 * edu is enabled only for transfers: on the debug kernel enabling it
	 * evaluates the expander bridge's ACPI _PRT, which times out there.
	 */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] * 2 + 256 * NB_MIB >
		    nb_node_meminfo(EDU_NODE, "MemFree")) {
			nb_note("node %d has too little free memory for two %llu-byte buffers",
				EDU_NODE, (unsigned long long)sizes[i]);
			continue;
		}
		a = buf_new(fd, sizes[i], EDU_NODE, 0);
		b = buf_new(fd, sizes[i], EDU_NODE, 0);
		NB_EXPECT_NODE(a.p, a.len, EDU_NODE);
		if (!translate()) {
			NB_CHECK(a.phys >= FOUR_G, "node 1 memory below 4 GiB");
			ret = nb_attach(fd, a.handle, EDU, NULL);
			NB_CHECK(ret == -ERANGE,
				 "passthrough: ATTACH of memory at %#llx to a 32-bit device: %s, expected ERANGE",
				 (unsigned long long)a.phys, nb_errname(-ret));
			buf_del(&a);
			buf_del(&b);
			continue;
		}
		da = nb_attach_ok(fd, a.handle, EDU, a.len);
		db = nb_attach_ok(fd, b.handle, EDU, b.len);
		NB_CHECK(da != a.phys && db != b.phys,
			 "translate: DMA address %#llx is the physical one",
			 (unsigned long long)da);
		NB_CHECK(da + a.len <= FOUR_G && db + b.len <= FOUR_G,
			 "an IOVA beyond edu's 32-bit mask");
		if (!e.regs)
			edu_open(&e);
		round_trips(&e, &a, da, &b, db);
		nb_note("%llu bytes: phys %#llx -> dma %#llx", (unsigned long long)a.len,
			(unsigned long long)a.phys, (unsigned long long)da);
		buf_del(&a);
		buf_del(&b);
	}
	if (!translate()) {
		if (!buf_low(fd, 2 * NB_MIB, &a)) {
			edu_close(&e);
			nb_skip("no IOMMU translation and no buffer below 4 GiB (NUMABUF_F_DMA32 not there or no such memory): the below-4-GiB round trip was not run; the ERANGE checks passed");
		}
		NB_CHECK(buf_low(fd, 2 * NB_MIB, &b), "a second DMA32 buffer");
		da = nb_attach_ok(fd, a.handle, EDU, a.len);
		db = nb_attach_ok(fd, b.handle, EDU, b.len);
		NB_CHECK(da == a.phys && db == b.phys,
			 "passthrough: DMA address %#llx is not the physical %#llx",
			 (unsigned long long)da, (unsigned long long)a.phys);
		if (!e.regs)
			edu_open(&e);
		round_trips(&e, &a, da, &b, db);
		buf_del(&a);
		buf_del(&b);
	}
	edu_close(&e);
	close(fd);
}

NB_TEST(dma_detach_blocks,
	"translate: after DETACH, edu writing through the old IOVA does not reach the memory (the IOMMU faults: the DMAR fault lines are declared expected), while through a live attachment the same write does; DETACH again gives ENOENT")
{
	struct edu e = { 0 };
	char msg[NB_KMSG_EXPECT_LEN];
	int fd = nb_open();
	struct buf a, b;
	uint64_t da, db;
	size_t bad;

	if (!translate())
		nb_skip("NB_DMA=%s: no IOMMU translation for edu, a detached device still reaches all memory", dma_mode());
	edu_open(&e);
	a = buf_new(fd, 2 * NB_MIB, EDU_NODE, 0);
	b = buf_new(fd, 2 * NB_MIB, EDU_NODE, 0);
	da = nb_attach_ok(fd, a.handle, EDU, a.len);
	db = nb_attach_ok(fd, b.handle, EDU, b.len);

	/* edu's buffer gets a pattern from a. */
	nb_fill(a.p, EDU_XFER, 77);
	edu_dma(&e, da, 0, EDU_XFER, false);
	/* Through the live attachment of b: it arrives. */
	edu_dma(&e, db, 0, EDU_XFER, true);
	NB_CHECK(!memcmp(b.p, a.p, EDU_XFER), "the live attachment's write did not arrive");
	memset(b.p, 0, EDU_XFER);

	NB_CHECK(!nb_detach(fd, b.handle, EDU), "DETACH");
	NB_CHECK(nb_detach(fd, b.handle, EDU) == -ENOENT, "second DETACH not ENOENT");
	nb_kmsg_expect("DMAR: DRHD: handling fault status reg 2");
	nb_kmsg_expect("DMAR: DRHD: handling fault status reg 3");
	snprintf(msg, sizeof(msg),
		 "DMAR: [DMA Write NO_PASID] Request device [" EDU_SHORT "] fault addr %#llx [fault reason 0x05] PTE Write access is not set",
		 (unsigned long long)(db & ~0xfffULL));
	nb_kmsg_expect(msg);
	edu_dma(&e, db, 0, EDU_XFER, true);
	bad = nb_find_nonzero(b.p, b.len);
	NB_CHECK(bad == (size_t)-1, "edu wrote through a detached IOVA: byte %#zx of the buffer changed", bad);
	usleep(200000);		/* the fault's log lines */
	buf_del(&a);
	buf_del(&b);
	edu_close(&e);
	close(fd);
}

NB_TEST(dma_attach_args,
	"ATTACH/DETACH/SYNC arguments: flags, reserved, empty or unterminated device names are EINVAL; an unknown device ENODEV, an unknown handle ENOENT, a second ATTACH to the same device EEXIST; a platform device (serial8250: 32-bit mask, no IOMMU) ERANGE for memory above 4 GiB; SYNC refuses both or neither of FOR_CPU/FOR_DEVICE, no READ/WRITE, unknown flags, length 0, a range past the end or wrapping; buf-get lists both edus with the DMA addresses ATTACH gave")
{
	int fd = nb_open(), ret;
	struct numabuf_attach a;
	struct listed l;
	struct buf b;
	uint64_t d1, d0 = 0;
	bool two = edu_present(EDU0);

	b = buf_new(fd, 64 * NB_KIB, EDU_NODE, 0);

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.handle = b.handle;
	strcpy(a.device, EDU);
	a.flags = 1;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);
	a.flags = 0;
	a.reserved0 = 1;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);
	a.reserved0 = 0;
	a.reserved[3] = 1;
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);
	a.reserved[3] = 0;
	memset(a.device, 'a', sizeof(a.device));
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);
	memset(a.device, 0, sizeof(a.device));
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);
	a.size = NUMABUF_ATTACH_SIZE_VER0 - 8;
	strcpy(a.device, EDU);
	NB_ERRNO(ioctl(fd, NUMABUF_IOC_ATTACH, &a), EINVAL);

	NB_CHECK(nb_attach(fd, b.handle, "0000:7f:1f.7", NULL) == -ENODEV,
		 "unknown device not ENODEV");
	NB_CHECK(nb_attach(fd, 0xfffff, EDU, NULL) == -ENOENT,
		 "unknown handle not ENOENT");
	/*
	 * A platform device of every x86 PC: a 32-bit DMA mask and no IOMMU
	 * in front of it, so memory above 4 GiB is out of its reach in
	 * either mode (the module refuses rather than bounce).
	 */
	if (access("/sys/bus/platform/devices/serial8250", F_OK) == 0) {
		NB_CHECK(b.phys >= FOUR_G, "node 1 memory below 4 GiB");
		ret = nb_attach(fd, b.handle, "serial8250", NULL);
		NB_CHECK(ret == -ERANGE, "serial8250 (32-bit, untranslated): %s",
			 nb_errname(-ret));
	}

	if (!translate()) {
		/* Node 1 is above 4 GiB: ERANGE for edu's 32-bit mask. */
		ret = nb_attach(fd, b.handle, EDU, NULL);
		NB_CHECK(ret == -ERANGE, "passthrough ATTACH: %s", nb_errname(-ret));
		buf_del(&b);
		if (!buf_low(fd, 64 * NB_KIB, &b)) {
			close(fd);
			nb_skip("no IOMMU translation and no buffer below 4 GiB (NUMABUF_F_DMA32 not there): the argument checks passed, EEXIST and buf-get not checked");
		}
	}
	d1 = nb_attach_ok(fd, b.handle, EDU, b.len);
	NB_CHECK(nb_attach(fd, b.handle, EDU, NULL) == -EEXIST,
		 "second ATTACH not EEXIST");
	if (two)
		d0 = nb_attach_ok(fd, b.handle, EDU0, b.len);
	l = buf_get(b.phys);
	NB_CHECK(l.n == (two ? 2u : 1u), "buf-get lists %u attachments", l.n);
	NB_CHECK(!strcmp(l.ai[0].device, EDU) && l.ai[0].dma_addr == d1,
		 "buf-get: %s at %#llx, ATTACH gave %s at %#llx", l.ai[0].device,
		 (unsigned long long)l.ai[0].dma_addr, EDU,
		 (unsigned long long)d1);
	if (two)
		NB_CHECK(!strcmp(l.ai[1].device, EDU0) && l.ai[1].dma_addr == d0,
			 "buf-get: second attachment %s at %#llx",
			 l.ai[1].device, (unsigned long long)l.ai[1].dma_addr);

	/* SYNC. */
	NB_CHECK(!nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ |
			  NUMABUF_SYNC_WRITE, 0, b.len), "SYNC of the whole buffer");
	NB_CHECK(!nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_DEVICE | NUMABUF_SYNC_WRITE,
			  b.len - 1, 1), "SYNC of the last byte");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_FOR_DEVICE |
			 NUMABUF_SYNC_READ, 0, 1) == -EINVAL, "both directions");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_READ, 0, 1) == -EINVAL,
		 "neither direction");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU, 0, 1) == -EINVAL,
		 "no READ/WRITE");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ | 0x10,
			 0, 1) == -EINVAL, "unknown flag");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ,
			 0, 0) == -EINVAL, "length 0");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ,
			 b.len, 1) == -EINVAL, "past the end");
	NB_CHECK(nb_sync(fd, b.handle, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ,
			 8, UINT64_MAX - 4) == -EINVAL, "wrapping range");
	NB_CHECK(nb_sync(fd, 0xfffff, NUMABUF_SYNC_FOR_CPU | NUMABUF_SYNC_READ,
			 0, 1) == -ENOENT, "unknown handle");

	NB_CHECK(!nb_detach(fd, b.handle, EDU), "DETACH");
	l = buf_get(b.phys);
	NB_CHECK(l.n == (two ? 1u : 0u), "buf-get lists %u attachments after DETACH", l.n);
	buf_del(&b);
	close(fd);
}

/* ---- privilege ---- */

static int any_buf(const struct numabuf_bufstat *st, void *arg)
{
	struct listed *l = arg;

	l->found = true;
	l->id = st->id;
	l->n = st->nr_attach;
	return 0;
}

static void dev_restore(void)
{
	if (chown(NB_DEV, 0, 0) || chmod(NB_DEV, 0600)) {
		/* later tests see the mode and fail loudly */
	}
}

NB_TEST(dma_attach_eperm,
	"uid nobody in the device's group without capabilities: ALLOC works, ATTACH and DETACH of its buffer fail with EPERM and nothing is attached (buf-get)")
{
	pid_t pid;
	int pfd[2];
	struct listed l;

	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
	atexit(dev_restore);
	NB_SYS(pipe2(pfd, O_CLOEXEC));
	pid = NB_SYS(fork());
	if (!pid) {
		gid_t g = NB_GID;
		struct numabuf_alloc a;
		int fd, ret;
		char c;

		NB_SYS(setgroups(1, &g));
		NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
		NB_CHECK(nb_proc_status("CapEff", 16) == 0, "capabilities left");
		fd = NB_SYS(open(NB_DEV, O_RDWR | O_CLOEXEC));
		a = nb_alloc_ok(fd, 4096, EDU_NODE, 0);
		ret = nb_attach(fd, a.handle, EDU, NULL);
		NB_CHECK(ret == -EPERM, "ATTACH as nobody: %s", nb_errname(-ret));
		ret = nb_detach(fd, a.handle, EDU);
		NB_CHECK(ret == -EPERM, "DETACH as nobody: %s", nb_errname(-ret));
		c = 1;
		/* Hold the buffer until root has looked and kills us. */
		NB_CHECK(write(pfd[1], &c, 1) == 1, "pipe");
		pause();
		_exit(0);
	}
	close(pfd[1]);
	{
		char c;

		NB_CHECK(read(pfd[0], &c, 1) == 1, "the child failed");
	}
	/* root sees every buffer: the child's is the only one of nobody. */
	{
		struct numabuf_buf_filter f = { .match = NUMABUF_MATCH_PID,
						.pid = (uint32_t)pid };
		struct numabuf_nl *nl;
		int ret = numabuf_nl_open(&nl);

		NB_CHECK(!ret, "nl open");
		l.found = false;
		l.phys = 0;
		ret = numabuf_nl_bufs(nl, &f, any_buf, &l);
		numabuf_nl_close(nl);
		NB_CHECK(!ret, "buf-get");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	NB_CHECK(l.found && l.n == 0, "nobody's buffer: found %d, %u attachments",
		 l.found, l.n);
}

/* ---- drivers ---- */

static int modprobe(const char *mod)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "modprobe %s >/dev/null 2>&1", mod);
	return system(cmd);
}

/* Bind edu to @drv through driver_override; 0 or -errno. */
static int edu_bind(const char *drv)
{
	char path[256], name[64];
	int ret;

	sysfs_write_ok(EDU_SYS "/driver_override", drv);
	ret = nb_sysfs_write(PCI_DEVS "../drivers_probe", EDU);
	nb_pci_link(EDU, "driver", name, sizeof(name));
	if (strcmp(name, drv)) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", drv);
		ret = nb_sysfs_write(path, EDU);
		nb_pci_link(EDU, "driver", name, sizeof(name));
	}
	return strcmp(name, drv) ? (ret ? ret : -ENODEV) : 0;
}

static void edu_unbind(void)
{
	char name[64], path[256];

	nb_pci_link(EDU, "driver", name, sizeof(name));
	if (name[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", name);
		nb_sysfs_write(path, EDU);
	}
	nb_sysfs_write(EDU_SYS "/driver_override", "\n");
}

static void edu_restore(void)
{
	edu_unbind();
}

/* A buffer ATTACH to edu will take in this mode; false if none. */
static bool buf_for_edu_try(int fd, struct buf *b)
{
	if (translate()) {
		*b = buf_new(fd, 2 * NB_MIB, EDU_NODE, 0);
		return true;
	}
	return buf_low(fd, 2 * NB_MIB, b);
}

static struct buf buf_for_edu(int fd)
{
	struct buf b;

	if (!buf_for_edu_try(fd, &b))
		nb_skip("no IOMMU translation and no buffer below 4 GiB (NUMABUF_F_DMA32 not there) for the 32-bit edu");
	return b;
}

NB_TEST(dma_attach_vfio_ebusy,
	"edu bound to vfio-pci (driver_override): ATTACH fails with EBUSY, its DMA belongs to user space; binding vfio-pci ends an existing attachment (detached event, reason driver; not in passthrough without a buffer below 4 GiB); edu is unbound again after")
{
	struct numabuf_nl *ev;
	char name[64];
	uint64_t dma = 0;
	struct listed l;
	struct buf b;
	int fd = nb_open(), ret;
	bool low;

	nb_pci_link(EDU, "driver", name, sizeof(name));
	NB_CHECK(!name[0], "edu is bound to %s before the test", name);
	/* A module on Debian's kernels, built in on the debug kernel. */
	if (modprobe("vfio-pci") &&
	    access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		nb_skip("no vfio-pci driver on this kernel");
	low = buf_for_edu_try(fd, &b);
	if (!low) {
		nb_note("no IOMMU translation and no buffer below 4 GiB: no attachment for vfio-pci's bind to end");
		b = buf_new(fd, 2 * NB_MIB, EDU_NODE, 0);
	}
	ev = events_open();
	if (low)
		dma = nb_attach_ok(fd, b.handle, EDU, b.len);
	l = buf_get(b.phys);
	atexit(edu_restore);
	ret = edu_bind("vfio-pci");
	NB_CHECK(!ret, "binding vfio-pci: %s", nb_errname(-ret));
	if (low)
		expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_DRIVER);
	l = buf_get(b.phys);
	NB_CHECK(l.n == 0, "%u attachments left after the bind", l.n);
	/* Refused for its driver before any look at the memory. */
	ret = nb_attach(fd, b.handle, EDU, NULL);
	NB_CHECK(ret == -EBUSY, "ATTACH to vfio-pci's edu: %s", nb_errname(-ret));
	edu_unbind();
	nb_pci_link(EDU, "driver", name, sizeof(name));
	NB_CHECK(!name[0], "edu still bound to %s", name);
	numabuf_nl_close(ev);
	buf_del(&b);
	close(fd);
}

NB_TEST(dma_attach_driver_bind,
	"attached to edu, a driver binds (pci-stub, else vfio-pci, by driver_override): the attachment ends with reason driver (event, buf-get); attached again under pci-stub, unbinding ends it the same way")
{
	struct numabuf_nl *ev;
	const char *drv = "pci-stub";
	char name[64];
	uint64_t dma;
	struct listed l;
	struct buf b;
	int fd = nb_open(), ret;

	nb_pci_link(EDU, "driver", name, sizeof(name));
	NB_CHECK(!name[0], "edu is bound to %s before the test", name);
	if (modprobe("pci-stub") && access("/sys/bus/pci/drivers/pci-stub", F_OK)) {
		drv = "vfio-pci";
		if (modprobe("vfio-pci") &&
		    access("/sys/bus/pci/drivers/vfio-pci", F_OK))
			nb_skip("neither pci-stub nor vfio-pci on this kernel");
	}
	b = buf_for_edu(fd);
	ev = events_open();
	dma = nb_attach_ok(fd, b.handle, EDU, b.len);
	l = buf_get(b.phys);
	NB_CHECK(l.n == 1, "buf-get lists %u attachments", l.n);
	atexit(edu_restore);
	ret = edu_bind(drv);
	NB_CHECK(!ret, "binding %s: %s", drv, nb_errname(-ret));
	expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_DRIVER);
	l = buf_get(b.phys);
	NB_CHECK(l.n == 0, "%u attachments left after binding %s", l.n, drv);
	if (!strcmp(drv, "pci-stub")) {
		dma = nb_attach_ok(fd, b.handle, EDU, b.len);
		edu_unbind();
		expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_DRIVER);
		l = buf_get(b.phys);
		NB_CHECK(l.n == 0, "%u attachments left after the unbind", l.n);
	} else {
		nb_note("no pci-stub: the unbind case was not run");
		edu_unbind();
	}
	numabuf_nl_close(ev);
	buf_del(&b);
	close(fd);
}

static void edu_rescan(void)
{
	double end = nb_now() + 10.0 * nb_slow();

	while (!edu_present(EDU) && nb_now() < end) {
		nb_sysfs_write("/sys/bus/pci/rescan", "1");
		usleep(100000);
	}
}

NB_TEST(dma_attach_remove,
	"attached to edu, the device is removed (sysfs remove): the attachment ends with reason remove (event, buf-get), ATTACH then gives ENODEV; a PCI rescan brings edu back and it attaches again")
{
	struct numabuf_nl *ev;
	uint64_t dma;
	struct listed l;
	struct buf b;
	int fd = nb_open(), ret;

	b = buf_for_edu(fd);
	ev = events_open();
	dma = nb_attach_ok(fd, b.handle, EDU, b.len);
	l = buf_get(b.phys);
	atexit(edu_rescan);
	sysfs_write_ok(EDU_SYS "/remove", "1");
	expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_REMOVE);
	l = buf_get(b.phys);
	NB_CHECK(l.n == 0, "%u attachments left after the removal", l.n);
	ret = nb_attach(fd, b.handle, EDU, NULL);
	NB_CHECK(ret == -ENODEV, "ATTACH to the removed edu: %s", nb_errname(-ret));
	edu_rescan();
	NB_CHECK(edu_present(EDU), "edu did not come back after a rescan");
	dma = nb_attach_ok(fd, b.handle, EDU, b.len);
	NB_CHECK(!nb_detach(fd, b.handle, EDU), "DETACH");
	expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_REQUEST);
	numabuf_nl_close(ev);
	buf_del(&b);
	close(fd);
}

NB_TEST(dma_attach_release,
	"attached to edu (twice: both edus where there are two), FREE then munmap ends every attachment with reason release only at munmap (events); a child that attached a buffer and is killed with SIGKILL ends its attachment with reason release; the counters come back (harness)")
{
	struct numabuf_attachinfo ai;
	struct numabuf_nl *ev;
	uint32_t id;
	uint64_t dma;
	struct listed l;
	struct buf b;
	int fd = nb_open(), pfd[2];
	struct pollfd p;
	pid_t pid;

	b = buf_for_edu(fd);
	ev = events_open();
	dma = nb_attach_ok(fd, b.handle, EDU, b.len);
	l = buf_get(b.phys);
	NB_CHECK(!nb_free(fd, b.handle), "FREE");
	/* Still mapped: still attached. */
	l = buf_get(b.phys);
	NB_CHECK(l.n == 1, "FREE with the mapping left: %u attachments", l.n);
	NB_SYS(munmap(b.p, b.len));
	expect_detached(ev, l.id, EDU, dma, NUMABUF_DETACH_RELEASE);

	/* A killed process. */
	NB_SYS(pipe2(pfd, O_CLOEXEC));
	pid = NB_SYS(fork());
	if (!pid) {
		int cfd = nb_open();
		struct buf c = buf_for_edu(cfd);
		uint64_t d = nb_attach_ok(cfd, c.handle, EDU, c.len);

		NB_CHECK(write(pfd[1], &d, sizeof(d)) == sizeof(d), "pipe");
		pause();
		_exit(0);
	}
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	NB_CHECK(poll(&p, 1, 30000 * nb_slow()) == 1 &&
		 read(pfd[0], &dma, sizeof(dma)) == sizeof(dma),
		 "the child did not attach");
	ai = ev_wait(ev, NUMABUF_EVENT_BUF_ATTACHED, 0, &id);
	NB_CHECK(!strcmp(ai.device, EDU) && ai.dma_addr == dma,
		 "attached event: %s at %#llx", ai.device,
		 (unsigned long long)ai.dma_addr);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	expect_detached(ev, id, EDU, dma, NUMABUF_DETACH_RELEASE);
	numabuf_nl_close(ev);
	close(fd);
}

NB_TEST(dma_attach_enospc,
	"one 4 KiB buffer attached to NUMABUF_ATTACH_MAX PCI devices (every device of the machine that takes it): the next ATTACH gives ENOSPC; closing the file ends them all")
{
	char names[64][64];
	int n = 0, ok = 0, fd = nb_open(), ret, i;
	bool refused = false;
	struct dirent *d;
	struct buf b;
	DIR *dir;

	b = buf_for_edu(fd);
	dir = opendir("/sys/bus/pci/devices");
	NB_CHECK(dir, "opendir");
	while ((d = readdir(dir)) && n < 64)
		if (d->d_name[0] != '.')
			snprintf(names[n++], sizeof(names[0]), "%.63s", d->d_name);
	closedir(dir);
	for (i = 0; i < n && ok < NUMABUF_ATTACH_MAX; i++) {
		ret = nb_attach(fd, b.handle, names[i], NULL);
		if (!ret)
			ok++;
		else
			NB_CHECK(ret == -EBUSY || ret == -ERANGE || ret == -ENODEV,
				 "ATTACH %s: %s", names[i], nb_errname(-ret));
	}
	if (ok < NUMABUF_ATTACH_MAX) {
		buf_del(&b);
		close(fd);
		nb_skip("only %d PCI devices take an attachment, fewer than %d",
			ok, NUMABUF_ATTACH_MAX);
	}
	for (; i < n; i++) {
		ret = nb_attach(fd, b.handle, names[i], NULL);
		if (ret != -EBUSY && ret != -ERANGE && ret != -ENODEV) {
			NB_CHECK(ret == -ENOSPC, "ATTACH number %d: %s",
				 NUMABUF_ATTACH_MAX + 1, nb_errname(-ret));
			refused = true;
			break;
		}
	}
	if (!refused) {
		NB_SYS(munmap(b.p, b.len));
		close(fd);
		nb_skip("no PCI device beyond the %d attached to try a 17th on",
			NUMABUF_ATTACH_MAX);
	}
	NB_SYS(munmap(b.p, b.len));
	close(fd);
}
