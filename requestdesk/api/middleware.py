"""The API answers JSON, its 404s included."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"


class JSONNotFoundMiddleware:
    """A 404 under /api/ that is not JSON already becomes `{"detail": "Not found."}`: an
    unknown route gets Django's own page, which is HTML (and in DEBUG lists every route),
    whatever `handler404` says. Listed before CommonMiddleware, it sees that middleware's
    APPEND_SLASH redirect rather than the 404 it replaces, so `/api/v1/users` still
    redirects to `/api/v1/users/`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response
