/*
 * Growable byte buffers with a hard limit (after curl's dynbuf). Anything
 * filled from outside the process has a named maximum; appending past it
 * fails with ERR_TOO_BIG and leaves the contents as they were.
 * The contents are always NUL-terminated (the NUL is not counted in len).
 */
#ifndef LEADFLOW_BASE_BUF_H
#define LEADFLOW_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* the most bytes len may reach */
};

void buf_init(struct buf *b, size_t max);
/* Frees the storage; b is left empty and reusable with the same max. */
void buf_release(struct buf *b);
/* Empties b but keeps its storage. */
void buf_reset(struct buf *b);

/* Each returns 0, or ERR_TOO_BIG when the result would exceed b->max. */
int buf_append_slow(struct buf *b, const void *p, size_t n);

/* Appends n bytes (and keeps a NUL after them); ERR_TOO_BIG past max. The
 * common case, room already there, is inline: JSON replies append many
 * small pieces. */
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n <= 4096 && b->data && n < b->cap - b->len) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append_slow(b, p, n);
}
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
/* Appends the n bytes of s with & < > " ' escaped for HTML text and
 * attribute values. Returns 0 or ERR_TOO_BIG. */
int buf_html_escape(struct buf *b, const char *s, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* The contents as a C string ("" when empty); borrowed from b. */
const char *buf_str(const struct buf *b);

/* Hands the storage to the caller (free with free()); b is left empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
