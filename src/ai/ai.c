/*
 * The choice of AI provider from the configuration: the Anthropic Messages
 * API when a key is set (with the offline analyzer as its fallback), else the
 * offline analyzer alone.
 */
#include "ai/ai.h"

#include "base/log.h"

struct ai *ai_new(const struct config *cfg)
{
    struct ai *offline = ai_offline_new();
    if (!cfg->anthropic_api_key || !*cfg->anthropic_api_key)
        return offline;
    struct errinfo e;
    errinfo_clear(&e);
    struct ai *ai = ai_anthropic_new(cfg, offline, &e);
    if (!ai) {
        log_warn("ai.config",
                 "the Anthropic provider is not usable (%s); using the offline analyzer", e.msg);
        return offline;
    }
    return ai;
}
