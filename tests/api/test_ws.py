"""GET /ws, the dashboards' live events (RFC 6455), against the real binary:
the handshake's refusals (401 without a session, 403 for another site's
Origin, 400 for a broken handshake), the greeting, events from a real import
(email_processed, hot_lead) and from the content agent (draft_ready) reaching
the workspace's clients and no one else, pings both ways, and the clients
the hub closes: a malformed frame (1002), an oversized one (1009), one that
stops reading, one that does not answer pings; the others keep working.

The WebSocket client is a small one written here on socket, base64 and
hashlib (standard library only), so that the tests can also send frames a
browser never would.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import struct
import threading
import time

import pytest

from mailutil import contact_by_email, imported, mbox, message
from tenantutil import new_tenant, unique_email

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Closed(Exception):
    """The server ended the connection; code is the close frame's, or None."""

    def __init__(self, code=None, reason=""):
        super().__init__(f"connection closed (code {code}, {reason!r})")
        self.code = code
        self.reason = reason


class WS:
    """One WebSocket connection: the handshake's answer, then frames."""

    def __init__(self, port, cookie=None, origin=None, headers=None, key=None, token=None,
                 rcvbuf=None, timeout=10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
        h = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": self.key, "Sec-WebSocket-Version": "13"}
        if cookie:
            h["Cookie"] = f"lf_session={cookie}"
        if token:
            h["Authorization"] = f"Bearer {token}"
        if origin:
            h["Origin"] = origin
        h.update(headers or {})
        req = "GET /ws HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items() if v is not None)
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                break
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = b""
        if self.status != 101:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                d = self.sock.recv(65536)
                if not d:
                    break
                self.buf += d
            self.body, self.buf = self.buf[:n], self.buf[n:]

    # -- frames --------------------------------------------------------------

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
        """Sends one frame; length overrides the declared payload length."""
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        m = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, m | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, m | 126, n)
        else:
            head = struct.pack("!BBQ", b0, m | 127, n)
        if mask:
            k = os.urandom(4)
            head += k
            payload = bytes(c ^ k[i % 4] for i, c in enumerate(payload))
        self.sock.sendall(head + payload)

    def send_text(self, text):
        self.send_frame(TEXT, text)

    def _need(self, n):
        while len(self.buf) < n:
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                raise Closed(None, "end of stream")
            self.buf += d

    def recv_frame(self, timeout=5.0):
        """(opcode, payload) of the next frame; server frames must be unmasked."""
        self.sock.settimeout(timeout)
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "a server frame is masked"
        assert b0 & 0x70 == 0, "reserved bits set in a server frame"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, payload

    def recv(self, timeout=5.0, answer_pings=True):
        """The next text message as a dict; a close frame raises Closed."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.01, deadline - time.monotonic())
            op, p = self.recv_frame(left)
            if op == TEXT:
                return json.loads(p)
            if op == CLOSE:
                code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None
                raise Closed(code, p[2:].decode("utf-8", "replace"))
            if op == PING and answer_pings:
                self.send_frame(PONG, p)

    def wait_for(self, type_, timeout=10.0):
        """Reads until a message of type_ comes; returns it and those seen before it."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {type_} message within {timeout}s; got {seen}")
            try:
                m = self.recv(left)
            except socket.timeout:
                raise AssertionError(f"no {type_} message within {timeout}s; got {seen}")
            if m.get("type") == type_:
                return m, seen
            seen.append(m)

    def expect_close(self, timeout=5.0):
        """Reads until the server closes; returns the close code (None: no close frame)."""
        try:
            while True:
                self.recv(timeout, answer_pings=False)
        except Closed as c:
            return c.code

    def at_eof(self, timeout=5.0):
        """True when the server ends the TCP stream (after its close frame)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def import_events(ws, count, types=("hot_lead", "draft_ready"), timeout=30.0):
    """Reads the events an import raises: email_processed until their counts add
    up to count (the import job sends one per committed batch), and the first
    event of each of types, in whatever order they come. Returns (the
    email_processed events, {type: event})."""
    processed, first = [], {}
    deadline = time.monotonic() + timeout
    while sum(p["data"]["count"] for p in processed) < count or len(first) < len(types):
        left = deadline - time.monotonic()
        assert left > 0, f"events missing: {processed} {first}"
        m = ws.recv(left)
        if m.get("type") == "email_processed":
            processed.append(m)
        elif m.get("type") in types and m["type"] not in first:
            first[m["type"]] = m
    assert sum(p["data"]["count"] for p in processed) == count, processed
    return processed, first


def session_ws(server, tenant, **kw):
    """An open, greeted connection with the tenant's session cookie."""
    ws = WS(server.port, cookie=tenant.session.cookie, **kw)
    assert ws.status == 101, f"expected 101, got {ws.status}: {ws.body!r}"
    hello = ws.recv()
    assert hello["type"] == "hello", hello
    return ws


def error_code(ws):
    env = json.loads(ws.body)
    assert env["success"] is False, env
    return env["error"]["code"], env["error"]["message"]


def addr(prefix="lead"):
    return f"{prefix}-{secrets.token_hex(3)}@brightwater.example"


def hot_mbox(who, name="Robin Park"):
    """Five messages that make who a hot lead (as in test_emails.py)."""
    sig = f"{name}\nChief Executive Officer\nBrightwater Logistics"
    return mbox(*[message(who, body, subject=subj, name=name, signature=sig, days_ago=d)
                  for subj, body, d in [
                      ("Demo?", "Can we schedule a demo this week? We are excited.", 0.1),
                      ("Pricing", "What is your pricing for 100 seats? Love the product.", 1),
                      ("Contract", "Please send the contract terms, thank you, great call.", 2),
                      ("Pilot", "We are very happy to start a pilot soon. Thanks!", 3),
                      ("Quote", "Could we meet Thursday to finalize the quote?", 4)]])


@pytest.fixture
def t(server):
    return new_tenant(server, unique_email("live"))


def metric(server, name):
    text = server.get("/metrics").text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"{name} is not in /metrics"
    return float(m.group(1))


# -- the handshake ----------------------------------------------------------------


def test_without_a_session_the_upgrade_is_401(server):
    ws = WS(server.port)
    assert ws.status == 401
    assert error_code(ws)[0] == "UNAUTHORIZED"
    ws = WS(server.port, cookie="not-a-session")
    assert ws.status == 401


def test_another_sites_origin_is_403(server, t):
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example",
                   f"http://127.0.0.1:{server.port + 1}", "null"):
        ws = WS(server.port, cookie=t.session.cookie, origin=origin)
        assert ws.status == 403, origin
        code, msg = error_code(ws)
        assert code == "FORBIDDEN" and "Origin" in msg
    # The page the server itself served may connect.
    ws = session_ws(server, t, origin=f"http://127.0.0.1:{server.port}")
    ws.close()


@pytest.mark.parametrize("headers,word", [
    ({"Sec-WebSocket-Key": None}, "Sec-WebSocket-Key"),
    ({"Sec-WebSocket-Key": "c2hvcnQ="}, "Sec-WebSocket-Key"),
    ({"Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!A=="}, "Sec-WebSocket-Key"),
    ({"Sec-WebSocket-Version": "8"}, "13"),
    ({"Sec-WebSocket-Version": None}, "13"),
    ({"Upgrade": None}, "WebSocket"),
    ({"Connection": "keep-alive"}, "Upgrade"),
])
def test_a_broken_handshake_is_400(server, t, headers, word):
    ws = WS(server.port, cookie=t.session.cookie, headers=headers)
    assert ws.status == 400, (headers, ws.status, ws.body)
    code, msg = error_code(ws)
    assert code == "VALIDATION_ERROR" and word in msg, msg
    assert ws.headers.get("sec-websocket-version") == "13"


def test_the_upgrade_answers_the_key_and_greets_with_the_workspaces(server, t):
    ws = WS(server.port, cookie=t.session.cookie)
    assert ws.status == 101
    assert ws.headers["upgrade"].lower() == "websocket"
    assert "upgrade" in ws.headers["connection"].lower()
    want = base64.b64encode(hashlib.sha1((ws.key + GUID).encode()).digest()).decode()
    assert ws.headers["sec-websocket-accept"] == want
    hello = ws.recv()
    assert hello["type"] == "hello"
    assert hello["data"]["workspaces"] == [t.workspace_id]
    assert hello["data"]["pingMs"] == 30000
    ws.close()


def test_an_api_token_hears_its_own_workspace(server, t):
    ws = WS(server.port, token=t.token)
    assert ws.status == 101
    assert ws.recv()["data"]["workspaces"] == [t.workspace_id]
    ws.close()


# -- events ------------------------------------------------------------------------


def test_an_import_that_makes_a_hot_lead_reaches_its_workspace_only(server, t):
    other = new_tenant(server, unique_email("other"))
    mine, mine_too, theirs = session_ws(server, t), session_ws(server, t), session_ws(server, other)
    who = addr("hot")
    res = imported(server, t, hot_mbox(who, name="Robin Park"), content_type="application/mbox")
    assert res["imported"] == 5
    contact = contact_by_email(server, t, who)

    for ws in (mine, mine_too):
        processed, got = import_events(ws, 5)
        for p in processed:
            assert p["workspaceId"] == t.workspace_id and p["data"]["source"] == "upload"
        hot = got["hot_lead"]
        assert hot["workspaceId"] == t.workspace_id
        assert hot["data"] == {"contactId": contact["id"], "email": who, "name": "Robin Park",
                               "score": contact["score"]}
        assert contact["score"] >= 80
        # The content agent drafts for the new hot lead in the background.
        draft = got["draft_ready"]
        assert draft["data"]["contactId"] == contact["id"] and draft["data"]["draftId"]
        assert draft["data"]["reason"] == "hot_lead"

    # The other workspace heard nothing: its next message answers its own ping.
    theirs.send_text('{"type":"ping"}')
    assert theirs.recv() == {"type": "pong"}
    for ws in (mine, mine_too, theirs):
        ws.close()


def test_a_batch_of_duplicates_announces_nothing(server, t):
    ws = session_ws(server, t)
    msg = message(addr("dup"), "Hello there, a question about your product.")
    imported(server, t, msg)
    first, _ = ws.wait_for("email_processed")
    assert first["data"]["count"] == 1
    again = imported(server, t, msg)
    assert again["duplicates"] == 1
    ws.send_text('{"type":"ping"}')
    _, before = ws.wait_for("pong")  # the import job's progress, but no email_processed
    assert [m["type"] for m in before if m["type"] != "job_progress"] == [], before
    ws.close()


# -- what clients send -----------------------------------------------------------------


def test_pings_are_answered(server, t):
    ws = session_ws(server, t)
    ws.send_frame(PING, b"are you there")
    assert ws.recv_frame() == (PONG, b"are you there")
    ws.send_text('{"type": "ping", "at": 1}')
    assert ws.recv() == {"type": "pong"}
    # A ping split over two fragments is one message too.
    ws.send_frame(TEXT, '{"type":', fin=False)
    ws.send_frame(0x0, '"ping"}', fin=True)
    assert ws.recv() == {"type": "pong"}
    # Anything else is read and ignored; a pong from the client is fine.
    ws.send_text("hello")
    ws.send_frame(PONG, b"")
    ws.send_text('{"type":"ping"}')
    assert ws.recv() == {"type": "pong"}
    ws.close()


def test_a_close_from_the_client_is_answered(server, t):
    ws = session_ws(server, t)
    ws.send_frame(CLOSE, struct.pack("!H", 1000) + b"bye")
    assert ws.expect_close() == 1000
    assert ws.at_eof()


@pytest.mark.parametrize("frame,code", [
    (dict(opcode=TEXT, payload='{"type":"ping"}', mask=False), 1002),      # unmasked
    (dict(opcode=TEXT, payload="x", rsv=4), 1002),                          # reserved bit
    (dict(opcode=0x3, payload="x"), 1002),                                  # unknown opcode
    (dict(opcode=0x0, payload="x"), 1002),                                  # continuation first
    (dict(opcode=PING, payload="x", fin=False), 1002),                      # fragmented control
    (dict(opcode=BINARY, payload=b"\x00\x01"), 1003),                       # binary
    (dict(opcode=TEXT, payload=b"\xff\xfe"), 1007),                         # not UTF-8
])
def test_a_malformed_frame_closes_that_client_only(server, t, frame, code):
    bad, good = session_ws(server, t), session_ws(server, t)
    bad.send_frame(**frame)
    assert bad.expect_close() == code
    assert bad.at_eof()
    assert server.healthy()
    imported(server, t, message(addr("after"), "Still there? A question on pricing."))
    processed, _ = good.wait_for("email_processed")
    assert processed["data"]["count"] == 1
    good.close()


def test_an_oversized_frame_is_closed_with_1009(server, t):
    ws, good = session_ws(server, t), session_ws(server, t)
    # Only the header and a little of the 1 MiB payload: the length decides.
    ws.send_frame(TEXT, b"x" * 1000, length=1 << 20)
    assert ws.expect_close() == 1009
    assert ws.at_eof()
    # A message split into fragments is limited as a whole.
    ws2 = session_ws(server, t)
    for _ in range(3):
        ws2.send_frame(TEXT if _ == 0 else 0x0, b"y" * 30000, fin=False)
    assert ws2.expect_close() == 1009
    good.send_text('{"type":"ping"}')
    assert good.recv() == {"type": "pong"}
    for w in (ws, ws2, good):
        w.close()


# -- clients the hub gives up on -----------------------------------------------------


def test_a_client_that_never_reads_is_dropped(launcher):
    srv = launcher.start(env={"LEADFLOW_WS_MAX_QUEUE_BYTES": "65536"})
    t = new_tenant(srv, unique_email("slow"))
    slow = WS(srv.port, cookie=t.session.cookie, rcvbuf=4096)
    assert slow.status == 101
    good = session_ws(srv, t)
    # The hub takes a client in after its handshake's reply: wait for both.
    deadline = time.monotonic() + 10
    while metric(srv, "leadflow_ws_clients") != 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert metric(srv, "leadflow_ws_clients") == 2
    # The slow client asks for pongs and reads none of them (nor anything else).
    burst = b"".join(struct.pack("!BB", 0x81, 0x80 | 15) + b"\0\0\0\0" + b'{"type":"ping"}'
                     for _ in range(5000))
    dropped = False
    for _ in range(200):
        try:
            slow.sock.sendall(burst)
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        if any("stopped reading" in r.get("msg", "") for r in srv.logs("ws.closed")):
            dropped = True
            break
    assert dropped, "the client that never reads was not dropped"
    rec = srv.wait_for_log(lambda r: r.get("event") == "ws.closed"
                           and "stopped reading" in r.get("msg", ""), what="the slow client's drop")
    assert "65536" in rec["msg"]
    assert srv.healthy()
    imported(srv, t, message(addr("news"), "A question about the pricing of your product."))
    processed, _ = good.wait_for("email_processed")
    assert processed["data"]["count"] == 1
    deadline = time.monotonic() + 5
    while metric(srv, "leadflow_ws_clients") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(srv, "leadflow_ws_clients") == 1
    good.close()
    slow.close()


def test_a_client_that_does_not_answer_pings_is_closed(launcher):
    srv = launcher.start(env={"LEADFLOW_WS_PING_MS": "200"})
    t = new_tenant(srv, unique_email("ping"))
    mute, alive = session_ws(srv, t), session_ws(srv, t)
    answered, stop = [], threading.Event()

    def answer():  # the live client answers every ping (recv does) until told to stop
        while not stop.is_set():
            try:
                answered.append(alive.recv(timeout=0.1))
            except socket.timeout:
                pass

    th = threading.Thread(target=answer, daemon=True)
    th.start()
    try:
        # The mute client reads but never answers: pinged, then closed.
        op, _ = mute.recv_frame(timeout=3)
        assert op == PING
        code, deadline = None, time.monotonic() + 3
        while time.monotonic() < deadline and code is None:
            op, p = mute.recv_frame(timeout=deadline - time.monotonic())
            if op == CLOSE:
                code = struct.unpack("!H", p[:2])[0]
        assert code == 1008
        rec = srv.wait_for_log(lambda r: r.get("event") == "ws.closing"
                               and "ping" in r.get("msg", ""), what="the ping timeout")
        assert "1008" in rec["msg"]
        time.sleep(0.6)  # several more intervals
    finally:
        stop.set()
        th.join(5)
    # The one that answers is still served.
    alive.send_text('{"type":"ping"}')
    assert alive.wait_for("pong", timeout=3)
    alive.close()
    mute.close()


def test_stopping_the_server_says_going_away(launcher):
    srv = launcher.start()
    t = new_tenant(srv, unique_email("stop"))
    ws = session_ws(srv, t)
    assert srv.stop() == 0
    assert ws.expect_close() == 1001
