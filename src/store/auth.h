/*
 * Store: users, organizations, memberships, sessions, sign-in states and links, API tokens: the
 * rows as callers see them and the store_* calls, each with its contract.
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

/* Users. ERR_CONFLICT when the email is taken; ERR_NOT_FOUND when absent. */
int store_user_create(struct store *st, const char *email, const char *name, int64_t now,
                      struct user *out, struct errinfo *e);

int store_user_by_email(struct store *st, const char *email, struct user *out, struct errinfo *e);

int store_user_by_id(struct store *st, const char *id, struct user *out, struct errinfo *e);

/* Finds the user by (issuer, subject), else by email (and links it), else
 * creates one; records the sign-in time. */
int store_user_oidc_login(struct store *st, const char *issuer, const char *subject,
                          const char *email, const char *name, const char *picture, int64_t now,
                          struct user *out, struct errinfo *e);

int store_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                    struct errinfo *e);

/* First-login bootstrap, idempotent and safe to run concurrently: when the
 * user belongs to no organization, creates org_name with the user as owner
 * and a "Default Workspace" in it. *created tells whether it did. */
int store_user_bootstrap(struct store *st, const char *user_id, const char *org_name, int64_t now,
                         bool *created, struct errinfo *e);

int store_user_orgs(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                    size_t *n, struct errinfo *e);

int store_user_workspaces(struct store *st, const char *user_id, struct arena *a,
                          struct ws_row **rows, size_t *n, struct errinfo *e);

/* The user's role in the workspace's organization; ERR_NOT_FOUND when the
 * workspace does not exist or the user is not a member (the same answer). */
int store_member_role(struct store *st, const char *workspace_id, const char *user_id, int *role,
                      struct errinfo *e);

/* The first owner of the workspace's organization; ERR_NOT_FOUND when the
 * workspace does not exist. */
int store_workspace_owner(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                          struct errinfo *e);

/* Sessions, keyed by the hash of the cookie value. */
int store_session_create(struct store *st, const struct session_row *s, struct errinfo *e);

int store_session_get(struct store *st, const char *id_hash, struct session_row *out,
                      struct errinfo *e);

int store_session_touch(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                        struct errinfo *e);

/* Revokes one of user_id's sessions; ERR_NOT_FOUND when it is not theirs. */
int store_session_revoke(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                         struct errinfo *e);

/* The user's live (unrevoked, unexpired) sessions. */
int store_session_list(struct store *st, const char *user_id, int64_t now, struct arena *a,
                       struct session_row **rows, size_t *n, struct errinfo *e);

/* OAuth sign-in attempts: put, then take once (deleted when taken). */
int store_oauth_state_put(struct store *st, const char *state_hash, const struct oauth_state *s,
                          struct errinfo *e);

int store_oauth_state_take(struct store *st, const char *state_hash, struct oauth_state *out,
                           struct errinfo *e);

/* One-time sign-in links: take succeeds once, before expiry. */
int store_login_link_put(struct store *st, const char *token_hash, const char *user_id, int64_t now,
                         int64_t expires, struct errinfo *e);

int store_login_link_take(struct store *st, const char *token_hash, int64_t now,
                          char user_id[STORE_ID_LEN], struct errinfo *e);

/* Whether the database has any user at all (*any). */
int store_users_exist(struct store *st, bool *any, struct errinfo *e);

/*
 * First-run links (a server with no users prints one at start): reset
 * replaces every earlier link with this one; check tells whether the link is
 * usable (0) or not (ERR_NOT_FOUND); take uses it once, before expiry
 * (ERR_NOT_FOUND when it is unknown, used or expired).
 */
int store_setup_link_reset(struct store *st, const char *token_hash, int64_t now, int64_t expires,
                           struct errinfo *e);

int store_setup_link_check(struct store *st, const char *token_hash, int64_t now,
                           struct errinfo *e);

int store_setup_link_take(struct store *st, const char *token_hash, int64_t now, struct errinfo *e);

/* API tokens, stored by hash; each belongs to one workspace. */
int store_api_token_create(struct store *st, const char *workspace_id, const char *user_id,
                           const char *name, const char *token_hash, int64_t now,
                           struct api_token *out, struct errinfo *e);

int store_api_token_find(struct store *st, const char *token_hash, struct api_token *out,
                         struct errinfo *e);

int store_api_token_revoke(struct store *st, const char *workspace_id, const char *id, int64_t now,
                           struct errinfo *e);

int store_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                         struct api_token **rows, size_t *n, struct errinfo *e);

/* A workspace's sender identity; a NULL field: not set (the configured From). */
struct sender_identity {
    const char *name, *email, *reply_to;
};

/* The workspace's sender identity (arena memory). ERR_NOT_FOUND when no
 * such workspace. */
int store_workspace_sender_get(struct store *st, const char *workspace_id, struct arena *a,
                               struct sender_identity *out, struct errinfo *e);

/* Sets it (NULL or "" clears a field). ERR_NOT_FOUND when no such workspace. */
int store_workspace_sender_set(struct store *st, const char *workspace_id,
                               const struct sender_identity *in, struct errinfo *e);

#endif
