/*
 * Campaign triggers (drip/drip.h): a contact is created, gets a tag, or
 * its score crosses a threshold upwards, and every active campaign of the
 * workspace with that trigger enrolls it, inside the transaction of the
 * change itself (the enrollment and its first job commit with it).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "drip/drip_int.h"
#include "store/campaigns.h"

enum { TRIGGER_TAG_MAX = 50 };

static const char *const trigger_types[] = {"manual", "contact_created", "tag_added",
                                            "score_above"};

int drip_trigger_check(struct json_t *t, struct errinfo *e)
{
    if (!t || json_is_null(t))
        return 0;
    if (!json_is_object(t))
        return failf(e, ERR_INVALID, "trigger must be an object or null");
    const char *type = json_string_value(json_object_get(t, "type"));
    if (!type)
        return failf(e, ERR_INVALID,
                     "trigger.type is required: manual, contact_created, tag_added or "
                     "score_above");
    bool known = false;
    for (size_t i = 0; i < sizeof(trigger_types) / sizeof(trigger_types[0]); i++)
        known = known || strcmp(type, trigger_types[i]) == 0;
    if (!known)
        return failf(e, ERR_INVALID,
                     "trigger.type must be one of manual, contact_created, tag_added, "
                     "score_above");
    const char *field = NULL; /* the one other key the type takes */
    if (strcmp(type, "tag_added") == 0) {
        field = "tag";
        json_t *v = json_object_get(t, "tag");
        const char *tag = json_string_value(v);
        if (!tag || !*tag || strlen(tag) > TRIGGER_TAG_MAX || strlen(tag) != json_string_length(v))
            return failf(e, ERR_INVALID,
                         "trigger.tag is required for tag_added: a tag of 1 to %d characters",
                         TRIGGER_TAG_MAX);
    } else if (strcmp(type, "score_above") == 0) {
        field = "threshold";
        json_t *v = json_object_get(t, "threshold");
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
            return failf(e, ERR_INVALID,
                         "trigger.threshold is required for score_above: an integer from 1 to "
                         "100");
    }
    const char *key;
    json_t *v;
    json_object_foreach(t, key, v)
    {
        if (strcmp(key, "type") != 0 && !(field && strcmp(key, field) == 0))
            return failf(e, ERR_INVALID, "trigger.%s is not a field of a %s trigger", key, type);
    }
    return 0;
}

/* What happened, for matching each campaign's trigger. */
struct event {
    const char *type;
    json_t *added; /* tag_added: the tags that are new */
    int before, after;
};

static bool matches(const struct event *ev, const char *trigger_text)
{
    json_t *t = json_loads(trigger_text ? trigger_text : "null", 0, NULL);
    bool yes = false;
    if (strcmp(ev->type, "contact_created") == 0) {
        yes = true;
    } else if (strcmp(ev->type, "tag_added") == 0) {
        json_t *tag = json_object_get(t, "tag");
        size_t i;
        json_t *a;
        json_array_foreach(ev->added, i, a) yes = yes || json_equal(a, tag);
    } else {
        json_int_t th = json_integer_value(json_object_get(t, "threshold"));
        yes = th >= 1 && ev->before < th && th <= ev->after;
    }
    json_decref(t);
    return yes;
}

static int fire(struct store *st, const char *ws, const char *contact_id, const struct event *ev,
                int *count, struct errinfo *e)
{
    if (count)
        *count = 0;
    char stack[4096];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct campaign *rows;
    size_t n;
    int rc = store_campaign_triggered(st, ws, ev->type, &a, &rows, &n, e);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!matches(ev, rows[i].trigger))
            continue;
        struct campaign_step *steps;
        size_t nsteps;
        rc = store_campaign_steps(st, ws, rows[i].id, &a, &steps, &nsteps, e);
        if (rc || nsteps == 0)
            continue;
        const char *ids[1] = {contact_id};
        struct drip_enroll_result r;
        rc = drip_enroll_in_tx(st, ws, &rows[i], &steps[0], ids, 1, &r, &a, e);
        if (!rc && !r.reason && count)
            (*count)++;
    }
    arena_release(&a);
    return rc;
}

int drip_on_contact_created(struct store *st, const char *workspace_id, const char *contact_id,
                            int *n, struct errinfo *e)
{
    struct event ev = {.type = "contact_created"};
    return fire(st, workspace_id, contact_id, &ev, n, e);
}

int drip_on_tags(struct store *st, const char *workspace_id, const char *contact_id,
                 const char *tags_before, const char *tags_after, int *n, struct errinfo *e)
{
    if (n)
        *n = 0;
    json_t *before = json_loads(tags_before ? tags_before : "[]", 0, NULL);
    json_t *after = json_loads(tags_after ? tags_after : "[]", 0, NULL);
    json_t *added = json_array();
    size_t i, k;
    json_t *t, *u;
    json_array_foreach(after, i, t)
    {
        bool had = false;
        json_array_foreach(before, k, u) had = had || json_equal(t, u);
        if (!had)
            json_array_append(added, t);
    }
    int rc = 0;
    if (json_array_size(added) > 0) {
        struct event ev = {.type = "tag_added", .added = added};
        rc = fire(st, workspace_id, contact_id, &ev, n, e);
    }
    json_decref(added);
    json_decref(before);
    json_decref(after);
    return rc;
}

int drip_on_score(struct store *st, const char *workspace_id, const char *contact_id, int before,
                  int after, int *n, struct errinfo *e)
{
    if (n)
        *n = 0;
    if (after <= before)
        return 0;
    struct event ev = {.type = "score_above", .before = before, .after = after};
    return fire(st, workspace_id, contact_id, &ev, n, e);
}
