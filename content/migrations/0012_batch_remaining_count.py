# A batch counts its contexts still to finish beside the counters (content.services.batches).

from django.db import migrations, models

COUNTERS = ("completed_count", "failed_count", "cancelled_count")


def count_remaining(apps, schema_editor):
    """remaining_count = context_count less the finished counters, for every batch stored."""
    batches = schema_editor.connection.get_collection(apps.get_model("content", "Batch")._meta.db_table)
    for batch in batches.find({}, {"context_count": 1, **{name: 1 for name in COUNTERS}}):
        remaining = batch.get("context_count", 0) - sum(batch.get(name, 0) for name in COUNTERS)
        batches.update_one({"_id": batch["_id"]}, {"$set": {"remaining_count": remaining}})


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0011_company_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="remaining_count",
            field=models.IntegerField(default=0),
        ),
        migrations.RunPython(count_remaining, migrations.RunPython.noop),
    ]
