/*
 * Private to src/alerts/: the process's settings, the delivery counters
 * and channel names shared by the processor and the delivery handler.
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

/* The index of a channel name in alert_channel_names, or -1. */
int alert_channel_index(const char *name);
/* Counts one delivery attempt of a channel for /metrics. */
void alerts_count_delivery(int channel, bool delivered);

#endif
