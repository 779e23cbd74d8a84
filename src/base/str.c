/*
 * Length-counted string views.
 */
#include "base/str.h"

#include <string.h>
#include <strings.h>

struct str str_from(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool str_eq_cstr(struct str a, const char *s)
{
    return str_eq(a, str_from(s));
}

bool str_eq_nocase(struct str a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool str_starts_with(struct str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

bool str_split(struct str *s, char sep, struct str *head)
{
    const char *q = s->len ? memchr(s->p, sep, s->len) : NULL;
    if (!q) {
        *head = *s;
        s->p += s->len;
        s->len = 0;
        return false;
    }
    head->p = s->p;
    head->len = (size_t)(q - s->p);
    s->len -= head->len + 1;
    s->p = q + 1;
    return true;
}

bool str_to_i64(struct str s, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s.len == 0)
        return false;
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
        if (s.len == 1)
            return false;
    }
    /* Accumulate as a negative number so that INT64_MIN fits. */
    int64_t v = 0;
    for (; i < s.len; i++) {
        char c = s.p[i];
        if (c < '0' || c > '9')
            return false;
        int d = c - '0';
        if (v < (INT64_MIN + d) / 10)
            return false;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return false;
        v = -v;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

size_t str_utf8_whole(const char *s, size_t n)
{
    size_t k = n; /* back over the continuation bytes to the last lead byte */
    while (k > 0 && n - k < 4 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
        k--;
    if (k == 0)
        return 0; /* nothing but continuation bytes */
    unsigned char lead = (unsigned char)s[k - 1];
    if (lead < 0xC0)
        return k; /* ASCII (or a fifth continuation byte): strays after it go */
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return n - (k - 1) < want ? k - 1 : n;
}

void str_copy(char *dst, size_t n, struct str s)
{
    size_t k = s.len < n - 1 ? s.len : n - 1;
    memcpy(dst, s.p, k);
    dst[k] = '\0';
}

bool str_has_control(const char *s, bool tab_ok)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p < 0x20 && !(tab_ok && *p == '\t')) || *p == 0x7f)
            return true;
    return false;
}

bool str_is_email(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    if (!at || at == s || strchr(at + 1, '@') || n > 320 || (size_t)(at - s) > 64)
        return false;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || dot[1] == '\0' || at[1] == '.' || s[n - 1] == '.')
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' ||
            c == '(' || c == ')' || c == '[' || c == ']' || c == '\\')
            return false;
    }
    return strstr(s, "..") == NULL;
}
