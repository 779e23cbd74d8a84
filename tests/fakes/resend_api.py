"""A fake Resend API (POST /emails).

Checks the documented request: Authorization: Bearer <key> (401 otherwise),
Content-Type application/json, from ("Name <addr>" or an address), to (an
array of addresses, or one), subject, text and/or html, optional headers (an
object of strings). Errors are {"statusCode","name","message"}: 422
validation_error for a wrong body, 401 missing_api_key/invalid_api_key.
Accepted: 200 {"id"}. Honours the Idempotency-Key header as Resend does: a
repeated key gets the first answer and nothing is sent again.

Failure modes: see mail_provider.py ("permanent" is a 422).
"""
import json
import re
import secrets

from fakes.mail_provider import FakeProvider

ADDRESS = re.compile(r'^(?:(?:"(?:[^"\\]|\\.)*"|[^<>"]*)\s*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$')
NAMES = {400: "invalid_request", 401: "invalid_api_key", 404: "not_found", 422: "validation_error",
         429: "rate_limit_exceeded", 500: "internal_server_error"}


class FakeResendAPI(FakeProvider):
    name = "resend"
    permanent_status = 422

    def __init__(self, api_key=None):
        super().__init__(api_key or "re_" + secrets.token_urlsafe(16))

    def error(self, status, message):
        return json.dumps({"statusCode": status, "name": NAMES.get(status, "application_error"),
                           "message": message}).encode()

    def key_of(self, req):
        return req.headers.get("idempotency-key") or f"no-key-{id(req)}"

    def accept(self, req, message_id):
        return 200, {}, json.dumps({"id": message_id}).encode()

    def check(self, req):
        if req.method != "POST" or req.path != "/emails":
            return 404, f"{req.method} {req.path}: no such endpoint"
        auth = req.headers.get("authorization")
        if not auth:
            return 401, "Missing API key in the authorization header"
        if auth != f"Bearer {self.api_key}":
            return 401, "API key is invalid"
        if not req.headers.get("content-type", "").startswith("application/json"):
            return 422, "Content-Type must be application/json"
        j = req.json
        if not isinstance(j, dict):
            return 422, "The body is not a JSON object"
        if not isinstance(j.get("from"), str) or not ADDRESS.match(j["from"]):
            return 422, "Invalid `from` field. The email address needs to follow the " \
                        "`email@example.com` or `Name <email@example.com>` format."
        to = j.get("to")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not to or not all(
                isinstance(t, str) and ADDRESS.match(t) for t in to):
            return 422, "Invalid `to` field."
        if not isinstance(j.get("subject"), str):
            return 422, "Missing `subject` field."
        if not isinstance(j.get("text"), str) and not isinstance(j.get("html"), str):
            return 422, "Missing `html` or `text` field."
        h = j.get("headers")
        if h is not None and (not isinstance(h, dict) or
                              not all(isinstance(v, str) for v in h.values())):
            return 422, "Invalid `headers` field."
        return None
