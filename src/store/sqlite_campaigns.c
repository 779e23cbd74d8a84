/*
 * SQLite backend: drip campaigns (drip_campaigns, campaign_steps,
 * campaign_enrollments, campaign_execution_logs; migration 9). Every
 * statement has the workspace in its WHERE clause; an enrollment moves on
 * only from the step execution it was at (step_seq), so a job that runs a
 * second time changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_campaigns.h"

/* Text column i in arena memory, NULL for SQL NULL. */
static const char *col_opt(sqlite3_stmt *st, int i, struct arena *a)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    return sq_col_dup(st, i, a);
}

/* ---- campaigns ------------------------------------------------------------ */

#define CAMPAIGN_COLS                                                                              \
    "c.id, c.name, c.status, c.trigger, c.allow_reenroll, c.created_at, c.updated_at,"             \
    " (SELECT COUNT(*) FROM campaign_steps s WHERE s.workspace_id = c.workspace_id"                \
    "  AND s.campaign_id = c.id),"                                                                 \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id),"                                                                 \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id AND n.status = 'active')"

/* The columns of a campaign up to updated_at (sql_triggered reads no more). */
static void read_campaign_head(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct campaign *r = row;
    sq_col_copy(st, 0, r->id, sizeof(r->id));
    sq_col_copy(st, 1, r->name, sizeof(r->name));
    sq_col_copy(st, 2, r->status, sizeof(r->status));
    r->trigger = col_opt(st, 3, a);
    r->allow_reenroll = sqlite3_column_int(st, 4) != 0;
    r->created_at = sqlite3_column_int64(st, 5);
    r->updated_at = sqlite3_column_int64(st, 6);
}

static void read_campaign(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct campaign *o = row;
    memset(o, 0, sizeof(*o));
    read_campaign_head(st, a, o);
    o->steps = sqlite3_column_int64(st, 7);
    o->enrollments = sqlite3_column_int64(st, 8);
    o->active = sqlite3_column_int64(st, 9);
}

static const char sql_campaign_insert[] =
    "INSERT INTO drip_campaigns (id, workspace_id, name, status, trigger, allow_reenroll,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, 'draft', ?4, ?5, ?6, ?6)";

int sq_campaign_create(struct store *base, const char *workspace_id,
                       const struct campaign_fields *f, int64_t now, struct arena *a,
                       struct campaign *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    char id[UUID_STR_LEN];
    crypto_uuid(id);
    int rc = sq_stmt(s, sql_campaign_insert, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, f->name);
    sq_bind_str(st, 4, (f->set & CAMPF_TRIGGER) ? f->trigger : NULL);
    sqlite3_bind_int(st, 5, (f->set & CAMPF_REENROLL) && f->allow_reenroll);
    sqlite3_bind_int64(st, 6, now);
    if ((rc = sq_run(st, c, "creating a campaign", e)))
        return rc;
    return sq_campaign_get(base, workspace_id, id, a, out, e);
}

static const char sql_campaign_get[] = "SELECT " CAMPAIGN_COLS " FROM drip_campaigns c"
                                       " WHERE c.workspace_id = ?1 AND c.id = ?2";

int sq_campaign_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                    struct campaign *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_campaign_get, workspace_id, id, read_campaign,
                        a, out, "reading a campaign", "campaign", e);
}

static const char sql_campaign_list[] =
    "SELECT " CAMPAIGN_COLS ", COUNT(*) OVER () FROM drip_campaigns c WHERE c.workspace_id = ?1"
    " AND (?2 IS NULL OR c.status = ?2) ORDER BY c.created_at DESC, c.id DESC LIMIT ?3 OFFSET ?4";

int sq_campaign_list(struct store *base, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct campaign **rows, size_t *n, int64_t *total,
                     struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_campaign_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, status);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    return sq_read_all(st, c, read_campaign, a, (void **)rows, sizeof(**rows), n, 10, total,
                       "listing campaigns", e);
}

static const char sql_campaign_update[] =
    "UPDATE drip_campaigns SET name = CASE WHEN ?3 THEN ?4 ELSE name END,"
    " trigger = CASE WHEN ?5 THEN ?6 ELSE trigger END,"
    " allow_reenroll = CASE WHEN ?7 THEN ?8 ELSE allow_reenroll END, updated_at = ?9"
    " WHERE workspace_id = ?1 AND id = ?2";

int sq_campaign_update(struct store *base, const char *workspace_id, const char *id,
                       const struct campaign_fields *f, int64_t now, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_campaign_update, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sqlite3_bind_int(st, 3, (f->set & CAMPF_NAME) != 0);
    sq_bind_str(st, 4, f->name);
    sqlite3_bind_int(st, 5, (f->set & CAMPF_TRIGGER) != 0);
    sq_bind_str(st, 6, f->trigger);
    sqlite3_bind_int(st, 7, (f->set & CAMPF_REENROLL) != 0);
    sqlite3_bind_int(st, 8, f->allow_reenroll);
    sqlite3_bind_int64(st, 9, now);
    return sq_run_one(st, c, "updating a campaign", "campaign", e);
}

static const char sql_campaign_delete[] =
    "DELETE FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2";

int sq_campaign_delete(struct store *base, const char *workspace_id, const char *id,
                       struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_campaign_delete, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    return sq_run_one(st, c, "deleting a campaign", "campaign", e);
}

/* from is a comma-separated list of names: ",draft,paused," holds ",draft,". */
static const char sql_campaign_status[] =
    "UPDATE drip_campaigns SET status = ?4, updated_at = ?5 WHERE workspace_id = ?1 AND id = ?2"
    " AND instr(',' || ?3 || ',', ',' || status || ',') > 0";
static const char sql_campaign_status_of[] =
    "SELECT status FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2";

int sq_campaign_set_status(struct store *base, const char *workspace_id, const char *id,
                           const char *from, const char *to, int64_t now, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_campaign_status, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sq_bind_str(st, 3, from);
    sq_bind_str(st, 4, to);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = sq_run(st, c, "changing a campaign's status", e)))
        return rc;
    if (sqlite3_changes(c->db))
        return 0;
    if ((rc = sq_stmt(s, sql_campaign_status_of, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = failf(e, ERR_CONFLICT, "the campaign is %s", (const char *)sqlite3_column_text(st, 0));
    else
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "campaign not found")
                                : sq_fail(e, c->db, src, "reading a campaign");
    sq_done(st);
    return rc;
}

/* ---- steps ------------------------------------------------------------------ */

#define STEP_COLS                                                                                  \
    "id, position, step_type, config, COALESCE(next_step_id, ''), COALESCE(true_step_id, ''),"     \
    " COALESCE(false_step_id, '')"

static void read_step(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct campaign_step *o = row;
    memset(o, 0, sizeof(*o));
    sq_col_copy(st, 0, o->id, sizeof(o->id));
    o->position = sqlite3_column_int(st, 1);
    sq_col_copy(st, 2, o->type, sizeof(o->type));
    o->config = sq_col_dup(st, 3, a);
    sq_col_copy(st, 4, o->next_id, sizeof(o->next_id));
    sq_col_copy(st, 5, o->true_id, sizeof(o->true_id));
    sq_col_copy(st, 6, o->false_id, sizeof(o->false_id));
}

static const char sql_steps[] = "SELECT " STEP_COLS " FROM campaign_steps"
                                " WHERE workspace_id = ?1 AND campaign_id = ?2 ORDER BY position";

int sq_campaign_steps(struct store *base, const char *workspace_id, const char *campaign_id,
                      struct arena *a, struct campaign_step **rows, size_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_steps, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    return sq_read_all(st, c, read_step, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing steps", e);
}

static const char sql_step_get[] =
    "SELECT " STEP_COLS " FROM campaign_steps WHERE workspace_id = ?1 AND id = ?2";

int sq_campaign_step_get(struct store *base, const char *workspace_id, const char *step_id,
                         struct arena *a, struct campaign_step *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_step_get, workspace_id, step_id, read_step, a,
                        out, "reading a step", "step", e);
}

static const char sql_steps_guard[] =
    "SELECT status, (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = ?1"
    " AND n.campaign_id = ?2 AND n.status = 'active') FROM drip_campaigns"
    " WHERE workspace_id = ?1 AND id = ?2";
static const char sql_steps_delete[] =
    "DELETE FROM campaign_steps WHERE workspace_id = ?1 AND campaign_id = ?2";
static const char sql_step_insert[] =
    "INSERT INTO campaign_steps (id, campaign_id, workspace_id, position, step_type, config,"
    " next_step_id, true_step_id, false_step_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULLIF(?7, ''),"
    " NULLIF(?8, ''), NULLIF(?9, ''))";
static const char sql_campaign_touch[] =
    "UPDATE drip_campaigns SET updated_at = ?3 WHERE workspace_id = ?1 AND id = ?2";

static int steps_replace_in_tx(struct sq_store *s, const char *workspace_id,
                               const char *campaign_id, const struct campaign_step *steps, size_t n,
                               int64_t now, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_steps_guard, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(st, 0), "archived") == 0)
            rc = failf(e, ERR_CONFLICT, "the campaign is archived");
        else if (sqlite3_column_int64(st, 1) > 0)
            rc = failf(e, ERR_CONFLICT,
                       "the campaign has %lld active enrollments: its steps cannot change now",
                       (long long)sqlite3_column_int64(st, 1));
    } else {
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "campaign not found")
                                : sq_fail(e, c->db, src, "reading a campaign");
    }
    sq_done(st);
    if (rc)
        return rc;
    if ((rc = sq_stmt(s, sql_steps_delete, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    if ((rc = sq_run(st, c, "deleting steps", e)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = sq_stmt(s, sql_step_insert, &st, &c, e)))
            return rc;
        sq_bind_str(st, 1, steps[i].id);
        sq_bind_str(st, 2, campaign_id);
        sq_bind_str(st, 3, workspace_id);
        sqlite3_bind_int(st, 4, steps[i].position);
        sq_bind_str(st, 5, steps[i].type);
        sq_bind_str(st, 6, steps[i].config);
        sq_bind_str(st, 7, steps[i].next_id);
        sq_bind_str(st, 8, steps[i].true_id);
        sq_bind_str(st, 9, steps[i].false_id);
        rc = sq_run(st, c, "adding a step", e);
    }
    if (rc || (rc = sq_stmt(s, sql_campaign_touch, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    sqlite3_bind_int64(st, 3, now);
    return sq_run(st, c, "updating a campaign", e);
}

int sq_campaign_steps_replace(struct store *base, const char *workspace_id, const char *campaign_id,
                              const struct campaign_step *steps, size_t n, int64_t now,
                              struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    bool own = sqlite3_get_autocommit(c->db) != 0;
    if (own && (rc = sq_exec(s, "BEGIN IMMEDIATE", e)))
        return rc;
    rc = steps_replace_in_tx(s, workspace_id, campaign_id, steps, n, now, e);
    if (own) {
        struct errinfo ignored;
        if (!rc)
            rc = sq_exec(s, "COMMIT", e);
        if (rc)
            sq_exec(s, "ROLLBACK", &ignored);
    }
    return rc;
}

/* ---- enrollments -------------------------------------------------------------- */

static const char sql_enroll_prev[] =
    "SELECT COALESCE(MAX(generation), 0), COALESCE(MAX(status = 'active'), 0)"
    " FROM campaign_enrollments WHERE workspace_id = ?1 AND campaign_id = ?2 AND contact_id = ?3";
static const char sql_enroll_insert[] =
    "INSERT INTO campaign_enrollments (id, workspace_id, campaign_id, contact_id, generation,"
    " status, current_step_id, step_seq, step_started_at, next_run_at, enrolled_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, 0, ?7, ?8, ?7, ?7)";

int sq_enrollment_insert(struct store *base, const char *workspace_id, const char *campaign_id,
                         const char *contact_id, bool allow_reenroll, const char *first_step,
                         int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                         const char **reason, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *reason = NULL;
    id[0] = '\0';
    int rc = sq_stmt(s, sql_enroll_prev, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    sq_bind_str(st, 3, contact_id);
    int generation = 0;
    bool active = false;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        generation = sqlite3_column_int(st, 0);
        active = sqlite3_column_int(st, 1) != 0;
    } else {
        rc = sq_fail(e, c->db, src, "reading enrollments");
    }
    sq_done(st);
    if (rc)
        return rc;
    if (active) {
        *reason = "already_active";
        return 0;
    }
    if (generation > 0 && !allow_reenroll) {
        *reason = "already_enrolled";
        return 0;
    }
    char nid[UUID_STR_LEN];
    crypto_uuid(nid);
    if ((rc = sq_stmt(s, sql_enroll_insert, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, nid);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, campaign_id);
    sq_bind_str(st, 4, contact_id);
    sqlite3_bind_int(st, 5, generation + 1);
    sq_bind_str(st, 6, first_step);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_int64(st, 8, next_run_at);
    if ((rc = sq_run(st, c, "enrolling a contact", e)))
        return rc;
    snprintf(id, STORE_ID_LEN, "%s", nid);
    return 0;
}

#define ENROLLMENT_COLS                                                                            \
    "n.id, n.campaign_id, n.contact_id, n.status, COALESCE(n.current_step_id, ''), n.step_seq,"    \
    " COALESCE(n.step_started_at, 0), COALESCE(n.next_run_at, 0),"                                 \
    " COALESCE(n.last_email_id, ''), COALESCE(n.variant, -1), n.reason, n.generation,"             \
    " n.enrolled_at, n.updated_at, COALESCE(n.finished_at, 0),"                                    \
    " (SELECT email FROM contacts k WHERE k.workspace_id = n.workspace_id AND k.id = "             \
    "n.contact_id)"

static void read_enrollment(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct enrollment *o = row;
    memset(o, 0, sizeof(*o));
    sq_col_copy(st, 0, o->id, sizeof(o->id));
    sq_col_copy(st, 1, o->campaign_id, sizeof(o->campaign_id));
    sq_col_copy(st, 2, o->contact_id, sizeof(o->contact_id));
    sq_col_copy(st, 3, o->status, sizeof(o->status));
    sq_col_copy(st, 4, o->current_step_id, sizeof(o->current_step_id));
    o->seq = sqlite3_column_int64(st, 5);
    o->step_started_at = sqlite3_column_int64(st, 6);
    o->next_run_at = sqlite3_column_int64(st, 7);
    sq_col_copy(st, 8, o->last_email_id, sizeof(o->last_email_id));
    o->variant = sqlite3_column_int(st, 9);
    o->reason = col_opt(st, 10, a);
    o->generation = sqlite3_column_int(st, 11);
    o->enrolled_at = sqlite3_column_int64(st, 12);
    o->updated_at = sqlite3_column_int64(st, 13);
    o->finished_at = sqlite3_column_int64(st, 14);
    o->contact_email = col_opt(st, 15, a);
}

static const char sql_enrollment_get[] = "SELECT " ENROLLMENT_COLS " FROM campaign_enrollments n"
                                         " WHERE n.workspace_id = ?1 AND n.id = ?2";

int sq_enrollment_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct enrollment *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_enrollment_get, workspace_id, id,
                        read_enrollment, a, out, "reading an enrollment", "enrollment", e);
}

static const char sql_enrollment_list[] =
    "SELECT " ENROLLMENT_COLS ", COUNT(*) OVER () FROM campaign_enrollments n"
    " WHERE n.workspace_id = ?1 AND n.campaign_id = ?2 AND (?3 IS NULL OR n.status = ?3)"
    " ORDER BY n.enrolled_at DESC, n.id DESC LIMIT ?4 OFFSET ?5";

int sq_enrollment_list(struct store *base, const char *workspace_id, const char *campaign_id,
                       const char *status, int limit, int offset, struct arena *a,
                       struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_enrollment_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    sq_bind_str(st, 3, status);
    sqlite3_bind_int(st, 4, limit);
    sqlite3_bind_int(st, 5, offset);
    return sq_read_all(st, c, read_enrollment, a, (void **)rows, sizeof(**rows), n, 16, total,
                       "listing enrollments", e);
}

static const char sql_enrollment_move[] =
    "UPDATE campaign_enrollments SET status = ?4, current_step_id = NULLIF(?5, ''),"
    " step_seq = step_seq + 1, step_started_at = NULLIF(?6, 0), next_run_at = NULLIF(?7, 0),"
    " last_email_id = COALESCE(?8, last_email_id),"
    " variant = CASE WHEN ?9 >= 0 THEN ?9 ELSE variant END, reason = COALESCE(?10, reason),"
    " updated_at = ?11, finished_at = CASE WHEN ?4 = 'active' THEN NULL ELSE ?11 END"
    " WHERE workspace_id = ?1 AND id = ?2 AND step_seq = ?3 AND status = 'active'";

int sq_enrollment_move(struct store *base, const char *workspace_id, const char *id, int64_t seq,
                       const struct enrollment_move *m, int64_t now, bool *applied,
                       struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *applied = false;
    int rc = sq_stmt((struct sq_store *)base, sql_enrollment_move, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sqlite3_bind_int64(st, 3, seq);
    sq_bind_str(st, 4, m->status);
    sq_bind_str(st, 5, m->step_id ? m->step_id : "");
    sqlite3_bind_int64(st, 6, m->step_started_at);
    sqlite3_bind_int64(st, 7, m->next_run_at);
    sq_bind_opt(st, 8, m->last_email_id);
    sqlite3_bind_int(st, 9, m->variant);
    sq_bind_str(st, 10, m->reason);
    sqlite3_bind_int64(st, 11, now);
    if ((rc = sq_run(st, c, "moving an enrollment on", e)))
        return rc;
    *applied = sqlite3_changes(c->db) > 0;
    return 0;
}

static const char sql_enrollment_cancel[] =
    "UPDATE campaign_enrollments SET status = 'cancelled', reason = ?4, current_step_id = NULL,"
    " next_run_at = NULL, step_seq = step_seq + 1, updated_at = ?5, finished_at = ?5"
    " WHERE workspace_id = ?1 AND status = 'active' AND (?2 IS NULL OR contact_id = ?2)"
    " AND (?3 IS NULL OR campaign_id = ?3)";

int sq_enrollment_cancel(struct store *base, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *n = 0;
    if (!contact_id && !campaign_id)
        return failf(e, ERR_INVALID, "cancelling enrollments needs a contact or a campaign");
    int rc = sq_stmt((struct sq_store *)base, sql_enrollment_cancel, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sq_bind_str(st, 3, campaign_id);
    sq_bind_str(st, 4, reason);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = sq_run(st, c, "cancelling enrollments", e)))
        return rc;
    *n = sqlite3_changes(c->db);
    return 0;
}

/* ---- execution logs and metrics ------------------------------------------------- */

static const char sql_log_add[] =
    "INSERT INTO campaign_execution_logs (workspace_id, campaign_id, enrollment_id, step_id,"
    " step_type, status, error, metadata, sent_email_id, created_at)"
    " VALUES (?1, ?2, ?3, NULLIF(?4, ''), NULLIF(?5, ''), ?6, ?7, COALESCE(?8, '{}'),"
    " NULLIF(?9, ''), ?10)";

int sq_exec_log_add(struct store *base, const char *workspace_id, const char *campaign_id,
                    const struct exec_log *l, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_log_add, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    sq_bind_str(st, 3, l->enrollment_id);
    sq_bind_str(st, 4, l->step_id);
    sq_bind_str(st, 5, l->step_type);
    sq_bind_str(st, 6, l->status);
    sq_bind_str(st, 7, l->error);
    sq_bind_str(st, 8, l->metadata);
    sq_bind_str(st, 9, l->sent_email_id);
    sqlite3_bind_int64(st, 10, l->created_at);
    return sq_run(st, c, "writing an execution log", e);
}

static const char sql_log_list[] =
    "SELECT l.id, l.enrollment_id, n.contact_id, COALESCE(l.step_id, ''),"
    " COALESCE(l.step_type, ''), l.status, l.error, l.metadata, COALESCE(l.sent_email_id, ''),"
    " l.created_at, COUNT(*) OVER () FROM campaign_execution_logs l"
    " JOIN campaign_enrollments n ON n.id = l.enrollment_id AND n.workspace_id = l.workspace_id"
    " WHERE l.workspace_id = ?1 AND l.campaign_id = ?2 AND (?3 IS NULL OR l.enrollment_id = ?3)"
    " ORDER BY l.id DESC LIMIT ?4 OFFSET ?5";

static void read_exec_log(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct exec_log *l = row;
    l->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, l->enrollment_id, sizeof(l->enrollment_id));
    sq_col_copy(st, 2, l->contact_id, sizeof(l->contact_id));
    sq_col_copy(st, 3, l->step_id, sizeof(l->step_id));
    sq_col_copy(st, 4, l->step_type, sizeof(l->step_type));
    sq_col_copy(st, 5, l->status, sizeof(l->status));
    l->error = col_opt(st, 6, a);
    l->metadata = sq_col_dup(st, 7, a);
    sq_col_copy(st, 8, l->sent_email_id, sizeof(l->sent_email_id));
    l->created_at = sqlite3_column_int64(st, 9);
}

int sq_exec_log_list(struct store *base, const char *workspace_id, const char *campaign_id,
                     const char *enrollment_id, int limit, int offset, struct arena *a,
                     struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_log_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    sq_bind_str(st, 3, enrollment_id);
    sqlite3_bind_int(st, 4, limit);
    sqlite3_bind_int(st, 5, offset);
    return sq_read_all(st, c, read_exec_log, a, (void **)rows, sizeof(**rows), n, 10, total,
                       "listing execution logs", e);
}

/*
 * Per step: the enrollments that executed it (success), failed or were
 * skipped there; of the emails it sent, how many went out and how many a
 * person opened, clicked or answered (an inbound email from the contact
 * after the send).
 */
static const char sql_metrics[] =
    "SELECT s.id, s.position, s.step_type,"
    " (SELECT COUNT(DISTINCT l.enrollment_id) FROM campaign_execution_logs l"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND l.status = 'success'),"
    " (SELECT COUNT(DISTINCT l.enrollment_id) FROM campaign_execution_logs l"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND l.status = 'failed'),"
    " (SELECT COUNT(DISTINCT l.enrollment_id) FROM campaign_execution_logs l"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND l.status = 'skipped'),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l JOIN sent_emails m"
    "  ON m.workspace_id = l.workspace_id AND m.id = l.sent_email_id"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND m.status = 'sent'),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l WHERE l.workspace_id = s.workspace_id"
    "  AND l.campaign_id = s.campaign_id AND l.step_id = s.id AND l.sent_email_id IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = l.workspace_id"
    "   AND v.sent_email_id = l.sent_email_id AND v.kind = 'open' AND v.is_bot = 0)),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l WHERE l.workspace_id = s.workspace_id"
    "  AND l.campaign_id = s.campaign_id AND l.step_id = s.id AND l.sent_email_id IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = l.workspace_id"
    "   AND v.sent_email_id = l.sent_email_id AND v.kind = 'click' AND v.is_bot = 0)),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l JOIN sent_emails m"
    "  ON m.workspace_id = l.workspace_id AND m.id = l.sent_email_id"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND m.sent_at IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM emails r WHERE r.workspace_id = m.workspace_id"
    "   AND r.contact_id = m.contact_id AND r.direction = 'inbound'"
    "   AND r.received_at > m.sent_at))"
    " FROM campaign_steps s WHERE s.workspace_id = ?1 AND s.campaign_id = ?2 ORDER BY s.position";

static void read_step_metrics(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct step_metrics *m = row;
    sq_col_copy(st, 0, m->step_id, sizeof(m->step_id));
    m->position = sqlite3_column_int(st, 1);
    sq_col_copy(st, 2, m->type, sizeof(m->type));
    m->executed = sqlite3_column_int64(st, 3);
    m->failed = sqlite3_column_int64(st, 4);
    m->skipped = sqlite3_column_int64(st, 5);
    m->sent = sqlite3_column_int64(st, 6);
    m->opened = sqlite3_column_int64(st, 7);
    m->clicked = sqlite3_column_int64(st, 8);
    m->replied = sqlite3_column_int64(st, 9);
}

int sq_campaign_metrics(struct store *base, const char *workspace_id, const char *campaign_id,
                        struct arena *a, struct step_metrics **rows, size_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_metrics, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, campaign_id);
    return sq_read_all(st, c, read_step_metrics, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "reading campaign metrics", e);
}

static const char sql_engagement[] =
    "SELECT"
    " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
    "  AND v.sent_email_id = m.id AND v.kind = 'open' AND v.is_bot = 0),"
    " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
    "  AND v.sent_email_id = m.id AND v.kind = 'click' AND v.is_bot = 0),"
    " m.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM emails r"
    "  WHERE r.workspace_id = m.workspace_id AND r.contact_id = m.contact_id"
    "  AND r.direction = 'inbound' AND r.received_at > m.sent_at)"
    " FROM sent_emails m WHERE m.workspace_id = ?1 AND m.id = ?2";

int sq_email_engagement(struct store *base, const char *workspace_id, const char *sent_email_id,
                        struct email_engagement *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    memset(out, 0, sizeof(*out));
    int rc = sq_stmt((struct sq_store *)base, sql_engagement, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, sent_email_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        /* A click means the email was opened, even when the pixel was blocked. */
        out->clicked = sqlite3_column_int(st, 1) != 0;
        out->opened = sqlite3_column_int(st, 0) != 0 || out->clicked;
        out->replied = sqlite3_column_int(st, 2) != 0;
    } else if (src != SQLITE_DONE) {
        rc = sq_fail(e, c->db, src, "reading an email's engagement");
    }
    sq_done(st);
    return rc;
}

/* ---- campaign score points ------------------------------------------------------ */

static const char sql_adjust[] =
    "UPDATE contacts SET score_campaign = MAX(-100, MIN(100, score_campaign + ?3)),"
    " ai_score = MAX(0, MIN(100, CAST(ROUND(score_engagement + score_sentiment + score_intent"
    "  + score_role + score_status) AS INTEGER) + MAX(-100, MIN(100, score_campaign + ?3)))),"
    " updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2"
    " RETURNING ai_score, score_engagement, score_sentiment, score_intent, score_role,"
    " score_status";
static const char sql_score_of[] =
    "SELECT ai_score FROM contacts WHERE workspace_id = ?1 AND id = ?2";
static const char sql_adjust_history[] =
    "INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement, sentiment,"
    " intent, role, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " 'campaign score step', ?10)";

int sq_contact_score_adjust(struct store *base, const char *workspace_id, const char *contact_id,
                            int delta, int64_t now, int *before, int *after, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_get_by_id(s, sql_score_of, workspace_id, contact_id, sq_row_int, NULL, before,
                          "reading a score", "contact", e);
    if (rc)
        return rc;
    if ((rc = sq_stmt(s, sql_adjust, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, delta);
    sqlite3_bind_int64(st, 4, now);
    double comp[5] = {0};
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *after = sqlite3_column_int(st, 0);
        for (int i = 0; i < 5; i++)
            comp[i] = sqlite3_column_double(st, i + 1);
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "adjusting a score");
    sq_done(st);
    if (rc || *after == *before)
        return rc;
    if ((rc = sq_stmt(s, sql_adjust_history, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, *after);
    sqlite3_bind_int(st, 4, *before);
    for (int i = 0; i < 5; i++)
        sqlite3_bind_double(st, 5 + i, comp[i]);
    sqlite3_bind_int64(st, 10, now);
    return sq_run(st, c, "writing score history", e);
}

/* ---- triggers and wake-ups ------------------------------------------------------ */

static const char sql_status_of[] =
    "SELECT status FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2";

int sq_campaign_status(struct store *base, const char *workspace_id, const char *id,
                       char status[16], struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_status_of, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        sq_col_copy(st, 0, status, 16);
    else
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "campaign not found")
                                : sq_fail(e, c->db, src, "reading a campaign's status");
    sq_done(st);
    return rc;
}

/* Migration 10's index: only the workspace's active campaigns of that type
 * are read (the planner would otherwise take drip_campaigns_list). */
static const char sql_triggered[] =
    "SELECT id, name, status, trigger, allow_reenroll, created_at, updated_at FROM drip_campaigns"
    " INDEXED BY drip_campaigns_trigger WHERE workspace_id = ?1"
    " AND json_extract(trigger, '$.type') = ?2 AND status = 'active'"
    " ORDER BY created_at, id";

int sq_campaign_triggered(struct store *base, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_triggered, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, type);
    return sq_read_all(st, c, read_campaign_head, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "reading triggered campaigns", e);
}

/* A held "wait until" step's job is keyed drip:<enrollment>:<step>:<seq>
 * (drip_enqueue_step) at the enrollment's current seq. The unary + keeps
 * the planner on the key's index: jobs_due would walk every delayed job. */
static const char sql_wake[] =
    "UPDATE jobs SET run_at = ?3, updated_at = ?3 WHERE idempotency_key IN ("
    "  SELECT 'drip:' || n.id || ':' || n.current_step_id || ':' || n.step_seq"
    "  FROM campaign_enrollments n JOIN campaign_steps s"
    "   ON s.workspace_id = n.workspace_id AND s.id = n.current_step_id"
    "  WHERE n.workspace_id = ?1 AND n.contact_id = ?2 AND n.status = 'active'"
    "   AND s.step_type = 'wait' AND json_extract(s.config, '$.until') IS NOT NULL)"
    " AND +workspace_id = ?1 AND +status = 'queued' AND +run_at > ?3";

int sq_enrollment_wake(struct store *base, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_wake, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = sq_run(st, c, "waking waiting enrollments", e)))
        return rc;
    *n = sqlite3_changes(c->db);
    return 0;
}
