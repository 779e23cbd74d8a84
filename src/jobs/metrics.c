/* The queue's depth for /metrics (jobs/queue.h), from the jobs table. */
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "jobs/queue.h"
#include "store/jobs.h"

static const struct {
    const char *status, *name, *help;
} families[] = {
    {"queued", "leadflow_queue_depth", "Jobs waiting to run (due or not), by kind."},
    {"running", "leadflow_jobs_running", "Jobs a worker holds, by kind."},
    {"dead", "leadflow_jobs_dead", "Jobs that failed for good (retry or discard them), by kind."},
};

/* A label value as Prometheus text needs it: \, " and line feeds escaped. */
static int label_value(struct buf *out, const char *s)
{
    int rc = 0;
    for (; *s && !rc; s++)
        rc = *s == '\\'   ? buf_puts(out, "\\\\")
             : *s == '"'  ? buf_puts(out, "\\\"")
             : *s == '\n' ? buf_puts(out, "\\n")
                          : buf_putc(out, *s);
    return rc;
}

int queue_metrics_render(const void *arg, struct buf *out)
{
    struct store *st = (struct store *)arg;
    struct arena a;
    arena_init(&a, NULL, 0);
    struct job_depth *rows;
    size_t n;
    struct errinfo e;
    int rc = store_job_depth(st, &a, &rows, &n, &e);
    if (rc) {
        log_warn("metrics.jobs", "the queue's depth is left out of /metrics: %s", e.msg);
        arena_release(&a);
        return 0;
    }
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]) && !rc; f++) {
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", families[f].name, families[f].help,
                        families[f].name);
        for (size_t i = 0; i < n && !rc; i++) {
            if (strcmp(rows[i].status, families[f].status) != 0)
                continue;
            rc = buf_printf(out, "%s{kind=\"", families[f].name);
            rc = rc ? rc : label_value(out, rows[i].kind);
            rc = rc ? rc : buf_printf(out, "\"} %lld\n", (long long)rows[i].count);
        }
    }
    arena_release(&a);
    return rc ? ERR_TOO_BIG : 0;
}
