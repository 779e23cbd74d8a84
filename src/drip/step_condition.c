/*
 * The condition step: goes on by its "true" or "false" step depending on
 * the contact's score (above or below a value), a tag, or whether the
 * enrollment's last email was opened, clicked or replied to. The tests a
 * condition can make are a table of their own below.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "drip/drip.h"
#include "drip/step.h"

enum cond_value { COND_NONE, COND_SCORE, COND_TAG };

struct cond_kind {
    const char *name;
    enum cond_value value; /* what config.value holds */
    int (*test)(const struct step_run *r, json_t *value, bool *out, struct errinfo *e);
};

static int score_above(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    *out = r->ct->ai_score > json_integer_value(v);
    return 0;
}

static int score_below(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    *out = r->ct->ai_score < json_integer_value(v);
    return 0;
}

static int has_tag(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    const char *tag = json_string_value(v);
    json_t *tags = json_loads(r->ct->tags ? r->ct->tags : "[]", 0, NULL);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) found =
        found || (json_string_value(t) && strcmp(json_string_value(t), tag) == 0);
    json_decref(tags);
    *out = found;
    return 0;
}

static int opened(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    return step_engaged(r, "opened", out, e);
}

static int clicked(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    return step_engaged(r, "clicked", out, e);
}

static int replied(const struct step_run *r, json_t *v, bool *out, struct errinfo *e)
{
    return step_engaged(r, "replied", out, e);
}

static const struct cond_kind cond_kinds[] = {
    {"score_above", COND_SCORE, score_above}, {"score_below", COND_SCORE, score_below},
    {"has_tag", COND_TAG, has_tag},           {"opened", COND_NONE, opened},
    {"clicked", COND_NONE, clicked},          {"replied", COND_NONE, replied},
};

enum { NCOND = sizeof(cond_kinds) / sizeof(cond_kinds[0]) };

static const struct cond_kind *cond_find(const char *name)
{
    for (size_t i = 0; name && i < NCOND; i++)
        if (strcmp(name, cond_kinds[i].name) == 0)
            return &cond_kinds[i];
    return NULL;
}

static int condition_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    const char *kind;
    int rc = step_cfg_string(cfg, f, "kind", true, 32, &kind, e);
    if (rc)
        return rc;
    const struct cond_kind *k = cond_find(kind);
    if (!k) {
        char names[160];
        size_t len = 0;
        names[0] = '\0';
        for (size_t i = 0; i < NCOND && len < sizeof(names); i++)
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                    cond_kinds[i].name);
        return failf(e, ERR_INVALID, "%s.kind must be one of %s", f, names);
    }
    json_t *v = json_object_get(cfg, "value");
    if (k->value == COND_SCORE) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
            return failf(e, ERR_INVALID, "%s.value must be a score from 0 to 100", f);
    } else if (k->value == COND_TAG) {
        const char *tag;
        if ((rc = step_cfg_string(cfg, f, "value", true, 50, &tag, e)))
            return rc;
        if (!*tag)
            return failf(e, ERR_INVALID, "%s.value must name a tag", f);
    }
    return 0;
}

static int condition_run(struct step_run *r, struct errinfo *e)
{
    struct step_outcome *o = r->o;
    const char *kind = json_string_value(json_object_get(r->config, "kind"));
    const struct cond_kind *k = cond_find(kind);
    bool result = false;
    if (!k)
        return failf(e, ERR_INVALID, "step %s: unknown condition kind", r->step->id);
    int rc = k->test(r, json_object_get(r->config, "value"), &result, e);
    if (rc)
        return rc;
    json_object_set_new(o->meta, "kind", json_string(kind));
    json_object_set_new(o->meta, "result", json_boolean(result));
    if (k->value == COND_SCORE)
        json_object_set_new(o->meta, "score", json_integer(r->ct->ai_score));
    o->status = "success";
    o->next_step = result ? r->step->true_id : r->step->false_id;
    return 0;
}

const struct step_kind step_condition = {
    .name = "condition",
    .branches = true,
    .validate = condition_validate,
    .run = condition_run,
};
