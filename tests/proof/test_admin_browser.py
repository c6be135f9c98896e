"""The scraping admin in a real browser: headless Chromium (Debian's package, driven by
Playwright) signs in as a company admin on a live server, creates a project (with a target in
its inline) and a second target through the admin's add forms, both pointing at a loopback
fixture site (an article and a product page with JSON-LD reviews), runs the project with the
"Run now" action on a real Celery worker, reads the results changelist and a result, and opens
the sentiment chart. Each step leaves a screenshot in artifacts/browser/.

A second test opens the dashboard of a busy company (artifacts/dashboard.png), follows a figure
to its list, checks that wide changelists fit at 1280 px, and that a writer who typed the right
password is told their role has no admin.

Chromium is installed by `./dev test` (apt-get install chromium); a machine without it fails
this test, it does not skip it."""

import os
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from scraping.models import Result, ScrapeJob, Target
from tenants.roles import Role
from tests.conftest import PASSWORD
from tests.support.celery_worker import ROOT
from tests.support.scraping import system_presets  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# The machine's network is closed: nothing in the background may try to reach out.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "artifacts" / "browser"
TIMEOUT_MS = 15_000


@contextmanager
def chromium(profile: Path):
    """A page of headless Chromium with a fresh profile (launch() refuses --user-data-dir, so
    the profile is a persistent context's, in a new folder). Django refuses ORM calls while
    Playwright's event loop runs: query the database outside this block."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing ({CHROMIUM}): `./dev test` installs Debian's `chromium` package "
            "with apt-get; install it (apt-get install -y chromium) or set CHROMIUM to its path."
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=FLAGS, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        try:
            yield page
        finally:
            context.close()


def shot(page, name):
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def clipped(page, prefix):
    """Names of the embedded sub-form's fields that stick out of their admin row."""
    return page.evaluate(
        """prefix => [...document.querySelectorAll(`[name^='${prefix}-']:not([type=hidden])`)]
        .filter(el => el.getBoundingClientRect().right > el.closest('.form-row').getBoundingClientRect().right)
        .map(el => el.name)""",
        prefix,
    )


def row(page, text):
    """The changelist row that contains `text`."""
    return page.locator("#result_list tbody tr").filter(has_text=text)


@pytest.fixture
def admin(make_company, make_user):
    return make_user(make_company("Acme"), Role.COMPANY_ADMIN, username="acme-admin")


def test_admin_in_a_browser(admin, live_server, site, celery_worker, tmp_path):
    base = live_server.url
    reviews, article = site.url("/products/kettle"), site.url("/blog/solar-lantern")
    worker = celery_worker("admin-browser")
    with chromium(tmp_path / "profile") as page:
        browse(page, base, admin, reviews, article, worker)

    # What the browser did is what is stored.
    job = ScrapeJob.objects.get()
    assert (job.project.name, job.project.config.rate_limit_per_minute, job.project.company_id) == (
        "Kettle watch",
        600,
        admin.company_id,
    )
    assert (job.status, job.trigger, job.results_created, job.created_by_id) == ("completed", "admin", 4, admin.pk)
    assert Result.objects.filter(company=admin.company).count() == 4
    assert set(Target.objects.filter(project=job.project).values_list("url", "platform")) == {
        (reviews, "reviews"),
        (article, "article"),
    }


def browse(page, base, admin, reviews, article, worker):
    # Sign in.
    page.goto(f"{base}/admin/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    shot(page, "01-login")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.get_by_role("link", name="Projects")).to_be_visible()
    shot(page, "02-admin-index")

    # A project, with the reviews page as a target in its inline.
    page.goto(f"{base}/admin/scraping/project/add/")
    page.fill("#id_name", "Kettle watch")
    page.fill("#id_description", "Reviews and the garden blog.")
    page.fill("#id_config-rate_limit_per_minute", "600")
    assert clipped(page, "config") == []
    page.locator("#targets-group .add-row a").click()
    page.fill("#id_targets-0-url", reviews)
    page.select_option("#id_targets-0-platform", "reviews")
    shot(page, "03-project-add")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    # A second target through the target add form.
    page.goto(f"{base}/admin/scraping/target/add/")
    page.select_option("#id_project", label="Kettle watch")
    page.fill("#id_url", article)
    page.select_option("#id_platform", "article")
    assert clipped(page, "options") == []
    shot(page, "04-target-add")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text("/blog/solar-lantern")
    expect(page.locator("#result_list")).to_contain_text("/products/kettle")

    # Run now, from the project changelist.
    page.goto(f"{base}/admin/scraping/project/")
    row(page, "Kettle watch").locator("input.action-select").check()
    page.select_option("select[name=action]", "run_now")
    shot(page, "05-run-now")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Queued 1 scrape job(s).")

    # The worker runs the job; the jobs changelist shows it finish.
    page.goto(f"{base}/admin/scraping/scrapejob/")
    for _ in range(90):
        status = row(page, "Kettle watch").locator("td.field-status").inner_text()
        if status in ("completed", "failed"):
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "06-jobs")
    assert status == "completed", f"job {status}; the worker's log:\n{worker.log()}"

    # The results, with their sentiment.
    page.goto(f"{base}/admin/scraping/result/")
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    shot(page, "07-results")
    # (The untitled review is named after its product.)
    for title, label in (
        ("Great kettle", "positive"),
        ("Broke after a week", "negative"),
        ("Acme Kettle", "neutral"),
        ("The Solar Lantern Review", "positive"),
    ):
        expect(row(page, title).locator("td.field-label")).to_have_text(label)
    page.get_by_role("link", name="negative", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Broke after a week")
    shot(page, "08-results-negative")
    page.get_by_role("link", name="Broke after a week").click()  # the extracted text, in full
    shot(page, "09-result")
    expect(page.locator("#content-main")).to_contain_text("It broke after a week and support was useless.")
    expect(page.locator("#content-main")).to_contain_text("negative (compound -0.")
    expect(page.locator("table.result-content")).to_contain_text("March 2, 2024")

    # The sentiment chart, reached from the project's page.
    page.goto(f"{base}/admin/scraping/project/")
    page.get_by_role("link", name="Kettle watch").click()
    page.get_by_role("link", name="Sentiment chart").click()
    canvas = page.locator("canvas#sentiment-chart")
    expect(canvas).to_be_visible()
    # Once Chart.js has finished animating, read what it drew: per dataset its data and, per
    # point, the drawn bar's height in results (or the line point's value) from the pixels.
    page.wait_for_function(
        "() => window.Chart && Chart.getChart('sentiment-chart') && "
        "!Chart.animator.running(Chart.getChart('sentiment-chart'))"
    )
    chart = page.evaluate("""() => {
        const chart = Chart.getChart('sentiment-chart');
        const count = chart.scales.count, compound = chart.scales.compound;
        const unit = count.getPixelForValue(0) - count.getPixelForValue(1);
        return {labels: chart.data.labels, width: chart.width, height: chart.height,
                datasets: chart.data.datasets.map((d, i) => ({
                    label: d.label, data: d.data,
                    drawn: chart.getDatasetMeta(i).data.map(e => d.type === 'bar'
                        ? Math.round((e.base - e.y) / unit * 100) / 100
                        : (e.skip ? null : Math.round(compound.getValueForPixel(e.y) * 100) / 100))}))};
    }""")
    days = page.locator("#sentiment-series tbody tr td:first-child").all_inner_texts()
    # March 1 to 9, 2024 (the reviews' and the article's dates), empty days included.
    assert chart["labels"] == days == [f"2024-03-0{day}" for day in range(1, 10)]
    series = {d["label"]: d for d in chart["datasets"]}

    def one(*on):  # one result on these days of March, none on the others
        return [1 if day in on else 0 for day in range(1, 10)]

    assert series["Positive"]["data"] == series["Positive"]["drawn"] == one(1, 5)
    assert series["Negative"]["data"] == series["Negative"]["drawn"] == one(2)
    assert series["Neutral"]["data"] == series["Neutral"]["drawn"] == one(9)
    line = series["Average compound"]
    assert [value is None for value in line["data"]] == [not n for n in one(1, 2, 5, 9)]
    assert [v for v in line["drawn"] if v is not None] == [round(v, 2) for v in line["data"] if v is not None]
    assert line["data"][1] < -0.5 < 0.5 < line["data"][0]
    assert chart["width"] > 600 and chart["height"] > 300
    shot(page, "10-sentiment-chart")
    assert page.js_errors == []


LONG = "A rather long descriptive name, as staff type them, for a thing in the list " * 2
WIDE_LISTS = [
    "/admin/scraping/scrapejob/",
    "/admin/scraping/target/",
    "/admin/knowledge/synchistory/",
    "/admin/content/context/",
    "/admin/content/ticket/",
    "/admin/events/auditlog/",
    "/admin/events/schedule/",
]


def sideways(page):
    """How far the page and the changelist's table stick out of their boxes, in pixels."""
    return page.evaluate("""() => {
        const root = document.documentElement, box = document.querySelector('#changelist .results');
        return [root.scrollWidth - root.clientWidth, box ? box.scrollWidth - box.clientWidth : 0]; }""")


def busy_company(world):
    """Company A with tickets, jobs, contexts, a failed sync, audit events, sentiment and a
    schedule, several of them with long names and messages."""
    from types import SimpleNamespace

    from bson import ObjectId
    from django.utils import timezone

    from content.models import Context, Ticket
    from events.services import audit
    from knowledge.models import KnowledgeCollection, SyncHistory
    from scraping.models import Project
    from scraping.services import projects, rollups

    a, now = world.a, timezone.now()
    project = Project.objects.create(company=a, name=LONG[:120])
    target = Target.objects.create(
        company=a, project=project, platform="article", url="https://example.com/" + "a-long-path-segment/" * 6
    )
    projects.set_schedule(project=project, enabled=True, interval_seconds=3600)
    for status in ("failed", "completed", "completed"):
        ScrapeJob.objects.create(company=a, project=project, target=target, status=status, error=LONG[:300])
    Ticket.objects.bulk_create(
        [
            Ticket(company=a, title=f"{LONG} {n}", status=s)
            for n, s in enumerate(["open", "open", "review", "in_progress"])
        ]
    )
    Context.objects.bulk_create(
        [
            Context(company=a, pipeline_id=ObjectId(), status=s, error=LONG if s == "failed" else "")
            for s in ["completed"] * 5 + ["failed", "running"]
        ]
    )
    collection = KnowledgeCollection.objects.create(company=a, name="Help centre")
    SyncHistory.objects.create(
        company=a, collection=collection, sync_type="wordpress", status="failed", error_message=LONG * 3
    )
    SyncHistory.objects.create(company=a, collection=collection, sync_type="upload", status="completed", items_synced=5)
    audit.record(
        company=a,
        actor=world.user("a", "content_manager"),
        source="api",
        event_type="ticket.updated",
        obj=Ticket.objects.first(),
    )
    sentiment = [("positive", 0.6), ("negative", -0.7), ("neutral", 0.0)]
    rollups.add(
        [
            SimpleNamespace(
                company_id=a.pk,
                project_id=project.pk,
                target_id=target.pk,
                platform="article",
                published_at=now - timedelta(days=day, hours=1),
                analysis=SimpleNamespace(sentiment=SimpleNamespace(label=label, compound=score)),
            )
            for day in range(10)
            for label, score in sentiment[: 1 + day % 3] * (1 + day % 2)
        ]
    )


def test_dashboard_in_a_browser(world, live_server, tmp_path):
    busy_company(world)
    base, writer, admin = live_server.url, world.user("a", "content_writer"), world.user("a", "company_admin")
    with chromium(tmp_path / "profile") as page:
        # A writer with the right password is told why the admin is closed to them.
        page.goto(f"{base}/admin/")
        page.fill("#id_username", writer.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator(".errornote")).to_contain_text("your role (Content writer) has no access to the admin")
        shot(page, "11-writer-login")

        page.fill("#id_username", admin.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#dashboard")).to_be_visible()
        page.screenshot(path=ROOT / "artifacts" / "dashboard.png", full_page=True)
        shot(page, "12-dashboard")
        assert sideways(page) == [0, 0]
        expect(page.locator("#dash-tickets a.figure[title='Open: 2']")).to_be_visible()
        expect(page.locator("#dash-jobs a.figure.problem[title='failed: 1']")).to_be_visible()
        expect(page.locator("#dash-pipeline a.figure[title='Completed: 5']")).to_be_visible()
        assert page.locator("#dash-sentiment svg rect").count() >= 10
        assert page.locator("#dash-pipeline svg rect").count() >= 2
        expect(page.locator("#dash-syncs tr.problem")).to_contain_text("failed")
        expect(page.locator("#dash-audit")).to_contain_text("ticket.updated")
        expect(page.get_by_role("link", name="View site")).to_have_attribute("href", "/api/v1/docs/")
        assert page.js_errors == []

        page.locator("#dash-tickets a.figure[title='Open: 2']").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(2)

        # Lists with many columns and long text fit at 1280 px: no sideways scrolling.
        for url in WIDE_LISTS:
            page.goto(f"{base}{url}")
            expect(page.locator("#result_list tbody tr").first).to_be_visible()
            assert sideways(page) == [0, 0], url
            shot(page, "13-wide-list")
        page.goto(f"{base}/admin/events/schedule/")
        expect(page.locator("td.field-next")).to_contain_text("in 59")
