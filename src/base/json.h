/*
 * A streaming JSON writer (RFC 8259) onto a bounded buffer, for hot replies
 * and log lines where building a jansson tree would cost allocations.
 * Commas and nesting are tracked; strings are escaped and invalid UTF-8 is
 * replaced with U+FFFD, so the output is always valid JSON.
 * Errors (ERR_TOO_BIG from the buffer) are sticky: check jw_finish() once.
 */
#ifndef LEADFLOW_BASE_JSON_H
#define LEADFLOW_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum { JW_MAX_DEPTH = 32 };

struct jw {
    struct buf *out; /* borrowed */
    int depth;
    int err;
    bool first[JW_MAX_DEPTH]; /* no element written yet at this level */
    bool obj[JW_MAX_DEPTH];   /* this level is an object (keys before values) */
    bool after_key;
};

void jw_init(struct jw *w, struct buf *out);

void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);

void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Writes already-encoded JSON text as one value. */
void jw_raw(struct jw *w, const char *json, size_t n);

/* Shorthands for a key followed by a value. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);

/* Appends s as the inside of a JSON string (no quotes) to b. */
int json_escape(struct buf *b, const char *s, size_t n);

/* 0, or the first error met: ERR_TOO_BIG, or ERR_INVALID for bad nesting (a
 * close that does not match the open, a key outside an object or without a
 * value, a value in an object without a key, a second top-level value). */
int jw_finish(struct jw *w);

/* How write-only secrets are answered. */
#define JSON_SECRET_MASK "********"
struct json_t;
/* Answers the object's "secret" as JSON_SECRET_MASK (when it has one) and
 * says whether one is set in "secretSet". */
void json_secret_mask(struct json_t *obj);
/* Masks every object's "secret" in the tree v (a job's payload, say). */
void json_secrets_mask_all(struct json_t *v);

#endif
