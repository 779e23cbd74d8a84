/*
 * The GMime adapter: RFC 5322 headers, MIME structure (RFC 2045/2046),
 * encoded words (RFC 2047) and parameters (RFC 2231) come from GMime 3; the
 * text extraction on top of it is ours: transfer decoding, conversion to
 * UTF-8 and a small HTML-to-text converter. The split of a reply into its
 * new text, the quoted part and the signature is mail/reply_text.c's.
 */
#include "mail/mime.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "ai/ai.h"
#include "base/str.h"
#include "mail/reply_text.h"
#include "mail/send.h"

enum {
    PLAIN_IN_MAX = 4 * MIME_MAX_TEXT, /* encoded bytes of text/plain looked at */
    HTML_IN_MAX = 16 * MIME_MAX_TEXT, /* encoded bytes of text/html looked at */
    QUOTE_DEPTH_MAX = 8,              /* "> " prefixes written for nested blockquotes */
    FILTER_MAX = 1024 * 1024,         /* messages up to this size lose unused header fields */
};

static GMimeParserOptions *parser_opts;
static GMimeStream *empty_stream; /* parked in idle parsers so they hold no message */
static pthread_key_t parser_key;

static void parser_free(void *p)
{
    g_object_unref(p);
}

/* One parser per thread, reused: a new parser costs more than a small message. */
static GMimeParser *thread_parser(GMimeStream *stream)
{
    GMimeParser *p = pthread_getspecific(parser_key);
    if (!p) {
        p = g_mime_parser_new_with_stream(stream);
        g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
        pthread_setspecific(parser_key, p);
        return p;
    }
    g_mime_parser_init_with_stream(p, stream);
    return p;
}

int mime_init(void)
{
    if (parser_opts)
        return 0;
    g_mime_init();
    parser_opts = g_mime_parser_options_new();
    /* Raw 8-bit headers: UTF-8 when they are, else windows-1252 (a superset
     * of the printable latin-1), else latin-1, which takes any byte. */
    static const char *fallback[] = {"utf-8", "windows-1252", "iso-8859-1", NULL};
    g_mime_parser_options_set_fallback_charsets(parser_opts, fallback);
    empty_stream = g_mime_stream_mem_new();
    pthread_key_create(&parser_key, parser_free);
    return 0;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (1-4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0)
        return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
        return 0;
    if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return 4;
}

static size_t utf8_put(char *o, uint32_t cp)
{
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        return utf8_put(o, 0xfffd);
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* windows-1252 0x80-0x9f; the five holes keep their C1 code points (WHATWG). */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static void cp1252_to_utf8(struct arena *a, const char *p, size_t n, const char **out, size_t *outn)
{
    char *o = arena_alloc(a, n * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)p[i];
        if (c < 0x80)
            o[k++] = (char)c;
        else
            k += utf8_put(o + k, c < 0xa0 ? cp1252_high[c - 0x80] : c);
    }
    *out = o;
    *outn = k;
}

/*
 * Text in an unknown or UTF-8-labelled charset: kept as it is when it is
 * UTF-8 (the final pass replaces the odd invalid byte), read as
 * windows-1252 when no multi-byte sequence in it is valid (a mislabelled
 * latin-1 body).
 */
static void utf8ish_to_utf8(struct arena *a, const char *p, size_t n, const char **out,
                            size_t *outn)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t valid_multi = 0, invalid = 0;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_len(u + i, n - i);
        if (l) {
            valid_multi++;
            i += l;
        } else {
            invalid++;
            i++;
        }
    }
    if (invalid && !valid_multi) {
        cp1252_to_utf8(a, p, n, out, outn);
        return;
    }
    *out = p;
    *outn = n;
}

static bool charset_is(const char *cs, const char *const *names)
{
    for (; *names; names++)
        if (g_ascii_strcasecmp(cs, *names) == 0)
            return true;
    return false;
}

/* Converts n bytes in charset cs (NULL: unknown) to UTF-8 (maybe with invalid
 * bytes left for the final pass). *out may be p itself. */
static void to_utf8(struct arena *a, const char *cs, const char *p, size_t n, const char **out,
                    size_t *outn)
{
    static const char *const utf8_names[] = {
        "utf-8",        "utf8",      "us-ascii", "ascii", "ansi_x3.4-1968",
        "unknown-8bit", "x-unknown", "",         NULL};
    static const char *const cp1252_names[] = {
        "iso-8859-1", "iso8859-1",    "latin1", "latin-1",  "l1",
        "iso_8859-1", "windows-1252", "cp1252", "x-cp1252", NULL};
    if (!cs || charset_is(cs, utf8_names)) {
        utf8ish_to_utf8(a, p, n, out, outn);
        return;
    }
    if (charset_is(cs, cp1252_names)) {
        cp1252_to_utf8(a, p, n, out, outn);
        return;
    }
    iconv_t cd = g_mime_iconv_open("UTF-8", g_mime_charset_iconv_name(cs));
    if (cd == (iconv_t)-1) {
        utf8ish_to_utf8(a, p, n, out, outn); /* a label nobody knows */
        return;
    }
    size_t cap = n * 4 + 16;
    char *o = arena_alloc(a, cap);
    size_t k = 0;
    char *in = (char *)p;
    size_t inleft = n;
    while (inleft > 0) {
        char *op = o + k;
        size_t oleft = cap - k - 4; /* room for one U+FFFD */
        size_t r = iconv(cd, &in, &inleft, &op, &oleft);
        k = (size_t)(op - o);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG) {
            char *bigger = arena_alloc(a, cap * 2);
            memcpy(bigger, o, k);
            o = bigger;
            cap *= 2;
            continue;
        }
        k += utf8_put(o + k, 0xfffd);
        if (errno != EILSEQ)
            break; /* EINVAL: a sequence cut at the end */
        in++;
        inleft--;
    }
    g_mime_iconv_close(cd);
    *out = o;
    *outn = k;
}

/*
 * The final pass over body text: CRLF and lone CR become LF, NUL bytes are
 * dropped, invalid UTF-8 becomes U+FFFD, and the result is cut at max bytes
 * on a character boundary.
 */
static char *clean_text(struct arena *a, const char *p, size_t n, size_t max, bool *truncated)
{
    size_t cap = n > max / 3 ? max : n * 3;
    char *o = arena_alloc(a, cap + 1);
    const unsigned char *u = (const unsigned char *)p;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80) {
            /* The common case: a run of printable ASCII. */
            size_t j = i + 1;
            while (j < n && u[j] >= 0x20 && u[j] < 0x80)
                j++;
            size_t run = j - i;
            if (k + run > max) {
                memcpy(o + k, p + i, max - k);
                k = max;
                *truncated = true;
                break;
            }
            memcpy(o + k, p + i, run);
            k += run;
            i = j;
            continue;
        }
        char tmp[4];
        size_t tl;
        size_t adv;
        if (c == '\r') {
            tmp[0] = '\n';
            tl = 1;
            adv = i + 1 < n && u[i + 1] == '\n' ? 2 : 1;
        } else if (c == 0) {
            i++;
            continue;
        } else if (c < 0x80) {
            tmp[0] = (char)c;
            tl = 1;
            adv = 1;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l) {
                memcpy(tmp, p + i, l);
                tl = l;
                adv = l;
            } else {
                tl = utf8_put(tmp, 0xfffd);
                adv = 1;
            }
        }
        if (k + tl > max) {
            *truncated = true;
            break;
        }
        memcpy(o + k, tmp, tl);
        k += tl;
        i += adv;
    }
    o[k] = '\0';
    return o;
}

/* A header value for the caller: valid UTF-8, folding and control characters
 * turned into single spaces, trimmed; NULL when nothing is left. */
static const char *hdr_dup(struct arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *o = arena_alloc(a, n * 3 + 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t k = 0;
    bool space = true; /* drops leading blanks */
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (!space)
                o[k++] = ' ';
            space = true;
            i++;
            continue;
        }
        space = false;
        if (c < 0x80) {
            o[k++] = (char)c;
            i++;
            continue;
        }
        size_t l = utf8_len(u + i, n - i);
        if (l) {
            memcpy(o + k, s + i, l);
            k += l;
            i += l;
        } else {
            k += utf8_put(o + k, 0xfffd);
            i++;
        }
    }
    while (k > 0 && o[k - 1] == ' ')
        k--;
    o[k] = '\0';
    return k ? o : NULL;
}

/* ---- encoded words (RFC 2047) -------------------------------------------- */

/* One encoded word "=?charset?B|Q?text?=" at p (before end), or false. */
struct eword {
    const char *cs, *text, *end; /* charset, encoded text, just past "?=" */
    size_t cslen, textlen;
    char enc; /* 'B' or 'Q' */
};

static bool eword_at(const char *p, const char *end, struct eword *w)
{
    if (end - p < 8 || p[0] != '=' || p[1] != '?')
        return false;
    const char *q = p + 2, *cs = q;
    while (q < end && *q != '?' && *q > ' ' && *q < 0x7f)
        q++;
    if (q == cs || end - q < 4 || *q != '?' || q[2] != '?')
        return false;
    w->cs = cs;
    w->cslen = (size_t)(q - cs);
    w->enc = g_ascii_toupper(q[1]);
    if (w->enc != 'B' && w->enc != 'Q')
        return false;
    w->text = q + 3;
    for (q = w->text; q + 1 < end && !(q[0] == '?' && q[1] == '='); q++)
        if (*q <= ' ' || *q >= 0x7f)
            return false;
    if (q + 1 >= end)
        return false;
    w->textlen = (size_t)(q - w->text);
    w->end = q + 2;
    return true;
}

static int hex_val(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

/* Appends the bytes an encoded word stands for; each B word is a base64 unit of its own. */
static void eword_bytes(const struct eword *w, GByteArray *run)
{
    if (w->enc == 'B') {
        guchar *buf = g_malloc(w->textlen / 4 * 3 + 3);
        gint state = 0;
        guint save = 0;
        gsize n = g_base64_decode_step(w->text, w->textlen, buf, &state, &save);
        g_byte_array_append(run, buf, (guint)n);
        g_free(buf);
        return;
    }
    for (size_t i = 0; i < w->textlen; i++) {
        guint8 c = (guint8)w->text[i];
        int hi, lo;
        if (c == '_')
            c = ' ';
        else if (c == '=' && i + 2 < w->textlen && (hi = hex_val(w->text[i + 1])) >= 0 &&
                 (lo = hex_val(w->text[i + 2])) >= 0) {
            c = (guint8)(hi << 4 | lo);
            i += 2;
        }
        g_byte_array_append(run, &c, 1);
    }
}

/* The bytes of adjacent words in one charset, converted as one (a character may span words). */
static void run_flush(struct arena *a, GByteArray *run, char *cs, GString *out)
{
    if (run->len == 0)
        return;
    char *star = strchr(cs, '*'); /* RFC 2231 language: "utf-8*en" */
    if (star)
        *star = '\0';
    const char *t;
    size_t tn;
    to_utf8(a, cs, (const char *)run->data, run->len, &t, &tn);
    g_string_append_len(out, t, (gssize)tn);
    g_byte_array_set_size(run, 0);
}

/*
 * A header value with its encoded words decoded (RFC 2047 6.2): blanks
 * between two adjacent encoded words are dropped, and the bytes of
 * adjacent words in one charset are joined before conversion, so a
 * character split across words stays whole. Other text is kept (raw
 * 8-bit as UTF-8, else windows-1252). In a.
 */
static const char *words_decode(struct arena *a, const char *raw)
{
    const char *p = raw, *end = raw + strlen(raw);
    GString *out = g_string_sized_new((gsize)(end - p) + 16);
    GByteArray *run = g_byte_array_new();
    char cs[64] = "";
    bool after_word = false;
    struct eword w;
    while (p < end) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            const char *q = p;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
                q++;
            if (after_word && eword_at(q, end, &w)) {
                p = q; /* only blanks between two words: dropped */
                continue;
            }
            run_flush(a, run, cs, out);
            g_string_append_c(out, ' ');
            after_word = false;
            p = q;
            continue;
        }
        if (eword_at(p, end, &w)) {
            if (w.cslen >= sizeof(cs) || g_ascii_strncasecmp(cs, w.cs, w.cslen) != 0 ||
                cs[w.cslen] != '\0') {
                run_flush(a, run, cs, out);
                snprintf(cs, sizeof(cs), "%.*s", (int)(w.cslen < sizeof(cs) ? w.cslen : 0), w.cs);
            }
            eword_bytes(&w, run);
            after_word = true;
            p = w.end;
            continue;
        }
        run_flush(a, run, cs, out);
        after_word = false;
        const char *q = p;
        while (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n' &&
               !(q > p && q[0] == '=' && q[1] == '?'))
            q++;
        if (q == p)
            q++;
        const char *t;
        size_t tn;
        to_utf8(a, NULL, p, (size_t)(q - p), &t, &tn);
        g_string_append_len(out, t, (gssize)tn);
        p = q;
    }
    run_flush(a, run, cs, out);
    g_byte_array_free(run, TRUE);
    const char *r = arena_strdup(a, out->str);
    g_string_free(out, TRUE);
    return r;
}

/* A header's value, decoded by us when it has encoded words (words_decode), else by GMime. */
static const char *header_text(struct arena *a, GMimeObject *mo, const char *name,
                               const char *decoded)
{
    GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(mo), name);
    const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
    if (!raw || !strstr(raw, "=?"))
        return decoded;
    return words_decode(a, raw);
}

/* ---- HTML to text ------------------------------------------------------- */

/* A growing output buffer in the arena (the old copy stays in the arena). */
struct out {
    struct arena *a;
    char *p;
    size_t len, cap, max;
    bool full;
};

static void out_grow(struct out *o, size_t need)
{
    size_t cap = o->cap ? o->cap * 2 : 1024;
    while (cap < o->len + need + 1)
        cap *= 2;
    char *q = arena_alloc(o->a, cap);
    if (o->len)
        memcpy(q, o->p, o->len);
    o->p = q;
    o->cap = cap;
}

static void out_add(struct out *o, const char *s, size_t n)
{
    if (o->len + n > o->max) {
        o->full = true;
        return;
    }
    if (o->len + n + 1 > o->cap)
        out_grow(o, n);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

struct html {
    struct out o;
    int quote;    /* blockquote depth */
    bool history; /* inside or after a client's quote container: all of it quoted */
    int pre;      /* inside <pre> */
    bool at_line; /* nothing but the quote prefix written on this line */
    bool space;   /* a blank is pending */
    int newlines; /* newlines at the end of the output */
};

static void html_newline(struct html *h, int want)
{
    h->space = false;
    if (h->o.len == 0)
        return;
    while (h->newlines < want) {
        out_add(&h->o, "\n", 1);
        h->newlines++;
        h->at_line = false;
    }
}

static void html_text(struct html *h, const char *s, size_t n)
{
    if (!h->at_line) {
        int q = h->quote < QUOTE_DEPTH_MAX ? h->quote : QUOTE_DEPTH_MAX;
        if (q == 0 && h->history)
            q = 1;
        for (int i = 0; i < q; i++)
            out_add(&h->o, "> ", 2);
        h->at_line = true;
        h->space = false;
    } else if (h->space) {
        out_add(&h->o, " ", 1);
    }
    h->space = false;
    out_add(&h->o, s, n);
    h->newlines = 0;
}

static const char *const latin1_entities[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

static const struct {
    const char *name;
    uint32_t cp;
} other_entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},     {"ndash", 0x2013},  {"mdash", 0x2014},  {"lsquo", 0x2018},
    {"rsquo", 0x2019},  {"sbquo", 0x201a},  {"ldquo", 0x201c},  {"rdquo", 0x201d},
    {"bdquo", 0x201e},  {"bull", 0x2022},   {"hellip", 0x2026}, {"euro", 0x20ac},
    {"trade", 0x2122},  {"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030},
    {"lsaquo", 0x2039}, {"rsaquo", 0x203a}, {"OElig", 0x0152},  {"oelig", 0x0153},
    {"Scaron", 0x0160}, {"scaron", 0x0161}, {"Yuml", 0x0178},   {"fnof", 0x0192},
    {"circ", 0x02c6},   {"tilde", 0x02dc},  {"ensp", ' '},      {"emsp", ' '},
    {"thinsp", ' '},    {"zwnj", 0x200c},   {"zwj", 0x200d},    {"larr", 0x2190},
    {"rarr", 0x2192},   {"uarr", 0x2191},   {"darr", 0x2193},   {"hearts", 0x2665},
};

/* Decodes the entity after '&' at s (n bytes left); returns bytes used (0: not one). */
static size_t html_entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 0;
    if (n > 1 && s[0] == '#') {
        uint32_t v = 0;
        bool hex = s[1] == 'x' || s[1] == 'X';
        i = hex ? 2 : 1;
        size_t digits = 0;
        for (; i < n && digits < 8; i++, digits++) {
            char c = s[i];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                break;
            v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        if (!digits)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        if (v == 0 || v > 0x10ffff)
            v = 0xfffd;
        else if (v >= 0x80 && v < 0xa0)
            v = cp1252_high[v - 0x80]; /* what browsers do */
        *cp = v;
        return i;
    }
    while (i < n && i < 10 && g_ascii_isalnum(s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ';')
        return 0;
    for (size_t k = 0; k < 96; k++)
        if (strlen(latin1_entities[k]) == i && memcmp(latin1_entities[k], s, i) == 0) {
            *cp = k == 0 ? ' ' : 0xa0 + (uint32_t)k;
            return i + 1;
        }
    for (size_t k = 0; k < sizeof(other_entities) / sizeof(other_entities[0]); k++)
        if (strlen(other_entities[k].name) == i && memcmp(other_entities[k].name, s, i) == 0) {
            *cp = other_entities[k].cp;
            return i + 1;
        }
    return 0;
}

static bool name_is(const char *name, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && g_ascii_strncasecmp(*list, name, n) == 0)
            return true;
    return false;
}

/* Finds "</name" (any case) from s; returns its offset or n. */
static size_t find_close(const char *s, size_t n, const char *name, size_t nl)
{
    for (size_t i = 0; i + 2 + nl <= n; i++) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt)
            return n;
        i = (size_t)(lt - s);
        if (i + 2 + nl <= n && s[i + 1] == '/' && g_ascii_strncasecmp(s + i + 2, name, nl) == 0)
            return i;
    }
    return n;
}

/*
 * Whether the attributes of an opening tag (attrs, n bytes) mark where a
 * client put the quoted history: Gmail's gmail_quote, Outlook web's
 * divRplyFwdMsg, Outlook desktop's bordered header block, Yahoo's
 * yahoo_quoted, Thunderbird's forward container, Proton's quote. Everything
 * from there on is history (Outlook puts the quoted message after its header
 * block, not inside it).
 */
static bool quote_container(const char *attrs, size_t n)
{
    static const char *const marks[] = {"gmail_quote",
                                        "divRplyFwdMsg",
                                        "yahoo_quoted",
                                        "moz-forward-container",
                                        "protonmail_quote",
                                        "OutlookMessageHeader",
                                        "zmail_extra",
                                        "mail-editor-reference-message",
                                        NULL};
    if (n < 8)
        return false;
    for (const char *const *m = marks; *m; m++)
        if (memmem(attrs, n, *m, strlen(*m)))
            return true;
    return memmem(attrs, n, "border-top:solid", 16) && memmem(attrs, n, "padding:3.0pt", 13);
}

/*
 * HTML to text, small and careful rather than complete: script, style and
 * head are dropped, block elements end lines, entities are decoded, runs of
 * blanks collapse, blockquote content and what follows a quote container
 * are prefixed with "> " so that the reply splitter sees them as quoted.
 * Input is UTF-8.
 */
static void html_to_text(struct arena *a, const char *s, size_t n, size_t max, const char **out,
                         size_t *outn, bool *truncated)
{
    static const char *const drop[] = {"script", "style", "head", "title", "template", NULL};
    static const char *const block[] = {
        "p",      "div",  "h1",      "h2",      "h3",    "h4",    "h5",      "h6",       "ul",
        "ol",     "li",   "table",   "tr",      "pre",   "hr",    "section", "article",  "header",
        "footer", "nav",  "address", "dl",      "dt",    "dd",    "form",    "fieldset", "figure",
        "aside",  "main", "center",  "caption", "tbody", "thead", "tfoot",   NULL};
    static const char *const para[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", NULL};
    struct html h;
    memset(&h, 0, sizeof(h));
    h.o.a = a;
    h.o.max = max + 8;
    size_t i = 0;
    while (i < n && !h.o.full) {
        char c = s[i];
        if (c == '<') {
            if (i + 3 < n && memcmp(s + i, "<!--", 4) == 0) {
                const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
                i = end ? (size_t)(end - s) + 3 : n;
                continue;
            }
            size_t j = i + 1;
            bool closing = j < n && s[j] == '/';
            if (closing)
                j++;
            size_t name = j;
            while (j < n && (g_ascii_isalnum(s[j]) || s[j] == '-' || s[j] == ':'))
                j++;
            size_t nl = j - name;
            if (nl == 0 && !(j < n && (s[j] == '!' || s[j] == '?'))) {
                html_text(&h, "<", 1); /* a bare '<' in text */
                i++;
                continue;
            }
            /* The end of the tag, minding quoted attribute values. */
            char q = 0;
            for (; j < n; j++) {
                if (q) {
                    if (s[j] == q)
                        q = 0;
                } else if (s[j] == '"' || s[j] == '\'') {
                    q = s[j];
                } else if (s[j] == '>') {
                    break;
                }
            }
            size_t after = j < n ? j + 1 : n;
            const char *tag = s + name;
            if (!closing && name_is(tag, nl, drop)) {
                size_t k = find_close(s + after, n - after, tag, nl);
                const char *gt = k < n - after ? memchr(s + after + k, '>', n - after - k) : NULL;
                i = gt ? (size_t)(gt - s) + 1 : n;
                continue;
            }
            if (nl == 2 && g_ascii_strncasecmp(tag, "br", 2) == 0) {
                html_newline(&h, h.newlines < 2 ? h.newlines + 1 : 2); /* <br><br>: a blank line */
            } else if (nl == 10 && g_ascii_strncasecmp(tag, "blockquote", 10) == 0) {
                html_newline(&h, 1);
                h.quote += closing ? (h.quote > 0 ? -1 : 0) : 1;
            } else if (name_is(tag, nl, block)) {
                html_newline(&h, name_is(tag, nl, para) ? 2 : 1);
                if (!closing && !h.history && quote_container(tag + nl, j - name - nl))
                    h.history = true;
                if (nl == 3 && g_ascii_strncasecmp(tag, "pre", 3) == 0)
                    h.pre += closing ? (h.pre > 0 ? -1 : 0) : 1;
            } else if ((nl == 2 && (g_ascii_strncasecmp(tag, "td", 2) == 0 ||
                                    g_ascii_strncasecmp(tag, "th", 2) == 0)) &&
                       !closing) {
                h.space = h.at_line;
            }
            i = after;
            continue;
        }
        if (c == '&') {
            uint32_t cp;
            size_t used = html_entity(s + i + 1, n - i - 1, &cp);
            if (used) {
                if (cp == ' ') {
                    h.space = h.at_line; /* &nbsp; and friends: a blank */
                } else {
                    char tmp[4];
                    html_text(&h, tmp, utf8_put(tmp, cp));
                }
                i += used + 1;
                continue;
            }
            html_text(&h, "&", 1);
            i++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
            if (h.pre && c == '\n') {
                h.newlines = 0;
                html_newline(&h, 1);
            } else if (h.pre && c != '\r') {
                html_text(&h, " ", 1);
            } else if (h.at_line) {
                h.space = true;
            }
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && s[j] != '<' && s[j] != '&' && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' &&
               s[j] != '\n' && s[j] != '\f')
            j++;
        html_text(&h, s + i, j - i);
        i = j;
    }
    if (h.o.full)
        *truncated = true;
    while (h.o.len && (h.o.p[h.o.len - 1] == '\n' || h.o.p[h.o.len - 1] == ' '))
        h.o.len--;
    *out = h.o.p ? h.o.p : "";
    *outn = h.o.len;
}

/* ---- MIME structure ------------------------------------------------------ */

struct walk {
    GMimePart *plain;
    GMimePart *html;
    int attachments;
};

static void walk(GMimeObject *o, int depth, struct walk *w)
{
    if (GMIME_IS_MULTIPART(o)) {
        if (depth >= MIME_MAX_DEPTH)
            return;
        if (GMIME_IS_MULTIPART_ENCRYPTED(o)) {
            w->attachments++;
            return;
        }
        GMimeMultipart *mp = (GMimeMultipart *)o;
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++) {
            GMimeObject *child = g_mime_multipart_get_part(mp, i);
            if (child)
                walk(child, depth + 1, w);
        }
        return;
    }
    if (!GMIME_IS_PART(o)) {
        w->attachments++; /* a forwarded message/rfc822, a message/partial */
        return;
    }
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    GMimeContentDisposition *cd = g_mime_object_get_content_disposition(o);
    bool attached = cd && g_mime_content_disposition_is_attachment(cd);
    if (!attached && (!ct || g_mime_content_type_is_type(ct, "text", "plain"))) {
        if (!w->plain)
            w->plain = (GMimePart *)o;
        return;
    }
    if (!attached && g_mime_content_type_is_type(ct, "text", "html")) {
        if (!w->html)
            w->html = (GMimePart *)o;
        return;
    }
    if (ct && (g_mime_content_type_is_type(ct, "application", "pgp-signature") ||
               g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
               g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature")))
        return; /* part of a signed message, not something attached */
    w->attachments++;
}

/*
 * The bytes of a part's content as sent (still transfer-encoded), at most
 * max of them. Parts of a message parsed from memory are windows on the
 * same buffer: read in place.
 */
static size_t part_raw(struct arena *a, GMimeDataWrapper *dw, size_t max, const char **out,
                       bool *cut)
{
    GMimeStream *s = g_mime_data_wrapper_get_stream(dw);
    *out = "";
    if (!s)
        return 0;
    if (GMIME_IS_STREAM_MEM(s)) {
        GByteArray *ba = ((GMimeStreamMem *)s)->buffer;
        if (!ba)
            return 0;
        gint64 start = s->bound_start, end = s->bound_end;
        if (end < 0 || end > (gint64)ba->len)
            end = ba->len;
        if (start < 0 || start >= end)
            return 0;
        size_t n = (size_t)(end - start);
        if (n > max) {
            n = max;
            *cut = true;
        }
        *out = (const char *)ba->data + start;
        return n;
    }
    char *o = arena_alloc(a, max + 1);
    size_t k = 0;
    g_mime_stream_reset(s);
    while (k < max) {
        ssize_t r = g_mime_stream_read(s, o + k, max - k);
        if (r <= 0)
            break;
        k += (size_t)r;
    }
    if (k == max && !g_mime_stream_eos(s))
        *cut = true;
    *out = o;
    return k;
}

/* The text of a part as UTF-8 (with the final pass still to do). */
static void part_text(struct arena *a, GMimePart *part, bool html, const char **out, size_t *outn,
                      bool *cut)
{
    *out = "";
    *outn = 0;
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    if (!dw)
        return;
    const char *raw;
    size_t n = part_raw(a, dw, html ? HTML_IN_MAX : PLAIN_IN_MAX, &raw, cut);
    GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeEncoding st;
        g_mime_encoding_init_decode(&st, enc);
        char *dec = arena_alloc(a, g_mime_encoding_outlen(&st, n) + 4);
        n = g_mime_encoding_flush(&st, raw, n, dec);
        raw = dec;
    }
    const char *cs = g_mime_object_get_content_type_parameter((GMimeObject *)part, "charset");
    to_utf8(a, cs, raw, n, out, outn);
}

/* ---- addresses, ids ------------------------------------------------------ */

static void addr_set(struct arena *a, struct mail_addr *m, InternetAddressMailbox *mb)
{
    m->name = hdr_dup(a, internet_address_get_name((InternetAddress *)mb));
    const char *email = hdr_dup(a, internet_address_mailbox_get_addr(mb));
    if (email) {
        char *e = (char *)email; /* ours: hdr_dup copied it */
        char *at = strrchr(e, '@');
        for (char *p = at ? at : e + strlen(e); *p; p++)
            *p = g_ascii_tolower(*p);
        for (char *p = e; *p; p++)
            if (*p == ' ')
                *p = '_'; /* hdr_dup's folding must not leave a blank in an address */
    }
    m->email = email;
}

/* The first mailbox of a list, looking into groups. */
static InternetAddressMailbox *first_mailbox(InternetAddressList *l, int depth)
{
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            const char *addr = internet_address_mailbox_get_addr((InternetAddressMailbox *)ia);
            if (addr && *addr)
                return (InternetAddressMailbox *)ia;
        } else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2) {
            InternetAddressMailbox *mb = first_mailbox(
                internet_address_group_get_members((InternetAddressGroup *)ia), depth + 1);
            if (mb)
                return mb;
        }
    }
    return NULL;
}

static void add_mailboxes(struct arena *a, InternetAddressList *l, struct mail_msg *m, int depth)
{
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n && m->nto < MIME_MAX_ADDRS; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            const char *addr = internet_address_mailbox_get_addr((InternetAddressMailbox *)ia);
            if (addr && *addr)
                addr_set(a, &m->to[m->nto++], (InternetAddressMailbox *)ia);
        } else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2) {
            add_mailboxes(a, internet_address_group_get_members((InternetAddressGroup *)ia), m,
                          depth + 1);
        }
    }
}

static int count_mailboxes(InternetAddressList *l, int depth)
{
    int n = l ? internet_address_list_length(l) : 0, c = 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            c++;
        else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2)
            c += count_mailboxes(internet_address_group_get_members((InternetAddressGroup *)ia),
                                 depth + 1);
    }
    return c;
}

/* Mail no person wrote: mailing lists and newsletters (RFC 2369, 2919),
 * bulk mail, and automatic replies (RFC 3834). */
static bool is_automated(GMimeObject *mo)
{
    if (g_mime_object_get_header(mo, "List-Id") ||
        g_mime_object_get_header(mo, "List-Unsubscribe") ||
        g_mime_object_get_header(mo, "X-Autoreply") ||
        g_mime_object_get_header(mo, "X-Autorespond"))
        return true;
    const char *v = g_mime_object_get_header(mo, "Precedence");
    while (v && (*v == ' ' || *v == '\t'))
        v++;
    if (v && (g_ascii_strncasecmp(v, "bulk", 4) == 0 || g_ascii_strncasecmp(v, "list", 4) == 0 ||
              g_ascii_strncasecmp(v, "junk", 4) == 0))
        return true;
    v = g_mime_object_get_header(mo, "Auto-Submitted");
    while (v && (*v == ' ' || *v == '\t'))
        v++;
    return v && *v && g_ascii_strncasecmp(v, "no", 2) != 0;
}

/* Message ids of an In-Reply-To or References header, space-separated; first only when one. */
static const char *msg_ids(struct arena *a, const char *hv, bool one)
{
    if (!hv)
        return NULL;
    GMimeReferences *refs = g_mime_references_parse(parser_opts, hv);
    int n = refs ? g_mime_references_length(refs) : 0;
    const char *res = NULL;
    if (n > 0) {
        GString *s = g_string_sized_new(64);
        for (int i = 0; i < n && (!one || i < 1); i++) {
            if (i)
                g_string_append_c(s, ' ');
            g_string_append(s, g_mime_references_get_message_id(refs, i));
        }
        res = hdr_dup(a, s->str);
        g_string_free(s, TRUE);
    } else {
        /* An id without brackets: taken as it is when it is one word. */
        const char *v = hdr_dup(a, hv);
        if (v && !strchr(v, ' ') && strchr(v, '@'))
            res = v;
    }
    if (refs)
        g_mime_references_free(refs);
    return res;
}

/* ---- the message --------------------------------------------------------- */

/* "Name:" at the start: a header field (RFC 5322 section 2.2). */
static bool looks_like_header(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i < n && p[i] == ':';
}

static bool keep_header(const char *name, size_t n)
{
    static const char *const keep[] = {
        "from",       "reply-to",       "to",          "cc",
        "subject",    "date",           "message-id",  "in-reply-to",
        "references", "mime-version",   "list-id",     "list-unsubscribe",
        "precedence", "auto-submitted", "x-autoreply", "x-autorespond",
        NULL};
    if (n > 8 && g_ascii_strncasecmp(name, "content-", 8) == 0)
        return true;
    for (const char *const *k = keep; *k; k++)
        if (strlen(*k) == n && g_ascii_strncasecmp(*k, name, n) == 0)
            return true;
    return false;
}

/*
 * The message without the top-level header fields we do not read (Received,
 * DKIM-Signature, X-...): GMime builds an object per field, and these are
 * most of a typical header block. Returns raw itself when nothing is dropped.
 */
static const char *drop_headers(struct arena *a, const char *raw, size_t len, size_t *outlen)
{
    char *o = NULL;
    size_t k = 0, i = 0, copied_to = 0;
    bool keeping = true;
    while (i < len) {
        const char *nl = memchr(raw + i, '\n', len - i);
        size_t next = nl ? (size_t)(nl - raw) + 1 : len;
        char c = raw[i];
        if (c == '\n' || (c == '\r' && i + 1 < len && raw[i + 1] == '\n'))
            break; /* the end of the header block */
        if (c != ' ' && c != '\t') {
            const char *colon = memchr(raw + i, ':', next - i);
            if (!colon || !looks_like_header(raw + i, next - i))
                break; /* not a field: GMime decides what it is */
            size_t n = (size_t)(colon - raw) - i;
            while (n && (raw[i + n - 1] == ' ' || raw[i + n - 1] == '\t'))
                n--;
            keeping = keep_header(raw + i, n);
        }
        if (!keeping) {
            if (!o)
                o = arena_alloc(a, len + 1);
            memcpy(o + k, raw + copied_to, i - copied_to);
            k += i - copied_to;
            copied_to = next;
        }
        i = next;
    }
    if (!o) {
        *outlen = len;
        return raw;
    }
    memcpy(o + k, raw + copied_to, len - copied_to);
    k += len - copied_to;
    *outlen = k;
    return o;
}

static void body(struct arena *a, GMimeMessage *msg, struct mail_msg *m)
{
    struct walk w = {0};
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (top)
        walk(top, 0, &w);
    m->attachments = w.attachments;
    GMimePart *part = w.plain ? w.plain : w.html;
    const char *t = "";
    size_t tn = 0;
    bool cut = false;
    if (part) {
        part_text(a, part, part == w.html, &t, &tn, &cut);
        if (part == w.html) {
            m->html_only = true;
            html_to_text(a, t, tn, MIME_MAX_TEXT, &t, &tn, &cut);
        }
    }
    bool truncated = cut;
    m->body_text = clean_text(a, t, tn, MIME_MAX_TEXT, &truncated);
    m->truncated = truncated;
    struct reply r;
    reply_split(a, m->body_text, &r);
    m->new_text = r.text;
    m->signature = r.signature;
}

/* ---- reports (RFC 3464 delivery status, RFC 5965 feedback) --------------- */

/* Whether the n bytes at s are name, whatever their case. */
static bool word_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && g_ascii_strncasecmp(s, name, n) == 0;
}

/* The address of a field value "rfc822; addr" (the type may be absent),
 * in lower case; NULL when it is not an address. */
static const char *report_addr(struct arena *a, const char *v, size_t n)
{
    const char *semi = memchr(v, ';', n);
    if (semi) {
        n -= (size_t)(semi + 1 - v);
        v = semi + 1;
    }
    while (n && (*v == ' ' || *v == '\t' || *v == '<')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '>'))
        n--;
    if (n == 0 || n > 320)
        return NULL;
    char *o = arena_strndup(a, v, n);
    for (char *p = o; *p; p++)
        *p = g_ascii_tolower(*p);
    return str_is_email(o) ? o : NULL;
}

/* One per-recipient group of a DSN, or a feedback report's fields. */
struct rgroup {
    const char *action, *status, *final, *original, *ftype, *rcpt_to;
    size_t action_n, status_n, final_n, original_n, ftype_n, rcpt_to_n;
};

static void rgroup_field(struct rgroup *g, const char *name, size_t nn, const char *v, size_t vn)
{
    static const struct {
        const char *name;
        size_t off, len_off;
    } fields[] = {
        {"Action", offsetof(struct rgroup, action), offsetof(struct rgroup, action_n)},
        {"Status", offsetof(struct rgroup, status), offsetof(struct rgroup, status_n)},
        {"Final-Recipient", offsetof(struct rgroup, final), offsetof(struct rgroup, final_n)},
        {"Original-Recipient", offsetof(struct rgroup, original),
         offsetof(struct rgroup, original_n)},
        {"Feedback-Type", offsetof(struct rgroup, ftype), offsetof(struct rgroup, ftype_n)},
        {"Original-Rcpt-To", offsetof(struct rgroup, rcpt_to), offsetof(struct rgroup, rcpt_to_n)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char **slot = (const char **)((char *)g + fields[i].off);
        if (word_is(name, nn, fields[i].name) && !*slot) {
            *slot = v;
            *(size_t *)((char *)g + fields[i].len_off) = vn;
        }
    }
}

/* How much a DSN group's verdict weighs: 2 a hard bounce, 1 a deferral, 0 neither. */
static int dsn_rank(const struct rgroup *g)
{
    char cls = g->status && g->status_n >= 2 && g->status[1] == '.' ? g->status[0] : 0;
    bool failed = !g->action || word_is(g->action, g->action_n, "failed");
    if (failed && cls == '5')
        return 2;
    if ((g->action && word_is(g->action, g->action_n, "delayed")) || (failed && cls == '4'))
        return 1;
    return 0;
}

static void dsn_group_done(struct rgroup *g, struct arena *a, struct mail_report *out, int *best)
{
    int rank = dsn_rank(g);
    if (rank > *best) {
        *best = rank;
        out->kind = rank == 2 ? REPORT_BOUNCE : REPORT_DEFERRED;
        const char *addr = g->final ? report_addr(a, g->final, g->final_n) : NULL;
        if (!addr && g->original)
            addr = report_addr(a, g->original, g->original_n);
        out->recipient = addr;
        size_t sn = 0;
        while (g->status && sn < g->status_n && sn < 16 &&
               (g_ascii_isdigit(g->status[sn]) || g->status[sn] == '.'))
            sn++;
        out->status = sn ? arena_strndup(a, g->status, sn) : NULL;
    }
    memset(g, 0, sizeof(*g));
}

void mime_report_fields(const char *text, size_t n, bool feedback, struct arena *a,
                        struct mail_report *out)
{
    out->kind = REPORT_OTHER;
    out->recipient = out->status = NULL;
    struct rgroup g = {0};
    int best = 0;
    for (size_t i = 0; i < n;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', n - i);
        size_t len = nl ? (size_t)(nl - line) : n - i;
        i += len + (nl ? 1 : 0);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0) {
            if (!feedback)
                dsn_group_done(&g, a, out, &best);
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t')
            continue; /* a folded value: the first line says what we read */
        const char *colon = memchr(line, ':', len);
        if (!colon)
            continue;
        size_t nn = (size_t)(colon - line), vs = nn + 1;
        while (nn && (line[nn - 1] == ' ' || line[nn - 1] == '\t'))
            nn--;
        while (vs < len && (line[vs] == ' ' || line[vs] == '\t'))
            vs++;
        rgroup_field(&g, line, nn, line + vs, len - vs);
    }
    if (!feedback) {
        dsn_group_done(&g, a, out, &best);
        return;
    }
    if (g.ftype && word_is(g.ftype, g.ftype_n, "abuse"))
        out->kind = REPORT_COMPLAINT;
    if (g.rcpt_to)
        out->recipient = report_addr(a, g.rcpt_to, g.rcpt_to_n);
}

/* The first multipart/report under o whose report-type we read, or NULL. */
static GMimeMultipart *find_report(GMimeObject *o, int depth, bool *feedback)
{
    if (!GMIME_IS_MULTIPART(o) || depth >= MIME_MAX_DEPTH)
        return NULL;
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (ct && g_mime_content_type_is_type(ct, "multipart", "report")) {
        const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
        if (rt && (g_ascii_strcasecmp(rt, "delivery-status") == 0 ||
                   g_ascii_strcasecmp(rt, "global-delivery-status") == 0 ||
                   g_ascii_strcasecmp(rt, "feedback-report") == 0)) {
            *feedback = g_ascii_strcasecmp(rt, "feedback-report") == 0;
            return (GMimeMultipart *)o;
        }
    }
    GMimeMultipart *mp = (GMimeMultipart *)o;
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; i++) {
        GMimeObject *child = g_mime_multipart_get_part(mp, i);
        GMimeMultipart *r = child ? find_report(child, depth + 1, feedback) : NULL;
        if (r)
            return r;
    }
    return NULL;
}

/* The Message-ID and first To address of a text/rfc822-headers part. */
static void returned_headers(struct arena *a, const char *t, size_t n, const char **id,
                             const char **to)
{
    for (size_t i = 0; i < n;) {
        const char *line = t + i;
        /* The field with its folded lines. */
        size_t end = i;
        do {
            const char *nl = memchr(t + end, '\n', n - end);
            end = nl ? (size_t)(nl - t) + 1 : n;
        } while (end < n && (t[end] == ' ' || t[end] == '\t'));
        size_t len = end - i;
        i = end;
        if (line[0] == '\n' || (line[0] == '\r' && len > 1 && line[1] == '\n'))
            break;
        const char *colon = memchr(line, ':', len);
        if (!colon)
            continue;
        size_t nn = (size_t)(colon - line);
        char *v = arena_strndup(a, colon + 1, len - nn - 1);
        for (char *p = v; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        if (word_is(line, nn, "Message-ID") && !*id) {
            *id = msg_ids(a, v, true);
        } else if (word_is(line, nn, "To") && !*to) {
            InternetAddressList *l = internet_address_list_parse(parser_opts, v);
            InternetAddressMailbox *mb = first_mailbox(l, 0);
            if (mb) {
                struct mail_addr ad;
                addr_set(a, &ad, mb);
                *to = ad.email;
            }
            if (l)
                g_object_unref(l);
        }
    }
}

/* The report a message is, or NULL. */
static const struct mail_report *report_of(struct arena *a, GMimeMessage *msg)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    bool feedback = false;
    GMimeMultipart *mp = top ? find_report(top, 0, &feedback) : NULL;
    if (!mp)
        return NULL;
    struct mail_report *r = arena_calloc(a, sizeof(*r));
    const char *to = NULL;
    bool read = false;
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; i++) {
        GMimeObject *o = g_mime_multipart_get_part(mp, i);
        GMimeContentType *ct = o ? g_mime_object_get_content_type(o) : NULL;
        if (!ct)
            continue;
        if (GMIME_IS_MESSAGE_PART(o)) {
            GMimeMessage *inner = g_mime_message_part_get_message((GMimeMessagePart *)o);
            if (inner && !r->original_id) {
                r->original_id = hdr_dup(a, g_mime_message_get_message_id(inner));
                InternetAddressMailbox *mb = first_mailbox(g_mime_message_get_to(inner), 0);
                if (mb && !to) {
                    struct mail_addr ad;
                    addr_set(a, &ad, mb);
                    to = ad.email;
                }
            }
            continue;
        }
        if (!GMIME_IS_PART(o))
            continue;
        const char *t;
        size_t tn;
        bool cut = false;
        if (!read && (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
                      g_mime_content_type_is_type(ct, "message", "global-delivery-status") ||
                      g_mime_content_type_is_type(ct, "message", "feedback-report"))) {
            part_text(a, (GMimePart *)o, false, &t, &tn, &cut);
            mime_report_fields(t, tn, feedback, a, r);
            read = true;
        } else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
                   g_mime_content_type_is_type(ct, "message", "global-headers")) {
            part_text(a, (GMimePart *)o, false, &t, &tn, &cut);
            returned_headers(a, t, tn, &r->original_id, &to);
        }
    }
    /* The returned message names the recipient when the report does not. */
    if (!r->recipient && r->kind != REPORT_OTHER && to)
        r->recipient = report_addr(a, to, strlen(to));
    return r;
}

int mime_parse(const char *raw, size_t len, struct arena *a, struct mail_msg *out,
               struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    out->body_text = out->new_text = "";
    if (!parser_opts)
        mime_init();
    /* An mbox "From " envelope line is not part of the message. */
    if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
        const char *nl = memchr(raw, '\n', len);
        size_t skip = nl ? (size_t)(nl - raw) + 1 : len;
        raw += skip;
        len -= skip;
    }
    if (len == 0)
        return failf(e, ERR_INVALID, "not an email message: empty");
    if (!looks_like_header(raw, len))
        return failf(e, ERR_INVALID, "not an email message: no header block");
    if (len > G_MAXUINT - 1)
        len = G_MAXUINT - 1;
    if (len <= FILTER_MAX)
        raw = drop_headers(a, raw, len, &len);

    /* A stream over the caller's bytes, not a copy: the GByteArray header is
     * ours, the stream is told it does not own it, and nothing writes to it. */
    GByteArray ba = {(guint8 *)raw, (guint)len};
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(&ba);
    g_mime_stream_mem_set_owner((GMimeStreamMem *)stream, FALSE);
    GMimeParser *parser = thread_parser(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, parser_opts);
    int rc = 0;
    if (!msg) {
        rc = failf(e, ERR_INVALID, "not an email message: no header block");
        goto done;
    }
    InternetAddressMailbox *from = first_mailbox(g_mime_message_get_from(msg), 0);
    if (!from) {
        rc = failf(e, ERR_INVALID, "not an email message: no From address");
        goto done;
    }
    addr_set(a, &out->from, from);
    InternetAddressMailbox *rt = first_mailbox(g_mime_message_get_reply_to(msg), 0);
    if (rt)
        addr_set(a, &out->reply_to, rt);
    InternetAddressList *to = g_mime_message_get_to(msg), *cc = g_mime_message_get_cc(msg);
    int nto = count_mailboxes(to, 0) + count_mailboxes(cc, 0);
    if (nto > 0) {
        out->to = arena_calloc(a, (size_t)(nto < MIME_MAX_ADDRS ? nto : MIME_MAX_ADDRS) *
                                      sizeof(*out->to));
        add_mailboxes(a, to, out, 0);
        add_mailboxes(a, cc, out, 0);
    }
    out->subject =
        hdr_dup(a, header_text(a, (GMimeObject *)msg, "Subject", g_mime_message_get_subject(msg)));
    out->message_id = hdr_dup(a, g_mime_message_get_message_id(msg));
    GMimeObject *mo = (GMimeObject *)msg;
    out->in_reply_to = msg_ids(a, g_mime_object_get_header(mo, "In-Reply-To"), true);
    out->references = msg_ids(a, g_mime_object_get_header(mo, "References"), false);
    /* An automatic reply says so in its subject when no header field does
     * (Outlook's "Automatic reply:", "Abwesenheitsnotiz:"...). */
    out->automated = is_automated(mo) || ai_subject_kind(out->subject) == SUBJECT_AUTO;
    GDateTime *dt = g_mime_message_get_date(msg);
    if (dt)
        out->date_ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    body(a, msg, out);
    out->report = report_of(a, msg);
    if (out->report)
        out->automated = true;

done:
    if (msg)
        g_object_unref(msg);
    g_mime_parser_init_with_stream(parser, empty_stream);
    g_object_unref(stream);
    return rc;
}

/* ---- Building outgoing messages ------------------------------------------- */

/* A header value given by the caller: no CR, LF or other control character
 * other than tab, so that nothing the caller gives can start a header line. */
static int header_value_ok(const char *what, const char *v, struct errinfo *e)
{
    for (const unsigned char *p = (const unsigned char *)v; v && *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return failf(e, ERR_INVALID, "%s contains a line break or a control character", what);
    return 0;
}

static GMimeObject *text_part(const char *subtype, const char *text)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(tp, text);
    GMimePart *p = (GMimePart *)tp;
    g_mime_part_set_content_encoding(
        p, g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT));
    return (GMimeObject *)tp;
}

int mime_build(const struct send_msg *m, int64_t date_ms, struct arena *a, const char **out,
               size_t *len, struct errinfo *e)
{
    *out = NULL;
    *len = 0;
    const struct {
        const char *what, *v;
    } hv[] = {
        {"the sender's address", m->from_email},
        {"the sender's name", m->from_name},
        {"the Reply-To address", m->reply_to},
        {"the recipient's address", m->to_email},
        {"the recipient's name", m->to_name},
        {"the subject", m->subject},
        {"the unsubscribe URL", m->list_unsubscribe_url},
        {"the Message-ID", m->message_id},
    };
    for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
        int rc = header_value_ok(hv[i].what, hv[i].v, e);
        if (rc)
            return rc;
    }
    if (!m->from_email || !strchr(m->from_email, '@') || !m->to_email || !strchr(m->to_email, '@'))
        return failf(e, ERR_INVALID, "the sender and the recipient need an email address");
    if (m->message_id &&
        (strchr(m->message_id, '<') || strchr(m->message_id, '>') || strchr(m->message_id, ' ')))
        return failf(e, ERR_INVALID, "the Message-ID must not contain '<', '>' or spaces");
    if (m->list_unsubscribe_url &&
        (strchr(m->list_unsubscribe_url, '>') || strchr(m->list_unsubscribe_url, ' ')))
        return failf(e, ERR_INVALID, "the unsubscribe URL must not contain '>' or spaces");

    GMimeMessage *msg = g_mime_message_new(TRUE);
    GMimeObject *mo = (GMimeObject *)msg;
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM,
                               m->from_name && *m->from_name ? m->from_name : NULL, m->from_email);
    if (m->reply_to && *m->reply_to)
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, m->reply_to);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO,
                               m->to_name && *m->to_name ? m->to_name : NULL, m->to_email);
    g_mime_message_set_subject(msg, m->subject ? m->subject : "", "utf-8");
    GDateTime *dt = g_date_time_new_from_unix_utc(date_ms / 1000);
    g_mime_message_set_date(msg, dt);
    g_date_time_unref(dt);
    if (m->message_id)
        g_mime_message_set_message_id(msg, m->message_id);
    if (m->list_unsubscribe_url) {
        /* RFC 2369 wants the literal <URL>; GMime takes the value as free text
         * and would RFC 2047-encode and fold it, which mail clients and
         * one-click unsubscribers (RFC 8058) do not decode. The raw value is
         * written as is (checked above: no '>' or space in the URL). */
        g_mime_object_set_header(mo, "List-Unsubscribe", "", NULL);
        GMimeHeader *h =
            g_mime_header_list_get_header(g_mime_object_get_header_list(mo), "List-Unsubscribe");
        if (h)
            g_mime_header_set_raw_value(h, arena_printf(a, " <%s>\n", m->list_unsubscribe_url));
        g_mime_object_set_header(mo, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click", NULL);
    }

    GMimeObject *plain = text_part("plain", m->text ? m->text : "");
    if (m->html) {
        GMimeMultipart *mp = g_mime_multipart_new_with_subtype("alternative");
        g_mime_multipart_add(mp, plain);
        GMimeObject *html = text_part("html", m->html);
        g_mime_multipart_add(mp, html);
        g_object_unref(html);
        g_mime_message_set_mime_part(msg, (GMimeObject *)mp);
        g_object_unref(mp);
    } else {
        g_mime_message_set_mime_part(msg, plain);
    }
    g_object_unref(plain);

    GMimeFormatOptions *fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    char *text = g_mime_object_to_string(mo, fo);
    g_mime_format_options_free(fo);
    g_object_unref(msg);
    if (!text)
        return failf(e, ERR_INTERNAL, "the message could not be written");
    *len = strlen(text);
    *out = arena_strndup(a, text, *len);
    g_free(text);
    return 0;
}
