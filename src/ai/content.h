/*
 * Generated content (DESIGN.md §6 "Hot lead -> draft"): follow-up emails
 * drafted by the AI provider from what the CRM knows about a contact (name,
 * role, company, status, score and its reasons, recent emails), stored as
 * drafts for a person to edit, approve, reject or send. A contact crossing
 * into hot enqueues one "draft_content" job per crossing; the API drafts on
 * request. Sending goes through the outbox (mail/send.h outbox_send_draft).
 */
#ifndef LEADFLOW_AI_CONTENT_H
#define LEADFLOW_AI_CONTENT_H

#include <stdbool.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/contacts.h"
#include "store/sending.h"
#include "store/store.h"

struct queue;

enum {
    CONTENT_GENERATE_MAX = 50, /* contacts one generate request drafts for */
    CONTENT_SNIPPET = 300,     /* bytes of an email's text a drafter is shown */
};

/* Why a draft was written (the generated_content.reason column). */
#define CONTENT_REASON_HOT "hot_lead"
#define CONTENT_REASON_WARM "warm_lead"
#define CONTENT_REASON_REQUESTED "requested"

/* The job kind of a draft written in the background. */
#define CONTENT_JOB_KIND "draft_content"

/* "draft", "approved", "rejected", "sent" for one enum content_status bit; NULL otherwise. */
const char *content_status_name(unsigned bit);
/* The bit of a status name, or 0. */
unsigned content_status_parse(const char *name);

/*
 * What a drafter gets to know about a contact of the workspace: the contact
 * (into *c) and in (all strings in a). ERR_NOT_FOUND when the contact is not
 * in the workspace.
 */
int content_context(struct store *st, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct contact *c, struct draft_input *in, struct errinfo *e);

/*
 * Drafts a follow-up for one contact with ai and stores it (status draft,
 * reason one of CONTENT_REASON_*). out gets the stored row (arena memory).
 * ERR_NOT_FOUND when the contact is not in the workspace; ERR_FORBIDDEN
 * when it has unsubscribed (nothing is written).
 */
int content_draft(struct store *st, const char *workspace_id, const char *contact_id, struct ai *ai,
                  const char *reason, struct arena *a, struct content *out, struct errinfo *e);

/* True when the contact has a draft waiting for review (draft or approved). */
int content_has_open_draft(struct store *st, const char *workspace_id, const char *contact_id,
                           bool *open, struct errinfo *e);

/*
 * Enqueues a "draft_content" job for a contact that crossed into hot (score
 * is its new score, reason a CONTENT_REASON_*). Runs on the calling thread's
 * connection, so inside the caller's open transaction (the ingest batch) the
 * job commits with the score that caused it. The idempotency key is
 * "draft:<contact>:<crossing>", the crossing being the id of the
 * score_history row that crossed (or the hour, when there is none): one job
 * per crossing however often it is called.
 */
int content_enqueue_draft(struct store *st, const char *workspace_id, const char *contact_id,
                          int score, const char *reason, struct errinfo *e);

/* Registers the "draft_content" job handler (ai and cfg borrowed for the queue's life). */
void content_register(struct queue *q, struct ai *ai, const struct config *cfg);

#endif
