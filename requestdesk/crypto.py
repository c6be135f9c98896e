"""Secrets at rest, for every app: Fernet (AES-128-CBC + HMAC-SHA256) with
`settings.FIELD_ENCRYPTION_KEY`.

The key is a Fernet key (`Fernet.generate_key()`); several comma-separated keys rotate:
the first encrypts, any decrypts. Production settings refuse to start without one. In
DEBUG with no key set, a development key is derived deterministically from SECRET_KEY
(sha256 of a fixed label and SECRET_KEY), so a developer's data stays readable across
restarts; such data is not protected beyond SECRET_KEY itself.

Only ciphertext is stored. A missing, malformed or wrong key raises EncryptionKeyError,
whose message names FIELD_ENCRYPTION_KEY: never garbage, never the secret.

Two ways to hold a secret on a model, both on this one cipher:
* `set_secret()` / `get_secret()`: a `<name>_secret` column with its `<name>_hint` beside it,
  for secrets a form or serializer sets explicitly (the knowledge app's provider keys).
* `EncryptedTextField` / `EncryptedJSONField`: the attribute reads and writes the plain
  value, the column holds only ciphertext (webhook signing secrets, users' plugin keys).
  The ciphertext is decrypted when the attribute is first read, not when the row is
  loaded: a row whose secret nobody reads lists, saves and audits without touching the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.db.models.query_utils import DeferredAttribute

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
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes; see Fernet.generate_key())."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY is not the key it "
            "was encrypted with (changed or wrong). Restore the old key (it may stay in "
            "FIELD_ENCRYPTION_KEY after the new one) or enter the secret again."
        ) from None


def is_encrypted(value: object) -> bool:
    """Whether `value` is ciphertext the configured key opens (what a data migration asks
    before encrypting a column that may already be encrypted)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        _fernet().decrypt(value.encode())
    except InvalidToken:
        return False
    return True


def hint(secret: str) -> str:
    """A masked form safe to show: "sk-…abcd", "shpat_…abcd" (a short prefix ending in - or _
    is kept); a short secret shows only its length."""
    if not secret:
        return ""
    if len(secret) < 12:
        return f"…({len(secret)} chars)"
    prefix = re.match(r"[A-Za-z]{1,6}[-_]", secret)
    return f"{prefix[0] if prefix else ''}…{secret[-4:]}"


def set_secret(obj: models.Model, field: str, secret: str | None) -> None:
    """Store `secret` encrypted in `<field>_secret` and its hint in `<field>_hint` (the
    caller saves). None leaves them alone; "" clears them."""
    if secret is None:
        return
    setattr(obj, f"{field}_secret", encrypt(secret) if secret else "")
    setattr(obj, f"{field}_hint", hint(secret))


def get_secret(obj: models.Model, field: str) -> str:
    token: str = getattr(obj, f"{field}_secret")
    return decrypt(token)


# --- Encrypted model fields ------------------------------------------------------------


class Sealed:
    """A stored value still encrypted: what a loaded row holds until the attribute is read."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __repr__(self) -> str:
        return "<encrypted>"


class _DecryptedOnRead(DeferredAttribute):
    """A data descriptor (it has __set__), so that reads pass through it even though the
    value lives in the instance's __dict__."""

    def __set__(self, instance: models.Model, value: object) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: models.Model | None, cls: type[models.Model] | None = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is not None and isinstance(value, Sealed):
            field = cast(EncryptedTextField, self.field)
            value = instance.__dict__[self.field.attname] = field.load(decrypt(value.token))
        return value


if TYPE_CHECKING:
    # Set and read as text (EncryptedTextField) or a JSON value (EncryptedJSONField); a loaded
    # row holds a Sealed token until read. Django's field classes take no type parameters at run time.
    TextFieldBase = models.TextField[Any, Any]
else:
    TextFieldBase = models.TextField


class EncryptedTextField(TextFieldBase):
    """A string stored encrypted; "" is stored as "" (nothing to hide). Not filterable:
    each encryption has a fresh IV."""

    descriptor_class = _DecryptedOnRead

    def empty(self) -> Any:
        return ""

    def dump(self, value: Any) -> str:
        return str(value)

    def load(self, text: str) -> Any:
        return text

    def from_db_value(self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None if self.null else self.empty()
        return self.empty() if value == "" else Sealed(value)

    def get_prep_value(self, value: Any) -> str | None:
        if isinstance(value, Sealed):
            return value.token
        if value is None:
            return None if self.null else ""
        return encrypt(self.dump(value)) if value != self.empty() else ""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        """What is saved is what the row holds: an unread secret is written back as it was
        read, without being decrypted."""
        return model_instance.__dict__.get(self.attname)

    def value_from_object(self, obj: models.Model) -> Any:
        """The stored form (ciphertext) for what reads a row generically (audit snapshots,
        serialization, form initial data): a secret is never copied out in the clear."""
        value = obj.__dict__.get(self.attname)
        if isinstance(value, Sealed):
            return value.token
        return value

    def value_to_string(self, obj: models.Model) -> str | None:  # type: ignore[override]  # "" or None stay as they are
        return self.get_prep_value(obj.__dict__.get(self.attname))


class EncryptedJSONField(EncryptedTextField):
    """A JSON object stored encrypted (as the ciphertext of its JSON text); {} is stored as ""."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def empty(self) -> Any:
        return {}

    def dump(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def load(self, text: str) -> Any:
        return json.loads(text) if text else {}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value
