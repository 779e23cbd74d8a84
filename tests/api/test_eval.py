"""leadflow eval: the configured analyzer measured on a labelled set, a JSONL
file or a folder of .eml files with a labels file; the figures, and one clear
line per bad line (with its number) and exit status 1."""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRICING = {"subject": "Pricing for 50 seats",
           "body": "Hi,\n\nCould you send me your pricing for 50 seats on the annual plan?\n\nThanks,\nMaria",
           "intents": ["pricing_inquiry"], "sentiment": "neutral", "urgency": "low"}
COMPLAINT = {"subject": "Sync broken again",
             "body": "The sync has been broken since this morning and my whole team cannot work. "
                     "This is unacceptable, we need this fixed immediately.\n\nKevin",
             "intents": ["complaint"], "sentiment": "negative", "urgency": "high"}
# The quoted history asks for a demo; the sender only thanks: general.
THANKS_REPLY = {"subject": "Re: Can we schedule a demo call?",
                "body": "Thanks, that answers it.\n\nOn Tue, Dec 1, 2026 at 10:14 AM Sam "
                        "<sam@ourteam.example> wrote:\n> Can we schedule a demo call this week? "
                        "Pricing is $49 per seat.\n",
                "intents": ["general"], "sentiment": "neutral", "urgency": "low"}


def write_jsonl(tmp_path, rows, name="set.jsonl"):
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(p)


def figure(out, name):
    m = re.search(rf"^{name}\s+([0-9.]+)\s+\((\d+)/(\d+)\)$", out, re.M)
    assert m, out
    return float(m.group(1)), int(m.group(2)), int(m.group(3))


def label_row(out, intent):
    m = re.search(rf"^{intent}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)$", out, re.M)
    assert m, out
    return m.groups()


def test_help(run_cli):
    r = run_cli("eval", "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: leadflow eval")
    assert "--labels" in r.stdout and "JSONL" in r.stdout


def test_usage_errors(run_cli, tmp_path):
    r = run_cli("eval")
    assert r.returncode == 2 and "expected one labelled set" in r.stderr
    r = run_cli("eval", "--bogus", "x.jsonl")
    assert r.returncode == 2 and "unknown option" in r.stderr
    p = write_jsonl(tmp_path, [PRICING])
    r = run_cli("eval", "--labels", "l.jsonl", p)
    assert r.returncode == 2 and "--labels goes with a folder" in r.stderr
    r = run_cli("eval", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 1 and "cannot open" in r.stderr


def test_jsonl_figures(run_cli, tmp_path):
    wrong = dict(PRICING, intents=["meeting_request"], sentiment="positive")  # mislabelled
    p = write_jsonl(tmp_path, [PRICING, COMPLAINT, THANKS_REPLY, "", wrong])
    r = run_cli("eval", p)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "emails: 4 (analyzer: offline 4)" in out
    assert figure(out, "exact intent set") == (0.75, 3, 4)
    assert figure(out, "sentiment") == (0.75, 3, 4)
    assert figure(out, "urgency") == (1.0, 4, 4)
    # pricing found twice, labelled once: precision 0.5, recall 1.
    assert label_row(out, "pricing_inquiry") == ("1", "2", "1", "0.500", "1.000")
    # meeting labelled once, never found.
    assert label_row(out, "meeting_request") == ("1", "0", "0", "-", "0.000")
    assert label_row(out, "general") == ("1", "1", "1", "1.000", "1.000")
    conf = re.search(r"^meeting_request(\s+\d+){8}$", out, re.M).group(0).split()[1:]
    assert conf == ["0", "0", "0", "0", "1", "0", "0", "0"]  # missed, pricing found instead


def test_bad_lines_are_named(run_cli, tmp_path):
    p = write_jsonl(tmp_path, [
        PRICING,
        "{not json",
        dict(PRICING, intents=["pricing"]),
        dict(PRICING, sentiment="angry"),
        {k: v for k, v in PRICING.items() if k != "urgency"},
        dict(PRICING, body=7),
        "[1, 2]",
    ])
    r = run_cli("eval", p)
    assert r.returncode == 1
    assert r.stdout == ""
    err = r.stderr.splitlines()
    assert len(err) == 6, r.stderr
    assert err[0].startswith(f"leadflow eval: {p}:2: not JSON")
    assert err[1] == (f"leadflow eval: {p}:3: intents[0] must be one of meeting_request, question, "
                      "complaint, feature_request, pricing_inquiry, general, follow_up")
    assert err[2] == f"leadflow eval: {p}:4: sentiment must be one of positive, neutral, negative"
    assert err[3] == f"leadflow eval: {p}:5: urgency must be one of low, medium, high"
    assert err[4] == f"leadflow eval: {p}:6: body must be a string"
    assert err[5] == f"leadflow eval: {p}:7: not a JSON object"


def test_empty_set(run_cli, tmp_path):
    p = write_jsonl(tmp_path, [""])
    r = run_cli("eval", p)
    assert r.returncode == 1 and "holds no labelled email" in r.stderr


def eml(subject, body, headers=""):
    return (f"From: Dana <dana@prospect.example>\nTo: sales@ourteam.example\nSubject: {subject}\n"
            f"Message-ID: <{abs(hash(subject + body))}@prospect.example>\n{headers}"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n")


def test_folder_of_eml_files(run_cli, tmp_path):
    d = tmp_path / "mail"
    d.mkdir()
    (d / "pricing.eml").write_text(eml(PRICING["subject"], PRICING["body"]))
    (d / "away.eml").write_text(eml("Out of Office: Re: pricing", "I am away until Monday. "
                                    "For urgent pricing questions call the office."))
    (d / "reply.eml").write_text(eml("AW: Demo", "Danke, passt so.\n\nVon: Sam <sam@ourteam.example>\n"
                                     "Gesendet: Dienstag, 1. Dezember 2026 10:14\nAn: Dana\n"
                                     "Betreff: Demo\n\nCan we schedule a demo call? It is urgent!"))
    labels = [{"file": "pricing.eml", "intents": ["pricing_inquiry"], "sentiment": "neutral",
               "urgency": "low"},
              {"file": "away.eml", "intents": ["general"], "sentiment": "neutral", "urgency": "low"},
              {"file": "reply.eml", "intents": ["general"], "sentiment": "neutral", "urgency": "low"}]
    write_jsonl(d, labels, "labels.jsonl")
    r = run_cli("eval", str(d))
    assert r.returncode == 0, r.stderr
    assert "emails: 3" in r.stdout
    assert figure(r.stdout, "exact intent set") == (1.0, 3, 3)
    assert figure(r.stdout, "urgency") == (1.0, 3, 3)

    # A labels file elsewhere, naming a file that is missing and one that is not mail.
    (d / "junk.eml").write_text("this is not an email\n")
    other = write_jsonl(tmp_path, labels + [
        {"file": "gone.eml", "intents": ["general"], "sentiment": "neutral", "urgency": "low"},
        {"file": "junk.eml", "intents": ["general"], "sentiment": "neutral", "urgency": "low"},
        {"file": "../x.eml", "intents": ["general"], "sentiment": "neutral", "urgency": "low"},
    ], "other.jsonl")
    r = run_cli("eval", "--labels", other, str(d))
    assert r.returncode == 1
    err = r.stderr.splitlines()
    assert err[0].startswith(f"leadflow eval: {other}:4: gone.eml: cannot open"), r.stderr
    assert err[1].startswith(f"leadflow eval: {other}:5: junk.eml: not an email message"), r.stderr
    assert err[2] == (f"leadflow eval: {other}:6: file must be the name of an .eml file in the "
                      "folder")


def test_the_project_set(run_cli):
    r = run_cli("eval", os.path.join(ROOT, "tests/data/eval/emails.jsonl"))
    assert r.returncode == 0, r.stderr
    n = sum(1 for l in open(os.path.join(ROOT, "tests/data/eval/emails.jsonl")) if l.strip())
    acc, right, total = figure(r.stdout, "exact intent set")
    assert total == n and 0 < right <= n
    for intent in ("meeting_request", "question", "complaint", "feature_request",
                   "pricing_inquiry", "general", "follow_up"):
        label_row(r.stdout, intent)
