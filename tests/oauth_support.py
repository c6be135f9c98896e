"""A local OAuth 2.0 / OpenID Connect provider for the sign-in tests: stdlib ThreadingHTTPServer
on 127.0.0.1 speaking the endpoints Google and GitHub document.

Google (OpenID Connect, authorization code with PKCE): `/.well-known/openid-configuration`,
`/o/oauth2/v2/auth` (redirects back with a code), `/token` (checks the client, the
redirect_uri and the PKCE verifier; answers an access token and an RS256 `id_token` carrying
the nonce of the authorization request), `/v1/userinfo`, `/oauth2/v3/certs` (the JWKS).

GitHub (OAuth 2.0): `/login/oauth/authorize`, `/login/oauth/access_token` (form-encoded, or
JSON when the client sends `Accept: application/json`; errors come with status 200 as GitHub's
do), `/user`, `/user/emails`.

A code works once (a second exchange is refused with `invalid_grant` / `bad_verification_code`).
`id_token_changes` are claims
changed in Google's id_tokens (a test's forgery). `who` is the person the next authorization signs in: {"sub" or "id", "email", "email_verified"}
for Google; {"id", "login", "emails": [{"email", "verified", "primary"}]} for GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "requestdesk-test-client"
CLIENT_SECRET = "requestdesk-test-secret"
KEY_ID = "test-key-1"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeProvider:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.who: dict = {}
        self.id_token_changes: dict = {}  # claims to change in the next id_tokens (a forged nonce, say)
        self.codes: dict[str, dict] = {}  # code -> the authorization request it answers
        self.tokens: dict[str, dict] = {}  # access token -> who
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- settings the project needs to talk to this provider ---------------------------------

    def settings(self) -> dict:
        return {
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_DISCOVERY_URL": f"{self.base_url}/.well-known/openid-configuration",
            "GITHUB_CLIENT_ID": CLIENT_ID,
            "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
            "GITHUB_AUTHORIZE_URL": f"{self.base_url}/login/oauth/authorize",
            "GITHUB_TOKEN_URL": f"{self.base_url}/login/oauth/access_token",
            "GITHUB_USER_URL": f"{self.base_url}/user",
            "GITHUB_EMAILS_URL": f"{self.base_url}/user/emails",
        }

    def authorize(self, location: str) -> str:
        """What a browser does at the provider: follow the authorization URL `location` (as the
        project redirected to it), the person in `who` consents; the URL the provider sends the
        browser back to (redirect_uri with code and state) is returned."""
        response = httpx.get(location, follow_redirects=False)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    # --- the endpoints ----------------------------------------------------------------------

    def _discovery(self) -> dict:
        base = self.base_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/v1/userinfo",
            "jwks_uri": f"{base}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def _jwks(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def _issue_code(self, query: dict, provider: str) -> tuple[int, dict, str]:
        if query.get("client_id") != CLIENT_ID or "redirect_uri" not in query:
            return 400, {"error": "invalid_request"}, ""
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {**query, "provider": provider, "who": dict(self.who)}
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {}, f"{query['redirect_uri']}?{urlencode(back)}"

    def _client_ok(self, form: dict, authorization: str | None) -> bool:
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    def _exchange(self, form: dict, authorization: str | None, provider: str) -> tuple[int, dict]:
        refused = {
            "google": (400, {"error": "invalid_grant", "error_description": "Bad or used code."}),
            "github": (
                200,
                {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."},
            ),
        }[provider]
        if not self._client_ok(form, authorization):
            return (
                (401, {"error": "invalid_client"})
                if provider == "google"
                else (200, {"error": "incorrect_client_credentials"})
            )
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant["provider"] != provider or grant["redirect_uri"] != form.get("redirect_uri"):
            return refused
        if "code_challenge" in grant and _s256(form.get("code_verifier", "")) != grant["code_challenge"]:
            return refused
        access = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access] = grant["who"]
        if provider == "github":
            return 200, {"access_token": access, "token_type": "bearer", "scope": grant.get("scope", "")}
        who, now = grant["who"], int(time.time())
        claims = {
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "sub": who["sub"],
            "iat": now,
            "exp": now + 600,
            "email": who.get("email"),
            "email_verified": who.get("email_verified", False),
        }
        if "nonce" in grant:
            claims["nonce"] = grant["nonce"]
        claims.update(self.id_token_changes)
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": grant.get("scope", ""),
            "id_token": id_token,
        }

    def _who(self, authorization: str | None) -> dict | None:
        if not authorization or not authorization.lower().startswith(("bearer ", "token ")):
            return None
        return self.tokens.get(authorization.split(" ", 1)[1])

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body=None, *, location: str = "", form: bool = False) -> None:
                data = (urlencode(body) if form else json.dumps(body)).encode() if body is not None else b""
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/x-www-form-urlencoded" if form else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append(("GET", url.path))
                if url.path == "/.well-known/openid-configuration":
                    return self._send(200, fake._discovery())
                if url.path == "/oauth2/v3/certs":
                    return self._send(200, fake._jwks())
                if url.path in ("/o/oauth2/v2/auth", "/login/oauth/authorize"):
                    provider = "google" if url.path.startswith("/o/") else "github"
                    status, body, location = fake._issue_code(query, provider)
                    return self._send(status, body or None, location=location)
                who = fake._who(self.headers.get("Authorization"))
                if who is None:
                    return self._send(401, {"message": "Requires authentication"})
                if url.path == "/v1/userinfo":
                    return self._send(
                        200,
                        {
                            "sub": who["sub"],
                            "email": who.get("email"),
                            "email_verified": who.get("email_verified", False),
                        },
                    )
                if url.path == "/user":
                    return self._send(200, {"id": who["id"], "login": who.get("login", ""), "email": None})
                if url.path == "/user/emails":
                    return self._send(200, who.get("emails", []))
                return self._send(404, {"message": "Not Found"})

            def do_POST(self):
                url = urlsplit(self.path)
                fake.requests.append(("POST", url.path))
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                provider = {"/token": "google", "/login/oauth/access_token": "github"}.get(url.path)
                if provider is None:
                    return self._send(404, {"message": "Not Found"})
                status, body = fake._exchange(form, self.headers.get("Authorization"), provider)
                as_json = provider == "google" or "application/json" in (self.headers.get("Accept") or "")
                return self._send(status, body, form=not as_json)

        return Handler
