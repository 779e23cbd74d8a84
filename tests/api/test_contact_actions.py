"""Unsubscribe and resubscribe a contact from the API: the state the
unsubscribe link sets, its active enrollments cancelled, enrollment refused
while unsubscribed, another workspace's contact out of reach."""
import tenantutil as tu
from tenantutil import api, assert_error, ok, random_id

DAY = 24 * 3600 * 1000


def call(srv, t, method, path, body=None, status=200, creds=None):
    return ok(api(srv, method, path, creds or t.token_creds, ws=t.workspace_id, body=body),
              status)


def test_unsubscribe_cancels_enrollments_and_resubscribe_allows_mail(server):
    t = tu.new_tenant(server)
    c = tu.create_contact(server, t, name="Una Sub")
    camp = call(server, t, "POST", "/api/campaigns", {"name": "Drip"}, status=201)
    call(server, t, "POST", f"/api/campaigns/{camp['id']}/steps",
         {"steps": [{"type": "wait", "config": {"duration_ms": 7 * DAY}},
                    {"type": "tag", "config": {"add": ["later"]}}]})
    call(server, t, "POST", f"/api/campaigns/{camp['id']}/activate")
    res = call(server, t, "POST", f"/api/campaigns/{camp['id']}/enroll", {"contactIds": [c["id"]]})
    assert [x["contactId"] for x in res["enrolled"]] == [c["id"]]

    # From a browser session (CSRF token) as from a token.
    got = call(server, t, "POST", f"/api/contacts/{c['id']}/unsubscribe", creds=t.session)
    assert got["id"] == c["id"] and got["unsubscribedAt"]
    [en] = call(server, t, "GET", f"/api/campaigns/{camp['id']}/enrollments")
    assert en["status"] == "cancelled"
    # Idempotent: the first time stays.
    again = call(server, t, "POST", f"/api/contacts/{c['id']}/unsubscribe")
    assert again["unsubscribedAt"] == got["unsubscribedAt"]
    res = call(server, t, "POST", f"/api/campaigns/{camp['id']}/enroll", {"contactIds": [c["id"]]})
    assert res["skipped"] == [{"contactId": c["id"], "reason": "unsubscribed"}]

    back = call(server, t, "POST", f"/api/contacts/{c['id']}/resubscribe")
    assert back["unsubscribedAt"] is None
    assert call(server, t, "GET", f"/api/contacts/{c['id']}")["unsubscribedAt"] is None
    res = call(server, t, "POST", f"/api/campaigns/{camp['id']}/enroll", {"contactIds": [c["id"]]})
    assert all(s["reason"] != "unsubscribed" for s in res["skipped"]), res


def test_subscription_routes_check_workspace_and_csrf(server):
    t = tu.new_tenant(server)
    other = tu.new_tenant(server)
    theirs = tu.create_contact(server, other, name="Not Yours")
    for action in ("unsubscribe", "resubscribe"):
        assert_error(api(server, "POST", f"/api/contacts/{theirs['id']}/{action}",
                         t.token_creds, ws=t.workspace_id), 404, "NOT_FOUND")
        assert_error(api(server, "POST", f"/api/contacts/{random_id()}/{action}",
                         t.token_creds, ws=t.workspace_id), 404, "NOT_FOUND")
    r = api(server, "POST", f"/api/contacts/{theirs['id']}/unsubscribe", other.session,
            ws=other.workspace_id, csrf=False)
    assert r.status == 403
    assert call(server, other, "GET", f"/api/contacts/{theirs['id']}")["unsubscribedAt"] is None
