"""A provider's health as the send chain sees it, against the fake providers:
a refused key raises a send_failures alert at once, each provider's circuit
breaker skips it after failures in a row (and probes it after the cool-down),
a 429's Retry-After pauses it, and /metrics shows the figures (sent, failed,
bounced, skipped per provider, circuit state, queue depth by kind, dead
jobs) in valid Prometheus text."""
import shutil
import subprocess

import pytest

import tenantutil as tu
from test_http import counter_value, parse_metrics
from test_send import env_for, resend, send, sendgrid, setup_tenant, wait_status  # noqa: F401
from test_suppression import call, wait_for


def attempts(row):
    return [(a["provider"], a["outcome"], a["status"]) for a in row["attempts"]]


def send_one(srv, t, c, key):
    return wait_status(srv, t, send(srv, t, c, key=key)["id"], {"sent", "refused", "failed"})


def metrics(srv):
    r = srv.get("/metrics")
    assert r.status == 200
    samples, _, types = parse_metrics(r.text)
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=r.text.encode(),
                           capture_output=True)
        assert p.returncode == 0, p.stdout + p.stderr
    return samples, types


def test_a_refused_key_raises_a_send_failures_alert_at_once(launcher, sendgrid, resend):
    env = env_for(sendgrid, resend)
    env["LEADFLOW_SENDGRID_API_KEY"] = "SG.revoked"  # the fake answers 401
    srv = launcher.start(env=env)
    t, c = setup_tenant(srv)
    call(srv, t, "POST", "/api/alerts/rules",
         {"name": "sending broken", "trigger": "send_failures", "threshold": 90,
          "channels": [{"type": "in_app"}]}, status=201)
    row = send_one(srv, t, c, "one")
    assert row["status"] == "sent" and attempts(row) == [("sendgrid", "temporary", 401),
                                                         ("resend", "sent", 200)]
    # One email, one failed attempt of two: under the rate rule's threshold
    # and its minimum of attempts, yet a refused key is raised at once.
    (a,) = wait_for("the alert", lambda: [x for x in call(srv, t, "GET", "/api/alerts")
                                          if x["trigger"] == "send_failures"])
    assert "sendgrid" in a["title"] and "configuration" in a["title"]
    assert "401" in a["body"] and "SG.revoked" not in a["body"]
    assert tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE kind = 'bounce'") == [(0,)]
    # The same provider's refusals within the window stay one alert.
    send_one(srv, t, c, "two")
    assert len([x for x in call(srv, t, "GET", "/api/alerts")
                if x["trigger"] == "send_failures"]) == 1


def test_the_circuit_opens_after_failures_in_a_row_and_a_probe_closes_it(launcher, sendgrid,
                                                                         resend):
    sendgrid.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid, resend, LEADFLOW_SEND_BREAKER_FAILURES="2",
                                     LEADFLOW_SEND_BREAKER_COOLDOWN_MS="600000"))
    t, c = setup_tenant(srv)
    rows = [send_one(srv, t, c, f"k{i}") for i in range(5)]
    assert [attempts(r) for r in rows[:2]] == [[("sendgrid", "temporary", 500),
                                                ("resend", "sent", 200)]] * 2
    # Open: SendGrid is not asked (nor waited on) for the next emails.
    assert [attempts(r) for r in rows[2:]] == [[("resend", "sent", 200)]] * 3
    assert len(sendgrid.recorded()) == 2
    samples, types = metrics(srv)
    assert types["leadflow_send_circuit_state"] == "gauge"
    assert counter_value(samples, "leadflow_send_circuit_state", provider="sendgrid") == 1
    assert counter_value(samples, "leadflow_send_circuit_state", provider="resend") == 0
    assert counter_value(samples, "leadflow_send_skipped_total", provider="sendgrid") == 3
    assert counter_value(samples, "leadflow_emails_failed_total", provider="sendgrid") == 2
    assert counter_value(samples, "leadflow_emails_sent_total", provider="resend") == 5
    assert counter_value(samples, "leadflow_emails_sent_total", provider="sendgrid") == 0


def test_after_the_cool_down_one_probe_goes_and_success_closes(launcher, sendgrid, resend):
    sendgrid.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid, resend, LEADFLOW_SEND_BREAKER_FAILURES="1",
                                     LEADFLOW_SEND_BREAKER_COOLDOWN_MS="300"))
    t, c = setup_tenant(srv)
    assert attempts(send_one(srv, t, c, "a")) == [("sendgrid", "temporary", 500),
                                                  ("resend", "sent", 200)]
    sendgrid.set_mode("ok")
    # Open until the cool-down ends; then one probe goes to SendGrid and closes it.
    row = wait_for("a probe of sendgrid", lambda: (lambda r: r if r["provider"] == "sendgrid"
                                                   else None)(send_one(srv, t, c, tu.random_id())))
    assert attempts(row) == [("sendgrid", "sent", 202)]
    samples, _ = metrics(srv)
    assert counter_value(samples, "leadflow_send_circuit_state", provider="sendgrid") == 0
    assert attempts(send_one(srv, t, c, "after")) == [("sendgrid", "sent", 202)]


def test_a_failed_probe_opens_it_again(launcher, sendgrid, resend):
    sendgrid.set_mode("500")
    srv = launcher.start(env=env_for(sendgrid, resend, LEADFLOW_SEND_BREAKER_FAILURES="1",
                                     LEADFLOW_SEND_BREAKER_COOLDOWN_MS="300"))
    t, c = setup_tenant(srv)
    send_one(srv, t, c, "a")
    # Sends go to Resend alone until a probe tries SendGrid again, and fails.
    wait_for("a second try of sendgrid", lambda: send_one(srv, t, c, tu.random_id()) and
             len(sendgrid.recorded()) == 2)
    samples, _ = metrics(srv)
    assert counter_value(samples, "leadflow_send_circuit_state", provider="sendgrid") == 1
    assert counter_value(samples, "leadflow_emails_failed_total", provider="sendgrid") == 2


def test_retry_after_pauses_the_provider_and_the_next_one_sends(launcher, sendgrid, resend):
    sendgrid.set_mode("429")
    sendgrid.retry_after = 3600
    srv = launcher.start(env=env_for(sendgrid, resend))  # threshold 5: not the breaker's count
    t, c = setup_tenant(srv)
    assert attempts(send_one(srv, t, c, "a")) == [("sendgrid", "temporary", 429),
                                                  ("resend", "sent", 200)]
    assert attempts(send_one(srv, t, c, "b")) == [("resend", "sent", 200)]
    assert len(sendgrid.recorded()) == 1
    samples, _ = metrics(srv)
    assert counter_value(samples, "leadflow_send_circuit_state", provider="sendgrid") == 1


def test_with_every_provider_paused_the_job_is_retried_later(launcher, sendgrid):
    sendgrid.set_mode("429", times=1)
    sendgrid.retry_after = 1
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    sid = send(srv, t, c)["id"]
    row = wait_status(srv, t, sid, {"sent"}, timeout=30)
    # Retries while the pause lasted asked SendGrid nothing.
    assert attempts(row) == [("sendgrid", "temporary", 429), ("sendgrid", "sent", 202)]
    assert len(sendgrid.recorded()) == 2


def test_metrics_show_the_queue_depth_and_dead_jobs(launcher, sendgrid):
    sendgrid.set_mode("permanent")
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    assert send_one(srv, t, c, "x")["status"] == "refused"
    now = tu.now_ms()
    far = now + 3600 * 1000
    tu.db_exec(srv, "INSERT INTO jobs (workspace_id, kind, payload, status, run_at, attempts,"
                    " max_attempts, created_at, updated_at) VALUES"
                    " (?, 'drip_step', '{}', 'queued', ?, 0, 5, ?, ?),"
                    " (?, 'drip_step', '{}', 'queued', ?, 0, 5, ?, ?),"
                    " (?, 'alert_deliver', '{}', 'dead', ?, 5, 5, ?, ?)",
               (t.workspace_id, far, now, now, t.workspace_id, far, now, now,
                t.workspace_id, now, now, now))
    samples, types = metrics(srv)
    assert types["leadflow_queue_depth"] == "gauge" and types["leadflow_jobs_dead"] == "gauge"
    assert counter_value(samples, "leadflow_queue_depth", kind="drip_step") == 2
    assert counter_value(samples, "leadflow_jobs_dead", kind="alert_deliver") == 1
    assert counter_value(samples, "leadflow_jobs_dead", kind="drip_step") == 0
    assert counter_value(samples, "leadflow_emails_bounced_total", provider="sendgrid") == 1
    assert types["leadflow_emails_bounced_total"] == "counter"


@pytest.mark.parametrize("value", ["-1", "1001", "x"])
def test_breaker_settings_are_checked(run_cli, value):
    r = run_cli("serve", "--listen", "127.0.0.1:0",
                env={"LEADFLOW_SEND_BREAKER_FAILURES": value})
    assert r.returncode != 0
    assert "send_breaker_failures" in r.stderr, r.stderr
