"""Helpers for the contacts and tenancy API tests.

A Tenant is one user with the organization and Default Workspace that
`leadflow user add` makes, plus (on request) an API token bound to that
workspace and a browser session (sign-in link -> lf_session cookie -> CSRF
token from /api/auth/me). Creds describe how a request authenticates.
The route table comes from `leadflow routes`. Setup the API cannot do (a
viewer membership, an API token for a non-owner, AI scores) is written to the
database directly while the server runs (conftest.db_connect: SQLite in WAL
mode, or PostgreSQL as the superuser).

Standard library only; the server and CLI fixtures come from conftest.py.
"""
import hashlib
import json
import re
import secrets
import subprocess
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from conftest import CLI_TIMEOUT, clean_env, db_connect, leadflow_bin

SESSION_COOKIE = "lf_session"
CSRF_HEADER = "X-CSRF-Token"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# -- command line -------------------------------------------------------------


def cli(server, *args, check=True):
    """Runs `leadflow ARGS --db <the server's database>` in the server's directory."""
    cmd = [leadflow_bin(), *args, "--db", server.db_url]
    try:
        r = subprocess.run(cmd, cwd=server.workdir, env=clean_env(), capture_output=True,
                           text=True, timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{' '.join(cmd)} did not finish within {CLI_TIMEOUT}s")
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout: {r.stdout}\n"
                             f"stderr: {r.stderr}")
    return r


# -- the route table ----------------------------------------------------------


class Route:
    """One line of `leadflow routes`: METHOD, PATTERN, FLAGS."""

    def __init__(self, method, pattern, flags):
        self.method = method
        self.pattern = pattern
        self.flags = frozenset(flags)

    @property
    def params(self):
        return re.findall(r"\{([^}]*)\}", self.pattern)

    def has(self, flag):
        return flag in self.flags

    @property
    def public(self):
        return "public" in self.flags

    @property
    def writes(self):
        return "write" in self.flags or self.method in WRITE_METHODS

    def param_prefixes(self):
        """For each {param}: (name, the pattern text before it), e.g. ("id", "/api/contacts/")."""
        out = []
        for m in re.finditer(r"\{([^}]*)\}", self.pattern):
            out.append((m.group(1), self.pattern[:m.start()]))
        return out

    def path(self, values):
        """The pattern with each {param} replaced by values[prefix] (prefix as in
        param_prefixes); values may also be a callable(name, prefix)."""
        out, last = [], 0
        for m in re.finditer(r"\{([^}]*)\}", self.pattern):
            prefix = self.pattern[:m.start()]
            v = values(m.group(1), prefix) if callable(values) else values[prefix]
            out.append(self.pattern[last:m.start()])
            out.append(str(v))
            last = m.end()
        out.append(self.pattern[last:])
        return "".join(out)

    @property
    def id(self):
        return f"{self.method} {self.pattern}"

    def __repr__(self):
        return f"<Route {self.method} {self.pattern} {','.join(sorted(self.flags))}>"


_routes_cache = None


def route_table():
    """Every route of `leadflow routes` (cached for the test session)."""
    global _routes_cache
    if _routes_cache is None:
        r = subprocess.run([leadflow_bin(), "routes"], env=clean_env(), capture_output=True,
                           text=True, timeout=CLI_TIMEOUT)
        if r.returncode != 0:
            raise AssertionError(f"leadflow routes exited {r.returncode}: {r.stderr}")
        routes = []
        for line in r.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise AssertionError(f"leadflow routes: line is not METHOD<TAB>PATTERN<TAB>FLAGS: "
                                     f"{line!r}")
            method, pattern, flags = parts
            routes.append(Route(method, pattern, [f for f in flags.split(",") if f]))
        if not routes:
            raise AssertionError("leadflow routes printed no route")
        _routes_cache = routes
    return _routes_cache


# -- credentials and requests -------------------------------------------------


class Creds:
    """How a request authenticates: an API token, a session cookie (+ CSRF), or nothing."""

    def __init__(self, kind, token=None, cookie=None, csrf=None, label=None):
        self.kind = kind  # "token" | "session" | "none"
        self.token = token
        self.cookie = cookie
        self.csrf = csrf
        self.label = label or kind

    def headers(self, csrf=True):
        if self.kind == "token":
            return {"Authorization": f"Bearer {self.token}"}
        if self.kind == "session":
            h = {"Cookie": f"{SESSION_COOKIE}={self.cookie}"}
            if csrf and self.csrf:
                h[CSRF_HEADER] = self.csrf
            return h
        return {}

    def __repr__(self):
        return f"<Creds {self.label}>"


NO_CREDS = Creds("none")


def api(server, method, path, creds=None, ws=None, params=None, body=None, csrf=True,
        ws_in="query", headers=None, raw_body=None, timeout=10.0):
    """One API request. ws goes into the query string (ws_in="query") or the JSON
    body (ws_in="body"); body is sent as JSON; raw_body as given bytes."""
    q = dict(params or {})
    if ws is not None:
        if ws_in == "query":
            q["workspaceId"] = ws
        else:
            body = dict(body or {})
            body["workspaceId"] = ws
    url = path + ("?" + urlencode(q) if q else "")
    hdrs = dict(creds.headers(csrf) if creds else {})
    hdrs.update(headers or {})
    if raw_body is not None:
        return server.request(method, url, body=raw_body, headers=hdrs, timeout=timeout)
    return server.request(method, url, json_body=body, headers=hdrs, timeout=timeout)


def ok(r, status=200):
    """The data of a success envelope; fails with the body otherwise."""
    assert r.status == status, f"expected {status}, got {r.status}: {r.body[:500]!r}"
    env = r.json
    assert env.get("success") is True, env
    return env["data"]


def error_of(r):
    """(status, code, message) of an error envelope; fails when it is not one."""
    env = r.json
    assert env.get("success") is False, f"status {r.status}, not an error envelope: {env}"
    err = env.get("error") or {}
    assert isinstance(err.get("code"), str) and isinstance(err.get("message"), str), env
    return r.status, err["code"], err["message"]


def assert_error(r, status, code, contains=None):
    got = error_of(r)
    assert got[:2] == (status, code), f"expected {status} {code}, got {got}"
    if contains is not None:
        assert contains.lower() in got[2].lower(), f"message {got[2]!r} lacks {contains!r}"
    return got[2]


def random_id():
    return str(uuid.uuid4())


# -- tenants --------------------------------------------------------------------


class Tenant:
    def __init__(self, server, email, user_id):
        self.server = server
        self.email = email
        self.user_id = user_id
        self.org_id = None
        self.workspace_id = None
        self.token = None
        self.token_id = None
        self.session = None  # Creds("session")

    @property
    def token_creds(self):
        return Creds("token", token=self.token, label=f"{self.email} token")

    def creds(self, kind):
        return self.token_creds if kind == "token" else self.session

    def __repr__(self):
        return f"<Tenant {self.email} ws={self.workspace_id}>"


def unique_email(prefix="user"):
    return f"{prefix}-{secrets.token_hex(4)}@example.test"


def add_user(server, email=None):
    """`leadflow user add`: a user with an organization and a Default Workspace."""
    email = email or unique_email()
    r = cli(server, "user", "add", email)
    m = re.search(r"\(id ([^)\s]+)\)", r.stdout)
    assert m, f"leadflow user add printed no id: {r.stdout!r}"
    t = Tenant(server, email, m.group(1))
    rows = db_query(server, "SELECT w.id, w.org_id FROM workspaces w JOIN user_organizations m"
                            " ON m.org_id = w.org_id WHERE m.user_id = ? AND m.role = 'owner'"
                            " ORDER BY w.created_at", (t.user_id,))
    assert len(rows) == 1, f"expected one workspace for {email}, got {rows}"
    t.workspace_id, t.org_id = rows[0]
    return t


def sign_in(server, email):
    """A new browser session for email: Creds("session") with cookie and CSRF token."""
    r = cli(server, "user", "login-link", email)
    url = r.stdout.strip().splitlines()[0]
    path = urlsplit(url).path
    assert path.startswith("/auth/link/"), url
    resp = server.get(path)
    assert resp.status == 302, f"sign-in link: {resp.status} {resp.body[:300]!r}"
    cookie = None
    for h in resp.header_all("Set-Cookie"):
        c = SimpleCookie()
        c.load(h)
        if SESSION_COOKIE in c and c[SESSION_COOKIE].value:
            cookie = c[SESSION_COOKIE].value
    assert cookie, f"no {SESSION_COOKIE} cookie in {resp.header_all('Set-Cookie')}"
    creds = Creds("session", cookie=cookie, label=f"{email} session")
    me = ok(api(server, "GET", "/api/auth/me", creds))
    creds.csrf = me.get("csrfToken")
    assert creds.csrf, f"/api/auth/me gave no csrfToken: {me}"
    creds.me = me
    return creds


def create_token(server, workspace_id, name="tests"):
    """`leadflow token create`: (token, token id)."""
    r = cli(server, "token", "create", "--workspace", workspace_id, "--name", name)
    token = r.stdout.strip()
    m = re.search(r"\(id ([^)\s]+)\)", r.stderr)
    assert token and m, f"token create: stdout {r.stdout!r} stderr {r.stderr!r}"
    return token, m.group(1)


def new_tenant(server, email=None, token=True, session=True):
    t = add_user(server, email)
    if token:
        t.token, t.token_id = create_token(server, t.workspace_id, name=f"{t.email} token")
    if session:
        t.session = sign_in(server, t.email)
        ws = [w["id"] for w in t.session.me["workspaces"]]
        assert ws == [t.workspace_id], f"/api/auth/me workspaces {ws} != {t.workspace_id}"
    return t


# -- direct database access -----------------------------------------------------


def _connect(server, readonly):
    return db_connect(server, readonly)


def db_query(server, sql, params=()):
    con = _connect(server, readonly=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def db_exec(server, sql, params=()):
    """One write statement in its own transaction; returns the number of changed rows."""
    con = _connect(server, readonly=False)
    try:
        cur = con.execute(sql, params)
        con.commit()
        return cur.rowcount
    finally:
        con.close()


def now_ms():
    return int(time.time() * 1000)


def add_member(server, user_id, org_id, role):
    """Adds user_id to org_id with role (owner|admin|member|viewer)."""
    db_exec(server, "INSERT INTO user_organizations (user_id, org_id, role, created_at)"
                    " VALUES (?, ?, ?, ?)", (user_id, org_id, role, now_ms()))


def insert_token(server, workspace_id, user_id, name="inserted"):
    """An API token for any user (the CLI makes them for the owner only); returns it."""
    token = "lf_" + secrets.token_urlsafe(32)
    h = hashlib.sha256(token.encode()).hexdigest()
    db_exec(server, "INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (random_id(), workspace_id, user_id, name, h, now_ms()))
    return token


def set_score(server, contact_id, score):
    n = db_exec(server, "UPDATE contacts SET ai_score = ? WHERE id = ?", (score, contact_id))
    assert n == 1, f"no contact {contact_id}"


# -- contacts -----------------------------------------------------------------


def create_contact(server, tenant, creds=None, **fields):
    fields.setdefault("email", unique_email("contact"))
    r = api(server, "POST", "/api/contacts", creds or tenant.token_creds, ws=tenant.workspace_id,
            body=fields)
    return ok(r, 201)


def list_contacts(server, tenant, creds=None, **params):
    params.setdefault("pageSize", 200)
    r = api(server, "GET", "/api/contacts", creds or tenant.token_creds, ws=tenant.workspace_id,
            params=params)
    data = ok(r)
    return data, r.json.get("meta")


def all_contacts(server, tenant, creds=None):
    """Every contact of the tenant's workspace, following pages."""
    out, page = [], 1
    while True:
        data, meta = list_contacts(server, tenant, creds, page=page, pageSize=200)
        out += data
        if len(out) >= meta["total"] or not data:
            return out
        page += 1


def snapshot(server, tenant, creds=None):
    """What the tenant's workspace holds, as its owner sees it: contacts and tokens."""
    creds = creds or tenant.session or tenant.token_creds
    contacts = sorted(all_contacts(server, tenant, creds), key=lambda c: c["id"])
    tokens = ok(api(server, "GET", "/api/tokens", creds, ws=tenant.workspace_id))
    return json.loads(json.dumps({"contacts": contacts,
                                  "tokens": sorted(tokens, key=lambda t: t["id"])}))
