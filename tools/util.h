/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * numabufctl helpers that need no device: sizes, node ids and node lists.
 * All return 0 (or a length) on success and a negative errno on failure.
 */
#ifndef NUMABUFCTL_UTIL_H
#define NUMABUFCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any format_size() result: "18446744073709551615B" + NUL. */
#define SIZE_STRLEN	24

/*
 * Parse a size: decimal digits with an optional fraction and an optional
 * unit B, K, KiB, M, MiB, G, GiB, T, TiB (case-insensitive; K/M/G/T are
 * powers of 1024), e.g. 4096, 4K, 4KiB, 1.5M, 2G.  No sign, no spaces, at
 * most 19 fraction digits (trailing zeros aside), and the result must be
 * a whole number of bytes.  -EINVAL for anything else, -ERANGE above 2^64 - 1.
 */
int parse_size(const char *s, uint64_t *bytes);

/*
 * Format @bytes in the largest unit it reaches: "512B", "4KiB", "1.5MiB".
 * Exact multiples print without a fraction, anything else with one
 * rounded decimal.  The exact forms read back with parse_size().
 * Returns the length, or -ENOSPC if @len is too small.
 */
int format_size(uint64_t bytes, char *buf, size_t len);

/* Parse a node id (0 to INT_MAX) or "local" (NUMABUF_NODE_LOCAL). */
int parse_node(const char *s, int *node);

/*
 * Node (or CPU) lists in the kernel's and numactl's syntax, "0-3,5", held
 * in a bitmap of @nbits bits.  The empty string is the empty set.
 */
#define LIST_WORDS(nbits)	(((nbits) + 63) / 64)

static inline int list_test(const uint64_t *map, unsigned int bit)
{
	return (map[bit / 64] >> (bit % 64)) & 1;
}

static inline void list_set(uint64_t *map, unsigned int bit)
{
	map[bit / 64] |= (uint64_t)1 << (bit % 64);
}

/* Parse @s into @map; -EINVAL on bad syntax, -ERANGE for ids >= @nbits. */
int list_parse(const char *s, uint64_t *map, unsigned int nbits);

/* The name of a NUMABUF_SOURCE_*, or NULL for one this tool does not know. */
const char *source_name(uint32_t source);

/* Format @map into @buf; returns the length or -ENOSPC. */
int list_format(const uint64_t *map, unsigned int nbits, char *buf,
		size_t len);

#endif /* NUMABUFCTL_UTIL_H */
