/*
 * PostgreSQL backend: drip campaigns (drip_campaigns, campaign_steps,
 * campaign_enrollments, campaign_execution_logs; migration 9). Semantics
 * follow sqlite_campaigns.c: an enrollment moves on only from the step
 * execution it was at (step_seq), so a job that runs a second time changes
 * nothing. Every op joins the thread's transaction when one is open (the
 * step runner writes a step's effect, its log, the move and the next job
 * in one), else runs in its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "store/pg_campaigns.h"
#include "store/pg_int.h"

/* ---- campaigns ------------------------------------------------------------------------ */

#define CAMPAIGN_COLS                                                                              \
    "c.id, c.name, c.status, c.trigger::text, c.allow_reenroll, c.created_at, c.updated_at,"       \
    " (SELECT COUNT(*) FROM campaign_steps s WHERE s.workspace_id = c.workspace_id"                \
    "  AND s.campaign_id = c.id),"                                                                 \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id),"                                                                 \
    " (SELECT COUNT(*) FROM campaign_enrollments n WHERE n.workspace_id = c.workspace_id"          \
    "  AND n.campaign_id = c.id AND n.status = 'active')"

static void read_campaign(const PGresult *r, int i, struct arena *a, struct campaign *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    pg_col_copy(r, i, 1, o->name, sizeof(o->name));
    pg_col_copy(r, i, 2, o->status, sizeof(o->status));
    o->trigger = pg_col_opt(r, i, 3, a);
    o->allow_reenroll = pg_col_bool(r, i, 4);
    o->created_at = pg_col_i64(r, i, 5);
    o->updated_at = pg_col_i64(r, i, 6);
    o->steps = pg_col_i64(r, i, 7);
    o->enrollments = pg_col_i64(r, i, 8);
    o->active = pg_col_i64(r, i, 9);
}

static const char sql_campaign_get[] = "SELECT " CAMPAIGN_COLS " FROM drip_campaigns c"
                                       " WHERE c.workspace_id = $1 AND c.id = $2";

/* Reads campaign id on x's connection: ERR_NOT_FOUND when it is not in the workspace. */
static int campaign_read(struct pg_ctx *x, const char *workspace_id, const char *id,
                         struct arena *a, struct campaign *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_exec(x, sql_campaign_get, &p, &r, "reading a campaign", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_campaign(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "campaign not found");
    PQclear(r);
    return rc;
}

static const char sql_campaign_insert[] =
    "INSERT INTO drip_campaigns (id, workspace_id, name, status, trigger, allow_reenroll,"
    " created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4::jsonb, $5::boolean, $6, $6)";

int pg_campaign_create(struct store *base, const char *workspace_id,
                       const struct campaign_fields *f, int64_t now, struct arena *a,
                       struct campaign *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct pg_params p = {0};
    pg_p_str(&p, id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, f->name);
    pg_p_str(&p, (f->set & CAMPF_TRIGGER) ? f->trigger : NULL);
    pg_p_bool(&p, (f->set & CAMPF_REENROLL) && f->allow_reenroll);
    pg_p_i64(&p, now);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    rc = pg_run(&x, sql_campaign_insert, &p, NULL, "creating a campaign", e);
    if (!rc)
        rc = campaign_read(&x, workspace_id, id, a, out, e);
    return pg_leave(&x, rc, e);
}

int pg_campaign_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                    struct campaign *out, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    rc = campaign_read(&x, workspace_id, id, a, out, e);
    return pg_leave(&x, rc, e);
}

/* The total is the last column of every row (0 when the page is empty, as on SQLite). */
static const char sql_campaign_list[] =
    "SELECT " CAMPAIGN_COLS ", COUNT(*) OVER () FROM drip_campaigns c WHERE c.workspace_id = $1"
    " AND ($2::text IS NULL OR c.status = $2) ORDER BY c.created_at DESC, c.id COLLATE \"C\" DESC"
    " LIMIT $3 OFFSET $4";

int pg_campaign_list(struct store *base, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct campaign **rows, size_t *n, int64_t *total,
                     struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, status);
    pg_p_i64(&p, limit);
    pg_p_i64(&p, offset);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_campaign_list, &p, &r,
                     "listing campaigns", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_campaign(r, i, a, &(*rows)[i]);
    if (nt > 0)
        *total = pg_col_i64(r, 0, 10);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_campaign_update[] =
    "UPDATE drip_campaigns SET name = CASE WHEN $3::boolean THEN $4::text ELSE name END,"
    " trigger = CASE WHEN $5::boolean THEN $6::jsonb ELSE trigger END,"
    " allow_reenroll = CASE WHEN $7::boolean THEN $8::boolean ELSE allow_reenroll END,"
    " updated_at = $9::bigint WHERE workspace_id = $1 AND id = $2";

int pg_campaign_update(struct store *base, const char *workspace_id, const char *id,
                       const struct campaign_fields *f, int64_t now, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_bool(&p, (f->set & CAMPF_NAME) != 0);
    pg_p_str(&p, f->name);
    pg_p_bool(&p, (f->set & CAMPF_TRIGGER) != 0);
    pg_p_str(&p, f->trigger);
    pg_p_bool(&p, (f->set & CAMPF_REENROLL) != 0);
    pg_p_bool(&p, f->allow_reenroll);
    pg_p_i64(&p, now);
    int64_t changed = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_campaign_update, &p, &changed,
                         "updating a campaign", e);
    if (!rc && changed == 0)
        rc = failf(e, ERR_NOT_FOUND, "campaign not found");
    return rc;
}

/* Steps, enrollments and logs go with it (ON DELETE CASCADE). */
static const char sql_campaign_delete[] =
    "DELETE FROM drip_campaigns WHERE workspace_id = $1 AND id = $2";

int pg_campaign_delete(struct store *base, const char *workspace_id, const char *id,
                       struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    int64_t changed = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_campaign_delete, &p, &changed,
                         "deleting a campaign", e);
    if (!rc && changed == 0)
        rc = failf(e, ERR_NOT_FOUND, "campaign not found");
    return rc;
}

static const char sql_status_of[] =
    "SELECT status FROM drip_campaigns WHERE workspace_id = $1 AND id = $2";

/* The campaign's status on x's connection: ERR_NOT_FOUND when there is none. */
static int status_read(struct pg_ctx *x, const char *workspace_id, const char *id, char status[16],
                       struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_exec(x, sql_status_of, &p, &r, "reading a campaign's status", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        pg_col_copy(r, 0, 0, status, 16);
    else
        rc = failf(e, ERR_NOT_FOUND, "campaign not found");
    PQclear(r);
    return rc;
}

/* from is a comma-separated list of names ("draft,paused"). */
static const char sql_campaign_status[] =
    "UPDATE drip_campaigns SET status = $4, updated_at = $5::bigint WHERE workspace_id = $1"
    " AND id = $2 AND status = ANY (string_to_array($3::text, ','))";

int pg_campaign_set_status(struct store *base, const char *workspace_id, const char *id,
                           const char *from, const char *to, int64_t now, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_str(&p, from);
    pg_p_str(&p, to);
    pg_p_i64(&p, now);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    int64_t changed = 0;
    rc = pg_run(&x, sql_campaign_status, &p, &changed, "changing a campaign's status", e);
    if (!rc && changed == 0) {
        char status[16];
        rc = status_read(&x, workspace_id, id, status, e);
        if (!rc)
            rc = failf(e, ERR_CONFLICT, "the campaign is %s", status);
    }
    return pg_leave(&x, rc, e);
}

int pg_campaign_status(struct store *base, const char *workspace_id, const char *id,
                       char status[16], struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    rc = status_read(&x, workspace_id, id, status, e);
    return pg_leave(&x, rc, e);
}

/* ---- steps ---------------------------------------------------------------------------- */

#define STEP_COLS                                                                                  \
    "id, position, step_type, config::text, COALESCE(next_step_id, ''),"                           \
    " COALESCE(true_step_id, ''), COALESCE(false_step_id, '')"

static void read_step(const PGresult *r, int i, struct arena *a, struct campaign_step *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    o->position = (int)pg_col_i64(r, i, 1);
    pg_col_copy(r, i, 2, o->type, sizeof(o->type));
    o->config = pg_col_dup(r, i, 3, a);
    pg_col_copy(r, i, 4, o->next_id, sizeof(o->next_id));
    pg_col_copy(r, i, 5, o->true_id, sizeof(o->true_id));
    pg_col_copy(r, i, 6, o->false_id, sizeof(o->false_id));
}

static const char sql_steps[] = "SELECT " STEP_COLS " FROM campaign_steps"
                                " WHERE workspace_id = $1 AND campaign_id = $2 ORDER BY position";

int pg_campaign_steps(struct store *base, const char *workspace_id, const char *campaign_id,
                      struct arena *a, struct campaign_step **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_steps, &p, &r, "listing steps", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_step(r, i, a, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_step_get[] =
    "SELECT " STEP_COLS " FROM campaign_steps WHERE workspace_id = $1 AND id = $2";

int pg_campaign_step_get(struct store *base, const char *workspace_id, const char *step_id,
                         struct arena *a, struct campaign_step *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, step_id);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_step_get, &p, &r, "reading a step", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_step(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "step not found");
    PQclear(r);
    return rc;
}

/*
 * FOR UPDATE conflicts with the key share lock that inserting an enrollment
 * takes on its campaign (the foreign key check): enrollments begun before
 * are committed when the lock is granted, later ones wait for the commit.
 * The count that follows is a statement of its own, so it sees the ones
 * committed while this waited (SQLite gets the same from BEGIN IMMEDIATE).
 */
static const char sql_steps_lock[] =
    "SELECT status FROM drip_campaigns WHERE workspace_id = $1 AND id = $2 FOR UPDATE";
static const char sql_steps_active[] =
    "SELECT COUNT(*) FROM campaign_enrollments WHERE workspace_id = $1 AND campaign_id = $2"
    " AND status = 'active'";
static const char sql_steps_delete[] =
    "DELETE FROM campaign_steps WHERE workspace_id = $1 AND campaign_id = $2";
static const char sql_step_insert[] =
    "INSERT INTO campaign_steps (id, campaign_id, workspace_id, position, step_type, config,"
    " next_step_id, true_step_id, false_step_id) VALUES ($1, $2, $3, $4::int, $5, $6::jsonb,"
    " NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''))";
static const char sql_campaign_touch[] =
    "UPDATE drip_campaigns SET updated_at = $3::bigint WHERE workspace_id = $1 AND id = $2";

static int steps_guard(struct pg_ctx *x, const char *workspace_id, const char *campaign_id,
                       struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    PGresult *r;
    int rc = pg_exec(x, sql_steps_lock, &p, &r, "reading a campaign", e);
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = failf(e, ERR_NOT_FOUND, "campaign not found");
    else if (strcmp(PQgetvalue(r, 0, 0), "archived") == 0)
        rc = failf(e, ERR_CONFLICT, "the campaign is archived");
    PQclear(r);
    if (rc || (rc = pg_exec(x, sql_steps_active, &p, &r, "counting enrollments", e)))
        return rc;
    int64_t active = pg_col_i64(r, 0, 0);
    PQclear(r);
    if (active > 0)
        return failf(e, ERR_CONFLICT,
                     "the campaign has %lld active enrollments: its steps cannot change now",
                     (long long)active);
    return 0;
}

static int steps_write(struct pg_ctx *x, const char *workspace_id, const char *campaign_id,
                       const struct campaign_step *steps, size_t n, int64_t now, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    int rc = pg_run(x, sql_steps_delete, &p, NULL, "deleting steps", e);
    for (size_t i = 0; i < n && !rc; i++) {
        struct pg_params q = {0};
        pg_p_str(&q, steps[i].id);
        pg_p_str(&q, campaign_id);
        pg_p_str(&q, workspace_id);
        pg_p_i64(&q, steps[i].position);
        pg_p_str(&q, steps[i].type);
        pg_p_str(&q, steps[i].config);
        pg_p_str(&q, steps[i].next_id);
        pg_p_str(&q, steps[i].true_id);
        pg_p_str(&q, steps[i].false_id);
        rc = pg_run(x, sql_step_insert, &q, NULL, "adding a step", e);
    }
    if (rc)
        return rc;
    pg_p_i64(&p, now);
    return pg_run(x, sql_campaign_touch, &p, NULL, "updating a campaign", e);
}

int pg_campaign_steps_replace(struct store *base, const char *workspace_id, const char *campaign_id,
                              const struct campaign_step *steps, size_t n, int64_t now,
                              struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, true, &x, e);
    if (rc)
        return rc;
    rc = steps_guard(&x, workspace_id, campaign_id, e);
    if (!rc)
        rc = steps_write(&x, workspace_id, campaign_id, steps, n, now, e);
    return pg_leave(&x, rc, e);
}

/* ---- enrollments ---------------------------------------------------------------------- */

static const char sql_enroll_prev[] =
    "SELECT COALESCE(MAX(generation), 0), COALESCE(bool_or(status = 'active'), false)"
    " FROM campaign_enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND contact_id = $3";
/* DO NOTHING: an enrollment of the contact that another transaction wrote
 * since the read above (the one active enrollment per contact and campaign,
 * or the same generation) leaves this transaction usable; the read is done
 * again and says why. */
static const char sql_enroll_insert[] =
    "INSERT INTO campaign_enrollments (id, workspace_id, campaign_id, contact_id, generation,"
    " status, current_step_id, step_seq, step_started_at, next_run_at, enrolled_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5::int, 'active', $6, 0, $7::bigint, $8::bigint, $7, $7)"
    " ON CONFLICT DO NOTHING";

enum { ENROLL_TRIES = 3 };

int pg_enrollment_insert(struct store *base, const char *workspace_id, const char *campaign_id,
                         const char *contact_id, bool allow_reenroll, const char *first_step,
                         int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                         const char **reason, struct errinfo *e)
{
    *reason = NULL;
    id[0] = '\0';
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, contact_id);
    for (int tries = 0; tries < ENROLL_TRIES; tries++) {
        PGresult *r;
        if ((rc = pg_exec(&x, sql_enroll_prev, &p, &r, "reading enrollments", e)))
            break;
        int64_t generation = pg_col_i64(r, 0, 0);
        bool active = pg_col_bool(r, 0, 1);
        PQclear(r);
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
        struct pg_params q = {0};
        pg_p_str(&q, nid);
        pg_p_str(&q, workspace_id);
        pg_p_str(&q, campaign_id);
        pg_p_str(&q, contact_id);
        pg_p_i64(&q, generation + 1);
        pg_p_str(&q, first_step);
        pg_p_i64(&q, now);
        pg_p_i64(&q, next_run_at);
        int64_t added = 0;
        if ((rc = pg_run(&x, sql_enroll_insert, &q, &added, "enrolling a contact", e)))
            break;
        if (added > 0) {
            snprintf(id, STORE_ID_LEN, "%s", nid);
            break;
        }
    }
    /* Lost every race: another enrollment of the contact keeps being written. */
    if (!rc && !*reason && !id[0])
        *reason = "already_active";
    return pg_leave(&x, rc, e);
}

#define ENROLLMENT_COLS                                                                            \
    "n.id, n.campaign_id, n.contact_id, n.status, COALESCE(n.current_step_id, ''), n.step_seq,"    \
    " COALESCE(n.step_started_at, 0), COALESCE(n.next_run_at, 0),"                                 \
    " COALESCE(n.last_email_id, ''), COALESCE(n.variant, -1), n.reason, n.generation,"             \
    " n.enrolled_at, n.updated_at, COALESCE(n.finished_at, 0),"                                    \
    " (SELECT email FROM contacts k WHERE k.workspace_id = n.workspace_id"                         \
    "  AND k.id = n.contact_id)"

static void read_enrollment(const PGresult *r, int i, struct arena *a, struct enrollment *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    pg_col_copy(r, i, 1, o->campaign_id, sizeof(o->campaign_id));
    pg_col_copy(r, i, 2, o->contact_id, sizeof(o->contact_id));
    pg_col_copy(r, i, 3, o->status, sizeof(o->status));
    pg_col_copy(r, i, 4, o->current_step_id, sizeof(o->current_step_id));
    o->seq = pg_col_i64(r, i, 5);
    o->step_started_at = pg_col_i64(r, i, 6);
    o->next_run_at = pg_col_i64(r, i, 7);
    pg_col_copy(r, i, 8, o->last_email_id, sizeof(o->last_email_id));
    o->variant = (int)pg_col_i64(r, i, 9);
    o->reason = pg_col_opt(r, i, 10, a);
    o->generation = (int)pg_col_i64(r, i, 11);
    o->enrolled_at = pg_col_i64(r, i, 12);
    o->updated_at = pg_col_i64(r, i, 13);
    o->finished_at = pg_col_i64(r, i, 14);
    o->contact_email = pg_col_opt(r, i, 15, a);
}

static const char sql_enrollment_get[] = "SELECT " ENROLLMENT_COLS " FROM campaign_enrollments n"
                                         " WHERE n.workspace_id = $1 AND n.id = $2";

int pg_enrollment_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct enrollment *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_enrollment_get, &p, &r,
                     "reading an enrollment", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_enrollment(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "enrollment not found");
    PQclear(r);
    return rc;
}

static const char sql_enrollment_list[] =
    "SELECT " ENROLLMENT_COLS ", COUNT(*) OVER () FROM campaign_enrollments n"
    " WHERE n.workspace_id = $1 AND n.campaign_id = $2 AND ($3::text IS NULL OR n.status = $3)"
    " ORDER BY n.enrolled_at DESC, n.id COLLATE \"C\" DESC LIMIT $4 OFFSET $5";

int pg_enrollment_list(struct store *base, const char *workspace_id, const char *campaign_id,
                       const char *status, int limit, int offset, struct arena *a,
                       struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, status);
    pg_p_i64(&p, limit);
    pg_p_i64(&p, offset);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_enrollment_list, &p, &r,
                     "listing enrollments", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_enrollment(r, i, a, &(*rows)[i]);
    if (nt > 0)
        *total = pg_col_i64(r, 0, 16);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_enrollment_move[] =
    "UPDATE campaign_enrollments SET status = $4::text, current_step_id = NULLIF($5, ''),"
    " step_seq = step_seq + 1, step_started_at = NULLIF($6::bigint, 0),"
    " next_run_at = NULLIF($7::bigint, 0), last_email_id = COALESCE($8, last_email_id),"
    " variant = CASE WHEN $9::int >= 0 THEN $9 ELSE variant END, reason = COALESCE($10, reason),"
    " updated_at = $11::bigint, finished_at = CASE WHEN $4 = 'active' THEN NULL ELSE $11 END"
    " WHERE workspace_id = $1 AND id = $2 AND step_seq = $3::bigint AND status = 'active'";

int pg_enrollment_move(struct store *base, const char *workspace_id, const char *id, int64_t seq,
                       const struct enrollment_move *m, int64_t now, bool *applied,
                       struct errinfo *e)
{
    *applied = false;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_i64(&p, seq);
    pg_p_str(&p, m->status);
    pg_p_str(&p, m->step_id ? m->step_id : "");
    pg_p_i64(&p, m->step_started_at);
    pg_p_i64(&p, m->next_run_at);
    pg_p_opt(&p, m->last_email_id);
    pg_p_i64(&p, m->variant);
    pg_p_str(&p, m->reason);
    pg_p_i64(&p, now);
    int64_t changed = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_enrollment_move, &p, &changed,
                         "moving an enrollment on", e);
    if (!rc)
        *applied = changed > 0;
    return rc;
}

/* ---- execution logs and metrics ------------------------------------------------------- */

static const char sql_log_add[] =
    "INSERT INTO campaign_execution_logs (workspace_id, campaign_id, enrollment_id, step_id,"
    " step_type, status, error, metadata, sent_email_id, created_at)"
    " VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7, COALESCE($8::jsonb, '{}'),"
    " NULLIF($9, ''), $10::bigint)";

int pg_exec_log_add(struct store *base, const char *workspace_id, const char *campaign_id,
                    const struct exec_log *l, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, l->enrollment_id);
    pg_p_str(&p, l->step_id);
    pg_p_str(&p, l->step_type);
    pg_p_str(&p, l->status);
    pg_p_str(&p, l->error);
    pg_p_str(&p, l->metadata);
    pg_p_str(&p, l->sent_email_id);
    pg_p_i64(&p, l->created_at);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_log_add, &p, NULL,
                       "writing an execution log", e);
}

static const char sql_log_list[] =
    "SELECT l.id, l.enrollment_id, n.contact_id, COALESCE(l.step_id, ''),"
    " COALESCE(l.step_type, ''), l.status, l.error, l.metadata::text,"
    " COALESCE(l.sent_email_id, ''), l.created_at, COUNT(*) OVER ()"
    " FROM campaign_execution_logs l"
    " JOIN campaign_enrollments n ON n.id = l.enrollment_id AND n.workspace_id = l.workspace_id"
    " WHERE l.workspace_id = $1 AND l.campaign_id = $2"
    " AND ($3::text IS NULL OR l.enrollment_id = $3) ORDER BY l.id DESC LIMIT $4 OFFSET $5";

static void read_exec_log(const PGresult *r, int i, struct arena *a, struct exec_log *l)
{
    memset(l, 0, sizeof(*l));
    l->id = pg_col_i64(r, i, 0);
    pg_col_copy(r, i, 1, l->enrollment_id, sizeof(l->enrollment_id));
    pg_col_copy(r, i, 2, l->contact_id, sizeof(l->contact_id));
    pg_col_copy(r, i, 3, l->step_id, sizeof(l->step_id));
    pg_col_copy(r, i, 4, l->step_type, sizeof(l->step_type));
    pg_col_copy(r, i, 5, l->status, sizeof(l->status));
    l->error = pg_col_opt(r, i, 6, a);
    l->metadata = pg_col_dup(r, i, 7, a);
    pg_col_copy(r, i, 8, l->sent_email_id, sizeof(l->sent_email_id));
    l->created_at = pg_col_i64(r, i, 9);
}

int pg_exec_log_list(struct store *base, const char *workspace_id, const char *campaign_id,
                     const char *enrollment_id, int limit, int offset, struct arena *a,
                     struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, enrollment_id);
    pg_p_i64(&p, limit);
    pg_p_i64(&p, offset);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_log_list, &p, &r,
                     "listing execution logs", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_exec_log(r, i, a, &(*rows)[i]);
    if (nt > 0)
        *total = pg_col_i64(r, 0, 10);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
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
    " FROM campaign_steps s WHERE s.workspace_id = $1 AND s.campaign_id = $2 ORDER BY s.position";

int pg_campaign_metrics(struct store *base, const char *workspace_id, const char *campaign_id,
                        struct arena *a, struct step_metrics **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, campaign_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_metrics, &p, &r,
                     "reading campaign metrics", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct step_metrics *m = &(*rows)[i];
        pg_col_copy(r, i, 0, m->step_id, sizeof(m->step_id));
        m->position = (int)pg_col_i64(r, i, 1);
        pg_col_copy(r, i, 2, m->type, sizeof(m->type));
        m->executed = pg_col_i64(r, i, 3);
        m->failed = pg_col_i64(r, i, 4);
        m->skipped = pg_col_i64(r, i, 5);
        m->sent = pg_col_i64(r, i, 6);
        m->opened = pg_col_i64(r, i, 7);
        m->clicked = pg_col_i64(r, i, 8);
        m->replied = pg_col_i64(r, i, 9);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_engagement[] =
    "SELECT"
    " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
    "  AND v.sent_email_id = m.id AND v.kind = 'open' AND NOT v.is_bot),"
    " EXISTS (SELECT 1 FROM email_events v WHERE v.workspace_id = m.workspace_id"
    "  AND v.sent_email_id = m.id AND v.kind = 'click' AND NOT v.is_bot),"
    " m.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM emails r"
    "  WHERE r.workspace_id = m.workspace_id AND r.contact_id = m.contact_id"
    "  AND r.direction = 'inbound' AND r.received_at > m.sent_at)"
    " FROM sent_emails m WHERE m.workspace_id = $1 AND m.id = $2";

int pg_email_engagement(struct store *base, const char *workspace_id, const char *sent_email_id,
                        struct email_engagement *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, sent_email_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_engagement, &p, &r,
                     "reading an email's engagement", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        /* A click means the email was opened, even when the pixel was blocked. */
        out->clicked = pg_col_bool(r, 0, 1);
        out->opened = pg_col_bool(r, 0, 0) || out->clicked;
        out->replied = pg_col_bool(r, 0, 2);
    }
    PQclear(r);
    return 0;
}

/* ---- campaign score points ------------------------------------------------------------ */

/* FOR UPDATE: the score read as "before" is the one this update changes. */
static const char sql_score_of[] =
    "SELECT ai_score FROM contacts WHERE workspace_id = $1 AND id = $2 FOR UPDATE";

/*
 * The computed part is rounded half away from zero as SQLite's ROUND does
 * (round() on double precision rounds half to even). A history row is
 * written when the total changed ($5: the total before).
 */
#define POINTS "GREATEST(-100, LEAST(100, score_campaign + $3::int))"
#define COMPUTED "(score_engagement + score_sentiment + score_intent + score_role + score_status)"
static const char sql_adjust[] =
    "WITH u AS (UPDATE contacts SET score_campaign = " POINTS ","
    " ai_score = GREATEST(0, LEAST(100, trunc(" COMPUTED " + sign(" COMPUTED ") * 0.5)::int"
    "  + " POINTS ")), updated_at = $4::bigint WHERE workspace_id = $1 AND id = $2"
    " RETURNING workspace_id, id, ai_score, score_engagement, score_sentiment, score_intent,"
    "  score_role, score_status),"
    " h AS (INSERT INTO score_history (workspace_id, contact_id, score, previous, engagement,"
    "  sentiment, intent, role, status, reason, created_at)"
    "  SELECT workspace_id, id, ai_score, $5::int, score_engagement, score_sentiment,"
    "  score_intent, score_role, score_status, 'campaign score step', $4 FROM u"
    "  WHERE ai_score <> $5)"
    " SELECT ai_score FROM u";
#undef POINTS
#undef COMPUTED

int pg_contact_score_adjust(struct store *base, const char *workspace_id, const char *contact_id,
                            int delta, int64_t now, int *before, int *after, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    PGresult *r;
    if ((rc = pg_exec(&x, sql_score_of, &p, &r, "reading a score", e)))
        return pg_leave(&x, rc, e);
    if (PQntuples(r) == 0)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    else
        *before = (int)pg_col_i64(r, 0, 0);
    PQclear(r);
    if (rc)
        return pg_leave(&x, rc, e);
    pg_p_i64(&p, delta);
    pg_p_i64(&p, now);
    pg_p_i64(&p, *before);
    if (!(rc = pg_exec(&x, sql_adjust, &p, &r, "adjusting a score", e))) {
        *after = PQntuples(r) > 0 ? (int)pg_col_i64(r, 0, 0) : *before;
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}

/* ---- what creating or tagging a contact needs ---- */

static const char sql_triggered[] =
    "SELECT id, name, status, trigger::text, allow_reenroll, created_at, updated_at"
    " FROM drip_campaigns"
    " WHERE workspace_id = $1 AND trigger->>'type' = $2 AND status = 'active'"
    " ORDER BY created_at, id COLLATE \"C\"";

int pg_campaign_triggered(struct store *base, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, type);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_triggered, &p, &r,
                     "reading triggered campaigns", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct campaign *c = &(*rows)[i];
        pg_col_copy(r, i, 0, c->id, sizeof(c->id));
        pg_col_copy(r, i, 1, c->name, sizeof(c->name));
        pg_col_copy(r, i, 2, c->status, sizeof(c->status));
        c->trigger = pg_col_opt(r, i, 3, a);
        c->allow_reenroll = pg_col_bool(r, i, 4);
        c->created_at = pg_col_i64(r, i, 5);
        c->updated_at = pg_col_i64(r, i, 6);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

/* The drip job of each active enrollment of the contact waiting at a "wait
 * until" step (its idempotency key names the enrollment, step and sequence). */
static const char sql_wake[] =
    "UPDATE jobs SET run_at = $3, updated_at = $3 WHERE idempotency_key IN ("
    "  SELECT 'drip:' || n.id || ':' || n.current_step_id || ':' || n.step_seq"
    "  FROM campaign_enrollments n JOIN campaign_steps s"
    "   ON s.workspace_id = n.workspace_id AND s.id = n.current_step_id"
    "  WHERE n.workspace_id = $1 AND n.contact_id = $2 AND n.status = 'active'"
    "   AND s.step_type = 'wait' AND s.config->>'until' IS NOT NULL)"
    " AND workspace_id = $1 AND status = 'queued' AND run_at > $3";

int pg_enrollment_wake(struct store *base, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_i64(&p, now);
    PGresult *r;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_wake, &p, &r,
                     "waking waiting enrollments", e);
    if (rc)
        return rc;
    *n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static const char sql_cancel[] =
    "UPDATE campaign_enrollments SET status = 'cancelled', reason = $4, current_step_id = NULL,"
    " next_run_at = NULL, step_seq = step_seq + 1, updated_at = $5, finished_at = $5"
    " WHERE workspace_id = $1 AND status = 'active' AND ($2::text IS NULL OR contact_id = $2)"
    " AND ($3::text IS NULL OR campaign_id = $3)";

int pg_enrollment_cancel(struct store *base, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e)
{
    *n = 0;
    if (!contact_id && !campaign_id)
        return failf(e, ERR_INVALID, "cancelling enrollments needs a contact or a campaign");
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, reason);
    pg_p_i64(&p, now);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_cancel, &p, n,
                       "cancelling enrollments", e);
}
