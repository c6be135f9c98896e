"""JSON errors for the API: DRF's field messages, plus clear answers for storage failures."""

import logging
from typing import Any

from django.db import IntegrityError
from pymongo.errors import ConnectionFailure, DuplicateKeyError, ServerSelectionTimeoutError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from requestdesk.db.errors import causes

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    for cause in causes(exc):
        if isinstance(cause, DuplicateKeyError):
            fields = list((cause.details or {}).get("keyPattern", {}) or [])
            errors = {f: ["This value is already in use."] for f in fields} or {
                "non_field_errors": ["This object already exists."]
            }
            return Response(errors, status=status.HTTP_409_CONFLICT)
        if isinstance(cause, (ServerSelectionTimeoutError, ConnectionFailure)):
            logger.error("database unavailable: %s", cause.__class__.__name__)
            return Response(
                {"detail": "The database is unavailable; try again shortly."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
    if isinstance(exc, IntegrityError):
        return Response({"detail": str(exc) or "This object conflicts with another."}, status=status.HTTP_409_CONFLICT)
    return None
