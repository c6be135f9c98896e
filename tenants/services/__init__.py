"""Writes and work for tenants. The credential functions (`accounts`) are the package's
interface, re-exported here so `tenants.services.create_api_key` reads as before; plans and
quotas (`plans`), OAuth sign-in (`oauth`), invitations (`invitations`) and the principal cache
(`principals`) are imported as modules."""

from .accounts import (
    API_KEY_PREFIX,
    TokenError,
    access_is_current,
    authenticate_api_key,
    create_api_key,
    decode_access,
    issue_tokens,
    password_stamp,
    revoke_all_refresh,
    revoke_api_key,
    revoke_refresh,
    rotate_refresh,
    settings_for,
)

__all__ = [
    "API_KEY_PREFIX",
    "TokenError",
    "access_is_current",
    "authenticate_api_key",
    "create_api_key",
    "decode_access",
    "issue_tokens",
    "password_stamp",
    "revoke_all_refresh",
    "revoke_api_key",
    "revoke_refresh",
    "rotate_refresh",
    "settings_for",
]
