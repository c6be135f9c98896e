"""Alerts fire under a lease: `fired_at` once their ticket, notification and event are out,
and the lease (`firer`, `lease_until`) a worker holds while firing. Alerts stored before
were fired when they were stored."""

from django.db import migrations, models


def mark_fired(apps, schema_editor):
    Alert = apps.get_model("monitoring", "Alert")
    for alert in Alert.objects.filter(fired_at=None).only("pk", "created_at"):
        Alert.objects.filter(pk=alert.pk).update(fired_at=alert.created_at)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0004_sentiment_report")]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="fired_at",
            field=models.DateTimeField(
                blank=True, help_text="When its ticket, notification and event were all out.", null=True
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="alert",
            name="firer",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(mark_fired, migrations.RunPython.noop, elidable=False),
    ]
