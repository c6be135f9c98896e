import pytest
from rest_framework.test import APIClient

from tenants.models import Company, User
from tenants.roles import Role
from tests import flushing

flushing.install()

PASSWORD = "correct-Horse-battery-9"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_company(db):
    def make(name="Acme", **fields):
        return Company.objects.create(name=name, **fields)

    return make


@pytest.fixture
def make_user(db):
    counter = iter(range(10_000))

    def make(company, role=Role.CLIENT, username=None, **fields):
        username = username or f"{role}-{company.name if company else 'none'}-{next(counter)}".lower()
        user = User(username=username, email=f"{username}@example.com", role=role, company=company, **fields)
        user.set_password(PASSWORD)
        user.save()
        return user

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


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs it in (session-less, force-authenticated)."""

    client = APIClient()

    def as_user(user):
        client.force_authenticate(user)
        return client

    client.as_user = as_user
    return client
