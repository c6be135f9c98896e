"""The product's URLs plus one bare view, the baseline of bench.api_bench: a plain
HttpResponse behind the same middleware, no DRF, no database."""

from django.http import HttpResponse
from django.urls import path

from requestdesk.urls import handler404
from requestdesk.urls import urlpatterns as product_urlpatterns

__all__ = ["handler404", "urlpatterns"]


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [*product_urlpatterns, path("bench/bare/", bare)]
