/*
 * IMAP mailboxes as an inbox source: any IMAP server (implicit TLS,
 * STARTTLS, or clear text on loopback), one or more folders, synced as
 * jobs in the queue (kind IMAP_JOB_KIND). Each folder is read
 * incrementally: the messages with a UID above the last one imported,
 * while the folder's UIDVALIDITY stays the same; a new UIDVALIDITY reads
 * the folder again from the start (the pipeline stores each message once,
 * by Message-ID). Messages go through the same pipeline as Gmail and
 * imports (mail/ingest.h) with source "imap". The password is sealed
 * (base/crypto.h) before it reaches the store, bound to the workspace,
 * server and user.
 */
#ifndef LEADFLOW_MAIL_IMAP_H
#define LEADFLOW_MAIL_IMAP_H

#include <stdint.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/imap.h"
#include "store/store.h"

#define IMAP_JOB_KIND "imap_sync"

enum {
    IMAP_FOLDERS_MAX = 20,   /* folders per source */
    IMAP_PASSWORD_MAX = 512, /* bytes */
    IMAP_SYNC_MAX = 5000,    /* messages a folder's sync imports per job; the next job goes on */
};

struct imap_env {
    struct store *store;
    const char *secret_key;
    const char *ca_file; /* NULL: the system's CAs */
    long timeout_ms;     /* per IMAP call; 0: the client's default */
};

/* Seals password for s (its workspace_id, host, port and username set)
 * into s->password_enc (arena memory). */
int imap_seal_password(const struct imap_env *env, struct imap_source *s, const char *password,
                       struct arena *a, struct errinfo *e);

struct imap_sync_result {
    uint64_t imported, duplicates, rejected;
    unsigned resynced; /* folders read again because their UIDVALIDITY changed */
    bool more;         /* a folder has more messages than one sync takes */
};

/*
 * Syncs every folder of s into its workspace and stores where each folder
 * stands, the status and the error. Errors: ERR_INVALID when retrying
 * cannot help until someone changes the source (the login is refused, a
 * folder does not exist, TLS cannot be had, the stored password cannot be
 * opened); ERR_TEMPORARY when the server is unreachable or slow (messages
 * imported so far stay, and so does the point they reached); ERR_DB.
 */
int imap_sync(const struct imap_env *env, struct ai *ai, struct imap_source *s, struct arena *a,
              struct imap_sync_result *out, struct errinfo *e);

/* Queues a sync of a source and records the job on it. */
int imap_enqueue(struct store *st, const char *workspace_id, const char *source_id, int64_t *job_id,
                 struct errinfo *e);

struct queue;
/* Registers the sync job's handler. */
void imap_register(struct queue *q, const struct config *cfg, struct ai *ai);

#endif
