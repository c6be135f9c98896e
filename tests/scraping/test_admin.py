"""The scraping admin: pages render for company staff, "Run now" queues jobs, the sentiment
chart page shows a Chart.js chart (a pinned static file) with the analytics numbers, system
presets are read-only, unsafe target URLs are refused, and nothing crosses companies."""

import json
import re
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
from django.conf import settings

from events.models import AuditLog
from requestdesk import admin_lists
from scraping.models import Preset, Project, ScrapeJob, Target
from scraping.services import ingest
from scraping.services.extraction import Item
from tests.support.clock import memo_clock  # noqa: F401
from tests.support.content import make_provider
from tests.support.round_trips import round_trips  # noqa: F401
from tests.support.scraping import fast_scraping, make_project, make_target, system_presets  # noqa: F401


@pytest.fixture
def staff(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def project(world, site):
    project = make_project(world.a, name="Kettles")
    target = make_target(project, site.url("/products/kettle"))
    for day, text in ((4, "I love it, wonderful!"), (4, "Awful and broken."), (11, "It is blue.")):
        ingest.ingest(
            target=target,
            platform="reviews",
            items=[Item(title="", text=text, date=datetime(2024, 3, day, tzinfo=UTC))],
        )
    return project


def test_scraping_pages_render_for_company_staff(staff, world, project):
    client = staff(world.user("a", "content_manager"))
    for model in ("preset", "project", "target", "scrapejob", "result"):
        assert client.get(f"/admin/scraping/{model}/").status_code == 200, model
    for model in ("preset", "project", "target"):
        assert client.get(f"/admin/scraping/{model}/add/").status_code == 200, model
    page = client.get(f"/admin/scraping/project/{project.pk}/change/").content.decode()
    assert "Sentiment chart" in page and f"/admin/scraping/project/{project.pk}/sentiment/" in page
    assert "/products/kettle" in page  # the targets inline
    negative = client.get("/admin/scraping/result/?sentiment=negative").content.decode()
    assert "Awful and broken." in negative and "wonderful" not in negative


def test_sentiment_chart_page(staff, world, project):
    client = staff(world.user("a", "company_admin"))
    response = client.get(f"/admin/scraping/project/{project.pk}/sentiment/?interval=week")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<canvas id="sentiment-chart"' in html and "/static/scraping/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    data = json.loads(
        re.search(r'<script id="sentiment-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert data["interval"] == "week" and [(s["period"], s["count"]) for s in data["series"]] == [
        ("2024-03-04", 2),
        ("2024-03-11", 1),
    ]
    assert data["totals"]["count"] == 3 and (data["totals"]["positive"], data["totals"]["negative"]) == (1, 1)
    assert "<td>2024-03-04</td>" in html  # the same numbers as a table
    daily = client.get(f"/admin/scraping/project/{project.pk}/sentiment/").content.decode()
    assert daily.count("<td>2024-03-") == 8  # March 4 to 11, empty days included


def test_sentiment_chart_shows_mixed_results(staff, world, site):
    """A review that praises one thing and pans another is `mixed`: its own bar (and legend
    entry), its own column in both tables, and its count in the totals."""
    project = make_project(world.a, name="Phones")
    target = make_target(project, site.url("/products/phone"))
    texts = (
        "The screen is gorgeous and I absolutely love the camera, best phone I have owned! But the battery "
        "is terrible, it dies by noon and charging is awful.",
        "I love it, wonderful!",
    )
    ingest.ingest(
        target=target,
        platform="reviews",
        items=[Item(title="", text=text, date=datetime(2024, 3, 4, tzinfo=UTC)) for text in texts],
    )
    html = (
        staff(world.user("a", "company_admin")).get(f"/admin/scraping/project/{project.pk}/sentiment/").content.decode()
    )
    data = json.loads(
        re.search(r'<script id="sentiment-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert (data["totals"]["mixed"], data["totals"]["positive"]) == (1, 1)
    assert [(row["period"], row["mixed"]) for row in data["series"]] == [("2024-03-04", 1)]
    assert 'label: "Mixed", data: column("mixed")' in html  # the series, and so its legend entry
    assert "1 positive, 0 neutral, 0 negative, 1 mixed" in " ".join(html.split())
    for table in ("sentiment-series", "sentiment-targets"):
        head, rows = re.search(rf'<table id="{table}">(.*?)</thead>(.*?)</table>', html, re.S).groups()
        assert re.findall(r"<th[^>]*>([^<]*)</th>", head)[-2:] == ["Mixed", "Average compound"]
        cells = re.findall(r'<td class="num">([^<]*)</td>', rows)
        assert cells[0] == "2" and cells[1:5] == ["1", "0", "0", "1"], table  # results, pos, neu, neg, mixed


def test_chart_js_is_a_pinned_local_file():
    path = Path(settings.BASE_DIR) / "static" / "scraping" / "chart.umd.min.js"
    head = path.read_text()[:200]
    assert "Chart.js v4.4.1" in head and "sourceMappingURL" not in path.read_text()[-200:]


def test_run_now_actions(staff, world, project, queued):
    client = staff(world.user("a", "content_manager"))
    response = client.post(
        "/admin/scraping/project/", {"action": "run_now", "_selected_action": [str(project.pk)]}, follow=True
    )
    assert "Queued 1 scrape job(s)." in response.content.decode()
    job = ScrapeJob.objects.get()
    assert queued == [str(job.pk)] and job.trigger == "admin" and job.target_id is None
    assert AuditLog.objects.filter(event_type="project.run", source="admin").exists()
    target = Target.objects.get(project=project)
    client.post("/admin/scraping/target/", {"action": "run_now", "_selected_action": [str(target.pk)]})
    assert ScrapeJob.objects.filter(target=target).count() == 1 and len(queued) == 2


def test_nothing_crosses_companies(staff, world, project, queued):
    client = staff(world.user("b", "company_admin"))
    assert "Kettles" not in client.get("/admin/scraping/project/").content.decode()
    assert client.get(f"/admin/scraping/project/{project.pk}/sentiment/").status_code == 404
    assert client.get(f"/admin/scraping/project/{project.pk}/change/").status_code == 302
    client.post("/admin/scraping/project/", {"action": "run_now", "_selected_action": [str(project.pk)]})
    assert ScrapeJob.objects.count() == 0 and queued == []
    results = client.get("/admin/scraping/result/").content.decode()
    assert "wonderful" not in results and "0 results" in results


def test_system_presets_are_read_only(staff, world):
    client = staff(world.user("a", "company_admin"))
    starter = Preset.objects.get(name="starter")
    listing = client.get("/admin/scraping/preset/").content.decode()
    assert "starter" in listing and "enterprise" in listing
    client.post(f"/admin/scraping/preset/{starter.pk}/change/", {"name": "mine", "config": "{}"})
    assert Preset.objects.get(pk=starter.pk).name == "starter"
    added = client.post("/admin/scraping/preset/add/", {"name": "weekly", "config": '{"max_pages": 3}'})
    assert added.status_code == 302, added.content.decode()[:2000]
    mine = Preset.objects.get(name="weekly")
    assert (mine.company_id, mine.user_id, mine.config["max_pages"]) == (
        world.a.pk,
        world.user("a", "company_admin").pk,
        3,
    )
    refused = client.post("/admin/scraping/preset/add/", {"name": "bad", "config": '{"max_pages": -1}'})
    assert refused.status_code == 200 and not Preset.objects.filter(name="bad").exists()


@pytest.mark.parametrize(
    ("url", "platform", "message"),
    [
        ("http://192.168.0.10/", "auto", "private address"),
        ("https://example.com/list", "custom", "needs an item_selector or a text_selector"),
    ],
)
def test_admin_refuses_a_bad_target(staff, world, project, url, platform, message):
    client = staff(world.user("a", "company_admin"))
    form = {
        "project": str(project.pk),
        "url": url,
        "platform": platform,
        "status": "active",
        "options-max_items": "200",
    }
    response = client.post("/admin/scraping/target/add/", form)
    assert response.status_code == 200 and message in response.content.decode()
    assert Target.objects.count() == 1


def test_project_schedule_from_the_admin(staff, world, project):
    from scraping.services.projects import schedule_of

    client = staff(world.user("a", "company_admin"))
    page = client.get(f"/admin/scraping/project/{project.pk}/change/").content.decode()
    form = {
        "name": "Kettles",
        "description": "",
        "status": "active",
        "schedule_enabled": "on",
        **{f"config-{name}": value for name, value in re.findall(r'name="config-(\w+)"[^>]*?value="([^"]*)"', page)},
        "config-respect_robots_txt": "on",
        "config-sentiment": "vader",
        "config-schedule_interval_seconds": "1800",
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
    }
    response = client.post(f"/admin/scraping/project/{project.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = schedule_of(project)
    assert schedule.enabled and schedule.interval_seconds == 1800 and schedule.kwargs == {"project_id": str(project.pk)}
    assert "not scheduled" not in client.get(f"/admin/scraping/project/{project.pk}/change/").content.decode()
    client.post(f"/admin/scraping/project/{project.pk}/change/", {**form, "schedule_enabled": ""})
    assert not schedule_of(project).enabled


def _project_form(page: str, **config) -> dict:
    form = {
        "name": "Kettles",
        "description": "",
        "status": "active",
        **{f"config-{name}": value for name, value in re.findall(r'name="config-(\w+)"[^>]*?value="([^"]*)"', page)},
        "config-respect_robots_txt": "on",
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
    }
    return {**form, **{f"config-{name}": value for name, value in config.items()}}


def test_the_llm_engine_needs_a_usable_provider_in_the_admin(staff, world, project, llm):
    """Choosing the LLM as sentiment engine is refused with a form error while the company has
    no active provider with a base URL; once it has one, the choice is saved."""
    client = staff(world.user("a", "company_admin"))
    url = f"/admin/scraping/project/{project.pk}/change/"
    make_provider(world.a, llm, is_active=False)
    make_provider(world.b, llm)  # another company's provider does not count
    refused = client.post(url, _project_form(client.get(url).content.decode(), sentiment="llm"))
    assert refused.status_code == 200 and "no active LLM provider" in refused.content.decode()
    project.refresh_from_db()
    assert project.config.sentiment == "vader"
    added = client.post(
        "/admin/scraping/project/add/",
        {**_project_form(client.get(url).content.decode(), sentiment="llm"), "name": "New"},
    )
    assert added.status_code == 200 and "no active LLM provider" in added.content.decode()
    assert not Project.objects.filter(name="New").exists()

    make_provider(world.a, llm)
    saved = client.post(url, _project_form(client.get(url).content.decode(), sentiment="llm"))
    assert saved.status_code == 302, saved.content.decode()[:3000]
    project.refresh_from_db()
    assert project.config.sentiment == "llm"


def test_results_changelist_searches_words_and_says_more_than(staff, world, project, settings):
    client = staff(world.user("a", "company_admin"))
    page = client.get("/admin/scraping/result/", {"q": "wonderful"})
    assert page.status_code == 200
    assert [r.content.text for r in page.context["cl"].result_list] == ["I love it, wonderful!"]
    assert client.get("/admin/scraping/result/", {"q": "kettle broken awful"}).context["cl"].result_count == 1
    # B's admin finds nothing of A's
    other = staff(world.user("b", "company_admin")).get("/admin/scraping/result/", {"q": "wonderful"})
    assert list(other.context["cl"].result_list) == []
    # a list longer than a page, on the embedded server: not counted, "more than"
    client = staff(world.user("a", "company_admin"))
    settings.DATABASE_CAPABILITIES = {"cheap_counts": False, "ordered_index_sort": False}
    from scraping.admin import ResultAdmin

    ResultAdmin.list_per_page, before = 2, ResultAdmin.list_per_page
    try:
        first = client.get("/admin/scraping/result/")
        second = client.get("/admin/scraping/result/", {"p": 2})
    finally:
        ResultAdmin.list_per_page = before
    assert b"more than 2 results" in first.content
    assert first.context["cl"].paginator.count_exact is False
    assert second.context["cl"].paginator.count_exact is True and b"3 results" in second.content
    shown = [r.pk for r in first.context["cl"].result_list] + [r.pk for r in second.context["cl"].result_list]
    assert len(set(shown)) == 3


def test_results_changelist_keeps_the_projects_and_targets_it_shows(
    staff, world, project, settings, memo_clock, round_trips
):
    """What the list shows through foreign keys is read once per ADMIN_RELATED_SECONDS
    (requestdesk.admin_lists), and a list of one page is read once (Django lists it again, and
    reads each row's project and target): the next page reads no project or target; a rename in this
    process shows at once, one written elsewhere (raw, no signal) once the seconds pass; a page has
    its own copy of its project, not the one kept."""
    settings.ADMIN_RELATED_SECONDS = 30
    admin_lists._related.clear()
    client = staff(world.user("a", "company_admin"))
    assert client.get("/admin/scraping/result/").status_code == 200
    with round_trips() as seen:
        page = client.get("/admin/scraping/result/")
    read = [name for _, name in seen.commands]
    assert read.count("results") == 1 and not {"projects", "targets"} & set(read), read  # one page: read once
    rows = page.context["cl"].result_list
    assert [row.project.name for row in rows] == ["Kettles"] * 3 and rows[0].project is rows[1].project
    rows[0].project.name = "Changed on one page"  # a page's copy: the next page shows the kept one
    assert ">Kettles<" in client.get("/admin/scraping/result/").content.decode()
    project.name = "Teapots"
    project.save()
    assert ">Teapots<" in client.get("/admin/scraping/result/").content.decode()
    Project.objects.filter(pk=project.pk).update(name="Mugs")  # no signal: as another process's write
    memo_clock.now += 29
    assert ">Teapots<" in client.get("/admin/scraping/result/").content.decode()
    memo_clock.now += 2
    assert ">Mugs<" in client.get("/admin/scraping/result/").content.decode()


def test_the_search_index_state_and_its_rebuild(staff, world, project):
    from scraping.admin.search_index import state
    from scraping.models import SearchIndex
    from scraping.services import search_index

    index = SearchIndex.objects.get(company=world.a)
    client = staff(world.user("a", "content_manager"))
    cell = '<td class="field-index_state">{}</td>'
    assert cell.format("current") in client.get("/admin/scraping/searchindex/").content.decode()
    assert client.get(f"/admin/scraping/searchindex/{index.pk}/delete/").status_code == 403

    other = staff(world.user("b", "company_admin"))  # the same client, signed in as b
    assert "field-index_state" not in other.get("/admin/scraping/searchindex/").content.decode()
    other.post("/admin/scraping/searchindex/", {"action": "rebuild", "_selected_action": [str(index.pk)]})
    assert SearchIndex.objects.get(pk=index.pk).changes == index.changes  # not b's to rebuild

    client = staff(world.user("a", "content_manager"))
    response = client.post(
        "/admin/scraping/searchindex/", {"action": "rebuild", "_selected_action": [str(index.pk)]}, follow=True
    )
    assert "1 index(es) marked stale" in response.content.decode()
    stale = cell.format("stale: searches walk the results until the upkeep rebuilds it")
    assert stale in client.get("/admin/scraping/searchindex/").content.decode()
    assert AuditLog.objects.filter(event_type="searchindex.rebuild", source="admin", company=world.a).exists()
    assert search_index.keep()["rebuilt"] == 1
    behind = SearchIndex(batches=search_index.MAX_BATCHES + 1)
    assert (
        state(behind)
        == f"behind: {search_index.MAX_BATCHES + 1} batches wait for the upkeep's fold; searches walk the results"
    )
    assert (
        '<div class="readonly">current</div>'
        in client.get(f"/admin/scraping/searchindex/{index.pk}/change/").content.decode()
    )
