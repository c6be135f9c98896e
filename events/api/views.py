"""REST endpoints for events: the company's audit log, read-only for company
admins, and the caller's own notifications. Registered on the one router by events.api.urls."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from requestdesk.api.pagination import CursorPagination
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSetMixin
from tenants.roles import Role

from ..models import AuditLog, Notification
from ..services import notifications
from .filters import AuditLogFilter
from .serializers import AuditLogSerializer, NotificationSerializer


class AuditLogViewSet(TenantReadOnlyViewSet):
    """Who did what to which object in the request's company (API, admin and tasks)."""

    queryset = AuditLog.objects.all()
    pagination_class = CursorPagination
    serializer_class = AuditLogSerializer
    read_role = Role.COMPANY_ADMIN
    write_role = Role.COMPANY_ADMIN
    filterset_class = AuditLogFilter
    search_fields = ["event_type", "actor_repr", "object_repr"]
    ordering_fields = ["created_at"]


class NotificationViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own notifications in the request's company: list, read, dismiss (DELETE).
    They are created by the system (a webhook disabled, a sync failed, ...), never through the API."""

    queryset = Notification.objects.all()
    pagination_class = CursorPagination
    serializer_class = NotificationSerializer
    read_role = Role.CLIENT
    write_role = Role.CLIENT
    audited = False
    filterset_fields = ["read", "type"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return super().get_queryset().filter(user=self.request.user)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return Response(self.get_serializer(notifications.mark_read(notification=self.get_object())).data)

    @extend_schema(
        request=None, responses=inline_serializer("NotificationsUpdated", {"updated": serializers.IntegerField()})
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"updated": notifications.mark_all_read(user=request.user, company=self.company)})

    @extend_schema(responses=inline_serializer("NotificationsUnread", {"unread": serializers.IntegerField()}))
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": self.get_queryset().filter(read=False).count()})
