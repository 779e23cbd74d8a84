"""PostgreSQL only (LEADFLOW_TEST_PG=1): Row Level Security as the second
guard of workspace isolation (DESIGN.md section 1). A database migrated by
`leadflow migrate` as the owner is read and written here directly as the
application role the server uses, with no workspace filter in the SQL: the
policies alone must keep each workspace's rows to itself."""
import uuid

import pytest

from conftest import CLI_TIMEOUT, pg_cluster

psycopg2 = pytest.importorskip("psycopg2")


def now_ms():
    return 1_700_000_000_000


@pytest.fixture(scope="module")
def db(bin_path):
    """A migrated database with workspaces A and B, two contacts in A and one in B."""
    cluster = pg_cluster()
    name, _ = cluster.migrated_db(bin_path)
    ids = {"A": str(uuid.uuid4()), "B": str(uuid.uuid4()), "org": str(uuid.uuid4())}
    admin = cluster.connect(name)  # superuser: no policies apply
    with admin, admin.cursor() as cur:
        cur.execute("INSERT INTO organizations (id, name, created_at) VALUES (%s, 'o', 0)",
                    (ids["org"],))
        for ws in ("A", "B"):
            cur.execute("INSERT INTO workspaces (id, org_id, name, created_at)"
                        " VALUES (%s, %s, %s, 0)", (ids[ws], ids["org"], ws))
        for ws, email in (("A", "a1@x.test"), ("A", "a2@x.test"), ("B", "b1@x.test")):
            cur.execute("INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)"
                        " VALUES (%s, %s, %s, 0, 0)", (str(uuid.uuid4()), ids[ws], email))
    admin.close()
    ids["name"] = name
    return ids


def app(db):
    return pg_cluster().connect(db["name"], role="app")


def set_ws(cur, ws):
    cur.execute("SELECT set_config('leadflow.workspace_id', %s, true)", (ws,))


def test_app_role_is_neither_superuser_nor_exempt(db):
    con = app(db)
    try:
        cur = con.cursor()
        cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False)
        cur.execute("SELECT relname FROM pg_class WHERE relname = 'contacts'"
                    " AND relrowsecurity AND relforcerowsecurity")
        assert cur.fetchall() == [("contacts",)]
    finally:
        con.close()


def test_only_the_set_workspace_is_visible(db):
    con = app(db)
    try:
        cur = con.cursor()
        set_ws(cur, db["A"])
        cur.execute("SELECT email, workspace_id FROM contacts ORDER BY email")
        assert cur.fetchall() == [("a1@x.test", db["A"]), ("a2@x.test", db["A"])]
        con.rollback()
        set_ws(cur, db["B"])
        cur.execute("SELECT email FROM contacts")
        assert cur.fetchall() == [("b1@x.test",)]
        con.rollback()
    finally:
        con.close()


def test_no_workspace_set_sees_nothing(db):
    con = app(db)
    try:
        cur = con.cursor()
        cur.execute("SELECT COUNT(*) FROM contacts")
        assert cur.fetchone() == (0,)
        # The setting is local to a transaction: it does not outlive it.
        set_ws(cur, db["A"])
        con.commit()
        cur.execute("SELECT COUNT(*) FROM contacts")
        assert cur.fetchone() == (0,)
        con.rollback()
    finally:
        con.close()


def test_writing_another_workspace_fails(db):
    con = app(db)
    try:
        cur = con.cursor()
        set_ws(cur, db["A"])
        with pytest.raises(psycopg2.Error) as exc:
            cur.execute("INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)"
                        " VALUES (%s, %s, 'intruder@x.test', 0, 0)", (str(uuid.uuid4()), db["B"]))
        assert exc.value.pgcode == "42501", exc.value  # violates row-level security policy
        con.rollback()
        # Rows of B can be neither changed nor deleted, nor moved into A.
        set_ws(cur, db["A"])
        cur.execute("UPDATE contacts SET name = 'x' WHERE email = 'b1@x.test'")
        assert cur.rowcount == 0
        cur.execute("DELETE FROM contacts WHERE email = 'b1@x.test'")
        assert cur.rowcount == 0
        with pytest.raises(psycopg2.Error) as exc:
            cur.execute("UPDATE contacts SET workspace_id = %s WHERE email = 'a1@x.test'",
                        (db["B"],))
        assert exc.value.pgcode == "42501", exc.value
        con.rollback()
    finally:
        con.close()


def test_owner_is_bound_by_the_policies_too(db):
    """FORCE ROW LEVEL SECURITY: the table owner gets no way around them."""
    con = pg_cluster().connect(db["name"], role="owner")
    try:
        cur = con.cursor()
        cur.execute("SELECT COUNT(*) FROM contacts")
        assert cur.fetchone() == (0,)
        con.rollback()
    finally:
        con.close()


def test_app_role_cannot_change_the_schema(db):
    con = app(db)
    try:
        cur = con.cursor()
        for sql in ("ALTER TABLE contacts DISABLE ROW LEVEL SECURITY",
                    "DROP POLICY workspace_isolation ON contacts",
                    "CREATE TABLE sneaky (x int)",
                    "DELETE FROM schema_migrations"):
            with pytest.raises(psycopg2.Error) as exc:
                cur.execute(sql)
            assert exc.value.pgcode in ("42501", "42P01"), (sql, exc.value)
            con.rollback()
    finally:
        con.close()


def test_every_workspace_table_is_protected(db):
    con = pg_cluster().connect(db["name"])
    try:
        cur = con.cursor()
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                    " AND a.attname = 'workspace_id' AND NOT a.attisdropped"
                    " AND NOT (c.relrowsecurity AND c.relforcerowsecurity)")
        # oauth_states holds a pending sign-in (found by its secret state), not
        # workspace data: its workspace_id names where a Gmail connection goes.
        assert cur.fetchall() == [("oauth_states",)]
    finally:
        con.close()


def test_server_refuses_an_old_schema_as_the_app_role(bin_path, launcher):
    """The app role may not migrate: the server says to run `leadflow migrate`."""
    import subprocess
    from conftest import clean_env
    cluster = pg_cluster()
    name = cluster.create_db()
    r = subprocess.run([bin_path, "migrate", "--db", cluster.url("app", name)], env=clean_env(),
                       capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert r.returncode != 0
    assert "leadflow migrate" in r.stderr and "owner" in r.stderr, r.stderr


def test_counters_follow_contacts_under_the_policies(server):
    """The PL/pgSQL counter triggers run as the app role, inside the workspace
    the op set: the dashboard's counts follow creates, score changes, deletes."""
    import tenantutil as tu
    t = tu.new_tenant(server, tu.unique_email("counts"), session=False)
    other = tu.new_tenant(server, tu.unique_email("counts-other"), session=False)
    tu.create_contact(server, other)  # another workspace's contact is never counted

    def stats():
        return tu.ok(tu.api(server, "GET", "/api/dashboard/stats", t.token_creds,
                            ws=t.workspace_id))["contacts"]

    assert stats() == {"total": 0, "hot": 0, "warm": 0, "cold": 0}
    c1 = tu.create_contact(server, t)
    c2 = tu.create_contact(server, t)
    tu.set_score(server, c1["id"], 85)
    tu.set_score(server, c2["id"], 65)
    assert stats() == {"total": 2, "hot": 1, "warm": 1, "cold": 0}
    tu.ok(tu.api(server, "DELETE", f"/api/contacts/{c1['id']}", t.token_creds,
                 ws=t.workspace_id))
    assert stats() == {"total": 1, "hot": 0, "warm": 1, "cold": 0}


# -- the job queue's policy ----------------------------------------------------------
#
# The jobs table has a second policy, `queue`, that admits every row while the
# transaction's leadflow.queue is 'on': the queue's own statements (claim,
# finish, expire, purge, and enqueueing a system job, which has no workspace)
# work across workspaces (src/store/pg_jobs.c). Everything else runs under the
# workspace policy alone.


@pytest.fixture(scope="module")
def jobs(db):
    """Two queued jobs in A, one in B, one finished in B and one system job."""
    admin = pg_cluster().connect(db["name"])
    ids = {}
    with admin, admin.cursor() as cur:
        for key, ws, status in (("a1", db["A"], "queued"), ("a2", db["A"], "queued"),
                                ("b1", db["B"], "queued"), ("b_done", db["B"], "done"),
                                ("sys", None, "queued")):
            cur.execute("INSERT INTO jobs (workspace_id, kind, status, run_at, idempotency_key,"
                        " created_at, updated_at, finished_at)"
                        " VALUES (%s, 'k', %s, 0, %s, 0, 0, %s) RETURNING id",
                        (ws, status, "rls-" + key, 1 if status == "done" else None))
            ids[key] = cur.fetchone()[0]
    admin.close()
    return ids


def set_queue(cur, value):
    cur.execute("SELECT set_config('leadflow.queue', %s, true)", (value,))


def job_keys(cur):
    cur.execute("SELECT idempotency_key FROM jobs WHERE idempotency_key LIKE 'rls-%' ORDER BY 1")
    return [r[0][4:] for r in cur.fetchall()]


def test_jobs_without_the_queue_setting_are_the_workspaces_own(db, jobs):
    con = app(db)
    try:
        cur = con.cursor()
        assert job_keys(cur) == []
        con.rollback()
        set_ws(cur, db["A"])
        assert job_keys(cur) == ["a1", "a2"]  # neither B's jobs nor the system job
        con.rollback()
        set_ws(cur, db["B"])
        assert job_keys(cur) == ["b1", "b_done"]
        con.rollback()
        # Only exactly 'on' opens the queue.
        for value in ("", "off", "ON", "true", "1"):
            set_ws(cur, db["A"])
            set_queue(cur, value)
            assert job_keys(cur) == ["a1", "a2"], value
            con.rollback()
    finally:
        con.close()


def test_the_queue_setting_shows_every_workspaces_jobs_for_one_transaction(db, jobs):
    con = app(db)
    try:
        cur = con.cursor()
        set_queue(cur, "on")
        assert job_keys(cur) == ["a1", "a2", "b1", "b_done", "sys"]
        # It opens the jobs table only: other tables keep to the workspace policy.
        cur.execute("SELECT COUNT(*) FROM contacts")
        assert cur.fetchone() == (0,)
        con.commit()
        # Like the workspace, the setting ends with its transaction.
        assert job_keys(cur) == []
        con.rollback()
    finally:
        con.close()


def test_the_queue_may_claim_finish_and_purge_any_workspaces_jobs(db, jobs):
    """What the queue's statements need, each inside a transaction that is rolled back."""
    con = app(db)
    try:
        cur = con.cursor()
        # Without the setting, another workspace's job cannot be claimed or
        # purged, and no system job can be enqueued.
        set_ws(cur, db["A"])
        cur.execute("UPDATE jobs SET status = 'running' WHERE id = %s", (jobs["b1"],))
        assert cur.rowcount == 0
        cur.execute("DELETE FROM jobs WHERE id IN (%s, %s)", (jobs["b_done"], jobs["sys"]))
        assert cur.rowcount == 0
        with pytest.raises(psycopg2.Error) as exc:
            cur.execute("INSERT INTO jobs (workspace_id, kind, run_at, created_at, updated_at)"
                        " VALUES (NULL, 'k', 0, 0, 0)")
        assert exc.value.pgcode == "42501", exc.value
        con.rollback()
        # With it: claim (and finish) any workspace's job, purge finished
        # ones, enqueue a system job.
        set_queue(cur, "on")
        cur.execute("UPDATE jobs SET status = 'running', locked_by = 'w', attempts = attempts + 1"
                    " WHERE id IN (%s, %s, %s) RETURNING workspace_id",
                    (jobs["a1"], jobs["b1"], jobs["sys"]))
        assert sorted(cur.fetchall(), key=str) == sorted([(db["A"],), (db["B"],), (None,)],
                                                         key=str)
        cur.execute("UPDATE jobs SET status = 'done', finished_at = 1, locked_by = NULL"
                    " WHERE id = %s AND locked_by = 'w'", (jobs["b1"],))
        assert cur.rowcount == 1
        cur.execute("DELETE FROM jobs WHERE id = %s AND status = 'done'", (jobs["b_done"],))
        assert cur.rowcount == 1
        cur.execute("INSERT INTO jobs (workspace_id, kind, run_at, created_at, updated_at)"
                    " VALUES (NULL, 'k', 0, 0, 0)")
        assert cur.rowcount == 1
        con.rollback()
    finally:
        con.close()


# The queue needs to write other workspaces' existing rows and to insert
# system jobs, nothing more; the policy (one USING/WITH CHECK for every
# command) admits more. These say what a tighter one would refuse.


def test_the_queue_setting_does_not_let_a_job_be_inserted_into_another_workspace(db, jobs):
    con = app(db)
    try:
        cur = con.cursor()
        set_ws(cur, db["A"])
        set_queue(cur, "on")
        with pytest.raises(psycopg2.Error) as exc:
            cur.execute("INSERT INTO jobs (workspace_id, kind, run_at, created_at, updated_at)"
                        " VALUES (%s, 'k', 0, 0, 0)", (db["B"],))
        assert exc.value.pgcode == "42501", exc.value
    finally:
        con.rollback()
        con.close()


def test_the_queue_setting_does_not_let_a_job_move_to_another_workspace(db, jobs):
    con = app(db)
    try:
        cur = con.cursor()
        set_queue(cur, "on")
        with pytest.raises(psycopg2.Error) as exc:
            cur.execute("UPDATE jobs SET workspace_id = %s WHERE id = %s", (db["B"], jobs["a2"]))
        assert exc.value.pgcode == "42501", exc.value
    finally:
        con.rollback()
        con.close()
