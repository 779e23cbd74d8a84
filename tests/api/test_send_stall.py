"""A slow SMTP server never makes an email go out twice. Two servers share
one database (each with its job workers) and a short job lease; the SMTP
server stalls on the greeting, on the final reply to DATA, or on QUIT. In
each case the message reaches the server exactly once (counted by
Message-ID), and the send_email job ends done: at once, or after a retry
when the stalled attempt ran out of time before the message was handed
over. Every network wait of a send is bounded by LEADFLOW_SEND_TIMEOUT_MS,
which must be at most a sixth of LEADFLOW_JOB_LEASE_MS.
"""
import os
import sys
import time

import pytest

import tenantutil as tu
from tenantutil import api, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.slow_smtp import SlowSmtp  # noqa: E402

FROM = "Acme Sales <sales@acme.example>"
TIMEOUT_MS = 1000
LEASE_MS = 6000


def env_for(smtp):
    return {"LEADFLOW_MAIL_FROM": FROM, "LEADFLOW_SMTP_URL": smtp.url,
            "LEADFLOW_SEND_ORDER": "smtp", "LEADFLOW_SEND_TIMEOUT_MS": str(TIMEOUT_MS),
            "LEADFLOW_JOB_LEASE_MS": str(LEASE_MS), "LEADFLOW_JOB_POLL_MS": "50"}


def send_job(srv):
    rows = tu.db_query(srv, "SELECT status, attempts FROM jobs WHERE kind = 'send_email'")
    assert len(rows) == 1, rows
    return tuple(rows[0])


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def send_through(launcher, smtp):
    """Two servers on one database; one email sent; returns (server, start time)."""
    a = launcher.start(env=env_for(smtp))
    launcher.start(env=env_for(smtp), db=a.db_ref)
    t = tu.new_tenant(a, session=False)
    c = tu.create_contact(a, t, name="Ana Müller")
    t0 = time.monotonic()
    ok(api(a, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id,
           body={"contactId": c["id"], "subject": "Hello", "text": "Hello there"}), 202)
    return a, t0


@pytest.mark.parametrize("stall,attempts", [("greeting", 2), ("data", 2), ("quit", 1)])
def test_slow_smtp_sends_once(launcher, stall, attempts):
    with SlowSmtp(stall=stall, stall_s=30.0, stall_first=True) as smtp:
        srv, t0 = send_through(launcher, smtp)
        wait_for("the job to end", lambda: send_job(srv)[0] not in ("queued", "running",
                                                                        "failed"), 25)
        took = time.monotonic() - t0
        assert send_job(srv) == ("done", attempts)
        # A stall never held the job near its lease: every wait is bounded.
        if stall == "quit":
            assert took < LEASE_MS / 1000, took
        # Past another lease, nobody took the job over and sent it again.
        time.sleep(LEASE_MS / 1000 + 1)
        assert len(smtp.message_ids) == 1, smtp.message_ids
        assert smtp.message_ids[0]
        assert send_job(srv) == ("done", attempts)


def test_send_timeout_must_stay_below_the_lease(run_cli):
    r = run_cli("serve", "--listen", "127.0.0.1:0",
                env={"LEADFLOW_SEND_TIMEOUT_MS": "2000", "LEADFLOW_JOB_LEASE_MS": "6000"})
    assert r.returncode != 0
    err = r.stderr
    assert "send_timeout_ms" in err and "job_lease_ms" in err, err
    assert "LEADFLOW_SEND_TIMEOUT_MS" in err and "LEADFLOW_JOB_LEASE_MS" in err, err
