"""The `insights` component and the "Sentiment report" reference pipeline: a project's
sentiment over a date range (counts from the rollups, the trend against the previous period,
the most positive and most negative results) put into a real pipeline run against the fake
OpenAI-compatible server, with its sources; its config checked at save (a foreign project is
a 400); the reference pipeline present once for every company, whether it existed when the
migration ran or was created afterwards."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.migrations.loader import MigrationLoader

from content.models import Component, Context, ContextStatus, Pipeline
from content.services import contexts, runner, versions
from content.services.components import RunState
from monitoring.services import insights, sentiment_report
from requestdesk.soft_delete import soft_delete
from scraping.models import Result
from scraping.services import ingest
from scraping.services.extraction import Item
from tenants.models import Company
from tests.support.content import content_settings, make_component, make_pipeline, make_provider, queued  # noqa: F401
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401

pytestmark = pytest.mark.django_db
COMPONENTS, PIPELINES = "/api/v1/content/components/", "/api/v1/content/pipelines/"

GOOD = "Wonderful lantern, I love it. Excellent and bright, the best purchase this year!"
BAD = "Awful lantern. It broke on the first night, terrible and useless. I hate it."
WORST = "Horrible, disgusting, worst product ever. Broken, dangerous and a total scam. Furious!"
FLAT = "The lantern has a handle and a switch."
# The report's range and the week before it; the days outside both must not count.
FROM, TO = datetime(2024, 3, 4, 12, tzinfo=UTC), datetime(2024, 3, 10, 12, tzinfo=UTC)
SEEDED = {  # day offset from FROM: (slug, text)
    -9: [("too-early", WORST)],
    -6: [("before-1", GOOD), ("before-2", GOOD)],
    -2: [("before-3", GOOD), ("before-4", FLAT)],
    0: [("monday-good", GOOD), ("monday-bad", BAD)],
    2: [("wednesday-flat", FLAT)],
    3: [("thursday-bad", BAD), ("thursday-worst", WORST)],
    6: [("sunday-good", GOOD + " Truly great."), ("sunday-bad", BAD)],
    7: [("too-late", WORST)],
}


def _url(slug):
    return f"https://shop.example/reviews/{slug}"


def _seed(target, seeded=SEEDED):
    """Results stored through the scraping ingest service, one item per slug and day."""
    for offset, items in seeded.items():
        batch = [
            Item(title=f"Review {slug}", text=text, url=_url(slug), date=FROM + timedelta(days=offset))
            for slug, text in items
        ]
        ingest.ingest(target=target, items=batch, platform="article")


@pytest.fixture
def lights(world):
    """Company A's project "Lights" with the seeded results; B's project and A's other
    project have a result in the range that must never show."""
    project = make_project(world.a, name="Lights")
    _seed(make_target(project, "http://127.0.0.1:9/lights"))
    _seed(make_target(make_project(world.a, name="Kitchen"), "http://127.0.0.1:9/kitchen"), {1: [("kitchen", WORST)]})
    _seed(make_target(make_project(world.b, name="B"), "http://127.0.0.1:9/b"), {1: [("foreign", WORST + " Awful.")]})
    return project


def _stored(project, first, last):
    """The project's results published in [first, last] (whole days): the oracle."""
    rows = Result.objects.for_company(project.company_id).filter(project=project)
    return [r for r in rows if first <= r.published_at.date() <= last]


def _report_context(company, project, **data):
    pipeline = sentiment_report.find(company.pk)
    fields = {"project_id": str(project.pk), "from": "2024-03-04", "to": "2024-03-10", "title": "Lights", **data}
    [context] = contexts.create_contexts(pipeline=pipeline, items=[{"data": fields}])
    return context


def test_the_reference_pipeline_puts_the_projects_sentiment_into_a_run(world, lights, llm):
    make_provider(world.a, llm)
    context = _report_context(world.a, lights)
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    done = Context.objects.get(pk=context.pk)
    assert done.status == ContextStatus.COMPLETED
    assert done.processing.completed_components == ["insights", "ai_generator"]
    found = done.data["insights"]

    current = _stored(lights, FROM.date(), TO.date())
    labels = [r.sentiment.label for r in current]
    assert len(current) == 7 and labels.count("negative") >= 3 and labels.count("positive") >= 2
    assert found["project"] == {"id": str(lights.pk), "name": "Lights"}
    assert (found["from"], found["to"], found["days"]) == ("2024-03-04", "2024-03-10", 7)
    assert found["counts"] == {**{k: labels.count(k) for k in insights.LABELS}, "total": 7}
    assert found["negative_share"] == round(labels.count("negative") / 7, 4)
    average = sum(r.sentiment.compound for r in current) / 7
    assert found["avg_compound"] == pytest.approx(average, abs=1e-3)

    # Per day, every day of the range; the week before was happier: worsening.
    daily = found["trend"]["daily"]
    assert [d["period"] for d in daily] == [f"2024-03-{day:02d}" for day in range(4, 11)]
    assert [d["count"] for d in daily] == [2, 0, 1, 2, 0, 0, 2]
    assert daily[1]["avg_compound"] is None
    before = _stored(lights, datetime(2024, 2, 26).date(), datetime(2024, 3, 3).date())
    assert len(before) == 4
    previous = found["trend"]["previous"]
    assert (previous["from"], previous["to"], previous["counts"]["total"]) == ("2024-02-26", "2024-03-03", 4)
    assert previous["avg_compound"] == pytest.approx(sum(r.sentiment.compound for r in before) / 4, abs=1e-3)
    assert found["trend"]["direction"] == "worsening" and found["trend"]["avg_compound_change"] < -0.05

    # The top three each way, by compound, with their links; nothing from outside the range,
    # another project or another company.
    by_score = sorted(current, key=lambda r: r.sentiment.compound)
    negative = [r for r in by_score if r.sentiment.compound < 0][:3]
    positive = [r for r in reversed(by_score) if r.sentiment.compound > 0][:3]
    assert [r["url"] for r in found["most_negative"]] == [r.content.url for r in negative]
    assert [r["url"] for r in found["most_positive"]] == [r.content.url for r in positive]
    assert found["most_negative"][0]["url"] == _url("thursday-worst")
    assert found["most_positive"][0]["url"] == _url("sunday-good")
    top = found["most_negative"][0]
    assert top["title"] == "Review thursday-worst" and top["excerpt"].startswith("Horrible, disgusting")
    assert top["compound"] == round(negative[0].sentiment.compound, 4) and found["top_complete"] is True

    # The sources: the numbers first, then each top result.
    sources = done.data["sources"]
    assert sources[0] == {
        "kind": "scraping.insights",
        "id": str(lights.pk),
        "title": "Sentiment of Lights, 2024-03-04–2024-03-10",
        "url": "",
        "text": found["summary"],
    }
    assert [(s["kind"], s["url"]) for s in sources[1:]] == [
        ("scraping.result", r.content.url) for r in positive + negative
    ]
    assert "7 results" in found["summary"] and "trend: worsening" in found["summary"]
    assert _url("thursday-worst") in found["summary"]
    for excluded in ("too-early", "too-late", "kitchen", "foreign"):
        assert excluded not in str(done.data)

    # The generator was asked once, with the reference system prompt.
    [chat] = llm.chats
    assert chat["messages"][0]["content"] == sentiment_report.SYSTEM_PROMPT and chat["model"] == "gpt-test"


def test_the_prompt_carries_the_summary_and_the_top_results(world, lights, llm):
    """The ai_generator numbers `data["sources"]` in its prompt and lists them in its output."""
    make_provider(world.a, llm)
    context = _report_context(world.a, lights)
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    done = Context.objects.get(pk=context.pk).data
    found = done["insights"]
    prompt = llm.chats[0]["messages"][-1]["content"]
    assert found["summary"].splitlines()[0] in prompt
    top = found["most_positive"] + found["most_negative"]
    assert len(top) == 5
    for result in top:
        assert result["url"] in prompt and result["url"] in done["generated_content"]["content"]


def test_the_range_defaults_to_the_last_days_and_top_is_configurable(world, llm):
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    project = make_project(world.a, name="Now")
    target = make_target(project, "http://127.0.0.1:9/now")
    items = [("now-good", GOOD, 0), ("now-bad", BAD, -1), ("now-worst", WORST, -2), ("old", WORST, -3)]
    ingest.ingest(
        target=target,
        items=[Item(title=slug, text=text, url=_url(slug), date=today + timedelta(days=d)) for slug, text, d in items],
        platform="article",
    )
    component = make_component(world.a, "insights", {"project_id": str(project.pk), "days": 3, "top": 1})
    state = RunState(context=Context(company_id=world.a.pk), data={})
    insights.run(state, component.config)
    found = state.data["insights"]
    assert found["to"] == today.date().isoformat() and found["days"] == 3 and found["counts"]["total"] == 3
    assert [r["url"] for r in found["most_negative"]] == [_url("now-worst")]
    assert [r["url"] for r in found["most_positive"]] == [_url("now-good")]
    assert found["trend"]["previous"]["counts"]["total"] == 1
    assert [s["kind"] for s in state.data["sources"]] == ["scraping.insights", "scraping.result", "scraping.result"]


def test_the_top_results_are_read_from_the_newest_days_only_past_the_cap(world, lights, monkeypatch):
    """With room for 3 scores, the newest days holding at most 3 results are read (Sunday's 2;
    Thursday's 2 more would pass it); the counts still cover the whole range."""
    monkeypatch.setattr(insights, "TOP_READ", 3)
    state = RunState(context=Context(company_id=world.a.pk), data={"project_id": str(lights.pk), "to": "2024-03-10"})
    insights.run(state, {})
    found = state.data["insights"]
    assert found["counts"]["total"] == 7 and found["top_complete"] is False
    assert [r["url"] for r in found["most_negative"]] == [_url("sunday-bad")]
    assert [r["url"] for r in found["most_positive"]] == [_url("sunday-good")]


def test_an_empty_range_is_reported_not_failed(world):
    project = make_project(world.a, name="Quiet")
    state = RunState(context=Context(company_id=world.a.pk), data={"project_id": str(project.pk), "to": "2024-01-31"})
    insights.run(state, {})
    found = state.data["insights"]
    assert found["counts"]["total"] == 0 and found["negative_share"] is None and found["avg_compound"] is None
    assert found["most_negative"] == found["most_positive"] == [] and found["trend"]["direction"] == "unknown"
    assert found["from"] == "2024-01-25" and len(found["trend"]["daily"]) == 7
    assert [s["kind"] for s in state.data["sources"]] == ["scraping.insights"]


@pytest.mark.parametrize(
    "project, data, message",
    [
        (None, {}, "No project"),
        ("nope", {}, "No scraping project “nope”"),
        ("foreign", {}, "No scraping project “"),
        ("own", {"from": "March"}, "data.from: “March” is not a date"),
        ("own", {"from": "2024-03-10", "to": "2024-03-01"}, "is after data.to"),
        ("own", {"from": "2023-01-01", "to": "2024-03-01"}, "longer than 365 days"),
    ],
)
def test_a_run_without_a_usable_project_or_range_fails_permanently(world, project, data, message):
    projects = {"own": make_project(world.a, name="P"), "foreign": make_project(world.b, name="B's")}
    project_id = str(projects[project].pk) if project in projects else project
    state = RunState(context=Context(company_id=world.a.pk), data={"project_id": project_id, **data})
    with pytest.raises(insights.ComponentError, match=message) as failure:
        insights.run(state, {})
    assert failure.value.permanent


def test_a_foreign_or_bad_config_is_refused_at_save(world, manager):
    foreign = make_project(world.b, name="B's")
    answer = manager.post(
        COMPONENTS, {"name": "i", "type": "insights", "config": {"project_id": str(foreign.pk)}}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"config": [f"project_id: no scraping project “{foreign.pk}” in this company."]}
    answer = manager.post(
        COMPONENTS, {"name": "i", "type": "insights", "config": {"days": 0, "top": 11}}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "config": ["days: must be a whole number between 1 and 365.", "top: must be a whole number between 0 and 10."]
    }
    # A pipeline step's override is checked as well; nothing was stored.
    mine = make_component(world.a, "insights", {"days": 30})
    step = {"component_id": str(mine.pk), "config_overrides": {"project_id": str(foreign.pk)}}
    answer = manager.post(PIPELINES, {"name": "P", "components": [step]}, format="json")
    assert answer.status_code == 400 and "no scraping project" in str(answer.json()["components"])
    own = make_project(world.a, name="Mine")
    created = manager.post(
        COMPONENTS, {"name": "ok", "type": "insights", "config": {"project_id": str(own.pk), "top": 0}}, format="json"
    )
    assert created.status_code == 201
    names = set(Component.objects.for_company(world.a).values_list("name", flat=True))
    assert names == {"ok", mine.name, *(c["name"] for c in sentiment_report.COMPONENTS)}


# --- the reference pipeline ---------------------------------------------------------------------


def _references(company_id):
    return list(Pipeline.all_objects.for_company(company_id).filter(metadata__reference="sentiment_report"))


def _shape(pipeline):
    """What a reference pipeline is, whoever created it."""
    components = {
        c.pk: c
        for c in Component.objects.for_company(pipeline.company_id).filter(metadata__reference="sentiment_report")
    }
    steps = [components[s.component_id] for s in pipeline.steps()]
    return (
        pipeline.name,
        pipeline.description,
        pipeline.default_context_type,
        pipeline.version,
        [(s.order, s.name) for s in pipeline.steps()],
        [(c.name, c.type, c.description, c.config, c.version, c.is_active) for c in steps],
    )


def test_a_company_created_later_gets_the_reference_pipeline_once(make_company):
    company = make_company("Later")
    [pipeline] = _references(company.pk)
    assert _shape(pipeline)[3:] == (
        "1.0.0",
        [(1, "Sentiment insights"), (2, "Sentiment report writer")],
        [
            (
                "Sentiment insights",
                "insights",
                sentiment_report.COMPONENTS[0]["description"],
                {"days": 7, "top": 3},
                "1.0.0",
                True,
            ),
            (
                "Sentiment report writer",
                "ai_generator",
                sentiment_report.COMPONENTS[1]["description"],
                {"system_prompt": sentiment_report.SYSTEM_PROMPT, "temperature": 0.3},
                "1.0.0",
                True,
            ),
        ],
    )
    assert pipeline.name == "Sentiment report" and pipeline.metadata == {"reference": "sentiment_report"}
    company.name = "Later, renamed"
    company.save()  # saved again: not created, nothing added
    assert sentiment_report.ensure(company.pk).pk == pipeline.pk
    soft_delete(pipeline)  # deleted by the company: not recreated
    assert sentiment_report.ensure(company.pk).pk == pipeline.pk
    assert len(_references(company.pk)) == 1
    assert Component.objects.for_company(company).count() == 2


def _migration():
    """The data migration's module and the historical models it runs with."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    module = loader.get_migration("monitoring", "0004_sentiment_report")
    return module, loader.project_state(("monitoring", "0004_sentiment_report")).apps


def test_the_migration_creates_one_per_existing_company_and_reverses_the_untouched(make_company):
    module, historical = _migration()
    [operation] = module.operations
    forwards, backwards = operation.code, operation.reverse_code
    # Two companies present at migration time (written without the live receiver), and one
    # created through the live model (it has its pipeline already).
    old = [historical.get_model("tenants", "Company").objects.create(name=name) for name in ("Old 1", "Old 2")]
    live = make_company("Live")
    assert [_references(c.pk) for c in old] == [[], []]

    forwards(historical, None)
    forwards(historical, None)  # migrated twice: nothing doubles
    for company in (*old, live):
        [pipeline] = _references(company.pk)
        assert Component.objects.for_company(company.pk).count() == 2
    # The migration's frozen copy and the live definition make the same pipeline.
    assert _shape(_references(old[0].pk)[0]) == _shape(_references(live.pk)[0])
    assert contexts.check_pipeline(_references(old[0].pk)[0]) is None

    # Reversed: company Old 2 edited its pipeline (a new version), so it stays; Old 1 uses
    # the reference insights component in a pipeline of its own, so that component stays.
    edited = _references(old[1].pk)[0]
    versions.update(edited, components=edited.steps()[:1])
    insights_step = Component.objects.for_company(old[0].pk).get(type="insights")
    make_pipeline(Company.objects.get(pk=old[0].pk), [(insights_step, {})], name="Own")
    backwards(historical, None)
    assert _references(old[0].pk) == []
    assert list(Component.objects.for_company(old[0].pk)) == [insights_step]
    assert [p.version for p in _references(old[1].pk)] == ["1.1.0"]
    kept = Component.objects.for_company(old[1].pk)
    assert sorted(kept.values_list("type", flat=True)) == ["ai_generator", "insights"]  # its own pipeline's stay
    assert Company.objects.filter(pk__in=[c.pk for c in old]).count() == 2


def test_migrate_gives_the_companies_present_one_each(migrated_db):
    """`migrate` back and forth on a migrated database with two companies: reversed, their
    untouched reference pipelines go; migrated again, each company has one. (In this process,
    on a database of its own: `manage.py migrate` in a subprocess, on the test database, took
    two Django start-ups and a flush of every collection after.)"""
    with migrated_db.using():
        companies = [Company.objects.create(name=name).pk for name in ("A", "B")]
        assert [len(_references(pk)) for pk in companies] == [1, 1]  # the live receiver's
    migrated_db.migrate("monitoring", "0003_response_link_indexes")
    with migrated_db.using():
        assert [_references(pk) for pk in companies] == [[], []]
        assert not Component.all_objects.filter(company_id__in=companies).exists()
    migrated_db.migrate("monitoring")
    with migrated_db.using():
        for pk in companies:
            [pipeline] = _references(pk)
            assert _shape(pipeline) == _shape(sentiment_report.ensure(companies[0])) and pipeline.company_id == pk
            assert Component.objects.for_company(pk).count() == 2
