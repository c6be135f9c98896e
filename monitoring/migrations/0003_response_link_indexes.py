"""Indexes to find the tickets and pipeline runs opened from one scraped result: their
`links.id` (a path into content's JSON `links` list, which Meta.indexes cannot express),
after the company, so `{company_id, "links.id": <result id>}` is one bounded index scan
(monitoring.selectors.responses)."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0002_alerts"),
    ]

    operations = [
        CreateIndex("content.Ticket", [("company_id", 1), ("links.id", 1)], "ticket_company_link"),
        CreateIndex("content.Context", [("company_id", 1), ("links.id", 1)], "context_company_link"),
    ]
