"""The admin index is a dashboard of the company's state (requestdesk.dashboard): each figure
counts what its link lists, stops reading at a cap and says so, is the staff member's
company's only (a superadmin picks one, or sees all), and is kept briefly. Also the small
admin fixes around it: "View site", the login message for roles without an admin, the audit
log's columns and the schedules' admin."""

import re
from datetime import timedelta
from html import unescape

import pytest
from bson import ObjectId
from django.utils import timezone
from pymongo import UpdateOne

from content.models import Context, Ticket
from content.services import workers
from events.models import AuditLog, Schedule
from events.services import audit
from requestdesk import dashboard
from requestdesk.db import pages
from requestdesk.db.collections import collection as raw_collection
from scraping.models import Project, ScrapeJob
from scraping.services import ingest, rollups
from scraping.services.extraction import Item
from tests.conftest import PASSWORD
from tests.support.scraping import make_target


@pytest.fixture(autouse=True)
def fresh_figures(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    dashboard._memo.clear()


def figures(html: str, section: str) -> dict:
    """{label: (shown, href)} of one dashboard section's figures."""
    part = html.split(f'id="dash-{section}"', 1)[1].split('<div class="module"', 1)[0]
    return {
        unescape(label): (unescape(shown), unescape(href))
        for href, shown, label in re.findall(
            r'<a class="figure[^"]*" href="([^"]*)"[^>]*><b>([^<]*)</b><span>([^<]*)</span></a>', part
        )
    }


def staff(client, user):
    client.force_login(user)
    return client


def tickets(company, status, count):
    Ticket.objects.bulk_create([Ticket(company=company, title=f"{status} {i}", status=status) for i in range(count)])


def jobs(company, status, count, *, age=timedelta(0)):
    project = Project.objects.filter(company=company).first() or Project.objects.create(company=company, name="P")
    made = [ScrapeJob.objects.create(company=company, project=project, status=status) for _ in range(count)]
    if age:
        ScrapeJob.objects.filter(pk__in=[job.pk for job in made]).update(created_at=timezone.now() - age)


def listed(client, href) -> int:
    """Rows of the changelist a figure links to."""
    response = client.get(href)
    assert response.status_code == 200, href
    return response.content.decode().count('class="action-checkbox"')


def test_company_admin_sees_own_figures_and_their_lists(client, world):
    a, b = world.a, world.b
    tickets(a, "open", 2)
    tickets(a, "review", 1)
    tickets(b, "open", 3)
    Ticket.objects.create(company=a, title="gone", status="open", is_deleted=True)
    jobs(a, "failed", 1)
    jobs(a, "completed", 2)
    jobs(a, "failed", 1, age=timedelta(days=2))  # not in the last day
    jobs(b, "failed", 4)
    pipeline = ObjectId()
    Context.objects.bulk_create(
        [Context(company=a, pipeline_id=pipeline, status=s) for s in ("completed", "completed", "failed")]
    )

    client = staff(client, world.user("a", "company_admin"))
    page = client.get("/admin/").content.decode()

    ticket_figures = figures(page, "tickets")
    assert {k: v[0] for k, v in ticket_figures.items()} == {
        "Open": "2",
        "In progress": "0",
        "Review": "1",
        "Completed": "0",
        "Closed": "0",
    }
    assert listed(client, ticket_figures["Open"][1]) == 2
    job_figures = figures(page, "jobs")
    assert {k: v[0] for k, v in job_figures.items()} == {"queued": "0", "running": "0", "completed": "2", "failed": "1"}
    assert listed(client, job_figures["failed"][1]) == 1
    context_figures = figures(page, "pipeline")
    assert (context_figures["Completed"][0], context_figures["Failed"][0]) == ("2", "1")
    assert listed(client, context_figures["Failed"][1]) == 1
    # The hourly chart draws the day's contexts: one column, 2 completed under 1 failed.
    chart = page.split('id="dash-pipeline"')[1].split("</svg>")[0]
    assert re.findall(r'<rect class="(\w+)"[^>]*><title>[^<]*: (\d+) (\w+)</title>', chart) == [
        ("ok", "2", "completed"),
        ("bad", "1", "failed"),
    ]
    assert "B" not in re.findall(r"<p id=\"dashboard-meta\">\s*(\w+)", page)


def test_counts_stop_at_their_cap_and_say_more_than(world):
    tickets(world.a, "open", 7)
    count, exact = dashboard.bounded_count(Ticket.objects.filter(company=world.a, status="open"), cap=5)
    assert (count, exact) == (5, False)
    assert dashboard.Figure("Open", count, exact, capped=True).shown == "more than 5"
    assert dashboard.bounded_count(Ticket.objects.filter(company=world.a, status="open"), cap=7) == (7, True)
    assert dashboard.bounded_count(Ticket.objects.filter(company=world.b, status="open"), cap=5) == (0, True)


def test_a_day_of_more_than_the_cap_is_a_lower_bound(world):
    jobs(world.a, "failed", 4)
    rows, ended = dashboard.last_day_rows(
        ScrapeJob.objects.filter(company=world.a), fields=("status",), now=timezone.now(), cap=3
    )
    assert (len(rows), ended) == (3, False)
    assert dashboard.Figure("failed", 3, ended).shown == "at least 3"


def test_superadmin_picks_a_company_or_sees_all(client, world):
    tickets(world.a, "open", 2)
    tickets(world.b, "open", 3)
    client = staff(client, world.user("a", "superadmin"))

    everyone = client.get("/admin/").content.decode()
    assert figures(everyone, "tickets")["Open"][0] == "5"
    assert "All companies" in everyone

    only_b = client.get(f"/admin/?company={world.b.pk}").content.decode()
    shown, href = figures(only_b, "tickets")["Open"]
    assert shown == "3" and f"company__id__exact={world.b.pk}" in href
    assert listed(client, href) == 3

    wrong = client.get("/admin/?company=not-an-id")
    assert wrong.status_code == 200
    assert "Select a valid choice" in wrong.content.decode()
    assert figures(wrong.content.decode(), "tickets")["Open"][0] == "5"


def test_figures_are_kept_briefly(client, world, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    client = staff(client, world.user("a", "company_admin"))
    tickets(world.a, "open", 1)
    assert figures(client.get("/admin/").content.decode(), "tickets")["Open"][0] == "1"
    tickets(world.a, "open", 1)
    assert figures(client.get("/admin/").content.decode(), "tickets")["Open"][0] == "1"  # kept
    dashboard._memo.clear()
    assert figures(client.get("/admin/").content.decode(), "tickets")["Open"][0] == "2"


def test_recent_audit_events_and_sentiment(client, world):
    writer = world.user("a", "content_writer")
    audit.record(company=world.a, actor=writer, source="api", event_type="ticket.created", obj=writer)
    audit.record(company=world.b, actor=None, source="system", event_type="b.only")
    page = staff(client, world.user("a", "company_admin")).get("/admin/").content.decode()
    recent = page.split('id="dash-audit"')[1].split("</table>")[0]
    assert "ticket.created" in recent and writer.username in recent and "b.only" not in recent
    entry = AuditLog.objects.get(event_type="ticket.created")
    assert f"/admin/events/auditlog/{entry.pk}/change/" in recent
    assert {k: v[0] for k, v in figures(page, "sentiment").items()} == {label: "0" for label in rollups.LABELS}


def test_view_site_leads_to_the_api_docs(client, world):
    page = staff(client, world.user("a", "company_admin")).get("/admin/").content.decode()
    assert '<a href="/api/v1/docs/">View site</a>' in page
    assert client.get("/api/v1/docs/").status_code == 200


def test_a_writer_with_the_right_password_is_told_they_have_no_admin(client, world):
    writer = world.user("a", "content_writer")
    right = client.post("/admin/login/", {"username": writer.username, "password": PASSWORD})
    assert right.status_code == 200
    text = unescape(right.content.decode())
    assert "The password is right, but your role (Content writer) has no access to the admin" in text
    assert "enter the correct username and password" not in text
    wrong = unescape(client.post("/admin/login/", {"username": writer.username, "password": "nope"}).content.decode())
    assert "enter the correct username and password" in wrong and "no access to the admin" not in wrong


def test_audit_log_columns_are_named_for_people(client, world):
    audit.record(company=world.a, actor=world.user("a", "client"), source="api", event_type="x.y")
    page = staff(client, world.user("a", "company_admin")).get("/admin/events/auditlog/").content.decode()
    headers = [
        unescape(h).strip()
        for h in re.findall(r'<th scope="col"[^>]*>.*?<(?:a [^>]*|span)>([^<]*)</(?:a|span)>', page, re.S)
    ]
    assert "Actor" in headers and "Object" in headers
    assert not [h for h in headers if "repr" in h.lower()]


def schedule(company, **fields):
    return Schedule.objects.create(
        company=company,
        name=fields.pop("name", "Nightly"),
        task="tenants.tasks.noop",
        subject_id=str(ObjectId()),
        interval_seconds=3600,
        next_run=timezone.now() + timedelta(minutes=30),
        **fields,
    )


def test_schedules_have_an_admin(client, world):
    mine, theirs = schedule(world.a, name="Mine"), schedule(world.b, name="Theirs")
    client = staff(client, world.user("a", "company_admin"))
    page = unescape(client.get("/admin/events/schedule/").content.decode())
    assert "Mine" in page and "Theirs" not in page
    assert re.search(r"in (29|30)\xa0minutes \(", page), "next run shown as a time from now"
    assert "1 hour" in page and "never" in page

    response = client.post("/admin/events/schedule/", {"action": "run_soon", "_selected_action": [str(mine.pk)]})
    assert response.status_code == 302
    assert Schedule.objects.get(pk=mine.pk).next_run <= timezone.now()
    assert Schedule.objects.get(pk=theirs.pk).next_run > timezone.now()

    change = f"/admin/events/schedule/{mine.pk}/change/"
    assert client.get(change).status_code == 200
    form = {"name": "Mine", "enabled": "on", "interval_seconds": "600"}
    assert client.post(change, form).status_code == 302
    saved = Schedule.objects.get(pk=mine.pk)
    assert saved.interval_seconds == 600 and saved.company_id == world.a.pk
    assert client.get(f"/admin/events/schedule/{theirs.pk}/change/").status_code == 302  # not theirs


def test_a_projects_next_run_reads_as_a_time_from_now(client, world):
    from scraping.services import projects

    project = Project.objects.create(company=world.a, name="Kettle watch")
    projects.set_schedule(project=project, enabled=True, interval_seconds=7200)
    page = unescape(
        staff(client, world.user("a", "company_admin"))
        .get(f"/admin/scraping/project/{project.pk}/change/")
        .content.decode()
    )
    shown = page.split("Next scheduled run", 1)[1][:300]
    assert re.search(r"in (1\xa0hour, 59\xa0minutes|2\xa0hours) \(", shown), shown
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", shown)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_queue_depth_and_worker_health(client, world, celery_worker):
    from requestdesk.celery import app
    from tests.support.celery_worker import wait_until

    app.control.purge()
    registry = workers.client()  # no worker registered: not even an earlier test's, stale but not expired
    registry.delete(*[workers.KEY.format(w) for w in registry.zrange(workers.INDEX, 0, -1)], workers.INDEX)
    client = staff(client, world.user("a", "company_admin"))
    for _ in range(2):
        app.send_task("tenants.tasks.dispatch_schedules")  # waits: no worker runs yet
    page = client.get("/admin/").content.decode()
    ((label, (shown, _)),) = figures(page, "queue").items()
    assert (label, shown) == ("tasks waiting in “celery”", "2")
    assert 'class="figure problem" id="dash-workers"' in page and "No worker is heartbeating" in page

    worker = celery_worker("dashboard")  # (purges the queue before it starts)
    app.send_task("tenants.tasks.dispatch_schedules")
    assert wait_until(lambda: dashboard.queue_state()[1] and dashboard.queue_state()[0][0].count == 0, timeout=60), (
        worker.log()
    )

    seen = []

    def answering() -> bool:
        seen.append(client.get("/admin/").content.decode())
        return bool(re.search(r'id="dash-workers">\s*<b>1</b><span>worker answering', seen[-1]))

    assert wait_until(answering, timeout=30), worker.log()  # (the first heartbeat may come late on a busy machine)
    page = seen[-1]
    assert figures(page, "queue")["tasks waiting in “celery”"][0] == "0"
    assert re.search(r"dashboard[^<,]*@", page.split('id="dash-workers"', 1)[1].split('<div class="module"', 1)[0])


SESSION_FIELDS = (
    "lsid",
    "$db",
    "$clusterTime",
    "$readPreference",
    "txnNumber",
    "readConcern",
    "startTransaction",
    "autocommit",
    "cursor",
)


def _examined(database, command: dict) -> int:
    """Documents the server reads to answer `command` (its explain, every stage's total)."""
    body = {key: value for key, value in command.items() if key not in SESSION_FIELDS}
    if "aggregate" in body:
        body["cursor"] = {}
    plan = database.command("explain", body, verbosity="executionStats")
    found = re.findall(r"'totalDocsExamined': (\d+)", str(plan))
    assert found, plan
    return sum(int(n) for n in found)


def _spread(model, rows, *, hours: float = 1.0) -> None:
    """Store `rows` one every `hours` back from now (as they arrive over days, not at once)."""
    model.objects.bulk_create(rows)
    now = timezone.now()
    raw_collection(model).bulk_write(
        [
            UpdateOne({"_id": row.pk}, {"$set": {"created_at": now - n * timedelta(hours=hours)}})
            for n, row in enumerate(rows)
        ]
    )


def test_the_all_companies_dashboard_reads_a_bounded_number_of_rows(
    client, world, monkeypatch, make_company, round_trips
):
    """Every figure of the all-companies view reads about its cap, however many rows every
    company holds: each read the dashboard sends, explained on the server, examines at most
    BOUND documents while each collection holds ROWS spread over ten days."""
    from django.db import connection

    from knowledge.models import KnowledgeCollection, SyncHistory
    from scraping.models import SentimentRollup

    monkeypatch.setattr(dashboard, "COUNT_CAP", 5)
    monkeypatch.setattr(dashboard, "DAY_CAP", 5)
    ROWS, BOUND = 240, 60  # one row an hour: a day (a first window) holds 24
    companies = [world.a, world.b, make_company("C")]
    project = Project.objects.create(company=world.a, name="P")
    collections = [KnowledgeCollection(company=companies[n % 3], name=f"c{n}") for n in range(ROWS)]
    _spread(KnowledgeCollection, collections)
    _spread(Ticket, [Ticket(company=companies[n % 3], title=f"t{n}", status="open") for n in range(ROWS)])
    _spread(ScrapeJob, [ScrapeJob(company=world.a, project=project, status="failed") for _ in range(ROWS)])
    _spread(
        Context, [Context(company=companies[n % 3], pipeline_id=ObjectId(), status="completed") for n in range(ROWS)]
    )
    _spread(SyncHistory, [SyncHistory(company=c.company, collection=c, sync_type="manual") for c in collections])
    _spread(
        AuditLog,
        [AuditLog(company=companies[n % 3], source="system", event_type="e", object_repr=f"o{n}") for n in range(ROWS)],
    )
    month = rollups.month_of(timezone.now())
    rollups_of = raw_collection(SentimentRollup)
    rollups_of.insert_many(
        [
            {
                "company_id": ObjectId(),
                "project_id": None,
                "target_id": None,
                "platform": None,
                "month": month,
                "days": {f"{timezone.now().day:02d}": {"positive": 1}},
            }
            for _ in range(ROWS)
        ]
    )  # the months of many companies
    for company in (world.a, world.b):  # counted into the platform-wide month as well
        target = make_target(Project.objects.create(company=company, name="Watched"), "http://127.0.0.1:9/p")
        ingest.ingest(
            target=target,
            platform="reviews",
            items=[Item(title="Great", text="I love it, wonderful.", date=timezone.now())],
        )

    pages._WIDTHS.clear()  # window widths learnt by earlier tests over other rows
    superadmin = staff(client, world.user("a", "superadmin"))
    with round_trips() as seen:
        page = superadmin.get("/admin/").content.decode()
    reads = [command for command in seen.sent if next(iter(command)) in ("find", "aggregate", "count", "distinct")]
    assert figures(page, "tickets")["Open"][0] == "more than 5"
    assert figures(page, "sentiment")["positive"][0] == "2"
    database = connection.get_collection("results").database
    examined = [(next(iter(command)), command[next(iter(command))], _examined(database, command)) for command in reads]
    assert examined and max(n for _, _, n in examined) <= BOUND, examined


def test_the_sentiment_trends_read_their_months_on_an_index(world):
    """A company's trend (and every company's) reads its month documents on the (company,
    project, month) index, not by a scan of every target's months."""
    month = rollups.month_of(timezone.now())
    for read in (rollups.company_months(world.a, [month]), rollups.everyone([month])):
        plan = str(read.explain()["queryPlanner"]["winningPlan"])
        assert "rollup_company_project" in plan and "COLLSCAN" not in plan, plan
