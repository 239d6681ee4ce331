// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl helpers that need no device: sizes, node ids and node lists,
 * the names of flags, sources and errnos.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <linux/numabuf.h>

#include "util.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read decimal digits at *sp into *val.  At least one digit; -ERANGE when
 * the value exceeds @max.
 */
static int parse_decimal(const char **sp, uint64_t max, uint64_t *val)
{
	const char *s = *sp;
	uint64_t v = 0;
	int err = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v) ||
		    v > max)
			err = -ERANGE;	/* keep going: garbage beats overflow */
	}
	*sp = s;
	*val = v;
	return err;
}

static const struct {
	const char *name;
	unsigned int shift;
} size_units[] = {
	{ "",	 0 }, { "B", 0 },
	{ "K",	10 }, { "KiB", 10 },
	{ "M",	20 }, { "MiB", 20 },
	{ "G",	30 }, { "GiB", 30 },
	{ "T",	40 }, { "TiB", 40 },
};

int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t ipart, fpart = 0, pow5 = 1, frac, total;
	unsigned int shift, digits = 0;
	const char *unit;
	size_t i;
	int err;

	err = parse_decimal(&s, UINT64_MAX, &ipart);
	if (err == -EINVAL)
		return err;

	if (*s == '.') {
		const char *f = ++s, *end;

		if (!is_digit(*s))
			return -EINVAL;
		while (is_digit(*s))
			s++;
		/* Trailing zeros say nothing: 1.50 is 1.5. */
		for (end = s; end > f && end[-1] == '0'; end--)
			;
		for (; f < end; f++) {
			if (++digits > 19)
				return -EINVAL;
			fpart = fpart * 10 + (uint64_t)(*f - '0');
			pow5 *= 5;
		}
	}

	unit = s;
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
		if (!strcasecmp(unit, size_units[i].name))
			break;
	if (i == sizeof(size_units) / sizeof(size_units[0]))
		return -EINVAL;
	if (err)
		return err;
	shift = size_units[i].shift;

	/*
	 * fpart / 10^digits of 2^shift bytes is a whole number only when
	 * 5^digits divides fpart and digits <= shift; it is then
	 * (fpart / 5^digits) << (shift - digits), less than 2^shift.
	 */
	if (fpart % pow5 || digits > shift)
		return -EINVAL;
	frac = (fpart / pow5) << (shift - digits);

	if (shift && ipart > (UINT64_MAX >> shift))
		return -ERANGE;
	if (__builtin_add_overflow(ipart << shift, frac, &total))
		return -ERANGE;

	*bytes = total;
	return 0;
}

int format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	unsigned int u = 0;
	uint64_t q, tenths;
	int n;

	while (u + 1 < sizeof(names) / sizeof(names[0]) &&
	       bytes >> (10 * (u + 1)))
		u++;

	q = bytes >> (10 * u);
	if (u == 0 || !(bytes & ((UINT64_C(1) << (10 * u)) - 1))) {
		n = snprintf(buf, len, "%llu%s", (unsigned long long)q,
			     names[u]);
	} else {
		uint64_t unit = UINT64_C(1) << (10 * u);
		uint64_t r = bytes & (unit - 1);

		/* r * 10 < 10 * 2^60 fits: no overflow even for EiB. */
		tenths = q * 10 + (r * 10 + unit / 2) / unit;
		/* 1023.96KiB rounds to 1024.0KiB: say 1.0MiB instead. */
		if (tenths >= 10240 && u + 1 < sizeof(names) / sizeof(names[0])) {
			u++;
			tenths = 10;
		}
		n = snprintf(buf, len, "%llu.%llu%s",
			     (unsigned long long)(tenths / 10),
			     (unsigned long long)(tenths % 10), names[u]);
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int parse_node(const char *s, int *node)
{
	uint64_t v;
	int err;

	if (!strcmp(s, "local")) {
		*node = NUMABUF_NODE_LOCAL;
		return 0;
	}
	err = parse_decimal(&s, INT_MAX, &v);
	if (err == -EINVAL || *s)
		return -EINVAL;
	if (err)
		return err;
	*node = (int)v;
	return 0;
}

int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t val;
	int err;

	err = parse_decimal(&s, max, &val);
	if (err == -EINVAL || *s)
		return -EINVAL;
	if (err)
		return err;
	*v = val;
	return 0;
}

int list_parse(const char *s, uint64_t *map, unsigned int nbits)
{
	uint64_t first, last, i;
	int err;

	memset(map, 0, LIST_WORDS(nbits) * sizeof(*map));
	if (!*s)
		return 0;

	for (;;) {
		err = parse_decimal(&s, UINT64_MAX, &first);
		if (err)
			return err;
		last = first;
		if (*s == '-') {
			s++;
			err = parse_decimal(&s, UINT64_MAX, &last);
			if (err)
				return err;
			if (last < first)
				return -EINVAL;
		}
		if (*s && *s != ',')
			return -EINVAL;
		if (last >= nbits)
			return -ERANGE;
		for (i = first; i <= last; i++)
			list_set(map, (unsigned int)i);
		if (!*s)
			return 0;
		s++;
	}
}

int parse_nodelist(const char *s, uint64_t *map, unsigned int nbits)
{
	unsigned int i;

	if (!strcmp(s, "all")) {
		memset(map, 0, LIST_WORDS(nbits) * sizeof(*map));
		for (i = 0; i < nbits; i++)
			list_set(map, i);
		return 0;
	}
	if (!*s)
		return -EINVAL;
	return list_parse(s, map, nbits);
}

unsigned int list_count(const uint64_t *map, unsigned int nbits)
{
	unsigned int i, n = 0;

	for (i = 0; i < nbits; i++)
		n += (unsigned int)list_test(map, i);
	return n;
}

int list_format(const uint64_t *map, unsigned int nbits, char *buf,
		size_t len)
{
	unsigned int first, last;
	size_t pos = 0;
	int n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';

	for (first = 0; first < nbits; first = last + 1) {
		if (!list_test(map, first)) {
			last = first;
			continue;
		}
		for (last = first; last + 1 < nbits && list_test(map, last + 1);
		     last++)
			;
		if (last == first)
			n = snprintf(buf + pos, len - pos, "%s%u",
				     pos ? "," : "", first);
		else
			n = snprintf(buf + pos, len - pos, "%s%u-%u",
				     pos ? "," : "", first, last);
		if (n < 0 || (size_t)n >= len - pos)
			return -ENOSPC;
		pos += (size_t)n;
	}
	return (int)pos;
}

const char *source_name(uint32_t source)
{
	switch (source) {
	case NUMABUF_SOURCE_PAGES:
		return "pages";
	case NUMABUF_SOURCE_RANGE:
		return "range";
	case NUMABUF_SOURCE_POOL:
		return "pool";
	default:
		return NULL;	/* a module that does not say */
	}
}

const char *flag_name(uint32_t flag)
{
	switch (flag) {
	case NUMABUF_F_PREFERRED:
		return "preferred";
	case NUMABUF_F_POOL:
		return "pool";
	case NUMABUF_F_NO_POOL:
		return "no-pool";
	case NUMABUF_F_HUGE_MAP:
		return "huge-map";
	case NUMABUF_F_DMA32:
		return "dma32";
	case NUMABUF_F_WC:
		return "wc";
	case NUMABUF_F_UC:
		return "uc";
	default:
		return NULL;
	}
}

int format_flags(uint32_t flags, char *buf, size_t len)
{
	uint32_t unknown = 0, bit;
	size_t pos = 0;
	const char *name;
	int n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	for (bit = 1; bit; bit <<= 1) {
		if (!(flags & bit))
			continue;
		name = flag_name(bit);
		if (!name) {
			unknown |= bit;
			continue;
		}
		n = snprintf(buf + pos, len - pos, "%s%s", pos ? "," : "",
			     name);
		if (n < 0 || (size_t)n >= len - pos)
			return -ENOSPC;
		pos += (size_t)n;
	}
	if (unknown) {
		n = snprintf(buf + pos, len - pos, "%s%#x", pos ? "," : "",
			     unknown);
		if (n < 0 || (size_t)n >= len - pos)
			return -ENOSPC;
		pos += (size_t)n;
	}
	return (int)pos;
}

const char *errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
#define E(x) { x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES),
		E(EFAULT), E(EBUSY), E(EEXIST), E(ENODEV), E(EINVAL),
		E(ENOSPC), E(ENOTTY), E(EFBIG), E(ERANGE), E(ENOSYS),
		E(EOPNOTSUPP), E(EOVERFLOW), E(ETIMEDOUT), E(EDQUOT),
		E(EPROTO), E(ENOBUFS), E(EMSGSIZE),
#undef E
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return NULL;
}

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median_of(double *v, int n)
{
	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t median_u64(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t percentile_u64(const uint64_t *v, unsigned int n, unsigned int pct)
{
	unsigned int rank = (pct * n + 99) / 100;

	return v[rank ? rank - 1 : 0];
}
