"""Webhook secrets and the two signatures every delivery carries.

Every request is signed twice, with the same secret:

* Standard Webhooks (https://www.standardwebhooks.com/), for any of its libraries:
  `webhook-id` (the event id: the same for every retry and redelivery, so a receiver can
  drop duplicates), `webhook-timestamp` (unix seconds) and
  `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
* Ours, as before: `X-Requestdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret,
  "<t>.<body>")>`, checked with `verify_signature()`.

How secrets map: a secret is `whsec_` + base64 of 32 random bytes, the Standard Webhooks
format, so a receiver gives it as it is to `standardwebhooks.Webhook(secret)` (the key is
those 32 bytes); our own header is keyed with the whole secret string (its UTF-8 bytes), as
it always was. Secrets issued before that format (no `whsec_` prefix) keep working for both:
their Standard Webhooks key is the secret's UTF-8 bytes, so the receiver's library takes
`"whsec_" + base64(secret)` (`standard_secret()`); rotating the secret gives a new-style one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import standardwebhooks

SECRET_PREFIX = "whsec_"
STANDARD_ID_HEADER, STANDARD_TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)
SIGNATURE_HEADER = "X-Requestdesk-Signature"


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_secret(secret: str) -> str:
    """The secret as a Standard Webhooks library takes it: itself when it has the format,
    else (a secret issued before) "whsec_" + base64 of its UTF-8 bytes."""
    return secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + base64.b64encode(secret.encode()).decode()


def _as_bytes(body) -> bytes:
    return body if isinstance(body, bytes) else body.encode()


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body, timestamp: int | None = None) -> str:
    """The signature header value for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, _as_bytes(body))}"


def standard_signature(secret: str, message_id: str, timestamp: int, body) -> str:
    """The Standard Webhooks `webhook-signature` value, made by the reference library."""
    sent_at = datetime.fromtimestamp(timestamp, tz=UTC)
    return standardwebhooks.Webhook(standard_secret(secret)).sign(message_id, sent_at, _as_bytes(body).decode())


def signature_headers(secret: str, message_id: str, body) -> dict:
    """Both signatures of one request, made at the same moment."""
    timestamp = int(time.time())
    return {
        STANDARD_ID_HEADER: message_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: standard_signature(secret, message_id, timestamp, body),
        SIGNATURE_HEADER: sign(secret, body, timestamp),
    }


def verify_signature(secret: str, header: str, body, tolerance: int = 300) -> bool:
    """What a receiver does: the header is well formed, not older (or newer) than
    `tolerance` seconds, and one of its v1 signatures matches the body."""
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures or abs(time.time() - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, _as_bytes(body))
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
