/*
 * Private to src/drip/: what drip.c (the API's side) and run.c (the job
 * handler) share.
 */
#ifndef LEADFLOW_DRIP_DRIP_INT_H
#define LEADFLOW_DRIP_DRIP_INT_H

#include "drip/drip.h"

/*
 * Enqueues the job that executes step_id of an enrollment at its seq, at
 * run_at (0: now), with the key "drip:<enrollment>:<step>:<seq>": on the
 * calling thread's connection, inside the caller's transaction.
 */
int drip_enqueue_step(struct store *st, const char *workspace_id, const char *enrollment_id,
                      const char *step_id, int64_t seq, int64_t run_at, struct errinfo *e);

/* When a step entered at now runs: now + duration_ms for a timed wait, else now. */
int64_t drip_step_run_at(const struct campaign_step *s, int64_t now);

#endif
