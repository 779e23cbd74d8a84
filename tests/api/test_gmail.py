"""Connecting a Gmail mailbox to a workspace and syncing it.

Each test gets a fake OpenID provider (tests/fakes/oidc_provider.py, which
also grants offline access and refreshes tokens), a fake Gmail API
(tests/fakes/gmail_api.py) that accepts only the provider's live access
tokens, and its own leadflow server with LEADFLOW_GMAIL_API_URL pointing at
the fake. Every hop of the OAuth dance is a separate request, so each can be
looked at; the database is read directly (conftest.db_connect: sqlite3, or
psycopg2 on PostgreSQL).
"""
import glob
import os
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from authutil import (
    CLIENT_ID, CLIENT_SECRET, STATE_COOKIE, AuthEnv, FakeOIDCProvider, cleared_cookie, free_port,
    login_error, state_cookie,
)
from fakes.gmail_api import READONLY_SCOPE, FakeGmail
from test_ws import WS

CALLBACK = "/api/integrations/gmail/callback"
GMAIL_STATE_COOKIE = "lf_gmail_state"
CUSTOMERS = [
    ("Grace Hopper <grace@customer.example>", "Pricing for 50 seats",
     "Hi Ada, what would 50 seats cost per year? Could we meet next week?\n"),
    ("Alan Turing <alan@bletchley.example>", "Question about the API",
     "Does the API support webhooks?\n"),
    ("Katherine Johnson <kj@nasa.example>", "Follow up",
     "Following up on our call last Tuesday.\n"),
    ("Linus Torvalds <linus@kernel.example>", "Complaint",
     "The export is broken and this is frustrating.\n"),
    ("Barbara Liskov <barbara@mit.example>", "Feature request",
     "It would be great to have a Slack integration.\n"),
    ("Edsger Dijkstra <ewd@utexas.example>", "Meeting",
     "Can we schedule a meeting on Thursday?\n"),
]


class GmailEnv(AuthEnv):
    """AuthEnv plus the fake Gmail, and shortcuts for the mailbox routes."""

    def __init__(self, srv, fake, public_url, gmail):
        super().__init__(srv, fake, public_url)
        self.gmail = gmail

    def workspace(self, browser):
        return browser.refresh_csrf()["workspaces"][0]["id"]

    def start_connect(self, browser, ws):
        """GET .../authorize; returns the provider URL it redirects to."""
        r = browser.get(f"/api/integrations/gmail/authorize?workspaceId={ws}")
        assert r.status == 302, r
        browser.cookies[GMAIL_STATE_COOKIE] = state_cookie(r, GMAIL_STATE_COOKIE,
                                                           "/api/integrations/gmail")
        return r.header("Location")

    def connect(self, browser, ws):
        """The whole connect dance; returns the integration as listed."""
        cb = self.authorize(self.start_connect(browser, ws))
        r = browser.get(path_of(cb))
        assert r.status == 302, r
        assert r.header("Location") == "/dashboard/overview?gmail=connected", \
            r.header("Location")
        rows = self.integrations(browser, ws)
        assert len(rows) == 1, rows
        return rows[0]

    def integrations(self, browser, ws):
        r = browser.get(f"/api/integrations?workspaceId={ws}")
        assert r.status == 200, r
        return r.json["data"]

    def start_sync(self, browser, ws, **body):
        """POST .../sync: 202 with one job per mailbox; returns the jobs."""
        r = browser.post("/api/integrations/gmail/sync", json_body=dict(body, workspaceId=ws))
        assert r.status == 202, r
        jobs = r.json["data"]["jobs"]
        assert jobs and all(j["kind"] == "gmail_sync" for j in jobs), jobs
        assert r.header("Location") == f"/api/jobs/{jobs[0]['id']}"
        return jobs

    def job(self, browser, ws, job_id):
        r = browser.get(f"/api/jobs/{job_id}?workspaceId={ws}")
        assert r.status == 200, r
        return r.json["data"]

    def wait_job(self, browser, ws, job_id, timeout=60.0):
        """Polls GET /api/jobs/{id} until the job is done or dead; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(browser, ws, job_id)
            if job["status"] in ("done", "dead"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}: {job}"
            time.sleep(0.05)

    def sync_jobs(self, browser, ws, **body):
        """Queues the sync and waits for every job to end; returns the ended jobs."""
        return [self.wait_job(browser, ws, j["id"]) for j in self.start_sync(browser, ws, **body)]

    def sync(self, browser, ws, status=200, **body):
        """A sync that must end done (its totals, as the old synchronous reply
        had them, from the jobs' progress), or an error status the request
        itself answers."""
        if status != 200:
            r = browser.post("/api/integrations/gmail/sync",
                             json_body=dict(body, workspaceId=ws))
            assert r.status == status, r
            return r.json["error"]
        jobs = self.sync_jobs(browser, ws, **body)
        for j in jobs:
            assert j["status"] == "done" and j["lastError"] is None, j
        ps = [j["progress"] for j in jobs]
        return {"imported": sum(p["imported"] for p in ps),
                "duplicates": sum(p["duplicates"] for p in ps),
                "rejected": sum(p["rejected"] for p in ps),
                "historyId": ps[-1]["historyId"],
                "integrations": [dict(p, id=p["integrationId"]) for p in ps],
                "jobs": jobs}

    def emails(self, ws):
        return self.scalar("SELECT COUNT(*) FROM emails WHERE workspace_id = ?", ws)

    def row(self, ws):
        """The workspace's email_integrations row as a dict (None when it has none)."""
        c = self.db()
        try:
            cur = c.execute("SELECT * FROM email_integrations WHERE workspace_id = ?", (ws,))
            r = cur.fetchone()
            return None if r is None else dict(zip([d[0] for d in cur.description], r))
        finally:
            c.close()

    def stored_bytes(self):
        """Everything the database keeps on disk: the SQLite file and its WAL; on
        PostgreSQL, after a checkpoint has written every change out, the files of
        the server's database and the cluster's WAL."""
        if self.srv.pg_db is None:
            paths = [self.db_path + suffix for suffix in ("", "-wal")]
        else:
            from conftest import pg_cluster
            con = pg_cluster().connect(self.srv.pg_db)
            try:
                con.autocommit = True
                cur = con.cursor()
                cur.execute("CHECKPOINT")
                cur.execute("SELECT current_setting('data_directory'), oid FROM pg_database"
                            " WHERE datname = current_database()")
                data_dir, oid = cur.fetchone()
            finally:
                con.close()
            paths = sorted(glob.glob(os.path.join(data_dir, "base", str(oid), "*")) +
                           glob.glob(os.path.join(data_dir, "pg_wal", "*")))
            assert paths, f"no database files under {data_dir}"
        raw = b""
        for path in paths:
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    raw += f.read()
        return raw


def list_calls(gmail):
    """The messages.list requests the fake Gmail got."""
    return [r for r in gmail.recorded("messages") if r[1].endswith("/messages")]


def path_of(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def start_env(launcher, idp, gmail):
    last = None
    for _ in range(3):
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        idp.redirect_uris = [public + "/auth/callback", public + CALLBACK]
        env = {"LEADFLOW_PUBLIC_URL": public, "LEADFLOW_OIDC_ISSUER": idp.issuer,
               "LEADFLOW_OIDC_CLIENT_ID": CLIENT_ID, "LEADFLOW_OIDC_CLIENT_SECRET": CLIENT_SECRET,
               "LEADFLOW_GMAIL_API_URL": gmail.url}
        try:
            srv = launcher.start(env=env, args=["--listen", f"127.0.0.1:{port}"], listen=False)
        except pytest.fail.Exception as exc:  # the port was taken in between
            last = exc
            continue
        return GmailEnv(srv, idp, public, gmail)
    raise last


@pytest.fixture
def genv(launcher):
    idp = FakeOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    gmail = FakeGmail(idp.user["email"], idp.access_token_info).start()
    for sender, subject, body in CUSTOMERS:
        gmail.add_message(sender=sender, subject=subject, body=body)
    gmail.add_message(sender=f"Ada <{idp.user['email']}>", subject="Draft reply",
                      body="not sent yet\n", labels=("DRAFT",), to="grace@customer.example")
    try:
        yield start_env(launcher, idp, gmail)
    finally:
        gmail.stop()
        idp.stop()


@pytest.fixture
def ada(genv):
    """Ada signed in, with her workspace id."""
    b = genv.sign_in()
    b.ws = genv.workspace(b)
    return b


def second_user(genv, email="bob@other.example", name="Bob Other"):
    """Another person, signed in through the provider (own organization)."""
    keep = dict(genv.fake.user)
    b = genv.sign_in(user={"sub": "sub-" + email, "email": email, "name": name,
                           "email_verified": True})
    genv.fake.user = keep
    b.ws = genv.workspace(b)
    return b


# -- connecting ---------------------------------------------------------------------


def test_authorize_redirects_with_gmail_scope_offline_access_and_pkce(genv, ada):
    loc = genv.start_connect(ada, ada.ws)
    parts = urlsplit(loc)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == genv.fake.authorization_endpoint
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(q["scope"].split(" ")) == {"openid", "email", READONLY_SCOPE}
    assert q["access_type"] == "offline"
    assert q["prompt"] == "consent"
    assert q["include_granted_scopes"] == "true"
    assert q["response_type"] == "code"
    assert q["client_id"] == CLIENT_ID
    assert q["redirect_uri"] == genv.public_url + CALLBACK
    assert q["code_challenge_method"] == "S256" and 43 <= len(q["code_challenge"]) <= 128
    assert len(q["state"]) >= 32
    state_row = genv.scalar("SELECT purpose || ' ' || workspace_id || ' ' || user_id"
                            " FROM oauth_states WHERE purpose = 'gmail'")
    me = ada.me().json["data"]
    assert state_row == f"gmail {ada.ws} {me['user']['id']}"


def test_authorize_answers_json_for_scripts(genv, ada):
    r = ada.get(f"/api/integrations/gmail/authorize?workspaceId={ada.ws}",
                headers={"Accept": "application/json"})
    assert r.status == 200, r
    url = r.json["data"]["url"]
    assert url.startswith(genv.fake.authorization_endpoint + "?")
    assert "access_type=offline" in url


def test_connect_stores_the_mailbox_with_sealed_tokens(genv, ada):
    row = genv.connect(ada, ada.ws)
    assert row["provider"] == "gmail"
    assert row["accountEmail"] == genv.gmail.email
    assert row["status"] == "connected"
    assert row["lastSyncAt"] is None and row["lastError"] is None
    assert not {"accessToken", "refreshToken", "access_token_enc"} & set(row)
    # The code exchange asked for offline access and sent the PKCE verifier.
    tok = [r for r in genv.fake.recorded("/token") if r.f("grant_type") == "authorization_code"]
    assert tok and tok[-1].f("redirect_uri") == genv.public_url + CALLBACK
    assert tok[-1].f("code_verifier")
    # Neither token is in the database's files in clear (WAL and main file).
    secrets_issued = list(genv.fake.access_tokens) + list(genv.fake.refresh_tokens)
    assert len(genv.fake.refresh_tokens) == 1
    raw = genv.stored_bytes()
    assert genv.gmail.email.encode() in raw, "the scan must see what the row holds"
    for t in secrets_issued:
        assert t.encode() not in raw, "a token is stored in clear"
    db = genv.row(ada.ws)
    assert db["access_token_enc"] and db["refresh_token_enc"]
    for t in secrets_issued:
        assert t.encode() not in bytes(db["access_token_enc"])
        assert t.encode() not in bytes(db["refresh_token_enc"])
    assert db["token_expires_at"] > 0


def test_callback_with_provider_error_goes_back_with_the_reason(genv, ada):
    genv.fake.authorize_error = "access_denied"
    cb = genv.authorize(genv.start_connect(ada, ada.ws))
    r = ada.get(path_of(cb))
    assert r.status == 302
    loc = urlsplit(r.header("Location"))
    assert loc.path == "/dashboard/overview" and not loc.netloc
    assert "access_denied" in parse_qs(loc.query)["error"][0]
    assert genv.integrations(ada, ada.ws) == []


def test_callback_with_another_users_state_is_refused(genv, ada):
    cb = genv.authorize(genv.start_connect(ada, ada.ws))
    bob = second_user(genv)
    # Bob's browser never started it: refused before the state is looked at.
    r = bob.get(path_of(cb))
    assert "not started in this browser" in parse_qs(urlsplit(r.header("Location")).query)["error"][0]
    # Even with Ada's state cookie, the stored owner check refuses him.
    bob.cookies[GMAIL_STATE_COOKIE] = ada.cookies[GMAIL_STATE_COOKIE]
    r = bob.get(path_of(cb))
    assert r.status == 302
    loc = urlsplit(r.header("Location"))
    assert loc.path == "/dashboard/overview"
    assert "not started by you" in parse_qs(loc.query)["error"][0]
    assert genv.scalar("SELECT COUNT(*) FROM email_integrations") == 0
    # The state is spent: Ada cannot use it afterwards either.
    r = ada.get(path_of(cb))
    assert "unknown, used or expired" in parse_qs(urlsplit(r.header("Location")).query)["error"][0]
    assert genv.scalar("SELECT COUNT(*) FROM email_integrations") == 0


def test_callback_needs_the_browsers_state_cookie(genv, ada):
    cb = genv.authorize(genv.start_connect(ada, ada.ws))
    cookie = ada.cookies.pop(GMAIL_STATE_COOKIE)
    r = ada.get(path_of(cb))  # Ada's session, but not the browser that started it
    assert "not started in this browser" in parse_qs(urlsplit(r.header("Location")).query)["error"][0]
    assert not cleared_cookie(r, GMAIL_STATE_COOKIE)
    assert genv.scalar("SELECT COUNT(*) FROM email_integrations") == 0
    # Refused before the lookup, so the state is not spent: the right browser connects.
    ada.cookies[GMAIL_STATE_COOKIE] = "x" + cookie[1:]
    r = ada.get(path_of(cb))
    assert "not started in this browser" in parse_qs(urlsplit(r.header("Location")).query)["error"][0]
    ada.cookies[GMAIL_STATE_COOKIE] = cookie
    r = ada.get(path_of(cb))
    assert r.header("Location") == "/dashboard/overview?gmail=connected", r.header("Location")
    assert cleared_cookie(r, GMAIL_STATE_COOKIE)


def test_callback_with_a_sign_in_state_is_refused(genv, ada):
    _, cb = genv.login_to_callback()  # a sign-in attempt: code and state for /auth/callback
    q = urlsplit(cb).query
    ada.cookies[GMAIL_STATE_COOKIE] = parse_qs(q)["state"][0]  # bound, even
    r = ada.get(CALLBACK + "?" + q)
    assert r.status == 302
    assert "not started by you" in parse_qs(urlsplit(r.header("Location")).query)["error"][0]
    assert genv.scalar("SELECT COUNT(*) FROM email_integrations") == 0


def test_a_gmail_state_cannot_sign_anyone_in(genv, ada):
    cb = genv.authorize(genv.start_connect(ada, ada.ws))
    r = genv.srv.request("GET", "/auth/callback?" + urlsplit(cb).query)
    login_error(r)
    assert not r.header_all("Set-Cookie")
    # Bound to the browser, too: the purpose check still refuses it.
    state = parse_qs(urlsplit(cb).query)["state"][0]
    r = genv.callback("/auth/callback?" + urlsplit(cb).query, state_cookie=state)
    login_error(r)
    assert [c for c in r.header_all("Set-Cookie") if c.startswith("lf_session=")] == []


def test_callback_without_sign_in_is_401(genv, ada):
    cb = genv.authorize(genv.start_connect(ada, ada.ws))
    r = genv.srv.request("GET", path_of(cb))
    assert r.status == 401 and r.json["error"]["code"] == "UNAUTHORIZED"


# -- syncing ------------------------------------------------------------------------


def test_first_sync_imports_then_second_imports_nothing(genv, ada):
    genv.connect(ada, ada.ws)
    first = genv.sync(ada, ada.ws)
    assert first["imported"] == len(CUSTOMERS), first
    assert first["rejected"] == 0
    assert first["historyId"] == str(genv.gmail.history_id)
    assert first["integrations"][0]["fullSync"] is True
    assert genv.emails(ada.ws) == len(CUSTOMERS)
    assert genv.scalar("SELECT COUNT(*) FROM emails WHERE subject = 'Draft reply'") == 0
    row = genv.integrations(ada, ada.ws)[0]
    assert row["lastSyncAt"] and row["status"] == "connected" and row["lastError"] is None
    assert genv.row(ada.ws)["history_id"] == str(genv.gmail.history_id)

    lists = len(list_calls(genv.gmail))
    second = genv.sync(ada, ada.ws)
    assert (second["imported"], second["duplicates"], second["rejected"]) == (0, 0, 0), second
    assert second["integrations"][0]["fullSync"] is False
    assert genv.gmail.recorded("history"), "the second sync must use the history"
    assert len(list_calls(genv.gmail)) == lists, "the second sync must not list the mailbox"
    assert genv.emails(ada.ws) == len(CUSTOMERS)


def test_incremental_sync_imports_only_new_messages(genv, ada):
    genv.connect(ada, ada.ws)
    genv.sync(ada, ada.ws)
    genv.gmail.page_size = 1  # the history arrives one record per page
    new = [genv.gmail.add_message(sender="New Lead <new1@prospect.example>",
                                  subject="Interested", body="Tell me more about pricing.\n"),
           genv.gmail.add_message(sender="Other Lead <new2@prospect.example>",
                                  subject="Demo?", body="Could we book a demo?\n")]
    genv.gmail.add_message(sender="Spammer <spam@spam.example>", subject="WIN",
                           body="You won\n", labels=("SPAM",))
    before = len(genv.gmail.recorded("messages/"))
    res = genv.sync(ada, ada.ws)
    assert (res["imported"], res["duplicates"]) == (2, 0), res
    assert res["historyId"] == str(genv.gmail.history_id)
    fetched = [r[1].rsplit("/", 1)[1] for r in genv.gmail.recorded("messages/")[before:]]
    assert sorted(fetched) == sorted(new), "only the new messages are fetched"
    assert genv.emails(ada.ws) == len(CUSTOMERS) + 2
    assert genv.scalar("SELECT COUNT(*) FROM emails WHERE from_email = 'new1@prospect.example'"
                       " AND workspace_id = ?", ada.ws) == 1


def test_full_sync_pages_and_respects_max_messages(genv, ada):
    genv.connect(ada, ada.ws)
    genv.gmail.page_size = 2
    res = genv.sync(ada, ada.ws, maxMessages=3)
    # The newest three messages are listed; the newest is the draft, skipped.
    assert res["imported"] == 2, res
    pages = list_calls(genv.gmail)
    assert len(pages) == 2 and pages[1][2]["pageToken"] == ["2"], pages
    assert pages[1][2]["maxResults"] == ["1"]
    c = genv.db()
    subjects = {r[0] for r in c.execute("SELECT subject FROM emails WHERE workspace_id = ?",
                                        (ada.ws,))}
    c.close()
    assert subjects == {"Feature request", "Meeting"}, subjects


def test_too_old_history_falls_back_to_a_full_sync(genv, ada):
    genv.connect(ada, ada.ws)
    genv.sync(ada, ada.ws)
    genv.gmail.add_message(sender="Late <late@prospect.example>", subject="Late",
                           body="Hello again\n")
    genv.gmail.forget_history()  # the stored sync point is now older than the history kept
    res = genv.sync(ada, ada.ws)
    assert res["integrations"][0]["fullSync"] is True
    assert res["imported"] == 1 and res["duplicates"] == len(CUSTOMERS), res
    assert res["historyId"] == str(genv.gmail.history_id)


def test_sync_validates_its_arguments(genv, ada):
    genv.connect(ada, ada.ws)
    for bad in (0, 5001, "10", 1.5):
        err = genv.sync(ada, ada.ws, status=400, maxMessages=bad)
        assert err["code"] == "VALIDATION_ERROR" and "maxMessages" in err["message"]
    err = genv.sync(ada, ada.ws, status=400, integrationId=7)
    assert err["code"] == "VALIDATION_ERROR"
    err = genv.sync(ada, ada.ws, status=404, integrationId=str(uuid.uuid4()))
    assert err["code"] == "NOT_FOUND"


def test_sync_without_a_mailbox_is_404(genv, ada):
    err = genv.sync(ada, ada.ws, status=404)
    assert err["code"] == "NOT_FOUND" and "Gmail" in err["message"]


def test_sync_of_one_named_mailbox(genv, ada):
    row = genv.connect(ada, ada.ws)
    res = genv.sync(ada, ada.ws, integrationId=row["id"])
    assert res["imported"] == len(CUSTOMERS)
    assert [i["id"] for i in res["integrations"]] == [row["id"]]


def test_progress_counts_reach_the_totals(genv, ada):
    genv.connect(ada, ada.ws)
    genv.gmail.hold("messages/")  # the first fetch waits: the listing is recorded by then
    [job] = genv.start_sync(ada, ada.ws)
    assert job["payload"]["integrationId"] == genv.integrations(ada, ada.ws)[0]["id"]
    assert "tokenUrl" in job["payload"]
    assert genv.gmail.held.wait(30)
    running = genv.job(ada, ada.ws, job["id"])
    assert running["status"] == "running", running
    p = running["progress"]
    total = len(CUSTOMERS) + 1  # and the draft, listed and fetched, never imported
    assert (p["listed"], p["fetched"], p["imported"]) == (total, 0, 0), p
    assert p["fullSync"] is True and p["historyId"] is None
    genv.gmail.release()
    done = genv.wait_job(ada, ada.ws, job["id"])
    assert done["status"] == "done", done
    p = done["progress"]
    assert (p["listed"], p["fetched"], p["imported"], p["duplicates"], p["rejected"]) == \
        (total, total, len(CUSTOMERS), 0, 0), p
    assert p["historyId"] == str(genv.gmail.history_id)
    assert p["accountEmail"] == genv.integrations(ada, ada.ws)[0]["accountEmail"]
    # The next sync lists only what arrived since.
    genv.gmail.add_message(sender="New <new@prospect.example>", subject="Hi", body="Pricing?\n")
    [again] = genv.sync_jobs(ada, ada.ws)
    p = again["progress"]
    assert p["fullSync"] is False
    assert (p["listed"], p["fetched"], p["imported"]) == (1, 1, 1), p


def test_progress_is_published_live_to_the_workspace(genv, ada):
    genv.connect(ada, ada.ws)
    ws = WS(genv.srv.port, cookie=ada.cookie)
    assert ws.status == 101, ws.body
    assert ws.recv()["type"] == "hello"
    [job] = genv.start_sync(ada, ada.ws)
    events = []
    while not events or events[-1]["data"]["status"] == "running":
        m, _ = ws.wait_for("job_progress", timeout=30)
        events.append(m)
    ws.close()
    for e in events:
        assert e["workspaceId"] == ada.ws
        assert e["data"]["id"] == job["id"] and e["data"]["kind"] == "gmail_sync", e
    total = len(CUSTOMERS) + 1
    first = events[0]["data"]
    assert first["status"] == "running", events  # the listing, before any fetch
    assert (first["progress"]["listed"], first["progress"]["fetched"]) == (total, 0), first
    fetched = [e["data"]["progress"]["fetched"] for e in events]
    assert fetched == sorted(fetched), fetched
    last = events[-1]["data"]
    assert last["status"] == "done", events
    assert last["progress"]["imported"] == len(CUSTOMERS)
    assert last["progress"]["historyId"] == str(genv.gmail.history_id)


def test_a_second_request_while_a_sync_runs_answers_the_same_job(genv, ada):
    genv.connect(ada, ada.ws)
    genv.gmail.hold("messages/")
    [first] = genv.start_sync(ada, ada.ws)
    assert genv.gmail.held.wait(30)
    [second] = genv.start_sync(ada, ada.ws)
    assert second["id"] == first["id"] and second["status"] == "running", second
    genv.gmail.release()
    done = genv.wait_job(ada, ada.ws, first["id"])
    assert done["status"] == "done" and done["progress"]["imported"] == len(CUSTOMERS)
    r = ada.get(f"/api/jobs?workspaceId={ada.ws}")
    assert r.status == 200, r
    assert len([j for j in r.json["data"] if j["kind"] == "gmail_sync"]) == 1
    assert genv.emails(ada.ws) == len(CUSTOMERS)
    # Once it ended, a request queues a new sync.
    [third] = genv.start_sync(ada, ada.ws)
    assert third["id"] != first["id"]
    assert genv.wait_job(ada, ada.ws, third["id"])["status"] == "done"


# -- tokens -------------------------------------------------------------------------


def test_expired_access_token_is_refreshed_and_stored(genv, ada):
    genv.connect(ada, ada.ws)
    before = genv.row(ada.ws)
    genv.fake.expire_access_tokens()
    res = genv.sync(ada, ada.ws)
    assert res["imported"] == len(CUSTOMERS), res
    refreshes = [r for r in genv.fake.recorded("/token") if r.f("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    assert refreshes[0].f("refresh_token") in genv.fake.refresh_tokens
    # Discovery lists client_secret_basic: the refresh authenticates with it, like the exchange.
    assert refreshes[0].auth_method == "client_secret_basic"
    assert refreshes[0].f("client_secret") is None
    after = genv.row(ada.ws)
    assert bytes(after["access_token_enc"]) != bytes(before["access_token_enc"])
    assert bytes(after["refresh_token_enc"]) == bytes(before["refresh_token_enc"])
    assert after["token_expires_at"] >= before["token_expires_at"]
    # The stored new token works: the next sync needs no refresh.
    genv.gmail.add_message(subject="After refresh", sender="x <x@prospect.example>")
    res = genv.sync(ada, ada.ws)
    assert res["imported"] == 1
    assert len([r for r in genv.fake.recorded("/token")
                if r.f("grant_type") == "refresh_token"]) == 1


def test_token_near_expiry_is_refreshed_before_use(genv, ada):
    genv.connect(ada, ada.ws)
    old = [t for t in genv.fake.access_tokens]
    c = genv.db()
    c.execute("UPDATE email_integrations SET token_expires_at = 1000")
    c.commit()
    c.close()
    seen = len(genv.gmail.recorded())
    genv.sync(ada, ada.ws)
    used = {r[3] for r in genv.gmail.recorded()[seen:]}
    assert not used & set(old), "the expired token was still sent to Gmail"
    assert genv.row(ada.ws)["token_expires_at"] > 1000


def test_revoked_grant_ends_the_job_dead_and_marks_the_mailbox_in_error(genv, ada):
    genv.connect(ada, ada.ws)
    genv.fake.expire_access_tokens()  # Gmail answers 401; the refresh answers invalid_grant
    genv.fake.revoke_refresh_tokens()
    [job] = genv.sync_jobs(ada, ada.ws)
    assert job["status"] == "dead" and job["attempts"] == 1, job
    assert "revoked" in job["lastError"] and "connect Gmail again" in job["lastError"], job
    row = genv.integrations(ada, ada.ws)[0]
    assert row["status"] == "error"
    assert "revoked" in row["lastError"]
    assert genv.emails(ada.ws) == 0
    # Connecting again repairs it.
    row = genv.connect(ada, ada.ws)
    assert row["status"] == "connected" and row["lastError"] is None
    assert genv.sync(ada, ada.ws)["imported"] == len(CUSTOMERS)


@pytest.mark.parametrize("status", [500, 429])
def test_gmail_failure_is_retried_and_keeps_the_sync_point(genv, ada, status):
    genv.connect(ada, ada.ws)
    genv.sync(ada, ada.ws)
    hid = genv.row(ada.ws)["history_id"]
    genv.gmail.add_message(subject="Pending", sender="p <p@prospect.example>")
    genv.gmail.fail_next(status, path="history")
    genv.gmail.hold("messages/")  # the retry waits here until the first try is checked
    [job] = genv.start_sync(ada, ada.ws)
    assert genv.gmail.held.wait(30), "the sync was not retried"
    row = genv.integrations(ada, ada.ws)[0]
    assert row["status"] == "connected" and row["lastError"], row
    assert genv.row(ada.ws)["history_id"] == hid
    genv.gmail.release()
    done = genv.wait_job(ada, ada.ws, job["id"])
    assert done["status"] == "done" and done["attempts"] == 2, done
    assert done["progress"]["imported"] == 1
    assert genv.integrations(ada, ada.ws)[0]["lastError"] is None
    assert genv.row(ada.ws)["history_id"] == str(genv.gmail.history_id)


def test_tokens_are_bound_to_their_workspace(genv, ada):
    """A sealed token copied into another workspace's row cannot be opened there."""
    genv.connect(ada, ada.ws)
    bob = second_user(genv)
    src = genv.row(ada.ws)
    bob_user = genv.scalar("SELECT id FROM user_profiles WHERE email = 'bob@other.example'")
    c = genv.db()
    c.execute("INSERT INTO email_integrations (id, workspace_id, user_id, provider, account_email,"
              " access_token_enc, refresh_token_enc, token_expires_at, status, created_at,"
              " updated_at) VALUES (?, ?, ?, 'gmail', ?, ?, ?, ?, 'connected', 1, 1)",
              (str(uuid.uuid4()), bob.ws, bob_user, src["account_email"],
               src["access_token_enc"], src["refresh_token_enc"], src["token_expires_at"]))
    c.commit()
    c.close()
    [job] = genv.sync_jobs(bob, bob.ws)
    assert job["status"] == "dead" and "cannot be opened" in job["lastError"], job
    assert genv.integrations(bob, bob.ws)[0]["status"] == "error"
    assert genv.emails(bob.ws) == 0


# -- who may do what ----------------------------------------------------------------


def test_foreign_workspace_cannot_see_or_sync(genv, ada):
    row = genv.connect(ada, ada.ws)
    bob = second_user(genv)
    for path in (f"/api/integrations?workspaceId={ada.ws}",
                 f"/api/integrations/gmail/authorize?workspaceId={ada.ws}"):
        r = bob.get(path)
        assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND", r
    err = genv.sync(bob, ada.ws, status=404)
    assert err["code"] == "NOT_FOUND"
    err = genv.sync(bob, bob.ws, status=404, integrationId=row["id"])
    assert err["code"] == "NOT_FOUND"
    ref = genv.sync(bob, bob.ws, status=404, integrationId=str(uuid.uuid4()))
    assert ref == err, "another workspace's mailbox must look like a missing one"
    assert genv.integrations(bob, bob.ws) == []
    assert genv.emails(ada.ws) == 0 and genv.row(ada.ws)["last_sync_at"] is None


def test_viewer_cannot_connect_or_sync(genv, ada):
    genv.connect(ada, ada.ws)
    genv.add_user("vera@example.test")
    vera = genv.link_sign_in("vera@example.test")
    vid = genv.scalar("SELECT id FROM user_profiles WHERE email = 'vera@example.test'")
    org = genv.scalar("SELECT org_id FROM workspaces WHERE id = ?", ada.ws)
    c = genv.db()
    c.execute("INSERT INTO user_organizations (user_id, org_id, role, created_at)"
              " VALUES (?, ?, 'viewer', 1)", (vid, org))
    c.commit()
    c.close()
    err = genv.sync(vera, ada.ws, status=403)
    assert err["code"] == "FORBIDDEN"
    r = vera.get(f"/api/integrations/gmail/authorize?workspaceId={ada.ws}")
    assert r.status == 403, r
    # A viewer may look at the list.
    assert [i["accountEmail"] for i in genv.integrations(vera, ada.ws)] == [genv.gmail.email]
    assert genv.emails(ada.ws) == 0
