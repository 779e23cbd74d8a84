"""PostgreSQL only (LEADFLOW_TEST_PG=1): the statements of the hot paths use
their indexes under Row Level Security.

A workspace is seeded with BIG contacts and as many emails; then the real
server and CLI run, as the application role, each hot path: importing mail
(finding, creating and rescoring contacts, storing emails), hot leads, the
job queue's claim, a drip step and an open of the tracking pixel.
auto_explain (loaded for the application role in this database only)
writes every statement's executed plan, with actual row counts, to the
cluster's log. No plan may read contacts or emails with a sequential scan,
nor walk a large part of the workspace's rows through any other scan: a
lookup that did would grow with the workspace.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
import uuid

import pytest

import mailutil as mu
import tenantutil as tu
from conftest import Launcher, pg_cluster

psycopg2 = pytest.importorskip("psycopg2")

BIG = 20000
# A scan that reads this many rows of a 20,000-row workspace is a walk over it.
WALK = 1000
WATCHED = {"contacts", "emails"}
SECRET = "plans-test-secret-key-0123456789abcdef0123"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.1 Safari/605.1.15")
LOG_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.M)


def pixel_token(ws, sent, contact):
    payload = bytes([1, ord("o")]) + b"".join(uuid.UUID(x).bytes for x in (ws, sent, contact))
    key = hmac.new(SECRET.encode(), b"leadflow track v1", hashlib.sha256).digest()
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode()


def seed(db, ws):
    """BIG contacts (c<i>@seed<i % 500>.example; 2% hot) and one email each.
    The counting triggers are off while loading (one row updated 40,000
    times in one transaction is slow); the counts are set at the end."""
    con = pg_cluster().connect(db)
    now = tu.now_ms()
    try:
        with con, con.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(
                "INSERT INTO contacts (id, workspace_id, email, name, ai_score, last_interaction,"
                " created_at, updated_at) SELECT md5('c' || i)::uuid::text, %s,"
                " 'c' || i || '@seed' || (i %% 500) || '.example', 'Contact ' || i,"
                " CASE WHEN i %% 50 = 0 THEN 80 + i %% 20 ELSE i %% 80 END,"
                " %s - i * 1000, %s, %s FROM generate_series(1, %s) i", (ws, now, now, now, BIG))
            cur.execute(
                "INSERT INTO emails (id, workspace_id, contact_id, message_id, from_email,"
                " subject, received_at, created_at) SELECT md5('e' || i)::uuid::text, %s,"
                " md5('c' || i)::uuid::text, '<s' || i || '@seed.example>',"
                " 'c' || i || '@seed' || (i %% 500) || '.example', 'Seeded', %s - i * 1000, %s"
                " FROM generate_series(1, %s) i", (ws, now, now, BIG))
            cur.execute("UPDATE workspace_counts SET contacts = contacts + %s, emails = emails + %s,"
                        " hot = hot + %s, warm = warm + %s WHERE workspace_id = %s",
                        (BIG, BIG, BIG // 50, BIG // 80 * 20 * 49 // 50, ws))
        con.autocommit = True
        con.cursor().execute("ANALYZE")
    finally:
        con.close()


def explain_for_app(db):
    """auto_explain for the application role's new sessions in this database."""
    con = pg_cluster().connect(db)
    try:
        con.autocommit = True
        cur = con.cursor()
        cur.execute("LOAD 'auto_explain'")
        for k, v in (("session_preload_libraries", "auto_explain"),
                     ("auto_explain.log_min_duration", "0"),
                     ("auto_explain.log_analyze", "on"),
                     ("auto_explain.log_timing", "off"),
                     ("auto_explain.log_nested_statements", "on"),
                     ("auto_explain.log_format", "json")):
            cur.execute(f"ALTER ROLE leadflow_app IN DATABASE {db} SET {k} = '{v}'")
    finally:
        con.close()


def plans_since(offset):
    """The JSON plans auto_explain logged after offset (bytes) of the cluster log."""
    with open(os.path.join(pg_cluster().dir, "server.log"), "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    out = []
    starts = [m.start() for m in LOG_START.finditer(text)] + [len(text)]
    for a, b in zip(starts, starts[1:]):
        entry = text[a:b]
        _, sep, rest = entry.partition("plan:\n")
        if not sep:
            continue
        try:
            out.append(json.loads(rest))
        except ValueError:
            continue
    return out


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def rows_read(node):
    """Rows a scan node read over all its loops, kept or thrown away."""
    loops = node.get("Actual Loops", 1) or 1
    return (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)) * loops


def walks(plans):
    """(node type, relation, rows read, query) of every scan that walks contacts
    or emails: a sequential scan, or any scan that reads WALK rows or more."""
    bad = []
    for p in plans:
        for n in nodes(p["Plan"]):
            rel = n.get("Relation Name")
            if rel not in WATCHED:
                continue
            if n["Node Type"] == "Seq Scan" or rows_read(n) >= WALK:
                bad.append((n["Node Type"], rel, rows_read(n), p.get("Query Text", "")[:300]))
    return bad


@pytest.fixture(scope="module")
def run(bin_path, tmp_path_factory, web_dir):
    cluster = pg_cluster()
    db = cluster.migrated_db(bin_path)
    explain_for_app(db[0])
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start(db=db, env={"LEADFLOW_SECRET_KEY": SECRET, "LEADFLOW_JOB_POLL_MS": "50"})
    try:
        t = tu.new_tenant(srv, session=False)
        seed(db[0], t.workspace_id)
        log = os.path.join(cluster.dir, "server.log")
        offset = os.path.getsize(log)
        yield srv, t, offset
    finally:
        failures = lx.stop_all()
        assert not failures, "\n".join(failures)


def drive_hot_paths(srv, t):
    """Runs every hot path once on the seeded workspace."""
    ws = t.workspace_id
    # Import: known senders (seeded, differently cased), new ones, and a reply.
    msgs = [mu.message(f"C{i}@Seed{i % 500}.example", "What is the price for 50 seats? "
                       "Can we meet on Tuesday?", name=f"Contact {i}") for i in (7, 4242, 19999)]
    msgs += [mu.message(f"new{i}@fresh.example", "Hello, a question about your product.",
                        name=f"New {i}") for i in range(3)]
    msgs.append(mu.message("c7@seed7.example", "Following up.", in_reply_to="s7@seed.example"))
    with tempfile.NamedTemporaryFile(suffix=".mbox", delete=False) as f:
        f.write(mu.mbox(*msgs))
    try:
        r = tu.cli(srv, "import", "--workspace", ws, f.name)
    finally:
        os.unlink(f.name)
    assert "imported 7" in r.stderr, r.stderr
    # Hot leads.
    leads, _ = mu.hot_leads(srv, t)
    assert leads, "the seeded workspace has hot leads"
    # A drip step (tag), run by the server's queue from a claimed job.
    creds = t.token_creds
    c = tu.ok(tu.api(srv, "POST", "/api/campaigns", creds, ws=ws, body={"name": "Plans"}), 201)
    tu.ok(tu.api(srv, "POST", f"/api/campaigns/{c['id']}/steps", creds, ws=ws,
                 body={"steps": [{"type": "tag", "config": {"add": ["planned"]}}]}))
    tu.ok(tu.api(srv, "POST", f"/api/campaigns/{c['id']}/activate", creds, ws=ws))
    (cid,), = tu.db_query(srv, "SELECT id FROM contacts WHERE email = 'c4242@seed242.example'")
    contact = tu.ok(tu.api(srv, "GET", f"/api/contacts/{cid}", creds, ws=ws))
    tu.ok(tu.api(srv, "POST", f"/api/campaigns/{c['id']}/enroll", creds, ws=ws,
                 body={"contactIds": [contact["id"]]}))
    deadline = time.monotonic() + 15
    while True:
        got = tu.ok(tu.api(srv, "GET", f"/api/contacts/{contact['id']}", creds, ws=ws))
        if "planned" in got["tags"]:
            break
        assert time.monotonic() < deadline, "the tag step did not run"
        time.sleep(0.05)
    # Tracking: a person opens a sent email.
    sent, now = tu.random_id(), tu.now_ms()
    tu.db_exec(srv, "INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key,"
                    " message_id, from_email, to_email, subject, body_text, status, created_at,"
                    " sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'Hi', 'Hi', 'sent', ?, ?)",
               (sent, ws, contact["id"], "k-" + sent, sent + "@lf.test", "team@example.test",
                contact["email"], now - 3600_000, now - 3600_000))
    r = srv.get(f"/t/o/{pixel_token(ws, sent, contact['id'])}.gif",
                headers={"User-Agent": BROWSER})
    assert r.status == 200
    rows = tu.db_query(srv, "SELECT COUNT(*) FROM email_events WHERE sent_email_id = ?", (sent,))
    assert rows[0][0] == 1


# What each hot path's statements contain: each must have been seen.
HOT = {
    "finding a contact by address": "email_norm = lower(",
    "storing an email": "INSERT INTO emails",
    "rescoring": "UPDATE contacts SET ai_score",
    "hot leads": "ai_score >=",
    "claiming jobs": "SKIP LOCKED",
    "a drip step": "campaign_enrollments",
    "tracking": "INSERT INTO email_events",
}


def test_hot_paths_never_walk_the_workspace(run):
    srv, t, offset = run
    drive_hot_paths(srv, t)
    time.sleep(0.5)  # the log is written by the server processes as they go
    plans = plans_since(offset)
    texts = [p.get("Query Text", "") for p in plans]
    missing = [k for k, frag in HOT.items() if not any(frag in q for q in texts)]
    assert not missing, f"no plan seen for {missing} among {len(plans)} plans"
    bad = walks(plans)
    assert not bad, "scans over the workspace:\n" + "\n".join(map(str, bad))


def test_the_check_sees_a_walk(run):
    """The same check flags the lookup as an expression of email (the form
    Row Level Security keeps off the index)."""
    srv, t, _ = run
    log = os.path.join(pg_cluster().dir, "server.log")
    offset = os.path.getsize(log)
    con = pg_cluster().connect(srv.pg_db, role="app")
    try:
        cur = con.cursor()
        cur.execute("SELECT set_config('leadflow.workspace_id', %s, true)", (t.workspace_id,))
        cur.execute("SELECT id FROM contacts WHERE workspace_id = %s AND lower(email) = lower(%s)",
                    (t.workspace_id, "C7@seed7.example"))
        assert len(cur.fetchall()) == 1
        con.rollback()
    finally:
        con.close()
    time.sleep(0.2)
    bad = walks(plans_since(offset))
    assert bad and bad[0][1] == "contacts", bad
