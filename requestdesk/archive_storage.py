"""Where content archives and database backups are kept: the `archives` storage of STORAGES.

A worker's own disk is not a place for the only copy of deleted data (a container without
a volume loses it on restart), so retention and backups write their file locally, hand it to
this storage, check that the stored object has the file's size, and only then go on
(deleting the archived documents, pruning older backups). The storage is a directory
(ARCHIVE_ROOT, a named volume under docker-compose) or S3-compatible object storage
(ARCHIVE_S3_BUCKET, through django-storages and boto3); both are configured in settings.

Names are storage names ("content/content-archive-….jsonl.gz", "backups/requestdesk-….tar.gz"),
the same whatever the backend.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, storages

ALIAS = "archives"


def storage() -> Storage:
    return storages[ALIAS]


class StorageFailed(OSError):
    """The archive storage did not take or give a file (any backend's error, one line)."""


def upload(path: Path, name: str) -> str:
    """Store the local file `path` as `name` (or a free name next to it); returns the stored
    name once the stored object is known to hold all of the file (StorageFailed otherwise)."""
    path = Path(path)
    try:
        with open(path, "rb") as local:
            stored = storage().save(name, File(local, name=Path(name).name))
        found = storage().size(stored)
    except Exception as exc:  # each backend raises its own errors (OSError, botocore's ClientError, ...)
        raise StorageFailed(f"the archive storage did not store {name}: {exc}") from exc
    if found != path.stat().st_size:
        raise StorageFailed(f"the archive storage holds {found} of {path.stat().st_size} bytes of {stored}")
    return stored


@contextmanager
def downloaded(name: str) -> Iterator[Path]:
    """The stored object `name` as a local temporary file (removed on exit)."""
    with tempfile.TemporaryDirectory(prefix="archive-") as directory:
        local = Path(directory) / Path(name).name
        try:
            with storage().open(name, "rb") as remote, open(local, "wb") as out:
                shutil.copyfileobj(remote, out, 1 << 20)
        except Exception as exc:  # each backend raises its own errors
            raise StorageFailed(f"the archive storage did not give {name}: {exc}") from exc
        yield local


def names(folder: str) -> list[str]:
    """The stored names directly in `folder`, sorted."""
    try:
        _, files = storage().listdir(folder)
    except FileNotFoundError:  # a directory storage before its first file
        return []
    except Exception as exc:  # each backend raises its own errors
        raise StorageFailed(f"the archive storage did not list {folder}: {exc}") from exc
    return sorted(f"{folder}/{name}" for name in files)


def delete(name: str) -> None:
    storage().delete(name)


def describe(name: str) -> str:
    """Where `name` is, for people: a path, or s3://bucket/key."""
    backend = storage()
    bucket = getattr(backend, "bucket_name", None)
    if bucket:
        prefix = str(getattr(backend, "location", "")).strip("/")
        return f"s3://{bucket}/{prefix + '/' if prefix else ''}{name}"
    return backend.path(name)
