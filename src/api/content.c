/*
 * Generated content of a workspace: drafts written for hot or warm leads or
 * for listed contacts, and the review queue (list, read, edit, approve,
 * reject, send). The drafting and the sending are in ai/content.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ai/content.h"
#include "ai/score.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "store/contacts.h"
#include "store/sending.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 100 };

static void write_content(struct jw *w, const struct content *c)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", c->id);
    jw_kstr(w, "workspaceId", c->workspace_id);
    jw_kstr(w, "contactId", c->contact_id);
    jw_key(w, "contact");
    jw_obj_begin(w);
    jw_kstr(w, "email", c->contact_email);
    jw_kstr(w, "name", c->contact_name && *c->contact_name ? c->contact_name : NULL);
    jw_obj_end(w);
    jw_kstr(w, "status", c->status);
    jw_key(w, "subjects");
    jw_raw(w, c->subjects, strlen(c->subjects));
    jw_kstr(w, "subject", c->subject);
    jw_kstr(w, "body", c->body);
    jw_kstr(w, "callToAction", c->call_to_action && *c->call_to_action ? c->call_to_action : NULL);
    jw_kstr(w, "provider", c->provider && *c->provider ? c->provider : NULL);
    jw_kstr(w, "reason", c->reason && *c->reason ? c->reason : NULL);
    jw_key(w, "scoreAtDraft");
    if (c->score_at_draft >= 0)
        jw_int(w, c->score_at_draft);
    else
        jw_null(w);
    jw_kstr(w, "sentEmailId", c->sent_email_id[0] ? c->sent_email_id : NULL);
    /* How the email of a sent draft went: the outbox's status and the
     * provider that accepted it. */
    jw_key(w, "delivery");
    if (c->sent_email_id[0] && c->delivery_status && *c->delivery_status) {
        jw_obj_begin(w);
        jw_kstr(w, "status", c->delivery_status);
        jw_kstr(w, "provider", *c->delivery_provider ? c->delivery_provider : NULL);
        api_time(w, "sentAt", c->delivered_at);
        jw_obj_end(w);
    } else {
        jw_null(w);
    }
    jw_kstr(w, "reviewedBy", c->reviewed_by[0] ? c->reviewed_by : NULL);
    api_time(w, "reviewedAt", c->reviewed_at);
    api_time(w, "createdAt", c->created_at);
    api_time(w, "updatedAt", c->updated_at);
    jw_obj_end(w);
}

static int reply_content(struct http_reply *rep, int status, const struct content *c)
{
    struct jw w;
    reply_ok_begin(rep, status, &w);
    write_content(&w, c);
    return reply_ok_end(rep, &w);
}

/* The {id} of the path, or ERR_NOT_FOUND when it cannot be an id. */
/* ---- POST /api/content/generate ------------------------------------------- */

struct skip {
    const char *contact_id;
    const char *reason; /* not_found | unsubscribed | has_draft */
};

struct generation {
    struct content drafts[CONTENT_GENERATE_MAX];
    size_t ndrafts;
    struct skip skipped[CONTENT_GENERATE_MAX];
    size_t nskipped;
};

/* The contact ids of a "contacts" request: 1 to CONTENT_GENERATE_MAX strings, repeats dropped. */
static int listed_ids(json_t *body, struct arena *a, const char ***ids, size_t *n,
                      struct errinfo *e)
{
    json_t *v = json_object_get(body, "contactIds");
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CONTENT_GENERATE_MAX)
        return failf(e, ERR_INVALID, "contactIds must be a list of 1 to %d contact ids",
                     CONTENT_GENERATE_MAX);
    *ids = arena_calloc(a, json_array_size(v) * sizeof(**ids));
    *n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        const char *s = json_string_value(t);
        if (!s || !*s || strlen(s) != json_string_length(t))
            return failf(e, ERR_INVALID, "contactIds[%zu] is not a contact id", i);
        bool dup = false;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = strcmp((*ids)[k], s) == 0;
        if (!dup)
            (*ids)[(*n)++] = s;
    }
    return 0;
}

/* The workspace's contacts with a score in [lo, hi], best first. */
static int tier_ids(struct http_req *req, int lo, int hi, const char ***ids, size_t *n,
                    struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct contact_query q = {.min_score = lo,
                              .max_score = hi,
                              .sort = CS_SCORE,
                              .desc = true,
                              .limit = CONTENT_GENERATE_MAX};
    struct contact *rows;
    int64_t total;
    int rc = store_contact_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, n,
                                &total, e);
    if (rc)
        return rc;
    *ids = arena_calloc(req->arena, (*n ? *n : 1) * sizeof(**ids));
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = rows[i].id;
    return 0;
}

static int content_generate(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    const char *target = json_string_value(json_object_get(req->json, "target"));
    const char **ids = NULL;
    size_t n = 0;
    const char *reason;
    int rc;
    if (!target || (strcmp(target, "hot") != 0 && strcmp(target, "warm") != 0 &&
                    strcmp(target, "contacts") != 0))
        return failf(e, ERR_INVALID, "target must be one of hot, warm, contacts");
    bool listed = strcmp(target, "contacts") == 0;
    if (listed) {
        reason = CONTENT_REASON_REQUESTED;
        rc = listed_ids(req->json, req->arena, &ids, &n, e);
    } else if (json_object_get(req->json, "contactIds")) {
        return failf(e, ERR_INVALID, "contactIds goes with target \"contacts\" only");
    } else if (strcmp(target, "hot") == 0) {
        reason = CONTENT_REASON_HOT;
        rc = tier_ids(req, SCORE_HOT, 100, &ids, &n, e);
    } else {
        reason = CONTENT_REASON_WARM;
        rc = tier_ids(req, SCORE_WARM, SCORE_HOT - 1, &ids, &n, e);
    }
    if (rc)
        return rc;

    struct generation *g = arena_calloc(req->arena, sizeof(*g));
    for (size_t i = 0; i < n; i++) {
        bool open = false;
        /* A lead already waiting for review gets no second draft unless asked by name. */
        if (!listed && (rc = content_has_open_draft(ctx->store, ws, ids[i], &open, e)))
            return rc;
        if (open) {
            g->skipped[g->nskipped++] = (struct skip){ids[i], "has_draft"};
            continue;
        }
        rc = strlen(ids[i]) < STORE_ID_LEN ? content_draft(ctx->store, ws, ids[i], ctx->ai, reason,
                                                           req->arena, &g->drafts[g->ndrafts], e)
                                           : ERR_NOT_FOUND;
        if (rc == ERR_NOT_FOUND || rc == ERR_FORBIDDEN) {
            g->skipped[g->nskipped++] =
                (struct skip){ids[i], rc == ERR_NOT_FOUND ? "not_found" : "unsubscribed"};
            continue;
        }
        if (rc)
            return rc;
        g->ndrafts++;
    }

    struct jw w;
    reply_ok_begin(rep, 201, &w);
    jw_obj_begin(&w);
    jw_key(&w, "drafts");
    jw_arr_begin(&w);
    for (size_t i = 0; i < g->ndrafts; i++)
        write_content(&w, &g->drafts[i]);
    jw_arr_end(&w);
    jw_key(&w, "skipped");
    jw_arr_begin(&w);
    for (size_t i = 0; i < g->nskipped; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "contactId", g->skipped[i].contact_id);
        jw_kstr(&w, "reason", g->skipped[i].reason);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

/* ---- the review queue -------------------------------------------------------- */

static int content_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct content_query q = {0};
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    q.limit = (int)pg.size;
    q.offset = (int)api_page_offset(&pg);
    const char *status = http_req_query(req, "status");
    if (status && !(q.status = content_status_parse(status)))
        return failf(e, ERR_INVALID, "status must be one of draft, approved, rejected, sent");
    q.contact_id = http_req_query(req, "contactId");
    if (q.contact_id && strlen(q.contact_id) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "contactId is not a contact id");

    struct content *rows;
    size_t n;
    int64_t total;
    rc = store_content_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &n, &total,
                            e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_content(&w, &rows[i]);
    return api_list_end(rep, &w, &pg, total);
}

/* Reads and replies with the draft id (after a change). */
static int reply_current(struct http_req *req, struct http_reply *rep, const char *id,
                         struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct content c;
    int rc = store_content_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    return rc ? rc : reply_content(rep, 200, &c);
}

static int content_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "draft", id, e);
    return rc ? rc : reply_current(req, rep, id, e);
}

/* Characters (code points) of UTF-8 text. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

/*
 * An optional text field of 1 to max characters that is not only white
 * space; one_line refuses line breaks and other control characters (a
 * subject becomes a header). Absent: *out stays NULL.
 */
static int opt_text(json_t *body, const char *key, size_t max, bool one_line, const char **out,
                    struct errinfo *e)
{
    *out = NULL;
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v))
        return failf(e, ERR_INVALID, "%s must be a string without NUL characters", key);
    size_t chars = utf8_chars(s);
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            blank = false;
        if ((*p < 0x20 || *p == 0x7f) && (one_line || (*p != '\n' && *p != '\r' && *p != '\t')))
            return failf(e, ERR_INVALID, "%s must not contain %s", key,
                         one_line ? "line breaks or control characters" : "control characters");
    }
    if (blank || chars > max)
        return failf(e, ERR_INVALID, "%s must have 1 to %zu characters", key, max);
    *out = s;
    return 0;
}

static int content_patch(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    const char *subject, *body, *cta;
    int rc = api_path_id(req, "draft", id, e);
    if (!rc)
        rc = opt_text(req->json, "subject", DRAFT_SUBJECT_MAX, true, &subject, e);
    if (!rc)
        rc = opt_text(req->json, "body", DRAFT_BODY_MAX, false, &body, e);
    if (!rc)
        rc = opt_text(req->json, "callToAction", DRAFT_CTA_MAX, false, &cta, e);
    if (!rc && !subject && !body && !cta)
        rc = failf(e, ERR_INVALID, "nothing to change: give subject, body or callToAction");
    if (!rc)
        rc = store_content_edit(ctx->store, req->auth->workspace_id, id, subject, body, cta,
                                clock_now_ms(), e);
    return rc ? rc : reply_current(req, rep, id, e);
}

static int transition(struct http_req *req, struct http_reply *rep, unsigned from,
                      enum content_status to, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "draft", id, e);
    if (!rc)
        rc = store_content_transition(ctx->store, req->auth->workspace_id, id, from, to,
                                      req->auth->user_id, NULL, clock_now_ms(), e);
    return rc ? rc : reply_current(req, rep, id, e);
}

static int content_approve(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return transition(req, rep, CONTENT_DRAFT, CONTENT_APPROVED, e);
}

static int content_reject(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return transition(req, rep, CONTENT_DRAFT | CONTENT_APPROVED, CONTENT_REJECTED, e);
}

static int content_send_route(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct content c;
    int rc = api_path_id(req, "draft", id, e);
    if (!rc)
        rc = outbox_send_draft(ctx->store, ctx->cfg, req->auth->workspace_id, id,
                               req->auth->user_id, req->arena, &c, e);
    if (rc)
        return rc;
    if (ctx->queue)
        queue_kick(ctx->queue); /* the send_email job is due now */
    return reply_content(rep, 200, &c);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

/* generate before {id}: the first route whose pattern and method match wins. */
const struct route api_content_routes[] = {
    {HTTP_POST, "/api/content/generate", WS | ROUTE_WRITE | ROUTE_JSON, content_generate},
    {HTTP_GET, "/api/content", WS, content_list},
    {HTTP_GET, "/api/content/{id}", WS, content_get},
    {HTTP_PATCH, "/api/content/{id}", WS | ROUTE_WRITE | ROUTE_JSON, content_patch},
    {HTTP_POST, "/api/content/{id}/approve", WS | ROUTE_WRITE, content_approve},
    {HTTP_POST, "/api/content/{id}/reject", WS | ROUTE_WRITE, content_reject},
    {HTTP_POST, "/api/content/{id}/send", WS | ROUTE_WRITE, content_send_route},
};

const size_t api_content_nroutes = sizeof(api_content_routes) / sizeof(api_content_routes[0]);
