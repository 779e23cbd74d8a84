/*
 * The process's one event sink (see events.h).
 */
#include "base/events.h"

#include <stddef.h>

static events_sink_fn sink_fn;
static void *sink_arg;

void events_set_sink(events_sink_fn fn, void *arg)
{
    sink_fn = fn;
    sink_arg = arg;
}

void events_publish(const char *workspace_id, const char *type, const char *data_json)
{
    if (sink_fn && workspace_id && type)
        sink_fn(sink_arg, workspace_id, type, data_json ? data_json : "{}");
}
