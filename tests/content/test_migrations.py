"""Content migrations on documents stored before them, each on a database at the migration
before it (`database_at`, tests/support/migrations.py)."""

from bson import ObjectId


def test_0012_counts_the_contexts_each_batch_has_still_to_finish(database_at):
    at = database_at("content", "0011")
    company = ObjectId()
    at.db.batches.insert_many(
        [
            {"name": "open", "company_id": company, "context_count": 5, "completed_count": 2, "failed_count": 1},
            {"name": "done", "company_id": company, "context_count": 2, "completed_count": 1, "cancelled_count": 1},
            {"name": "new", "company_id": company, "context_count": 3},
        ]
    )
    at.migrate("content", "0012")
    assert {doc["name"]: doc["remaining_count"] for doc in at.db.batches.find()} == {"open": 2, "done": 0, "new": 3}
