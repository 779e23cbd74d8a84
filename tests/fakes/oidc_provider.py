"""A fake OpenID Connect provider for the sign-in tests.

Real enough to exercise a relying party end to end (OpenID Connect Core 1.0,
Discovery 1.0, OAuth 2.0 RFC 6749 section 4.1, PKCE RFC 7636):

  GET  /.well-known/openid-configuration   discovery document
  GET  /authorize                          validates the authorization request,
                                           issues a one-time code, 302 to redirect_uri
  POST /token                              form-encoded code exchange with PKCE S256,
                                           and grant_type=refresh_token (RFC 6749 section 6)
  GET  /jwks                               the RSA public signing key as a JWK set
  GET  /userinfo                           claims about the holder of a Bearer access
                                           token (OpenID Connect Core 5.3)

ID tokens are real RS256 JWS compact serializations signed with an RSA-2048
key (python3-cryptography). Knobs for a test, all plain attributes:

  user            who signs in at /authorize: dict with sub, email, name,
                  email_verified (keys left out are left out of the token)
  authorize_error set to an OAuth error code (e.g. "access_denied") and the
                  next /authorize answers 302 redirect_uri?error=..&state=..
                  instead of a code (then it resets to None)
  token_fault     one of FAULTS: the next successful /token call returns an
                  ID token spoiled that way (then it resets to None)
  userinfo_only   True: ID tokens carry only sub of the user's claims (no email,
                  email_verified, name); /userinfo serves the rest, as some
                  providers do (OpenID Connect Core 5.4)
  userinfo_sub    when set, /userinfo names this sub instead of the user's
  token_auth_methods  what discovery lists as token_endpoint_auth_methods_supported
                  (None: the field is left out, meaning client_secret_basic). The
                  token endpoint accepts only a listed method, and only one at a
                  time (RFC 6749 section 2.3); each /token Request records the
                  method it used in .auth_method

Offline access (as Google does it): an authorization request with
access_type=offline gets a refresh token with its code exchange; a refresh
grant returns a new access token. Every access token issued is recorded, so
a resource server fake can check Bearer tokens with access_token_info();
expire_access_tokens() and revoke_refresh_tokens() spoil them for a test
(a revoked refresh token answers 400 invalid_grant).

Every request is recorded in .requests (a list of Request) for assertions.

Standard library plus python3-cryptography; nothing else.
"""
import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# What token_fault may be set to.
FAULTS = (
    "wrong_aud",  # aud names another client
    "wrong_iss",  # iss is another issuer
    "expired",  # exp 10 minutes in the past (well past any sensible leeway)
    "tampered",  # payload changed after signing (signature no longer matches)
    "alg_none",  # header {"alg":"none"}, empty signature
    "unknown_kid",  # signed with a second key whose kid is not in the JWKS
    "wrong_nonce",  # nonce is not the one sent at /authorize
)

CODE_TTL_S = 600  # authorization codes live 10 minutes
TOKEN_TTL_S = 3600  # ID and access tokens live an hour

_KEYS = {}
_KEYS_LOCK = threading.Lock()


def _key(name):
    """An RSA-2048 private key, generated once per process and name (it is slow)."""
    with _KEYS_LOCK:
        if name not in _KEYS:
            _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _KEYS[name]


def b64url(data):
    """BASE64URL without padding (RFC 7515 section 2)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint_b64(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def pkce_challenge(verifier):
    """The S256 code_challenge for a code_verifier (RFC 7636 section 4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _json_segment(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def sign_rs256(header, claims, key):
    """A JWS compact serialization: header.payload.signature, RS256."""
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
    sig = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(sig)}"


def decode_jwt(token):
    """(header, claims) of a compact JWS, without checking anything."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


class Request:
    """One recorded request: method, path, query (dict of lists), headers, form, and
    the answer sent (status, JSON body or Location)."""

    def __init__(self, method, path, query, headers, form):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.form = form
        self.status = None
        self.response = None  # parsed JSON body for JSON answers
        self.location = None  # for redirects
        self.auth_method = None  # /token: client_secret_basic or client_secret_post

    def q(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def f(self, name):
        v = self.form.get(name)
        return v[0] if v else None

    def __repr__(self):
        return f"<{self.method} {self.path} -> {self.status}>"


class FakeOIDCProvider:
    """An OpenID provider on 127.0.0.1 with one registered client.

    start() binds a free port and serves from a thread; .issuer is then
    "http://127.0.0.1:PORT", or with trailing_slash "http://127.0.0.1:PORT/"
    (as Auth0 publishes its issuers; discovery stays at
    /.well-known/openid-configuration, OpenID Connect Discovery 4). stop()
    shuts it down."""

    def __init__(self, client_id="leadflow-test", client_secret="test-secret",
                 redirect_uris=(), trailing_slash=False):
        self.trailing_slash = trailing_slash
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)  # exact-match registered redirect URIs
        self.kid = "test-key-1"
        self.rogue_kid = "rogue-key-9"  # never published in the JWKS
        self.key = _key("main")
        self.rogue_key = _key("rogue")
        self.user = {"sub": "fake-sub-0001", "email": "ada@example.test",
                     "name": "Ada Lovelace", "email_verified": True}
        self.authorize_error = None
        self.token_fault = None
        self.userinfo_only = False
        self.userinfo_sub = None
        self.token_auth_methods = ["client_secret_post", "client_secret_basic"]
        self.requests = []
        self.codes = {}  # code -> dict(client_id, redirect_uri, nonce, challenge, user, ...)
        self.issued = []  # every ID token issued, in order (compact JWS strings)
        self.access_tokens = {}  # access token -> dict(email, scope, expires_at)
        self.refresh_tokens = {}  # refresh token -> dict(email, scope, revoked)
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.port = None
        self.base = None
        self.issuer = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        provider = self

        class Handler(_Handler):
            fake = provider

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = self.base + ("/" if self.trailing_slash else "")
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- endpoints' URLs ---------------------------------------------------

    @property
    def authorization_endpoint(self):
        return f"{self.base}/authorize"

    @property
    def token_endpoint(self):
        return f"{self.base}/token"

    @property
    def jwks_uri(self):
        return f"{self.base}/jwks"

    def discovery(self):
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "userinfo_endpoint": f"{self.base}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": self.token_auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }
        if self.token_auth_methods is None:
            del doc["token_endpoint_auth_methods_supported"]
        return doc

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                          "n": _uint_b64(pub.n), "e": _uint_b64(pub.e)}]}

    # -- assertions helpers ------------------------------------------------

    def recorded(self, path=None, method=None):
        with self._lock:
            return [r for r in self.requests
                    if (path is None or r.path == path) and (method is None or r.method == method)]

    def _record(self, req):
        with self._lock:
            self.requests.append(req)

    # -- the protocol ------------------------------------------------------

    def authorize(self, q):
        """Handles /authorize: (status, headers, body)."""
        def one(name):
            v = q.get(name)
            return v[0] if v and len(v) == 1 else None

        client_id = one("client_id")
        redirect_uri = one("redirect_uri")
        # Without a valid client and redirect URI the error must not be redirected
        # (RFC 6749 section 4.1.2.1): tell the person instead.
        if client_id != self.client_id:
            return 400, {}, {"error": "invalid_client", "error_description": "unknown client_id"}
        if redirect_uri not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request",
                             "error_description": "redirect_uri is not registered"}
        state = one("state")

        def back(params):
            if state is not None:
                params["state"] = state
            sep = "&" if urlsplit(redirect_uri).query else "?"
            return 302, {"Location": redirect_uri + sep + urlencode(params)}, None

        def refuse(desc):
            return back({"error": "invalid_request", "error_description": desc})

        if one("response_type") != "code":
            return back({"error": "unsupported_response_type",
                         "error_description": "only response_type=code is supported"})
        scope = (one("scope") or "").split(" ")
        if "openid" not in scope:
            return back({"error": "invalid_scope", "error_description": "scope must include openid"})
        if not state:
            return refuse("state is required")
        nonce = one("nonce")
        if not nonce:
            return refuse("nonce is required")
        challenge = one("code_challenge")
        if not challenge or not (43 <= len(challenge) <= 128):
            return refuse("code_challenge is required (43 to 128 characters)")
        if one("code_challenge_method") != "S256":
            return refuse("code_challenge_method must be S256")
        with self._lock:
            err, self.authorize_error = self.authorize_error, None
            user = dict(self.user)
        if err:
            return back({"error": err, "error_description": "the user said no"})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri,
                                "scope": one("scope") or "",
                                "offline": one("access_type") == "offline",
                                "nonce": nonce, "challenge": challenge, "user": user,
                                "issued_at": time.time(), "used": False}
        return back({"code": code})

    def _client_auth(self, form, headers):
        """(method, client_id, client_secret) from client_secret_basic or
        client_secret_post; method None when both or neither were used."""
        authz = headers.get("Authorization", "")
        in_form = "client_secret" in form
        if authz.lower().startswith("basic "):
            if in_form:
                return None, None, None  # more than one method (RFC 6749 section 2.3)
            try:
                cid, _, secret = base64.b64decode(authz[6:], validate=True).decode().partition(":")
            except ValueError:
                return None, None, None
            return "client_secret_basic", unquote_plus(cid), unquote_plus(secret)
        if not in_form:
            return None, form.get("client_id", [None])[0], None
        return "client_secret_post", form.get("client_id", [None])[0], form.get(
            "client_secret", [None])[0]

    def _allowed_auth_methods(self):
        if self.token_auth_methods is None:
            return ["client_secret_basic"]  # the default (OpenID Connect Discovery 3)
        return self.token_auth_methods

    def token(self, form, headers, rec=None):
        """Handles POST /token: (status, headers, body)."""
        def one(name):
            v = form.get(name)
            return v[0] if v and len(v) == 1 else None

        def error(status, code, desc):
            return status, {}, {"error": code, "error_description": desc}

        if one("grant_type") not in ("authorization_code", "refresh_token"):
            return error(400, "unsupported_grant_type",
                         "only authorization_code and refresh_token are supported")
        method, cid, secret = self._client_auth(form, headers)
        if rec is not None:
            rec.auth_method = method
        if method not in self._allowed_auth_methods():
            return error(401, "invalid_client",
                         f"client authentication {method} is not supported here")
        if cid != self.client_id or secret is None or not secrets.compare_digest(
                secret.encode(), self.client_secret.encode()):
            return error(401, "invalid_client", "client authentication failed")
        if one("grant_type") == "refresh_token":
            return self._refresh(one("refresh_token"))
        code = one("code")
        with self._lock:
            grant = self.codes.get(code) if code else None
            if grant is not None:
                was_used = grant["used"]
                grant["used"] = True  # a code is single use, whatever happens next
        if grant is None:
            return error(400, "invalid_grant", "unknown authorization code")
        if was_used:
            return error(400, "invalid_grant", "the authorization code was already used")
        if time.time() - grant["issued_at"] > CODE_TTL_S:
            return error(400, "invalid_grant", "the authorization code has expired")
        if grant["client_id"] != cid:
            return error(400, "invalid_grant", "the code was issued to another client")
        if one("redirect_uri") != grant["redirect_uri"]:
            return error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        verifier = one("code_verifier")
        if not verifier or not (43 <= len(verifier) <= 128):
            return error(400, "invalid_grant", "code_verifier is missing or malformed")
        if not secrets.compare_digest(pkce_challenge(verifier), grant["challenge"]):
            return error(400, "invalid_grant", "code_verifier does not match the code_challenge")
        with self._lock:
            fault, self.token_fault = self.token_fault, None
        id_token = self.make_id_token(grant["user"], grant["nonce"], fault)
        with self._lock:
            self.issued.append(id_token)
        scope = grant.get("scope") or "openid email profile"
        body = {
            "access_token": self._new_access_token(grant["user"].get("email"), scope,
                                                   grant["user"]),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "id_token": id_token,
            "scope": scope,
        }
        if grant.get("offline"):
            rt = "1//" + secrets.token_urlsafe(32)
            with self._lock:
                self.refresh_tokens[rt] = {"email": grant["user"].get("email"), "scope": scope,
                                           "revoked": False}
            body["refresh_token"] = rt
        return 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}, body

    # -- offline access ----------------------------------------------------

    def _new_access_token(self, email, scope, user=None):
        tok = "ya29." + secrets.token_urlsafe(32)
        with self._lock:
            self.access_tokens[tok] = {"email": email, "scope": scope, "user": user,
                                       "expires_at": time.time() + TOKEN_TTL_S}
        return tok

    def userinfo(self, headers):
        """Handles GET /userinfo (Bearer access token): (status, headers, body)."""
        authz = headers.get("Authorization", "")
        info = self.access_token_info(authz[7:]) if authz.startswith("Bearer ") else None
        if info is None or not info.get("user"):
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {
                "error": "invalid_token"}
        claims = dict(info["user"])
        if self.userinfo_sub is not None:
            claims["sub"] = self.userinfo_sub
        return 200, {}, claims

    def _refresh(self, rt):
        with self._lock:
            grant = self.refresh_tokens.get(rt) if rt else None
        if grant is None or grant["revoked"]:
            return 400, {}, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}
        return 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}, {
            "access_token": self._new_access_token(grant["email"], grant["scope"]),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "scope": grant["scope"],
        }

    def access_token_info(self, token):
        """The grant of a live access token (dict with email, scope), or None."""
        with self._lock:
            info = self.access_tokens.get(token)
        if info is None or info["expires_at"] <= time.time():
            return None
        return info

    def expire_access_tokens(self):
        """Every access token issued so far stops working (refresh tokens still do)."""
        with self._lock:
            for info in self.access_tokens.values():
                info["expires_at"] = 0

    def revoke_refresh_tokens(self):
        """Every refresh token issued so far answers invalid_grant from now on."""
        with self._lock:
            for info in self.refresh_tokens.values():
                info["revoked"] = True

    def make_id_token(self, user, nonce, fault=None):
        """An ID token for user, spoiled as fault says (one of FAULTS or None)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown token_fault {fault!r}; expected one of {FAULTS}")
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now,
                  "exp": now + TOKEN_TTL_S, "nonce": nonce}
        claims.update({"sub": user["sub"]} if self.userinfo_only else user)
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        key = self.key
        if fault == "wrong_aud":
            claims["aud"] = "some-other-client"
        elif fault == "wrong_iss":
            claims["iss"] = "http://127.0.0.1:9/not-the-issuer"
        elif fault == "expired":
            claims["iat"] = now - 2 * 3600
            claims["exp"] = now - 600
        elif fault == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(24)
        elif fault == "unknown_kid":
            header["kid"] = self.rogue_kid
            key = self.rogue_key
        elif fault == "alg_none":
            return f"{_json_segment({'alg': 'none', 'typ': 'JWT'})}.{_json_segment(claims)}."
        token = sign_rs256(header, claims, key)
        if fault == "tampered":
            # Replace the payload after signing with one that differs in a
            # claim that matters: the signature no longer covers it.
            h, _, s = token.split(".")
            forged = dict(claims, email="mallory@evil.example", sub="mallory")
            token = f"{h}.{_json_segment(forged)}.{s}"
        return token


class _Handler(BaseHTTPRequestHandler):
    fake = None  # set by the subclass made in FakeOIDCProvider.start()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _reply(self, rec, status, headers, body):
        rec.status = status
        data = b""
        if body is not None:
            rec.response = body
            data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
            if k == "Location":
                rec.location = v
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        form = {}
        body = b""
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            body = self.rfile.read(n)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        rec = Request(method, parts.path, query, dict(self.headers.items()), form)
        self.fake._record(rec)
        fake = self.fake
        route = (method, parts.path)
        if route == ("GET", "/.well-known/openid-configuration"):
            return self._reply(rec, 200, {}, fake.discovery())
        if route == ("GET", "/jwks"):
            return self._reply(rec, 200, {}, fake.jwks())
        if route == ("GET", "/userinfo"):
            return self._reply(rec, *fake.userinfo(self.headers))
        if route == ("GET", "/authorize"):
            return self._reply(rec, *fake.authorize(query))
        if route == ("POST", "/token"):
            if ctype != "application/x-www-form-urlencoded":
                return self._reply(rec, 400, {}, {"error": "invalid_request",
                                                  "error_description": "expected a form body"})
            return self._reply(rec, *fake.token(form, self.headers, rec))
        return self._reply(rec, 404, {}, {"error": "not_found"})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


__all__ = ["FakeOIDCProvider", "FAULTS", "pkce_challenge", "decode_jwt", "b64url",
           "b64url_decode", "sign_rs256"]
