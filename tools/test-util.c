// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host unit tests of tools/util.c: size parsing and formatting, node ids,
 * numbers, node lists, flag and errno names.  TAP output; exit status 0
 * when every test passes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/numabuf.h>

#include "util.h"

static int tests, failures;

__attribute__((format(printf, 2, 3)))
static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!cond)
		failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define KiB	(UINT64_C(1) << 10)
#define MiB	(UINT64_C(1) << 20)
#define GiB	(UINT64_C(1) << 30)
#define TiB	(UINT64_C(1) << 40)

static void size_ok(const char *s, uint64_t want)
{
	uint64_t got = 0;
	int err = parse_size(s, &got);

	ok(!err && got == want, "parse_size(\"%s\") = %" PRIu64
	   " (err %d, got %" PRIu64 ")", s, want, err, got);
}

static void size_bad(const char *s, int want)
{
	uint64_t got = 12345;
	int err = parse_size(s, &got);

	ok(err == want && got == 12345, "parse_size(\"%s\") fails with %d "
	   "(got %d)", s, want, err);
}

static void test_parse_size(void)
{
	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("4K", 4 * KiB);
	size_ok("4k", 4 * KiB);
	size_ok("4KiB", 4 * KiB);
	size_ok("4kib", 4 * KiB);
	size_ok("64K", 64 * KiB);
	size_ok("1.5M", 3 * MiB / 2);
	size_ok("1.50M", 3 * MiB / 2);
	size_ok("1.0", 1);
	size_ok("2G", 2 * GiB);
	size_ok("2GiB", 2 * GiB);
	size_ok("1T", TiB);
	size_ok("0.5K", 512);
	size_ok("0.25KiB", 256);
	size_ok("512B", 512);
	size_ok("007", 7);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("16777215T", 16777215 * TiB);
	size_ok("16777215.5T", 16777215 * TiB + TiB / 2);
	size_ok("0.0000019073486328125M", 2);	/* 2^-19 MiB: 19 digits */
	size_ok("0.00000190734863281250000M", 2);

	size_bad("", -EINVAL);
	size_bad("K", -EINVAL);
	size_bad("-1", -EINVAL);
	size_bad("+1", -EINVAL);
	size_bad(" 1", -EINVAL);
	size_bad("1 ", -EINVAL);
	size_bad("4 K", -EINVAL);
	size_bad("4KB", -EINVAL);
	size_bad("4Ki", -EINVAL);
	size_bad("4X", -EINVAL);
	size_bad("4K4", -EINVAL);
	size_bad("0x10", -EINVAL);
	size_bad("1e3", -EINVAL);
	size_bad(".5K", -EINVAL);
	size_bad("1.K", -EINVAL);
	size_bad("1..5K", -EINVAL);
	size_bad("1.5", -EINVAL);	/* not a whole number of bytes */
	size_bad("1.5B", -EINVAL);
	size_bad("1.1K", -EINVAL);	/* 1126.4 bytes */
	size_bad("0.0001K", -EINVAL);
	size_bad("18446744073709551616", -ERANGE);
	size_bad("99999999999999999999999", -ERANGE);
	size_bad("99999999999999999999999X", -EINVAL);
	size_bad("16777216T", -ERANGE);
	size_bad("17179869184G", -ERANGE);
	size_bad("16777215.9999999999999999999999T", -EINVAL);
	size_bad("0.00000095367431640625M", -EINVAL);	/* 20 digits */
}

static void fmt_ok(uint64_t bytes, const char *want)
{
	char buf[SIZE_STRLEN];
	int n = format_size(bytes, buf, sizeof(buf));

	ok(n == (int)strlen(want) && !strcmp(buf, want),
	   "format_size(%" PRIu64 ") = \"%s\" (got \"%s\", %d)", bytes, want,
	   n >= 0 ? buf : "", n);
}

static void test_format_size(void)
{
	static const uint64_t round_trip[] = {
		0, 1, 512, 1023, 4096, 65536, 2 * MiB, 4 * MiB, 3 * MiB / 2,
		5 * GiB / 2, 7 * TiB, UINT64_MAX,
	};
	char buf[SIZE_STRLEN];
	uint64_t back;
	size_t i;

	fmt_ok(0, "0B");
	fmt_ok(1, "1B");
	fmt_ok(1023, "1023B");
	fmt_ok(1024, "1KiB");
	fmt_ok(1025, "1.0KiB");
	fmt_ok(1536, "1.5KiB");
	fmt_ok(4096, "4KiB");
	fmt_ok(64 * KiB, "64KiB");
	fmt_ok(2 * MiB, "2MiB");
	fmt_ok(4 * MiB, "4MiB");
	fmt_ok(3 * MiB / 2, "1.5MiB");
	fmt_ok(MiB - 1, "1.0MiB");	/* 1023.999KiB rounds up a unit */
	fmt_ok(16322464 * KiB, "15.6GiB");
	fmt_ok(TiB, "1TiB");
	fmt_ok(UINT64_C(1) << 50, "1PiB");
	fmt_ok(UINT64_C(1) << 60, "1EiB");
	fmt_ok(UINT64_MAX, "16.0EiB");

	ok(format_size(4 * MiB, buf, 4) == -ENOSPC, "format_size: -ENOSPC");

	/* Exact forms read back. */
	for (i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++) {
		uint64_t v = round_trip[i];

		format_size(v, buf, sizeof(buf));
		if (strchr(buf, '.') && v != 3 * MiB / 2 && v != 5 * GiB / 2)
			continue;	/* rounded: not expected to round-trip */
		ok(!parse_size(buf, &back) && back == v,
		   "round trip %" PRIu64 " -> \"%s\"", v, buf);
	}
}

static void node_ok(const char *s, int want)
{
	int node = -7, err = parse_node(s, &node);

	ok(!err && node == want, "parse_node(\"%s\") = %d (err %d, got %d)",
	   s, want, err, node);
}

static void node_bad(const char *s)
{
	int node = -7, err = parse_node(s, &node);

	ok(err < 0 && node == -7, "parse_node(\"%s\") fails (err %d)", s,
	   err);
}

static void test_parse_node(void)
{
	node_ok("0", 0);
	node_ok("1", 1);
	node_ok("1000", 1000);
	node_ok("2147483647", 2147483647);
	node_ok("local", NUMABUF_NODE_LOCAL);
	node_bad("");
	node_bad("-1");
	node_bad("Local");
	node_bad("loc");
	node_bad("1x");
	node_bad(" 1");
	node_bad("2147483648");
	node_bad("99999999999999999999999");
}

static void u64_ok(const char *s, uint64_t max, uint64_t want)
{
	uint64_t got = 7;
	int err = parse_u64(s, max, &got);

	ok(!err && got == want, "parse_u64(\"%s\", %" PRIu64 ") = %" PRIu64
	   " (err %d, got %" PRIu64 ")", s, max, want, err, got);
}

static void u64_bad(const char *s, uint64_t max, int want)
{
	uint64_t got = 7;
	int err = parse_u64(s, max, &got);

	ok(err == want && got == 7, "parse_u64(\"%s\", %" PRIu64 ") fails "
	   "with %d (got %d)", s, max, want, err);
}

static void test_parse_u64(void)
{
	u64_ok("0", 10, 0);
	u64_ok("10", 10, 10);
	u64_ok("007", 10, 7);
	u64_ok("4294967295", UINT32_MAX, UINT32_MAX);
	u64_ok("18446744073709551615", UINT64_MAX, UINT64_MAX);
	u64_bad("", 10, -EINVAL);
	u64_bad("-1", 10, -EINVAL);
	u64_bad("+1", 10, -EINVAL);
	u64_bad(" 1", 10, -EINVAL);
	u64_bad("1 ", 10, -EINVAL);
	u64_bad("1.5", 10, -EINVAL);
	u64_bad("1K", 10, -EINVAL);
	u64_bad("0x10", 100, -EINVAL);
	u64_bad("11", 10, -ERANGE);
	u64_bad("4294967296", UINT32_MAX, -ERANGE);
	u64_bad("18446744073709551616", UINT64_MAX, -ERANGE);
	u64_bad("99999999999999999999x", UINT64_MAX, -EINVAL);
}

#define NBITS	128

static void list_ok(const char *s, const char *canon, unsigned int count)
{
	uint64_t map[LIST_WORDS(NBITS)];
	char buf[256];
	unsigned int i, n = 0;
	int err, len;

	err = list_parse(s, map, NBITS);
	for (i = 0; i < NBITS; i++)
		n += (unsigned int)list_test(map, i);
	len = err ? -1 : list_format(map, NBITS, buf, sizeof(buf));
	ok(!err && n == count && len == (int)strlen(canon) &&
	   !strcmp(buf, canon), "list \"%s\" -> %u ids, \"%s\" (err %d, "
	   "%u ids, \"%s\")", s, count, canon, err, n, len >= 0 ? buf : "");
}

static void list_bad(const char *s, int want)
{
	uint64_t map[LIST_WORDS(NBITS)];
	int err = list_parse(s, map, NBITS);
	char shown[64];
	size_t i, n = 0;

	/* Keep the TAP line on one line. */
	for (i = 0; s[i] && n + 3 < sizeof(shown); i++) {
		if (s[i] == '\n') {
			shown[n++] = '\\';
			shown[n++] = 'n';
		} else {
			shown[n++] = s[i];
		}
	}
	shown[n] = '\0';
	ok(err == want, "list_parse(\"%s\") fails with %d (got %d)", shown,
	   want, err);
}

static void test_lists(void)
{
	uint64_t map[LIST_WORDS(NBITS)];
	char buf[8];
	unsigned int i;

	list_ok("", "", 0);
	list_ok("0", "0", 1);
	list_ok("0-3", "0-3", 4);
	list_ok("0-3,5", "0-3,5", 5);
	list_ok("0,1", "0-1", 2);
	list_ok("5,0-3", "0-3,5", 5);
	list_ok("0-1,1-2", "0-2", 3);
	list_ok("3-3", "3", 1);
	list_ok("1,3,5,7", "1,3,5,7", 4);
	list_ok("0-63", "0-63", 64);
	list_ok("63-64", "63-64", 2);
	list_ok("0-127", "0-127", 128);
	list_ok("127", "127", 1);
	list_ok("0,2-4,64-66,127", "0,2-4,64-66,127", 8);

	list_bad(",", -EINVAL);
	list_bad("0,", -EINVAL);
	list_bad(",0", -EINVAL);
	list_bad("0,,1", -EINVAL);
	list_bad("0-", -EINVAL);
	list_bad("-1", -EINVAL);
	list_bad("3-1", -EINVAL);
	list_bad("0 ", -EINVAL);
	list_bad("0\n", -EINVAL);	/* callers strip the newline */
	list_bad("a", -EINVAL);
	list_bad("0-3x", -EINVAL);
	list_bad("128", -ERANGE);
	list_bad("0-128", -ERANGE);
	list_bad("99999999999999999999999", -ERANGE);

	memset(map, 0, sizeof(map));
	for (i = 0; i < NBITS; i += 2)
		list_set(map, i);
	ok(list_count(map, NBITS) == NBITS / 2, "list_count: every other id");
	ok(list_format(map, NBITS, buf, sizeof(buf)) == -ENOSPC,
	   "list_format: -ENOSPC");
	memset(map, 0, sizeof(map));
	ok(list_format(map, NBITS, buf, 1) == 0 && !*buf,
	   "list_format: empty set in a 1-byte buffer");
}

static void nodelist_ok(const char *s, const char *canon, unsigned int count)
{
	uint64_t map[LIST_WORDS(NBITS)];
	char buf[256];
	int err, len = -1;

	memset(map, 0xff, sizeof(map));
	err = parse_nodelist(s, map, NBITS);
	if (!err)
		len = list_format(map, NBITS, buf, sizeof(buf));
	ok(!err && list_count(map, NBITS) == count && len >= 0 &&
	   !strcmp(buf, canon), "parse_nodelist(\"%s\") = \"%s\", %u ids "
	   "(err %d, \"%s\")", s, canon, count, err, len >= 0 ? buf : "");
}

static void nodelist_bad(const char *s, int want)
{
	uint64_t map[LIST_WORDS(NBITS)];
	int err = parse_nodelist(s, map, NBITS);

	ok(err == want, "parse_nodelist(\"%s\") fails with %d (got %d)", s,
	   want, err);
}

static void test_nodelists(void)
{
	nodelist_ok("0", "0", 1);
	nodelist_ok("0-3,5", "0-3,5", 5);
	nodelist_ok("5,0-3", "0-3,5", 5);
	nodelist_ok("1,1", "1", 1);
	nodelist_ok("127", "127", 1);
	nodelist_ok("all", "0-127", NBITS);

	nodelist_bad("", -EINVAL);
	nodelist_bad("All", -EINVAL);
	nodelist_bad("all,1", -EINVAL);
	nodelist_bad("al", -EINVAL);
	nodelist_bad("!0", -EINVAL);	/* numactl's negation: not taken */
	nodelist_bad("+0", -EINVAL);	/* numactl's relative ids: neither */
	nodelist_bad("local", -EINVAL);
	nodelist_bad("0-3,", -EINVAL);
	nodelist_bad("0 - 3", -EINVAL);
	nodelist_bad("3-1", -EINVAL);
	nodelist_bad("-1", -EINVAL);
	nodelist_bad("x", -EINVAL);
	nodelist_bad("128", -ERANGE);
	nodelist_bad("0-1000", -ERANGE);
	nodelist_bad("4294967296", -ERANGE);
}

static void flags_ok(uint32_t flags, const char *want)
{
	char buf[FLAGS_STRLEN];
	int n = format_flags(flags, buf, sizeof(buf));

	ok(n == (int)strlen(want) && !strcmp(buf, want),
	   "format_flags(%#x) = \"%s\" (got \"%s\", %d)", flags, want,
	   n >= 0 ? buf : "", n);
}

static void test_names(void)
{
	char buf[8];

	flags_ok(0, "");
	flags_ok(NUMABUF_F_PREFERRED, "preferred");
	flags_ok(NUMABUF_F_POOL, "pool");
	flags_ok(NUMABUF_F_NO_POOL, "no-pool");
	flags_ok(NUMABUF_F_HUGE_MAP, "huge-map");
	flags_ok(NUMABUF_F_PREFERRED | NUMABUF_F_HUGE_MAP, "preferred,huge-map");
	flags_ok(NUMABUF_F_POOL | 0x30, "pool,dma32,wc");
	flags_ok(NUMABUF_F_UC | 0x180, "uc,0x180");
	flags_ok(0x80000000, "0x80000000");
	flags_ok(UINT32_MAX,
		 "preferred,pool,no-pool,huge-map,dma32,wc,uc,0xffffff80");
	ok(format_flags(NUMABUF_F_NO_POOL | NUMABUF_F_HUGE_MAP, buf,
			sizeof(buf)) == -ENOSPC, "format_flags: -ENOSPC");
	ok(format_flags(0x100, buf, 4) == -ENOSPC,
	   "format_flags: -ENOSPC for the hex rest");
	ok(!flag_name(0) && !flag_name(0x80) &&
	   !flag_name(NUMABUF_F_POOL | NUMABUF_F_NO_POOL),
	   "flag_name: NULL for no bit, an unknown bit and two bits");

	ok(!strcmp(source_name(NUMABUF_SOURCE_PAGES), "pages") &&
	   !strcmp(source_name(NUMABUF_SOURCE_RANGE), "range") &&
	   !strcmp(source_name(NUMABUF_SOURCE_POOL), "pool") &&
	   !source_name(0) && !source_name(4), "source_name");

	ok(!strcmp(errno_name(ENOMEM), "ENOMEM") &&
	   !strcmp(errno_name(EDQUOT), "EDQUOT") &&
	   !strcmp(errno_name(EPERM), "EPERM") &&
	   !strcmp(errno_name(EINTR), "EINTR"), "errno_name: known");
	ok(!errno_name(0) && !errno_name(-ENOMEM) && !errno_name(4095),
	   "errno_name: NULL for others");
}

/* The integer timing helpers of the benchmark. */
static void test_timing(void)
{
	uint64_t odd[] = { 9, 1, 5 }, even[] = { 40, 10, 30, 21 };
	uint64_t ten[10], t0, t1;
	unsigned int i;

	ok(median_u64(odd, 3) == 5 && odd[0] == 1 && odd[2] == 9,
	   "median_u64 of 3 is the middle one, sorted in place");
	ok(median_u64(even, 4) == 25, "median_u64 of 4: mean of 21 and 30, rounded down");
	for (i = 0; i < 10; i++)
		ten[i] = 100 + i;
	ok(percentile_u64(ten, 10, 90) == 108, "p90 of 10 is the 9th");
	ok(percentile_u64(ten, 10, 50) == 104, "p50 of 10 is the 5th");
	ok(percentile_u64(ten, 5, 90) == 104, "p90 of 5 is the largest");
	ok(percentile_u64(ten, 1, 90) == 100, "p90 of 1 is the one");
	t0 = mono_ns();
	t1 = mono_ns();
	ok(t0 > 0 && t1 >= t0, "mono_ns does not go back");
}

int main(void)
{
	test_timing();
	test_parse_size();
	test_format_size();
	test_parse_node();
	test_parse_u64();
	test_lists();
	test_nodelists();
	test_names();

	printf("1..%d\n", tests);
	if (failures)
		fprintf(stderr, "test-util: %d of %d tests failed\n",
			failures, tests);
	return failures ? 1 : 0;
}
