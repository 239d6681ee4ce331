// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: apply: the boot configuration, /etc/numabuf.conf.
 *
 *   # comment; blank lines ignored; one directive a line, fields
 *   # separated by blanks
 *   pool NODE SIZE [low SIZE]
 *   limit max SIZE|none
 *   limit max-user SIZE|none
 *
 * The whole file is read and checked first (errors as FILE:LINE: message,
 * exit status 2, nothing applied); then each directive that changes
 * something is applied through the netlink family, as pool set and limit
 * set do, and printed.  --check only checks, and needs no module: nodes
 * are checked against sysfs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CONF_DEFAULT	"/etc/numabuf.conf"
#define LINE_MAX_LEN	1024
#define MAX_FIELDS	8

#define OPT_CHECK	1100

enum directive {
	DIR_POOL,
	DIR_MAX,
	DIR_MAX_USER,
};

struct directive_line {
	enum directive what;
	unsigned int line;
	int node;		/* DIR_POOL */
	uint64_t size;		/* the pool's target, or the cap (0: none) */
	uint64_t low;		/* DIR_POOL: low watermark, 0 without one */
};

struct conf {
	const char *file;
	unsigned int errors;
	struct vec dirs;	/* of struct directive_line */
	uint64_t online[LIST_WORDS(MAX_NODES)];
	int have_online;
};

__attribute__((format(printf, 3, 4)))
static void conf_error(struct conf *c, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u: ", c->file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->errors++;
}

/* A SIZE field; with @cap, "none" is 0.  Returns 0 or -1 (said why). */
static int conf_size(struct conf *c, unsigned int line, const char *what,
		     const char *arg, int cap, uint64_t *bytes)
{
	int err;

	if (cap && !strcmp(arg, "none")) {
		*bytes = 0;
		return 0;
	}
	err = parse_size(arg, bytes);
	if (err == -ERANGE) {
		conf_error(c, line, "%s: size '%s' is too large", what, arg);
		return -1;
	}
	if (err) {
		conf_error(c, line, "%s: invalid size '%s' (examples: 512M, "
			   "1.5G, 4096%s)", what, arg, cap ? ", none" : "");
		return -1;
	}
	return 0;
}

/*
 * A NODE field: a node id that is online and has memory (sysfs).
 * Returns 0 or -1 (said why).
 */
static int conf_node(struct conf *c, unsigned int line, const char *arg,
		     int *node)
{
	uint64_t total = 0, free_bytes = 0;
	uint64_t v;

	if (parse_u64(arg, MAX_NODES - 1, &v)) {
		conf_error(c, line, "pool: invalid node '%s' (a node id, 0 to "
			   "%d)", arg, MAX_NODES - 1);
		return -1;
	}
	*node = (int)v;
	if (!c->have_online) {
		conf_error(c, line, "pool: cannot tell whether node %d is "
			   "online: %s/online is unreadable", *node, SYSFS_NODE);
		return -1;
	}
	if (!list_test(c->online, (unsigned int)*node)) {
		conf_error(c, line, "pool: node %d is not online (online: see "
			   "%s/online)", *node, SYSFS_NODE);
		return -1;
	}
	if (read_node_meminfo(*node, &total, &free_bytes) || !total) {
		conf_error(c, line, "pool: node %d has no memory (see %s/"
			   "has_memory)", *node, SYSFS_NODE);
		return -1;
	}
	return 0;
}

static const struct directive_line *conf_find(const struct conf *c,
					      enum directive what, int node)
{
	const struct directive_line *d;
	size_t i;

	for (i = 0; i < c->dirs.n; i++) {
		d = vec_at(&c->dirs, i);
		if (d->what == what && (what != DIR_POOL || d->node == node))
			return d;
	}
	return NULL;
}

/* One line, split into @n fields. */
static void conf_directive(struct conf *c, unsigned int line, char **f, int n)
{
	const struct directive_line *prev;
	struct directive_line d;

	memset(&d, 0, sizeof(d));
	d.line = line;
	if (!strcmp(f[0], "pool")) {
		if (n != 3 && n != 5) {
			conf_error(c, line, "pool: expected 'pool NODE SIZE "
				   "[low SIZE]'");
			return;
		}
		if (n == 5 && strcmp(f[3], "low")) {
			conf_error(c, line, "pool: unknown field '%s' (expected "
				   "'low SIZE')", f[3]);
			return;
		}
		d.what = DIR_POOL;
		if (conf_node(c, line, f[1], &d.node) ||
		    conf_size(c, line, "pool", f[2], 0, &d.size) ||
		    (n == 5 && conf_size(c, line, "pool low", f[4], 0, &d.low)))
			return;
		if (d.low > d.size) {
			conf_error(c, line, "pool: low watermark %s is above "
				   "the pool's size %s", f[4], f[2]);
			return;
		}
		prev = conf_find(c, DIR_POOL, d.node);
		if (prev) {
			conf_error(c, line, "pool: node %d given twice (first "
				   "on line %u)", d.node, prev->line);
			return;
		}
	} else if (!strcmp(f[0], "limit")) {
		if (n != 3 || (strcmp(f[1], "max") && strcmp(f[1], "max-user"))) {
			conf_error(c, line, "limit: expected 'limit max "
				   "SIZE|none' or 'limit max-user SIZE|none'");
			return;
		}
		d.what = strcmp(f[1], "max") ? DIR_MAX_USER : DIR_MAX;
		if (conf_size(c, line, d.what == DIR_MAX ? "limit max" :
			      "limit max-user", f[2], 1, &d.size))
			return;
		prev = conf_find(c, d.what, 0);
		if (prev) {
			conf_error(c, line, "limit %s given twice (first on "
				   "line %u)", f[1], prev->line);
			return;
		}
	} else {
		conf_error(c, line, "unknown directive '%s' (pool or limit)",
			   f[0]);
		return;
	}
	if (vec_push(&c->dirs, &d)) {
		conf_error(c, line, "out of memory");
		return;
	}
}

/* Read and check the whole file.  Returns 0 or the exit status. */
static int conf_read(struct conf *c)
{
	char text[LINE_MAX_LEN + 2], *f[MAX_FIELDS + 1], *p, *save;
	unsigned int line = 0;
	char online[4096];
	FILE *in;
	int n;

	c->have_online = !read_text(SYSFS_NODE "/online", online,
				    sizeof(online)) &&
			 !list_parse(online, c->online, MAX_NODES);
	in = fopen(c->file, "re");
	if (!in) {
		fprintf(stderr, "%s: apply: cannot read %s: %s\n", prog,
			c->file, strerror(errno));
		return errno == ENOENT ? EXIT_USAGE : EXIT_FAILURE;
	}
	while (fgets(text, sizeof(text), in)) {
		line++;
		if (!strchr(text, '\n') && !feof(in)) {
			conf_error(c, line, "line longer than %d characters",
				   LINE_MAX_LEN);
			while (fgets(text, sizeof(text), in) &&
			       !strchr(text, '\n'))
				;
			continue;
		}
		p = strchr(text, '#');
		if (p)
			*p = '\0';
		n = 0;
		for (p = strtok_r(text, " \t\r\n", &save); p && n <= MAX_FIELDS;
		     p = strtok_r(NULL, " \t\r\n", &save))
			f[n++] = p;
		if (!n)
			continue;
		if (n > MAX_FIELDS) {
			conf_error(c, line, "%s: too many fields", f[0]);
			continue;
		}
		conf_directive(c, line, f, n);
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: apply: cannot read %s: %s\n", prog,
			c->file, strerror(EIO));
		fclose(in);
		return EXIT_FAILURE;
	}
	fclose(in);
	return c->errors ? EXIT_USAGE : 0;
}

/* Print one change: a JSON object, or a text line. */
static void put_change(struct json *j, const struct directive_line *d)
{
	begin_object(j);
	if (opts.json)
		json_string(j, "change", d->what == DIR_POOL ? "pool" : "limit");
	else
		put_word(d->what == DIR_POOL ? "pool" : "limit");
	switch (d->what) {
	case DIR_POOL:
		put_node_id(j, d->node);
		put_size(j, "pool-target", d->size);
		put_size(j, "pool-low", d->low);
		break;
	case DIR_MAX:
		put_cap(j, "max-bytes", d->size);
		break;
	case DIR_MAX_USER:
		put_cap(j, "max-user-bytes", d->size);
		break;
	}
	end_object(j);
}

/* Apply what changes something; returns the exit status. */
static int conf_apply(struct conf *c)
{
	const struct directive_line *d;
	const struct numabuf_nodestat *st;
	struct vec nodes = VEC_INIT(struct numabuf_nodestat);
	struct numabuf_limits lim;
	struct numabuf_nl *nl;
	int err, ret, first = 0, have_lim = 0;
	struct json j;
	char what[64];
	size_t i;

	memset(&lim, 0, sizeof(lim));
	ret = nl_open("apply", &nl);
	if (ret)
		return ret;
	ret = node_vec_read(nl, "apply", &nodes);
	if (ret)
		goto out;
	for (i = 0; i < c->dirs.n && !have_lim; i++) {
		d = vec_at(&c->dirs, i);
		if (d->what == DIR_POOL)
			continue;
		err = numabuf_nl_limit_get(nl, &lim);
		if (err) {
			ret = nl_fail(nl, "apply", err, err == -EPERM ?
				      "applying needs CAP_SYS_ADMIN and "
				      "CAP_NET_ADMIN: run it as root" : NULL);
			goto out;
		}
		have_lim = 1;
	}

	begin_output(&j, 1);
	for (i = 0; i < c->dirs.n; i++) {
		d = vec_at(&c->dirs, i);
		switch (d->what) {
		case DIR_POOL:
			st = node_vec_find(&nodes, d->node);
			if (st && st->pool_target == d->size &&
			    st->pool_low == d->low)
				continue;
			err = numabuf_nl_pool_set(nl, d->node, &d->size,
						  &d->low);
			break;
		case DIR_MAX:
			if (lim.max_bytes == d->size)
				continue;
			err = numabuf_nl_limit_set(nl, &d->size, NULL);
			break;
		case DIR_MAX_USER:
		default:
			if (lim.max_user_bytes == d->size)
				continue;
			err = numabuf_nl_limit_set(nl, NULL, &d->size);
			break;
		}
		if (err) {
			/* The rest still goes in: a boot should get what it can. */
			fflush(stdout);
			snprintf(what, sizeof(what), "apply: %s:%u", c->file,
				 d->line);
			err = nl_fail(nl, what, err, err == -EPERM ?
				      "applying needs CAP_SYS_ADMIN and "
				      "CAP_NET_ADMIN: run it as root" : NULL);
			if (!first)
				first = err;
			continue;
		}
		put_change(&j, d);
		if (!opts.json)
			fflush(stdout);
	}
	ret = end_output(&j, 1);
	if (first)
		ret = first;
out:
	vec_free(&nodes);
	numabuf_nl_close(nl);
	return ret;
}

int do_apply(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "check",	no_argument,		NULL, OPT_CHECK },
		{ NULL,		0,			NULL, 0 },
	};
	struct conf c = { .dirs = VEC_INIT(struct directive_line) };
	int ch, check = 0, ret;

	optind = 0;	/* glibc: start over on this argv */
	while ((ch = ctl_getopt(argc, argv, "apply", "", long_opts)) != -1) {
		if (ch != OPT_CHECK)
			return opt_exit;
		check = 1;
	}
	if (argc - optind > 1)
		return usage_error("apply: unexpected argument '%s'",
				   argv[optind + 1]);
	c.file = argc - optind == 1 ? argv[optind] : CONF_DEFAULT;

	ret = conf_read(&c);
	if (!ret && !check)
		ret = conf_apply(&c);
	vec_free(&c.dirs);
	return ret;
}
