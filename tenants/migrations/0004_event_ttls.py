"""Retention by TTL index: audit logs one year, notifications 30 days,
webhook deliveries 7 days after created_at."""

from django.db import migrations

from requestdesk.db.migrations import TTLIndex

DAY = 24 * 3600


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_events")]

    operations = [
        TTLIndex("tenants.AuditLog", "created_at", 365 * DAY),
        TTLIndex("tenants.Notification", "created_at", 30 * DAY),
        TTLIndex("tenants.WebhookDelivery", "created_at", 7 * DAY),
    ]
