"""DKIM signatures on SMTP mail (RFC 6376; ed25519-sha256 per RFC 8463),
checked independently: Debian's python3-dkim verifies what the aiosmtpd sink
received, with a DNS lookup that answers the record `leadflow dkim-record`
prints for the same key. rsa-sha256 and ed25519-sha256 keys are made here
with openssl.

Also: a body changed after signing fails verification (the check can fail),
mail sent without a key carries no signature, and a key file that cannot be
used (unreadable, not a key, an unsupported type, open to others) stops the
server at start with a message that says why.
"""
import email
import email.policy
import os
import re
import subprocess
import sys

import pytest

import tenantutil as tu

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.smtp_sink import SmtpSink  # noqa: E402
from test_send import send, setup_tenant, wait_status  # noqa: E402

dkim = pytest.importorskip("dkim", reason="needs Debian's python3-dkim (scripts/deps.sh)")

FROM = "Acme Sales <sales@acme.example>"
SELECTOR = "lf2026"


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def make_key(directory, kind):
    path = os.path.join(directory, f"{kind}.pem")
    args = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ed25519": ["-algorithm", "ED25519"]}[kind]
    subprocess.run(["openssl", "genpkey", *args, "-out", path], check=True,
                   capture_output=True)
    os.chmod(path, 0o600)
    return path


def dkim_env(sink, key=None, **extra):
    env = {"LEADFLOW_MAIL_FROM": FROM, "LEADFLOW_SEND_TIMEOUT_MS": "2000",
           "LEADFLOW_JOB_POLL_MS": "50", "LEADFLOW_SMTP_URL": sink.url}
    if key:
        env.update(LEADFLOW_DKIM_KEY_FILE=key, LEADFLOW_DKIM_SELECTOR=SELECTOR)
    env.update(extra)
    return env


def published_record(launcher, env):
    """The TXT record as DNS would return it: the zone line's strings, joined."""
    r = launcher.run("dkim-record", env=env)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r'(\S+)\. IN TXT \(((?: "[^"]*")+) \)\n', r.stdout)
    assert m, r.stdout
    return m.group(1), "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()


def dnsfunc_for(name, record):
    def lookup(qname, timeout=5):
        q = qname.decode() if isinstance(qname, bytes) else qname
        return record if q.rstrip(".") == name else None
    return lookup


def send_one(launcher, sink, env, **kw):
    srv = launcher.start(env=env)
    t, c = setup_tenant(srv)
    sid = send(srv, t, c, **kw)["id"]
    row = wait_status(srv, t, sid, {"sent"})
    assert row["provider"] == "smtp"
    (_, _, raw) = sink.messages[-1]
    return raw


def sig_tags(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    value = re.sub(r"\s+", "", msg["DKIM-Signature"])
    return dict(t.split("=", 1) for t in value.split(";") if t)


@pytest.mark.parametrize("kind,alg", [("rsa", "rsa-sha256"), ("ed25519", "ed25519-sha256")])
def test_smtp_mail_is_signed_and_verifies(launcher, sink, tmp_path, kind, alg):
    key = make_key(str(tmp_path), kind)
    env = dkim_env(sink, key)
    name, record = published_record(launcher, env)
    assert name == f"{SELECTOR}._domainkey.acme.example"
    assert record.startswith(b"v=DKIM1; k=" + (b"rsa" if kind == "rsa" else b"ed25519") + b"; p=")

    raw = send_one(launcher, sink, env, subject="Grüße: prices\tinside")
    assert raw.startswith(b"DKIM-Signature: ")
    tags = sig_tags(raw)
    assert tags["a"] == alg and tags["c"] == "relaxed/relaxed"
    assert tags["d"] == "acme.example" and tags["s"] == SELECTOR
    assert abs(int(tags["t"]) - int(__import__("time").time())) < 120
    signed = tags["h"].lower().split(":")
    assert signed[:7] == ["from", "to", "subject", "date", "message-id", "mime-version",
                          "content-type"]
    assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed
    assert signed.count("from") == 2  # over-signed

    lookup = dnsfunc_for(name, record)
    assert dkim.verify(raw, dnsfunc=lookup), "python3-dkim rejected the signature"

    # The same message with one byte of the body changed must fail: the
    # test can see a bad signature.
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"Hello" in body
    tampered = head + b"\r\n\r\n" + body.replace(b"Hello", b"Jello", 1)
    assert not dkim.verify(tampered, dnsfunc=lookup)
    # And a changed signed header.
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=lookup)
    # A second From added on the way is caught by over-signing.
    assert not dkim.verify(head + b"\r\nFrom: mallory@evil.example\r\n\r\n" + body,
                           dnsfunc=lookup)


def test_dkim_domain_setting_overrides_the_from_domain(launcher, sink, tmp_path):
    key = make_key(str(tmp_path), "ed25519")
    env = dkim_env(sink, key, LEADFLOW_DKIM_DOMAIN="Mail.Acme.Example")
    name, record = published_record(launcher, env)
    assert name == f"{SELECTOR}._domainkey.mail.acme.example"
    raw = send_one(launcher, sink, env)
    assert sig_tags(raw)["d"] == "mail.acme.example"
    assert dkim.verify(raw, dnsfunc=dnsfunc_for(name, record))


def test_without_a_key_there_is_no_signature(launcher, sink):
    raw = send_one(launcher, sink, dkim_env(sink))
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"dkim-signature" not in head
    r = launcher.run("dkim-record", env=dkim_env(sink))
    assert r.returncode == 1 and "LEADFLOW_DKIM_KEY_FILE" in r.stderr


def start_refused(launcher, env):
    wd = launcher.workdir()
    r = launcher.run("serve", "--db", f"sqlite:{os.path.join(wd, 'x.db')}", "--listen",
                     "127.0.0.1:0", env=env, cwd=wd)
    assert r.returncode != 0, "serve started with a key it cannot use"
    return r.stderr


def test_unusable_key_files_are_refused_at_start(launcher, sink, tmp_path):
    d = str(tmp_path)
    missing = os.path.join(d, "missing.pem")
    assert "cannot open" in start_refused(launcher, dkim_env(sink, missing))

    garbage = os.path.join(d, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    os.chmod(garbage, 0o600)
    assert "not an unencrypted PEM private key" in start_refused(launcher, dkim_env(sink, garbage))

    ec = os.path.join(d, "ec.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", ec], check=True, capture_output=True)
    os.chmod(ec, 0o600)
    assert "only RSA and Ed25519" in start_refused(launcher, dkim_env(sink, ec))

    small = os.path.join(d, "small.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:512", "-out", small], check=True, capture_output=True)
    os.chmod(small, 0o600)
    assert "512 bits" in start_refused(launcher, dkim_env(sink, small))

    open_key = make_key(d, "ed25519")
    os.chmod(open_key, 0o644)
    err = start_refused(launcher, dkim_env(sink, open_key))
    assert "group or others" in err and "chmod 600" in err

    good = make_key(d, "rsa")
    env = dkim_env(sink, good)
    del env["LEADFLOW_DKIM_SELECTOR"]
    assert "dkim_selector" in start_refused(launcher, env)


def test_a_bad_key_is_refused_even_without_smtp(launcher, sink, tmp_path):
    env = dkim_env(sink, os.path.join(str(tmp_path), "missing.pem"))
    del env["LEADFLOW_SMTP_URL"]
    assert "cannot open" in start_refused(launcher, env)
    key = make_key(str(tmp_path), "ed25519")
    env = dkim_env(sink, key)
    del env["LEADFLOW_SMTP_URL"]
    srv = launcher.start(env=env)
    assert srv.logs("send.dkim_unused")
