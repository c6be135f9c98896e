"""The `insights` pipeline component (registered in content's component registry by
monitoring.apps): a scraping project's sentiment over a date range, put into the context.

Config: `project_id` (a project of the company; else the context's `data["project_id"]`),
`days` (the range's length, 1 to MAX_DAYS, default DEFAULT_DAYS) and `top` (how many of
the most positive and of the most negative results, 0 to MAX_TOP, default DEFAULT_TOP).
The range is whole UTC days: `data["from"]` and `data["to"]` (ISO dates) when the context
gives them, else the `days` ending with `data["to"]` or today.

Running it writes `data["insights"]`: the project, the range, the counts by label and their
total, the negative share, the average compound score, the per-day trend with its direction
against the previous period of the same length, and the most positive and most negative
results (title, url, compound, excerpt). It appends to `data["sources"]` what a generator
may cite: the numbers as one "scraping.insights" source (a short Markdown summary), then
each top result (monitoring.services.links.result_source).

What it reads: the counts and the trend come from the daily sentiment rollups through
scraping's analytics selector (a few small documents per target and month, however many
results). The top results come from one query on the (company, project, published_at) index
bounded to the range, reading only ids and scores, and narrowed (by the rollups' per-day
counts) to the newest days of the range holding at most TOP_READ results (or the newest
day alone when it holds more); `top_complete` says whether that was the whole range. Only the chosen results are then read whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from bson import ObjectId

from content.models import Context
from content.services.components import ComponentError, RunState, citations
from content.services.components.base import number_error
from content.services.components.citations import EXCERPT_CHARS
from scraping.models import Project, Result
from scraping.selectors import analytics
from scraping.selectors.results import ResultFilters, company_project, published_in, sentiment

from .links import result_source

TYPE = "insights"
SOURCE = "scraping.insights"
DEFAULT_DAYS, MAX_DAYS = 7, 365
DEFAULT_TOP, MAX_TOP = 3, 10
TOP_READ = 2000  # results whose scores are read at most to find the top ones
STEADY = 0.05  # a change of the average compound smaller than this is no trend
EXCERPT = 300  # characters of a top result's text kept in data["insights"]
DAILY_LINES = 14  # the summary lists the days of a range up to this long
DAY = timedelta(days=1)
LABELS = analytics.LABELS

Row = dict[str, Any]


def validate_config(config: dict[str, Any], *, company: object, complete: bool = True) -> dict[str, list[str]]:
    """Field messages for `days`, `top` and `project_id` (which must name a project of `company`)."""
    errors: dict[str, list[str]] = {}
    for key, high in (("days", MAX_DAYS), ("top", MAX_TOP)):
        if message := number_error(config, key, 0 if key == "top" else 1, high, integer=True):
            errors[key] = [message]
    value = config.get("project_id")
    if value not in (None, "") and company_project(company, value) is None:
        errors["project_id"] = [f"project_id: no scraping project “{value}” in this company."]
    return errors


# --- the range --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def before(self) -> Range:
        """The period of the same length that ends the day before this one."""
        return Range(self.first - self.days * DAY, self.first - DAY)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The last moment of the range (included)."""
        return datetime.combine(self.last, time.max, tzinfo=UTC)

    def filters(self, project: Project) -> ResultFilters:
        return ResultFilters(project=project.pk, date_from=self.start, date_to=self.end)


def _date(data: dict[str, Any], key: str) -> date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ComponentError(f"data.{key}: “{value}” is not a date (YYYY-MM-DD).") from None


def date_range(data: dict[str, Any], days: int, *, today: date | None = None) -> Range:
    """The whole UTC days the insights cover (see the module doc)."""
    first, last = _date(data, "from"), _date(data, "to")
    if last is None:
        last = first + (days - 1) * DAY if first else today or datetime.now(UTC).date()
    if first is None:
        first = last - (days - 1) * DAY
    if first > last:
        raise ComponentError(f"data.from ({first}) is after data.to ({last}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise ComponentError(f"The range {first} to {last} is longer than {MAX_DAYS} days.")
    return Range(first, last)


# --- the numbers ------------------------------------------------------------------------------


def _totals(row: Row) -> Row:
    total = row["count"]
    return {
        "counts": {**{label: row[label] for label in LABELS}, "total": total},
        "negative_share": round(row["negative"] / total, 4) if total else None,
        "avg_compound": row["avg_compound"],
    }


def _daily(series: list[Row], period: Range) -> list[Row]:
    """One row per day of the range (days without results count 0)."""
    found = {row["period"]: row for row in series}
    empty = {"count": 0, **dict.fromkeys(LABELS, 0), "avg_compound": None}
    days = (period.first + n * DAY for n in range(period.days))
    return [{**found.get(day.isoformat(), empty), "period": day.isoformat()} for day in days]


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 4)


def direction(avg_change: float | None) -> str:
    """ "improving", "worsening" or "steady" by the change of the average compound score;
    "unknown" when either period has no scored results."""
    if avg_change is None:
        return "unknown"
    return "improving" if avg_change >= STEADY else "worsening" if avg_change <= -STEADY else "steady"


def _analytics(company_id: ObjectId, project: Project, period: Range) -> Row:
    return analytics.sentiment_analytics(company=company_id, filters=period.filters(project), interval="day")


# --- the top results --------------------------------------------------------------------------


def _newest_window(daily: list[Row]) -> tuple[date, bool] | None:
    """The first day of the newest days holding at most TOP_READ results, and whether that
    is the whole range; None when the range has no results."""
    held = 0
    for row in reversed(daily):
        if held and held + row["count"] > TOP_READ:
            return date.fromisoformat(row["period"]) + DAY, False
        held += row["count"]
    return (date.fromisoformat(daily[0]["period"]), True) if held else None


def top_results(company_id: ObjectId, project: Project, daily: list[Row], top: int) -> tuple[list[Row], bool]:
    """(the `top` most positive and `top` most negative of the range's results as
    {"result", "compound"}, positive first; whether every result of the range was read)."""
    window = _newest_window(daily) if top else None
    if window is None:
        return [], True
    start, complete = window
    period = Range(start, date.fromisoformat(daily[-1]["period"]))
    rows = published_in(
        company_id, project, since=period.start, through=period.end, fields=("analysis.sentiment.compound",)
    )
    newest_first = [
        (mood["compound"], row["published_at"], row["_id"])
        for row in rows
        if (mood := sentiment(row)) is not None and mood.get("compound") is not None
    ]
    positive = sorted((s for s in newest_first if s[0] > 0), key=lambda s: -s[0])[:top]
    negative = sorted((s for s in newest_first if s[0] < 0), key=lambda s: s[0])[:top]
    chosen = positive + negative
    found = {r.pk: r for r in Result.objects.for_company(company_id).filter(pk__in=[s[2] for s in chosen])}
    return [{"result": found[s[2]], "compound": s[0]} for s in chosen if s[2] in found], complete


def _entry(result: Result, compound: float) -> Row:
    source = result_source(result)
    excerpt = " ".join(source["text"].split())
    return {
        "id": source["id"],
        "title": source["title"],
        "url": source["url"],
        "compound": round(compound, 4),
        "excerpt": excerpt[:EXCERPT] + ("…" if len(excerpt) > EXCERPT else ""),
    }


# --- the summary ------------------------------------------------------------------------------


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def summary(insights: Row) -> str:
    """The numbers as short Markdown (the text of the "scraping.insights" source)."""
    counts, trend, previous = insights["counts"], insights["trend"], insights["trend"]["previous"]
    labels = ", ".join(f"{counts[label]} {label}" for label in LABELS)
    lines = [
        f"Sentiment of **{insights['project']['name']}** from {insights['from']} to {insights['to']}: "
        f"{counts['total']} results ({labels}).",
        f"- Negative share: {_share(insights['negative_share'])} "
        f"(previous {insights['days']} days: {_share(previous['negative_share'])}).",
        f"- Average compound: {_signed(insights['avg_compound'])} "
        f"(previous: {_signed(previous['avg_compound'])}); trend: {trend['direction']}.",
    ]
    if insights["days"] <= DAILY_LINES:
        days = "; ".join(
            f"{row['period'][5:]} {row['count']} ({_signed(row['avg_compound'])})" for row in trend["daily"]
        )
        lines.append(f"- Per day: {days}.")
    for key, name in (("most_positive", "Most positive"), ("most_negative", "Most negative")):
        if insights[key]:
            listed = "; ".join(f"{r['title']} ({_signed(r['compound'])}) {r['url']}".strip() for r in insights[key])
            lines.append(f"- {name}: {listed}.")
    return "\n".join(lines)[:EXCERPT_CHARS]


# --- the component ----------------------------------------------------------------------------


def insights_of(company_id: ObjectId, project: Project, period: Range, top: int) -> tuple[Row, list[Result]]:
    """data["insights"] for `project` over `period`, and the top results it names."""
    current = _analytics(company_id, project, period)
    before = period.before()
    previous: Row = {"from": before.first.isoformat(), "to": before.last.isoformat()}
    previous.update(_totals(_analytics(company_id, project, before)["totals"]))
    totals = _totals(current["totals"])
    daily = _daily(current["series"], period)
    chosen, complete = top_results(company_id, project, daily, top)
    avg_change = _change(totals["avg_compound"], previous["avg_compound"])
    insights: Row = {
        "project": {"id": str(project.pk), "name": project.name},
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days": period.days,
        **totals,
        "trend": {
            "daily": daily,
            "direction": direction(avg_change),
            "avg_compound_change": avg_change,
            "negative_share_change": _change(totals["negative_share"], previous["negative_share"]),
            "previous": previous,
        },
        "most_positive": [_entry(c["result"], c["compound"]) for c in chosen if c["compound"] > 0],
        "most_negative": [_entry(c["result"], c["compound"]) for c in chosen if c["compound"] < 0],
        "top_complete": complete,
    }
    insights["summary"] = summary(insights)
    return insights, [c["result"] for c in chosen]


def source_of(insights: Row) -> Row:
    """The insights as one source a generator may cite."""
    project = insights["project"]
    return {
        "kind": SOURCE,
        "id": project["id"],
        "title": f"Sentiment of {project['name']}, {insights['from']}–{insights['to']}",
        "url": "",
        "text": insights["summary"],
    }


def run(state: RunState, config: dict[str, Any]) -> None:
    data = state.data
    company_id = cast(Context, state.context).company_id
    value = config.get("project_id") or data.get("project_id")
    if not value:
        raise ComponentError("No project: set `project_id` in the component's config or the context's data.")
    project = company_project(company_id, value)
    if project is None:
        raise ComponentError(f"No scraping project “{value}” in this company.")
    period = date_range(data, config.get("days") or DEFAULT_DAYS)
    top = config.get("top", DEFAULT_TOP)
    insights, results = insights_of(company_id, project, period, DEFAULT_TOP if top is None else top)
    data["insights"] = insights
    citations.add(data, [source_of(insights), *(result_source(r) for r in results)])
