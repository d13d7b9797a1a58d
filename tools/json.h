/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer for the CLI's --json outputs: nesting is tracked so
 * commas come out right; strings are escaped. Output goes to a FILE.
 */
#ifndef DMAKIT_JSON_H
#define DMAKIT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j, const char *key);  /* key NULL inside arrays / at top */
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value); /* NULL: null */
void json_u64(struct json *j, const char *key, uint64_t value);
void json_double(struct json *j, const char *key, double value); /* %.6g; NaN: null */
void json_hex(struct json *j, const char *key, uint64_t value); /* "0x..." string */
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
void json_finish(struct json *j); /* newline after the top value */

#endif /* DMAKIT_JSON_H */
