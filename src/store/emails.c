/*
 * The email pipeline's tables, written once over the cursor (store/db.h):
 * contact linking by email, stored emails, the activity a score is computed
 * from, scores with their history, hot leads, and the workspace's counts and
 * data version (read from the rows the triggers of the migrations keep).
 * Ops run inside the caller's transaction when the thread has one (the
 * pipeline's batches).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "store/contacts.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/emails.h"

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* ---- contacts as the pipeline sees them ---- */

/* Addresses are unique per workspace without regard to case: the stored
 * column email_norm, lower(email), has a plain unique index (migration 19).
 * Lookups compare it, never an expression of email, which PostgreSQL's
 * planner may not put before the row policy. */
static struct db_sql sql_link_find =
    DB_SQL("SELECT id, COALESCE(name,'') = '', COALESCE(job_title,'') = '',"
           " COALESCE(company,'') = '' FROM contacts WHERE workspace_id = ?1"
           " AND email_norm = lower(?2)");
static struct db_sql sql_link_fill = DB_SQL(
    "UPDATE contacts SET name = COALESCE(NULLIF(name,''), ?3),"
    " job_title = COALESCE(NULLIF(job_title,''), ?4), company = COALESCE(NULLIF(company,''), ?5),"
    " updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2");
/* On PostgreSQL another batch may create the same contact meanwhile: then
 * this one links to it (SQLite writes one transaction at a time). */
#define LINK_INSERT                                                                                \
    "INSERT INTO contacts (id, workspace_id, email, name, job_title, company, created_at,"         \
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
static struct db_sql sql_link_insert =
    DB_SQL2(LINK_INSERT, LINK_INSERT " ON CONFLICT (workspace_id, email_norm) DO NOTHING");

/* Finds the contact with this email: DB_ROW with id (and *fill: an empty
 * field the given name, title or company would fill), DB_DONE, or an ERR_*. */
static int link_find(struct db_cur *c, const char *workspace_id, const char *email,
                     const char *name, const char *job_title, const char *company,
                     char id[STORE_ID_LEN], bool *fill)
{
    int rc = db_prepare(c, &sql_link_find, "finding a contact");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, email);
    if ((rc = db_step(c)) != DB_ROW)
        return rc;
    db_col_copy(c, 0, id, STORE_ID_LEN);
    *fill = (db_col_bool(c, 1) && name) || (db_col_bool(c, 2) && job_title) ||
            (db_col_bool(c, 3) && company);
    return DB_ROW;
}

int store_contact_link(struct store *st, const char *workspace_id, const char *email,
                       const char *name, const char *job_title, const char *company, int64_t now,
                       char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    name = nonempty(name);
    job_title = nonempty(job_title);
    company = nonempty(company);
    *created = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    bool fill = false;
    rc = link_find(&c, workspace_id, email, name, job_title, company, id, &fill);
    if (rc == DB_ROW) {
        rc = 0;
        if (fill && !(rc = db_prepare(&c, &sql_link_fill, "updating a contact"))) {
            db_bind_str(&c, 1, workspace_id);
            db_bind_str(&c, 2, id);
            db_bind_str(&c, 3, name);
            db_bind_str(&c, 4, job_title);
            db_bind_str(&c, 5, company);
            db_bind_i64(&c, 6, now);
            rc = db_run(&c);
        }
        return db_leave(&c, rc);
    }
    if (rc != DB_DONE)
        return db_leave(&c, rc);
    crypto_uuid(id);
    if (!(rc = db_prepare(&c, &sql_link_insert, "creating a contact"))) {
        db_bind_str(&c, 1, id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, email);
        db_bind_str(&c, 4, name);
        db_bind_str(&c, 5, job_title);
        db_bind_str(&c, 6, company);
        db_bind_i64(&c, 7, now);
        rc = db_run(&c);
    }
    *created = rc == 0 && db_changes(&c) == 1;
    if (!rc && !*created) {
        rc = link_find(&c, workspace_id, email, NULL, NULL, NULL, id, &fill);
        if (rc == DB_DONE)
            rc = failf(e, ERR_TEMPORARY, "a contact with this email was being created");
        else if (rc == DB_ROW)
            rc = 0;
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_contact_facts = DB_SQL(
    "SELECT COALESCE(job_title,''), status FROM contacts WHERE workspace_id = ?1 AND id = ?2");
/*
 * Analyzed inbound emails (kind 0 email, 1 reply), the opens (2) and
 * clicks (3) of mail sent to the contact, and the mail our side sent them
 * (4: outbound mail imported, and mail sent from leadflow), newest first.
 * Bot events never count. An email opened ten times is one open, and a link
 * clicked again one click (each at its latest time): re-reading should not
 * outweigh a reply.
 */
static struct db_sql sql_activity =
    DB_SQL("SELECT received_at AS at, CASE WHEN direction = 'outbound' THEN 4"
           " ELSE CAST(in_reply_to IS NOT NULL AS INTEGER) END AS k, intent_bits,"
           " sentiment_score FROM emails WHERE workspace_id = ?1 AND contact_id = ?2"
           " AND (direction = 'outbound' OR provider IS NOT NULL) AND received_at >= ?3"
           " UNION ALL"
           " SELECT COALESCE(sent_at, created_at), 4, 0, CAST(NULL AS DOUBLE PRECISION)"
           " FROM sent_emails WHERE workspace_id = ?1 AND contact_id = ?2 AND status = 'sent'"
           " AND created_at >= ?3"
           " UNION ALL"
           " SELECT MAX(created_at), CASE kind WHEN 'open' THEN 2 ELSE 3 END, 0,"
           " CAST(NULL AS DOUBLE PRECISION) FROM email_events WHERE workspace_id = ?1"
           " AND contact_id = ?2 AND kind IN ('open','click') AND NOT is_bot AND created_at >= ?3"
           " GROUP BY kind, sent_email_id, CASE kind WHEN 'click' THEN url END"
           " ORDER BY at DESC LIMIT ?4");

static void activity_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct activity *act = row;
    act->at_ms = db_col_i64(c, 0);
    switch (db_col_int(c, 1)) {
    case 1:
        act->kind = ACT_REPLY;
        break;
    case 2:
        act->kind = ACT_OPEN;
        break;
    case 3:
        act->kind = ACT_CLICK;
        break;
    case 4:
        act->kind = ACT_SENT;
        break;
    default:
        act->kind = ACT_EMAIL;
    }
    act->intents = (unsigned)db_col_i64(c, 2);
    act->has_sentiment = !db_col_null(c, 3);
    act->sentiment_score = db_col_dbl(c, 3);
}

int store_contact_activity(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                           size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                           struct errinfo *e)
{
    *acts = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_contact_facts, "reading a contact");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, job_title, STORE_NAME_MAX);
            db_col_copy(&c, 1, status, 16);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_NOT_FOUND, "contact not found");
        }
    }
    if (!rc)
        rc = db_prepare(&c, &sql_activity, "reading a contact's emails and events");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, since_ms);
        db_bind_i64(&c, 4, (int64_t)max);
        rc = db_read_all(&c, activity_row, a, (void **)acts, sizeof(**acts), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* PostgreSQL: FOR UPDATE, so two batches scoring the same contact write
 * history in turn (SQLite writes one transaction at a time). */
static struct db_sql sql_score_old =
    DB_SQL2("SELECT ai_score FROM contacts WHERE workspace_id = ?1 AND id = ?2",
            "SELECT ai_score FROM contacts WHERE workspace_id = ?1 AND id = ?2 FOR UPDATE");
#define SCORE_SET(total, reasons, latest)                                                          \
    "UPDATE contacts SET ai_score = " total ", score_engagement = ?4, score_sentiment = ?5,"       \
    " score_intent = ?6, score_role = ?7, score_status = ?8, score_reasons = " reasons ","         \
    " sentiment = ?10, last_interaction = " latest ", scored_at = ?12"                             \
    " WHERE workspace_id = ?1 AND id = ?2 RETURNING ai_score"
static struct db_sql sql_score_set =
    DB_SQL2(SCORE_SET("MAX(0, MIN(100, ?3 + score_campaign))", "?9",
                      "MAX(COALESCE(last_interaction, 0), ?11)"),
            SCORE_SET("GREATEST(0, LEAST(100, CAST(?3 AS INTEGER) + score_campaign))",
                      "CAST(?9 AS jsonb)", "GREATEST(COALESCE(last_interaction, 0), ?11)"));
static struct db_sql sql_history_add = DB_SQL(
    "INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement, sentiment,"
    " intent, role, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
    " ?11)");

static void int_row(struct db_cur *c, struct arena *a, void *out)
{
    (void)a;
    *(int *)out = db_col_int(c, 0);
}

int store_contact_score_save(struct store *st, const char *workspace_id, const char *contact_id,
                             const struct score *sc, const char *reasons_json, int64_t now,
                             int *previous, int *total_out, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_score_old, "reading a score");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        rc = db_read_one(&c, int_row, NULL, previous, "contact");
    }
    if (!rc)
        rc = db_prepare(&c, &sql_score_set, "saving a score");
    if (rc)
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_str(&c, 2, contact_id);
    db_bind_i64(&c, 3, sc->total);
    db_bind_dbl(&c, 4, sc->engagement);
    db_bind_dbl(&c, 5, sc->sentiment);
    db_bind_dbl(&c, 6, sc->intent);
    db_bind_dbl(&c, 7, sc->role);
    db_bind_dbl(&c, 8, sc->status);
    db_bind_str(&c, 9, reasons_json ? reasons_json : "[]");
    if (sc->has_sentiment)
        db_bind_dbl(&c, 10, sc->sentiment_mean);
    db_bind_i64(&c, 11, sc->last_activity_ms);
    db_bind_i64(&c, 12, now);
    /* The stored total includes the contact's campaign points (score steps). */
    int total = sc->total;
    rc = db_step(&c);
    if (rc == DB_ROW) {
        total = db_col_int(&c, 0);
        rc = db_run(&c);
    }
    if (rc < 0)
        return db_leave(&c, rc);
    if (total_out)
        *total_out = total;
    if (total == *previous)
        return db_leave(&c, 0);
    if (!(rc = db_prepare(&c, &sql_history_add, "writing score history"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, total);
        db_bind_i64(&c, 4, *previous);
        db_bind_dbl(&c, 5, sc->engagement);
        db_bind_dbl(&c, 6, sc->sentiment);
        db_bind_dbl(&c, 7, sc->intent);
        db_bind_dbl(&c, 8, sc->role);
        db_bind_dbl(&c, 9, sc->status);
        db_bind_str(&c, 10, sc->nreasons ? sc->reasons[0] : NULL);
        db_bind_i64(&c, 11, now);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

/* contact < prospect < lead < customer, as a CASE over a column or parameter. */
#define STATUS_RANK(x)                                                                             \
    "(CASE " x " WHEN 'contact' THEN 0 WHEN 'prospect' THEN 1 WHEN 'lead' THEN 2"                  \
    " WHEN 'customer' THEN 3 ELSE -1 END)"

static struct db_sql sql_status_advance =
    DB_SQL("UPDATE contacts SET status = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2"
           " AND " STATUS_RANK("status") " < " STATUS_RANK("CAST(?3 AS TEXT)"));

int store_contact_status_advance(struct store *st, const char *workspace_id, const char *contact_id,
                                 const char *status, int64_t now, bool *changed, struct errinfo *e)
{
    *changed = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_status_advance, "advancing a status");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_str(&c, 3, status);
        db_bind_i64(&c, 4, now);
        rc = db_run(&c);
        *changed = rc == 0 && db_changes(&c) > 0;
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_history = DB_SQL(
    "SELECT score, previous, engagement, sentiment, intent, role, status, COALESCE(reason,''),"
    " created_at FROM score_history WHERE workspace_id = ?1 AND contact_id = ?2"
    " ORDER BY created_at DESC, id DESC LIMIT ?3");

static void change_row(struct db_cur *c, struct arena *a, void *row)
{
    struct score_change *r = row;
    r->score = db_col_int(c, 0);
    r->previous = db_col_int(c, 1);
    r->engagement = db_col_dbl(c, 2);
    r->sentiment = db_col_dbl(c, 3);
    r->intent = db_col_dbl(c, 4);
    r->role = db_col_dbl(c, 5);
    r->status = db_col_dbl(c, 6);
    r->reason = db_col_dup(c, 7, a);
    r->at = db_col_i64(c, 8);
}

int store_contact_score_history(struct store *st, const char *workspace_id, const char *contact_id,
                                int limit, struct arena *a, struct score_change **rows, size_t *n,
                                struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_history, "reading score history");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, limit > 0 ? limit : 0);
        rc = db_read_all(&c, change_row, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/*
 * The contact's newest email beside each lead, and the total before LIMIT.
 * SQLite: one scalar subquery joins the email's fields with tabs ("id TAB
 * received_at TAB intent_bits TAB subject"), and the total is a scalar
 * subquery computed once (one statement, so one read transaction).
 * PostgreSQL: the page is cut first and a LATERAL join gives the four
 * columns of its rows only, the total is the same scalar subquery (an index
 * scan of contacts_hot that reads no email), and NULL interactions sort last
 * going down, as on SQLite. With no row on the page the total comes from
 * sql_hot_count.
 */
static struct db_sql sql_hot = DB_SQL2(
    "SELECT " DB_CONTACT_COLS ", (SELECT e.id || char(9) || e.received_at || char(9) ||"
    " e.intent_bits || char(9) || COALESCE(e.subject,'') FROM emails e"
    " WHERE e.workspace_id = c.workspace_id AND e.contact_id = c.id"
    " ORDER BY e.received_at DESC LIMIT 1),"
    " (SELECT COUNT(*) FROM contacts h WHERE h.workspace_id = ?1 AND h.ai_score >= ?2)"
    " FROM contacts c WHERE c.workspace_id = ?1 AND c.ai_score >= ?2"
    " ORDER BY c.ai_score DESC, c.last_interaction DESC, c.id LIMIT ?3 OFFSET ?4",
    "SELECT " DB_CONTACT_COLS ", le.id, le.received_at, le.intent_bits, COALESCE(le.subject,''),"
    " (SELECT COUNT(*) FROM contacts h WHERE h.workspace_id = ?1 AND h.ai_score >= ?2)"
    " FROM (SELECT * FROM contacts WHERE workspace_id = ?1 AND ai_score >= ?2"
    " ORDER BY ai_score DESC, last_interaction DESC NULLS LAST, id COLLATE \"C\""
    " LIMIT ?3 OFFSET ?4) c LEFT JOIN LATERAL (SELECT e.id, e.received_at,"
    " e.intent_bits, e.subject FROM emails e WHERE e.workspace_id = c.workspace_id"
    " AND e.contact_id = c.id ORDER BY e.received_at DESC LIMIT 1) le ON true"
    " ORDER BY c.ai_score DESC, c.last_interaction DESC NULLS LAST, c.id COLLATE \"C\"");
static struct db_sql sql_hot_count =
    DB_SQL("SELECT COUNT(*) FROM contacts WHERE workspace_id = ?1 AND ai_score >= ?2");

/* SQLite's form: splits the tab-joined text of column i into the lead. */
static void last_email_split(struct db_cur *c, int i, struct arena *a, struct hot_lead *h)
{
    const char *v = db_col_text(c, i);
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

int store_hot_leads(struct store *st, const char *workspace_id, int min_score, int limit,
                    int offset, struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                    struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    bool split = st->ops->db->kind == DB_SQLITE;
    int k = DB_CONTACT_NCOLS;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_hot, "listing hot leads");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, min_score);
        db_bind_i64(&c, 3, limit > 0 ? limit : 0);
        db_bind_i64(&c, 4, offset > 0 ? offset : 0);
        *rows = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof(**rows));
        while (*n < (size_t)limit && (rc = db_step(&c)) == DB_ROW) {
            struct hot_lead *h = &(*rows)[(*n)++];
            db_contact_row(&c, a, &h->c);
            h->last_email_id[0] = '\0';
            h->last_subject = NULL;
            h->last_email_at = 0;
            h->last_intents = 0;
            if (split) {
                last_email_split(&c, k, a, h);
            } else if (!db_col_null(&c, k)) {
                db_col_copy(&c, k, h->last_email_id, sizeof(h->last_email_id));
                h->last_email_at = db_col_i64(&c, k + 1);
                h->last_intents = (unsigned)db_col_i64(&c, k + 2);
                h->last_subject = db_col_dup(&c, k + 3, a);
            }
            *total = db_col_i64(&c, split ? k + 1 : k + 4);
        }
        rc = rc < 0 ? rc : 0;
    }
    if (!rc && *n == 0 && !(rc = db_prepare(&c, &sql_hot_count, "counting hot leads"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, min_score);
        if ((rc = db_step(&c)) == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    return db_leave(&c, rc);
}

/* ---- emails ---- */

#define EMAIL_INSERT                                                                               \
    "INSERT INTO emails (id, workspace_id, contact_id, message_id, in_reply_to, thread_id,"        \
    " from_email, from_name, to_emails, subject, body_text, received_at, direction, intents,"      \
    " intent_bits, sentiment, sentiment_score, urgency, provider, source, attachments,"            \
    " processed_at, created_at) VALUES (?1, ?2, NULLIF(?3,''), ?4, ?5, ?6, ?7, ?8,"
static struct db_sql sql_email_insert = DB_SQL2(
    EMAIL_INSERT " COALESCE(?9,'[]'), ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
                 " ?20, ?21, ?22, ?23) ON CONFLICT (workspace_id, message_id) DO NOTHING",
    EMAIL_INSERT " COALESCE(CAST(?9 AS jsonb),'[]'), ?10, ?11, ?12, ?13, CAST(?14 AS jsonb),"
                 " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
                 " ON CONFLICT (workspace_id, message_id) DO NOTHING");

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

int store_email_insert(struct store *st, const char *workspace_id, const struct email_row *r,
                       bool *inserted, struct errinfo *e)
{
    char intents[160];
    *inserted = false;
    intents_json(r->intent_bits, intents, sizeof(intents));
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_email_insert, "storing an email");
    if (!rc) {
        db_bind_str(&c, 1, r->id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, r->contact_id);
        db_bind_str(&c, 4, r->message_id);
        db_bind_str(&c, 5, nonempty(r->in_reply_to));
        db_bind_str(&c, 6, nonempty(r->thread_id));
        db_bind_str(&c, 7, r->from_email);
        db_bind_str(&c, 8, nonempty(r->from_name));
        db_bind_str(&c, 9, r->to_emails);
        db_bind_str(&c, 10, r->subject);
        db_bind_str(&c, 11, r->body_text);
        db_bind_i64(&c, 12, r->received_at);
        db_bind_str(&c, 13, r->direction ? r->direction : "inbound");
        db_bind_str(&c, 14, intents);
        db_bind_i64(&c, 15, r->intent_bits);
        db_bind_str(&c, 16, r->sentiment);
        if (r->sentiment)
            db_bind_dbl(&c, 17, r->sentiment_score);
        db_bind_str(&c, 18, r->urgency);
        db_bind_str(&c, 19, r->provider);
        db_bind_str(&c, 20, r->source ? r->source : "import");
        db_bind_i64(&c, 21, r->attachments);
        if (r->processed_at)
            db_bind_i64(&c, 22, r->processed_at);
        db_bind_i64(&c, 23, r->created_at);
        rc = db_run(&c);
        *inserted = rc == 0 && db_changes(&c) > 0;
    }
    return db_leave(&c, rc);
}

#define EMAIL_COLS                                                                                 \
    "id, COALESCE(contact_id,''), message_id, COALESCE(in_reply_to,''), COALESCE(thread_id,''),"   \
    " from_email, COALESCE(from_name,''), CAST(to_emails AS TEXT), COALESCE(subject,''),"          \
    " COALESCE(body_text,''), direction, source, intent_bits, sentiment, sentiment_score,"         \
    " urgency, provider, attachments, received_at, COALESCE(processed_at,0), created_at"

static void email_row_read(struct db_cur *c, struct arena *a, void *row)
{
    struct email_row *r = row;
    memset(r, 0, sizeof(*r));
    db_col_copy(c, 0, r->id, sizeof(r->id));
    db_col_copy(c, 1, r->contact_id, sizeof(r->contact_id));
    r->message_id = db_col_dup(c, 2, a);
    r->in_reply_to = db_col_dup(c, 3, a);
    r->thread_id = db_col_dup(c, 4, a);
    r->from_email = db_col_dup(c, 5, a);
    r->from_name = db_col_dup(c, 6, a);
    r->to_emails = db_col_dup(c, 7, a);
    r->subject = db_col_dup(c, 8, a);
    r->body_text = db_col_dup(c, 9, a);
    r->direction = db_col_dup(c, 10, a);
    r->source = db_col_dup(c, 11, a);
    r->intent_bits = (unsigned)db_col_i64(c, 12);
    r->sentiment = db_col_opt(c, 13, a);
    r->sentiment_score = db_col_dbl(c, 14);
    r->urgency = db_col_opt(c, 15, a);
    r->provider = db_col_opt(c, 16, a);
    r->attachments = db_col_int(c, 17);
    r->received_at = db_col_i64(c, 18);
    r->processed_at = db_col_i64(c, 19);
    r->created_at = db_col_i64(c, 20);
}

static struct db_sql sql_email_get =
    DB_SQL("SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_email_latest =
    DB_SQL("SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = ?1 AND contact_id = ?2"
           " ORDER BY received_at DESC LIMIT 1");

int store_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct email_row *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_email_get, workspace_id, id, email_row_read, a, out,
                        "reading an email", "email", e);
}

int store_email_latest(struct store *st, const char *workspace_id, const char *contact_id,
                       struct arena *a, struct email_row *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_email_latest, workspace_id, contact_id, email_row_read, a, out,
                        "reading an email", "email", e);
}

/* ?5: a LIKE pattern, without regard to case (SQLite's LIKE, ASCII; ILIKE
 * on PostgreSQL, where backslash is the default escape). */
#define SQ_EMAIL_FILTER                                                                            \
    " FROM emails WHERE workspace_id = ?1 AND (?2 IS NULL OR contact_id = ?2)"                     \
    " AND (?3 IS NULL OR (intent_bits & ?3) != 0) AND (?4 IS NULL OR sentiment = ?4)"              \
    " AND (?5 IS NULL OR subject LIKE ?5 ESCAPE '\\' OR from_email LIKE ?5 ESCAPE '\\'"            \
    " OR from_name LIKE ?5 ESCAPE '\\')"
#define PG_EMAIL_FILTER                                                                            \
    " FROM emails WHERE workspace_id = ?1 AND (?2::text IS NULL OR contact_id = ?2)"               \
    " AND (?3::int IS NULL OR (intent_bits & ?3) <> 0) AND (?4::text IS NULL OR sentiment = ?4)"   \
    " AND (?5::text IS NULL OR subject ILIKE ?5 OR from_email ILIKE ?5 OR from_name ILIKE ?5)"

static struct db_sql sql_email_list = DB_SQL2(
    "SELECT " EMAIL_COLS SQ_EMAIL_FILTER " ORDER BY received_at DESC, id LIMIT ?6 OFFSET ?7",
    "SELECT " EMAIL_COLS PG_EMAIL_FILTER " ORDER BY received_at DESC, id COLLATE \"C\""
    " LIMIT ?6 OFFSET ?7");
static struct db_sql sql_email_count =
    DB_SQL2("SELECT COUNT(*)" SQ_EMAIL_FILTER, "SELECT COUNT(*)" PG_EMAIL_FILTER);

static void bind_email_filter(struct db_cur *c, const char *workspace_id,
                              const struct email_query *q, const char *like)
{
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, q->contact_id);
    if (q->intent)
        db_bind_i64(c, 3, (int64_t)intent_parse(q->intent));
    db_bind_str(c, 4, q->sentiment);
    db_bind_str(c, 5, like);
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

int store_email_list(struct store *st, const char *workspace_id, const struct email_query *q,
                     struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                     struct errinfo *e)
{
    const char *like = like_pattern(q->text, a);
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_email_count, "counting emails");
    if (!rc) {
        bind_email_filter(&c, workspace_id, q, like);
        if ((rc = db_step(&c)) == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    if (!rc)
        rc = db_prepare(&c, &sql_email_list, "listing emails");
    if (!rc) {
        bind_email_filter(&c, workspace_id, q, like);
        db_bind_i64(&c, 6, q->limit > 0 ? q->limit : 0);
        db_bind_i64(&c, 7, q->offset > 0 ? q->offset : 0);
        rc = db_read_all(&c, email_row_read, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* ---- the dashboard's counts ---- */

/* Counts kept by triggers; the week from daily buckets. */
static struct db_sql sql_stats = DB_SQL("SELECT contacts, hot, warm, emails, emails_unprocessed,"
                                        " (SELECT COALESCE(SUM(emails), 0)"
                                        "  FROM workspace_email_days d"
                                        "  WHERE d.workspace_id = ?1 AND d.day >= ?2),"
                                        " (SELECT COUNT(*) FROM drip_campaigns p"
                                        "  WHERE p.workspace_id = ?1),"
                                        " (SELECT COUNT(*) FROM drip_campaigns p"
                                        "  WHERE p.workspace_id = ?1 AND p.status = 'active'),"
                                        " (SELECT COUNT(*) FROM generated_content g"
                                        "  WHERE g.workspace_id = ?1 AND g.status = 'draft')"
                                        " FROM workspace_counts WHERE workspace_id = ?1");
static struct db_sql sql_version =
    DB_SQL("SELECT version FROM workspace_counts WHERE workspace_id = ?1");

int store_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                          struct workspace_stats *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_stats, "reading the workspace's counts");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        /* The last seven days, counted in whole UTC days including today. */
        db_bind_i64(&c, 2, now / 86400000 - 6);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            out->contacts = db_col_i64(&c, 0);
            out->hot = db_col_i64(&c, 1);
            out->warm = db_col_i64(&c, 2);
            out->cold = out->contacts - out->hot - out->warm;
            out->emails = db_col_i64(&c, 3);
            out->emails_unprocessed = db_col_i64(&c, 4);
            out->emails_week = db_col_i64(&c, 5);
            out->campaigns = db_col_i64(&c, 6);
            out->campaigns_active = db_col_i64(&c, 7);
            out->drafts_pending = db_col_i64(&c, 8);
        }
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

/*
 * The versions this thread read last, each with the database's data stamp
 * taken before the read: while the stamp is the same no commit of any
 * process was published since, so the version is too, and a request need
 * not open a read transaction (SQLite's shared-memory locks) to learn it.
 */
enum { VERSION_SLOTS = 64 };
struct version_seen {
    const struct store *st;
    char ws[STORE_ID_LEN];
    uint64_t stamp[2];
    int64_t version;
};
static _Thread_local struct version_seen versions_seen[VERSION_SLOTS];

static struct version_seen *version_slot(const char *workspace_id)
{
    unsigned h = 2166136261u;
    for (const char *p = workspace_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &versions_seen[h % VERSION_SLOTS];
}

int store_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                            struct errinfo *e)
{
    uint64_t stamp[2];
    bool stamped = !st->ops->tx_active(st) && strlen(workspace_id) < STORE_ID_LEN &&
                   st->ops->data_stamp(st, stamp);
    struct version_seen *seen = stamped ? version_slot(workspace_id) : NULL;
    if (seen && seen->st == st && seen->stamp[0] == stamp[0] && seen->stamp[1] == stamp[1] &&
        strcmp(seen->ws, workspace_id) == 0) {
        *version = seen->version;
        return 0;
    }
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_version, "reading the workspace's version");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            *version = db_col_i64(&c, 0);
            rc = 0;
            if (seen) {
                seen->st = st;
                snprintf(seen->ws, sizeof(seen->ws), "%s", workspace_id);
                memcpy(seen->stamp, stamp, sizeof(seen->stamp));
                seen->version = *version;
            }
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_NOT_FOUND, "workspace not found");
        }
    }
    return db_leave(&c, rc);
}
