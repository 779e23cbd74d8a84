/*
 * The tag step: adds and removes tags of the contact (at most 50 tags),
 * inside the step's transaction; campaigns triggered by a tag it added
 * enroll the contact in the same transaction.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "crm/crm.h"
#include "drip/drip.h"
#include "drip/step.h"
#include "store/contacts.h"

static int check_tag_list(json_t *cfg, const char *f, const char *key, size_t *count,
                          struct errinfo *e)
{
    json_t *v = json_object_get(cfg, key);
    *count = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 50)
        return failf(e, ERR_INVALID, "%s.%s must be an array of at most 50 tags", f, key);
    size_t i;
    json_t *t;
    json_array_foreach(v, i, t)
    {
        const char *s = json_string_value(t);
        if (!s || !*s || strlen(s) > 50 || strlen(s) != json_string_length(t))
            return failf(e, ERR_INVALID, "%s.%s[%zu] must be a tag of 1 to 50 characters", f, key,
                         i);
    }
    *count = json_array_size(v);
    return 0;
}

static int tag_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    size_t add, rm;
    int rc = check_tag_list(cfg, f, "add", &add, e);
    if (!rc)
        rc = check_tag_list(cfg, f, "remove", &rm, e);
    if (!rc && add + rm == 0)
        rc = failf(e, ERR_INVALID, "%s needs add or remove with at least one tag", f);
    return rc;
}

/* Applies tag changes to the contact (inside the transaction). */
static int tag_apply(struct step_run *r, struct errinfo *e)
{
    struct store *st = r->st;
    const char *ws = r->ws, *contact_id = r->en->contact_id;
    json_t *cfg = r->config;
    struct arena *a = r->a;
    struct step_outcome *o = r->o;
    struct contact ct;
    int rc = store_contact_get(st, ws, contact_id, a, &ct, e);
    if (rc)
        return rc;
    json_t *tags = json_loads(ct.tags ? ct.tags : "[]", 0, NULL);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(cfg, "remove"), i, t)
    {
        for (size_t k = json_array_size(tags); k-- > 0;)
            if (json_equal(json_array_get(tags, k), t))
                json_array_remove(tags, k);
    }
    json_array_foreach(json_object_get(cfg, "add"), i, t)
    {
        bool dup = false;
        size_t k;
        json_t *u;
        json_array_foreach(tags, k, u) dup = dup || json_equal(u, t);
        if (!dup && json_array_size(tags) < 50)
            json_array_append(tags, t);
    }
    char *text = json_dumps(tags, JSON_COMPACT);
    struct contact_fields f = {.set = CF_TAGS, .tags = text};
    struct contact out;
    /* Campaigns triggered by a tag this step added enroll the contact. */
    rc = crm_contact_update(st, ws, contact_id, &f, "a tag step", clock_now_ms(), a, &out, e);
    json_object_set(o->meta, "tags", tags);
    json_decref(tags);
    free(text);
    o->status = "success";
    return rc;
}

const struct step_kind step_tag = {
    .name = "tag",
    .validate = tag_validate,
    .apply = tag_apply,
};
