/*
 * The score step: adds campaign points (-100..100) to the contact's score
 * inside the step's transaction. A rise fires score_above triggers, and a
 * crossing into hot queues the contact's draft, as the pipeline does.
 */
#include <jansson.h>

#include "ai/content.h"
#include "ai/score.h"
#include "base/clock.h"
#include "drip/drip.h"
#include "drip/step.h"

static int score_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    bool has;
    int64_t d = 0;
    int rc = step_cfg_int(cfg, f, "delta", -100, 100, &has, &d, e);
    if (!rc && (!has || d == 0))
        rc = failf(e, ERR_INVALID, "%s.delta must be a non-zero integer from -100 to 100", f);
    return rc;
}

static int score_apply(struct step_run *r, struct errinfo *e)
{
    struct store *st = r->st;
    const char *ws = r->ws, *contact_id = r->en->contact_id;
    struct step_outcome *o = r->o;
    int before = 0, after = 0;
    int delta = (int)json_integer_value(json_object_get(r->config, "delta"));
    int rc = st->ops->contact_score_adjust(st, ws, contact_id, delta, clock_now_ms(), &before,
                                           &after, e);
    json_object_set_new(o->meta, "delta", json_integer(delta));
    json_object_set_new(o->meta, "before", json_integer(before));
    json_object_set_new(o->meta, "after", json_integer(after));
    o->status = "success";
    /* What a rise in score does elsewhere: score_above triggers, and a
     * crossing into hot gets its draft job (committed with the step). */
    if (!rc)
        rc = drip_on_score(st, ws, contact_id, before, after, NULL, e);
    if (!rc && before < SCORE_HOT && after >= SCORE_HOT) {
        rc = content_enqueue_draft(st, ws, contact_id, after, CONTENT_REASON_HOT, e);
        o->hot = after;
    }
    return rc;
}

const struct step_kind step_score = {
    .name = "score",
    .validate = score_validate,
    .apply = score_apply,
};
