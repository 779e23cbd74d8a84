/*
 * SQLite backend: the email pipeline's tables. Batched write transactions,
 * contact linking by email, stored emails, the activity a score is computed
 * from, scores with their history, hot leads and the dashboard's counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai.h"
#include "base/crypto.h"
#include "store/sqlite_emails.h"

/* The columns every contact query selects, for reading with sq_contact_row(). */
#define SQ_CONTACT_COLS                                                                            \
    "c.id, c.workspace_id, c.email, COALESCE(c.name,''), COALESCE(c.company,''),"                  \
    " COALESCE(c.job_title,''), c.status, c.tags, c.ai_score, c.score_engagement,"                 \
    " c.score_sentiment, c.score_intent, c.score_role, c.score_status, c.sentiment,"               \
    " COALESCE(c.last_interaction,0), COALESCE(c.unsubscribed_at,0), c.created_at, c.updated_at,"  \
    " c.score_reasons"

enum { SQ_CONTACT_NCOLS = 20 };

/* Reads one row of SQ_CONTACT_COLS into c (strings that vary in size go to a). */
static void sq_contact_row(sqlite3_stmt *st, struct arena *a, struct contact *c)
{
    sq_col_copy(st, 0, c->id, sizeof(c->id));
    sq_col_copy(st, 1, c->workspace_id, sizeof(c->workspace_id));
    sq_col_copy(st, 2, c->email, sizeof(c->email));
    sq_col_copy(st, 3, c->name, sizeof(c->name));
    sq_col_copy(st, 4, c->company, sizeof(c->company));
    sq_col_copy(st, 5, c->job_title, sizeof(c->job_title));
    sq_col_copy(st, 6, c->status, sizeof(c->status));
    const char *tags = (const char *)sqlite3_column_text(st, 7);
    c->tags = arena_strdup(a, tags ? tags : "[]");
    c->ai_score = sqlite3_column_int(st, 8);
    c->score_engagement = sqlite3_column_double(st, 9);
    c->score_sentiment = sqlite3_column_double(st, 10);
    c->score_intent = sqlite3_column_double(st, 11);
    c->score_role = sqlite3_column_double(st, 12);
    c->score_status = sqlite3_column_double(st, 13);
    c->has_sentiment = sqlite3_column_type(st, 14) != SQLITE_NULL;
    c->sentiment = sqlite3_column_double(st, 14);
    c->last_interaction = sqlite3_column_int64(st, 15);
    c->unsubscribed_at = sqlite3_column_int64(st, 16);
    c->created_at = sqlite3_column_int64(st, 17);
    c->updated_at = sqlite3_column_int64(st, 18);
    c->score_reasons = sq_col_dup(st, 19, a);
}

int sq_tx_begin(struct store *base, struct errinfo *e)
{
    return sq_exec((struct sq_store *)base, "BEGIN IMMEDIATE", e);
}

int sq_tx_commit(struct store *base, struct errinfo *e)
{
    return sq_exec((struct sq_store *)base, "COMMIT", e);
}

void sq_tx_rollback(struct store *base)
{
    struct errinfo ignored;
    sq_exec((struct sq_store *)base, "ROLLBACK", &ignored);
}

/* BEGIN IMMEDIATE holds the database's one write lock already. */
int sq_tx_lock_workspace(struct store *base, const char *workspace_id, struct errinfo *e)
{
    return 0;
}

/* Runs a statement that returns no rows; "what" names it in errors. */
static const char sql_link_find[] =
    "SELECT id, COALESCE(name,'') = '', COALESCE(job_title,'') = '',"
    " COALESCE(company,'') = '' FROM contacts"
    " WHERE workspace_id = ?1 AND email = ?2";
static const char sql_link_fill[] =
    "UPDATE contacts SET name = COALESCE(NULLIF(name,''), ?3),"
    " job_title = COALESCE(NULLIF(job_title,''), ?4), company = COALESCE(NULLIF(company,''), ?5),"
    " updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2";
static const char sql_link_insert[] =
    "INSERT INTO contacts (id, workspace_id, email, name, job_title, company, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

int sq_contact_link(struct store *base, const char *workspace_id, const char *email,
                    const char *name, const char *job_title, const char *company, int64_t now,
                    char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    name = nonempty(name);
    job_title = nonempty(job_title);
    company = nonempty(company);
    *created = false;

    int rc = sq_stmt(s, sql_link_find, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, email);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, id, STORE_ID_LEN);
        bool fill = (sqlite3_column_int(st, 1) && name) ||
                    (sqlite3_column_int(st, 2) && job_title) ||
                    (sqlite3_column_int(st, 3) && company);
        sq_done(st);
        if (!fill)
            return 0;
        if ((rc = sq_stmt(s, sql_link_fill, &st, &c, e)))
            return rc;
        sq_bind_str(st, 1, workspace_id);
        sq_bind_str(st, 2, id);
        sq_bind_str(st, 3, name);
        sq_bind_str(st, 4, job_title);
        sq_bind_str(st, 5, company);
        sqlite3_bind_int64(st, 6, now);
        return sq_run(st, c, "updating a contact", e);
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(e, c->db, src, "finding a contact");
        sq_done(st);
        return rc;
    }
    sq_done(st);

    if ((rc = sq_stmt(s, sql_link_insert, &st, &c, e)))
        return rc;
    crypto_uuid(id);
    sq_bind_str(st, 1, id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, email);
    sq_bind_str(st, 4, name);
    sq_bind_str(st, 5, job_title);
    sq_bind_str(st, 6, company);
    sqlite3_bind_int64(st, 7, now);
    if ((rc = sq_run(st, c, "creating a contact", e)))
        return rc;
    *created = true;
    return 0;
}

static const char sql_contact_facts[] =
    "SELECT COALESCE(job_title,''), status FROM contacts WHERE workspace_id = ?1 AND id = ?2";
/*
 * Analyzed inbound emails (kind 0 email, 1 reply) and the opens (2) and
 * clicks (3) of mail sent to the contact, newest first. Bot events never
 * count. An email opened ten times is one open, and a link clicked again
 * one click (each at its latest time): re-reading should not outweigh a
 * reply.
 */
static const char sql_activity[] =
    "SELECT received_at AS at, in_reply_to IS NOT NULL AS k, intent_bits, sentiment_score"
    " FROM emails WHERE workspace_id = ?1 AND contact_id = ?2 AND direction = 'inbound'"
    " AND provider IS NOT NULL AND received_at >= ?3"
    " UNION ALL"
    " SELECT MAX(created_at), CASE kind WHEN 'open' THEN 2 ELSE 3 END, 0, NULL"
    " FROM email_events WHERE workspace_id = ?1 AND contact_id = ?2"
    " AND kind IN ('open','click') AND is_bot = 0 AND created_at >= ?3"
    " GROUP BY kind, sent_email_id, CASE kind WHEN 'click' THEN url END"
    " ORDER BY at DESC LIMIT ?4";

int sq_contact_activity(struct store *base, const char *workspace_id, const char *contact_id,
                        int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                        size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                        struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *acts = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_contact_facts, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, job_title, STORE_NAME_MAX);
        sq_col_copy(st, 1, status, 16);
    } else {
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "contact not found")
                                : sq_fail(e, c->db, src, "reading a contact");
    }
    sq_done(st);
    if (rc)
        return rc;

    if ((rc = sq_stmt(s, sql_activity, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int64(st, 3, since_ms);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
    size_t cap = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct activity *grown = arena_alloc(a, ncap * sizeof(*grown));
            if (*n)
                memcpy(grown, *acts, *n * sizeof(*grown));
            *acts = grown;
            cap = ncap;
        }
        struct activity *act = &(*acts)[(*n)++];
        act->at_ms = sqlite3_column_int64(st, 0);
        switch (sqlite3_column_int(st, 1)) {
        case 1:
            act->kind = ACT_REPLY;
            break;
        case 2:
            act->kind = ACT_OPEN;
            break;
        case 3:
            act->kind = ACT_CLICK;
            break;
        default:
            act->kind = ACT_EMAIL;
        }
        act->intents = (unsigned)sqlite3_column_int(st, 2);
        act->has_sentiment = sqlite3_column_type(st, 3) != SQLITE_NULL;
        act->sentiment_score = sqlite3_column_double(st, 3);
    }
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "reading a contact's emails and events");
    sq_done(st);
    return rc;
}

static const char sql_score_old[] =
    "SELECT ai_score FROM contacts WHERE workspace_id = ?1 AND id = ?2";
static const char sql_score_set[] =
    "UPDATE contacts SET ai_score = MAX(0, MIN(100, ?3 + score_campaign)), score_engagement = ?4, "
    "score_sentiment = ?5,"
    " score_intent = ?6, score_role = ?7, score_status = ?8, score_reasons = ?9,"
    " sentiment = ?10, last_interaction = MAX(COALESCE(last_interaction, 0), ?11),"
    " scored_at = ?12 WHERE workspace_id = ?1 AND id = ?2 RETURNING ai_score";
static const char sql_history_add[] =
    "INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement, sentiment,"
    " intent, role, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
    " ?11)";

int sq_contact_score_save(struct store *base, const char *workspace_id, const char *contact_id,
                          const struct score *sc, const char *reasons_json, int64_t now,
                          int *previous, int *total_out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_get_by_id(s, sql_score_old, workspace_id, contact_id, sq_row_int, NULL, previous,
                          "reading a score", "contact", e);
    if (rc)
        return rc;

    if ((rc = sq_stmt(s, sql_score_set, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, sc->total);
    sqlite3_bind_double(st, 4, sc->engagement);
    sqlite3_bind_double(st, 5, sc->sentiment);
    sqlite3_bind_double(st, 6, sc->intent);
    sqlite3_bind_double(st, 7, sc->role);
    sqlite3_bind_double(st, 8, sc->status);
    sq_bind_str(st, 9, reasons_json ? reasons_json : "[]");
    if (sc->has_sentiment)
        sqlite3_bind_double(st, 10, sc->sentiment_mean);
    else
        sqlite3_bind_null(st, 10);
    sqlite3_bind_int64(st, 11, sc->last_activity_ms);
    sqlite3_bind_int64(st, 12, now);
    /* The stored total includes the contact's campaign points (score steps). */
    int total = sc->total;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        total = sqlite3_column_int(st, 0);
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "saving a score");
    sq_done(st);
    if (total_out)
        *total_out = total;
    if (rc || total == *previous)
        return rc;

    if ((rc = sq_stmt(s, sql_history_add, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, total);
    sqlite3_bind_int(st, 4, *previous);
    sqlite3_bind_double(st, 5, sc->engagement);
    sqlite3_bind_double(st, 6, sc->sentiment);
    sqlite3_bind_double(st, 7, sc->intent);
    sqlite3_bind_double(st, 8, sc->role);
    sqlite3_bind_double(st, 9, sc->status);
    sq_bind_str(st, 10, sc->nreasons ? sc->reasons[0] : NULL);
    sqlite3_bind_int64(st, 11, now);
    return sq_run(st, c, "writing score history", e);
}

/* contact < prospect < lead < customer, as a CASE over a column or parameter. */
#define STATUS_RANK(x)                                                                             \
    "(CASE " x " WHEN 'contact' THEN 0 WHEN 'prospect' THEN 1 WHEN 'lead' THEN 2"                  \
    " WHEN 'customer' THEN 3 ELSE -1 END)"

static const char sql_status_advance[] =
    "UPDATE contacts SET status = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2"
    " AND " STATUS_RANK("status") " < " STATUS_RANK("?3");

int sq_contact_status_advance(struct store *base, const char *workspace_id, const char *contact_id,
                              const char *status, int64_t now, bool *changed, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_status_advance, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sq_bind_str(st, 3, status);
    sqlite3_bind_int64(st, 4, now);
    rc = sq_run(st, c, "advancing a status", e);
    *changed = rc == 0 && sqlite3_changes(c->db) > 0;
    return rc;
}

static const char sql_history[] =
    "SELECT score, previous, engagement, sentiment, intent, role, status, COALESCE(reason,''),"
    " created_at FROM score_history WHERE workspace_id = ?1 AND contact_id = ?2"
    " ORDER BY created_at DESC, id DESC LIMIT ?3";

int sq_contact_score_history(struct store *base, const char *workspace_id, const char *contact_id,
                             int limit, struct arena *a, struct score_change **rows, size_t *n,
                             struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_history, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, limit);
    *rows = arena_calloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof(**rows));
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit) {
        struct score_change *r = &(*rows)[(*n)++];
        r->score = sqlite3_column_int(st, 0);
        r->previous = sqlite3_column_int(st, 1);
        r->engagement = sqlite3_column_double(st, 2);
        r->sentiment = sqlite3_column_double(st, 3);
        r->intent = sqlite3_column_double(st, 4);
        r->role = sqlite3_column_double(st, 5);
        r->status = sqlite3_column_double(st, 6);
        r->reason = sq_col_dup(st, 7, a);
        r->at = sqlite3_column_int64(st, 8);
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = sq_fail(e, c->db, src, "reading score history");
    sq_done(st);
    return rc;
}

#define LAST_EMAIL(col)                                                                            \
    "(SELECT " col " FROM emails e WHERE e.workspace_id = c.workspace_id AND e.contact_id = c.id"  \
    " ORDER BY e.received_at DESC LIMIT 1)"

/* One statement, so one read transaction: the total is a scalar subquery,
 * computed once. With no row on the page it comes from sql_hot_count. */
static const char sql_hot[] = "SELECT " SQ_CONTACT_COLS ", " LAST_EMAIL(
    "e.id || char(9) || "
    "e.received_at || char(9) || e.intent_bits || char(9) || "
    "COALESCE(e.subject,'')") ","
                              " (SELECT COUNT(*) FROM contacts h WHERE h.workspace_id = ?1"
                              " AND h.ai_score >= ?2) FROM contacts c"
                              " WHERE c.workspace_id = ?1 AND c.ai_score >= ?2"
                              " ORDER BY c.ai_score DESC, c.last_interaction DESC, c.id"
                              " LIMIT ?3 OFFSET ?4";
static const char sql_hot_count[] =
    "SELECT COUNT(*) FROM contacts WHERE workspace_id = ?1 AND ai_score >= ?2";

static int count_one(struct sq_store *s, const char *sql, const char *workspace_id, int64_t arg,
                     int64_t *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int64(st, 2, arg);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = sq_fail(e, c->db, src, "counting");
    sq_done(st);
    return rc;
}

/* Splits "id TAB received_at TAB intent_bits TAB subject" into the lead. */
static void last_email_read(sqlite3_stmt *st, int i, struct arena *a, struct hot_lead *h)
{
    h->last_email_id[0] = '\0';
    h->last_subject = NULL;
    h->last_email_at = 0;
    h->last_intents = 0;
    const char *v = (const char *)sqlite3_column_text(st, i);
    if (!v)
        return;
    const char *t1 = strchr(v, '\t');
    const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    const char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
    if (!t3 || (size_t)(t1 - v) >= sizeof(h->last_email_id))
        return;
    memcpy(h->last_email_id, v, (size_t)(t1 - v));
    h->last_email_id[t1 - v] = '\0';
    h->last_email_at = strtoll(t1 + 1, NULL, 10);
    h->last_intents = (unsigned)strtoul(t2 + 1, NULL, 10);
    h->last_subject = arena_strdup(a, t3 + 1);
}

int sq_hot_leads(struct store *base, const char *workspace_id, int min_score, int limit, int offset,
                 struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                 struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = -1;
    int rc = sq_stmt(s, sql_hot, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int(st, 2, min_score);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    *rows = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof(**rows));
    int src = SQLITE_DONE;
    while (*n < (size_t)limit && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct hot_lead *h = &(*rows)[(*n)++];
        sq_contact_row(st, a, &h->c);
        last_email_read(st, SQ_CONTACT_NCOLS, a, h);
        *total = sqlite3_column_int64(st, SQ_CONTACT_NCOLS + 1);
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = sq_fail(e, c->db, src, "listing hot leads");
    sq_done(st);
    if (!rc && *total < 0)
        rc = count_one(s, sql_hot_count, workspace_id, min_score, total, e);
    return rc;
}

static const char sql_email_insert[] =
    "INSERT INTO emails (id, workspace_id, contact_id, message_id, in_reply_to, thread_id,"
    " from_email, from_name, to_emails, subject, body_text, received_at, direction, intents,"
    " intent_bits, sentiment, sentiment_score, urgency, provider, source, attachments,"
    " processed_at, created_at) VALUES (?1, ?2, NULLIF(?3,''), ?4, ?5, ?6, ?7, ?8,"
    " COALESCE(?9,'[]'), ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
    " ON CONFLICT (workspace_id, message_id) DO NOTHING";

/* The JSON array of intent names of a bit set, into out. */
static void intents_json(unsigned bits, char *out, size_t n)
{
    size_t len = 0;
    out[len++] = '[';
    for (unsigned i = 0; i < INTENT_COUNT; i++) {
        if (!(bits & (1u << i)))
            continue;
        int w = snprintf(out + len, n - len, "%s\"%s\"", len > 1 ? "," : "", intent_name(1u << i));
        if (w < 0 || (size_t)w >= n - len - 2)
            break;
        len += (size_t)w;
    }
    out[len++] = ']';
    out[len] = '\0';
}

int sq_email_insert(struct store *base, const char *workspace_id, const struct email_row *r,
                    bool *inserted, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    char intents[160];
    *inserted = false;
    int rc = sq_stmt(s, sql_email_insert, &st, &c, e);
    if (rc)
        return rc;
    intents_json(r->intent_bits, intents, sizeof(intents));
    sq_bind_str(st, 1, r->id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, r->contact_id);
    sq_bind_str(st, 4, r->message_id);
    sq_bind_str(st, 5, nonempty(r->in_reply_to));
    sq_bind_str(st, 6, nonempty(r->thread_id));
    sq_bind_str(st, 7, r->from_email);
    sq_bind_str(st, 8, nonempty(r->from_name));
    sq_bind_str(st, 9, r->to_emails);
    sq_bind_str(st, 10, r->subject);
    sq_bind_str(st, 11, r->body_text);
    sqlite3_bind_int64(st, 12, r->received_at);
    sq_bind_str(st, 13, r->direction ? r->direction : "inbound");
    sq_bind_str(st, 14, intents);
    sqlite3_bind_int(st, 15, (int)r->intent_bits);
    sq_bind_str(st, 16, r->sentiment);
    if (r->sentiment)
        sqlite3_bind_double(st, 17, r->sentiment_score);
    else
        sqlite3_bind_null(st, 17);
    sq_bind_str(st, 18, r->urgency);
    sq_bind_str(st, 19, r->provider);
    sq_bind_str(st, 20, r->source ? r->source : "import");
    sqlite3_bind_int(st, 21, r->attachments);
    if (r->processed_at)
        sqlite3_bind_int64(st, 22, r->processed_at);
    else
        sqlite3_bind_null(st, 22);
    sqlite3_bind_int64(st, 23, r->created_at);
    if ((rc = sq_run(st, c, "storing an email", e)))
        return rc;
    *inserted = sqlite3_changes(c->db) > 0;
    return 0;
}

#define EMAIL_COLS                                                                                 \
    "id, COALESCE(contact_id,''), message_id, COALESCE(in_reply_to,''), COALESCE(thread_id,''),"   \
    " from_email, COALESCE(from_name,''), to_emails, COALESCE(subject,''),"                        \
    " COALESCE(body_text,''), direction, source, intent_bits, sentiment, sentiment_score,"         \
    " urgency, provider, attachments, received_at, COALESCE(processed_at,0), created_at"

static void email_row_read(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct email_row *r = row;
    sq_col_copy(st, 0, r->id, sizeof(r->id));
    sq_col_copy(st, 1, r->contact_id, sizeof(r->contact_id));
    r->message_id = sq_col_dup(st, 2, a);
    r->in_reply_to = sq_col_dup(st, 3, a);
    r->thread_id = sq_col_dup(st, 4, a);
    r->from_email = sq_col_dup(st, 5, a);
    r->from_name = sq_col_dup(st, 6, a);
    r->to_emails = sq_col_dup(st, 7, a);
    r->subject = sq_col_dup(st, 8, a);
    r->body_text = sq_col_dup(st, 9, a);
    r->direction = sq_col_dup(st, 10, a);
    r->source = sq_col_dup(st, 11, a);
    r->intent_bits = (unsigned)sqlite3_column_int(st, 12);
    r->sentiment = sqlite3_column_type(st, 13) == SQLITE_NULL ? NULL : sq_col_dup(st, 13, a);
    r->sentiment_score = sqlite3_column_double(st, 14);
    r->urgency = sqlite3_column_type(st, 15) == SQLITE_NULL ? NULL : sq_col_dup(st, 15, a);
    r->provider = sqlite3_column_type(st, 16) == SQLITE_NULL ? NULL : sq_col_dup(st, 16, a);
    r->attachments = sqlite3_column_int(st, 17);
    r->received_at = sqlite3_column_int64(st, 18);
    r->processed_at = sqlite3_column_int64(st, 19);
    r->created_at = sqlite3_column_int64(st, 20);
}

static const char sql_email_get[] =
    "SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = ?1 AND id = ?2";
static const char sql_email_latest[] =
    "SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = ?1 AND contact_id = ?2"
    " ORDER BY received_at DESC LIMIT 1";

int sq_email_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                 struct email_row *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_email_get, workspace_id, id, email_row_read, a,
                        out, "reading an email", "email", e);
}

int sq_email_latest(struct store *base, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct email_row *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_email_latest, workspace_id, contact_id,
                        email_row_read, a, out, "reading an email", "email", e);
}

#define EMAIL_FILTER                                                                               \
    " FROM emails WHERE workspace_id = ?1 AND (?2 IS NULL OR contact_id = ?2)"                     \
    " AND (?3 IS NULL OR (intent_bits & ?3) != 0) AND (?4 IS NULL OR sentiment = ?4)"              \
    " AND (?5 IS NULL OR subject LIKE ?5 ESCAPE '\\' OR from_email LIKE ?5 ESCAPE '\\'"            \
    " OR from_name LIKE ?5 ESCAPE '\\')"

static const char sql_email_list[] =
    "SELECT " EMAIL_COLS EMAIL_FILTER " ORDER BY received_at DESC, id LIMIT ?6 OFFSET ?7";
static const char sql_email_count[] = "SELECT COUNT(*)" EMAIL_FILTER;

static void bind_email_filter(sqlite3_stmt *st, const char *workspace_id,
                              const struct email_query *q, const char *like)
{
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, q->contact_id);
    if (q->intent)
        sqlite3_bind_int(st, 3, (int)intent_parse(q->intent));
    else
        sqlite3_bind_null(st, 3);
    sq_bind_str(st, 4, q->sentiment);
    sq_bind_str(st, 5, like);
}

/* "%text%" with LIKE's wildcards escaped. */
static const char *like_pattern(const char *text, struct arena *a)
{
    if (!text || !*text)
        return NULL;
    size_t n = strlen(text);
    char *p = arena_alloc(a, 2 * n + 3);
    size_t j = 0;
    p[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%' || text[i] == '_' || text[i] == '\\')
            p[j++] = '\\';
        p[j++] = text[i];
    }
    p[j++] = '%';
    p[j] = '\0';
    return p;
}

int sq_email_list(struct store *base, const char *workspace_id, const struct email_query *q,
                  struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    const char *like = like_pattern(q->text, a);
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_email_count, &st, &c, e);
    if (rc)
        return rc;
    bind_email_filter(st, workspace_id, q, like);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    else
        rc = sq_fail(e, c->db, src, "counting emails");
    sq_done(st);
    if (rc)
        return rc;

    if ((rc = sq_stmt(s, sql_email_list, &st, &c, e)))
        return rc;
    bind_email_filter(st, workspace_id, q, like);
    sqlite3_bind_int(st, 6, q->limit);
    sqlite3_bind_int(st, 7, q->offset);
    *rows = arena_alloc(a, (size_t)(q->limit > 0 ? q->limit : 1) * sizeof(**rows));
    while (*n < (size_t)q->limit && (src = sqlite3_step(st)) == SQLITE_ROW)
        email_row_read(st, a, &(*rows)[(*n)++]);
    if (*n < (size_t)q->limit && src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "listing emails");
    sq_done(st);
    return rc;
}

/* Counts kept by triggers (migration 5); the week from daily buckets. */
static const char sql_stats[] = "SELECT contacts, hot, warm, emails, emails_unprocessed,"
                                " (SELECT COALESCE(SUM(emails), 0) FROM workspace_email_days d"
                                "  WHERE d.workspace_id = ?1 AND d.day >= ?2),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = ?1),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = ?1 AND p.status = 'active'),"
                                " (SELECT COUNT(*) FROM generated_content g"
                                "  WHERE g.workspace_id = ?1 AND g.status = 'draft')"
                                " FROM workspace_counts WHERE workspace_id = ?1";

int sq_workspace_stats(struct store *base, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    memset(out, 0, sizeof(*out));
    int rc = sq_stmt(s, sql_stats, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    /* The last seven days, counted in whole UTC days including today. */
    sqlite3_bind_int64(st, 2, now / 86400000 - 6);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->contacts = sqlite3_column_int64(st, 0);
        out->hot = sqlite3_column_int64(st, 1);
        out->warm = sqlite3_column_int64(st, 2);
        out->cold = out->contacts - out->hot - out->warm;
        out->emails = sqlite3_column_int64(st, 3);
        out->emails_unprocessed = sqlite3_column_int64(st, 4);
        out->emails_week = sqlite3_column_int64(st, 5);
        out->campaigns = sqlite3_column_int64(st, 6);
        out->campaigns_active = sqlite3_column_int64(st, 7);
        out->drafts_pending = sqlite3_column_int64(st, 8);
    } else if (src != SQLITE_DONE) {
        rc = sq_fail(e, c->db, src, "reading the workspace's counts");
    }
    sq_done(st);
    return rc;
}

static const char sql_version[] = "SELECT version FROM workspace_counts WHERE workspace_id = ?1";

int sq_workspace_version(struct store *base, const char *workspace_id, int64_t *version,
                         struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_version, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *version = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    else
        rc = sq_fail(e, c->db, src, "reading the workspace's version");
    sq_done(st);
    return rc;
}
