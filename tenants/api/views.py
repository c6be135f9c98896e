"""REST endpoints of the tenants app (registered on the one router in requestdesk.api.urls)."""

from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db.models import Q, QuerySet
from django.urls import URLPattern, URLResolver
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from events.services import audit
from requestdesk.api.throttling import ScopedRateThrottle
from tenants import services
from tenants.authentication import LOCKED_OUT
from tenants.models import ApiKey, Company, User
from tenants.roles import Role, at_least

from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    CompanySerializer,
    MeSerializer,
    RefreshSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserSettingsSerializer,
)
from .viewsets import TenantViewSet, TenantViewSetMixin


class CompanyViewSet(TenantViewSetMixin, viewsets.ModelViewSet[Any]):
    """Companies the caller may act for: their own and their guest companies (all, for a superadmin)."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    read_role = Role.CLIENT
    write_role = Role.COMPANY_ADMIN
    action_roles = {"create": Role.SUPERADMIN, "destroy": Role.SUPERADMIN}
    filterset_fields = ["is_active", "domain"]
    search_fields = ["name", "domain"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Company]:
        auth, user = self.request.auth, cast(User, self.request.user)
        if isinstance(auth, ApiKey):
            return Company.objects.filter(pk=auth.company_id)
        if user.role == Role.SUPERADMIN:
            return Company.objects.all()
        return Company.objects.filter(pk__in=user.company_ids())

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        user = cast(User, self.request.user)
        company = cast(Company, serializer.instance)  # an update: the serializer holds the row
        if user.role != Role.SUPERADMIN and company.pk != user.company_id:
            raise PermissionDenied("Only your own company can be changed.")
        super().perform_update(serializer)

    def perform_create(self, serializer: BaseSerializer[Any], **fields: Any) -> None:
        super().perform_create(serializer, owner=self.request.user, **fields)


INVITE_INSTEAD = "Company admins add people by invitation: POST /api/v1/invitations/ with their email and role."


class UserViewSet(TenantViewSet):
    """Users of the request's company."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    read_role = Role.CONTENT_MANAGER
    write_role = Role.COMPANY_ADMIN
    action_roles = {"me": Role.CLIENT}
    filterset_fields = ["role", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "email", "created_at", "last_login"]
    throttle_scope = "accounts"

    def get_throttles(self) -> list[BaseThrottle]:
        """Writes also count against the "accounts" rate: whether a username or email is
        taken is answered for every company, so probing for them is kept slow."""
        throttles = super().get_throttles()
        if self.action in ("create", "update", "partial_update") or (
            self.action == "me" and self.request.method != "GET"
        ):
            throttles.append(ScopedRateThrottle())
        return throttles

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return MeSerializer if self.action == "me" else super().get_serializer_class()

    @extend_schema(methods=["PATCH"], request=MeSerializer, responses=MeSerializer)
    @action(detail=False, methods=["get", "patch"])
    def me(self, request: Request) -> Response:
        """The caller's account; PATCH changes their name, status, preferences and profile."""
        if request.method == "GET":
            return Response(self.get_serializer(request.user).data)
        serializer = self.get_serializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        # Their own record: none of the role checks of changing someone else apply.
        TenantViewSet.perform_update(self, serializer)
        return Response(serializer.data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Superadmins create accounts directly; company admins invite (POST /api/v1/invitations/),
        so that they are never told whether a username or email exists in another company."""
        if self.tenant.role != Role.SUPERADMIN:
            raise PermissionDenied(INVITE_INSTEAD)
        return super().create(request, *args, **kwargs)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        target = cast(User, serializer.instance)  # an update: the serializer holds the row
        if not at_least(cast(str, self.tenant.role), target.role):  # RolePermission: the caller has a role
            raise PermissionDenied("You cannot change a user whose role is above your own.")
        super().perform_update(serializer)

    def perform_destroy(self, instance: User) -> None:
        if instance.pk == self.request.user.pk:
            raise PermissionDenied("You cannot delete yourself.")
        if not at_least(cast(str, self.tenant.role), instance.role):  # as in perform_update
            raise PermissionDenied("You cannot delete a user whose role is above your own.")
        super().perform_destroy(instance)


class MySettingsView(APIView):
    """The caller's own settings: plugin settings and notification preferences."""

    permission_classes = [IsAuthenticated]
    serializer_class = UserSettingsSerializer

    @extend_schema(responses=UserSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSettingsSerializer(services.settings_for(cast(User, request.user))).data)

    @extend_schema(request=UserSettingsSerializer, responses=UserSettingsSerializer)
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=UserSettingsSerializer, responses=UserSettingsSerializer)
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, partial: bool) -> Response:
        serializer = UserSettingsSerializer(
            services.settings_for(cast(User, request.user)),  # IsAuthenticated: a User
            data=request.data,
            partial=partial,
            context={"request": request},
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class ApiKeyViewSet(TenantViewSet):
    """API keys: the key is shown once on creation; DELETE or POST revoke/ revokes it.

    Company admins see every key of their company; everyone else sees their own keys.
    """

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    read_role = Role.CLIENT
    write_role = Role.CLIENT
    filterset_fields = ["user"]
    ordering_fields = ["created_at", "last_used_at", "name"]

    def get_queryset(self) -> QuerySet[ApiKey]:
        queryset = super().get_queryset()
        if not at_least(cast(str, self.tenant.role), Role.COMPANY_ADMIN):  # RolePermission: the caller has a role
            queryset = queryset.filter(user=self.request.user)
        return queryset

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.auth, ApiKey):
            raise PermissionDenied("API keys cannot create API keys; sign in to do that.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.create_api_key(
            user=cast(User, request.user),  # RolePermission: signed in
            company=self.company,
            name=serializer.validated_data["name"],
            permissions=serializer.validated_data["permissions"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        self.record_audit("created", key, changes=audit.field_changes(None, key))
        key.key = raw  # type: ignore[attr-defined]  # shown once: ApiKeyCreatedSerializer reads it from the key
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        return Response(self.get_serializer(self._revoke(self.get_object())).data)

    def perform_destroy(self, instance: ApiKey) -> None:
        self._revoke(instance)  # a deleted key is revoked, its record kept

    def _revoke(self, key: ApiKey) -> ApiKey:
        before = audit.snapshot(key)
        services.revoke_api_key(key)
        changes = audit.field_changes(before, key)
        if changes:  # revoking a revoked key changes nothing
            self.record_audit("revoked", key, changes=changes)
        return key


class AuthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # failed sign-ins answer 401, not 403


class TokenObtainView(AuthView):
    """Sign in with username (or email) and password; returns an access and a refresh token.

    Failures count per account (django-axes, whichever address they come from); past
    LOGIN_FAILURE_LIMIT the account answers 429 for LOGIN_LOCKOUT_MINUTES, even to the right
    password. A success resets the count and records last_login."""

    @extend_schema(request=TokenObtainSerializer, responses=TokenPairSerializer)
    def post(self, request: Request) -> Response:
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login = data.validated_data["username"]
        found = User.objects.filter(Q(username=login) | Q(email__iexact=login)).first()
        django_request = request._request  # where django-axes keeps its verdict
        user = authenticate(
            django_request, username=found.username if found else login, password=data.validated_data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            raise Throttled(wait=settings.AXES_COOLOFF_TIME.total_seconds(), detail=LOCKED_OUT)
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        return Response(services.issue_tokens(cast(User, user)))  # AUTH_USER_MODEL


class TokenRefreshView(AuthView):
    """Trade a refresh token for a new pair; each refresh token works once."""

    @extend_schema(request=RefreshSerializer, responses=TokenPairSerializer)
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            return Response(services.rotate_refresh(data.validated_data["refresh"]))
        except services.TokenError as exc:
            raise AuthenticationFailed(str(exc))


class TokenRevokeView(AuthView):
    """Sign out: revoke a refresh token and every token refreshed from it."""

    @extend_schema(request=RefreshSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.revoke_refresh(data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router: BaseRouter) -> None:
    router.register("companies", CompanyViewSet, basename="company")
    router.register("users", UserViewSet, basename="user")
    router.register("api-keys", ApiKeyViewSet, basename="apikey")


def urlpatterns() -> list[URLResolver | URLPattern]:
    from django.urls import path

    return [
        path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
        path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
        path("auth/token/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
        path("me/settings/", MySettingsView.as_view(), name="my-settings"),
    ]
