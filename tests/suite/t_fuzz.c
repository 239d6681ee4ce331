// SPDX-License-Identifier: GPL-2.0
/*
 * A fuzzer for /dev/numabuf: the ioctls with random and boundary arguments,
 * and random sequences of ALLOC / mmap / munmap / mremap / mprotect /
 * madvise / FREE / INFO / close / reopen / fork, from several threads that
 * share some files and keep others to themselves.
 *
 * It is checked against a model, not just for crashes:
 *  - every ioctl, mmap, munmap, mremap, mprotect and madvise result is
 *    success or an errno from the documented set for those exact arguments
 *    (docs/interfaces.md, the uapi header; mmap(2), mremap(2), madvise(2)
 *    for what the core decides), and success only where the arguments are
 *    valid.  On the files a thread keeps to itself the model is exact: it
 *    knows which handles are live, so ENOENT / ENXIO / success are each
 *    predicted; on the shared files other threads race it, so only the set
 *    of possible outcomes is checked;
 *  - what ALLOC and INFO return (length, node, flags, offset, map_count,
 *    phys, untouched reserved fields and tails) matches the model;
 *  - reading a mapped buffer never faults (SIGBUS, SIGSEGV); its page
 *    table entries are all present (/proc/self/pagemap) unless
 *    MADV_DONTNEED zapped them, and map the buffer's own frames (phys from
 *    INFO, which never moves); each page holds the tag this thread wrote
 *    into it, or zeroes, so a mapping that shows the wrong page is caught;
 *  - forked children (which inherit every mapping and file) do random work
 *    of their own and exit, or are killed at random points, some while
 *    blocked inside an ioctl (userfaultfd); none may die of anything but
 *    that SIGKILL;
 *  - at the end the module's counters are back where they were (and the
 *    harness checks free memory and the kernel log, as after every test).
 *
 * Environment:
 *   NB_FUZZ_SEED     seed (printed at the start of every run; set it to
 *                    replay one: each thread's and child's sequence of calls
 *                    follows from it, though the interleaving of threads
 *                    does not)
 *   NB_FUZZ_CALLS    ioctl calls per run, all threads and children
 *                    together (default 1000000)
 *   NB_FUZZ_THREADS  threads (default 4)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

#define P		4096UL
#define FZ_BUDDY_MAX	(4 * NB_MIB)	/* largest buffer the fuzzer gets */
#define FZ_LEN_MAX	(1ULL << 40)	/* largest ALLOC length (EINVAL above) */
/*
 * Lengths above FZ_BUDDY_MAX and below this are moved up to it: the module
 * would migrate pages to make room for them, which takes seconds each.
 * From here up no node has the memory and ALLOC fails at once (ENOMEM).
 */
#define FZ_LEN_HUGE	(1ULL << 36)
#define FZ_HANDLE_MAX	((1U << 20) - 1)
#define FZ_OFFSET_SHIFT	40		/* offset = handle << 40 (the module's) */
#define FZ_ARG_MAX	4096		/* largest struct size accepted */

#define FZ_NFD		3	/* private files of a thread */
#define FZ_OWN		FZ_NFD	/* the slot a forked child opens for itself */
#define FZ_NBUF		40
#define FZ_NPIECE	48
#define FZ_MAXPAGES	(FZ_BUDDY_MAX / P)
#define FZ_NSTALE	16
#define FZ_NWEAK	16
#define FZ_NSHARED	2
#define FZ_HELD_MAX	(32 * NB_MIB)	/* per thread, live and mapped */
#define FZ_MAX_THREADS	16

/* ---- errno sets ---- */

typedef unsigned __int128 eset;
#define EB(e)	((eset)1 << (e))

static const char *fz_ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "success";

	return n ? n : nb_errname(e);
}

static const char *fz_eset_str(eset s, char *buf, size_t len)
{
	size_t o = 0;
	int e;

	buf[0] = 0;
	for (e = 1; e < 128 && o + 16 < len; e++)
		if (s & EB(e))
			o += snprintf(buf + o, len - o, "%s%s", o ? "/" : "",
				      fz_ename(e));
	if (!o)
		snprintf(buf, len, "nothing");
	return buf;
}

/* ---- statistics, shared with forked children ---- */

struct fz_stats {
	atomic_ullong ioctls, ioctl_ok, err[134];
	atomic_ullong kind_calls[4];
	atomic_ullong allocs_ok, alloc_bytes;
	atomic_ullong mmaps, mmap_ok, munmaps, mremaps, mprotects, madvises;
	atomic_ullong pages_read, pagemap_checks, zapped_refaults;
	atomic_ullong forks, fork_fail, exits, kills, self_kills;
	atomic_ullong blocked_kills, blocked_missed, reopens, swaps;
	atomic_ullong dir_notty, dir_handled;	/* numbers with another direction */
	atomic_int active_children;	/* forked, not yet reaped */
	atomic_ullong fork_gen;		/* +1 at each fork */
};

static struct fz_stats *st;

/* ---- configuration ---- */

static struct {
	uint64_t seed;
	unsigned long long calls;
	int threads;
	int max_numnodes;	/* MAX_NUMNODES, or 0 if unknown */
	bool online[2048];
	int nodes[NB_MAX_NODES], nnodes;
	int shared[FZ_NSHARED];
	bool uffd;		/* userfaultfd can block kernel accesses */
} cfg;

static bool fz_online(long node)
{
	return node >= 0 && node < 2048 && cfg.online[node];
}

/*
 * MAX_NUMNODES from the running kernel's config (/boot/config-RELEASE, or
 * /proc/config.gz through zcat), 0 if it is not to be found.
 */
static int fz_max_numnodes(void)
{
	char val[32];

	/* MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT; 0 when unknown. */
	if (nb_kconfig("CONFIG_NODES_SHIFT", val, sizeof(val)) != 1)
		return 0;
	return atoi(val) >= 0 && atoi(val) < 16 ? 1 << atoi(val) : 0;
}

/* ---- the model ---- */

struct fz_fd {
	int fd;			/* -1: closed */
	bool rdonly;		/* opened O_RDONLY */
	bool inherited;		/* a forked child's copy of its parent's file */
	unsigned long allocs;
	uint32_t stale[FZ_NSTALE];	/* handles freed, most recent last */
	int nstale;
};

struct fz_buf {
	bool used;
	bool live;		/* its handle names it in fds[fdi] */
	bool foreign;		/* a forked child's view of its parent's buffer */
	int fdi;
	uint32_t handle;
	uint32_t serial;
	uint64_t tagbase;
	uint64_t len, offset;
	int node;
	uint32_t flags;
	uint64_t phys;		/* from INFO; 0 until seen */
	int pieces;		/* mappings of it in this process */
	uint8_t tagged[FZ_MAXPAGES / 8];
};

struct fz_piece {
	bool used;
	bool weak;		/* a buffer of a shared file: all zeroes, no model */
	bool dontfork;
	bool zapped;		/* part of it was zapped: reads may refault */
	bool ro_file;		/* the file was opened read-only */
	int bi;			/* private buffer, or -1 */
	char *addr;
	size_t first, npages;	/* which pages of the buffer */
	int prot;
	uint64_t phys;		/* weak pieces: unknown (0) */
};

struct fz_weak {
	int si;			/* shared file index */
	uint32_t handle;
	uint64_t len;
};

struct fz_ctx {
	int id;
	bool child;
	struct nb_rng r;
	unsigned long op;
	struct fz_fd fds[FZ_NFD + 1];
	struct fz_buf bufs[FZ_NBUF];
	struct fz_piece pieces[FZ_NPIECE];
	struct fz_weak weak[FZ_NWEAK];
	int nweak;
	uint32_t serial;
	uint64_t held;		/* bytes of the buffers in bufs[] */
	unsigned char *rw, *ro;	/* the argument arena: 2 pages, 2 views */
	int pagemap;
	double op_us[16];	/* time spent per kind of step */
	unsigned long op_n[16];
	char what[1024];	/* the call that failed */
};

#define FZ_FAIL(c, ...)							\
	fz_fail(c, NB_FILE, __LINE__, __VA_ARGS__)

__attribute__((noreturn, format(printf, 4, 5)))
static void fz_fail(struct fz_ctx *c, const char *file, int line,
		    const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nb_fail_at(file, line, "seed %#llx thread %d%s op %lu: %s%s%s",
		   (unsigned long long)cfg.seed, c->id,
		   c->child ? " (forked child)" : "", c->op, msg,
		   c->what[0] ? "; call: " : "", c->what);
}

static uint64_t rnd(struct fz_ctx *c)
{
	return nb_rnd(&c->r);
}

static uint64_t below(struct fz_ctx *c, uint64_t n)
{
	return nb_rnd_below(&c->r, n);
}

/* true with probability pct % */
static bool chance(struct fz_ctx *c, unsigned int pct)
{
	return below(c, 100) < pct;
}

/* What page @page of a buffer holds once tagged (by whoever made it). */
static uint64_t fz_tag(const struct fz_buf *b, size_t page)
{
	return b->tagbase | page;
}

static uint64_t fz_page_align(uint64_t len)
{
	return (len + P - 1) & ~(P - 1);
}

static int fz_usable_fd(struct fz_ctx *c, bool modify)
{
	int slots[FZ_NFD + 1], n = 0, i;

	for (i = 0; i <= FZ_NFD; i++)
		if (c->fds[i].fd >= 0 && !(modify && c->fds[i].inherited))
			slots[n++] = i;
	return n ? slots[below(c, n)] : -1;
}

static int fz_buf_slot(struct fz_ctx *c)
{
	int i;

	for (i = 0; i < FZ_NBUF; i++)
		if (!c->bufs[i].used)
			return i;
	return -1;
}

static int fz_piece_slot(struct fz_ctx *c)
{
	int i;

	for (i = 0; i < FZ_NPIECE; i++)
		if (!c->pieces[i].used)
			return i;
	return -1;
}

static int fz_free_piece_slots(struct fz_ctx *c)
{
	int i, n = 0;

	for (i = 0; i < FZ_NPIECE; i++)
		n += !c->pieces[i].used;
	return n;
}

static void fz_buf_release_if_unused(struct fz_ctx *c, int bi)
{
	struct fz_buf *b = &c->bufs[bi];

	if (b->used && !b->live && b->pieces == 0) {
		if (!b->foreign)
			c->held -= b->len;
		b->used = false;
	}
}

/* The live buffer of @handle in fd slot @fdi, or -1. */
static int fz_find_live(struct fz_ctx *c, int fdi, uint32_t handle)
{
	int i;

	for (i = 0; i < FZ_NBUF; i++)
		if (c->bufs[i].used && c->bufs[i].live &&
		    c->bufs[i].fdi == fdi && c->bufs[i].handle == handle)
			return i;
	return -1;
}

static int fz_pick_live(struct fz_ctx *c, int fdi)
{
	int idx[FZ_NBUF], n = 0, i;

	for (i = 0; i < FZ_NBUF; i++)
		if (c->bufs[i].used && c->bufs[i].live &&
		    (fdi < 0 || c->bufs[i].fdi == fdi))
			idx[n++] = i;
	return n ? idx[below(c, n)] : -1;
}

static int fz_pick_piece(struct fz_ctx *c)
{
	int idx[FZ_NPIECE], n = 0, i;

	for (i = 0; i < FZ_NPIECE; i++)
		if (c->pieces[i].used)
			idx[n++] = i;
	return n ? idx[below(c, n)] : -1;
}

static void fz_stale_add(struct fz_fd *f, uint32_t handle)
{
	if (f->nstale == FZ_NSTALE) {
		memmove(f->stale, f->stale + 1, sizeof(f->stale[0]) * (FZ_NSTALE - 1));
		f->nstale--;
	}
	f->stale[f->nstale++] = handle;
}

/* A handle to name in FREE / INFO: live, freed, or anything. */
static uint32_t fz_pick_handle(struct fz_ctx *c, int fdi, int si)
{
	unsigned int r = below(c, 100);

	if (r < 55) {
		if (si >= 0 && c->nweak)
			return c->weak[below(c, c->nweak)].handle;
		if (si < 0) {
			int bi = fz_pick_live(c, fdi);

			if (bi >= 0)
				return c->bufs[bi].handle;
		}
		r = 55;
	}
	if (r < 70 && si < 0 && c->fds[fdi].nstale)
		return c->fds[fdi].stale[below(c, c->fds[fdi].nstale)];
	if (r < 80)
		return 0;
	if (r < 90)
		return 1 + below(c, 64);
	if (r < 95)
		return (uint32_t)rnd(c);
	{
		static const uint32_t edge[] = { UINT32_MAX, 1U << 20,
						 FZ_HANDLE_MAX, 1U << 31,
						 (1U << 20) + 1 };

		return edge[below(c, 5)];
	}
}

/* ---- checks of results ---- */

static void fz_count_ioctl(int kind, long ret, int err)
{
	atomic_fetch_add_explicit(&st->ioctls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->kind_calls[kind], 1, memory_order_relaxed);
	if (ret == 0)
		atomic_fetch_add_explicit(&st->ioctl_ok, 1, memory_order_relaxed);
	else if (err > 0 && err < 134)
		atomic_fetch_add_explicit(&st->err[err], 1, memory_order_relaxed);
}

/* ret: 0 / -1 as from the syscall; err: errno when -1. */
static void fz_expect(struct fz_ctx *c, const char *call, long ret, int err,
		      bool ok_allowed, eset allowed)
{
	char want[256];

	if (ret == 0 && ok_allowed)
		return;
	if (ret == -1 && err > 0 && err < 128 && (allowed & EB(err)))
		return;
	if (ret != 0 && ret != -1)
		FZ_FAIL(c, "%s returned %ld", call, ret);
	FZ_FAIL(c, "%s: %s, expected %s%s", call,
		ret == 0 ? "success" : fz_ename(err),
		ok_allowed ? "success or " : "",
		fz_eset_str(allowed, want, sizeof(want)));
}

/*
 * Check a piece: its page table entries are all present (populated at
 * mmap, never dropped but by MADV_DONTNEED) and map the buffer's own
 * frames, from /proc/self/pagemap; then read every page (first and last
 * word): the tag this thread wrote or zero, last word zero.  Reading a
 * present entry takes no fault; a missing one would fault.  (Page-fault
 * counts would not do as the witness: copy-on-write faults on the thread's
 * own stack after any fork count too.)
 */
static void fz_check_piece(struct fz_ctx *c, struct fz_piece *p)
{
	struct fz_buf *b = p->weak ? NULL : &c->bufs[p->bi];
	size_t i, bad = (size_t)-1, absent = 0;
	uint64_t got = 0, want = 0;

	if (!(p->prot & PROT_READ))
		return;
	if (b)
		snprintf(c->what, sizeof(c->what),
			 "read %zu pages at %p: pages %zu.. of the buffer of handle %u (serial %u, %llu bytes)",
			 p->npages, (void *)p->addr, p->first, b->handle,
			 b->serial, (unsigned long long)b->len);
	else
		snprintf(c->what, sizeof(c->what),
			 "read %zu pages at %p of a shared file's buffer",
			 p->npages, (void *)p->addr);
	if (c->pagemap >= 0) {
		uint64_t ent[FZ_MAXPAGES];
		off_t at = (off_t)((uintptr_t)p->addr / P * 8);

		if (pread(c->pagemap, ent, p->npages * 8, at) != (ssize_t)(p->npages * 8))
			FZ_FAIL(c, "pread /proc/self/pagemap: %s", strerror(errno));
		for (i = 0; i < p->npages; i++) {
			uint64_t pfn = ent[i] & ((1ULL << 55) - 1);

			if (!(ent[i] >> 63)) {
				if (!p->zapped)
					FZ_FAIL(c, "page %zu of a populated mapping has no page table entry (reading it would fault)",
						i);
				absent++;
				continue;
			}
			if (b && b->phys && pfn != b->phys / P + p->first + i)
				FZ_FAIL(c, "page %zu maps frame %#llx, the buffer's page %zu is frame %#llx",
					i, (unsigned long long)pfn, p->first + i,
					(unsigned long long)(b->phys / P + p->first + i));
		}
		atomic_fetch_add_explicit(&st->pagemap_checks, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st->zapped_refaults, absent, memory_order_relaxed);
	}
	for (i = 0; i < p->npages; i++) {
		const volatile uint64_t *w =
			(const volatile uint64_t *)(p->addr + i * P);
		uint64_t first = w[0], last = w[P / 8 - 1];
		size_t pg = p->first + i;
		uint64_t expect = 0;

		if (b && (b->tagged[pg / 8] & (1 << (pg % 8))))
			expect = fz_tag(b, pg);
		if ((first != expect || last != 0) && bad == (size_t)-1) {
			bad = i;
			got = first != expect ? first : last;
			want = first != expect ? expect : 0;
		}
	}
	atomic_fetch_add_explicit(&st->pages_read, p->npages, memory_order_relaxed);
	if (bad != (size_t)-1)
		FZ_FAIL(c, "page %zu of the mapping holds %#llx where %#llx belongs",
			bad, (unsigned long long)got, (unsigned long long)want);
	c->what[0] = 0;
}

/* Write the tag into every untagged page of a writable piece. */
static void fz_tag_piece(struct fz_ctx *c, struct fz_piece *p)
{
	struct fz_buf *b;
	size_t i;

	if (p->weak || (p->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return;
	b = &c->bufs[p->bi];
	if (b->foreign)
		return;
	for (i = 0; i < p->npages; i++) {
		size_t pg = p->first + i;

		if (b->tagged[pg / 8] & (1 << (pg % 8)))
			continue;
		*(volatile uint64_t *)(p->addr + i * P) = fz_tag(b, pg);
		b->tagged[pg / 8] |= 1 << (pg % 8);
	}
}

/* ---- ioctls ---- */

enum { K_ALLOC, K_FREE, K_INFO, K_OTHER };

static const struct {
	const char *name;
	unsigned long cmd;
	uint32_t ver0;		/* smallest size; == what the kernel knows */
	uint32_t out;		/* bytes written back */
} fz_k[] = {
	[K_ALLOC] = { "ALLOC", NUMABUF_IOC_ALLOC, NUMABUF_ALLOC_SIZE_VER0, NUMABUF_ALLOC_SIZE_VER0 },
	[K_FREE] = { "FREE", NUMABUF_IOC_FREE, NUMABUF_FREE_SIZE_VER0, 0 },
	[K_INFO] = { "INFO", NUMABUF_IOC_INFO, NUMABUF_INFO_SIZE_VER0, NUMABUF_INFO_SIZE_VER0 },
};

/* Which errors this ALLOC's fields call for (0: valid). */
static eset fz_alloc_errors(const struct numabuf_alloc *a)
{
	eset e = 0;
	int i;

	if (a->flags & ~NUMABUF_F_ALL)
		e |= EB(EINVAL);
	if ((a->flags & NUMABUF_F_POOL) && (a->flags & NUMABUF_F_NO_POOL))
		e |= EB(EINVAL);
	if ((a->flags & NUMABUF_F_WC) && (a->flags & NUMABUF_F_UC))
		e |= EB(EINVAL);
	for (i = 0; i < 4; i++)
		if (a->reserved[i])
			e |= EB(EINVAL);
	if (a->length == 0 || a->length > UINT64_MAX - P + 1)
		e |= EB(EINVAL);
	else if (fz_page_align(a->length) > FZ_LEN_MAX)
		e |= EB(EINVAL);
	if (a->node != NUMABUF_NODE_LOCAL) {
		if (a->node < -1)
			e |= EB(EINVAL);
		else if (cfg.max_numnodes && a->node >= cfg.max_numnodes)
			e |= EB(EINVAL);
		else if (!fz_online(a->node))
			e |= cfg.max_numnodes ? EB(ENODEV) : EB(ENODEV) | EB(EINVAL);
	}
	return e;
}

/*
 * A valid length: mostly small, since every byte is zeroed by the kernel
 * and the emulated guest zeroes slowly; large ones now and then, up to the
 * largest, while the thread holds little.
 */
static uint64_t fz_gen_valid_len(struct fz_ctx *c)
{
	unsigned int r = below(c, 1000);
	uint64_t room = c->held < FZ_HELD_MAX ? FZ_HELD_MAX - c->held : 0;
	uint64_t len;

	if (r < 880)
		len = 1 + below(c, 16 * NB_KIB);
	else if (r < 980)
		len = 16 * NB_KIB + below(c, 112 * NB_KIB);
	else if (r < 998)
		len = 128 * NB_KIB + below(c, 896 * NB_KIB);
	else
		len = NB_MIB + below(c, 3 * NB_MIB + 1);
	if (fz_page_align(len) > room)
		len = 1 + below(c, 4 * P);
	return len;
}

static uint64_t fz_gen_len(struct fz_ctx *c)
{
	static const uint64_t bad[] = {
		0, FZ_LEN_MAX + 1, FZ_LEN_MAX + P, FZ_LEN_MAX, FZ_LEN_HUGE,
		FZ_LEN_HUGE + 1, 1ULL << 63, UINT64_MAX, UINT64_MAX - P + 1,
		UINT64_MAX - P + 2, UINT64_MAX - P, UINT64_MAX - 2 * P,
	};
	static const uint64_t good[] = {
		1, 2, P - 1, P, P + 1, 2 * P - 1, 64 * NB_KIB, 2 * NB_MIB - 1,
		2 * NB_MIB, 2 * NB_MIB + 1, FZ_BUDDY_MAX - 1, FZ_BUDDY_MAX,
	};
	unsigned int r = below(c, 1000);
	uint64_t len;

	if (r < 600)
		return fz_gen_valid_len(c);
	if (r < 900)
		return bad[below(c, sizeof(bad) / sizeof(bad[0]))];
	if (r < 990) {
		len = rnd(c) >> below(c, 64);
		if (fz_page_align(len) > FZ_BUDDY_MAX &&
		    fz_page_align(len) < FZ_LEN_HUGE)
			len |= FZ_LEN_HUGE;
		return len;
	}
	/* The valid edges, the large ones among them, while there is room. */
	len = good[below(c, sizeof(good) / sizeof(good[0]))];
	if (c->held + fz_page_align(len) > FZ_HELD_MAX)
		len = FZ_LEN_MAX + 1;
	return len;
}

static int fz_gen_node(struct fz_ctx *c)
{
	static const int edge[] = { -2, -3, INT_MIN, INT_MAX, 2, 3, 7, 63, 64,
				    127, 1023, 1024, 1025, 1100, 4096, -1000 };
	unsigned int r = below(c, 100);

	if (r < 45)
		return NUMABUF_NODE_LOCAL;
	if (r < 87)
		return cfg.nodes[below(c, cfg.nnodes)];
	if (r < 95)
		return edge[below(c, sizeof(edge) / sizeof(edge[0]))];
	return (int)below(c, 1103) - 2;	/* -2 .. 1100 */
}

static uint32_t fz_gen_flags(struct fz_ctx *c)
{
	/*
	 * 2, 3, 4: pool flags, valid (no pool: ENOMEM); 6: both, EINVAL.
	 * 0x10: DMA32 (node 1: ENOMEM); 0x80: the first unknown bit.
	 * Never NUMABUF_F_HUGE_MAP: the model checks page table entries
	 * populated at mmap(), which such a mapping does not have.
	 */
	static const uint32_t edge[] = { 2, 4, 0x80, 1U << 31, ~0U, 3, 6, 0x10,
					 NUMABUF_F_PREFERRED | 1U << 16 };

	if (chance(c, 90))
		return chance(c, 40) ? NUMABUF_F_PREFERRED : 0;
	return chance(c, 70) ? edge[below(c, sizeof(edge) / sizeof(edge[0]))] :
			       (uint32_t)rnd(c) & ~NUMABUF_F_HUGE_MAP;
}

/* Add a buffer ALLOC returned on private slot @fdi to the model. */
static int fz_buf_add(struct fz_ctx *c, int fdi, const struct numabuf_alloc *a,
		      uint32_t flags)
{
	int bi = fz_buf_slot(c);
	struct fz_buf *b;

	if (bi < 0)
		return -1;
	b = &c->bufs[bi];
	memset(b, 0, sizeof(*b));
	b->used = b->live = true;
	b->fdi = fdi;
	b->handle = a->handle;
	b->serial = ++c->serial;
	b->tagbase = 0xa5ULL << 56 | (uint64_t)c->id << 50 |
		     (uint64_t)c->child << 49 | (uint64_t)b->serial << 12;
	b->len = a->length;
	b->offset = a->offset;
	b->node = a->node;
	b->flags = flags;
	c->held += b->len;
	c->fds[fdi].allocs++;
	atomic_fetch_add_explicit(&st->allocs_ok, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->alloc_bytes, b->len, memory_order_relaxed);
	return bi;
}

/* What ALLOC answered: checked against what was asked. */
static void fz_check_alloc_out(struct fz_ctx *c, int fdi, bool weak,
			       const struct numabuf_alloc *in,
			       const struct numabuf_alloc *out)
{
	int i;

	if (out->size != in->size || out->flags != in->flags)
		FZ_FAIL(c, "ALLOC changed size/flags to %u/%#x", out->size, out->flags);
	if (out->length != fz_page_align(in->length))
		FZ_FAIL(c, "ALLOC of %llu bytes returned length %llu",
			(unsigned long long)in->length,
			(unsigned long long)out->length);
	if (!fz_online(out->node))
		FZ_FAIL(c, "ALLOC returned node %d, which is not online", out->node);
	if (!(in->flags & NUMABUF_F_PREFERRED) && in->node >= 0 &&
	    out->node != in->node)
		FZ_FAIL(c, "strict ALLOC on node %d returned node %d", in->node,
			out->node);
	if (out->handle == 0 || out->handle > FZ_HANDLE_MAX)
		FZ_FAIL(c, "ALLOC returned handle %u", out->handle);
	if (out->offset != (uint64_t)out->handle << FZ_OFFSET_SHIFT)
		FZ_FAIL(c, "ALLOC returned handle %u with offset %#llx",
			out->handle, (unsigned long long)out->offset);
	for (i = 0; i < 4; i++)
		if (out->reserved[i])
			FZ_FAIL(c, "ALLOC wrote %#llx into reserved[%d]",
				(unsigned long long)out->reserved[i], i);
	if (weak)
		return;
	if (fz_find_live(c, fdi, out->handle) >= 0)
		FZ_FAIL(c, "ALLOC returned handle %u, which is already live", out->handle);
	/* Handles go round: a freed one does not come back for 2^20. */
	if (c->fds[fdi].allocs < FZ_HANDLE_MAX / 2)
		for (i = 0; i < c->fds[fdi].nstale; i++)
			if (c->fds[fdi].stale[i] == out->handle)
				FZ_FAIL(c, "ALLOC returned handle %u again soon after it was freed",
					out->handle);
}

/* Buffers of this thread mapped by other processes may exist. */
static bool fz_children_quiet(unsigned long long *gen)
{
	*gen = atomic_load(&st->fork_gen);
	return atomic_load(&st->active_children) == 0;
}

static void fz_check_info_out(struct fz_ctx *c, int bi,
			      const struct numabuf_info *in,
			      const struct numabuf_info *out, bool map_count_exact)
{
	struct fz_buf *b = &c->bufs[bi];
	int i;

	if (out->size != in->size || out->handle != in->handle)
		FZ_FAIL(c, "INFO changed size/handle to %u/%u", out->size, out->handle);
	if (out->length != b->len || out->node != b->node ||
	    out->flags != b->flags || out->offset != b->offset)
		FZ_FAIL(c, "INFO says length %llu node %d flags %#x offset %#llx; ALLOC said length %llu node %d flags %#x offset %#llx",
			(unsigned long long)out->length, out->node, out->flags,
			(unsigned long long)out->offset,
			(unsigned long long)b->len, b->node, b->flags,
			(unsigned long long)b->offset);
	/* No pools in the fuzzer and nothing above 4 MiB succeeds. */
	if (out->source != NUMABUF_SOURCE_PAGES)
		FZ_FAIL(c, "INFO says source %u, expected %u (the page allocator)",
			out->source, NUMABUF_SOURCE_PAGES);
	for (i = 0; i < 4; i++)
		if (out->reserved[i])
			FZ_FAIL(c, "INFO wrote %#llx into reserved[%d]",
				(unsigned long long)out->reserved[i], i);
	if (!out->phys || out->phys % P)
		FZ_FAIL(c, "INFO as root gave phys %#llx", (unsigned long long)out->phys);
	if (b->phys && out->phys != b->phys)
		FZ_FAIL(c, "the buffer moved: phys %#llx, earlier %#llx",
			(unsigned long long)out->phys, (unsigned long long)b->phys);
	b->phys = out->phys;
	if (map_count_exact && out->map_count != (uint32_t)b->pieces)
		FZ_FAIL(c, "INFO says map_count %u; this process maps it %d times and no other does",
			out->map_count, b->pieces);
}

/* Argument arena layout: [rw 2 pages][guard][ro 2 pages][guard]. */
static void fz_arena_init(struct fz_ctx *c)
{
	char *base = mmap(NULL, 6 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("fz-arena", MFD_CLOEXEC);

	NB_CHECK(base != MAP_FAILED && mfd >= 0, "arena: %s", strerror(errno));
	NB_SYS(ftruncate(mfd, 2 * P));
	c->rw = mmap(base, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, 0);
	c->ro = mmap(base + 3 * P, 2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, mfd, 0);
	NB_CHECK(c->rw != MAP_FAILED && c->ro != MAP_FAILED, "arena: %s", strerror(errno));
	close(mfd);
	memset(c->rw, 0, 2 * P);
	NB_CHECK(c->ro[0] == 0 && c->ro[2 * P - 1] == 0, "arena views differ");
}

static void fz_describe(struct fz_ctx *c, int kind, unsigned long cmd,
			const char *fdkind, const char *ptrkind, size_t off,
			uint32_t usize, size_t avail, const void *tmp,
			long tailpos)
{
	int n = snprintf(c->what, sizeof(c->what),
			 "ioctl(%s fd, cmd %#lx (%s), %s arg at offset %zu, size %u, %zu bytes readable",
			 fdkind, cmd, kind == K_OTHER ? "not numabuf's" : fz_k[kind].name,
			 ptrkind, off, usize, avail);

	if (tailpos >= 0)
		n += snprintf(c->what + n, sizeof(c->what) - n,
			      ", nonzero byte at %ld", tailpos);
	if (kind == K_ALLOC) {
		const struct numabuf_alloc *a = tmp;

		snprintf(c->what + n, sizeof(c->what) - n,
			 ": flags %#x length %#llx node %d handle %u offset %#llx reserved %#llx %#llx %#llx %#llx)",
			 a->flags, (unsigned long long)a->length, a->node,
			 a->handle, (unsigned long long)a->offset,
			 (unsigned long long)a->reserved[0],
			 (unsigned long long)a->reserved[1],
			 (unsigned long long)a->reserved[2],
			 (unsigned long long)a->reserved[3]);
	} else if (kind == K_FREE) {
		const struct numabuf_free *f = tmp;

		snprintf(c->what + n, sizeof(c->what) - n,
			 ": handle %u reserved %#llx %#llx)", f->handle,
			 (unsigned long long)f->reserved[0],
			 (unsigned long long)f->reserved[1]);
	} else if (kind == K_INFO) {
		const struct numabuf_info *i = tmp;

		snprintf(c->what + n, sizeof(c->what) - n,
			 ": handle %u source %u reserved %#llx %#llx %#llx %#llx)",
			 i->handle, i->source,
			 (unsigned long long)i->reserved[0],
			 (unsigned long long)i->reserved[1],
			 (unsigned long long)i->reserved[2],
			 (unsigned long long)i->reserved[3]);
	} else {
		snprintf(c->what + n, sizeof(c->what) - n, ")");
	}
}

/* A FREE the model says must work (cleanup, evictions). */
static void fz_free_exact(struct fz_ctx *c, int bi)
{
	struct fz_buf *b = &c->bufs[bi];
	struct numabuf_free f = { .size = sizeof(f), .handle = b->handle };
	long ret;

	errno = 0;
	ret = ioctl(c->fds[b->fdi].fd, NUMABUF_IOC_FREE, &f);
	fz_count_ioctl(K_FREE, ret, errno);
	if (ret) {
		snprintf(c->what, sizeof(c->what), "FREE handle %u (live)", b->handle);
		fz_expect(c, "FREE", ret, errno, true, 0);
	}
	b->live = false;
	fz_stale_add(&c->fds[b->fdi], b->handle);
	fz_buf_release_if_unused(c, bi);
}

static void fz_weak_add(struct fz_ctx *c, int si, uint32_t handle, uint64_t len)
{
	if (c->nweak == FZ_NWEAK) {
		struct numabuf_free f = { .size = sizeof(f), .handle = c->weak[0].handle };
		long ret;

		errno = 0;
		ret = ioctl(cfg.shared[c->weak[0].si], NUMABUF_IOC_FREE, &f);
		fz_count_ioctl(K_FREE, ret, errno);
		snprintf(c->what, sizeof(c->what), "FREE handle %u of a shared file",
			 f.handle);
		fz_expect(c, "FREE", ret, errno, true, EB(ENOENT));
		c->what[0] = 0;
		memmove(c->weak, c->weak + 1, sizeof(c->weak[0]) * (FZ_NWEAK - 1));
		c->nweak--;
	}
	c->weak[c->nweak].si = si;
	c->weak[c->nweak].handle = handle;
	c->weak[c->nweak].len = len;
	c->nweak++;
}

static void fz_weak_forget(struct fz_ctx *c, int si, uint32_t handle)
{
	int i;

	for (i = 0; i < c->nweak; i++)
		if (c->weak[i].si == si && c->weak[i].handle == handle) {
			memmove(c->weak + i, c->weak + i + 1,
				sizeof(c->weak[0]) * (c->nweak - i - 1));
			c->nweak--;
			return;
		}
}

/*
 * One ioctl with fuzzed number, size, placement and fields, checked
 * against the model.
 */
static void fz_op_ioctl(struct fz_ctx *c)
{
	static const uint32_t sizes[] = { 0, 1, 3, 4, 7, 8, 16, 23, 24, 25,
					  31, 32, 63, 64, 65, 71, 72, 79, 80,
					  81, 88, 96, 128, 255, 256, 1000,
					  2048, 4088, 4095, 4096, 4097, 4100,
					  8192, 65536, UINT32_MAX, 1U << 31 };
	unsigned char tmp[FZ_ARG_MAX + 64] __attribute__((aligned(8)));
	size_t clear;
	int kind = below(c, 3), fdi = -1, si = -1, fd, e;
	unsigned int mode = below(c, 100), r;
	bool weak, matched, maybe, ok_allowed = false, writable = false;
	unsigned long cmd = fz_k[kind].cmd;
	unsigned char *view = c->rw, *ptr;
	const char *ptrkind = "rw";
	size_t off = 0, avail = 0;
	uint32_t usize;
	long tailpos = -1, ret;
	bool tail_nz = false;
	eset allowed = 0;
	char call[32];

	/* The file: private (exact model) or shared (raced). */
	if (chance(c, 75) && (fdi = fz_usable_fd(c, kind != K_INFO)) >= 0) {
		fd = c->fds[fdi].fd;
	} else {
		fdi = -1;
		si = below(c, FZ_NSHARED);
		fd = cfg.shared[si];
	}
	weak = fdi < 0;

	/* The number. */
	matched = true;
	maybe = false;
	if (mode < 86) {
		/* as defined */
	} else if (mode < 91) {
		/* another size in the number: still matched */
		cmd = _IOC(_IOC_DIR(cmd), 'N', _IOC_NR(cmd), below(c, 1 << 14));
	} else if (mode < 94) {
		/* another direction: the header says type and number match */
		unsigned int dir;

		do
			dir = below(c, 4);
		while (dir == _IOC_DIR(cmd));
		cmd = _IOC(dir, 'N', _IOC_NR(cmd), _IOC_SIZE(cmd));
		maybe = true;
	} else if (mode < 97) {
		unsigned int nr;

		do
			nr = below(c, 256);
		/*
		 * 4 and 5, the pool ioctls, and 6-9 (ATTACH, DETACH, EXPORT,
		 * SYNC) have tests of their own.
		 */
		while (nr >= 1 && nr <= 9);
		cmd = _IOC(below(c, 4), 'N', nr, below(c, 1 << 14));
		matched = false;
	} else {
		/* another type; not those the VFS answers itself */
		static const unsigned char vfs[] = { 0, 0x15, 'T', 'X', 'f', 0x94, 'N' };
		unsigned int type;
		size_t k;

	again:
		type = below(c, 256);
		for (k = 0; k < sizeof(vfs); k++)
			if (type == vfs[k])
				goto again;
		cmd = _IOC(below(c, 4), type, below(c, 256), below(c, 1 << 14));
		matched = false;
	}

	/* The size. */
	usize = chance(c, 70) ? fz_k[kind].ver0 :
		chance(c, 85) ? sizes[below(c, sizeof(sizes) / sizeof(sizes[0]))] :
		(uint32_t)below(c, 2 * FZ_ARG_MAX);

	/* Where the argument lies. */
	r = below(c, 100);
	if (r < 93) {
		size_t len = usize < 2 * P ? usize : 2 * P;

		if (r >= 75 && r < 85) {
			view = c->ro;
			ptrkind = "read-only";
		}
		if (r >= 85) {
			/* ending near the guard page after the view */
			long d = (long)below(c, 17) - 8;
			long o = (long)(2 * P) - (long)len + d;

			if (o < 0)
				o = 0;
			if (o > (long)(2 * P - 4))
				o = 2 * P - 4;
			off = o;
			if (chance(c, 50)) {
				view = c->ro;
				ptrkind = "read-only, at the guard";
			} else {
				ptrkind = "rw, at the guard";
			}
		} else {
			off = below(c, 2 * P - (len > 2 * P - 4 ? 2 * P - 4 : len) + 1);
			if (chance(c, 60))
				off &= ~7UL;
		}
		ptr = view + off;
		avail = 2 * P - off;
		writable = view == c->rw;
	} else {
		static const uintptr_t bad[] = {
			0, 1, 0x1000, 0xffffffff81000000UL, 0xffff888000000000UL,
			0x0000800000000000UL, 0x8000000000000000UL,
			UINTPTR_MAX, UINTPTR_MAX - 3,
		};

		r = below(c, sizeof(bad) / sizeof(bad[0]) + 2);
		if (r < sizeof(bad) / sizeof(bad[0]))
			ptr = (unsigned char *)bad[r];
		else
			ptr = (r & 1 ? c->rw : c->ro) + 2 * P;	/* a guard page */
		ptrkind = "bad";
	}

	/* The fields; the tail after them zero as far as it is used. */
	clear = usize < avail ? usize : avail;
	clear = clear < 128 ? 128 : clear > sizeof(tmp) ? sizeof(tmp) : clear;
	memset(tmp, 0, clear);
	if (kind == K_ALLOC) {
		struct numabuf_alloc *a = (void *)tmp;

		a->flags = fz_gen_flags(c);
		a->length = fz_gen_len(c);
		a->node = fz_gen_node(c);
		if (chance(c, 30)) {
			a->handle = (uint32_t)rnd(c);
			a->offset = rnd(c);
		}
		if (chance(c, 8))
			a->reserved[below(c, 4)] = chance(c, 50) ? 1ULL << below(c, 64) : rnd(c) | 1;
	} else {
		struct numabuf_free *f = (void *)tmp;

		f->handle = fz_pick_handle(c, fdi, si);
		if (kind == K_FREE && chance(c, 8))
			f->reserved[below(c, 2)] = 1ULL << below(c, 64);
		if (kind == K_INFO) {
			struct numabuf_info *i = (void *)tmp;

			if (chance(c, 30)) {
				i->length = rnd(c);
				i->node = (int)rnd(c);
				i->flags = (uint32_t)rnd(c);
				i->map_count = (uint32_t)rnd(c);
				i->offset = rnd(c);
				i->phys = rnd(c);
			}
			if (chance(c, 4))
				i->source = 1 + below(c, UINT32_MAX);
			if (chance(c, 5))
				i->reserved[below(c, 4)] = 1ULL << below(c, 64);
		}
	}
	((uint32_t *)tmp)[0] = usize;
	if (usize > fz_k[kind].ver0 && usize <= FZ_ARG_MAX && chance(c, 25)) {
		tailpos = fz_k[kind].ver0 + below(c, usize - fz_k[kind].ver0);
		tmp[tailpos] = 1 + below(c, 255);
		tail_nz = (size_t)tailpos < avail;
	}
	if (avail) {
		size_t n = usize < 4 ? 4 : usize;	/* the size field, always */

		n = n < avail ? n : avail;

		/* The kernel reads no more than one page past the size field. */
		memcpy(c->rw + off, tmp, n < FZ_ARG_MAX + 8 ? n : FZ_ARG_MAX + 8);
	}

	/* What may come of it. */
	if (!matched) {
		allowed = EB(ENOTTY);
	} else if (avail < 4) {
		allowed = EB(EFAULT);
	} else if (usize < fz_k[kind].ver0 || usize > FZ_ARG_MAX) {
		allowed = EB(EINVAL);
	} else if (avail < usize) {
		allowed = EB(EFAULT) | (tail_nz ? EB(E2BIG) : 0);
	} else if (tail_nz) {
		allowed = EB(E2BIG);
	} else if (kind == K_ALLOC) {
		allowed = fz_alloc_errors((void *)tmp);
		if (!allowed) {
			allowed = EB(ENOMEM) | EB(EDQUOT);
			if (writable)
				ok_allowed = true;
			else
				allowed |= EB(EFAULT);
		}
	} else {
		const struct numabuf_info *i = (void *)tmp;
		const struct numabuf_free *f = (void *)tmp;
		bool live = !weak && fz_find_live(c, fdi, f->handle) >= 0;

		if (kind == K_FREE && (f->reserved[0] || f->reserved[1]))
			allowed = EB(EINVAL);
		if (kind == K_INFO && (i->source || i->reserved[0] || i->reserved[1] ||
				       i->reserved[2] || i->reserved[3]))
			allowed = EB(EINVAL);
		if (!weak && !live)
			allowed |= EB(ENOENT);
		if (!allowed) {
			if (weak)
				allowed = EB(ENOENT);
			if (kind == K_INFO && !writable)
				allowed |= EB(EFAULT);
			else
				ok_allowed = true;
		}
	}
	if (maybe)
		allowed |= EB(ENOTTY);

	errno = 0;
	ret = ioctl(fd, cmd, ptr);
	e = ret ? errno : 0;
	fz_count_ioctl(matched && !(maybe && e == ENOTTY) ? kind : K_OTHER, ret, e);
	if ((ret == 0 && !ok_allowed) || (ret && !(ret == -1 && e < 128 && (allowed & EB(e))))) {
		fz_describe(c, matched ? kind : K_OTHER, cmd,
			    weak ? "shared" : c->fds[fdi].inherited ? "inherited" : "private",
			    ptrkind, off, usize, avail, tmp, tailpos);
		snprintf(call, sizeof(call), "%s", matched ? fz_k[kind].name : "ioctl");
		fz_expect(c, call, ret, e, ok_allowed, allowed);
	}
	if (maybe)
		atomic_fetch_add_explicit(e == ENOTTY ? &st->dir_notty : &st->dir_handled,
					  1, memory_order_relaxed);
	if (ret || (maybe && e == ENOTTY))
		return;

	/* Success: what came back, and the model. */
	if (kind == K_ALLOC) {
		struct numabuf_alloc out;

		memcpy(&out, c->rw + off, sizeof(out));
		fz_describe(c, kind, cmd, weak ? "shared" : "private", ptrkind, off,
			    usize, avail, tmp, tailpos);
		fz_check_alloc_out(c, fdi, weak, (void *)tmp, &out);
		if (usize > sizeof(out) &&
		    memcmp(c->rw + off + sizeof(out), tmp + sizeof(out), usize - sizeof(out)))
			FZ_FAIL(c, "ALLOC wrote past the struct it knows into the caller's tail");
		c->what[0] = 0;
		if (weak) {
			fz_weak_add(c, si, out.handle, out.length);
		} else {
			int bi = fz_buf_add(c, fdi, &out, ((struct numabuf_alloc *)tmp)->flags);

			if (bi < 0 || c->held > FZ_HELD_MAX) {
				struct numabuf_free f = { .size = sizeof(f), .handle = out.handle };

				if (bi >= 0) {
					fz_free_exact(c, bi);
				} else {
					errno = 0;
					ret = ioctl(fd, NUMABUF_IOC_FREE, &f);
					fz_count_ioctl(K_FREE, ret, errno);
					fz_expect(c, "FREE of a fresh handle", ret, errno, true, 0);
					fz_stale_add(&c->fds[fdi], out.handle);
				}
			}
		}
	} else if (kind == K_FREE) {
		uint32_t h = ((struct numabuf_free *)tmp)->handle;

		if (weak) {
			fz_weak_forget(c, si, h);
		} else {
			int bi = fz_find_live(c, fdi, h);

			c->bufs[bi].live = false;
			fz_stale_add(&c->fds[fdi], h);
			fz_buf_release_if_unused(c, bi);
		}
	} else {
		struct numabuf_info out;

		memcpy(&out, c->rw + off, sizeof(out));
		if (usize > sizeof(out) &&
		    memcmp(c->rw + off + sizeof(out), tmp + sizeof(out), usize - sizeof(out))) {
			fz_describe(c, kind, cmd, "", ptrkind, off, usize, avail, tmp, tailpos);
			FZ_FAIL(c, "INFO wrote past the struct it knows into the caller's tail");
		}
		if (!weak) {
			fz_describe(c, kind, cmd, "private", ptrkind, off, usize, avail, tmp, tailpos);
			fz_check_info_out(c, fz_find_live(c, fdi, out.handle), (void *)tmp,
					  &out, false);
			c->what[0] = 0;
		} else if (out.offset != (uint64_t)out.handle << FZ_OFFSET_SHIFT ||
			   !out.length || out.length % P || out.length > FZ_BUDDY_MAX ||
			   !fz_online(out.node)) {
			fz_describe(c, kind, cmd, "shared", ptrkind, off, usize, avail, tmp, tailpos);
			FZ_FAIL(c, "INFO of a shared file's buffer: length %llu node %d offset %#llx",
				(unsigned long long)out.length, out.node,
				(unsigned long long)out.offset);
		}
	}
}

/* ---- valid calls ---- */

static struct fz_piece *fz_piece_new(struct fz_ctx *c, int bi, char *addr,
				     size_t first, size_t npages, int prot,
				     bool weak, bool ro_file)
{
	int pi = fz_piece_slot(c);
	struct fz_piece *p;

	if (pi < 0)
		return NULL;
	p = &c->pieces[pi];
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->weak = weak;
	p->bi = bi;
	p->addr = addr;
	p->first = first;
	p->npages = npages;
	p->prot = prot;
	p->ro_file = ro_file;
	if (!weak)
		c->bufs[bi].pieces++;
	return p;
}

static void fz_piece_gone(struct fz_ctx *c, struct fz_piece *p)
{
	p->used = false;
	if (!p->weak) {
		c->bufs[p->bi].pieces--;
		fz_buf_release_if_unused(c, p->bi);
	}
}

/* A valid ALLOC on a private file; now and then mapped, checked, tagged. */
static void fz_op_alloc(struct fz_ctx *c)
{
	int fdi = fz_usable_fd(c, true), bi;
	struct numabuf_alloc a, in;
	long ret;

	if (fdi < 0 || fz_buf_slot(c) < 0)
		return;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.length = fz_gen_valid_len(c);
	a.node = chance(c, 50) ? NUMABUF_NODE_LOCAL : cfg.nodes[below(c, cfg.nnodes)];
	a.flags = chance(c, 30) ? NUMABUF_F_PREFERRED : 0;
	in = a;
	errno = 0;
	ret = ioctl(c->fds[fdi].fd, NUMABUF_IOC_ALLOC, &a);
	fz_count_ioctl(K_ALLOC, ret, errno);
	snprintf(c->what, sizeof(c->what), "ALLOC length %llu node %d flags %#x",
		 (unsigned long long)in.length, in.node, in.flags);
	fz_expect(c, "ALLOC", ret, errno, true, EB(ENOMEM) | EB(EDQUOT));
	if (ret)
		return;
	fz_check_alloc_out(c, fdi, false, &in, &a);
	c->what[0] = 0;
	bi = fz_buf_add(c, fdi, &a, in.flags);
	if (chance(c, 50) && !c->fds[fdi].rdonly) {
		char *p = mmap(NULL, a.length, PROT_READ | PROT_WRITE, MAP_SHARED,
			       c->fds[fdi].fd, (off_t)a.offset);
		size_t nz;

		atomic_fetch_add_explicit(&st->mmaps, 1, memory_order_relaxed);
		if (p == MAP_FAILED) {
			snprintf(c->what, sizeof(c->what), "mmap of a fresh buffer, %llu bytes",
				 (unsigned long long)a.length);
			fz_expect(c, "mmap", -1, errno, false, EB(ENOMEM));
			c->what[0] = 0;
			return;
		}
		atomic_fetch_add_explicit(&st->mmap_ok, 1, memory_order_relaxed);
		nz = nb_find_nonzero(p, a.length);
		if (nz != (size_t)-1)
			FZ_FAIL(c, "fresh buffer (handle %u, %llu bytes) has byte %zu = %#x",
				a.handle, (unsigned long long)a.length, nz,
				((unsigned char *)p)[nz]);
		{
			struct fz_piece *pc = fz_piece_new(c, bi, p, 0, a.length / P,
							   PROT_READ | PROT_WRITE, false, false);

			if (!pc) {
				munmap(p, a.length);
				return;
			}
			fz_tag_piece(c, pc);
			if (chance(c, 40)) {
				munmap(p, a.length);
				fz_piece_gone(c, pc);
			}
		}
	}
}

static void fz_op_free(struct fz_ctx *c)
{
	int bi = fz_pick_live(c, -1);

	if (bi < 0 || c->fds[c->bufs[bi].fdi].inherited)
		return;
	fz_free_exact(c, bi);
}

static void fz_op_info(struct fz_ctx *c)
{
	int bi = fz_pick_live(c, -1);
	struct numabuf_info in = { .size = sizeof(in) }, out;
	unsigned long long g0, g1;
	bool quiet0, quiet1;
	long ret;

	if (bi < 0)
		return;
	in.handle = c->bufs[bi].handle;
	out = in;
	quiet0 = fz_children_quiet(&g0);
	errno = 0;
	ret = ioctl(c->fds[c->bufs[bi].fdi].fd, NUMABUF_IOC_INFO, &out);
	fz_count_ioctl(K_INFO, ret, errno);
	quiet1 = fz_children_quiet(&g1);
	snprintf(c->what, sizeof(c->what), "INFO handle %u (live)", in.handle);
	fz_expect(c, "INFO", ret, errno, true, 0);
	fz_check_info_out(c, bi, &in, &out,
			  !c->child && quiet0 && quiet1 && g0 == g1);
	c->what[0] = 0;
}

/* mmap of a buffer, a stale or a random offset, with varied prot and flags. */
static void fz_op_mmap_at(struct fz_ctx *c, int fdi, int si, uint64_t off,
			  uint64_t len, int prot, int flags)
{
	bool weak = fdi < 0, rdonly = !weak && c->fds[fdi].rdonly, ok_allowed;
	int fd = weak ? cfg.shared[si] : c->fds[fdi].fd, bi = -1, e = 0;
	size_t first = 0, npages = fz_page_align(len) / P;
	eset def = 0, allowed = EB(ENOMEM);
	char *p;

	/* What may come of it: the core's checks, then the module's. */
	if (len == 0 || off % P) {
		def = EB(EINVAL);
	} else if (rdonly && (prot & PROT_WRITE) && (flags & MAP_SHARED)) {
		def = EB(EACCES);
	} else {
		if (off >> 63)
			def |= EB(EOVERFLOW) | EB(ENXIO) | EB(EINVAL);
		if ((flags & MAP_TYPE) == MAP_PRIVATE)
			def |= EB(EINVAL);
		if (prot & PROT_EXEC)
			def |= EB(EPERM);
		if (weak) {
			/* freed by anyone, or never there */
			allowed |= EB(ENXIO) | EB(EINVAL);
		} else {
			uint64_t h = off >> FZ_OFFSET_SHIFT;
			uint64_t pg = (off & ((1ULL << FZ_OFFSET_SHIFT) - 1)) / P;

			bi = h && h <= FZ_HANDLE_MAX ? fz_find_live(c, fdi, (uint32_t)h) : -1;
			if (bi < 0) {
				def |= EB(ENXIO);
			} else {
				size_t bufpages = c->bufs[bi].len / P;

				first = pg;
				if (pg >= bufpages || npages > bufpages - pg)
					def |= EB(EINVAL);
			}
		}
	}
	allowed |= def;
	ok_allowed = !def;

	atomic_fetch_add_explicit(&st->mmaps, 1, memory_order_relaxed);
	errno = 0;
	p = mmap(NULL, len, prot, flags, fd, (off_t)off);
	if (p == MAP_FAILED)
		e = errno;
	if (p == MAP_FAILED ? !(e < 128 && (allowed & EB(e))) : !ok_allowed) {
		snprintf(c->what, sizeof(c->what),
			 "mmap(len %#llx, prot %#x, flags %#x, %s fd%s, offset %#llx)",
			 (unsigned long long)len, prot, flags,
			 weak ? "shared" : c->fds[fdi].inherited ? "inherited" : "private",
			 rdonly ? " (O_RDONLY)" : "", (unsigned long long)off);
		fz_expect(c, "mmap", p == MAP_FAILED ? -1 : 0, e, ok_allowed, allowed);
	}
	if (p == MAP_FAILED)
		return;
	atomic_fetch_add_explicit(&st->mmap_ok, 1, memory_order_relaxed);
	{
		struct fz_piece *pc = fz_piece_new(c, bi, p, first, npages, prot,
						   weak, rdonly);

		if (!pc) {
			munmap(p, npages * P);
			return;
		}
		fz_check_piece(c, pc);
		fz_tag_piece(c, pc);
	}
}

static void fz_op_mmap(struct fz_ctx *c)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ, PROT_NONE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE,
	};
	unsigned int r = below(c, 100), f = below(c, 100);
	int prot, flags, fdi = -1, si = -1, bi;
	uint64_t off, len, npages;

	prot = prots[below(c, sizeof(prots) / sizeof(prots[0]))];
	flags = f < 85 ? MAP_SHARED : f < 90 ? MAP_SHARED_VALIDATE :
		f < 93 ? MAP_PRIVATE : f < 97 ? MAP_SHARED | MAP_POPULATE :
		MAP_SHARED | MAP_NORESERVE;

	if (r < 75 && (bi = fz_pick_live(c, -1)) >= 0) {
		/* a live buffer, a range of it (sometimes one page too far) */
		struct fz_buf *b = &c->bufs[bi];
		uint64_t bufpages = b->len / P, first = below(c, bufpages);

		fdi = b->fdi;
		npages = 1 + below(c, bufpages - first);
		if (chance(c, 5))
			first = bufpages;
		else if (chance(c, 5))
			npages = bufpages - first + 1;
		off = b->offset + first * P;
	} else if (r < 85 && (fdi = fz_usable_fd(c, false)) >= 0 &&
		   c->fds[fdi].nstale) {
		/* a freed buffer's offset */
		off = (uint64_t)c->fds[fdi].stale[below(c, c->fds[fdi].nstale)] << FZ_OFFSET_SHIFT;
		npages = 1 + below(c, 4);
	} else if (r < 93 && c->nweak) {
		/* a shared file's buffer this thread made (others may free it) */
		struct fz_weak *w = &c->weak[below(c, c->nweak)];
		uint64_t bufpages = w->len / P, first = below(c, bufpages);

		fdi = -1;
		si = w->si;
		npages = 1 + below(c, bufpages - first);
		off = ((uint64_t)w->handle << FZ_OFFSET_SHIFT) + first * P;
	} else {
		/* anything */
		fdi = chance(c, 50) ? fz_usable_fd(c, false) : -1;
		if (fdi < 0)
			si = below(c, FZ_NSHARED);
		switch (below(c, 4)) {
		case 0:
			off = rnd(c) & ~(P - 1);
			break;
		case 1:
			off = (below(c, 1 << 21) << FZ_OFFSET_SHIFT) + below(c, 1024) * P;
			break;
		case 2:
			off = below(c, 1 << 21) << FZ_OFFSET_SHIFT;
			break;
		default:
			off = below(c, 1ULL << 52) * P;
			break;
		}
		npages = 1 + below(c, 16);
	}
	len = npages * P;
	if (chance(c, 3))
		len = 0;
	else if (chance(c, 5))
		len -= below(c, P);	/* mmap rounds it up */
	if (chance(c, 3))
		off |= 1 + below(c, P - 1);
	fz_op_mmap_at(c, fdi, si, off, len, prot, flags);
}

/*
 * Split piece @pi so that pages [a, b) of it are a piece of their own;
 * returns that piece.  The caller has checked there are two free slots.
 */
static struct fz_piece *fz_piece_split(struct fz_ctx *c, int pi, size_t a, size_t b)
{
	struct fz_piece *p = &c->pieces[pi], orig = *p;

	if (a > 0) {
		struct fz_piece *l = &c->pieces[fz_piece_slot(c)];

		*l = orig;
		l->npages = a;
		if (!orig.weak)
			c->bufs[orig.bi].pieces++;
	}
	if (b < orig.npages) {
		struct fz_piece *r = &c->pieces[fz_piece_slot(c)];

		*r = orig;
		r->addr = orig.addr + b * P;
		r->first = orig.first + b;
		r->npages = orig.npages - b;
		if (!orig.weak)
			c->bufs[orig.bi].pieces++;
	}
	p->addr = orig.addr + a * P;
	p->first = orig.first + a;
	p->npages = b - a;
	return p;
}

/* A sub-range [a, b) of piece @pi: the whole, a prefix, a suffix, a middle. */
static void fz_subrange(struct fz_ctx *c, int pi, size_t *a, size_t *b)
{
	size_t n = c->pieces[pi].npages;

	*a = 0;
	*b = n;
	if (n < 2 || chance(c, 40) || fz_free_piece_slots(c) < 2)
		return;
	*a = below(c, n);
	*b = *a + 1 + below(c, n - *a);
}

static void fz_op_munmap(struct fz_ctx *c)
{
	int pi = fz_pick_piece(c), ret, e;
	struct fz_piece *p;
	size_t a, b;

	if (pi < 0)
		return;
	fz_subrange(c, pi, &a, &b);
	p = &c->pieces[pi];
	errno = 0;
	ret = munmap(p->addr + a * P, (b - a) * P);
	e = errno;
	atomic_fetch_add_explicit(&st->munmaps, 1, memory_order_relaxed);
	snprintf(c->what, sizeof(c->what), "munmap pages %zu-%zu of a %zu-page mapping",
		 a, b, p->npages);
	fz_expect(c, "munmap", ret, e, true, EB(ENOMEM));
	c->what[0] = 0;
	if (ret)
		return;
	fz_piece_gone(c, fz_piece_split(c, pi, a, b));
}

static void fz_op_mremap(struct fz_ctx *c)
{
	int pi = fz_pick_piece(c), e;
	unsigned int r = below(c, 100);
	struct fz_piece *p;
	size_t a, b, n;
	void *q;

	if (pi < 0)
		return;
	p = &c->pieces[pi];
	n = p->npages;
	atomic_fetch_add_explicit(&st->mremaps, 1, memory_order_relaxed);
	if (r < 30 && n >= 2) {
		/* shrink in place */
		size_t keep = 1 + below(c, n - 1);

		q = mremap(p->addr, n * P, keep * P, 0);
		e = errno;
		snprintf(c->what, sizeof(c->what), "mremap shrink %zu -> %zu pages", n, keep);
		fz_expect(c, "mremap", q == MAP_FAILED ? -1 : 0, e, true, EB(ENOMEM));
		if (q == MAP_FAILED) {
			c->what[0] = 0;
			return;
		}
		if (q != p->addr)
			FZ_FAIL(c, "a shrinking mremap moved the mapping");
		c->what[0] = 0;
		p->npages = keep;
	} else if (r < 65) {
		/* move all or part of it (and maybe shrink it on the way) */
		size_t keep;
		void *dst;

		fz_subrange(c, pi, &a, &b);
		keep = chance(c, 25) ? 1 + below(c, b - a) : b - a;
		dst = mmap(NULL, keep * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		NB_CHECK(dst != MAP_FAILED, "mmap: %s", strerror(errno));
		q = mremap(p->addr + a * P, (b - a) * P, keep * P,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		e = errno;
		snprintf(c->what, sizeof(c->what),
			 "mremap move pages %zu-%zu of %zu to %p, keeping %zu", a, b, n,
			 dst, keep);
		fz_expect(c, "mremap", q == MAP_FAILED ? -1 : 0, e, true, EB(ENOMEM));
		c->what[0] = 0;
		if (q == MAP_FAILED) {
			munmap(dst, keep * P);
			return;
		}
		if (q != dst)
			FZ_FAIL(c, "mremap MREMAP_FIXED to %p went to %p", dst, q);
		p = fz_piece_split(c, pi, a, b);
		p->addr = q;
		p->npages = keep;
		fz_check_piece(c, p);
	} else if (r < 85) {
		/* grow: VM_DONTEXPAND */
		size_t more = 1 + below(c, 4);
		int fl = chance(c, 70) ? MREMAP_MAYMOVE : 0;

		q = mremap(p->addr, n * P, (n + more) * P, fl);
		e = errno;
		snprintf(c->what, sizeof(c->what), "mremap grow %zu -> %zu pages, flags %#x",
			 n, n + more, fl);
		fz_expect(c, "mremap", q == MAP_FAILED ? -1 : 0, e, false, EB(EFAULT));
		c->what[0] = 0;
	} else if (r < 93) {
		/* MREMAP_DONTUNMAP: refused for VM_DONTEXPAND */
		q = mremap(p->addr, n * P, n * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
		e = errno;
		snprintf(c->what, sizeof(c->what), "mremap %zu pages MREMAP_DONTUNMAP", n);
		fz_expect(c, "mremap", q == MAP_FAILED ? -1 : 0, e, false, EB(EINVAL));
		c->what[0] = 0;
	} else {
		/* old_len 0: "duplicate" a shared mapping; it would grow */
		q = mremap(p->addr, 0, (1 + below(c, n)) * P, MREMAP_MAYMOVE);
		e = errno;
		snprintf(c->what, sizeof(c->what), "mremap old_len 0 (duplicate)");
		fz_expect(c, "mremap", q == MAP_FAILED ? -1 : 0, e, false, EB(EFAULT));
		c->what[0] = 0;
	}
}

static void fz_op_mprotect(struct fz_ctx *c)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
				     PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE };
	int pi = fz_pick_piece(c), prot, ret, e;
	struct fz_piece *p;
	eset allowed = EB(ENOMEM);
	bool ok = true;
	size_t a, b;

	if (pi < 0)
		return;
	fz_subrange(c, pi, &a, &b);
	p = &c->pieces[pi];
	prot = prots[below(c, sizeof(prots) / sizeof(prots[0]))];
	if (prot & PROT_EXEC) {
		allowed = EB(EACCES);
		ok = false;
	} else if ((prot & PROT_WRITE) && p->ro_file) {
		allowed = EB(EACCES);
		ok = false;
	}
	errno = 0;
	ret = mprotect(p->addr + a * P, (b - a) * P, prot);
	e = errno;
	atomic_fetch_add_explicit(&st->mprotects, 1, memory_order_relaxed);
	snprintf(c->what, sizeof(c->what), "mprotect pages %zu-%zu of %zu to %#x%s", a, b,
		 p->npages, prot, p->ro_file ? " (file O_RDONLY)" : "");
	fz_expect(c, "mprotect", ret, e, ok, allowed);
	c->what[0] = 0;
	if (ret)
		return;
	/* The same protection changes nothing: the VMA is not split. */
	if (prot != p->prot) {
		p = fz_piece_split(c, pi, a, b);
		p->prot = prot;
	}
	fz_check_piece(c, p);
	if (!p->weak && !p->zapped)
		fz_tag_piece(c, p);
}

static void fz_op_madvise(struct fz_ctx *c)
{
	/* advice, whole piece only (changes vm_flags), allowed, zaps */
	static const struct {
		int advice;
		bool whole;
		eset allowed;
		bool ok, zaps;
	} adv[] = {
		{ MADV_DONTNEED, false, 0, true, true },
		{ MADV_DONTNEED, false, 0, true, true },
		{ MADV_DONTNEED, false, 0, true, true },
		{ MADV_DONTNEED, false, 0, true, true },
		{ MADV_DONTNEED_LOCKED, false, EB(EINVAL), true, true },
		{ MADV_COLD, false, EB(EINVAL), true, false },
		{ MADV_PAGEOUT, false, EB(EINVAL), true, false },
		{ MADV_POPULATE_READ, false, EB(EINVAL) | EB(EFAULT) | EB(ENOMEM), true, false },
		{ MADV_POPULATE_WRITE, false, EB(EINVAL) | EB(EFAULT) | EB(ENOMEM), true, false },
		{ MADV_WILLNEED, false, EB(EINVAL) | EB(EBADF) | EB(ESPIPE), true, false },
		{ MADV_DONTFORK, true, 0, true, false },
		{ MADV_DOFORK, true, 0, true, false },
		{ MADV_HUGEPAGE, true, EB(EINVAL), true, false },
		{ MADV_NOHUGEPAGE, true, EB(EINVAL), true, false },
		{ MADV_MERGEABLE, true, EB(EINVAL), true, false },
		{ MADV_SEQUENTIAL, true, 0, true, false },
		{ MADV_NORMAL, true, 0, true, false },
		{ MADV_FREE, false, EB(EINVAL), false, false },
		{ MADV_WIPEONFORK, true, EB(EINVAL), false, false },
		{ MADV_REMOVE, false, EB(EINVAL) | EB(EACCES) | EB(ENODEV) | EB(EOPNOTSUPP) | EB(EBADF) | EB(EPERM), false, false },
	};
	int pi = fz_pick_piece(c), k, ret, e;
	struct fz_piece *p;
	size_t a = 0, b;

	if (pi < 0)
		return;
	k = below(c, sizeof(adv) / sizeof(adv[0]));
	p = &c->pieces[pi];
	b = p->npages;
	if (!adv[k].whole)
		fz_subrange(c, pi, &a, &b);
	errno = 0;
	ret = madvise(p->addr + a * P, (b - a) * P, adv[k].advice);
	e = errno;
	atomic_fetch_add_explicit(&st->madvises, 1, memory_order_relaxed);
	snprintf(c->what, sizeof(c->what), "madvise pages %zu-%zu of %zu (prot %#x), advice %d",
		 a, b, p->npages, p->prot, adv[k].advice);
	fz_expect(c, "madvise", ret, e, adv[k].ok, adv[k].allowed | EB(ENOMEM) | EB(EAGAIN));
	c->what[0] = 0;
	if (ret)
		return;
	if (adv[k].zaps)
		p->zapped = true;
	if (adv[k].advice == MADV_DONTFORK)
		p->dontfork = true;
	if (adv[k].advice == MADV_DOFORK)
		p->dontfork = false;
	fz_check_piece(c, p);
}

static void fz_op_touch(struct fz_ctx *c)
{
	int pi = fz_pick_piece(c);

	if (pi >= 0) {
		fz_check_piece(c, &c->pieces[pi]);
		if (!c->pieces[pi].weak)
			fz_tag_piece(c, &c->pieces[pi]);
	}
}

/* Operations on the shared files: raced by the other threads. */
static void fz_op_shared(struct fz_ctx *c)
{
	int si = below(c, FZ_NSHARED), fd = cfg.shared[si];
	unsigned int r = below(c, 100);
	long ret;

	if (r < 50) {
		struct numabuf_alloc a = { .size = sizeof(a) }, in;

		a.length = 1 + below(c, 64 * NB_KIB);
		a.node = chance(c, 50) ? NUMABUF_NODE_LOCAL : cfg.nodes[below(c, cfg.nnodes)];
		in = a;
		errno = 0;
		ret = ioctl(fd, NUMABUF_IOC_ALLOC, &a);
		fz_count_ioctl(K_ALLOC, ret, errno);
		snprintf(c->what, sizeof(c->what), "ALLOC length %llu node %d on a shared file",
			 (unsigned long long)in.length, in.node);
		fz_expect(c, "ALLOC", ret, errno, true, EB(ENOMEM) | EB(EDQUOT));
		if (!ret) {
			fz_check_alloc_out(c, -1, true, &in, &a);
			fz_weak_add(c, si, a.handle, a.length);
		}
		c->what[0] = 0;
	} else if (r < 80) {
		/* FREE someone's buffer: mine, a neighbour's, anything */
		struct numabuf_free f = { .size = sizeof(f) };

		f.handle = c->nweak && chance(c, 50) ? c->weak[below(c, c->nweak)].handle :
			   1 + below(c, 4096);
		errno = 0;
		ret = ioctl(fd, NUMABUF_IOC_FREE, &f);
		fz_count_ioctl(K_FREE, ret, errno);
		snprintf(c->what, sizeof(c->what), "FREE handle %u of a shared file", f.handle);
		fz_expect(c, "FREE", ret, errno, true, EB(ENOENT));
		c->what[0] = 0;
		if (!ret)
			fz_weak_forget(c, si, f.handle);
	} else {
		fz_op_mmap(c);
	}
}

static void fz_op_reopen(struct fz_ctx *c)
{
	int fdi = below(c, FZ_NFD + (c->child ? 1 : 0)), i;
	struct fz_fd *f = &c->fds[fdi];

	if (f->fd >= 0) {
		close(f->fd);
		for (i = 0; i < FZ_NBUF; i++)
			if (c->bufs[i].used && c->bufs[i].fdi == fdi && c->bufs[i].live) {
				c->bufs[i].live = false;
				fz_buf_release_if_unused(c, i);
			}
	}
	memset(f, 0, sizeof(*f));
	f->rdonly = chance(c, 15);
	f->fd = open(NB_DEV, (f->rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0)
		FZ_FAIL(c, "open %s: %s", NB_DEV, strerror(errno));
	atomic_fetch_add_explicit(&st->reopens, 1, memory_order_relaxed);
}

/* Replace a shared file under the other threads' feet (dup2 is atomic). */
static void fz_op_swap_shared(struct fz_ctx *c)
{
	int si = below(c, FZ_NSHARED), fd = open(NB_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		FZ_FAIL(c, "open %s: %s", NB_DEV, strerror(errno));
	if (dup3(fd, cfg.shared[si], O_CLOEXEC) < 0)
		FZ_FAIL(c, "dup3: %s", strerror(errno));
	close(fd);
	atomic_fetch_add_explicit(&st->swaps, 1, memory_order_relaxed);
}

/* ---- fork ---- */

/*
 * Block in ALLOC until killed: its argument lies on a page userfaultfd
 * holds, write-protected (the buffer is allocated, the copy back blocks) or
 * missing (the copy in blocks).  Returns only if that cannot be set up.
 */
static void fz_block_in_ioctl(int fd, bool wp)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct numabuf_alloc *a;
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	char *page;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return;
	page = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return;
	if (wp) {
		struct uffdio_writeprotect w;

		a = (void *)page;
		a->size = sizeof(*a);
		a->length = 64 * NB_KIB;
		a->node = NUMABUF_NODE_LOCAL;
		memset(&reg, 0, sizeof(reg));
		reg.range.start = (uintptr_t)page;
		reg.range.len = P;
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			return;
		w.range = reg.range;
		w.mode = UFFDIO_WRITEPROTECT_MODE_WP;
		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w))
			return;
	} else {
		memset(&reg, 0, sizeof(reg));
		reg.range.start = (uintptr_t)page;
		reg.range.len = P;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			return;
	}
	ioctl(fd, NUMABUF_IOC_ALLOC, page);
}

static void fz_step(struct fz_ctx *c);

enum { FZ_EXIT, FZ_EXIT_CLEAN, FZ_KILL_LATER, FZ_SELF_KILL, FZ_BLOCK_WP, FZ_BLOCK_MISSING };

static void fz_cleanup(struct fz_ctx *c);

__attribute__((noreturn))
static void fz_child(struct fz_ctx *c, uint64_t seed, int how)
{
	unsigned long nops, i, kill_at = ULONG_MAX;

	c->child = true;
	c->r.s = seed;
	/* What the child sees: its parent's files, read-only to it. */
	for (i = 0; i < FZ_NFD; i++)
		c->fds[i].inherited = c->fds[i].fd >= 0;
	for (i = 0; i < FZ_NBUF; i++)
		c->bufs[i].foreign = c->bufs[i].used;
	for (i = 0; i < FZ_NPIECE; i++)
		if (c->pieces[i].used && c->pieces[i].dontfork)
			fz_piece_gone(c, &c->pieces[i]);
	memset(&c->fds[FZ_OWN], 0, sizeof(c->fds[FZ_OWN]));
	c->fds[FZ_OWN].fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
	if (c->fds[FZ_OWN].fd < 0)
		FZ_FAIL(c, "open %s: %s", NB_DEV, strerror(errno));
	c->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (how == FZ_BLOCK_WP || how == FZ_BLOCK_MISSING) {
		for (i = below(c, 20); i > 0; i--)
			fz_step(c);
		fz_block_in_ioctl(c->fds[FZ_OWN].fd, how == FZ_BLOCK_WP);
		pause();	/* no userfaultfd: the parent kills it anyway */
		_exit(0);
	}
	nops = how == FZ_KILL_LATER ? ULONG_MAX : 1 + below(c, 400);
	if (how == FZ_SELF_KILL)
		kill_at = below(c, nops);
	for (i = 0; i < nops; i++) {
		c->op = i;
		if (i == kill_at)
			raise(SIGKILL);
		fz_step(c);
	}
	if (how == FZ_EXIT_CLEAN)
		fz_cleanup(c);
	_exit(0);
}

static void fz_op_fork(struct fz_ctx *c)
{
	static const int hows[] = { FZ_EXIT, FZ_EXIT, FZ_EXIT_CLEAN, FZ_KILL_LATER,
				    FZ_KILL_LATER, FZ_KILL_LATER, FZ_SELF_KILL,
				    FZ_BLOCK_WP, FZ_BLOCK_WP, FZ_BLOCK_MISSING };
	int how = hows[below(c, sizeof(hows) / sizeof(hows[0]))], status;
	uint64_t seed = rnd(c);
	unsigned long delay_us = below(c, 20000);
	pid_t pid;

	atomic_fetch_add(&st->active_children, 1);
	atomic_fetch_add(&st->fork_gen, 1);
	pid = fork();
	if (pid == 0)
		fz_child(c, seed, how);
	if (pid < 0) {
		atomic_fetch_sub(&st->active_children, 1);
		if (errno != ENOMEM && errno != EAGAIN)
			FZ_FAIL(c, "fork: %s", strerror(errno));
		atomic_fetch_add(&st->fork_fail, 1);
		return;
	}
	atomic_fetch_add(&st->forks, 1);
	if (how == FZ_KILL_LATER ||
	    (!cfg.uffd && (how == FZ_BLOCK_WP || how == FZ_BLOCK_MISSING))) {
		usleep(delay_us);
		kill(pid, SIGKILL);
	} else if (how == FZ_BLOCK_WP || how == FZ_BLOCK_MISSING) {
		int i;

		/* Until it sleeps in ioctl (16 on x86-64), up to ~5 s. */
		for (i = 0; i < 500; i++) {
			if (nb_blocked_syscall(pid) == SYS_ioctl &&
			    !waitpid(pid, &status, WNOHANG))
				break;
			usleep(10000);
		}
		atomic_fetch_add(i < 500 ? &st->blocked_kills : &st->blocked_missed, 1);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid)
		FZ_FAIL(c, "waitpid: %s", strerror(errno));
	atomic_fetch_sub(&st->active_children, 1);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		atomic_fetch_add(&st->exits, 1);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		atomic_fetch_add(how == FZ_SELF_KILL ? &st->self_kills : &st->kills, 1);
	} else if (WIFSIGNALED(status)) {
		FZ_FAIL(c, "forked child (mode %d) died of signal %d (%s)", how,
			WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		/* its reason is already recorded (first failure wins) */
		FZ_FAIL(c, "forked child (mode %d) exited with status %d", how,
			WEXITSTATUS(status));
	}
}

/* ---- the loop ---- */

static const char *const fz_op_names[] = {
	"ioctl", "alloc", "info", "free", "mmap", "munmap", "mremap", "madvise",
	"mprotect", "read", "shared", "reopen", "swap", "fork",
};
#define FZ_NOPS (sizeof(fz_op_names) / sizeof(fz_op_names[0]))

static void fz_step(struct fz_ctx *c)
{
	unsigned int r = below(c, 10000), k;
	double t0 = nb_now();

	if (r < 8000)
		fz_op_ioctl(c), k = 0;
	else if (r < 8500)
		fz_op_alloc(c), k = 1;
	else if (r < 8800)
		fz_op_info(c), k = 2;
	else if (r < 9100)
		fz_op_free(c), k = 3;
	else if (r < 9300)
		fz_op_mmap(c), k = 4;
	else if (r < 9400)
		fz_op_munmap(c), k = 5;
	else if (r < 9450)
		fz_op_mremap(c), k = 6;
	else if (r < 9500)
		fz_op_madvise(c), k = 7;
	else if (r < 9540)
		fz_op_mprotect(c), k = 8;
	else if (r < 9640)
		fz_op_touch(c), k = 9;
	else if (r < 9960)
		fz_op_shared(c), k = 10;
	else if (r < 9985)
		fz_op_reopen(c), k = 11;
	else if (r < 9990 && !c->child)
		fz_op_swap_shared(c), k = 12;
	else if (r >= 9990 && !c->child && chance(c, 20))
		fz_op_fork(c), k = 13;
	else
		return;
	if (!c->child) {
		c->op_us[k] += (nb_now() - t0) * 1e6;
		c->op_n[k]++;
	}
}

static void fz_cleanup(struct fz_ctx *c)
{
	int i;

	for (i = 0; i < FZ_NPIECE; i++)
		if (c->pieces[i].used) {
			if (munmap(c->pieces[i].addr, c->pieces[i].npages * P))
				FZ_FAIL(c, "munmap at cleanup: %s", strerror(errno));
			fz_piece_gone(c, &c->pieces[i]);
		}
	for (i = 0; i < FZ_NBUF; i++)
		if (c->bufs[i].used && c->bufs[i].live && !c->fds[c->bufs[i].fdi].inherited)
			fz_free_exact(c, i);
	for (i = 0; i < c->nweak; i++) {
		struct numabuf_free f = { .size = sizeof(f), .handle = c->weak[i].handle };
		long ret;

		errno = 0;
		ret = ioctl(cfg.shared[c->weak[i].si], NUMABUF_IOC_FREE, &f);
		fz_count_ioctl(K_FREE, ret, errno);
		snprintf(c->what, sizeof(c->what), "FREE handle %u of a shared file",
			 f.handle);
		fz_expect(c, "FREE", ret, errno, true, EB(ENOENT));
		c->what[0] = 0;
	}
	c->nweak = 0;
	for (i = 0; i <= FZ_NFD; i++)
		if (c->fds[i].fd >= 0) {
			close(c->fds[i].fd);
			c->fds[i].fd = -1;
		}
}

static void *fz_thread(void *arg)
{
	struct fz_ctx *c = arg;
	int i;

	for (i = 0; i <= FZ_NFD; i++)
		c->fds[i].fd = -1;
	for (i = 0; i < FZ_NFD; i++) {
		c->fds[i].fd = open(NB_DEV, O_RDWR | O_CLOEXEC);
		if (c->fds[i].fd < 0)
			FZ_FAIL(c, "open %s: %s", NB_DEV, strerror(errno));
	}
	fz_arena_init(c);
	c->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	while (atomic_load_explicit(&st->ioctls, memory_order_relaxed) < cfg.calls) {
		fz_step(c);
		c->op++;
	}
	fz_cleanup(c);
	return NULL;
}

static bool fz_uffd_works(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	bool ok;

	if (uffd < 0)
		return false;
	ok = !ioctl(uffd, UFFDIO_API, &api) && (api.ioctls & (1ULL << _UFFDIO_REGISTER));
	close(uffd);
	return ok;
}

/*
 * A directed race: ALLOC publishes its buffer in the file's handle table
 * and then still fills in its answer; another thread sharing the file may
 * FREE the new handle in between.  The answer must stay right (offset from
 * its handle, the node asked for), and the buffer must not be touched
 * after that FREE dropped it (on a KASAN kernel: no report).  The freeing
 * thread guesses the next handle (they are handed out in order) and tries
 * it over and over: from the other CPU, spinning; and from the same CPU
 * with real-time priority, woken every 20 us, so that on a preemptible
 * kernel it preempts ALLOC wherever a lock is dropped.
 */
struct fz_race {
	int fd;
	bool same_cpu;
	atomic_uint next;	/* handle the next ALLOC will return */
	atomic_int stop;
	atomic_ulong freed;
	char err[128];
};

static void *fz_race_freer(void *arg)
{
	struct fz_race *x = arg;
	const struct timespec nap = { 0, 20000 };

	while (!atomic_load(&x->stop)) {
		uint32_t h = atomic_load(&x->next);
		struct numabuf_free f = { .size = sizeof(f), .handle = h };

		if (!ioctl(x->fd, NUMABUF_IOC_FREE, &f))
			atomic_fetch_add(&x->freed, 1);
		else if (errno != ENOENT && !x->err[0])
			snprintf(x->err, sizeof(x->err), "FREE: %s", nb_errname(errno));
		if (x->same_cpu)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

NB_TEST_TIMEOUT(race_free_during_alloc,
	"a thread sharing the file FREEs each handle the moment ALLOC publishes it (from the other CPU, and preempting ALLOC from the same CPU): ALLOC's answer stays right, nothing leaks, nothing is touched after it is freed (KASAN)",
	900)
{
	struct nb_stats s0 = nb_stats_read();
	int nodes[NB_MAX_NODES], nn = nb_online_nodes(nodes, NB_MAX_NODES), mode;
	const int iters = 10000;

	for (mode = 0; mode < 2; mode++) {
		struct fz_race x = { .fd = nb_open(), .same_cpu = mode == 1 };
		uint32_t last = 0;
		unsigned long gone = 0;
		pthread_t t;
		cpu_set_t cpus;
		int i;

		atomic_store(&x.next, 1);
		NB_CHECK(!pthread_create(&t, NULL, fz_race_freer, &x), "pthread_create");
		if (x.same_cpu) {
			struct sched_param sp = { .sched_priority = 1 };

			CPU_ZERO(&cpus);
			CPU_SET(sched_getcpu(), &cpus);
			NB_CHECK(!sched_setaffinity(0, sizeof(cpus), &cpus), "sched_setaffinity: %s",
				 strerror(errno));
			NB_CHECK(!pthread_setaffinity_np(t, sizeof(cpus), &cpus),
				 "pthread_setaffinity_np");
			if (pthread_setschedparam(t, SCHED_FIFO, &sp))
				nb_note("no SCHED_FIFO for the freeing thread; it runs at normal priority");
		}
		for (i = 0; i < iters; i++) {
			struct numabuf_alloc a = {
				.size = sizeof(a), .length = P, .node = nodes[i % nn],
			};

			atomic_store(&x.next, last + 1);
			NB_CHECK(!ioctl(x.fd, NUMABUF_IOC_ALLOC, &a), "ALLOC: %s",
				 nb_errname(errno));
			NB_CHECK(a.handle == last + 1, "ALLOC returned handle %u after %u",
				 a.handle, last);
			NB_CHECK(a.offset == (uint64_t)a.handle << FZ_OFFSET_SHIFT &&
				 a.node == nodes[i % nn] && a.length == P,
				 "ALLOC raced by a FREE answered handle %u offset %#llx node %d (asked %d) length %llu",
				 a.handle, (unsigned long long)a.offset, a.node, nodes[i % nn],
				 (unsigned long long)a.length);
			gone += nb_info(x.fd, a.handle, NULL) == -ENOENT;
			last = a.handle;
		}
		atomic_store(&x.stop, 1);
		pthread_join(t, NULL);
		NB_CHECK(!x.err[0], "%s", x.err);
		close(x.fd);
		nb_note("%s: %d ALLOCs, %lu freed by the other thread (%lu gone when ALLOC's caller looked)",
			x.same_cpu ? "same CPU, real-time freer" : "other CPU, spinning freer",
			iters, (unsigned long)atomic_load(&x.freed), gone);
		CPU_ZERO(&cpus);
		for (i = 0; i < CPU_SETSIZE && i < 1024; i++)
			CPU_SET(i, &cpus);
		sched_setaffinity(0, sizeof(cpus), &cpus);
	}
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST_TIMEOUT(fuzz,
	"threads fuzzing the ioctls (numbers, sizes, pointers, fields, handles) and mmap/munmap/mremap/mprotect/madvise/FREE/close/fork sequences on private and shared files: every result as documented, reads never fault, counters back to zero",
	1800)
{
	struct nb_stats s0 = nb_stats_read();
	pthread_t t[FZ_MAX_THREADS];
	struct fz_ctx *ctx;
	double t0, secs;
	char line[2048];
	size_t o;
	int i;

	cfg.seed = nb_seed("NB_FUZZ_SEED");
	cfg.calls = nb_env_ull("NB_FUZZ_CALLS", 1000000);
	cfg.threads = (int)nb_env_ull("NB_FUZZ_THREADS", 4);
	NB_CHECK(cfg.threads >= 1 && cfg.threads <= FZ_MAX_THREADS,
		 "NB_FUZZ_THREADS must be 1..%d", FZ_MAX_THREADS);
	cfg.max_numnodes = fz_max_numnodes();
	cfg.nnodes = nb_online_nodes(cfg.nodes, NB_MAX_NODES);
	for (i = 0; i < cfg.nnodes; i++)
		if (cfg.nodes[i] >= 0 && cfg.nodes[i] < 2048)
			cfg.online[cfg.nodes[i]] = true;
	cfg.uffd = fz_uffd_works();
	nb_note("%llu ioctl calls, %d threads, MAX_NUMNODES %s%d, userfaultfd %s",
		cfg.calls, cfg.threads, cfg.max_numnodes ? "" : "unknown ",
		cfg.max_numnodes, cfg.uffd ? "blocks kernel accesses" : "unavailable");

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ctx = mmap(NULL, sizeof(*ctx) * cfg.threads, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(st != MAP_FAILED && ctx != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < FZ_NSHARED; i++)
		cfg.shared[i] = nb_open();

	t0 = nb_now();
	for (i = 0; i < cfg.threads; i++) {
		struct nb_rng r = { cfg.seed + i };

		ctx[i].id = i;
		ctx[i].r.s = nb_rnd(&r);
		NB_CHECK(!pthread_create(&t[i], NULL, fz_thread, &ctx[i]),
			 "pthread_create");
	}
	for (i = 0; i < cfg.threads; i++)
		pthread_join(t[i], NULL);
	secs = nb_now() - t0;
	for (i = 0; i < FZ_NSHARED; i++)
		close(cfg.shared[i]);

	nb_note("%llu ioctls in %.1f s (%.0f/s): %llu succeeded (ALLOC %llu, FREE %llu, INFO %llu, other numbers %llu calls); %llu buffers, %llu MiB allocated",
		(unsigned long long)st->ioctls, secs, st->ioctls / secs,
		(unsigned long long)st->ioctl_ok,
		(unsigned long long)st->kind_calls[K_ALLOC],
		(unsigned long long)st->kind_calls[K_FREE],
		(unsigned long long)st->kind_calls[K_INFO],
		(unsigned long long)st->kind_calls[K_OTHER],
		(unsigned long long)st->allocs_ok,
		(unsigned long long)(st->alloc_bytes / NB_MIB));
	o = snprintf(line, sizeof(line), "ioctl errors:");
	for (i = 1; i < 134; i++)
		if (st->err[i])
			o += snprintf(line + o, sizeof(line) - o, " %s %llu",
				      fz_ename(i), (unsigned long long)st->err[i]);
	nb_note("%s", line);
	nb_note("numbers with another direction: %llu ENOTTY, %llu handled as the call",
		(unsigned long long)st->dir_notty, (unsigned long long)st->dir_handled);
	nb_note("mmap %llu (%llu mapped), munmap %llu, mremap %llu, mprotect %llu, madvise %llu; %llu pages read (%llu refaulted after MADV_DONTNEED), %llu checked in pagemap",
		(unsigned long long)st->mmaps, (unsigned long long)st->mmap_ok,
		(unsigned long long)st->munmaps, (unsigned long long)st->mremaps,
		(unsigned long long)st->mprotects, (unsigned long long)st->madvises,
		(unsigned long long)st->pages_read,
		(unsigned long long)st->zapped_refaults,
		(unsigned long long)st->pagemap_checks);
	nb_note("forks %llu (%llu failed): %llu exited, %llu killed, %llu killed themselves, %llu killed blocked in an ioctl (%llu not seen blocked); %llu reopens, %llu shared-file swaps",
		(unsigned long long)st->forks, (unsigned long long)st->fork_fail,
		(unsigned long long)st->exits, (unsigned long long)st->kills,
		(unsigned long long)st->self_kills,
		(unsigned long long)st->blocked_kills,
		(unsigned long long)st->blocked_missed,
		(unsigned long long)st->reopens, (unsigned long long)st->swaps);
	{
		double us[16] = { 0 };
		unsigned long n[16] = { 0 };
		size_t k;

		for (i = 0; i < cfg.threads; i++)
			for (k = 0; k < FZ_NOPS; k++) {
				us[k] += ctx[i].op_us[k];
				n[k] += ctx[i].op_n[k];
			}
		o = snprintf(line, sizeof(line), "time per step (us, all threads):");
		for (k = 0; k < FZ_NOPS; k++)
			o += snprintf(line + o, sizeof(line) - o, " %s %lu x %.0f",
				      fz_op_names[k], n[k], n[k] ? us[k] / n[k] : 0.0);
		nb_note("%s", line);
	}
	NB_CHECK(st->ioctls >= cfg.calls, "only %llu ioctl calls",
		 (unsigned long long)st->ioctls);
	NB_CHECK(!cfg.uffd || st->blocked_kills > 0 || st->forks < 20,
		 "no child was seen blocked in an ioctl before it was killed");
	NB_STATS_EXPECT(s0, 0, 0);
}
