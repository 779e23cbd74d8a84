/*
 * Sending email: providers behind struct send_ops (SendGrid v3, Resend,
 * SMTP through libcurl), tried in LEADFLOW_SEND_ORDER over the configured
 * ones. A provider's failure (connection error, time-out, 5xx, 429, a
 * refused key, account or sender) falls through to the next provider; a
 * permanent one (the recipient refused, a 4xx naming the request) stops the
 * chain and only that is a bounce. Every attempt is written to
 * send_attempts. Messages are built with GMime (multipart/alternative,
 * encoded headers; no header injection).
 *
 * The outbox is the way in: outbox_queue() writes a sent_emails row (keyed by
 * an idempotency key per workspace) and a "send_email" job in one
 * transaction; the job's handler renders tracking, sends through the chain
 * and records the outcome. A retried job whose email was already sent sends
 * nothing again.
 */
#ifndef LEADFLOW_MAIL_SEND_H
#define LEADFLOW_MAIL_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "store/sending.h"
#include "store/store.h"

struct queue;

/* One message as the providers get it (tracking already applied). */
struct send_msg {
    const char *from_email, *from_name;
    const char *reply_to; /* an address, or NULL */
    const char *to_email, *to_name;
    const char *subject;
    const char *text;                 /* text/plain part */
    const char *html;                 /* text/html part, or NULL */
    const char *list_unsubscribe_url; /* List-Unsubscribe + One-Click (RFC 8058); may be NULL */
    const char *idempotency_key;      /* sent to providers that take one */
    const char *message_id;           /* our Message-ID (without brackets) */
};

struct send_result {
    char provider[16];
    char provider_message_id[256];
    int status; /* HTTP status or SMTP reply code of the last attempt */
    /* Set by a provider that failed: its own configuration is wrong (a
     * refused key, account or sender: 401, 403, an SMTP 535...), and how
     * long it asked to be left alone (a 429's Retry-After; 0: not said). */
    bool config_error;
    int64_t retry_after_ms;
};

struct sender;

struct send_ops {
    const char *name; /* "sendgrid", "resend", "smtp" */
    /* 0 when accepted; ERR_TEMPORARY to try the next provider; ERR_INVALID
     * (permanent) to stop. */
    int (*send)(struct sender *s, const struct send_msg *m, struct send_result *r,
                struct errinfo *e);
    void (*free)(struct sender *s);
};

struct sender {
    const struct send_ops *ops;
};

struct send_chain;

/* The chain of configured providers in LEADFLOW_SEND_ORDER; a chain with no
 * provider is valid (every send then fails with a clear message). NULL with
 * ERR_CONFIG in e when mail_from is not an address or the DKIM settings are
 * wrong (a key file that cannot be used), checked even when SMTP, the one
 * provider that signs, is not configured. */
struct send_chain *send_chain_new(const struct config *cfg, struct errinfo *e);
void send_chain_free(struct send_chain *c);
/* What the chain tells of a failure: provider NULL for an email that no
 * provider took (alerts watch the failure rate); else a provider that
 * refused our configuration (config true), raised as soon as it happens. */
struct send_failure {
    const char *provider;
    int status;        /* its HTTP status or SMTP reply code; 0: none */
    const char *error; /* its message */
    bool config;
};
typedef int (*send_failure_fn)(struct store *st, const char *workspace_id,
                               const struct send_failure *f, struct errinfo *e);
void send_chain_on_failure(struct send_chain *c, send_failure_fn fn);
/* How many providers are configured. */
size_t send_chain_size(const struct send_chain *c);
/* Appends this process's sending figures in Prometheus text: per provider,
 * the emails sent, failed and bounced, the sends skipped by an open
 * circuit, and the circuit's state (0 closed, 1 open, 2 half-open). arg is
 * the chain; 0 or ERR_TOO_BIG. */
int send_chain_metrics_render(const void *arg, struct buf *out);

enum { SEND_MAX_PROVIDERS = 3 }; /* sendgrid, resend, smtp */

/* The attempts of one send_chain_send, one per provider tried, for the
 * caller to write with the email's outcome in one transaction
 * (send_attempts_add). */
struct send_attempts {
    size_t n;
    struct send_attempt at[SEND_MAX_PROVIDERS];
    char provider_message_id[SEND_MAX_PROVIDERS][256];
    char error[SEND_MAX_PROVIDERS][ERRINFO_MSG_MAX];
};

/* Writes the attempts as send_attempts rows of sent_email_id. */
int send_attempts_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                      const struct send_attempts *log, struct errinfo *e);

/*
 * Sends m through the chain and keeps one attempt per provider tried in
 * *log (when not NULL; log->n is reset first). First, with st and a
 * workspace, the recipient is looked up on the workspace's suppression list
 * (mail/suppress.h): ERR_FORBIDDEN when listed, and no provider is tried. A
 * provider whose circuit is open (mail/breaker.h: failing in a row, or
 * paused by a 429's Retry-After) is skipped without a request or an
 * attempt; a provider's configuration error is told to the chain's failure
 * hook at once. 0 with r filled when a provider accepted it; ERR_INVALID
 * when one refused it for good (or m itself is wrong: a header value with a
 * line break); else ERR_TEMPORARY with the last provider's error (or, every
 * provider skipped, when the first one is tried again).
 */
int send_chain_send(struct send_chain *c, struct store *st, const char *workspace_id,
                    const struct send_msg *m, struct send_result *r, struct send_attempts *log,
                    struct errinfo *e);

/*
 * The HTML part of a text body (arena memory): escaped, line breaks kept,
 * http(s) links made links (the send job rewrites them for click tracking).
 * unsub (may be NULL) stays text, so that following it is not a click.
 */
const char *send_text_to_html(const char *text, const char *unsub, struct arena *a);

/*
 * What every email gets, whoever sends it: m's From and Reply-To from the
 * workspace's sender identity (store/auth.h) when it has an address (st
 * and workspace_id given), else the From of cfg->mail_from (cfg NULL or no
 * mail_from: the default); its text, and its HTML part (html, or made from
 * the text when html is NULL or ""). Tracking and the unsubscribe footer
 * are added once, by the send job (track_render). ERR_INVALID when the
 * configured From is not an address.
 */
int send_compose(struct store *st, const struct config *cfg, const char *workspace_id,
                 const char *text, const char *html, const char *unsub, struct arena *a,
                 struct send_msg *m, struct errinfo *e);

/* What to send, from the caller's side. */
struct outbox_item {
    const char *workspace_id;
    const char *contact_id; /* the recipient's contact (unsubscribed contacts are refused) */
    const char *subject, *text;
    const char *html;            /* NULL: made from the text (send_compose) */
    const char *unsubscribe_url; /* one already in the text (kept as text in HTML), or NULL */
    const char *idempotency_key; /* per workspace; the same key is sent once */
    const char *content_id;      /* a generated_content row, or NULL */
    const char *id; /* the new row's id (a UUID the caller signed links with); NULL: a new one */
};

/*
 * The one way an email to a contact is built and queued: composes it
 * (send_compose: the From of cfg, both parts), then writes the sent_emails
 * row and its send_email job in one transaction (or inside the caller's
 * open one). A repeated idempotency key returns 0 with the existing row's
 * id and *created false. ERR_FORBIDDEN when the contact has unsubscribed.
 */
int outbox_queue(struct store *st, const struct config *cfg, const struct outbox_item *it,
                 char id[STORE_ID_LEN], bool *created, struct errinfo *e);

/* "Name <address>" with the name quoted when RFC 5322 needs it, or the
 * address alone when name is NULL or "". */
int send_format_address(struct buf *b, const char *name, const char *address);

/*
 * Splits a From value ("Name <address>" or a bare address) into its parts
 * (arena memory; *name NULL when none). ERR_INVALID when it is not one.
 */
int send_parse_from(const char *from, struct arena *a, const char **name, const char **address,
                    struct errinfo *e);

/*
 * Registers the send_email handler (chain and config borrowed). The
 * handler sends an email at most once per row: a row already sent or
 * refused is skipped, and the provider gets the row's id as idempotency key.
 */
/*
 * Sends an approved draft (ai/content.h): in one transaction, queues the
 * email in the outbox (outbox_queue with cfg) (idempotency key "content:<id>", to the draft's
 * contact) and marks the draft sent with the outbox row's id and user_id as
 * reviewer. out gets the updated row. ERR_NOT_FOUND; ERR_CONFLICT when the
 * draft is not approved; ERR_FORBIDDEN when the contact has unsubscribed.
 */
int outbox_send_draft(struct store *st, const struct config *cfg, const char *workspace_id,
                      const char *id, const char *user_id, struct arena *a, struct content *out,
                      struct errinfo *e);

void outbox_register(struct queue *q, struct send_chain *chain, const struct config *cfg);

/* Fills merge fields of a template (subject or text) once the unsubscribe
 * URL is known; arg is the caller's. */
typedef const char *(*send_fill_fn)(void *arg, const char *tpl, const char *unsubscribe_url,
                                    struct arena *a);

/*
 * What an email would look like (a preview, a test send): composed as
 * outbox_queue composes it (send_compose: From, text and HTML parts) and
 * tracked as the send job tracks it (track_render: rewritten links, the
 * pixel, the unsubscribe footer and header), with fill (may be NULL)
 * applied to subject and text first. Its tracking tokens name a new email
 * id and no contact (a new random one): following its links records
 * nothing and unsubscribes no one. to_* are the recipient's. m in a.
 * ERR_INVALID for a subject with a line break or control character;
 * ERR_CONFIG without public_url and secret_key.
 */
int send_preview(struct store *st, const struct config *cfg, const char *workspace_id,
                 const char *to_email, const char *to_name, const char *subject, const char *text,
                 const char *html, send_fill_fn fill, void *fill_arg, struct arena *a,
                 struct send_msg *m, struct errinfo *e);

#endif
