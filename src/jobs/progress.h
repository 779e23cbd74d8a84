/*
 * A long job's progress, one path for every kind that keeps one (email
 * imports, Gmail syncs): the JSON object is written into jobs.progress on
 * the calling thread's connection, so inside a batch's transaction it
 * commits with the work it counts, and the live job_progress event
 * ({"id","kind","status","progress"}) goes to the workspace once that
 * commit is done (at once when no transaction is open).
 */
#ifndef LEADFLOW_JOBS_PROGRESS_H
#define LEADFLOW_JOBS_PROGRESS_H

#include "base/err.h"
#include "jobs/queue.h"
#include "store/store.h"

/* Records progress (a JSON object text) for j with the status the event
 * shows (running, done, failed, dead). ERR_NOT_FOUND when the job is gone. */
int job_progress_record(struct store *st, const struct job *j, const char *progress,
                        const char *status, struct errinfo *e);

/* The status a job shows once its handler returns rc: done, dead (rc is
 * ERR_INVALID, or this was the last attempt) or failed (it is retried). */
const char *job_progress_outcome(const struct job *j, int rc);

#endif
