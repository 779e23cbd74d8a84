"""Checks the replies the API tests receive against docs/openapi.yaml.

Server.request (conftest.py) hands every exchange to record(); an autouse
fixture of conftest.py calls check_recorded() after each test, so a reply that
contradicts the description fails the test that received it. A reply is
checked when its path and method are an operation of the description: its
status must be one the operation lists, and a JSON body must match the schema
given for that status. Replies to paths the description does not know (the
dashboard's static files, deliberately malformed requests) are checked only
as far as an error envelope goes.

The description is OpenAPI 3.0; its schemas become JSON Schema 2020-12 here
(nullable: true turns into "or null") and are checked with python3-jsonschema.
With LEADFLOW_OPENAPI_DUMP=FILE every exchange is appended to FILE as one JSON
line (method, template, status, body), to read what the server really sends.
"""
import json
import os
import re
from urllib.parse import urlsplit

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "post", "put", "patch", "delete")

_recorded = []
_spec = None


def load_spec():
    global _spec
    if _spec is None:
        with open(SPEC_PATH) as f:
            _spec = Spec(yaml.safe_load(f))
    return _spec


def to_json_schema(node):
    """An OpenAPI 3.0 schema object as JSON Schema 2020-12."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref":
            out[k] = v.replace("#/components/schemas/", "#/$defs/")
        elif k in ("nullable", "example", "discriminator", "xml", "externalDocs"):
            continue
        elif k in ("properties", "patternProperties"):
            out[k] = {name: to_json_schema(s) for name, s in v.items()}
        else:
            out[k] = to_json_schema(v)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.defs = {name: to_json_schema(s)
                     for name, s in doc.get("components", {}).get("schemas", {}).items()}
        self.routes = []
        for path, item in doc["paths"].items():
            rx = re.escape(path)
            rx = re.sub(r"\\\{[A-Za-z_]+\\\}", "[^/]+", rx)
            self.routes.append((re.compile("^" + rx + "$"), path, item))
        # Literal paths before templated ones (/api/emails/sent before /api/emails/{id}).
        self.routes.sort(key=lambda r: r[1].count("{"))

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            obj = node
        return obj

    def operation(self, method, path):
        """(template, operation) for a request, or (None, None)."""
        for rx, template, item in self.routes:
            if rx.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None, None

    def validator(self, schema):
        full = dict(to_json_schema(schema))
        full["$defs"] = self.defs
        return jsonschema.Draft202012Validator(full)

    def check(self, method, path, status, content_type, body):
        """The problems of one exchange, as a list of strings (empty when it conforms)."""
        template, op = self.operation(method, path)
        what = f"{method} {path} -> {status}"
        is_json = (content_type or "").split(";")[0].strip() == "application/json"
        if op is None:
            if is_json and status >= 400:
                return self._check_body(what, self.doc["components"]["schemas"]["Error"],
                                        body)
            return []
        what = f"{method} {template} -> {status}"
        responses = op.get("responses", {})
        resp = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") \
            or responses.get("default")
        if resp is None:
            return [f"{what}: status {status} is not documented for this operation "
                    f"(documented: {', '.join(sorted(responses))}); body {body[:200]!r}"]
        resp = self.resolve(resp)
        content = resp.get("content") or {}
        if "application/json" in content:
            if not is_json:
                return [f"{what}: documented as application/json, got {content_type!r}"]
            schema = content["application/json"].get("schema")
            if schema is None:
                return []
            return self._check_body(what, schema, body)
        if is_json and content:
            return [f"{what}: got JSON, documented as {', '.join(content)}"]
        return []

    def _check_body(self, what, schema, body):
        try:
            value = json.loads(body)
        except ValueError as exc:
            return [f"{what}: body is not JSON ({exc})"]
        errors = sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.path))
        return [f"{what}: at {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: "
                f"{e.message[:300]}" for e in errors[:5]]


def record(method, path, status, headers, body):
    entry = (method.upper(), urlsplit(path).path, status, headers.get("Content-Type"), body)
    _recorded.append(entry)
    dump = os.environ.get("LEADFLOW_OPENAPI_DUMP")
    if dump:
        template, _ = load_spec().operation(entry[0], entry[1])
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        with open(dump, "a") as f:
            f.write(json.dumps({"method": entry[0], "path": entry[1], "template": template,
                                "status": status, "contentType": entry[3],
                                "body": value}) + "\n")


def reset():
    _recorded.clear()


def check_recorded():
    """Problems of every exchange recorded since reset(); clears the record."""
    spec = load_spec()
    problems = []
    seen = set()
    for method, path, status, ctype, body in _recorded:
        for p in spec.check(method, path, status, ctype, body):
            if p not in seen:
                seen.add(p)
                problems.append(p)
    _recorded.clear()
    return problems
