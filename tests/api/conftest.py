"""Fixtures that drive the real leadflow binary.

The binary comes from $LEADFLOW_BIN (scripts/test.sh sets it). Every server
runs in its own temporary working directory with its own SQLite database and a
temporary web directory, listens on a free port (--listen 127.0.0.1:0) and is
found through its "server.listening" log line. Stopping sends SIGTERM and
checks that the process exits with status 0.

With LEADFLOW_TEST_PG=1 the servers run on PostgreSQL instead: each one gets a
fresh database in the throwaway cluster of $LEADFLOW_PG_DIR (scripts/pg.sh),
migrated as the owner role and served as the application role. Only the files
in PG_READY run then; the others are deselected and listed in the summary, as
not yet run on PostgreSQL. Direct database access for setup (db_connect) goes
through psycopg2 as the cluster's superuser.

Only the standard library is used (and psycopg2 on PostgreSQL): subprocess,
socket, http.client.
"""
import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

import openapicheck

START_TIMEOUT = 10.0  # seconds to wait for "server.listening"
STOP_TIMEOUT = 10.0  # seconds to wait for the exit after SIGTERM
CLI_TIMEOUT = 15.0  # seconds a CLI command may take before it counts as hung

INDEX_HTML = b"<!doctype html><title>leadflow test index</title><p>index-marker-7f3a</p>\n"
PAGE_HTML = b"<!doctype html><title>sub page</title><p>sub-page-marker</p>\n"
STYLE_CSS = b"body { color: #123456; }\n"
SECRET = b"hidden-file-marker-do-not-serve\n"
OUTSIDE = b"outside-web-dir-marker-do-not-serve\n"

# -- PostgreSQL ---------------------------------------------------------------

PG = os.environ.get("LEADFLOW_TEST_PG") == "1"
# The backend's name as the server reports it (/healthz, the listening line).
STORE_NAME = "postgres" if PG else "sqlite"
# The test files that run on PostgreSQL (LEADFLOW_TEST_PG=1). Every other file
# is not yet run there: it is deselected (never counted as passed) and named in
# the summary. Move a file here once the store ops it needs exist in pg*.c.
PG_READY = {
    "test_contact_actions.py",
    "test_contacts_csv.py",
    "test_first_run.py",
    "test_alerts.py",
    "test_alerts_mail.py",
    "test_anthropic.py",
    "test_auth_oidc.py",
    "test_auth_sessions.py",
    "test_cli.py",
    "test_campaigns.py",
    "test_contacts.py",
    "test_content.py",
    "test_crm_matrix.py",
    "test_dkim.py",
    "test_drip_crash.py",
    "test_emails.py",
    "test_export.py",
    "test_gmail.py",
    "test_http.py",
    "test_imap.py",
    "test_import_cli.py",
    "test_imports.py",
    "test_jobs.py",
    "test_lifecycle.py",
    "test_openai.py",
    "test_limits.py",
    "test_openapi.py",
    "test_pg_plans.py",
    "test_pg_rls.py",
    "test_mailed_reports.py",
    "test_sender_identity.py",
    "test_provider_events.py",
    "test_secrets.py",
    "test_send.py",
    "test_send_health.py",
    "test_send_kill.py",
    "test_send_tools.py",
    "test_send_stall.py",
    "test_slow_clients.py",
    "test_suppression.py",
    "test_tenancy.py",
    "test_track.py",
    "test_two_nodes.py",
    "test_ws.py",
}
# Single tests of PG_READY files that need ops PostgreSQL lacks yet (node id
# without parameters: reason). Deselected and listed like the files above.
PG_NOT_YET = {
}
# Files that only make sense on PostgreSQL (deselected on SQLite).
PG_ONLY = {"test_export.py", "test_pg_plans.py", "test_pg_rls.py", "test_two_nodes.py"}


class PgCluster:
    """The throwaway cluster of $LEADFLOW_PG_DIR (scripts/pg.sh start)."""

    def __init__(self, directory):
        self.dir = directory
        env = {}
        with open(os.path.join(directory, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v
        self.sock, self.port = env["PG_SOCK"], env["PG_PORT"]

    ROLES = {"admin": "leadflow_admin", "owner": "leadflow_owner", "app": "leadflow_app"}

    def url(self, role, db):
        return f"postgres://{self.ROLES[role]}@/{db}?host={self.sock}&port={self.port}"

    def connect(self, db, role="admin"):
        import psycopg2
        return psycopg2.connect(host=self.sock, port=self.port, dbname=db, user=self.ROLES[role])

    def create_db(self):
        """A new empty database owned by the owner role; returns its name."""
        name = "lf_" + secrets.token_hex(6)
        con = self.connect("postgres")
        try:
            con.autocommit = True
            con.cursor().execute(f"CREATE DATABASE {name} OWNER leadflow_owner")
        finally:
            con.close()
        return name

    def migrated_db(self, bin_path):
        """A new database migrated by `leadflow migrate` as the owner: (name, app URL)."""
        name = self.create_db()
        r = subprocess.run([bin_path, "migrate", "--db", self.url("owner", name)],
                           env=clean_env(), capture_output=True, text=True, timeout=CLI_TIMEOUT)
        if r.returncode != 0:
            pytest.fail(f"leadflow migrate as the owner failed: {r.stderr}", pytrace=False)
        return name, self.url("app", name)


_pg_cluster = None


def pg_cluster():
    global _pg_cluster
    if _pg_cluster is None:
        d = os.environ.get("LEADFLOW_PG_DIR")
        if not d or not os.path.isdir(d):
            pytest.fail("LEADFLOW_TEST_PG=1 needs a cluster: eval \"$(scripts/pg.sh start)\" "
                        "(scripts/test.sh does it)", pytrace=False)
        _pg_cluster = PgCluster(d)
    return _pg_cluster


class _PgConnection:
    """A psycopg2 connection that takes the SQLite tests' "?" placeholders."""

    def __init__(self, con):
        self.con = con

    def execute(self, sql, params=()):
        cur = self.con.cursor()
        if params:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        else:
            cur.execute(sql)
        return cur

    def commit(self):
        self.con.commit()

    def close(self):
        self.con.close()

    def __enter__(self):  # like sqlite3: commit on success, roll back on an exception
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.con.commit()
        else:
            self.con.rollback()
        return False


def db_connect(server, readonly=False):
    """A DB-API connection to the server's database (for test setup and checks):
    sqlite3 on SQLite, psycopg2 as the superuser (no Row Level Security) on
    PostgreSQL. execute(sql, params) takes "?" placeholders on both."""
    if server.pg_db:
        return _PgConnection(pg_cluster().connect(server.pg_db))
    if readonly:
        return sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True, timeout=10)
    return sqlite3.connect(server.db_path, timeout=10)


def pytest_collection_modifyitems(config, items):
    keep, skipped = [], set()
    for item in items:
        name = os.path.basename(str(item.fspath))
        test = f"{name}::{item.originalname or item.name}"
        if (PG and name not in PG_READY) or (not PG and name in PG_ONLY):
            skipped.add(name)
        elif PG and test in PG_NOT_YET:
            skipped.add(f"{test} (needs {PG_NOT_YET[test]})")
        else:
            keep.append(item)
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    config._leadflow_not_run = sorted(skipped)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    names = getattr(config, "_leadflow_not_run", [])
    if PG and names:
        terminalreporter.write_line(f"not yet run on PostgreSQL ({len(names)}): "
                                    + ", ".join(names))


@pytest.fixture(autouse=True)
def openapi_conformance():
    """Fails a test when a reply it received contradicts docs/openapi.yaml."""
    openapicheck.reset()
    yield
    problems = openapicheck.check_recorded()
    if problems:
        pytest.fail("replies that contradict docs/openapi.yaml:\n" + "\n".join(problems),
                    pytrace=False)


def leadflow_bin():
    path = os.environ.get("LEADFLOW_BIN")
    if not path:
        pytest.fail("LEADFLOW_BIN is not set: run as LEADFLOW_BIN=/abs/path/build/leadflow "
                    "python3 -m pytest tests/api", pytrace=False)
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"LEADFLOW_BIN={path} is not an executable file (run make first)",
                    pytrace=False)
    return path


def clean_env(extra=None):
    """The environment without any LEADFLOW_* variable of the caller, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    env.update(extra or {})
    return env


def parse_log_line(line):
    """A JSON log line as a dict, or None for a line that is not a JSON object."""
    try:
        v = json.loads(line)
    except ValueError:
        return None
    return v if isinstance(v, dict) else None


class Response:
    """What a request got back: status, headers (case-insensitive), body bytes."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AssertionError(
                f"body is not JSON ({exc}); status {self.status}, body {self.body[:300]!r}")

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __iter__(self):  # status, headers, body = resp
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:120]!r}>"


class Server:
    """A running `leadflow serve`; see start_server()."""

    def __init__(self, proc, workdir, db_path, web_dir, db_url=None, pg_db=None):
        self.proc = proc
        self.workdir = workdir
        self.db_path = db_path  # SQLite: the file; PostgreSQL: None
        self.db_url = db_url or f"sqlite:{db_path}"  # what --db the CLI takes for this server
        self.pg_db = pg_db  # PostgreSQL: the database's name
        # What Launcher.start(db=...) takes to serve the same database again.
        self.db_ref = (pg_db, db_url) if pg_db else db_path
        self.web_dir = web_dir
        self.port = None
        self.base_url = None
        self.returncode = None
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    # -- log capture -------------------------------------------------------

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def stderr_text(self):
        with self._cond:
            return "\n".join(self._lines)

    def log_lines(self):
        """The raw stderr lines so far."""
        with self._cond:
            return list(self._lines)

    def logs(self, event=None):
        """The JSON log records so far, optionally only those of one event."""
        out = []
        for line in self.log_lines():
            rec = parse_log_line(line)
            if rec is not None and (event is None or rec.get("event") == event):
                out.append(rec)
        return out

    def wait_for_log(self, pred, timeout=5.0, what="a log line"):
        """Waits until a JSON record satisfies pred; returns it or fails with the log."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = 0
            while True:
                for line in self._lines[seen:]:
                    rec = parse_log_line(line)
                    if rec is not None and pred(rec):
                        return rec
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._cond.wait(left)
        pytest.fail(f"timed out waiting for {what}; server stderr:\n{self.stderr_text}",
                    pytrace=False)

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        with self._cond:
            seen = 0
            while True:
                for line in self._lines[seen:]:
                    rec = parse_log_line(line)
                    if rec is not None and rec.get("event") == "server.listening":
                        return rec
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        reason = "exited" if self.proc.poll() is not None else "did not log server.listening"
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)
        pytest.fail(f"leadflow serve {reason} (exit status {self.proc.returncode}) within "
                    f"{START_TIMEOUT}s; stderr:\n{self.stderr_text}", pytrace=False)

    # -- HTTP --------------------------------------------------------------

    def connection(self, timeout=10.0):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, json_body=None, timeout=10.0,
                conn=None):
        """Sends one request; returns a Response (status, headers, body bytes)."""
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            openapicheck.record(method, path, r.status, r.headers, data)
            return Response(r.status, r.reason, r.headers, data)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def raw(self, data, timeout=5.0):
        """Sends raw bytes, then reads until the server closes or timeout.

        Returns (bytes received, how it ended: "closed", "reset" or "timeout")."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_until_close(s)
        finally:
            s.close()

    def healthy(self):
        r = self.get("/healthz")
        return r.status == 200 and r.json.get("data", {}).get("status") == "ok"

    # -- lifecycle ---------------------------------------------------------

    def stop(self, sig=signal.SIGTERM):
        """Sends sig and waits; returns the exit status."""
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._reader.join(2)
            pytest.fail(f"leadflow serve did not exit within {STOP_TIMEOUT}s of signal {sig}; "
                        f"stderr:\n{self.stderr_text}", pytrace=False)
        self._reader.join(5)
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(2)


def read_until_close(s):
    """Reads a socket until EOF; returns (data, "closed" | "reset" | "timeout")."""
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return out, "timeout"
        except ConnectionResetError:
            return out, "reset"
        if not d:
            return out, "closed"
        out += d


def make_web_dir(base):
    """A web directory with the files the static tests need, and a file outside it."""
    web = os.path.join(base, "web")
    os.makedirs(os.path.join(web, "sub"), exist_ok=True)
    os.makedirs(os.path.join(web, ".git"), exist_ok=True)
    files = {
        "index.html": INDEX_HTML,
        "style.css": STYLE_CSS,
        "sub/page.html": PAGE_HTML,
        ".secret": SECRET,
        ".git/config": SECRET,
    }
    for rel, data in files.items():
        with open(os.path.join(web, rel), "wb") as f:
            f.write(data)
    with open(os.path.join(base, "outside.txt"), "wb") as f:
        f.write(OUTSIDE)
    # A symlink that points out of the web directory must not be followed.
    link = os.path.join(web, "escape.txt")
    if not os.path.lexists(link):
        os.symlink(os.path.join(base, "outside.txt"), link)
    return web


@pytest.fixture(scope="session")
def bin_path():
    return leadflow_bin()


@pytest.fixture(scope="session")
def web_dir(tmp_path_factory):
    return make_web_dir(str(tmp_path_factory.mktemp("webroot")))


class Launcher:
    """Starts servers and CLI commands; stops every server it started."""

    def __init__(self, bin_path, tmp_factory, web_dir):
        self.bin = bin_path
        self.tmp_factory = tmp_factory
        self.web_dir = web_dir
        self.servers = []

    def workdir(self, name="lf"):
        return str(self.tmp_factory.mktemp(name))

    def start(self, env=None, args=None, workdir=None, db=None, web_dir=None, listen=True,
              stdout_path=None):
        """Starts `leadflow serve` and waits for it to listen.

        env: extra LEADFLOW_* variables; args: extra arguments; db: a path
        (default <workdir>/test.db), or another server's db_ref; web_dir:
        default the test web directory; stdout_path: a file that receives
        the server's standard output (default: discarded)."""
        wd = workdir or self.workdir()
        pg_db = db_url = None
        if PG:
            # A fresh database per server (or the one a previous server of the test used).
            if db is not None and not isinstance(db, tuple):
                pytest.fail("on PostgreSQL, start(db=...) takes a server's db_ref", pytrace=False)
            pg_db, db_url = db or pg_cluster().migrated_db(self.bin)
            db_path = None
        else:
            db_path = db or os.path.join(wd, "test.db")
            db_url = f"sqlite:{db_path}"
        full_env = clean_env({"LEADFLOW_WEB_DIR": web_dir or self.web_dir})
        full_env.update(env or {})
        cmd = [self.bin, "serve", "--db", db_url]
        if listen:
            cmd += ["--listen", "127.0.0.1:0"]
        cmd += list(args or [])
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(cmd, cwd=wd, env=full_env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.PIPE)
        finally:
            if stdout_path:
                out.close()
        srv = Server(proc, wd, db_path, web_dir or self.web_dir, db_url=db_url, pg_db=pg_db)
        self.servers.append(srv)
        rec = srv._wait_listening()
        srv.listening = rec
        srv.port = int(rec["port"])
        srv.base_url = f"http://127.0.0.1:{srv.port}"
        return srv

    def run(self, *args, env=None, cwd=None, timeout=CLI_TIMEOUT, stdin=None):
        """Runs `leadflow ARGS`; returns a CompletedProcess (returncode, stdout, stderr)."""
        wd = cwd or self.workdir("cli")
        try:
            return subprocess.run([self.bin, *args], cwd=wd, env=clean_env(env),
                                  input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"leadflow {' '.join(args)} did not finish within {timeout}s "
                        f"(stderr: {exc.stderr!r})", pytrace=False)

    def stop_all(self):
        failures = []
        for srv in self.servers:
            if srv.returncode is not None or srv.port is None:  # stopped by the test, or never started
                continue
            rc = srv.stop()
            if rc != 0:
                failures.append(f"server on port {srv.port} exited with {rc}; stderr:\n"
                                f"{srv.stderr_text}")
        self.servers = []
        return failures


@pytest.fixture
def launcher(bin_path, tmp_path_factory, web_dir):
    """Function scope: servers started through it are stopped (SIGTERM, exit 0) after the test."""
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    yield lx
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


@pytest.fixture
def run_cli(launcher):
    """run_cli(*args, env=None, cwd=None) -> CompletedProcess."""
    return launcher.run


@pytest.fixture(scope="module")
def server(bin_path, tmp_path_factory, web_dir):
    """One server shared by the tests of a module; stopped with SIGTERM, exit 0 asserted."""
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start()
    yield srv
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)
