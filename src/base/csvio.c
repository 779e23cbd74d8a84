/*
 * The CSV adapter: the one file that includes libcsv (STYLE.md habit 9).
 */
#include "base/csvio.h"

#include <csv.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

char csvio_detect(const char *data, size_t len)
{
    static const char cands[] = {',', ';', '\t'};
    size_t count[3] = {0, 0, 0};
    bool quoted = false;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == '\n' || c == '\r'))
            break;
        else if (!quoted)
            for (int k = 0; k < 3; k++)
                count[k] += c == cands[k];
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (count[k] > count[best])
            best = k;
    return cands[best];
}

/* The state of one parse: the fields of the record being read. */
struct parse {
    char **fields;
    size_t *lens;
    size_t n, max;
    size_t record;
    int last_term; /* the character that ended the previous record */
    bool too_many;
    int rc;
    csvio_record_fn fn;
    void *arg;
};

static void on_field(void *s, size_t len, void *data)
{
    struct parse *p = data;
    if (p->rc)
        return;
    if (p->n == p->max) {
        p->too_many = true;
        return;
    }
    char *f = xmalloc(len + 1);
    if (len)
        memcpy(f, s, len);
    f[len] = '\0';
    p->fields[p->n] = f;
    p->lens[p->n++] = len;
}

static void drop_fields(struct parse *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->fields[i]);
    p->n = 0;
}

static void on_record(int c, void *data)
{
    struct parse *p = data;
    /* Every line end is reported (CSV_REPALL_NL), so that a blank line is
     * an empty record and record numbers are the spreadsheet's row numbers;
     * the LF of a CRLF is not a line of its own. */
    bool crlf = c == '\n' && p->last_term == '\r' && p->n == 0 && !p->too_many;
    p->last_term = c;
    if (crlf)
        return;
    if (!p->rc) {
        p->record++;
        if (p->too_many)
            p->rc = ERR_INVALID;
        else
            p->rc = p->fn(p->arg, p->record, p->fields, p->lens, p->n);
    }
    if (!p->too_many || p->rc)
        drop_fields(p);
}

/* Only the space is trimmed around unquoted fields: a tab may delimit. */
static int is_space(unsigned char c)
{
    return c == ' ';
}

static int is_term(unsigned char c)
{
    return c == '\r' || c == '\n';
}

int csvio_parse(const char *data, size_t len, char delim, size_t max_fields, csvio_record_fn fn,
                void *arg, struct errinfo *e)
{
    if (!delim)
        delim = csvio_detect(data, len);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    struct csv_parser cp;
    if (csv_init(&cp, CSV_REPALL_NL) != 0)
        return failf(e, ERR_INTERNAL, "the CSV parser cannot start");
    csv_set_delim(&cp, (unsigned char)delim);
    csv_set_space_func(&cp, is_space);
    csv_set_term_func(&cp, is_term);
    struct parse p = {.max = max_fields, .fn = fn, .arg = arg};
    p.fields = xcalloc(max_fields, sizeof(*p.fields));
    p.lens = xcalloc(max_fields, sizeof(*p.lens));
    /* Fed in slices, so that a callback's error stops the parse soon. */
    const size_t slice = 1 << 16;
    for (size_t off = 0; off < len && !p.rc; off += slice) {
        size_t n = len - off < slice ? len - off : slice;
        if (csv_parse(&cp, data + off, n, on_field, on_record, &p) != n && !p.rc)
            p.rc = failf(e, ERR_INVALID, "CSV: %s", csv_strerror(csv_error(&cp)));
    }
    if (!p.rc)
        csv_fini(&cp, on_field, on_record, &p);
    drop_fields(&p);
    csv_free(&cp);
    free(p.fields);
    free(p.lens);
    if (p.rc == ERR_INVALID && p.too_many)
        return failf(e, ERR_INVALID, "row %zu has more than %zu columns", p.record, max_fields);
    return p.rc;
}

int csvio_put_cell(struct buf *b, const char *s, char delim)
{
    if (!s)
        s = "";
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    size_t n = strlen(s);
    /* Spaces around an unquoted cell are not kept by readers (nor by ours). */
    bool quote = formula || strchr(s, delim) || strpbrk(s, "\"\r\n") ||
                 (n && (s[0] == ' ' || s[n - 1] == ' '));
    int rc = 0;
    if (quote)
        rc |= buf_putc(b, '"');
    if (formula)
        rc |= buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            rc |= buf_putc(b, '"');
        rc |= buf_putc(b, *p);
    }
    if (quote)
        rc |= buf_putc(b, '"');
    return rc ? ERR_TOO_BIG : 0;
}
