"""Version history of components, pipelines and templates: a change of the definition
records a version (other edits do not), `versions` lists them newest first, `restore-version`
makes an old definition current again as a new version (400 for an unknown version or a
definition that no longer validates, nothing changed), managers and up only, company-scoped;
the admin lists the versions and restores one chosen in "Restore version"."""

import pytest

from content.models import Component, Pipeline
from tests.support.content import (  # noqa: F401
    SECTIONS,
    article_setup,
    content_settings,
    fresh,
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


def test_a_component_config_change_is_a_version_and_restore_brings_it_back(manager, world):
    created = manager.post(
        COMPONENTS,
        {"name": "Writer", "type": "ai_generator", "config": {"model": "gpt-test", "temperature": 0.5}},
        format="json",
    ).json()
    assert created["version"] == "1.0.0" and created["history"] == []
    url = f"{COMPONENTS}{created['id']}/"
    assert manager.patch(url, {"name": "Writer 2"}, format="json").json()["version"] == "1.0.0"
    changed = manager.patch(url, {"config": {"model": "gpt-test", "temperature": 0.9}}, format="json").json()
    assert changed["version"] == "1.1.0"
    assert changed["history"][0]["version"] == "1.0.0" and changed["history"][0]["config"]["temperature"] == 0.5

    listed = manager.get(f"{url}versions/").json()
    assert [(v["version"], v["current"]) for v in listed] == [("1.1.0", True), ("1.0.0", False)]
    assert listed[1]["config"] == {"model": "gpt-test", "temperature": 0.5} and listed[1]["type"] == "ai_generator"

    restored = manager.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json")
    assert restored.status_code == 200, restored.content
    body = restored.json()
    assert body["version"] == "1.2.0" and body["config"]["temperature"] == 0.5
    assert [h["version"] for h in body["history"]] == ["1.0.0", "1.1.0"]
    stored = Component.objects.get(pk=created["id"])
    assert stored.config["temperature"] == 0.5 and stored.version == "1.2.0"


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"version": "9.9.9"}, "version", "There is no version 9.9.9; known: 1.0.0."),
        ({"version": "1.1.0"}, "version", "1.1.0 is the current version."),
        ({}, "version", "This field is required."),
    ],
)
def test_restore_of_an_unknown_version_is_a_400_and_changes_nothing(manager, world, body, field, message):
    component = make_component(world.a, "transformer", {"format": "markdown"})
    url = f"{COMPONENTS}{component.pk}/"
    manager.patch(url, {"config": {"format": "html"}}, format="json")
    response = manager.post(f"{url}restore-version/", body, format="json")
    assert response.status_code == 400 and message in response.json()[field]
    assert fresh(component).version == "1.1.0" and fresh(component).config == {"format": "html"}


def test_pipeline_steps_are_versioned_and_a_restore_that_no_longer_validates_is_refused(manager, world):
    setup = article_setup(world.a)
    url = f"{PIPELINES}{setup.pipeline.pk}/"
    before = manager.get(url).json()
    assert before["version"] == "1.0.0"
    template_step, _, transformer_step = before["components"]
    shorter = manager.patch(url, {"components": [template_step, transformer_step]}, format="json")
    assert shorter.status_code == 200, shorter.content
    assert shorter.json()["version"] == "1.1.0" and len(shorter.json()["components"]) == 2
    old = shorter.json()["history"][0]
    assert old["version"] == "1.0.0" and [s["component_id"] for s in old["components"]] == [
        str(setup.components[k].pk) for k in ("template", "ai_generator", "transformer")
    ]

    setup.components["ai_generator"].is_active = False  # the old version's middle step cannot run now
    setup.components["ai_generator"].save()
    refused = manager.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json")
    assert refused.status_code == 400
    assert any("is not active" in m for m in refused.json()["components"]), refused.json()
    assert fresh(setup.pipeline).version == "1.1.0" and len(fresh(setup.pipeline).components) == 2

    setup.components["ai_generator"].is_active = True
    setup.components["ai_generator"].save()
    restored = manager.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json").json()
    assert restored["version"] == "1.2.0" and len(restored["components"]) == 3
    pipeline = fresh(setup.pipeline)
    assert [s.component_id for s in pipeline.steps()] == [
        setup.components[k].pk for k in ("template", "ai_generator", "transformer")
    ]
    assert pipeline.steps()[1].config_overrides == {"temperature": 0.65}


def test_templates_restore_through_the_same_path(manager, world):
    template = make_template(world.a)
    url = f"{TEMPLATES}{template.pk}/"
    manager.patch(url, {"structure": {"sections": [SECTIONS[0]]}}, format="json")
    restored = manager.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json").json()
    assert restored["version"] == "1.2.0" and restored["structure"] == {"sections": SECTIONS}


def test_restore_needs_a_manager_and_another_company_sees_nothing(api, world):
    component = make_component(world.a, "transformer", {"format": "markdown"})
    component.config = {"format": "html"}
    component.save()
    url = f"{COMPONENTS}{component.pk}/"
    writer = api.as_user(world.user("a", "content_writer"))
    assert writer.get(f"{url}versions/").status_code == 200
    assert writer.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json").status_code == 403
    other = api.as_user(world.user("b", "company_admin"))
    assert other.get(f"{url}versions/").status_code == 404
    assert other.post(f"{url}restore-version/", {"version": "1.0.0"}, format="json").status_code == 404


def test_the_admin_lists_versions_and_restores_the_chosen_one(client, world):
    component = make_component(world.a, "transformer", {"format": "markdown"}, name="Formatter")
    client.force_login(world.user("a", "content_manager"))
    url = f"/admin/content/component/{component.pk}/change/"
    form = {"name": "Formatter", "type": "transformer", "description": "", "metadata": "{}", "is_active": "on"}
    changed = client.post(url, {**form, "config": '{"format": "html"}'})
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert fresh(component).version == "1.1.0"

    page = client.get(url).content.decode()
    assert "<td>1.0.0</td>" in page and "<td>1.1.0</td><td>current</td>" in page
    assert '<option value="1.0.0">1.0.0</option>' in page

    restored = client.post(url, {**form, "config": '{"format": "html"}', "restore_version": "1.0.0"})
    assert restored.status_code == 302, restored.content.decode()[:2000]
    component = fresh(component)
    assert component.config == {"format": "markdown"} and component.version == "1.2.0"
    assert [h["version"] for h in component.history] == ["1.0.0", "1.1.0"]


def test_a_pipeline_saved_in_the_admin_with_new_steps_is_a_version(client, world):
    setup = article_setup(world.a)
    client.force_login(world.user("a", "content_manager"))
    steps = setup.pipeline.steps()[:1]
    form = {
        "name": "Articles",
        "default_context_type": "article",
        "metadata": "{}",
        "is_active": "on",
        "components-TOTAL_FORMS": "1",
        "components-INITIAL_FORMS": "0",
        "components-0-component_id": str(steps[0].component_id),
        "components-0-name": steps[0].name,
        "components-0-order": "1",
        "components-0-config_overrides": f'{{"template_id": "{setup.template.pk}"}}',
    }
    response = client.post(f"/admin/content/pipeline/{setup.pipeline.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    pipeline = Pipeline.objects.get(pk=setup.pipeline.pk)
    assert pipeline.version == "1.1.0" and len(pipeline.components) == 1
    assert len(pipeline.history[0]["components"]) == 3
