"""PostgreSQL only (LEADFLOW_TEST_PG=1): moving a database from SQLite to
PostgreSQL with `leadflow export | leadflow import-db`.

A SQLite server is filled through the API and the CLI (two organizations,
contacts, imported mail, a draft, a campaign with an enrollment, alert rules
and the alerts they raised, an API token, a browser session; a sent email, its
events and a connected mailbox written directly). Its stream is loaded into a
fresh database migrated by the owner, every row is compared with SQL, then a
server runs on it as the application role and the API must answer as the
SQLite server did: counts, hot leads, a contact's score and timeline, search
(the tsvector PostgreSQL computes), the same token and session. The way back
(PostgreSQL -> SQLite) must give the same rows again. Then the refusals: a
database that is not empty, a truncated stream, another schema version, a
line that is not JSON, a target not migrated, the application role; none may
leave a row behind.

The campaign and alert checks compare rows with SQL on both sides; their API
replies are compared only when the PostgreSQL backend serves those routes
(they answer 501 until its campaign and alert ops exist).
"""
import json
import os
import pty
import shutil
import sqlite3
import subprocess
import time

import pytest

import tenantutil as tu
from conftest import CLI_TIMEOUT, Server, clean_env, pg_cluster
from mailutil import hot_leads, imported, mbox, message
from tenantutil import api, ok

psycopg2 = pytest.importorskip("psycopg2")

SIG = "Morgan Lee\nChief Operating Officer\nBrightwater Logistics"
HOT_TEXTS = [
    ("Demo this week?", "Can we schedule a demo call this week? Our team is excited to see it."),
    ("Pricing", "What would the pricing be for 200 users on the annual plan? We love it."),
    ("Next steps", "Great session today, thank you! Could you send the contract terms?"),
    ("Meeting Thursday", "Happy to move forward. Can we meet on Thursday to finalize the quote?"),
    ("Pilot", "Thanks, this is excellent. We are very interested in a pilot."),
]
COMPLAINT = "This is broken again and nobody answers. I am very disappointed and angry."
DAY_MS = 86400 * 1000


# -- the SQLite server ----------------------------------------------------------


def start_sqlite_server(bin_path, workdir, web_dir):
    """`leadflow serve` on a SQLite file, although LEADFLOW_TEST_PG=1 makes the
    Launcher start PostgreSQL servers."""
    db_path = os.path.join(workdir, "leadflow.db")
    env = clean_env({"LEADFLOW_WEB_DIR": web_dir, "LEADFLOW_JOB_POLL_MS": "50"})
    proc = subprocess.Popen([bin_path, "serve", "--db", f"sqlite:{db_path}", "--listen",
                             "127.0.0.1:0"], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    srv = Server(proc, workdir, db_path, web_dir)
    rec = srv._wait_listening()
    srv.port = int(rec["port"])
    srv.base_url = f"http://127.0.0.1:{srv.port}"
    return srv


def sq_rows(db_path, sql, params=()):
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def sq_exec(db_path, sql, params=()):
    con = sqlite3.connect(db_path, timeout=10)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def wait_for(what, fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def call(srv, t, method, path, body=None, status=200, params=None):
    return ok(api(srv, method, path, t.token_creds, ws=t.workspace_id, body=body,
                  params=params), status)


def fill(src, workdir):
    """Everything a team would have after a while, through the API and the CLI."""
    t = tu.new_tenant(src, "owner@move.example")
    other = tu.new_tenant(src, "other@move.example")
    tu.add_member(src, other.user_id, t.org_id, "member")  # one user in two organizations
    # Alert rules before the mail, so the mail raises alerts.
    call(src, t, "POST", "/api/alerts/rules", {"name": "Hot", "trigger": "new_hot_lead"}, 201)
    call(src, t, "POST", "/api/alerts/rules", {"name": "Angry", "trigger": "complaint",
                                               "enabled": True}, 201)
    off = call(src, t, "POST", "/api/alerts/rules", {"name": "Off", "trigger": "reply"}, 201)
    call(src, t, "PATCH", f"/api/alerts/rules/{off['id']}", {"enabled": False})
    # Mail: a hot lead and an unhappy customer through `leadflow import`, more by upload.
    hot = "morgan.lee@brightwater-logistics.example"
    msgs = [message(hot, text, subject=subj, name="Morgan Lee", signature=SIG, days_ago=i * 0.7)
            for i, (subj, text) in enumerate(HOT_TEXTS)]
    msgs.append(message("casey@unhappy-customer.example", COMPLAINT, subject="Broken",
                        name="Casey Quinn", days_ago=1.5))
    path = os.path.join(workdir, "inbox.mbox")
    with open(path, "wb") as f:
        f.write(mbox(*msgs))
    tu.cli(src, "import", "--workspace", t.workspace_id, path)
    for who, data in ((t, message("pat@zuerich-gmbh.example", "Hallo, wir möchten ein Angebot, "
                                  "bitte.", subject="Angebot für Zürich", name="Pat Müller",
                                  days_ago=3)),
                      (other, message("sam@other-org.example", "Hi there, quick question "
                                      "about setup.", subject="Setup", days_ago=2))):
        assert imported(src, who, data)["imported"] == 1
    # Contacts by hand, one with tags, one deleted again (the counters go down).
    a = call(src, t, "POST", "/api/contacts", {"email": "ada@analytical.example",
                                               "name": "Ada Lovelace", "company": "Analytical "
                                               "Engines", "tags": ["vip", "math"]}, 201)
    gone = call(src, t, "POST", "/api/contacts", {"email": "gone@nowhere.example"}, 201)
    call(src, t, "DELETE", f"/api/contacts/{gone['id']}")
    tu.set_score(src, a["id"], 72)
    # A draft for the hot lead (the offline writer), and one rejected.
    lead = [c for c in tu.all_contacts(src, t) if c["email"] == hot][0]
    drafts = call(src, t, "POST", "/api/content/generate",
                  {"target": "contacts", "contactIds": [lead["id"], a["id"]]}, 201)["drafts"]
    call(src, t, "POST", f"/api/content/{drafts[1]['id']}/reject", {})
    # A campaign: tag, then a week's wait; the tag step runs, the wait is pending.
    camp = call(src, t, "POST", "/api/campaigns", {"name": "Nurture"}, 201)
    call(src, t, "POST", f"/api/campaigns/{camp['id']}/steps", {"steps": [
        {"type": "tag", "config": {"add": ["nurtured"]}},
        {"type": "wait", "config": {"duration_ms": 7 * DAY_MS}}]})
    call(src, t, "POST", f"/api/campaigns/{camp['id']}/activate")
    call(src, t, "POST", f"/api/campaigns/{camp['id']}/enroll", {"contactIds": [a["id"]]})
    wait_for("the tag step", lambda: sq_rows(
        src.db_path, "SELECT 1 FROM campaign_execution_logs WHERE status = 'success'"))
    # Rows the API cannot make here: a sent email with a human open and a bot
    # click (a flag column), a connected mailbox with sealed tokens (a BLOB).
    now = tu.now_ms()
    sent = tu.random_id()
    sq_exec(src.db_path, "INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key,"
            " message_id, from_email, to_email, subject, body_text, status, provider,"
            " created_at, sent_at) VALUES (?, ?, ?, 'move-1', '<m1@x>', 'us@x.example', ?,"
            " 'Our offer', 'Hello', 'sent', 'sendgrid', ?, ?)",
            (sent, t.workspace_id, lead["id"], hot, now - 5000, now - 5000))
    for kind, bot in (("open", 0), ("click", 1)):
        sq_exec(src.db_path, "INSERT INTO email_events (workspace_id, sent_email_id, contact_id,"
                " kind, url, user_agent, is_bot, bot_reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, 'UA', ?, ?, ?)",
                (t.workspace_id, sent, lead["id"], kind,
                 "https://x.example/" if kind == "click" else None, bot,
                 "scanner" if bot else None, now - 4000 + bot))
    sq_exec(src.db_path, "INSERT INTO email_integrations (id, workspace_id, user_id, provider,"
            " account_email, access_token_enc, refresh_token_enc, status, created_at,"
            " updated_at) VALUES (?, ?, ?, 'gmail', 'owner@move.example', ?, NULL, 'connected',"
            " ?, ?)", (tu.random_id(), t.workspace_id, t.user_id, bytes([0, 255, 16, 128, 7]),
                       now, now))
    # A system job (no workspace): only the queue's policy shows it on PostgreSQL.
    sq_exec(src.db_path, "INSERT INTO jobs (workspace_id, kind, payload, status, run_at,"
            " attempts, created_at, updated_at, finished_at) VALUES (NULL, 'system_move_test',"
            " '{\"note\": \"no workspace\"}', 'done', ?, 1, ?, ?, ?)", (now, now, now, now))
    # Wait until no job is due (the drafts, the campaign step ran): a still state.
    wait_for("an idle queue", lambda: not sq_rows(
        src.db_path, "SELECT 1 FROM jobs WHERE status IN ('queued', 'running')"
        " AND run_at <= ?", (tu.now_ms(),)))
    return t, other, lead, a, camp


def api_view(srv, t, lead, a, camp, with_campaigns):
    """What the API shows of the workspace, in a form to compare across servers."""
    v = {
        "stats": call(srv, t, "GET", "/api/dashboard/stats"),
        "contacts": sorted(tu.all_contacts(srv, t), key=lambda c: c["id"]),
        "hot": hot_leads(srv, t)[0],
        "warm": hot_leads(srv, t, minScore=60)[0],
        "lead": call(srv, t, "GET", f"/api/contacts/{lead['id']}"),
        "history": call(srv, t, "GET", f"/api/contacts/{lead['id']}/score-history"),
        "events": call(srv, t, "GET", f"/api/contacts/{lead['id']}/events"),
        "emails": call(srv, t, "GET", "/api/emails", params={"contactId": lead["id"]}),
        # Drafts made by one request share created_at: SQLite breaks the tie by
        # insertion order (rowid), PostgreSQL by id. Compared as a set.
        "drafts": sorted(call(srv, t, "GET", "/api/content"), key=lambda d: d["id"]),
        "tokens": call(srv, t, "GET", "/api/tokens"),
        "search": call(srv, t, "GET", "/api/contacts", params={"q": "analytical eng"}),
        "search_folded": call(srv, t, "GET", "/api/contacts", params={"q": "muller"}),
    }
    if with_campaigns:
        v["campaign"] = call(srv, t, "GET", f"/api/campaigns/{camp['id']}")
        v["enrollments"] = call(srv, t, "GET", f"/api/campaigns/{camp['id']}/enrollments")
        v["rules"] = call(srv, t, "GET", "/api/alerts/rules")
        v["alerts"] = call(srv, t, "GET", "/api/alerts")
    return json.loads(json.dumps(v))


# -- rows on both sides ---------------------------------------------------------


def pg_tables(con):
    cur = con.cursor()
    cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                " AND c.relname <> 'schema_migrations' ORDER BY 1")
    return [r[0] for r in cur.fetchall()]


def pg_cols(con, table):
    cur = con.cursor()
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (table,))
    return [r[0] for r in cur.fetchall()]


def norm(v):
    """One value in a form both databases give alike."""
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, bool):
        return int(v)
    return v


def table_rows_sqlite(db_path, table, cols, json_cols):
    out = []
    for row in sq_rows(db_path, f"SELECT {', '.join(cols)} FROM {table}"):
        vals = []
        for c, v in zip(cols, row):
            vals.append(json.loads(v) if c in json_cols and v is not None else norm(v))
        out.append(vals)
    return sorted(out, key=repr)


def table_rows_pg(con, table, cols):
    cur = con.cursor()
    cur.execute(f"SELECT {', '.join(cols)} FROM {table}")
    return sorted(([norm(v) for v in r] for r in cur.fetchall()), key=repr)


def json_columns(con, table):
    cur = con.cursor()
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND atttypid = 'jsonb'::regtype", (table,))
    return {r[0] for r in cur.fetchall()}


def assert_same_rows(db_path, pg_db):
    """Every table of the PostgreSQL database holds the rows of the SQLite file."""
    con = pg_cluster().connect(pg_db)
    try:
        tables = pg_tables(con)
        assert len(tables) >= 28, tables
        counted = {}
        for table in tables:
            cols = pg_cols(con, table)
            got = table_rows_pg(con, table, cols)
            want = table_rows_sqlite(db_path, table, cols, json_columns(con, table))
            assert got == want, f"table {table} differs"
            counted[table] = len(got)
        return counted
    finally:
        con.close()


def pg_count(pg_db, table):
    con = pg_cluster().connect(pg_db)
    try:
        cur = con.cursor()
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]
    finally:
        con.close()


# -- commands -------------------------------------------------------------------


def run(bin_path, *args, stdin=None, cwd=None):
    return subprocess.run([bin_path, *args], cwd=cwd, env=clean_env(), input=stdin,
                          capture_output=True, timeout=CLI_TIMEOUT * 4)


def export_to(bin_path, db_url, path):
    r = run(bin_path, "export", "--db", db_url, "-o", path)
    assert r.returncode == 0, r.stderr.decode()
    return r


def import_db(bin_path, db_url, path=None, stdin=None):
    args = ["import-db", "--db", db_url] + ([path] if path else [])
    return run(bin_path, *args, stdin=stdin)


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


# -- the move -------------------------------------------------------------------


@pytest.fixture(scope="module")
def moved(bin_path, tmp_path_factory, web_dir):
    """The filled SQLite server (stopped), its stream, and the PostgreSQL database
    it was loaded into (not yet served)."""
    wd = str(tmp_path_factory.mktemp("sqlite-source"))
    src = start_sqlite_server(bin_path, wd, web_dir)
    try:
        t, other, lead, a, camp = fill(src, wd)
        before = api_view(src, t, lead, a, camp, with_campaigns=True)
        other_before = tu.snapshot(src, other)
        me_before = ok(api(src, "GET", "/api/auth/me", t.session))
    finally:
        assert src.stop() == 0, src.stderr_text
    stream = os.path.join(wd, "stream.jsonl")
    r = export_to(bin_path, f"sqlite:{src.db_path}", stream)
    assert os.stat(stream).st_mode & 0o777 == 0o600
    assert b"export: emails" in r.stderr and b"exported" in r.stderr
    cluster = pg_cluster()
    name, app_url = cluster.migrated_db(bin_path)
    # The documented pipe: export | import-db, as the owner.
    exp = subprocess.Popen([bin_path, "export", "--db", f"sqlite:{src.db_path}"],
                           env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    imp = subprocess.run([bin_path, "import-db", "--db", cluster.url("owner", name)],
                         env=clean_env(), stdin=exp.stdout, capture_output=True, text=True,
                         timeout=CLI_TIMEOUT * 4)
    exp.stdout.close()
    assert exp.wait(CLI_TIMEOUT) == 0
    assert imp.returncode == 0, imp.stderr
    return {"src": src, "wd": wd, "stream": stream, "pg": name, "app_url": app_url,
            "t": t, "other": other, "lead": lead, "a": a, "camp": camp, "before": before,
            "other_before": other_before, "me_before": me_before, "summary": imp.stdout}


def test_every_row_arrives(moved):
    counted = assert_same_rows(moved["src"].db_path, moved["pg"])
    for table in ("organizations", "workspaces", "user_profiles", "user_organizations",
                  "sessions", "login_links", "api_tokens", "contacts", "emails", "jobs",
                  "score_history", "email_integrations", "workspace_counts",
                  "workspace_email_days", "sent_emails", "email_events", "generated_content",
                  "drip_campaigns", "campaign_steps", "campaign_enrollments",
                  "campaign_execution_logs", "alert_rules", "alert_rule_versions", "alerts",
                  "alert_windows", "alert_deliveries"):
        assert counted[table] > 0, f"the test left {table} empty: it proves nothing there"
    # The summary names the rows per table.
    lines = moved["summary"].splitlines()
    assert lines[0].startswith("imported ") and "postgres" in lines[0]
    per_table = dict(line.split() for line in lines[1:])
    assert int(per_table["emails"]) == counted["emails"]
    assert int(per_table["contacts"]) == counted["contacts"]


def test_the_database_is_as_migrate_left_it(moved):
    con = pg_cluster().connect(moved["pg"])
    try:
        cur = con.cursor()
        # FORCE is back on every workspace table, every trigger enabled.
        cur.execute("SELECT relname FROM pg_class WHERE relrowsecurity"
                    " AND NOT relforcerowsecurity")
        assert cur.fetchall() == []
        cur.execute("SELECT count(*) FROM pg_class WHERE relforcerowsecurity")
        assert cur.fetchone()[0] >= 21
        cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'")
        assert cur.fetchall() == []
        # The identity sequences continue after the loaded ids.
        for table in ("jobs", "score_history", "email_events", "campaign_execution_logs",
                      "alert_deliveries"):
            cur.execute(f"SELECT max(id), (SELECT last_value FROM"
                        f" pg_sequences WHERE sequencename = '{table}_id_seq') FROM {table}")
            top, last = cur.fetchone()
            assert top is not None and last == top, (table, top, last)
        # The search vector was computed from the loaded rows.
        cur.execute("SELECT count(*) FROM contacts WHERE search IS NULL OR search = ''::tsvector")
        assert cur.fetchone()[0] == 0
        # The counters match the rows (recounted, not doubled by the triggers).
        cur.execute("SELECT w.contacts, (SELECT count(*) FROM contacts c"
                    " WHERE c.workspace_id = w.workspace_id), w.emails, (SELECT count(*)"
                    " FROM emails m WHERE m.workspace_id = w.workspace_id) FROM workspace_counts w")
        for contacts, real_contacts, emails, real_emails in cur.fetchall():
            assert (contacts, emails) == (real_contacts, real_emails)
        cur.execute("SELECT encode(access_token_enc, 'hex') FROM email_integrations")
        assert cur.fetchall() == [("00ff108007",)]
        cur.execute("SELECT payload FROM jobs WHERE workspace_id IS NULL")
        assert cur.fetchall() == [({"note": "no workspace"},)]
        cur.execute("SELECT kind, is_bot FROM email_events ORDER BY id")
        assert cur.fetchall() == [("open", False), ("click", True)]
    finally:
        con.close()


@pytest.fixture(scope="module")
def pg_server(moved, bin_path, tmp_path_factory, web_dir):
    """A server on the imported database as the application role, with the
    SQLite server's secret key (leadflow.key) in its directory."""
    from conftest import Launcher
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    wd = lx.workdir("pg-target")
    shutil.copy(os.path.join(moved["wd"], "leadflow.key"), os.path.join(wd, "leadflow.key"))
    srv = lx.start(db=(moved["pg"], moved["app_url"]), workdir=wd,
                   env={"LEADFLOW_JOB_POLL_MS": "50"})
    yield srv
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


def served(srv, path, t):
    """Whether the PostgreSQL backend serves a route yet (501 until its ops exist)."""
    return api(srv, "GET", path, t.token_creds, ws=t.workspace_id).status != 501


def test_the_api_shows_the_same_data(moved, pg_server):
    t, before = moved["t"], moved["before"]
    with_campaigns = served(pg_server, "/api/campaigns", t) and served(
        pg_server, "/api/alerts/rules", t)
    after = api_view(pg_server, t, moved["lead"], moved["a"], moved["camp"], with_campaigns)
    if not with_campaigns:
        before = {k: v for k, v in before.items() if k in after}
    assert after.keys() == before.keys()
    for key in after:
        assert after[key] == before[key], (f"{key} differs after the move:\n{before[key]}\n"
                                           f"{after[key]}")
    # What the checks stand on: data there to compare.
    assert before["stats"]["contacts"]["hot"] >= 1
    assert len(before["hot"]) >= 1 and before["history"] and before["events"]
    assert [c["email"] for c in before["search"]] == ["ada@analytical.example"]
    assert [c["email"] for c in before["search_folded"]] == ["pat@zuerich-gmbh.example"]
    assert tu.snapshot(pg_server, moved["other"]) == moved["other_before"]


def test_the_token_and_the_session_still_work(moved, pg_server):
    t = moved["t"]
    me = ok(api(pg_server, "GET", "/api/auth/me", t.session))
    assert me == moved["me_before"]
    # A write with the session's CSRF token, then with the API token.
    r = api(pg_server, "PATCH", f"/api/contacts/{moved['a']['id']}", t.session,
            ws=t.workspace_id, body={"jobTitle": "Countess"})
    assert ok(r)["jobTitle"] == "Countess"
    c = call(pg_server, t, "GET", "/api/contacts", params={"q": "countess"})
    assert [x["id"] for x in c] == [moved["a"]["id"]]


def test_new_rows_get_new_ids_and_counters_move_on(moved, pg_server):
    """Identity sequences and triggers work again: new mail is stored, scored
    and counted on top of the loaded rows."""
    t = moved["t"]
    stats = call(pg_server, t, "GET", "/api/dashboard/stats")
    hist_before = pg_count(moved["pg"], "score_history")
    data = mbox(*[message("newcomer@fresh.example", text, subject=subj, name="New Comer",
                          signature=SIG, days_ago=i * 0.3)
                  for i, (subj, text) in enumerate(HOT_TEXTS)])
    res = imported(pg_server, t, data, content_type="application/mbox")
    assert res["imported"] == len(HOT_TEXTS)
    after = call(pg_server, t, "GET", "/api/dashboard/stats")
    assert after["emails"]["total"] == stats["emails"]["total"] + len(HOT_TEXTS)
    assert after["contacts"]["total"] == stats["contacts"]["total"] + 1
    assert pg_count(moved["pg"], "score_history") > hist_before


def test_the_way_back_to_sqlite_gives_the_same_rows(moved, bin_path, tmp_path_factory):
    """PostgreSQL -> SQLite: export as the application role, import into a new file."""
    wd = str(tmp_path_factory.mktemp("way-back"))
    cluster = pg_cluster()
    name, app_url = cluster.migrated_db(bin_path)
    r = import_db(bin_path, cluster.url("owner", name), moved["stream"])
    assert r.returncode == 0, r.stderr.decode()
    stream = os.path.join(wd, "from-pg.jsonl")
    export_to(bin_path, app_url, stream)
    back = os.path.join(wd, "back.db")
    r = run(bin_path, "migrate", "--db", f"sqlite:{back}")
    assert r.returncode == 0, r.stderr.decode()
    r = import_db(bin_path, f"sqlite:{back}", stream)
    assert r.returncode == 0, r.stderr.decode()
    assert b"into the sqlite database" in r.stdout
    # Row for row what the PostgreSQL database holds (and so the first SQLite file).
    assert_same_rows(back, name)
    # The FTS5 index was built by SQLite's triggers.
    found = sq_rows(back, "SELECT email FROM contacts WHERE rowid IN"
                          " (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH 'analytical')")
    assert found == [("ada@analytical.example",)]


# -- refusals -------------------------------------------------------------------


def fresh_target(bin_path):
    cluster = pg_cluster()
    name, _ = cluster.migrated_db(bin_path)
    return name, cluster.url("owner", name)


def assert_nothing_written(name):
    for table in ("organizations", "user_profiles", "contacts", "emails", "workspace_counts"):
        assert pg_count(name, table) == 0, f"{table} has rows after a refused import"


def test_a_database_that_is_not_empty_is_refused(moved, bin_path):
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, moved["stream"])
    assert r.returncode == 0, r.stderr.decode()
    emails = pg_count(name, "emails")
    r = import_db(bin_path, url, moved["stream"])
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "not empty" in err and "organizations" in err and "nothing was imported" in err
    assert err.count("\n") == 1
    assert pg_count(name, "emails") == emails


@pytest.mark.parametrize("cut", ["trailer", "rows", "mid-line"])
def test_a_truncated_stream_writes_nothing(moved, bin_path, tmp_path, cut):
    lines = read_lines(moved["stream"])
    assert lines[-1] == b"" and b'"end":true' in lines[-2]
    if cut == "trailer":
        kept = lines[:-2] + [b""]
    elif cut == "rows":
        kept = lines[:len(lines) // 2] + [b""]
    else:
        kept = lines[:len(lines) // 2] + [lines[len(lines) // 2][:40]]
    path = str(tmp_path / "cut.jsonl")
    write_lines(path, kept)
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "truncated" in err and "nothing was imported" in err, err
    assert_nothing_written(name)


def test_a_trailer_whose_counts_differ_is_refused(moved, bin_path, tmp_path):
    lines = read_lines(moved["stream"])
    # The last row left out, the trailer kept: the counts no longer match.
    del lines[-3]
    path = str(tmp_path / "short.jsonl")
    write_lines(path, lines)
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1
    assert "trailer counts" in r.stderr.decode()
    assert_nothing_written(name)


def test_another_schema_version_is_refused(moved, bin_path, tmp_path):
    lines = read_lines(moved["stream"])
    head = json.loads(lines[0])
    head["schema_version"] = head["schema_version"] - 2
    lines[0] = json.dumps(head).encode()
    path = str(tmp_path / "old.jsonl")
    write_lines(path, lines)
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"schema version {head['schema_version']}" in err
    assert "leadflow migrate" in err and "source" in err and "export again" in err
    assert_nothing_written(name)


def test_a_garbage_line_is_refused_with_its_number(moved, bin_path, tmp_path):
    lines = read_lines(moved["stream"])
    lines.insert(6, b"this is not { json")
    path = str(tmp_path / "garbage.jsonl")
    write_lines(path, lines)
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "line 7 is not JSON" in err and "nothing was imported" in err, err
    assert_nothing_written(name)
    # A line of JSON that is neither a row nor the trailer.
    lines[6] = b'{"tabel": "contacts"}'
    write_lines(path, lines)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1 and "line 7 is neither a row nor the trailer" in r.stderr.decode()
    # A row of a table the schema does not have.
    lines[6] = b'{"table": "secrets", "row": {"id": 1}}'
    write_lines(path, lines)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1 and "unknown table secrets" in r.stderr.decode()
    assert_nothing_written(name)


def test_a_stream_that_is_no_export_is_refused(bin_path, tmp_path):
    path = str(tmp_path / "other.jsonl")
    with open(path, "w") as f:
        f.write('{"hello": "world"}\n')
    name, url = fresh_target(bin_path)
    r = import_db(bin_path, url, path)
    assert r.returncode == 1
    assert "not the header of a leadflow export stream" in r.stderr.decode()


def test_a_target_not_migrated_and_the_app_role_are_refused(moved, bin_path):
    cluster = pg_cluster()
    bare = cluster.create_db()
    r = import_db(bin_path, cluster.url("owner", bare), moved["stream"])
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "schema version 0" in err and "leadflow migrate" in err, err
    name, app_url = cluster.migrated_db(bin_path)
    r = import_db(bin_path, app_url, moved["stream"])
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "owns the tables" in err and "leadflow migrate" in err, err
    assert_nothing_written(name)


def test_export_never_writes_to_a_terminal(moved, bin_path):
    master, slave = pty.openpty()
    try:
        r = subprocess.run([bin_path, "export", "--db", f"sqlite:{moved['src'].db_path}"],
                           env=clean_env(), stdout=slave, stderr=subprocess.PIPE,
                           timeout=CLI_TIMEOUT)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 2
    assert b"-o FILE" in r.stderr


def test_help_and_usage_errors(bin_path):
    for cmd in ("export", "import-db"):
        r = run(bin_path, cmd, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: leadflow {cmd}".encode())
        r = run(bin_path, cmd, "--bogus")
        assert r.returncode == 2 and b"unknown option" in r.stderr
    r = run(bin_path, "import-db", "a.jsonl", "b.jsonl")
    assert r.returncode == 2 and b"unexpected argument" in r.stderr
    r = run(bin_path, "export", "stray")
    assert r.returncode == 2
    r = run(bin_path, "--help")
    assert b"export" in r.stdout and b"import-db" in r.stdout
