/*
 * Alert channels: where an alert goes (email, slack, webhook, in_app), one
 * file per channel (alerts/channel_<name>.c) and one table of them
 * (alerts/channel.c). A rule's channels are checked through their kind
 * when the rule is saved; the alert_deliver job delivers through it.
 */
#ifndef LEADFLOW_ALERTS_CHANNEL_H
#define LEADFLOW_ALERTS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/alerts.h"
#include "store/store.h"

struct json_t;
struct send_chain;

enum {
    CHANNEL_KINDS_MAX = 16, /* the table's size at most (the per-channel counters) */
    CHANNEL_URL_MAX = 2048,
};

/* How one delivery attempt went. */
struct channel_attempt {
    bool ok;
    bool permanent; /* retrying cannot help: the job ends now */
    long status;    /* the HTTP or provider status, 0: none */
    const char *error;
};

/* One delivery attempt of one alert on one channel; everything borrowed. */
struct channel_send {
    struct send_chain *chain; /* the send providers (email) */
    struct store *st;
    const char *ws;
    const struct alert_row *alert;
    const char *target; /* the channel's target, or NULL */
    const char *secret; /* the channel's secret, or NULL */
    int attempt;        /* 1 for the first */
    int64_t now;
    struct arena *a;
};

struct alert_channel {
    const char *name; /* the "type" of a rule's channel, and alert_deliveries.channel */
    /* Delivered inside the process when the alert opens (recorded at once,
     * no job): the dashboards hear of every alert anyway. */
    bool in_process;
    /* Takes a "secret" (the key of a signature); other channels refuse one. */
    bool has_secret;
    /*
     * Checks a channel of a rule being saved (ch: the JSON object, with its
     * "type" and "target" already known to be strings or absent) and sets
     * what is kept ("target", "secret") in clean. field names it in
     * messages ("channels[2]"). 0 or ERR_INVALID.
     */
    int (*validate)(struct json_t *ch, struct json_t *clean, const char *field, struct errinfo *e);
    /* One attempt; sets at (ok, or the error and whether it is permanent). */
    void (*deliver)(const struct channel_send *s, struct channel_attempt *at);
};

/* The channels, in the order the API lists them (alerts/channel.c); each
 * is defined in its file as "const struct alert_channel channel_<name>". */
extern const struct alert_channel *const channel_kinds[];
extern const size_t channel_nkinds;

/* The channel named name, or NULL (name may be NULL). */
const struct alert_channel *channel_find(const char *name);
/* Its position in channel_kinds, or -1. */
int channel_index(const char *name);
/*
 * The channel named name into *out; else ERR_INVALID "<field> must be one
 * of email, slack, ..." (every name of the table).
 */
int channel_lookup(const char *name, const char *field, const struct alert_channel **out,
                   struct errinfo *e);

/* An http(s) URL of at most CHANNEL_URL_MAX bytes without blanks. */
bool channel_is_http_url(const char *s);

/*
 * The target of a channel that POSTs, when a rule is saved: an http(s) URL
 * (channel_is_http_url) whose host the SSRF guard does not refuse
 * (drip_webhook_check, unless LEADFLOW_WEBHOOK_ALLOW_PRIVATE). 0 or
 * ERR_INVALID naming "<field>.target".
 */
int channel_check_target(const char *target, const char *field, struct errinfo *e);

/*
 * POSTs a JSON body to url through drip's SSRF guard (pinned to the address
 * it checked), with extra headers (NULL-terminated, may be NULL). A
 * refused address and a 4xx other than 408/429 are permanent.
 */
void channel_post_json(const char *url, const char *body, const char *const *extra, struct arena *a,
                       struct channel_attempt *at);

#endif
