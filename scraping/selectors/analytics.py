"""Sentiment analytics (read by the API and the admin chart; the search reads rollup_count):
counts per label and the average compound score per day or ISO week (Monday), the totals,
and the per-target breakdown, of a project or a target.

Read from the daily rollups (scraping.services.rollups), not from the results: one small
document per target, platform and month, so the cost follows targets x months, not results.
What that means for the filters:
- sentiment: the label's own columns (its count, the average of its compound scores);
- platform, project, target: the rollup's own keys;
- date range: whole UTC days. A day counts when it lies entirely inside [date_from, date_to]
  (the API turns a date-only date_to into the end of that day, so `date_from=2024-03-07&
  date_to=2024-03-07` is March 7); a bound inside a day leaves that day out.

`sentiment_analytics` (the API and the admin page) answers for a bounded range, so a feed
with years of dates is not a thousand rows of zeros: a missing date_to is the last day with
results (today when there are none), a missing date_from DEFAULT_DAYS before it. Its
interval `auto` (the default) is per day up to DAILY_MAX_DAYS, per week up to
WEEKLY_MAX_DAYS, else per month; a chosen interval that would give more than MAX_PERIODS
rows is refused (RangeTooLong). The answer says the range and interval it used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from django.utils import timezone

from ..models import Target
from ..services import rollups
from .results import ResultFilters, _pk, naive_utc

LABELS = rollups.LABELS
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)
INTERVALS = ("auto", "day", "week", "month")
DEFAULT_DAYS = 90  # the range shown when none is asked for, ending on the last day with results
DAILY_MAX_DAYS = 92  # `auto`: per day up to about three months,
WEEKLY_MAX_DAYS = 731  # per week up to two years, then per month
MAX_PERIODS = 400  # rows a chosen interval may give; a longer range must be coarser


class RangeTooLong(ValueError):
    """The chosen interval over the range would give more than MAX_PERIODS rows."""


def _query(filters: ResultFilters) -> dict:
    # With the company raw() adds, only the fields of the (company_id, project_id, month) or
    # the unique (company_id, target_id, ...) index: the embedded server scans the collection
    # when given others.
    query = {}
    if filters.target is not None:
        query["target_id"] = _pk(filters.target)
    elif filters.project is not None:
        query["project_id"] = _pk(filters.project)
    return query


def _in_range(day: datetime, filters: ResultFilters) -> bool:
    low, high = naive_utc(filters.date_from), naive_utc(filters.date_to)
    return (low is None or day >= low) and (high is None or day + DAY - timedelta(milliseconds=1) <= high)


def _cells(company, filters: ResultFilters):
    """(target_id, day, cell) of the rollups the filters select."""
    project = _pk(filters.project) if filters.project is not None else None
    for doc in rollups.of_company(company).find(_query(filters)):
        if doc.get("target_id") is None or (project is not None and doc.get("project_id") != project):
            continue
        if filters.platform and doc.get("platform") != filters.platform:
            continue
        for day, cell in rollups.days_of(doc):
            if _in_range(day, filters):
                yield doc["target_id"], day, cell


class _Sum:
    __slots__ = ("count", "labels", "compound", "scored")

    def __init__(self):
        self.count, self.labels, self.compound, self.scored = 0, dict.fromkeys(LABELS, 0), 0.0, 0

    def add(self, cell: dict, label: str | None) -> None:
        for name in (label,) if label else LABELS:
            n = int(cell.get(name, 0))
            self.labels[name] += n
            self.scored += n
            self.compound += cell.get(f"{name}_sum", 0.0)
        self.count += rollups.cell_count(cell, label)

    def row(self) -> dict:
        avg = round(self.compound / self.scored, 4) if self.scored else None
        return {"count": self.count, **self.labels, "avg_compound": avg}


def _period(day: datetime, interval: str) -> datetime:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if interval == "month" else day


def _next(period: datetime, interval: str) -> datetime:
    if interval == "month":
        return (period + timedelta(days=32)).replace(day=1)
    return period + timedelta(days=7 if interval == "week" else 1)


def _gather(cells, sentiment: str | None, interval: str):
    periods, targets, total = defaultdict(_Sum), defaultdict(_Sum), _Sum()
    for target_id, day, cell in cells:
        if not rollups.cell_count(cell, sentiment):
            continue
        for bucket in (periods[_period(day, interval)], targets[target_id], total):
            bucket.add(cell, sentiment)
    return periods, targets, total


def _series(periods: dict, interval: str) -> list[dict]:
    if not periods:
        return []
    series, start, last = [], min(periods), max(periods)
    while start <= last:
        series.append({"period": start.date().isoformat(), **(periods[start] if start in periods else _Sum()).row()})
        start = _next(start, interval)
    return series


def _check(interval: str) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of: {', '.join(INTERVALS)}")


def sentiment_series(*, company, filters: ResultFilters, interval: str = "day") -> list[dict]:
    """Counts per label and the average compound score per day, ISO week (Monday) or month,
    from the first period with results to the last; periods without results have count 0."""
    _check(interval)
    return _series(_gather(_cells(company, filters), filters.sentiment, interval)[0], interval)


def _targets(company, targets: dict) -> list[dict]:
    ordered = sorted(targets.items(), key=lambda item: (-item[1].count, item[0]))
    urls = dict(Target.objects.for_company(company).filter(pk__in=list(targets)).values_list("pk", "url"))
    return [{"target": str(target_id), "url": urls.get(target_id, ""), **total.row()} for target_id, total in ordered]


def sentiment_by_target(*, company, filters: ResultFilters) -> list[dict]:
    return _targets(company, _gather(_cells(company, filters), filters.sentiment, "day")[1])


def rollup_count(company, filters: ResultFilters) -> int:
    """Results the filters select, counted at day granularity (the days a date bound cuts
    are counted whole: an upper bound for the search's choice of plan)."""
    loose = ResultFilters(
        project=filters.project,
        target=filters.target,
        platform=filters.platform,
        sentiment=filters.sentiment,
        date_from=filters.date_from and _day(naive_utc(filters.date_from)),
        date_to=filters.date_to and _day(naive_utc(filters.date_to)) + DAY - timedelta(milliseconds=1),
    )
    return sum(rollups.cell_count(cell, loose.sentiment) for _, _, cell in _cells(company, loose))


def _day(when: datetime) -> datetime:
    return datetime(when.year, when.month, when.day)


def _plus(when: datetime, delta: timedelta) -> datetime:
    """when + delta, held inside datetime's range (a bound of year 1 or 9999 is valid input)."""
    try:
        return when + delta
    except OverflowError:
        return datetime.max if delta > timedelta(0) else datetime.min


def bounded(filters: ResultFilters, cells: list) -> ResultFilters:
    """`filters` with both date bounds: date_to defaults to the end of the last day with
    results in `cells` (today when none), date_from to DEFAULT_DAYS days before it."""
    high = naive_utc(filters.date_to)
    if high is None:
        days = [day for _, day, _ in cells if _in_range(day, filters)]
        last = max(days) if days else _day(naive_utc(timezone.now()))
        low = naive_utc(filters.date_from)
        high = _plus(max(last, _day(low) if low else last), DAY - MS)
    low = naive_utc(filters.date_from) or _plus(_day(high), -(DEFAULT_DAYS - 1) * DAY)
    return replace(filters, date_from=low, date_to=high)


def _whole_days(filters: ResultFilters) -> tuple[datetime, datetime]:
    """The first and the last day entirely inside the (bounded) filters' range."""
    low, high = naive_utc(filters.date_from), naive_utc(filters.date_to)
    first = _day(low) if low == _day(low) else _day(_plus(low, DAY))
    last = _day(high) if high >= _plus(_day(high), DAY - MS) else _day(_plus(high, -DAY))
    return first, last


def _periods_between(first: datetime, last: datetime, interval: str) -> int:
    if last < first:
        return 0
    if interval == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (_period(last, interval) - _period(first, interval)).days // (7 if interval == "week" else 1) + 1


def choose_interval(interval: str, first: datetime, last: datetime) -> str:
    """`auto` as per day, week or month by the range's length; a chosen one if it gives at
    most MAX_PERIODS rows (RangeTooLong otherwise)."""
    _check(interval)
    if interval == "auto":
        days = (last - first).days + 1
        return "day" if days <= DAILY_MAX_DAYS else "week" if days <= WEEKLY_MAX_DAYS else "month"
    if _periods_between(first, last, interval) > MAX_PERIODS:
        raise RangeTooLong(
            f"From {first.date()} to {last.date()} per {interval} is more than {MAX_PERIODS} rows: "
            f"choose a longer interval (or auto) or a shorter range."
        )
    return interval


def sentiment_analytics(*, company, filters: ResultFilters, interval: str = "auto") -> dict:
    """The series, the totals and the per-target breakdown (what the API and the chart show),
    over the filters' date range or the default one, per the interval chosen or fitting it."""
    _check(interval)
    cells = list(_cells(company, replace(filters, date_from=None, date_to=None)))  # the rollups are read once
    ranged = bounded(filters, cells)
    first, last = _whole_days(ranged)
    interval = choose_interval(interval, first, last)
    periods, targets, total = _gather((c for c in cells if _in_range(c[1], ranged)), filters.sentiment, interval)
    return {
        "interval": interval,
        "date_from": first.date().isoformat(),
        "date_to": last.date().isoformat(),
        "series": _series(periods, interval),
        "totals": total.row(),
        "targets": _targets(company, targets),
    }
