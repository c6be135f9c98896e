"""Admin of results (read-only): platform and sentiment filters, and the search box runs the
weighted word search."""

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.utils.html import format_html, format_html_join

from tenants.admin.base import ReadOnlyTenantAdmin, is_superadmin

from ..models import Result, Sentiment, Target
from ..selectors import search
from ..services import ingest


class SentimentFilter(admin.SimpleListFilter):
    title = "sentiment"
    parameter_name = "sentiment"

    def lookups(self, request, model_admin):
        return Sentiment.LABELS

    def queryset(self, request, queryset):
        return queryset.filter(analysis__sentiment__label=self.value()) if self.value() else queryset


class PlatformFilter(admin.SimpleListFilter):
    """The platforms a result can have, from the model (Django's own filter for a field reads
    the distinct values of every result)."""

    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in Target.PLATFORMS if value != Target.AUTO]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


@admin.register(Result)
class ResultAdmin(ReadOnlyTenantAdmin):
    list_display = ["__str__", "platform", "label", "compound", "published_at", "project", "target"]
    list_filter = [PlatformFilter, SentimentFilter]
    fields = [
        "project",
        "target",
        "job",
        "company",
        "platform",
        "published_at",
        "content_table",
        "sentiment_scores",
        "content_hash",
        "created_at",
        "changed_at",
        "change_count",
    ]
    readonly_fields = fields

    search_fields = ["content__title"]  # shows the search box; get_search_results does the search
    search_help_text = "Words of the title or text, as the API's search finds them (the best 100, newest first)."
    SEARCH_LIMIT = 100

    def get_queryset(self, request):
        return super().get_queryset(request).defer("terms", "search")

    def delete_model(self, request, obj):
        ingest.delete_results(Result.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        ingest.delete_results(queryset)

    def get_search_results(self, request, queryset, search_term):
        """The weighted word search (scraping.selectors.search) of the staff member's company,
        or of the company chosen in the filter (a superadmin): its best results, by id."""
        if not search_term.strip():
            return queryset, False
        company = request.GET.get("company__id__exact") if is_superadmin(request) else request.user.company_id
        if not company:
            messages.info(request, "Choose a company in the filter to search its results.")
            return queryset.none(), False
        try:
            found = search.search(company=company, query=search_term)
        except ValueError as exc:
            messages.warning(request, str(exc))
            return queryset.none(), False
        return queryset.filter(pk__in=[result.pk for result in found[: self.SEARCH_LIMIT]]), False

    @admin.display(description="sentiment")
    def label(self, obj):
        return obj.sentiment.label if obj.sentiment else "-"

    @admin.display(description="compound")
    def compound(self, obj):
        return obj.sentiment.compound if obj.sentiment else "-"

    @admin.display(description="content")
    def content_table(self, obj):
        """What was extracted (an embedded document: the admin alone would print its repr)."""
        content = obj.content
        rows = [(name, getattr(content, name)) for name in ("title", "text", "author", "date", "url", "rating")]
        return format_html(
            '<table class="result-content">{}</table>',
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td></tr>",
                ((name, display_for_value(value, "-")) for name, value in rows if value not in ("", None)),
            ),
        )

    @admin.display(description="sentiment")
    def sentiment_scores(self, obj):
        sentiment = obj.sentiment
        if not sentiment:
            return "-"
        return (
            f"{sentiment.label} (compound {sentiment.compound}; positive {sentiment.positive}, "
            f"neutral {sentiment.neutral}, negative {sentiment.negative})"
        )
