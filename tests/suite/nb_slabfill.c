// SPDX-License-Identifier: GPL-2.0
/*
 * nb_slabfill MIB: pass MIB mebibytes of slab objects through kfree(), by
 * sending 3000-byte datagrams over a unix socket pair and receiving them
 * (each is a kmalloc'd skb head plus its data).
 *
 * Under KASAN, freed objects wait in a quarantine of up to 1/32 of RAM
 * before slab can reuse them.  A fresh guest's quarantine fills over the
 * first few hundred MiB of frees, so free memory keeps falling through the
 * first tests that free a lot of slab, which the leak checks would blame
 * on them.  guest-suite.sh runs this first on a KASAN kernel, so the
 * quarantine is at its steady size before anything is measured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NB_DGRAM	3000

int main(int argc, char **argv)
{
	static char buf[NB_DGRAM];
	unsigned long long mib, n, i;
	char *end;
	int sv[2];

	if (argc != 2 || (mib = strtoull(argv[1], &end, 10)) == 0 || *end) {
		fprintf(stderr, "usage: nb_slabfill MIB\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)) {
		fprintf(stderr, "nb_slabfill: socketpair: %s\n", strerror(errno));
		return 1;
	}
	/* Each round trip frees at least the 3000 bytes of its skb data. */
	n = (mib << 20) / NB_DGRAM;
	for (i = 0; i < n; i++) {
		if (send(sv[0], buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
		    recv(sv[1], buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
			fprintf(stderr, "nb_slabfill: round trip %llu: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	printf("%llu datagrams\n", n);
	return 0;
}
