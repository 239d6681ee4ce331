// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency smoke tests: several threads hammering one open file or
 * their own; nothing crashes, every buffer arrives zeroed and stays the
 * thread's own, and the counters end where they began.
 *
 * Environment:
 *   NB_STRESS_CYCLES  cycles per thread (default 2000; the sanitizer lane
 *                     runs fewer, see tests/check.sh)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_THREADS	4

/* Cycles per thread: NB_STRESS_CYCLES, read before any thread starts. */
static int nb_cycles;

static void nb_read_cycles(void)
{
	unsigned long long n = nb_env_ull("NB_STRESS_CYCLES", 2000);

	if (n < 1 || n > 1000000)
		NB_FAIL("NB_STRESS_CYCLES=%llu is not in 1..1000000", n);
	nb_cycles = (int)n;
}

struct nb_worker {
	int fd;
	int id;
	char err[256];
};

static void *nb_cycle_thread(void *arg)
{
	struct nb_worker *w = arg;
	int i, cycles = nb_cycles;

	for (i = 0; i < cycles; i++) {
		uint64_t len = NB_PAGE << ((i + w->id) % 5);	/* 4..64 KiB */
		struct numabuf_alloc a;
		unsigned char *p;
		size_t off;
		int ret = nb_alloc(w->fd, len, NUMABUF_NODE_LOCAL, 0, &a);

		if (ret) {
			snprintf(w->err, sizeof(w->err), "cycle %d: ALLOC %s", i,
				 nb_errname(-ret));
			return NULL;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd,
			 (off_t)a.offset);
		if (p == MAP_FAILED) {
			snprintf(w->err, sizeof(w->err), "cycle %d: mmap %s", i,
				 nb_errname(errno));
			return NULL;
		}
		off = nb_find_nonzero(p, len);
		if (off != (size_t)-1) {
			snprintf(w->err, sizeof(w->err),
				 "cycle %d: fresh buffer has byte %zu = %#x", i,
				 off, p[off]);
			return NULL;
		}
		memset(p, w->id + 1, len);
		if (p[0] != w->id + 1 || p[len - 1] != w->id + 1) {
			snprintf(w->err, sizeof(w->err),
				 "cycle %d: another thread's data in my buffer", i);
			return NULL;
		}
		/* Vary the order: free before or after unmapping. */
		if (i & 1)
			ret = nb_free(w->fd, a.handle);
		munmap(p, len);
		if (!(i & 1))
			ret = nb_free(w->fd, a.handle);
		if (ret) {
			snprintf(w->err, sizeof(w->err), "cycle %d: FREE %s", i,
				 nb_errname(-ret));
			return NULL;
		}
	}
	return NULL;
}

static void nb_run_workers(int shared)
{
	struct nb_stats s0 = nb_stats_read();
	struct nb_worker w[NB_THREADS];
	pthread_t t[NB_THREADS];
	int i, fd = shared ? nb_open() : -1;

	nb_read_cycles();

	for (i = 0; i < NB_THREADS; i++) {
		w[i].fd = shared ? fd : nb_open();
		w[i].id = i;
		w[i].err[0] = 0;
		NB_CHECK(!pthread_create(&t[i], NULL, nb_cycle_thread, &w[i]),
			 "pthread_create");
	}
	for (i = 0; i < NB_THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < NB_THREADS; i++)
		NB_CHECK(!w[i].err[0], "thread %d: %s", i, w[i].err);
	NB_STATS_EXPECT(s0, 0, 0);
	for (i = 0; i < NB_THREADS; i++)
		if (!shared)
			close(w[i].fd);
	if (shared)
		close(fd);
}

NB_TEST_TIMEOUT(threads_shared_fd,
	"4 threads x 2000 (NB_STRESS_CYCLES) alloc/mmap/check/munmap/free cycles on one shared fd: all succeed, counters end at zero",
	600)
{
	nb_run_workers(1);
}

NB_TEST_TIMEOUT(threads_own_fd,
	"4 threads x 2000 (NB_STRESS_CYCLES) alloc/mmap/check/munmap/free cycles, each on its own fd: all succeed, counters end at zero",
	600)
{
	nb_run_workers(0);
}

/*
 * One thread allocates and frees as fast as it can; others guess its
 * handles and INFO / mmap / FREE them.  Whatever interleaving happens,
 * each call succeeds or fails cleanly (ENOENT / ENXIO), and nothing leaks.
 */
static atomic_int nb_race_stop;
static atomic_uint nb_race_last;

struct nb_racer {
	int fd;
	unsigned long ok, fail;
	char err[256];
};

static void *nb_race_owner(void *arg)
{
	struct nb_racer *r = arg;
	int i, cycles = nb_cycles;

	for (i = 0; i < 3 * cycles; i++) {
		struct numabuf_alloc a;

		if (nb_alloc(r->fd, NB_PAGE << (i % 3), NUMABUF_NODE_LOCAL, 0, &a)) {
			snprintf(r->err, sizeof(r->err), "ALLOC failed at %d", i);
			break;
		}
		atomic_store(&nb_race_last, a.handle);
		/* Often the thief frees it first. */
		nb_free(r->fd, a.handle);
	}
	atomic_store(&nb_race_stop, 1);
	return NULL;
}

static void *nb_race_thief(void *arg)
{
	struct nb_racer *r = arg;

	while (!atomic_load(&nb_race_stop)) {
		uint32_t h = atomic_load(&nb_race_last);
		struct numabuf_info inf;
		int ret = nb_info(r->fd, h, &inf);
		void *p;

		if (ret && ret != -ENOENT) {
			snprintf(r->err, sizeof(r->err), "INFO: %s", nb_errname(-ret));
			break;
		}
		if (!ret) {
			p = mmap(NULL, NB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				 r->fd, (off_t)inf.offset);
			if (p != MAP_FAILED) {
				*(volatile char *)p = 1;
				munmap(p, NB_PAGE);
				r->ok++;
			} else if (errno != ENXIO) {
				snprintf(r->err, sizeof(r->err), "mmap: %s",
					 nb_errname(errno));
				break;
			}
		}
		ret = nb_free(r->fd, h);
		if (ret && ret != -ENOENT) {
			snprintf(r->err, sizeof(r->err), "FREE: %s", nb_errname(-ret));
			break;
		}
		r->fail += ret != 0;
	}
	return NULL;
}

NB_TEST_TIMEOUT(race_free_vs_use,
	"threads racing INFO/mmap/FREE against a thread that allocates and frees the same handles: only clean errors, no leak",
	600)
{
	struct nb_stats s0 = nb_stats_read();
	struct nb_racer r[3];
	pthread_t t[3];
	int fd = nb_open(), i;

	nb_read_cycles();

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].fd = fd;
		NB_CHECK(!pthread_create(&t[i], NULL,
					 i ? nb_race_thief : nb_race_owner, &r[i]),
			 "pthread_create");
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 3; i++)
		NB_CHECK(!r[i].err[0], "thread %d: %s", i, r[i].err);
	nb_note("thieves mapped %lu buffers and missed %lu FREEs",
		r[1].ok + r[2].ok, r[1].fail + r[2].fail);
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

struct nb_closer {
	int fd;
	uint64_t offset;
	unsigned long maps;
	char err[256];
};

static void *nb_map_until_closed(void *arg)
{
	struct nb_closer *c = arg;

	for (;;) {
		void *p = mmap(NULL, 16 * NB_KIB, PROT_READ | PROT_WRITE,
			       MAP_SHARED, c->fd, (off_t)c->offset);

		if (p == MAP_FAILED) {
			if (errno != EBADF)
				snprintf(c->err, sizeof(c->err), "mmap: %s",
					 nb_errname(errno));
			return NULL;
		}
		*(volatile char *)p = 1;
		munmap(p, 16 * NB_KIB);
		c->maps++;
	}
}

NB_TEST_TIMEOUT(close_races_mmap,
	"close() of the fd while another thread maps and unmaps its buffer: mmap fails only with EBADF, no leak",
	600)
{
	struct nb_stats s0 = nb_stats_read();
	unsigned long maps = 0;
	int round;

	for (round = 0; round < 200; round++) {
		struct nb_closer c = { .fd = nb_open() };
		pthread_t t;

		c.offset = nb_alloc_ok(c.fd, 16 * NB_KIB, NUMABUF_NODE_LOCAL, 0).offset;
		NB_CHECK(!pthread_create(&t, NULL, nb_map_until_closed, &c),
			 "pthread_create");
		usleep(round % 10 * 100);
		close(c.fd);
		pthread_join(t, NULL);
		NB_CHECK(!c.err[0], "round %d: %s", round, c.err);
		maps += c.maps;
	}
	nb_note("%lu mappings made while the fd was being closed", maps);
	NB_STATS_EXPECT(s0, 0, 0);
}
