// SPDX-License-Identifier: MIT
/*
 * pass-dmabuf: hand a numabuf buffer to another process as a dma-buf.
 *
 *   pass-dmabuf [--node N] [--size SIZE]
 *
 * The sender allocates a buffer, fills it, exports it as a dma-buf
 * (numabuf_export()) and maps the dma-buf itself.  Then it frees its
 * numabuf handle: the dma-buf alone keeps the memory alive.  It sends the
 * dma-buf's file descriptor over a Unix socket (SCM_RIGHTS) to the
 * receiver, a child here; two unrelated processes would do the same over
 * a named socket.  The receiver maps the dma-buf, brackets its CPU access
 * with DMA_BUF_IOCTL_SYNC (what a device sharing the buffer needs; free
 * on x86), checks the data and writes a reply, which the sender checks.
 * The memory goes back to numabuf when the last dma-buf fd and mapping go.
 *
 * Build: cc pass-dmabuf.c $(pkg-config --cflags --libs numabuf)
 * Exit status: 0 when both sides saw the right bytes, else 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <numabuf.h>

static uint8_t pattern(size_t i, int reply)
{
	return (uint8_t)(reply ? ~(i * 13 + 5) : i * 13 + 5);
}

/* Offset of the first byte that differs from the pattern, or -1. */
static long check(const uint8_t *p, size_t size, int reply)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i] != pattern(i, reply))
			return (long)i;
	return -1;
}

/* Send @fd and nothing else: one byte of data carries it. */
static int send_fd(int sock, int fd)
{
	char byte = 'F', ctrl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl, .msg_controllen = sizeof(ctrl),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte, ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl, .msg_controllen = sizeof(ctrl),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* DMA_BUF_IOCTL_SYNC: START before the CPU touches the memory, END after. */
static int sync_cpu(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* The receiver: another process with nothing but the socket. */
static int receiver(int sock)
{
	int fd = recv_fd(sock);
	off_t size;
	uint8_t *p;
	long bad;
	char ok;

	if (fd < 0) {
		perror("receiver: recvmsg");
		return 1;
	}
	/* A dma-buf's size is its file size. */
	size = lseek(fd, 0, SEEK_END);
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (size <= 0 || p == MAP_FAILED) {
		perror("receiver: mmap of the dma-buf");
		return 1;
	}
	if (sync_cpu(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW)) {
		perror("receiver: DMA_BUF_IOCTL_SYNC");
		return 1;
	}
	bad = check(p, (size_t)size, 0);
	if (bad < 0)
		for (size_t i = 0; i < (size_t)size; i++)
			p[i] = pattern(i, 1);
	sync_cpu(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	if (bad >= 0) {
		fprintf(stderr, "receiver: byte %ld is %#x, expected %#x\n",
			bad, p[bad], pattern((size_t)bad, 0));
		return 1;
	}
	printf("receiver: %jd bytes as sent, reply written\n", (intmax_t)size);
	munmap(p, (size_t)size);
	close(fd);
	ok = 'R';
	return write(sock, &ok, 1) == 1 ? 0 : 1;
}

/* numabuf_nl_bufs() callback: our buffer after numabuf_free(). */
static int show(const struct numabuf_bufstat *st, void *arg)
{
	(void)arg;
	printf("sender: buffer %u (%" PRIu64 " bytes, node %d) still alive, held by %u dma-buf(s)\n",
	       st->id, st->size, st->node, st->exports);
	return 0;
}

static int sender(int sock, size_t size, int node)
{
	struct numabuf_buf_filter mine = {
		.match = NUMABUF_MATCH_PID, .pid = getpid(),
	};
	struct numabuf_ctx *ctx = NULL;
	struct numabuf_nl *nl;
	struct numabuf *buf;
	int err, fd, ret = 1;
	uint8_t *map = MAP_FAILED;
	long bad;
	char ok;

	err = numabuf_open(&ctx);
	if (!err)
		err = numabuf_alloc(ctx, size, node, 0, &buf);
	if (err) {
		fprintf(stderr, "sender: %s: %s\n", ctx ? "alloc" : "open",
			strerror(-err));
		numabuf_close(ctx);
		return 1;
	}
	size = numabuf_size(buf);
	for (size_t i = 0; i < size; i++)
		((uint8_t *)numabuf_addr(buf))[i] = pattern(i, 0);
	/* The dma-buf: a file for the whole buffer, close-on-exec. */
	err = numabuf_export(buf, &fd);
	if (err) {
		fprintf(stderr, "sender: export: %s\n", strerror(-err));
		numabuf_close(ctx);
		return 1;
	}
	printf("sender: %zu bytes on node %d exported as dma-buf fd %d\n",
	       size, numabuf_node(buf), fd);
	/* Our own view, through the dma-buf, to read the reply later. */
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("sender: mmap of the dma-buf");
		goto out;
	}
	/* Handle and numabuf mapping gone: the dma-buf holds the memory. */
	numabuf_free(buf);
	numabuf_close(ctx);
	ctx = NULL;
	if (!numabuf_nl_open(&nl)) {
		numabuf_nl_bufs(nl, &mine, show, NULL);
		numabuf_nl_close(nl);
	}

	if (send_fd(sock, fd)) {
		perror("sender: sendmsg");
		goto out;
	}
	if (read(sock, &ok, 1) != 1 || ok != 'R') {
		fprintf(stderr, "sender: no reply from the receiver\n");
		goto out;
	}
	/* Only reading, but a device could share it: sync all the same. */
	sync_cpu(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	bad = check(map, size, 1);
	sync_cpu(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (bad >= 0) {
		fprintf(stderr, "sender: reply byte %ld is %#x, expected %#x\n",
			bad, map[bad], pattern((size_t)bad, 1));
		goto out;
	}
	printf("sender: reply checked, %zu bytes\n", size);
	ret = 0;
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	numabuf_close(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int node = NUMABUF_NODE_LOCAL, sv[2], c, status, ret;
	size_t size = 1 << 20;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = atoi(optarg);
			break;
		case 's':
			size = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: pass-dmabuf [--node N] [--size BYTES]\n");
			return c == 'h' ? 0 : 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	/* Fork before touching numabuf: the child shares nothing of it. */
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(receiver(sv[1]));
	}
	close(sv[1]);
	ret = sender(sv[0], size, node);
	close(sv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ret = 1;
	return ret;
}
