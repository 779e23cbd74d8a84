"""CSV import and export of contacts: POST /api/contacts/import (a CSV body,
a column mapping, update or skip on a known email, a per-row report),
GET /api/contacts/export (formula-safe CSV), and `leadflow contacts
import|export`. Delimiters , ; and tab, a UTF-8 BOM, RFC 4180 quoting."""
import csv
import io
import time

import pytest

from conftest import PG
from tenantutil import api, assert_error, cli, db_query, new_tenant, ok


@pytest.fixture(scope="module")
def t(server):
    return new_tenant(server, session=True)


def imp(server, t, body, creds=None, timeout=10.0, **params):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return api(server, "POST", "/api/contacts/import", creds or t.token_creds, ws=t.workspace_id,
               params=params, raw_body=body, headers={"Content-Type": "text/csv"}, timeout=timeout)


def contact(server, t, email):
    r = ok(api(server, "GET", "/api/contacts", t.token_creds, ws=t.workspace_id,
               params={"q": email.split("@")[0]}))
    found = [c for c in r if c["email"].lower() == email.lower()]
    return found[0] if found else None


def test_import_maps_columns_and_reports_rejected_rows(server, t):
    body = ("Full Name,E-mail,Org,Role,Stage,Labels\r\n"
            "Ann Lee,ann@csv-a.example,Acme,CTO,lead,\"vip, beta\"\r\n"
            "No Mail,,Acme,,,\r\n"
            "Bad Mail,not-an-address,,,,\r\n"
            "Odd Status,odd@csv-a.example,,,ceo,\r\n"
            "\r\n"
            "Bo \"\"Quoted\"\",bo@csv-a.example,\"Multi\nLine Inc\",,,\r\n")
    r = imp(server, t, body, map="name=Full Name,email=E-mail,company=Org,jobTitle=Role,"
                                 "status=Stage,tags=Labels")
    rep = ok(r)
    assert rep["rows"] == 5 and rep["created"] == 1 and rep["rejected"] == 4, rep
    reasons = {j["row"]: j["reason"] for j in rep["rejects"]}
    assert reasons[3] == "email is empty"
    assert "not a valid email" in reasons[4]
    assert "status must be one of" in reasons[5]
    # The multi-line company is refused too (contact fields are one line).
    assert "line breaks" in reasons[7]
    ann = contact(server, t, "ann@csv-a.example")
    assert ann["name"] == "Ann Lee" and ann["company"] == "Acme" and ann["jobTitle"] == "CTO"
    assert ann["status"] == "lead" and sorted(ann["tags"]) == ["beta", "vip"]


def test_quotes_and_embedded_delimiters(server, t):
    body = 'email,name,company\n"q@csv-q.example","Smith, ""Jo""","A;B|C"\n'
    rep = ok(imp(server, t, body))
    assert rep["created"] == 1 and rep["rejected"] == 0, rep
    c = contact(server, t, "q@csv-q.example")
    assert c["name"] == 'Smith, "Jo"'


@pytest.mark.parametrize("delim,bom", [(",", False), (";", True), ("\t", False), ("\t", True)])
def test_delimiters_and_bom_are_detected(server, t, delim, bom):
    tag = {",": "comma", ";": "semi", "\t": "tab"}[delim] + ("-bom" if bom else "")
    rows = [["Email", "Name", "Company"],
            [f"{tag}@csv-d.example", f"Zoë {tag}", "Łódź, Ltd" if delim != "," else "Łódź Ltd"]]
    text = "\r\n".join(delim.join(r) for r in rows) + "\r\n"
    body = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    rep = ok(imp(server, t, body))
    assert rep["created"] == 1 and rep["rejected"] == 0, rep
    c = contact(server, t, f"{tag}@csv-d.example")
    assert c["name"] == f"Zoë {tag}" and c["company"] == rows[1][2]


def test_on_duplicate_update_or_skip(server, t):
    ok(imp(server, t, "email,name,company\ndup@csv-u.example,First,One\n"))
    rep = ok(imp(server, t, "email,name,company\nDUP@csv-u.example,Second,\n"))
    assert (rep["created"], rep["updated"], rep["skipped"]) == (0, 0, 1), rep
    assert contact(server, t, "dup@csv-u.example")["name"] == "First"
    rep = ok(imp(server, t, "email,name,company\nDUP@csv-u.example,Second,\n",
                 onDuplicate="update"))
    assert (rep["created"], rep["updated"], rep["skipped"]) == (0, 1, 0), rep
    c = contact(server, t, "dup@csv-u.example")
    # Given cells are written; an empty cell leaves the field alone; the stored case stays.
    assert c["name"] == "Second" and c["company"] == "One" and c["email"] == "dup@csv-u.example"
    # The same email twice in one file: created once, then updated (or skipped).
    rep = ok(imp(server, t, "email,name\ntwice@csv-u.example,A\ntwice@csv-u.example,B\n"))
    assert (rep["created"], rep["skipped"]) == (1, 1), rep


def test_whole_file_errors_name_the_problem(server, t):
    assert_error(imp(server, t, "name,company\nx,y\n"), 400, "VALIDATION_ERROR", "email column")
    assert_error(imp(server, t, "email\nx@y.example\n", map="email=Mail"), 400,
                 "VALIDATION_ERROR", 'column "Mail"')
    assert_error(imp(server, t, "email\n", map="phone=Tel"), 400, "VALIDATION_ERROR",
                 "unknown field")
    assert_error(imp(server, t, "email\n", onDuplicate="merge"), 400, "VALIDATION_ERROR",
                 "onDuplicate")
    assert_error(imp(server, t, b""), 400, "VALIDATION_ERROR", "empty")
    rep = ok(imp(server, t, b"email\nbad\xff@x.example\n"))
    assert rep["rejected"] == 1 and "UTF-8" in rep["rejects"][0]["reason"]


def test_import_needs_write_access_and_csrf(server, t):
    r = imp(server, t, "email\nz@csv-z.example\n", creds=t.session)
    assert ok(r)["created"] == 1
    r = api(server, "POST", "/api/contacts/import", t.session, ws=t.workspace_id, csrf=False,
            raw_body=b"email\nzz@csv-z.example\n", headers={"Content-Type": "text/csv"})
    assert r.status == 403


def test_export_is_formula_safe_csv(server, t):
    other = new_tenant(server, session=False)
    ok(imp(server, other, "email\nhidden@csv-other.example\n"))
    ok(api(server, "POST", "/api/contacts", t.token_creds, ws=t.workspace_id,
           body={"email": "formula@csv-e.example", "name": "=HYPERLINK(\"http://x\")",
                 "company": "+1 Corp", "jobTitle": "@lead", "tags": ["-x", "ok"]}), 201)
    r = api(server, "GET", "/api/contacts/export", t.token_creds, ws=t.workspace_id)
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    assert "attachment" in r.header("Content-Disposition")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"))))
    assert rows[0][:6] == ["email", "name", "company", "job_title", "status", "tags"]
    by = {row[0]: row for row in rows[1:]}
    assert "hidden@csv-other.example" not in by
    f = by["formula@csv-e.example"]
    assert f[1] == "'=HYPERLINK(\"http://x\")" and f[2] == "'+1 Corp" and f[3] == "'@lead"
    assert f[5] == "'-x, ok"
    assert by["q@csv-q.example"][1] == 'Smith, "Jo"'
    n = db_query(server, "SELECT COUNT(*) FROM contacts WHERE workspace_id = ?",
                 (t.workspace_id,))[0][0]
    assert len(rows) - 1 == n


def test_export_then_import_round_trips(server, t):
    r = api(server, "GET", "/api/contacts/export", t.token_creds, ws=t.workspace_id)
    other = new_tenant(server, session=False)
    rep = ok(imp(server, other, r.body))
    n = len(r.body.decode().strip().split("\r\n")) - 1
    # Cells starting with ' came from formula-looking values; the multi-line ones are none.
    assert rep["created"] == n and rep["rejected"] == 0, rep


def test_cli_import_and_export(server, t, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("Mail;Who\ncli1@csv-c.example;Cli One\nnope;X\n", encoding="utf-8")
    r = cli(server, "contacts", "import", str(path), "--workspace", t.workspace_id,
            "--map", "email=Mail,name=Who", check=False)
    assert r.returncode == 0, r.stderr
    assert "1 created" in r.stdout and "1 rejected" in r.stdout
    assert "row 3: email is not a valid email address" in r.stdout
    assert contact(server, t, "cli1@csv-c.example")["name"] == "Cli One"
    out = tmp_path / "out.csv"
    r = cli(server, "contacts", "export", str(out), "--workspace", t.workspace_id, check=False)
    assert r.returncode == 0, r.stderr
    assert "cli1@csv-c.example,Cli One" in out.read_text(encoding="utf-8")
    r = cli(server, "contacts", "export", "--workspace", t.workspace_id, check=False)
    assert r.returncode == 0 and "cli1@csv-c.example" in r.stdout
    r = cli(server, "contacts", "import", str(path), "--workspace", t.workspace_id,
            "--on-duplicate", "maybe", check=False)
    assert r.returncode == 2 and "--on-duplicate" in r.stderr


def test_hundred_thousand_rows(server, tmp_path):
    # PostgreSQL pays a round trip per statement: a fifth of the rows there.
    rows = 20_000 if PG else 100_000
    big = new_tenant(server, session=False)
    lines = ["email,name,company,job title,status,tags"]
    for i in range(rows):
        lines.append(f"p{i}@bulk-{i % 97}.example,Person {i},Company {i % 501},Manager,lead,"
                     f"bulk")
    body = ("\n".join(lines) + "\n").encode()
    t0 = time.monotonic()
    rep = ok(imp(server, big, body, timeout=300), 200)
    took = time.monotonic() - t0
    assert rep["created"] == rows and rep["rejected"] == 0, {k: rep[k] for k in rep
                                                                 if k != "rejects"}
    n = db_query(server, "SELECT COUNT(*) FROM contacts WHERE workspace_id = ?",
                 (big.workspace_id,))[0][0]
    assert n == rows
    print(f"\n{rows}-row CSV import: {took:.2f}s, {rows / took:.0f} rows/s")
