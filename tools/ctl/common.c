// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: what the commands share: argument parsing and errors,
 * sysfs, the netlink socket, a growing array.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int try_help(void)
{
	fprintf(stderr, "Try '%s help'.\n", prog);
	return EXIT_USAGE;
}

/* The exit status for a refusal with -errno @err. */
int exit_status(int err)
{
	switch (err) {
	case 0:
		return EXIT_SUCCESS;
	case -EPERM:
	case -EACCES:
		return EXIT_DENIED;
	case -EDQUOT:
		return EXIT_LIMIT;
	default:
		return EXIT_FAILURE;
	}
}

__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return try_help();
}

int opt_exit;

#define MAX_LONG_OPTS	32

/*
 * getopt_long() over @what's own options and the global ones, which every
 * command takes anywhere among its arguments (GNU permutation: options
 * may follow NODE, SIZE and the like).  getopt itself prints nothing:
 * every error here has the one prefix of numabufctl's usage errors.
 * Returns the command's option, -1 at the end, or OPT_EXIT with the exit
 * status in opt_exit (help or version printed, or a usage error said).
 */
int ctl_getopt(int argc, char **argv, const char *what, const char *shortopts,
	       const struct option *longopts)
{
	static const struct option global[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "pretty",	no_argument,	NULL, 'p' },
		{ "version",	no_argument,	NULL, 'V' },
		{ "help",	no_argument,	NULL, 'h' },
	};
	static struct option all[MAX_LONG_OPTS];
	static char optstring[64];
	const char *arg;
	size_t n = 0, i;
	int c;

	/*
	 * Both tables, and ":" first (after a '+', which stops at the first
	 * argument): a missing argument is then ':', not '?'.
	 */
	if (*shortopts == '+')
		snprintf(optstring, sizeof(optstring), "+:%sjpVh",
			 shortopts + 1);
	else
		snprintf(optstring, sizeof(optstring), ":%sjpVh", shortopts);
	for (; longopts && longopts[n].name && n < MAX_LONG_OPTS - 5; n++)
		all[n] = longopts[n];
	for (i = 0; i < sizeof(global) / sizeof(global[0]); i++)
		all[n++] = global[i];
	memset(&all[n], 0, sizeof(all[n]));

	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, optstring, all, NULL);
		if (c == 'j')
			opts.json = 1;
		else if (c == 'p')
			opts.pretty = 1;
		else
			break;
	}
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	switch (c) {
	case 'V':
		printf("%s %s\n", prog, NUMABUF_VERSION);
		opt_exit = EXIT_SUCCESS;
		return OPT_EXIT;
	case 'h':
		usage(stdout);
		opt_exit = EXIT_SUCCESS;
		return OPT_EXIT;
	case '?':
		if (optopt > 0 && optopt < 256)
			opt_exit = usage_error("%s%sunknown option '-%c'",
					       what, *what ? ": " : "", optopt);
		else
			opt_exit = usage_error("%s%sunknown option '%s'",
					       what, *what ? ": " : "", arg);
		return OPT_EXIT;
	case ':':
		if (optopt > 0 && optopt < 256 && arg[0] == '-' && arg[1] != '-')
			opt_exit = usage_error("%s%soption '-%c' needs an "
					       "argument", what,
					       *what ? ": " : "", optopt);
		else
			opt_exit = usage_error("%s%soption '%s' needs an "
					       "argument", what,
					       *what ? ": " : "", arg);
		return OPT_EXIT;
	default:
		return c;
	}
}

/*
 * Parse the options of a command that has none of its own: then *args
 * and *nargs are its arguments.  Returns -1 to go on, or the exit status
 * (help or version printed, or a usage error).
 */
int ctl_no_options(int argc, char **argv, const char *what, char ***args,
		   int *nargs)
{
	optind = 0;	/* glibc: start over on this argv */
	if (ctl_getopt(argc, argv, what, "", NULL) != -1)
		return opt_exit;
	*args = argv + optind;
	*nargs = argc - optind;
	return -1;
}

/* iproute2 style: any non-empty prefix of @word selects it. */
int matches(const char *arg, const char *word)
{
	size_t len = strlen(arg);

	return len && len <= strlen(word) && !strncmp(arg, word, len);
}

/* Read a small sysfs file into @buf without its trailing newline. */
int read_text(const char *path, char *buf, size_t len)
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
int read_online(uint64_t *online)
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
int read_node_meminfo(int node, uint64_t *mem_total,
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
int parse_nodes_arg(const char *what, const char *arg, uint64_t *map)
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
int is_nodes_word(const char *s)
{
	return (*s >= '0' && *s <= '9') || !strcmp(s, "all");
}

/* NUMABUF_NODE_LOCAL as a node id: the node of the CPU we run on. */
int local_node(void)
{
	unsigned int cpu, node;

	if (getcpu(&cpu, &node))
		return -errno;
	return (int)node;
}

/* ---- a growing array ---------------------------------------------------- */

int vec_push(struct vec *vec, const void *elem)
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

const void *vec_at(const struct vec *vec, size_t i)
{
	return (const char *)vec->v + i * vec->size;
}

void vec_free(struct vec *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

/* ---- netlink ------------------------------------------------------------- */

/* Why numabuf_nl_open() failed, on stderr. */
int nl_open_error(const char *what, int err)
{
	if (err == -ENOENT) {
		fprintf(stderr, "%s: %s: the numabuf module is not loaded "
			"(no generic netlink family '%s'): load it with "
			"'modprobe numabuf'\n", prog, what, NUMABUF_FAMILY_NAME);
		return EXIT_NO_MODULE;
	}
	if (err == -EPROTO)
		fprintf(stderr, "%s: %s: the module's netlink family is older "
			"than this tool: load the numabuf module of the same "
			"version (%s)\n", prog, what, NUMABUF_VERSION);
	else
		fprintf(stderr, "%s: %s: cannot open a generic netlink socket: "
			"%s\n", prog, what, strerror(-err));
	return EXIT_FAILURE;
}

/*
 * Open the control plane; says why on stderr when it cannot.  Returns 0
 * or the exit status.
 */
int nl_open(const char *what, struct numabuf_nl **nl)
{
	int err = numabuf_nl_open(nl);

	return err ? nl_open_error(what, err) : 0;
}

/*
 * "numabufctl: WHAT: Operation not permitted: the kernel's message", or
 * @hint after the errno's text when the kernel gave no message.  Returns
 * the exit status.
 */
int nl_fail(struct numabuf_nl *nl, const char *what, int err,
	    const char *hint)
{
	const char *msg = numabuf_nl_errmsg(nl);

	fprintf(stderr, "%s: %s: %s", prog, what, strerror(-err));
	if (*msg)
		fprintf(stderr, ": %s", msg);
	else if (hint)
		fprintf(stderr, " (%s)", hint);
	fputc('\n', stderr);
	return exit_status(err);
}

int node_vec_add(const struct numabuf_nodestat *st, void *arg)
{
	return vec_push(arg, st);
}

/* Every node with memory, as node-get's dump gives them, in order of id. */
int node_vec_read(struct numabuf_nl *nl, const char *what,
			 struct vec *nodes)
{
	int err = numabuf_nl_nodes(nl, node_vec_add, nodes);

	if (err)
		return nl_fail(nl, what, err, NULL);
	return 0;
}

const struct numabuf_nodestat *node_vec_find(const struct vec *nodes,
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

/*
 * A SIZE argument; a usage error names @what.  With @cap, "none" is 0.
 * Returns 0 or the exit status.
 */
int parse_size_arg(const char *what, const char *arg, int cap,
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
int parse_node_arg(const char *what, const char *arg, int *node)
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
