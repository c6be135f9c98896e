"""manage.py backup / restore: a faithful round trip, and nothing written from a bad archive."""

import hashlib
import io
import os
import tarfile
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from bson import Binary, Decimal128, Int64, ObjectId, json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.models import ApiKey, Company, User
from tenants.roles import Role
from tenants.services import create_api_key, issue_tokens, settings_for

pytestmark = pytest.mark.django_db(transaction=True)

RAW = CodecOptions(document_class=RawBSONDocument)
MODEL_COLLECTIONS = ["companies", "users", "api_keys", "settings", "refresh_tokens"]


@pytest.fixture
def mongo():
    connection.ensure_connection()
    db = connection.database
    yield db
    db.drop_collection("misc")  # not a Django model: the test flush would leave it behind


@pytest.fixture
def data(mongo):
    """Tenants data made through the models, plus a collection of BSON types Django never writes."""
    company = Company.objects.create(name="Acme", domain="acme.test", settings={"tier": "gold", "limits": [1, 2]})
    users = []
    for n in range(3):
        user = User(
            username=f"user{n}",
            email=f"user{n}@example.com",
            role=Role.CONTENT_WRITER,
            company=company,
            guest_companies=[ObjectId()],
            plugin_keys={"wp": {"key": f"k{n}"}},
        )
        user.set_password("correct-Horse-battery-9")
        user.save()
        users.append(user)
    create_api_key(user=users[0], company=company, name="ci", expires_at=datetime(2030, 1, 2, tzinfo=UTC))
    settings = settings_for(users[1])
    settings.plugin_settings = {"seo": {"enabled": True, "keywords": ["a", "b"]}}
    settings.save()
    issue_tokens(users[2])
    mongo.misc.insert_many(
        [
            {
                "price": Decimal128(Decimal("19.99")),
                "blob": Binary(b"\x00\x01\xff"),
                "uuid": Binary.from_uuid(uuid.uuid4()),
                "big": Int64(2**40),
                "ratio": 1.0,
                "at": datetime(2024, 2, 29, 12, 30, 15, 123000),
                "nested": {"list": [{"a": 1}, [2, 3]], "none": None},
            },
            {"price": Decimal128("-0.001")},
        ]
    )
    mongo.misc.create_index("big", sparse=True, name="big_sparse")
    mongo.misc.create_index("at", name="at_partial", partialFilterExpression={"at": {"$gte": datetime(2024, 1, 1)}})
    return company


def snapshot(db) -> dict:
    """Every collection's documents, as exact BSON bytes in _id order."""
    return {
        name: [doc.raw for doc in db.get_collection(name, codec_options=RAW).find().sort("_id", 1)]
        for name in sorted(db.list_collection_names())
        if not name.startswith("system.")
    }


def indexes(db) -> dict:
    return {name: db[name].index_information() for name in sorted(db.list_collection_names())}


def documents(db, name) -> list:
    return list(db[name].find().sort("_id", 1))


def change_after_backup():
    """So that a restore which went ahead, even with the same bytes, would show."""
    Company.objects.create(name="Made after the backup")
    User.objects.filter(username="user0").update(first_name="Changed")


def backup(tmp_path, *args) -> tuple:
    out = io.StringIO()
    call_command("backup", "--output-dir", str(tmp_path), *args, stdout=out)
    path = next(line for line in out.getvalue().splitlines() if line.startswith("archive: "))
    return Path(path.removeprefix("archive: ")), out.getvalue()


def restore(archive, *args) -> str:
    out = io.StringIO()
    call_command("restore", str(archive), *args, stdout=out)
    return out.getvalue()


def read_members(archive) -> dict:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def write_members(path, members: dict) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_round_trip_restores_identical_documents_and_indexes(data, mongo, tmp_path):
    before_docs = {name: documents(mongo, name) for name in MODEL_COLLECTIONS + ["misc"]}
    before, before_indexes = snapshot(mongo), indexes(mongo)
    archive, output = backup(tmp_path)
    assert f"archive: {archive}" in output
    assert f"{len(before)} collections, {sum(map(len, before.values()))} documents" in output

    for name in mongo.list_collection_names():
        mongo.drop_collection(name)
    assert snapshot(mongo) == {}
    output = restore(archive, "--drop")

    assert "counts match the manifest" in output
    assert {name: documents(mongo, name) for name in before_docs} == before_docs
    assert snapshot(mongo) == before  # byte for byte: Decimal128, binary, Int64, 1.0 stay what they were
    assert indexes(mongo) == before_indexes
    ttl = [spec for spec in before_indexes["refresh_tokens"].values() if spec["key"] == [("expires_at", 1)]]
    assert ttl and ttl[0]["expireAfterSeconds"] == 0
    unique_keys = {spec["key"][0][0] for spec in before_indexes["users"].values() if spec.get("unique")}
    assert {"username", "email"} <= unique_keys
    assert before_indexes["misc"]["big_sparse"]["sparse"] is True
    partial = before_indexes["misc"]["at_partial"]["partialFilterExpression"]
    assert partial == {"at": {"$gte": datetime(2024, 1, 1)}}
    user = User.objects.get(username="user0")
    assert ApiKey.objects.get(user=user).expires_at == datetime(2030, 1, 2, tzinfo=UTC)
    assert user.company.settings == {"tier": "gold", "limits": [1, 2]}


def test_manifest_counts_and_checksums_match_the_database(data, mongo, tmp_path):
    archive, _ = backup(tmp_path)
    members = read_members(archive)
    manifest = json_util.loads(members["manifest.json"])

    assert manifest["format_version"] == 1 and manifest["database"] == mongo.name
    by_name = {entry["name"]: entry for entry in manifest["collections"]}
    assert set(by_name) == set(snapshot(mongo))
    for name, entry in by_name.items():
        assert entry["count"] == mongo[name].count_documents({}), name
        assert entry["sha256"] == hashlib.sha256(members[entry["file"]]).hexdigest(), name
    assert by_name["users"]["count"] == 3 and by_name["misc"]["count"] == 2
    assert list(members)[0] == "manifest.json"


@pytest.mark.parametrize("keep", [0.5, 0.9, -4], ids=["half", "most", "gzip-trailer-cut"])
def test_truncated_archive_is_refused_and_database_unchanged(data, mongo, tmp_path, keep):
    archive, _ = backup(tmp_path)
    content = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(content[: int(len(content) * keep)] if keep > 0 else content[:keep])
    change_after_backup()
    before = snapshot(mongo)

    with pytest.raises(CommandError, match="truncated or corrupt"):
        restore(truncated, "--drop")
    assert snapshot(mongo) == before


def test_changed_byte_is_refused_with_checksum_message_and_database_unchanged(data, mongo, tmp_path):
    archive, _ = backup(tmp_path)
    members = read_members(archive)
    original = members["collections/users.bson"]
    at = original.index(b"user1@example.com")
    members["collections/users.bson"] = original[:at] + b"U" + original[at + 1 :]
    tampered = tmp_path / "tampered.tar.gz"
    write_members(tampered, members)  # the original manifest, one changed byte
    change_after_backup()
    before = snapshot(mongo)

    with pytest.raises(CommandError, match="checksum mismatch for users"):
        restore(tampered, "--drop")
    assert snapshot(mongo) == before


@pytest.mark.parametrize(
    "members, message",
    [
        ({"manifest.json": b"{not json"}, "bad manifest"),
        ({"manifest.json": b'{"format_version": 99, "collections": []}'}, "unsupported format version 99"),
        ({"collections/users.bson": b""}, "does not start with manifest.json"),
    ],
)
def test_bad_manifest_is_refused(mongo, tmp_path, members, message):
    archive = tmp_path / "bad.tar.gz"
    write_members(archive, members)
    with pytest.raises(CommandError, match=message):
        restore(archive, "--drop")


def test_missing_archive_is_refused(tmp_path):
    with pytest.raises(CommandError, match="archive not found"):
        restore(tmp_path / "nope.tar.gz")


def test_restore_without_drop_refuses_non_empty_collections_but_fills_empty_ones(data, mongo, tmp_path):
    archive, _ = backup(tmp_path)
    before = snapshot(mongo)
    change_after_backup()
    changed = snapshot(mongo)

    with pytest.raises(CommandError, match=r"not empty: .*\busers\b.*use --drop"):
        restore(archive)
    assert snapshot(mongo) == changed

    for name in before:
        mongo[name].delete_many({})  # empty, indexes kept: restore fills them in place
    restore(archive)
    assert snapshot(mongo) == before


def test_retention_prunes_old_archives_and_keeps_the_new_one(data, tmp_path):
    now = datetime.now(UTC)
    old_by_name = tmp_path / f"requestdesk-{(now - timedelta(days=10)):%Y%m%d-%H%M%S}.tar.gz"
    recent_by_name = tmp_path / f"requestdesk-{(now - timedelta(days=2)):%Y%m%d-%H%M%S}.tar.gz"
    old_by_mtime = tmp_path / "requestdesk-manual.tar.gz"
    unrelated = tmp_path / "notes.txt"
    for path in (old_by_name, recent_by_name, old_by_mtime, unrelated):
        path.write_bytes(b"x")
    ten_days_ago = time.time() - 10 * 86400
    for path in (old_by_mtime, unrelated):
        os.utime(path, (ten_days_ago, ten_days_ago))

    archive, output = backup(tmp_path, "--retention", "7")

    assert "pruned 2 archive(s) older than 7 days" in output
    assert archive.exists() and recent_by_name.exists() and unrelated.exists()
    assert not old_by_name.exists() and not old_by_mtime.exists()
    with pytest.raises(CommandError, match="not empty"):  # the kept archive verifies: a real one
        restore(archive)
