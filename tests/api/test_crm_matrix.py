"""One change of a contact, whoever makes it, sets off the same reactions
(src/crm/crm.h): a matrix over the producers, against the real server.

- Crossing into hot (score from below 80 to 80 or more), made by an import
  of mail, by a person opening or clicking a tracked email, and by a
  campaign's score step: each raises the new_hot_lead and score_above (80)
  alerts for the contact, announces hot_lead on the workspace's WebSocket,
  queues the draft job whose draft (reason hot_lead) appears at
  GET /api/content, and enrolls the contact in the campaign triggered by
  score_above 80.
- A tag added, by PATCH /api/contacts/{id} and by a campaign's tag step:
  each enrolls the contact in the campaign triggered by tag_added for it.
- A contact leaving, by the one-click unsubscribe and by a provider's
  permanent refusal (a bounce): each cancels its active enrollments and
  puts its address on the suppression list.

Opens and clicks: one open or click alone adds too few points to make a
cold contact hot, so the contact is first brought to 79 by a score step
(campaign points, kept by rescoring) and a tracked email is sent to it
through the fake SendGrid API; the person's open or click of that email (a
minute later on the test clock, past the bot window) then rescores it over
80. Every case runs in its own workspace on one server.

The clock: LEADFLOW_TEST_CLOCK_FILE (see test_campaigns.py).
"""
import os
import re
import sys
import time

import pytest

import tenantutil as tu
from conftest import Launcher
from mailutil import contact_by_email, imported
from tenantutil import api, ok
from test_campaigns import Clock
from test_ws import hot_mbox, session_ws

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402

SECRET = "crm-matrix-secret-key-0123456789abcdef0123"
FROM = "Acme Sales <sales@acme.example>"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.1 Safari/605.1.15")
HOT = 80
WARM = 79  # one below hot: where a score step leaves the contact an open or click pushes over
MINUTE = 60 * 1000
DAY = 24 * 3600 * 1000
FOLLOW_UP_TAG = "hot-follow-up"


@pytest.fixture(scope="module")
def sendgrid():
    with FakeSendGridAPI() as f:
        yield f


@pytest.fixture(scope="module")
def srv(bin_path, tmp_path_factory, web_dir, sendgrid):
    clock = Clock(str(tmp_path_factory.mktemp("crm-clock") / "offset"))
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env={"LEADFLOW_SECRET_KEY": SECRET, "LEADFLOW_MAIL_FROM": FROM,
                      "LEADFLOW_SENDGRID_API_KEY": sendgrid.api_key,
                      "LEADFLOW_SENDGRID_API_URL": sendgrid.url,
                      "LEADFLOW_SEND_TIMEOUT_MS": "2000", "LEADFLOW_JOB_POLL_MS": "50",
                      "LEADFLOW_TEST_CLOCK_FILE": clock.path})
    s.clock = clock
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture
def t(srv):
    return tu.new_tenant(srv)


# -- requests and waits -----------------------------------------------------------------


def call(srv, t, method, path, body=None, status=200, params=None):
    return ok(api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body, params=params),
              status)


def wait_for(what, fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def campaign(srv, t, name, steps, trigger=None):
    body = {"name": name}
    if trigger is not None:
        body["trigger"] = trigger
    c = call(srv, t, "POST", "/api/campaigns", body, status=201)
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": steps})
    c = call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")
    assert c["status"] == "active"
    return c


def enroll(srv, t, c, contact_id):
    res = call(srv, t, "POST", f"/api/campaigns/{c['id']}/enroll", {"contactIds": [contact_id]})
    assert [x["contactId"] for x in res["enrolled"]] == [contact_id], res
    return res


def enrollments_of(srv, t, c, contact_id):
    return [x for x in call(srv, t, "GET", f"/api/campaigns/{c['id']}/enrollments")
            if x["contactId"] == contact_id]


def wait_enrollment(srv, t, c, contact_id, status):
    def check():
        got = enrollments_of(srv, t, c, contact_id)
        return got if got and got[-1]["status"] == status else None
    return wait_for(f"an enrollment of {contact_id} in {c['name']} {status}", check)


def contact(srv, t, cid):
    return call(srv, t, "GET", f"/api/contacts/{cid}")


def alerts_for(srv, t, cid):
    return [a for a in call(srv, t, "GET", "/api/alerts") if a["data"].get("contactId") == cid]


def drafts_for(srv, t, cid):
    return call(srv, t, "GET", "/api/content", params={"contactId": cid})


def score_campaign(srv, t, name, delta):
    return campaign(srv, t, name, [{"type": "score", "config": {"delta": delta}}])


def delivery_to(sendgrid, address):
    return [j for j in sendgrid.delivered().values()
            if j["personalizations"][0]["to"][0]["email"] == address]


def send_tracked(srv, t, sendgrid, c):
    """Sends c an email with a link through the API; returns what SendGrid got."""
    link = "https://acme.example/pricing"
    q = call(srv, t, "POST", "/api/emails/send",
             {"contactId": c["id"], "subject": "Our pricing",
              "text": f"Hello, the plans are at {link}",
              "html": f'<p>Hello, the plans are <a href="{link}">here</a></p>'},
             status=202)
    assert q["status"] == "queued"
    wait_for("the email sent", lambda: call(srv, t, "GET", f"/api/emails/sent/{q['id']}")
             ["status"] == "sent")
    (d,) = wait_for("the delivery", lambda: delivery_to(sendgrid, c["email"]))
    return d


def html_of(delivery):
    return [p["value"] for p in delivery["content"] if p["type"] == "text/html"][0]


# -- producers of a crossing into hot ------------------------------------------------------


def warm_contact(srv, t):
    """A contact held at WARM by a score step (nothing of hot fired yet)."""
    c = tu.create_contact(srv, t, name="Casey Warm", company="Brightwater Logistics")
    warm = score_campaign(srv, t, "Warm-up", WARM)
    enroll(srv, t, warm, c["id"])
    wait_enrollment(srv, t, warm, c["id"], "completed")
    return c


def by_import(srv, t, sendgrid):
    who = tu.unique_email("hot-import")
    res = imported(srv, t, hot_mbox(who, name="Robin Park"), content_type="application/mbox")
    assert res["imported"] == 5, res
    return contact_by_email(srv, t, who)["id"]


def by_tracking(kind):
    def produce(srv, t, sendgrid):
        c = warm_contact(srv, t)
        d = send_tracked(srv, t, sendgrid, c)
        assert contact(srv, t, c["id"])["score"] == WARM
        srv.clock.advance(MINUTE)  # a person, not a machine: later than the bot window
        html = html_of(d)
        if kind == "open":
            m = re.search(r'/t/o/([A-Za-z0-9_-]+)\.gif', html)
            assert m, html
            r = srv.get(f"/t/o/{m.group(1)}.gif", headers={"User-Agent": BROWSER})
            assert r.status == 200
        else:
            m = re.search(r'/t/c/([A-Za-z0-9_-]+)', html)
            assert m, html
            r = srv.get(f"/t/c/{m.group(1)}", headers={"User-Agent": BROWSER})
            assert r.status == 302 and r.header("Location") == "https://acme.example/pricing"
        return c["id"]
    return produce


def by_score_step(srv, t, sendgrid):
    c = warm_contact(srv, t)
    bump = score_campaign(srv, t, "Bump", HOT - WARM)
    enroll(srv, t, bump, c["id"])
    wait_enrollment(srv, t, bump, c["id"], "completed")
    return c["id"]


HOT_PRODUCERS = {
    "import": by_import,
    "open": by_tracking("open"),
    "click": by_tracking("click"),
    "score_step": by_score_step,
}


@pytest.mark.parametrize("producer", list(HOT_PRODUCERS))
def test_crossing_into_hot_sets_off_every_reaction(srv, t, sendgrid, producer):
    rules = {r["trigger"]: r for r in (
        call(srv, t, "POST", "/api/alerts/rules",
             {"name": "New hot lead", "trigger": "new_hot_lead"}, status=201),
        call(srv, t, "POST", "/api/alerts/rules",
             {"name": "Score 80", "trigger": "score_above", "threshold": HOT}, status=201))}
    follow_up = campaign(srv, t, "Hot follow-up",
                         [{"type": "tag", "config": {"add": [FOLLOW_UP_TAG]}}],
                         trigger={"type": "score_above", "threshold": HOT})
    ws = session_ws(srv, t)
    try:
        cid = HOT_PRODUCERS[producer](srv, t, sendgrid)

        # The live event: the crossing's score, in this workspace.
        ev, _ = ws.wait_for("hot_lead", timeout=15)
        assert ev["workspaceId"] == t.workspace_id
        assert ev["data"]["contactId"] == cid
        score = ev["data"]["score"]
        assert score >= HOT
        c = contact(srv, t, cid)
        assert c["score"] == score
        assert ev["data"]["email"] == c["email"] and ev["data"]["name"] == c["name"]

        # Both alert rules, once each, for this contact and this crossing.
        got = wait_for("two alerts", lambda: (lambda a: a if len(a) >= 2 else None)(
            alerts_for(srv, t, cid)))
        assert sorted(a["trigger"] for a in got) == ["new_hot_lead", "score_above"], got
        for a in got:
            assert a["ruleId"] == rules[a["trigger"]]["id"]
            assert a["subject"] == cid and a["status"] == "open"
            assert a["data"]["contactId"] == cid and a["data"]["score"] == score
            assert a["data"]["previous"] < HOT
        (hot_alert,) = [a for a in got if a["trigger"] == "new_hot_lead"]
        assert hot_alert["title"].startswith("New hot lead: ")

        # The enrollment the score_above trigger made, walked to its end.
        (e,) = wait_enrollment(srv, t, follow_up, cid, "completed")
        assert FOLLOW_UP_TAG in contact(srv, t, cid)["tags"]

        # The draft the hot lead's job wrote.
        (d,) = wait_for("a draft", lambda: drafts_for(srv, t, cid))
        assert d["contactId"] == cid and d["reason"] == "hot_lead"
        assert d["scoreAtDraft"] == score and d["status"] == "draft"

        # Nothing twice: one crossing, one of each.
        ws.send_text('{"type":"ping"}')
        _, seen = ws.wait_for("pong")
        assert [m for m in seen if m.get("type") == "hot_lead"] == []
        assert sorted(a["trigger"] for a in alerts_for(srv, t, cid)) == \
            ["new_hot_lead", "score_above"]
        assert len(drafts_for(srv, t, cid)) == 1
        assert len(enrollments_of(srv, t, follow_up, cid)) == 1
    finally:
        ws.close()


def test_warm_is_not_hot(srv, t):
    """The control of the matrix: a contact left at 79 sets off none of it."""
    call(srv, t, "POST", "/api/alerts/rules", {"name": "New hot lead", "trigger": "new_hot_lead"},
         status=201)
    call(srv, t, "POST", "/api/alerts/rules",
         {"name": "Score 80", "trigger": "score_above", "threshold": HOT}, status=201)
    follow_up = campaign(srv, t, "Hot follow-up",
                         [{"type": "tag", "config": {"add": [FOLLOW_UP_TAG]}}],
                         trigger={"type": "score_above", "threshold": HOT})
    c = warm_contact(srv, t)
    time.sleep(0.3)  # a few job polls
    assert contact(srv, t, c["id"])["score"] == WARM
    assert alerts_for(srv, t, c["id"]) == []
    assert drafts_for(srv, t, c["id"]) == []
    assert enrollments_of(srv, t, follow_up, c["id"]) == []


# -- producers of an added tag ---------------------------------------------------------


def tag_by_api(srv, t, cid):
    got = call(srv, t, "PATCH", f"/api/contacts/{cid}", {"tags": ["trial", "x"]})
    assert got["tags"] == ["trial", "x"]


def tag_by_step(srv, t, cid):
    tagger = campaign(srv, t, "Tagger", [{"type": "tag", "config": {"add": ["x"]}}])
    enroll(srv, t, tagger, cid)
    wait_enrollment(srv, t, tagger, cid, "completed")


TAG_PRODUCERS = {"api": tag_by_api, "tag_step": tag_by_step}


@pytest.mark.parametrize("producer", list(TAG_PRODUCERS))
def test_an_added_tag_enrolls_where_its_trigger_says(srv, t, producer):
    on_x = campaign(srv, t, "On x", [{"type": "tag", "config": {"add": ["x-welcomed"]}}],
                    trigger={"type": "tag_added", "tag": "x"})
    on_y = campaign(srv, t, "On y", [{"type": "tag", "config": {"add": ["y-welcomed"]}}],
                    trigger={"type": "tag_added", "tag": "y"})
    c = tu.create_contact(srv, t, name="Tess Tagged", tags=["trial"])
    assert enrollments_of(srv, t, on_x, c["id"]) == []
    TAG_PRODUCERS[producer](srv, t, c["id"])
    (e,) = wait_enrollment(srv, t, on_x, c["id"], "completed")
    assert sorted(contact(srv, t, c["id"])["tags"]) == ["trial", "x", "x-welcomed"]
    assert enrollments_of(srv, t, on_y, c["id"]) == []


# -- producers of a contact leaving ------------------------------------------------------


def leave_by_unsubscribe(srv, t, sendgrid, c):
    d = send_tracked(srv, t, sendgrid, c)
    m = re.search(r"/u/([A-Za-z0-9_-]+)", d["headers"]["List-Unsubscribe"])
    assert m, d["headers"]
    r = srv.request("POST", f"/u/{m.group(1)}", body=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             "User-Agent": BROWSER})
    assert r.status == 200
    assert contact(srv, t, c["id"])["unsubscribedAt"]
    return "unsubscribed"


def leave_by_bounce(srv, t, sendgrid, c):
    sendgrid.set_mode("permanent")
    try:
        q = call(srv, t, "POST", "/api/emails/send",
                 {"contactId": c["id"], "subject": "Hello", "text": "Hello there."}, status=202)
        row = wait_for("the refusal", lambda: (lambda r: r if r["status"] == "refused" else None)(
            call(srv, t, "GET", f"/api/emails/sent/{q['id']}")))
    finally:
        sendgrid.set_mode("ok")
    assert [(a["provider"], a["outcome"]) for a in row["attempts"]] == [("sendgrid", "permanent")]
    return "bounced"


LEAVE_PRODUCERS = {"unsubscribe": leave_by_unsubscribe, "bounce": leave_by_bounce}


@pytest.mark.parametrize("producer", list(LEAVE_PRODUCERS))
def test_a_leaving_contact_ends_its_enrollments(srv, t, sendgrid, producer):
    started = {"type": "tag", "config": {"add": ["started"]}}
    waiting = {"type": "wait", "config": {"duration_ms": 5 * DAY}}
    nurture = campaign(srv, t, "Nurture",
                       [started, waiting, {"type": "tag", "config": {"add": ["n"]}}])
    later = campaign(srv, t, "Later",
                     [started, waiting, {"type": "score", "config": {"delta": 5}}])
    c = tu.create_contact(srv, t, name="Lee Leaving")
    bystander = tu.create_contact(srv, t, name="Sam Staying")
    for camp in (nurture, later):
        for who in (c, bystander):
            enroll(srv, t, camp, who["id"])
    # Both walks are under way (their first step ran for both contacts).
    for camp in (nurture, later):
        wait_for("the first steps", lambda: len(call(
            srv, t, "GET", f"/api/campaigns/{camp['id']}/logs")) == 2)
        assert [e["status"] for e in enrollments_of(srv, t, camp, c["id"])] == ["active"]

    reason = LEAVE_PRODUCERS[producer](srv, t, sendgrid, c)

    for camp in (nurture, later):
        (e,) = wait_enrollment(srv, t, camp, c["id"], "cancelled")
        assert e["reason"] == reason
        # Only the leaving contact's.
        assert [x["status"] for x in enrollments_of(srv, t, camp, bystander["id"])] == ["active"]
    # And its address alone is on the suppression list, for the reason it left.
    listed = call(srv, t, "GET", "/api/suppressions")
    assert [(x["email"], x["reason"], x["contactId"]) for x in listed] == \
        [(c["email"].lower(), {"unsubscribed": "unsubscribe", "bounced": "bounce"}[reason], c["id"])]
