// SPDX-License-Identifier: GPL-2.0
/*
 * numabufctl's control-plane commands (nodes, list, stats, pool, limit,
 * monitor), run as a user runs them, mostly with -j, their output checked
 * against what is known without them: sysfs (node meminfo and cpulist, the
 * module parameters), the raw ioctls, /proc/self/pagemap, debugfs
 * numabuf/stats and numabuf/nodes, and the events a scripted sequence of
 * ioctls must cause.
 *
 * numabufctl is $NB_CTL, else tools/numabufctl of the tree this file was
 * compiled in, else ../../tools/numabufctl from the test binary (the tree's
 * build/<dir>/).  The tests that change a pool or a limit put it back
 * even when they fail: the checks run in a child, the restoring in the
 * test process.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_STATS_PATH	"/sys/kernel/debug/numabuf/stats"
#define NB_NODES_PATH	"/sys/kernel/debug/numabuf/nodes"
#define NB_GIB		(1024ULL * NB_MIB)

/* numabufctl's exit status, as numabufctl(8) defines it. */
#define NB_EXIT_USAGE		2
#define NB_EXIT_NO_MODULE	3
#define NB_EXIT_DENIED		4
#define NB_EXIT_LIMIT		5

/* ---- small helpers ---- */

__attribute__((format(printf, 1, 2)))
static char *nb_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	NB_CHECK(n >= 0, "out of memory");
	return s;
}

static bool nb_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static uint64_t nb_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A small text file without its trailing newline, or fail. */
static void nb_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	NB_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	NB_CHECK(n >= 0, "read %s: %s", path, strerror(errno));
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* The smallest node id that is not online. */
static int nb_offline_node(void)
{
	int node = 0;

	while (nb_node_online(node))
		node++;
	return node;
}

/* One node's line of debugfs numabuf/stats: buffers and bytes. */
static void nb_stats_node(int node, long long *buffers, long long *bytes)
{
	char line[256];
	FILE *f = fopen(NB_STATS_PATH, "re");
	int n, found = 0;

	NB_CHECK(f, "%s: %s", NB_STATS_PATH, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %lld %lld", &n, buffers, bytes) == 3 &&
		    n == node) {
			found = 1;
			break;
		}
	fclose(f);
	NB_CHECK(found, "no line for node %d in %s", node, NB_STATS_PATH);
}

/*
 * The columns of debugfs numabuf/nodes summed over the nodes: pool target,
 * bytes, free, largest, then allocs and fails by source.
 */
static void nb_nodes_sum(unsigned long long sum[10])
{
	unsigned long long v[10];
	char line[512];
	FILE *f = fopen(NB_NODES_PATH, "re");
	int n, i;

	NB_CHECK(f, "%s: %s", NB_NODES_PATH, strerror(errno));
	memset(sum, 0, 10 * sizeof(*sum));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &n, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7], &v[8], &v[9]) == 11)
			for (i = 0; i < 10; i++)
				sum[i] += v[i];
	fclose(f);
}

static struct numabuf_pool nb_pool_get(int fd, int node)
{
	struct numabuf_pool p = { .size = sizeof(p), .node = node };

	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_GET, &p), "POOL_GET node %d: %s",
		 node, nb_errname(errno));
	return p;
}

/* ---- running numabufctl ---- */

static const char *nb_ctl_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("NB_CTL");
	char exe[PATH_MAX - 32], *p;
	ssize_t n;

	if (env && *env)
		return env;
	/* The tree this file was compiled in. */
	snprintf(path, sizeof(path), "%s", __FILE__);
	p = strstr(path, "/tests/suite/t_ctl.c");
	if (path[0] == '/' && p) {
		snprintf(p, sizeof(path) - (size_t)(p - path), "/tools/numabufctl");
		if (!access(path, X_OK))
			return path;
	}
	/* The tree the binary sits in: <top>/build/<dir>/t_ctl. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/../../tools/numabufctl", exe);
		if (!access(path, X_OK))
			return path;
	}
	NB_FAIL("no numabufctl: build it (make -C tools) or set NB_CTL");
}

/* Who runs numabufctl. */
enum {
	NB_AS_ROOT,
	NB_AS_NO_SYS_ADMIN,	/* root without CAP_SYS_ADMIN */
	NB_AS_NOBODY,		/* uid 65534, no capabilities */
};

struct nb_ctl {
	char cmd[512];		/* for messages */
	int status;		/* exit status; 128 + the signal if killed */
	char out[1 << 17];
	char err[4096];
};

static struct nb_ctl nb_r;

/* Become @who in a child about to exec. */
static void nb_become(int who)
{
	if (who == NB_AS_NO_SYS_ADMIN)
		NB_SYS(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0));
	else if (who == NB_AS_NOBODY)
		nb_drop_privileges();
}

static void nb_read_memfd(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	NB_CHECK(n >= 0, "read numabufctl's output: %s", strerror(errno));
	buf[n] = 0;
	close(fd);
}

/* An executable memfd with a copy of the program at @path. */
static int nb_exe_copy(const char *path)
{
	int in = open(path, O_RDONLY | O_CLOEXEC), fd;
	char buf[65536];
	ssize_t n;

	NB_CHECK(in >= 0, "open %s: %s", path, strerror(errno));
	fd = NB_SYS(memfd_create("numabufctl", 0));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		NB_CHECK(write(fd, buf, (size_t)n) == n, "copying %s: %s",
			 path, strerror(errno));
	NB_CHECK(n == 0, "read %s: %s", path, strerror(errno));
	close(in);
	return fd;
}

static void nb_ctl_runv(struct nb_ctl *r, int who, const char *const *args)
{
	const char *argv[32];
	int out, err, status, i, exe;
	size_t pos;
	pid_t pid;

	argv[0] = nb_ctl_path();
	pos = (size_t)snprintf(r->cmd, sizeof(r->cmd), "numabufctl");
	for (i = 0; args[i]; i++) {
		NB_CHECK(i + 2 < (int)(sizeof(argv) / sizeof(argv[0])),
			 "too many arguments");
		argv[i + 1] = args[i];
		if (pos < sizeof(r->cmd))
			pos += (size_t)snprintf(r->cmd + pos, sizeof(r->cmd) - pos,
						" %s", args[i]);
	}
	argv[i + 1] = NULL;
	if (who != NB_AS_ROOT && pos < sizeof(r->cmd))
		snprintf(r->cmd + pos, sizeof(r->cmd) - pos, " (as %s)",
			 who == NB_AS_NOBODY ? "nobody" : "root without CAP_SYS_ADMIN");

	out = NB_SYS(memfd_create("ctl-out", MFD_CLOEXEC));
	err = NB_SYS(memfd_create("ctl-err", MFD_CLOEXEC));
	pid = NB_SYS(fork());
	if (pid == 0) {
		NB_SYS(dup2(out, 1));
		NB_SYS(dup2(err, 2));
		/*
		 * nobody may not reach the tree (a checkout under a 0700
		 * directory): it runs a copy, made while still root.
		 */
		exe = who == NB_AS_NOBODY ? nb_exe_copy(argv[0]) : -1;
		nb_become(who);
		if (exe >= 0)
			fexecve(exe, (char *const *)argv, environ);
		else
			execv(argv[0], (char *const *)argv);
		NB_FAIL("exec %s: %s", argv[0], strerror(errno));
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	nb_read_memfd(out, r->out, sizeof(r->out));
	nb_read_memfd(err, r->err, sizeof(r->err));
}

/*
 * Run numabufctl ARGS as @who: it must exit with @status, and its stderr
 * must contain @err_has (NULL: be empty).
 */
static void nb_ctl_expect_at(const char *file, int line, int who, int status,
			     const char *err_has, const char *const *args)
{
	struct nb_ctl *r = &nb_r;

	nb_ctl_runv(r, who, args);
	if (r->status != status)
		nb_fail_at(file, line, "%s: exit status %d, expected %d; stderr: %s",
			   r->cmd, r->status, status, r->err);
	if (err_has && !strstr(r->err, err_has))
		nb_fail_at(file, line, "%s: stderr lacks '%s': %s", r->cmd,
			   err_has, r->err);
	if (!err_has && r->err[0])
		nb_fail_at(file, line, "%s: unexpected stderr: %s", r->cmd,
			   r->err);
}

#define NB_CTL_EXPECT(who, status, err_has, ...)			\
	nb_ctl_expect_at(NB_FILE, __LINE__, who, status, err_has,	\
			 (const char *const[]){ __VA_ARGS__, NULL })
#define NB_CTL_OK(...)	NB_CTL_EXPECT(NB_AS_ROOT, 0, NULL, __VA_ARGS__)

/* The last numabufctl's stderr names @what (the kernel's reasons). */
#define NB_ERR_HAS(what)						\
	NB_CHECK(strstr(nb_r.err, what), "%s: stderr lacks '%s': %s",	\
		 nb_r.cmd, what, nb_r.err)

/* ---- a tiny JSON reader: arrays of flat objects, as numabufctl writes ---- */

#define NB_J_MEMBERS	40
#define NB_J_OBJECTS	256

struct nb_jmember {
	char key[32];
	char val[256];	/* a string unescaped; anything else as written */
	bool str;
};

struct nb_jobj {
	int n;
	struct nb_jmember m[NB_J_MEMBERS];
};

static struct nb_jobj nb_objs[NB_J_OBJECTS];

static const char *nb_jws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *nb_jstr(const char *p, char *out, size_t len)
{
	size_t n = 0;
	unsigned int u;
	char c;

	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		c = *p++;
		if (c == '\\') {
			c = *p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				if (sscanf(p, "%4x", &u) != 1)
					return NULL;
				p += 4;
				c = (char)u;
				break;
			case '"':
			case '\\':
			case '/':
				break;
			default:
				return NULL;
			}
		}
		if (n + 1 < len)
			out[n++] = c;
	}
	if (*p != '"')
		return NULL;
	out[n] = 0;
	return p + 1;
}

static const char *nb_jval(const char *p, struct nb_jmember *m)
{
	const char *start = p;
	char tmp[256];

	m->str = *p == '"';
	if (m->str)
		return nb_jstr(p, m->val, sizeof(m->val));
	if (*p == '[') {	/* an array of scalars, kept as written */
		while (*p && *p != ']') {
			if (*p == '"') {
				p = nb_jstr(p, tmp, sizeof(tmp));
				if (!p)
					return NULL;
			} else {
				p++;
			}
		}
		if (*p++ != ']')
			return NULL;
	} else {
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '+')
			p++;
		if (p == start)
			return NULL;
	}
	snprintf(m->val, sizeof(m->val), "%.*s", (int)(p - start), start);
	return p;
}

static const char *nb_jobject(const char *p, struct nb_jobj *o)
{
	struct nb_jmember *m;

	o->n = 0;
	p = nb_jws(p);
	if (*p++ != '{')
		return NULL;
	p = nb_jws(p);
	if (*p == '}')
		return p + 1;
	for (;;) {
		if (o->n == NB_J_MEMBERS)
			return NULL;
		m = &o->m[o->n++];
		p = nb_jstr(nb_jws(p), m->key, sizeof(m->key));
		if (!p)
			return NULL;
		p = nb_jws(p);
		if (*p++ != ':')
			return NULL;
		p = nb_jval(nb_jws(p), m);
		if (!p)
			return NULL;
		p = nb_jws(p);
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* @text is exactly one object (and a newline): parse it into @o. */
static void nb_jparse_object_at(const char *file, int line, const char *text,
				struct nb_jobj *o)
{
	const char *p = nb_jobject(text, o);

	if (!p || *nb_jws(p))
		nb_fail_at(file, line, "not one JSON object: '%.300s'", text);
}
#define NB_JOBJECT(text, o) nb_jparse_object_at(NB_FILE, __LINE__, text, o)

/* @text is exactly one array of objects: parse them into nb_objs. */
static int nb_jparse_array_at(const char *file, int line, const char *text)
{
	const char *p = nb_jws(text);
	int n = 0;

	if (*p++ != '[')
		goto bad;
	p = nb_jws(p);
	if (*p == ']')
		p++;
	while (p[-1] != ']') {
		if (n == NB_J_OBJECTS)
			goto bad;
		p = nb_jobject(p, &nb_objs[n++]);
		if (!p)
			goto bad;
		p = nb_jws(p);
		if (*p != ',' && *p != ']')
			goto bad;
		p++;
	}
	if (*nb_jws(p))
		goto bad;
	return n;
bad:
	nb_fail_at(file, line, "not a JSON array of objects: '%.300s'", text);
}
#define NB_JARRAY(text) nb_jparse_array_at(NB_FILE, __LINE__, text)

static const struct nb_jmember *nb_jfind(const struct nb_jobj *o,
					 const char *key)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].key, key))
			return &o->m[i];
	return NULL;
}

/* A member that must be a number (an integer; may be negative). */
static long long nb_jnum_at(const char *file, int line, const struct nb_jobj *o,
			    const char *key)
{
	const struct nb_jmember *m = nb_jfind(o, key);
	unsigned long long u;
	char *end;

	if (!m || m->str)
		nb_fail_at(file, line, "no number '%s' in the object (%d members, first '%s')",
			   key, o->n, o->n ? o->m[0].key : "");
	errno = 0;
	if (m->val[0] == '-')
		return strtoll(m->val, &end, 10);
	u = strtoull(m->val, &end, 10);
	if (errno || *end || u > LLONG_MAX)
		nb_fail_at(file, line, "'%s' is %s, not an integer", key, m->val);
	return (long long)u;
}
#define NB_JNUM(o, key) nb_jnum_at(NB_FILE, __LINE__, o, key)

/* A member that must be a string, or (@raw) anything, as text. */
static const char *nb_jtext_at(const char *file, int line,
			       const struct nb_jobj *o, const char *key, bool raw)
{
	const struct nb_jmember *m = nb_jfind(o, key);

	if (!m || (!raw && !m->str))
		nb_fail_at(file, line, "no %s '%s' in the object", raw ? "member" : "string", key);
	return m->val;
}
#define NB_JSTR(o, key) nb_jtext_at(NB_FILE, __LINE__, o, key, false)
#define NB_JRAW(o, key) nb_jtext_at(NB_FILE, __LINE__, o, key, true)

#define NB_JEQ(o, key, want)						\
	do {								\
		long long nb_got_ = NB_JNUM(o, key);			\
		NB_CHECK(nb_got_ == (long long)(want),			\
			 "%s: '%s' is %lld, expected %lld", nb_r.cmd,	\
			 key, nb_got_, (long long)(want));		\
	} while (0)

#define NB_JSTREQ(o, key, want)						\
	do {								\
		const char *nb_got_ = NB_JSTR(o, key);			\
		NB_CHECK(!strcmp(nb_got_, want),			\
			 "%s: '%s' is \"%s\", expected \"%s\"",		\
			 nb_r.cmd, key, nb_got_, want);			\
	} while (0)

/* The object of @n whose @key is @v, or NULL. */
static const struct nb_jobj *nb_jwith(int n, const char *key, long long v)
{
	const struct nb_jmember *m;
	int i;

	for (i = 0; i < n; i++) {
		m = nb_jfind(&nb_objs[i], key);
		if (m && !m->str && strtoll(m->val, NULL, 10) == v)
			return &nb_objs[i];
	}
	return NULL;
}

/* ---- a monitor in the background ---- */

struct nb_mon {
	pid_t pid;
	int fd;
	char buf[16384];
	size_t len;
};

static void nb_mon_start(struct nb_mon *m, const char *const *args)
{
	const char *argv[16];
	int p[2], i;
	double end;
	long nr;

	argv[0] = nb_ctl_path();
	argv[1] = "monitor";
	for (i = 0; args[i] && i < 13; i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	NB_SYS(pipe2(p, O_CLOEXEC));
	m->len = 0;
	m->fd = p[0];
	m->pid = NB_SYS(fork());
	if (m->pid == 0) {
		NB_SYS(dup2(p[1], 1));
		execv(argv[0], (char *const *)argv);
		NB_FAIL("exec %s: %s", argv[0], strerror(errno));
	}
	close(p[1]);

	/*
	 * It has joined the events group once it sleeps in poll(2): it
	 * subscribes before its first poll, and polls nowhere else.
	 */
	end = nb_now() + 30.0 * nb_slow();
	for (;;) {
		nr = nb_blocked_syscall(m->pid);
		if (nr == SYS_poll || nr == SYS_ppoll)
			return;
		NB_CHECK(waitpid(m->pid, &i, WNOHANG) == 0,
			 "numabufctl monitor exited before it waited for events (status %#x)",
			 i);
		NB_CHECK(nb_now() < end,
			 "numabufctl monitor never waited for events in poll(2) (syscall %ld)",
			 nr);
		usleep(10000);
	}
}
#define NB_MON_START(m, ...) \
	nb_mon_start(m, (const char *const[]){ __VA_ARGS__, NULL })

/* The monitor's next line (without its newline), or fail after a while. */
static void nb_mon_line(struct nb_mon *m, char *line, size_t len)
{
	double end = nb_now() + 30.0 * nb_slow();
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
	char *nl;
	ssize_t n;
	size_t l;

	for (;;) {
		nl = memchr(m->buf, '\n', m->len);
		if (nl) {
			l = (size_t)(nl - m->buf);
			NB_CHECK(l < len, "monitor line too long");
			memcpy(line, m->buf, l);
			line[l] = 0;
			memmove(m->buf, nl + 1, m->len - l - 1);
			m->len -= l + 1;
			return;
		}
		NB_CHECK(nb_now() < end, "no line from numabufctl monitor in %u s (have '%.*s')",
			 30 * nb_slow(), (int)m->len, m->buf);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		NB_CHECK(m->len < sizeof(m->buf), "monitor output too long");
		n = read(m->fd, m->buf + m->len, sizeof(m->buf) - m->len);
		NB_CHECK(n > 0, "numabufctl monitor closed its output (read: %s) with '%.*s' pending",
			 n < 0 ? strerror(errno) : "EOF", (int)m->len, m->buf);
		m->len += (size_t)n;
	}
}

/* The monitor must exit by itself with status 0 and nothing more to say. */
static void nb_mon_end(struct nb_mon *m)
{
	double end = nb_now() + 30.0 * nb_slow();
	char buf[512];
	int status;
	ssize_t n;
	pid_t r;

	while ((r = waitpid(m->pid, &status, WNOHANG)) == 0) {
		if (nb_now() > end) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &status, 0);
			NB_FAIL("numabufctl monitor did not stop by itself in %u s",
				30 * nb_slow());
		}
		usleep(10000);
	}
	NB_CHECK(r == m->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "numabufctl monitor ended with status %#x", status);
	n = read(m->fd, buf, sizeof(buf) - 1);
	NB_CHECK(n == 0 && m->len == 0, "numabufctl monitor said more: '%.*s%.*s'",
		 (int)m->len, m->buf, (int)(n > 0 ? n : 0), buf);
	close(m->fd);
}

/* ---- the tests ---- */

NB_TEST(ctl_nodes,
	"nodes -j: every online node, mem-total and cpus as sysfs has them, buffers and bytes as debugfs numabuf/stats; NODES filters; text form")
{
	int nodes[NB_MAX_NODES], n = nb_online_nodes(nodes, NB_MAX_NODES);
	int fd = nb_open(), last = nodes[n - 1], k, i;
	static const char *const keys[] = {
		"pool-target", "pool-size", "pool-free", "pool-largest",
		"pool-low", "allocs-pages", "allocs-range", "allocs-pool",
		"fails-pages", "fails-range", "fails-pool",
	};
	struct numabuf_alloc a = nb_alloc_ok(fd, 4 * NB_MIB, last, 0);
	long long buffers, bytes, total, mfree, sfree;
	const struct nb_jobj *o;
	char cpus[4096], path[128], *line;
	size_t j;

	NB_CTL_OK("-j", "nodes");
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(k == n, "%s: %d nodes, %d online", nb_r.cmd, k, n);
	for (i = 0; i < n; i++) {
		o = &nb_objs[i];
		NB_JEQ(o, "id", nodes[i]);
		total = (long long)nb_node_meminfo(nodes[i], "MemTotal");
		NB_JEQ(o, "mem-total", total);
		/* Free memory moves; it is the same counter all the same. */
		mfree = NB_JNUM(o, "mem-free");
		sfree = (long long)nb_node_meminfo(nodes[i], "MemFree");
		NB_CHECK(mfree > 0 && mfree <= total && llabs(mfree - sfree) < 32 * (long long)NB_MIB,
			 "node %d: mem-free %lld, sysfs MemFree %lld, MemTotal %lld",
			 nodes[i], mfree, sfree, total);
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
			 nodes[i]);
		nb_read_file(path, cpus, sizeof(cpus));
		NB_JSTREQ(o, "cpus", cpus);
		nb_stats_node(nodes[i], &buffers, &bytes);
		NB_JEQ(o, "buffers", buffers);
		NB_JEQ(o, "bytes", bytes);
		if (nodes[i] == last)
			NB_CHECK(buffers >= 1 && bytes >= (long long)(4 * NB_MIB),
				 "node %d: %lld buffers, %lld bytes with a 4 MiB buffer there",
				 last, buffers, bytes);
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			NB_JNUM(o, keys[j]);
	}

	/* NODES in numactl's syntax. */
	NB_CTL_OK("-j", "nodes", "show", nb_fmt("%d", last));
	NB_CHECK(NB_JARRAY(nb_r.out) == 1, "%s: not one node", nb_r.cmd);
	NB_JEQ(&nb_objs[0], "id", last);
	NB_CTL_OK("-j", "nodes", nb_fmt("%d-%d", nodes[0], last));
	NB_CHECK(NB_JARRAY(nb_r.out) == n, "%s: not %d nodes", nb_r.cmd, n);
	NB_CTL_EXPECT(NB_AS_ROOT, 1, nb_fmt("node %d is not online", nb_offline_node()),
		      "nodes", nb_fmt("%d,%d", nodes[0], nb_offline_node()));

	/* Text: a line per node and two indented ones. */
	NB_CTL_OK("nodes");
	for (i = 0; i < n; i++) {
		line = strstr(nb_r.out, nb_fmt("node %d mem-total ", nodes[i]));
		NB_CHECK(line && (line == nb_r.out || line[-1] == '\n'),
			 "%s: no line for node %d: %s", nb_r.cmd, nodes[i], nb_r.out);
		NB_CHECK(strstr(line, "\n    pool-target ") &&
			 strstr(line, "\n    allocs-pages "),
			 "%s: node %d: %s", nb_r.cmd, nodes[i], line);
	}

	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(ctl_list,
	"list -j: a buffer allocated with the raw ioctl with its size, node, flags, source, pid, uid, comm, map-count, creation time and phys (pagemap's); --node, --pid, --uid filter; no phys without CAP_SYS_ADMIN; the kernel's messages")
{
	int mem[NB_MAX_NODES], nmem = nb_mem_nodes(mem, NB_MAX_NODES);
	int fd = nb_open(), first = mem[0], last = mem[nmem - 1], k;
	const char *pid = nb_fmt("%d", getpid());
	struct numabuf_alloc a, b;
	struct numabuf_info bi;
	const struct nb_jobj *oa, *ob;
	uint64_t t0, t1, pfn;
	long long ida, idb;
	char comm[16] = "", *p, *want;

	NB_SYS(prctl(PR_GET_NAME, comm));
	t0 = nb_realtime_ns();
	a = nb_alloc_ok(fd, 4 * NB_MIB, last, 0);
	b = nb_alloc_ok(fd, 64 * NB_KIB, first, NUMABUF_F_PREFERRED);
	t1 = nb_realtime_ns();
	p = nb_map(fd, a.offset, 4 * NB_MIB);
	nb_pfns(p, 1, &pfn);
	NB_CHECK(pfn, "pagemap shows no frame for the buffer's first page");
	NB_CHECK(!nb_info(fd, b.handle, &bi) && bi.phys, "INFO of the 64 KiB buffer");

	NB_CTL_OK("-j", "list");
	k = NB_JARRAY(nb_r.out);
	oa = nb_jwith(k, "size", 4 * NB_MIB);
	ob = nb_jwith(k, "size", 64 * NB_KIB);
	NB_CHECK(oa && ob, "%s: the buffers are not there: %s", nb_r.cmd, nb_r.out);
	NB_JEQ(oa, "node", last);
	NB_CHECK(!strcmp(NB_JRAW(oa, "flags"), "[]"), "flags %s", NB_JRAW(oa, "flags"));
	NB_JSTREQ(oa, "source", "pages");
	NB_JEQ(oa, "pid", getpid());
	NB_JEQ(oa, "uid", 0);
	NB_JSTREQ(oa, "comm", comm);
	NB_JEQ(oa, "map-count", 1);
	NB_JEQ(oa, "phys", pfn * NB_PAGE);
	NB_CHECK((uint64_t)NB_JNUM(oa, "created") >= t0 &&
		 (uint64_t)NB_JNUM(oa, "created") <= t1,
		 "created %lld not in [%llu, %llu]", NB_JNUM(oa, "created"),
		 (unsigned long long)t0, (unsigned long long)t1);
	NB_JEQ(ob, "node", b.node);
	NB_CHECK(!strcmp(NB_JRAW(ob, "flags"), "[\"preferred\"]"), "flags %s",
		 NB_JRAW(ob, "flags"));
	NB_JEQ(ob, "map-count", 0);
	NB_JEQ(ob, "phys", bi.phys);
	ida = NB_JNUM(oa, "id");
	idb = NB_JNUM(ob, "id");
	NB_CHECK(ida > 0 && idb > 0 && ida != idb, "ids %lld and %lld", ida, idb);

	/* --node: one node (the kernel filters), several, all. */
	NB_CTL_OK("-j", "list", "--node", nb_fmt("%d", last));
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(nb_jwith(k, "id", ida) && (b.node == last) == !!nb_jwith(k, "id", idb),
		 "%s: %s", nb_r.cmd, nb_r.out);
	NB_CHECK(!nb_jwith(k, "node", first) || first == last, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--node", nb_fmt("%d,%d", first, last), "--pid", pid);
	NB_CHECK(NB_JARRAY(nb_r.out) == 2, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--node", "all", "--pid", pid);
	NB_CHECK(NB_JARRAY(nb_r.out) == 2, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--node", nb_fmt("%d", nb_offline_node()));
	NB_CHECK(NB_JARRAY(nb_r.out) == 0, "%s: %s", nb_r.cmd, nb_r.out);

	/* --pid and --uid. */
	NB_CTL_OK("-j", "list", "--pid", pid);
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(k == 2 && nb_jwith(k, "id", ida) && nb_jwith(k, "id", idb),
		 "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--pid", "1");
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(!nb_jwith(k, "id", ida) && !nb_jwith(k, "id", idb), "%s: %s",
		 nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--uid", "root", "--pid", pid);
	NB_CHECK(NB_JARRAY(nb_r.out) == 2, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--uid", "0", "--pid", pid);
	NB_CHECK(NB_JARRAY(nb_r.out) == 2, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_OK("-j", "list", "--uid", nb_fmt("%d", NB_NOBODY));
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(!nb_jwith(k, "id", ida) && !nb_jwith(k, "id", idb), "%s: %s",
		 nb_r.cmd, nb_r.out);

	/* Text: one line per buffer, sizes for people, phys in hex. */
	NB_CTL_OK("list", "--pid", pid);
	want = nb_fmt("id %lld size 4MiB node %d flags - source pages pid %d uid 0 comm %s map-count 1 phys %#llx created ",
		      ida, last, getpid(), comm, (unsigned long long)(pfn * NB_PAGE));
	NB_CHECK(strstr(nb_r.out, want), "%s: no '%s' in: %s", nb_r.cmd, want, nb_r.out);
	want = nb_fmt("id %lld size 64KiB node %d flags preferred source pages pid %d uid 0 comm %s map-count 0 phys %#llx created ",
		      idb, b.node, getpid(), comm, (unsigned long long)bi.phys);
	NB_CHECK(strstr(nb_r.out, want), "%s: no '%s' in: %s", nb_r.cmd, want, nb_r.out);

	/* Without CAP_SYS_ADMIN: one's own buffers (uid 0 here), no phys. */
	NB_CTL_EXPECT(NB_AS_NO_SYS_ADMIN, 0, NULL, "-j", "list", "--pid", pid);
	k = NB_JARRAY(nb_r.out);
	NB_CHECK(k == 2 && !nb_jfind(&nb_objs[0], "phys") && !nb_jfind(&nb_objs[1], "phys"),
		 "%s: %s", nb_r.cmd, nb_r.out);
	/* nobody has no buffers, and sees none of root's. */
	NB_CTL_EXPECT(NB_AS_NOBODY, 0, NULL, "-j", "list");
	NB_CHECK(NB_JARRAY(nb_r.out) == 0, "%s: %s", nb_r.cmd, nb_r.out);

	/*
	 * What the kernel refuses, it explains: its message follows the
	 * errno's text (which alone would end the line), naming the
	 * attribute.
	 */
	NB_CTL_EXPECT(NB_AS_ROOT, 1, "list: Invalid argument: ", "list", "--pid", "99999999");
	NB_ERR_HAS("pid");
	NB_CTL_EXPECT(NB_AS_ROOT, 1, "list: Invalid argument: ", "list", "--node", "4000");
	NB_ERR_HAS("node");

	NB_SYS(munmap(p, 4 * NB_MIB));
	NB_CHECK(!nb_free(fd, a.handle) && !nb_free(fd, b.handle), "FREE failed");
	close(fd);
}

NB_TEST(ctl_stats,
	"stats -j: buffers and bytes as debugfs numabuf/stats has them, pools and allocations by source as the sums of debugfs numabuf/nodes, limits as the module parameters")
{
	int mem[NB_MAX_NODES], nmem = nb_mem_nodes(mem, NB_MAX_NODES);
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, 64 * NB_KIB, mem[0], 0);
	struct numabuf_alloc b = nb_alloc_ok(fd, 128 * NB_KIB, mem[nmem - 1], 0);
	static const char *const counts[] = {
		"allocs-pages", "allocs-range", "allocs-pool",
		"fails-pages", "fails-range", "fails-pool",
	};
	unsigned long long sum[10];
	struct nb_jobj o;
	struct nb_stats s;
	int i;

	NB_CTL_OK("-j", "stats");
	NB_JOBJECT(nb_r.out, &o);
	s = nb_stats_read();
	nb_nodes_sum(sum);
	NB_JEQ(&o, "buffers", s.buffers);
	NB_JEQ(&o, "bytes", s.bytes);
	NB_JEQ(&o, "total-bytes", s.bytes);
	NB_CHECK(s.buffers >= 2, "debugfs: %lld buffers with 2 allocated", s.buffers);
	NB_JEQ(&o, "pool-target", sum[0]);
	NB_JEQ(&o, "pool-size", sum[1]);
	NB_JEQ(&o, "pool-free", sum[2]);
	for (i = 0; i < 6; i++)
		NB_JEQ(&o, counts[i], sum[4 + i]);
	NB_CHECK(sum[4] >= 2, "debugfs: %llu page allocations", sum[4]);
	NB_JEQ(&o, "max-bytes", nb_param("max_bytes"));
	NB_JEQ(&o, "max-user-bytes", nb_param("max_user_bytes"));

	NB_CTL_OK("stats");
	NB_CHECK(nb_starts(nb_r.out, nb_fmt("buffers %lld bytes ", s.buffers)) &&
		 strstr(nb_r.out, "\npool-target ") &&
		 strstr(nb_r.out, "\nallocs-pages ") &&
		 strstr(nb_r.out, "\nmax-bytes "),
		 "%s: %s", nb_r.cmd, nb_r.out);

	NB_CHECK(!nb_free(fd, a.handle) && !nb_free(fd, b.handle), "FREE failed");
	close(fd);
}

static void ctl_pool_checks(int fd, int node)
{
	const char *n = nb_fmt("%d", node);
	struct numabuf_alloc a;
	struct numabuf_pool pg;
	struct nb_mon mon;
	struct nb_jobj o;
	char line[1024];
	double end;

	NB_CTL_OK("-j", "pool", "set", n, "8M", "--low", "4M");
	NB_JOBJECT(nb_r.out, &o);
	NB_JEQ(&o, "id", node);
	NB_JEQ(&o, "pool-target", 8 * NB_MIB);
	NB_JEQ(&o, "pool-size", 8 * NB_MIB);
	NB_JEQ(&o, "pool-low", 4 * NB_MIB);
	pg = nb_pool_get(fd, node);
	NB_CHECK(pg.target == 8 * NB_MIB && pg.pool_bytes == 8 * NB_MIB,
		 "POOL_GET after pool set 8M: target %llu, pool %llu",
		 (unsigned long long)pg.target, (unsigned long long)pg.pool_bytes);
	/* Until the worker has zeroed the new memory, largest free moves. */
	end = nb_now() + 60.0 * nb_slow();
	while ((pg = nb_pool_get(fd, node)).largest_free != 8 * NB_MIB && nb_now() < end)
		usleep(10000);
	NB_CHECK(pg.largest_free == 8 * NB_MIB, "POOL_GET: largest free %llu in an 8 MiB pool",
		 (unsigned long long)pg.largest_free);

	NB_CTL_OK("-j", "pool", "show", n);
	NB_CHECK(NB_JARRAY(nb_r.out) == 1, "%s: %s", nb_r.cmd, nb_r.out);
	NB_JEQ(&nb_objs[0], "pool-target", 8 * NB_MIB);
	NB_JEQ(&nb_objs[0], "pool-free", pg.free_bytes);
	NB_JEQ(&nb_objs[0], "pool-largest", pg.largest_free);
	NB_JEQ(&nb_objs[0], "pool-low", 4 * NB_MIB);
	NB_CTL_OK("pool", n);
	NB_CHECK(nb_starts(nb_r.out, nb_fmt("node %d pool-target 8MiB pool-size 8MiB pool-free ", node)) &&
		 strstr(nb_r.out, " pool-low 4MiB\n"), "%s: %s", nb_r.cmd, nb_r.out);

	/* Below the watermark: pool-low, as it comes. */
	NB_MON_START(&mon, "-j", "--count", "1", "--timeout", "120");
	a = nb_alloc_ok(fd, 6 * NB_MIB, node, NUMABUF_F_POOL);
	nb_mon_line(&mon, line, sizeof(line));
	NB_JOBJECT(line, &o);
	NB_JSTREQ(&o, "event", "pool-low");
	NB_JEQ(&o, "id", node);
	NB_JEQ(&o, "pool-target", 8 * NB_MIB);
	NB_JEQ(&o, "pool-low", 4 * NB_MIB);
	NB_CHECK(NB_JNUM(&o, "pool-free") < (long long)(4 * NB_MIB), "pool-low event: %s", line);
	nb_mon_end(&mon);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");

	/* Refusals, with the kernel's reasons. */
	NB_CTL_EXPECT(NB_AS_ROOT, 1, "pool set: No such device: ",
		      "pool", "set", nb_fmt("%d", nb_offline_node()), "8M");
	NB_ERR_HAS("node");
	NB_CTL_EXPECT(NB_AS_ROOT, 1, "pool set: Cannot allocate memory: ",
		      "pool", "set", n, "100G");
	NB_ERR_HAS("target");
	NB_CTL_EXPECT(NB_AS_NO_SYS_ADMIN, NB_EXIT_DENIED,
		      "numabufctl: pool set: Operation not permitted: setting a pool needs CAP_SYS_ADMIN",
		      "pool", "set", n, "16M");
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "not permitted", "pool", "set", n, "16M");
	pg = nb_pool_get(fd, node);
	NB_CHECK(pg.target == 8 * NB_MIB, "a refused pool set changed the target to %llu",
		 (unsigned long long)pg.target);
}

NB_TEST(ctl_pool,
	"pool set NODE 8M --low 4M: POOL_GET sees the target, pool -j the rest; a pool-low event when a buffer takes the pool below it; refusals say why (no such node, too large, CAP_SYS_ADMIN); put back after")
{
	int mem[NB_MAX_NODES], nmem = nb_mem_nodes(mem, NB_MAX_NODES);
	int fd = nb_open(), node = mem[nmem - 1];
	struct numabuf_pool pg = nb_pool_get(fd, node), p;
	int status;
	double end;
	pid_t pid;

	NB_CHECK(pg.target == 0, "node %d has a pool already (%llu bytes)", node,
		 (unsigned long long)pg.target);
	pid = NB_SYS(fork());
	if (pid == 0) {
		ctl_pool_checks(fd, node);
		_exit(0);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	/* Back to no pool and no watermark, whatever happened. */
	p = (struct numabuf_pool){ .size = sizeof(p), .node = node };
	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_SET, &p), "POOL_SET 0: %s",
		 nb_errname(errno));
	NB_CTL_OK("pool", "set", nb_fmt("%d", node), "--low", "0");
	end = nb_now() + 60.0 * nb_slow();
	while ((p = nb_pool_get(fd, node)).pool_bytes && nb_now() < end)
		usleep(10000);
	NB_CHECK(!p.pool_bytes, "node %d's pool still holds %llu bytes", node,
		 (unsigned long long)p.pool_bytes);
	close(fd);
	/* The checks' verdict: a failure there has said why already. */
	NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		 "the checks ended with status %#x", status);
}

static void ctl_limit_checks(int fd, int node)
{
	unsigned long long user0 = nb_param("max_user_bytes");
	struct nb_jobj o;

	/* Sizes as people write them: 1.5G is 1.5 GiB. */
	NB_CTL_OK("-j", "limit", "set", "--max", "1.5G");
	NB_JOBJECT(nb_r.out, &o);
	NB_JEQ(&o, "max-bytes", 3 * NB_GIB / 2);
	NB_JEQ(&o, "max-user-bytes", user0);
	NB_JEQ(&o, "total-bytes", nb_stats_read().bytes);
	NB_CHECK(nb_param("max_bytes") == 3 * NB_GIB / 2, "max_bytes is %llu after limit set --max 1.5G",
		 nb_param("max_bytes"));

	NB_CTL_OK("-j", "limit", "set", "--max-user", "3M");
	NB_CHECK(nb_param("max_user_bytes") == 3 * NB_MIB && nb_param("max_bytes") == 3 * NB_GIB / 2,
		 "max_bytes %llu, max_user_bytes %llu after limit set --max-user 3M",
		 nb_param("max_bytes"), nb_param("max_user_bytes"));
	/* The cap holds (root too): 4 MiB is over it. */
	NB_CHECK(nb_alloc(fd, 4 * NB_MIB, node, 0, NULL) == -EDQUOT,
		 "ALLOC of 4 MiB under a 3 MiB cap per user did not fail with EDQUOT");
	NB_CTL_OK("-j", "limit");
	NB_JOBJECT(nb_r.out, &o);
	NB_JEQ(&o, "max-bytes", 3 * NB_GIB / 2);
	NB_JEQ(&o, "max-user-bytes", 3 * NB_MIB);
	NB_CTL_OK("limit", "show");
	NB_CHECK(nb_starts(nb_r.out, "max-bytes 1.5GiB max-user-bytes 3MiB total-bytes "),
		 "%s: %s", nb_r.cmd, nb_r.out);

	/* No cap: 0 or none. */
	NB_CTL_OK("-j", "limit", "set", "--max", "none", "--max-user", "0");
	NB_JOBJECT(nb_r.out, &o);
	NB_JEQ(&o, "max-bytes", 0);
	NB_JEQ(&o, "max-user-bytes", 0);
	NB_CHECK(!nb_param("max_bytes") && !nb_param("max_user_bytes"),
		 "max_bytes %llu, max_user_bytes %llu after limit set --max none --max-user 0",
		 nb_param("max_bytes"), nb_param("max_user_bytes"));
	NB_CTL_OK("limit");
	NB_CHECK(nb_starts(nb_r.out, "max-bytes none max-user-bytes none total-bytes "),
		 "%s: %s", nb_r.cmd, nb_r.out);

	/* Only an administrator sets or reads them (sysfs shows them to all). */
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "numabufctl: limit set: Operation not permitted",
		      "limit", "set", "--max", "1G");
	NB_CHECK(!nb_param("max_bytes"), "a refused limit set changed max_bytes to %llu",
		 nb_param("max_bytes"));
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "numabufctl: limit: Operation not permitted",
		      "-j", "limit");
	NB_CHECK(!nb_r.out[0], "%s printed '%s'", nb_r.cmd, nb_r.out);
}

NB_TEST(ctl_limit,
	"limit set --max 1.5G / --max-user 3M: the module parameters follow and the cap holds; none and 0 lift them; nobody may neither read nor set them; put back after")
{
	unsigned long long max0 = nb_param("max_bytes");
	unsigned long long user0 = nb_param("max_user_bytes");
	int mem[NB_MAX_NODES], fd = nb_open(), status;
	pid_t pid;

	nb_mem_nodes(mem, NB_MAX_NODES);
	pid = NB_SYS(fork());
	if (pid == 0) {
		ctl_limit_checks(fd, mem[0]);
		_exit(0);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	nb_param_set("max_bytes", max0);
	nb_param_set("max_user_bytes", user0);
	close(fd);
	NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		 "the checks ended with status %#x", status);
}

NB_TEST(ctl_monitor,
	"monitor -j --count 3 sees created, freed and alloc-failed of a scripted ALLOC, FREE, failed ALLOC, in order and with their fields, then stops; text lines; --timeout ends a quiet monitor; nobody may not monitor")
{
	int mem[NB_MAX_NODES], fd = nb_open(), node;
	struct numabuf_alloc a;
	struct nb_jobj o;
	struct nb_mon mon;
	char comm[16] = "", line[1024], *want;
	uint64_t t0, t1;
	long long id;
	unsigned int tid;
	double t;

	nb_mem_nodes(mem, NB_MAX_NODES);
	node = mem[0];
	NB_SYS(prctl(PR_GET_NAME, comm));
	NB_CHECK(nb_pool_get(fd, node).pool_bytes == 0,
		 "node %d has a pool: a pool-only ALLOC would not fail", node);

	NB_MON_START(&mon, "-j", "--count", "3", "--timeout", "120");
	t0 = nb_realtime_ns();
	a = nb_alloc_ok(fd, 64 * NB_KIB, node, 0);
	t1 = nb_realtime_ns();
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_CHECK(nb_alloc(fd, 2 * NB_MIB, node, NUMABUF_F_POOL, NULL) == -ENOMEM,
		 "a pool-only ALLOC on a node without a pool did not fail with ENOMEM");

	nb_mon_line(&mon, line, sizeof(line));
	NB_JOBJECT(line, &o);
	NB_JSTREQ(&o, "event", "buf-created");
	id = NB_JNUM(&o, "id");
	NB_CHECK(id > 0, "buf-created: id %lld", id);
	NB_JEQ(&o, "size", 64 * NB_KIB);
	NB_JEQ(&o, "node", node);
	NB_CHECK(!strcmp(NB_JRAW(&o, "flags"), "[]"), "buf-created: %s", line);
	NB_JSTREQ(&o, "source", "pages");
	NB_JEQ(&o, "pid", getpid());
	NB_JEQ(&o, "uid", 0);
	NB_JSTREQ(&o, "comm", comm);
	NB_CHECK((uint64_t)NB_JNUM(&o, "created") >= t0 &&
		 (uint64_t)NB_JNUM(&o, "created") <= t1, "buf-created: created not in [%llu, %llu]: %s",
		 (unsigned long long)t0, (unsigned long long)t1, line);

	nb_mon_line(&mon, line, sizeof(line));
	NB_JOBJECT(line, &o);
	NB_JSTREQ(&o, "event", "buf-freed");
	NB_JEQ(&o, "id", id);
	NB_JEQ(&o, "size", 64 * NB_KIB);
	NB_JEQ(&o, "node", node);
	NB_CHECK(o.n == 4, "buf-freed has more than event, id, size, node: %s", line);

	nb_mon_line(&mon, line, sizeof(line));
	NB_JOBJECT(line, &o);
	NB_JSTREQ(&o, "event", "alloc-failed");
	NB_CHECK(!nb_jfind(&o, "id"), "alloc-failed with an id: %s", line);
	NB_JEQ(&o, "size", 2 * NB_MIB);
	NB_JEQ(&o, "node", node);
	NB_CHECK(!strcmp(NB_JRAW(&o, "flags"), "[\"pool\"]"), "alloc-failed: %s", line);
	NB_JEQ(&o, "pid", getpid());
	NB_JEQ(&o, "uid", 0);
	NB_JSTREQ(&o, "comm", comm);
	NB_JEQ(&o, "error", ENOMEM);
	NB_JEQ(&o, "suppressed", 0);
	nb_mon_end(&mon);

	/* Text, like ip monitor. */
	NB_MON_START(&mon, "--count", "3", "--timeout", "120");
	a = nb_alloc_ok(fd, 64 * NB_KIB, node, NUMABUF_F_PREFERRED);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_CHECK(nb_alloc(fd, 2 * NB_MIB, node, NUMABUF_F_POOL, NULL) == -ENOMEM,
		 "a pool-only ALLOC on a node without a pool did not fail with ENOMEM");
	nb_mon_line(&mon, line, sizeof(line));
	NB_CHECK(sscanf(line, "created id %u ", &tid) == 1, "monitor: '%s'", line);
	want = nb_fmt("created id %u size 64KiB node %d flags preferred source pages pid %d uid 0 comm %s",
		      tid, a.node, getpid(), comm);
	NB_CHECK(!strcmp(line, want), "monitor: '%s', expected '%s'", line, want);
	nb_mon_line(&mon, line, sizeof(line));
	want = nb_fmt("freed id %u size 64KiB node %d", tid, a.node);
	NB_CHECK(!strcmp(line, want), "monitor: '%s', expected '%s'", line, want);
	nb_mon_line(&mon, line, sizeof(line));
	want = nb_fmt("alloc-failed size 2MiB node %d flags pool pid %d uid 0 comm %s error ENOMEM suppressed 0",
		      node, getpid(), comm);
	NB_CHECK(!strcmp(line, want), "monitor: '%s', expected '%s'", line, want);
	nb_mon_end(&mon);

	/* Nothing happens: --timeout ends it, successfully and silently. */
	t = nb_now();
	NB_CTL_OK("-j", "monitor", "--timeout", "1");
	t = nb_now() - t;
	NB_CHECK(!nb_r.out[0] && t >= 0.9 && t < 20.0 * nb_slow(),
		 "%s: %.1f s, output '%s'", nb_r.cmd, t, nb_r.out);

	/* Events name other users' processes: an administrator's. */
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "monitor: Operation not permitted",
		      "monitor", "--count", "1", "--timeout", "5");
	close(fd);
}

NB_TEST(ctl_unprivileged,
	"as nobody the read commands work (nodes, pool, stats without the limits, list), limit is refused, and the writes (pool set, limit set) fail with exit 4 saying not permitted, changing nothing")
{
	int mem[NB_MAX_NODES], fd = nb_open(), node;
	unsigned long long max0 = nb_param("max_bytes");
	struct numabuf_pool pg;

	nb_mem_nodes(mem, NB_MAX_NODES);
	node = mem[0];
	pg = nb_pool_get(fd, node);
	NB_CTL_EXPECT(NB_AS_NOBODY, 0, NULL, "-j", "nodes");
	NB_CHECK(NB_JARRAY(nb_r.out) >= 1, "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_EXPECT(NB_AS_NOBODY, 0, NULL, "-j", "pool");
	NB_CHECK(NB_JARRAY(nb_r.out) >= 1, "%s: %s", nb_r.cmd, nb_r.out);
	/* stats without the limits, which only an administrator reads. */
	NB_CTL_EXPECT(NB_AS_NOBODY, 0, "the limits need CAP_NET_ADMIN", "-j", "stats");
	NB_CHECK(strstr(nb_r.out, "\"buffers\":") && !strstr(nb_r.out, "max-bytes"),
		 "%s: %s", nb_r.cmd, nb_r.out);
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "Operation not permitted", "limit");
	NB_CTL_EXPECT(NB_AS_NOBODY, 0, NULL, "list");
	NB_CHECK(!nb_r.out[0], "%s: %s", nb_r.cmd, nb_r.out);

	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "numabufctl: pool set: Operation not permitted",
		      "pool", "set", nb_fmt("%d", node), "64M");
	NB_CHECK(!nb_r.out[0], "%s printed '%s'", nb_r.cmd, nb_r.out);
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "not permitted",
		      "pool", "set", nb_fmt("%d", node), "--low", "1M");
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "numabufctl: limit set: Operation not permitted",
		      "limit", "set", "--max", "1G", "--max-user", "none");
	NB_CHECK(!nb_r.out[0], "%s printed '%s'", nb_r.cmd, nb_r.out);
	NB_CHECK(nb_pool_get(fd, node).target == pg.target && nb_param("max_bytes") == max0,
		 "a refused command changed something");
	close(fd);
}

NB_TEST(ctl_alloc_range_denied,
	"attack: nobody runs alloc --size 8M (a range, no pool); limit: ranges need CAP_SYS_ADMIN by default: exit 4 with the reason pointing to pools (pool set, --pool); 4M still works; with range_users=1 8M works too")
{
	char users0 = 'N';
	FILE *f = fopen("/sys/module/numabuf/parameters/range_users", "re");
	struct rlimit rl = { 64 * NB_MIB, 64 * NB_MIB }, rl0;
	int mem[NB_MAX_NODES];
	const char *node;
	struct nb_mon mon;
	struct nb_jobj o;
	char line[1024];

	NB_CHECK(f && fscanf(f, " %c", &users0) == 1, "cannot read range_users");
	fclose(f);
	nb_mem_nodes(mem, NB_MAX_NODES);
	node = nb_fmt("%d", mem[0]);
	/* nobody's memlock limit, inherited: 8 MiB fit under it. */
	NB_SYS(getrlimit(RLIMIT_MEMLOCK, &rl0));
	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	NB_SYS(chmod(NB_DEV, 0666));
	nb_param_set("range_users", 0);
	NB_MON_START(&mon, "-j", "--count", "1", "--timeout", "120");
	nb_ctl_runv(&nb_r, NB_AS_NOBODY,
		    (const char *const[]){ "alloc", "--size", "8M", "--node", node, NULL });
	nb_mon_line(&mon, line, sizeof(line));
	nb_mon_end(&mon);
	if (nb_r.status == NB_EXIT_DENIED && strstr(nb_r.err, "Operation not permitted") &&
	    strstr(nb_r.err, "buffers above 4 MiB outside a pool need CAP_SYS_ADMIN (or the module parameter range_users=1); ask the admin for a pool: numabufctl pool set NODE SIZE, then --pool"))
		nb_ctl_runv(&nb_r, NB_AS_NOBODY,
			    (const char *const[]){ "alloc", "--size", "4M", "--node", node, NULL });
	else
		nb_r.status = -nb_r.status - 1000;
	if (nb_r.status == 0) {
		nb_param_set("range_users", 1);
		nb_ctl_runv(&nb_r, NB_AS_NOBODY,
			    (const char *const[]){ "alloc", "--size", "8M", "--node", node, NULL });
	}
	nb_param_write("range_users", users0 == 'Y');
	NB_SYS(chmod(NB_DEV, 0600));
	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl0));
	NB_CHECK(nb_r.status == 0, "%s: status %d; stderr: %s", nb_r.cmd, nb_r.status,
		 nb_r.err);
	/* The refusal went out as an alloc-failed event with its errno. */
	NB_JOBJECT(line, &o);
	NB_JSTREQ(&o, "event", "alloc-failed");
	NB_JEQ(&o, "size", 8 * NB_MIB);
	NB_JEQ(&o, "uid", NB_NOBODY);
	NB_JEQ(&o, "error", EPERM);
}

/* ---- why an allocation failed, and the boot configuration ---- */

/* RLIMIT_MEMLOCK of this process (and of what it forks) to @bytes. */
static void ctl_memlock(rlim_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
}

/* nobody runs numabufctl ARGS: exit @status, stderr containing @has. */
#define CTL_NOBODY(status, has, ...)	\
	NB_CTL_EXPECT(NB_AS_NOBODY, status, has, __VA_ARGS__)

/* The last stderr does not name @what. */
#define NB_ERR_LACKS(what)						\
	NB_CHECK(!strstr(nb_r.err, what), "%s: stderr names '%s': %s",	\
		 nb_r.cmd, what, nb_r.err)

/* A line of /proc/PID/status as a number (kB for sizes). */
static long long ctl_pid_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	long long v = -1;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	NB_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = atoll(line + n + 1);
	fclose(f);
	return v;
}

/*
 * nobody runs numabufctl alloc --size @size --node @node --hold; returns
 * its pid once it has printed the buffer.
 */
static pid_t ctl_hold_nobody(const char *size, const char *node)
{
	const char *argv[] = { "numabufctl", "alloc", "--size", size,
			       "--node", node, "--hold", NULL };
	struct pollfd pfd;
	int p[2], exe;
	char c;
	pid_t pid;

	NB_SYS(pipe2(p, O_CLOEXEC));
	pid = NB_SYS(fork());
	if (pid == 0) {
		NB_SYS(dup2(p[1], 1));
		exe = nb_exe_copy(nb_ctl_path());
		nb_drop_privileges();
		fexecve(exe, (char *const *)argv, environ);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	NB_CHECK(poll(&pfd, 1, 60000 * (int)nb_slow()) == 1 &&
		 read(p[0], &c, 1) == 1, "numabufctl alloc --hold as nobody printed nothing");
	close(p[0]);
	return pid;
}

static void ctl_end_hold(pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, &status, 0);
	*pid = 0;
}

static void ctl_why_checks(int fd, int node, int last, pid_t *holder)
{
	const char *n = nb_fmt("%d", node), *l = nb_fmt("%d", last);
	struct numabuf_pool p;
	char line[512], zone[32];
	bool dma32 = false;
	long long pin;
	int id;
	FILE *f;

	/* RLIMIT_MEMLOCK: 4 MiB asked for under a 2 MiB limit. */
	ctl_memlock(2 * NB_MIB);
	CTL_NOBODY(NB_EXIT_LIMIT, "Cannot allocate memory: over RLIMIT_MEMLOCK",
		   "alloc", "--size", "4M", "--node", n);
	NB_ERR_HAS("would pass the limit of 2MiB");
	NB_ERR_HAS("ulimit -l");
	NB_ERR_HAS("CAP_IPC_LOCK");
	NB_ERR_LACKS("--preferred");
	/* With --preferred: the same cause, no other node would do. */
	CTL_NOBODY(NB_EXIT_LIMIT, "over RLIMIT_MEMLOCK",
		   "alloc", "--size", "4M", "--node", n, "--preferred");
	NB_ERR_LACKS("--preferred allows");

	/* ... and what the user's processes already pin counts too. */
	ctl_memlock(6 * NB_MIB);
	*holder = ctl_hold_nobody("4M", n);
	pin = ctl_pid_status(*holder, "VmPin");
	NB_CHECK(pin == 4096, "the holder's VmPin is %lld kB, not 4096", pin);
	CTL_NOBODY(NB_EXIT_LIMIT, "over RLIMIT_MEMLOCK: 4MiB more on top of the 4MiB the processes of uid 65534 hold pinned (VmPin) would pass the limit of 6MiB",
		   "alloc", "--size", "4M", "--node", n);
	ctl_end_hold(holder);

	/* numabuf's caps: EDQUOT, per user then all together. */
	ctl_memlock(64 * NB_MIB);
	nb_param_set("max_user_bytes", 3 * NB_MIB);
	CTL_NOBODY(NB_EXIT_LIMIT, "Disk quota exceeded: over numabuf's cap on each user's buffers",
		   "alloc", "--size", "4M", "--node", n);
	NB_ERR_HAS("max_user_bytes 3MiB");
	NB_ERR_HAS("numabufctl limit show needs CAP_NET_ADMIN");
	nb_param_set("max_user_bytes", 0);
	nb_param_set("max_bytes", 2 * NB_MIB);
	CTL_NOBODY(NB_EXIT_LIMIT, "Disk quota exceeded: over numabuf's cap on all buffers together",
		   "alloc", "--size", "4M", "--node", n);
	NB_ERR_HAS("max_bytes 2MiB");
	nb_param_set("max_bytes", 0);

	/* The pool: none, then too small. */
	p = nb_pool_get(fd, node);
	NB_CHECK(!p.pool_bytes, "node %d has a pool already", node);
	CTL_NOBODY(1, nb_fmt("node %d has no pool", node),
		   "alloc", "--size", "2M", "--node", n, "--pool");
	NB_ERR_HAS(nb_fmt("numabufctl pool set %d SIZE", node));
	NB_ERR_LACKS("RLIMIT_MEMLOCK");
	p = (struct numabuf_pool){ .size = sizeof(p), .node = node, .target = 8 * NB_MIB };
	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_SET, &p), "POOL_SET 8M: %s", nb_errname(errno));
	CTL_NOBODY(1, nb_fmt("node %d's pool of 8MiB has ", node),
		   "alloc", "--size", "16M", "--node", n, "--pool");
	NB_ERR_HAS("too small for 16MiB");
	p = (struct numabuf_pool){ .size = sizeof(p), .node = node };
	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_SET, &p), "POOL_SET 0: %s", nb_errname(errno));

	/* A privilege: write-combining needs CAP_SYS_RAWIO. */
	CTL_NOBODY(NB_EXIT_DENIED, "need CAP_SYS_RAWIO or CAP_SYS_ADMIN",
		   "alloc", "--size", "4K", "--node", n, "--wc");

	/* Not enough free memory on the node (ranges opened to nobody). */
	ctl_memlock(RLIM_INFINITY);
	nb_param_set("range_users", 1);
	NB_CHECK(nb_node_meminfo(node, "MemFree") < 100 * NB_GIB,
		 "node %d has 100 GiB free", node);
	CTL_NOBODY(1, nb_fmt("Cannot allocate memory: node %d has only ", node),
		   "alloc", "--size", "100G", "--node", n);
	NB_ERR_HAS("less than 100GiB");
	nb_param_set("range_users", 0);

	/* --dma32 on a node with no memory below 4 GiB (buddyinfo says). */
	f = fopen("/proc/buddyinfo", "re");
	NB_CHECK(f, "/proc/buddyinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %d, zone %31s", &id, zone) == 2 &&
		    id == last && (!strcmp(zone, "DMA") || !strcmp(zone, "DMA32")))
			dma32 = true;
	fclose(f);
	if (!dma32)
		CTL_NOBODY(1, nb_fmt("node %d has no memory below 4GiB", last),
			   "alloc", "--size", "4K", "--node", l, "--dma32");
	else
		printf("# node %d has DMA zones: the --dma32 cause is not checked\n",
		       last);
	ctl_memlock(8 * NB_MIB);
}

NB_TEST(ctl_alloc_why,
	"nobody's refused alloc names the limit that refused it and the fix, each checked where it is set: RLIMIT_MEMLOCK (over it alone, and with 4 MiB pinned by another process of the user, VmPin read from /proc), max_user_bytes and max_bytes (EDQUOT), no pool and too small a pool for --pool (POOL_GET), --wc without CAP_SYS_RAWIO, a node without 100 GiB free (sysfs MemFree), --dma32 on a node without DMA zones (/proc/buddyinfo); exit 5 for limits, 4 for privileges, 1 for memory")
{
	int mem[NB_MAX_NODES], nmem = nb_mem_nodes(mem, NB_MAX_NODES);
	unsigned long long max0 = nb_param("max_bytes");
	unsigned long long user0 = nb_param("max_user_bytes");
	char range0 = 'N';
	FILE *f = fopen("/sys/module/numabuf/parameters/range_users", "re");
	pid_t *holder = mmap(NULL, sizeof(*holder), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct numabuf_pool p;
	struct rlimit rl0;
	int fd = nb_open(), status;
	pid_t pid;

	NB_CHECK(f && fscanf(f, " %c", &range0) == 1, "cannot read range_users");
	fclose(f);
	NB_CHECK(holder != MAP_FAILED, "mmap: %s", strerror(errno));
	*holder = 0;
	NB_SYS(getrlimit(RLIMIT_MEMLOCK, &rl0));
	NB_SYS(chmod(NB_DEV, 0666));
	pid = NB_SYS(fork());
	if (pid == 0) {
		ctl_why_checks(fd, mem[0], mem[nmem - 1], holder);
		_exit(0);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	/* Everything back, whatever happened. */
	ctl_end_hold(holder);
	nb_param_set("max_bytes", max0);
	nb_param_set("max_user_bytes", user0);
	nb_param_write("range_users", range0 == 'Y');
	p = (struct numabuf_pool){ .size = sizeof(p), .node = mem[0] };
	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_SET, &p), "POOL_SET 0: %s", nb_errname(errno));
	NB_SYS(chmod(NB_DEV, 0600));
	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl0));
	close(fd);
	NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		 "the checks ended with status %#x", status);
}

/* A file in /tmp holding @text; its path. */
static const char *ctl_conf(const char *text)
{
	char *path = nb_fmt("/tmp/t_ctl-conf.XXXXXX");
	int fd = NB_SYS(mkstemp(path));

	NB_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text),
		 "write %s: %s", path, strerror(errno));
	close(fd);
	NB_SYS(chmod(path, 0644));
	return path;
}

static void ctl_apply_checks(int fd, int node)
{
	const char *conf, *bad;
	long long free0, free1;
	struct numabuf_pool p;
	double end;

	/* Pools and limits as /etc/numabuf.conf sets them at boot. */
	conf = ctl_conf(nb_fmt("# boot configuration\n\npool %d 64M low 8M  # node %d\nlimit max-user 3M\n",
			       node, node));
	/* MemFree and the per-CPU lists, which MemFree leaves out. */
	free0 = nb_free_kb(node);
	NB_CTL_OK("apply", "--check", conf);
	NB_CHECK(!nb_r.out[0], "%s printed '%s'", nb_r.cmd, nb_r.out);
	NB_CHECK(nb_pool_get(fd, node).target == 0, "apply --check set a pool");
	NB_CTL_OK("apply", conf);
	NB_CHECK(strstr(nb_r.out, nb_fmt("pool node %d pool-target 64MiB pool-low 8MiB\n", node)) &&
		 strstr(nb_r.out, "limit max-user-bytes 3MiB\n"), "%s: '%s'", nb_r.cmd, nb_r.out);
	/* Independently: POOL_GET, the node's free memory, the cap's effect. */
	p = nb_pool_get(fd, node);
	NB_CHECK(p.target == 64 * NB_MIB && p.pool_bytes == 64 * NB_MIB,
		 "after apply: POOL_GET target %llu, pool %llu",
		 (unsigned long long)p.target, (unsigned long long)p.pool_bytes);
	free1 = nb_free_kb(node);
	NB_CHECK(free0 > 0 && free1 > 0 && free1 + 56 * 1024 <= free0,
		 "node %d's free memory (MemFree and per-CPU lists) went from %lld to %lld KiB with a 64 MiB pool",
		 node, free0, free1);
	NB_CHECK(nb_param("max_user_bytes") == 3 * NB_MIB, "max_user_bytes is %llu",
		 nb_param("max_user_bytes"));
	NB_CHECK(nb_alloc(fd, 4 * NB_MIB, node, 0, NULL) == -EDQUOT,
		 "an ALLOC of 4 MiB under the applied 3 MiB cap did not fail with EDQUOT");

	/* Again: nothing changes, nothing is printed. */
	NB_CTL_OK("apply", conf);
	NB_CHECK(!nb_r.out[0], "%s printed '%s' the second time", nb_r.cmd, nb_r.out);

	/* -j after the command; one change. */
	conf = ctl_conf(nb_fmt("pool %d 64M low 8M\nlimit max-user none\n", node));
	NB_CTL_OK("apply", conf, "-j");
	NB_CHECK(NB_JARRAY(nb_r.out) == 1, "%s: %s", nb_r.cmd, nb_r.out);
	NB_JSTREQ(&nb_objs[0], "change", "limit");
	NB_JEQ(&nb_objs[0], "max-user-bytes", 0);
	NB_CHECK(nb_param("max_user_bytes") == 0, "max_user_bytes is %llu",
		 nb_param("max_user_bytes"));

	/* A bad line anywhere: nothing is applied. */
	bad = ctl_conf(nb_fmt("pool %d 0\nlimit max 1G\npool %d 1G\n", node, nb_offline_node()));
	NB_CTL_EXPECT(NB_AS_ROOT, NB_EXIT_USAGE, nb_fmt("%s:3: pool: node %d is not online", bad,
							nb_offline_node()), "apply", bad);
	NB_CHECK(nb_pool_get(fd, node).target == 64 * NB_MIB && !nb_param("max_bytes"),
		 "a refused file changed something");

	/* Only an administrator applies. */
	conf = ctl_conf(nb_fmt("pool %d 0\n", node));
	NB_CTL_EXPECT(NB_AS_NOBODY, NB_EXIT_DENIED, "CAP_SYS_ADMIN", "apply", conf);
	NB_CHECK(nb_pool_get(fd, node).target == 64 * NB_MIB, "nobody's apply changed the pool");
	NB_CTL_OK("apply", conf);
	end = nb_now() + 60.0 * nb_slow();
	while ((p = nb_pool_get(fd, node)).pool_bytes && nb_now() < end)
		usleep(10000);
	NB_CHECK(!p.pool_bytes && !p.target, "pool 0 left %llu bytes",
		 (unsigned long long)p.pool_bytes);
}

NB_TEST(ctl_apply,
	"apply FILE sets a 64 MiB pool with a low watermark and a per-user cap (POOL_GET, the node's free memory, MemFree and the per-CPU lists of /proc/zoneinfo, falls by the pool, a 4 MiB ALLOC gets EDQUOT), prints one line per change and none when nothing changes; -j; a bad line anywhere applies nothing (exit 2, FILE:LINE); nobody is refused (exit 4); put back after")
{
	int mem[NB_MAX_NODES], nmem = nb_mem_nodes(mem, NB_MAX_NODES);
	int fd = nb_open(), node = mem[nmem - 1], status;
	unsigned long long max0 = nb_param("max_bytes");
	unsigned long long user0 = nb_param("max_user_bytes");
	struct numabuf_pool p = nb_pool_get(fd, node);
	pid_t pid;

	NB_CHECK(p.target == 0, "node %d has a pool already", node);
	pid = NB_SYS(fork());
	if (pid == 0) {
		ctl_apply_checks(fd, node);
		_exit(0);
	}
	NB_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	p = (struct numabuf_pool){ .size = sizeof(p), .node = node };
	NB_CHECK(!ioctl(fd, NUMABUF_IOC_POOL_SET, &p), "POOL_SET 0: %s", nb_errname(errno));
	NB_CTL_OK("pool", "set", nb_fmt("%d", node), "--low", "0");
	nb_param_set("max_bytes", max0);
	nb_param_set("max_user_bytes", user0);
	NB_SYS(system("rm -f /tmp/t_ctl-conf.*"));
	close(fd);
	NB_CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		 "the checks ended with status %#x", status);
}
