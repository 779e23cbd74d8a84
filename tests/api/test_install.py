"""make install and make uninstall into a temporary root (DESTDIR): the files
and their modes, the documented configuration file (it loads, every setting
is there), the systemd unit checked by `systemd-analyze verify` and
`systemd-analyze security` offline (--root: no running systemd needed), and
an installed server that starts on the installed configuration."""
import configparser
import filecmp
import os
import re
import shutil
import stat
import subprocess
import http.client

import pytest

from conftest import leadflow_bin, parse_log_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT_SOURCES = ("/usr/lib/systemd/system", "/lib/systemd/system")
# The highest exposure `systemd-analyze security` may give the unit: 2.0 on
# its scale of 0 to 10 ("OK"); --threshold counts in tenths.
MAX_EXPOSURE = 2.0


def unit_of(prefix):
    """Where the unit goes: under the prefix when systemd looks there, else /etc."""
    if prefix in ("/usr", "/usr/local"):
        return f"{prefix}/lib/systemd/system/leadflow.service"
    return "/etc/systemd/system/leadflow.service"


def make(target, destdir, tmp_path, **vars_):
    """`make TARGET DESTDIR=...` on the binary under test, never rebuilding it."""
    binary = leadflow_bin()
    cmd = ["make", "--no-print-directory", "-C", ROOT, target, f"DESTDIR={destdir}",
           f"BUILD={tmp_path / 'build'}", f"BIN={binary}", "-o", binary]
    cmd += [f"{k}={v}" for k, v in vars_.items()]
    # Not the flags of a `make test` or `make check` this may run under.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stdout}\n{r.stderr}"
    return r


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def systemd_analyze():
    """The systemd-analyze binary, or a loud failure saying how to get it."""
    path = shutil.which("systemd-analyze")
    if not path:
        pytest.fail("systemd-analyze is missing: install the Debian package systemd "
                    "(scripts/deps.sh lists it); the unit cannot be checked without it",
                    pytrace=False)
    return path


def with_system_units(root):
    """systemd's own units (sysinit.target...) inside root, which --root needs
    to resolve the unit's default dependencies."""
    for src in UNIT_SOURCES:
        if os.path.isdir(src) and os.path.exists(os.path.join(src, "sysinit.target")):
            shutil.copytree(src, os.path.join(root, "usr/lib/systemd/system"),
                            dirs_exist_ok=True, symlinks=True)
            return
    pytest.fail(f"no systemd unit directory with sysinit.target in {UNIT_SOURCES}: "
                "install the Debian package systemd", pytrace=False)


def verify(root, unit_path):
    """`systemd-analyze verify` offline; returns (returncode, its output)."""
    r = subprocess.run([systemd_analyze(), "verify", "--man=no", "--generators=no",
                        f"--root={root}", unit_path], capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def unit_settings(path):
    """The unit's [Service] settings: name -> list of values, in order."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        k, _, v = line.partition("=")
        out.setdefault((section, k), []).append(v)
    return out


@pytest.fixture(params=["/usr/local", "/opt/leadflow"], ids=["default-prefix", "opt-prefix"])
def installed(request, tmp_path):
    prefix = request.param
    root = tmp_path / "root"
    kw = {} if prefix == "/usr/local" else {"PREFIX": prefix}
    make("install", root, tmp_path, **kw)
    return str(root), prefix, kw


def test_install_puts_files_in_place_with_their_modes(installed, tmp_path):
    root, prefix, _ = installed
    binary = f"{root}{prefix}/bin/leadflow"
    assert mode(binary) == 0o755 and filecmp.cmp(binary, leadflow_bin(), shallow=False)
    unit = root + unit_of(prefix)
    assert mode(unit) == 0o644
    conf = f"{root}/etc/leadflow/leadflow.conf"  # /etc whatever the prefix
    assert mode(conf) == 0o600  # it may hold API keys and passwords
    share = f"{root}{prefix}/share/leadflow"
    web = os.path.join(ROOT, "web")
    want = sorted(os.path.relpath(os.path.join(d, f), web)
                  for d, _, files in os.walk(web) for f in files)
    got = sorted(os.path.relpath(os.path.join(d, f), f"{share}/web")
                 for d, _, files in os.walk(f"{share}/web") for f in files)
    assert got == want
    for d, dirs, files in os.walk(share):
        assert mode(d) == 0o755, d  # readable by the service's own user
        for f in files:
            assert mode(os.path.join(d, f)) == 0o644, f
    assert filecmp.cmp(f"{share}/demo/sample.mbox",
                       os.path.join(ROOT, "data/demo/sample.mbox"), shallow=False)

    text = open(conf).read()
    assert not re.search(r"@[A-Z]+@", text)  # every placeholder filled in
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(text)
    assert dict(ini["leadflow"]) == {
        "db": "sqlite:/var/lib/leadflow/leadflow.db",
        "web_dir": f"{prefix}/share/leadflow/web",
        "demo_mailbox": f"{prefix}/share/leadflow/demo/sample.mbox",
    }
    # Every other setting is there, commented out with its default
    # (tests/unit/base/test_config.c checks them against the key table).
    documented = re.findall(r"^#([a-z_0-9]+) = ?(.*)$", text, re.M)
    keys = [k for k, _ in documented]
    assert len(keys) == len(set(keys)) and len(keys) > 50
    assert ("listen", "127.0.0.1:8080") in documented


def test_the_unit_is_hardened(installed):
    root, prefix, _ = installed
    s = unit_settings(root + unit_of(prefix))
    svc = {k: v for (sec, k), v in s.items() if sec == "[Service]"}
    assert svc["ExecStart"] == [
        f"{prefix}/bin/leadflow serve --config ${{CREDENTIALS_DIRECTORY}}/leadflow.conf"]
    assert svc["LoadCredential"] == ["leadflow.conf:/etc/leadflow/leadflow.conf"]
    want = {
        "DynamicUser": "yes", "StateDirectory": "leadflow", "ConfigurationDirectory": "leadflow",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes", "SystemCallArchitectures": "native", "UMask": "0077",
    }
    assert {k: svc.get(k, ["(unset)"])[-1] for k in want} == want
    assert svc["SystemCallFilter"][0] == "@system-service"
    assert s[("[Install]", "WantedBy")] == ["multi-user.target"]


def test_systemd_analyze_verifies_the_unit(installed):
    root, prefix, _ = installed
    with_system_units(root)
    unit = unit_of(prefix)
    rc, out = verify(root, unit)
    # verify exits 0 on mere warnings (an unknown key, a bad value): none allowed.
    assert rc == 0 and out == "", f"systemd-analyze verify:\n{out}"

    # The check is real here: a broken copy of the unit is reported...
    broken = f"{root}/etc/systemd/system/leadflow-broken.service"
    os.makedirs(os.path.dirname(broken), exist_ok=True)
    with open(f"{root}{unit}") as f, open(broken, "w") as g:
        g.write(f.read().replace("NoNewPrivileges=yes", "NoNewPrivileges=maybe\nNoSuchKey=1"))
    rc, out = verify(root, "/etc/systemd/system/leadflow-broken.service")
    assert "NoSuchKey" in out and "maybe" in out, out
    # ...and so is a missing binary.
    os.rename(f"{root}{prefix}/bin/leadflow", f"{root}/moved")
    rc, out = verify(root, unit)
    assert rc != 0 and "not executable" in out, out

    # The sandbox, scored by systemd itself.
    os.rename(f"{root}/moved", f"{root}{prefix}/bin/leadflow")
    r = subprocess.run([systemd_analyze(), "security", "--offline=yes", f"--root={root}",
                        f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager", unit],
                       capture_output=True, text=True, timeout=60)
    overall = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert overall, r.stdout + r.stderr
    assert float(overall.group(1)) <= MAX_EXPOSURE and r.returncode == 0, (f"exposure {overall.group(1)} is above {MAX_EXPOSURE}:\n"
                               f"{r.stdout}")


def test_the_installed_server_starts_on_the_installed_config(installed, tmp_path):
    root, prefix, _ = installed
    share = f"{root}{prefix}/share/leadflow"
    db = tmp_path / "data" / "leadflow.db"
    db.parent.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           # the installed paths, seen from the temporary root
           "LEADFLOW_WEB_DIR": f"{share}/web", "LEADFLOW_DB": f"sqlite:{db}"}
    proc = subprocess.Popen([f"{root}{prefix}/bin/leadflow", "serve", "--config",
                             f"{root}/etc/leadflow/leadflow.conf", "--listen", "127.0.0.1:0"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proc.stderr:
            rec = parse_log_line(line)
            if rec and rec.get("event") == "server.listening":
                port = int(rec["port"])
                break
        assert port, "the installed server did not start"
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/login.html")
        resp = c.getresponse()
        body = resp.read()
        assert resp.status == 200
        assert body == open(os.path.join(ROOT, "web/login.html"), "rb").read()
        assert (db.parent / "leadflow.key").exists()  # the key beside the database
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_uninstall_keeps_config_and_reinstall_keeps_edits(installed, tmp_path):
    root, prefix, kw = installed
    conf = f"{root}/etc/leadflow/leadflow.conf"
    with open(conf, "a") as f:
        f.write("listen = 0.0.0.0:8080\n")
    make("install", root, tmp_path, **kw)  # again: the edited file stays
    assert open(conf).read().endswith("listen = 0.0.0.0:8080\n")
    assert mode(conf + ".new") == 0o600
    make("uninstall", root, tmp_path, **kw)
    for path in (f"{prefix}/bin/leadflow", unit_of(prefix),
                 f"{prefix}/share/leadflow"):
        assert not os.path.exists(root + path), path
    assert os.path.exists(conf)
