"""`leadflow import` and `leadflow serve --demo` as a user runs them: .eml
files, mboxes, Maildir directories, progress and summary on stderr, rejected
messages with their reasons, duplicates, usage errors; the demo organization
with hot leads at once, and imported only once."""
import os
import re
import secrets
import time

import pytest

from mailutil import mbox, message
from tenantutil import api, cli, db_query, new_tenant, ok, sign_in, unique_email, Creds

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def t(server):
    return new_tenant(server, unique_email("importer"), session=False)


def addr(prefix="p"):
    return f"{prefix}-{secrets.token_hex(3)}@acme-import.example"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def summary(stderr):
    m = re.search(r"imported (\d+), duplicates (\d+), rejected (\d+)", stderr)
    assert m, f"no summary line in:\n{stderr}"
    return tuple(int(x) for x in m.groups())


def total_emails(server, t):
    r = api(server, "GET", "/api/emails", t.token_creds, ws=t.workspace_id)
    return r.json["meta"]["total"]


def test_eml_mbox_and_maildir(server, t, tmp_path):
    eml = write(tmp_path / "one.eml", message(addr("eml"), "A single message file."))
    box = write(tmp_path / "box.mbox", mbox(*[message(addr(f"m{i}"), f"Message {i} of the mbox.")
                                            for i in range(5)]))
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    write(md / "new" / "1700000000.1.host", message(addr("new"), "Unread message."))
    write(md / "cur" / "1700000001.2.host:2,S", message(addr("cur"), "Read message."))

    r = cli(server, "import", "--workspace", t.workspace_id, eml, box, str(md))
    assert summary(r.stderr) == (8, 0, 0), r.stderr
    assert "import:" in r.stderr  # a progress line
    assert total_emails(server, t) == 8

    # Again: everything is a duplicate, nothing is stored twice.
    r = cli(server, "import", "--workspace", t.workspace_id, eml, box, str(md))
    assert summary(r.stderr) == (0, 8, 0)
    assert total_emails(server, t) == 8


def test_bad_messages_are_reported_and_the_rest_imported(server, t, tmp_path):
    good = message(addr("good"), "A good one.")
    no_from = b"Subject: nobody\n\nNo sender.\n"
    box = write(tmp_path / "mixed.mbox", mbox(good, no_from, message(addr("g2"), "Another.")))
    binary = write(tmp_path / "photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    empty = write(tmp_path / "empty.eml", b"")
    r = cli(server, "import", "--workspace", t.workspace_id, box, binary, empty, check=False)
    assert r.returncode == 0, r.stderr
    imported_, dups, rejected = summary(r.stderr)
    assert imported_ == 2 and dups == 0 and rejected == 3, r.stderr
    rej = [l for l in r.stderr.splitlines() if l.startswith("rejected ")]
    assert any("mixed.mbox#2" in l for l in rej), rej
    assert any("photo.jpg" in l for l in rej), rej
    assert any("empty.eml" in l for l in rej), rej


def test_missing_file_is_reported(server, t, tmp_path):
    good = write(tmp_path / "ok.eml", message(addr(), "Fine."))
    r = cli(server, "import", "--workspace", t.workspace_id, good, str(tmp_path / "nope.mbox"),
            check=False)
    assert "nope.mbox" in r.stderr
    assert summary(r.stderr)[0] == 1


def test_only_bad_input_fails(server, t, tmp_path):
    binary = write(tmp_path / "data.bin", bytes(range(256)) * 16)
    r = cli(server, "import", "--workspace", t.workspace_id, binary, check=False)
    assert r.returncode == 1
    assert "data.bin" in r.stderr


@pytest.mark.parametrize("args,word", [
    (["import"], "--workspace"),
    (["import", "--workspace", "x"], "FILE"),
    (["import", "some.eml"], "--workspace"),
])
def test_usage_errors(server, args, word):
    r = cli(server, *args, check=False)
    assert r.returncode == 2
    assert word in r.stderr


def test_unknown_workspace(server, tmp_path):
    f = write(tmp_path / "a.eml", message(addr(), "x"))
    r = cli(server, "import", "--workspace", "00000000-0000-4000-8000-000000000000", f,
            check=False)
    assert r.returncode == 1
    assert "no workspace" in r.stderr


def test_help(run_cli):
    r = run_cli("import", "--help")
    assert r.returncode == 0
    assert "--workspace" in r.stdout and "Maildir" in r.stdout


def test_demo_shows_hot_leads_at_once(launcher):
    wd = launcher.workdir("demo")
    env = {"LEADFLOW_DEMO_MAILBOX": os.path.join(ROOT, "data", "demo", "sample.mbox")}
    srv = launcher.start(env=env, args=["--demo"], workdir=wd)
    ws = [r[0] for r in _db(srv, "SELECT w.id FROM workspaces w JOIN organizations o"
                                 " ON o.id = w.org_id WHERE o.name LIKE 'Northwind%'")]
    assert len(ws) == 1
    creds = sign_in(srv, "demo@northwind-demo.example")
    r = api(srv, "GET", "/api/agents/contact-intelligence", creds, ws=ws[0])
    leads = ok(r)
    assert len(leads) >= 3, r.json
    for lead in leads:
        c = lead["contact"]
        assert c["score"] >= 80 and c["scoreReasons"]
        assert c["jobTitle"], c
    stats = ok(api(srv, "GET", "/api/dashboard/stats", creds, ws=ws[0]))
    assert stats["emails"]["total"] >= 200
    assert stats["emails"]["thisWeek"] > 0
    n = stats["emails"]["total"]

    # The alerts page: the demo's rules, fired by the import.
    rules = ok(api(srv, "GET", "/api/alerts/rules", creds, ws=ws[0]))
    assert len(rules) >= 2
    fired = ok(api(srv, "GET", "/api/alerts", creds, ws=ws[0], params={"pageSize": 200}))
    assert len({a["ruleId"] for a in fired}) >= 2, fired
    assert all(not a["data"].get("test") for a in fired)
    # The campaigns page: one running campaign whose enrollments are at different steps.
    [camp] = ok(api(srv, "GET", "/api/campaigns", creds, ws=ws[0]))
    assert camp["status"] == "active"
    steps = ok(api(srv, "GET", f"/api/campaigns/{camp['id']}/steps", creds, ws=ws[0]))
    waits = {s["id"] for s in steps if s["type"] == "wait"}

    def settled():
        en = ok(api(srv, "GET", f"/api/campaigns/{camp['id']}/enrollments", creds, ws=ws[0],
                    params={"pageSize": 200}))
        return en if en and all(e["status"] != "active" or e["currentStepId"] in waits
                                for e in en) else None
    deadline = time.monotonic() + 15
    while not (en := settled()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert en, "the demo enrollments did not reach their wait steps"
    at = {e["currentStepId"] for e in en if e["status"] == "active"}
    assert len(at) >= 2, en
    logs = ok(api(srv, "GET", f"/api/campaigns/{camp['id']}/logs", creds, ws=ws[0]))
    assert logs, "the demo campaign ran no step"
    srv.stop()

    # A second start reuses the organization and imports nothing again.
    srv2 = launcher.start(env=env, args=["--demo"], workdir=wd, db=srv.db_ref)
    again = [r[0] for r in _db(srv2, "SELECT COUNT(*) FROM emails")]
    assert again == [n]
    orgs = _db(srv2, "SELECT COUNT(*) FROM organizations WHERE name LIKE 'Northwind%'")
    assert orgs == [(1,)]
    assert _db(srv2, "SELECT COUNT(*) FROM drip_campaigns") == [(1,)]
    assert _db(srv2, "SELECT COUNT(*) FROM alert_rules") == [(len(rules),)]


def _db(srv, sql):
    return [tuple(r) for r in db_query(srv, sql)]


def test_hostile_messages_never_stop_an_import(server, t, tmp_path):
    """Each odd message is stored or rejected with a reason; the one after
    them all is imported."""
    big_text = ("All work and no play. " * 46).encode() + b"\n"
    huge = (b"From: Big Sender <big@acme-import.example>\nSubject: huge\n"
            b"Message-ID: <huge-" + secrets.token_hex(4).encode() + b"@x>\n"
            b"Content-Type: text/plain\n\n" + big_text * (50 * 1024 * 1024 // len(big_text)))
    deep = [b"From: Deep <deep@acme-import.example>\nSubject: deep\nMIME-Version: 1.0\n"
            b"Message-ID: <deep-" + secrets.token_hex(4).encode() + b"@x>\n"]
    for i in range(100):
        deep.append(b"Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i))
    deep.append(b"Content-Type: text/plain\n\nAt the bottom of a hundred parts.\n")
    for i in reversed(range(100)):
        deep.append(b"--b%d--\n" % i)
    eight_bit = ("From: Jürgen Groß <jg@acme-import.example>\nSubject: Grüße aus Köln\n"
                 "Message-ID: <8bit-" + secrets.token_hex(4) + "@x>\n\n"
                 "Wir möchten ein Angebot.\n").encode("utf-8")
    wrong_charset = (b"From: Wrong <wrong@acme-import.example>\nSubject: charset\n"
                     b"Message-ID: <cs-" + secrets.token_hex(4).encode() + b"@x>\n"
                     b"Content-Type: text/plain; charset=utf-8\n\nCaf\xe9 cr\xe8me, na\xefve.\n")
    no_charset = (b"From: None <none@acme-import.example>\nSubject: none\n"
                  b"Message-ID: <nc-" + secrets.token_hex(4).encode() + b"@x>\n"
                  b"Content-Type: text/plain; charset=x-unknown-42\n\nPlain words.\n")
    last = message(addr("last"), "The message after all the odd ones.", subject="last one")
    box = write(tmp_path / "hostile.mbox", mbox(huge, b"".join(deep), eight_bit, wrong_charset,
                                                no_charset, last))
    r = cli(server, "import", "--workspace", t.workspace_id, box, check=False)
    assert r.returncode == 0, r.stderr
    imported_, dups, rejected = summary(r.stderr)
    assert imported_ + rejected == 6 and imported_ >= 5, r.stderr
    rows = ok(api(server, "GET", "/api/emails", t.token_creds, ws=t.workspace_id,
                  params={"pageSize": 50}))
    by_subject = {e["subject"]: e for e in rows}
    assert "last one" in by_subject
    assert "Grüße aus Köln" in by_subject
    assert by_subject["Grüße aus Köln"]["from"]["name"] == "Jürgen Groß"
    for e in rows:  # every stored text is valid UTF-8 (the JSON decoder would fail otherwise)
        assert isinstance(e["snippet"], str)
    wrong = ok(api(server, "GET", f"/api/emails/{by_subject['charset']['id']}", t.token_creds,
                   ws=t.workspace_id))
    assert "Caf" in wrong["bodyText"] and "\ufffd" not in wrong["bodyText"][:3]
    huge_row = ok(api(server, "GET", f"/api/emails/{by_subject['huge']['id']}", t.token_creds,
                      ws=t.workspace_id))
    assert 0 < len(huge_row["bodyText"].encode()) <= 256 * 1024
