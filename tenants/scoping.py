"""Tenant scoping: the one definition of "a company sees only its own rows", which every
app's reads and writes go through.

* `tenant_field(model)`: the field holding a model's tenant (its `TENANT_FIELD`: "company",
  "pk" for a company itself, absent for platform data); `stamped_field(model)`: the field a
  new row gets its company on; `tenant_condition(model, company)`: the same condition as a
  stored document's `{column: company id}`, which `requestdesk.db.collections.raw` adds to
  every raw filter, pipeline and insert.
* `scope(queryset, company)`: the tenant filter of every ORM read. `TenantScoped` (the
  abstract model base) gives `objects.for_company()`, which is this.
* `resolve_tenant(request)` / `scope_for_request(queryset, request)`: which company an API
  request acts for, and with which role. A user acts for their own company unless they name
  another with the `X-Company-ID` header or the `company_id` query parameter, which must be
  one of their guest companies (or any company, for a superadmin). An API key always acts
  for its own company.
* `scope_for_staff(queryset, user)`: what the admin shows a staff member: their company's
  rows, every company's for a superadmin.

The viewset base (`tenants.api.viewsets`), the admin base (`tenants.admin.base`), the
related-field base (`requestdesk.api.serializers.RelatedField`) and raw collections
(`requestdesk.db.collections`) all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from bson import ObjectId
from django.db import models
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from .roles import GUEST_ROLE_CAP, Role, capped

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

    from .models import Company, User

_Q = TypeVar("_Q", bound=models.QuerySet[Any])

COMPANY_HEADER = "HTTP_X_COMPANY_ID"
COMPANY_PARAM = "company_id"


class Timestamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def tenant_field(model: type[models.Model] | models.Model) -> str | None:
    """The field holding `model`'s tenant: "company", "pk" for a company (its own tenant), or
    None for platform data, which no company owns."""
    return getattr(model, "TENANT_FIELD", None)


def stamped_field(model: type[models.Model] | models.Model) -> str | None:
    """The field a new row of `model` gets its company on (never taken from input); None for
    a company itself and for platform data."""
    field = tenant_field(model)
    return None if field in (None, "pk") else field


def tenant_condition(model: type[models.Model], company: object) -> dict[str, Any] | None:
    """`scope`'s condition as stored documents hold it, `{column: company id}` (the `_id` of
    a company itself); None for platform data. `company` is a Company or its id."""
    field = tenant_field(model)
    if field is None:
        return None
    # A concrete field: the primary key, or the company's foreign key.
    target = cast("models.Field[Any, Any]", model._meta.pk if field == "pk" else model._meta.get_field(field))
    return {target.column: getattr(company, "pk", company)}


def scope(queryset: _Q, company: object) -> _Q:
    """Rows of `company` only; no rows without a company. Models that are not tenant data
    (no TENANT_FIELD) pass through unchanged."""
    field = tenant_field(queryset.model)
    if field is None:
        return queryset
    if company is None:
        return queryset.none()
    if field == "pk":
        company = getattr(company, "pk", company)
    return queryset.filter(**{field: company})


def scope_for_staff(queryset: _Q, user: User) -> _Q:
    """`queryset` as the admin shows it to staff member `user`: a superadmin sees every
    company's rows, anyone else their own company's."""
    return queryset if user.is_superadmin else scope(queryset, user.company)


class TenantQuerySet(models.QuerySet[Any]):
    def for_company(self, company: object) -> Self:
        return scope(self, company)


class TenantScoped(Timestamped):
    """Base of every tenant document: it carries company_id. Every tenant query filters on it
    and on more, so the field has no index of its own: each model declares the indexes led by
    `company` that its lists and lookups use (tenants.checks insists)."""

    TENANT_FIELD = "company"

    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="+", db_index=False)
    # Django adds the foreign key's column as `company_id`; the plugin cannot type it (the
    # primary keys are django-mongodb-backend's ObjectIdAutoField, which ships no types).
    company_id: ObjectId

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


@dataclass(frozen=True)
class Tenant:
    company: Company | None
    role: str | None


NO_TENANT = Tenant(None, None)


def _requested_company_id(request: HttpRequest | Request) -> str | None:
    meta = getattr(request, "META", {})
    value: str | None = meta.get(COMPANY_HEADER) or getattr(request, "GET", {}).get(COMPANY_PARAM)
    if not value:
        return None
    if not ObjectId.is_valid(value):
        raise ValidationError({COMPANY_PARAM: [f"“{value}” is not a valid company id."]})
    return value


def _own_company(user: User) -> Company | None:
    """The user's company: the instance authentication loaded, else a cached one."""
    if not user.company_id:
        return None
    if not type(user).company.is_cached(user):
        from .services import principals

        found = principals.company(user.company_id)
        if found is None:
            return None
        user.company = found
    return user.company


def _compute_tenant(request: HttpRequest | Request) -> Tenant:
    """No query for a user's own company or an API key's (authentication loaded them);
    another company (guest, superadmin) is read through tenants.services.principals' cache."""
    from .models import ApiKey
    from .services import principals

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return NO_TENANT
    requested = _requested_company_id(request)
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        if requested and requested != str(auth.company_id):
            raise PermissionDenied("This API key acts for its own company only.")
        if auth.company_id == user.company_id or user.role == Role.SUPERADMIN:
            return Tenant(auth.company, user.role)
        if auth.company_id in (user.guest_companies or []):
            return Tenant(auth.company, capped(user.role, GUEST_ROLE_CAP))
        raise PermissionDenied("This API key's company is no longer accessible to its user.")
    if requested is None or requested == str(user.company_id):
        return Tenant(_own_company(user), user.role)
    if user.role == Role.SUPERADMIN:
        company = principals.company(requested)
        if company is None:
            raise NotFound("No such company.")
        return Tenant(company, user.role)
    if ObjectId(requested) in (user.guest_companies or []):
        company = principals.company(requested)
        if company is not None and company.is_active:
            return Tenant(company, capped(user.role, GUEST_ROLE_CAP))
    raise PermissionDenied("You have no access to that company.")


def resolve_tenant(request: HttpRequest | Request) -> Tenant:
    """The request's tenant, computed once per request (DRF and Django requests alike)."""
    holder: Any = getattr(request, "_request", request)  # the Django request; the tenant is cached on it
    tenant = getattr(holder, "_rd_tenant", None)
    if tenant is None or getattr(holder, "_rd_tenant_user", None) is not getattr(request, "user", None):
        tenant = _compute_tenant(request)
        holder._rd_tenant = tenant
        holder._rd_tenant_user = getattr(request, "user", None)
    return tenant


def scope_for_request(queryset: _Q, request: HttpRequest | Request | None) -> _Q:
    """`queryset` limited to the company the API request acts for (unchanged without a request)."""
    if request is None:
        return queryset
    return scope(queryset, resolve_tenant(request).company)
