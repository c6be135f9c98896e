"""requestdesk.admin_lists: a free-text field's changelist filter offers the values of the newest
rows (read by the walk), never the distinct values of a whole collection."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from events.models import AuditLog
from requestdesk.admin_lists import BoundedListAdmin, recent_values_filter
from tests.support.round_trips import round_trips  # noqa: F401

pytestmark = pytest.mark.django_db


def _entries(company, types_by_age):
    now = datetime.now(UTC)
    for age, event_type in enumerate(types_by_age):
        entry = AuditLog.objects.create(company=company, event_type=event_type, object_repr=str(age))
        AuditLog.objects.filter(pk=entry.pk).update(created_at=now - timedelta(hours=age))


def _filter(params, rows):
    request = RequestFactory().get("/", params)
    model_admin = admin.ModelAdmin(AuditLog, admin.site)
    cls = recent_values_filter("event_type", rows=rows)
    return cls(request, {k: [v] for k, v in params.items()}, AuditLog, model_admin), request, model_admin


def test_the_filter_lists_the_newest_rows_values_and_filters_by_one(world):
    _entries(world.a, ["a.new", "b.new", "a.new", "b.new", "a.new"] + ["z.old"] * 5)
    found, request, model_admin = _filter({}, rows=5)
    assert found.lookups(request, model_admin) == [("a.new", "a.new"), ("b.new", "b.new")]
    chosen, request, model_admin = _filter({"event_type": "z.old"}, rows=5)
    assert ("z.old", "z.old") in chosen.lookups(request, model_admin)  # the chosen value stays listed
    assert {e.event_type for e in chosen.queryset(request, AuditLog.objects.all())} == {"z.old"}
    assert found.title == "event type"


def test_the_row_checkbox_is_djangos_html(world):
    entry = AuditLog.objects.create(company=world.a, event_type="a.<b>", object_repr="<script>x</script>")
    ours = BoundedListAdmin(AuditLog, admin.site).action_checkbox(entry)
    assert ours == admin.ModelAdmin(AuditLog, admin.site).action_checkbox(entry)
    assert f'value="{entry.pk}"' in ours and "<script>" not in ours


def test_a_rows_link_is_djangos_url_without_a_reverse_per_row(world, rf, monkeypatch):
    from django.contrib.admin.views.main import ChangeList

    from requestdesk import admin_lists

    entry = AuditLog.objects.create(company=world.a, event_type="a.b", object_repr="x")
    request = rf.get("/admin/events/auditlog/")
    request.user = world.user("a", "superadmin")
    changelist = admin.site.get_model_admin(AuditLog).get_changelist_instance(request)
    assert isinstance(changelist, admin_lists.BoundedChangeList)
    odd = AuditLog(pk="a/b c_d%e")  # quoted by the admin, then percent-encoded by reverse()
    expected = [ChangeList.url_for_result(changelist, row) for row in (entry, odd)]
    reversed_ = []
    monkeypatch.setattr(admin_lists, "reverse", lambda *a, **k: reversed_.append(a) or reverse(*a, **k))
    assert [changelist.url_for_result(row) for row in (entry, entry, odd)] == [expected[0], *expected]
    assert expected[0] == f"/admin/events/auditlog/{entry.pk}/change/"
    assert len(reversed_) == 1  # once per changelist; the odd id goes through Django's own


def test_the_action_form_is_djangos_html_rendered_once(monkeypatch):
    from django.contrib.admin import helpers
    from django.forms.renderers import DjangoTemplates

    from requestdesk.admin_lists import KeptActionForm

    def rendered(form_class, choices):
        form = form_class(auto_id=None)
        form.fields["action"].choices = choices
        return [str(field) for field in form], [str(field.label) for field in form]

    choices = [("", "---------"), ("delete_selected", "Delete selected <rows>")]
    assert rendered(KeptActionForm, choices) == rendered(helpers.ActionForm, choices)
    templates = []
    real = DjangoTemplates.render
    monkeypatch.setattr(DjangoTemplates, "render", lambda self, *a, **k: templates.append(a[0]) or real(self, *a, **k))
    again = rendered(KeptActionForm, choices)
    assert templates == [] and "Delete selected &lt;rows&gt;" in again[0][0]
    other, _labels = rendered(KeptActionForm, [*choices, ("archive", "Archive")])
    assert 'value="archive"' in other[0] and templates  # other choices: rendered anew


def test_a_list_paged_by_date_windows_sorts_by_its_date_columns_only(world, client):
    from events.admin import AuditLogAdmin

    _entries(world.a, ["b.second", "a.first"])
    client.force_login(world.user("a", "superadmin"))
    page = client.get("/admin/events/auditlog/")
    assert list(page.context["cl"].sortable_by) == ["created_at"]
    assert page.content.decode().count('class="sortable') == 1
    event_type = ["action_checkbox", *AuditLogAdmin.list_display].index("event_type")
    crafted = client.get("/admin/events/auditlog/", {"o": str(event_type)})  # would sort every entry
    assert [entry.event_type for entry in crafted.context["cl"].result_list] == ["b.second", "a.first"]
    projects = client.get("/admin/scraping/project/").context["cl"]
    assert "name" in projects.sortable_by  # a list ordered otherwise (by name) sorts as Django's do


def test_the_filters_values_are_kept_until_one_of_its_rows_is_saved(world, settings, round_trips):  # noqa: F811
    from requestdesk import admin_lists

    settings.ADMIN_RELATED_SECONDS = 30
    admin_lists._related.clear()
    _entries(world.a, ["a.new", "b.new"])
    found, request, model_admin = _filter({}, rows=5)
    assert found.lookups(request, model_admin) == [("a.new", "a.new"), ("b.new", "b.new")]
    with round_trips() as seen:
        assert found.lookups(request, model_admin) == [("a.new", "a.new"), ("b.new", "b.new")]
    assert not seen.commands  # kept: the next page reads no rows for its filter
    AuditLog.objects.create(company=world.a, event_type="c.newest", object_repr="x")  # saved in this process
    assert ("c.newest", "c.newest") in found.lookups(request, model_admin)
