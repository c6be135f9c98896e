"""Sign-in with Google (OpenID Connect) or GitHub (OAuth 2.0), for the API and
the admin, against a local provider over loopback (tests/support/oauth.py) that speaks both
providers' documented endpoints: every request of the flow (discovery, JWKS, token exchange
with PKCE, id_token signature and nonce, /user, /user/emails) is real HTTP."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import IntegrityError
from pymongo.errors import DuplicateKeyError, WriteError
from rest_framework.test import APIClient

from requestdesk.db.collections import collection
from requestdesk.embedded import free_port
from tenants.models import User
from tenants.roles import Role
from tests.support.oauth import FakeProvider

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider()
    yield fake
    fake.stop()


@pytest.fixture
def oauth_on(settings, provider):
    for key, value in provider.settings().items():
        setattr(settings, key, value)
    provider.who = {}
    provider.id_token_changes = {}
    return provider


def google(user_or_email, sub="g-100", verified=True) -> dict:
    email = getattr(user_or_email, "email", user_or_email)
    return {"sub": sub, "email": email, "email_verified": verified}


def github(user_or_email, id=4242, verified=True) -> dict:
    email = getattr(user_or_email, "email", user_or_email)
    emails = [
        {"email": "someone-else@example.org", "verified": True, "primary": False},
        {"email": email, "verified": verified, "primary": True},
    ]
    return {"id": id, "login": "octo", "emails": emails}


def start(client, name):
    response = client.get(f"/api/v1/auth/oauth/{name}/")
    assert response.status_code == 302, getattr(response, "content", b"")[:300]
    return response["Location"]


def sign_in(client, fake, name, who):
    """The whole browser round trip: our redirect, the provider's consent, our callback."""
    fake.who = who
    back = urlsplit(fake.authorize(start(client, name)))
    assert back.path == f"/api/v1/auth/oauth/{name}/callback/"
    return client.get(f"{back.path}?{back.query}")


def stored_oauth(user) -> dict:
    return collection(User).find_one({"_id": user.pk}).get("oauth", {})


# --- the API flow ---------------------------------------------------------------------------------


def test_google_redirect_carries_state_pkce_and_nonce(oauth_on):
    query = parse_qs(urlsplit(start(APIClient(), "google")).query)
    assert query["client_id"] == [oauth_on.settings()["GOOGLE_CLIENT_ID"]]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and "openid" in query["scope"][0]
    assert query["redirect_uri"] == ["http://testserver/api/v1/auth/oauth/google/callback/"]


def test_google_first_sign_in_links_by_verified_email_later_by_id(oauth_on, world):
    user = world.user("a", "content_writer")
    client = APIClient()
    response = sign_in(client, oauth_on, "google", google(user, sub="g-1"))
    assert response.status_code == 200, response.json()
    tokens = response.json()
    assert set(tokens) == {"access", "refresh", "token_type", "expires_in"}
    assert stored_oauth(user) == {"google_id": "g-1"}
    me = APIClient().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 200 and me.json()["username"] == user.username
    assert me.json()["oauth"] == {"google_id": "g-1"}
    # The provider's email changes: the linked id still finds the user.
    response = sign_in(APIClient(), oauth_on, "google", google("changed@elsewhere.example", sub="g-1"))
    assert response.status_code == 200
    assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": response.json()["refresh"]}).status_code == 200
    User.objects.filter(pk=user.pk).update(last_login=None)
    assert sign_in(APIClient(), oauth_on, "google", google(user, sub="g-1")).status_code == 200
    assert User.objects.get(pk=user.pk).last_login is not None  # a sign-in like the password one


def test_github_first_sign_in_links_by_primary_verified_email_later_by_id(oauth_on, world):
    user = world.user("b", "client")
    response = sign_in(APIClient(), oauth_on, "github", github(user, id=777))
    assert response.status_code == 200, response.json()
    assert stored_oauth(user) == {"github_id": "777"}
    response = sign_in(APIClient(), oauth_on, "github", github("new-primary@example.org", id=777))
    assert response.status_code == 200
    assert "GET" in [r["method"] for r in oauth_on.hits("/user/emails")]


def test_email_matches_whatever_its_case_at_the_provider(oauth_on, world):
    user = world.user("a", "client")
    response = sign_in(APIClient(), oauth_on, "google", google(user.email.upper(), sub="g-case"))
    assert response.status_code == 200, response.json()


def test_unverified_email_is_refused(oauth_on, world):
    user = world.user("a", "client")
    response = sign_in(APIClient(), oauth_on, "google", google(user, sub="g-unverified", verified=False))
    assert response.status_code == 403 and "verified" in response.json()["detail"]
    response = sign_in(APIClient(), oauth_on, "github", github(user, id=9, verified=False))
    assert response.status_code == 403 and "verified" in response.json()["detail"]
    assert stored_oauth(user) == {}


def test_unknown_person_is_refused_and_no_account_is_made(oauth_on, world):
    before = User.objects.count()
    response = sign_in(APIClient(), oauth_on, "google", google("stranger@example.org", sub="g-stranger"))
    assert response.status_code == 403
    assert "invite" in response.json()["detail"]
    assert sign_in(APIClient(), oauth_on, "github", github("stranger@example.org", id=31337)).status_code == 403
    assert User.objects.count() == before


def test_bad_missing_and_replayed_state_are_400(oauth_on, world):
    user = world.user("a", "client")
    client = APIClient()
    oauth_on.who = google(user, sub="g-state")
    back = urlsplit(oauth_on.authorize(start(client, "google")))
    callback = f"{back.path}?{back.query}"
    code = parse_qs(back.query)["code"][0]

    wrong = client.get(f"{back.path}?code={code}&state=not-the-state")
    assert wrong.status_code == 400 and "state" in wrong.json()
    assert client.get(f"{back.path}?code={code}").status_code == 400
    # Another browser (no session) cannot finish this sign-in.
    assert APIClient().get(callback).status_code == 400
    assert client.get(callback).status_code == 200
    replayed = client.get(callback)  # the same callback again: its state is used up
    assert replayed.status_code == 400 and "state" in replayed.json()


def test_replayed_code_is_refused_by_the_provider_and_answers_400(oauth_on, world):
    user = world.user("a", "client")
    for name, who in (("google", google(user, sub="g-replay")), ("github", github(user, id=5150))):
        client = APIClient()
        oauth_on.who = who
        first = urlsplit(oauth_on.authorize(start(client, name)))
        assert client.get(f"{first.path}?{first.query}").status_code == 200
        old_code = parse_qs(first.query)["code"][0]
        fresh_state = parse_qs(urlsplit(start(client, name)).query)["state"][0]
        replayed = client.get(f"{first.path}?code={old_code}&state={fresh_state}")
        assert replayed.status_code == 400 and "code" in replayed.json(), replayed.json()


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "not-the-nonce"},
        {"aud": "another-client"},
        {"iss": "https://accounts.example.invalid"},
        {"exp": 1_000_000_000},
    ],
)
def test_id_token_that_does_not_check_out_is_400(oauth_on, world, changes):
    user = world.user("a", "client")
    oauth_on.id_token_changes = changes
    response = sign_in(APIClient(), oauth_on, "google", google(user, sub="g-forged"))
    assert response.status_code == 400 and "id_token" in str(response.json())
    assert stored_oauth(user) == {}


def test_provider_error_on_the_callback_is_400(oauth_on):
    client = APIClient()
    state = parse_qs(urlsplit(start(client, "github")).query)["state"][0]
    response = client.get(f"/api/v1/auth/oauth/github/callback/?error=access_denied&state={state}")
    assert response.status_code == 400 and "access_denied" in str(response.json())


def test_inactive_user_and_switched_off_company_are_refused(oauth_on, world):
    user = world.user("a", "content_manager")
    assert sign_in(APIClient(), oauth_on, "google", google(user, sub="g-off")).status_code == 200
    user.is_active = False
    user.save()
    response = sign_in(APIClient(), oauth_on, "google", google(user, sub="g-off"))
    assert response.status_code == 403 and "inactive" in response.json()["detail"]

    member = world.user("b", "content_manager")
    world.b.is_active = False
    world.b.save()
    assert sign_in(APIClient(), oauth_on, "github", github(member, id=606)).status_code == 403
    assert stored_oauth(member) == {}  # a refused person is not linked either


def test_account_linked_to_another_provider_id_is_not_relinked(oauth_on, world):
    user = world.user("a", "client")
    assert sign_in(APIClient(), oauth_on, "google", google(user, sub="g-first")).status_code == 200
    response = sign_in(APIClient(), oauth_on, "google", google(user, sub="g-second"))
    assert response.status_code == 403 and "another Google account" in response.json()["detail"]
    assert stored_oauth(user) == {"google_id": "g-first"}


def test_unconfigured_provider_is_404_and_unknown_provider_too(settings, world):
    settings.GOOGLE_CLIENT_ID = ""
    response = APIClient().get("/api/v1/auth/oauth/google/")
    assert response.status_code == 404 and "not configured" in response.json()["detail"]
    assert APIClient().get("/api/v1/auth/oauth/gitlab/").status_code == 404
    assert APIClient().get("/api/v1/auth/oauth/google/callback/?code=x&state=y").status_code == 404


def test_unreachable_provider_is_502(oauth_on, settings):
    settings.GOOGLE_DISCOVERY_URL = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    response = APIClient().get("/api/v1/auth/oauth/google/")
    assert response.status_code == 502 and "could not be reached" in response.json()["detail"]


def test_unlink(oauth_on, world, api):
    user = world.user("a", "client")
    assert sign_in(APIClient(), oauth_on, "github", github(user, id=8080)).status_code == 200
    assert sign_in(APIClient(), oauth_on, "google", google(user, sub="g-unlink")).status_code == 200
    client = api.as_user(User.objects.get(pk=user.pk))
    assert client.delete("/api/v1/users/me/oauth/github/").status_code == 204
    assert stored_oauth(user) == {"google_id": "g-unlink"}
    assert client.delete("/api/v1/users/me/oauth/gitlab/").status_code == 404
    assert APIClient().delete("/api/v1/users/me/oauth/google/").status_code == 401
    # Unlinked, the GitHub account links again by verified email.
    assert sign_in(APIClient(), oauth_on, "github", github(user, id=8081)).status_code == 200
    assert stored_oauth(user) == {"google_id": "g-unlink", "github_id": "8081"}


# --- storage: sparse unique indexes and the validator ----------------------------------------------


def test_indexes_are_sparse_and_unique():
    indexes = {ix["name"]: ix for ix in collection(User).list_indexes()}
    for name, key in (
        ("oauth_google_id_sparse_unique", "oauth.google_id"),
        ("oauth_github_id_sparse_unique", "oauth.github_id"),
    ):
        assert dict(indexes[name]["key"]) == {key: 1}
        assert indexes[name]["unique"] and indexes[name]["sparse"]


def test_two_users_cannot_share_one_provider_id(world):
    first, second, third = (world.user("a", "client"), world.user("b", "client"), world.user("b", "content_writer"))
    first.oauth = {"google_id": "shared", "github_id": "1"}
    first.save()
    second.oauth = {"google_id": "shared"}
    with pytest.raises((IntegrityError, DuplicateKeyError)):
        second.save()
    with pytest.raises(DuplicateKeyError):
        collection(User).update_one({"_id": third.pk}, {"$set": {"oauth.github_id": "1"}})
    # Sparse: users without an id (most) and users with only the other provider's do not collide.
    second.oauth = {"github_id": "2"}
    second.save()
    third.oauth = {"github_id": "3"}
    third.save()
    assert User.objects.filter(oauth={}).count() >= 2


def test_validator_refuses_null_or_unknown_oauth_keys(world):
    user = world.user("a", "client")
    for bad in ({"oauth.google_id": None}, {"oauth.google_id": ""}, {"oauth.twitter_id": "x"}, {"oauth": "g"}):
        with pytest.raises(WriteError):
            collection(User).update_one({"_id": user.pk}, {"$set": bad})
    assert stored_oauth(user) == {}


# --- the admin --------------------------------------------------------------------------------------


def _admin_sign_in(client, fake, name, who):
    page = client.get("/admin/login/?next=/admin/tenants/")
    assert page.status_code == 200
    link = re.search(rf'href="(/admin/oauth/{name}/[^"]*)"', page.content.decode())
    assert link, "no sign-in link on the admin login page"
    fake.who = who
    to_provider = client.get(link.group(1).replace("&amp;", "&"))
    assert to_provider.status_code == 302
    back = urlsplit(fake.authorize(to_provider["Location"]))
    assert back.path == f"/admin/oauth/{name}/callback/"
    return client.get(f"{back.path}?{back.query}")


def test_admin_login_page_links_configured_providers_only(client, settings, oauth_on):
    page = client.get("/admin/login/").content.decode()
    assert "Sign in with Google" in page and "Sign in with GitHub" in page
    settings.GITHUB_CLIENT_SECRET = ""
    page = client.get("/admin/login/").content.decode()
    assert "Sign in with Google" in page and "Sign in with GitHub" not in page


def test_admin_link_logs_a_staff_member_in(client, oauth_on, world):
    staff = world.user("a", "company_admin")
    response = _admin_sign_in(client, oauth_on, "github", github(staff, id=1001))
    assert response.status_code == 302 and response["Location"] == "/admin/tenants/"
    assert client.get("/admin/").status_code == 200
    assert stored_oauth(staff) == {"github_id": "1001"}


def test_admin_link_refuses_non_staff_and_strangers(client, oauth_on, world):
    writer = world.user("a", "content_writer")
    response = _admin_sign_in(client, oauth_on, "google", google(writer, sub="g-writer"))
    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    assert "has no access to the admin" in client.get("/admin/login/").content.decode()
    assert client.get("/admin/").status_code == 302

    response = _admin_sign_in(client, oauth_on, "google", google("nobody@example.org", sub="g-nobody"))
    assert response.status_code == 302
    assert "invite you first" in client.get("/admin/login/").content.decode()
    assert client.get("/admin/").status_code == 302
