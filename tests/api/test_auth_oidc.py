"""Sign-in with OpenID Connect against a fake provider (tests/fakes/oidc_provider.py).

Each test gets its own leadflow server and its own fake provider (see
authutil.py). Redirects are never followed: every hop is a request of its own.
A refused sign-in must be a 302 to /login?error=<a readable reason>, set no
cookie, and leave no session behind.
"""
import hashlib
import http.client
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from authutil import (CLIENT_ID, CLIENT_SECRET, LANDING, SESSION_COOKIE, STATE_COOKIE,  # noqa: F401
                      bare_env, cleared_cookie, decode_jwt, env, fake_idp, http_request,
                      login_error, parse_set_cookie, pkce_challenge, session_cookie, state_cookie)

ADA = {"sub": "google-oauth2|1001", "email": "ada@example.test", "name": "Ada Lovelace",
       "email_verified": True}


def qs(url):
    """The query of a URL as a dict of single values (asserting each appears once)."""
    q = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for k, v in q.items():
        assert len(v) == 1, f"parameter {k} appears {len(v)} times in {url}"
    return {k: v[0] for k, v in q.items()}


def assert_no_session(env, users=0, sessions=0):
    assert env.live_sessions() == sessions, "a refused sign-in left a session behind"
    assert env.users() == users, "a refused sign-in created a user"


# -- the good path ------------------------------------------------------------


def test_sign_in_happy_path(env):
    fake = env.fake
    fake.user = dict(ADA)

    # Hop 1: leadflow sends the browser to the provider with every PKCE parameter.
    r, az = env.begin_login()
    parts = urlsplit(az)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake.authorization_endpoint
    q = qs(az)
    assert q["response_type"] == "code"
    assert q["client_id"] == CLIENT_ID
    assert q["redirect_uri"] == env.public_url + "/auth/callback"
    assert "openid" in q["scope"].split(" ")
    assert len(q["state"]) >= 22 and len(q["nonce"]) >= 16
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43  # BASE64URL(SHA-256), no padding
    assert "client_secret" not in q and "code_verifier" not in q

    # Hop 2: the provider answers with a code for leadflow's callback.
    cb = env.authorize(az)
    cbq = qs(cb)
    assert cb.startswith(env.public_url + "/auth/callback?")
    assert cbq["state"] == q["state"] and cbq["code"]

    # Hop 3: the callback exchanges the code, checks the ID token, starts a session.
    r = env.callback(cb)
    assert r.status == 302, r
    assert r.header("Location") == LANDING
    cookie = session_cookie(r)
    assert "secure" not in parse_attrs(r), "Secure on an http:// PUBLIC_URL"

    # What leadflow sent to the token endpoint: the verifier matching the challenge,
    # the client credentials, the same redirect_uri. (The fake checked all of it.)
    [tok] = fake.recorded("/token", "POST")
    assert tok.status == 200
    assert tok.f("grant_type") == "authorization_code"
    assert tok.f("code") == cbq["code"]
    assert tok.f("redirect_uri") == q["redirect_uri"]
    assert pkce_challenge(tok.f("code_verifier")) == q["code_challenge"]
    assert 43 <= len(tok.f("code_verifier")) <= 128
    _, claims = decode_jwt(fake.issued[0])
    assert claims["nonce"] == q["nonce"]

    # The session works and shows the bootstrapped tenancy.
    me = env.get("/api/auth/me", cookie=cookie)
    assert me.status == 200, me
    d = me.json["data"]
    assert d["user"]["email"] == ADA["email"]
    assert d["user"]["name"] == ADA["name"]
    assert len(d["organizations"]) == 1
    org = d["organizations"][0]
    assert org["role"] == "owner"
    assert org["name"] == "Ada Lovelace's Organization"
    assert [w["name"] for w in d["workspaces"]] == ["Default Workspace"]
    assert d["workspaces"][0]["organizationId"] == org["id"]
    assert isinstance(d["csrfToken"], str) and len(d["csrfToken"]) >= 16
    assert env.live_sessions() == 1


def parse_attrs(resp):
    from authutil import parse_set_cookie
    out = {}
    for v in resp.header_all("Set-Cookie"):
        name, _, attrs = parse_set_cookie(v)
        if name == SESSION_COOKIE:
            out.update(attrs)
    return out


def test_second_sign_in_is_the_same_user_and_tenancy(env):
    env.fake.user = dict(ADA)
    a = env.sign_in()
    b = env.sign_in()
    assert a.cookie != b.cookie
    ma, mb = a.me(), b.me()
    assert ma.json["data"]["user"]["id"] == mb.json["data"]["user"]["id"]
    assert len(mb.json["data"]["organizations"]) == 1
    assert len(mb.json["data"]["workspaces"]) == 1
    assert env.users() == 1 and env.live_sessions() == 2


def test_discovery_and_jwks_are_used(env):
    env.sign_in(user=ADA)
    paths = [r.path for r in env.fake.recorded()]
    assert "/.well-known/openid-configuration" in paths
    assert "/jwks" in paths
    assert paths.count("/token") == 1


# -- refusals: state, PKCE ----------------------------------------------------


def test_wrong_state_is_refused(env):
    _, cb = env.login_to_callback()
    q = qs(cb)
    state = secrets.token_urlsafe(32)
    forged = env.public_url + "/auth/callback?" + urlencode({"code": q["code"], "state": state})
    r = env.callback(forged, state_cookie=state)  # bound to this browser, unknown to the server
    env.assert_refused(r, "unknown")
    # leadflow refused before spending the code at the provider.
    assert not env.fake.recorded("/token")
    assert_no_session(env)


def test_missing_state_or_code_is_refused(env):
    _, cb = env.login_to_callback()
    q = qs(cb)
    for params in ({"code": q["code"]}, {"state": q["state"]}, {}):
        r = env.callback("/auth/callback?" + urlencode(params))
        env.assert_refused(r)
    assert_no_session(env)


def test_replayed_state_is_refused(env):
    env.fake.user = dict(ADA)
    _, cb = env.login_to_callback()
    first = env.callback(cb)
    assert first.status == 302 and first.header("Location") == LANDING
    cookie = session_cookie(first)
    again = env.callback(cb)
    env.assert_refused(again, "already used")
    assert len(env.fake.recorded("/token")) == 1, "a replayed state reached the token endpoint"
    assert env.live_sessions() == 1
    assert env.me_status(cookie) == 200


def test_wrong_verifier_is_refused(env):
    # Two sign-ins in flight: A and B. The code the provider issued against A's
    # challenge is presented at the callback with B's state, so leadflow sends
    # B's verifier, which does not hash to A's challenge.
    az_a, cb_a = env.login_to_callback()
    az_b, _ = env.login_to_callback()
    code_a = qs(cb_a)["code"]
    state_b = qs(az_b)["state"]
    r = env.callback("/auth/callback?" + urlencode({"code": code_a, "state": state_b}))
    err = env.assert_refused(r, "invalid_grant")
    [tok] = env.fake.recorded("/token")
    assert tok.status == 400 and tok.response["error"] == "invalid_grant"
    assert "code_verifier" in tok.response["error_description"]
    assert pkce_challenge(tok.f("code_verifier")) == qs(az_b)["code_challenge"]
    assert pkce_challenge(tok.f("code_verifier")) != qs(az_a)["code_challenge"]
    assert "refused" in err
    assert_no_session(env)
    # The code is single use at the provider: A's own callback now fails too.
    r = env.callback(cb_a)
    env.assert_refused(r, "invalid_grant")
    assert_no_session(env)


def test_expired_sign_in_attempt_is_refused(env):
    # No clock to move: age the stored attempt instead (10 minutes is the limit).
    _, cb = env.login_to_callback()
    c = env.db()
    with c:
        c.execute("UPDATE oauth_states SET expires_at = 1")
    c.close()
    env.assert_refused(env.callback(cb), "too long")
    assert not env.fake.recorded("/token")
    assert_no_session(env)


# -- the state is bound to the browser (login CSRF, RFC 6749 section 10.12) ---


def test_state_cookie_is_set_at_login_and_cleared_after_use(env):
    env.fake.user = dict(ADA)
    r, az = env.begin_login()  # begin_login checks HttpOnly, SameSite=Lax, Path=/auth, Max-Age
    attrs = [c for c in r.header_all("Set-Cookie") if c.startswith(STATE_COOKIE + "=")][0]
    assert "secure" not in attrs.lower(), "Secure on an http:// PUBLIC_URL"
    assert env.state_cookies[qs(az)["state"]] == qs(az)["state"]
    r = env.callback(env.authorize(az))
    assert r.status == 302 and r.header("Location") == LANDING, r
    session_cookie(r)
    assert cleared_cookie(r, STATE_COOKIE), r.header_all("Set-Cookie")


def test_cookies_of_a_sign_in_are_secure_on_an_https_public_url(launcher, fake_idp):
    """Behind TLS (an https:// PUBLIC_URL, the server itself on plain HTTP
    behind a proxy) every cookie the sign-in sets carries Secure: the state
    cookie at /auth/login, its removal and the session at the callback."""
    public = "https://leadflow.example"
    fake_idp.redirect_uris = [public + "/auth/callback"]
    fake_idp.user = dict(ADA)
    srv = launcher.start(env={"LEADFLOW_PUBLIC_URL": public,
                              "LEADFLOW_OIDC_ISSUER": fake_idp.issuer,
                              "LEADFLOW_OIDC_CLIENT_ID": CLIENT_ID,
                              "LEADFLOW_OIDC_CLIENT_SECRET": CLIENT_SECRET})
    r = srv.request("GET", "/auth/login")
    assert r.status == 302, r
    state = state_cookie(r)  # HttpOnly, SameSite=Lax, Path=/auth, Max-Age
    set_at_login = [parse_set_cookie(v) for v in r.header_all("Set-Cookie")]
    assert [c[2].get("secure") for c in set_at_login] == [True], set_at_login
    assert qs(r.header("Location"))["redirect_uri"] == public + "/auth/callback"

    cb = env_authorize(r.header("Location"))
    assert cb.startswith(public + "/auth/callback?"), cb
    parts = urlsplit(cb)
    r = srv.request("GET", parts.path + "?" + parts.query,
                    headers={"Cookie": f"{STATE_COOKIE}={state}"})
    assert r.status == 302 and r.header("Location") == LANDING, r
    session_cookie(r)
    assert cleared_cookie(r, STATE_COOKIE), r.header_all("Set-Cookie")
    at_callback = [parse_set_cookie(v) for v in r.header_all("Set-Cookie")]
    assert {c[0] for c in at_callback} == {SESSION_COOKIE, STATE_COOKIE}, at_callback
    assert all(c[2].get("secure") is True for c in at_callback), at_callback


def env_authorize(authorize_url):
    """The provider's answer to an authorization request: the callback URL."""
    r = http_request(authorize_url)
    assert r.status == 302, f"the provider refused the authorization request: {r.status} {r.body!r}"
    return r.header("Location")


@pytest.mark.parametrize("whose", ["none", "another browser's"])
def test_callback_in_another_browser_is_refused(env, whose):
    # Browser A (the attacker) starts a sign-in and stops at the callback URL;
    # browser B (the victim) opens it, with no state cookie or its own one.
    env.fake.user = dict(ADA)
    _, cb_a = env.login_to_callback()
    _, az_b = env.begin_login()
    cookie_b = env.state_cookies[qs(az_b)["state"]]
    r = env.callback(cb_a, state_cookie=None if whose == "none" else cookie_b)
    err = env.assert_refused(r, "not started in this browser")
    assert "start again" in err
    assert not cleared_cookie(r, STATE_COOKIE), "B's own sign-in must survive the refusal"
    assert not env.fake.recorded("/token"), "the code was spent for the wrong browser"
    assert_no_session(env)
    # The refused attempt did not spend the state: A, holding the cookie,
    # still completes its own sign-in (and only A could).
    r = env.callback(cb_a)
    assert r.status == 302 and r.header("Location") == LANDING, r
    assert env.live_sessions() == 1


def test_provider_error_in_another_browser_shows_no_provider_text(env):
    env.fake.authorize_error = "access_denied"
    _, cb = env.login_to_callback()
    r = env.callback(cb, state_cookie=None)
    err = env.assert_refused(r, "not started in this browser")
    assert "access_denied" not in err


# -- refusals: the ID token ---------------------------------------------------


@pytest.mark.parametrize("fault, words", [
    ("wrong_nonce", ["nonce"]),
    ("wrong_aud", ["another client"]),
    ("wrong_iss", ["another issuer"]),
    ("expired", ["expired"]),
    ("tampered", ["signature"]),
    ("alg_none", []),  # checked below: algorithm or signed-JWT wording
    ("unknown_kid", ["unknown key"]),
])
def test_bad_id_token_is_refused(env, fault, words):
    env.fake.user = dict(ADA)
    env.fake.token_fault = fault
    _, cb = env.login_to_callback()
    r = env.callback(cb)
    err = env.assert_refused(r, *words)
    if fault == "alg_none":
        assert "RS256" in err or "not a signed" in err, err
    # The fake did hand out the spoiled token: the refusal is leadflow's.
    [tok] = env.fake.recorded("/token")
    assert tok.status == 200
    assert env.fake.token_fault is None
    header, claims = decode_jwt(env.fake.issued[0])
    if fault == "alg_none":
        assert header == {"alg": "none", "typ": "JWT"}
        assert env.fake.issued[0].endswith(".")
    if fault == "unknown_kid":
        assert header["kid"] not in [k["kid"] for k in env.fake.jwks()["keys"]]
        # One fetch of the key set, and at most one more for the unknown kid.
        assert len(env.fake.recorded("/jwks")) <= 2
    assert_no_session(env)
    # The same provider and user sign in fine afterwards: nothing is stuck.
    b = env.sign_in()
    assert b.me().json["data"]["user"]["email"] == ADA["email"]


def test_unverified_email_is_refused(env):
    env.fake.user = dict(ADA, email_verified=False)
    _, cb = env.login_to_callback()
    env.assert_refused(env.callback(cb), "verified")
    assert_no_session(env)


# -- userinfo (OpenID Connect Core 5.3, 5.4) ----------------------------------


def test_email_from_userinfo_when_the_id_token_has_none(env):
    env.fake.user = dict(ADA)
    env.fake.userinfo_only = True
    b = env.sign_in()
    _, claims = decode_jwt(env.fake.issued[0])
    assert "email" not in claims and "name" not in claims, claims
    d = b.me().json["data"]
    assert d["user"]["email"] == ADA["email"] and d["user"]["name"] == ADA["name"]
    [ui] = env.fake.recorded("/userinfo")
    assert ui.status == 200
    assert ui.headers["Authorization"].startswith("Bearer ya29.")


def test_userinfo_is_not_asked_when_the_id_token_suffices(env):
    env.sign_in(user=ADA)
    assert not env.fake.recorded("/userinfo")


def test_userinfo_about_another_subject_is_refused(env):
    env.fake.user = dict(ADA)
    env.fake.userinfo_only = True
    env.fake.userinfo_sub = "someone-else"
    _, cb = env.login_to_callback()
    env.assert_refused(env.callback(cb), "another subject")
    assert_no_session(env)


def test_unverified_email_from_userinfo_is_refused(env):
    env.fake.user = dict(ADA, email_verified=False)
    env.fake.userinfo_only = True
    _, cb = env.login_to_callback()
    env.assert_refused(env.callback(cb), "verified")
    assert_no_session(env)


# -- issuer with a trailing slash (OpenID Connect Discovery 4) --------------


def test_issuer_with_a_trailing_slash(launcher):
    from authutil import FakeOIDCProvider, _start
    with FakeOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          trailing_slash=True) as fake:
        assert fake.issuer.endswith("/")
        env = _start(launcher, fake)
        b = env.sign_in(user=ADA)
        assert b.landing == LANDING
        assert "/.well-known/openid-configuration" in [r.path for r in fake.recorded()]
        _, claims = decode_jwt(fake.issued[0])
        assert claims["iss"] == fake.issuer  # compared exactly as the provider states it


def test_issuer_is_compared_exactly(launcher):
    # Configured without the slash the provider's discovery names: not the same issuer.
    from authutil import FakeOIDCProvider, _start
    with FakeOIDCProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          trailing_slash=True) as fake:
        issuer = fake.issuer
        fake.issuer = fake.base  # what _start configures
        env = _start(launcher, fake)
        fake.issuer = issuer
        r = env.srv.request("GET", "/auth/login")
        env.assert_refused(r, "cannot be reached")
        env.srv.wait_for_log(lambda r: r.get("event") == "auth.login_failed"
                             and "another issuer" in r.get("msg", ""))


# -- client authentication at the token endpoint (RFC 6749 section 2.3.1) -----


@pytest.mark.parametrize("listed, used", [
    (["client_secret_post", "client_secret_basic"], "client_secret_basic"),
    (None, "client_secret_basic"),  # not listed: the default is client_secret_basic
    (["client_secret_post"], "client_secret_post"),
    (["client_secret_basic"], "client_secret_basic"),
])
def test_client_authentication_method(env, listed, used):
    env.fake.token_auth_methods = listed
    env.sign_in(user=ADA)
    [tok] = env.fake.recorded("/token")
    assert tok.status == 200 and tok.auth_method == used
    if used == "client_secret_basic":
        assert tok.f("client_secret") is None
        assert tok.headers["Authorization"].startswith("Basic ")
    else:
        assert "Authorization" not in tok.headers
        assert tok.f("client_id") == CLIENT_ID and tok.f("client_secret") == CLIENT_SECRET


def test_basic_credentials_are_form_encoded(launcher):
    # RFC 6749 section 2.3.1: id and secret are form-urlencoded before base64.
    import base64
    from authutil import FakeOIDCProvider, _start
    odd = "s3cr:et/with+special chars&%"
    with FakeOIDCProvider(client_id=CLIENT_ID, client_secret=odd) as fake:
        env = _start(launcher, fake, {"LEADFLOW_OIDC_CLIENT_SECRET": odd})
        env.sign_in(user=ADA)
        [tok] = fake.recorded("/token")
        raw = base64.b64decode(tok.headers["Authorization"][6:]).decode()
        assert raw.split(":", 1)[1] != odd and ":" not in raw.split(":", 1)[1]


# -- refusals: the provider and the configuration ----------------------------


def test_plain_http_issuer_off_loopback_is_refused_at_start(tmp_path):
    import subprocess
    from conftest import clean_env, leadflow_bin
    cmd = [leadflow_bin(), "serve", "--listen", "127.0.0.1:0", "--db",
           f"sqlite:{tmp_path}/x.db"]
    base = {"LEADFLOW_OIDC_ISSUER": "http://idp.example.com/", "LEADFLOW_OIDC_CLIENT_ID": "c"}
    r = subprocess.run(cmd, cwd=tmp_path, env=clean_env(base), capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0
    assert "LEADFLOW_OIDC_ISSUER" in r.stderr and "LEADFLOW_OIDC_ALLOW_HTTP" in r.stderr, r.stderr


def test_plain_http_issuer_allowed_by_the_setting(launcher):
    # The issuer is never reached here: starting is what is checked.
    srv = launcher.start(env={"LEADFLOW_OIDC_ISSUER": "http://idp.example.com",
                              "LEADFLOW_OIDC_CLIENT_ID": "c",
                              "LEADFLOW_OIDC_ALLOW_HTTP": "1"})
    assert srv.request("GET", "/healthz").status == 200


def test_provider_error_access_denied(env):
    env.fake.authorize_error = "access_denied"
    _, cb = env.login_to_callback()
    assert qs(cb)["error"] == "access_denied"
    err = env.assert_refused(env.callback(cb), "access_denied")
    assert "provider" in err
    assert not env.fake.recorded("/token")
    assert_no_session(env)


def test_login_without_provider(bare_env):
    r = bare_env.srv.request("GET", "/auth/login")
    err = bare_env.assert_refused(r, "sign-in link")
    assert "login-link" in err
    r = bare_env.srv.request("GET", "/auth/callback?code=x&state=y")
    bare_env.assert_refused(r)
    assert bare_env.live_sessions() == 0


def test_unreachable_provider(launcher, fake_idp):
    from authutil import _start
    env = _start(launcher, fake_idp)
    fake_idp.stop()  # discovery now fails: connection refused
    r = env.srv.request("GET", "/auth/login")
    env.assert_refused(r, "cannot be reached")


# -- next= and open redirects -------------------------------------------------


@pytest.mark.parametrize("next_path, landing", [
    ("/dashboard/contacts?status=lead", "/dashboard/contacts?status=lead"),
    ("//evil.example", LANDING),
    ("https://evil.example", LANDING),
    ("/\\evil.example", LANDING),
    ("/\t/evil.example", LANDING),
    ("evil.example", LANDING),
])
def test_next_parameter(env, next_path, landing):
    b = env.sign_in(next_path=next_path, user=ADA)
    assert b.landing == landing
    assert "evil" not in urlsplit(b.landing).netloc


def test_next_is_not_sent_to_the_provider(env):
    az, _ = env.login_to_callback(next_path="/dashboard/secret-place")
    assert "secret-place" not in az


# -- rate limit (its own server, so nothing else is affected) -----------------


def test_sign_in_rate_limit(env):
    # A fixed window of one minute per address: 61 calls straddle at most one
    # window boundary, so one window sees more than 30 of them.
    statuses = []
    last = None
    for _ in range(61):
        last = env.srv.request("GET", "/auth/login")
        statuses.append(last.status)
        if last.status == 429:
            break
    assert all(s == 302 for s in statuses[:30]), statuses
    assert statuses[-1] == 429, statuses
    body = last.json
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["message"]
    assert not last.header_all("Set-Cookie")
    # The callback shares the budget.
    r = env.srv.request("GET", "/auth/callback?code=a&state=b")
    assert r.status == 429 and r.json["error"]["code"] == "RATE_LIMITED"


def rate_slot(ip):
    """The slot leadflow's sign-in rate limiter keeps ip's count in (src/auth/auth.c)."""
    h = hashlib.sha256(ip.encode()).digest()
    return (h[0] << 8 | h[1]) % 1024


def colliding_loopback_pair():
    """Two 127.0.x.y addresses whose counts land in the same limiter slot."""
    seen = {}
    for i in range(2, 255):
        for j in range(1, 255):
            ip = f"127.0.{i}.{j}"
            s = rate_slot(ip)
            if s in seen:
                return seen[s], ip
            seen[s] = ip
    raise AssertionError("no colliding pair found")


def get_from(env, source_ip, path):
    """GET path on the server from a given loopback source address (Linux: all of 127/8)."""
    conn = http.client.HTTPConnection("127.0.0.1", env.srv.port, timeout=10,
                                      source_address=(source_ip, 0))
    try:
        return env.srv.request("GET", path, conn=conn)
    finally:
        conn.close()


def test_sign_in_rate_limit_is_per_address(env):
    for _ in range(61):
        if get_from(env, "127.0.3.1", "/auth/login").status == 429:
            break
    else:
        pytest.fail("no 429 for 127.0.3.1")
    other = "127.0.3.2"
    assert rate_slot(other) != rate_slot("127.0.3.1")
    assert get_from(env, other, "/auth/login").status == 302


def test_sign_in_rate_limit_with_colliding_addresses(env):
    # Two addresses that share a limiter slot, taking turns: each makes more
    # than 30 calls within one window, so at least one must be limited. (A
    # limiter that evicts the other address's count on a collision lets both
    # through for ever.)
    x, y = colliding_loopback_pair()
    statuses = []
    for i in range(122):
        r = get_from(env, (x, y)[i % 2], "/auth/login")
        statuses.append(r.status)
        if r.status == 429:
            break
    assert statuses[-1] == 429, f"{len(statuses)} alternating calls from {x} and {y}, none limited"


def test_provider_error_with_unknown_state_shows_no_provider_text(env):
    # A crafted callback link cannot put its own words on the sign-in page.
    r = env.get("/auth/callback?error=access_denied&error_description=Call%20555-0100&state=bogus")
    assert r.status == 302
    message = login_error(r)
    assert message and "555" not in message and "access_denied" not in message
