// SPDX-License-Identifier: MIT
/*
 * rdma-pingpong: RDMA from a numabuf buffer on a chosen NUMA node.
 *
 *   rdma-pingpong [--node N] [--size BYTES] [--iters N] [--dev NAME]
 *                 [--gid INDEX]
 *
 * What it shows, in the order a real program does it:
 *  1. numabuf_alloc(): one buffer, pinned and physically contiguous, on
 *     node N (the node of your NIC, usually: numabuf_alloc_near() finds it
 *     from the PCI address);
 *  2. move_pages(2) with no target nodes: the kernel's own word on where
 *     each page is, printed so you can see the placement;
 *  3. ibv_reg_mr() of that buffer: a verbs memory region like any other;
 *  4. two reliable-connected queue pairs on one device, connected to each
 *     other in this process (loopback: no second machine, no socket to
 *     exchange QP numbers over; a real program sends the same numbers to
 *     its peer);
 *  5. ping-pong with SEND / RECV: A sends "ping i" to B, B checks it and
 *     answers "pong i", A checks that.  Every byte of every message is
 *     compared with what was sent.
 * It prints the round-trip latency (median and 99th percentile) and the
 * throughput of the whole exchange, and exits 0 only if the buffer was
 * on the node asked for and every payload arrived intact.
 *
 * Build: cc rdma-pingpong.c $(pkg-config --cflags --libs numabuf libibverbs)
 * Run as root, or as a member of /dev/numabuf's group with RLIMIT_MEMLOCK
 * above the buffer size (ibv_reg_mr() charges it).  Without an RDMA NIC,
 * soft-RoCE will do: modprobe rdma_rxe; rdma link add rxe0 type rxe
 * netdev eth0 (tests/suite/rxe-up.sh does that on a dummy interface).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "numabuf.h"

/* One end of the loopback: a queue pair and the parts of the buffer it uses. */
struct end {
	const char *name;
	struct ibv_cq *send_cq;
	struct ibv_cq *recv_cq;
	struct ibv_qp *qp;
	char *tx;		/* what this end sends from */
	char *rx;		/* where this end receives into */
};

static struct option options[] = {
	{ "node", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "iters", required_argument, NULL, 'i' },
	{ "dev", required_argument, NULL, 'd' },
	{ "gid", required_argument, NULL, 'g' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: rdma-pingpong [--node N] [--size BYTES] [--iters N] [--dev NAME] [--gid INDEX]\n"
		"  --node   NUMA node of the buffer (default 0)\n"
		"  --size   bytes per message (default 4096)\n"
		"  --iters  round trips (default 1000)\n"
		"  --dev    verbs device (default the first one)\n"
		"  --gid    GID index (default the first IPv4 one, else 0)\n");
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The payload of message @iter from @who ('P' ping, 'Q' pong): bytes that
 * differ from one message to the next, so a stale or misplaced message
 * cannot pass for the right one.
 */
static void fill(char *p, size_t len, unsigned int iter, char who)
{
	uint32_t x = iter * 2654435761u + (unsigned char)who;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)x;
	}
}

/* Offset of the first byte that differs from fill()'s, or -1. */
static long check(const char *p, size_t len, unsigned int iter, char who)
{
	uint32_t x = iter * 2654435761u + (unsigned char)who;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (p[i] != (char)x)
			return (long)i;
	}
	return -1;
}

/*
 * The node of every page of [addr, addr + len), asked of the kernel with
 * move_pages(2) and no target nodes (which moves nothing).  Returns the
 * node if all pages are on one node, -2 if they are on several, or the
 * (negative) errno of a page that could not be looked up.
 */
static int pages_node(void *addr, size_t len)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE), n = (len + psz - 1) / psz;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int node = -ENOMEM;

	if (!pages || !status)
		goto out;
	for (size_t i = 0; i < n; i++)
		pages[i] = (char *)addr + i * psz;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0)) {
		node = -errno;
		goto out;
	}
	node = status[0];
	for (size_t i = 0; i < n; i++) {
		if (status[i] < 0) {
			node = status[i];
			break;
		}
		if (status[i] != node)
			node = -2;
	}
out:
	free(pages);
	free(status);
	return node;
}

/* The first RoCE GID that holds an IPv4 address (::ffff:a.b.c.d), else 0. */
static int pick_gid(struct ibv_context *ctx, int port, int len)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	union ibv_gid gid;

	for (int i = 0; i < len; i++)
		if (!ibv_query_gid(ctx, port, i, &gid) &&
		    !memcmp(gid.raw, v4, sizeof(v4)))
			return i;
	return 0;
}

/*
 * Take @qp through INIT, RTR and RTS towards the queue pair @remote_qpn
 * reached through @gid.  A program with a real peer gets remote_qpn and
 * the gid from it (over TCP, or rdma_cm does all of this).
 */
static int connect_qp(struct ibv_qp *qp, int port, int gid_index,
		      const union ibv_gid *gid, enum ibv_mtu mtu,
		      uint32_t remote_qpn)
{
	struct ibv_qp_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = (uint8_t)port;
	a.pkey_index = 0;
	a.qp_access_flags = 0;	/* SEND/RECV needs no remote access */
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		return ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = remote_qpn;
	a.rq_psn = 0;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	/* RoCE addresses by GID: a global route header is required. */
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = (uint8_t)gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = (uint8_t)port;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = 0;
	a.max_rd_atomic = 1;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

/* Wait (busy polling) for one completion on @cq; it must be a success. */
static int wait_one(struct ibv_cq *cq, const char *what, struct ibv_wc *wc)
{
	double deadline = now_us() + 10e6;
	int n;

	while ((n = ibv_poll_cq(cq, 1, wc)) == 0) {
		if (now_us() > deadline) {
			fprintf(stderr, "rdma-pingpong: no %s completion in 10 s\n",
				what);
			return -1;
		}
	}
	if (n < 0) {
		fprintf(stderr, "rdma-pingpong: ibv_poll_cq failed\n");
		return -1;
	}
	if (wc->status != IBV_WC_SUCCESS) {
		fprintf(stderr, "rdma-pingpong: %s completion: %s\n", what,
			ibv_wc_status_str(wc->status));
		return -1;
	}
	return 0;
}

static int post_recv(struct end *e, struct ibv_mr *mr, size_t size)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)e->rx, .length = (uint32_t)size,
		.lkey = mr->lkey,
	};
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(e->qp, &wr, &bad);
}

static int post_send(struct end *e, struct ibv_mr *mr, size_t size)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)e->tx, .length = (uint32_t)size,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	return ibv_post_send(e->qp, &wr, &bad);
}

/*
 * One message from @from to @to, message @iter of kind @who: fill, send,
 * wait for both completions, check the bytes at the receiver, and post
 * the receiver's next receive.  Returns 0 if the payload arrived intact.
 */
static int one_way(struct end *from, struct end *to, struct ibv_mr *mr,
		   size_t size, unsigned int iter, char who)
{
	struct ibv_wc wc;
	long bad;

	fill(from->tx, size, iter, who);
	if (post_send(from, mr, size)) {
		fprintf(stderr, "rdma-pingpong: ibv_post_send failed\n");
		return -1;
	}
	if (wait_one(to->recv_cq, "receive", &wc))
		return -1;
	if (wc.byte_len != size) {
		fprintf(stderr, "rdma-pingpong: message %u to %s: %u bytes, sent %zu\n",
			iter, to->name, wc.byte_len, size);
		return -1;
	}
	bad = check(to->rx, size, iter, who);
	if (bad >= 0) {
		fprintf(stderr, "rdma-pingpong: message %u to %s: wrong byte at offset %ld\n",
			iter, to->name, bad);
		return -1;
	}
	/* Scribble on the receive area so the next check cannot see old data. */
	memset(to->rx, 0, size);
	if (post_recv(to, mr, size)) {
		fprintf(stderr, "rdma-pingpong: ibv_post_recv failed\n");
		return -1;
	}
	return wait_one(from->send_cq, "send", &wc);
}

int main(int argc, char **argv)
{
	const char *devname = NULL;
	int node = 0, gid_index = -1, opt, ret = 1, n, port = 1, pnode;
	unsigned long long size = 4096, iters = 1000, ok = 0;
	struct ibv_device **list = NULL;
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_mr *mr = NULL;
	struct ibv_port_attr pattr;
	union ibv_gid gid;
	struct numabuf_ctx *nb = NULL;
	struct numabuf *buf = NULL;
	struct end a = { .name = "A" }, b = { .name = "B" }, *ends[2] = { &a, &b };
	double *rtt = NULL, t0, elapsed;
	char *mem;

	while ((opt = getopt_long(argc, argv, "n:s:i:d:g:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			node = atoi(optarg);
			break;
		case 's':
			size = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			iters = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			devname = optarg;
			break;
		case 'g':
			gid_index = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || size == 0 || size > (1ULL << 30) || iters == 0 ||
	    iters > 100000000) {
		usage(stderr);
		return 2;
	}

	/*
	 * 1. The buffer: four areas of @size bytes, A's send and receive
	 * areas and B's.  One allocation, one memory region.
	 */
	ret = numabuf_open(&nb);
	if (ret < 0) {
		fprintf(stderr, "rdma-pingpong: open /dev/numabuf: %s\n", strerror(-ret));
		return 1;
	}
	ret = numabuf_alloc(nb, 4 * size, node, 0, &buf);
	if (ret < 0) {
		fprintf(stderr, "rdma-pingpong: %llu bytes on node %d: %s\n",
			4 * size, node, strerror(-ret));
		ret = 1;
		goto out;
	}
	ret = 1;
	mem = numabuf_addr(buf);
	a.tx = mem;
	a.rx = mem + size;
	b.tx = mem + 2 * size;
	b.rx = mem + 3 * size;

	/* 2. Where the pages are, as the kernel's page tables say. */
	pnode = pages_node(mem, numabuf_size(buf));
	printf("buffer: %zu bytes at %p, node %d asked, numabuf says %d, move_pages says %d\n",
	       numabuf_size(buf), (void *)mem, node, numabuf_node(buf), pnode);
	if (pnode != node) {
		fprintf(stderr, "rdma-pingpong: the buffer is not on node %d\n", node);
		goto out;
	}

	/* 3. The verbs device, a protection domain and the memory region. */
	list = ibv_get_device_list(&n);
	if (!list || n == 0) {
		fprintf(stderr, "rdma-pingpong: no RDMA device\n");
		goto out;
	}
	for (int i = 0; i < n && !ctx; i++)
		if (!devname || !strcmp(ibv_get_device_name(list[i]), devname))
			ctx = ibv_open_device(list[i]);
	if (!ctx) {
		fprintf(stderr, "rdma-pingpong: cannot open device %s\n",
			devname ? devname : "(first)");
		goto out;
	}
	if (ibv_query_port(ctx, (uint8_t)port, &pattr) ||
	    pattr.state != IBV_PORT_ACTIVE) {
		fprintf(stderr, "rdma-pingpong: port %d of %s is not active\n",
			port, ibv_get_device_name(ctx->device));
		goto out;
	}
	if (gid_index < 0)
		gid_index = pick_gid(ctx, port, pattr.gid_tbl_len);
	if (ibv_query_gid(ctx, (uint8_t)port, gid_index, &gid)) {
		fprintf(stderr, "rdma-pingpong: no GID %d\n", gid_index);
		goto out;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		fprintf(stderr, "rdma-pingpong: ibv_alloc_pd failed\n");
		goto out;
	}
	/* Local access is all SEND/RECV needs; add REMOTE_* for RDMA ops. */
	mr = ibv_reg_mr(pd, mem, numabuf_size(buf), IBV_ACCESS_LOCAL_WRITE);
	if (!mr) {
		fprintf(stderr, "rdma-pingpong: ibv_reg_mr: %s\n", strerror(errno));
		goto out;
	}
	printf("device: %s port %d gid %d, mtu %d\n",
	       ibv_get_device_name(ctx->device), port, gid_index,
	       128 << pattr.active_mtu);

	/* 4. Two RC queue pairs, each with a CQ for sends and one for receives. */
	for (int i = 0; i < 2; i++) {
		struct ibv_qp_init_attr qa = {
			.qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 4, .max_recv_wr = 4,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};
		struct end *e = ends[i];

		e->send_cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
		e->recv_cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
		if (!e->send_cq || !e->recv_cq) {
			fprintf(stderr, "rdma-pingpong: ibv_create_cq failed\n");
			goto out;
		}
		qa.send_cq = e->send_cq;
		qa.recv_cq = e->recv_cq;
		e->qp = ibv_create_qp(pd, &qa);
		if (!e->qp) {
			fprintf(stderr, "rdma-pingpong: ibv_create_qp: %s\n", strerror(errno));
			goto out;
		}
	}
	/* Both ends are here: each one's peer is the other (same GID). */
	if (connect_qp(a.qp, port, gid_index, &gid, pattr.active_mtu, b.qp->qp_num) ||
	    connect_qp(b.qp, port, gid_index, &gid, pattr.active_mtu, a.qp->qp_num)) {
		fprintf(stderr, "rdma-pingpong: cannot connect the queue pairs: %s\n",
			strerror(errno));
		goto out;
	}
	/* A receive must be posted before the message it takes arrives. */
	if (post_recv(&a, mr, size) || post_recv(&b, mr, size)) {
		fprintf(stderr, "rdma-pingpong: ibv_post_recv failed\n");
		goto out;
	}

	/* 5. Ping-pong: every round trip timed, every message checked. */
	rtt = calloc(iters, sizeof(*rtt));
	if (!rtt)
		goto out;
	t0 = now_us();
	for (unsigned long long i = 0; i < iters; i++) {
		double t = now_us();

		if (one_way(&a, &b, mr, size, (unsigned int)i, 'P') ||
		    one_way(&b, &a, mr, size, (unsigned int)i, 'Q'))
			break;
		rtt[i] = now_us() - t;
		ok++;
	}
	elapsed = now_us() - t0;

	printf("payloads: %llu of %llu round trips intact (%llu bytes each way)\n",
	       ok, iters, size);
	if (ok == iters) {
		qsort(rtt, iters, sizeof(*rtt), cmp_double);
		printf("latency: round trip median %.1f us, p99 %.1f us\n",
		       rtt[iters / 2], rtt[(iters * 99) / 100]);
		/* Both directions' bytes, including the checking. */
		printf("throughput: %.1f MB/s\n", 2.0 * size * iters / elapsed);
		ret = 0;
	}

out:
	free(rtt);
	for (int i = 0; i < 2; i++) {
		if (ends[i]->qp)
			ibv_destroy_qp(ends[i]->qp);
		if (ends[i]->send_cq)
			ibv_destroy_cq(ends[i]->send_cq);
		if (ends[i]->recv_cq)
			ibv_destroy_cq(ends[i]->recv_cq);
	}
	/* Deregister before the memory goes: the MR pins it until then. */
	if (mr)
		ibv_dereg_mr(mr);
	if (pd)
		ibv_dealloc_pd(pd);
	if (ctx)
		ibv_close_device(ctx);
	if (list)
		ibv_free_device_list(list);
	numabuf_free(buf);
	numabuf_close(nb);
	return ret;
}
