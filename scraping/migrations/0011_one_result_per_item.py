from django.db import migrations, models

from requestdesk.db.migrations import CreateIndex

# Data step (idempotent): every stored result gets its item key (its url on article and feed
# targets, else its content hash); the versions an article or feed entry left as separate
# results when its content changed are merged into the newest, and the sentiment rollups
# are rebuilt, with their platform-wide documents (scraping.services.item_keys). Then the
# unique (company, target, item_key) index, created raw: a UniqueConstraint becomes a partial index, which the embedded server
# does not plan. Backwards the merged versions are not restored (the newest is what counted).


def key_results(apps, schema_editor):
    from scraping.services.item_keys import key_results as key

    key(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('scraping', '0010_soft_delete'),
    ]

    operations = [
        migrations.AddField(
            model_name='result',
            name='change_count',
            field=models.PositiveIntegerField(default=0, editable=False, help_text='Times a scrape found the item\'s content changed.'),
        ),
        migrations.AddField(
            model_name='result',
            name='changed_at',
            field=models.DateTimeField(blank=True, editable=False, help_text="When a scrape last found the item's content changed.", null=True),
        ),
        migrations.AddField(
            model_name='scrapejob',
            name='results_updated',
            field=models.PositiveIntegerField(default=0, help_text='Stored items found with changed content.'),
        ),
        migrations.AddField(
            model_name='result',
            name='item_key',
            field=models.CharField(default='', editable=False, max_length=2000),
            preserve_default=False,
        ),
        migrations.RunPython(key_results, migrations.RunPython.noop),
        CreateIndex("scraping.Result", [("company_id", 1), ("target_id", 1), ("item_key", 1)],
                    "result_target_item_key_uniq", unique=True),
    ]
