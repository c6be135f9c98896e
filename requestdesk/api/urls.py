"""The one DRF router: every app registers its viewsets here under /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

import content.api
import events.api.urls
import knowledge.api
import plugins.api
import scraping.api
import tenants.api
import tenants.oauth_api

router = DefaultRouter()
tenants.api.register(router)
events.api.urls.register(router)
content.api.register(router)
knowledge.api.register(router)
scraping.api.register(router)
plugins.api.register(router)

urlpatterns = [
    *tenants.api.urlpatterns(),
    *tenants.oauth_api.urlpatterns(),
    *content.api.urlpatterns(),
    *knowledge.api.urlpatterns(),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include(router.urls)),
]
