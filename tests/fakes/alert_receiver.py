"""A fake Slack incoming webhook / generic webhook receiver for the alert
tests (standard library only): records every POST (headers, body) and
answers 500 to the first `fail_first` requests, then `status` (200). It
listens on 127.0.0.1, or on `host` (an IPv6 address such as "::1" too).

    with AlertReceiver(fail_first=2) as r:
        ... r.url ...; r.wait_for(3); r.requests[-1].json
"""
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time


class Request:
    def __init__(self, path, headers, body):
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def signature_ok(self, secret):
        """Whether X-Leadflow-Signature is HMAC-SHA256(secret, timestamp "." body)."""
        ts = self.headers.get("x-leadflow-timestamp", "")
        want = hmac.new(secret.encode(), ts.encode() + b"." + self.body, hashlib.sha256)
        return self.headers.get("x-leadflow-signature") == "sha256=" + want.hexdigest()


class AlertReceiver:
    def __init__(self, fail_first=0, status=200, fail_status=500, host="127.0.0.1"):
        self.fail_first = fail_first
        self.status = status
        self.fail_status = fail_status
        self.requests = []
        self._cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer._cond:
                    outer.requests.append(Request(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    failing = len(outer.requests) <= outer.fail_first
                    outer._cond.notify_all()
                code = outer.fail_status if failing else outer.status
                reply = b"ok" if code < 300 else b"unavailable"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *a):
                pass

        server = http.server.ThreadingHTTPServer
        if ":" in host:  # an IPv6 address: the URL names it in brackets
            server = type("Server6", (server,), {"address_family": socket.AF_INET6})
        self.httpd = server((host, 0), Handler)
        name = f"[{host}]" if ":" in host else host
        self.url = f"http://{name}:{self.httpd.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, n, timeout=10.0):
        """Waits until n requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} requests, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)
