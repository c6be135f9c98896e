"""Collections synced from a scraping project.

* source_type (collections and chunks): the `scraping` choice;
* sync_history.trigger: `scrape` (a sync queued by a completed scrape of its project);
* collections.sync_cursor: where the next listing of an incremental source starts (empty
  for the stored collections: their next sync reads their source whole, as before).
"""

from django.db import migrations, models

SOURCE_TYPES = [
    ("manual", "Manual"),
    ("shopify", "Shopify"),
    ("wordpress", "WordPress"),
    ("upload", "Upload"),
    ("scraping", "Scraping project"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0010_conversation_search_attachments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="knowledgecollection",
            name="source_type",
            field=models.CharField(choices=SOURCE_TYPES, default="manual", max_length=20),
        ),
        migrations.AlterField(
            model_name="knowledgechunk",
            name="source_type",
            field=models.CharField(choices=SOURCE_TYPES, max_length=20),
        ),
        migrations.AlterField(
            model_name="knowledgecollection",
            name="settings",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='e.g. {"chunk_size": 800, "chunk_overlap": 100, "wordpress_types": ["posts", "pages"], '
                '"shopify_resources": ["products", "articles"], "project_id": "<a scraping project>", '
                '"platforms": ["reviews"]}',
            ),
        ),
        migrations.AlterField(
            model_name="synchistory",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("api", "API"),
                    ("admin", "Admin"),
                    ("schedule", "Schedule"),
                    ("upload", "Upload/manual"),
                    ("scrape", "Completed scrape"),
                ],
                default="api",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="knowledgecollection",
            name="sync_cursor",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
    ]
