/*
 * leadflow export: the whole database as JSON lines, to move it to another
 * database or backend (leadflow import-db reads them). A header line (format,
 * leadflow version, schema version), one line per row ({"table": ...,
 * "row": {...}}, store/bulk.h), and a trailer with the row counts, by which
 * import-db tells a whole stream from a truncated one. Progress and the rows
 * per table go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cmd/cmd.h"
#include "store/bulk.h"
#include "store/store.h"
#include "version.h"

static const char usage[] =
    "usage: leadflow export [--config FILE] [--db URL] [-o FILE]\n"
    "\n"
    "Writes every row of every table of the database to stdout (or to FILE) as\n"
    "JSON lines that `leadflow import-db` loads into another database, SQLite or\n"
    "PostgreSQL. The stream carries what the database holds, secrets included\n"
    "(session and token hashes, sealed mailbox tokens): FILE is created with mode\n"
    "0600. It is never written to a terminal. Rows per table go to stderr.\n"
    "\n"
    "  leadflow export --db sqlite:leadflow.db | leadflow import-db --db postgres://...\n"
    "\n"
    "  -o, --output FILE   write to FILE instead of stdout (- is stdout)\n";

enum { PROGRESS_EVERY_MS = 2000, TABLE_NAME_MAX = 64 };

struct export_state {
    FILE *out;
    const char *out_name;
    json_t *counts; /* table -> rows, in stream order */
    char table[TABLE_NAME_MAX];
    long long table_rows, total;
    int64_t started, last;
    bool tty; /* stderr is a terminal: the progress line redraws itself */
};

static void table_done(struct export_state *x)
{
    if (!x->table[0])
        return;
    json_object_set_new(x->counts, x->table, json_integer(x->table_rows));
    fprintf(stderr, "%sexport: %-24s %lld row%s\n", x->tty ? "\r\033[K" : "", x->table,
            x->table_rows, x->table_rows == 1 ? "" : "s");
    x->table[0] = '\0';
    x->table_rows = 0;
}

static void progress(struct export_state *x)
{
    int64_t now = clock_now_ms();
    if (now - x->last < PROGRESS_EVERY_MS)
        return;
    x->last = now;
    fprintf(stderr, "%sexport: %-24s %lld rows...%s", x->tty ? "\r\033[K" : "", x->table,
            x->table_rows, x->tty ? "" : "\n");
}

static int write_line(struct export_state *x, json_t *line, struct errinfo *e)
{
    errno = 0;
    if (json_dumpf(line, x->out, JSON_COMPACT) != 0 || fputc('\n', x->out) == EOF)
        return failf(e, ERR_IO, "writing %s: %s", x->out_name,
                     errno ? strerror(errno) : "cannot write the JSON text");
    return 0;
}

static int on_row(void *arg, const char *table, json_t *row, struct errinfo *e)
{
    struct export_state *x = arg;
    if (strcmp(table, x->table) != 0) {
        table_done(x);
        snprintf(x->table, sizeof(x->table), "%s", table);
    }
    json_t *line = json_pack("{s:s, s:O}", "table", table, "row", row);
    int rc = line ? write_line(x, line, e) : failf(e, ERR_INTERNAL, "cannot build a row line");
    json_decref(line);
    if (rc)
        return rc;
    x->table_rows++;
    x->total++;
    progress(x);
    return 0;
}

/* The output: FILE (created 0600: the stream holds secrets), or stdout. */
static int open_output(const struct cmd_opts *o, struct export_state *x)
{
    if (o->output && strcmp(o->output, "-") != 0) {
        int fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        x->out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!x->out) {
            fprintf(stderr, "leadflow export: cannot create %s: %s\n", o->output, strerror(errno));
            if (fd >= 0)
                close(fd);
            return 1;
        }
        x->out_name = o->output;
        return 0;
    }
    if (isatty(STDOUT_FILENO)) {
        fprintf(stderr, "leadflow export: not writing the database to a terminal: pipe it into "
                        "leadflow import-db, redirect stdout, or use -o FILE\n");
        return EXIT_USAGE;
    }
    x->out = stdout;
    x->out_name = "stdout";
    return 0;
}

static int export_all(struct store *st, struct export_state *x, int schema, struct errinfo *e)
{
    json_t *head =
        json_pack("{s:s, s:i, s:s, s:i, s:s, s:I}", "format", BULK_FORMAT, "version",
                  BULK_FORMAT_VERSION, "leadflow", LEADFLOW_VERSION, "schema_version", schema,
                  "backend", store_name(st), "exported_at", (json_int_t)clock_now_ms());
    int rc = write_line(x, head, e);
    json_decref(head);
    if (!rc)
        rc = store_export_rows(st, on_row, x, e);
    if (rc)
        return rc;
    table_done(x);
    json_t *tail =
        json_pack("{s:b, s:I, s:O}", "end", 1, "rows", (json_int_t)x->total, "tables", x->counts);
    rc = write_line(x, tail, e);
    json_decref(tail);
    if (!rc && fflush(x->out) != 0)
        rc = failf(e, ERR_IO, "writing %s: %s", x->out_name, strerror(errno));
    return rc;
}

int cmd_export(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("export", argc, argv, "config,db,output", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    struct export_state x = {.tty = isatty(STDERR_FILENO) == 1};
    rc = open_output(&o, &x);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    /* Read as it is: export never migrates, the stream says which schema it has. */
    struct store *st = store_open(cfg.db, &e);
    int have = 0, known = 0;
    rc = st ? store_schema_version(st, &have, &known, &e) : ERR_DB;
    if (!rc && have == 0)
        rc = failf(&e, ERR_INVALID, "the database has no schema: nothing to export");
    if (!rc && have != known)
        fprintf(stderr,
                "leadflow export: warning: the database is at schema version %d and this "
                "leadflow's is %d; import-db takes the stream only into a database of the same "
                "version: run leadflow migrate on this database first\n",
                have, known);
    x.counts = json_object();
    x.started = x.last = clock_now_ms();
    if (!rc)
        rc = export_all(st, &x, have, &e);
    if (x.out != stdout && fclose(x.out) != 0 && !rc)
        rc = failf(&e, ERR_IO, "writing %s: %s", x.out_name, strerror(errno));
    if (rc) {
        if (x.tty)
            fputc('\n', stderr);
        fprintf(stderr, "leadflow export: %s\n", e.msg);
        if (x.out != stdout)
            unlink(x.out_name); /* no partial stream left behind */
    } else {
        double secs = (double)(clock_now_ms() - x.started) / 1000.0;
        fprintf(stderr, "exported %lld rows of %zu tables (schema version %d) in %.1f s", x.total,
                json_object_size(x.counts), have, secs);
        if (secs > 0)
            fprintf(stderr, ", %.0f rows/s", (double)x.total / secs);
        fputc('\n', stderr);
    }
    json_decref(x.counts);
    store_close(st);
    config_release(&cfg);
    return rc ? 1 : 0;
}
