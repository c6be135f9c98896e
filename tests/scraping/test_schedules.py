"""Schedules (the generic Schedule documents, run by the beat dispatcher) and leases: a
project's schedule through the API, the dispatcher running a project, and a target never
scraped by two jobs at once (two concurrent runs), with expired leases recoverable."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from events.models import Schedule
from events.services import scheduling
from requestdesk import soft_delete
from scraping import tasks
from scraping.models import RUN_PROJECT_TASK, Project, Result, ScrapeJob, Target
from scraping.services import jobs
from scraping.services.projects import set_schedule
from tests.support.scraping import Reply, fast_scraping, fixture, make_project, make_target, system_presets  # noqa: F401

P = "/api/v1/scraping"


@pytest.fixture
def manager(api, world):
    return api.as_user(world.user("a", "content_manager"))


def test_project_schedule_endpoint(manager, world):
    project = make_project(world.a, schedule_interval_seconds=7200)
    url = f"{P}/projects/{project.pk}/schedule/"
    assert manager.get(url).status_code == 404
    created = manager.put(url, {"enabled": True}, format="json")
    assert created.status_code == 201, created.content
    schedule = Schedule.objects.get(pk=created.json()["id"])
    assert (schedule.task, schedule.subject_id, schedule.kwargs) == (
        RUN_PROJECT_TASK,
        str(project.pk),
        {"project_id": str(project.pk)},
    )
    assert schedule.company_id == world.a.pk and schedule.interval_seconds == 7200 and schedule.enabled
    assert timezone.now() + timedelta(seconds=7100) < schedule.next_run < timezone.now() + timedelta(seconds=7300)
    assert created.json()["project"] == str(project.pk)

    changed = manager.patch(url, {"interval_seconds": 600}, format="json")
    assert changed.status_code == 200 and changed.json()["interval_seconds"] == 600
    assert Project.objects.get(pk=project.pk).config.schedule_interval_seconds == 600
    assert Schedule.objects.get(pk=schedule.pk).next_run < timezone.now() + timedelta(seconds=700)
    assert manager.patch(url, {"enabled": False}, format="json").json()["enabled"] is False
    bad = manager.patch(url, {"interval_seconds": 5}, format="json")
    assert bad.status_code == 400 and "interval_seconds" in bad.json()
    assert manager.delete(url).status_code == 204 and not Schedule.objects.exists()


def test_schedules_viewset_lists_only_scraping_schedules(manager, world):
    project, other = make_project(world.a, name="One"), make_project(world.a, name="Two")
    Schedule.objects.create(
        company=world.a,
        name="cleanup",
        task="tenants.tasks.dispatch_schedules",
        subject_id="x",
        next_run=timezone.now(),
    )
    created = manager.post(f"{P}/schedules/", {"project": str(project.pk), "interval_seconds": 3600}, format="json")
    assert created.status_code == 201, created.content
    again = manager.post(f"{P}/schedules/", {"project": str(project.pk)}, format="json")
    assert again.status_code == 400 and "already has a schedule" in again.json()["project"][0]
    listed = manager.get(f"{P}/schedules/").json()
    assert [s["project"] for s in listed["results"]] == [str(project.pk)]
    schedule_id = created.json()["id"]
    moved = manager.patch(f"{P}/schedules/{schedule_id}/", {"project": str(other.pk), "enabled": False}, format="json")
    assert moved.status_code == 200 and moved.json()["project"] == str(project.pk) and not moved.json()["enabled"]
    writer = manager.as_user(world.user("a", "content_writer"))
    assert writer.patch(f"{P}/schedules/{schedule_id}/", {"enabled": True}, format="json").status_code == 403


def test_a_project_created_with_its_schedule_and_purged_with_it(manager, world):
    response = manager.post(
        f"{P}/projects/", {"name": "Hourly", "preset": "advanced", "schedule_enabled": True}, format="json"
    )
    assert response.status_code == 201
    schedule = Schedule.objects.get(subject_id=response.json()["id"])
    assert schedule.interval_seconds == 900 and schedule.enabled  # the preset's interval
    assert manager.delete(f"{P}/projects/{response.json()['id']}/").status_code == 204
    # Soft-deleted: the schedule stays for a restore but runs nothing; the purge takes it.
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert jobs.run_project(project_id=response.json()["id"]) is None and not ScrapeJob.objects.exists()
    soft_delete.purge(now=timezone.now() + timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS + 1))
    assert not Project.all_objects.filter(pk=response.json()["id"]).exists()
    assert not Schedule.objects.filter(pk=schedule.pk).exists()


def test_the_dispatcher_runs_a_due_project_once(world, site):
    project = make_project(world.a, schedule_interval_seconds=3600)
    make_target(project, site.url("/feed.xml"))
    schedule, _ = set_schedule(project=project, enabled=True)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=5))
    sent = []
    ran = scheduling.dispatch_due(send=sent.append)
    assert [s.pk for s in ran] == [schedule.pk] and scheduling.dispatch_due(send=sent.append) == []
    assert scheduling.known_task(sent[0].task)
    tasks.run_project(**sent[0].kwargs)  # what the worker does with it
    job = ScrapeJob.objects.get()
    assert job.trigger == "schedule" and job.status == ScrapeJob.COMPLETED and job.results_created == 3


def test_run_project_skips_inactive_and_running_projects(world, site):
    project = make_project(world.a)
    make_target(project, site.url("/feed.xml"))
    Project.objects.filter(pk=project.pk).update(status=Project.PAUSED)
    assert tasks.run_project(str(project.pk)) is None and ScrapeJob.objects.count() == 0
    Project.objects.filter(pk=project.pk).update(status=Project.ACTIVE)
    live = jobs.create_job(project=project, trigger="schedule")
    ScrapeJob.objects.filter(pk=live.pk).update(
        status=ScrapeJob.RUNNING, lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert tasks.run_project(str(project.pk)) is None and ScrapeJob.objects.count() == 1
    # Its worker was lost: the lease ran out, the next scheduled run takes the job over.
    ScrapeJob.objects.filter(pk=live.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert tasks.run_project(str(project.pk)) == str(live.pk)
    assert ScrapeJob.objects.get(pk=live.pk).status == ScrapeJob.COMPLETED and ScrapeJob.objects.count() == 1


def test_a_job_held_by_a_live_worker_is_not_run_and_a_lost_one_resumes(world, site):
    project = make_project(world.a)
    done = make_target(project, site.url("/feed.xml"))
    rest = make_target(project, site.url("/products/kettle"))
    job = jobs.create_job(project=project)
    ScrapeJob.objects.filter(pk=job.pk).update(
        status=ScrapeJob.RUNNING,
        targets_total=2,
        targets_done=1,
        done_targets=[done.pk],
        started_at=timezone.now(),
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    assert jobs.run_job(job_id=job.pk) is None and site.requests == []
    ScrapeJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    resumed = jobs.run_job(job_id=job.pk)
    assert resumed.status == ScrapeJob.COMPLETED and resumed.targets_done == 2 and resumed.targets_total == 2
    assert site.hits("/feed.xml") == [] and len(site.hits("/products/kettle")) == 1
    assert set(Result.objects.values_list("target_id", flat=True)) == {rest.pk}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_never_scrape_a_target_twice(world, site):
    site.route("/slow-article", Reply(body=fixture("article.html"), delay=1.0))
    project = make_project(world.a)
    target = make_target(project, site.url("/slow-article"))
    first, second = jobs.create_job(project=project), jobs.create_job(project=project, target=target)
    outcomes = {}

    def run(job):
        try:
            outcomes[job.pk] = jobs.run_job(job_id=job.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(site.hits("/slow-article")) == 1
    finished = [ScrapeJob.objects.get(pk=job.pk) for job in (first, second)]
    assert sorted((j.pages_fetched, j.targets_skipped) for j in finished) == [(0, 1), (1, 0)]
    assert all(j.status == ScrapeJob.COMPLETED for j in finished)
    skipped = next(j for j in finished if j.targets_skipped)
    assert "another job is scraping it" in skipped.errors[0].message
    assert Result.objects.count() == 1 and Target.objects.get(pk=target.pk).lease_job is None


def test_an_expired_target_lease_is_recovered(world, site):
    project = make_project(world.a)
    target = make_target(project, site.url("/blog/solar-lantern"))
    lost = jobs.create_job(project=project)
    Target.objects.filter(pk=target.pk).update(lease_job=lost.pk, lease_until=timezone.now() + timedelta(minutes=1))
    busy = jobs.run_job(job_id=jobs.create_job(project=project).pk)
    assert busy.targets_skipped == 1 and busy.pages_fetched == 0
    Target.objects.filter(pk=target.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    recovered = jobs.run_job(job_id=jobs.create_job(project=project).pk)
    assert recovered.pages_fetched == 1 and recovered.results_created == 1
