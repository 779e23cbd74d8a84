/*
 * The email pipeline: raw message -> MIME parse -> analysis -> contact link
 * -> stored email -> score. Messages are written in batched transactions;
 * every contact a batch touched gets its score recomputed once when the
 * batch commits. The same message (by Message-ID, else a hash of its
 * content) is stored once per workspace. One ingest runs on one thread.
 */
#ifndef LEADFLOW_MAIL_INGEST_H
#define LEADFLOW_MAIL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/err.h"
#include "mail/inbox.h"
#include "store/store.h"

enum { INGEST_BATCH = 16384 };

struct ingest_stats {
    uint64_t seen, imported, duplicates, rejected;
    uint64_t contacts_created, scores_changed;
    uint64_t bytes_done, bytes_total; /* of the current source, when known */
};

struct ingest_opts {
    const char *workspace_id;
    const char *source;    /* import | upload | gmail | imap | demo */
    int64_t time_shift_ms; /* added to every message date (the demo makes its mailbox recent) */
    /* Also outbound, besides the workspace's members: addresses, or
     * "@domain" for a whole domain. */
    const char *const *own_addresses;
    size_t nown;
    /* Called for each rejected message with its origin and reason. */
    void (*on_reject)(void *arg, const char *origin, const struct errinfo *why);
    /* Called after each batch commits. */
    void (*on_batch)(void *arg, const struct ingest_stats *st);
    /* Called in each batch's transaction just before it commits, with the
     * counts as they will be once it has: what it writes commits with the
     * batch (a job's progress). An error rolls the batch back. */
    int (*in_batch)(void *arg, const struct ingest_stats *st, struct errinfo *e);
    void *arg;
    /* A batch commits after this many messages (0: INGEST_BATCH) or once
     * it has been open this long (0: no time bound), whichever comes first:
     * how long other writers may wait for the database. */
    size_t batch_max;
    int64_t batch_ms;
    /* Counts to start from (a resumed import); NULL: zeros. */
    const struct ingest_stats *resume;
};

struct ingest;

/* NULL with e when the workspace's members cannot be read. store and ai are borrowed. */
struct ingest *ingest_new(struct store *st, struct ai *ai, const struct ingest_opts *o,
                          struct errinfo *e);

/*
 * One raw message. Returns 1 when stored, 0 for a duplicate, a negative
 * ERR_* when rejected (e says why; the batch goes on). A database failure
 * rolls back the open batch and returns ERR_DB: the caller should stop.
 */
int ingest_message(struct ingest *g, const char *raw, size_t len, const char *origin,
                   struct errinfo *e);

/* Every message of a source, flushed at the end. Rejected items are counted
 * and reported through on_reject; returns 0 or the first database error. */
int ingest_source(struct ingest *g, struct inbox *in, struct errinfo *e);

/* Commits the open batch and rescores the contacts it touched. */
int ingest_flush(struct ingest *g, struct errinfo *e);

void ingest_get_stats(const struct ingest *g, struct ingest_stats *out);

/* Flushes (errors are logged) and frees. */
void ingest_free(struct ingest *g);

#endif
