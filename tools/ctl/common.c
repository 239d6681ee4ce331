// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: what the commands share: argument parsing and errors,
 * sysfs, the netlink socket, a growing array.
 */
#include <errno.h>
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

/*
 * The options every command takes after its name too (-j, -p, -h), and
 * getopt's errors, for the default: of each command's option loop.
 * Returns -1 to go on, else the exit status to return.
 */
int common_option(int c)
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
void nl_open_error(const char *what, int err)
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
int nl_open(const char *what, struct numabuf_nl **nl)
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
	return EXIT_FAILURE;
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
