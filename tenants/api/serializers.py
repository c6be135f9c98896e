from typing import Any, TypeVar, cast

from bson import ObjectId
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from plugins import settings as plugin_settings
from requestdesk.api.serializers import MongoModelSerializer, ObjectIdField
from tenants.models import ApiKey, Company, User, UserPreferences, UserProfile, UserSettings
from tenants.roles import Role, at_least
from tenants.scoping import resolve_tenant
from tenants.services import plans

_V = TypeVar("_V")


class CompanySerializer(MongoModelSerializer):
    """A company; its `plan` and `settings` (the quotas, tenants.plans) are shown to its
    members and changed by superadmins only."""

    quotas = serializers.SerializerMethodField(help_text="The limits in force: the settings over the plan's.")

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "plan",
            "settings",
            "quotas",
            "owner",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["owner", "created_at", "updated_at"]

    def get_quotas(self, company: Company) -> dict[str, Any]:
        quota = plans.quotas(company)
        return {key: getattr(quota, key) for key in plans.QUOTA_KEYS} | {"max_batch_size": quota.batch_limit()}

    def _superadmin_only(self, field: str, value: _V) -> _V:
        current = getattr(self.instance, field, None) if self.instance is not None else None
        request = self.context.get("request")
        if request is not None and value != current and resolve_tenant(request).role != Role.SUPERADMIN:
            raise serializers.ValidationError(f"Only a superadmin changes the company's {field}.")
        return value

    def validate_plan(self, value: str) -> str:
        return self._superadmin_only("plan", value)

    def validate_settings(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("A JSON object.")
        errors = plans.settings_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return self._superadmin_only("settings", value)


EMBEDDED = {"preferences": UserPreferences, "profile": UserProfile}
OWN_EMAIL_ONLY = "Only the user changes their email address (PATCH /api/v1/users/me/)."
SUPERADMIN_RENAMES = "Only a superadmin changes a username."


def grantable(granter_role: str, role: str) -> str:
    """`role` when a user of `granter_role` may give it (not above their own); else a 400."""
    if not at_least(granter_role, role):
        raise serializers.ValidationError("You cannot grant a role above your own.")
    return role


class UserSerializer(MongoModelSerializer):
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    guest_companies = serializers.ListField(child=ObjectIdField(), required=False)
    plugin_keys = serializers.DictField(
        write_only=True,
        required=False,
        help_text=(
            "The user's plugin credentials by plugin name; write-only (stored encrypted, never returned). "
            "A value replaces the stored keys; {} removes them."
        ),
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "role",
            "company",
            "guest_companies",
            "is_active",
            "plugin_keys",
            "password",
            "status",
            "preferences",
            "profile",
            "last_login",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["company", "last_login", "created_at", "updated_at"]
        # Usernames and emails are unique across companies, so a clash cannot be hidden; the
        # answer is the same wherever the other user is and names no one ("accounts" throttle).
        extra_kwargs = {
            "username": {
                "validators": [
                    UnicodeUsernameValidator(),
                    UniqueValidator(User.objects.all(), message="This username is not available."),
                ]
            },
            "email": {
                "validators": [
                    UniqueValidator(User.objects.all(), message="This email address is not available.", lookup="iexact")
                ]
            },
        }

    def _tenant_role(self) -> str:
        # Only requests the API's role permission let in get here: their tenant has a role.
        return cast(str, resolve_tenant(self.context["request"]).role)

    def to_representation(self, instance: User) -> dict[str, Any]:
        """A user who never chose preferences or a profile shows the defaults they get."""
        data = super().to_representation(instance)
        for name, model in EMBEDDED.items():
            if name in data and data[name] is None:
                data[name] = self.fields[name].to_representation(model())
        return data

    def to_internal_value(self, data: Any) -> Any:
        """A user's email is changed by that user (PATCH /users/me/) or a superadmin, and a
        username by a superadmin: an admin changing either would be told whether the address or
        name belongs to another company's user.
        On PATCH, `preferences` and `profile` are merged into the stored ones: sending
        {"preferences": {"timezone": "Europe/Paris"}} keeps the language."""
        if self.instance is not None and hasattr(data, "get") and not self._may_change_email():
            email = data.get("email")
            if isinstance(email, str) and email.strip().lower() != self.instance.email.lower():
                raise serializers.ValidationError({"email": [OWN_EMAIL_ONLY]})
        user, renames = self.instance, not self.fields["username"].read_only  # (read-only on /me/)
        if user is not None and renames and hasattr(data, "get") and self._tenant_role() != Role.SUPERADMIN:
            username = data.get("username")  # (a rename would say whether the name is another company's)
            if isinstance(username, str) and username != user.username:
                raise serializers.ValidationError({"username": [SUPERADMIN_RENAMES]})
        if self.partial and self.instance is not None and hasattr(data, "items"):
            data = dict(data.items())
            for name, model in EMBEDDED.items():
                if isinstance(data.get(name), dict):
                    stored = getattr(self.instance, name, None) or model()
                    data[name] = {**self.fields[name].to_representation(stored), **data[name]}
        return super().to_internal_value(data)

    def _may_change_email(self) -> bool:
        request = self.context["request"]
        return self._tenant_role() == Role.SUPERADMIN or getattr(self.instance, "pk", None) == request.user.pk

    def validate_role(self, value: str) -> str:
        return grantable(self._tenant_role(), value)

    def validate_guest_companies(self, value: list[ObjectId]) -> list[ObjectId]:
        if self._tenant_role() != Role.SUPERADMIN:
            raise serializers.ValidationError("Only a superadmin grants guest access.")
        unknown = set(value) - set(Company.objects.filter(pk__in=value).values_list("pk", flat=True))
        if unknown:
            raise serializers.ValidationError(f"Unknown companies: {', '.join(sorted(map(str, unknown)))}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError({"password": ["This field is required."]})
        if password:
            candidate = self.instance or User(**{k: v for k, v in attrs.items() if k != "password"})
            try:
                validate_password(password, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> User:
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        user.save()
        return user

    def update(self, instance: User, validated_data: dict[str, Any]) -> User:
        password = validated_data.pop("password", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance


class MeSerializer(UserSerializer):
    """The caller's own account (`/users/me/`): they change their email address, how they
    appear and read the product; who they are and what they may do (username, role, company,
    guest access, activity) is changed by an admin."""

    class Meta(UserSerializer.Meta):
        # `oauth`: the ids of the sign-in providers linked (DELETE users/me/oauth/<provider>/ unlinks).
        fields = [f for f in UserSerializer.Meta.fields if f not in ("plugin_keys", "password")] + ["oauth"]
        read_only_fields = [
            f for f in fields if f not in ("email", "first_name", "last_name", "status", "preferences", "profile")
        ]
        extra_kwargs = {"email": UserSerializer.Meta.extra_kwargs["email"]}


class UserSettingsSerializer(MongoModelSerializer):
    class Meta:
        model = UserSettings
        fields = ["id", "user", "company", "plugin_settings", "notification_preferences", "updated_at"]
        read_only_fields = ["user", "updated_at"]

    def validate_plugin_settings(self, value: Any) -> dict[str, Any]:
        """Installed plugins only, each validated; PATCH merges per plugin (plugins.settings)."""
        stored = self.instance.plugin_settings if self.instance is not None else {}
        applied: dict[str, Any] = plugin_settings.apply(stored, value, partial=self.partial)
        return applied


class ApiKeySerializer(MongoModelSerializer):
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKey.PERMISSIONS),
        allow_empty=False,
        default=[ApiKey.READ, ApiKey.WRITE],
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "company",
            "permissions",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = ["prefix", "user", "last_used_at", "revoked_at", "created_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The API key; shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]


class TokenObtainSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(help_text="Username or email.")
    password = serializers.CharField(style={"input_type": "password"}, write_only=True)


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
