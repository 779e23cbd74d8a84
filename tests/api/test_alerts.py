"""Real-time alerts end to end against the real binary: rules (validation,
CRUD), events from the email pipeline (complaints, hot leads), dedup within
the window at its edges on a simulated clock, a burst of 10,000 events in
one import, deliveries to a fake Slack/webhook receiver that fails first
(attempts recorded, dead after the last), the "alert" WebSocket event, ack
and resolve, metrics, and isolation between workspaces.

The clock: LEADFLOW_TEST_CLOCK_FILE makes the server's clock real time plus
the offset written in the file (see test_campaigns.py).
"""
import datetime
import json
import os
import sys
import time

import pytest

import tenantutil as tu
from conftest import Launcher
from mailutil import imported, mbox, message
from tenantutil import api, assert_error, ok, random_id
from test_campaigns import Clock
from test_ws import hot_mbox, session_ws

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.alert_receiver import AlertReceiver  # noqa: E402

WINDOW = 300000
COMPLAINT = ("This is unacceptable. I want to file a complaint: your product is broken "
             "and I am very disappointed.")
SECRET = "alert-webhook-secret-0123456789"


@pytest.fixture(scope="module")
def srv(bin_path, tmp_path_factory, web_dir):
    clock = Clock(str(tmp_path_factory.mktemp("alert-clock") / "offset"))
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env={"LEADFLOW_TEST_CLOCK_FILE": clock.path, "LEADFLOW_JOB_POLL_MS": "50",
                      "LEADFLOW_WEBHOOK_ALLOW_PRIVATE": "1", "LEADFLOW_ALERT_BACKOFF_MS": "100",
                      "LEADFLOW_MAX_UPLOAD_BYTES": str(64 << 20)})
    s.clock = clock
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture
def t(srv):
    return tu.new_tenant(srv)


def call(srv, t, method, path, body=None, status=200, params=None, creds=None):
    r = api(srv, method, path, creds or t.token_creds, ws=t.workspace_id, body=body,
            params=params)
    return ok(r, status)


def rule(srv, t, trigger="complaint", channels=None, **kw):
    body = dict({"name": f"{trigger} rule", "trigger": trigger}, **kw)
    if channels is not None:
        body["channels"] = channels
    return call(srv, t, "POST", "/api/alerts/rules", body, status=201)


def alerts(srv, t, **params):
    return call(srv, t, "GET", "/api/alerts", params=params)


def complaint(sender, n=1, subject="Broken again"):
    return mbox(*[message(sender, COMPLAINT, subject=f"{subject} {i}") for i in range(n)])


def import_mbox(srv, t, data, timeout=10.0):
    return imported(srv, t, data, content_type="application/mbox", timeout=timeout)


def wait(pred, timeout=10.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def deliveries_done(srv, t, alert_id, channel, final=("delivered", "dead")):
    def check():
        [a] = [a for a in alerts(srv, t) if a["id"] == alert_id]
        d = [x for x in a["deliveries"] if x["channel"] == channel]
        return d if d and d[-1]["status"] in final else None
    return wait(check, what=f"the {channel} delivery of {alert_id} to finish")


def sender():
    return tu.unique_email("buyer")


# -- rules ----------------------------------------------------------------------


@pytest.mark.parametrize("body, words", [
    ({"trigger": "complaint"}, "name is required"),
    ({"name": "x"}, "trigger is required"),
    ({"name": "", "trigger": "complaint"}, "name must be"),
    ({"name": "x", "trigger": "moon_phase"}, "trigger must be one of"),
    ({"name": "x", "trigger": "score_above"}, "threshold is required"),
    ({"name": "x", "trigger": "score_above", "threshold": 101}, "1 to 100"),
    ({"name": "x", "trigger": "score_below", "threshold": "high"}, "must be a number"),
    ({"name": "x", "trigger": "complaint", "threshold": 3}, "not used by the complaint"),
    ({"name": "x", "trigger": "sentiment_drop", "threshold": 5}, "sentiment_drop"),
    ({"name": "x", "trigger": "send_failures", "threshold": 0}, "percent"),
    ({"name": "x", "trigger": "reply", "channels": {}}, "channels must be an array"),
    ({"name": "x", "trigger": "reply", "channels": [{"type": "pager"}]}, "channels[0].type"),
    ({"name": "x", "trigger": "reply", "channels": [{"type": "slack"}]}, "channels[0].target"),
    ({"name": "x", "trigger": "reply",
      "channels": [{"type": "slack", "target": "ftp://x.example/hook"}]}, "http or https"),
    ({"name": "x", "trigger": "reply",
      "channels": [{"type": "webhook", "target": "https://x.example/h"}]}, "secret"),
    ({"name": "x", "trigger": "reply",
      "channels": [{"type": "email", "target": "not-an-address"}]}, "email address"),
    ({"name": "x", "trigger": "reply", "channels": [{"type": "in_app"}] * 11}, "at most 10"),
    ({"name": "x", "trigger": "reply", "enabled": "yes"}, "enabled must be"),
])
def test_invalid_rules_are_refused_with_a_clear_message(srv, t, body, words):
    r = api(srv, "POST", "/api/alerts/rules", t.token_creds, ws=t.workspace_id, body=body)
    assert_error(r, 400, "VALIDATION_ERROR", words)


def test_rules_are_created_listed_changed_and_deleted(srv, t):
    r = rule(srv, t, "score_above", threshold=70,
             channels=[{"type": "in_app"}, {"type": "email", "target": "ops@acme.example"}])
    assert r["trigger"] == "score_above" and r["threshold"] == 70 and r["enabled"] is True
    assert r["channels"] == [{"type": "in_app"},
                             {"type": "email", "target": "ops@acme.example"}]
    plain = rule(srv, t, "complaint")
    assert plain["channels"] == [{"type": "in_app"}] and plain["threshold"] is None
    # Oldest first; two rules made in the same millisecond go by id.
    made = sorted([r, plain], key=lambda x: (x["createdAt"], x["id"]))
    assert [x["id"] for x in call(srv, t, "GET", "/api/alerts/rules")] == [x["id"] for x in made]

    p = call(srv, t, "PATCH", f"/api/alerts/rules/{r['id']}", {"threshold": 85, "enabled": False})
    assert p["threshold"] == 85 and p["enabled"] is False and p["name"] == r["name"]
    # Changing the trigger to one without a threshold drops it; one that needs it keeps asking.
    p = call(srv, t, "PATCH", f"/api/alerts/rules/{r['id']}", {"trigger": "reply"})
    assert p["trigger"] == "reply" and p["threshold"] is None
    bad = api(srv, "PATCH", f"/api/alerts/rules/{r['id']}", t.token_creds, ws=t.workspace_id,
              body={"trigger": "score_below"})
    assert_error(bad, 400, "VALIDATION_ERROR", "threshold is required")
    assert_error(api(srv, "PATCH", f"/api/alerts/rules/{r['id']}", t.token_creds,
                     ws=t.workspace_id, body={}), 400, "VALIDATION_ERROR", "nothing to change")

    assert call(srv, t, "DELETE", f"/api/alerts/rules/{r['id']}")["deleted"] is True
    assert_error(api(srv, "DELETE", f"/api/alerts/rules/{r['id']}", t.token_creds,
                     ws=t.workspace_id), 404, "NOT_FOUND")
    assert_error(api(srv, "PATCH", f"/api/alerts/rules/{random_id()}", t.token_creds,
                     ws=t.workspace_id, body={"name": "y"}), 404, "NOT_FOUND")
    assert [x["id"] for x in call(srv, t, "GET", "/api/alerts/rules")] == [plain["id"]]


# -- events, dedup and delivery ------------------------------------------------------


def test_a_complaint_reaches_slack_on_the_third_attempt(srv, t):
    with AlertReceiver(fail_first=2) as slack:
        rule(srv, t, "complaint", channels=[{"type": "slack", "target": slack.url},
                                            {"type": "in_app"}])
        who = sender()
        assert import_mbox(srv, t, complaint(who))["imported"] == 1
        [a] = wait(lambda: alerts(srv, t), what="the alert")
        assert a["trigger"] == "complaint" and a["status"] == "open"
        assert a["severity"] == "warning" and who in a["title"]
        d = deliveries_done(srv, t, a["id"], "slack")
        assert [(x["attempt"], x["status"], x["responseCode"]) for x in d] == [
            (1, "failed", 500), (2, "failed", 500), (3, "delivered", 200)]
        assert d[0]["error"] and d[2]["error"] is None and d[2]["latencyMs"] >= 0
        reqs = slack.wait_for(3)
        assert len(reqs) == 3
        text = reqs[-1].json["text"]
        assert "[warning]" in text and who in text
        [in_app] = [x for x in alerts(srv, t)[0]["deliveries"] if x["channel"] == "in_app"]
        assert in_app["status"] == "delivered"


def test_a_channel_that_keeps_failing_is_dead_after_the_last_attempt(srv, t):
    with AlertReceiver(fail_first=1000) as hook:
        rule(srv, t, "complaint",
             channels=[{"type": "webhook", "target": hook.url, "secret": SECRET}])
        import_mbox(srv, t, complaint(sender()))
        [a] = wait(lambda: alerts(srv, t), what="the alert")
        d = deliveries_done(srv, t, a["id"], "webhook")
        assert [(x["attempt"], x["status"]) for x in d] == [
            (1, "failed"), (2, "failed"), (3, "dead")]
        reqs = hook.wait_for(3)
        assert all(r.signature_ok(SECRET) for r in reqs)
        body = reqs[0].json
        assert body["event"] == "alert" and body["alert"]["id"] == a["id"]
        assert body["workspaceId"] == t.workspace_id
        dead = call(srv, t, "GET", "/api/jobs", params={"status": "dead"})
        assert [j["kind"] for j in dead] == ["alert_deliver"]
        # The job's payload carries the channel, and its secret stays write-only there too.
        channel = dead[0]["payload"]["channel"]
        assert channel["target"] == hook.url
        assert channel["secret"] == "********" and channel["secretSet"] is True
        assert SECRET not in json.dumps(dead)


def test_a_4xx_answer_is_dead_at_once(srv, t):
    """A receiver that says 404 will not say otherwise: no retry."""
    with AlertReceiver(status=404) as gone:
        rule(srv, t, "complaint", channels=[{"type": "slack", "target": gone.url}])
        import_mbox(srv, t, complaint(sender()))
        [a] = wait(lambda: alerts(srv, t), what="the alert")
        d = deliveries_done(srv, t, a["id"], "slack")
        assert [(x["attempt"], x["status"], x["responseCode"]) for x in d] == [(1, "dead", 404)]
        assert len(gone.wait_for(1)) == 1


def test_dedup_window_edges_on_the_simulated_clock(srv, t):
    r = rule(srv, t, "complaint")
    who = sender()
    import_mbox(srv, t, complaint(who, subject="first"))
    [a] = wait(lambda: alerts(srv, t), what="the first alert")
    t0 = int(datetime.datetime.fromisoformat(a["createdAt"].replace("Z", "+00:00"))
             .timestamp() * 1000)

    def move_to(target_ms):
        """Sets the offset so the server's clock reads about target_ms now."""
        srv.clock.offset += target_ms - (int(time.time() * 1000) + srv.clock.offset)
        srv.clock.write()

    move_to(t0 + WINDOW - 1500)  # just inside: the import takes well under 1.5 s
    import_mbox(srv, t, complaint(who, subject="inside"))
    got = alerts(srv, t)
    assert len(got) == 1 and got[0]["suppressed"] == 1, got

    move_to(t0 + WINDOW)  # at the edge (and a few ms after it, as time runs)
    import_mbox(srv, t, complaint(who, subject="edge"))
    got = alerts(srv, t)
    assert len(got) == 2, got
    assert got[0]["suppressed"] == 0 and got[1]["suppressed"] == 1
    assert got[0]["ruleId"] == r["id"] == got[1]["ruleId"]

    # Another contact is another subject: its own alert at once.
    import_mbox(srv, t, complaint(sender(), subject="other"))
    assert len(alerts(srv, t)) == 3


def test_a_burst_of_10000_events_makes_one_alert_per_window(srv, t):
    with AlertReceiver() as slack:
        rule(srv, t, "complaint", channels=[{"type": "slack", "target": slack.url}])
        before = metric(srv, "leadflow_alerts_suppressed_total")
        who = sender()
        data = mbox(*[message(who, COMPLAINT, subject=f"Broken {i}") for i in range(10000)])
        t0 = time.monotonic()
        # What is tested is the dedup, not the speed: a slow machine may take a while.
        res = import_mbox(srv, t, data, timeout=120)
        took = time.monotonic() - t0
        assert res["imported"] == 10000, res
        [a] = alerts(srv, t)
        assert a["suppressed"] == 9999
        d = deliveries_done(srv, t, a["id"], "slack")
        assert [x["status"] for x in d] == ["delivered"]
        time.sleep(0.3)
        assert len(slack.requests) == 1
        assert metric(srv, "leadflow_alerts_suppressed_total") - before >= 9999
        print(f"10000 complaint emails imported and alerted in {took:.2f}s")


def test_a_new_hot_lead_raises_its_rule(srv, t):
    rule(srv, t, "new_hot_lead")
    rule(srv, t, "score_above", threshold=50)
    rule(srv, t, "score_below", threshold=50)
    who = sender()
    res = imported(srv, t, hot_mbox(who), content_type="application/mbox")
    assert res["imported"] > 0
    got = {a["trigger"]: a for a in alerts(srv, t)}
    assert set(got) == {"new_hot_lead", "score_above"}, got
    assert "New hot lead" in got["new_hot_lead"]["title"]
    assert got["new_hot_lead"]["data"]["score"] >= 80
    assert got["new_hot_lead"]["severity"] == "info"


def test_a_disabled_rule_and_a_deleted_one_raise_nothing(srv, t):
    r = rule(srv, t, "complaint", enabled=False)
    import_mbox(srv, t, complaint(sender()))
    assert alerts(srv, t) == []
    call(srv, t, "PATCH", f"/api/alerts/rules/{r['id']}", {"enabled": True})
    import_mbox(srv, t, complaint(sender()))
    assert len(alerts(srv, t)) == 1
    call(srv, t, "DELETE", f"/api/alerts/rules/{r['id']}")
    import_mbox(srv, t, complaint(sender()))
    [a] = alerts(srv, t)
    assert a["ruleId"] is None and a["ruleName"] == r["name"]


def test_a_reply_raises_its_rule(srv, t):
    rule(srv, t, "reply")
    who = sender()
    import_mbox(srv, t, mbox(message(who, "Thanks, sounds good.", subject="Re: our offer",
                                     in_reply_to="offer-1@ourteam.example")))
    [a] = alerts(srv, t)
    assert a["trigger"] == "reply" and "Reply from" in a["title"]


# -- the dashboard's side -----------------------------------------------------------------


def test_the_websocket_hears_the_alert(srv, t):
    rule(srv, t, "complaint")
    ws = session_ws(srv, t)
    try:
        who = sender()
        import_mbox(srv, t, complaint(who))
        ev, _ = ws.wait_for("alert")
        [a] = alerts(srv, t)
        assert ev["data"]["id"] == a["id"] and ev["data"]["trigger"] == "complaint"
        assert who in ev["data"]["title"] and ev["data"]["status"] == "open"
    finally:
        ws.close()


def test_ack_and_resolve(srv, t):
    rule(srv, t, "complaint")
    import_mbox(srv, t, complaint(sender()))
    [a] = alerts(srv, t)
    acked = call(srv, t, "POST", f"/api/alerts/{a['id']}/ack", creds=t.session)
    assert acked["status"] == "acked" and acked["ackedAt"] and acked["ackedBy"] == t.user_id
    assert_error(api(srv, "POST", f"/api/alerts/{a['id']}/ack", t.token_creds,
                     ws=t.workspace_id), 409, "CONFLICT", "already acked")
    assert [x["id"] for x in alerts(srv, t, status="acked")] == [a["id"]]
    assert alerts(srv, t, status="open") == []
    res = call(srv, t, "POST", f"/api/alerts/{a['id']}/resolve")
    assert res["status"] == "resolved" and res["resolvedAt"]
    assert_error(api(srv, "POST", f"/api/alerts/{a['id']}/resolve", t.token_creds,
                     ws=t.workspace_id), 409, "CONFLICT", "already resolved")
    assert_error(api(srv, "GET", "/api/alerts", t.token_creds, ws=t.workspace_id,
                     params={"status": "closed"}), 400, "VALIDATION_ERROR", "open, acked")
    assert_error(api(srv, "POST", f"/api/alerts/{random_id()}/ack", t.token_creds,
                     ws=t.workspace_id), 404, "NOT_FOUND")


def test_read_and_unread(srv, t):
    rule(srv, t, "complaint")
    import_mbox(srv, t, complaint(sender()))
    [a] = alerts(srv, t)
    assert a["readAt"] is None
    read = call(srv, t, "POST", f"/api/alerts/{a['id']}/read", creds=t.session)
    assert read["readAt"] and read["status"] == "open"
    # Reading again keeps the first time; the status is untouched.
    again = call(srv, t, "POST", f"/api/alerts/{a['id']}/read")
    assert again["readAt"] == read["readAt"]
    assert [x["readAt"] for x in alerts(srv, t)] == [read["readAt"]]
    unread = call(srv, t, "POST", f"/api/alerts/{a['id']}/unread")
    assert unread["readAt"] is None and unread["status"] == "open"
    assert_error(api(srv, "POST", f"/api/alerts/{random_id()}/read", t.token_creds,
                     ws=t.workspace_id), 404, "NOT_FOUND")
    r = api(srv, "POST", f"/api/alerts/{a['id']}/read", t.session, ws=t.workspace_id, csrf=False)
    assert r.status == 403


def test_a_test_notification_goes_through_the_rules_channels(srv, t):
    with AlertReceiver() as slack:
        r = rule(srv, t, "new_hot_lead", channels=[{"type": "slack", "target": slack.url},
                                                   {"type": "in_app"}], enabled=False)
        a = call(srv, t, "POST", f"/api/alerts/rules/{r['id']}/test", status=201,
                 creds=t.session)
        assert a["ruleId"] == r["id"] and a["title"] == "Test notification: new_hot_lead rule"
        assert a["data"] == {"test": True} and a["severity"] == "info"
        d = deliveries_done(srv, t, a["id"], "slack")
        assert d[-1]["status"] == "delivered" and d[-1]["responseCode"] == 200
        [req] = slack.wait_for(1)
        assert "Test notification" in req.json["text"]
        # Each test is its own alert: dedup never folds two tests.
        b = call(srv, t, "POST", f"/api/alerts/rules/{r['id']}/test", status=201)
        assert b["id"] != a["id"]
        assert {x["id"] for x in alerts(srv, t)} >= {a["id"], b["id"]}
    other = tu.new_tenant(srv)
    assert_error(api(srv, "POST", f"/api/alerts/rules/{r['id']}/test", other.token_creds,
                     ws=other.workspace_id), 404, "NOT_FOUND")


def test_another_workspace_sees_nothing_and_touches_nothing(srv, t):
    r = rule(srv, t, "complaint")
    import_mbox(srv, t, complaint(sender()))
    [a] = alerts(srv, t)
    b = tu.new_tenant(srv)
    assert call(srv, b, "GET", "/api/alerts") == []
    assert call(srv, b, "GET", "/api/alerts/rules") == []
    for method, path, body in [("POST", f"/api/alerts/{a['id']}/ack", None),
                               ("POST", f"/api/alerts/{a['id']}/resolve", None),
                               ("PATCH", f"/api/alerts/rules/{r['id']}", {"name": "pwned"}),
                               ("DELETE", f"/api/alerts/rules/{r['id']}", None)]:
        assert_error(api(srv, method, path, b.token_creds, ws=b.workspace_id, body=body),
                     404, "NOT_FOUND")
    assert alerts(srv, t)[0]["status"] == "open"
    assert call(srv, t, "GET", "/api/alerts/rules")[0]["name"] == r["name"]


def metric(srv, name, labels=""):
    text = srv.request("GET", "/metrics").text
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_and_health(srv, t):
    with AlertReceiver(fail_first=1) as slack:
        rule(srv, t, "complaint", channels=[{"type": "slack", "target": slack.url},
                                            {"type": "in_app"}])
        import_mbox(srv, t, complaint(sender()))
        [a] = alerts(srv, t)
        deliveries_done(srv, t, a["id"], "slack")
    m = call(srv, t, "GET", "/api/alerts/metrics")
    assert m["alerts"] == 1 and m["processed"] == 1 and m["suppressed"] == 0
    assert m["delivered"] == {"email": 0, "slack": 1, "webhook": 0, "in_app": 1}
    assert m["failed"]["slack"] == 1 and m["attempts"] == 3
    assert abs(m["errorRate"] - 100 / 3) < 0.01
    # latency p95 well under 500 ms: 100; errors 33.3%: max(0, 100 - 333) = 0 -> 50
    assert m["latency"]["count"] == 2 and m["healthScore"] == 50
    assert_error(api(srv, "GET", "/api/alerts/metrics", t.token_creds, ws=t.workspace_id,
                     params={"hours": 0}), 400, "VALIDATION_ERROR")
    text = srv.request("GET", "/metrics").text
    for name in ("leadflow_alerts_processed_total", "leadflow_alerts_suppressed_total",
                 'leadflow_alerts_delivered_total{channel="slack"}',
                 'leadflow_alerts_failed_total{channel="slack"}',
                 "leadflow_alerts_processing_seconds_count"):
        assert name in text, name
    assert metric(srv, "leadflow_alerts_delivered_total", '{channel="slack"}') >= 1


# Last: it moves the simulated clock hours ahead (sign-in links made by the CLI on
# real time would look expired to the server after it).
def test_a_dead_job_raises_job_dead(srv, t):
    rule(srv, t, "job_dead")
    contact = tu.create_contact(srv, t, name="Dana Dead")
    call(srv, t, "POST", "/api/emails/send",
         {"contactId": contact["id"], "subject": "Hi", "text": "Hello"}, status=202)
    # No email provider is configured: every attempt fails; the clock skips the backoff.
    def dead():
        srv.clock.advance(3600 * 1000)
        return [a for a in alerts(srv, t) if a["trigger"] == "job_dead"]
    [a] = wait(dead, timeout=20, what="the job_dead alert")
    assert a["subject"] == "job_dead:send_email" and a["severity"] == "critical"
    assert a["data"]["kind"] == "send_email"
