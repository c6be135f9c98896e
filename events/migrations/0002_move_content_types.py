"""The moved models' content types follow them: the django_content_type documents of
tenants.auditlog, .notification, .webhook, .webhookdelivery and .schedule get app_label
"events", keeping their _id, so the permissions (auth_permission.content_type_id) and the
admin's log entries (django_admin_log.content_type_id) that point at them follow too.

A content type that does not exist (a new database: post_migrate creates the events ones
after this) is skipped. Where both labels exist already (the events one created by a
partial migrate), both are left alone and a warning says so. Backwards moves them back."""

import logging

from django.db import migrations

logger = logging.getLogger("requestdesk.migrations")

MODELS = ["auditlog", "notification", "webhook", "webhookdelivery", "schedule", "deliveryattempt"]


def _move(apps, schema_editor, source: str, target: str) -> None:
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        old = types.filter(app_label=source, model=model).first()
        if old is None:
            continue
        if types.filter(app_label=target, model=model).exists():
            logger.warning("content type %s.%s exists already: %s.%s is left as it is", target, model, source, model)
            continue
        types.filter(pk=old.pk).update(app_label=target)
    LiveContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move(apps, schema_editor, "tenants", "events")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, "events", "tenants")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0001_initial"),
        ("events", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
