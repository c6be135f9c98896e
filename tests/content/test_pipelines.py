"""Templates, components and pipelines through the API: structures and configs validated
(word ranges, unique section ids, component configs), pipelines refused with clear field
messages for unknown, foreign, inactive or misconfigured components and bad templates;
template versions and history. Nothing invalid is stored."""

import pytest

from content.models import Component, Pipeline, Template
from tests.support.content import (  # noqa: F401
    SECTIONS,
    article_setup,
    content_settings,
    make_component,
    make_template,
    queued,
)

pytestmark = pytest.mark.django_db
TEMPLATES, COMPONENTS, PIPELINES = (
    "/api/v1/content/templates/",
    "/api/v1/content/components/",
    "/api/v1/content/pipelines/",
)


@pytest.fixture
def manager(api, world):
    return api.as_user(world.user("a", "content_manager"))


def _section(**fields):
    return {"id": "intro", "type": "text", "name": "Intro", "instructions": "Say hi", "word_range": [10, 20], **fields}


@pytest.mark.parametrize(
    "sections, message",
    [
        ([_section(word_range=[0, 20])], "sections[0].word_range: the minimum must be positive."),
        ([_section(word_range=[-5, 20])], "sections[0].word_range: the minimum must be positive."),
        (
            [_section(word_range=[300, 150])],
            "sections[0].word_range: the minimum (300) is greater than the maximum (150).",
        ),
        ([_section(word_range=[10])], "sections[0].word_range: must be two whole numbers [min, max]."),
        ([_section(), _section()], "sections[1].id: “intro” is used by another section; ids must be unique."),
        ([_section(id="Has Spaces")], "sections[0].id: required; lowercase letters, digits, “_” or “-” (at most 64)."),
        ([_section(type="video")], "sections[0].type: “video” is not one of text, sections."),
        (
            [_section(type="sections", min_sections=3, max_sections=2, section_template={"word_range": [1, 2]})],
            "sections[0]: min_sections and max_sections must be whole numbers with 1 <= min_sections <= max_sections.",
        ),
        (
            [_section(type="sections", min_sections=1, max_sections=2)],
            "sections[0].section_template: required for a section of type “sections”.",
        ),
        ([], "sections: at least one section is required."),
    ],
)
def test_bad_template_structures_are_refused(manager, sections, message):
    response = manager.post(TEMPLATES, {"name": "T", "structure": {"sections": sections}}, format="json")
    assert response.status_code == 400
    assert message in response.json()["structure"]
    assert Template.objects.count() == 0


def test_template_versions_and_history(manager, world):
    created = manager.post(
        TEMPLATES,
        {"name": "Article", "structure": {"sections": SECTIONS}, "metadata": {"tags": ["tech", "tech", "article"]}},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["version"] == "1.0.0" and body["history"] == [] and body["metadata"]["tags"] == ["tech", "article"]
    url = f"{TEMPLATES}{body['id']}/"
    renamed = manager.patch(url, {"name": "Article v2"}, format="json").json()
    assert renamed["version"] == "1.0.0"
    shorter = {"sections": [_section()]}
    changed = manager.patch(url, {"structure": shorter}, format="json").json()
    assert changed["version"] == "1.1.0" and changed["history"][0]["version"] == "1.0.0"
    assert changed["history"][0]["structure"] == {"sections": SECTIONS}
    explicit = manager.patch(
        url, {"structure": {"sections": [_section(id="x")]}, "version": "2.0.0"}, format="json"
    ).json()
    assert explicit["version"] == "2.0.0" and [h["version"] for h in explicit["history"]] == ["1.0.0", "1.1.0"]
    older = manager.patch(url, {"version": "1.9.9"}, format="json")
    assert older.status_code == 400 and older.json() == {"version": ["Must be greater than the current version 2.0.0."]}
    assert manager.patch(url, {"version": "two"}, format="json").json() == {
        "version": ["Use MAJOR.MINOR.PATCH, like 1.3.0."]
    }
    assert manager.get(f"{TEMPLATES}?tag=tech").json()["count"] == 1
    assert manager.get(f"{TEMPLATES}?tag=news").json()["count"] == 0


@pytest.mark.parametrize(
    "kind, config, message",
    [
        ("ai_generator", {"temperature": 3}, "temperature: must be a number between 0 and 2."),
        ("ai_generator", {"max_tokens": 0}, "max_tokens: must be a whole number between 1 and 128000."),
        ("ai_generator", {"stop_sequences": "\n"}, "stop_sequences: a list of at most 4 non-empty strings."),
        (
            "ai_generator",
            {"provider_id": "64b000000000000000000000"},
            "provider_id: no LLM provider “64b000000000000000000000” in this company.",
        ),
        ("transformer", {"format": "pdf"}, "format: one of markdown, html."),
        ("transformer", {"add_table_of_contents": "yes"}, "add_table_of_contents: true or false."),
        ("template", {"template_id": "nope"}, "No template “nope” in this company."),
    ],
)
def test_bad_component_configs_are_refused(manager, kind, config, message):
    response = manager.post(COMPONENTS, {"name": "c", "type": kind, "config": config}, format="json")
    assert response.status_code == 400 and response.json() == {"config": [message]}
    assert not Component.objects.filter(name="c").exists()


def test_unknown_component_type_is_refused(manager):
    response = manager.post(COMPONENTS, {"name": "c", "type": "summarizer", "config": {}}, format="json")
    assert response.status_code == 400 and "type" in response.json()


def _step(component, **overrides):
    return {"component_id": str(component.pk), "name": component.name, "config_overrides": overrides}


def test_a_valid_pipeline_is_stored_in_order(manager, world):
    setup = article_setup(world.a)
    c = setup.components
    response = manager.post(
        PIPELINES,
        {
            "name": "Articles",
            "components": [
                _step(c["template"], template_id=str(setup.template.pk)),
                _step(c["ai_generator"], temperature=0.2),
                _step(c["transformer"], add_table_of_contents=True),
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    steps = response.json()["components"]
    assert [s["order"] for s in steps] == [1, 2, 3] and steps[1]["config_overrides"] == {"temperature": 0.2}
    assert response.json()["created_by"] == str(world.user("a", "content_manager").pk)


def test_invalid_pipelines_are_refused_with_clear_messages(manager, world):
    setup = article_setup(world.a)
    foreign = make_component(world.b, "transformer", name="B's transformer")
    inactive = make_component(world.a, "transformer", name="old", is_active=False)
    broken = make_template(world.a, name="Broken")
    Template.objects.filter(pk=broken.pk).update(structure={"sections": [_section(word_range=[9, 1])]})
    before = Pipeline.objects.count()
    c = setup.components

    def refused(steps):
        response = manager.post(PIPELINES, {"name": "P", "components": steps}, format="json")
        assert response.status_code == 400, response.content
        return response.json()["components"]

    unknown = "64b000000000000000000000"
    assert refused([{"component_id": unknown, "name": "ghost"}]) == [f"Step 1 “ghost”: unknown component “{unknown}”."]
    assert refused([_step(foreign)]) == [f"Step 1 “B's transformer”: unknown component “{foreign.pk}”."]
    assert refused([_step(inactive)]) == ["Step 1 “old”: the component “old” is not active."]
    assert refused([_step(c["template"])]) == [
        "Step 1 “template component” (template component): A template component needs a template_id."
    ]
    assert refused([_step(c["template"], template_id=str(broken.pk))]) == [
        "Step 1 “template component” (template component): The template “Broken” is invalid: "
        "sections[0].word_range: the minimum (9) is greater than the maximum (1)."
    ]
    assert refused([_step(c["ai_generator"], temperature=-1)]) == [
        "Step 1 “ai_generator component” (ai_generator component): temperature: must be a number between 0 and 2."
    ]
    assert refused([]) == ["A pipeline needs at least one component."]
    malformed = manager.post(PIPELINES, {"name": "P", "components": [{"component_id": "zzz"}]}, format="json")
    assert malformed.status_code == 400 and "components" in malformed.json()
    assert Pipeline.objects.count() == before


def test_a_pipeline_update_is_validated_too(manager, world):
    setup = article_setup(world.a)
    url = f"{PIPELINES}{setup.pipeline.pk}/"
    response = manager.patch(url, {"components": [_step(setup.components["template"])]}, format="json")
    assert response.status_code == 400
    assert len(Pipeline.objects.get(pk=setup.pipeline.pk).components) == 3


def test_writers_read_but_do_not_write_definitions(api, world):
    setup = article_setup(world.a)
    api.as_user(world.user("a", "content_writer"))
    assert api.get(f"{PIPELINES}{setup.pipeline.pk}/").status_code == 200
    assert api.get(f"{COMPONENTS}?type=transformer").json()["count"] == 1
    assert api.patch(f"{TEMPLATES}{setup.template.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api.post(COMPONENTS, {"name": "c", "type": "transformer"}, format="json").status_code == 403


def test_demo_content_is_valid_and_idempotent(world):
    from content import seed
    from content.models import Campaign, Ticket
    from content.services import pipelines

    for _ in range(2):
        seed.seed(companies=[world.a], progress=lambda *args: None)
    seeded = list(Pipeline.objects.filter(company=world.a))
    # And the reference pipeline every company gets (monitoring.services.sentiment_report).
    names = ["Article Brief Pipeline", "Article Generation Pipeline", "Sentiment report"]
    assert sorted(p.name for p in seeded) == names
    for pipeline in seeded:
        assert pipelines.validate_steps(company=world.a, steps=pipeline.steps()) == []
    assert Component.objects.filter(company=world.a).count() == 3 + 2 and Campaign.objects.count() == 1
    assert sorted(Ticket.objects.values_list("status", flat=True)) == sorted(
        ["open", "in_progress", "review", "completed", "closed"]
    )
    assert set(Ticket.objects.values_list("assigned_to", flat=True)) == {world.user("a", "content_writer").pk}
