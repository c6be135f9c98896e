"""Data retention: contexts and batches are kept CONTENT_RETENTION_DAYS (90).

`archive_old()` (beat, daily; `manage.py archive_content --days N`) writes the finished
contexts and the closed batches created before the cutoff to one gzip'd JSON-lines file,
`content/content-archive-<UTC stamp>.jsonl.gz` in the archive storage
(requestdesk.archive_storage: a volume or S3-compatible object storage, never only the
worker's own disk), then deletes them:

* line 1, the header: {"format": "requestdesk-content-archive", "version": 1, "created_at",
  "cutoff", "days"};
* then one line per document: {"collection": "contexts" | "batches", "document": {...}} in
  MongoDB canonical extended JSON, so ids, dates and numbers keep their types;
* last line: {"end": true, "counts": {"contexts": N, "batches": M}}; a file without it
  is incomplete.

The file is written under a temporary name, flushed to disk and renamed, then stored and
its stored size checked; documents are deleted only after that, and only if they still
match (a context retried meanwhile stays). A storage that fails raises and deletes nothing.
`archive_dir` writes to that local directory instead (`archive_content --dir`).
Pending or running contexts and open batches are never archived, whatever their age.
`archive=False` (CONTENT_RETENTION_ARCHIVE=0) removes without a file; `remove=False` writes
the file and keeps the documents.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import json_util
from bson.json_util import JSONMode, JSONOptions
from django.conf import settings
from django.utils import timezone

from requestdesk import archive_storage
from requestdesk.db.collections import raw

from ..models import FINISHED, Batch, BatchStatus, Context

FORMAT = "requestdesk-content-archive"
VERSION = 1
CANONICAL = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True)
CHUNK = 1000


FOLDER = "content"  # of the archive storage


@dataclass
class Result:
    path: Path | None  # a local archive (archive_dir), else None
    counts: dict = field(default_factory=dict)
    removed: bool = False
    stored_as: str | None = None  # its name in the archive storage

    @property
    def where(self) -> str | None:
        return archive_storage.describe(self.stored_as) if self.stored_as else str(self.path) if self.path else None

    def as_dict(self) -> dict:
        return {
            "path": str(self.path) if self.path else None,
            "stored_as": self.stored_as,
            "counts": self.counts,
            "removed": self.removed,
        }


def _targets(cutoff) -> dict:
    """Model -> filter of what is old enough and finished."""
    return {
        Context: {"created_at": {"$lt": cutoff}, "status": {"$in": [str(s) for s in FINISHED]}},
        Batch: {
            "created_at": {"$lt": cutoff},
            "status": {"$in": [BatchStatus.COMPLETED.value, BatchStatus.FAILED.value, BatchStatus.CANCELLED.value]},
        },
    }


def _all_companies(model):
    """Retention runs over every company's documents: raw(..., unscoped=True)."""
    return raw(model, unscoped=True)


def _line(value: dict) -> bytes:
    return (json_util.dumps(value, json_options=CANONICAL) + "\n").encode()


def _archive_path(archive_dir: Path, now: datetime) -> Path:
    stem = f"content-archive-{now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')}"
    path, n = archive_dir / f"{stem}.jsonl.gz", 0
    while path.exists():
        n += 1
        path = archive_dir / f"{stem}-{n}.jsonl.gz"
    return path


def _write(path: Path, header: dict, targets: dict) -> dict:
    """Write the archive atomically; returns the archived ids per model."""
    ids: dict = {model: [] for model in targets}
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
            out.write(_line(header))
            for model, query in targets.items():
                for document in _all_companies(model).find(query).sort("_id", 1).batch_size(CHUNK):
                    out.write(_line({"collection": model._meta.db_table, "document": document}))
                    ids[model].append(document["_id"])
            counts = {model._meta.db_table: len(found) for model, found in ids.items()}
            out.write(_line({"end": True, "counts": counts}))
            out.flush()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return ids


def _ids(targets: dict) -> dict:
    return {
        model: [d["_id"] for d in _all_companies(model).find(query, {"_id": 1})] for model, query in targets.items()
    }


def archive_old(
    *,
    days: int | None = None,
    archive_dir: Path | str | None = None,
    remove: bool = True,
    archive: bool | None = None,
    now: datetime | None = None,
) -> Result:
    days = settings.CONTENT_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError("days must be 0 or more")
    archive = settings.CONTENT_RETENTION_ARCHIVE if archive is None else archive
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    targets = _targets(cutoff)
    path = stored_as = None
    if archive and archive_dir:
        archive_dir = Path(archive_dir)
        archive_dir.mkdir(parents=True, exist_ok=True)
        path = _archive_path(archive_dir, now)
        ids = _write(path, _header(now, cutoff, days), targets)
    elif archive:
        stored_as, ids = _store(now, cutoff, days, targets)
    else:
        ids = _ids(targets)
    if remove:
        for model, found in ids.items():
            for start in range(0, len(found), CHUNK):
                chunk = found[start : start + CHUNK]
                _all_companies(model).delete_many({**targets[model], "_id": {"$in": chunk}})
    counts = {"contexts": len(ids[Context]), "batches": len(ids[Batch])}
    return Result(path=path, counts=counts, removed=remove, stored_as=stored_as)


def _header(now, cutoff, days) -> dict:
    return {"format": FORMAT, "version": VERSION, "created_at": now, "cutoff": cutoff, "days": days}


def _store(now, cutoff, days, targets) -> tuple[str, dict]:
    """Write the archive in a local scratch directory and put it in the archive storage;
    (its stored name, the archived ids). Raises (nothing deleted) when storing fails."""
    with tempfile.TemporaryDirectory(prefix="content-archive-") as scratch:
        path = _archive_path(Path(scratch), now)
        ids = _write(path, _header(now, cutoff, days), targets)
        return archive_storage.upload(path, f"{FOLDER}/{path.name}"), ids


def stored_archives() -> list[str]:
    """The names of the content archives in the archive storage, oldest first."""
    return archive_storage.names(FOLDER)


def read_stored_archive(name: str) -> tuple[dict, list[dict], dict]:
    """read_archive of an archive in the archive storage."""
    with archive_storage.downloaded(name) as path:
        return read_archive(path)


def restore_stored_archive(name: str) -> dict:
    """Put the documents of a stored archive back; one whose _id is in the database already
    is left as it is (so running it twice changes nothing). Returns the count per collection."""
    _, rows, _ = read_stored_archive(name)
    models = {model._meta.db_table: model for model in (Context, Batch)}
    counts = dict.fromkeys(models, 0)
    for row in rows:
        document = dict(row["document"])
        pk = document.pop("_id")
        _all_companies(models[row["collection"]]).update_one({"_id": pk}, {"$setOnInsert": document}, upsert=True)
        counts[row["collection"]] += 1
    return counts


def read_archive(path: Path | str) -> tuple[dict, list[dict], dict]:
    """(header, [{"collection", "document"}...], end) of an archive; ValueError if incomplete."""
    with gzip.open(path, "rt") as lines:
        rows = [json_util.loads(line, json_options=CANONICAL) for line in lines if line.strip()]
    if not rows or rows[0].get("format") != FORMAT or not rows[-1].get("end"):
        raise ValueError(f"{path} is not a complete content archive")
    return rows[0], rows[1:-1], rows[-1]
