"""kill -9 in the middle of 1,000 sends, with a provider that stalls.

1,000 emails are queued through POST /api/emails/send to a fake SendGrid of
which every 50th request waits beyond LEADFLOW_SEND_TIMEOUT_MS before it
takes the email and answers (so the worker gives up on it and retries). The
server is killed with SIGKILL once a third has arrived, and started again on
the same database. When the queue has drained, every email arrived at the
fake, under its own idempotency key, with the X-Message-Id the row records;
every sent_emails row is sent; and an email went out more than once only
where the outcome could not be known: a stalled request, or one of the sends
in flight at the kill (at most one per worker thread).
"""
import os
import sys
import threading
import time

import pytest

import tenantutil as tu
from tenantutil import api, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402

FROM = "Acme Sales <sales@acme.example>"
EMAILS = 1000
STALL_EVERY = 50
TIMEOUT_MS = 1000
WORKERS = 4


class StallingSendGrid(FakeSendGridAPI):
    """Every STALL_EVERY-th request waits 1.5 x the send timeout, then is taken."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.stalled_keys = set()
        self._stall_lock = threading.Lock()

    def handle(self, req):
        with self._stall_lock:
            self.seen += 1
            stall = self.seen % STALL_EVERY == 0
            if stall:
                self.stalled_keys.add(self.key_of(req))
        if stall:
            time.sleep(1.5 * TIMEOUT_MS / 1000)
        return super().handle(req)


def env_for(fake):
    return {"LEADFLOW_MAIL_FROM": FROM, "LEADFLOW_SEND_TIMEOUT_MS": str(TIMEOUT_MS),
            "LEADFLOW_JOB_LEASE_MS": str(6 * TIMEOUT_MS), "LEADFLOW_JOB_POLL_MS": "50",
            "LEADFLOW_WORKER_THREADS": str(WORKERS),
            "LEADFLOW_SENDGRID_API_KEY": fake.api_key, "LEADFLOW_SENDGRID_API_URL": fake.url}


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.1)


def test_kill_during_sends_delivers_each_email_once(launcher):
    fake = StallingSendGrid().start()
    try:
        a = launcher.start(env=env_for(fake))
        t = tu.new_tenant(a, session=False)
        csv = "Email,Name\n" + "".join(f"lead{i}@kill.example,Lead {i}\n" for i in range(EMAILS))
        ok(api(a, "POST", "/api/contacts/import", t.token_creds, ws=t.workspace_id,
               raw_body=csv.encode(), headers={"Content-Type": "text/csv"}, timeout=60))
        contacts = [r[0] for r in tu.db_query(
            a, "SELECT id FROM contacts WHERE workspace_id = ?", (t.workspace_id,))]
        assert len(contacts) == EMAILS
        ids = []
        for cid in contacts:
            r = ok(api(a, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id,
                       body={"contactId": cid, "subject": "Your pricing question",
                             "text": "Hello, the prices: https://acme.example/p"}), 202)
            ids.append(r["id"])
        assert len(set(ids)) == EMAILS

        wait_for("a third of the emails at the fake",
                 lambda: len(fake.delivered()) >= EMAILS // 3, 30)
        a.kill()
        a.returncode = -9  # killed on purpose: not a failure of stop_all
        at_kill = len(fake.delivered())
        assert at_kill < EMAILS, "every email went out before the kill"

        b = launcher.start(env=env_for(fake), db=a.db_ref)
        wait_for("the queue to drain", lambda: tu.db_query(
            b, "SELECT COUNT(*) FROM sent_emails WHERE status = 'sent'")[0][0] == EMAILS, 45)

        rows = {r[0]: (r[1], r[2]) for r in tu.db_query(
            b, "SELECT id, status, provider_message_id FROM sent_emails WHERE workspace_id = ?",
            (t.workspace_id,))}
        assert sorted(rows) == sorted(ids)
        assert {s for s, _ in rows.values()} == {"sent"}
        accepted = {k: v[0] for k, v in fake.accepted.items()}
        assert sorted(accepted) == sorted(ids), "an email did not arrive, or arrived unasked"
        for sid, (_, pmid) in rows.items():
            assert pmid == accepted[sid], f"{sid}: the row records {pmid}, the fake {accepted[sid]}"
        assert len(set(accepted.values())) == EMAILS
        again = {k for k, n in fake.received_keys.items() if n > 1}
        assert fake.stalled_keys, "no request stalled"
        unexplained = again - fake.stalled_keys
        assert len(unexplained) <= WORKERS, \
            f"{len(unexplained)} emails sent twice that neither stalled nor were in flight: " \
            f"{sorted(unexplained)[:5]}"
    finally:
        fake.stop()
