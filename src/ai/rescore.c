/*
 * Refreshing a stored score from the contact's recent activity; the same
 * steps the import pipeline takes after a batch, for events that arrive one
 * at a time (opens, clicks).
 */
#include "ai/rescore.h"

#include "alerts/alerts.h"
#include "base/buf.h"
#include "base/json.h"
#include "drip/drip.h"
#include "store/contacts.h"

enum { DAY_MS = 24 * 60 * 60 * 1000, REASONS_JSON_MAX = 4096 };

int score_refresh(struct store *st, const char *workspace_id, const char *contact_id, int64_t now,
                  struct arena *a, struct score *out, int *previous, struct errinfo *e)
{
    struct activity *acts;
    size_t n;
    char title[STORE_NAME_MAX], status[16];
    int rc = store_contact_activity(st, workspace_id, contact_id,
                                    now - (int64_t)SCORE_WINDOW_DAYS * DAY_MS, SCORE_ACTIVITY_MAX,
                                    a, &acts, &n, title, status, e);
    if (rc)
        return rc;
    struct score_input in = {acts, n, title, status, now};
    struct score sc;
    score_compute(&in, &sc);

    struct buf json;
    struct jw w;
    buf_init(&json, REASONS_JSON_MAX);
    jw_init(&w, &json);
    jw_arr_begin(&w);
    for (int i = 0; i < sc.nreasons; i++)
        jw_str(&w, sc.reasons[i]);
    jw_arr_end(&w);
    if (jw_finish(&w)) {
        buf_release(&json);
        return failf(e, ERR_INTERNAL, "score reasons too long");
    }
    int prev = 0, total = sc.total;
    rc = store_contact_score_save(st, workspace_id, contact_id, &sc, buf_str(&json), now, &prev,
                                  &total, e);
    buf_release(&json);
    /* The stored total holds the contact's campaign points (score steps):
     * the hot-lead check and the triggers judge that one. */
    sc.total = total;
    if (!rc && total > prev)
        rc = drip_on_score(st, workspace_id, contact_id, prev, total, NULL, e);
    if (!rc && prev != sc.total)
        rc = alerts_on_score(st, workspace_id, contact_id, prev, sc.total, e);
    if (rc)
        return rc;
    if (out)
        *out = sc;
    if (previous)
        *previous = prev;
    return 0;
}
