"""Create the first superadmin (and a company for it) when none exists; print how to log in.

The password comes from ADMIN_PASSWORD, else it is generated once and kept in
DATA_DIR/admin-password (outside the repository) so later runs can print it again.
"""

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.models import Company, User
from tenants.roles import Role


class Command(BaseCommand):
    help = "Create the first superadmin if there is none, and print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=os.environ.get("ADMIN_USERNAME", "admin"))
        parser.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))

    def handle(self, *args: Any, **options: Any) -> None:
        username, email = options["username"], options["email"]
        password_file = settings.DATA_DIR / "admin-password"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            company, _ = Company.objects.get_or_create(name="requestdesk", defaults={"domain": "localhost"})
            user = User(username=username, email=email, role=Role.SUPERADMIN, company=company)
            user.set_password(password)
            user.save()
            if company.owner is None:
                company.owner = user
                company.save(update_fields=["owner"])
            if not os.environ.get("ADMIN_PASSWORD"):
                password_file.parent.mkdir(parents=True, exist_ok=True)
                password_file.write_text(password)
                password_file.chmod(0o600)
            self.stdout.write(f"created superadmin {username}")
        if os.environ.get("ADMIN_PASSWORD"):
            shown = "(the ADMIN_PASSWORD you set)"
        elif password_file.exists():
            shown = password_file.read_text().strip()
        else:
            shown = "(unchanged; set by you earlier)"
        self.stdout.write(f"login: {username} / {shown}")
