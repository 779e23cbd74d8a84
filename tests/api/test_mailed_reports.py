"""Bounce and complaint reports that come back as mail: an RFC 3464 delivery
status notification or an RFC 5965 feedback report, imported like any other
message, reaches the sent email it is about (by the returned Message-ID, or
else the recipient), the contact's events and campaigns, and the suppression
list, as the providers' webhooks do. The report itself is kept as automatic
mail of no contact, not analyzed; importing it again changes nothing."""
import tenantutil as tu
from mailutil import imported
from test_send import env_for, send, sendgrid, setup_tenant, wait_status  # noqa: F401
from test_provider_events import enrolled, events_of
from test_suppression import call, listed

BOUNDARY = "4F1D21A0C5.1709659211/mx.leadflow.test"


def dsn(recipient, message_id=None, action="failed", status="5.1.1", headers_only=False):
    """A Postfix-shaped delivery status notification about recipient."""
    returned = [f"From: Ana <sales@leadflow.test>", f"To: {recipient}", "Subject: Hello"]
    if message_id:
        returned.append(f"Message-ID: <{message_id}>")
    returned_part = ("Content-Type: text/rfc822-headers\n\n" + "\n".join(returned) + "\n"
                     if headers_only else
                     "Content-Type: message/rfc822\n\n" + "\n".join(returned) + "\n\nHello\n")
    return f"""From: MAILER-DAEMON@mx.leadflow.test (Mail Delivery System)
To: sales@leadflow.test
Subject: Undelivered Mail Returned to Sender
Message-Id: <{tu.random_id()}@mx.leadflow.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{BOUNDARY}"

--{BOUNDARY}
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--{BOUNDARY}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.leadflow.test

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected

--{BOUNDARY}
{returned_part}
--{BOUNDARY}--
""".encode()


def arf(recipient):
    """A feedback report shaped as RFC 5965's appendix B.1, about recipient,
    returning only the headers (no Message-ID): matched by its recipient."""
    return f"""From: <abusedesk@isp.example>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Hello
To: <abuse@leadflow.test>
Message-ID: <{tu.random_id()}@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP
192.0.2.1.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <sales@leadflow.test>
Original-Rcpt-To: <{recipient}>
Reporting-MTA: dns; mail.isp.example
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: text/rfc822-headers

From: Ana <sales@leadflow.test>
To: {recipient}
Subject: Hello

--part1_13d.2e68ed54_boundary--
""".encode()


def kinds(srv, t, c, sid):
    """The events recorded on the sent email sid (its contact c's)."""
    return sorted(k for k, s in events_of(srv, t, c["id"]) if s == sid)


def test_an_imported_bounce_suppresses_and_cancels_like_a_webhook(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    base = enrolled(srv, t, c)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    sid = row["id"]
    report = dsn(c["email"].upper(), message_id=row["messageId"])
    res = imported(srv, t, report)
    assert res["imported"] == 1 and res["contactsCreated"] == 0, res
    assert kinds(srv, t, c, sid) == ["bounce"]
    assert ("bounce", sid) in events_of(srv, t, c["id"])
    (s,) = listed(srv, t)
    assert (s["reason"], s["sentEmailId"], s["contactId"]) == ("bounce", sid, c["id"])
    (en,) = call(srv, t, "GET", base + "/enrollments")
    assert en["status"] == "cancelled"
    # Kept as automatic mail of no contact, not analyzed.
    (e,) = call(srv, t, "GET", "/api/emails", params={"q": "Undelivered"})
    assert e["contactId"] is None and e["intents"] == ["general"]
    assert e["analyzedBy"] is None
    # The same report again is a duplicate: nothing recorded twice.
    again = imported(srv, t, report)
    assert again["duplicates"] == 1 and again["imported"] == 0
    assert kinds(srv, t, c, sid) == ["bounce"]
    # Another send to the address is stopped by the list.
    again = wait_status(srv, t, send(srv, t, c, key="again")["id"],
                        {"suppressed", "sent", "refused", "failed"})
    assert again["status"] == "suppressed", again


def test_a_feedback_report_is_a_complaint_found_by_its_recipient(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    older = wait_status(srv, t, send(srv, t, c, key="first")["id"], {"sent"})["id"]
    sid = wait_status(srv, t, send(srv, t, c, key="second")["id"], {"sent"})["id"]
    tu.db_exec(srv, "UPDATE sent_emails SET created_at = created_at - 60000 WHERE id = ?",
               (older,))
    assert imported(srv, t, arf(c["email"]))["imported"] == 1
    assert kinds(srv, t, c, sid) == ["complaint"]  # the newest send to the address
    assert kinds(srv, t, c, older) == []
    (s,) = listed(srv, t)
    assert (s["reason"], s["sentEmailId"]) == ("complaint", sid)
    assert ("complaint", sid) in events_of(srv, t, c["id"])


def test_a_delayed_delivery_is_deferred_not_suppressed(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    base = enrolled(srv, t, c)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    res = imported(srv, t, dsn(c["email"], message_id=row["messageId"], action="delayed",
                               status="4.4.1", headers_only=True))
    assert res["imported"] == 1
    assert kinds(srv, t, c, row["id"]) == ["deferred"]
    assert listed(srv, t) == []
    (en,) = call(srv, t, "GET", base + "/enrollments")
    assert en["status"] == "active"


def test_reports_about_other_mail_change_nothing(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    other, _ = setup_tenant(srv)
    # Another workspace's copy of the report does not reach this one's email.
    assert imported(srv, other, dsn(c["email"], message_id=row["messageId"]))["imported"] == 1
    # An address this workspace never wrote to.
    assert imported(srv, t, dsn("stranger@nowhere.example"))["imported"] == 1
    assert kinds(srv, t, c, row["id"]) == []
    assert listed(srv, t) == [] and listed(srv, other) == []
