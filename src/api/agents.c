/*
 * What the agents know about a workspace: the hot leads with why each is hot
 * (GET /api/agents/contact-intelligence) and the overview's counts
 * (GET /api/dashboard/stats).
 */
#include <stdio.h>
#include <string.h>

#include "ai/ai.h"
#include "ai/score.h"
#include "api/api.h"
#include "api/cache.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "http/reply.h"
#include "store/contacts.h"
#include "store/emails.h"

enum { LEADS_DEFAULT = 20, LEADS_MAX = 100 };

static void write_lead(struct jw *w, const struct hot_lead *h)
{
    jw_obj_begin(w);
    jw_key(w, "contact");
    api_write_contact(w, &h->c);
    jw_key(w, "lastEmail");
    if (h->last_email_id[0]) {
        jw_obj_begin(w);
        jw_kstr(w, "id", h->last_email_id);
        jw_kstr(w, "subject", h->last_subject);
        api_time(w, "receivedAt", h->last_email_at);
        jw_key(w, "intents");
        jw_arr_begin(w);
        for (unsigned i = 0; i < INTENT_COUNT; i++)
            if (h->last_intents & (1u << i))
                jw_str(w, intent_name(1u << i));
        jw_arr_end(w);
        jw_obj_end(w);
    } else {
        jw_null(w);
    }
    jw_obj_end(w);
}

static int contact_intelligence(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int64_t limit, offset, min;
    int rc = api_query_int(req, "limit", 1, LEADS_MAX, LEADS_DEFAULT, &limit, e);
    if (!rc)
        rc = api_query_int(req, "offset", 0, 1000000, 0, &offset, e);
    if (!rc)
        rc = api_query_int(req, "minScore", 0, 100, SCORE_HOT, &min, e);
    if (rc)
        return rc;
    /* The list changes only when a contact or an email does: the version is
     * read before the rows, so a reply is never remembered as newer than it is. */
    const char *ws = req->auth->workspace_id;
    char key[CACHE_KEY_MAX];
    snprintf(key, sizeof(key), "leads/%s/%d/%d/%d", ws, (int)min, (int)limit, (int)offset);
    int64_t version;
    rc = store_workspace_version(ctx->store, ws, &version, e);
    if (rc)
        return rc;
    if (api_cache_get(key, version, rep))
        return 0;
    struct hot_lead *rows;
    size_t n;
    int64_t total;
    rc = store_hot_leads(ctx->store, ws, (int)min, (int)limit, (int)offset, req->arena, &rows, &n,
                         &total, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_lead(&w, &rows[i]);
    jw_arr_end(&w);
    jw_key(&w, "meta");
    jw_obj_begin(&w);
    jw_kint(&w, "total", total);
    jw_kint(&w, "limit", limit);
    jw_kint(&w, "offset", offset);
    jw_kint(&w, "minScore", min);
    jw_obj_end(&w);
    rc = reply_ok_end(rep, &w);
    if (!rc)
        api_cache_put(key, version, rep);
    return rc;
}

static int dashboard_stats(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct workspace_stats s;
    int rc = store_workspace_stats(ctx->store, req->auth->workspace_id, clock_now_ms(), &s, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_key(&w, "contacts");
    jw_obj_begin(&w);
    jw_kint(&w, "total", s.contacts);
    jw_kint(&w, "hot", s.hot);
    jw_kint(&w, "warm", s.warm);
    jw_kint(&w, "cold", s.cold);
    jw_obj_end(&w);
    jw_key(&w, "emails");
    jw_obj_begin(&w);
    jw_kint(&w, "total", s.emails);
    jw_kint(&w, "thisWeek", s.emails_week);
    jw_kint(&w, "unprocessed", s.emails_unprocessed);
    jw_obj_end(&w);
    jw_key(&w, "campaigns");
    jw_obj_begin(&w);
    jw_kint(&w, "total", s.campaigns);
    jw_kint(&w, "active", s.campaigns_active);
    jw_obj_end(&w);
    jw_key(&w, "drafts");
    jw_obj_begin(&w);
    jw_kint(&w, "awaitingReview", s.drafts_pending);
    jw_obj_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_agents_routes[] = {
    {HTTP_GET, "/api/agents/contact-intelligence", WS, contact_intelligence},
    {HTTP_GET, "/api/dashboard/stats", WS, dashboard_stats},
};

const size_t api_agents_nroutes = sizeof(api_agents_routes) / sizeof(api_agents_routes[0]);
