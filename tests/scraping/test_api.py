"""The scraping API: projects from presets, targets with clear refusals, presets, run-now
(202, or 503 when the queue is down), jobs with progress, results with filters and
streamed CSV / JSON-lines export. Bad input is a 400 with field messages and stores nothing."""

import csv
import io
import json

import pytest
from kombu.exceptions import OperationalError

from events.models import AuditLog
from scraping import tasks
from scraping.models import Preset, Project, Result, ScrapeJob, Target
from scraping.services import jobs
from tests.conftest import SharedWorld
from tests.support.celery_worker import wait_until
from tests.support.scraping import fast_scraping, make_project, make_target, system_presets  # noqa: F401

P = "/api/v1/scraping"


@pytest.fixture
def writer(api, world):
    return api.as_user(world.user("a", "content_writer"))


def _body(response):
    return b"".join(response.streaming_content).decode()


# --- projects and presets --------------------------------------------------------------------


def test_create_project_from_a_preset_with_overrides(writer, world):
    advanced = Preset.objects.get(name="advanced", is_system=True)
    response = writer.post(
        f"{P}/projects/", {"name": "Reviews", "preset": "advanced", "config": {"max_pages": 7}}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["preset"] == str(advanced.pk) and body["config"]["max_pages"] == 7
    assert body["config"]["concurrency"] == 4 and body["config"]["schedule_interval_seconds"] == 900
    project = Project.objects.get(pk=body["id"])
    assert project.company_id == world.a.pk and project.created_by_id == world.user("a", "content_writer").pk
    assert AuditLog.objects.filter(event_type="project.created", object_id=body["id"]).exists()
    default = writer.post(f"{P}/projects/", {"name": "Plain"}, format="json").json()
    assert default["config"]["max_pages"] == 100 and default["preset"] == str(Preset.objects.get(name="standard").pk)


def test_change_config_or_preset(writer, world):
    project = make_project(world.a)
    patched = writer.patch(f"{P}/projects/{project.pk}/", {"config": {"max_pages": 3}}, format="json").json()
    assert patched["config"]["max_pages"] == 3 and patched["config"]["rate_limit_per_minute"] == 6000
    reset = writer.patch(f"{P}/projects/{project.pk}/", {"preset": "budget"}, format="json").json()
    assert reset["config"]["max_pages"] == 25 and reset["config"]["max_retries"] == 0


class TestBadProjects(SharedWorld):
    """Refused projects write nothing: one world for them all."""

    @pytest.mark.parametrize(
        "payload, field, message",
        [
            (
                {"name": "X", "preset": "platinum"},
                "preset",
                "Unknown preset “platinum”. Choose one of: advanced, budget",
            ),
            ({"name": "X", "config": {"colour": "red"}}, "config", "Unknown option(s): colour"),
            ({"name": "X", "config": {"concurrency": 99}}, "config", "less than or equal to 16"),
            ({"name": "X", "config": "fast"}, "config", "Expected an object"),
            ({"name": "", "status": "sleeping"}, "name", ""),
        ],
    )
    def test_bad_project_input_is_refused(self, writer, payload, field, message):
        response = writer.post(f"{P}/projects/", payload, format="json")
        assert response.status_code == 400 and field in response.json()
        assert message in json.dumps(response.json(), ensure_ascii=False)
        assert Project.objects.count() == 0


def test_presets_system_read_only_and_user_presets_unique(api, world):
    user = world.user("a", "content_writer")
    api.as_user(user)
    listed = api.get(f"{P}/presets/").json()
    assert [p["name"] for p in listed["results"]] == ["advanced", "budget", "enterprise", "standard", "starter"]
    created = api.post(f"{P}/presets/", {"name": "nightly", "config": {"max_pages": 5}}, format="json")
    assert created.status_code == 201, created.content
    preset = Preset.objects.get(pk=created.json()["id"])
    assert (preset.user_id, preset.company_id, preset.is_system) == (user.pk, world.a.pk, False)
    assert preset.config["max_pages"] == 5 and preset.config["concurrency"] == 2  # defaults filled in
    duplicate = api.post(f"{P}/presets/", {"name": "nightly"}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["name"] == ["You already have a preset named “nightly”."]
    system_name = api.post(f"{P}/presets/", {"name": "starter"}, format="json")
    assert system_name.status_code == 400 and "system preset" in system_name.json()["name"][0]
    starter = Preset.objects.get(name="starter")
    assert api.patch(f"{P}/presets/{starter.pk}/", {"description": "mine"}, format="json").status_code == 403
    assert api.delete(f"{P}/presets/{starter.pk}/").status_code == 403
    assert Preset.objects.get(pk=starter.pk).description != "mine"
    # A project may use the company's preset by name.
    project = api.post(f"{P}/projects/", {"name": "N", "preset": "nightly"}, format="json").json()
    assert project["preset"] == str(preset.pk) and project["config"]["max_pages"] == 5
    # Another writer of the company sees it but may not change it; a company admin may.
    api.as_user(world.user("a", "content_manager"))
    assert api.patch(f"{P}/presets/{preset.pk}/", {"description": "x"}, format="json").status_code == 403
    api.as_user(world.user("a", "company_admin"))
    assert api.patch(f"{P}/presets/{preset.pk}/", {"description": "x"}, format="json").status_code == 200
    merged = api.patch(f"{P}/presets/{preset.pk}/", {"config": {"concurrency": 3}}, format="json").json()
    assert (merged["config"]["max_pages"], merged["config"]["concurrency"]) == (5, 3)
    assert Preset.objects.filter(is_system=False).count() == 1


# --- targets -------------------------------------------------------------------------------------


def test_create_target(writer, world, site):
    project = make_project(world.a)
    response = writer.post(
        f"{P}/targets/",
        {
            "project": str(project.pk),
            "url": site.url("/forum/thread"),
            "platform": "custom",
            "options": {"item_selector": ".comment", "text_selector": ".body"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["options"]["item_selector"] == ".comment" and body["running"] is False
    assert Target.objects.get(pk=body["id"]).company_id == world.a.pk


class TestBadTargets(SharedWorld):
    """Refused targets write nothing: one world for them all."""

    @pytest.mark.parametrize(
        "changes, field, message",
        [
            ({"url": "not a url"}, "url", "Enter a valid URL."),
            ({"url": "http://10.1.2.3/page"}, "url", "private address"),
            ({"url": "http://169.254.169.254/latest/meta-data/"}, "url", "metadata"),
            ({"url": "ftp://example.com/file"}, "url", "Only http and https URLs are allowed."),
            ({"url": "http://no-such-host.invalid/"}, "url", "could not be resolved"),
            ({"platform": "custom"}, "options", "needs an item_selector or a text_selector"),
            ({"platform": "custom", "options": {"item_selector": "div[["}}, "options", "not a valid CSS selector"),
            ({"platform": "telepathy"}, "platform", "not a valid choice"),
            ({"project": "000000000000000000000000"}, "project", "does not exist"),
        ],
    )
    def test_bad_target_input_is_refused(self, writer, world, site, changes, field, message):
        project = make_project(world.a)
        payload = {"project": str(project.pk), "url": site.url("/blog/solar-lantern"), **changes}
        response = writer.post(f"{P}/targets/", payload, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
        assert message in json.dumps(response.json(), ensure_ascii=False)
        assert Target.objects.count() == 0


def test_loopback_targets_are_refused_outside_tests(writer, world, settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    project = make_project(world.a)
    response = writer.post(
        f"{P}/targets/", {"project": str(project.pk), "url": "http://127.0.0.1:8000/"}, format="json"
    )
    assert response.status_code == 400 and "loopback" in response.json()["url"][0]


def test_one_target_per_url_in_a_project(writer, world, site):
    project = make_project(world.a)
    make_target(project, site.url("/feed.xml"))
    response = writer.post(f"{P}/targets/", {"project": str(project.pk), "url": site.url("/feed.xml")}, format="json")
    assert response.status_code == 400 and response.json()["url"] == [
        "This project already has a target with this URL."
    ]


def test_changing_what_is_fetched_forgets_the_validators(writer, world, site):
    target = make_target(make_project(world.a), site.url("/feed.xml"))
    Target.objects.filter(pk=target.pk).update(etag='"x"', last_modified="yesterday")
    response = writer.patch(f"{P}/targets/{target.pk}/", {"platform": "feed"}, format="json")
    assert response.status_code == 200 and (response.json()["etag"], response.json()["last_modified"]) == ("", "")


# --- run now, jobs, results ----------------------------------------------------------------------


def test_run_now_queues_a_job_and_the_worker_runs_it(writer, world, site, queued):
    project = make_project(world.a)
    make_target(project, site.url("/products/kettle"))
    response = writer.post(f"{P}/projects/{project.pk}/run/")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["progress"] == 0 and queued == [job["id"]]
    assert AuditLog.objects.filter(event_type="project.run", object_id=str(project.pk)).exists()

    tasks.run_job(job["id"])  # what the worker does
    detail = writer.get(f"{P}/jobs/{job['id']}/").json()
    assert detail["status"] == "completed" and detail["progress"] == 1.0
    assert (detail["targets_total"], detail["results_created"], detail["items_found"]) == (1, 3, 3)
    listed = writer.get(f"{P}/jobs/?project={project.pk}&status=completed").json()
    assert [j["id"] for j in listed["results"]] == [job["id"]]
    results = writer.get(f"{P}/results/?job={job['id']}&sentiment=negative").json()
    assert [r["content"]["title"] for r in results["results"]] == ["Broke after a week"]
    assert results["results"][0]["analysis"]["sentiment"]["label"] == "negative"


def test_run_now_on_a_target(writer, world, site, queued):
    project = make_project(world.a)
    target = make_target(project, site.url("/feed.xml"))
    make_target(project, site.url("/blog/solar-lantern"))
    response = writer.post(f"{P}/targets/{target.pk}/run/")
    assert response.status_code == 202 and response.json()["target"] == str(target.pk)
    job = jobs.run_job(job_id=response.json()["id"])
    assert job.targets_total == 1 and job.results_created == 3
    assert set(Result.objects.values_list("target_id", flat=True)) == {target.pk}


def test_run_now_refusals(writer, world, site, queued):
    empty = make_project(world.a, name="Empty")
    assert writer.post(f"{P}/projects/{empty.pk}/run/").json()["detail"] == "The project has no active targets to run."
    paused = make_project(world.a, name="Paused")
    make_target(paused, site.url("/feed.xml"))
    Project.objects.filter(pk=paused.pk).update(status=Project.PAUSED)
    response = writer.post(f"{P}/projects/{paused.pk}/run/")
    assert response.status_code == 400 and "paused" in response.json()["detail"]
    assert ScrapeJob.objects.count() == 0 and queued == []
    assert writer.as_user(world.user("a", "client")).post(f"{P}/projects/{paused.pk}/run/").status_code == 403


def test_run_now_with_the_queue_down_is_503_and_fails_the_job(writer, world, site, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.run_job, "delay", broker_down)
    project = make_project(world.a)
    make_target(project, site.url("/feed.xml"))
    response = writer.post(f"{P}/projects/{project.pk}/run/")
    assert response.status_code == 503
    assert response.json()["detail"] == jobs.QUEUE_DOWN and response.json()["code"] == "queue_unavailable"
    job = ScrapeJob.objects.get(pk=response.json()["job"]["id"])
    assert response.json()["job"]["status"] == "failed"
    assert job.status == ScrapeJob.FAILED and job.error == jobs.QUEUE_DOWN and job.finished_at


def test_results_export_csv_and_jsonl_streamed(writer, world, site):
    project = make_project(world.a)
    target = make_target(project, site.url("/feed.xml"))
    jobs.run_job(job_id=jobs.create_job(project=project).pk)
    formula = Result.objects.get(content__title="Opening hours")
    formula.content.title = "=HYPERLINK(1)"
    formula.save(update_fields=["content"])

    response = writer.get(f"{P}/results/export/?as=csv&project={project.pk}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert len(rows) == 3 and {r["target"] for r in rows} == {str(target.pk)}
    assert [r["title"] for r in rows] == ["'=HYPERLINK(1)", "Grinder recall", "Wonderful new espresso blend"]
    assert rows[1]["sentiment"] == "negative" and float(rows[1]["compound"]) < 0 and rows[1]["author"]

    lines = _body(writer.get(f"{P}/results/export/?as=jsonl&sentiment=positive")).splitlines()
    [entry] = [json.loads(line) for line in lines]
    assert entry["title"] == "Wonderful new espresso blend" and entry["sentiment"] == "positive"
    assert entry["date"].startswith("2024-03-04") and entry["url"] == "https://example.org/posts/espresso"
    bad = writer.get(f"{P}/results/export/?as=xlsx")
    assert bad.status_code == 400 and "as" in bad.json()


def test_schema_documents_the_scraping_endpoints(client, db):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert {
        f"{P}/projects/",
        f"{P}/projects/{{id}}/run/",
        f"{P}/projects/{{id}}/schedule/",
        f"{P}/projects/{{id}}/analytics/",
        f"{P}/targets/{{id}}/run/",
        f"{P}/results/search/",
        f"{P}/results/export/",
        f"{P}/presets/",
        f"{P}/schedules/",
        f"{P}/jobs/{{id}}/",
    } <= set(paths)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_run_now_through_a_real_celery_worker(writer, world, site, queued, celery_worker):
    project = make_project(world.a)
    make_target(project, site.url("/feed.xml"))
    make_target(project, site.url("/products/kettle"))
    worker = celery_worker("scraping")
    response = writer.post(f"{P}/projects/{project.pk}/run/")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    finished = wait_until(lambda: ScrapeJob.objects.get(pk=job_id).status in ScrapeJob.FINISHED, timeout=90)
    assert finished, f"the worker did not finish the job; its log:\n{worker.log()}"
    job = writer.get(f"{P}/jobs/{job_id}/").json()
    assert job["status"] == "completed" and job["progress"] == 1.0 and job["results_created"] == 6
    assert Result.objects.filter(project=project).count() == 6
    assert {r["content"]["title"] for r in writer.get(f"{P}/results/?sentiment=negative").json()["results"]} == {
        "Broke after a week",
        "Grinder recall",
    }
