"""Data retention: finished contexts and closed batches older than the retention
period go to a gzip'd JSON-lines archive and are removed; recent, pending and running ones
stay; the management command and the beat task run it."""

import gzip
from datetime import timedelta

import pytest
from bson import ObjectId
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from content import tasks
from content.models import Batch, Context, ContextStatus
from content.services import batches, retention, runner
from tests.support.content import article_setup, content_settings, queued  # noqa: F401

pytestmark = pytest.mark.django_db


def test_old_finished_content_is_archived_then_removed(aged, tmp_path):
    old, recent, waiting = aged
    result = retention.archive_old(archive_dir=tmp_path)
    assert result.counts == {"contexts": 2, "batches": 1} and result.removed
    assert result.path.parent == tmp_path and result.path.name.endswith(".jsonl.gz")
    assert not list(tmp_path.glob(".*partial"))

    header, rows, end = retention.read_archive(result.path)
    assert header["format"] == "requestdesk-content-archive" and header["days"] == 90
    assert end["counts"] == {"contexts": 2, "batches": 1}
    archived = {(row["collection"], row["document"]["_id"]) for row in rows}
    assert archived == {("contexts", pk) for pk in old.context_ids} | {("batches", old.pk)}
    context = next(row["document"] for row in rows if row["collection"] == "contexts")
    assert isinstance(context["_id"], ObjectId) and context["status"] == "completed"
    assert context["data"]["generated_content"]["introduction"] == "Introduction text for old."
    assert context["created_at"].tzinfo is not None  # dates stay dates

    assert not Context.objects.filter(pk__in=old.context_ids).exists()
    assert not Batch.objects.filter(pk=old.pk).exists()
    # Recent content and old unfinished content stay.
    assert Context.objects.filter(pk__in=recent.context_ids, status=ContextStatus.COMPLETED).count() == 1
    assert Context.objects.filter(pk__in=waiting.context_ids, status=ContextStatus.PENDING).count() == 1
    assert Batch.objects.filter(pk__in=[recent.pk, waiting.pk]).count() == 2
    # Nothing left to archive: an empty but complete archive.
    again = retention.archive_old(archive_dir=tmp_path)
    assert again.counts == {"contexts": 0, "batches": 0} and again.path != result.path


def test_days_keep_and_no_archive_options(aged, tmp_path):
    old, recent, _ = aged
    kept = retention.archive_old(days=10, archive_dir=tmp_path, remove=False)
    assert kept.counts == {"contexts": 3, "batches": 2} and Context.objects.count() == 4
    removed = retention.archive_old(days=10, archive=False)
    assert removed.path is None and removed.counts == {"contexts": 3, "batches": 2}
    assert list(Context.objects.values_list("status", flat=True)) == ["pending"]
    with pytest.raises(ValueError):
        retention.archive_old(days=-1)


def test_the_command_and_the_scheduled_task(aged, tmp_path, settings, capsys):
    settings.STORAGES = {
        **settings.STORAGES,
        "archives": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "archives"},
        },
    }
    call_command("archive_content", "--days", "100", "--keep")
    out = capsys.readouterr().out
    assert "archived 2 context(s) and 1 batch(es)" in out and "kept in the database" in out
    assert Context.objects.count() == 4
    result = tasks.archive_old_content()
    assert result["counts"] == {"contexts": 2, "batches": 1} and result["removed"]
    assert len(list((tmp_path / "archives" / "content").glob("content-archive-*.jsonl.gz"))) == 2
    with gzip.open(tmp_path / "archives" / result["stored_as"], "rt") as archive:
        assert archive.readline().startswith('{"format": "requestdesk-content-archive"')


def test_retention_is_scheduled_daily():
    entries = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["content.tasks.archive_old_content"] == 86400.0
    assert entries["content.tasks.process_pending"] == 30.0
