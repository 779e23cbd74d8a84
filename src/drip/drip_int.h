/*
 * Private to src/drip/: what drip.c (the API's side) and run.c (the job
 * handler) share.
 */
#ifndef LEADFLOW_DRIP_DRIP_INT_H
#define LEADFLOW_DRIP_DRIP_INT_H

#include "drip/drip.h"
#include "store/campaigns.h"

/*
 * Enqueues the job that executes step_id of an enrollment at its seq, at
 * run_at (0: now), with the key "drip:<enrollment>:<step>:<seq>": on the
 * calling thread's connection, inside the caller's transaction.
 */
int drip_enqueue_step(struct store *st, const char *workspace_id, const char *enrollment_id,
                      const char *step_id, int64_t seq, int64_t run_at, struct errinfo *e);

/*
 * Enrolls contacts ids[0..n) into campaign c (active; first is its step at
 * position 0) on the calling thread's connection, inside the caller's
 * transaction: each gets an enrollment and the first step's job, or a
 * reason in out[i] (not_found, unsubscribed, already_enrolled,
 * already_active). a holds the contacts read.
 */
int drip_enroll_in_tx(struct store *st, const char *ws, const struct campaign *c,
                      const struct campaign_step *first, const char *const *ids, size_t n,
                      struct drip_enroll_result *out, struct arena *a, struct errinfo *e);

/* When a step entered at now runs: as its kind says (a timed wait: now + duration_ms), else now. */
int64_t drip_step_run_at(const struct campaign_step *s, int64_t now);

/* LEADFLOW_WEBHOOK_ALLOW_PRIVATE as drip_configure took it (false before). */
bool drip_private_allowed(void);

#endif
