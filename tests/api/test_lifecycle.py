"""Start-up side effects, logging and shutdown of `leadflow serve`."""
import os
import signal
import socket
import stat

import pytest

from conftest import PG, STORE_NAME, parse_log_line, pg_cluster


@pytest.mark.skipif(PG, reason="SQLite files only")
def test_database_files_are_created_0600(launcher, run_cli):
    """The database holds sealed tokens and session hashes: the file, its
    -wal and its -shm are the owner's only, whatever the umask allows."""
    old = os.umask(0o022)
    try:
        base = launcher.workdir("db-mode")
        db = os.path.join(base, "migrated.db")
        assert run_cli("migrate", "--db", f"sqlite:{db}", cwd=base).returncode == 0
        assert stat.S_IMODE(os.stat(db).st_mode) == 0o600, oct(os.stat(db).st_mode)
        db = os.path.join(base, "served.db")
        srv = launcher.start(workdir=base, db=db)
        assert srv.healthy()
        for f in (db, db + "-wal", db + "-shm"):
            assert os.path.exists(f), os.listdir(base)
            assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, (f, oct(os.stat(f).st_mode))
        assert srv.stop() == 0
    finally:
        os.umask(old)


def test_secret_key_file_created_beside_database(launcher):
    """Beside a SQLite file; on PostgreSQL (no file of its own) in the working
    directory."""
    base = launcher.workdir("keyfile")
    data = os.path.join(base, "data")
    work = os.path.join(base, "work")
    os.mkdir(data)
    os.mkdir(work)
    db = None if PG else os.path.join(data, "test.db")
    srv = launcher.start(workdir=work, db=db)
    db = srv.db_ref
    if PG:
        data = work
    key_path = os.path.join(data, "leadflow.key")
    assert os.path.isfile(key_path), os.listdir(data)
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    assert mode == 0o600, oct(mode)
    with open(key_path) as f:
        key = f.read().strip()
    assert len(key) >= 32
    assert "\n" not in key
    assert PG or not os.path.exists(os.path.join(work, "leadflow.key")), \
        "the key was written to the working directory, not beside the database"
    created = srv.logs("config.secret_created")
    assert len(created) == 1
    assert key not in srv.stderr_text, "the secret key was logged"
    assert srv.stop() == 0

    # A second start reuses the key and does not report creating one.
    srv2 = launcher.start(workdir=work, db=db)
    assert srv2.healthy()
    with open(key_path) as f:
        assert f.read().strip() == key
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert srv2.logs("config.secret_created") == []


def test_short_key_file_is_refused(run_cli, launcher):
    cwd = launcher.workdir("shortkey")
    with open(os.path.join(cwd, "leadflow.key"), "w") as f:
        f.write("tooshort\n")
    r = run_cli("serve", "--listen", "127.0.0.1:0", "--db", "sqlite:x.db", cwd=cwd)
    assert r.returncode == 1
    plain = [l for l in r.stderr.splitlines() if l.strip() and parse_log_line(l) is None]
    assert len(plain) == 1, r.stderr
    assert "leadflow.key" in plain[0]
    assert "tooshort" not in r.stderr


def test_sigterm_stops_cleanly(launcher):
    srv = launcher.start()
    assert srv.healthy()
    assert srv.stop(signal.SIGTERM) == 0
    events = [r.get("event") for r in srv.logs()]
    assert "server.stopping" in events
    assert "server.stopped" in events
    assert events.index("server.stopping") < events.index("server.stopped")
    assert events[-1] == "server.stopped"
    stopping = srv.logs("server.stopping")[0]
    assert "SIGTERM" in stopping["msg"]
    # The port is released.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_sigint_stops_cleanly(launcher):
    srv = launcher.start()
    assert srv.healthy()
    assert srv.stop(signal.SIGINT) == 0
    assert "SIGINT" in srv.logs("server.stopping")[0]["msg"]
    assert srv.logs("server.stopped")


def test_sigterm_with_open_and_stalled_connections(launcher):
    srv = launcher.start()
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    keepalive = srv.connection()
    try:
        stalled.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        assert srv.request("GET", "/healthz", conn=keepalive).status == 200
        assert srv.stop(signal.SIGTERM) == 0  # fails (after a timeout) if it hangs
        assert srv.logs("server.stopped")
    finally:
        idle.close()
        stalled.close()
        keepalive.close()


def test_every_stderr_line_is_a_json_record(launcher):
    srv = launcher.start()
    srv.get("/healthz")
    srv.get("/nope")
    srv.request("POST", "/healthz")
    srv.raw(b"garbage garbage\r\n\r\n")
    assert srv.stop() == 0
    lines = [l for l in srv.log_lines() if l.strip()]
    assert lines
    for line in lines:
        rec = parse_log_line(line)
        assert rec is not None, f"not a JSON log line: {line!r}"
        assert {"ts", "level", "event", "msg"} <= rec.keys(), rec
        assert rec["level"] in ("debug", "info", "warn", "error"), rec


def test_debug_log_level_lines_are_json(launcher):
    srv = launcher.start(env={"LEADFLOW_LOG_LEVEL": "debug"})
    srv.get("/healthz")
    srv.raw(b"garbage garbage\r\n\r\n")
    assert srv.stop() == 0
    for line in srv.log_lines():
        if line.strip():
            assert parse_log_line(line) is not None, f"not a JSON log line: {line!r}"
    assert any(r["level"] == "debug" for r in srv.logs())


def test_http_library_has_no_complaint_at_start(launcher):
    """At debug level, libmicrohttpd reports nothing about its options at start-up."""
    srv = launcher.start(env={"LEADFLOW_LOG_LEVEL": "debug"})
    before = []
    for rec in srv.logs():
        if rec.get("event") == "server.listening":
            break
        before.append(rec)
    complaints = [r for r in before if r.get("event") == "http.server"]
    assert not complaints, complaints


def test_listening_line_fields(launcher):
    srv = launcher.start()
    rec = srv.listening
    assert rec["level"] == "info"
    assert rec["host"] == "127.0.0.1"
    assert isinstance(rec["port"], int) and 0 < rec["port"] < 65536
    assert rec["database"] == STORE_NAME
    assert str(rec["port"]) in rec["msg"]


def test_fresh_database_is_migrated_at_start(launcher):
    """On PostgreSQL, as the role that owns the database (the app role may
    not change the schema: test_pg_rls.py)."""
    db = None
    if PG:
        name = pg_cluster().create_db()
        db = (name, pg_cluster().url("owner", name))
    srv = launcher.start(db=db)
    assert srv.logs("store.migrated"), "serve did not migrate a new database"
    assert PG or os.path.isfile(srv.db_path)
    assert srv.healthy()
    assert srv.stop() == 0
    # Restarting on the same database applies nothing.
    srv2 = launcher.start(workdir=srv.workdir, db=srv.db_ref)
    assert srv2.logs("store.migrated") == []
    assert srv2.healthy()


def test_missing_web_dir_still_serves_api(launcher):
    base = launcher.workdir("noweb")
    srv = launcher.start(workdir=base, web_dir=os.path.join(base, "does-not-exist"))
    warn = srv.logs("server.no_web")
    assert warn and warn[0]["level"] == "warn"
    assert srv.healthy()
    r = srv.get("/index.html")
    assert r.status == 404
    assert r.json["error"]["code"] == "NOT_FOUND"


def test_two_servers_on_separate_databases(launcher):
    a = launcher.start()
    b = launcher.start()
    assert a.port != b.port
    assert a.healthy() and b.healthy()
