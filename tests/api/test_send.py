"""Sending email end to end: the real server, its job workers, and fake
providers (SendGrid and Resend over HTTP, an aiosmtpd SMTP sink).

Covers the provider chain (fall through on 5xx and refused connections, stop
on a permanent 4xx, every attempt recorded), retries with backoff until a
provider recovers, the built message (multipart/alternative, encoded headers,
List-Unsubscribe one-click), unsubscribed contacts, idempotency keys, and a
SIGKILL in the middle of 50 sends: after a restart each email is delivered
exactly once.
"""
import email
import email.policy
import os
import re
import subprocess
import sys
import time

import pytest

import tenantutil as tu
from conftest import clean_env
from tenantutil import api, assert_error, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.resend_api import FakeResendAPI  # noqa: E402
from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402
from fakes.smtp_sink import SmtpSink  # noqa: E402

FROM = "Acme Sales <sales@acme.example>"


@pytest.fixture
def sendgrid():
    with FakeSendGridAPI() as f:
        yield f


@pytest.fixture
def resend():
    with FakeResendAPI() as f:
        yield f


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def env_for(sendgrid=None, resend=None, sink=None, order=None, **extra):
    env = {"LEADFLOW_MAIL_FROM": FROM, "LEADFLOW_SEND_TIMEOUT_MS": "1000",
           "LEADFLOW_JOB_POLL_MS": "50"}
    if sendgrid:
        env.update(LEADFLOW_SENDGRID_API_KEY=sendgrid.api_key, LEADFLOW_SENDGRID_API_URL=sendgrid.url)
    if resend:
        env.update(LEADFLOW_RESEND_API_KEY=resend.api_key, LEADFLOW_RESEND_API_URL=resend.url)
    if sink:
        env.update(LEADFLOW_SMTP_URL=sink.url)
    if order:
        env["LEADFLOW_SEND_ORDER"] = order
    env.update(extra)
    return env


def setup_tenant(srv, name="Ana Müller"):
    t = tu.new_tenant(srv, session=False)
    c = tu.create_contact(srv, t, name=name)
    return t, c


def send(srv, t, contact, key=None, subject="Grüße from Acme", text="Hello, see https://acme.example/p",
         html="<p>Hello, see <a href=\"https://acme.example/p\">prices</a></p>", status=202):
    body = {"contactId": contact["id"], "subject": subject, "text": text}
    if html is not None:
        body["html"] = html
    if key is not None:
        body["idempotencyKey"] = key
    r = api(srv, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id, body=body)
    if status != 202:
        return r
    return ok(r, 202)


def sent_email(srv, t, sid):
    return ok(api(srv, "GET", f"/api/emails/sent/{sid}", t.token_creds, ws=t.workspace_id))


def wait_status(srv, t, sid, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        row = sent_email(srv, t, sid)
        if row["status"] in want:
            return row
        if time.monotonic() > deadline:
            pytest.fail(f"email {sid} is {row['status']}, not {want}: {row}\n{srv.stderr_text}",
                        pytrace=False)
        time.sleep(0.05)


def test_send_through_sendgrid(launcher, sendgrid, resend):
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    q = send(srv, t, c)
    assert q["status"] == "queued" and q["created"] is True
    row = wait_status(srv, t, q["id"], {"sent"})
    assert row["provider"] == "sendgrid"
    assert row["providerMessageId"].startswith("sendgrid-msg-")
    assert row["sentAt"] and row["to"] == c["email"] and row["from"] == "sales@acme.example"
    assert [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]] == \
        [("sendgrid", "sent", 202)]
    assert resend.recorded() == []

    (req,) = [r for r in sendgrid.recorded() if r.status == 202]
    j = req.json
    assert req.headers["authorization"] == f"Bearer {sendgrid.api_key}"
    assert j["personalizations"][0]["to"] == [{"email": c["email"], "name": "Ana Müller"}]
    assert j["from"] == {"email": "sales@acme.example", "name": "Acme Sales"}
    assert j["subject"] == "Grüße from Acme"
    assert [p["type"] for p in j["content"]] == ["text/plain", "text/html"]
    assert j["headers"]["List-Unsubscribe"].startswith("<http")
    assert j["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert j["custom_args"]["idempotency_key"] == q["id"]
    # Tracking was applied: links rewritten, an unsubscribe URL in the header.
    html = j["content"][1]["value"]
    assert "https://acme.example/p\"" not in html, html

    listed = ok(api(srv, "GET", "/api/emails/sent", t.token_creds, ws=t.workspace_id,
                    params={"status": "sent"}))
    assert [e["id"] for e in listed] == [q["id"]]
    assert ok(api(srv, "GET", "/api/emails/sent", t.token_creds, ws=t.workspace_id,
                  params={"status": "queued"})) == []


def test_sendgrid_500_falls_to_resend(launcher, sendgrid, resend):
    sendgrid.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    q = send(srv, t, c)
    row = wait_status(srv, t, q["id"], {"sent"})
    assert row["provider"] == "resend"
    assert [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]] == \
        [("sendgrid", "temporary", 500), ("resend", "sent", 200)]
    assert "500" in row["attempts"][0]["error"]
    (req,) = resend.recorded()
    assert req.headers["idempotency-key"] == q["id"]
    assert req.json["from"] == "Acme Sales <sales@acme.example>"
    assert req.json["to"] == [f"Ana Müller <{c['email']}>"]
    assert req.json["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_refused_connection_and_timeout_fall_through(launcher, sendgrid, resend):
    sendgrid.set_mode("down")
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    assert [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]] == \
        [("sendgrid", "temporary", None), ("resend", "sent", 200)]
    sendgrid.set_mode("timeout")
    sendgrid.slow_seconds = 2.0
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    assert [(a["provider"], a["outcome"]) for a in row["attempts"]] == \
        [("sendgrid", "temporary"), ("resend", "sent")]
    assert "time" in row["attempts"][0]["error"].lower()


def test_sendgrid_400_is_permanent(launcher, sendgrid, resend):
    sendgrid.set_mode("permanent")
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"refused"})
    assert [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]] == \
        [("sendgrid", "permanent", 400)]
    assert "not valid" in row["error"]
    assert resend.recorded() == []
    time.sleep(0.5)  # and it is not retried
    assert len(sent_email(srv, t, row["id"])["attempts"]) == 1


def test_all_down_retried_until_recovery(launcher, sendgrid, resend):
    sendgrid.set_mode("429")
    resend.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    sid = send(srv, t, c)["id"]
    srv.wait_for_log(lambda r: r.get("event") == "job.retry", timeout=10, what="a job retry")
    row = sent_email(srv, t, sid)
    assert row["status"] == "queued" and "500" in row["error"]
    assert [(a["provider"], a["status"]) for a in row["attempts"]][:2] == \
        [("sendgrid", 429), ("resend", 500)]
    resend.set_mode("ok")
    row = wait_status(srv, t, sid, {"sent"}, timeout=20)
    assert row["provider"] == "resend"
    assert len(row["attempts"]) >= 4 and row["attempts"][-1]["outcome"] == "sent"
    assert list(resend.delivered()) == [sid]
    # The job that succeeded on a retry no longer shows the old error.
    deadline = time.monotonic() + 10
    while tu.db_query(srv, "SELECT status, last_error FROM jobs WHERE kind = 'send_email'") != \
            [("done", None)]:
        assert time.monotonic() < deadline, tu.db_query(srv, "SELECT status, last_error FROM jobs")
        time.sleep(0.05)


def test_smtp_message(launcher, sink):
    srv = launcher.start(env=env_for(sink=sink))
    t, c = setup_tenant(srv)
    sid = send(srv, t, c, subject="Grüße: prices\tinside")["id"]
    row = wait_status(srv, t, sid, {"sent"})
    assert row["provider"] == "smtp"
    assert row["attempts"][0]["status"] == 250
    (mail_from, rcpts, raw) = sink.messages[0]
    assert mail_from == "sales@acme.example" and rcpts == [c["email"]]
    assert b"\r\n" in raw and b"Gr\xc3\xbc\xc3\x9fe" not in raw.split(b"\r\n\r\n")[0]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["Subject"]) == "Grüße: prices\tinside"
    assert msg["From"].addresses[0].addr_spec == "sales@acme.example"
    assert msg["To"].addresses[0].display_name == "Ana Müller"
    assert msg["Message-ID"] == f"<{row['messageId']}>"
    assert msg["Date"]
    assert msg["List-Unsubscribe"].startswith("<http") and msg["List-Unsubscribe"].endswith(">")
    # Written as the literal <URL> on one line (RFC 2369), not RFC 2047-encoded.
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    (line,) = [h for h in head.split("\r\n") if h.lower().startswith("list-unsubscribe:")]
    assert re.fullmatch(r"List-Unsubscribe: <https?://[^\s<>]+/u/[A-Za-z0-9_-]+>", line), line
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "Hello" in msg.get_body(("plain",)).get_content()


def test_smtp_5xx_refused_4xx_retried(launcher, sink):
    srv = launcher.start(env=env_for(sink=sink))
    t, c = setup_tenant(srv)
    sink.reject_rcpt = "550"
    row = wait_status(srv, t, send(srv, t, c)["id"], {"refused"})
    assert row["attempts"][0]["status"] == 550
    sink.reject_rcpt = "450"
    # Another contact: the refused address is on the suppression list now.
    sid = send(srv, t, tu.create_contact(srv, t, name="Bea"))["id"]
    srv.wait_for_log(lambda r: r.get("event") == "job.retry", timeout=10, what="a job retry")
    assert sent_email(srv, t, sid)["attempts"][0]["status"] == 450
    sink.reject_rcpt = None
    wait_status(srv, t, sid, {"sent"}, timeout=20)
    assert len(sink.messages) == 1


def test_header_injection_refused(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    r = send(srv, t, c, subject="Hi\r\nBcc: victim@example.net", status=400)
    assert_error(r, 400, "VALIDATION_ERROR", "line break")
    assert sendgrid.recorded() == []


def test_unsubscribed_contact_refused(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    # Queued before the unsubscribe: refused when the job runs.
    tu.db_exec(srv, "UPDATE contacts SET unsubscribed_at = ? WHERE id = ?", (tu.now_ms(), c["id"]))
    r = send(srv, t, c, status=403)
    assert_error(r, 403, "FORBIDDEN", "unsubscribed")
    assert ok(api(srv, "GET", "/api/emails/sent", t.token_creds, ws=t.workspace_id)) == []
    assert sendgrid.recorded() == []


def test_unsubscribed_after_queueing_is_refused(launcher):
    srv = launcher.start(env=env_for())  # no provider: the job waits
    t, c = setup_tenant(srv)
    sid = send(srv, t, c)["id"]
    tu.db_exec(srv, "UPDATE contacts SET unsubscribed_at = ? WHERE id = ?", (tu.now_ms(), c["id"]))
    row = wait_status(srv, t, sid, {"refused"}, timeout=20)
    assert "unsubscribed" in row["error"]


def test_same_idempotency_key_sends_once(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    a = send(srv, t, c, key="welcome-1")
    b = send(srv, t, c, key="welcome-1")
    assert a["created"] is True and b["created"] is False and a["id"] == b["id"]
    wait_status(srv, t, a["id"], {"sent"})
    c2 = send(srv, t, c, key="welcome-1")
    assert c2 == {"id": a["id"], "status": "sent", "created": False}
    time.sleep(0.3)
    assert len(sendgrid.delivered()) == 1 and len(sendgrid.recorded()) == 1
    # Another workspace may use the same key for its own email.
    t2, c3 = setup_tenant(srv)
    d = send(srv, t2, c3, key="welcome-1")
    assert d["created"] is True and d["id"] != a["id"]
    wait_status(srv, t2, d["id"], {"sent"})
    assert len(sendgrid.delivered()) == 2


def test_validation_and_not_found(launcher):
    srv = launcher.start(env=env_for())
    t, c = setup_tenant(srv)
    assert_error(api(srv, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id,
                     body={"contactId": c["id"], "text": "x"}), 400, "VALIDATION_ERROR", "subject")
    assert_error(api(srv, "POST", "/api/emails/send", t.token_creds, ws=t.workspace_id,
                     body={"contactId": tu.random_id(), "subject": "s", "text": "x"}),
                 404, "NOT_FOUND")
    assert_error(api(srv, "GET", f"/api/emails/sent/{tu.random_id()}", t.token_creds,
                     ws=t.workspace_id), 404, "NOT_FOUND")
    assert_error(api(srv, "GET", "/api/emails/sent", t.token_creds, ws=t.workspace_id,
                     params={"status": "bogus"}), 400, "VALIDATION_ERROR")


def test_sigkill_mid_way_sends_each_once(launcher, resend):
    env = env_for(resend=resend, LEADFLOW_WORKER_THREADS="2")
    srv = launcher.start(env=env)
    t, c = setup_tenant(srv)
    contacts = [c] + [tu.create_contact(srv, t) for _ in range(9)]
    ids = [send(srv, t, contacts[i % 10], key=f"bulk-{i}")["id"] for i in range(50)]
    deadline = time.monotonic() + 10
    while len(resend.delivered()) < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    srv.kill()  # SIGKILL, mid-way
    srv.returncode = srv.proc.returncode  # stopped by the test
    assert 0 < len(resend.delivered()) < 50, "the kill came too late to test anything"
    # A killed worker's job is claimed again when its lease runs out (a minute);
    # the test lets that time pass at once.
    tu.db_exec(srv, "UPDATE jobs SET locked_until = 0 WHERE status = 'running'")
    srv2 = launcher.start(env=env, workdir=srv.workdir, db=srv.db_ref)
    deadline = time.monotonic() + 60
    while True:
        rows = tu.db_query(srv2, "SELECT status, COUNT(*) FROM sent_emails GROUP BY status")
        if dict(rows).get("sent") == 50:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"not all sent: {rows}\n{srv2.stderr_text}", pytrace=False)
        time.sleep(0.1)
    # Delivered exactly once each. A request in flight when the process died
    # (at most one per worker) is sent again with the same idempotency key,
    # which the provider answers without sending again.
    assert sorted(resend.delivered()) == sorted(ids)
    dupes = {k: n for k, n in resend.received_keys.items() if n != 1}
    assert len(dupes) <= 2 and all(n == 2 for n in dupes.values()), dupes
    assert len(resend.recorded()) == 50 + len(dupes)
    jobs = tu.db_query(srv2, "SELECT status, COUNT(*) FROM jobs WHERE kind = 'send_email'"
                             " GROUP BY status")
    assert dict(jobs).get("dead", 0) == 0, jobs


def test_an_approved_draft_goes_through_the_chain(launcher, sendgrid, resend):
    """The review queue's send: a draft for a contact, approved, sent; the draft
    shows the provider that delivered it."""
    sendgrid.set_mode("500")  # the first provider fails: the draft still goes out
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    r = api(srv, "POST", "/api/content/generate", t.token_creds, ws=t.workspace_id,
            body={"target": "contacts", "contactIds": [c["id"]]})
    (draft,) = ok(r, 201)["drafts"]
    path = f"/api/content/{draft['id']}"
    assert draft["delivery"] is None
    ok(api(srv, "POST", path + "/approve", t.token_creds, ws=t.workspace_id))
    sent = ok(api(srv, "POST", path + "/send", t.token_creds, ws=t.workspace_id))
    assert sent["status"] == "sent" and sent["sentEmailId"]
    row = wait_status(srv, t, sent["sentEmailId"], {"sent"})
    assert row["provider"] == "resend"
    assert [a["provider"] for a in row["attempts"]] == ["sendgrid", "resend"]
    got = ok(api(srv, "GET", path, t.token_creds, ws=t.workspace_id))
    assert got["delivery"]["status"] == "sent" and got["delivery"]["provider"] == "resend"
    assert got["delivery"]["sentAt"]
    (req,) = [q for q in resend.recorded() if q.status == 200]
    assert req.json["subject"] == draft["subject"]


def test_revoked_sendgrid_key_falls_to_resend_without_a_bounce(launcher, sendgrid, resend):
    """SendGrid answering 401 is SendGrid's failure: the next provider sends the
    email, the recipient gets no bounce and keeps their campaigns."""
    env = env_for(sendgrid, resend)
    env["LEADFLOW_SENDGRID_API_KEY"] = "SG.revoked"  # the fake answers 401
    srv = launcher.start(env=env)
    t, c = setup_tenant(srv)
    camp = ok(api(srv, "POST", "/api/campaigns", t.token_creds, ws=t.workspace_id,
                  body={"name": "Nurture"}), 201)
    base = f"/api/campaigns/{camp['id']}"
    ok(api(srv, "POST", base + "/steps", t.token_creds, ws=t.workspace_id,
           body={"steps": [{"type": "wait", "config": {"duration_ms": 86400000}}]}))
    ok(api(srv, "POST", base + "/activate", t.token_creds, ws=t.workspace_id))
    ok(api(srv, "POST", base + "/enroll", t.token_creds, ws=t.workspace_id,
           body={"contactIds": [c["id"]]}))

    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent", "refused", "failed"})
    assert row["status"] == "sent" and row["provider"] == "resend", row
    assert [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]] == \
        [("sendgrid", "temporary", 401), ("resend", "sent", 200)]
    assert "401" in row["attempts"][0]["error"]
    assert tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE kind = 'bounce'") == \
        [(0,)]
    (en,) = ok(api(srv, "GET", base + "/enrollments", t.token_creds, ws=t.workspace_id))
    assert en["status"] == "active"


@pytest.mark.parametrize("provider", ["sendgrid", "resend", "smtp"])
def test_a_hot_leads_approved_draft_arrives_whole(launcher, sendgrid, resend, sink, provider):
    """Hot lead -> draft -> approve -> send, as it arrives at each provider: the
    configured From, a text and an HTML part, the open pixel, tracked links and
    the one-click unsubscribe headers."""
    fakes = {"sendgrid": dict(sendgrid=sendgrid), "resend": dict(resend=resend),
             "smtp": dict(sink=sink)}[provider]
    srv = launcher.start(env=env_for(**fakes))
    t, c = setup_tenant(srv)
    tu.set_score(srv, c["id"], 92)
    r = api(srv, "POST", "/api/content/generate", t.token_creds, ws=t.workspace_id,
            body={"target": "hot"})
    (draft,) = ok(r, 201)["drafts"]
    path = f"/api/content/{draft['id']}"
    body = draft["body"] + "\n\nOur prices: https://acme.example/pricing\n"
    ok(api(srv, "PATCH", path, t.token_creds, ws=t.workspace_id, body={"body": body}))
    ok(api(srv, "POST", path + "/approve", t.token_creds, ws=t.workspace_id))
    sent = ok(api(srv, "POST", path + "/send", t.token_creds, ws=t.workspace_id))
    row = wait_status(srv, t, sent["sentEmailId"], {"sent", "refused", "failed"})
    assert row["status"] == "sent" and row["provider"] == provider, row
    assert row["from"] == "sales@acme.example"

    if provider == "sendgrid":
        (req,) = sendgrid.recorded()
        j = req.json
        assert j["from"] == {"email": "sales@acme.example", "name": "Acme Sales"}
        parts = {p["type"]: p["value"] for p in j["content"]}
        headers = j["headers"]
    elif provider == "resend":
        (req,) = resend.recorded()
        j = req.json
        assert j["from"] == FROM
        parts = {"text/plain": j["text"], "text/html": j.get("html")}
        headers = j["headers"]
    else:
        (_, _, raw) = sink.messages[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["From"].addresses[0].addr_spec == "sales@acme.example"
        assert msg["From"].addresses[0].display_name == "Acme Sales"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        parts = {"text/plain": msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                 "text/html": msg.get_body(("html",)).get_content()}
        headers = {k: str(msg[k]) for k in ("List-Unsubscribe", "List-Unsubscribe-Post")}
    text, html = parts["text/plain"], parts["text/html"]
    assert text.startswith(draft["body"][:40]) and "/u/" in text
    assert html, "no HTML part"
    assert re.search(r'<img src="http[^"]+/t/o/[A-Za-z0-9_-]+\.gif"', html), html
    assert re.search(r'href="http[^"]+/t/c/[A-Za-z0-9_-]+"', html), html
    assert 'href="https://acme.example/pricing"' not in html
    assert re.fullmatch(r"<https?://[^\s<>]+/u/[A-Za-z0-9_-]+>", headers["List-Unsubscribe"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert text.count("/u/") == 1 and html.count("/u/") == 2  # the footer, once


def test_control_characters_are_refused_where_they_enter(launcher, sendgrid):
    """A vertical tab in a subject or a line break in a name is refused with 400
    by the request that brings it, never found when the email is sent."""
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)

    def call(method, path, body):
        return api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body)

    for name in ("Ana\nBcc: x@example.net", "Ana\rM", "Ana\x0bM", "Ana\x7fM"):
        assert_error(call("POST", "/api/contacts", {"email": tu.unique_email("c"), "name": name}),
                     400, "VALIDATION_ERROR", "control characters")
        assert_error(call("PATCH", f"/api/contacts/{c['id']}", {"name": name}),
                     400, "VALIDATION_ERROR", "control characters")
    assert_error(call("PATCH", f"/api/contacts/{c['id']}", {"company": "Acme\x0b"}),
                 400, "VALIDATION_ERROR", "control characters")

    r = send(srv, t, c, subject="Prices\x0bfor you", status=400)
    assert_error(r, 400, "VALIDATION_ERROR", "control characters")
    r = send(srv, t, c, subject="Prices\x1bfor you", status=400)
    assert_error(r, 400, "VALIDATION_ERROR", "control characters")

    r = call("POST", "/api/content/generate", {"target": "contacts", "contactIds": [c["id"]]})
    (draft,) = ok(r, 201)["drafts"]
    assert_error(call("PATCH", f"/api/content/{draft['id']}", {"subject": "Hi\x0bthere"}),
                 400, "VALIDATION_ERROR", "control characters")

    camp = ok(call("POST", "/api/campaigns", {"name": "Nurture"}), 201)
    body = "Hello {{first_name}}\n\nStop these: {{unsubscribe_url}}"
    for subject in ("Hi\x0b{{first_name}}", "Hi\x08there"):
        r = call("POST", f"/api/campaigns/{camp['id']}/steps",
                 {"steps": [{"type": "email", "config": {"subject": subject, "body": body}}]})
        assert_error(r, 400, "VALIDATION_ERROR", "control characters")
    assert sendgrid.recorded() == []
    assert ok(api(srv, "GET", "/api/emails/sent", t.token_creds, ws=t.workspace_id)) == []


def test_a_worker_without_the_secret_key_fails_the_email_with_the_reason(launcher, sendgrid):
    """Tracking links are signed with the secret key: a `leadflow worker`
    started without one cannot build the email, so the email fails at once
    with that reason instead of staying queued while its job dies."""
    srv = launcher.start(env=env_for())  # no provider: the email waits, queued
    t, c = setup_tenant(srv)
    sid = send(srv, t, c)["id"]
    assert srv.stop() == 0
    tu.db_exec(srv, "UPDATE jobs SET status = 'queued', run_at = 0, locked_until = NULL"
                    " WHERE kind = 'send_email'")
    worker = subprocess.Popen([launcher.bin, "worker", "--db", srv.db_url], cwd=srv.workdir,
                              env=clean_env(env_for(sendgrid)), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            ((status, error),) = tu.db_query(srv, "SELECT status, error FROM sent_emails"
                                                  " WHERE id = ?", (sid,))
            if status != "queued" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert status == "failed", (status, error, err.decode(errors="replace")[-2000:])
    assert "secret_key" in error
    assert sendgrid.recorded() == []
