"""Slow and greedy clients. A connection must deliver its request head (request
line and headers) within LEADFLOW_HEADER_TIMEOUT_MS of opening, or of its
previous request's end, however slowly it keeps sending; and one address holds
LEADFLOW_MAX_CONNECTIONS_PER_IP connections at most, so that other clients
still get through. Everything runs on loopback: the "other client" is bound to
127.0.0.2. Counts and waits are bounded for a small machine."""
import selectors
import socket
import threading
import time

import pytest

from test_limits import status_of

HEAD_MS = 2000  # the header deadline of the servers below
SLACK = 5.0  # how late after its deadline a closure may come on a loaded machine
HEALTH_BOUND = 30.0  # how long /healthz may take to answer, retries included


def connect(port, src="127.0.0.1", timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def healthz_once(port, src, timeout=5.0):
    """One GET /healthz from src on a new connection: the status, or None."""
    try:
        s = connect(port, src, timeout)
    except OSError:
        return None
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        return status_of(data)
    except OSError:
        return None
    finally:
        s.close()


def healthz_within(port, src, bound=HEALTH_BOUND):
    """Retries /healthz from src until it answers 200 or bound seconds pass."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if healthz_once(port, src) == 200:
            return True
        time.sleep(0.2)
    return False


def closed_by_peer(s):
    """True when the server has closed s (EOF or reset); False if still open."""
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def read_response(s):
    """Reads one response with a Content-Length from s; returns (status, raw bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return status_of(data), data
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return status_of(data), data


def wait_closed(s, bound):
    """Waits up to bound seconds for the server to close s; returns the time or None."""
    s.settimeout(bound)
    t0 = time.monotonic()
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return time.monotonic() - t0
    except socket.timeout:
        return None
    except OSError:
        return time.monotonic() - t0


def test_silent_and_trickling_connections_are_closed_at_the_deadline(launcher):
    """300 connections that never send and 50 that send a byte a second fill
    every slot; they are closed at the header deadline, and /healthz answers."""
    srv = launcher.start(env={
        "LEADFLOW_MAX_CONNECTIONS": "350",
        "LEADFLOW_MAX_CONNECTIONS_PER_IP": "400",
        "LEADFLOW_HEADER_TIMEOUT_MS": str(HEAD_MS),
        "LEADFLOW_REQUEST_TIMEOUT": "60",  # the inactivity timeout is not what closes them
        "LEADFLOW_THREADS": "2",
    })
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 64
    sel = selectors.DefaultSelector()
    opened = {}  # socket -> (connect time, trickles)
    socks = []
    try:
        for i in range(350):
            s = connect(srv.port)
            s.setblocking(False)
            trickles = i >= 300
            opened[s] = (time.monotonic(), trickles)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ)

        health = {}
        prober = threading.Thread(
            target=lambda: health.update(ok=healthz_within(srv.port, "127.0.0.2")))
        prober.start()

        closed = {}  # socket -> seconds after its connect
        sent = 0
        next_byte = time.monotonic()
        stop_at = time.monotonic() + HEAD_MS / 1000 + SLACK + 5
        while len(closed) < len(socks) and time.monotonic() < stop_at:
            now = time.monotonic()
            if now >= next_byte and sent < len(request):
                for s, (_, trickles) in opened.items():
                    if trickles and s not in closed:
                        try:
                            s.send(request[sent:sent + 1])
                        except OSError:
                            closed[s] = time.monotonic() - opened[s][0]
                sent += 1
                next_byte += 1.0
            for key, _ in sel.select(timeout=0.1):
                s = key.fileobj
                if s not in closed and closed_by_peer(s):
                    closed[s] = time.monotonic() - opened[s][0]
                    sel.unregister(s)
        prober.join(HEALTH_BOUND + 10)

        assert health.get("ok"), (
            f"/healthz from another address did not answer within {HEALTH_BOUND}s")
        silent_open = sum(1 for s in socks[:300] if s not in closed)
        trickling_open = sum(1 for s in socks[300:] if s not in closed)
        assert silent_open == 0 and trickling_open == 0, (
            f"still open after the deadline: {silent_open} silent, {trickling_open} trickling")
        # Closed by the deadline, not earlier: the trickling ones sent
        # something every second and never finished their head.
        assert min(closed.values()) >= HEAD_MS / 1000 - 0.3, sorted(closed.values())[:5]
        assert max(closed.values()) <= HEAD_MS / 1000 + SLACK, sorted(closed.values())[-5:]
        assert sent >= 2  # the trickle did run while the deadline went by
    finally:
        sel.close()
        for s in socks:
            s.close()

    # Logged, a line a second at most, with a count; no request line in it.
    recs = srv.wait_for_log(lambda r: r.get("event") == "http.header_timeout", timeout=5,
                            what="an http.header_timeout line")
    assert "127.0.0.1" in recs["msg"]
    lines = srv.logs("http.header_timeout")
    assert 1 <= len(lines) <= 15, len(lines)
    assert all("X-Slow" not in r["msg"] and "/healthz" not in r["msg"] for r in lines)
    assert srv.healthy()


def test_one_address_cannot_take_every_connection(launcher):
    """Over the per-address cap, connections from that address are closed at
    once, while a client from another address gets through."""
    srv = launcher.start(env={
        "LEADFLOW_MAX_CONNECTIONS": "16",
        "LEADFLOW_MAX_CONNECTIONS_PER_IP": "8",
        "LEADFLOW_HEADER_TIMEOUT_MS": "30000",
        "LEADFLOW_THREADS": "2",
    })
    greedy = []
    try:
        for _ in range(20):  # more than the cap, and more than every slot
            greedy.append(connect(srv.port))
        time.sleep(1.0)  # the refused ones are closed at once: well within this
        for s in greedy:
            s.setblocking(False)
        still_open = [s for s in greedy if not closed_by_peer(s)]
        assert len(still_open) == 8, f"{len(still_open)} connections from one address stay open"

        # Another address still gets through, more than once.
        for _ in range(3):
            assert healthz_once(srv.port, "127.0.0.2") == 200

        # The greedy address itself is refused while it holds the cap...
        extra = connect(srv.port)
        assert wait_closed(extra, 3.0) is not None, "a ninth connection was not refused"
        extra.close()
        # ... and gets a place again once it gives one up.
        still_open[0].close()
        assert healthz_within(srv.port, "127.0.0.1", bound=10.0)
    finally:
        for s in greedy:
            s.close()
    # Served again once the server has seen them go (it counts them off then).
    assert healthz_within(srv.port, "127.0.0.1", bound=10.0)


def test_deadline_covers_the_head_and_each_keepalive_wait(launcher):
    """A kept-alive connection must send its next head within the deadline of
    the previous request's end; a head that arrived in time may be followed by
    a slow body (the inactivity timeout governs that)."""
    head_ms = 1500
    srv = launcher.start(env={
        "LEADFLOW_HEADER_TIMEOUT_MS": str(head_ms),
        "LEADFLOW_REQUEST_TIMEOUT": "60",
    })
    # Two requests on one connection, the second one second after the first
    # (inside the deadline), then silence: closed at the deadline.
    s = connect(srv.port, timeout=10.0)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(s)[0] == 200
        time.sleep(1.0)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(s)[0] == 200
        waited = wait_closed(s, head_ms / 1000 + SLACK)
        assert waited is not None, "an idle kept-alive connection outlived the header deadline"
        assert waited >= head_ms / 1000 - 0.3
    finally:
        s.close()

    # The head at once, then a body a byte every 0.25 s for about 3 s
    # (twice the deadline): the reply comes.
    body = b'{"email":"x@y.test"}'
    s = connect(srv.port, timeout=10.0)
    try:
        s.sendall(b"POST /api/contacts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body) - 8):
            s.sendall(body[i:i + 1])
            time.sleep(0.25)
        s.sendall(body[len(body) - 8:])
        status, data = read_response(s)
        assert status is not None and status != 408, data[:200]
    finally:
        s.close()


def test_connection_settings_are_listed_and_checked(run_cli):
    r = run_cli("serve", "--help")
    assert r.returncode == 0
    for key in ("LEADFLOW_HEADER_TIMEOUT_MS", "LEADFLOW_MAX_CONNECTIONS_PER_IP"):
        assert key in r.stdout, r.stdout
    for env, reason in (({"LEADFLOW_HEADER_TIMEOUT_MS": "10s"}, "whole number"),
                        ({"LEADFLOW_HEADER_TIMEOUT_MS": "0"}, "from 100"),
                        ({"LEADFLOW_MAX_CONNECTIONS_PER_IP": "-1"}, "from 0")):
        r = run_cli("serve", "--listen", "127.0.0.1:0", env=env)
        assert r.returncode != 0
        key = next(iter(env))
        assert key in r.stderr and reason in r.stderr, r.stderr
        assert r.stdout == ""
