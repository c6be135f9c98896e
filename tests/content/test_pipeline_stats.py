"""Per-pipeline run statistics: each finished run is counted as it ends (completed or
failed for good; a retry is not an end), with its duration and the AI generator's tokens;
GET /content/pipelines/{id}/stats/?days=N adds up the N days of the window (today
included) from the per-day counters, not from the contexts; the migration's `rebuild`
gives the same numbers; bad `days` is a 400; the pipeline's admin page shows them."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from content import tasks as content_tasks
from content.models import Context, ContextStatus, PipelineStats
from content.services import runner, stats
from events import tasks as tenant_tasks
from tests import flushing
from tests.conftest import SharedWorld
from tests.fakes.openai import FakeOpenAI, section_answer
from tests.support.content import (  # noqa: F401
    TEST_KEY,
    article_setup,
    content_settings,
    fresh,
    new_context,
    queued,
)

pytestmark = pytest.mark.django_db
PIPELINES = "/api/v1/content/pipelines/"


def _run_four(company, llm):
    """Company A's article pipeline: two runs completed, one failed for good (the provider
    refused the key), one retried and still pending (not counted)."""
    setup = article_setup(company, llm)
    for title in ("One", "Two"):
        assert runner.process_context(context_id=new_context(setup, title=title).pk) == runner.COMPLETED
    llm.script = [("status", 401)]
    assert runner.process_context(context_id=new_context(setup, title="Refused").pk) == runner.FAILED
    llm.script = [("status", 429)]
    assert runner.process_context(context_id=new_context(setup, title="Later").pk) == runner.RETRY
    return setup


@pytest.fixture
def ran(world, llm):
    return _run_four(world.a, llm)


@pytest.fixture(scope="class")
def kept_ran(kept_world, django_db_blocker):
    """`ran` of the class's world, made once for the tests of a class, which only read it (the
    settings and queues of `content_settings` and `queued`, as a test has them)."""

    def build():
        with (
            FakeOpenAI(reply=section_answer, prompt_tokens=30) as llm,
            pytest.MonkeyPatch.context() as patch,
            override_settings(
                FIELD_ENCRYPTION_KEY=TEST_KEY,
                KNOWLEDGE_LLM_MAX_RETRIES=0,
                KNOWLEDGE_LLM_TIMEOUT_SECONDS=5,
                CONTENT_RETRY_BASE_SECONDS=0,
                CONTENT_MAX_RETRIES=3,
                CONTENT_LEASE_SECONDS=300,
            ),
        ):
            patch.setattr(content_tasks.process_context, "apply_async", lambda args, countdown=None: None)
            patch.setattr(tenant_tasks.deliver_webhook, "delay", lambda delivery_id: None)
            return _run_four(kept_world.a, llm)

    yield from flushing.shared(django_db_blocker, build)


class TestReads(SharedWorld):
    """Reads of one pipeline's four runs: one world and one set of runs for them all."""

    @pytest.fixture
    def ran(self, kept_ran):
        return kept_ran

    def test_runs_outcomes_durations_and_tokens_are_counted(self, api, world, ran):
        client = api.as_user(world.user("a", "client"))
        response = client.get(f"{PIPELINES}{ran.pipeline.pk}/stats/")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["runs"], body["completed"], body["failed"], body["success_rate"]) == (3, 2, 1, 0.6667)
        assert body["days"] == 7 and body["until"] == timezone.now().date().isoformat()
        finished = Context.objects.filter(status__in=[ContextStatus.COMPLETED, ContextStatus.FAILED])
        durations = sorted(c.processing.duration_ms for c in finished)
        assert body["duration_ms"]["mean"] == pytest.approx(sum(durations) / 3, abs=0.01)
        # p50 is the bucket bound of the middle run: at most 10% above it (and at least it)
        assert durations[1] <= body["duration_ms"]["p50"] <= max(1.0, durations[1] * 1.1)
        assert durations[2] <= body["duration_ms"]["p95"] <= max(1.0, durations[2] * 1.1)
        generated = [c.data["generation"] for c in finished if "generation" in c.data]
        assert body["tokens"] == {
            "in": sum(g["prompt_tokens"] for g in generated),
            "out": sum(g["completion_tokens"] for g in generated),
        }
        assert body["tokens"]["in"] == 2 * 4 * 30  # two completed runs, four sections, 30 prompt tokens each
        [today] = body["by_day"]
        assert today["runs"] == 3 and today["failed"] == 1

    @pytest.mark.parametrize("days", ["0", "91", "seven", "-1"])
    def test_a_bad_window_is_a_400(self, api, world, ran, days):
        response = api.as_user(world.user("a", "client")).get(f"{PIPELINES}{ran.pipeline.pk}/stats/?days={days}")
        assert response.status_code == 400 and "days" in response.json()

    def test_another_company_gets_a_404(self, api, world, ran):
        assert (
            api.as_user(world.user("b", "company_admin")).get(f"{PIPELINES}{ran.pipeline.pk}/stats/").status_code == 404
        )

    def test_the_day_counters_are_read_and_written_on_their_index(self, world, ran):
        """The run's upsert and the window's read are index scans (a UniqueConstraint is a partial
        index, which the embedded server never plans: each read every document)."""
        from django.db import connection

        collection = connection.database[PipelineStats._meta.db_table]
        spec = collection.index_information()["pipeline_stats_day_uniq"]
        assert spec["key"] == [("company_id", 1), ("pipeline_id", 1), ("day", 1)] and spec.get("unique")
        assert "partialFilterExpression" not in spec
        day = stats.day_of(timezone.now())
        read = {"company_id": world.a.pk, "pipeline_id": ran.pipeline.pk, "day": {"$gte": day - timedelta(days=6)}}
        write = {"company_id": world.a.pk, "pipeline_id": ran.pipeline.pk, "day": day}
        for query in (read, write):
            plan = connection.database.command("explain", {"find": collection.name, "filter": query})
            assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"]), plan["queryPlanner"]["winningPlan"]


def test_the_window_reads_the_day_counters_not_the_contexts(api, world, ran):
    old = Context(company_id=world.a.pk, pipeline_id=ran.pipeline.pk, data={"generation": {"prompt_tokens": 7}})
    old.processing.completed_at = timezone.now() - timedelta(days=10)
    old.processing.duration_ms = 2500.0
    stats.add(old, "completed")
    Context.objects.all().delete()  # the counters stand on their own

    client = api.as_user(world.user("a", "client"))
    week = client.get(f"{PIPELINES}{ran.pipeline.pk}/stats/").json()
    month = client.get(f"{PIPELINES}{ran.pipeline.pk}/stats/?days=30").json()
    assert week["runs"] == 3 and month["runs"] == 4 and month["tokens"]["in"] == week["tokens"]["in"] + 7
    assert len(month["by_day"]) == 2 and month["duration_ms"]["p95"] == pytest.approx(2500, rel=0.1)
    assert PipelineStats.objects.count() == 2  # one document per pipeline and day


def test_rebuild_counts_what_the_runs_counted(world, ran):
    counted = stats.summary(ran.pipeline)
    PipelineStats.objects.all().delete()
    assert stats.summary(ran.pipeline)["runs"] == 0
    assert stats.rebuild() == 1
    call_command("rebuild_pipeline_stats", stdout=io.StringIO())  # idempotent
    assert stats.summary(ran.pipeline) == counted and PipelineStats.objects.count() == 1


def test_percentiles_are_within_ten_percent():
    durations = [float(ms) for ms in range(10, 1010, 10)]  # 10 .. 1000 ms
    histogram = {}
    for ms in durations:
        histogram[stats.bucket(ms)] = histogram.get(stats.bucket(ms), 0) + 1
    from collections import Counter

    assert 500 <= stats.percentile(Counter(histogram), 0.5) <= 550
    assert 950 <= stats.percentile(Counter(histogram), 0.95) <= 1045
    assert stats.percentile(Counter(), 0.5) is None and stats.bucket(0.4) == 0


def test_the_pipeline_admin_page_shows_the_runs(client, world, ran):
    client.force_login(world.user("a", "content_manager"))
    page = client.get(f"/admin/content/pipeline/{ran.pipeline.pk}/change/").content.decode()
    assert "Runs (last 7 days)" in page
    assert "<tr><th>runs</th><td>3</td></tr>" in page and "<tr><th>success rate</th><td>66.7%</td></tr>" in page


def test_a_purged_pipeline_takes_its_counters_along(world, ran):
    from requestdesk import soft_delete

    assert PipelineStats.objects.filter(pipeline=ran.pipeline.pk).exists()
    soft_delete.soft_delete(ran.pipeline)
    assert PipelineStats.objects.filter(pipeline=ran.pipeline.pk).exists()  # restorable: kept
    soft_delete.purge(now=timezone.now() + soft_delete.retention() + timedelta(days=1))
    assert not PipelineStats.objects.filter(pipeline=ran.pipeline.pk).exists()
