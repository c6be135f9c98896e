from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from requestdesk.api.serializers import MongoModelSerializer, ObjectIdField

from .models import ApiKey, Company, User, UserSettings
from .roles import Role, at_least
from .scoping import resolve_tenant


class CompanySerializer(MongoModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "domain", "settings", "owner", "is_active", "created_at", "updated_at"]
        read_only_fields = ["owner", "created_at", "updated_at"]


class UserSerializer(MongoModelSerializer):
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    guest_companies = serializers.ListField(child=ObjectIdField(), required=False)
    plugin_keys = serializers.DictField(write_only=True, required=False, help_text=(
        "The user's plugin credentials by plugin name; write-only (stored encrypted, never returned). "
        "A value replaces the stored keys; {} removes them."))

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "role", "company",
            "guest_companies", "is_active", "plugin_keys", "password", "last_login",
            "created_at", "updated_at",
        ]
        read_only_fields = ["company", "last_login", "created_at", "updated_at"]
        # Usernames and emails are unique across companies, so a clash cannot be hidden; the
        # answer is the same wherever the other user is and names no one ("accounts" throttle).
        extra_kwargs = {
            "username": {"validators": [UnicodeUsernameValidator(), UniqueValidator(
                User.objects.all(), message="This username is not available.")]},
            "email": {"validators": [UniqueValidator(
                User.objects.all(), message="This email address is not available.", lookup="iexact")]},
        }

    def _tenant_role(self):
        return resolve_tenant(self.context["request"]).role

    def validate_role(self, value):
        if not at_least(self._tenant_role(), value):
            raise serializers.ValidationError("You cannot grant a role above your own.")
        return value

    def validate_guest_companies(self, value):
        if self._tenant_role() != Role.SUPERADMIN:
            raise serializers.ValidationError("Only a superadmin grants guest access.")
        unknown = set(value) - set(Company.objects.filter(pk__in=value).values_list("pk", flat=True))
        if unknown:
            raise serializers.ValidationError(f"Unknown companies: {', '.join(sorted(map(str, unknown)))}.")
        return value

    def validate(self, attrs):
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

    def create(self, validated_data):
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance


class UserSettingsSerializer(MongoModelSerializer):
    class Meta:
        model = UserSettings
        fields = ["id", "user", "company", "plugin_settings", "notification_preferences", "updated_at"]
        read_only_fields = ["user", "updated_at"]


class ApiKeySerializer(MongoModelSerializer):
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKey.PERMISSIONS), allow_empty=False,
        default=[ApiKey.READ, ApiKey.WRITE],
    )

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "user", "company", "permissions", "expires_at",
            "last_used_at", "revoked_at", "created_at",
        ]
        read_only_fields = ["prefix", "user", "last_used_at", "revoked_at", "created_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The API key; shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="Username or email.")
    password = serializers.CharField(style={"input_type": "password"}, write_only=True)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
