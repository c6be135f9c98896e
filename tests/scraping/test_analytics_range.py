"""Sentiment analytics over a bounded range: a feed with two years of dates answers for the
90 days up to its last result by default, a chosen range long enough is aggregated per week
or per month, the range and interval are documented in the schema and pickable in the admin,
and wrong ranges are 400s with the field.

The tests that only read the feed share one (`TestOneFeed`: made once per class)."""

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from scraping.selectors import analytics
from scraping.selectors import results as selectors
from scraping.services import ingest
from scraping.services.extraction import Item
from tests import flushing
from tests.conftest import shared_world
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401

pytestmark = pytest.mark.django_db
FIRST, LAST = date(2024, 1, 1), date(2025, 12, 31)
TEXTS = ["I love it, wonderful.", "Awful, I hate it.", "It is blue."]


def _feed(company):
    """A feed with an entry every third day from FIRST to LAST (two years, 244 entries)."""
    project = make_project(company, name="Two years")
    target = make_target(project, "http://127.0.0.1:9/feed.xml")
    days = [FIRST + timedelta(days=n) for n in range(0, (LAST - FIRST).days + 1, 3)]
    items = [
        Item(
            title=f"Entry {n}",
            text=TEXTS[n % 3],
            url=f"http://127.0.0.1:9/e/{n}",
            date=datetime(d.year, d.month, d.day, 12, tzinfo=UTC),
        )
        for n, d in enumerate(days)
    ]
    ingest.ingest(target=target, items=items, platform="feed")
    return project, days


@pytest.fixture
def feed(world):
    return _feed(world.a)


@pytest.fixture(scope="class")
def shared(django_db_setup, django_db_blocker):
    """(world, feed) made once for the tests of a class, which only read them."""

    def build():
        world = shared_world()
        return world, _feed(world.a)

    yield from flushing.shared(django_db_blocker, build)


def _get(api, world, project, query=""):
    api.as_user(world.user("a", "client"))
    return api.get(f"/api/v1/scraping/projects/{project.pk}/analytics/{query}")


class TestOneFeed:
    """Reads of one feed."""

    def test_item3_long_feed_defaults_to_the_last_90_days_per_day(self, api, shared):
        world, (project, days) = shared
        response = _get(api, world, project)
        assert response.status_code == 200
        report = response.json()
        last = days[-1]
        assert (report["interval"], report["date_to"]) == ("day", last.isoformat())
        assert report["date_from"] == (last - timedelta(days=89)).isoformat()
        in_range = [d for d in days if d >= last - timedelta(days=89)]
        assert report["totals"]["count"] == len(in_range) == 30
        assert len(report["series"]) <= 90 and report["series"][-1]["period"] == last.isoformat()
        assert len(response.content) < 16_000, len(response.content)

    @pytest.mark.parametrize(
        "query, interval, rows",
        [
            ("?date_from=2024-01-01&date_to=2025-12-31", "week", 105),  # two years: ISO weeks
            ("?date_from=2024-01-01&date_to=2026-01-31", "month", 24),  # more: months with results
            ("?date_from=2025-10-01&date_to=2025-12-31", "day", 91),
            ("?date_from=2024-01-01&date_to=2025-12-31&interval=month", "month", 24),
        ],
    )
    def test_item3_a_long_range_is_aggregated_per_week_or_month(self, api, shared, query, interval, rows):
        world, (project, days) = shared
        report = _get(api, world, project, query).json()
        assert report["interval"] == interval and len(report["series"]) == rows
        assert sum(row["count"] for row in report["series"]) == report["totals"]["count"]
        if interval != "day":
            assert report["totals"]["count"] == len(days)
        if interval == "month":
            assert report["series"][0]["period"] == "2024-01-01" and report["series"][1]["period"] == "2024-02-01"
            assert report["series"][0]["count"] == len([d for d in days if (d.year, d.month) == (2024, 1)])

    @pytest.mark.parametrize(
        "query, field",
        [
            ("?date_from=2024-01-01&date_to=2025-12-31&interval=day", "interval"),  # 731 rows
            ("?date_from=2025-12-31&date_to=2025-01-01", "date_to"),
            ("?date_from=not-a-date", "date_from"),
            ("?interval=hour", "interval"),
        ],
    )
    def test_item3_wrong_ranges_are_400_with_the_field(self, api, shared, query, field):
        world, (project, _) = shared
        response = _get(api, world, project, query)
        assert response.status_code == 400 and field in response.json(), response.content

    @pytest.mark.parametrize(
        "query",
        [
            "?date_from=0001-01-01&date_to=9999-12-31",
            "?date_to=0001-01-01",
            "?date_from=9999-12-31",
            "?date_from=0001-01-01T00:00:00Z",
        ],
    )
    def test_item3_extreme_dates_are_answered(self, api, shared, query):
        world, (project, _) = shared
        response = _get(api, world, project, query)
        assert response.status_code == 200, response.content


def test_item3_empty_project_defaults_to_the_90_days_up_to_today(world):
    project = make_project(world.a, name="Empty")
    report = analytics.sentiment_analytics(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    today = datetime.now(UTC).date()
    assert (report["date_to"], report["date_from"]) == (today.isoformat(), (today - timedelta(days=89)).isoformat())
    assert report["series"] == [] and report["totals"]["count"] == 0


def test_item3_schema_documents_the_range(client, db):
    schema = client.get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/scraping/projects/{id}/analytics/", "/api/v1/scraping/targets/{id}/analytics/"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert {"date_from", "date_to", "interval", "platform", "sentiment"} <= set(parameters), path
        assert set(parameters["interval"]["schema"]["enum"]) == {"auto", "day", "week", "month"}
        assert parameters["date_from"]["schema"]["format"] == "date-time"


def test_item3_admin_page_picks_a_range(client, world, feed):
    project, days = feed
    client.force_login(world.user("a", "company_admin"))
    url = f"/admin/scraping/project/{project.pk}/sentiment/"
    html = client.get(url).content.decode()
    last = days[-1]
    assert f'value="{last.isoformat()}"' in html and f'value="{(last - timedelta(days=89)).isoformat()}"' in html
    assert html.count("<td>2025-") <= 90 and len(html) < 60_000

    def data(page):
        return json.loads(
            re.search(r'<script id="sentiment-data" type="application/json">(.*?)</script>', page, re.S).group(1)
        )

    monthly = data(
        client.get(url, {"date_from": "2024-01-01", "date_to": "2025-12-31", "interval": "month"}).content.decode()
    )
    assert monthly["interval"] == "month" and len(monthly["series"]) == 24
    assert (
        data(client.get(url, {"date_from": "2024-01-01", "date_to": "2025-12-31"}).content.decode())["interval"]
        == "week"
    )
    refused = client.get(url, {"date_from": "2024-01-01", "date_to": "2025-12-31", "interval": "day"})
    assert refused.status_code == 200 and "more than 400 rows" in refused.content.decode()
    backwards = client.get(url, {"date_from": "2025-01-01", "date_to": "2024-01-01"}).content.decode()
    assert "The last day must not be before the first." in backwards
