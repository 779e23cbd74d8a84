/*
 * Providers' events about the emails they took, in: SendGrid's Event
 * Webhook (a JSON array, signed with ECDSA P-256 over the timestamp and the
 * body) and Resend's webhooks (one JSON object, signed by Svix with
 * HMAC-SHA256 over "id.timestamp.body"). Each event is mapped to its sent
 * email (our id, which SendGrid echoes from custom_args, or the provider's
 * message id) and applied as the server's own events are: deliveries and
 * deferrals are recorded; a hard bounce or a spam complaint is recorded and
 * reported as the contact's change (its campaigns stop, its address goes
 * on the suppression list); opens and clicks go the tracking path (bot
 * rules, score, campaign wake-ups).
 */
#ifndef LEADFLOW_MAIL_EVENTS_H
#define LEADFLOW_MAIL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/store.h"

enum provider_event_kind {
    PEV_DELIVERED,
    PEV_DEFERRED,
    PEV_BOUNCED, /* for good (a soft bounce is a deferral) */
    PEV_COMPLAINED,
    PEV_OPENED,
    PEV_CLICKED,
};

struct provider_event {
    const char *provider;            /* "sendgrid" | "resend" | "mail" (a returned report) */
    const char *sent_email_id;       /* ours, when the provider echoes it; or NULL */
    const char *provider_message_id; /* the provider's id of the email; or NULL */
    enum provider_event_kind kind;
    const char *url;        /* a click's link */
    const char *user_agent; /* of an open or click; or NULL */
    const char *ip;         /* or NULL */
    int64_t at;             /* ms; 0: now */
};

/* How far a signed timestamp may be from now (replays are refused past it). */
enum { PROVIDER_EVENT_TOLERANCE_S = 300 };

/*
 * Whether sig_b64 (base64 of a DER ECDSA signature) signs timestamp + body
 * with key_b64 (base64 of a DER SubjectPublicKeyInfo, P-256), and timestamp
 * (seconds) is within the tolerance of now_s.
 */
bool provider_sendgrid_verify(const char *key_b64, const char *sig_b64, const char *timestamp,
                              const char *body, size_t n, int64_t now_s);

/*
 * Whether one of the space-separated "v1,<base64>" signatures of sigs is
 * HMAC-SHA256(secret, id "." timestamp "." body), secret being "whsec_"
 * and base64 (or base64 alone), and timestamp within the tolerance of now_s.
 */
bool provider_svix_verify(const char *secret, const char *id, const char *timestamp,
                          const char *sigs, const char *body, size_t n, int64_t now_s);

/* The events of a SendGrid webhook body (a JSON array) or of a Resend one
 * (one object), in a; events of other kinds are left out. ERR_INVALID when
 * the body is not that JSON. */
int provider_events_sendgrid(const char *body, size_t n, struct arena *a,
                             struct provider_event **out, size_t *nout, struct errinfo *e);
int provider_events_resend(const char *body, size_t n, struct arena *a, struct provider_event **out,
                           size_t *nout, struct errinfo *e);

/* Applies one event; *matched false (and 0) when no sent email is its. */
int provider_event_apply(struct store *st, const struct provider_event *ev, struct arena *a,
                         bool *matched, struct errinfo *e);

/* Applies one event to the sent email id of workspace ws (whose contact
 * is contact, "" when none): what provider_event_apply does once it has
 * found it, and what a report that came back as mail does. */
int provider_event_record(struct store *st, const struct provider_event *ev, const char *ws,
                          const char *id, const char *contact, struct arena *a, struct errinfo *e);

#endif
