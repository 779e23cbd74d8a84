"""The command line: usage errors, version, migrate, and start-up failures that
must end with exit status 1 or 2 and one clear line on stderr (cmd/cmd.h)."""
import os
import re
import socket

import pytest

from conftest import PG, parse_log_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


def plain_lines(text):
    """stderr lines that are not JSON log records."""
    return [l for l in lines(text) if parse_log_line(l) is None]


def one_line(r):
    """The single line on stderr; fails when there are more or none."""
    ls = lines(r.stderr)
    assert len(ls) == 1, f"expected exactly one line on stderr, got {len(ls)}:\n{r.stderr}"
    return ls[0]


# -- usage ------------------------------------------------------------------


def test_no_arguments_is_usage_error(run_cli):
    r = run_cli()
    assert r.returncode == 2
    assert r.stdout == ""
    assert "usage" in r.stderr.lower()


def test_unknown_command(run_cli):
    r = run_cli("bogus")
    assert r.returncode == 2
    line = one_line(r)
    assert "bogus" in line
    assert r.stdout == ""


def test_unknown_serve_option(run_cli):
    r = run_cli("serve", "--bogus")
    assert r.returncode == 2
    line = one_line(r)
    assert "--bogus" in line
    assert r.stdout == ""


@pytest.mark.parametrize("args", [
    ["serve", "--listen"],
    ["serve", "--db"],
    ["migrate", "--db"],
])
def test_option_without_value(run_cli, args):
    r = run_cli(*args)
    assert r.returncode == 2
    line = one_line(r)
    assert args[-1] in line


@pytest.mark.parametrize("args", [
    ["serve", "stray-argument"],
    ["migrate", "--listen", "127.0.0.1:0"],  # migrate takes no --listen
    ["version", "extra"],
])
def test_unexpected_arguments(run_cli, args):
    r = run_cli(*args)
    assert r.returncode == 2
    one_line(r)


def test_version(run_cli):
    with open(os.path.join(ROOT, "VERSION")) as f:
        want = f.read().strip()
    for arg in ("version", "--version"):
        r = run_cli(arg)
        assert r.returncode == 0
        assert re.fullmatch(r"leadflow \d+\.\d+\.\d+\n", r.stdout), r.stdout
        assert r.stdout == f"leadflow {want}\n"
        assert r.stderr == ""


def test_help_lists_commands(run_cli):
    r = run_cli("--help")
    assert r.returncode == 0
    names = {l.split()[0] for l in r.stdout.splitlines() if l.startswith("  ")}
    assert {"serve", "migrate", "backup", "version"} <= names, r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("cmd", ["serve", "migrate", "backup"])
def test_command_help(run_cli, cmd):
    r = run_cli(cmd, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith(f"usage: leadflow {cmd}")
    assert "--db" in r.stdout
    assert r.stderr == ""


# -- migrate ------------------------------------------------------------------


APPLIED = re.compile(r"^sqlite:tmp/x\.db: applied (\d+) migrations?, schema version (\d+)$")


def test_migrate_then_nothing_to_apply(run_cli, launcher):
    cwd = launcher.workdir("migrate")
    os.mkdir(os.path.join(cwd, "tmp"))
    r = run_cli("migrate", "--db", "sqlite:tmp/x.db", cwd=cwd)
    assert r.returncode == 0, r.stderr
    m = APPLIED.match(r.stdout.strip())
    assert m, r.stdout
    applied, version = int(m.group(1)), int(m.group(2))
    assert applied > 0
    assert version >= applied
    assert os.path.isfile(os.path.join(cwd, "tmp", "x.db"))
    migrated = [rec for rec in map(parse_log_line, lines(r.stderr))
                if rec and rec.get("event") == "store.migrated"]
    assert len(migrated) == applied

    r = run_cli("migrate", "--db", "sqlite:tmp/x.db", cwd=cwd)
    assert r.returncode == 0, r.stderr
    m = APPLIED.match(r.stdout.strip())
    assert m, r.stdout
    assert int(m.group(1)) == 0
    assert int(m.group(2)) == version
    assert "store.migrated" not in r.stderr


def test_serve_on_migrated_database_applies_nothing(run_cli, launcher):
    cwd = launcher.workdir("migrate")
    db = None  # PostgreSQL: the launcher migrates with `leadflow migrate` as the owner
    if not PG:
        db = os.path.join(cwd, "m.db")
        assert run_cli("migrate", "--db", f"sqlite:{db}", cwd=cwd).returncode == 0
    srv = launcher.start(workdir=cwd, db=db)
    assert srv.healthy()
    assert srv.logs("store.migrated") == []


# -- database failures ------------------------------------------------------------


@pytest.mark.parametrize("cmd", ["serve", "migrate", "backup"])
def test_database_cannot_be_opened(run_cli, launcher, cmd):
    args = [cmd, "--db", "sqlite:/nonexistent-dir/x.db"]
    if cmd == "serve":
        args += ["--listen", "127.0.0.1:0"]
    if cmd == "backup":
        args.append(os.path.join(launcher.workdir("backup"), "b.db"))
    r = run_cli(*args)
    assert r.returncode == 1, r.stderr
    line = one_line(r)
    assert line.startswith("leadflow")
    assert "/nonexistent-dir/x.db" in line
    assert not os.path.exists("/nonexistent-dir")


@pytest.mark.parametrize("cmd", ["serve", "migrate", "backup"])
def test_file_is_not_a_sqlite_database(run_cli, launcher, cmd):
    cwd = launcher.workdir("notdb")
    path = os.path.join(cwd, "notes.db")
    content = b"these are my notes, not a database\n" * 10
    with open(path, "wb") as f:
        f.write(content)
    args = [cmd, "--db", f"sqlite:{path}"]
    if cmd == "serve":
        args += ["--listen", "127.0.0.1:0"]
    if cmd == "backup":
        args.append(os.path.join(cwd, "b.db"))
    r = run_cli(*args, cwd=cwd)
    assert r.returncode == 1, r.stderr
    line = one_line(r)
    assert path in line or "notes.db" in line, line
    assert "database" in line.lower()
    with open(path, "rb") as f:
        assert f.read() == content, "the non-database file was modified"
    assert not os.path.exists(os.path.join(cwd, "leadflow.key"))
    assert not os.path.exists(os.path.join(cwd, "b.db"))


# -- configuration errors ----------------------------------------------------------


@pytest.mark.parametrize("env,key,reason", [
    ({"LEADFLOW_LISTEN": "nonsense"}, "LEADFLOW_LISTEN", "ADDRESS:PORT"),
    ({"LEADFLOW_LISTEN": "127.0.0.1:99999"}, "LEADFLOW_LISTEN", "ADDRESS:PORT"),
    ({"LEADFLOW_MAX_BODY_BYTES": "abc"}, "LEADFLOW_MAX_BODY_BYTES", "whole number"),
    ({"LEADFLOW_MAX_BODY_BYTES": "10"}, "LEADFLOW_MAX_BODY_BYTES", "whole number"),
    ({"LEADFLOW_MAX_BODY_BYTES": "1k"}, "LEADFLOW_MAX_BODY_BYTES", "whole number"),
    ({"LEADFLOW_LOG_LEVEL": "verbose"}, "LEADFLOW_LOG_LEVEL", "debug, info, warn, error"),
    ({"LEADFLOW_PUBLIC_URL": "ftp://x"}, "LEADFLOW_PUBLIC_URL", "http"),
    ({"LEADFLOW_DB": "mysql://x"}, "LEADFLOW_DB", "database URL"),
    ({"LEADFLOW_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "true or false"),
])
def test_bad_config_value_from_environment(run_cli, env, key, reason):
    # No --listen: the environment value must be the one checked (and refused).
    r = run_cli("serve", env=env)
    assert r.returncode != 0
    line = one_line(r)
    assert key in line, line
    assert reason in line, line
    assert r.stdout == ""


def test_bad_listen_flag_is_usage_error(run_cli):
    r = run_cli("serve", "--listen", "nonsense", "--db", "sqlite:x.db")
    assert r.returncode == 2
    line = one_line(r)
    assert "--listen" in line and "nonsense" in line


def test_config_file_unknown_key(run_cli, launcher):
    cwd = launcher.workdir("conf")
    path = os.path.join(cwd, "my.conf")
    with open(path, "w") as f:
        f.write("[leadflow]\nlisten = 127.0.0.1:0\nno_such_key = 1\n")
    r = run_cli("serve", "--config", path, "--db", "sqlite:x.db", cwd=cwd)
    assert r.returncode != 0
    line = one_line(r)
    assert "no_such_key" in line
    assert "unknown" in line
    assert path in line or "my.conf" in line


def test_config_file_bad_value_and_bad_line(run_cli, launcher):
    cwd = launcher.workdir("conf")
    path = os.path.join(cwd, "bad.conf")
    with open(path, "w") as f:
        f.write("max_body_bytes = lots\n")
    r = run_cli("serve", "--config", path, cwd=cwd)
    assert r.returncode != 0
    line = one_line(r)
    assert "max_body_bytes" in line and "lots" in line

    with open(path, "w") as f:
        f.write("listen = 127.0.0.1:0\nthis line has no equals sign\n")
    r = run_cli("serve", "--config", path, cwd=cwd)
    assert r.returncode != 0
    line = one_line(r)
    assert "bad.conf:2" in line, line


def test_missing_config_file(run_cli):
    r = run_cli("serve", "--config", "/nonexistent-dir/leadflow.conf")
    assert r.returncode != 0
    line = one_line(r)
    assert "/nonexistent-dir/leadflow.conf" in line


def test_leadflow_conf_in_working_directory_is_read(run_cli, launcher):
    cwd = launcher.workdir("conf")
    with open(os.path.join(cwd, "leadflow.conf"), "w") as f:
        f.write("max_body_bytes = abc\n")
    r = run_cli("serve", cwd=cwd)
    assert r.returncode != 0
    assert "max_body_bytes" in one_line(r)


def test_environment_overrides_config_file(launcher):
    cwd = launcher.workdir("conf")
    with open(os.path.join(cwd, "leadflow.conf"), "w") as f:
        f.write("max_body_bytes = 1024\n")
    srv = launcher.start(workdir=cwd, env={"LEADFLOW_MAX_BODY_BYTES": "4096"})
    r = srv.request("POST", "/healthz", body=b"z" * 3000)
    assert r.status == 405, "the environment should have raised the file's limit"
    r = srv.request("POST", "/healthz", body=b"z" * 5000)
    assert r.status == 413


SECRET = "hunter2"


@pytest.mark.parametrize("env", [
    {"LEADFLOW_SMTP_URL": f"ftp://user:{SECRET}@x"},
    {"LEADFLOW_SMTP_URL": f"user:{SECRET}@mail.example.com"},
    {"LEADFLOW_SECRET_KEY": SECRET},
])
def test_secret_value_is_not_echoed(run_cli, env):
    r = run_cli("serve", "--listen", "127.0.0.1:0", env=env)
    assert r.returncode != 0
    line = one_line(r)
    assert SECRET not in r.stderr and SECRET not in r.stdout
    key = next(iter(env)).removeprefix("LEADFLOW_").lower()
    assert key in line.lower(), line


def test_secret_in_config_file_is_not_echoed(run_cli, launcher):
    cwd = launcher.workdir("conf")
    path = os.path.join(cwd, "s.conf")
    with open(path, "w") as f:
        f.write(f"smtp_url = http://user:{SECRET}@mail.example.com\n")
    r = run_cli("serve", "--config", path, "--listen", "127.0.0.1:0", cwd=cwd)
    assert r.returncode != 0
    line = one_line(r)
    assert "smtp_url" in line
    assert SECRET not in r.stderr


def test_valid_secrets_never_reach_the_log(launcher):
    secret_key = "k" * 20 + "SECRETKEYVALUE" + "k" * 10
    srv = launcher.start(env={
        "LEADFLOW_SMTP_URL": f"smtp://user:{SECRET}@127.0.0.1:2525",
        "LEADFLOW_SECRET_KEY": secret_key,
        "LEADFLOW_ANTHROPIC_API_KEY": "sk-ant-SECRETAPIKEY",
        "LEADFLOW_OIDC_CLIENT_SECRET": "SECRETCLIENT",
    })
    assert srv.healthy()
    srv.get("/metrics")
    assert srv.stop() == 0
    text = srv.stderr_text
    for s in (SECRET, "SECRETKEYVALUE", "SECRETAPIKEY", "SECRETCLIENT"):
        assert s not in text, f"{s} appears in the server log"
    # With a configured key no key file is generated (PostgreSQL: in the working directory).
    key_dir = srv.workdir if PG else os.path.dirname(srv.db_path)
    assert not os.path.exists(os.path.join(key_dir, "leadflow.key"))


# -- listening failures ----------------------------------------------------------------


def test_port_already_in_use(run_cli, launcher):
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        cwd = launcher.workdir("busy")
        r = run_cli("serve", "--listen", f"127.0.0.1:{port}", "--db", "sqlite:x.db", cwd=cwd)
    finally:
        busy.close()
    assert r.returncode == 1, r.stderr
    plain = plain_lines(r.stderr)
    assert len(plain) == 1, f"expected one plain error line:\n{r.stderr}"
    assert plain[0].startswith("leadflow")
    assert str(port) in plain[0]
    assert "in use" in plain[0]
    # The failure line is the last thing printed.
    assert lines(r.stderr)[-1] == plain[0]
    # Every other line is a JSON log record.
    for l in lines(r.stderr)[:-1]:
        assert parse_log_line(l) is not None, l


def test_listen_on_foreign_address_fails(run_cli, launcher):
    cwd = launcher.workdir("foreign")
    # 192.0.2.0/24 is TEST-NET-1: never an address of this host.
    r = run_cli("serve", "--listen", "192.0.2.1:0", "--db", "sqlite:x.db", cwd=cwd)
    assert r.returncode == 1, r.stderr
    plain = plain_lines(r.stderr)
    assert len(plain) == 1, r.stderr
    assert "192.0.2.1" in plain[0]


def test_listen_on_hostname_is_refused_clearly(run_cli, launcher):
    cwd = launcher.workdir("hostname")
    r = run_cli("serve", "--listen", "localhost:0", "--db", "sqlite:x.db", cwd=cwd)
    if r.returncode == 0:  # pragma: no cover - would mean serve returned on its own
        pytest.fail("serve exited 0 without a signal")
    assert r.returncode == 1, r.stderr
    plain = plain_lines(r.stderr)
    assert len(plain) == 1, r.stderr
    assert "localhost" in plain[0]

