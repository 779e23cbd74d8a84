/*
 * libFuzzer target for the CSV adapter (base/csvio.h). Any input parses
 * without harm: fields are NUL-terminated at their length, records are
 * numbered 1, 2, ... and never hold more fields than allowed. And cells
 * written by csvio_put_cell read back as written: the input is cut into
 * cells at 0xff bytes (and at NUL, which cells cannot hold), one record is
 * written with ',' after a byte-order mark and parsed again; a cell that
 * starts like a formula reads back with the leading ' the writer adds.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csvio.h"
#include "base/err.h"
#include "base/mem.h"
#include "fuzz.h"

enum { MAX_FIELDS = 64 };

struct seen {
    size_t records;
    /* The round trip: the cells expected and those read. */
    char **want;
    size_t nwant;
    bool blank; /* one empty cell: written as a blank line */
    bool matched;
};

static int any_record(void *arg, size_t record, char *const *fields, const size_t *lens, size_t n)
{
    struct seen *s = arg;
    FUZZ_CHECK(record == s->records + 1);
    s->records = record;
    FUZZ_CHECK(n <= MAX_FIELDS);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(fields[i][lens[i]] == '\0');
    return 0;
}

static int check_record(void *arg, size_t record, char *const *fields, const size_t *lens, size_t n)
{
    struct seen *s = arg;
    if (record != 1 || s->blank) {
        /* Only the line end may follow: an empty record. */
        FUZZ_CHECK(n == 0);
        return 0;
    }
    if (n != s->nwant)
        fuzz_fail("a written record reads back with another number of cells", n ? fields[0] : "",
                  n ? lens[0] : 0);
    for (size_t i = 0; i < n; i++)
        if (strlen(s->want[i]) != lens[i] || memcmp(s->want[i], fields[i], lens[i]) != 0)
            fuzz_fail("a written cell reads back as another", fields[i], lens[i]);
    s->matched = true;
    return 0;
}

static bool formula(const char *c)
{
    return c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@' || c[0] == '\t' || c[0] == '\r';
}

static void round_trip(const uint8_t *data, size_t size)
{
    char *cells[MAX_FIELDS];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_FIELDS; i++) {
        if (i == size || data[i] == 0xff || data[i] == 0) {
            cells[n++] = xstrndup((const char *)data + start, i - start);
            start = i + 1;
        }
    }
    /* One empty cell is written as nothing: a blank line, not a record. */
    bool blank = n == 1 && cells[0][0] == '\0';
    struct buf b;
    buf_init(&b, 8 * size + 64);
    char *want[MAX_FIELDS];
    /* A byte-order mark first, as spreadsheets write: skipped, and only it
     * (a cell may start with the same bytes). */
    FUZZ_CHECK(buf_puts(&b, "\xEF\xBB\xBF") == 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            FUZZ_CHECK(buf_putc(&b, ',') == 0);
        FUZZ_CHECK(csvio_put_cell(&b, cells[i], ',') == 0);
        size_t len = strlen(cells[i]);
        want[i] = xmalloc(len + 2);
        want[i][0] = '\'';
        memcpy(want[i] + 1, cells[i], len + 1);
        if (!formula(cells[i]))
            memmove(want[i], want[i] + 1, len + 1);
    }
    FUZZ_CHECK(buf_puts(&b, "\r\n") == 0);
    struct seen s = {.want = want, .nwant = n, .blank = blank};
    struct errinfo e;
    errinfo_clear(&e);
    int rc = csvio_parse(b.data, b.len, ',', MAX_FIELDS, check_record, &s, &e);
    if (rc != 0)
        fuzz_fail("a written record does not parse", b.data, b.len);
    if (!blank && !s.matched)
        fuzz_fail("a written record was not read back", b.data, b.len);
    for (size_t i = 0; i < n; i++) {
        free(cells[i]);
        free(want[i]);
    }
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen s = {0};
    struct errinfo e;
    errinfo_clear(&e);
    int rc = csvio_parse((const char *)data, size, 0, MAX_FIELDS, any_record, &s, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID);
    FUZZ_CHECK(rc == 0 || e.msg[0]);
    round_trip(data, size);
    return 0;
}
