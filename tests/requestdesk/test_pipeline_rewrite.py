"""requestdesk.db rewrites pipelines so SecantusDB answers fast and right."""

from requestdesk.db.pipeline import flatten_projection, merge_match, rewrite, split_id
from tenants.models import User


def test_plain_and_is_merged():
    query = {"$and": [{"company_id": 1}, {"role": "client"}, {"$and": [{"is_active": True}]}]}
    assert merge_match(query) == {"company_id": 1, "role": "client", "is_active": True}


def test_conflicting_or_operator_parts_stay_in_and():
    query = {"$and": [{"a": {"$gt": 1}}, {"a": {"$gt": 5}}, {"$or": [{"b": 1}, {"c": 2}]}, {"d": 1}]}
    assert merge_match(query) == {"a": {"$gt": 1}, "d": 1, "$and": [{"a": {"$gt": 5}}, {"$or": [{"b": 1}, {"c": 2}]}]}


def test_a_range_and_its_null_checks_become_one_condition():
    """What the backend writes for created_at__gte=x, created_at__lt=y (planned as a scan
    while it stayed a top-level $and)."""
    query = {
        "company_id": 1,
        "created_at": {"$gte": 2},
        "$and": [{"created_at": {"$lt": 9}}, {"created_at": {"$exists": True}}, {"created_at": {"$ne": None}}],
    }
    assert merge_match(query) == {"company_id": 1, "created_at": {"$gte": 2, "$lt": 9}}
    assert merge_match({"$and": [{"a": 1}, {"a": {"$lt": 5}}]}) == {"a": 1, "$and": [{"a": {"$lt": 5}}]}


def test_nested_projection_is_dotted_and_expressions_kept():
    assert flatten_projection({"a": {"b": 1, "c": {"d": 1}}, "e": {"$literal": 1}, "f": "$g"}) == {
        "a.b": 1,
        "a.c.d": 1,
        "e": {"$literal": 1},
        "f": "$g",
    }


def test_an_addfields_of_fields_to_themselves_is_dropped_and_others_kept():
    """The backend writes {$addFields: {published_at: "$published_at", _id: "$_id"}} before a
    $sort; SecantusDB copies every match for it."""
    sort = {"$sort": {"published_at": -1, "_id": -1}}
    assert rewrite([{"$match": {"a": 1}}, {"$addFields": {"published_at": "$published_at", "_id": "$_id"}}, sort]) == [
        {"$match": {"a": 1}},
        sort,
    ]
    kept = {"$addFields": {"published_at": "$published_at", "n": {"$size": "$tags"}}}
    assert rewrite([kept, sort]) == [kept, sort]
    assert rewrite([{"$addFields": {"a": "$b"}}]) == [{"$addFields": {"a": "$b"}}]


def test_lookup_subpipelines_are_rewritten():
    pipeline = [{"$lookup": {"from": "x", "pipeline": [{"$match": {"$and": [{"a": 1}, {"b": 2}]}}], "as": "x"}}]
    assert rewrite(pipeline)[0]["$lookup"]["pipeline"] == [{"$match": {"a": 1, "b": 2}}]


def test_values_across_a_join_has_the_right_shape(world):
    rows = list(User.objects.filter(company=world.a, role="client").values("username", "company__name"))
    assert rows == [{"username": "a-client", "company__name": "A"}]


def test_id_lookups_come_first_on_their_own():
    pipeline = [{"$match": {"$and": [{"company_id": 1}, {"_id": 7}]}}]
    assert rewrite(pipeline) == [{"$match": {"_id": 7}}, {"$match": {"company_id": 1}}]
    assert split_id({"_id": {"$in": [1, 2]}, "a": 1}) == [{"_id": {"$in": [1, 2]}}, {"a": 1}]
    assert split_id({"_id": {"$gt": 1}, "a": 1}) == [{"_id": {"$gt": 1}, "a": 1}]  # a range stays
    assert split_id({"_id": 7}) == [{"_id": 7}]


def test_tenant_detail_lookup_still_scoped(world):
    own = world.user("a", "client")
    assert User.objects.filter(company=world.a, pk=own.pk).get() == own
    assert not User.objects.filter(company=world.b, pk=own.pk).exists()


def test_the_first_match_leads_with_what_an_index_answers():
    indexes = [("_id",), ("company_id", "created_at"), ("company_id", "status", "created_at")]
    query = {"is_deleted": False, "company_id": 1, "created_at": {"$gte": 5}}
    assert rewrite([{"$match": query}, {"$limit": 2}], indexes) == [
        {"$match": {"company_id": 1, "created_at": {"$gte": 5}}},
        {"$match": {"is_deleted": False}},
        {"$limit": 2},
    ]
    with_status = {"company_id": 1, "status": "open", "created_at": {"$gte": 5}, "title": "x"}
    assert rewrite([{"$match": with_status}], indexes)[0] == {
        "$match": {"company_id": 1, "status": "open", "created_at": {"$gte": 5}}
    }
    assert rewrite([{"$match": {"title": "x"}}], indexes) == [{"$match": {"title": "x"}}]  # nothing to lead with
    assert rewrite([{"$limit": 1}, {"$match": query}], indexes)[1] == {"$match": query}  # only the first stage


def test_an_unindexed_field_no_longer_scans_the_tickets(world):
    from content.models import Ticket
    from requestdesk.db.base import index_keys
    from requestdesk.db.collections import collection

    tickets = collection(Ticket)
    assert ("company_id", "created_at") in index_keys(tickets._collection)
    query = {"company_id": world.a.pk, "is_deleted": False}
    first = rewrite([{"$match": query}], index_keys(tickets._collection))[0]["$match"]
    plan = str(tickets._collection.find(first).explain())
    assert "COLLSCAN" not in plan and "COLLSCAN" in str(tickets._collection.find(query).explain())
