"""A fake OpenAI-compatible chat completions server for the AI provider tests.

Serves POST {prefix}/chat/completions as OpenAI documents it (and as Ollama,
llama.cpp's server and vLLM speak it): it checks the request shape and answers
400 (invalid_request_error) when anything is off, 401 (invalid_api_key) for a
wrong or missing bearer token when a key is set, 404 (model_not_found) for
another model when .model is set, and otherwise a chat.completion whose
choices[0].message.content is the model's text. Error bodies are
{"error":{"message","type","param","code"}}.

response_format: {"type":"json_schema","json_schema":{"name","strict","schema"}}
is checked against the rules of strict mode (every object closed with
additionalProperties false and every property required); a server without
json_schema (supports_schema = False, like older local servers) answers it
with 400, param "response_format". {"type":"json_object"} is accepted when the
messages say "JSON" somewhere, as OpenAI requires.

Knobs for a test (call set_mode(), or set the attributes):

  mode          "ok"             the analysis in .result as JSON text (a draft request, whose
                                 user message holds <contact>, gets .draft_result)
                "fail_then_ok"   .fail_times answers with .fail_status (429 carries
                                 Retry-After: .retry_after when that is set), then "ok"
                "always_500"     every answer is 500
                "slow"           sleeps .slow_seconds before answering "ok"
                "malformed"      the content is not JSON
                "schema_invalid" the content is JSON with an unknown intent (a draft: two subjects)
                "refusal"        message.refusal is set, content is null
                "length"         finish_reason "length", the content cut off
  api_key       the only bearer token accepted; None: no key expected (a local server), any
                Authorization header is still recorded
  model         the only model served; None: any
  supports_schema  False: json_schema is refused with 400

Every request is recorded in .requests (a list of Request, with its arrival
time on the monotonic clock) for assertions. Standard library only.
"""
import json
import re
import secrets
import time

from fakes.json_api import JsonAPIFake

MODES = ("ok", "fail_then_ok", "always_500", "slow", "malformed", "schema_invalid", "refusal",
         "length")
ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               404: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error",
               503: "server_error"}
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

DEFAULT_RESULT = {"intents": ["pricing_inquiry", "meeting_request"], "sentiment": "positive",
                  "sentiment_score": 0.75, "urgency": "high"}
DRAFT_MARKER = "<contact>"
DEFAULT_DRAFT = {
    "subjects": ["Chat subject one", "Chat subject two", "Chat subject three"],
    "body": "Hello,\n\n" + " ".join(["chat-draft-word"] * 160) + "\n\nKind regards",
    "callToAction": "Pick a time for a short call.",
}


class Request:
    """One recorded request: method, path, headers (dict, lower-case names), raw body,
    the parsed JSON body (or None), when it arrived, and the status sent back."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.at = time.monotonic()
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None
        self.status = None
        self.problem = None  # why a 4xx was sent

    def message(self, role):
        """The content of the first message with role, or None."""
        try:
            return next(m["content"] for m in self.json["messages"] if m.get("role") == role)
        except (TypeError, KeyError, StopIteration):
            return None

    @property
    def user_text(self):
        return self.message("user")

    @property
    def system_text(self):
        return self.message("system")

    @property
    def is_draft(self):
        text = self.user_text
        return isinstance(text, str) and DRAFT_MARKER in text

    @property
    def format_type(self):
        """response_format.type, or None."""
        try:
            return self.json["response_format"]["type"]
        except (TypeError, KeyError):
            return None

    def __repr__(self):
        return f"<{self.method} {self.path} {self.format_type} -> {self.status}>"


def strict_problem(schema, where="schema"):
    """Why schema breaks the rules of strict structured outputs, or None."""
    if not isinstance(schema, dict):
        return f"{where}: expected an object"
    t = schema.get("type")
    if t == "object":
        props = schema.get("properties")
        if not isinstance(props, dict):
            return f"{where}.properties: required for an object"
        if schema.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false in strict mode"
        if sorted(schema.get("required") or []) != sorted(props):
            return f"{where}.required: every property must be required in strict mode"
        for k, v in props.items():
            p = strict_problem(v, f"{where}.properties.{k}")
            if p:
                return p
    elif t == "array":
        return strict_problem(schema.get("items"), f"{where}.items")
    elif t not in ("string", "number", "integer", "boolean"):
        return f"{where}.type: {t!r} is not supported"
    return None


class FakeOpenAIAPI(JsonAPIFake):
    """The fake on 127.0.0.1 at a free port; start() returns self, .url is the base URL
    (with the /v1 prefix) to put in LEADFLOW_OPENAI_BASE_URL; stop() shuts it down."""

    request_class = Request
    modes = MODES
    error_statuses = tuple(ERROR_TYPES)
    request_id_header = "x-request-id"

    def __init__(self, api_key=None, model=None, prefix="/v1"):
        super().__init__()
        self.api_key = api_key
        self.model = model
        self.prefix = self.url_path = prefix
        self.supports_schema = True
        self.mode = "ok"
        self.fail_times = 0
        self.fail_status = 429
        self.retry_after = None
        self.slow_seconds = 3.0
        self.result = dict(DEFAULT_RESULT)
        self.draft_result = dict(DEFAULT_DRAFT)
        self._failed = 0

    # -- the protocol ------------------------------------------------------

    def check(self, req):
        """(status, message, param, code) when the request is wrong, else None."""
        if req.method != "POST" or req.path != self.prefix + "/chat/completions":
            return 404, f"Unknown request URL: {req.method} {req.path}", None, "unknown_url"
        h = req.headers
        if self.api_key is not None and h.get("authorization") != f"Bearer {self.api_key}":
            return 401, "Incorrect API key provided.", None, "invalid_api_key"
        if not h.get("content-type", "").startswith("application/json"):
            return 400, "content-type must be application/json", None, None
        b = req.json
        if not isinstance(b, dict):
            return 400, "We could not parse the JSON body of your request.", None, None
        if not isinstance(b.get("model"), str) or not b["model"]:
            return 400, "you must provide a model parameter", "model", None
        if self.model is not None and b["model"] != self.model:
            return (404, f"The model `{b['model']}` does not exist or you do not have access "
                    "to it.", None, "model_not_found")
        msgs = b.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return 400, "messages: a non-empty array is required", "messages", None
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user",
                                                                 "assistant"):
                return 400, f"messages[{i}].role: invalid", f"messages[{i}].role", None
            if not isinstance(m.get("content"), str) or not m["content"]:
                return 400, f"messages[{i}].content: a string is required", None, None
        mt = b.get("max_tokens")
        if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 1):
            return 400, "max_tokens: an integer >= 1 is required", "max_tokens", None
        rf = b.get("response_format")
        if rf is not None:
            if not isinstance(rf, dict) or rf.get("type") not in ("text", "json_object",
                                                                   "json_schema"):
                return 400, "response_format.type: invalid", "response_format", None
            if rf["type"] == "json_schema":
                if not self.supports_schema:
                    return (400, "Invalid parameter: 'response_format' of type 'json_schema' "
                            "is not supported with this model.", "response_format", None)
                js = rf.get("json_schema")
                if not isinstance(js, dict) or not SCHEMA_NAME.match(str(js.get("name", ""))):
                    return 400, "response_format.json_schema.name: invalid", "response_format", None
                if js.get("strict") is True:
                    p = strict_problem(js.get("schema"))
                    if p:
                        return 400, f"Invalid schema for response_format: {p}", None, None
            if rf["type"] == "json_object" and not any(
                    "json" in m["content"].lower() for m in msgs):
                return (400, "'messages' must contain the word 'json' in some form, to use "
                        "'response_format' of type 'json_object'.", "messages", None)
        if self.api_key:
            if self.api_key.encode() in req.body or self.api_key in req.path:
                return 400, "the API key belongs in the Authorization header only", None, None
        return None

    def answer(self, req):
        """(status, extra headers, body dict) for a request that passed check()."""
        with self._lock:
            mode = self.mode
            if mode == "fail_then_ok" and self._failed < self.fail_times:
                self._failed += 1
                return self._error(self.fail_status, retry_after=self.retry_after)
            result = dict(self.draft_result if req.is_draft else self.result)
            seconds = self.slow_seconds
        if mode == "always_500":
            return self._error(500)
        if mode == "slow" and self._stopping.wait(seconds):
            return self._error(503)
        finish, refusal = "stop", None
        if mode == "malformed":
            text = "Sure! {intents: [pricing_inquiry], sentiment: positive"
        elif mode == "refusal":
            text, refusal = None, "I'm sorry, I can't help with that request."
        else:
            if mode == "schema_invalid" and req.is_draft:
                result["subjects"] = list(result.get("subjects", []))[:2]
            elif mode == "schema_invalid":
                result["intents"] = ["buy_now_please"]
            text = json.dumps(result)
            if mode == "length":
                text, finish = text[:len(text) // 2], "length"
        return 200, {}, {
            "id": "chatcmpl-" + secrets.token_hex(12),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.json["model"],
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish,
            }],
            "usage": {"prompt_tokens": 380, "completion_tokens": 42, "total_tokens": 422},
        }

    def _error(self, status, message=None, param=None, code=None, retry_after=None):
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return status, headers, {"error": {"message": message or f"HTTP {status}",
                                           "type": ERROR_TYPES.get(status, "api_error"),
                                           "param": param, "code": code}}

    def handle(self, req):
        self.record(req)
        bad = self.check(req)
        if bad:
            status, msg, param, code = bad
            req.problem = msg
            return self._error(status, msg, param, code)
        return self.answer(req)

