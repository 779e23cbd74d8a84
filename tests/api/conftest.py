"""Fixtures that drive the real leadflow binary.

The binary comes from $LEADFLOW_BIN (scripts/test.sh sets it). Every server
runs in its own temporary working directory with its own SQLite database and a
temporary web directory, listens on a free port (--listen 127.0.0.1:0) and is
found through its "server.listening" log line. Stopping sends SIGTERM and
checks that the process exits with status 0.

Only the standard library is used: subprocess, socket, http.client.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

START_TIMEOUT = 10.0  # seconds to wait for "server.listening"
STOP_TIMEOUT = 10.0  # seconds to wait for the exit after SIGTERM
CLI_TIMEOUT = 15.0  # seconds a CLI command may take before it counts as hung

INDEX_HTML = b"<!doctype html><title>leadflow test index</title><p>index-marker-7f3a</p>\n"
PAGE_HTML = b"<!doctype html><title>sub page</title><p>sub-page-marker</p>\n"
STYLE_CSS = b"body { color: #123456; }\n"
SECRET = b"hidden-file-marker-do-not-serve\n"
OUTSIDE = b"outside-web-dir-marker-do-not-serve\n"


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

    def __init__(self, proc, workdir, db_path, web_dir):
        self.proc = proc
        self.workdir = workdir
        self.db_path = db_path
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

    def start(self, env=None, args=None, workdir=None, db=None, web_dir=None, listen=True):
        """Starts `leadflow serve` and waits for it to listen.

        env: extra LEADFLOW_* variables; args: extra arguments; db: a path
        (default <workdir>/test.db); web_dir: default the test web directory."""
        wd = workdir or self.workdir()
        db_path = db or os.path.join(wd, "test.db")
        full_env = clean_env({"LEADFLOW_WEB_DIR": web_dir or self.web_dir})
        full_env.update(env or {})
        cmd = [self.bin, "serve", "--db", f"sqlite:{db_path}"]
        if listen:
            cmd += ["--listen", "127.0.0.1:0"]
        cmd += list(args or [])
        proc = subprocess.Popen(cmd, cwd=wd, env=full_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        srv = Server(proc, wd, db_path, web_dir or self.web_dir)
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
