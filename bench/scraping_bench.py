"""Scraping benchmark: results ingested per second (parse + sentiment + store) against the raw
pymongo insert_many rate of the same documents into the same server, and weighted search
latency against the raw index lookup of the same words.

    .venv/bin/python -m bench.scraping_bench --results 20000

Starts its own SecantusDB on a free port (in a temporary folder unless --storage says), or
uses --mongodb-uri (a real MongoDB) instead, migrates a fresh database, then:

1. ingest: RSS pages of --per-page entries each (generated review-like texts) are parsed by
   the feed extractor and stored by the ingest service (VADER sentiment, search terms,
   content hashes, bulk inserts into the indexed results collection);
2. raw: the same documents (up to --raw-sample of them), read back, inserted with pymongo
   insert_many, 500 at a time, into a collection with the same indexes (the baseline), and
   into one with no index but _id (printed);
3. search: --search-queries one- to three-word queries per set, each a count and a first
   page of 20 (what the API does): words drawn like the texts (a Zipf distribution over a
   5000-word vocabulary) but not among the --skip-top most frequent, the same with filters,
   and words drawn uniformly (mostly rare ones). Baseline, timed in turn with each query:
   pymongo reading the ids of every result of the company holding any of the words (the
   (company_id, terms, -published_at) index of weighted postings) plus the first 20
   documents, unscored. Latency grows with the
   number of matching results (printed too): on SecantusDB each match costs ~0.1 ms, so a
   word found in most of 100k results takes longer than pymongo's 5 s server monitor allows
   (the query is cancelled); `--skip-top 0` shows it. Then the analytics pipeline (printed).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from unittest import mock
from xml.sax.saxutils import escape

from bench import harness
from bench.table import Row

WORDS = (
    "lantern battery kettle coffee grinder espresso blender lamp desk backpack umbrella headphones speaker "
    "charger cable screen keyboard mouse chair table bottle jacket shoe boot glove scarf tent stove pan pot "
    "knife spoon plate mug cup filter bean roast brew light garden solar panel pump hose seed flower tree "
    "delivery package box shipping refund support warranty price quality design colour size weight sound "
    "noise handle button switch motor engine wheel brake frame seat saddle chain gear pedal helmet lock "
    "camera lens tripod strap case bag pocket zipper fabric leather wool cotton plastic metal glass steel "
    "wood paper ink pen pencil notebook printer scanner router modem antenna signal wifi bluetooth app"
).split()
OPINIONS = [
    "I love it, absolutely wonderful.",
    "Great value and excellent quality!",
    "Fantastic, highly recommended.",
    "Terrible, it broke after two days.",
    "Awful support, I hate it.",
    "The worst purchase ever.",
    "It arrived on Tuesday.",
    "It comes in three colours.",
    "Nothing special to report.",
]


def add_arguments(parser):
    parser.add_argument("--results", type=int, default=20000, help="results to ingest (default 20000)")
    parser.add_argument("--per-page", type=int, default=250, help="feed entries per page (default 250)")
    parser.add_argument("--search-queries", type=int, default=30, help="search queries per query set (default 30)")
    parser.add_argument(
        "--skip-top",
        type=int,
        default=30,
        help="leave the N most frequent words out of the queries (default 30; each is in more "
        "than a quarter of the results)",
    )
    parser.add_argument(
        "--raw-sample",
        type=int,
        default=10000,
        help="documents for the raw insert_many baseline (default 10000; into an empty "
        "collection, so the baseline is if anything favoured)",
    )


def rows(args, log=harness.log) -> list[Row]:
    from scraping.models import Result
    from scraping.selectors import search as selectors
    from tenants.models import Company

    rnd = random.Random(42)
    vocab = vocabulary(rnd)
    _cumulative(len(vocab))
    company = Company.objects.create(name="bench-scraping")
    project, ingest_rate = ingest_pages(company, args, rnd, vocab, log)
    from scraping.services import search_index

    started = time.perf_counter()
    kept = search_index.keep()  # what beat's upkeep has done by the time anyone searches
    log(f"upkeep     search index {kept} in {time.perf_counter() - started:.1f}s")
    raw_rate = raw_insert_rate(args, log)
    table = [
        Row(
            "scraping ingest (parse + sentiment + store)",
            ingest_rate,
            "results/s",
            "pymongo insert_many, same indexes",
            raw_rate,
        )
    ]

    collection = _results_collection()

    def product(query):
        found = selectors.search(company=company, query=query, filters=filters)
        matches.append(found.count())
        found[0:20]

    def raw(query):
        terms = selectors.search(company=company, query=query).postings()  # weighted: "15:lantern", ...
        match = {**selectors.tenant_match(company), "terms": {"$in": terms}}
        ids = [row["_id"] for row in collection.find(match, {"_id": 1})]
        list(collection.find({"_id": {"$in": ids[:20]}}))

    def common(count):  # drawn like the texts, but not among the most frequent words
        return [w for w in zipf_words(rnd, vocab, 50) if vocab.index(w) >= args.skip_top][:count]

    plain, filtered = selectors.ResultFilters(), selectors.ResultFilters(project=project.pk, sentiment="positive")
    query_sets = [
        (f"common words (Zipf, ranks >= {args.skip_top})", plain, lambda: common(rnd.randint(1, 3))),
        ("common words + project & sentiment filter", filtered, lambda: common(rnd.randint(1, 3))),
        ("any words (uniform)", plain, lambda: rnd.sample(vocab, rnd.randint(1, 3))),
    ]
    where = "on the server" if selectors.scores_on_server() else "client-side"
    log(
        f"search     over {Result.objects.count()} results, {args.search_queries} queries of 1-3 "
        f"words per set, count + first page of 20, scored {where}:"
    )
    for label, filters, words in query_sets:  # noqa: B007 (`product` reads `filters` when called)
        matches = []
        queries = [" ".join(words()) for _ in range(args.search_queries)]
        product_times, raw_times = harness.interleaved(product, raw, queries)
        log(
            f"  {label:<42} {harness.p50_p95(product_times)}   raw {harness.p50_p95(raw_times)}"
            f"   (matches p50 {statistics.median(matches):.0f}, p95 {harness.percentile(matches, 0.95):.0f})"
        )
        table.append(
            Row(
                f"scraping search p50, {label}",
                harness.ms_p50(product_times),
                "ms",
                "pymongo index lookup, ids + 20 docs",
                harness.ms_p50(raw_times),
            )
        )
    log_plan_and_analytics(company, project, log)
    return table


def _results_collection():
    from django.db import connection

    return connection.get_collection("results")


def ingest_pages(company, args, rnd, vocab, log):
    from scraping.models import Target
    from scraping.services import extraction, ingest, projects, search_index

    project = projects.create_project(company=company, name="bench")
    pages = max(1, args.results // args.per_page)
    bodies = [feed_page(rnd, vocab, page, args.per_page) for page in range(pages)]
    targets = [
        Target.objects.create(
            company=company, project=project, url=f"https://bench.example/feed/{page}", platform=Target.FEED
        )
        for page in range(pages)
    ]
    parse_s = store_s = index_s = 0.0
    stored = 0
    add = search_index.add

    def timed_add(*args, **kwargs):  # the search index's share of the store
        nonlocal index_s
        started = time.perf_counter()
        try:
            return add(*args, **kwargs)
        finally:
            index_s += time.perf_counter() - started

    with mock.patch.object(search_index, "add", timed_add):
        for page, (body, target) in enumerate(zip(bodies, targets, strict=True)):
            started = time.perf_counter()
            platform, items = extraction.extract(body=body, content_type="application/rss+xml", url=target.url)
            parsed = time.perf_counter()
            stored += ingest.ingest(target=target, items=items, platform=platform).created
            parse_s += parsed - started
            store_s += time.perf_counter() - parsed
            if page % 20 == 19:
                log(f"  ingested {stored}")
    total = parse_s + store_s
    log(
        f"ingest     {stored} results in {total:.1f}s = {stored / total:,.0f} results/s "
        f"(parse {parse_s:.1f}s, sentiment + terms + store {store_s:.1f}s, of which search index {index_s:.1f}s)"
    )
    return project, stored / total


def raw_insert_rate(args, log) -> float:
    """pymongo insert_many of the stored documents into a copy of the collection with the
    same indexes (returned), and into one with no index but _id (printed)."""
    results = _results_collection()
    docs = [
        {k: v for k, v in doc.items() if k != "_id"} for doc in results.find({}, batch_size=2000).limit(args.raw_sample)
    ]
    db, rates = results.database, {}
    for name, indexed in (("raw_indexed", True), ("raw_plain", False)):
        raw = db[name]
        raw.drop()
        if indexed:
            for spec in results.index_information().values():
                if spec["key"] != [("_id", 1)]:
                    options = {k: v for k, v in spec.items() if k in ("unique", "partialFilterExpression")}
                    raw.create_index(spec["key"], **options)
        copies = [dict(doc) for doc in docs]
        started = time.perf_counter()
        for start in range(0, len(copies), 500):
            raw.insert_many(copies[start : start + 500], ordered=False)
        rates[indexed] = len(copies) / (time.perf_counter() - started)
        raw.drop()
    log(
        f"raw        pymongo insert_many of {len(docs)} docs: same indexes as results {rates[True]:,.0f} docs/s, "
        f"no index but _id {rates[False]:,.0f} docs/s"
    )
    return rates[True]


def log_plan_and_analytics(company, project, log) -> None:
    from scraping.selectors import analytics
    from scraping.selectors import search as selectors

    collection = _results_collection()
    match = selectors.search(company=company, query="lantern battery").pipeline()[0]
    plan = collection.database.command(
        "explain", {"aggregate": "results", "pipeline": [match], "cursor": {}}, verbosity="queryPlanner"
    )
    log(f"plan       {'IXSCAN result_company_postings' if 'result_company_postings' in str(plan) else 'NO INDEX'}")
    started = time.perf_counter()
    report = analytics.sentiment_analytics(
        company=company, filters=selectors.ResultFilters(project=project.pk), interval="day"
    )
    log(
        f"analytics  daily series + totals + per target over {report['totals']['count']} results: "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


def vocabulary(rnd: random.Random, size: int = 5000) -> list[str]:
    """The product words, then made-up words: `size` words, ranked for a Zipf distribution."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "sa", "do", "gi", "ha", "ju", "be", "fa"]
    words = list(WORDS)
    while len(words) < size:
        word = "".join(rnd.choices(syllables, k=rnd.randint(2, 4)))
        if word not in words:
            words.append(word)
    return words


def zipf_words(rnd: random.Random, vocab: list[str], k: int) -> list[str]:
    return rnd.choices(vocab, cum_weights=_CUMULATIVE[len(vocab)], k=k)


_CUMULATIVE: dict[int, list[float]] = {}


def _cumulative(size: int) -> None:
    total, cumulative = 0.0, []
    for rank in range(size):
        total += 1 / (rank + 1)
        cumulative.append(total)
    _CUMULATIVE[size] = cumulative


def feed_page(rnd: random.Random, vocab: list[str], page: int, entries: int) -> bytes:
    items = []
    for n in range(entries):
        words = zipf_words(rnd, vocab, rnd.randint(25, 60))
        title = " ".join(zipf_words(rnd, vocab, 3)).capitalize()
        text = f"{' '.join(words).capitalize()}. {rnd.choice(OPINIONS)} {rnd.choice(OPINIONS)}"
        day = 1 + (page * entries + n) % 28
        items.append(
            f"<item><title>{escape(title)}</title><link>https://bench.example/{page}/{n}</link>"
            f"<pubDate>{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day % 7]}, {day:02d} Feb 2024 "
            f"10:00:00 GMT</pubDate><description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>' + "".join(items) + "</channel></rss>"
    ).encode()


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
