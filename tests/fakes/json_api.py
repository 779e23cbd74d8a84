"""What the fakes of JSON HTTP APIs share: a threaded HTTP/1.1 server on 127.0.0.1 at a
free port, the recording of every request, and the writing of JSON replies.

A fake subclasses JsonAPIFake and gives:
  request_class   built as request_class(method, path, headers, body) for each request
                  (headers: a dict of lower-case names); it gets a .status attribute
  handle(req)     -> (status, extra headers dict, body object), the body sent as JSON
  url_path        appended to http://127.0.0.1:PORT to make .url (e.g. "/v1")
It may set request_id_header (the name of the request id header the real API sends), and
modes and error_statuses for set_mode(), the knob the fakes of model APIs share.
Standard library only.
"""
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonAPIFake:
    request_class = None
    request_id_header = "request-id"
    url_path = ""
    modes = ()  # what set_mode() accepts
    error_statuses = ()  # what a "fail_then_ok" mode may answer

    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # set by stop(): wakes handlers that wait
        self._httpd = None
        self._thread = None
        self.port = None
        self.url = None

    def start(self):
        fake = self

        class Handler(_Handler):
            api = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{self.url_path}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_mode(self, mode, times=0, status=429, seconds=None, retry_after=None):
        """How the next requests are answered: mode (one of .modes); for "fail_then_ok",
        times failures with status (and Retry-After: retry_after when the fake sends it);
        for "slow", seconds of delay."""
        if mode not in self.modes:
            raise ValueError(f"unknown mode {mode!r}; expected one of {self.modes}")
        if status not in self.error_statuses:
            raise ValueError(f"unsupported status {status}")
        with self._lock:
            self.mode = mode
            self.fail_times = times
            self.fail_status = status
            self.retry_after = retry_after
            self._failed = 0
            if seconds is not None:
                self.slow_seconds = seconds

    def record(self, req):
        with self._lock:
            self.requests.append(req)

    def recorded(self):
        with self._lock:
            return list(self.requests)

    def handle(self, req):
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    api = None  # set by the subclass made in JsonAPIFake.start()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = self.api.request_class(self.command, self.path, headers, body)
        status, extra, obj = self.api.handle(req)
        req.status = status
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header(self.api.request_id_header, "req_" + secrets.token_hex(8))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a time-out test)

    do_POST = _serve
    do_GET = _serve
    do_PUT = _serve
