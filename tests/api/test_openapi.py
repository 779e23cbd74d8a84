"""docs/openapi.yaml describes exactly the routes the server has."""
import os
import subprocess

import yaml

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
