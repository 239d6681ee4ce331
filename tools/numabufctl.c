// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: look at NUMA nodes, numabuf's buffers, pools, limits and
 * events, and allocate buffers.
 *
 *   numabufctl [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * Everything but alloc goes through the "numabuf" generic netlink family
 * (libnumabuf's numabuf_nl_*); alloc opens the device.
 *
 * Exit status: 0 success, 1 error, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <numabuf.h>

#include "json.h"
#include "util.h"
#include "verify.h"

/* Long options without a short form. */
#define OPT_VERIFY	1000
#define OPT_POOL	1001
#define OPT_NO_POOL	1002
#define OPT_NEAR	1003
#define OPT_DMA32	1004
#define OPT_WC		1005
#define OPT_UC		1006
#define OPT_LOW		1003
#define OPT_MAX		1004
#define OPT_MAX_USER	1005

#ifndef NUMABUF_VERSION
#define NUMABUF_VERSION "unknown"
#endif

#define EXIT_USAGE	2

#define SYSFS_NODE	"/sys/devices/system/node"
#define MAX_NODES	4096	/* above any kernel's MAX_NUMNODES */
#define CPULIST_MAX	65536
/* --timeout: poll(2) takes milliseconds in an int. */
#define TIMEOUT_MAX	(INT_MAX / 1000)

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
		"  nodes [show] [NODES]\n"
		"                      online nodes: memory, CPUs, pool, buffers,\n"
		"                      allocations and failures by source; without\n"
		"                      the module, memory and CPUs only (from sysfs)\n"
		"  list [--node NODES] [--pid PID] [--uid UID|USER]\n"
		"                      the live buffers of the system and the\n"
		"                      devices each is attached to (without\n"
		"                      CAP_SYS_ADMIN: your own, and no phys or\n"
		"                      dma-addr)\n"
		"  stats               totals over all nodes, and the limits (those\n"
		"                      with CAP_NET_ADMIN)\n"
		"  alloc --size SIZE [--node NODE | --near DEVICE] [--preferred]\n"
		"        [--pool | --no-pool] [--dma32] [--wc | --uc] [--verify]\n"
		"        [--attach DEVICE]... [--hold]\n"
		"                      allocate a buffer, print it, free it\n"
		"  pool [show] [NODES] the pools of the nodes with memory\n"
		"  pool set NODE [SIZE] [--low SIZE]\n"
		"                      make NODE's pool hold SIZE (growing reserves\n"
		"                      it at once, shrinking gives free memory back)\n"
		"                      and set its low watermark, below which\n"
		"                      monitor reports pool-low (CAP_SYS_ADMIN and\n"
		"                      CAP_NET_ADMIN)\n"
		"  limit [show]        the caps on the memory numabuf holds\n"
		"                      (CAP_NET_ADMIN)\n"
		"  limit set [--max SIZE] [--max-user SIZE]\n"
		"                      cap all buffers together, each user's buffers;\n"
		"                      0 or 'none': no cap (CAP_SYS_ADMIN and\n"
		"                      CAP_NET_ADMIN)\n"
		"  monitor [--count N] [--timeout SECONDS]\n"
		"                      print events as they come, one a line:\n"
		"                      created, freed, alloc-failed, pool-low,\n"
		"                      attached, detached (with its reason:\n"
		"                      request, release, driver, remove)\n"
		"                      (CAP_SYS_ADMIN); alloc-failed is limited\n"
		"                      per user, its 'suppressed' counts the\n"
		"                      failures of that user not reported before;\n"
		"                      stop after N events or SECONDS (exit\n"
		"                      status 0 either way)\n"
		"  help                this text\n"
		"\n"
		"OPTIONS:\n"
		"  -j, --json          JSON output: keys are the attribute names of\n"
		"                      the netlink spec (id, mem-total, map-count,\n"
		"                      ...; a node's own id is \"id\", a buffer's\n"
		"                      node \"node\"); sizes, addresses and times\n"
		"                      (ns since the epoch) are numbers; monitor\n"
		"                      prints one object a line\n"
		"  -p, --pretty        indent JSON output\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"SIZE   bytes, or with a unit: 4096, 4K, 4KiB, 1.5M, 2G (K, M, G, T\n"
		"       are powers of 1024)\n"
		"NODES  node ids in numactl's syntax, 0-3,5, or 'all' (the default)\n"
		"NODE   a node id, or 'local': the node of the CPU numabufctl runs on\n"
		"\n"
		"alloc ARGS:\n"
		"  -s, --size SIZE     the size\n"
		"  -n, --node NODE     the node (default: local)\n"
		"  -P, --preferred     NODE is a preference; without it, allocate\n"
		"                      on NODE or fail\n"
		"      --pool          only from the node's pool\n"
		"      --no-pool       never from a pool (by default the pool is\n"
		"                      used when it has room)\n"
		"      --near DEVICE   on the node of DEVICE, a name under\n"
		"                      /sys/bus/*/devices (0000:81:00.0); one with\n"
		"                      no node gives the node of the CPU\n"
		"                      numabufctl runs on, and says so\n"
		"      --dma32         all of the buffer below 4 GiB, for devices\n"
		"                      with 32-bit DMA\n"
		"      --wc, --uc      map it write-combining or uncached (the\n"
		"                      kernel's own mapping of the memory too)\n"
		"  -a, --attach DEVICE map the buffer for DEVICE, a PCI address\n"
		"                      (0000:81:00.0) or a platform device, with\n"
		"                      the kernel's DMA API and print the address\n"
		"                      the device sees it at (dma-addr); the\n"
		"                      attachment lasts as long as the buffer\n"
		"                      (with --hold, until the signal), or until a\n"
		"                      driver binds to or unbinds from the device\n"
		"                      or it is removed (CAP_SYS_RAWIO or\n"
		"                      CAP_SYS_ADMIN)\n"
		"  -H, --hold          keep the buffer until SIGINT or SIGTERM\n"
		"      --verify        check every page's node with move_pages(2)\n"
		"                      and contiguity with /proc/self/pagemap\n"
		"                      (root); fail if either is wrong\n"
		"\n"
		"alloc opens the device, %s, or $%s when set; the\n"
		"other commands talk to the module over generic netlink (family\n"
		"\"%s\") and need no access to the device.\n",
		prog, NUMABUF_DEVICE_PATH, NUMABUF_DEVICE_ENV,
		NUMABUF_FAMILY_NAME);
}

static int try_help(void)
{
	fprintf(stderr, "Try '%s help'.\n", prog);
	return EXIT_USAGE;
}

/*
 * The options every command takes after its name too (-j, -p, -h), and
 * getopt's errors, for the default: of each command's option loop.
 * Returns -1 to go on, else the exit status to return.
 */
static int common_option(int c)
{
	switch (c) {
	case 'j':
		opts.json = 1;
		return -1;
	case 'p':
		opts.pretty = 1;
		return -1;
	case 'h':
		usage(stdout);
		return EXIT_SUCCESS;
	default:	/* getopt has said what is wrong */
		return try_help();
	}
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

/* nodeN/meminfo lines read "Node 0 MemTotal:   16322464 kB". */
static int read_node_meminfo(int node, uint64_t *mem_total,
			     uint64_t *mem_free)
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
			*mem_total = (uint64_t)kb << 10;
			found |= 1;
		} else if (!strcmp(key, "MemFree")) {
			*mem_free = (uint64_t)kb << 10;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -ENODATA;
}

/*
 * Parse a NODES argument (numactl syntax) into @map; a usage error names
 * @what.  Returns 0 or the exit status.
 */
static int parse_nodes_arg(const char *what, const char *arg, uint64_t *map)
{
	int err = parse_nodelist(arg, map, MAX_NODES);

	if (err == -ERANGE)
		return usage_error("%s: node list '%s' names a node above %d",
				   what, arg, MAX_NODES - 1);
	if (err)
		return usage_error("%s: invalid node list '%s' (examples: 0, "
				   "0-3,5, all)", what, arg);
	return 0;
}

/* A word that can only be meant as NODES: a digit first, or "all". */
static int is_nodes_word(const char *s)
{
	return (*s >= '0' && *s <= '9') || !strcmp(s, "all");
}

/* NUMABUF_NODE_LOCAL as a node id: the node of the CPU we run on. */
static int local_node(void)
{
	unsigned int cpu, node;

	if (getcpu(&cpu, &node))
		return -errno;
	return (int)node;
}

/* ---- output: JSON members, or "key value" pairs of a text line --------- */

static int text_bol;	/* at the beginning of a text line */

/* Text: a word, after a space unless it begins the line. */
static void put_word(const char *word)
{
	printf("%s%s", text_bol ? "" : " ", word);
	text_bol = 0;
}

static void put_u64(struct json *j, const char *key, uint64_t v)
{
	if (opts.json) {
		json_u64(j, key, v);
		return;
	}
	put_word(key);
	printf(" %" PRIu64, v);
}

/* Text: "-" for an empty string. */
static void put_str(struct json *j, const char *key, const char *s)
{
	if (opts.json) {
		json_string(j, key, s);
		return;
	}
	put_word(key);
	printf(" %s", *s ? s : "-");
}

/* Sizes: a number in JSON, "1.5GiB" in text. */
static void put_size(struct json *j, const char *key, uint64_t bytes)
{
	char text[SIZE_STRLEN];

	if (opts.json) {
		json_u64(j, key, bytes);
		return;
	}
	format_size(bytes, text, sizeof(text));
	put_str(j, key, text);
}

/* A cap: as a size, "none" in text for 0. */
static void put_cap(struct json *j, const char *key, uint64_t bytes)
{
	if (!opts.json && !bytes)
		put_str(j, key, "none");
	else
		put_size(j, key, bytes);
}

/* A node id, which in an alloc-failed event may be NUMABUF_NODE_LOCAL. */
static void put_node(struct json *j, int node)
{
	if (opts.json) {
		json_int(j, "node", node);
		return;
	}
	put_word("node");
	if (node == NUMABUF_NODE_LOCAL)
		printf(" local");
	else
		printf(" %d", node);
}

/*
 * The id of a node object (nodes, pool, pool-low): the spec's node set
 * calls it "id"; text says "node N" as everywhere.
 */
static void put_node_id(struct json *j, int node)
{
	if (opts.json)
		json_int(j, "id", node);
	else
		put_node(j, node);
}

/* Text: the rest of the object on a new line, indented. */
static void put_break(void)
{
	if (opts.json)
		return;
	printf("\n    ");
	text_bol = 1;
}

/* Text: the rest of the object on a new line. */
static void put_newline(void)
{
	if (opts.json)
		return;
	putchar('\n');
	text_bol = 1;
}

static void put_pool(struct json *j, const struct numabuf_nodestat *st)
{
	put_size(j, "pool-target", st->pool_target);
	put_size(j, "pool-size", st->pool_size);
	put_size(j, "pool-free", st->pool_free);
	put_size(j, "pool-largest", st->pool_largest);
	put_size(j, "pool-low", st->pool_low);
}

static void put_counts(struct json *j, const uint64_t *allocs,
		       const uint64_t *fails)
{
	static const char *const akeys[] = {
		"allocs-pages", "allocs-range", "allocs-pool",
	};
	static const char *const fkeys[] = {
		"fails-pages", "fails-range", "fails-pool",
	};
	int i;

	for (i = 0; i < 3; i++)
		put_u64(j, akeys[i], allocs[i]);
	for (i = 0; i < 3; i++)
		put_u64(j, fkeys[i], fails[i]);
}

/* Begin and end one object: a JSON object, or a text line (or lines). */
static void begin_object(struct json *j)
{
	if (opts.json)
		json_begin_object(j, NULL);
	text_bol = 1;
}

static void end_object(struct json *j)
{
	if (opts.json)
		json_end_object(j);
	else
		putchar('\n');
}

/*
 * Begin and end a command's output: in JSON, one document, with @array an
 * array of objects, else one object.
 */
static void begin_output(struct json *j, int array)
{
	if (!opts.json)
		return;
	json_init(j, stdout, opts.pretty);
	if (array)
		json_begin_array(j, NULL);
}

static int end_output(struct json *j, int array)
{
	if (opts.json) {
		if (array)
			json_end_array(j);
		json_finish(j);
	}
	return fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- a growing array ---------------------------------------------------- */

struct vec {
	void *v;
	size_t n;
	size_t cap;
	size_t size;	/* of an element */
};

#define VEC_INIT(type)	{ NULL, 0, 0, sizeof(type) }

static int vec_push(struct vec *vec, const void *elem)
{
	size_t cap;
	void *p;

	if (vec->n == vec->cap) {
		cap = vec->cap ? 2 * vec->cap : 16;
		p = reallocarray(vec->v, cap, vec->size);
		if (!p)
			return -ENOMEM;
		vec->v = p;
		vec->cap = cap;
	}
	memcpy((char *)vec->v + vec->n++ * vec->size, elem, vec->size);
	return 0;
}

static const void *vec_at(const struct vec *vec, size_t i)
{
	return (const char *)vec->v + i * vec->size;
}

static void vec_free(struct vec *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

/* ---- netlink ------------------------------------------------------------- */

/* Why numabuf_nl_open() failed, on stderr. */
static void nl_open_error(const char *what, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "%s: %s: the numabuf module is not loaded "
			"(no generic netlink family '%s')\n", prog, what,
			NUMABUF_FAMILY_NAME);
	else if (err == -EPROTO)
		fprintf(stderr, "%s: %s: the module's netlink family is older "
			"than this tool\n", prog, what);
	else
		fprintf(stderr, "%s: %s: cannot open a generic netlink socket: "
			"%s\n", prog, what, strerror(-err));
}

/* Open the control plane; says why on stderr when it cannot. */
static int nl_open(const char *what, struct numabuf_nl **nl)
{
	int err = numabuf_nl_open(nl);

	if (err)
		nl_open_error(what, err);
	return err;
}

/*
 * "numabufctl: WHAT: Operation not permitted: the kernel's message", or
 * @hint after the errno's text when the kernel gave no message.
 */
static int nl_fail(struct numabuf_nl *nl, const char *what, int err,
		   const char *hint)
{
	const char *msg = numabuf_nl_errmsg(nl);

	fprintf(stderr, "%s: %s: %s", prog, what, strerror(-err));
	if (*msg)
		fprintf(stderr, ": %s", msg);
	else if (hint)
		fprintf(stderr, " (%s)", hint);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

static int node_vec_add(const struct numabuf_nodestat *st, void *arg)
{
	return vec_push(arg, st);
}

/* Every node with memory, as node-get's dump gives them, in order of id. */
static int node_vec_read(struct numabuf_nl *nl, const char *what,
			 struct vec *nodes)
{
	int err = numabuf_nl_nodes(nl, node_vec_add, nodes);

	if (err)
		return nl_fail(nl, what, err, NULL);
	return 0;
}

static const struct numabuf_nodestat *node_vec_find(const struct vec *nodes,
						    int node)
{
	const struct numabuf_nodestat *st;
	size_t i;

	for (i = 0; i < nodes->n; i++) {
		st = vec_at(nodes, i);
		if (st->node == node)
			return st;
	}
	return NULL;
}

/* ---- nodes --------------------------------------------------------------- */

static int print_node(struct json *j, int node,
		      const struct numabuf_nodestat *st)
{
	char path[128];
	static char cpus[CPULIST_MAX];
	uint64_t mem_total = 0, mem_free = 0;
	int err;

	snprintf(path, sizeof(path), SYSFS_NODE "/node%d/cpulist", node);
	err = read_text(path, cpus, sizeof(cpus));
	if (err) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, path,
			strerror(-err));
		return err;
	}
	if (st) {
		mem_total = st->mem_total;
		mem_free = st->mem_free;
	} else {
		err = read_node_meminfo(node, &mem_total, &mem_free);
		if (err) {
			fprintf(stderr, "%s: cannot read " SYSFS_NODE
				"/node%d/meminfo: %s\n", prog, node,
				strerror(-err));
			return err;
		}
	}

	begin_object(j);
	put_node_id(j, node);
	put_size(j, "mem-total", mem_total);
	put_size(j, "mem-free", mem_free);
	put_str(j, "cpus", cpus);
	if (st) {
		put_u64(j, "buffers", st->buffers);
		put_size(j, "bytes", st->bytes);
		put_break();
		put_pool(j, st);
		put_break();
		put_counts(j, st->allocs, st->fails);
	}
	end_object(j);
	return 0;
}

static int do_nodes(int argc, char **argv)
{
	uint64_t online[LIST_WORDS(MAX_NODES)], want[LIST_WORDS(MAX_NODES)];
	struct vec table = VEC_INIT(struct numabuf_nodestat);
	const struct numabuf_nodestat *st;
	const char *nodes_arg = "all";
	struct numabuf_nl *nl = NULL;
	int node, err, ret = EXIT_FAILURE;
	struct json j;

	if (argc > 1 && (matches(argv[1], "show") || matches(argv[1], "list"))) {
		argc--;
		argv++;
	}
	if (argc > 2)
		return usage_error("nodes: unexpected argument '%s'", argv[2]);
	if (argc > 1) {
		if (!is_nodes_word(argv[1]))
			return usage_error("nodes: unknown command '%s'",
					   argv[1]);
		nodes_arg = argv[1];
	}
	err = parse_nodes_arg("nodes", nodes_arg, want);
	if (err)
		return err;

	if (read_online(online))
		return EXIT_FAILURE;

	/* Without the module, what sysfs knows: better than nothing. */
	err = numabuf_nl_open(&nl);
	if (err == -ENOENT) {
		fprintf(stderr, "%s: nodes: the numabuf module is not loaded: "
			"memory and CPUs only\n", prog);
	} else if (err) {
		nl_open_error("nodes", err);
		return EXIT_FAILURE;
	} else if (node_vec_read(nl, "nodes", &table)) {
		goto out;
	}

	for (size_t i = 0; i < table.n; i++) {
		st = vec_at(&table, i);
		if (st->node >= 0 && st->node < MAX_NODES)
			list_set(online, (unsigned int)st->node);
	}
	if (strcmp(nodes_arg, "all")) {
		for (node = 0; node < MAX_NODES; node++) {
			if (list_test(want, (unsigned int)node) &&
			    !list_test(online, (unsigned int)node)) {
				fprintf(stderr, "%s: nodes: node %d is not "
					"online\n", prog, node);
				goto out;
			}
		}
	}

	begin_output(&j, 1);
	for (node = 0; node < MAX_NODES; node++) {
		if (!list_test(online, (unsigned int)node) ||
		    !list_test(want, (unsigned int)node))
			continue;
		if (print_node(&j, node, node_vec_find(&table, node)))
			goto out;
	}
	ret = end_output(&j, 1);
out:
	vec_free(&table);
	numabuf_nl_close(nl);
	return ret;
}

/* ---- alloc --------------------------------------------------------------- */

static const char *alloc_hint(int err, uint32_t flags)
{
	if (err == -EPERM && (flags & (NUMABUF_F_WC | NUMABUF_F_UC)))
		return " (--wc and --uc need CAP_SYS_RAWIO or CAP_SYS_ADMIN:"
		       " they change the kernel's own mapping of the memory)";
	switch (err) {
	case -ENODEV:
		return " (node not online)";
	case -EINVAL:
		return " (more than the module allows in one buffer)";
	case -ENOMEM:
		return " (no free contiguous block that large; --preferred"
		       " allows other nodes)";
	case -EPERM:
		return " (buffers above 4 MiB outside a pool need"
		       " CAP_SYS_ADMIN (or the module parameter"
		       " range_users=1); ask the admin for a pool:"
		       " numabufctl pool set NODE SIZE, then --pool)";
	case -EOPNOTSUPP:
		return " (not on this kernel or architecture: --wc and --uc"
		       " need x86)";
	case -EAGAIN:
		return " (too many buffers above 4 MiB outside a pool this"
		       " second: the module parameter range_rate; try again"
		       " later, or use a pool: --pool)";
	default:
		return "";
	}
}

static const char *near_hint(int err)
{
	switch (err) {
	case -ENODEV:
		return " (no such device under /sys/bus/*/devices)";
	case -EINVAL:
		return " (a device name as sysfs shows it, such as 0000:81:00.0)";
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

static const char *attach_hint(int err)
{
	switch (err) {
	case -EPERM:
		return " (attaching lets the device read and write the"
		       " memory: it needs CAP_SYS_RAWIO or CAP_SYS_ADMIN)";
	case -EBUSY:
		return " (the device is bound to vfio-pci: its DMA belongs to"
		       " user space; map the buffer through VFIO instead)";
	case -ERANGE:
		return " (the device cannot reach this memory: its DMA mask"
		       " ends below the buffer and no IOMMU translates for it;"
		       " allocate on another node, or lower memory)";
	case -ENODEV:
		return " (no such PCI or platform device, or it does no DMA;"
		       " give the name sysfs shows, e.g. 0000:81:00.0)";
	case -EEXIST:
		return " (already attached to it)";
	case -ENOSPC:
		return " (the buffer has the most attachments allowed)";
	default:
		return "";
	}
}

static const char *tristate(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

/*
 * @near: the device of --near, else NULL; @dev_node: its node, -1 for
 * none (then the buffer is on the caller's node).
 */
static void print_alloc(const struct numabuf *buf, uint64_t phys,
			uint32_t source, const char *near, int dev_node,
			const struct verify_result *vr,
			const struct numabuf_attachinfo *ai, uint32_t n_attach)
{
	uint32_t i;
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
		if (near) {
			json_string(&j, "device", near);
			if (dev_node < 0)
				json_null(&j, "device-node");
			else
				json_int(&j, "device-node", dev_node);
		}
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
		if (n_attach) {
			json_begin_array(&j, "attach");
			for (i = 0; i < n_attach; i++) {
				json_begin_object(&j, NULL);
				json_string(&j, "device", ai[i].device);
				json_u64(&j, "dma-addr", ai[i].dma_addr);
				json_end_object(&j);
			}
			json_end_array(&j);
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
		if (near && dev_node < 0)
			printf(" device %s device-node -", near);
		else if (near)
			printf(" device %s device-node %d", near, dev_node);
		printf("\n");
		if (vr)
			printf("verify pages %zu on_node %zu contiguous %s\n",
			       vr->pages, vr->on_node,
			       tristate(vr->contiguous));
		for (i = 0; i < n_attach; i++)
			printf("attach %s dma-addr %#" PRIx64 "\n",
			       ai[i].device, ai[i].dma_addr);
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
		{ "attach",	required_argument,	NULL, 'a' },
		{ "near",	required_argument,	NULL, OPT_NEAR },
		{ "dma32",	no_argument,		NULL, OPT_DMA32 },
		{ "wc",		no_argument,		NULL, OPT_WC },
		{ "uc",		no_argument,		NULL, OPT_UC },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *size_arg = NULL, *node_arg = NULL, *near = NULL, *path;
	unsigned int flags = 0;
	int node, dev_node = -1, do_hold = 0, do_verify = 0, c, opt, err;
	int ret = EXIT_FAILURE;
	struct verify_result vr;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	struct numabuf_bufinfo info;
	struct numabuf_attachinfo attach[NUMABUF_ATTACH_MAX];
	uint32_t n_attach = 0, i;
	uint64_t size;
	char size_text[SIZE_STRLEN];
	sigset_t sigs;

	memset(attach, 0, sizeof(attach));
	optind = 0;	/* glibc: start over on this argv */
	while ((c = getopt_long(argc, argv, "+s:n:PHa:jph", long_opts,
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
		case 'a':
			if (n_attach == NUMABUF_ATTACH_MAX)
				return usage_error("alloc: at most %d --attach",
						   NUMABUF_ATTACH_MAX);
			if (!*optarg ||
			    strlen(optarg) >= sizeof(attach[0].device))
				return usage_error("alloc: invalid device '%s'",
						   optarg);
			strcpy(attach[n_attach++].device, optarg);
			break;
		case OPT_NEAR:
			near = optarg;
			break;
		case OPT_DMA32:
			flags |= NUMABUF_F_DMA32;
			break;
		case OPT_WC:
			flags |= NUMABUF_F_WC;
			break;
		case OPT_UC:
			flags |= NUMABUF_F_UC;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind < argc)
		return usage_error("alloc: unexpected argument '%s'",
				   argv[optind]);
	if (!size_arg)
		return usage_error("alloc: --size is required");
	if ((flags & NUMABUF_F_POOL) && (flags & NUMABUF_F_NO_POOL))
		return usage_error("alloc: --pool and --no-pool exclude each other");
	if ((flags & NUMABUF_F_WC) && (flags & NUMABUF_F_UC))
		return usage_error("alloc: --wc and --uc exclude each other");
	if (near && node_arg)
		return usage_error("alloc: --node and --near exclude each other");
	if (!node_arg)
		node_arg = "local";

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

	if (near) {
		err = numabuf_device_node(near, &dev_node);
		if (err) {
			fprintf(stderr, "%s: device '%s': %s%s\n", prog, near,
				strerror(-err), near_hint(err));
			goto out_close;
		}
		err = numabuf_alloc_near(ctx, (size_t)size, near, flags, &buf);
	} else {
		err = numabuf_alloc(ctx, (size_t)size, node, flags, &buf);
	}
	if (err < 0) {
		format_size(size, size_text, sizeof(size_text));
		if (near && dev_node >= 0)
			fprintf(stderr, "%s: cannot allocate %s near %s (node %d): %s%s\n",
				prog, size_text, near, dev_node,
				strerror(-err), alloc_hint(err, flags));
		else
			fprintf(stderr, "%s: cannot allocate %s %s %s: %s%s\n",
				prog, size_text, near ? "near" : "on node",
				near ? near : node_arg, strerror(-err),
				alloc_hint(err, flags));
		goto out_close;
	}
	if (err == NUMABUF_NEAR_NO_NODE)
		fprintf(stderr, "%s: device %s has no NUMA node; allocated on the caller's node %d\n",
			prog, near, numabuf_node(buf));

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

	for (i = 0; i < n_attach; i++) {
		err = numabuf_attach(buf, attach[i].device,
				     &attach[i].dma_addr);
		if (err) {
			fprintf(stderr, "%s: cannot attach the buffer to %s: "
				"%s%s\n", prog, attach[i].device,
				strerror(-err), attach_hint(err));
			goto out_free;
		}
	}

	print_alloc(buf, info.phys, info.source, near, dev_node,
		    do_verify ? &vr : NULL, attach, n_attach);
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

/* ---- list ---------------------------------------------------------------- */

/* Which fields of a struct numabuf_bufstat put_buf() prints. */
enum {
	BUF_ID		= 1 << 0,
	BUF_SIZE	= 1 << 1,
	BUF_NODE	= 1 << 2,
	BUF_FLAGS	= 1 << 3,
	BUF_SOURCE	= 1 << 4,
	BUF_PID		= 1 << 5,
	BUF_UID		= 1 << 6,
	BUF_COMM	= 1 << 7,
	BUF_MAP_COUNT	= 1 << 8,
	BUF_PHYS	= 1 << 9,	/* only when known */
	BUF_CREATED	= 1 << 10,
	BUF_ERROR	= 1 << 11,
	BUF_SUPPRESSED	= 1 << 12,
	BUF_ATTACH	= 1 << 13,
	BUF_EXPORTS	= 1 << 14,	/* text: only when nonzero */
};

/* The attributes of buf-get's reply and of each event, as the spec has them. */
#define BUF_LISTED	(BUF_ID | BUF_SIZE | BUF_NODE | BUF_FLAGS | \
			 BUF_SOURCE | BUF_PID | BUF_UID | BUF_COMM | \
			 BUF_MAP_COUNT | BUF_PHYS | BUF_CREATED | BUF_ATTACH | \
			 BUF_EXPORTS)
#define BUF_CREATED_NTF	(BUF_ID | BUF_SIZE | BUF_NODE | BUF_FLAGS | \
			 BUF_SOURCE | BUF_PID | BUF_UID | BUF_COMM | \
			 BUF_CREATED)
#define BUF_FREED_NTF	(BUF_ID | BUF_SIZE | BUF_NODE)
#define BUF_ATTACH_NTF	(BUF_ID | BUF_ATTACH)
#define BUF_FAILED_NTF	(BUF_SIZE | BUF_NODE | BUF_FLAGS | BUF_PID | \
			 BUF_UID | BUF_COMM | BUF_ERROR | BUF_SUPPRESSED)

/* Flags: an array of names in JSON, "pool,huge-map" in text, "-" for none. */
static void put_flags(struct json *j, uint32_t flags)
{
	char text[FLAGS_STRLEN];
	uint32_t bit;

	if (!opts.json) {
		format_flags(flags, text, sizeof(text));
		put_str(j, "flags", text);
		return;
	}
	json_begin_array(j, "flags");
	for (bit = 1; bit; bit <<= 1) {
		if (!(flags & bit))
			continue;
		if (flag_name(bit)) {
			json_string(j, NULL, flag_name(bit));
		} else {
			snprintf(text, sizeof(text), "%#x", bit);
			json_string(j, NULL, text);
		}
	}
	json_end_array(j);
}

/* The source by name; a number for one this tool does not know. */
static void put_source(struct json *j, uint32_t source)
{
	const char *name = source_name(source);

	if (name)
		put_str(j, "source", name);
	else
		put_u64(j, "source", source);
}

/* A time: ns since the epoch in JSON, the local time in text. */
static void put_time(struct json *j, const char *key, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	char text[64];
	struct tm tm;

	if (opts.json) {
		json_u64(j, key, ns);
		return;
	}
	if (!localtime_r(&t, &tm) ||
	    !strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(text, sizeof(text), "%" PRIu64, ns);
	put_str(j, key, text);
}

/* An errno: the number in JSON, its name in text. */
static void put_errno(struct json *j, const char *key, uint32_t err)
{
	const char *name = err <= INT_MAX ? errno_name((int)err) : NULL;

	if (opts.json || !name)
		put_u64(j, key, err);
	else
		put_str(j, key, name);
}

static const char *detach_reason(uint32_t reason)
{
	switch (reason) {
	case NUMABUF_DETACH_REQUEST:
		return "request";
	case NUMABUF_DETACH_RELEASE:
		return "release";
	case NUMABUF_DETACH_DRIVER:
		return "driver";
	case NUMABUF_DETACH_REMOVE:
		return "remove";
	default:
		return NULL;
	}
}

/*
 * Attachments: an array "attach" of objects (device, dma-addr when known,
 * reason in detached events) in JSON; " attach DEV[@DMA_ADDR][ reason R]"
 * for each in text.
 */
static void put_attach(struct json *j, const struct numabuf_attachinfo *ai,
		       uint32_t n)
{
	const char *reason;
	uint32_t i;

	if (opts.json)
		json_begin_array(j, "attach");
	for (i = 0; i < n; i++, ai++) {
		reason = detach_reason(ai->reason);
		if (opts.json) {
			json_begin_object(j, NULL);
			json_string(j, "device", ai->device);
			if (ai->dma_addr)
				json_u64(j, "dma-addr", ai->dma_addr);
			if (reason)
				json_string(j, "reason", reason);
			else if (ai->reason)
				json_u64(j, "reason", ai->reason);
			json_end_object(j);
			continue;
		}
		printf(" attach %s", ai->device);
		if (ai->dma_addr)
			printf("@%#" PRIx64, ai->dma_addr);
		if (reason)
			printf(" reason %s", reason);
		else if (ai->reason)
			printf(" reason %" PRIu32, ai->reason);
	}
	if (opts.json)
		json_end_array(j);
}

static void put_buf(struct json *j, const struct numabuf_bufstat *st,
		    unsigned int fields)
{
	if (fields & BUF_ID)
		put_u64(j, "id", st->id);
	if (fields & BUF_SIZE)
		put_size(j, "size", st->size);
	if (fields & BUF_NODE)
		put_node(j, st->node);
	if (fields & BUF_FLAGS)
		put_flags(j, st->flags);
	if (fields & BUF_SOURCE)
		put_source(j, st->source);
	if (fields & BUF_PID)
		put_u64(j, "pid", st->pid);
	if (fields & BUF_UID)
		put_u64(j, "uid", st->uid);
	if (fields & BUF_COMM)
		put_str(j, "comm", st->comm);
	if (fields & BUF_MAP_COUNT)
		put_u64(j, "map-count", st->map_count);
	if ((fields & BUF_PHYS) && st->phys) {
		if (opts.json)
			json_u64(j, "phys", st->phys);
		else
			printf(" phys %#" PRIx64, st->phys);
	}
	if (fields & BUF_CREATED)
		put_time(j, "created", st->created_ns);
	if (fields & BUF_ERROR)
		put_errno(j, "error", st->error);
	if (fields & BUF_SUPPRESSED)
		put_u64(j, "suppressed", st->suppressed);
	/* Live dma-bufs, each of which keeps the buffer alive. */
	if ((fields & BUF_EXPORTS) && (opts.json || st->exports))
		put_u64(j, "exports", st->exports);
	if ((fields & BUF_ATTACH) && (st->nr_attach || opts.json))
		put_attach(j, st->attach, st->nr_attach);
	/* Released, pages still held elsewhere: still charged and counted. */
	if (st->released) {
		if (opts.json)
			json_bool(j, "released", 1);
		else
			printf(" released (pages still held)");
	}
}

/*
 * A listed buffer: its attachments are the library's only until the
 * callback returns, so each keeps a copy (st.attach points at it only
 * once the list is complete: the vector moves).
 */
struct listed_buf {
	struct numabuf_bufstat st;
	struct numabuf_attachinfo attach[NUMABUF_ATTACH_MAX];
};

static int buf_vec_add(const struct numabuf_bufstat *st, void *arg)
{
	struct listed_buf lb;
	uint32_t n = st->nr_attach;

	memset(&lb, 0, sizeof(lb));
	lb.st = *st;
	if (n > NUMABUF_ATTACH_MAX)
		n = NUMABUF_ATTACH_MAX;
	if (n)
		memcpy(lb.attach, st->attach, n * sizeof(*st->attach));
	lb.st.nr_attach = n;
	lb.st.attach = NULL;
	return vec_push(arg, &lb);
}

static int do_list(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "node",	required_argument,	NULL, 'n' },
		{ "pid",	required_argument,	NULL, 'P' },
		{ "uid",	required_argument,	NULL, 'u' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct numabuf_buf_filter filter = { 0 };
	uint64_t want[LIST_WORDS(MAX_NODES)], v;
	struct vec bufs = VEC_INIT(struct listed_buf);
	const struct listed_buf *lb;
	struct numabuf_bufstat one;
	const struct numabuf_bufstat *st = &one;
	const char *nodes_arg = NULL;
	struct numabuf_nl *nl;
	struct passwd *pw;
	int c, opt, err, ret = EXIT_FAILURE;
	unsigned int n;
	struct json j;
	size_t i;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+n:P:u:jph", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			nodes_arg = optarg;
			break;
		case 'P':
			if (parse_u64(optarg, INT_MAX, &v) || !v)
				return usage_error("list: invalid pid '%s'",
						   optarg);
			filter.pid = (uint32_t)v;
			filter.match |= NUMABUF_MATCH_PID;
			break;
		case 'u':
			filter.match |= NUMABUF_MATCH_UID;
			/* A number is a uid, as for chown(1). */
			if (!parse_u64(optarg, UINT32_MAX - 1, &v)) {
				filter.uid = (int64_t)v;
				break;
			}
			pw = getpwnam(optarg);
			if (!pw)
				return usage_error("list: unknown user '%s'",
						   optarg);
			filter.uid = pw->pw_uid;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind < argc)
		return usage_error("list: unexpected argument '%s'",
				   argv[optind]);
	if (nodes_arg) {
		err = parse_nodes_arg("list", nodes_arg, want);
		if (err)
			return err;
		/* One node: the kernel filters; several: we do. */
		n = list_count(want, MAX_NODES);
		for (i = 0; n == 1 && i < MAX_NODES; i++)
			if (list_test(want, (unsigned int)i)) {
				filter.node = (int32_t)i;
				filter.match |= NUMABUF_MATCH_NODE;
			}
		if (n == MAX_NODES)
			nodes_arg = NULL;
	}

	if (nl_open("list", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_bufs(nl, &filter, buf_vec_add, &bufs);
	if (err) {
		nl_fail(nl, "list", err, NULL);
		goto out;
	}
	begin_output(&j, 1);
	for (i = 0; i < bufs.n; i++) {
		lb = vec_at(&bufs, i);
		one = lb->st;
		one.attach = lb->attach;
		if (nodes_arg && (st->node < 0 || st->node >= MAX_NODES ||
				  !list_test(want, (unsigned int)st->node)))
			continue;
		begin_object(&j);
		put_buf(&j, st, BUF_LISTED);
		end_object(&j);
	}
	ret = end_output(&j, 1);
out:
	vec_free(&bufs);
	numabuf_nl_close(nl);
	return ret;
}

/* ---- stats --------------------------------------------------------------- */

static void put_limits(struct json *j, const struct numabuf_limits *lim)
{
	put_cap(j, "max-bytes", lim->max_bytes);
	put_cap(j, "max-user-bytes", lim->max_user_bytes);
	put_size(j, "total-bytes", lim->total_bytes);
}

static int do_stats(int argc, char **argv)
{
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	struct numabuf_nodestat sum;
	const struct numabuf_nodestat *st;
	struct numabuf_limits lim;
	struct numabuf_nl *nl;
	int err, i, have_lim, ret = EXIT_FAILURE;
	struct json j;
	size_t n;

	if (argc > 1 && !matches(argv[1], "show"))
		return usage_error("stats: unknown command '%s'", argv[1]);
	if (argc > 2)
		return usage_error("stats: unexpected argument '%s'", argv[2]);

	if (nl_open("stats", &nl))
		return EXIT_FAILURE;
	if (node_vec_read(nl, "stats", &nodes))
		goto out;
	/* The caps are for administrators; the totals for anyone. */
	err = numabuf_nl_limit_get(nl, &lim);
	have_lim = !err;
	if (err == -EPERM) {
		fprintf(stderr, "%s: stats: the limits need CAP_NET_ADMIN; not shown\n",
			prog);
	} else if (err) {
		nl_fail(nl, "stats", err, NULL);
		goto out;
	}

	memset(&sum, 0, sizeof(sum));
	for (n = 0; n < nodes.n; n++) {
		st = vec_at(&nodes, n);
		sum.buffers += st->buffers;
		sum.bytes += st->bytes;
		sum.pool_target += st->pool_target;
		sum.pool_size += st->pool_size;
		sum.pool_free += st->pool_free;
		for (i = 0; i < 3; i++) {
			sum.allocs[i] += st->allocs[i];
			sum.fails[i] += st->fails[i];
		}
	}

	begin_output(&j, 0);
	begin_object(&j);
	put_u64(&j, "buffers", sum.buffers);
	put_size(&j, "bytes", sum.bytes);
	put_newline();
	put_size(&j, "pool-target", sum.pool_target);
	put_size(&j, "pool-size", sum.pool_size);
	put_size(&j, "pool-free", sum.pool_free);
	put_newline();
	put_counts(&j, sum.allocs, sum.fails);
	if (have_lim) {
		put_newline();
		put_limits(&j, &lim);
	}
	end_object(&j);
	ret = end_output(&j, 0);
out:
	vec_free(&nodes);
	numabuf_nl_close(nl);
	return ret;
}

/* ---- pool ---------------------------------------------------------------- */

static void put_node_pool(struct json *j, const struct numabuf_nodestat *st)
{
	begin_object(j);
	put_node_id(j, st->node);
	put_pool(j, st);
	end_object(j);
}

/*
 * A SIZE argument; a usage error names @what.  With @cap, "none" is 0.
 * Returns 0 or the exit status.
 */
static int parse_size_arg(const char *what, const char *arg, int cap,
			  uint64_t *bytes)
{
	int err;

	if (cap && !strcmp(arg, "none")) {
		*bytes = 0;
		return 0;
	}
	err = parse_size(arg, bytes);
	if (err == -ERANGE)
		return usage_error("%s: size '%s' is too large", what, arg);
	if (err)
		return usage_error("%s: invalid size '%s' (examples: 0, 512M, "
				   "1.5G%s)", what, arg, cap ? ", none" : "");
	return 0;
}

/* A NODE argument: an id, or "local".  Returns 0 or the exit status. */
static int parse_node_arg(const char *what, const char *arg, int *node)
{
	if (parse_node(arg, node))
		return usage_error("%s: invalid node '%s' (a node id or "
				   "'local')", what, arg);
	if (*node == NUMABUF_NODE_LOCAL) {
		*node = local_node();
		if (*node < 0) {
			fprintf(stderr, "%s: %s: cannot tell the local node: "
				"%s\n", prog, what, strerror(-*node));
			return EXIT_FAILURE;
		}
	}
	return 0;
}

static int do_pool_set(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "low",	required_argument,	NULL, OPT_LOW },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *low_arg = NULL, *size_arg;
	struct numabuf_nodestat st;
	struct numabuf_nl *nl;
	uint64_t target, low;
	int c, opt, node, err, ret = EXIT_FAILURE;
	struct json j;

	optind = 0;	/* options may follow NODE and SIZE */
	while ((c = getopt_long(argc, argv, "jph", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LOW:
			low_arg = optarg;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind == argc)
		return usage_error("pool set: expected NODE [SIZE] [--low SIZE]");
	if (argc - optind > 2)
		return usage_error("pool set: unexpected argument '%s'",
				   argv[optind + 2]);
	size_arg = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (!size_arg && !low_arg)
		return usage_error("pool set: expected SIZE, --low SIZE or both");
	err = parse_node_arg("pool set", argv[optind], &node);
	if (!err && size_arg)
		err = parse_size_arg("pool set", size_arg, 0, &target);
	if (!err && low_arg)
		err = parse_size_arg("pool set", low_arg, 0, &low);
	if (err)
		return err;

	if (nl_open("pool set", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_pool_set(nl, node, size_arg ? &target : NULL,
				  low_arg ? &low : NULL);
	if (err) {
		nl_fail(nl, "pool set", err, err == -EPERM ?
			"needs CAP_SYS_ADMIN and CAP_NET_ADMIN" : NULL);
		goto out;
	}
	/* What the pool is now, as pool show prints it. */
	err = numabuf_nl_node_get(nl, node, &st);
	if (err) {
		nl_fail(nl, "pool set", err, NULL);
		goto out;
	}
	begin_output(&j, 0);
	put_node_pool(&j, &st);
	ret = end_output(&j, 0);
out:
	numabuf_nl_close(nl);
	return ret;
}

static int do_pool(int argc, char **argv)
{
	uint64_t want[LIST_WORDS(MAX_NODES)];
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	const struct numabuf_nodestat *st;
	const char *nodes_arg = "all";
	struct numabuf_nl *nl;
	int node, err, ret = EXIT_FAILURE;
	struct json j;
	size_t i;

	if (argc > 1 && matches(argv[1], "set"))
		return do_pool_set(argc - 1, argv + 1);
	if (argc > 1 && (matches(argv[1], "show") || matches(argv[1], "list"))) {
		argc--;
		argv++;
	}
	if (argc > 2)
		return usage_error("pool: unexpected argument '%s'", argv[2]);
	if (argc > 1 && !is_nodes_word(argv[1]) && strcmp(argv[1], "local"))
		return usage_error("pool: unknown command '%s'", argv[1]);
	if (argc > 1)
		nodes_arg = argv[1];
	if (!strcmp(nodes_arg, "local")) {
		err = parse_node_arg("pool", nodes_arg, &node);
		if (err)
			return err;
		memset(want, 0, sizeof(want));
		if (node < MAX_NODES)
			list_set(want, (unsigned int)node);
	} else {
		err = parse_nodes_arg("pool", nodes_arg, want);
		if (err)
			return err;
	}

	if (nl_open("pool", &nl))
		return EXIT_FAILURE;
	if (node_vec_read(nl, "pool", &nodes))
		goto out;
	/* A node asked for by name must have a pool to show. */
	if (strcmp(nodes_arg, "all")) {
		for (node = 0; node < MAX_NODES; node++) {
			if (list_test(want, (unsigned int)node) &&
			    !node_vec_find(&nodes, node)) {
				fprintf(stderr, "%s: pool: node %d is not "
					"online or has no memory\n", prog,
					node);
				goto out;
			}
		}
	}
	begin_output(&j, 1);
	for (i = 0; i < nodes.n; i++) {
		st = vec_at(&nodes, i);
		if (st->node >= 0 && st->node < MAX_NODES &&
		    list_test(want, (unsigned int)st->node))
			put_node_pool(&j, st);
	}
	ret = end_output(&j, 1);
out:
	vec_free(&nodes);
	numabuf_nl_close(nl);
	return ret;
}

/* ---- limit --------------------------------------------------------------- */

static int print_limits(struct numabuf_nl *nl, const char *what)
{
	struct numabuf_limits lim;
	struct json j;
	int err;

	err = numabuf_nl_limit_get(nl, &lim);
	if (err)
		return nl_fail(nl, what, err, NULL);
	begin_output(&j, 0);
	begin_object(&j);
	put_limits(&j, &lim);
	end_object(&j);
	return end_output(&j, 0);
}

static int do_limit_set(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "max",	required_argument,	NULL, OPT_MAX },
		{ "max-user",	required_argument,	NULL, OPT_MAX_USER },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *max_arg = NULL, *user_arg = NULL;
	uint64_t max_bytes, max_user_bytes;
	struct numabuf_nl *nl;
	int c, opt, err, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jph", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_MAX:
			max_arg = optarg;
			break;
		case OPT_MAX_USER:
			user_arg = optarg;
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind < argc)
		return usage_error("limit set: unexpected argument '%s'",
				   argv[optind]);
	if (!max_arg && !user_arg)
		return usage_error("limit set: expected --max SIZE, "
				   "--max-user SIZE or both");
	err = max_arg ? parse_size_arg("limit set", max_arg, 1, &max_bytes) : 0;
	if (!err && user_arg)
		err = parse_size_arg("limit set", user_arg, 1, &max_user_bytes);
	if (err)
		return err;

	if (nl_open("limit set", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_limit_set(nl, max_arg ? &max_bytes : NULL,
				   user_arg ? &max_user_bytes : NULL);
	if (err)
		ret = nl_fail(nl, "limit set", err, err == -EPERM ?
			      "needs CAP_SYS_ADMIN and CAP_NET_ADMIN" : NULL);
	else
		ret = print_limits(nl, "limit set");
	numabuf_nl_close(nl);
	return ret;
}

static int do_limit(int argc, char **argv)
{
	struct numabuf_nl *nl;
	int ret;

	if (argc > 1 && matches(argv[1], "set"))
		return do_limit_set(argc - 1, argv + 1);
	if (argc > 1 && !matches(argv[1], "show") && !matches(argv[1], "list"))
		return usage_error("limit: unknown command '%s'", argv[1]);
	if (argc > 2)
		return usage_error("limit: unexpected argument '%s'", argv[2]);

	if (nl_open("limit", &nl))
		return EXIT_FAILURE;
	ret = print_limits(nl, "limit");
	numabuf_nl_close(nl);
	return ret;
}

/* ---- monitor ------------------------------------------------------------- */

struct monitor {
	uint64_t count;		/* stop after this many events; 0: never */
	uint64_t seen;
	int done;
};

static int monitor_event(const struct numabuf_event *ev, void *arg)
{
	struct monitor *mon = arg;
	const char *name, *text;
	unsigned int fields = 0;
	struct json j;

	switch (ev->type) {
	case NUMABUF_EVENT_BUF_CREATED:
		name = "buf-created";
		text = "created";
		/* The time of an event is now: text leaves it out. */
		fields = BUF_CREATED_NTF;
		if (!opts.json)
			fields &= ~BUF_CREATED;
		break;
	case NUMABUF_EVENT_BUF_FREED:
		name = "buf-freed";
		text = "freed";
		fields = BUF_FREED_NTF;
		break;
	case NUMABUF_EVENT_ALLOC_FAILED:
		name = "alloc-failed";
		text = "alloc-failed";
		fields = BUF_FAILED_NTF;
		break;
	case NUMABUF_EVENT_POOL_LOW:
		name = "pool-low";
		text = "pool-low";
		break;
	case NUMABUF_EVENT_BUF_ATTACHED:
		name = "buf-attached";
		text = "attached";
		fields = BUF_ATTACH_NTF;
		break;
	case NUMABUF_EVENT_BUF_DETACHED:
		name = "buf-detached";
		text = "detached";
		fields = BUF_ATTACH_NTF;
		break;
	default:
		return 0;
	}

	begin_output(&j, 0);
	begin_object(&j);
	if (opts.json)
		json_string(&j, "event", name);
	else
		put_word(text);
	if (ev->type == NUMABUF_EVENT_POOL_LOW) {
		put_node_id(&j, ev->node.node);
		put_size(&j, "pool-target", ev->node.pool_target);
		put_size(&j, "pool-size", ev->node.pool_size);
		put_size(&j, "pool-free", ev->node.pool_free);
		put_size(&j, "pool-low", ev->node.pool_low);
	} else {
		put_buf(&j, &ev->buf, fields);
	}
	end_object(&j);
	if (end_output(&j, 0))
		return -EIO;
	if (mon->count && ++mon->seen == mon->count) {
		mon->done = 1;
		return 1;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int do_monitor(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "count",	required_argument,	NULL, 'c' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct monitor mon = { 0, 0, 0 };
	uint64_t timeout = 0;
	int64_t deadline = 0, left;
	struct numabuf_nl *nl;
	struct pollfd pfd;
	int c, opt, n, err, ret = EXIT_FAILURE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+c:t:jph", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, UINT64_MAX, &mon.count) ||
			    !mon.count)
				return usage_error("monitor: invalid count "
						   "'%s' (a number of events, "
						   "1 or more)", optarg);
			break;
		case 't':
			if (parse_u64(optarg, TIMEOUT_MAX, &timeout) || !timeout)
				return usage_error("monitor: invalid timeout "
						   "'%s' (whole seconds, 1 to "
						   "%d)", optarg, TIMEOUT_MAX);
			break;
		default:
			opt = common_option(c);
			if (opt >= 0)
				return opt;
		}
	}
	if (optind < argc)
		return usage_error("monitor: unexpected argument '%s'",
				   argv[optind]);

	if (nl_open("monitor", &nl))
		return EXIT_FAILURE;
	err = numabuf_nl_subscribe(nl);
	if (err) {
		nl_fail(nl, "monitor", err, err == -EPERM ?
			"needs CAP_SYS_ADMIN" : NULL);
		goto out;
	}
	if (timeout)
		deadline = now_ms() + (int64_t)timeout * 1000;

	pfd.fd = numabuf_nl_fd(nl);
	pfd.events = POLLIN;
	while (!mon.done) {
		left = -1;
		if (timeout) {
			left = deadline - now_ms();
			if (left <= 0)
				break;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: monitor: poll: %s\n", prog,
				strerror(errno));
			goto out;
		}
		if (!n)
			continue;	/* the deadline */
		err = numabuf_nl_events(nl, 1, monitor_event, &mon);
		if (err == -ENOBUFS) {
			fprintf(stderr, "%s: monitor: events were lost (the "
				"socket's buffer overflowed)\n", prog);
		} else if (err < 0 && err != -EAGAIN) {
			nl_fail(nl, "monitor", err, NULL);
			goto out;
		}
	}
	ret = EXIT_SUCCESS;
out:
	numabuf_nl_close(nl);
	return ret;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_SUCCESS;
}

/* In this order: the first whose name @argv[0] begins wins ("l": list). */
static const struct {
	const char *name;
	int (*func)(int argc, char **argv);
} objects[] = {
	{ "nodes",	do_nodes },
	{ "list",	do_list },
	{ "limit",	do_limit },
	{ "stats",	do_stats },
	{ "alloc",	do_alloc },
	{ "pool",	do_pool },
	{ "monitor",	do_monitor },
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
