/*
 * Refreshing a contact's stored score (DESIGN.md §6): read its activity in
 * the last SCORE_WINDOW_DAYS from the store, compute the score, save the
 * components, total and reasons (score_history gets a row when the total
 * changed). Every path that changes what a score depends on calls this.
 */
#ifndef LEADFLOW_AI_RESCORE_H
#define LEADFLOW_AI_RESCORE_H

#include <stdint.h>

#include "ai/score.h"
#include "base/arena.h"
#include "base/err.h"
#include "store/contacts.h"
#include "store/store.h"

enum { SCORE_ACTIVITY_MAX = 500 /* newest activities read per contact */ };

/*
 * Recomputes and stores the score of contact_id in workspace_id at now.
 * out (may be NULL) gets the new score and *previous (may be NULL) the old
 * total; out->total is the stored total (the computed one plus the
 * contact's campaign points, within 0..100), the one the hot-lead check
 * compares. A total that went up enrolls the contact into the campaigns
 * whose score_above trigger it crossed (drip_on_score), on the caller's
 * connection (inside its transaction). a holds the activity read (scratch; the caller releases it).
 * Returns 0, ERR_NOT_FOUND when the contact is not in the workspace, or the
 * store's error.
 */
int score_refresh(struct store *st, const char *workspace_id, const char *contact_id, int64_t now,
                  struct arena *a, struct score *out, int *previous, struct errinfo *e);

#endif
