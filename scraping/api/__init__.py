"""The scraping API under /api/v1/scraping/: `register` adds its viewsets to the one router
(requestdesk.api.urls)."""

from .views import register  # noqa: F401
