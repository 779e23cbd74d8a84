/*
 * Drip campaigns (drip_campaigns, campaign_steps, campaign_enrollments,
 * campaign_execution_logs), written once over the cursor (store/db.h).
 * An enrollment moves on only from the step execution it was at
 * (step_seq), so a job that runs a second time changes nothing. Every op
 * joins the thread's transaction when one is open (the step runner writes
 * a step's effect, its log, the move and the next job in one).
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/db.h"
#include "store/db_ops.h"

/* PostgreSQL orders ids by bytes, as SQLite does. */
#define PG_ID_ORDER " COLLATE \"C\""

/* ---- campaigns ------------------------------------------------------------------------ */

#define CAMPAIGN_COLS                                                                              \
    "c.id, c.name, c.status, CAST(c.trigger AS TEXT), c.allow_reenroll, c.created_at,"             \
    " c.updated_at,"                                                                               \
    " (SELECT COUNT(*) FROM campaign_steps s WHERE s.workspace_id = c.workspace_id"                \
    "  AND s.campaign_id = c.id AND s.version = c.version),"                                       \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id),"                                                                 \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id AND n.status = 'active'), c.version"

/* The columns of a campaign up to updated_at (sql_triggered reads no more). */
static void read_campaign_head(struct db_cur *c, struct arena *a, void *row)
{
    struct campaign *r = row;
    db_col_copy(c, 0, r->id, sizeof(r->id));
    db_col_copy(c, 1, r->name, sizeof(r->name));
    db_col_copy(c, 2, r->status, sizeof(r->status));
    r->trigger = db_col_opt(c, 3, a);
    r->allow_reenroll = db_col_bool(c, 4);
    r->created_at = db_col_i64(c, 5);
    r->updated_at = db_col_i64(c, 6);
}

static void read_campaign(struct db_cur *c, struct arena *a, void *row)
{
    struct campaign *o = row;
    memset(o, 0, sizeof(*o));
    read_campaign_head(c, a, o);
    o->steps = db_col_i64(c, 7);
    o->enrollments = db_col_i64(c, 8);
    o->active = db_col_i64(c, 9);
    o->version = db_col_int(c, 10);
}

#define CAMPAIGN_INSERT(trigger)                                                                   \
    "INSERT INTO drip_campaigns (id, workspace_id, name, status, trigger, allow_reenroll,"         \
    " created_at, updated_at) VALUES (?1, ?2, ?3, 'draft', " trigger ", CAST(?5 AS BOOLEAN),"      \
    " ?6, ?6)"
static struct db_sql sql_campaign_insert =
    DB_SQL2(CAMPAIGN_INSERT("?4"), CAMPAIGN_INSERT("CAST(?4 AS jsonb)"));
static struct db_sql sql_campaign_get = DB_SQL("SELECT " CAMPAIGN_COLS " FROM drip_campaigns c"
                                               " WHERE c.workspace_id = ?1 AND c.id = ?2");

int store_campaign_create(struct store *st, const char *workspace_id,
                          const struct campaign_fields *f, int64_t now, struct arena *a,
                          struct campaign *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_campaign_insert, "creating a campaign");
    if (!rc) {
        db_bind_str(&c, 1, id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, f->name);
        db_bind_str(&c, 4, (f->set & CAMPF_TRIGGER) ? f->trigger : NULL);
        db_bind_bool(&c, 5, (f->set & CAMPF_REENROLL) && f->allow_reenroll);
        db_bind_i64(&c, 6, now);
        rc = db_run(&c);
    }
    if (!rc)
        rc = db_prepare(&c, &sql_campaign_get, "reading a campaign");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_read_one(&c, read_campaign, a, out, "campaign");
    }
    return db_leave(&c, rc);
}

int store_campaign_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct campaign *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_campaign_get, workspace_id, id, read_campaign, a, out,
                        "reading a campaign", "campaign", e);
}

/* The total is the last column of every row (0 when the page is empty). */
#define CAMPAIGN_LIST(id_order)                                                                    \
    "SELECT " CAMPAIGN_COLS ", COUNT(*) OVER () FROM drip_campaigns c WHERE c.workspace_id = ?1"   \
    " AND (CAST(?2 AS TEXT) IS NULL OR c.status = ?2)"                                             \
    " ORDER BY c.created_at DESC, c.id" id_order " DESC LIMIT ?3 OFFSET ?4"
static struct db_sql sql_campaign_list = DB_SQL2(CAMPAIGN_LIST(""), CAMPAIGN_LIST(PG_ID_ORDER));

int store_campaign_list(struct store *st, const char *workspace_id, const char *status, int limit,
                        int offset, struct arena *a, struct campaign **rows, size_t *n,
                        int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_campaign_list, "listing campaigns");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, status);
        db_bind_i64(&c, 3, limit);
        db_bind_i64(&c, 4, offset);
        rc = db_read_all(&c, read_campaign, a, (void **)rows, sizeof(**rows), n, 10, total);
    }
    return db_leave(&c, rc);
}

#define CAMPAIGN_UPDATE(trigger)                                                                   \
    "UPDATE drip_campaigns SET name = CASE WHEN CAST(?3 AS BOOLEAN) THEN ?4 ELSE name END,"        \
    " trigger = CASE WHEN CAST(?5 AS BOOLEAN) THEN " trigger " ELSE trigger END,"                  \
    " allow_reenroll = CASE WHEN CAST(?7 AS BOOLEAN) THEN CAST(?8 AS BOOLEAN)"                     \
    " ELSE allow_reenroll END, updated_at = CAST(?9 AS BIGINT)"                                    \
    " WHERE workspace_id = ?1 AND id = ?2"
static struct db_sql sql_campaign_update =
    DB_SQL2(CAMPAIGN_UPDATE("?6"), CAMPAIGN_UPDATE("CAST(?6 AS jsonb)"));

int store_campaign_update(struct store *st, const char *workspace_id, const char *id,
                          const struct campaign_fields *f, int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_campaign_update, "updating a campaign");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_bool(&c, 3, (f->set & CAMPF_NAME) != 0);
        db_bind_str(&c, 4, f->name);
        db_bind_bool(&c, 5, (f->set & CAMPF_TRIGGER) != 0);
        db_bind_str(&c, 6, f->trigger);
        db_bind_bool(&c, 7, (f->set & CAMPF_REENROLL) != 0);
        db_bind_bool(&c, 8, f->allow_reenroll);
        db_bind_i64(&c, 9, now);
        rc = db_run_one(&c, "campaign");
    }
    return db_leave(&c, rc);
}

/* Steps, enrollments and logs go with it (ON DELETE CASCADE). */
static struct db_sql sql_campaign_delete =
    DB_SQL("DELETE FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2");

int store_campaign_delete(struct store *st, const char *workspace_id, const char *id,
                          struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_campaign_delete, "deleting a campaign");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_run_one(&c, "campaign");
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_status_of =
    DB_SQL("SELECT status FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2");

/* The campaign's status, read on c: ERR_NOT_FOUND when there is none. */
static int status_read(struct db_cur *c, const char *workspace_id, const char *id, char status[16])
{
    int rc = db_prepare(c, &sql_status_of, "reading a campaign's status");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, id);
    rc = db_step(c);
    if (rc == DB_ROW) {
        db_col_copy(c, 0, status, 16);
        return 0;
    }
    return rc == DB_DONE ? failf(c->e, ERR_NOT_FOUND, "campaign not found") : rc;
}

/* from is a comma-separated list of names ("draft,paused"). */
#define CAMPAIGN_STATUS(from_list)                                                                 \
    "UPDATE drip_campaigns SET status = ?4, updated_at = CAST(?5 AS BIGINT)"                       \
    " WHERE workspace_id = ?1 AND id = ?2 AND " from_list
static struct db_sql sql_campaign_status =
    DB_SQL2(CAMPAIGN_STATUS("instr(',' || ?3 || ',', ',' || status || ',') > 0"),
            CAMPAIGN_STATUS("status = ANY (string_to_array(CAST(?3 AS TEXT), ','))"));

int store_campaign_set_status(struct store *st, const char *workspace_id, const char *id,
                              const char *from, const char *to, int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_campaign_status, "changing a campaign's status");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_str(&c, 3, from);
        db_bind_str(&c, 4, to);
        db_bind_i64(&c, 5, now);
        rc = db_run(&c);
    }
    if (!rc && db_changes(&c) == 0) {
        char status[16];
        rc = status_read(&c, workspace_id, id, status);
        if (!rc)
            rc = failf(e, ERR_CONFLICT, "the campaign is %s", status);
    }
    return db_leave(&c, rc);
}

int store_campaign_status(struct store *st, const char *workspace_id, const char *id,
                          char status[16], struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = status_read(&c, workspace_id, id, status);
    return db_leave(&c, rc);
}

/* ---- steps ---------------------------------------------------------------------------- */

#define STEP_COLS                                                                                  \
    "id, position, step_type, CAST(config AS TEXT), COALESCE(next_step_id, ''),"                   \
    " COALESCE(true_step_id, ''), COALESCE(false_step_id, '')"

static void read_step(struct db_cur *c, struct arena *a, void *row)
{
    struct campaign_step *o = row;
    memset(o, 0, sizeof(*o));
    db_col_copy(c, 0, o->id, sizeof(o->id));
    o->position = db_col_int(c, 1);
    db_col_copy(c, 2, o->type, sizeof(o->type));
    o->config = db_col_dup(c, 3, a);
    db_col_copy(c, 4, o->next_id, sizeof(o->next_id));
    db_col_copy(c, 5, o->true_id, sizeof(o->true_id));
    db_col_copy(c, 6, o->false_id, sizeof(o->false_id));
}

/* The version of the campaign's steps new enrollments start on. */
#define CURRENT_VERSION                                                                            \
    "(SELECT d.version FROM drip_campaigns d WHERE d.workspace_id = ?1 AND d.id = ?2)"

static struct db_sql sql_steps =
    DB_SQL("SELECT " STEP_COLS " FROM campaign_steps WHERE workspace_id = ?1 AND campaign_id = ?2"
           " AND version = " CURRENT_VERSION " ORDER BY position");

int store_campaign_steps(struct store *st, const char *workspace_id, const char *campaign_id,
                         struct arena *a, struct campaign_step **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_steps, "listing steps");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        rc = db_read_all(&c, read_step, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_step_get =
    DB_SQL("SELECT " STEP_COLS " FROM campaign_steps WHERE workspace_id = ?1 AND id = ?2");

int store_campaign_step_get(struct store *st, const char *workspace_id, const char *step_id,
                            struct arena *a, struct campaign_step *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_step_get, workspace_id, step_id, read_step, a, out,
                        "reading a step", "step", e);
}

/*
 * PostgreSQL: FOR UPDATE conflicts with the key share lock that inserting
 * an enrollment takes on its campaign (the foreign key check): enrollments
 * begun before are committed when the lock is granted, later ones wait for
 * the commit. The count that follows is a statement of its own, so it sees
 * the ones committed while this waited. SQLite gets the same from BEGIN
 * IMMEDIATE.
 */
#define STEPS_LOCK "SELECT status FROM drip_campaigns WHERE workspace_id = ?1 AND id = ?2"
static struct db_sql sql_steps_lock = DB_SQL2(STEPS_LOCK, STEPS_LOCK " FOR UPDATE");
static struct db_sql sql_steps_active =
    DB_SQL("SELECT COUNT(*) FROM campaign_enrollments WHERE workspace_id = ?1"
           " AND campaign_id = ?2 AND status = 'active'");
/* The steps of every version no active enrollment is on (all of them when none is). */
static struct db_sql sql_steps_delete =
    DB_SQL("DELETE FROM campaign_steps WHERE workspace_id = ?1 AND campaign_id = ?2"
           " AND version NOT IN (SELECT n.version FROM campaign_enrollments n"
           " WHERE n.workspace_id = ?1 AND n.campaign_id = ?2 AND n.status = 'active')");
static struct db_sql sql_version_add =
    DB_SQL("UPDATE drip_campaigns SET version = version + 1 WHERE workspace_id = ?1 AND id = ?2");
#define STEP_INSERT(config)                                                                        \
    "INSERT INTO campaign_steps (id, campaign_id, workspace_id, version, position, step_type,"     \
    " config, next_step_id, true_step_id, false_step_id) VALUES (?1, ?2, ?3,"                      \
    " (SELECT d.version FROM drip_campaigns d WHERE d.workspace_id = ?3 AND d.id = ?2),"           \
    " CAST(?4 AS INTEGER), ?5, " config ", NULLIF(?7, ''), NULLIF(?8, ''), NULLIF(?9, ''))"
static struct db_sql sql_step_insert = DB_SQL2(STEP_INSERT("?6"), STEP_INSERT("CAST(?6 AS jsonb)"));
static struct db_sql sql_campaign_touch = DB_SQL("UPDATE drip_campaigns SET updated_at = CAST(?3 "
                                                 "AS BIGINT) WHERE workspace_id = ?1 AND id = ?2");

/* Runs the prepared statement with ?1 = workspace_id and ?2 = campaign_id. */
static int run2(struct db_cur *c, struct db_sql *sql, const char *what, const char *workspace_id,
                const char *campaign_id)
{
    int rc = db_prepare(c, sql, what);
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, campaign_id);
    return db_step(c);
}

/* 0 when the steps may be saved; *active counts the active enrollments. */
static int steps_guard(struct db_cur *c, const char *workspace_id, const char *campaign_id,
                       int64_t *active)
{
    int rc = run2(c, &sql_steps_lock, "reading a campaign", workspace_id, campaign_id);
    if (rc == DB_DONE)
        return failf(c->e, ERR_NOT_FOUND, "campaign not found");
    if (rc < 0)
        return rc;
    const char *status = db_col_text(c, 0);
    if (status && strcmp(status, "archived") == 0)
        return failf(c->e, ERR_CONFLICT, "the campaign is archived");
    rc = run2(c, &sql_steps_active, "counting enrollments", workspace_id, campaign_id);
    if (rc < 0)
        return rc;
    *active = rc == DB_ROW ? db_col_i64(c, 0) : 0;
    return 0;
}

int store_campaign_steps_replace(struct store *st, const char *workspace_id,
                                 const char *campaign_id, const struct campaign_step *steps,
                                 size_t n, int64_t now, bool *new_version, struct errinfo *e)
{
    struct db_cur c;
    int64_t active = 0;
    if (new_version)
        *new_version = false;
    int rc = db_enter(&c, st, workspace_id, DB_TX, e);
    if (rc)
        return rc;
    rc = steps_guard(&c, workspace_id, campaign_id, &active);
    if (!rc)
        rc = run2(&c, &sql_steps_delete, "deleting steps", workspace_id, campaign_id);
    /* Enrollments on the steps finish on them: the new steps are a new version. */
    if (!rc && active > 0) {
        rc = run2(&c, &sql_version_add, "adding a version", workspace_id, campaign_id);
        if (!rc && new_version)
            *new_version = true;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = db_prepare(&c, &sql_step_insert, "adding a step")))
            break;
        db_bind_str(&c, 1, steps[i].id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_str(&c, 3, workspace_id);
        db_bind_i64(&c, 4, steps[i].position);
        db_bind_str(&c, 5, steps[i].type);
        db_bind_str(&c, 6, steps[i].config);
        db_bind_str(&c, 7, steps[i].next_id);
        db_bind_str(&c, 8, steps[i].true_id);
        db_bind_str(&c, 9, steps[i].false_id);
        rc = db_run(&c);
    }
    if (!rc && !(rc = db_prepare(&c, &sql_campaign_touch, "updating a campaign"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_i64(&c, 3, now);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_versions = DB_SQL(
    "SELECT version, COUNT(*), COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0)"
    " FROM campaign_enrollments WHERE workspace_id = ?1 AND campaign_id = ?2"
    " GROUP BY version ORDER BY version");

static void read_version(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct campaign_version *v = row;
    v->version = db_col_int(c, 0);
    v->enrollments = db_col_i64(c, 1);
    v->active = db_col_i64(c, 2);
}

int store_campaign_versions(struct store *st, const char *workspace_id, const char *campaign_id,
                            struct arena *a, struct campaign_version **rows, size_t *n,
                            struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_versions, "counting enrollments by version");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        rc = db_read_all(&c, read_version, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* ---- enrollments ---------------------------------------------------------------------- */

#define ENROLL_PREV(any_active)                                                                    \
    "SELECT COALESCE(MAX(generation), 0), " any_active " FROM campaign_enrollments"                \
    " WHERE workspace_id = ?1 AND campaign_id = ?2 AND contact_id = ?3"
static struct db_sql sql_enroll_prev =
    DB_SQL2(ENROLL_PREV("COALESCE(MAX(status = 'active'), 0)"),
            ENROLL_PREV("COALESCE(bool_or(status = 'active'), false)"));
/* PostgreSQL: DO NOTHING, so an enrollment of the contact that another
 * transaction wrote since the read above (the one active enrollment per
 * contact and campaign, or the same generation) leaves this transaction
 * usable; the read is done again and says why. SQLite writes one
 * transaction at a time: the read stays true. */
#define ENROLL_INSERT                                                                              \
    "INSERT INTO campaign_enrollments (id, workspace_id, campaign_id, contact_id, generation,"     \
    " status, current_step_id, step_seq, step_started_at, next_run_at, enrolled_at, updated_at,"   \
    " version) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS INTEGER), 'active', ?6, 0, CAST(?7 AS BIGINT),"  \
    " CAST(?8 AS BIGINT), ?7, ?7, COALESCE((SELECT s.version FROM campaign_steps s"                \
    " WHERE s.workspace_id = ?2 AND s.id = ?6), 1))"
static struct db_sql sql_enroll_insert =
    DB_SQL2(ENROLL_INSERT, ENROLL_INSERT " ON CONFLICT DO NOTHING");

enum { ENROLL_TRIES = 3 };

int store_enrollment_insert(struct store *st, const char *workspace_id, const char *campaign_id,
                            const char *contact_id, bool allow_reenroll, const char *first_step,
                            int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                            const char **reason, struct errinfo *e)
{
    *reason = NULL;
    id[0] = '\0';
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    for (int tries = 0; tries < ENROLL_TRIES; tries++) {
        if ((rc = db_prepare(&c, &sql_enroll_prev, "reading enrollments")))
            break;
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_str(&c, 3, contact_id);
        if ((rc = db_step(&c)) < 0)
            break;
        int64_t generation = rc == DB_ROW ? db_col_i64(&c, 0) : 0;
        bool active = rc == DB_ROW && db_col_bool(&c, 1);
        rc = 0;
        if (active) {
            *reason = "already_active";
            break;
        }
        if (generation > 0 && !allow_reenroll) {
            *reason = "already_enrolled";
            break;
        }
        char nid[STORE_ID_LEN];
        crypto_uuid(nid);
        if ((rc = db_prepare(&c, &sql_enroll_insert, "enrolling a contact")))
            break;
        db_bind_str(&c, 1, nid);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, campaign_id);
        db_bind_str(&c, 4, contact_id);
        db_bind_i64(&c, 5, generation + 1);
        db_bind_str(&c, 6, first_step);
        db_bind_i64(&c, 7, now);
        db_bind_i64(&c, 8, next_run_at);
        if ((rc = db_run(&c)))
            break;
        if (db_changes(&c) > 0) {
            snprintf(id, STORE_ID_LEN, "%s", nid);
            break;
        }
    }
    /* Lost every race: another enrollment of the contact keeps being written. */
    if (!rc && !*reason && !id[0])
        *reason = "already_active";
    return db_leave(&c, rc);
}

#define ENROLLMENT_COLS                                                                            \
    "n.id, n.campaign_id, n.contact_id, n.status, COALESCE(n.current_step_id, ''), n.step_seq,"    \
    " COALESCE(n.step_started_at, 0), COALESCE(n.next_run_at, 0),"                                 \
    " COALESCE(n.last_email_id, ''), COALESCE(n.variant, -1), n.reason, n.generation,"             \
    " n.enrolled_at, n.updated_at, COALESCE(n.finished_at, 0),"                                    \
    " (SELECT email FROM contacts k WHERE k.workspace_id = n.workspace_id"                         \
    "  AND k.id = n.contact_id), n.version"

static void read_enrollment(struct db_cur *c, struct arena *a, void *row)
{
    struct enrollment *o = row;
    memset(o, 0, sizeof(*o));
    db_col_copy(c, 0, o->id, sizeof(o->id));
    db_col_copy(c, 1, o->campaign_id, sizeof(o->campaign_id));
    db_col_copy(c, 2, o->contact_id, sizeof(o->contact_id));
    db_col_copy(c, 3, o->status, sizeof(o->status));
    db_col_copy(c, 4, o->current_step_id, sizeof(o->current_step_id));
    o->seq = db_col_i64(c, 5);
    o->step_started_at = db_col_i64(c, 6);
    o->next_run_at = db_col_i64(c, 7);
    db_col_copy(c, 8, o->last_email_id, sizeof(o->last_email_id));
    o->variant = db_col_int(c, 9);
    o->reason = db_col_opt(c, 10, a);
    o->generation = db_col_int(c, 11);
    o->enrolled_at = db_col_i64(c, 12);
    o->updated_at = db_col_i64(c, 13);
    o->finished_at = db_col_i64(c, 14);
    o->contact_email = db_col_opt(c, 15, a);
    o->version = db_col_int(c, 16);
}

static struct db_sql sql_enrollment_get =
    DB_SQL("SELECT " ENROLLMENT_COLS " FROM campaign_enrollments n"
           " WHERE n.workspace_id = ?1 AND n.id = ?2");

int store_enrollment_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct enrollment *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_enrollment_get, workspace_id, id, read_enrollment, a, out,
                        "reading an enrollment", "enrollment", e);
}

#define ENROLLMENT_LIST(id_order)                                                                  \
    "SELECT " ENROLLMENT_COLS ", COUNT(*) OVER () FROM campaign_enrollments n"                     \
    " WHERE n.workspace_id = ?1 AND n.campaign_id = ?2"                                            \
    " AND (CAST(?3 AS TEXT) IS NULL OR n.status = ?3)"                                             \
    " ORDER BY n.enrolled_at DESC, n.id" id_order " DESC LIMIT ?4 OFFSET ?5"
static struct db_sql sql_enrollment_list =
    DB_SQL2(ENROLLMENT_LIST(""), ENROLLMENT_LIST(PG_ID_ORDER));

int store_enrollment_list(struct store *st, const char *workspace_id, const char *campaign_id,
                          const char *status, int limit, int offset, struct arena *a,
                          struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_enrollment_list, "listing enrollments");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_str(&c, 3, status);
        db_bind_i64(&c, 4, limit);
        db_bind_i64(&c, 5, offset);
        rc = db_read_all(&c, read_enrollment, a, (void **)rows, sizeof(**rows), n, 17, total);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_enrollment_move = DB_SQL(
    "UPDATE campaign_enrollments SET status = CAST(?4 AS TEXT), current_step_id = NULLIF(?5, ''),"
    " step_seq = step_seq + 1, step_started_at = NULLIF(CAST(?6 AS BIGINT), 0),"
    " next_run_at = NULLIF(CAST(?7 AS BIGINT), 0), last_email_id = COALESCE(?8, last_email_id),"
    " variant = CASE WHEN CAST(?9 AS INTEGER) >= 0 THEN CAST(?9 AS INTEGER) ELSE variant END,"
    " reason = COALESCE(?10, reason), updated_at = CAST(?11 AS BIGINT),"
    " finished_at = CASE WHEN CAST(?4 AS TEXT) = 'active' THEN NULL ELSE CAST(?11 AS BIGINT) END"
    " WHERE workspace_id = ?1 AND id = ?2 AND step_seq = CAST(?3 AS BIGINT)"
    " AND status = 'active'");

int store_enrollment_move(struct store *st, const char *workspace_id, const char *id, int64_t seq,
                          const struct enrollment_move *m, int64_t now, bool *applied,
                          struct errinfo *e)
{
    *applied = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_enrollment_move, "moving an enrollment on");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_i64(&c, 3, seq);
        db_bind_str(&c, 4, m->status);
        db_bind_str(&c, 5, m->step_id ? m->step_id : "");
        db_bind_i64(&c, 6, m->step_started_at);
        db_bind_i64(&c, 7, m->next_run_at);
        db_bind_opt(&c, 8, m->last_email_id);
        db_bind_i64(&c, 9, m->variant);
        db_bind_str(&c, 10, m->reason);
        db_bind_i64(&c, 11, now);
        rc = db_run(&c);
        *applied = rc == 0 && db_changes(&c) > 0;
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_cancel = DB_SQL(
    "UPDATE campaign_enrollments SET status = 'cancelled', reason = ?4, current_step_id = NULL,"
    " next_run_at = NULL, step_seq = step_seq + 1, updated_at = ?5, finished_at = ?5"
    " WHERE workspace_id = ?1 AND status = 'active'"
    " AND (CAST(?2 AS TEXT) IS NULL OR contact_id = ?2)"
    " AND (CAST(?3 AS TEXT) IS NULL OR campaign_id = ?3)");

int store_enrollment_cancel(struct store *st, const char *workspace_id, const char *contact_id,
                            const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                            struct errinfo *e)
{
    *n = 0;
    if (!contact_id && !campaign_id)
        return failf(e, ERR_INVALID, "cancelling enrollments needs a contact or a campaign");
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_cancel, "cancelling enrollments");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_str(&c, 3, campaign_id);
        db_bind_str(&c, 4, reason);
        db_bind_i64(&c, 5, now);
        if (!(rc = db_run(&c)))
            *n = db_changes(&c);
    }
    return db_leave(&c, rc);
}

/* ---- execution logs and metrics ------------------------------------------------------- */

#define LOG_ADD(metadata)                                                                          \
    "INSERT INTO campaign_execution_logs (workspace_id, campaign_id, enrollment_id, step_id,"      \
    " step_type, status, error, metadata, sent_email_id, created_at)"                              \
    " VALUES (?1, ?2, ?3, NULLIF(?4, ''), NULLIF(?5, ''), ?6, ?7, COALESCE(" metadata ", '{}'),"   \
    " NULLIF(?9, ''), CAST(?10 AS BIGINT))"
static struct db_sql sql_log_add = DB_SQL2(LOG_ADD("?8"), LOG_ADD("CAST(?8 AS jsonb)"));

int store_exec_log_add(struct store *st, const char *workspace_id, const char *campaign_id,
                       const struct exec_log *l, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_log_add, "writing an execution log");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_str(&c, 3, l->enrollment_id);
        db_bind_str(&c, 4, l->step_id);
        db_bind_str(&c, 5, l->step_type);
        db_bind_str(&c, 6, l->status);
        db_bind_str(&c, 7, l->error);
        db_bind_str(&c, 8, l->metadata);
        db_bind_str(&c, 9, l->sent_email_id);
        db_bind_i64(&c, 10, l->created_at);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_log_list = DB_SQL(
    "SELECT l.id, l.enrollment_id, n.contact_id, COALESCE(l.step_id, ''),"
    " COALESCE(l.step_type, ''), l.status, l.error, CAST(l.metadata AS TEXT),"
    " COALESCE(l.sent_email_id, ''), l.created_at, COUNT(*) OVER ()"
    " FROM campaign_execution_logs l"
    " JOIN campaign_enrollments n ON n.id = l.enrollment_id AND n.workspace_id = l.workspace_id"
    " WHERE l.workspace_id = ?1 AND l.campaign_id = ?2"
    " AND (CAST(?3 AS TEXT) IS NULL OR l.enrollment_id = ?3) ORDER BY l.id DESC"
    " LIMIT ?4 OFFSET ?5");

static void read_exec_log(struct db_cur *c, struct arena *a, void *row)
{
    struct exec_log *l = row;
    memset(l, 0, sizeof(*l));
    l->id = db_col_i64(c, 0);
    db_col_copy(c, 1, l->enrollment_id, sizeof(l->enrollment_id));
    db_col_copy(c, 2, l->contact_id, sizeof(l->contact_id));
    db_col_copy(c, 3, l->step_id, sizeof(l->step_id));
    db_col_copy(c, 4, l->step_type, sizeof(l->step_type));
    db_col_copy(c, 5, l->status, sizeof(l->status));
    l->error = db_col_opt(c, 6, a);
    l->metadata = db_col_dup(c, 7, a);
    db_col_copy(c, 8, l->sent_email_id, sizeof(l->sent_email_id));
    l->created_at = db_col_i64(c, 9);
}

int store_exec_log_list(struct store *st, const char *workspace_id, const char *campaign_id,
                        const char *enrollment_id, int limit, int offset, struct arena *a,
                        struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_log_list, "listing execution logs");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        db_bind_str(&c, 3, enrollment_id);
        db_bind_i64(&c, 4, limit);
        db_bind_i64(&c, 5, offset);
        rc = db_read_all(&c, read_exec_log, a, (void **)rows, sizeof(**rows), n, 10, total);
    }
    return db_leave(&c, rc);
}

/*
 * Per step: the enrollments that executed it (success), failed or were
 * skipped there; of the emails it sent, how many went out and how many a
 * person opened, clicked or answered (an inbound email from the contact
 * after the send).
 */
static struct db_sql sql_metrics = DB_SQL(
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
    "   AND v.sent_email_id = l.sent_email_id AND v.kind = 'open' AND NOT v.is_bot)),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l WHERE l.workspace_id = s.workspace_id"
    "  AND l.campaign_id = s.campaign_id AND l.step_id = s.id AND l.sent_email_id IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = l.workspace_id"
    "   AND v.sent_email_id = l.sent_email_id AND v.kind = 'click' AND NOT v.is_bot)),"
    " (SELECT COUNT(*) FROM campaign_execution_logs l JOIN sent_emails m"
    "  ON m.workspace_id = l.workspace_id AND m.id = l.sent_email_id"
    "  WHERE l.workspace_id = s.workspace_id AND l.campaign_id = s.campaign_id"
    "  AND l.step_id = s.id AND m.sent_at IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM emails r WHERE r.workspace_id = m.workspace_id"
    "   AND r.contact_id = m.contact_id AND r.direction = 'inbound'"
    "   AND r.received_at > m.sent_at))"
    " FROM campaign_steps s WHERE s.workspace_id = ?1 AND s.campaign_id = ?2"
    " AND s.version = " CURRENT_VERSION " ORDER BY s.position");

static void read_step_metrics(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct step_metrics *m = row;
    db_col_copy(c, 0, m->step_id, sizeof(m->step_id));
    m->position = db_col_int(c, 1);
    db_col_copy(c, 2, m->type, sizeof(m->type));
    m->executed = db_col_i64(c, 3);
    m->failed = db_col_i64(c, 4);
    m->skipped = db_col_i64(c, 5);
    m->sent = db_col_i64(c, 6);
    m->opened = db_col_i64(c, 7);
    m->clicked = db_col_i64(c, 8);
    m->replied = db_col_i64(c, 9);
}

int store_campaign_metrics(struct store *st, const char *workspace_id, const char *campaign_id,
                           struct arena *a, struct step_metrics **rows, size_t *n,
                           struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_metrics, "reading campaign metrics");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, campaign_id);
        rc = db_read_all(&c, read_step_metrics, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_engagement =
    DB_SQL("SELECT"
           " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
           "  AND v.sent_email_id = m.id AND v.kind = 'open' AND NOT v.is_bot),"
           " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
           "  AND v.sent_email_id = m.id AND v.kind = 'click' AND NOT v.is_bot),"
           " m.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM emails r"
           "  WHERE r.workspace_id = m.workspace_id AND r.contact_id = m.contact_id"
           "  AND r.direction = 'inbound' AND r.received_at > m.sent_at)"
           " FROM sent_emails m WHERE m.workspace_id = ?1 AND m.id = ?2");

int store_email_engagement(struct store *st, const char *workspace_id, const char *sent_email_id,
                           struct email_engagement *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_engagement, "reading an email's engagement");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, sent_email_id);
        if ((rc = db_step(&c)) == DB_ROW) {
            /* A click means the email was opened, even when the pixel was blocked. */
            out->clicked = db_col_bool(&c, 1);
            out->opened = db_col_bool(&c, 0) || out->clicked;
            out->replied = db_col_bool(&c, 2);
        }
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

/* ---- campaign score points ------------------------------------------------------------ */

/* PostgreSQL: FOR UPDATE, so the score read as "before" is the one this
 * update changes (SQLite writes one transaction at a time). */
#define SCORE_OF "SELECT ai_score FROM contacts WHERE workspace_id = ?1 AND id = ?2"
static struct db_sql sql_score_of = DB_SQL2(SCORE_OF, SCORE_OF " FOR UPDATE");

/* SQLite: the update returns the components the history row records. */
static struct db_sql sql_adjust = DB_SQL_SQLITE(
    "UPDATE contacts SET score_campaign = MAX(-100, MIN(100, score_campaign + ?3)),"
    " ai_score = MAX(0, MIN(100, CAST(ROUND(score_engagement + score_sentiment + score_intent"
    "  + score_role + score_status) AS INTEGER) + MAX(-100, MIN(100, score_campaign + ?3)))),"
    " updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2"
    " RETURNING ai_score, score_engagement, score_sentiment, score_intent, score_role,"
    " score_status");
static struct db_sql sql_adjust_history = DB_SQL_SQLITE(
    "INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement, sentiment,"
    " intent, role, status, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " 'campaign score step', ?10)");

/*
 * PostgreSQL: one statement. The computed part is rounded half away from
 * zero as SQLite's ROUND does (round() on double precision rounds half to
 * even). A history row is written when the total changed (?5: the total
 * before).
 */
#define POINTS "GREATEST(-100, LEAST(100, score_campaign + ?3::int))"
#define COMPUTED "(score_engagement + score_sentiment + score_intent + score_role + score_status)"
static struct db_sql sql_adjust_pg = DB_SQL_PG(
    "WITH u AS (UPDATE contacts SET score_campaign = " POINTS ","
    " ai_score = GREATEST(0, LEAST(100, trunc(" COMPUTED " + sign(" COMPUTED ") * 0.5)::int"
    "  + " POINTS ")), updated_at = ?4::bigint WHERE workspace_id = ?1 AND id = ?2"
    " RETURNING workspace_id, id, ai_score, score_engagement, score_sentiment, score_intent,"
    "  score_role, score_status),"
    " h AS (INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement,"
    "  sentiment, intent, role, status, reason, created_at)"
    "  SELECT workspace_id, id, ai_score, ?5::int, score_engagement, score_sentiment,"
    "  score_intent, score_role, score_status, 'campaign score step', ?4 FROM u"
    "  WHERE ai_score <> ?5)"
    " SELECT ai_score FROM u");
#undef POINTS
#undef COMPUTED

static int adjust_sqlite(struct db_cur *c, const char *workspace_id, const char *contact_id,
                         int delta, int64_t now, int before, int *after)
{
    int rc = db_prepare(c, &sql_adjust, "adjusting a score");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, contact_id);
    db_bind_i64(c, 3, delta);
    db_bind_i64(c, 4, now);
    double comp[5] = {0};
    if ((rc = db_step(c)) == DB_ROW) {
        *after = db_col_int(c, 0);
        for (int i = 0; i < 5; i++)
            comp[i] = db_col_dbl(c, i + 1);
        rc = db_run(c);
    }
    if (rc < 0 || *after == before)
        return rc < 0 ? rc : 0;
    if ((rc = db_prepare(c, &sql_adjust_history, "writing score history")))
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, contact_id);
    db_bind_i64(c, 3, *after);
    db_bind_i64(c, 4, before);
    for (int i = 0; i < 5; i++)
        db_bind_dbl(c, 5 + i, comp[i]);
    db_bind_i64(c, 10, now);
    return db_run(c);
}

static int adjust_pg(struct db_cur *c, const char *workspace_id, const char *contact_id, int delta,
                     int64_t now, int before, int *after)
{
    int rc = db_prepare(c, &sql_adjust_pg, "adjusting a score");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, contact_id);
    db_bind_i64(c, 3, delta);
    db_bind_i64(c, 4, now);
    db_bind_i64(c, 5, before);
    rc = db_step(c);
    *after = rc == DB_ROW ? db_col_int(c, 0) : before;
    return rc < 0 ? rc : 0;
}

static void int_row(struct db_cur *c, struct arena *a, void *out)
{
    (void)a;
    *(int *)out = db_col_int(c, 0);
}

int store_contact_score_adjust(struct store *st, const char *workspace_id, const char *contact_id,
                               int delta, int64_t now, int *before, int *after, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_score_of, "reading a score");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        rc = db_read_one(&c, int_row, NULL, before, "contact");
    }
    *after = *before;
    if (!rc && st->ops->db->kind == DB_SQLITE)
        rc = adjust_sqlite(&c, workspace_id, contact_id, delta, now, *before, after);
    else if (!rc)
        rc = adjust_pg(&c, workspace_id, contact_id, delta, now, *before, after);
    return db_leave(&c, rc);
}

/* ---- triggers and wake-ups ------------------------------------------------------------ */

/* SQLite: migration 10's index, so only the workspace's active campaigns of
 * that type are read (the planner would otherwise take drip_campaigns_list). */
static struct db_sql sql_triggered = DB_SQL2(
    "SELECT id, name, status, trigger, allow_reenroll, created_at, updated_at FROM drip_campaigns"
    " INDEXED BY drip_campaigns_trigger WHERE workspace_id = ?1"
    " AND json_extract(trigger, '$.type') = ?2 AND status = 'active'"
    " ORDER BY created_at, id",
    "SELECT id, name, status, trigger::text, allow_reenroll, created_at, updated_at"
    " FROM drip_campaigns"
    " WHERE workspace_id = ?1 AND trigger->>'type' = ?2 AND status = 'active'"
    " ORDER BY created_at, id" PG_ID_ORDER);

int store_campaign_triggered(struct store *st, const char *workspace_id, const char *type,
                             struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_triggered, "reading triggered campaigns");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, type);
        rc = db_read_all(&c, read_campaign_head, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* A held "wait until" step's job is keyed drip:<enrollment>:<step>:<seq>
 * (drip_enqueue_step) at the enrollment's current seq. On SQLite the unary +
 * keeps the planner on the key's index: jobs_due would walk every delayed job. */
#define WAKE(until, ws, status, run_at)                                                            \
    "UPDATE jobs SET run_at = ?3, updated_at = ?3 WHERE idempotency_key IN ("                      \
    "  SELECT 'drip:' || n.id || ':' || n.current_step_id || ':' || n.step_seq"                    \
    "  FROM campaign_enrollments n JOIN campaign_steps s"                                          \
    "   ON s.workspace_id = n.workspace_id AND s.id = n.current_step_id"                           \
    "  WHERE n.workspace_id = ?1 AND n.contact_id = ?2 AND n.status = 'active'"                    \
    "   AND s.step_type = 'wait' AND " until " IS NOT NULL)"                                       \
    " AND " ws " = ?1 AND " status " = 'queued' AND " run_at " > ?3"
static struct db_sql sql_wake =
    DB_SQL2(WAKE("json_extract(s.config, '$.until')", "+workspace_id", "+status", "+run_at"),
            WAKE("s.config->>'until'", "workspace_id", "status", "run_at"));
/* Whether any enrollment of the contact is active at a wait step: most
 * inbound mail comes from contacts in no campaign, and this lookup (one
 * index probe) spares them the UPDATE and its temporary table for IN. */
static struct db_sql sql_waiting =
    DB_SQL("SELECT 1 FROM campaign_enrollments n JOIN campaign_steps s"
           " ON s.workspace_id = n.workspace_id AND s.id = n.current_step_id"
           " WHERE n.workspace_id = ?1 AND n.contact_id = ?2 AND n.status = 'active'"
           " AND s.step_type = 'wait' LIMIT 1");

int store_enrollment_wake(struct store *st, const char *workspace_id, const char *contact_id,
                          int64_t now, int64_t *n, struct errinfo *e)
{
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_waiting, "finding waiting enrollments");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        rc = db_step(&c);
    }
    if (rc != DB_ROW) /* DB_DONE (none waits: nothing to do) or an error */
        return db_leave(&c, rc);
    rc = db_prepare(&c, &sql_wake, "waking waiting enrollments");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, now);
        if (!(rc = db_run(&c)))
            *n = db_changes(&c);
    }
    return db_leave(&c, rc);
}
