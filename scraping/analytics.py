"""Sentiment analytics (read by scraping.selectors' callers: the API and the admin chart):
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
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from .models import Target
from .selectors import INTERVALS, LABELS, ResultFilters, _pk, naive_utc
from .services import rollups

DAY = timedelta(days=1)


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
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def _gather(company, filters: ResultFilters, interval: str):
    periods, targets, total = defaultdict(_Sum), defaultdict(_Sum), _Sum()
    for target_id, day, cell in _cells(company, filters):
        if not rollups.cell_count(cell, filters.sentiment):
            continue
        for bucket in (periods[_period(day, interval)], targets[target_id], total):
            bucket.add(cell, filters.sentiment)
    return periods, targets, total


def _series(periods: dict, interval: str) -> list[dict]:
    if not periods:
        return []
    step = timedelta(days=7 if interval == "week" else 1)
    series, start, last = [], min(periods), max(periods)
    while start <= last:
        series.append({"period": start.date().isoformat(), **(periods[start] if start in periods else _Sum()).row()})
        start += step
    return series


def _check(interval: str) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of: {', '.join(INTERVALS)}")


def sentiment_series(*, company, filters: ResultFilters, interval: str = "day") -> list[dict]:
    """Counts per label and the average compound score per day or ISO week (Monday), from
    the first period with results to the last; periods without results have count 0."""
    _check(interval)
    return _series(_gather(company, filters, interval)[0], interval)


def _targets(company, targets: dict) -> list[dict]:
    ordered = sorted(targets.items(), key=lambda item: (-item[1].count, item[0]))
    urls = dict(Target.objects.for_company(company).filter(pk__in=list(targets)).values_list("pk", "url"))
    return [{"target": str(target_id), "url": urls.get(target_id, ""), **total.row()}
            for target_id, total in ordered]


def sentiment_by_target(*, company, filters: ResultFilters) -> list[dict]:
    return _targets(company, _gather(company, filters, "day")[1])


def rollup_count(company, filters: ResultFilters) -> int:
    """Results the filters select, counted at day granularity (the days a date bound cuts
    are counted whole: an upper bound for the search's choice of plan)."""
    loose = ResultFilters(project=filters.project, target=filters.target, platform=filters.platform,
                          sentiment=filters.sentiment,
                          date_from=filters.date_from and _day(naive_utc(filters.date_from)),
                          date_to=filters.date_to and _day(naive_utc(filters.date_to)) + DAY - timedelta(milliseconds=1))
    return sum(rollups.cell_count(cell, loose.sentiment) for _, _, cell in _cells(company, loose))


def _day(when: datetime) -> datetime:
    return datetime(when.year, when.month, when.day)


def sentiment_analytics(*, company, filters: ResultFilters, interval: str = "day") -> dict:
    """The series, the totals and the per-target breakdown (what the API and the chart show)."""
    _check(interval)
    periods, targets, total = _gather(company, filters, interval)
    return {"interval": interval, "series": _series(periods, interval), "totals": total.row(),
            "targets": _targets(company, targets)}
