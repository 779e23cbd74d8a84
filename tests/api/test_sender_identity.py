"""A workspace's sender identity: its From name and address and its Reply-To,
set by an admin (GET/PUT /api/workspace/sender), are what its API sends and
approved drafts go out with, through SendGrid and SMTP; a workspace without
one sends from LEADFLOW_MAIL_FROM; viewers and members cannot change it; bad
addresses and control characters are refused."""
import email
import email.policy

import tenantutil as tu
from tenantutil import Creds, add_member, add_user, api, assert_error, insert_token, ok
from test_send import env_for, send, sendgrid, setup_tenant, sink, wait_status  # noqa: F401

PATH = "/api/workspace/sender"
IDENTITY = {"name": "Brightpath Team", "email": "hello@brightpath.example",
            "replyTo": "replies@brightpath.example"}


def put_identity(srv, t, body=IDENTITY):
    return ok(api(srv, "PUT", PATH, t.token_creds, ws=t.workspace_id, body=body))


def approved_draft_sent(srv, t, c):
    r = api(srv, "POST", "/api/content/generate", t.token_creds, ws=t.workspace_id,
            body={"target": "contacts", "contactIds": [c["id"]]})
    (draft,) = ok(r, 201)["drafts"]
    path = f"/api/content/{draft['id']}"
    ok(api(srv, "POST", path + "/approve", t.token_creds, ws=t.workspace_id))
    return ok(api(srv, "POST", path + "/send", t.token_creds, ws=t.workspace_id))["sentEmailId"]


def test_sendgrid_sends_from_the_workspace_identity_others_from_the_default(launcher, sendgrid):
    srv = launcher.start(env=env_for(sendgrid))
    t, c = setup_tenant(srv)
    other, oc = setup_tenant(srv)
    empty = ok(api(srv, "GET", PATH, t.token_creds, ws=t.workspace_id))
    assert empty == {"name": None, "email": None, "replyTo": None}
    assert put_identity(srv, t) == IDENTITY
    assert ok(api(srv, "GET", PATH, t.token_creds, ws=t.workspace_id)) == IDENTITY

    api_sent = wait_status(srv, t, send(srv, t, c)["id"], {"sent", "refused", "failed"})
    draft_sent = wait_status(srv, t, approved_draft_sent(srv, t, c), {"sent", "refused", "failed"})
    default_sent = wait_status(srv, other, send(srv, other, oc)["id"], {"sent", "refused", "failed"})
    for row in (api_sent, draft_sent, default_sent):
        assert row["status"] == "sent", row
    assert api_sent["from"] == draft_sent["from"] == "hello@brightpath.example"
    assert api_sent["messageId"].endswith("@brightpath.example")
    assert default_sent["from"] == "sales@acme.example"

    by_to = {}
    for q in sendgrid.recorded():
        by_to.setdefault(q.json["personalizations"][0]["to"][0]["email"], []).append(q.json)
    mine, theirs = by_to[c["email"]], by_to[oc["email"]]
    assert len(mine) == 2 and len(theirs) == 1
    for j in mine:
        assert j["from"] == {"email": "hello@brightpath.example", "name": "Brightpath Team"}
        assert j["reply_to"] == {"email": "replies@brightpath.example"}
    assert theirs[0]["from"] == {"email": "sales@acme.example", "name": "Acme Sales"}
    assert "reply_to" not in theirs[0]

    # Cleared, the workspace goes back to the default.
    assert put_identity(srv, t, {}) == {"name": None, "email": None, "replyTo": None}
    row = wait_status(srv, t, send(srv, t, c, key="after")["id"], {"sent", "refused", "failed"})
    assert row["from"] == "sales@acme.example"


def test_smtp_writes_the_identity_and_its_reply_to(launcher, sink):
    srv = launcher.start(env=env_for(sink=sink))
    t, c = setup_tenant(srv)
    put_identity(srv, t)
    for sid in (send(srv, t, c)["id"], approved_draft_sent(srv, t, c)):
        assert wait_status(srv, t, sid, {"sent", "refused", "failed"})["status"] == "sent"
    assert len(sink.messages) == 2
    for sender, _, raw in sink.messages:
        assert sender == "hello@brightpath.example"
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        (frm,) = msg["From"].addresses
        assert (frm.display_name, frm.addr_spec) == ("Brightpath Team", "hello@brightpath.example")
        assert msg["Reply-To"].addresses[0].addr_spec == "replies@brightpath.example"
        assert msg["Message-ID"].endswith("@brightpath.example>")


def test_only_admins_change_it_and_bad_values_are_refused(launcher):
    srv = launcher.start()
    t = tu.new_tenant(srv, session=False)
    for role in ("viewer", "member"):
        u = add_user(srv)
        add_member(srv, u.user_id, t.org_id, role)
        creds = Creds("token", token=insert_token(srv, t.workspace_id, u.user_id))
        assert api(srv, "PUT", PATH, creds, ws=t.workspace_id, body=IDENTITY).status == 403
        assert ok(api(srv, "GET", PATH, creds, ws=t.workspace_id))["email"] is None
    bad = [({"email": "not an address"}, "email"),
           ({"email": "a@b.example", "replyTo": "nope"}, "replyTo"),
           ({"name": "Line\nbreak", "email": "a@b.example"}, "name"),
           ({"name": "Tab\x0bvertical", "email": "a@b.example"}, "name"),
           ({"name": "Nameless"}, "name"),
           ({"email": 5}, "email"),
           ({"name": "x" * 201, "email": "a@b.example"}, "name")]
    for body, field in bad:
        assert_error(api(srv, "PUT", PATH, t.token_creds, ws=t.workspace_id, body=body), 400,
                     "VALIDATION_ERROR", field)
    assert ok(api(srv, "GET", PATH, t.token_creds, ws=t.workspace_id))["email"] is None
