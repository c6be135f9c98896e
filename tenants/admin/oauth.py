"""Admin sign-in with Google or GitHub (tenants.services.oauth): the links under the admin's login form
lead here; a staff member the provider proves is logged into an admin session, under the same
rules as the API's sign-in (found by the provider's id, else by its verified email; nobody is
created; inactive users and members of switched-off companies are refused). A refusal goes
back to the login page with the reason."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from requestdesk.admin_site import NO_ADMIN_ACCESS
from tenants.services import oauth

NEXT_KEY = "oauth_admin_next"


def _refused(request: HttpRequest, message: str) -> HttpResponseRedirect:
    messages.error(request, message)
    return redirect("admin:login")


@never_cache
def start(request: HttpRequest, provider: str) -> HttpResponse:
    next_url = request.GET.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        request.session[NEXT_KEY] = next_url
    redirect_uri = request.build_absolute_uri(reverse("admin:oauth-callback", args=[provider]))
    try:
        return oauth.begin(request, provider, redirect_uri)
    except oauth.SignInError as error:
        return _refused(request, str(error))


@never_cache
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        user = oauth.user_for(oauth.finish(request, provider))
    except oauth.SignInError as error:
        return _refused(request, str(error))
    if not user.is_staff:
        return _refused(request, NO_ADMIN_ACCESS % {"role": user.get_role_display()})
    next_url = request.session.pop(NEXT_KEY, "")
    login(request, user, backend="tenants.authentication.ActiveCompanyBackend")
    return redirect(next_url or "admin:index")


def urlpatterns() -> list[URLResolver | URLPattern]:
    from django.urls import path

    return [
        path("oauth/<str:provider>/", start, name="oauth-start"),
        path("oauth/<str:provider>/callback/", callback, name="oauth-callback"),
    ]
