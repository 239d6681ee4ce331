// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping very large buffers: mmap() of 1 GiB inserts 262,144 page table
 * entries.  A process killed (SIGKILL) while it does so dies, its partial
 * mapping goes, and nothing leaks: the harness checks the module's
 * counters and free memory after the test, and INFO's map_count says that
 * no mapping of any killed process is left.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbutil.h"

#define NB_GIB	(1024ULL * NB_MIB)

NB_TEST_TIMEOUT(bigmap_kill_during_mmap,
	"processes SIGKILLed at delays of 1 ms to 1 s after they start mmap() of a 1 GiB buffer all die of SIGKILL; at least one dies before mmap() returns; map_count is 0 afterwards and nothing leaks",
	600)
{
	static const unsigned int delay_ms[] = {
		1, 2, 5, 10, 20, 50, 100, 200, 500, 1000,
	};
	int fd = nb_open(), inside = 0;
	uint64_t len = NB_GIB;
	struct numabuf_alloc a;
	struct numabuf_info inf;
	double t0, mmap_secs = -1;
	size_t k;
	int ret;

	/* From the pool if there is one, else a range (as root). */
	ret = nb_alloc(fd, len, NUMABUF_NODE_LOCAL, NUMABUF_F_PREFERRED, &a);
	if (ret == -ENOMEM) {
		len = 512 * NB_MIB;
		ret = nb_alloc(fd, len, NUMABUF_NODE_LOCAL,
			       NUMABUF_F_PREFERRED, &a);
	}
	if (ret == -ENOMEM)
		nb_skip("no node can give 512 MiB in one piece");
	NB_CHECK(!ret, "ALLOC of %llu MiB: %s",
		 (unsigned long long)(len / NB_MIB), nb_errname(-ret));

	/* How long one whole mmap() takes, for the notes. */
	t0 = nb_now();
	{
		void *p = nb_map(fd, a.offset, len);

		mmap_secs = nb_now() - t0;
		NB_SYS(munmap(p, len));
	}
	nb_note("mmap of %llu MiB: %.3f s", (unsigned long long)(len / NB_MIB),
		mmap_secs);

	for (k = 0; k < sizeof(delay_ms) / sizeof(delay_ms[0]); k++) {
		struct timespec ts = {
			.tv_sec = delay_ms[k] / 1000,
			.tv_nsec = (delay_ms[k] % 1000) * 1000000L,
		};
		int pfd[2], st;
		char c = 0, mapped = 0;
		double tk;
		pid_t pid;

		NB_SYS(pipe(pfd));
		pid = fork();
		NB_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			void *p;

			close(pfd[0]);
			c = 'g';
			if (write(pfd[1], &c, 1) != 1)
				_exit(2);
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 fd, (off_t)a.offset);
			c = p == MAP_FAILED ? 'f' : 'm';
			if (write(pfd[1], &c, 1) != 1)
				_exit(2);
			pause();
			_exit(3);
		}
		close(pfd[1]);
		NB_CHECK(read(pfd[0], &c, 1) == 1 && c == 'g',
			 "the child did not start");
		nanosleep(&ts, NULL);
		tk = nb_now();
		NB_SYS(kill(pid, SIGKILL));
		NB_SYS(waitpid(pid, &st, 0));
		tk = nb_now() - tk;
		NB_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			 "a child killed %u ms into mmap() ended with status %#x",
			 delay_ms[k], st);
		if (read(pfd[0], &mapped, 1) != 1)
			mapped = 0;
		close(pfd[0]);
		NB_CHECK(mapped != 'f', "mmap() of the buffer failed in a child that was not killed yet");
		if (!mapped)
			inside++;
		nb_note("killed %u ms in: %s, dead %.3f s after SIGKILL",
			delay_ms[k], mapped ? "after mmap returned" : "inside mmap",
			tk);
	}
	NB_CHECK(!nb_info(fd, a.handle, &inf), "INFO failed");
	NB_CHECK(inf.map_count == 0,
		 "map_count %u after every mapping process was killed",
		 inf.map_count);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
	if (!inside)
		nb_skip("every kill came after mmap() returned (%.3f s for the whole mmap): nothing proven about a kill inside it",
			mmap_secs);
}
