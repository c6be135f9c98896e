"""The project's admin site (`admin.site`, through MongoAdminConfig.default_site).

Django's own, with the changes staff asked for:

* the index is a dashboard of the company's state (requestdesk.dashboard) above the list of
  models; a superadmin sees every company's, or one company's through the picker;
* "View site" leads to the API docs, the one site the project serves besides the admin;
* changelists have the page's width (no navigation sidebar beside them, nor its list of
  models built for every page);
* a user who typed the right password but whose role has no admin (a content writer, a
  client) is told so, instead of being asked again for "the correct username and password".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver

from . import dashboard

if TYPE_CHECKING:
    from tenants.models import Company, User

NO_ADMIN_ACCESS = (
    "The password is right, but your role (%(role)s) has no access to the admin: use the API "
    "or the app, or ask your company admin for a staff role."
)


# --- the dashboard above the index, and a superadmin's company picker ---------------------

PICKER_SIZE = 200  # companies offered in the picker, by name


class CompanyPicker(forms.Form):
    """A superadmin's choice of company; blank: every company."""

    company = forms.ChoiceField(required=False, label="Company")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tenants.models import Company

        super().__init__(*args, **kwargs)
        choices = Company.objects.order_by("name").values_list("pk", "name")[:PICKER_SIZE]
        cast(forms.ChoiceField, self.fields["company"]).choices = [
            ("", "All companies"),
            *((str(pk), name) for pk, name in choices),
        ]

    def chosen(self) -> Company | None:
        from tenants.models import Company

        pk = self.cleaned_data.get("company") if self.is_valid() else None
        return Company.objects.filter(pk=pk).first() if pk else None


@dataclass(frozen=True)
class IndexDashboard:
    board: dashboard.Dashboard | None  # None: a staff member without a company sees no figures
    picker: CompanyPicker | None


def dashboard_for(request: HttpRequest) -> IndexDashboard:
    """The dashboard the signed-in staff member may see: their company's; a superadmin's
    choice (every company unless one is picked)."""
    from tenants.admin.base import is_superadmin

    if not is_superadmin(request):
        company = cast("User", request.user).company  # staff: signed in
        return IndexDashboard(dashboard.of_company(company) if company is not None else None, None)
    picker = CompanyPicker(request.GET or None)
    return IndexDashboard(dashboard.of_company(picker.chosen()), picker)


class StaffLoginForm(AdminAuthenticationForm):
    """Tells a non-staff user with the right password that their role is the reason."""

    error_messages = {**AdminAuthenticationForm.error_messages, "no_admin_access": NO_ADMIN_ACCESS}

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        account = cast("User", user)  # AUTH_USER_MODEL
        if account.is_active and not account.is_staff:
            raise ValidationError(
                self.error_messages["no_admin_access"],
                code="no_admin_access",
                params={"role": account.get_role_display()},
            )
        super().confirm_login_allowed(user)


class AdminSite(admin.AdminSite):
    site_header = "requestdesk"
    site_title = "requestdesk admin"
    index_title = "Dashboard"
    site_url = "/api/v1/docs/"
    login_form = StaffLoginForm
    index_template = "admin/dashboard.html"
    # The left-hand list of every model took a quarter of a 1280 px screen from each changelist,
    # whose many columns then scrolled sideways; the index and the breadcrumbs lead to the models.
    enable_nav_sidebar = False

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Django's context of every admin page, without building the sidebar's list of models
        (`available_apps`, read by the sidebar alone: ~60 URLs reversed, about 1 ms of each page)."""
        if self.enable_nav_sidebar:
            return super().each_context(request)
        script_name = request.META["SCRIPT_NAME"]
        return {
            "site_title": self.site_title,
            "site_header": self.site_header,
            "site_url": script_name if self.site_url == "/" and script_name else self.site_url,
            "has_permission": self.has_permission(request),
            "available_apps": [],
            "is_popup": False,
            "is_nav_sidebar_enabled": False,
            "log_entries": self.get_log_entries(request),
        }

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Django's login page, with a "Sign in with …" link per configured provider (tenants.services.oauth)."""
        from tenants.services.oauth import configured

        return super().login(request, {"oauth_providers": configured(), **(extra_context or {})})

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from tenants.admin.oauth import urlpatterns

        patterns: list[URLResolver | URLPattern] = urlpatterns()
        return patterns + super().get_urls()

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        board = dashboard_for(request)
        return super().index(request, {"dashboard": board, **(extra_context or {})})
