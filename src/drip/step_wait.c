/*
 * The wait step: a fixed duration (a delayed job), or until the
 * enrollment's last email is opened, clicked or replied to, with a timeout
 * (looked at again every DRIP_RECHECK_MS, and when the engagement comes in).
 */
#include <jansson.h>
#include <string.h>

#include "drip/drip.h"
#include "drip/step.h"
#include "store/campaigns.h"

static int wait_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    bool has_d, has_t;
    int64_t d = 0, t = 0;
    int rc = step_cfg_int(cfg, f, "duration_ms", 1, DRIP_WAIT_MAX_MS, &has_d, &d, e);
    if (!rc)
        rc = step_cfg_int(cfg, f, "timeout_ms", 1, DRIP_WAIT_MAX_MS, &has_t, &t, e);
    const char *until;
    if (!rc)
        rc = step_cfg_string(cfg, f, "until", false, 16, &until, e);
    if (rc)
        return rc;
    if (until) {
        if (strcmp(until, "opened") != 0 && strcmp(until, "clicked") != 0 &&
            strcmp(until, "replied") != 0)
            return failf(e, ERR_INVALID, "%s.until must be one of opened, clicked, replied", f);
        if (!has_t)
            return failf(e, ERR_INVALID, "%s.timeout_ms is required with until", f);
        if (has_d)
            return failf(e, ERR_INVALID, "%s: give duration_ms or until, not both", f);
        return 0;
    }
    if (!has_d)
        return failf(e, ERR_INVALID, "%s.duration_ms is required (or until with timeout_ms)", f);
    if (has_t)
        return failf(e, ERR_INVALID, "%s.timeout_ms goes with until", f);
    return 0;
}

static int wait_run(struct step_run *r, struct errinfo *e)
{
    struct step_outcome *o = r->o;
    const struct enrollment *en = r->en;
    int64_t now = r->now;
    const char *until = json_string_value(json_object_get(r->config, "until"));
    o->next_step = r->step->next_id;
    if (!until) {
        int64_t due =
            en->step_started_at + json_integer_value(json_object_get(r->config, "duration_ms"));
        if (now < due) {
            o->hold = true; /* early (a campaign resumed): wait on */
            o->hold_until = due;
            return 0;
        }
        o->status = "success";
        return 0;
    }
    int64_t deadline =
        en->step_started_at + json_integer_value(json_object_get(r->config, "timeout_ms"));
    bool met;
    int rc = step_engaged(r, until, &met, e);
    if (rc)
        return rc;
    if (!met && now < deadline) {
        o->hold = true;
        o->hold_until = deadline < now + DRIP_RECHECK_MS ? deadline : now + DRIP_RECHECK_MS;
        return 0;
    }
    o->status = "success";
    json_object_set_new(o->meta, "until", json_string(until));
    json_object_set_new(o->meta, "met", json_boolean(met));
    json_object_set_new(o->meta, "timedOut", json_boolean(!met));
    return 0;
}

/* A timed wait's job is delayed by its duration; a "wait until" runs at once. */
static int64_t wait_run_at(json_t *cfg, int64_t now)
{
    json_t *d = json_object_get(cfg, "duration_ms");
    return json_is_integer(d) ? now + json_integer_value(d) : now;
}

const struct step_kind step_wait = {
    .name = "wait",
    .validate = wait_validate,
    .run = wait_run,
    .run_at = wait_run_at,
};
