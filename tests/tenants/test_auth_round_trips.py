"""Authentication and tenant resolution: at most one database round trip on a cache miss,
none on a hit; changes take effect at once (signals) or after AUTH_CACHE_SECONDS (raw writes).

Round trips are counted by tests/support/round_trips.py (a pymongo CommandListener: every
command the driver sends is one round trip, whichever code path sent it)."""

import time
from datetime import timedelta

import pymongo
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import services
from tenants.models import ApiKey, Company, User
from tenants.roles import Role
from tenants.services import principals
from tests.conftest import PASSWORD
from tests.support.clock import memo_clock  # noqa: F401
from tests.support.round_trips import round_trips


@pytest.fixture(autouse=True)
def _empty_cache():
    principals.clear()
    yield
    principals.clear()


def _raw_db():
    return pymongo.MongoClient(settings.DATABASES["default"]["HOST"])[settings.DATABASES["default"]["NAME"]]


def _key(user, company=None, **fields):
    return services.create_api_key(user=user, company=company or user.company, name="ci", **fields)


def _jwt(user):
    return APIClient().post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}).json()["access"]


def _get(path, *, key=None, token=None, **headers):
    if key:
        headers["HTTP_X_API_KEY"] = key
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return APIClient().get(path, **headers)


def test_the_counter_counts_round_trips(world, round_trips):
    list(Company.objects.all())  # the collection's index keys, read once per process
    with round_trips() as seen:
        User.objects.count()
        list(Company.objects.all())
    assert [name for name, _ in seen.commands] == ["aggregate", "aggregate"]


@pytest.mark.parametrize("auth", ["key", "jwt"])
def test_miss_costs_one_round_trip_and_hit_none(world, round_trips, auth):
    user = world.user("a", "content_manager")
    credentials = {"key": _key(user)[1]} if auth == "key" else {"token": _jwt(user)}
    assert _get("/api/v1/users/me/", **credentials).status_code == 200  # sets last_used_at
    principals.clear()
    with round_trips() as miss:
        response = _get("/api/v1/users/me/", **credentials)  # the view itself reads nothing
    assert response.status_code == 200 and response.json()["username"] == user.username
    assert len(miss.commands) == 1, miss.commands
    with round_trips() as hit:
        assert _get("/api/v1/users/me/", **credentials).status_code == 200
    assert hit.commands == []


@pytest.mark.parametrize("auth", ["key", "jwt"])
def test_a_list_costs_only_its_own_queries_on_a_hit(world, round_trips, auth):
    user = world.user("a", "content_manager")
    credentials = {"key": _key(user)[1]} if auth == "key" else {"token": _jwt(user)}
    assert _get("/api/v1/users/", **credentials).status_code == 200
    principals.clear()
    with round_trips() as miss:
        first = _get("/api/v1/users/", **credentials)
    with round_trips() as hit:
        second = _get("/api/v1/users/", **credentials)
    assert first.json() == second.json()
    assert {u["username"] for u in second.json()["results"]} == {
        u.username for (c, _), u in world.users.items() if c == "a"
    }
    assert len(miss.commands) == len(hit.commands) + 1, (miss.commands, hit.commands)
    # A short list (requestdesk.api.pagination.FEW_ROWS) is read whole: rows and count in one read.
    assert hit.commands == [("aggregate", "users")], hit.commands


def test_a_limited_page_comes_in_one_round_trip(world, round_trips):
    """101 rows (the admin's page of 100 and one to tell a next page) exceed the default first
    batch of a cursor: without a batch size the last row costs a getMore."""
    from events.models import AuditLog

    AuditLog.objects.bulk_create(
        [AuditLog(company=world.a, event_type="test.row", object_repr=str(n)) for n in range(130)]
    )
    AuditLog.objects.exists()  # the collection's index keys, read once per process
    with round_trips() as seen:
        rows = list(AuditLog.objects.filter(company=world.a).order_by("-created_at")[:101])
    assert len(rows) == 101
    assert [name for name, _ in seen.commands] == ["aggregate"], seen.commands


def test_guest_company_is_read_once(world, round_trips):
    guest = world.user("a", "content_manager")
    guest.guest_companies = [world.b.pk]
    guest.save()
    token = _jwt(guest)
    headers = {"token": token, "HTTP_X_COMPANY_ID": str(world.b.pk)}
    assert _get("/api/v1/users/me/", **headers).status_code == 200
    with round_trips() as hit:
        assert _get("/api/v1/users/me/", **headers).status_code == 200
    assert hit.commands == []


def test_last_used_at_is_written_at_most_once_a_minute(world, round_trips):
    key, raw = _key(world.user("a", "client"))
    ApiKey.objects.exists()  # the collection's index keys, read once per process
    with round_trips() as first:
        assert _get("/api/v1/users/me/", key=raw).status_code == 200
    # the key's last_used_at, then the user's last_login (tenants.services.principals.note_user_seen)
    assert [name for name, _ in first.commands] == ["aggregate", "update", "update"], first.commands
    used = ApiKey.objects.get(pk=key.pk).last_used_at
    assert used is not None
    for _ in range(3):
        principals.clear()
        with round_trips() as again:
            assert _get("/api/v1/users/me/", key=raw).status_code == 200
        assert [name for name, _ in again.commands] == ["aggregate"]
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=used - timedelta(minutes=2))
    principals.clear()
    with round_trips() as stale:
        assert _get("/api/v1/users/me/", key=raw).status_code == 200
    assert [name for name, _ in stale.commands] == ["aggregate", "update"]
    with round_trips() as hit:
        assert _get("/api/v1/users/me/", key=raw).status_code == 200
    assert hit.commands == []


def test_revoked_key_is_refused_on_the_next_request(api, world):
    admin = world.user("a", "company_admin")
    key, raw = _key(admin)
    assert _get("/api/v1/users/", key=raw).status_code == 200
    assert api.as_user(admin).post(f"/api/v1/api-keys/{key.pk}/revoke/").status_code == 200
    assert _get("/api/v1/users/", key=raw).status_code == 401
    # and a key deleted or revoked through the ORM
    other, raw = _key(admin)
    assert _get("/api/v1/users/", key=raw).status_code == 200
    other.delete()
    assert _get("/api/v1/users/", key=raw).status_code == 401


@pytest.mark.parametrize("auth", ["key", "jwt"])
def test_deactivated_user_is_refused(world, auth):
    user = world.user("a", "content_manager")
    credentials = {"key": _key(user)[1]} if auth == "key" else {"token": _jwt(user)}
    assert _get("/api/v1/users/me/", **credentials).status_code == 200
    user.refresh_from_db()
    user.is_active = False
    user.save()
    assert _get("/api/v1/users/me/", **credentials).status_code == 401


@pytest.mark.parametrize("auth", ["key", "jwt"])
def test_role_and_company_changes_take_effect(world, auth):
    user = world.user("a", "client")
    credentials = {"key": _key(user)[1]} if auth == "key" else {"token": _jwt(user)}
    assert _get("/api/v1/users/", **credentials).status_code == 403  # clients cannot list users
    user.refresh_from_db()
    user.role = Role.CONTENT_MANAGER
    user.save()
    assert _get("/api/v1/users/", **credentials).status_code == 200
    assert _get("/api/v1/users/me/", **credentials).json()["role"] == Role.CONTENT_MANAGER
    if auth == "jwt":  # a key stays with its own company; a user follows theirs
        user.company = world.b
        user.save()
        names = {u["username"] for u in _get("/api/v1/users/", **credentials).json()["results"]}
        assert user.username in names and world.user("b", "client").username in names


def test_company_change_is_seen(world):
    user = world.user("a", "company_admin")
    token = _jwt(user)
    assert _get("/api/v1/companies/", token=token).status_code == 200
    company = Company.objects.get(pk=world.a.pk)
    company.name = "Renamed"
    company.save()
    names = [c["name"] for c in _get("/api/v1/companies/", token=token).json()["results"]]
    assert names == ["Renamed"]


@pytest.mark.parametrize("auth", ["key", "jwt"])
def test_raw_database_changes_take_effect_after_the_cache_expires(world, settings, memo_clock, auth):
    settings.AUTH_CACHE_SECONDS = 30
    clock = memo_clock
    user = world.user("a", "content_manager")
    credentials = {"key": _key(user)[1]} if auth == "key" else {"token": _jwt(user)}
    assert _get("/api/v1/users/", **credentials).status_code == 200
    _raw_db().users.update_one({"_id": user.pk}, {"$set": {"role": Role.CLIENT}})  # no signal
    clock.now += 29
    assert _get("/api/v1/users/", **credentials).status_code == 200  # still cached
    clock.now += 2
    assert _get("/api/v1/users/", **credentials).status_code == 403
    _raw_db().users.update_one({"_id": user.pk}, {"$set": {"is_active": False}})
    clock.now += 31
    assert _get("/api/v1/users/me/", **credentials).status_code == 401


def test_raw_revocation_takes_effect_after_the_cache_expires(world, settings, memo_clock):
    settings.AUTH_CACHE_SECONDS = 30
    clock = memo_clock
    key, raw = _key(world.user("a", "client"))
    assert _get("/api/v1/users/me/", key=raw).status_code == 200
    _raw_db().api_keys.update_one({"_id": key.pk}, {"$set": {"revoked_at": timezone.now()}})
    clock.now += 31
    assert _get("/api/v1/users/me/", key=raw).status_code == 401


def test_expired_key_stops_at_its_expiry_even_if_cached(world, settings):
    settings.AUTH_CACHE_SECONDS = 60
    expires = timezone.now() + timedelta(seconds=2)
    key, raw = _key(world.user("a", "client"), expires_at=expires)
    assert _get("/api/v1/users/me/", key=raw).status_code == 200
    assert _get("/api/v1/users/me/", key=raw).status_code == 200  # a hit
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()) + 0.05)
    assert _get("/api/v1/users/me/", key=raw).status_code == 401


def test_zero_seconds_disables_the_cache(world, settings, round_trips):
    settings.AUTH_CACHE_SECONDS = 0
    token = _jwt(world.user("a", "client"))
    for _ in range(2):
        with round_trips() as seen:
            assert _get("/api/v1/users/me/", token=token).status_code == 200
        assert len(seen.commands) == 1


def test_cached_principals_are_copies_that_match_the_orm(world):
    user = world.user("a", "content_manager")
    user.guest_companies = [world.b.pk]
    user.plugin_keys = {"x": {"y": 1}}
    user.save()
    key, raw = _key(user)
    loaded = services.authenticate_api_key(raw)
    for _ in range(2):  # miss, then hit
        found = principals.active_user(user.pk)
        fresh = User.objects.get(pk=user.pk)
        for field in User._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(fresh, field.attname), field.name
        assert found.company == world.a and found.company.name == "A"
        found.guest_companies.append(world.a.pk)
        found.plugin_keys["x"]["y"] = 2
        found.role = Role.SUPERADMIN
    again = principals.active_user(user.pk)
    assert again.guest_companies == [world.b.pk] and again.plugin_keys == {"x": {"y": 1}}
    assert again.role == Role.CONTENT_MANAGER
    hit = services.authenticate_api_key(raw)
    assert hit is not loaded and hit.user is not loaded.user
    stored = ApiKey.objects.get(pk=key.pk)
    for field in ApiKey._meta.concrete_fields:
        if field.name != "last_used_at":  # stored to the millisecond; cached as written
            assert getattr(hit, field.attname) == getattr(stored, field.attname), field.name
    assert abs(hit.last_used_at - stored.last_used_at) < timedelta(milliseconds=1)
    assert hit.user.company is hit.company and hit.company.pk == world.a.pk


def test_unknown_or_forged_credentials_are_refused(world):
    key, raw = _key(world.user("a", "client"))
    assert _get("/api/v1/users/me/", key=raw).status_code == 200
    assert _get("/api/v1/users/me/", key=raw[:-2] + ("zz" if not raw.endswith("zz") else "yy")).status_code == 401
    assert principals.active_user("not-an-id") is None
    assert principals.active_user(world.a.pk) is None  # a company id is no user


def test_an_admin_session_reads_its_user_through_the_cache(world, round_trips):
    """An admin session's user costs no round trip on a hit (the session is read from the cache,
    requestdesk.sessions), a superadmin without a company none for their company, and saving
    the user counts at once."""
    page = "/admin/password_change/"  # reads nothing but who is signed in
    staff = world.user("a", "company_admin")
    root = User.objects.create_user(username="root-session", password=PASSWORD, role=Role.SUPERADMIN, is_staff=True)
    sessions = {}
    for user in (staff, root):
        sessions[user] = client = Client()
        client.force_login(user)
        assert client.get(page).status_code == 200
        with round_trips() as hit:
            assert client.get(page).status_code == 200
        assert hit.commands == [], hit.commands
    staff.refresh_from_db()
    staff.is_active = False
    staff.save()
    assert sessions[staff].get(page).status_code == 302  # to the sign-in page
    root.set_password("a-new-password-1")
    root.save()
    assert sessions[root].get(page).status_code == 302  # the session's password hash no longer matches
