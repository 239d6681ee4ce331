// SPDX-License-Identifier: GPL-2.0
/*
 * Kill storm: many processes doing random numabuf work, each killed with
 * SIGKILL at a random point of it.  Whatever they held when they died (open
 * files, live handles, mappings, buffers freed but still mapped, children
 * sharing their mappings, files in flight in a unix socket, an ALLOC
 * blocked half way through) must all be released: afterwards the module's
 * counters are where they began and MemFree is back within 1% of its start.
 * (guest-suite.sh's unload tests then check the module unloads.)
 *
 * Environment:
 *   NB_KILLSTORM_PROCS  processes (default 1000)
 *   NB_KILLSTORM_PAR    how many are alive at a time (default 12)
 *   NB_KILLSTORM_SEED   seed (printed)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define KS_MAX_PAR	64
#define KS_HOLD		8	/* buffers a worker keeps at most */

struct ks_stats {
	atomic_ullong ops, allocs, alloc_enomem, maps, frees, unmaps, forks;
	atomic_ullong reopens, in_flight, cycles, touched;
};

static struct ks_stats *ks;

enum { KS_WORK, KS_BLOCK_WP, KS_BLOCK_MISSING, KS_EXIT };

struct ks_buf {
	uint32_t handle;
	uint64_t len;
	char *map;
	size_t maplen;
};

static uint64_t ks_len(struct nb_rng *r)
{
	unsigned int x = nb_rnd_below(r, 100);

	if (x < 60)
		return 1 + nb_rnd_below(r, 32 * NB_KIB);
	if (x < 92)
		return 32 * NB_KIB + nb_rnd_below(r, 480 * NB_KIB);
	return 512 * NB_KIB + nb_rnd_below(r, 3584 * NB_KIB + 1);
}

/* Send @fd (and, for a cycle, the receiving socket itself) to nobody. */
static void ks_send_fd(int sock, int fd, int extra)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))], byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int n = extra >= 0 ? 2 : 1;

	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (extra >= 0)
		memcpy(CMSG_DATA(cm) + sizeof(int), &extra, sizeof(int));
	if (sendmsg(sock, &mh, MSG_DONTWAIT) == 1)
		atomic_fetch_add(extra >= 0 ? &ks->cycles : &ks->in_flight, 1);
}

/* Random work until killed; @forks: may it fork (grandchildren do not). */
__attribute__((noreturn))
static void ks_work(struct nb_rng *r, int fd, struct ks_buf *held, bool forks,
		    unsigned long limit)
{
	unsigned long i;

	for (i = 0; i < limit; i++) {
		unsigned int op = nb_rnd_below(r, 100), k = nb_rnd_below(r, KS_HOLD);
		struct ks_buf *b = &held[k];

		atomic_fetch_add(&ks->ops, 1);
		if (op < 30) {
			struct numabuf_alloc a;
			int node = nb_rnd_below(r, 3) - 1;
			int ret;

			if (b->handle)
				continue;
			ret = nb_alloc(fd, ks_len(r), node,
				       nb_rnd_below(r, 2) ? NUMABUF_F_PREFERRED : 0, &a);
			if (ret == -ENOMEM || ret == -EDQUOT) {
				atomic_fetch_add(&ks->alloc_enomem, 1);
				continue;
			}
			if (ret)
				NB_FAIL("ALLOC: %s", nb_errname(-ret));
			atomic_fetch_add(&ks->allocs, 1);
			b->handle = a.handle;
			b->len = a.length;
			if (nb_rnd_below(r, 4)) {
				size_t first = nb_rnd_below(r, a.length / NB_PAGE);
				size_t n = 1 + nb_rnd_below(r, a.length / NB_PAGE - first);
				char *p;

				if (b->map)
					munmap(b->map, b->maplen);
				p = mmap(NULL, n * NB_PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, (off_t)(a.offset + first * NB_PAGE));
				/* ENXIO: a forked sibling freed it first */
				if (p == MAP_FAILED && errno != ENOMEM && errno != ENXIO)
					NB_FAIL("mmap: %s", nb_errname(errno));
				b->map = p == MAP_FAILED ? NULL : p;
				b->maplen = n * NB_PAGE;
				atomic_fetch_add(&ks->maps, b->map != NULL);
			}
		} else if (op < 50) {
			/* (a forked sibling may write the same pages) */
			if (b->map) {
				memset(b->map, (int)i, b->maplen);
				atomic_fetch_add(&ks->touched, b->maplen);
			}
		} else if (op < 65) {
			if (b->handle) {
				int ret = nb_free(fd, b->handle);

				/* ENOENT: a child or sibling freed it first */
				if (ret && ret != -ENOENT)
					NB_FAIL("FREE: %s", nb_errname(-ret));
				b->handle = 0;
				atomic_fetch_add(&ks->frees, 1);
			}
		} else if (op < 78) {
			if (b->map) {
				munmap(b->map, b->maplen);
				b->map = NULL;
				atomic_fetch_add(&ks->unmaps, 1);
			}
		} else if (op < 83) {
			if (b->map)
				madvise(b->map, b->maplen, MADV_DONTNEED);
		} else if (op < 88) {
			/* Close the file, its mappings live on; start afresh. */
			int nfd = open(NB_DEV, O_RDWR | O_CLOEXEC);

			if (nfd < 0)
				NB_FAIL("open %s: %s", NB_DEV, strerror(errno));
			close(fd);
			fd = nfd;
			for (k = 0; k < KS_HOLD; k++)
				held[k].handle = 0;
			atomic_fetch_add(&ks->reopens, 1);
		} else if (op < 93) {
			/* Put the file in flight in a socket nobody reads. */
			int sv[2];

			if (!socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)) {
				bool cycle = nb_rnd_below(r, 4) == 0;

				ks_send_fd(sv[0], fd, cycle ? sv[1] : -1);
				/* usually close both; sometimes die holding them */
				if (nb_rnd_below(r, 3)) {
					close(sv[0]);
					close(sv[1]);
				}
			}
		} else if (op < 96 && forks) {
			pid_t pid = fork();

			if (pid == 0) {
				struct nb_rng cr = { nb_rnd(r) };

				/* Shares the file and every mapping; dies with the group. */
				ks_work(&cr, fd, held, false, ULONG_MAX);
			}
			atomic_fetch_add(&ks->forks, pid > 0);
		}
	}
	_exit(0);
}

/* ALLOC with its argument on a page userfaultfd holds: never returns. */
__attribute__((noreturn))
static void ks_block(int fd, bool wp)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct numabuf_alloc *a;
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	char *page = mmap(NULL, NB_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || page == MAP_FAILED)
		pause();
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)page;
	reg.range.len = NB_PAGE;
	if (wp) {
		struct uffdio_writeprotect w;

		a = (void *)page;
		a->size = sizeof(*a);
		a->length = 1 + (uintptr_t)page % (4 * NB_MIB);
		a->node = NUMABUF_NODE_LOCAL;
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		w.range = reg.range;
		w.mode = UFFDIO_WRITEPROTECT_MODE_WP;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg) ||
		    ioctl(uffd, UFFDIO_WRITEPROTECT, &w))
			pause();
	} else {
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			pause();
	}
	/* The buffer is allocated (WP), then the copy back blocks. */
	ioctl(fd, NUMABUF_IOC_ALLOC, page);
	pause();
	_exit(0);
}

__attribute__((noreturn))
static void ks_worker(uint64_t seed, int mode)
{
	struct nb_rng r = { seed };
	struct ks_buf held[KS_HOLD];
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = nb_open();
	memset(held, 0, sizeof(held));
	if (mode == KS_BLOCK_WP || mode == KS_BLOCK_MISSING) {
		unsigned int n = nb_rnd_below(&r, 8);

		/* hold something first, so the kill has more to release */
		while (n--) {
			struct numabuf_alloc a;

			if (!nb_alloc(fd, ks_len(&r), NUMABUF_NODE_LOCAL, 0, &a) &&
			    nb_rnd_below(&r, 2))
				mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED,
				     fd, (off_t)a.offset);
		}
		ks_block(fd, mode == KS_BLOCK_WP);
	}
	ks_work(&r, fd, held, true, mode == KS_EXIT ? 1 + nb_rnd_below(&r, 200) : ULONG_MAX);
}

static bool ks_uffd_works(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	bool ok;

	if (uffd < 0)
		return false;
	ok = !ioctl(uffd, UFFDIO_API, &api);
	close(uffd);
	return ok;
}

/* Close a unix socket: lets the kernel collect sockets in flight in cycles. */
static void ks_poke_unix_gc(void)
{
	int sv[2];

	if (!socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) {
		close(sv[0]);
		close(sv[1]);
	}
}

struct ks_slot {
	pid_t pid;
	int mode;
	bool when_blocked;	/* kill once seen asleep in an ioctl */
	bool sent;
	double deadline;	/* else kill this long after the fork */
	double born;
};

NB_TEST_TIMEOUT(kill_storm,
	"1000 processes (NB_KILLSTORM_PROCS; 12 at a time, NB_KILLSTORM_PAR) allocating, mapping, touching, forking, freeing, reopening, passing files over unix sockets, some blocked inside ALLOC: each SIGKILLed at a random point; afterwards the counters are zero and MemFree is back within 1%",
	1800)
{
	unsigned long long procs = nb_env_ull("NB_KILLSTORM_PROCS", 1000);
	unsigned long long par = nb_env_ull("NB_KILLSTORM_PAR", 12);
	uint64_t seed = nb_seed("NB_KILLSTORM_SEED");
	unsigned long long spawned = 0, reaped = 0, killed = 0, exited = 0;
	unsigned long long blocked = 0, not_blocked = 0, strays = 0;
	struct ks_slot slot[KS_MAX_PAR];
	struct nb_rng r = { seed };
	long long free0, free1 = 0, memfree0, min_free;
	struct nb_stats s0, s1 = { 0, 0 };
	double t0, t_storm;
	int i, alive = 0;

	bool uffd = ks_uffd_works();

	NB_CHECK(par >= 1 && par <= KS_MAX_PAR, "NB_KILLSTORM_PAR must be 1..%d", KS_MAX_PAR);
	ks = mmap(NULL, sizeof(*ks), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(ks != MAP_FAILED, "mmap: %s", strerror(errno));
	/* Orphaned grandchildren come back here to be reaped. */
	NB_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));
	memset(slot, 0, sizeof(slot));
	if (!uffd)
		nb_note("no userfaultfd: no worker is killed blocked inside ALLOC");

	/* (shrinking the slabs empties KASAN's quarantine, on such kernels) */
	nb_drop_caches();
	nb_shrink_slabs();
	free0 = nb_free_kb(-1);
	memfree0 = nb_meminfo_kb("MemFree");
	min_free = memfree0;
	s0 = nb_stats_read();
	NB_CHECK(free0 > 0 && memfree0 > 0, "cannot read free memory");

	t0 = nb_now();
	while (spawned < procs || alive) {
		double now = nb_now();
		int status;
		pid_t pid;

		/* Fill the free slots. */
		for (i = 0; i < (int)par && spawned < procs; i++) {
			unsigned int m = nb_rnd_below(&r, 100);
			uint64_t wseed = nb_rnd(&r);

			if (slot[i].pid)
				continue;
			slot[i].mode = m < 6 ? KS_BLOCK_WP : m < 10 ? KS_BLOCK_MISSING :
				       m < 13 ? KS_EXIT : KS_WORK;
			if (!uffd && slot[i].mode != KS_EXIT)
				slot[i].mode = KS_WORK;
			/* Mostly a few ms into the work, sometimes at once. */
			m = nb_rnd_below(&r, 100);
			slot[i].deadline = m < 15 ? 0.0005 * nb_rnd_below(&r, 10) :
					   m < 80 ? 0.001 * nb_rnd_below(&r, 20) :
					   0.001 * nb_rnd_below(&r, 100);
			slot[i].born = now;
			slot[i].sent = false;
			slot[i].when_blocked = slot[i].mode == KS_BLOCK_WP ||
					       slot[i].mode == KS_BLOCK_MISSING;
			pid = fork();
			NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
			if (pid == 0) {
				setpgid(0, 0);
				ks_worker(wseed, slot[i].mode);
			}
			setpgid(pid, pid);
			slot[i].pid = pid;
			spawned++;
			alive++;
		}

		/* Kill the ones whose time has come. */
		for (i = 0; i < (int)par; i++) {
			if (!slot[i].pid || slot[i].sent)
				continue;
			if (slot[i].when_blocked) {
				long nr = nb_blocked_syscall(slot[i].pid);

				if (nr == SYS_ioctl) {
					blocked++;
				} else if (now - slot[i].born < 10) {
					continue;
				} else {
					if (!not_blocked++)
						nb_note("worker %d (mode %d) not seen in an ioctl after 10 s; sleeping in syscall %ld",
							slot[i].pid, slot[i].mode, nr);
				}
			} else if (now - slot[i].born < slot[i].deadline) {
				continue;
			}
			kill(-slot[i].pid, SIGKILL);
			kill(slot[i].pid, SIGKILL);
			slot[i].sent = true;
		}

		/* Reap workers and orphaned grandchildren. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < (int)par; i++)
				if (slot[i].pid == pid)
					break;
			if (i == (int)par) {
				strays++;
				continue;
			}
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
				killed++;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				exited++;
			} else {
				NB_FAIL("worker %d (mode %d) ended with status %#x", pid,
					slot[i].mode, status);
			}
			/* Whatever it forked dies with it. */
			kill(-pid, SIGKILL);
			slot[i].pid = 0;
			alive--;
			reaped++;
		}
		if (nb_meminfo_kb("MemFree") < min_free)
			min_free = nb_meminfo_kb("MemFree");
		usleep(500);
	}
	/* The last grandchildren. */
	for (i = 0; i < 500; i++) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid > 0)
			strays++;
		else
			usleep(10000);
	}
	t_storm = nb_now() - t0;

	nb_note("%llu processes in %.1f s: %llu killed, %llu exited first; %llu killed while blocked in ALLOC (%llu never seen blocked); %llu grandchildren reaped",
		spawned, t_storm, killed, exited, blocked, not_blocked, strays);
	nb_note("work done: %llu steps, %llu buffers (%llu ENOMEM), %llu mappings, %llu MiB written, %llu FREEs, %llu munmaps, %llu forks, %llu reopens, %llu files left in flight, %llu in socket cycles",
		(unsigned long long)ks->ops, (unsigned long long)ks->allocs,
		(unsigned long long)ks->alloc_enomem, (unsigned long long)ks->maps,
		(unsigned long long)(ks->touched >> 20), (unsigned long long)ks->frees,
		(unsigned long long)ks->unmaps, (unsigned long long)ks->forks,
		(unsigned long long)ks->reopens, (unsigned long long)ks->in_flight,
		(unsigned long long)ks->cycles);

	/*
	 * Everything goes at exit, but files in flight in unix socket cycles
	 * go only when the kernel's collector runs: closing a unix socket
	 * sets it off.  Give it up to ~20 s.
	 */
	for (i = 0; i < 200; i++) {
		s1 = nb_stats_read();
		if (s1.buffers == s0.buffers && s1.bytes == s0.bytes)
			break;
		ks_poke_unix_gc();
		usleep(100000);
	}
	NB_CHECK(s1.buffers == s0.buffers && s1.bytes == s0.bytes,
		 "seed %#llx: module counters went from %lld buffers %lld bytes to %lld buffers %lld bytes after every process was reaped",
		 (unsigned long long)seed, s0.buffers, s0.bytes, s1.buffers, s1.bytes);
	if (i)
		nb_note("the counters took %.1f s to come back (unix socket collection)",
			i * 0.1);

	/*
	 * MemFree leaves out the pages on the per-CPU free lists, which hold
	 * tens of MiB here and fill up when many pages are freed at once (a
	 * buffer goes back page by page): the 1% is checked on MemFree plus
	 * those lists, as the harness counts free memory.  Raw MemFree is
	 * reported too.  Both after the slab caches are shrunk, as before the
	 * storm: on a KASAN kernel the quarantine of freed objects holds tens
	 * of MB otherwise.
	 */
	for (i = 0; i < 50; i++) {
		nb_drop_caches();
		nb_shrink_slabs();
		free1 = nb_free_kb(-1);
		if (free1 >= free0 - free0 / 100)
			break;
		usleep(200000);
	}
	nb_note("free memory %lld KiB before, %lld KiB after (%+lld KiB); MemFree %lld KiB before, %lld KiB at the lowest, %lld KiB after",
		free0, free1, free1 - free0, memfree0, min_free,
		nb_meminfo_kb("MemFree"));
	NB_CHECK(free1 >= free0 - free0 / 100,
		 "seed %#llx: free memory %lld KiB after the storm, %lld KiB before: more than 1%% short",
		 (unsigned long long)seed, free1, free0);
	NB_CHECK(killed >= spawned / 2, "only %llu of %llu workers were killed", killed, spawned);
}
