/*
 * The storage interface. A backend fills a const struct store_ops; the
 * struct store it returns starts with that table, so callers never see the
 * backend's own struct. Every function that touches workspace data takes the
 * workspace id as its second argument (after the store), and puts it in the
 * WHERE clause. Backends are chosen at run time from the database URL.
 *
 * A store may be used from many threads at once; backends keep what they
 * need per thread (the SQLite backend: one connection per thread).
 */
#ifndef LEADFLOW_STORE_STORE_H
#define LEADFLOW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

struct store;

enum { STORE_ID_LEN = 37, STORE_EMAIL_MAX = 321, STORE_NAME_MAX = 201 };

/* Passed by value in the ops table, so defined here (store/sending.h has the rest). */
/* The states of a generated draft (ai/content.h), as bits for "one of". */
enum content_status {
    CONTENT_DRAFT = 1 << 0,
    CONTENT_APPROVED = 1 << 1,
    CONTENT_REJECTED = 1 << 2,
    CONTENT_SENT = 1 << 3,
};

/* The rows of each aggregate (store/contacts.h, store/jobs.h, ...). */
struct activity;
struct alert_delivery;
struct alert_new;
struct alert_row;
struct alert_rule;
struct alert_rule_fields;
struct alert_stats;
struct api_token;
struct campaign;
struct campaign_fields;
struct campaign_step;
struct contact;
struct contact_fields;
struct contact_query;
struct content;
struct content_query;
struct email_engagement;
struct email_event;
struct email_query;
struct email_row;
struct enrollment;
struct enrollment_move;
struct exec_log;
struct hot_lead;
struct integration;
struct job_finish;
struct job_new;
struct job_row;
struct oauth_state;
struct org_row;
struct score;
struct score_change;
struct send_attempt;
struct sent_email;
struct sent_email_query;
struct session_row;
struct step_metrics;
struct store_ops;
struct user;
struct workspace_stats;
struct ws_row;
struct json_t; /* jansson's */

/* export_rows hands each row to this (store/bulk.h: what a row holds); it
 * borrows table and row. A non-zero return stops the walk and is returned. */
typedef int (*store_row_fn)(void *arg, const char *table, struct json_t *row, struct errinfo *e);
/* import_rows takes the rows from this: it sets *table and *row (borrowed
 * until the next call), or *table = NULL after the last row. A non-zero
 * return stops the load, which then writes nothing. */
typedef int (*store_next_fn)(void *arg, const char **table, struct json_t **row, struct errinfo *e);

struct db_ops;

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    /* The backend's cursor, over which the ops both backends share are
     * written (store/db.h; private to src/store). */
    const struct db_ops *db;
    /* Opens the backend for url (the part after the scheme); NULL + e on failure. */
    struct store *(*open)(const char *target, struct errinfo *e);
    void (*close)(struct store *st);
    /* Applies every migration newer than the database; *applied counts them. */
    int (*migrate)(struct store *st, int *applied, struct errinfo *e);
    /* The newest applied migration, and the newest this build knows. */
    int (*schema_version)(struct store *st, int *have, int *known, struct errinfo *e);
    /* A cheap round trip that proves the database answers. */
    int (*ping)(struct store *st, struct errinfo *e);
    /*
     * Every row of every table of bulk_tables (store/bulk.h) that the
     * database has, table by table in that order, from one consistent
     * snapshot, one row in memory at a time. ERR_INVALID when the database
     * holds a table bulk_tables does not name (it would be left out).
     */
    int (*export_rows)(struct store *st, store_row_fn row, void *arg, struct errinfo *e);
    /*
     * Loads the rows next() yields, in one transaction: all or nothing. The
     * database must be migrated and empty: ERR_CONFLICT names a table that
     * has rows. ERR_INVALID for a table or column the schema lacks. What the
     * target derives (contact search, counters) is computed from the loaded
     * rows, and id sequences continue after the loaded ids.
     */
    int (*import_rows)(struct store *st, store_next_fn next, void *arg, struct errinfo *e);

    /* Users. ERR_CONFLICT when the email is taken; ERR_NOT_FOUND when absent. */
    int (*user_create)(struct store *st, const char *email, const char *name, int64_t now,
                       struct user *out, struct errinfo *e);
    int (*user_by_email)(struct store *st, const char *email, struct user *out, struct errinfo *e);
    int (*user_by_id)(struct store *st, const char *id, struct user *out, struct errinfo *e);
    /* Finds the user by (issuer, subject), else by email (and links it), else
     * creates one; records the sign-in time. */
    int (*user_oidc_login)(struct store *st, const char *issuer, const char *subject,
                           const char *email, const char *name, const char *picture, int64_t now,
                           struct user *out, struct errinfo *e);
    int (*user_list)(struct store *st, struct arena *a, struct user **rows, size_t *n,
                     struct errinfo *e);
    /* First-login bootstrap, idempotent and safe to run concurrently: when the
     * user belongs to no organization, creates org_name with the user as owner
     * and a "Default Workspace" in it. *created tells whether it did. */
    int (*user_bootstrap)(struct store *st, const char *user_id, const char *org_name, int64_t now,
                          bool *created, struct errinfo *e);
    int (*user_orgs)(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                     size_t *n, struct errinfo *e);
    int (*user_workspaces)(struct store *st, const char *user_id, struct arena *a,
                           struct ws_row **rows, size_t *n, struct errinfo *e);
    /* The user's role in the workspace's organization; ERR_NOT_FOUND when the
     * workspace does not exist or the user is not a member (the same answer). */
    int (*member_role)(struct store *st, const char *workspace_id, const char *user_id, int *role,
                       struct errinfo *e);

    /* The first owner of the workspace's organization; ERR_NOT_FOUND when the
     * workspace does not exist. */
    int (*workspace_owner)(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                           struct errinfo *e);

    /* Contacts of a workspace. ERR_CONFLICT when the email is taken in the
     * workspace; ERR_NOT_FOUND for an id that is not in the workspace. */
    int (*contact_create)(struct store *st, const char *workspace_id,
                          const struct contact_fields *f, int64_t now, struct arena *a,
                          struct contact *out, struct errinfo *e);
    int (*contact_get)(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct contact *out, struct errinfo *e);
    int (*contact_update)(struct store *st, const char *workspace_id, const char *id,
                          const struct contact_fields *f, int64_t now, struct arena *a,
                          struct contact *out, struct errinfo *e);
    int (*contact_delete)(struct store *st, const char *workspace_id, const char *id,
                          struct errinfo *e);
    /* A page of contacts matching q, and the number matching in all. */
    int (*contact_list)(struct store *st, const char *workspace_id, const struct contact_query *q,
                        struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                        struct errinfo *e);

    /*
     * Write transactions on the calling thread's connection, for batches
     * (the pipeline commits every few hundred messages). Calls in between
     * run inside the transaction.
     */
    int (*tx_begin)(struct store *st, struct errinfo *e);
    int (*tx_commit)(struct store *st, struct errinfo *e);
    void (*tx_rollback)(struct store *st);
    /* Inside tx_begin: no other transaction that asked the same for this
     * workspace runs until this one ends. Batches of the pipeline take it
     * first, so two of them never lock the workspace's counter rows and a
     * contact in opposite orders (a deadlock on PostgreSQL). SQLite's write
     * transactions are one at a time already: nothing to do. */
    int (*tx_lock_workspace)(struct store *st, const char *workspace_id, struct errinfo *e);

    /*
     * The workspace's contact with this email, created when absent (with the
     * name, job title and company given; an existing contact's empty name,
     * title or company is filled in, never overwritten). *created says which.
     */
    int (*contact_link)(struct store *st, const char *workspace_id, const char *email,
                        const char *name, const char *job_title, const char *company, int64_t now,
                        char id[STORE_ID_LEN], bool *created, struct errinfo *e);
    /* The contact's activity since since_ms, newest first (at most max rows),
     * with its job title and status (into the given buffers). */
    int (*contact_activity)(struct store *st, const char *workspace_id, const char *contact_id,
                            int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                            size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                            struct errinfo *e);
    /* Stores the five components, total and reasons (a JSON array); writes a
     * score_history row when the total changed. *previous gets the old total
     * and *total (may be NULL) the stored one: s->total plus the contact's
     * campaign points, within 0..100. */
    int (*contact_score_save)(struct store *st, const char *workspace_id, const char *contact_id,
                              const struct score *s, const char *reasons_json, int64_t now,
                              int *previous, int *total, struct errinfo *e);
    /* Moves the status forward (contact < prospect < lead < customer; it never
     * moves back); *changed says whether it did. */
    int (*contact_status_advance)(struct store *st, const char *workspace_id,
                                  const char *contact_id, const char *status, int64_t now,
                                  bool *changed, struct errinfo *e);
    int (*contact_score_history)(struct store *st, const char *workspace_id, const char *contact_id,
                                 int limit, struct arena *a, struct score_change **rows, size_t *n,
                                 struct errinfo *e);
    /* Contacts with ai_score >= min_score, best first (ties: latest interaction). */
    int (*hot_leads)(struct store *st, const char *workspace_id, int min_score, int limit,
                     int offset, struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                     struct errinfo *e);

    /* Emails. insert: *inserted is false when (workspace, message_id) exists. */
    int (*email_insert)(struct store *st, const char *workspace_id, const struct email_row *row,
                        bool *inserted, struct errinfo *e);
    int (*email_get)(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                     struct email_row *out, struct errinfo *e);
    int (*email_list)(struct store *st, const char *workspace_id, const struct email_query *q,
                      struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                      struct errinfo *e);
    /* The newest email of a contact (subject and time), for lead cards. */
    int (*email_latest)(struct store *st, const char *workspace_id, const char *contact_id,
                        struct arena *a, struct email_row *out, struct errinfo *e);
    /* Email addresses of the workspace's members: mail from them is outbound. */
    int (*workspace_member_emails)(struct store *st, const char *workspace_id, struct arena *a,
                                   char ***emails, size_t *n, struct errinfo *e);
    int (*workspace_stats)(struct store *st, const char *workspace_id, int64_t now,
                           struct workspace_stats *out, struct errinfo *e);
    /* A number that changes whenever the workspace's contacts or emails do:
     * replies built from them can be reused while it stays the same. */
    int (*workspace_version)(struct store *st, const char *workspace_id, int64_t *version,
                             struct errinfo *e);

    /* Connected mailboxes. put inserts or updates by (workspace, provider,
     * account_email) and fills in->id; get/list only see the workspace's own. */
    int (*integration_put)(struct store *st, const char *workspace_id, struct integration *in,
                           int64_t now, struct errinfo *e);
    int (*integration_get)(struct store *st, const char *workspace_id, const char *id,
                           struct arena *a, struct integration *out, struct errinfo *e);
    int (*integration_list)(struct store *st, const char *workspace_id, const char *provider,
                            struct arena *a, struct integration **rows, size_t *n,
                            struct errinfo *e);

    /* Sending (mail/send.h). */
    /* Whether the calling thread's connection is inside tx_begin. */
    bool (*tx_active)(struct store *st);
    /* Inserts row (id filled in by the caller) unless (workspace,
     * idempotency_key) exists: then *created is false and id gets the
     * existing row's id. */
    int (*sent_email_insert)(struct store *st, const char *workspace_id,
                             const struct sent_email *row, char id[STORE_ID_LEN], bool *created,
                             struct errinfo *e);
    int (*sent_email_set_job)(struct store *st, const char *workspace_id, const char *id,
                              int64_t job_id, struct errinfo *e);
    int (*sent_email_get)(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct sent_email *out, struct errinfo *e);
    int (*sent_email_list)(struct store *st, const char *workspace_id,
                           const struct sent_email_query *q, struct arena *a,
                           struct sent_email **rows, size_t *n, int64_t *total, struct errinfo *e);
    /* Records an outcome: status, provider, provider message id, error and
     * sent_at (NULL or 0 store NULL). A row already sent or refused is left
     * alone (*changed false): an outcome is final. */
    int (*sent_email_finish)(struct store *st, const char *workspace_id, const char *id,
                             const char *status, const char *provider,
                             const char *provider_message_id, const char *error, int64_t sent_at,
                             bool *changed, struct errinfo *e);
    int (*send_attempt_add)(struct store *st, const char *workspace_id, const char *sent_email_id,
                            const struct send_attempt *at, struct errinfo *e);
    /* The email's attempts, oldest first. */
    int (*send_attempt_list)(struct store *st, const char *workspace_id, const char *sent_email_id,
                             struct arena *a, struct send_attempt **rows, size_t *n,
                             struct errinfo *e);

    /* The job queue (jobs/queue.h). */
    /* Inserts a job on the calling thread's connection: inside its open
     * transaction when there is one, never in a transaction of its own.
     * workspace_id may be NULL (a system job). When the idempotency key is
     * taken nothing is inserted: *created is false and *id is the existing
     * job's. ERR_INVALID when the payload is not JSON. */
    int (*job_insert)(struct store *st, const char *workspace_id, const struct job_new *j,
                      int64_t now, int64_t *id, bool *created, struct errinfo *e);
    /* In one write transaction (BEGIN IMMEDIATE): applies the ndone finishes
     * of done (setting each one's applied), then claims up to max due jobs:
     * queued jobs with run_at <= now (first by run_at), or running jobs whose
     * lease ran out before now (abandoned). Abandoned jobs are looked for
     * first when lost_first is set, else only when no queued job is due;
     * those on their last attempt are marked dead instead. A claim sets
     * status running, locked_by worker, locked_until now + lease_ms,
     * attempts + 1 and started_at. out (room for max) gets the claimed jobs
     * in run_at order, *n how many (0: none is due); strings are in a. */
    int (*job_claim)(struct store *st, struct job_finish *done, size_t ndone, const char *worker,
                     int64_t now, int64_t lease_ms, bool lost_first, size_t max, struct arena *a,
                     struct job_row *out, size_t *n, struct errinfo *e);
    /* Applies f alone; *applied is false when the lease was lost. */
    int (*job_finish)(struct store *st, const struct job_finish *f, int64_t now, bool *applied,
                      struct errinfo *e);
    /* A page of the workspace's jobs, newest first, as the API shows them: a
     * queued job that has failed before is "failed" (waiting for its retry).
     * status NULL: any; else queued | running | done | failed | dead. */
    int (*job_list)(struct store *st, const char *workspace_id, const char *status, int limit,
                    int offset, struct arena *a, struct job_row **rows, size_t *n, int64_t *total,
                    struct errinfo *e);
    /* A dead or failed job: retry queues it now with attempts 0; discard
     * ends it as done with last_error "discarded" (the row stays until the
     * retention ends, so its idempotency key stays taken). out is the job after the change.
     * ERR_NOT_FOUND when the job is not the workspace's; ERR_CONFLICT when
     * it is neither dead nor failed. */
    int (*job_retry)(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                     struct arena *a, struct job_row *out, struct errinfo *e);
    int (*job_discard)(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                       struct arena *a, struct job_row *out, struct errinfo *e);
    /* Deletes up to limit done jobs (discarded ones too) that finished
     * before `before`, oldest first; *deleted says how many. Dead and failed
     * jobs stay until someone retries or discards them. */
    int (*job_purge)(struct store *st, int64_t before, int limit, int64_t *deleted,
                     struct errinfo *e);

    /* Generated content (ai/content.h). */
    /* Stores a new draft (status draft): fills c->id, created_at, updated_at
     * from now; ERR_NOT_FOUND when the contact is not in the workspace. */
    int (*content_insert)(struct store *st, const char *workspace_id, struct content *c,
                          int64_t now, struct errinfo *e);
    int (*content_get)(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct content *out, struct errinfo *e);
    /* A page of drafts matching q, newest first, and the number matching in all. */
    int (*content_list)(struct store *st, const char *workspace_id, const struct content_query *q,
                        struct arena *a, struct content **rows, size_t *n, int64_t *total,
                        struct errinfo *e);
    /* Changes the subject, body and call to action (NULL: unchanged) of a
     * draft or an approved draft, which becomes a draft again. ERR_NOT_FOUND;
     * ERR_CONFLICT in any other status. */
    int (*content_edit)(struct store *st, const char *workspace_id, const char *id,
                        const char *subject, const char *body, const char *call_to_action,
                        int64_t now, struct errinfo *e);
    /* Moves a draft whose status is one of from (enum content_status bits) to
     * status to, recording the reviewer (may be NULL) and the sent email (may
     * be NULL). ERR_NOT_FOUND; ERR_CONFLICT when the status is not one of from. */
    int (*content_transition)(struct store *st, const char *workspace_id, const char *id,
                              unsigned from, enum content_status to, const char *reviewed_by,
                              const char *sent_email_id, int64_t now, struct errinfo *e);
    /* The id of the contact's newest score_history row that crossed into
     * hot (previous < min_score <= score); 0 when there is none. */
    int (*content_hot_crossing)(struct store *st, const char *workspace_id, const char *contact_id,
                                int min_score, int64_t *history_id, struct errinfo *e);

    /* Tracking (mail/track.h). */
    /* The sent email's contact ("" when it has none) and the time a provider
     * accepted it (0 before that); ERR_NOT_FOUND when not in the workspace. */
    int (*sent_email_tracking)(struct store *st, const char *workspace_id,
                               const char *sent_email_id, char contact_id[STORE_ID_LEN],
                               int64_t *sent_at, struct errinfo *e);
    /* Appends an email_events row; kind is open|click|unsubscribe|bounce,
     * bot_reason NULL for a person (is_bot follows it). A sent email or a
     * contact no longer in the workspace is stored as NULL. */
    int (*email_event_add)(struct store *st, const char *workspace_id, const char *sent_email_id,
                           const char *contact_id, const char *kind, const char *url,
                           const char *user_agent, const char *ip, const char *bot_reason,
                           int64_t now, struct errinfo *e);
    /* The contact's email events, newest first (at most limit); ERR_NOT_FOUND
     * when the contact is not in the workspace. */
    int (*contact_events)(struct store *st, const char *workspace_id, const char *contact_id,
                          int limit, struct arena *a, struct email_event **rows, size_t *n,
                          struct errinfo *e);
    /* Sets the contact's unsubscribed_at unless it is set (*changed says
     * whether it was); ERR_NOT_FOUND when the contact is not in the workspace. */
    int (*contact_unsubscribe)(struct store *st, const char *workspace_id, const char *contact_id,
                               int64_t now, bool *changed, struct errinfo *e);

    /* Drip campaigns (drip/drip.h). Every id is looked up in the workspace:
     * another workspace's id is ERR_NOT_FOUND like a missing one. */
    int (*campaign_create)(struct store *st, const char *workspace_id,
                           const struct campaign_fields *f, int64_t now, struct arena *a,
                           struct campaign *out, struct errinfo *e);
    int (*campaign_get)(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                        struct campaign *out, struct errinfo *e);
    /* Newest first; status NULL: any. */
    int (*campaign_list)(struct store *st, const char *workspace_id, const char *status, int limit,
                         int offset, struct arena *a, struct campaign **rows, size_t *n,
                         int64_t *total, struct errinfo *e);
    int (*campaign_update)(struct store *st, const char *workspace_id, const char *id,
                           const struct campaign_fields *f, int64_t now, struct errinfo *e);
    /* Deletes the campaign with its steps, enrollments and logs. */
    int (*campaign_delete)(struct store *st, const char *workspace_id, const char *id,
                           struct errinfo *e);
    /* Moves the status to `to` when it is one of from (comma-separated
     * names); ERR_CONFLICT otherwise, with the current status in e. */
    int (*campaign_set_status)(struct store *st, const char *workspace_id, const char *id,
                               const char *from, const char *to, int64_t now, struct errinfo *e);
    /* The steps in position order. */
    int (*campaign_steps)(struct store *st, const char *workspace_id, const char *campaign_id,
                          struct arena *a, struct campaign_step **rows, size_t *n,
                          struct errinfo *e);
    int (*campaign_step_get)(struct store *st, const char *workspace_id, const char *step_id,
                             struct arena *a, struct campaign_step *out, struct errinfo *e);
    /* Replaces every step (ids filled in by the caller) in one transaction
     * (or the caller's). ERR_CONFLICT when the campaign has active
     * enrollments or is archived. */
    int (*campaign_steps_replace)(struct store *st, const char *workspace_id,
                                  const char *campaign_id, const struct campaign_step *steps,
                                  size_t n, int64_t now, struct errinfo *e);
    /* Enrolls a contact: *reason is NULL when enrolled (id filled in), else
     * why not ("already_enrolled", "already_active"), with nothing written.
     * Runs on the calling thread's connection (inside the caller's
     * transaction). */
    int (*enrollment_insert)(struct store *st, const char *workspace_id, const char *campaign_id,
                             const char *contact_id, bool allow_reenroll, const char *first_step,
                             int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                             const char **reason, struct errinfo *e);
    int (*enrollment_get)(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct enrollment *out, struct errinfo *e);
    /* A campaign's enrollments, newest first; status NULL: any. */
    int (*enrollment_list)(struct store *st, const char *workspace_id, const char *campaign_id,
                           const char *status, int limit, int offset, struct arena *a,
                           struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e);
    /* Moves an enrollment on when it is still active at step execution seq
     * (its seq then becomes seq + 1); *applied says whether it was. */
    int (*enrollment_move)(struct store *st, const char *workspace_id, const char *id, int64_t seq,
                           const struct enrollment_move *m, int64_t now, bool *applied,
                           struct errinfo *e);
    /* Ends every active enrollment of the contact (or of the campaign, when
     * campaign_id is given) as cancelled with reason; *n counts them. */
    int (*enrollment_cancel)(struct store *st, const char *workspace_id, const char *contact_id,
                             const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                             struct errinfo *e);
    int (*exec_log_add)(struct store *st, const char *workspace_id, const char *campaign_id,
                        const struct exec_log *l, struct errinfo *e);
    /* Newest first; enrollment_id NULL: every enrollment of the campaign. */
    int (*exec_log_list)(struct store *st, const char *workspace_id, const char *campaign_id,
                         const char *enrollment_id, int limit, int offset, struct arena *a,
                         struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e);
    int (*campaign_metrics)(struct store *st, const char *workspace_id, const char *campaign_id,
                            struct arena *a, struct step_metrics **rows, size_t *n,
                            struct errinfo *e);
    /* Opens, clicks (people, not bots) of the sent email, and inbound emails
     * from its contact received after it was sent. */
    int (*email_engagement)(struct store *st, const char *workspace_id, const char *sent_email_id,
                            struct email_engagement *out, struct errinfo *e);
    /* Adds delta to the contact's campaign points (kept in -100..100 and
     * added to the computed score, within 0..100) and stores the new total
     * (score_history gets a row when it changed). */
    int (*contact_score_adjust)(struct store *st, const char *workspace_id, const char *contact_id,
                                int delta, int64_t now, int *before, int *after, struct errinfo *e);
    /* A campaign's status alone (the step handler's check; campaign_get
     * also counts steps and enrollments). ERR_NOT_FOUND. */
    int (*campaign_status)(struct store *st, const char *workspace_id, const char *id,
                           char status[16], struct errinfo *e);
    /* The active campaigns whose trigger has this type (id, status, trigger
     * and allow_reenroll filled in; no counts), on the calling thread's
     * connection. */
    int (*campaign_triggered)(struct store *st, const char *workspace_id, const char *type,
                              struct arena *a, struct campaign **rows, size_t *n,
                              struct errinfo *e);
    /* Brings the job of every active enrollment of the contact that waits at
     * a "wait until" step forward to now (the step looks again at once);
     * *n counts them. On the calling thread's connection. */
    int (*enrollment_wake)(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t now, int64_t *n, struct errinfo *e);

    /* Alerts (alerts/alerts.h). Ids are looked up in the workspace. */
    int (*alert_rule_create)(struct store *st, const char *workspace_id,
                             const struct alert_rule_fields *f, int64_t now, struct arena *a,
                             struct alert_rule *out, struct errinfo *e);
    int (*alert_rule_get)(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct alert_rule *out, struct errinfo *e);
    /* Oldest first; enabled_only leaves disabled rules out. */
    int (*alert_rule_list)(struct store *st, const char *workspace_id, bool enabled_only,
                           struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e);
    int (*alert_rule_update)(struct store *st, const char *workspace_id, const char *id,
                             const struct alert_rule_fields *f, int64_t now, struct errinfo *e);
    int (*alert_rule_delete)(struct store *st, const char *workspace_id, const char *id,
                             struct errinfo *e);
    /* A number that changes whenever the workspace's rules do (0: never had any). */
    int (*alert_rules_version)(struct store *st, const char *workspace_id, int64_t *version,
                               struct errinfo *e);
    /*
     * One event for a rule and subject (in the caller's transaction): the
     * dedup window of (workspace, in->dedup_key) is opened at now for
     * window_ms unless one is open; an atomic upsert decides, so concurrent
     * events open one window. *opened: the alert in was stored; otherwise the
     * open window's alert counts one more suppressed event and alert_id
     * names it.
     */
    int (*alert_open)(struct store *st, const char *workspace_id, const struct alert_new *in,
                      int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                      struct errinfo *e);
    int (*alert_get)(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                     struct alert_row *out, struct errinfo *e);
    /* Newest first; status NULL: any. */
    int (*alert_list)(struct store *st, const char *workspace_id, const char *status, int limit,
                      int offset, struct arena *a, struct alert_row **rows, size_t *n,
                      int64_t *total, struct errinfo *e);
    /* Moves an alert whose status is one of from (comma-separated) to `to`
     * (acked | resolved), recording who and when. ERR_NOT_FOUND;
     * ERR_CONFLICT when its status is not one of from. */
    int (*alert_transition)(struct store *st, const char *workspace_id, const char *id,
                            const char *from, const char *to, const char *user_id, int64_t now,
                            struct errinfo *e);
    int (*alert_delivery_add)(struct store *st, const char *workspace_id,
                              const struct alert_delivery *d, struct errinfo *e);
    /* An alert's attempts, oldest first. */
    int (*alert_delivery_list)(struct store *st, const char *workspace_id, const char *alert_id,
                               struct arena *a, struct alert_delivery **rows, size_t *n,
                               struct errinfo *e);
    int (*alert_stats)(struct store *st, const char *workspace_id, int64_t since,
                       struct alert_stats *out, struct errinfo *e);
    /* Send attempts of the workspace since `since`: all and the failed ones. */
    int (*send_attempt_counts)(struct store *st, const char *workspace_id, int64_t since,
                               int64_t *total, int64_t *failed, struct errinfo *e);

    /* Sessions, keyed by the hash of the cookie value. */
    int (*session_create)(struct store *st, const struct session_row *s, struct errinfo *e);
    int (*session_get)(struct store *st, const char *id_hash, struct session_row *out,
                       struct errinfo *e);
    int (*session_touch)(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                         struct errinfo *e);
    /* Revokes one of user_id's sessions; ERR_NOT_FOUND when it is not theirs. */
    int (*session_revoke)(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                          struct errinfo *e);
    /* The user's live (unrevoked, unexpired) sessions. */
    int (*session_list)(struct store *st, const char *user_id, int64_t now, struct arena *a,
                        struct session_row **rows, size_t *n, struct errinfo *e);

    /* OAuth sign-in attempts: put, then take once (deleted when taken). */
    int (*oauth_state_put)(struct store *st, const char *state_hash, const struct oauth_state *s,
                           struct errinfo *e);
    int (*oauth_state_take)(struct store *st, const char *state_hash, struct oauth_state *out,
                            struct errinfo *e);

    /* One-time sign-in links: take succeeds once, before expiry. */
    int (*login_link_put)(struct store *st, const char *token_hash, const char *user_id,
                          int64_t now, int64_t expires, struct errinfo *e);
    int (*login_link_take)(struct store *st, const char *token_hash, int64_t now,
                           char user_id[STORE_ID_LEN], struct errinfo *e);

    /* API tokens, stored by hash; each belongs to one workspace. */
    int (*api_token_create)(struct store *st, const char *workspace_id, const char *user_id,
                            const char *name, const char *token_hash, int64_t now,
                            struct api_token *out, struct errinfo *e);
    int (*api_token_find)(struct store *st, const char *token_hash, struct api_token *out,
                          struct errinfo *e);
    int (*api_token_revoke)(struct store *st, const char *workspace_id, const char *id, int64_t now,
                            struct errinfo *e);
    int (*api_token_list)(struct store *st, const char *workspace_id, struct arena *a,
                          struct api_token **rows, size_t *n, struct errinfo *e);
};

struct store {
    const struct store_ops *ops;
    /* The most rows a batch should write in one transaction (0: no limit of
     * the backend's own). PostgreSQL keeps every version of a counter row
     * that one transaction updates again and again, and each update walks
     * them: a batch of n messages costs O(n^2) there, so its batches are short. */
    size_t batch_max;
    /* One write transaction at a time in the whole database (SQLite): the
     * job workers of a process then take turns rather than wait in the
     * database's busy handler. */
    bool one_writer;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/*
 * Opens the database named by url: "sqlite:PATH" (PATH may be ":memory:"),
 * or "postgres://..." / "postgresql://..." (a libpq URL; src/store/pg.c).
 * Returns NULL with a one-line reason in e.
 */
struct store *store_open(const char *url, struct errinfo *e);

/* The backend's name: "sqlite" or "postgres". */
static inline const char *store_name(const struct store *st)
{
    return st->ops->name;
}

static inline void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

static inline int store_migrate(struct store *st, int *applied, struct errinfo *e)
{
    return st->ops->migrate(st, applied, e);
}

static inline int store_schema_version(struct store *st, int *have, int *known, struct errinfo *e)
{
    return st->ops->schema_version(st, have, known, e);
}

static inline int store_ping(struct store *st, struct errinfo *e)
{
    return st->ops->ping(st, e);
}

static inline int store_export_rows(struct store *st, store_row_fn row, void *arg,
                                    struct errinfo *e)
{
    return st->ops->export_rows(st, row, arg, e);
}

static inline int store_import_rows(struct store *st, store_next_fn next, void *arg,
                                    struct errinfo *e)
{
    return st->ops->import_rows(st, next, arg, e);
}

/*
 * Transactions on the calling thread's connection (store/tx.c). Work that
 * must only happen once the change is durable (a live event, a log line that
 * announces it) is registered with store_after_commit: it runs right after
 * the commit, in the order registered, and is dropped on rollback.
 */
int store_tx_begin(struct store *st, struct errinfo *e);
/* Commits, then runs the after-commit work; on failure nothing runs (roll back). */
int store_tx_commit(struct store *st, struct errinfo *e);
/* Rolls back and drops the after-commit work. */
void store_tx_rollback(struct store *st);

/* What store_tx_run runs: 0, an error that rolls the transaction back, or
 * STORE_TX_UNDO to roll it back with no error (nothing was to be done). */
enum { STORE_TX_UNDO = 1 };
typedef int (*store_tx_fn)(struct store *st, void *arg, struct errinfo *e);
/*
 * Runs fn in a transaction: begun, committed (0) or rolled back (fn's or the
 * commit's error), with the after-commit work run or dropped. Inside the
 * thread's open transaction fn simply runs in it, and the outer commit
 * decides. Returns fn's error, or the store's (0 after STORE_TX_UNDO).
 */
int store_tx_run(struct store *st, store_tx_fn fn, void *arg, struct errinfo *e);

/* After-commit work: data is a copy of size bytes of the caller's, freed after. */
typedef void (*store_hook_fn)(void *data);
/*
 * Runs fn(copy of data) once the thread's open transaction commits, or
 * forgets it on rollback; with no transaction open (the change was
 * committed on its own), runs it at once.
 */
void store_after_commit(struct store *st, store_hook_fn fn, const void *data, size_t size);

static inline int store_tx_lock_workspace(struct store *st, const char *workspace_id,
                                          struct errinfo *e)
{
    return st->ops->tx_lock_workspace(st, workspace_id, e);
}

static inline bool store_tx_active(struct store *st)
{
    return st->ops->tx_active(st);
}

/* The directory that holds the database's files ("." when none), into out. */
void store_data_dir(const char *url, char *out, size_t n);

#endif
