/*
 * Private to the SQLite backend: the tracking functions of struct store_ops
 * (contracts in store.h: sent emails as tracking reads them, email_events,
 * unsubscribing) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_TRACK_H
#define LEADFLOW_STORE_SQLITE_TRACK_H

#include "store/sqlite_int.h"

int sq_sent_email_tracking(struct store *st, const char *workspace_id, const char *sent_email_id,
                           char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e);
int sq_email_event_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                       const char *contact_id, const char *kind, const char *url,
                       const char *user_agent, const char *ip, const char *bot_reason, int64_t now,
                       struct errinfo *e);
int sq_contact_events(struct store *st, const char *workspace_id, const char *contact_id, int limit,
                      struct arena *a, struct email_event **rows, size_t *n, struct errinfo *e);
int sq_contact_unsubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t now, bool *changed, struct errinfo *e);

#define SQ_TRACK_OPS                                                                               \
    .sent_email_tracking = sq_sent_email_tracking, .email_event_add = sq_email_event_add,          \
    .contact_unsubscribe = sq_contact_unsubscribe, .contact_events = sq_contact_events

#endif
