"""`manage.py migrate` on an empty database builds every collection and index, puts the
reference data in, and is repeatable; the models have no unmigrated changes.

The migrated database here is a copy of one that `manage.py migrate` took from empty (the test
template's, tests/db_template.py; tests/support/migrations.py)."""

import io

from django.core.management import call_command


def _keys(collection):
    """Indexes by key spec; of two on the same keys (a partial unique one and a plain one for
    the planner), the unique one."""
    specs = sorted(collection.index_information().values(), key=lambda spec: bool(spec.get("unique")))
    return {tuple(spec["key"]): spec for spec in specs}


def test_migrate_builds_collections_and_indexes(migrated_db):
    db = migrated_db.db
    assert {"users", "companies", "settings", "api_keys", "refresh_tokens"} <= set(db.list_collection_names())
    users = _keys(db.users)
    assert users[(("username", 1),)]["unique"] and users[(("email", 1),)]["unique"]
    assert (("company_id", 1),) in users
    assert _keys(db.settings)[(("user_id", 1),)]["unique"]
    assert _keys(db.api_keys)[(("prefix", 1),)]["unique"]
    assert [
        spec
        for spec in db.api_keys.index_information().values()
        if spec["key"] == [("prefix", 1)] and not spec.get("partialFilterExpression")
    ]  # the planner's
    assert _keys(db.refresh_tokens)[(("expires_at", 1),)]["expireAfterSeconds"] == 0
    assert "No migrations to apply" in migrated_db.migrate()


def test_reference_data_comes_from_migrations_and_is_idempotent(migrated_db, fresh_db):
    fresh_db.migrate("scraping", "0002")
    for db in (migrated_db.db, fresh_db.db):  # after every migration, and just after 0002
        presets = {p["name"]: p for p in db.presets.find({"is_system": True})}
        assert sorted(presets) == ["advanced", "budget", "enterprise", "standard", "starter"]
        assert presets["starter"]["config"]["max_pages"] == 10 and presets["starter"]["company_id"] is None
    # Run again, scraping 0002 puts a drifted value back, leaves a user preset alone and
    # duplicates nothing. (Re-run on the database migrated to it from empty: taking the
    # migrated one back to 0001 unapplied every later scraping and monitoring migration, ~10 s.)
    db = fresh_db.db
    db.presets.update_one({"name": "starter"}, {"$set": {"config.max_pages": 999}})
    db.presets.insert_one({"name": "mine", "is_system": False, "config": {}})
    for target in ("0001", "0002"):
        fresh_db.migrate("scraping", target)
    assert db.presets.count_documents({"is_system": True}) == 5
    assert db.presets.find_one({"name": "starter"})["config"]["max_pages"] == 10
    assert db.presets.count_documents({"name": "mine"}) == 1


def test_no_missing_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:  # --check exits non-zero when a model changed without its migration
        pass
    assert out.getvalue().strip() == "No changes detected", out.getvalue()


def test_no_plain_index_is_a_prefix_of_another(migrated_db):
    """Every index costs every write on the embedded server (ARCHITECTURE.md); one whose keys
    lead another's serves nothing the longer one does not. Left: Django's and django-axes'
    own tables, unique, TTL and partial indexes (each means more than its keys), an index
    beside a partial one (which the embedded server does not plan with), and a plugin's
    declared user index (plugins.checks)."""
    db = migrated_db.db
    theirs = ("auth_", "axes_", "users_groups", "users_user_permissions", "django_")
    redundant = []
    for name in db.list_collection_names():
        indexes = [spec for spec in db[name].list_indexes() if spec["name"] != "_id_"]
        for short in indexes:
            keys = list(short["key"].items())
            if name.startswith(theirs) or {"unique", "expireAfterSeconds", "partialFilterExpression"} & set(short):
                continue
            for long in indexes:
                longer = list(long["key"].items())
                if len(longer) > len(keys) and longer[: len(keys)] == keys and not long.get("partialFilterExpression"):
                    redundant.append((name, short["name"], long["name"]))
    allowed = {
        ("task_manager_tasks", "task_manager_user", "task_manager_user_due"),
        ("task_manager_tasks", "task_manager_user", "task_manager_user_status"),
    }
    assert set(redundant) - allowed == set(), redundant


def test_a_tenant_models_value_field_has_no_index_of_its_own(migrated_db):
    """A value field of a tenant model (a text or a flag) is filtered within a company, where its
    company-led indexes serve it; an index of the value alone costs every write and, for a
    tenant's filter of a common value, would read every tenant's rows of it. Only what is read
    before or across tenants keeps one: the status polls workers run (requestdesk.db.leases:
    scrape jobs, webhook deliveries, syncs), beat's enabled alert rules, an API key's prefix
    (how a key is found, before its company is known); and two whose values are many, so a
    lookup by them stays small: a delivery's event id and an audit entry's event type. Unique and
    partial indexes say more than their keys and are left out."""
    from django.apps import apps
    from django.db import models

    from tenants.scoping import TenantScoped

    db = migrated_db.db
    found = set()
    for model in apps.get_models():
        if not issubclass(model, TenantScoped) or model._meta.proxy:
            continue
        valued = {
            field.column
            for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.BooleanField)) and not field.primary_key
        }
        for spec in db[model._meta.db_table].list_indexes():
            keys = list(spec["key"])
            if len(keys) == 1 and keys[0] in valued and not {"unique", "partialFilterExpression"} & set(spec):
                found.add((model._meta.label, keys[0]))
    read_before_or_across_tenants = {
        ("scraping.ScrapeJob", "status"),
        ("events.WebhookDelivery", "status"),
        ("knowledge.SyncHistory", "status"),
        ("monitoring.AlertRule", "enabled"),
        ("tenants.ApiKey", "prefix"),
    }
    many_values = {("events.WebhookDelivery", "event_id"), ("events.AuditLog", "event_type")}
    assert found == read_before_or_across_tenants | many_values
