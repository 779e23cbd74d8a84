"""Hostile or broken clients: oversized bodies, URLs and headers, malformed
requests, many connections. After each, the server must keep serving."""
import json
import select
import socket
import threading
import time

import pytest

from conftest import read_until_close

LIMIT = 2048


@pytest.fixture(scope="module")
def small_server(bin_path, tmp_path_factory, web_dir):
    """A server with a 2 KiB body limit and a short request timeout."""
    from conftest import Launcher

    lx = Launcher(bin_path, tmp_path_factory, web_dir)
    srv = lx.start(env={"LEADFLOW_MAX_BODY_BYTES": str(LIMIT),
                        "LEADFLOW_REQUEST_TIMEOUT": "1"})
    yield srv
    failures = lx.stop_all()
    assert not failures, "\n".join(failures)


def status_of(data):
    """The status code of the first response line in data, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    return status_of(data), headers, body


def assert_still_serving(srv):
    assert srv.healthy(), f"server stopped serving; stderr:\n{srv.stderr_text[-3000:]}"


# -- request bodies over the limit --------------------------------------------


def test_body_over_limit_with_content_length_is_413(small_server):
    body = b"a" * 10000
    req = (b"POST /api/contacts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    data, how = small_server.raw(req)
    status, headers, payload = split_response(data)
    assert status == 413, (how, data[:300])
    env = json.loads(payload)
    assert env["success"] is False
    assert env["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert str(LIMIT) in env["error"]["message"]
    assert headers.get("content-type", "").startswith("application/json")
    assert headers.get("x-request-id")
    # The rest of the body is not read: the connection is closed after the reply.
    assert headers.get("connection", "").lower() == "close"
    assert how in ("closed", "reset")
    assert_still_serving(small_server)


def test_body_over_limit_via_http_client(small_server):
    """The same through http.client (the limit applies before routing)."""
    try:
        r = small_server.request("POST", "/healthz", body=b"x" * 10000,
                                 headers={"Content-Type": "application/json"})
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close before the client has sent everything
    else:
        assert r.status == 413
        assert r.json["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert_still_serving(small_server)


def test_declared_length_over_limit_refused_before_100_continue(small_server):
    """Expect: 100-continue with a too-large Content-Length gets 413, not 100."""
    s = socket.create_connection(("127.0.0.1", small_server.port), timeout=5)
    try:
        s.sendall(b"POST /api/contacts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        data, how = read_until_close(s)
    finally:
        s.close()
    assert status_of(data) == 413, (how, data[:300])
    assert b"100 Continue" not in data
    assert b"PAYLOAD_TOO_LARGE" in data
    assert_still_serving(small_server)


def test_body_at_limit_is_not_refused_as_too_large(small_server):
    body = b"b" * LIMIT
    r = small_server.request("POST", "/healthz", body=body)
    assert r.status == 405  # routed normally: POST is not allowed on /healthz
    assert r.json["error"]["code"] == "METHOD_NOT_ALLOWED"


def send_chunked_gradually(port, path, total, chunk=512):
    """Sends a chunked body of `total` bytes a chunk at a time, reading whatever the
    server answers meanwhile. Returns (response bytes, how it ended)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    got = b""
    ended = None
    try:
        s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n")
        sent = 0
        while sent < total:
            piece = b"%x\r\n" % chunk + b"c" * chunk + b"\r\n"
            try:
                s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                ended = "send-failed"
                break
            sent += chunk
            time.sleep(0.002)
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    d = s.recv(65536)
                except ConnectionResetError:
                    ended = "reset"
                    break
                if not d:
                    ended = "closed"
                    break
                got += d
        else:
            try:
                s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                ended = "send-failed"
        rest, how = read_until_close(s)
        got += rest
        return got, ended or how
    finally:
        s.close()


@pytest.mark.parametrize("path", ["/api/contacts", "/healthz", "/no-such-route"])
def test_chunked_body_over_limit_is_refused(small_server, path):
    data, how = send_chunked_gradually(small_server.port, path, total=LIMIT * 8)
    status = status_of(data)
    # Either a 413 reply, or the connection closed without any 2xx.
    assert status is None or status == 413, (status, how, data[:300])
    if status is None:
        assert how in ("closed", "reset", "send-failed"), (how, data[:300])
    else:
        assert b"PAYLOAD_TOO_LARGE" in data
    assert_still_serving(small_server)


def test_chunked_body_over_limit_gets_413_reply(small_server):
    data, how = send_chunked_gradually(small_server.port, "/healthz", total=LIMIT * 8)
    assert status_of(data) == 413, (how, data[:300])


def test_chunked_body_under_limit_is_accepted(small_server):
    data, how = send_chunked_gradually(small_server.port, "/healthz", total=1024)
    # Routed normally: POST /healthz is 405, not 413.
    assert status_of(data) == 405, (how, data[:300])


# -- oversized request lines and headers ---------------------------------------


def test_overlong_url_is_414(small_server):
    req = b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    data, how = small_server.raw(req)
    status = status_of(data)
    assert status == 414 or (status is not None and 400 <= status < 500) or \
        (status is None and how in ("closed", "reset")), (how, data[:200])
    assert status != 200
    assert_still_serving(small_server)


def test_overlong_url_gets_414_exactly(small_server):
    data, _ = small_server.raw(b"GET /?q=" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert status_of(data) == 414, data[:200]


def test_overlong_header_is_431(small_server):
    req = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"h" * 100_000 + b"\r\n\r\n"
    data, how = small_server.raw(req)
    status = status_of(data)
    assert status == 431, (how, data[:200])
    assert_still_serving(small_server)


def test_many_headers_is_refused(small_server):
    hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(3000))
    data, how = small_server.raw(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + hdrs + b"\r\n")
    status = status_of(data)
    assert status is None or 400 <= status < 500, (how, data[:200])
    assert_still_serving(small_server)


# -- malformed requests ----------------------------------------------------------


@pytest.mark.parametrize("req", [
    b"garbage garbage\r\n\r\n",
    b"GET /healthz\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: t\r\nthis is not a header\r\n\r\n",
    b"garbage\r\n\r\n",
    b"\r\n\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
])
def test_malformed_request_is_400_or_closed(small_server, req):
    data, how = small_server.raw(req, timeout=10)
    status = status_of(data)
    assert how != "timeout", f"server neither answered nor closed: {data[:200]!r}"
    assert status is None or 400 <= status < 500, (how, data[:300])
    assert_still_serving(small_server)


@pytest.mark.parametrize("req", [
    b"\x00\x01garbage garbage\r\n\r\n",
    # A TLS ClientHello sent to the plain-HTTP port.
    bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32 + b"\x00\x00\x02\x13\x01\x01\x00",
])
def test_binary_garbage_is_400_or_closed(small_server, req):
    # The server may wait for the request timeout (1 s here) before closing.
    data, how = small_server.raw(req, timeout=15)
    status = status_of(data)
    assert how != "timeout", "connection still open long after the request timeout"
    assert status is None or 400 <= status < 500, (how, data[:300])
    assert_still_serving(small_server)


def test_unsupported_http_version(small_server):
    data, how = small_server.raw(b"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n")
    status = status_of(data)
    assert status is None or status in (400, 505), (how, data[:200])
    assert_still_serving(small_server)


def test_idle_partial_request_is_closed_after_timeout(small_server):
    s = socket.create_connection(("127.0.0.1", small_server.port), timeout=15)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # never finished
        data, how = read_until_close(s)
    finally:
        s.close()
    assert how in ("closed", "reset"), "a stalled request is never timed out"
    assert status_of(data) in (None, 408), data[:200]
    assert_still_serving(small_server)


# -- many connections ---------------------------------------------------------------


def healthz_from(server, src):
    """GET /healthz on a connection from the loopback address src; the status or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", server.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        return status_of(read_until_close(s)[0])
    except OSError:
        return None
    finally:
        s.close()


def wait_serving(server, bound=10.0):
    """Retries /healthz until it answers: closed connections are counted off
    the per-address limit once the server has seen them go."""
    deadline = time.monotonic() + bound
    while True:
        try:
            if server.healthy():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, \
            f"server did not serve again; stderr:\n{server.stderr_text}"
        time.sleep(0.1)


def test_many_concurrent_connections(server):
    """200 connections from one address, half of them stalled part-way through
    a request: more than that address may hold (LEADFLOW_MAX_CONNECTIONS_PER_IP,
    64 by default), and another address is still served."""
    socks = []
    try:
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        # Half of them send a partial request and stall.
        for s in socks[::2]:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
            except OSError:
                pass  # one the server refused (over the per-address limit)
        assert healthz_from(server, "127.0.0.2") == 200
    finally:
        for s in socks:
            s.close()
    wait_serving(server)


def test_parallel_requests_all_succeed(server):
    results, lock = [], threading.Lock()

    def worker():
        for _ in range(5):
            try:
                ok = server.get("/healthz").status
            except Exception as exc:  # noqa: BLE001
                ok = repr(exc)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 200
    assert results == [200] * 200, [r for r in results if r != 200][:5]


def test_connection_limit_recovers(launcher):
    srv = launcher.start(env={"LEADFLOW_MAX_CONNECTIONS": "8", "LEADFLOW_THREADS": "2"})
    socks = []
    try:
        for _ in range(40):
            try:
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
            except OSError:
                break
        time.sleep(0.2)  # let the server accept (and refuse) them
    finally:
        for s in socks:
            s.close()
    # Once the clients are gone the server serves again.
    deadline = time.monotonic() + 10
    while True:
        try:
            if srv.healthy():
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, \
            f"server did not recover after the connection flood; stderr:\n{srv.stderr_text}"
        time.sleep(0.1)
