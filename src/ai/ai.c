/*
 * The choice of AI provider from the configuration: a table of the
 * providers, looked up by the ai_provider setting. The remote providers get
 * the offline analyzer as their fallback; when ai_provider is unset, the
 * Anthropic API is used if its key is set, else the offline analyzer alone.
 */
#include "ai/ai.h"

#include <string.h>

#include "base/log.h"

struct ai_provider {
    const char *name; /* the ai_provider setting's value */
    /* NULL: the offline analyzer itself */
    struct ai *(*make)(const struct config *cfg, struct ai *fallback, struct errinfo *e);
};

static const struct ai_provider ai_providers[] = {
    {"offline", NULL},
    {"anthropic", ai_anthropic_new},
    {"openai", ai_openai_new},
};

struct ai *ai_new(const struct config *cfg)
{
    struct ai *offline = ai_offline_new();
    const char *name = cfg->ai_provider;
    if (!name)
        name = cfg->anthropic_api_key && *cfg->anthropic_api_key ? "anthropic" : "offline";
    const struct ai_provider *p = NULL;
    for (size_t i = 0; i < sizeof(ai_providers) / sizeof(ai_providers[0]); i++)
        if (strcmp(ai_providers[i].name, name) == 0)
            p = &ai_providers[i];
    if (!p) {
        log_warn("ai.config", "unknown AI provider \"%.32s\"; using the offline analyzer", name);
        return offline;
    }
    if (!p->make)
        return offline;
    struct errinfo e;
    errinfo_clear(&e);
    struct ai *ai = p->make(cfg, offline, &e);
    if (!ai) {
        log_warn("ai.config", "the %s provider is not usable (%s); using the offline analyzer",
                 p->name, e.msg);
        return offline;
    }
    return ai;
}
