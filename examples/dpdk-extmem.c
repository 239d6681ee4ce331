// SPDX-License-Identifier: MIT
/*
 * dpdk-extmem: packets through DPDK ports with their buffers in numabuf
 * memory.
 *
 * A numabuf buffer is pinned and physically contiguous, which is what
 * DPDK wants of "external memory" (memory DPDK did not allocate itself):
 *
 *   1. allocate the buffer on the ports' node with libnumabuf;
 *   2. build the IOVA table DPDK needs, one entry per page: in IOVA-as-VA
 *      mode the IOVAs are the virtual addresses, in IOVA-as-PA mode the
 *      physical ones (numabuf_phys(), which needs CAP_SYS_ADMIN; the
 *      buffer is contiguous, so the first page's address gives them all);
 *   3. rte_extmem_register() it (this maps nothing for any device);
 *   4. rte_dev_dma_map() it for the ports' device (with vfio-pci: a
 *      VFIO_IOMMU_MAP_DMA in DPDK's container, which all its vfio-pci
 *      devices share);
 *   5. make an mbuf pool whose data buffers are in it
 *      (rte_pktmbuf_pool_create_extbuf());
 *   6. use it: here port 0 sends numbered packets to port 1 and port 1 to
 *      port 0, and every byte that arrives is checked;
 *   7. undo it all in reverse order.
 *
 * usage: dpdk-extmem [EAL options] -- [--node N] [--size SIZE] [--packets N]
 *
 *   --node N      node of the buffer (default: port 0's node, or the
 *                 caller's when the port has none)
 *   --size SIZE   bytes of the buffer, suffix K, M or G (default 4M)
 *   --packets N   packets in each direction (default 256)
 *   --stop        stop (SIGSTOP) once the buffer is registered and mapped,
 *                 before any packet, so a debugger or a test can look at
 *                 the process; SIGCONT goes on
 *
 * It needs two ports that see each other's frames (cabled together, or two
 * virtual ports on one switch), e.g. with both bound to vfio-pci:
 *
 *   dpdk-extmem -l 0 --in-memory -a 0000:00:12.0 -a 0000:00:13.0 -- --node 0
 *
 * It prints "iova mode: VA" or "iova mode: PA", the buffer, what each
 * direction sent and received, and exits 0 only if every packet arrived
 * intact, in the buffer, and everything was undone without error.
 *
 * Build: cc dpdk-extmem.c $(pkg-config --cflags --libs numabuf libdpdk)
 * (the DPDK calls are those of DPDK 22.11; rte_dev_dma_map() is still
 * experimental there, hence ALLOW_EXPERIMENTAL_API).
 */
#define _GNU_SOURCE
#define ALLOW_EXPERIMENTAL_API
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <numabuf.h>

/* numabuf maps buffers with 4 KiB pages: that is the page size DPDK gets. */
#define PAGE_SZ		4096
/* An EtherType for local experiments (IEEE 802), and our packets' mark. */
#define ETHERTYPE	0x88b5
#define MAGIC		0x6e627566	/* "nbuf" */
#define RING_SIZE	256
#define BURST		32
/* Frame lengths (without CRC): 64 up to 64 + LEN_SPAN - 1. */
#define LEN_SPAN	1400

struct payload_hdr {
	rte_be32_t magic;
	rte_be32_t seq;
	rte_be16_t dir;
	rte_be16_t len;		/* bytes of the whole frame */
} __rte_packed;

/* The buffer as DPDK sees it. */
struct extmem {
	struct numabuf *buf;
	char *va;
	size_t len;
	rte_iova_t iova;	/* IOVA of the first byte */
	struct rte_device *dev;	/* the device it is DMA-mapped for */
	int registered;
};

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || !v)
		rte_exit(EXIT_FAILURE, "bad size '%s'\n", s);
	return v;
}

static unsigned int frame_len(uint32_t seq)
{
	return 64 + (seq * 37) % LEN_SPAN;
}

static uint8_t pattern(uint32_t seq, unsigned int dir, unsigned int i)
{
	return (uint8_t)(seq * 131 + i * 7 + dir * 29);
}

static int in_buffer(const struct extmem *em, const void *p, size_t n)
{
	const char *c = p;

	return c >= em->va && c + n <= em->va + em->len;
}

/* One frame of @seq from @src to @dst, in an mbuf of @pool. */
static struct rte_mbuf *make_frame(struct rte_mempool *pool,
				   const struct rte_ether_addr *src,
				   const struct rte_ether_addr *dst,
				   unsigned int dir, uint32_t seq)
{
	unsigned int len = frame_len(seq), i;
	struct rte_ether_hdr *eth;
	struct payload_hdr *ph;
	struct rte_mbuf *m;
	uint8_t *data;

	m = rte_pktmbuf_alloc(pool);
	if (!m)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (!eth) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(ETHERTYPE);
	ph = (struct payload_hdr *)(eth + 1);
	ph->magic = rte_cpu_to_be_32(MAGIC);
	ph->seq = rte_cpu_to_be_32(seq);
	ph->dir = rte_cpu_to_be_16(dir);
	ph->len = rte_cpu_to_be_16(len);
	data = (uint8_t *)(ph + 1);
	for (i = 0; i < len - sizeof(*eth) - sizeof(*ph); i++)
		data[i] = pattern(seq, dir, i);
	return m;
}

/*
 * Check a received frame: ours, in this direction, not seen before, every
 * byte as sent, and its data in the numabuf buffer.  Returns 1 if intact.
 */
static int check_frame(const struct extmem *em, struct rte_mbuf *m,
		       unsigned int dir, uint32_t count, uint8_t *seen)
{
	const struct rte_ether_hdr *eth;
	const struct payload_hdr *ph;
	const uint8_t *data;
	unsigned int len, i;
	uint32_t seq;

	if (m->nb_segs != 1 || m->pkt_len < 64) {
		printf("  frame of %u bytes in %u segments\n", m->pkt_len,
		       m->nb_segs);
		return 0;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* The device wrote the frame into numabuf memory. */
	if (!in_buffer(em, eth, m->data_len) ||
	    m->buf_iova < em->iova || m->buf_iova >= em->iova + em->len) {
		printf("  frame at %p (IOVA %#" PRIx64 ") is outside the buffer\n",
		       (const void *)eth, (uint64_t)m->buf_iova);
		return 0;
	}
	if (eth->ether_type != rte_cpu_to_be_16(ETHERTYPE))
		return 0;	/* not ours (nothing else should be there) */
	ph = (const struct payload_hdr *)(eth + 1);
	seq = rte_be_to_cpu_32(ph->seq);
	len = rte_be_to_cpu_16(ph->len);
	if (ph->magic != rte_cpu_to_be_32(MAGIC) ||
	    rte_be_to_cpu_16(ph->dir) != dir || seq >= count ||
	    len != frame_len(seq) || m->pkt_len != len) {
		printf("  bad header: seq %u dir %u len %u (frame %u bytes)\n",
		       seq, rte_be_to_cpu_16(ph->dir), len, m->pkt_len);
		return 0;
	}
	if (seen[seq]++) {
		printf("  seq %u received twice\n", seq);
		return 0;
	}
	data = (const uint8_t *)(ph + 1);
	for (i = 0; i < len - sizeof(*eth) - sizeof(*ph); i++) {
		if (data[i] != pattern(seq, dir, i)) {
			printf("  seq %u byte %u is %#x, sent %#x\n", seq, i,
			       data[i], pattern(seq, dir, i));
			return 0;
		}
	}
	return 1;
}

/*
 * Send @count frames from port @tx to port @rx in bursts, receiving as they
 * come.  Returns the number that arrived intact.
 */
static uint32_t transfer(const struct extmem *em, struct rte_mempool *pool,
			 uint16_t tx, uint16_t rx, unsigned int dir,
			 uint32_t count)
{
	struct rte_ether_addr src, dst;
	struct rte_mbuf *pkts[BURST];
	uint32_t sent = 0, received = 0, intact = 0;
	uint64_t deadline;
	uint8_t *seen;
	uint16_t i, n, k;

	seen = calloc(count, 1);
	if (!seen)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	rte_eth_macaddr_get(tx, &src);
	rte_eth_macaddr_get(rx, &dst);
	/* Generous: an emulated machine on a busy host is slow. */
	deadline = rte_get_timer_cycles() + 30 * rte_get_timer_hz();
	while (received < count && rte_get_timer_cycles() < deadline) {
		if (sent < count && sent - received < BURST) {
			n = RTE_MIN((uint32_t)BURST, count - sent);
			for (i = 0; i < n; i++) {
				pkts[i] = make_frame(pool, &src, &dst, dir,
						     sent + i);
				if (!pkts[i])
					break;
				/* The CPU wrote the frame into numabuf memory. */
				if (!in_buffer(em, rte_pktmbuf_mtod(pkts[i], void *),
					       pkts[i]->data_len))
					rte_exit(EXIT_FAILURE,
						 "an mbuf of the pool is outside the buffer\n");
			}
			k = rte_eth_tx_burst(tx, 0, pkts, i);
			/* What the port did not take is sent again later. */
			rte_pktmbuf_free_bulk(pkts + k, i - k);
			sent += k;
		}
		n = rte_eth_rx_burst(rx, 0, pkts, BURST);
		for (i = 0; i < n; i++) {
			received++;
			intact += check_frame(em, pkts[i], dir, count, seen);
			rte_pktmbuf_free(pkts[i]);
		}
	}
	printf("port %u -> port %u: sent %u, received %u, intact %u of %u\n",
	       tx, rx, sent, received, intact, count);
	free(seen);
	return intact;
}

static int port_setup(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int ret, socket = rte_eth_dev_socket_id(port);

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret)
		return ret;
	ret = rte_eth_rx_queue_setup(port, 0, RING_SIZE, socket, NULL, pool);
	if (ret)
		return ret;
	ret = rte_eth_tx_queue_setup(port, 0, RING_SIZE, socket, NULL);
	if (ret)
		return ret;
	return rte_eth_dev_start(port);
}

/* The rte_device of a port, which rte_dev_dma_map() wants. */
static struct rte_device *port_device(uint16_t port)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(port, &info))
		return NULL;
	return info.device;
}

/* Steps 1-4: allocate, register with DPDK, map for both ports. */
static void extmem_setup(struct extmem *em, struct numabuf_ctx *ctx,
			 size_t len, int node)
{
	rte_iova_t *iovas;
	unsigned int n_pages, i;
	uint64_t phys;
	int ret;

	memset(em, 0, sizeof(*em));
	ret = numabuf_alloc(ctx, len, node, 0, &em->buf);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "numabuf_alloc %zu bytes on node %d: %s\n",
			 len, node, strerror(-ret));
	em->va = numabuf_addr(em->buf);
	em->len = numabuf_size(em->buf);
	n_pages = em->len / PAGE_SZ;

	if (rte_eal_iova_mode() == RTE_IOVA_PA) {
		/* The device sees physical addresses. */
		ret = numabuf_phys(em->buf, &phys);
		if (ret < 0 || !phys)
			rte_exit(EXIT_FAILURE,
				 "IOVA as PA needs the buffer's physical address, which numabuf gives only with CAP_SYS_ADMIN\n");
		em->iova = phys;
	} else {
		/* The IOMMU maps the buffer at its virtual address. */
		em->iova = (uintptr_t)em->va;
	}
	iovas = calloc(n_pages, sizeof(*iovas));
	if (!iovas)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	for (i = 0; i < n_pages; i++)
		iovas[i] = em->iova + (uint64_t)i * PAGE_SZ;
	printf("buffer: node %d, %zu bytes at %p, iova %#" PRIx64 "\n",
	       numabuf_node(em->buf), em->len, (void *)em->va,
	       (uint64_t)em->iova);

	if (rte_extmem_register(em->va, em->len, iovas, n_pages, PAGE_SZ))
		rte_exit(EXIT_FAILURE, "rte_extmem_register: %s\n",
			 rte_strerror(rte_errno));
	em->registered = 1;
	free(iovas);

	/*
	 * One range covers the buffer: it is contiguous in both VA and IOVA.
	 *
	 * One call for both ports.  With vfio-pci, DPDK puts every device of
	 * the process in its one default VFIO container, whose IOMMU mappings
	 * all of them share: mapping for port 0's device maps for port 1's
	 * too.  (A second rte_dev_dma_map() of the same range for port 1
	 * succeeds in DPDK 22.11 -- the kernel answers EEXIST, which DPDK
	 * takes as done -- but only one mapping exists, and the second
	 * rte_dev_dma_unmap() fails with EINVAL.)  A device whose driver maps
	 * DMA itself (rte_dev_dma_map() reaches the PMD's own dma_map, as
	 * with mlx5) needs a call of its own.
	 */
	em->dev = port_device(0);
	if (!em->dev || rte_dev_dma_map(em->dev, em->va, em->iova, em->len))
		rte_exit(EXIT_FAILURE,
			 "rte_dev_dma_map of IOVA %#" PRIx64 ": %s (can the IOMMU address it?)\n",
			 (uint64_t)em->iova, rte_strerror(rte_errno));
}

/*
 * Unmap the buffer for the ports' devices: after their DMA has stopped,
 * before rte_eth_dev_close(), which (virtio, and other PMDs with vfio-pci)
 * releases the device from DPDK's VFIO container, after which there is
 * nothing left to unmap from.  Returns the number of calls that failed.
 */
static int extmem_unmap(struct extmem *em)
{
	int errors = 0;

	if (em->dev && rte_dev_dma_unmap(em->dev, em->va, em->iova, em->len)) {
		printf("rte_dev_dma_unmap: %s\n", rte_strerror(rte_errno));
		errors++;
	}
	em->dev = NULL;
	return errors;
}

/* The rest of step 7 for the buffer.  Returns the number of failures. */
static int extmem_teardown(struct extmem *em)
{
	int errors = 0, ret;

	if (em->registered && rte_extmem_unregister(em->va, em->len)) {
		printf("rte_extmem_unregister: %s\n", rte_strerror(rte_errno));
		errors++;
	}
	ret = numabuf_free(em->buf);
	if (ret < 0) {
		printf("numabuf_free: %s\n", strerror(-ret));
		errors++;
	}
	return errors;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "packets", required_argument, NULL, 'p' },
		{ "stop", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct rte_pktmbuf_extmem ext;
	struct rte_mempool *pool;
	struct numabuf_ctx *ctx;
	unsigned long long size = 4 << 20;
	unsigned int n_mbufs;
	uint32_t packets = 256, intact[2];
	struct extmem em;
	int node = NUMABUF_NODE_LOCAL, node_given = 0, stop = 0, ret, c;
	int errors = 0;
	uint16_t port;

	/* Line by line, also into a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "rte_eal_init: %s\n", rte_strerror(rte_errno));
	argc -= ret;
	argv += ret;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = atoi(optarg);
			node_given = 1;
			break;
		case 's':
			size = parse_size(optarg);
			break;
		case 'p':
			packets = strtoul(optarg, NULL, 0);
			if (!packets || packets > 1000000)
				rte_exit(EXIT_FAILURE, "--packets: 1 to 1000000\n");
			break;
		case 'S':
			stop = 1;
			break;
		default:
			rte_exit(EXIT_FAILURE,
				 "usage: dpdk-extmem [EAL options] -- [--node N] [--size SIZE] [--packets N] [--stop]\n");
		}
	}
	printf("iova mode: %s\n", rte_eal_iova_mode() == RTE_IOVA_PA ? "PA" :
	       rte_eal_iova_mode() == RTE_IOVA_VA ? "VA" : "DC");
	if (rte_eth_dev_count_avail() < 2)
		rte_exit(EXIT_FAILURE, "need two ports, DPDK found %u\n",
			 rte_eth_dev_count_avail());
	/* Near the ports: the node of port 0 unless told otherwise. */
	if (!node_given && rte_eth_dev_socket_id(0) >= 0)
		node = rte_eth_dev_socket_id(0);

	ret = numabuf_open(&ctx);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "numabuf_open: %s\n", strerror(-ret));
	extmem_setup(&em, ctx, size, node);

	/*
	 * Step 5: mbuf headers from DPDK's own memory, their data buffers
	 * (elt_size bytes each) carved out of the numabuf buffer.
	 */
	memset(&ext, 0, sizeof(ext));
	ext.buf_ptr = em.va;
	ext.buf_iova = em.iova;
	ext.buf_len = em.len;
	ext.elt_size = RTE_MBUF_DEFAULT_BUF_SIZE;
	n_mbufs = em.len / ext.elt_size;
	if (n_mbufs < 2 * RING_SIZE + 2 * BURST)
		rte_exit(EXIT_FAILURE, "%zu bytes hold %u mbufs, need %u\n",
			 em.len, n_mbufs, 2 * RING_SIZE + 2 * BURST);
	pool = rte_pktmbuf_pool_create_extbuf("numabuf", n_mbufs, 0, 0,
					      ext.elt_size, SOCKET_ID_ANY,
					      &ext, 1);
	if (!pool)
		rte_exit(EXIT_FAILURE, "rte_pktmbuf_pool_create_extbuf: %s\n",
			 rte_strerror(rte_errno));
	printf("mbuf pool: %u mbufs of %u bytes in the buffer\n", n_mbufs,
	       ext.elt_size);

	if (stop)
		raise(SIGSTOP);

	for (port = 0; port < 2; port++) {
		ret = port_setup(port, pool);
		if (ret)
			rte_exit(EXIT_FAILURE, "port %u setup: %s\n", port,
				 rte_strerror(-ret));
	}

	/* Step 6. */
	intact[0] = transfer(&em, pool, 0, 1, 0, packets);
	intact[1] = transfer(&em, pool, 1, 0, 1, packets);

	/*
	 * Step 7: stop the ports, unmap the buffer for their devices, close
	 * them (their rings give their mbufs back), free the pool, then
	 * unregister and free the buffer.
	 */
	for (port = 0; port < 2; port++) {
		ret = rte_eth_dev_stop(port);
		if (ret) {
			printf("rte_eth_dev_stop port %u: %s\n", port,
			       rte_strerror(-ret));
			errors++;
		}
	}
	errors += extmem_unmap(&em);
	for (port = 0; port < 2; port++) {
		ret = rte_eth_dev_close(port);
		if (ret) {
			printf("rte_eth_dev_close port %u: %s\n", port,
			       rte_strerror(-ret));
			errors++;
		}
	}
	if (rte_mempool_in_use_count(pool)) {
		printf("%u mbufs not back in the pool\n",
		       rte_mempool_in_use_count(pool));
		errors++;
	}
	rte_mempool_free(pool);
	errors += extmem_teardown(&em);
	numabuf_close(ctx);
	if (rte_eal_cleanup()) {
		printf("rte_eal_cleanup failed\n");
		errors++;
	}
	printf("%s: %u + %u of %u + %u packets intact, %d teardown errors\n",
	       intact[0] == packets && intact[1] == packets && !errors ?
	       "ok" : "FAILED", intact[0], intact[1], packets, packets, errors);
	return intact[0] == packets && intact[1] == packets && !errors ?
		EXIT_SUCCESS : EXIT_FAILURE;
}
