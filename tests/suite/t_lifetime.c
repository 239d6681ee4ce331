// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime: a buffer lives while its handle or any mapping of it (in any
 * process) lives, and goes when the last one goes, in every order.  The
 * module's counters are the witness of "held"; the harness also checks
 * free memory after each test.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbutil.h"

static void nb_expect_map_count(int fd, uint32_t handle, uint32_t want)
{
	struct numabuf_info inf;
	int ret = nb_info(fd, handle, &inf);

	NB_CHECK(!ret, "INFO of handle %u: %s", handle, nb_errname(-ret));
	NB_CHECK(inf.map_count == want, "INFO map_count %u, expected %u",
		 inf.map_count, want);
}

NB_TEST(free_before_unmap,
	"after FREE a mapped buffer stays readable, writable and counted; munmap releases it")
{
	const size_t len = 256 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len);
	size_t off;

	nb_fill(p, len, 1);
	NB_STATS_EXPECT(s0, 1, len);
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_CHECK(nb_info(fd, a.handle, NULL) == -ENOENT,
		 "INFO of a freed handle did not fail with ENOENT");
	NB_STATS_EXPECT(s0, 1, len);
	off = nb_verify(p, len, 1);
	NB_CHECK(off == (size_t)-1, "after FREE byte %zu changed", off);
	nb_fill(p, len, 2);
	off = nb_verify(p, len, 2);
	NB_CHECK(off == (size_t)-1, "after FREE byte %zu not writable", off);
	NB_SYS(munmap(p, len));
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(unmap_before_free,
	"after munmap the handle still holds the buffer (map_count 0, counted, re-mappable with its data); FREE releases it")
{
	const size_t len = 64 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len);

	nb_expect_map_count(fd, a.handle, 1);
	nb_fill(p, len, 3);
	NB_SYS(munmap(p, len));
	nb_expect_map_count(fd, a.handle, 0);
	NB_STATS_EXPECT(s0, 1, len);
	p = nb_map(fd, a.offset, len);
	NB_CHECK(nb_verify(p, len, 3) == (size_t)-1, "data lost across munmap/mmap");
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(close_before_unmap,
	"after close() of the fd the mapping keeps working and the buffers counted; munmap releases them all")
{
	const size_t len = 1 * NB_MIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	struct numabuf_alloc b = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len);

	(void)b;	/* never mapped, never freed: the file's to release */
	nb_fill(p, len, 4);
	NB_STATS_EXPECT(s0, 2, 2 * len);
	NB_SYS(close(fd));
	/*
	 * The mapping holds the file (vma->vm_file), so close() of the last
	 * fd does not release it: both handles live until the munmap.
	 */
	NB_STATS_EXPECT(s0, 2, 2 * len);
	NB_CHECK(nb_verify(p, len, 4) == (size_t)-1, "data changed after close");
	nb_fill(p, len, 5);
	NB_CHECK(nb_verify(p, len, 5) == (size_t)-1, "not writable after close");
	NB_SYS(munmap(p, len));
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST(partial_munmap,
	"munmap of the middle of a mapping splits it (map_count 2), the rest keeps its data; the buffer goes with the last piece")
{
	const size_t len = 1 * NB_MIB, pg = NB_PAGE;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len);

	nb_fill(p, len, 6);
	NB_SYS(munmap(p + 16 * pg, 32 * pg));	/* pages 16-47 */
	nb_expect_map_count(fd, a.handle, 2);
	NB_CHECK(nb_verify(p, 16 * pg, 6) == (size_t)-1, "head changed");
	{
		/* nb_verify's pattern depends on the offset from p */
		char *tail = malloc(len);

		NB_CHECK(tail, "out of memory");
		nb_fill(tail, len, 6);
		NB_CHECK(!memcmp(p + 48 * pg, tail + 48 * pg, len - 48 * pg),
			 "tail changed after splitting the mapping");
		free(tail);
	}
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_STATS_EXPECT(s0, 1, len);
	NB_SYS(munmap(p, 16 * pg));
	NB_STATS_EXPECT(s0, 1, len);
	p[len - 1] = 1;		/* the tail still works */
	NB_SYS(munmap(p + 48 * pg, len - 48 * pg));
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(multiple_mmaps,
	"three mappings of one buffer share the same memory and PFNs; INFO map_count follows them 3-2-1-0")
{
	const size_t len = 64 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), i;
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *m[3];
	uint64_t pfn[3];

	for (i = 0; i < 3; i++) {
		m[i] = nb_map(fd, a.offset, len);
		nb_expect_map_count(fd, a.handle, i + 1);
		nb_pfns(m[i], 1, &pfn[i]);
	}
	NB_CHECK(pfn[0] == pfn[1] && pfn[1] == pfn[2],
		 "mappings of one buffer show different PFNs");
	nb_fill(m[0], len, 8);
	NB_CHECK(nb_verify(m[1], len, 8) == (size_t)-1 &&
		 nb_verify(m[2], len, 8) == (size_t)-1,
		 "a write through one mapping is not seen through the others");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	for (i = 0; i < 3; i++) {
		NB_STATS_EXPECT(s0, 1, len);
		NB_SYS(munmap(m[i], len));
	}
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(exit_without_cleanup,
	"a process that allocates and maps buffers then _exit()s without cleanup releases them all")
{
	struct nb_stats s0 = nb_stats_read();
	int ready[2];
	pid_t pid;
	char c;

	NB_SYS(pipe(ready));
	pid = NB_SYS(fork());
	if (pid == 0) {
		int fd = nb_open(), fd2 = nb_open();
		struct numabuf_alloc a = nb_alloc_ok(fd, 4 * NB_MIB, NUMABUF_NODE_LOCAL, 0);
		struct numabuf_alloc b = nb_alloc_ok(fd, 64 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		struct numabuf_alloc c2 = nb_alloc_ok(fd2, 8 * NB_KIB, NUMABUF_NODE_LOCAL, 0);
		char *p = nb_map(fd, a.offset, 4 * NB_MIB);

		nb_map(fd, a.offset, 4 * NB_MIB);
		nb_map(fd2, c2.offset, 8 * NB_KIB);
		(void)b;	/* held by its handle only */
		memset(p, 1, 4 * NB_MIB);
		NB_CHECK(write(ready[1], "r", 1) == 1, "pipe write");
		_exit(0);
	}
	close(ready[1]);
	NB_CHECK(read(ready[0], &c, 1) == 1, "child died before it was ready");
	NB_WAIT_OK(pid);
	NB_STATS_EXPECT(s0, 0, 0);
	close(ready[0]);
}

NB_TEST(sigkill_mid_work,
	"SIGKILL of a process busy allocating, mapping and freeing releases everything it held")
{
	struct nb_stats s0 = nb_stats_read();
	int ready[2], status, round;

	for (round = 0; round < 5; round++) {
		pid_t pid;
		char c;

		NB_SYS(pipe(ready));
		pid = NB_SYS(fork());
		if (pid == 0) {
			struct { char *p; uint64_t len; uint32_t h; } ring[16];
			int fd = nb_open();
			unsigned int i;

			memset(ring, 0, sizeof(ring));
			for (i = 0;; i++) {
				uint64_t len = NB_PAGE << (i % 11);
				struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
				char *p = nb_map(fd, a.offset, len);
				unsigned int k = i % 16;

				memset(p, 2, len);
				/* hold up to 16, released in varying orders */
				if (ring[k].p) {
					if (i & 1) {
						munmap(ring[k].p, ring[k].len);
						nb_free(fd, ring[k].h);
					} else {
						nb_free(fd, ring[k].h);
						munmap(ring[k].p, ring[k].len);
					}
				}
				ring[k].p = p;
				ring[k].len = len;
				ring[k].h = a.handle;
				if (i == 40 && write(ready[1], "r", 1) != 1)
					_exit(3);
			}
		}
		close(ready[1]);
		NB_CHECK(read(ready[0], &c, 1) == 1,
			 "worker died before it was ready");
		/* Let it run a little into its loop, at varying points. */
		usleep(1000 * (round * 7 % 20));
		NB_SYS(kill(pid, SIGKILL));
		NB_SYS(waitpid(pid, &status, 0));
		NB_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			 "the worker ended otherwise than by SIGKILL (status %#x)",
			 status);
		NB_STATS_EXPECT(s0, 0, 0);
		close(ready[0]);
	}
}

NB_TEST(fork_shares_mapping,
	"a forked child shares the mapping (writes seen both ways); it keeps the buffer after the parent unmaps and frees it; its exit releases it")
{
	const size_t len = 128 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), to_child[2], to_parent[2];
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len), c;
	pid_t pid;

	nb_fill(p, len, 9);
	NB_SYS(pipe(to_child));
	NB_SYS(pipe(to_parent));
	pid = NB_SYS(fork());
	if (pid == 0) {
		NB_CHECK(nb_verify(p, len, 9) == (size_t)-1,
			 "child does not see the parent's data");
		nb_fill(p, len, 10);
		NB_CHECK(write(to_parent[1], "1", 1) == 1, "pipe");
		/* parent unmaps and frees now */
		NB_CHECK(read(to_child[0], &c, 1) == 1, "pipe");
		NB_CHECK(nb_verify(p, len, 10) == (size_t)-1,
			 "child's data changed after the parent freed the buffer");
		nb_fill(p, len, 11);
		NB_CHECK(nb_verify(p, len, 11) == (size_t)-1,
			 "child cannot write after the parent freed the buffer");
		_exit(0);
	}
	NB_CHECK(read(to_parent[0], &c, 1) == 1, "child died");
	NB_CHECK(nb_verify(p, len, 10) == (size_t)-1,
		 "the child's writes are not visible to the parent");
	nb_expect_map_count(fd, a.handle, 2);
	NB_SYS(munmap(p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_STATS_EXPECT(s0, 1, len);
	NB_CHECK(write(to_child[1], "2", 1) == 1, "pipe");
	NB_WAIT_OK(pid);
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(fork_dontfork,
	"with MADV_DONTFORK a child does not get the mapping (touching it is SIGSEGV) and map_count stays 1")
{
	const size_t len = 64 * NB_KIB;
	int fd = nb_open(), status, go[2];
	struct numabuf_alloc a = nb_alloc_ok(fd, len, NUMABUF_NODE_LOCAL, 0);
	volatile char *p = nb_map(fd, a.offset, len);
	pid_t pid;
	char c;

	NB_SYS(madvise((void *)p, len, MADV_DONTFORK));
	NB_SYS(pipe(go));
	pid = NB_SYS(fork());
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		p[0] = 1;	/* must fault */
		_exit(0);
	}
	nb_expect_map_count(fd, a.handle, 1);
	NB_CHECK(write(go[1], "g", 1) == 1, "pipe");
	NB_SYS(waitpid(pid, &status, 0));
	NB_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		 "child touching a MADV_DONTFORK mapping: status %#x, expected SIGSEGV",
		 status);
	NB_SYS(munmap((void *)p, len));
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	close(fd);
}

NB_TEST(mremap_rules,
	"mremap cannot grow a mapping (EFAULT, in place or moving); it can move it whole and shrink it, and the buffer goes at the end")
{
	const size_t len = 64 * NB_KIB;
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open();
	struct numabuf_alloc a = nb_alloc_ok(fd, 4 * len, NUMABUF_NODE_LOCAL, 0);
	char *p = nb_map(fd, a.offset, len), *q, *r;

	nb_fill(p, len, 12);
	NB_ERRNO((long)mremap(p, len, 2 * len, 0), EFAULT);
	NB_ERRNO((long)mremap(p, len, 2 * len, MREMAP_MAYMOVE), EFAULT);
	nb_expect_map_count(fd, a.handle, 1);

	/* Move whole: reserve a target and move onto it. */
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NB_CHECK(r != MAP_FAILED, "mmap: %s", strerror(errno));
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r);
	NB_CHECK(q == r, "mremap move: %s", q == MAP_FAILED ? nb_errname(errno) : "moved elsewhere");
	NB_CHECK(nb_verify(q, len, 12) == (size_t)-1, "data lost in the move");
	nb_expect_map_count(fd, a.handle, 1);

	/* Shrink. */
	p = mremap(q, len, len / 2, 0);
	NB_CHECK(p == q, "mremap shrink: %s", p == MAP_FAILED ? nb_errname(errno) : "moved");
	NB_CHECK(nb_verify(p, len / 2, 12) == (size_t)-1, "data lost in the shrink");
	NB_CHECK(!nb_free(fd, a.handle), "FREE failed");
	NB_STATS_EXPECT(s0, 1, 4 * len);
	NB_SYS(munmap(p, len / 2));
	NB_STATS_EXPECT(s0, 0, 0);
	close(fd);
}

NB_TEST(close_releases_unmapped,
	"close() of a file with 100 never-mapped buffers releases them all")
{
	struct nb_stats s0 = nb_stats_read();
	int fd = nb_open(), i;

	for (i = 0; i < 100; i++)
		nb_alloc_ok(fd, NB_PAGE << (i % 8), NUMABUF_NODE_LOCAL, 0);
	NB_CHECK(nb_stats_read().buffers - s0.buffers == 100,
		 "counters do not show 100 buffers");
	NB_SYS(close(fd));
	NB_STATS_EXPECT(s0, 0, 0);
}

NB_TEST(dup_and_fork_share_handles,
	"a dup()ed fd and a forked child use the same handles (the file, not the fd, owns them)")
{
	int fd = nb_open(), fd2 = NB_SYS(dup(fd));
	struct numabuf_alloc a = nb_alloc_ok(fd, NB_PAGE, NUMABUF_NODE_LOCAL, 0);
	pid_t pid;

	NB_CHECK(!nb_info(fd2, a.handle, NULL), "handle not valid through dup()");
	pid = NB_SYS(fork());
	if (pid == 0) {
		NB_CHECK(!nb_info(fd, a.handle, NULL), "handle not valid in a forked child");
		_exit(0);
	}
	NB_WAIT_OK(pid);
	NB_CHECK(!nb_free(fd2, a.handle), "FREE through dup() failed");
	NB_CHECK(nb_info(fd, a.handle, NULL) == -ENOENT, "handle still valid after FREE");
	close(fd2);
	close(fd);
}
