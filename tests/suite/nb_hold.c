// SPDX-License-Identifier: GPL-2.0
/*
 * nb_hold: keep a reference on the numabuf module for the unload tests.
 *
 *   nb_hold fd    hold an open /dev/numabuf (one 64 KiB buffer allocated)
 *   nb_hold map   hold only a mapping: allocate, mmap, FREE, close the fd
 *
 * Prints "ready" once it holds what it should, then waits to be killed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/numabuf.h>

#define LEN (64 * 1024)

int main(int argc, char **argv)
{
	struct numabuf_alloc a = { .size = sizeof(a), .length = LEN,
				   .node = NUMABUF_NODE_LOCAL };
	struct numabuf_free f = { .size = sizeof(f) };
	int map, fd;
	char *p;

	if (argc != 2 || (strcmp(argv[1], "fd") && strcmp(argv[1], "map"))) {
		fprintf(stderr, "usage: nb_hold fd|map\n");
		return 2;
	}
	map = !strcmp(argv[1], "map");
	fd = open("/dev/numabuf", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("nb_hold: open /dev/numabuf");
		return 1;
	}
	if (ioctl(fd, NUMABUF_IOC_ALLOC, &a)) {
		perror("nb_hold: ALLOC");
		return 1;
	}
	if (map) {
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)a.offset);
		if (p == MAP_FAILED) {
			perror("nb_hold: mmap");
			return 1;
		}
		memset(p, 0x5a, LEN);
		f.handle = a.handle;
		if (ioctl(fd, NUMABUF_IOC_FREE, &f)) {
			perror("nb_hold: FREE");
			return 1;
		}
		close(fd);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
