from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_event_ttls")]

    operations = [
        migrations.AlterModelOptions(
            name="webhookdelivery",
            options={"ordering": ["-created_at"], "verbose_name_plural": "webhook deliveries"},
        ),
    ]
