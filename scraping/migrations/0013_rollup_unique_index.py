"""Sentiment rollups are unique on (company, target, platform, month) by a plain unique index
instead of a UniqueConstraint: the backend writes that constraint as a partial index, which the
embedded server never plans, so every `$inc` upsert of an ingest read all the company's
rollups. The plain index serves each upsert and also holds the company-wide and platform-wide
documents (null target and platform), which the partial index left out; duplicates of those
that concurrent ingests may have made are merged first (their day cells summed)."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex

ROLLUPS = "scraping_sentiment_rollups"


def merge_duplicates(apps, schema_editor):
    rollups = schema_editor.connection.get_collection(ROLLUPS)
    key = {"company": "$company_id", "target": "$target_id", "platform": "$platform", "month": "$month"}
    groups = rollups.aggregate(
        [{"$group": {"_id": key, "ids": {"$push": "$_id"}, "n": {"$sum": 1}}}, {"$match": {"n": {"$gt": 1}}}]
    )
    for group in list(groups):
        keep, *extra = rollups.find({"_id": {"$in": group["ids"]}}).sort("_id", 1)
        days = keep.get("days") or {}
        for doc in extra:
            for day, cell in (doc.get("days") or {}).items():
                into = days.setdefault(day, {})
                for name, value in cell.items():
                    into[name] = into.get(name, 0) + value
        rollups.update_one({"_id": keep["_id"]}, {"$set": {"days": days}})
        rollups.delete_many({"_id": {"$in": [doc["_id"] for doc in extra]}})


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0012_result_target_hash_index"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="sentimentrollup", name="rollup_target_month_uniq"),
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop, elidable=False),
        CreateIndex(
            "scraping.SentimentRollup",
            [("company_id", 1), ("target_id", 1), ("platform", 1), ("month", 1)],
            "rollup_target_month_uniq",
            unique=True,
        ),
    ]
