/*
 * Drip campaigns (DESIGN.md §6 "Drip"): a campaign is an ordered list of
 * steps (email, wait, condition, tag, score, webhook) linked by next /
 * true / false step ids. Contacts are enrolled into an active campaign; each
 * enrollment walks its steps through the job queue, one "drip_step" job per
 * step execution, keyed "drip:<enrollment>:<step>:<seq>" where seq counts
 * the enrollment's step executions. A job runs its step only while the
 * enrollment is still at that step and seq, and the execution log row, the
 * enrollment's move and the next step's job commit in one transaction: a
 * retried or reclaimed job never executes a step twice. Waits are delayed
 * jobs (run_at). Webhooks are signed with HMAC-SHA256 over
 * "timestamp.body" and never sent to private addresses unless
 * LEADFLOW_WEBHOOK_ALLOW_PRIVATE is set.
 */
#ifndef LEADFLOW_DRIP_DRIP_H
#define LEADFLOW_DRIP_DRIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "base/json.h"
#include "store/campaigns.h"
#include "store/store.h"

struct queue;
struct json_t;

#define DRIP_JOB_KIND "drip_step"

enum {
    DRIP_STEPS_MAX = 100,
    DRIP_ENROLL_MAX = 1000,              /* contacts one enroll request takes */
    DRIP_WAIT_MAX_MS = 366LL * 86400000, /* the longest wait or timeout */
    DRIP_RECHECK_MS = 3600000,           /* a "wait until" looks again this often */
    DRIP_WEBHOOK_TIMEOUT_MS = 10000,     /* default; at most 30 s */
    DRIP_SUBJECT_MAX = 998,
    DRIP_BODY_MAX = 100 * 1024,
};

/*
 * Builds the steps of a campaign from the JSON array of POST
 * /api/campaigns/{id}/steps: each element is {"type", "config", "key"
 * (optional client id), "next", "true", "false"}, where a reference is a
 * position index (integer), a key (string) or null (the end). "next"
 * defaults to the following position (the end after the last step);
 * conditions need both "true" and "false" (null is an explicit end). Each
 * config is checked for its type, with a message naming the field. Steps
 * get new ids; configs are stored as compact JSON. Everything in a.
 */
int drip_steps_build(struct json_t *steps, struct arena *a, struct campaign_step **out, size_t *n,
                     struct errinfo *e);

/*
 * The activation check: at least one step, every step reachable from the
 * first (position 0), every reference to a step of the list, no cycle (so
 * every branch ends), conditions with both branches set or explicitly
 * ended (stored as "" once drip_steps_build accepted them).
 */
int drip_graph_check(const struct campaign_step *steps, size_t n, struct errinfo *e);

/*
 * Activates a draft or paused campaign after drip_graph_check. A paused
 * campaign's active enrollments get their step's job again (the same key
 * when it is still waiting). ERR_CONFLICT when archived or already active.
 */
int drip_activate(struct store *st, const char *workspace_id, const char *id, struct errinfo *e);
/* Pauses an active campaign: its jobs hold the enrollments where they are. */
int drip_pause(struct store *st, const char *workspace_id, const char *id, struct errinfo *e);
/* Archives a campaign and cancels its active enrollments (one transaction). */
int drip_archive(struct store *st, const char *workspace_id, const char *id, struct errinfo *e);

/* What enrolling one contact did. */
struct drip_enroll_result {
    char contact_id[STORE_ID_LEN];
    char enrollment_id[STORE_ID_LEN]; /* "" when skipped */
    const char *reason; /* NULL when enrolled; not_found | unsubscribed | already_enrolled |
                           already_active (static text) */
};

/*
 * Enrolls contacts into an active campaign in one transaction: each gets
 * an enrollment and the job of the first step. out has room for n.
 * ERR_NOT_FOUND for a campaign not in the workspace; ERR_CONFLICT when it
 * is not active.
 */
int drip_enroll(struct store *st, const char *workspace_id, const char *campaign_id,
                const char *const *contact_ids, size_t n, struct drip_enroll_result *out,
                struct errinfo *e);

/*
 * Cancels every active enrollment of a contact with reason
 * (unsubscribed | bounced): on the calling thread's connection, so inside
 * the caller's transaction with the change that caused it.
 */
int drip_cancel_contact(struct store *st, const char *workspace_id, const char *contact_id,
                        const char *reason, struct errinfo *e);

/*
 * Copies a campaign as a new draft named name: its trigger, allowReenroll
 * and the current version of its steps (new ids, webhook secrets kept), in
 * one transaction. out gets the new campaign. ERR_NOT_FOUND for a campaign
 * not in the workspace.
 */
int drip_clone(struct store *st, const char *workspace_id, const char *id, const char *name,
               struct arena *a, struct campaign *out, struct errinfo *e);

/*
 * Takes one contact out of a campaign: its active enrollment ends as
 * cancelled with reason "unenrolled" (its pending step job then does
 * nothing). ERR_NOT_FOUND when the campaign is not in the workspace or the
 * contact has no active enrollment in it.
 */
int drip_unenroll(struct store *st, const char *workspace_id, const char *campaign_id,
                  const char *contact_id, struct errinfo *e);

/* "sha256=<hex HMAC-SHA256(secret, timestamp "." body)>" into out (>= 72 bytes). */
void drip_webhook_signature(const char *secret, const char *timestamp, const char *body,
                            size_t body_len, char *out, size_t n);

/*
 * Checks a webhook URL for sending: http(s), a host whose every address is
 * public unless allow_private (loopback, private, link-local, CGNAT,
 * unique-local, multicast and unspecified addresses are refused, and IPv6
 * forms that carry such an IPv4 address: compatible, mapped, translated,
 * NAT64, 6to4, Teredo, ISATAP), and
 * writes "host:port:address" for httpc_req.resolve into pin (the address
 * checked is the one connected to). ERR_FORBIDDEN for a refused address,
 * ERR_INVALID for a bad URL, ERR_TEMPORARY when the name does not resolve.
 */
int drip_webhook_target(const char *url, bool allow_private, char *pin, size_t n,
                        struct errinfo *e);

/*
 * Checks a webhook URL when a step or an alert channel is saved, asking no
 * DNS: unless allow_private, a literal address that drip_webhook_target
 * would refuse, and localhost (RFC 6761), are ERR_FORBIDDEN; a bad URL is
 * ERR_INVALID. Names are checked again when the webhook is sent.
 */
int drip_webhook_check(const char *url, bool allow_private, struct errinfo *e);

/* Takes this process's settings (the webhook guard); call once at start. */
void drip_configure(const struct config *cfg);

/* ---- triggers (drip/trigger.c) ---------------------------------------------------- */

/*
 * Checks a campaign's trigger (the JSON of POST/PATCH /api/campaigns; NULL
 * or JSON null: none, enrollment by the API only): {"type": "manual"},
 * {"type": "contact_created"}, {"type": "tag_added", "tag": "vip"} or
 * {"type": "score_above", "threshold": 80} (1..100, crossed upwards). Other
 * keys are refused, with a message naming the field.
 */
int drip_trigger_check(struct json_t *trigger, struct errinfo *e);

/*
 * Enroll a contact into every active campaign of the workspace whose
 * trigger matches what just happened to it: it was created; tags were added
 * (tags_before and tags_after are the contact's JSON arrays of tags, before
 * may be NULL); its total score went from before to after (a score_above
 * trigger fires when before < threshold <= after). A contact that has been
 * enrolled before is not enrolled again unless the campaign allows it;
 * unsubscribed contacts are skipped. Each runs on the calling thread's
 * connection: inside the caller's transaction, with the change itself.
 * *n (may be NULL) counts the enrollments made.
 */
int drip_on_contact_created(struct store *st, const char *workspace_id, const char *contact_id,
                            int *n, struct errinfo *e);
int drip_on_tags(struct store *st, const char *workspace_id, const char *contact_id,
                 const char *tags_before, const char *tags_after, int *n, struct errinfo *e);
int drip_on_score(struct store *st, const char *workspace_id, const char *contact_id, int before,
                  int after, int *n, struct errinfo *e);

/* What GET .../steps shows for a webhook's secret; POSTing it back keeps the stored one. */
#define DRIP_SECRET_MASK JSON_SECRET_MASK

/*
 * Before drip_steps_build: each webhook step of steps (the POSTed array)
 * loses the "secretSet" GET added; one whose config.secret is DRIP_SECRET_MASK gets the secret of
 * the stored webhook step it names by "id" (as GET returned it) or, without an id, of the stored
 * webhook step at the same position. ERR_INVALID when there is no such stored step. old: the
 * campaign's current steps.
 */
int drip_steps_keep_secrets(struct json_t *steps, const struct campaign_step *old, size_t n,
                            struct errinfo *e);

/* The config of a step as the API shows it: a webhook's secret masked, with
 * "secretSet": true. Returns config itself or arena memory. */
const char *drip_config_public(const struct campaign_step *s, struct arena *a);

struct contact;

/* An email step's template (subject or body) with the contact's merge
 * fields filled in as the step fills them ({{personalized_intro}} empty),
 * in a. */
const char *drip_merge(const struct contact *ct, const char *tpl, const char *unsubscribe_url,
                       struct arena *a);

/* Registers the "drip_step" job handler (cfg and ai borrowed for the queue's life). */
void drip_register(struct queue *q, const struct config *cfg, struct ai *ai);

#endif
