/*
 * Private to src/store: the ops both backends share, written once over the
 * cursor (store/db.h) in src/store/<aggregate>.c, and the initializers that
 * put them in both tables of struct store_ops (contracts in store.h).
 */
#ifndef LEADFLOW_STORE_DB_OPS_H
#define LEADFLOW_STORE_DB_OPS_H

#include "store/store.h"

/* emails.c */
int db_contact_link(struct store *st, const char *workspace_id, const char *email, const char *name,
                    const char *job_title, const char *company, int64_t now, char id[STORE_ID_LEN],
                    bool *created, struct errinfo *e);
int db_contact_activity(struct store *st, const char *workspace_id, const char *contact_id,
                        int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                        size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                        struct errinfo *e);
int db_contact_score_save(struct store *st, const char *workspace_id, const char *contact_id,
                          const struct score *s, const char *reasons_json, int64_t now,
                          int *previous, int *total, struct errinfo *e);
int db_contact_status_advance(struct store *st, const char *workspace_id, const char *contact_id,
                              const char *status, int64_t now, bool *changed, struct errinfo *e);
int db_contact_score_history(struct store *st, const char *workspace_id, const char *contact_id,
                             int limit, struct arena *a, struct score_change **rows, size_t *n,
                             struct errinfo *e);
int db_hot_leads(struct store *st, const char *workspace_id, int min_score, int limit, int offset,
                 struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                 struct errinfo *e);
int db_email_insert(struct store *st, const char *workspace_id, const struct email_row *row,
                    bool *inserted, struct errinfo *e);
int db_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                 struct email_row *out, struct errinfo *e);
int db_email_list(struct store *st, const char *workspace_id, const struct email_query *q,
                  struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e);
int db_email_latest(struct store *st, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct email_row *out, struct errinfo *e);
int db_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e);
int db_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                         struct errinfo *e);

#define DB_EMAIL_OPS                                                                               \
    .contact_link = db_contact_link, .contact_activity = db_contact_activity,                      \
    .contact_score_save = db_contact_score_save,                                                   \
    .contact_status_advance = db_contact_status_advance,                                           \
    .contact_score_history = db_contact_score_history, .hot_leads = db_hot_leads,                  \
    .email_insert = db_email_insert, .email_get = db_email_get, .email_list = db_email_list,       \
    .email_latest = db_email_latest, .workspace_stats = db_workspace_stats,                        \
    .workspace_version = db_workspace_version

/* integrations.c */
int db_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e);
int db_integration_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct integration *out, struct errinfo *e);
int db_integration_list(struct store *st, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e);

/* alerts.c */
int db_alert_rule_create(struct store *st, const char *workspace_id,
                         const struct alert_rule_fields *f, int64_t now, struct arena *a,
                         struct alert_rule *out, struct errinfo *e);
int db_alert_rule_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct alert_rule *out, struct errinfo *e);
int db_alert_rule_list(struct store *st, const char *workspace_id, bool enabled_only,
                       struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e);
int db_alert_rule_update(struct store *st, const char *workspace_id, const char *id,
                         const struct alert_rule_fields *f, int64_t now, struct errinfo *e);
int db_alert_rule_delete(struct store *st, const char *workspace_id, const char *id,
                         struct errinfo *e);
int db_alert_rules_version(struct store *st, const char *workspace_id, int64_t *version,
                           struct errinfo *e);
int db_alert_open(struct store *st, const char *workspace_id, const struct alert_new *in,
                  int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                  struct errinfo *e);
int db_alert_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                 struct alert_row *out, struct errinfo *e);
int db_alert_list(struct store *st, const char *workspace_id, const char *status, int limit,
                  int offset, struct arena *a, struct alert_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e);
int db_alert_transition(struct store *st, const char *workspace_id, const char *id,
                        const char *from, const char *to, const char *user_id, int64_t now,
                        struct errinfo *e);
int db_alert_delivery_add(struct store *st, const char *workspace_id,
                          const struct alert_delivery *d, struct errinfo *e);
int db_alert_delivery_list(struct store *st, const char *workspace_id, const char *alert_id,
                           struct arena *a, struct alert_delivery **rows, size_t *n,
                           struct errinfo *e);
int db_alert_stats(struct store *st, const char *workspace_id, int64_t since,
                   struct alert_stats *out, struct errinfo *e);

#define DB_ALERT_OPS                                                                               \
    .alert_rule_create = db_alert_rule_create, .alert_rule_get = db_alert_rule_get,                \
    .alert_rule_list = db_alert_rule_list, .alert_rule_update = db_alert_rule_update,              \
    .alert_rule_delete = db_alert_rule_delete, .alert_rules_version = db_alert_rules_version,      \
    .alert_open = db_alert_open, .alert_get = db_alert_get, .alert_list = db_alert_list,           \
    .alert_transition = db_alert_transition, .alert_delivery_add = db_alert_delivery_add,          \
    .alert_delivery_list = db_alert_delivery_list, .alert_stats = db_alert_stats

/* auth.c */
int db_user_create(struct store *st, const char *email, const char *name, int64_t now,
                   struct user *out, struct errinfo *e);
int db_user_by_email(struct store *st, const char *email, struct user *out, struct errinfo *e);
int db_user_by_id(struct store *st, const char *id, struct user *out, struct errinfo *e);
int db_user_oidc_login(struct store *st, const char *issuer, const char *subject, const char *email,
                       const char *name, const char *picture, int64_t now, struct user *out,
                       struct errinfo *e);
int db_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                 struct errinfo *e);
int db_user_bootstrap(struct store *st, const char *user_id, const char *org_name, int64_t now,
                      bool *created, struct errinfo *e);
int db_user_orgs(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                 size_t *n, struct errinfo *e);
int db_user_workspaces(struct store *st, const char *user_id, struct arena *a, struct ws_row **rows,
                       size_t *n, struct errinfo *e);
int db_member_role(struct store *st, const char *workspace_id, const char *user_id, int *role,
                   struct errinfo *e);
int db_workspace_owner(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                       struct errinfo *e);
int db_workspace_member_emails(struct store *st, const char *workspace_id, struct arena *a,
                               char ***emails, size_t *n, struct errinfo *e);
int db_session_create(struct store *st, const struct session_row *s, struct errinfo *e);
int db_session_get(struct store *st, const char *id_hash, struct session_row *out,
                   struct errinfo *e);
int db_session_touch(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                     struct errinfo *e);
int db_session_revoke(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                      struct errinfo *e);
int db_session_list(struct store *st, const char *user_id, int64_t now, struct arena *a,
                    struct session_row **rows, size_t *n, struct errinfo *e);
int db_oauth_state_put(struct store *st, const char *state_hash, const struct oauth_state *s,
                       struct errinfo *e);
int db_oauth_state_take(struct store *st, const char *state_hash, struct oauth_state *out,
                        struct errinfo *e);
int db_login_link_put(struct store *st, const char *token_hash, const char *user_id, int64_t now,
                      int64_t expires, struct errinfo *e);
int db_login_link_take(struct store *st, const char *token_hash, int64_t now,
                       char user_id[STORE_ID_LEN], struct errinfo *e);
int db_api_token_create(struct store *st, const char *workspace_id, const char *user_id,
                        const char *name, const char *token_hash, int64_t now,
                        struct api_token *out, struct errinfo *e);
int db_api_token_find(struct store *st, const char *token_hash, struct api_token *out,
                      struct errinfo *e);
int db_api_token_revoke(struct store *st, const char *workspace_id, const char *id, int64_t now,
                        struct errinfo *e);
int db_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                      struct api_token **rows, size_t *n, struct errinfo *e);

#define DB_AUTH_OPS                                                                                \
    .user_create = db_user_create, .user_by_email = db_user_by_email, .user_by_id = db_user_by_id, \
    .user_oidc_login = db_user_oidc_login, .user_list = db_user_list,                              \
    .user_bootstrap = db_user_bootstrap, .user_orgs = db_user_orgs,                                \
    .user_workspaces = db_user_workspaces, .member_role = db_member_role,                          \
    .workspace_owner = db_workspace_owner, .workspace_member_emails = db_workspace_member_emails,  \
    .session_create = db_session_create, .session_get = db_session_get,                            \
    .session_touch = db_session_touch, .session_revoke = db_session_revoke,                        \
    .session_list = db_session_list, .oauth_state_put = db_oauth_state_put,                        \
    .oauth_state_take = db_oauth_state_take, .login_link_put = db_login_link_put,                  \
    .login_link_take = db_login_link_take, .api_token_create = db_api_token_create,                \
    .api_token_find = db_api_token_find, .api_token_revoke = db_api_token_revoke,                  \
    .api_token_list = db_api_token_list

/* campaigns.c */
int db_campaign_create(struct store *st, const char *workspace_id, const struct campaign_fields *f,
                       int64_t now, struct arena *a, struct campaign *out, struct errinfo *e);
int db_campaign_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct campaign *out, struct errinfo *e);
int db_campaign_list(struct store *st, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct campaign **rows, size_t *n, int64_t *total,
                     struct errinfo *e);
int db_campaign_update(struct store *st, const char *workspace_id, const char *id,
                       const struct campaign_fields *f, int64_t now, struct errinfo *e);
int db_campaign_delete(struct store *st, const char *workspace_id, const char *id,
                       struct errinfo *e);
int db_campaign_set_status(struct store *st, const char *workspace_id, const char *id,
                           const char *from, const char *to, int64_t now, struct errinfo *e);
int db_campaign_steps(struct store *st, const char *workspace_id, const char *campaign_id,
                      struct arena *a, struct campaign_step **rows, size_t *n, struct errinfo *e);
int db_campaign_step_get(struct store *st, const char *workspace_id, const char *step_id,
                         struct arena *a, struct campaign_step *out, struct errinfo *e);
int db_campaign_steps_replace(struct store *st, const char *workspace_id, const char *campaign_id,
                              const struct campaign_step *steps, size_t n, int64_t now,
                              struct errinfo *e);
int db_enrollment_insert(struct store *st, const char *workspace_id, const char *campaign_id,
                         const char *contact_id, bool allow_reenroll, const char *first_step,
                         int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                         const char **reason, struct errinfo *e);
int db_enrollment_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct enrollment *out, struct errinfo *e);
int db_enrollment_list(struct store *st, const char *workspace_id, const char *campaign_id,
                       const char *status, int limit, int offset, struct arena *a,
                       struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e);
int db_enrollment_move(struct store *st, const char *workspace_id, const char *id, int64_t seq,
                       const struct enrollment_move *m, int64_t now, bool *applied,
                       struct errinfo *e);
int db_exec_log_add(struct store *st, const char *workspace_id, const char *campaign_id,
                    const struct exec_log *l, struct errinfo *e);
int db_exec_log_list(struct store *st, const char *workspace_id, const char *campaign_id,
                     const char *enrollment_id, int limit, int offset, struct arena *a,
                     struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e);
int db_campaign_metrics(struct store *st, const char *workspace_id, const char *campaign_id,
                        struct arena *a, struct step_metrics **rows, size_t *n, struct errinfo *e);
int db_email_engagement(struct store *st, const char *workspace_id, const char *sent_email_id,
                        struct email_engagement *out, struct errinfo *e);
int db_contact_score_adjust(struct store *st, const char *workspace_id, const char *contact_id,
                            int delta, int64_t now, int *before, int *after, struct errinfo *e);
int db_campaign_status(struct store *st, const char *workspace_id, const char *id, char status[16],
                       struct errinfo *e);

int db_campaign_triggered(struct store *st, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e);
int db_enrollment_wake(struct store *st, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e);
int db_enrollment_cancel(struct store *st, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e);

#define DB_CAMPAIGN_OPS                                                                            \
    .campaign_create = db_campaign_create, .campaign_get = db_campaign_get,                        \
    .campaign_list = db_campaign_list, .campaign_update = db_campaign_update,                      \
    .campaign_delete = db_campaign_delete, .campaign_set_status = db_campaign_set_status,          \
    .campaign_steps = db_campaign_steps, .campaign_step_get = db_campaign_step_get,                \
    .campaign_steps_replace = db_campaign_steps_replace,                                           \
    .enrollment_insert = db_enrollment_insert, .enrollment_get = db_enrollment_get,                \
    .enrollment_list = db_enrollment_list, .enrollment_move = db_enrollment_move,                  \
    .enrollment_cancel = db_enrollment_cancel, .exec_log_add = db_exec_log_add,                    \
    .exec_log_list = db_exec_log_list, .campaign_metrics = db_campaign_metrics,                    \
    .email_engagement = db_email_engagement, .contact_score_adjust = db_contact_score_adjust,      \
    .campaign_status = db_campaign_status, .campaign_triggered = db_campaign_triggered,            \
    .enrollment_wake = db_enrollment_wake

/* contacts.c */
struct db_cur;

/* The columns of struct contact (contacts aliased c), in db_contact_row's
 * order; _OF with another prefix ("": unqualified, for RETURNING). */
#define DB_CONTACT_COLS_OF(t)                                                                      \
    t "id, " t "workspace_id, " t "email, COALESCE(" t "name,''), COALESCE(" t "company,''),"      \
      " COALESCE(" t "job_title,''), " t "status, CAST(" t "tags AS TEXT), " t "ai_score, " t      \
      "score_engagement, " t "score_sentiment, " t "score_intent, " t "score_role, " t             \
      "score_status, " t "sentiment, COALESCE(" t "last_interaction,0), COALESCE(" t               \
      "unsubscribed_at,0), " t "created_at, " t "updated_at, CAST(" t "score_reasons AS TEXT)"
#define DB_CONTACT_COLS DB_CONTACT_COLS_OF("c.")
enum { DB_CONTACT_NCOLS = 20 };

/* Reads a row of DB_CONTACT_COLS (first) into ct; strings in a. */
void db_contact_row(struct db_cur *c, struct arena *a, struct contact *ct);

int db_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                      int64_t now, struct arena *a, struct contact *out, struct errinfo *e);
int db_contact_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct contact *out, struct errinfo *e);
int db_contact_update(struct store *st, const char *workspace_id, const char *id,
                      const struct contact_fields *f, int64_t now, struct arena *a,
                      struct contact *out, struct errinfo *e);
int db_contact_delete(struct store *st, const char *workspace_id, const char *id,
                      struct errinfo *e);
int db_contact_list(struct store *st, const char *workspace_id, const struct contact_query *q,
                    struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                    struct errinfo *e);

#define DB_CONTACT_OPS                                                                             \
    .contact_create = db_contact_create, .contact_get = db_contact_get,                            \
    .contact_update = db_contact_update, .contact_delete = db_contact_delete,                      \
    .contact_list = db_contact_list

/* content.c */
int db_content_insert(struct store *st, const char *workspace_id, struct content *in, int64_t now,
                      struct errinfo *e);
int db_content_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct content *out, struct errinfo *e);
int db_content_list(struct store *st, const char *workspace_id, const struct content_query *q,
                    struct arena *a, struct content **rows, size_t *n, int64_t *total,
                    struct errinfo *e);
int db_content_edit(struct store *st, const char *workspace_id, const char *id, const char *subject,
                    const char *body, const char *call_to_action, int64_t now, struct errinfo *e);
int db_content_transition(struct store *st, const char *workspace_id, const char *id, unsigned from,
                          enum content_status to, const char *reviewed_by,
                          const char *sent_email_id, int64_t now, struct errinfo *e);
int db_content_hot_crossing(struct store *st, const char *workspace_id, const char *contact_id,
                            int min_score, int64_t *history_id, struct errinfo *e);

#define DB_CONTENT_OPS                                                                             \
    .content_insert = db_content_insert, .content_get = db_content_get,                            \
    .content_list = db_content_list, .content_edit = db_content_edit,                              \
    .content_transition = db_content_transition, .content_hot_crossing = db_content_hot_crossing

/* track.c */
int db_sent_email_tracking(struct store *st, const char *workspace_id, const char *sent_email_id,
                           char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e);
int db_email_event_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                       const char *contact_id, const char *kind, const char *url,
                       const char *user_agent, const char *ip, const char *bot_reason, int64_t now,
                       struct errinfo *e);
int db_contact_unsubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t now, bool *changed, struct errinfo *e);
int db_contact_events(struct store *st, const char *workspace_id, const char *contact_id, int limit,
                      struct arena *a, struct email_event **rows, size_t *n, struct errinfo *e);

#define DB_TRACK_OPS                                                                               \
    .sent_email_tracking = db_sent_email_tracking, .email_event_add = db_email_event_add,          \
    .contact_events = db_contact_events, .contact_unsubscribe = db_contact_unsubscribe

/* jobs.c */
int db_job_list(struct store *st, const char *workspace_id, const char *status, int limit,
                int offset, struct arena *a, struct job_row **rows, size_t *n, int64_t *total,
                struct errinfo *e);
int db_job_retry(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                 struct arena *a, struct job_row *out, struct errinfo *e);
int db_job_discard(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                   struct arena *a, struct job_row *out, struct errinfo *e);

#define DB_JOB_OPS .job_list = db_job_list, .job_retry = db_job_retry, .job_discard = db_job_discard

/* sending.c */
int db_sent_email_insert(struct store *st, const char *workspace_id, const struct sent_email *row,
                         char id[STORE_ID_LEN], bool *created, struct errinfo *e);
int db_sent_email_set_job(struct store *st, const char *workspace_id, const char *id,
                          int64_t job_id, struct errinfo *e);
int db_sent_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct sent_email *out, struct errinfo *e);
int db_sent_email_list(struct store *st, const char *workspace_id, const struct sent_email_query *q,
                       struct arena *a, struct sent_email **rows, size_t *n, int64_t *total,
                       struct errinfo *e);
int db_sent_email_finish(struct store *st, const char *workspace_id, const char *id,
                         const char *status, const char *provider, const char *provider_message_id,
                         const char *error, int64_t sent_at, bool *changed, struct errinfo *e);
int db_send_attempt_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                        const struct send_attempt *at, struct errinfo *e);
int db_send_attempt_list(struct store *st, const char *workspace_id, const char *sent_email_id,
                         struct arena *a, struct send_attempt **rows, size_t *n, struct errinfo *e);
int db_send_attempt_counts(struct store *st, const char *workspace_id, int64_t since,
                           int64_t *total, int64_t *failed, struct errinfo *e);

#define DB_SEND_OPS                                                                                \
    .sent_email_insert = db_sent_email_insert, .sent_email_set_job = db_sent_email_set_job,        \
    .sent_email_get = db_sent_email_get, .sent_email_list = db_sent_email_list,                    \
    .sent_email_finish = db_sent_email_finish, .send_attempt_add = db_send_attempt_add,            \
    .send_attempt_list = db_send_attempt_list, .send_attempt_counts = db_send_attempt_counts

#define DB_INTEGRATION_OPS                                                                         \
    .integration_put = db_integration_put, .integration_get = db_integration_get,                  \
    .integration_list = db_integration_list

#endif
