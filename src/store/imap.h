/*
 * Store: IMAP inbox sources (imap_sources): a mailbox on any IMAP server,
 * its login with the password sealed before it reaches the store, the
 * folders to read and where each folder's sync stands.
 */
#ifndef LEADFLOW_STORE_IMAP_H
#define LEADFLOW_STORE_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum {
    IMAP_HOST_MAX = 254,
    IMAP_USER_MAX = 256,
};

struct imap_source {
    char id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN];
    char host[IMAP_HOST_MAX];
    int port;
    char tls[12]; /* tls (implicit, imaps) | starttls | none */
    char username[IMAP_USER_MAX];
    const uint8_t *password_enc; /* sealed (base/crypto.h); arena memory */
    size_t password_enc_len;
    const char *folders;      /* JSON array of folder names; arena memory */
    const char *folder_state; /* JSON {"NAME": {"uidValidity": n, "lastUid": n}}; arena */
    char status[8];           /* new | ok | error */
    char last_error[256];
    int64_t last_sync_at;
    int64_t last_job_id; /* the latest sync job, 0 before the first */
    int64_t created_at, updated_at;
};

/* Adds a source and fills in->id. ERR_CONFLICT when the workspace already
 * has one for the same host, port and user. */
int store_imap_create(struct store *st, const char *workspace_id, struct imap_source *in,
                      int64_t now, struct errinfo *e);

int store_imap_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct imap_source *out, struct errinfo *e);

int store_imap_list(struct store *st, const char *workspace_id, struct arena *a,
                    struct imap_source **rows, size_t *n, struct errinfo *e);

/* ERR_NOT_FOUND when the workspace has no such source. */
int store_imap_delete(struct store *st, const char *workspace_id, const char *id,
                      struct errinfo *e);

/* Records a sync's outcome: folder_state (NULL: unchanged), status,
 * last_error ("" or NULL: none) and, when last_sync_at is not 0, the time
 * of the sync. */
int store_imap_save(struct store *st, const char *workspace_id, const char *id,
                    const char *folder_state, const char *status, const char *last_error,
                    int64_t last_sync_at, int64_t now, struct errinfo *e);

/* Records the latest sync job of a source. */
int store_imap_set_job(struct store *st, const char *workspace_id, const char *id, int64_t job_id,
                       int64_t now, struct errinfo *e);

#endif
