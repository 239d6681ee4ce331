// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege: an fd opened by root and handed to an unprivileged process
 * works there, but physical addresses are shown only to CAP_SYS_ADMIN.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nbutil.h"



static int nb_cap_eff_zero(void)
{
	return nb_proc_status("CapEff", 16) == 0;
}

NB_TEST(unprivileged_no_phys,
	"as root INFO gives phys != 0; after dropping to uid 65534 with no capabilities ALLOC/mmap/INFO work and phys is 0")
{
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_info inf;
	pid_t pid;

	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.phys != 0, "root: INFO phys is 0");
	NB_CHECK(inf.phys % NB_PAGE == 0, "root: INFO phys %#llx not page aligned",
		 (unsigned long long)inf.phys);

	pid = NB_SYS(fork());
	if (pid == 0) {
		struct numabuf_alloc b;
		struct numabuf_info bi;
		char *p;

		nb_drop_privileges();
		/* A uid change away from 0 clears the capability sets. */
		NB_CHECK(nb_cap_eff_zero(), "CapEff is not 0 after the uid change");
		/* The device node stays root-only (mode 0600). */
		NB_CHECK(open(NB_DEV, O_RDWR) < 0 && errno == EACCES,
			 "nobody could open %s (errno %s)", NB_DEV, nb_errname(errno));

		b = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		NB_CHECK(!nb_info(fd, b.handle, &bi), "INFO as nobody failed");
		NB_CHECK(bi.phys == 0, "nobody: INFO phys %#llx, expected 0",
			 (unsigned long long)bi.phys);
		NB_CHECK(!nb_info(fd, a.handle, &bi), "INFO as nobody failed");
		NB_CHECK(bi.phys == 0, "nobody: INFO of root's buffer shows phys %#llx",
			 (unsigned long long)bi.phys);
		NB_CHECK(bi.length == 64 * NB_KIB && bi.node == inf.node,
			 "nobody: INFO length/node wrong");
		p = nb_map(fd, b.offset, 64 * NB_KIB);
		NB_CHECK(nb_find_nonzero(p, 64 * NB_KIB) == (size_t)-1, "not zeroed");
		memset(p, 1, 64 * NB_KIB);
		NB_SYS(munmap(p, 64 * NB_KIB));
		NB_CHECK(!nb_free(fd, b.handle), "FREE as nobody failed");
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}
