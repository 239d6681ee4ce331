// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-rdmabench: RDMA with numabuf memory against the usual ways of
 * getting pinned memory on a node.
 *
 *   numabuf-rdmabench [-d DEV] [-n NODE] [-s SIZE,...] [-i N] [-t SECONDS]
 *                     [-T TOTAL] [-m MSG] [-r REPS] [--quick]
 *
 * Three kinds of memory, all on NODE (default 0), each checked page by page
 * with move_pages(2) before it is used:
 *  - numabuf: a buffer from /dev/numabuf (libnumabuf);
 *  - malloc:  posix_memalign() + mbind(MPOL_BIND) + mlock(), what a verbs
 *             program does without numabuf (the mlock is timed apart),
 *             with transparent huge pages as the system has them;
 *  - malloc-4k: the same with MADV_NOHUGEPAGE: 4 KiB pages, as numabuf's
 *             mapping has (numabuf's pages are order-0 pages, each pinned
 *             on its own by ibv_reg_mr());
 *  - huge:    MAP_HUGETLB 2 MiB pages bound to the node and faulted in; the
 *             bench raises the node's nr_hugepages by what it needs and puts
 *             the old value back when it ends.
 * For each size it times ibv_reg_mr() and ibv_dereg_mr() of the same memory
 * (medians after one untimed pair; the memory is allocated once per size
 * and kind, not timed), and
 * for each kind the throughput of RDMA WRITE and RDMA READ between two
 * buffers of TOTAL bytes in MSG-byte messages, 16 in flight, between two
 * RC queue pairs of the device connected to each other (loopback); every
 * transfer is checked byte for byte.  Ratios are against numabuf: above 1
 * means the other kind is slower.
 *
 * Root only; run it in a test guest on soft-RoCE (bench/rdma.sh does:
 * tests/suite/rxe-up.sh, then this).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "numabuf.h"
#include "util.h"

#define MPOL_BIND_	2
#define MPOL_MF_MOVE_	(1 << 1)
#define NODE_BITS	1024
#define HUGE_SZ		(2ULL << 20)
#define MAX_SIZES	16
#define MAX_ITERS	64
#define DEPTH		16	/* RDMA operations in flight */

enum kind { K_NUMABUF, K_MALLOC, K_MALLOC4K, K_HUGE, NKINDS };
static const char *const kind_name[NKINDS] = {
	"numabuf", "malloc", "malloc-4k", "huge",
};

/* One piece of memory of some kind. */
struct mem {
	enum kind kind;
	void *addr;
	uint64_t len;
	struct numabuf *nb;
	double mlock_s;		/* malloc: the mlock() it took */
};

static struct numabuf_ctx *nbctx;
static int node;
static char hp_path[256];
static long hp_saved = -1;	/* the node's nr_hugepages before the bench */

static void hp_restore(void);

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "numabuf-rdmabench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	hp_restore();
	exit(1);
}

/* ---- huge pages on the node ---- */

static long hp_read(void)
{
	FILE *f = fopen(hp_path, "r");
	long v = -1;

	if (!f || fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static int hp_write(long v)
{
	FILE *f = fopen(hp_path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

static void hp_restore(void)
{
	if (hp_saved >= 0 && hp_write(hp_saved))
		fprintf(stderr, "numabuf-rdmabench: could not put %s back to %ld\n",
			hp_path, hp_saved);
	hp_saved = -1;
}

/* Make room for @bytes of 2 MiB pages on the node; false if it cannot. */
static bool hp_reserve(uint64_t bytes)
{
	long want = (long)(bytes / HUGE_SZ);

	if (hp_saved < 0) {
		hp_saved = hp_read();
		if (hp_saved < 0)
			return false;
	}
	if (hp_read() >= hp_saved + want)
		return true;
	hp_write(hp_saved + want);
	return hp_read() >= hp_saved + want;
}

/*
 * Run on the node's CPUs: the CPU copies every byte soft-RoCE moves, and
 * should do so next to the memory.  Returns the list, for the report.
 */
static const char *pin_to_node(char *cpus, size_t len)
{
	uint64_t map[NODE_BITS / 64] = { 0 };
	char path[128];
	cpu_set_t set;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	f = fopen(path, "r");
	if (!f || !fgets(cpus, (int)len, f))
		die("node %d: no %s", node, path);
	fclose(f);
	cpus[strcspn(cpus, "\n")] = 0;
	if (!cpus[0] || list_parse(cpus, map, NODE_BITS))
		die("node %d has no CPUs ('%s')", node, cpus);
	CPU_ZERO(&set);
	for (unsigned int c = 0; c < NODE_BITS && c < CPU_SETSIZE; c++)
		if (list_test(map, c))
			CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity: %s", strerror(errno));
	return cpus;
}

/* ---- memory ---- */

/* Every page of [addr, addr + len) on the node, as move_pages(2) says. */
static void check_node(const struct mem *m)
{
	size_t psz = 4096, n = m->len / psz, i;
	void **pages = malloc(n * sizeof(*pages));
	int *status = malloc(n * sizeof(*status));

	if (!pages || !status)
		die("out of memory");
	for (i = 0; i < n; i++)
		pages[i] = (char *)m->addr + i * psz;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
		die("move_pages: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (status[i] != node)
			die("%s memory: page %zu of %zu is on node %d, not %d",
			    kind_name[m->kind], i, n, status[i], node);
	free(pages);
	free(status);
}

static int mbind_node(void *p, uint64_t len)
{
	unsigned long mask[NODE_BITS / 64] = { 0 };

	mask[node / 64] = 1UL << (node % 64);
	/* MOVE: heap memory malloc() reuses may have been touched already. */
	return (int)syscall(SYS_mbind, p, len, MPOL_BIND_, mask, NODE_BITS + 1,
			    MPOL_MF_MOVE_);
}

/* @len bytes of @kind on the node, resident; false (with a note) if not. */
static bool mem_get(struct mem *m, enum kind kind, uint64_t len)
{
	int ret;
	double t;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->len = len;
	switch (kind) {
	case K_NUMABUF:
		ret = numabuf_alloc(nbctx, len, node, 0, &m->nb);
		if (ret < 0) {
			printf("# numabuf %llu bytes on node %d: %s\n",
			       (unsigned long long)len, node, strerror(-ret));
			return false;
		}
		m->addr = numabuf_addr(m->nb);
		break;
	case K_MALLOC:
	case K_MALLOC4K:
		if (posix_memalign(&m->addr, 4096, len)) {
			printf("# malloc %llu bytes: out of memory\n", (unsigned long long)len);
			return false;
		}
		if (mbind_node(m->addr, len))
			die("mbind: %s", strerror(errno));
		/* EINVAL: no THP in this kernel (PREEMPT_RT): 4 KiB anyway. */
		if (kind == K_MALLOC4K && madvise(m->addr, len, MADV_NOHUGEPAGE) &&
		    errno != EINVAL)
			die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
		t = mono_now();
		if (mlock(m->addr, len)) {
			printf("# mlock %llu bytes: %s\n", (unsigned long long)len,
			       strerror(errno));
			free(m->addr);
			return false;
		}
		m->mlock_s = mono_now() - t;
		break;
	case K_HUGE:
		len = (len + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
		m->len = len;
		if (!hp_reserve(len)) {
			printf("# huge: cannot reserve %llu MiB of 2 MiB pages on node %d\n",
			       (unsigned long long)(len >> 20), node);
			return false;
		}
		m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (m->addr == MAP_FAILED) {
			printf("# huge: mmap %llu bytes: %s\n", (unsigned long long)len,
			       strerror(errno));
			return false;
		}
		if (mbind_node(m->addr, len))
			die("mbind: %s", strerror(errno));
		for (uint64_t off = 0; off < len; off += HUGE_SZ)
			((volatile char *)m->addr)[off] = 0;
		break;
	default:
		return false;
	}
	check_node(m);
	return true;
}

static void mem_put(struct mem *m)
{
	switch (m->kind) {
	case K_NUMABUF:
		numabuf_free(m->nb);
		break;
	case K_MALLOC:
	case K_MALLOC4K:
		munlock(m->addr, m->len);
		free(m->addr);
		break;
	case K_HUGE:
		munmap(m->addr, m->len);
		break;
	default:
		break;
	}
	m->addr = NULL;
}

/* ---- verbs ---- */

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_cq *cq_a, *cq_b;
static struct ibv_qp *qp_a, *qp_b;
static int port = 1;

#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static void open_device(const char *name)
{
	struct ibv_device **list;
	int n, i;

	list = ibv_get_device_list(&n);
	if (!list || !n)
		die("no RDMA device (soft-RoCE: tests/suite/rxe-up.sh)");
	for (i = 0; i < n && !ctx; i++)
		if (!name || !strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		die("cannot open RDMA device %s", name ? name : "(first)");
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd failed");
}

/* The first IPv4 GID (::ffff:a.b.c.d) of the port, else 0. */
static int pick_gid(int len)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	union ibv_gid gid;

	for (int i = 0; i < len; i++)
		if (!ibv_query_gid(ctx, (uint8_t)port, i, &gid) &&
		    !memcmp(gid.raw, v4, sizeof(v4)))
			return i;
	return 0;
}

static void qp_connect(struct ibv_qp *qp, uint32_t remote, int gidx,
		       const union ibv_gid *gid, enum ibv_mtu mtu, int rd)
{
	struct ibv_qp_attr a;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = (uint8_t)port;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		die("QP to INIT: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = remote;
	a.max_dest_rd_atomic = (uint8_t)rd;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = (uint8_t)gidx;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = (uint8_t)port;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("QP to RTR: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = (uint8_t)rd;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		die("QP to RTS: %s", strerror(errno));
}

/* Two RC QPs connected to each other; A issues, B's side is passive. */
static void setup_qps(int *mtu_bytes)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = DEPTH, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_device_attr da;
	struct ibv_port_attr pa;
	union ibv_gid gid;
	int gidx, rd;

	if (ibv_query_port(ctx, (uint8_t)port, &pa) || pa.state != IBV_PORT_ACTIVE)
		die("port %d is not active", port);
	if (ibv_query_device(ctx, &da))
		die("ibv_query_device failed");
	rd = da.max_qp_rd_atom < DEPTH ? da.max_qp_rd_atom : DEPTH;
	if (rd < 1)
		rd = 1;
	if (da.max_qp_init_rd_atom < rd)
		rd = da.max_qp_init_rd_atom > 0 ? da.max_qp_init_rd_atom : 1;
	gidx = pick_gid(pa.gid_tbl_len);
	if (ibv_query_gid(ctx, (uint8_t)port, gidx, &gid))
		die("no GID %d", gidx);
	cq_a = ibv_create_cq(ctx, DEPTH * 2, NULL, NULL, 0);
	cq_b = ibv_create_cq(ctx, 4, NULL, NULL, 0);
	if (!cq_a || !cq_b)
		die("ibv_create_cq failed");
	qa.send_cq = qa.recv_cq = cq_a;
	qp_a = ibv_create_qp(pd, &qa);
	qa.send_cq = qa.recv_cq = cq_b;
	qp_b = ibv_create_qp(pd, &qa);
	if (!qp_a || !qp_b)
		die("ibv_create_qp: %s", strerror(errno));
	qp_connect(qp_a, qp_b->qp_num, gidx, &gid, pa.active_mtu, rd);
	qp_connect(qp_b, qp_a->qp_num, gidx, &gid, pa.active_mtu, rd);
	*mtu_bytes = 128 << pa.active_mtu;
}

static void teardown(void)
{
	ibv_destroy_qp(qp_a);
	ibv_destroy_qp(qp_b);
	ibv_destroy_cq(cq_a);
	ibv_destroy_cq(cq_b);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
}

/*
 * Move @total bytes from @src to @dst with @op in @msg-byte messages, at
 * most DEPTH in flight, all issued by QP A: for WRITE @src is local and
 * @dst remote, for READ the other way round.  Returns the seconds.
 */
static double transfer(enum ibv_wr_opcode op, struct ibv_mr *local,
		       struct ibv_mr *remote, uint64_t total, uint64_t msg)
{
	uint64_t posted = 0, done = 0;
	struct ibv_wc wc[DEPTH];
	double t0 = mono_now(), deadline = t0 + 300;
	int inflight = 0;

	while (done < total) {
		while (inflight < DEPTH && posted < total) {
			uint64_t len = total - posted < msg ? total - posted : msg;
			struct ibv_sge sge = {
				.addr = (uintptr_t)local->addr + posted,
				.length = (uint32_t)len, .lkey = local->lkey,
			};
			struct ibv_send_wr wr = {
				.wr_id = len, .sg_list = &sge, .num_sge = 1,
				.opcode = op, .send_flags = IBV_SEND_SIGNALED,
				.wr.rdma = {
					.remote_addr = (uintptr_t)remote->addr + posted,
					.rkey = remote->rkey,
				},
			}, *bad;

			if (ibv_post_send(qp_a, &wr, &bad))
				die("ibv_post_send: %s", strerror(errno));
			posted += len;
			inflight++;
		}
		int n = ibv_poll_cq(cq_a, DEPTH, wc);

		if (n < 0)
			die("ibv_poll_cq failed");
		for (int i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS)
				die("RDMA %s: %s", op == IBV_WR_RDMA_READ ? "READ" : "WRITE",
				    ibv_wc_status_str(wc[i].status));
			done += wc[i].wr_id;
			inflight--;
		}
		if (!n && mono_now() > deadline)
			die("RDMA transfer stalled (%llu of %llu bytes)",
			    (unsigned long long)done, (unsigned long long)total);
	}
	return mono_now() - t0;
}

static void fill(void *p, uint64_t len, uint64_t seed)
{
	uint64_t *q = p, x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (uint64_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		q[i] = x;
	}
}

/* ---- the measurements ---- */

struct reg {
	double reg[NKINDS], dereg[NKINDS];	/* medians; < 0: none */
	double mlock[NKINDS];			/* malloc kinds; < 0: none */
	int n[NKINDS];
};

static void bench_reg(uint64_t size, int iters, double budget, struct reg *r)
{
	double rt[MAX_ITERS], dt[MAX_ITERS];

	for (int k = 0; k < NKINDS; k++) {
		struct ibv_mr *mr;
		struct mem m;
		double start;
		int i;

		r->reg[k] = r->dereg[k] = r->mlock[k] = -1;
		r->n[k] = 0;
		if (!mem_get(&m, (enum kind)k, size))
			continue;
		if (k == K_MALLOC || k == K_MALLOC4K)
			r->mlock[k] = m.mlock_s;
		/* Untimed: the first registration of a range pays for more. */
		mr = ibv_reg_mr(pd, m.addr, size, ACCESS);
		if (!mr)
			die("ibv_reg_mr of %llu bytes of %s memory: %s",
			    (unsigned long long)size, kind_name[k], strerror(errno));
		ibv_dereg_mr(mr);
		start = mono_now();
		for (i = 0; i < iters && (i < 3 || mono_now() - start < budget); i++) {
			double t = mono_now();

			mr = ibv_reg_mr(pd, m.addr, size, ACCESS);

			rt[i] = mono_now() - t;
			if (!mr)
				die("ibv_reg_mr of %llu bytes of %s memory: %s",
				    (unsigned long long)size, kind_name[k], strerror(errno));
			t = mono_now();
			if (ibv_dereg_mr(mr))
				die("ibv_dereg_mr failed");
			dt[i] = mono_now() - t;
		}
		r->n[k] = i;
		r->reg[k] = median_of(rt, i);
		r->dereg[k] = median_of(dt, i);
		mem_put(&m);
	}
}

struct xfer {
	double write[NKINDS], read[NKINDS];	/* MB/s, medians; < 0: none */
};

static void bench_xfer(uint64_t total, uint64_t msg, int reps, struct xfer *x)
{
	double w[MAX_ITERS], rd[MAX_ITERS];

	for (int k = 0; k < NKINDS; k++) {
		struct mem src, dst;
		struct ibv_mr *ms, *md;

		x->write[k] = x->read[k] = -1;
		if (!mem_get(&src, (enum kind)k, total))
			continue;
		if (!mem_get(&dst, (enum kind)k, total)) {
			mem_put(&src);
			continue;
		}
		ms = ibv_reg_mr(pd, src.addr, total, ACCESS);
		md = ibv_reg_mr(pd, dst.addr, total, ACCESS);
		if (!ms || !md)
			die("ibv_reg_mr of %s memory: %s", kind_name[k], strerror(errno));
		for (int i = 0; i < reps; i++) {
			fill(src.addr, total, (uint64_t)i + 1);
			memset(dst.addr, 0, total);
			w[i] = total / transfer(IBV_WR_RDMA_WRITE, ms, md, total, msg) / 1e6;
			if (memcmp(src.addr, dst.addr, total))
				die("RDMA WRITE of %s memory: the data differs", kind_name[k]);
			/* READ: A reads the source back into its (cleared) buffer. */
			memset(dst.addr, 0, total);
			rd[i] = total / transfer(IBV_WR_RDMA_READ, md, ms, total, msg) / 1e6;
			if (memcmp(src.addr, dst.addr, total))
				die("RDMA READ into %s memory: the data differs", kind_name[k]);
		}
		x->write[k] = median_of(w, reps);
		x->read[k] = median_of(rd, reps);
		ibv_dereg_mr(ms);
		ibv_dereg_mr(md);
		mem_put(&src);
		mem_put(&dst);
	}
}

/* ---- output ---- */

static const char *fmt_t(double s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 1e-3)
		snprintf(buf, len, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
	return buf;
}

static const char *fmt_ratio(double a, double b, char *buf, size_t len)
{
	if (a < 0 || b <= 0)
		snprintf(buf, len, "-");
	else if (a / b >= 100)
		snprintf(buf, len, "%.0fx", a / b);
	else
		snprintf(buf, len, "%.2fx", a / b);
	return buf;
}

/* One table: @what's medians per size and kind, and the ratios to numabuf. */
static void print_times(const char *what, const struct reg *regs,
			const uint64_t *size, int nsizes, int dereg)
{
	printf("\n## %s (median of n after one untimed; ratio = kind / numabuf)\n\n", what);
	printf("%-7s %11s", "size", "n");
	for (int k = 0; k < NKINDS; k++)
		printf(" %10s", kind_name[k]);
	for (int k = 1; k < NKINDS; k++) {
		char h[32];

		snprintf(h, sizeof(h), "%s/nb", k == K_MALLOC ? "ml" :
			 k == K_MALLOC4K ? "ml4k" : "hp");
		printf(" %8s", h);
	}
	printf("\n");
	for (int i = 0; i < nsizes; i++) {
		const struct reg *r = &regs[i];
		const double *v = dereg ? r->dereg : r->reg;
		char sz[SIZE_STRLEN], n[32], b[24];

		format_size(size[i], sz, sizeof(sz));
		snprintf(n, sizeof(n), "%d/%d/%d/%d", r->n[0], r->n[1], r->n[2], r->n[3]);
		printf("%-7s %11s", sz, n);
		for (int k = 0; k < NKINDS; k++)
			printf(" %10s", fmt_t(v[k], b, sizeof(b)));
		for (int k = 1; k < NKINDS; k++)
			printf(" %8s", fmt_ratio(v[k], v[K_NUMABUF], b, sizeof(b)));
		printf("\n");
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: numabuf-rdmabench [-d DEV] [-n NODE] [-s SIZE,...] [-i N] [-t SECONDS]\n"
		"                         [-T TOTAL] [-m MSG] [-r REPS] [--quick]\n"
		"  -d DEV      verbs device (default the first)\n"
		"  -n NODE     node of all memory (default 0)\n"
		"  -s SIZES    registration sizes (default 4K,64K,2M,64M,256M,1G)\n"
		"  -i N        registrations per size and kind, at most (default 9, max %d)\n"
		"  -t SECONDS  no new registration of a size and kind after this long\n"
		"              (default 5; at least 3)\n"
		"  -T TOTAL    bytes per transfer measurement (default 64M)\n"
		"  -m MSG      bytes per RDMA message (default 1M)\n"
		"  -r REPS     transfers per kind and operation (default 3, max %d)\n"
		"  --quick     -s 4K,2M,64M -i 3 -T 16M -r 1\n",
		MAX_ITERS, MAX_ITERS);
}

static const struct option longopts[] = {
	{ "quick", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	const char *sizes = "4K,64K,2M,64M,256M,1G", *dev = NULL;
	uint64_t size[MAX_SIZES], total = 64ULL << 20, msg = 1ULL << 20;
	int nsizes = 0, iters = 9, reps = 3, opt, mtu, ret;
	double budget = 5;
	struct reg regs[MAX_SIZES];
	struct xfer x;
	char *list, *tok, *save, thp[128] = "?", cpus[256];
	FILE *f;

	while ((opt = getopt_long(argc, argv, "d:n:s:i:t:T:m:r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'n':
			node = atoi(optarg);
			break;
		case 's':
			sizes = optarg;
			break;
		case 'i':
			iters = atoi(optarg);
			break;
		case 't':
			budget = atof(optarg);
			break;
		case 'T':
			if (parse_size(optarg, &total) || !total || total % 4096)
				die("-T: whole 4 KiB pages");
			break;
		case 'm':
			if (parse_size(optarg, &msg) || !msg || msg > (1ULL << 30))
				die("-m: 1 byte to 1 GiB");
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'q':
			sizes = "4K,2M,64M";
			iters = 3;
			total = 16ULL << 20;
			reps = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || iters < 1 || iters > MAX_ITERS || reps < 1 ||
	    reps > MAX_ITERS || node < 0 || node >= NODE_BITS) {
		usage(stderr);
		return 2;
	}
	list = strdup(sizes);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nsizes == MAX_SIZES || parse_size(tok, &size[nsizes]) ||
		    !size[nsizes] || size[nsizes] % 4096)
			die("bad size '%s' (whole 4 KiB pages, at most %d sizes)", tok, MAX_SIZES);
		nsizes++;
	}
	free(list);
	snprintf(hp_path, sizeof(hp_path),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages", node);
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(thp, sizeof(thp), f))
			snprintf(thp, sizeof(thp), "?");
		thp[strcspn(thp, "\n")] = 0;
		fclose(f);
	}

	pin_to_node(cpus, sizeof(cpus));
	ret = numabuf_open(&nbctx);
	if (ret < 0)
		die("open /dev/numabuf: %s", strerror(-ret));
	open_device(dev);
	setup_qps(&mtu);

	for (int i = 0; i < nsizes; i++)
		bench_reg(size[i], iters, budget, &regs[i]);
	bench_xfer(total, msg, reps, &x);

	teardown();
	numabuf_close(nbctx);
	hp_restore();

	printf("# numabuf-rdmabench: device %s, memory on node %d, on its CPUs %s, kernel ",
	       dev ? dev : "(first)", node, cpus);
	fflush(stdout);
	if (system("uname -r"))
		printf("\n");
	printf("# numabuf = /dev/numabuf buffer; malloc = posix_memalign + mbind + mlock\n"
	       "# (transparent huge pages: %s); malloc-4k = the same with\n"
	       "# MADV_NOHUGEPAGE; huge = MAP_HUGETLB 2 MiB pages bound to the node.\n"
	       "# Every page checked on node %d with move_pages(2).\n", thp, node);
	print_times("ibv_reg_mr", regs, size, nsizes, 0);
	print_times("ibv_dereg_mr", regs, size, nsizes, 1);
	printf("\n## mlock() of the malloc memory before its registration (once per size)\n\n");
	printf("%-7s %12s %12s\n", "size", "malloc", "malloc-4k");
	for (int i = 0; i < nsizes; i++) {
		char sz[SIZE_STRLEN], b[2][24];

		format_size(size[i], sz, sizeof(sz));
		printf("%-7s %12s %12s\n", sz, fmt_t(regs[i].mlock[K_MALLOC], b[0], 24),
		       fmt_t(regs[i].mlock[K_MALLOC4K], b[1], 24));
	}
	{
		char t[SIZE_STRLEN], m[SIZE_STRLEN];

		format_size(total, t, sizeof(t));
		format_size(msg, m, sizeof(m));
		printf("\n## RDMA throughput: %s in %s messages, %d in flight, MTU %d,\n"
		       "## median of %d; ratio = numabuf's MB/s / this kind's (above 1: slower)\n\n",
		       t, m, DEPTH, mtu, reps);
	}
	printf("%-10s %12s %12s %9s %9s\n", "memory", "write MB/s", "read MB/s",
	       "nb/write", "nb/read");
	for (int k = 0; k < NKINDS; k++) {
		char q[2][24];

		if (x.write[k] < 0) {
			printf("%-10s %12s %12s %9s %9s\n", kind_name[k], "-", "-", "-", "-");
			continue;
		}
		printf("%-10s %12.1f %12.1f %9s %9s\n", kind_name[k], x.write[k], x.read[k],
		       fmt_ratio(x.write[K_NUMABUF], x.write[k], q[0], 24),
		       fmt_ratio(x.read[K_NUMABUF], x.read[k], q[1], 24));
	}
	return 0;
}
