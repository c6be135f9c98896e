"""requestdesk.admin_lists: a free-text field's changelist filter offers the values of the newest
rows (read by the walk), never the distinct values of a whole collection."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.contrib import admin
from django.test import RequestFactory

from events.models import AuditLog
from requestdesk.admin_lists import BoundedListAdmin, recent_values_filter

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
