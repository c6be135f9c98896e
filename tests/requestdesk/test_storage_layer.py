"""requestdesk.db: the server's capabilities, read once, and raw collections that carry the
tenant scope."""

import pytest
from bson import ObjectId
from django.db import connection
from pymongo.errors import ServerSelectionTimeoutError

from events.models import AuditLog
from requestdesk.db import base, features
from requestdesk.db.collections import raw
from requestdesk.db.features import Capabilities
from requestdesk.embedded import free_port
from tests.support.round_trips import round_trips  # noqa: F401


def test_the_embedded_server_is_probed_once_and_told_apart(db, settings):
    settings.DATABASE_CAPABILITIES = {}
    base._PROBED.clear()
    caps = connection.capabilities
    assert caps.kind == "secantus"
    assert (
        caps.text_index,
        caps.ordered_index_sort,
        caps.cheap_counts,
        caps.cheap_find_and_modify,
        caps.retryable_writes,
    ) == (False, False, False, False, False)
    assert list(base._PROBED) == [connection.settings_dict["HOST"]]
    base._PROBED[connection.settings_dict["HOST"]] = caps.__class__(**{**caps.__dict__, "version": "probed"})
    assert connection.capabilities.version == "probed"  # not asked again


def test_writes_to_the_embedded_server_are_not_retryable_unless_the_uri_says(db, round_trips):
    """SecantusDB keeps a record of every retryable write and, past 10,000, sorts them all on
    every write (requestdesk.db.features): the client leaves them out, so a write carries no
    txnNumber. A URI or OPTIONS that set retryWrites are obeyed; MongoDB keeps them."""
    assert connection.connection.options.retry_writes is False
    with round_trips() as seen:
        AuditLog.objects.create(company_id=ObjectId(), event_type="test.write", object_repr="w")
    inserts = [command for command in seen.sent if "insert" in command]
    assert inserts and all("txnNumber" not in command for command in inserts)
    assert not base._chooses_retry_writes({"host": "mongodb://127.0.0.1:1/?directConnection=true"})
    assert base._chooses_retry_writes({"host": "mongodb://127.0.0.1:1/?retryWrites=true"})
    assert base._chooses_retry_writes({"host": "mongodb://127.0.0.1:1/", "retryWrites": True})
    assert Capabilities.from_build_info({"version": "8.0.4"}).retryable_writes is True
    assert Capabilities.from_build_info({"version": "8.0.4", "secantusVersion": "0.7"}).retryable_writes is False


def test_an_unreachable_server_is_not_given_a_guessed_client(db):
    """The retryable-writes check raises as the first query would, and remembers nothing: the
    next connection asks again once the server is up."""
    host = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true&serverSelectionTimeoutMS=200"
    with pytest.raises(ServerSelectionTimeoutError):
        base._retryable_writes({"host": host})
    assert host not in features._BUILD_INFO


def test_settings_override_flags_and_refuse_unknown_ones(db, settings):
    settings.DATABASE_CAPABILITIES = {"ordered_index_sort": True}
    assert connection.capabilities.ordered_index_sort is True
    assert connection.capabilities.cheap_counts is False
    settings.DATABASE_CAPABILITIES = {"fast": True}
    with pytest.raises(ValueError, match="unknown flag"):
        _ = connection.capabilities


def test_raw_collections_carry_the_tenant(world):
    a, b = raw(AuditLog, company=world.a), raw(AuditLog, company=world.b)
    mine = a.insert_one({"event_type": "raw.test", "object_repr": "a"}).inserted_id
    b.insert_one({"event_type": "raw.test", "object_repr": "b"})
    assert AuditLog.objects.get(pk=mine).company_id == world.a.pk
    assert [d["object_repr"] for d in a.find({"event_type": "raw.test"})] == ["a"]
    assert a.find_one({"_id": mine, "event_type": "raw.test"})["object_repr"] == "a"
    assert b.find_one({"_id": mine}) is None
    assert b.update_one({"_id": mine}, {"$set": {"object_repr": "hijacked"}}).matched_count == 0
    assert b.delete_many({"event_type": "raw.test"}).deleted_count == 1
    assert a.find_one({"_id": mine})["object_repr"] == "a"
    # a company written into the query cannot widen the scope
    assert list(a.find({"company_id": world.b.pk})) == []
    assert [d["n"] for d in a.aggregate([{"$count": "n"}])] == [1]


def test_tenant_data_needs_a_company_or_says_it_spans_tenants(db):
    with pytest.raises(ValueError, match="company"):
        raw(AuditLog)
    assert raw(AuditLog, unscoped=True).find_one({"_id": ObjectId()}) is None


def test_the_tenant_joins_the_leading_stage_of_a_pipeline(world):
    scoped = raw(AuditLog, company=world.a)
    assert scoped.scoped_pipeline([{"$match": {"event_type": "x"}}, {"$count": "n"}]) == [
        {"$match": {"event_type": "x", "company_id": world.a.pk}},
        {"$count": "n"},
    ]
    search = scoped.scoped_pipeline([{"$vectorSearch": {"index": "v", "filter": {"kind": 1}}}, {"$limit": 1}])
    assert search[0]["$vectorSearch"]["filter"] == {"kind": 1, "company_id": world.a.pk} and len(search) == 2
    assert scoped.scoped_pipeline([{"$group": {"_id": None}}])[0] == {"$match": {"company_id": world.a.pk}}
