/*
 * Private to the PostgreSQL backend: users, organizations and workspaces,
 * sessions, OAuth states, one-time sign-in links and API tokens (contracts in
 * store.h), and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_PG_AUTH_H
#define LEADFLOW_STORE_PG_AUTH_H

#include "store/store.h"

int pg_user_create(struct store *st, const char *email, const char *name, int64_t now,
                   struct user *out, struct errinfo *e);
int pg_user_by_email(struct store *st, const char *email, struct user *out, struct errinfo *e);
int pg_user_by_id(struct store *st, const char *id, struct user *out, struct errinfo *e);
int pg_user_oidc_login(struct store *st, const char *issuer, const char *subject, const char *email,
                       const char *name, const char *picture, int64_t now, struct user *out,
                       struct errinfo *e);
int pg_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                 struct errinfo *e);
int pg_user_bootstrap(struct store *st, const char *user_id, const char *org_name, int64_t now,
                      bool *created, struct errinfo *e);
int pg_user_orgs(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                 size_t *n, struct errinfo *e);
int pg_user_workspaces(struct store *st, const char *user_id, struct arena *a, struct ws_row **rows,
                       size_t *n, struct errinfo *e);
int pg_member_role(struct store *st, const char *workspace_id, const char *user_id, int *role,
                   struct errinfo *e);
int pg_workspace_owner(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                       struct errinfo *e);
int pg_workspace_member_emails(struct store *st, const char *workspace_id, struct arena *a,
                               char ***emails, size_t *n, struct errinfo *e);
int pg_session_create(struct store *st, const struct session_row *s, struct errinfo *e);
int pg_session_get(struct store *st, const char *id_hash, struct session_row *out,
                   struct errinfo *e);
int pg_session_touch(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                     struct errinfo *e);
int pg_session_revoke(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                      struct errinfo *e);
int pg_session_list(struct store *st, const char *user_id, int64_t now, struct arena *a,
                    struct session_row **rows, size_t *n, struct errinfo *e);
int pg_oauth_state_put(struct store *st, const char *state_hash, const struct oauth_state *s,
                       struct errinfo *e);
int pg_oauth_state_take(struct store *st, const char *state_hash, struct oauth_state *out,
                        struct errinfo *e);
int pg_login_link_put(struct store *st, const char *token_hash, const char *user_id, int64_t now,
                      int64_t expires, struct errinfo *e);
int pg_login_link_take(struct store *st, const char *token_hash, int64_t now,
                       char user_id[STORE_ID_LEN], struct errinfo *e);
int pg_api_token_create(struct store *st, const char *workspace_id, const char *user_id,
                        const char *name, const char *token_hash, int64_t now,
                        struct api_token *out, struct errinfo *e);
int pg_api_token_find(struct store *st, const char *token_hash, struct api_token *out,
                      struct errinfo *e);
int pg_api_token_revoke(struct store *st, const char *workspace_id, const char *id, int64_t now,
                        struct errinfo *e);
int pg_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                      struct api_token **rows, size_t *n, struct errinfo *e);

#define PG_AUTH_OPS                                                                                \
    .user_create = pg_user_create, .user_by_email = pg_user_by_email, .user_by_id = pg_user_by_id, \
    .user_oidc_login = pg_user_oidc_login, .user_list = pg_user_list,                              \
    .user_bootstrap = pg_user_bootstrap, .user_orgs = pg_user_orgs,                                \
    .user_workspaces = pg_user_workspaces, .member_role = pg_member_role,                          \
    .workspace_owner = pg_workspace_owner, .workspace_member_emails = pg_workspace_member_emails,  \
    .session_create = pg_session_create, .session_get = pg_session_get,                            \
    .session_touch = pg_session_touch, .session_revoke = pg_session_revoke,                        \
    .session_list = pg_session_list, .oauth_state_put = pg_oauth_state_put,                        \
    .oauth_state_take = pg_oauth_state_take, .login_link_put = pg_login_link_put,                  \
    .login_link_take = pg_login_link_take, .api_token_create = pg_api_token_create,                \
    .api_token_find = pg_api_token_find, .api_token_revoke = pg_api_token_revoke,                  \
    .api_token_list = pg_api_token_list

#endif
