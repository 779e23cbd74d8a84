/*
 * Private to src/store: what the ops written once over the cursor
 * (store/db.h, in src/store/<aggregate>.c) share between their files.
 */
#ifndef LEADFLOW_STORE_DB_OPS_H
#define LEADFLOW_STORE_DB_OPS_H

#include "store/contacts.h"
#include "store/store.h"

/* contacts.c */
struct db_cur;

/* The columns of struct contact (contacts aliased c), in db_contact_row's
 * order; _OF with another prefix ("": unqualified, for RETURNING). */
#define DB_CONTACT_COLS_OF(t)                                                                      \
    t "id, " t "workspace_id, " t "email, COALESCE(" t "name,''), COALESCE(" t "company,''),"      \
      " COALESCE(" t "job_title,''), " t "status, CAST(" t "tags AS TEXT), " t "ai_score, " t      \
      "score_engagement, " t "score_sentiment, " t "score_intent, " t "score_role, " t             \
      "score_status, " t "sentiment, COALESCE(" t "last_interaction,0), COALESCE(" t               \
      "unsubscribed_at,0), " t "created_at, " t "updated_at, CAST(" t "score_reasons AS TEXT)"
#define DB_CONTACT_COLS DB_CONTACT_COLS_OF("c.")
enum { DB_CONTACT_NCOLS = 20 };

/* Reads a row of DB_CONTACT_COLS (first) into ct; strings in a. */
void db_contact_row(struct db_cur *c, struct arena *a, struct contact *ct);

#endif
