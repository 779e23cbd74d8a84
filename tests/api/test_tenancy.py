"""Tenant isolation, generated from the route table (`leadflow routes`).

Two users, A and B, each with their own organization and workspace, an API
token and a browser session. A owns one of every resource a workspace route
can name. For every workspace route, B's credentials naming A's workspace, or
B's own workspace with A's resource ids, must get 404 NOT_FOUND with exactly
the error a random non-existent id gets (no existence oracle), and A's data
must not change. Every non-public route refuses requests without credentials
(401), and every write route refuses a session request without the CSRF
header (403).

A new workspace route whose {param} names a resource the RESOURCES map below
does not know fails test_every_workspace_route_param_has_a_factory (and its
own matrix cases) with a message saying what to add.
"""
import pytest

import mailutil
import tenantutil as tu
from tenantutil import (
    Creds, api, assert_error, error_of, ok, random_id, route_table, sign_in, unique_email,
)


# -- resources of A that a route pattern can name ------------------------------
#
# Keyed by the pattern text before the {param}: "/api/contacts/" covers
# /api/contacts/{id} and any /api/contacts/{id}/... sub-route. Each factory
# makes the resource in A's workspace (with A's credentials) and returns its id.


def make_contact(w):
    return tu.create_contact(w.server, w.a, name="Secret Alpha Contact",
                             company="Confidential Alpha", tags=["alpha-only"])["id"]


def make_token(w):
    r = api(w.server, "POST", "/api/tokens", w.a.session, ws=w.a.workspace_id,
            body={"name": "alpha victim token"})
    return ok(r, 201)["id"]


def make_session(w):
    """The id of a spare session of A (not workspace-scoped; used by the 401 and
    CSRF tables and the session test)."""
    r = api(w.server, "GET", "/api/auth/sessions", w.a.victim)
    current = [s["id"] for s in ok(r) if s["current"]]
    assert len(current) == 1, r.json
    return current[0]


def make_email(w):
    """An email of A, with Alpha's secrets in it, uploaded through the pipeline."""
    data = mailutil.imported(w.server, w.a, mailutil.message(
        "alpha-buyer@alpha.example", "Confidential Alpha pricing question.",
        subject="Secret Alpha subject"))
    assert data["imported"] == 1, data
    rows, _ = mailutil.emails(w.server, w.a, q="Secret Alpha")
    return rows[0]["id"]


def make_job(w):
    """A dead job of A (the API cannot make one), written to the database file."""
    key = "alpha-job-" + random_id()
    tu.db_exec(w.server, "INSERT INTO jobs (workspace_id, kind, payload, status, run_at, attempts,"
                         " max_attempts, last_error, idempotency_key, created_at, updated_at)"
                         " VALUES (?, 'alpha_secret_kind', '{\"secret\":\"alpha\"}', 'dead', ?, 5,"
                         " 5, 'Confidential Alpha failure', ?, ?, ?)",
               (w.a.workspace_id, tu.now_ms(), key, tu.now_ms(), tu.now_ms()))
    return str(tu.db_query(w.server, "SELECT id FROM jobs WHERE idempotency_key = ?", (key,))[0][0])


def make_sent_email(w):
    """An email of A queued to one of A's contacts (no provider: it stays queued)."""
    contact = tu.create_contact(w.server, w.a, name="Secret Alpha Recipient")
    r = api(w.server, "POST", "/api/emails/send", w.a.token_creds, ws=w.a.workspace_id,
            body={"contactId": contact["id"], "subject": "Secret Alpha offer",
                  "text": "Confidential Alpha terms."})
    return ok(r, 202)["id"]


def make_draft(w):
    """A draft written for one of A's contacts, with Alpha's secrets in it."""
    contact = tu.create_contact(w.server, w.a, name="Secret Alpha Lead",
                                company="Confidential Alpha")
    r = api(w.server, "POST", "/api/content/generate", w.a.token_creds, ws=w.a.workspace_id,
            body={"target": "contacts", "contactIds": [contact["id"]]})
    [draft] = ok(r, 201)["drafts"]
    return draft["id"]


def make_campaign(w):
    """An active campaign of A with one of A's contacts enrolled (held by a wait)."""
    r = api(w.server, "POST", "/api/campaigns", w.a.token_creds, ws=w.a.workspace_id,
            body={"name": "Secret Alpha Campaign"})
    cid = ok(r, 201)["id"]
    ok(api(w.server, "POST", f"/api/campaigns/{cid}/steps", w.a.token_creds,
           ws=w.a.workspace_id, body={"steps": [
               {"type": "wait", "config": {"duration_ms": 30 * 86400000}},
               {"type": "tag", "config": {"add": ["alpha-secret"]}}]}))
    ok(api(w.server, "POST", f"/api/campaigns/{cid}/activate", w.a.token_creds,
           ws=w.a.workspace_id))
    contact = tu.create_contact(w.server, w.a, name="Secret Alpha Enrollee")
    ok(api(w.server, "POST", f"/api/campaigns/{cid}/enroll", w.a.token_creds,
           ws=w.a.workspace_id, body={"contactIds": [contact["id"]]}))
    return cid


def make_alert_rule(w):
    """An alert rule of A (in_app only)."""
    r = api(w.server, "POST", "/api/alerts/rules", w.a.token_creds, ws=w.a.workspace_id,
            body={"name": "Secret Alpha alert rule", "trigger": "reply"})
    return ok(r, 201)["id"]


def make_suppression(w):
    """An address on A's suppression list, with Alpha's secret in its note."""
    r = api(w.server, "POST", "/api/suppressions", w.a.token_creds, ws=w.a.workspace_id,
            body={"email": unique_email("alpha-held"), "note": "Confidential Alpha reason"})
    return ok(r, 201)["id"]


def make_alert(w):
    """An open alert of A: a complaint rule, then a complaint through the pipeline."""
    ok(api(w.server, "POST", "/api/alerts/rules", w.a.token_creds, ws=w.a.workspace_id,
           body={"name": "Secret Alpha complaints", "trigger": "complaint"}), 201)
    mailutil.imported(w.server, w.a, mailutil.message(
        "alpha-angry@alpha.example", "This is unacceptable, I want to file a complaint: the "
        "Confidential Alpha product is broken.", subject="Secret Alpha complaint"))
    r = api(w.server, "GET", "/api/alerts", w.a.token_creds, ws=w.a.workspace_id)
    return ok(r)[0]["id"]


def make_imap_source(w):
    """An IMAP source of A (never synced: nothing listens on its port)."""
    r = api(w.server, "POST", "/api/integrations/imap", w.a.token_creds, ws=w.a.workspace_id,
            body={"host": "127.0.0.1", "port": 9, "tls": "none", "username": "secret-alpha",
                  "password": "Confidential Alpha password"})
    return ok(r, 201)["id"]


RESOURCES = {
    "/api/integrations/imap/": make_imap_source,
    "/api/alerts/rules/": make_alert_rule,
    "/api/alerts/": make_alert,
    "/api/contacts/": make_contact,
    "/api/campaigns/": make_campaign,
    "/api/content/": make_draft,
    "/api/emails/sent/": make_sent_email,
    "/api/emails/": make_email,
    "/api/tokens/": make_token,
    "/api/jobs/": make_job,
    "/api/auth/sessions/": make_session,
    "/api/suppressions/": make_suppression,
}

# Valid bodies for JSON routes, so a request that wrongly got past the tenant
# check would really act (and a handler cannot answer 400 before its lookup).
PAYLOADS = {
    ("POST", "/api/contacts"): lambda: {"email": unique_email("intruder"), "name": "Intruder"},
    ("PATCH", "/api/contacts/{id}"): lambda: {"name": "Intruder Was Here", "status": "customer",
                                              "tags": ["pwned"]},
    ("POST", "/api/tokens"): lambda: {"name": "intruder token"},
    ("POST", "/api/content/generate"): lambda: {"target": "contacts",
                                                "contactIds": [random_id()]},
    ("PATCH", "/api/content/{id}"): lambda: {"subject": "Intruder Was Here",
                                             "body": "Intruder was here."},
    ("POST", "/api/emails/send"): lambda: {"contactId": random_id(), "subject": "Intruder",
                                           "text": "Intruder was here"},
    ("POST", "/api/campaigns"): lambda: {"name": "Intruder campaign"},
    ("PATCH", "/api/campaigns/{id}"): lambda: {"name": "Intruder Was Here"},
    ("POST", "/api/campaigns/{id}/steps"): lambda: {"steps": []},
    ("POST", "/api/campaigns/{id}/enroll"): lambda: {"filter": {}},
    ("POST", "/api/campaigns/{id}/unenroll"): lambda: {"contactId": random_id()},
    ("POST", "/api/alerts/rules"): lambda: {"name": "Intruder rule", "trigger": "reply"},
    ("POST", "/api/integrations/imap"): lambda: {"host": "127.0.0.1", "port": 9, "tls": "none",
                                                 "username": "intruder", "password": "x"},
    ("PATCH", "/api/alerts/rules/{id}"): lambda: {"name": "Intruder Was Here",
                                                  "enabled": False},
    ("POST", "/api/suppressions"): lambda: {"email": unique_email("intruder"),
                                            "note": "Intruder was here"},
}


def payload(route):
    make = PAYLOADS.get((route.method, route.pattern))
    if make:
        return make()
    return {} if route.has("json") else None


# -- the route table -------------------------------------------------------------


def workspace_routes():
    return [r for r in route_table() if r.has("workspace")]


def matrix_cases(with_params_only):
    """(route, where workspaceId goes): the query string always; the JSON body too
    for routes that take one."""
    cases = []
    for r in workspace_routes():
        if with_params_only and not r.params:
            continue
        cases.append((r, "query"))
        if r.has("json"):
            cases.append((r, "body"))
    return cases


def pytest_generate_tests(metafunc):
    def param(name, values, ids):
        metafunc.parametrize(name, values, ids=ids)

    if "foreign_ws_case" in metafunc.fixturenames:
        cases = matrix_cases(with_params_only=False)
        param("foreign_ws_case", cases, [f"{r.id} ws-in-{w}" for r, w in cases])
    if "foreign_id_case" in metafunc.fixturenames:
        cases = matrix_cases(with_params_only=True)
        param("foreign_id_case", cases, [f"{r.id} ws-in-{w}" for r, w in cases])
    if "auth_route" in metafunc.fixturenames:
        routes = [r for r in route_table() if not r.public]
        param("auth_route", routes, [r.id for r in routes])
    if "write_route" in metafunc.fixturenames:
        routes = [r for r in route_table() if not r.public and r.writes]
        param("write_route", routes, [r.id for r in routes])


# -- the two tenants -------------------------------------------------------------


class World:
    def __init__(self, server):
        self.server = server
        self.a = tu.new_tenant(server, unique_email("tenant-a"))
        self.b = tu.new_tenant(server, unique_email("tenant-b"))
        self.a.spare = sign_in(server, self.a.email)  # for the CSRF table
        self.a.victim = sign_in(server, self.a.email)  # a session id B may try to revoke
        self.ids = {prefix: make(self) for prefix, make in RESOURCES.items()}
        self.before = tu.snapshot(server, self.a)
        assert self.before["contacts"] and len(self.before["tokens"]) >= 2, self.before

    def a_ids(self, route):
        """route.path() values naming A's resources; fails for an unknown {param}."""
        missing = [(n, p) for n, p in route.param_prefixes() if p not in self.ids]
        if missing:
            pytest.fail(
                f"route {route.id}: no resource factory for "
                + ", ".join(f"{{{n}}} after {p!r}" for n, p in missing)
                + " -- add one to RESOURCES in tests/api/test_tenancy.py so the cross-tenant "
                  "matrix covers this route", pytrace=False)
        return self.ids

    def assert_a_unchanged(self, what=""):
        after = tu.snapshot(self.server, self.a)
        assert after == self.before, f"A's data changed{' after ' + what if what else ''}"


@pytest.fixture(scope="module")
def world(server):
    return World(server)


def random_ids(name, prefix):
    return random_id()


# -- the route table itself --------------------------------------------------------


def test_route_table_lists_the_workspace_routes():
    ids = {r.id for r in workspace_routes()}
    for expected in ("GET /api/contacts", "POST /api/contacts", "GET /api/contacts/{id}",
                     "PATCH /api/contacts/{id}", "DELETE /api/contacts/{id}", "GET /api/tokens",
                     "POST /api/tokens", "DELETE /api/tokens/{id}"):
        assert expected in ids, f"{expected} is missing from `leadflow routes`: {sorted(ids)}"
    for r in route_table():
        assert r.public != bool(r.flags & {"auth", "workspace", "write"}), r
        if r.has("workspace"):
            assert r.has("auth"), f"{r.id}: a workspace route must require sign-in"


def test_every_workspace_route_param_has_a_factory():
    missing = sorted({f"{r.id}: {{{n}}} after {p!r}" for r in workspace_routes()
                      for n, p in r.param_prefixes() if p not in RESOURCES})
    assert not missing, ("workspace routes name resources the tenancy matrix cannot create; "
                         "add a factory to RESOURCES in tests/api/test_tenancy.py:\n  "
                         + "\n  ".join(missing))


# -- the matrix ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["token", "session"])
def test_b_naming_a_workspace_gets_404_like_a_missing_one(world, foreign_ws_case, kind):
    """(a) B's credentials, workspaceId = A's workspace, ids = A's resources."""
    route, ws_in = foreign_ws_case
    creds = world.b.creds(kind)
    path = route.path(world.a_ids(route))
    r = api(world.server, route.method, path, creds, ws=world.a.workspace_id, ws_in=ws_in,
            body=payload(route))
    got = error_of(r)
    assert got[:2] == (404, "NOT_FOUND"), f"{route.id} as B with A's workspace: {got}"
    # The same answer as for a workspace that does not exist, with A's ids or random ones.
    for ref_path in (path, route.path(random_ids)):
        ref = api(world.server, route.method, ref_path, creds, ws=random_id(), ws_in=ws_in,
                  body=payload(route))
        assert error_of(ref) == got, (f"{route.id}: A's workspace answers {got}, a missing "
                                      f"one {error_of(ref)}: an existence oracle")
    if route.writes:
        world.assert_a_unchanged(f"{route.id} by B ({kind})")


@pytest.mark.parametrize("kind", ["token", "session"])
def test_b_naming_a_resource_in_own_workspace_gets_404(world, foreign_id_case, kind):
    """(b) B's credentials, workspaceId = B's workspace, ids = A's resources."""
    route, ws_in = foreign_id_case
    creds = world.b.creds(kind)
    path = route.path(world.a_ids(route))
    r = api(world.server, route.method, path, creds, ws=world.b.workspace_id, ws_in=ws_in,
            body=payload(route))
    got = error_of(r)
    assert got[:2] == (404, "NOT_FOUND"), f"{route.id} as B naming A's resource: {got}"
    ref = api(world.server, route.method, route.path(random_ids), creds,
              ws=world.b.workspace_id, ws_in=ws_in, body=payload(route))
    assert error_of(ref) == got, (f"{route.id}: A's resource answers {got}, a missing one "
                                  f"{error_of(ref)}: an existence oracle")
    if route.writes:
        world.assert_a_unchanged(f"{route.id} by B ({kind})")


@pytest.mark.parametrize("path", ["/api/contacts", "/api/tokens"])
def test_b_token_with_a_workspace_is_404_for_any_workspace_id(world, path):
    creds = world.b.token_creds
    answers = {}
    for label, ws in [("A's", world.a.workspace_id), ("random", random_id()),
                      ("malformed", "not-a-uuid"), ("over-long", "w" * 300)]:
        answers[label] = error_of(api(world.server, "GET", path, creds, ws=ws))
    assert answers["A's"][:2] == (404, "NOT_FOUND"), answers
    assert len(set(answers.values())) == 1, answers


@pytest.mark.parametrize("method,path", [("GET", "/api/contacts"), ("GET", "/api/tokens"),
                                         ("POST", "/api/contacts")])
def test_token_is_bound_to_its_workspace_even_for_a_member(world, method, path):
    """C is a member of A's organization, but C's token belongs to C's own
    workspace: with workspaceId = A's workspace it gets the 'missing' answer."""
    c = tu.new_tenant(world.server, unique_email("tenant-c"), session=False)
    tu.add_member(world.server, c.user_id, world.a.org_id, "member")
    body = {"email": unique_email("via-c")} if method == "POST" else None
    r = api(world.server, method, path, c.token_creds, ws=world.a.workspace_id, body=body)
    got = error_of(r)
    assert got[:2] == (404, "NOT_FOUND"), got
    ref = api(world.server, method, path, c.token_creds, ws=random_id(), body=body)
    assert error_of(ref) == got
    world.assert_a_unchanged(f"{method} {path} with C's token")


def test_b_lists_only_its_own_workspace(world):
    a_contacts = {c["id"] for c in world.before["contacts"]}
    a_tokens = {t["id"] for t in world.before["tokens"]}
    tu.create_contact(world.server, world.b, name="Bravo Own")
    for kind in ("token", "session"):
        creds = world.b.creds(kind)
        seen = tu.all_contacts(world.server, world.b, creds)
        assert seen and not a_contacts & {c["id"] for c in seen}
        assert all(c["workspaceId"] == world.b.workspace_id for c in seen)
        data, meta = tu.list_contacts(world.server, world.b, creds, q="Secret Alpha")
        assert data == [] and meta["total"] == 0
        data, meta = tu.list_contacts(world.server, world.b, creds, tag="alpha-only")
        assert data == [] and meta["total"] == 0
        tokens = ok(api(world.server, "GET", "/api/tokens", creds, ws=world.b.workspace_id))
        assert not a_tokens & {t["id"] for t in tokens}
        assert all(t["workspaceId"] == world.b.workspace_id for t in tokens)


def test_me_shows_only_own_workspaces(world):
    me = ok(api(world.server, "GET", "/api/auth/me", world.b.session))
    assert [w["id"] for w in me["workspaces"]] == [world.b.workspace_id]
    assert world.a.org_id not in {o["id"] for o in me["organizations"]}
    me = ok(api(world.server, "GET", "/api/auth/me", world.b.token_creds))
    assert [w["id"] for w in me["workspaces"]] == [world.b.workspace_id]
    assert "csrfToken" not in me


def test_b_cannot_revoke_a_session(world):
    sid = world.ids["/api/auth/sessions/"]
    r = api(world.server, "DELETE", f"/api/auth/sessions/{sid}", world.b.session)
    got = error_of(r)
    assert got[:2] == (404, "NOT_FOUND"), got
    ref = api(world.server, "DELETE", f"/api/auth/sessions/{'0' * 64}", world.b.session)
    assert error_of(ref) == got
    ok(api(world.server, "GET", "/api/auth/me", world.a.victim))
    sessions = ok(api(world.server, "GET", "/api/auth/sessions", world.b.session))
    assert sid not in {s["id"] for s in sessions}


# -- no credentials, bad credentials ------------------------------------------------


BAD_CREDS = {
    "none": Creds("none"),
    "unknown-token": Creds("token", token="lf_" + "x" * 43),
    "unknown-cookie": Creds("session", cookie="not-a-session", csrf="x"),
}


@pytest.mark.parametrize("cred", list(BAD_CREDS))
def test_non_public_route_without_valid_credentials_is_401(world, auth_route, cred):
    path = auth_route.path(lambda n, p: world.ids.get(p) or random_id())
    r = api(world.server, auth_route.method, path, BAD_CREDS[cred], ws=world.a.workspace_id,
            body=payload(auth_route))
    assert_error(r, 401, "UNAUTHORIZED")
    if auth_route.writes:
        world.assert_a_unchanged(f"{auth_route.id} without credentials")


def test_non_bearer_authorization_is_401(world):
    r = api(world.server, "GET", "/api/contacts", ws=world.a.workspace_id,
            headers={"Authorization": f"Basic {world.a.token}"})
    assert_error(r, 401, "UNAUTHORIZED")


def test_revoked_token_is_401(world):
    r = api(world.server, "POST", "/api/tokens", world.b.session, ws=world.b.workspace_id,
            body={"name": "short-lived"})
    t = ok(r, 201)
    creds = Creds("token", token=t["token"])
    ok(api(world.server, "GET", "/api/contacts", creds, ws=world.b.workspace_id))
    ok(api(world.server, "DELETE", f"/api/tokens/{t['id']}", world.b.session,
           ws=world.b.workspace_id))
    assert_error(api(world.server, "GET", "/api/contacts", creds, ws=world.b.workspace_id),
                 401, "UNAUTHORIZED")


# -- CSRF ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["missing", "wrong", "other-session", "empty"])
def test_session_write_without_csrf_header_is_403(world, write_route, variant):
    spare = world.a.spare
    headers = {"wrong": {tu.CSRF_HEADER: "x" * len(spare.csrf)},
               "other-session": {tu.CSRF_HEADER: world.b.session.csrf},
               "empty": {tu.CSRF_HEADER: ""}}.get(variant, {})
    path = write_route.path(lambda n, p: world.ids.get(p) or random_id())
    r = api(world.server, write_route.method, path, spare, csrf=False, headers=headers,
            ws=world.a.workspace_id, body=payload(write_route))
    assert_error(r, 403, "FORBIDDEN", tu.CSRF_HEADER)
    world.assert_a_unchanged(f"{write_route.id} without a CSRF token")
    ok(api(world.server, "GET", "/api/auth/me", spare))  # the session still works
    ok(api(world.server, "GET", "/api/auth/me", world.a.victim))


def test_same_write_with_csrf_header_works(world):
    """The control for the CSRF table: the header is what makes the difference."""
    spare = world.a.spare
    r = api(world.server, "POST", "/api/contacts", world.b.session, ws=world.b.workspace_id,
            body={"email": unique_email("csrf-ok")})
    ok(r, 201)
    r = api(world.server, "GET", "/api/contacts", spare, ws=world.a.workspace_id, csrf=False)
    ok(r)


# -- last: nothing B did reached A -------------------------------------------------------


def test_zz_a_data_unchanged_after_everything(world):
    world.assert_a_unchanged("the whole module")
    for prefix, rid in world.ids.items():
        if prefix == "/api/contacts/":
            ok(api(world.server, "GET", f"/api/contacts/{rid}", world.a.token_creds,
                   ws=world.a.workspace_id))
    ok(api(world.server, "GET", "/api/contacts", world.a.token_creds, ws=world.a.workspace_id))
