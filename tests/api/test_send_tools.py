"""Tools around sending, against the real server and the fake providers: a
sent email's opens and clicks (GET /api/emails/sent/{id}), the preview of a
draft or of a template for a contact (POST /api/emails/preview), and the test
send to the signed-in user's own address (POST /api/emails/test-send)."""
import re
import urllib.parse

import tenantutil as tu
from tenantutil import api, assert_error
from test_send import FROM, env_for, send, sendgrid, setup_tenant, wait_status  # noqa: F401
from test_suppression import call

PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
HOUR_MS = 3600 * 1000


def paths_in(html):
    """The pixel's path and the click paths of an HTML part."""
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    paths = [urllib.parse.urlsplit(u).path for u in urls]
    pixel = [p for p in paths if p.startswith("/t/o/")]
    clicks = [p for p in paths if p.startswith("/t/c/")]
    return pixel, clicks


def test_a_sent_email_carries_its_opens_and_clicks(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    sid = send(srv, t, c)["id"]
    row = wait_status(srv, t, sid, {"sent"})
    assert row["opens"] == {"count": 0, "botCount": 0, "lastAt": None}
    assert row["clicks"] == {"count": 0, "botCount": 0, "lastAt": None} and row["events"] == []
    (req,) = sendgrid.recorded()
    (pixel,), (click,) = paths_in(req.json["content"][1]["value"])
    # Right after sending: a scanner's fetch, counted apart.
    assert srv.get(pixel, headers={"User-Agent": PERSON}).status == 200
    tu.db_exec(srv, "UPDATE sent_emails SET sent_at = ? WHERE id = ?", (tu.now_ms() - HOUR_MS, sid))
    assert srv.get(pixel, headers={"User-Agent": PERSON}).status == 200
    r = srv.get(click, headers={"User-Agent": PERSON})
    assert r.status in (302, 303) and r.header("Location") == "https://acme.example/p"
    got = call(srv, t, "GET", f"/api/emails/sent/{sid}")
    assert (got["opens"]["count"], got["opens"]["botCount"]) == (1, 1)
    assert (got["clicks"]["count"], got["clicks"]["botCount"]) == (1, 0)
    assert got["opens"]["lastAt"] and got["clicks"]["lastAt"]
    assert [(e["kind"], e["url"], e["bot"], e["botReason"]) for e in got["events"]] == [
        ("click", "https://acme.example/p", False, None), ("open", None, False, None),
        ("open", None, True, "too_soon")]


def test_a_draft_preview_is_what_would_be_sent_and_its_links_are_inert(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    (draft,) = call(srv, t, "POST", "/api/content/generate",
                    {"target": "contacts", "contactIds": [c["id"]]}, status=201)["drafts"]
    p = call(srv, t, "POST", "/api/emails/preview", {"draftId": draft["id"]})
    assert p["subject"] == draft["subject"] and p["from"] == FROM
    assert p["to"] == f"Ana Müller <{c['email']}>"
    assert draft["body"].splitlines()[0] in p["text"]
    assert "Unsubscribe: http" in p["text"] and p["text"].count("Unsubscribe:") == 1
    h = p["headers"]
    assert h["From"] == FROM and h["Subject"] == draft["subject"]
    assert re.fullmatch(r"<https?://[^>]+/u/[^>]+>", h["List-Unsubscribe"])
    assert h["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    pixel, _ = paths_in(p["html"])
    assert len(pixel) == 1
    # Nothing was sent or queued, and following the preview's links records nothing.
    assert sendgrid.recorded() == [] and call(srv, t, "GET", "/api/emails/sent") == []
    srv.get(pixel[0], headers={"User-Agent": PERSON})
    unsub = urllib.parse.urlsplit(h["List-Unsubscribe"].strip("<>")).path
    srv.request("POST", unsub, body=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert tu.db_query(srv, "SELECT COUNT(*) FROM email_events") == [(0,)]
    assert tu.db_query(srv, "SELECT unsubscribed_at FROM contacts WHERE id = ?",
                       (c["id"],)) == [(None,)]


def test_a_template_preview_fills_the_contacts_merge_fields(launcher):
    srv = launcher.start(env=env_for())
    t, c = setup_tenant(srv)
    p = call(srv, t, "POST", "/api/emails/preview",
             {"contactId": c["id"], "subject": "Hello {{first_name}}",
              "text": "A note for {{company}}: https://acme.example/offer\n\n"
                      "Unsubscribe: {{unsubscribe_url}}"})
    assert p["subject"] == "Hello Ana"
    assert "A note for your company: https://acme.example/offer" in p["text"]
    # The template's own unsubscribe link is the one: no second footer.
    assert p["text"].count("Unsubscribe:") == 1
    assert p["headers"]["List-Unsubscribe"].strip("<>") in p["text"]
    assert "https://acme.example/offer\"" not in p["html"]  # the link is tracked


def test_preview_validation(launcher):
    srv = launcher.start(env=env_for())
    t, c = setup_tenant(srv)
    for body, status, code, words in [
            ({}, 400, "VALIDATION_ERROR", "give draftId, or contactId"),
            ({"draftId": tu.random_id(), "contactId": c["id"]}, 400, "VALIDATION_ERROR",
             "give draftId, or contactId"),
            ({"contactId": c["id"], "text": "x"}, 400, "VALIDATION_ERROR", "subject is required"),
            ({"contactId": c["id"], "subject": "a\nb", "text": "x"}, 400, "VALIDATION_ERROR",
             "line breaks"),
            ({"draftId": tu.random_id()}, 404, "NOT_FOUND", "draft not found"),
            ({"contactId": tu.random_id(), "subject": "s", "text": "x"}, 404, "NOT_FOUND",
             "contact not found")]:
        r = api(srv, "POST", "/api/emails/preview", t.token_creds, ws=t.workspace_id, body=body)
        assert_error(r, status, code, words)


def test_a_test_send_goes_to_the_signed_in_users_address(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    body = {"contactId": c["id"], "subject": "Hello {{first_name}}", "text": "See https://acme.example/p"}
    got = call(srv, t, "POST", "/api/emails/test-send", body)
    assert got["sent"] is True and got["error"] is None
    assert got["provider"] == "sendgrid" and got["providerMessageId"]
    assert got["subject"] == "[Test] Hello Ana"
    assert got["to"] == t.email or got["to"].endswith(f"<{t.email}>")
    (req,) = sendgrid.recorded()
    j = req.json
    assert j["personalizations"][0]["to"][0]["email"] == t.email
    assert j["subject"] == "[Test] Hello Ana"
    assert [p["type"] for p in j["content"]] == ["text/plain", "text/html"]
    assert j["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No email to the contact was recorded.
    assert call(srv, t, "GET", "/api/emails/sent") == []
    # The user's own address on the suppression list: refused, nothing sent.
    call(srv, t, "POST", "/api/suppressions", {"email": t.email, "note": "no mail"}, status=201)
    r = api(srv, "POST", "/api/emails/test-send", t.token_creds, ws=t.workspace_id, body=body)
    assert_error(r, 403, "FORBIDDEN", "suppression list")
    assert len(sendgrid.recorded()) == 1


def test_a_failed_test_send_says_why(launcher, sendgrid):
    sendgrid.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    got = call(srv, t, "POST", "/api/emails/test-send",
               {"contactId": c["id"], "subject": "Hi", "text": "x"})
    assert got["sent"] is False and got["provider"] == "sendgrid"
    assert "HTTP 500" in got["error"] and got["providerMessageId"] is None
