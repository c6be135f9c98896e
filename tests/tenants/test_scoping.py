"""tenants.scoping, the one definition of a company's rows: the tenant field of each kind of
model, the stored condition raw collections add, the admin's scope for staff and superadmins;
and requestdesk.outbound.validate_url, the one field check for URLs the server will call."""

import pytest
from django.core.exceptions import ValidationError

from requestdesk import outbound
from requestdesk.db.collections import raw
from tenants.models import ApiKey, Company, RefreshToken, User, UserSettings
from tenants.roles import Role
from tenants.scoping import scope, scope_for_staff, stamped_field, tenant_condition, tenant_field


def test_each_kind_of_model_names_its_tenant_field():
    assert (tenant_field(Company), stamped_field(Company)) == ("pk", None)  # its own tenant
    assert (tenant_field(User), stamped_field(User)) == ("company", "company")
    assert (tenant_field(ApiKey), stamped_field(ApiKey)) == ("company", "company")
    assert (tenant_field(UserSettings), stamped_field(UserSettings)) == ("company", "company")
    assert (tenant_field(RefreshToken), stamped_field(RefreshToken)) == (None, None)  # platform data


def test_the_stored_condition_names_the_column_and_the_company_id(world):
    assert tenant_condition(Company, world.a) == {"_id": world.a.pk}
    assert tenant_condition(User, world.a) == {"company_id": world.a.pk}
    assert tenant_condition(User, world.a.pk) == {"company_id": world.a.pk}  # an id will do
    assert tenant_condition(RefreshToken, world.a) is None


def test_raw_reads_and_orm_reads_see_the_same_rows(world):
    orm = sorted(scope(User.objects.all(), world.a).values_list("pk", flat=True))
    stored = sorted(doc["_id"] for doc in raw(User, company=world.a).find({}, {"_id": 1}))
    assert orm == stored and len(orm) == len(Role.values)
    assert [doc["_id"] for doc in raw(Company, company=world.b).find({}, {"_id": 1})] == [world.b.pk]
    with pytest.raises(ValueError, match="needs company"):
        raw(User)


def test_staff_see_their_company_and_a_superadmin_every_company(world, make_user):
    everyone = User.objects.all()
    admin_a = world.user("a", Role.COMPANY_ADMIN)
    assert set(scope_for_staff(everyone, admin_a).values_list("company_id", flat=True)) == {world.a.pk}
    superadmin = world.user("b", Role.SUPERADMIN)
    assert set(scope_for_staff(everyone, superadmin).values_list("company_id", flat=True)) == {world.a.pk, world.b.pk}
    superadmin.is_active = False  # an inactive superadmin is no superadmin
    assert set(scope_for_staff(everyone, superadmin).values_list("company_id", flat=True)) == {world.b.pk}
    homeless = make_user(None, Role.CONTENT_MANAGER)
    assert list(scope_for_staff(everyone, homeless)) == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("ftp://93.184.216.34/file", "Only http and https URLs are allowed."),
        ("http:///nohost", "The URL has no host."),
    ],
)
def test_validate_url_refuses_with_the_reason(url, reason):
    with pytest.raises(ValidationError) as refused:
        outbound.validate_url(url)
    assert reason in refused.value.messages[0]


def test_validate_url_returns_a_public_url():
    assert outbound.validate_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"
