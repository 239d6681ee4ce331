// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: look at NUMA nodes and allocate numabuf buffers.
 *
 *   numabufctl [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * Exit status: 0 success, 1 error, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <numabuf.h>

#include "json.h"
#include "util.h"
#include "verify.h"

/* Long options without a short form. */
#define OPT_VERIFY	1000
#define OPT_POOL	1001
#define OPT_NO_POOL	1002

#ifndef NUMABUF_VERSION
#define NUMABUF_VERSION "unknown"
#endif

#define EXIT_USAGE	2

#define SYSFS_NODE	"/sys/devices/system/node"
#define MAX_NODES	4096	/* above any kernel's MAX_NUMNODES */
#define CPULIST_MAX	65536

static const char *prog = "numabufctl";

static struct {
	int json;
	int pretty;
} opts;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] OBJECT [COMMAND] [ARGS]\n"
		"\n"
		"OBJECT and COMMAND:\n"
		"  nodes [show]        online NUMA nodes: memory and CPUs\n"
		"  alloc --size SIZE [--node NODE] [--preferred] [--pool | --no-pool]\n"
		"        [--verify] [--hold]\n"
		"                      allocate a buffer, print it, free it\n"
		"  pool [show] [NODE]  the pools of the online nodes (or of NODE)\n"
		"  pool set NODE SIZE  make NODE's pool hold SIZE (CAP_SYS_ADMIN);\n"
		"                      growing reserves it at once, shrinking gives\n"
		"                      free memory back\n"
		"  help                this text\n"
		"\n"
		"OPTIONS:\n"
		"  -j, --json          JSON output (sizes in bytes)\n"
		"  -p, --pretty        indent JSON output\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"alloc ARGS:\n"
		"  -s, --size SIZE     bytes, or with a unit: 4096, 4K, 4KiB, 1.5M, 2G\n"
		"                      (K, M, G, T are powers of 1024)\n"
		"  -n, --node NODE     node id, or 'local' (default): the node of\n"
		"                      the CPU making the call\n"
		"  -P, --preferred     NODE is a preference; without it, allocate\n"
		"                      on NODE or fail\n"
		"      --pool          only from the node's pool\n"
		"      --no-pool       never from a pool (by default the pool is\n"
		"                      used when it has room)\n"
		"  -H, --hold          keep the buffer until SIGINT or SIGTERM\n"
		"      --verify        check every page's node with move_pages(2)\n"
		"                      and contiguity with /proc/self/pagemap\n"
		"                      (root); fail if either is wrong\n"
		"\n"
		"The device is %s, or $%s when set.\n",
		prog, NUMABUF_DEVICE_PATH, NUMABUF_DEVICE_ENV);
}

static int try_help(void)
{
	fprintf(stderr, "Try '%s help'.\n", prog);
	return EXIT_USAGE;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return try_help();
}

/* iproute2 style: any non-empty prefix of @word selects it. */
static int matches(const char *arg, const char *word)
{
	size_t len = strlen(arg);

	return len && len <= strlen(word) && !strncmp(arg, word, len);
}

/* Read a small sysfs file into @buf without its trailing newline. */
static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	if (ferror(f))
		err = -EIO;
	else if (n == len - 1 && !feof(f) && fgetc(f) != EOF)
		err = -EFBIG;
	fclose(f);
	if (err)
		return err;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* The online nodes as a bitmap; says why on stderr when it cannot. */
static int read_online(uint64_t *online)
{
	char text[4096];
	int err;

	err = read_text(SYSFS_NODE "/online", text, sizeof(text));
	if (!err)
		err = list_parse(text, online, MAX_NODES);
	if (err)
		fprintf(stderr, "%s: cannot read " SYSFS_NODE "/online: %s\n",
			prog, strerror(-err));
	return err;
}

struct node_info {
	uint64_t mem_total;
	uint64_t mem_free;
	char cpus[CPULIST_MAX];
};

/* nodeN/meminfo lines read "Node 0 MemTotal:   16322464 kB". */
static int read_node_meminfo(int node, struct node_info *ni)
{
	char path[128], line[256], key[64];
	unsigned long long kb;
	int found = 0, id;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/meminfo", node);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d %63[^:]: %llu kB", &id, key, &kb) != 3)
			continue;
		if (!strcmp(key, "MemTotal")) {
			ni->mem_total = (uint64_t)kb << 10;
			found |= 1;
		} else if (!strcmp(key, "MemFree")) {
			ni->mem_free = (uint64_t)kb << 10;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -ENODATA;
}

static int read_node(int node, struct node_info *ni)
{
	char path[128];
	int err;

	err = read_node_meminfo(node, ni);
	if (err) {
		fprintf(stderr, "%s: cannot read " SYSFS_NODE
			"/node%d/meminfo: %s\n", prog, node, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/cpulist", node);
	err = read_text(path, ni->cpus, sizeof(ni->cpus));
	if (err) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, path,
			strerror(-err));
		return err;
	}
	return 0;
}

static int do_nodes(int argc, char **argv)
{
	uint64_t online[LIST_WORDS(MAX_NODES)];
	static struct node_info ni;
	struct json j;
	int node;

	if (argc > 1 && !matches(argv[1], "show") && !matches(argv[1], "list"))
		return usage_error("nodes: unknown command '%s'", argv[1]);
	if (argc > 2)
		return usage_error("nodes: unexpected argument '%s'", argv[2]);

	if (read_online(online))
		return EXIT_FAILURE;

	if (opts.json) {
		json_init(&j, stdout, opts.pretty);
		json_begin_array(&j, NULL);
	}
	for (node = 0; node < MAX_NODES; node++) {
		char total[SIZE_STRLEN], avail[SIZE_STRLEN];

		if (!list_test(online, (unsigned int)node))
			continue;
		if (read_node(node, &ni))
			return EXIT_FAILURE;
		if (opts.json) {
			json_begin_object(&j, NULL);
			json_int(&j, "node", node);
			json_u64(&j, "mem_total", ni.mem_total);
			json_u64(&j, "mem_free", ni.mem_free);
			json_string(&j, "cpus", ni.cpus);
			json_end_object(&j);
		} else {
			format_size(ni.mem_total, total, sizeof(total));
			format_size(ni.mem_free, avail, sizeof(avail));
			printf("node %d mem_total %s mem_free %s cpus %s\n",
			       node, total, avail, *ni.cpus ? ni.cpus : "-");
		}
	}
	if (opts.json) {
		json_end_array(&j);
		json_finish(&j);
	}
	return fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

static const char *alloc_hint(int err)
{
	switch (err) {
	case -ENODEV:
		return " (node not online)";
	case -EINVAL:
		return " (more than the module allows in one buffer)";
	case -ENOMEM:
		return " (no free contiguous block that large; --preferred"
		       " allows other nodes)";
	default:
		return "";
	}
}

static const char *open_hint(int err)
{
	switch (err) {
	case -ENOENT:
		return " (is the numabuf module loaded?)";
	case -EACCES:
	case -EPERM:
		return " (permission denied: root only for now)";
	default:
		return "";
	}
}

static const char *tristate(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

static void print_alloc(const struct numabuf *buf, uint64_t phys,
			uint32_t source, const struct verify_result *vr)
{
	const char *src = source_name(source);
	char size[SIZE_STRLEN];
	struct json j;

	if (opts.json) {
		json_init(&j, stdout, opts.pretty);
		json_begin_object(&j, NULL);
		json_u64(&j, "size", numabuf_size(buf));
		json_int(&j, "node", numabuf_node(buf));
		if (phys)
			json_u64(&j, "phys", phys);
		if (src)
			json_string(&j, "source", src);
		if (vr) {
			json_begin_object(&j, "verify");
			json_u64(&j, "pages", vr->pages);
			json_u64(&j, "pages_on_node", vr->on_node);
			if (vr->contiguous < 0)
				json_null(&j, "contiguous");
			else
				json_bool(&j, "contiguous", vr->contiguous);
			json_end_object(&j);
		}
		json_end_object(&j);
		json_finish(&j);
	} else {
		format_size(numabuf_size(buf), size, sizeof(size));
		printf("size %s node %d phys ", size, numabuf_node(buf));
		if (phys)
			printf("%#" PRIx64, phys);
		else
			printf("-");
		if (src)
			printf(" source %s", src);
		printf("\n");
		if (vr)
			printf("verify pages %zu on_node %zu contiguous %s\n",
			       vr->pages, vr->on_node,
			       tristate(vr->contiguous));
	}
	fflush(stdout);
}

/* Wait for SIGINT or SIGTERM, blocked by the caller. */
static void hold(const sigset_t *set)
{
	int sig;

	while (sigwait(set, &sig))
		;
}

static int do_alloc(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "size",	required_argument,	NULL, 's' },
		{ "node",	required_argument,	NULL, 'n' },
		{ "preferred",	no_argument,		NULL, 'P' },
		{ "hold",	no_argument,		NULL, 'H' },
		{ "verify",	no_argument,		NULL, OPT_VERIFY },
		{ "pool",	no_argument,		NULL, OPT_POOL },
		{ "no-pool",	no_argument,		NULL, OPT_NO_POOL },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *size_arg = NULL, *node_arg = "local", *path;
	unsigned int flags = 0;
	int node, do_hold = 0, do_verify = 0, c, err, ret = EXIT_FAILURE;
	struct verify_result vr;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	struct numabuf_bufinfo info;
	uint64_t size;
	char size_text[SIZE_STRLEN];
	sigset_t sigs;

	optind = 0;	/* glibc: start over on this argv */
	while ((c = getopt_long(argc, argv, "+s:n:PHjph", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			size_arg = optarg;
			break;
		case 'n':
			node_arg = optarg;
			break;
		case 'P':
			flags |= NUMABUF_F_PREFERRED;
			break;
		case 'H':
			do_hold = 1;
			break;
		case OPT_VERIFY:
			do_verify = 1;
			break;
		case OPT_POOL:
			flags |= NUMABUF_F_POOL;
			break;
		case OPT_NO_POOL:
			flags |= NUMABUF_F_NO_POOL;
			break;
		case 'j':
			opts.json = 1;
			break;
		case 'p':
			opts.pretty = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:	/* getopt has said what is wrong */
			return try_help();
		}
	}
	if (optind < argc)
		return usage_error("alloc: unexpected argument '%s'",
				   argv[optind]);
	if (!size_arg)
		return usage_error("alloc: --size is required");
	if ((flags & NUMABUF_F_POOL) && (flags & NUMABUF_F_NO_POOL))
		return usage_error("alloc: --pool and --no-pool exclude each other");

	err = parse_size(size_arg, &size);
	if (err == -ERANGE)
		return usage_error("alloc: size '%s' is too large", size_arg);
	if (err)
		return usage_error("alloc: invalid size '%s' (examples: 4096, "
				   "4K, 4KiB, 1.5M, 2G)", size_arg);
	if (!size)
		return usage_error("alloc: size '%s' is zero", size_arg);
	if (size > SIZE_MAX)
		return usage_error("alloc: size '%s' is too large", size_arg);
	if (parse_node(node_arg, &node))
		return usage_error("alloc: invalid node '%s' (a node id or "
				   "'local')", node_arg);

	/* Blocked from the start: a signal must not skip the free. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (do_hold)
		sigprocmask(SIG_BLOCK, &sigs, NULL);

	err = numabuf_open(&ctx);
	if (err) {
		path = getenv(NUMABUF_DEVICE_ENV);
		if (!path || !*path)
			path = NUMABUF_DEVICE_PATH;
		fprintf(stderr, "%s: cannot open %s: %s%s\n", prog, path,
			strerror(-err), open_hint(err));
		return EXIT_FAILURE;
	}

	err = numabuf_alloc(ctx, (size_t)size, node, flags, &buf);
	if (err) {
		format_size(size, size_text, sizeof(size_text));
		fprintf(stderr, "%s: cannot allocate %s on node %s: %s%s\n",
			prog, size_text, node_arg, strerror(-err),
			alloc_hint(err));
		goto out_close;
	}

	err = numabuf_info(buf, &info);
	if (err) {
		fprintf(stderr, "%s: cannot query the buffer: %s\n", prog,
			strerror(-err));
		goto out_free;
	}

	if (do_verify) {
		err = verify_buffer(numabuf_addr(buf), numabuf_size(buf),
				    numabuf_node(buf), &vr);
		if (err) {
			fprintf(stderr, "%s: cannot verify the buffer: %s\n",
				prog, strerror(-err));
			goto out_free;
		}
	}

	print_alloc(buf, info.phys, info.source, do_verify ? &vr : NULL);
	if (do_verify && (vr.on_node != vr.pages || vr.contiguous == 0)) {
		if (vr.other_node >= 0)
			fprintf(stderr, "%s: %zu of %zu pages are not on node "
				"%d (one is on node %d)\n", prog,
				vr.pages - vr.on_node, vr.pages,
				numabuf_node(buf), vr.other_node);
		if (vr.unplaced)
			fprintf(stderr, "%s: move_pages(2) gives no node for "
				"%zu of %zu pages (%s)\n", prog, vr.unplaced,
				vr.pages, strerror(-vr.unplaced_err));
		if (vr.contiguous == 0)
			fprintf(stderr, "%s: the buffer is not physically "
				"contiguous\n", prog);
		goto out_free;
	}
	if (do_hold)
		hold(&sigs);
	ret = EXIT_SUCCESS;

out_free:
	err = numabuf_free(buf);
	if (err) {
		fprintf(stderr, "%s: cannot free the buffer: %s\n", prog,
			strerror(-err));
		ret = EXIT_FAILURE;
	}
out_close:
	numabuf_close(ctx);
	return ret;
}

static int open_ctx(struct numabuf_ctx **ctx)
{
	const char *path;
	int err = numabuf_open(ctx);

	if (err) {
		path = getenv(NUMABUF_DEVICE_ENV);
		if (!path || !*path)
			path = NUMABUF_DEVICE_PATH;
		fprintf(stderr, "%s: cannot open %s: %s%s\n", prog, path,
			strerror(-err), open_hint(err));
	}
	return err;
}

static void print_pool(struct json *j, const struct numabuf_poolinfo *pi)
{
	char target[SIZE_STRLEN], size[SIZE_STRLEN], avail[SIZE_STRLEN];
	char largest[SIZE_STRLEN];

	if (opts.json) {
		json_begin_object(j, NULL);
		json_int(j, "node", pi->node);
		json_u64(j, "pool_target", pi->target);
		json_u64(j, "pool_size", pi->size);
		json_u64(j, "pool_free", pi->free);
		json_u64(j, "pool_largest", pi->largest);
		json_end_object(j);
		return;
	}
	format_size(pi->target, target, sizeof(target));
	format_size(pi->size, size, sizeof(size));
	format_size(pi->free, avail, sizeof(avail));
	format_size(pi->largest, largest, sizeof(largest));
	printf("node %d pool_target %s pool_size %s pool_free %s pool_largest %s\n",
	       pi->node, target, size, avail, largest);
}

static int do_pool(int argc, char **argv)
{
	uint64_t online[LIST_WORDS(MAX_NODES)], bytes;
	struct numabuf_poolinfo pi;
	struct numabuf_ctx *ctx;
	/* -2: every online node; else the node named */
	int node = -2, err, ret = EXIT_FAILURE;
	struct json j;

	if (argc > 1 && matches(argv[1], "set")) {
		if (argc != 4)
			return usage_error("pool set: expected NODE SIZE");
		if (parse_node(argv[2], &node))
			return usage_error("pool set: invalid node '%s'", argv[2]);
		err = parse_size(argv[3], &bytes);
		if (err)
			return usage_error("pool set: invalid size '%s' (examples: 0, 512M, 1.5G)",
					   argv[3]);
		if (open_ctx(&ctx))
			return EXIT_FAILURE;
		err = numabuf_pool_set(ctx, node, bytes, &pi);
		if (err) {
			fprintf(stderr, "%s: cannot set the pool of node %s to %s: %s%s\n",
				prog, argv[2], argv[3], strerror(-err),
				err == -EPERM ? " (needs CAP_SYS_ADMIN)" :
				err == -ENOMEM ? " (the node has no contiguous memory that large to spare)" :
				"");
			goto out;
		}
		if (opts.json)
			json_init(&j, stdout, opts.pretty);
		print_pool(&j, &pi);
		if (opts.json)
			json_finish(&j);
		ret = EXIT_SUCCESS;
		goto out;
	}

	if (argc > 1 && !matches(argv[1], "show") && !matches(argv[1], "list")) {
		if (argc > 2 || parse_node(argv[1], &node))
			return usage_error("pool: unknown command '%s'", argv[1]);
	} else if (argc > 2) {
		if (argc > 3 || parse_node(argv[2], &node))
			return usage_error("pool show: invalid node '%s'", argv[2]);
	}

	if (read_online(online))
		return EXIT_FAILURE;
	if (open_ctx(&ctx))
		return EXIT_FAILURE;
	if (opts.json) {
		json_init(&j, stdout, opts.pretty);
		json_begin_array(&j, NULL);
	}
	for (int n = 0; n < MAX_NODES; n++) {
		/* One node when named (the kernel resolves 'local'). */
		if (node != -2 ? n != 0 : !list_test(online, (unsigned int)n))
			continue;
		err = numabuf_pool_get(ctx, node != -2 ? node : n, &pi);
		if (err) {
			fprintf(stderr, "%s: cannot read the pool of node %d: %s%s\n",
				prog, node != -2 ? node : n, strerror(-err),
				err == -ENODEV ? " (node not online)" : "");
			goto out;
		}
		print_pool(&j, &pi);
	}
	if (opts.json) {
		json_end_array(&j);
		json_finish(&j);
	}
	ret = fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	numabuf_close(ctx);
	return ret;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_SUCCESS;
}

static const struct {
	const char *name;
	int (*func)(int argc, char **argv);
} objects[] = {
	{ "nodes",	do_nodes },
	{ "alloc",	do_alloc },
	{ "pool",	do_pool },
	{ "help",	do_help },
};

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "pretty",	no_argument,	NULL, 'p' },
		{ "version",	no_argument,	NULL, 'V' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 },
	};
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "+jpVh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = 1;
			break;
		case 'p':
			opts.pretty = 1;
			break;
		case 'V':
			printf("%s %s\n", prog, NUMABUF_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return try_help();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}

	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (matches(argv[0], objects[i].name))
			return objects[i].func(argc, argv);

	return usage_error("unknown object '%s'", argv[0]);
}
