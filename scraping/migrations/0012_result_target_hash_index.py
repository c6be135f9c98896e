"""The unique (target, content_hash) constraint becomes a plain unique (company, target,
content_hash) index. The backend writes a UniqueConstraint as a partial index, which the
embedded server never plans a query on, so ingest's dedupe lookup by content hash read every
result (about 800 ms for 50 digests at 5k results). One plain unique index both refuses
duplicates and serves the lookup (an index scan), without a second index to maintain on every
insert; led by the company like the item-key index, so (company, target) can shard results."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):

    dependencies = [
        ('scraping', '0011_one_result_per_item'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='result', name='result_target_hash_uniq'),
        CreateIndex("scraping.Result", [("company_id", 1), ("target_id", 1), ("content_hash", 1)], "result_target_hash_uniq",
                    unique=True),
    ]
