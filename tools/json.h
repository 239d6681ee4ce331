/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal streaming JSON writer for numabufctl's -j/--json output.
 * Keys are given for members of objects and NULL for elements of arrays.
 */
#ifndef NUMABUFCTL_JSON_H
#define NUMABUFCTL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	8

struct json {
	FILE *f;
	int pretty;
	int depth;
	int count[JSON_MAX_DEPTH];	/* members written at each depth */
};

void json_init(struct json *j, FILE *f, int pretty);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_int(struct json *j, const char *key, long long v);
/* A non-finite @v is written as null. */
void json_double(struct json *j, const char *key, double v);
void json_string(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif /* NUMABUFCTL_JSON_H */
