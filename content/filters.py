"""List filters of the content API (django-filter; ids are ObjectId strings)."""

from django_filters import rest_framework as filters

from requestdesk.api.filters import ObjectIdFilter

from .models import Campaign, Component, Context, Pipeline, Template, Ticket


class TicketFilter(filters.FilterSet):
    assigned_to = ObjectIdFilter(field_name="assigned_to")
    agent = ObjectIdFilter(field_name="agent")
    tag = filters.CharFilter(method="filter_tag", help_text="Tickets carrying this tag.")
    due_after = filters.IsoDateTimeFilter(field_name="due_date", lookup_expr="gte")
    due_before = filters.IsoDateTimeFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = Ticket
        fields = ["status", "priority"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])


class CampaignFilter(filters.FilterSet):
    agent = ObjectIdFilter(field_name="agent")
    starts_after = filters.IsoDateTimeFilter(field_name="start_date", lookup_expr="gte")
    ends_before = filters.IsoDateTimeFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Campaign
        fields = ["status"]


class TemplateFilter(filters.FilterSet):
    tag = filters.CharFilter(field_name="metadata__tags", help_text="Templates whose metadata.tags hold this tag.")

    class Meta:
        model = Template
        fields = ["is_active"]


class ComponentFilter(filters.FilterSet):
    class Meta:
        model = Component
        fields = ["type", "is_active"]


class PipelineFilter(filters.FilterSet):
    class Meta:
        model = Pipeline
        fields = ["is_active", "default_context_type"]


class ContextFilter(filters.FilterSet):
    pipeline = ObjectIdFilter(field_name="pipeline")
    batch = ObjectIdFilter(field_name="batch")

    class Meta:
        model = Context
        fields = ["status", "type", "priority"]
