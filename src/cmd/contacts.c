/*
 * leadflow contacts import|export: contacts from a CSV file into a
 * workspace (the report on standard output, progress on standard error),
 * and a workspace's contacts to a CSV file or standard output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "crm/crm.h"
#include "store/auth.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow contacts import FILE --workspace ID [--map FIELD=COLUMN,...]\n"
    "                                [--on-duplicate update|skip] [--db URL] [--config FILE]\n"
    "       leadflow contacts export [FILE] --workspace ID [--db URL] [--config FILE]\n"
    "\n"
    "import  reads a CSV file (UTF-8, with or without a byte-order mark; delimiter\n"
    "        , ; or tab, detected; RFC 4180 quoting) whose first row names the\n"
    "        columns. FIELD is name, email, company, jobTitle, status or tags (tags\n"
    "        separated by , ; or | in one cell). Without --map, columns are found by\n"
    "        their usual headers (Email, E-mail, Name, Full Name, Company, Job Title,\n"
    "        Title, Status, Tags...). A row whose email is known is skipped, or\n"
    "        updated with --on-duplicate update (empty cells leave fields alone).\n"
    "        Prints what was created, updated, skipped and rejected, and each\n"
    "        rejected row's number (the header is row 1) and reason.\n"
    "export  writes every contact of the workspace as CSV (to FILE, else standard\n"
    "        output); cells that a spreadsheet would run as a formula (starting\n"
    "        with = + - @) get a leading '.\n"
    "\n"
    "Exit status: 0 done (even with rejected rows), 1 failure, 2 usage error.\n";

/* Reads the whole file into memory (the caller frees *data). */
static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        errno = EINVAL;
        return -1;
    }
    *len = (size_t)sb.st_size;
    *data = xmalloc(*len + 1);
    size_t got = fread(*data, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*data);
        return -1;
    }
    return 0;
}

struct progress {
    int64_t started;
    bool tty;
};

static void on_batch(void *arg, const struct crm_csv_report *r)
{
    const struct progress *p = arg;
    double secs = (double)(clock_now_ms() - p->started) / 1000.0;
    fprintf(stderr, "%srows %zu: created %zu, updated %zu, skipped %zu, rejected %zu, %.0f/s%s",
            p->tty ? "\r\033[K" : "", r->rows, r->created, r->updated, r->skipped, r->rejected,
            secs > 0 ? (double)r->rows / secs : 0.0, p->tty ? "" : "\n");
}

static int do_import(struct store *st, const struct cmd_opts *o)
{
    struct errinfo e;
    errinfo_clear(&e);
    char *data;
    size_t len;
    if (read_file(o->pos[1], &data, &len) != 0) {
        fprintf(stderr, "leadflow contacts import: cannot read %s: %s\n", o->pos[1],
                strerror(errno));
        return 1;
    }
    struct arena a;
    arena_init(&a, NULL, 0);
    struct progress p = {.started = clock_now_ms(), .tty = isatty(STDERR_FILENO) == 1};
    struct crm_csv_opts co = {.update = o->on_duplicate && strcmp(o->on_duplicate, "update") == 0,
                              .source = "csv import",
                              .now = clock_now_ms(),
                              .progress = on_batch,
                              .progress_arg = &p};
    struct crm_csv_map *map;
    struct crm_csv_report r;
    int rc = crm_csv_map_parse(o->map, &a, &map, &co.nmap, &e);
    co.map = map;
    if (!rc)
        rc = crm_csv_import(st, o->workspace, data, len, &co, &a, &r, &e);
    free(data);
    if (p.tty)
        fputc('\n', stderr);
    if (rc) {
        fprintf(stderr, "leadflow contacts import: %s\n", e.msg);
        arena_release(&a);
        return rc == ERR_INVALID && strncmp(e.msg, "map:", 4) == 0 ? EXIT_USAGE : 1;
    }
    printf("%zu rows: %zu created, %zu updated, %zu skipped, %zu rejected in %.1f s\n", r.rows,
           r.created, r.updated, r.skipped, r.rejected,
           (double)(clock_now_ms() - p.started) / 1000.0);
    for (size_t i = 0; i < r.nrejects; i++)
        printf("row %zu: %s\n", r.rejects[i].row, r.rejects[i].reason);
    if (r.rejected > r.nrejects)
        printf("(%zu more rejected rows not listed)\n", r.rejected - r.nrejects);
    arena_release(&a);
    return 0;
}

static int file_sink(void *arg, const char *p, size_t n)
{
    return fwrite(p, 1, n, arg) == n ? 0 : ERR_IO;
}

static int do_export(struct store *st, const struct cmd_opts *o)
{
    const char *path = o->npos > 1 ? o->pos[1] : NULL;
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "leadflow contacts export: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct errinfo e;
    errinfo_clear(&e);
    size_t n = 0;
    int rc = crm_csv_export(st, o->workspace, file_sink, f, &n, &e);
    if ((path ? fclose(f) : fflush(f)) != 0 && !rc)
        rc = failf(&e, ERR_IO, "writing %s failed", path ? path : "standard output");
    if (rc == ERR_IO && !e.msg[0])
        failf(&e, ERR_IO, "writing %s failed", path ? path : "standard output");
    if (rc) {
        fprintf(stderr, "leadflow contacts export: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "exported %zu contacts%s%s\n", n, path ? " to " : "", path ? path : "");
    return 0;
}

int cmd_contacts(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("contacts", argc, argv, "config,db,workspace,map,on-duplicate", 2, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    bool import = o.npos >= 1 && strcmp(o.pos[0], "import") == 0;
    bool export = o.npos >= 1 && strcmp(o.pos[0], "export") == 0;
    if (!import && !export) {
        fprintf(stderr, "leadflow contacts: expected import or export (see leadflow contacts "
                        "--help)\n");
        return EXIT_USAGE;
    }
    if (!o.workspace || (import && o.npos != 2)) {
        fprintf(stderr,
                "leadflow contacts %s: --workspace ID%s required (see leadflow contacts "
                "--help)\n",
                o.pos[0], import ? " and a FILE are" : " is");
        return EXIT_USAGE;
    }
    if (o.on_duplicate && strcmp(o.on_duplicate, "update") != 0 &&
        strcmp(o.on_duplicate, "skip") != 0) {
        fprintf(stderr, "leadflow contacts: --on-duplicate must be update or skip\n");
        return EXIT_USAGE;
    }
    if (export && (o.map || o.on_duplicate)) {
        fprintf(stderr, "leadflow contacts export: --map and --on-duplicate are for import\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    struct store *st;
    if ((rc = cmd_open_store(&o, &cfg, &st)))
        return rc;
    struct errinfo e;
    errinfo_clear(&e);
    char owner[STORE_ID_LEN];
    if (store_workspace_owner(st, o.workspace, owner, &e) != 0) {
        fprintf(stderr, "leadflow contacts: no workspace with id \"%s\"\n", o.workspace);
        rc = 1;
    } else {
        rc = import ? do_import(st, &o) : do_export(st, &o);
    }
    store_close(st);
    config_release(&cfg);
    return rc;
}
