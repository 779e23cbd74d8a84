"""The job queue through the real binary: GET /api/jobs by status, retry and
discard of dead jobs, workspace isolation, the viewer role, and the
`leadflow worker` command (--once, SIGTERM).

Tests cannot register C handlers, so the jobs here are of kinds no handler
runs: the workers fail them ("no handler for kind X in this process"), retry
them with backoff and end them dead. Rows are written to the database
directly (db_connect: the SQLite file in WAL mode, or PostgreSQL as the
superuser) where the API has no way to make them."""
import json
import os
import signal
import subprocess
import time
import types

import pytest

from conftest import PG, Launcher, clean_env, db_connect, parse_log_line, pg_cluster
from tenantutil import (
    add_member, add_user, api, assert_error, insert_token, new_tenant, now_ms, ok, random_id,
    unique_email,
)

JOB_KEYS = {"id", "kind", "status", "attempts", "maxAttempts", "runAt", "lastError", "startedAt",
            "finishedAt", "createdAt", "updatedAt", "payload", "progress"}
HOUR = 3600 * 1000


@pytest.fixture(scope="module")
def server(bin_path, tmp_path_factory, web_dir):
    """One server for the module, whose idle workers look for due jobs every 50 ms."""
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start(env={"LEADFLOW_JOB_POLL_MS": "50"})
    yield srv
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


def insert_job(db, ws, kind="no_such_kind", status="queued", attempts=0, max_attempts=5,
               run_at=None, last_error=None, locked_until=None, payload=None):
    """A row of the jobs table of db (a server, or migrated_db's database);
    returns its id (an int)."""
    now = now_ms()
    con = db_connect(db)
    try:
        cur = con.execute(
            "INSERT INTO jobs (workspace_id, kind, payload, status, run_at, attempts, max_attempts,"
            " locked_until, locked_by, last_error, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (ws, kind, json.dumps(payload or {"to": "someone@example.test"}), status,
             now if run_at is None else run_at, attempts, max_attempts, locked_until,
             "elsewhere:1" if status == "running" else None, last_error, now, now))
        jid = cur.fetchone()[0]
        con.commit()
        return jid
    finally:
        con.close()


def list_jobs(server, t, creds=None, **params):
    r = api(server, "GET", "/api/jobs", creds or t.token_creds, ws=t.workspace_id, params=params)
    return ok(r), r.json.get("meta")


def job_of(server, t, job_id):
    data, _ = list_jobs(server, t, pageSize=200)
    found = [j for j in data if j["id"] == str(job_id)]
    assert found, f"job {job_id} is not listed: {data}"
    return found[0]


def wait_job(server, t, job_id, pred, timeout=15.0, what="the job to change"):
    deadline = time.monotonic() + timeout
    while True:
        j = job_of(server, t, job_id)
        if pred(j):
            return j
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}: {j}", pytrace=False)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def a(server):
    return new_tenant(server, unique_email("jobs-a"))


@pytest.fixture(scope="module")
def b(server):
    return new_tenant(server, unique_email("jobs-b"), session=False)


def test_list_by_status(server):
    t = new_tenant(server, unique_email("jobs-list"), session=False)
    ws, db, now = t.workspace_id, server, now_ms()
    ids = {
        "queued": insert_job(db, ws, run_at=now + HOUR),
        "running": insert_job(db, ws, status="running", attempts=1, locked_until=now + HOUR),
        "done": insert_job(db, ws, status="done", attempts=1),
        "failed": insert_job(db, ws, attempts=1, run_at=now + HOUR, last_error="it broke"),
        "dead": insert_job(db, ws, status="dead", attempts=5, last_error="gave up"),
    }
    data, meta = list_jobs(server, t)
    assert meta["total"] == 5 and len(data) == 5, (meta, data)
    assert [j["id"] for j in data] == [str(i) for i in sorted(ids.values(), reverse=True)]
    for j in data:
        assert set(j) == JOB_KEYS, j
        assert isinstance(j["id"], str) and j["id"].isdigit()
        assert j["kind"] == "no_such_kind"
        assert j["payload"] == {"to": "someone@example.test"}
        assert j["maxAttempts"] == 5
        assert j["runAt"].endswith("Z") and j["createdAt"].endswith("Z")
    for status, jid in ids.items():
        data, meta = list_jobs(server, t, status=status)
        assert [j["id"] for j in data] == [str(jid)], (status, data)
        assert data[0]["status"] == status and meta["total"] == 1
    assert job_of(server, t, ids["failed"])["lastError"] == "it broke"
    assert job_of(server, t, ids["queued"])["lastError"] is None
    data, meta = list_jobs(server, t, pageSize=2, page=2)
    assert len(data) == 2 and meta == {"total": 5, "page": 2, "pageSize": 2}


@pytest.mark.parametrize("params", [{"status": "finished"}, {"status": ""},
                                    {"status": "DEAD"}, {"pageSize": "0"}, {"page": "x"}])
def test_bad_query_is_400(server, a, params):
    r = api(server, "GET", "/api/jobs", a.token_creds, ws=a.workspace_id, params=params)
    assert_error(r, 400, "VALIDATION_ERROR")


def test_job_without_handler_is_retried_then_dead_then_retried_by_api(server, a):
    jid = insert_job(server, a.workspace_id, kind="no_such_kind", max_attempts=2)
    # Attempt 1 fails, attempt 2 follows after about a second of backoff, then it is dead.
    j = wait_job(server, a, jid, lambda j: j["status"] == "dead", what="the job to die")
    assert j["attempts"] == 2
    assert j["lastError"] == "no handler for kind no_such_kind in this process"
    assert j["finishedAt"] is not None
    retries = [r for r in server.logs("job.retry") if f"job {jid} " in r.get("msg", "")]
    assert retries, "no job.retry log line for the first failure"
    assert any(r.get("event") == "job.dead" and f"job {jid} " in r.get("msg", "")
               for r in server.logs())

    r = api(server, "POST", f"/api/jobs/{jid}/retry", a.session, ws=a.workspace_id)
    j = ok(r)
    assert j["id"] == str(jid) and j["status"] == "queued" and j["attempts"] == 0
    assert j["finishedAt"] is None
    # It runs again at once (the retry wakes the workers) and dies again.
    j = wait_job(server, a, jid, lambda j: j["status"] == "dead" and j["attempts"] == 2,
                 what="the retried job to die again")
    assert j["lastError"] == "no handler for kind no_such_kind in this process"


def test_failed_job_waiting_for_retry_can_be_retried_now(server, a):
    jid = insert_job(server, a.workspace_id, attempts=1, run_at=now_ms() + HOUR,
                     last_error="earlier failure")
    assert job_of(server, a, jid)["status"] == "failed"
    j = ok(api(server, "POST", f"/api/jobs/{jid}/retry", a.token_creds, ws=a.workspace_id))
    assert j["status"] == "queued" and j["attempts"] == 0
    wait_job(server, a, jid, lambda j: j["attempts"] >= 1, what="the job to run")


def test_discard(server, a):
    jid = insert_job(server, a.workspace_id, status="dead", attempts=5,
                     last_error="gave up")
    j = ok(api(server, "POST", f"/api/jobs/{jid}/discard", a.token_creds, ws=a.workspace_id))
    assert j["status"] == "done" and j["lastError"] == "discarded" and j["finishedAt"]
    assert job_of(server, a, jid)["status"] == "done"
    for action in ("discard", "retry"):
        r = api(server, "POST", f"/api/jobs/{jid}/{action}", a.token_creds, ws=a.workspace_id)
        assert_error(r, 409, "CONFLICT")


@pytest.mark.parametrize("status,extra", [
    ("queued", {"run_at_offset": HOUR}), ("running", {"locked_until_offset": HOUR}),
    ("done", {})])
def test_only_dead_or_failed_jobs_change(server, a, status, extra):
    now = now_ms()
    jid = insert_job(server, a.workspace_id, status=status,
                     attempts=0 if status == "queued" else 1,
                     run_at=now + extra.get("run_at_offset", 0),
                     locked_until=now + extra["locked_until_offset"]
                     if "locked_until_offset" in extra else None)
    for action in ("retry", "discard"):
        r = api(server, "POST", f"/api/jobs/{jid}/{action}", a.token_creds, ws=a.workspace_id)
        assert_error(r, 409, "CONFLICT")
    assert job_of(server, a, jid)["status"] == status


def test_another_workspace_job_is_404(server, a, b):
    jid = insert_job(server, a.workspace_id, status="dead", attempts=5,
                     last_error="secret alpha failure")
    for action in ("retry", "discard"):
        r = api(server, "POST", f"/api/jobs/{jid}/{action}", b.token_creds, ws=b.workspace_id)
        msg = assert_error(r, 404, "NOT_FOUND")
        for missing in (str(jid + 100000), "not-a-number", random_id(), "-1", "0"):
            ref = api(server, "POST", f"/api/jobs/{missing}/{action}", b.token_creds,
                      ws=b.workspace_id)
            assert assert_error(ref, 404, "NOT_FOUND") == msg
    data, _ = list_jobs(server, b)
    assert str(jid) not in {j["id"] for j in data}
    data, _ = list_jobs(server, b, status="dead")
    assert all("alpha" not in (j["lastError"] or "") for j in data)
    j = job_of(server, a, jid)
    assert j["status"] == "dead" and j["attempts"] == 5


def test_a_job_never_moves_to_another_workspace(server, a, b):
    """Refused by the database itself (a trigger on both backends), whoever
    asks: here the tests' own connection (PostgreSQL's superuser)."""
    jid = insert_job(server, a.workspace_id)
    con = db_connect(server)
    try:
        with pytest.raises(Exception) as exc:
            con.execute("UPDATE jobs SET workspace_id = ? WHERE id = ?", (b.workspace_id, jid))
        assert "stays in its workspace" in str(exc.value)
    finally:
        con.close()
    assert job_of(server, a, jid)["kind"] == "no_such_kind"


def test_viewer_may_list_but_not_change(server, a):
    v = add_user(server, unique_email("jobs-viewer"))
    add_member(server, v.user_id, a.org_id, "viewer")
    creds = type(a.token_creds)("token", token=insert_token(server, a.workspace_id, v.user_id))
    jid = insert_job(server, a.workspace_id, status="dead", attempts=5)
    data, _ = list_jobs(server, a, creds=creds)
    assert str(jid) in {j["id"] for j in data}
    for action in ("retry", "discard"):
        r = api(server, "POST", f"/api/jobs/{jid}/{action}", creds, ws=a.workspace_id)
        assert_error(r, 403, "FORBIDDEN")
    assert job_of(server, a, jid)["status"] == "dead"


def test_unauthenticated_is_401(server, a):
    r = api(server, "GET", "/api/jobs", ws=a.workspace_id)
    assert_error(r, 401, "UNAUTHORIZED")


# -- leadflow worker -------------------------------------------------------------


def migrated_db(launcher):
    """A work directory and a migrated database for `leadflow worker`: db.url
    to pass as --db, and db_connect(db) for setup and checks."""
    wd = launcher.workdir("worker")
    if PG:
        name, url = pg_cluster().migrated_db(launcher.bin)
        return wd, types.SimpleNamespace(url=url, pg_db=name, db_path=None)
    path = os.path.join(wd, "w.db")
    r = launcher.run("migrate", "--db", f"sqlite:{path}", cwd=wd)
    assert r.returncode == 0, r.stderr
    return wd, types.SimpleNamespace(url=f"sqlite:{path}", pg_db=None, db_path=path)


def query(db, sql, params=()):
    con = db_connect(db)
    try:
        return [tuple(r) for r in con.execute(sql, params).fetchall()]
    finally:
        con.close()


def test_worker_once_runs_due_jobs_and_exits(launcher):
    wd, db = migrated_db(launcher)
    due = insert_job(db, None, kind="nightly_cleanup", max_attempts=1)
    later = insert_job(db, None, kind="nightly_cleanup", run_at=now_ms() + HOUR)
    r = launcher.run("worker", "--once", "--db", db.url, cwd=wd)
    assert r.returncode == 0, r.stderr
    assert "ran 1 job" in r.stderr
    rows = dict((i, (s, e)) for i, s, e in query(db, "SELECT id, status, last_error FROM jobs"))
    assert rows[due] == ("dead", "no handler for kind nightly_cleanup in this process")
    assert rows[later] == ("queued", None)


def test_worker_runs_the_servers_job_kinds(launcher, tmp_path):
    """A draft job queued by an import (a contact crossing into hot) is run by
    `leadflow worker`, which registers the same handlers as serve."""
    import mailutil
    wd, db = migrated_db(launcher)
    r = launcher.run("user", "add", "owner@worker.test", "--db", db.url, cwd=wd)
    assert r.returncode == 0, r.stderr
    ws = query(db, "SELECT id FROM workspaces")[0][0]
    sig = "Robin Park\nChief Executive Officer\nBrightwater Logistics"
    msgs = [mailutil.message("robin@brightwater.example", body, subject=subj, name="Robin Park",
                             signature=sig, days_ago=d)
            for subj, body, d in [
                ("Demo?", "Can we schedule a demo this week? We are excited.", 0.1),
                ("Pricing", "What is your pricing for 100 seats? Love the product.", 1),
                ("Contract", "Please send the contract terms, thank you, great call.", 2),
                ("Pilot", "We are very happy to start a pilot soon. Thanks!", 3),
                ("Quote", "Could we meet Thursday to finalize the quote?", 4)]]
    box = tmp_path / "hot.mbox"
    box.write_bytes(mailutil.mbox(*msgs))
    r = launcher.run("import", "--workspace", ws, str(box), "--db", db.url, cwd=wd)
    assert r.returncode == 0, r.stderr
    r = launcher.run("worker", "--once", "--db", db.url, cwd=wd)
    assert r.returncode == 0, r.stderr
    jobs = query(db, "SELECT kind, status FROM jobs")
    drafts = query(db, "SELECT status, reason FROM generated_content")
    assert jobs == [("draft_content", "done")], jobs
    assert drafts == [("draft", "hot_lead")], drafts


def test_worker_usage(launcher):
    r = launcher.run("worker", "--help")
    assert r.returncode == 0 and "--once" in r.stdout
    r = launcher.run("worker", "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "--listen" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_runs_jobs_and_stops_on_signal(launcher, bin_path, sig):
    wd, db = migrated_db(launcher)
    proc = subprocess.Popen([bin_path, "worker", "--db", db.url], cwd=wd,
                            env=clean_env({"LEADFLOW_JOB_POLL_MS": "20",
                                           "LEADFLOW_WORKER_THREADS": "3"}),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        started = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and started is None:
            rec = parse_log_line(proc.stderr.readline())
            if rec and rec.get("event") == "jobs.started":
                started = rec
        assert started, "the worker did not start"
        jid = insert_job(db, None, kind="reindex", max_attempts=1)
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = query(db, "SELECT status FROM jobs WHERE id = ?", (jid,))[0][0]
            if status == "dead":
                break
            time.sleep(0.05)
        assert status == "dead", "the worker did not pick the job up on its poll"
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        rest = proc.stderr.read()
        assert "worker.stopped" in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finish_at(db, job_id, status, finished_at, last_error=None):
    con = db_connect(db)
    try:
        con.execute("UPDATE jobs SET status = ?, finished_at = ?, last_error = ? WHERE id = ?",
                    (status, finished_at, last_error, job_id))
        con.commit()
    finally:
        con.close()


def job_ids(db):
    return {i for (i,) in query(db, "SELECT id FROM jobs")}


def expired_jobs(db):
    """Done jobs on both sides of the default retention (7 days), a discarded
    one, and dead and failed ones that are old but must stay."""
    day = 24 * HOUR
    now = now_ms()
    old_done = insert_job(db, None, kind="k")
    finish_at(db, old_done, "done", now - 8 * day)
    recent_done = insert_job(db, None, kind="k")
    finish_at(db, recent_done, "done", now - 6 * day)
    old_discarded = insert_job(db, None, kind="k")
    finish_at(db, old_discarded, "done", now - 30 * day, "discarded")
    old_dead = insert_job(db, None, kind="k", status="dead", attempts=5)
    finish_at(db, old_dead, "dead", now - 30 * day)
    old_failed = insert_job(db, None, kind="k", status="failed", attempts=5)
    finish_at(db, old_failed, "failed", now - 30 * day)
    return {old_done, old_discarded}, {recent_done, old_dead, old_failed}


def test_worker_once_deletes_expired_done_jobs_only(launcher):
    wd, db = migrated_db(launcher)
    gone, kept = expired_jobs(db)
    r = launcher.run("worker", "--once", "--db", db.url, cwd=wd)
    assert r.returncode == 0, r.stderr
    assert "ran 0 jobs, deleted 2 expired" in r.stderr
    assert job_ids(db) == kept


def test_retention_zero_keeps_every_job(launcher):
    wd, db = migrated_db(launcher)
    gone, kept = expired_jobs(db)
    r = launcher.run("worker", "--once", "--db", db.url, cwd=wd,
                     env={"LEADFLOW_JOB_RETENTION_HOURS": "0"})
    assert r.returncode == 0, r.stderr
    assert job_ids(db) == gone | kept


def test_running_workers_delete_expired_jobs(launcher, bin_path):
    """Idle workers purge on their own; with a 24-hour retention the 6-day-old
    done job goes too, and only the dead and failed ones stay."""
    wd, db = migrated_db(launcher)
    expired_jobs(db)
    proc = subprocess.Popen([bin_path, "worker", "--db", db.url], cwd=wd,
                            env=clean_env({"LEADFLOW_JOB_POLL_MS": "20",
                                           "LEADFLOW_JOB_RETENTION_HOURS": "24"}),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(job_ids(db)) > 2:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    left = sorted(s for (s,) in query(db, "SELECT status FROM jobs"))
    assert left == ["dead", "failed"]
