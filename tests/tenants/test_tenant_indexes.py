"""Tenant models carry no single-field company index; each declares indexes led by company,
and the system check names a model that does not."""

from django.apps import apps
from django.db import connection

from content.models import Context, Template
from tenants.checks import tenant_indexes
from tenants.scoping import TenantScoped


def test_every_tenant_model_has_an_index_led_by_company():
    assert tenant_indexes() == []


def test_the_check_names_a_tenant_model_without_one(monkeypatch):
    monkeypatch.setattr(Template._meta, "indexes", [])
    errors = tenant_indexes()
    assert [error.id for error in errors] == ["tenants.E001"]
    assert "content.Template" in errors[0].msg


def test_the_migrated_collections_hold_no_single_field_company_index(db):
    connection.ensure_connection()
    database = connection.database
    tenant_tables = {m._meta.db_table for m in apps.get_models() if issubclass(m, TenantScoped)}
    single = {
        (name, index["name"])
        for name in tenant_tables & set(database.list_collection_names())
        for index in database[name].list_indexes()
        if list(index["key"]) == ["company_id"]
    }
    # UserSettings has no list to order: its declared index is company alone; a company's
    # search index state is one document, unique by company.
    assert single == {("settings", "settings_company"), ("scraping_search_index", "search_index_company_uniq")}
    contexts = {index["name"] for index in database[Context._meta.db_table].list_indexes()}
    assert "ctx_company_batch_created" in contexts and not any(
        name.startswith("contexts_batch_id") for name in contexts
    )
