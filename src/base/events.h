/*
 * Live events for the dashboards: a domain module (the pipeline, the
 * content agent, later alerts) publishes "something happened in workspace
 * W" without knowing who listens. `serve` installs the sink (the WebSocket
 * hub); in a process without one (the CLI) publishing does nothing.
 */
#ifndef LEADFLOW_BASE_EVENTS_H
#define LEADFLOW_BASE_EVENTS_H

/* fn receives the workspace id, the event type ("hot_lead", "draft_ready",
 * "email_processed", "alert") and the event's data as a JSON object text. */
typedef void (*events_sink_fn)(void *arg, const char *workspace_id, const char *type,
                               const char *data_json);

/* Installs (or with fn NULL removes) the process's sink; call before threads start. */
void events_set_sink(events_sink_fn fn, void *arg);

/* Hands the event to the sink, if any. Thread-safe; never blocks on clients. */
void events_publish(const char *workspace_id, const char *type, const char *data_json);

#endif
