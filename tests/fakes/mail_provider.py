"""What the SendGrid and Resend fakes share: a threaded stdlib HTTP server on
127.0.0.1 at a free port that records requests, deduplicates accepted sends by
idempotency key, and can be told to fail.

Failure modes (set_mode(mode, times=0)): "ok"; "500" and "429" (answered with
that status); "timeout" (sleeps .slow_seconds before answering, so the client
gives up); "down" (stops listening: connections are refused); "permanent"
(400 for SendGrid, 422 for Resend, with the documented error body). times > 0
fails that many requests and then goes back to "ok". retry_after (seconds, or
None) is sent as Retry-After with each 429, as both providers document.

Standard library only.
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "500", "429", "timeout", "down", "permanent")


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None
        self.status = None
        self.problem = None

    def __repr__(self):
        return f"<{self.method} {self.path} -> {self.status}>"


class FakeProvider:
    """Subclasses define check(req) -> (status, message) | None, key_of(req),
    accept(req) -> (status, headers, body) and error(status, message) -> body."""

    name = "provider"

    def __init__(self, api_key):
        self.api_key = api_key
        self.mode = "ok"
        self.fail_times = 0
        self.slow_seconds = 3.0
        self.latency = 0.0  # seconds every request waits before it is handled
        self.retry_after = None  # seconds, sent as Retry-After with a 429
        self.requests = []
        self.accepted = {}  # idempotency key -> (message id, the JSON accepted)
        self.received_keys = {}  # idempotency key -> how many requests carried it
        self._failed = 0
        self._n = 0
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.port = None
        self.url = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        self._listen(0)
        return self

    def _listen(self, port):
        fake = self

        class Handler(_Handler):
            api = fake

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 128

        self._httpd = Server(("127.0.0.1", port), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _close(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    def stop(self):
        self._close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- knobs ---------------------------------------------------------------

    def set_mode(self, mode, times=0):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        with self._lock:
            was_down = self.mode == "down" and self._httpd is None
            self.mode = mode
            self.fail_times = times
            self._failed = 0
        if mode == "down":
            self._close()  # connections to the port are now refused
        elif was_down:
            self._listen(self.port)

    def recorded(self):
        with self._lock:
            return list(self.requests)

    def delivered(self):
        """{idempotency key: JSON body} of what was accepted (once per key)."""
        with self._lock:
            return {k: v[1] for k, v in self.accepted.items()}

    def _failing_mode(self):
        with self._lock:
            if self.mode == "ok":
                return None
            if self.fail_times and self._failed >= self.fail_times:
                self.mode = "ok"
                return None
            self._failed += 1
            return self.mode

    def handle(self, req):
        """(status, headers, body bytes) for req."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.requests.append(req)
        problem = self.check(req)
        if problem:
            req.problem = problem[1]
            return problem[0], {}, self.error(*problem)
        mode = self._failing_mode()
        if mode == "timeout":
            time.sleep(self.slow_seconds)
            mode = None  # answers (late) as if all went well; the client has given up
        if mode in ("500", "429"):
            st = int(mode)
            extra = {"Retry-After": str(self.retry_after)} \
                if st == 429 and self.retry_after is not None else {}
            return st, extra, self.error(st, "fake failure" if st == 500 else "too many requests")
        if mode == "permanent":
            st = self.permanent_status
            return st, {}, self.error(st, "the recipient address is not valid")
        key = self.key_of(req)
        with self._lock:
            self.received_keys[key] = self.received_keys.get(key, 0) + 1
            if key in self.accepted:
                mid = self.accepted[key][0]  # a repeat: the first answer, nothing sent again
            else:
                self._n += 1
                mid = f"{self.name}-msg-{self._n}"
                self.accepted[key] = (mid, req.json)
        return self.accept(req, mid)


class _Handler(BaseHTTPRequestHandler):
    api = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _serve(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(method, self.path, headers, body)
        status, extra, out = self.api.handle(req)
        req.status = status
        try:
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            if out:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass

    def do_POST(self):
        self._serve("POST")

    def do_GET(self):
        self._serve("GET")
