"""Keyset pages and bounded counts: a page costs about its own rows, not the tenant's.

A list is ordered by one indexed date field and the primary key, `(field, pk)`, newest or
oldest first. A position in it is the `(value, pk)` of a row; the next page is the rows
after that position.

How a page is read depends on the server (`connection.capabilities.ordered_index_sort`):

* Where the server walks an index in order and stops at the limit (MongoDB), the page is
  one query: `field < value or (field == value and pk < pk)`, sorted, limited.
* Where it sorts every match before limiting (the embedded server: 20 newest of 10k
  matches ~450-840 ms, of the same query bounded to a window of ~100 of them ~3 ms), the
  page is read in windows of the field, `[lo, hi)`, newest window first. Each window is
  sorted and limited by the server, and costs its own matches. The first window is what the
  last walk over the same list from the same kind of start learnt: a later page's window is a
  width from its position; the head's reaches from now (or the floor) to a date, just past
  where the last head page ended, so rows written in one burst are not all in it. A window
  thus usually holds about a page; an empty one grows fast (x16), a thin one grows to the
  width the density it showed asks for. A walk stops at `FLOOR` (1970), so the oldest rows
  cost at most a few empty windows more.

A window's filter is the queryset's own filters plus the range, so the server plans it on
a `(company, [filter fields,] field)` index: give each large list such an index for the
filters it offers. A filter no index leads to costs the window's every row, matched or not:
one that matches few rows would widen the windows over the whole tenant. So a walk may be
given a time budget (`walk_within`, the API's cursor lists and the admin's changelists): it
sizes each window by the reading time per unit of the field the windows before it took,
stops once the budget is spent, and says where the next walk goes on (`Walked.resume`); the
page then holds fewer rows than asked, and its next link reads on from there.

A page by number N (`numbered`) is the walk's rows N pages on; once its first window is
learnt and holds them all, the server skips the N - 1 pages before it (`Walked.skipped`).

Counts: where counts are cheap the count is exact; elsewhere it is what the walk saw (the
rows up to the page's end and one more), a lower bound marked inexact unless the walk
reached the end of the list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from bson import ObjectId
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet

from .base import connection_for

M = TypeVar("M", bound=models.Model)

FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_WIDTH = timedelta(days=1)
EMPTY_GROWTH = 16  # an empty window: the next one is this much wider
MAX_GROWTH = 64  # a thin window: at most this much wider
MIN_WIDTH = timedelta(milliseconds=1)
MAX_WIDTH = timedelta(days=366 * 100)  # wider than FLOOR to now and a year on


@dataclass(frozen=True)
class Position:
    """A row's place in a list ordered by (field, pk)."""

    value: datetime
    pk: ObjectId


# The pk of a position between rows: (value, EDGE) comes before every row of that value in
# ascending order, so "after it" descending is `field < value`, ascending `field >= value`.
EDGE = ObjectId("0" * 24)


@dataclass(frozen=True)
class Walked(Generic[M]):
    """What a walk read: up to `limit` rows, whether the list ended after them, and where a
    walk stopped by its time budget goes on (None: after the last row; then the rows may be
    fewer than asked without the list having ended)."""

    rows: list[M]
    ended: bool
    resume: Position | None = None
    skipped: int = 0  # rows at the list's start before `rows`, counted by the server, not read


def position_of(row: models.Model, field: str) -> Position:
    return Position(getattr(row, field), row.pk)


def ordered_by_index(queryset: QuerySet[Any]) -> bool:
    return connection_for(queryset.db).capabilities.ordered_index_sort


def cheap_counts(queryset: QuerySet[Any]) -> bool:
    return connection_for(queryset.db).capabilities.cheap_counts


# Learnt first windows: (list key) -> seconds of the field that held about one page, or for
# a list's head the date its first window reaches to.
_WIDTHS: dict[Hashable, float | datetime] = {}
_WIDTHS_LOCK = threading.Lock()
_WIDTHS_MAX = 10_000


def _learnt(key: Hashable, start: datetime) -> timedelta:
    """The first window's width for a walk from `start`."""
    learnt = _WIDTHS.get(key)
    if isinstance(learnt, datetime):
        return _clamp(abs(start - learnt))
    return timedelta(seconds=learnt) if learnt else FIRST_WIDTH


def _learn(key: Hashable, width: timedelta | datetime) -> None:
    with _WIDTHS_LOCK:
        if len(_WIDTHS) >= _WIDTHS_MAX:
            _WIDTHS.clear()
        _WIDTHS[key] = width if isinstance(width, datetime) else _clamp(width).total_seconds()


def _clamp(width: timedelta) -> timedelta:
    return min(max(width, MIN_WIDTH), MAX_WIDTH)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _after(row: models.Model, field: str, position: Position, descending: bool) -> bool:
    """Whether `row` comes after `position` in the list's order."""
    mine = (_aware(getattr(row, field)), row.pk)
    theirs = (_aware(position.value), position.pk)
    return mine < theirs if descending else mine > theirs


def _keyset(queryset: QuerySet[M], field: str, descending: bool, after: Position | None, limit: int) -> list[M]:
    sign = "-" if descending else ""
    query = queryset.order_by(f"{sign}{field}", f"{sign}pk")
    if after is not None:
        op = "lt" if descending else "gt"
        query = query.filter(Q(**{f"{field}__{op}": after.value}) | Q(**{field: after.value, f"pk__{op}": after.pk}))
    return list(query[:limit])


def _window_rows(
    ordered: QuerySet[M], bounds: dict[str, datetime], need: int, keep: Callable[[M], bool] | None
) -> list[M]:
    """The first `need` rows of one window that `keep` accepts. The window's own rows are
    sorted and limited by the server; rows `keep` drops (ties with the position) are made
    up for by asking again with a larger limit."""
    extra = 0 if keep is None else 4
    while True:
        found = list(ordered.filter(**bounds)[: need + extra])
        kept = found if keep is None else [row for row in found if keep(row)]
        if len(kept) >= need or len(found) < need + extra:
            return kept[:need]
        extra *= 4


def _skipping(ordered: QuerySet[M], bounds: dict[str, datetime], skip: int, limit: int) -> list[M] | None:
    """Rows `skip` to `limit` of a list's head window, the first `skip` skipped by the server
    (not sent, not built): None when the window holds fewer than `limit` rows (how many it
    skipped is then unknown)."""
    found = list(ordered.filter(**bounds)[skip:limit])
    return found if len(found) == limit - skip else None


def _windowed(
    queryset: QuerySet[M],
    field: str,
    descending: bool,
    after: Position | None,
    limit: int,
    key: Hashable,
    seconds: float | None = None,
    skip: int = 0,
) -> Walked[M]:
    """Rows after `after` in windows of `field`, within `seconds` when given (see the module
    docstring). From the head with `skip`, a learnt first window that holds `limit` rows
    has its first `skip` rows skipped by the server (`Walked.skipped`)."""
    began = time.monotonic()
    sign = "-" if descending else ""
    ordered = queryset.order_by(f"{sign}{field}", f"{sign}pk")
    skip = skip if after is None and key in _WIDTHS else 0
    ceiling = datetime.now(UTC) + timedelta(days=366)
    keep: Callable[[M], bool] | None = (
        (lambda row: _after(row, field, after, descending)) if after is not None else None
    )
    near = _aware(after.value) if after else None  # the window's side nearest the list's start
    start = near or (datetime.now(UTC) if descending else FLOOR)
    width, spent, rows, resume = _learnt(key, start), timedelta(0), list[M](), None
    while True:
        bounds: dict[str, datetime] = {}
        if near is not None:  # inclusive at the position (its ties), exclusive after a window
            bounds[
                f"{field}__{'lt' if descending else 'gte'}"
                if keep is None
                else f"{field}__{'lte' if descending else 'gte'}"
            ] = near
        if descending:
            far = max((near or datetime.now(UTC)) - width, FLOOR)
            bounds[f"{field}__gte"] = far
            last = far <= FLOOR
        else:
            far = min(near or FLOOR, ceiling) + width
            last = far >= ceiling
            if not last:
                bounds[f"{field}__lt"] = far
        if skip:
            page = _skipping(ordered, bounds, skip, limit)
            if page is not None:
                _learn_from(key, page, field, limit, start, width, head=True, descending=descending, skipped=skip)
                return Walked(page, False, skipped=skip)
            skip = 0  # the window holds fewer rows: read it whole, as without skip
        rows.extend(_window_rows(ordered, bounds, limit - len(rows), keep))
        keep, spent = None, spent + width
        if len(rows) >= limit or last:
            break
        near = far
        if rows:  # as wide as the density seen so far asks for the rest, within MAX_GROWTH
            density = len(rows) / max(spent.total_seconds(), 1e-3)
            width = min(width * MAX_GROWTH, timedelta(seconds=min((limit - len(rows)) * 1.5 / density, 1e10)))
        else:
            width = width * EMPTY_GROWTH
        if seconds is not None:
            elapsed = time.monotonic() - began
            if elapsed >= seconds:
                resume = Position(far, EDGE)
                break
            # no wider than the rest of the budget reads at the pace of the windows so far
            pace = elapsed / max(spent.total_seconds(), 1e-6)
            width = min(width, timedelta(seconds=min((seconds - elapsed) / max(pace, 1e-12), 1e10)))
        width = _clamp(width)
    _learn_from(key, rows, field, limit, start, spent, head=after is None, descending=descending)
    return Walked(rows, resume is None and len(rows) < limit, resume)


def _learn_from(
    key: Hashable,
    rows: list[M],
    field: str,
    limit: int,
    start: datetime,
    spent: timedelta,
    *,
    head: bool,
    descending: bool,
    skipped: int = 0,
) -> None:
    """The first window that would hold the next walk's page from the same kind of start with
    room to spare. A filled page tells it by its last row (the last window was cut at the
    limit, so the width walked would overstate it, and a width learnt from it would grow on
    every call): a later page learns the distance from its position to that row, half as much
    again; the head learns that row's date, moved on by a quarter of the page's own span, since
    the distance from now to rows written in one burst would take in the whole burst. (Every
    row of the head's window is read and sorted: half a span held ~1.5 pages and made a second
    page by number cost ~7% more than a quarter, measured with bench.lists_bench.) A walk that
    reached the end learns the whole range it walked. (Rows `skipped` before `rows` count in
    the page's span as the rows read suggest.)"""
    if skipped + len(rows) < limit:
        _learn(key, spent)
        return
    last = _aware(getattr(rows[-1], field))
    if head:
        span = abs(last - _aware(getattr(rows[0], field))) * (skipped + len(rows)) / len(rows)
        slack = max(span / 4, MIN_WIDTH)
        _learn(key, last - slack if descending else last + slack)
        return
    span = abs(last - start)
    if span > timedelta(0):
        _learn(key, span * 1.5)


def is_date_field(model: type[models.Model], name: str) -> bool:
    """Whether `name` is a date field of `model`: one the walk can page a list by."""
    try:
        return isinstance(model._meta.get_field(name), models.DateTimeField)
    except FieldDoesNotExist:
        return False


def date_ordering(queryset: QuerySet[Any]) -> tuple[str, bool] | None:
    """(field, descending) when `queryset` is ordered by a date field first: a list the walk
    can page."""
    ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
    if not ordering or not isinstance(ordering[0], str):
        return None
    name = ordering[0].lstrip("-")
    if not is_date_field(queryset.model, name):
        return None
    return name, ordering[0].startswith("-")


@dataclass(frozen=True)
class Numbered(Generic[M]):
    """Page `number` of a list: its rows, the count (exact, or the rows seen and one more)
    and whether a next page exists."""

    rows: list[M]
    count: int
    count_exact: bool
    has_next: bool


def numbered(
    queryset: QuerySet[M], *, number: int, size: int, key: Hashable = None, seconds: float | None = None
) -> Numbered[M]:
    """Page `number` (from 1) of a date-ordered queryset (date_ordering), read by walking
    `number` pages (within `seconds` when given: then it may hold fewer rows, or none, and
    still have a next); counted exactly only where counts are cheap or the walk reached the end."""
    ordering = date_ordering(queryset)
    assert ordering is not None, "numbered() pages a date-ordered queryset (date_ordering)"
    field, descending = ordering
    before = (number - 1) * size
    walked = walk_within(
        queryset, field=field, descending=descending, limit=number * size, key=key, seconds=seconds, skip=before
    )
    seen, ended = walked.skipped + len(walked.rows), walked.ended
    if cheap_counts(queryset):
        count, exact = queryset.count(), True
    else:
        count, exact = (seen, True) if ended else (seen + 1, False)
    return Numbered(walked.rows[before - walked.skipped :], count, exact, not ended)


def walk(
    queryset: QuerySet[M],
    *,
    field: str,
    descending: bool = True,
    after: Position | None = None,
    limit: int,
    key: Hashable = None,
) -> tuple[list[M], bool]:
    """Up to `limit` rows of `queryset` after `after` in (field, pk) order, and whether the
    list ended there (no row after the last one returned). `key` names the list (its model,
    filters and tenant) for the learnt window width."""
    walked = walk_within(queryset, field=field, descending=descending, after=after, limit=limit, key=key)
    return walked.rows, walked.ended


def walk_within(
    queryset: QuerySet[M],
    *,
    field: str,
    descending: bool = True,
    after: Position | None = None,
    limit: int,
    key: Hashable = None,
    seconds: float | None = None,
    skip: int = 0,
) -> Walked[M]:
    """walk(), within about `seconds` of reading where the server pages in windows (None: no
    budget). A walk stopped by it returns what it found with the position to go on from. From
    the head, the first `skip` rows may be left unread (`Walked.skipped` says how many were)."""
    if ordered_by_index(queryset):
        # The server walks the index in order and stops at the limit: no windows to budget.
        rows = _keyset(queryset, field, descending, after, limit + 1)
        return Walked(rows[:limit], len(rows) <= limit)
    # A list's head (from now, or from the floor) and its later pages learn apart: the head's
    # first window has to reach from now to the newest rows, a later page's only its own rows.
    # And each number of rows learns its own (pages by number: page 2 reads twice page 1's).
    key = (queryset.model._meta.db_table, field, descending, key, after is None, limit)
    walked = _windowed(queryset, field, descending, after, limit + 1, key, seconds, skip)
    if walked.skipped + len(walked.rows) > limit:
        return Walked(walked.rows[: limit - walked.skipped], False, skipped=walked.skipped)
    return walked
