"""Demo data of the tenants app, for `manage.py seed_demo`: two companies, a user of every
role in each (plus N more), a superadmin, an API key per company admin and a welcome
notification. Idempotent: what exists (by username, company name, key name) is kept."""

from typing import Any

from django.contrib.auth.hashers import make_password
from django.db.models import QuerySet

from events.models import Notification
from requestdesk.progress import Progress

from . import services
from .models import ApiKey, Company, User
from .roles import Role

DEMO_PASSWORD = "demo-Password-1"
COMPANIES = [("Acme Corp", "acme"), ("Globex", "globex")]
COMPANY_ROLES = [r for r in Role.values if r != Role.SUPERADMIN]


def _ensure_users(
    company: Company, slug: str, users_per_company: int, hashed: str, progress: Progress
) -> QuerySet[User]:
    wanted = [(f"{slug}-{role}", role) for role in COMPANY_ROLES]
    wanted += [(f"{slug}-user{i}", COMPANY_ROLES[-1 - i % 2]) for i in range(users_per_company)]
    existing = set(User.objects.filter(username__in=[u for u, _ in wanted]).values_list("username", flat=True))
    fresh = [
        User(
            username=u,
            email=f"{u}@{slug}.example",
            role=role,
            company=company,
            password=hashed,
            is_staff=role in (Role.COMPANY_ADMIN, Role.CONTENT_MANAGER),
        )
        for u, role in wanted
        if u not in existing
    ]
    for start in range(0, len(fresh), 500):
        User.objects.bulk_create(fresh[start : start + 500])
        progress(f"users of {company.name}", len(existing) + start + len(fresh[start : start + 500]), len(wanted))
    progress(f"users of {company.name}", len(wanted), len(wanted))
    return User.objects.filter(company=company)


def seed(*, users_per_company: int, progress: Progress) -> list[dict[str, Any]]:
    """Create the demo tenants; returns the credentials to print."""
    hashed = make_password(DEMO_PASSWORD)
    credentials: list[dict[str, Any]] = []
    if not User.objects.filter(username="demo-superadmin").exists():
        User.objects.create(
            username="demo-superadmin", email="superadmin@demo.example", role=Role.SUPERADMIN, password=hashed
        )
    credentials.append({"company": "(all)", "role": Role.SUPERADMIN, "username": "demo-superadmin"})
    for name, slug in COMPANIES:
        company, _ = Company.objects.get_or_create(name=name, defaults={"domain": f"{slug}.example"})
        users = _ensure_users(company, slug, users_per_company, hashed, progress)
        admin = users.get(username=f"{slug}-company_admin")
        if company.owner_id is None:
            Company.objects.filter(pk=company.pk).update(owner=admin)
        key = None
        if not ApiKey.objects.filter(user=admin, name="demo").exists():
            _, key = services.create_api_key(user=admin, company=company, name="demo")
        if not Notification.objects.filter(company=company, type="welcome").exists():
            Notification.objects.bulk_create(
                [
                    Notification(
                        company=company,
                        user=user,
                        type="welcome",
                        title=f"Welcome to {name}",
                        message="This is demo data created by seed_demo.",
                    )
                    for user in users
                ]
            )
        for role in COMPANY_ROLES:
            row = {"company": name, "role": role, "username": f"{slug}-{role}"}
            if role == Role.COMPANY_ADMIN and key:
                row["api_key"] = key
            credentials.append(row)
    return credentials
