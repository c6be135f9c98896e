from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from . import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("requestdesk.api.urls")),
    path("health/", health.health, name="health"),
    path("health/db/", health.health_db, name="health-db"),
]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
