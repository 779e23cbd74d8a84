/*
 * The JSON API: one file per resource, each exporting its route table.
 * Handlers parse and validate, call a domain module, and reply; they get the
 * application context from req->ctx.
 */
#ifndef LEADFLOW_API_API_H
#define LEADFLOW_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/store.h"

struct api_ctx {
    const struct config *cfg; /* borrowed */
    struct store *store;      /* borrowed */
    struct http_metrics *metrics;
    int64_t started_ms;
};

/* Adds every route table of the API to rt. */
void api_register(struct router *rt);

extern const struct route api_health_routes[];
extern const size_t api_health_nroutes;

#endif
