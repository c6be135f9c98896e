"""The monitoring app's routes on the one router (requestdesk.api.urls)."""

from django.urls import URLPattern
from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    """Viewsets under /api/v1/monitoring/."""


def urlpatterns() -> list[URLPattern]:
    """Routes that are not viewsets."""
    return []
