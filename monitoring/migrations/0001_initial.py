"""The monitoring app starts after the apps it joins."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tenants", "0015_invitation"),
        ("events", "0003_schedule_subject"),
        ("content", "0010_links_retrieval_insights"),
        ("knowledge", "0010_conversation_search_attachments"),
        ("scraping", "0013_rollup_unique_index"),
    ]

    operations = []
