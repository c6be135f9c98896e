"""A local OAuth 2.0 / OpenID Connect provider for the sign-in tests: the fake HTTP server of
tests/fakes/http.py speaking the endpoints Google and GitHub document.

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
import time
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.http import FakeServer, Response, json_response

CLIENT_ID = "requestdesk-test-client"
CLIENT_SECRET = "requestdesk-test-secret"
KEY_ID = "test-key-1"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeProvider(FakeServer):
    not_found = json_response(404, {"message": "Not Found"})

    def __init__(self):
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.who: dict = {}
        self.id_token_changes: dict = {}  # claims to change in the next id_tokens (a forged nonce, say)
        self.codes: dict[str, dict] = {}  # code -> the authorization request it answers
        self.tokens: dict[str, dict] = {}  # access token -> who
        self.base_url = self.base
        self.route("GET", "/.well-known/openid-configuration", lambda request: json_response(200, self._discovery()))
        self.route("GET", "/oauth2/v3/certs", lambda request: json_response(200, self._jwks()))
        for path, provider in (("/o/oauth2/v2/auth", "google"), ("/login/oauth/authorize", "github")):
            self.route("GET", path, lambda request, provider=provider: self._authorization(request, provider))
        for path in ("/v1/userinfo", "/user", "/user/emails"):
            self.route("GET", path, self._user)
        for path, provider in (("/token", "google"), ("/login/oauth/access_token", "github")):
            self.route("POST", path, lambda request, provider=provider: self._token(request, provider))

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

    def _authorization(self, request: dict, provider: str) -> Response:
        status, body, location = self._issue_code(request["query"], provider)
        if location:
            return Response(status, headers={"Location": location})
        return json_response(status, body)

    def _user(self, request: dict) -> Response:
        who = self._who(request["headers"].get("Authorization"))
        if who is None:
            return json_response(401, {"message": "Requires authentication"})
        if request["path"] == "/v1/userinfo":
            claims = {"sub": who["sub"], "email": who.get("email"), "email_verified": who.get("email_verified", False)}
            return json_response(200, claims)
        if request["path"] == "/user":
            return json_response(200, {"id": who["id"], "login": who.get("login", ""), "email": None})
        return json_response(200, who.get("emails", []))

    def _token(self, request: dict, provider: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
        status, body = self._exchange(form, request["headers"].get("Authorization"), provider)
        if provider == "google" or "application/json" in (request["headers"].get("Accept") or ""):
            return json_response(status, body)
        return Response(status, urlencode(body).encode(), "application/x-www-form-urlencoded")
