"""Backup and restore of the whole database as one verified archive (`manage.py backup/restore`).

An archive is a gzip'd tar holding, in this order:

* ``manifest.json``: format version, created_at, database name and, per collection, its
  options, its indexes (from ``index_information()``), its document count and the SHA-256 of
  its data file. Written in MongoDB extended JSON (relaxed) so index options keep their types.
* ``collections/<name>.bson``: the collection's documents as a length-prefixed BSON stream
  (the format of mongodump's ``.bson``), copied byte for byte: every type survives.

Restore reads the archive twice: once to verify everything against the manifest before the
database is touched, once to insert. Documents travel as RawBSONDocument, never decoded.

Archives are kept in the archive storage (requestdesk.archive_storage, `backups/` in it: a
volume or S3-compatible object storage), not on the disk of the process that made them:
`store_backup` writes one in a scratch directory and stores it, `prune_stored_backups` and
`stored_backup` (a name or the latest) work on what is stored. A local directory
(`backup --output-dir`) is still possible.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from . import archive_storage
from .db.documents import Document
from .progress import Progress

JSON = dict[str, Any]  # a manifest, or one collection's entry in it

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_SIZE = 1000
NAME_PREFIX = "requestdesk-"
STAMP_FORMAT = "%Y%m%d-%H%M%S"
ARCHIVE_RE = re.compile(r"^requestdesk-(.+)\.tar\.gz$")
RAW = CodecOptions(document_class=RawBSONDocument)
INDEX_INTERNAL_KEYS = {"v", "key", "ns", "background"}
FOLDER = "backups"  # of the archive storage
ENTRY_FIELDS = {"name": str, "file": str, "count": int, "sha256": str, "options": dict, "indexes": list}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line, safe to show."""


@dataclass
class Result:
    path: Path
    collections: dict[str, int]  # name -> document count

    @property
    def documents(self) -> int:
        return sum(self.collections.values())


def _no_progress(name: str, done: int, total: int) -> None:
    pass


# --- Backup ------------------------------------------------------------------------------


def create_backup(
    *, db: Database[Document], output_dir: Path, progress: Progress = _no_progress, now: datetime | None = None
) -> Result:
    """Dump every collection of `db` into output_dir/requestdesk-<UTC stamp>.tar.gz, atomically."""
    now = now or datetime.now(UTC)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(output_dir, now)
    entries: list[JSON] = []
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output_dir) as staging:
        for info in db.list_collections():
            name = info["name"]
            if name.startswith("system.") or info.get("type", "collection") != "collection":
                continue
            entries.append(_dump_collection(db[name], Path(staging), info.get("options", {}), progress))
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "database": db.name,
            "collections": entries,
        }
        partial = output_dir / f".{target.name}.partial"
        try:
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
                _add_bytes(tar, MANIFEST, json_util.dumps(manifest, indent=2).encode())
                for entry in entries:
                    tar.add(Path(staging) / entry["file"], arcname=entry["file"], recursive=False)
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return Result(target, {e["name"]: e["count"] for e in entries})


def _free_name(output_dir: Path, now: datetime) -> Path:
    stem = NAME_PREFIX + now.astimezone(UTC).strftime(STAMP_FORMAT)
    path, n = output_dir / f"{stem}.tar.gz", 0
    while path.exists():
        n += 1
        path = output_dir / f"{stem}-{n}.tar.gz"
    return path


def _dump_collection(collection: Collection[Document], staging: Path, options: JSON, progress: Progress) -> JSON:
    member = f"collections/{collection.name}.bson"
    path = staging / member
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, count, total = hashlib.sha256(), 0, collection.estimated_document_count()
    with open(path, "wb") as out:
        for doc in collection.with_options(codec_options=RAW).find({}, batch_size=BATCH_SIZE):
            out.write(doc.raw)
            digest.update(doc.raw)
            count += 1
            if count % BATCH_SIZE == 0:
                progress(collection.name, count, max(total, count))
    progress(collection.name, count, count)
    indexes = [
        {
            "name": name,
            "key": [list(pair) for pair in spec["key"]],
            "options": {k: v for k, v in spec.items() if k not in INDEX_INTERNAL_KEYS},
        }
        for name, spec in collection.index_information().items()
        if name != "_id_"
    ]
    return {
        "name": collection.name,
        "file": member,
        "count": count,
        "sha256": digest.hexdigest(),
        "options": options,
        "indexes": indexes,
    }


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def prune_backups(*, output_dir: Path, retention_days: float, keep: Path, now: datetime | None = None) -> list[Path]:
    """Delete archives in output_dir older than retention_days (by their name's stamp, else mtime)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    pruned = []
    for path in sorted(Path(output_dir).iterdir()):
        match = ARCHIVE_RE.match(path.name)
        if not match or not path.is_file() or path.resolve() == Path(keep).resolve():
            continue
        if _archive_time(path, match.group(1)) < cutoff:
            path.unlink()
            pruned.append(path)
    return pruned


def _archive_time(path: Path, stamp: str) -> datetime:
    return _stamp_time(stamp, lambda: datetime.fromtimestamp(path.stat().st_mtime, UTC))


def _stamp_time(stamp: str, otherwise: Callable[[], datetime]) -> datetime:
    """The time of an archive's name stamp, else `otherwise()` (its modification time)."""
    try:
        return datetime.strptime(stamp[:15], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        when = otherwise()
        return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- Backups in the archive storage -------------------------------------------------------


def store_backup(
    *, db: Database[Document], progress: Progress = _no_progress, now: datetime | None = None
) -> tuple[Result, str]:
    """create_backup into a scratch directory, then into the archive storage: (the result,
    the stored name). Raises when storing fails (the scratch copy goes either way)."""
    with tempfile.TemporaryDirectory(prefix="backup-") as scratch:
        result = create_backup(db=db, output_dir=Path(scratch), progress=progress, now=now)
        return result, archive_storage.upload(result.path, f"{FOLDER}/{result.path.name}")


def stored_backups() -> list[str]:
    """Names of the backups in the archive storage, oldest first (by their stamp)."""
    return [name for name in archive_storage.names(FOLDER) if ARCHIVE_RE.match(Path(name).name)]


def prune_stored_backups(*, retention_days: float, keep: str, now: datetime | None = None) -> list[str]:
    """Delete the stored backups older than retention_days (by their name's stamp), never `keep`."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    pruned: list[str] = []
    for name in stored_backups():
        match = ARCHIVE_RE.match(Path(name).name)
        assert match is not None  # stored_backups lists matching names only
        stamp = match.group(1)

        def modified(name: str = name) -> datetime:
            return archive_storage.storage().get_modified_time(name)

        if name != keep and _stamp_time(stamp, modified) < cutoff:
            archive_storage.delete(name)
            pruned.append(name)
    return pruned


def stored_backup(name: str | None) -> str:
    """The stored name of a backup: `name` (with or without the backups/ folder), or the
    latest when None; BackupError when there is none."""
    found = stored_backups()
    if name is None:
        if not found:
            raise BackupError(f"no backup in the archive storage ({archive_storage.describe(FOLDER)})")
        return found[-1]
    wanted = name if name.startswith(f"{FOLDER}/") else f"{FOLDER}/{name}"
    if wanted not in found:
        raise BackupError(f"archive not found: {name} (neither a local file nor in the archive storage)")
    return wanted


# --- Reading and verifying an archive ----------------------------------------------------


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    """The archive as a tar read front to back; any gzip/tar/IO failure becomes one BackupError line."""
    if not Path(path).is_file():
        raise BackupError(f"archive not found: {path}")
    try:
        with tarfile.open(path, "r:gz") as tar:
            yield tar
    except BackupError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"archive is unreadable (truncated or corrupt): {exc}") from None


def _member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    """The contents of a file member."""
    stream = tar.extractfile(member)
    assert stream is not None, f"{member.name} is not a file"
    return stream


def _raw_documents(stream: IO[bytes], name: str) -> Iterator[bytes]:
    """Yield the raw bytes of each document of a length-prefixed BSON stream."""
    while header := stream.read(4):
        size = struct.unpack("<i", header)[0] if len(header) == 4 else 0
        body = stream.read(size - 4) if size >= 5 else b""
        if size < 5 or len(body) != size - 4:
            raise BackupError(f"archive is corrupt: truncated document in {name}")
        yield header + body


def _read_manifest(tar: tarfile.TarFile) -> JSON:
    member = tar.next()
    if member is None or member.name != MANIFEST:
        raise BackupError(f"bad manifest: archive does not start with {MANIFEST}")
    try:
        manifest = json_util.loads(_member(tar, member).read())
    except ValueError as exc:
        raise BackupError(f"bad manifest: not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise BackupError(f"bad manifest: unsupported format version {version!r}")
    entries = manifest.get("collections")
    if not isinstance(entries, list) or not all(_well_formed(entry) for entry in entries):
        raise BackupError("bad manifest: malformed collection list")
    if len({e["file"] for e in entries}) != len(entries):
        raise BackupError("bad manifest: a collection is listed twice")
    checked: JSON = manifest
    return checked


def _well_formed(entry: object) -> bool:
    return isinstance(entry, dict) and all(isinstance(entry.get(key), kind) for key, kind in ENTRY_FIELDS.items())


def _data_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members after the manifest (iterating a tar also yields the members already read)."""
    return (member for member in tar if member.name != MANIFEST)


def verify_archive(*, path: Path) -> JSON:
    """Check every collection file against the manifest; return the manifest. Reads only."""
    with _open_archive(path) as tar:
        manifest = _read_manifest(tar)
        expected = {e["file"]: e for e in manifest["collections"]}
        seen: set[str] = set()
        for member in _data_members(tar):
            entry = expected.get(member.name)
            if entry is None or member.name in seen:
                raise BackupError(f"archive is corrupt: unexpected member {member.name}")
            seen.add(member.name)
            digest, count = hashlib.sha256(), 0
            for raw in _raw_documents(_member(tar, member), entry["name"]):
                digest.update(raw)
                count += 1
            if digest.hexdigest() != entry["sha256"]:
                raise BackupError(f"archive is corrupt: checksum mismatch for {entry['name']}")
            if count != entry["count"]:
                raise BackupError(
                    f"archive is corrupt: {entry['name']} holds {count} documents, manifest says {entry['count']}"
                )
        missing = sorted(expected[f]["name"] for f in set(expected) - seen)
        if missing:
            raise BackupError(f"archive is corrupt: missing data for {', '.join(missing)}")
        assert tar.fileobj is not None  # opened from a file
        while tar.fileobj.read(1 << 20):  # to the end: gzip checks its CRC and length there
            pass
    return manifest


# --- Restore -----------------------------------------------------------------------------


def restore_backup(
    *, db: Database[Document], path: Path, drop: bool = False, progress: Progress = _no_progress
) -> Result:
    """Verify the archive, then load it into `db`: dropping each collection first with drop=True,
    else refusing when one of the archive's collections already holds documents."""
    manifest = verify_archive(path=path)
    entries = {e["file"]: e for e in manifest["collections"]}
    if not drop:
        busy = [e["name"] for e in entries.values() if db[e["name"]].find_one({}, {"_id": 1}) is not None]
        if busy:
            raise BackupError(f"collection(s) not empty: {', '.join(busy)} (use --drop to replace them)")
    try:
        with _open_archive(path) as tar:
            for member in _data_members(tar):
                _load_collection(db, entries[member.name], _member(tar, member), drop, progress)
    except PyMongoError as exc:
        raise BackupError(f"restore failed, the database is partly restored: {exc}") from None
    return Result(Path(path), {e["name"]: e["count"] for e in entries.values()})


def _load_collection(db: Database[Document], entry: JSON, stream: IO[bytes], drop: bool, progress: Progress) -> None:
    name, total = entry["name"], entry["count"]
    if drop:
        db.drop_collection(name)
    if name not in db.list_collection_names():
        db.create_collection(name, **entry["options"])
    # RAW: documents come as RawBSONDocument (pymongo's types do not follow codec options).
    collection = cast("Collection[RawBSONDocument]", db.get_collection(name, codec_options=RAW))
    batch: list[RawBSONDocument] = []
    done = 0
    for raw in _raw_documents(stream, name):
        batch.append(RawBSONDocument(raw))
        if len(batch) == BATCH_SIZE:
            done += _insert(collection, batch)
            progress(name, done, total)
            batch = []
    done += _insert(collection, batch)
    progress(name, done, total)
    # Counted before the indexes are recreated: a TTL index could start removing documents.
    stored = collection.count_documents({})
    if stored != total:
        raise BackupError(f"restore failed: {name} holds {stored} documents after restore, archive has {total}")
    for index in entry["indexes"]:
        keys = [tuple(pair) for pair in index["key"]]
        collection.create_index(keys, name=index["name"], **index["options"])


def _insert(collection: Collection[RawBSONDocument], batch: list[RawBSONDocument]) -> int:
    if batch:
        collection.insert_many(batch, ordered=False)
    return len(batch)
