/*
 * CSV (RFC 4180) in and out, over Debian's libcsv: records with quoted
 * fields (embedded delimiters, quotes doubled, line breaks), UTF-8 with or
 * without a byte-order mark, and the delimiter a spreadsheet wrote (',', ';'
 * or tab) found from the first record. Written cells are quoted when needed,
 * and a cell a spreadsheet would run as a formula (= + - @, tab, CR first)
 * gets a leading ' (OWASP "CSV injection").
 */
#ifndef LEADFLOW_BASE_CSVIO_H
#define LEADFLOW_BASE_CSVIO_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* One record: n fields, each NUL-terminated (lens[i] bytes, which may hold
 * a NUL of the input). record counts from 1. Returning non-zero stops the
 * parse with that code. Fields live until the call returns. */
typedef int (*csvio_record_fn)(void *arg, size_t record, char *const *fields, const size_t *lens,
                               size_t n);

/* The delimiter of data: the one of ',' ';' tab seen most often in the
 * first record outside quotes (',' when none is). */
char csvio_detect(const char *data, size_t len);

/*
 * Calls fn for each record of data (a leading UTF-8 BOM is skipped; a
 * blank line is a record with no fields, so that record numbers are the row
 * numbers a spreadsheet shows); delim 0 detects it. Fields hold at most
 * max_fields per record (more: ERR_INVALID naming the record). Returns 0,
 * fn's code, or ERR_INVALID for a record with more fields than that.
 */
int csvio_parse(const char *data, size_t len, char delim, size_t max_fields, csvio_record_fn fn,
                void *arg, struct errinfo *e);

/* Appends one cell: quoted when it holds the delimiter, a quote, CR or LF,
 * or starts or ends with a space; prefixed with ' (and quoted) when it starts
 * with = + - @ tab or CR. Returns 0 or ERR_TOO_BIG. */
int csvio_put_cell(struct buf *b, const char *s, char delim);

#endif
