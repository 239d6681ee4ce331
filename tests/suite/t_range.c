// SPDX-License-Identifier: GPL-2.0
/*
 * Ranges (buffers above 4 MiB that do not come from a pool) as an attacker
 * would take them: uid nobody in the device's group, no capabilities.
 * Each test names the attack and the limit that holds it (issue 11,
 * part 5).  The facts are checked without the module's word: how often
 * alloc_contig_range() ran with a kprobe event's hit count
 * (tracefs kprobe_profile), frames with /proc/PID/pagemap, zones and
 * watermarks with /proc/zoneinfo.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <numaif.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

/* The device's group in these tests, unused by the host's /etc/group. */
#define NB_GID		4243
#define NB_OTHER_UID	65533
#define NB_RANGE	(8 * NB_MIB)
#define NB_TRACING	"/sys/kernel/tracing"
#define NB_KP_GROUP	"nb_range"
#define NB_KP_EVENT	"nb_range_acr"

/* ---- the attacker: nobody, a member of the device's group ---- */

/* Open the device to group NB_GID, as the udev rule does. */
static void nb_dev_to_group(void)
{
	NB_SYS(chown(NB_DEV, 0, NB_GID));
	NB_SYS(chmod(NB_DEV, 0660));
}

/* Back to root only; usable on cleanup paths. */
static void nb_dev_restore(void)
{
	if (chown(NB_DEV, 0, 0) || chmod(NB_DEV, 0600))
		nb_note("cannot restore %s: %s", NB_DEV, strerror(errno));
}

/*
 * In a child: become nobody with supplementary group NB_GID and no
 * capabilities, with a memlock limit of @memlock bytes.
 */
static void nb_become_uid(uid_t uid, rlim_t memlock)
{
	struct rlimit rl = { memlock, memlock };
	gid_t g = NB_GID;

	NB_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	NB_SYS(setgroups(1, &g));
	NB_SYS(setresgid(uid, uid, uid));
	NB_SYS(setresuid(uid, uid, uid));
	NB_CHECK(nb_proc_status("CapEff", 16) == 0, "CapEff is not 0 as uid %d", uid);
}

static void nb_become_member(rlim_t memlock)
{
	nb_become_uid(NB_NOBODY, memlock);
}

/* Wait for a child; its exit status (0 is success) or 128 + signal. */
static int nb_wait_status(pid_t pid)
{
	int st;

	NB_SYS(waitpid(pid, &st, 0));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Set module parameters and put them back, even when a child failed. */
struct nb_params {
	unsigned long long users, rate, tries;
};

/* A bool parameter reads Y or N. */
static unsigned long long nb_param_bool(const char *name)
{
	char path[128], c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/numabuf/parameters/%s", name);
	f = fopen(path, "re");
	NB_CHECK(f && fscanf(f, " %c", &c) == 1 && (c == 'Y' || c == 'N'),
		 "cannot read %s", path);
	fclose(f);
	return c == 'Y';
}

static struct nb_params nb_params_save(void)
{
	return (struct nb_params){ nb_param_bool("range_users"), nb_param("range_rate"),
				   nb_param("range_max_tries") };
}

static void nb_params_restore(struct nb_params p)
{
	if (nb_param_write("range_users", p.users) ||
	    nb_param_write("range_rate", p.rate) ||
	    nb_param_write("range_max_tries", p.tries))
		nb_note("cannot restore the range_* parameters");
}

/* ---- alloc_contig_range() calls, counted by a kprobe event ---- */

/* Write @s to @path; 0 or an errno. */
static int nb_write_str(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

static void nb_kp_remove(void)
{
	nb_write_str(NB_TRACING "/events/" NB_KP_GROUP "/" NB_KP_EVENT "/enable",
		     "0", 0);
	nb_write_str(NB_TRACING "/kprobe_events", "-:" NB_KP_GROUP "/" NB_KP_EVENT "\n",
		     O_APPEND);
}

/* Is @sym a function of the running kernel (/proc/kallsyms)? */
static bool nb_ksym(const char *sym)
{
	char line[512], name[256];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %255s", name) == 1 && !strcmp(name, sym);
	fclose(f);
	return found;
}

/*
 * Arm a kprobe event on alloc_contig_range() (alloc_contig_range_noprof
 * on 6.10 and later).  Returns an fd of tracefs kprobe_profile, readable
 * after dropping privileges, or -1 (with a note) where the kernel has no
 * kprobe events.
 */
static int nb_kp_open(void)
{
	const char *sym = nb_ksym("alloc_contig_range_noprof") ?
			  "alloc_contig_range_noprof" : "alloc_contig_range";
	char def[128];
	int fd, ret;

	if (access(NB_TRACING "/kprobe_events", F_OK))
		mount("tracefs", NB_TRACING, "tracefs", 0, NULL);
	if (access(NB_TRACING "/kprobe_events", W_OK)) {
		nb_note("no kprobe events (%s): alloc_contig_range() calls not counted",
			strerror(errno));
		return -1;
	}
	nb_kp_remove();
	snprintf(def, sizeof(def), "p:%s/%s %s\n", NB_KP_GROUP, NB_KP_EVENT, sym);
	ret = nb_write_str(NB_TRACING "/kprobe_events", def, O_APPEND);
	NB_CHECK(!ret, "kprobe_events '%s': %s", def, strerror(ret));
	ret = nb_write_str(NB_TRACING "/events/" NB_KP_GROUP "/" NB_KP_EVENT "/enable",
			   "1", 0);
	NB_CHECK(!ret, "enabling the kprobe event: %s", strerror(ret));
	fd = open(NB_TRACING "/kprobe_profile", O_RDONLY | O_CLOEXEC);
	NB_CHECK(fd >= 0, "open kprobe_profile: %s", strerror(errno));
	return fd;
}

/* Hits of the event so far, from an fd of kprobe_profile. */
static long long nb_kp_hits(int fd)
{
	char buf[8192], name[128], *line, *save = NULL;
	long long hits = -1, h;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	NB_CHECK(n > 0, "read kprobe_profile: %s", strerror(errno));
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%127s %lld", name, &h) == 2 &&
		    !strcmp(name, NB_KP_EVENT))
			hits = h;
	NB_CHECK(hits >= 0, "no %s line in kprobe_profile", NB_KP_EVENT);
	return hits;
}

static void nb_kp_close(int fd)
{
	if (fd < 0)
		return;
	close(fd);
	nb_kp_remove();
}

/* ---- zones, from /proc/zoneinfo ---- */

struct nb_zone {
	char name[16];
	long long free, high, spanned, start_pfn, reserve;
};

/* The zones of @node, in the file's order; returns how many. */
static int nb_zones(int node, struct nb_zone *z, int max)
{
	char line[512], name[16];
	int n = -1, nd;
	long long v[8];
	FILE *f = fopen("/proc/zoneinfo", "re");

	NB_CHECK(f, "/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %15s", &nd, name) == 2) {
			if (nd == node && n + 1 < max) {
				n++;
				memset(&z[n], 0, sizeof(z[n]));
				snprintf(z[n].name, sizeof(z[n].name), "%s", name);
			} else if (n >= 0 && nd != node) {
				break;
			}
			continue;
		}
		if (n < 0 || nd != node)
			continue;
		if (sscanf(line, " pages free %lld", &v[0]) == 1)
			z[n].free = v[0];
		else if (sscanf(line, " high %lld", &v[0]) == 1)
			z[n].high = v[0];
		else if (sscanf(line, " spanned %lld", &v[0]) == 1)
			z[n].spanned = v[0];
		else if (sscanf(line, " start_pfn: %lld", &v[0]) == 1)
			z[n].start_pfn = v[0];
		else if (strstr(line, "protection: (")) {
			char *p = strchr(line, '(') + 1;

			while (p && *p) {
				long long r = strtoll(p, &p, 10);

				if (r > z[n].reserve)
					z[n].reserve = r;
				p = strchr(p, ',');
				if (p)
					p++;
			}
		}
	}
	fclose(f);
	return n + 1;
}

static const struct nb_zone *nb_zone_named(const struct nb_zone *z, int n,
					   const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(z[i].name, name))
			return &z[i];
	return NULL;
}

static int nb_last_node(void)
{
	int nodes[NB_MAX_NODES], n = nb_mem_nodes(nodes, NB_MAX_NODES);

	NB_CHECK(n >= 2, "%d node(s) with memory: the suite needs at least 2", n);
	return nodes[n - 1];
}

/* The frame of each of @n pages at @addr in process @pid, 0 if absent. */
static void nb_pid_pfns(pid_t pid, uintptr_t addr, size_t n, uint64_t *pfn)
{
	char path[64];
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	NB_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	NB_CHECK(pread(fd, pfn, n * sizeof(*pfn), (off_t)(addr / NB_PAGE * 8)) ==
		 (ssize_t)(n * sizeof(*pfn)), "read %s: %s", path, strerror(errno));
	close(fd);
	for (i = 0; i < n; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ULL << 55) - 1) : 0;
}

/* ---- the tests ---- */

NB_TEST(range_denied_by_default,
	"attack: nobody in the device's group asks for 8 MiB outside a pool (strict, NO_POOL, PREFERRED); limit: ranges need CAP_SYS_ADMIN by default, so each gets EPERM, alloc_contig_range() never runs (kprobe hits), while 4 MiB still works")
{
	int kp = nb_kp_open(), st;
	long long hits = kp >= 0 ? nb_kp_hits(kp) : 0;
	pid_t pid;

	NB_CHECK(nb_param_bool("range_users") == 0, "range_users is not 0 by default");
	nb_dev_to_group();
	pid = NB_SYS(fork());
	if (!pid) {
		static const uint32_t flags[] = { 0, NUMABUF_F_NO_POOL,
						  NUMABUF_F_PREFERRED };
		struct numabuf_alloc a;
		unsigned int i;
		int fd, ret;

		nb_become_member(64 * NB_MIB);
		fd = nb_open();
		for (i = 0; i < 3 * 20; i++) {
			ret = nb_alloc(fd, NB_RANGE, nb_last_node(), flags[i % 3], NULL);
			NB_CHECK(ret == -EPERM, "nobody: 8 MiB flags %#x: %s, expected EPERM",
				 flags[i % 3], ret ? nb_errname(-ret) : "success");
		}
		ret = nb_alloc(fd, 4 * NB_MIB + NB_PAGE, nb_last_node(), 0, NULL);
		NB_CHECK(ret == -EPERM, "nobody: 4 MiB + 4 KiB: %s, expected EPERM",
			 ret ? nb_errname(-ret) : "success");
		a = nb_alloc_ok(fd, 4 * NB_MIB, nb_last_node(), NUMABUF_F_NO_POOL);
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		_exit(0);
	}
	st = nb_wait_status(pid);
	nb_dev_restore();
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
	if (kp >= 0) {
		hits = nb_kp_hits(kp) - hits;
		nb_kp_close(kp);
		NB_CHECK(hits == 0, "alloc_contig_range() ran %lld times for refused requests",
			 hits);
	}
}

NB_TEST(range_users_opens,
	"range_users=1 lets the group take ranges: nobody gets 8 MiB outside a pool, a range (INFO source), contiguous (pagemap as root cannot be read by nobody: checked by the module-independent node query move_pages); back to EPERM when reset")
{
	struct nb_params saved = nb_params_save();
	pid_t pid;
	int st;

	nb_dev_to_group();
	nb_param_set("range_users", 1);
	nb_param_set("range_rate", 0);
	pid = NB_SYS(fork());
	if (!pid) {
		struct numabuf_alloc a;
		struct numabuf_info inf;
		int fd, node = nb_last_node();
		void *p;

		nb_become_member(64 * NB_MIB);
		fd = nb_open();
		a = nb_alloc_ok(fd, NB_RANGE, node, NUMABUF_F_NO_POOL);
		NB_CHECK(!nb_info(fd, a.handle, &inf) && inf.source == NUMABUF_SOURCE_RANGE,
			 "INFO source %u, expected a range", inf.source);
		p = nb_map(fd, a.offset, NB_RANGE);
		NB_EXPECT_NODE(p, NB_RANGE, node);
		NB_CHECK(nb_find_nonzero(p, NB_RANGE) == (size_t)-1, "not zeroed");
		NB_SYS(munmap(p, NB_RANGE));
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		_exit(0);
	}
	st = nb_wait_status(pid);
	nb_params_restore(saved);
	nb_dev_restore();
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
}

NB_TEST(range_pool_fallthrough,
	"attack: nobody fills a node's pool and asks for more above 4 MiB without NUMABUF_F_POOL; limit: the fall-through to a range is refused with EPERM (not ENOMEM), NUMABUF_F_POOL gives ENOMEM, and pool buffers themselves need no privilege")
{
	int fd = nb_open(), node = nb_last_node(), st;
	struct numabuf_pool p = { .size = sizeof(p), .node = node,
				  .target = 32 * NB_MIB };
	pid_t pid;

	NB_SYS(ioctl(fd, NUMABUF_IOC_POOL_SET, &p));
	nb_dev_to_group();
	pid = NB_SYS(fork());
	if (!pid) {
		struct numabuf_alloc a;
		struct numabuf_info inf;
		int ufd, ret, n = 0;

		nb_become_member(64 * NB_MIB);
		ufd = nb_open();
		a = nb_alloc_ok(ufd, NB_RANGE, node, 0);
		NB_CHECK(!nb_info(ufd, a.handle, &inf) && inf.source == NUMABUF_SOURCE_POOL,
			 "8 MiB with a pool: source %u, expected the pool", inf.source);
		while (!(ret = nb_alloc(ufd, NB_RANGE, node, NUMABUF_F_POOL, NULL)))
			NB_CHECK(++n < 8, "more 8 MiB buffers than the 32 MiB pool holds");
		NB_CHECK(ret == -ENOMEM, "NUMABUF_F_POOL from a full pool: %s, expected ENOMEM",
			 nb_errname(-ret));
		ret = nb_alloc(ufd, NB_RANGE, node, 0, NULL);
		NB_CHECK(ret == -EPERM, "8 MiB past a full pool: %s, expected EPERM",
			 ret ? nb_errname(-ret) : "success");
		ret = nb_alloc(ufd, NB_RANGE, node, NUMABUF_F_PREFERRED, NULL);
		NB_CHECK(ret == -EPERM, "8 MiB PREFERRED past a full pool: %s, expected EPERM",
			 ret ? nb_errname(-ret) : "success");
		close(ufd);
		_exit(0);
	}
	st = nb_wait_status(pid);
	nb_dev_restore();
	p.target = 0;
	NB_SYS(ioctl(fd, NUMABUF_IOC_POOL_SET, &p));
	close(fd);
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
}

/*
 * A victim bound to @node: @len of anonymous memory, mlocked, filled.
 * Sends its address on @ready, then waits for SIGUSR1 and checks it.
 */
static pid_t nb_victim(int node, size_t len, int ready)
{
	unsigned long mask = 1UL << node;
	pid_t pid = NB_SYS(fork());
	sigset_t set;
	char *p;
	int sig;

	if (pid)
		return pid;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	NB_SYS(set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	nb_fill(p, len, 0x7777);
	NB_SYS(mlock(p, len / 2));	/* half mlocked, half plain */
	NB_CHECK(write(ready, &p, sizeof(p)) == sizeof(p), "write");
	while (sigwait(&set, &sig))
		;
	NB_CHECK(nb_verify(p, len, 0x7777) == (size_t)-1, "the victim's memory changed");
	_exit(0);
}

NB_TEST_TIMEOUT(range_denied_no_migration,
	"attack: nobody repeats 8 MiB ALLOCs outside a pool on the node where another user's process holds 256 MiB (half mlocked); limit: with ranges closed (the default) not one of the victim's pages moves (its frames from /proc/PID/pagemap before and after) and alloc_contig_range() never runs",
	600)
{
	const size_t len = 256 * NB_MIB, n = len / NB_PAGE;
	uint64_t *before = calloc(n, 8), *after = calloc(n, 8);
	int node = nb_last_node(), pfd[2], kp, st;
	long long hits = 0;
	size_t i, moved = 0;
	pid_t victim, pid;
	uintptr_t addr;

	NB_CHECK(before && after, "out of memory");
	NB_SYS(pipe(pfd));
	victim = nb_victim(node, len, pfd[1]);
	NB_CHECK(read(pfd[0], &addr, sizeof(addr)) == sizeof(addr), "the victim died");
	nb_pid_pfns(victim, addr, n, before);
	for (i = 0; i < n; i++)
		NB_CHECK(before[i], "victim page %zu not present", i);
	kp = nb_kp_open();
	if (kp >= 0)
		hits = nb_kp_hits(kp);

	nb_dev_to_group();
	pid = NB_SYS(fork());
	if (!pid) {
		int fd, ret, k;

		nb_become_member(64 * NB_MIB);
		fd = nb_open();
		for (k = 0; k < 231; k++) {
			ret = nb_alloc(fd, NB_RANGE, node, NUMABUF_F_NO_POOL, NULL);
			NB_CHECK(ret == -EPERM, "nobody's ALLOC %d: %s, expected EPERM", k,
				 ret ? nb_errname(-ret) : "success");
		}
		_exit(0);
	}
	st = nb_wait_status(pid);
	nb_dev_restore();
	nb_pid_pfns(victim, addr, n, after);
	for (i = 0; i < n; i++)
		moved += before[i] != after[i];
	if (kp >= 0)
		hits = nb_kp_hits(kp) - hits;
	nb_kp_close(kp);
	NB_SYS(kill(victim, SIGUSR1));
	NB_WAIT_OK(victim);
	free(before);
	free(after);
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
	NB_CHECK(!moved, "%zu of the victim's %zu pages moved", moved, n);
	NB_CHECK(kp < 0 || hits == 0, "alloc_contig_range() ran %lld times", hits);
}

NB_TEST(range_zone_order,
	"ranges on node 0 (8 MiB, 64 MiB) come from ZONE_NORMAL while it has room, never from ZONE_DMA or ZONE_DMA32 then: each buffer's frames (pagemap) inside Normal's span from /proc/zoneinfo")
{
	struct nb_zone z[8];
	const struct nb_zone *normal;
	static const uint64_t sizes[] = { NB_RANGE, 64 * NB_MIB };
	int nodes[NB_MAX_NODES], node, nz, fd, s;

	nb_mem_nodes(nodes, NB_MAX_NODES);
	node = nodes[0];
	nz = nb_zones(node, z, 8);
	normal = nb_zone_named(z, nz, "Normal");
	if (!normal || !normal->spanned)
		nb_skip("node %d has no ZONE_NORMAL", node);
	if (!nb_zone_named(z, nz, "DMA32") && !nb_zone_named(z, nz, "DMA"))
		nb_note("node %d has no ZONE_DMA/DMA32: the order is not tested", node);
	fd = nb_open();
	for (s = 0; s < 2; s++) {
		uint64_t len = sizes[s], *pfn = calloc(len / NB_PAGE, 8);
		long long room = normal->free - normal->high - normal->reserve;
		struct numabuf_alloc a;
		void *p;

		NB_CHECK(pfn, "out of memory");
		if (room < (long long)(4 * len / NB_PAGE))
			nb_skip("node %d's Normal zone has %lld pages above its watermarks",
				node, room);
		a = nb_alloc_ok(fd, len, node, NUMABUF_F_NO_POOL);
		p = nb_map(fd, a.offset, len);
		nb_pfns(p, len / NB_PAGE, pfn);
		nb_note("node %d: %llu MiB at pfn %#llx; Normal spans %#llx-%#llx",
			node, (unsigned long long)(len / NB_MIB), (unsigned long long)pfn[0],
			normal->start_pfn, normal->start_pfn + normal->spanned);
		NB_CHECK(pfn[0] >= (uint64_t)normal->start_pfn &&
			 pfn[len / NB_PAGE - 1] < (uint64_t)(normal->start_pfn + normal->spanned),
			 "%llu MiB range at pfn %#llx is outside ZONE_NORMAL (%#llx + %#llx)",
			 (unsigned long long)(len / NB_MIB), (unsigned long long)pfn[0],
			 normal->start_pfn, normal->spanned);
		NB_SYS(munmap(p, len));
		NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		free(pfn);
	}
	close(fd);
}

NB_TEST(range_never_movable,
	"ranges (8 MiB, 64 MiB) on every node with a ZONE_MOVABLE (boot with movablecore=, else SKIP) never land in it nor in ZONE_DMA: the frames (pagemap) against each zone's span in /proc/zoneinfo")
{
	static const uint64_t sizes[] = { NB_RANGE, 64 * NB_MIB };
	int nodes[NB_MAX_NODES], n = nb_mem_nodes(nodes, NB_MAX_NODES);
	int i, s, nz, fd, tested = 0;
	struct nb_zone z[8];

	fd = nb_open();
	for (i = 0; i < n; i++) {
		const struct nb_zone *mov, *dma;

		nz = nb_zones(nodes[i], z, 8);
		mov = nb_zone_named(z, nz, "Movable");
		dma = nb_zone_named(z, nz, "DMA");
		if (!mov || !mov->spanned)
			continue;
		tested++;
		for (s = 0; s < 2; s++) {
			uint64_t len = sizes[s], *pfn = calloc(len / NB_PAGE, 8), last;
			struct numabuf_alloc a;
			void *p;
			int ret;

			NB_CHECK(pfn, "out of memory");
			ret = nb_alloc(fd, len, nodes[i], NUMABUF_F_NO_POOL, &a);
			if (ret) {
				/* Nothing outside Movable: refused, and that is the point. */
				NB_CHECK(ret == -ENOMEM, "%llu MiB on node %d: %s",
					 (unsigned long long)(len / NB_MIB), nodes[i],
					 nb_errname(-ret));
				nb_note("node %d: %llu MiB refused (ENOMEM)", nodes[i],
					(unsigned long long)(len / NB_MIB));
				free(pfn);
				continue;
			}
			p = nb_map(fd, a.offset, len);
			nb_pfns(p, len / NB_PAGE, pfn);
			last = pfn[len / NB_PAGE - 1];
			nb_note("node %d: %llu MiB at pfn %#llx; Movable spans %#llx-%#llx",
				nodes[i], (unsigned long long)(len / NB_MIB),
				(unsigned long long)pfn[0], mov->start_pfn,
				mov->start_pfn + mov->spanned);
			NB_CHECK(last < (uint64_t)mov->start_pfn ||
				 pfn[0] >= (uint64_t)(mov->start_pfn + mov->spanned),
				 "node %d: range %#llx-%#llx overlaps ZONE_MOVABLE", nodes[i],
				 (unsigned long long)pfn[0], (unsigned long long)last);
			NB_CHECK(!dma || !dma->spanned ||
				 pfn[0] >= (uint64_t)(dma->start_pfn + dma->spanned),
				 "node %d: range at %#llx in ZONE_DMA", nodes[i],
				 (unsigned long long)pfn[0]);
			NB_SYS(munmap(p, len));
			NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
			free(pfn);
		}
	}
	close(fd);
	if (!tested)
		nb_skip("no node has a ZONE_MOVABLE (boot the guest with movablecore=)");
}

NB_TEST(range_watermark,
	"attack: nobody (range_users=1) asks for nearly all of a node's free memory as one range; limit: a range may not take a zone below its high watermark plus lowmem reserve, so ENOMEM before any window is tried (kprobe hits 0), and every zone of the node stays above its high watermark (/proc/zoneinfo)")
{
	struct nb_params saved = nb_params_save();
	int node = nb_last_node(), kp, st, i, nz;
	struct nb_zone z[8];
	const struct nb_zone *big = NULL;
	long long hits = 0;
	uint64_t len;
	pid_t pid;

	nb_drop_caches();
	nz = nb_zones(node, z, 8);
	for (i = 0; i < nz; i++)
		if (!big || z[i].free > big->free)
			big = &z[i];
	NB_CHECK(big && big->free > 0, "no zone with free pages on node %d", node);
	/* 64 MiB more than the largest zone may give. */
	len = ((uint64_t)(big->free - big->high - big->reserve) * NB_PAGE + 64 * NB_MIB +
	       2 * NB_MIB - 1) & ~(2 * NB_MIB - 1);
	nb_note("node %d zone %s: free %lld high %lld reserve %lld pages; asking %llu MiB",
		node, big->name, big->free, big->high, big->reserve,
		(unsigned long long)(len / NB_MIB));

	kp = nb_kp_open();
	if (kp >= 0)
		hits = nb_kp_hits(kp);
	nb_dev_to_group();
	nb_param_set("range_users", 1);
	nb_param_set("range_rate", 0);
	pid = NB_SYS(fork());
	if (!pid) {
		int fd, ret;

		nb_become_member(len + NB_MIB);
		fd = nb_open();
		ret = nb_alloc(fd, len, node, NUMABUF_F_NO_POOL, NULL);
		NB_CHECK(ret == -ENOMEM, "%llu MiB on node %d: %s, expected ENOMEM",
			 (unsigned long long)(len / NB_MIB), node,
			 ret ? nb_errname(-ret) : "success");
		_exit(0);
	}
	st = nb_wait_status(pid);
	nb_params_restore(saved);
	nb_dev_restore();
	if (kp >= 0)
		hits = nb_kp_hits(kp) - hits;
	nb_kp_close(kp);
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
	NB_CHECK(kp < 0 || hits == 0, "alloc_contig_range() ran %lld times", hits);
	nz = nb_zones(node, z, 8);
	for (i = 0; i < nz; i++)
		NB_CHECK(!z[i].spanned || z[i].free >= z[i].high,
			 "node %d zone %s: %lld pages free, below its high watermark %lld",
			 node, z[i].name, z[i].free, z[i].high);
}

/*
 * Fragment @node with pages no window can give up: a child bound to the
 * node fills its free memory with anonymous pages, pins one page of each
 * physical 2 MiB block (vmsplice(2) into pipes: the pipes hold references,
 * so migration fails), and drops the rest (MADV_DONTNEED).  The node is
 * then mostly free, every window that held the child's pages holds a
 * pinned one, and each looks movable (its pages are on the LRU), so a
 * range request spends its tries on them.  Returns the child; SIGKILL
 * ends it and frees everything.
 */
static pid_t nb_pin_fragment(int node)
{
	unsigned long mask = 1UL << node;
	int ready[2];
	pid_t pid;
	char c;

	nb_drop_caches();
	NB_SYS(pipe(ready));
	pid = NB_SYS(fork());
	if (!pid) {
		size_t len = ((size_t)nb_free_kb(node) * NB_KIB - 128 * NB_MIB) & ~(NB_MIB - 1);
		size_t n = len / NB_PAGE, i, pinned = 0, slots = 0;
		uint64_t *pfn = calloc(n, 8);
		unsigned char *seen = calloc(1 << 22, 1);	/* 2 MiB blocks, 8 TiB */
		int pp[2] = { -1, -1 };
		char *p;

		NB_CHECK(pfn && seen, "out of memory");
		NB_SYS(set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8));
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		NB_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
		/* EINVAL: a kernel without THP (PREEMPT_RT): 4 KiB pages anyway. */
		NB_CHECK(!madvise(p, len, MADV_NOHUGEPAGE) || errno == EINVAL,
			 "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
		for (i = 0; i < n; i++)
			p[i * NB_PAGE] = 1;
		nb_pfns(p, n, pfn);
		for (i = 0; i < n; i++) {
			struct iovec iov = { p + i * NB_PAGE, NB_PAGE };
			uint64_t blk = pfn[i] / 512;

			if (!pfn[i] || blk >= (1 << 22) || seen[blk]) {
				NB_SYS(madvise(p + i * NB_PAGE, NB_PAGE, MADV_DONTNEED));
				continue;
			}
			seen[blk] = 1;
			if (!slots) {
				NB_SYS(pipe(pp));
				slots = (size_t)NB_SYS(fcntl(pp[1], F_SETPIPE_SZ, 1 << 20)) / NB_PAGE;
			}
			NB_CHECK(vmsplice(pp[1], &iov, 1, 0) == NB_PAGE, "vmsplice: %s",
				 strerror(errno));
			slots--;
			pinned++;
		}
		nb_note("node %d: %zu MiB touched, %zu pages pinned, one per 2 MiB block, the rest dropped",
			node, (size_t)(len / NB_MIB), pinned);
		NB_CHECK(write(ready[1], "r", 1) == 1, "write");
		for (;;)
			pause();
	}
	/* Our write end closed first: a child that dies is an EOF, not a hang. */
	close(ready[1]);
	NB_CHECK(read(ready[0], &c, 1) == 1, "the pinning child died");
	close(ready[0]);
	return pid;
}

/* In a child: 8 MiB requests, each within @tries windows. */
static void nb_bounded_requests(int kp, int node, unsigned int tries)
{
	int fd, ret, k, enomem = 0, full = 0, ok = 0;
	long long h0, h, most = 0;

	nb_become_member(1024 * NB_MIB);
	fd = nb_open();
	/* Successes are held, so free windows get used up. */
	for (k = 0; k < 40 && enomem < 5; k++) {
		h0 = nb_kp_hits(kp);
		ret = nb_alloc(fd, NB_RANGE, node, NUMABUF_F_NO_POOL, NULL);
		h = nb_kp_hits(kp) - h0;
		NB_CHECK(h <= tries,
			 "one 8 MiB request (%s) handed %lld windows to alloc_contig_range(), range_max_tries %u",
			 ret ? nb_errname(-ret) : "success", h, tries);
		NB_CHECK(!ret || ret == -ENOMEM, "8 MiB: %s", nb_errname(-ret));
		ok += !ret;
		enomem += ret == -ENOMEM;
		full += ret == -ENOMEM && h == tries;
		if (h > most)
			most = h;
	}
	nb_note("range_max_tries %u: %d ranges, %d ENOMEM (%d of them after exactly %u windows), at most %lld windows per request",
		tries, ok, enomem, full, tries, most);
	NB_CHECK(full > 0, "no request failed after range_max_tries windows: the node was not fragmented enough");
	_exit(0);
}

NB_TEST_TIMEOUT(range_bounded_tries,
	"attack: nobody (range_users=1) asks again and again for 8 MiB ranges on a node where every window holds a pinned page (vmsplice); limit: each request hands at most range_max_tries windows to alloc_contig_range() (kprobe hits per request, at 3 and at the default 8), then fails with ENOMEM",
	900)
{
	static const unsigned int tries[] = { 3, 8 };
	struct nb_params saved = nb_params_save();
	int node = nb_last_node(), kp, st = 0, t;
	pid_t pid, pinner;

	NB_CHECK(saved.tries == 8, "range_max_tries is %llu, not the default 8", saved.tries);
	kp = nb_kp_open();
	if (kp < 0)
		nb_skip("no kprobe events to count alloc_contig_range() calls");
	pinner = nb_pin_fragment(node);
	nb_dev_to_group();
	nb_param_set("range_users", 1);
	nb_param_set("range_rate", 0);
	for (t = 0; t < 2 && !st; t++) {
		nb_param_set("range_max_tries", tries[t]);
		pid = NB_SYS(fork());
		if (!pid)
			nb_bounded_requests(kp, node, tries[t]);
		st = nb_wait_status(pid);
	}
	nb_params_restore(saved);
	nb_dev_restore();
	kill(pinner, SIGKILL);
	waitpid(pinner, NULL, 0);
	nb_kp_close(kp);
	NB_CHECK(!st, "nobody's part failed (status %d)", st);
}

/* In a child: @n ranges as fast as it can; counts of successes, EAGAIN. */
static void nb_burst(int fd, int node, int n, int *ok, int *again)
{
	struct numabuf_alloc a;
	int k, ret;

	*ok = *again = 0;
	for (k = 0; k < n; k++) {
		ret = nb_alloc(fd, 4 * NB_MIB + NB_PAGE, node, NUMABUF_F_NO_POOL, &a);
		if (!ret) {
			++*ok;
			NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
		} else {
			NB_CHECK(ret == -EAGAIN, "range %d: %s, expected success or EAGAIN",
				 k, nb_errname(-ret));
			++*again;
		}
	}
}

/* Fork a member with @uid that takes @n ranges; its status. */
static int nb_burst_as(uid_t uid, int node, int n, int min_again, int want_ok)
{
	pid_t pid = NB_SYS(fork());
	int ok, again;

	if (!pid) {
		double t;
		int fd;

		nb_become_uid(uid, 64 * NB_MIB);
		fd = nb_open();
		t = nb_now();
		nb_burst(fd, node, n, &ok, &again);
		t = nb_now() - t;
		nb_note("uid %d: %d ranges, %d EAGAIN in %.2f s", uid, ok, again, t);
		NB_CHECK(again >= min_again, "uid %d: %d EAGAIN in %d ranges at range_rate 2 (%.2f s)",
			 uid, again, n, t);
		/* The bucket: 2, and 2 more per second. */
		NB_CHECK(ok <= 2 + (int)(2 * t) + 1, "uid %d: %d ranges in %.2f s at range_rate 2",
			 uid, ok, t);
		NB_CHECK(want_ok < 0 || ok == want_ok, "uid %d: %d ranges, expected %d",
			 uid, ok, want_ok);
		_exit(0);
	}
	return nb_wait_status(pid);
}

NB_TEST_TIMEOUT(range_rate_limit,
	"attack: nobody (range_users=1, range_rate=2) asks for 12 ranges at once; limit: those beyond its bucket (2, and 2 more per second the burst lasts) get EAGAIN, another user has a bucket of its own, after 2 s nobody gets a range again, and root (CAP_SYS_ADMIN) is never limited",
	300)
{
	struct nb_params saved = nb_params_save();
	int node = nb_last_node(), st, fd, ok = 0, again = 0;

	nb_dev_to_group();
	nb_param_set("range_users", 1);
	nb_param_set("range_rate", 2);
	st = nb_burst_as(NB_NOBODY, node, 12, 1, -1);
	if (!st)
		st = nb_burst_as(NB_OTHER_UID, node, 1, 0, 1);
	if (!st) {
		sleep(2);
		st = nb_burst_as(NB_NOBODY, node, 1, 0, 1);
	}
	nb_dev_restore();
	if (!st) {
		fd = nb_open();
		nb_burst(fd, node, 12, &ok, &again);
		close(fd);
	}
	nb_params_restore(saved);
	NB_CHECK(!st, "a member's part failed (status %d)", st);
	NB_CHECK(ok == 12, "root: %d of 12 ranges, %d EAGAIN", ok, again);
}
