/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NUMABUFCTL_VERIFY_H
#define NUMABUFCTL_VERIFY_H

#include <stddef.h>

/*
 * What the kernel says about a mapped buffer, learned without asking
 * numabuf: the node of every page from move_pages(2), the page frames from
 * /proc/self/pagemap.
 */
struct verify_result {
	size_t pages;		/* pages checked */
	size_t on_node;		/* pages move_pages() puts on the node */
	int other_node;		/* a node found instead, or -1 */
	size_t unplaced;	/* pages move_pages() gave no node for */
	int unplaced_err;	/* the first one's status (-errno), or 0 */
	int contiguous;		/* 1 yes, 0 no, -1 unknown: */
	int hidden;		/* 1 frames hidden (no CAP_SYS_ADMIN), 0 a
				 * page not in pagemap (PFN mappings) */
	size_t runs;		/* physically contiguous runs, 0 if unknown */
};

int verify_buffer(const void *addr, size_t len, int node,
		  struct verify_result *res);

#endif
