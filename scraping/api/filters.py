"""Query filters of the results endpoints: the list's FilterSet (ResultFilter) and the same
parameters as the selectors' ResultFilters (result_filters), for the search and the analytics."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from requestdesk.api.filters import ObjectIdFilter

from ..models import Result, Sentiment, Target
from ..selectors.results import ResultFilters


class DayOrTimeField(filters.IsoDateTimeFilter.field_class):
    """An ISO date-time, or a date (its start, or its end for an upper bound)."""

    def __init__(self, *args, end_of_day=False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value and len(value.strip()) == 10:
            value = f"{value.strip()}T{'23:59:59.999' if self.end_of_day else '00:00:00'}+00:00"
        return super().to_python(value)


class DayOrTimeFilter(filters.IsoDateTimeFilter):
    field_class = DayOrTimeField


class ResultFilter(filters.FilterSet):
    project = ObjectIdFilter(field_name="project")
    target = ObjectIdFilter(field_name="target")
    job = ObjectIdFilter(field_name="job")
    platform = filters.ChoiceFilter(choices=[c for c in Target.PLATFORMS if c[0] != Target.AUTO])
    sentiment = filters.ChoiceFilter(field_name="analysis__sentiment__label", choices=Sentiment.LABELS)
    date_from = DayOrTimeFilter(field_name="published_at", lookup_expr="gte")
    date_to = DayOrTimeFilter(field_name="published_at", lookup_expr="lte", end_of_day=True)

    class Meta:
        model = Result
        fields = ["project", "target", "job", "platform", "sentiment", "date_from", "date_to"]


def result_filters(request, **fixed) -> ResultFilters:
    """The result filters of a request's query parameters (400 with field messages when bad)."""
    if not request.query_params.keys() & ResultFilter.base_filters.keys():
        return ResultFilters(**fixed)  # no filter asked for: no form to build
    form = ResultFilter(request.query_params, queryset=Result.objects.none()).form
    if not form.is_valid():
        raise ValidationError(form.errors)
    data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "") and k != "job"}
    return ResultFilters(**{**data, **fixed})
