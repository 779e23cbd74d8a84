/*
 * Email uploads as jobs: POST /api/emails/import keeps the upload in a file
 * of the upload directory and queues an import_emails job, which runs it
 * through the pipeline (mail/ingest.h) in short batches, records its
 * progress with each batch (GET /api/jobs/{id}, the live job_progress
 * event) and removes the file when the job ends, done or dead.
 */
#ifndef LEADFLOW_MAIL_UPLOAD_H
#define LEADFLOW_MAIL_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/config.h"
#include "base/err.h"
#include "jobs/queue.h"
#include "store/store.h"

#define UPLOAD_JOB_KIND "import_emails"

enum {
    UPLOAD_BATCH = 256,     /* messages per transaction at most */
    UPLOAD_BATCH_MS = 50,   /* or this long, whichever comes first */
    UPLOAD_ATTEMPTS = 3,    /* a database failure is retried; a crashed run resumes */
    UPLOAD_REJECTIONS = 20, /* rejected messages named in the progress */
};

/* The directory uploads are kept in: upload_dir (LEADFLOW_UPLOAD_DIR), else
 * "uploads" under the data directory (the SQLite database's, else the
 * working directory). Every process that runs the jobs must see it. */
void upload_dir(const struct config *cfg, char *out, size_t n);

/* Creates the upload directory (0700) when missing. */
int upload_dir_make(const char *dir, struct errinfo *e);

/*
 * Queues the import of the file at path (in dir, which the job then owns)
 * of size bytes into the workspace; *id is the job's. ERR_INVALID when the
 * file is not in dir.
 */
int upload_enqueue(struct store *st, const char *workspace_id, const char *dir, const char *path,
                   uint64_t size, int64_t *id, struct errinfo *e);

/* Registers the job's handler; cfg and ai are borrowed for the queue's life. */
void upload_register(struct queue *q, const struct config *cfg, struct ai *ai);

#endif
