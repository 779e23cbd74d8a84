/*
 * A long job's progress (jobs/progress.h).
 */
#include "jobs/progress.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/events.h"
#include "base/json.h"
#include "store/jobs.h"

/* The live event; runs after the commit. data is the workspace, its NUL,
 * then the event's JSON. */
static void announce(void *data)
{
    const char *ws = data;
    events_publish(ws, "job_progress", ws + strlen(ws) + 1);
}

int job_progress_record(struct store *st, const struct job *j, const char *progress,
                        const char *status, struct errinfo *e)
{
    int rc = store_job_progress(st, j->workspace_id, j->id, progress, clock_now_ms(), e);
    if (rc)
        return rc;
    size_t n = strlen(progress);
    struct buf ev;
    buf_init(&ev, n + 512);
    buf_puts(&ev, j->workspace_id);
    buf_append(&ev, "", 1);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)j->id);
    struct jw w;
    jw_init(&w, &ev);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", id);
    jw_kstr(&w, "kind", j->kind);
    jw_kstr(&w, "status", status);
    jw_key(&w, "progress");
    jw_raw(&w, progress, n);
    jw_obj_end(&w);
    if (jw_finish(&w) == 0)
        store_after_commit(st, announce, ev.data, ev.len + 1);
    buf_release(&ev);
    return 0;
}

const char *job_progress_outcome(const struct job *j, int rc)
{
    if (!rc)
        return "done";
    return rc == ERR_INVALID || j->attempts >= j->max_attempts ? "dead" : "failed";
}
