/*
 * Drip campaigns (drip/drip.h): CRUD, status changes (activate, pause,
 * archive), the ordered step list (POST replaces it whole; references by
 * position index or client key), enrollment, and what happened: enrollments,
 * execution logs, per-step metrics. Every id is looked up in the caller's
 * workspace, so another workspace's id is 404 like a missing one.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "drip/drip.h"
#include "drip/step.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "store/campaigns.h"
#include "store/contacts.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 200, NAME_MAX = 200, TRIGGER_MAX = 8192 };

static const char *const statuses[] = {"draft", "active", "paused", "archived"};
static const char *const enrollment_statuses[] = {"active", "completed", "cancelled", "failed"};

static bool one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* A campaign; with v (one campaign's reply), how many contacts are on each
 * version of its steps. */
static void write_campaign(struct jw *w, const struct campaign *c, const struct campaign_version *v,
                           size_t nv)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", c->id);
    jw_kstr(w, "name", c->name);
    jw_kstr(w, "status", c->status);
    jw_key(w, "trigger");
    if (c->trigger)
        jw_raw(w, c->trigger, strlen(c->trigger));
    else
        jw_null(w);
    jw_kbool(w, "allowReenroll", c->allow_reenroll);
    jw_kint(w, "steps", c->steps);
    jw_kint(w, "enrollments", c->enrollments);
    jw_kint(w, "activeEnrollments", c->active);
    jw_kint(w, "version", c->version);
    api_time(w, "createdAt", c->created_at);
    api_time(w, "updatedAt", c->updated_at);
    if (v) {
        jw_key(w, "versions");
        jw_arr_begin(w);
        for (size_t i = 0; i < nv; i++) {
            jw_obj_begin(w);
            jw_kint(w, "version", v[i].version);
            jw_kint(w, "enrollments", v[i].enrollments);
            jw_kint(w, "activeEnrollments", v[i].active);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static int reply_campaign(struct http_req *req, struct http_reply *rep, int status, const char *id,
                          struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct campaign c;
    struct campaign_version *v;
    size_t nv;
    int rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    if (!rc)
        rc = store_campaign_versions(ctx->store, req->auth->workspace_id, id, req->arena, &v, &nv,
                                     e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, status, &w);
    write_campaign(&w, &c, v, nv);
    return reply_ok_end(rep, &w);
}

/* name, trigger (an object or null) and allowReenroll from the body. */
static int read_fields(struct http_req *req, struct campaign_fields *f, struct errinfo *e)
{
    json_t *b = req->json;
    memset(f, 0, sizeof(*f));
    json_t *v = json_object_get(b, "name");
    if (v) {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > NAME_MAX || strlen(s) != json_string_length(v))
            return failf(e, ERR_INVALID, "name must be a string of 1 to %d characters", NAME_MAX);
        f->set |= CAMPF_NAME;
        f->name = s;
    }
    if ((v = json_object_get(b, "trigger"))) {
        int rc = drip_trigger_check(v, e);
        if (rc)
            return rc;
        f->set |= CAMPF_TRIGGER;
        if (json_is_object(v)) {
            char *text = json_dumps(v, JSON_COMPACT);
            if (!text || strlen(text) > TRIGGER_MAX) {
                free(text);
                return failf(e, ERR_INVALID, "trigger is larger than %d bytes", TRIGGER_MAX);
            }
            f->trigger = arena_strdup(req->arena, text);
            free(text);
        }
    }
    if ((v = json_object_get(b, "allowReenroll"))) {
        if (!json_is_boolean(v))
            return failf(e, ERR_INVALID, "allowReenroll must be true or false");
        f->set |= CAMPF_REENROLL;
        f->allow_reenroll = json_is_true(v);
    }
    return 0;
}

static int campaigns_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    const char *status = http_req_query(req, "status");
    if (status && !one_of(status, statuses, 4))
        return failf(e, ERR_INVALID, "status must be one of draft, active, paused, archived");
    struct campaign *rows;
    size_t n;
    int64_t total;
    rc = store_campaign_list(ctx->store, req->auth->workspace_id, status, (int)pg.size,
                             (int)api_page_offset(&pg), req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_campaign(&w, &rows[i], NULL, 0);
    return api_list_end(rep, &w, &pg, total);
}

static int campaigns_create(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct campaign_fields f;
    int rc = read_fields(req, &f, e);
    if (rc)
        return rc;
    if (!(f.set & CAMPF_NAME))
        return failf(e, ERR_INVALID, "name is required");
    struct campaign c;
    rc = store_campaign_create(ctx->store, req->auth->workspace_id, &f, clock_now_ms(), req->arena,
                               &c, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 201, &w);
    write_campaign(&w, &c, NULL, 0);
    return reply_ok_end(rep, &w);
}

static int campaigns_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    return rc ? rc : reply_campaign(req, rep, 200, id, e);
}

static int campaigns_patch(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct campaign_fields f;
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = read_fields(req, &f, e);
    if (!rc && f.set == 0)
        rc = failf(e, ERR_INVALID, "nothing to change: give name, trigger or allowReenroll");
    if (!rc)
        rc = store_campaign_update(ctx->store, req->auth->workspace_id, id, &f, clock_now_ms(), e);
    return rc ? rc : reply_campaign(req, rep, 200, id, e);
}

static int campaigns_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = store_campaign_delete(ctx->store, req->auth->workspace_id, id, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", id);
    jw_kbool(&w, "deleted", true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int status_change(struct http_req *req, struct http_reply *rep, struct errinfo *e,
                         int (*fn)(struct store *, const char *, const char *, struct errinfo *))
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = fn(ctx->store, req->auth->workspace_id, id, e);
    if (rc)
        return rc;
    if (ctx->queue)
        queue_kick(ctx->queue);
    return reply_campaign(req, rep, 200, id, e);
}

static int campaigns_activate(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return status_change(req, rep, e, drip_activate);
}

static int campaigns_pause(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return status_change(req, rep, e, drip_pause);
}

static int campaigns_archive(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return status_change(req, rep, e, drip_archive);
}

static void write_ref(struct jw *w, const char *key, const char *id,
                      const struct campaign_step *steps, size_t n)
{
    jw_key(w, key);
    for (size_t i = 0; id[0] && i < n; i++) {
        if (strcmp(steps[i].id, id) == 0) {
            jw_int(w, steps[i].position);
            return;
        }
    }
    jw_null(w);
}

static int reply_steps(struct http_req *req, struct http_reply *rep, int status, const char *id,
                       struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct campaign c;
    struct campaign_step *steps;
    size_t n;
    const char *ws = req->auth->workspace_id;
    int rc = store_campaign_get(ctx->store, ws, id, req->arena, &c, e);
    if (!rc)
        rc = store_campaign_steps(ctx->store, ws, id, req->arena, &steps, &n, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, status, &w);
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const struct campaign_step *s = &steps[i];
        jw_obj_begin(&w);
        jw_kstr(&w, "id", s->id);
        jw_kint(&w, "position", s->position);
        jw_kstr(&w, "type", s->type);
        jw_key(&w, "config");
        const char *cfg = drip_config_public(s, req->arena); /* secrets masked */
        jw_raw(&w, cfg, strlen(cfg));
        const struct step_kind *kind = step_kind_find(s->type);
        if (kind && kind->branches) {
            write_ref(&w, "true", s->true_id, steps, n);
            write_ref(&w, "false", s->false_id, steps, n);
        } else {
            write_ref(&w, "next", s->next_id, steps, n);
        }
        jw_kstr(&w, "nextStepId", s->next_id[0] ? s->next_id : NULL);
        jw_kstr(&w, "trueStepId", s->true_id[0] ? s->true_id : NULL);
        jw_kstr(&w, "falseStepId", s->false_id[0] ? s->false_id : NULL);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    return reply_ok_end(rep, &w);
}

static int steps_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    return rc ? rc : reply_steps(req, rep, 200, id, e);
}

static int steps_put(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    if (rc)
        return rc;
    json_t *arr = json_object_get(req->json, "steps");
    if (!arr)
        return failf(e, ERR_INVALID, "steps is required (an array of steps)");
    struct campaign_step *steps;
    size_t n;
    struct campaign c;
    /* A foreign campaign is 404 before its body is judged. */
    rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    /* A webhook secret sent back masked (as GET shows it) keeps the stored one. */
    struct campaign_step *old;
    size_t nold;
    if (!rc)
        rc = store_campaign_steps(ctx->store, req->auth->workspace_id, id, req->arena, &old, &nold,
                                  e);
    if (!rc)
        rc = drip_steps_keep_secrets(arr, old, nold, e);
    if (!rc)
        rc = drip_steps_build(arr, req->arena, &steps, &n, e);
    if (!rc)
        rc = store_campaign_steps_replace(ctx->store, req->auth->workspace_id, id, steps, n,
                                          clock_now_ms(), NULL, e);
    return rc ? rc : reply_steps(req, rep, 200, id, e);
}

/* The contact ids of {contactIds:[...]} or {filter:{minScore, tag, status}}. */
static int enroll_targets(struct http_req *req, const char ***ids, size_t *n, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    json_t *list = json_object_get(req->json, "contactIds");
    json_t *filter = json_object_get(req->json, "filter");
    *n = 0;
    if ((list != NULL) == (filter != NULL))
        return failf(e, ERR_INVALID, "give contactIds or filter");
    if (list) {
        if (!json_is_array(list) || json_array_size(list) == 0 ||
            json_array_size(list) > DRIP_ENROLL_MAX)
            return failf(e, ERR_INVALID, "contactIds must be an array of 1 to %d ids",
                         DRIP_ENROLL_MAX);
        *ids = arena_alloc(req->arena, json_array_size(list) * sizeof(**ids));
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            const char *s = json_string_value(v);
            if (!s || !*s)
                return failf(e, ERR_INVALID, "contactIds[%zu] must be a contact id", i);
            bool dup = false;
            for (size_t k = 0; k < *n; k++)
                dup = dup || strcmp((*ids)[k], s) == 0;
            if (!dup)
                (*ids)[(*n)++] = s;
        }
        return 0;
    }
    if (!json_is_object(filter))
        return failf(e, ERR_INVALID, "filter must be an object");
    struct contact_query q = {.min_score = -1, .max_score = -1, .sort = CS_CREATED};
    json_t *v = json_object_get(filter, "minScore");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
            return failf(e, ERR_INVALID, "filter.minScore must be a score from 0 to 100");
        q.min_score = (int)json_integer_value(v);
    }
    if ((v = json_object_get(filter, "tag"))) {
        if (!json_string_value(v) || !*json_string_value(v))
            return failf(e, ERR_INVALID, "filter.tag must be a tag");
        q.tag = json_string_value(v);
    }
    if ((v = json_object_get(filter, "status"))) {
        static const char *const cs[] = {"prospect", "lead", "customer", "contact"};
        if (!json_string_value(v) || !one_of(json_string_value(v), cs, 4))
            return failf(e, ERR_INVALID,
                         "filter.status must be one of prospect, lead, customer, contact");
        q.status = json_string_value(v);
    }
    *ids = arena_alloc(req->arena, DRIP_ENROLL_MAX * sizeof(**ids));
    for (q.offset = 0; *n < DRIP_ENROLL_MAX; q.offset += q.limit) {
        struct contact *rows;
        size_t m;
        int64_t total;
        q.limit = 200;
        int rc = store_contact_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &m,
                                    &total, e);
        if (rc)
            return rc;
        for (size_t i = 0; i < m && *n < DRIP_ENROLL_MAX; i++)
            (*ids)[(*n)++] = arena_strdup(req->arena, rows[i].id);
        if (m < (size_t)q.limit)
            break;
    }
    return 0;
}

static int campaigns_enroll(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct campaign c;
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    const char **ids = NULL;
    size_t n = 0;
    if (!rc)
        rc = enroll_targets(req, &ids, &n, e);
    if (rc)
        return rc;
    struct drip_enroll_result *res = arena_alloc(req->arena, (n ? n : 1) * sizeof(*res));
    rc = drip_enroll(ctx->store, req->auth->workspace_id, id, ids, n, res, e);
    if (rc)
        return rc;
    if (ctx->queue)
        queue_kick(ctx->queue);
    struct jw w;
    size_t enrolled = 0;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_key(&w, "enrolled");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (res[i].reason)
            continue;
        enrolled++;
        jw_obj_begin(&w);
        jw_kstr(&w, "contactId", res[i].contact_id);
        jw_kstr(&w, "enrollmentId", res[i].enrollment_id);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "skipped");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (!res[i].reason)
            continue;
        jw_obj_begin(&w);
        jw_kstr(&w, "contactId", res[i].contact_id);
        jw_kstr(&w, "reason", res[i].reason);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_kint(&w, "enrolledCount", (int64_t)enrolled);
    jw_kint(&w, "skippedCount", (int64_t)(n - enrolled));
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int enrollments_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct api_page pg;
    struct campaign c;
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    if (!rc)
        rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    const char *status = http_req_query(req, "status");
    if (status && !one_of(status, enrollment_statuses, 4))
        return failf(e, ERR_INVALID, "status must be one of active, completed, cancelled, failed");
    struct enrollment *rows;
    size_t n;
    int64_t total;
    rc = store_enrollment_list(ctx->store, req->auth->workspace_id, id, status, (int)pg.size,
                               (int)api_page_offset(&pg), req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        const struct enrollment *r = &rows[i];
        jw_obj_begin(&w);
        jw_kstr(&w, "id", r->id);
        jw_kstr(&w, "contactId", r->contact_id);
        jw_kstr(&w, "contactEmail", r->contact_email);
        jw_kstr(&w, "status", r->status);
        jw_kstr(&w, "currentStepId", r->current_step_id[0] ? r->current_step_id : NULL);
        jw_kint(&w, "stepExecutions", r->seq);
        api_time(&w, "nextRunAt", r->next_run_at);
        jw_kstr(&w, "lastEmailId", r->last_email_id[0] ? r->last_email_id : NULL);
        if (r->variant >= 0)
            jw_kint(&w, "variant", r->variant);
        else
            jw_kstr(&w, "variant", NULL);
        jw_kstr(&w, "reason", r->reason);
        jw_kint(&w, "generation", r->generation);
        jw_kint(&w, "version", r->version);
        api_time(&w, "enrolledAt", r->enrolled_at);
        api_time(&w, "updatedAt", r->updated_at);
        api_time(&w, "finishedAt", r->finished_at);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, &pg, total);
}

static int logs_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct api_page pg;
    struct campaign c;
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    if (!rc)
        rc = api_page_parse(req, PAGE_SIZE_MAX, 50, &pg, e);
    if (rc)
        return rc;
    const char *enr = http_req_query(req, "enrollmentId");
    if (enr && strlen(enr) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "enrollmentId is not an enrollment id");
    struct exec_log *rows;
    size_t n;
    int64_t total;
    rc = store_exec_log_list(ctx->store, req->auth->workspace_id, id, enr, (int)pg.size,
                             (int)api_page_offset(&pg), req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        const struct exec_log *l = &rows[i];
        jw_obj_begin(&w);
        jw_kint(&w, "id", l->id);
        jw_kstr(&w, "enrollmentId", l->enrollment_id);
        jw_kstr(&w, "contactId", l->contact_id);
        jw_kstr(&w, "stepId", l->step_id[0] ? l->step_id : NULL);
        jw_kstr(&w, "stepType", l->step_type[0] ? l->step_type : NULL);
        jw_kstr(&w, "status", l->status);
        jw_kstr(&w, "error", l->error);
        jw_key(&w, "metadata");
        jw_raw(&w, l->metadata, strlen(l->metadata));
        jw_kstr(&w, "sentEmailId", l->sent_email_id[0] ? l->sent_email_id : NULL);
        api_time(&w, "createdAt", l->created_at);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, &pg, total);
}

static int metrics_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct campaign c;
    struct step_metrics *rows;
    size_t n;
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc)
        rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    if (!rc)
        rc = store_campaign_metrics(ctx->store, req->auth->workspace_id, id, req->arena, &rows, &n,
                                    e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "campaignId", c.id);
    jw_kint(&w, "enrollments", c.enrollments);
    jw_kint(&w, "activeEnrollments", c.active);
    jw_key(&w, "steps");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const struct step_metrics *m = &rows[i];
        jw_obj_begin(&w);
        jw_kstr(&w, "stepId", m->step_id);
        jw_kint(&w, "position", m->position);
        jw_kstr(&w, "type", m->type);
        jw_kint(&w, "executed", m->executed);
        jw_kint(&w, "failed", m->failed);
        jw_kint(&w, "skipped", m->skipped);
        jw_kint(&w, "sent", m->sent);
        jw_kint(&w, "opened", m->opened);
        jw_kint(&w, "clicked", m->clicked);
        jw_kint(&w, "replied", m->replied);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

/* A copy of the campaign as a draft; {"name"} optional (else "<name> (copy)"). */
static int campaigns_clone(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct campaign_fields f;
    memset(&f, 0, sizeof(f));
    int rc = api_path_id(req, "campaign", id, e);
    if (!rc && req->body.len > 0 && !(rc = http_req_parse_json(req, e)))
        rc = read_fields(req, &f, e);
    if (!rc && (f.set & ~CAMPF_NAME))
        rc = failf(e, ERR_INVALID, "a clone takes only name");
    if (rc)
        return rc;
    const char *name = f.name;
    if (!name) {
        struct campaign c;
        if ((rc = store_campaign_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e)))
            return rc;
        char buf[NAME_MAX + 8];
        /* Cut the name on a UTF-8 character boundary so that " (copy)" fits. */
        size_t len = strlen(c.name);
        if (len > NAME_MAX - 7) {
            len = NAME_MAX - 7;
            while (len > 0 && ((unsigned char)c.name[len] & 0xC0) == 0x80)
                len--;
        }
        snprintf(buf, sizeof(buf), "%.*s (copy)", (int)len, c.name);
        name = arena_strdup(req->arena, buf);
    }
    struct campaign out;
    rc = drip_clone(ctx->store, req->auth->workspace_id, id, name, req->arena, &out, e);
    return rc ? rc : reply_campaign(req, rep, 201, out.id, e);
}

/* Takes one contact out of the campaign: {"contactId"}. */
static int campaigns_unenroll(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "campaign", id, e);
    if (rc)
        return rc;
    json_t *v = json_object_get(req->json, "contactId");
    const char *contact = json_string_value(v);
    if (!contact || !*contact || strlen(contact) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "contactId is required (a contact id)");
    if ((rc = drip_unenroll(ctx->store, req->auth->workspace_id, id, contact, e)))
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "campaignId", id);
    jw_kstr(&w, "contactId", contact);
    jw_kbool(&w, "unenrolled", true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

/* What the campaign builder offers: the step kinds and the email merge fields. */
static int step_kinds_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    (void)req;
    (void)e;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_key(&w, "kinds");
    jw_arr_begin(&w);
    for (size_t i = 0; i < step_nkinds; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "name", step_kinds[i]->name);
        jw_kbool(&w, "branches", step_kinds[i]->branches);
        jw_kbool(&w, "hasSecret", step_kinds[i]->has_secret);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "mergeFields");
    jw_arr_begin(&w);
    for (size_t i = 0; i < step_email_nmerge_fields; i++)
        jw_str(&w, step_email_merge_fields[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE, WR = WS | ROUTE_WRITE };

const struct route api_campaigns_routes[] = {
    {HTTP_GET, "/api/campaigns", WS, campaigns_list},
    {HTTP_POST, "/api/campaigns", WR | ROUTE_JSON, campaigns_create},
    {HTTP_GET, "/api/campaigns/step-kinds", WS, step_kinds_get},
    {HTTP_GET, "/api/campaigns/{id}", WS, campaigns_get},
    {HTTP_PATCH, "/api/campaigns/{id}", WR | ROUTE_JSON, campaigns_patch},
    {HTTP_DELETE, "/api/campaigns/{id}", WR, campaigns_delete},
    {HTTP_POST, "/api/campaigns/{id}/activate", WR, campaigns_activate},
    {HTTP_POST, "/api/campaigns/{id}/pause", WR, campaigns_pause},
    {HTTP_POST, "/api/campaigns/{id}/archive", WR, campaigns_archive},
    {HTTP_GET, "/api/campaigns/{id}/steps", WS, steps_get},
    {HTTP_POST, "/api/campaigns/{id}/steps", WR | ROUTE_JSON, steps_put},
    {HTTP_POST, "/api/campaigns/{id}/enroll", WR | ROUTE_JSON, campaigns_enroll},
    {HTTP_POST, "/api/campaigns/{id}/unenroll", WR | ROUTE_JSON, campaigns_unenroll},
    {HTTP_POST, "/api/campaigns/{id}/clone", WR, campaigns_clone},
    {HTTP_GET, "/api/campaigns/{id}/enrollments", WS, enrollments_list},
    {HTTP_GET, "/api/campaigns/{id}/logs", WS, logs_list},
    {HTTP_GET, "/api/campaigns/{id}/metrics", WS, metrics_get},
};

const size_t api_campaigns_nroutes = sizeof(api_campaigns_routes) / sizeof(api_campaigns_routes[0]);
