"""HTTP behaviour of `leadflow serve`: health, request ids, metrics, routing
errors and static files (DESIGN.md section 4)."""
import os
import re
import threading

import pytest

from conftest import INDEX_HTML, OUTSIDE, PAGE_HTML, SECRET, STORE_NAME, STYLE_CSS


# -- /healthz and request ids ------------------------------------------------


def test_healthz_envelope(server):
    r = server.get("/healthz")
    assert r.status == 200
    assert r.header("Content-Type", "").startswith("application/json")
    body = r.json
    assert body["success"] is True
    assert "error" not in body
    data = body["data"]
    assert data["status"] == "ok"
    assert data["database"] == STORE_NAME
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["version"]), data
    assert isinstance(data["uptimeSeconds"], int) and data["uptimeSeconds"] >= 0
    # JSON replies are not cached and not sniffed.
    assert r.header("Cache-Control") == "no-store"
    assert r.header("X-Content-Type-Options") == "nosniff"


def test_request_id_present_and_unique(server):
    ids = []
    for _ in range(20):
        r = server.get("/healthz")
        assert r.status == 200
        rid = r.header("X-Request-Id")
        assert rid, "X-Request-Id header missing"
        assert len(r.header_all("X-Request-Id")) == 1
        ids.append(rid)
    # Error replies carry one too.
    for path, method in (("/no-such-route", "GET"), ("/healthz", "POST")):
        r = server.request(method, path)
        assert r.status in (404, 405)
        assert r.header("X-Request-Id")
        ids.append(r.header("X-Request-Id"))
    assert len(set(ids)) == len(ids), f"duplicate request ids: {ids}"


def test_request_ids_unique_across_concurrent_requests(server):
    ids, errors = [], []
    lock = threading.Lock()

    def worker():
        try:
            for _ in range(10):
                r = server.get("/healthz")
                with lock:
                    ids.append((r.status, r.header("X-Request-Id")))
        except Exception as exc:  # reported below, in the main thread
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(ids) == 80
    assert all(status == 200 for status, _ in ids)
    rids = [rid for _, rid in ids]
    assert all(rids)
    assert len(set(rids)) == len(rids), "request ids repeat under concurrency"


def test_access_log_carries_request_id(server):
    r = server.get("/healthz?probe=access-log")
    assert r.status == 200
    rid = r.header("X-Request-Id")
    rec = server.wait_for_log(
        lambda rec: rec.get("event") == "http.request" and rec.get("request_id") == rid,
        what=f"the http.request log line with request_id {rid}")
    assert rec["method"] == "GET"
    assert rec["path"] == "/healthz"  # the query string is not logged
    assert rec["status"] == 200
    assert rec["level"] == "info"
    assert rec["bytes"] == len(r.body)
    # Exactly one access log line per request.
    same = [x for x in server.logs("http.request") if x.get("request_id") == rid]
    assert len(same) == 1, same


def test_access_log_for_error_reply(server):
    r = server.get("/definitely/not/here")
    assert r.status == 404
    rid = r.header("X-Request-Id")
    rec = server.wait_for_log(
        lambda rec: rec.get("event") == "http.request" and rec.get("request_id") == rid,
        what=f"the http.request log line with request_id {rid}")
    assert rec["status"] == 404
    assert rec["path"] == "/definitely/not/here"


def test_keep_alive_serves_several_requests_on_one_connection(server):
    conn = server.connection()
    try:
        rids = []
        for _ in range(3):
            r = server.request("GET", "/healthz", conn=conn)
            assert r.status == 200
            assert r.json["data"]["status"] == "ok"
            rids.append(r.header("X-Request-Id"))
        assert len(set(rids)) == 3
    finally:
        conn.close()


# -- /metrics ----------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> (samples, help, types).

    samples: list of (name, {label: value}, float)."""
    samples, helps, types = [], {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert doc, f"HELP without text: {line!r}"
            helps[name] = doc
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"TYPE given twice for {name}"
            types[name] = typ
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        name, _, labeltext, value = m.groups()
        labels = {}
        if labeltext:
            rebuilt = ",".join(f'{k}="{v}"' for k, v in LABEL.findall(labeltext))
            assert rebuilt == labeltext, f"malformed labels in {line!r}"
            labels = dict(LABEL.findall(labeltext))
        v = float(value)  # also accepts +Inf, NaN
        samples.append((name, labels, v))
    return samples, helps, types


def family(name, types):
    """The metric family a sample name belongs to (histogram suffixes stripped)."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def get_metrics(server):
    r = server.get("/metrics")
    assert r.status == 200
    return r, parse_metrics(r.text)


def counter_value(samples, name, **labels):
    total = 0.0
    for n, l, v in samples:
        if n == name and all(l.get(k) == want for k, want in labels.items()):
            total += v
    return total


def test_metrics_content_type_and_build_info(server):
    r, (samples, helps, types) = get_metrics(server)
    ctype = r.header("Content-Type", "")
    assert ctype.startswith("text/plain"), ctype
    assert "version=0.0.4" in ctype.replace(" ", ""), ctype
    info = [(l, v) for n, l, v in samples if n == "leadflow_build_info"]
    assert len(info) == 1, info
    labels, value = info[0]
    assert value == 1
    assert re.fullmatch(r"\d+\.\d+\.\d+", labels.get("version", "")), labels
    assert types.get("leadflow_build_info") == "gauge"


def test_every_metric_is_named_leadflow_and_declared(server):
    server.get("/healthz")
    _, (samples, helps, types) = get_metrics(server)
    assert samples
    for name, _, _ in samples:
        assert name.startswith("leadflow_"), f"metric {name} is not named leadflow_*"
        fam = family(name, types)
        assert fam in types, f"{name}: no # TYPE line for {fam}"
        assert fam in helps, f"{name}: no # HELP line for {fam}"
    for name in list(types) + list(helps):
        assert name.startswith("leadflow_"), name


def test_metrics_count_healthz_requests(server):
    _, (before, _, _) = get_metrics(server)
    n0 = counter_value(before, "leadflow_http_requests_total", route="/healthz", method="GET",
                       code="200")
    for _ in range(5):
        assert server.get("/healthz").status == 200
    _, (after, _, types) = get_metrics(server)
    assert types.get("leadflow_http_requests_total") == "counter"
    n1 = counter_value(after, "leadflow_http_requests_total", route="/healthz", method="GET",
                       code="200")
    assert n1 - n0 == 5, (n0, n1)


def test_metrics_count_errors_by_code(server):
    _, (before, _, _) = get_metrics(server)
    n0 = counter_value(before, "leadflow_http_requests_total", code="404")
    for _ in range(3):
        assert server.get("/metrics-test-missing").status == 404
    _, (after, _, _) = get_metrics(server)
    n1 = counter_value(after, "leadflow_http_requests_total", code="404")
    assert n1 - n0 == 3, (n0, n1)


def test_metrics_histogram_is_consistent(server):
    for _ in range(3):
        server.get("/healthz")
    _, (samples, _, types) = get_metrics(server)
    hists = [n for n, t in types.items() if t == "histogram"]
    assert hists, "no histogram metric"
    assert "leadflow_http_request_duration_seconds" in hists
    checked_healthz = False
    for h in hists:
        series = {}
        for n, l, v in samples:
            if family(n, types) != h:
                continue
            key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
            if n == h + "_bucket":
                assert "le" in l, f"bucket without le: {n} {l}"
                s["buckets"].append((float(l["le"]), v))
            elif n == h + "_sum":
                s["sum"] = v
            elif n == h + "_count":
                s["count"] = v
            else:
                pytest.fail(f"unexpected sample {n} in histogram {h}")
        assert series, f"histogram {h} has no series"
        for key, s in series.items():
            assert s["buckets"], f"{h}{key}: no _bucket lines"
            assert s["sum"] is not None, f"{h}{key}: no _sum"
            assert s["count"] is not None, f"{h}{key}: no _count"
            bounds = [b for b, _ in s["buckets"]]
            assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), bounds
            assert bounds[-1] == float("inf"), f"{h}{key}: no +Inf bucket"
            counts = [c for _, c in s["buckets"]]
            assert counts == sorted(counts), f"{h}{key}: buckets not cumulative: {counts}"
            assert counts[-1] == s["count"], f"{h}{key}: +Inf bucket != _count"
            assert s["sum"] >= 0
            if dict(key).get("route") == "/healthz":
                checked_healthz = True
                assert s["count"] >= 3
    assert checked_healthz, "no duration histogram for route /healthz"


# -- routing errors, methods, HEAD -------------------------------------------


def assert_error_envelope(r, status, code):
    assert r.status == status, r
    assert r.header("Content-Type", "").startswith("application/json"), r.headers
    body = r.json
    assert body["success"] is False, body
    assert "data" not in body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body


def test_unknown_route_is_404_envelope(server):
    r = server.get("/api/no-such-thing")
    assert_error_envelope(r, 404, "NOT_FOUND")


def test_unknown_route_with_post_is_404_envelope(server):
    r = server.request("POST", "/no/such/route", body=b"{}",
                       headers={"Content-Type": "application/json"})
    assert_error_envelope(r, 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow(server):
    r = server.request("POST", "/healthz", body=b"")
    assert_error_envelope(r, 405, "METHOD_NOT_ALLOWED")
    allow = [m.strip() for m in r.header("Allow", "").split(",")]
    assert sorted(allow) == ["GET", "HEAD"], r.header("Allow")


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_other_wrong_methods_are_405(server, method):
    r = server.request(method, "/metrics", body=b"")
    assert_error_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.header("Allow", "")


def raw_head(server, path):
    """HEAD over a raw socket (http.client would hide stray body bytes):
    returns (status, headers dict with lower-case names, bytes after the headers)."""
    data, how = server.raw(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                           b"Connection: close\r\n\r\n")
    assert how == "closed", (how, data[:300])
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, data[:300]
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def test_head_healthz_has_headers_and_no_body(server):
    status, headers, rest = raw_head(server, "/healthz")
    assert status == 200
    assert rest == b"", f"HEAD reply carries a body: {rest[:200]!r}"
    assert headers.get("content-type", "").startswith("application/json")
    assert headers.get("x-request-id")
    # The headers are those of GET; the length, when given, is that of the GET body.
    get = server.get("/healthz")
    if "content-length" in headers:
        assert int(headers["content-length"]) == len(get.body)


def test_head_on_connection_then_get_still_works(server):
    """A HEAD reply must not leave body bytes that corrupt the next reply."""
    conn = server.connection()
    try:
        assert server.request("HEAD", "/healthz", conn=conn).status == 200
        r = server.request("GET", "/healthz", conn=conn)
        assert r.status == 200 and r.json["success"] is True
    finally:
        conn.close()


# -- static files --------------------------------------------------------------


def test_index_html_is_served(server):
    r = server.get("/index.html")
    assert r.status == 200
    assert r.header("Content-Type", "").startswith("text/html")
    assert r.body == INDEX_HTML
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("X-Frame-Options") == "DENY"


STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
              "form-action 'self'")


def test_pages_carry_a_strict_content_security_policy(server, launcher):
    for path in ("/index.html", "/sub/page"):
        assert server.get(path).header("Content-Security-Policy") == STRICT_CSP, path
    # Not needed on what is not a page.
    assert server.get("/style.css").header("Content-Security-Policy") is None
    # The dashboard's own pages, served from web/.
    web = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "web")
    srv = launcher.start(web_dir=web)
    for path in ("/index.html", "/login", "/dashboard/overview", "/dashboard/contacts/x"):
        r = srv.get(path)
        assert r.status == 200 and r.header("Content-Type", "").startswith("text/html"), path
        assert r.header("Content-Security-Policy") == STRICT_CSP, path
        # Nothing inline for the policy to refuse.
        html = r.body.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\son[a-z]+=|\sstyle=", html), path


def test_root_sends_a_stranger_to_sign_in(server):
    r = server.get("/")
    assert r.status == 302 and r.header("Location") == "/login"
    status, headers, rest = raw_head(server, "/")
    assert status == 302 and rest == b""


def test_head_index_has_no_body(server):
    status, headers, rest = raw_head(server, "/index.html")
    assert status == 200
    assert rest == b"", f"HEAD reply carries a body: {rest[:200]!r}"
    assert headers.get("content-type", "").startswith("text/html")
    if "content-length" in headers:
        assert int(headers["content-length"]) == len(INDEX_HTML)


def test_static_file_types(server):
    r = server.get("/style.css")
    assert r.status == 200
    assert r.header("Content-Type", "").startswith("text/css")
    assert r.body == STYLE_CSS
    r = server.get("/sub/page.html")
    assert r.status == 200 and r.body == PAGE_HTML
    # Extension-less pages resolve to NAME.html.
    r = server.get("/sub/page")
    assert r.status == 200 and r.body == PAGE_HTML


def test_missing_static_file_is_404_envelope(server):
    assert_error_envelope(server.get("/nope.css"), 404, "NOT_FOUND")


TRAVERSALS = [
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/sub/../../outside.txt",
    "/sub/%2e%2e/%2e%2e/outside.txt",
    "/../outside.txt",
    "/%2e%2e/outside.txt",
    "/..%5coutside.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/escape.txt",  # a symlink pointing out of the web directory
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_404(server, path):
    r = server.get(path)
    assert r.status == 404, f"{path} -> {r.status} {r.body[:200]!r}"
    assert b"root:" not in r.body
    assert OUTSIDE not in r.body
    assert r.json["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ["/.secret", "/.git/config", "/%2esecret", "/sub/../.secret"])
def test_hidden_files_are_404(server, path):
    r = server.get(path)
    assert r.status == 404, f"{path} -> {r.status}"
    assert SECRET not in r.body


def test_static_path_with_control_character_is_not_served(server):
    for path in ("/index%0a.html", "/index%09.html", "/index%7f.html"):
        r = server.get(path)
        assert 400 <= r.status < 500, f"{path} -> {r.status}"
        assert INDEX_HTML not in r.body


@pytest.mark.parametrize("path", ["/index.html%00.css", "/healthz%00junk"])
def test_path_with_encoded_nul_is_rejected(server, path):
    r = server.get(path)
    assert 400 <= r.status < 500, f"{path} -> {r.status}"


def test_post_to_static_file_is_not_served(server):
    r = server.request("POST", "/index.html", body=b"x")
    assert r.status in (404, 405)
    assert INDEX_HTML not in r.body
    assert r.json["success"] is False
