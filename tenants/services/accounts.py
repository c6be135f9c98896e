"""Writes with side effects for tenants: API keys and JWT access/refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from tenants.models import ApiKey, Company, RefreshToken, User, UserSettings

from . import principals

API_KEY_PREFIX = "rd"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(Exception):
    """A token that is malformed, expired or revoked; the message is safe to show."""


def token_hash(raw: str) -> str:
    """What is stored of a secret token (API key, refresh token, invitation): its SHA-256."""
    return hashlib.sha256(raw.encode()).hexdigest()


# --- API keys --------------------------------------------------------------------------


def create_api_key(
    *,
    user: User,
    company: Company,
    name: str,
    permissions: Iterable[str] = (ApiKey.READ, ApiKey.WRITE),
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    prefix = secrets.token_hex(4)
    raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        user=user,
        company=company,
        name=name,
        prefix=prefix,
        key_hash=token_hash(raw),
        permissions=sorted(set(permissions)),
        expires_at=expires_at,
    )
    return key, raw


def authenticate_api_key(raw: str) -> ApiKey | None:
    """The usable key `raw` names, with its active `user` and `company` loaded; else None.
    At most one round trip (none while cached, tenants.services.principals), plus a last_used_at
    write at most once a minute per key and a last_login write at most once a minute per user."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key_hash = token_hash(raw)
    key = principals.api_key(parts[1], key_hash)
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        principals.note_key_used(key_hash, now)
    principals.note_user_seen(key.user, key_hash=key_hash, when=now)
    return key


def revoke_api_key(key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=key.revoked_at)
        principals.invalidate(key.pk)
    return key


# --- JWT -------------------------------------------------------------------------------


def issue_tokens(user: User, *, family: str | None = None) -> dict[str, Any]:
    now = timezone.now()
    access_exp = now + settings.JWT_ACCESS_LIFETIME
    access = jwt.encode(
        {
            "sub": str(user.pk),
            "type": "access",
            "iat": now,
            "exp": access_exp,
            "jti": secrets.token_hex(8),
            "pwd": password_stamp(user),
        },
        settings.JWT_SIGNING_KEY,
        algorithm="HS256",
    )
    refresh = secrets.token_urlsafe(48)
    RefreshToken.objects.create(
        user=user,
        token_hash=token_hash(refresh),
        family=family or secrets.token_hex(16),
        expires_at=now + settings.JWT_REFRESH_LIFETIME,
    )
    return {
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",
        "expires_in": int(settings.JWT_ACCESS_LIFETIME.total_seconds()),
    }


def password_stamp(user: User) -> str:
    """A short HMAC of the user's password hash (Django's session auth hash): an access token
    carries the stamp of the password it was issued under, so a password change refuses every
    access token issued before it, as Django signs out sessions, without a revocation list."""
    return user.get_session_auth_hash()[:20]


def access_is_current(user: User, stamp: str | None) -> bool:
    """Whether an access token with this stamp was issued under the user's current password."""
    if not stamp:
        return False
    return constant_time_compare(stamp, password_stamp(user))


def decode_access(token: str) -> tuple[str, str | None]:
    """The user id and password stamp of a valid access token."""
    try:
        payload = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("Access token expired.")
    except jwt.InvalidTokenError:
        raise TokenError("Invalid access token.")
    if payload.get("type") != "access":
        raise TokenError("Not an access token.")
    return payload["sub"], payload.get("pwd")


def _revoke_family(family: str) -> int:
    return RefreshToken.objects.filter(family=family, revoked_at=None).update(revoked_at=timezone.now())


def rotate_refresh(raw: str) -> dict[str, Any]:
    """Trade a refresh token for a new pair. A token used twice revokes its whole family."""
    token = RefreshToken.objects.filter(token_hash=token_hash(raw)).first()
    now = timezone.now()
    if token is None or token.expires_at <= now:
        raise TokenError("Invalid or expired refresh token.")
    claimed = RefreshToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now)
    if not claimed:
        _revoke_family(token.family)
        raise TokenError("Refresh token already used or revoked.")
    user = principals.active_user(token.user_id)  # inactive, or their company switched off: no
    if user is None:
        raise TokenError("Invalid or expired refresh token.")
    return issue_tokens(user, family=token.family)


def revoke_refresh(raw: str) -> bool:
    token = RefreshToken.objects.filter(token_hash=token_hash(raw)).first()
    if token is None:
        return False
    _revoke_family(token.family)
    return True


def revoke_all_refresh(user: User) -> int:
    """Sign the user out everywhere (their password changed: User.save)."""
    return RefreshToken.objects.filter(Q(user=user) & Q(revoked_at=None)).update(revoked_at=timezone.now())


# --- Settings --------------------------------------------------------------------------


def settings_for(user: User) -> UserSettings:
    """The user's settings document, created with defaults on first use."""
    found: UserSettings | None = UserSettings.objects.filter(user=user).first()
    if found is not None:
        return found
    from tenants.models import NotificationPreferences

    created: UserSettings = UserSettings.objects.create(
        user=user, company_id=user.company_id, notification_preferences=NotificationPreferences()
    )
    return created
