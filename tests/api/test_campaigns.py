"""Drip campaigns end to end: the real server and its job workers on a
simulated clock, sends through the fake SendGrid API, webhooks to a local
receiver that checks the signature.

The clock: the server is started with LEADFLOW_TEST_CLOCK_FILE; the clock
of every leadflow process started so is real time plus the offset (ms) in
that file (src/base/clock.h), so `advance()` moves a running server (and
`leadflow worker --once`) days ahead and week-long waits take a second.
"""
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import re
import socket
import sys
import threading
import time

import pytest

import tenantutil as tu
from conftest import Launcher
from tenantutil import api, assert_error, ok

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.sendgrid_api import FakeSendGridAPI  # noqa: E402

SECRET = "drip-test-secret-key-0123456789abcdef0123"
FROM = "Acme Sales <sales@acme.example>"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.1 Safari/605.1.15")
HOUR = 3600 * 1000
DAY = 24 * HOUR
BODY = "Hi {{first_name}},\n\nA note for {{company}}: https://acme.example/offer\n\n" \
       "Stop these: {{unsubscribe_url}}"


class Clock:
    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(self.offset))
        os.replace(tmp, self.path)

    def advance(self, ms):
        self.offset += ms
        self.write()


class Receiver:
    """A local webhook endpoint: records requests, answers with self.status."""

    def __init__(self):
        self.requests = []
        self.status = 200
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                outer.requests.append((dict((k.lower(), v) for k, v in self.headers.items()),
                                       body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def sendgrid():
    with FakeSendGridAPI() as f:
        yield f


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory, sendgrid):
    clock_file = str(tmp_path_factory.mktemp("clock") / "offset")
    clock = Clock(clock_file)
    e = {"LEADFLOW_SECRET_KEY": SECRET, "LEADFLOW_MAIL_FROM": FROM,
         "LEADFLOW_SENDGRID_API_KEY": sendgrid.api_key, "LEADFLOW_SENDGRID_API_URL": sendgrid.url,
         "LEADFLOW_SEND_TIMEOUT_MS": "2000", "LEADFLOW_JOB_POLL_MS": "50",
         "LEADFLOW_TEST_CLOCK_FILE": clock_file}
    return clock, e


@pytest.fixture(scope="module")
def srv(bin_path, tmp_path_factory, web_dir, env):
    clock, e = env
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env=dict(e, LEADFLOW_WEBHOOK_ALLOW_PRIVATE="1"))
    s.clock = clock
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture
def t(srv):
    return tu.new_tenant(srv, session=False)


# -- helpers --------------------------------------------------------------------


def call(srv, t, method, path, body=None, status=200, params=None):
    r = api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body, params=params)
    return ok(r, status)


def email_step(subject="Hello {{first_name}}", body=BODY, **kw):
    return dict({"type": "email", "config": {"subject": subject, "body": body}}, **kw)


def campaign(srv, t, steps, name="Onboarding", activate=True, **fields):
    c = call(srv, t, "POST", "/api/campaigns", dict({"name": name}, **fields), status=201)
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": steps})
    if activate:
        c = call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")
        assert c["status"] == "active"
    return c


def enroll(srv, t, c, contacts):
    return call(srv, t, "POST", f"/api/campaigns/{c['id']}/enroll",
                {"contactIds": [x["id"] for x in contacts]})


def enrollments(srv, t, c):
    return call(srv, t, "GET", f"/api/campaigns/{c['id']}/enrollments")


def logs(srv, t, c):
    return list(reversed(call(srv, t, "GET", f"/api/campaigns/{c['id']}/logs",
                              params={"pageSize": 200})))


def wait_for(what, fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def settled(srv, t, c, n_logs):
    """Waits until the campaign has n_logs execution logs; returns them."""
    return wait_for(f"{n_logs} logs", lambda: (lambda L: L if len(L) >= n_logs else None)(
        logs(srv, t, c)))


def enrollment_of(srv, t, c, contact):
    (e,) = [x for x in enrollments(srv, t, c) if x["contactId"] == contact["id"]]
    return e


def wait_status(srv, t, c, contact, status):
    return wait_for(f"enrollment {status}",
                    lambda: (lambda e: e if e["status"] == status else None)(
                        enrollment_of(srv, t, c, contact)))


def deliveries_to(sendgrid, address):
    return [j for j in sendgrid.delivered().values()
            if j["personalizations"][0]["to"][0]["email"] == address]


def html_of(delivery):
    return [p["value"] for p in delivery["content"] if p["type"] == "text/html"][0]


def text_of(delivery):
    return [p["value"] for p in delivery["content"] if p["type"] == "text/plain"][0]


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize("step,message", [
    ({"type": "email", "config": {"subject": "Hi", "body": "no link"}}, "unsubscribe_url"),
    ({"type": "email", "config": {"body": BODY}}, "steps[0].config.subject is required"),
    ({"type": "email", "config": {"subject": "Hi {{nope}}", "body": BODY}}, "{{nope}}"),
    ({"type": "email", "config": {"subject": "Hi", "body": BODY,
                                  "variants": [{"subject": "B", "body": "x"}]}},
     "variants[0].body must contain"),
    ({"type": "wait", "config": {}}, "duration_ms is required"),
    ({"type": "wait", "config": {"until": "opened"}}, "timeout_ms is required"),
    ({"type": "wait", "config": {"until": "bounced", "timeout_ms": 5}}, "until must be one of"),
    ({"type": "condition", "config": {"kind": "score_above", "value": 50}, "false": None},
     "true is required"),
    ({"type": "condition", "config": {"kind": "weather"}, "true": None, "false": None},
     "kind must be one of"),
    ({"type": "condition", "config": {"kind": "score_above", "value": "x"}, "true": None,
      "false": None}, "value must be a score"),
    ({"type": "tag", "config": {}}, "add or remove"),
    ({"type": "score", "config": {"delta": 0}}, "delta must be a non-zero"),
    ({"type": "webhook", "config": {"url": "ftp://x", "secret": "s" * 20}}, "url must be"),
    ({"type": "webhook", "config": {"url": "https://x.example"}}, "secret is required"),
    ({"type": "fax", "config": {}}, "type must be one of"),
    ({"type": "tag", "config": {"add": ["a"]}, "next": 7}, "no step at position 7"),
    ({"type": "tag", "config": {"add": ["a"]}, "next": "missing"}, "no step has the key"),
])
def test_step_validation_names_the_field(srv, t, step, message):
    c = call(srv, t, "POST", "/api/campaigns", {"name": "V"}, status=201)
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": [step]})
    assert_error(r, 400, "VALIDATION_ERROR", message)


def test_campaign_validation(srv, t):
    assert_error(api(srv, "POST", "/api/campaigns", t.token_creds, ws=t.workspace_id, body={}),
                 400, "VALIDATION_ERROR", "name is required")
    assert_error(api(srv, "POST", "/api/campaigns", t.token_creds, ws=t.workspace_id,
                     body={"name": "x", "trigger": 5}), 400, "VALIDATION_ERROR", "trigger")


def test_activation_checks_the_graph(srv, t):
    c = campaign(srv, t, [], activate=False)
    assert_error(api(srv, "POST", f"/api/campaigns/{c['id']}/activate", t.token_creds,
                     ws=t.workspace_id), 400, "VALIDATION_ERROR", "no steps")
    # A cycle: 0 -> 1 -> 0.
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": [
        {"type": "tag", "config": {"add": ["a"]}, "next": 1},
        {"type": "tag", "config": {"add": ["b"]}, "next": 0}]})
    assert_error(api(srv, "POST", f"/api/campaigns/{c['id']}/activate", t.token_creds,
                     ws=t.workspace_id), 400, "VALIDATION_ERROR", "cycle")
    # Unreachable: 0 ends at once, 1 hangs alone.
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": [
        {"type": "tag", "config": {"add": ["a"]}, "next": None},
        {"type": "tag", "config": {"add": ["b"]}}]})
    assert_error(api(srv, "POST", f"/api/campaigns/{c['id']}/activate", t.token_creds,
                     ws=t.workspace_id), 400, "VALIDATION_ERROR", "cannot be reached")
    # Keys instead of positions; a condition ending explicitly on one branch.
    steps = call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": [
        {"key": "check", "type": "condition", "config": {"kind": "has_tag", "value": "vip"},
         "true": "vip", "false": None},
        {"key": "vip", "type": "tag", "config": {"add": ["seen"]}}]})
    assert steps[0]["true"] == 1 and steps[0]["false"] is None and steps[1]["next"] is None
    assert call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")["status"] == "active"


def test_enroll_needs_an_active_campaign_and_skips_with_reasons(srv, t):
    a = tu.create_contact(srv, t, name="Ana Alpha")
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["x"]}}], activate=False)
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/enroll", t.token_creds, ws=t.workspace_id,
            body={"contactIds": [a["id"]]})
    assert_error(r, 409, "CONFLICT", "only an active campaign")
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")
    gone = tu.random_id()
    res = call(srv, t, "POST", f"/api/campaigns/{c['id']}/enroll",
               {"contactIds": [a["id"], gone]})
    assert [x["contactId"] for x in res["enrolled"]] == [a["id"]]
    assert res["skipped"] == [{"contactId": gone, "reason": "not_found"}]
    wait_status(srv, t, c, a, "completed")
    res = enroll(srv, t, c, [a])
    assert res["enrolled"] == [] and res["skipped"][0]["reason"] == "already_enrolled"
    # Re-enrollment when the campaign allows it.
    call(srv, t, "PATCH", f"/api/campaigns/{c['id']}", {"allowReenroll": True})
    res = enroll(srv, t, c, [a])
    assert len(res["enrolled"]) == 1
    assert_error(api(srv, "POST", f"/api/campaigns/{c['id']}/enroll", t.token_creds,
                     ws=t.workspace_id, body={}), 400, "VALIDATION_ERROR", "contactIds or filter")


def test_enroll_by_filter_and_unsubscribed_refused(srv, t):
    a = tu.create_contact(srv, t, name="Tagged One", tags=["beta"])
    b = tu.create_contact(srv, t, name="Tagged Two", tags=["beta"])
    tu.create_contact(srv, t, name="Untagged")
    tu.db_exec(srv, "UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?", (b["id"],))
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["x"]}}])
    res = call(srv, t, "POST", f"/api/campaigns/{c['id']}/enroll", {"filter": {"tag": "beta"}})
    assert [x["contactId"] for x in res["enrolled"]] == [a["id"]]
    assert res["skipped"] == [{"contactId": b["id"], "reason": "unsubscribed"}]


# -- execution ----------------------------------------------------------------------


def test_email_wait_email_on_a_simulated_week(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Bea Becker", company="Beta GmbH")
    c = campaign(srv, t, [email_step(subject="Welcome {{first_name}}"),
                          {"type": "wait", "config": {"duration_ms": 7 * DAY}},
                          email_step(subject="A week later, {{first_name}}")])
    enroll(srv, t, c, [a])
    settled(srv, t, c, 1)
    first = wait_for("first email", lambda: deliveries_to(sendgrid, a["email"]))
    assert first[0]["subject"] == "Welcome Bea"
    text = text_of(first[0])
    assert "Hi Bea," in text and "Beta GmbH" in text and "/u/" in text
    assert text.count("/u/") == 1  # the body's link: no second footer
    assert "{{" not in text
    e = enrollment_of(srv, t, c, a)
    assert e["status"] == "active" and e["lastEmailId"]
    time.sleep(0.5)
    assert len(logs(srv, t, c)) == 1  # the wait holds
    srv.clock.advance(7 * DAY + HOUR)
    wait_status(srv, t, c, a, "completed")
    got = wait_for("second email", lambda: (lambda d: d if len(d) == 2 else None)(
        deliveries_to(sendgrid, a["email"])))
    assert sorted(d["subject"] for d in got) == ["A week later, Bea", "Welcome Bea"]
    L = logs(srv, t, c)
    assert [(x["stepType"], x["status"]) for x in L] == [
        ("email", "success"), ("wait", "success"), ("email", "success")]
    m = call(srv, t, "GET", f"/api/campaigns/{c['id']}/metrics")
    assert [s["executed"] for s in m["steps"]] == [1, 1, 1]
    wait_for("sent metrics", lambda: [s["sent"] for s in call(
        srv, t, "GET", f"/api/campaigns/{c['id']}/metrics")["steps"]] == [1, 0, 1])


def open_pixel(srv, delivery):
    m = re.search(r'/t/o/([A-Za-z0-9_-]+)\.gif', html_of(delivery))
    assert m, html_of(delivery)
    r = srv.get(f"/t/o/{m.group(1)}.gif", headers={"User-Agent": BROWSER})
    assert r.status == 200


def test_wait_until_opened_then_condition_both_branches(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Opens Often")
    b = tu.create_contact(srv, t, name="Never Opens")
    c = campaign(srv, t, [
        email_step(),
        {"type": "wait", "config": {"until": "opened", "timeout_ms": 3 * DAY}},
        {"type": "condition", "config": {"kind": "opened"}, "true": 3, "false": 4},
        {"type": "tag", "config": {"add": ["engaged"]}, "next": None},
        {"type": "tag", "config": {"add": ["cold"]}}])
    enroll(srv, t, c, [a, b])
    da = wait_for("email to a", lambda: deliveries_to(sendgrid, a["email"]))
    wait_for("email to b", lambda: deliveries_to(sendgrid, b["email"]))
    srv.clock.advance(60 * 1000)  # a person opens later than the bot window
    open_pixel(srv, da[0])
    srv.clock.advance(2 * HOUR)  # the wait looks again within the hour
    wait_status(srv, t, c, a, "completed")
    assert enrollment_of(srv, t, c, b)["status"] == "active"
    srv.clock.advance(3 * DAY)
    wait_status(srv, t, c, b, "completed")
    tags = {x["id"]: x["tags"] for x in tu.all_contacts(srv, t)}
    assert "engaged" in tags[a["id"]] and "cold" not in tags[a["id"]]
    assert "cold" in tags[b["id"]] and "engaged" not in tags[b["id"]]
    waits = [x for x in logs(srv, t, c) if x["stepType"] == "wait"]
    met = {x["contactId"]: x["metadata"]["met"] for x in waits}
    assert met == {a["id"]: True, b["id"]: False}
    m = call(srv, t, "GET", f"/api/campaigns/{c['id']}/metrics")
    assert m["steps"][0]["opened"] == 1


@pytest.mark.parametrize("kind,value,score,tags,expect", [
    ("score_above", 50, 70, [], True),
    ("score_above", 50, 30, [], False),
    ("score_below", 50, 30, [], True),
    ("score_below", 50, 70, [], False),
    ("has_tag", "vip", 0, ["vip"], True),
    ("has_tag", "vip", 0, ["other"], False),
])
def test_condition_kinds(srv, t, kind, value, score, tags, expect):
    a = tu.create_contact(srv, t, name="Cond Contact", tags=tags)
    tu.set_score(srv, a["id"], score)
    c = campaign(srv, t, [
        {"type": "condition", "config": {"kind": kind, "value": value}, "true": 1, "false": 2},
        {"type": "tag", "config": {"add": ["yes"]}, "next": None},
        {"type": "tag", "config": {"add": ["no"]}}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    got = ok(api(srv, "GET", f"/api/contacts/{a['id']}", t.token_creds, ws=t.workspace_id))
    assert ("yes" in got["tags"]) == expect and ("no" in got["tags"]) == (not expect)
    (cond,) = [x for x in logs(srv, t, c) if x["stepType"] == "condition"]
    assert cond["metadata"]["result"] is expect


@pytest.mark.parametrize("kind", ["clicked", "replied"])
def test_engagement_conditions_without_engagement_go_false(srv, t, sendgrid, kind):
    a = tu.create_contact(srv, t, name="Quiet One")
    c = campaign(srv, t, [
        email_step(),
        {"type": "condition", "config": {"kind": kind}, "true": 2, "false": None},
        {"type": "tag", "config": {"add": ["engaged"]}}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    (cond,) = [x for x in logs(srv, t, c) if x["stepType"] == "condition"]
    assert cond["metadata"] == {"kind": kind, "result": False}


def test_tag_step_adds_and_removes(srv, t):
    a = tu.create_contact(srv, t, name="Tag Me", tags=["trial", "keep"])
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["customer", "keep"],
                                                     "remove": ["trial"]}}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    got = ok(api(srv, "GET", f"/api/contacts/{a['id']}", t.token_creds, ws=t.workspace_id))
    assert sorted(got["tags"]) == ["customer", "keep"]


def test_score_step_adjusts_the_total_and_history(srv, t):
    a = tu.create_contact(srv, t, name="Score Me")
    c = campaign(srv, t, [{"type": "score", "config": {"delta": 15}},
                          {"type": "score", "config": {"delta": -5}}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    got = ok(api(srv, "GET", f"/api/contacts/{a['id']}", t.token_creds, ws=t.workspace_id))
    base = got["score"] if "score" in got else got.get("aiScore")
    rows = tu.db_query(srv, "SELECT ai_score, score_campaign FROM contacts WHERE id = ?",
                       (a["id"],))
    assert rows[0][1] == 10 and rows[0][0] == base
    hist = tu.db_query(srv, "SELECT previous, score FROM score_history WHERE contact_id = ?"
                            " ORDER BY id", (a["id"],))
    assert hist[-1][1] == rows[0][0]
    L = [x["metadata"] for x in logs(srv, t, c)]
    assert [m["delta"] for m in L] == [15, -5] and L[1]["after"] == rows[0][0]


def test_webhook_is_signed(srv, t, receiver):
    a = tu.create_contact(srv, t, name="Hook Contact")
    secret = "whsec-0123456789abcdef"
    c = campaign(srv, t, [{"type": "webhook", "config": {"url": receiver.url,
                                                         "secret": secret}}])
    before = len(receiver.requests)
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    headers, body = receiver.requests[before]
    ts = headers["x-leadflow-timestamp"]
    want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-leadflow-signature"] == "sha256=" + want
    j = json.loads(body)
    assert j["contact"]["id"] == a["id"] and j["campaignId"] == c["id"]
    assert j["event"] == "campaign.step"


def test_webhook_retries_5xx_then_fails(srv, t, receiver):
    a = tu.create_contact(srv, t, name="Hook Retry")
    c = campaign(srv, t, [{"type": "webhook", "config": {"url": receiver.url,
                                                         "secret": "s" * 20}}])
    receiver.status = 503
    try:
        before = len(receiver.requests)
        enroll(srv, t, c, [a])
        wait_for("two attempts", lambda: len(receiver.requests) - before >= 2, timeout=20)
        receiver.status = 200
        wait_status(srv, t, c, a, "completed")
    finally:
        receiver.status = 200
    (log,) = logs(srv, t, c)
    assert log["status"] == "success"


def test_webhook_to_a_private_address_is_refused_without_the_setting(launcher, env, receiver):
    clock, e = env
    s = launcher.start(env=e)
    t = tu.new_tenant(s, session=False)
    a = tu.create_contact(s, t, name="SSRF Target")
    # A literal address is refused when the step is saved ...
    c = call(s, t, "POST", "/api/campaigns", {"name": "SSRF"}, status=201)
    r = api(s, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": [{"type": "webhook", "config": {"url": receiver.url,
                                                           "secret": "s" * 20}}]})
    assert_error(r, 400, "VALIDATION_ERROR", "steps[0].config.url")
    # ... a name when the step runs: this host's name resolves to its loopback.
    name = socket.gethostname()
    if not ipaddress.ip_address(socket.gethostbyname(name)).is_private:
        pytest.skip(f"{name} does not resolve to a private address here")
    url = receiver.url.replace("127.0.0.1", name)
    c = campaign(s, t, [{"type": "webhook", "config": {"url": url, "secret": "s" * 20}}])
    before = len(receiver.requests)
    enroll(s, t, c, [a])
    e2 = wait_status(s, t, c, a, "failed")
    assert e2["reason"] == "webhook_refused"
    (log,) = logs(s, t, c)
    assert log["status"] == "failed" and "private" in log["error"]
    assert len(receiver.requests) == before


def test_unsubscribe_cancels_every_active_enrollment(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Leaving Soon")
    steps = [email_step(), {"type": "wait", "config": {"duration_ms": 2 * DAY}}, email_step()]
    c1 = campaign(srv, t, steps, name="One")
    c2 = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": 5 * DAY}}, email_step()],
                  name="Two")
    enroll(srv, t, c1, [a])
    enroll(srv, t, c2, [a])
    d = wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    url = re.search(r"Stop these: (\S+)", text_of(d[0])).group(1)
    path = url[url.index("/u/"):]
    r = srv.request("POST", path, body=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    for c in (c1, c2):
        e = enrollment_of(srv, t, c, a)
        assert e["status"] == "cancelled" and e["reason"] == "unsubscribed"
    srv.clock.advance(6 * DAY)
    time.sleep(0.5)
    assert len(deliveries_to(sendgrid, a["email"])) == 1
    res = enroll(srv, t, c2, [a])
    assert res["skipped"][0]["reason"] in ("unsubscribed", "already_enrolled")


def test_a_retried_job_never_executes_its_step_twice(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Once Only")
    c = campaign(srv, t, [email_step(), {"type": "score", "config": {"delta": 5}}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    # Every drip job of the enrollment runs again, as if its lease had run out
    # before the outcome was written.
    (e,) = enrollments(srv, t, c)
    n = tu.db_exec(srv, "UPDATE jobs SET status = 'queued', run_at = 0, attempts = 1"
                        " WHERE kind = 'drip_step' AND idempotency_key LIKE ?",
                   (f"drip:{e['id']}:%",))
    assert n == 2
    wait_for("jobs done", lambda: tu.db_query(
        srv, "SELECT COUNT(*) FROM jobs WHERE status != 'done' AND idempotency_key LIKE ?",
        (f"drip:{e['id']}:%",))[0][0] == 0)
    # ... and through `leadflow worker --once` as well.
    r = tu.cli(srv, "worker", "--once")
    assert r.returncode == 0
    assert len(logs(srv, t, c)) == 2
    assert len(deliveries_to(sendgrid, a["email"])) == 1
    rows = tu.db_query(srv, "SELECT score_campaign FROM contacts WHERE id = ?", (a["id"],))
    assert rows[0][0] == 5


def test_pause_holds_and_activate_resumes(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Paused Person")
    c = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": DAY}},
                          {"type": "tag", "config": {"add": ["resumed"]}}])
    enroll(srv, t, c, [a])
    assert call(srv, t, "POST", f"/api/campaigns/{c['id']}/pause")["status"] == "paused"
    srv.clock.advance(DAY + HOUR)
    time.sleep(0.5)
    assert enrollment_of(srv, t, c, a)["status"] == "active"
    assert logs(srv, t, c) == []
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")
    wait_status(srv, t, c, a, "completed")
    assert [x["stepType"] for x in logs(srv, t, c)] == ["wait", "tag"]


def test_archive_cancels_and_steps_are_locked_once_archived(srv, t):
    a = tu.create_contact(srv, t, name="Archived Person")
    c = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": DAY}},
                          {"type": "tag", "config": {"add": ["x"]}}])
    enroll(srv, t, c, [a])
    assert call(srv, t, "POST", f"/api/campaigns/{c['id']}/archive")["status"] == "archived"
    e = enrollment_of(srv, t, c, a)
    assert e["status"] == "cancelled" and e["reason"] == "archived"
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": []})
    assert_error(r, 409, "CONFLICT", "archived")


def test_editing_an_active_campaign_makes_a_new_version(srv, t):
    old_steps = [{"type": "wait", "config": {"duration_ms": DAY}},
                 {"type": "tag", "config": {"add": ["old-steps"]}}]
    new_steps = [{"type": "tag", "config": {"add": ["new-steps"]}},
                 {"type": "score", "config": {"delta": 5}}]
    a = tu.create_contact(srv, t, name="Early Enrolled")
    b = tu.create_contact(srv, t, name="Late Enrolled")
    c = campaign(srv, t, old_steps)
    assert c["version"] == 1
    enroll(srv, t, c, [a])
    assert enrollment_of(srv, t, c, a)["version"] == 1
    # Saving the steps of a campaign with an active enrollment: 200 and a new version.
    saved = call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": new_steps})
    assert [(s["type"], s["config"]) for s in saved] == [(s["type"], s["config"])
                                                         for s in new_steps]
    got = call(srv, t, "GET", f"/api/campaigns/{c['id']}")
    assert got["version"] == 2 and got["steps"] == 2 and got["status"] == "active"
    assert got["versions"] == [{"version": 1, "enrollments": 1, "activeEnrollments": 1}]
    assert [s["type"] for s in call(srv, t, "GET", f"/api/campaigns/{c['id']}/steps")] == [
        "tag", "score"]
    # A new enrollment starts on the new steps and runs them.
    enroll(srv, t, c, [b])
    wait_status(srv, t, c, b, "completed")
    assert enrollment_of(srv, t, c, b)["version"] == 2
    assert contact(srv, t, b["id"])["tags"] == ["new-steps"]
    # The contact enrolled before finishes on the steps it started: the wait, then the old tag.
    e = enrollment_of(srv, t, c, a)
    assert e["status"] == "active" and e["version"] == 1
    srv.clock.advance(DAY + HOUR)
    wait_status(srv, t, c, a, "completed")
    assert contact(srv, t, a["id"])["tags"] == ["old-steps"]
    ran = [(x["contactId"], x["stepType"]) for x in logs(srv, t, c)]
    assert sorted(x for x in ran if x[0] == a["id"]) == [(a["id"], "tag"), (a["id"], "wait")]
    assert sorted(x for x in ran if x[0] == b["id"]) == [(b["id"], "score"), (b["id"], "tag")]
    got = call(srv, t, "GET", f"/api/campaigns/{c['id']}")
    assert got["versions"] == [{"version": 1, "enrollments": 1, "activeEnrollments": 0},
                               {"version": 2, "enrollments": 1, "activeEnrollments": 0}]
    # With no enrollment active, saving replaces the current version's steps.
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps", {"steps": old_steps})
    assert call(srv, t, "GET", f"/api/campaigns/{c['id']}")["version"] == 2


def test_variants_and_personalize(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Vera Variant", company="Vario AG", jobTitle="CEO")
    cfg = {"subject": "Base", "body": BODY, "personalize": True,
           "variants": [{"subject": "Variant A", "body": BODY, "weight": 1},
                        {"subject": "Variant B", "body": BODY, "weight": 1}]}
    c = campaign(srv, t, [{"type": "email", "config": cfg}])
    enroll(srv, t, c, [a])
    wait_status(srv, t, c, a, "completed")
    d = wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    e = enrollment_of(srv, t, c, a)
    assert d[0]["subject"] == ["Variant A", "Variant B"][e["variant"]]
    assert text_of(d[0]).index("Hi Vera") > 0  # a personalized paragraph comes first


def test_campaign_crud_and_dashboard_counts(srv, t):
    before = call(srv, t, "GET", "/api/dashboard/stats")["campaigns"]
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["x"]}}], name="Counted")
    call(srv, t, "POST", "/api/campaigns", {"name": "Draft one"}, status=201)
    after = call(srv, t, "GET", "/api/dashboard/stats")["campaigns"]
    assert after == {"total": before["total"] + 2, "active": before["active"] + 1}
    got = call(srv, t, "PATCH", f"/api/campaigns/{c['id']}", {"name": "Renamed",
                                                              "trigger": {"type": "manual"}})
    assert got["name"] == "Renamed" and got["trigger"] == {"type": "manual"}
    names = [x["name"] for x in call(srv, t, "GET", "/api/campaigns", params={"status": "active"})]
    assert names == ["Renamed"]
    call(srv, t, "DELETE", f"/api/campaigns/{c['id']}")
    assert_error(api(srv, "GET", f"/api/campaigns/{c['id']}", t.token_creds, ws=t.workspace_id),
                 404, "NOT_FOUND")


def test_another_workspace_gets_404(srv, t):
    other = tu.new_tenant(srv, session=False)
    a = tu.create_contact(srv, t, name="Private Person")
    c = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": DAY}},
                          {"type": "tag", "config": {"add": ["x"]}}])
    enroll(srv, t, c, [a])
    for method, path, body in [
            ("GET", f"/api/campaigns/{c['id']}", None),
            ("PATCH", f"/api/campaigns/{c['id']}", {"name": "Mine now"}),
            ("POST", f"/api/campaigns/{c['id']}/pause", None),
            ("GET", f"/api/campaigns/{c['id']}/steps", None),
            ("POST", f"/api/campaigns/{c['id']}/steps", {"steps": []}),
            ("POST", f"/api/campaigns/{c['id']}/enroll", {"contactIds": [a["id"]]}),
            ("GET", f"/api/campaigns/{c['id']}/enrollments", None),
            ("GET", f"/api/campaigns/{c['id']}/logs", None),
            ("GET", f"/api/campaigns/{c['id']}/metrics", None),
            ("DELETE", f"/api/campaigns/{c['id']}", None)]:
        r = api(srv, method, path, other.token_creds, ws=other.workspace_id, body=body)
        assert_error(r, 404, "NOT_FOUND")
    # Enrolling someone else's contact into one's own campaign: skipped as not found.
    mine = campaign(srv, other, [{"type": "tag", "config": {"add": ["x"]}}])
    res = enroll(srv, other, mine, [a])
    assert res["skipped"] == [{"contactId": a["id"], "reason": "not_found"}]
    assert call(srv, t, "GET", f"/api/campaigns/{c['id']}")["status"] == "active"


# -- triggers -------------------------------------------------------------------------

import mailutil as mu  # noqa: E402


def inbound(srv, sender, body, subject="Question", **kw):
    """An email from sender dated at the server's (simulated) now."""
    return mu.message(sender, body, subject=subject,
                      days_ago=-(srv.clock.offset + 60 * 1000) / DAY, **kw)


def enrollment_count(srv, t, c, contact=None):
    return len([x for x in enrollments(srv, t, c)
                if contact is None or x["contactId"] == contact["id"]])


def wait_enrolled(srv, t, c, contact, status="completed"):
    """Waits until the contact has an enrollment in c with status (it may not exist yet)."""
    def check():
        got = [x for x in enrollments(srv, t, c) if x["contactId"] == contact["id"]]
        return got[0] if got and got[0]["status"] == status else None
    return wait_for(f"an enrollment {status}", check)


def contact(srv, t, cid):
    return ok(api(srv, "GET", f"/api/contacts/{cid}", t.token_creds, ws=t.workspace_id))


@pytest.mark.parametrize("trigger,message", [
    (5, "trigger must be an object or null"),
    ({}, "trigger.type is required"),
    ({"type": "birthday"}, "trigger.type must be one of manual, contact_created"),
    ({"type": "tag_added"}, "trigger.tag is required for tag_added"),
    ({"type": "tag_added", "tag": "x" * 51}, "trigger.tag is required"),
    ({"type": "score_above"}, "trigger.threshold is required for score_above"),
    ({"type": "score_above", "threshold": 0}, "an integer from 1 to 100"),
    ({"type": "score_above", "threshold": 70.5}, "an integer from 1 to 100"),
    ({"type": "contact_created", "tag": "x"}, "trigger.tag is not a field of a contact_created"),
])
def test_trigger_validation(srv, t, trigger, message):
    r = api(srv, "POST", "/api/campaigns", t.token_creds, ws=t.workspace_id,
            body={"name": "T", "trigger": trigger})
    assert_error(r, 400, "VALIDATION_ERROR", message)
    c = call(srv, t, "POST", "/api/campaigns", {"name": "T"}, status=201)
    r = api(srv, "PATCH", f"/api/campaigns/{c['id']}", t.token_creds, ws=t.workspace_id,
            body={"trigger": trigger})
    assert_error(r, 400, "VALIDATION_ERROR", message)
    good = {"type": "score_above", "threshold": 70}
    got = call(srv, t, "PATCH", f"/api/campaigns/{c['id']}", {"trigger": good})
    assert got["trigger"] == good
    assert call(srv, t, "PATCH", f"/api/campaigns/{c['id']}", {"trigger": None})["trigger"] is None


def test_contact_created_trigger_from_the_api_and_the_pipeline(srv, t):
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["welcomed"]}}],
                 trigger={"type": "contact_created"})
    draft = campaign(srv, t, [{"type": "tag", "config": {"add": ["draft"]}}], name="Draft",
                     activate=False, trigger={"type": "contact_created"})
    manual = campaign(srv, t, [{"type": "tag", "config": {"add": ["manual"]}}], name="Manual")
    a = tu.create_contact(srv, t, name="New Person")
    # The enrollment and its first job committed with the contact.
    (e,) = enrollments(srv, t, c)
    assert e["contactId"] == a["id"]
    wait_enrolled(srv, t, c, a, "completed")
    assert "welcomed" in contact(srv, t, a["id"])["tags"]
    # The pipeline: a message from a new address creates (and enrolls) its contact.
    addr = f"pipeline-{tu.random_id()[:8]}@customer.example"
    mu.imported(srv, t, inbound(srv, addr, "Hello there, what does it cost?", name="Pip Line"))
    p = mu.contact_by_email(srv, t, addr)
    wait_enrolled(srv, t, c, p, "completed")
    # An existing contact writing again is not new: no second enrollment.
    mu.imported(srv, t, inbound(srv, addr, "One more question about the plan."))
    assert enrollment_count(srv, t, c, p) == 1
    assert enrollments(srv, t, draft) == [] and enrollments(srv, t, manual) == []


def test_tag_added_trigger_from_the_api_and_a_tag_step(srv, t):
    c = campaign(srv, t, [{"type": "score", "config": {"delta": 1}}], name="VIP",
                 trigger={"type": "tag_added", "tag": "vip"})
    a = tu.create_contact(srv, t, name="Tag Later", tags=["trial"])
    assert enrollments(srv, t, c) == []
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": ["trial", "other"]})
    assert enrollments(srv, t, c) == []
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": ["trial", "vip"]})
    wait_enrolled(srv, t, c, a, "completed")
    # Removed and added again: enrolled once (the campaign does not re-enroll).
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": []})
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": ["vip"]})
    assert enrollment_count(srv, t, c, a) == 1
    # Created with the tag: enrolled.
    b = tu.create_contact(srv, t, name="Born VIP", tags=["vip"])
    wait_enrolled(srv, t, c, b, "completed")
    # A tag step of another campaign adding the tag enrolls as well.
    d = tu.create_contact(srv, t, name="Tagged By Step")
    tagger = campaign(srv, t, [{"type": "tag", "config": {"add": ["vip"]}}], name="Tagger")
    enroll(srv, t, tagger, [d])
    wait_enrolled(srv, t, c, d, "completed")
    # With allowReenroll, a new tag event enrolls again once the last walk ended.
    call(srv, t, "PATCH", f"/api/campaigns/{c['id']}", {"allowReenroll": True})
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": []})
    call(srv, t, "PATCH", f"/api/contacts/{a['id']}", {"tags": ["vip"]})
    wait_for("second walk", lambda: enrollment_count(srv, t, c, a) == 2)


def test_score_above_trigger_from_a_score_step_and_from_rescoring(srv, t):
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["warm"]}}], name="Warm",
                 trigger={"type": "score_above", "threshold": 30})
    a = tu.create_contact(srv, t, name="Climbs Up")
    bump = campaign(srv, t, [{"type": "score", "config": {"delta": 40}}], name="Bump")
    enroll(srv, t, bump, [a])
    wait_enrolled(srv, t, c, a, "completed")
    assert "warm" in contact(srv, t, a["id"])["tags"]
    # Going down and up again across the threshold: not enrolled a second time.
    drop = campaign(srv, t, [{"type": "score", "config": {"delta": -40}},
                             {"type": "score", "config": {"delta": 40}}], name="Drop")
    enroll(srv, t, drop, [a])
    wait_status(srv, t, drop, a, "completed")
    assert enrollment_count(srv, t, c, a) == 1
    # A rise below the threshold does nothing.
    b = tu.create_contact(srv, t, name="Stays Low")
    small = campaign(srv, t, [{"type": "score", "config": {"delta": 29}}], name="Small")
    enroll(srv, t, small, [b])
    wait_status(srv, t, small, b, "completed")
    assert enrollment_count(srv, t, c, b) == 0
    # Rescoring (an inbound email) lifts it over: enrolled in the pipeline's batch.
    mu.imported(srv, t, inbound(srv, b["email"], "Could we book a meeting next week to "
                                "talk about pricing for the team plan?"))
    wait_enrolled(srv, t, c, b, "completed")


def test_score_step_can_make_a_contact_hot_and_rescoring_keeps_the_points(srv, t):
    def drafts(cid):
        return tu.db_query(srv, "SELECT COUNT(*) FROM jobs WHERE kind = 'draft_content'"
                                " AND workspace_id = ? AND CAST(payload AS TEXT) LIKE ?",
                           (t.workspace_id, f"%{cid}%"))[0][0]

    a = tu.create_contact(srv, t, name="Hot Via Step")
    c = campaign(srv, t, [{"type": "score", "config": {"delta": 90}}], name="Hot")
    enroll(srv, t, c, [a])
    wait_enrolled(srv, t, c, a, "completed")
    assert contact(srv, t, a["id"])["score"] >= 80
    assert drafts(a["id"]) == 1  # what a crossing into hot does in the pipeline
    hot, _ = mu.hot_leads(srv, t)
    assert a["id"] in [h["contact"]["id"] for h in hot]
    # Campaign points just under hot; an inbound email's rescoring adds the
    # rest: the hot check sees the stored total (points included).
    b = tu.create_contact(srv, t, name="Almost Hot")
    d = campaign(srv, t, [{"type": "score", "config": {"delta": 78}}], name="Almost")
    enroll(srv, t, d, [b])
    wait_status(srv, t, d, b, "completed")
    assert contact(srv, t, b["id"])["score"] == 78 and drafts(b["id"]) == 0
    mu.imported(srv, t, inbound(srv, b["email"], "Can we schedule a meeting about pricing?"))
    got = contact(srv, t, b["id"])
    rows = tu.db_query(srv, "SELECT score_campaign FROM contacts WHERE id = ?", (b["id"],))
    assert rows[0][0] == 78 and got["score"] >= 80
    assert drafts(b["id"]) == 1


# -- waking a "wait until" --------------------------------------------------------------


def test_wait_until_opened_wakes_at_the_open(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Quick Opener")
    c = campaign(srv, t, [
        email_step(),
        {"type": "wait", "config": {"until": "opened", "timeout_ms": 3 * DAY}},
        {"type": "tag", "config": {"add": ["opened"]}}])
    enroll(srv, t, c, [a])
    d = wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    time.sleep(0.3)
    assert enrollment_of(srv, t, c, a)["status"] == "active"
    srv.clock.advance(60 * 1000)  # a person, not a scanner: later than the bot window
    open_pixel(srv, d[0])
    # No move of the clock to the next hourly check: the open woke the wait.
    wait_enrolled(srv, t, c, a, "completed")
    (w,) = [x for x in logs(srv, t, c) if x["stepType"] == "wait"]
    assert w["metadata"]["met"] is True


def test_wait_until_replied_wakes_at_the_reply(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Fast Replier")
    c = campaign(srv, t, [
        email_step(),
        {"type": "wait", "config": {"until": "replied", "timeout_ms": 3 * DAY}},
        {"type": "tag", "config": {"add": ["replied"]}}])
    enroll(srv, t, c, [a])
    wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    wait_for("the wait", lambda: enrollment_of(srv, t, c, a)["lastEmailId"])
    time.sleep(0.3)
    assert enrollment_of(srv, t, c, a)["status"] == "active"
    srv.clock.advance(2 * 60 * 1000)
    mu.imported(srv, t, inbound(srv, a["email"], "Thanks, sounds good to me.",
                                subject="Re: Hello"))
    wait_enrolled(srv, t, c, a, "completed")
    (w,) = [x for x in logs(srv, t, c) if x["stepType"] == "wait"]
    assert w["metadata"]["met"] is True and w["metadata"]["until"] == "replied"


# -- bounces and secrets ----------------------------------------------------------------


def test_permanent_refusal_cancels_enrollments(srv, t, sendgrid):
    a = tu.create_contact(srv, t, name="Bad Address")
    steps = [email_step(), {"type": "wait", "config": {"duration_ms": DAY}}, email_step()]
    c1 = campaign(srv, t, steps, name="Bounce One")
    c2 = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": 2 * DAY}}, email_step()],
                  name="Bounce Two")
    sendgrid.set_mode("permanent")
    try:
        enroll(srv, t, c2, [a])  # waiting first, so the bounce finds it active
        enroll(srv, t, c1, [a])
        for c in (c1, c2):
            e = wait_enrolled(srv, t, c, a, "cancelled")
            assert e["reason"] == "bounced"
    finally:
        sendgrid.set_mode("ok")
    rows = tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE contact_id = ?"
                            " AND kind = 'bounce'", (a["id"],))
    assert rows[0][0] == 1
    srv.clock.advance(3 * DAY)
    time.sleep(0.5)
    assert deliveries_to(sendgrid, a["email"]) == []
    assert len(logs(srv, t, c1)) == 1 and logs(srv, t, c2) == []


def test_webhook_secret_is_masked_and_kept(srv, t, receiver):
    secret = "whsec-keep-me-0123456789"
    c = campaign(srv, t, [{"type": "tag", "config": {"add": ["x"]}},
                          {"type": "webhook", "config": {"url": receiver.url + "?v=1",
                                                         "secret": secret}}], activate=False)
    r = api(srv, "GET", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id)
    assert secret.encode() not in r.body
    steps = ok(r)
    assert steps[1]["config"]["secret"] == "********" and steps[1]["config"]["secretSet"] is True
    assert "secretSet" not in steps[0]["config"]
    # The list sent back as GET gave it (mask included), with a new URL.
    steps[1]["config"]["url"] = receiver.url
    back = [{"id": s["id"], "type": s["type"], "config": s["config"], "next": s["next"]}
            for s in steps]
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": back})
    assert secret.encode() not in r.body
    assert ok(r)[1]["config"]["url"] == receiver.url
    stored = tu.db_query(srv, "SELECT CAST(config AS TEXT) FROM campaign_steps"
                              " WHERE campaign_id = ? AND step_type = 'webhook'", (c["id"],))
    assert json.loads(stored[0][0]) == {"url": receiver.url, "secret": secret}
    # The mask with nothing to keep is refused.
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": [{"type": "webhook", "config": {"url": receiver.url,
                                                           "secret": "********"}}]})
    assert_error(r, 400, "VALIDATION_ERROR", "steps[0].config.secret is the mask")
    # The kept secret signs the delivery.
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/activate")
    a = tu.create_contact(srv, t, name="Signed For")
    before = len(receiver.requests)
    enroll(srv, t, c, [a])
    wait_enrolled(srv, t, c, a, "completed")
    headers, body = receiver.requests[before]
    ts = headers["x-leadflow-timestamp"]
    want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-leadflow-signature"] == "sha256=" + want


def click_link(srv, delivery):
    m = re.search(r'/t/c/([A-Za-z0-9_-]+)', html_of(delivery))
    assert m, html_of(delivery)
    r = srv.get(f"/t/c/{m.group(1)}", headers={"User-Agent": BROWSER})
    assert r.status == 302


@pytest.mark.parametrize("kind", ["clicked", "replied"])
def test_engagement_conditions_with_engagement_go_true(srv, t, sendgrid, kind):
    """The true branch of clicked and replied: the person acts on the email
    this enrollment sent, the wait wakes, the condition takes the true path."""
    a = tu.create_contact(srv, t, name="Engaged One")
    body = ("Hi {{first_name}}, the pricing is at https://example.org/pricing\n\n"
            "Unsubscribe: {{unsubscribe_url}}")
    c = campaign(srv, t, [
        email_step(body=body),
        {"type": "wait", "config": {"until": kind, "timeout_ms": 3 * DAY}},
        {"type": "condition", "config": {"kind": kind}, "true": 3, "false": 4},
        {"type": "tag", "config": {"add": ["engaged"]}, "next": None},
        {"type": "tag", "config": {"add": ["quiet"]}}])
    enroll(srv, t, c, [a])
    d = wait_for("email", lambda: deliveries_to(sendgrid, a["email"]))
    wait_for("the wait", lambda: enrollment_of(srv, t, c, a)["lastEmailId"])
    srv.clock.advance(2 * 60 * 1000)  # a person: later than the bot window
    if kind == "clicked":
        click_link(srv, d[0])
    else:
        mu.imported(srv, t, inbound(srv, a["email"], "Yes, let us talk next week.",
                                    subject="Re: Hello"))
    wait_enrolled(srv, t, c, a, "completed")
    got = ok(api(srv, "GET", f"/api/contacts/{a['id']}", t.token_creds, ws=t.workspace_id))
    assert "engaged" in got["tags"] and "quiet" not in got["tags"]
    (cond,) = [x for x in logs(srv, t, c) if x["stepType"] == "condition"]
    assert cond["metadata"] == {"kind": kind, "result": True}


def test_step_kinds_lists_the_table_and_the_merge_fields(srv, t):
    got = call(srv, t, "GET", "/api/campaigns/step-kinds")
    assert [k["name"] for k in got["kinds"]] == ["email", "wait", "condition", "tag", "score",
                                                 "webhook"]
    assert [k["name"] for k in got["kinds"] if k["branches"]] == ["condition"]
    assert [k["name"] for k in got["kinds"] if k["hasSecret"]] == ["webhook"]
    assert "first_name" in got["mergeFields"] and "unsubscribe_url" in got["mergeFields"]
    # Every merge field offered is one an email step accepts.
    body = " ".join("{{%s}}" % f for f in got["mergeFields"])
    c = call(srv, t, "POST", "/api/campaigns", {"name": "Merge"}, status=201)
    call(srv, t, "POST", f"/api/campaigns/{c['id']}/steps",
         {"steps": [email_step(body=body)]})
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": [email_step(body=body + " {{favourite_colour}}")]})
    assert_error(r, 400, "VALIDATION_ERROR", "steps[0].config.body uses the unknown merge field")


# -- clone and unenroll -------------------------------------------------------------------


def test_clone_copies_the_current_steps_as_a_draft(srv, t, receiver):
    hook = {"type": "webhook", "config": {"url": receiver.url, "secret": "clone-secret-0123456789"}}
    steps = [{"type": "condition", "config": {"kind": "has_tag", "value": "vip"},
              "true": 1, "false": 2},
             {"type": "tag", "config": {"add": ["vip-path"]}, "next": None},
             hook]
    c = campaign(srv, t, steps, name="Original", trigger={"type": "tag_added", "tag": "go"},
                 allowReenroll=True)
    copy = call(srv, t, "POST", f"/api/campaigns/{c['id']}/clone", status=201)
    assert copy["id"] != c["id"] and copy["name"] == "Original (copy)"
    assert copy["status"] == "draft" and copy["trigger"] == {"type": "tag_added", "tag": "go"}
    assert copy["allowReenroll"] is True and copy["steps"] == 3 and copy["version"] == 1
    orig = call(srv, t, "GET", f"/api/campaigns/{c['id']}/steps")
    got = call(srv, t, "GET", f"/api/campaigns/{copy['id']}/steps")
    shape = [(s["type"], s["config"], s.get("next"), s.get("true"), s.get("false")) for s in got]
    assert shape == [(s["type"], s["config"], s.get("next"), s.get("true"), s.get("false"))
                     for s in orig]
    assert not {s["id"] for s in got} & {s["id"] for s in orig}
    assert got[2]["config"]["secret"] == "********" and got[2]["config"]["secretSet"] is True
    # The copy runs on its own, with the secret it was given.
    call(srv, t, "POST", f"/api/campaigns/{copy['id']}/activate")
    a = tu.create_contact(srv, t, name="Clone Runner")
    enroll(srv, t, copy, [a])
    wait_status(srv, t, copy, a, "completed")
    body = wait_for("the webhook", lambda: [b for h, b in receiver.requests
                                            if a["id"].encode() in b])[0]
    h = [h for h, b in receiver.requests if b == body][0]
    ts = h["x-leadflow-timestamp"]
    mac = hmac.new(b"clone-secret-0123456789", ts.encode() + b"." + body, hashlib.sha256)
    assert h["x-leadflow-signature"] == "sha256=" + mac.hexdigest()
    named = call(srv, t, "POST", f"/api/campaigns/{c['id']}/clone", {"name": "Second copy"},
                 status=201)
    assert named["name"] == "Second copy"
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/clone", t.token_creds, ws=t.workspace_id,
            body={"name": ""})
    assert_error(r, 400, "VALIDATION_ERROR", "name must be a string")
    other = tu.new_tenant(srv, session=False)
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/clone", other.token_creds,
            ws=other.workspace_id)
    assert_error(r, 404, "NOT_FOUND")


def test_unenroll_one_contact(srv, t):
    a = tu.create_contact(srv, t, name="Leaving Early")
    b = tu.create_contact(srv, t, name="Staying On")
    c = campaign(srv, t, [{"type": "wait", "config": {"duration_ms": DAY}},
                          {"type": "tag", "config": {"add": ["finished"]}}])
    enroll(srv, t, c, [a, b])
    got = call(srv, t, "POST", f"/api/campaigns/{c['id']}/unenroll", {"contactId": a["id"]})
    assert got == {"campaignId": c["id"], "contactId": a["id"], "unenrolled": True}
    e = enrollment_of(srv, t, c, a)
    assert e["status"] == "cancelled" and e["reason"] == "unenrolled" and e["finishedAt"]
    assert enrollment_of(srv, t, c, b)["status"] == "active"
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/unenroll", t.token_creds, ws=t.workspace_id,
            body={"contactId": a["id"]})
    assert_error(r, 404, "NOT_FOUND", "no active enrollment")
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/unenroll", t.token_creds, ws=t.workspace_id,
            body={})
    assert_error(r, 400, "VALIDATION_ERROR", "contactId is required")
    other = tu.new_tenant(srv, session=False)
    r = api(srv, "POST", f"/api/campaigns/{c['id']}/unenroll", other.token_creds,
            ws=other.workspace_id, body={"contactId": b["id"]})
    assert_error(r, 404, "NOT_FOUND")
    assert enrollment_of(srv, t, c, b)["status"] == "active"
    # The contact's pending wait does nothing once it is out.
    srv.clock.advance(DAY + HOUR)
    wait_status(srv, t, c, b, "completed")
    assert "finished" not in contact(srv, t, a["id"])["tags"]
    assert [x["contactId"] for x in logs(srv, t, c)].count(a["id"]) == 0
