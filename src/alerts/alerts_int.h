/*
 * Private to src/alerts/: the process's settings and the delivery counters
 * shared by the processor, the delivery handler and the channels.
 */
#ifndef LEADFLOW_ALERTS_ALERTS_INT_H
#define LEADFLOW_ALERTS_ALERTS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "alerts/alerts.h"

struct alerts_settings {
    int64_t dedup_ms;
    int max_attempts;
    int64_t backoff_ms;
    bool allow_private;
    const struct config *cfg; /* NULL until alerts_configure */
};

extern struct alerts_settings alerts_cfg;

/* Counts one delivery attempt of a channel (its index in channel_kinds) for /metrics. */
void alerts_count_delivery(int channel, bool delivered);

#endif
