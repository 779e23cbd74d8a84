/*
 * Contacts of a workspace: list (paging, sorting, filters, full-text
 * search), create, read, update, delete.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/str.h"
#include "crm/crm.h"
#include "http/reply.h"
#include "store/contacts.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 200, FIELD_MAX = 200, TAGS_MAX = 50, TAG_MAX = 50 };
enum { HISTORY_DEFAULT = 100, HISTORY_MAX = 500 };
/* An address may be as long as the store keeps (and str_is_email allows). */
enum { EMAIL_MAX = STORE_EMAIL_MAX - 1 };

static const struct {
    const char *name;
    enum contact_sort sort;
} sorts[] = {
    {"createdAt", CS_CREATED}, {"updatedAt", CS_UPDATED}, {"score", CS_SCORE},
    {"name", CS_NAME},         {"email", CS_EMAIL},       {"lastInteraction", CS_LAST_INTERACTION},
};

/* Reads an optional string field: absent leaves *out alone, null clears. */
static int opt_string(json_t *body, const char *key, const char *label, size_t max, unsigned bit,
                      struct contact_fields *f, const char **out, struct errinfo *e)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (json_is_null(v)) {
        f->set |= bit;
        *out = NULL;
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return failf(e, ERR_INVALID, "%s must be a string", label);
    if (strlen(s) > max)
        return failf(e, ERR_INVALID, "%s is longer than %zu characters", label, max);
    if (strlen(s) != json_string_length(v))
        return failf(e, ERR_INVALID, "%s must not contain NUL characters", label);
    /* Every contact field is one line, and names end up in email headers:
     * refused here rather than found when an email is sent. */
    if (str_has_control(s, false))
        return failf(e, ERR_INVALID, "%s must not contain line breaks or control characters",
                     label);
    f->set |= bit;
    *out = *s ? s : NULL;
    return 0;
}

/* Validates tags (an array of distinct non-empty strings) into JSON text. */
static int read_tags(json_t *body, struct arena *a, struct contact_fields *f, struct errinfo *e)
{
    json_t *v = json_object_get(body, "tags");
    if (!v)
        return 0;
    if (!json_is_array(v))
        return failf(e, ERR_INVALID, "tags must be an array of strings");
    if (json_array_size(v) > TAGS_MAX)
        return failf(e, ERR_INVALID, "at most %d tags", TAGS_MAX);
    json_t *clean = json_array();
    size_t i;
    json_t *t;
    int rc = 0;
    json_array_foreach(v, i, t)
    {
        const char *s = json_string_value(t);
        size_t n = s ? strlen(s) : 0;
        if (!s || n == 0 || n > TAG_MAX || n != json_string_length(t)) {
            rc = failf(e, ERR_INVALID, "each tag must be a string of 1 to %d characters", TAG_MAX);
            break;
        }
        bool dup = false;
        size_t j;
        json_t *u;
        json_array_foreach(clean, j, u) dup = dup || strcmp(json_string_value(u), s) == 0;
        if (!dup)
            json_array_append_new(clean, json_string(s));
    }
    if (!rc) {
        char *text = json_dumps(clean, JSON_COMPACT);
        f->tags = arena_strdup(a, text ? text : "[]");
        free(text);
        f->set |= CF_TAGS;
    }
    json_decref(clean);
    return rc;
}

static int read_fields(struct http_req *req, struct contact_fields *f, struct errinfo *e)
{
    json_t *b = req->json;
    memset(f, 0, sizeof(*f));
    int rc = opt_string(b, "email", "email", EMAIL_MAX, CF_EMAIL, f, &f->email, e);
    if (!rc)
        rc = opt_string(b, "name", "name", FIELD_MAX, CF_NAME, f, &f->name, e);
    if (!rc)
        rc = opt_string(b, "company", "company", FIELD_MAX, CF_COMPANY, f, &f->company, e);
    if (!rc)
        rc = opt_string(b, "jobTitle", "jobTitle", FIELD_MAX, CF_JOB_TITLE, f, &f->job_title, e);
    if (!rc)
        rc = opt_string(b, "status", "status", FIELD_MAX, CF_STATUS, f, &f->status, e);
    if (!rc)
        rc = read_tags(b, req->arena, f, e);
    if (rc)
        return rc;
    if ((f->set & CF_EMAIL) && (!f->email || !str_is_email(f->email)))
        return failf(e, ERR_INVALID, "email is not a valid email address");
    if ((f->set & CF_STATUS) && (!f->status || !crm_status_valid(f->status)))
        return failf(e, ERR_INVALID, "status must be one of prospect, lead, customer, contact");
    return 0;
}

/* The {id} of the path, or ERR_NOT_FOUND when it cannot be an id. */
static int reply_contact(struct http_reply *rep, int status, const struct contact *c)
{
    struct jw w;
    reply_ok_begin(rep, status, &w);
    api_write_contact(&w, c);
    return reply_ok_end(rep, &w);
}

static int contacts_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct contact_query q = {.min_score = -1, .max_score = -1, .sort = CS_CREATED, .desc = true};
    struct api_page pg;
    int64_t lo, hi;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (!rc)
        rc = api_query_int(req, "minScore", 0, 100, -1, &lo, e);
    if (!rc)
        rc = api_query_int(req, "maxScore", 0, 100, -1, &hi, e);
    if (rc)
        return rc;
    q.min_score = (int)lo;
    q.max_score = (int)hi;
    q.limit = (int)pg.size;
    q.offset = (int)api_page_offset(&pg);
    q.status = http_req_query(req, "status");
    if (q.status && !crm_status_valid(q.status))
        return failf(e, ERR_INVALID, "status must be one of prospect, lead, customer, contact");
    q.tag = http_req_query(req, "tag");
    q.text = http_req_query(req, "q");
    if (q.text && strlen(q.text) > 200)
        return failf(e, ERR_INVALID, "q is longer than 200 characters");
    const char *sort = http_req_query(req, "sort");
    if (sort) {
        q.desc = sort[0] == '-';
        const char *key = q.desc ? sort + 1 : sort;
        bool found = false;
        for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
            if (strcmp(key, sorts[i].name) == 0) {
                q.sort = sorts[i].sort;
                found = true;
            }
        }
        if (!found)
            return failf(e, ERR_INVALID,
                         "sort must be one of createdAt, updatedAt, score, name, email, "
                         "lastInteraction (prefix - for descending)");
    }
    struct contact *rows;
    size_t n;
    int64_t total;
    rc = store_contact_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &n, &total,
                            e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        api_write_contact(&w, &rows[i]);
    return api_list_end(rep, &w, &pg, total);
}

static int contacts_create(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct contact_fields f;
    int rc = read_fields(req, &f, e);
    if (rc)
        return rc;
    if (!(f.set & CF_EMAIL))
        return failf(e, ERR_INVALID, "email is required");
    struct contact c;
    struct store *st = ctx->store;
    const char *ws = req->auth->workspace_id;
    rc = crm_contact_create(st, ws, &f, "api", clock_now_ms(), req->arena, &c, e);
    return rc ? rc : reply_contact(rep, 201, &c);
}

static int contacts_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct contact c;
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = store_contact_get(ctx->store, req->auth->workspace_id, id, req->arena, &c, e);
    return rc ? rc : reply_contact(rep, 200, &c);
}

static int contacts_patch(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct contact_fields f;
    struct contact c;
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = read_fields(req, &f, e);
    if (!rc && f.set == 0)
        rc = failf(e, ERR_INVALID,
                   "nothing to change: give email, name, company, jobTitle, status "
                   "or tags");
    if (rc)
        return rc;
    struct store *st = ctx->store;
    const char *ws = req->auth->workspace_id;
    rc = crm_contact_update(st, ws, id, &f, "api", clock_now_ms(), req->arena, &c, e);
    return rc ? rc : reply_contact(rep, 200, &c);
}

static int contacts_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = store_contact_delete(ctx->store, req->auth->workspace_id, id, e);
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

/* GET /api/contacts/{id}/score-history: the score's changes, newest first,
 * each with its five parts (for the dashboard's chart). */
static int contacts_history(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    char id[STORE_ID_LEN];
    int64_t limit;
    struct contact c;
    struct score_change *rows;
    size_t n;
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = api_query_int(req, "limit", 1, HISTORY_MAX, HISTORY_DEFAULT, &limit, e);
    if (!rc) /* a contact of another workspace is not found, like a missing one */
        rc = store_contact_get(ctx->store, ws, id, req->arena, &c, e);
    if (!rc)
        rc = store_contact_score_history(ctx->store, ws, id, (int)limit, req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_kint(&w, "score", rows[i].score);
        jw_kint(&w, "previous", rows[i].previous);
        jw_key(&w, "scoreBreakdown");
        jw_obj_begin(&w);
        jw_key(&w, "engagement");
        jw_double(&w, round(rows[i].engagement * 100) / 100);
        jw_key(&w, "sentiment");
        jw_double(&w, round(rows[i].sentiment * 100) / 100);
        jw_key(&w, "intent");
        jw_double(&w, round(rows[i].intent * 100) / 100);
        jw_key(&w, "role");
        jw_double(&w, round(rows[i].role * 100) / 100);
        jw_key(&w, "status");
        jw_double(&w, round(rows[i].status * 100) / 100);
        jw_obj_end(&w);
        jw_kstr(&w, "reason", rows[i].reason && *rows[i].reason ? rows[i].reason : NULL);
        api_time(&w, "at", rows[i].at);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, NULL, 0);
}

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

/* GET /api/contacts/{id}/events: opens, clicks, unsubscribes and bounces of
 * what was sent to the contact, newest first, bots flagged (the timeline). */
static int contacts_events(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int64_t limit;
    struct email_event *rows;
    size_t n;
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = api_query_int(req, "limit", 1, HISTORY_MAX, HISTORY_DEFAULT, &limit, e);
    if (!rc)
        rc = store_contact_events(ctx->store, req->auth->workspace_id, id, (int)limit, req->arena,
                                  &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        const struct email_event *v = &rows[i];
        jw_obj_begin(&w);
        jw_kint(&w, "id", v->id);
        jw_kstr(&w, "kind", v->kind);
        jw_kstr(&w, "sentEmailId", or_null(v->sent_email_id));
        jw_kstr(&w, "subject", or_null(v->subject));
        jw_kstr(&w, "url", or_null(v->url));
        jw_kstr(&w, "userAgent", or_null(v->user_agent));
        jw_kbool(&w, "bot", v->is_bot);
        jw_kstr(&w, "botReason", or_null(v->bot_reason));
        api_time(&w, "at", v->at);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, NULL, 0);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

/* Unsubscribe or resubscribe from the API or the contact page. */
static int subscription(struct http_req *req, struct http_reply *rep, bool unsubscribe,
                        struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    char id[STORE_ID_LEN];
    bool changed;
    int rc = api_path_id(req, "contact", id, e);
    if (!rc)
        rc = unsubscribe
                 ? crm_contact_unsubscribe(ctx->store, ws, id, "api", clock_now_ms(), &changed, e)
                 : crm_contact_resubscribe(ctx->store, ws, id, clock_now_ms(), &changed, e);
    struct contact c;
    if (!rc)
        rc = store_contact_get(ctx->store, ws, id, req->arena, &c, e);
    return rc ? rc : reply_contact(rep, 200, &c);
}

static int contacts_unsubscribe(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return subscription(req, rep, true, e);
}

static int contacts_resubscribe(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return subscription(req, rep, false, e);
}

/* POST /api/contacts/import: the body is the CSV file. */
static int contacts_import(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct crm_csv_opts o = {.source = "csv import", .now = clock_now_ms()};
    const char *dup = http_req_query(req, "onDuplicate");
    if (dup && strcmp(dup, "update") != 0 && strcmp(dup, "skip") != 0)
        return failf(e, ERR_INVALID, "onDuplicate must be update or skip");
    o.update = dup && strcmp(dup, "update") == 0;
    struct crm_csv_map *map;
    int rc = crm_csv_map_parse(http_req_query(req, "map"), req->arena, &map, &o.nmap, e);
    if (rc)
        return rc;
    o.map = map;
    if (req->body.len == 0)
        return failf(e, ERR_INVALID, "the body is empty: send the CSV file");
    struct crm_csv_report r;
    rc = crm_csv_import(ctx->store, req->auth->workspace_id, req->body.data, req->body.len, &o,
                        req->arena, &r, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kint(&w, "rows", (int64_t)r.rows);
    jw_kint(&w, "created", (int64_t)r.created);
    jw_kint(&w, "updated", (int64_t)r.updated);
    jw_kint(&w, "skipped", (int64_t)r.skipped);
    jw_kint(&w, "rejected", (int64_t)r.rejected);
    jw_key(&w, "rejects");
    jw_arr_begin(&w);
    for (size_t i = 0; i < r.nrejects; i++) {
        jw_obj_begin(&w);
        jw_kint(&w, "row", (int64_t)r.rejects[i].row);
        jw_kstr(&w, "reason", r.rejects[i].reason);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_kbool(&w, "rejectsTruncated", r.rejected > r.nrejects);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int fd_sink(void *arg, const char *p, size_t n)
{
    int fd = *(int *)arg;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* GET /api/contacts/export: written to an unlinked temporary file, which
 * the server then streams (the whole workspace need not fit in memory). */
static int contacts_export(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char path[] = "/tmp/leadflow-export-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return failf(e, ERR_IO, "cannot create a temporary file for the export");
    unlink(path);
    size_t count;
    int rc = crm_csv_export(ctx->store, req->auth->workspace_id, fd_sink, &fd, &count, e);
    if (rc == ERR_IO)
        failf(e, ERR_IO, "writing the export failed");
    off_t size = rc ? -1 : lseek(fd, 0, SEEK_CUR);
    if (rc || size < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return rc ? rc : failf(e, ERR_IO, "reading the export back failed");
    }
    rep->status = 200;
    rep->content_type = "text/csv; charset=utf-8";
    buf_reset(&rep->body);
    rep->fd = fd;
    rep->fd_size = (uint64_t)size;
    http_reply_header(rep, "Content-Disposition", "attachment; filename=\"contacts.csv\"");
    http_reply_header(rep, "Cache-Control", "no-store");
    return 0;
}

const struct route api_contacts_routes[] = {
    {HTTP_GET, "/api/contacts", WS, contacts_list},
    {HTTP_POST, "/api/contacts", WS | ROUTE_WRITE | ROUTE_JSON, contacts_create},
    {HTTP_POST, "/api/contacts/import", WS | ROUTE_WRITE, contacts_import},
    {HTTP_GET, "/api/contacts/export", WS | ROUTE_NOBODY, contacts_export},
    {HTTP_GET, "/api/contacts/{id}", WS, contacts_get},
    {HTTP_PATCH, "/api/contacts/{id}", WS | ROUTE_WRITE | ROUTE_JSON, contacts_patch},
    {HTTP_DELETE, "/api/contacts/{id}", WS | ROUTE_WRITE, contacts_delete},
    {HTTP_GET, "/api/contacts/{id}/score-history", WS, contacts_history},
    {HTTP_GET, "/api/contacts/{id}/events", WS, contacts_events},
    {HTTP_POST, "/api/contacts/{id}/unsubscribe", WS | ROUTE_WRITE, contacts_unsubscribe},
    {HTTP_POST, "/api/contacts/{id}/resubscribe", WS | ROUTE_WRITE, contacts_resubscribe},
};

const size_t api_contacts_nroutes = sizeof(api_contacts_routes) / sizeof(api_contacts_routes[0]);
