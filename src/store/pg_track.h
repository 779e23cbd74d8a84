/*
 * Private to the PostgreSQL backend: the tracking functions of struct
 * store_ops (contracts in store.h) and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_TRACK_H
#define LEADFLOW_STORE_PG_TRACK_H

#include "store/store.h"

int pg_sent_email_tracking(struct store *st, const char *workspace_id, const char *sent_email_id,
                           char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e);
int pg_email_event_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                       const char *contact_id, const char *kind, const char *url,
                       const char *user_agent, const char *ip, const char *bot_reason, int64_t now,
                       struct errinfo *e);
int pg_contact_events(struct store *st, const char *workspace_id, const char *contact_id, int limit,
                      struct arena *a, struct email_event **rows, size_t *n, struct errinfo *e);
int pg_contact_unsubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t now, bool *changed, struct errinfo *e);

#define PG_TRACK_OPS                                                                               \
    .sent_email_tracking = pg_sent_email_tracking, .email_event_add = pg_email_event_add,          \
    .contact_events = pg_contact_events, .contact_unsubscribe = pg_contact_unsubscribe

#endif
