"""The one DRF router: every app registers its viewsets here under /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

import content.api.urls
import events.api.urls
import knowledge.api.urls
import monitoring.api.urls
import plugins.api
import scraping.api.urls
import tenants.api.invitations
import tenants.api.oauth
import tenants.api.views

router = DefaultRouter()
tenants.api.views.register(router)
tenants.api.invitations.register(router)
events.api.urls.register(router)
content.api.urls.register(router)
knowledge.api.urls.register(router)
scraping.api.urls.register(router)
monitoring.api.urls.register(router)
plugins.api.register(router)

urlpatterns = [
    *tenants.api.views.urlpatterns(),
    *tenants.api.invitations.urlpatterns(),
    *tenants.api.oauth.urlpatterns(),
    *content.api.urls.urlpatterns(),
    *knowledge.api.urls.urlpatterns(),
    *monitoring.api.urls.urlpatterns(),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include(router.urls)),
]
