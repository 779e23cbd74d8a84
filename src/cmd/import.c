/*
 * leadflow import: email files (.eml, mbox, Maildir) into a workspace,
 * through the whole pipeline. Progress on stderr (a line that redraws
 * itself on a terminal, one line every few seconds otherwise), one line per
 * rejected message with its reason, and a summary at the end.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ai/ai.h"
#include "base/clock.h"
#include "cmd/cmd.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "store/auth.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow import --workspace ID [--config FILE] [--db URL] FILE...\n"
    "\n"
    "Imports email into the workspace: each FILE is one message (.eml), an mbox,\n"
    "or a Maildir directory (a directory's files are read too). Every message is\n"
    "analyzed, linked to its contact and scored; a message already stored (same\n"
    "Message-ID) is counted as a duplicate. Progress goes to stderr; a message\n"
    "that cannot be read is reported with the reason and the import goes on.\n";

enum { PROGRESS_EVERY_MS = 2000, REJECTIONS_PRINTED = 100 };

struct progress {
    bool tty;
    int64_t started, last;
    uint64_t rejected_printed, rejected_more;
};

static void on_reject(void *arg, const char *origin, const struct errinfo *why)
{
    struct progress *p = arg;
    if (p->rejected_printed < REJECTIONS_PRINTED) {
        fprintf(stderr, "%srejected %s: %s\n", p->tty ? "\r\033[K" : "", origin, why->msg);
        p->rejected_printed++;
    } else {
        p->rejected_more++;
    }
}

static void print_progress(struct progress *p, const struct ingest_stats *s, bool force)
{
    int64_t now = clock_now_ms();
    if (!force && !p->tty && now - p->last < PROGRESS_EVERY_MS)
        return;
    p->last = now;
    double secs = (double)(now - p->started) / 1000.0;
    char pct[16] = "";
    if (s->bytes_total)
        snprintf(pct, sizeof(pct), " (%.0f%%)",
                 100.0 * (double)s->bytes_done / (double)s->bytes_total);
    fprintf(stderr,
            "%simport: %llu messages%s, %llu imported, %llu duplicates, %llu rejected, "
            "%.0f/s%s",
            p->tty ? "\r\033[K" : "", (unsigned long long)s->seen, pct,
            (unsigned long long)s->imported, (unsigned long long)s->duplicates,
            (unsigned long long)s->rejected, secs > 0 ? (double)s->seen / secs : 0.0,
            p->tty ? "" : "\n");
}

static void on_batch(void *arg, const struct ingest_stats *s)
{
    print_progress(arg, s, false);
}

int cmd_import(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("import", argc, argv, "config,db,workspace", CMD_MAX_POS, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (!o.workspace || o.npos == 0) {
        fprintf(stderr, "leadflow import: --workspace ID and at least one FILE are required "
                        "(see leadflow import --help)\n");
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
        fprintf(stderr, "leadflow import: no workspace with id \"%s\"\n", o.workspace);
        store_close(st);
        config_release(&cfg);
        return 1;
    }

    struct progress p = {.tty = isatty(STDERR_FILENO) == 1, .started = clock_now_ms()};
    struct ai *ai = ai_new(&cfg);
    struct ingest_opts io = {
        .workspace_id = o.workspace,
        .source = "import",
        .on_reject = on_reject,
        .on_batch = on_batch,
        .arg = &p,
    };
    struct ingest *g = ingest_new(st, ai, &io, &e);
    struct inbox *in = g ? inbox_files_new(o.pos, (size_t)o.npos, &e) : NULL;
    rc = in ? ingest_source(g, in, &e) : ERR_INVALID;
    struct ingest_stats s = {0};
    if (g)
        ingest_get_stats(g, &s);
    if (in || s.seen)
        print_progress(&p, &s, true);
    if (p.tty)
        fputc('\n', stderr);
    if (p.rejected_more)
        fprintf(stderr, "(%llu more rejected messages not listed)\n",
                (unsigned long long)p.rejected_more);
    if (rc)
        fprintf(stderr, "leadflow import: %s\n", e.msg);
    else
        fprintf(stderr,
                "imported %llu, duplicates %llu, rejected %llu; %llu contacts created, "
                "%llu scores changed, in %.1f s\n",
                (unsigned long long)s.imported, (unsigned long long)s.duplicates,
                (unsigned long long)s.rejected, (unsigned long long)s.contacts_created,
                (unsigned long long)s.scores_changed,
                (double)(clock_now_ms() - p.started) / 1000.0);
    inbox_free(in);
    ingest_free(g);
    ai_free(ai);
    store_close(st);
    config_release(&cfg);
    /* Nothing usable at all is a failure; some rejected messages are not. */
    if (rc || (s.seen > 0 && s.rejected == s.seen))
        return 1;
    return 0;
}
