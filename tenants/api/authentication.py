"""DRF authentication by API key (X-API-Key or `Authorization: Api-Key …`) and JWT bearer.

Both load the user with their company (and the key with its company) in at most one round
trip, and none while tenants.services.principals has them cached. The user and key they
return are the request's own instances. Both refuse whoever `principals.may_act` refuses: an
inactive user, or a member of a company that is switched off. (The password backend of
sign-ins and admin sessions is `tenants.authentication`.)"""

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants import services
from tenants.models import ApiKey, User
from tenants.services import principals


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        raw: str | None = request.META.get("HTTP_X_API_KEY")
        if not raw:
            header = authentication.get_authorization_header(request).decode(errors="replace").split()
            if len(header) != 2 or header[0] != self.keyword:
                return None
            raw = header[1]
        key = services.authenticate_api_key(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, dict[str, Any]] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if len(header) != 2 or header[0] != self.keyword:
            return None
        try:
            user_id, stamp = services.decode_access(header[1])
        except services.TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc))
        user = principals.active_user(user_id)
        if user is None:
            raise exceptions.AuthenticationFailed("User not found or inactive.")
        if not services.access_is_current(user, stamp):
            raise exceptions.AuthenticationFailed("Access token issued before a password change; sign in again.")
        principals.note_user_seen(user)
        return user, {"type": "jwt"}

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
