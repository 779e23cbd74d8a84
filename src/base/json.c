/*
 * Streaming JSON writer (RFC 8259). Strings are validated as UTF-8 while they
 * are escaped; a bad sequence becomes U+FFFD rather than an invalid document.
 * Also the masking of write-only secrets in a jansson object.
 */
#include "base/json.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void jw_init(struct jw *w, struct buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->first[0] = true;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
    if (!w->err)
        w->err = buf_append(w->out, s, n);
}

static void jw_invalid(struct jw *w)
{
    if (!w->err)
        w->err = ERR_INVALID;
}

/* Writes the comma before a new element (a value, or a key and its value). */
static void jw_comma(struct jw *w)
{
    if (!w->first[w->depth]) {
        if (w->depth == 0)
            jw_invalid(w); /* a second top-level value */
        jw_put(w, ",", 1);
    }
    w->first[w->depth] = false;
}

/* Writes what comes before a new value: nothing after a key, else a comma.
 * Inside an object a value must follow its key. */
static void jw_sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->obj[w->depth])
        jw_invalid(w);
    jw_comma(w);
}

static void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    jw_put(w, &c, 1);
    if (w->depth + 1 >= JW_MAX_DEPTH) {
        jw_invalid(w);
        return;
    }
    w->depth++;
    w->first[w->depth] = true;
    w->obj[w->depth] = c == '{';
}

static void jw_close(struct jw *w, char c)
{
    /* "{]" and {"a":} are not JSON. */
    if (w->depth == 0 || w->after_key || w->obj[w->depth] != (c == '}')) {
        jw_invalid(w);
        return;
    }
    w->depth--;
    jw_put(w, &c, 1);
}

void jw_obj_begin(struct jw *w)
{
    jw_open(w, '{');
}

void jw_obj_end(struct jw *w)
{
    jw_close(w, '}');
}

void jw_arr_begin(struct jw *w)
{
    jw_open(w, '[');
}

void jw_arr_end(struct jw *w)
{
    jw_close(w, ']');
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned int cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes copied as they are without a second look: printable ASCII but the
 * quote and the backslash. */
#define PLAIN16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char json_plain[256] = {
    PLAIN16(0), PLAIN16(0),                                                 /* controls */
    1,          1,          0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,       /* 0x20-0x2f: '"' */
    PLAIN16(1), PLAIN16(1), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f: '\\' */
    PLAIN16(1), 1,          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,    /* 0x70-0x7f: DEL */
};

int json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        while (i < n && json_plain[p[i]])
            i++;
        if (i >= n)
            break;
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[7];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            ubuf[0] = '\\';
            ubuf[1] = 'u';
            ubuf[2] = '0';
            ubuf[3] = '0';
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_seq(p + i, n - i);
            if (adv == 0) {
                esc = "\xef\xbf\xbd"; /* U+FFFD */
                adv = 1;
            }
        }
        if (esc) {
            rc = buf_append(b, s + run, i - run);
            if (!rc)
                rc = buf_puts(b, esc);
            run = i + adv;
        }
        i += adv;
    }
    if (!rc && run < n)
        rc = buf_append(b, s + run, n - run);
    return rc;
}

void jw_key(struct jw *w, const char *key)
{
    if (!w->obj[w->depth] || w->after_key)
        jw_invalid(w);
    w->after_key = false;
    jw_comma(w);
    jw_put(w, "\"", 1);
    if (!w->err)
        w->err = json_escape(w->out, key, strlen(key));
    jw_put(w, "\":", 2);
    w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    jw_sep(w);
    jw_put(w, "\"", 1);
    if (!w->err)
        w->err = json_escape(w->out, s, n);
    jw_put(w, "\"", 1);
}

void jw_str(struct jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    /* Digits from the right, on the magnitude as unsigned (INT64_MIN too). */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jw_sep(w);
    jw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jw_double(struct jw *w, double v)
{
    if (!isfinite(v)) {
        jw_null(w);
        return;
    }
    /* Whole numbers (scores, counts) print as integers: no float formatting. */
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v) {
        jw_int(w, (int64_t)v);
        return;
    }
    /* The shortest of 15..17 significant digits that reads back as v. */
    char tmp[32];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    jw_sep(w);
    jw_put(w, tmp, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
    jw_sep(w);
    if (v)
        jw_put(w, "true", 4);
    else
        jw_put(w, "false", 5);
}

void jw_null(struct jw *w)
{
    jw_sep(w);
    jw_put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
    jw_sep(w);
    jw_put(w, json, n);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

int jw_finish(struct jw *w)
{
    if (w->depth != 0 || w->after_key)
        jw_invalid(w);
    return w->err;
}

void json_secret_mask(json_t *obj)
{
    bool set = json_is_string(json_object_get(obj, "secret"));
    if (set)
        json_object_set_new(obj, "secret", json_string(JSON_SECRET_MASK));
    json_object_set_new(obj, "secretSet", json_boolean(set));
}

void json_secrets_mask_all(json_t *v)
{
    const char *key;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        if (json_object_get(v, "secret"))
            json_secret_mask(v);
        json_object_foreach(v, key, m) json_secrets_mask_all(m);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) json_secrets_mask_all(m);
    }
}
