/*
 * Private to the SQLite backend: the job queue's functions of struct
 * store_ops (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_JOBS_H
#define LEADFLOW_STORE_SQLITE_JOBS_H

#include "store/sqlite_int.h"

int sq_job_insert(struct store *st, const char *workspace_id, const struct job_new *j, int64_t now,
                  int64_t *id, bool *created, struct errinfo *e);
int sq_job_claim(struct store *st, struct job_finish *done, size_t ndone, const char *worker,
                 int64_t now, int64_t lease_ms, bool lost_first, size_t max, struct arena *a,
                 struct job_row *out, size_t *n, struct errinfo *e);
int sq_job_finish(struct store *st, const struct job_finish *f, int64_t now, bool *applied,
                  struct errinfo *e);
int sq_job_renew(struct store *st, const char *worker, struct job_held *held, size_t n, int64_t now,
                 int64_t until, struct errinfo *e);
int sq_job_purge(struct store *st, int64_t before, int limit, int64_t *deleted, struct errinfo *e);

#define SQ_JOB_OPS                                                                                 \
    .job_insert = sq_job_insert, .job_claim = sq_job_claim, .job_finish = sq_job_finish,           \
    .job_purge = sq_job_purge, .job_renew = sq_job_renew

#endif
