/*
 * Private to the sending modules (src/mail/send*.c): the provider
 * constructors, the request bodies they post (exposed for tests), and the
 * HTTP status rule they share.
 */
#ifndef LEADFLOW_MAIL_SEND_INT_H
#define LEADFLOW_MAIL_SEND_INT_H

#include "base/buf.h"
#include "mail/send.h"

enum {
    SEND_REPLY_MAX = 64 * 1024, /* bytes of a provider's reply read */
    SEND_BODY_MAX = 8 * 1024 * 1024,
};

/* Each returns NULL when the provider is not configured (no key or URL). */
struct sender *send_sendgrid_new(const struct config *cfg);
struct sender *send_resend_new(const struct config *cfg);
/* SMTP also returns an error: 0 with *out NULL when smtp_url is not set,
 * else 0, or ERR_CONFIG when the DKIM settings are wrong (dkim_signer_new). */
int send_smtp_new(const struct config *cfg, struct sender **out, struct errinfo *e);

/* The JSON bodies of SendGrid v3 POST /v3/mail/send and Resend POST /emails. */
int send_sendgrid_body(const struct send_msg *m, struct buf *out);
int send_resend_body(const struct send_msg *m, struct buf *out);

/*
 * The outcome of a provider's HTTP status: 0 for 2xx; ERR_TEMPORARY (try
 * the next provider) for 429, 5xx, anything unexpected, and the provider's
 * own refusals: 401, 403 (key, account, sender), 404, 405 and 407;
 * ERR_INVALID (permanent: the recipient or the message) for other 4xx.
 */
int send_http_outcome(long status);

/* Fills r's failure class from a provider's HTTP answer: config_error for
 * 401, 403, 404, 405 and 407 or an error naming the sender (sender true),
 * retry_after_ms from a 429's Retry-After (seconds). */
void send_http_fault(long status, long retry_after_s, bool sender, struct send_result *r);

/* Whether a provider's JSON error body blames the sender (SendGrid's
 * errors[].field "from...", Resend's message on `from` or an unverified
 * domain): a configuration error, not the recipient's refusal. */
bool send_error_names_sender(const char *body, size_t len);

/* The error message inside a provider's JSON error body (SendGrid's
 * errors[0].message, Resend's message), copied into out; "" when none. */
void send_error_message(const char *body, size_t len, char *out, size_t n);

#endif
