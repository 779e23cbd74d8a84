"""Open pixel, click redirect and one-click unsubscribe against the real server.

Tokens are made here with the scheme src/mail/track.h documents, under the
LEADFLOW_SECRET_KEY the server is started with:

    payload = 0x01 | kind ('o', 'c', 'u') | workspace id | sent email id |
              contact id (16 bytes each, the UUIDs' bytes) | URL (clicks)
    key     = HMAC-SHA256(secret key, "leadflow track v1")
    token   = base64url(payload | HMAC-SHA256(key, payload)[:16]), no padding

The sent email and its contact are written into the SQLite file directly.
"""
import base64
import hashlib
import hmac
import uuid

import pytest

import tenantutil as tu
from conftest import Launcher

SECRET = "track-test-secret-key-0123456789abcdef0123"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.1 Safari/605.1.15")
SCANNER = "Barracuda Sentinel (EE)"
GIF = bytes.fromhex("47494638396101000100800100000000ffffff21f90401000000002c0000000001"
                    "0001000002024401003b")
HOUR_MS = 3600 * 1000


def make_token(kind, ws, sent, contact, url=None, secret=SECRET):
    payload = bytes([1, ord(kind)]) + b"".join(uuid.UUID(x).bytes for x in (ws, sent, contact))
    if url is not None:
        payload += url.encode()
    key = hmac.new(secret.encode(), b"leadflow track v1", hashlib.sha256).digest()
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode()


def altered(token):
    """The token with one character changed (still base64url)."""
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


@pytest.fixture(scope="module")
def srv(bin_path, tmp_path_factory, web_dir):
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    s = lx.start(env={"LEADFLOW_SECRET_KEY": SECRET})
    yield s
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def tenant(srv):
    return tu.new_tenant(srv, session=False)


class Mail:
    """A contact and an email sent to it, with the tokens for it."""

    def __init__(self, srv, tenant, email=None, sent_ago_ms=HOUR_MS):
        self.srv = srv
        self.tenant = tenant
        self.ws = tenant.workspace_id
        self.email = email or tu.unique_email("lead")
        self.contact = tu.random_id()
        self.sent = tu.random_id()
        now = tu.now_ms()
        tu.db_exec(srv, "INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?)", (self.contact, self.ws, self.email, now, now))
        tu.db_exec(srv, "INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key,"
                        " message_id, from_email, to_email, subject, body_text, status,"
                        " created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?)",
                   (self.sent, self.ws, self.contact, "k-" + self.sent, self.sent + "@lf.test",
                    "team@example.test", self.email, "Hello", "Hi", now - sent_ago_ms,
                    now - sent_ago_ms))

    def token(self, kind, url=None, **kw):
        return make_token(kind, self.ws, self.sent, self.contact, url, **kw)

    def events(self, kind=None):
        rows = tu.db_query(self.srv, "SELECT kind, url, user_agent, is_bot, bot_reason, contact_id,"
                                     " sent_email_id FROM email_events WHERE workspace_id = ? AND"
                                     " sent_email_id = ? ORDER BY id", (self.ws, self.sent))
        return [r for r in rows if kind is None or r[0] == kind]

    def contact_row(self):
        return tu.ok(tu.api(self.srv, "GET", f"/api/contacts/{self.contact}",
                            self.tenant.token_creds, ws=self.ws))

    def unsubscribed_at(self):
        return tu.db_query(self.srv, "SELECT unsubscribed_at FROM contacts WHERE id = ?",
                           (self.contact,))[0][0]


# -- the open pixel ---------------------------------------------------------------


def test_pixel_is_a_gif_and_records_an_open(srv, tenant):
    m = Mail(srv, tenant)
    r = srv.get(f"/t/o/{m.token('o')}.gif", headers={"User-Agent": BROWSER})
    assert r.status == 200
    assert r.body == GIF and len(r.body) == 43
    assert r.header("Content-Type") == "image/gif"
    assert "no-store" in r.header("Cache-Control", "")
    assert m.events() == [("open", None, BROWSER, 0, None, m.contact, m.sent)]


def test_pixel_answers_the_same_for_bad_tokens_and_records_nothing(srv, tenant):
    m = Mail(srv, tenant)
    good = m.token("o")
    for tok in (altered(good), good[:-1], good + "A", "x", m.token("c", "https://example.org/"),
                m.token("u"), m.token("o", secret="another-secret-key-0123456789abcdef01")):
        r = srv.get(f"/t/o/{tok}.gif", headers={"User-Agent": BROWSER})
        assert (r.status, r.body, r.header("Content-Type")) == (200, GIF, "image/gif"), tok
    assert m.events() == []


def test_pixel_bot_rules(srv, tenant):
    m = Mail(srv, tenant)
    tok = m.token("o")
    srv.get(f"/t/o/{tok}.gif", headers={"User-Agent": SCANNER})
    srv.get(f"/t/o/{tok}.gif", headers={"User-Agent": ""})
    srv.get(f"/t/o/{tok}.gif", headers={"User-Agent": BROWSER, "Sec-Purpose": "prefetch"})
    r = srv.request("HEAD", f"/t/o/{tok}.gif", headers={"User-Agent": BROWSER})
    assert r.status == 200 and r.header("Content-Type") == "image/gif"
    gimg = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    srv.get(f"/t/o/{tok}.gif", headers={"User-Agent": gimg})
    got = [(e[3], e[4]) for e in m.events("open")]
    assert got == [(1, "scanner:barracuda"), (1, "no_user_agent"), (1, "prefetch"), (1, "head"),
                   (0, None)]


def test_open_right_after_sending_is_a_bot(srv, tenant):
    m = Mail(srv, tenant, sent_ago_ms=0)
    srv.get(f"/t/o/{m.token('o')}.gif", headers={"User-Agent": BROWSER})
    assert [(e[3], e[4]) for e in m.events()] == [(1, "too_soon")]


# -- clicks -------------------------------------------------------------------------


def test_click_redirects_to_the_signed_url_and_records(srv, tenant):
    m = Mail(srv, tenant)
    url = "https://example.org/pricing?plan=team&ref=mail#compare"
    r = srv.get(f"/t/c/{m.token('c', url)}", headers={"User-Agent": BROWSER})
    assert r.status == 302
    assert r.header("Location") == url
    assert r.header("Referrer-Policy") == "no-referrer"
    r = srv.get(f"/t/c/{m.token('c', url)}", headers={"User-Agent": SCANNER})
    assert r.status == 302 and r.header("Location") == url
    assert [(e[0], e[1], e[3], e[4]) for e in m.events()] == [
        ("click", url, 0, None), ("click", url, 1, "scanner:barracuda")]


def test_bad_click_tokens_are_404_and_never_redirect(srv, tenant):
    m = Mail(srv, tenant)
    good = m.token("c", "https://example.org/a")
    cases = [altered(good), good[:-2], "nope", m.token("o"), m.token("u"),
             m.token("c", "https://example.org/a", secret="another-secret-key-0123456789abcdef01"),
             # Signed with the real key but not an http(s) link: still refused.
             m.token("c", "javascript:alert(document.cookie)"),
             m.token("c", "//evil.example/"),
             m.token("c", "data:text/html,<script>alert(1)</script>")]
    for tok in cases:
        r = srv.get(f"/t/c/{tok}", headers={"User-Agent": BROWSER})
        assert r.status == 404, (tok, r.status)
        assert r.header("Location") is None
        assert r.header("Content-Type", "").startswith("text/html")
    assert m.events() == []


# -- unsubscribe --------------------------------------------------------------------


def test_unsubscribe_page_shows_an_escaped_form(srv, tenant):
    m = Mail(srv, tenant, email=f"o'neil+<b>x</b>&{tu.random_id()[:8]}@example.test")
    path = f"/u/{m.token('u')}"
    r = srv.get(path, headers={"User-Agent": BROWSER})
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/html")
    page = r.text
    assert f'<form method="post" action="{path}">' in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert "<b>x</b>" not in page
    assert "o&#39;neil+&lt;b&gt;x&lt;/b&gt;&amp;" in page
    assert "default-src 'none'" in r.header("Content-Security-Policy", "")
    # Looking is not unsubscribing.
    assert m.unsubscribed_at() is None and m.events() == []


def test_one_click_post_unsubscribes_once(srv, tenant):
    m = Mail(srv, tenant)
    path = f"/u/{m.token('u')}"
    form = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "GoogleOneClick"}
    r = srv.request("POST", path, body=b"List-Unsubscribe=One-Click", headers=form)
    assert r.status == 200, r.body
    assert r.header("Content-Type").startswith("text/html")
    assert "unsubscribed" in r.text
    first = m.unsubscribed_at()
    assert first
    r = srv.request("POST", path, body=b"List-Unsubscribe=One-Click", headers=form)
    assert r.status == 200
    assert m.unsubscribed_at() == first
    assert [e[0] for e in m.events()] == ["unsubscribe"]
    assert m.contact_row()["unsubscribedAt"]
    # The page now says so, with no form.
    r = srv.get(path)
    assert r.status == 200 and "You are unsubscribed" in r.text and "<form" not in r.text


def test_page_form_post_with_empty_body_unsubscribes(srv, tenant):
    m = Mail(srv, tenant)
    r = srv.request("POST", f"/u/{m.token('u')}", body=b"",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    assert m.unsubscribed_at()


def test_bad_unsubscribe_tokens_are_404(srv, tenant):
    m = Mail(srv, tenant)
    good = m.token("u")
    for tok in (altered(good), good[:-1], m.token("o"), m.token("c", "https://example.org/"),
                m.token("u", secret="another-secret-key-0123456789abcdef01")):
        assert srv.get(f"/u/{tok}").status == 404
        r = srv.request("POST", f"/u/{tok}", body=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 404 and r.header("Location") is None
    assert m.unsubscribed_at() is None and m.events() == []


# -- the score ------------------------------------------------------------------------


def test_a_person_opening_raises_engagement_and_bots_do_not(srv, tenant):
    person, bot = Mail(srv, tenant), Mail(srv, tenant)
    assert person.contact_row()["scoreBreakdown"]["engagement"] == 0
    for _ in range(3):
        srv.get(f"/t/o/{bot.token('o')}.gif", headers={"User-Agent": SCANNER})
        srv.request("HEAD", f"/t/c/{bot.token('c', 'https://example.org/')}",
                    headers={"User-Agent": BROWSER})
    assert bot.contact_row()["scoreBreakdown"]["engagement"] == 0
    assert bot.contact_row()["score"] == 0

    srv.get(f"/t/o/{person.token('o')}.gif", headers={"User-Agent": BROWSER})
    after_open = person.contact_row()["scoreBreakdown"]["engagement"]
    assert after_open > 0
    # Opening the same email again is still one open; a click adds more.
    srv.get(f"/t/o/{person.token('o')}.gif", headers={"User-Agent": BROWSER})
    assert person.contact_row()["scoreBreakdown"]["engagement"] == after_open
    srv.get(f"/t/c/{person.token('c', 'https://example.org/demo')}",
            headers={"User-Agent": BROWSER})
    row = person.contact_row()
    assert row["scoreBreakdown"]["engagement"] > after_open
    assert row["lastInteraction"]


def test_tracking_routes_are_public(srv):
    routes = {(r.method, r.pattern): r for r in tu.route_table()}
    for key in (("GET", "/t/o/{token}.gif"), ("GET", "/t/c/{token}"), ("GET", "/u/{token}"),
                ("POST", "/u/{token}")):
        assert key in routes and routes[key].public, key


def test_a_click_that_makes_a_hot_lead_queues_a_draft(srv, tenant):
    m = Mail(srv, tenant)
    now = tu.now_ms()
    # Two analyzed pricing questions with positive sentiment from a CEO customer:
    # 16 + 20 + 20 + 10 + 10 = 76 before any open or click; stored as 50.
    tu.db_exec(srv, "UPDATE contacts SET job_title = 'CEO', status = 'customer', ai_score = 50"
                    " WHERE id = ?", (m.contact,))
    for i in range(2):
        tu.db_exec(srv, "INSERT INTO emails (id, workspace_id, contact_id, message_id, from_email,"
                        " received_at, direction, provider, intent_bits, sentiment_score,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?, 'inbound', 'offline', 16, 1.0, ?)",
                   (tu.random_id(), m.ws, m.contact, f"<{tu.random_id()}@x.test>", m.email,
                    now - 60000 * (i + 1), now))
    srv.get(f"/t/o/{m.token('o')}.gif", headers={"User-Agent": BROWSER})
    srv.get(f"/t/c/{m.token('c', 'https://example.org/pricing')}", headers={"User-Agent": BROWSER})
    row = m.contact_row()
    assert row["score"] >= 80, row
    jobs = tu.db_query(srv, "SELECT CAST(payload AS TEXT) FROM jobs WHERE workspace_id = ? AND kind ="
                            " 'draft_content'", (m.ws,))
    assert len(jobs) == 1 and m.contact in jobs[0][0], jobs


def test_tokens_never_reach_the_log(srv, tenant):
    """Tracking and unsubscribe paths are bearer secrets: the access log shows
    the route's pattern instead, also when the method is wrong."""
    m = Mail(srv, tenant)
    click = m.token("c", "https://example.org/a")
    opened = m.token("o")
    unsub = m.token("u")
    assert srv.get(f"/t/c/{click}", headers={"User-Agent": BROWSER}).status == 302
    assert srv.get(f"/t/o/{opened}.gif", headers={"User-Agent": BROWSER}).status == 200
    assert srv.get(f"/u/{unsub}").status == 200
    assert srv.request("DELETE", f"/t/c/{click}").status == 405
    rec = srv.wait_for_log(lambda r: r.get("event") == "http.request"
                           and r.get("path") == "/t/c/{token}" and r.get("status") == 405,
                           what="the 405 of the click path")
    assert rec["method"] == "DELETE"
    paths = {r.get("path") for r in srv.logs("http.request")}
    assert {"/t/c/{token}", "/t/o/{token}.gif", "/u/{token}"} <= paths
    text = srv.stderr_text
    for tok in (click, opened, unsub):
        assert tok not in text


def test_contact_events_list_the_timeline_newest_first(srv, tenant):
    m = Mail(srv, tenant)
    url = "https://example.org/demo"
    assert srv.get(f"/t/o/{m.token('o')}.gif", headers={"User-Agent": BROWSER}).status == 200
    assert srv.get(f"/t/c/{m.token('c', url)}", headers={"User-Agent": SCANNER}).status == 302
    r = tu.api(srv, "GET", f"/api/contacts/{m.contact}/events", tenant.token_creds, ws=m.ws)
    rows = tu.ok(r)
    mine = [x for x in rows if x["sentEmailId"] == m.sent]
    assert [x["kind"] for x in mine] == ["click", "open"]
    click, opened = mine
    assert click["url"] == url and click["bot"] is True and click["botReason"]
    assert opened["url"] is None and opened["userAgent"] == BROWSER
    assert click["at"] >= opened["at"]
    assert set(click) == {"id", "kind", "sentEmailId", "subject", "url", "userAgent", "bot",
                          "botReason", "at"}
    one = tu.ok(tu.api(srv, "GET", f"/api/contacts/{m.contact}/events", tenant.token_creds,
                       ws=m.ws, params={"limit": "1"}))
    assert len(one) == 1 and one[0]["id"] == rows[0]["id"]
    other = tu.new_tenant(srv, session=False)
    r = tu.api(srv, "GET", f"/api/contacts/{m.contact}/events", other.token_creds,
               ws=other.workspace_id)
    tu.assert_error(r, 404, "NOT_FOUND")
