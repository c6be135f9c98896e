"""/api/v1/plugins/task-manager/tasks/: the caller's own tasks in the request's company."""

from django_filters import rest_framework as filters

from plugins.viewsets import PluginViewSet

from .models import Task
from .serializers import TaskSerializer


class TaskFilter(filters.FilterSet):
    tag = filters.CharFilter(method="with_tag", help_text="Tasks carrying this tag.")
    due_before = filters.IsoDateTimeFilter(field_name="due_date", lookup_expr="lt")
    due_after = filters.IsoDateTimeFilter(field_name="due_date", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["status", "priority"]

    def with_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])


class TaskViewSet(PluginViewSet):
    """The caller's tasks: filter by status, priority, tag or due date; order by due date."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    search_fields = ["title", "description"]
    ordering_fields = ["due_date", "created_at"]
