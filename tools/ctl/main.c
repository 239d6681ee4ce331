// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: look at NUMA nodes, numabuf's buffers, pools, limits and
 * events, and allocate buffers.
 *
 *   numabufctl [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * Everything but alloc goes through the "numabuf" generic netlink family
 * (libnumabuf's numabuf_nl_*); alloc opens the device.  Each command has
 * its file; this one parses the global options, dispatches and has the
 * usage text.
 *
 * Exit status: see EXIT_* in common.h and numabufctl(8).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

const char prog[] = "numabufctl";
struct ctl_opts opts;

void usage(FILE *f)
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
		"  apply [--check] [FILE]\n"
		"                      read the boot configuration, FILE or\n"
		"                      /etc/numabuf.conf, check all of it, then set\n"
		"                      the pools and limits it names, printing each\n"
		"                      change (CAP_SYS_ADMIN and CAP_NET_ADMIN);\n"
		"                      --check only checks, without the module.\n"
		"                      Lines: 'pool NODE SIZE [low SIZE]',\n"
		"                      'limit max SIZE|none', 'limit max-user\n"
		"                      SIZE|none', '# comments'\n"
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
		"The options may come before OBJECT or anywhere after it.\n"
		"\n"
		"SIZE   bytes, or with a unit: 4096, 4K, 4KiB, 4KB, 1.5M, 2G; K, M, G,\n"
		"       T (or KiB, KB, ..., in any case) are powers of 1024: 4MB\n"
		"       is 4194304 bytes.  Sizes print as 4KiB, 1.5GiB (one\n"
		"       decimal when not exact)\n"
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
		"\"%s\") and need no access to the device.\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage or configuration\n"
		"error, 3 the numabuf module is not loaded, 4 refused for lack of\n"
		"a privilege, 5 refused by a limit (RLIMIT_MEMLOCK, the memory\n"
		"cgroup, a numabuf cap, range_rate).  See numabufctl(8).\n",
		prog, NUMABUF_DEVICE_PATH, NUMABUF_DEVICE_ENV,
		NUMABUF_FAMILY_NAME);
}
static int do_help(int argc, char **argv)
{
	char **args;
	int nargs, ret;

	ret = ctl_no_options(argc, argv, "help", &args, &nargs);
	if (ret >= 0)
		return ret;
	if (nargs)
		return usage_error("help: unexpected argument '%s'", args[0]);
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
	{ "apply",	do_apply },
	{ "help",	do_help },
};

int main(int argc, char **argv)
{
	size_t i;

	/* The global options before OBJECT; each command takes them too. */
	optind = 0;
	if (ctl_getopt(argc, argv, "", "+", NULL) != -1)
		return opt_exit;
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
