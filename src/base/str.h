/*
 * Length-counted string views. A struct str borrows its bytes; it is not
 * NUL-terminated in general. Used for paths, headers and tokens on hot paths
 * so that nothing is copied just to be compared.
 */
#ifndef LEADFLOW_BASE_STR_H
#define LEADFLOW_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str {
    const char *p;
    size_t len;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

struct str str_from(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eq_cstr(struct str a, const char *s);
bool str_eq_nocase(struct str a, const char *s);
bool str_starts_with(struct str a, const char *prefix);

/* Splits s at the first sep: *head gets what is before, s what is after.
 * Returns false (and takes all of s as head) when sep does not occur. */
bool str_split(struct str *s, char sep, struct str *head);

/* Parses all of s as a decimal integer in [min, max]; false otherwise. */
bool str_to_i64(struct str s, int64_t min, int64_t max, int64_t *out);

/* A plausible email address (local@domain.tld, no spaces or brackets, at
 * most 320 bytes): the check done before storing one. */
bool str_is_email(const char *s);

/* Whether s holds a control character (C0 or DEL) other than a tab when
 * tab_ok: what a one-line value (a header, a name) must never carry. */
bool str_has_control(const char *s, bool tab_ok);

/*
 * The length of s[0..n) without a UTF-8 sequence cut off at its end (a
 * lead byte with fewer continuation bytes after it than it announces, or
 * stray continuation bytes): n when s ends with a whole character.
 */
size_t str_utf8_whole(const char *s, size_t n);

/* Copies s into dst (size n, n > 0) with truncation; always NUL-terminates. */
void str_copy(char *dst, size_t n, struct str s);

#endif
