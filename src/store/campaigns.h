/*
 * Store: drip campaigns, steps, enrollments and execution logs: the rows as callers see them and
 * the store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_CAMPAIGNS_H
#define LEADFLOW_STORE_CAMPAIGNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A drip campaign (drip/drip.h); trigger is JSON text or NULL (arena memory). */
struct campaign {
    char id[STORE_ID_LEN];
    char name[STORE_NAME_MAX];
    char status[16]; /* draft | active | paused | archived */
    const char *trigger;
    bool allow_reenroll;
    int version;                        /* the version of the steps new enrollments start on */
    int64_t steps, enrollments, active; /* counts, for the API (steps: of that version) */
    int64_t created_at, updated_at;
};

/* Fields of a campaign to write; a field is written when its bit is in set. */
enum campaign_field { CAMPF_NAME = 1 << 0, CAMPF_TRIGGER = 1 << 1, CAMPF_REENROLL = 1 << 2 };

struct campaign_fields {
    unsigned set;
    const char *name;
    const char *trigger; /* JSON text; NULL clears */
    bool allow_reenroll;
};

/* One step of a campaign; the ids of the steps that follow are "" for the end. */
struct campaign_step {
    char id[STORE_ID_LEN];
    int position;
    char type[16];      /* email | wait | condition | tag | score | webhook */
    const char *config; /* JSON object text (arena memory) */
    char next_id[STORE_ID_LEN];
    char true_id[STORE_ID_LEN];
    char false_id[STORE_ID_LEN];
};

/* A contact's walk through a campaign. */
struct enrollment {
    char id[STORE_ID_LEN];
    char campaign_id[STORE_ID_LEN];
    char contact_id[STORE_ID_LEN];
    char status[16];                    /* active | completed | cancelled | failed */
    char current_step_id[STORE_ID_LEN]; /* "" when finished */
    int64_t seq;                        /* counts step executions: the job that may run next */
    int64_t step_started_at, next_run_at;
    char last_email_id[STORE_ID_LEN]; /* the newest email a step sent; "" */
    int variant;                      /* the last email variant chosen; -1: none */
    const char *reason;               /* why it ended early (arena memory); NULL */
    const char *contact_email;        /* for lists (arena memory) */
    int generation;
    int version; /* the version of the campaign's steps it started on (and finishes on) */
    int64_t enrolled_at, updated_at, finished_at;
};

/* How many enrollments a version of a campaign's steps has. */
struct campaign_version {
    int version;
    int64_t enrollments, active;
};

/* How an enrollment moves on (store_ops.enrollment_move). */
struct enrollment_move {
    const char *status;  /* the new status */
    const char *step_id; /* the new current step; NULL or "": none */
    int64_t step_started_at, next_run_at;
    const char *last_email_id; /* NULL: unchanged */
    int variant;               /* -1: unchanged */
    const char *reason;        /* NULL: none */
};

/* One execution of a step, as logged. */
struct exec_log {
    int64_t id;
    char enrollment_id[STORE_ID_LEN];
    char contact_id[STORE_ID_LEN];
    char step_id[STORE_ID_LEN];
    char step_type[16];
    char status[16];      /* success | failed | skipped */
    const char *error;    /* NULL when none */
    const char *metadata; /* JSON object text */
    char sent_email_id[STORE_ID_LEN];
    int64_t created_at;
};

/* What each step of a campaign did: distinct enrollments per outcome. */
struct step_metrics {
    char step_id[STORE_ID_LEN];
    int position;
    char type[16];
    int64_t executed, failed, skipped, sent, opened, clicked, replied;
};

/* What a contact did with an email a campaign sent (bots left out). */
struct email_engagement {
    bool opened, clicked, replied;
};

/* Drip campaigns (drip/drip.h). Every id is looked up in the workspace:
 * another workspace's id is ERR_NOT_FOUND like a missing one. */
int store_campaign_create(struct store *st, const char *workspace_id,
                          const struct campaign_fields *f, int64_t now, struct arena *a,
                          struct campaign *out, struct errinfo *e);

int store_campaign_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct campaign *out, struct errinfo *e);

/* Newest first; status NULL: any. */
int store_campaign_list(struct store *st, const char *workspace_id, const char *status, int limit,
                        int offset, struct arena *a, struct campaign **rows, size_t *n,
                        int64_t *total, struct errinfo *e);

int store_campaign_update(struct store *st, const char *workspace_id, const char *id,
                          const struct campaign_fields *f, int64_t now, struct errinfo *e);

/* Deletes the campaign with its steps, enrollments and logs. */
int store_campaign_delete(struct store *st, const char *workspace_id, const char *id,
                          struct errinfo *e);

/* Moves the status to `to` when it is one of from (comma-separated
 * names); ERR_CONFLICT otherwise, with the current status in e. */
int store_campaign_set_status(struct store *st, const char *workspace_id, const char *id,
                              const char *from, const char *to, int64_t now, struct errinfo *e);

/* The steps of the campaign's current version, in position order. */
int store_campaign_steps(struct store *st, const char *workspace_id, const char *campaign_id,
                         struct arena *a, struct campaign_step **rows, size_t *n,
                         struct errinfo *e);

int store_campaign_step_get(struct store *st, const char *workspace_id, const char *step_id,
                            struct arena *a, struct campaign_step *out, struct errinfo *e);

/* Saves the steps (ids filled in by the caller) in one transaction (or
 * the caller's). While the campaign has active enrollments, the steps
 * become a new version (the campaign's version + 1) and the old steps
 * stay for the enrollments on them (*new_version true); else they replace
 * the steps, in the current version. The steps of versions no active
 * enrollment is on go. new_version may be NULL.
 * ERR_CONFLICT when the campaign is archived. */
int store_campaign_steps_replace(struct store *st, const char *workspace_id,
                                 const char *campaign_id, const struct campaign_step *steps,
                                 size_t n, int64_t now, bool *new_version, struct errinfo *e);

/* The versions of the campaign's steps that have enrollments, oldest first. */
int store_campaign_versions(struct store *st, const char *workspace_id, const char *campaign_id,
                            struct arena *a, struct campaign_version **rows, size_t *n,
                            struct errinfo *e);

/* Enrolls a contact at first_step (on that step's version): *reason is NULL when enrolled (id
 * filled in), else why not ("already_enrolled", "already_active"), with nothing written. Runs on
 * the calling thread's connection (inside the caller's transaction). */
int store_enrollment_insert(struct store *st, const char *workspace_id, const char *campaign_id,
                            const char *contact_id, bool allow_reenroll, const char *first_step,
                            int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                            const char **reason, struct errinfo *e);

int store_enrollment_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct enrollment *out, struct errinfo *e);

/* A campaign's enrollments, newest first; status NULL: any. */
int store_enrollment_list(struct store *st, const char *workspace_id, const char *campaign_id,
                          const char *status, int limit, int offset, struct arena *a,
                          struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e);

/* Moves an enrollment on when it is still active at step execution seq
 * (its seq then becomes seq + 1); *applied says whether it was. */
int store_enrollment_move(struct store *st, const char *workspace_id, const char *id, int64_t seq,
                          const struct enrollment_move *m, int64_t now, bool *applied,
                          struct errinfo *e);

/* Ends every active enrollment of the contact (or of the campaign, when
 * campaign_id is given) as cancelled with reason; *n counts them. */
int store_enrollment_cancel(struct store *st, const char *workspace_id, const char *contact_id,
                            const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                            struct errinfo *e);

int store_exec_log_add(struct store *st, const char *workspace_id, const char *campaign_id,
                       const struct exec_log *l, struct errinfo *e);

/* Newest first; enrollment_id NULL: every enrollment of the campaign. */
int store_exec_log_list(struct store *st, const char *workspace_id, const char *campaign_id,
                        const char *enrollment_id, int limit, int offset, struct arena *a,
                        struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e);

int store_campaign_metrics(struct store *st, const char *workspace_id, const char *campaign_id,
                           struct arena *a, struct step_metrics **rows, size_t *n,
                           struct errinfo *e);

/* Opens, clicks (people, not bots) of the sent email, and inbound emails
 * from its contact received after it was sent. */
int store_email_engagement(struct store *st, const char *workspace_id, const char *sent_email_id,
                           struct email_engagement *out, struct errinfo *e);

/* A campaign's status alone (the step handler's check; campaign_get
 * also counts steps and enrollments). ERR_NOT_FOUND. */
int store_campaign_status(struct store *st, const char *workspace_id, const char *id,
                          char status[16], struct errinfo *e);

/* The active campaigns whose trigger has this type (id, status, trigger
 * and allow_reenroll filled in; no counts), on the calling thread's
 * connection. */
int store_campaign_triggered(struct store *st, const char *workspace_id, const char *type,
                             struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e);

/* Brings the job of every active enrollment of the contact that waits at
 * a "wait until" step forward to now (the step looks again at once);
 * *n counts them. On the calling thread's connection. */
int store_enrollment_wake(struct store *st, const char *workspace_id, const char *contact_id,
                          int64_t now, int64_t *n, struct errinfo *e);

#endif
