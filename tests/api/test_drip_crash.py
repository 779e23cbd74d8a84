"""Drip campaigns survive a crash: the server is killed with SIGKILL in the
middle of a campaign run (200 enrollments through email, wait, condition,
tag, score and email steps), started again on the same database, and left
to finish. Every enrollment must end exactly as in a run that was not
interrupted, every step must have run once per enrollment, and the provider
(the fake SendGrid API) must have received one message per email step.

Both runs use a simulated clock (LEADFLOW_TEST_CLOCK_FILE): the hour-long
wait passes by moving it, and so do the leases of the jobs the killed
process held (JOB_LEASE_MS).
"""
import collections
import json
import os
import sys
import time

import pytest

import tenantutil as tu
from conftest import Launcher
from tenantutil import api, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402

N = 200
SECRET = "drip-crash-secret-key-0123456789abcdef"
HOUR = 3600 * 1000
BODY = "Hi {{first_name}},\n\nNews for {{company}}.\n\nStop these: {{unsubscribe_url}}"
STEPS = [
    {"type": "email", "config": {"subject": "Hello {{first_name}}", "body": BODY}},
    {"type": "wait", "config": {"duration_ms": HOUR}},
    {"type": "condition", "config": {"kind": "has_tag", "value": "vip"}, "true": 3, "false": 4},
    {"type": "tag", "config": {"add": ["gold"], "remove": ["vip"]}, "next": 5},
    {"type": "tag", "config": {"add": ["silver"]}, "next": 5},
    {"type": "score", "config": {"delta": 7}},
    {"type": "email", "config": {"subject": "Next for {{first_name}}", "body": BODY}},
]
LOGS_PER_ENROLLMENT = 6  # email, wait, condition, one tag, score, email


class Clock:
    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.advance(0)

    def advance(self, ms):
        self.offset += ms
        with open(self.path + ".tmp", "w") as f:
            f.write(str(self.offset))
        os.replace(self.path + ".tmp", self.path)


def wait_for(what, fn, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.02)


def count(srv, sql, params=()):
    return tu.db_query(srv, sql, params)[0][0]


def n_logs(srv):
    return count(srv, "SELECT COUNT(*) FROM campaign_execution_logs")


def settled(srv):
    """Every enrollment finished and no job left to run (sends included)."""
    return (count(srv, "SELECT COUNT(*) FROM campaign_enrollments WHERE status = 'active'") == 0
            and count(srv, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued','running')") == 0)


class Run:
    """One campaign run on its own server, database, clock and provider."""

    def __init__(self, bin_path, tmp_path_factory, web_dir, name):
        self.lx = Launcher(bin_path, tmp_path_factory, web_dir)
        self.workdir = self.lx.workdir(name)
        self.clock = Clock(os.path.join(self.workdir, "clock"))
        self.sendgrid = FakeSendGridAPI().__enter__()
        self.env = {"LEADFLOW_SECRET_KEY": SECRET,
                    "LEADFLOW_MAIL_FROM": "Acme <sales@acme.example>",
                    "LEADFLOW_SENDGRID_API_KEY": self.sendgrid.api_key,
                    "LEADFLOW_SENDGRID_API_URL": self.sendgrid.url,
                    "LEADFLOW_SEND_TIMEOUT_MS": "5000", "LEADFLOW_JOB_POLL_MS": "20",
                    "LEADFLOW_TEST_CLOCK_FILE": self.clock.path}
        self.kills = 0
        self.srv = self.start()

    def start(self, db=None):
        return self.lx.start(env=self.env, workdir=self.workdir, db=db)

    def kill_and_restart(self, when):
        """SIGKILL once `when()` holds (polled), then a new server on the same database."""
        wait_for("the moment to kill", when)
        self.srv.kill()
        self.srv.returncode = -9  # killed on purpose: not a failure of stop_all
        self.kills += 1
        self.srv = self.start(db=self.srv.db_ref)  # the same database (SQLite or PostgreSQL)
        # The dead process's leases run out on the simulated clock.
        self.clock.advance(2 * 60 * 1000)

    def close(self):
        failures = self.lx.stop_all()
        self.sendgrid.__exit__(None, None, None)
        assert not failures, "\n".join(failures)

    def go(self, crash):
        srv = self.srv
        t = tu.new_tenant(srv, session=False)
        self.t = t
        ids = []
        for i in range(N):
            body = {"email": f"c{i:03d}@crash.example", "name": f"Contact {i:03d}",
                    "company": f"Co {i % 7}", "tags": ["vip"] if i % 3 == 0 else []}
            ids.append(ok(api(srv, "POST", "/api/contacts", t.token_creds, ws=t.workspace_id,
                              body=body), 201)["id"])
        c = ok(api(srv, "POST", "/api/campaigns", t.token_creds, ws=t.workspace_id,
                   body={"name": "Crash course"}), 201)
        ok(api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
               body={"steps": STEPS}))
        ok(api(srv, "POST", f"/api/campaigns/{c['id']}/activate", t.token_creds,
               ws=t.workspace_id))
        res = ok(api(srv, "POST", f"/api/campaigns/{c['id']}/enroll", t.token_creds,
                     ws=t.workspace_id, body={"contactIds": ids}))
        assert len(res["enrolled"]) == N
        if crash:  # while the first emails are queued and sent
            self.kill_and_restart(lambda: n_logs(self.srv) >= N // 4)
        else:
            self.clock.advance(2 * 60 * 1000)
        wait_for("the first emails", lambda: n_logs(self.srv) >= N)
        self.clock.advance(HOUR + 60 * 1000)  # the waits come due
        if crash:  # in the middle of waits, conditions, tags, scores and second emails
            self.kill_and_restart(lambda: n_logs(self.srv) >= N + N * 2)
            self.kill_and_restart(lambda: n_logs(self.srv) >= N + N * 4)
        else:
            self.clock.advance(2 * 2 * 60 * 1000)
        wait_for("every enrollment to end", lambda: settled(self.srv), timeout=120)
        return self.outcome()

    def outcome(self):
        """Everything that must not depend on a crash, by contact name."""
        srv = self.srv
        out = {}
        for name, status, reason, tags, points, score in tu.db_query(
                srv, "SELECT c.name, e.status, e.reason, CAST(c.tags AS TEXT), c.score_campaign,"
                     " c.ai_score"
                     " FROM campaign_enrollments e JOIN contacts c ON c.id = e.contact_id"):
            out[name] = {"status": status, "reason": reason, "tags": sorted(eval_json(tags)),
                         "points": points, "score": score, "steps": [], "emails": []}
        for name, pos, status in tu.db_query(
                srv, "SELECT c.name, s.position, l.status FROM campaign_execution_logs l"
                     " JOIN campaign_enrollments e ON e.id = l.enrollment_id"
                     " JOIN contacts c ON c.id = e.contact_id"
                     " JOIN campaign_steps s ON s.id = l.step_id ORDER BY l.id"):
            out[name]["steps"].append((pos, status))
        for name, subject, status in tu.db_query(
                srv, "SELECT c.name, m.subject, m.status FROM sent_emails m"
                     " JOIN contacts c ON c.id = m.contact_id ORDER BY m.subject"):
            out[name]["emails"].append((subject, status))
        return out


def eval_json(text):
    return json.loads(text or "[]")


@pytest.fixture
def runs(bin_path, tmp_path_factory, web_dir):
    made = []

    def make(name):
        r = Run(bin_path, tmp_path_factory, web_dir, name)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def test_sigkill_during_a_campaign_run_changes_nothing(runs):
    clean = runs("clean").go(crash=False)
    crashed_run = runs("crashed")
    crashed = crashed_run.go(crash=True)
    assert crashed_run.kills == 3

    assert len(clean) == N and set(crashed) == set(clean)
    for name in sorted(clean):
        assert crashed[name] == clean[name], name
    # The walks themselves: every step once, both branches taken.
    for name, o in clean.items():
        assert o["status"] == "completed"
        assert [s for s, _ in o["steps"]] == [0, 1, 2, 3 if int(name[-3:]) % 3 == 0 else 4, 5, 6]
        assert o["points"] == 7
        assert o["emails"] == [("Hello " + name.split()[0], "sent"),
                               ("Next for " + name.split()[0], "sent")]

    # The provider: one accepted message per email step, none twice. A send
    # cut off between the provider's answer and the commit would be repeated
    # with the same idempotency key (which providers dedupe), never as a
    # second message: every request for an (address, subject) carries one key.
    for run_ in (crashed_run,):
        delivered = run_.sendgrid.delivered()
        assert len(delivered) == 2 * N
        subjects = collections.Counter(
            (j["personalizations"][0]["to"][0]["email"], j["subject"])
            for j in delivered.values())
        assert len(subjects) == 2 * N and set(subjects.values()) == {1}
        rows = tu.db_query(run_.srv, "SELECT COUNT(*), COUNT(DISTINCT idempotency_key)"
                                     " FROM sent_emails")
        assert rows[0] == (2 * N, 2 * N)
        keys_of = collections.defaultdict(set)
        for r in run_.sendgrid.recorded():
            j = r.json or {}
            to = j["personalizations"][0]["to"][0]["email"]
            keys_of[(to, j["subject"])].add((j.get("custom_args") or {}).get("idempotency_key"))
        assert len(keys_of) == 2 * N
        assert all(len(k) == 1 for k in keys_of.values())
