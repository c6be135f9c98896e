"""Sentiment per sentence as well as per result: a review that praises one thing and pans
another is `mixed` and keeps its per-sentence scores (stored, served by the API, filtered
on); stored results are brought up to date by the migration's reindex."""

from datetime import UTC, datetime, timezone

import pytest
from django.db import connection

from scraping.models import Result
from scraping.selectors import analytics
from scraping.selectors import search as selectors
from scraping.services import analysis, ingest
from scraping.services.extraction import Item
from tests.support.content import make_provider
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401

TWO_SIDED = (
    "The screen is gorgeous and I absolutely love the camera, best phone I have owned! "
    "But the battery is terrible, it dies by noon and charging is awful."
)
DAY = datetime(2024, 4, 2, 9, tzinfo=UTC)


def test_sentences_are_split_on_ends_and_lines():
    assert analysis.sentences("One. Two!  Three?\nFour\n\nFive...  six") == [
        "One.",
        "Two!",
        "Three?",
        "Four",
        "Five...",
        "six",
    ]


@pytest.mark.parametrize(
    "text, label",
    [
        (TWO_SIDED, "mixed"),
        ("I love the lens, it is superb and wonderful. The strap is horrible, ugly and it broke.", "mixed"),
        ("I love this product, it is absolutely wonderful!", "positive"),
        ("Great kettle. I love this kettle. Boils fast and looks beautiful. The lid is a bit stiff.", "positive"),
        ("This is the worst purchase ever. Terrible and broken.", "negative"),
        ("The box is blue. It weighs two kilograms.", "neutral"),
    ],
)
def test_labels(text, label):
    found = analysis.sentiment(text)
    assert found.label == label
    assert len(found.sentences) == len(analysis.sentences(text))
    assert all(-1 <= score <= 1 for score in found.sentences)


@pytest.mark.parametrize(
    "text",
    [
        "  I love this product, it is absolutely wonderful!  ",
        "It is blue",
        "Great kettle. The lid is AWFUL!",
        "Not bad at all 😀",
    ],
)
def test_sentence_scores_are_vaders_on_each_sentence(text):
    """A one-sentence text is scored once (its sentence is the text): the same numbers as VADER
    run on each sentence."""
    vader = analysis.analyzer()
    found = analysis.sentiment(text)
    assert found.sentences == [round(vader.polarity_scores(part)["compound"], 4) for part in analysis.sentences(text)]
    assert found.compound == vader.polarity_scores(text)["compound"]


def test_one_complaint_in_a_page_of_praise_is_not_mixed():
    scores = [0.9, 0.8, 0.85, 0.7, -0.6]
    assert not analysis.disagree(scores)
    assert analysis.disagree([0.9, -0.6])
    assert not analysis.disagree([0.4, -0.4])  # neither side is strong


def test_a_result_keeps_its_sentence_scores(world, api):
    project = make_project(world.a, name="Phones")
    target = make_target(project, "http://127.0.0.1:9/phones")
    ingest.ingest(target=target, items=[Item(title="Two sides", text=TWO_SIDED, date=DAY)], platform="reviews")
    result = Result.objects.get(content__title="Two sides")
    sentiment = result.sentiment
    assert sentiment.label == "mixed" and len(sentiment.sentences) == 3  # the title reads as a sentence
    assert max(sentiment.sentences) >= 0.5 and min(sentiment.sentences) <= -0.5
    api.as_user(world.user("a", "client"))
    listed = api.get(f"/api/v1/scraping/results/?sentiment=mixed&project={project.pk}").json()
    [row] = listed["results"]
    assert row["analysis"]["sentiment"]["label"] == "mixed"
    assert row["analysis"]["sentiment"]["sentences"] == sentiment.sentences
    found = selectors.search(company=world.a, query="battery", filters=selectors.ResultFilters(sentiment="mixed"))
    assert [r.pk for r in found[0:10]] == [result.pk]


def test_reindex_brings_stored_results_up_to_date(world):
    """What migration 0008 runs: old postings (presence only, 64 terms at most) and old
    sentiment (no sentences, a mixed review labelled positive) are recomputed."""
    project = make_project(world.a, name="Old")
    target = make_target(project, "http://127.0.0.1:9/old")
    ingest.ingest(target=target, items=[Item(title="Two sides", text=TWO_SIDED, date=DAY)], platform="reviews")
    results = connection.get_collection("results")
    results.update_one(
        {},
        {
            "$set": {
                "terms": ["15:battery"],
                "search": {"title": [], "text": ["battery"]},
                "analysis.sentiment.label": "positive",
            },
            "$unset": {"analysis.sentiment.sentences": ""},
        },
    )
    from scraping.services import rollups

    rollups.rebuild(connection)
    before = analytics.sentiment_analytics(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    assert before["totals"]["positive"] == 1 and before["totals"]["mixed"] == 0

    assert ingest.reindex(connection) == 1
    doc = results.find_one({})
    assert analysis.weights(doc["terms"]) == analysis.weights(analysis.index_fields("Two sides", TWO_SIDED)["terms"])
    assert "10:two" in doc["terms"] and doc["analysis"]["sentiment"]["label"] == "mixed"
    assert len(doc["analysis"]["sentiment"]["sentences"]) == 3
    after = analytics.sentiment_analytics(company=world.a, filters=selectors.ResultFilters(project=project.pk))
    assert after["totals"]["mixed"] == 1 and after["totals"]["positive"] == 0
    assert ingest.reindex(connection) == 0  # idempotent


# --- the LLM provider as a project's sentiment engine ---------------------------------------


def _ingest_llm_project(world, text=TWO_SIDED, title="Two sides"):
    project = make_project(world.a, name="Judged by the LLM", sentiment="llm")
    target = make_target(project, "http://127.0.0.1:9/llm")
    ingest.ingest(target=target, items=[Item(title=title, text=text, date=DAY)], platform="reviews")
    return Result.objects.get(target=target)


def test_the_llm_scores_each_sentence(world, llm):
    make_provider(world.a, llm)
    llm.script = [("answer", 'Sure! {"scores": [0.1, 0.9, -0.8]}')]
    sentiment = _ingest_llm_project(world).sentiment
    assert sentiment.sentences == [0.1, 0.9, -0.8] and sentiment.label == "mixed"
    assert sentiment.compound == pytest.approx(0.0667, abs=1e-4)
    assert (sentiment.positive, sentiment.neutral, sentiment.negative) == (
        pytest.approx(2 / 3, abs=1e-3),
        0.0,
        pytest.approx(1 / 3, abs=1e-3),
    )
    [request] = llm.chats
    assert request["model"] == "gpt-test"
    assert request["messages"][-1]["content"].startswith("1. Two sides.\n2. The screen is gorgeous")


def test_an_agreeing_llm_answer_gets_the_overall_label(world, llm):
    make_provider(world.a, llm)
    llm.script = [("answer", '{"scores": [-0.6, -0.9]}')]
    sentiment = _ingest_llm_project(world, text="It arrived broken.", title="Bad").sentiment
    assert sentiment.label == "negative" and sentiment.compound == -0.75


@pytest.mark.parametrize(
    "step",
    [("answer", "I think it is mostly positive."), ("answer", '{"scores": [1]}'), ("status", 500), ("status", 401)],
)
def test_a_failing_provider_falls_back_to_vader(world, llm, step):
    make_provider(world.a, llm)
    llm.fail_with = step[1] if step[0] == "status" else None
    llm.script = [step] if step[0] == "answer" else []
    sentiment = _ingest_llm_project(world).sentiment
    assert sentiment.sentences == analysis.sentiment(f"Two sides. {TWO_SIDED}").sentences
    assert sentiment.label == "mixed" and llm.chats


def test_no_active_provider_means_vader(world, llm):
    make_provider(world.a, llm, is_active=False)
    sentiment = _ingest_llm_project(world).sentiment
    assert sentiment.label == "mixed" and llm.chats == []


def test_the_engine_is_a_project_setting(api, world, llm):
    make_provider(world.a, llm)
    project = make_project(world.a, name="Settings")
    api.as_user(world.user("a", "company_admin"))
    url = f"/api/v1/scraping/projects/{project.pk}/"
    assert api.patch(url, {"config": {"sentiment": "llm"}}, format="json").json()["config"]["sentiment"] == "llm"
    bad = api.patch(url, {"config": {"sentiment": "oracle"}}, format="json")
    assert bad.status_code == 400 and "sentiment" in str(bad.json())


NO_PROVIDER = "This company has no active LLM provider with a base URL to call"


def test_the_llm_engine_needs_a_usable_provider(api, world, llm):
    """Setting "llm" (by config or by a preset's) is a 400 on the field while the company has no
    active provider with a base URL (another company's does not count); the project is unchanged."""
    make_provider(world.a, llm, is_active=False)
    make_provider(world.b, llm)
    project = make_project(world.a, name="Settings")
    api.as_user(world.user("a", "company_admin"))
    url = f"/api/v1/scraping/projects/{project.pk}/"
    refused = api.patch(url, {"config": {"sentiment": "llm"}}, format="json")
    assert refused.status_code == 400
    assert refused.json()["config"]["sentiment"][0].startswith(NO_PROVIDER)
    project.refresh_from_db()
    assert project.config.sentiment == "vader"
    created = api.post("/api/v1/scraping/projects/", {"name": "New", "config": {"sentiment": "llm"}}, format="json")
    assert created.status_code == 400 and created.json()["config"]["sentiment"][0].startswith(NO_PROVIDER)
    preset = api.post("/api/v1/scraping/presets/", {"name": "judged", "config": {"sentiment": "llm"}}, format="json")
    assert preset.status_code == 201, preset.json()
    by_preset = api.post("/api/v1/scraping/projects/", {"name": "New", "preset": "judged"}, format="json")
    assert by_preset.status_code == 400 and by_preset.json()["preset"][0].startswith(NO_PROVIDER)
    assert api.patch(url, {"config": {"sentiment": "none"}}, format="json").status_code == 200

    make_provider(world.a, llm, name="usable")
    assert api.patch(url, {"config": {"sentiment": "llm"}}, format="json").json()["config"]["sentiment"] == "llm"
    assert (
        api.post("/api/v1/scraping/projects/", {"name": "New", "preset": "judged"}, format="json").json()["config"][
            "sentiment"
        ]
        == "llm"
    )
