"""The OpenAI-compatible provider end to end (LEADFLOW_AI_PROVIDER=openai) against a fake
chat completions server (tests/fakes/openai_api.py) that checks each request's shape.

Covers: `leadflow analyze` and the import pipeline use the model's analysis
(provider and analyzedBy "openai"); drafts come from it too; the request is the
documented one (model, system and user messages, a strict json_schema, Authorization
only when a key is set); a server that refuses json_schema is asked for json_object,
and the process remembers that; malformed or schema-invalid content, refusals and
answers cut at max_tokens fall back to the offline analyzer (analyzedBy "offline"); a
refused key falls back with an error line that names the setting but not the key;
429 waits for Retry-After; 5xx and time-outs are retried, bounded by the settings.
"""
import json
import os
import sys
import time

import pytest

from conftest import parse_log_line
from mailutil import imported, message
from tenantutil import api, new_tenant, ok, unique_email

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.openai_api import FakeOpenAIAPI  # noqa: E402

INTENTS = {"meeting_request", "question", "complaint", "feature_request", "pricing_inquiry",
           "general", "follow_up"}
MODEL = "llama3.1-test"

PRICING_EML = (
    "From: Dana Buyer <dana@prospect.example>\r\n"
    "To: sales@leadflow.example\r\n"
    "Subject: Pricing for 50 seats\r\n"
    "Message-ID: <pricing-1@prospect.example>\r\n"
    "Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hi, could you send pricing for 50 seats? Are you free for a call on Thursday?\r\n"
    "openai-body-marker-7f3\r\n"
)


@pytest.fixture
def fake():
    with FakeOpenAIAPI(model=MODEL) as f:
        yield f


def api_env(fake, key=None, **extra):
    env = {
        "LEADFLOW_AI_PROVIDER": "openai",
        "LEADFLOW_OPENAI_BASE_URL": fake.url,
        "LEADFLOW_OPENAI_MODEL": MODEL,
        "LEADFLOW_OPENAI_TIMEOUT_MS": "5000",
    }
    if key is not None:
        env["LEADFLOW_OPENAI_API_KEY"] = key
    env.update({k: str(v) for k, v in extra.items()})
    return env


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def results(r):
    out = [json.loads(line) for line in r.stdout.splitlines()]
    for o in out:
        assert o["intents"] and set(o["intents"]) <= INTENTS, o
        assert o["provider"] in ("openai", "offline"), o
    return out


def log_lines(stderr, event):
    return [rec for rec in map(parse_log_line, stderr.splitlines())
            if rec and rec.get("event") == event]


def analyze(run_cli, tmp_path, fake, key=None, files=1, **env):
    paths = [write(tmp_path, f"m{i}.eml", PRICING_EML) for i in range(files)]
    r = run_cli("analyze", *paths, env=api_env(fake, key=key, **env))
    assert r.returncode == 0, r.stderr
    if key:
        assert key not in r.stdout + r.stderr
        assert key[-12:] not in r.stdout + r.stderr
    return r


# -- the model's answer is used ----------------------------------------------------


def test_analysis_from_the_server_is_used(run_cli, tmp_path, fake):
    r = analyze(run_cli, tmp_path, fake)
    [res] = results(r)
    assert res["provider"] == "openai"
    assert set(res["intents"]) == {"pricing_inquiry", "meeting_request"}
    assert res["sentiment"] == "positive" and res["urgency"] == "high"
    assert res["sentiment_score"] == pytest.approx(0.75)
    assert not log_lines(r.stderr, "ai.openai_fallback")


def test_request_has_the_documented_shape(run_cli, tmp_path, fake):
    analyze(run_cli, tmp_path, fake)
    [req] = fake.recorded()
    assert req.status == 200, req.problem
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert "authorization" not in req.headers  # no key set: a local server needs none
    assert req.headers["content-type"].startswith("application/json")
    b = req.json
    assert b["model"] == MODEL
    assert b["max_tokens"] == 4096
    assert [m["role"] for m in b["messages"]] == ["system", "user"]
    assert "openai-body-marker-7f3" in req.user_text
    assert "openai-body-marker-7f3" not in req.system_text
    assert req.user_text.count("<email>") == 1 and req.user_text.count("</email>") == 1
    rf = b["response_format"]
    assert rf["type"] == "json_schema"
    js = rf["json_schema"]
    assert js["name"] == "email_analysis" and js["strict"] is True
    schema = js["schema"]
    assert set(schema["required"]) == {"intents", "sentiment", "sentiment_score", "urgency"}
    assert set(schema["properties"]["intents"]["items"]["enum"]) == INTENTS
    assert schema["properties"]["sentiment"]["enum"] == ["positive", "neutral", "negative"]


def test_key_is_sent_as_a_bearer_token_only(run_cli, tmp_path):
    key = "sk-test-" + "k3y" * 12
    with FakeOpenAIAPI(api_key=key) as f:
        r = analyze(run_cli, tmp_path, f, key=key)
        [res] = results(r)
        assert res["provider"] == "openai"
        [req] = f.recorded()
        assert req.status == 200, req.problem
        assert req.headers["authorization"] == f"Bearer {key}"
        assert key.encode() not in req.body


def test_max_tokens_zero_is_not_sent(run_cli, tmp_path, fake):
    analyze(run_cli, tmp_path, fake, LEADFLOW_OPENAI_MAX_TOKENS=0)
    [req] = fake.recorded()
    assert req.status == 200 and "max_tokens" not in req.json


# -- response_format ---------------------------------------------------------------


def test_refused_json_schema_falls_back_to_json_object_once_per_process(run_cli, tmp_path,
                                                                        fake):
    fake.supports_schema = False
    r = analyze(run_cli, tmp_path, fake, files=3)
    assert [x["provider"] for x in results(r)] == ["openai"] * 3
    reqs = fake.recorded()
    assert [(q.format_type, q.status) for q in reqs] == [
        ("json_schema", 400), ("json_object", 200), ("json_object", 200), ("json_object", 200)]
    [note] = log_lines(r.stderr, "ai.openai_json_object")
    assert note["level"] == "warn"
    assert not log_lines(r.stderr, "ai.openai_fallback")


def test_json_object_is_not_remembered_when_the_server_supports_schema(run_cli, tmp_path, fake):
    r = analyze(run_cli, tmp_path, fake, files=2)
    assert [q.format_type for q in fake.recorded()] == ["json_schema", "json_schema"]
    assert not log_lines(r.stderr, "ai.openai_json_object")


# -- fallback to the offline analyzer --------------------------------------------------


@pytest.mark.parametrize("mode, reason", [
    ("malformed", "does not"),
    ("schema_invalid", "intents[0]"),
    ("refusal", "refused"),
    ("length", "max_tokens"),
])
def test_unusable_answer_falls_back_without_retry(run_cli, tmp_path, fake, mode, reason):
    fake.set_mode(mode)
    r = analyze(run_cli, tmp_path, fake)
    [res] = results(r)
    assert res["provider"] == "offline"
    assert "pricing_inquiry" in res["intents"]  # the offline analyzer read the email
    assert len(fake.recorded()) == 1
    [warn] = log_lines(r.stderr, "ai.openai_fallback")
    assert warn["level"] == "warn" and warn["status"] == 200
    assert reason in warn["reason"], warn
    assert "I'm sorry" not in r.stderr  # the model's own words stay out of the log


def test_rejected_key_falls_back_with_a_clear_error(run_cli, tmp_path):
    good, wrong = "sk-good-" + "a" * 30, "sk-wrong-" + "9" * 30
    with FakeOpenAIAPI(api_key=good) as f:
        r = analyze(run_cli, tmp_path, f, key=wrong)
        [res] = results(r)
        assert res["provider"] == "offline"
        assert [q.status for q in f.recorded()] == [401]  # not retried
        assert f.recorded()[0].headers["authorization"] == f"Bearer {wrong}"
        [line] = log_lines(r.stderr, "ai.openai_fallback")
        assert line["level"] == "error" and line["status"] == 401
        assert line["error_type"] == "invalid_request_error"
        assert "LEADFLOW_OPENAI_API_KEY" in line["msg"]
        assert "9" * 30 not in r.stdout + r.stderr


def test_unknown_model_falls_back_with_a_clear_error(run_cli, tmp_path, fake):
    r = analyze(run_cli, tmp_path, fake, LEADFLOW_OPENAI_MODEL="no-such-model")
    [res] = results(r)
    assert res["provider"] == "offline"
    assert [q.status for q in fake.recorded()] == [404]  # not retried
    [line] = log_lines(r.stderr, "ai.openai_fallback")
    assert line["level"] == "error" and line["error_type"] == "invalid_request_error"
    assert "LEADFLOW_OPENAI_BASE_URL" in line["msg"] and "no-such-model" in line["msg"]


def test_missing_key_is_reported_as_not_set(run_cli, tmp_path):
    with FakeOpenAIAPI(api_key="sk-needed-" + "b" * 20) as f:
        r = analyze(run_cli, tmp_path, f)
        [res] = results(r)
        assert res["provider"] == "offline"
        assert "authorization" not in f.recorded()[0].headers
        [line] = log_lines(r.stderr, "ai.openai_fallback")
        assert line["level"] == "error" and "not set" in line["msg"]


def test_429_waits_for_retry_after(run_cli, tmp_path, fake):
    fake.set_mode("fail_then_ok", times=1, status=429, retry_after=1)
    r = analyze(run_cli, tmp_path, fake)
    [res] = results(r)
    assert res["provider"] == "openai"
    first, second = fake.recorded()
    assert (first.status, second.status) == (429, 200)
    # The client's own first backoff is 250-500 ms: a second's wait is the server's.
    assert second.at - first.at >= 1.0


def test_server_errors_are_retried_then_fall_back(run_cli, tmp_path, fake):
    fake.set_mode("always_500")
    r = analyze(run_cli, tmp_path, fake, LEADFLOW_OPENAI_MAX_RETRIES=1)
    [res] = results(r)
    assert res["provider"] == "offline"
    assert [q.status for q in fake.recorded()] == [500, 500]
    [warn] = log_lines(r.stderr, "ai.openai_fallback")
    assert warn["level"] == "warn" and warn["attempts"] == 2 and warn["status"] == 500
    assert warn["error_type"] == "server_error"


def test_503_then_success(run_cli, tmp_path, fake):
    fake.set_mode("fail_then_ok", times=2, status=503)
    r = analyze(run_cli, tmp_path, fake)
    [res] = results(r)
    assert res["provider"] == "openai"
    assert [q.status for q in fake.recorded()] == [503, 503, 200]


def test_timeout_is_bounded_by_the_setting(run_cli, tmp_path, fake):
    fake.set_mode("slow", seconds=5)
    t0 = time.monotonic()
    r = analyze(run_cli, tmp_path, fake, LEADFLOW_OPENAI_TIMEOUT_MS=300,
                LEADFLOW_OPENAI_MAX_RETRIES=1)
    elapsed = time.monotonic() - t0
    [res] = results(r)
    assert res["provider"] == "offline"
    assert elapsed < 4.0, f"took {elapsed:.1f}s: the time-out was not applied"
    assert len(fake.recorded()) == 2  # a time-out is retried like a 5xx
    [warn] = log_lines(r.stderr, "ai.openai_fallback")
    assert warn["status"] == 0


# -- configuration -------------------------------------------------------------------


def test_settings_are_checked(run_cli, tmp_path, fake):
    path = write(tmp_path, "m.eml", PRICING_EML)
    env = api_env(fake)
    del env["LEADFLOW_OPENAI_MODEL"]
    r = run_cli("analyze", path, env=env)
    assert r.returncode == 1 and "LEADFLOW_OPENAI_MODEL" in r.stderr
    r = run_cli("analyze", path, env=api_env(fake, LEADFLOW_AI_PROVIDER="gpt"))
    assert r.returncode == 1 and "offline, anthropic, openai" in r.stderr
    r = run_cli("analyze", path, env=api_env(fake, LEADFLOW_AI_PROVIDER="offline"))
    assert r.returncode == 0, r.stderr
    assert [x["provider"] for x in results(r)] == ["offline"]
    assert fake.recorded() == []


def test_settings_are_listed(run_cli):
    r = run_cli("serve", "--help")
    assert r.returncode == 0
    for key in ("LEADFLOW_AI_PROVIDER", "LEADFLOW_OPENAI_BASE_URL", "LEADFLOW_OPENAI_MODEL",
                "LEADFLOW_OPENAI_API_KEY", "LEADFLOW_OPENAI_TIMEOUT_MS"):
        assert key in r.stdout, r.stdout
    r = run_cli("analyze", "--help")
    assert r.returncode == 0 and "LEADFLOW_AI_PROVIDER" in r.stdout


# -- the server: import pipeline and drafts ------------------------------------------------


@pytest.fixture
def ai_server(launcher, fake):
    return launcher.start(env=api_env(fake, LEADFLOW_OPENAI_MAX_RETRIES=0))


def import_one(srv):
    t = new_tenant(srv, unique_email("oa"), session=False)
    sender = f"{os.urandom(3).hex()}@prospect.example"
    msg = message(sender, "Could you send pricing for 50 seats? Can we meet on Thursday?",
                  subject="Pricing for 50 seats", name="Dana Buyer")
    assert imported(srv, t, msg)["imported"] == 1
    [e] = ok(api(srv, "GET", "/api/emails", t.token_creds, ws=t.workspace_id))
    return t, e


def test_import_is_analyzed_by_the_server(ai_server, fake):
    _, e = import_one(ai_server)
    assert e["analyzedBy"] == "openai"
    assert set(e["intents"]) == {"pricing_inquiry", "meeting_request"}
    assert e["urgency"] == "high"
    [req] = [q for q in fake.recorded() if not q.is_draft]
    assert req.status == 200 and req.json["model"] == MODEL


def test_malformed_answer_still_analyzes_the_import(ai_server, fake):
    fake.set_mode("malformed")
    _, e = import_one(ai_server)
    assert e["analyzedBy"] == "offline"
    assert "pricing_inquiry" in e["intents"]
    warn = ai_server.wait_for_log(lambda r: r.get("event") == "ai.openai_fallback",
                                  what="a fallback warning")
    assert warn["status"] == 200


def draft_for(srv, name, company, title):
    """A new contact in a new workspace, and the one draft POST /api/content/generate makes."""
    t = new_tenant(srv, unique_email("oa"), session=False)
    c = ok(api(srv, "POST", "/api/contacts", t.token_creds, ws=t.workspace_id,
               body={"email": f"{os.urandom(3).hex()}@contact.example", "name": name,
                     "company": company, "jobTitle": title}), 201)
    data = ok(api(srv, "POST", "/api/content/generate", t.token_creds, ws=t.workspace_id,
                  body={"target": "contacts", "contactIds": [c["id"]]}), 201)
    [d] = data["drafts"]
    return d


def test_drafts_come_from_the_server(ai_server, fake):
    d = draft_for(ai_server, "Ada Quill", "Quillon Labs", "CTO")
    assert d["provider"] == "openai"
    assert d["subjects"] == fake.draft_result["subjects"]
    assert d["body"] == fake.draft_result["body"]
    [req] = [q for q in fake.recorded() if q.is_draft]
    js = req.json["response_format"]["json_schema"]
    assert js["name"] == "follow_up_email" and js["strict"] is True
    assert js["schema"]["properties"]["subjects"]["minItems"] == 3
    assert "Quillon Labs" in req.user_text and "Quillon Labs" not in req.system_text


def test_invalid_draft_falls_back_to_the_offline_drafter(ai_server, fake):
    fake.set_mode("schema_invalid")
    d = draft_for(ai_server, "Riley Chen", "Harbourline Freight", "VP of Operations")
    assert d["provider"] == "offline"
    assert "Harbourline Freight" in d["body"]
    warn = ai_server.wait_for_log(lambda r: r.get("event") == "ai.openai_fallback"
                                  and r.get("call") == "draft", what="a draft fallback")
    assert "subjects" in warn["reason"]
