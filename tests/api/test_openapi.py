"""docs/openapi.yaml describes exactly the routes the server has."""
import json
import os
import subprocess

import yaml

import openapicheck

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_routes():
    out = subprocess.run([os.environ["LEADFLOW_BIN"], "routes"], check=True,
                         capture_output=True, text=True).stdout
    routes = set()
    for line in out.splitlines():
        method, pattern, _flags = line.split("\t")
        routes.add((method.lower(), pattern))
    return routes


def spec_routes(spec):
    routes = set()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                routes.add((method, path))
    return routes


def test_spec_is_openapi_3():
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op.get("responses"), f"{method.upper()} {path} lists no responses"


def test_spec_matches_route_table():
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    have, documented = server_routes(), spec_routes(spec)
    missing = sorted(have - documented)
    stale = sorted(documented - have)
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"
    assert not stale, f"docs/openapi.yaml documents routes the server lacks: {stale}"


def test_every_json_reply_has_a_schema():
    """Each operation's JSON replies name a schema, and every route that needs
    authentication documents 401 (403 too when it changes state)."""
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    flags = {}
    out = subprocess.run([os.environ["LEADFLOW_BIN"], "routes"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        method, pattern, fl = line.split("\t")
        flags[(method.lower(), pattern)] = set(fl.split(","))
    problems = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            f = flags.get((method, path), set())
            for status, resp in op["responses"].items():
                if "$ref" in resp:
                    continue
                json_content = (resp.get("content") or {}).get("application/json")
                if json_content is not None and "schema" not in json_content:
                    problems.append(f"{method.upper()} {path} {status}: JSON without a schema")
            if "auth" in f and "401" not in op["responses"]:
                problems.append(f"{method.upper()} {path}: no 401")
            if {"auth", "write"} <= f and "403" not in op["responses"]:
                problems.append(f"{method.upper()} {path}: no 403")
    assert not problems, "\n".join(problems)


def test_reply_check_catches_mismatches():
    """The check every API test's replies go through (openapicheck) rejects a
    missing required field, a wrong type, a null where none is allowed and an
    undocumented status, and accepts the real shape."""
    spec = openapicheck.load_spec()
    token = {"id": "7", "workspaceId": "w", "name": "ci", "createdAt": "2026-01-01T00:00:00Z",
             "lastUsedAt": None, "revokedAt": None}

    def check(status, body):
        return spec.check("GET", "/api/tokens", status, "application/json",
                          json.dumps(body).encode())

    assert check(200, {"success": True, "data": [token]}) == []
    missing = {k: v for k, v in token.items() if k != "lastUsedAt"}
    assert any("lastUsedAt" in p for p in check(200, {"success": True, "data": [missing]}))
    wrong = dict(token, name=5)
    assert any("not of type 'string'" in p for p in check(200, {"success": True, "data": [wrong]}))
    nulled = dict(token, createdAt=None)
    assert check(200, {"success": True, "data": [nulled]})
    assert check(200, {"success": True, "data": token})
    assert any("not documented" in p for p in check(418, {"success": False}))
    error = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "sign in"}}
    assert check(401, error) == []
    assert check(401, {"success": False, "error": {"code": "NOPE", "message": "x"}})
