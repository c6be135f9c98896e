"""Admin of the results search index's state, one row per company (read-only): whether the
search reads it or walks the results, what waits for the upkeep, and "Rebuild", which has the
next upkeep build it again from the stored results (scraping.services.search_index)."""

from django.conf import settings
from django.contrib import admin

from tenants.admin.base import ReadOnlyTenantAdmin, record_audit

from ..models import SearchIndex
from ..services import search_index


def state(index: SearchIndex) -> str:
    """What the search does with the company's index now (search_index.stale and usable, as
    the search asks them), in the words of its readers."""
    asked = {"built": index.built, "changes": index.changes, "batches": index.batches}
    if search_index.stale(asked):
        return "stale: searches walk the results until the upkeep rebuilds it"
    if not search_index.usable(asked):
        return f"behind: {index.batches} batches wait for the upkeep's fold; searches walk the results"
    return "current"


@admin.register(SearchIndex)
class SearchIndexAdmin(ReadOnlyTenantAdmin):
    list_display = ["company", "index_state", "batches", "segments", "superseded", "version", "updated_at"]
    fields = [
        "company",
        "index_state",
        "changes",
        "built",
        "superseded",
        "segments",
        "batches",
        "version",
        "lease_until",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["rebuild"]

    def has_delete_permission(self, request, obj=None):
        return False  # the state is the index's own bookkeeping: "Rebuild" is the way to start over

    @admin.display(description="state")
    def index_state(self, obj):
        return state(obj)

    @admin.action(description="Rebuild from the stored results at the next upkeep")
    def rebuild(self, request, queryset):
        indexes = list(queryset)
        for index in indexes:
            search_index.invalidate(index.company_id)
            record_audit(request, index, "rebuild")
        self.message_user(
            request,
            f"{len(indexes)} index(es) marked stale: the upkeep rebuilds them within "
            f"{settings.SCRAPING_SEARCH_INDEX_SECONDS:g} s; searches walk the results until then.",
        )
