"""A search index state's `version`, raised around every rewrite of its segments, under which
searches keep a term's segments read (scraping.selectors.search_segments)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scraping', '0016_search_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='searchindex',
            name='version',
            field=models.PositiveIntegerField(default=0),
        ),
    ]
