"""Migration scraping 0004 on results stored before it: their terms become weighted postings
(title 10 + text 5) under the (company, terms, -published_at) index, the daily sentiment
rollups are counted from them, and back and forth again gives the same documents; and the
migrations after it (0008, 0011, 0013), each on a database at the migration before it.

Each test starts from a copy of the migrated database taken back to its start
(`database_at`, tests/support/migrations.py) and runs the migration it is about (`migrate
scraping 00NN`): every other app's migrations, forward and back, were most of their time (the
module 47 s on an idle machine); 0004's test still ends with every migration after it."""

import re
import uuid
from datetime import datetime

import pymongo
import pytest
from bson import ObjectId


def _result(company, project, target, day, title, text, label, compound):
    return {
        "company_id": company,
        "project_id": project,
        "target_id": target,
        "platform": "article",
        "published_at": datetime(2024, 3, day, 12),
        "content_hash": uuid.uuid4().hex,
        "terms": list(dict.fromkeys(title + text)),
        "search": {"title": title, "text": text},
        "analysis": {"sentiment": {"label": label, "compound": compound, "positive": 0, "neutral": 1, "negative": 0}}
        if label
        else None,
    }


def test_0004_backfills_postings_and_rollups(database_at):
    at = database_at("scraping", "0003")
    old_db = at.db
    company, project, target = ObjectId(), ObjectId(), ObjectId()
    old_db.targets.insert_one({"_id": target, "company_id": company, "project_id": project})  # read per target
    old_db.results.insert_many(
        [
            _result(company, project, target, 4, ["lantern"], ["lantern", "battery"], "positive", 0.5),
            _result(company, project, target, 4, ["kettle"], ["water"], "negative", -0.25),
            _result(company, project, target, 30, [], ["kettle"], None, None),
        ]
    )
    assert "result_company_terms" in old_db.results.index_information()

    at.migrate("scraping", "0004")
    by_title = _assert_backfilled(old_db, company, target, project)
    at.migrate("scraping", "0003")
    assert {tuple(doc["search"]["title"]): doc["terms"] for doc in old_db.results.find()} == {
        ("lantern",): ["lantern", "battery"],
        ("kettle",): ["kettle", "water"],
        (): ["kettle"],
    }
    at.migrate()  # and every migration after it
    assert "No migrations to apply" in at.migrate()  # nothing left to do
    assert _assert_backfilled(old_db, company, target, project) == by_title
    assert old_db.scraping_sentiment_rollups.count_documents({}) == 3  # and every company's month (0011)


def _assert_backfilled(old_db, company, target, project) -> dict:
    """What 0004 leaves (and every migration after it keeps): the results' postings by title."""
    by_title = {tuple(doc["search"]["title"]): doc["terms"] for doc in old_db.results.find()}
    assert by_title == {
        ("lantern",): ["15:lantern", "5:battery"],
        ("kettle",): ["10:kettle", "5:water"],
        (): ["5:kettle"],
    }
    indexes = old_db.results.index_information()
    assert "result_company_terms" not in indexes
    assert indexes["result_company_postings"]["key"] == [("company_id", 1), ("terms", 1), ("published_at", -1)]
    rollups = {
        (doc["target_id"], doc["platform"]): doc
        for doc in old_db.scraping_sentiment_rollups.find({"company_id": company})
    }
    assert set(rollups) == {(target, "article"), (None, None)}  # the target's month, the company's month
    assert rollups[(target, "article")]["project_id"] == project
    assert rollups[(target, "article")]["days"] == {
        "04": {"positive": 1, "positive_sum": 0.5, "negative": 1, "negative_sum": -0.25},
        "30": {"unscored": 1},
    }
    assert rollups[(None, None)]["days"] == rollups[(target, "article")]["days"]
    return by_title


def test_0008_recomputes_postings_and_sentiment(database_at):
    """Results stored with presence-only postings of their 64 most frequent words and without
    per-sentence sentiment get term-frequency postings of every word, sentence scores, the
    `mixed` label where their sentences disagree, and rollups that count it."""
    at = database_at("scraping", "0007")
    old_db = at.db
    company, project, target = ObjectId(), ObjectId(), ObjectId()
    old_db.targets.insert_one({"_id": target, "company_id": company, "project_id": project})
    text = (
        "The screen is gorgeous and I absolutely love the camera, best phone I have owned! "
        "But the battery is terrible, it dies by noon and charging is awful."
    )
    doc = _result(company, project, target, 5, ["phone"], ["screen"], "positive", 0.82)
    doc["content"] = {"title": "Phone phone", "text": text, "author": "", "url": "https://x.example/1"}
    old_db.results.insert_one(doc)

    at.migrate("scraping", "0008")
    stored = old_db.results.find_one({"_id": doc["_id"]})
    weights = dict(reversed(posting.split(":", 1)) for posting in stored["terms"])
    assert weights["phone"] == "25" and weights["battery"] == "5" and weights["noon"] == "5"
    assert stored["search"]["title"] == ["phone"] and "charging" in stored["search"]["text"]
    sentiment = stored["analysis"]["sentiment"]
    assert sentiment["label"] == "mixed" and len(sentiment["sentences"]) == 3
    [month] = old_db.scraping_sentiment_rollups.find({"target_id": target})
    assert month["days"]["05"]["mixed"] == 1 and "positive" not in month["days"]["05"]


def test_0011_merges_the_versions_of_a_url_and_keys_every_result(database_at):
    """Before 0011 a page whose content changed was stored again beside its old version: the
    versions of a url (article and feed results) become the newest one, which keeps the first
    `created_at` and notes the change; other results are keyed by their hash; the rollups count
    each item once; the unique (company, target, item_key) index then holds."""
    at = database_at("scraping", "0009")
    old_db = at.db
    company, project, target = ObjectId(), ObjectId(), ObjectId()
    old_db.targets.insert_one({"_id": target, "company_id": company, "project_id": project})
    page = "https://x.example/lantern"
    old, new = (
        _result(company, project, target, day, ["lantern"], [], label, compound)
        for day, label, compound in ((4, "positive", 0.6), (6, "negative", -0.5))
    )
    review = _result(company, project, target, 4, ["kettle"], [], "neutral", 0.0)
    for doc, platform, url, created in (
        (old, "article", page, datetime(2024, 3, 4, 13)),
        (new, "article", page, datetime(2024, 3, 6, 13)),
        (review, "reviews", page, datetime(2024, 3, 4, 13)),
    ):
        doc.update(platform=platform, created_at=created, content={"title": "t", "text": "x", "url": url})
    old_db.results.insert_many([old, new, review])  # `new` after `old`: a larger _id

    at.migrate("scraping", "0011")
    stored = {doc["_id"]: doc for doc in old_db.results.find()}
    assert set(stored) == {new["_id"], review["_id"]}
    kept = stored[new["_id"]]
    assert (kept["item_key"], kept["created_at"], kept["changed_at"], kept["change_count"]) == (
        page,
        datetime(2024, 3, 4, 13),
        datetime(2024, 3, 6, 13),
        1,
    )
    assert stored[review["_id"]]["item_key"] == review["content_hash"]
    days = {
        (doc["company_id"], doc["target_id"], key): cell
        for doc in old_db.scraping_sentiment_rollups.find()
        for key, cell in doc["days"].items()
    }
    neutral, negative = {"neutral": 1, "neutral_sum": 0.0}, {"negative": 1, "negative_sum": -0.5}
    assert days == {
        (company, target, "04"): neutral,
        (company, None, "04"): neutral,
        (None, None, "04"): neutral,
        (company, target, "06"): negative,
        (company, None, "06"): negative,
        (None, None, "06"): negative,
    }
    index = old_db.results.index_information()["result_target_item_key_uniq"]
    assert index["unique"] and "partialFilterExpression" not in index
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        old_db.results.insert_one({**_result(company, project, target, 7, [], [], None, None), "item_key": page})

    at.migrate("scraping", "0009")
    assert "result_target_item_key_uniq" not in old_db.results.index_information()
    at.migrate("scraping", "0011")
    assert "No migrations to apply" in at.migrate("scraping", "0011")  # nothing left to do
    assert old_db.results.count_documents({}) == 2


def _examined(database, query: dict) -> int:
    plan = database.command(
        "explain", {"find": "scraping_sentiment_rollups", "filter": query}, verbosity="executionStats"
    )
    return sum(int(n) for n in re.findall(r"'totalDocsExamined': (\d+)", str(plan)))


def test_0013_merges_duplicate_rollups_and_plans_each_upsert_on_the_unique_index(database_at):
    """Before 0013 the rollups' uniqueness was a partial index (not planned, and blind to the
    null target of the company-wide documents): each upsert read every rollup of the company,
    and a race could store a company-wide month twice. 0013 merges such twins and each upsert
    reads one document."""
    at = database_at("scraping", "0012")
    old_db = at.db
    company, month = ObjectId(), datetime(2024, 3, 1)
    targets = [ObjectId() for _ in range(30)]
    old_db.scraping_sentiment_rollups.insert_many(
        [
            {
                "company_id": company,
                "project_id": None,
                "target_id": t,
                "platform": "article",
                "month": month,
                "days": {"04": {"positive": 1}},
            }
            for t in targets
        ]
        + [
            {
                "company_id": company,
                "project_id": None,
                "target_id": None,
                "platform": None,
                "month": month,
                "days": {"04": {"positive": 20, "positive_sum": 1.5}},
            },
            {
                "company_id": company,
                "project_id": None,
                "target_id": None,
                "platform": None,
                "month": month,
                "days": {"04": {"positive": 10, "positive_sum": 0.5}, "05": {"negative": 1}},
            },
        ]
    )
    upsert = {"company_id": company, "target_id": targets[7], "platform": "article", "month": month}
    assert _examined(old_db, upsert) > 1  # the partial index is not planned

    at.migrate("scraping", "0013")
    [whole] = old_db.scraping_sentiment_rollups.find({"company_id": company, "target_id": None})
    assert whole["days"] == {"04": {"positive": 30, "positive_sum": 2.0}, "05": {"negative": 1}}
    spec = old_db.scraping_sentiment_rollups.index_information()["rollup_target_month_uniq"]
    assert spec["key"] == [("company_id", 1), ("target_id", 1), ("platform", 1), ("month", 1)] and spec["unique"]
    assert "partialFilterExpression" not in spec
    assert _examined(old_db, upsert) == 1
    assert _examined(old_db, {**upsert, "target_id": None, "platform": None}) == 1


def test_0016_starts_every_companys_search_index_stale(database_at):
    """Results stored before 0016 have no posting segments: every company's index starts stale
    (the search walks its results) until the upkeep has built it; the index state is unique per
    company."""
    at = database_at("scraping", "0015")
    old_db = at.db
    companies = [ObjectId(), ObjectId()]
    old_db.companies.insert_many([{"_id": company, "name": f"C{n}"} for n, company in enumerate(companies)])

    at.migrate("scraping", "0016")
    states = {doc["company_id"]: doc for doc in old_db.scraping_search_index.find()}
    assert set(states) == set(companies)
    assert all((doc["changes"], doc["built"], doc["segments"]) == (1, 0, 0) for doc in states.values())
    spec = old_db.scraping_search_index.index_information()["search_index_company_uniq"]
    assert spec["key"] == [("company_id", 1)] and spec["unique"]
    assert old_db.scraping_posting_segments.count_documents({}) == 0
