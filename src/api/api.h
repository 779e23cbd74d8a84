/*
 * The JSON API: one file per resource, each exporting its route table.
 * Handlers parse and validate, call a domain module, and reply; they get the
 * application context from req->ctx.
 */
#ifndef LEADFLOW_API_API_H
#define LEADFLOW_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/contacts.h"
#include "store/store.h"

struct oidc;
struct ai;
struct queue;
struct hub;
struct send_chain;

struct api_ctx {
    const struct config *cfg; /* borrowed */
    struct store *store;      /* borrowed */
    struct http_metrics *metrics;
    struct oidc *oidc;
    struct ai *ai;                 /* the email analyzer (offline or Anthropic) */
    struct queue *queue;           /* the job queue: handlers enqueue, then kick */
    struct hub *hub;               /* the WebSocket hub (GET /ws); NULL without one */
    struct send_chain *send_chain; /* the email providers (test sends); NULL without */
    const char *upload_dir;        /* where uploads wait for their import job (mail/upload.h) */
    int64_t started_ms;
};

struct job_row;
/* A job as GET /api/jobs/{id} answers it (its payload's secrets masked). */
void api_job_write(struct jw *w, const struct job_row *j);

/* Writes key and ms as an RFC 3339 time, or null when ms is 0. */
void api_time(struct jw *w, const char *key, int64_t ms);

/* A small HTML page (no script; CSP, no-store, noindex): api_html_begin
 * starts it with its title (escaped), the caller adds the body (values through
 * api_html_escape) and ends it with api_html_end, which returns 0. */
void api_html_begin(struct http_reply *rep, int status, const char *title);
void api_html_escape(struct buf *b, const char *s);
int api_html_end(struct http_reply *rep);

/* A 200 success envelope whose data is {"<key>": true}. */
int api_reply_flag(struct http_reply *rep, const char *key);

/* Fills rep with a redirect to location (copied). Returns 0. */
int api_redirect(struct http_req *req, struct http_reply *rep, int status, const char *location);

/* Redirects to /login?error=<message> so the page can say what went wrong. */
int api_redirect_login_error(struct http_req *req, struct http_reply *rep, const char *message);

/* Writes a contact as the API shows it (with tier, breakdown and reasons). */
void api_write_contact(struct jw *w, const struct contact *c);

/* Parses an optional integer query argument in [lo, hi] (def when absent). */
int api_query_int(struct http_req *req, const char *name, int64_t lo, int64_t hi, int64_t def,
                  int64_t *out, struct errinfo *e);

/* A page of a list: ?page= (from 1) and ?pageSize= (1 to a route's maximum). */
struct api_page {
    int64_t page, size;
};

int api_page_parse(struct http_req *req, int64_t max_size, int64_t def_size, struct api_page *p,
                   struct errinfo *e);
static inline int64_t api_page_offset(const struct api_page *p)
{
    return (p->page - 1) * p->size;
}
/* Writes "meta": {total, page, pageSize}. */
void api_page_meta(struct jw *w, const struct api_page *p, int64_t total);

/*
 * A 200 reply whose data is an array: api_list_begin() opens it, the caller
 * writes the elements, api_list_end() closes it, adds the page's "meta"
 * when p is not NULL, and returns what reply_ok_end() does.
 */
void api_list_begin(struct http_reply *rep, struct jw *w);
int api_list_end(struct http_reply *rep, struct jw *w, const struct api_page *p, int64_t total);

/* Copies the route's first path parameter into id. An id too long to be
 * one is ERR_NOT_FOUND "<noun> not found", like a missing one. */
int api_path_id(struct http_req *req, const char *noun, char id[STORE_ID_LEN], struct errinfo *e);

/* A string member of a JSON body: required or optional, at most max bytes,
 * no NUL; *out NULL when absent. Messages name the member. */
int api_body_string(json_t *body, const char *key, bool required, size_t max, const char **out,
                    struct errinfo *e);

/* Adds every route table of the API to rt. */
void api_register(struct router *rt);

extern const struct route api_health_routes[];
extern const size_t api_health_nroutes;
extern const struct route api_auth_routes[];
extern const size_t api_auth_nroutes;
extern const struct route api_contacts_routes[];
extern const size_t api_contacts_nroutes;
extern const struct route api_emails_routes[];
extern const size_t api_emails_nroutes;
extern const struct route api_outbox_routes[];
extern const size_t api_outbox_nroutes;
extern const struct route api_suppressions_routes[];
extern const size_t api_suppressions_nroutes;
extern const struct route api_preview_routes[];
extern const size_t api_preview_nroutes;
extern const struct route api_webhooks_routes[];
extern const size_t api_webhooks_nroutes;
extern const struct route api_agents_routes[];
extern const size_t api_agents_nroutes;
extern const struct route api_gmail_routes[];
extern const size_t api_gmail_nroutes;
extern const struct route api_sender_routes[];
extern const size_t api_sender_nroutes;
extern const struct route api_imap_routes[];
extern const size_t api_imap_nroutes;
extern const struct route api_content_routes[];
extern const size_t api_content_nroutes;
extern const struct route api_track_routes[];
extern const size_t api_track_nroutes;
extern const struct route api_jobs_routes[];
extern const size_t api_jobs_nroutes;
extern const struct route api_campaigns_routes[];
extern const size_t api_campaigns_nroutes;
extern const struct route api_alerts_routes[];
extern const size_t api_alerts_nroutes;
extern const struct route api_setup_routes[];
extern const size_t api_setup_nroutes;
extern const struct route api_ws_routes[];
extern const size_t api_ws_nroutes;

#endif
