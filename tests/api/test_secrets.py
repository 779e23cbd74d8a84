"""Webhook secrets are write-only and webhook targets are checked when saved.

Alert rules show a channel's secret as the mask "********" with "secretSet",
to every reader (viewers too), as campaign steps do; a PATCH that sends the
mask back keeps the stored secret. A step or a channel whose URL names a
private address (IPv4-embedded IPv6 forms included) is refused when it is
saved, unless LEADFLOW_WEBHOOK_ALLOW_PRIVATE is on; with it on, a webhook to
an IPv6 loopback literal is delivered.
"""
import json
import os
import socket
import sys

import pytest

import tenantutil as tu
from conftest import Launcher
from tenantutil import Creds, add_member, add_user, api, assert_error, insert_token, ok
from test_alerts import alerts, complaint, deliveries_done, import_mbox, sender, wait

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.alert_receiver import AlertReceiver  # noqa: E402

SECRET = "alert-webhook-secret-0123456789"
MASK = "********"
HOOK = "https://hooks.example.com/leadflow"


@pytest.fixture(scope="module")
def strict(bin_path, tmp_path_factory, web_dir):
    """A server with the SSRF guard on (the default)."""
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env={"LEADFLOW_JOB_POLL_MS": "50"})
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def lax(bin_path, tmp_path_factory, web_dir):
    """A server that allows private webhook targets."""
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env={"LEADFLOW_JOB_POLL_MS": "50", "LEADFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
                      "LEADFLOW_ALERT_BACKOFF_MS": "100"})
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


def call(srv, t, method, path, body=None, status=200, creds=None):
    r = api(srv, method, path, creds or t.token_creds, ws=t.workspace_id, body=body)
    return ok(r, status)


def webhook_rule(srv, t, target=HOOK, secret=SECRET):
    return call(srv, t, "POST", "/api/alerts/rules",
                {"name": "hook", "trigger": "complaint",
                 "channels": [{"type": "in_app"},
                              {"type": "webhook", "target": target, "secret": secret}]},
                status=201)


def stored_channels(srv, rule_id):
    [(text,)] = tu.db_query(srv, "SELECT CAST(channels AS TEXT) FROM alert_rules WHERE id = ?",
                            (rule_id,))
    return json.loads(text)


# -- alert channel secrets ----------------------------------------------------------


def test_alert_channel_secrets_are_masked_in_every_answer(strict):
    t = tu.new_tenant(strict, session=False)
    r = api(strict, "POST", "/api/alerts/rules", t.token_creds, ws=t.workspace_id,
            body={"name": "hook", "trigger": "complaint",
                  "channels": [{"type": "webhook", "target": HOOK, "secret": SECRET}]})
    assert SECRET.encode() not in r.body
    created = ok(r, 201)
    assert created["channels"] == [{"type": "webhook", "target": HOOK, "secret": MASK,
                                    "secretSet": True}]
    viewer = add_user(strict, tu.unique_email("viewer"))
    add_member(strict, viewer.user_id, t.org_id, "viewer")
    vcreds = Creds("token", token=insert_token(strict, t.workspace_id, viewer.user_id))
    for creds in (t.token_creds, vcreds):
        r = api(strict, "GET", "/api/alerts/rules", creds, ws=t.workspace_id)
        assert SECRET.encode() not in r.body
        [rule] = ok(r)
        assert rule["channels"][0]["secret"] == MASK
    r = api(strict, "PATCH", f"/api/alerts/rules/{created['id']}", t.token_creds,
            ws=t.workspace_id, body={"name": "renamed"})
    assert SECRET.encode() not in r.body
    assert ok(r)["channels"][0]["secret"] == MASK
    assert stored_channels(strict, created["id"])[0]["secret"] == SECRET


def test_patching_the_mask_back_keeps_the_stored_secret(strict):
    t = tu.new_tenant(strict, session=False)
    rule = webhook_rule(strict, t)
    # The channels sent back as the answer gave them, with a new target.
    channels = rule["channels"]
    channels[1]["target"] = HOOK + "/v2"
    r = api(strict, "PATCH", f"/api/alerts/rules/{rule['id']}", t.token_creds,
            ws=t.workspace_id, body={"channels": channels})
    assert SECRET.encode() not in r.body
    assert ok(r)["channels"][1] == {"type": "webhook", "target": HOOK + "/v2", "secret": MASK,
                                    "secretSet": True}
    assert stored_channels(strict, rule["id"]) == [
        {"type": "in_app"}, {"type": "webhook", "target": HOOK + "/v2", "secret": SECRET}]
    # Reordered: the stored channel with the same target gives it.
    channels = [channels[1], channels[0]]
    ok(api(strict, "PATCH", f"/api/alerts/rules/{rule['id']}", t.token_creds,
           ws=t.workspace_id, body={"channels": channels}))
    assert stored_channels(strict, rule["id"])[0]["secret"] == SECRET
    # A new secret replaces it.
    new = "another-secret-0123456789abcdef"
    ok(api(strict, "PATCH", f"/api/alerts/rules/{rule['id']}", t.token_creds,
           ws=t.workspace_id,
           body={"channels": [{"type": "webhook", "target": HOOK, "secret": new}]}))
    assert stored_channels(strict, rule["id"]) == [
        {"type": "webhook", "target": HOOK, "secret": new}]
    # The mask with nothing to keep is refused.
    r = api(strict, "POST", "/api/alerts/rules", t.token_creds, ws=t.workspace_id,
            body={"name": "x", "trigger": "reply",
                  "channels": [{"type": "webhook", "target": HOOK, "secret": MASK}]})
    assert_error(r, 400, "VALIDATION_ERROR", "channels[0].secret is the mask")
    r = api(strict, "PATCH", f"/api/alerts/rules/{rule['id']}", t.token_creds,
            ws=t.workspace_id,
            body={"channels": [{"type": "in_app"},
                               {"type": "webhook", "target": HOOK + "/other", "secret": MASK}]})
    assert_error(r, 400, "VALIDATION_ERROR", "channels[1].secret is the mask")


# -- private targets refused when saved ----------------------------------------------

PRIVATE = ["http://[::127.0.0.1]/", "http://[::a9fe:a9fe]/latest",
           "http://[::ffff:0:7f00:1]/", "http://[64:ff9b::a00:1]/", "http://[2002:c0a8:1::1]/",
           "http://127.0.0.1:9/", "http://169.254.169.254/", "http://localhost:8080/h"]


@pytest.mark.parametrize("url", PRIVATE)
def test_a_rule_with_a_private_target_is_refused_when_saved(strict, url):
    t = tu.new_tenant(strict, session=False)
    for ch in ({"type": "webhook", "target": url, "secret": SECRET},
               {"type": "slack", "target": url}):
        r = api(strict, "POST", "/api/alerts/rules", t.token_creds, ws=t.workspace_id,
                body={"name": "x", "trigger": "reply", "channels": [{"type": "in_app"}, ch]})
        assert "private" in assert_error(r, 400, "VALIDATION_ERROR", "channels[1].target")
    rule = webhook_rule(strict, t)
    r = api(strict, "PATCH", f"/api/alerts/rules/{rule['id']}", t.token_creds,
            ws=t.workspace_id,
            body={"channels": [{"type": "webhook", "target": url, "secret": SECRET}]})
    assert "private" in assert_error(r, 400, "VALIDATION_ERROR", "channels[0].target")


@pytest.mark.parametrize("url", PRIVATE)
def test_a_step_with_a_private_url_is_refused_when_saved(strict, url):
    t = tu.new_tenant(strict, session=False)
    c = call(strict, t, "POST", "/api/campaigns", {"name": "c"}, status=201)
    r = api(strict, "POST", f"/api/campaigns/{c['id']}/steps", t.token_creds, ws=t.workspace_id,
            body={"steps": [{"type": "tag", "config": {"add": ["x"]}},
                            {"type": "webhook", "config": {"url": url, "secret": SECRET}}]})
    assert "private" in assert_error(r, 400, "VALIDATION_ERROR", "steps[1].config.url")


def test_private_targets_are_saved_when_allowed(lax):
    t = tu.new_tenant(lax, session=False)
    rule = webhook_rule(lax, t, target="http://[::127.0.0.1]/")
    assert rule["channels"][1]["target"] == "http://[::127.0.0.1]/"
    c = call(lax, t, "POST", "/api/campaigns", {"name": "c"}, status=201)
    call(lax, t, "POST", f"/api/campaigns/{c['id']}/steps",
         {"steps": [{"type": "webhook", "config": {"url": "http://[::1]/", "secret": SECRET}}]})


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_a_webhook_to_an_ipv6_literal_is_delivered(lax):
    t = tu.new_tenant(lax, session=False)
    with AlertReceiver(host="::1") as hook:
        assert hook.url.startswith("http://[::1]:")
        webhook_rule(lax, t, target=hook.url)
        import_mbox(lax, t, complaint(sender()))
        [a] = wait(lambda: alerts(lax, t), what="the alert")
        d = deliveries_done(lax, t, a["id"], "webhook")
        assert [(x["attempt"], x["status"]) for x in d] == [(1, "delivered")], d
        [req] = hook.wait_for(1)
        assert req.signature_ok(SECRET)
        assert req.json["alert"]["id"] == a["id"]
