// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit callers on a 64-bit kernel.  mmap2() carries a page offset of 32
 * bits, so a compat task's buffers get offsets of handle << 32 (handles
 * 1-255, buffers up to 4 GiB) instead of handle << 40.  A 32-bit helper
 * (nb_compat32, built with -m32 where the host can) does the 32-bit side;
 * this test runs it and checks what a 64-bit process sees.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

NB_TEST(compat_offsets_64bit,
	"a 64-bit caller's offsets stay handle << 40; the same handle at the compat offset (handle << 32) is not a way in: ENXIO")
{
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, 64 * NB_KIB,
					     NUMABUF_NODE_LOCAL, 0);
	void *p;

	NB_CHECK(a.offset == (uint64_t)a.handle << 40,
		 "offset %#llx for handle %u, expected handle << 40",
		 (unsigned long long)a.offset, a.handle);
	p = mmap(NULL, 64 * NB_KIB, PROT_READ, MAP_SHARED, fd,
		 (off_t)((uint64_t)a.handle << 32));
	NB_CHECK(p == MAP_FAILED && errno == ENXIO,
		 "mmap at handle << 32 of a 64-bit caller's buffer: %s, expected ENXIO",
		 p == MAP_FAILED ? strerror(errno) : "mapped");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(compat_32bit_process,
	"a 32-bit process (IA32 emulation) allocates 40 buffers, maps each at its offset (all below 2^44, so mmap2 can name them), reads back through a second mapping, gets the same offset from INFO, EINVAL past the end and for more than 4 GiB; it exits 0 and nothing leaks")
{
	char exe[PATH_MAX], helper[PATH_MAX + 16], out[512] = "";
	char val[8];
	int pfd[2], st;
	ssize_t n, len = 0;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	NB_CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	snprintf(helper, sizeof(helper), "%s/nb_compat32", dirname(exe));
	if (access(helper, X_OK))
		nb_skip("%s was not built: the host's compiler cannot build -m32 programs (install gcc-multilib)",
			helper);
	if (nb_kconfig("CONFIG_IA32_EMULATION", val, sizeof(val)) == 0)
		nb_skip("the kernel has no IA32 emulation (CONFIG_IA32_EMULATION)");

	NB_SYS(pipe(pfd));
	pid = fork();
	NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(helper, helper, (char *)NULL);
		printf("exec %s: %s\n", helper, strerror(errno));
		fflush(stdout);
		_exit(errno == ENOEXEC ? 126 : 127);
	}
	close(pfd[1]);
	while (len < (ssize_t)sizeof(out) - 1 &&
	       (n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(pfd[0]);
	NB_SYS(waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 126)
		nb_skip("the kernel runs no 32-bit programs: %s", out);
	NB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		 "nb_compat32 ended with status %#x: %s", st, out);
	nb_note("nb_compat32: %s", strtok(out, "\n") ? out : "");
}
