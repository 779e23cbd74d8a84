"""A fake Gmail API (v1) for the mailbox sync tests.

Serves, for one mailbox, the documented JSON of:

  GET /gmail/v1/users/me/profile               emailAddress, messagesTotal, threadsTotal,
                                               historyId
  GET /gmail/v1/users/me/messages              ids, newest first; maxResults, pageToken,
                                               labelIds, includeSpamTrash; nextPageToken,
                                               resultSizeEstimate ("messages" absent when none)
  GET /gmail/v1/users/me/messages/{id}         format=raw only: id, threadId, labelIds,
                                               snippet, historyId, internalDate,
                                               sizeEstimate, raw (base64url, padded)
  GET /gmail/v1/users/me/history               startHistoryId, historyTypes, maxResults,
                                               pageToken; records with messages and
                                               messagesAdded, historyId, nextPageToken
                                               ("history" absent when nothing changed);
                                               404 when startHistoryId is older than the
                                               oldest history kept

Every request needs "Authorization: Bearer <token>"; token_check(token) says
whether the token is live (the fake OpenID provider's access_token_info), else
401 as Google answers, so the client refreshes. Knobs for a test:

  add_message(...)    a new message (and a messageAdded history record)
  forget_history()    drop the history so far: older startHistoryIds get 404
  fail_next(status)   the next request (optionally only under a path) fails
  page_size           the most ids one page holds (to exercise paging)

Every request is recorded in .requests as (method, path, query dict, token).
Standard library only.
"""
import base64
import json
import secrets
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/gmail/v1/users/me/"
READONLY_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"

_ERRORS = {
    400: ("INVALID_ARGUMENT", "badRequest", "Invalid argument"),
    401: ("UNAUTHENTICATED", "authError",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, "
          "login cookie or other valid authentication credential."),
    403: ("PERMISSION_DENIED", "insufficientPermissions",
          "Request had insufficient authentication scopes."),
    404: ("NOT_FOUND", "notFound", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded", "Resource has been exhausted (e.g. check "
          "quota)."),
    500: ("INTERNAL", "backendError", "Backend Error"),
    503: ("UNAVAILABLE", "backendError", "The service is currently unavailable."),
}


def error_body(status, message=None):
    """Google's JSON error envelope for status."""
    st, reason, text = _ERRORS.get(status, ("UNKNOWN", "unknown", "error"))
    msg = message or text
    return {"error": {"code": status, "message": msg,
                      "errors": [{"message": msg, "domain": "global", "reason": reason}],
                      "status": st}}


def make_raw(sender, to, subject, body, date=None, message_id=None):
    """RFC 5322 bytes of a plain-text message."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime.now(timezone.utc))
    m["Message-ID"] = message_id or make_msgid(domain="mail.example.test")
    m.set_content(body)
    return m.as_bytes()


class FakeGmail:
    """One Gmail mailbox on 127.0.0.1; start() binds a free port (.url is the API base)."""

    def __init__(self, email, token_check):
        self.email = email
        self.token_check = token_check
        self.messages = {}  # id -> message dict
        self.history = []  # history records, oldest first
        self.history_id = 4000 + secrets.randbelow(1000)
        self.oldest_history_id = self.history_id
        self.page_size = None  # None: as asked (up to 500)
        self.requests = []
        self._faults = []  # [status, path prefix or None, count]
        self._gate = None  # (path prefix, threading.Event) requests wait on
        self.held = threading.Event()  # set once a request waits at the gate
        self._clock = int(time.time() * 1000) - 86400 * 1000
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.url = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            gmail = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    # -- knobs -------------------------------------------------------------

    def add_message(self, sender="Grace Hopper <grace@customer.example>", subject="Hello",
                    body="Could we get a quote for 50 seats?\n", labels=("INBOX", "UNREAD"),
                    raw=None, to=None):
        """Adds a message (newer than every other) and its history record; returns its id."""
        with self._lock:
            self._clock += 60 * 1000
            when = self._clock
            self.history_id += 1
            mid = format(int(when) * 1000 + secrets.randbelow(1000), "x")
            thread = mid
            data = raw if raw is not None else make_raw(
                sender, to or self.email, subject, body,
                date=datetime.fromtimestamp(when / 1000, timezone.utc))
            msg = {"id": mid, "threadId": thread, "labelIds": list(labels),
                   "snippet": body[:80].strip(), "historyId": str(self.history_id),
                   "internalDate": str(when), "sizeEstimate": len(data), "raw": data}
            self.messages[mid] = msg
            ref = {"id": mid, "threadId": thread}
            self.history.append({"id": str(self.history_id), "messages": [ref],
                                 "messagesAdded": [{"message": dict(ref,
                                                                    labelIds=list(labels))}]})
            return mid

    def forget_history(self):
        """History before now is gone: a startHistoryId older than the current one is 404."""
        with self._lock:
            self.history = []
            self.oldest_history_id = self.history_id

    def fail_next(self, status, path=None, count=1):
        """The next count requests (under PREFIX + path, when given) answer status."""
        with self._lock:
            self._faults.append([status, path, count])

    def hold(self, path):
        """Requests under PREFIX + path wait (30 s at most) until release()."""
        with self._lock:
            self.held.clear()
            self._gate = (path, threading.Event())

    def release(self):
        with self._lock:
            gate, self._gate = self._gate, None
        if gate:
            gate[1].set()

    def recorded(self, path=None):
        with self._lock:
            return [r for r in self.requests if path is None or r[1].startswith(PREFIX + path)]

    # -- the API -----------------------------------------------------------

    def _fault(self, path):
        with self._lock:
            for f in self._faults:
                if f[1] is None or path.startswith(PREFIX + f[1]):
                    f[2] -= 1
                    if f[2] <= 0:
                        self._faults.remove(f)
                    return f[0]
        return None

    def handle(self, method, path, query, token):
        """(status, JSON body) for one request."""
        with self._lock:
            self.requests.append((method, path, query, token))
        with self._lock:
            gate = self._gate
        if gate and path.startswith(PREFIX + gate[0]):
            self.held.set()
            gate[1].wait(30)
        info = self.token_check(token) if token else None
        if info is None:
            return 401, error_body(401)
        if READONLY_SCOPE not in (info.get("scope") or "").split(" "):
            return 403, error_body(403)
        status = self._fault(path)
        if status is not None:
            return status, error_body(status)
        if method != "GET" or not path.startswith(PREFIX):
            return 404, error_body(404)
        rest = path[len(PREFIX):]

        def one(name, default=None):
            v = query.get(name)
            return v[0] if v else default

        with self._lock:
            if rest == "profile":
                return 200, {"emailAddress": self.email, "messagesTotal": len(self.messages),
                             "threadsTotal": len(self.messages),
                             "historyId": str(self.history_id)}
            if rest == "messages":
                return self._list(one, query)
            if rest.startswith("messages/"):
                return self._get(unquote(rest[len("messages/"):]), one)
            if rest == "history":
                return self._history(one, query)
        return 404, error_body(404)

    def _page(self, one):
        try:
            size = int(one("maxResults", "100"))
            start = int(one("pageToken", "0"))
        except ValueError:
            return None, None
        size = max(1, min(size, 500))
        if self.page_size:
            size = min(size, self.page_size)
        return start, size

    def _list(self, one, query):
        start, size = self._page(one)
        if start is None:
            return 400, error_body(400)
        msgs = sorted(self.messages.values(), key=lambda m: int(m["internalDate"]), reverse=True)
        if one("includeSpamTrash", "false") != "true":
            msgs = [m for m in msgs if not {"SPAM", "TRASH"} & set(m["labelIds"])]
        for label in query.get("labelIds", []):
            msgs = [m for m in msgs if label in m["labelIds"]]
        page = msgs[start:start + size]
        body = {"resultSizeEstimate": len(msgs)}
        if page:
            body["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if start + size < len(msgs):
            body["nextPageToken"] = str(start + size)
        return 200, body

    def _get(self, mid, one):
        m = self.messages.get(mid)
        if m is None:
            return 404, error_body(404)
        if one("format") != "raw":
            return 400, error_body(400, "this fake serves format=raw only")
        body = {k: v for k, v in m.items() if k != "raw"}
        body["raw"] = base64.urlsafe_b64encode(m["raw"]).decode("ascii")
        return 200, body

    def _history(self, one, query):
        try:
            since = int(one("startHistoryId", ""))
        except ValueError:
            return 400, error_body(400, "startHistoryId is required")
        if since < self.oldest_history_id:
            return 404, error_body(404)
        start, size = self._page(one)
        if start is None:
            return 400, error_body(400)
        types = query.get("historyTypes")
        recs = [r for r in self.history if int(r["id"]) > since]
        if types and "messageAdded" not in types:
            recs = []
        page = recs[start:start + size]
        body = {"historyId": str(self.history_id)}
        if page:
            body["history"] = json.loads(json.dumps(page))
        if start + size < len(recs):
            body["nextPageToken"] = str(start + size)
        return 200, body


class _Handler(BaseHTTPRequestHandler):
    gmail = None  # set by the subclass made in FakeGmail.start()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _handle(self, method):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        authz = self.headers.get("Authorization") or ""
        token = authz[7:] if authz.startswith("Bearer ") else None
        status, body = self.gmail.handle(method, parts.path, query, token)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


__all__ = ["FakeGmail", "PREFIX", "READONLY_SCOPE", "error_body", "make_raw"]
