"""The viewset mixin of soft-deletable models (requestdesk.soft_delete): DELETE hides the row
(204) and `POST {id}/restore/` brings it back (200 with the row; 404 for a live row or another
company's; 400 when a live row took one of its unique values). Restoring needs the role
deleting needs (`action_roles["destroy"]`, else the write role). Put it before the tenant
viewset base; both are audited."""

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from requestdesk import soft_delete

if TYPE_CHECKING:
    from tenants.api.viewsets import TenantViewSet

    class ViewSetBase(TenantViewSet):
        """The tenant viewset the mixin goes before, as far as the mixin uses it."""

        queryset: QuerySet[soft_delete.SoftDeletable]

        def get_queryset(self) -> QuerySet[Any]: ...

        def record_audit(
            self, action: str, instance: models.Model, *, changes: dict[str, Any] | None = None
        ) -> None: ...
else:
    ViewSetBase = object


class SoftDeleteViewSetMixin(ViewSetBase):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        roles = dict(getattr(cls, "action_roles", {}) or {})
        if "restore" not in roles:
            roles["restore"] = roles.get("destroy", getattr(cls, "write_role", None))
            cls.action_roles = roles

    def get_queryset(self) -> QuerySet[Any]:
        """The viewset's own reads (tenant scope, role visibility), over deleted rows when
        restoring."""
        if getattr(self, "action", None) == "restore":
            self.queryset = self.queryset.model.all_objects.deleted()
        return super().get_queryset()

    def perform_destroy(self, instance: soft_delete.SoftDeletable) -> None:
        soft_delete.soft_delete(instance)
        self.record_audit("deleted", instance, changes=soft_delete.DELETED_CHANGES)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        try:
            soft_delete.restore(instance)
        except soft_delete.RestoreConflict as exc:
            raise ValidationError(exc.message_dict) from None
        self.record_audit("restored", instance, changes=soft_delete.RESTORED_CHANGES)
        return Response(self.get_serializer(instance).data)
