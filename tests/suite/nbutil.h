/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest tests: the raw numabuf ioctls (no libnumabuf, so
 * the tests check the module and not the library), and witnesses of where
 * memory really is that do not ask the module: move_pages(2) for the node
 * of a page, /proc/self/pagemap for its frame number.
 */
#ifndef NB_UTIL_H
#define NB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/io_uring.h>

#include <linux/numabuf.h>

#include "harness.h"

#define NB_DEV		"/dev/numabuf"
#define NB_PAGE		4096UL
#define NB_MAX_NODES	64

/* open(/dev/numabuf) or fail the test. */
int nb_open(void);

/*
 * The ioctls, returning 0 or -errno.  nb_alloc fills @out (may be NULL)
 * with the kernel's answer.
 */
int nb_alloc(int fd, uint64_t length, int node, uint32_t flags,
	     struct numabuf_alloc *out);
int nb_free(int fd, uint32_t handle);
int nb_info(int fd, uint32_t handle, struct numabuf_info *out);

/* Allocate or fail the test; returns the answer. */
struct numabuf_alloc nb_alloc_ok(int fd, uint64_t length, int node,
				 uint32_t flags);
/* mmap(MAP_SHARED, RW) of [offset, offset + len) or fail the test. */
void *nb_map(int fd, uint64_t offset, size_t len);

/* Online nodes from /sys/devices/system/node/online; returns how many. */
int nb_online_nodes(int *nodes, int max);
int nb_node_online(int node);
/* The node of a CPU, from /sys/devices/system/cpu/cpuN/nodeM. */
int nb_cpu_node(int cpu);

/*
 * Node of each of @n pages from @addr by move_pages(2) with no target
 * nodes (a query).  Returns 0, or fails the test if the call fails;
 * status[i] is the node or a negative errno.
 */
void nb_pages_nodes(void *addr, size_t n, int *status);
/* Every page of [addr, addr + len) on @node, else fail with the first. */
void nb_expect_node_at(const char *file, int line, void *addr, size_t len,
		       int node);
#define NB_EXPECT_NODE(addr, len, node) \
	nb_expect_node_at(NB_FILE, __LINE__, addr, len, node)

/*
 * PFN of each page of [addr, addr + n pages) from /proc/self/pagemap, 0
 * when not present (or not root).  Fails the test if pagemap is unreadable.
 */
void nb_pfns(void *addr, size_t n, uint64_t *pfn);

/* Fill / check a pattern derived from @seed and the byte offset. */
void nb_fill(void *addr, size_t len, uint32_t seed);
/* Returns the offset of the first wrong byte, or (size_t)-1. */
size_t nb_verify(const void *addr, size_t len, uint32_t seed);
/* Offset of the first nonzero byte, or (size_t)-1. */
size_t nb_find_nonzero(const void *addr, size_t len);

/* Wait for @pid; fail the test unless it exited with status 0. */
void nb_wait_ok_at(const char *file, int line, pid_t pid);
#define NB_WAIT_OK(pid) nb_wait_ok_at(NB_FILE, __LINE__, pid)

/*
 * Randomized tests: a small deterministic PRNG (splitmix64), so a run is
 * replayed from its seed.
 */
struct nb_rng {
	uint64_t s;
};

uint64_t nb_rnd(struct nb_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t nb_rnd_below(struct nb_rng *r, uint64_t n);
/*
 * The seed of a randomized test: environment variable @env (decimal or
 * 0x-hex) if set, else from the clock.  Printed as a note either way, with
 * how to replay it.
 */
uint64_t nb_seed(const char *env);
/* Environment variable @env as a number (decimal or 0x-hex), or @def. */
unsigned long long nb_env_ull(const char *env, unsigned long long def);
/* Monotonic clock in seconds. */
double nb_now(void);

/*
 * Shrink every slab cache (/sys/kernel/slab/<cache>/shrink): frees empty
 * slabs and, on a KASAN kernel, the quarantine of freed objects, which
 * otherwise hides tens of MB of free memory.  Returns the caches shrunk.
 */
int nb_shrink_slabs(void);

/* The syscall number process @pid sleeps in (/proc/PID/syscall), or -1. */
long nb_blocked_syscall(pid_t pid);

/*
 * The number after "@key:" in /proc/self/status (VmPin in kB, CapEff in
 * hex with @base 16); fails the test if there is none.
 */
unsigned long long nb_proc_status(const char *key, int base);

/* A counter of /proc/vmstat, or fail the test. */
long long nb_vmstat(const char *key);

/*
 * The running kernel's configuration (/boot/config-RELEASE, else
 * /proc/config.gz): 1 and the value of @opt ("CONFIG_X") in @val, 0 when
 * it is not set, -1 when no configuration can be read.
 */
int nb_kconfig(const char *opt, char *val, size_t len);

/* Nodes with memory (sysfs has_memory), in order; at least one. */
int nb_mem_nodes(int *nodes, int max);
/* A field of /sys/devices/system/node/nodeN/meminfo ("MemTotal"), bytes. */
unsigned long long nb_node_meminfo(int node, const char *key);
/* A module parameter, /sys/module/numabuf/parameters/@name. */
unsigned long long nb_param(const char *name);
/* Write one; returns 0 or an errno (usable on cleanup paths). */
int nb_param_write(const char *name, unsigned long long v);
/* Write one or fail the test. */
void nb_param_set(const char *name, unsigned long long v);

/*
 * An io_uring of 4 entries through the raw system calls, for fixed
 * buffers (a FOLL_LONGTERM pin) in t_pin and t_pool.
 */
struct nb_ring {
	int fd;
	void *sq, *cq;
	size_t sq_len, cq_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	struct io_uring_params p;
};

/* 0, or -errno when io_uring is not available. */
int nb_ring_setup(struct nb_ring *r);
void nb_ring_close(struct nb_ring *r);
/*
 * Submit one fixed-buffer read or write (IORING_OP_READ_FIXED or _WRITE_
 * FIXED) on fixed buffer 0 and wait for it; returns its result.
 */
int nb_ring_rw_fixed(struct nb_ring *r, int op, int fd, void *addr,
		     unsigned int len, off_t off);
/*
 * Does this kernel's io_uring refuse fixed buffers in device mappings?
 * Before 6.5 it refuses any file-backed mapping but shmem and hugetlbfs
 * (EOPNOTSUPP, io_uring/rsrc.c); from 6.5 on GUP's FOLL_LONGTERM rules
 * decide.
 */
bool nb_uring_refuses_devices(void);

/*
 * Put the pages of [@p, @p + @len) in a new pipe with vmsplice(2) (no
 * SPLICE_F_GIFT): the pipe holds a get_user_pages reference on each page
 * until it is read or closed, as O_DIRECT in flight or a pin would.
 * Returns the read end; the write end in *@wfd.  Fails the test if the
 * pipe cannot hold @len bytes.
 */
int nb_pipe_hold(void *p, size_t len, int *wfd);

/* uid and gid of nobody, for tests that drop root. */
#define NB_NOBODY	65534
/* Become nobody with no supplementary groups, or fail the test. */
void nb_drop_privileges(void);

/*
 * sysfs and PCI devices (the DMA tests).  nb_sysfs_write() writes @s to
 * @path in one write(): 0, or -errno (-EIO for a short write).
 * nb_sysfs_read() gives the first line of @path without its newline, ""
 * if unreadable.  nb_pci_link() gives the base name of the target of the
 * symlink @name ("driver", "iommu_group") of PCI device @bdf, "" if none.
 */
int nb_sysfs_write(const char *path, const char *s);
void nb_sysfs_read(const char *path, char *buf, size_t len);
void nb_pci_link(const char *bdf, const char *name, char *buf, size_t len);

#endif /* NB_UTIL_H */
