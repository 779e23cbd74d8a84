"""Providers' events in: SendGrid's Event Webhook (ECDSA P-256 signatures made
here with python3-cryptography) and Resend's webhooks (Svix HMAC-SHA256 made
with Python's hmac), against emails sent through the fake providers:
deliveries, deferrals, bounces, complaints, opens and clicks reach the sent
email, the contact's events and campaigns, and the suppression list; a wrong,
missing or stale signature is refused."""
import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import tenantutil as tu
from test_send import env_for, resend, send, sendgrid, setup_tenant, wait_status  # noqa: F401
from test_suppression import call, listed

PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
HOUR_MS = 3600 * 1000


@pytest.fixture(scope="module")
def sg_key():
    return ec.generate_private_key(ec.SECP256R1())


def sg_public(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sg_post(srv, key, events, ts=None, body=None):
    body = body if body is not None else json.dumps(events).encode()
    ts = str(int(time.time()) if ts is None else ts)
    sig = base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    return srv.request("POST", "/api/webhooks/sendgrid", body=body, headers={
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": sig,
        "X-Twilio-Email-Event-Webhook-Timestamp": ts})


SVIX_SECRET = "whsec_" + base64.b64encode(b"leadflow-test-svix-signing-key!!").decode()


def svix_post(srv, event, secret=SVIX_SECRET, ts=None, msg_id=None):
    body = json.dumps(event).encode()
    ts = str(int(time.time()) if ts is None else ts)
    msg_id = msg_id or "msg_" + secrets.token_hex(8)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    sig = "v1," + base64.b64encode(mac).decode()
    return srv.request("POST", "/api/webhooks/resend", body=body, headers={
        "Content-Type": "application/json", "svix-id": msg_id, "svix-timestamp": ts,
        "svix-signature": f"v1,{base64.b64encode(b'x' * 32).decode()} {sig}"})


def events_of(srv, t, contact_id):
    return [(e["kind"], e["sentEmailId"]) for e in
            call(srv, t, "GET", f"/api/contacts/{contact_id}/events")]


def enrolled(srv, t, c):
    """c enrolled in a new active campaign that waits a day; its path."""
    camp = call(srv, t, "POST", "/api/campaigns", {"name": "Nurture"}, status=201)
    base = f"/api/campaigns/{camp['id']}"
    call(srv, t, "POST", base + "/steps",
         {"steps": [{"type": "wait", "config": {"duration_ms": 86400000}}]})
    call(srv, t, "POST", base + "/activate")
    call(srv, t, "POST", base + "/enroll", {"contactIds": [c["id"]]})
    return base


def sent_an_hour_ago(srv, sid):
    tu.db_exec(srv, "UPDATE sent_emails SET sent_at = ? WHERE id = ?", (tu.now_ms() - HOUR_MS, sid))


def test_sendgrid_events_reach_the_email_the_contact_and_the_suppression_list(launcher, sendgrid,
                                                                             sg_key):
    srv = launcher.start(env=env_for(sendgrid, LEADFLOW_SENDGRID_WEBHOOK_KEY=sg_public(sg_key)))
    t, c = setup_tenant(srv)
    base = enrolled(srv, t, c)
    sid = send(srv, t, c)["id"]
    row = wait_status(srv, t, sid, {"sent"})
    sent_an_hour_ago(srv, sid)
    now = int(time.time())
    common = {"email": c["email"], "timestamp": now, "idempotency_key": sid,
              "sg_message_id": row["providerMessageId"] + ".filter0001.1.0"}
    r = sg_post(srv, sg_key, [
        dict(common, event="processed"),
        dict(common, event="delivered"),
        dict(common, event="open", useragent=PERSON, ip="198.51.100.7"),
        dict(common, event="click", url="https://acme.example/p", useragent=PERSON),
        dict(common, event="bounce", type="blocked"),
    ])
    assert r.status == 200, r.body
    assert r.json["data"] == {"received": 4, "applied": 4}
    got = call(srv, t, "GET", f"/api/emails/sent/{sid}")
    assert got["opens"]["count"] == 1 and got["clicks"]["count"] == 1
    assert got["events"][0]["url"] == "https://acme.example/p"
    assert sorted(k for k, _ in events_of(srv, t, c["id"])) == \
        ["click", "deferred", "delivered", "open"]
    assert listed(srv, t) == []

    # A hard bounce: recorded, the campaign ends, the address is suppressed.
    r = sg_post(srv, sg_key, [dict(common, event="bounce", type="bounce")])
    assert r.json["data"] == {"received": 1, "applied": 1}
    (s,) = listed(srv, t)
    assert (s["reason"], s["sentEmailId"], s["contactId"]) == ("bounce", sid, c["id"])
    (en,) = call(srv, t, "GET", base + "/enrollments")
    assert en["status"] == "cancelled"
    assert ("bounce", sid) in events_of(srv, t, c["id"])


def test_a_sendgrid_spam_report_found_by_its_message_id_suppresses(launcher, sendgrid, sg_key):
    srv = launcher.start(env=env_for(sendgrid, LEADFLOW_SENDGRID_WEBHOOK_KEY=sg_public(sg_key)))
    t, c = setup_tenant(srv)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    r = sg_post(srv, sg_key, [{"event": "spamreport", "email": c["email"],
                               "timestamp": int(time.time()),
                               "sg_message_id": row["providerMessageId"] + ".filter0002.2.0"}])
    assert r.json["data"] == {"received": 1, "applied": 1}
    (s,) = listed(srv, t)
    assert (s["reason"], s["sentEmailId"]) == ("complaint", row["id"])
    assert ("complaint", row["id"]) in events_of(srv, t, c["id"])
    # An event of an email leadflow never sent is counted, not applied.
    r = sg_post(srv, sg_key, [{"event": "delivered", "email": "x@example.test",
                               "timestamp": int(time.time()), "sg_message_id": "unknown.filter"}])
    assert r.json["data"] == {"received": 1, "applied": 0}


def test_sendgrid_signatures_are_checked(launcher, sendgrid, sg_key):
    srv = launcher.start(env=env_for(sendgrid, LEADFLOW_SENDGRID_WEBHOOK_KEY=sg_public(sg_key)))
    t, c = setup_tenant(srv)
    sid = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})["id"]
    event = [{"event": "spamreport", "timestamp": int(time.time()), "idempotency_key": sid}]
    other = ec.generate_private_key(ec.SECP256R1())
    assert sg_post(srv, other, event).status == 401  # another key
    assert sg_post(srv, sg_key, event, ts=int(time.time()) - 600).status == 401  # stale
    body = json.dumps(event).encode()
    ts = str(int(time.time()))
    sig = base64.b64encode(sg_key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    tampered = body.replace(b"spamreport", b"delivered")
    r = srv.request("POST", "/api/webhooks/sendgrid", body=tampered, headers={
        "X-Twilio-Email-Event-Webhook-Signature": sig,
        "X-Twilio-Email-Event-Webhook-Timestamp": ts})
    assert r.status == 401
    r = srv.request("POST", "/api/webhooks/sendgrid", body=body)  # unsigned
    assert r.status == 401
    assert listed(srv, t) == [] and events_of(srv, t, c["id"]) == []
    # Not configured: nothing is accepted.
    srv2 = launcher.start(env=env_for(sendgrid))
    assert sg_post(srv2, sg_key, event).status == 404


def test_resend_events_with_svix_signatures(launcher, resend):
    srv = launcher.start(env=env_for(resend=resend, LEADFLOW_RESEND_WEBHOOK_SECRET=SVIX_SECRET))
    t, c = setup_tenant(srv)
    row = wait_status(srv, t, send(srv, t, c)["id"], {"sent"})
    sent_an_hour_ago(srv, row["id"])
    pmid = row["providerMessageId"]

    def event(kind, **data):
        return {"type": kind, "created_at": "2026-01-01T00:00:00Z",
                "data": dict({"email_id": pmid, "to": [c["email"]]}, **data)}

    for e in [event("email.delivered"), event("email.delivery_delayed"),
              event("email.bounced", bounce={"type": "Transient", "message": "mailbox full"}),
              event("email.clicked", click={"link": "https://acme.example/p",
                                            "userAgent": PERSON, "ipAddress": "198.51.100.9"})]:
        r = svix_post(srv, e)
        assert r.status == 200 and r.json["data"] == {"received": 1, "applied": 1}, r.body
    assert sorted(k for k, _ in events_of(srv, t, c["id"])) == \
        ["click", "deferred", "deferred", "delivered"]
    assert call(srv, t, "GET", f"/api/emails/sent/{row['id']}")["clicks"]["count"] == 1
    assert listed(srv, t) == []

    assert svix_post(srv, event("email.complained")).json["data"]["applied"] == 1
    (s,) = listed(srv, t)
    assert (s["reason"], s["sentEmailId"]) == ("complaint", row["id"])

    # Wrong secret, stale timestamp, no signature: refused, nothing recorded.
    n = len(events_of(srv, t, c["id"]))
    wrong = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    assert svix_post(srv, event("email.bounced"), secret=wrong).status == 401
    assert svix_post(srv, event("email.bounced"), ts=int(time.time()) - 600).status == 401
    r = srv.request("POST", "/api/webhooks/resend", body=json.dumps(event("email.bounced")).encode())
    assert r.status == 401
    assert len(events_of(srv, t, c["id"])) == n

    # A permanent bounce of another email lists its address.
    c2 = tu.create_contact(srv, t, name="Bea Bounce")
    row2 = wait_status(srv, t, send(srv, t, c2)["id"], {"sent"})
    r = svix_post(srv, {"type": "email.bounced", "data": {
        "email_id": row2["providerMessageId"], "bounce": {"type": "Permanent"}}})
    assert r.json["data"] == {"received": 1, "applied": 1}
    assert {x["email"]: x["reason"] for x in listed(srv, t)} == {
        c["email"].lower(): "complaint", c2["email"].lower(): "bounce"}
