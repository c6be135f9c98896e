"""The OpenAI-compatible client for a company's LLM provider (chat and embeddings), and
the translation of its failures into one ProviderError with a reason fit to show.

Every call goes to `provider.endpoint` through requestdesk.outbound: the host is checked
(no private or metadata addresses) right before the client is built, redirects are not
followed, and every phase is bounded by KNOWLEDGE_LLM_TIMEOUT_SECONDS.

`openai` is imported by the first call that needs it, not with this module: it is 0.6 s of
every Django start (manage.py, a Celery worker, gunicorn) that never calls a provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from requestdesk import outbound

from .crypto import get_secret

if TYPE_CHECKING:
    import openai


class ProviderError(Exception):
    """A provider call failed. `kind`: authentication, rate_limited, timeout, unavailable,
    bad_request, configuration; the message is safe to show (no key in it)."""

    def __init__(self, message: str, *, kind: str, status_code: int | None = None):
        super().__init__(message)
        self.kind, self.status_code = kind, status_code


def client_for(provider) -> openai.OpenAI:
    import openai

    if provider is None:
        raise ProviderError("No active LLM provider is configured for this company.", kind="configuration")
    if not provider.is_active:
        raise ProviderError(f"The LLM provider “{provider}” is not active.", kind="configuration")
    endpoint = provider.endpoint
    if not endpoint:
        raise ProviderError(f"The LLM provider “{provider}” has no base URL.", kind="configuration")
    try:
        outbound.check_url(endpoint)
    except outbound.UnresolvableHost as exc:
        raise ProviderError(str(exc), kind="unavailable") from exc
    except outbound.UnsafeURL as exc:
        raise ProviderError(f"The provider URL may not be called: {exc}", kind="configuration") from exc
    timeout = settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS
    return openai.OpenAI(
        api_key=get_secret(provider, "api_key") or "none",
        base_url=endpoint,
        timeout=timeout,
        max_retries=settings.KNOWLEDGE_LLM_MAX_RETRIES,
        http_client=outbound.http_client(timeout=timeout),
    )


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or exc.message or "")[:300]


def translate(exc: Exception, provider=None) -> ProviderError:
    """The ProviderError for an exception raised by the openai client."""
    import openai

    name = f"“{provider}”" if provider is not None else "The provider"
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            f"{name} did not answer within {settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS:g}s (timeout).", kind="timeout"
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"{name} could not be reached ({exc.__class__.__name__}).", kind="unavailable")
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError(
            f"{name} refused the API key (HTTP 401): {_detail(exc)}", kind="authentication", status_code=401
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return ProviderError(
            f"{name} refused access (HTTP 403): {_detail(exc)}", kind="authentication", status_code=403
        )
    if isinstance(exc, openai.RateLimitError):
        return ProviderError(
            f"{name} is rate limiting requests (HTTP 429): {_detail(exc)}", kind="rate_limited", status_code=429
        )
    if isinstance(exc, openai.APIStatusError):
        kind = "unavailable" if exc.status_code >= 500 else "bad_request"
        return ProviderError(
            f"{name} answered HTTP {exc.status_code}: {_detail(exc)}", kind=kind, status_code=exc.status_code
        )
    if isinstance(exc, httpx.TimeoutException):  # raised as is while a stream is read
        return ProviderError(
            f"{name} stopped answering for {settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS:g}s (timeout).", kind="timeout"
        )
    if isinstance(exc, httpx.HTTPError):
        return ProviderError(f"{name} connection failed ({exc.__class__.__name__}).", kind="unavailable")
    if isinstance(exc, openai.OpenAIError):
        return ProviderError(f"{name} failed: {exc.__class__.__name__}: {exc}"[:300], kind="unavailable")
    raise exc
