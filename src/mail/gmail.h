/*
 * Gmail as an inbox source: a client for the Gmail API v1 (users.getProfile,
 * users.messages.list and get with format=raw, users.history.list) that
 * refreshes its OAuth 2.0 access token at the provider's token endpoint
 * (RFC 6749 §6), and the connect and sync steps that keep a workspace's
 * mailbox in the store. Tokens are sealed (base/crypto.h) before they reach
 * the store, bound to the workspace, provider and account.
 */
#ifndef LEADFLOW_MAIL_GMAIL_H
#define LEADFLOW_MAIL_GMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "store/integrations.h"
#include "store/store.h"

#define GMAIL_JOB_KIND "gmail_sync"
#define GMAIL_API_URL_DEFAULT "https://gmail.googleapis.com"
/* The scope a mailbox connection asks for, besides openid and email. */
#define GMAIL_SCOPE_READONLY "https://www.googleapis.com/auth/gmail.readonly"

enum {
    GMAIL_SYNC_DEFAULT = 500, /* messages a first sync imports when not told */
    GMAIL_SYNC_MAX = 5000,    /* the most a first sync may be told to import */
    GMAIL_ID_MAX = 32,        /* message and history ids are shorter (as the store keeps) */
    GMAIL_BATCH = 50,         /* messages per committed batch (and progress record) at most */
    GMAIL_BATCH_MS = 1000,    /* or this long, whichever comes first */
    GMAIL_ATTEMPTS = 5,       /* a sync job's tries while Gmail is unavailable */
};

/* Where the client talks to; every string borrowed. */
struct gmail_client_opts {
    const char *api_url;   /* NULL: GMAIL_API_URL_DEFAULT */
    const char *token_url; /* the provider's token endpoint; NULL: no refresh */
    const char *client_id, *client_secret;
    bool auth_basic; /* client_secret_basic (HTTP Basic) rather than _post */
};

struct gmail;

/* A client with tokens in clear (copied; kept in memory only). expires_at
 * in ms, 0 when unknown. refresh_token may be NULL. */
struct gmail *gmail_new(const struct gmail_client_opts *o, const char *access_token,
                        const char *refresh_token, int64_t expires_at);
void gmail_free(struct gmail *g);

/*
 * Gets a new access token with the refresh token. ERR_UNAUTHORIZED when the
 * provider refuses it (invalid_grant: access was revoked or expired) or
 * there is none; ERR_TEMPORARY when it cannot be reached or fails.
 */
int gmail_refresh(struct gmail *g, struct errinfo *e);

/* True once a refresh replaced the tokens; the caller stores them again. */
bool gmail_tokens_changed(const struct gmail *g);
/* The current tokens (borrowed from g; the refresh token may be NULL). */
const char *gmail_access_token(const struct gmail *g);
const char *gmail_refresh_token(const struct gmail *g);
int64_t gmail_expires_at(const struct gmail *g);

/*
 * Every call below sends the access token; a 401 gets one refresh and one
 * retry. Errors: ERR_UNAUTHORIZED (refused even after a refresh),
 * ERR_FORBIDDEN (the grant lacks the scope, or the API is off),
 * ERR_NOT_FOUND (no such message; history too old), ERR_TEMPORARY (429,
 * 5xx, rate limits, network, a reply that is not what the API documents).
 */

/* users.getProfile: the mailbox address and its current history id. */
int gmail_profile(struct gmail *g, char email[STORE_EMAIL_MAX], char history_id[GMAIL_ID_MAX],
                  struct errinfo *e);

/* One page of message ids (ids and *next_page in arena memory; *next_page
 * NULL on the last page). q and label_ids may be NULL. */
struct gmail_list_query {
    const char *q;         /* Gmail search syntax */
    const char *label_ids; /* one label id, e.g. "INBOX" */
    int max_results;       /* 1..500 */
    const char *page_token;
};
int gmail_list(struct gmail *g, const struct gmail_list_query *q, struct arena *a, char ***ids,
               size_t *n, const char **next_page, struct errinfo *e);

/*
 * One page of messages added since start_history_id (users.history.list with
 * historyTypes=messageAdded); ids of drafts, spam and trash are left out.
 * history_id gets the mailbox's history id of the reply. ERR_NOT_FOUND when
 * start_history_id is too old: the caller syncs in full.
 */
int gmail_history(struct gmail *g, const char *start_history_id, const char *page_token,
                  struct arena *a, char ***ids, size_t *n, const char **next_page,
                  char history_id[GMAIL_ID_MAX], struct errinfo *e);

/*
 * users.messages.get with format=raw: the RFC 5322 bytes into raw (reset
 * first). *skip is true for a draft, spam or trash message. ERR_TOO_BIG for
 * a message over INBOX_MAX_MESSAGE; ERR_INVALID when raw is not base64url.
 */
int gmail_get_raw(struct gmail *g, const char *id, struct buf *raw, bool *skip, struct errinfo *e);

/* How far a sync got: messages listed (to fetch), fetched, and what the
 * pipeline made of them (rejected also counts the messages Gmail gave that
 * cannot be read). */
struct gmail_progress {
    uint64_t listed, fetched, imported, duplicates, rejected;
    bool full; /* a full listing, not an incremental history sync */
};

/* What connect and sync need; borrowed. */
struct gmail_env {
    struct store *store;
    const char *secret_key; /* seals and opens the stored tokens */
    struct gmail_client_opts client;
    /* Called once the messages to fetch are listed (no transaction open),
     * then in each batch's transaction just before it commits, with the
     * counts as they will be once it has; an error rolls the batch back and
     * ends the sync. NULL: none. */
    int (*progress)(void *arg, const struct gmail_progress *p, struct errinfo *e);
    void *progress_arg;
};

/*
 * Connects the mailbox the tokens (just granted by the provider) belong to:
 * asks Gmail for its address, seals the tokens and stores the integration
 * (connecting the same address again updates it and keeps its sync point).
 * ERR_INVALID without a refresh token (offline access was not granted).
 */
int gmail_connect(const struct gmail_env *env, const char *workspace_id, const char *user_id,
                  const char *access_token, const char *refresh_token, int64_t expires_in,
                  struct arena *a, struct integration *out, struct errinfo *e);

struct gmail_sync_result {
    uint64_t listed, fetched, imported, duplicates, rejected;
    bool full; /* a full listing, not an incremental history sync */
    char history_id[GMAIL_ID_MAX];
};

/*
 * Syncs one connected mailbox (in, as read from the store) into its
 * workspace: the newest max_messages messages the first time (or when the
 * sync point is too old), else the messages added since the last sync.
 * Every message goes through the pipeline (mail/ingest.h) with source
 * "gmail". The integration is stored again: refreshed tokens, the new sync
 * point and time, or the error.
 * ERR_CONFLICT (status set to error) when the mailbox must be connected
 * again: the grant was revoked, Gmail refuses access, or the stored tokens
 * cannot be opened. ERR_TEMPORARY when this mailbox is already being
 * synced in this process, or when Gmail is unavailable (status stays connected,
 * last_error says why; messages imported so far stay, the sync point does
 * not move). ai is borrowed.
 */
int gmail_sync(const struct gmail_env *env, struct ai *ai, struct integration *in, int max_messages,
               struct arena *a, struct gmail_sync_result *out, struct errinfo *e);

/* ---- the sync job (kind GMAIL_JOB_KIND) ---------------------------------- */

/* What a sync job needs to know besides the mailbox (copied into its payload). */
struct gmail_job_spec {
    const char *integration_id;
    int max_messages;
    const char *token_url; /* the provider's token endpoint; NULL: no refresh */
    bool auth_basic;
};

/*
 * Queues a sync of one mailbox, unless one is already queued or running:
 * then *job_id is that job and *created false. One sync per mailbox at a
 * time, also when two requests race (the workspace is locked meanwhile).
 */
int gmail_enqueue(struct store *st, const char *workspace_id, const struct gmail_job_spec *spec,
                  int64_t *job_id, bool *created, struct errinfo *e);

struct queue;
/*
 * Registers the sync job's handler (cfg and ai borrowed for the queue's
 * life). The job records its progress (GET /api/jobs/{id}, the live
 * job_progress event) with every batch; a mailbox that must be connected
 * again (revoked grant) ends it dead with that reason, also kept on the
 * mailbox; Gmail being unavailable retries it with backoff.
 */
void gmail_register(struct queue *q, const struct config *cfg, struct ai *ai);
#endif
