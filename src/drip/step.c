/*
 * The table of drip step kinds (drip/step.h) and what the kinds share: the
 * lookup by name, config field checks, and the engagement of the
 * enrollment's last email. A new kind is one file (drip/step_<name>.c)
 * and its line here, in the declarations and in the table.
 */
#include "drip/step.h"
#include "store/campaigns.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* One line each here and in the table (as nginx's module list). */
extern const struct step_kind step_email;
extern const struct step_kind step_wait;
extern const struct step_kind step_condition;
extern const struct step_kind step_tag;
extern const struct step_kind step_score;
extern const struct step_kind step_webhook;

const struct step_kind *const step_kinds[] = {
    &step_email, &step_wait, &step_condition, &step_tag, &step_score, &step_webhook,
};

const size_t step_nkinds = sizeof(step_kinds) / sizeof(step_kinds[0]);

const struct step_kind *step_kind_find(const char *name)
{
    for (size_t i = 0; name && i < step_nkinds; i++)
        if (strcmp(name, step_kinds[i]->name) == 0)
            return step_kinds[i];
    return NULL;
}

int step_kind_lookup(const char *name, const char *field, const struct step_kind **out,
                     struct errinfo *e)
{
    if ((*out = step_kind_find(name)))
        return 0;
    char names[256];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < step_nkinds && len < sizeof(names); i++)
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                step_kinds[i]->name);
    return failf(e, ERR_INVALID, "%s must be one of %s", field, names);
}

int step_cfg_string(json_t *cfg, const char *field, const char *key, bool required, size_t max,
                    const char **out, struct errinfo *e)
{
    *out = NULL;
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v))
        return required ? failf(e, ERR_INVALID, "%s.%s is required", field, key) : 0;
    const char *s = json_string_value(v);
    if (!s)
        return failf(e, ERR_INVALID, "%s.%s must be a string", field, key);
    if (strlen(s) != json_string_length(v))
        return failf(e, ERR_INVALID, "%s.%s must not contain NUL characters", field, key);
    if (strlen(s) > max)
        return failf(e, ERR_INVALID, "%s.%s is longer than %zu bytes", field, key, max);
    *out = s;
    return 0;
}

int step_cfg_int(json_t *cfg, const char *field, const char *key, int64_t lo, int64_t hi,
                 bool *present, int64_t *out, struct errinfo *e)
{
    json_t *v = json_object_get(cfg, key);
    *present = v && !json_is_null(v);
    if (!*present)
        return 0;
    if (!json_is_integer(v))
        return failf(e, ERR_INVALID, "%s.%s must be an integer", field, key);
    *out = json_integer_value(v);
    if (*out < lo || *out > hi)
        return failf(e, ERR_INVALID, "%s.%s must be between %lld and %lld", field, key,
                     (long long)lo, (long long)hi);
    return 0;
}

int step_engaged(const struct step_run *r, const char *kind, bool *out, struct errinfo *e)
{
    struct email_engagement g;
    memset(&g, 0, sizeof(g));
    *out = false;
    if (r->en->last_email_id[0]) {
        int rc = store_email_engagement(r->st, r->ws, r->en->last_email_id, &g, e);
        if (rc)
            return rc;
    }
    if (strcmp(kind, "opened") == 0)
        *out = g.opened;
    else if (strcmp(kind, "clicked") == 0)
        *out = g.clicked;
    else
        *out = g.replied;
    return 0;
}
