"""The email pipeline through the API: upload (one message or an mbox),
duplicates, isolation, contact linking from the sender and the signature,
analysis fields, the score with its parts and reasons, hot leads, the
overview counts, and bad input. Each test works in its own workspace."""
import secrets

import pytest

from mailutil import (
    contact_by_email, emails, hot_leads, imported, mbox, message, upload, wait_job,
)
from tenantutil import (
    add_member, add_user, api, assert_error, cli, db_exec, db_query, insert_token, new_tenant, ok,
    random_id, unique_email, Creds,
)

EMAIL_KEYS = {"id", "contactId", "messageId", "threadId", "from", "to", "subject", "snippet",
              "direction", "source", "intents", "sentiment", "urgency", "analyzedBy",
              "attachments", "receivedAt", "processedAt"}
INTENTS = {"meeting_request", "question", "complaint", "feature_request", "pricing_inquiry",
           "general", "follow_up"}


@pytest.fixture
def t(server):
    return new_tenant(server, unique_email("pipe"), session=False)


def addr(prefix="buyer"):
    return f"{prefix}-{secrets.token_hex(3)}@brightwater.example"


def test_one_message_is_stored_analyzed_and_linked(server, t):
    sender = addr("dana")
    msg = message(sender, "Hi,\n\nCould you send me your pricing for 50 seats? We are "
                  "evaluating tools this month and we love your product, it looks great.\n\nThanks,",
                  subject="Pricing for 50 seats", name="Dana Reyes",
                  signature="Dana Reyes\nVP of Sales\nBrightwater Logistics\n+1 555 0100")
    res = imported(server, t, msg)
    assert res["messages"] == 1 and res["imported"] == 1
    assert res["duplicates"] == 0 and res["rejected"] == 0 and res["rejections"] == []
    assert res["contactsCreated"] == 1

    rows, meta = emails(server, t)
    assert meta["total"] == 1
    e = rows[0]
    assert EMAIL_KEYS <= set(e), set(e) ^ EMAIL_KEYS
    assert e["from"] == {"email": sender, "name": "Dana Reyes"}
    assert e["subject"] == "Pricing for 50 seats"
    assert e["direction"] == "inbound" and e["source"] == "upload"
    assert "pricing_inquiry" in e["intents"] and set(e["intents"]) <= INTENTS
    assert e["sentiment"]["label"] == "positive"
    assert -1 <= e["sentiment"]["score"] <= 1
    assert e["analyzedBy"] == "offline"
    assert "pricing for 50 seats" in e["snippet"]
    assert "bodyText" not in e

    one = ok(api(server, "GET", f"/api/emails/{e['id']}", t.token_creds, ws=t.workspace_id))
    assert "Could you send me your pricing" in one["bodyText"]
    assert one["id"] == e["id"]

    c = contact_by_email(server, t, sender)
    assert e["contactId"] == c["id"]
    assert c["name"] == "Dana Reyes"
    assert c["jobTitle"] == "VP of Sales"
    assert c["company"] == "Brightwater Logistics"
    # A pricing question moves a prospect to lead.
    assert c["status"] == "lead"
    b = c["scoreBreakdown"]
    assert b["intent"] == 20 and b["role"] == 8 and b["status"] == 7
    assert b["engagement"] > 7 and b["sentiment"] > 10
    assert c["score"] == round(sum(b.values()))
    assert any(r.startswith("asked about pricing") for r in c["scoreReasons"]), c
    assert "VP of Sales" in c["scoreReasons"]


def test_same_message_twice_is_stored_once(server, t):
    msg = message(addr(), "Just checking in on the proposal.", subject="Proposal")
    assert imported(server, t, msg)["imported"] == 1
    again = imported(server, t, msg)
    assert again["imported"] == 0 and again["duplicates"] == 1
    assert emails(server, t)[1]["total"] == 1


def test_without_message_id_the_content_decides(server, t):
    msg = message(addr(), "No id on this one.", with_message_id=False)
    assert imported(server, t, msg)["imported"] == 1
    assert imported(server, t, msg)["duplicates"] == 1
    other = message(addr(), "A different text, no id either.", with_message_id=False)
    assert imported(server, t, other)["imported"] == 1
    rows, meta = emails(server, t)
    assert meta["total"] == 2
    assert all(r["messageId"].startswith("sha256:") for r in rows)


def test_same_message_id_in_two_workspaces_is_kept_apart(server, t):
    u = new_tenant(server, unique_email("other"), session=False)
    mid = f"shared-{secrets.token_hex(4)}@mail.example"
    assert imported(server, t, message(addr(), "To workspace one.", message_id=mid))["imported"] == 1
    assert imported(server, u, message(addr(), "To workspace two.", message_id=mid))["imported"] == 1
    rows_t, _ = emails(server, t)
    rows_u, _ = emails(server, u)
    assert [r["snippet"] for r in rows_t] == ["To workspace one."]
    assert [r["snippet"] for r in rows_u] == ["To workspace two."]
    r = api(server, "GET", f"/api/emails/{rows_t[0]['id']}", u.token_creds, ws=u.workspace_id)
    assert_error(r, 404, "NOT_FOUND")


def test_mbox_with_a_bad_message_imports_the_rest(server, t):
    good1 = message(addr("a"), "First good message.")
    bad = b"Subject: no sender here\n\nThere is no From header in this one.\n"
    good2 = message(addr("b"), "Second good message.")
    res = imported(server, t, mbox(good1, bad, good2), content_type="application/mbox")
    assert res["messages"] == 3
    assert res["imported"] == 2 and res["rejected"] == 1
    [rej] = res["rejections"]
    assert "upload#2" in rej["origin"], rej
    assert "from" in rej["reason"].lower(), rej


def test_mbox_body_lines_that_start_with_from_stay_in_the_message(server, t):
    body = "Here is the quote you asked for.\nFrom what I understand, you need 20 seats.\nBest"
    res = imported(server, t, mbox(message(addr(), body)), content_type="application/mbox")
    assert res["imported"] == 1 and res["messages"] == 1
    rows, _ = emails(server, t)
    one = ok(api(server, "GET", f"/api/emails/{rows[0]['id']}", t.token_creds, ws=t.workspace_id))
    assert "From what I understand" in one["bodyText"]


def test_binary_upload_is_rejected_with_a_reason(server, t):
    res = imported(server, t, bytes(range(256)) * 64, content_type="application/octet-stream")
    assert res["imported"] == 0 and res["rejected"] == 1
    assert res["rejections"][0]["reason"]


def test_empty_and_json_bodies_are_refused(server, t):
    assert_error(upload(server, t, b""), 400, "VALIDATION_ERROR", "empty")
    assert_error(upload(server, t, b'{"raw": "x"}', content_type="application/json"), 400,
                 "VALIDATION_ERROR", "message/rfc822")


def test_upload_over_the_limit_is_413(launcher):
    srv = launcher.start(env={"LEADFLOW_MAX_UPLOAD_BYTES": "4096"})
    tt = new_tenant(srv, unique_email("big"), session=False)
    big = message(addr(), "x" * 8192)
    assert_error(upload(srv, tt, big), 413, "PAYLOAD_TOO_LARGE")
    small = message(addr(), "fits")
    assert imported(srv, tt, small)["imported"] == 1
    # Other routes keep the general body limit, not the upload one.
    r = api(srv, "POST", "/api/contacts", tt.token_creds, ws=tt.workspace_id,
            body={"email": addr(), "name": "n" * 100})
    assert r.status == 201


@pytest.mark.parametrize("body", ["Merci pour le café", "会议请求 – 见面", "Sounds good 👍"])
def test_snippet_keeps_a_last_multibyte_character(server, t, body):
    """Nothing is cut from a short body, so its last character stays whole."""
    raw = (b"From: Noe Martin <noe@brightwater.example>\nTo: sales@ourteam.example\n"
           b"Subject: short\nMessage-ID: <short-" + secrets.token_hex(4).encode() + b"@x>\n"
           b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           b"Content-Transfer-Encoding: 8bit\n\n" + body.encode() + b"\n")
    assert imported(server, t, raw)["imported"] == 1
    rows, _ = emails(server, t)
    assert [r["snippet"] for r in rows if r["subject"] == "short"][0] == body


def test_long_snippet_is_cut_on_a_character(server, t):
    body = "é" * 150  # 300 bytes: the 200-byte limit falls between characters
    raw = (b"From: Noe Martin <noe@brightwater.example>\nTo: sales@ourteam.example\n"
           b"Subject: long\nMessage-ID: <long-" + secrets.token_hex(4).encode() + b"@x>\n"
           b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           b"Content-Transfer-Encoding: 8bit\n\n" + body.encode() + b"\n")
    assert imported(server, t, raw)["imported"] == 1
    rows, _ = emails(server, t)
    assert [r["snippet"] for r in rows if r["subject"] == "long"][0] == "é" * 100


def test_truncated_mime_is_stored_not_lost(server, t):
    raw = (b"From: Cut Off <cut@brightwater.example>\nTo: sales@ourteam.example\n"
           b"Subject: cut\nMessage-ID: <cut-" + secrets.token_hex(4).encode() + b"@x>\n"
           b"MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n"
           b"--b1\nContent-Type: text/plain; charset=utf-8\n\nWe would like a demo next wee")
    res = imported(server, t, raw)
    assert res["imported"] == 1, res
    rows, _ = emails(server, t)
    assert "demo next wee" in rows[0]["snippet"]


def test_mail_from_the_team_is_outbound_and_belongs_to_the_recipient(server, t):
    prospect = addr("prospect")
    msg = message(t.email, "Thanks for the call, here is the deck.", to=prospect,
                  subject="Deck")
    res = imported(server, t, msg)
    assert res["imported"] == 1
    rows, _ = emails(server, t)
    e = rows[0]
    assert e["direction"] == "outbound"
    assert e["sentiment"] is None and e["analyzedBy"] is None
    c = contact_by_email(server, t, prospect)
    assert e["contactId"] == c["id"]


def test_reply_to_of_a_relay_names_the_person(server, t):
    person = addr("real")
    msg = message("noreply@forms.example", "Form submission: please call me about pricing.",
                  headers={"Reply-To": f"Real Person <{person}>"})
    imported(server, t, msg)
    c = contact_by_email(server, t, person)
    assert c["name"] == "Real Person"


def test_newsletters_and_auto_replies_are_kept_but_not_scored(server, t):
    news, away = addr("news"), addr("away")
    res = imported(server, t, mbox(
        message(news, "Our pricing changes next month! Book a demo today.", subject="Newsletter",
                headers={"List-Unsubscribe": "<mailto:unsubscribe@brightwater.example>"}),
        message(away, "I am out of the office until Monday, so sorry.", subject="Out of office",
                headers={"Auto-Submitted": "auto-replied"}),
    ), content_type="application/mbox")
    assert res["imported"] == 2
    rows, _ = emails(server, t)
    # Mail no person wrote is general, with no analysis of its own.
    assert all(r["intents"] == ["general"] and r["sentiment"] is None and r["analyzedBy"] is None
               for r in rows), rows
    for who in (news, away):
        c = contact_by_email(server, t, who)
        assert c["status"] == "prospect"  # no buying intent read into a newsletter
        assert c["scoreBreakdown"]["engagement"] == 0 and c["scoreBreakdown"]["intent"] == 0


def test_reply_text_is_what_the_analyzer_read(server, t):
    who = addr("reply")
    body = ("Hallo Anna,\n\ndanke, das passt so. Wir melden uns nach Weihnachten.\n\n"
            "Mit freundlichen Grüßen\n\nJonas Weber\nLeiter Einkauf\n\n"
            "Von: Anna Berg <anna@ourteam.example>\nGesendet: Dienstag, 1. Dezember 2026 10:14\n"
            "An: Jonas Weber <jonas@brightwater.example>\nBetreff: Demo und Preise\n\n"
            "Hallo Jonas, our pricing is $49 per seat. Can we schedule a demo call this week?\n"
            "This is urgent, the offer ends today!\n")
    imported(server, t, message(who, body, subject="AW: Can we schedule a call? Pricing inside"))
    rows, _ = emails(server, t)
    e = rows[0]
    one = ok(api(server, "GET", f"/api/emails/{e['id']}", t.token_creds, ws=t.workspace_id))
    assert one["replyText"] == ("Hallo Anna,\n\ndanke, das passt so. Wir melden uns nach "
                                "Weihnachten.\n\nMit freundlichen Grüßen\n\nJonas Weber")
    assert "schedule a demo" in one["bodyText"]
    # Neither our quoted words nor the reply's subject are the sender's.
    assert e["intents"] == ["general"], e
    assert e["urgency"] == "low"
    c = contact_by_email(server, t, who)
    assert c["scoreBreakdown"]["intent"] < 20


def test_out_of_office_subject_alone_marks_an_automatic_reply(server, t):
    who = addr("away")
    imported(server, t, message(who, "I am out of the office until Monday with limited access "
                                "to email. For urgent pricing questions call +1 555 0100.",
                                subject="Out of Office: Re: pricing for 200 seats"))
    rows, _ = emails(server, t)
    assert rows[0]["intents"] == ["general"] and rows[0]["analyzedBy"] is None
    b = contact_by_email(server, t, who)["scoreBreakdown"]
    assert b["engagement"] == 0 and b["intent"] == 0 and b["sentiment"] == 0


BUYER_SIG = "Jordan Avery\nVP of Sales\nNorthwind Freight"
BUYER_EMAILS = [
    (6, "Pricing for 200 seats",
     "Hi,\n\nOur budget is approved for this quarter. Could you send us pricing for 200 seats "
     "on the annual plan?\n\nBest regards,"),
    (4, "Contract",
     "Hi,\n\nCan we set up a meeting this week to discuss the contract? Thursday or Friday works "
     "for us.\n\nBest regards,"),
    (2, "Next steps",
     "Hi,\n\nWe reviewed the contract with legal and are happy with it. What are the next steps "
     "to sign?\n\nBest regards,"),
    (0.1, "Order form",
     "Hi,\n\nPlease send the order form so we can get it signed this week.\n\nBest regards,"),
]


def test_repeated_buying_signals_before_we_answer_make_a_hot_lead(server, t):
    buyer = addr("buyer")
    msgs = [message(buyer, body, subject=subject, name="Jordan Avery", signature=BUYER_SIG,
                    days_ago=days) for days, subject, body in BUYER_EMAILS]
    res = imported(server, t, mbox(*msgs), content_type="application/mbox")
    assert res["imported"] == 4
    c = contact_by_email(server, t, buyer)
    assert c["jobTitle"] == "VP of Sales"
    b = c["scoreBreakdown"]
    assert c["score"] >= 80, (c["score"], b, c["scoreReasons"])
    assert b["intent"] == 20 and b["role"] == 8
    assert "wrote 4 times before we answered" in c["scoreReasons"]
    leads, _ = hot_leads(server, t)
    assert buyer in [l["contact"]["email"] for l in leads]


def test_one_off_mild_interest_is_not_hot(server, t):
    who = addr("mild")
    imported(server, t, message(who, "Hi,\n\nDoes your product integrate with Slack? We like "
                                "what we have seen so far.\n\nThanks,", subject="Slack?",
                                name="Casey Lin", signature="Casey Lin\nVP of Sales\nAcme"))
    c = contact_by_email(server, t, who)
    assert c["score"] < 60, (c["score"], c["scoreBreakdown"])
    leads, _ = hot_leads(server, t)
    assert who not in [l["contact"]["email"] for l in leads]


def test_hot_leads_are_ranked_with_parts_and_reasons(server, t):
    hot = addr("hot")
    sig = "Morgan Lee\nChief Operating Officer\nBrightwater Logistics"
    msgs = [
        message(hot, "Can we schedule a demo call this week? Our team is excited to see it.",
                subject="Demo this week?", name="Morgan Lee", signature=sig, days_ago=0.2),
        message(hot, "What would the pricing be for 200 users on the annual plan? "
                "We love what we have seen so far.", subject="Pricing", name="Morgan Lee",
                signature=sig, days_ago=1),
        message(hot, "Great session today, thank you! Could you send the contract terms?",
                subject="Next steps", name="Morgan Lee", signature=sig, days_ago=2),
        message(hot, "Happy to move forward. Can we meet on Thursday to finalize the quote?",
                subject="Meeting Thursday", name="Morgan Lee", signature=sig, days_ago=3),
        message(hot, "Thanks, this is excellent. We are very interested in a pilot.",
                subject="Pilot", name="Morgan Lee", signature=sig, days_ago=4),
    ]
    cold = addr("cold")
    msgs.append(message(cold, "Please remove me from this list, I am not interested.",
                        subject="Unsubscribe", days_ago=20))
    res = imported(server, t, mbox(*msgs), content_type="application/mbox")
    assert res["imported"] == 6

    leads, meta = hot_leads(server, t)
    assert meta["total"] == 1 and meta["minScore"] == 80
    [lead] = leads
    c = lead["contact"]
    assert c["email"] == hot and c["tier"] == "hot" and c["score"] >= 80
    b = c["scoreBreakdown"]
    assert set(b) == {"engagement", "sentiment", "intent", "role", "status"}
    assert b["role"] == 10 and b["intent"] == 20 and b["status"] == 7
    assert 0 < b["engagement"] <= 40 and 0 <= b["sentiment"] <= 20
    assert c["scoreReasons"][0].startswith(("asked for a meeting", "asked about pricing"))
    assert "Chief Operating Officer" in c["scoreReasons"]
    assert "5 emails in the last 30 days" in c["scoreReasons"]
    assert lead["lastEmail"]["subject"] == "Demo this week?"
    assert "meeting_request" in lead["lastEmail"]["intents"]

    # minScore lowers the bar: both show, best first.
    everyone, meta = hot_leads(server, t, minScore=0)
    assert meta["total"] == 2
    scores = [x["contact"]["score"] for x in everyone]
    assert scores == sorted(scores, reverse=True)
    assert everyone[-1]["contact"]["email"] == cold

    # Every change of the total was written to the history, the last one current.
    hist = db_query(server, "SELECT score, previous FROM score_history WHERE contact_id = ?"
                            " ORDER BY id", (c["id"],))
    assert hist and hist[-1][0] == c["score"]
    assert all(s != p for s, p in hist)


def test_a_new_email_rescores_the_contact(server, t):
    who = addr("grow")
    imported(server, t, message(who, "Hello, nice to meet you.", subject="Hi", days_ago=10))
    before = contact_by_email(server, t, who)
    imported(server, t, message(who, "Could we book a meeting next week to discuss pricing?",
                                subject="Meeting", days_ago=0))
    after = contact_by_email(server, t, who)
    assert after["score"] > before["score"]
    assert after["scoreBreakdown"]["intent"] == 20
    n = db_query(server, "SELECT COUNT(*) FROM score_history WHERE contact_id = ?",
                 (after["id"],))[0][0]
    assert n >= 2


def test_list_filters(server, t):
    a1, a2 = addr("f1"), addr("f2")
    imported(server, t, mbox(
        message(a1, "What is the price of the enterprise plan?", subject="Enterprise price"),
        message(a2, "Your service has been down all day and we are very upset.",
                subject="Outage"),
    ), content_type="application/mbox")
    rows, meta = emails(server, t, intent="pricing_inquiry")
    assert [r["from"]["email"] for r in rows] == [a1]
    rows, _ = emails(server, t, sentiment="negative")
    assert [r["from"]["email"] for r in rows] == [a2]
    rows, _ = emails(server, t, q="Outage")
    assert [r["subject"] for r in rows] == ["Outage"]
    cid = contact_by_email(server, t, a1)["id"]
    rows, _ = emails(server, t, contactId=cid)
    assert [r["from"]["email"] for r in rows] == [a1]
    rows, meta = emails(server, t, pageSize=1, page=2)
    assert meta["total"] == 2 and len(rows) == 1
    # LIKE wildcards are text, not patterns.
    rows, _ = emails(server, t, q="%")
    assert rows == []


@pytest.mark.parametrize("params,word", [
    ({"intent": "buying"}, "intent"),
    ({"sentiment": "angry"}, "sentiment"),
    ({"pageSize": "0"}, "pageSize"),
    ({"page": "x"}, "page"),
    ({"q": "x" * 201}, "q"),
])
def test_list_rejects_bad_arguments(server, t, params, word):
    r = api(server, "GET", "/api/emails", t.token_creds, ws=t.workspace_id, params=params)
    assert_error(r, 400, "VALIDATION_ERROR", word)


def test_unknown_email_id_is_404(server, t):
    for eid in (random_id(), "x" * 100, "import"):
        r = api(server, "GET", f"/api/emails/{eid}", t.token_creds, ws=t.workspace_id)
        assert_error(r, 404, "NOT_FOUND")


def test_dashboard_stats_count_tiers_and_emails(server, t):
    r = api(server, "GET", "/api/dashboard/stats", t.token_creds, ws=t.workspace_id)
    empty = ok(r)
    assert empty["contacts"] == {"total": 0, "hot": 0, "warm": 0, "cold": 0}
    assert empty["emails"] == {"total": 0, "thisWeek": 0, "unprocessed": 0}
    assert empty["drafts"] == {"awaitingReview": 0}
    imported(server, t, mbox(message(addr(), "hello", days_ago=1),
                             message(addr(), "old news", days_ago=12)),
             content_type="application/mbox")
    s = ok(api(server, "GET", "/api/dashboard/stats", t.token_creds, ws=t.workspace_id))
    assert s["emails"]["total"] == 2 and s["emails"]["thisWeek"] == 1
    c = s["contacts"]
    assert c["total"] == 2 and c["hot"] + c["warm"] + c["cold"] == 2


def test_hot_lead_arguments_are_checked(server, t):
    for params in ({"limit": "0"}, {"limit": "101"}, {"minScore": "101"}, {"offset": "-1"}):
        r = api(server, "GET", "/api/agents/contact-intelligence", t.token_creds,
                ws=t.workspace_id, params=params)
        assert_error(r, 400, "VALIDATION_ERROR")


def test_viewer_can_read_but_not_import(server, t):
    viewer = add_user(server, unique_email("viewer"))
    add_member(server, viewer.user_id, t.org_id, "viewer")
    token = insert_token(server, t.workspace_id, viewer.user_id)
    creds = Creds("token", token=token)
    assert_error(upload(server, t, message(addr(), "hi"), creds=creds), 403, "FORBIDDEN")
    r = api(server, "GET", "/api/emails", creds, ws=t.workspace_id)
    assert r.status == 200


def test_crossing_into_hot_queues_one_draft(server, t):
    who = addr("crossing")
    sig = "Robin Park\nChief Executive Officer\nBrightwater Logistics"
    first = [message(who, body, subject=subj, name="Robin Park", signature=sig, days_ago=d)
             for subj, body, d in [
                 ("Demo?", "Can we schedule a demo this week? We are excited.", 0.1),
                 ("Pricing", "What is your pricing for 100 seats? Love the product.", 1),
                 ("Contract", "Please send the contract terms, thank you, great call.", 2),
                 ("Pilot", "We are very happy to start a pilot soon. Thanks!", 3),
                 ("Quote", "Could we meet Thursday to finalize the quote?", 4)]]
    imported(server, t, mbox(*first), content_type="application/mbox")
    c = contact_by_email(server, t, who)
    assert c["score"] >= 80, c
    jobs = db_query(server, "SELECT kind, CAST(payload AS TEXT) FROM jobs"
                            " WHERE workspace_id = ? AND kind = 'draft_content'", (t.workspace_id,))
    assert len(jobs) == 1 and c["id"] in jobs[0][1], jobs
    # Still hot after one more email: no second crossing, no second job.
    imported(server, t, message(who, "One more question about onboarding?", subject="Onboarding"))
    jobs = db_query(server, "SELECT COUNT(*) FROM jobs WHERE workspace_id = ?"
                            " AND kind = 'draft_content'", (t.workspace_id,))
    assert jobs[0][0] == 1


def test_hot_leads_follow_every_change_of_the_workspace(server, t):
    """The list is remembered between requests: each kind of change must show."""
    sig = "Avery Stone\nVP of Sales\nNorthwind Freight"
    who = addr("cache")
    msgs = [message(who, "Can we schedule a demo call this week to discuss pricing for 80 "
                    "seats? We love it.", subject=f"Demo {i}", name="Avery Stone",
                    signature=sig, days_ago=i + 0.1) for i in range(5)]
    imported(server, t, mbox(*msgs), content_type="application/mbox")
    first, _ = hot_leads(server, t)
    again, _ = hot_leads(server, t)
    assert again == first and len(first) == 1
    cid = first[0]["contact"]["id"]

    # An edit of the contact.
    ok(api(server, "PATCH", f"/api/contacts/{cid}", t.token_creds, ws=t.workspace_id,
           body={"name": "Renamed"}))
    renamed, _ = hot_leads(server, t)
    assert renamed[0]["contact"]["name"] == "Renamed"

    # A new email: the last email shown moves.
    imported(server, t, message(who, "One more question about the annual pricing, please.",
                                subject="Newest", name="Avery Stone", signature=sig,
                                days_ago=0))
    newer, _ = hot_leads(server, t)
    assert newer[0]["lastEmail"]["subject"] == "Newest"

    # Other arguments are other replies.
    all_, meta = hot_leads(server, t, minScore=0, limit=5)
    assert meta["limit"] == 5 and meta["minScore"] == 0

    # A delete empties it.
    ok(api(server, "DELETE", f"/api/contacts/{cid}", t.token_creds, ws=t.workspace_id))
    gone, meta = hot_leads(server, t)
    assert gone == [] and meta["total"] == 0


def test_hot_leads_follow_writes_of_other_processes_at_once(server, t, tmp_path):
    """The remembered list is checked against every commit to the database,
    also those of another process: a `leadflow import` beside the server, and
    a write through another connection."""
    sig = "Jo Reyes\nChief Executive Officer\nHarbor Analytics"
    who = addr("other-process")
    first, _ = hot_leads(server, t)
    again, _ = hot_leads(server, t)
    assert again == first == []
    path = tmp_path / "hot.mbox"
    path.write_bytes(mbox(*[message(who, "Can we schedule a demo call this week to discuss "
                                    "pricing for 80 seats? We love it.", subject=f"Demo {i}",
                                    name="Jo Reyes", signature=sig, days_ago=i + 0.1)
                            for i in range(5)]))
    r = cli(server, "import", "--workspace", t.workspace_id, str(path))
    assert "imported 5" in r.stderr, r.stderr
    leads, _ = hot_leads(server, t)
    assert [x["contact"]["email"] for x in leads] == [who]
    db_exec(server, "UPDATE contacts SET name = 'Renamed Elsewhere' WHERE workspace_id = ?",
            (t.workspace_id,))
    renamed, _ = hot_leads(server, t)
    assert renamed[0]["contact"]["name"] == "Renamed Elsewhere"


def test_concurrent_uploads_into_one_workspace_all_land(server, t):
    """Many uploads at once into one workspace, most from one sender (one
    contact, one set of counters): every one is stored, none fails with a
    lock conflict, and the counts add up."""
    import threading

    senders = [f"busy-{secrets.token_hex(3)}@rush.example" for _ in range(3)]
    results = []
    lock = threading.Lock()

    def send(i):
        who = senders[0] if i % 4 else senders[i % 3]
        r = upload(server, t, message(who, f"Can we talk about pricing? ({i})",
                                      subject=f"Rush {i}", name="Rush Hour"))
        job = wait_job(server, t, r.json["data"]["id"])["status"] if r.status == 202 else None
        with lock:
            results.append((i, r.status, job, r.text if r.status != 202 else ""))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    failed = [(i, st, job, body[:200]) for i, st, job, body in results
              if st != 202 or job != "done"]
    assert not failed, failed
    _, meta = emails(server, t, pageSize=1)
    assert meta["total"] == 40
    stats = ok(api(server, "GET", "/api/dashboard/stats", t.token_creds, ws=t.workspace_id))
    assert stats["emails"]["total"] == 40, stats
    first = contact_by_email(server, t, senders[0])
    mine = [e for e in ok(api(server, "GET", "/api/emails", t.token_creds, ws=t.workspace_id,
                                params={"contactId": first["id"], "pageSize": 100}))]
    assert len(mine) == len([i for i in range(40) if i % 4 or i % 3 == 0])
