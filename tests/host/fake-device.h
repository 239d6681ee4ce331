/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake /dev/numabuf for host tests of libnumabuf, which run where the
 * module cannot be loaded.
 *
 * Link the program with -Wl,--wrap=ioctl,--wrap=mmap64 and run it with
 * NUMABUF_DEVICE=/dev/zero: numabuf ioctls on /dev/zero are answered as
 * docs/interfaces.md says the module answers them (two online nodes,
 * MAX_NUMNODES 1024, 4 MiB at most, handles from 1 and never reused), and
 * a buffer maps as shared anonymous memory, populated at mmap time.  INFO
 * reports fake.phys as the physical address; with NUMABUF_FAKE_PHYS=pagemap
 * in the environment it reports instead, to root only, the frame of the
 * first page per /proc/self/pagemap (the pages are not contiguous, though).
 * Other file descriptors go to the real calls.
 *
 * It tests the library's side only: arguments the module would refuse
 * are counted in fake.bad_args.  The state is per process, so unlike the
 * module's it is not shared with fork children.
 */
#ifndef NUMABUF_FAKE_DEVICE_H
#define NUMABUF_FAKE_DEVICE_H

#include <pthread.h>
#include <stdint.h>

#define FAKE_NODES		2
#define FAKE_MAX_NUMNODES	1024
#define FAKE_MAX_BYTES		(4UL << 20)
#define FAKE_HANDLES		4096
#define FAKE_OFFSET_SHIFT	40

struct fake_device {
	pthread_mutex_t lock;
	struct {
		uint64_t length;
		int node;
		unsigned int flags;
		int live;
		void *addr;		/* first mapping, or NULL */
	} h[FAKE_HANDLES];
	unsigned int next_handle;
	unsigned int live;		/* handles not yet freed */
	unsigned int frees;		/* successful FREE ioctls */
	unsigned int bad_args;		/* arguments the module would refuse */
	uint64_t phys;			/* what INFO reports (0: unprivileged) */
	int phys_pagemap;		/* NUMABUF_FAKE_PHYS=pagemap */
	int fail_mmap;			/* errno for the next mmap, or 0 */
};

extern struct fake_device fake;

/* Handles not yet freed, under the lock. */
unsigned int fake_live(void);

#endif /* NUMABUF_FAKE_DEVICE_H */
