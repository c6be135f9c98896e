"""Plugins: per-user plugin settings merged per plugin on PATCH, unknown plugins a
400, and the Task Manager plugin's tasks private to their user in their company."""

import pytest
from django.core import checks
from django.db import connection
from rest_framework import serializers

from events.models import AuditLog
from plugins.registry import PluginConfig, registry
from plugins.settings import effective
from plugins.task_manager.models import Task
from tenants.models import UserSettings

SETTINGS = "/api/v1/me/settings/"
TASKS = "/api/v1/plugins/task-manager/tasks/"


class NotesSettings(serializers.Serializer):
    theme = serializers.ChoiceField(choices=["light", "dark"], default="light")
    font_size = serializers.IntegerField(min_value=8, max_value=32, required=False)


@pytest.fixture
def notes_plugin():
    """A second, settings-only plugin ("notes"), installed for the test only."""
    import plugins

    config = type("NotesConfig", (PluginConfig,), {"plugin_name": "notes", "settings_serializer": NotesSettings})
    registry.register(config("plugins.notes_test", plugins))
    yield
    registry.unregister("notes")


def _patch(api, body):
    return api.patch(SETTINGS, {"plugin_settings": body}, format="json")


# --- settings ---------------------------------------------------------------------------------------


def test_patch_of_one_plugin_keeps_the_others(api, world, notes_plugin):
    user = world.user("a", "client")
    api.as_user(user)
    first = _patch(api, {"task_manager": {"default_view": "kanban", "notifications": True}})
    assert first.status_code == 200, first.content
    second = _patch(api, {"notes": {"theme": "dark"}})
    assert second.status_code == 200, second.content
    expected = {"task_manager": {"default_view": "kanban", "notifications": True}, "notes": {"theme": "dark"}}
    assert second.json()["plugin_settings"] == expected
    assert UserSettings.objects.get(user=user).plugin_settings == expected


def test_patch_merges_a_plugins_own_keys_and_null_resets_it(api, world, notes_plugin):
    user = world.user("a", "client")
    api.as_user(user)
    assert _patch(api, {"task_manager": {"default_view": "kanban"}, "notes": {"theme": "dark"}}).status_code == 200
    assert _patch(api, {"task_manager": {"notifications": False}}).status_code == 200
    stored = UserSettings.objects.get(user=user).plugin_settings
    assert stored["task_manager"] == {"default_view": "kanban", "notifications": False}
    assert _patch(api, {"notes": None}).status_code == 200
    stored = UserSettings.objects.get(user=user).plugin_settings
    assert stored == {"task_manager": {"default_view": "kanban", "notifications": False}}
    assert effective(stored, "notes") == {"theme": "light"}  # defaults are read, not stored


def test_put_replaces_all_plugin_settings(api, world, notes_plugin):
    user = world.user("a", "client")
    api.as_user(user)
    assert _patch(api, {"task_manager": {"default_view": "kanban"}, "notes": {"theme": "dark"}}).status_code == 200
    response = api.put(SETTINGS, {"plugin_settings": {"notes": {"font_size": 14}}}, format="json")
    assert response.status_code == 200, response.content
    assert UserSettings.objects.get(user=user).plugin_settings == {"notes": {"font_size": 14}}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"no_such_plugin": {"x": 1}}, "no_such_plugin"),
        ({"task_manager": {"default_view": "gantt"}}, "task_manager"),
        ({"task_manager": "kanban"}, "task_manager"),
    ],
)
def test_bad_plugin_settings_are_400_and_keep_what_was_stored(api, world, body, field):
    user = world.user("a", "client")
    api.as_user(user)
    assert _patch(api, {"task_manager": {"default_view": "kanban"}}).status_code == 200
    response = _patch(api, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["plugin_settings"]
    assert UserSettings.objects.get(user=user).plugin_settings == {"task_manager": {"default_view": "kanban"}}


def test_plugin_settings_must_be_an_object(api, world):
    api.as_user(world.user("a", "client"))
    response = _patch(api, ["task_manager"])
    assert response.status_code == 400 and "plugin_settings" in response.json()


# --- tasks ------------------------------------------------------------------------------------------


def test_task_crud(api, world):
    user = world.user("a", "content_writer")
    api.as_user(user)
    created = api.post(
        TASKS,
        {
            "title": "Review PR #42",
            "status": "in_progress",
            "priority": "high",
            "due_date": "2025-10-20T17:00:00Z",
            "tags": ["work", "urgent"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    task = Task.objects.get(pk=created.json()["id"])
    assert (task.user_id, task.company_id, task.tags) == (user.pk, world.a.pk, ["work", "urgent"])
    assert "user" not in created.json() and "company" not in created.json()

    listed = api.get(TASKS, {"status": "in_progress", "tag": "urgent"})
    assert [t["id"] for t in listed.json()["results"]] == [str(task.pk)]
    assert api.get(TASKS, {"tag": "home"}).json()["results"] == []

    patched = api.patch(f"{TASKS}{task.pk}/", {"status": "done"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "done"
    task.refresh_from_db()
    assert task.status == "done" and task.title == "Review PR #42"

    assert api.delete(f"{TASKS}{task.pk}/").status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()
    assert AuditLog.objects.filter(company=world.a, object_id=str(task.pk)).count() == 3


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x", "status": "blocked"},
        {"title": "x", "priority": "asap"},
        {"title": "x", "due_date": "tomorrow"},
        {"title": "x", "tags": "work"},
        {"title": "x", "tags": ["x" * 51]},
    ],
)
def test_bad_task_input_is_400(api, world, body):
    api.as_user(world.user("a", "client"))
    response = api.post(TASKS, body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) & set(body)
    assert not Task.objects.exists()


@pytest.mark.parametrize("owner", [("a", "client"), ("b", "content_writer")])
def test_another_users_tasks_are_not_found(api, world, owner):
    """A colleague's task (even for a company admin) and another company's task: 404, unchanged."""
    company, role = owner
    other = Task.objects.create(company=getattr(world, company), user=world.user(company, role), title="Private")
    api.as_user(world.user("a", "company_admin"))
    url = f"{TASKS}{other.pk}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"title": "hijacked"}, format="json").status_code == 404
    assert api.put(url, {"title": "hijacked"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.get(TASKS).json()["results"] == []
    other.refresh_from_db()
    assert other.title == "Private"


def test_task_collection_has_the_seed_indexes():
    indexes = connection.get_collection("task_manager_tasks").index_information()
    keys = {tuple(spec["key"]) for spec in indexes.values()}
    assert {(("user_id", 1),), (("user_id", 1), ("status", 1)), (("user_id", 1), ("due_date", 1))} <= keys


def test_plugin_collections_pass_the_system_check():
    """Task Manager follows the rules, and the check does refuse a plugin model that does not."""
    assert [e for e in checks.run_checks() if e.id.startswith("plugins.")] == []
    bad = type("BadConfig", (PluginConfig,), {"plugin_name": "tasks"})  # task_manager_tasks is not tasks_*
    config = bad("plugins.task_manager", __import__("plugins.task_manager").task_manager)
    config.apps = registry.get("task_manager").apps
    config.models = registry.get("task_manager").models
    registry.register(config)
    try:
        ids = [e.id for e in checks.run_checks() if e.id.startswith("plugins.")]
    finally:
        registry.unregister("tasks")
    assert ids == ["plugins.E002"]
