/*
 * PostgreSQL backend: what open and click tracking and unsubscribing read and
 * write. Sent emails are only read here (their delivery time feeds the bot
 * rules); events are appended to email_events; contacts get unsubscribed_at.
 */
#include <string.h>

#include "store/pg_int.h"
#include "store/pg_track.h"

static const char sql_sent[] = "SELECT COALESCE(contact_id,''), COALESCE(sent_at,0)"
                               " FROM sent_emails WHERE workspace_id = $1 AND id = $2";

int pg_sent_email_tracking(struct store *base, const char *workspace_id, const char *sent_email_id,
                           char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e)
{
    contact_id[0] = '\0';
    *sent_at = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, sent_email_id);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_sent, &p, &r, "reading a sent email", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        pg_col_copy(r, 0, 0, contact_id, STORE_ID_LEN);
        *sent_at = pg_col_i64(r, 0, 1);
    } else {
        rc = failf(e, ERR_NOT_FOUND, "sent email not found");
    }
    PQclear(r);
    return rc;
}

/*
 * The sent email and the contact are looked up in the workspace rather than
 * bound as given: a row deleted since the email went out (or an id from
 * another workspace) is stored as NULL instead of failing a foreign key.
 */
static const char sql_event_add[] =
    "INSERT INTO email_events (workspace_id, sent_email_id, contact_id, kind, url, user_agent, ip,"
    " is_bot, bot_reason, created_at) VALUES ($1,"
    " (SELECT id FROM sent_emails WHERE workspace_id = $1 AND id = $2),"
    " (SELECT id FROM contacts WHERE workspace_id = $1 AND id = $3),"
    " $4, $5, $6, $7, $8::text IS NOT NULL, $8, $9)";

int pg_email_event_add(struct store *base, const char *workspace_id, const char *sent_email_id,
                       const char *contact_id, const char *kind, const char *url,
                       const char *user_agent, const char *ip, const char *bot_reason, int64_t now,
                       struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, sent_email_id);
    pg_p_str(&p, contact_id);
    pg_p_str(&p, kind);
    pg_p_str(&p, url);
    pg_p_str(&p, user_agent);
    pg_p_str(&p, ip);
    pg_p_str(&p, bot_reason);
    pg_p_i64(&p, now);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_event_add, &p, NULL,
                       "recording an email event", e);
}

static const char sql_unsubscribe[] =
    "UPDATE contacts SET unsubscribed_at = $3, updated_at = $3"
    " WHERE workspace_id = $1 AND id = $2 AND unsubscribed_at IS NULL";
static const char sql_contact_exists[] =
    "SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2";

/* ERR_NOT_FOUND unless the contact is in the workspace. */
static int contact_exists(struct pg_ctx *x, const struct pg_params *p, struct errinfo *e)
{
    int64_t rows = 0;
    int rc = pg_run(x, sql_contact_exists, p, &rows, "reading a contact", e);
    if (!rc && rows == 0)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    return rc;
}

int pg_contact_unsubscribe(struct store *base, const char *workspace_id, const char *contact_id,
                           int64_t now, bool *changed, struct errinfo *e)
{
    *changed = false;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    struct pg_params u = p;
    pg_p_i64(&u, now);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    int64_t rows = 0;
    if (!(rc = pg_run(&x, sql_unsubscribe, &u, &rows, "unsubscribing a contact", e))) {
        *changed = rows > 0;
        /* Nothing changed: already unsubscribed (fine), or no such contact. */
        if (!*changed)
            rc = contact_exists(&x, &p, e);
    }
    return pg_leave(&x, rc, e);
}

static const char sql_events[] =
    "SELECT v.id, v.kind, v.sent_email_id, s.subject, v.url, v.user_agent, v.bot_reason,"
    " v.is_bot, v.created_at FROM email_events v"
    " LEFT JOIN sent_emails s ON s.workspace_id = v.workspace_id AND s.id = v.sent_email_id"
    " WHERE v.workspace_id = $1 AND v.contact_id = $2 ORDER BY v.created_at DESC, v.id DESC"
    " LIMIT $3";

int pg_contact_events(struct store *base, const char *workspace_id, const char *contact_id,
                      int limit, struct arena *a, struct email_event **rows, size_t *n,
                      struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    if ((rc = contact_exists(&x, &p, e)))
        return pg_leave(&x, rc, e);
    pg_p_i64(&p, limit);
    PGresult *r;
    if ((rc = pg_exec(&x, sql_events, &p, &r, "listing email events", e)))
        return pg_leave(&x, rc, e);
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct email_event *v = &(*rows)[i];
        memset(v, 0, sizeof(*v));
        v->id = pg_col_i64(r, i, 0);
        pg_col_copy(r, i, 1, v->kind, sizeof(v->kind));
        v->sent_email_id = pg_col_dup(r, i, 2, a);
        v->subject = pg_col_dup(r, i, 3, a);
        v->url = pg_col_dup(r, i, 4, a);
        v->user_agent = pg_col_dup(r, i, 5, a);
        v->bot_reason = pg_col_dup(r, i, 6, a);
        v->is_bot = pg_col_bool(r, i, 7);
        v->at = pg_col_i64(r, i, 8);
    }
    *n = (size_t)nt;
    PQclear(r);
    return pg_leave(&x, 0, e);
}
