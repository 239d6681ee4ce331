// SPDX-License-Identifier: GPL-2.0
/*
 * nb_pool NODE: one NUMABUF_IOC_POOL_GET, for guest-suite.sh's tests of
 * the pools= module parameter.  Prints
 *
 *	target T pool_bytes B free_bytes F largest_free L
 *
 * (bytes), or the errno name; exit 0 if the call worked.  Raw ioctl, no
 * libnumabuf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/numabuf.h>

int main(int argc, char **argv)
{
	struct numabuf_pool p = { .size = sizeof(p) };
	char *end;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: nb_pool NODE\n");
		return 2;
	}
	p.node = (int)strtol(argv[1], &end, 10);
	if (*end || end == argv[1]) {
		fprintf(stderr, "nb_pool: '%s' is not a node\n", argv[1]);
		return 2;
	}
	fd = open("/dev/numabuf", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(fd, NUMABUF_IOC_POOL_GET, &p)) {
		printf("POOL_GET: %s\n", strerror(errno));
		return 1;
	}
	printf("target %llu pool_bytes %llu free_bytes %llu largest_free %llu\n",
	       (unsigned long long)p.target, (unsigned long long)p.pool_bytes,
	       (unsigned long long)p.free_bytes, (unsigned long long)p.largest_free);
	close(fd);
	return 0;
}
