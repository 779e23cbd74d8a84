"""Sessions, CSRF, the first-login bootstrap, one-time sign-in links and API tokens.

Each test gets its own leadflow server (authutil.py); sessions come from the
fake OpenID provider or from `leadflow user login-link`.
"""
import json
import secrets

import time

import pytest

from authutil import (CSRF_HEADER, LANDING, SESSION_COOKIE, Browser, bare_env, env,  # noqa: F401
                      fake_idp, login_error, parse_set_cookie, run_threads, session_cookie,
                      short_cache_env)

ADA = {"sub": "sub-ada", "email": "ada@example.test", "name": "Ada Lovelace",
       "email_verified": True}
BOB = {"sub": "sub-bob", "email": "bob@example.test", "name": "Bob Builder",
       "email_verified": True}


def assert_error(resp, status, code):
    assert resp.status == status, f"expected {status}, got {resp.status}: {resp.body[:300]!r}"
    body = resp.json
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]["message"]


# -- logout -------------------------------------------------------------------


def test_logout_revokes_the_session(env):
    a = env.sign_in(user=ADA)
    other = env.sign_in(user=ADA)  # a second session of the same person
    r = a.post("/auth/logout")
    assert r.status == 200, r
    assert r.json["data"]["signedOut"] is True
    cleared = [parse_set_cookie(v) for v in r.header_all("Set-Cookie")]
    assert any(n == SESSION_COOKIE and v == "" and attrs.get("max-age") == "0"
               for n, v, attrs in cleared), cleared
    assert_error(a.me(), 401, "UNAUTHORIZED")
    # Only that session ended.
    assert other.me().status == 200
    # Logging out again with the dead cookie is refused, not an error.
    assert_error(a.post("/auth/logout"), 401, "UNAUTHORIZED")


def test_logout_needs_the_csrf_header(env):
    a = env.sign_in(user=ADA)
    assert_error(a.post("/auth/logout", csrf=False), 403, "FORBIDDEN")
    assert_error(a.post("/auth/logout", csrf=False, headers={CSRF_HEADER: "x" * len(a.csrf)}),
                 403, "FORBIDDEN")
    assert_error(a.post("/auth/logout", csrf=False, headers={CSRF_HEADER: ""}), 403, "FORBIDDEN")
    assert a.me().status == 200, "a refused logout ended the session anyway"


def test_csrf_token_is_bound_to_its_session(env):
    a = env.sign_in(user=ADA)
    b = env.sign_in(user=ADA)
    assert a.csrf != b.csrf
    r = a.post("/auth/logout", csrf=False, headers={CSRF_HEADER: b.csrf})
    assert_error(r, 403, "FORBIDDEN")
    assert a.me().status == 200 and b.me().status == 200


def test_tampered_cookie_is_refused(env):
    a = env.sign_in(user=ADA)
    c = a.cookie
    flipped = c[:-1] + ("A" if c[-1] != "A" else "B")
    for bad in (flipped, c[1:], c + "x", c.upper() if c.upper() != c else c.lower(),
                "0" * len(c), "x" * 4000):
        assert_error(env.get("/api/auth/me", cookie=bad), 401, "UNAUTHORIZED")
    assert_error(env.get("/api/auth/me"), 401, "UNAUTHORIZED")
    assert a.me().status == 200


def test_expired_session_is_refused(short_cache_env):
    # The stored expiry is put in the past (no clock to move); only that
    # session ends, and it is not renewed by being used. The change is made
    # behind the server's back, so it shows once the guard's cache lapses.
    env = short_cache_env
    a = env.sign_in(user=ADA)
    b = env.sign_in(user=ADA)
    c = env.db()
    with c:
        assert c.execute("UPDATE sessions SET expires_at = 1 WHERE id_hash = "
                         "(SELECT MIN(id_hash) FROM sessions)").rowcount == 1
    c.close()
    time.sleep(0.4)
    results = sorted([a.me().status, b.me().status])
    assert results == [200, 401], results
    expired = a if a.me().status == 401 else b
    message = assert_error(expired.me(), 401, "UNAUTHORIZED")
    assert "session" in message


def test_non_bearer_authorization_is_refused(env):
    a = env.sign_in(user=ADA)
    r = env.get("/api/auth/me", cookie=a.cookie, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_error(r, 401, "UNAUTHORIZED")


# -- listing and revoking sessions --------------------------------------------


def test_list_and_revoke_another_session(env):
    a = env.sign_in(user=ADA)
    b = env.sign_in(user=ADA)
    r = a.get("/api/auth/sessions")
    assert r.status == 200, r
    rows = r.json["data"]
    assert len(rows) == 2
    assert sum(1 for s in rows if s["current"]) == 1
    assert a.cookie not in r.text and b.cookie not in r.text, "session secrets are listed"
    b_rows = b.get("/api/auth/sessions").json["data"]
    b_id = next(s["id"] for s in b_rows if s["current"])
    a_id = next(s["id"] for s in rows if s["current"])
    assert a_id != b_id and {s["id"] for s in rows} == {a_id, b_id}

    assert_error(a.delete(f"/api/auth/sessions/{b_id}", csrf=False), 403, "FORBIDDEN")
    assert b.me().status == 200
    r = a.delete(f"/api/auth/sessions/{b_id}")
    assert r.status == 200 and r.json["data"]["revoked"] is True, r
    assert_error(b.me(), 401, "UNAUTHORIZED")
    assert a.me().status == 200
    assert [s["id"] for s in a.get("/api/auth/sessions").json["data"]] == [a_id]
    # Revoking it again, or an unknown id, is 404.
    assert_error(a.delete(f"/api/auth/sessions/{b_id}"), 404, "NOT_FOUND")
    assert_error(a.delete("/api/auth/sessions/" + "0" * 64), 404, "NOT_FOUND")


def test_cannot_revoke_someone_elses_session(env):
    a = env.sign_in(user=ADA)
    b = env.sign_in(user=BOB)
    b_id = next(s["id"] for s in b.get("/api/auth/sessions").json["data"] if s["current"])
    assert len(a.get("/api/auth/sessions").json["data"]) == 1, "another user's sessions listed"
    assert_error(a.delete(f"/api/auth/sessions/{b_id}"), 404, "NOT_FOUND")
    assert b.me().status == 200


# -- the first-login bootstrap ------------------------------------------------


def tenancy_counts(env, email):
    uid = env.scalar("SELECT id FROM user_profiles WHERE email = ?", email)
    orgs = env.scalar("SELECT COUNT(*) FROM user_organizations WHERE user_id = ?", uid)
    wss = env.scalar("SELECT COUNT(*) FROM workspaces w JOIN user_organizations m"
                     " ON m.org_id = w.org_id WHERE m.user_id = ?", uid)
    return uid, orgs, wss


def test_initialize_user_is_idempotent(env):
    a = env.sign_in(user=ADA)  # the sign-in already bootstrapped
    for _ in range(2):
        r = a.post("/api/auth/initialize-user")
        assert r.status == 200, r
        d = r.json["data"]
        assert d["created"] is False
        assert len(d["organizations"]) == 1 and len(d["workspaces"]) == 1
    assert tenancy_counts(env, ADA["email"])[1:] == (1, 1)
    assert env.scalar("SELECT COUNT(*) FROM organizations") == 1
    assert_error(a.post("/api/auth/initialize-user", csrf=False), 403, "FORBIDDEN")


def test_initialize_user_concurrently(env):
    a = env.sign_in(user=ADA)
    uid, _, _ = tenancy_counts(env, ADA["email"])
    # Take the tenancy away again (as if the sign-in's bootstrap had not run),
    # then race eight first-login bootstraps.
    c = env.db()
    with c:
        org = c.execute("SELECT org_id FROM user_organizations WHERE user_id = ?",
                        (uid,)).fetchone()[0]
        c.execute("DELETE FROM user_organizations WHERE user_id = ?", (uid,))
        c.execute("DELETE FROM workspaces WHERE org_id = ?", (org,))
        c.execute("DELETE FROM organizations WHERE id = ?", (org,))
    c.close()
    assert tenancy_counts(env, ADA["email"])[1:] == (0, 0)

    results = run_threads(8, lambda i: a.post("/api/auth/initialize-user"))
    statuses = sorted(r.status for r in results)
    assert statuses == [200] * 7 + [201], [(r.status, r.body[:200]) for r in results]
    assert sum(1 for r in results if r.json["data"]["created"]) == 1
    for r in results:
        d = r.json["data"]
        assert len(d["organizations"]) == 1 and len(d["workspaces"]) == 1, d
        assert d["organizations"][0]["role"] == "owner"
        assert d["organizations"][0]["name"] == "Ada Lovelace's Organization"
        assert d["workspaces"][0]["name"] == "Default Workspace"
    assert tenancy_counts(env, ADA["email"])[1:] == (1, 1)
    assert env.scalar("SELECT COUNT(*) FROM organizations") == 1


# -- one-time sign-in links ---------------------------------------------------


def test_login_link_is_single_use(env):
    env.add_user("a@x.test")
    url = env.login_link("a@x.test")
    r = env.callback(url)
    assert r.status == 302 and r.header("Location") == LANDING, r
    cookie = session_cookie(r)
    me = env.get("/api/auth/me", cookie=cookie)
    assert me.status == 200
    d = me.json["data"]
    assert d["user"]["email"] == "a@x.test"
    assert [o["name"] for o in d["organizations"]] == ["a's Organization"]
    assert [w["name"] for w in d["workspaces"]] == ["Default Workspace"]

    again = env.callback(url)
    env.assert_refused(again, "link")
    assert env.live_sessions() == 1
    assert env.me_status(cookie) == 200
    # The link's token is a secret: the access log shows the route's pattern.
    token = url.rsplit("/", 1)[1]
    assert token not in env.srv.stderr_text
    assert "/auth/link/{token}" in {r.get("path") for r in env.srv.logs("http.request")}


def test_unknown_login_link_is_refused(env):
    env.add_user("a@x.test")
    env.login_link("a@x.test")
    r = env.get("/auth/link/" + secrets.token_urlsafe(32))
    env.assert_refused(r, "link")
    r = env.get("/auth/link/" + "A" * 300)
    env.assert_refused(r)
    assert env.live_sessions() == 0


def test_login_link_for_unknown_user(env):
    r = env.cli("user", "login-link", "nobody@x.test", check=False)
    assert r.returncode != 0
    assert r.stdout == ""
    assert "nobody@x.test" in r.stderr and "user add" in r.stderr


def test_expired_login_link_is_refused(env):
    # No clock to move: the link is made, then its stored expiry is put in the
    # past directly in the database (the 15-minute TTL itself is not exercised).
    env.add_user("a@x.test")
    url = env.login_link("a@x.test")
    c = env.db()
    with c:
        assert c.execute("UPDATE login_links SET expires_at = 1").rowcount == 1
    c.close()
    env.assert_refused(env.callback(url), "expired")
    assert env.live_sessions() == 0


# -- API tokens ---------------------------------------------------------------


def create_token(env, ws, name="ci"):
    r = env.cli("token", "create", "--workspace", ws, "--name", name)
    token = r.stdout.strip()
    assert token.startswith("lf_") and len(token) > 30 and "\n" not in token, r.stdout
    return token


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_api_token(env):
    env.add_user("a@x.test")
    env.add_user("b@x.test")
    ws = env.workspace_of("a@x.test")
    other_ws = env.workspace_of("b@x.test")
    assert ws and other_ws and ws != other_ws
    token = create_token(env, ws)

    r = env.get(f"/api/tokens?workspaceId={ws}", headers=bearer(token))
    assert r.status == 200, r
    rows = r.json["data"]
    assert [t["name"] for t in rows] == ["ci"]
    assert rows[0]["workspaceId"] == ws and rows[0]["revokedAt"] is None
    assert token not in r.text, "the secret is listed"

    # Another workspace (that exists) and one that does not: the same 404.
    m1 = assert_error(env.get(f"/api/tokens?workspaceId={other_ws}", headers=bearer(token)),
                      404, "NOT_FOUND")
    m2 = assert_error(env.get("/api/tokens?workspaceId=00000000-0000-4000-8000-000000000000",
                              headers=bearer(token)), 404, "NOT_FOUND")
    assert m1 == m2
    assert_error(env.get("/api/tokens", headers=bearer(token)), 400, "VALIDATION_ERROR")

    # /api/auth/me through a token: only the token's workspace, no CSRF token.
    me = env.get("/api/auth/me", headers=bearer(token)).json["data"]
    assert [w["id"] for w in me["workspaces"]] == [ws]
    assert "csrfToken" not in me

    # Unknown and malformed tokens.
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "lf_" + "x" * 43, ""):
        assert_error(env.get(f"/api/tokens?workspaceId={ws}", headers=bearer(bad)),
                     401, "UNAUTHORIZED")


def test_api_token_needs_no_csrf(env):
    env.add_user("a@x.test")
    ws = env.workspace_of("a@x.test")
    token = create_token(env, ws)
    srv = env.srv
    r = srv.request("POST", f"/api/tokens?workspaceId={ws}", headers=bearer(token),
                    json_body={"name": "made-by-token"})
    assert r.status == 201, r
    new = r.json["data"]
    assert new["token"].startswith("lf_") and new["name"] == "made-by-token"
    r = srv.request("DELETE", f"/api/tokens/{new['id']}?workspaceId={ws}", headers=bearer(token))
    assert r.status == 200 and r.json["data"]["revoked"] is True, r
    assert_error(env.get(f"/api/tokens?workspaceId={ws}", headers=bearer(new["token"])),
                 401, "UNAUTHORIZED")
    # A browser session doing the same write without the header is refused.
    a = env.link_sign_in("a@x.test")
    r = a.post(f"/api/tokens?workspaceId={ws}", csrf=False, json_body={"name": "x"})
    assert_error(r, 403, "FORBIDDEN")
    r = a.post(f"/api/tokens?workspaceId={ws}", json_body={"name": "x"})
    assert r.status == 201, r


def test_revoked_api_token(env):
    env.add_user("a@x.test")
    ws = env.workspace_of("a@x.test")
    token = create_token(env, ws)
    keep = create_token(env, ws, "keep")
    a = env.link_sign_in("a@x.test")
    rows = a.get(f"/api/tokens?workspaceId={ws}").json["data"]
    tid = next(t["id"] for t in rows if t["name"] == "ci")
    r = a.delete(f"/api/tokens/{tid}?workspaceId={ws}")
    assert r.status == 200, r
    assert_error(env.get(f"/api/tokens?workspaceId={ws}", headers=bearer(token)),
                 401, "UNAUTHORIZED")
    r = env.get(f"/api/tokens?workspaceId={ws}", headers=bearer(keep))
    assert r.status == 200
    listed = {t["name"]: t for t in r.json["data"]}
    assert listed["ci"]["revokedAt"] is not None and listed["keep"]["revokedAt"] is None
    # Revoking twice, or from another workspace, is 404.
    assert_error(a.delete(f"/api/tokens/{tid}?workspaceId={ws}"), 404, "NOT_FOUND")


def test_token_cannot_revoke_in_another_workspace(env):
    env.add_user("a@x.test")
    env.add_user("b@x.test")
    ws_a, ws_b = env.workspace_of("a@x.test"), env.workspace_of("b@x.test")
    ta = create_token(env, ws_a)
    tb = create_token(env, ws_b)
    b_id = env.scalar("SELECT id FROM api_tokens WHERE workspace_id = ?", ws_b)
    # With its own workspace id: the other workspace's token id is not found there.
    r = env.srv.request("DELETE", f"/api/tokens/{b_id}?workspaceId={ws_a}", headers=bearer(ta))
    assert_error(r, 404, "NOT_FOUND")
    r = env.srv.request("DELETE", f"/api/tokens/{b_id}?workspaceId={ws_b}", headers=bearer(ta))
    assert_error(r, 404, "NOT_FOUND")
    assert env.get(f"/api/tokens?workspaceId={ws_b}", headers=bearer(tb)).status == 200


def test_token_create_for_unknown_workspace(env):
    r = env.cli("token", "create", "--workspace", "no-such-ws", "--name", "ci", check=False)
    assert r.returncode != 0 and r.stdout == ""
    assert "workspace" in r.stderr
