/*
 * Private to the SQLite backend: the sign-in and tenancy functions of
 * struct store_ops (see store.h for their contracts), and the initializer
 * that puts them in the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_AUTH_H
#define LEADFLOW_STORE_SQLITE_AUTH_H

#include "store/sqlite_int.h"

int sq_user_create(struct store *st, const char *email, const char *name, int64_t now,
                   struct user *out, struct errinfo *e);
int sq_user_by_email(struct store *st, const char *email, struct user *out, struct errinfo *e);
int sq_user_by_id(struct store *st, const char *id, struct user *out, struct errinfo *e);
int sq_user_oidc_login(struct store *st, const char *issuer, const char *subject, const char *email,
                       const char *name, const char *picture, int64_t now, struct user *out,
                       struct errinfo *e);
int sq_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                 struct errinfo *e);
int sq_user_bootstrap(struct store *st, const char *user_id, const char *org_name, int64_t now,
                      bool *created, struct errinfo *e);
int sq_user_orgs(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                 size_t *n, struct errinfo *e);
int sq_user_workspaces(struct store *st, const char *user_id, struct arena *a, struct ws_row **rows,
                       size_t *n, struct errinfo *e);
int sq_member_role(struct store *st, const char *workspace_id, const char *user_id, int *role,
                   struct errinfo *e);
int sq_workspace_owner(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                       struct errinfo *e);
int sq_session_create(struct store *st, const struct session_row *s, struct errinfo *e);
int sq_session_get(struct store *st, const char *id_hash, struct session_row *out,
                   struct errinfo *e);
int sq_session_touch(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                     struct errinfo *e);
int sq_session_revoke(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                      struct errinfo *e);
int sq_session_list(struct store *st, const char *user_id, int64_t now, struct arena *a,
                    struct session_row **rows, size_t *n, struct errinfo *e);
int sq_oauth_state_put(struct store *st, const char *state_hash, const struct oauth_state *s,
                       struct errinfo *e);
int sq_oauth_state_take(struct store *st, const char *state_hash, struct oauth_state *out,
                        struct errinfo *e);
int sq_login_link_put(struct store *st, const char *token_hash, const char *user_id, int64_t now,
                      int64_t expires, struct errinfo *e);
int sq_login_link_take(struct store *st, const char *token_hash, int64_t now,
                       char user_id[STORE_ID_LEN], struct errinfo *e);
int sq_api_token_create(struct store *st, const char *workspace_id, const char *user_id,
                        const char *name, const char *token_hash, int64_t now,
                        struct api_token *out, struct errinfo *e);
int sq_api_token_find(struct store *st, const char *token_hash, struct api_token *out,
                      struct errinfo *e);
int sq_api_token_revoke(struct store *st, const char *workspace_id, const char *id, int64_t now,
                        struct errinfo *e);
int sq_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                      struct api_token **rows, size_t *n, struct errinfo *e);

#define SQ_AUTH_OPS                                                                                \
    .user_create = sq_user_create, .user_by_email = sq_user_by_email, .user_by_id = sq_user_by_id, \
    .user_oidc_login = sq_user_oidc_login, .user_list = sq_user_list,                              \
    .user_bootstrap = sq_user_bootstrap, .user_orgs = sq_user_orgs,                                \
    .user_workspaces = sq_user_workspaces, .member_role = sq_member_role,                          \
    .workspace_owner = sq_workspace_owner, .session_create = sq_session_create,                    \
    .session_get = sq_session_get, .session_touch = sq_session_touch,                              \
    .session_revoke = sq_session_revoke, .session_list = sq_session_list,                          \
    .oauth_state_put = sq_oauth_state_put, .oauth_state_take = sq_oauth_state_take,                \
    .login_link_put = sq_login_link_put, .login_link_take = sq_login_link_take,                    \
    .api_token_create = sq_api_token_create, .api_token_find = sq_api_token_find,                  \
    .api_token_revoke = sq_api_token_revoke, .api_token_list = sq_api_token_list

#endif
