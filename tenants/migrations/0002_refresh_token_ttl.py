"""Refresh tokens are removed by MongoDB as soon as they expire (TTL 0 on expires_at)."""

from django.db import migrations

from requestdesk.db.migrations import TTLIndex


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [TTLIndex("tenants.RefreshToken", "expires_at", 0)]
