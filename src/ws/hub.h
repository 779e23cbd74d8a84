/*
 * The WebSocket hub (RFC 6455): dashboards connect to GET /ws, upgraded by
 * libmicrohttpd and framed with libwslay (src/ws/conn.c is the only file that
 * includes wslay). A connection is authenticated by the session cookie (and
 * its Origin checked) and subscribed to every workspace its user belongs to.
 * One push thread serves every upgraded socket, woken by an eventfd. An event
 * is encoded into one frame shared by all its subscribers; a client that
 * does not read is dropped instead of growing memory. Ping every 30 s; a
 * client that does not answer is closed.
 */
#ifndef LEADFLOW_WS_HUB_H
#define LEADFLOW_WS_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct hub;

struct hub_opts {
    unsigned max_clients;   /* 0: 20000 */
    size_t max_queue_bytes; /* per client before it is dropped; 0: 1 MiB */
    int64_t ping_ms;        /* 0: 30000 */
    size_t max_msg_bytes;   /* largest message a client may send (1009 past it); 0: 64 KiB */
};

/* Starts the push thread; NULL with ERR_IO in e when it cannot. */
struct hub *hub_new(const struct hub_opts *o, struct errinfo *e);
/* Stops the push thread, closes every client (1001 going away) and frees h.
 * No publisher or upgrade may run any more. */
void hub_free(struct hub *h);

/*
 * Sends {"type":type,"workspaceId":ws,"data":data_json} to every client
 * subscribed to workspace_id. Thread-safe, returns at once (the push thread
 * writes). Matches events_sink_fn, so serve installs it as the event sink.
 */
void hub_publish(void *hub, const char *workspace_id, const char *type, const char *data_json);

/* Clients connected now (for /metrics and tests). */
size_t hub_clients(const struct hub *h);

/*
 * A client between its handshake and its upgrade. GET /ws makes one before
 * it answers 101, then hands it to the HTTP server as the reply's upgrade:
 * hub_adopt and hub_pending_drop match struct http_upgrade's fn and drop.
 */
struct hub_pending;

/*
 * Reserves a place for a client of user_id subscribed to the n workspaces
 * (ids copied). Returns NULL with ERR_TEMPORARY in e when max_clients are
 * connected or reserved already.
 */
struct hub_pending *hub_pending_new(struct hub *h, const char *user_id,
                                    const char *const *workspace_ids, size_t n, struct errinfo *e);

/*
 * Takes over pending (a struct hub_pending) and fd, an upgraded socket;
 * extra are bytes the client sent already (copied). Thread-safe; returns at
 * once: the push thread adds the client.
 */
void hub_adopt(void *pending, int fd, const char *extra, size_t nextra);

/* Frees pending (a struct hub_pending) and its reservation: no upgrade came. */
void hub_pending_drop(void *pending);

#endif
