"""Secrets at rest (LLM provider keys, Shopify and WordPress integration keys): Fernet
(AES-128-CBC + HMAC-SHA256) with `settings.FIELD_ENCRYPTION_KEY`.

The key is a Fernet key (`Fernet.generate_key()`); several comma-separated keys rotate:
the first encrypts, any decrypts. Production settings refuse to start without one. In
DEBUG with no key set, a development key is derived deterministically from SECRET_KEY
(sha256 of a fixed label and SECRET_KEY), so a developer's data stays readable across
restarts; such data is not protected beyond SECRET_KEY itself.

Only ciphertext is stored. A missing, malformed or wrong key raises EncryptionKeyError,
whose message names FIELD_ENCRYPTION_KEY: never garbage, never the secret.
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

DEV_KEY_LABEL = b"requestdesk field encryption (development key):"


class EncryptionKeyError(RuntimeError):
    """The secrets cannot be encrypted or decrypted with the configured key."""


def _dev_key() -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(DEV_KEY_LABEL + settings.SECRET_KEY.encode()).digest())


def _keys() -> list[bytes]:
    configured = [k.strip() for k in (settings.FIELD_ENCRYPTION_KEY or "").split(",") if k.strip()]
    if configured:
        return [k.encode() for k in configured]
    if settings.DEBUG:
        return [_dev_key()]
    raise EncryptionKeyError("FIELD_ENCRYPTION_KEY is not set: secrets cannot be encrypted or decrypted.")


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except (ValueError, TypeError) as exc:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEY is not a valid Fernet key "
                                 "(32 url-safe base64-encoded bytes; see Fernet.generate_key()).") from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError("A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY is not the key it "
                                 "was encrypted with (changed or wrong). Restore the old key (it may stay in "
                                 "FIELD_ENCRYPTION_KEY after the new one) or enter the secret again.") from None


def hint(secret: str) -> str:
    """A masked form safe to show: "sk-…abcd", "shpat_…abcd" (a short prefix ending in - or _
    is kept); a short secret shows only its length."""
    if not secret:
        return ""
    if len(secret) < 12:
        return f"…({len(secret)} chars)"
    prefix = re.match(r"[A-Za-z]{1,6}[-_]", secret)
    return f"{prefix[0] if prefix else ''}…{secret[-4:]}"


def set_secret(obj, field: str, secret: str | None) -> None:
    """Store `secret` encrypted in `<field>_secret` and its hint in `<field>_hint` (the
    caller saves). None leaves them alone; "" clears them."""
    if secret is None:
        return
    setattr(obj, f"{field}_secret", encrypt(secret) if secret else "")
    setattr(obj, f"{field}_hint", hint(secret))


def get_secret(obj, field: str) -> str:
    return decrypt(getattr(obj, f"{field}_secret"))
