// SPDX-License-Identifier: GPL-2.0
/*
 * The programs of examples/ (built by `make examples` into build/examples/)
 * run as a user runs them, their claims checked from outside: the module's
 * counters (debugfs numabuf/stats) back to where they were once each has
 * exited, the events the module announced while they ran (read by the test
 * itself, not by the example), their exit status and messages on bad input,
 * and one of them run as nobody in the device's group.
 *
 * The examples are found in $NB_EXAMPLES, else build/examples of the tree
 * this file was compiled in, else ../examples beside the test binary.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

/* A group id for "numabuf" that the host's /etc/group does not use. */
#define NB_GID		4242
#define NB_MEMLOCK	(8 * NB_MIB)

static const char *ex_path(const char *prog)
{
	static char path[PATH_MAX];
	const char *env = getenv("NB_EXAMPLES");
	char exe[PATH_MAX - 64], *p;
	ssize_t n;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s/%s", env, prog);
		return path;
	}
	snprintf(path, sizeof(path), "%s", __FILE__);
	p = strstr(path, "/tests/suite/t_examples.c");
	if (path[0] == '/' && p) {
		snprintf(p, sizeof(path) - (size_t)(p - path), "/build/examples/%s", prog);
		if (!access(path, X_OK))
			return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/../examples/%s", exe, prog);
		if (!access(path, X_OK))
			return path;
	}
	NB_FAIL("no %s: build the examples (make examples) or set NB_EXAMPLES", prog);
}

struct ex_run {
	int status;		/* exit status; 128 + signal */
	char out[16384];
	char err[4096];
};

static struct ex_run r;

static void read_memfd(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/* An executable memfd copy of @path: nobody may not reach the tree. */
static int exe_copy(const char *path)
{
	int in = NB_SYS(open(path, O_RDONLY | O_CLOEXEC));
	int fd = NB_SYS(memfd_create("example", 0));
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		NB_CHECK(write(fd, buf, (size_t)n) == n, "copy: %s", strerror(errno));
	close(in);
	return fd;
}

/*
 * Start @prog with @args (NULL-terminated), stdout into @outfd (a memfd or
 * a pipe), stderr into @errfd.  With @member it runs as nobody in group
 * NB_GID with Debian's default memlock, through prlimit and setpriv as an
 * administrator would start it, from a memfd copy (nobody may not reach
 * the tree).
 */
static pid_t ex_start(const char *prog, const char *const *args, int outfd,
		      int errfd, int member)
{
	const char *argv[24], *path = ex_path(prog);
	char exe[64], lim[64], gid[32];
	int i = 0, j;
	pid_t pid;

	if (member) {
		snprintf(lim, sizeof(lim), "--memlock=%llu:%llu", NB_MEMLOCK, NB_MEMLOCK);
		snprintf(gid, sizeof(gid), "--groups=%d", NB_GID);
		argv[i++] = "prlimit";
		argv[i++] = lim;
		argv[i++] = "setpriv";
		argv[i++] = "--reuid=65534";
		argv[i++] = "--regid=65534";
		argv[i++] = gid;
		argv[i++] = exe;
	} else {
		argv[i++] = path;
	}
	for (j = 0; args[j] && i < 22; j++)
		argv[i++] = args[j];
	argv[i] = NULL;
	fflush(NULL);
	pid = NB_SYS(fork());
	if (pid == 0) {
		NB_SYS(dup2(outfd, 1));
		NB_SYS(dup2(errfd, 2));
		if (member) {
			snprintf(exe, sizeof(exe), "/proc/self/fd/%d", exe_copy(path));
			execvp(argv[0], (char *const *)argv);
		} else {
			execv(path, (char *const *)argv);
		}
		NB_FAIL("exec %s: %s", argv[0], strerror(errno));
	}
	return pid;
}

static int ex_wait(pid_t pid)
{
	int status;

	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void ex_run_as(int member, const char *prog, const char *const *args)
{
	int out = NB_SYS(memfd_create("out", MFD_CLOEXEC));
	int err = NB_SYS(memfd_create("err", MFD_CLOEXEC));

	r.status = ex_wait(ex_start(prog, args, out, err, member));
	read_memfd(out, r.out, sizeof(r.out));
	read_memfd(err, r.err, sizeof(r.err));
}

#define EX_RUN(member, prog, ...) \
	ex_run_as(member, prog, (const char *const[]){ __VA_ARGS__, NULL })

/* The last run's stdout has @s. */
#define OUT_HAS(s)							\
	NB_CHECK(strstr(r.out, s), "output lacks '%s':\n%s\nstderr: %s", s, r.out, r.err)

static char *fmt(const char *f, int a, int b)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), f, a, b);
	return buf[i];
}

NB_TEST(examples_basics,
	"examples/basics --node N --size 4M on every node: exit 0, says node N, move_pages and pagemap contiguity, lists its buffer over netlink; the module's counters are back once it exited; on a node that is not online it exits 1 with 'not online' and leaves nothing")
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES), i, off;
	struct nb_stats base = nb_stats_read();
	char node[16];

	for (i = 0; i < n; i++) {
		snprintf(node, sizeof(node), "%d", nodes[i]);
		EX_RUN(0, "basics", "--node", node, "--size", "4M");
		NB_CHECK(r.status == 0, "basics --node %s: exit %d: %s", node,
			 r.status, r.err);
		OUT_HAS(fmt("allocated 4194304 bytes on node %d", nodes[i], 0));
		OUT_HAS(fmt("move_pages: 1024 of 1024 pages on node %d", nodes[i], 0));
		OUT_HAS("physically contiguous, at numabuf_phys()");
		OUT_HAS(fmt("4194304 bytes on node %d, 1 mapping(s)", nodes[i], 0));
		NB_STATS_EXPECT(base, 0, 0);
	}
	off = nodes[n - 1] + 1;
	while (nb_node_online(off))
		off++;
	snprintf(node, sizeof(node), "%d", off);
	EX_RUN(0, "basics", "--node", node);
	NB_CHECK(r.status == 1 && strstr(r.err, "not online"),
		 "basics --node %s (offline): exit %d, stderr: %s", node, r.status, r.err);
	NB_STATS_EXPECT(base, 0, 0);
}

/* Read lines from @fd until one has @want; fails after @secs. */
static void read_until(int fd, char *buf, size_t len, size_t *used,
		       const char *want, int secs)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double end = nb_now() + secs * nb_slow();
	ssize_t n;

	while (!strstr(buf, want)) {
		NB_CHECK(nb_now() < end, "no '%s' from monitor in %d s; got:\n%s",
			 want, secs, buf);
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, buf + *used, len - 1 - *used);
		NB_CHECK(n > 0, "monitor's output ended; got:\n%s", buf);
		*used += (size_t)n;
		buf[*used] = 0;
	}
}

NB_TEST(examples_monitor,
	"examples/monitor --count 4 prints, in order, the created and freed events of a buffer the test allocates with the raw ioctls (its id, size, node, pid) and of the buffer examples/basics allocates on another node (comm basics), then exits 0; nothing left")
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);
	int other = nodes[n - 1], pfd[2], err, fd, st;
	struct nb_stats base = nb_stats_read();
	struct numabuf_alloc a;
	struct numabuf_info info;
	char out[8192] = "", node[16];
	size_t used = 0;
	pid_t mon;

	NB_SYS(pipe2(pfd, O_CLOEXEC));
	err = NB_SYS(memfd_create("err", MFD_CLOEXEC));
	mon = ex_start("monitor", (const char *const[]){ "--count", "4",
			"--timeout", "30", NULL }, pfd[1], err, 0);
	close(pfd[1]);
	read_until(pfd[0], out, sizeof(out), &used, "listening\n", 10);

	fd = nb_open();
	a = nb_alloc_ok(fd, 8192, nodes[0], 0);
	NB_CHECK(!nb_info(fd, a.handle, &info), "INFO failed");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
	snprintf(node, sizeof(node), "%d", other);
	EX_RUN(0, "basics", "--node", node, "--size", "64K");
	NB_CHECK(r.status == 0, "basics: exit %d: %s", r.status, r.err);

	read_until(pfd[0], out, sizeof(out), &used, "size 65536", 20);
	st = ex_wait(mon);
	/* It has exited: the rest of its output is in the pipe. */
	while ((err = (int)read(pfd[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)err, out[used] = 0;
	NB_CHECK(st == 0, "monitor exited %d; output:\n%s", st, out);
	/* Our buffer (size, node, our pid), then basics' (its comm). */
	{
		char *l1 = strstr(out, "listening\n") + 10, *l2, *l3, *l4;
		unsigned int id1, id1f, id2, id2f;

		l2 = strchr(l1, '\n');
		NB_CHECK(l2, "monitor printed too little:\n%s", out);
		l2++;
		l3 = strchr(l2, '\n');
		NB_CHECK(l3, "monitor printed too little:\n%s", out);
		l3++;
		l4 = strchr(l3, '\n');
		NB_CHECK(l4, "monitor printed too little:\n%s", out);
		l4++;
		NB_CHECK(sscanf(l1, "created id %u size 8192 node %d pid %d ",
				&id1, &st, &fd) == 3 && st == nodes[0] && fd == getpid(),
			 "event 1 is not our buffer's creation:\n%s", out);
		NB_CHECK(sscanf(l2, "freed id %u size 8192 node %d", &id1f, &st) == 2 &&
			 id1f == id1 && st == nodes[0],
			 "event 2 is not our buffer's free:\n%s", out);
		NB_CHECK(sscanf(l3, "created id %u size 65536 node %d pid %d ",
				&id2, &st, &fd) == 3 && st == other && fd != getpid() &&
			 strstr(l3, "comm basics\n") == strchr(l3, '\n') - 11,
			 "event 3 is not basics' creation on node %d:\n%s", other, out);
		NB_CHECK(sscanf(l4, "freed id %u size 65536 node %d", &id2f, &st) == 2 &&
			 id2f == id2 && st == other,
			 "event 4 is not basics' free:\n%s", out);
		NB_CHECK(id2 != id1, "two buffers with id %u", id1);
	}
	close(pfd[0]);
	NB_STATS_EXPECT(base, 0, 0);
}

NB_TEST(examples_pass_dmabuf,
	"examples/pass-dmabuf on each of the first two nodes: the sender frees its handle and still sees its buffer alive through one dma-buf, the receiver checks the data and replies, exit 0; the module's counters are back once both processes exited")
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES), i;
	struct nb_stats base = nb_stats_read();
	char node[16];

	for (i = 0; i < n && i < 2; i++) {
		snprintf(node, sizeof(node), "%d", nodes[i]);
		EX_RUN(0, "pass-dmabuf", "--node", node, "--size", "1048576");
		NB_CHECK(r.status == 0, "pass-dmabuf --node %s: exit %d: %s\n%s",
			 node, r.status, r.err, r.out);
		OUT_HAS(fmt("sender: 1048576 bytes on node %d exported", nodes[i], 0));
		OUT_HAS(fmt("(1048576 bytes, node %d) still alive, held by 1 dma-buf(s)",
			    nodes[i], 0));
		OUT_HAS("receiver: 1048576 bytes as sent, reply written");
		OUT_HAS("sender: reply checked");
		NB_STATS_EXPECT(base, 0, 0);
	}
}

NB_TEST(examples_unprivileged,
	"examples/basics as nobody in the device's group (mode 0660, memlock 8 MiB): 4 MiB works with the physical address and pagemap frames hidden; 6 MiB (a range, range_users=0) exits 1 with the pointer to pools; pass-dmabuf works; counters back")
{
	struct nb_stats base = nb_stats_read();
	struct stat st;
	FILE *f = fopen("/sys/module/numabuf/parameters/range_users", "re");
	int ok = f ? fgetc(f) : 0;

	if (f)
		fclose(f);
	if (ok == 'Y' || ok == '1')
		nb_skip("range_users=1: ranges are open to users here");
	NB_SYS(stat(NB_DEV, &st));
	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
	ok = 0;
	EX_RUN(1, "basics", "--node", "0", "--size", "4M");
	if (r.status == 0 && strstr(r.out, "phys hidden") &&
	    strstr(r.out, "pagemap: frame numbers hidden") &&
	    strstr(r.out, "move_pages: 1024 of 1024 pages on node 0")) {
		ok = 1;
		/* Above 4 MiB (a range) but within memlock: EPERM, explained. */
		EX_RUN(1, "basics", "--node", "0", "--size", "6M");
	}
	if (ok == 1 && r.status == 1 && strstr(r.err, "needs root or a pool")) {
		ok = 2;
		EX_RUN(1, "pass-dmabuf", "--node", "0");
	}
	if (ok == 2 && r.status == 0 && strstr(r.out, "sender: reply checked"))
		ok = 3;
	if (chown(NB_DEV, st.st_uid, st.st_gid) || chmod(NB_DEV, st.st_mode & 07777))
		NB_FAIL("restoring %s: %s", NB_DEV, strerror(errno));
	NB_CHECK(ok == 3, "as nobody (%d of 3 runs passed): exit %d\nstdout:\n%s\nstderr: %s",
		 ok, r.status, r.out, r.err);
	NB_STATS_EXPECT(base, 0, 0);
}
