/*
 * The job queue of a workspace, for people: list jobs by status, and retry
 * or discard the ones that failed (jobs/queue.h runs them). A queued job
 * that has failed before is shown as "failed" until its retry runs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/str.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "store/jobs.h"

enum { PAGE_SIZE_DEFAULT = 50, PAGE_SIZE_MAX = 200 };

static const char *const statuses[] = {"queued", "running", "done", "failed", "dead"};

/* A job's payload as answered: secrets a handler carries (an alert
 * channel's webhook secret) are write-only here as everywhere. */
static void write_payload(struct jw *w, const char *payload)
{
    json_t *v = strstr(payload, "\"secret\"") ? json_loads(payload, 0, NULL) : NULL;
    if (!v) {
        jw_raw(w, payload, strlen(payload));
        return;
    }
    json_secrets_mask_all(v);
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    jw_raw(w, text ? text : "{}", text ? strlen(text) : 2);
    free(text);
}

void api_job_write(struct jw *w, const struct job_row *j)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)j->id);
    jw_obj_begin(w);
    jw_kstr(w, "id", id);
    jw_kstr(w, "kind", j->kind);
    jw_kstr(w, "status", j->status);
    jw_kint(w, "attempts", j->attempts);
    jw_kint(w, "maxAttempts", j->max_attempts);
    api_time(w, "runAt", j->run_at);
    jw_kstr(w, "lastError", j->last_error);
    api_time(w, "startedAt", j->started_at);
    api_time(w, "finishedAt", j->finished_at);
    api_time(w, "createdAt", j->created_at);
    api_time(w, "updatedAt", j->updated_at);
    jw_key(w, "payload");
    write_payload(w, j->payload);
    jw_key(w, "progress");
    if (j->progress)
        jw_raw(w, j->progress, strlen(j->progress));
    else
        jw_null(w);
    jw_obj_end(w);
}

static int jobs_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    const char *status = http_req_query(req, "status");
    if (status) {
        size_t i = 0;
        while (i < sizeof(statuses) / sizeof(statuses[0]) && strcmp(statuses[i], status) != 0)
            i++;
        if (i == sizeof(statuses) / sizeof(statuses[0]))
            return failf(e, ERR_INVALID,
                         "status must be one of queued, running, done, failed, dead");
    }
    struct job_row *rows;
    size_t n;
    int64_t total;
    rc = store_job_list(ctx->store, req->auth->workspace_id, status, (int)pg.size,
                        (int)api_page_offset(&pg), req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        api_job_write(&w, &rows[i]);
    return api_list_end(rep, &w, &pg, total);
}

/* The {id} of the path: job ids are positive integers; anything else names no job. */
static int job_id(struct http_req *req, int64_t *id, struct errinfo *e)
{
    if (!str_to_i64(req->params[0], 1, INT64_MAX, id))
        return failf(e, ERR_NOT_FOUND, "job not found");
    return 0;
}

typedef int (*job_change_fn)(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                             struct arena *a, struct job_row *out, struct errinfo *e);

static int change(struct http_req *req, struct http_reply *rep, job_change_fn fn, bool kick,
                  struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int64_t id;
    int rc = job_id(req, &id, e);
    if (rc)
        return rc;
    struct job_row j;
    rc = fn(ctx->store, req->auth->workspace_id, id, clock_now_ms(), req->arena, &j, e);
    if (rc)
        return rc;
    if (kick)
        queue_kick(ctx->queue);
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    api_job_write(&w, &j);
    return reply_ok_end(rep, &w);
}

static int jobs_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int64_t id;
    int rc = job_id(req, &id, e);
    if (rc)
        return rc;
    struct job_row j;
    if ((rc = store_job_get(ctx->store, req->auth->workspace_id, id, req->arena, &j, e)))
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    api_job_write(&w, &j);
    return reply_ok_end(rep, &w);
}

static int jobs_retry(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return change(req, rep, store_job_retry, true, e);
}

static int jobs_discard(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return change(req, rep, store_job_discard, false, e);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_jobs_routes[] = {
    {HTTP_GET, "/api/jobs", WS, jobs_list},
    {HTTP_GET, "/api/jobs/{id}", WS, jobs_get},
    {HTTP_POST, "/api/jobs/{id}/retry", WS | ROUTE_WRITE, jobs_retry},
    {HTTP_POST, "/api/jobs/{id}/discard", WS | ROUTE_WRITE, jobs_discard},
};

const size_t api_jobs_nroutes = sizeof(api_jobs_routes) / sizeof(api_jobs_routes[0]);
