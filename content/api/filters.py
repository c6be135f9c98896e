"""List filters of the content API (django-filter; ids are ObjectId strings)."""

from django_filters import rest_framework as filters

from requestdesk.api.filters import ObjectIdFilter, ObjectIdFormField

from ..models import Campaign, Component, Context, Pipeline, Template, Ticket


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


class UserOrMeField(ObjectIdFormField):
    default_error_messages = {"invalid": "“%(value)s” is not a valid user id (or “me”)."}

    def to_python(self, value):
        return "me" if value == "me" else super().to_python(value)


class UserFilter(ObjectIdFilter):
    """A user's id, or `me`: the signed-in user (with an API key: the key's user)."""

    field_class = UserOrMeField

    def filter(self, queryset, value):
        if value == "me":
            value = getattr(self.parent.request.user, "pk", None)
            if value is None:
                return queryset.none()
        return super().filter(queryset, value)


class ContextFilter(filters.FilterSet):
    pipeline = ObjectIdFilter(field_name="pipeline")
    batch = ObjectIdFilter(field_name="batch")
    user = UserFilter(field_name="user", help_text="Contexts created by this user (an id, or `me`).")

    class Meta:
        model = Context
        fields = ["status", "type", "priority"]
