"""requestdesk.admin_rows: every changelist's rows are the HTML Django's admin gives them."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.test import RequestFactory

from events.services import audit
from requestdesk.admin_rows import rows
from scraping.services import ingest
from scraping.services.extraction import Item
from tests.support.scraping import make_project, make_target, site  # noqa: F401

pytestmark = pytest.mark.django_db


def _changelist(model_admin, user, params=None):
    request = RequestFactory().get("/admin/", params or {})
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    changelist.formset = None  # as changelist_view sets it when the list has no list_editable
    return changelist


def test_every_changelists_rows_are_djangos_html(world, site):  # noqa: F811
    project = make_project(world.a, name="Kettles & <Pans>")
    target = make_target(project, site.url("/products/kettle"))
    items = [
        Item(title="", text="I love it, wonderful!", date=datetime(2024, 3, 4, tzinfo=UTC)),
        Item(title="<b>Broken</b>", text="Awful and broken.", date=datetime(2024, 3, 5, 12, 0, tzinfo=UTC)),
    ]
    ingest.ingest(target=target, platform="reviews", items=items)
    audit.record(company=world.a, actor=None, source="api", event_type="x.<y>")
    audit.record(company=world.a, actor=world.user("a", "client"), source="admin", event_type="x.z")
    compared = 0
    for user in (world.user("a", "superadmin"), world.user("a", "company_admin")):
        for model, model_admin in admin.site._registry.items():
            changelist = _changelist(model_admin, user)
            ours, djangos = [list(row) for row in rows(changelist)], [list(row) for row in results(changelist)]
            assert ours == djangos, model._meta.label
            compared += len(ours)
    assert compared >= 20  # results, audit entries, companies, users, presets, pipelines...


def test_a_page_of_results_is_djangos_html_with_a_filter_and_a_link_elsewhere(world, site):  # noqa: F811
    from scraping.models import Result

    project = make_project(world.a)
    target = make_target(project, site.url("/products/kettle"))
    ingest.ingest(target=target, platform="reviews", items=[Item(title="T", text="Great.", date=None)])
    model_admin = admin.site.get_model_admin(Result)
    model_admin.list_display_links = ["platform"]  # the link on another column than the first
    try:
        changelist = _changelist(model_admin, world.user("a", "superadmin"), {"sentiment": "positive"})
        ours = [list(row) for row in rows(changelist)]
        assert ours == [list(row) for row in results(changelist)] and ours
        linked = [cell.split(">")[0] for cell in ours[0] if "<a href" in cell]
        assert linked == ['<th class="field-platform"'], ours[0]
    finally:
        del model_admin.list_display_links
