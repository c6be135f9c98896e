"""API sign-in with Google or GitHub (tenants.services.oauth), and unlinking a provider.

GET auth/oauth/<provider>/ redirects the browser to the provider; the provider sends it back to
GET auth/oauth/<provider>/callback/, which answers the same JSON token pair as the password
sign-in (auth/token/). The state, PKCE verifier and nonce live in the browser's session
between the two, so both requests must come from the same browser."""

from typing import NoReturn, cast

from django.contrib.auth import user_logged_in
from django.http import HttpResponse
from django.urls import URLPattern, reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import services
from tenants.models import User
from tenants.services import oauth

from .serializers import TokenPairSerializer
from .views import AuthView

_ERROR = inline_serializer("SignInError", {"detail": serializers.CharField()})
NOT_CONFIGURED = OpenApiResponse(_ERROR, description="The provider is not configured (no client id and secret).")
UNREACHABLE = OpenApiResponse(_ERROR, description="The provider could not be reached, or answered oddly.")
LINKED_MEANWHILE = OpenApiResponse(
    _ERROR, description="The account or the provider's id was linked by another sign-in at the same moment."
)


def raise_for(error: oauth.SignInError) -> NoReturn:
    """The DRF exception answering a refused sign-in: 400 names the field at fault."""
    message = str(error)
    if error.status == 400:
        raise ValidationError({error.field or "non_field_errors": [message]})
    if error.status == 403:
        raise PermissionDenied(message)
    if error.status == 404:
        raise NotFound(message)
    exc = APIException(message)
    exc.status_code = error.status
    raise exc


class OAuthStartView(AuthView):
    """Start signing in with the provider (Google, GitHub): a redirect to its sign-in page.
    404 when the provider is not configured."""

    @extend_schema(
        responses={
            302: OpenApiResponse(description="To the provider's authorization page."),
            404: NOT_CONFIGURED,
            502: UNREACHABLE,
        }
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        redirect_uri = request.build_absolute_uri(reverse(f"oauth-callback-{provider}"))
        try:
            return oauth.begin(request._request, provider, redirect_uri)
        except oauth.SignInError as error:
            raise_for(error)


class OAuthCallbackView(AuthView):
    """Where the provider sends the browser back (code and state): the user is found by the
    provider's id, else by its verified email (the id is linked then), and signed in. 400 for
    a missing, unknown or used state or a refused code; 403 for a person without an account
    here (no account is created: a company invites people), an inactive user or a member of a
    switched-off company."""

    @extend_schema(
        responses={200: TokenPairSerializer, 404: NOT_CONFIGURED, 409: LINKED_MEANWHILE, 502: UNREACHABLE},
        parameters=[
            OpenApiParameter("code", str, description="The authorization code the provider sent."),
            OpenApiParameter("state", str, description="The state the sign-in started with."),
        ],
    )
    def get(self, request: Request, provider: str) -> Response:
        try:
            identity = oauth.finish(request._request, provider)
            user = oauth.user_for(identity)
        except oauth.SignInError as error:
            raise_for(error)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(services.issue_tokens(user))


class OAuthUnlinkView(APIView):
    """Unlink a provider from the caller's account (they may link it again by signing in with it)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, provider: str) -> Response:
        oauth.unlink(cast(User, request.user), provider)  # IsAuthenticated: a User
        return Response(status=status.HTTP_204_NO_CONTENT)


def urlpatterns() -> list[URLPattern]:
    """One route per provider and step ("oauth-start-google"...): an unknown provider is a 404
    of the URL resolver, and each route is named without arguments."""
    from django.urls import path

    found: list[URLPattern] = []
    for provider in oauth.PROVIDERS:
        kwargs = {"provider": provider}
        found += [
            path(f"auth/oauth/{provider}/", OAuthStartView.as_view(), kwargs, name=f"oauth-start-{provider}"),
            path(
                f"auth/oauth/{provider}/callback/",
                OAuthCallbackView.as_view(),
                kwargs,
                name=f"oauth-callback-{provider}",
            ),
            path(f"users/me/oauth/{provider}/", OAuthUnlinkView.as_view(), kwargs, name=f"oauth-unlink-{provider}"),
        ]
    return found
