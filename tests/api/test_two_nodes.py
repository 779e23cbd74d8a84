"""Several nodes on one PostgreSQL database: two `leadflow serve` processes
and two `leadflow worker` processes share it (README, "PostgreSQL and several
nodes").

- A live event raised on one node reaches the dashboards connected to the
  other (LISTEN/NOTIFY), only in its workspace; an event raised by a job in a
  `leadflow worker` process (the content agent's draft_ready) reaches the
  servers' dashboards although the worker has none.
- A session made on one server is good on the other.
- 300 sends queued through both servers run exactly once across the four
  processes' workers (claims with FOR UPDATE SKIP LOCKED), and more than one
  process takes part.
- One server is killed with SIGKILL in the middle: when its leases run out
  the other processes finish its jobs; every email is delivered, a send that
  was in flight is repeated with the same idempotency key only.

PostgreSQL only: SQLite is one node.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tenantutil as tu
from conftest import clean_env, db_connect
from mailutil import contact_by_email, imported
from tenantutil import api, new_tenant, ok, unique_email
from test_ws import addr, hot_mbox, import_events, session_ws

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.resend_api import FakeResendAPI  # noqa: E402

SECRET = "two-nodes-secret-key-0123456789abcdef"
N_SENDS = 300


class Worker:
    """A `leadflow worker` process; its log goes to a file of the workdir."""

    def __init__(self, bin_path, db_url, env, workdir, name):
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([bin_path, "worker", "--db", db_url], cwd=workdir,
                                     env=clean_env(env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"the worker did not stop on SIGTERM:\n{self.text()}", pytrace=False)
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def workers():
    made = []

    def start(*args, **kw):
        w = Worker(*args, **kw)
        made.append(w)
        return w
    yield start
    codes = [(w, w.stop()) for w in made]
    bad = [f"exit {rc}:\n{w.text()}" for w, rc in codes if rc != 0]
    assert not bad, "\n".join(bad)


@pytest.fixture
def resend():
    with FakeResendAPI() as fake:
        yield fake


def base_env(**extra):
    env = {"LEADFLOW_SECRET_KEY": SECRET, "LEADFLOW_JOB_POLL_MS": "20",
           "LEADFLOW_MAIL_FROM": "Acme Sales <sales@acme.example>"}
    env.update(extra)
    return env


def wait_until(what, fn, timeout=60.0, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(every)


def test_events_cross_nodes_and_sessions_are_good_on_every_node(launcher, workers, bin_path):
    # Two API-only servers: every job (the content agent's draft) runs in the worker.
    # The upload directory every node shares (the upload on B is imported by the worker).
    shared = os.path.join(launcher.workdir("uploads"), "uploads")
    env = base_env(LEADFLOW_WORKER_THREADS="0", LEADFLOW_UPLOAD_DIR=shared)
    a = launcher.start(env=env)
    b = launcher.start(env=env, db=a.db_ref)
    workers(bin_path, a.db_url, base_env(LEADFLOW_UPLOAD_DIR=shared), a.workdir, "worker")
    t = new_tenant(a, unique_email("nodes"))  # signed in on A
    other = new_tenant(a, unique_email("others"))
    on_a, on_b = session_ws(a, t), session_ws(b, t)  # A's session cookie on B
    theirs = session_ws(a, other)
    r = api(b, "GET", "/api/auth/me", t.session)
    assert ok(r)["user"]["email"] == t.email

    who = addr("twonode")
    res = imported(b, t, hot_mbox(who, name="Robin Park"), content_type="application/mbox")
    assert res["imported"] == 5
    contact = contact_by_email(a, t, who)
    assert contact["score"] >= 80
    for ws in (on_a, on_b):  # raised on B: to B's own dashboards and through the database to A's
        processed, got = import_events(ws, 5)
        assert all(p["workspaceId"] == t.workspace_id for p in processed)
        hot = got["hot_lead"]
        assert hot["data"]["contactId"] == contact["id"] and hot["data"]["email"] == who
        # Drafted by the worker process, which has no dashboards of its own.
        draft = got["draft_ready"]
        assert draft["workspaceId"] == t.workspace_id
        assert draft["data"]["contactId"] == contact["id"] and draft["data"]["reason"] == "hot_lead"
    # The servers run no jobs: the draft was the worker's.
    wait_until("the draft job to finish", lambda: tu.db_query(
        a, "SELECT status FROM jobs WHERE kind = 'draft_content'") == [("done",)], timeout=10)

    # The other workspace's dashboard heard none of it: its next message answers its ping.
    theirs.send_text('{"type":"ping"}')
    assert theirs.recv() == {"type": "pong"}

    # A knows it received events from the others; the bus is connected.
    metrics = a.get("/metrics").text
    assert "leadflow_bus_connected 1" in metrics
    received = [line for line in metrics.splitlines()
                if line.startswith("leadflow_bus_events_received ")]
    assert received and float(received[0].split()[1]) >= 3, received
    for ws in (on_a, on_b, theirs):
        ws.close()


def notify_parts(ws, type_, data, chunk=7600):
    """The payloads another node's bus sends for one event (src/store/bus.h):
    "<k>/<n>\\t<part>", cut between UTF-8 characters."""
    text = f"{ws}\t{type_}\t{data}".encode()
    parts, off = [], 0
    while off < len(text):
        cut = min(chunk, len(text) - off)
        while off + cut < len(text) and text[off + cut] & 0xC0 == 0x80:
            cut -= 1
        parts.append(text[off:off + cut])
        off += cut
    return [f"{k}/{len(parts)}\t".encode() + p for k, p in enumerate(parts, 1)]


def test_an_event_larger_than_one_notification_arrives_whole(launcher):
    """An event past NOTIFY's 8000-byte payload limit comes in parts, sent in
    one transaction, and is put together; a malformed payload is ignored
    (logged) and the next event still arrives."""
    a = launcher.start(env=base_env())
    t = new_tenant(a, unique_email("big"))
    on_a = session_ws(a, t)
    title = ("Zoë Ångström €uro 😀 " * 1200)[:20000]
    data = json.dumps({"title": title, "n": 1}, ensure_ascii=False)
    parts = notify_parts(t.workspace_id, "alert", data)
    assert len(parts) >= 4 and all(len(p) < 8000 for p in parts)
    con = db_connect(a)
    with con:
        con.execute("SELECT pg_notify('leadflow_events', ?)", ("1/1\tnot an event",))
    with con:
        for p in parts:
            con.execute("SELECT pg_notify('leadflow_events', ?)", (p.decode(),))
    con.close()
    ev, _ = on_a.wait_for("alert")
    assert ev["workspaceId"] == t.workspace_id
    assert ev["data"] == {"title": title, "n": 1}
    a.wait_for_log(lambda r: r.get("event") == "bus.malformed", what="the malformed event logged")
    on_a.close()


def test_jobs_run_once_across_four_processes_and_a_killed_server_loses_nothing(
        launcher, workers, bin_path, resend):
    resend.latency = 0.01  # sends overlap, so every process has work in flight
    env = base_env(LEADFLOW_RESEND_API_KEY=resend.api_key, LEADFLOW_RESEND_API_URL=resend.url,
                   LEADFLOW_SEND_TIMEOUT_MS="5000", LEADFLOW_WORKER_THREADS="2")
    a = launcher.start(env=env)
    b = launcher.start(env=env, db=a.db_ref)
    for i in range(2):
        workers(bin_path, a.db_url, env, a.workdir, f"worker-{i}")
    t = new_tenant(a, unique_email("once"), session=False)
    contacts = [tu.create_contact(a, t, name=f"Person {i}") for i in range(20)]

    ids = []
    for i in range(N_SENDS):  # half through each server
        srv = a if i % 2 == 0 else b
        r = api(srv, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id,
                body={"contactId": contacts[i % 20]["id"], "subject": f"Note {i}",
                      "text": f"Hello {i}", "idempotencyKey": f"two-nodes-{i}"})
        ids.append(ok(r, 202)["id"])

    # Which processes hold running jobs, sampled while the sends go out.
    holders = set()

    def sample():
        for (who,) in tu.db_query(a, "SELECT DISTINCT locked_by FROM jobs"
                                     " WHERE status = 'running' AND locked_by IS NOT NULL"):
            holders.add(who)

    def sampled_enough():
        sample()
        return len(resend.delivered()) >= N_SENDS // 3
    wait_until("a third of the sends", sampled_enough, every=0.005)

    # B dies with jobs in flight.
    b.kill()
    b.returncode = -9  # killed on purpose
    # Its leases would run out after a minute; the test lets that time pass at once.
    tu.db_exec(a, "UPDATE jobs SET locked_until = 0 WHERE status = 'running' AND locked_by LIKE ?",
               (f"%:{b.proc.pid}",))

    def all_sent():
        sample()
        rows = dict(tu.db_query(a, "SELECT status, COUNT(*) FROM sent_emails GROUP BY status"))
        return rows.get("sent") == N_SENDS
    wait_until("every email sent", all_sent, timeout=120, every=0.02)

    assert len(holders) >= 3, f"only {holders} took jobs"
    # Delivered exactly once each; the provider saw a key twice only for a
    # send B had in flight when it died (at most one per worker thread).
    assert sorted(resend.delivered()) == sorted(ids)
    dupes = {k: n for k, n in resend.received_keys.items() if n != 1}
    assert len(dupes) <= 2 and all(n == 2 for n in dupes.values()), dupes
    jobs = dict(tu.db_query(a, "SELECT status, COUNT(*) FROM jobs WHERE kind = 'send_email'"
                               " GROUP BY status"))
    assert jobs == {"done": N_SENDS}, jobs
    # One attempt row per provider call that counted: never two successful ones for an email.
    twice = tu.db_query(a, "SELECT sent_email_id, COUNT(*) FROM send_attempts"
                           " WHERE outcome = 'sent' GROUP BY sent_email_id HAVING COUNT(*) > 1")
    assert len(twice) <= len(dupes), twice


def test_a_node_whose_listening_connection_drops_reconnects(launcher):
    """The database ends the bus's connection (a restart, a failover): the
    node logs it, connects again, and events flow both ways after that."""
    # Both nodes run jobs: an upload on one may be imported by the other.
    env = base_env(LEADFLOW_UPLOAD_DIR=os.path.join(launcher.workdir("uploads"), "uploads"))
    a = launcher.start(env=env)
    b = launcher.start(env=env, db=a.db_ref)
    t = new_tenant(a, unique_email("drop"))
    on_a, on_b = session_ws(a, t), session_ws(b, t)
    con = db_connect(a)
    with con:
        killed = con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE query = 'LISTEN leadflow_events'").fetchall()
    assert len(killed) == 2, killed  # one per server
    for srv in (a, b):
        srv.wait_for_log(lambda r: r.get("event") == "bus.disconnected", what="the drop logged")
        # (bus.connected is logged for a reconnection only)
        srv.wait_for_log(lambda r: r.get("event") == "bus.connected", timeout=10,
                         what="the reconnection logged")

    def listening():
        rows = con.execute("SELECT COUNT(*) FROM pg_stat_activity"
                           " WHERE query = 'LISTEN leadflow_events'").fetchall()
        con.commit()
        return rows[0][0] == 2
    wait_until("both nodes listening again", listening, timeout=15)
    con.close()
    for src, dst in ((b, on_a), (a, on_b)):
        who = addr("again")
        assert imported(src, t, hot_mbox(who), content_type="application/mbox")["imported"] == 5
        # dst may first hear the hot lead of the previous round (its own node's).
        hot, _ = dst.wait_for("hot_lead")
        if hot["data"]["email"] != who:
            hot, _ = dst.wait_for("hot_lead")
        assert hot["data"]["email"] == who
    on_a.close()
    on_b.close()
