"""Invitations over the API: company admins invite, list and revoke
(/api/v1/invitations/); the invitee accepts anonymously (/api/v1/auth/invitations/accept/).
Company admins add people only this way (tenants.services.invitations says why)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter
from rest_framework.throttling import BaseThrottle

from events.services import audit
from requestdesk.api.serializers import MongoModelSerializer
from requestdesk.api.throttling import ScopedRateThrottle
from tenants import services
from tenants.models import Invitation, User
from tenants.roles import Role
from tenants.services import invitations

from .serializers import TokenPairSerializer, grantable
from .views import AuthView
from .viewsets import TenantViewSetMixin


class InvitationSerializer(MongoModelSerializer):
    status = serializers.CharField(read_only=True, help_text="pending, accepted, expired or revoked.")

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "company",
            "invited_by",
            "status",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = ["company", "invited_by", "expires_at", "accepted_at", "revoked_at", "created_at"]
        extra_kwargs = {"role": {"default": Role.CLIENT}}

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value)

    def validate_role(self, value: str) -> str:
        tenant_role = cast(str, self.context["view"].tenant.role)  # RolePermission: a company admin or above
        return grantable(tenant_role, value)


class AcceptSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="The token from the invitation's mail.")
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(style={"input_type": "password"}, write_only=True)


class AcceptedSerializer(TokenPairSerializer):
    user = serializers.DictField(help_text="The new account: id, username, email, role, company.")


class MailNotSent(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "mail_not_sent"


class InvitationViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    """Invitations of the request's company: POST invites (202, whether or not the address has
    an account in another company), DELETE revokes a pending one (the record stays)."""

    queryset = Invitation.objects.all()
    serializer_class = InvitationSerializer
    read_role = Role.COMPANY_ADMIN
    write_role = Role.COMPANY_ADMIN
    filterset_fields = ["role"]
    search_fields = ["email"]
    ordering_fields = ["created_at", "expires_at", "email"]
    throttle_scope = "accounts"

    def get_throttles(self) -> list[BaseThrottle]:
        """Invitations also count against the "accounts" rate: each one sends a mail."""
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(ScopedRateThrottle())
        return throttles

    @extend_schema(
        responses={
            202: InvitationSerializer,
            503: OpenApiResponse(description="The mail server did not take the mail; nothing was stored."),
        }
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email, company = serializer.validated_data["email"], self.company
        if invitations.in_company(company, email):
            raise ValidationError({"email": ["A user of your company already has this email address."]})
        try:
            invitation = invitations.invite(
                company=company,
                email=email,
                role=serializer.validated_data["role"],
                invited_by=cast(User, request.user),  # RolePermission: signed in
            )
        except invitations.MailNotSent as exc:
            raise MailNotSent(str(exc))
        self.record_audit("created", invitation, changes=audit.field_changes(None, invitation))
        return Response(self.get_serializer(invitation).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: Invitation) -> None:
        before = audit.snapshot(instance)
        if invitations.revoke(instance):
            self.record_audit("revoked", instance, changes=audit.field_changes(before, instance))


class InvitationAcceptView(AuthView):
    """Accept an invitation: choose a username and password; the account is created in the
    inviting company with the invited role. Answers 201 with tokens and the new account."""

    @extend_schema(request=AcceptSerializer, responses={201: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        data = AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            accepted = invitations.accept(**data.validated_data)
        except invitations.InvitationError as exc:
            raise ValidationError({exc.field: [str(exc)]} if exc.field else {"detail": str(exc)})
        except DjangoValidationError as exc:
            raise ValidationError({"password": list(exc.messages)})
        user, invitation = accepted.user, accepted.invitation
        audit.record(
            company=invitation.company,
            actor=user,
            source="api",
            event_type=audit.event_type(invitation, "accepted"),
            obj=invitation,
            changes={"accepted_at": {"old": None, "new": invitation.accepted_at}},
            metadata=audit.request_metadata(request),
        )
        body = {
            **services.issue_tokens(user),
            "user": {
                "id": str(user.pk),
                "username": user.username,
                "email": user.email,
                "role": user.role,
                "company": str(user.company_id),
            },
        }
        return Response(body, status=status.HTTP_201_CREATED)


def register(router: BaseRouter) -> None:
    router.register("invitations", InvitationViewSet, basename="invitation")


def urlpatterns() -> list[URLResolver | URLPattern]:
    return [path("auth/invitations/accept/", InvitationAcceptView.as_view(), name="invitation-accept")]
