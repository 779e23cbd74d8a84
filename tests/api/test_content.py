"""Generated content through the API: drafts for hot and warm leads and for
listed contacts (offline drafter and the Anthropic drafter against
tests/fakes/anthropic_api.py, with its fallback), the review queue (list,
filters, edit, approve, reject, send through the outbox), the transitions
that are refused (409), tenant isolation (404), viewers (403), and the one
background draft job per hot crossing. Each test works in its own workspace."""
import os
import re
import secrets
import sys
import time

import pytest

from mailutil import contact_by_email, imported, mbox, message
from tenantutil import (
    Creds, add_member, add_user, api, assert_error, create_contact, db_exec, db_query,
    insert_token, new_tenant, ok, random_id, set_score, unique_email,
)

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.anthropic_api import FakeAnthropicAPI  # noqa: E402

DRAFT_KEYS = {"id", "workspaceId", "contactId", "contact", "status", "subjects", "subject",
              "body", "callToAction", "provider", "reason", "scoreAtDraft", "sentEmailId",
              "delivery", "reviewedBy", "reviewedAt", "createdAt", "updatedAt"}


@pytest.fixture
def t(server):
    return new_tenant(server, unique_email("content"), session=False)


def words(text):
    return len(text.split())


def addr(prefix="lead"):
    return f"{prefix}-{secrets.token_hex(3)}@harbourline.example"


def generate(server, tenant, creds=None, **body):
    return api(server, "POST", "/api/content/generate", creds or tenant.token_creds,
               ws=tenant.workspace_id, body=body)


def drafts_for(server, tenant, ids):
    data = ok(generate(server, tenant, target="contacts", contactIds=list(ids)), 201)
    return data


def one_draft(server, tenant, contact_id):
    data = drafts_for(server, tenant, [contact_id])
    assert data["skipped"] == [], data
    [d] = data["drafts"]
    return d


def content(server, tenant, method, path, creds=None, **kw):
    return api(server, method, path, creds or tenant.token_creds, ws=tenant.workspace_id, **kw)


def check_draft(d):
    assert set(d) == DRAFT_KEYS, d
    assert len(d["subjects"]) == 3 and len(set(d["subjects"])) == 3, d["subjects"]
    assert all(1 <= len(s) <= 200 and "\n" not in s for s in d["subjects"])
    assert d["subject"] == d["subjects"][0]
    assert d["callToAction"]
    assert d["status"] == "draft"


def lead(server, t, score=None, **fields):
    fields.setdefault("name", "Riley Chen")
    fields.setdefault("company", "Harbourline Freight")
    fields.setdefault("jobTitle", "VP of Operations")
    c = create_contact(server, t, **fields)
    if score is not None:
        set_score(server, c["id"], score)
    return c


# -- drafting --------------------------------------------------------------------


def test_generate_for_hot_leads(server, t):
    hot = lead(server, t, score=91)
    lead(server, t, score=65, email=addr("warm"))
    lead(server, t, score=20, email=addr("cold"))
    data = ok(generate(server, t, target="hot"), 201)
    assert data["skipped"] == []
    [d] = data["drafts"]
    check_draft(d)
    assert d["contactId"] == hot["id"] and d["contact"]["email"] == hot["email"]
    assert d["contact"]["name"] == "Riley Chen"
    assert d["provider"] == "offline" and d["reason"] == "hot_lead"
    assert d["scoreAtDraft"] == 91
    assert 150 <= words(d["body"]) <= 200, d["body"]
    assert "Harbourline Freight" in d["body"] and "VP of Operations" in d["body"]
    assert d["body"].startswith("Hi Riley,")
    assert d["sentEmailId"] is None and d["reviewedBy"] is None
    # Stored: the same as GET shows it.
    assert ok(content(server, t, "GET", f"/api/content/{d['id']}")) == d

    # A lead waiting for review gets no second draft from a tier run.
    again = ok(generate(server, t, target="hot"), 201)
    assert again["drafts"] == []
    assert again["skipped"] == [{"contactId": hot["id"], "reason": "has_draft"}]


def test_generate_for_warm_leads(server, t):
    lead(server, t, score=85, email=addr("hot"))
    warm = [lead(server, t, score=s, email=addr("warm")) for s in (60, 79)]
    lead(server, t, score=59, email=addr("cold"))
    data = ok(generate(server, t, target="warm"), 201)
    got = sorted(d["contactId"] for d in data["drafts"])
    assert got == sorted(c["id"] for c in warm)
    assert {d["reason"] for d in data["drafts"]} == {"warm_lead"}
    # Best first.
    assert [d["scoreAtDraft"] for d in data["drafts"]] == [79, 60]


def test_generate_with_no_leads_drafts_nothing(server, t):
    data = ok(generate(server, t, target="hot"), 201)
    assert data == {"drafts": [], "skipped": []}


def test_listed_contacts_unknown_and_foreign_ids_are_skipped(server, t):
    mine = lead(server, t)
    other = new_tenant(server, unique_email("other"), session=False)
    theirs = create_contact(server, other, name="Not Yours")
    unknown = random_id()
    data = drafts_for(server, t, [mine["id"], theirs["id"], unknown, mine["id"]])
    assert [d["contactId"] for d in data["drafts"]] == [mine["id"]]
    assert data["drafts"][0]["reason"] == "requested"
    assert data["skipped"] == [{"contactId": theirs["id"], "reason": "not_found"},
                               {"contactId": unknown, "reason": "not_found"}]
    # Nothing was written in the other workspace.
    assert db_query(server, "SELECT COUNT(*) FROM generated_content WHERE workspace_id = ?",
                    (other.workspace_id,)) == [(0,)]


def test_unsubscribed_contacts_are_skipped(server, t):
    c = lead(server, t)
    db_exec(server, "UPDATE contacts SET unsubscribed_at = ? WHERE id = ?",
            (int(time.time() * 1000), c["id"]))
    data = drafts_for(server, t, [c["id"]])
    assert data == {"drafts": [], "skipped": [{"contactId": c["id"], "reason": "unsubscribed"}]}


@pytest.mark.parametrize("body, word", [
    ({}, "target"),
    ({"target": "lukewarm"}, "target"),
    ({"target": "contacts"}, "contactIds"),
    ({"target": "contacts", "contactIds": []}, "contactIds"),
    ({"target": "contacts", "contactIds": "abc"}, "contactIds"),
    ({"target": "contacts", "contactIds": [1]}, "contactIds"),
    ({"target": "contacts", "contactIds": [f"id-{i}" for i in range(51)]}, "contactIds"),
    ({"target": "hot", "contactIds": ["x"]}, "contactIds"),
])
def test_generate_arguments_are_checked(server, t, body, word):
    assert_error(generate(server, t, **body), 400, "VALIDATION_ERROR", word)


def test_drafts_follow_the_last_email(server, t):
    """The newest email's intent decides the draft: pricing vs complaint."""
    sig = "Sam Ortiz\nHead of Procurement\nNorthgate Mills"
    price, gripe = addr("price"), addr("gripe")
    imported(server, t, mbox(
        message(price, "Hello, what would the pricing be for 40 seats on an annual plan?",
                subject="Pricing for 40 seats", name="Sam Ortiz", signature=sig),
        message(gripe, "This is unacceptable. The export has been broken for a week and "
                "nobody answers. I am very disappointed and frustrated with the service.",
                subject="Broken export", name="Sam Ortiz",
                signature=sig.replace("Sam Ortiz", "Jo Park").replace(
                    "Northgate Mills", "Eastbank Foods"))),
        content_type="application/mbox")
    p, g = contact_by_email(server, t, price), contact_by_email(server, t, gripe)
    data = drafts_for(server, t, [p["id"], g["id"]])
    dp, dg = data["drafts"]
    for d in (dp, dg):
        check_draft(d)
        assert 150 <= words(d["body"]) <= 200, d["body"]
        assert "Head of Procurement" in d["body"]
    assert "Northgate Mills" in dp["body"] and "Eastbank Foods" in dg["body"]
    assert "pricing" in dp["body"].lower() and "quote" in dp["body"].lower()
    assert "Pricing for 40 seats" in dp["body"]
    assert "sorry" in dg["body"].lower() and "apolog" in dg["subject"].lower()
    assert dp["subjects"] != dg["subjects"]
    # Deterministic: the same contact gets the same text again.
    again = one_draft(server, t, p["id"])
    assert (again["subjects"], again["body"]) == (dp["subjects"], dp["body"])


# -- the review queue -----------------------------------------------------------------


def test_list_filters_and_pages(server, t):
    a, b = lead(server, t, email=addr("a")), lead(server, t, email=addr("b"))
    da = one_draft(server, t, a["id"])
    db1 = one_draft(server, t, b["id"])
    db2 = one_draft(server, t, b["id"])
    ok(content(server, t, "POST", f"/api/content/{db1['id']}/approve"))

    r = content(server, t, "GET", "/api/content")
    rows = ok(r)
    assert [d["id"] for d in rows] == [db2["id"], db1["id"], da["id"]]  # newest first
    assert r.json["meta"] == {"total": 3, "page": 1, "pageSize": 25}
    rows = ok(content(server, t, "GET", "/api/content", params={"status": "draft"}))
    assert {d["id"] for d in rows} == {da["id"], db2["id"]}
    rows = ok(content(server, t, "GET", "/api/content", params={"status": "approved"}))
    assert [d["id"] for d in rows] == [db1["id"]]
    rows = ok(content(server, t, "GET", "/api/content", params={"contactId": b["id"]}))
    assert {d["id"] for d in rows} == {db1["id"], db2["id"]}
    r = content(server, t, "GET", "/api/content", params={"page": 2, "pageSize": 2})
    assert [d["id"] for d in ok(r)] == [da["id"]]
    assert r.json["meta"]["total"] == 3
    for bad in ({"status": "pending"}, {"pageSize": 0}, {"page": "x"}):
        assert_error(content(server, t, "GET", "/api/content", params=bad), 400,
                     "VALIDATION_ERROR")


def test_unknown_draft_is_404(server, t):
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/approve"), ("POST", "/reject"),
                         ("POST", "/send")):
        body = {"subject": "x"} if method == "PATCH" else None
        r = content(server, t, method, f"/api/content/{random_id()}{path}", body=body)
        assert_error(r, 404, "NOT_FOUND")


def test_edit_a_draft(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    r = content(server, t, "PATCH", f"/api/content/{d['id']}",
                body={"subject": "A better subject", "body": "Short and to the point.",
                      "callToAction": "Call me."})
    e = ok(r)
    assert (e["subject"], e["body"], e["callToAction"]) == (
        "A better subject", "Short and to the point.", "Call me.")
    assert e["subjects"] == d["subjects"] and e["status"] == "draft"
    e2 = ok(content(server, t, "PATCH", f"/api/content/{d['id']}", body={"body": "Only body."}))
    assert e2["subject"] == "A better subject" and e2["body"] == "Only body."


@pytest.mark.parametrize("body, word", [
    ({}, "nothing to change"),
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"subject": "two\nlines"}, "subject"),
    ({"subject": 5}, "subject"),
    ({"body": ""}, "body"),
    ({"body": "y" * 20001}, "body"),
    ({"callToAction": None}, "callToAction"),
])
def test_edit_is_validated(server, t, body, word):
    d = one_draft(server, t, lead(server, t)["id"])
    r = content(server, t, "PATCH", f"/api/content/{d['id']}", body=body)
    assert_error(r, 400, "VALIDATION_ERROR", word)


def test_edit_limits_are_characters(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    e = ok(content(server, t, "PATCH", f"/api/content/{d['id']}",
                   body={"subject": "é" * 200, "body": "ü" * 20000}))
    assert e["subject"] == "é" * 200 and len(e["body"]) == 20000


def test_approve_reject_and_edit_transitions(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    path = f"/api/content/{d['id']}"
    a = ok(content(server, t, "POST", path + "/approve"))
    assert a["status"] == "approved" and a["reviewedBy"] == t.user_id and a["reviewedAt"]
    assert_error(content(server, t, "POST", path + "/approve"), 409, "CONFLICT", "approved")

    # Editing an approved draft sends it back for review.
    e = ok(content(server, t, "PATCH", path, body={"subject": "Changed after approval"}))
    assert e["status"] == "draft" and e["reviewedBy"] is None

    ok(content(server, t, "POST", path + "/approve"))
    r = ok(content(server, t, "POST", path + "/reject"))
    assert r["status"] == "rejected"
    for action in ("/approve", "/reject", "/send"):
        assert_error(content(server, t, "POST", path + action), 409, "CONFLICT")
    assert_error(content(server, t, "PATCH", path, body={"subject": "x"}), 409, "CONFLICT")
    assert ok(content(server, t, "GET", path))["status"] == "rejected"


def test_reject_a_draft(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    r = ok(content(server, t, "POST", f"/api/content/{d['id']}/reject"))
    assert r["status"] == "rejected" and r["reviewedBy"] == t.user_id


def test_only_approved_drafts_are_sent(server, t):
    c = lead(server, t)
    d = one_draft(server, t, c["id"])
    path = f"/api/content/{d['id']}"
    assert_error(content(server, t, "POST", path + "/send"), 409, "CONFLICT", "approve")
    assert db_query(server, "SELECT COUNT(*) FROM sent_emails WHERE content_id = ?",
                    (d["id"],)) == [(0,)]

    ok(content(server, t, "PATCH", path, body={"subject": "Hello from the team"}))
    ok(content(server, t, "POST", path + "/approve"))
    s = ok(content(server, t, "POST", path + "/send"))
    assert s["status"] == "sent" and s["sentEmailId"] and s["reviewedBy"] == t.user_id
    rows = db_query(server, "SELECT id, idempotency_key, contact_id, subject, body_text, to_email,"
                            " content_id FROM sent_emails WHERE workspace_id = ?",
                    (t.workspace_id,))
    assert rows == [(s["sentEmailId"], f"content:{d['id']}", c["id"], "Hello from the team",
                     d["body"], c["email"], d["id"])]
    jobs = db_query(server, "SELECT COUNT(*) FROM jobs WHERE kind = 'send_email'"
                            " AND workspace_id = ?", (t.workspace_id,))
    assert jobs == [(1,)]

    # Sent is final: no second send, no edit, no review.
    for action in ("/send", "/approve", "/reject"):
        assert_error(content(server, t, "POST", path + action), 409, "CONFLICT")
    assert_error(content(server, t, "PATCH", path, body={"body": "x"}), 409, "CONFLICT")
    assert db_query(server, "SELECT COUNT(*) FROM sent_emails WHERE workspace_id = ?",
                    (t.workspace_id,)) == [(1,)]
    listed = ok(content(server, t, "GET", "/api/content", params={"status": "sent"}))
    assert [x["id"] for x in listed] == [d["id"]]


def test_sending_to_an_unsubscribed_contact_is_forbidden(server, t):
    c = lead(server, t)
    d = one_draft(server, t, c["id"])
    path = f"/api/content/{d['id']}"
    ok(content(server, t, "POST", path + "/approve"))
    db_exec(server, "UPDATE contacts SET unsubscribed_at = ? WHERE id = ?",
            (int(time.time() * 1000), c["id"]))
    assert_error(content(server, t, "POST", path + "/send"), 403, "FORBIDDEN")
    assert ok(content(server, t, "GET", path))["status"] == "approved"
    assert db_query(server, "SELECT COUNT(*) FROM sent_emails WHERE workspace_id = ?",
                    (t.workspace_id,)) == [(0,)]


# -- isolation and roles ---------------------------------------------------------------


def test_another_workspace_sees_nothing(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    b = new_tenant(server, unique_email("intruder"), session=False)
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/approve"),
                           ("POST", "/reject"), ("POST", "/send")):
        body = {"subject": "pwned"} if method == "PATCH" else None
        mine = api(server, method, f"/api/content/{d['id']}{suffix}", b.token_creds,
                   ws=b.workspace_id, body=body)
        assert_error(mine, 404, "NOT_FOUND")
        theirs = api(server, method, f"/api/content/{d['id']}{suffix}", b.token_creds,
                     ws=t.workspace_id, body=body)
        assert_error(theirs, 404, "NOT_FOUND")
    assert ok(api(server, "GET", "/api/content", b.token_creds, ws=b.workspace_id)) == []
    after = ok(content(server, t, "GET", f"/api/content/{d['id']}"))
    assert after == d


def test_viewer_can_read_but_not_change(server, t):
    d = one_draft(server, t, lead(server, t)["id"])
    viewer = add_user(server, unique_email("viewer"))
    add_member(server, viewer.user_id, t.org_id, "viewer")
    creds = Creds("token", token=insert_token(server, t.workspace_id, viewer.user_id))
    assert [x["id"] for x in ok(content(server, t, "GET", "/api/content", creds=creds))] == \
        [d["id"]]
    assert ok(content(server, t, "GET", f"/api/content/{d['id']}", creds=creds))["id"] == d["id"]
    assert_error(generate(server, t, creds=creds, target="hot"), 403, "FORBIDDEN")
    for action in ("/approve", "/reject", "/send"):
        assert_error(content(server, t, "POST", f"/api/content/{d['id']}{action}", creds=creds),
                     403, "FORBIDDEN")
    assert_error(content(server, t, "PATCH", f"/api/content/{d['id']}", creds=creds,
                         body={"subject": "x"}), 403, "FORBIDDEN")
    assert ok(content(server, t, "GET", f"/api/content/{d['id']}"))["status"] == "draft"


# -- the hot crossing ---------------------------------------------------------------------


def hot_mbox(who, name="Morgan Lee"):
    sig = f"{name}\nChief Operating Officer\nBrightwater Logistics"
    texts = [
        ("Demo this week?", "Can we schedule a demo call this week? Our team is excited.", 0.2),
        ("Pricing", "What would the pricing be for 200 users on the annual plan? "
                    "We love what we have seen so far.", 1),
        ("Next steps", "Great session today, thank you! Could you send the contract terms?", 2),
        ("Meeting Thursday", "Happy to move forward. Can we meet on Thursday to finalize the "
                             "quote?", 3),
        ("Pilot", "Thanks, this is excellent. We are very interested in a pilot.", 4),
    ]
    return mbox(*[message(who, body, subject=subj, name=name, signature=sig, days_ago=days)
                  for subj, body, days in texts])


def test_a_hot_crossing_enqueues_one_draft_job(server, t):
    who = addr("hot")
    data = hot_mbox(who)
    imported(server, t, data, content_type="application/mbox")
    c = contact_by_email(server, t, who)
    assert c["score"] >= 80
    jobs = db_query(server, "SELECT idempotency_key, CAST(payload AS TEXT) FROM jobs"
                            " WHERE kind = 'draft_content' AND workspace_id = ?",
                    (t.workspace_id,))
    assert len(jobs) == 1, jobs
    key, payload = jobs[0]
    assert re.fullmatch(rf"draft:{c['id']}:\d+", key), key
    assert c["id"] in payload and "hot_lead" in payload
    # The same mail again changes no score: no second job.
    imported(server, t, data, content_type="application/mbox")
    assert db_query(server, "SELECT COUNT(*) FROM jobs WHERE kind = 'draft_content'"
                            " AND workspace_id = ?", (t.workspace_id,)) == [(1,)]

    # The worker writes the draft.
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = ok(content(server, t, "GET", "/api/content", params={"contactId": c["id"]}))
        time.sleep(0.1)
    [d] = rows
    check_draft(d)
    assert d["reason"] == "hot_lead" and d["scoreAtDraft"] >= 80
    assert "Brightwater Logistics" in d["body"]


# -- the Anthropic drafter -------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeAnthropicAPI() as f:
        yield f


@pytest.fixture
def ai_server(launcher, fake):
    return launcher.start(env={
        "LEADFLOW_ANTHROPIC_API_KEY": fake.api_key,
        "LEADFLOW_ANTHROPIC_API_URL": fake.url,
        "LEADFLOW_ANTHROPIC_MODEL": "claude-test-model-1",
        "LEADFLOW_ANTHROPIC_TIMEOUT_MS": "5000",
        "LEADFLOW_ANTHROPIC_MAX_RETRIES": "0",
    })


def test_anthropic_drafter_is_used(ai_server, fake):
    t = new_tenant(ai_server, unique_email("ai"), session=False)
    c = lead(ai_server, t, name="Ada <script>", company="Quillon Labs")
    d = one_draft(ai_server, t, c["id"])
    check_draft(d)
    assert d["provider"] == "anthropic"
    assert d["subjects"] == fake.draft_result["subjects"]
    assert d["body"] == fake.draft_result["body"]
    assert d["callToAction"] == fake.draft_result["callToAction"]
    [req] = fake.recorded()
    assert req.status == 200, req.problem
    b = req.json
    assert b["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert b["max_tokens"] > b["thinking"]["budget_tokens"]
    assert "subjects" in b["system"] and "callToAction" in b["system"]
    user = req.user_text
    assert user.count("<contact>") == 1 and user.count("</contact>") == 1
    assert "Quillon Labs" in user and "Quillon Labs" not in b["system"]
    assert "<script>" not in user  # the data cannot write tags
    assert fake.api_key not in ai_server.stderr_text


@pytest.mark.parametrize("mode, change", [
    ("malformed", None),
    ("schema_invalid", None),
    ("ok", {"body": "Too short to be an email."}),
    ("ok", {"body": " ".join(["word"] * 240)}),
    ("ok", {"subjects": ["Same", "Same", "Other"]}),
    ("ok", {"extra": "key"}),
])
def test_anthropic_drafter_falls_back_to_offline(ai_server, fake, mode, change):
    fake.set_mode(mode)
    if change:
        fake.draft_result.update(change)
    t = new_tenant(ai_server, unique_email("ai"), session=False)
    c = lead(ai_server, t)
    d = one_draft(ai_server, t, c["id"])
    check_draft(d)
    assert d["provider"] == "offline"
    assert 150 <= words(d["body"]) <= 200
    assert "Harbourline Freight" in d["body"]
    assert len(fake.recorded()) == 1
    warn = ai_server.wait_for_log(lambda r: r.get("event") == "ai.anthropic_fallback"
                                  and r.get("call") == "draft", what="a fallback warning")
    assert warn


def test_overview_counts_drafts_awaiting_review(server, t):
    def awaiting():
        s = ok(api(server, "GET", "/api/dashboard/stats", t.token_creds, ws=t.workspace_id))
        return s["drafts"]["awaitingReview"]

    assert awaiting() == 0
    a = one_draft(server, t, lead(server, t, email=addr("one"))["id"])
    one_draft(server, t, lead(server, t, email=addr("two"))["id"])
    assert awaiting() == 2
    ok(content(server, t, "POST", f"/api/content/{a['id']}/approve"))
    assert awaiting() == 1
