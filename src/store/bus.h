/*
 * Live events across processes. On PostgreSQL several `leadflow serve` and
 * `leadflow worker` processes share one database; an event raised in one
 * (a hot lead found by an import, an alert raised by a worker) must reach
 * the dashboards connected to every server. The bus carries events through
 * PostgreSQL's LISTEN/NOTIFY on the channel "leadflow_events": a process
 * publishes with NOTIFY, every other process's bus receives and hands the
 * event to its hub. The publishing process delivers to its own hub directly,
 * so its dashboards never wait on the database; it skips its own
 * notifications when they come back.
 *
 * On SQLite there is one node and nothing to fan out: bus_open returns NULL
 * with no error.
 *
 * Events are hints for the dashboards, not records: one published while a
 * process has lost its connection is kept (up to BUS_MAX_PENDING) and sent
 * after it reconnects; one sent while another process was disconnected is
 * not seen there (its dashboard reloads data on reconnect).
 */
#ifndef LEADFLOW_STORE_BUS_H
#define LEADFLOW_STORE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/events.h"

enum {
    BUS_MAX_PENDING = 10000, /* events queued while disconnected; the oldest go past it */
    BUS_CHUNK = 7600,        /* bytes of an event per notification (the limit is 8000) */
};

struct bus;

/*
 * Opens the bus of the database at db_url: a thread with its own connection
 * that LISTENs and sends. deliver (may be NULL: a process without
 * dashboards only publishes) gets the events other processes publish, on
 * the bus thread. Returns NULL: on SQLite with e->code 0; when the first
 * connection fails, with the error in e.
 */
struct bus *bus_open(const char *db_url, events_sink_fn deliver, void *arg, struct errinfo *e);

/* Sends what is still queued (waiting at most a second), stops the thread,
 * frees b. NULL is fine. */
void bus_close(struct bus *b);

/* Queues an event for the other processes and returns at once. Matches
 * events_sink_fn (bus is a struct bus). */
void bus_publish(void *bus, const char *workspace_id, const char *type, const char *data_json);

struct bus_stats {
    bool connected;
    uint64_t sent, received, dropped;
};

void bus_stats(struct bus *b, struct bus_stats *out);

/*
 * The wire form, exposed for the unit tests. An event is the text
 * "<workspace>\t<type>\t<data>" cut into notifications of at most BUS_CHUNK
 * bytes of it, each "<k>/<n>\t<part>" (k from 1; cuts fall between UTF-8
 * characters, since a payload must be valid text). One transaction sends
 * all parts of an event, so they arrive in order and together.
 */

/* Cuts text into payloads; calls fn for each. Returns the number of parts. */
size_t bus_encode(const char *workspace_id, const char *type, const char *data_json,
                  void (*fn)(void *arg, const char *payload, size_t len), void *arg);

/* Reassembles the parts of one sender. */
struct bus_rx {
    char *text;
    size_t len, cap;
    unsigned next; /* the part expected next; 0: none started */
};

/*
 * Takes one payload. Returns 1 with *ws, *type, *data pointing into rx (valid
 * until the next call) when it completes an event, 0 when more parts are to
 * come, -1 when the payload is malformed or out of sequence (what was
 * gathered is dropped).
 */
int bus_rx_take(struct bus_rx *rx, const char *payload, const char **ws, const char **type,
                const char **data);
void bus_rx_release(struct bus_rx *rx);

#endif
