"""Sign-in with Google (OpenID Connect) or GitHub (OAuth 2.0), for the API and the admin.

The flow is authlib's OAuth client (authorization code; PKCE and a nonce for Google): `begin`
answers the redirect to the provider and keeps the state, PKCE verifier and nonce in the
browser's session; `finish` checks the state (once: a replayed callback finds none), trades
the code, verifies Google's id_token against the provider's JWKS (issuer, audience, expiry,
nonce) and reads GitHub's /user and /user/emails. `user_for` then finds the person:

* by the provider's id stored on the user (`oauth.google_id` / `oauth.github_id`, sparse
  unique indexes), else
* by the provider's *verified* email (Google's `email_verified`; GitHub's primary address if
  verified), linking the provider's id to that user on this first sign-in.

No account is made for anyone: a person a company has not invited is refused, as is an
inactive user or a member of a switched-off company (`principals.may_act`). A provider is on
when its client id and secret are set (settings GOOGLE_* / GITHUB_*).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.django_client import OAuth, OAuthError
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc.errors import JoseError
from pymongo.errors import DuplicateKeyError

from requestdesk.db.collections import raw
from tenants.models import User

from . import principals

PROVIDERS = {"google": "Google", "github": "GitHub"}


class SignInError(Exception):
    """A refused sign-in; `status` is the HTTP status to answer, the message is safe to show."""

    def __init__(self, message: str, *, status: int = 403, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: their id there and their verified email (or "")."""

    provider: str
    subject: str
    email: str


# --- providers ---------------------------------------------------------------------------


def _config(provider: str) -> tuple[Any, ...] | None:
    """The provider's settings as a hashable tuple, or None when it is off (no credentials)."""
    keys: tuple[str, ...]
    if provider == "google":
        keys = ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_DISCOVERY_URL")
    elif provider == "github":
        keys = (
            "GITHUB_CLIENT_ID",
            "GITHUB_CLIENT_SECRET",
            "GITHUB_AUTHORIZE_URL",
            "GITHUB_TOKEN_URL",
            "GITHUB_USER_URL",
            "GITHUB_EMAILS_URL",
        )
    else:
        return None
    values = tuple(getattr(settings, key, "") for key in keys)
    return values + (settings.OAUTH_TIMEOUT_SECONDS,) if values[0] and values[1] else None


def configured() -> list[tuple[str, str]]:
    """(provider, label) of every provider that is on."""
    return [(name, label) for name, label in PROVIDERS.items() if _config(name) is not None]


@functools.lru_cache(maxsize=8)
def _client(provider: str, config: tuple[Any, ...]) -> Any:  # authlib's client (untyped)
    """authlib's client for one configuration (kept: Google's discovery document and JWKS are
    fetched once per process and configuration, not per sign-in)."""
    registry = OAuth()
    if provider == "google":
        client_id, secret, discovery, timeout = config
        return registry.register(
            "google",
            client_id=client_id,
            client_secret=secret,
            server_metadata_url=discovery,
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "default_timeout": timeout,
            },
        )
    client_id, secret, authorize_url, token_url, _user, _emails, timeout = config
    return registry.register(
        "github",
        client_id=client_id,
        client_secret=secret,
        authorize_url=authorize_url,
        access_token_url=token_url,
        client_kwargs={"scope": "read:user user:email", "default_timeout": timeout},
    )


def _provider(provider: str) -> tuple[Any, tuple[Any, ...]]:
    config = _config(provider)
    if config is None:
        message = (
            f"Sign-in with {PROVIDERS[provider]} is not configured."
            if provider in PROVIDERS
            else "Unknown sign-in provider."
        )
        raise SignInError(message, status=404)
    return _client(provider, config), config


# --- the flow ----------------------------------------------------------------------------


def begin(request: HttpRequest, provider: str, redirect_uri: str) -> HttpResponse:
    """The redirect to the provider's authorization page (state, PKCE and nonce kept in
    `request.session`); `redirect_uri` is where the provider sends the browser back."""
    client, _config_values = _provider(provider)
    try:
        response: HttpResponse
        if provider == "google":
            response = client.authorize_redirect(request, redirect_uri, prompt="select_account")
        else:
            response = client.authorize_redirect(request, redirect_uri)
        return response
    except (requests.RequestException, ValueError) as exc:
        raise SignInError(f"{PROVIDERS[provider]} could not be reached ({type(exc).__name__}).", status=502)


def finish(request: HttpRequest, provider: str) -> Identity:
    """The identity the provider's callback (`request.GET`: code and state) proves."""
    client, config = _provider(provider)
    if not request.GET.get("state"):
        raise SignInError("The state parameter is missing.", status=400, field="state")
    try:
        token = client.authorize_access_token(request)
        if provider == "google":
            return _google_identity(token)
        return _github_identity(client, token, user_url=config[4], emails_url=config[5])
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            raise SignInError(
                "Unknown, expired or already used state: start the sign-in again.", status=400, field="state"
            )
        raise SignInError(
            f"{PROVIDERS[provider]} refused the sign-in: {exc.error}"
            f"{': ' + exc.description if exc.description else ''}.",
            status=400,
            field="code",
        )
    except JoseError as exc:
        raise SignInError(f"{PROVIDERS[provider]}'s id_token is not valid ({exc.error}).", status=400)
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise SignInError(
            f"{PROVIDERS[provider]} could not be reached or answered oddly ({type(exc).__name__}).", status=502
        )


def _google_identity(token: dict[str, Any]) -> Identity:
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        raise SignInError("Google sent no id_token.", status=502)
    verified = claims.get("email_verified") in (True, "true")
    return Identity("google", str(claims["sub"]), claims.get("email", "") if verified else "")


def _github_identity(client: Any, token: dict[str, Any], *, user_url: str, emails_url: str) -> Identity:
    profile = client.get(user_url, token=token)
    profile.raise_for_status()
    emails = client.get(emails_url, token=token)
    emails.raise_for_status()
    primary = next((e for e in emails.json() if e.get("primary") and e.get("verified")), None)
    return Identity("github", str(profile.json()["id"]), primary["email"] if primary else "")


# --- who it is ---------------------------------------------------------------------------


def field_for(provider: str) -> str:
    """The user document's field holding the provider's id ("oauth.google_id")."""
    return f"oauth.{provider}_id"


def user_for(identity: Identity) -> User:
    """The user `identity` signs in (their `company` loaded), linking the provider's id on
    their first sign-in with it; SignInError (403) for whoever may not sign in."""
    label, field = PROVIDERS[identity.provider], field_for(identity.provider)
    found = principals.find_user({field: identity.subject})
    if found is None:
        if not identity.email:
            raise SignInError(
                f"Your {label} account has no verified email address, and no account here is linked to it."
            )
        emails = list(dict.fromkeys([identity.email, identity.email.lower()]))
        found = principals.find_user({"email": {"$in": emails}})
        if found is None:
            raise SignInError(f"No account here for {identity.email}: a company admin must invite you first.")
    user, company = found
    if not principals.may_act(user, company):
        raise SignInError("This account is inactive, or its company is switched off.")
    linked = (user.oauth or {}).get(f"{identity.provider}_id")
    if linked is None:
        _link(user, identity)
    elif linked != identity.subject:
        raise SignInError(f"This account is linked to another {label} account.")
    return user


def _link(user: User, identity: Identity) -> None:
    field = field_for(identity.provider)
    try:
        result = raw(User, unscoped=True).update_one(
            {"_id": user.pk, field: {"$exists": False}}, {"$set": {field: identity.subject}}
        )
    except DuplicateKeyError:
        raise SignInError(f"This {PROVIDERS[identity.provider]} account is linked to another user.", status=409)
    if not result.modified_count:
        raise SignInError(
            f"This account was just linked to another {PROVIDERS[identity.provider]} account.", status=409
        )
    user.oauth = {**(user.oauth or {}), f"{identity.provider}_id": identity.subject}
    principals.invalidate(user.pk)


def unlink(user: User, provider: str) -> None:
    """Forget the provider's id on `user` (they sign in with it again by verified email)."""
    raw(User, unscoped=True).update_one({"_id": user.pk}, {"$unset": {field_for(provider): ""}})
    user.oauth = {k: v for k, v in (user.oauth or {}).items() if k != f"{provider}_id"}
    principals.invalidate(user.pk)
