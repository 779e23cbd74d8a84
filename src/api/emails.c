/*
 * Emails of a workspace: upload (one RFC 5322 message or an mbox, through
 * the pipeline), list with filters, and read one.
 */
#include <stdio.h>
#include <string.h>

#include "ai/ai.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/str.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "mail/reply_text.h"
#include "store/emails.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 200, REJECTIONS_SHOWN = 50, SNIPPET = 200 };

struct rejection {
    char origin[64];
    char reason[ERRINFO_MSG_MAX];
};

struct upload {
    struct rejection shown[REJECTIONS_SHOWN];
    size_t nshown;
};

static void on_reject(void *arg, const char *origin, const struct errinfo *why)
{
    struct upload *u = arg;
    log_msg(LOG_INFO, "email.rejected", "%s: %s", origin, why->msg);
    if (u->nshown < REJECTIONS_SHOWN) {
        struct rejection *r = &u->shown[u->nshown++];
        snprintf(r->origin, sizeof(r->origin), "%s", origin);
        snprintf(r->reason, sizeof(r->reason), "%s", why->msg);
    }
}

static int emails_import(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *type = http_req_header(req, "Content-Type");
    if (type && strncmp(type, "application/json", 16) == 0)
        return failf(e, ERR_INVALID,
                     "send the message itself (Content-Type: message/rfc822) or an mbox "
                     "(application/mbox), not JSON");
    if (req->body.len == 0)
        return failf(e, ERR_INVALID, "the request body is empty: send an email message or an mbox");

    struct upload *u = arena_calloc(req->arena, sizeof(*u));
    struct ingest_opts o = {
        .workspace_id = req->auth->workspace_id,
        .source = "upload",
        .on_reject = on_reject,
        .arg = u,
    };
    struct ingest *g = ingest_new(ctx->store, ctx->ai, &o, e);
    if (!g)
        return ERR_DB;
    struct inbox *in = inbox_memory_new(req->body.data, req->body.len, "upload");
    int rc = ingest_source(g, in, e);
    struct ingest_stats s;
    ingest_get_stats(g, &s);
    inbox_free(in);
    ingest_free(g);
    if (rc)
        return rc;
    if (ctx->queue)
        queue_kick(ctx->queue); /* drafts for contacts that became hot */
    struct log_line l;
    if (log_begin(&l, LOG_INFO, "email.import")) {
        log_str(&l, "workspace", req->auth->workspace_id);
        log_int(&l, "imported", (int64_t)s.imported);
        log_int(&l, "duplicates", (int64_t)s.duplicates);
        log_int(&l, "rejected", (int64_t)s.rejected);
        log_end(&l, "upload: %llu imported, %llu duplicates, %llu rejected",
                (unsigned long long)s.imported, (unsigned long long)s.duplicates,
                (unsigned long long)s.rejected);
    }

    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kint(&w, "messages", (int64_t)s.seen);
    jw_kint(&w, "imported", (int64_t)s.imported);
    jw_kint(&w, "duplicates", (int64_t)s.duplicates);
    jw_kint(&w, "rejected", (int64_t)s.rejected);
    jw_kint(&w, "contactsCreated", (int64_t)s.contacts_created);
    jw_key(&w, "rejections");
    jw_arr_begin(&w);
    for (size_t i = 0; i < u->nshown; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "origin", u->shown[i].origin);
        jw_kstr(&w, "reason", u->shown[i].reason);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static void write_intents(struct jw *w, unsigned bits)
{
    jw_arr_begin(w);
    for (unsigned i = 0; i < INTENT_COUNT; i++)
        if (bits & (1u << i))
            jw_str(w, intent_name(1u << i));
    jw_arr_end(w);
}

/* The first SNIPPET bytes of text, cut at a UTF-8 boundary, spaces folded. */
static void write_snippet(struct jw *w, const char *text)
{
    char out[SNIPPET + 1];
    size_t j = 0;
    bool space = false;
    for (size_t i = 0; text && text[i] && j < SNIPPET; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            space = j > 0;
            continue;
        }
        if (space && j < SNIPPET) {
            out[j++] = ' ';
            space = false;
        }
        out[j++] = (char)ch;
    }
    jw_strn(w, out, str_utf8_whole(out, j)); /* a character cut at the limit goes */
}

static void write_email(struct jw *w, const struct email_row *r, bool full)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", r->id);
    jw_kstr(w, "contactId", r->contact_id[0] ? r->contact_id : NULL);
    jw_kstr(w, "messageId", r->message_id);
    jw_kstr(w, "threadId", r->thread_id && *r->thread_id ? r->thread_id : NULL);
    jw_key(w, "from");
    jw_obj_begin(w);
    jw_kstr(w, "email", r->from_email);
    jw_kstr(w, "name", r->from_name && *r->from_name ? r->from_name : NULL);
    jw_obj_end(w);
    jw_key(w, "to");
    jw_raw(w, r->to_emails, strlen(r->to_emails));
    jw_kstr(w, "subject", r->subject);
    jw_key(w, "snippet");
    write_snippet(w, r->body_text);
    jw_kstr(w, "direction", r->direction);
    jw_kstr(w, "source", r->source);
    jw_key(w, "intents");
    write_intents(w, r->intent_bits);
    jw_key(w, "sentiment");
    if (r->sentiment) {
        jw_obj_begin(w);
        jw_kstr(w, "label", r->sentiment);
        jw_key(w, "score");
        jw_double(w, r->sentiment_score);
        jw_obj_end(w);
    } else {
        jw_null(w);
    }
    jw_kstr(w, "urgency", r->urgency);
    jw_kstr(w, "analyzedBy", r->provider);
    jw_kint(w, "attachments", r->attachments);
    api_time(w, "receivedAt", r->received_at);
    api_time(w, "processedAt", r->processed_at);
    if (full) {
        jw_kstr(w, "inReplyTo", r->in_reply_to && *r->in_reply_to ? r->in_reply_to : NULL);
        jw_kstr(w, "bodyText", r->body_text);
        /* The new text, as the analyzer read it: split again from the
         * stored text (HTML mail was stored with its quotes marked). */
        struct arena a;
        arena_init(&a, NULL, 0);
        struct reply rp;
        reply_split(&a, r->body_text ? r->body_text : "", &rp);
        jw_kstr(w, "replyText", rp.text);
        arena_release(&a);
    }
    jw_obj_end(w);
}

static int emails_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct email_query q = {0};
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    q.limit = (int)pg.size;
    q.offset = (int)api_page_offset(&pg);
    q.contact_id = http_req_query(req, "contactId");
    if (q.contact_id && strlen(q.contact_id) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "contactId is not a contact id");
    q.intent = http_req_query(req, "intent");
    if (q.intent && !intent_parse(q.intent))
        return failf(e, ERR_INVALID,
                     "intent must be one of meeting_request, question, complaint, "
                     "feature_request, pricing_inquiry, general, follow_up");
    q.sentiment = http_req_query(req, "sentiment");
    if (q.sentiment && sentiment_parse(q.sentiment) < -1)
        return failf(e, ERR_INVALID, "sentiment must be one of positive, neutral, negative");
    q.text = http_req_query(req, "q");
    if (q.text && strlen(q.text) > 200)
        return failf(e, ERR_INVALID, "q is longer than 200 characters");

    struct email_row *rows;
    size_t n;
    int64_t total;
    rc =
        store_email_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_email(&w, &rows[i], false);
    return api_list_end(rep, &w, &pg, total);
}

static int emails_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "email", id, e);
    if (rc)
        return rc;
    struct email_row r;
    rc = store_email_get(ctx->store, req->auth->workspace_id, id, req->arena, &r, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_email(&w, &r, true);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_emails_routes[] = {
    {HTTP_POST, "/api/emails/import", WS | ROUTE_WRITE, emails_import},
    {HTTP_GET, "/api/emails", WS, emails_list},
    {HTTP_GET, "/api/emails/{id}", WS, emails_get},
};

const size_t api_emails_nroutes = sizeof(api_emails_routes) / sizeof(api_emails_routes[0]);
