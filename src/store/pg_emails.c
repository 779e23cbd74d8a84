/*
 * PostgreSQL backend: the email pipeline's tables. Contact linking by email,
 * stored emails, the activity a score is computed from, scores with their
 * history, hot leads, and the workspace's counts and data version (read
 * from the rows the triggers of migrations_pg.c keep). Every op runs with
 * leadflow.workspace_id set (Row Level Security), inside the caller's
 * transaction when the thread has one (the pipeline's batches).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai.h"
#include "ai/score.h"
#include "base/crypto.h"
#include "store/pg_emails.h"
#include "store/pg_int.h"

/* The columns of struct contact (contacts aliased c), in pg_contact_row's order. */
#define PG_CONTACT_COLS                                                                            \
    "c.id, c.workspace_id, c.email, COALESCE(c.name,''), COALESCE(c.company,''),"                  \
    " COALESCE(c.job_title,''), c.status, c.tags::text, c.ai_score, c.score_engagement,"           \
    " c.score_sentiment, c.score_intent, c.score_role, c.score_status, c.sentiment,"               \
    " COALESCE(c.last_interaction,0), COALESCE(c.unsubscribed_at,0), c.created_at, c.updated_at,"  \
    " c.score_reasons::text"
enum { PG_CONTACT_NCOLS = 20 };

/* Reads row i of r (PG_CONTACT_COLS first) into c; strings in a. */
static void pg_contact_row(const PGresult *r, int i, struct arena *a, struct contact *c)
{
    pg_col_copy(r, i, 0, c->id, sizeof(c->id));
    pg_col_copy(r, i, 1, c->workspace_id, sizeof(c->workspace_id));
    pg_col_copy(r, i, 2, c->email, sizeof(c->email));
    pg_col_copy(r, i, 3, c->name, sizeof(c->name));
    pg_col_copy(r, i, 4, c->company, sizeof(c->company));
    pg_col_copy(r, i, 5, c->job_title, sizeof(c->job_title));
    pg_col_copy(r, i, 6, c->status, sizeof(c->status));
    c->tags = pg_col_null(r, i, 7) ? arena_strdup(a, "[]") : pg_col_dup(r, i, 7, a);
    c->ai_score = (int)pg_col_i64(r, i, 8);
    c->score_engagement = pg_col_dbl(r, i, 9);
    c->score_sentiment = pg_col_dbl(r, i, 10);
    c->score_intent = pg_col_dbl(r, i, 11);
    c->score_role = pg_col_dbl(r, i, 12);
    c->score_status = pg_col_dbl(r, i, 13);
    c->has_sentiment = !pg_col_null(r, i, 14);
    c->sentiment = pg_col_dbl(r, i, 14);
    c->last_interaction = pg_col_i64(r, i, 15);
    c->unsubscribed_at = pg_col_i64(r, i, 16);
    c->created_at = pg_col_i64(r, i, 17);
    c->updated_at = pg_col_i64(r, i, 18);
    c->score_reasons = pg_col_dup(r, i, 19, a);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* ---- contacts as the pipeline sees them ---- */

/* Addresses are unique per workspace without regard to case (contacts_email). */
static const char sql_link_find[] =
    "SELECT id, COALESCE(name,'') = '', COALESCE(job_title,'') = '',"
    " COALESCE(company,'') = '' FROM contacts WHERE workspace_id = $1 AND lower(email) = lower($2)";
static const char sql_link_fill[] =
    "UPDATE contacts SET name = COALESCE(NULLIF(name,''), $3),"
    " job_title = COALESCE(NULLIF(job_title,''), $4), company = COALESCE(NULLIF(company,''), $5),"
    " updated_at = $6 WHERE workspace_id = $1 AND id = $2";
/* Another batch may create the same contact meanwhile: then this one links to it. */
static const char sql_link_insert[] =
    "INSERT INTO contacts (id, workspace_id, email, name, job_title, company, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    " ON CONFLICT (workspace_id, lower(email)) DO NOTHING";

int pg_contact_link(struct store *base, const char *workspace_id, const char *email,
                    const char *name, const char *job_title, const char *company, int64_t now,
                    char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    name = nonempty(name);
    job_title = nonempty(job_title);
    company = nonempty(company);
    *created = false;
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, email);
    PGresult *r;
    rc = pg_exec(&x, sql_link_find, &p, &r, "finding a contact", e);
    if (rc)
        return pg_leave(&x, rc, e);
    if (PQntuples(r) > 0) {
        pg_col_copy(r, 0, 0, id, STORE_ID_LEN);
        bool fill = (pg_col_bool(r, 0, 1) && name) || (pg_col_bool(r, 0, 2) && job_title) ||
                    (pg_col_bool(r, 0, 3) && company);
        PQclear(r);
        if (fill) {
            struct pg_params f = {0};
            pg_p_str(&f, workspace_id);
            pg_p_str(&f, id);
            pg_p_str(&f, name);
            pg_p_str(&f, job_title);
            pg_p_str(&f, company);
            pg_p_i64(&f, now);
            rc = pg_run(&x, sql_link_fill, &f, NULL, "updating a contact", e);
        }
        return pg_leave(&x, rc, e);
    }
    PQclear(r);
    crypto_uuid(id);
    struct pg_params c = {0};
    pg_p_str(&c, id);
    pg_p_str(&c, workspace_id);
    pg_p_str(&c, email);
    pg_p_str(&c, name);
    pg_p_str(&c, job_title);
    pg_p_str(&c, company);
    pg_p_i64(&c, now);
    int64_t rows = 0;
    rc = pg_run(&x, sql_link_insert, &c, &rows, "creating a contact", e);
    *created = rc == 0 && rows == 1;
    if (!rc && !*created) {
        rc = pg_exec(&x, sql_link_find, &p, &r, "finding a contact", e);
        if (!rc) {
            if (PQntuples(r) > 0)
                pg_col_copy(r, 0, 0, id, STORE_ID_LEN);
            else
                rc = failf(e, ERR_TEMPORARY, "a contact with this email was being created");
            PQclear(r);
        }
    }
    return pg_leave(&x, rc, e);
}

static const char sql_contact_facts[] =
    "SELECT COALESCE(job_title,''), status FROM contacts WHERE workspace_id = $1 AND id = $2";
/*
 * Analyzed inbound emails (kind 0 email, 1 reply) and the opens (2) and
 * clicks (3) of mail sent to the contact, newest first. Bot events never
 * count. An email opened ten times is one open, and a link clicked again
 * one click (each at its latest time): re-reading should not outweigh a
 * reply.
 */
static const char sql_activity[] =
    "SELECT received_at AS at, (in_reply_to IS NOT NULL)::int AS k, intent_bits,"
    " sentiment_score FROM emails WHERE workspace_id = $1 AND contact_id = $2"
    " AND direction = 'inbound' AND provider IS NOT NULL AND received_at >= $3"
    " UNION ALL"
    " SELECT MAX(created_at), CASE kind WHEN 'open' THEN 2 ELSE 3 END, 0,"
    " NULL::double precision FROM email_events WHERE workspace_id = $1 AND contact_id = $2"
    " AND kind IN ('open','click') AND NOT is_bot AND created_at >= $3"
    " GROUP BY kind, sent_email_id, CASE kind WHEN 'click' THEN url END"
    " ORDER BY at DESC LIMIT $4";

int pg_contact_activity(struct store *base, const char *workspace_id, const char *contact_id,
                        int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                        size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                        struct errinfo *e)
{
    *acts = NULL;
    *n = 0;
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    PGresult *r;
    rc = pg_exec(&x, sql_contact_facts, &p, &r, "reading a contact", e);
    if (rc)
        return pg_leave(&x, rc, e);
    if (PQntuples(r) > 0) {
        pg_col_copy(r, 0, 0, job_title, STORE_NAME_MAX);
        pg_col_copy(r, 0, 1, status, 16);
    } else {
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    }
    PQclear(r);
    if (rc)
        return pg_leave(&x, rc, e);
    pg_p_i64(&p, since_ms);
    pg_p_i64(&p, (int64_t)max);
    rc = pg_exec(&x, sql_activity, &p, &r, "reading a contact's emails and events", e);
    if (rc)
        return pg_leave(&x, rc, e);
    int nt = PQntuples(r);
    *acts = pg_rows(a, r, sizeof(**acts));
    for (int i = 0; i < nt && (size_t)i < max; i++) {
        struct activity *act = &(*acts)[(*n)++];
        act->at_ms = pg_col_i64(r, i, 0);
        switch (pg_col_i64(r, i, 1)) {
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
        act->intents = (unsigned)pg_col_i64(r, i, 2);
        act->has_sentiment = !pg_col_null(r, i, 3);
        act->sentiment_score = pg_col_dbl(r, i, 3);
    }
    PQclear(r);
    return pg_leave(&x, 0, e);
}

/* FOR UPDATE: two batches scoring the same contact write history in turn. */
static const char sql_score_old[] =
    "SELECT ai_score FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE";
static const char sql_score_set[] =
    "UPDATE contacts SET ai_score = GREATEST(0, LEAST(100, $3::int + score_campaign)),"
    " score_engagement = $4, score_sentiment = $5, score_intent = $6, score_role = $7,"
    " score_status = $8, score_reasons = $9::jsonb, sentiment = $10,"
    " last_interaction = GREATEST(COALESCE(last_interaction, 0), $11), scored_at = $12"
    " WHERE workspace_id = $1 AND id = $2 RETURNING ai_score";
static const char sql_history_add[] =
    "INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement, sentiment,"
    " intent, role, status, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
    " $11)";

int pg_contact_score_save(struct store *base, const char *workspace_id, const char *contact_id,
                          const struct score *sc, const char *reasons_json, int64_t now,
                          int *previous, int *total_out, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    PGresult *r;
    rc = pg_exec(&x, sql_score_old, &p, &r, "reading a score", e);
    if (rc)
        return pg_leave(&x, rc, e);
    if (PQntuples(r) > 0)
        *previous = (int)pg_col_i64(r, 0, 0);
    else
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    PQclear(r);
    if (rc)
        return pg_leave(&x, rc, e);

    pg_p_i64(&p, sc->total);
    pg_p_dbl(&p, sc->engagement);
    pg_p_dbl(&p, sc->sentiment);
    pg_p_dbl(&p, sc->intent);
    pg_p_dbl(&p, sc->role);
    pg_p_dbl(&p, sc->status);
    pg_p_str(&p, reasons_json ? reasons_json : "[]");
    if (sc->has_sentiment)
        pg_p_dbl(&p, sc->sentiment_mean);
    else
        pg_p_str(&p, NULL);
    pg_p_i64(&p, sc->last_activity_ms);
    pg_p_i64(&p, now);
    rc = pg_exec(&x, sql_score_set, &p, &r, "saving a score", e);
    if (rc)
        return pg_leave(&x, rc, e);
    /* The stored total includes the contact's campaign points (score steps). */
    int total = PQntuples(r) > 0 ? (int)pg_col_i64(r, 0, 0) : sc->total;
    PQclear(r);
    if (total_out)
        *total_out = total;
    if (total == *previous)
        return pg_leave(&x, 0, e);

    struct pg_params h = {0};
    pg_p_str(&h, workspace_id);
    pg_p_str(&h, contact_id);
    pg_p_i64(&h, total);
    pg_p_i64(&h, *previous);
    pg_p_dbl(&h, sc->engagement);
    pg_p_dbl(&h, sc->sentiment);
    pg_p_dbl(&h, sc->intent);
    pg_p_dbl(&h, sc->role);
    pg_p_dbl(&h, sc->status);
    pg_p_str(&h, sc->nreasons ? sc->reasons[0] : NULL);
    pg_p_i64(&h, now);
    rc = pg_run(&x, sql_history_add, &h, NULL, "writing score history", e);
    return pg_leave(&x, rc, e);
}

/* contact < prospect < lead < customer, as a CASE over a column or parameter. */
#define STATUS_RANK(x)                                                                             \
    "(CASE " x " WHEN 'contact' THEN 0 WHEN 'prospect' THEN 1 WHEN 'lead' THEN 2"                  \
    " WHEN 'customer' THEN 3 ELSE -1 END)"

static const char sql_status_advance[] =
    "UPDATE contacts SET status = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2"
    " AND " STATUS_RANK("status") " < " STATUS_RANK("$3::text");

int pg_contact_status_advance(struct store *base, const char *workspace_id, const char *contact_id,
                              const char *status, int64_t now, bool *changed, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_str(&p, status);
    pg_p_i64(&p, now);
    PGresult *r;
    *changed = false;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_status_advance, &p, &r,
                     "advancing a status", e);
    if (rc)
        return rc;
    *changed = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    return 0;
}

static const char sql_history[] =
    "SELECT score, previous, engagement, sentiment, intent, role, status, COALESCE(reason,''),"
    " created_at FROM score_history WHERE workspace_id = $1 AND contact_id = $2"
    " ORDER BY created_at DESC, id DESC LIMIT $3";

int pg_contact_score_history(struct store *base, const char *workspace_id, const char *contact_id,
                             int limit, struct arena *a, struct score_change **rows, size_t *n,
                             struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_i64(&p, limit > 0 ? limit : 0);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_history, &p, &r,
                     "reading score history", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct score_change *c = &(*rows)[(*n)++];
        c->score = (int)pg_col_i64(r, i, 0);
        c->previous = (int)pg_col_i64(r, i, 1);
        c->engagement = pg_col_dbl(r, i, 2);
        c->sentiment = pg_col_dbl(r, i, 3);
        c->intent = pg_col_dbl(r, i, 4);
        c->role = pg_col_dbl(r, i, 5);
        c->status = pg_col_dbl(r, i, 6);
        c->reason = pg_col_dup(r, i, 7, a);
        c->at = pg_col_i64(r, i, 8);
    }
    PQclear(r);
    return 0;
}

/* The contact's newest email beside each lead; the total before LIMIT (a
 * window over the filtered rows). NULL interactions sort last going down, as
 * on SQLite. */
static const char sql_hot[] =
    "SELECT " PG_CONTACT_COLS ", le.id, le.received_at, le.intent_bits, COALESCE(le.subject,''),"
    " COUNT(*) OVER () FROM contacts c LEFT JOIN LATERAL (SELECT e.id, e.received_at,"
    " e.intent_bits, e.subject FROM emails e WHERE e.workspace_id = c.workspace_id"
    " AND e.contact_id = c.id ORDER BY e.received_at DESC LIMIT 1) le ON true"
    " WHERE c.workspace_id = $1 AND c.ai_score >= $2"
    " ORDER BY c.ai_score DESC, c.last_interaction DESC NULLS LAST, c.id COLLATE \"C\""
    " LIMIT $3 OFFSET $4";
static const char sql_hot_count[] =
    "SELECT COUNT(*) FROM contacts WHERE workspace_id = $1 AND ai_score >= $2";

int pg_hot_leads(struct store *base, const char *workspace_id, int min_score, int limit, int offset,
                 struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                 struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_i64(&p, min_score);
    pg_p_i64(&p, limit > 0 ? limit : 0);
    pg_p_i64(&p, offset > 0 ? offset : 0);
    PGresult *r;
    rc = pg_exec(&x, sql_hot, &p, &r, "listing hot leads", e);
    if (rc)
        return pg_leave(&x, rc, e);
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct hot_lead *h = &(*rows)[(*n)++];
        int k = PG_CONTACT_NCOLS;
        pg_contact_row(r, i, a, &h->c);
        if (pg_col_null(r, i, k)) {
            h->last_email_id[0] = '\0';
            h->last_subject = NULL;
        } else {
            pg_col_copy(r, i, k, h->last_email_id, sizeof(h->last_email_id));
            h->last_email_at = pg_col_i64(r, i, k + 1);
            h->last_intents = (unsigned)pg_col_i64(r, i, k + 2);
            h->last_subject = pg_col_dup(r, i, k + 3, a);
        }
        *total = pg_col_i64(r, i, k + 4);
    }
    PQclear(r);
    if (nt == 0) {
        p.n = 2;
        rc = pg_exec(&x, sql_hot_count, &p, &r, "counting hot leads", e);
        if (!rc) {
            *total = pg_col_i64(r, 0, 0);
            PQclear(r);
        }
    }
    return pg_leave(&x, rc, e);
}

/* ---- emails ---- */

static const char sql_email_insert[] =
    "INSERT INTO emails (id, workspace_id, contact_id, message_id, in_reply_to, thread_id,"
    " from_email, from_name, to_emails, subject, body_text, received_at, direction, intents,"
    " intent_bits, sentiment, sentiment_score, urgency, provider, source, attachments,"
    " processed_at, created_at) VALUES ($1, $2, NULLIF($3,''), $4, $5, $6, $7, $8,"
    " COALESCE($9::jsonb,'[]'), $10, $11, $12, $13, $14::jsonb, $15, $16, $17, $18, $19, $20,"
    " $21, $22, $23) ON CONFLICT (workspace_id, message_id) DO NOTHING";

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

int pg_email_insert(struct store *base, const char *workspace_id, const struct email_row *row,
                    bool *inserted, struct errinfo *e)
{
    char intents[160];
    *inserted = false;
    intents_json(row->intent_bits, intents, sizeof(intents));
    struct pg_params p = {0};
    pg_p_str(&p, row->id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, row->contact_id);
    pg_p_str(&p, row->message_id);
    pg_p_str(&p, nonempty(row->in_reply_to));
    pg_p_str(&p, nonempty(row->thread_id));
    pg_p_str(&p, row->from_email);
    pg_p_str(&p, nonempty(row->from_name));
    pg_p_str(&p, row->to_emails);
    pg_p_str(&p, row->subject);
    pg_p_str(&p, row->body_text);
    pg_p_i64(&p, row->received_at);
    pg_p_str(&p, row->direction ? row->direction : "inbound");
    pg_p_str(&p, intents);
    pg_p_i64(&p, row->intent_bits);
    pg_p_str(&p, row->sentiment);
    if (row->sentiment)
        pg_p_dbl(&p, row->sentiment_score);
    else
        pg_p_str(&p, NULL);
    pg_p_str(&p, row->urgency);
    pg_p_str(&p, row->provider);
    pg_p_str(&p, row->source ? row->source : "import");
    pg_p_i64(&p, row->attachments);
    if (row->processed_at)
        pg_p_i64(&p, row->processed_at);
    else
        pg_p_str(&p, NULL);
    pg_p_i64(&p, row->created_at);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_email_insert, &p, &r,
                     "storing an email", e);
    if (rc)
        return rc;
    *inserted = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    return 0;
}

#define EMAIL_COLS                                                                                 \
    "id, COALESCE(contact_id,''), message_id, COALESCE(in_reply_to,''), COALESCE(thread_id,''),"   \
    " from_email, COALESCE(from_name,''), to_emails::text, COALESCE(subject,''),"                  \
    " COALESCE(body_text,''), direction, source, intent_bits, sentiment, sentiment_score,"         \
    " urgency, provider, attachments, received_at, COALESCE(processed_at,0), created_at"

static void email_row_read(const PGresult *r, int i, struct arena *a, struct email_row *out)
{
    memset(out, 0, sizeof(*out));
    pg_col_copy(r, i, 0, out->id, sizeof(out->id));
    pg_col_copy(r, i, 1, out->contact_id, sizeof(out->contact_id));
    out->message_id = pg_col_dup(r, i, 2, a);
    out->in_reply_to = pg_col_dup(r, i, 3, a);
    out->thread_id = pg_col_dup(r, i, 4, a);
    out->from_email = pg_col_dup(r, i, 5, a);
    out->from_name = pg_col_dup(r, i, 6, a);
    out->to_emails = pg_col_dup(r, i, 7, a);
    out->subject = pg_col_dup(r, i, 8, a);
    out->body_text = pg_col_dup(r, i, 9, a);
    out->direction = pg_col_dup(r, i, 10, a);
    out->source = pg_col_dup(r, i, 11, a);
    out->intent_bits = (unsigned)pg_col_i64(r, i, 12);
    out->sentiment = pg_col_opt(r, i, 13, a);
    out->sentiment_score = pg_col_dbl(r, i, 14);
    out->urgency = pg_col_opt(r, i, 15, a);
    out->provider = pg_col_opt(r, i, 16, a);
    out->attachments = (int)pg_col_i64(r, i, 17);
    out->received_at = pg_col_i64(r, i, 18);
    out->processed_at = pg_col_i64(r, i, 19);
    out->created_at = pg_col_i64(r, i, 20);
}

static const char sql_email_get[] =
    "SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = $1 AND id = $2";
static const char sql_email_latest[] =
    "SELECT " EMAIL_COLS " FROM emails WHERE workspace_id = $1 AND contact_id = $2"
    " ORDER BY received_at DESC LIMIT 1";

static int email_one(struct store *base, const char *sql, const char *workspace_id, const char *id,
                     struct arena *a, struct email_row *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql, &p, &r, "reading an email", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        email_row_read(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "email not found");
    PQclear(r);
    return rc;
}

int pg_email_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                 struct email_row *out, struct errinfo *e)
{
    return email_one(base, sql_email_get, workspace_id, id, a, out, e);
}

int pg_email_latest(struct store *base, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct email_row *out, struct errinfo *e)
{
    return email_one(base, sql_email_latest, workspace_id, contact_id, a, out, e);
}

/* $5: a LIKE pattern; without regard to case, as SQLite's LIKE (ASCII). */
#define EMAIL_FILTER                                                                               \
    " FROM emails WHERE workspace_id = $1 AND ($2::text IS NULL OR contact_id = $2)"               \
    " AND ($3::int IS NULL OR (intent_bits & $3) <> 0) AND ($4::text IS NULL OR sentiment = $4)"   \
    " AND ($5::text IS NULL OR subject ILIKE $5 OR from_email ILIKE $5 OR from_name ILIKE $5)"

static const char sql_email_list[] =
    "SELECT " EMAIL_COLS EMAIL_FILTER " ORDER BY received_at DESC, id COLLATE \"C\" LIMIT $6"
    " OFFSET $7";
static const char sql_email_count[] = "SELECT COUNT(*)" EMAIL_FILTER;

/* "%text%" with LIKE's wildcards escaped (backslash is its default escape). */
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

int pg_email_list(struct store *base, const char *workspace_id, const struct email_query *q,
                  struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, q->contact_id);
    if (q->intent)
        pg_p_i64(&p, intent_parse(q->intent));
    else
        pg_p_str(&p, NULL);
    pg_p_str(&p, q->sentiment);
    pg_p_str(&p, like_pattern(q->text, a));
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    PGresult *r;
    rc = pg_exec(&x, sql_email_count, &p, &r, "counting emails", e);
    if (rc)
        return pg_leave(&x, rc, e);
    *total = pg_col_i64(r, 0, 0);
    PQclear(r);
    pg_p_i64(&p, q->limit > 0 ? q->limit : 0);
    pg_p_i64(&p, q->offset > 0 ? q->offset : 0);
    rc = pg_exec(&x, sql_email_list, &p, &r, "listing emails", e);
    if (rc)
        return pg_leave(&x, rc, e);
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        email_row_read(r, i, a, &(*rows)[(*n)++]);
    PQclear(r);
    return pg_leave(&x, 0, e);
}

/* ---- the dashboard's counts ---- */

static const char sql_stats[] = "SELECT contacts, hot, warm, emails, emails_unprocessed,"
                                " (SELECT COALESCE(SUM(emails), 0) FROM workspace_email_days d"
                                "  WHERE d.workspace_id = $1 AND d.day >= $2),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = $1),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = $1 AND p.status = 'active'),"
                                " (SELECT COUNT(*) FROM generated_content g"
                                "  WHERE g.workspace_id = $1 AND g.status = 'draft')"
                                " FROM workspace_counts WHERE workspace_id = $1";
static const char sql_version[] = "SELECT version FROM workspace_counts WHERE workspace_id = $1";

int pg_workspace_stats(struct store *base, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    /* The last seven days, counted in whole UTC days including today. */
    pg_p_i64(&p, now / 86400000 - 6);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_stats, &p, &r,
                     "reading the workspace's counts", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        out->contacts = pg_col_i64(r, 0, 0);
        out->hot = pg_col_i64(r, 0, 1);
        out->warm = pg_col_i64(r, 0, 2);
        out->cold = out->contacts - out->hot - out->warm;
        out->emails = pg_col_i64(r, 0, 3);
        out->emails_unprocessed = pg_col_i64(r, 0, 4);
        out->emails_week = pg_col_i64(r, 0, 5);
        out->campaigns = pg_col_i64(r, 0, 6);
        out->campaigns_active = pg_col_i64(r, 0, 7);
        out->drafts_pending = pg_col_i64(r, 0, 8);
    }
    PQclear(r);
    return 0;
}

int pg_workspace_version(struct store *base, const char *workspace_id, int64_t *version,
                         struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_version, &p, &r,
                     "reading the workspace's version", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        *version = pg_col_i64(r, 0, 0);
    else
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    PQclear(r);
    return rc;
}
