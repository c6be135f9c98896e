"""seed_demo: every role in two companies, printed credentials that work, idempotent."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import Company, Notification, User
from tenants.roles import Role
from tenants.seed import DEMO_PASSWORD


def _seed(**options):
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_seed_creates_every_role_and_working_credentials(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    output = _seed(users=4)
    assert Company.objects.count() == 2
    for company in Company.objects.all():
        roles = set(User.objects.filter(company=company).values_list("role", flat=True))
        assert roles == set(Role.values) - {Role.SUPERADMIN}
        assert User.objects.filter(company=company).count() == 4 + 4
    assert User.objects.get(username="demo-superadmin").is_superuser
    assert Notification.objects.filter(type="welcome").count() == 16

    # The printed password signs in, and the printed key lists only its company's users.
    tokens = APIClient().post("/api/v1/auth/token/", {"username": "acme-client", "password": DEMO_PASSWORD})
    assert tokens.status_code == 200
    key = re.search(r"acme-company_admin\s+API key: (\S+)", output).group(1)
    listed = APIClient().get("/api/v1/users/?page_size=100", HTTP_X_API_KEY=key).json()
    assert listed["count"] == 8 and all(u["username"].startswith("acme-") for u in listed["results"])


def test_seed_again_changes_nothing(db):
    _seed(users=2)
    counts = (User.objects.count(), Company.objects.count(), Notification.objects.count())
    output = _seed(users=2)
    assert (User.objects.count(), Company.objects.count(), Notification.objects.count()) == counts
    assert "API key:" not in output  # keys are shown only when created


def test_negative_users_is_a_one_line_error(db):
    with pytest.raises(CommandError, match="--users must be 0 or more"):
        _seed(users=-1)
