/*
 * libFuzzer target for the streaming JSON writer (base/json.h). The input is
 * a program of jw_* calls; a model of the JSON grammar, built beside the
 * writer, says whether jw_finish() must succeed and what jansson must read
 * back. Strings are compared with invalid UTF-8 replaced by U+FFFD, one per
 * byte that does not start a valid sequence (RFC 3629), as json.c does.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/mem.h"
#include "fuzz.h"

/* Valid JSON texts for jw_raw(), which takes encoded JSON as it is. */
static const char *const raw_texts[] = {
    "{}", "[]", "null", "true", "0", "-1.5e3", "\"x\"", "[1,{\"a\":[null]}]", "{\"k\":\"\\u00e9\"}",
};

/* The length of the valid UTF-8 sequence at s (RFC 3629, table 3-7), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c == 0xe0) {
        len = 3;
        lo = 0xa0;
    } else if (c == 0xed) {
        len = 3;
        hi = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef)
        len = 3;
    else if (c == 0xf0) {
        len = 4;
        lo = 0x90;
    } else if (c == 0xf4) {
        len = 4;
        hi = 0x8f;
    } else if (c >= 0xf1 && c <= 0xf3)
        len = 4;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* What a string must read back as: s with each bad byte replaced by U+FFFD. */
static void sanitize(struct buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_reset(out);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_valid(p + i, n - i);
        if (k == 0) {
            FUZZ_CHECK(buf_append(out, "\xef\xbf\xbd", 3) == 0);
            i++;
        } else {
            FUZZ_CHECK(buf_append(out, p + i, k) == 0);
            i += k;
        }
    }
}

static json_t *expected_string(const char *s, size_t n)
{
    struct buf b;
    buf_init(&b, 3 * n + 1);
    sanitize(&b, s, n);
    json_t *v = json_stringn(b.data ? b.data : "", b.len);
    FUZZ_CHECK(v != NULL); /* sanitized text is valid UTF-8 */
    buf_release(&b);
    return v;
}

/* Deep equality, with numbers compared by value: jw_double(1.0) reads back as 1. */
static bool same(const json_t *got, const json_t *want)
{
    if (json_is_number(got) && json_is_number(want)) {
        if (json_is_integer(want))
            return json_is_integer(got) && json_integer_value(got) == json_integer_value(want);
        return json_number_value(got) == json_number_value(want);
    }
    if (json_typeof(got) != json_typeof(want))
        return false;
    switch (json_typeof(want)) {
    case JSON_STRING:
        return json_string_length(got) == json_string_length(want) &&
               memcmp(json_string_value(got), json_string_value(want), json_string_length(got)) ==
                   0;
    case JSON_ARRAY:
        if (json_array_size(got) != json_array_size(want))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!same(json_array_get(got, i), json_array_get(want, i)))
                return false;
        return true;
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        if (json_object_size(got) != json_object_size(want))
            return false;
        json_object_foreach((json_t *)want, k, v)
        {
            const json_t *g = json_object_get(got, k);
            if (!g || !same(g, v))
                return false;
        }
        return true;
    }
    default:
        return true; /* true, false, null */
    }
}

/*
 * The grammar model: what a correct writer accepts, and the tree it has
 * written so far. Once a call is out of order the document is bad and the
 * writer must report an error from jw_finish().
 */
struct model {
    int depth;
    bool obj[JW_MAX_DEPTH];
    json_t *cont[JW_MAX_DEPTH]; /* borrowed from root */
    char *key;                  /* pending key, sanitized */
    bool after_key;
    bool bad;
    json_t *root; /* owned */
};

static void model_bad(struct model *m)
{
    m->bad = true;
}

/* Takes ownership of v. */
static void model_value(struct model *m, json_t *v)
{
    if (m->bad) {
        json_decref(v);
        return;
    }
    if (m->depth == 0) {
        if (m->root) {
            model_bad(m); /* a second top-level value */
            json_decref(v);
            return;
        }
        m->root = v;
        return;
    }
    json_t *c = m->cont[m->depth];
    if (m->obj[m->depth]) {
        if (!m->after_key) {
            model_bad(m); /* a value in an object without a key */
            json_decref(v);
            return;
        }
        FUZZ_CHECK(json_object_set_new(c, m->key, v) == 0);
        free(m->key);
        m->key = NULL;
        m->after_key = false;
        return;
    }
    FUZZ_CHECK(json_array_append_new(c, v) == 0);
}

static void model_open(struct model *m, bool obj)
{
    json_t *v = obj ? json_object() : json_array();
    model_value(m, json_incref(v));
    if (!m->bad && m->depth + 1 >= JW_MAX_DEPTH)
        model_bad(m); /* nested deeper than the writer's limit */
    if (!m->bad) {
        m->depth++;
        m->obj[m->depth] = obj;
        m->cont[m->depth] = v;
    }
    json_decref(v);
}

static void model_close(struct model *m, bool obj)
{
    if (m->bad)
        return;
    if (m->depth == 0 || m->after_key || m->obj[m->depth] != obj) {
        model_bad(m);
        return;
    }
    m->depth--;
}

static void model_key(struct model *m, const char *key)
{
    if (m->bad)
        return;
    if (m->depth == 0 || !m->obj[m->depth] || m->after_key) {
        model_bad(m);
        return;
    }
    json_t *k = expected_string(key, strlen(key));
    m->key = xstrdup(json_string_value(k));
    json_decref(k);
    m->after_key = true;
}

/* Reads the input as a stream of calls. */
struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t take_byte(struct input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* A length byte, then that many bytes (fewer at the end of the input). */
static const char *take_bytes(struct input *in, size_t *len)
{
    size_t want = take_byte(in);
    if (want > in->n)
        want = in->n;
    const char *s = (const char *)in->p;
    in->p += want;
    in->n -= want;
    *len = want;
    return s;
}

/* Like take_bytes, as a NUL-terminated copy (which may stop early at a NUL). */
static char *take_cstr(struct input *in)
{
    size_t n;
    const char *s = take_bytes(in, &n);
    return xstrndup(s, n);
}

static uint64_t take_u64(struct input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | take_byte(in);
    return v;
}

static void check_value(struct jw *w, struct model *m, struct input *in, int op)
{
    size_t n;
    const char *s;
    char *c;
    int64_t i;
    double d;
    switch (op) {
    case 5:
        s = take_bytes(in, &n);
        jw_strn(w, s, n);
        model_value(m, expected_string(s, n));
        break;
    case 6:
        c = take_cstr(in);
        jw_str(w, c);
        model_value(m, expected_string(c, strlen(c)));
        free(c);
        break;
    case 7:
        jw_str(w, NULL);
        model_value(m, json_null());
        break;
    case 8:
        i = (int64_t)take_u64(in);
        jw_int(w, i);
        model_value(m, json_integer(i));
        break;
    case 9: {
        uint64_t bits = take_u64(in);
        memcpy(&d, &bits, sizeof(d));
        jw_double(w, d);
        model_value(m, isfinite(d) ? json_real(d) : json_null()); /* NaN and inf are null */
        break;
    }
    case 10: {
        bool b = take_byte(in) & 1;
        jw_bool(w, b);
        model_value(m, json_boolean(b));
        break;
    }
    case 11:
        jw_null(w);
        model_value(m, json_null());
        break;
    case 12: {
        const char *t = raw_texts[take_byte(in) % (sizeof(raw_texts) / sizeof(raw_texts[0]))];
        jw_raw(w, t, strlen(t));
        json_t *v = json_loads(t, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(v != NULL);
        model_value(m, v);
        break;
    }
    }
}

static void run_program(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {16, 64, 256, 1024, 1 << 20};
    struct input in = {data, size};
    struct buf out;
    struct jw w;
    struct model m;
    buf_init(&out, limits[take_byte(&in) % 5]);
    jw_init(&w, &out);
    memset(&m, 0, sizeof(m));

    int calls = 0;
    while (in.n > 0 && calls++ < 4096) {
        int op = take_byte(&in) % 16;
        char *k;
        switch (op) {
        case 0:
            jw_obj_begin(&w);
            model_open(&m, true);
            break;
        case 1:
            jw_obj_end(&w);
            model_close(&m, true);
            break;
        case 2:
            jw_arr_begin(&w);
            model_open(&m, false);
            break;
        case 3:
            jw_arr_end(&w);
            model_close(&m, false);
            break;
        case 4:
            k = take_cstr(&in);
            jw_key(&w, k);
            model_key(&m, k);
            free(k);
            break;
        case 13: /* jw_kstr, jw_kint, jw_kbool: a key, then a value */
        case 14:
        case 15:
            k = take_cstr(&in);
            model_key(&m, k);
            if (op == 13) {
                char *v = take_cstr(&in);
                jw_kstr(&w, k, v);
                model_value(&m, expected_string(v, strlen(v)));
                free(v);
            } else if (op == 14) {
                int64_t v = (int64_t)take_u64(&in);
                jw_kint(&w, k, v);
                model_value(&m, json_integer(v));
            } else {
                bool v = take_byte(&in) & 1;
                jw_kbool(&w, k, v);
                model_value(&m, json_boolean(v));
            }
            free(k);
            break;
        default:
            check_value(&w, &m, &in, op);
            break;
        }
    }

    int rc = jw_finish(&w);
    bool valid = !m.bad && m.depth == 0 && !m.after_key;
    FUZZ_CHECK(rc == 0 || rc == ERR_TOO_BIG || rc == ERR_INVALID);
    FUZZ_CHECK(out.len <= out.max);
    FUZZ_CHECK(!out.data || out.data[out.len] == '\0');
    if (!valid)
        FUZZ_CHECK(rc != 0); /* the writer accepted calls that are not JSON */
    else
        FUZZ_CHECK(rc != ERR_INVALID); /* the writer refused valid JSON */
    /* A writer that was given no value at all finishes with 0 and an empty
     * buffer, which is not a JSON text; json.h does not call that an error. */
    if (rc == 0 && m.root) {
        json_error_t jerr;
        json_t *got = json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!got)
            fuzz_fail("jw output is not JSON", out.data, out.len);
        if (!same(got, m.root))
            fuzz_fail("jw output reads back as another value", out.data, out.len);
        json_decref(got);
    }
    json_decref(m.root);
    free(m.key);
    buf_release(&out);
}

/* json_escape() on the whole input: quoted, it must read back as the input. */
static void run_escape(const uint8_t *data, size_t size)
{
    struct buf b;
    buf_init(&b, 16 * size + 16);
    FUZZ_CHECK(buf_putc(&b, '"') == 0);
    FUZZ_CHECK(json_escape(&b, (const char *)data, size) == 0);
    FUZZ_CHECK(buf_putc(&b, '"') == 0);
    json_error_t jerr;
    json_t *got = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!got || !json_is_string(got))
        fuzz_fail("json_escape output is not a JSON string", b.data, b.len);
    json_t *want = expected_string((const char *)data, size);
    if (!same(got, want))
        fuzz_fail("json_escape output reads back as another string", b.data, b.len);
    json_decref(want);
    json_decref(got);

    /* A limit below the escaped size fails cleanly and stays NUL-terminated. */
    size_t full = b.len - 2;
    if (full > 0) {
        struct buf small;
        buf_init(&small, full - 1);
        FUZZ_CHECK(json_escape(&small, (const char *)data, size) == ERR_TOO_BIG);
        FUZZ_CHECK(small.len <= small.max && (!small.data || small.data[small.len] == '\0'));
        buf_release(&small);
    }
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_program(data, size);
    run_escape(data, size);
    return 0;
}
