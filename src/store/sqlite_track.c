/*
 * SQLite backend: what open and click tracking and unsubscribing read and
 * write. Sent emails are only read here (their delivery time feeds the bot
 * rules); events are appended to email_events; contacts get unsubscribed_at.
 */
#include <string.h>

#include "store/sqlite_track.h"

static const char sql_sent[] = "SELECT COALESCE(contact_id,''), COALESCE(sent_at,0)"
                               " FROM sent_emails WHERE workspace_id = ?1 AND id = ?2";

int sq_sent_email_tracking(struct store *base, const char *workspace_id, const char *sent_email_id,
                           char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    contact_id[0] = '\0';
    *sent_at = 0;
    int rc = sq_stmt(s, sql_sent, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, sent_email_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, contact_id, STORE_ID_LEN);
        *sent_at = sqlite3_column_int64(st, 1);
    } else {
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "sent email not found")
                                : sq_fail(e, c->db, src, "reading a sent email");
    }
    sq_done(st);
    return rc;
}

/*
 * The sent email and the contact are looked up in the workspace rather than
 * bound as given: a row deleted since the email went out (or an id from
 * another workspace) is stored as NULL instead of failing a foreign key.
 */
static const char sql_event_add[] =
    "INSERT INTO email_events (workspace_id, sent_email_id, contact_id, kind, url, user_agent, ip,"
    " is_bot, bot_reason, created_at) VALUES (?1,"
    " (SELECT id FROM sent_emails WHERE workspace_id = ?1 AND id = ?2),"
    " (SELECT id FROM contacts WHERE workspace_id = ?1 AND id = ?3),"
    " ?4, ?5, ?6, ?7, ?8 IS NOT NULL, ?8, ?9)";

int sq_email_event_add(struct store *base, const char *workspace_id, const char *sent_email_id,
                       const char *contact_id, const char *kind, const char *url,
                       const char *user_agent, const char *ip, const char *bot_reason, int64_t now,
                       struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_event_add, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, sent_email_id);
    sq_bind_str(st, 3, contact_id);
    sq_bind_str(st, 4, kind);
    sq_bind_str(st, 5, url);
    sq_bind_str(st, 6, user_agent);
    sq_bind_str(st, 7, ip);
    sq_bind_str(st, 8, bot_reason);
    sqlite3_bind_int64(st, 9, now);
    rc = sq_run(st, c, "recording an email event", e);
    return rc;
}

static const char sql_unsubscribe[] =
    "UPDATE contacts SET unsubscribed_at = ?3, updated_at = ?3"
    " WHERE workspace_id = ?1 AND id = ?2 AND unsubscribed_at IS NULL";
static const char sql_contact_exists[] =
    "SELECT 1 FROM contacts WHERE workspace_id = ?1 AND id = ?2";

int sq_contact_unsubscribe(struct store *base, const char *workspace_id, const char *contact_id,
                           int64_t now, bool *changed, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *changed = false;
    int rc = sq_stmt(s, sql_unsubscribe, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int64(st, 3, now);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        *changed = sqlite3_changes(c->db) > 0;
    else
        rc = sq_fail(e, c->db, src, "unsubscribing a contact");
    sq_done(st);
    if (rc || *changed)
        return rc;

    /* Nothing changed: already unsubscribed (fine), or no such contact. */
    if ((rc = sq_stmt(s, sql_contact_exists, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    else if (src != SQLITE_ROW)
        rc = sq_fail(e, c->db, src, "reading a contact");
    sq_done(st);
    return rc;
}

static const char sql_events[] =
    "SELECT v.id, v.kind, v.sent_email_id, s.subject, v.url, v.user_agent, v.bot_reason,"
    " v.is_bot, v.created_at FROM email_events v"
    " LEFT JOIN sent_emails s ON s.workspace_id = v.workspace_id AND s.id = v.sent_email_id"
    " WHERE v.workspace_id = ?1 AND v.contact_id = ?2 ORDER BY v.created_at DESC, v.id DESC"
    " LIMIT ?3";

int sq_contact_events(struct store *base, const char *workspace_id, const char *contact_id,
                      int limit, struct arena *a, struct email_event **rows, size_t *n,
                      struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_contact_exists, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW)
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "contact not found")
                                : sq_fail(e, c->db, src, "reading a contact");
    sq_done(st);
    if (rc || (rc = sq_stmt(s, sql_events, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, limit);
    *rows = arena_alloc(a, (size_t)limit * sizeof(**rows));
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit) {
        struct email_event *v = &(*rows)[(*n)++];
        v->id = sqlite3_column_int64(st, 0);
        sq_col_copy(st, 1, v->kind, sizeof(v->kind));
        v->sent_email_id = sq_col_dup(st, 2, a);
        v->subject = sq_col_dup(st, 3, a);
        v->url = sq_col_dup(st, 4, a);
        v->user_agent = sq_col_dup(st, 5, a);
        v->bot_reason = sq_col_dup(st, 6, a);
        v->is_bot = sqlite3_column_int(st, 7) != 0;
        v->at = sqlite3_column_int64(st, 8);
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = sq_fail(e, c->db, src, "reading email events");
    sq_done(st);
    return rc;
}
