"""Alerts that involve sending: the email channel delivered through the
provider chain to an SMTP sink, and the send_failures trigger raised when
the provider keeps failing. Each test starts its own server with its own
providers (the shared alerts server has none)."""
import email
import email.policy
import os
import sys
import time

import tenantutil as tu
from mailutil import imported, mbox, message
from tenantutil import api, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402
from fakes.smtp_sink import SmtpSink  # noqa: E402

COMPLAINT = ("This is unacceptable. I want to file a complaint: your product is broken "
             "and I am very disappointed.")


def call(srv, t, method, path, body=None, status=200, params=None):
    return ok(api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body,
                  params=params), status)


def wait(pred, timeout=15.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_email_channel_sends_through_the_chain(launcher):
    with SmtpSink() as sink:
        srv = launcher.start(env={"LEADFLOW_SMTP_URL": sink.url, "LEADFLOW_JOB_POLL_MS": "50",
                                  "LEADFLOW_MAIL_FROM": "Leadflow <alerts@acme.example>",
                                  "LEADFLOW_SEND_TIMEOUT_MS": "2000"})
        t = tu.new_tenant(srv, session=False)
        call(srv, t, "POST", "/api/alerts/rules",
             {"name": "complaints to ops", "trigger": "complaint",
              "channels": [{"type": "email", "target": "ops@acme.example"}]}, status=201)
        who = tu.unique_email("angry")
        imported(srv, t, mbox(message(who, COMPLAINT, subject="Broken")),
                 content_type="application/mbox")
        [a] = wait(lambda: call(srv, t, "GET", "/api/alerts"), what="the alert")

        def delivered():
            [x] = [x for x in call(srv, t, "GET", "/api/alerts") if x["id"] == a["id"]]
            d = [y for y in x["deliveries"] if y["channel"] == "email"]
            return d if d and d[-1]["status"] in ("delivered", "dead") else None
        d = wait(delivered, what="the email delivery")
        assert d[-1]["status"] == "delivered", d
        wait(lambda: sink.messages, what="the SMTP sink to receive the alert")
        mail_from, rcpts, raw = sink.messages[0]
        assert rcpts == ["ops@acme.example"] and mail_from == "alerts@acme.example"
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert who in str(msg["Subject"]) or who in msg.get_body(("plain",)).get_content()
        # Composed like every email: the configured From with its name, both parts.
        assert str(msg["From"]) == "Leadflow <alerts@acme.example>"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_send_failures_over_the_rate_raise_an_alert(launcher):
    with FakeSendGridAPI() as sendgrid:
        sendgrid.set_mode("500")
        srv = launcher.start(env={"LEADFLOW_SENDGRID_API_KEY": sendgrid.api_key,
                                  "LEADFLOW_SENDGRID_API_URL": sendgrid.url,
                                  "LEADFLOW_MAIL_FROM": "Acme <sales@acme.example>",
                                  "LEADFLOW_SEND_TIMEOUT_MS": "1000",
                                  "LEADFLOW_JOB_POLL_MS": "50"})
        t = tu.new_tenant(srv, session=False)
        call(srv, t, "POST", "/api/alerts/rules",
             {"name": "sending broken", "trigger": "send_failures", "threshold": 50,
              "channels": [{"type": "in_app"}]}, status=201)
        for i in range(3):
            c = tu.create_contact(srv, t, name=f"Lead {i}")
            call(srv, t, "POST", "/api/emails/send",
                 {"contactId": c["id"], "subject": "Hello", "text": "Hi there"}, status=202)
        [a] = wait(lambda: [x for x in call(srv, t, "GET", "/api/alerts")
                            if x["trigger"] == "send_failures"], what="the send_failures alert")
        assert "failing" in a["title"]
        assert a["status"] == "open"
        # More failures within the window are the same alert, not new ones.
        time.sleep(0.5)
        assert len([x for x in call(srv, t, "GET", "/api/alerts")
                    if x["trigger"] == "send_failures"]) == 1
