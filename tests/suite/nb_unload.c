// SPDX-License-Identifier: GPL-2.0
/*
 * nb_unload: try to unload a module once, without waiting, and say how it
 * went: "ok", or the errno name (EWOULDBLOCK/EAGAIN: in use; EBUSY; ...).
 * Exit 0 if it was unloaded.  rmmod hides the errno; the tests want it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "numabuf";

	if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0) {
		printf("ok\n");
		return 0;
	}
	switch (errno) {
	case EAGAIN:
		printf("EAGAIN\n");	/* EWOULDBLOCK: references held */
		break;
	case EBUSY:
		printf("EBUSY\n");
		break;
	case ENOENT:
		printf("ENOENT\n");
		break;
	default:
		printf("errno %d (%s)\n", errno, strerror(errno));
	}
	return 1;
}
