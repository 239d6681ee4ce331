// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf-bench: what it costs to get node-local, pinned memory ready for
 * DMA, with numabuf and with what people use instead (bench.h says how the
 * files divide the work).  This file: the options, the table of methods,
 * and the run over them, method by method, size by size.
 *
 * Exit status: 0 the run completed (whatever failed inside it is in the
 * report), 1 error (output files, setup), 2 usage error, 130 interrupted.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

#define EXIT_USAGE	2
#define EXIT_STOPPED	130

#define DEF_ITERATIONS	30
#define DEF_MIN_ITERS	5
#define QUICK_ITERS	5
#define QUICK_MIN_ITERS	2

/* Long options without a short form. */
enum {
	OPT_CSV = 1000,
	OPT_JSON,
	OPT_MIN_ITERS,
	OPT_RESERVE_HUGE,
	OPT_NO_PIN,
	OPT_LIST,
};

const char *prog = "numabuf-bench";
volatile sig_atomic_t stop;

static const uint64_t default_sizes[] = {
	4 * KIB, 64 * KIB, 2 * MIB, 4 * MIB, 64 * MIB, 256 * MIB, 1 * GIB,
};

static const uint64_t quick_sizes[] = { 4 * KIB, 2 * MIB, 64 * MIB };

/* Every method, by its M_* index: the order they run and are reported in. */
const struct method *const methods[M_COUNT] = {
	[M_POOL] = &method_pool,
	[M_POOL_HUGE] = &method_pool_huge,
	[M_IOCTL_POOL] = &method_ioctl_pool,
	[M_GENERAL] = &method_general,
	[M_GENERAL_HUGE] = &method_general_huge,
	[M_IOCTL_GENERAL] = &method_ioctl_general,
	[M_HUGE] = &method_hugetlb,
	[M_MALLOC] = &method_malloc,
	[M_HEAP] = &method_heap,
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t timer_cost(void)
{
	uint64_t d[101], t, prev;
	unsigned int i;

	prev = mono_ns();
	for (i = 0; i < 101; i++) {
		t = mono_ns();
		d[i] = t - prev;
		prev = t;
	}
	return median_u64(d, 101);
}

/* Run on the node's CPUs: where a process using the buffer would be. */
static void pin_to_node(struct bench *b)
{
	uint64_t map[LIST_WORDS(CPU_SETSIZE)];
	char path[128], list[sizeof(b->cpus) - 32];
	cpu_set_t set;
	unsigned int cpu;
	bool any = false;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/cpulist", b->node);
	memset(map, 0, sizeof(map));
	if (read_line(path, list, sizeof(list)) ||
	    list_parse(list, map, CPU_SETSIZE))
		return;
	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (list_test(map, cpu)) {
			CPU_SET(cpu, &set);
			any = true;
		}
	}
	if (any && !sched_setaffinity(0, sizeof(set), &set))
		snprintf(b->cpus, sizeof(b->cpus), "pinned to CPUs %s", list);
}

static int parse_sizes(struct bench *b, char *arg)
{
	char *tok, *save = NULL;
	uint64_t v;

	b->nsizes = 0;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (b->nsizes == MAX_SIZES || parse_size(tok, &v) || !v ||
		    v > SIZE_MAX / 2)
			return -EINVAL;
		b->sizes[b->nsizes++] = v;
	}
	return b->nsizes ? 0 : -EINVAL;
}

static int parse_methods(bool *sel, char *arg)
{
	char *tok, *save = NULL;
	unsigned int mi;

	memset(sel, 0, M_COUNT * sizeof(*sel));
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (mi = 0; mi < M_COUNT; mi++) {
			if (!strcmp(tok, "all") || !strcmp(tok, methods[mi]->name)) {
				sel[mi] = true;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int min, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n < min || n > 100000)
		return -EINVAL;
	*v = (unsigned int)n;
	return 0;
}

static void usage(FILE *f)
{
	unsigned int mi;

	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"\n"
		"Time allocate + map + first touch (1 byte per 4 KiB page) + free\n"
		"of node-local memory with numabuf and its alternatives, and the\n"
		"ALLOC ioctl alone; check each method's memory for contiguity\n"
		"(/proc/self/pagemap, needs root) and its node (move_pages(2)).\n"
		"\n"
		"OPTIONS:\n"
		"  -n, --node NODE         node to allocate on (default 0)\n"
		"  -s, --sizes LIST        comma-separated sizes (default\n"
		"                          4K,64K,2M,4M,64M,256M,1G)\n"
		"  -i, --iterations N      timed cycles per size up to 4 MiB\n"
		"                          (default %u); above, N * 4 MiB / size\n"
		"      --min-iterations N  but never fewer than N (default %u)\n"
		"  -q, --quick             sizes 4K,2M,64M (unless --sizes),\n"
		"                          %u cycles, at least %u\n"
		"  -m, --methods LIST      comma-separated, or all (default):\n",
		prog, DEF_ITERATIONS, DEF_MIN_ITERS, QUICK_ITERS,
		QUICK_MIN_ITERS);
	for (mi = 0; mi < M_COUNT; mi++)
		fprintf(f, "                            %s\n", methods[mi]->name);
	fprintf(f,
		"      --reserve-hugepages grow the node's 2 MiB huge page count\n"
		"                          for hugetlb-2m, restore it afterwards\n"
		"      --no-pin            do not run on the node's CPUs\n"
		"      --csv FILE          also write the results as CSV ('-': stdout)\n"
		"      --json FILE         also write them as JSON ('-': stdout)\n"
		"      --list-methods      describe the methods and exit\n"
		"  -V, --version           print the version\n"
		"  -h, --help              this text\n"
		"\n"
		"numabuf-pool raises the node's pool (NUMABUF_IOC_POOL_SET, needs\n"
		"CAP_SYS_ADMIN) to hold the largest size and restores its target at\n"
		"the end.  A method or size that cannot run is reported with the\n"
		"reason.  The device is %s, or $%s when set.\n",
		NUMABUF_DEVICE_PATH, NUMABUF_DEVICE_ENV);
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\nTry '%s --help'.\n", prog, what, arg,
		prog);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "node",		required_argument, NULL, 'n' },
		{ "sizes",		required_argument, NULL, 's' },
		{ "iterations",		required_argument, NULL, 'i' },
		{ "min-iterations",	required_argument, NULL, OPT_MIN_ITERS },
		{ "quick",		no_argument,	   NULL, 'q' },
		{ "methods",		required_argument, NULL, 'm' },
		{ "reserve-hugepages",	no_argument,	   NULL, OPT_RESERVE_HUGE },
		{ "no-pin",		no_argument,	   NULL, OPT_NO_PIN },
		{ "csv",		required_argument, NULL, OPT_CSV },
		{ "json",		required_argument, NULL, OPT_JSON },
		{ "list-methods",	no_argument,	   NULL, OPT_LIST },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct result res[M_COUNT][MAX_SIZES];
	bool sel[M_COUNT], quick = false, sizes_given = false;
	bool iters_given = false, min_given = false;
	char kernel[256], date[64];
	struct sigaction sa;
	struct utsname uts;
	struct bench b;
	unsigned int mi, si;
	time_t t;
	int c, ret = EXIT_SUCCESS;

	memset(&b, 0, sizeof(b));
	b.iterations = DEF_ITERATIONS;
	b.min_iters = DEF_MIN_ITERS;
	b.pin = true;
	b.heap_fd = -1;
	b.huge_orig = -1;
	b.page_size = sysconf(_SC_PAGESIZE);
	memcpy(b.sizes, default_sizes, sizeof(default_sizes));
	b.nsizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	for (mi = 0; mi < M_COUNT; mi++)
		sel[mi] = true;

	while ((c = getopt_long(argc, argv, "n:s:i:qm:Vh", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_node(optarg, &b.node) ||
			    b.node == NUMABUF_NODE_LOCAL ||
			    b.node >= MAX_NODES)
				return usage_error("invalid node", optarg);
			break;
		case 's':
			if (parse_sizes(&b, optarg))
				return usage_error("invalid size list", optarg);
			sizes_given = true;
			break;
		case 'i':
			if (parse_uint(optarg, 1, &b.iterations))
				return usage_error("invalid iteration count",
						   optarg);
			iters_given = true;
			break;
		case OPT_MIN_ITERS:
			if (parse_uint(optarg, 1, &b.min_iters))
				return usage_error("invalid iteration count",
						   optarg);
			min_given = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'm':
			if (parse_methods(sel, optarg))
				return usage_error("invalid method list",
						   optarg);
			break;
		case OPT_RESERVE_HUGE:
			b.reserve_huge = true;
			break;
		case OPT_NO_PIN:
			b.pin = false;
			break;
		case OPT_CSV:
			b.csv_path = optarg;
			break;
		case OPT_JSON:
			b.json_path = optarg;
			break;
		case OPT_LIST:
			for (mi = 0; mi < M_COUNT; mi++)
				printf("%-14s %s\n", methods[mi]->name,
				       methods[mi]->what);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s %s\n", prog, NUMABUF_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (quick) {
		if (!sizes_given) {
			memcpy(b.sizes, quick_sizes, sizeof(quick_sizes));
			b.nsizes = sizeof(quick_sizes) / sizeof(quick_sizes[0]);
		}
		if (!iters_given)
			b.iterations = QUICK_ITERS;
		if (!min_given)
			b.min_iters = QUICK_MIN_ITERS;
	}
	if (b.min_iters > b.iterations)
		b.min_iters = b.iterations;
	b.nodemask[b.node / (8 * sizeof(unsigned long))] |=
		1UL << (b.node % (8 * sizeof(unsigned long)));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uname(&uts);
	snprintf(kernel, sizeof(kernel), "%s", uts.release);
	t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	if (b.pin)
		pin_to_node(&b);
	b.timer_ns = timer_cost();

	for (mi = 0; mi < M_COUNT; mi++) {
		const struct method *m = methods[mi];
		char why[REASON_LEN] = "";
		int err = 0;

		for (si = 0; si < b.nsizes; si++) {
			res[mi][si].size = b.sizes[si];
			res[mi][si].vs_general = NAN;
			res[mi][si].vs_pool = NAN;
		}
		if (!sel[mi])
			continue;
		if (stop) {
			for (si = 0; si < b.nsizes; si++) {
				res[mi][si].status = ST_SKIPPED;
				set_reason(res[mi][si].reason, REASON_LEN,
					   "interrupted");
			}
			continue;
		}
		if (m->setup)
			err = m->setup(&b, why);
		for (si = 0; si < b.nsizes; si++) {
			struct result *r = &res[mi][si];

			if (err) {
				r->status = ST_UNAVAILABLE;
				r->err = err;
				snprintf(r->reason, REASON_LEN, "%s", why);
			} else if (stop) {
				r->status = ST_SKIPPED;
				set_reason(r->reason, REASON_LEN, "interrupted");
			} else {
				run_one(&b, m, b.sizes[si], r);
			}
			progress(m, r);
		}
		if (m->teardown)
			m->teardown(&b);
		/* The pool goes back as soon as no later method needs it. */
		if (m->uses_pool) {
			unsigned int later;
			bool needed = false;

			for (later = mi + 1; later < M_COUNT; later++)
				needed |= sel[later] && methods[later]->uses_pool;
			if (!needed)
				pool_teardown(&b);
		}
	}
	pool_teardown(&b);
	numabuf_close(b.ctx);

	compute_ratios(&b, res, sel);
	print_report(&b, res, sel, kernel, date);
	fflush(stdout);
	if (b.csv_path && write_file(b.csv_path, &b, res, sel, kernel, date,
				     false))
		ret = EXIT_FAILURE;
	if (b.json_path && write_file(b.json_path, &b, res, sel, kernel, date,
				      true))
		ret = EXIT_FAILURE;
	if (b.pool_restore_failed)
		ret = EXIT_FAILURE;
	return stop ? EXIT_STOPPED : ret;
}
