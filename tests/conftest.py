import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tenants.models import Company, User
from tenants.roles import Role
from tests import flushing, services
from tests.support.migrations import migration_states  # noqa: F401

flushing.install()


@pytest.fixture(scope="session")
def django_db_keepdb(request):
    """Keep (and reuse) the test database when our server started on the migrated template:
    pytest-django then only checks that every migration is applied."""
    return services.MIGRATED or request.config.getvalue("reuse_db")


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix(request):
    """No _gw0 suffix on a worker's database name when the worker has a server of its own
    (the template's database is MONGODB_TEST_NAME); a shared server still gets the suffixes."""
    from pytest_django.fixtures import _set_suffix_to_test_databases

    worker = getattr(request.config, "workerinput", {}).get("workerid")
    if worker and not services.MIGRATED:
        _set_suffix_to_test_databases(suffix=worker)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    result = yield
    if fixturedef.argname == "django_db_setup":
        flushing.forget()  # the migrations' writes: the first test's teardown need not flush them
    return result


PASSWORD = "correct-Horse-battery-9"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _unhurried_lists(settings):
    """List pages read without their time budget: on a loaded machine a changelist's walk
    stopped at LIST_READ_SECONDS (0.5 s) counted its one row as "at least 2" (seen once, in
    a full run beside a 100,000-result seed). The tests of the budget set their own."""
    settings.LIST_READ_SECONDS = 60


@pytest.fixture
def make_company(db):
    def make(name="Acme", **fields):
        return Company.objects.create(name=name, **fields)

    return make


def create_user(company, role, username, **fields) -> User:
    user = User(username=username, email=f"{username}@example.com", role=role, company=company, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def make_user(db):
    counter = iter(range(10_000))

    def make(company, role=Role.CLIENT, username=None, **fields):
        username = username or f"{role}-{company.name if company else 'none'}-{next(counter)}".lower()
        return create_user(company, role, username, **fields)

    return make


class World:
    """Two companies, A and B, each with one user of every role."""

    def __init__(self, make_company, make_user):
        self.a = make_company("A")
        self.b = make_company("B")
        self.users = {
            (c, role): make_user(company, role, username=f"{c}-{role}")
            for c, company in (("a", self.a), ("b", self.b))
            for role in Role.values
        }

    def user(self, company: str, role: str) -> User:
        return self.users[(company, role)]


@pytest.fixture
def world(make_company, make_user):
    return World(make_company, make_user)


def shared_world() -> World:
    """A World made outside a test, for a module- or class-scoped fixture whose rows the tests
    share (tests/flushing.py `kept`). Its passwords are hashed as in the tests (MD5), not
    with the default PBKDF2 (about 0.4 s a user, 10 users)."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        return World(lambda name: Company.objects.create(name=name), create_user)


@pytest.fixture(scope="class")
def kept_world(django_db_setup, django_db_blocker):
    """A World made once for the tests of a class, which write none of its collections
    (companies, users, their reference pipelines; tests/flushing.py `kept` checks it): the
    `world` of a `SharedWorld` class."""
    yield from flushing.shared(django_db_blocker, shared_world)


class SharedWorld:
    """Base of a test class whose tests, and the fixtures they use, only read the world's
    rows: they share one (`kept_world`) instead of making one each (about 20 inserts)."""

    @pytest.fixture
    def world(self, db, kept_world):
        return kept_world


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs it in (session-less, force-authenticated)."""

    client = APIClient()

    def as_user(user):
        client.force_authenticate(user)
        return client

    client.as_user = as_user
    return client
