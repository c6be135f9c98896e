"""requestdesk.db.pages: keyset walks give exactly the ORM's order, on both strategies, and
the API's cursor and page-number paginations built on them."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId

from events.models import AuditLog
from requestdesk.api.pagination import encode_cursor
from requestdesk.db import pages

STRATEGIES = {
    "windows": {"ordered_index_sort": False, "cheap_counts": False},
    "keyset": {"ordered_index_sort": True, "cheap_counts": True},
}


@pytest.fixture(params=list(STRATEGIES))
def strategy(request, settings):
    settings.DATABASE_CAPABILITIES = STRATEGIES[request.param]
    pages._WIDTHS.clear()
    return request.param


def _entries(company, times):
    rows = [AuditLog(company=company, event_type="test.row", object_repr=str(i)) for i in range(len(times))]
    AuditLog.objects.bulk_create(rows)
    for row, at in zip(rows, times, strict=True):
        AuditLog.objects.filter(pk=row.pk).update(created_at=at)
    return rows


def _spread(n, seed=7):
    """Dates over the last 360 days, clustered (the last hours, the year, a cluster about a year
    back), with ties (equal timestamps). All within the audit log's 365-day TTL: the server's
    TTL monitor would delete older rows while a test walks them."""
    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    times = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.5:
            at = now - timedelta(minutes=rnd.randint(0, 600))
        elif r < 0.8:
            at = now - timedelta(days=rnd.randint(1, 300))
        else:
            at = now - timedelta(days=360) + timedelta(hours=rnd.randint(0, 240))
        times.append(at)
    times += times[:10]  # ties
    return times


def _expected(company, descending=True):
    sign = "-" if descending else ""
    return list(
        AuditLog.objects.filter(company=company).order_by(f"{sign}created_at", f"{sign}pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize("descending", [True, False])
def test_walking_page_by_page_gives_the_orm_order_exactly(world, strategy, descending):
    _entries(world.a, _spread(120))
    _entries(world.b, _spread(30, seed=8))
    expected = _expected(world.a, descending)
    queryset = AuditLog.objects.filter(company=world.a)
    seen, after = [], None
    for _ in range(100):
        rows, ended = pages.walk(queryset, field="created_at", descending=descending, after=after, limit=17)
        seen += [row.pk for row in rows]
        if ended:
            break
        after = pages.position_of(rows[-1], "created_at")
    assert seen == expected
    assert len(seen) == 130


def test_walk_applies_the_querysets_filters(world, strategy):
    rows = _entries(world.a, _spread(60))
    AuditLog.objects.filter(pk__in=[r.pk for r in rows[::3]]).update(event_type="test.kept")
    queryset = AuditLog.objects.filter(company=world.a, event_type="test.kept")
    found, ended = pages.walk(queryset, field="created_at", limit=500)
    assert ended
    assert [r.pk for r in found] == list(queryset.order_by("-created_at", "-pk").values_list("pk", flat=True))


def test_empty_list_ends_at_once(world, strategy):
    rows, ended = pages.walk(AuditLog.objects.filter(company=world.a), field="created_at", limit=20)
    assert rows == [] and ended


def _api_key_client(api, world):
    from tenants.roles import Role

    return api.as_user(world.user("a", Role.COMPANY_ADMIN))


def test_cursor_api_pages_forward_and_back(world, api, strategy):
    _entries(world.a, _spread(45))
    client = _api_key_client(api, world)
    expected = _expected(world.a)
    url, seen, firsts = "/api/v1/audit-logs/?page_size=10", [], []
    while url:
        body = client.get(url).json()
        assert "count" not in body
        firsts.append(url)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [str(pk) for pk in expected]
    # back from the last page to the first through `previous`
    body = client.get(firsts[-1]).json()
    back = [row["id"] for row in body["results"]]
    while body["previous"]:
        body = client.get(body["previous"]).json()
        back = [row["id"] for row in body["results"]] + back
    assert back == seen


def test_tampered_or_unknown_cursor_is_a_400(world, api):
    client = _api_key_client(api, world)
    good = encode_cursor(pages.Position(datetime.now(UTC), ObjectId()), False)
    for cursor in ("nonsense", good[:-3] + "abc", good + "x"):
        response = client.get("/api/v1/audit-logs/", {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert "cursor" in response.json()


def test_another_tenants_cursor_shows_only_own_rows(world, api, strategy):
    b_rows = _entries(world.b, _spread(20))
    _entries(world.a, _spread(5, seed=3))
    position = pages.Position(datetime.now(UTC) + timedelta(days=1), b_rows[0].pk)
    client = _api_key_client(api, world)
    body = client.get("/api/v1/audit-logs/", {"cursor": encode_cursor(position, False)}).json()
    own = {str(pk) for pk in AuditLog.objects.filter(company=world.a).values_list("pk", flat=True)}
    assert body["results"] and {row["id"] for row in body["results"]} <= own


def test_page_numbers_count_exactly_or_say_at_least(world, api, settings):
    from content.models import Ticket
    from tenants.roles import Role

    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    user = world.user("a", Role.COMPANY_ADMIN)
    Ticket.objects.bulk_create([Ticket(company=world.a, title=f"t{i}", created_by=user) for i in range(45)])
    client = api.as_user(user)
    first = client.get("/api/v1/content/tickets/?page_size=10").json()
    assert first["count_exact"] is False and first["count"] == 11 and first["next"]
    last = client.get("/api/v1/content/tickets/?page_size=10&page=5").json()
    assert last["count_exact"] is True and last["count"] == 45 and last["next"] is None
    assert len(last["results"]) == 5
    settings.DATABASE_CAPABILITIES = STRATEGIES["keyset"]
    exact = client.get("/api/v1/content/tickets/?page_size=10").json()
    assert exact["count_exact"] is True and exact["count"] == 45
    titles = [
        t["title"]
        for p in range(1, 6)
        for t in client.get(f"/api/v1/content/tickets/?page_size=10&page={p}").json()["results"]
    ]
    assert sorted(titles) == sorted(f"t{i}" for i in range(45))


def test_the_head_of_a_list_of_old_rows_is_one_window_once_learnt(world, settings):
    """Rows written in one burst hours ago: the head's first window learns to reach from now
    to them (a width learnt from the burst's own span would start every walk with empty
    windows, each a round trip)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    pages._WIDTHS.clear()
    burst = datetime.now(UTC) - timedelta(hours=3)
    _entries(world.a, [burst + timedelta(milliseconds=i) for i in range(60)])
    queryset = AuditLog.objects.filter(company=world.a)
    first, _ = pages.walk(queryset, field="created_at", limit=20, key="burst")
    with CaptureQueriesContext(connection) as again:
        rows, ended = pages.walk(queryset, field="created_at", limit=20, key="burst")
    assert [r.pk for r in rows] == [r.pk for r in first] == _expected(world.a)[:20]
    assert not ended
    assert len(again.captured_queries) == 1, [q["sql"][:200] for q in again.captured_queries]


def test_pages_by_number_asked_in_turn_are_each_one_window_once_learnt(world, settings):
    """Page 1 and page 2 of one list, asked in turn (a user going back and forth): each reads
    its rows in one window once learnt. A head learns a window for its own number of rows: one
    learnt for page 1 holds too few for page 2 (a second round trip), one learnt for page 2
    makes page 1 read and sort twice its rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    pages._WIDTHS.clear()
    now = datetime.now(UTC)
    _entries(world.a, [now - timedelta(minutes=i) for i in range(120)])
    queryset = AuditLog.objects.filter(company=world.a).order_by("-created_at")
    expected = _expected(world.a)
    for number in (1, 2, 1, 2):
        pages.numbered(queryset, number=number, size=20, key="turns")
    for number in (1, 2):
        with CaptureQueriesContext(connection) as asked:
            page = pages.numbered(queryset, number=number, size=20, key="turns")
        assert [r.pk for r in page.rows] == expected[(number - 1) * 20 : number * 20]
        assert len(asked.captured_queries) == 1, (number, [q["sql"][:200] for q in asked.captured_queries])


@pytest.mark.parametrize("descending", [True, False])
def test_a_later_page_by_number_leaves_its_earlier_rows_to_the_server_once_learnt(world, settings, descending):
    """Page 3 by number, once its window is learnt: one query in which the server skips pages
    1 and 2 (they are neither sent nor built), with the same rows and count as reading them.
    When the window no longer holds the pages before (rows deleted since), the page is still
    exact: the window is read whole, as before it was learnt."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    pages._WIDTHS.clear()
    now = datetime.now(UTC)
    _entries(world.a, [now - timedelta(minutes=i) for i in range(120)])
    queryset = AuditLog.objects.filter(company=world.a).order_by(f"{'-' if descending else ''}created_at")
    expected = _expected(world.a, descending)
    pages.numbered(queryset, number=3, size=20, key="skip")
    with CaptureQueriesContext(connection) as asked:
        page = pages.numbered(queryset, number=3, size=20, key="skip")
    assert [r.pk for r in page.rows] == expected[40:60]
    assert (page.count, page.count_exact, page.has_next) == (61, False, True)
    assert len(asked.captured_queries) == 1 and "'$skip': 40" in asked.captured_queries[0]["sql"]
    AuditLog.objects.filter(pk__in=expected[:50]).delete()
    page = pages.numbered(queryset, number=3, size=20, key="skip")
    assert [r.pk for r in page.rows] == expected[90:110]
    assert (page.count, page.count_exact, page.has_next) == (61, False, True)


@pytest.mark.parametrize("descending", [True, False])
def test_the_head_of_a_burst_is_a_window_of_about_a_page(world, settings, descending):
    """300 rows written within 30 ms: once learnt, the head's first window holds about a page,
    not the whole burst (a width from now to the page's end takes in every row of it, and the
    server sorts them all on every request)."""
    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    pages._WIDTHS.clear()
    burst = datetime.now(UTC) - timedelta(hours=3)
    _entries(world.a, [burst + timedelta(microseconds=100 * i) for i in range(300)])
    queryset = AuditLog.objects.filter(company=world.a)
    first, _ = pages.walk(queryset, field="created_at", descending=descending, limit=20, key="burst")
    key = (AuditLog._meta.db_table, "created_at", descending, "burst", True, 20)
    edge = pages._WIDTHS[key]
    inside = queryset.filter(**{f"created_at__{'gte' if descending else 'lt'}": edge}).count()
    assert 21 <= inside <= 40, inside
    rows, ended = pages.walk(queryset, field="created_at", descending=descending, limit=20, key="burst")
    assert [r.pk for r in rows] == [r.pk for r in first] == _expected(world.a, descending)[:20]
    assert not ended


class _Clock:
    """time.monotonic for pages: every reading one second after the last, so a walk within
    `seconds` reads about that many windows, whatever the machine's speed."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        self.now += 1.0
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.DATABASE_CAPABILITIES = STRATEGIES["windows"]
    pages._WIDTHS.clear()
    monkeypatch.setattr(pages, "time", _Clock())


def _walk_on(queryset, descending, seconds, limit=17):
    """Every walk_within from the head to the list's end, going on from each stop: (the rows'
    pks, the walks that stopped at the budget, the walks)."""
    seen, stopped, walks, after = [], 0, 0, None
    while True:
        walks += 1
        walked = pages.walk_within(
            queryset, field="created_at", descending=descending, after=after, limit=limit, seconds=seconds
        )
        seen += [row.pk for row in walked.rows]
        if walked.ended:
            return seen, stopped, walks
        stopped += walked.resume is not None
        after = walked.resume or pages.position_of(walked.rows[-1], "created_at")
        assert walks < 200


@pytest.mark.parametrize("descending", [True, False])
def test_a_walk_within_a_budget_goes_on_where_it_stopped(world, clock, descending):
    """A filter few rows match, walked within a budget of ~2 windows: walks stop with fewer
    rows than asked (none, often) and where to go on; gone on from there, they give exactly
    the ORM's rows in order, ties at a stop included, and no walk reads more than its budget."""
    rows = _entries(world.a, _spread(120))
    kept = [row.pk for row in rows[::25]]
    AuditLog.objects.filter(pk__in=kept).update(event_type="test.kept")
    queryset = AuditLog.objects.filter(company=world.a, event_type="test.kept")
    expected = list(
        queryset.order_by(*(["-created_at", "-pk"] if descending else ["created_at", "pk"])).values_list(
            "pk", flat=True
        )
    )
    seen, stopped, _ = _walk_on(queryset, descending, seconds=2.5)
    assert seen == expected and stopped
    # Every row, within the same budget: the stops lose and repeat none.
    everything = AuditLog.objects.filter(company=world.a)
    seen, stopped, _ = _walk_on(everything, descending, seconds=2.5, limit=40)
    assert seen == _expected(world.a, descending) and stopped


def test_a_walk_without_a_budget_reads_to_the_page(world, clock):
    rows = _entries(world.a, _spread(60))
    AuditLog.objects.filter(pk=rows[-1].pk).update(event_type="test.kept")
    walked = pages.walk_within(
        AuditLog.objects.filter(company=world.a, event_type="test.kept"), field="created_at", limit=5
    )
    assert [row.pk for row in walked.rows] == [rows[-1].pk] and walked.ended and walked.resume is None


def test_the_cursor_api_pages_on_through_pages_the_budget_cut_short(world, api, clock, settings):
    """An audit-log filter that matches three old rows: pages read within LIST_READ_SECONDS come
    back short or empty with a next link; following next gives the three rows and ends, and
    previous leads back."""
    settings.LIST_READ_SECONDS = 2.5
    rows = _entries(world.a, _spread(80))
    kept = sorted(rows[50:53], key=lambda row: AuditLog.objects.get(pk=row.pk).created_at, reverse=True)
    AuditLog.objects.filter(pk__in=[row.pk for row in kept]).update(event_type="test.kept")
    client = _api_key_client(api, world)
    url, seen, short, bodies = "/api/v1/audit-logs/?event_type=test.kept&page_size=10", [], 0, []
    while url:
        body = client.get(url).json()
        bodies.append(body)
        seen += [row["id"] for row in body["results"]]
        short += len(body["results"]) < 10 and body["next"] is not None
        url = body["next"]
    expected = list(
        AuditLog.objects.filter(company=world.a, event_type="test.kept")
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    assert seen == [str(pk) for pk in expected] and short
    assert bodies[0]["previous"] is None
    back, body = [], bodies[-1]
    back = [row["id"] for row in body["results"]]
    while body["previous"]:
        body = client.get(body["previous"]).json()
        back = [row["id"] for row in body["results"]] + back
    assert back == seen
