"""The scraping API under /api/v1/scraping/: views, serializers, filters, the CSV/JSON-lines
export; `urls.register` adds its viewsets to the one router (requestdesk.api.urls)."""
