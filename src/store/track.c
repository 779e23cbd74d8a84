/*
 * What open and click tracking and unsubscribing read and write, written
 * once over the cursor (store/db.h). Sent emails are only read here (their
 * delivery time feeds the bot rules); events are appended to email_events;
 * contacts get unsubscribed_at.
 */
#include <string.h>

#include "store/contacts.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/sending.h"

static struct db_sql sql_sent = DB_SQL("SELECT COALESCE(contact_id,''), COALESCE(sent_at,0)"
                                       " FROM sent_emails WHERE workspace_id = ?1 AND id = ?2");

int store_sent_email_tracking(struct store *st, const char *workspace_id, const char *sent_email_id,
                              char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e)
{
    contact_id[0] = '\0';
    *sent_at = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_sent, "reading a sent email");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, sent_email_id);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, contact_id, STORE_ID_LEN);
            *sent_at = db_col_i64(&c, 1);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_NOT_FOUND, "sent email not found");
        }
    }
    return db_leave(&c, rc);
}

/*
 * The sent email and the contact are looked up in the workspace rather than
 * bound as given: a row deleted since the email went out (or an id from
 * another workspace) is stored as NULL instead of failing a foreign key.
 */
static struct db_sql sql_event_add = DB_SQL(
    "INSERT INTO email_events (workspace_id, sent_email_id, contact_id, kind, url, user_agent, ip,"
    " is_bot, bot_reason, created_at) VALUES (?1,"
    " (SELECT id FROM sent_emails WHERE workspace_id = ?1 AND id = ?2),"
    " (SELECT id FROM contacts WHERE workspace_id = ?1 AND id = ?3),"
    " ?4, ?5, ?6, ?7, CAST(?8 AS TEXT) IS NOT NULL, ?8, ?9)");

int store_email_event_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                          const char *contact_id, const char *kind, const char *url,
                          const char *user_agent, const char *ip, const char *bot_reason,
                          int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_event_add, "recording an email event");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, sent_email_id);
        db_bind_str(&c, 3, contact_id);
        db_bind_str(&c, 4, kind);
        db_bind_str(&c, 5, url);
        db_bind_str(&c, 6, user_agent);
        db_bind_str(&c, 7, ip);
        db_bind_str(&c, 8, bot_reason);
        db_bind_i64(&c, 9, now);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_unsubscribe =
    DB_SQL("UPDATE contacts SET unsubscribed_at = ?3, updated_at = ?3"
           " WHERE workspace_id = ?1 AND id = ?2 AND unsubscribed_at IS NULL");
static struct db_sql sql_contact_exists =
    DB_SQL("SELECT 1 FROM contacts WHERE workspace_id = ?1 AND id = ?2");

/* ERR_NOT_FOUND unless the contact is in the workspace. */
static int contact_exists(struct db_cur *c, const char *workspace_id, const char *contact_id)
{
    int rc = db_prepare(c, &sql_contact_exists, "reading a contact");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, contact_id);
    rc = db_step(c);
    if (rc == DB_DONE)
        return failf(c->e, ERR_NOT_FOUND, "contact not found");
    return rc < 0 ? rc : 0;
}

static struct db_sql sql_resubscribe =
    DB_SQL("UPDATE contacts SET unsubscribed_at = NULL, updated_at = ?3"
           " WHERE workspace_id = ?1 AND id = ?2 AND unsubscribed_at IS NOT NULL");

/* Runs sql (?1 workspace, ?2 contact, ?3 now) and says whether it changed
 * the contact; ERR_NOT_FOUND when the contact is not in the workspace. */
static int set_subscription(struct store *st, struct db_sql *sql, const char *what,
                            const char *workspace_id, const char *contact_id, int64_t now,
                            bool *changed, struct errinfo *e)
{
    *changed = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, what);
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, now);
        rc = db_run(&c);
    }
    if (!rc) {
        *changed = db_changes(&c) > 0;
        /* Nothing changed: already in that state (fine), or no such contact. */
        if (!*changed)
            rc = contact_exists(&c, workspace_id, contact_id);
    }
    return db_leave(&c, rc);
}

int store_contact_unsubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                              int64_t now, bool *changed, struct errinfo *e)
{
    return set_subscription(st, &sql_unsubscribe, "unsubscribing a contact", workspace_id,
                            contact_id, now, changed, e);
}

int store_contact_resubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                              int64_t now, bool *changed, struct errinfo *e)
{
    return set_subscription(st, &sql_resubscribe, "resubscribing a contact", workspace_id,
                            contact_id, now, changed, e);
}

static struct db_sql sql_events =
    DB_SQL("SELECT v.id, v.kind, v.sent_email_id, s.subject, v.url, v.user_agent, v.bot_reason,"
           " v.is_bot, v.created_at FROM email_events v"
           " LEFT JOIN sent_emails s ON s.workspace_id = v.workspace_id AND s.id = v.sent_email_id"
           " WHERE v.workspace_id = ?1 AND v.contact_id = ?2 ORDER BY v.created_at DESC, v.id DESC"
           " LIMIT ?3");

static void read_event(struct db_cur *c, struct arena *a, void *row)
{
    struct email_event *v = row;
    v->id = db_col_i64(c, 0);
    db_col_copy(c, 1, v->kind, sizeof(v->kind));
    v->sent_email_id = db_col_dup(c, 2, a);
    v->subject = db_col_dup(c, 3, a);
    v->url = db_col_dup(c, 4, a);
    v->user_agent = db_col_dup(c, 5, a);
    v->bot_reason = db_col_dup(c, 6, a);
    v->is_bot = db_col_bool(c, 7);
    v->at = db_col_i64(c, 8);
}

int store_contact_events(struct store *st, const char *workspace_id, const char *contact_id,
                         int limit, struct arena *a, struct email_event **rows, size_t *n,
                         struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = contact_exists(&c, workspace_id, contact_id);
    if (!rc)
        rc = db_prepare(&c, &sql_events, "listing email events");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, limit);
        rc = db_read_all(&c, read_event, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}
