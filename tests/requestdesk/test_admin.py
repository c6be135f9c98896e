"""The Django admin: staff below superadmin see and edit only their company's rows."""

import pytest
from django.contrib import admin

from requestdesk import admin_lists
from tenants.models import ApiKey, Company, User
from tests.support.clock import memo_clock  # noqa: F401
from tests.support.round_trips import round_trips  # noqa: F401


@pytest.fixture
def staff_client(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_every_admin_page_renders_for_a_superadmin(staff_client, world):
    client = staff_client(world.user("a", "superadmin"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert changelist.status_code == 200, f"{opts.label} changelist"
        if model_admin.has_add_permission(changelist.wsgi_request):
            assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 200, opts.label
    first = User.objects.first()
    assert client.get(f"/admin/tenants/user/{first.pk}/change/").status_code == 200


def test_company_admin_sees_only_own_company(staff_client, world):
    client = staff_client(world.user("a", "company_admin"))
    page = client.get("/admin/tenants/user/").content.decode()
    assert "a-client" in page and "b-client" not in page
    other = world.user("b", "client")
    response = client.get(f"/admin/tenants/user/{other.pk}/change/")
    assert response.status_code == 302  # "doesn't exist" back to the index
    companies = client.get("/admin/tenants/company/").content.decode()
    assert ">A<" in companies and ">B<" not in companies
    assert client.get("/admin/tenants/company/add/").status_code == 403


def test_only_superadmins_add_users_and_company_admins_grant_no_role_above_theirs(staff_client, world):
    client = staff_client(world.user("a", "company_admin"))
    form = client.get(f"/admin/tenants/user/{world.user('a', 'client').pk}/change/").content.decode()
    assert 'value="company_admin"' in form and 'value="superadmin"' not in form
    new = {
        "username": "made-in-admin",
        "email": "made@example.com",
        "role": "content_writer",
        "company": str(world.b.pk),
        "password1": "a-Long-password-77",
        "password2": "a-Long-password-77",
    }
    assert client.get("/admin/tenants/user/add/").status_code == 403  # company admins invite
    assert client.post("/admin/tenants/user/add/", new).status_code == 403
    assert not User.objects.filter(username="made-in-admin").exists()
    client = staff_client(world.user("a", "superadmin"))
    response = client.post("/admin/tenants/user/add/", new)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(username="made-in-admin").company_id == world.b.pk  # a superadmin chooses


def test_writers_and_clients_have_no_admin(staff_client, world):
    for role in ("content_writer", "client"):
        response = staff_client(world.user("a", role)).get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_creates_api_key_and_shows_it_once(staff_client, world):
    client = staff_client(world.user("a", "company_admin"))
    response = client.post(
        "/admin/tenants/apikey/add/",
        {
            "name": "from-admin",
            "user": str(world.user("a", "client").pk),
            "permissions": ["read"],
        },
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Copy it now" in text and "rd_" in text
    key = ApiKey.objects.get(name="from-admin")
    assert key.company_id == world.a.pk and key.permissions == ["read"]


def test_pages_carry_django_context_without_building_the_sidebar_list(rf, world):
    """The site's each_context has every key Django's has (a Django upgrade that adds one fails
    here), and leaves the sidebar's model list unbuilt while the sidebar is off."""
    request = rf.get("/admin/scraping/result/")
    request.user = world.user("a", "superadmin")
    ours, django = admin.site.each_context(request), admin.AdminSite.each_context(admin.site, request)
    assert set(ours) == set(django) and django["available_apps"]
    assert ours["available_apps"] == [] and not ours["is_nav_sidebar_enabled"]
    assert {key: value for key, value in ours.items() if key not in ("available_apps", "log_entries")} == {
        key: value for key, value in django.items() if key not in ("available_apps", "log_entries")
    }


def test_the_superadmins_company_filter_is_kept_until_a_company_changes(
    staff_client, world, settings, memo_clock, round_trips
):
    """The company filter of a superadmin's changelist lists every company; the list is kept
    ADMIN_RELATED_SECONDS (requestdesk.admin_lists.KeptChoicesFilter): the next page reads no
    company; a company renamed in this process shows at once, one renamed elsewhere (raw) once
    the seconds pass."""
    settings.ADMIN_RELATED_SECONDS = 30
    admin_lists._related.clear()
    client = staff_client(world.user("a", "superadmin"))
    assert client.get("/admin/scraping/result/").status_code == 200
    with round_trips() as seen:
        page = client.get("/admin/scraping/result/").content.decode()
    assert "companies" not in {name for _, name in seen.commands} and world.b.name in page
    world.b.name = "Renamed B"
    world.b.save()
    assert "Renamed B" in client.get("/admin/scraping/result/").content.decode()
    Company.objects.filter(pk=world.b.pk).update(name="Raw B")  # no signal: as another process's write
    memo_clock.now += 29
    assert "Raw B" not in client.get("/admin/scraping/result/").content.decode()
    memo_clock.now += 2
    assert "Raw B" in client.get("/admin/scraping/result/").content.decode()
