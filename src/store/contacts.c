/*
 * Contacts, written once over the cursor (store/db.h): create, read,
 * update, delete, and the list with filtering, sorting, paging and search.
 * Search is where the databases differ: FTS5 on SQLite; a tsvector column
 * with a GIN index on PostgreSQL, where every word typed must be the prefix
 * of a word of the email, name, company or job title, case and common
 * diacritics folded by leadflow_fold, as FTS5 does.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/contacts.h"
#include "store/db.h"
#include "store/db_ops.h"

/* The columns of struct contact, in db_contact_row's order, as a RETURNING
 * clause (unqualified: SQLite's RETURNING takes no alias). */
#define RETURNING_COLS DB_CONTACT_COLS_OF("")
#define CONTACT_COLS DB_CONTACT_COLS

#define SQ_FILTER                                                                                  \
    " FROM contacts c WHERE c.workspace_id = ?1 AND (?2 IS NULL OR c.status = ?2)"                 \
    " AND (?3 IS NULL OR c.ai_score >= ?3) AND (?4 IS NULL OR c.ai_score <= ?4)"                   \
    " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = ?5))"
#define SQ_FILTER_TEXT                                                                             \
    SQ_FILTER " AND c.rowid IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?6)"
/* $6: the words typed, each a prefix; none (only separators) matches nothing. */
#define PG_FILTER                                                                                  \
    " FROM contacts c WHERE c.workspace_id = $1 AND ($2::text IS NULL OR c.status = $2)"           \
    " AND ($3::int IS NULL OR c.ai_score >= $3) AND ($4::int IS NULL OR c.ai_score <= $4)"         \
    " AND ($5::text IS NULL OR c.tags @> jsonb_build_array($5::text))"                             \
    " AND ($6::text IS NULL OR c.search @@ (SELECT to_tsquery('simple',"                           \
    " string_agg(quote_literal(w) || ':*', ' & ')) FROM regexp_split_to_table(leadflow_fold($6),"  \
    " ' +') w WHERE w <> ''))"

#define SQ_LIST(filter, order)                                                                     \
    "SELECT " CONTACT_COLS filter " ORDER BY " order ", c.id LIMIT ?7 OFFSET ?8"
#define PG_LIST(order)                                                                             \
    "SELECT " CONTACT_COLS PG_FILTER " ORDER BY " order ", c.id COLLATE \"C\" LIMIT $7 OFFSET $8"
/* Without and with full-text search (PostgreSQL's one statement does both). */
#define VARIANTS(sq, pg)                                                                           \
    {                                                                                              \
        DB_SQL2(SQ_LIST(SQ_FILTER, sq), PG_LIST(pg)),                                              \
            DB_SQL2(SQ_LIST(SQ_FILTER_TEXT, sq), PG_LIST(pg))                                      \
    }

/* [sort][descending?][search?]. PostgreSQL sorts as SQLite does: NULLs first
 * going up, names and emails without regard to case, ties by id. */
static struct db_sql sql_list[CS_COUNT][2][2] = {
    [CS_CREATED] = {VARIANTS("c.created_at", "c.created_at"),
                    VARIANTS("c.created_at DESC", "c.created_at DESC")},
    [CS_UPDATED] = {VARIANTS("c.updated_at", "c.updated_at"),
                    VARIANTS("c.updated_at DESC", "c.updated_at DESC")},
    [CS_SCORE] = {VARIANTS("c.ai_score", "c.ai_score"),
                  VARIANTS("c.ai_score DESC", "c.ai_score DESC")},
    [CS_NAME] = {VARIANTS("c.name COLLATE NOCASE", "lower(c.name) COLLATE \"C\" NULLS FIRST"),
                 VARIANTS("c.name COLLATE NOCASE DESC",
                          "lower(c.name) COLLATE \"C\" DESC NULLS LAST")},
    [CS_EMAIL] = {VARIANTS("c.email", "lower(c.email) COLLATE \"C\""),
                  VARIANTS("c.email DESC", "lower(c.email) COLLATE \"C\" DESC")},
    [CS_LAST_INTERACTION] = {VARIANTS("c.last_interaction", "c.last_interaction NULLS FIRST"),
                             VARIANTS("c.last_interaction DESC",
                                      "c.last_interaction DESC NULLS LAST")},
};
static struct db_sql sql_count[2] = {
    DB_SQL2("SELECT COUNT(*)" SQ_FILTER, "SELECT COUNT(*)" PG_FILTER),
    DB_SQL2("SELECT COUNT(*)" SQ_FILTER_TEXT, "SELECT COUNT(*)" PG_FILTER),
};

static struct db_sql sql_get = DB_SQL("SELECT " CONTACT_COLS " FROM contacts c"
                                      " WHERE c.workspace_id = ?1 AND c.id = ?2");
#define INSERT_INTO                                                                                \
    "INSERT INTO contacts (id, workspace_id, email, name, company, job_title, status, tags,"       \
    " created_at, updated_at)"
static struct db_sql sql_insert =
    DB_SQL2(INSERT_INTO " VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, 'prospect'),"
                        " COALESCE(?8, '[]'), ?9, ?9) RETURNING " RETURNING_COLS,
            INSERT_INTO " VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'prospect'),"
                        " COALESCE($8::jsonb, '[]'), $9, $9) RETURNING " RETURNING_COLS);
/* ?3, ?5, ...: whether the field after it is set. */
#define UPDATE_SET(flag, tags)                                                                     \
    "UPDATE contacts SET email = CASE WHEN " flag(                                                 \
        3) " THEN ?4 ELSE email END,"                                                              \
           " name = CASE WHEN " flag(                                                              \
               5) " THEN ?6 ELSE name END,"                                                        \
                  " company = CASE WHEN " flag(                                                    \
                      7) " THEN ?8 ELSE company END,"                                              \
                         " job_title = CASE WHEN " flag(                                           \
                             9) " THEN ?10 ELSE job_title END,"                                    \
                                " status = CASE WHEN " flag(                                       \
                                    11) " THEN ?12 ELSE status END,"                               \
                                        " tags = CASE WHEN " flag(                                 \
                                            13) " THEN " tags " ELSE tags END, updated_at = ?15"   \
                                                " WHERE workspace_id = ?1 AND id = ?2 "            \
                                                "RETURNING " RETURNING_COLS
#define SQ_FLAG(n) "?" #n
#define PG_FLAG(n) "CAST(?" #n " AS boolean)"
static struct db_sql sql_update =
    DB_SQL2(UPDATE_SET(SQ_FLAG, "?14"), UPDATE_SET(PG_FLAG, "CAST(?14 AS jsonb)"));
static struct db_sql sql_delete =
    DB_SQL("DELETE FROM contacts WHERE workspace_id = ?1 AND id = ?2");

void db_contact_row(struct db_cur *c, struct arena *a, struct contact *ct)
{
    db_col_copy(c, 0, ct->id, sizeof(ct->id));
    db_col_copy(c, 1, ct->workspace_id, sizeof(ct->workspace_id));
    db_col_copy(c, 2, ct->email, sizeof(ct->email));
    db_col_copy(c, 3, ct->name, sizeof(ct->name));
    db_col_copy(c, 4, ct->company, sizeof(ct->company));
    db_col_copy(c, 5, ct->job_title, sizeof(ct->job_title));
    db_col_copy(c, 6, ct->status, sizeof(ct->status));
    const char *tags = db_col_opt(c, 7, a);
    ct->tags = tags ? tags : arena_strdup(a, "[]");
    ct->ai_score = db_col_int(c, 8);
    ct->score_engagement = db_col_dbl(c, 9);
    ct->score_sentiment = db_col_dbl(c, 10);
    ct->score_intent = db_col_dbl(c, 11);
    ct->score_role = db_col_dbl(c, 12);
    ct->score_status = db_col_dbl(c, 13);
    ct->has_sentiment = !db_col_null(c, 14);
    ct->sentiment = db_col_dbl(c, 14);
    ct->last_interaction = db_col_i64(c, 15);
    ct->unsubscribed_at = db_col_i64(c, 16);
    ct->created_at = db_col_i64(c, 17);
    ct->updated_at = db_col_i64(c, 18);
    ct->score_reasons = db_col_dup(c, 19, a);
}

/* db_contact_row() as a db_row_fn. */
static void contact_row(struct db_cur *c, struct arena *a, void *row)
{
    db_contact_row(c, a, row);
}

int store_contact_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct contact *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, contact_row, a, out, "reading a contact",
                        "contact", e);
}

static struct db_sql sql_emails = DB_SQL("SELECT email, id FROM contacts WHERE workspace_id = ?1");

int store_contact_emails(struct store *st, const char *workspace_id, store_email_fn fn, void *arg,
                         struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_emails, "listing contact emails");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        while ((rc = db_step(&c)) == DB_ROW)
            fn(arg, db_col_text(&c, 0), db_col_text(&c, 1));
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

/* An integrity failure on insert or update: the per-workspace unique email,
 * or a value a CHECK refuses. */
static int write_fail(struct db_cur *c, int rc, const char *email)
{
    if (rc != ERR_CONFLICT)
        return rc;
    if (db_unique(c))
        return failf(c->e, ERR_CONFLICT, "a contact with email %s already exists in this workspace",
                     email ? email : "(this address)");
    return failf(c->e, ERR_INVALID, "a contact field has a value the database refuses");
}

int store_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                         int64_t now, struct arena *a, struct contact *out, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_insert, "saving a contact");
    if (!rc) {
        char id[STORE_ID_LEN];
        crypto_uuid(id);
        db_bind_str(&c, 1, id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, f->email);
        db_bind_str(&c, 4, (f->set & CF_NAME) ? f->name : NULL);
        db_bind_str(&c, 5, (f->set & CF_COMPANY) ? f->company : NULL);
        db_bind_str(&c, 6, (f->set & CF_JOB_TITLE) ? f->job_title : NULL);
        db_bind_str(&c, 7, (f->set & CF_STATUS) ? f->status : NULL);
        db_bind_str(&c, 8, (f->set & CF_TAGS) ? f->tags : NULL);
        db_bind_i64(&c, 9, now);
        rc = write_fail(&c, db_read_one(&c, contact_row, a, out, "contact"), f->email);
    }
    return db_leave(&c, rc);
}

int store_contact_update(struct store *st, const char *workspace_id, const char *id,
                         const struct contact_fields *f, int64_t now, struct arena *a,
                         struct contact *out, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_update, "saving a contact");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        static const unsigned bits[] = {CF_EMAIL,     CF_NAME,   CF_COMPANY,
                                        CF_JOB_TITLE, CF_STATUS, CF_TAGS};
        const char *vals[] = {f->email, f->name, f->company, f->job_title, f->status, f->tags};
        for (int i = 0; i < 6; i++) {
            db_bind_bool(&c, 3 + 2 * i, (f->set & bits[i]) != 0);
            db_bind_str(&c, 4 + 2 * i, vals[i]);
        }
        db_bind_i64(&c, 15, now);
        rc = write_fail(&c, db_read_one(&c, contact_row, a, out, "contact"), f->email);
    }
    return db_leave(&c, rc);
}

int store_contact_delete(struct store *st, const char *workspace_id, const char *id,
                         struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_delete, "deleting a contact");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_run_one(&c, "contact");
    }
    return db_leave(&c, rc);
}

/* Binds the filter parameters ?1..?6 shared by the list and count queries. */
static void bind_filter(struct db_cur *c, const char *workspace_id, const struct contact_query *q,
                        const char *words)
{
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, q->status);
    if (q->min_score >= 0)
        db_bind_i64(c, 3, q->min_score);
    if (q->max_score >= 0)
        db_bind_i64(c, 4, q->max_score);
    db_bind_str(c, 5, q->tag);
    db_bind_str(c, 6, words);
}

/*
 * Turns what a person typed into an FTS5 query that cannot be a syntax
 * error: each word becomes a quoted prefix term ("ali"* "acme"*). NULL when
 * there is no word (only separators).
 */
static const char *fts_query(struct arena *a, const char *text)
{
    size_t n = strlen(text);
    /* A one-byte word and a separator ("a ") become five bytes ("a"* ), so the
     * query is at most 2.5 times the text, plus the NUL. */
    char *out = arena_alloc(a, n * 3 + 8);
    size_t o = 0;
    bool in_word = false;
    for (const char *p = text; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool sep = ch <= ' ' || ch == '"';
        if (sep) {
            if (in_word) {
                out[o++] = '"';
                out[o++] = '*';
                out[o++] = ' ';
                in_word = false;
            }
            continue;
        }
        if (!in_word) {
            out[o++] = '"';
            in_word = true;
        }
        out[o++] = (char)ch;
    }
    if (in_word) {
        out[o++] = '"';
        out[o++] = '*';
    }
    out[o] = '\0';
    return o ? out : NULL;
}

int store_contact_list(struct store *st, const char *workspace_id, const struct contact_query *q,
                       struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                       struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    const char *match = q->text && *q->text ? fts_query(a, q->text) : NULL;
    if (q->text && *q->text && !match)
        return 0; /* only separators: nothing can match */
    /* FTS5 takes the query fts_query makes; PostgreSQL's statement splits
     * the words itself (and has one form for with and without). */
    bool sqlite = st->ops->db->kind == DB_SQLITE;
    const char *words = sqlite ? match : (match ? q->text : NULL);
    int text = sqlite && match;
    int sort = q->sort >= 0 && q->sort < CS_COUNT ? (int)q->sort : CS_CREATED;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_count[text], "counting contacts");
    if (!rc) {
        bind_filter(&c, workspace_id, q, words);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    if (!rc && *total > 0)
        rc = db_prepare(&c, &sql_list[sort][q->desc ? 1 : 0][text], "listing contacts");
    if (!rc && *total > 0) {
        bind_filter(&c, workspace_id, q, words);
        db_bind_i64(&c, 7, q->limit);
        db_bind_i64(&c, 8, q->offset);
        *rows = arena_alloc(a, sizeof(**rows) * (size_t)(q->limit > 0 ? q->limit : 1));
        while ((int)*n < q->limit && (rc = db_step(&c)) == DB_ROW)
            db_contact_row(&c, a, &(*rows)[(*n)++]);
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}
