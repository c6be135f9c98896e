"""People. A user's presence (status), preferences (language, time zone) and
profile (display name, avatar URL, bio) are theirs to read and change at `/api/v1/users/me/`,
validated field by field (400 with the field's message, nothing stored changed); `last_login`
is set by JWT and API-key use too, written at most once a minute per user."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import services
from tenants.models import User
from tenants.services import principals

ME = "/api/v1/users/me/"


@pytest.fixture(autouse=True)
def _fresh_principals():
    principals.clear()
    yield
    principals.clear()


@pytest.fixture
def person(make_company, make_user):
    return make_user(make_company("People"), role="client")


def _stored(user) -> User:
    return User.objects.get(pk=user.pk)


# --- the me endpoint ------------------------------------------------------------------------


def test_me_shows_the_defaults_of_a_user_who_chose_nothing(api, person):
    body = api.as_user(person).get(ME).json()
    assert body["status"] == "active"
    assert body["preferences"] == {"language": "en", "timezone": "UTC"}
    assert body["profile"] == {"display_name": "", "avatar_url": "", "bio": ""}


def test_me_patch_stores_status_preferences_and_profile(api, person):
    client = api.as_user(person)
    response = client.patch(
        ME,
        {
            "status": "busy",
            "preferences": {"language": "pt-br", "timezone": "America/Sao_Paulo"},
            "profile": {"display_name": "Ana Souza", "avatar_url": "https://cdn.example.com/ana.png", "bio": "Editor."},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    stored = _stored(person)
    assert stored.status == "busy"
    assert (stored.preferences.language, stored.preferences.timezone) == ("pt-br", "America/Sao_Paulo")
    assert (stored.profile.display_name, stored.profile.avatar_url, stored.profile.bio) == (
        "Ana Souza",
        "https://cdn.example.com/ana.png",
        "Editor.",
    )
    assert client.get(ME).json()["profile"]["display_name"] == "Ana Souza"


def test_me_patch_merges_nested_objects(api, person):
    client = api.as_user(person)
    client.patch(
        ME,
        {
            "preferences": {"language": "fr", "timezone": "Europe/Paris"},
            "profile": {"display_name": "Jo", "bio": "Hello"},
        },
        format="json",
    )
    response = client.patch(ME, {"preferences": {"timezone": "Asia/Tokyo"}, "profile": {"bio": "Bye"}}, format="json")
    assert response.status_code == 200, response.content
    stored = _stored(person)
    assert (stored.preferences.language, stored.preferences.timezone) == ("fr", "Asia/Tokyo")
    assert (stored.profile.display_name, stored.profile.bio) == ("Jo", "Bye")


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({"status": "pirate"}, ("status",), "not a valid choice"),
        ({"preferences": {"language": "xx-pirate"}}, ("preferences", "language"), "not a known language code"),
        ({"preferences": {"timezone": "Mars/Olympus_Mons"}}, ("preferences", "timezone"), "not a known time zone"),
        ({"profile": {"avatar_url": "javascript:alert(1)"}}, ("profile", "avatar_url"), "valid URL"),
        ({"profile": {"avatar_url": "ftp://files.example.com/me.png"}}, ("profile", "avatar_url"), "http://"),
        ({"profile": {"bio": "x" * 1001}}, ("profile", "bio"), "no more than 1000 characters"),
        ({"profile": {"display_name": "n" * 101}}, ("profile", "display_name"), "no more than 100 characters"),
        ({"preferences": "en"}, ("preferences",), ""),
    ],
)
def test_me_patch_refuses_bad_values_with_the_field_message(api, person, payload, field, message):
    client = api.as_user(person)
    assert client.patch(ME, {"status": "away", "profile": {"bio": "Kept."}}, format="json").status_code == 200
    response = client.patch(ME, payload, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    for name in field:
        errors = errors[name]
    assert message in str(errors)
    stored = _stored(person)
    assert stored.status == "away" and stored.profile.bio == "Kept."  # nothing stored was lost


def test_me_patch_cannot_change_who_the_user_is_or_what_they_may_do(api, person):
    response = api.as_user(person).patch(
        ME, {"role": "superadmin", "username": "someone-else", "is_active": False, "status": "away"}, format="json"
    )
    assert response.status_code == 200, response.content
    stored = _stored(person)
    assert (stored.role, stored.username, stored.is_active, stored.status) == ("client", person.username, True, "away")


def test_admins_see_and_set_the_new_fields_in_the_users_api(api, world):
    admin, target = world.user("a", "company_admin"), world.user("a", "client")
    client = api.as_user(admin)
    response = client.patch(
        f"/api/v1/users/{target.pk}/", {"status": "away", "preferences": {"language": "de"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["preferences"] == {"language": "de", "timezone": "UTC"}
    bad = client.patch(f"/api/v1/users/{target.pk}/", {"preferences": {"timezone": "Nowhere/Atall"}}, format="json")
    assert bad.status_code == 400 and "timezone" in bad.json()["preferences"]


# --- last_login -----------------------------------------------------------------------------


def _set_last_login(user, when) -> None:
    """A raw write (no signal): the cached principal keeps what it had."""
    User.objects.filter(pk=user.pk).update(last_login=when)


def _assert_rate_limited_last_login(person, call):
    assert _stored(person).last_login is None
    before = timezone.now()
    assert call().status_code == 200
    first = _stored(person).last_login
    assert first is not None and first >= before - timedelta(seconds=1)

    # Within the minute another request writes nothing: a marker written behind the cache stays.
    marker = first - timedelta(seconds=30)
    _set_last_login(person, marker)
    assert call().status_code == 200
    assert _stored(person).last_login == marker

    # A minute on (the cache forgotten, the stored value older than a minute), it is written again.
    principals.clear()
    _set_last_login(person, timezone.now() - timedelta(minutes=2))
    assert call().status_code == 200
    assert _stored(person).last_login >= before


def test_jwt_use_sets_last_login_at_most_once_a_minute(person):
    tokens = services.issue_tokens(person)
    client = APIClient()
    _assert_rate_limited_last_login(person, lambda: client.get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"))


def test_api_key_use_sets_last_login_at_most_once_a_minute(person):
    _key, raw = services.create_api_key(user=person, company=person.company, name="cli")
    client = APIClient()
    _assert_rate_limited_last_login(person, lambda: client.get("/api/v1/api-keys/", HTTP_X_API_KEY=raw))


# --- admin ----------------------------------------------------------------------------------


def test_admin_user_form_shows_status_preferences_and_profile(client, make_company, make_user, person):
    root = make_user(None, role="superadmin")
    client.force_login(root)
    page = client.get(f"/admin/tenants/user/{person.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("status", "preferences", "profile"):
        assert f'name="{name}' in html, name


def _admin_form(user, **fields):
    return {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "role": user.role,
        "status": user.status,
        "is_active": "on",
        **fields,
    }


def test_admin_changes_preferences_and_profile_and_refuses_bad_values(client, make_user, person):
    client.force_login(make_user(None, role="superadmin"))
    url = f"/admin/tenants/user/{person.pk}/change/"
    saved = client.post(
        url,
        _admin_form(
            person,
            **{
                "status": "busy",
                "preferences-language": "it",
                "preferences-timezone": "Europe/Rome",
                "profile-display_name": "Gio",
                "profile-avatar_url": "https://example.com/g.png",
                "profile-bio": "Ciao",
            },
        ),
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    stored = _stored(person)
    assert (stored.status, stored.preferences.language, stored.preferences.timezone) == ("busy", "it", "Europe/Rome")
    assert (stored.profile.display_name, stored.profile.avatar_url) == ("Gio", "https://example.com/g.png")

    for fields, message in (
        ({"preferences-timezone": "Atlantis/Capital"}, "not a known time zone"),
        ({"preferences-language": "xx-pirate"}, "not a known language code"),
        ({"profile-avatar_url": "javascript:alert(1)"}, "Enter a valid URL"),
        ({"profile-avatar_url": "ftp://example.com/g.png"}, "http:// or https://"),
    ):
        form = {
            "preferences-language": "it",
            "preferences-timezone": "Europe/Rome",
            "profile-display_name": "Gio",
            "profile-avatar_url": "https://example.com/g.png",
            "profile-bio": "Ciao",
            **fields,
        }
        refused = client.post(url, _admin_form(person, **form))
        assert refused.status_code == 200 and message in refused.content.decode(), fields
    stored = _stored(person)
    assert (stored.preferences.language, stored.preferences.timezone) == ("it", "Europe/Rome")
    assert stored.profile.avatar_url == "https://example.com/g.png"
