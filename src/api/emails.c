/*
 * Emails of a workspace: upload (one RFC 5322 message or an mbox, imported
 * through the pipeline by a job), list with filters, and read one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
#include "mail/upload.h"
#include "store/emails.h"
#include "store/jobs.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 200, SNIPPET = 200 };

/* A body that came in memory (the server streams the upload route's to a
 * file; a server without an upload directory, or a test driving the router,
 * does not): written to a file of the upload directory like one. */
static int body_to_file(const struct api_ctx *ctx, struct http_req *req, const char **path,
                        struct errinfo *e)
{
    if (!ctx->upload_dir)
        return failf(e, ERR_INTERNAL, "this server keeps no uploads (no upload directory)");
    char *p = arena_printf(req->arena, "%s/upload-XXXXXX", ctx->upload_dir);
    int fd = mkostemp(p, O_CLOEXEC);
    if (fd < 0)
        return failf(e, ERR_IO, "cannot store the upload: %s", strerror(errno));
    const char *d = req->body.data;
    size_t left = req->body.len;
    while (left > 0) {
        ssize_t w = write(fd, d, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            close(fd);
            unlink(p);
            return failf(e, ERR_IO, "cannot store the upload: %s", strerror(err));
        }
        d += w;
        left -= (size_t)w;
    }
    close(fd);
    *path = p;
    return 0;
}

/*
 * The upload is kept (the server has already written it to a file) and an
 * import job queued: 202 with the job, whose progress GET /api/jobs/{id}
 * and the live job_progress event show (mail/upload.h).
 */
static int emails_import(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *type = http_req_header(req, "Content-Type");
    if (type && strncmp(type, "application/json", 16) == 0)
        return failf(e, ERR_INVALID,
                     "send the message itself (Content-Type: message/rfc822) or an mbox "
                     "(application/mbox), not JSON");
    uint64_t size = req->body_file ? req->body_file_size : req->body.len;
    if (size == 0)
        return failf(e, ERR_INVALID, "the request body is empty: send an email message or an mbox");
    const char *path = req->body_file;
    bool own = false; /* a file written here, removed here on failure */
    int rc = 0;
    if (!path) {
        if ((rc = body_to_file(ctx, req, &path, e)))
            return rc;
        own = true;
    }
    int64_t id;
    rc = upload_enqueue(ctx->store, req->auth->workspace_id, ctx->upload_dir ? ctx->upload_dir : "",
                        path, size, &id, e);
    if (rc) {
        if (own)
            unlink(path);
        return rc;
    }
    req->body_file_kept = true; /* the job's now: it removes the file when it ends */
    if (ctx->queue)
        queue_kick(ctx->queue);
    struct job_row j;
    if ((rc = store_job_get(ctx->store, req->auth->workspace_id, id, req->arena, &j, e)))
        return rc;
    char *where = arena_printf(req->arena, "/api/jobs/%lld", (long long)id);
    http_reply_header(rep, "Location", where);
    struct jw w;
    reply_ok_begin(rep, 202, &w);
    api_job_write(&w, &j);
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
