"""Django-admin permissions derived from the user's role (no per-user permission rows).

superadmin: everything. company_admin: every model of the tenant apps, within their company
(the admin base limits rows), but no creating or deleting companies. content_manager: the
domain apps, and viewing users. Writers and clients do not use the admin. A model that
carries no company (no TENANT_FIELD, e.g. refresh tokens) cannot be limited to one, so it
is the superadmin's alone.
"""

from django.apps import apps

from tenants.roles import Role

DOMAIN_APPS = {"content", "knowledge", "scraping", "monitoring"}
TENANT_APPS = DOMAIN_APPS | {"tenants", "events"}
COMPANY_ADMIN_DENIED = {"tenants.add_company", "tenants.delete_company"}
MANAGER_TENANTS_PERMS = {"tenants.view_user"}


def role_has_perm(role: str, perm: str) -> bool:
    if role == Role.SUPERADMIN:
        return True
    app_label = perm.split(".", 1)[0]
    if not _is_tenant_data(perm):
        return False
    if role == Role.COMPANY_ADMIN:
        return app_label in TENANT_APPS and perm not in COMPANY_ADMIN_DENIED
    if role == Role.CONTENT_MANAGER:
        return app_label in DOMAIN_APPS or perm in MANAGER_TENANTS_PERMS
    return False


def _is_tenant_data(perm: str) -> bool:
    """Whether a model permission ("app.action_model") is about a model scoped by company."""
    app_label, codename = perm.split(".", 1)
    try:
        model = apps.get_model(app_label, codename.split("_", 1)[-1])
    except LookupError:
        return True  # not a model permission: decided by the app rules
    return getattr(model, "TENANT_FIELD", None) is not None


def role_has_module(role: str, app_label: str) -> bool:
    if role == Role.SUPERADMIN:
        return True
    if role == Role.COMPANY_ADMIN:
        return app_label in TENANT_APPS
    if role == Role.CONTENT_MANAGER:
        return app_label in TENANT_APPS
    return False
