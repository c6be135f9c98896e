"""Telling a lost database connection from other errors: the backend wraps pymongo's errors
in Django's DatabaseError, so the cause chain is what says it."""

from collections.abc import Iterator

from pymongo.errors import ConnectionFailure


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and the exceptions it was raised from (or while handling), innermost last."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def connection_lost(exc: BaseException) -> bool:
    """True when the database could not be reached (refused, timed out, reset)."""
    return any(isinstance(cause, ConnectionFailure) for cause in causes(exc))
