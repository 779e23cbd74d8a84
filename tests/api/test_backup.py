"""leadflow backup and restore: an online copy of the SQLite database taken while the
server keeps writing (SQLite's backup API over one read snapshot), restored
into a new data directory and served again; and its refusals (an existing
file without --force, a PostgreSQL database, a file that is not a leadflow
database)."""
import os
import shutil
import sqlite3
import stat
import threading

import pytest

from tenantutil import all_contacts, api, create_contact, new_tenant, ok

SEED = 150  # contacts before the backup: a database of a few hundred pages
# Tests only (cmd/backup.c): small, slow steps, so the copy spans many writes.
SLOW_STEPS = {"LEADFLOW_TEST_BACKUP_STEP_PAGES": "4", "LEADFLOW_TEST_BACKUP_PAUSE_MS": "10"}


def fields(i):
    """The contact the writer makes as its i-th: every field says i."""
    return {"email": f"w{i}@backup.test", "name": f"Writer {i} Zq{i}x", "company": f"Co {i}",
            "jobTitle": f"Title {i}", "status": "lead", "tags": ["load", f"n{i}"]}


def index_of(email):
    assert email.startswith("w") and email.endswith("@backup.test"), email
    return int(email[1:-len("@backup.test")])


def check_complete(contacts):
    """Every contact is whole: each field is the one written with it."""
    for c in contacts:
        want = fields(index_of(c["email"]))
        got = {"email": c["email"], "name": c["name"], "company": c["company"],
               "jobTitle": c["jobTitle"], "status": c["status"], "tags": c["tags"]}
        assert got == want


class Writer(threading.Thread):
    """Creates contacts one after another through the API until stopped.
    started counts the requests sent, done the ones answered 201."""

    def __init__(self, server, tenant, first):
        super().__init__(daemon=True)
        self.server, self.tenant, self.next = server, tenant, first
        self.started = self.done = first
        self.stop = threading.Event()
        self.error = None

    def run(self):
        while not self.stop.is_set():
            self.started += 1
            r = api(self.server, "POST", "/api/contacts", self.tenant.token_creds,
                    ws=self.tenant.workspace_id, body=fields(self.next))
            if r.status != 201:
                self.error = f"POST /api/contacts {self.next}: {r.status} {r.body[:300]!r}"
                return
            self.next += 1
            self.done += 1


def test_backup_under_write_load_restores_a_consistent_snapshot(launcher, run_cli):
    srv = launcher.start()
    t = new_tenant(srv, session=False)
    for i in range(SEED):
        create_contact(srv, t, **fields(i))
    out = os.path.join(launcher.workdir("backup"), "leadflow-backup.db")

    w = Writer(srv, t, SEED)
    w.start()
    try:
        while w.done < SEED + 3 and w.is_alive():  # writes are flowing
            w.stop.wait(0.01)
        low = w.done  # answered before the backup began: in the copy
        r = run_cli("backup", "--db", srv.db_url, out, env=SLOW_STEPS, timeout=120)
        high = w.started  # sent before the backup ended: at most these
        during = w.done - low
    finally:
        w.stop.set()
        w.join(30)
    assert w.error is None, w.error
    assert r.returncode == 0, r.stderr
    assert "%" in r.stderr and "pages" in r.stderr, f"no progress on stderr: {r.stderr!r}"
    assert "leadflow.key" in r.stderr  # the key is not in the copy, and it says so
    # The server kept writing while the copy was made (the test means something).
    assert during >= 2, f"only {during} writes were answered during the backup"

    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert os.listdir(os.path.dirname(out)) == ["leadflow-backup.db"]  # no temporary left

    con = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        # One file that stands alone: rollback journal, no -wal or -shm.
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        emails = [e for (e,) in con.execute(
            "SELECT email FROM contacts WHERE workspace_id = ?", (t.workspace_id,))]
        counted = con.execute("SELECT contacts FROM workspace_counts WHERE workspace_id = ?",
                              (t.workspace_id,)).fetchone()[0]
    finally:
        con.close()
    got = sorted(index_of(e) for e in emails)
    n = len(got)
    # A snapshot of one moment: the writes are sequential, so the copy holds
    # exactly the first n, where n lies between the writes answered before
    # the backup began and those sent before it ended.
    assert got == list(range(n)), "the copy is not a prefix of the writes"
    assert low <= n <= high, (low, n, high)
    assert counted == n  # the trigger-kept counter agrees with the rows

    # Restore into a new data directory: the file, and the key beside it.
    wd = launcher.workdir("restored")
    shutil.copyfile(out, os.path.join(wd, "test.db"))
    shutil.copyfile(os.path.join(srv.workdir, "leadflow.key"), os.path.join(wd, "leadflow.key"))
    restored = launcher.start(workdir=wd)
    t.server = restored
    contacts = all_contacts(restored, t)
    assert sorted(index_of(c["email"]) for c in contacts) == list(range(n))
    check_complete(contacts)
    # The full-text index came along with the rows.
    last = fields(n - 1)["name"].split()[-1]
    found = ok(api(restored, "GET", "/api/contacts", t.token_creds, ws=t.workspace_id,
                   params={"q": last}))
    assert [c["email"] for c in found] == [fields(n - 1)["email"]]
    # And the restored server takes writes.
    create_contact(restored, t, email="after-restore@backup.test")


@pytest.fixture
def small_db(launcher, run_cli):
    """A migrated database and the server that made it, stopped."""
    srv = launcher.start()
    srv.stop()
    return srv


def test_backup_refuses_an_existing_file_unless_forced(small_db, run_cli, launcher):
    out = os.path.join(launcher.workdir("backup"), "b.db")
    with open(out, "w") as f:
        f.write("keep me")
    r = run_cli("backup", "--db", small_db.db_url, out)
    assert r.returncode == 1
    assert "exists" in r.stderr and "--force" in r.stderr, r.stderr
    assert open(out).read() == "keep me"
    r = run_cli("backup", "--force", "--db", small_db.db_url, out)
    assert r.returncode == 0, r.stderr
    assert "%" not in r.stderr  # a small database: one step, no progress lines
    con = sqlite3.connect(out)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
    finally:
        con.close()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_backup_refuses_postgres_and_foreign_files(run_cli, launcher):
    d = launcher.workdir("backup")
    out = os.path.join(d, "b.db")
    r = run_cli("backup", "--db", "postgres://leadflow@localhost/leadflow", out)
    assert r.returncode == 1
    assert "PostgreSQL" in r.stderr and "pg_dump" in r.stderr, r.stderr
    other = os.path.join(d, "other.db")
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    r = run_cli("backup", "--db", f"sqlite:{other}", out)
    assert r.returncode == 1
    assert "not a leadflow database" in r.stderr, r.stderr
    r = run_cli("backup", "--db", f"sqlite:{os.path.join(d, 'missing.db')}", out)
    assert r.returncode == 1 and "cannot open database" in r.stderr, r.stderr
    assert not os.path.exists(out)
    assert sorted(os.listdir(d)) == ["other.db"]
    r = run_cli("backup")
    assert r.returncode == 2 and "FILE" in r.stderr


def emails_of(server, t):
    return sorted(c["email"] for c in all_contacts(server, t))


def test_restore_refuses_while_the_server_runs_then_puts_the_backup_back(launcher, run_cli):
    srv = launcher.start()
    t = new_tenant(srv, session=False)
    for i in range(5):
        create_contact(srv, t, **fields(i))
    out = os.path.join(launcher.workdir("backup"), "b.db")
    assert run_cli("backup", "--db", srv.db_url, out).returncode == 0
    create_contact(srv, t, email="later@backup.test")
    mode_before = stat.S_IMODE(os.stat(srv.db_path).st_mode)

    r = run_cli("restore", "--db", srv.db_url, out)
    assert r.returncode == 1
    assert "in use" in r.stderr and "stop" in r.stderr, r.stderr
    assert "later@backup.test" in emails_of(srv, t)  # nothing was changed
    assert srv.stop() == 0

    r = run_cli("restore", "--db", srv.db_url, out)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(srv.db_path).st_mode) == mode_before
    for suffix in ("-wal", "-shm", "-journal"):
        assert not os.path.exists(srv.db_path + suffix), suffix
    again = launcher.start(workdir=srv.workdir, db=srv.db_path)
    assert emails_of(again, t) == sorted(fields(i)["email"] for i in range(5))
    assert again.stop() == 0

    # Into a new data directory: the database is made, mode 0600.
    wd = launcher.workdir("restored")
    db = os.path.join(wd, "test.db")
    r = run_cli("restore", "--db", f"sqlite:{db}", out)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert sorted(os.listdir(wd)) == ["test.db"]
    shutil.copyfile(os.path.join(srv.workdir, "leadflow.key"), os.path.join(wd, "leadflow.key"))
    fresh = launcher.start(workdir=wd)
    check_complete(all_contacts(fresh, t))
    assert len(emails_of(fresh, t)) == 5


def test_restore_refuses_what_is_not_a_backup(launcher, run_cli):
    srv = launcher.start()
    srv.stop()
    before = open(srv.db_path, "rb").read()
    d = launcher.workdir("restore")
    other = os.path.join(d, "other.db")
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    r = run_cli("restore", "--db", srv.db_url, other)
    assert r.returncode == 1 and "not a leadflow database" in r.stderr, r.stderr
    r = run_cli("restore", "--db", srv.db_url, os.path.join(d, "missing.db"))
    assert r.returncode == 1 and "missing.db" in r.stderr, r.stderr
    assert open(srv.db_path, "rb").read() == before
    r = run_cli("restore", "--db", "postgres://leadflow@localhost/leadflow", other)
    assert r.returncode == 1 and "pg_restore" in r.stderr, r.stderr
    r = run_cli("restore")
    assert r.returncode == 2 and "FILE" in r.stderr
