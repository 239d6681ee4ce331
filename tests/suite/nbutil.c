// SPDX-License-Identifier: GPL-2.0
/* Helpers for the numabuf guest tests; see nbutil.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <numaif.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbutil.h"

int nb_open(void)
{
	int fd = open(NB_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		NB_FAIL("open %s: %s", NB_DEV, strerror(errno));
	return fd;
}

int nb_alloc(int fd, uint64_t length, int node, uint32_t flags,
	     struct numabuf_alloc *out)
{
	struct numabuf_alloc a = {
		.size = sizeof(a), .flags = flags, .length = length,
		.node = node,
	};

	if (ioctl(fd, NUMABUF_IOC_ALLOC, &a))
		return -errno;
	if (out)
		*out = a;
	return 0;
}

int nb_free(int fd, uint32_t handle)
{
	struct numabuf_free f = { .size = sizeof(f), .handle = handle };

	return ioctl(fd, NUMABUF_IOC_FREE, &f) ? -errno : 0;
}

int nb_info(int fd, uint32_t handle, struct numabuf_info *out)
{
	struct numabuf_info i = { .size = sizeof(i), .handle = handle };

	if (ioctl(fd, NUMABUF_IOC_INFO, &i))
		return -errno;
	if (out)
		*out = i;
	return 0;
}

struct numabuf_alloc nb_alloc_ok(int fd, uint64_t length, int node,
				 uint32_t flags)
{
	struct numabuf_alloc a;
	int ret = nb_alloc(fd, length, node, flags, &a);

	if (ret)
		NB_FAIL("ALLOC length %llu node %d flags %#x: %s",
			(unsigned long long)length, node, flags,
			nb_errname(-ret));
	NB_CHECK(a.handle != 0, "ALLOC returned handle 0");
	return a;
}

void *nb_map(int fd, uint64_t offset, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)offset);

	if (p == MAP_FAILED)
		NB_FAIL("mmap offset %#llx length %zu: %s",
			(unsigned long long)offset, len, nb_errname(errno));
	return p;
}

static int nb_parse_list(const char *path, int *out, int max)
{
	char buf[1024], *p;
	int n = 0, a, b;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (p = strtok(buf, ",\n"); p; p = strtok(NULL, ",\n")) {
		if (sscanf(p, "%d-%d", &a, &b) != 2)
			b = a = atoi(p);
		for (; a <= b; a++)
			if (n < max)
				out[n++] = a;
	}
	return n;
}

int nb_online_nodes(int *nodes, int max)
{
	int n = nb_parse_list("/sys/devices/system/node/online", nodes, max);

	if (n < 0)
		NB_FAIL("cannot read /sys/devices/system/node/online");
	return n;
}

int nb_node_online(int node)
{
	int nodes[NB_MAX_NODES], n, i;

	n = nb_online_nodes(nodes, NB_MAX_NODES);
	for (i = 0; i < n; i++)
		if (nodes[i] == node)
			return 1;
	return 0;
}

int nb_cpu_node(int cpu)
{
	char path[64];
	struct dirent *de;
	int node = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	d = opendir(path);
	if (!d)
		NB_FAIL("cannot open %s: %s", path, strerror(errno));
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "node%d", &node) == 1)
			break;
	closedir(d);
	NB_CHECK(node >= 0, "no node link in %s", path);
	return node;
}

void nb_pages_nodes(void *addr, size_t n, int *status)
{
	void **pages = calloc(n, sizeof(*pages));
	size_t i;

	NB_CHECK(pages, "out of memory");
	for (i = 0; i < n; i++) {
		pages[i] = (char *)addr + i * NB_PAGE;
		status[i] = -12345;
	}
	if (move_pages(0, n, pages, NULL, status, 0))
		NB_FAIL("move_pages(query, %zu pages): %s", n,
			strerror(errno));
	free(pages);
}

void nb_expect_node_at(const char *file, int line, void *addr, size_t len,
		       int node)
{
	size_t n = len / NB_PAGE, i;
	int *status = calloc(n, sizeof(*status));

	NB_CHECK(status, "out of memory");
	nb_pages_nodes(addr, n, status);
	for (i = 0; i < n; i++)
		if (status[i] != node)
			nb_fail_at(file, line,
				   "page %zu of %zu: move_pages says node %d%s%s, expected node %d",
				   i, n, status[i], status[i] < 0 ? " = -" : "",
				   status[i] < 0 ? nb_errname(-status[i]) : "",
				   node);
	free(status);
}

void nb_pfns(void *addr, size_t n, uint64_t *pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t first = (uintptr_t)addr / NB_PAGE, *ent;
	size_t i;

	if (fd < 0)
		NB_FAIL("open /proc/self/pagemap: %s", strerror(errno));
	ent = calloc(n, sizeof(*ent));
	NB_CHECK(ent, "out of memory");
	if (pread(fd, ent, n * sizeof(*ent), (off_t)(first * sizeof(*ent))) !=
	    (ssize_t)(n * sizeof(*ent)))
		NB_FAIL("read /proc/self/pagemap: %s", strerror(errno));
	close(fd);
	for (i = 0; i < n; i++)
		/* bit 63: present; bits 0-54: PFN (0 without CAP_SYS_ADMIN) */
		pfn[i] = (ent[i] >> 63) ? ent[i] & ((1ULL << 55) - 1) : 0;
	free(ent);
}

static inline uint8_t nb_pattern(uint32_t seed, size_t off)
{
	uint32_t x = seed * 2654435761u + (uint32_t)(off / 4) * 40503u;

	return (uint8_t)((x >> ((off & 3) * 8)) ^ (x >> 24) ^ 0x5a);
}

void nb_fill(void *addr, size_t len, uint32_t seed)
{
	uint8_t *p = addr;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = nb_pattern(seed, i);
}

size_t nb_verify(const void *addr, size_t len, uint32_t seed)
{
	const uint8_t *p = addr;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != nb_pattern(seed, i))
			return i;
	return (size_t)-1;
}

size_t nb_find_nonzero(const void *addr, size_t len)
{
	const uint64_t *w = addr;
	const uint8_t *p = addr;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i])
			break;
	for (i *= 8; i < len; i++)
		if (p[i])
			return i;
	return (size_t)-1;
}

void nb_wait_ok_at(const char *file, int line, pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		nb_fail_at(file, line, "waitpid %d: %s", pid, strerror(errno));
	if (WIFSIGNALED(status))
		nb_fail_at(file, line, "child %d killed by signal %d (%s)", pid,
			   WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		nb_fail_at(file, line, "child %d exited with status %d", pid,
			   WEXITSTATUS(status));
}

uint64_t nb_rnd(struct nb_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t nb_rnd_below(struct nb_rng *r, uint64_t n)
{
	return n ? nb_rnd(r) % n : 0;
}

unsigned long long nb_env_ull(const char *env, unsigned long long def)
{
	const char *v = getenv(env);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || *end)
		NB_FAIL("%s=%s is not a number", env, v);
	return n;
}

double nb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t nb_seed(const char *env)
{
	const char *v = getenv(env);
	uint64_t seed;

	if (v && *v) {
		seed = nb_env_ull(env, 0);
		nb_note("seed %#llx (from %s)", (unsigned long long)seed, env);
	} else {
		struct timespec ts;
		struct nb_rng r;

		clock_gettime(CLOCK_REALTIME, &ts);
		r.s = (uint64_t)ts.tv_sec * 1000000007ULL + ts.tv_nsec +
		      ((uint64_t)getpid() << 32);
		seed = nb_rnd(&r);
		nb_note("seed %#llx (replay with %s=%#llx)",
			(unsigned long long)seed, env,
			(unsigned long long)seed);
	}
	return seed;
}

int nb_shrink_slabs(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", de->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n += write(fd, "1", 1) == 1;
		close(fd);
	}
	closedir(d);
	return n;
}

long nb_blocked_syscall(pid_t pid)
{
	char path[64], buf[128];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9')
		nr = strtol(buf, NULL, 10);
	fclose(f);
	return nr;
}

unsigned long long nb_proc_status(const char *key, int base)
{
	size_t klen = strlen(key);
	char line[256], *end = NULL;
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/status", "re");

	NB_CHECK(f, "open /proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoull(line + klen + 1, &end, base);
			break;
		}
	}
	fclose(f);
	NB_CHECK(end && end != line + klen + 1, "no %s in /proc/self/status", key);
	return v;
}

long long nb_vmstat(const char *key)
{
	char name[64];
	long long v, found = -1;
	FILE *f = fopen("/proc/vmstat", "re");

	NB_CHECK(f, "/proc/vmstat: %s", strerror(errno));
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strcmp(name, key))
			found = v;
	fclose(f);
	NB_CHECK(found >= 0, "no %s in /proc/vmstat", key);
	return found;
}

int nb_kconfig(const char *opt, char *val, size_t len)
{
	char path[300], line[512];
	size_t olen = strlen(opt);
	struct utsname u;
	bool piped = false;
	int found = 0;
	FILE *f;

	if (uname(&u))
		return -1;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "re");
	if (!f && !access("/proc/config.gz", R_OK)) {
		f = popen("gzip -dc /proc/config.gz 2>/dev/null", "r");
		piped = true;
	}
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!found && !strncmp(line, opt, olen) && line[olen] == '=') {
			line[strcspn(line, "\n")] = 0;
			snprintf(val, len, "%s", line + olen + 1);
			found = 1;
		}
	/* Read to the end: pclose() of an unread pipe would kill gzip. */
	if (piped)
		pclose(f);
	else
		fclose(f);
	return found;
}

void nb_drop_privileges(void)
{
	NB_SYS(setgroups(0, NULL));
	NB_SYS(setresgid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
	NB_SYS(setresuid(NB_NOBODY, NB_NOBODY, NB_NOBODY));
	NB_CHECK(geteuid() == NB_NOBODY && getuid() == NB_NOBODY,
		 "still uid %d/%d", getuid(), geteuid());
}

int nb_mem_nodes(int *nodes, int max)
{
	char buf[1024], *p, *save = NULL;
	int n = 0, a, b;
	FILE *f = fopen("/sys/devices/system/node/has_memory", "re");

	NB_CHECK(f, "cannot open has_memory: %s", strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (p = strtok_r(buf, ",\n", &save); p;
	     p = strtok_r(NULL, ",\n", &save)) {
		if (sscanf(p, "%d-%d", &a, &b) != 2)
			b = a = atoi(p);
		for (; a <= b; a++)
			if (n < max)
				nodes[n++] = a;
	}
	NB_CHECK(n > 0, "no node with memory in has_memory");
	return n;
}

unsigned long long nb_node_meminfo(int node, const char *key)
{
	char path[96], line[256], k[64];
	unsigned long long v = 0;
	bool found = false;
	FILE *f;
	int nd;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 node);
	f = fopen(path, "re");
	NB_CHECK(f, "cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %d %63[^:]: %llu", &nd, k, &v) == 3 &&
		    !strcmp(k, key)) {
			found = true;
			break;
		}
	fclose(f);
	NB_CHECK(found, "no %s in %s", key, path);
	return v * 1024;
}

#define NB_PARAMS	"/sys/module/numabuf/parameters/"

unsigned long long nb_param(const char *name)
{
	char path[128];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), NB_PARAMS "%s", name);
	f = fopen(path, "re");
	NB_CHECK(f && fscanf(f, "%llu", &v) == 1, "cannot read %s", path);
	fclose(f);
	return v;
}

int nb_param_write(const char *name, unsigned long long v)
{
	char path[128];
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), NB_PARAMS "%s", name);
	f = fopen(path, "we");
	if (!f)
		return errno;
	if (fprintf(f, "%llu\n", v) < 0)
		ret = EIO;
	if (fclose(f) && !ret)
		ret = errno;
	return ret;
}

void nb_param_set(const char *name, unsigned long long v)
{
	int err = nb_param_write(name, v);

	NB_CHECK(!err, "cannot write %s%s: %s", NB_PARAMS, name, strerror(err));
}

/* ---- io_uring ---- */

int nb_ring_setup(struct nb_ring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &r->p);
	if (r->fd < 0)
		return -errno;
	r->sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(__u32);
	r->cq_len = r->p.cq_off.cqes +
		    r->p.cq_entries * sizeof(struct io_uring_cqe);
	r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_SQ_RING);
	NB_CHECK(r->sq != MAP_FAILED, "mmap SQ ring: %s", strerror(errno));
	r->cq = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_CQ_RING);
	NB_CHECK(r->cq != MAP_FAILED, "mmap CQ ring: %s", strerror(errno));
	r->sqes_len = r->p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, IORING_OFF_SQES);
	NB_CHECK(r->sqes != MAP_FAILED, "mmap SQEs: %s", strerror(errno));
	return 0;
}


void nb_ring_close(struct nb_ring *r)
{
	munmap(r->sqes, r->sqes_len);
	munmap(r->cq, r->cq_len);
	munmap(r->sq, r->sq_len);
	close(r->fd);
}


int nb_ring_rw_fixed(struct nb_ring *r, int op, int fd, void *addr,
		     unsigned int len, off_t off)
{
	unsigned int *tail = (unsigned int *)((char *)r->sq + r->p.sq_off.tail);
	unsigned int *mask = (unsigned int *)((char *)r->sq + r->p.sq_off.ring_mask);
	unsigned int *array = (unsigned int *)((char *)r->sq + r->p.sq_off.array);
	unsigned int *chead = (unsigned int *)((char *)r->cq + r->p.cq_off.head);
	unsigned int *ctail = (unsigned int *)((char *)r->cq + r->p.cq_off.tail);
	unsigned int *cmask = (unsigned int *)((char *)r->cq + r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes =
		(struct io_uring_cqe *)((char *)r->cq + r->p.cq_off.cqes);
	unsigned int t = *tail, idx = t & *mask, h;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)addr;
	sqe->len = len;
	sqe->off = off;
	sqe->buf_index = 0;
	array[idx] = idx;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		NB_FAIL("io_uring_enter: %s", strerror(errno));
	h = __atomic_load_n(chead, __ATOMIC_ACQUIRE);
	NB_CHECK(h != __atomic_load_n(ctail, __ATOMIC_ACQUIRE),
		 "io_uring_enter returned without a completion");
	res = cqes[h & *cmask].res;
	__atomic_store_n(chead, h + 1, __ATOMIC_RELEASE);
	return res;
}


bool nb_uring_refuses_devices(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major < 6 || (major == 6 && minor < 5);
}

int nb_pipe_hold(void *p, size_t len, int *wfd)
{
	struct iovec iov = { p, len };
	int pfd[2];
	ssize_t n;

	NB_SYS(pipe2(pfd, O_CLOEXEC));
	/* A pipe holds 16 pages unless it is made larger. */
	if (len > 16 * NB_PAGE)
		NB_CHECK(fcntl(pfd[1], F_SETPIPE_SZ, (int)len) >= (int)len,
			 "F_SETPIPE_SZ %zu: %s", len, strerror(errno));
	while (iov.iov_len) {
		n = vmsplice(pfd[1], &iov, 1, SPLICE_F_NONBLOCK);
		NB_CHECK(n > 0, "vmsplice of %zu bytes: %s", iov.iov_len,
			 n < 0 ? strerror(errno) : "nothing spliced");
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= n;
	}
	*wfd = pfd[1];
	return pfd[0];
}

int nb_sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(s))
		ret = -EIO;
	close(fd);
	return ret;
}

void nb_sysfs_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

void nb_pci_link(const char *bdf, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, name);
	n = readlink(path, target, sizeof(target) - 1);
	buf[0] = 0;
	if (n <= 0)
		return;
	target[n] = 0;
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(base) < len)
		memcpy(buf, base, strlen(base) + 1);
}
