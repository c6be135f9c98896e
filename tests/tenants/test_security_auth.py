"""Security: sign-in throttling and lockout, switched-off companies, refresh tokens
after a password change, user enumeration, and the deployment settings. Each `test_holeN_…`
replays the request that got through before the fix."""

import os
import re
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from requestdesk.embedded import free_port
from tenants import services
from tenants.models import RefreshToken, User
from tenants.roles import Role
from tests import flushing
from tests.conftest import PASSWORD
from tests.paths import ROOT

TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Throttle and lockout counts live in Redis, shared by every test of the run (flushed
    directly afterwards: a test may still point the cache at a dead server)."""
    cache.clear()
    yield
    with redis.Redis.from_url(django_settings.REDIS_URL) as connection:
        connection.flushdb()


def _sign_in(username, password=PASSWORD, client=None, **headers):
    return (client or APIClient()).post(TOKEN, {"username": username, "password": password}, **headers)


def _bearer(access):
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


# --- hole 1: the login throttle and a per-account lockout -----------------------------------


def test_hole1_forwarded_for_does_not_reset_login_throttle(world, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "5/min")
    user = world.user("a", "client")
    statuses = [_sign_in(user.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _sign_in(user.username, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_hole1_forwarded_for_is_trusted_only_from_configured_proxies(world, monkeypatch, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "2/min")
    user = world.user("a", "client")
    # Behind one proxy, the address that proxy appended is the client's; what the client wrote is not.
    spoofed = [
        _sign_in(user.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.5").status_code for n in range(3)
    ]
    assert spoofed == [401, 401, 429]
    assert _sign_in(user.username, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200  # another client


def test_hole1_account_locks_after_repeated_failures_from_any_address(world, settings):
    settings.AXES_FAILURE_LIMIT = 5
    user, other = world.user("a", "client"), world.user("a", "content_writer")
    statuses = [_sign_in(user.username, "wrong", REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(5)]
    assert statuses == [401] * 4 + [429]
    locked = _sign_in(user.email, REMOTE_ADDR="192.0.2.99")  # right password, by email, new address
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert RefreshToken.objects.filter(user=user).count() == 0
    assert _sign_in(other.username).status_code == 200  # the lockout is per account


def test_hole1_lockout_ends_after_the_cool_off(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    user = world.user("a", "client")
    assert [_sign_in(user.username, "wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert _sign_in(user.username).status_code == 429
    time.sleep(1.5)
    assert _sign_in(user.username).status_code == 200


def test_hole1_success_resets_the_failure_count(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = world.user("a", "client")
    for _ in range(2):
        assert _sign_in(user.username, "wrong").status_code == 401
    assert _sign_in(user.username).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None
    for _ in range(2):
        assert _sign_in(user.username, "wrong").status_code == 401
    assert _sign_in(user.username).status_code == 200


def test_hole1_admin_login_shares_the_lockout(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    admin = world.user("a", "superadmin")
    for _ in range(2):
        client.post("/admin/login/", {"username": admin.username, "password": "wrong"})
    response = client.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_hole1_sign_in_works_with_redis_down(world, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    user = world.user("a", "client")
    assert _sign_in(user.username, "wrong").status_code == 401
    assert _sign_in(user.username).status_code == 200


# --- hole 2: members of a switched-off company -------------------------------------------------


def _switch_off(company, *, bypass_signals=False):
    if bypass_signals:  # what another process's write looks like to this one
        type(company).objects.filter(pk=company.pk).update(is_active=False)
    else:
        company.is_active = False
        company.save()


def test_hole2_switched_off_company_members_are_refused(world):
    member = world.user("a", "company_admin")
    tokens = _sign_in(member.username).json()
    _key, raw = services.create_api_key(user=member, company=world.a, name="k")
    client = APIClient()
    assert client.get("/api/v1/users/", **_bearer(tokens["access"])).status_code == 200
    assert client.get("/api/v1/users/", HTTP_X_API_KEY=raw).status_code == 200

    _switch_off(world.a)
    assert client.get("/api/v1/users/", **_bearer(tokens["access"])).status_code == 401
    assert client.get("/api/v1/users/", HTTP_X_API_KEY=raw).status_code == 401
    assert client.post("/api/v1/content/tickets/", {"title": "x"}, HTTP_X_API_KEY=raw).status_code == 401
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    assert _sign_in(member.username).status_code == 401
    # Company B is untouched.
    assert _sign_in(world.user("b", "company_admin").username).status_code == 200


def test_hole2_deactivation_by_another_process_lands_within_the_cache_window(world, settings):
    settings.AUTH_CACHE_SECONDS = 1
    member = world.user("a", "content_manager")
    access = _sign_in(member.username).json()["access"]
    _key, raw = services.create_api_key(user=member, company=world.a, name="k")
    client = APIClient()
    assert client.get("/api/v1/users/me/", **_bearer(access)).status_code == 200  # cached now
    assert client.get("/api/v1/users/me/", HTTP_X_API_KEY=raw).status_code == 200
    _switch_off(world.a, bypass_signals=True)
    time.sleep(settings.AUTH_CACHE_SECONDS + 0.2)
    assert client.get("/api/v1/users/me/", **_bearer(access)).status_code == 401
    assert client.get("/api/v1/users/me/", HTTP_X_API_KEY=raw).status_code == 401


def test_hole2_guest_key_of_a_member_whose_own_company_is_off(world):
    guest = world.user("a", "content_manager")
    guest.guest_companies = [world.b.pk]
    guest.save()
    _key, raw = services.create_api_key(user=guest, company=world.b, name="guest key")
    client = APIClient()
    assert client.get("/api/v1/users/me/", HTTP_X_API_KEY=raw).status_code == 200
    _switch_off(world.a)
    assert client.get("/api/v1/users/me/", HTTP_X_API_KEY=raw).status_code == 401


def test_hole2_admin_session_of_a_switched_off_company_ends(client, world):
    staff = world.user("a", "company_admin")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    _switch_off(world.a)
    assert client.get("/admin/").status_code == 302  # back to the login page


def test_hole2_superadmin_is_not_shut_out_by_their_company(world):
    admin = world.user("a", "superadmin")
    _switch_off(world.a)
    assert _sign_in(admin.username).status_code == 200


# --- hole 6: a password change revokes refresh tokens ------------------------------------------


def test_hole6_password_change_revokes_refresh_tokens(world, api):
    user = world.user("a", "client")
    first, second = _sign_in(user.username).json(), _sign_in(user.username).json()
    admin = world.user("a", "company_admin")
    changed = api.as_user(admin).patch(f"/api/v1/users/{user.pk}/", {"password": "an0ther-Long-secret"})
    assert changed.status_code == 200
    client = APIClient()
    for tokens in (first, second):
        assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    assert RefreshToken.objects.filter(user=user, revoked_at=None).count() == 0
    assert _sign_in(user.username, "an0ther-Long-secret").status_code == 200


def test_hole6_password_change_refuses_earlier_access_tokens(world, api):
    user = world.user("a", "client")
    before = _sign_in(user.username).json()["access"]
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {before}")
    assert reader.get("/api/v1/users/me/").status_code == 200
    admin = world.user("a", "company_admin")
    assert api.as_user(admin).patch(f"/api/v1/users/{user.pk}/", {"password": "an0ther-Long-secret"}).status_code == 200
    refused = reader.get("/api/v1/users/me/")
    assert refused.status_code == 401 and "password change" in refused.json()["detail"]
    after = _sign_in(user.username, "an0ther-Long-secret").json()["access"]
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {after}")
    assert reader.get("/api/v1/users/me/").status_code == 200


def test_hole6_other_saves_keep_refresh_tokens(world):
    user = world.user("a", "client")
    tokens = _sign_in(user.username).json()
    user.first_name = "Renamed"
    user.save()
    User.objects.get(pk=user.pk).check_password(PASSWORD)  # a sign-in's check (and any rehash)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert reader.get("/api/v1/users/me/").status_code == 200
    assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 200


# --- hole 5: ./dev binds loopback; a per-checkout secret key ----------------------------------


def _settings_in_subprocess(code, **env):
    """`code` in a new process that has read the settings with this environment (the settings
    module alone: django.setup()'s app imports, about 2 s of CPU, read no setting)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "JWT_SIGNING_KEY"}}
    program = f"from django.conf import settings; {code}"
    with flushing.elsewhere():  # reads settings, touches no database: no flush after the test
        return subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**clean, "DJANGO_SETTINGS_MODULE": "requestdesk.settings", **env},
        )


def test_hole5_secret_key_is_made_per_checkout_and_kept(tmp_path):
    show = "print(settings.SECRET_KEY); print(settings.JWT_SIGNING_KEY)"
    first = _settings_in_subprocess(show, DEBUG="1", DATA_DIR=str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    key, jwt_key = first.stdout.split()
    assert key == jwt_key and len(key) >= 50
    kept = tmp_path / "one" / "secret-key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    again = _settings_in_subprocess(show, DEBUG="1", DATA_DIR=str(tmp_path / "one"))
    assert again.stdout.split()[0] == key  # the same checkout keeps its key
    other = _settings_in_subprocess(show, DEBUG="1", DATA_DIR=str(tmp_path / "two"))
    assert other.stdout.split()[0] != key  # another checkout has its own


def test_hole5_a_kept_key_starting_with_a_dollar_sign_is_read_as_it_is(tmp_path):
    kept = tmp_path / "secret-key"
    kept.write_text("$" + "k" * 49)  # get_random_secret_key() draws "$" first one time in 50
    result = _settings_in_subprocess(
        "print(settings.SECRET_KEY); print(settings.JWT_SIGNING_KEY)", DEBUG="1", DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split() == ["$" + "k" * 49] * 2


def test_hole5_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = _settings_in_subprocess(
        "print(settings.SECRET_KEY)", DEBUG="0", FIELD_ENCRYPTION_KEY="k", DATA_DIR=str(tmp_path)
    )
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret-key").exists()


def test_hole5_dev_up_binds_loopback_by_default():
    with open(os.path.join(ROOT, "dev")) as script:
        lines = script.read().splitlines()
    runserver = [line for line in lines if "manage.py runserver" in line]
    assert len(runserver) == 1 and '"$host:$port"' in runserver[0]
    assert [line.strip() for line in lines if "local host=" in line] == [
        'local host="${BIND_HOST:-127.0.0.1}" port="${PORT:-8000}" pids=()'
    ]


# --- hole 10: no "already exists" answer about other companies' users ---------------------------


def test_hole10_taken_username_or_email_answers_the_same_wherever_it_is(world, api):
    """A company admin never creates accounts (they invite: tests/tenants/test_invitations.py);
    a superadmin, who sees every company, is told "not available" without naming anyone."""
    mine, theirs = world.user("a", "client"), world.user("b", "client")
    refused = api.as_user(world.user("a", "company_admin")).post(
        "/api/v1/users/", {"username": theirs.username, "email": "x@example.com", "password": "a-Long-passw0rd"}
    )
    assert refused.status_code == 403 and "/api/v1/invitations/" in refused.json()["detail"]
    client = api.as_user(world.user("a", "superadmin"))

    def create(username, email):
        return client.post(
            "/api/v1/users/", {"username": username, "email": email, "password": "a-Long-passw0rd", "role": Role.CLIENT}
        )

    own_clash, other_clash = create(mine.username, "new1@example.com"), create(theirs.username, "new2@example.com")
    assert own_clash.status_code == other_clash.status_code == 400
    assert own_clash.json() == other_clash.json() == {"username": ["This username is not available."]}
    own_clash, other_clash = create("new-one", mine.email), create("new-two", theirs.email.upper())
    assert own_clash.json() == other_clash.json() == {"email": ["This email address is not available."]}
    assert not User.objects.filter(username__in=["new-one", "new-two"]).exists()
    assert create("new-three", "new3@example.com").status_code == 201


def test_hole10_renaming_answers_the_same_wherever_the_name_is(world, api):
    """Before: a company admin renaming their user to company B's username got "not available",
    to a free name 200. Now a rename is a superadmin's: the same 400 whatever the name."""
    client = api.as_user(world.user("a", "company_admin"))
    target, theirs = world.user("a", "client"), world.user("b", "client")
    answers = [
        client.patch(f"/api/v1/users/{target.pk}/", {"username": name})
        for name in (theirs.username, "a-free-name", world.user("a", "content_writer").username)
    ]
    assert {a.status_code for a in answers} == {400}
    assert (
        answers[0].json()
        == answers[1].json()
        == answers[2].json()
        == {"username": ["Only a superadmin changes a username."]}
    )
    target.refresh_from_db()
    assert target.username != "a-free-name"
    same = client.patch(f"/api/v1/users/{target.pk}/", {"username": target.username, "first_name": "Kept"})
    assert same.status_code == 200  # sending the name unchanged is no rename
    renamed = api.as_user(world.user("a", "superadmin")).patch(f"/api/v1/users/{target.pk}/", {"username": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["username"] == "renamed"


def test_hole10_account_writes_are_throttled(world, api, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "accounts", "3/min")
    client = api.as_user(world.user("a", "company_admin"))
    target = world.user("a", "client")
    statuses = [client.patch(f"/api/v1/users/{target.pk}/", {"first_name": f"n{n}"}).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/users/").status_code == 200  # reads are not counted


# --- hole 11: production settings ---------------------------------------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-key-for-tests-" + "y" * 20,
    "FIELD_ENCRYPTION_KEY": "k",
    "ALLOWED_HOSTS": "api.example.com",
}


def _check_deploy(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"HTTPS", "NUM_PROXIES"}}
    with flushing.elsewhere():  # the checks read no database: no flush after the test
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT,
            env={**clean, **PRODUCTION, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


def _security_warnings(result) -> set:
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"\(security\.(W\d+)\)", result.stdout + result.stderr))


@pytest.mark.slow
def test_hole11_check_deploy_is_clean_behind_tls():
    assert _security_warnings(_check_deploy(HTTPS="1", NUM_PROXIES="1", SECURE_HSTS_PRELOAD="1")) == set()
    # Preloading is a commitment each site opts into; the redirect and HSTS are on by default.
    assert _security_warnings(_check_deploy(HTTPS="1")) == {"W021"}
    # Without TLS configured, the warnings are true and stay.
    assert {"W004", "W008"} <= _security_warnings(_check_deploy())


def test_hole11_tls_settings_redirect_and_send_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_REDIRECT_EXEMPT = [r"^health/"]
    assert client.get("/api/v1/").status_code == 301
    assert client.get("/health/").status_code == 200
    secure = client.get("/health/", HTTP_X_FORWARDED_PROTO="https")
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def _serve(port, env):
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    with flushing.elsewhere():  # it serves pages that write nothing: no flush after the test
        return subprocess.Popen(
            [gunicorn, "requestdesk.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: master and worker end together
        )


def _get(url, deadline):
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
def test_hole11_debug_off_serves_admin_and_docs_without_collectstatic(tmp_path):
    """A checkout started with DEBUG=0 by hand, over real HTTP: no collected files (an empty
    STATIC_ROOT), yet the admin's login and the API docs answer, with their CSS and JS."""
    port = free_port()
    env = {
        **os.environ,
        **PRODUCTION,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATA_DIR": str(tmp_path / "data"),
    }
    server = _serve(port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        login = _get(f"{base}/admin/login/", deadline)
        assert login.status_code == 200, login.text[:300]
        docs = _get(f"{base}/api/v1/docs/", deadline)
        assert docs.status_code == 200
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', login.text + docs.text)
        assert len(assets) >= 3
        for asset in assets:
            assert _get(base + asset, deadline).status_code == 200, asset
    finally:
        # Killed, master and worker: a graceful stop took 1.7-3 s (the worker's interpreter
        # shutdown alone, tearing down Django's modules, is about 1 s), and no test is about it.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
