// SPDX-License-Identifier: GPL-2.0
/*
 * examples/rdma-pingpong, run as a user runs it, on soft-RoCE
 * (tests/suite/rxe-up.sh; SKIP when the kernel has no rdma_rxe).
 *
 * For node 0 and node 1 it runs build/examples/rdma-pingpong with a small
 * number of round trips and checks: exit status 0, the payload line
 * ("N of N round trips intact": the example compares every byte of every
 * message), and the buffer line, which must name the node asked for three
 * times over (asked, numabuf's answer, move_pages(2)'s).  The harness then
 * checks, independently of the example, that the module's counters and
 * free memory are back where they were: the example released its buffer
 * and its memory region.  A node that is not online must make the example
 * fail (exit 1, no payload line), so a program that always says yes
 * cannot pass.
 *
 * The example is $NB_EX_RDMA, else ../examples/rdma-pingpong beside this
 * binary (build/suite/ -> build/examples/).  It is built only where
 * libibverbs-dev is installed: missing there, the test SKIPs; missing
 * with the headers present, it FAILs (the build was skipped).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

/* rxe's port query on a dummy netdev (which has no link speed) logs this. */
#define NB_RXE_SPEED_MSG "nbd0 speed is unknown, defaulting to 1000"

static char nb_top[PATH_MAX - 64];
/* rxe-up.sh's exit status in the constructor; -1: it did not run. */
static int nb_rxe_early_status = -1;

/* The tree the binary sits in: <top>/build/suite/t_ex_rdma. */
static const char *nb_tree(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *p;

	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	p = strstr(exe, "/build/suite/");
	NB_CHECK(p, "%s is not under <tree>/build/suite/", exe);
	*p = 0;
	NB_CHECK(strlen(exe) < sizeof(nb_top), "path too long: %s", exe);
	memcpy(nb_top, exe, strlen(exe) + 1);
	return nb_top;
}

struct nb_run {
	int status;		/* exit status, 128 + signal if killed */
	char out[16384];
	char err[4096];
};

static void nb_read_memfd(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	NB_CHECK(n >= 0, "read output: %s", strerror(errno));
	buf[n] = 0;
	close(fd);
}

/* Run @argv (argv[0] a path), stdout and stderr captured. */
static void nb_runv(struct nb_run *r, char *const *argv)
{
	int out = NB_SYS(memfd_create("out", MFD_CLOEXEC));
	int err = NB_SYS(memfd_create("err", MFD_CLOEXEC));
	int status;
	pid_t pid = NB_SYS(fork());

	if (pid == 0) {
		if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	NB_SYS(waitpid(pid, &status, 0));
	r->status = WIFEXITED(status) ? WEXITSTATUS(status)
				      : 128 + WTERMSIG(status);
	nb_read_memfd(out, r->out, sizeof(r->out));
	nb_read_memfd(err, r->err, sizeof(r->err));
}

/*
 * Loading rdma_rxe, ib_core and ib_uverbs takes about 3 MiB, which the
 * harness would hold against the first test as memory not given back:
 * bring soft-RoCE up once before any test takes its measure (each test
 * that needs it runs rxe-up.sh again only if this failed, for the
 * reason).  Not when the binary only lists its tests.  glibc passes main()'s arguments
 * to constructors.
 */
__attribute__((constructor)) static void nb_rxe_early(int argc, char **argv)
{
	char exe[PATH_MAX], *p;
	ssize_t n;
	int i, status;
	pid_t pid;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "-h"))
			return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	p = strstr(exe, "/build/suite/");
	if (!p || (size_t)(p - exe) + 32 > sizeof(exe))
		return;
	strcpy(p, "/tests/suite/rxe-up.sh");
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, exe, "up", (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		nb_rxe_early_status = WEXITSTATUS(status);
}

/*
 * The path of the example (or SKIP), and soft-RoCE up (or SKIP) if @rxe.
 */
static const char *nb_setup(char *ex, size_t len, bool rxe)
{
	const char *top = nb_tree(), *env = getenv("NB_EX_RDMA");
	char script[PATH_MAX];
	struct nb_run r;

	if (env && *env)
		snprintf(ex, len, "%s", env);
	else
		snprintf(ex, len, "%s/build/examples/rdma-pingpong", top);
	if (access(ex, X_OK)) {
		if (access("/usr/include/infiniband/verbs.h", F_OK))
			nb_skip("no %s: libibverbs-dev is not installed", ex);
		NB_FAIL("no %s although libibverbs-dev is installed: make examples", ex);
	}

	nb_kmsg_expect(NB_RXE_SPEED_MSG);
	if (!rxe || nb_rxe_early_status == 0)
		return ex;
	snprintf(script, sizeof(script), "%s/tests/suite/rxe-up.sh", top);
	nb_runv(&r, (char *const[]){ script, "up", NULL });
	if (r.status == 77)
		nb_skip("no soft-RoCE: %s", r.err);
	NB_CHECK(r.status == 0, "rxe-up.sh: exit %d: %s", r.status, r.err);
	return ex;
}

static void nb_pingpong(int node, const char *size, const char *iters)
{
	char ex[PATH_MAX], want[128], nodestr[16], *line, *save;
	unsigned long long ok, total;
	struct nb_run r;
	size_t len;

	if (!nb_node_online(node))
		nb_skip("node %d is not online", node);
	nb_setup(ex, sizeof(ex), true);
	snprintf(nodestr, sizeof(nodestr), "%d", node);
	nb_runv(&r, (char *const[]){ ex, "--node", nodestr, "--size", (char *)size,
				     "--iters", (char *)iters, NULL });
	len = strlen(r.out);
	nb_note("rdma-pingpong --node %d --size %s --iters %s:", node, size,
		iters);
	for (line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		nb_note("  %s", line);
	/* strtok_r() cut the lines: put the newlines back. */
	for (char *c = r.out; c < r.out + len; c++)
		if (!*c)
			*c = '\n';
	NB_CHECK(r.status == 0, "exit %d: %s", r.status, r.err);

	/* The placement, as the example saw it with move_pages(2). */
	snprintf(want, sizeof(want), "node %d asked, numabuf says %d, move_pages says %d\n",
		 node, node, node);
	line = strstr(r.out, "buffer: ");
	NB_CHECK(line, "no buffer line in:\n%s", r.out);
	NB_CHECK(strstr(line, want), "expected \"%s\" in:\n%s", want, r.out);

	line = strstr(r.out, "payloads: ");
	NB_CHECK(line && sscanf(line, "payloads: %llu of %llu", &ok, &total) == 2,
		 "no payload line in:\n%s", r.out);
	NB_CHECK(total == strtoull(iters, NULL, 0) && ok == total,
		 "%llu of %llu round trips intact, %s asked", ok, total, iters);
	NB_CHECK(strstr(r.out, "latency: ") && strstr(r.out, "throughput: "),
		 "no latency or throughput line in:\n%s", r.out);
}

NB_TEST(ex_rdma_node0,
	"rdma-pingpong --node 0: exit 0, every payload intact, buffer on node 0")
{
	nb_pingpong(0, "4096", "100");
}

/* Above the MTU (1024 on rxe), so each message is several packets. */
NB_TEST(ex_rdma_node1,
	"rdma-pingpong --node 1, 64 KiB messages: exit 0, every payload intact, buffer on node 1")
{
	nb_pingpong(1, "65536", "30");
}

NB_TEST(ex_rdma_bad_node,
	"rdma-pingpong on a node that is not online exits 1 and reports no payloads")
{
	char ex[PATH_MAX], nodestr[16];
	struct nb_run r;
	int node = 0;

	/* It must fail at its allocation, before it needs a device. */
	nb_setup(ex, sizeof(ex), false);
	while (nb_node_online(node))
		node++;
	snprintf(nodestr, sizeof(nodestr), "%d", node);
	nb_runv(&r, (char *const[]){ ex, "--node", nodestr, "--iters", "2", NULL });
	NB_CHECK(r.status == 1, "exit %d for node %d (expected 1): %s%s",
		 r.status, node, r.out, r.err);
	NB_CHECK(!strstr(r.out, "payloads: "), "payloads reported for node %d:\n%s",
		 node, r.out);
}
