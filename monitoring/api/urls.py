"""The monitoring app's routes on the one router (requestdesk.api.urls)."""

from django.urls import URLPattern
from rest_framework.routers import BaseRouter

from .views import AlertRuleViewSet, AlertViewSet


def register(router: BaseRouter) -> None:
    """Viewsets under /api/v1/monitoring/."""
    router.register("monitoring/alert-rules", AlertRuleViewSet, basename="monitoring-alert-rule")
    router.register("monitoring/alerts", AlertViewSet, basename="monitoring-alert")


def urlpatterns() -> list[URLPattern]:
    """Routes that are not viewsets."""
    return []
