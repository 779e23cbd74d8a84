/*
 * SQLite backend: contacts, with filtering, sorting, paging and full-text
 * search (FTS5 over email, name, company and job title).
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_contacts.h"

#define CONTACT_COLS SQ_CONTACT_COLS

#define FILTER                                                                                     \
    " FROM contacts c WHERE c.workspace_id = ?1 AND (?2 IS NULL OR c.status = ?2)"                 \
    " AND (?3 IS NULL OR c.ai_score >= ?3) AND (?4 IS NULL OR c.ai_score <= ?4)"                   \
    " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = ?5))"
#define FILTER_TEXT                                                                                \
    FILTER " AND c.rowid IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?6)"

#define LIST(filter, order)                                                                        \
    "SELECT " CONTACT_COLS filter " ORDER BY " order ", c.id LIMIT ?7 OFFSET ?8"
#define SORTS(filter)                                                                              \
    {                                                                                              \
        [CS_CREATED] = {LIST(filter, "c.created_at"), LIST(filter, "c.created_at DESC")},          \
        [CS_UPDATED] = {LIST(filter, "c.updated_at"), LIST(filter, "c.updated_at DESC")},          \
        [CS_SCORE] = {LIST(filter, "c.ai_score"), LIST(filter, "c.ai_score DESC")},                \
        [CS_NAME] = {LIST(filter, "c.name COLLATE NOCASE"),                                        \
                     LIST(filter, "c.name COLLATE NOCASE DESC")},                                  \
        [CS_EMAIL] = {LIST(filter, "c.email"), LIST(filter, "c.email DESC")},                      \
        [CS_LAST_INTERACTION] = {LIST(filter, "c.last_interaction"),                               \
                                 LIST(filter, "c.last_interaction DESC")},                         \
    }

/* [full-text?][sort][descending?]; each is a static text, so it is cached. */
static const char *const sql_list[2][CS_COUNT][2] = {SORTS(FILTER), SORTS(FILTER_TEXT)};
static const char *const sql_count[2] = {"SELECT COUNT(*)" FILTER, "SELECT COUNT(*)" FILTER_TEXT};

static const char sql_get[] = "SELECT " CONTACT_COLS " FROM contacts c"
                              " WHERE c.workspace_id = ?1 AND c.id = ?2";
static const char sql_insert[] =
    "INSERT INTO contacts (id, workspace_id, email, name, company, job_title, status, tags,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, 'prospect'),"
    " COALESCE(?8, '[]'), ?9, ?9)";
static const char sql_update[] = "UPDATE contacts SET"
                                 " email = CASE WHEN ?3 THEN ?4 ELSE email END,"
                                 " name = CASE WHEN ?5 THEN ?6 ELSE name END,"
                                 " company = CASE WHEN ?7 THEN ?8 ELSE company END,"
                                 " job_title = CASE WHEN ?9 THEN ?10 ELSE job_title END,"
                                 " status = CASE WHEN ?11 THEN ?12 ELSE status END,"
                                 " tags = CASE WHEN ?13 THEN ?14 ELSE tags END,"
                                 " updated_at = ?15"
                                 " WHERE workspace_id = ?1 AND id = ?2";
static const char sql_delete[] = "DELETE FROM contacts WHERE workspace_id = ?1 AND id = ?2";

void sq_contact_row(sqlite3_stmt *st, struct arena *a, struct contact *c)
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

/* sq_contact_row() as a sq_row_fn. */
static void contact_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    sq_contact_row(st, a, row);
}

int sq_contact_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                   struct contact *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_get, workspace_id, id, contact_row, a, out,
                        "reading a contact", "contact", e);
}

/* A constraint failure on insert or update is the per-workspace unique email. */
static int write_fail(struct errinfo *e, struct sq_conn *c, int src, const char *email)
{
    int rc = sq_fail(e, c->db, src, "saving a contact");
    if (rc == ERR_CONFLICT && sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE)
        return failf(e, ERR_CONFLICT, "a contact with email %s already exists in this workspace",
                     email ? email : "(this address)");
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_INVALID, "a contact field has a value the database refuses");
    return rc;
}

int sq_contact_create(struct store *base, const char *workspace_id, const struct contact_fields *f,
                      int64_t now, struct arena *a, struct contact *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_insert, &st, &c, e);
    if (rc)
        return rc;
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    sq_bind_str(st, 1, id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, f->email);
    sq_bind_str(st, 4, (f->set & CF_NAME) ? f->name : NULL);
    sq_bind_str(st, 5, (f->set & CF_COMPANY) ? f->company : NULL);
    sq_bind_str(st, 6, (f->set & CF_JOB_TITLE) ? f->job_title : NULL);
    sq_bind_str(st, 7, (f->set & CF_STATUS) ? f->status : NULL);
    sq_bind_str(st, 8, (f->set & CF_TAGS) ? f->tags : NULL);
    sqlite3_bind_int64(st, 9, now);
    int src = sqlite3_step(st);
    rc = src == SQLITE_DONE ? 0 : write_fail(e, c, src, f->email);
    sq_done(st);
    return rc ? rc : sq_contact_get(base, workspace_id, id, a, out, e);
}

int sq_contact_update(struct store *base, const char *workspace_id, const char *id,
                      const struct contact_fields *f, int64_t now, struct arena *a,
                      struct contact *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_update, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    static const unsigned bits[] = {CF_EMAIL,     CF_NAME,   CF_COMPANY,
                                    CF_JOB_TITLE, CF_STATUS, CF_TAGS};
    const char *vals[] = {f->email, f->name, f->company, f->job_title, f->status, f->tags};
    for (int i = 0; i < 6; i++) {
        sqlite3_bind_int(st, 3 + 2 * i, (f->set & bits[i]) != 0);
        sq_bind_str(st, 4 + 2 * i, vals[i]);
    }
    sqlite3_bind_int64(st, 15, now);
    int src = sqlite3_step(st);
    rc = src == SQLITE_DONE ? 0 : write_fail(e, c, src, f->email);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    sq_done(st);
    return rc ? rc : sq_contact_get(base, workspace_id, id, a, out, e);
}

int sq_contact_delete(struct store *base, const char *workspace_id, const char *id,
                      struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_delete, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    int src = sqlite3_step(st);
    rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, "deleting a contact");
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    sq_done(st);
    return rc;
}

/* Binds the filter parameters ?1..?6 shared by the list and count queries. */
static void bind_filter(sqlite3_stmt *st, const char *workspace_id, const struct contact_query *q,
                        const char *match)
{
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, q->status);
    if (q->min_score >= 0)
        sqlite3_bind_int(st, 3, q->min_score);
    if (q->max_score >= 0)
        sqlite3_bind_int(st, 4, q->max_score);
    sq_bind_str(st, 5, q->tag);
    if (match)
        sqlite3_bind_text(st, 6, match, -1, SQLITE_STATIC);
}

/*
 * Turns what a person typed into an FTS5 query that cannot be a syntax
 * error: each word becomes a quoted prefix term ("ali"* "acme"*).
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

int sq_contact_list(struct store *base, const char *workspace_id, const struct contact_query *q,
                    struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                    struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    const char *match = q->text && *q->text ? fts_query(a, q->text) : NULL;
    int text = match != NULL;
    if (q->text && *q->text && !match)
        return 0; /* only separators: nothing can match */
    int sort = q->sort >= 0 && q->sort < CS_COUNT ? (int)q->sort : CS_CREATED;
    int rc = sq_stmt(s, sql_count[text], &st, &c, e);
    if (rc)
        return rc;
    bind_filter(st, workspace_id, q, match);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    else
        rc = sq_fail(e, c->db, src, "counting contacts");
    sq_done(st);
    if (rc || *total == 0)
        return rc;

    rc = sq_stmt(s, sql_list[text][sort][q->desc ? 1 : 0], &st, &c, e);
    if (rc)
        return rc;
    bind_filter(st, workspace_id, q, match);
    sqlite3_bind_int(st, 7, q->limit);
    sqlite3_bind_int(st, 8, q->offset);
    *rows = arena_alloc(a, sizeof(**rows) * (size_t)(q->limit > 0 ? q->limit : 1));
    while ((src = sqlite3_step(st)) == SQLITE_ROW && (int)*n < q->limit)
        sq_contact_row(st, a, &(*rows)[(*n)++]);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "listing contacts");
    sq_done(st);
    return rc;
}
