// SPDX-License-Identifier: GPL-2.0
/*
 * DPDK with numabuf memory: examples/dpdk-extmem (built only where
 * libdpdk-dev is installed) registers a numabuf buffer as external memory,
 * maps it for DMA, builds an mbuf pool in it and sends numbered packets
 * both ways between the --dma machine's two virtio-net ports (0000:00:12.0
 * and 0000:00:13.0, joined by a QEMU hub; their DMA goes through the
 * emulated IOMMU), bound to vfio-pci here.  Once in IOVA-as-VA mode, once
 * in IOVA-as-PA mode, on one node each.
 *
 * The example checks every payload byte and that frames land in the
 * buffer; the test checks its exit status and report, and, with the
 * example stopped (--stop) after it registered and mapped the buffer,
 * facts the example does not provide: move_pages(2) on the example's
 * process gives the node of every page of the buffer, its
 * /proc/PID/pagemap the physical addresses (contiguous; in PA mode the
 * IOVA the example gave DPDK must be the first one).  A wrong IOVA would
 * make the device's DMA fault in the IOMMU (a DMAR report in the kernel
 * log, which the harness holds against the test) and the packets not
 * arrive.  The harness checks the module's counters and free memory after
 * the test: the example freed its buffer.
 *
 * Each test binds the ports to vfio-pci (driver_override) and reserves
 * 2 MiB huge pages for DPDK's own memory, and puts both back afterwards,
 * even when the example failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <numaif.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

static const char *const ports[2] = { "0000:00:12.0", "0000:00:13.0" };
#define VIRTIO_VENDOR	0x1af4
#define VIRTIO_NET_MODERN 0x1041
#define BUF_SIZE	(4 * NB_MIB)
#define PACKETS		256
/* 2 MiB pages per node for DPDK's own memory (-m 64 below). */
#define HUGEPAGES	16
#define TYPE1_UNSAFE "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"

/* ---- the machine's state, changed for a test and put back ---- */

struct setup {
	char driver[2][64];	/* the ports' drivers before (virtio-pci) */
	int bound[2];		/* bound to vfio-pci by us */
	char huge_old[2][32];	/* nr_hugepages of nodes 0, 1 before */
	int unsafe_set;
};

static const char *huge_path(int node)
{
	static char path[2][128];

	snprintf(path[node], sizeof(path[node]),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages",
		 node);
	return path[node];
}

/* Put everything back; returns the first error (0 if none). */
static int restore(struct setup *s)
{
	char path[PATH_MAX], drv[64];
	int ret = 0, r, i;

	for (i = 0; i < 2; i++) {
		nb_pci_link(ports[i], "driver", drv, sizeof(drv));
		if (s->bound[i] && !strcmp(drv, "vfio-pci")) {
			r = nb_sysfs_write("/sys/bus/pci/drivers/vfio-pci/unbind", ports[i]);
			ret = ret ? ret : r;
		}
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
			 ports[i]);
		r = nb_sysfs_write(path, "\n");
		ret = ret ? ret : r;
		if (s->driver[i][0]) {
			/* Back to the driver it had (the kernel's virtio-pci). */
			nb_sysfs_write("/sys/bus/pci/drivers_probe", ports[i]);
			nb_pci_link(ports[i], "driver", drv, sizeof(drv));
			if (strcmp(drv, s->driver[i]) && !ret)
				ret = -ENODEV;
		}
		s->bound[i] = 0;
	}
	for (i = 0; i < 2; i++) {
		if (s->huge_old[i][0]) {
			r = nb_sysfs_write(huge_path(i), s->huge_old[i]);
			ret = ret ? ret : r;
			s->huge_old[i][0] = 0;
		}
	}
	if (s->unsafe_set) {
		r = nb_sysfs_write(TYPE1_UNSAFE, "N");
		ret = ret ? ret : r;
		s->unsafe_set = 0;
	}
	return ret;
}

static struct setup *cleanup_setup;

static void fail_restoring(const char *what)
{
	if (cleanup_setup)
		restore(cleanup_setup);
	NB_FAIL("%s", what);
}

#define S_CHECK(s, cond, ...)						\
	do {								\
		if (!(cond)) {						\
			restore(s);					\
			NB_FAIL(__VA_ARGS__);				\
		}							\
	} while (0)

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

/* The example next to this binary's directory: build/examples/. */
static void example_path(char *buf, size_t len)
{
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = 0;
	slash = strrchr(self, '/');
	NB_CHECK(slash, "odd /proc/self/exe %s", self);
	*slash = 0;
	snprintf(buf, len, "%s/../examples/dpdk-extmem", self);
}

static void setup(struct setup *s)
{
	char path[PATH_MAX], buf[64];
	unsigned long old;
	int i, ret;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", ports[i]);
		nb_sysfs_read(path, buf, sizeof(buf));
		if (!buf[0])
			nb_skip("no PCI device %s (guest-run's --dma machine has the two virtio-net ports)",
				ports[i]);
		NB_CHECK(strtoul(buf, NULL, 0) == VIRTIO_VENDOR, "%s: vendor %s", ports[i], buf);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", ports[i]);
		nb_sysfs_read(path, buf, sizeof(buf));
		NB_CHECK(strtoul(buf, NULL, 0) == VIRTIO_NET_MODERN,
			 "%s: device %s, not a modern virtio-net", ports[i], buf);
	}
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) ||
	    access("/sys/module/vfio_iommu_type1", F_OK)) {
		if (system("modprobe -q vfio_iommu_type1 && modprobe -q vfio-pci"))
			nb_note("modprobe vfio_iommu_type1 vfio-pci failed");
	}
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) ||
	    access("/dev/vfio/vfio", F_OK))
		nb_skip("no vfio-pci in this kernel");

	cleanup_setup = s;
	if (!irq_remapping_on()) {
		nb_sysfs_read(TYPE1_UNSAFE, buf, sizeof(buf));
		if (buf[0] == 'N') {
			S_CHECK(s, !nb_sysfs_write(TYPE1_UNSAFE, "1"), "cannot set %s", TYPE1_UNSAFE);
			s->unsafe_set = 1;
		}
	}
	for (i = 0; i < 2; i++) {
		nb_sysfs_read(huge_path(i), s->huge_old[i], sizeof(s->huge_old[i]));
		S_CHECK(s, s->huge_old[i][0], "no 2 MiB huge pages on node %d (%s)", i,
			huge_path(i));
		old = strtoul(s->huge_old[i], NULL, 10);
		snprintf(buf, sizeof(buf), "%lu", old + HUGEPAGES);
		S_CHECK(s, !nb_sysfs_write(huge_path(i), buf), "write %s", huge_path(i));
		nb_sysfs_read(huge_path(i), buf, sizeof(buf));
		S_CHECK(s, strtoul(buf, NULL, 10) == old + HUGEPAGES,
			"node %d gave %s huge pages, asked for %lu", i, buf,
			old + HUGEPAGES);
	}
	for (i = 0; i < 2; i++) {
		nb_pci_link(ports[i], "driver", s->driver[i], sizeof(s->driver[i]));
		if (s->driver[i][0]) {
			snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind",
				 s->driver[i]);
			ret = nb_sysfs_write(path, ports[i]);
			S_CHECK(s, !ret, "unbind %s from %s: %s", ports[i],
				s->driver[i], strerror(-ret));
		}
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
			 ports[i]);
		S_CHECK(s, !nb_sysfs_write(path, "vfio-pci"), "write %s", path);
		nb_sysfs_write("/sys/bus/pci/drivers_probe", ports[i]);
		nb_pci_link(ports[i], "driver", buf, sizeof(buf));
		S_CHECK(s, !strcmp(buf, "vfio-pci"), "%s not bound to vfio-pci (driver '%s')",
			ports[i], buf);
		s->bound[i] = 1;
	}
}

/* ---- running the example ---- */

struct run {
	char out[32768];
	size_t len;
};

static void drain(struct run *r, int fd, int block)
{
	ssize_t n;

	fcntl(fd, F_SETFL, block ? 0 : O_NONBLOCK);
	while (r->len < sizeof(r->out) - 1) {
		n = read(fd, r->out + r->len, sizeof(r->out) - 1 - r->len);
		if (n <= 0)
			break;
		r->len += n;
	}
	r->out[r->len] = 0;
}

/* The example's output, to the log, for a failure. */
static void show(const struct run *r)
{
	const char *p = r->out, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		nb_note("| %.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/*
 * While the example is stopped: its buffer, as pagemap and move_pages()
 * of its process show it.
 */
static void inspect(struct setup *s, pid_t pid, uintptr_t va, uint64_t len,
		    int node, uint64_t *phys)
{
	size_t n = len / NB_PAGE, i;
	char path[64];
	uint64_t *ent = calloc(n, sizeof(*ent));
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int fd;

	S_CHECK(s, ent && pages && status, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	S_CHECK(s, fd >= 0, "open %s: %s", path, strerror(errno));
	S_CHECK(s, pread(fd, ent, n * 8, (off_t)(va / NB_PAGE * 8)) == (ssize_t)(n * 8),
		"read %s: %s", path, strerror(errno));
	close(fd);
	for (i = 0; i < n; i++) {
		uint64_t pfn = ent[i] & ((1ULL << 55) - 1);

		S_CHECK(s, (ent[i] >> 63) & 1, "page %zu of the buffer is not present", i);
		S_CHECK(s, pfn == (ent[0] & ((1ULL << 55) - 1)) + i,
			"page %zu of the buffer is at PFN %#llx, not contiguous with page 0's",
			i, (unsigned long long)pfn);
		pages[i] = (void *)(va + i * NB_PAGE);
	}
	*phys = (ent[0] & ((1ULL << 55) - 1)) * NB_PAGE;
	S_CHECK(s, !move_pages(pid, n, pages, NULL, status, 0), "move_pages: %s",
		strerror(errno));
	for (i = 0; i < n; i++)
		S_CHECK(s, status[i] == node, "page %zu of the buffer is on node %d, not %d",
			i, status[i], node);
	free(ent);
	free(pages);
	free(status);
}

static void run_example(const char *mode, int node)
{
	char exe[PATH_MAX], node_s[16], packets_s[16], mode_arg[32], line[128];
	char want[128];
	unsigned long long va = 0, iova = 0, size = 0;
	struct setup s;
	struct run r = { .len = 0 };
	uint64_t phys;
	int pfd[2], st, bnode = -1;
	const char *p;
	pid_t pid;

	example_path(exe, sizeof(exe));
	if (access(exe, X_OK))
		nb_skip("no %s (examples built without libdpdk-dev)", exe);
	NB_CHECK(nb_node_online(node), "node %d is not online", node);
	setup(&s);

	snprintf(node_s, sizeof(node_s), "%d", node);
	snprintf(packets_s, sizeof(packets_s), "%d", PACKETS);
	snprintf(mode_arg, sizeof(mode_arg), "--iova-mode=%s", mode);
	S_CHECK(&s, !pipe2(pfd, O_CLOEXEC), "pipe: %s", strerror(errno));
	pid = fork();
	S_CHECK(&s, pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		char *argv[] = {
			exe, "-l", "0", "--in-memory", "--no-telemetry",
			mode_arg, "-m", "64", "-a", (char *)ports[0],
			"-a", (char *)ports[1], "--", "--node", node_s,
			"--size", "4M", "--packets", packets_s, "--stop", NULL
		};

		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(exe, argv);
		_exit(127);
	}
	close(pfd[1]);
	S_CHECK(&s, waitpid(pid, &st, WUNTRACED) == pid, "waitpid: %s", strerror(errno));
	drain(&r, pfd[0], 0);
	if (!WIFSTOPPED(st)) {
		show(&r);
		fail_restoring("the example ended before it stopped after its setup");
	}
	p = strstr(r.out, "buffer: ");
	if (!p || sscanf(p, "buffer: node %d, %llu bytes at %llx, iova %llx",
			 &bnode, &size, &va, &iova) != 4) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		show(&r);
		fail_restoring("no 'buffer:' line from the example");
	}
	inspect(&s, pid, va, size, node, &phys);
	nb_note("%s mode: buffer of %llu bytes on node %d at %#llx, physical %#llx, IOVA %#llx",
		mode, size, node, va, (unsigned long long)phys, iova);
	if (size != BUF_SIZE || bnode != node ||
	    iova != (strcmp(mode, "pa") ? va : phys)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		show(&r);
		restore(&s);
		NB_FAIL("the example reports %llu bytes on node %d at IOVA %#llx; expected %llu on node %d at IOVA %#llx (%s)",
			size, bnode, iova, BUF_SIZE, node,
			strcmp(mode, "pa") ? va : (unsigned long long)phys,
			strcmp(mode, "pa") ? "the virtual address" : "the physical address");
	}
	kill(pid, SIGCONT);
	drain(&r, pfd[0], 1);
	close(pfd[0]);
	S_CHECK(&s, waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		show(&r);
		restore(&s);
		NB_FAIL("the example %s %d", WIFEXITED(st) ? "exited" : "died of signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	snprintf(want, sizeof(want), "iova mode: %s\n", strcmp(mode, "pa") ? "VA" : "PA");
	snprintf(line, sizeof(line), "ok: %d + %d of %d + %d packets intact, 0 teardown errors\n",
		 PACKETS, PACKETS, PACKETS, PACKETS);
	if (!strstr(r.out, want) || !strstr(r.out, line)) {
		show(&r);
		restore(&s);
		NB_FAIL("the example exited 0 without '%.*s' and '%.*s'",
			(int)strlen(want) - 1, want, (int)strlen(line) - 1, line);
	}
	snprintf(line, sizeof(line), "port 0 -> port 1: sent %d, received %d, intact %d of %d\n",
		 PACKETS, PACKETS, PACKETS, PACKETS);
	S_CHECK(&s, strstr(r.out, line), "no '%.*s'", (int)strlen(line) - 1, line);
	snprintf(line, sizeof(line), "port 1 -> port 0: sent %d, received %d, intact %d of %d\n",
		 PACKETS, PACKETS, PACKETS, PACKETS);
	S_CHECK(&s, strstr(r.out, line), "no '%.*s'", (int)strlen(line) - 1, line);
	st = restore(&s);
	NB_CHECK(!st, "putting the ports and huge pages back: %s", strerror(-st));
}

NB_TEST(dpdk_extmem_iova_va,
	"dpdk-extmem in IOVA-as-VA mode, buffer on node 0: 256 packets each way between the two virtio-net ports (vfio-pci, through the IOMMU) arrive intact in the numabuf buffer and the example undoes everything; move_pages and pagemap of the stopped example show the buffer on node 0, contiguous, and the IOVA it gave DPDK is its virtual address")
{
	run_example("va", 0);
}

NB_TEST(dpdk_extmem_iova_pa,
	"dpdk-extmem in IOVA-as-PA mode, buffer on node 1: 256 packets each way arrive intact; the IOVA the example gave DPDK is the physical address pagemap shows for the buffer's first page, every page on node 1 and contiguous")
{
	run_example("pa", 1);
}
