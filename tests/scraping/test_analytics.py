"""Sentiment analytics: counts per label and average compound per day and per ISO week, per
project and per target, over known results; date ranges (whole UTC days); the label filter;
the API; other tenants excluded. They read the daily rollups: kept by the ingest service,
rebuilt identically from the results, removed with their target."""

from datetime import UTC, datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command

from requestdesk.db.collections import raw
from scraping.models import Analysis, Project, Result, Sentiment, SentimentRollup
from scraping.selectors import analytics
from scraping.selectors import results as selectors
from scraping.services import ingest, rollups
from scraping.services.extraction import Item
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401

# (target, day of March 2024, label, compound). March 4 and 11 2024 are Mondays.
ROWS = [
    ("t1", 4, "positive", 0.8),
    ("t1", 4, "negative", -0.6),
    ("t2", 4, "positive", 0.4),
    ("t1", 5, "neutral", 0.0),
    ("t2", 7, "negative", -0.2),
    ("t1", 11, "positive", 0.6),
]


def _store(target, day, label, compound, n):
    result = ingest.build_result(
        item=Item(title=f"r{n}", text="x", date=datetime(2024, 3, day, 15, tzinfo=UTC)),
        target=target,
        platform="article",
    )
    result.analysis = Analysis(sentiment=Sentiment(label=label, compound=compound, positive=0, neutral=1, negative=0))
    Result.objects.bulk_create([result])
    rollups.add([result])  # what ingest does after its bulk insert


@pytest.fixture
def data(world):
    project = make_project(world.a, name="Tracked")
    targets = {
        "t1": make_target(project, "http://127.0.0.1:9/one"),
        "t2": make_target(project, "http://127.0.0.1:9/two"),
    }
    for n, (name, day, label, compound) in enumerate(ROWS):
        _store(targets[name], day, label, compound, n)
    elsewhere = make_project(world.a, name="Elsewhere")
    _store(make_target(elsewhere, "http://127.0.0.1:9/else"), 4, "negative", -1.0, 99)
    _store(make_target(make_project(world.b), "http://127.0.0.1:9/b"), 4, "negative", -1.0, 100)
    return project, targets


def row(count, positive, negative, neutral, avg, mixed=0):
    return {
        "count": count,
        "positive": positive,
        "negative": negative,
        "neutral": neutral,
        "mixed": mixed,
        "avg_compound": avg,
    }


def test_daily_series_per_project_with_empty_days(world, data):
    project, _ = data
    series = analytics.sentiment_series(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    assert series == [
        {"period": "2024-03-04", **row(3, 2, 1, 0, 0.2)},
        {"period": "2024-03-05", **row(1, 0, 0, 1, 0.0)},
        {"period": "2024-03-06", **row(0, 0, 0, 0, None)},
        {"period": "2024-03-07", **row(1, 0, 1, 0, -0.2)},
        {"period": "2024-03-08", **row(0, 0, 0, 0, None)},
        {"period": "2024-03-09", **row(0, 0, 0, 0, None)},
        {"period": "2024-03-10", **row(0, 0, 0, 0, None)},
        {"period": "2024-03-11", **row(1, 1, 0, 0, 0.6)},
    ]


def test_weekly_series_totals_and_targets(world, data):
    project, targets = data
    report = analytics.sentiment_analytics(
        company=world.a, filters=selectors.ResultFilters(project=project.pk), interval="week"
    )
    assert report["series"] == [
        {"period": "2024-03-04", **row(5, 2, 2, 1, 0.08)},
        {"period": "2024-03-11", **row(1, 1, 0, 0, 0.6)},
    ]
    assert report["totals"] == row(6, 3, 2, 1, 0.1667)
    assert report["targets"] == [
        {"target": str(targets["t1"].pk), "url": "http://127.0.0.1:9/one", **row(4, 2, 1, 1, 0.2)},
        {"target": str(targets["t2"].pk), "url": "http://127.0.0.1:9/two", **row(2, 1, 1, 0, 0.1)},
    ]


def test_per_target_and_date_range(world, data):
    _, targets = data
    by_target = analytics.sentiment_series(
        company=world.a, filters=selectors.ResultFilters(target=targets["t2"].pk), interval="week"
    )
    assert by_target == [{"period": "2024-03-04", **row(2, 1, 1, 0, 0.1)}]
    ranged = analytics.sentiment_series(
        company=world.a,
        filters=selectors.ResultFilters(
            target=targets["t1"].pk,
            date_from=datetime(2024, 3, 5, tzinfo=UTC),
            date_to=datetime(2024, 3, 11, tzinfo=UTC),
        ),
    )
    assert [(r["period"], r["count"]) for r in ranged] == [("2024-03-05", 1)]


def test_api_analytics(api, world, data):
    project, targets = data
    api.as_user(world.user("a", "client"))
    report = api.get(f"/api/v1/scraping/projects/{project.pk}/analytics/?interval=week").json()
    assert report["interval"] == "week" and report["totals"] == row(6, 3, 2, 1, 0.1667)
    assert [s["count"] for s in report["series"]] == [5, 1]
    daily = api.get(f"/api/v1/scraping/projects/{project.pk}/analytics/?date_from=2024-03-07&date_to=2024-03-07")
    assert [(s["period"], s["avg_compound"]) for s in daily.json()["series"]] == [("2024-03-07", -0.2)]
    one = api.get(f"/api/v1/scraping/projects/{project.pk}/analytics/?target={targets['t1'].pk}").json()
    assert one["totals"]["count"] == 4 and [t["target"] for t in one["targets"]] == [str(targets["t1"].pk)]
    target = api.get(f"/api/v1/scraping/targets/{targets['t2'].pk}/analytics/?interval=week").json()
    assert target["series"] == [{"period": "2024-03-04", **row(2, 1, 1, 0, 0.1)}]
    bad = api.get(f"/api/v1/scraping/projects/{project.pk}/analytics/?interval=hour")
    assert bad.status_code == 400 and "interval" in bad.json()


def test_no_results_no_series(world):
    project = make_project(world.a)
    report = analytics.sentiment_analytics(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    assert {key: report[key] for key in ("interval", "series", "totals", "targets")} == {
        "interval": "day",
        "series": [],
        "totals": row(0, 0, 0, 0, None),
        "targets": [],
    }


def test_label_filter_and_platform(world, data):
    project, _ = data
    positive = analytics.sentiment_analytics(
        company=world.a, filters=selectors.ResultFilters(project=project.pk, sentiment="positive"), interval="week"
    )
    assert positive["series"] == [
        {"period": "2024-03-04", **row(2, 2, 0, 0, 0.6)},
        {"period": "2024-03-11", **row(1, 1, 0, 0, 0.6)},
    ]
    assert positive["totals"] == row(3, 3, 0, 0, 0.6)
    other = analytics.sentiment_analytics(
        company=world.a, filters=selectors.ResultFilters(project=project.pk, platform="reviews")
    )
    assert other["totals"]["count"] == 0 and other["series"] == []


def test_a_date_bound_inside_a_day_leaves_the_day_out(world, data):
    _, targets = data
    series = analytics.sentiment_series(
        company=world.a,
        filters=selectors.ResultFilters(
            target=targets["t1"].pk,
            date_from=datetime(2024, 3, 4, 12, tzinfo=UTC),
            date_to=datetime(2024, 3, 11, 23, 59, 59, 999000, tzinfo=UTC),
        ),
    )
    assert [(r["period"], r["count"]) for r in series if r["count"]] == [("2024-03-05", 1), ("2024-03-11", 1)]


def test_ingest_keeps_the_rollups_and_rebuild_agrees(world):
    project = make_project(world.a, name="Ingested")
    target = make_target(project, "http://127.0.0.1:9/ingested")
    may, june = datetime(2024, 5, 31, 23, 30, tzinfo=UTC), datetime(2024, 6, 1, 0, 30, tzinfo=UTC)
    items = [
        Item(title=f"Item {n}", text=text, date=may if n < 3 else june)
        for n, text in enumerate(
            ["I love it, wonderful.", "Awful, I hate it.", "It is blue.", "Great value!", "Terrible support."]
        )
    ]
    ingest.ingest(target=target, items=items, platform="article")
    ingest.ingest(target=target, items=items, platform="article")  # duplicates: counted once
    filters = selectors.ResultFilters(project=project.pk)
    stored = Result.objects.filter(project=project)
    assert stored.count() == 5
    expected = {
        label: stored.filter(analysis__sentiment__label=label).count() for label in ("positive", "negative", "neutral")
    }
    incremental = analytics.sentiment_analytics(company=world.a, filters=filters)
    assert [(s["period"], s["count"]) for s in incremental["series"]] == [("2024-05-31", 3), ("2024-06-01", 2)]
    assert {label: incremental["totals"][label] for label in expected} == expected
    collection = rollups.of_company(world.a)
    assert len(list(collection.find({"target_id": target.pk}))) == 2  # May and June
    call_command("rebuild_sentiment_rollups", stdout=StringIO())
    assert analytics.sentiment_analytics(company=world.a, filters=filters) == incremental
    target_id = target.pk
    target.delete()
    assert list(collection.find({"target_id": target_id})) == []


def test_mixed_results_are_counted(world):
    project = make_project(world.a, name="Phones")
    target = make_target(project, "http://127.0.0.1:9/phones")
    day = datetime(2024, 4, 2, 9, tzinfo=UTC)
    items = [
        Item(
            title="Two sides",
            date=day,
            text="The screen is gorgeous and I absolutely love the camera, "
            "best phone I have owned! But the battery is terrible, it dies by noon and charging is awful.",
        ),
        Item(title="Happy", date=day, text="I love it, wonderful."),
    ]
    ingest.ingest(target=target, items=items, platform="reviews")
    report = analytics.sentiment_analytics(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    assert report["totals"]["count"] == 2 and report["totals"]["mixed"] == 1 and report["totals"]["positive"] == 1
    only_mixed = analytics.sentiment_analytics(
        company=world.a, filters=selectors.ResultFilters(project=project.pk, sentiment="mixed")
    )
    assert only_mixed["totals"]["count"] == 1 and only_mixed["series"][0]["mixed"] == 1


def _rollup_cells():
    """{(company id or None, day): cell} of the company-wide and platform-wide rollups, the
    cells' zero entries (and cells of nothing) left out, sums rounded."""
    cells = {}
    for doc in raw(SentimentRollup, unscoped=True).find({"project_id": None}):
        for day, cell in rollups.days_of(doc):
            kept = {name: round(value, 6) for name, value in cell.items() if round(value, 6)}
            if kept:
                cells[(doc["company_id"], day)] = kept
    return cells


def test_deleted_results_targets_and_projects_leave_the_rollups(client, world, data):
    project, targets = data
    client.force_login(world.user("a", "company_admin"))
    doomed = Result.objects.get(company=world.a, content__title="r0")  # t1, March 4, positive
    response = client.post(
        "/admin/scraping/result/", {"action": "delete_selected", "_selected_action": [str(doomed.pk)], "post": "yes"}
    )
    assert response.status_code == 302 and not Result.objects.filter(pk=doomed.pk).exists()
    filters = selectors.ResultFilters(project=project.pk)
    assert analytics.rollup_count(world.a, filters) == 5
    assert analytics.sentiment_analytics(company=world.a, filters=filters)["totals"]["positive"] == 2
    targets["t2"].delete()
    assert analytics.rollup_count(world.a, filters) == 3
    Project.objects.get(company=world.a, name="Elsewhere").delete()
    kept = _rollup_cells()
    assert sum(rollups.cell_count(cell) for (company, _), cell in kept.items() if company == world.a.pk) == 3
    assert sum(rollups.cell_count(cell) for (company, _), cell in kept.items() if company is None) == 4  # and b's
    rollups.rebuild()
    assert _rollup_cells() == kept  # what counting every stored result again gives
