/*
 * What happens when a contact changes. Every producer (the import pipeline
 * and Gmail sync, tracking, drip steps, the contacts API, unsubscribes and
 * bounces) reports what changed with crm_contact_changed, and nothing else;
 * the reactions (drip triggers and wake-ups, alert rules, the draft job of a
 * new hot lead, the live hot_lead event) are one table, run in the order
 * listed, in the producer's transaction. Work that must wait for the commit
 * goes through store_after_commit.
 */
#ifndef LEADFLOW_CRM_CRM_H
#define LEADFLOW_CRM_CRM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/store.h"

/* What changed (bits of crm_change.what). */
enum crm_what {
    CRM_CREATED = 1 << 0,     /* the contact was just created */
    CRM_TAGS = 1 << 1,        /* tags_before -> tags_after */
    CRM_SCORE = 1 << 2,       /* score_before -> score_after (the stored total) */
    CRM_EMAIL = 1 << 3,       /* a new email of the contact was stored: email */
    CRM_OPEN = 1 << 4,        /* a human opened an email sent to it */
    CRM_CLICK = 1 << 5,       /* a human clicked a link of one */
    CRM_UNSUBSCRIBE = 1 << 6, /* it unsubscribed */
    CRM_BOUNCE = 1 << 7,      /* a provider refused its address for good */
};

/* One change of one contact; fields not named by what are ignored. */
struct crm_change {
    const char *workspace_id, *contact_id;
    unsigned what;
    const char *tags_before, *tags_after; /* JSON arrays; NULL reads as [] */
    int score_before, score_after;
    const struct email_row *email; /* its analysis and direction */
    const char *source; /* who changed it, for logs: "import", "tracking", "drip", "api" */
    int64_t now;        /* 0: the clock's */
};

/* A reaction: runs when what & c->what, in the producer's transaction. */
struct crm_reaction {
    const char *name;
    unsigned what;
    int (*react)(struct store *st, const struct crm_change *c, struct arena *a, struct errinfo *e);
};

/* The reactions, each in the module it belongs to (crm.c lists them). */
extern const struct crm_reaction drip_reaction;   /* drip/react.c */
extern const struct crm_reaction alerts_reaction; /* alerts/react.c */
extern const struct crm_reaction draft_reaction;  /* crm/hot.c */
extern const struct crm_reaction live_reaction;   /* crm/hot.c */

/*
 * Runs every reaction to c on the calling thread's connection: inside the
 * caller's open transaction, else in one of its own. Returns 0 or the first
 * reaction's error (the caller rolls back).
 */
int crm_contact_changed(struct store *st, const struct crm_change *c, struct errinfo *e);

/*
 * Creates a contact (store_contact_create) or writes its fields
 * (store_contact_update) and reports the change, in one transaction (the
 * caller's, when it has one open). Errors as the store's.
 */
int crm_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                       const char *source, int64_t now, struct arena *a, struct contact *out,
                       struct errinfo *e);
int crm_contact_update(struct store *st, const char *workspace_id, const char *id,
                       const struct contact_fields *f, const char *source, int64_t now,
                       struct arena *a, struct contact *out, struct errinfo *e);

/*
 * Unsubscribes the contact (no more email from campaigns, drafts or sends;
 * its active enrollments are cancelled) and reports CRM_UNSUBSCRIBE, in
 * one transaction (the caller's, when open); resubscribe clears it (mail
 * may be sent again; cancelled enrollments stay cancelled). *changed says
 * whether the state changed. ERR_NOT_FOUND when the contact is not in the
 * workspace.
 */
int crm_contact_unsubscribe(struct store *st, const char *workspace_id, const char *id,
                            const char *source, int64_t now, bool *changed, struct errinfo *e);
int crm_contact_resubscribe(struct store *st, const char *workspace_id, const char *id, int64_t now,
                            bool *changed, struct errinfo *e);

/* Whether s is a contact status: prospect, lead, customer or contact. */
bool crm_status_valid(const char *s);

/*
 * Contacts from CSV (crm/csv.c). The fields a column can fill, in the order
 * of their names: name, email, company, jobTitle, status, tags (separated by
 * , ; or | in the cell).
 */
enum {
    CRM_CSV_NAME,
    CRM_CSV_EMAIL,
    CRM_CSV_COMPANY,
    CRM_CSV_JOB_TITLE,
    CRM_CSV_STATUS,
    CRM_CSV_TAGS,
    CRM_CSV_NFIELDS,
    CRM_CSV_REJECTS_MAX = 1000, /* refused rows reported one by one; the rest counted */
};

/* The CRM_CSV_* of a field name (any case), or -1. */
int crm_csv_field(const char *name);

struct crm_csv_map {
    int field;          /* CRM_CSV_* */
    const char *column; /* its header (compared without case) */
};

/* Parses "field=Column,field=Column" (fields as crm_csv_field takes them)
 * into *map (arena memory); ERR_INVALID naming the bad item. */
int crm_csv_map_parse(const char *spec, struct arena *a, struct crm_csv_map **map, size_t *n,
                      struct errinfo *e);

struct crm_csv_report;
struct crm_csv_opts {
    const struct crm_csv_map *map; /* none: columns found by their usual headers */
    size_t nmap;
    bool update; /* a known email: update its contact (else skip the row) */
    const char *source;
    int64_t now;
    /* Called after each committed batch (may be NULL). */
    void (*progress)(void *arg, const struct crm_csv_report *r);
    void *progress_arg;
};

struct crm_csv_reject {
    size_t row; /* the record's number in the file; the header is 1 */
    char reason[200];
};

struct crm_csv_report {
    size_t rows; /* data rows read (blank ones not counted) */
    size_t created, updated, skipped, rejected;
    struct crm_csv_reject *rejects; /* the first CRM_CSV_REJECTS_MAX (arena memory) */
    size_t nrejects;
};

/*
 * Imports the CSV text data (UTF-8, BOM or not; delimiter , ; or tab,
 * detected) into the workspace's contacts: the first record is the header,
 * each other one a contact, created or updated through crm_contact_create /
 * crm_contact_update in transactions of many rows. A row that cannot be
 * taken is reported in r and the others go on. Returns 0, ERR_INVALID for a
 * file that cannot be read as a whole (no header, no email column, a mapped
 * column missing, too many columns), or a database error.
 */
int crm_csv_import(struct store *st, const char *workspace_id, const char *data, size_t len,
                   const struct crm_csv_opts *o, struct arena *a, struct crm_csv_report *r,
                   struct errinfo *e);

/* Where exported CSV goes, piece by piece: 0 or an ERR_* that stops it. */
typedef int (*crm_csv_sink_fn)(void *arg, const char *p, size_t n);

/*
 * Every contact of the workspace as CSV (a header, then one row each,
 * oldest first; CRLF line ends; formula-safe cells) into sink; *count gets
 * the rows written.
 */
int crm_csv_export(struct store *st, const char *workspace_id, crm_csv_sink_fn sink, void *arg,
                   size_t *count, struct errinfo *e);

/*
 * Recomputes and stores the contact's score from its activity in the last
 * SCORE_WINDOW_DAYS (score_history gets a row when the total changed) and
 * reports a change of the total. out (may be NULL) gets the score, its total
 * being the stored one (with the contact's campaign points, within 0..100);
 * *previous (may be NULL) the old total. a holds what was read (scratch).
 * ERR_NOT_FOUND when the contact is not in the workspace.
 */
int crm_rescore(struct store *st, const char *workspace_id, const char *contact_id,
                const char *source, int64_t now, struct arena *a, struct score *out, int *previous,
                struct errinfo *e);

/* True when a change of the total from before to after crosses into hot. */
static inline bool crm_became_hot(int before, int after)
{
    return before < SCORE_HOT && after >= SCORE_HOT;
}

#endif
