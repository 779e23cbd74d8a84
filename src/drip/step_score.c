/*
 * The score step: adds campaign points (-100..100) to the contact's score
 * inside the step's transaction; the change of score sets off what any
 * change of score does (crm/crm.h).
 */
#include <jansson.h>

#include "ai/score.h"
#include "base/clock.h"
#include "crm/crm.h"
#include "drip/drip.h"
#include "drip/step.h"
#include "store/contacts.h"

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
    int rc =
        store_contact_score_adjust(st, ws, contact_id, delta, clock_now_ms(), &before, &after, e);
    json_object_set_new(o->meta, "delta", json_integer(delta));
    json_object_set_new(o->meta, "before", json_integer(before));
    json_object_set_new(o->meta, "after", json_integer(after));
    o->status = "success";
    /* What a change of score does elsewhere commits with the step. */
    struct crm_change c = {.workspace_id = ws,
                           .contact_id = contact_id,
                           .what = CRM_SCORE,
                           .score_before = before,
                           .score_after = after,
                           .source = "a score step"};
    if (!rc && before != after)
        rc = crm_contact_changed(st, &c, e);
    return rc;
}

const struct step_kind step_score = {
    .name = "score",
    .validate = score_validate,
    .apply = score_apply,
};
