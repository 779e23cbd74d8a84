/*
 * Drip step kinds: what a step of each type (email, wait, condition, tag,
 * score, webhook) does, one file per kind (drip/step_<name>.c) and one
 * table of them (drip/step.c). Building a step list checks each config
 * through its kind; the "drip_step" job runs a step through its kind.
 */
#ifndef LEADFLOW_DRIP_STEP_H
#define LEADFLOW_DRIP_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/store.h"

struct json_t;
struct job;

/* What executing a step decided (drip/run.c commits it). */
struct step_outcome {
    const char *status; /* log: success | failed | skipped; NULL: no log (a wait that waits on) */
    const char *error;
    struct json_t *meta;    /* the log's metadata (owned by the job) */
    const char *next_step;  /* "" or NULL: none, the enrollment ends as end_status */
    const char *end_status; /* completed | cancelled | failed */
    const char *reason;
    bool hold; /* stay at this step until hold_until */
    bool park; /* hold without a job: the campaign is paused */
    int64_t hold_until;
    int variant; /* -1: none */
    /* email steps: the message, sent through the outbox in the transaction */
    const char *subject, *text;
    const char *unsub; /* the unsubscribe URL in the text (kept as text in the HTML part) */
    char sent_id[STORE_ID_LEN];
};

/* One execution of one step; everything borrowed from the job. */
struct step_run {
    const struct config *cfg;
    struct ai *ai;
    struct store *st;
    const struct job *job;
    const char *ws;
    const struct enrollment *en;
    const struct campaign_step *step;
    struct json_t *config;    /* the step's config, parsed */
    const struct contact *ct; /* the enrolled contact as read before the transaction */
    int64_t now;
    struct arena *a;
    struct step_outcome *o; /* next_step starts as the step's next_id */
};

struct step_kind {
    const char *name; /* the step_type stored and shown by the API */
    /* Goes on by "true" and "false" (a condition), not by "next". */
    bool branches;
    /* config.secret is write-only: the API shows DRIP_SECRET_MASK and
     * "secretSet", and a mask sent back keeps the stored secret. */
    bool has_secret;
    /*
     * Checks a config (a JSON object) when a step list is saved; field names
     * it in messages ("steps[2].config"). 0 or ERR_INVALID.
     */
    int (*validate)(struct json_t *config, const char *field, struct errinfo *e);
    /*
     * Before the transaction: reads and network calls; fills r->o (status,
     * next step, hold). ERR_TEMPORARY retries the job. NULL: nothing to do.
     */
    int (*run)(struct step_run *r, struct errinfo *e);
    /*
     * Inside the transaction that moves the enrollment, once it is known to
     * be still at this step: the step's effect on the contact or the outbox.
     * NULL: none.
     */
    int (*apply)(struct step_run *r, struct errinfo *e);
    /* When an enrollment entering the step runs it (config parsed); NULL: now. */
    int64_t (*run_at)(struct json_t *config, int64_t now);
};

/* The kinds, in the order the API lists them (drip/step.c); each is
 * defined in its file as "const struct step_kind step_<name>". */
extern const struct step_kind *const step_kinds[];
extern const size_t step_nkinds;

/* The {{merge fields}} an email step's subject and body may use (drip/step_email.c). */
extern const char *const step_email_merge_fields[];
extern const size_t step_email_nmerge_fields;

/* The kind named name, or NULL (name may be NULL). */
const struct step_kind *step_kind_find(const char *name);

/*
 * The kind named name into *out; else ERR_INVALID "<field> must be one of
 * email, wait, ..." (every name of the table).
 */
int step_kind_lookup(const char *name, const char *field, const struct step_kind **out,
                     struct errinfo *e);

/* Helpers for the kinds' validate hooks; messages name "<field>.<key>". */
/* A required or optional string of at most max bytes, no NUL; *out NULL when absent. */
int step_cfg_string(struct json_t *cfg, const char *field, const char *key, bool required,
                    size_t max, const char **out, struct errinfo *e);
/* An optional integer in [lo, hi]; *present says whether the key was there. */
int step_cfg_int(struct json_t *cfg, const char *field, const char *key, int64_t lo, int64_t hi,
                 bool *present, int64_t *out, struct errinfo *e);

/* Whether the enrollment's last email was opened, clicked or replied to
 * (all false before its first email). kind: opened | clicked | replied. */
int step_engaged(const struct step_run *r, const char *kind, bool *out, struct errinfo *e);

#endif
