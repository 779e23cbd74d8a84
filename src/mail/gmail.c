/*
 * The Gmail API client and the connect and sync steps. Replies are the
 * API's documented JSON: absent arrays ("messages", "history") mean none.
 */
#include "mail/gmail.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "jobs/progress.h"
#include "jobs/queue.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "net/httpc.h"
#include "store/integrations.h"
#include "store/jobs.h"

enum {
    TOKEN_MAX = 4096, /* an OAuth token as text */
    SEALED_MAX = TOKEN_MAX + CRYPTO_SEAL_OVERHEAD,
    REFRESH_MARGIN_MS = 60 * 1000, /* refresh a token this close to expiry */
    LIST_PAGE = 500,               /* the API's largest page */
    HISTORY_MAX_IDS = 20000,       /* more new messages than this: sync in full */
    API_TIMEOUT_MS = 30 * 1000,
    RAW_TIMEOUT_MS = 120 * 1000,
    BUSY_SLOTS = 32, /* mailboxes syncing at once in this process */
};

/* A reply to messages.get carries the message base64url-encoded. */
#define RAW_REPLY_MAX ((size_t)INBOX_MAX_MESSAGE / 3 * 4 + 65536)

struct gmail {
    char *api_url, *token_url, *client_id, *client_secret;
    char *access, *refresh;
    int64_t expires_at;
    bool changed;
    bool auth_basic;
};

struct gmail *gmail_new(const struct gmail_client_opts *o, const char *access_token,
                        const char *refresh_token, int64_t expires_at)
{
    struct gmail *g = XNEW(struct gmail);
    const char *api = o->api_url && *o->api_url ? o->api_url : GMAIL_API_URL_DEFAULT;
    size_t n = strlen(api);
    while (n > 0 && api[n - 1] == '/')
        n--;
    g->api_url = xstrndup(api, n);
    g->token_url = o->token_url ? xstrdup(o->token_url) : NULL;
    g->client_id = o->client_id ? xstrdup(o->client_id) : NULL;
    g->client_secret = o->client_secret ? xstrdup(o->client_secret) : NULL;
    g->auth_basic = o->auth_basic;
    g->access = xstrdup(access_token ? access_token : "");
    g->refresh = refresh_token && *refresh_token ? xstrdup(refresh_token) : NULL;
    g->expires_at = expires_at;
    return g;
}

void gmail_free(struct gmail *g)
{
    if (!g)
        return;
    free(g->api_url);
    free(g->token_url);
    free(g->client_id);
    free(g->client_secret);
    if (g->access)
        crypto_wipe(g->access, strlen(g->access));
    if (g->refresh)
        crypto_wipe(g->refresh, strlen(g->refresh));
    free(g->access);
    free(g->refresh);
    free(g);
}

bool gmail_tokens_changed(const struct gmail *g)
{
    return g->changed;
}

const char *gmail_access_token(const struct gmail *g)
{
    return g->access;
}

const char *gmail_refresh_token(const struct gmail *g)
{
    return g->refresh;
}

int64_t gmail_expires_at(const struct gmail *g)
{
    return g->expires_at;
}

static int form_param(struct buf *b, const char *name, const char *value)
{
    int rc = b->len ? buf_putc(b, '&') : 0;
    rc |= buf_puts(b, name);
    rc |= buf_putc(b, '=');
    rc |= httpc_form_escape(b, value);
    return rc;
}

static json_t *parse_object(const struct httpc_resp *r)
{
    json_error_t jerr;
    json_t *doc = json_loadb(buf_str(&r->body), r->body.len, 0, &jerr);
    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

int gmail_refresh(struct gmail *g, struct errinfo *e)
{
    if (!g->refresh)
        return failf(e, ERR_UNAUTHORIZED, "no refresh token is stored for this mailbox");
    if (!g->token_url || !g->client_id)
        return failf(e, ERR_UNAUTHORIZED,
                     "no sign-in provider is configured to refresh the Gmail access token");
    struct buf body;
    buf_init(&body, 3 * TOKEN_MAX);
    int rc = form_param(&body, "grant_type", "refresh_token");
    rc |= form_param(&body, "refresh_token", g->refresh);
    /* The client authenticates the way the provider's discovery asked
     * (RFC 6749 §2.3.1), as at the code exchange. */
    struct buf authz;
    buf_init(&authz, 4096);
    if (g->client_secret && g->auth_basic) {
        rc |= httpc_basic_auth(&authz, g->client_id, g->client_secret);
    } else {
        rc |= form_param(&body, "client_id", g->client_id);
        if (g->client_secret)
            rc |= form_param(&body, "client_secret", g->client_secret);
    }
    if (rc) {
        buf_release(&authz);
        buf_release(&body);
        return failf(e, ERR_UNAUTHORIZED, "the stored refresh token is too long");
    }
    struct httpc_req rq = {
        .method = "POST",
        .url = g->token_url,
        .headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                    authz.len ? buf_str(&authz) : NULL},
        .body = buf_str(&body),
        .body_len = body.len,
        .timeout_ms = API_TIMEOUT_MS,
    };
    struct httpc_resp resp;
    rc = httpc_do(&rq, &resp, e);
    crypto_wipe(body.data, body.len);
    buf_release(&body);
    if (authz.data)
        crypto_wipe(authz.data, authz.len);
    buf_release(&authz);
    if (rc) {
        char why[ERRINFO_MSG_MAX];
        snprintf(why, sizeof(why), "%s", e->msg);
        httpc_resp_release(&resp);
        return failf(e, ERR_TEMPORARY, "the token endpoint cannot be reached: %.200s", why);
    }
    json_t *doc = parse_object(&resp);
    const char *err = json_string_value(json_object_get(doc, "error"));
    const char *access = json_string_value(json_object_get(doc, "access_token"));
    if (resp.status == 429 || resp.status >= 500)
        rc = failf(e, ERR_TEMPORARY, "the token endpoint answered %ld", resp.status);
    else if (resp.status != 200 && err && strcmp(err, "invalid_grant") == 0)
        rc = failf(e, ERR_UNAUTHORIZED,
                   "Google refused the stored grant (invalid_grant): access to the mailbox was "
                   "revoked or has expired");
    else if (resp.status != 200)
        rc = failf(e, ERR_UNAUTHORIZED, "the token endpoint refused the refresh (%ld %.60s)",
                   resp.status, err ? err : "no reason given");
    else if (!access || !*access || strlen(access) >= TOKEN_MAX)
        rc = failf(e, ERR_TEMPORARY, "the token endpoint sent no usable access token");
    if (!rc) {
        crypto_wipe(g->access, strlen(g->access));
        free(g->access);
        g->access = xstrdup(access);
        json_t *exp = json_object_get(doc, "expires_in");
        int64_t secs = json_is_integer(exp) ? json_integer_value(exp) : 3600;
        g->expires_at = clock_now_ms() + (secs > 0 ? secs : 3600) * 1000;
        /* A provider may rotate the refresh token; keep the newest. */
        const char *rt = json_string_value(json_object_get(doc, "refresh_token"));
        if (rt && *rt && strlen(rt) < TOKEN_MAX) {
            crypto_wipe(g->refresh, strlen(g->refresh));
            free(g->refresh);
            g->refresh = xstrdup(rt);
        }
        g->changed = true;
    }
    json_decref(doc);
    if (resp.body.data)
        crypto_wipe(resp.body.data, resp.body.len);
    httpc_resp_release(&resp);
    return rc;
}

/* The API's reason for a refusal ("rateLimitExceeded"), or "". */
static const char *error_reason(json_t *doc)
{
    json_t *errs = json_object_get(json_object_get(doc, "error"), "errors");
    const char *r = json_string_value(json_object_get(json_array_get(errs, 0), "reason"));
    return r ? r : "";
}

static const char *error_message(json_t *doc)
{
    const char *m = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    return m ? m : "no reason given";
}

/* Maps a reply's status (and Google's error JSON d, may be NULL) to 0 or an
 * ERR_* code with the reason. */
static int reply_status(long status, json_t *d, struct errinfo *e)
{
    const char *reason = error_reason(d);
    if (status == 200 && d)
        return 0;
    if (status == 200)
        return failf(e, ERR_TEMPORARY, "Gmail sent a reply that is not a JSON object");
    if (status == 401)
        return failf(e, ERR_UNAUTHORIZED, "Gmail refused the access token: %.120s",
                     error_message(d));
    /* Google reports some rate limits as 403. */
    if (status == 429 || (status == 403 && (strcmp(reason, "rateLimitExceeded") == 0 ||
                                            strcmp(reason, "userRateLimitExceeded") == 0)))
        return failf(e, ERR_TEMPORARY, "Gmail is limiting the request rate; try again later");
    if (status == 403)
        return failf(e, ERR_FORBIDDEN, "Gmail refused access: %.120s", error_message(d));
    if (status == 404)
        return failf(e, ERR_NOT_FOUND, "Gmail has no such item: %.120s", error_message(d));
    return failf(e, ERR_TEMPORARY, "Gmail answered %ld: %.120s", status, error_message(d));
}

/*
 * GETs path (under /gmail/v1/users/me/) and parses the JSON object reply
 * into *doc (the caller decrefs). A 401 gets one refresh and one retry.
 */
static int api_get(struct gmail *g, const char *path, size_t max_reply, long timeout_ms,
                   json_t **doc, struct errinfo *e)
{
    *doc = NULL;
    struct buf url, authz;
    buf_init(&url, 8192);
    buf_init(&authz, TOKEN_MAX + 64);
    if (buf_printf(&url, "%s/gmail/v1/users/me/%s", g->api_url, path)) {
        buf_release(&url);
        buf_release(&authz);
        return failf(e, ERR_INTERNAL, "a Gmail API URL is too long");
    }
    int rc = 0;
    struct httpc_resp resp;
    memset(&resp, 0, sizeof(resp));
    for (int attempt = 0;; attempt++) {
        buf_reset(&authz);
        buf_printf(&authz, "Authorization: Bearer %s", g->access);
        struct httpc_req rq = {
            .url = buf_str(&url),
            .headers = {buf_str(&authz), "Accept: application/json"},
            .timeout_ms = timeout_ms,
            .max_reply = max_reply,
        };
        rc = httpc_do(&rq, &resp, e);
        if (rc || resp.status != 401 || attempt > 0 || !g->refresh)
            break;
        httpc_resp_release(&resp);
        rc = gmail_refresh(g, e);
        if (rc) {
            memset(&resp, 0, sizeof(resp));
            break;
        }
    }
    crypto_wipe(authz.data, authz.len);
    buf_release(&authz);
    if (rc == ERR_TOO_BIG) {
        rc = failf(e, ERR_TOO_BIG, "a Gmail reply is over the size limit");
    } else if (rc && rc != ERR_UNAUTHORIZED && rc != ERR_TEMPORARY) {
        char why[ERRINFO_MSG_MAX];
        snprintf(why, sizeof(why), "%s", e->msg);
        rc = failf(e, ERR_TEMPORARY, "Gmail cannot be reached: %.200s", why);
    }
    if (!rc) {
        json_t *d = parse_object(&resp);
        rc = reply_status(resp.status, d, e);
        if (!rc)
            *doc = json_incref(d);
        json_decref(d);
    }
    httpc_resp_release(&resp);
    buf_release(&url);
    return rc;
}

/* Appends "&name=value" (escaped) to a path under construction. */
static void path_param(struct buf *b, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    buf_putc(b, strchr(buf_str(b), '?') ? '&' : '?');
    buf_puts(b, name);
    buf_putc(b, '=');
    httpc_form_escape(b, value);
}

/* A string field that is a plausible Gmail id (no control or odd characters). */
static const char *id_field(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || !*v || strlen(v) >= GMAIL_ID_MAX)
        return NULL;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return NULL;
    return v;
}

int gmail_profile(struct gmail *g, char email[STORE_EMAIL_MAX], char history_id[GMAIL_ID_MAX],
                  struct errinfo *e)
{
    json_t *doc;
    int rc = api_get(g, "profile", 0, API_TIMEOUT_MS, &doc, e);
    if (rc)
        return rc;
    const char *addr = json_string_value(json_object_get(doc, "emailAddress"));
    const char *hid = id_field(doc, "historyId");
    if (!addr || !str_is_email(addr) || strlen(addr) >= STORE_EMAIL_MAX || !hid) {
        rc = failf(e, ERR_TEMPORARY, "Gmail's profile lacks emailAddress or historyId");
    } else {
        size_t i = 0;
        for (; addr[i]; i++)
            email[i] = (char)tolower((unsigned char)addr[i]);
        email[i] = '\0';
        snprintf(history_id, GMAIL_ID_MAX, "%s", hid);
    }
    json_decref(doc);
    return rc;
}

static void next_page_token(json_t *doc, struct arena *a, const char **next)
{
    const char *t = json_string_value(json_object_get(doc, "nextPageToken"));
    *next = t && *t && strlen(t) < 1024 ? arena_strdup(a, t) : NULL;
}

int gmail_list(struct gmail *g, const struct gmail_list_query *q, struct arena *a, char ***ids,
               size_t *n, const char **next_page, struct errinfo *e)
{
    *ids = NULL;
    *n = 0;
    *next_page = NULL;
    char max[16];
    int m = q->max_results < 1 ? 1 : q->max_results > LIST_PAGE ? LIST_PAGE : q->max_results;
    snprintf(max, sizeof(max), "%d", m);
    struct buf path;
    buf_init(&path, 4096);
    buf_puts(&path, "messages");
    path_param(&path, "maxResults", max);
    path_param(&path, "q", q->q);
    path_param(&path, "labelIds", q->label_ids);
    path_param(&path, "pageToken", q->page_token);
    json_t *doc;
    int rc = api_get(g, buf_str(&path), 0, API_TIMEOUT_MS, &doc, e);
    buf_release(&path);
    if (rc)
        return rc;
    json_t *msgs = json_object_get(doc, "messages"); /* absent when there are none */
    size_t count = json_array_size(msgs);
    *ids = arena_alloc(a, (count ? count : 1) * sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        const char *id = id_field(json_array_get(msgs, i), "id");
        if (id)
            (*ids)[(*n)++] = arena_strdup(a, id);
    }
    next_page_token(doc, a, next_page);
    json_decref(doc);
    return 0;
}

/* True when a message's labels make it something not to import. */
static bool unwanted_labels(json_t *labels)
{
    size_t i;
    json_t *l;
    json_array_foreach(labels, i, l)
    {
        const char *s = json_string_value(l);
        if (s && (strcmp(s, "DRAFT") == 0 || strcmp(s, "SPAM") == 0 || strcmp(s, "TRASH") == 0))
            return true;
    }
    return false;
}

int gmail_history(struct gmail *g, const char *start_history_id, const char *page_token,
                  struct arena *a, char ***ids, size_t *n, const char **next_page,
                  char history_id[GMAIL_ID_MAX], struct errinfo *e)
{
    *ids = NULL;
    *n = 0;
    *next_page = NULL;
    struct buf path;
    buf_init(&path, 4096);
    buf_puts(&path, "history");
    path_param(&path, "startHistoryId", start_history_id);
    path_param(&path, "historyTypes", "messageAdded");
    path_param(&path, "maxResults", "500");
    path_param(&path, "pageToken", page_token);
    json_t *doc;
    int rc = api_get(g, buf_str(&path), 0, API_TIMEOUT_MS, &doc, e);
    buf_release(&path);
    if (rc)
        return rc;
    const char *hid = id_field(doc, "historyId");
    if (!hid) {
        json_decref(doc);
        return failf(e, ERR_TEMPORARY, "Gmail's history reply lacks historyId");
    }
    snprintf(history_id, GMAIL_ID_MAX, "%s", hid);
    json_t *records = json_object_get(doc, "history"); /* absent when nothing changed */
    size_t total = 0, i, j;
    json_t *rec, *added;
    json_array_foreach(records, i, rec) total +=
        json_array_size(json_object_get(rec, "messagesAdded"));
    *ids = arena_alloc(a, (total ? total : 1) * sizeof(char *));
    json_array_foreach(records, i, rec)
    {
        json_array_foreach(json_object_get(rec, "messagesAdded"), j, added)
        {
            json_t *msg = json_object_get(added, "message");
            const char *id = id_field(msg, "id");
            if (id && !unwanted_labels(json_object_get(msg, "labelIds")))
                (*ids)[(*n)++] = arena_strdup(a, id);
        }
    }
    next_page_token(doc, a, next_page);
    json_decref(doc);
    return 0;
}

int gmail_get_raw(struct gmail *g, const char *id, struct buf *raw, bool *skip, struct errinfo *e)
{
    *skip = false;
    buf_reset(raw);
    struct buf path;
    buf_init(&path, 512);
    buf_puts(&path, "messages/");
    httpc_form_escape(&path, id);
    buf_puts(&path, "?format=raw");
    json_t *doc;
    int rc = api_get(g, buf_str(&path), RAW_REPLY_MAX, RAW_TIMEOUT_MS, &doc, e);
    buf_release(&path);
    if (rc)
        return rc;
    *skip = unwanted_labels(json_object_get(doc, "labelIds"));
    json_t *r = json_object_get(doc, "raw");
    const char *text = json_string_value(r);
    if (!*skip && !text) {
        rc = failf(e, ERR_INVALID, "Gmail's message %s has no raw field", id);
    } else if (!*skip) {
        size_t len = json_string_length(r), cap = len / 4 * 3 + 3, got = 0;
        if (cap > INBOX_MAX_MESSAGE + 3) {
            rc = failf(e, ERR_TOO_BIG, "message %s is larger than %d bytes", id, INBOX_MAX_MESSAGE);
        } else {
            uint8_t *bytes = xmalloc(cap);
            rc = crypto_b64url_decode(text, len, bytes, cap, &got);
            if (rc)
                rc = failf(e, ERR_INVALID, "Gmail's message %s is not valid base64url", id);
            else if (buf_append(raw, bytes, got))
                rc = failf(e, ERR_TOO_BIG, "message %s is larger than %zu bytes", id, raw->max);
            free(bytes);
        }
    }
    json_decref(doc);
    return rc;
}

/* ---- connect and sync ---- */

/* The associated data a mailbox's tokens are sealed with: opening them for
 * another workspace, provider or account fails. */
static void token_ad(const struct integration *in, char *out, size_t n)
{
    snprintf(out, n, "leadflow-token\n%s\n%s\n%s", in->workspace_id, in->provider,
             in->account_email);
}

static int seal(const struct gmail_env *env, const struct integration *in, const char *token,
                struct arena *a, const uint8_t **out, size_t *outlen, struct errinfo *e)
{
    char ad[512];
    token_ad(in, ad, sizeof(ad));
    size_t n = strlen(token);
    if (n >= TOKEN_MAX)
        return failf(e, ERR_INVALID, "the provider sent a token longer than %d bytes", TOKEN_MAX);
    uint8_t *buf = arena_alloc(a, n + CRYPTO_SEAL_OVERHEAD);
    if (crypto_seal(env->secret_key, token, n, ad, strlen(ad), buf, n + CRYPTO_SEAL_OVERHEAD,
                    outlen))
        return failf(e, ERR_INTERNAL, "no secret key to seal the mailbox tokens with");
    *out = buf;
    return 0;
}

/* Opens a sealed token into arena memory (NULL when none is stored). */
static int unseal(const struct gmail_env *env, const struct integration *in, const uint8_t *sealed,
                  size_t n, struct arena *a, char **out, struct errinfo *e)
{
    *out = NULL;
    if (!sealed)
        return 0;
    char ad[512];
    token_ad(in, ad, sizeof(ad));
    if (n < CRYPTO_SEAL_OVERHEAD || n > SEALED_MAX)
        return failf(e, ERR_INVALID, "a stored token is damaged");
    char *p = arena_alloc(a, n - CRYPTO_SEAL_OVERHEAD + 1);
    size_t len = 0;
    if (crypto_open(env->secret_key, sealed, n, ad, strlen(ad), (uint8_t *)p,
                    n - CRYPTO_SEAL_OVERHEAD + 1, &len))
        return failf(e, ERR_INVALID, "a stored token cannot be opened");
    p[len] = '\0';
    *out = p;
    return 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int gmail_connect(const struct gmail_env *env, const char *workspace_id, const char *user_id,
                  const char *access_token, const char *refresh_token, int64_t expires_in,
                  struct arena *a, struct integration *out, struct errinfo *e)
{
    if (!access_token || !*access_token)
        return failf(e, ERR_INVALID, "the provider granted no access token");
    if (!refresh_token || !*refresh_token)
        return failf(e, ERR_INVALID,
                     "the provider granted no offline access (no refresh token); connect again "
                     "and allow access");
    int64_t now = clock_now_ms();
    int64_t expires_at = now + (expires_in > 0 ? expires_in : 3600) * 1000;
    struct gmail *g = gmail_new(&env->client, access_token, refresh_token, expires_at);
    char email[STORE_EMAIL_MAX], hid[GMAIL_ID_MAX];
    int rc = gmail_profile(g, email, hid, e);
    gmail_free(g);
    if (rc == ERR_UNAUTHORIZED || rc == ERR_FORBIDDEN) {
        char why[ERRINFO_MSG_MAX];
        snprintf(why, sizeof(why), "%s", e->msg);
        return failf(e, ERR_INVALID, "Gmail refused the new access: %.200s", why);
    }
    if (rc)
        return rc;

    struct integration *rows;
    size_t n;
    rc = store_integration_list(env->store, workspace_id, "gmail", a, &rows, &n, e);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    /* Connecting the same mailbox again keeps its sync point. */
    for (size_t i = 0; i < n; i++) {
        char have[STORE_EMAIL_MAX];
        snprintf(have, sizeof(have), "%s", rows[i].account_email);
        lower(have);
        if (strcmp(have, email) == 0) {
            snprintf(out->history_id, sizeof(out->history_id), "%s", rows[i].history_id);
            out->last_sync_at = rows[i].last_sync_at;
            snprintf(email, sizeof(email), "%s", rows[i].account_email);
        }
    }
    snprintf(out->workspace_id, sizeof(out->workspace_id), "%s", workspace_id);
    snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
    snprintf(out->provider, sizeof(out->provider), "gmail");
    snprintf(out->account_email, sizeof(out->account_email), "%s", email);
    snprintf(out->status, sizeof(out->status), "connected");
    out->token_expires_at = expires_at;
    rc = seal(env, out, access_token, a, &out->access_enc, &out->access_enc_len, e);
    if (!rc)
        rc = seal(env, out, refresh_token, a, &out->refresh_enc, &out->refresh_enc_len, e);
    if (!rc)
        rc = store_integration_put(env->store, workspace_id, out, now, e);
    return rc;
}

/* Mailboxes being synced in this process: one sync per mailbox at a time. */
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static char busy[BUSY_SLOTS][STORE_ID_LEN];

static int busy_claim(const char *id, struct errinfo *e)
{
    int rc = ERR_TEMPORARY, free_slot = -1;
    pthread_mutex_lock(&busy_mu);
    for (int i = 0; i < BUSY_SLOTS; i++) {
        if (strcmp(busy[i], id) == 0) {
            free_slot = -2;
            break;
        }
        if (!busy[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        snprintf(busy[free_slot], STORE_ID_LEN, "%s", id);
        rc = 0;
    }
    pthread_mutex_unlock(&busy_mu);
    if (free_slot == -2)
        return failf(e, ERR_TEMPORARY, "a sync of this mailbox is already running");
    return rc ? failf(e, rc, "too many mailboxes are syncing; try again later") : 0;
}

static void busy_release(const char *id)
{
    pthread_mutex_lock(&busy_mu);
    for (int i = 0; i < BUSY_SLOTS; i++)
        if (strcmp(busy[i], id) == 0)
            busy[i][0] = '\0';
    pthread_mutex_unlock(&busy_mu);
}

/* Appends k ids of a page to the arena array *all (n used, cap room). */
static void ids_append(struct arena *a, char ***all, size_t *n, size_t *cap, char **ids, size_t k)
{
    if (*n + k > *cap) {
        size_t ncap = *cap ? *cap : 64;
        while (ncap < *n + k)
            ncap *= 2;
        char **p = arena_alloc(a, ncap * sizeof(char *));
        if (*n)
            memcpy(p, *all, *n * sizeof(char *));
        *all = p;
        *cap = ncap;
    }
    for (size_t i = 0; i < k; i++)
        (*all)[(*n)++] = ids[i];
}

/* The ids of the newest max messages, newest first. */
static int collect_full(struct gmail *g, int max, struct arena *a, char ***ids, size_t *n,
                        struct errinfo *e)
{
    size_t cap = 0;
    const char *page = NULL;
    *ids = NULL;
    *n = 0;
    do {
        struct gmail_list_query q = {.max_results = (int)((size_t)max - *n), .page_token = page};
        char **got;
        size_t k;
        int rc = gmail_list(g, &q, a, &got, &k, &page, e);
        if (rc)
            return rc;
        if (k > (size_t)max - *n)
            k = (size_t)max - *n;
        ids_append(a, ids, n, &cap, got, k);
    } while (page && *n < (size_t)max);
    return 0;
}

struct id_at {
    const char *id;
    size_t at;
};

static int id_at_cmp(const void *x, const void *y)
{
    const struct id_at *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

/* Removes later repeats of an id (history may list a message more than
 * once), keeping the order of first appearance. */
static void drop_repeats(struct arena *a, char **ids, size_t *n)
{
    if (*n < 2)
        return;
    struct id_at *s = arena_alloc(a, *n * sizeof(*s));
    for (size_t i = 0; i < *n; i++)
        s[i] = (struct id_at){ids[i], i};
    qsort(s, *n, sizeof(*s), id_at_cmp);
    for (size_t i = 1; i < *n; i++)
        if (strcmp(s[i].id, s[i - 1].id) == 0)
            ids[s[i].at] = NULL;
    size_t w = 0;
    for (size_t i = 0; i < *n; i++)
        if (ids[i])
            ids[w++] = ids[i];
    *n = w;
}

/* The ids of messages added since start, oldest first, each once. */
static int collect_history(struct gmail *g, const char *start, struct arena *a, char ***ids,
                           size_t *n, char history_id[GMAIL_ID_MAX], struct errinfo *e)
{
    size_t cap = 0;
    const char *page = NULL;
    *ids = NULL;
    *n = 0;
    do {
        char **got;
        size_t k;
        int rc = gmail_history(g, start, page, a, &got, &k, &page, history_id, e);
        if (rc)
            return rc;
        ids_append(a, ids, n, &cap, got, k);
        if (*n > HISTORY_MAX_IDS)
            return failf(e, ERR_TOO_BIG, "more than %d messages arrived since the last sync",
                         HISTORY_MAX_IDS);
    } while (page);
    drop_repeats(a, *ids, n);
    return 0;
}

/* One import's counts besides the pipeline's. */
struct import_ctx {
    const struct gmail_env *env;
    const char *integration_id;
    struct gmail_sync_result *out; /* listed, fetched, full */
    uint64_t fetch_rejected;
};

static void on_reject(void *arg, const char *origin, const struct errinfo *why)
{
    const struct import_ctx *ic = arg;
    log_info("gmail.message_rejected", "mailbox %s: %s rejected: %s", ic->integration_id, origin,
             why->msg);
}

static void progress_of(const struct import_ctx *ic, const struct ingest_stats *st,
                        struct gmail_progress *p)
{
    memset(p, 0, sizeof(*p));
    p->listed = ic->out->listed;
    p->fetched = ic->out->fetched;
    p->full = ic->out->full;
    if (st) {
        p->imported = st->imported;
        p->duplicates = st->duplicates;
        p->rejected = st->rejected;
    }
    p->rejected += ic->fetch_rejected;
}

static int in_batch(void *arg, const struct ingest_stats *st, struct errinfo *e)
{
    const struct import_ctx *ic = arg;
    struct gmail_progress p;
    progress_of(ic, st, &p);
    return ic->env->progress(ic->env->progress_arg, &p, e);
}

/* Fetches each message (ids[0] first) and feeds it to the pipeline. */
static int import_ids(const struct gmail_env *env, struct ai *ai, struct gmail *g,
                      const struct integration *in, char **ids, size_t n,
                      struct gmail_sync_result *out, struct errinfo *e)
{
    const char *own[] = {in->account_email};
    struct import_ctx ic = {.env = env, .integration_id = in->id, .out = out};
    struct ingest_opts o = {
        .workspace_id = in->workspace_id,
        .source = "gmail",
        .own_addresses = own,
        .nown = 1,
        .on_reject = on_reject,
        .in_batch = env->progress ? in_batch : NULL,
        .arg = &ic,
        .batch_max = GMAIL_BATCH,
        .batch_ms = GMAIL_BATCH_MS,
    };
    out->listed = n;
    if (env->progress) {
        struct gmail_progress p;
        progress_of(&ic, NULL, &p);
        int prc = env->progress(env->progress_arg, &p, e);
        if (prc)
            return prc;
    }
    struct ingest *ig = ingest_new(env->store, ai, &o, e);
    if (!ig)
        return e->code ? e->code : ERR_DB;
    struct buf raw;
    buf_init(&raw, INBOX_MAX_MESSAGE);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        bool skip;
        struct errinfo me;
        errinfo_clear(&me);
        int r = gmail_get_raw(g, ids[i], &raw, &skip, &me);
        if (r == ERR_NOT_FOUND || r == ERR_TOO_BIG || r == ERR_INVALID) {
            /* Deleted since it was listed, or not a message we can read. */
            log_info("gmail.message_skipped", "mailbox %s: message %s: %s", in->id, ids[i], me.msg);
            ic.fetch_rejected += r != ERR_NOT_FOUND;
            continue;
        }
        if (r) {
            rc = failf(e, r, "%s", me.msg);
            break;
        }
        out->fetched++;
        if (skip)
            continue;
        char origin[GMAIL_ID_MAX + 8];
        snprintf(origin, sizeof(origin), "gmail:%s", ids[i]);
        r = ingest_message(ig, buf_str(&raw), raw.len, origin, &me);
        if (r == ERR_DB)
            rc = failf(e, ERR_DB, "%s", me.msg);
    }
    buf_release(&raw);
    /* What was imported stays, also when Gmail failed part way. */
    struct errinfo fe;
    errinfo_clear(&fe);
    int frc = ingest_flush(ig, &fe);
    if (frc && !rc)
        rc = failf(e, frc, "%s", fe.msg);
    struct ingest_stats st;
    ingest_get_stats(ig, &st);
    ingest_free(ig);
    out->imported = st.imported;
    out->duplicates = st.duplicates;
    out->rejected = st.rejected + ic.fetch_rejected;
    return rc;
}

/* The sync proper, with the client's tokens current. */
static int sync_messages(const struct gmail_env *env, struct ai *ai, struct gmail *g,
                         struct integration *in, int max, struct arena *a,
                         struct gmail_sync_result *out, struct errinfo *e)
{
    char **ids = NULL;
    size_t n = 0;
    int rc = 0;
    out->full = !in->history_id[0];
    if (!out->full) {
        rc = collect_history(g, in->history_id, a, &ids, &n, out->history_id, e);
        if (rc == ERR_NOT_FOUND || rc == ERR_TOO_BIG) {
            log_info("gmail.full_sync", "mailbox %s: %s; syncing in full", in->id,
                     rc == ERR_NOT_FOUND ? "the sync point is too old" : e->msg);
            errinfo_clear(e);
            out->full = true;
            rc = 0;
        }
    }
    if (!rc && out->full) {
        char email[STORE_EMAIL_MAX];
        /* The history id before listing: whatever arrives meanwhile is in
         * the next incremental sync (and stored once, by Message-ID). */
        rc = gmail_profile(g, email, out->history_id, e);
        if (!rc)
            rc = collect_full(g, max, a, &ids, &n, e);
        if (!rc) {
            /* Oldest first, as the mail arrived. */
            for (size_t i = 0; i < n / 2; i++) {
                char *t = ids[i];
                ids[i] = ids[n - 1 - i];
                ids[n - 1 - i] = t;
            }
        }
    }
    if (!rc)
        rc = import_ids(env, ai, g, in, ids, n, out, e);
    return rc;
}

int gmail_sync(const struct gmail_env *env, struct ai *ai, struct integration *in, int max_messages,
               struct arena *a, struct gmail_sync_result *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    if (max_messages <= 0)
        max_messages = GMAIL_SYNC_DEFAULT;
    if (max_messages > GMAIL_SYNC_MAX)
        max_messages = GMAIL_SYNC_MAX;
    int rc = busy_claim(in->id, e);
    if (rc)
        return rc;

    char *access = NULL, *refresh = NULL;
    bool reconnect = false;
    rc = unseal(env, in, in->access_enc, in->access_enc_len, a, &access, e);
    if (!rc)
        rc = unseal(env, in, in->refresh_enc, in->refresh_enc_len, a, &refresh, e);
    if (rc) {
        rc = failf(e, ERR_CONFLICT,
                   "the stored Gmail tokens cannot be opened (was the secret key changed?); "
                   "connect Gmail again");
        reconnect = true;
    }
    struct gmail *g = NULL;
    if (!rc) {
        g = gmail_new(&env->client, access, refresh, in->token_expires_at);
        int64_t now = clock_now_ms();
        if (!access || (in->token_expires_at && in->token_expires_at - REFRESH_MARGIN_MS <= now))
            rc = gmail_refresh(g, e);
        if (!rc)
            rc = sync_messages(env, ai, g, in, max_messages, a, out, e);
        if (rc == ERR_UNAUTHORIZED || rc == ERR_FORBIDDEN) {
            char why[ERRINFO_MSG_MAX];
            snprintf(why, sizeof(why), "%s", e->msg);
            rc = failf(e, ERR_CONFLICT, "%.180s; connect Gmail again", why);
            reconnect = true;
        }
    }

    /* Store what changed, whatever happened: refreshed tokens, the new sync
     * point, or the reason it failed. */
    int64_t now = clock_now_ms();
    struct errinfo se;
    errinfo_clear(&se);
    int src = 0;
    if (g && gmail_tokens_changed(g)) {
        in->token_expires_at = gmail_expires_at(g);
        src = seal(env, in, gmail_access_token(g), a, &in->access_enc, &in->access_enc_len, &se);
        const char *rt = gmail_refresh_token(g);
        if (!src && rt && (!refresh || strcmp(rt, refresh) != 0)) /* rotated */
            src = seal(env, in, gmail_refresh_token(g), a, &in->refresh_enc, &in->refresh_enc_len,
                       &se);
    }
    if (!rc) {
        snprintf(in->history_id, sizeof(in->history_id), "%s", out->history_id);
        in->last_sync_at = now;
        snprintf(in->status, sizeof(in->status), "connected");
        in->last_error[0] = '\0';
    } else {
        if (reconnect)
            snprintf(in->status, sizeof(in->status), "error");
        snprintf(in->last_error, sizeof(in->last_error), "%s", e->msg);
        log_warn("gmail.sync_failed", "mailbox %s: %s", in->id, e->msg);
    }
    if (!src)
        src = store_integration_put(env->store, in->workspace_id, in, now, &se);
    if (src && !rc)
        rc = failf(e, src, "%s", se.msg);
    else if (src)
        log_error("gmail.save_failed", "mailbox %s: %s", in->id, se.msg);
    gmail_free(g);
    busy_release(in->id);
    return rc;
}

/* ---- the sync job -------------------------------------------------------- */

struct enqueue_args {
    const char *workspace_id;
    const struct gmail_job_spec *spec;
    int64_t *id;
    bool *created;
};

static int enqueue_tx(struct store *st, void *arg, struct errinfo *e)
{
    struct enqueue_args *x = arg;
    /* Two requests for the same mailbox take turns here, so the second
     * finds the first one's job. */
    int rc = store_tx_lock_workspace(st, x->workspace_id, e);
    if (!rc)
        rc = store_job_active(st, x->workspace_id, GMAIL_JOB_KIND, "integrationId",
                              x->spec->integration_id, x->id, e);
    if (rc || *x->id) {
        *x->created = false;
        return rc;
    }
    struct buf b;
    struct jw w;
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "integrationId", x->spec->integration_id);
    jw_kint(&w, "maxMessages", x->spec->max_messages);
    jw_kstr(&w, "tokenUrl", x->spec->token_url);
    jw_kbool(&w, "authBasic", x->spec->auth_basic);
    jw_obj_end(&w);
    rc = jw_finish(&w);
    if (rc) {
        buf_release(&b);
        return failf(e, rc, "the sync job's payload");
    }
    struct job_spec spec = {
        .workspace_id = x->workspace_id,
        .kind = GMAIL_JOB_KIND,
        .payload = buf_str(&b),
        .max_attempts = GMAIL_ATTEMPTS,
    };
    rc = queue_enqueue(st, &spec, x->id, x->created, e);
    buf_release(&b);
    return rc;
}

int gmail_enqueue(struct store *st, const char *workspace_id, const struct gmail_job_spec *spec,
                  int64_t *job_id, bool *created, struct errinfo *e)
{
    *job_id = 0;
    *created = false;
    struct enqueue_args x = {workspace_id, spec, job_id, created};
    return store_tx_run(st, enqueue_tx, &x, e);
}

struct gmail_job {
    const struct config *cfg;
    struct ai *ai;
    struct queue *q;
};

/* One run of a sync job. */
struct job_run {
    struct store *st;
    const struct job *j;
    const struct integration *in;
};

/* The progress as GET /api/jobs/{id} shows it (docs/openapi.yaml GmailSyncProgress). */
static int job_record(const struct job_run *r, const struct gmail_progress *p,
                      const char *history_id, const char *status, struct errinfo *e)
{
    struct buf b;
    struct jw w;
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "integrationId", r->in->id);
    jw_kstr(&w, "accountEmail", r->in->account_email);
    jw_kbool(&w, "fullSync", p->full);
    jw_kint(&w, "listed", (int64_t)p->listed);
    jw_kint(&w, "fetched", (int64_t)p->fetched);
    jw_kint(&w, "imported", (int64_t)p->imported);
    jw_kint(&w, "duplicates", (int64_t)p->duplicates);
    jw_kint(&w, "rejected", (int64_t)p->rejected);
    jw_kstr(&w, "historyId", history_id && *history_id ? history_id : NULL);
    jw_obj_end(&w);
    int rc = jw_finish(&w);
    if (!rc)
        rc = job_progress_record(r->st, r->j, buf_str(&b), status, e);
    buf_release(&b);
    return rc;
}

static int job_progress(void *arg, const struct gmail_progress *p, struct errinfo *e)
{
    return job_record(arg, p, NULL, "running", e);
}

static int sync_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                    struct errinfo *e)
{
    struct gmail_job *gj = ctx;
    json_t *p = json_loads(j->payload ? j->payload : "{}", 0, NULL);
    const char *id = json_string_value(json_object_get(p, "integrationId"));
    const char *token_url = json_string_value(json_object_get(p, "tokenUrl"));
    char integration_id[STORE_ID_LEN] = "";
    if (id && strlen(id) < sizeof(integration_id))
        snprintf(integration_id, sizeof(integration_id), "%s", id);
    int max = (int)json_integer_value(json_object_get(p, "maxMessages"));
    bool basic = json_is_true(json_object_get(p, "authBasic"));
    char *url = token_url ? arena_strdup(a, token_url) : NULL;
    json_decref(p);
    if (!integration_id[0])
        return failf(e, ERR_INVALID, "the job names no Gmail mailbox");
    struct integration in;
    int rc = store_integration_get(st, j->workspace_id, integration_id, a, &in, e);
    if (rc == ERR_NOT_FOUND) {
        log_info("gmail.skipped", "mailbox %s was removed before its sync", integration_id);
        return 0;
    }
    if (rc)
        return rc;
    if (strcmp(in.status, "disconnected") == 0)
        return failf(e, ERR_INVALID, "this mailbox is disconnected; connect it again");

    struct job_run r = {.st = st, .j = j, .in = &in};
    struct gmail_env env = {
        .store = st,
        .secret_key = gj->cfg->secret_key,
        .client =
            {
                .api_url = gj->cfg->gmail_api_url,
                .token_url = url,
                .client_id = gj->cfg->oidc_client_id,
                .client_secret = gj->cfg->oidc_client_secret,
                .auth_basic = basic,
            },
        .progress = job_progress,
        .progress_arg = &r,
    };
    struct gmail_sync_result res;
    rc = gmail_sync(&env, gj->ai, &in, max, a, &res, e);
    /* The mailbox must be connected again (its status says so): retrying
     * cannot help. */
    if (rc == ERR_CONFLICT) {
        char why[ERRINFO_MSG_MAX];
        snprintf(why, sizeof(why), "%s", e->msg);
        rc = failf(e, ERR_INVALID, "%s", why);
    }
    const char *status = job_progress_outcome(j, rc);
    struct gmail_progress last = {
        .listed = res.listed,
        .fetched = res.fetched,
        .imported = res.imported,
        .duplicates = res.duplicates,
        .rejected = res.rejected,
        .full = res.full,
    };
    struct errinfo pe;
    errinfo_clear(&pe);
    if (job_record(&r, &last, rc ? NULL : res.history_id, status, &pe))
        log_warn("gmail.progress", "job %lld: %s", (long long)j->id, pe.msg);
    if (gj->q && res.imported)
        queue_kick(gj->q); /* drafts for contacts that became hot */
    struct log_line l;
    if (log_begin(&l, rc ? LOG_WARN : LOG_INFO, "gmail.synced")) {
        log_str(&l, "workspace", j->workspace_id);
        log_int(&l, "job", j->id);
        log_int(&l, "imported", (int64_t)res.imported);
        log_int(&l, "duplicates", (int64_t)res.duplicates);
        log_int(&l, "rejected", (int64_t)res.rejected);
        log_end(&l, "mailbox %s: %llu listed, %llu imported, %llu duplicates, %llu rejected (%s)",
                in.id, (unsigned long long)res.listed, (unsigned long long)res.imported,
                (unsigned long long)res.duplicates, (unsigned long long)res.rejected, status);
    }
    return rc;
}

void gmail_register(struct queue *q, const struct config *cfg, struct ai *ai)
{
    /* One per process, alive as long as the queue that holds it. */
    static struct gmail_job gj;
    gj.cfg = cfg;
    gj.ai = ai;
    gj.q = q;
    queue_register(q, GMAIL_JOB_KIND, sync_job, &gj);
}
