// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: output, as JSON members or "key value" pairs of a text
 * line: sizes, nodes, pools, buffers, limits.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

static int text_bol;	/* at the beginning of a text line */

/* Text: a word, after a space unless it begins the line. */
void put_word(const char *word)
{
	printf("%s%s", text_bol ? "" : " ", word);
	text_bol = 0;
}

void put_u64(struct json *j, const char *key, uint64_t v)
{
	if (opts.json) {
		json_u64(j, key, v);
		return;
	}
	put_word(key);
	printf(" %" PRIu64, v);
}

/* Text: "-" for an empty string. */
void put_str(struct json *j, const char *key, const char *s)
{
	if (opts.json) {
		json_string(j, key, s);
		return;
	}
	put_word(key);
	printf(" %s", *s ? s : "-");
}

/* Sizes: a number in JSON, "1.5GiB" in text. */
void put_size(struct json *j, const char *key, uint64_t bytes)
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
void put_cap(struct json *j, const char *key, uint64_t bytes)
{
	if (!opts.json && !bytes)
		put_str(j, key, "none");
	else
		put_size(j, key, bytes);
}

/* A node id, which in an alloc-failed event may be NUMABUF_NODE_LOCAL. */
void put_node(struct json *j, int node)
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
void put_node_id(struct json *j, int node)
{
	if (opts.json)
		json_int(j, "id", node);
	else
		put_node(j, node);
}

/* Text: the rest of the object on a new line, indented. */
void put_break(void)
{
	if (opts.json)
		return;
	printf("\n    ");
	text_bol = 1;
}

/* Text: the rest of the object on a new line. */
void put_newline(void)
{
	if (opts.json)
		return;
	putchar('\n');
	text_bol = 1;
}

void put_pool(struct json *j, const struct numabuf_nodestat *st)
{
	put_size(j, "pool-target", st->pool_target);
	put_size(j, "pool-size", st->pool_size);
	put_size(j, "pool-free", st->pool_free);
	put_size(j, "pool-largest", st->pool_largest);
	put_size(j, "pool-low", st->pool_low);
}

void put_counts(struct json *j, const uint64_t *allocs,
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
void begin_object(struct json *j)
{
	if (opts.json)
		json_begin_object(j, NULL);
	text_bol = 1;
}

void end_object(struct json *j)
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
void begin_output(struct json *j, int array)
{
	if (!opts.json)
		return;
	json_init(j, stdout, opts.pretty);
	if (array)
		json_begin_array(j, NULL);
}

int end_output(struct json *j, int array)
{
	if (opts.json) {
		if (array)
			json_end_array(j);
		json_finish(j);
	}
	return fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}


/* Flags: an array of names in JSON, "pool,huge-map" in text, "-" for none. */
void put_flags(struct json *j, uint32_t flags)
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
void put_source(struct json *j, uint32_t source)
{
	const char *name = source_name(source);

	if (name)
		put_str(j, "source", name);
	else
		put_u64(j, "source", source);
}

/* A time: ns since the epoch in JSON, the local time in text. */
void put_time(struct json *j, const char *key, uint64_t ns)
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
void put_errno(struct json *j, const char *key, uint32_t err)
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
void put_attach(struct json *j, const struct numabuf_attachinfo *ai,
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

void put_buf(struct json *j, const struct numabuf_bufstat *st,
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

void put_limits(struct json *j, const struct numabuf_limits *lim)
{
	put_cap(j, "max-bytes", lim->max_bytes);
	put_cap(j, "max-user-bytes", lim->max_user_bytes);
	put_size(j, "total-bytes", lim->total_bytes);
}

void put_node_pool(struct json *j, const struct numabuf_nodestat *st)
{
	begin_object(j);
	put_node_id(j, st->node);
	put_pool(j, st);
	end_object(j);
}
