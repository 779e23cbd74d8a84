/*
 * Store: users, organizations, memberships, sessions, sign-in states and links, API tokens: the
 * rows as callers see them and the store_* calls (each op's contract is at its slot in struct
 * store_ops, store/store.h). Include this, never call st->ops directly.
 */
#ifndef LEADFLOW_STORE_AUTH_H
#define LEADFLOW_STORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Roles of a user in an organization, ordered by what they may do. */
enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_MEMBER = 2, ROLE_ADMIN = 3, ROLE_OWNER = 4 };

const char *role_name(int role);
/* ROLE_NONE for an unknown name. */
int role_parse(const char *name);

struct user {
    char id[STORE_ID_LEN];
    char email[STORE_EMAIL_MAX];
    char name[STORE_NAME_MAX];
    char avatar_url[513];
    int64_t created_at;
    int64_t last_login_at; /* 0: never */
};

struct org_row {
    char id[STORE_ID_LEN];
    char name[STORE_NAME_MAX];
    int role;
};

struct ws_row {
    char id[STORE_ID_LEN];
    char org_id[STORE_ID_LEN];
    char name[STORE_NAME_MAX];
    int role;
};

struct session_row {
    char id_hash[65]; /* hex SHA-256 of the cookie value */
    char user_id[STORE_ID_LEN];
    char csrf[48];
    int64_t created_at, last_seen_at, expires_at, revoked_at;
    char user_agent[256];
    char ip[64];
};

struct oauth_state {
    char nonce[64];
    char verifier[128];
    char next[512];
    int64_t expires_at;
    char purpose[16];                /* "signin" (default when "") or "gmail" */
    char workspace_id[STORE_ID_LEN]; /* gmail: the workspace to connect */
    char user_id[STORE_ID_LEN];      /* gmail: who started it */
};

struct api_token {
    char id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN];
    char user_id[STORE_ID_LEN];
    char name[101];
    int64_t created_at, last_used_at, revoked_at;
};

static inline int store_user_create(struct store *st, const char *email, const char *name,
                                    int64_t now, struct user *out, struct errinfo *e)
{
    return st->ops->user_create(st, email, name, now, out, e);
}

static inline int store_user_by_email(struct store *st, const char *email, struct user *out,
                                      struct errinfo *e)
{
    return st->ops->user_by_email(st, email, out, e);
}

static inline int store_user_by_id(struct store *st, const char *id, struct user *out,
                                   struct errinfo *e)
{
    return st->ops->user_by_id(st, id, out, e);
}

static inline int store_user_oidc_login(struct store *st, const char *issuer, const char *subject,
                                        const char *email, const char *name, const char *picture,
                                        int64_t now, struct user *out, struct errinfo *e)
{
    return st->ops->user_oidc_login(st, issuer, subject, email, name, picture, now, out, e);
}

static inline int store_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                                  struct errinfo *e)
{
    return st->ops->user_list(st, a, rows, n, e);
}

static inline int store_user_bootstrap(struct store *st, const char *user_id, const char *org_name,
                                       int64_t now, bool *created, struct errinfo *e)
{
    return st->ops->user_bootstrap(st, user_id, org_name, now, created, e);
}

static inline int store_user_orgs(struct store *st, const char *user_id, struct arena *a,
                                  struct org_row **rows, size_t *n, struct errinfo *e)
{
    return st->ops->user_orgs(st, user_id, a, rows, n, e);
}

static inline int store_user_workspaces(struct store *st, const char *user_id, struct arena *a,
                                        struct ws_row **rows, size_t *n, struct errinfo *e)
{
    return st->ops->user_workspaces(st, user_id, a, rows, n, e);
}

static inline int store_member_role(struct store *st, const char *workspace_id, const char *user_id,
                                    int *role, struct errinfo *e)
{
    return st->ops->member_role(st, workspace_id, user_id, role, e);
}

static inline int store_workspace_owner(struct store *st, const char *workspace_id,
                                        char user_id[STORE_ID_LEN], struct errinfo *e)
{
    return st->ops->workspace_owner(st, workspace_id, user_id, e);
}

static inline int store_session_create(struct store *st, const struct session_row *s,
                                       struct errinfo *e)
{
    return st->ops->session_create(st, s, e);
}

static inline int store_session_get(struct store *st, const char *id_hash, struct session_row *out,
                                    struct errinfo *e)
{
    return st->ops->session_get(st, id_hash, out, e);
}

static inline int store_session_touch(struct store *st, const char *id_hash, int64_t seen,
                                      int64_t expires, struct errinfo *e)
{
    return st->ops->session_touch(st, id_hash, seen, expires, e);
}

static inline int store_session_revoke(struct store *st, const char *user_id, const char *id_hash,
                                       int64_t now, struct errinfo *e)
{
    return st->ops->session_revoke(st, user_id, id_hash, now, e);
}

static inline int store_session_list(struct store *st, const char *user_id, int64_t now,
                                     struct arena *a, struct session_row **rows, size_t *n,
                                     struct errinfo *e)
{
    return st->ops->session_list(st, user_id, now, a, rows, n, e);
}

static inline int store_oauth_state_put(struct store *st, const char *state_hash,
                                        const struct oauth_state *s, struct errinfo *e)
{
    return st->ops->oauth_state_put(st, state_hash, s, e);
}

static inline int store_oauth_state_take(struct store *st, const char *state_hash,
                                         struct oauth_state *out, struct errinfo *e)
{
    return st->ops->oauth_state_take(st, state_hash, out, e);
}

static inline int store_login_link_put(struct store *st, const char *token_hash,
                                       const char *user_id, int64_t now, int64_t expires,
                                       struct errinfo *e)
{
    return st->ops->login_link_put(st, token_hash, user_id, now, expires, e);
}

static inline int store_login_link_take(struct store *st, const char *token_hash, int64_t now,
                                        char user_id[STORE_ID_LEN], struct errinfo *e)
{
    return st->ops->login_link_take(st, token_hash, now, user_id, e);
}

static inline int store_api_token_create(struct store *st, const char *workspace_id,
                                         const char *user_id, const char *name,
                                         const char *token_hash, int64_t now, struct api_token *out,
                                         struct errinfo *e)
{
    return st->ops->api_token_create(st, workspace_id, user_id, name, token_hash, now, out, e);
}

static inline int store_api_token_find(struct store *st, const char *token_hash,
                                       struct api_token *out, struct errinfo *e)
{
    return st->ops->api_token_find(st, token_hash, out, e);
}

static inline int store_api_token_revoke(struct store *st, const char *workspace_id, const char *id,
                                         int64_t now, struct errinfo *e)
{
    return st->ops->api_token_revoke(st, workspace_id, id, now, e);
}

static inline int store_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                                       struct api_token **rows, size_t *n, struct errinfo *e)
{
    return st->ops->api_token_list(st, workspace_id, a, rows, n, e);
}

#endif
