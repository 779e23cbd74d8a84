/*
 * leadflow import-db: loads a stream written by `leadflow export` into a
 * migrated, empty database, in one transaction (the store's import_rows),
 * after checking the header's format and schema version against the target.
 * A stream is whole only with its trailer and the row counts it states: one
 * that ends early, or holds a line that is not a row, loads nothing.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "cmd/cmd.h"
#include "store/bulk.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow import-db [--config FILE] [--db URL] [FILE | -]\n"
    "\n"
    "Loads a stream written by `leadflow export` (from FILE, else stdin) into the\n"
    "database, which must be migrated to the stream's schema version and empty.\n"
    "It is one transaction: a stream that ends early, a line that is not a row,\n"
    "or a row the database refuses leaves the database as it was. On PostgreSQL,\n"
    "connect as the role that owns the tables (the one that ran leadflow\n"
    "migrate); the server then runs as the application role. Prints the rows\n"
    "loaded per table.\n"
    "\n"
    "  leadflow export --db sqlite:leadflow.db | leadflow import-db --db postgres://...\n";

enum {
    LINE_MAX_BYTES = 256 << 20, /* one row: an email body is far smaller */
    BLOCK_BYTES = 1 << 16,
    PROGRESS_EVERY_MS = 2000,
    TABLE_NAME_MAX = 64,
};

struct reader {
    FILE *in;
    char block[BLOCK_BYTES];
    size_t pos, len;
    struct buf line;
    long long lineno;
    json_t *cur;    /* the line being loaded (its row is lent to import_rows) */
    json_t *counts; /* table -> rows read, in stream order */
    long long total;
    bool from_stream; /* the last error is the stream's, not the database's */
    char table[TABLE_NAME_MAX];
    int64_t started, last;
    bool tty;
};

/* The next line into r->line (without its newline): 1, 0 at the end of the
 * input, or an error. A last line without its newline was cut short. */
static int read_line(struct reader *r, struct errinfo *e)
{
    buf_reset(&r->line);
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            r->len = fread(r->block, 1, sizeof(r->block), r->in);
            r->pos = 0;
            if (r->len == 0) {
                if (ferror(r->in))
                    return failf(e, ERR_IO, "reading the stream: %s", strerror(errno));
                if (!any)
                    return 0;
                return failf(e, ERR_INVALID, "line %lld is cut short: the stream is truncated",
                             r->lineno + 1);
            }
        }
        any = true;
        const char *start = r->block + r->pos;
        const char *nl = memchr(start, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
        if (buf_append(&r->line, start, n) != 0)
            return failf(e, ERR_TOO_BIG, "line %lld is longer than %d MB", r->lineno + 1,
                         LINE_MAX_BYTES >> 20);
        r->pos += n + (nl ? 1 : 0);
        if (nl) {
            r->lineno++;
            return 1;
        }
    }
}

/* The current line as a JSON object, in r->cur. */
static int parse_line(struct reader *r, struct errinfo *e)
{
    json_decref(r->cur);
    json_error_t je;
    r->cur = json_loadb(buf_str(&r->line), r->line.len, 0, &je);
    if (!r->cur)
        return failf(e, ERR_INVALID, "line %lld is not JSON: %s (column %d)", r->lineno, je.text,
                     je.column);
    if (!json_is_object(r->cur))
        return failf(e, ERR_INVALID, "line %lld is not a JSON object", r->lineno);
    return 0;
}

static void progress(struct reader *r, bool force)
{
    int64_t now = clock_now_ms();
    if (!force && now - r->last < PROGRESS_EVERY_MS)
        return;
    r->last = now;
    double secs = (double)(now - r->started) / 1000.0;
    fprintf(stderr, "%simport-db: %lld rows (%s), %.0f rows/s%s", r->tty ? "\r\033[K" : "",
            r->total, r->table, secs > 0 ? (double)r->total / secs : 0.0, r->tty ? "" : "\n");
}

/* The trailer: its counts must be the ones read, and nothing may follow. */
static int check_trailer(struct reader *r, struct errinfo *e)
{
    json_t *rows = json_object_get(r->cur, "rows");
    json_t *tables = json_object_get(r->cur, "tables");
    long long trailer_line = r->lineno;
    if (!json_is_integer(rows) || !json_is_object(tables))
        return failf(e, ERR_INVALID, "line %lld: the trailer lacks its row counts", trailer_line);
    if (json_integer_value(rows) != r->total || !json_equal(tables, r->counts))
        return failf(e, ERR_INVALID,
                     "line %lld: the trailer counts %lld rows, the stream holds %lld (or the "
                     "counts per table differ): it is damaged",
                     trailer_line, (long long)json_integer_value(rows), r->total);
    int got = read_line(r, e);
    if (got < 0)
        return got;
    if (got > 0)
        return failf(e, ERR_INVALID, "line %lld: data after the trailer (line %lld)", r->lineno,
                     trailer_line);
    return 0;
}

static int next_row_inner(struct reader *r, const char **table, json_t **row, struct errinfo *e)
{
    int got = read_line(r, e);
    if (got < 0)
        return got;
    if (got == 0)
        return failf(e, ERR_INVALID,
                     "the stream ends after line %lld without its trailer: it is truncated",
                     r->lineno);
    int rc = parse_line(r, e);
    if (rc)
        return rc;
    json_t *t = json_object_get(r->cur, "table");
    json_t *v = json_object_get(r->cur, "row");
    if (json_is_string(t) && json_is_object(v)) {
        const char *name = json_string_value(t);
        json_t *n = json_object_get(r->counts, name);
        json_object_set_new(r->counts, name, json_integer(n ? json_integer_value(n) + 1 : 1));
        r->total++;
        if (strcmp(r->table, name) != 0)
            snprintf(r->table, sizeof(r->table), "%s", name);
        progress(r, false);
        *table = name;
        *row = v;
        return 0;
    }
    if (json_is_true(json_object_get(r->cur, "end"))) {
        rc = check_trailer(r, e);
        *table = NULL;
        return rc;
    }
    return failf(e, ERR_INVALID, "line %lld is neither a row nor the trailer", r->lineno);
}

static int next_row(void *arg, const char **table, json_t **row, struct errinfo *e)
{
    struct reader *r = arg;
    int rc = next_row_inner(r, table, row, e);
    r->from_stream = rc != 0;
    return rc;
}

/* The header: format, version, and the schema version the rows are of. */
static int read_header(struct reader *r, int *schema, struct errinfo *e)
{
    int got = read_line(r, e);
    if (got < 0)
        return got;
    if (got == 0)
        return failf(e, ERR_INVALID, "the stream is empty");
    int rc = parse_line(r, e);
    if (rc)
        return failf(e, ERR_INVALID, "line 1 is not the header of a leadflow export stream");
    json_t *format = json_object_get(r->cur, "format");
    json_t *version = json_object_get(r->cur, "version");
    json_t *sv = json_object_get(r->cur, "schema_version");
    if (!json_is_string(format) || strcmp(json_string_value(format), BULK_FORMAT) != 0)
        return failf(e, ERR_INVALID, "line 1 is not the header of a leadflow export stream");
    if (!json_is_integer(version) || json_integer_value(version) != BULK_FORMAT_VERSION)
        return failf(e, ERR_INVALID,
                     "the stream's format version is not %d, the one this "
                     "leadflow reads: import it with the leadflow that wrote it",
                     BULK_FORMAT_VERSION);
    if (!json_is_integer(sv) || json_integer_value(sv) < 1 || json_integer_value(sv) > 1000000)
        return failf(e, ERR_INVALID, "line 1: the header has no schema version");
    *schema = (int)json_integer_value(sv);
    return 0;
}

/* The target must be migrated to this leadflow's schema, the stream be of it. */
static int check_schema(struct store *st, int stream, struct errinfo *e)
{
    int have = 0, known = 0;
    int rc = store_schema_version(st, &have, &known, e);
    if (rc)
        return rc;
    if (have != known)
        return failf(e, ERR_INVALID,
                     "the database is at schema version %d, this leadflow's is %d: run leadflow "
                     "migrate --db URL on it first (on PostgreSQL as the owner)",
                     have, known);
    if (stream < have)
        return failf(e, ERR_INVALID,
                     "the stream has schema version %d and the database %d: run leadflow "
                     "migrate on the source database with this leadflow, then export again",
                     stream, have);
    if (stream > have)
        return failf(e, ERR_INVALID,
                     "the stream has schema version %d, newer than this leadflow's %d: import "
                     "it with the leadflow that exported it",
                     stream, have);
    return 0;
}

static void print_summary(struct reader *r, const char *backend)
{
    double secs = (double)(clock_now_ms() - r->started) / 1000.0;
    printf("imported %lld rows of %zu tables into the %s database in %.1f s", r->total,
           json_object_size(r->counts), backend, secs);
    if (secs > 0)
        printf(" (%.0f rows/s)", (double)r->total / secs);
    printf("\n");
    const char *name;
    json_t *n;
    json_object_foreach(r->counts, name, n)
        printf("  %-24s %lld\n", name, (long long)json_integer_value(n));
}

int cmd_import_db(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("import-db", argc, argv, "config,db", 1, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *path = o.npos ? o.pos[0] : "-";
    bool from_stdin = strcmp(path, "-") == 0;
    if (from_stdin && isatty(STDIN_FILENO)) {
        fprintf(stderr, "leadflow import-db: give FILE or pipe the stream of leadflow export "
                        "into stdin (see leadflow import-db --help)\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    static struct reader r; /* static: its block buffer is large */
    memset(&r, 0, sizeof(r));
    r.in = from_stdin ? stdin : fopen(path, "rb");
    if (!r.in) {
        fprintf(stderr, "leadflow import-db: cannot open %s: %s\n", path, strerror(errno));
        config_release(&cfg);
        return 1;
    }
    buf_init(&r.line, LINE_MAX_BYTES);
    r.counts = json_object();
    r.tty = isatty(STDERR_FILENO) == 1;
    struct errinfo e;
    errinfo_clear(&e);
    int schema = 0;
    struct store *st = NULL;
    rc = read_header(&r, &schema, &e);
    if (!rc) {
        st = store_open(cfg.db, &e);
        rc = st ? check_schema(st, schema, &e) : ERR_DB;
    }
    r.started = r.last = clock_now_ms();
    if (!rc)
        rc = store_import_rows(st, next_row, &r, &e);
    if (r.tty && r.total)
        fputc('\n', stderr);
    if (rc && r.total > 0 && !r.from_stream)
        fprintf(stderr, "leadflow import-db: %s (after line %lld); nothing was imported\n", e.msg,
                r.lineno);
    else if (rc)
        fprintf(stderr, "leadflow import-db: %s; nothing was imported\n", e.msg);
    else
        print_summary(&r, store_name(st));
    json_decref(r.cur);
    json_decref(r.counts);
    buf_release(&r.line);
    if (!from_stdin)
        fclose(r.in);
    store_close(st);
    config_release(&cfg);
    return rc ? 1 : 0;
}
