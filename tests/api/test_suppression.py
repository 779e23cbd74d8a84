"""The suppression list: its API (list, add, remove with a reason), filled by
hard bounces and unsubscribes, and checked at send time on every path (API
sends, approved drafts, campaign emails, alert emails) against the fake
providers: a listed recipient's email is recorded as suppressed, reaches no
provider and is not a bounce."""
import time
import urllib.parse

import tenantutil as tu
from mailutil import imported, mbox, message
from tenantutil import api, assert_error, ok
from test_alerts_mail import COMPLAINT
from test_campaigns import wait_for
from test_send import env_for, resend, send, sendgrid, setup_tenant, wait_status  # noqa: F401


def call(srv, t, method, path, body=None, status=200, params=None):
    return ok(api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body,
                  params=params), status)


def listed(srv, t, **params):
    return call(srv, t, "GET", "/api/suppressions", params=params or None)


def to_addresses(provider):
    return [r.json["personalizations"][0]["to"][0]["email"] for r in provider.recorded()
            if r.json and "personalizations" in r.json]


def test_the_api_adds_lists_and_removes_with_a_reason(launcher):
    srv = launcher.start(env=env_for())
    t = tu.new_tenant(srv, session=False)
    for body, status, words in [
            ({}, 400, "email is required"),
            ({"email": "not an address", "note": "x"}, 400, "email must be an email address"),
            ({"email": "a@acme.example", "reason": "spam"}, 400,
             "reason must be one of bounce, complaint, unsubscribe, manual"),
            ({"email": "a@acme.example"}, 400, "note is required"),
            ({"email": "a@acme.example", "note": "line\nbreak"}, 400, "control characters")]:
        r = api(srv, "POST", "/api/suppressions", t.token_creds, ws=t.workspace_id, body=body)
        assert_error(r, status, "VALIDATION_ERROR", words)

    a = call(srv, t, "POST", "/api/suppressions",
             {"email": "Legal@Acme.example", "note": "asked us by phone"}, status=201)
    assert a["email"] == "legal@acme.example" and a["reason"] == "manual"
    assert a["note"] == "asked us by phone" and a["createdBy"] == t.user_id
    time.sleep(0.01)  # newest first: b's time is after a's
    b = call(srv, t, "POST", "/api/suppressions",
             {"email": "spam@other.example", "reason": "complaint"}, status=201)
    r = api(srv, "POST", "/api/suppressions", t.token_creds, ws=t.workspace_id,
            body={"email": "LEGAL@acme.example", "note": "again"})
    assert_error(r, 409, "CONFLICT", "already on the suppression list (manual)")

    assert [x["id"] for x in listed(srv, t)] == [b["id"], a["id"]]
    assert [x["id"] for x in listed(srv, t, reason="manual")] == [a["id"]]
    assert [x["id"] for x in listed(srv, t, email="ACME")] == [a["id"]]
    r = api(srv, "GET", "/api/suppressions", t.token_creds, ws=t.workspace_id,
            params={"pageSize": 1, "page": 2})
    body = r.json
    assert [x["id"] for x in body["data"]] == [a["id"]] and body["meta"]["total"] == 2
    assert_error(api(srv, "GET", "/api/suppressions", t.token_creds, ws=t.workspace_id,
                     params={"reason": "x"}), 400, "VALIDATION_ERROR", "reason must be one of")
    assert call(srv, t, "GET", f"/api/suppressions/{a['id']}")["email"] == "legal@acme.example"

    # Another workspace sees none of it.
    other = tu.new_tenant(srv, session=False)
    assert listed(srv, other) == []
    assert_error(api(srv, "DELETE", f"/api/suppressions/{a['id']}", other.token_creds,
                     ws=other.workspace_id, params={"reason": "mine"}), 404, "NOT_FOUND")

    r = api(srv, "DELETE", f"/api/suppressions/{a['id']}", t.token_creds, ws=t.workspace_id)
    assert_error(r, 400, "VALIDATION_ERROR", "reason is required")
    d = call(srv, t, "DELETE", f"/api/suppressions/{a['id']}",
             params={"reason": "confirmed the address by phone"})
    assert d == {"id": a["id"], "deleted": True}
    assert [x["id"] for x in listed(srv, t)] == [b["id"]]
    assert tu.db_query(srv, "SELECT email, reason, removed_reason, removed_by"
                            " FROM suppression_removals") == \
        [("legal@acme.example", "manual", "confirmed the address by phone", t.user_id)]
    assert_error(api(srv, "DELETE", f"/api/suppressions/{a['id']}", t.token_creds,
                     ws=t.workspace_id, params={"reason": "twice"}), 404, "NOT_FOUND")


def test_an_api_send_to_a_listed_address_is_suppressed(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    entry = call(srv, t, "POST", "/api/suppressions",
                 {"email": c["email"].upper(), "note": "legal hold"}, status=201)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"suppressed", "sent", "refused", "failed"})
    assert row["status"] == "suppressed" and "suppression list (manual)" in row["error"], row
    assert row["attempts"] == [] and row["sentAt"] is None
    assert sendgrid.recorded() == []
    assert tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE kind = 'bounce'") == [(0,)]
    assert [e["id"] for e in call(srv, t, "GET", "/api/emails/sent",
                                  params={"status": "suppressed"})] == [row["id"]]
    # Off the list, the address is sent to again.
    call(srv, t, "DELETE", f"/api/suppressions/{entry['id']}", params={"reason": "cleared"})
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent", "suppressed"})
    assert row["status"] == "sent" and to_addresses(sendgrid) == [c["email"]]


def test_a_hard_bounce_lists_the_address_and_the_next_send_is_suppressed(launcher, sendgrid,
                                                                         resend):
    sendgrid.set_mode("permanent")
    srv = launcher.start(env=env_for(sendgrid, resend))
    t, c = setup_tenant(srv)
    first = wait_status(srv, t, send(srv, t, c)["id"], {"refused"})
    (s,) = listed(srv, t)
    assert s["email"] == c["email"].lower() and s["reason"] == "bounce"
    assert s["contactId"] == c["id"] and s["sentEmailId"] == first["id"]
    sendgrid.set_mode("ok")
    n = len(sendgrid.recorded())
    row = wait_status(srv, t, send(srv, t, c, key="second")["id"], {"suppressed", "sent"})
    assert row["status"] == "suppressed" and "(bounce)" in row["error"]
    assert len(sendgrid.recorded()) == n and resend.recorded() == []
    # Still one bounce: a suppressed send is not another one.
    assert tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE kind = 'bounce'") == [(1,)]


def test_an_unsubscribe_lists_the_address(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    (req,) = sendgrid.recorded()
    url = req.json["headers"]["List-Unsubscribe"].strip("<>")
    r = srv.request("POST", urllib.parse.urlsplit(url).path, body=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    (s,) = listed(srv, t)
    assert (s["email"], s["reason"], s["contactId"]) == (c["email"].lower(), "unsubscribe", c["id"])


def test_an_approved_draft_to_a_listed_address_is_suppressed(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    (draft,) = call(srv, t, "POST", "/api/content/generate",
                    {"target": "contacts", "contactIds": [c["id"]]}, status=201)["drafts"]
    call(srv, t, "POST", "/api/suppressions", {"email": c["email"], "reason": "complaint"},
         status=201)
    path = f"/api/content/{draft['id']}"
    call(srv, t, "POST", path + "/approve")
    sent = call(srv, t, "POST", path + "/send")
    row = wait_status(srv, t, sent["sentEmailId"], {"suppressed", "sent"})
    assert row["status"] == "suppressed" and "(complaint)" in row["error"]
    assert sendgrid.recorded() == []


def test_a_campaign_email_to_a_listed_address_is_suppressed(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t = tu.new_tenant(srv, session=False)
    kept = tu.create_contact(srv, t, name="Kept Lead")
    held = tu.create_contact(srv, t, name="Held Lead")
    call(srv, t, "POST", "/api/suppressions", {"email": held["email"], "note": "do not contact"},
         status=201)
    camp = call(srv, t, "POST", "/api/campaigns", {"name": "Welcome"}, status=201)
    base = f"/api/campaigns/{camp['id']}"
    call(srv, t, "POST", base + "/steps", {"steps": [{"type": "email", "config": {
        "subject": "Welcome {{first_name}}",
        "body": "Hello\n\nUnsubscribe: {{unsubscribe_url}}"}}]})
    call(srv, t, "POST", base + "/activate")
    call(srv, t, "POST", base + "/enroll", {"contactIds": [kept["id"], held["id"]]})

    def outcomes():
        rows = call(srv, t, "GET", "/api/emails/sent")
        done = {r["contactId"]: r["status"] for r in rows if r["status"] != "queued"}
        return done if len(done) == 2 else None
    assert wait_for("both campaign emails", outcomes) == {kept["id"]: "sent",
                                                          held["id"]: "suppressed"}
    assert to_addresses(sendgrid) == [kept["email"]]


def test_an_alert_email_skips_a_listed_member(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t = tu.new_tenant(srv, session=False)
    call(srv, t, "POST", "/api/suppressions", {"email": "ops@acme.example", "note": "left"},
         status=201)
    call(srv, t, "POST", "/api/alerts/rules",
         {"name": "complaints", "trigger": "complaint",
          "channels": [{"type": "email", "target": "ops@acme.example"}]}, status=201)
    imported(srv, t, mbox(message(tu.unique_email("angry"), COMPLAINT, subject="Broken")),
             content_type="application/mbox")

    def dead():
        for a in call(srv, t, "GET", "/api/alerts"):
            d = [y for y in a["deliveries"] if y["channel"] == "email"]
            if d and d[-1]["status"] == "dead":
                return d[-1]
        return None
    d = wait_for("the alert email's outcome", dead, timeout=20)
    assert "every recipient is on the suppression list" in d["error"]
    assert sendgrid.recorded() == []
