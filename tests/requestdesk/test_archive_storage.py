"""Archives and backups live in the configured archive storage, not on the worker's disk: a
named volume (a directory) by default, or S3-compatible object storage, here moto's S3 server
on loopback. The worker's local folder can go; the data comes back from the storage."""

import io
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from content.models import Batch, Context
from content.services import retention
from requestdesk import archive_storage
from tenants.models import Company
from tests.support.content import content_settings, queued  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_dir(settings, tmp_path):
    """The worker's own folder (DATA_DIR): what a container without a volume loses."""
    settings.DATA_DIR = tmp_path / "worker"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


@pytest.fixture
def volume(settings, tmp_path):
    """The default archive storage: a directory (a named volume under docker-compose)."""
    root = tmp_path / "volume"
    settings.STORAGES = {
        **settings.STORAGES,
        "archives": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


def _command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_item7_retention_archive_is_kept_on_the_volume_not_the_worker(aged, worker_dir, volume):
    old, _, _ = aged
    result = retention.archive_old()
    assert result.stored_as.startswith("content/content-archive-") and result.path is None
    assert (volume / result.stored_as).is_file() and not any(worker_dir.rglob("*.gz"))
    assert not Context.objects.filter(pk__in=old.context_ids).exists()
    shutil.rmtree(worker_dir)  # the worker container is replaced
    assert retention.stored_archives() == [result.stored_as]
    assert retention.restore_stored_archive(result.stored_as) == {"contexts": 2, "batches": 1}
    assert Context.objects.filter(pk__in=old.context_ids).count() == 2 and Batch.objects.filter(pk=old.pk).exists()


def test_item7_s3_backup_and_archive_survive_the_worker_folder(aged, worker_dir, s3_archives, s3_server):
    old, _, _ = aged
    archived = retention.archive_old()
    output = _command("backup")
    stored = s3_server.keys(s3_archives)
    assert f"requestdesk/{archived.stored_as}" in stored
    [backup_key] = [key for key in stored if key.startswith("requestdesk/backups/requestdesk-")]
    assert f"archive: s3://{s3_archives}/{backup_key}" in output
    assert not any(worker_dir.rglob("*.gz"))
    companies = set(Company.objects.values_list("name", flat=True))

    shutil.rmtree(worker_dir)  # the worker container is replaced, and the database changes
    Company.objects.create(name="Made after the backup")
    Context.objects.all().delete()
    restored = _command("restore", "--latest", "--drop")
    assert "counts match the manifest" in restored
    assert set(Company.objects.values_list("name", flat=True)) == companies
    assert not Context.objects.filter(pk__in=old.context_ids).exists()  # archived before the backup
    assert retention.restore_stored_archive(archived.stored_as) == {"contexts": 2, "batches": 1}
    assert Context.objects.filter(pk__in=old.context_ids).count() == 2


def test_item7_a_storage_that_fails_deletes_nothing(aged, worker_dir, s3_archives, s3_server, settings):
    s3_server.client().delete_bucket(Bucket=s3_archives)  # the bucket is gone
    before = Context.objects.count()
    with pytest.raises(archive_storage.StorageFailed):
        retention.archive_old()
    assert Context.objects.count() == before and Batch.objects.count() == 3
    with pytest.raises(CommandError, match="backup failed: the archive storage did not store"):
        _command("backup")
    with pytest.raises(CommandError, match="restore failed, the archive storage: .*NoSuchBucket"):
        _command("restore", "--latest")


def test_item7_backup_retention_defaults_to_7_days(db, worker_dir, volume):
    now = datetime.now(UTC)
    storage = archive_storage.storage()
    old = storage.save(f"backups/requestdesk-{now - timedelta(days=10):%Y%m%d-%H%M%S}.tar.gz", ContentFile(b"x"))
    recent = storage.save(f"backups/requestdesk-{now - timedelta(days=2):%Y%m%d-%H%M%S}.tar.gz", ContentFile(b"x"))
    output = _command("backup")
    assert "pruned 1 archive(s) older than 7 days" in output
    names = archive_storage.names("backups")
    assert old not in names and recent in names and len(names) == 2
    assert django_settings.BACKUP_RETENTION_DAYS == 7


def test_item7_compose_keeps_archives_on_a_named_volume():
    compose = yaml.safe_load((Path(django_settings.BASE_DIR) / "docker-compose.yml").read_text())
    assert "archives" in compose["volumes"]
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        root = service["environment"]["ARCHIVE_ROOT"]
        assert f"archives:{root}" in service["volumes"], name
