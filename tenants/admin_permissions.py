"""Django-admin permissions derived from the user's role (no per-user permission rows).

superadmin: everything. company_admin: every model of the tenant apps, within their company
(the admin base limits rows), but no creating or deleting companies. content_manager: the
domain apps, and viewing users. Writers and clients do not use the admin.
"""

from .roles import Role

DOMAIN_APPS = {"content", "knowledge", "scraping"}
TENANT_APPS = DOMAIN_APPS | {"tenants"}
COMPANY_ADMIN_DENIED = {"tenants.add_company", "tenants.delete_company"}
MANAGER_TENANTS_PERMS = {"tenants.view_user"}


def role_has_perm(role: str, perm: str) -> bool:
    if role == Role.SUPERADMIN:
        return True
    app_label = perm.split(".", 1)[0]
    if role == Role.COMPANY_ADMIN:
        return app_label in TENANT_APPS and perm not in COMPANY_ADMIN_DENIED
    if role == Role.CONTENT_MANAGER:
        return app_label in DOMAIN_APPS or perm in MANAGER_TENANTS_PERMS
    return False


def role_has_module(role: str, app_label: str) -> bool:
    if role == Role.SUPERADMIN:
        return True
    if role == Role.COMPANY_ADMIN:
        return app_label in TENANT_APPS
    if role == Role.CONTENT_MANAGER:
        return app_label in TENANT_APPS
    return False
