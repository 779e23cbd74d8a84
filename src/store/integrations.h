/*
 * Store: connected mailboxes (Gmail) with their sealed tokens: the rows as callers see them and
 * the store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_INTEGRATIONS_H
#define LEADFLOW_STORE_INTEGRATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A connected mailbox (Gmail); tokens are sealed with the secret key before
 * they reach the store (the store never sees them in clear). */
struct integration {
    char id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN];
    char user_id[STORE_ID_LEN];
    char provider[16]; /* "gmail" */
    char account_email[STORE_EMAIL_MAX];
    const uint8_t *access_enc, *refresh_enc; /* arena memory; NULL when absent */
    size_t access_enc_len, refresh_enc_len;
    int64_t token_expires_at;
    char history_id[32]; /* "" before the first full sync */
    int64_t last_sync_at;
    char status[16]; /* connected | error | disconnected */
    char last_error[256];
    int64_t created_at, updated_at;
};

/* Connected mailboxes. put inserts or updates by (workspace, provider,
 * account_email) and fills in->id; get/list only see the workspace's own. */
int store_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                          int64_t now, struct errinfo *e);

int store_integration_get(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct integration *out, struct errinfo *e);

int store_integration_list(struct store *st, const char *workspace_id, const char *provider,
                           struct arena *a, struct integration **rows, size_t *n,
                           struct errinfo *e);

#endif
