"""A fake Anthropic Messages API for the AI provider tests.

Serves POST /v1/messages as the documented API does (anthropic-version
2023-06-01, extended thinking): it checks the request shape and answers 400
(invalid_request_error) when anything is off, 401 (authentication_error) for a
wrong x-api-key, and otherwise a message whose content is a thinking block
followed by a text block. Error bodies are {"type":"error","error":{"type",
"message"}}.

Knobs for a test (call set_mode(), or set the attributes):

  mode          "ok"             the analysis in .result, as JSON text (a draft request,
                                 whose user message holds <contact>, gets .draft_result)
                "fail_then_ok"   .fail_times answers with .fail_status (429 with
                                 retry-after: 0, 529 overloaded, 500 api_error),
                                 then "ok"
                "always_500"     every answer is 500 api_error
                "slow"           sleeps .slow_seconds before answering "ok"
                "malformed"      the text block is not JSON
                "schema_invalid" the text block is JSON with an unknown intent (a draft:
                                 only two subjects)
  result        the analysis object the model "writes"
  draft_result  the draft object the model "writes" for a draft request
  fence         wrap the JSON text in a ```json fence
  api_key       the only key accepted

Every request is recorded in .requests (a list of Request) for assertions.
Standard library only.
"""
import json
import secrets

from fakes.json_api import JsonAPIFake

API_VERSION = "2023-06-01"
MIN_THINKING_BUDGET = 1024  # the documented minimum budget_tokens
MODES = ("ok", "fail_then_ok", "always_500", "slow", "malformed", "schema_invalid")
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
               429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}

DEFAULT_RESULT = {"intents": ["pricing_inquiry", "meeting_request"], "sentiment": "positive",
                  "sentiment_score": 0.75, "urgency": "high"}

DRAFT_MARKER = "<contact>"  # what a draft request's user message holds
DEFAULT_DRAFT = {
    "subjects": ["Model subject one", "Model subject two", "Model subject three"],
    "body": "Hi there,\n\n" + " ".join(["model-draft-word"] * 160) + "\n\nBest regards",
    "callToAction": "Reply with a time that suits you.",
}


class Request:
    """One recorded request: method, path, headers (dict, lower-case names), raw body,
    the parsed JSON body (or None), and the status sent back."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None
        self.status = None
        self.problem = None  # why a 400 was sent

    @property
    def is_draft(self):
        """True for a request that asks for a draft rather than an analysis."""
        text = self.user_text
        return isinstance(text, str) and DRAFT_MARKER in text

    @property
    def user_text(self):
        """The content of the first user message (a string), or None."""
        try:
            return self.json["messages"][0]["content"]
        except (TypeError, KeyError, IndexError):
            return None

    def __repr__(self):
        return f"<{self.method} {self.path} -> {self.status}>"


class FakeAnthropicAPI(JsonAPIFake):
    """The fake on 127.0.0.1 at a free port; start() returns self, .url is the base URL
    to put in LEADFLOW_ANTHROPIC_API_URL; stop() shuts it down."""

    request_class = Request
    modes = MODES
    error_statuses = tuple(ERROR_TYPES)

    def __init__(self, api_key=None):
        super().__init__()
        self.api_key = api_key or "sk-ant-fake-" + secrets.token_hex(16)
        self.mode = "ok"
        self.fail_times = 0
        self.fail_status = 429
        self.slow_seconds = 3.0
        self.result = dict(DEFAULT_RESULT)
        self.draft_result = dict(DEFAULT_DRAFT)
        self.fence = False
        self._failed = 0

    # -- the protocol ------------------------------------------------------

    def check(self, req):
        """(status, error message) when the request is wrong, else None."""
        if req.method != "POST" or req.path != "/v1/messages":
            return 404, f"{req.method} {req.path}: no such endpoint"
        h = req.headers
        if h.get("x-api-key") != self.api_key:
            return 401, "invalid x-api-key"
        if h.get("anthropic-version") != API_VERSION:
            return 400, f"anthropic-version must be {API_VERSION}"
        if not h.get("content-type", "").startswith("application/json"):
            return 400, "content-type must be application/json"
        key = self.api_key.encode()
        if key in req.body or self.api_key in req.path:
            return 400, "the API key belongs in the x-api-key header only"
        for name, value in h.items():
            if name != "x-api-key" and self.api_key in value:
                return 400, f"the API key appears in header {name}"
        b = req.json
        if not isinstance(b, dict):
            return 400, "the body is not a JSON object"
        if not isinstance(b.get("model"), str) or not b["model"]:
            return 400, "model: field required"
        mt = b.get("max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
            return 400, "max_tokens: a positive integer is required"
        th = b.get("thinking")
        if not isinstance(th, dict) or th.get("type") != "enabled":
            return 400, "thinking.type: expected \"enabled\""
        bt = th.get("budget_tokens")
        if not isinstance(bt, int) or isinstance(bt, bool) or bt < MIN_THINKING_BUDGET:
            return 400, f"thinking.budget_tokens: must be >= {MIN_THINKING_BUDGET}"
        if mt <= bt:
            return 400, "max_tokens must be greater than thinking.budget_tokens"
        if "temperature" in b and b["temperature"] != 1:
            return 400, "temperature may not be changed while thinking is enabled"
        if "system" in b and not isinstance(b["system"], (str, list)):
            return 400, "system: expected a string or a list of text blocks"
        msgs = b.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return 400, "messages: a non-empty list is required"
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                return 400, f"messages.{i}.role: expected user or assistant"
            if not isinstance(m.get("content"), (str, list)) or not m["content"]:
                return 400, f"messages.{i}.content: required"
        if msgs[0]["role"] != "user":
            return 400, "messages.0.role: the first message must be from the user"
        return None

    def answer(self, req):
        """(status, extra headers, body dict) for a request that passed check()."""
        with self._lock:
            mode = self.mode
            if mode == "fail_then_ok" and self._failed < self.fail_times:
                self._failed += 1
                return self._error(self.fail_status)
            result = dict(self.draft_result if req.is_draft else self.result)
            fence = self.fence
            seconds = self.slow_seconds
        if mode == "always_500":
            return self._error(500)
        if mode == "slow":
            if self._stopping.wait(seconds):
                return self._error(529)
        if mode == "malformed":
            text = "Sure! Here is what I found: {intents: [pricing_inquiry, sentiment: positive"
        else:
            if mode == "schema_invalid" and req.is_draft:
                result["subjects"] = list(result.get("subjects", []))[:2]
            elif mode == "schema_invalid":
                result["intents"] = ["buy_now_please"]
            text = json.dumps(result)
        if fence:
            text = "```json\n" + text + "\n```"
        return 200, {}, {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": req.json["model"],
            "content": [
                {"type": "thinking",
                 "thinking": "The sender asks about prices and wants a call this week.",
                 "signature": "EqQBCgIYAhIM" + secrets.token_hex(24)},
                {"type": "text", "text": text},
            ],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 412, "output_tokens": 187},
        }

    def _error(self, status, message=None):
        headers = {"retry-after": "0"} if status == 429 else {}
        etype = ERROR_TYPES[status]
        return status, headers, {"type": "error",
                                 "error": {"type": etype, "message": message or etype}}

    def handle(self, req):
        self.record(req)
        bad = self.check(req)
        if bad:
            req.problem = bad[1]
            return self._error(bad[0], bad[1])
        return self.answer(req)

