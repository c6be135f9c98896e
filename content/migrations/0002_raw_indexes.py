"""The index the model Meta cannot express: templates {metadata.tags: 1}, a path into
the JSON metadata (tag searches: GET /content/templates/?tag=...)."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [("content", "0001_initial")]

    operations = [
        CreateIndex("content.Template", [("metadata.tags", 1)], "template_metadata_tags"),
    ]
