"""Company plans and quotas: the plan's defaults and the company's settings over
them, enforced on context and batch creation with 4xx answers that name the limit; the
plan and settings shown to members, changed by superadmins only (API and admin)."""

import threading

import pytest

from content.models import Batch, Context
from tenants.models import Company
from tenants.services import plans
from tests.support.content import article_setup, content_settings, make_agent, queued  # noqa: F401

pytestmark = pytest.mark.django_db
CONTEXTS, BATCHES = "/api/v1/content/contexts/", "/api/v1/content/batches/"


def _plan(company, plan="standard", **settings):
    Company.objects.filter(pk=company.pk).update(plan=plan, settings=settings)
    company.refresh_from_db()
    return company


def _batch(setup, count, **fields):
    return {
        "pipeline": str(setup.pipeline.pk),
        "contexts": [{"data": {"title": f"T{n}"}} for n in range(count)],
        **fields,
    }


def test_existing_companies_default_to_enterprise_with_the_platforms_limits(world, settings):
    quota = plans.quotas(world.a)
    assert world.a.plan == "enterprise" and quota.max_contexts_per_day is None
    assert quota.batch_limit() == settings.CONTENT_MAX_BATCH_SIZE and quota.allows_model("anything")


def test_settings_override_the_plans_defaults(world):
    quota = plans.quotas(_plan(world.a, "free", max_batch_size=3, custom="kept"))
    assert (quota.plan, quota.max_batch_size, quota.max_contexts_per_day) == ("free", 3, 100)


def test_a_batch_over_max_batch_size_is_a_400_and_stores_nothing(api, world, queued):
    setup = article_setup(_plan(world.a, "free"))  # free: 10 per batch
    api.as_user(world.user("a", "content_manager"))
    refused = api.post(BATCHES, _batch(setup, 11), format="json")
    assert refused.status_code == 400, refused.content
    assert "max_batch_size" in refused.json()["contexts"][0] and "10" in refused.json()["contexts"][0]
    assert Batch.objects.count() == 0 and Context.objects.count() == 0 and plans.used_today(world.a) == 0
    assert api.post(BATCHES, _batch(setup, 10), format="json").status_code == 202
    assert plans.used_today(world.a) == 10


def test_contexts_over_max_contexts_per_day_are_a_429_naming_the_limit(api, world, queued):
    setup = article_setup(_plan(world.a, "standard", max_contexts_per_day=5))
    api.as_user(world.user("a", "content_writer"))
    item = {"pipeline": str(setup.pipeline.pk), "data": {"title": "T"}}
    assert api.post(CONTEXTS, [item] * 4, format="json").status_code == 202
    over = api.post(CONTEXTS, [item] * 2, format="json")
    assert over.status_code == 429 and "max_contexts_per_day" in over.json()["detail"] and "5" in over.json()["detail"]
    assert api.post(BATCHES, _batch(setup, 2), format="json").status_code == 429
    assert Context.objects.count() == 4 and plans.used_today(world.a) == 4
    assert api.post(CONTEXTS, item, format="json").status_code == 202  # the last one still fits
    assert api.post(CONTEXTS, item, format="json").status_code == 429
    # Another company's quota is its own.
    other = article_setup(world.b)
    api.as_user(world.user("b", "content_writer"))
    assert api.post(CONTEXTS, {"pipeline": str(other.pipeline.pk), "data": {}}, format="json").status_code == 202


def test_racing_requests_never_exceed_the_daily_quota(world):
    company = _plan(world.a, "standard", max_contexts_per_day=20)
    granted, barrier = [], threading.Barrier(8)

    def take():
        barrier.wait()
        for _ in range(5):
            try:
                plans.reserve(company, 1)
                granted.append(1)
            except plans.QuotaExceeded:
                pass

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 20 and plans.used_today(company) == 20


def test_a_model_not_in_allowed_models_is_a_400(api, world, queued):
    setup = article_setup(_plan(world.a, "standard", allowed_models=["gpt-4"]))  # its generator asks gpt-test
    api.as_user(world.user("a", "content_manager"))
    refused = api.post(CONTEXTS, {"pipeline": str(setup.pipeline.pk), "data": {}}, format="json")
    assert refused.status_code == 400 and "gpt-test" in refused.json()["pipeline"][0]
    assert api.post(BATCHES, _batch(setup, 2), format="json").status_code == 400
    _plan(world.a, "standard", allowed_models=["gpt-4", "gpt-test"])
    agent = make_agent(world.a, None)  # its model: gpt-agent
    by_agent = api.post(
        CONTEXTS, {"pipeline": str(setup.pipeline.pk), "agent": str(agent.pk), "data": {}}, format="json"
    )
    assert by_agent.status_code == 400 and "gpt-agent" in by_agent.json()["agent"][0]
    assert api.post(CONTEXTS, {"pipeline": str(setup.pipeline.pk), "data": {}}, format="json").status_code == 202
    assert Context.objects.count() == 1 and plans.used_today(world.a) == 1


def test_the_default_pipeline_is_used_when_none_is_given(api, world, queued):
    setup = article_setup(world.a)
    api.as_user(world.user("a", "content_writer"))
    missing = api.post(CONTEXTS, {"data": {"title": "T"}}, format="json")
    assert missing.status_code == 400 and "default_pipeline_id" in missing.json()["pipeline"][0]
    _plan(world.a, "enterprise", default_pipeline_id=str(setup.pipeline.pk))
    created = api.post(CONTEXTS, {"data": {"title": "T"}}, format="json")
    assert created.status_code == 202, created.content
    assert Context.objects.get(pk=created.json()["id"]).pipeline_id == setup.pipeline.pk
    batch = api.post(BATCHES, {"contexts": [{"data": {}}]}, format="json")
    assert batch.status_code == 202 and Batch.objects.get().pipeline_id == setup.pipeline.pk


def test_plan_and_settings_are_read_only_to_company_admins(api, world):
    url = f"/api/v1/companies/{world.a.pk}/"
    api.as_user(world.user("a", "company_admin"))
    shown = api.get(url).json()
    assert shown["plan"] == "enterprise" and shown["quotas"]["max_contexts_per_day"] is None
    refused = api.patch(url, {"plan": "free"}, format="json")
    assert refused.status_code == 400 and "superadmin" in refused.json()["plan"][0]
    refused = api.patch(url, {"settings": {"max_batch_size": 500}}, format="json")
    assert refused.status_code == 400 and "superadmin" in refused.json()["settings"][0]
    assert api.patch(url, {"domain": "a.example"}, format="json").status_code == 200  # the rest stays theirs
    world.a.refresh_from_db()
    assert world.a.plan == "enterprise" and world.a.settings == {}


def test_superadmins_change_plan_and_settings_with_checked_values(api, world):
    url = f"/api/v1/companies/{world.a.pk}/"
    api.as_user(world.user("a", "superadmin"))
    bad = api.patch(
        url,
        {"plan": "gold", "settings": {"max_batch_size": 0, "allowed_models": "gpt-4", "default_pipeline_id": "nope"}},
        format="json",
    )
    assert bad.status_code == 400 and set(bad.json()) == {"plan", "settings"} and len(bad.json()["settings"]) == 3
    changed = api.patch(
        url, {"plan": "free", "settings": {"max_batch_size": 5, "allowed_models": ["gpt-4"]}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["quotas"] == {
        "max_contexts_per_day": 100,
        "max_batch_size": 5,
        "allowed_models": ["gpt-4"],
        "default_pipeline_id": None,
    }


def test_the_admin_lets_only_superadmins_edit_the_plan(client, world):
    url = f"/admin/tenants/company/{world.a.pk}/change/"
    client.force_login(world.user("a", "company_admin"))
    page = client.get(url)
    if page.status_code == 200:  # company admins may see their company: plan shown, not editable
        assert 'name="plan"' not in page.content.decode()
    else:
        assert page.status_code in (302, 403)
    client.force_login(world.user("a", "superadmin"))
    page = client.get(url).content.decode()
    assert 'name="plan"' in page and 'name="settings"' in page


def test_a_bad_stored_setting_falls_back_to_the_plan_and_the_admin_form_refuses_one(world):
    company = _plan(world.a, "free", max_batch_size="lots", allowed_models=["gpt-4"])
    assert plans.quotas(company).max_batch_size == 10 and plans.quotas(company).allowed_models == ("gpt-4",)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert "max_batch_size" in refused.value.message_dict["settings"][0]


def test_the_migration_matches_the_models():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "tenants", "--check", "--dry-run", stdout=out)  # SystemExit when one is missing
    assert "No changes detected" in out.getvalue()
