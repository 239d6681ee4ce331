// SPDX-License-Identifier: MIT
/*
 * basics: the libnumabuf C API from open to close.
 *
 *   basics [--node N] [--size SIZE]
 *
 * Opens /dev/numabuf, allocates SIZE bytes (default 4M; K, M, G suffixes)
 * on node N (default: the node of the CPU we run on), writes and reads the
 * memory, asks the kernel what it knows about the buffer, checks where the
 * pages really are (move_pages(2)) and whether they are physically
 * contiguous (/proc/self/pagemap, which shows frame numbers only to
 * root), lists it over numabuf's netlink family, and frees it.
 *
 * Build: cc basics.c $(pkg-config --cflags --libs numabuf)
 * Exit status: 0 when everything worked, 1 otherwise (with a message).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <numabuf.h>

/*
 * libnumabuf returns -errno and never prints: turn the common errors into
 * advice a user can act on.
 */
static void explain(const char *what, int err, int node)
{
	fprintf(stderr, "basics: %s: %s", what, strerror(-err));
	switch (err) {
	case -ENOENT:
		fprintf(stderr, " (is the module loaded? modprobe numabuf)");
		break;
	case -EACCES:
		fprintf(stderr, " (ask to be added to the device's group, numabuf)");
		break;
	case -ENODEV:
		fprintf(stderr, " (node %d is not online: see numabufctl nodes)", node);
		break;
	case -EINVAL:
		fprintf(stderr, " (bad size or node %d)", node);
		break;
	case -ENOMEM:
		fprintf(stderr, " (no contiguous room on node %d, or over your memlock limit: ulimit -l)",
			node);
		break;
	case -EPERM:
		fprintf(stderr, " (above 4 MiB needs root or a pool: numabufctl pool set NODE SIZE)");
		break;
	case -EDQUOT:
		fprintf(stderr, " (over a numabuf limit: numabufctl stats)");
		break;
	}
	fputc('\n', stderr);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	}
	if (*end || !v)
		return -1;
	*out = (size_t)v;
	return 0;
}

/*
 * Where each page is, asked of the kernel's memory manager rather than of
 * numabuf: move_pages(2) with no target nodes only reports.  (libnuma's
 * <numaif.h> wraps it; the raw call keeps this example free of -lnuma.)
 */
static int check_nodes(char *addr, size_t size, int node)
{
	size_t n = size / 4096, i, bad = 0;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int ret = -1;

	if (!pages || !status)
		goto out;
	for (i = 0; i < n; i++)
		pages[i] = addr + i * 4096;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0)) {
		perror("basics: move_pages");
		goto out;
	}
	for (i = 0; i < n; i++)
		bad += status[i] != node;
	printf("move_pages: %zu of %zu pages on node %d\n", n - bad, n, node);
	ret = bad ? -1 : 0;
out:
	free(pages);
	free(status);
	return ret;
}

/*
 * /proc/self/pagemap: one 64-bit entry per virtual page, the frame number
 * in bits 0-54 -- zeroed unless we have CAP_SYS_ADMIN.  Consecutive frames
 * mean physically contiguous memory.
 */
static void check_contiguous(char *addr, size_t size, uint64_t phys)
{
	size_t n = size / 4096, i;
	uint64_t e, first = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	for (i = 0; fd >= 0 && i < n; i++) {
		off_t off = (off_t)((uintptr_t)(addr + i * 4096) / 4096 * 8);

		if (pread(fd, &e, 8, off) != 8)
			break;
		e &= (1ULL << 55) - 1;
		if (!e) {
			printf("pagemap: frame numbers hidden (run as root to see them)\n");
			close(fd);
			return;
		}
		if (i == 0)
			first = e;
		else if (e != first + i)
			break;
	}
	if (fd < 0 || i < n) {
		printf("pagemap: %s\n", fd < 0 ? strerror(errno) :
		       "NOT physically contiguous");
	} else {
		printf("pagemap: %zu pages, frames %#" PRIx64 "-%#" PRIx64
		       ", physically contiguous%s\n", n, first, first + n - 1,
		       first * 4096 == phys ? ", at numabuf_phys()" : "");
	}
	if (fd >= 0)
		close(fd);
}

/* numabuf_nl_bufs() calls this for each buffer of ours. */
static int show_buf(const struct numabuf_bufstat *st, void *arg)
{
	(void)arg;
	printf("netlink: buffer id %u, %" PRIu64 " bytes on node %d, %u mapping(s), pid %u (%s)\n",
	       st->id, st->size, st->node, st->map_count, st->pid, st->comm);
	return 0;
}

/* The control plane needs no device: a failure here is only reported. */
static void show_netlink(int node)
{
	struct numabuf_buf_filter mine = {
		.match = NUMABUF_MATCH_PID, .pid = getpid(),
	};
	struct numabuf_nodestat st;
	struct numabuf_nl *nl;
	int err = numabuf_nl_open(&nl);

	if (err) {
		printf("netlink: %s\n", strerror(-err));
		return;
	}
	err = numabuf_nl_bufs(nl, &mine, show_buf, NULL);
	if (err < 0)
		printf("netlink: buf-get: %s\n", strerror(-err));
	err = numabuf_nl_node_get(nl, node, &st);
	if (!err)
		printf("netlink: node %d: %" PRIu64 " buffer(s), %" PRIu64
		       " bytes in numabuf, %" PRIu64 " MiB free\n", node,
		       st.buffers, st.bytes, st.mem_free >> 20);
	numabuf_nl_close(nl);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int node = NUMABUF_NODE_LOCAL, c, err, ret = 1;
	struct numabuf_bufinfo info;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	size_t size = 4 << 20, i;
	uint64_t phys;
	char *p;

	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = atoi(optarg);
			break;
		case 's':
			if (parse_size(optarg, &size)) {
				fprintf(stderr, "basics: bad size '%s'\n", optarg);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: basics [--node N] [--size SIZE]\n");
			return c == 'h' ? 0 : 1;
		}
	}

	/* 1. A context: one open file of /dev/numabuf. */
	err = numabuf_open(&ctx);
	if (err) {
		explain("open " NUMABUF_DEVICE_PATH, err, node);
		return 1;
	}

	/*
	 * 2. A buffer: zeroed, pinned, contiguous, mapped read-write.  Flags
	 * 0 means strict: on @node or fail.  NUMABUF_F_PREFERRED would
	 * accept another node (numabuf_node() says which).
	 */
	err = numabuf_alloc(ctx, size, node, 0, &buf);
	if (err) {
		explain("alloc", err, node);
		goto out_close;
	}
	p = numabuf_addr(buf);
	node = numabuf_node(buf);
	printf("allocated %zu bytes on node %d at %p, handle %u\n",
	       numabuf_size(buf), node, (void *)p, numabuf_handle(buf));

	/* 3. Plain memory: no page fault on first touch, nothing to set up. */
	for (i = 0; i < numabuf_size(buf); i++)
		if (p[i]) {
			fprintf(stderr, "basics: byte %zu is not zero\n", i);
			goto out_free;
		}
	for (i = 0; i < numabuf_size(buf); i++)
		p[i] = (char)(i * 7);
	for (i = 0; i < numabuf_size(buf); i++)
		if (p[i] != (char)(i * 7)) {
			fprintf(stderr, "basics: byte %zu reads back wrong\n", i);
			goto out_free;
		}
	printf("wrote and read back %zu bytes\n", numabuf_size(buf));

	/*
	 * 4. What the kernel says.  The physical address (for a device that
	 * wants one) is 0 unless we have CAP_SYS_ADMIN.
	 */
	err = numabuf_info(buf, &info);
	if (err) {
		explain("info", err, node);
		goto out_free;
	}
	err = numabuf_phys(buf, &phys);
	if (err) {
		explain("phys", err, node);
		goto out_free;
	}
	printf("info: node %d, %" PRIu64 " bytes, source %s, %u mapping(s), ",
	       info.node, info.size,
	       info.source == NUMABUF_SOURCE_POOL ? "pool" :
	       info.source == NUMABUF_SOURCE_RANGE ? "range" : "page allocator",
	       info.map_count);
	if (phys)
		printf("phys %#" PRIx64 "\n", phys);
	else
		printf("phys hidden (needs CAP_SYS_ADMIN)\n");

	/* 5. Facts from outside numabuf. */
	if (check_nodes(p, numabuf_size(buf), node)) {
		fprintf(stderr, "basics: pages are not all on node %d\n", node);
		goto out_free;
	}
	check_contiguous(p, numabuf_size(buf), phys);
	show_netlink(node);
	ret = 0;

out_free:
	/* 6. Unmap and release.  numabuf_close() would free it too. */
	err = numabuf_free(buf);
	if (err) {
		explain("free", err, node);
		ret = 1;
	}
out_close:
	numabuf_close(ctx);
	if (!ret)
		printf("freed; done\n");
	return ret;
}
