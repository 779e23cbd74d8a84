"""IMAP inbox sources against a real Dovecot (Debian dovecot-imapd).

The module starts one Dovecot on loopback as an unprivileged process: a
dovecot.conf in a temporary directory (base_dir, state_dir and the log in
it, users in a passwd-file with {PLAIN} passwords, Maildir mail), with a
self-signed certificate made by openssl for the TLS listener (imaps) and
STARTTLS on the plain one. Dovecot refuses to run its login processes as
root ("This process must not be run as root"), so when the tests run as
root Dovecot is started as nobody/nogroup (its directory handed to that
user) and every default_*_user is that user; otherwise as the current
user. Mail is delivered with IMAP APPEND (imaplib), so files in the
Maildir always belong to the user Dovecot runs as.

leadflow is told to trust the certificate (LEADFLOW_IMAP_CA_FILE); its
sync jobs are waited for through GET /api/jobs.
"""
import imaplib
import os
import pwd
import grp
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import Launcher
from tenantutil import (
    Creds, add_member, add_user, api, assert_error, create_token, db_query, insert_token, ok,
)

SECRET = "imap-test-secret-key-0123456789abcdef01234"
JOB_WAIT = 30.0  # seconds a sync job may take on a loaded machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """A Dovecot of the test's own: users alice (and bob), ports plain and tls."""

    USERS = {"alice": "alice-pass-1", "bob": "bob-pass-2"}

    def __init__(self):
        if not shutil.which("dovecot"):
            pytest.fail("dovecot is not installed (scripts/deps.sh installs dovecot-imapd)")
        root = os.getuid() == 0
        self.run_as = pwd.getpwnam("nobody") if root else pwd.getpwuid(os.getuid())
        gid = grp.getgrnam("nogroup").gr_gid if root else os.getgid()
        group = grp.getgrgid(gid).gr_name
        self.dir = tempfile.mkdtemp(prefix="lf-dovecot-")
        os.chmod(self.dir, 0o755)
        d = self.dir
        self.cert = os.path.join(d, "cert.pem")
        key = os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", self.cert],
                       check=True, capture_output=True)
        uid = self.run_as.pw_uid
        with open(os.path.join(d, "passwd"), "w") as f:
            for user, password in self.USERS.items():
                f.write(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{d}/home/{user}\n")
        self.plain, self.tls = free_port(), free_port()
        user = self.run_as.pw_name
        conf = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
# No privilege changes: every process runs as the user that started Dovecot.
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.plain}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        if root:
            for base, dirs, files in os.walk(d):
                for name in [base] + [os.path.join(base, x) for x in dirs + files]:
                    os.chown(name, uid, gid)
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     user=uid if root else None, group=gid if root else None,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.imap("alice").logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"dovecot did not start: {self.log()}", pytrace=False)
                time.sleep(0.1)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def imap(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.plain, timeout=10)
        m.login(user, self.USERS[user])
        return m

    def deliver(self, user, folder, messages):
        m = self.imap(user)
        try:
            for raw in messages:
                typ, data = m.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            m.logout()

    def flags(self, user, folder):
        """UID -> flags of every message of folder."""
        m = self.imap(user)
        try:
            m.select(folder, readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for line in data:
                if not line:
                    continue
                text = line.decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                out[uid] = text.split("FLAGS (")[1].split(")")[0]
            return out
        finally:
            m.logout()

    def recreate(self, user, folder, messages):
        """Deletes and creates folder again (a new UIDVALIDITY), with messages."""
        m = self.imap(user)
        try:
            assert m.delete(folder)[0] == "OK"
            assert m.create(folder)[0] == "OK"
        finally:
            m.logout()
        self.deliver(user, folder, messages)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def message(n, sender="lead", subject=None):
    return (f"From: Lead {n} <{sender}{n}@prospect.example>\r\n"
            f"To: alice@sales.example\r\n"
            f"Subject: {subject or f'Pricing question {n}'}\r\n"
            f"Message-ID: <{sender}-{n}@prospect.example>\r\n"
            f"Date: Mon, 7 Dec 2026 10:{n:02d}:00 +0000\r\n"
            f"\r\nHi, what would {n} seats cost? Could we meet next week?\r\n").encode()


@pytest.fixture(scope="module")
def dovecot():
    d = Dovecot()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def server(bin_path, tmp_path_factory, web_dir, dovecot):
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start(env={"LEADFLOW_JOB_POLL_MS": "50", "LEADFLOW_SECRET_KEY": SECRET,
                        "LEADFLOW_IMAP_CA_FILE": dovecot.cert})
    yield srv
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


class Owner:
    def __init__(self, server):
        t = add_user(server)
        t.token, _ = create_token(server, t.workspace_id)
        self.t, self.server, self.ws = t, server, t.workspace_id

    def call(self, method, path, body=None, creds=None):
        return api(self.server, method, path, creds or self.t.token_creds, ws=self.ws, body=body)

    def create(self, dovecot, user="alice", status=201, **over):
        body = {"host": "127.0.0.1", "port": dovecot.plain, "tls": "starttls",
                "username": user, "password": dovecot.USERS[user]}
        body.update(over)
        r = self.call("POST", "/api/integrations/imap", body)
        return ok(r, status) if status < 300 else r

    def sync(self, sid):
        """Queues a sync and waits for its job; returns (job, source)."""
        r = ok(self.call("POST", f"/api/integrations/imap/{sid}/sync"), 202)
        assert r["sourceId"] == sid
        job = self.wait_job(r["jobId"])
        return job, ok(self.call("GET", f"/api/integrations/imap/{sid}"))

    def wait_job(self, jid):
        deadline = time.monotonic() + JOB_WAIT
        while True:
            jobs = ok(api(self.server, "GET", "/api/jobs", self.t.token_creds, ws=self.ws,
                          params={"pageSize": 200}))
            job = next((j for j in jobs if j["id"] == jid), None)
            assert job is not None, f"job {jid} is not listed"
            if job["status"] in ("done", "dead"):
                return job
            assert time.monotonic() < deadline, f"job {jid} still {job['status']}: {job}"
            time.sleep(0.1)

    def emails(self):
        return db_query(self.server, "SELECT message_id, source, contact_id FROM emails"
                                     " WHERE workspace_id = ? ORDER BY message_id", (self.ws,))

    def contact_emails(self):
        return sorted(r[0] for r in db_query(self.server, "SELECT email FROM contacts"
                                                          " WHERE workspace_id = ?", (self.ws,)))


def folder_state(src, name):
    return next(f for f in src["folders"] if f["name"] == name)


def test_sync_imports_incrementally_and_keeps_unread_mail_unread(server, dovecot):
    o = Owner(server)
    folder = "Sales1"
    m = dovecot.imap("alice")
    assert m.create(folder)[0] == "OK"
    m.logout()
    dovecot.deliver("alice", folder, [message(i, "inc") for i in range(1, 4)])
    dovecot.deliver("alice", "INBOX", [message(9, "inbox")])
    src = o.create(dovecot, folders=[folder])
    assert src["passwordSet"] is True and "password" not in src
    assert src["status"] == "new" and src["lastSyncAt"] is None
    assert src["folders"] == [{"name": folder, "uidValidity": None, "lastUid": 0}]

    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    assert job["kind"] == "imap_sync"
    assert src["status"] == "ok" and src["lastError"] is None and src["lastSyncAt"]
    assert src["lastJobId"] == job["id"]
    st = folder_state(src, folder)
    assert st["lastUid"] == 3 and st["uidValidity"] > 0
    rows = o.emails()
    assert [r[0] for r in rows] == [f"inc-{i}@prospect.example" for i in range(1, 4)]
    assert {r[1] for r in rows} == {"imap"}
    assert all(r[2] for r in rows), rows  # each linked to a contact
    assert o.contact_emails() == [f"inc{i}@prospect.example" for i in range(1, 4)]
    # Only the listed folder was read, and the sync left the mail unread.
    assert all("\\Seen" not in f for f in dovecot.flags("alice", folder).values())

    dovecot.deliver("alice", folder, [message(i, "inc") for i in (4, 5)])
    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    assert folder_state(src, folder)["lastUid"] == 5
    assert len(o.emails()) == 5
    # The second sync fetched only the two new messages.
    logs = [r for r in server.logs("imap.synced") if src["id"] in r.get("msg", "")]
    assert "2 imported, 0 duplicates" in logs[-1]["msg"], logs[-1]

    # Nothing new: nothing fetched, the point stays.
    job, src = o.sync(src["id"])
    assert job["status"] == "done"
    assert folder_state(src, folder)["lastUid"] == 5 and len(o.emails()) == 5


def test_wrong_password_fails_the_job_with_a_clear_error(server, dovecot):
    o = Owner(server)
    dovecot.deliver("bob", "INBOX", [message(1, "bobwrong")])
    src = o.create(dovecot, user="bob", password="not-bobs-password")
    job, src = o.sync(src["id"])
    assert job["status"] == "dead", job
    assert job["attempts"] == 1  # retrying cannot help
    assert "refused the login of bob" in job["lastError"]
    assert src["status"] == "error"
    assert "refused the login of bob" in src["lastError"]
    assert "password" in src["lastError"] and "not-bobs-password" not in src["lastError"]
    assert src["lastSyncAt"] is None
    assert o.emails() == []


def test_uidvalidity_change_resyncs_without_duplicates(server, dovecot):
    o = Owner(server)
    folder = "Leads2"
    m = dovecot.imap("alice")
    assert m.create(folder)[0] == "OK"
    m.logout()
    dovecot.deliver("alice", folder, [message(i, "uv") for i in (1, 2)])
    src = o.create(dovecot, folders=[folder])
    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    before = folder_state(src, folder)
    assert before["lastUid"] == 2 and len(o.emails()) == 2

    # The same two messages and a new one in a folder made again.
    dovecot.recreate("alice", folder, [message(i, "uv") for i in (1, 2, 3)])
    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    after = folder_state(src, folder)
    assert after["uidValidity"] != before["uidValidity"]
    assert after["lastUid"] == 3
    rows = o.emails()
    assert [r[0] for r in rows] == [f"uv-{i}@prospect.example" for i in (1, 2, 3)]
    logs = [r for r in server.logs("imap.synced") if src["id"] in r.get("msg", "")]
    assert "1 imported, 2 duplicates" in logs[-1]["msg"], logs[-1]
    assert "1 folders read again" in logs[-1]["msg"], logs[-1]


def test_implicit_tls_and_an_untrusted_certificate(server, dovecot, bin_path, tmp_path_factory,
                                                   web_dir):
    o = Owner(server)
    folder = "Tls3"
    m = dovecot.imap("alice")
    assert m.create(folder)[0] == "OK"
    m.logout()
    dovecot.deliver("alice", folder, [message(1, "tls")])
    src = o.create(dovecot, tls="tls", port=dovecot.tls, folders=[folder])
    assert src["tls"] == "tls" and src["port"] == dovecot.tls
    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    assert [r[0] for r in o.emails()] == ["tls-1@prospect.example"]

    # A server that does not trust the certificate refuses to log in.
    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    try:
        other = lx.start(env={"LEADFLOW_JOB_POLL_MS": "50", "LEADFLOW_SECRET_KEY": SECRET})
        o2 = Owner(other)
        src = o2.create(dovecot, tls="tls", port=dovecot.tls, folders=[folder])
        job, src = o2.sync(src["id"])
        assert job["status"] == "dead", job
        assert "certificate" in src["lastError"], src
        assert o2.emails() == []
    finally:
        failures = lx.stop_all()
    assert not failures, "\n".join(failures)


def test_missing_folder_is_named_in_the_error(server, dovecot):
    o = Owner(server)
    src = o.create(dovecot, folders=["NoSuchFolder"])
    job, src = o.sync(src["id"])
    assert job["status"] == "dead", job
    assert src["status"] == "error" and "NoSuchFolder" in src["lastError"], src


def test_create_validation_list_delete_and_roles(server, dovecot):
    o = Owner(server)
    path = "/api/integrations/imap"
    cases = [
        ({"host": None}, "host is required"),
        ({"host": "imap://x"}, "host must be"),
        ({"port": 0}, "port must be"),
        ({"tls": "ssl"}, "tls must be one of"),
        ({"host": "mail.example.com", "tls": "none"}, "loopback"),
        ({"username": ""}, "username must be"),
        ({"password": None}, "password is required"),
        ({"folders": []}, "folders must be"),
        ({"folders": ["INBOX", "INBOX"]}, "repeats"),
        ({"folders": ["Bad\"Name"]}, "folders[0]"),
    ]
    for over, words in cases:
        body = {"host": "127.0.0.1", "tls": "starttls", "username": "alice", "password": "x"}
        body.update(over)
        body = {k: v for k, v in body.items() if v is not None}
        assert_error(o.call("POST", path, body), 400, "VALIDATION_ERROR", words)

    src = o.create(dovecot, folders=["INBOX", "Archive"])
    assert src["port"] == dovecot.plain and src["username"] == "alice"
    assert [f["name"] for f in src["folders"]] == ["INBOX", "Archive"]
    assert_error(o.call("POST", path, {"host": "127.0.0.1", "port": dovecot.plain,
                                       "tls": "starttls", "username": "alice",
                                       "password": "x"}), 409, "CONFLICT")
    # Default port by TLS mode.
    tls_src = o.create(dovecot, port=None, tls="tls", username="carol")
    assert tls_src["port"] == 993
    listed = ok(o.call("GET", path))
    assert {s["id"] for s in listed} == {src["id"], tls_src["id"]}
    assert all("password" not in s and s["passwordSet"] for s in listed)
    # The password is sealed at rest, never stored in clear.
    raw = db_query(server, "SELECT password_enc FROM imap_sources WHERE id = ?", (src["id"],))
    assert dovecot.USERS["alice"].encode() not in bytes(raw[0][0])

    # Another workspace sees none of it.
    stranger = Owner(server)
    assert ok(stranger.call("GET", path)) == []
    assert_error(stranger.call("GET", f"{path}/{src['id']}"), 404, "NOT_FOUND")
    assert_error(stranger.call("POST", f"{path}/{src['id']}/sync"), 404, "NOT_FOUND")
    assert_error(stranger.call("DELETE", f"{path}/{src['id']}"), 404, "NOT_FOUND")

    # Members are not admins.
    member = add_user(server)
    add_member(server, member.user_id, o.t.org_id, "member")
    creds = Creds("token", token=insert_token(server, o.ws, member.user_id))
    assert_error(api(server, "GET", path, creds, ws=o.ws), 403, "FORBIDDEN", "admins")
    assert_error(api(server, "POST", f"{path}/{src['id']}/sync", creds, ws=o.ws), 403,
                 "FORBIDDEN")

    ok(o.call("DELETE", f"{path}/{src['id']}"))
    assert_error(o.call("GET", f"{path}/{src['id']}"), 404, "NOT_FOUND")
    assert [s["id"] for s in ok(o.call("GET", path))] == [tls_src["id"]]


def test_unreachable_server_is_retried_with_the_reason_on_the_source(server, dovecot):
    o = Owner(server)
    closed = free_port()  # nothing listens there
    src = o.create(dovecot, port=closed, tls="none")
    r = ok(o.call("POST", f"/api/integrations/imap/{src['id']}/sync"), 202)
    deadline = time.monotonic() + JOB_WAIT
    while True:
        src = ok(o.call("GET", f"/api/integrations/imap/{src['id']}"))
        if src["status"] == "error":
            break
        assert time.monotonic() < deadline, src
        time.sleep(0.1)
    assert f"127.0.0.1:{closed} cannot be reached" in src["lastError"], src
    jobs = ok(api(server, "GET", "/api/jobs", o.t.token_creds, ws=o.ws, params={"pageSize": 200}))
    job = next(j for j in jobs if j["id"] == r["jobId"])
    assert job["status"] in ("failed", "queued", "running"), job  # retried, not dead
    assert o.emails() == []


def test_an_emptied_folder_syncs_to_nothing(server, dovecot):
    o = Owner(server)
    folder = "Emptied5"
    m = dovecot.imap("alice")
    assert m.create(folder)[0] == "OK"
    m.logout()
    dovecot.deliver("alice", folder, [message(1, "gone")])
    m = dovecot.imap("alice")
    m.select(folder)
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    src = o.create(dovecot, folders=[folder])
    job, src = o.sync(src["id"])
    assert job["status"] == "done", job
    assert src["status"] == "ok"
    st = folder_state(src, folder)
    assert st["uidValidity"] and st["lastUid"] == 0
    assert o.emails() == []
