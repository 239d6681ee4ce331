/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * numabufctl helpers that need no device: sizes, node ids and node lists,
 * the names of flags, sources and errnos.
 * All return 0 (or a length) on success and a negative errno on failure.
 */
#ifndef NUMABUFCTL_UTIL_H
#define NUMABUFCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any format_size() result: "18446744073709551615B" + NUL. */
#define SIZE_STRLEN	24
/* Enough for any format_flags() result: every name and "0xfffffff0". */
#define FLAGS_STRLEN	64

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
 * Parse a whole decimal number, digits only (no sign, no spaces), up to
 * @max: -EINVAL for anything else, -ERANGE above @max.
 */
int parse_u64(const char *s, uint64_t max, uint64_t *v);

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

/*
 * Parse a node list as a user gives it, in numactl's syntax: "0-3,5", or
 * "all" for every id below @nbits.  As list_parse(), except that the
 * empty list is -EINVAL.
 */
int parse_nodelist(const char *s, uint64_t *map, unsigned int nbits);

/* How many ids @map holds. */
unsigned int list_count(const uint64_t *map, unsigned int nbits);

/* The name of a NUMABUF_SOURCE_*, or NULL for one this tool does not know. */
const char *source_name(uint32_t source);

/* The name of one NUMABUF_F_* bit ("huge-map"), or NULL for another. */
const char *flag_name(uint32_t flag);

/*
 * The names of the NUMABUF_F_* bits of @flags, comma separated in the
 * order of the bits, "preferred,pool"; bits without a name as one hex
 * number at the end ("pool,0x30").  "" for 0.  Returns the length or
 * -ENOSPC.
 */
int format_flags(uint32_t flags, char *buf, size_t len);

/* "ENOMEM" for ENOMEM, or NULL for an errno this tool has no name for. */
const char *errno_name(int err);

/* Format @map into @buf; returns the length or -ENOSPC. */
int list_format(const uint64_t *map, unsigned int nbits, char *buf,
		size_t len);

/* Benchmarks: CLOCK_MONOTONIC in seconds; the median of @v (sorted in
 * place), -1 when @n is 0. */
double mono_now(void);
double median_of(double *v, int n);

/*
 * The same in nanoseconds, for timings kept as integers: CLOCK_MONOTONIC;
 * the median of @v (sorted in place; the mean of the middle two, rounded
 * down, for an even count; @n > 0); and the nearest-rank percentile @pct
 * of @v already sorted (the largest value when @n < 100 / (100 - @pct)).
 */
uint64_t mono_ns(void);
uint64_t median_u64(uint64_t *v, unsigned int n);
uint64_t percentile_u64(const uint64_t *v, unsigned int n, unsigned int pct);

#endif /* NUMABUFCTL_UTIL_H */
