# Batches whose contexts all failed end as "failed", not "completed".

from django.db import migrations, models


def mark_failed_batches(apps, schema_editor):
    """Batches already closed as completed with nothing completed and some failed are failed."""
    Batch = apps.get_model("content", "Batch")
    Batch.objects.filter(status="completed", completed_count=0, failed_count__gt=0).update(status="failed")


def unmark_failed_batches(apps, schema_editor):
    Batch = apps.get_model("content", "Batch")
    Batch.objects.filter(status="failed").update(status="completed")


class Migration(migrations.Migration):

    dependencies = [
        ('content', '0004_list_filter_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='batch',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('processing', 'Processing'),
                                            ('completed', 'Completed'), ('failed', 'Failed'),
                                            ('cancelled', 'Cancelled')],
                                   default='pending', max_length=20),
        ),
        migrations.RunPython(mark_failed_batches, unmark_failed_batches),
    ]
