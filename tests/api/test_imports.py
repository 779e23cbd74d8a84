"""Email uploads as jobs: POST /api/emails/import keeps the upload in a file
and answers 202 with an import_emails job; the job's progress is at
GET /api/jobs/{id} and is a live event; the server keeps answering and other
writers keep writing while a large upload is imported (short batches); a
malformed upload ends the job dead with its reason; the limit, the roles and
the workspaces hold; a killed server's import resumes where its last batch
committed, importing nothing twice; the upload's file goes when the job ends."""
import http.client
import os
import secrets
import subprocess
import sys
import threading
import time

import pytest

from conftest import PG
from mailutil import emails, mbox, message, upload, wait_job
from tenantutil import (
    Creds, add_member, add_user, api, assert_error, db_query, insert_token, new_tenant, ok,
    unique_email,
)
from test_ws import session_ws

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Messages of the generated mailbox: about 21 MB on SQLite, under the default
# upload limit; fewer on PostgreSQL, whose imports are slower (as long).
BIG = 3000 if PG else 11000


@pytest.fixture
def t(server):
    return new_tenant(server, unique_email("imports"))


@pytest.fixture(scope="module")
def big_mbox(tmp_path_factory):
    """A realistic mbox of BIG messages (scripts/gen_mailbox.py)."""
    out = tmp_path_factory.mktemp("mbox") / "big.mbox"
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_mailbox.py"),
                    "--count", str(BIG), "--seed", "11", "--out", str(out)],
                   check=True, capture_output=True)
    return out.read_bytes()


def addr(prefix="buyer"):
    return f"{prefix}-{secrets.token_hex(3)}@brightwater.example"


def uploads_left(server):
    """The files in the server's upload directory (its data directory's uploads/)."""
    return sorted(os.listdir(os.path.join(server.workdir, "uploads")))


def job_get(server, tenant, job_id, creds=None):
    return api(server, "GET", f"/api/jobs/{job_id}", creds or tenant.token_creds,
               ws=tenant.workspace_id)


def test_an_upload_answers_202_with_a_job_that_ends_done_with_the_counts(server, t):
    dup = message(addr("dana"), "Pricing for 20 seats?", message_id=f"dup-{secrets.token_hex(4)}@x")
    body = mbox(dup, message(addr("li"), "Can we meet on Thursday?"), dup,
                b"this line is no email at all\n", message(addr("sam"), "A question on SSO?"))
    r = upload(server, t, body, content_type="application/mbox")
    job = ok(r, 202)
    assert job["kind"] == "import_emails" and job["status"] in ("queued", "running", "done")
    assert r.header("Location") == f"/api/jobs/{job['id']}"
    assert job["payload"]["bytes"] == len(body)

    done = wait_job(server, t, job["id"])
    assert done["status"] == "done" and done["lastError"] is None, done
    p = done["progress"]
    assert (p["messages"], p["imported"], p["duplicates"], p["rejected"]) == (5, 3, 1, 1), p
    assert p["contactsCreated"] == 3
    assert p["bytesDone"] == p["bytesTotal"] == len(body)
    assert [x["origin"] for x in p["rejections"]] == ["upload#4"], p
    assert "not an email message" in p["rejections"][0]["reason"]
    _, meta = emails(server, t)
    assert meta["total"] == 3
    assert uploads_left(server) == [], "the upload's file outlived its job"


def test_progress_is_published_live_to_the_workspace(server, t):
    ws = session_ws(server, t)
    body = mbox(*(message(addr(), f"Question number {i} about the API?") for i in range(3)))
    job = ok(upload(server, t, body, content_type="application/mbox"), 202)
    events = []
    while not events or events[-1]["data"]["status"] == "running":
        m, _ = ws.wait_for("job_progress", timeout=30)
        events.append(m)
    ws.close()
    for e in events:
        assert e["workspaceId"] == t.workspace_id
        assert e["data"]["id"] == job["id"] and e["data"]["kind"] == "import_emails"
    assert events[0]["data"]["status"] == "running"  # the batch, as it committed
    last = events[-1]["data"]
    assert last["status"] == "done", events
    assert last["progress"]["imported"] == 3 and last["progress"]["bytesDone"] == len(body)


def test_healthz_and_other_writers_go_on_while_a_large_upload_is_imported(server, t, big_mbox):
    """While the job runs, /healthz answers and contacts are created: each
    write waits at most one short batch for the database, never the busy
    timeout (503)."""
    health, writes = [], []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            health.append(server.get("/healthz", timeout=10).status)

    th = threading.Thread(target=probe)
    th.start()
    try:
        job = ok(upload(server, t, big_mbox, content_type="application/mbox", timeout=60), 202)
        during = 0
        while True:
            j = ok(job_get(server, t, job["id"]))
            if j["status"] in ("done", "dead"):
                break
            r = api(server, "POST", "/api/contacts", t.token_creds, ws=t.workspace_id,
                    body={"email": addr("writer"), "name": "Concurrent Writer"})
            writes.append((r.status, r.text if r.status != 201 else ""))
            if j["status"] == "running":
                during += 1
    finally:
        stop.set()
        th.join()
    assert j["status"] == "done", j
    p = j["progress"]
    assert p["messages"] == BIG and p["imported"] + p["duplicates"] + p["rejected"] == BIG, p
    assert p["bytesDone"] == p["bytesTotal"] == len(big_mbox)
    assert during >= 1, "no write was made while the import ran"
    assert [w for w in writes if w[0] != 201] == [], writes
    assert health and set(health) == {200}, health
    assert uploads_left(server) == []


@pytest.mark.parametrize("body", [bytes(range(256)) * 64, b"hello, this is just text\n"])
def test_a_malformed_upload_ends_the_job_dead_with_the_reason(server, t, body):
    job = ok(upload(server, t, body, content_type="application/octet-stream"), 202)
    dead = wait_job(server, t, job["id"])
    assert dead["status"] == "dead", dead
    assert dead["attempts"] == 1, "retrying a malformed upload cannot help"
    assert "no email that could be read" in dead["lastError"], dead["lastError"]
    assert dead["progress"]["rejected"] == 1 and dead["progress"]["imported"] == 0
    assert uploads_left(server) == []


def chunked_upload(server, tenant, chunks):
    """POST /api/emails/import with Transfer-Encoding: chunked (no length known up front)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        c.request("POST", f"/api/emails/import?workspaceId={tenant.workspace_id}",
                  body=iter(chunks), encode_chunked=True,
                  headers={"Authorization": f"Bearer {tenant.token}",
                           "Content-Type": "application/mbox"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(launcher):
    srv = launcher.start(env={"LEADFLOW_MAX_UPLOAD_BYTES": "4096"})
    tt = new_tenant(srv, unique_email("big"), session=False)
    assert_error(upload(srv, tt, message(addr(), "x" * 8192)), 413, "PAYLOAD_TOO_LARGE")
    # Without a declared length: refused once the stream passes the limit.
    status, _ = chunked_upload(srv, tt, [message(addr(), "y" * 3000)] * 3)
    assert status == 413
    assert uploads_left(srv) == []
    # Under the limit, streamed in chunks, it is imported.
    status, _ = chunked_upload(srv, tt, [mbox(message(addr(), "fits"))])
    assert status == 202
    jobs = ok(api(srv, "GET", "/api/jobs", tt.token_creds, ws=tt.workspace_id))
    assert [j["kind"] for j in jobs] == ["import_emails"]
    assert wait_job(srv, tt, jobs[0]["id"])["progress"]["imported"] == 1


def test_a_viewer_cannot_upload(server, t):
    viewer = add_user(server, unique_email("viewer"))
    add_member(server, viewer.user_id, t.org_id, "viewer")
    creds = Creds("token", token=insert_token(server, t.workspace_id, viewer.user_id))
    assert_error(upload(server, t, message(addr(), "hi"), creds=creds), 403, "FORBIDDEN")
    assert ok(api(server, "GET", "/api/jobs", t.token_creds, ws=t.workspace_id)) == []
    assert uploads_left(server) == []


def test_another_workspace_cannot_read_the_job(server, t):
    job = ok(upload(server, t, message(addr(), "Mine only?")), 202)
    wait_job(server, t, job["id"])
    other = new_tenant(server, unique_email("other"), session=False)
    # Its own workspace has no such job; ours is not its to name.
    assert_error(job_get(server, other, job["id"]), 404, "NOT_FOUND")
    r = api(server, "GET", f"/api/jobs/{job['id']}", other.token_creds, ws=t.workspace_id)
    assert r.status in (403, 404), r.status
    assert ok(api(server, "GET", "/api/jobs", other.token_creds, ws=other.workspace_id)) == []
    for bad in ("0", "x1", "99999999999"):
        assert_error(job_get(server, t, bad), 404, "NOT_FOUND")


class Clock:
    """LEADFLOW_TEST_CLOCK_FILE: a simulated clock the test moves forward."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.advance(0)

    def advance(self, ms):
        self.offset += ms
        with open(self.path + ".tmp", "w") as f:
            f.write(str(self.offset))
        os.replace(self.path + ".tmp", self.path)


def test_a_killed_servers_import_resumes_without_importing_twice(launcher, big_mbox):
    wd = launcher.workdir("resume")
    clock = Clock(os.path.join(wd, "clock"))
    env = {"LEADFLOW_TEST_CLOCK_FILE": clock.path, "LEADFLOW_JOB_POLL_MS": "20"}
    srv = launcher.start(env=env, workdir=wd)
    tt = new_tenant(srv, unique_email("resume"), session=False)
    job = ok(upload(srv, tt, big_mbox, content_type="application/mbox", timeout=60), 202)
    deadline = time.monotonic() + 60
    while True:  # kill once a batch has committed, well before the end
        j = ok(job_get(srv, tt, job["id"]))
        if j["progress"] and j["progress"]["messages"] > 0:
            break
        assert j["status"] in ("queued", "running"), j
        assert time.monotonic() < deadline, j
        time.sleep(0.005)
    srv.kill()
    srv.returncode = -9  # killed on purpose
    before = db_query(srv, "SELECT CAST(progress AS TEXT) FROM jobs WHERE id = ?",
                      (int(job["id"]),))[0][0]
    assert '"messages"' in before and f'"messages":{BIG},' not in before, before

    srv = launcher.start(env=env, workdir=wd, db=srv.db_ref)
    clock.advance(2 * 60 * 1000)  # the killed process's lease runs out
    done = wait_job(srv, tt, job["id"], timeout=120)
    assert done["status"] == "done" and done["attempts"] == 2, done
    p = done["progress"]
    assert p["messages"] == BIG, p  # every message counted once: none skipped, none twice
    stored = db_query(srv, "SELECT COUNT(*) FROM emails WHERE workspace_id = ?",
                      (tt.workspace_id,))[0][0]
    assert p["imported"] == stored, (p, stored)  # what the first run stored is not counted again
    assert p["imported"] + p["duplicates"] + p["rejected"] == BIG, p
    assert srv.logs("upload.resumed"), "the second attempt did not resume"
    assert uploads_left(srv) == []
