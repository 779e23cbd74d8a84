"""Fixtures and helpers for the sign-in tests (test_auth_oidc.py, test_auth_sessions.py).

The server fixture of conftest.py listens on port 0, but an OpenID Connect
sign-in needs LEADFLOW_PUBLIC_URL (the redirect_uri) to name the server's
port before it starts. So the fixtures here pick a free port, start the fake
provider (tests/fakes/oidc_provider.py), and start `leadflow serve` through
conftest's Launcher with --listen 127.0.0.1:PORT and the LEADFLOW_OIDC_*
variables. Each test gets its own server and database: the sign-in routes are
rate limited per client address (30 a minute), and every test here signs in
a few times.

Every HTTP exchange is done by hand with http.client, so redirects are never
followed: each hop (leadflow /auth/login -> provider /authorize -> leadflow
/auth/callback) is a separate request the test can look at.
"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import http.client
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from conftest import CLI_TIMEOUT, Response, clean_env

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.oidc_provider import FakeOIDCProvider, decode_jwt, pkce_challenge  # noqa: E402

SESSION_COOKIE = "lf_session"
STATE_COOKIE = "lf_signin_state"  # binds a sign-in's state to the browser that started it
CSRF_HEADER = "X-CSRF-Token"
LANDING = "/dashboard/overview"
CLIENT_ID = "leadflow-test-client"
CLIENT_SECRET = "test-client-secret-6b1e"


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(url, method="GET", headers=None, body=None, timeout=10.0):
    """One request to an absolute http:// URL; never follows a redirect."""
    parts = urlsplit(url)
    assert parts.scheme == "http", url
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        return Response(r.status, r.reason, r.headers, r.read())
    finally:
        conn.close()


def parse_set_cookie(value):
    """(name, value, attributes) of one Set-Cookie header; attribute names lower-case."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs


def session_cookie(resp):
    """The lf_session value a response sets, asserting the cookie's attributes."""
    cookies = [parse_set_cookie(v) for v in resp.header_all("Set-Cookie")]
    mine = [c for c in cookies if c[0] == SESSION_COOKIE]
    assert len(mine) == 1, f"expected one {SESSION_COOKIE} Set-Cookie, got {cookies}"
    _, value, attrs = mine[0]
    assert value, "the session cookie is empty"
    assert attrs.get("httponly") is True, f"session cookie not HttpOnly: {attrs}"
    assert str(attrs.get("samesite", "")).lower() == "lax", f"session cookie not SameSite=Lax: {attrs}"
    assert attrs.get("path") == "/", attrs
    return value


def state_cookie(resp, name=STATE_COOKIE, path="/auth"):
    """The state-binding cookie a response sets, asserting its attributes."""
    mine = [parse_set_cookie(v) for v in resp.header_all("Set-Cookie")]
    mine = [c for c in mine if c[0] == name]
    assert len(mine) == 1, f"expected one {name} Set-Cookie, got {resp.header_all('Set-Cookie')}"
    _, value, attrs = mine[0]
    assert value, f"the {name} cookie is empty"
    assert attrs.get("httponly") is True, attrs
    assert str(attrs.get("samesite", "")).lower() == "lax", attrs
    assert attrs.get("path") == path, attrs
    assert 0 < int(attrs.get("max-age", "0")) <= 900, attrs
    return value


def cleared_cookie(resp, name):
    """True when resp removes cookie name (an empty value with Max-Age=0)."""
    for v in resp.header_all("Set-Cookie"):
        n, value, attrs = parse_set_cookie(v)
        if n == name and not value and attrs.get("max-age") == "0":
            return True
    return False


def login_error(resp):
    """The reason in a 302 to /login?error=...; asserts the redirect's shape."""
    assert resp.status == 302, f"expected 302 to /login?error=..., got {resp.status}: {resp.body[:300]!r}"
    loc = resp.header("Location") or ""
    parts = urlsplit(loc)
    assert not parts.scheme and not parts.netloc and parts.path == "/login", \
        f"expected a redirect to /login, got Location {loc!r}"
    err = parse_qs(parts.query).get("error", [""])[0]
    # Readable: a sentence a person can act on, not a code or an empty value.
    assert len(err) >= 10 and " " in err and err.isprintable(), f"unreadable reason {err!r}"
    return err


class Browser:
    """A cookie (at most the session one) plus the CSRF token that goes with it."""

    def __init__(self, env, cookie=None, csrf=None):
        self.env = env
        self.cookie = cookie
        self.csrf = csrf
        self.cookies = {}  # other cookies this browser holds (name -> value), sent everywhere

    def headers(self, csrf=False, extra=None):
        h = {}
        jar = dict(self.cookies)
        if self.cookie is not None:
            jar[SESSION_COOKIE] = self.cookie
        if jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        if csrf:
            h[CSRF_HEADER] = self.csrf
        h.update(extra or {})
        return h

    def request(self, method, path, csrf=None, json_body=None, headers=None):
        if csrf is None:
            csrf = method not in ("GET", "HEAD")
        return self.env.srv.request(method, path, json_body=json_body,
                                    headers=self.headers(csrf, headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def me(self):
        return self.get("/api/auth/me")

    def refresh_csrf(self):
        r = self.me()
        assert r.status == 200, r
        self.csrf = r.json["data"]["csrfToken"]
        return r.json["data"]


class AuthEnv:
    """A leadflow server (conftest Server) wired to a fake OpenID provider (or to none)."""

    def __init__(self, srv, fake, public_url):
        self.srv = srv
        self.fake = fake
        self.public_url = public_url
        self.db_path = srv.db_path
        # The state cookie each started sign-in left in "its" browser, by
        # state: callback() brings it back, as that browser would.
        self.state_cookies = {}

    # -- plain requests ----------------------------------------------------

    def get(self, path, cookie=None, headers=None):
        h = dict(headers or {})
        if cookie is not None:
            h["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        return self.srv.request("GET", path, headers=h)

    def me_status(self, cookie):
        return self.get("/api/auth/me", cookie=cookie).status

    # -- the OpenID Connect dance, one hop at a time -----------------------

    def begin_login(self, next_path=None):
        """GET /auth/login[?next=]; returns (response, the provider URL it redirects to)."""
        path = "/auth/login" + (("?" + urlencode({"next": next_path})) if next_path is not None else "")
        r = self.srv.request("GET", path)
        assert r.status == 302, f"/auth/login answered {r.status}: {r.body[:300]!r}"
        names = [parse_set_cookie(v)[0] for v in r.header_all("Set-Cookie")]
        assert names == [STATE_COOKIE], f"starting a sign-in sets only the state cookie: {names}"
        az = r.header("Location")
        state = parse_qs(urlsplit(az).query).get("state", [None])[0]
        self.state_cookies[state] = state_cookie(r)
        return r, az

    def authorize(self, authorize_url):
        """Requests the provider's /authorize URL; returns the callback URL it redirects to."""
        r = http_request(authorize_url)
        assert r.status == 302, f"the provider refused the authorization request: {r.status} {r.body!r}"
        return r.header("Location")

    def callback(self, callback_url, state_cookie="same browser"):
        """GETs leadflow's /auth/callback (absolute URL or path) from the browser
        that started the sign-in (it brings back that sign-in's state cookie),
        or with state_cookie: a value to send instead, or None for none."""
        parts = urlsplit(callback_url)
        if parts.netloc:
            assert f"{parts.scheme}://{parts.netloc}" == self.public_url, callback_url
        path = parts.path + ("?" + parts.query if parts.query else "")
        if state_cookie == "same browser":
            state = parse_qs(parts.query).get("state", [None])[0]
            state_cookie = self.state_cookies.get(state)
        headers = {"Cookie": f"{STATE_COOKIE}={state_cookie}"} if state_cookie else {}
        return self.srv.request("GET", path, headers=headers)

    def login_to_callback(self, next_path=None):
        """The first two hops: returns (authorize URL, callback URL with code and state)."""
        _, az = self.begin_login(next_path)
        return az, self.authorize(az)

    def sign_in(self, next_path=None, user=None):
        """A complete successful sign-in; returns a Browser with cookie and CSRF token."""
        if user is not None:
            self.fake.user = dict(user)
        _, cb = self.login_to_callback(next_path)
        r = self.callback(cb)
        assert r.status == 302, f"callback answered {r.status}: {r.body[:300]!r}"
        loc = r.header("Location")
        assert not loc.startswith("/login"), f"sign-in refused: {loc}"
        b = Browser(self, session_cookie(r))
        b.landing = loc
        b.refresh_csrf()
        return b

    # -- command line ------------------------------------------------------

    def cli(self, *args, check=True):
        """Runs `leadflow ARGS --db <the server's db>` in its directory with PUBLIC_URL set."""
        from conftest import leadflow_bin
        cmd = [leadflow_bin(), *args, "--db", self.srv.db_url]
        try:
            r = subprocess.run(cmd, cwd=self.srv.workdir,
                               env=clean_env({"LEADFLOW_PUBLIC_URL": self.public_url}),
                               capture_output=True, text=True, timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{' '.join(cmd)} did not finish within {CLI_TIMEOUT}s")
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout: {r.stdout}\n"
                                 f"stderr: {r.stderr}")
        return r

    def add_user(self, email, name=None):
        args = ["user", "add", email] + (["--name", name] if name else [])
        self.cli(*args)

    def login_link(self, email):
        r = self.cli("user", "login-link", email)
        url = r.stdout.strip()
        assert url.startswith(self.public_url + "/auth/link/"), url
        return url

    def link_sign_in(self, email):
        """Signs in with a fresh one-time link; returns a Browser."""
        r = self.callback(self.login_link(email))
        assert r.status == 302 and r.header("Location") == LANDING, r
        b = Browser(self, session_cookie(r))
        b.refresh_csrf()
        return b

    # -- the database, read (and for setup, written) directly --------------

    def db(self):
        from conftest import db_connect
        c = db_connect(self.srv)
        if self.srv.pg_db is None:
            c.execute("PRAGMA busy_timeout = 10000")
        return c

    def scalar(self, sql, *params):
        c = self.db()
        try:
            return c.execute(sql, params).fetchone()[0]
        finally:
            c.close()

    def live_sessions(self):
        return self.scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")

    def users(self):
        return self.scalar("SELECT COUNT(*) FROM user_profiles")

    def workspace_of(self, email):
        return self.scalar(
            "SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
            " JOIN user_profiles u ON u.id = m.user_id WHERE u.email = ? ORDER BY w.created_at",
            email)

    # -- refusals ----------------------------------------------------------

    def assert_refused(self, resp, *reason_words, cookies=()):
        """A refused sign-in: 302 /login?error=<readable reason>, no Set-Cookie but
        the clearing of the state cookie, and every cookie we hold gets 401.
        Returns the reason."""
        err = login_error(resp)
        for w in reason_words:
            assert w.lower() in err.lower(), f"reason {err!r} does not mention {w!r}"
        set_ = [v for v in resp.header_all("Set-Cookie") if parse_set_cookie(v)[1]
                or parse_set_cookie(v)[0] != STATE_COOKIE]
        assert not set_, f"a refused sign-in set a cookie: {set_}"
        for c in cookies:
            assert self.me_status(c) == 401
        return err


def _start(launcher, fake, extra_env=None):
    """Starts leadflow on a port chosen here so PUBLIC_URL can name it (3 tries)."""
    last = None
    for _ in range(3):
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        env = {"LEADFLOW_PUBLIC_URL": public, **(extra_env or {})}
        if fake is not None:
            env.update({"LEADFLOW_OIDC_ISSUER": fake.issuer,
                        "LEADFLOW_OIDC_CLIENT_ID": CLIENT_ID,
                        "LEADFLOW_OIDC_CLIENT_SECRET": CLIENT_SECRET})
            fake.redirect_uris = [public + "/auth/callback"]
        env.update(extra_env or {})  # a test's settings win over the defaults
        try:
            srv = launcher.start(env=env, args=["--listen", f"127.0.0.1:{port}"], listen=False)
        except pytest.fail.Exception as exc:  # the port was taken in between: try another
            last = exc
            continue
        assert srv.port == port
        return AuthEnv(srv, fake, public)
    raise last


@pytest.fixture
def fake_idp():
    """A started FakeOIDCProvider knowing leadflow's client id and secret."""
    fake = FakeOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def env(launcher, fake_idp):
    """A fresh leadflow server whose sign-in provider is the fake."""
    return _start(launcher, fake_idp)


@pytest.fixture
def short_cache_env(launcher, fake_idp):
    """Like env, but the guard reuses what it read for 300 ms only."""
    return _start(launcher, fake_idp, {"LEADFLOW_AUTH_CACHE_MS": "300"})


@pytest.fixture
def bare_env(launcher):
    """A fresh leadflow server with no sign-in provider configured."""
    return _start(launcher, None)


def run_threads(n, fn):
    """Runs fn(i) in n threads started together; returns the results in order."""
    barrier = threading.Barrier(n)
    out = [None] * n
    errs = []

    def body(i):
        try:
            barrier.wait(10)
            out[i] = fn(i)
        except BaseException as exc:  # reported below
            errs.append(exc)

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    if errs:
        raise errs[0]
    return out


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["FakeOIDCProvider", "decode_jwt", "pkce_challenge", "AuthEnv", "Browser",
           "LANDING", "SESSION_COOKIE", "CSRF_HEADER", "CLIENT_ID", "CLIENT_SECRET",
           "env", "bare_env", "fake_idp", "free_port", "http_request", "login_error",
           "parse_set_cookie", "session_cookie", "run_threads", "sha256_hex"]
