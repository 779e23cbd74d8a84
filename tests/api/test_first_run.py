"""First run: `leadflow serve` on a database without users prints a one-time
link; its page creates the first owner (CSRF-bound form) and signs them in.
The link works once, a restart prints a new one (the old one stops working),
and no link is printed or honoured once a user exists. `/` sends a signed-in
browser to the dashboard and anyone else to /login."""
import os
import re
from urllib.parse import urlencode, urlsplit

from authutil import parse_set_cookie, session_cookie
from tenantutil import Creds, add_user, api, db_query, ok

LINK = re.compile(r"open (http://\S+/setup/([A-Za-z0-9_-]+)) within (\d+) minutes")


def start_fresh(launcher, wd=None, db=None):
    """A server on an empty (or given) database; (server, printed line or None)."""
    wd = wd or launcher.workdir("firstrun")
    out = os.path.join(wd, f"stdout-{len(launcher.servers)}.txt")
    srv = launcher.start(workdir=wd, db=db, stdout_path=out)
    with open(out, encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines() if "/setup/" in ln]
    assert len(lines) <= 1, lines
    return srv, (lines[0] if lines else None), wd


def parse_link(line):
    m = LINK.search(line or "")
    assert m, f"no first-run link in {line!r}"
    return m.group(1), m.group(2), int(m.group(3))


def open_form(srv, url):
    """GET the page: (csrf field, csrf cookie)."""
    path = urlsplit(url).path
    r = srv.get(path)
    assert r.status == 200, (r.status, r.body[:300])
    assert r.header("Content-Type", "").startswith("text/html")
    assert r.header("Cache-Control") == "no-store"
    m = re.search(rb'name="csrf" value="([^"]+)"', r.body)
    assert m, r.body
    assert b'name="name"' in r.body and b'name="email"' in r.body
    cookies = [parse_set_cookie(v) for v in r.header_all("Set-Cookie")]
    mine = [c for c in cookies if c[0] == "lf_setup_csrf"]
    assert len(mine) == 1, cookies
    _, value, attrs = mine[0]
    assert attrs.get("httponly") is True and str(attrs.get("samesite")).lower() == "lax", attrs
    return m.group(1).decode(), value


def post_form(srv, url, fields, cookie):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie is not None:
        headers["Cookie"] = f"lf_setup_csrf={cookie}"
    return srv.request("POST", urlsplit(url).path, body=urlencode(fields).encode(),
                       headers=headers)


def test_first_run_creates_the_owner_and_signs_in(launcher):
    srv, line, _ = start_fresh(launcher)
    url, token, minutes = parse_link(line)
    assert 0 < minutes <= 24 * 60
    assert url.startswith(srv.base_url + "/setup/")
    # Stored hashed, never as given.
    rows = db_query(srv, "SELECT token_hash FROM setup_links")
    assert len(rows) == 1 and rows[0][0] != token and token not in rows[0][0]
    assert token not in srv.stderr_text

    # Not signed in: / goes to the sign-in page.
    r = srv.get("/")
    assert r.status == 302 and r.header("Location") == "/login"

    csrf, cookie = open_form(srv, url)
    r = post_form(srv, url, {"csrf": csrf, "name": "Ada Owner", "email": "ada@example.test"},
                  cookie)
    assert r.status == 303, (r.status, r.body[:300])
    assert r.header("Location") == "/dashboard/overview"
    creds = Creds("session", cookie=session_cookie(r), label="first owner")
    me = ok(api(srv, "GET", "/api/auth/me", creds))
    assert me["user"]["email"] == "ada@example.test" and me["user"]["name"] == "Ada Owner"
    assert [o["role"] for o in me["organizations"]] == ["owner"]
    assert len(me["workspaces"]) == 1 and me["workspaces"][0]["role"] == "owner"
    assert me["csrfToken"]
    # A real session: the workspace API answers, and / goes to the dashboard.
    ws = me["workspaces"][0]["id"]
    creds.csrf = me["csrfToken"]
    ok(api(srv, "GET", "/api/contacts", creds, ws=ws))
    r = srv.get("/", headers={"Cookie": f"lf_session={creds.cookie}"})
    assert r.status == 302 and r.header("Location") == "/dashboard/overview"

    # The link works once.
    r = srv.get(urlsplit(url).path)
    assert r.status == 404 and b"name=\"email\"" not in r.body
    r = post_form(srv, url, {"csrf": csrf, "name": "Mallory", "email": "m@example.test"}, cookie)
    assert r.status == 404
    assert not any(c[0] == "lf_session" and c[1]
                   for c in map(parse_set_cookie, r.header_all("Set-Cookie")))
    assert [r[0] for r in db_query(srv, "SELECT email FROM user_profiles")] == \
        ["ada@example.test"]


def test_restart_prints_a_new_link_until_someone_has_an_account(launcher):
    srv, line, wd = start_fresh(launcher)
    url1, _, _ = parse_link(line)
    srv.stop()
    srv2, line2, _ = start_fresh(launcher, wd=wd, db=srv.db_ref)
    url2, _, _ = parse_link(line2)
    assert url1 != url2
    # The earlier link no longer works.
    r = srv2.get(urlsplit(url1).path)
    assert r.status == 404
    csrf, cookie = open_form(srv2, url2)
    r = post_form(srv2, url2, {"csrf": csrf, "name": "Bo", "email": "bo@example.test"}, cookie)
    assert r.status == 303
    srv2.stop()
    # Someone has an account: no link any more.
    srv3, line3, _ = start_fresh(launcher, wd=wd, db=srv.db_ref)
    assert line3 is None
    assert srv3.get(urlsplit(url2).path).status == 404


def test_link_refused_once_a_user_exists(launcher):
    srv, line, _ = start_fresh(launcher)
    url, _, _ = parse_link(line)
    csrf, cookie = open_form(srv, url)
    add_user(srv, "cli-made@example.test")
    r = srv.get(urlsplit(url).path)
    assert r.status == 404
    r = post_form(srv, url, {"csrf": csrf, "name": "Late", "email": "late@example.test"}, cookie)
    assert r.status == 404
    emails = [r[0] for r in db_query(srv, "SELECT email FROM user_profiles")]
    assert emails == ["cli-made@example.test"]


def test_form_checks_csrf_and_fields(launcher):
    srv, line, _ = start_fresh(launcher)
    url, _, _ = parse_link(line)
    csrf, cookie = open_form(srv, url)
    good = {"csrf": csrf, "name": "Cy", "email": "cy@example.test"}
    # Without the browser's cookie, or with another value: refused, link kept.
    assert post_form(srv, url, good, None).status == 403
    assert post_form(srv, url, dict(good, csrf="x" * len(csrf)), cookie).status == 403
    # Bad fields: the form again, with the message and what was typed (escaped).
    r = post_form(srv, url, dict(good, email="not-an-email"), cookie)
    assert r.status == 400 and b"email is not a valid email address" in r.body
    r = post_form(srv, url, dict(good, name="   "), cookie)
    assert r.status == 400 and b"name is required" in r.body
    assert db_query(srv, "SELECT COUNT(*) FROM user_profiles")[0][0] == 0


def test_form_escapes_what_was_typed(launcher):
    srv, line, _ = start_fresh(launcher)
    url, _, _ = parse_link(line)
    csrf, cookie = open_form(srv, url)
    r = post_form(srv, url, {"csrf": csrf, "name": '<script>x</script>', "email": "bad<@x"},
                  cookie)
    assert r.status == 400
    assert b"<script>x</script>" not in r.body and b"&lt;script&gt;" in r.body
    assert db_query(srv, "SELECT COUNT(*) FROM user_profiles")[0][0] == 0
    # The link still works after refusals.
    r = post_form(srv, url, {"csrf": csrf, "name": "Di", "email": "di@example.test"}, cookie)
    assert r.status == 303
