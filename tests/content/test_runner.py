"""Running the generative pipeline against a local OpenAI-compatible server: outputs and
per-component timings, the template/ai_generator/transformer components, retries with
backoff, failures that are not retried, retry exhaustion, events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from content.models import ContextStatus
from content.services import runner
from content.services.components.template import fill_sections
from tests.support.content import (  # noqa: F401
    SECTION_IDS,
    article_setup,
    content_settings,
    events,
    fresh,
    make_agent,
    make_component,
    make_pipeline,
    make_provider,
    new_context,
    queued,
    subscribe,
)

pytestmark = pytest.mark.django_db


def test_a_context_runs_its_pipeline_with_outputs_and_timings(world, llm):
    setup = article_setup(world.a, llm)
    subscribe(world.a)
    context = new_context(setup, title="Microservices")
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED

    done = fresh(context)
    assert done.status == ContextStatus.COMPLETED and done.error == "" and done.attempt == 1
    template = done.data["template"]
    assert template["id"] == str(setup.template.pk) and template["version"] == "1.0.0"
    assert [s["id"] for s in template["sections"]] == SECTION_IDS
    assert template["sections"][0]["instructions"] == "Introduce Microservices for developers"
    generated = done.data["generated_content"]
    assert generated == {
        "introduction": "Introduction text for Microservices.",
        "main_content_1": "Part 1 text for Microservices.",
        "main_content_2": "Part 2 text for Microservices.",
        "conclusion": "Conclusion text for Microservices.",
    }
    assert done.data["generation"]["requests"] == 4 and done.data["generation"]["model"] == "gpt-test"
    formatted = done.data["formatted_content"]
    assert formatted["format"] == "markdown"
    assert formatted["content"].startswith("# Microservices\n\n- [Introduction](#introduction)\n- [Main Content]")
    assert "## Main Content\n\n### Part 1\n\nPart 1 text for Microservices." in formatted["content"]
    assert [a["anchor"] for a in formatted["table_of_contents"]] == [
        "introduction",
        "main-content",
        "part-1",
        "part-2",
        "conclusion",
    ]

    processing = done.processing
    assert processing.completed_components == ["template", "ai_generator", "transformer"]
    assert set(processing.component_timings) == {"template", "ai_generator", "transformer"}
    assert all(ms >= 0 for ms in processing.component_timings.values())
    assert processing.started_at <= processing.completed_at
    assert processing.duration_ms >= processing.component_timings["ai_generator"]
    assert [e["event"] for e in processing.timeline] == ["component"] * 3 + ["completed"]

    # The pipeline's override beats the component's temperature; one request per section.
    assert [r["temperature"] for r in llm.chats] == [0.65] * 4 and llm.chats[0]["max_tokens"] == 500
    assert "Length: 50 to 100 words." in llm.chats[0]["messages"][1]["content"]
    [event] = events("content.context.completed")
    assert event["context_id"] == str(context.pk) and event["component_timings"] == processing.component_timings


def test_a_completed_context_is_never_run_again(world, llm):
    context = new_context(article_setup(world.a, llm))
    runner.process_context(context_id=context.pk)
    calls = len(llm.chats)
    assert runner.process_context(context_id=context.pk) is None
    assert runner.process_pending() == []
    assert len(llm.chats) == calls and fresh(context).attempt == 1


def test_the_agents_provider_and_model_are_used(world, llm):
    setup = article_setup(world.a, llm)
    agent_llm_provider = make_provider(world.a, llm, name="agent's")
    agent = make_agent(world.a, agent_llm_provider)
    setup.components["ai_generator"].config = {}
    setup.components["ai_generator"].save()
    context = new_context(setup, agent=agent)
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    assert {r["model"] for r in llm.chats} == {"gpt-agent"}
    assert llm.chats[0]["messages"][0]["content"] == "You write for Acme."


def test_html_output_escapes_generated_markup(world, llm):
    setup = article_setup(world.a, llm, fmt="html")
    context = new_context(setup, title="<script>alert(1)</script> & co")
    runner.process_context(context_id=context.pk)
    html = fresh(context).data["formatted_content"]["content"]
    assert '<h2 id="introduction">Introduction</h2>' in html
    assert '<a href="#part-1">Part 1</a>' in html and '<h3 id="part-1">Part 1</h3>' in html
    assert "<script>" not in html.split("</h1>", 1)[1] and "&lt;script&gt;" in html


def test_section_counts_pick_how_many_repeated_sections(world):
    sections = fill_sections(
        {
            "sections": [
                {
                    "id": "body",
                    "type": "sections",
                    "name": "Body",
                    "min_sections": 2,
                    "max_sections": 4,
                    "section_template": {"instructions": "About {keywords}", "word_range": [10, 20]},
                }
            ]
        },
        {"section_counts": {"body": 9}, "keywords": ["a", "b"]},
    )
    assert [s["id"] for s in sections] == ["body_1", "body_2", "body_3", "body_4"]
    assert sections[0]["instructions"] == "About a, b" and sections[0]["parent"] == "body"


@pytest.mark.parametrize("failure", [500, 429])
def test_a_provider_failure_is_retried_then_succeeds(world, llm, queued, settings, failure):
    settings.CONTENT_RETRY_BASE_SECONDS = 10
    context = new_context(article_setup(world.a, llm))
    llm.script = [("status", failure), ("status", failure)]

    assert runner.process_context(context_id=context.pk) == runner.RETRY
    first = fresh(context)
    assert first.status == ContextStatus.PENDING and first.retry_count == 1
    assert f"HTTP {failure}" in first.error
    # Backoff: base * 2 ** retry_count, and the task is queued with that countdown.
    assert abs((first.next_retry_at - timezone.now()).total_seconds() - 20) < 3
    assert queued[-1] == (str(context.pk), 20)
    assert first.processing.completed_components == ["template"]  # kept: not run again
    # Not due yet: nothing runs.
    assert runner.process_context(context_id=context.pk) is None

    type(first).objects.filter(pk=context.pk).update(next_retry_at=timezone.now())
    assert runner.process_context(context_id=context.pk) == runner.RETRY
    assert fresh(context).retry_count == 2 and queued[-1][1] == 40
    type(first).objects.filter(pk=context.pk).update(next_retry_at=timezone.now() - timedelta(seconds=1))
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED

    done = fresh(context)
    assert done.status == ContextStatus.COMPLETED and done.retry_count == 2 and done.attempt == 3
    assert len(done.data["generated_content"]) == 4
    assert [e["event"] for e in done.processing.timeline].count("retry") == 2
    assert done.processing.component_timings.keys() == {"template", "ai_generator", "transformer"}


def test_retry_exhaustion_fails_the_context_with_the_reason(world, llm, settings):
    settings.CONTENT_MAX_RETRIES = 2
    subscribe(world.a)
    context = new_context(article_setup(world.a, llm))
    llm.fail_with = 500
    outcomes = [runner.process_context(context_id=context.pk) for _ in range(4)]
    assert outcomes == [runner.RETRY, runner.RETRY, runner.FAILED, None]
    failed = fresh(context)
    assert failed.status == ContextStatus.FAILED and failed.retry_count == 2 and failed.attempt == 3
    assert "HTTP 500" in failed.error and "gave up after 2 retries" in failed.error
    assert len(llm.chats) == 3
    [event] = events("content.context.failed")
    assert event["error"] == failed.error and event["status"] == "failed"
    assert events("content.context.completed") == []


@pytest.mark.parametrize("status, kind", [(401, "refused the API key"), (400, "HTTP 400")])
def test_a_permanent_provider_failure_is_not_retried(world, llm, queued, status, kind):
    context = new_context(article_setup(world.a, llm))
    llm.fail_with = status
    assert runner.process_context(context_id=context.pk) == runner.FAILED
    failed = fresh(context)
    assert failed.status == ContextStatus.FAILED and failed.retry_count == 0 and kind in failed.error
    assert len(llm.chats) == 1 and queued == [(str(context.pk), None)]  # only the creation's task


def test_an_inactive_provider_fails_at_once(world, llm):
    setup = article_setup(world.a, llm)
    setup.provider.is_active = False
    setup.provider.save()
    context = new_context(setup)
    assert runner.process_context(context_id=context.pk) == runner.FAILED
    assert "is not active" in fresh(context).error and llm.chats == []


def test_a_template_deleted_after_the_pipeline_was_saved_fails_clearly(world, llm):
    setup = article_setup(world.a, llm)
    context = new_context(setup)
    template_id = setup.template.pk
    setup.template.delete()
    assert runner.process_context(context_id=context.pk) == runner.FAILED
    failed = fresh(context)
    assert f"The template “{template_id}” no longer exists." in failed.error
    assert failed.processing.timeline[0]["status"] == "error" and failed.retry_count == 0


def test_a_pipeline_without_llm_needs_no_provider(world):
    template_only = article_setup(world.a)
    pipeline = make_pipeline(
        world.a,
        [
            (template_only.components["template"], {"template_id": str(template_only.template.pk)}),
            (make_component(world.a, "transformer"), {}),
        ],
    )
    template_only.pipeline = pipeline
    context = new_context(template_only)
    assert runner.process_context(context_id=context.pk) == runner.FAILED  # nothing to format
    assert "no generated content" in fresh(context).error


@pytest.mark.parametrize(("seconds", "progress_writes"), [(60, 0), (0, 4)])
def test_progress_is_written_when_a_checkpoint_is_due(world, llm, settings, round_trips, seconds, progress_writes):
    """Writes of a context besides its claim and its final write: none while the run is
    younger than CONTENT_CHECKPOINT_SECONDS; with 0, one before the ai_generator and one after
    each of its sections but the last (four sections)."""
    settings.CONTENT_CHECKPOINT_SECONDS = seconds
    context = new_context(article_setup(world.a, llm))
    with round_trips() as trips:
        assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    writes = [command for command in trips.sent if command.get("update") == "contexts"]
    assert len(writes) == 2 + progress_writes, writes
    assert list(fresh(context).data["generated_content"]) == SECTION_IDS
