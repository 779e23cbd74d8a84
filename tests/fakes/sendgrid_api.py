"""A fake SendGrid v3 Mail Send API (POST /v3/mail/send).

Checks the documented request: Authorization: Bearer <key> (401 otherwise),
Content-Type application/json, personalizations[0].to[] with an email each,
from.email, subject, content[] of {type, value} with text/plain first and
text/html after it, optional headers (an object of strings) and custom_args.
A wrong request gets 400 with SendGrid's error body
{"errors":[{"message","field","help"}]}. Accepted: 202, empty body,
X-Message-Id header. Sends are deduplicated by custom_args.idempotency_key
(real SendGrid does not; the fake does, so tests can count deliveries).

Failure modes: see mail_provider.py ("permanent" is a 400).
"""
import json
import secrets

from fakes.mail_provider import FakeProvider


class FakeSendGridAPI(FakeProvider):
    name = "sendgrid"
    permanent_status = 400

    def __init__(self, api_key=None):
        super().__init__(api_key or "SG." + secrets.token_urlsafe(16))

    def error(self, status, message, field=None):
        return json.dumps({"errors": [{"message": message, "field": field,
                                       "help": None}]}).encode()

    def key_of(self, req):
        return ((req.json or {}).get("custom_args") or {}).get("idempotency_key") or \
            f"no-key-{id(req)}"

    def accept(self, req, message_id):
        return 202, {"X-Message-Id": message_id}, b""

    def check(self, req):
        if req.method != "POST" or req.path != "/v3/mail/send":
            return 404, f"{req.method} {req.path}: no such endpoint"
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, "The provided authorization grant is invalid, expired, or revoked"
        if not req.headers.get("content-type", "").startswith("application/json"):
            return 400, "Content-Type should be application/json"
        j = req.json
        if not isinstance(j, dict):
            return 400, "Bad Request: the body is not a JSON object"
        p = j.get("personalizations")
        if not isinstance(p, list) or not p or not isinstance(p[0], dict):
            return 400, "The personalizations field is required and must have at least one"
        to = p[0].get("to")
        if not isinstance(to, list) or not to or not all(
                isinstance(t, dict) and isinstance(t.get("email"), str) and "@" in t["email"]
                for t in to):
            return 400, "The to array is required for all personalization objects"
        frm = j.get("from")
        if not isinstance(frm, dict) or not isinstance(frm.get("email"), str):
            return 400, "The from object must be provided for every email send"
        if not isinstance(j.get("subject"), str) or not j["subject"]:
            return 400, "The subject is required"
        content = j.get("content")
        if not isinstance(content, list) or not content:
            return 400, "The content value must be a string at least one character in length"
        types = [c.get("type") for c in content if isinstance(c, dict)]
        if types[0] != "text/plain" or any(t not in ("text/plain", "text/html") for t in types) \
                or not all(isinstance(c.get("value"), str) for c in content):
            return 400, "If present, text/plain must be first, followed by text/html"
        h = j.get("headers")
        if h is not None and (not isinstance(h, dict) or
                              not all(isinstance(v, str) for v in h.values())):
            return 400, "headers must be an object of strings"
        for v in list((h or {}).values()) + [j["subject"]]:
            if "\r" in v or "\n" in v:
                return 400, "header values must not contain line breaks"
        ca = j.get("custom_args")
        if ca is not None and not isinstance(ca, dict):
            return 400, "custom_args must be an object"
        return None
