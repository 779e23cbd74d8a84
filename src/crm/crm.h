/*
 * What happens when a contact changes. Every producer (the import pipeline
 * and Gmail sync, tracking, drip steps, the contacts API, unsubscribes and
 * bounces) reports what changed with crm_contact_changed, and nothing else;
 * the reactions (drip triggers and wake-ups, alert rules, the draft job of a
 * new hot lead, the live hot_lead event) are one table, run in the order
 * listed, in the producer's transaction. Work that must wait for the commit
 * goes through store_after_commit.
 */
#ifndef LEADFLOW_CRM_CRM_H
#define LEADFLOW_CRM_CRM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/store.h"

/* What changed (bits of crm_change.what). */
enum crm_what {
    CRM_CREATED = 1 << 0,     /* the contact was just created */
    CRM_TAGS = 1 << 1,        /* tags_before -> tags_after */
    CRM_SCORE = 1 << 2,       /* score_before -> score_after (the stored total) */
    CRM_EMAIL = 1 << 3,       /* a new email of the contact was stored: email */
    CRM_OPEN = 1 << 4,        /* a human opened an email sent to it */
    CRM_CLICK = 1 << 5,       /* a human clicked a link of one */
    CRM_UNSUBSCRIBE = 1 << 6, /* it unsubscribed */
    CRM_BOUNCE = 1 << 7,      /* a provider refused its address for good */
    CRM_COMPLAINT = 1 << 8,   /* it reported an email sent to it as spam */
};

/* One change of one contact; fields not named by what are ignored. */
struct crm_change {
    const char *workspace_id, *contact_id;
    unsigned what;
    const char *tags_before, *tags_after; /* JSON arrays; NULL reads as [] */
    int score_before, score_after;
    const struct email_row *email; /* its analysis and direction */
    const char *sent_email_id; /* the email an unsubscribe, bounce or complaint concerns; or NULL */
    const char *source;        /* who changed it, for logs: "import", "tracking", "drip", "api" */
    int64_t now;               /* 0: the clock's */
};

/* A reaction: runs when what & c->what, in the producer's transaction. */
struct crm_reaction {
    const char *name;
    unsigned what;
    int (*react)(struct store *st, const struct crm_change *c, struct arena *a, struct errinfo *e);
};

/* The reactions, each in the module it belongs to (crm.c lists them). */
extern const struct crm_reaction drip_reaction;     /* drip/react.c */
extern const struct crm_reaction alerts_reaction;   /* alerts/react.c */
extern const struct crm_reaction draft_reaction;    /* crm/hot.c */
extern const struct crm_reaction live_reaction;     /* crm/hot.c */
extern const struct crm_reaction suppress_reaction; /* mail/suppress.c */

/*
 * Runs every reaction to c on the calling thread's connection: inside the
 * caller's open transaction, else in one of its own. Returns 0 or the first
 * reaction's error (the caller rolls back).
 */
int crm_contact_changed(struct store *st, const struct crm_change *c, struct errinfo *e);

/*
 * Creates a contact (store_contact_create) or writes its fields
 * (store_contact_update) and reports the change, in one transaction (the
 * caller's, when it has one open). Errors as the store's.
 */
int crm_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                       const char *source, int64_t now, struct arena *a, struct contact *out,
                       struct errinfo *e);
int crm_contact_update(struct store *st, const char *workspace_id, const char *id,
                       const struct contact_fields *f, const char *source, int64_t now,
                       struct arena *a, struct contact *out, struct errinfo *e);

/*
 * Recomputes and stores the contact's score from its activity in the last
 * SCORE_WINDOW_DAYS (score_history gets a row when the total changed) and
 * reports a change of the total. out (may be NULL) gets the score, its total
 * being the stored one (with the contact's campaign points, within 0..100);
 * *previous (may be NULL) the old total. a holds what was read (scratch).
 * ERR_NOT_FOUND when the contact is not in the workspace.
 */
int crm_rescore(struct store *st, const char *workspace_id, const char *contact_id,
                const char *source, int64_t now, struct arena *a, struct score *out, int *previous,
                struct errinfo *e);

/* True when a change of the total from before to after crosses into hot. */
static inline bool crm_became_hot(int before, int after)
{
    return before < SCORE_HOT && after >= SCORE_HOT;
}

#endif
