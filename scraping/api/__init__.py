"""The scraping API under /api/v1/scraping/: `register` adds its viewsets to the one router
(requestdesk.api.urls)."""

from .urls import register  # noqa: F401
