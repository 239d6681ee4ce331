// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers near a device: libnumabuf's numabuf_alloc_near() and numabufctl
 * alloc --near, on guest-run's --dma machine, where edu 0000:81:00.0 sits
 * behind a pxb-pcie root bus on node 1 and edu 0000:00:11.0 on the main
 * bus has no node (sysfs numa_node -1).  The node of the memory is checked
 * with move_pages(2), the devices' nodes by reading sysfs here.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"
#include "numabuf.h"

#define NB_EDU_NODE1	"0000:81:00.0"
#define NB_EDU_NONODE	"0000:00:11.0"

/* The device's numa_node as sysfs has it, or fail. */
static int nb_sysfs_node(const char *bdf)
{
	char path[128];
	FILE *f;
	int node;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", bdf);
	f = fopen(path, "re");
	if (!f)
		nb_skip("no %s: not guest-run's --dma machine", path);
	NB_CHECK(fscanf(f, "%d", &node) == 1, "cannot read %s", path);
	fclose(f);
	return node;
}

/* Run on one CPU of @node (the guest has one per node). */
static int nb_pin_to_node(int node)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	cpu_set_t set;

	for (cpu = 0; cpu < ncpu; cpu++) {
		if (nb_cpu_node((int)cpu) != node)
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		NB_SYS(sched_setaffinity(0, sizeof(set), &set));
		NB_CHECK(sched_getcpu() == cpu, "pinned to CPU %ld, running on %d",
			 cpu, sched_getcpu());
		return (int)cpu;
	}
	NB_FAIL("no CPU on node %d", node);
}

static struct numabuf_ctx *nb_ctx(void)
{
	struct numabuf_ctx *ctx;
	int ret = numabuf_open(&ctx);

	NB_CHECK(!ret, "numabuf_open: %s", nb_errname(-ret));
	return ctx;
}

NB_TEST(near_node1,
	"numabuf_alloc_near(edu 81:00.0, which sysfs puts on node 1), 64 KiB and 4 MiB, strict and PREFERRED: return 0, every page on node 1 by move_pages, wherever the caller runs")
{
	static const size_t sizes[] = { 64 * NB_KIB, 4 * NB_MIB };
	static const unsigned int flags[] = { 0, NUMABUF_F_PREFERRED };
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	int node, ret, cpu_node;
	size_t s, f;

	NB_CHECK(nb_sysfs_node(NB_EDU_NODE1) == 1,
		 "sysfs puts %s on node %d, expected 1", NB_EDU_NODE1,
		 nb_sysfs_node(NB_EDU_NODE1));
	ret = numabuf_device_node(NB_EDU_NODE1, &node);
	NB_CHECK(!ret && node == 1, "numabuf_device_node(%s): %s, node %d",
		 NB_EDU_NODE1, nb_errname(-ret), node);
	ctx = nb_ctx();
	/* From node 0's CPU, so "local" would be the wrong answer. */
	for (cpu_node = 0; cpu_node < 2; cpu_node++) {
		nb_pin_to_node(cpu_node);
		for (s = 0; s < 2; s++) {
			for (f = 0; f < 2; f++) {
				ret = numabuf_alloc_near(ctx, sizes[s],
							 NB_EDU_NODE1,
							 flags[f], &buf);
				NB_CHECK(ret == 0, "alloc_near(%s, %zu, %#x) from node %d: %d (%s)",
					 NB_EDU_NODE1, sizes[s], flags[f],
					 cpu_node, ret,
					 ret < 0 ? nb_errname(-ret) : "positive");
				NB_CHECK(numabuf_node(buf) == 1,
					 "alloc_near(%s) says node %d",
					 NB_EDU_NODE1, numabuf_node(buf));
				NB_EXPECT_NODE(numabuf_addr(buf),
					       numabuf_size(buf), 1);
				NB_CHECK(!numabuf_free(buf), "numabuf_free");
			}
		}
	}
	numabuf_close(ctx);
}

NB_TEST(near_no_node,
	"edu 00:11.0 has no node (sysfs -1): alloc_near returns NUMABUF_NEAR_NO_NODE and the caller's node: node 1 pinned to node 1's CPU, node 0 on node 0's, per move_pages")
{
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	int node = 7, ret, n;

	NB_CHECK(nb_sysfs_node(NB_EDU_NONODE) == -1,
		 "sysfs puts %s on node %d, expected -1", NB_EDU_NONODE,
		 nb_sysfs_node(NB_EDU_NONODE));
	ret = numabuf_device_node(NB_EDU_NONODE, &node);
	NB_CHECK(!ret && node == -1, "numabuf_device_node(%s): %s, node %d",
		 NB_EDU_NONODE, nb_errname(-ret), node);
	ctx = nb_ctx();
	for (n = 1; n >= 0; n--) {
		nb_pin_to_node(n);
		ret = numabuf_alloc_near(ctx, 1 * NB_MIB, NB_EDU_NONODE, 0,
					 &buf);
		NB_CHECK(ret == NUMABUF_NEAR_NO_NODE,
			 "alloc_near(%s) on node %d's CPU: %d, expected NUMABUF_NEAR_NO_NODE",
			 NB_EDU_NONODE, n, ret);
		NB_CHECK(numabuf_node(buf) == n, "fell back to node %d, caller on node %d",
			 numabuf_node(buf), n);
		NB_EXPECT_NODE(numabuf_addr(buf), numabuf_size(buf), n);
		NB_CHECK(!numabuf_free(buf), "numabuf_free");
	}
	numabuf_close(ctx);
}

NB_TEST(near_errors,
	"alloc_near: ENODEV for a device no bus has, EINVAL for names that could leave /sys/bus/*/devices ('..', '/', '.') or are empty or too long, EINVAL without a context; nothing allocated")
{
	static const char *const bad[] = {
		"..", "../../../../dev/null", "0000:81:00.0/..", "a/b", ".",
		"", "0123456789012345678901234567890123456789012345678901234567890123",
	};
	struct nb_stats base = nb_stats_read();
	struct numabuf_ctx *ctx = nb_ctx();
	struct numabuf *buf = NULL;
	size_t i;
	int ret;

	ret = numabuf_alloc_near(ctx, NB_PAGE, "0000:99:1f.7", 0, &buf);
	NB_CHECK(ret == -ENODEV, "missing device: %d, expected -ENODEV", ret);
	ret = numabuf_alloc_near(ctx, NB_PAGE, "nosuchdevice", 0, &buf);
	NB_CHECK(ret == -ENODEV, "missing device: %d, expected -ENODEV", ret);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = numabuf_alloc_near(ctx, NB_PAGE, bad[i], 0, &buf);
		NB_CHECK(ret == -EINVAL, "device '%s': %d, expected -EINVAL",
			 bad[i], ret);
	}
	ret = numabuf_alloc_near(ctx, NB_PAGE, NULL, 0, &buf);
	NB_CHECK(ret == -EINVAL, "NULL device: %d", ret);
	ret = numabuf_alloc_near(NULL, NB_PAGE, NB_EDU_NODE1, 0, &buf);
	NB_CHECK(ret == -EINVAL, "NULL context: %d", ret);
	NB_CHECK(buf == NULL, "a failed call set *buf");
	NB_STATS_EXPECT(base, 0, 0);
	numabuf_close(ctx);
}

/* ---- numabufctl alloc --near ---- */

static const char *nb_ctl_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("NB_CTL");
	char exe[PATH_MAX - 32];
	ssize_t n;

	if (env && *env)
		return env;
	/* <top>/build/suite/t_dma_near -> <top>/tools/numabufctl */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(path, sizeof(path), "%s/../../tools/numabufctl", exe);
	NB_CHECK(!access(path, X_OK), "no %s: make -C tools, or set NB_CTL", path);
	return path;
}

struct nb_run {
	int status;
	char out[4096];
	char err[4096];
};

static void nb_slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	NB_CHECK(n >= 0, "read output: %s", strerror(errno));
	buf[n] = 0;
	close(fd);
}

/* numabufctl ARGS..., its exit status and output in @r. */
static void nb_ctl(struct nb_run *r, const char *const *args)
{
	const char *argv[16];
	int out, err, status, i;
	pid_t pid;

	argv[0] = nb_ctl_path();
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	out = NB_SYS(memfd_create("out", MFD_CLOEXEC));
	err = NB_SYS(memfd_create("err", MFD_CLOEXEC));
	pid = NB_SYS(fork());
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	nb_slurp(out, r->out, sizeof(r->out));
	nb_slurp(err, r->err, sizeof(r->err));
}
#define NB_CTL(r, ...) nb_ctl(r, (const char *const[]){ __VA_ARGS__, NULL })

#define NB_HAS(text, what)						\
	NB_CHECK(strstr(text, what), "output lacks '%s': %s", what, text)

NB_TEST(near_ctl,
	"numabufctl alloc --near: edu 81:00.0 gives node 1 (JSON device, device-node 1, --verify: every page on the node by move_pages, contiguous); edu 00:11.0 says it has no node and uses the caller's (pinned to node 1, then 0); a missing device fails with its reason; --near with --node is a usage error")
{
	struct nb_run r;
	char want[160];
	int n;

	nb_sysfs_node(NB_EDU_NODE1);
	NB_CTL(&r, "-j", "alloc", "--size", "2M", "--near", NB_EDU_NODE1,
	       "--verify");
	NB_CHECK(r.status == 0, "alloc --near %s: exit %d: %s", NB_EDU_NODE1,
		 r.status, r.err);
	NB_CHECK(!r.err[0], "unexpected stderr: %s", r.err);
	NB_HAS(r.out, "\"node\":1,");
	NB_HAS(r.out, "\"device\":\"" NB_EDU_NODE1 "\"");
	NB_HAS(r.out, "\"device-node\":1");
	NB_HAS(r.out, "\"pages\":512,\"pages_on_node\":512,\"contiguous\":true");

	NB_CTL(&r, "alloc", "-s", "64K", "--near", NB_EDU_NODE1, "--preferred");
	NB_CHECK(r.status == 0, "alloc --near --preferred: exit %d: %s",
		 r.status, r.err);
	NB_HAS(r.out, "node 1 ");
	NB_HAS(r.out, "device " NB_EDU_NODE1 " device-node 1");

	for (n = 1; n >= 0; n--) {
		nb_pin_to_node(n);	/* inherited by numabufctl */
		NB_CTL(&r, "-j", "alloc", "--size", "64K", "--near",
		       NB_EDU_NONODE, "--verify");
		NB_CHECK(r.status == 0, "alloc --near %s: exit %d: %s",
			 NB_EDU_NONODE, r.status, r.err);
		snprintf(want, sizeof(want),
			 "device %s has no NUMA node; allocated on the caller's node %d",
			 NB_EDU_NONODE, n);
		NB_HAS(r.err, want);
		snprintf(want, sizeof(want), "\"node\":%d,", n);
		NB_HAS(r.out, want);
		NB_HAS(r.out, "\"device-node\":null");
		NB_HAS(r.out, "\"pages\":16,\"pages_on_node\":16");
	}

	NB_CTL(&r, "alloc", "--size", "64K", "--near", "0000:99:1f.7");
	NB_CHECK(r.status == 1, "missing device: exit %d", r.status);
	NB_HAS(r.err, "device '0000:99:1f.7': No such device");
	NB_CTL(&r, "alloc", "--size", "64K", "--near", "../x");
	NB_CHECK(r.status == 1, "bad name: exit %d", r.status);
	NB_HAS(r.err, "Invalid argument");
	NB_CTL(&r, "alloc", "--size", "64K", "--near", NB_EDU_NODE1, "--node",
	       "0");
	NB_CHECK(r.status == 2, "--near with --node: exit %d", r.status);
	NB_HAS(r.err, "--node and --near exclude each other");
}
