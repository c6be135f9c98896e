"""The password backend of sign-ins (API and admin) and admin sessions, and what a sign-in
refused by the lockout answers.

This module stays at the app's root: its dotted path is stored in every signed-in session
(Django keeps the backend's path, and drops a session whose backend is no longer listed in
AUTHENTICATION_BACKENDS) and named by the AXES_LOCKOUT_CALLABLE setting. The API's own
authentication classes are in `tenants.api.authentication`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest, HttpResponse

from .services import principals

if TYPE_CHECKING:
    from .models import User

LOCKED_OUT = "Too many failed sign-ins for this account; try again later."


class ActiveCompanyBackend(ModelBackend):
    """Django's password backend, also refusing members of a company that is switched off:
    sign-in (API and admin) and every request of an admin session."""

    def user_can_authenticate(self, user: User) -> bool:  # type: ignore[override]  # AUTH_USER_MODEL is User
        return principals.may_act(user, principals.company(user.company_id))

    def get_user(self, user_id: Any) -> User | None:
        """An admin session's user, read through the principals cache as the API's are (no
        round trip on a hit; changes seen within AUTH_CACHE_SECONDS), if they may act."""
        return principals.active_user(user_id)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """What a sign-in refused by the lockout (django-axes) answers: the API's own 429 (JSON,
    Retry-After) as it is; anything else, the admin's login form, a plain 429."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    return HttpResponse(LOCKED_OUT, status=429, content_type="text/plain; charset=utf-8")
