#!/usr/bin/env python3
"""Measures reply separation (src/mail/reply_text.c) on a labelled set.

usage: scripts/reply-eval.py SET.jsonl [SET.jsonl ...] [--show N] [--bin PATH]

Each line of a set is a JSON object with id, subject, body, html (body is
HTML when true) and reply_text, the expected new text. Every line becomes an
.eml (text/plain or text/html, UTF-8, quoted-printable) in a temporary
directory; `leadflow analyze` reads them all and its reply_text is compared
with the expected one after whitespace normalisation (runs of blanks and line
breaks count as one space).

exact:    the normalised texts are equal.
tolerant: nothing beyond the expected text is kept (the result is contained
          in the expected text, so no quoted history or signature leaks in),
          and the expected text without its last line is contained in the
          result (a missed name or sign-off line is tolerated).
--show N lists up to N misses (exact) with what was expected and what came.
"""
import argparse
import email.charset
import email.message
import json
import os
import re
import subprocess
import sys
import tempfile

BATCH = 200  # files per analyze run


def norm(s):
    return re.sub(r"\s+", " ", s or "").strip()


def without_last_line(s):
    lines = [x for x in (s or "").strip().split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[:-1])


def make_eml(row):
    msg = email.message.EmailMessage()
    msg["From"] = "Sender <sender@example.test>"
    msg["To"] = "Sales <sales@example.test>"
    msg["Subject"] = row.get("subject") or "(no subject)"
    msg["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    msg["Message-ID"] = "<%s@example.test>" % row.get("id", "x")
    subtype = "html" if row.get("html") else "plain"
    msg.set_content(row.get("body") or "", subtype=subtype, charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()


def load(paths):
    rows = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    return rows


def analyze(binary, files):
    out = {}
    for i in range(0, len(files), BATCH):
        chunk = files[i : i + BATCH]
        r = subprocess.run(
            [binary, "analyze"] + chunk,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, LEADFLOW_AI_PROVIDER="offline"),
        )
        lines = r.stdout.decode("utf-8", "replace").splitlines()
        if len(lines) != len(chunk):
            sys.stderr.write(r.stderr.decode("utf-8", "replace"))
            sys.exit("reply-eval: analyze printed %d lines for %d files" % (len(lines), len(chunk)))
        for path, line in zip(chunk, lines):
            out[path] = json.loads(line).get("reply_text", "")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--show", type=int, default=0, help="list up to N misses")
    ap.add_argument("--bin", default=os.environ.get("LEADFLOW_BIN", "build/leadflow"))
    a = ap.parse_args()
    rows = load(a.sets)
    if not rows:
        sys.exit("reply-eval: no emails in %s" % " ".join(a.sets))
    with tempfile.TemporaryDirectory(prefix="reply-eval-") as d:
        files = []
        for k, row in enumerate(rows):
            path = os.path.join(d, "%05d.eml" % k)
            with open(path, "wb") as f:
                f.write(make_eml(row))
            files.append(path)
        got = analyze(a.bin, files)
    exact = tolerant = 0
    misses = []
    for path, row in zip(files, rows):
        want, have = row.get("reply_text") or "", got[path]
        nw, nh = norm(want), norm(have)
        if nw == nh:
            exact += 1
            tolerant += 1
            continue
        ok = nh in nw and norm(without_last_line(want)) in nh
        tolerant += ok
        misses.append((row.get("id", "?"), ok, want, have))
    n = len(rows)
    print("emails: %d" % n)
    print("exact: %d (%.1f%%)" % (exact, 100.0 * exact / n))
    print("tolerant: %d (%.1f%%)" % (tolerant, 100.0 * tolerant / n))
    for rid, ok, want, have in misses[: a.show]:
        print("\n--- %s%s" % (rid, " (tolerant)" if ok else ""))
        print("want: %s" % json.dumps(want, ensure_ascii=False))
        print("got:  %s" % json.dumps(have, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
