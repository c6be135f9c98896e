"""Work handed to the task queue (the Celery broker): one error for "the broker did not take
it", raised by the services, and a quick check that the broker answers, for writes that
should store nothing unless their tasks can be queued.

The API turns QueueUnavailable into a 503 JSON answer (requestdesk.api.queueing)."""

from __future__ import annotations

import logging

from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

QUEUE_DOWN = "The task queue is unavailable; nothing was started. Try again shortly."


class QueueUnavailable(RuntimeError):
    """The broker did not take the work. `record` is what the service stored and marked
    failed with the reason (a job, a sync history), or None when nothing was stored."""

    code = "queue_unavailable"

    def __init__(self, message: str = QUEUE_DOWN, record: object = None) -> None:
        super().__init__(message)
        self.record = record


def check_broker(timeout: float = 1.0) -> None:
    """Raise QueueUnavailable unless the broker accepts a connection within `timeout`."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from requestdesk.celery import app

    try:
        with app.connection_for_write() as connection:
            # kombu takes seconds as a float here; its stub says int.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)  # type: ignore[arg-type]
    except (BrokerError, OSError) as exc:
        logger.warning("broker unavailable: %s", exc)
        raise QueueUnavailable(QUEUE_DOWN) from exc
