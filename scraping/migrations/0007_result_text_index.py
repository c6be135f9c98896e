"""The results' text index (title 10, text 5: Result.TEXT_INDEX) on servers that have text
indexes; the embedded server has none and keeps searching its postings."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [("scraping", "0006_list_filter_indexes")]

    operations = [
        CreateIndex("scraping.Result", [("content.title", "text"), ("content.text", "text")], "result_text",
                    skip_unsupported=True, weights={"content.title": 10, "content.text": 5}),
    ]
