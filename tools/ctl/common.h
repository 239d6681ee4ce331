/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * numabufctl: what the command files (one per command, as ethtool keeps
 * its netlink commands) share.  main.c parses the global options and
 * dispatches; common.c has argument parsing, errors, sysfs and the netlink
 * socket; output.c the JSON and text output.
 */
#ifndef NUMABUFCTL_COMMON_H
#define NUMABUFCTL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <numabuf.h>

#include "json.h"
#include "util.h"

#ifndef NUMABUF_VERSION
#define NUMABUF_VERSION "unknown"
#endif

/*
 * Exit status (numabufctl(8), EXIT STATUS): EXIT_SUCCESS 0, EXIT_FAILURE 1
 * (any other failure), and:
 */
#define EXIT_USAGE	2	/* bad command line or configuration file */
#define EXIT_NO_MODULE	3	/* the numabuf module is not loaded */
#define EXIT_DENIED	4	/* refused: a privilege is missing */
#define EXIT_LIMIT	5	/* refused: over a limit (memlock, a cap, ...) */

#ifndef SYSFS_NODE	/* a test may build against another tree */
#define SYSFS_NODE	"/sys/devices/system/node"
#endif
#define MAX_NODES	4096	/* above any kernel's MAX_NUMNODES */

extern const char prog[];

/* The global options. */
struct ctl_opts {
	int json;
	int pretty;
};
extern struct ctl_opts opts;

/* The commands: each returns the exit status. */
int do_nodes(int argc, char **argv);
int do_list(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_alloc(int argc, char **argv);
int do_pool(int argc, char **argv);
int do_limit(int argc, char **argv);
int do_monitor(int argc, char **argv);
int do_apply(int argc, char **argv);

/* ---- arguments and errors (common.c) ---- */

struct option;

void usage(FILE *f);
int try_help(void);
int exit_status(int err);
__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...);
/* ctl_getopt() returns it when the command must end with opt_exit. */
#define OPT_EXIT	(-2)
extern int opt_exit;
int ctl_getopt(int argc, char **argv, const char *what, const char *shortopts,
	       const struct option *longopts);
int ctl_no_options(int argc, char **argv, const char *what, char ***args,
		   int *nargs);
int matches(const char *arg, const char *word);
int read_text(const char *path, char *buf, size_t len);
int read_online(uint64_t *online);
int read_node_meminfo(int node, uint64_t *mem_total, uint64_t *mem_free);
int parse_nodes_arg(const char *what, const char *arg, uint64_t *map);
int is_nodes_word(const char *s);
int local_node(void);
int parse_size_arg(const char *what, const char *arg, int cap,
		   uint64_t *bytes);
int parse_node_arg(const char *what, const char *arg, int *node);

/* ---- a growing array ---- */

struct vec {
	void *v;
	size_t n;
	size_t cap;
	size_t size;	/* of an element */
};

#define VEC_INIT(type)	{ NULL, 0, 0, sizeof(type) }

int vec_push(struct vec *vec, const void *elem);
const void *vec_at(const struct vec *vec, size_t i);
void vec_free(struct vec *vec);

/* ---- netlink ---- */

int nl_open_error(const char *what, int err);
int nl_open(const char *what, struct numabuf_nl **nl);
int nl_fail(struct numabuf_nl *nl, const char *what, int err,
	    const char *hint);
int node_vec_add(const struct numabuf_nodestat *st, void *arg);
int node_vec_read(struct numabuf_nl *nl, const char *what,
		  struct vec *nodes);
const struct numabuf_nodestat *node_vec_find(const struct vec *nodes,
					     int node);

/* ---- output (output.c) ---- */

void put_word(const char *word);
void put_u64(struct json *j, const char *key, uint64_t v);
void put_str(struct json *j, const char *key, const char *s);
void put_size(struct json *j, const char *key, uint64_t bytes);
void put_cap(struct json *j, const char *key, uint64_t bytes);
void put_node(struct json *j, int node);
void put_node_id(struct json *j, int node);
void put_break(void);
void put_newline(void);
void put_pool(struct json *j, const struct numabuf_nodestat *st);
void put_counts(struct json *j, const uint64_t *allocs,
		const uint64_t *fails);
void begin_object(struct json *j);
void end_object(struct json *j);
void begin_output(struct json *j, int array);
int end_output(struct json *j, int array);
void put_limits(struct json *j, const struct numabuf_limits *lim);
void put_node_pool(struct json *j, const struct numabuf_nodestat *st);

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

void put_flags(struct json *j, uint32_t flags);
void put_source(struct json *j, uint32_t source);
void put_time(struct json *j, const char *key, uint64_t ns);
void put_errno(struct json *j, const char *key, uint32_t err);
void put_attach(struct json *j, const struct numabuf_attachinfo *ai,
		uint32_t n);
void put_buf(struct json *j, const struct numabuf_bufstat *st,
	     unsigned int fields);

#endif /* NUMABUFCTL_COMMON_H */
