"""Endpoints that queue work: 202 with what was queued, or a 503 JSON answer when the broker
is down (`detail`, `code`, and the record the service marked failed, if it stored one)."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import status
from rest_framework.response import Response

from requestdesk.queueing import QueueUnavailable


def accepted_or_503(
    start: Callable[[], object], *, serialize: Callable[[object], object], record_key: str | None = None
) -> Response:
    """Call `start()` (a service that stores and queues); 202 with `serialize(result)`, or 503
    with the reason and, under `record_key`, `serialize(record)` of what it marked failed."""
    try:
        result = start()
    except QueueUnavailable as exc:
        body: dict[str, object] = {"detail": str(exc), "code": exc.code}
        if record_key and exc.record is not None:
            body[record_key] = serialize(exc.record)
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(serialize(result), status=status.HTTP_202_ACCEPTED)
