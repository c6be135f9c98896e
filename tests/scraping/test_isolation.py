"""Tenant isolation on every scraping endpoint: company B gets 404 on company A's objects
(read, change, delete, run-now, schedule, analytics), and B's lists, searches and exports
never include A's rows. Nothing of A changes."""

import pytest

from events.models import Schedule
from scraping.models import Preset, Project, Result, ScrapeJob, Target
from scraping.services import jobs, projects
from tests import flushing
from tests.conftest import shared_world
from tests.support.scraping import (  # noqa: F401
    Site,
    fast_scraping,
    make_project,
    make_target,
    seed_system_presets,
    system_presets,
)

P = "/api/v1/scraping"


def _a(world, site):
    """Company A's project, target, finished job and its result, schedule and preset."""
    project = make_project(world.a, name="A-project")
    target = make_target(project, site.url("/products/kettle"))
    job = jobs.run_job(job_id=jobs.create_job(project=project).pk)
    schedule, _ = projects.set_schedule(project=project, enabled=True)
    preset = projects.create_preset(company=world.a, user=world.user("a", "content_writer"), name="a-preset")
    return {
        "project": project,
        "target": target,
        "job": job,
        "result": Result.objects.first(),
        "schedule": schedule,
        "preset": preset,
    }


@pytest.fixture
def a(world, site):
    return _a(world, site)


@pytest.fixture(scope="class")
def shared(django_db_setup, django_db_blocker):
    """(world, A's objects) made once for the tests of a class, which only read them."""

    def build():
        seed_system_presets()  # kept with A's preset: the tests' own `system_presets` writes none
        world = shared_world()
        with Site() as site:
            return world, _a(world, site)

    yield from flushing.shared(django_db_blocker, build)


@pytest.mark.django_db
class TestCompanyB:
    """B's requests on A's objects, which change nothing: one A for all of them."""

    @pytest.mark.parametrize(
        "method, path",
        [
            ("get", "projects/{project}/"),
            ("patch", "projects/{project}/"),
            ("put", "projects/{project}/"),
            ("delete", "projects/{project}/"),
            ("post", "projects/{project}/run/"),
            ("get", "projects/{project}/schedule/"),
            ("put", "projects/{project}/schedule/"),
            ("delete", "projects/{project}/schedule/"),
            ("get", "projects/{project}/analytics/"),
            ("get", "targets/{target}/"),
            ("patch", "targets/{target}/"),
            ("put", "targets/{target}/"),
            ("delete", "targets/{target}/"),
            ("post", "targets/{target}/run/"),
            ("get", "targets/{target}/analytics/"),
            ("get", "presets/{preset}/"),
            ("patch", "presets/{preset}/"),
            ("delete", "presets/{preset}/"),
            ("get", "schedules/{schedule}/"),
            ("patch", "schedules/{schedule}/"),
            ("delete", "schedules/{schedule}/"),
            ("get", "jobs/{job}/"),
            ("get", "results/{result}/"),
        ],
    )
    def test_company_b_gets_404_on_company_a_objects(self, api, shared, queued, method, path):
        world, a = shared
        api.as_user(world.user("b", "company_admin"))
        url = f"{P}/" + path.format(**{name: obj.pk for name, obj in a.items()})
        payload = {
            "name": "hijacked",
            "url": "http://127.0.0.1:1/",
            "enabled": False,
            "interval_seconds": 60,
            "description": "hijacked",
            "project": str(a["project"].pk),
        }
        response = getattr(api, method)(url, payload, format="json")
        assert response.status_code == 404, (url, response.status_code, response.content)
        assert Project.objects.get(pk=a["project"].pk).name == "A-project"
        assert Target.objects.get(pk=a["target"].pk).url.endswith("/products/kettle")
        assert Preset.objects.get(pk=a["preset"].pk).description == ""
        assert Schedule.objects.get(pk=a["schedule"].pk).enabled
        assert ScrapeJob.objects.count() == 1 and queued == [] and Result.objects.count() == 3


def test_lists_searches_and_exports_of_b_have_none_of_a(api, world, a):
    b_project = make_project(world.b, name="B-project")
    api.as_user(world.user("b", "company_admin"))
    assert [p["name"] for p in api.get(f"{P}/projects/").json()["results"]] == ["B-project"]
    for endpoint in ("targets", "schedules", "jobs", "results"):
        assert api.get(f"{P}/{endpoint}/").json()["results"] == [], endpoint
    presets = api.get(f"{P}/presets/").json()["results"]
    assert {p["name"] for p in presets} == {"advanced", "budget", "enterprise", "standard", "starter"}
    assert api.get(f"{P}/results/search/?q=kettle").json()["count"] == 0
    assert api.get(f"{P}/results/?project={a['project'].pk}").json()["results"] == []
    export = api.get(f"{P}/results/export/?as=jsonl")
    assert b"".join(export.streaming_content) == b""
    csv_export = b"".join(api.get(f"{P}/results/export/?as=csv&project={a['project'].pk}").streaming_content)
    assert csv_export.decode().strip().count("\n") == 0  # the header only
    report = api.get(f"{P}/projects/{b_project.pk}/analytics/?target={a['target'].pk}").json()
    assert report["totals"]["count"] == 0
    # A sees its own.
    api.as_user(world.user("a", "client"))
    assert len(api.get(f"{P}/results/").json()["results"]) == 3
    assert api.get(f"{P}/results/search/?q=kettle").json()["count"] == 2  # Bob's review does not say it


def test_b_cannot_attach_to_or_use_a_objects(api, world, a, site):
    api.as_user(world.user("b", "company_admin"))
    target = api.post(f"{P}/targets/", {"project": str(a["project"].pk), "url": site.url("/feed.xml")}, format="json")
    assert target.status_code == 400 and "project" in target.json()
    preset = api.post(f"{P}/projects/", {"name": "x", "preset": str(a["preset"].pk)}, format="json")
    assert preset.status_code == 400 and "Unknown preset" in preset.json()["preset"][0]
    by_name = api.post(f"{P}/projects/", {"name": "x", "preset": "a-preset"}, format="json")
    assert by_name.status_code == 400
    schedule = api.post(f"{P}/schedules/", {"project": str(a["project"].pk)}, format="json")
    assert schedule.status_code == 400 and "project" in schedule.json()
    assert Target.objects.count() == 1 and Project.objects.filter(company=world.b).count() == 0


def test_created_objects_are_stamped_with_the_callers_company(api, world, site):
    api.as_user(world.user("b", "company_admin"))
    project = api.post(f"{P}/projects/", {"name": "mine", "company": str(world.a.pk)}, format="json").json()
    assert Project.objects.get(pk=project["id"]).company_id == world.b.pk
    target = api.post(
        f"{P}/targets/",
        {"project": project["id"], "url": site.url("/feed.xml"), "company": str(world.a.pk)},
        format="json",
    ).json()
    assert Target.objects.get(pk=target["id"]).company_id == world.b.pk
    preset = api.post(f"{P}/presets/", {"name": "p", "company": str(world.a.pk)}, format="json").json()
    assert Preset.objects.get(pk=preset["id"]).company_id == world.b.pk
