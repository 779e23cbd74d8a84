/*
 * IMAP inbox sources of a workspace (mail/imap.h): add one (server, TLS,
 * login, folders), list them with where each folder's sync stands, delete
 * one, and queue a sync (202 with the job). The password is write-only:
 * replies say only that one is set. Admins only, as the login is a
 * mailbox's keys.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/str.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "mail/imap.h"
#include "net/imapc.h"
#include "store/auth.h"
#include "store/imap.h"

static int need_admin(const struct http_req *req, struct errinfo *e)
{
    if (req->auth->role < ROLE_ADMIN)
        return failf(e, ERR_FORBIDDEN, "IMAP sources are managed by workspace admins");
    return 0;
}

static void write_folders(struct jw *w, const struct imap_source *s)
{
    json_t *names = json_loads(s->folders, 0, NULL);
    json_t *state = json_loads(s->folder_state ? s->folder_state : "{}", 0, NULL);
    jw_key(w, "folders");
    jw_arr_begin(w);
    size_t i;
    json_t *f;
    json_array_foreach(names, i, f)
    {
        const char *name = json_string_value(f);
        if (!name)
            continue;
        json_t *st = json_object_get(state, name);
        jw_obj_begin(w);
        jw_kstr(w, "name", name);
        jw_key(w, "uidValidity");
        if (st)
            jw_int(w, json_integer_value(json_object_get(st, "uidValidity")));
        else
            jw_null(w);
        jw_kint(w, "lastUid", st ? json_integer_value(json_object_get(st, "lastUid")) : 0);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    json_decref(names);
    json_decref(state);
}

static void write_source(struct jw *w, const struct imap_source *s)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", s->id);
    jw_kstr(w, "workspaceId", s->workspace_id);
    jw_kstr(w, "host", s->host);
    jw_kint(w, "port", s->port);
    jw_kstr(w, "tls", s->tls);
    jw_kstr(w, "username", s->username);
    jw_kbool(w, "passwordSet", s->password_enc != NULL);
    write_folders(w, s);
    jw_kstr(w, "status", s->status);
    jw_kstr(w, "lastError", s->last_error[0] ? s->last_error : NULL);
    api_time(w, "lastSyncAt", s->last_sync_at);
    char job[24];
    snprintf(job, sizeof(job), "%lld", (long long)s->last_job_id);
    jw_kstr(w, "lastJobId", s->last_job_id ? job : NULL);
    api_time(w, "createdAt", s->created_at);
    api_time(w, "updatedAt", s->updated_at);
    jw_obj_end(w);
}

/* A string member: required or not, 1..max bytes, no control characters. */
static int text_field(json_t *b, const char *key, bool required, size_t max, const char **out,
                      struct errinfo *e)
{
    json_t *v = json_object_get(b, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? failf(e, ERR_INVALID, "%s is required", key) : 0;
    const char *s = json_string_value(v);
    if (!s)
        return failf(e, ERR_INVALID, "%s must be a string", key);
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(s) != n)
        return failf(e, ERR_INVALID, "%s must be 1 to %zu bytes", key, max);
    if (str_has_control(s, true))
        return failf(e, ERR_INVALID, "%s must not contain control characters", key);
    *out = s;
    return 0;
}

static bool is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    if (strncmp(host, "127.", 4) != 0)
        return false;
    return strspn(host, "0123456789.") == strlen(host);
}

/* host: a name or an address, no scheme, port or path. */
static int parse_host(json_t *b, struct imap_source *s, struct errinfo *e)
{
    const char *host;
    int rc = text_field(b, "host", true, IMAP_HOST_MAX - 1, &host, e);
    if (rc)
        return rc;
    for (const char *p = host; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '_'))
            return failf(e, ERR_INVALID,
                         "host must be a host name or an IP address (no scheme, port or path)");
    snprintf(s->host, sizeof(s->host), "%s", host);
    return 0;
}

static int parse_tls_port(json_t *b, struct imap_source *s, struct errinfo *e)
{
    const char *tls;
    int rc = text_field(b, "tls", false, 16, &tls, e);
    if (rc)
        return rc;
    if (!tls)
        tls = "tls";
    if (strcmp(tls, "tls") != 0 && strcmp(tls, "starttls") != 0 && strcmp(tls, "none") != 0)
        return failf(e, ERR_INVALID, "tls must be one of tls, starttls, none");
    if (strcmp(tls, "none") == 0 && !is_loopback(s->host))
        return failf(e, ERR_INVALID,
                     "tls none (the password in clear) is allowed only on loopback hosts");
    snprintf(s->tls, sizeof(s->tls), "%s", tls);
    json_t *v = json_object_get(b, "port");
    s->port = strcmp(tls, "tls") == 0 ? 993 : 143;
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
            return failf(e, ERR_INVALID, "port must be a whole number from 1 to 65535");
        s->port = (int)json_integer_value(v);
    }
    return 0;
}

/* folders: 1 to IMAP_FOLDERS_MAX distinct names (default ["INBOX"]). */
static int parse_folders(json_t *b, struct arena *a, struct imap_source *s, struct errinfo *e)
{
    json_t *v = json_object_get(b, "folders");
    if (!v || json_is_null(v)) {
        s->folders = "[\"INBOX\"]";
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > IMAP_FOLDERS_MAX)
        return failf(e, ERR_INVALID, "folders must be an array of 1 to %d folder names",
                     IMAP_FOLDERS_MAX);
    size_t i, k;
    json_t *f, *g;
    json_array_foreach(v, i, f)
    {
        const char *name = json_string_value(f);
        size_t n = name ? strlen(name) : 0;
        if (!name || n == 0 || n > IMAPC_FOLDER_MAX || n != json_string_length(f))
            return failf(e, ERR_INVALID, "folders[%zu] must be a name of 1 to %d bytes", i,
                         IMAPC_FOLDER_MAX);
        for (const char *p = name; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || strchr("\"\\*%", *p))
                return failf(e, ERR_INVALID,
                             "folders[%zu] must be printable ASCII without \", \\, * or %%", i);
        json_array_foreach(v, k, g) if (k < i && strcmp(json_string_value(g), name) ==
                                                     0) return failf(e, ERR_INVALID,
                                                                     "folders[%zu] repeats %s", i,
                                                                     name);
    }
    char *text = json_dumps(v, JSON_COMPACT);
    s->folders = arena_strdup(a, text ? text : "[\"INBOX\"]");
    free(text);
    return 0;
}

static int sources_create(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int rc = need_admin(req, e);
    if (rc)
        return rc;
    struct imap_source s;
    memset(&s, 0, sizeof(s));
    snprintf(s.workspace_id, sizeof(s.workspace_id), "%s", req->auth->workspace_id);
    const char *user, *password;
    rc = parse_host(req->json, &s, e);
    if (!rc)
        rc = parse_tls_port(req->json, &s, e);
    if (!rc)
        rc = text_field(req->json, "username", true, IMAP_USER_MAX - 1, &user, e);
    if (!rc)
        rc = text_field(req->json, "password", true, IMAP_PASSWORD_MAX, &password, e);
    if (!rc)
        rc = parse_folders(req->json, req->arena, &s, e);
    if (rc)
        return rc;
    snprintf(s.username, sizeof(s.username), "%s", user);
    struct imap_env env = {.store = ctx->store, .secret_key = ctx->cfg->secret_key};
    rc = imap_seal_password(&env, &s, password, req->arena, e);
    if (!rc)
        rc = store_imap_create(ctx->store, s.workspace_id, &s, clock_now_ms(), e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 201, &w);
    write_source(&w, &s);
    return reply_ok_end(rep, &w);
}

static int sources_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int rc = need_admin(req, e);
    struct imap_source *rows = NULL;
    size_t n = 0;
    if (!rc)
        rc = store_imap_list(ctx->store, req->auth->workspace_id, req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_source(&w, &rows[i]);
    return api_list_end(rep, &w, NULL, 0);
}

static int sources_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct imap_source s;
    int rc = need_admin(req, e);
    if (!rc)
        rc = api_path_id(req, "IMAP source", id, e);
    if (!rc)
        rc = store_imap_get(ctx->store, req->auth->workspace_id, id, req->arena, &s, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_source(&w, &s);
    return reply_ok_end(rep, &w);
}

static int sources_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = need_admin(req, e);
    if (!rc)
        rc = api_path_id(req, "IMAP source", id, e);
    if (!rc)
        rc = store_imap_delete(ctx->store, req->auth->workspace_id, id, e);
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

static int sources_sync(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    char id[STORE_ID_LEN];
    struct imap_source s;
    int rc = need_admin(req, e);
    if (!rc)
        rc = api_path_id(req, "IMAP source", id, e);
    if (!rc)
        rc = store_imap_get(ctx->store, ws, id, req->arena, &s, e);
    int64_t job = 0;
    if (!rc)
        rc = imap_enqueue(ctx->store, ws, id, &job, e);
    if (rc)
        return rc;
    if (ctx->queue)
        queue_kick(ctx->queue);
    char job_id[24];
    snprintf(job_id, sizeof(job_id), "%lld", (long long)job);
    struct jw w;
    reply_ok_begin(rep, 202, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "sourceId", id);
    jw_kstr(&w, "jobId", job_id);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE, WR = WS | ROUTE_WRITE };

const struct route api_imap_routes[] = {
    {HTTP_GET, "/api/integrations/imap", WS, sources_list},
    {HTTP_POST, "/api/integrations/imap", WR | ROUTE_JSON, sources_create},
    {HTTP_GET, "/api/integrations/imap/{id}", WS, sources_get},
    {HTTP_DELETE, "/api/integrations/imap/{id}", WR, sources_delete},
    {HTTP_POST, "/api/integrations/imap/{id}/sync", WR, sources_sync},
};

const size_t api_imap_nroutes = sizeof(api_imap_routes) / sizeof(api_imap_routes[0]);
