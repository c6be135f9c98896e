"""The monitoring app's routes on the one router (requestdesk.api.urls)."""

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from .alerts import AlertRuleViewSet, AlertViewSet
from .respond import ResultRespondViewSet


def register(router: BaseRouter) -> None:
    """Viewsets under /api/v1/monitoring/."""
    router.register("monitoring/alert-rules", AlertRuleViewSet, basename="monitoring-alert-rule")
    router.register("monitoring/alerts", AlertViewSet, basename="monitoring-alert")


def urlpatterns() -> list[URLPattern]:
    """Routes that are not viewsets: responding to a result and what was opened from it,
    beside the results' own routes."""
    return [
        path(
            "scraping/results/<pk>/respond/",
            ResultRespondViewSet.as_view({"post": "respond"}),
            name="scraping-result-respond",
        ),
        path(
            "scraping/results/<pk>/responses/",
            ResultRespondViewSet.as_view({"get": "responses"}),
            name="scraping-result-responses",
        ),
    ]
