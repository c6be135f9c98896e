"""A schedule's `target_id` becomes `subject_id`: the id of what it runs for (a scraping
project, a knowledge collection), not a scraping target's. The stored field is renamed in
place. Its uniqueness with the task becomes a plain unique index: the backend writes a
UniqueConstraint as a partial index, which the embedded server never plans, so each lookup
of a project's or a collection's schedule read every schedule."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_move_content_types"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="schedule", name="schedule_task_target_uniq"),
        migrations.RenameField(model_name="schedule", old_name="target_id", new_name="subject_id"),
        CreateIndex("events.Schedule", [("task", 1), ("subject_id", 1)], "schedule_task_subject_uniq", unique=True),
    ]
